/* ---- central free lists: one per size class ------------------------------------------
   See the design comment at the top of the implementation for an overview.

   Owns the spans of each size class that have been handed up by the page heap. A span
   with free objects sits on its class's list; a span with none is on no list (it is found
   again through the page map when one of its objects comes back). Thread caches call
   central_take for a batch when a list runs dry and central_give when a list grows past
   its limit. Each class has its own lock, so threads working on different classes never
   meet; the page heap lock may be taken while a central lock is held.

   In front of the spans sits a transfer cache (TCMalloc's name): a small stack of
   NULL-terminated chains of objects with their lengths. A thread cache that overflows
   hands its whole list here and one that runs dry takes a whole chain, both in O(1) under
   the lock, without touching the objects or their spans (walking a list to cut a batch off
   it costs a cache miss per object, and was the largest cost in producer/consumer
   patterns). Only when the stack is full (or empty) do objects go back to (or come from)
   their spans, where each is linked in one at a time. It holds at most SEGALLOC__TRANSFER_BYTES per class (at least
   four batches), and segalloc_trim drains it.

   A span hands out objects from two places: its free list (objects given back) and its
   bump region (objects never handed out yet). Carving lazily means a new span costs no
   page touches up front, and its untouched pages stay zero and out of RSS until used.
   Carved objects are linked in address order, so a program that allocates many blocks
   gets them ascending, as it would walk them. Objects go back to their spans a run at a
   time (one page-map lookup for each run of neighbours in a chain). When every object of a
   span is back, the span goes back to the page heap. */

#define SEGALLOC__TRANSFER_SLOTS 64
#define SEGALLOC__TRANSFER_BYTES ((size_t)64 * 1024)

typedef struct segalloc__central {
  segalloc__lock lock;
  unsigned ntransfer;       /* chains in transfer[] */
  uint32_t transfer_objs;   /* objects in them */
  void *transfer[SEGALLOC__TRANSFER_SLOTS];
  uint32_t transfer_n[SEGALLOC__TRANSFER_SLOTS];
  segalloc__span spans;     /* sentinel of the circular list of spans with free objects */
  uint64_t out;             /* objects handed to thread caches and not yet back */
  size_t nspans;            /* spans of this class, on the list or full */
  char pad[64];             /* one class per cache line, or neighbours' locks would bounce */
} segalloc__central;

static segalloc__central segalloc__centrals[SEGALLOC__NCLASSES];

static void segalloc__central_link(segalloc__central *c, segalloc__span *s) {
  s->next = c->spans.next;
  s->prev = &c->spans;
  c->spans.next->prev = s;
  c->spans.next = s;
  s->list = 1;
}

static void segalloc__central_unlink(segalloc__span *s) {
  s->prev->next = s->next;
  s->next->prev = s->prev;
  s->next = s->prev = NULL;
  s->list = 0;
}

/* A fresh span for class cls, carved lazily. Caller holds the central lock. */
static segalloc__span *segalloc__central_grow(segalloc__central *c, unsigned cls) {
  segalloc__span *s = segalloc__heap_alloc_cls(segalloc__class_pages[cls], 1, cls);
  if (!s) return NULL;
  uint32_t size = segalloc__class_size[cls];
  s->size = size;
  s->nobjs = (uint32_t)(segalloc__class_span_bytes(cls) / size);
  s->nalloc = 0;
  s->freelist = NULL;
  s->bump = 0;
  s->limit = (uintptr_t)s->nobjs * size;
  s->div_magic = UINT64_MAX / size + 1;
  s->start_magic = (uint64_t)segalloc__span_start(s) * s->div_magic;
  c->nspans++;
  segalloc__central_link(c, s);
  return s;
}

/* How many objects class cls may keep in its transfer cache. */
static uint32_t segalloc__transfer_cap(unsigned cls) {
  size_t n = SEGALLOC__TRANSFER_BYTES / segalloc__class_size[cls];
  size_t four = (size_t)segalloc__class_batch[cls] * 4;
  return (uint32_t)(n < four ? four : n);
}

/* Objects of class cls as a NULL-terminated list through word 0: a whole chain from the
   transfer cache if it has one (however long), else up to `want` from the spans. Returns
   the count (0 only when the OS is out of memory). */
static segalloc__nosan int segalloc__central_take(unsigned cls, void **out, int want) {
  segalloc__central *c = &segalloc__centrals[cls];
  void *head = NULL;
  int got = 0;
  segalloc__lock_acquire(&c->lock);
  if (segalloc__unlikely(c->spans.next == NULL)) c->spans.next = c->spans.prev = &c->spans;
  if (c->ntransfer) {
    c->ntransfer--;
    int n = (int)c->transfer_n[c->ntransfer];
    *out = c->transfer[c->ntransfer];
    c->transfer_objs -= (uint32_t)n;
    c->out += (uint64_t)n;
    segalloc__lock_release(&c->lock);
    return n;
  }
  while (got < want) {
    segalloc__span *s = c->spans.next;
    if (s == &c->spans) {
      s = segalloc__central_grow(c, cls);
      if (!s) break;
    }
    if (s->freelist) {
      /* objects given back: cut the first ones off the span's list as they are linked */
      void **first = (void **)s->freelist, **last = first;
      int n = 1;
      while (got + n < want && segalloc__link(last)) {
        last = (void **)segalloc__link(last);
        n++;
      }
      s->freelist = segalloc__link(last);
      segalloc__set_link(last, head);
      head = first;
      got += n;
      s->nalloc += (uint32_t)n;
    }
    if (got < want && s->bump < s->limit) {
      /* carve: every free object carries the free mark, fresh ones too */
      uintptr_t base = segalloc__span_start(s), p = base + s->bump, end = base + s->limit;
      uintptr_t size = s->size, cookie = segalloc__cookie;
      uintptr_t n = (end - p) / size;
      if (n > (uintptr_t)(want - got)) n = (uintptr_t)(want - got);
      /* linked from the last one back, so that malloc hands them out in address order
         (the order hardware prefetchers follow best when a program walks its blocks) */
      for (uintptr_t o = p + n * size; o > p;) {
        o -= size;
        segalloc__set_link((void **)o, head);
        ((void **)o)[1] = segalloc__free_mark(cookie, o);
        head = (void *)o;
      }
      /* relaxed atomic: free's misuse check reads bump without this lock (the objects
         carved here are not out yet) */
      segalloc__store_relaxed(&s->bump, p + n * size - base);
      s->nalloc += (uint32_t)n;
      got += (int)n;
    }
    if (s->nalloc == s->nobjs) segalloc__central_unlink(s);
  }
  c->out += (uint64_t)got;
  segalloc__lock_release(&c->lock);
  *out = head;
  return got;
}

/* Objects back to their spans; a span whose objects are all back returns to the page heap.
   Caller holds the central lock. A chain is mostly runs of neighbours (freed in address
   order, or carved so): each run is found with one page-map lookup and goes onto its span's
   free list in one step. */
static segalloc__nosan void segalloc__central_to_spans(segalloc__central *c, void *head, int count) {
  while (count > 0) {
    void **o = (void **)head;
    segalloc__span *s = segalloc__span_of((uintptr_t)o);
    uintptr_t start = segalloc__span_start(s), bytes = segalloc__span_bytes(s);
    void *run = s->freelist;
    uint32_t n = 0;
    do {
      head = segalloc__link(o);
      segalloc__set_link(o, run);
      run = o;
      n++;
      o = (void **)head;
    } while (--count > 0 && (uintptr_t)o - start < bytes);
    s->freelist = run;
    s->nalloc -= n;
    if (!s->list) segalloc__central_link(c, s);
    if (s->nalloc == 0) {
      segalloc__central_unlink(s);
      c->nspans--;
      segalloc__heap_free(s);
    }
  }
}

/* Take back `count` objects of class cls, a NULL-terminated list through word 0 from head
   to tail (NULL when the caller does not know its tail): onto the transfer cache when
   there is room and the caller may want them back soon (`keep`), else back to their spans,
   so that spans whose objects are all back can go to the page heap: a thread that exits,
   or a trim, passes keep = 0, since objects parked in the transfer cache pin their spans.
   A short chain whose tail is known joins the newest chain while the two together stay
   within a batch: a tick hands over half of a list, often an object or two, and such
   crumbs must not each take one of the slots (a refill takes one chain, so a stack of
   crumbs would cost a lock round trip per object or two). */
static void segalloc__central_give(unsigned cls, void *head, void *tail, int count, int keep) {
  segalloc__central *c = &segalloc__centrals[cls];
  segalloc__lock_acquire(&c->lock);
  if (segalloc__unlikely(c->spans.next == NULL)) c->spans.next = c->spans.prev = &c->spans;
  c->out -= (uint64_t)count;
  uint32_t n = (uint32_t)count;
  unsigned top = c->ntransfer; /* the newest chain is top - 1 */
  int join = tail && top && c->transfer_n[top - 1] + n <= segalloc__class_batch[cls];
  if (keep && c->transfer_objs + n <= segalloc__transfer_cap(cls) && (join || top < SEGALLOC__TRANSFER_SLOTS)) {
    if (join) {
      segalloc__set_link((void **)tail, c->transfer[top - 1]);
      c->transfer[top - 1] = head;
      c->transfer_n[top - 1] += n;
    } else {
      c->transfer[top] = head;
      c->transfer_n[top] = n;
      c->ntransfer = top + 1;
    }
    c->transfer_objs += n;
  } else {
    segalloc__central_to_spans(c, head, count);
  }
  segalloc__lock_release(&c->lock);
}

/* Empty every transfer cache into its spans (segalloc_trim), so wholly free spans can go
   back to the page heap. */
static void segalloc__central_drain(void) {
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    segalloc__central *c = &segalloc__centrals[cls];
    segalloc__lock_acquire(&c->lock);
    while (c->ntransfer) {
      c->ntransfer--;
      segalloc__central_to_spans(c, c->transfer[c->ntransfer], (int)c->transfer_n[c->ntransfer]);
    }
    c->transfer_objs = 0;
    segalloc__lock_release(&c->lock);
  }
}

/* ---- central free lists: one per size class ------------------------------------------
   See the design comment at the top of the implementation for an overview.

   Owns the spans of each size class that have been handed up by the page heap. A span
   with free objects sits on its class's list for its shard (below); a span with none is on
   no list (it is found again through the page map when one of its objects comes back).
   Thread caches call central_take for a batch when a list runs dry and central_give when
   a list grows past its limit. Each class has its own lock, so threads working on
   different classes never meet; the page heap lock may be taken while a central lock is
   held.

   Shards. Each thread cache belongs to one of SEGALLOC__SHARDS shards (the one with the
   fewest live threads when the thread starts), and a class keeps one list of spans per
   shard, still under its one lock. A thread takes objects from its own shard's spans, and
   carves a fresh span rather than use another live shard's (a span of a shard with no live
   thread, or one with at least half its objects given back, it takes over). So threads of
   different shards get their blocks from different spans and pages, as mimalloc's
   thread-owned pages keep its threads apart. With one shared list, two threads each
   allocating and freeing their own blocks got them from the same spans and ran slower,
   1.1x to 1.7x from run to run (threads_own: 0.233 s against 0.139 s with shards in one
   run, mimalloc 0.130 s; about an eighth of the cache lines holding one thread's blocks
   also held the other's, and bench/threads_own_probe.sh compares the cures). The cost is
   memory when threads free each other's blocks, which come back to spans of a shard the
   freeing thread does not take from (larson: peak RSS 7.8 -> 9.4 MiB).

   In front of the spans sits a transfer cache (TCMalloc's name): a small stack of
   NULL-terminated chains of objects with their lengths. A thread cache that overflows
   hands its whole list here and one that runs dry takes a whole chain, both in O(1) under
   the lock, without touching the objects or their spans (walking a list to cut a batch off
   it costs a cache miss per object, and was the largest cost in producer/consumer
   patterns). Only when the stack is full do objects go back to their spans, and only when
   it has no chain for the thread's shard do they come from them (where each object is
   linked in or cut off one at a time). A chain is parked for the giver's shard when the
   giver allocates the class too (a tick's or an overflow's surplus it will want back),
   for anyone when it only frees it (a consumer's objects are for the producer). Another
   live shard's chains are taken once the stack is half full, and when the last thread of
   a shard exits, the chains parked for it go back to their spans. The stack holds at most
   SEGALLOC__TRANSFER_BYTES per class (at least four batches); segalloc_trim drains it,
   and so does central_decay (at the end of this part) once no thread has parked or taken
   a chain of the class for SEGALLOC__TRANSFER_IDLE ticks. A class's stack comes from
   metadata when its first chain is parked, so the record of a class (its lock, the
   stack's address, the heads of its span lists) fits one cache line, and all of them a
   page or two. With the stacks inline, a record took 1.5 KiB and a program touched a
   page for every two or three classes it used. With this and the page heap's list heads
   (pageheap.c), the allocator's static data resident at exit went 72 -> 24 KiB for
   bench/workloads pairs (9 classes) and 116 -> 24 KiB for batch_lifo, whose stacks, one
   for nearly every class, took 56 KiB of metadata (with 65 classes then; 48 now, about
   43 KiB).

   A span hands out objects from two places: its free list (objects given back) and its
   bump region (objects never handed out yet). Carving lazily means a new span costs no
   page touches up front, and its untouched pages stay zero and out of RSS until used. A
   take carves about SEGALLOC__CARVE_BYTES (4 KiB) of fresh objects, or one object of a
   class larger than that, even when the thread cache asked for a whole batch: carving
   writes each object, so a batch carved at once is resident before the thread has used it,
   and a thread that ends up using few of a class's blocks would keep the rest resident in
   its cache. Capped, the bump region goes out in steps of about 4 KiB as it is used
   (mimalloc extends its pages' free lists 4 KiB at a time): peak RSS fell 6-16 % on the
   batch, realloc_grow, threads_own, prodcons and larson workloads (batch_lifo 3.4 -> 2.9
   MiB), times unchanged (bench/compare.sh -r 15; frag and large, whose blocks are large or
   many, did not move). Carved objects are linked in address order, so a program that
   allocates many blocks gets them ascending, as it would walk them. Objects go back to
   their spans a run at a time (one page-map lookup for each run of neighbours in a chain).
   When every object of a span is back, the span goes back to the page heap.
   SEGALLOC_DEBUG builds fill each object with junk as it is carved, so that a fresh
   object reads as a freed one, and check and fill a span that goes back (debug.c). ASan
   builds poison a span whole when it comes from the page heap, so that objects not handed
   out yet are poisoned as freed ones are. */

#define SEGALLOC__TRANSFER_SLOTS 64
#define SEGALLOC__CARVE_BYTES 4096
#define SEGALLOC__TRANSFER_BYTES ((size_t)64 * 1024)
/* ticks (of SEGALLOC__TICK_FREES frees each, any thread's) after which an unused transfer
   cache goes back to its spans (segalloc__central_decay) */
#define SEGALLOC__TRANSFER_IDLE 8

/* Where a chain given back goes: parked for one shard, parked for any thread, or back to
   the spans. */
enum { SEGALLOC__TO_ANY = SEGALLOC__SHARDS, SEGALLOC__TO_SPANS = SEGALLOC__SHARDS + 1 };

/* A class's transfer cache, allocated from metadata when the class first parks a chain
   (848 bytes, 896 with the metadata's rounding: most of what a central record was). */
typedef struct segalloc__transfer {
  unsigned count;           /* chains in chain[] */
  uint32_t objs;            /* objects in them */
  uint32_t used;            /* segalloc__epoch when a chain was last parked or taken
                               (atomics: central_decay reads it without the lock) */
  void *chain[SEGALLOC__TRANSFER_SLOTS];
  uint32_t n[SEGALLOC__TRANSFER_SLOTS];
  uint8_t to[SEGALLOC__TRANSFER_SLOTS]; /* the shard it is parked for, or TO_ANY */
} segalloc__transfer;

/* One cache line per class (neighbours' locks would bounce otherwise; the alignment keeps
   it so if the record grows): 48 to 55 records, 3 to 3.5 KiB, where records with their
   transfer stacks and list sentinels inline took 1.5 KiB each. */
typedef struct __attribute__((aligned(64))) segalloc__central {
  segalloc__lock lock;
  segalloc__transfer *transfer;              /* NULL until first needed */
  /* spans with free objects, one NULL-terminated list per shard (a span's prev is NULL
     at the head) */
  segalloc__span *spans[SEGALLOC__SHARDS];
  uint64_t out;             /* objects handed to thread caches and not yet back */
  size_t nspans;            /* spans of this class, on the lists or full */
} segalloc__central;

static segalloc__central segalloc__centrals[SEGALLOC__NCLASSES];

/* Thread-cache ticks so far, of all threads: the clock by which segalloc__central_decay
   finds a transfer cache idle. */
static uint32_t segalloc__epoch;

/* Live threads whose caches belong to each shard (tcache.c keeps it, under its lock). */
static unsigned segalloc__shard_threads[SEGALLOC__SHARDS];

static int segalloc__shard_idle(unsigned shard) {
  return segalloc__load_relaxed(&segalloc__shard_threads[shard]) == 0;
}

static void segalloc__central_link(segalloc__central *c, segalloc__span *s) {
  segalloc__span *head = c->spans[s->shard];
  s->next = head;
  s->prev = NULL;
  if (head) head->prev = s;
  c->spans[s->shard] = s;
  s->list = 1;
}

static void segalloc__central_unlink(segalloc__central *c, segalloc__span *s) {
  if (s->prev) s->prev->next = s->next;
  else c->spans[s->shard] = s->next;
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = NULL;
  s->list = 0;
}

/* The address of small span s's first object: its class's waste comes first
   (sizeclass.c). */
static segalloc__inline uintptr_t segalloc__span_first(const segalloc__span *s) {
  return segalloc__span_start(s) + segalloc__class_origin(s->cls);
}

/* Is o an object boundary of small span s that has been handed out of the bump region?
   The careful test of segalloc_check_heap and of fork's adoption of a dead thread's cache
   (free's own checks, malloc.c, tell its failures apart). */
static int segalloc__check_object(const segalloc__span *s, uintptr_t o) {
  if (!s || s->state != SEGALLOC__SPAN_SMALL) return 0;
  uintptr_t first = segalloc__span_first(s);
  return o >= first && o < segalloc__span_start(s) + s->bump && (o - first) % s->size == 0;
}

/* A fresh span for class cls and the given shard, carved lazily. Caller holds the central
   lock. */
static segalloc__span *segalloc__central_grow(segalloc__central *c, unsigned cls, unsigned shard) {
  segalloc__span *s = segalloc__heap_alloc_cls(segalloc__class_pages[cls], 1, cls);
  if (!s) return NULL;
#if SEGALLOC__ASAN
  /* none of it is the program's until handed out (debug.c unpoisons a block then): a
     write past a block into a neighbour not handed out yet is reported, as one into a
     freed neighbour is */
  __asan_poison_memory_region((void *)segalloc__span_start(s), segalloc__span_bytes(s));
#endif
  uint32_t size = segalloc__class_size[cls];
  s->size = size;
  s->nobjs = (uint32_t)(segalloc__class_span_bytes(cls) / size);
  s->nalloc = 0;
  s->freelist = NULL;
  s->bump = segalloc__class_origin(cls); /* the span's waste comes first (sizeclass.c) */
  s->limit = s->bump + (uintptr_t)s->nobjs * size;
  s->shard = (uint8_t)shard;
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

/* The newest transfer-cache chain shard may take (parked for it, for anyone, or for a
   shard with no live thread), as its index + 1; 0 when there is none. */
static unsigned segalloc__transfer_find(const segalloc__transfer *tr, unsigned shard) {
  for (unsigned t = tr->count; t > 0; t--) {
    unsigned to = tr->to[t - 1];
    if (to == shard || to == SEGALLOC__TO_ANY || segalloc__shard_idle(to)) return t;
  }
  return 0;
}

/* Take chain t out of the transfer cache (the top chain fills its slot): its first object
   goes to *head, and its length is returned. Caller holds the central lock. */
static uint32_t segalloc__transfer_remove(segalloc__transfer *tr, unsigned t, void **head) {
  unsigned top = --tr->count;
  uint32_t n = tr->n[t];
  *head = tr->chain[t];
  tr->chain[t] = tr->chain[top];
  tr->n[t] = tr->n[top];
  tr->to[t] = tr->to[top];
  tr->chain[top] = NULL; /* no stale copy of a head: memcheck's leak scan reads metadata */
  tr->objs -= n;
  return n;
}

/* A span with free objects for shard: one of its own, else one of a shard with no live
   thread or one with at least half its objects given back (which its shard is not using
   much), moved to this shard; else NULL. Objects not carved yet do not count as given
   back: a span with a long uncarved tail is the one its shard is carving now. */
static segalloc__span *segalloc__central_span(segalloc__central *c, unsigned shard) {
  if (c->spans[shard]) return c->spans[shard];
  for (unsigned k = 0; k < SEGALLOC__SHARDS; k++) {
    segalloc__span *s = c->spans[k];
    if (k == shard || !s) continue;
    uint32_t uncarved = (uint32_t)((s->limit - s->bump) / s->size);
    if (segalloc__shard_idle(k) || (s->nobjs - s->nalloc - uncarved) * 2 >= s->nobjs) {
      segalloc__central_unlink(c, s);
      s->shard = (uint8_t)shard;
      segalloc__central_link(c, s);
      return s;
    }
  }
  return NULL;
}

/* Any span with free objects: the last resort when the page heap has no memory left. */
static segalloc__span *segalloc__central_any_span(segalloc__central *c) {
  for (unsigned k = 0; k < SEGALLOC__SHARDS; k++)
    if (c->spans[k]) return c->spans[k];
  return NULL;
}

/* Take parked chain `chain` (an index into tr) for a take, and let the class lock go:
   the chain is the take's whole answer (see central_take_for for in_hand). */
static segalloc__nosan int segalloc__central_take_chain(segalloc__central *c, segalloc__transfer *tr, unsigned chain, void **out,
                                                        void **in_hand, uint32_t *in_hand_n) {
  uint32_t n = segalloc__transfer_remove(tr, chain, out);
  segalloc__store_relaxed(&tr->used, segalloc__load_relaxed(&segalloc__epoch));
  c->out += (uint64_t)n;
  if (in_hand && n > 1) {
    *in_hand_n = n - 1;
    __atomic_store_n(in_hand, segalloc__link((void **)*out), __ATOMIC_RELAXED);
  }
  segalloc__lock_release(&c->lock);
  return (int)n;
}

/* Objects of class cls for a thread of the given shard, as a NULL-terminated list through
   word 0: a whole chain from the transfer cache if it has one this shard may take (however
   long), else up to `want` from the shard's spans (or fresh ones). Another live shard's
   parked chains are taken only while the transfer cache is more than half full; its spans
   only when the first on its list has at least half its objects given back (central_span
   looks at no other), or when the OS is out of memory (then its parked chains too):
   keeping each shard's blocks in spans of its own keeps threads of different shards apart
   (see the top of this part).
   Returns the count (0 only when the OS is out of memory).
   in_hand, when not NULL, is the taking thread cache's record of a chain in hand (as in
   central_give): before the lock is let go it is set to the chain's second object and
   *in_hand_n to the count after the first, the objects the refill puts on its list, so
   that a fork's child finds them while the thread has them and not yet its list. */
static segalloc__nosan int segalloc__central_take_for(unsigned cls, void **out, int want, unsigned shard, void **in_hand, uint32_t *in_hand_n) {
  segalloc__central *c = &segalloc__centrals[cls];
  void *head = NULL;
  int got = 0;
  segalloc__lock_acquire(&c->lock);
  segalloc__transfer *tr = c->transfer;
  unsigned chain = tr ? segalloc__transfer_find(tr, shard) : 0;
  /* another shard's chains once the transfer cache is half full: they are idle memory */
  if (!chain && tr && (tr->count * 2 > SEGALLOC__TRANSFER_SLOTS || tr->objs * 2 > segalloc__transfer_cap(cls)))
    chain = tr->count;
  if (chain) return segalloc__central_take_chain(c, tr, chain - 1, out, in_hand, in_hand_n);
  /* fresh objects this take may still carve (see the top of this part) */
  uintptr_t carve_left = SEGALLOC__CARVE_BYTES / segalloc__class_size[cls];
  if (carve_left == 0) carve_left = 1;
  while (got < want) {
    segalloc__span *s = segalloc__central_span(c, shard);
    if (!s) s = segalloc__central_grow(c, cls, shard);
    if (!s) s = segalloc__central_any_span(c);
    /* out of memory, and no span has a free object: a chain parked for another live
       shard, rather than fail with free objects of the class at hand */
    if (!s && !got && tr && tr->count) return segalloc__central_take_chain(c, tr, tr->count - 1, out, in_hand, in_hand_n);
    if (!s) break;
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
    if (got < want && carve_left && s->bump < s->limit) {
      /* carve: every free object carries the free mark, fresh ones too */
      uintptr_t base = segalloc__span_start(s), p = base + s->bump, end = base + s->limit;
      uintptr_t size = s->size, cookie = segalloc__cookie;
      uintptr_t n = (end - p) / size;
      if (n > (uintptr_t)(want - got)) n = (uintptr_t)(want - got);
      if (n > carve_left) n = carve_left;
      carve_left -= n;
      /* linked in address order, each to its neighbour above, so that malloc hands them
         out ascending (the order hardware prefetchers follow best when a program walks its
         blocks); the last links to what the take has gathered so far. 8 instructions an
         object, 9 when they were linked from the last one back (frag at scale 0.3,
         callgrind: 102.5M -> 101.9M in all) */
      uintptr_t last = p + (n - 1) * size, mark = (uintptr_t)segalloc__free_mark(cookie, p);
#if SEGALLOC_DEBUG
      /* junk, as in a freed block: all of a free object but its link and mark reads 0xDD,
         and malloc checks that it still does (debug.c) */
      segalloc__dbg_junk_fill((void *)p, (size_t)(n * size));
#endif
      for (uintptr_t o = p; o < last; o += size, mark += size) {
        segalloc__set_link((void **)o, (void *)(o + size));
        ((void **)o)[1] = (void *)mark;
      }
      segalloc__set_link((void **)last, head);
      ((void **)last)[1] = segalloc__free_mark(cookie, last);
      head = (void *)p;
      /* relaxed atomic: free's misuse check reads bump without this lock (the objects
         carved here are not out yet) */
      segalloc__store_relaxed(&s->bump, p + n * size - base);
      s->nalloc += (uint32_t)n;
      got += (int)n;
    }
    if (s->nalloc == s->nobjs) segalloc__central_unlink(c, s);
    if (!carve_left) break; /* the rest of the batch comes with the next take */
  }
  c->out += (uint64_t)got;
  if (in_hand && got > 1) {
    *in_hand_n = (uint32_t)got - 1;
    __atomic_store_n(in_hand, segalloc__link((void **)head), __ATOMIC_RELAXED);
  }
  segalloc__lock_release(&c->lock);
  *out = head;
  return got;
}

static segalloc__nosan int segalloc__central_take(unsigned cls, void **out, int want, unsigned shard) {
  return segalloc__central_take_for(cls, out, want, shard, NULL, NULL);
}

/* Objects back to their spans; a span whose objects are all back returns to the page heap.
   Caller holds the central lock. A chain is mostly runs of neighbours (freed in address
   order, or carved so): each run is found with one page-map lookup and spliced whole onto
   its span's free list: its objects keep their links, and only the last one's is rewritten
   (7 instructions an object, 9 when each was relinked; bench/workloads frag at scale 0.3,
   callgrind: 103.5M -> 102.5M in all). A run keeps the chain's order (relinked, it was
   reversed): a thread cache's list is last-freed first, so blocks freed in ascending order
   now sit on their span descending, and are handed out again that way. Every chain is
   NULL-terminated, and NULL is in no span, so a run ends at the chain's end without a
   count. */
static segalloc__nosan void segalloc__central_to_spans(segalloc__central *c, void *head) {
  while (head) {
    void **o = (void **)head;
    segalloc__span *s = segalloc__pagemap_entry(segalloc__arena_at((uintptr_t)o), (uintptr_t)o);
    uintptr_t start = segalloc__span_start(s), bytes = segalloc__span_bytes(s);
    void **first = o, **last;
    uint32_t n = 0;
    do {
      last = o;
      o = (void **)segalloc__link(o);
      n++;
    } while ((uintptr_t)o - start < bytes);
    head = o;
    segalloc__set_link(last, s->freelist);
    s->freelist = first;
    s->nalloc -= n;
    if (!s->list) segalloc__central_link(c, s);
    if (s->nalloc == 0) {
      segalloc__central_unlink(c, s);
      c->nspans--;
#if SEGALLOC_DEBUG
      segalloc__dbg_span_retire(s); /* its objects' junk checked, then all of it junk */
#endif
      segalloc__heap_free(s);
    }
  }
}

/* Take back `count` objects of class cls, a NULL-terminated list through word 0 from head
   to tail (NULL when the caller does not know its tail): parked in the transfer cache for
   shard `to` (or for anyone, SEGALLOC__TO_ANY) when there is room, else back to their
   spans, so that spans whose objects are all back can go to the page heap: a thread that
   exits, or a trim, passes SEGALLOC__TO_SPANS, since objects parked in the transfer cache
   pin their spans.
   A short chain whose tail is known joins the newest chain, if that is parked for the
   same shard, while the two together stay within a batch: a tick hands over half of a
   list, often an object or two, and such crumbs must not each take one of the slots (a
   refill takes one chain, so a stack of crumbs would cost a lock round trip per object or
   two).
   in_hand, when not NULL, is the giving thread cache's record of the chain (tcache.c,
   segalloc__tcache_in_hand), cleared here under the lock: fork's prepare handler holds
   every class lock, so a child finds the record set exactly when the chain is still in
   the dead thread's hands, and takes it back. */
static segalloc__nosan void segalloc__central_give_for(unsigned cls, void *head, void *tail, int count, unsigned to, void **in_hand) {
  segalloc__central *c = &segalloc__centrals[cls];
  segalloc__lock_acquire(&c->lock);
  if (in_hand) __atomic_store_n(in_hand, NULL, __ATOMIC_RELAXED);
  c->out -= (uint64_t)count;
  uint32_t n = (uint32_t)count;
  segalloc__transfer *tr = c->transfer;
  /* the first chain to park sets the cache up (the metadata lock is a leaf; if the OS has
     no memory for it, objects go back to their spans as when the cache is full) */
  if (!tr && to != SEGALLOC__TO_SPANS) {
    tr = (segalloc__transfer *)segalloc__meta_alloc(sizeof *tr);
    __atomic_store_n(&c->transfer, tr, __ATOMIC_RELAXED); /* central_decay reads it unlocked */
  }
  unsigned top = tr ? tr->count : 0; /* the newest chain is top - 1 */
  int join = tail && top && tr->to[top - 1] == to && tr->n[top - 1] + n <= segalloc__class_batch[cls];
  if (tr && to != SEGALLOC__TO_SPANS && tr->objs + n <= segalloc__transfer_cap(cls) && (join || top < SEGALLOC__TRANSFER_SLOTS)) {
    if (join) {
      segalloc__set_link((void **)tail, tr->chain[top - 1]);
      tr->chain[top - 1] = head;
      tr->n[top - 1] += n;
    } else {
      tr->chain[top] = head;
      tr->n[top] = n;
      tr->to[top] = (uint8_t)to;
      tr->count = top + 1;
    }
    tr->objs += n;
    segalloc__store_relaxed(&tr->used, segalloc__load_relaxed(&segalloc__epoch));
  } else {
    segalloc__central_to_spans(c, head);
  }
  segalloc__lock_release(&c->lock);
}

static segalloc__nosan void segalloc__central_give(unsigned cls, void *head, void *tail, int count, unsigned to) {
  segalloc__central_give_for(cls, head, tail, count, to, NULL);
}

/* Empty the transfer caches into their spans, so wholly free spans can go back to the page
   heap: every chain (segalloc_trim: shard < 0), or only the chains parked for a shard whose
   last thread has exited, which no one would take until the stack is half full (and whose
   objects would pin their spans meanwhile). */
static void segalloc__central_drain(int shard) {
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    segalloc__central *c = &segalloc__centrals[cls];
    segalloc__lock_acquire(&c->lock);
    segalloc__transfer *tr = c->transfer;
    /* from the top down: the chain that fills a gap has been looked at already */
    for (unsigned t = tr ? tr->count : 0; t-- > 0;) {
      if (shard >= 0 && tr->to[t] != (unsigned)shard) continue;
      void *head;
      segalloc__transfer_remove(tr, t, &head);
      segalloc__central_to_spans(c, head);
    }
    segalloc__lock_release(&c->lock);
  }
}

/* Every thread-cache tick (tcache.c) moves the clock on by one. A class whose transfer
   cache has had no chain parked or taken for SEGALLOC__TRANSFER_IDLE ticks holds a
   reserve for a size the program has stopped using: its chains go back to their spans, so
   that spans they alone kept from being wholly free go to the page heap, where any class
   can reuse their pages. (A tick is 16,384 small frees by one thread, so 8 ticks are
   131,072 frees; the frees a thread makes after its last tick, which for a short-lived
   thread may be all of them, do not move the clock.) A program whose size mix changes by
   phase otherwise keeps every earlier phase's reserve, and the spans it pins. Measured
   with ticks of 4,096 frees and 32 of them idle: bench/workloads frag, bench/compare.sh
   -r 21: peak RSS 49.7 -> 45.6 MiB, glibc 46.1; at scales 0.5 and 2, 1.1 and 1.3 MiB
   less. Idle times of 2 to 128 such ticks all helped frag, 32 (131,072 frees) the most;
   at 2, threads_own's rarer classes went back and forth between spans and the page heap
   and its peak RSS rose by 1 MiB. The other workloads did not move. With ticks of 16,384
   and 8 idle, frag's peak is unchanged (44.7 MiB in make bench, both ways). A list its
   thread stopped using gives half its objects at each tick, and each such chain parked
   in the transfer cache restarts the class's idle clock, so a class drains a few ticks
   after its last use: about log2 of the list's length, which in frees is now four times
   as long (for a list of 512, about 278,000 frees rather than 168,000). The cost is one
   look per class per tick, and the lock of a class whose clock has run out. */
static void segalloc__central_decay(void) {
  uint32_t now = __atomic_add_fetch(&segalloc__epoch, 1, __ATOMIC_RELAXED);
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    segalloc__central *c = &segalloc__centrals[cls];
    segalloc__transfer *tr = __atomic_load_n(&c->transfer, __ATOMIC_RELAXED);
    if (!tr || (int32_t)(now - segalloc__load_relaxed(&tr->used)) < SEGALLOC__TRANSFER_IDLE) continue;
    segalloc__lock_acquire(&c->lock);
    /* again under the lock: a thread may have used it since, stamping it with a later
       epoch than `now`, which must stay */
    if ((int32_t)(now - segalloc__load_relaxed(&tr->used)) >= SEGALLOC__TRANSFER_IDLE) {
      while (tr->count) {
        void *head;
        segalloc__transfer_remove(tr, tr->count - 1, &head);
        segalloc__central_to_spans(c, head);
      }
      segalloc__store_relaxed(&tr->used, now); /* looked at again SEGALLOC__TRANSFER_IDLE ticks on */
    }
    segalloc__lock_release(&c->lock);
  }
}

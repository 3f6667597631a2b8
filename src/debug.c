/* ---- debugging: SEGALLOC_DEBUG, Valgrind, ASan, and the heap check ----------------------
   See the design comment at the top of the implementation for an overview.

   When any of SEGALLOC_DEBUG, SEGALLOC_VALGRIND or an ASan build is on, the public
   functions are defined here as wrappers around the core ones in malloc.c (which are then
   static, named segalloc__core_*). Every block gets 16 bytes more than asked; its last word
   holds the size the program asked for, so usable_size reports exactly that and the bytes
   between the request and that word can serve as a canary or a red zone:
     SEGALLOC_DEBUG     fills new blocks with 0xAA (calloc's with zero), the slack past the
                        request with the canary 0xCB, checked at free and realloc, and freed
                        blocks with 0xDD, the junk, checked when the block is handed out
                        again (below); free-list links are stored XORed with the cookie
                        (internal.h). A broken canary or junk stops the program with a
                        message.
     SEGALLOC_VALGRIND  tells memcheck about every block (MALLOCLIKE/FREELIKE client
                        requests) and marks the slack past the request inaccessible, so
                        memcheck reports leaks, use after free and overflows in a program on
                        segalloc. The allocator's own touches of freed blocks run with error
                        reporting off. Needs <valgrind/valgrind.h> (Debian: valgrind).
     ASan builds        (-fsanitize=address) poison a block while it is free and the slack
                        past the request while it is live; a small span is poisoned whole
                        when a central list takes it (central.c), so objects carved but not
                        handed out yet, and the bytes left over, are poisoned as freed ones
                        are; the functions that touch free blocks' link words are built
                        without instrumentation (segalloc__nosan).
   segalloc_check_heap() is always there: it walks every arena, span, central list and the
   calling thread's cache under their locks (not other threads' caches, nor the huge-block
   list) and reports the first inconsistency. It owns no state.

   The junk (SEGALLOC_DEBUG), after TCMalloc's debug allocator: a write after free shows as
   junk that is no longer 0xDD. Every free object of a small class reads 0xDD but for its
   first two words, which the allocator uses while the object is free (the link and the
   free mark, internal.h): segalloc_free fills a block whole before the core free writes
   those two, and the carve fills fresh objects (central.c), so a free object never holds
   what its pages held before. Every OS page of a free page-heap span reads all 0xDD (a
   freed large block; a small span whose objects were all back, which central_to_spans
   checks object by object and fills whole before it goes) or all zero (never used, or
   released: the kernel's zero page, also page by page under MADV_FREE). malloc, calloc,
   realloc and the aligned forms check the junk of every block they are handed by the
   core, before they fill it (segalloc__dbg_check_junk): a small block's bytes past those
   two words, a large block's pages (its span, all free until now). A difference stops
   the program with a message naming the block. check_heap checks the junk of the free
   objects it walks and the pages of the resident free spans. Huge blocks are not
   checked: their mapping goes at free, so a write after free faults instead, until a
   later mapping reuses the hole. The cost is a read of the block at each allocation and
   a fill at each carve, O(size), in the debug build only. */

#if SEGALLOC__WRAPPED

#define SEGALLOC__DBG_EXTRA 16
#define SEGALLOC__DBG_NEW 0xAA
#define SEGALLOC__DBG_CANARY 0xCB
#define SEGALLOC__DBG_FREED 0xDD

#if SEGALLOC_DEBUG
/* a word of junk (0xDD in every byte, whatever the word's width) */
#define SEGALLOC__DBG_JUNK_WORD ((uintptr_t)-1 / 255 * SEGALLOC__DBG_FREED)
/* the words at a free object's start that are the allocator's, not junk (internal.h) */
#define SEGALLOC__DBG_FREE_WORDS (2 * sizeof(void *))

/* Fill [p, p + n) with junk. Under ASan it is poisoned as free memory is (ASan's memset
   checks its range even in a function built without instrumentation). */
static segalloc__nosan void segalloc__dbg_junk_fill(void *p, size_t n) {
#if SEGALLOC__ASAN
  __asan_unpoison_memory_region(p, n);
#endif
  memset(p, SEGALLOC__DBG_FREED, n);
#if SEGALLOC__ASAN
  __asan_poison_memory_region(p, n);
#endif
}

/* Whether free small object o of `size` bytes has its junk intact. Plain loads in a
   function ASan does not instrument: the object is poisoned. */
static segalloc__nosan int segalloc__dbg_junk_ok(const void *o, size_t size) {
  const uintptr_t *w = (const uintptr_t *)o;
  for (size_t i = SEGALLOC__DBG_FREE_WORDS / sizeof(uintptr_t); i < size / sizeof(uintptr_t); i++)
    if (w[i] != SEGALLOC__DBG_JUNK_WORD) return 0;
  return 1;
}

/* Whether the `bytes` of free pages at p read, each page, all junk or all zero: each OS
   page, or each segalloc page when OS pages are larger (os.c; the page heap then releases
   whole OS pages only, and fills and frees whole segalloc pages). */
static segalloc__nosan int segalloc__dbg_pages_ok(const void *p, size_t bytes) {
  size_t pg = segalloc__os_page < SEGALLOC_PAGE_SIZE ? segalloc__os_page : SEGALLOC_PAGE_SIZE;
  size_t words = pg / sizeof(uintptr_t);
  for (size_t off = 0; off < bytes; off += pg) {
    const uintptr_t *w = (const uintptr_t *)((const char *)p + off);
    uintptr_t want = w[0] ? SEGALLOC__DBG_JUNK_WORD : 0;
    for (size_t i = 0; i < words; i++)
      if (w[i] != want) return 0;
  }
  return 1;
}

/* Small span s goes back to the page heap (central_to_spans, its central lock held):
   every object it ever carved is free, so each must still hold its junk; then the whole
   span is junk, as a freed large block is. */
static segalloc__nosan void segalloc__dbg_span_retire(const segalloc__span *s) {
  uintptr_t start = segalloc__span_start(s), end = start + s->bump;
  for (uintptr_t o = segalloc__span_first(s); o < end; o += s->size)
    if (!segalloc__dbg_junk_ok((const void *)o, s->size))
      segalloc__fatal("write after free: a free block's junk (0xDD) was overwritten (found as its span went back to the page heap)", (const void *)o);
  segalloc__dbg_junk_fill((void *)start, segalloc__span_bytes(s));
}

/* Block p, just handed out by the core, before anything is written to it: free until now,
   so it must read as junk (see the top of this part). */
static segalloc__nosan void segalloc__dbg_check_junk(void *p) {
  segalloc__span *s = segalloc__span_of((uintptr_t)p);
  if (!s) return; /* a huge block: a fresh mapping */
  int ok = s->state == SEGALLOC__SPAN_SMALL ? segalloc__dbg_junk_ok(p, s->size) : segalloc__dbg_pages_ok(p, segalloc__span_bytes(s));
  if (!ok) segalloc__fatal("write after free: a free block's junk (0xDD) was overwritten before it was handed out again", p);
}
#endif

static segalloc__nosan size_t *segalloc__dbg_size_word(void *p, size_t usable) {
  return (size_t *)((char *)p + usable - sizeof(size_t));
}

/* ASan keeps shadow memory for every address it was told about, and a huge block's
   mapping is gone after free: poisoning those would leave megabytes of shadow behind for
   each one (the fuzzer ran out of memory that way). Huge blocks are left unpoisoned: a use
   after free of one faults while its pages stay unmapped, but not once a later huge block
   reuses the hole (os.c places them there), and an overflow past one's end is not seen. */
#if SEGALLOC__ASAN
static int segalloc__dbg_poisonable(const void *p) {
  return segalloc__arena_of((uintptr_t)p) != NULL;
}
#endif

/* Mark [p, p+n) usable and [p+n, p+usable) not, for the tools; n is what the program asked. */
static segalloc__nosan void segalloc__dbg_mark_live(void *p, size_t n, size_t usable, int is_new, int zeroed) {
#if SEGALLOC__ASAN
  if (segalloc__dbg_poisonable(p)) {
    __asan_unpoison_memory_region(p, n);
    __asan_poison_memory_region((char *)p + n, usable - n);
  }
#endif
#if SEGALLOC_VALGRIND
  if (is_new) VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, zeroed);
  VALGRIND_MAKE_MEM_NOACCESS((char *)p + n, usable - n);
#endif
  (void)p; (void)n; (void)usable; (void)is_new; (void)zeroed;
}

/* Set block p (usable bytes) up for a request of n, keeping the first `keep` bytes. */
static segalloc__nosan void *segalloc__dbg_setup(void *p, size_t n, size_t keep, int is_new, int zeroed) {
  size_t usable = segalloc__block_size(p);
#if SEGALLOC__ASAN
  if (segalloc__dbg_poisonable(p)) __asan_unpoison_memory_region(p, usable);
#endif
  *segalloc__dbg_size_word(p, usable) = n;
#if SEGALLOC_DEBUG
  if (n > keep && !zeroed) memset((char *)p + keep, SEGALLOC__DBG_NEW, n - keep);
  memset((char *)p + n, SEGALLOC__DBG_CANARY, usable - sizeof(size_t) - n);
#endif
  (void)keep;
  segalloc__dbg_mark_live(p, n, usable, is_new, zeroed);
  return p;
}

/* The size the program asked for, after checking p is a live block whose slack is intact. */
static segalloc__nosan size_t segalloc__dbg_check(void *p, size_t *usable_out) {
  size_t usable = segalloc__block_size(p); /* stops on a foreign, interior or freed pointer */
  size_t n = *segalloc__dbg_size_word(p, usable);
  if (n > usable - sizeof(size_t)) segalloc__fatal("heap corruption: the size word past a block was overwritten", p);
#if SEGALLOC_DEBUG
  const unsigned char *c = (const unsigned char *)p;
  for (size_t i = n; i < usable - sizeof(size_t); i++)
    if (c[i] != SEGALLOC__DBG_CANARY) segalloc__fatal("heap overflow: a write past the end of a block (canary)", p);
#endif
  *usable_out = usable;
  return n;
}

static void *segalloc__dbg_alloc(size_t align, size_t n, int zeroed) {
  if (n > SEGALLOC__MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  segalloc__vg_quiet();
  void *p = align ? segalloc__aligned(align, n + SEGALLOC__DBG_EXTRA) : segalloc__core_malloc(n + SEGALLOC__DBG_EXTRA);
  if (p) {
#if SEGALLOC_DEBUG
    segalloc__dbg_check_junk(p);
#endif
    segalloc__dbg_setup(p, n, 0, 1, zeroed);
    if (zeroed) memset(p, 0, n);
  }
  segalloc__vg_loud();
  return p;
}

SEGALLOCDEF void *segalloc_malloc(size_t size) { return segalloc__dbg_alloc(0, size, 0); }

SEGALLOCDEF void *segalloc_calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return segalloc__dbg_alloc(0, total, 1);
}

SEGALLOCDEF segalloc__nosan void segalloc_free(void *ptr) {
  if (!ptr) return;
  segalloc__vg_quiet();
  size_t usable;
  segalloc__dbg_check(ptr, &usable);
#if SEGALLOC_DEBUG
#if SEGALLOC__ASAN
  /* the slack past the request is poisoned, and ASan's memset checks its range even here */
  if (segalloc__dbg_poisonable(ptr)) __asan_unpoison_memory_region(ptr, usable);
#endif
  memset(ptr, SEGALLOC__DBG_FREED, usable);
#endif
#if SEGALLOC_VALGRIND
  VALGRIND_FREELIKE_BLOCK(ptr, 0);
#endif
#if SEGALLOC__ASAN
  /* before the core free: once the block is on a list another thread may take it */
  if (segalloc__dbg_poisonable(ptr)) __asan_poison_memory_region(ptr, usable);
#endif
  segalloc__core_free(ptr);
  segalloc__vg_loud();
}

SEGALLOCDEF size_t segalloc_usable_size(const void *ptr) {
  if (!ptr) return 0;
  segalloc__vg_quiet();
  size_t usable, n = segalloc__dbg_check((void *)(uintptr_t)ptr, &usable);
  segalloc__vg_loud();
  return n;
}

SEGALLOCDEF void *segalloc_realloc(void *ptr, size_t size) {
  if (!ptr) return segalloc_malloc(size);
  if (size > SEGALLOC__MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  segalloc__vg_quiet();
  size_t usable, old = segalloc__dbg_check(ptr, &usable);
  size_t need = size + SEGALLOC__DBG_EXTRA;
  if (need <= usable && need >= usable / 2) { /* in place, as the core would */
    segalloc__dbg_setup(ptr, size, old < size ? old : size, 0, 0);
#if SEGALLOC_VALGRIND
    /* after the debug fill, which memcheck would take for the program's own writes: the
       grown part must read as undefined */
    VALGRIND_RESIZEINPLACE_BLOCK(ptr, old, size, 0);
#endif
    segalloc__vg_loud();
    return ptr;
  }
  segalloc__vg_loud();
  void *q = segalloc_malloc(size);
  if (!q) return NULL;
  memcpy(q, ptr, old < size ? old : size);
  segalloc_free(ptr);
  return q;
}

#endif /* SEGALLOC__WRAPPED */

/* ---- segalloc_check_heap ---- */

/* SEGALLOC_DEBUG: whether free object o of `size` bytes, or `bytes` of free pages at p,
   still read as junk (see the top of this part); other builds keep no junk */
#if SEGALLOC_DEBUG
#define segalloc__check_junk(o, size) segalloc__dbg_junk_ok((const void *)(o), (size))
#define segalloc__check_pages(p, bytes) segalloc__dbg_pages_ok((const void *)(p), (bytes))
#else
#define segalloc__check_junk(o, size) 1
#define segalloc__check_pages(p, bytes) 1
#endif
#define SEGALLOC__JUNK_BROKEN "free object's junk (0xDD) overwritten (written after free)"

static segalloc__cold int segalloc__check_fail(const char *what, uintptr_t where) {
  char buf[32];
  segalloc__write(2, "segalloc: check_heap: ");
  segalloc__write(2, what);
  segalloc__write(2, " at ");
  segalloc__write(2, segalloc__fmt_u(buf, (uint64_t)where, 1));
  segalloc__write(2, "\n");
  return 1;
}


/* One arena: every page belongs to exactly one span, walked in address order. */
static segalloc__nosan int segalloc__check_arena(segalloc__arena *a, size_t *free_res, size_t *free_rel, size_t *small, size_t *large) {
  size_t i = a->header_pages;
  while (i < SEGALLOC__ARENA_PAGES) {
    uintptr_t addr = a->base + (i << SEGALLOC__PAGE_SHIFT);
    segalloc__span *s = a->pagemap[i];
    if (s == &segalloc__no_span || !s) return segalloc__check_fail("page belongs to no span", addr);
    if (segalloc__span_start(s) != addr) return segalloc__check_fail("span does not start at its first page", addr);
    if (s->npages == 0 || i + s->npages > SEGALLOC__ARENA_PAGES) return segalloc__check_fail("span length out of its arena", addr);
    if (a->pagemap[i + s->npages - 1] != s) return segalloc__check_fail("span's last page does not map to it", addr);
    for (size_t k = 0; k < s->npages; k++) { /* free's view of the pages (pagemap.c) */
      segalloc__small_entry want = {0, 0};
      if (s->state == SEGALLOC__SPAN_SMALL) want = segalloc__small_entry_of(s->cls, k, i + k);
      if (!segalloc__small_entry_eq(segalloc__arena_smallmap(a)[i + k], want))
        return segalloc__check_fail("small-map entry out of step with its span", addr + (k << SEGALLOC__PAGE_SHIFT));
    }
    size_t bytes = segalloc__span_bytes(s);
    if (s->state == SEGALLOC__SPAN_FREE) {
      *(s->released ? free_rel : free_res) += bytes;
      /* released ones too would read as junk or zero, but reading them faults them in */
      if (!s->released && !segalloc__check_pages(addr, bytes)) return segalloc__check_fail("free pages written after free (neither junk nor zero)", addr);
    } else if (s->state == SEGALLOC__SPAN_LARGE) {
      *large += bytes;
    } else if (s->state == SEGALLOC__SPAN_SMALL) {
      *small += bytes;
      if (s->cls == 0 || s->cls >= SEGALLOC__NCLASSES || s->size != segalloc__class_size[s->cls])
        return segalloc__check_fail("small span with a bad size class", addr);
      for (size_t k = 0; k < s->npages; k++)
        if (a->pagemap[i + k] != s) return segalloc__check_fail("small span page does not map to it", addr + (k << SEGALLOC__PAGE_SHIFT));
      if (s->nalloc > s->nobjs || s->bump > s->limit) return segalloc__check_fail("small span counts out of range", addr);
      /* its objects end where it ends, after the class's waste (sizeclass.c), and the bump
         region starts on one of them */
      uintptr_t origin = segalloc__class_origin(s->cls);
      if (s->limit != bytes || s->limit - origin != (uintptr_t)s->nobjs * s->size || s->bump < origin || (s->bump - origin) % s->size)
        return segalloc__check_fail("small span layout out of step with its class", addr);
      uint32_t nfree = 0;
      for (void **o = (void **)s->freelist; o; o = (void **)segalloc__link(o)) {
        if (!segalloc__check_object(s, (uintptr_t)o)) return segalloc__check_fail("span free list holds a bad object", (uintptr_t)o);
        if (o[1] != segalloc__free_mark(segalloc__cookie, o)) return segalloc__check_fail("free object lost its free mark (written after free?)", (uintptr_t)o);
        if (!segalloc__check_junk(o, s->size)) return segalloc__check_fail(SEGALLOC__JUNK_BROKEN, (uintptr_t)o);
        if (++nfree > s->nobjs) return segalloc__check_fail("span free list loops", addr);
      }
      uint32_t carved = (uint32_t)((s->bump - origin) / s->size);
      if (nfree + s->nalloc != carved) return segalloc__check_fail("span object counts do not add up", addr);
    } else {
      return segalloc__check_fail("span in an unknown state", addr);
    }
    i += s->npages;
  }
  return 0;
}

SEGALLOCDEF segalloc__nosan int segalloc_check_heap(void) {
  int bad = 0;
  segalloc__vg_quiet();
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) segalloc__lock_acquire(&segalloc__centrals[c].lock);
  segalloc__lock_acquire(&segalloc__heap.lock);
  size_t free_res = 0, free_rel = 0, small = 0, large = 0;
  for (segalloc__arena *a = segalloc__heap.arenas; a && !bad; a = a->next) {
    if (segalloc__arena_of(a->base) != a) bad = segalloc__check_fail("arena missing from the radix map", a->base);
    else bad = segalloc__check_arena(a, &free_res, &free_rel, &small, &large);
  }
  if (!bad && (free_res != segalloc__heap.free_resident || free_rel != segalloc__heap.free_released))
    bad = segalloc__check_fail("page heap free byte counts disagree with its spans", 0);
  if (!bad && (small != segalloc__heap.small_spans || large != segalloc__heap.large_live))
    bad = segalloc__check_fail("page heap in-use byte counts disagree with its spans", 0);
  /* central lists: every listed span belongs to the class and to its shard's list and has
     something free; every parked chain is parked for a shard or for anyone */
  for (unsigned c = 1; c < SEGALLOC__NCLASSES && !bad; c++) {
    segalloc__central *cen = &segalloc__centrals[c];
    for (unsigned k = 0; k < SEGALLOC__SHARDS; k++)
      for (segalloc__span *s = cen->spans[k], *prev = NULL; s && !bad; prev = s, s = s->next)
        if (s->state != SEGALLOC__SPAN_SMALL || s->cls != c || s->shard != k || s->nalloc >= s->nobjs || s->prev != prev || !s->list)
          bad = segalloc__check_fail("central list holds a span that does not belong", segalloc__span_start(s));
    const segalloc__transfer *tr = cen->transfer;
    for (unsigned t = 0; tr && t < tr->count && !bad; t++) {
      if (tr->to[t] > SEGALLOC__TO_ANY) bad = segalloc__check_fail("transfer cache chain parked for no one", 0);
      int n = 0;
      /* bounded by the recorded length: a chain written after free may loop */
      for (void **o = (void **)tr->chain[t]; o && !bad && (uint32_t)n <= tr->n[t]; o = (void **)segalloc__link(o), n++) {
        segalloc__arena *oa = segalloc__arena_of((uintptr_t)o);
        segalloc__span *s = oa ? segalloc__pagemap_entry(oa, (uintptr_t)o) : NULL;
        if (!segalloc__check_object(s, (uintptr_t)o) || s->cls != c) bad = segalloc__check_fail("transfer cache holds a bad object", (uintptr_t)o);
        else if (o[1] != segalloc__free_mark(segalloc__cookie, o)) bad = segalloc__check_fail("free object lost its free mark (written after free?)", (uintptr_t)o);
        else if (!segalloc__check_junk(o, s->size)) bad = segalloc__check_fail(SEGALLOC__JUNK_BROKEN, (uintptr_t)o);
      }
      if (!bad && (uint32_t)n != tr->n[t]) bad = segalloc__check_fail("transfer cache chain of the wrong length", 0);
    }
  }
  /* this thread's cache */
  segalloc__tcache *tc = segalloc__tc;
  /* class 0 (large blocks) must never have room, or free would push a large block */
  if (!bad && tc != &segalloc__tc_empty && (tc->lists[0].head || tc->lists[0].room || tc->max[0]))
    bad = segalloc__check_fail("thread cache has room for class 0", 0);
  for (unsigned c = 1; c < SEGALLOC__NCLASSES && !bad && tc != &segalloc__tc_empty; c++) {
    uint32_t n = 0;
    if (tc->lists[c].room < 0 || (uint32_t)tc->lists[c].room > tc->max[c]) {
      bad = segalloc__check_fail("thread cache list room outside 0..max", 0);
      break;
    }
    if (tc->lists[c].magic != segalloc__boundary_magic(segalloc__class_size[c])) {
      bad = segalloc__check_fail("thread cache list's size magic is not its class's", 0);
      break;
    }
    for (void **o = (void **)tc->lists[c].head; o && !bad; o = (void **)segalloc__link(o)) {
      segalloc__arena *oa = segalloc__arena_of((uintptr_t)o);
      segalloc__span *s = oa ? segalloc__pagemap_entry(oa, (uintptr_t)o) : NULL;
      if (!segalloc__check_object(s, (uintptr_t)o) || s->cls != c) bad = segalloc__check_fail("thread cache holds a bad object", (uintptr_t)o);
      else if (o[1] != segalloc__free_mark(segalloc__cookie, o)) bad = segalloc__check_fail("free object lost its free mark (written after free?)", (uintptr_t)o);
      else if (!segalloc__check_junk(o, s->size)) bad = segalloc__check_fail(SEGALLOC__JUNK_BROKEN, (uintptr_t)o);
      if (++n > segalloc__tcache_count(tc, c)) bad = bad ? bad : segalloc__check_fail("thread cache list longer than its count", (uintptr_t)o);
    }
    if (!bad && n != segalloc__tcache_count(tc, c)) bad = segalloc__check_fail("thread cache list shorter than its count", 0);
  }
  if (!bad && tc != &segalloc__tc_empty) {
    size_t max_bytes = 0;
    for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) max_bytes += (size_t)tc->max[c] * segalloc__class_size[c];
    if (max_bytes != tc->max_bytes) bad = segalloc__check_fail("thread cache's sum of list maxima out of step", 0);
  }
  segalloc__lock_release(&segalloc__heap.lock);
  for (unsigned c = SEGALLOC__NCLASSES; c-- > 1;) segalloc__lock_release(&segalloc__centrals[c].lock);
  segalloc__vg_loud();
  return bad;
}

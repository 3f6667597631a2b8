/* ---- the public API: malloc, free and the rest ---------------------------------------
   See the design comment at the top of the implementation for an overview.

   Owns the entry points and the choice of path: small requests (up to 32 KiB) go to this
   thread's cache, inline, with the slow side in tcache.c; larger ones to the page heap;
   requests from half an arena (less a page) up to a mapping of their own. Also here:
   process-wide set-up (run once, from the first slow path), the checks that turn heap
   misuse into a message, and fork handling (its handlers registered at load, before any
   set-up can hold a lock). No lock is taken on the fast paths.

   The fast paths are written to be short enough to read at a glance. malloc: size -> class,
   pop. free: address -> arena (the thread's hint) -> the page's small-map entry, two checks,
   push. Anything unusual (an empty or full list, a large block, a bad pointer, the first
   call on a thread) falls through to a non-inlined slow function. */

static struct {
  segalloc__lock lock;
  int done;
  int stats_fd;                        /* SEGALLOC_SHOW_STATS: a dup of stderr, or -1 */
  uint64_t stats_dev, stats_ino;       /* and the file it was then (segalloc__show_stats_at_exit) */
  uint64_t large_mallocs, large_frees; /* page-heap and huge blocks (atomics) */
} segalloc__global;

/* glibc's stdio list lock, when we run on glibc: fork takes it after the atfork prepare
   handlers, so ours take it first to keep the order glibc's own code uses (list lock, then
   the allocator), or a thread in fflush() that mallocs would deadlock a fork. */
#if defined(__GLIBC__)
#ifdef __cplusplus
extern "C" {
#endif
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));
extern void _IO_list_resetlock(void) __attribute__((weak));
#ifdef __cplusplus
}
#endif
#endif

static void segalloc__fork_prepare(void);
static void segalloc__fork_parent(void);
static void segalloc__fork_child(void);

/* The fork handlers, registered once, and never while this part's set-up holds its lock: a
   fork by another thread while the first set-up held it, before the handlers that wait for
   it were there, left the child a lock that no thread of its would release (its first
   malloc hung: 4 of 2,000 fresh processes whose first malloc raced a fork, found by
   review). So a constructor registers them at load, and the first set-up, if it comes
   sooner (a malloc from an earlier constructor), before it takes the lock. A malloc that
   pthread_atfork itself makes finds them registered and goes on to the set-up. */
static int segalloc__atfork_registered;

static void segalloc__register_atfork(void) {
  int expect = 0;
  if (__atomic_compare_exchange_n(&segalloc__atfork_registered, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
    pthread_atfork(segalloc__fork_prepare, segalloc__fork_parent, segalloc__fork_child);
}

__attribute__((constructor)) static void segalloc__register_atfork_at_load(void) { segalloc__register_atfork(); }

static segalloc__noinline void segalloc__global_init(void) {
  if (segalloc__load(&segalloc__global.done)) return;
  /* pthread_key_create calling back into malloc: serve it without us */
  if (segalloc__lock_held_by_me(&segalloc__global.lock)) return;
  segalloc__register_atfork();
  segalloc__lock_acquire(&segalloc__global.lock);
  if (!segalloc__global.done) {
    long pg = sysconf(_SC_PAGESIZE);
    segalloc__os_page = pg > 0 ? (size_t)pg : 4096;
    /* larger than a segalloc page is fine (os.c); no OS has pages this odd or this big */
    if ((segalloc__os_page & (segalloc__os_page - 1)) || segalloc__os_page > SEGALLOC_ARENA_SIZE / 8) {
      segalloc__write(2, "segalloc: error: the OS page size is not a power of two, or larger than an eighth of SEGALLOC_ARENA_SIZE\n");
      abort();
    }
    /* The cookie only has to be unpredictable to a program's data, not to an attacker:
       mix ASLR'd addresses and the clock. Never 0 (the empty cache's value). */
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    uint64_t x = (uint64_t)(uintptr_t)&ts ^ ((uint64_t)(uintptr_t)&segalloc__global << 17) ^
                 (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
    x ^= x >> 31; x *= 0xbf58476d1ce4e5b9ull; x ^= x >> 27; x *= 0x94d049bb133111ebull; x ^= x >> 33;
    segalloc__cookie = (uintptr_t)(x | 1);
    segalloc__tcaches.live.next = segalloc__tcaches.live.prev = &segalloc__tcaches.live;
    segalloc__tcaches.exiting.next = segalloc__tcaches.exiting.prev = &segalloc__tcaches.exiting;
    segalloc__os_thp_init(); /* SEGALLOC_THP, before the first arena */
    /* SEGALLOC_SHOW_STATS: keep our own copy of stderr, since programs such as coreutils
       close theirs at exit, before the report is written */
    const char *show = getenv("SEGALLOC_SHOW_STATS");
    segalloc__global.stats_fd = show && *show && *show != '0' ? fcntl(2, F_DUPFD_CLOEXEC, 3) : -1;
    struct stat st;
    if (segalloc__global.stats_fd >= 0 && fstat(segalloc__global.stats_fd, &st) == 0) {
      segalloc__global.stats_dev = (uint64_t)st.st_dev;
      segalloc__global.stats_ino = (uint64_t)st.st_ino;
    }
    segalloc__tcaches.key_ok = pthread_key_create(&segalloc__tcaches.key, segalloc__tcache_exit) == 0;
    segalloc__store(&segalloc__global.done, 1);
  }
  segalloc__lock_release(&segalloc__global.lock);
}

/* ---- misuse ---- */

/* p is in an arena but the page map has no span for its page: find the span that covers
   it (walking back to a span's recorded first page) to say what p was. */
static segalloc__cold void segalloc__bad_free(const void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  segalloc__arena *a = segalloc__arena_of(p);
  if (!a) {
    int inside = 0;
    /* inside a live huge block first: one mapped since over a huge block freed earlier can
       cover that block's remembered address */
    segalloc__huge_size(p, &inside);
    if (inside) segalloc__fatal("free of an address inside a block", ptr);
    segalloc__fatal(segalloc__huge_was_freed(p) ? "double free" : "free of a pointer segalloc does not own", ptr);
  }
  segalloc__lock_acquire(&segalloc__heap.lock);
  size_t page = (p - a->base) >> SEGALLOC__PAGE_SHIFT;
  segalloc__span *s = NULL;
  for (size_t i = page + 1; i-- > a->header_pages;) {
    segalloc__span *t = a->pagemap[i] == &segalloc__no_span ? NULL : a->pagemap[i];
    if (t && segalloc__span_start(t) <= p && p < segalloc__span_start(t) + segalloc__span_bytes(t)) { s = t; break; }
    if (t) break;
  }
  segalloc__lock_release(&segalloc__heap.lock);
  if (!s) segalloc__fatal("free of a pointer segalloc does not own", ptr);
  /* A page-aligned address in a free span is a large block freed before (its span may
     have merged with neighbours since), unless the page was never used: the span's pages
     all fresh, or the page at or above the arena's inited mark (a wild pointer into the
     arena's untouched tail). */
  if (s->state == SEGALLOC__SPAN_FREE)
    segalloc__fatal(p % SEGALLOC_PAGE_SIZE == 0 && !s->fresh && page < __atomic_load_n(&a->inited, __ATOMIC_ACQUIRE)
                        ? "double free" : "free of a pointer segalloc does not own", ptr);
  segalloc__fatal("free of an address inside a block", ptr);
}

/* segalloc__span_of, starting from the arena this thread freed into last (as free's fast
   path does): realloc and usable_size then skip the two radix-map loads, which on a
   cold cache were a third of realloc's own time in the realloc_grow benchmark. */
static segalloc__inline segalloc__span *segalloc__span_of_hinted(uintptr_t p) {
  segalloc__span *const *e = segalloc__tcache_hinted(segalloc__tc, p);
  if (segalloc__likely(e != NULL)) return *e == &segalloc__no_span ? NULL : *e;
  return segalloc__span_of(p);
}

/* The usable size of block p, after checking it is one: a small object's boundary, never
   handed out, already free; a large block's start. Stops the program otherwise. */
static segalloc__inline segalloc__nosan size_t segalloc__small_block_size(const segalloc__span *s, const void *ptr) {
  uintptr_t p = (uintptr_t)ptr, first = segalloc__span_first(s);
  uint64_t magic = segalloc__class_magic[s->cls];
  if (segalloc__unlikely(p < first || p >= segalloc__span_start(s) + segalloc__load_relaxed(&s->bump))) segalloc__fatal("free of a pointer segalloc does not own", ptr);
  if (segalloc__unlikely((uint64_t)(p - first) * magic > magic - 1)) segalloc__fatal("free of an address inside a block", ptr);
#if SEGALLOC_CHECKS
  if (segalloc__unlikely(((void *const *)ptr)[1] == segalloc__free_mark(segalloc__cookie, ptr))) segalloc__fatal("double free", ptr);
#endif
  return s->size;
}

static segalloc__nosan size_t segalloc__block_size(const void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  segalloc__span *s = segalloc__span_of_hinted(p);
  if (s && s->state == SEGALLOC__SPAN_SMALL) return segalloc__small_block_size(s, ptr);
  if (s && s->state == SEGALLOC__SPAN_LARGE && p == segalloc__span_start(s)) return segalloc__span_bytes(s);
  if (!s) {
    size_t n = segalloc__huge_size(p, NULL);
    if (n) return n;
  }
  segalloc__bad_free(ptr);
  return 0;
}

/* ---- malloc ---- */

static segalloc__inline segalloc__nosan void *segalloc__handout(void **o) {
#if SEGALLOC_CHECKS
  o[1] = NULL; /* a block the program holds never carries the cookie */
#endif
  return o;
}

/* A block of whole pages (or its own mapping), aligned to align (0: the page). */
static void *segalloc__large_alloc(size_t size, size_t align, int zero) {
  if (segalloc__unlikely(size > SEGALLOC__MAX_REQUEST || align > SEGALLOC__MAX_REQUEST / 2)) {
    errno = ENOMEM;
    return NULL;
  }
  segalloc__global_init();
  size_t npages = (size + SEGALLOC_PAGE_SIZE - 1) >> SEGALLOC__PAGE_SHIFT;
  size_t align_pages = align > SEGALLOC_PAGE_SIZE ? align >> SEGALLOC__PAGE_SHIFT : 1;
  void *p;
  if (size >= SEGALLOC__HUGE_MIN || npages + align_pages > SEGALLOC__ARENA_PAGES / 2) {
    p = segalloc__huge_alloc(size, align); /* fresh pages: already zero */
  } else {
    segalloc__span *s = segalloc__heap_alloc(npages, align_pages);
    p = s ? (void *)segalloc__span_start(s) : NULL;
    if (p && zero && !s->zeroed) memset(p, 0, npages << SEGALLOC__PAGE_SHIFT);
#if !SEGALLOC_DEBUG
    /* its first bytes may hold the free mark of a small object once freed there: a program
       that never writes them would pass it on, and realloc's copy into a small block at
       that address made the block's one free look like a second (debug builds junk-fill a
       span that goes back to the page heap, its marks too, and check the junk here) */
    else if (p) p = segalloc__handout((void **)p);
#endif
  }
  if (segalloc__unlikely(!p)) {
    errno = ENOMEM;
    return NULL;
  }
  segalloc__add_relaxed(&segalloc__global.large_mallocs, 1);
  return p;
}

/* A small block of class cls: the cache's list, refilled when empty. */
static segalloc__inline segalloc__nosan void *segalloc__small_alloc(unsigned cls) {
  void **o = segalloc__tlist_pop(&segalloc__tc->lists[cls]);
  if (segalloc__likely(o != NULL)) return segalloc__handout(o);
  o = (void **)segalloc__tcache_refill(cls);
  if (segalloc__unlikely(!o)) {
    errno = ENOMEM;
    return NULL;
  }
  return segalloc__handout(o);
}

static segalloc__noinline segalloc__nosan void *segalloc__malloc_slow(size_t size) {
  if (size <= SEGALLOC__SMALL_MAX) return segalloc__small_alloc(segalloc__size_class(size));
  return segalloc__large_alloc(size, 0, 0);
}

/* Pop a block off the list of table slot `slot`, or take the slow path for `size`. */
static segalloc__inline segalloc__nosan void *segalloc__malloc_slot(size_t slot, size_t size) {
  void **o = segalloc__tlist_pop((segalloc__tlist *)((char *)segalloc__tc->lists + (size_t)segalloc__slot_list[slot] * SEGALLOC__SLOT_UNIT));
  if (segalloc__likely(o != NULL)) return segalloc__handout(o);
  return segalloc__malloc_slow(size);
}

/* malloc's body, inline also in operator new (override.c, the C++ build's and the C build's) */
static segalloc__inline segalloc__nosan void *segalloc__malloc_inline(size_t size) {
  /* the inline paths: up to 1 KiB one compare and the size itself as the table's slot;
     larger small sizes two compares and the table's coarse half (sizeclass.c), out of the
     first path's way (63 -> 58 instructions per 4 KiB pair, callgrind). Two copies of
     the pop, so that the first path does not move the size into a shared slot register */
  if (segalloc__likely(size <= SEGALLOC__SLOT_FINE_MAX)) return segalloc__malloc_slot(SEGALLOC__SLOT_FINE(size), size);
  if (size <= SEGALLOC__SMALL_MAX) return segalloc__malloc_slot(SEGALLOC__SLOT_COARSE(size), size);
  return segalloc__malloc_slow(size);
}

SEGALLOC__CORE segalloc__nosan void *SEGALLOC__FN(malloc)(size_t size) {
  return segalloc__malloc_inline(size);
}

#if !SEGALLOC__WRAPPED
SEGALLOCDEF void *segalloc_calloc(size_t count, size_t size) {
  size_t total;
  if (segalloc__unlikely(__builtin_mul_overflow(count, size, &total))) {
    errno = ENOMEM;
    return NULL;
  }
  if (total <= SEGALLOC__SMALL_MAX) {
    void *p = segalloc_malloc(total);
    if (p) memset(p, 0, total);
    return p;
  }
  return segalloc__large_alloc(total, 0, 1);
}

#endif

/* ---- free ---- */

static segalloc__noinline segalloc__nosan void segalloc__free_slow(void *ptr) {
  if (!ptr) return;
  uintptr_t p = (uintptr_t)ptr;
  segalloc__span *s = segalloc__span_of(p);
  if (!s) {
    if (segalloc__huge_free(p)) {
      segalloc__add_relaxed(&segalloc__global.large_frees, 1);
      return;
    }
    segalloc__bad_free(ptr);
  }
  if (s->state == SEGALLOC__SPAN_SMALL) {
    segalloc__small_block_size(s, ptr); /* stops on an interior, unused or already free address */
    segalloc__tcache_overflow(ptr, s->cls);
    return;
  }
  if (s->state != SEGALLOC__SPAN_LARGE || p != segalloc__span_start(s)) segalloc__bad_free(ptr);
  segalloc__heap_free(s);
  segalloc__add_relaxed(&segalloc__global.large_frees, 1);
}

/* free's fast path took a unit of room on list l before it found that the block must go
   the slow way: give it back first (out of line, so that the fast path can take the room
   with one decrement in memory rather than keep the old value to restore). */
static segalloc__noinline void segalloc__free_unroom(void *ptr, segalloc__tlist *l) {
  l->room++;
  segalloc__free_slow(ptr);
}

/* Make the arena of ptr, if it is in one, the hint, with its inited mark as of now;
   returns whether ptr now passes the hint's test (never for the shared empty cache). */
static int segalloc__rehint(segalloc__tcache *tc, const void *ptr) {
  segalloc__arena *a = segalloc__arena_of((uintptr_t)ptr);
  if (!a || tc == &segalloc__tc_empty) return 0;
  tc->hint_base = a->base;
  tc->hint_limit = (uintptr_t)__atomic_load_n(&a->inited, __ATOMIC_ACQUIRE) << SEGALLOC__PAGE_SHIFT;
  return segalloc__tcache_hinted(tc, (uintptr_t)ptr) != NULL;
}

/* free's fast path takes the arena to be the one this thread freed into last, and checks
   the address is below that arena's inited mark (one subtract and one compare: everything
   below it has a page-map entry, pagemap.c). On a miss this looks the arena up in the
   radix map, makes it the hint with its current mark, and frees again; an address in no
   arena, or above the mark (where no block lies), goes to the slow path, which says what
   is wrong with it. */
SEGALLOC__CORE void SEGALLOC__FN(free)(void *ptr);
static segalloc__noinline void segalloc__free_miss(void *ptr) {
  if (segalloc__rehint(segalloc__tc, ptr)) {
    SEGALLOC__FN(free)(ptr);
    return;
  }
  segalloc__free_slow(ptr);
}

/* The list offsets in 8-byte units fit the slot table's bytes (the generator checks the
   same), and the boundary test's operand (an offset in a page plus the page's distance
   past the boundary below it, under a page plus an object) stays within the exact range of
   the 32-bit test, n < 2^17 - size (segalloc__on_boundary). */
typedef char segalloc__small_entry_fits[(SEGALLOC__NCLASSES - 1) * sizeof(segalloc__tlist) / SEGALLOC__SLOT_UNIT <= 255 && SEGALLOC_PAGE_SIZE + 2 * SEGALLOC__SMALL_MAX <= 0x20000 ? 1 : -1];

SEGALLOC__CORE segalloc__nosan void SEGALLOC__FN(free)(void *ptr) {
  segalloc__tcache *tc = segalloc__tc;
  uintptr_t off = (uintptr_t)ptr - tc->hint_base;
  if (segalloc__unlikely(off >= tc->hint_limit)) {
    segalloc__free_miss(ptr);
    return;
  }
  /* the page's small-map entry (internal.h), not its span: the span record is one more
     dependent load, and a cache miss when the program's data has pushed it out (in the
     batch workloads, 112,600 of free's 182,600 L1 misses, cachegrind) */
  const segalloc__small_entry *e = &segalloc__arena_smallmap(tc->hint_base)[off >> SEGALLOC__PAGE_SHIFT];
  /* class 0 (large blocks, pages of no small span) has a list with no room: the room test
     sends those to the slow path too */
  segalloc__tlist *l = (segalloc__tlist *)((char *)tc->lists + e->list);
#if SEGALLOC_CHECKS
  uint32_t past = (uint32_t)off + e->bias; /* p's distance from the boundary below its page */
#endif
  void **o = (void **)ptr;
  if (segalloc__likely(--l->room >= 0)) {
#if SEGALLOC_CHECKS
    /* p must be an object boundary: its distance from the boundary below its page's start
       is a multiple of the size (a multiply, not a divide: Lemire's divisibility test, in
       32 bits with the list's magic); and it must not carry the cookie that marks a free
       block */
    if (segalloc__likely(segalloc__on_boundary(past, l->magic) &&
                         o[1] != segalloc__free_mark(tc->cookie, o)))
#endif
    {
      segalloc__tlist_push(tc, l, o);
      return;
    }
  }
  segalloc__free_unroom(ptr, l);
}

/* ---- aligned ---- */

static segalloc__nosan void *segalloc__aligned(size_t align, size_t size) {
  if (align <= SEGALLOC__MIN_ALIGN) return SEGALLOC__FN(malloc)(size);
  unsigned cls = segalloc__size_class_aligned(size, align);
  if (cls) return segalloc__small_alloc(cls);
  return segalloc__large_alloc(size ? size : 1, align, 0);
}

static size_t segalloc__os_page_size(void) {
  segalloc__global_init();
  return segalloc__os_page;
}

/* The entry points below check their arguments and then allocate through
   SEGALLOC__ALIGNED: the core's aligned path, or the debug wrapper's (debug.c) when the
   public functions are wrapped, so both builds share this code. */
#if SEGALLOC__WRAPPED
static void *segalloc__dbg_alloc(size_t align, size_t n, int zeroed);
#define SEGALLOC__ALIGNED(align, n) segalloc__dbg_alloc((align), (n), 0)
#else
#define SEGALLOC__ALIGNED(align, n) segalloc__aligned((align), (n))
#endif

SEGALLOCDEF void segalloc_free_sized(void *ptr, size_t size) {
  (void)size;
  segalloc_free(ptr);
}

SEGALLOCDEF void segalloc_free_aligned_sized(void *ptr, size_t alignment, size_t size) {
  (void)alignment;
  (void)size;
  segalloc_free(ptr);
}

SEGALLOCDEF void *segalloc_reallocarray(void *ptr, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return segalloc_realloc(ptr, total);
}

SEGALLOCDEF void *segalloc_aligned_alloc(size_t alignment, size_t size) {
  if (alignment == 0 || (alignment & (alignment - 1))) {
    errno = EINVAL;
    return NULL;
  }
  return SEGALLOC__ALIGNED(alignment, size);
}

SEGALLOCDEF int segalloc_posix_memalign(void **out, size_t alignment, size_t size) {
  if (alignment < sizeof(void *) || (alignment & (alignment - 1))) return EINVAL;
  int saved = errno;
  void *p = SEGALLOC__ALIGNED(alignment, size);
  if (!p) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}

/* glibc's memalign rounds an alignment that is not a power of two up to one; so do we.
   Its limit too: past SIZE_MAX / 2 + 1 is EINVAL; up to it rounds to 2^63, which no block
   can have (ENOMEM). */
SEGALLOCDEF void *segalloc_memalign(size_t alignment, size_t size) {
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return NULL;
  }
  size_t a = alignment ? alignment : 1;
  while (a & (a - 1)) a = (a | (a - 1)) + 1;
  return SEGALLOC__ALIGNED(a, size);
}


SEGALLOCDEF void *segalloc_valloc(size_t size) {
  return SEGALLOC__ALIGNED(segalloc__os_page_size(), size);
}

SEGALLOCDEF void *segalloc_pvalloc(size_t size) {
  size_t pg = segalloc__os_page_size();
  if (size > SEGALLOC__MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  return SEGALLOC__ALIGNED(pg, size ? (size + pg - 1) & ~(pg - 1) : pg);
}


#if !SEGALLOC__WRAPPED
/* ---- sizes and realloc ---- */

SEGALLOCDEF size_t segalloc_usable_size(const void *ptr) {
  return ptr ? segalloc__block_size(ptr) : 0;
}

#define SEGALLOC__REALLOC_TO_SPAN 1024 /* the smallest block realloc gives back to its span */

/* Everything realloc's fast path below leaves to it: NULL, size 0 or too large, a block
   outside the part below the inited mark of the arena this thread freed into last, large
   blocks, moves, shrinking below half. */
static segalloc__noinline void *segalloc__realloc_slow(void *ptr, size_t size) {
  if (!ptr) return segalloc_malloc(size);
  if (segalloc__unlikely(size > SEGALLOC__MAX_REQUEST)) {
    errno = ENOMEM;
    return NULL;
  }
  size_t old = segalloc_usable_size(ptr);
  /* The fast path below missed: if only because the hint's mark is stale (the block lies in
     pages inited since this thread last missed in free), refresh it, or a buffer that
     is only ever realloc'd takes this path on every call. */
  segalloc__rehint(segalloc__tc, ptr);
  /* In place when it fits and would not waste more than half the block. */
  if (size <= old && (size >= old / 2 || (old <= SEGALLOC__SMALL_MAX && segalloc__size_class(size) == segalloc__size_class(old))))
    return ptr;
  /* A large block that grows: into the free pages right after it, if there are enough;
     else into those and the free pages before it, moving its bytes down (no more to copy
     than a move elsewhere, and no fresh pages faulted in beside a free hole). */
  if (size > old && old > SEGALLOC__SMALL_MAX && size < SEGALLOC__HUGE_MIN) {
    segalloc__span *s = segalloc__span_of((uintptr_t)ptr);
    size_t pages = (size + SEGALLOC_PAGE_SIZE - 1) >> SEGALLOC__PAGE_SHIFT;
    if (s && s->state == SEGALLOC__SPAN_LARGE) {
      uintptr_t to = segalloc__heap_grow_large(s, pages);
      if (to) {
        if (to != (uintptr_t)ptr) memmove((void *)to, ptr, old);
        return (void *)to;
      }
    }
  }
  /* Moving a block that grows: ask for at least a quarter more than it had, so a buffer
     grown a few bytes at a time moves a logarithmic number of times rather than once per
     size class it passes through (TCMalloc's rule too). Without the room, plain size. */
  void *q = NULL;
  if (size > old && size - old < old / 4) {
    int saved = errno;
    q = segalloc_malloc(old + old / 4);
    errno = saved;
  }
  if (!q) q = segalloc_malloc(size);
  if (!q) return NULL;
  memcpy(q, ptr, size < old ? size : old);
  /* A small block of 1 KiB or more that a growing buffer moved out of goes back to its span
     rather than to this thread's cache, if the cache already has one of its class: the
     buffer will not come back to the class, and buffers growing side by side would leave
     a cache of such blocks in every class they pass through, the sum of those classes'
     peaks. In its span it lets the span go back to the page heap, which has pages for any
     size (bench/workloads realloc_grow: peak RSS 4,270 -> 3,760 KiB, median of 7). When
     the cache has none the block goes there as a free would, so that a single buffer
     grown again and again does not hand its span to the page heap and take it back on
     every pass (20 % slower a realloc than this way, grown to 2 KiB). */
  if (size > old && old >= SEGALLOC__REALLOC_TO_SPAN && old <= SEGALLOC__SMALL_MAX) {
    /* (a block this small may still be large, or huge with no span: one aligned to half
       an arena or more) */
    segalloc__span *s = segalloc__span_of((uintptr_t)ptr);
    if (s && s->state == SEGALLOC__SPAN_SMALL && segalloc__tcache_count(segalloc__tc, s->cls) > 0) {
      segalloc__small_free_direct(ptr, s->cls, SEGALLOC__TO_SPANS);
      return q;
    }
  }
  segalloc_free(ptr);
  return q;
}

/* The common case inline: a small block, in the arena free() saw last, that still fits and
   would not waste more than half of itself stays where it is, after the same checks as
   usable_size. A string grown a few bytes at a time stays in place for most calls, and this
   path keeps them from paying for the slow function's frame (bench/workloads realloc_grow:
   about 70 instructions per in-place call before, counted by callgrind). */
SEGALLOCDEF segalloc__nosan void *segalloc_realloc(void *ptr, size_t size) {
  segalloc__span *const *e = segalloc__tcache_hinted(segalloc__tc, (uintptr_t)ptr);
  if (segalloc__likely(e != NULL)) { /* never for NULL (below every arena) */
    segalloc__span *s = *e;
    if (segalloc__likely(s->state == SEGALLOC__SPAN_SMALL)) {
      size_t old = segalloc__small_block_size(s, ptr);
      if (segalloc__likely(size <= old && size >= old / 2)) return ptr; /* old >= 16: never size 0 */
    }
  }
  return segalloc__realloc_slow(ptr, size);
}

#endif /* !SEGALLOC__WRAPPED */

/* ---- giving back ---- */

SEGALLOCDEF void segalloc_thread_flush(void) {
  segalloc__tcache *tc = segalloc__tc;
  segalloc__vg_quiet();
  if (tc != &segalloc__tc_empty) segalloc__tcache_flush_all(tc);
  segalloc__vg_loud();
}

SEGALLOCDEF size_t segalloc_trim(void) {
  segalloc_thread_flush();
  segalloc__vg_quiet();
  segalloc__central_drain(-1);
  segalloc__vg_loud();
  segalloc__lock_acquire(&segalloc__heap.lock);
  size_t n = segalloc__heap.ready ? segalloc__heap_release_locked(0, 0, 0) : 0;
  segalloc__lock_release(&segalloc__heap.lock);
  return n;
}

SEGALLOCDEF const char *segalloc_version(void) { return "segalloc 0.1"; }

/* ---- fork ----
   prepare takes every lock (stdio's list lock first, see above) so the child starts with
   consistent structures; parent and child release them. If fork is called from a signal
   handler that interrupted this thread inside segalloc, this thread already holds a lock
   and waiting for the rest could deadlock: then prepare takes nothing, and the child resets
   the locks other threads held (they do not exist in the child). If that child then calls
   malloc while the interrupted code still holds a lock, it stops with a message (see
   segalloc__lock_spin) rather than wait for itself forever. */

/* One bit per fork in progress on this thread, innermost lowest: 1 when that fork's
   prepare took no locks. A stack, not a flag, because a signal handler can fork between an
   outer fork's prepare and its parent handler. */
static segalloc__thread_local uint32_t segalloc__fork_skips segalloc__tls_attr;

static int segalloc__fork_held_by_me(void) {
  if (segalloc__lock_held_by_me(&segalloc__heap.lock) || segalloc__lock_held_by_me(&segalloc__meta.lock) ||
      segalloc__lock_held_by_me(&segalloc__tcaches.lock) || segalloc__lock_held_by_me(&segalloc__global.lock))
    return 1;
  for (unsigned c = 0; c < SEGALLOC__NCLASSES; c++)
    if (segalloc__lock_held_by_me(&segalloc__centrals[c].lock)) return 1;
  return 0;
}

static void segalloc__fork_prepare(void) {
#if defined(__GLIBC__)
  if (_IO_list_lock) _IO_list_lock();
#endif
  int skip = segalloc__fork_held_by_me();
  segalloc__fork_skips = segalloc__fork_skips << 1 | (uint32_t)skip;
  if (skip) return;
  segalloc__lock_acquire(&segalloc__global.lock);
  for (unsigned c = 0; c < SEGALLOC__NCLASSES; c++) segalloc__lock_acquire(&segalloc__centrals[c].lock);
  segalloc__lock_acquire(&segalloc__heap.lock);
  segalloc__lock_acquire(&segalloc__meta.lock);
  segalloc__lock_acquire(&segalloc__tcaches.lock);
}

static void segalloc__fork_release_all(void) {
  segalloc__lock_release(&segalloc__tcaches.lock);
  segalloc__lock_release(&segalloc__meta.lock);
  segalloc__lock_release(&segalloc__heap.lock);
  for (unsigned c = SEGALLOC__NCLASSES; c-- > 0;) segalloc__lock_release(&segalloc__centrals[c].lock);
  segalloc__lock_release(&segalloc__global.lock);
}

static void segalloc__fork_parent(void) {
  int skipped = (int)(segalloc__fork_skips & 1);
  segalloc__fork_skips >>= 1;
  if (!skipped) segalloc__fork_release_all();
#if defined(__GLIBC__)
  if (_IO_list_unlock) _IO_list_unlock();
#endif
}

/* Unlock l in the child unless this thread (the only one left) holds it. */
static void segalloc__fork_reset(segalloc__lock *l) {
  if (!segalloc__lock_held_by_me(l)) segalloc__lock_release(l);
}

static void segalloc__fork_child(void) {
  int skipped = (int)(segalloc__fork_skips & 1);
  segalloc__fork_skips >>= 1;
  if (!skipped) {
    segalloc__fork_release_all();
  } else {
    segalloc__fork_reset(&segalloc__tcaches.lock);
    segalloc__fork_reset(&segalloc__meta.lock);
    segalloc__fork_reset(&segalloc__heap.lock);
    for (unsigned c = 0; c < SEGALLOC__NCLASSES; c++) segalloc__fork_reset(&segalloc__centrals[c].lock);
    segalloc__fork_reset(&segalloc__global.lock);
  }
#if defined(__GLIBC__)
  /* glibc resets its list lock in a multithreaded parent's child and not otherwise; a
     reset is right in both cases, since this is the child's only thread */
  if (_IO_list_resetlock) _IO_list_resetlock();
#endif
  /* The caches of threads that did not survive the fork hold objects no one will free:
     take them back (a thread's exit would have done the same). */
  if (skipped) return;
  segalloc__vg_quiet();
  segalloc__tcache *me = segalloc__tc;
  segalloc__tcache *tc = segalloc__tcaches.live.next;
  while (tc && tc != &segalloc__tcaches.live) {
    segalloc__tcache *next = tc->next;
    if (tc != me) {
      segalloc__tcache_adopt(tc);
      segalloc__tcache_unregister(tc);
      segalloc__tcache_retire(tc);
    }
    tc = next;
  }
  /* and the caches threads were emptying at their exit, but the one this thread was (a
     fork from a signal handler that interrupted its own key destructor, which goes on) */
  tc = segalloc__tcaches.exiting.next;
  while (tc && tc != &segalloc__tcaches.exiting) {
    segalloc__tcache *next = tc->next;
    if (tc->owner != segalloc__self()) {
      segalloc__tcache_adopt(tc);
      segalloc__tcache_retire(tc);
    }
    tc = next;
  }
  segalloc__vg_loud();
}

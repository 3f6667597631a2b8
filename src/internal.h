/* ======================================================================================
   IMPLEMENTATION

   The design, from the program down to the OS (after TCMalloc and the Go runtime; the
   README has the long form).

   Glossary
     page          SEGALLOC_PAGE_SIZE bytes (default 8 KiB): the page heap's unit. Not the OS
                   page, which may be smaller or larger (os.c; when larger, only whole OS
                   pages inside free spans go back to the OS).
     span          a run of contiguous pages with one owner: free in the page heap, carved into
                   objects of one size class, or one large block.
     size class    one of about 50 object sizes from 16 bytes to 32 KiB (the generated table in
                   sizeclass_table.h); each has a span size and a batch size.
     thread cache  per thread, a singly linked free list per class; no lock.
     central list  per class, behind its own lock: the class's spans with free objects.
     page heap     one, behind one lock: free spans by length, splitting and merging.
     arena         SEGALLOC_ARENA_SIZE of address space (default 64 MiB) reserved with mmap,
                   aligned to its size; its first pages hold its header, page map and
                   small map.
     page map      for every page of an arena, the span it belongs to; together with the
                   arena map (a radix tree from address to arena) it takes any address to
                   its span and class, so blocks carry no header.
     small map     for every page of a small span, its class's list offset and a bias that
                   turns an address into its distance from the object boundary below
                   the page: all free's fast path reads.

   malloc(n), n <= 32 KiB
     1. n -> the class's list in the thread cache by one byte-table lookup (sizeclass.c).
     2. Pop the head of this thread's list for the class (tcache.c). Done, in the common case.
     3. Empty: take a batch from the class's central list (central.c, its lock), from the
        spans of this thread's shard (threads are spread over a few shards, so threads of
        different shards get blocks from different spans).
     4. Central empty: get a span of the class's page count from the page heap (pageheap.c,
        its lock) and carve objects from it lazily, about 4 KiB of them per take. The
        objects are packed against the span's end: the bytes left over come first, where
        no object boundary falls (sizeclass.c).
     5. Page heap has no free span that fits: reserve a new arena (os.c, mmap).
   malloc(n), n > 32 KiB: a span of whole pages from the page heap (4-5 above); from half an
     arena (less a page) up, a mapping of its own (os.c).
   free(p)
     1. p -> arena (the arena this thread freed into last: a subtract and a compare
        against the part of it whose page map is set; else the radix map) -> the page's
        small-map entry -> class, all from the address. Two checks: p is an object
        boundary, and p does not carry the free mark (a double free). Other pages (large
        blocks, bad pointers) take the slow path, through the page map to the span.
     2. Small: push on this thread's list, whatever thread allocated it. The list full:
        hand it whole to the class's transfer cache (central.c), or when that is full,
        back to the spans; a span whose objects are all back goes to the page heap.
     3. Large: the span goes back to the page heap and merges with free neighbours.
   Back to the OS
     thread cache (lists that did not run dry for a tick of 16384 frees give half to the
     transfer cache; bounded by SEGALLOC_TCACHE_BYTES) -> central list (hands wholly free
     spans back) -> page heap (keeps an allowance of free pages resident, from
     SEGALLOC_RETAIN_BYTES up, and releases the rest with madvise: at once when the
     program's use has fallen far below its recent peak, otherwise once a span has been
     free for SEGALLOC_RELEASE_DELAY_MS) -> OS. Released pages stay mapped and are reused.

   Lock order: a central lock may be held while taking the page heap lock; the page heap
   lock may be held while taking the metadata lock. Never the other way. The thread
   registry lock is a leaf.

   What Go does that segalloc does not: the tiny allocator (it needs a collector to know when
   all the objects packed in a block are dead) and the split of classes into pointer and
   pointer-free spans (it serves the collector). What it keeps: zero tracking, so a calloc
   above 32 KiB served from fresh or released pages skips the memset.
   ====================================================================================== */
/* The amalgamation wraps everything from here to the licence in
   #ifdef SEGALLOC_IMPLEMENTATION ... #endif, once per translation unit. */

/* System headers. The implementation asks for nothing beyond POSIX, a few Linux constants
   (mmap and madvise flags) and, on Linux, up to three sysfs files that say how transparent huge
   pages are set (os.c), and declares what a strict -std=c11 build hides, so it compiles
   whatever feature macros the including file chose. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- configuration, checked ---------------------------------------------------------- */

#ifndef SEGALLOC_PAGE_SIZE
#define SEGALLOC_PAGE_SIZE 8192
#endif
#if SEGALLOC_PAGE_SIZE != 4096 && SEGALLOC_PAGE_SIZE != 8192 && SEGALLOC_PAGE_SIZE != 16384 && \
    SEGALLOC_PAGE_SIZE != 32768 && SEGALLOC_PAGE_SIZE != 65536
#error "segalloc: SEGALLOC_PAGE_SIZE must be a power of two from 4096 to 65536"
#endif

#ifndef SEGALLOC_ARENA_SIZE
#define SEGALLOC_ARENA_SIZE (64u * 1024 * 1024)
#endif
#if (SEGALLOC_ARENA_SIZE) < (1024 * 1024) || ((SEGALLOC_ARENA_SIZE) & ((SEGALLOC_ARENA_SIZE) - 1)) != 0 || \
    (SEGALLOC_ARENA_SIZE) > 4294967296ull
#error "segalloc: SEGALLOC_ARENA_SIZE must be a power of two from 1 MiB to 4 GiB"
#endif
#if (SEGALLOC_ARENA_SIZE) / (SEGALLOC_PAGE_SIZE) < 16
#error "segalloc: SEGALLOC_ARENA_SIZE must hold at least 16 pages of SEGALLOC_PAGE_SIZE"
#endif

#ifndef SEGALLOC_CHECKS
#define SEGALLOC_CHECKS 1
#endif
/* Thread caches are spread over this many shards (the least used at a thread's start);
   each central list keeps the spans of each shard apart (central.c). */
#define SEGALLOC__SHARDS 4

#ifndef SEGALLOC_TCACHE_BYTES
#define SEGALLOC_TCACHE_BYTES (2u * 1024 * 1024)
#endif
#ifndef SEGALLOC_RETAIN_BYTES
#define SEGALLOC_RETAIN_BYTES (2u * 1024 * 1024)
#endif
#ifndef SEGALLOC_RELEASE_DELAY_MS
#define SEGALLOC_RELEASE_DELAY_MS 1000u
#endif
/* Transparent huge pages for arenas and huge blocks (os.c): 0 never, 1 as the system
   decides (the default), 2 asked for. The SEGALLOC_THP environment variable overrides it. */
#ifndef SEGALLOC_THP
#define SEGALLOC_THP 1
#endif
#if SEGALLOC_THP < 0 || SEGALLOC_THP > 2
#error "SEGALLOC_THP must be 0 (never), 1 (as the system decides) or 2 (asked for)"
#endif
#if !defined(O_CLOEXEC) /* hidden by a strict -std=c11; its value differs by architecture */
#define O_CLOEXEC 0
#endif
#if defined(__linux__) && !defined(MADV_HUGEPAGE)
#define MADV_HUGEPAGE 14
#endif
#if defined(__linux__) && !defined(MADV_NOHUGEPAGE)
#define MADV_NOHUGEPAGE 15
#endif

#if defined(__linux__) && !defined(MAP_ANONYMOUS)
#define MAP_ANONYMOUS 0x20
#endif
#if defined(__linux__) && !defined(MAP_NORESERVE)
#define MAP_NORESERVE 0x4000
#endif
#if defined(__linux__) && !defined(F_DUPFD_CLOEXEC)
#define F_DUPFD_CLOEXEC 1030
#endif
#if defined(__linux__) && !defined(MADV_DONTNEED)
#define MADV_DONTNEED 4
#endif
#if defined(__linux__) && !defined(MADV_FREE)
#define MADV_FREE 8
#endif
#if defined(__linux__) && !defined(__USE_MISC)
extern int madvise(void *addr, size_t length, int advice);
#endif

/* Built with -fsanitize=address: blocks are poisoned while free (see debug.c). */
#if defined(__SANITIZE_ADDRESS__)
#define SEGALLOC__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SEGALLOC__ASAN 1
#endif
#endif
#ifndef SEGALLOC__ASAN
#define SEGALLOC__ASAN 0
#endif
#if SEGALLOC__ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifndef SEGALLOC_DEBUG
#define SEGALLOC_DEBUG 0
#endif
#ifndef SEGALLOC_VALGRIND
#define SEGALLOC_VALGRIND 0
#endif
/* With debugging, Valgrind or ASan, the public functions are wrappers (debug.c) around the
   core ones (malloc.c), which then are static and named segalloc__core_*. */
#if SEGALLOC_DEBUG || SEGALLOC_VALGRIND || SEGALLOC__ASAN
#define SEGALLOC__WRAPPED 1
#define SEGALLOC__FN(name) segalloc__core_##name
#define SEGALLOC__CORE static
#else
#define SEGALLOC__WRAPPED 0
#define SEGALLOC__FN(name) segalloc_##name
#define SEGALLOC__CORE SEGALLOCDEF
#endif

/* Under SEGALLOC_VALGRIND the allocator's own reads and writes of freed blocks (their link
   words) run with memcheck's error reporting off. */
#if SEGALLOC_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define segalloc__vg_quiet() VALGRIND_DISABLE_ERROR_REPORTING
#define segalloc__vg_loud() VALGRIND_ENABLE_ERROR_REPORTING
#else
#define segalloc__vg_quiet() ((void)0)
#define segalloc__vg_loud() ((void)0)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define segalloc__likely(x) __builtin_expect(!!(x), 1)
#define segalloc__unlikely(x) __builtin_expect(!!(x), 0)
#define segalloc__noinline __attribute__((noinline))
#define segalloc__cold __attribute__((cold, noinline))
#if SEGALLOC__ASAN
/* Functions that read and write the link words of free (poisoned) blocks are not
   instrumented; GCC will not force-inline across that difference, so nothing is forced. */
#define segalloc__nosan __attribute__((no_sanitize_address))
#define segalloc__inline inline
#else
#define segalloc__nosan
#define segalloc__inline inline __attribute__((always_inline))
#endif
#else
#error "segalloc: the implementation needs GCC or Clang (atomics, TLS models, builtins)"
#endif

/* Atomics are GCC's __atomic builtins on plain fields: the same code then compiles as C11
   and as C++ (where <stdatomic.h> is not usable), and TSan understands them. */
#define segalloc__load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define segalloc__load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define segalloc__store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define segalloc__store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define segalloc__add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
/* Keeps the stores before it ahead of the atomic stores after it, for the compiler and
   the CPU (on x86 it emits no instruction). GCC rejects a thread fence under
   -fsanitize=thread (-Wtsan: TSan does not model fences), so there it is a compiler
   barrier only. */
#if defined(__SANITIZE_THREAD__)
#define SEGALLOC__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SEGALLOC__TSAN 1
#endif
#endif
#ifdef SEGALLOC__TSAN
#define segalloc__fence_release() __atomic_signal_fence(__ATOMIC_RELEASE)
#else
#define segalloc__fence_release() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#ifdef __cplusplus
#define segalloc__thread_local thread_local
#else
#define segalloc__thread_local _Thread_local
#endif

#ifdef SEGALLOC_TLS_MODEL
#define segalloc__tls_attr __attribute__((tls_model(SEGALLOC_TLS_MODEL)))
#else
#define segalloc__tls_attr
#endif

#define SEGALLOC__PAGE_SHIFT (SEGALLOC_PAGE_SIZE == 4096 ? 12 : SEGALLOC_PAGE_SIZE == 8192 ? 13 : \
                              SEGALLOC_PAGE_SIZE == 16384 ? 14 : SEGALLOC_PAGE_SIZE == 32768 ? 15 : 16)
#define SEGALLOC__ARENA_PAGES ((size_t)(SEGALLOC_ARENA_SIZE) / SEGALLOC_PAGE_SIZE)
#define SEGALLOC__SMALL_MAX 32768u
/* Requests of this size or more get their own mapping instead of a page-heap span (and
   smaller ones whose pages, with an alignment's lead, pass half an arena: malloc.c). */
#define SEGALLOC__HUGE_MIN ((size_t)(SEGALLOC_ARENA_SIZE) / 2)
/* The largest request we attempt at all: past this, size arithmetic could wrap. */
#define SEGALLOC__MAX_REQUEST (PTRDIFF_MAX - (size_t)(SEGALLOC_ARENA_SIZE) * 2)

/* The alignment we guarantee for every block of 16 bytes or more. */
#define SEGALLOC__MIN_ALIGN 16

/* ---- free-list links ---------------------------------------------------------------
   A free block's first word links it to the next free block of its list; its second word
   holds its free mark, segalloc__cookie plus its own address (the double-free check). The
   address is in the mark so that stale bytes copied from one block into another (realloc
   copying memory the program never wrote, say) cannot make a live block look free. A sum
   rather than an XOR, so that the marks of objects carved in a row step by the size, which
   the carve loop adds rather than computes for each (frag at scale 0.3, callgrind:
   102.4M -> 101.9M instructions; free's check costs the same). Under SEGALLOC_DEBUG
   the link is stored XORed with the cookie, so a program that writes a pointer into a freed
   block cannot steer the next malloc to an address of its choosing, and a corrupted link
   is likely to point nowhere valid; and every other byte of a free block is junk, 0xDD,
   checked when the block is handed out again (debug.c). */
static uintptr_t segalloc__cookie; /* chosen once, at the first slow-path call; never 0 */
#define segalloc__free_mark(cookie, o) ((void *)((cookie) + (uintptr_t)(o)))
#if SEGALLOC_DEBUG
#define segalloc__link(o) ((void *)((uintptr_t)((void **)(o))[0] ^ segalloc__cookie))
#define segalloc__set_link(o, v) (((void **)(o))[0] = (void *)((uintptr_t)(v) ^ segalloc__cookie))
#else
#define segalloc__link(o) (((void **)(o))[0])
#define segalloc__set_link(o, v) (((void **)(o))[0] = (void *)(v))
#endif

/* ---- the internal types (a glossary in code) ---------------------------------------- */

/* A span: a run of pages. All spans live in the metadata area, never inside the pages
   they describe, so a user's overflow cannot corrupt them. free's fast path does not read
   it: what it needs is in the arena's small map (below). */
typedef struct segalloc__span {
  uint8_t cls;                     /* size class, 0 for a large or free span */
  uint8_t shard;                   /* small spans: the shard whose threads it serves */
  uint8_t state;                   /* SEGALLOC__SPAN_* */
  uint8_t released;                /* free span: its pages were given back to the OS */
  uint8_t zeroed;                  /* its pages are known to be zero (fresh or released) */
  uint8_t fresh;                   /* free span: never used since the arena was mapped */
  uintptr_t start_code;            /* address of the first page (segalloc__span_start) */
  size_t npages;
  struct segalloc__span *next;     /* in a page-heap free list or a central list */
  struct segalloc__span *prev;
  void *freelist;                  /* small spans: objects returned to this span */
  /* offsets from start, not addresses: under Valgrind an address kept here would make a
     leaked block (the next span's first) look reachable */
  uintptr_t bump;                  /* small spans: offset of the next never-used object */
  uintptr_t limit;                 /* small spans: offset of the end of the last whole object */
  uint32_t size;                   /* small spans: object size */
  uint32_t nalloc;                 /* small spans: objects out (in caches or live) */
  uint32_t nobjs;                  /* small spans: objects the span holds */
  uint32_t list;                   /* central: 1 while on its class's list of spans */
  uint64_t idle_since;             /* free resident span: when it was freed (segalloc__heap_now_ms) */
} segalloc__span;

/* A thread cache's list of free objects of one class (tcache.c): 16 bytes, four to a cache
   line, on 32-bit targets too. malloc finds a list by its offset in the cache, in units of 8
   bytes (segalloc__slot_list), free by its byte offset in the page's small-map entry. The list's maximum
   length, which only the slow paths read, is kept beside the lists (segalloc__tcache). */
typedef struct __attribute__((aligned(16))) segalloc__tlist {
  void *head;        /* objects linked through word 0 */
  int32_t room;      /* max minus the objects on the list: free's fast path takes one with
                        a single decrement and a sign test (segalloc__tcache_count) */
  uint32_t magic;    /* ceil(2^32 / size) of the list's class, for free's boundary test, in
                        the record free has just touched (segalloc__on_boundary) */
} segalloc__tlist;

/* Valgrind's leak check calls a block reachable when any word it scans holds the block's
   address, our metadata included. A span's start is its large block's address, and its
   first object's when its class packs the span exactly, so SEGALLOC_VALGRIND builds keep
   such addresses complemented: a leaked block is then reported as lost. Other builds store them as they are. */
#if SEGALLOC_VALGRIND
#define SEGALLOC__ADDR_CODE(x) (~(uintptr_t)(x))
#else
#define SEGALLOC__ADDR_CODE(x) ((uintptr_t)(x))
#endif
#define segalloc__span_start(s) SEGALLOC__ADDR_CODE((s)->start_code)
#define segalloc__span_set_start(s, x) ((s)->start_code = SEGALLOC__ADDR_CODE(x))

enum {
  SEGALLOC__SPAN_FREE = 1,   /* in the page heap */
  SEGALLOC__SPAN_SMALL = 2,  /* carved into objects, owned by a central list */
  SEGALLOC__SPAN_LARGE = 3   /* one block handed to the program */
};

/* An arena's header, at its base. pagemap[i] is the span holding page i: every page of a
   small span, only the first and last of a free or large span (all that coalescing and
   free() need). The rest hold segalloc__no_span below the inited mark, and NULL or
   segalloc__no_span above it (pagemap.c). The page map is followed by the small map
   (segalloc__arena_smallmap), one segalloc__small_entry a page (below): for a page of a
   small span, its class's list offset and the bias that turns an address's offset in the
   arena into its distance from the object boundary below the page's start; zero for every
   other page. free's fast path needs only that entry, not the span (malloc.c). */
typedef struct segalloc__small_entry {
  /* (k * page size - origin) mod object size, for the span's k-th page (how far the page's
     start lies past the boundary below it; the origin is the offset of the span's first
     object, segalloc__class_origin), minus the page's offset in its arena, mod 2^32. An
     address at offset `off` in the arena is then (uint32_t)off + bias bytes past that
     boundary: one add on the fast path, exact while the address is in the page */
  uint32_t bias;
  uint32_t list; /* the class's list offset in a thread cache, cls * sizeof(segalloc__tlist) */
} segalloc__small_entry;

typedef struct segalloc__arena {
  uintptr_t base;
  size_t header_pages;             /* pages at the base used by this header */
  size_t inited;                   /* pages [0, inited) have page-map entries (a span or
                                      segalloc__no_span); above it no block lies, and the
                                      entries read NULL or segalloc__no_span but for a free
                                      span's two ends. Only grows; atomic (see pagemap.c) */
  struct segalloc__arena *next;
  segalloc__span *pagemap[1];      /* SEGALLOC__ARENA_PAGES entries, then the small map */
} segalloc__arena;

/* The small map of arena a: SEGALLOC__ARENA_PAGES entries after its page map. */
#define SEGALLOC__SMALLMAP_OFFSET (offsetof(segalloc__arena, pagemap) + SEGALLOC__ARENA_PAGES * sizeof(segalloc__span *))
#define segalloc__arena_smallmap(a) ((segalloc__small_entry *)((char *)(a) + SEGALLOC__SMALLMAP_OFFSET))
/* the bytes of an arena's header: its fields, page map and small map */
#define SEGALLOC__ARENA_HEADER_BYTES (SEGALLOC__SMALLMAP_OFFSET + SEGALLOC__ARENA_PAGES * sizeof(segalloc__small_entry))

/* A spinlock that remembers its owner (a per-thread token), so fork handling can tell a
   lock this thread holds from one another thread holds. */
typedef struct segalloc__lock {
  uintptr_t owner;                 /* 0 when free; atomics only */
} segalloc__lock;

/* ---- forward declarations, grouped by the part that defines them -------------------- */

/* os.c */
static void *segalloc__os_map(size_t size, size_t align, int arena);
static void segalloc__os_unmap(void *p, size_t size);
static int segalloc__os_release(void *p, size_t size);
static void *segalloc__meta_alloc(size_t size);
static segalloc__span *segalloc__span_new(void);
static void segalloc__span_delete(segalloc__span *s);
static void segalloc__fatal(const char *what, const void *ptr);
/* pagemap.c */
static segalloc__arena *segalloc__arena_of(uintptr_t p);
/* pageheap.c */
static segalloc__span *segalloc__heap_alloc(size_t npages, size_t align_pages);
static void segalloc__heap_free(segalloc__span *s);
/* central.c */
static int segalloc__central_take(unsigned cls, void **out, int want, unsigned shard);
static int segalloc__central_take_for(unsigned cls, void **out, int want, unsigned shard, void **in_hand, uint32_t *in_hand_n);
static void segalloc__central_give(unsigned cls, void *head, void *tail, int count, unsigned to);
static void segalloc__central_give_for(unsigned cls, void *head, void *tail, int count, unsigned to, void **in_hand);
/* malloc.c */
static void *segalloc__malloc_slow(size_t size);
/* debug.c: the junk of free blocks (SEGALLOC_DEBUG only) */
#if SEGALLOC_DEBUG
static void segalloc__dbg_junk_fill(void *p, size_t n);
static void segalloc__dbg_span_retire(const segalloc__span *s);
#endif

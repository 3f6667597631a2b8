/* ---- begin src/api.h ---- */
/* segalloc.h - v0.1 - a thread-caching memory allocator in one header - MIT or public domain
                                                   (see the end of the file for the licence)

   Do this:
      #define SEGALLOC_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the implementation.

      // i.e. it should look like this:
      #include ...
      #include ...
      #define SEGALLOC_IMPLEMENTATION
      #include "segalloc.h"

   Every other file includes "segalloc.h" without the define and sees only the API.
   This file is generated from src/ by amalgamate.py: edit the parts there, not here.

   TABLE OF CONTENTS
      1. compile-time options
      2. documentation (every public function)
      3. notes (threads, fork, what memory goes back to the OS)
      4. the implementation, bottom-up: config, size classes, OS, page map, page heap and
         arenas, central lists, thread cache, public API, debugging and check_heap,
         statistics, override
      5. licence

   COMPILE-TIME OPTIONS
      Define these before the #include that also defines SEGALLOC_IMPLEMENTATION (they only
      matter where the implementation is compiled; SEGALLOC_STATIC must be the same
      everywhere the header is included).

      SEGALLOC_PAGE_SIZE      default 8192. The allocator's page: the unit the page heap hands
                              out. Any power of two from 4096 to 65536 (anything else stops the
                              build with #error). It may be smaller than the OS page (16 or
                              64 KiB on some arm64 kernels): then only whole OS pages inside
                              a free span go back to the OS, and a build with
                              SEGALLOC_PAGE_SIZE=65536 gives back more on such a system. The
                              size-class table for it is generated (tools/mksizeclasses.py).
      SEGALLOC_ARENA_SIZE     default 64 MiB. Address space is reserved from the OS in arenas
                              of this size, aligned to it. A power of two from 1 MiB up to
                              4 GiB. Requests of half an arena or more (a page less, or less still
                              with an alignment) get their own mapping.
      SEGALLOC_STATIC         make every public function static (private to the one file).
      SEGALLOC_OVERRIDE       also define the standard names: malloc, free, calloc, realloc,
                              aligned_alloc, posix_memalign, memalign, valloc, pvalloc,
                              malloc_usable_size, reallocarray, free_sized,
                              free_aligned_sized, malloc_trim, malloc_stats, mallinfo2 and mallinfo
                              (in glibc's meanings), the glibc __libc_*
                              entry points, and (in a C++ file) operator new/delete. This is
                              how build/libsegalloc.so replaces the system allocator.
      SEGALLOC_OVERRIDE_NEW   with SEGALLOC_OVERRIDE in a C file (ELF, 64-bit): define operator
                              new and delete too, by their C++ ABI names. A new that fails
                              goes on to the C++ runtime's own operator (dlsym; link with
                              -ldl before glibc 2.34), which calls the new_handler and
                              throws std::bad_alloc; so the file must be compiled with unwind
                              tables (-fexceptions). If the program defines any form of
                              operator new or delete itself, the forms it did not define,
                              but for plain and aligned new and delete, go to the runtime's
                              too, which call the program's as the standard says. The
                              preload build (examples/preload.c) sets it.
      SEGALLOC_CHECKS         default 1. Detect double free, free of a pointer segalloc does
                              not own and free of an address inside a block, print a message
                              naming segalloc, the error and the pointer, then abort().
                              0 turns the fast-path checks off, and the double-free test
                              of small blocks with them (the slow paths still stop foreign
                              and interior pointers and double frees of larger blocks).
      SEGALLOC_TLS_MODEL      the thread-local storage model of the thread-cache pointer, as a
                              string ("initial-exec", "local-dynamic", ...). Default: the
                              compiler's choice, which is safe everywhere, including a library
                              opened with dlopen. The preload build uses "initial-exec".
      SEGALLOC_TCACHE_BYTES   default 2 MiB. The most a thread's cache may hold.
      SEGALLOC_RETAIN_BYTES   default 2 MiB. The page heap's starting retain allowance: it
                              keeps that allowance (which adapts) plus twice the pages in
                              use as free resident pages, and gives the rest back to the OS.
      SEGALLOC_RELEASE_DELAY_MS default 1000. While the program's use of the page heap stays
                              above an eighth of its recent peak, free pages past the retain
                              limit go back to the OS only once they have been free this long
                              (checked when a large block or a whole span comes back to the
                              page heap); when use falls to an eighth of its peak they go at
                              once. 0: always at once.
      SEGALLOC_DEBUG          default 0. 1: fill new blocks with 0xAA and freed ones with 0xDD
                              (checked when a block is handed out again: a write after free
                              stops the program), put a canary past every block's requested
                              size (checked at free and realloc), store free-list links
                              encoded.
      SEGALLOC_VALGRIND       default 0. 1: tell Valgrind's memcheck about every block, so it
                              reports leaks, use after free and overflows (needs valgrind.h).
                              ASan builds (-fsanitize=address) poison free blocks by themselves.
      SEGALLOC_MADV_FREE      give pages back with MADV_FREE instead of MADV_DONTNEED (RSS falls
                              only when the kernel needs the memory; see the README).
      SEGALLOC_THP            default 1. Transparent huge pages for arenas and huge blocks: 0
                              never (MADV_NOHUGEPAGE), 1 as the system's setting decides, but
                              where it is "always" each arena's header is marked
                              MADV_NOHUGEPAGE, so the huge-page stretch holding it and the
                              first spans (2 MiB on x86-64) stays in small pages, 2 asked
                              for (MADV_HUGEPAGE, arenas past their header).
                              The environment variable SEGALLOC_THP (never, system, always or
                              0, 1, 2), read at the first allocation, overrides it.

   DOCUMENTATION
      Every function behaves as its standard namesake; what is said here is the extra.

      void  *segalloc_malloc(size_t size);
             A block of at least size bytes, 16-byte aligned when size >= 16. malloc(0)
             returns a unique block that may be freed. NULL and errno = ENOMEM on failure.
      void  *segalloc_calloc(size_t count, size_t size);
             Zeroed. count * size overflowing returns NULL with errno = ENOMEM.
      void  *segalloc_realloc(void *ptr, size_t size);
             Keeps the contents; stays in place when the block already fits and the new
             size is at least half of it (or of the same size class), and a large
             block grows in place when the pages after it are free. A block that grows
             and must move gets at least a quarter more room than it had (usable_size
             shows it), so growing a buffer a little at a time moves it rarely. realloc(NULL, n)
             is malloc(n); realloc(p, 0) returns a minimal block (p itself when it is already
             of the smallest class, else a fresh one, and p is freed; never NULL unless out
             of memory). On failure p is untouched.
      void  *segalloc_reallocarray(void *ptr, size_t count, size_t size);
             realloc with an overflow check on count * size (ENOMEM).
      void   segalloc_free(void *ptr);
      void   segalloc_free_sized(void *ptr, size_t size);
      void   segalloc_free_aligned_sized(void *ptr, size_t alignment, size_t size);
             C23's sized frees. size is the size that was requested; segalloc finds the block
             from its address anyway, so a wrong size is harmless.
      void  *segalloc_aligned_alloc(size_t alignment, size_t size);
             alignment must be a power of two (C17 DR 460), else NULL with errno = EINVAL. Any
             power of two up to 256 MiB and beyond works.
      int    segalloc_posix_memalign(void **out, size_t alignment, size_t size);
             EINVAL unless alignment is a power of two multiple of sizeof(void *); ENOMEM on
             failure; *out is only written on success.
      void  *segalloc_memalign(size_t alignment, size_t size);
             Like aligned_alloc, but (as glibc's memalign) an alignment that is not a power
             of two is rounded up to one.
      void  *segalloc_valloc(size_t size);           page-aligned (the OS page)
      void  *segalloc_pvalloc(size_t size);          page-aligned, size rounded up to pages
      size_t segalloc_usable_size(const void *ptr);
             Bytes usable in the block: at least what was asked. 0 for NULL.
      size_t segalloc_trim(void);
             Give back to the OS all it can now: this thread's cache, wholly free spans, and
             every free page. Returns the bytes released.
      void   segalloc_thread_flush(void);
             Return this thread's cache to the central lists (a thread about to idle).
      void   segalloc_stats(segalloc_stats_t *out);
             Fill *out (see the struct below); the fields add up:
             mapped = live + thread caches + central + page-heap free + released + metadata.
      void   segalloc_print_stats(int fd);
             A readable report on fd, written without allocating. SEGALLOC_SHOW_STATS=1 in the
             environment prints it to stderr at exit (the stderr of the first allocation,
             if it is still the same file and, for a pipe, still has a reader).
      int    segalloc_check_heap(void);
             Walk every structure (arenas, spans, central lists, this thread's cache) and
             report the first inconsistency on stderr; 0 when all is well.
      const char *segalloc_version(void);

   NOTES
      Threads. Each thread has its own cache (no lock on the fast path); a block may be freed
      on any thread. A thread's cache is returned when the thread exits.
      fork. The child of a multithreaded parent can allocate: segalloc takes its locks around
      fork in the order glibc's stdio expects, so fork never deadlocks against getline/fflush.
      Memory back to the OS. Free pages past the page heap's retain limit (see
      SEGALLOC_RETAIN_BYTES) go back to the OS from inside free, with no background thread:
      at once when the program's use has fallen far below its recent peak, otherwise once
      they have been idle for SEGALLOC_RELEASE_DELAY_MS. segalloc_trim() gives back all it can.
*/
#ifndef SEGALLOC_H_INCLUDED
#define SEGALLOC_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef SEGALLOC_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define SEGALLOCDEF static __attribute__((unused)) /* a program need not call them all */
#else
#define SEGALLOCDEF static
#endif
#else
#define SEGALLOCDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on the number of size classes for any supported page size (the real count,
   which depends on SEGALLOC_PAGE_SIZE, is in segalloc_stats_t.nclasses). */
#define SEGALLOC_MAX_CLASSES 80

typedef struct segalloc_class_stats {
  size_t size;            /* bytes per object of this class */
  size_t objects_in_use;  /* objects held by the program (not in any cache) */
  size_t objects_cached;  /* objects sitting in thread caches */
  size_t spans;           /* spans of this class held by the central list */
} segalloc_class_stats;

typedef struct segalloc_stats_t {
  /* Bytes, each in exactly one state; they add up to mapped. */
  size_t live;            /* in blocks the program holds (size-class or page rounded) */
  size_t thread_cached;   /* free objects in thread caches */
  size_t central;         /* free objects and unused tails in spans owned by central lists */
  size_t pageheap_free;   /* free pages in the page heap, still resident (may be reused) */
  size_t released;        /* pages given back to the OS (or never touched): not resident */
  size_t metadata;        /* the allocator's own structures: spans, caches, arena headers */
  size_t mapped;          /* address space mapped from the OS, all of the above */
  /* Counts since start. */
  uint64_t mallocs;       /* blocks handed out (malloc, calloc, realloc moves, ...) */
  uint64_t frees;         /* blocks freed */
  uint64_t releases;      /* madvise calls that gave pages back */
  size_t large_live;      /* of live: blocks above the small limit (page-heap spans) */
  size_t huge_live;       /* of live: blocks with their own mapping */
  size_t arenas;          /* arenas reserved */
  size_t threads;         /* threads with a cache now */
  size_t nclasses;        /* entries used in classes[] (class 0 is unused) */
  segalloc_class_stats classes[SEGALLOC_MAX_CLASSES];
} segalloc_stats_t;

SEGALLOCDEF void  *segalloc_malloc(size_t size);
SEGALLOCDEF void  *segalloc_calloc(size_t count, size_t size);
SEGALLOCDEF void  *segalloc_realloc(void *ptr, size_t size);
SEGALLOCDEF void  *segalloc_reallocarray(void *ptr, size_t count, size_t size);
SEGALLOCDEF void   segalloc_free(void *ptr);
SEGALLOCDEF void   segalloc_free_sized(void *ptr, size_t size);
SEGALLOCDEF void   segalloc_free_aligned_sized(void *ptr, size_t alignment, size_t size);
SEGALLOCDEF void  *segalloc_aligned_alloc(size_t alignment, size_t size);
SEGALLOCDEF int    segalloc_posix_memalign(void **out, size_t alignment, size_t size);
SEGALLOCDEF void  *segalloc_memalign(size_t alignment, size_t size);
SEGALLOCDEF void  *segalloc_valloc(size_t size);
SEGALLOCDEF void  *segalloc_pvalloc(size_t size);
SEGALLOCDEF size_t segalloc_usable_size(const void *ptr);
SEGALLOCDEF size_t segalloc_trim(void);
SEGALLOCDEF void   segalloc_thread_flush(void);
SEGALLOCDEF void   segalloc_stats(segalloc_stats_t *out);
SEGALLOCDEF void   segalloc_print_stats(int fd);
SEGALLOCDEF int    segalloc_check_heap(void);
SEGALLOCDEF const char *segalloc_version(void);

#ifdef __cplusplus
}
#endif
#endif /* SEGALLOC_H_INCLUDED */
/* ---- end src/api.h ---- */

#ifdef SEGALLOC_IMPLEMENTATION
#ifndef SEGALLOC_IMPLEMENTATION_INCLUDED
#define SEGALLOC_IMPLEMENTATION_INCLUDED
/* ---- begin src/internal.h ---- */
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
/* ---- end src/internal.h ---- */
/* ---- begin src/sizeclass_table.h ---- */
/* Code generated by tools/mksizeclasses.py; DO NOT EDIT.
 * Rebuild with:  python3 tools/mksizeclasses.py > src/sizeclass_table.h
 * One table per supported SEGALLOC_PAGE_SIZE; see the generator for the rules. */

#if SEGALLOC_PAGE_SIZE == 4096
/* class  bytes/obj  bytes/span  objects  waste (1st)  max waste
 *     1         16        4096      256            0     93.75%
 *     2         32        4096      128            0     46.88%
 *     3         48        4096       85           16     31.52%
 *     4         64        4096       64            0     23.44%
 *     5         80        4096       51           16     19.07%
 *     6         96        4096       42           64     16.94%
 *     7        112        4096       36           64     14.75%
 *     8        128        4096       32            0     11.72%
 *     9        144        4096       28           64     11.82%
 *    10        160        4096       25           96     11.50%
 *    11        176        4096       23           48      9.59%
 *    12        192        4096       21           64      9.25%
 *    13        208        4096       19          144     10.47%
 *    14        224        4096       18           64      8.15%
 *    15        240        4096       17           16      6.62%
 *    16        256        4096       16            0      5.86%
 *    17        288        4096       14           64     12.16%
 *    18        320        4096       12          256     15.33%
 *    19        352        4096       11          224     13.79%
 *    20        384        4096       10          256     13.82%
 *    21        448        4096        9           64     15.41%
 *    22        512        4096        8            0     12.30%
 *    23        576        4096        7           64     12.33%
 *    24        640        4096        6          256     15.48%
 *    25        704        8192       11          448     13.93%
 *    26        768        4096        5          256     13.94%
 *    27        832        8192        9          704     15.52%
 *    28       1024        4096        4            0     18.65%
 *    29       1152        8192        7          128     12.41%
 *    30       1280        4096        3          256     15.55%
 *    31       1408       12288        8         1024     16.60%
 *    32       1536        8192        5          512     14.00%
 *    33       1664       12288        7          640     12.44%
 *    34       2048        4096        2            0     18.70%
 *    35       2560        8192        3          512     24.96%
 *    36       3072       12288        4            0     16.63%
 *    37       4096        4096        1            0     24.98%
 *    38       5120       16384        3         1024     24.98%
 *    39       6144       12288        2            0     16.65%
 *    40       8192        8192        1            0     24.99%
 *    41      10240       20480        2            0     19.99%
 *    42      12288       12288        1            0     16.66%
 *    43      16384       16384        1            0     24.99%
 *    44      20480       20480        1            0     20.00%
 *    45      24576       24576        1            0     16.66%
 *    46      28672       28672        1            0     14.28%
 *    47      32768       32768        1            0     12.50%
 */
#define SEGALLOC__NCLASSES 48
static const uint32_t segalloc__class_size[SEGALLOC__NCLASSES] = {
  0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176,
  192, 208, 224, 240, 256, 288, 320, 352, 384, 448, 512, 576,
  640, 704, 768, 832, 1024, 1152, 1280, 1408, 1536, 1664, 2048, 2560,
  3072, 4096, 5120, 6144, 8192, 10240, 12288, 16384, 20480, 24576, 28672, 32768
};
static const uint8_t segalloc__class_pages[SEGALLOC__NCLASSES] = {
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1, 3,
  2, 3, 1, 2, 3, 1, 4, 3, 2, 5, 3, 4, 5, 6, 7, 8
};
static const uint8_t segalloc__class_batch[SEGALLOC__NCLASSES] = {
  0, 128, 128, 85, 64, 51, 42, 36, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 25, 21, 16, 12, 10, 8, 6, 5, 4, 3, 2, 2, 2
};
static const uint16_t segalloc__class_first[SEGALLOC__NCLASSES] = {
  0, 0, 0, 16, 0, 16, 64, 64, 0, 64, 96, 48, 64, 144, 64, 16,
  0, 64, 256, 224, 256, 64, 0, 64, 256, 448, 256, 704, 0, 128, 256, 1024,
  512, 640, 0, 512, 0, 0, 1024, 0, 0, 0, 0, 0, 0, 0, 0, 0
};
static const uint64_t segalloc__class_magic[SEGALLOC__NCLASSES] = {
  0, 0x1000000000000000ull, 0x0800000000000000ull, 0x0555555555555556ull,
  0x0400000000000000ull, 0x0333333333333334ull, 0x02aaaaaaaaaaaaabull, 0x024924924924924aull,
  0x0200000000000000ull, 0x01c71c71c71c71c8ull, 0x019999999999999aull, 0x01745d1745d1745eull,
  0x0155555555555556ull, 0x013b13b13b13b13cull, 0x0124924924924925ull, 0x0111111111111112ull,
  0x0100000000000000ull, 0x00e38e38e38e38e4ull, 0x00cccccccccccccdull, 0x00ba2e8ba2e8ba2full,
  0x00aaaaaaaaaaaaabull, 0x0092492492492493ull, 0x0080000000000000ull, 0x0071c71c71c71c72ull,
  0x0066666666666667ull, 0x005d1745d1745d18ull, 0x0055555555555556ull, 0x004ec4ec4ec4ec4full,
  0x0040000000000000ull, 0x0038e38e38e38e39ull, 0x0033333333333334ull, 0x002e8ba2e8ba2e8cull,
  0x002aaaaaaaaaaaabull, 0x0027627627627628ull, 0x0020000000000000ull, 0x001999999999999aull,
  0x0015555555555556ull, 0x0010000000000000ull, 0x000ccccccccccccdull, 0x000aaaaaaaaaaaabull,
  0x0008000000000000ull, 0x0006666666666667ull, 0x0005555555555556ull, 0x0004000000000000ull,
  0x0003333333333334ull, 0x0002aaaaaaaaaaabull, 0x0002492492492493ull, 0x0002000000000000ull
};
#define SEGALLOC__TLIST_BYTES 16
#define SEGALLOC__SLOT_UNIT 8
#define SEGALLOC__SLOT_FINE_MAX 1024
#define SEGALLOC__SLOT_COARSE_BASE 1016
static const uint8_t segalloc__slot_list[1273] = {
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
  6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
  8, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
  10, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
  12, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
  14, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
  16, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18,
  18, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
  20, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
  24, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
  26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
  30, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 58, 60, 62, 64, 66, 68, 68, 68, 70, 70, 70, 70, 72, 72, 72,
  72, 74, 74, 74, 74, 74, 74, 74, 74, 76, 76, 76, 76, 76, 76, 76,
  76, 78, 78, 78, 78, 78, 78, 78, 78, 80, 80, 80, 80, 80, 80, 80,
  80, 80, 80, 80, 80, 80, 80, 80, 80, 82, 82, 82, 82, 82, 82, 82,
  82, 82, 82, 82, 82, 82, 82, 82, 82, 84, 84, 84, 84, 84, 84, 84,
  84, 84, 84, 84, 84, 84, 84, 84, 84, 86, 86, 86, 86, 86, 86, 86,
  86, 86, 86, 86, 86, 86, 86, 86, 86, 86, 86, 86, 86, 86, 86, 86,
  86, 86, 86, 86, 86, 86, 86, 86, 86, 88, 88, 88, 88, 88, 88, 88,
  88, 88, 88, 88, 88, 88, 88, 88, 88, 88, 88, 88, 88, 88, 88, 88,
  88, 88, 88, 88, 88, 88, 88, 88, 88, 90, 90, 90, 90, 90, 90, 90,
  90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90,
  90, 90, 90, 90, 90, 90, 90, 90, 90, 92, 92, 92, 92, 92, 92, 92,
  92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92,
  92, 92, 92, 92, 92, 92, 92, 92, 92, 94, 94, 94, 94, 94, 94, 94,
  94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94,
  94, 94, 94, 94, 94, 94, 94, 94, 94
};

#elif SEGALLOC_PAGE_SIZE == 8192
/* class  bytes/obj  bytes/span  objects  waste (1st)  max waste
 *     1         16        8192      512            0     93.75%
 *     2         32        8192      256            0     46.88%
 *     3         48        8192      170           32     31.52%
 *     4         64        8192      128            0     23.44%
 *     5         80        8192      102           32     19.07%
 *     6         96        8192       85           32     15.95%
 *     7        112        8192       73           16     13.56%
 *     8        128        8192       64            0     11.72%
 *     9        144        8192       56          128     11.82%
 *    10        160        8192       51           32      9.73%
 *    11        176        8192       46           96      9.59%
 *    12        192        8192       42          128      9.25%
 *    13        208        8192       39           80      8.12%
 *    14        224        8192       36          128      8.15%
 *    15        240        8192       34           32      6.62%
 *    16        256        8192       32            0      5.86%
 *    17        288        8192       28          128     12.16%
 *    18        320        8192       25          192     11.80%
 *    19        352        8192       23           96      9.88%
 *    20        384        8192       21          128      9.51%
 *    21        416        8192       19          288     10.71%
 *    22        448        8192       18          128      8.37%
 *    23        480        8192       17           32      6.82%
 *    24        512        8192       16            0      6.05%
 *    25        576        8192       14          128     12.33%
 *    26        640        8192       12          512     15.48%
 *    27        704        8192       11          448     13.93%
 *    28        768        8192       10          512     13.94%
 *    29        896        8192        9          128     15.52%
 *    30       1024        8192        8            0     12.40%
 *    31       1152        8192        7          128     12.41%
 *    32       1280        8192        6          512     15.55%
 *    33       1408       16384       11          896     14.00%
 *    34       1536        8192        5          512     14.00%
 *    35       1664       16384        9         1408     15.57%
 *    36       2048        8192        4            0     18.70%
 *    37       2560        8192        3          512     24.96%
 *    38       3072       16384        5         1024     21.84%
 *    39       4096        8192        2            0     24.98%
 *    40       5120       16384        3         1024     24.98%
 *    41       6144       24576        4            0     16.65%
 *    42       8192        8192        1            0     24.99%
 *    43      10240       32768        3         2048     24.99%
 *    44      12288       24576        2            0     16.66%
 *    45      16384       16384        1            0     24.99%
 *    46      20480       40960        2            0     20.00%
 *    47      24576       24576        1            0     16.66%
 *    48      32768       32768        1            0     25.00%
 */
#define SEGALLOC__NCLASSES 49
static const uint32_t segalloc__class_size[SEGALLOC__NCLASSES] = {
  0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176,
  192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480,
  512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1664,
  2048, 2560, 3072, 4096, 5120, 6144, 8192, 10240, 12288, 16384, 20480, 24576,
  32768
};
static const uint8_t segalloc__class_pages[SEGALLOC__NCLASSES] = {
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 2, 1, 2, 1, 1, 2, 1, 2, 3, 1, 4, 3, 2, 5, 3,
  4
};
static const uint8_t segalloc__class_batch[SEGALLOC__NCLASSES] = {
  0, 128, 128, 85, 64, 51, 42, 36, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 25, 21, 16, 12, 10, 8, 6, 5, 4, 3, 2,
  2
};
static const uint16_t segalloc__class_first[SEGALLOC__NCLASSES] = {
  0, 0, 0, 32, 0, 32, 32, 16, 0, 128, 32, 96, 128, 80, 128, 32,
  0, 128, 192, 96, 128, 288, 128, 32, 0, 128, 512, 448, 512, 128, 0, 128,
  512, 896, 512, 1408, 0, 512, 1024, 0, 1024, 0, 0, 2048, 0, 0, 0, 0,
  0
};
static const uint64_t segalloc__class_magic[SEGALLOC__NCLASSES] = {
  0, 0x1000000000000000ull, 0x0800000000000000ull, 0x0555555555555556ull,
  0x0400000000000000ull, 0x0333333333333334ull, 0x02aaaaaaaaaaaaabull, 0x024924924924924aull,
  0x0200000000000000ull, 0x01c71c71c71c71c8ull, 0x019999999999999aull, 0x01745d1745d1745eull,
  0x0155555555555556ull, 0x013b13b13b13b13cull, 0x0124924924924925ull, 0x0111111111111112ull,
  0x0100000000000000ull, 0x00e38e38e38e38e4ull, 0x00cccccccccccccdull, 0x00ba2e8ba2e8ba2full,
  0x00aaaaaaaaaaaaabull, 0x009d89d89d89d89eull, 0x0092492492492493ull, 0x0088888888888889ull,
  0x0080000000000000ull, 0x0071c71c71c71c72ull, 0x0066666666666667ull, 0x005d1745d1745d18ull,
  0x0055555555555556ull, 0x004924924924924aull, 0x0040000000000000ull, 0x0038e38e38e38e39ull,
  0x0033333333333334ull, 0x002e8ba2e8ba2e8cull, 0x002aaaaaaaaaaaabull, 0x0027627627627628ull,
  0x0020000000000000ull, 0x001999999999999aull, 0x0015555555555556ull, 0x0010000000000000ull,
  0x000ccccccccccccdull, 0x000aaaaaaaaaaaabull, 0x0008000000000000ull, 0x0006666666666667ull,
  0x0005555555555556ull, 0x0004000000000000ull, 0x0003333333333334ull, 0x0002aaaaaaaaaaabull,
  0x0002000000000000ull
};
#define SEGALLOC__TLIST_BYTES 16
#define SEGALLOC__SLOT_UNIT 8
#define SEGALLOC__SLOT_FINE_MAX 1024
#define SEGALLOC__SLOT_COARSE_BASE 1016
static const uint8_t segalloc__slot_list[1273] = {
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
  6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
  8, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
  10, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
  12, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
  14, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
  16, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18,
  18, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
  20, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
  24, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
  26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
  30, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 62, 64, 66, 68, 70, 72, 72, 72, 74, 74, 74, 74, 76, 76, 76,
  76, 78, 78, 78, 78, 78, 78, 78, 78, 80, 80, 80, 80, 80, 80, 80,
  80, 82, 82, 82, 82, 82, 82, 82, 82, 84, 84, 84, 84, 84, 84, 84,
  84, 84, 84, 84, 84, 84, 84, 84, 84, 86, 86, 86, 86, 86, 86, 86,
  86, 86, 86, 86, 86, 86, 86, 86, 86, 88, 88, 88, 88, 88, 88, 88,
  88, 88, 88, 88, 88, 88, 88, 88, 88, 90, 90, 90, 90, 90, 90, 90,
  90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90,
  90, 90, 90, 90, 90, 90, 90, 90, 90, 92, 92, 92, 92, 92, 92, 92,
  92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92,
  92, 92, 92, 92, 92, 92, 92, 92, 92, 94, 94, 94, 94, 94, 94, 94,
  94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94,
  94, 94, 94, 94, 94, 94, 94, 94, 94, 96, 96, 96, 96, 96, 96, 96,
  96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96,
  96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96,
  96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96,
  96, 96, 96, 96, 96, 96, 96, 96, 96
};

#elif SEGALLOC_PAGE_SIZE == 16384
/* class  bytes/obj  bytes/span  objects  waste (1st)  max waste
 *     1         16       16384     1024            0     93.75%
 *     2         32       16384      512            0     46.88%
 *     3         48       16384      341           16     31.32%
 *     4         64       16384      256            0     23.44%
 *     5         80       16384      204           64     19.07%
 *     6         96       16384      170           64     15.95%
 *     7        112       16384      146           32     13.56%
 *     8        128       16384      128            0     11.72%
 *     9        144       16384      113          112     11.03%
 *    10        160       16384      102           64      9.73%
 *    11        176       16384       93           16      8.61%
 *    12        192       16384       85           64      8.17%
 *    13        208       16384       78          160      8.12%
 *    14        224       16384       73           32      6.88%
 *    15        240       16384       68           64      6.62%
 *    16        256       16384       64            0      5.86%
 *    17        288       16384       56          256     12.16%
 *    18        320       16384       51           64     10.04%
 *    19        352       16384       46          192      9.88%
 *    20        384       16384       42          256      9.51%
 *    21        416       16384       39          160      8.36%
 *    22        448       16384       36          256      8.37%
 *    23        480       16384       34           64      6.82%
 *    24        512       16384       32            0      6.05%
 *    25        576       16384       28          256     12.33%
 *    26        640       16384       25          384     11.96%
 *    27        704       16384       23          192     10.02%
 *    28        768       16384       21          256      9.64%
 *    29        832       16384       19          576     10.82%
 *    30        896       16384       18          256      8.48%
 *    31        960       16384       17           64      6.93%
 *    32       1024       16384       16            0      6.15%
 *    33       1152       16384       14          256     12.41%
 *    34       1280       16384       12         1024     15.55%
 *    35       1408       16384       11          896     14.00%
 *    36       1536       16384       10         1024     14.00%
 *    37       1792       16384        9          256     15.57%
 *    38       2048       16384        8            0     12.45%
 *    39       2560       16384        6         1024     24.96%
 *    40       3072       16384        5         1024     21.84%
 *    41       4096       16384        4            0     24.98%
 *    42       5120       16384        3         1024     24.98%
 *    43       6144       32768        5         2048     21.86%
 *    44       8192       16384        2            0     24.99%
 *    45      10240       32768        3         2048     24.99%
 *    46      12288       49152        4            0     16.66%
 *    47      16384       16384        1            0     24.99%
 *    48      20480       65536        3         4096     25.00%
 *    49      24576       49152        2            0     16.66%
 *    50      32768       32768        1            0     25.00%
 */
#define SEGALLOC__NCLASSES 51
static const uint32_t segalloc__class_size[SEGALLOC__NCLASSES] = {
  0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176,
  192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480,
  512, 576, 640, 704, 768, 832, 896, 960, 1024, 1152, 1280, 1408,
  1536, 1792, 2048, 2560, 3072, 4096, 5120, 6144, 8192, 10240, 12288, 16384,
  20480, 24576, 32768
};
static const uint8_t segalloc__class_pages[SEGALLOC__NCLASSES] = {
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 3, 1,
  4, 3, 2
};
static const uint8_t segalloc__class_batch[SEGALLOC__NCLASSES] = {
  0, 128, 128, 85, 64, 51, 42, 36, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 25, 21, 16, 12, 10, 8, 6, 5, 4,
  3, 2, 2
};
static const uint16_t segalloc__class_first[SEGALLOC__NCLASSES] = {
  0, 0, 0, 16, 0, 64, 64, 32, 0, 112, 64, 16, 64, 160, 32, 64,
  0, 256, 64, 192, 256, 160, 256, 64, 0, 256, 384, 192, 256, 576, 256, 64,
  0, 256, 1024, 896, 1024, 256, 0, 1024, 1024, 0, 1024, 2048, 0, 2048, 0, 0,
  4096, 0, 0
};
static const uint64_t segalloc__class_magic[SEGALLOC__NCLASSES] = {
  0, 0x1000000000000000ull, 0x0800000000000000ull, 0x0555555555555556ull,
  0x0400000000000000ull, 0x0333333333333334ull, 0x02aaaaaaaaaaaaabull, 0x024924924924924aull,
  0x0200000000000000ull, 0x01c71c71c71c71c8ull, 0x019999999999999aull, 0x01745d1745d1745eull,
  0x0155555555555556ull, 0x013b13b13b13b13cull, 0x0124924924924925ull, 0x0111111111111112ull,
  0x0100000000000000ull, 0x00e38e38e38e38e4ull, 0x00cccccccccccccdull, 0x00ba2e8ba2e8ba2full,
  0x00aaaaaaaaaaaaabull, 0x009d89d89d89d89eull, 0x0092492492492493ull, 0x0088888888888889ull,
  0x0080000000000000ull, 0x0071c71c71c71c72ull, 0x0066666666666667ull, 0x005d1745d1745d18ull,
  0x0055555555555556ull, 0x004ec4ec4ec4ec4full, 0x004924924924924aull, 0x0044444444444445ull,
  0x0040000000000000ull, 0x0038e38e38e38e39ull, 0x0033333333333334ull, 0x002e8ba2e8ba2e8cull,
  0x002aaaaaaaaaaaabull, 0x0024924924924925ull, 0x0020000000000000ull, 0x001999999999999aull,
  0x0015555555555556ull, 0x0010000000000000ull, 0x000ccccccccccccdull, 0x000aaaaaaaaaaaabull,
  0x0008000000000000ull, 0x0006666666666667ull, 0x0005555555555556ull, 0x0004000000000000ull,
  0x0003333333333334ull, 0x0002aaaaaaaaaaabull, 0x0002000000000000ull
};
#define SEGALLOC__TLIST_BYTES 16
#define SEGALLOC__SLOT_UNIT 8
#define SEGALLOC__SLOT_FINE_MAX 1024
#define SEGALLOC__SLOT_COARSE_BASE 1016
static const uint8_t segalloc__slot_list[1273] = {
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
  6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
  8, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
  10, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
  12, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
  14, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
  16, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18,
  18, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
  20, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
  24, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
  26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
  30, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 66, 68, 70, 72, 74, 74, 76, 76, 78, 78, 78, 78, 80, 80, 80,
  80, 82, 82, 82, 82, 82, 82, 82, 82, 84, 84, 84, 84, 84, 84, 84,
  84, 86, 86, 86, 86, 86, 86, 86, 86, 88, 88, 88, 88, 88, 88, 88,
  88, 88, 88, 88, 88, 88, 88, 88, 88, 90, 90, 90, 90, 90, 90, 90,
  90, 90, 90, 90, 90, 90, 90, 90, 90, 92, 92, 92, 92, 92, 92, 92,
  92, 92, 92, 92, 92, 92, 92, 92, 92, 94, 94, 94, 94, 94, 94, 94,
  94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94, 94,
  94, 94, 94, 94, 94, 94, 94, 94, 94, 96, 96, 96, 96, 96, 96, 96,
  96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96, 96,
  96, 96, 96, 96, 96, 96, 96, 96, 96, 98, 98, 98, 98, 98, 98, 98,
  98, 98, 98, 98, 98, 98, 98, 98, 98, 98, 98, 98, 98, 98, 98, 98,
  98, 98, 98, 98, 98, 98, 98, 98, 98, 100, 100, 100, 100, 100, 100, 100,
  100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
  100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
  100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
  100, 100, 100, 100, 100, 100, 100, 100, 100
};

#elif SEGALLOC_PAGE_SIZE == 32768
/* class  bytes/obj  bytes/span  objects  waste (1st)  max waste
 *     1         16       32768     2048            0     93.75%
 *     2         32       32768     1024            0     46.88%
 *     3         48       32768      682           32     31.32%
 *     4         64       32768      512            0     23.44%
 *     5         80       32768      409           48     18.87%
 *     6         96       32768      341           32     15.71%
 *     7        112       32768      292           64     13.56%
 *     8        128       32768      256            0     11.72%
 *     9        144       32768      227           80     10.64%
 *    10        160       32768      204          128      9.73%
 *    11        176       32768      186           32      8.61%
 *    12        192       32768      170          128      8.17%
 *    13        208       32768      157          112      7.53%
 *    14        224       32768      146           64      6.88%
 *    15        240       32768      136          128      6.62%
 *    16        256       32768      128            0      5.86%
 *    17        288       32768      113          224     11.37%
 *    18        320       32768      102          128     10.04%
 *    19        352       32768       93           32      8.90%
 *    20        384       32768       85          128      8.43%
 *    21        416       32768       78          320      8.36%
 *    22        448       32768       73           64      7.10%
 *    23        480       32768       68          128      6.82%
 *    24        512       32768       64            0      6.05%
 *    25        576       32768       56          512     12.33%
 *    26        640       32768       51          128     10.20%
 *    27        704       32768       46          384     10.02%
 *    28        768       32768       42          512      9.64%
 *    29        832       32768       39          320      8.47%
 *    30        896       32768       36          512      8.48%
 *    31        960       32768       34          128      6.93%
 *    32       1024       32768       32            0      6.15%
 *    33       1152       32768       28          512     12.41%
 *    34       1280       32768       25          768     12.03%
 *    35       1408       32768       23          384     10.09%
 *    36       1536       32768       21          512      9.70%
 *    37       1664       32768       19         1152     10.88%
 *    38       1792       32768       18          512      8.54%
 *    39       1920       32768       17          128      6.98%
 *    40       2048       32768       16            0      6.20%
 *    41       2560       32768       12         2048     24.96%
 *    42       3072       32768       10         2048     21.84%
 *    43       3584       32768        9          512     15.60%
 *    44       4096       32768        8            0     12.48%
 *    45       5120       32768        6         2048     24.98%
 *    46       6144       32768        5         2048     21.86%
 *    47       8192       32768        4            0     24.99%
 *    48      10240       32768        3         2048     24.99%
 *    49      12288       65536        5         4096     21.87%
 *    50      16384       32768        2            0     24.99%
 *    51      20480       65536        3         4096     25.00%
 *    52      24576       98304        4            0     16.66%
 *    53      32768       32768        1            0     25.00%
 */
#define SEGALLOC__NCLASSES 54
static const uint32_t segalloc__class_size[SEGALLOC__NCLASSES] = {
  0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176,
  192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480,
  512, 576, 640, 704, 768, 832, 896, 960, 1024, 1152, 1280, 1408,
  1536, 1664, 1792, 1920, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 8192,
  10240, 12288, 16384, 20480, 24576, 32768
};
static const uint8_t segalloc__class_pages[SEGALLOC__NCLASSES] = {
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 2, 1, 2, 3, 1
};
static const uint8_t segalloc__class_batch[SEGALLOC__NCLASSES] = {
  0, 128, 128, 85, 64, 51, 42, 36, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 25, 21, 18, 16, 12, 10, 8,
  6, 5, 4, 3, 2, 2
};
static const uint16_t segalloc__class_first[SEGALLOC__NCLASSES] = {
  0, 0, 0, 32, 0, 48, 32, 64, 0, 80, 128, 32, 128, 112, 64, 128,
  0, 224, 128, 32, 128, 320, 64, 128, 0, 512, 128, 384, 512, 320, 512, 128,
  0, 512, 768, 384, 512, 1152, 512, 128, 0, 2048, 2048, 512, 0, 2048, 2048, 0,
  2048, 4096, 0, 4096, 0, 0
};
static const uint64_t segalloc__class_magic[SEGALLOC__NCLASSES] = {
  0, 0x1000000000000000ull, 0x0800000000000000ull, 0x0555555555555556ull,
  0x0400000000000000ull, 0x0333333333333334ull, 0x02aaaaaaaaaaaaabull, 0x024924924924924aull,
  0x0200000000000000ull, 0x01c71c71c71c71c8ull, 0x019999999999999aull, 0x01745d1745d1745eull,
  0x0155555555555556ull, 0x013b13b13b13b13cull, 0x0124924924924925ull, 0x0111111111111112ull,
  0x0100000000000000ull, 0x00e38e38e38e38e4ull, 0x00cccccccccccccdull, 0x00ba2e8ba2e8ba2full,
  0x00aaaaaaaaaaaaabull, 0x009d89d89d89d89eull, 0x0092492492492493ull, 0x0088888888888889ull,
  0x0080000000000000ull, 0x0071c71c71c71c72ull, 0x0066666666666667ull, 0x005d1745d1745d18ull,
  0x0055555555555556ull, 0x004ec4ec4ec4ec4full, 0x004924924924924aull, 0x0044444444444445ull,
  0x0040000000000000ull, 0x0038e38e38e38e39ull, 0x0033333333333334ull, 0x002e8ba2e8ba2e8cull,
  0x002aaaaaaaaaaaabull, 0x0027627627627628ull, 0x0024924924924925ull, 0x0022222222222223ull,
  0x0020000000000000ull, 0x001999999999999aull, 0x0015555555555556ull, 0x0012492492492493ull,
  0x0010000000000000ull, 0x000ccccccccccccdull, 0x000aaaaaaaaaaaabull, 0x0008000000000000ull,
  0x0006666666666667ull, 0x0005555555555556ull, 0x0004000000000000ull, 0x0003333333333334ull,
  0x0002aaaaaaaaaaabull, 0x0002000000000000ull
};
#define SEGALLOC__TLIST_BYTES 16
#define SEGALLOC__SLOT_UNIT 8
#define SEGALLOC__SLOT_FINE_MAX 1024
#define SEGALLOC__SLOT_COARSE_BASE 1016
static const uint8_t segalloc__slot_list[1273] = {
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
  6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
  8, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
  10, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
  12, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
  14, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
  16, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18,
  18, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
  20, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
  24, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
  26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
  30, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 66, 68, 70, 72, 74, 76, 78, 80, 82, 82, 82, 82, 84, 84, 84,
  84, 86, 86, 86, 86, 88, 88, 88, 88, 90, 90, 90, 90, 90, 90, 90,
  90, 92, 92, 92, 92, 92, 92, 92, 92, 94, 94, 94, 94, 94, 94, 94,
  94, 94, 94, 94, 94, 94, 94, 94, 94, 96, 96, 96, 96, 96, 96, 96,
  96, 96, 96, 96, 96, 96, 96, 96, 96, 98, 98, 98, 98, 98, 98, 98,
  98, 98, 98, 98, 98, 98, 98, 98, 98, 100, 100, 100, 100, 100, 100, 100,
  100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
  100, 100, 100, 100, 100, 100, 100, 100, 100, 102, 102, 102, 102, 102, 102, 102,
  102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102,
  102, 102, 102, 102, 102, 102, 102, 102, 102, 104, 104, 104, 104, 104, 104, 104,
  104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104,
  104, 104, 104, 104, 104, 104, 104, 104, 104, 106, 106, 106, 106, 106, 106, 106,
  106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106,
  106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106,
  106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106,
  106, 106, 106, 106, 106, 106, 106, 106, 106
};

#elif SEGALLOC_PAGE_SIZE == 65536
/* class  bytes/obj  bytes/span  objects  waste (1st)  max waste
 *     1         16       65536     4096            0     93.75%
 *     2         32       65536     2048            0     46.88%
 *     3         48       65536     1365           16     31.27%
 *     4         64       65536     1024            0     23.44%
 *     5         80       65536      819           16     18.77%
 *     6         96       65536      682           64     15.71%
 *     7        112       65536      585           16     13.41%
 *     8        128       65536      512            0     11.72%
 *     9        144       65536      455           16     10.44%
 *    10        160       65536      409           96      9.51%
 *    11        176       65536      372           64      8.61%
 *    12        192       65536      341           64      7.90%
 *    13        208       65536      315           16      7.23%
 *    14        224       65536      292          128      6.88%
 *    15        240       65536      273           16      6.27%
 *    16        256       65536      256            0      5.86%
 *    17        288       65536      227          160     10.98%
 *    18        320       65536      204          256     10.04%
 *    19        352       65536      186           64      8.90%
 *    20        384       65536      170          256      8.43%
 *    21        416       65536      157          224      7.77%
 *    22        448       65536      146          128      7.10%
 *    23        480       65536      136          256      6.82%
 *    24        512       65536      128            0      6.05%
 *    25        576       65536      113          448     11.55%
 *    26        640       65536      102          256     10.20%
 *    27        704       65536       93           64      9.04%
 *    28        768       65536       85          256      8.56%
 *    29        832       65536       78          640      8.47%
 *    30        896       65536       73          128      7.21%
 *    31        960       65536       68          256      6.93%
 *    32       1024       65536       64            0      6.15%
 *    33       1152       65536       56         1024     12.41%
 *    34       1280       65536       51          256     10.27%
 *    35       1408       65536       46          768     10.09%
 *    36       1536       65536       42         1024      9.70%
 *    37       1664       65536       39          640      8.53%
 *    38       1792       65536       36         1024      8.54%
 *    39       1920       65536       34          256      6.98%
 *    40       2048       65536       32            0      6.20%
 *    41       2560       65536       25         1536     21.84%
 *    42       3072       65536       21         1024     17.94%
 *    43       3584       65536       18         1024     15.60%
 *    44       4096       65536       16            0     12.48%
 *    45       5120       65536       12         4096     24.98%
 *    46       6144       65536       10         4096     21.86%
 *    47       7168       65536        9         1024     15.61%
 *    48       8192       65536        8            0     12.49%
 *    49      10240       65536        6         4096     24.99%
 *    50      12288       65536        5         4096     21.87%
 *    51      16384       65536        4            0     24.99%
 *    52      20480       65536        3         4096     25.00%
 *    53      24576      131072        5         8192     21.87%
 *    54      32768       65536        2            0     25.00%
 */
#define SEGALLOC__NCLASSES 55
static const uint32_t segalloc__class_size[SEGALLOC__NCLASSES] = {
  0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176,
  192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480,
  512, 576, 640, 704, 768, 832, 896, 960, 1024, 1152, 1280, 1408,
  1536, 1664, 1792, 1920, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168,
  8192, 10240, 12288, 16384, 20480, 24576, 32768
};
static const uint8_t segalloc__class_pages[SEGALLOC__NCLASSES] = {
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 2, 1
};
static const uint8_t segalloc__class_batch[SEGALLOC__NCLASSES] = {
  0, 128, 128, 85, 64, 51, 42, 36, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 25, 21, 18, 16, 12, 10, 9,
  8, 6, 5, 4, 3, 2, 2
};
static const uint16_t segalloc__class_first[SEGALLOC__NCLASSES] = {
  0, 0, 0, 16, 0, 16, 64, 16, 0, 16, 96, 64, 64, 16, 128, 16,
  0, 160, 256, 64, 256, 224, 128, 256, 0, 448, 256, 64, 256, 640, 128, 256,
  0, 1024, 256, 768, 1024, 640, 1024, 256, 0, 1536, 1024, 1024, 0, 4096, 4096, 1024,
  0, 4096, 4096, 0, 4096, 8192, 0
};
static const uint64_t segalloc__class_magic[SEGALLOC__NCLASSES] = {
  0, 0x1000000000000000ull, 0x0800000000000000ull, 0x0555555555555556ull,
  0x0400000000000000ull, 0x0333333333333334ull, 0x02aaaaaaaaaaaaabull, 0x024924924924924aull,
  0x0200000000000000ull, 0x01c71c71c71c71c8ull, 0x019999999999999aull, 0x01745d1745d1745eull,
  0x0155555555555556ull, 0x013b13b13b13b13cull, 0x0124924924924925ull, 0x0111111111111112ull,
  0x0100000000000000ull, 0x00e38e38e38e38e4ull, 0x00cccccccccccccdull, 0x00ba2e8ba2e8ba2full,
  0x00aaaaaaaaaaaaabull, 0x009d89d89d89d89eull, 0x0092492492492493ull, 0x0088888888888889ull,
  0x0080000000000000ull, 0x0071c71c71c71c72ull, 0x0066666666666667ull, 0x005d1745d1745d18ull,
  0x0055555555555556ull, 0x004ec4ec4ec4ec4full, 0x004924924924924aull, 0x0044444444444445ull,
  0x0040000000000000ull, 0x0038e38e38e38e39ull, 0x0033333333333334ull, 0x002e8ba2e8ba2e8cull,
  0x002aaaaaaaaaaaabull, 0x0027627627627628ull, 0x0024924924924925ull, 0x0022222222222223ull,
  0x0020000000000000ull, 0x001999999999999aull, 0x0015555555555556ull, 0x0012492492492493ull,
  0x0010000000000000ull, 0x000ccccccccccccdull, 0x000aaaaaaaaaaaabull, 0x000924924924924aull,
  0x0008000000000000ull, 0x0006666666666667ull, 0x0005555555555556ull, 0x0004000000000000ull,
  0x0003333333333334ull, 0x0002aaaaaaaaaaabull, 0x0002000000000000ull
};
#define SEGALLOC__TLIST_BYTES 16
#define SEGALLOC__SLOT_UNIT 8
#define SEGALLOC__SLOT_FINE_MAX 1024
#define SEGALLOC__SLOT_COARSE_BASE 1016
static const uint8_t segalloc__slot_list[1273] = {
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
  6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
  8, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
  10, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
  12, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
  14, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
  16, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18,
  18, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
  20, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
  24, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
  26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
  30, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  32, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
  34, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
  36, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38, 38,
  38, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
  40, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
  42, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
  44, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
  46, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  48, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
  50, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52,
  52, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54, 54,
  54, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56,
  56, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58,
  58, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60,
  60, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
  62, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
  64, 66, 68, 70, 72, 74, 76, 78, 80, 82, 82, 82, 82, 84, 84, 84,
  84, 86, 86, 86, 86, 88, 88, 88, 88, 90, 90, 90, 90, 90, 90, 90,
  90, 92, 92, 92, 92, 92, 92, 92, 92, 94, 94, 94, 94, 94, 94, 94,
  94, 96, 96, 96, 96, 96, 96, 96, 96, 98, 98, 98, 98, 98, 98, 98,
  98, 98, 98, 98, 98, 98, 98, 98, 98, 100, 100, 100, 100, 100, 100, 100,
  100, 100, 100, 100, 100, 100, 100, 100, 100, 102, 102, 102, 102, 102, 102, 102,
  102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102,
  102, 102, 102, 102, 102, 102, 102, 102, 102, 104, 104, 104, 104, 104, 104, 104,
  104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104, 104,
  104, 104, 104, 104, 104, 104, 104, 104, 104, 106, 106, 106, 106, 106, 106, 106,
  106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106, 106,
  106, 106, 106, 106, 106, 106, 106, 106, 106, 108, 108, 108, 108, 108, 108, 108,
  108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108,
  108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108,
  108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108,
  108, 108, 108, 108, 108, 108, 108, 108, 108
};
#endif
/* ---- end src/sizeclass_table.h ---- */
/* ---- begin src/sizeclass.c ---- */
/* ---- size classes ----------------------------------------------------------------------
   Owns the mapping from a request size to a size class and the per-class constants. The
   tables come from sizeclass_table.h, generated by tools/mksizeclasses.py for every
   supported page size; this part only reads them. No state, no locks.

   size -> class is one branch and one table load: sizes up to 1024 index the table
   directly, larger ones in 128-byte steps after them (the generator proves each step maps
   to a single class). A slot is one byte: the class's list offset in a thread cache,
   class * sizeof(segalloc__tlist), over SEGALLOC__SLOT_UNIT (8), so malloc finds the list
   at the cache's address plus the slot times 8 (an x86 address mode, no instruction).
   Indexed in 16-byte steps, (size + 15) >> 4, the table was 313 two-byte slots (626 bytes)
   where it is now 1,273 one-byte slots; the direct index saves malloc the add and the
   shift (16 -> 14 instructions, callgrind), and a program touches only the lines of the
   sizes it asks for. A program asking for many sizes at random pays in cache misses:
   first-level misses on batch_fifo at scale 0.3 (sizes 16 B to 32 KiB) went 1.353M ->
   1.430M (cachegrind; with 2-byte slots, 1.536M). */

#if SEGALLOC__NCLASSES > SEGALLOC_MAX_CLASSES
#error "segalloc: the size-class table outgrew SEGALLOC_MAX_CLASSES"
#endif
typedef char segalloc__tlist_bytes_match[sizeof(segalloc__tlist) == SEGALLOC__TLIST_BYTES ? 1 : -1];

/* The table slot of a size up to SEGALLOC__SLOT_FINE_MAX (1024: the size itself), and of a
   larger small size (128-byte steps, after the fine slots). */
#define SEGALLOC__SLOT_FINE(size) (size)
#define SEGALLOC__SLOT_COARSE(size) ((((size) + 127) >> 7) + SEGALLOC__SLOT_COARSE_BASE)

static segalloc__inline unsigned segalloc__size_class(size_t size) {
  size_t slot = size <= SEGALLOC__SLOT_FINE_MAX ? SEGALLOC__SLOT_FINE(size) : SEGALLOC__SLOT_COARSE(size);
  return segalloc__slot_list[slot] * SEGALLOC__SLOT_UNIT / SEGALLOC__TLIST_BYTES;
}

static segalloc__inline size_t segalloc__class_bytes(unsigned cls) {
  return segalloc__class_size[cls];
}

/* Where the objects of a class's span begin, as an offset from its start: they are packed
   against the span's end, and the bytes left over come first. No object boundary falls
   in them, so free's boundary test rejects an address there by itself; packed from the
   start, the address just past the last object would pass it, and a block handed out
   there would run into the next span. */
static segalloc__inline uintptr_t segalloc__class_origin(unsigned cls) {
  return segalloc__class_first[cls];
}

/* Bytes of the span a class is carved from. */
static size_t segalloc__class_span_bytes(unsigned cls) {
  return (size_t)segalloc__class_pages[cls] * SEGALLOC_PAGE_SIZE;
}

/* The smallest class whose objects are all aligned to `align` and hold `size` bytes, or 0
   if none (then the request goes to the page heap). Objects sit at multiples of their size
   back from a page-aligned span end, so a class is aligned to the largest power of two
   that divides its size (up to the page size). */
static unsigned segalloc__size_class_aligned(size_t size, size_t align) {
  if (size > SEGALLOC__SMALL_MAX || align > SEGALLOC_PAGE_SIZE) return 0;
  unsigned cls = segalloc__size_class(size ? size : 1);
  for (; cls < SEGALLOC__NCLASSES; cls++)
    if ((segalloc__class_size[cls] & (align - 1)) == 0) return cls;
  return 0;
}
/* ---- end src/sizeclass.c ---- */
/* ---- begin src/os.c ---- */
/* ---- the OS layer: system calls, locks, errors and metadata ----------------------------
   See the design comment at the top of the implementation for an overview.

   Owns the memory system calls segalloc makes: mmap to map arenas, huge blocks and
   metadata chunks; munmap; madvise to give pages back and to advise on transparent huge
   pages (whose system setting it reads from sysfs once). Above it, the page heap decides *what* to map
   and release; this part only does it and counts it. Memory moves through the states the
   Go runtime names: reserved (an arena's address space, mapped PROT_READ|PROT_WRITE but
   never touched, so it costs no RSS), ready (in use), released (madvised; the mapping stays
   and the pages come back zero when touched again).

   Also here, because every layer uses them: the lock, the fatal-error path (which writes
   with write(2) and never allocates), and the metadata allocator that holds span records,
   thread caches, radix nodes, transfer caches and huge-block records. Metadata lives in its own mappings, never next to user blocks.
   The metadata lock guards the metadata allocator; it is a leaf lock. */

/* ---- locks ---- */

/* The lock word holds the owner's token: the address of a thread-local byte, unique per
   live thread and free to compute. */
static segalloc__thread_local char segalloc__self_byte segalloc__tls_attr;

static segalloc__inline uintptr_t segalloc__self(void) { return (uintptr_t)&segalloc__self_byte; }

static segalloc__cold void segalloc__fatal(const char *what, const void *ptr);

static segalloc__noinline void segalloc__lock_spin(segalloc__lock *l, uintptr_t self) {
  /* This thread holds it already: a signal handler (or a fork's child made from one) called
     into segalloc while the interrupted code was inside it. Waiting would never end; say so
     instead, as glibc does. */
  if (segalloc__load_relaxed(&l->owner) == self)
    segalloc__fatal("called from a signal handler that interrupted segalloc (malloc is not async-signal-safe)", l);
  for (unsigned spins = 0;; spins++) {
    uintptr_t expect = 0;
    if (segalloc__load_relaxed(&l->owner) == 0 &&
        __atomic_compare_exchange_n(&l->owner, &expect, self, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return;
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield(); /* on 2 cores a spinning waiter can starve the holder: let it run */
    }
  }
}

static segalloc__inline void segalloc__lock_acquire(segalloc__lock *l) {
  uintptr_t expect = 0, self = segalloc__self();
  if (segalloc__likely(__atomic_compare_exchange_n(&l->owner, &expect, self, 0, __ATOMIC_ACQUIRE,
                                                   __ATOMIC_RELAXED)))
    return;
  segalloc__lock_spin(l, self);
}

static segalloc__inline void segalloc__lock_release(segalloc__lock *l) {
  segalloc__store(&l->owner, (uintptr_t)0);
}

static segalloc__inline int segalloc__lock_held_by_me(segalloc__lock *l) {
  return segalloc__load_relaxed(&l->owner) == segalloc__self();
}

/* ---- errors: written with write(2), never through stdio (which allocates) ---- */

static void segalloc__write(int fd, const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

/* Decimal or hex into buf (at least 24 bytes); returns buf. */
static char *segalloc__fmt_u(char *buf, uint64_t v, int hex) {
  char tmp[24];
  int n = 0;
  do {
    unsigned d = (unsigned)(hex ? v & 15 : v % 10);
    tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v = hex ? v >> 4 : v / 10;
  } while (v);
  int i = 0;
  if (hex) { buf[i++] = '0'; buf[i++] = 'x'; }
  while (n) buf[i++] = tmp[--n];
  buf[i] = 0;
  return buf;
}

/* A heap error in the program: say what and where, then abort (the stack is the program's
   best clue, so no attempt to carry on). */
static segalloc__cold void segalloc__fatal(const char *what, const void *ptr) {
  char buf[32];
  segalloc__write(2, "segalloc: error: ");
  segalloc__write(2, what);
  segalloc__write(2, ": pointer ");
  segalloc__write(2, segalloc__fmt_u(buf, (uint64_t)(uintptr_t)ptr, 1));
  segalloc__write(2, "\n");
  abort();
}

/* ---- system calls ---- */

/* The OS's page size, read once at the first allocation (segalloc__global_init). It may
   be larger than a segalloc page (SEGALLOC_PAGE_SIZE, 8 KiB by default): arm64 kernels
   are built with 16 KiB pages (Apple silicon) or 64 KiB ones (several server
   distributions). Mappings come in whole OS pages either way; what it changes is what can
   be given back: the page heap releases only the whole OS pages inside a free span
   (pageheap.c), since madvise works on OS pages, and one that straddled a live
   neighbour's pages would zero them. */
static size_t segalloc__os_page = 4096;

static struct {
  uint64_t mapped;      /* bytes mapped for arenas and huge blocks (metadata counted apart) */
  uint64_t releases;    /* madvise calls */
} segalloc__os_stats;

/* Map size bytes aligned to align (a power of two). NULL when the OS says no. The kernel
   often places a mapping right below the previous one, so for an arena (`arena` set)
   first try exactly size bytes at the aligned address below the last arena, and only then
   over-map by align and trim both ends: under a tight `ulimit -v` the over-mapped attempt
   may fail where an exact one fits. Huge blocks do not take that hint: they come and go,
   and each would be placed below the last, so a program that keeps allocating and freeing
   them would walk down the address space rather than reuse the hole the last one left.
   That costs nothing but address space, except under ASan, whose shadow of every range
   touched stays resident: the fuzzer grew by 1.4 MiB an input, to its 2.5 GiB limit. */
static void *segalloc__os_map_at(void *hint, size_t size) {
  void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void *segalloc__os_map(size_t size, size_t align, int arena) {
  static uintptr_t last; /* where the last arena started (SEGALLOC__ADDR_CODE'd): a hint,
                            racy on purpose */
  size_t os_page = segalloc__os_page; /* size and align are multiples of it (callers) */
  if (align < os_page) align = os_page;
  if (size > SIZE_MAX - align) return NULL;
  uintptr_t mask = (uintptr_t)align - 1;
  void *p = NULL;
  uintptr_t hint = __atomic_load_n(&last, __ATOMIC_RELAXED);
  if (hint) hint = SEGALLOC__ADDR_CODE(hint);
  if (arena && align > os_page && hint > size + align) {
    uintptr_t want = (hint - size) & ~mask;
    p = segalloc__os_map_at((void *)want, size);
    if (p && ((uintptr_t)p & mask)) {
      munmap(p, size);
      p = NULL;
    }
  }
  if (!p) {
    size_t span = size + (align > os_page ? align : 0);
    void *q = segalloc__os_map_at(NULL, span);
    if (!q) {
      /* no room to over-map: an exact mapping may still happen to be aligned */
      q = segalloc__os_map_at(NULL, size);
      if (!q) return NULL;
      if ((uintptr_t)q & mask) {
        /* not aligned: the aligned addresses just below and just above it may be free */
        uintptr_t u = (uintptr_t)q;
        munmap(q, size);
        uintptr_t tries[2] = {u & ~mask, (u + mask) & ~mask};
        q = NULL;
        for (int i = 0; i < 2 && !q; i++) {
          q = segalloc__os_map_at((void *)tries[i], size);
          if (q && (uintptr_t)q != tries[i]) {
            munmap(q, size);
            q = NULL;
          }
        }
        if (!q) return NULL;
      }
      span = size;
    }
    uintptr_t start = (uintptr_t)q, aligned = (start + mask) & ~mask;
    if (aligned > start) munmap(q, aligned - start);
    if (start + span > aligned + size) munmap((void *)(aligned + size), start + span - (aligned + size));
    p = (void *)aligned;
  }
  if (arena && align > os_page) __atomic_store_n(&last, SEGALLOC__ADDR_CODE(p), __ATOMIC_RELAXED);
  segalloc__add_relaxed(&segalloc__os_stats.mapped, (uint64_t)size);
  return p;
}

static void segalloc__os_unmap(void *p, size_t size) {
  /* munmap fails when it would split a mapping past the kernel's limit on their number
     (vm.max_map_count): the address space stays taken, but the memory at least goes back */
  int saved = errno;
  if (munmap(p, size) != 0) madvise(p, size, MADV_DONTNEED);
  errno = saved;
  segalloc__add_relaxed(&segalloc__os_stats.mapped, (uint64_t)0 - (uint64_t)size);
}

/* Give the pages back; the mapping stays. With MADV_DONTNEED (the default) RSS falls at
   once and the pages read as zero next time; MADV_FREE lets the kernel take them lazily.
   1 on success; 0 when the kernel refuses, as Linux does for pages locked by mlock or
   mlockall (EINVAL): the pages then keep their contents and stay resident, and the caller
   must not take them for zero or released (calloc would hand out a freed block's old
   bytes). errno is the caller's as it was. */
static int segalloc__os_release(void *p, size_t size) {
#ifdef SEGALLOC_MADV_FREE
  int advice = MADV_FREE;
#else
  int advice = MADV_DONTNEED;
#endif
  int saved = errno;
  if (madvise(p, size, advice) != 0) {
    errno = saved;
    return 0;
  }
  segalloc__add_relaxed(&segalloc__os_stats.releases, 1);
  return 1;
}

/* ---- transparent huge pages ----

   Under the kernel's THP setting "always" (the default of several distributions), the
   first touch of any huge-page-sized, aligned stretch of an anonymous mapping (2 MiB on
   x86-64) may bring in a whole huge page. Arenas are aligned to their size, so an arena's
   header (its page map, sparse) and the first spans beside it become one huge page
   together: measured with the setting on, bench/workloads pairs took 3.5 MiB of peak RSS
   instead of 1.6 and batch_fifo 5.7 instead of 2.7 (glibc's heap, small and not aligned,
   stays as it was). So by default (SEGALLOC_THP 1) segalloc leaves arenas to the system's
   setting, except that when that setting is "always" for huge pages of the PMD size (the
   top-level file, or the per-size one of kernels from 6.8 on) it marks each arena's header
   MADV_NOHUGEPAGE before anything writes to it. The stretch that holds the header's end,
   with the arena's first spans, then stays in small pages; the rest of the arena is left to
   the kernel, which may fault huge pages in as spans are touched and whose khugepaged may
   collapse a sparse stretch too (bringing back pages segalloc released: the `released`
   statistics then overstate what the OS has back). Under "madvise" or "never" it makes no
   call at all: a marked header splits the arena's mapping in two, which the kernel counts
   against vm.max_map_count (two per arena). 0 marks whole arenas and huge blocks
   MADV_NOHUGEPAGE (leanest; more TLB misses on a big heap); 2 marks arenas past their
   header, and huge blocks whole, MADV_HUGEPAGE (huge pages under "madvise" too, for a
   program with a large, dense heap). The SEGALLOC_THP environment variable, read once at
   the first allocation, overrides the macro: never, system or always (or 0, 1, 2).
   Where the system has no madvise advice for huge pages (not Linux), all this is a no-op. */

static __attribute__((unused)) struct {
  int mode;             /* 0 never, 1 system, 2 always (SEGALLOC_THP) */
  int guard_header;     /* mode 1 and the system's setting is "always" */
  int reading;          /* the setting is being read: an arena mapped meanwhile (an open()
                           interposed by the program may allocate) is guarded to be safe */
} segalloc__thp = {SEGALLOC_THP, 0, 0};

#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
/* The first line of a small sysfs file into buf (NUL-terminated); 0 when it cannot be read. */
static int segalloc__os_read_line(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  return 1;
}

/* The system's THP setting is "always" for huge pages of the PMD size: the per-size file
   says "[always]", or "[inherit]" (or is missing, before 6.8) and the top-level one says
   "[always]" ("[always] madvise never"). */
#define SEGALLOC__THP_SYSFS "/sys/kernel/mm/transparent_hugepage/"
static int segalloc__os_thp_always(void) {
  char buf[96], path[160], num[24];
  int top = segalloc__os_read_line(SEGALLOC__THP_SYSFS "enabled", buf, sizeof buf) && strstr(buf, "[always]") != NULL;
  if (!segalloc__os_read_line(SEGALLOC__THP_SYSFS "hpage_pmd_size", buf, sizeof buf)) return top;
  uint64_t bytes = 0;
  for (const char *c = buf; *c >= '0' && *c <= '9'; c++) bytes = bytes * 10 + (uint64_t)(*c - '0');
  /* SEGALLOC__THP_SYSFS "hugepages-<N>kB/enabled", without a formatting call that might
     allocate */
  size_t n = 0;
  const char *parts[3] = {SEGALLOC__THP_SYSFS "hugepages-", segalloc__fmt_u(num, bytes >> 10, 0), "kB/enabled"};
  for (int i = 0; i < 3; i++)
    for (const char *c = parts[i]; *c && n < sizeof path - 1; c++) path[n++] = *c;
  path[n] = 0;
  if (!segalloc__os_read_line(path, buf, sizeof buf)) return top;
  return strstr(buf, "[always]") != NULL || (strstr(buf, "[inherit]") != NULL && top);
}

/* Called once, from global_init: the mode from the environment, then what the system does.
   errno is the caller's as it was: a missing sysfs file is no error of the malloc that
   happened to come first. */
static void segalloc__os_thp_init(void) {
  int saved = errno;
  const char *v = getenv("SEGALLOC_THP");
  if (v && *v) {
    if (!strcmp(v, "never") || !strcmp(v, "0")) segalloc__thp.mode = 0;
    else if (!strcmp(v, "system") || !strcmp(v, "1")) segalloc__thp.mode = 1;
    else if (!strcmp(v, "always") || !strcmp(v, "2")) segalloc__thp.mode = 2;
    else segalloc__write(2, "segalloc: warning: SEGALLOC_THP is not never, system or always (or 0, 1, 2); ignored\n");
  }
  if (segalloc__thp.mode == 1) {
    segalloc__thp.reading = 1;
    segalloc__thp.guard_header = segalloc__os_thp_always();
    segalloc__thp.reading = 0;
  }
  errno = saved;
}

/* A new arena at base, size bytes, whose first header bytes hold its page map; before
   anything writes to it. */
static void segalloc__os_thp_arena(uintptr_t base, size_t size, size_t header) {
  if (segalloc__thp.mode == 0) madvise((void *)base, size, MADV_NOHUGEPAGE);
  else if (segalloc__thp.mode == 2) {
    /* from the first OS page past the header (an OS page may be larger than a segalloc one) */
    uintptr_t from = (base + header + segalloc__os_page - 1) & ~(uintptr_t)(segalloc__os_page - 1);
    madvise((void *)from, size - (from - base), MADV_HUGEPAGE);
  }
  else if (segalloc__thp.guard_header || segalloc__thp.reading) madvise((void *)base, header, MADV_NOHUGEPAGE);
}

/* A new huge block's mapping, before the program has it. */
static void segalloc__os_thp_huge(void *p, size_t size) {
  if (segalloc__thp.mode == 0) madvise(p, size, MADV_NOHUGEPAGE);
  else if (segalloc__thp.mode == 2) madvise(p, size, MADV_HUGEPAGE);
}
#else
static __attribute__((unused)) int segalloc__os_thp_always(void) { return 0; }
static void segalloc__os_thp_init(void) {}
static void segalloc__os_thp_arena(uintptr_t base, size_t size, size_t header) { (void)base; (void)size; (void)header; }
static void segalloc__os_thp_huge(void *p, size_t size) { (void)p; (void)size; }
#endif

/* ---- metadata: span records, thread caches, radix nodes, transfer caches, huge records ---- */

#define SEGALLOC__META_CHUNK ((size_t)256 * 1024)

static struct {
  segalloc__lock lock;
  char *cur, *end;             /* bump region of the current chunk */
  segalloc__span *free_spans;  /* span records to reuse */
  uint64_t bytes;              /* mapped for metadata chunks (arena headers are counted by
                                  the page heap, pageheap.c) */
} segalloc__meta;

/* Zeroed memory for the allocator's own use; NULL when the OS says no. Never freed: span
   records are recycled through their own list, and the rest lives as long as the process. */
static void *segalloc__meta_alloc_locked(size_t size) {
  size = (size + 63) & ~(size_t)63; /* cache-line multiples: no false sharing between records */
  if ((size_t)(segalloc__meta.end - segalloc__meta.cur) < size) {
    size_t chunk = size > SEGALLOC__META_CHUNK ? size : SEGALLOC__META_CHUNK;
    char *c = (char *)mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == (char *)MAP_FAILED) return NULL;
    segalloc__meta.bytes += chunk;
    segalloc__meta.cur = c;
    segalloc__meta.end = c + chunk;
  }
  void *p = segalloc__meta.cur;
  segalloc__meta.cur += size;
  return p;
}

static void *segalloc__meta_alloc(size_t size) {
  segalloc__lock_acquire(&segalloc__meta.lock);
  void *p = segalloc__meta_alloc_locked(size);
  segalloc__lock_release(&segalloc__meta.lock);
  return p;
}

static segalloc__span *segalloc__span_new(void) {
  segalloc__lock_acquire(&segalloc__meta.lock);
  segalloc__span *s = segalloc__meta.free_spans;
  if (s) segalloc__meta.free_spans = s->next;
  else s = (segalloc__span *)segalloc__meta_alloc_locked(sizeof(segalloc__span));
  segalloc__lock_release(&segalloc__meta.lock);
  if (s) memset(s, 0, sizeof *s);
  return s;
}

static void segalloc__span_delete(segalloc__span *s) {
  s->state = 0;
  segalloc__lock_acquire(&segalloc__meta.lock);
  s->next = segalloc__meta.free_spans;
  segalloc__meta.free_spans = s;
  segalloc__lock_release(&segalloc__meta.lock);
}
/* ---- end src/os.c ---- */
/* ---- begin src/pagemap.c ---- */
/* ---- the page map: from any address to its arena and span ----------------------------
   See the design comment at the top of the implementation for an overview.

   Owns the arena map, a two-level radix tree indexed by address >> log2(ARENA_SIZE) over a
   48-bit address space (Go's arenas array; TCMalloc's pagemap). Its leaves point at arena
   headers; each arena's header holds the per-page span pointers. So free(p) goes
   p -> arena (two loads) -> span (one load) without a header beside the block, and an
   address segalloc never handed out (the stack, another mapping) finds no arena: that is
   how misuse is caught rather than followed. An address already known to be segalloc's (a
   span's page, an object a central list takes back) skips the tree: arenas are aligned to
   their size and begin with their header, so masking it gives its arena
   (segalloc__arena_at; frag at scale 0.3, callgrind: 101.9M -> 100.0M instructions in
   all, larson 91.3M -> 90.6M, large 4.38M -> 4.15M).

   Beside the page map, each arena has a small map: one 8-byte entry a page, nonzero only
   on the pages of small spans, holding what free's fast path needs (the class's list
   offset, and a bias that turns an address's offset in the arena into its distance from
   the object boundary below, for the boundary test). free reads that entry instead of
   following the page-map entry to the span record: one dependent load fewer, and an array
   the program's own data evicts less than the records: in batch_fifo at scale 0.3 free
   missed the first-level cache 182,000 times, 112,600 of them on span records and 60,500
   on page-map entries, and 57,000 times reading a 4-byte small map instead (cachegrind),
   for 3 more instructions a free. The entry was a 32-bit word holding the page's distance
   from the boundary (below 2^16) until free took the bias instead: one add in place of a
   mask, a shift and an add (31 -> 29 instructions a free, callgrind; gcc spends one on
   the entry's address), for 4 more bytes a page, 4 more header pages an arena (17 of 8
   KiB at the defaults), and 18,000 more first-level misses in free on batch_fifo at scale
   0.3 (46,800 -> 64,900). pagemap_write keeps the two maps in step, and
   segalloc_check_heap compares them.

   Page-map entries of pages that belong to no span point at segalloc__no_span, a span of
   class 0, rather than NULL: realloc's inline path then reads the state without a NULL
   test. An arena's page map is set lazily, though: only the pages below its `inited` mark,
   which rises as spans in use reach higher pages, have entries; above it they read NULL or
   no span (but for the ends of the free span there). A span's first page always has its
   entry, wherever the span lies, so the page after a span leads to the next span. free's
   fast path checks an address against the mark as it checks the arena (one compare either
   way), so it never reads such an entry, and the slow paths take NULL for "no span".

   Writers (arena registration) hold the page heap lock; readers take no lock: a leaf or
   node pointer, once published with a release store, never changes. The first level is
   static (a few KiB to 128 KiB of untouched BSS, by arena size); second-level nodes come
   from metadata. */

#define SEGALLOC__ARENA_SHIFT                                                                   \
  ((SEGALLOC_ARENA_SIZE) == (1ull << 20) ? 20 : (SEGALLOC_ARENA_SIZE) == (1ull << 21) ? 21      \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 22) ? 22 : (SEGALLOC_ARENA_SIZE) == (1ull << 23) ? 23    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 24) ? 24 : (SEGALLOC_ARENA_SIZE) == (1ull << 25) ? 25    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 26) ? 26 : (SEGALLOC_ARENA_SIZE) == (1ull << 27) ? 27    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 28) ? 28 : (SEGALLOC_ARENA_SIZE) == (1ull << 29) ? 29    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 30) ? 30 : (SEGALLOC_ARENA_SIZE) == (1ull << 31) ? 31 : 32)
#define SEGALLOC__ADDR_BITS 48
#define SEGALLOC__RADIX_BITS (SEGALLOC__ADDR_BITS - SEGALLOC__ARENA_SHIFT)
#define SEGALLOC__RADIX_L2_BITS (SEGALLOC__RADIX_BITS / 2)
#define SEGALLOC__RADIX_L1_BITS (SEGALLOC__RADIX_BITS - SEGALLOC__RADIX_L2_BITS)

/* What the page map holds for a page of no span (see above). */
static segalloc__span segalloc__no_span;

typedef struct segalloc__radix_node {
  segalloc__arena *arena[(size_t)1 << SEGALLOC__RADIX_L2_BITS];
} segalloc__radix_node;

static segalloc__radix_node *segalloc__radix[(size_t)1 << SEGALLOC__RADIX_L1_BITS];

/* The arena holding p, or NULL when p is in no arena of ours. */
static segalloc__inline segalloc__arena *segalloc__arena_of(uintptr_t p) {
  uintptr_t i = p >> SEGALLOC__ARENA_SHIFT;
  if (segalloc__unlikely(i >> SEGALLOC__RADIX_BITS)) return NULL;
  segalloc__radix_node *n = __atomic_load_n(&segalloc__radix[i >> SEGALLOC__RADIX_L2_BITS], __ATOMIC_ACQUIRE);
  if (segalloc__unlikely(!n)) return NULL;
  return __atomic_load_n(&n->arena[i & (((uintptr_t)1 << SEGALLOC__RADIX_L2_BITS) - 1)], __ATOMIC_ACQUIRE);
}

/* The arena holding p when p is known to lie in one (a page of a span, or an object that a
   central list takes back, which free has already checked): arenas are aligned to their
   size and begin with their header, so that is p with the low bits cleared, without the
   radix map's two dependent loads. */
static segalloc__inline segalloc__arena *segalloc__arena_at(uintptr_t p) {
  return (segalloc__arena *)(p & ~((uintptr_t)SEGALLOC_ARENA_SIZE - 1));
}

/* The page-map entry for p in its arena a: arenas are aligned to their size, so the page
   index is a shift and a mask. */
static segalloc__inline segalloc__span *segalloc__pagemap_entry(segalloc__arena *a, uintptr_t p) {
  return a->pagemap[(p >> SEGALLOC__PAGE_SHIFT) & (SEGALLOC__ARENA_PAGES - 1)];
}

/* The span holding p in its arena a, or NULL. For a small span every page maps to it; for
   free and large spans only the first and last page do. */
static segalloc__inline segalloc__span *segalloc__span_in(segalloc__arena *a, uintptr_t p) {
  segalloc__span *s = segalloc__pagemap_entry(a, p);
  return s == &segalloc__no_span ? NULL : s;
}

/* The span holding p, or NULL (p in no arena, or on a page of no span). */
static segalloc__inline segalloc__span *segalloc__span_of(uintptr_t p) {
  segalloc__arena *a = segalloc__arena_of(p);
  if (segalloc__unlikely(!a)) return NULL;
  return segalloc__span_in(a, p);
}

/* Publish an arena (caller holds the page heap lock). 0 when a radix node could not be
   allocated. */
static int segalloc__pagemap_add_arena(segalloc__arena *a) {
  uintptr_t i = a->base >> SEGALLOC__ARENA_SHIFT;
  if (i >> SEGALLOC__RADIX_BITS) return 0;
  segalloc__radix_node **slot = &segalloc__radix[i >> SEGALLOC__RADIX_L2_BITS];
  segalloc__radix_node *n = *slot;
  if (!n) {
    n = (segalloc__radix_node *)segalloc__meta_alloc(sizeof(segalloc__radix_node));
    if (!n) return 0;
    __atomic_store_n(slot, n, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&n->arena[i & (((uintptr_t)1 << SEGALLOC__RADIX_L2_BITS) - 1)], a, __ATOMIC_RELEASE);
  return 1;
}

/* The arena that holds span s; *first is the index of s's first page in it. */
static segalloc__arena *segalloc__span_arena(const segalloc__span *s, size_t *first) {
  uintptr_t start = segalloc__span_start(s);
  segalloc__arena *a = segalloc__arena_at(start);
  *first = (start - a->base) >> SEGALLOC__PAGE_SHIFT;
  return a;
}

/* The small-map entry of the k-th page of a small span of class cls, which is page `page`
   of its arena (internal.h). Object boundaries lie at the class's origin plus multiples of
   the size (sizeclass.c); the page's start lies (k * page size + size - origin) mod size
   past the boundary at or below it, counting one a size before the first object for the
   first page. */
static segalloc__small_entry segalloc__small_entry_of(unsigned cls, size_t k, size_t page) {
  uint32_t size = segalloc__class_size[cls];
  uint32_t past = (uint32_t)((((uintptr_t)k << SEGALLOC__PAGE_SHIFT) + size - segalloc__class_origin(cls)) % size);
  segalloc__small_entry e = {past - (uint32_t)((uintptr_t)page << SEGALLOC__PAGE_SHIFT), (uint32_t)(cls * sizeof(segalloc__tlist))};
  return e;
}

/* Whether two small-map entries are the same (for the checks). */
static int segalloc__small_entry_eq(segalloc__small_entry a, segalloc__small_entry b) { return a.bias == b.bias && a.list == b.list; }

/* Point the page-map entries of s at v: every page, or only the first and last. A span
   in use (small or large) above the arena's inited mark raises it: the entries up to the
   span's end that were never set (NULL) are set to no span first, and the mark is
   published after the span's own entries (a release store: a thread that then reads the
   mark finds every entry below it set). Caller holds the page heap lock. */
static void segalloc__pagemap_write(segalloc__span *s, segalloc__span *v, int all_pages) {
  size_t first;
  segalloc__arena *a = segalloc__span_arena(s, &first);
  size_t end = first + s->npages, inited = a->inited;
  int raise = (v->state == SEGALLOC__SPAN_SMALL || v->state == SEGALLOC__SPAN_LARGE) && end > inited;
  if (raise)
    for (size_t i = inited; i < end; i++)
      if (!a->pagemap[i]) a->pagemap[i] = &segalloc__no_span;
  if (all_pages) {
    /* a small span's pages (set or cleared): their small-map entries too */
    segalloc__small_entry *small = segalloc__arena_smallmap(a), none = {0, 0};
    int set = v->state == SEGALLOC__SPAN_SMALL;
    for (size_t i = 0; i < s->npages; i++) {
      a->pagemap[first + i] = v;
      small[first + i] = set ? segalloc__small_entry_of(v->cls, i, first + i) : none;
    }
  } else {
    a->pagemap[first] = v;
    a->pagemap[first + s->npages - 1] = v;
  }
  if (raise) __atomic_store_n(&a->inited, end, __ATOMIC_RELEASE);
}

/* Record s in the page map: every page for a small span, the ends otherwise. */
static void segalloc__pagemap_set(segalloc__span *s, int all_pages) { segalloc__pagemap_write(s, s, all_pages); }

/* Forget the pages of s (its first and last are enough unless it was small). */
static void segalloc__pagemap_clear(segalloc__span *s, int all_pages) { segalloc__pagemap_write(s, &segalloc__no_span, all_pages); }
/* ---- end src/pagemap.c ---- */
/* ---- begin src/pageheap.c ---- */
/* ---- the page heap: spans of pages, split, merged, released --------------------------
   See the design comment at the top of the implementation for an overview.

   Owns every page of every arena that is not inside a span handed up (to a central list or
   as a large block), and the arenas themselves. Central lists ask it for a span of their
   class's page count and hand back spans whose objects are all free; malloc asks it for
   large blocks directly. One lock, segalloc__heap.lock, guards all of it; it may be taken
   while a central lock is held, never the other way round.

   Free spans are kept in two sets of lists, resident and released, each with an exact-length
   list for 1..127 pages and one list for longer spans; a bitmap says which lists are
   non-empty so a search is a few bit scans. A request takes the smallest resident span that fits, or failing
   that the smallest released one, and splits off the rest; from a released span it
   starts in the free resident span that ends where the released one begins, if there is
   one, so those pages are used before fresh ones are faulted in.
   A freed span merges with free neighbours in the same state (merging resident with
   released would either overstate RSS or cost an madvise on every free next to the
   never-touched tail of an arena).

   Giving memory back: the heap keeps a limited amount of free pages resident: a retain
   allowance (SEGALLOC_RETAIN_BYTES to start with) plus twice the pages in use, so a heap
   the program empties keeps only the allowance, while one that churns keeps room to churn
   in. The allowance adapts, as glibc's mmap threshold does: when the heap has to fault in
   pages it released earlier (a sign it released too eagerly), the allowance doubles, up to
   the base plus what is in use at that moment; each release that reaches its target
   shrinks its excess over the base by an eighth, and every second (looked at whenever a span comes back) it
   halves back towards the base.
   When a free takes the free pages past that limit, what goes depends on why they are
   there. If use has fallen to an eighth of its recent peak (the peak, too, halves back
   towards use every second), the program has let its memory go: whole free spans are
   released at once, long ones first, down to half the limit (the hysteresis keeps a
   loop that frees and reallocates the same sizes from paying an madvise each time). If use is
   still near its peak, the excess is more likely churn: a heap whose free runs are too
   short for the next large request grows beside them, and the next frees fill them up
   again. Then only spans that have stayed free for SEGALLOC_RELEASE_DELAY_MS go (looked at
   when a span comes back, and not before the first of them can be old enough), so pages
   about to be reused are not released and faulted straight back in (the `large`
   benchmark: 17,900 page faults a run with the old rule of releasing at once, 13,800
   with this one, as mimalloc's 14,100; 0.067 -> 0.056 s, median of 21 rounds). A program that frees everything
   once keeps the base; one that frees and reallocates the same memory in a loop stops
   releasing after a round or two. Released pages keep their mapping and come back as
   zero pages when touched; such spans are marked zeroed so calloc need not clear them.
   madvise works on whole OS pages, which may be larger than segalloc's (os.c): then a
   span gives back the OS pages inside it (and the one it shares with a released neighbour
   that covers the rest), and its pages that share an OS page with a block in use stay
   resident as free spans of their own, until that block is freed and merges with them.
   Such spans, and locked ones, can keep the free resident pages above the limit however
   much is released: then a release at once is not tried again until SEGALLOC__VAIN_MARGIN
   more is free, or a second has passed (otherwise every free walked the lists in vain: 15
   us a free in bench/os_pages.c at 64 KiB pages; the second, because pages may come free
   without more being freed, as when a block that shared their OS page goes).
   Only when the kernel took them, though: it refuses pages the program locked (mlock,
   mlockall), which then keep their contents and stay in the resident lists, and a
   calloc served from them clears them (tests/test_faults.c, mode locked).

   realloc grows a large block into the free span after it when that is long enough, and
   else into the free spans on both sides of it (moving its bytes down), before it moves
   it elsewhere.

   Requests above half an arena get their own mapping (huge blocks), recorded in a list
   under the same lock. */

#define SEGALLOC__BINS 128
#define SEGALLOC__RELEASE_NOW 8 /* in use down to 1/8 of its recent peak: release at once */
/* after a release at once that could not reach its target, how much more must be free
   before one is tried again, or how long it must be (ms) */
#define SEGALLOC__VAIN_MARGIN (SEGALLOC_RETAIN_BYTES / 2)
#define SEGALLOC__VAIN_MS 1000
#define SEGALLOC__HUGE_GONE 64 /* huge blocks freed lately, remembered to report a double free */

typedef struct segalloc__huge {
  uintptr_t block;   /* what the program got, which is where its mapping starts
                        (SEGALLOC__ADDR_CODE'd) */
  size_t map_size;
  size_t size;       /* usable bytes from block */
  struct segalloc__huge *next;
} segalloc__huge;

static struct {
  segalloc__lock lock;
  /* [released][length]: NULL-terminated lists, newest first (a head's prev is NULL, a
     tail's next); pointers rather than sentinel spans, which took 27 KiB */
  segalloc__span *bins[2][SEGALLOC__BINS], *tails[2][SEGALLOC__BINS];
  uint64_t nonempty[2][SEGALLOC__BINS / 64];
  segalloc__arena *arenas;
  size_t narenas;
  size_t header_bytes;      /* arena headers: metadata */
  size_t free_resident;     /* bytes in free, resident spans */
  size_t vain;              /* free_resident after a release at once that could not get
                               down to its target, 0 if the last one could (heap_free) */
  uint64_t vain_at;         /* and when it may be tried again regardless */
  size_t free_released;     /* bytes in free, released spans (and never-touched arena tails) */
  size_t large_live;        /* bytes in large spans handed to the program */
  size_t small_spans;       /* bytes in spans owned by central lists */
  size_t retain;            /* the adaptive retain allowance (see above) */
  size_t peak_use;          /* the most in use lately (large_live + small_spans), decaying */
  uint64_t decay_at;        /* when retain and peak_use next decay (segalloc__heap_now_ms) */
  uint64_t release_at;      /* no idle span can be old enough to release before this */
  segalloc__huge *huge, *huge_spare;
  uintptr_t huge_gone[SEGALLOC__HUGE_GONE];  /* addresses of the last huge blocks freed */
  unsigned huge_gone_next;
  size_t huge_live;         /* bytes mapped for huge blocks */
  int ready;
} segalloc__heap;

static uint64_t segalloc__heap_now_ms(void);

static void segalloc__heap_init_locked(void) {
  segalloc__heap.retain = SEGALLOC_RETAIN_BYTES;
  segalloc__heap.decay_at = segalloc__heap_now_ms() + 1000;
  segalloc__heap.ready = 1;
}

/* What the program uses from the page heap: large blocks, and spans of the central lists. */
static size_t segalloc__heap_in_use(void) {
  return segalloc__heap.large_live + segalloc__heap.small_spans;
}

static void segalloc__heap_note_use(void) {
  size_t u = segalloc__heap_in_use();
  if (u > segalloc__heap.peak_use) segalloc__heap.peak_use = u;
}

static segalloc__inline size_t segalloc__span_bytes(const segalloc__span *s) {
  return s->npages << SEGALLOC__PAGE_SHIFT;
}

/* The whole OS pages that releasing free resident span s would give back, [*lo, *hi); 0
   when there are none. They are the OS pages inside s, and also the one its first (last)
   page shares with the free released span before (after) it, when that span covers the
   rest of that OS page: giving those pages back again changes nothing for that span, and
   a span stranded between two released ones could not go otherwise. With OS pages no
   larger than segalloc's, the range is s itself. */
static int segalloc__heap_os_range(const segalloc__span *s, uintptr_t *lo, uintptr_t *hi) {
  uintptr_t start = segalloc__span_start(s), end = start + segalloc__span_bytes(s);
  uintptr_t mask = (uintptr_t)segalloc__os_page - 1;
  *lo = (start + mask) & ~mask;
  *hi = end & ~mask;
  if (segalloc__os_page > SEGALLOC_PAGE_SIZE) {
    size_t first;
    segalloc__arena *a = segalloc__span_arena(s, &first);
    segalloc__span *left = first > a->header_pages ? a->pagemap[first - 1] : NULL;
    segalloc__span *right = first + s->npages < SEGALLOC__ARENA_PAGES ? a->pagemap[first + s->npages] : NULL;
    if (*lo > start && left && left->state == SEGALLOC__SPAN_FREE && left->released &&
        segalloc__span_start(left) <= (start & ~mask))
      *lo = start & ~mask;
    if (*hi < end && right && right->state == SEGALLOC__SPAN_FREE && right->released &&
        segalloc__span_start(right) + segalloc__span_bytes(right) >= ((end + mask) & ~mask))
      *hi = (end + mask) & ~mask;
  }
  return *hi > *lo;
}

/* Put free span s in its list: at the head, or (at_tail) at the tail, where a walk of the
   list from its tail (heap_release_locked) that has passed it does not meet it again. */
static void segalloc__heap_insert_at(segalloc__span *s, int at_tail) {
  unsigned bin = s->npages < SEGALLOC__BINS ? (unsigned)s->npages : 0;
  s->state = SEGALLOC__SPAN_FREE;
  s->cls = 0;
  if (at_tail) {
    segalloc__span *tail = segalloc__heap.tails[s->released][bin];
    s->prev = tail;
    s->next = NULL;
    if (tail) tail->next = s;
    else segalloc__heap.bins[s->released][bin] = s;
    segalloc__heap.tails[s->released][bin] = s;
  } else {
    segalloc__span *head = segalloc__heap.bins[s->released][bin];
    s->next = head;
    s->prev = NULL;
    if (head) head->prev = s;
    else segalloc__heap.tails[s->released][bin] = s;
    segalloc__heap.bins[s->released][bin] = s;
  }
  segalloc__heap.nonempty[s->released][bin >> 6] |= (uint64_t)1 << (bin & 63);
  if (s->released) segalloc__heap.free_released += segalloc__span_bytes(s);
  else segalloc__heap.free_resident += segalloc__span_bytes(s);
  segalloc__pagemap_set(s, 0);
}

static void segalloc__heap_insert(segalloc__span *s) { segalloc__heap_insert_at(s, 0); }

static void segalloc__heap_remove(segalloc__span *s) {
  unsigned bin = s->npages < SEGALLOC__BINS ? (unsigned)s->npages : 0;
  if (s->prev) s->prev->next = s->next;
  else segalloc__heap.bins[s->released][bin] = s->next;
  if (s->next) s->next->prev = s->prev;
  else segalloc__heap.tails[s->released][bin] = s->prev;
  if (!segalloc__heap.bins[s->released][bin]) segalloc__heap.nonempty[s->released][bin >> 6] &= ~((uint64_t)1 << (bin & 63));
  if (s->released) segalloc__heap.free_released -= segalloc__span_bytes(s);
  else segalloc__heap.free_resident -= segalloc__span_bytes(s);
  segalloc__pagemap_clear(s, 0);
  s->next = s->prev = NULL;
}

/* The first non-empty exact bin >= from in set r, or 0 if none. */
static unsigned segalloc__heap_next_bin(int r, unsigned from) {
  for (unsigned w = from >> 6; w < SEGALLOC__BINS / 64; w++) {
    uint64_t bits = segalloc__heap.nonempty[r][w];
    if (w == from >> 6) bits &= ~(uint64_t)0 << (from & 63);
    bits &= w == 0 ? ~(uint64_t)1 : ~(uint64_t)0; /* bin 0 is the long list */
    if (bits) return w * 64 + (unsigned)__builtin_ctzll(bits);
  }
  return 0;
}

/* The longest non-empty exact-length list of set r shorter than `below` pages (at most
   SEGALLOC__BINS), or 0 when there is none. */
static unsigned segalloc__heap_prev_bin(int r, unsigned below) {
  if (below <= 1) return 0;
  unsigned last = below - 1; /* the longest list to look at */
  for (unsigned w = (last >> 6) + 1; w-- > 0;) {
    uint64_t bits = segalloc__heap.nonempty[r][w];
    if (w == last >> 6 && (last & 63) != 63) bits &= ((uint64_t)1 << ((last & 63) + 1)) - 1;
    if (w == 0) bits &= ~(uint64_t)1; /* bin 0 is the long list */
    if (bits) return w * 64 + 63 - (unsigned)__builtin_clzll(bits);
  }
  return 0;
}

/* Best fit among the long spans of set r: the shortest of at least n pages. */
static segalloc__span *segalloc__heap_best_long(int r, size_t n) {
  segalloc__span *best = NULL;
  for (segalloc__span *s = segalloc__heap.bins[r][0]; s; s = s->next)
    if (s->npages >= n && (!best || s->npages < best->npages || (s->npages == best->npages && segalloc__span_start(s) < segalloc__span_start(best))))
      best = s;
  return best;
}

/* The smallest free span of at least n pages, resident ones first: reusing resident pages
   costs nothing, while released ones fault in again page by page. */
static segalloc__span *segalloc__heap_find(size_t n) {
  for (int r = 0; r < 2; r++) {
    if (n < SEGALLOC__BINS) {
      unsigned b = segalloc__heap_next_bin(r, (unsigned)n);
      if (b) return segalloc__heap.bins[r][b];
    }
    segalloc__span *s = segalloc__heap_best_long(r, n);
    if (s) return s;
  }
  return NULL;
}

/* Split free span s (in no list) after its first n pages: s keeps them, and the rest, in
   the same state, is returned as a new span (NULL if no record could be had). */
static segalloc__span *segalloc__span_split(segalloc__span *s, size_t n) {
  segalloc__span *rest = segalloc__span_new();
  if (!rest) return NULL;
  segalloc__span_set_start(rest, segalloc__span_start(s) + (n << SEGALLOC__PAGE_SHIFT));
  rest->npages = s->npages - n;
  rest->released = s->released;
  rest->zeroed = s->zeroed;
  rest->fresh = s->fresh;
  rest->idle_since = s->idle_since;
  s->npages = n;
  return rest;
}

/* Cut the first n pages off free span s (already removed from its list); the rest goes
   back to the free lists. */
static int segalloc__heap_carve(segalloc__span *s, size_t n) {
  if (s->npages == n) return 1;
  segalloc__span *rest = segalloc__span_split(s, n);
  if (!rest) return 0;
  segalloc__heap_insert(rest);
  return 1;
}

/* Reserve one more arena; its pages past the header form one released free span. */
static int segalloc__heap_grow(void) {
  uintptr_t base = (uintptr_t)segalloc__os_map(SEGALLOC_ARENA_SIZE, SEGALLOC_ARENA_SIZE, 1);
  if (!base) return 0;
  size_t header_pages = (SEGALLOC__ARENA_HEADER_BYTES + SEGALLOC_PAGE_SIZE - 1) >> SEGALLOC__PAGE_SHIFT;
  /* before the first write: under THP "always" that write would fault in a huge page */
  segalloc__os_thp_arena(base, SEGALLOC_ARENA_SIZE, header_pages << SEGALLOC__PAGE_SHIFT);
  segalloc__arena *a = (segalloc__arena *)base;
  a->base = base;
  a->header_pages = header_pages;
  /* the header's own pages map to no span; the rest of the page map is set as spans in
     use reach it (pagemap.c), so a small program touches two pages of it (the first, and
     the last for the free span's end) rather than all of it (64 KiB by default) */
  for (size_t i = 0; i < a->header_pages; i++) a->pagemap[i] = &segalloc__no_span;
  a->inited = a->header_pages;
  segalloc__span *s = segalloc__span_new();
  if (!s || !segalloc__pagemap_add_arena(a)) {
    if (s) segalloc__span_delete(s);
    segalloc__os_unmap((void *)base, SEGALLOC_ARENA_SIZE);
    return 0;
  }
  a->next = segalloc__heap.arenas;
  segalloc__heap.arenas = a;
  segalloc__heap.narenas++;
  segalloc__heap.header_bytes += a->header_pages << SEGALLOC__PAGE_SHIFT;
  segalloc__span_set_start(s, base + (a->header_pages << SEGALLOC__PAGE_SHIFT));
  s->npages = SEGALLOC__ARENA_PAGES - a->header_pages;
  s->released = 1;
  s->zeroed = 1;
  s->fresh = 1;
  segalloc__heap_insert(s);
  return 1;
}

/* The free span that ends where span s begins (side < 0) or begins where s ends (side >
   0), or NULL. Every span's first and last pages have their page-map entries, so the page
   on either side of s leads to its neighbour; the test that the neighbour is free and
   adjacent also turns away the no-span entry and a page past the inited mark. */
static segalloc__span *segalloc__heap_free_beside(const segalloc__span *s, int side) {
  size_t first;
  segalloc__arena *a = segalloc__span_arena(s, &first);
  uintptr_t start = segalloc__span_start(s), end = start + segalloc__span_bytes(s);
  segalloc__span *t;
  if (side < 0) {
    if (first <= a->header_pages) return NULL;
    t = a->pagemap[first - 1];
    if (!t || t->state != SEGALLOC__SPAN_FREE || segalloc__span_start(t) + segalloc__span_bytes(t) != start) return NULL;
  } else {
    if (first + s->npages >= SEGALLOC__ARENA_PAGES) return NULL;
    t = a->pagemap[first + s->npages];
    if (!t || t->state != SEGALLOC__SPAN_FREE || segalloc__span_start(t) != end) return NULL;
  }
  return t;
}

/* Free span s takes in t, the free span on either side of it: one span of both. */
static void segalloc__heap_absorb(segalloc__span *s, segalloc__span *t) {
  segalloc__heap_remove(t);
  if (segalloc__span_start(t) < segalloc__span_start(s)) segalloc__span_set_start(s, segalloc__span_start(t));
  s->npages += t->npages;
  s->zeroed &= t->zeroed;
  s->fresh &= t->fresh;
  segalloc__span_delete(t);
}

/* Put free span s in the lists, first merging it with free neighbours in the same state
   (resident or released). s is in no list and not in the page map. */
static void segalloc__heap_merge_insert(segalloc__span *s) {
  segalloc__span *left = segalloc__heap_free_beside(s, -1);
  if (left && left->released == s->released) segalloc__heap_absorb(s, left);
  segalloc__span *right = segalloc__heap_free_beside(s, 1);
  if (right && right->released == s->released) segalloc__heap_absorb(s, right);
  segalloc__heap_insert(s);
}

/* Milliseconds on the monotonic clock where the headers declare it (a strict C11 build
   without POSIX gets C11's wall clock, where a step back makes spans look younger and
   would hold up the once-a-second decay, which heap_free guards against).
   Counted from 2^32 ms before the clock's zero, so that no age formed from it underflows. */
static uint64_t segalloc__heap_now_ms(void) {
  struct timespec ts;
#if defined(CLOCK_MONOTONIC_COARSE)
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* from the vDSO, without reading the TSC */
#elif defined(CLOCK_MONOTONIC)
  clock_gettime(CLOCK_MONOTONIC, &ts);
#else
  timespec_get(&ts, TIME_UTC);
#endif
  return ((uint64_t)1 << 32) + (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Give free resident span s (in its list) back to the OS; it joins the released set.
   With OS pages larger than segalloc's (os.c), the OS pages of segalloc__heap_os_range
   go: s's pages before and after them become resident free spans of their own (they share
   an OS page with a block in use, and merge with it when it is freed), and a span that can
   give back nothing is left where it is, so a walk of the lists passes it by. If the OS
   refuses (locked pages), or there is no metadata for the cut, s goes back whole to the
   tail of its list, unmerged (its resident neighbours are not free, or they would be
   merged with it already), where the walk of the list from its tail has passed it; 0 then
   (at its head, two such spans of one length swapped places for ever). */
static size_t segalloc__heap_release_span(segalloc__span *s) {
  uintptr_t lo, hi;
  if (!segalloc__heap_os_range(s, &lo, &hi)) return 0;
  uintptr_t start = segalloc__span_start(s), end = start + segalloc__span_bytes(s);
  segalloc__heap_remove(s);
  segalloc__span *before = NULL, *after = NULL;
  size_t bytes;
  if (lo > start) {
    before = s;
    s = segalloc__span_split(before, (lo - start) >> SEGALLOC__PAGE_SHIFT);
    if (!s) {
      s = before;
      before = NULL;
      goto refused;
    }
  }
  if (hi < end && !(after = segalloc__span_split(s, s->npages - ((end - hi) >> SEGALLOC__PAGE_SHIFT)))) goto refused;
  if (segalloc__unlikely(!segalloc__os_release((void *)lo, hi - lo))) goto refused;
  bytes = segalloc__span_bytes(s);
#ifndef SEGALLOC_MADV_FREE
  s->zeroed = 1;
#endif
  s->released = 1;
  s->fresh = 0;
  segalloc__heap_merge_insert(s);
  if (before) segalloc__heap_insert(before);
  if (after) segalloc__heap_insert(after);
  return bytes;
refused:
  if (before) {
    before->npages += s->npages;
    segalloc__span_delete(s);
    s = before;
  }
  if (after) {
    s->npages += after->npages;
    segalloc__span_delete(after);
  }
  segalloc__heap_insert_at(s, 1);
  return 0;
}

/* Release free resident spans that have been free for at least min_idle ms at time `now`
   (segalloc__heap_now_ms; unused when min_idle is 0) until at most
   `keep` bytes stay resident: the exact-length lists shortest first, then the list of long
   spans, and each list from its tail, where the spans freed longest ago gather (a list
   takes freed spans at its head; split remainders go there too, so the order is rough,
   and each span's age is tested on its own). Short spans go first because they are the
   fragments: once released they merge with released neighbours into runs that can serve a
   large request again, while the long resident spans, the ones most likely to be reused
   whole, stay. A release at once (min_idle 0: the program has let its memory go) takes
   the long list first and then the exact-length lists from the longest: the same bytes
   in fewer, larger madvise calls, which cost far more per page when short (here, in a VM,
   4096 calls of 8 KiB took 44 ms and one of 32 MiB 3 ms; bench/workloads frag made 294
   calls as its last phases freed, 107 this way; bench/release 3031 rather than 4797),
   while the fragments left resident may yet merge with neighbours freed later. Releasing a span merges it with released neighbours only, so the resident
   list being walked changes by that one span. Spans too young to go set release_at, the
   soonest one of them could, and until then a free does not walk the lists again. */
static size_t segalloc__heap_release_locked(size_t keep, uint64_t min_idle, uint64_t now) {
  size_t released = 0;
  uint64_t soonest = UINT64_MAX;
  /* idle spans: the exact-length lists from the shortest, then the long list (0); at once:
     the long list, then the exact-length lists from the longest */
  unsigned b = min_idle ? segalloc__heap_next_bin(0, 1) : 0;
  while (segalloc__heap.free_resident > keep) {
    for (segalloc__span *s = segalloc__heap.tails[0][b]; s && segalloc__heap.free_resident > keep;) {
      segalloc__span *newer = s->prev;
      if (s->idle_since + min_idle <= now || !min_idle) released += segalloc__heap_release_span(s);
      else if (s->idle_since + min_idle < soonest) soonest = s->idle_since + min_idle;
      s = newer;
    }
    if (min_idle) {
      if (b == 0) break;
      b = segalloc__heap_next_bin(0, b + 1);
    } else {
      b = segalloc__heap_prev_bin(0, b ? b : SEGALLOC__BINS);
      if (b == 0) break;
    }
  }
  /* stopped short of the target: every resident span was looked at, and none is old
     enough before `soonest` (a span freed later is younger than all of them, so it cannot
     bring that forward; heap_free only lowers a `soonest` left at UINT64_MAX) */
  segalloc__heap.release_at = segalloc__heap.free_resident > keep ? soonest : 0;
  if (!min_idle) {
    segalloc__heap.vain = segalloc__heap.free_resident > keep ? segalloc__heap.free_resident : 0;
    segalloc__heap.vain_at = now + SEGALLOC__VAIN_MS;
  }
  /* a release that reached its target shrinks the allowance (one that ran out of idle
     spans would otherwise shrink it on every free) */
  if (released && segalloc__heap.free_resident <= keep) segalloc__heap.retain -= (segalloc__heap.retain - SEGALLOC_RETAIN_BYTES) / 8;
  return released;
}

/* A span of n pages, aligned to align_pages pages (1 for none), or NULL. cls > 0 makes it
   a small span of that class (every page recorded in the page map); 0 a large block. */
/* Released span s (in no list) was found for a request of n pages because no resident span
   was long enough. If a free resident span of fewer than n pages ends where s starts, the
   request starts there instead and takes only the rest from s: otherwise those resident
   pages stay free beside the block while it faults in as many fresh ones (a vector that
   doubles to 256 KiB found 29 or 31 resident pages before the untouched end of the arena,
   and took 32 fresh pages past them). Returns the span to carve n pages from. */
static segalloc__span *segalloc__heap_lean_left(segalloc__span *s, size_t n) {
  segalloc__span *l = segalloc__heap_free_beside(s, -1);
  if (!l || l->released || l->npages >= n) return s;
  size_t from_s = n - l->npages;
  if (from_s < s->npages) {
    segalloc__span *rest = segalloc__span_split(s, from_s);
    if (!rest) return s;
    segalloc__heap_insert(rest);
  }
  segalloc__heap_remove(l);
  l->npages = n;
  l->zeroed = 0;
  l->fresh = 0;
  segalloc__span_delete(s);
  return l;
}

static segalloc__span *segalloc__heap_alloc_cls(size_t n, size_t align_pages, unsigned cls) {
  size_t want = n + align_pages - 1;
  segalloc__lock_acquire(&segalloc__heap.lock);
  if (segalloc__unlikely(!segalloc__heap.ready)) segalloc__heap_init_locked();
  segalloc__span *s = segalloc__heap_find(want);
  if (!s) {
    if (!segalloc__heap_grow()) goto fail;
    s = segalloc__heap_find(want);
    if (!s) goto fail;
  }
  segalloc__heap_remove(s);
  /* faulting in pages we released ourselves: we released too eagerly */
  if (s->released && !s->fresh) {
    size_t cap = SEGALLOC_RETAIN_BYTES + segalloc__heap.small_spans + segalloc__heap.large_live + (n << SEGALLOC__PAGE_SHIFT);
    segalloc__heap.retain = segalloc__heap.retain * 2 < cap ? segalloc__heap.retain * 2 : cap;
  }
  if (s->released && align_pages <= 1) s = segalloc__heap_lean_left(s, n);
  if (align_pages > 1) {
    uintptr_t mask = (align_pages << SEGALLOC__PAGE_SHIFT) - 1;
    size_t lead = (((segalloc__span_start(s) + mask) & ~mask) - segalloc__span_start(s)) >> SEGALLOC__PAGE_SHIFT;
    if (lead) { /* the pages before the aligned start go back free */
      segalloc__span *body = segalloc__span_split(s, lead);
      segalloc__heap_insert(s);
      if (!body) goto fail;
      s = body;
    }
  }
  if (!segalloc__heap_carve(s, n)) { segalloc__heap_merge_insert(s); goto fail; }
  s->state = cls ? SEGALLOC__SPAN_SMALL : SEGALLOC__SPAN_LARGE;
  s->cls = (uint8_t)cls;
  s->released = 0;
  if (cls) segalloc__heap.small_spans += segalloc__span_bytes(s);
  else segalloc__heap.large_live += segalloc__span_bytes(s);
  segalloc__heap_note_use();
  segalloc__pagemap_set(s, cls != 0);
  segalloc__lock_release(&segalloc__heap.lock);
  return s;
fail:
  segalloc__lock_release(&segalloc__heap.lock);
  return NULL;
}

static segalloc__span *segalloc__heap_alloc(size_t npages, size_t align_pages) {
  return segalloc__heap_alloc_cls(npages, align_pages, 0);
}

/* How many free bytes may stay resident: the retain allowance plus twice what the program
   uses from the page heap (see the top of this part). */
static size_t segalloc__heap_retain_limit(void) {
  return segalloc__heap.retain + segalloc__heap_in_use() * 2;
}

/* Take back a small or large span; merge it; release pages past the retain limit. */
static void segalloc__heap_free(segalloc__span *s) {
  segalloc__lock_acquire(&segalloc__heap.lock);
  int small = s->state == SEGALLOC__SPAN_SMALL;
  segalloc__pagemap_clear(s, small);
  if (small) segalloc__heap.small_spans -= segalloc__span_bytes(s);
  else segalloc__heap.large_live -= segalloc__span_bytes(s);
  s->zeroed = 0;
  s->released = 0;
  s->fresh = 0;
  s->freelist = NULL;
  uint64_t now = segalloc__heap_now_ms();
  s->idle_since = now; /* merging keeps s, so a run is as young as its newest part */
  /* never earlier than a waiting span's time (see heap_release_locked), but a bound when
     no span was waiting */
  if (now + SEGALLOC_RELEASE_DELAY_MS < segalloc__heap.release_at) segalloc__heap.release_at = now + SEGALLOC_RELEASE_DELAY_MS;
  segalloc__heap_merge_insert(s);
  size_t in_use = segalloc__heap_in_use();
  if (segalloc__unlikely(segalloc__heap.decay_at > now + 1000)) segalloc__heap.decay_at = now + 1000; /* clock went back */
  if (segalloc__unlikely(now >= segalloc__heap.decay_at)) {
    /* once a second: the allowance halves back towards the base, the peak towards use */
    segalloc__heap.decay_at = now + 1000;
    segalloc__heap.retain -= (segalloc__heap.retain - SEGALLOC_RETAIN_BYTES) / 2;
    segalloc__heap.peak_use -= (segalloc__heap.peak_use - in_use) / 2;
  }
  size_t keep = segalloc__heap_retain_limit();
  if (segalloc__unlikely(segalloc__heap.free_resident > keep)) {
    /* Use down to a small part of its recent peak: the program has let go of its memory,
       so release now. Otherwise the excess is more likely churn (a heap whose free runs
       are too short for the next large request grows beside them, and later frees refill
       them), so release only what has stayed idle, or the pages come straight back as
       page faults. */
    uint64_t min_idle = in_use * SEGALLOC__RELEASE_NOW <= segalloc__heap.peak_use ? 0 : SEGALLOC_RELEASE_DELAY_MS;
    if (min_idle ? now >= segalloc__heap.release_at
                 : !segalloc__heap.vain || segalloc__heap.free_resident >= segalloc__heap.vain + SEGALLOC__VAIN_MARGIN ||
                       now >= segalloc__heap.vain_at)
      segalloc__heap_release_locked(keep / 2, min_idle, now);
  }
  segalloc__lock_release(&segalloc__heap.lock);
}

/* Large block s takes `need` more pages from r, the free span after it, which holds at
   least that many. 0 (nothing changed) when r is longer and no record for its rest could
   be had. */
static int segalloc__heap_grow_right(segalloc__span *s, segalloc__span *r, size_t need) {
  segalloc__heap_remove(r);
  segalloc__span *rest = NULL;
  if (r->npages > need && !(rest = segalloc__span_split(r, need))) {
    segalloc__heap_insert(r); /* put r back as it was */
    return 0;
  }
  if (rest) segalloc__heap_insert(rest);
  size_t first;
  segalloc__arena *a = segalloc__span_arena(s, &first);
  if (s->npages > 1) a->pagemap[first + s->npages - 1] = &segalloc__no_span; /* the old last page is inner now */
  s->npages += need;
  segalloc__pagemap_set(s, 0);
  segalloc__span_delete(r);
  return 1;
}

/* Large block s takes all of r (the free span after it, or NULL) and the end of l (the
   free span before it), `need` pages in all, which they hold; returns s's new start. */
static uintptr_t segalloc__heap_grow_left(segalloc__span *s, segalloc__span *l, segalloc__span *r, size_t need) {
  size_t from_r = r ? r->npages : 0, from_l = need - from_r;
  segalloc__pagemap_clear(s, 0); /* s's old first and last pages are inner now, or set again below */
  if (r) {
    segalloc__heap_remove(r);
    segalloc__span_delete(r);
  }
  segalloc__heap_remove(l);
  if (from_l < l->npages) { /* l keeps its first pages, free as they were */
    l->npages -= from_l;
    segalloc__heap_insert(l);
  } else {
    segalloc__span_delete(l);
  }
  uintptr_t to = segalloc__span_start(s) - (from_l << SEGALLOC__PAGE_SHIFT);
  segalloc__span_set_start(s, to);
  s->npages += need;
  s->zeroed = 0;
  segalloc__pagemap_set(s, 0);
  return to;
}

/* Grow large block s to n pages without moving it anywhere new: into the free span after
   it when that holds enough pages (the start stays), else into that span and the end of
   the free span before it (the start moves down by what it takes from there). Returns s's
   start afterwards, to which the caller moves the block's bytes if it changed (the ranges
   overlap), or 0, nothing changed, when the pages are not there (or the free span after
   it is long enough but no record for its rest could be had). realloc uses it so that a
   growing buffer is not copied, and a vector that doubles next to the hole its last move
   left fills the hole rather than fresh pages (realloc_grow's vectors left free resident
   holes of 16-24 pages just before the 128 KiB block moving to 256 KiB). The debug
   wrappers copy a growing block, hence "unused" in those builds. */
static __attribute__((unused)) uintptr_t segalloc__heap_grow_large(segalloc__span *s, size_t n) {
  uintptr_t to = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  if (s->state == SEGALLOC__SPAN_LARGE && n > s->npages) {
    size_t need = n - s->npages;
    segalloc__span *r = segalloc__heap_free_beside(s, 1), *l;
    if (r && r->npages >= need) {
      if (segalloc__heap_grow_right(s, r, need)) to = segalloc__span_start(s);
    } else if ((l = segalloc__heap_free_beside(s, -1)) && l->npages + (r ? r->npages : 0) >= need) {
      to = segalloc__heap_grow_left(s, l, r, need);
    }
    if (to) {
      segalloc__heap.large_live += need << SEGALLOC__PAGE_SHIFT;
      segalloc__heap_note_use();
    }
  }
  segalloc__lock_release(&segalloc__heap.lock);
  return to;
}

/* ---- huge blocks: a mapping each ---- */

static void *segalloc__huge_alloc(size_t size, size_t align) {
  if (size > SEGALLOC__MAX_REQUEST) return NULL;
  /* whole segalloc pages and whole OS pages (os.c; either may be the larger): the record
     and the statistics then say what the kernel mapped, and os_map trims on OS pages */
  size_t unit = segalloc__os_page > SEGALLOC_PAGE_SIZE ? segalloc__os_page : SEGALLOC_PAGE_SIZE;
  size_t map = (size + unit - 1) & ~(unit - 1);
  /* mapped under the lock, so the mapping and its record appear together (a fork's child
     sees both or neither, and the statistics add up) */
  segalloc__lock_acquire(&segalloc__heap.lock);
  /* aligned to the OS page unless asked for more: with segalloc's 8 KiB over 4 KiB OS pages
     every huge block was over-mapped and trimmed (one more munmap), and lost the 2 MiB
     alignment the kernel gives a large mapping (0 of 20,000 blocks of 40-47 MiB at a
     2 MiB boundary, 10,000 now; found by review) */
  void *p = segalloc__os_map(map, align > segalloc__os_page ? align : segalloc__os_page, 0);
  if (!p) {
    segalloc__lock_release(&segalloc__heap.lock);
    return NULL;
  }
  segalloc__os_thp_huge(p, map);
  segalloc__huge *h = segalloc__heap.huge_spare;
  if (h) segalloc__heap.huge_spare = h->next;
  else h = (segalloc__huge *)segalloc__meta_alloc(sizeof(segalloc__huge));
  if (!h) {
    segalloc__os_unmap(p, map);
    segalloc__lock_release(&segalloc__heap.lock);
    return NULL;
  }
  for (unsigned i = 0; i < SEGALLOC__HUGE_GONE; i++)
    if (segalloc__heap.huge_gone[i] == (uintptr_t)p) segalloc__heap.huge_gone[i] = 0;
  h->block = SEGALLOC__ADDR_CODE(p);
  h->map_size = map;
  h->size = map;
  h->next = segalloc__heap.huge;
  segalloc__heap.huge = h;
  segalloc__heap.huge_live += map;
  segalloc__lock_release(&segalloc__heap.lock);
  return p;
}

/* The huge record for block p (exactly its start when exact, else any address inside);
   caller holds the heap lock. */
static segalloc__huge **segalloc__huge_find_locked(uintptr_t p, int exact) {
  for (segalloc__huge **link = &segalloc__heap.huge; *link; link = &(*link)->next) {
    segalloc__huge *h = *link;
    uintptr_t block = SEGALLOC__ADDR_CODE(h->block);
    if (exact ? block == p : (p >= block && p < block + h->map_size)) return link;
  }
  return NULL;
}

/* Whether p is a huge block freed lately (the last SEGALLOC__HUGE_GONE of them): how a
   second free of one is told from a pointer segalloc never owned, once its mapping is gone. */
static int segalloc__huge_was_freed(uintptr_t p) {
  int found = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  for (unsigned i = 0; i < SEGALLOC__HUGE_GONE; i++) found |= segalloc__heap.huge_gone[i] == p;
  segalloc__lock_release(&segalloc__heap.lock);
  return found;
}

/* Free huge block p: 1 if it was one, 0 if p is no huge block at all. */
static int segalloc__huge_free(uintptr_t p) {
  segalloc__lock_acquire(&segalloc__heap.lock);
  segalloc__huge **link = segalloc__huge_find_locked(p, 1);
  if (!link) {
    segalloc__lock_release(&segalloc__heap.lock);
    return 0;
  }
  segalloc__heap.huge_gone[segalloc__heap.huge_gone_next++ % SEGALLOC__HUGE_GONE] = p;
  segalloc__huge *h = *link;
  *link = h->next;
  segalloc__heap.huge_live -= h->map_size;
  uintptr_t base = SEGALLOC__ADDR_CODE(h->block);
  size_t map = h->map_size;
  h->next = segalloc__heap.huge_spare; /* records are recycled, never unmapped */
  segalloc__heap.huge_spare = h;
  segalloc__os_unmap((void *)base, map);
  segalloc__lock_release(&segalloc__heap.lock);
  return 1;
}

/* Usable size of huge block p, 0 if none; inside != 0 when p is inside one but not at its
   start. */
static size_t segalloc__huge_size(uintptr_t p, int *inside) {
  size_t size = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  segalloc__huge **link = segalloc__huge_find_locked(p, 1);
  if (link) size = (*link)->size;
  else if (inside) *inside = segalloc__huge_find_locked(p, 0) != NULL;
  segalloc__lock_release(&segalloc__heap.lock);
  return size;
}
/* ---- end src/pageheap.c ---- */
/* ---- begin src/central.c ---- */
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
/* ---- end src/central.c ---- */
/* ---- begin src/tcache.c ---- */
/* ---- thread caches ----------------------------------------------------------------------
   See the design comment at the top of the implementation for an overview.

   Owns each thread's free lists, one per size class. No locking is needed: a cache is only
   ever touched by its own thread (other threads only read its counts for statistics, and
   fork's child adopts the caches of threads that no longer exist). The fast paths in
   malloc.c pop and push here inline; this part holds the slow side: the first use in a
   thread, refilling an empty list from the central list, flushing a long one back, the
   byte bound, and giving everything back when the thread exits.

   The cache is reached through one thread-local pointer (with the cache's state byte, the
   fork handler's skip count and os.c's per-thread token, about 16 bytes of static TLS in
   all), so a library that carries the header can be dlopen'ed late. It starts pointing at
   a shared, empty cache whose lists all have room for nothing: the first malloc finds no
   object, the first free finds no room, and both fall into the slow path, which sets the
   real cache up.
   That keeps "is this thread initialised?" off the fast path.

   A list that overflows goes to the central list whole, as one chain; a list that runs dry
   takes a whole chain back when one is parked for its shard (central.c's transfer cache),
   so neither walks the list. A cache joins the shard with the fewest live threads when its
   thread starts (central.c: threads of different shards take their blocks from different
   spans).

   Bound: each list has a maximum length. It starts at 1 and doubles each time the list runs
   dry or overflows, up to the class's batch (slow start: a class the thread barely uses
   costs it a few objects, not a batch). Past a batch, running dry grows it by a batch, at
   most once per tick, up to a per-class cap (16 batches, and no more than half of the
   thread's byte bound: a quarter kept the 8 KiB class at 64 objects, which a loop of 100
   live blocks overflowed every round, each 8 KiB span going back to the page heap and
   out again: 159 instructions per pair in bench/callgrind.py's batch, 110 with half).
   A list that runs dry having taken back, by refills, as many objects as it last handed
   on, within 2 * max of the thread's frees since, grows whatever the tick: the thread
   has used up what it just gave away, cycling through more of the class than the list
   holds (as a loop that allocates and frees 100 blocks at a time does). Measured with
   ticks of 4,096 frees: grown a batch a tick, the 8 KiB list of that loop took 40 rounds
   for each batch, and its blocks went
   through the central list and the page heap meanwhile (the batch rows of
   bench/callgrind.py: 124 instructions a pair at 8 KiB, 69 with this rule; 63 and 62 at
   16 B to 1 KiB). A count wandering up and down at random gets no bigger lists from it
   (mean maximum over 2 million random mallocs and frees: 201 before and after at 64 B,
   143 and 144 at 1 KiB, 78 and 81 at 8 KiB). An overflow past a batch hands objects on.
   A tick comes every SEGALLOC__TICK_FREES frees (a countdown on the free path, which also
   counts frees for the statistics): every list that has not run dry since the last one
   gives half its objects (rounded up) to the central list and halves its maximum, so lists
   shrink to what the thread cycles through rather than the most they ever held. A list of
   one object gives that one: a class the thread has left keeps no block in its cache, and
   its span can go back to the page heap (bench/workloads pairs, one size after another:
   the arena's resident pages at exit 13 -> 7, peak RSS -16 KiB; frag -128 KiB, larson
   -172 KiB; the one-object list of a class in use refills once a tick, 54.06 -> 54.07
   instructions per pair, callgrind). A tick of 16,384
   frees rather than 4,096 (with central.c's idle time cut from 32 ticks to 8, so that it
   still comes to 131,072 frees) took threads_own's CPU from 281 to 264 ms
   (usertime.py -r 21; mimalloc 284) and its time, larson's and batch_lifo's by 4-20 %
   (bench/compare.sh -r 15, both orders); callgrind of bench/workloads at scale 0.3,
   preloaded, counts batch_lifo 91.6M -> 90.3M and threads_own 262.4M -> 257.2M
   instructions. Peak RSS moved by less than 170 KiB on every workload (larson +164 KiB
   the most, 9 rounds). Probably lists halved by a tick came back through the central list
   at the next refill; that was not measured apart. Every 8th slow-path
   event the cache also adds up what it holds (sum of count * size over the lists); past
   SEGALLOC_TCACHE_BYTES it scavenges: every list gives back half of what it holds and
   halves its maximum, though not below a batch. So a thread holds at most the bound plus
   the few batches that can arrive between two checks. The cache keeps the sum of max *
   size over its lists too, and while that is within the bound the lists cannot hold more,
   so the check skips its walk over them.

   A list the thread has never refilled (it only frees the class: a consumer of another
   thread's blocks) holds at most SEGALLOC__FREE_ONLY_BYTES (8 KiB) of objects, or one
   object of a larger class: everything it holds waits to go to the thread that allocates
   them, so a list grown to a batch (9 KiB at 288 bytes, 32-64 KiB for the classes from 1
   KiB up) only adds to the footprint. bench/workloads prodcons, whose consumer frees 45
   classes it never allocates: peak RSS 4916 -> 4196 KiB, glibc 3204 (bench/compare.sh -r
   31 -q; the quartiles, 4568-5036 and 3924-4340, do not overlap), for 4-17 % more CPU in
   five runs of usertime.py -r 21 or 31 (75 -> 83 ms in the last), since the consumer hands
   on a chain, and the producer takes one, for each 8 KiB rather than each batch. */

typedef struct segalloc__tcache {
  /* first, so that malloc adds a list's offset (segalloc__slot_list) to the cache's
     address as it is (in units of 8 bytes, which an address mode scales) */
  segalloc__tlist lists[SEGALLOC__NCLASSES];
  /* the arena free() saw last (see segalloc_free) and its inited mark then, in bytes:
     free's fast path takes an address p as one of its blocks when p - hint_base <
     hint_limit. Both 0 until there is one, which no address passes. In one cache line
     with the next two, which free reads too */
  __attribute__((aligned(64))) uintptr_t hint_base;
  uintptr_t hint_limit;
  uintptr_t cookie;            /* copy of segalloc__cookie, at hand in the fast path */
  uint32_t tick_left;          /* frees until the next tick (segalloc__tcache_tick) */
  unsigned events;             /* slow-path events, for the periodic size check */
  size_t max_bytes;            /* sum of max * size over the lists: what the cache could
                                  hold at most (segalloc__tcache_check_size) */
  uint64_t frees;              /* small frees by this thread, up to its last tick */
  uint32_t max[SEGALLOC__NCLASSES]; /* the most objects each list may hold (slow paths) */
  unsigned char dry[SEGALLOC__NCLASSES]; /* the list ran dry since the last tick */
  unsigned char refilled[SEGALLOC__NCLASSES]; /* it ever ran dry: the thread allocates
                                                 this class, not only frees it */
  /* since the list last overflowed and handed objects on (segalloc__tcache_cycling): how
     many of them refills have not brought back yet (UINT32_MAX: it never has), and the
     thread's frees then (mod 2^32) */
  uint32_t owed[SEGALLOC__NCLASSES];
  uint32_t handed_at[SEGALLOC__NCLASSES];
  unsigned shard;              /* whose spans it takes from (central.c) */
  /* a chain of in_hand_n objects from list in_hand_cls on its way to the central list
     (segalloc__tcache_in_hand); NULL when none */
  void *in_hand;
  uint32_t in_hand_n;
  unsigned in_hand_cls;
  uintptr_t owner;             /* the thread running its key destructor (segalloc__self) */
  struct segalloc__tcache *next, *prev; /* the registry's list it is on: live or exiting */
} segalloc__tcache;

/* The two operations of the fast paths, here once: take the head object of a list (NULL
   when empty), and put a freed object on a list that has room, marking it free. */
/* frees between two ticks of a cache (see segalloc__tcache_tick) */
#define SEGALLOC__TICK_FREES 16384u
/* the most a list that its thread only frees into may hold, in bytes (segalloc__tcache_grow) */
#define SEGALLOC__FREE_ONLY_BYTES 8192u

static segalloc__inline segalloc__nosan void **segalloc__tlist_pop(segalloc__tlist *l) {
  void **o = (void **)l->head;
  if (segalloc__likely(o != NULL)) {
    l->head = segalloc__link(o);
    l->room++;
  }
  return o;
}

static void segalloc__tcache_tick(segalloc__tcache *tc);

/* The caller has taken the unit of room the object uses (l->room--). */
static segalloc__inline segalloc__nosan void segalloc__tlist_push(segalloc__tcache *tc, segalloc__tlist *l, void **o) {
  o[1] = segalloc__free_mark(tc->cookie, o);
  __asm__("" : "+r"(o)); /* two plain stores: gcc would pair them through a vector register */
  segalloc__set_link(o, l->head);
  l->head = o;
  if (segalloc__unlikely(--tc->tick_left == 0)) segalloc__tcache_tick(tc);
}

/* Where p's page-map entry is, when p lies below the inited mark of the arena tc freed into
   last (every entry there is set, pagemap.c); NULL otherwise, and always for the shared
   empty cache. The first step of realloc's and usable_size's fast paths, and of
   free_miss's retry; free's own fast path does the same subtract and compare but reads the
   page's small-map entry instead (malloc.c). */
static segalloc__inline segalloc__span *const *segalloc__tcache_hinted(const segalloc__tcache *tc, uintptr_t p) {
  uintptr_t off = p - tc->hint_base;
  if (segalloc__unlikely(off >= tc->hint_limit)) return NULL;
  return &((const segalloc__arena *)tc->hint_base)->pagemap[off >> SEGALLOC__PAGE_SHIFT];
}

/* The objects on list cls of cache tc. The slow paths work with this count and the
   maximum and write both back through segalloc__tcache_set; the fast paths only move
   `room`. */
static segalloc__inline uint32_t segalloc__tcache_count(const segalloc__tcache *tc, unsigned cls) {
  return tc->max[cls] - (uint32_t)tc->lists[cls].room;
}

/* Make list cls of tc a list of n objects (already linked from its head) with room for max
   (n <= max), keeping the cache's max_bytes in step. */
static segalloc__inline void segalloc__tcache_set(segalloc__tcache *tc, unsigned cls, uint32_t n, uint32_t max) {
  tc->max_bytes += ((size_t)max - tc->max[cls]) * segalloc__class_size[cls]; /* mod 2^N when it shrinks */
  tc->max[cls] = max;
  tc->lists[cls].room = (int32_t)(max - n);
}

/* Lemire's divisibility test in 32 bits: n is a multiple of size when n * magic, mod 2^32,
   is below magic = ceil(2^32 / size). Exact for sizes up to 2^15 and n < 2^17 - size
   (free's n is an offset within a page plus one within an object, below 64 + 32 KiB), and
   tests/test_pageheap.c checks every class, page and byte offset. */
static segalloc__inline uint32_t segalloc__boundary_magic(uint32_t size) {
  return (uint32_t)(UINT32_MAX / size + 1);
}
static segalloc__inline int segalloc__on_boundary(uint32_t n, uint32_t magic) {
  return n * magic < magic;
}

/* A cache with no objects and no room: every fast-path attempt on it fails. Its cookie is a
   value no freed block carries, and its arena hint matches no address. */
static segalloc__tcache segalloc__tc_empty = {{{NULL, 0, 0}}, 0, 0, 0, 0, 0, 0, 0, {0}, {0}, {0}, {0}, {0}, 0, NULL, 0, 0, 0, NULL, NULL};

static segalloc__thread_local segalloc__tcache *segalloc__tc segalloc__tls_attr = &segalloc__tc_empty;
/* 0: no cache yet; 1: initialising (recursion from pthread_setspecific goes to central);
   2: has a cache; 3: exited (its key destructor ran: serve from central directly) */
static segalloc__thread_local unsigned char segalloc__tc_state segalloc__tls_attr;

static struct {
  segalloc__lock lock;       /* the registry: a leaf lock */
  segalloc__tcache live;     /* sentinel */
  segalloc__tcache exiting;  /* sentinel: caches whose thread is emptying them at its exit */
  segalloc__tcache *spare;   /* caches of exited threads, for reuse */
  size_t nthreads;
  uint64_t dead_frees;       /* frees counted by caches that have gone */
  uint64_t direct_frees;     /* small frees that went straight to a central list (atomic) */
  pthread_key_t key;
  int key_ok;
} segalloc__tcaches;


static size_t segalloc__tlist_cap(unsigned cls) {
  size_t size = segalloc__class_size[cls], batch = segalloc__class_batch[cls];
  size_t cap = (size_t)SEGALLOC_TCACHE_BYTES / 2 / size;
  if (cap > batch * 16) cap = batch * 16;
  return cap < batch ? batch : cap;
}

/* Where list cls's surplus goes in the transfer cache: parked for this thread's shard if
   the thread allocates the class too (it will want the objects back), for anyone if it
   only frees them (a consumer's objects are for the producer). */
static unsigned segalloc__tcache_give_to(const segalloc__tcache *tc, unsigned cls) {
  return tc->refilled[cls] ? tc->shard : (unsigned)SEGALLOC__TO_ANY;
}

/* Handing a chain on from list cls: the first n objects, from its head. The chain is
   recorded in tc before it is cut off the list (the cut is a release store after the
   record) and until central_give, under the class lock, clears the record: a fork that
   catches this thread waiting for that lock (the prepare handler holds it) leaves the
   child the record, and the child takes the chain back (segalloc__tcache_adopt). Before
   the cut, the list's head is still the record's: the child then takes the objects from
   the list alone. */
static void segalloc__tcache_in_hand(segalloc__tcache *tc, unsigned cls, uint32_t n) {
  tc->in_hand_cls = cls;
  tc->in_hand_n = n;
  __atomic_store_n(&tc->in_hand, tc->lists[cls].head, __ATOMIC_RELAXED);
}

/* Cut list l to rest: a release store, after the record of the chain, then a release
   fence, which GCC and Clang treat as a barrier for all memory accesses and which orders
   the CPU's stores where it needs to (no instruction on x86). So the plain stores after
   the cut (the list's count, the chain's end) are not seen before it; otherwise a fork's
   child could see the count lowered while the list still starts with the chain, and lose
   the chain. */
static void segalloc__tcache_cut(segalloc__tlist *l, void *rest) {
  __atomic_store_n(&l->head, rest, __ATOMIC_RELEASE);
  segalloc__fence_release();
}

/* Give `n` objects from the head of list cls back to the central list. */
static segalloc__nosan void segalloc__tcache_flush_list(segalloc__tcache *tc, unsigned cls, uint32_t n, unsigned to) {
  segalloc__tlist *l = &tc->lists[cls];
  uint32_t count = segalloc__tcache_count(tc, cls);
  if (n > count) n = count;
  if (!n) return;
  void *head = l->head, **o = (void **)head;
  for (uint32_t i = 1; i < n; i++) o = (void **)segalloc__link(o);
  segalloc__tcache_in_hand(tc, cls, n);
  segalloc__tcache_cut(l, segalloc__link(o));
  segalloc__set_link(o, NULL); /* the batch is a NULL-terminated chain of its own */
  l->room += (int32_t)n;
  segalloc__central_give_for(cls, head, o, (int)n, to, &tc->in_hand);
}

/* Give list cls more room: slow start, doubling from 1 up to a batch, then a batch at a
   time up to its cap. 0 when it is at its cap. A list the thread has only freed into
   (never refilled) ends its slow start at SEGALLOC__FREE_ONLY_BYTES of objects, or one
   object, and grows no further: what it holds is of no use to its own thread (see the top
   of this part). */
static int segalloc__tcache_grow(segalloc__tcache *tc, unsigned cls) {
  uint32_t batch = segalloc__class_batch[cls];
  uint32_t count = segalloc__tcache_count(tc, cls);
  uint32_t start = batch; /* where slow start ends */
  if (!tc->refilled[cls]) {
    start = (uint32_t)(SEGALLOC__FREE_ONLY_BYTES / segalloc__class_size[cls]);
    start = start == 0 ? 1 : start < batch ? start : batch;
  }
  if (tc->max[cls] < start) {
    segalloc__tcache_set(tc, cls, count, tc->max[cls] ? (tc->max[cls] * 2 < start ? tc->max[cls] * 2 : start) : 1);
    return 1;
  }
  if (!tc->refilled[cls] || tc->max[cls] + batch > segalloc__tlist_cap(cls)) return 0;
  segalloc__tcache_set(tc, cls, count, tc->max[cls] + batch);
  return 1;
}

/* Every 8th slow-path event: if the cache holds more than its bound, every list gives back
   half of its objects and halves its maximum (not below a batch; a smaller maximum stays).
   While the lists' maxima add up to no more than the bound, the cache cannot hold more,
   and the walk over the lists is skipped (it was 2.5 % of the frag workload's
   instructions, callgrind). */
static void segalloc__tcache_check_size(segalloc__tcache *tc) {
  if (++tc->events & 7) return;
  if (tc->max_bytes <= (size_t)SEGALLOC_TCACHE_BYTES) return;
  size_t held = 0;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) held += (size_t)segalloc__tcache_count(tc, cls) * segalloc__class_size[cls];
  if (held <= (size_t)SEGALLOC_TCACHE_BYTES) return;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    uint32_t batch = segalloc__class_batch[cls];
    segalloc__tcache_flush_list(tc, cls, (segalloc__tcache_count(tc, cls) + 1) / 2, SEGALLOC__TO_SPANS);
    segalloc__tcache_set(tc, cls, segalloc__tcache_count(tc, cls), tc->max[cls] / 2 < batch ? (tc->max[cls] < batch ? tc->max[cls] : batch) : tc->max[cls] / 2);
  }
}

/* Every SEGALLOC__TICK_FREES frees: a list that has not run dry since the last tick held
   objects the thread did not need all that time, so it gives half of them to the central
   list and halves its maximum (slow start builds it up again if need be). Lists in use keep
   what they have. Without this a list would keep the most it ever held, and a thread that
   uses many classes in turn would hold the sum of those peaks.
   The half goes to the transfer cache as one chain while it has room, not to the spans:
   scattered back into spans, the objects emptied spans that went to the page heap only
   for the next refill to carve a fresh span, touching new pages; measured, this made
   threads_own's spans churn (18,150 fresh spans in one run, 8,484 after) and the batch
   workloads' peak RSS 4.1 MiB instead of 3.4. The transfer cache is bounded
   (SEGALLOC__TRANSFER_BYTES per class), segalloc_trim drains it, and the tick also moves
   on the clock by which a class's idle transfer cache goes back to its spans
   (segalloc__central_decay, central.c). */
static segalloc__noinline segalloc__nosan void segalloc__tcache_tick(segalloc__tcache *tc) {
  tc->frees += SEGALLOC__TICK_FREES;
  tc->tick_left = SEGALLOC__TICK_FREES;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    if (tc->dry[cls]) {
      tc->dry[cls] = 0;
      continue;
    }
    uint32_t count = segalloc__tcache_count(tc, cls);
    if (count) segalloc__tcache_flush_list(tc, cls, (count + 1) / 2, segalloc__tcache_give_to(tc, cls));
    if (tc->max[cls] > 1) segalloc__tcache_set(tc, cls, segalloc__tcache_count(tc, cls), tc->max[cls] / 2);
  }
  segalloc__central_decay();
}

/* Frees by tc's thread so far. */
static uint64_t segalloc__tcache_frees(segalloc__tcache *tc) {
  return segalloc__load_relaxed(&tc->frees) + (SEGALLOC__TICK_FREES - segalloc__load_relaxed(&tc->tick_left));
}

/* List cls runs dry having taken back, by refills, as many objects as it last handed on
   when it overflowed, and within 2 * max of the thread's frees since: the thread has used
   up what it just gave away, so it cycles through more of the class than the list holds
   (as a loop that allocates and frees a hundred blocks at a time does), and the refill
   grows the list by a batch even if it grew this tick. Counting what comes back matters:
   an overflow often leaves the list empty, and a count that wanders up and down at random
   then runs dry at once, but only after it has taken the chain back does it look like a
   cycle, and from there it takes about max^2 steps to run dry again. A thread that only
   frees the class never runs dry, so it keeps handing its objects on. */
static int segalloc__tcache_cycling(segalloc__tcache *tc, unsigned cls) {
  return tc->owed[cls] == 0 && (uint32_t)segalloc__tcache_frees(tc) - tc->handed_at[cls] <= 2 * tc->max[cls];
}

/* Everything back to the central lists. UINT32_MAX asks flush_list for the whole list (it
   caps n at the count). Passing the count itself here, as this once did, made GCC 12 for
   aarch64 at -O1 and up drop every call to this function (segalloc_thread_flush compiled
   to a bare ret, and thread exit and segalloc_trim flushed nothing); -fno-ipa-modref with
   -fno-ipa-pure-const, or -fno-delete-null-pointer-checks, kept them. Clang, and GCC for
   x86-64, were not affected. tests/run_cross.sh builds the tests for aarch64 and runs
   them under qemu-user. */
static void segalloc__tcache_flush_all(segalloc__tcache *tc) {
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    segalloc__tcache_flush_list(tc, cls, UINT32_MAX, SEGALLOC__TO_SPANS);
    segalloc__tcache_set(tc, cls, 0, 0);
  }
}

/* Unlink tc from the registry's list it is on (caller holds the registry lock). */
static void segalloc__tcache_unlink(segalloc__tcache *tc) {
  tc->prev->next = tc->next;
  tc->next->prev = tc->prev;
}

/* Take tc out of the live caches, so segalloc_stats no longer reads it, onto the exiting
   ones, where a fork's child still finds it (segalloc__fork_child) until it is retired. */
static void segalloc__tcache_unregister(segalloc__tcache *tc) {
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  segalloc__tcache_unlink(tc);
  tc->owner = segalloc__self();
  tc->next = segalloc__tcaches.exiting.next;
  tc->prev = &segalloc__tcaches.exiting;
  tc->next->prev = tc;
  segalloc__tcaches.exiting.next = tc;
  segalloc__tcaches.nthreads--;
  segalloc__store_relaxed(&segalloc__shard_threads[tc->shard], segalloc__shard_threads[tc->shard] - 1);
  segalloc__tcaches.dead_frees += segalloc__tcache_frees(tc);
  tc->frees = 0;
  tc->tick_left = SEGALLOC__TICK_FREES;
  segalloc__lock_release(&segalloc__tcaches.lock);
}

/* An unregistered, emptied cache goes from the exiting ones to the spare list, for the
   next new thread. */
static void segalloc__tcache_retire(segalloc__tcache *tc) {
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  segalloc__tcache_unlink(tc);
  tc->next = segalloc__tcaches.spare;
  segalloc__tcaches.spare = tc;
  segalloc__lock_release(&segalloc__tcaches.lock);
}

/* The pthread key destructor: the thread is exiting. Later frees and mallocs on this thread
   (other destructors) go straight to the central lists. */
static void segalloc__tcache_exit(void *arg) {
  segalloc__tcache *tc = (segalloc__tcache *)arg;
  /* out of the registry before emptying it: a concurrent segalloc_stats must not read the
     counts while this thread rewrites them (until the flush ends, its objects count as
     live). And only then off the thread: until unregister has recorded this thread as the
     owner, a fork from a signal handler here must find the cache as this thread's own
     (fork_child skips it either way), or its child would adopt and retire the cache that
     this destructor goes on to unregister and retire again */
  segalloc__tcache_unregister(tc);
  segalloc__tc = &segalloc__tc_empty;
  segalloc__tc_state = 3;
  segalloc__vg_quiet();
  segalloc__tcache_flush_all(tc);
  /* the last thread of its shard: what it parked would wait for a thread that may never
     come, pinning its spans (bench/release.sh: 35 MiB of 1 GiB still resident a second
     after the frees, 7.4 MiB with this) */
  if (segalloc__shard_idle(tc->shard)) segalloc__central_drain((int)tc->shard);
  segalloc__vg_loud();
  segalloc__tcache_retire(tc);
}

/* fork's child: take back the objects in the cache of a thread that did not survive the
   fork. That thread may have been stopped in the middle of a lock-free push or pop, so the
   list is walked warily: at most `count` steps, stopping at NULL, and only objects that are
   object boundaries of a span of the class and carry their free mark are given back. An
   object caught in mid-operation is lost to the child, as it would be in any allocator.
   A chain on its way between the list and the central list (handed on, or taken by a
   refill) comes back from the record of it (segalloc__tcache_in_hand), unless the list
   already or still starts with it. */
static segalloc__nosan void segalloc__tcache_adopt_chain(unsigned cls, void *first, uint32_t count) {
  void *head = NULL;
  int n = 0;
  void **o = (void **)first;
  for (uint32_t i = 0; o && i < count; i++) {
    void **next = (void **)segalloc__link(o);
    segalloc__arena *a = segalloc__arena_of((uintptr_t)o);
    segalloc__span *s = a ? segalloc__pagemap_entry(a, (uintptr_t)o) : NULL;
    if (!segalloc__check_object(s, (uintptr_t)o) || s->cls != cls || o[1] != segalloc__free_mark(segalloc__cookie, o)) break;
    segalloc__set_link(o, head);
    head = o;
    n++;
    o = next;
  }
  if (n) segalloc__central_give(cls, head, NULL, n, SEGALLOC__TO_SPANS);
}

static segalloc__nosan void segalloc__tcache_adopt(segalloc__tcache *tc) {
  void *in_hand = tc->in_hand;
  unsigned in_hand_cls = tc->in_hand_cls;
  if (in_hand && (in_hand_cls == 0 || in_hand_cls >= SEGALLOC__NCLASSES || tc->lists[in_hand_cls].head == in_hand))
    in_hand = NULL; /* not cut off yet: the list has it */
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    segalloc__tlist *l = &tc->lists[cls];
    void *first = l->head;
    uint32_t count = segalloc__tcache_count(tc, cls);
    l->head = NULL;
    segalloc__tcache_set(tc, cls, 0, 0);
    segalloc__tcache_adopt_chain(cls, first, count);
  }
  if (in_hand) segalloc__tcache_adopt_chain(in_hand_cls, in_hand, tc->in_hand_n);
  tc->in_hand = NULL;
  /* class 0 holds nothing, but the thread may have died inside free between taking
     and giving back its unit of room (or inside tcache_set, between a max and the sum) */
  segalloc__tcache_set(tc, 0, 0, 0);
  tc->max_bytes = 0;
}

static void segalloc__global_init(void);

/* A library carrying segalloc that is dlclose'd takes the key destructor's code with it: a
   thread that exits afterwards must not call it. (The caches of live threads then stay as
   they are; the library's memory is not returned either way.) */
__attribute__((destructor)) static void segalloc__tcache_unload(void) {
  if (segalloc__tcaches.key_ok) {
    segalloc__tcaches.key_ok = 0;
    pthread_key_delete(segalloc__tcaches.key);
  }
}

/* Set up this thread's cache; NULL if it cannot be (no memory, or recursion during set-up),
   in which case the caller serves the request from the central list directly. */
static segalloc__noinline segalloc__tcache *segalloc__tcache_init(void) {
  if (segalloc__tc_state != 0) return NULL;
  segalloc__tc_state = 1;
  segalloc__global_init();
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  segalloc__tcache *tc = segalloc__tcaches.spare;
  if (tc) segalloc__tcaches.spare = tc->next;
  segalloc__lock_release(&segalloc__tcaches.lock);
  if (!tc) {
    tc = (segalloc__tcache *)segalloc__meta_alloc(sizeof(segalloc__tcache));
    if (!tc) { segalloc__tc_state = 0; return NULL; }
  }
  tc->cookie = segalloc__cookie;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) tc->lists[cls].magic = segalloc__boundary_magic(segalloc__class_size[cls]);
  tc->hint_base = tc->hint_limit = 0;
  tc->tick_left = SEGALLOC__TICK_FREES;
  memset(tc->dry, 0, sizeof tc->dry); /* a reused cache: not its last owner's */
  memset(tc->refilled, 0, sizeof tc->refilled);
  memset(tc->owed, 0xff, sizeof tc->owed); /* UINT32_MAX: never handed anything on */
  if (segalloc__tcaches.key_ok) pthread_setspecific(segalloc__tcaches.key, tc);
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  tc->shard = 0; /* the shard with the fewest live threads */
  for (unsigned k = 1; k < SEGALLOC__SHARDS; k++)
    if (segalloc__shard_threads[k] < segalloc__shard_threads[tc->shard]) tc->shard = k;
  segalloc__store_relaxed(&segalloc__shard_threads[tc->shard], segalloc__shard_threads[tc->shard] + 1);
  tc->next = segalloc__tcaches.live.next;
  tc->prev = &segalloc__tcaches.live;
  tc->next->prev = tc;
  segalloc__tcaches.live.next = tc;
  segalloc__tcaches.nthreads++;
  segalloc__lock_release(&segalloc__tcaches.lock);
  segalloc__tc = tc;
  segalloc__tc_state = 2;
  return tc;
}

/* The cache to use in a slow path, or NULL to bypass caching. */
static segalloc__inline segalloc__tcache *segalloc__tcache_get(void) {
  segalloc__tcache *tc = segalloc__tc;
  if (segalloc__likely(tc != &segalloc__tc_empty)) return tc;
  return segalloc__tcache_init();
}

/* malloc's slow path for a small class: refill the list, then pop. */
static segalloc__nosan void *segalloc__tcache_refill(unsigned cls) {
  segalloc__tcache *tc = segalloc__tcache_get();
  void *head;
  if (!tc) {
    /* no cache (the thread is past its exit, or set-up failed): one object. A refill can
       come back with a whole chain from the transfer cache; all but the first go back, or
       they would stay out of the central list's count with no cache holding them (seen
       as a block of a key destructor that never came back, in test_faults' storm) */
    int got = segalloc__central_take(cls, &head, 1, 0);
    if (got > 1) {
      void *rest = segalloc__link((void **)head);
      segalloc__set_link((void **)head, NULL);
      segalloc__central_give(cls, rest, NULL, got - 1, SEGALLOC__TO_ANY);
    }
    return got ? head : NULL;
  }
  segalloc__tlist *l = &tc->lists[cls]; /* empty: caches of exited threads are reused empty */
  segalloc__tcache_check_size(tc);
  /* the list ran dry: it may hold more next time (below a batch at once; above, once per
     tick, so that ticks and dry spells balance) */
  tc->refilled[cls] = 1; /* first: a list that was free-only until now grows as any other */
  if (tc->max[cls] < segalloc__class_batch[cls] || !tc->dry[cls] || segalloc__tcache_cycling(tc, cls)) segalloc__tcache_grow(tc, cls);
  tc->dry[cls] = 1;
  uint32_t want = tc->max[cls] < segalloc__class_batch[cls] ? tc->max[cls] : segalloc__class_batch[cls];
  if (want == 0) want = 1;
  tc->in_hand_cls = cls; /* the take records the chain in hand (segalloc__tcache_in_hand) */
  int got = segalloc__central_take_for(cls, &head, (int)want, tc->shard, &tc->in_hand, &tc->in_hand_n);
  if (!got) return NULL;
  uint32_t *owed = &tc->owed[cls]; /* what came back counts against the last overflow */
  if (*owed != UINT32_MAX) *owed = (uint32_t)got < *owed ? *owed - (uint32_t)got : 0;
  void **o = (void **)head;
  uint32_t count = (uint32_t)got - 1;
  /* a whole chain from another thread's list may be longer than this one's maximum. The
     count first, then the head, then the record goes: a fork's child sees the record
     until the list has the chain, with its count (segalloc__tcache_adopt) */
  segalloc__tcache_set(tc, cls, count, count > tc->max[cls] ? count : tc->max[cls]);
  segalloc__tcache_cut(l, segalloc__link(o));
  __atomic_store_n(&tc->in_hand, NULL, __ATOMIC_RELEASE);
  return o;
}

/* A small object given back past the thread cache: parked in the transfer cache for `to`
   (SEGALLOC__TO_ANY), or back in its span (SEGALLOC__TO_SPANS). */
static segalloc__nosan void segalloc__small_free_direct(void *p, unsigned cls, unsigned to) {
  void **o = (void **)p;
  segalloc__set_link(o, NULL);
  o[1] = segalloc__free_mark(segalloc__cookie, o);
  segalloc__central_give(cls, p, p, 1, to);
  segalloc__add_relaxed(&segalloc__tcaches.direct_frees, 1);
}

/* free's slow path for a small object whose list is full (or not set up). */
static segalloc__nosan void segalloc__tcache_overflow(void *p, unsigned cls) {
  segalloc__tcache *tc = segalloc__tcache_get();
  void **o = (void **)p;
  if (tc) {
    segalloc__tlist *l = &tc->lists[cls];
    segalloc__tcache_check_size(tc);
    /* full: below a batch the list grows (slow start); at a batch or more it hands objects
       on (only running dry grows it further, see segalloc__tcache_cycling) */
    uint32_t count = segalloc__tcache_count(tc, cls);
    if (count >= tc->max[cls] && !(tc->max[cls] < segalloc__class_batch[cls] && segalloc__tcache_grow(tc, cls)) && count) {
      tc->handed_at[cls] = (uint32_t)segalloc__tcache_frees(tc);
      if (count <= segalloc__transfer_cap(cls)) {
        /* the list is full: hand all of it to the central list as one chain, in O(1)
           (cutting a batch off would walk the list, a cache miss per object). The list
           is emptied first: a fork in between must not leave the child a cache that
           still holds objects the central list has too. */
        void *head = l->head;
        segalloc__tcache_in_hand(tc, cls, count);
        segalloc__tcache_cut(l, NULL);
        segalloc__tcache_set(tc, cls, 0, tc->max[cls]);
        segalloc__central_give_for(cls, head, NULL, (int)count, segalloc__tcache_give_to(tc, cls), &tc->in_hand);
        tc->owed[cls] = count;
      } else {
        /* more than the transfer cache could take whole (large classes): a batch, which
           it can, rather than the whole list to the spans one object at a time */
        segalloc__tcache_flush_list(tc, cls, segalloc__class_batch[cls], segalloc__tcache_give_to(tc, cls));
        tc->owed[cls] = segalloc__class_batch[cls];
      }
    }
    if (l->room > 0) {
      l->room--;
      segalloc__tlist_push(tc, l, o);
      return;
    }
  }
  /* no cache (or a list with no room at all): straight to the central list */
  segalloc__small_free_direct(p, cls, SEGALLOC__TO_ANY);
}
/* ---- end src/tcache.c ---- */
/* ---- begin src/malloc.c ---- */
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
/* ---- end src/malloc.c ---- */
/* ---- begin src/debug.c ---- */
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
/* ---- end src/debug.c ---- */
/* ---- begin src/stats.c ---- */
/* ---- statistics ---------------------------------------------------------------------
   See the design comment at the top of the implementation for an overview.

   Owns nothing but the arithmetic: every other layer keeps its own counts under its own
   lock (or per thread), and this part adds them up, Go MemStats style. Each byte of mapped
   memory is in exactly one state, so the fields add up:
     mapped = live + thread_cached + central + pageheap_free + released + metadata
   The snapshot takes the locks one at a time, so it is exact when other threads are quiet
   and close otherwise; thread caches are read without their owners' cooperation: a
   list's length is max - room, two words its owner may be rewriting in a slow path at that
   moment (a grow or refill), so a busy thread's cached count can be off by up to a batch
   per list (never negative), and its free count by one tick's SEGALLOC__TICK_FREES (16,384)
   while it is at its tick. With the other threads quiet, every figure is exact.

   segalloc_print_stats formats with the fatal-error path's number printer and write(2):
   no stdio, no allocation, so it is safe in a signal handler's neighbourhood and at exit. */

/* What a thread's cache holds, class by class (added to cached[]), and its small frees,
   read from any thread: per list max - room, and the free count, from words the owner
   writes without atomics (room and the tick count on every malloc or free). The read is
   racy by design (see above): volatile, so that each word is read once as it stands, and
   left out of ThreadSanitizer's instrumentation, which would rightly call it a race; a
   stale pair counts as nothing rather than as a negative. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
__attribute__((no_sanitize("thread")))
#endif
static uint64_t segalloc__stats_read_cache(const segalloc__tcache *tc, size_t *cached) {
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) {
    int64_t n = (int64_t)*(const volatile uint32_t *)&tc->max[c] - *(const volatile int32_t *)&tc->lists[c].room;
    cached[c] += n > 0 ? (size_t)n : 0;
  }
  return *(const volatile uint64_t *)&tc->frees + (SEGALLOC__TICK_FREES - *(const volatile uint32_t *)&tc->tick_left);
}

SEGALLOCDEF void segalloc_stats(segalloc_stats_t *out) {
  memset(out, 0, sizeof *out);
  size_t cached[SEGALLOC__NCLASSES];
  memset(cached, 0, sizeof cached);
  uint64_t small_frees = 0;
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  if (segalloc__tcaches.live.next) {
    for (segalloc__tcache *tc = segalloc__tcaches.live.next; tc != &segalloc__tcaches.live; tc = tc->next)
      small_frees += segalloc__stats_read_cache(tc, cached);
  }
  small_frees += segalloc__tcaches.dead_frees;
  out->threads = segalloc__tcaches.nthreads;
  segalloc__lock_release(&segalloc__tcaches.lock);
  small_frees += segalloc__load_relaxed(&segalloc__tcaches.direct_frees);

  size_t small_out_bytes = 0, small_in_use = 0;
  out->nclasses = SEGALLOC__NCLASSES;
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) {
    segalloc__central *cen = &segalloc__centrals[c];
    segalloc__lock_acquire(&cen->lock);
    size_t taken = (size_t)cen->out, spans = cen->nspans;
    segalloc__lock_release(&cen->lock);
    size_t size = segalloc__class_size[c];
    size_t in_use = taken > cached[c] ? taken - cached[c] : 0;
    out->classes[c].size = size;
    out->classes[c].objects_in_use = in_use;
    out->classes[c].objects_cached = cached[c];
    out->classes[c].spans = spans;
    small_out_bytes += taken * size;
    small_in_use += in_use;
    out->live += in_use * size;
    out->thread_cached += cached[c] * size;
  }

  segalloc__lock_acquire(&segalloc__heap.lock);
  /* the classes' counts were read before this lock: spans given back since then can leave
     small_spans below them for a moment (never report a wrapped difference) */
  out->central = segalloc__heap.small_spans > small_out_bytes ? segalloc__heap.small_spans - small_out_bytes : 0;
  out->pageheap_free = segalloc__heap.free_resident;
  out->released = segalloc__heap.free_released;
  out->large_live = segalloc__heap.large_live;
  out->huge_live = segalloc__heap.huge_live;
  out->arenas = segalloc__heap.narenas;
  size_t headers = segalloc__heap.header_bytes;
  segalloc__lock_release(&segalloc__heap.lock);
  out->live += out->large_live + out->huge_live;

  segalloc__lock_acquire(&segalloc__meta.lock);
  out->metadata = (size_t)segalloc__meta.bytes + headers;
  size_t meta_mapped = (size_t)segalloc__meta.bytes;
  segalloc__lock_release(&segalloc__meta.lock);
  out->mapped = (size_t)segalloc__load_relaxed(&segalloc__os_stats.mapped) + meta_mapped;
  out->releases = segalloc__load_relaxed(&segalloc__os_stats.releases);

  uint64_t large_m = segalloc__load_relaxed(&segalloc__global.large_mallocs);
  uint64_t large_f = segalloc__load_relaxed(&segalloc__global.large_frees);
  out->frees = small_frees + large_f;
  out->mallocs = small_frees + small_in_use + large_m;
}

/* One "  label   value[ unit]" line into buf at *n. */
static void segalloc__stat_line(char *buf, size_t *n, size_t cap, const char *label, uint64_t v, const char *unit) {
  char num[32];
  const char *parts[4] = {"  ", label, segalloc__fmt_u(num, v, 0), unit};
  for (int i = 0; i < 4; i++) {
    for (const char *s = parts[i]; *s && *n + 1 < cap; s++) buf[(*n)++] = *s;
    if (i == 1)
      for (size_t pad = strlen(label); pad < 20 && *n + 1 < cap; pad++) buf[(*n)++] = ' ';
  }
  if (*n + 1 < cap) buf[(*n)++] = '\n';
  buf[*n] = 0;
}

SEGALLOCDEF void segalloc_print_stats(int fd) {
  segalloc_stats_t st;
  segalloc_stats(&st);
  char buf[1024], num[32];
  size_t n = 0;
  buf[0] = 0;
  segalloc__stat_line(buf, &n, sizeof buf, "mallocs", st.mallocs, "");
  segalloc__stat_line(buf, &n, sizeof buf, "frees", st.frees, "");
  segalloc__stat_line(buf, &n, sizeof buf, "live", st.live, " bytes in blocks the program holds");
  segalloc__stat_line(buf, &n, sizeof buf, "thread caches", st.thread_cached, " bytes free in thread caches");
  segalloc__stat_line(buf, &n, sizeof buf, "central lists", st.central, " bytes free in spans of central lists");
  segalloc__stat_line(buf, &n, sizeof buf, "page heap free", st.pageheap_free, " bytes free, resident, kept for reuse");
  segalloc__stat_line(buf, &n, sizeof buf, "released", st.released, " bytes given back to the OS (not in RSS)");
  segalloc__stat_line(buf, &n, sizeof buf, "metadata", st.metadata, " bytes");
  segalloc__stat_line(buf, &n, sizeof buf, "mapped", st.mapped, " bytes of address space");
  segalloc__stat_line(buf, &n, sizeof buf, "madvise calls", st.releases, "");
  segalloc__stat_line(buf, &n, sizeof buf, "arenas", st.arenas, "");
  segalloc__stat_line(buf, &n, sizeof buf, "threads", st.threads, " with a cache");
  segalloc__write(fd, "segalloc 0.1 stats (pid ");
  segalloc__write(fd, segalloc__fmt_u(num, (uint64_t)getpid(), 0));
  segalloc__write(fd, ")\n");
  segalloc__write(fd, buf);
  segalloc__write(fd, "  class     size   in use   cached    spans\n");
  for (unsigned c = 1; c < st.nclasses; c++) {
    segalloc_class_stats *k = &st.classes[c];
    if (!k->objects_in_use && !k->objects_cached && !k->spans) continue;
    uint64_t cols[5] = {c, k->size, k->objects_in_use, k->objects_cached, k->spans};
    char line[96];
    size_t m = 0;
    for (int i = 0; i < 5; i++) {
      segalloc__fmt_u(num, cols[i], 0);
      for (size_t pad = strlen(num); pad < (i ? 9u : 7u); pad++) line[m++] = ' ';
      for (const char *s = num; *s; s++) line[m++] = *s;
    }
    line[m++] = '\n';
    line[m] = 0;
    segalloc__write(fd, line);
  }
}

/* SEGALLOC_SHOW_STATS=1: the report on stderr at exit, in any program carrying the
   implementation (the preloaded library included), through the copy of stderr taken at
   the first allocation. Not when that descriptor no longer refers to the same file (a
   program that closes its descriptors and opens others: the report would land in its
   data), nor on a pipe or socket whose reader has gone (the write would raise SIGPIPE
   and change the program's exit status). */
__attribute__((destructor)) static void segalloc__show_stats_at_exit(void) {
  int fd = segalloc__global.stats_fd;
  if (!segalloc__global.done || fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != segalloc__global.stats_dev || (uint64_t)st.st_ino != segalloc__global.stats_ino) return;
  struct pollfd p = {fd, POLLOUT, 0}; /* a pipe whose reader has gone reports POLLERR */
  if (poll(&p, 1, 0) != 1 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return;
  segalloc_print_stats(fd);
}
/* ---- end src/stats.c ---- */
/* ---- begin src/override.c ---- */
/* ---- override: the standard names -----------------------------------------------------
   See the design comment at the top of the implementation for an overview.

   With SEGALLOC_OVERRIDE defined where the implementation is compiled, this part defines
   malloc and its relatives, glibc's __libc_* entry points, and (when that file is C++, or
   from C with SEGALLOC_OVERRIDE_NEW, by their ABI names) every form of operator new and
   delete, all mapped onto the segalloc_* functions. Built into a shared library (`make
   preload`) it replaces the system allocator under LD_PRELOAD; linked into a program it
   replaces it for that program. It owns no state, but for the C build's operators: whether
   the program defines operators of its own, and the C++ runtime's, found once.

   malloc, free, calloc and realloc are aliases of the segalloc_* symbols rather than
   wrappers, so a call through the PLT lands straight in the allocator. The rest are thin
   wrappers. Glibc declares these functions noexcept in C++, so the definitions say so too. */
#ifdef SEGALLOC_OVERRIDE

#include <malloc.h>

#if defined(__cplusplus)
#define SEGALLOC__NOEXCEPT noexcept
extern "C" {
#else
#define SEGALLOC__NOEXCEPT
#endif

#define SEGALLOC__ALIAS(target) __attribute__((alias(#target), visibility("default"), used))
#define SEGALLOC__EXPORT __attribute__((visibility("default"), used))

#if defined(__cplusplus) && defined(SEGALLOC_STATIC)
/* clang cannot alias a static function in C++ (it mangles the name of a function with
   internal linkage, extern "C" or not): wrappers then */
SEGALLOC__EXPORT void *malloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_malloc(size); }
SEGALLOC__EXPORT void free(void *ptr) SEGALLOC__NOEXCEPT { segalloc_free(ptr); }
SEGALLOC__EXPORT void *calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT { return segalloc_calloc(count, size); }
SEGALLOC__EXPORT void *realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT { return segalloc_realloc(ptr, size); }
SEGALLOC__EXPORT void *__libc_malloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_malloc(size); }
SEGALLOC__EXPORT void __libc_free(void *ptr) SEGALLOC__NOEXCEPT { segalloc_free(ptr); }
SEGALLOC__EXPORT void *__libc_calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT { return segalloc_calloc(count, size); }
SEGALLOC__EXPORT void *__libc_realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT { return segalloc_realloc(ptr, size); }
#else
void *malloc(size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_malloc);
void free(void *ptr) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_free);
void *calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_calloc);
void *realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_realloc);
void *__libc_malloc(size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_malloc);
void __libc_free(void *ptr) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_free);
void *__libc_calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_calloc);
void *__libc_realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_realloc);
#endif

SEGALLOC__EXPORT void *reallocarray(void *ptr, size_t count, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_reallocarray(ptr, count, size);
}
SEGALLOC__EXPORT void *aligned_alloc(size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_aligned_alloc(alignment, size);
}
SEGALLOC__EXPORT int posix_memalign(void **out, size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_posix_memalign(out, alignment, size);
}
SEGALLOC__EXPORT void *memalign(size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_memalign(alignment, size);
}
SEGALLOC__EXPORT void *__libc_memalign(size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_memalign(alignment, size);
}
SEGALLOC__EXPORT void *valloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_valloc(size); }
SEGALLOC__EXPORT void *__libc_valloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_valloc(size); }
SEGALLOC__EXPORT void *pvalloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_pvalloc(size); }
SEGALLOC__EXPORT void *__libc_pvalloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_pvalloc(size); }
SEGALLOC__EXPORT size_t malloc_usable_size(void *ptr) SEGALLOC__NOEXCEPT { return segalloc_usable_size(ptr); }
SEGALLOC__EXPORT void free_sized(void *ptr, size_t size) SEGALLOC__NOEXCEPT { segalloc_free_sized(ptr, size); }
SEGALLOC__EXPORT void free_aligned_sized(void *ptr, size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  segalloc_free_aligned_sized(ptr, alignment, size);
}
SEGALLOC__EXPORT void cfree(void *ptr) SEGALLOC__NOEXCEPT { segalloc_free(ptr); }
SEGALLOC__EXPORT void malloc_stats(void) SEGALLOC__NOEXCEPT { segalloc_print_stats(2); }
SEGALLOC__EXPORT int malloc_trim(size_t pad) SEGALLOC__NOEXCEPT {
  (void)pad;
  return segalloc_trim() > 0;
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
/* mallinfo2 in glibc's terms, from segalloc's statistics: blocks with a mapping of their
   own are glibc's mmapped chunks (hblks, hblkhd) and counted nowhere else; uordblks is
   the rest of what the program holds, fordblks the free bytes in caches, central lists and
   the page heap, arena the two together (as glibc's arena = uordblks + fordblks), keepcost
   the free resident pages that malloc_trim would give back. Not reported: released pages
   and metadata (segalloc_stats has them). */
static size_t segalloc__huge_count(void) {
  size_t n = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  for (const segalloc__huge *h = segalloc__heap.huge; h; h = h->next) n++;
  segalloc__lock_release(&segalloc__heap.lock);
  return n;
}

SEGALLOC__EXPORT struct mallinfo2 mallinfo2(void) SEGALLOC__NOEXCEPT {
  segalloc_stats_t st;
  segalloc_stats(&st);
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.hblks = segalloc__huge_count();
  mi.hblkhd = st.huge_live;
  mi.uordblks = st.live - st.huge_live;
  mi.fordblks = st.thread_cached + st.central + st.pageheap_free;
  mi.arena = mi.uordblks + mi.fordblks;
  mi.keepcost = st.pageheap_free;
  return mi;
}

/* The old interface, with int fields: each clamped at INT_MAX (glibc's wraps). */
static int segalloc__int_field(size_t v) { return v > (size_t)INT_MAX ? INT_MAX : (int)v; }
SEGALLOC__EXPORT struct mallinfo mallinfo(void) SEGALLOC__NOEXCEPT {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = segalloc__int_field(m2.arena);
  mi.hblks = segalloc__int_field(m2.hblks);
  mi.hblkhd = segalloc__int_field(m2.hblkhd);
  mi.uordblks = segalloc__int_field(m2.uordblks);
  mi.fordblks = segalloc__int_field(m2.fordblks);
  mi.keepcost = segalloc__int_field(m2.keepcost);
  return mi;
}
#endif

#if defined(__cplusplus)
} /* extern "C" */
#endif

/* malloc's fast path inline in operator new (a debug build's wrappers are the public
   functions): bench/newdelete.cpp compiled in with the header as C++, 62.1 -> 55.1
   instructions a `new S; delete p` pair (callgrind) */
#if SEGALLOC__WRAPPED
#define SEGALLOC__NEW_MALLOC segalloc_malloc
#else
#define SEGALLOC__NEW_MALLOC segalloc__malloc_inline
#endif

#if defined(__cplusplus)
#include <new>

/* operator new's failure path: call the new_handler until it gives up, then throw (or, for
   the nothrow forms, return NULL). */
static segalloc__noinline void *segalloc__new_retry(size_t size, size_t align, bool nothrow) {
  for (;;) {
    void *p = align ? segalloc_aligned_alloc(align, size) : segalloc_malloc(size);
    if (p) return p;
    std::new_handler h = std::get_new_handler();
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    if (!h) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    if (nothrow) {
      try { h(); } catch (...) { return nullptr; }
    } else {
      h();
    }
#else
    /* built with -fno-exceptions: a failure that would throw stops the program, as
       libstdc++'s own operator new does in such a build */
    if (!h) {
      if (nothrow) return nullptr;
      segalloc__write(2, "segalloc: error: operator new failed (out of memory), and exceptions are disabled\n");
      abort();
    }
    h();
#endif
  }
}

static segalloc__inline segalloc__nosan void *segalloc__new(size_t size) {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return segalloc__likely(p != nullptr) ? p : segalloc__new_retry(size, 0, false);
}

SEGALLOC__EXPORT segalloc__nosan void *operator new(size_t size) { return segalloc__new(size); }
SEGALLOC__EXPORT segalloc__nosan void *operator new[](size_t size) { return segalloc__new(size); }
SEGALLOC__EXPORT segalloc__nosan void *operator new(size_t size, const std::nothrow_t &) noexcept {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return p ? p : segalloc__new_retry(size, 0, true);
}
SEGALLOC__EXPORT segalloc__nosan void *operator new[](size_t size, const std::nothrow_t &) noexcept {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return p ? p : segalloc__new_retry(size, 0, true);
}
SEGALLOC__EXPORT void operator delete(void *p) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete(void *p, const std::nothrow_t &) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, const std::nothrow_t &) noexcept { segalloc_free(p); }
#if defined(__cpp_sized_deallocation) || __cplusplus >= 201402L
SEGALLOC__EXPORT void operator delete(void *p, size_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, size_t) noexcept { segalloc_free(p); }
#endif
#if defined(__cpp_aligned_new)
SEGALLOC__EXPORT void *operator new(size_t size, std::align_val_t al) {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, false);
}
SEGALLOC__EXPORT void *operator new[](size_t size, std::align_val_t al) {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, false);
}
SEGALLOC__EXPORT void *operator new(size_t size, std::align_val_t al, const std::nothrow_t &) noexcept {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, true);
}
SEGALLOC__EXPORT void *operator new[](size_t size, std::align_val_t al, const std::nothrow_t &) noexcept {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, true);
}
SEGALLOC__EXPORT void operator delete(void *p, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete(void *p, size_t, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, size_t, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { segalloc_free(p); }
#endif
#endif /* __cplusplus */

/* ---- operator new and delete from a C build (SEGALLOC_OVERRIDE_NEW) ----

   The preload library is C, so that C programs need not load a C++ runtime; but a C++
   program under it would then reach segalloc through its runtime's operator new, a wrapper
   that loops on malloc with the new_handler (callgrind, bench/newdelete.sh: 74.1
   instructions a `new S; delete p` pair with S of 64 bytes, 59.1 with segalloc's own
   operators; malloc/free is 54.1). So with SEGALLOC_OVERRIDE_NEW a C build defines every
   form of operator new and delete by its Itanium C++ ABI name (asm labels: no reserved
   identifiers in the source).

   A delete is free. A new is malloc (or aligned_alloc), and when that fails the request
   goes to the C++ runtime's own operator of the same name (segalloc__cxx_next), which asks
   segalloc again and does what the standard says: call the new_handler until there is
   none, then throw std::bad_alloc or, for the nothrow forms, return NULL. A C frame can
   neither catch nor let a handler's exception through without unwind tables, so the build
   must have -fexceptions (checked below; the preload build passes it).

   A program may replace any of the forms itself, and the standard has the others (new[],
   nothrow, sized and array deletes) call the ones it replaced. The program's definitions
   come first in the symbol search, so the forms it replaced never reach segalloc; the
   others must then not answer themselves. So a constructor looks, once, with dlsym and
   dladdr1, for a definition of any of the twenty names outside this object; if there is
   one, every form but the four basic ones (operator new and delete, plain and aligned,
   which the standard defines directly) hands its calls to the C++ runtime's own
   definition, found then and kept, which forwards them as the standard says. Those
   sixteen forms pay a load and a branch for the check (sized delete among them). Once,
   and at start-up: dlsym takes the loader's lock, which a thread started by a library's
   constructor, while dlopen holds that lock, could otherwise wait on forever. For the same
   reason the constructor finds the runtime's definitions of all twenty then, whenever a
   C++ runtime is loaded, for the news that fail later (about 19,000 instructions at a C++
   program's start, callgrind). A call before the constructor has run (another library's
   constructor) looks itself. Left open: a C program that dlopens its first C++ library
   has no runtime to look in at start-up, and a new failing in a thread that such a
   library's constructor waits for still looks then. */
#if !defined(__cplusplus) && defined(SEGALLOC_OVERRIDE_NEW)
#if !defined(__ELF__) || !defined(__LP64__)
#error "segalloc: SEGALLOC_OVERRIDE_NEW knows the C++ ABI names of 64-bit ELF systems only"
#endif
#if !defined(__EXCEPTIONS)
#error "segalloc: SEGALLOC_OVERRIDE_NEW needs -fexceptions, for exceptions thrown by a new_handler or by the C++ runtime's operator new to pass through segalloc's C frames"
#endif
#include <dlfcn.h>
#include <elf.h>
#ifdef RTLD_NEXT
#define SEGALLOC__RTLD_NEXT RTLD_NEXT
#define SEGALLOC__RTLD_DEFAULT RTLD_DEFAULT
#else /* hidden without _GNU_SOURCE before glibc 2.36; glibc and musl define them so */
#define SEGALLOC__RTLD_NEXT ((void *)-1l)
#define SEGALLOC__RTLD_DEFAULT ((void *)0)
#endif
/* dladdr's Dl_info, which <dlfcn.h> declares only under _GNU_SOURCE; dladdr and dladdr1
   are looked up with dlsym for the same reason (and dladdr1 is glibc's alone) */
typedef struct {
  const char *dli_fname;
  void *dli_fbase;
  const char *dli_sname;
  void *dli_saddr;
} segalloc__dl_info;
#define SEGALLOC__RTLD_DL_SYMENT 1 /* dladdr1's flag for the symbol's ELF entry */

/* The sixteen forms besides the basic four: X(kind, function, ABI name). The kind says how
   the form is defined below; the list also gives each form its index (after the basic
   four) and its name in segalloc__cxx_names. */
#define SEGALLOC__CXX_OTHERS(X)                                                                \
  X(NEW_ARRAY, segalloc__op_new_array, "_Znam")                                                \
  X(NEW_NOTHROW, segalloc__op_new_nothrow, "_ZnwmRKSt9nothrow_t")                               \
  X(NEW_NOTHROW, segalloc__op_new_array_nothrow, "_ZnamRKSt9nothrow_t")                         \
  X(NEW_ARRAY_ALIGNED, segalloc__op_new_array_aligned, "_ZnamSt11align_val_t")                  \
  X(NEW_ALIGNED_NOTHROW, segalloc__op_new_aligned_nothrow, "_ZnwmSt11align_val_tRKSt9nothrow_t") \
  X(NEW_ALIGNED_NOTHROW, segalloc__op_new_array_aligned_nothrow, "_ZnamSt11align_val_tRKSt9nothrow_t") \
  X(DELETE, segalloc__op_delete_array, "_ZdaPv")                                               \
  X(DELETE, segalloc__op_delete_sized, "_ZdlPvm")                                              \
  X(DELETE, segalloc__op_delete_array_sized, "_ZdaPvm")                                        \
  X(DELETE, segalloc__op_delete_nothrow, "_ZdlPvRKSt9nothrow_t")                               \
  X(DELETE, segalloc__op_delete_array_nothrow, "_ZdaPvRKSt9nothrow_t")                         \
  X(DELETE, segalloc__op_delete_array_aligned, "_ZdaPvSt11align_val_t")                        \
  X(DELETE, segalloc__op_delete_sized_aligned, "_ZdlPvmSt11align_val_t")                       \
  X(DELETE, segalloc__op_delete_array_sized_aligned, "_ZdaPvmSt11align_val_t")                 \
  X(DELETE, segalloc__op_delete_aligned_nothrow, "_ZdlPvSt11align_val_tRKSt9nothrow_t")        \
  X(DELETE, segalloc__op_delete_array_aligned_nothrow, "_ZdaPvSt11align_val_tRKSt9nothrow_t")
#define SEGALLOC__CXX_NEW_NAME "_Znwm"
#define SEGALLOC__CXX_NEW_ALIGNED_NAME "_ZnwmSt11align_val_t"
#define SEGALLOC__CXX_DELETE_NAME "_ZdlPv"
#define SEGALLOC__CXX_DELETE_ALIGNED_NAME "_ZdlPvSt11align_val_t"

#define SEGALLOC__CXX_INDEX(kind, fn, label) SEGALLOC__CXX_I_##fn,
#define SEGALLOC__CXX_LABEL(kind, fn, label) label,
enum {
  SEGALLOC__CXX_I_NEW, /* the basic four */
  SEGALLOC__CXX_I_NEW_ALIGNED,
  SEGALLOC__CXX_I_DELETE,
  SEGALLOC__CXX_I_DELETE_ALIGNED,
  SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_INDEX) SEGALLOC__CXX_FORMS
};
static const char *const segalloc__cxx_names[SEGALLOC__CXX_FORMS] = {
    SEGALLOC__CXX_NEW_NAME, SEGALLOC__CXX_NEW_ALIGNED_NAME, SEGALLOC__CXX_DELETE_NAME,
    SEGALLOC__CXX_DELETE_ALIGNED_NAME, SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_LABEL)};

/* who answers the sixteen forms besides the basic four */
enum { SEGALLOC__CXX_UNSEEN, SEGALLOC__CXX_OURS, SEGALLOC__CXX_RUNTIME };
static int segalloc__cxx_state;
/* the C++ runtime's definition of each form, once found */
static void *segalloc__cxx_runtime[SEGALLOC__CXX_FORMS];
/* the C++ runtimes a program may have loaded */
static const char *const segalloc__cxx_runtimes[] = {"libstdc++.so.6", "libc++.so.1"};

/* The C++ runtime's definition of form i: the next one in the global symbol search, or
   failing that (a runtime that only a plug-in opened with RTLD_LOCAL brought in, as Python
   loads its C++ extensions) the one in a runtime already loaded. Kept once found. */
static void *segalloc__cxx_next(int i) {
  void *f = segalloc__load_relaxed(&segalloc__cxx_runtime[i]);
  if (f) return f;
  f = dlsym(SEGALLOC__RTLD_NEXT, segalloc__cxx_names[i]);
  for (size_t k = 0; !f && k < sizeof segalloc__cxx_runtimes / sizeof segalloc__cxx_runtimes[0]; k++) {
    void *h = dlopen(segalloc__cxx_runtimes[k], RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
      f = dlsym(h, segalloc__cxx_names[i]);
      dlclose(h); /* still loaded: whoever loaded it holds it */
    }
  }
  if (f) segalloc__store_relaxed(&segalloc__cxx_runtime[i], f);
  return f;
}

/* Is f, found for `name`, a definition of it outside this object? In a program linked
   without -pie that takes an operator's address, dlsym returns the program's PLT entry,
   which its symbol table lists under the name as an undefined symbol: dladdr1 tells
   (without it, where only dladdr exists, that case counts as a definition, which costs
   the detour through the runtime and nothing else). */
static int segalloc__cxx_defined_elsewhere(void *f, const char *name, const segalloc__dl_info *self) {
  segalloc__dl_info at;
  const Elf64_Sym *sym = NULL;
  void *da1 = dlsym(SEGALLOC__RTLD_DEFAULT, "dladdr1"), *da = dlsym(SEGALLOC__RTLD_DEFAULT, "dladdr");
  int found;
  if (da1) {
    int (*where)(const void *, segalloc__dl_info *, void **, int);
    memcpy(&where, &da1, sizeof where);
    found = where(f, &at, (void **)&sym, SEGALLOC__RTLD_DL_SYMENT);
  } else {
    int (*where)(const void *, segalloc__dl_info *);
    memcpy(&where, &da, sizeof where);
    found = da && where(f, &at);
  }
  return found && at.dli_fbase != self->dli_fbase && at.dli_saddr == f && at.dli_sname &&
         !strcmp(at.dli_sname, name) && !(sym && sym->st_shndx == SHN_UNDEF);
}


static int segalloc__cxx_resolve(void); /* below, after the forms */

/* segalloc answers the sixteen forms besides the basic four */
static segalloc__inline int segalloc__cxx_ours(void) {
  int state = segalloc__load_relaxed(&segalloc__cxx_state);
  return segalloc__likely(state == SEGALLOC__CXX_OURS) ||
         (state == SEGALLOC__CXX_UNSEEN && segalloc__cxx_resolve() == SEGALLOC__CXX_OURS);
}

/* A new that segalloc does not answer (it failed, or the program defines a form): the
   runtime's form i, called with the same arguments (up to three words: size, alignment,
   the nothrow tag). Without one, a nothrow form returns NULL and a throwing one, which may
   not, stops the program. */
static segalloc__noinline void *segalloc__new_next(int i, size_t a, size_t b, size_t c, int nothrow) {
  /* an aligned form with a size no allocator can serve goes to the plain form of its kind:
     libstdc++ 12's aligned forms round the size up to the alignment unchecked, and one near
     SIZE_MAX came back as a tiny block */
  if (a > SEGALLOC__MAX_REQUEST && (i == SEGALLOC__CXX_I_NEW_ALIGNED || i == SEGALLOC__CXX_I_segalloc__op_new_array_aligned ||
                                    i == SEGALLOC__CXX_I_segalloc__op_new_aligned_nothrow ||
                                    i == SEGALLOC__CXX_I_segalloc__op_new_array_aligned_nothrow)) {
    i = nothrow ? SEGALLOC__CXX_I_segalloc__op_new_nothrow : SEGALLOC__CXX_I_NEW;
    b = c; /* the nothrow tag, if any */
    c = 0;
  }
  void *f = segalloc__cxx_next(i);
  if (!f) {
    if (nothrow) return NULL;
    segalloc__write(2, "segalloc: error: operator new failed, and there is no C++ runtime operator new to hand it to\n");
    abort();
  }
  void *(*fn)(size_t, size_t, size_t);
  memcpy(&fn, &f, sizeof fn); /* an object pointer to a function pointer, as POSIX allows */
  return fn(a, b, c);
}

/* The same for a delete; without a runtime to hand it to, the block is segalloc's. */
static segalloc__noinline void segalloc__delete_next(int i, void *p, size_t a, size_t b) {
  void *f = segalloc__cxx_next(i);
  if (!f) {
    segalloc_free(p);
    return;
  }
  void (*fn)(void *, size_t, size_t);
  memcpy(&fn, &f, sizeof fn);
  fn(p, a, b);
}

/* the basic forms */
void *segalloc__op_new(size_t size) __asm__(SEGALLOC__CXX_NEW_NAME);
void *segalloc__op_new_aligned(size_t size, size_t align) __asm__(SEGALLOC__CXX_NEW_ALIGNED_NAME);
void segalloc__op_delete(void *p) __asm__(SEGALLOC__CXX_DELETE_NAME);
void segalloc__op_delete_aligned(void *p) __asm__(SEGALLOC__CXX_DELETE_ALIGNED_NAME);
SEGALLOC__EXPORT segalloc__nosan void *segalloc__op_new(size_t size) {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return segalloc__likely(p != NULL) ? p : segalloc__new_next(SEGALLOC__CXX_I_NEW, size, 0, 0, 0);
}
SEGALLOC__EXPORT void *segalloc__op_new_aligned(size_t size, size_t align) {
  void *p = segalloc_aligned_alloc(align, size);
  return segalloc__likely(p != NULL) ? p : segalloc__new_next(SEGALLOC__CXX_I_NEW_ALIGNED, size, align, 0, 0);
}
void segalloc__op_delete(void *p) SEGALLOC__ALIAS(segalloc_free);
void segalloc__op_delete_aligned(void *p) SEGALLOC__ALIAS(segalloc_free);
/* the same two news under hidden names, for direct calls: calls through their global names
   would go through the PLT */
extern __typeof__(segalloc__op_new) segalloc__op_new_here __attribute__((alias(SEGALLOC__CXX_NEW_NAME), visibility("hidden")));
extern __typeof__(segalloc__op_new_aligned) segalloc__op_new_aligned_here __attribute__((alias(SEGALLOC__CXX_NEW_ALIGNED_NAME), visibility("hidden")));

/* the sixteen others. The throwing news are the basic ones (as the standard defines them),
   the nothrow ones malloc or aligned_alloc with the runtime's form for a failure (only it
   can catch the handler's exception); a delete's size, alignment and tag are not needed,
   free takes any block. */
#define SEGALLOC__NEW_ARRAY(fn, i, label)                                                      \
  void *fn(size_t size) __asm__(label);                                                        \
  SEGALLOC__EXPORT void *fn(size_t size) {                                                     \
    if (segalloc__cxx_ours()) return segalloc__op_new_here(size);                              \
    return segalloc__new_next(i, size, 0, 0, 0);                                               \
  }
#define SEGALLOC__NEW_NOTHROW(fn, i, label)                                                    \
  void *fn(size_t size, const void *tag) __asm__(label);                                       \
  SEGALLOC__EXPORT segalloc__nosan void *fn(size_t size, const void *tag) {                    \
    void *p = segalloc__cxx_ours() ? SEGALLOC__NEW_MALLOC(size) : NULL;                        \
    return segalloc__likely(p != NULL) ? p : segalloc__new_next(i, size, (size_t)tag, 0, 1);   \
  }
#define SEGALLOC__NEW_ARRAY_ALIGNED(fn, i, label)                                              \
  void *fn(size_t size, size_t align) __asm__(label);                                          \
  SEGALLOC__EXPORT void *fn(size_t size, size_t align) {                                       \
    if (segalloc__cxx_ours()) return segalloc__op_new_aligned_here(size, align);               \
    return segalloc__new_next(i, size, align, 0, 0);                                           \
  }
#define SEGALLOC__NEW_ALIGNED_NOTHROW(fn, i, label)                                            \
  void *fn(size_t size, size_t align, const void *tag) __asm__(label);                         \
  SEGALLOC__EXPORT void *fn(size_t size, size_t align, const void *tag) {                      \
    void *p = segalloc__cxx_ours() ? segalloc_aligned_alloc(align, size) : NULL;               \
    return segalloc__likely(p != NULL) ? p : segalloc__new_next(i, size, align, (size_t)tag, 1); \
  }
#define SEGALLOC__DELETE(fn, i, label)                                                         \
  void fn(void *p, size_t a, size_t b) __asm__(label);                                         \
  SEGALLOC__EXPORT void fn(void *p, size_t a, size_t b) {                                      \
    if (segalloc__cxx_ours()) segalloc_free(p);                                                \
    else segalloc__delete_next(i, p, a, b);                                                    \
  }
#define SEGALLOC__CXX_DEFINE(kind, fn, label) SEGALLOC__##kind(fn, SEGALLOC__CXX_I_##fn, label)
SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_DEFINE)

/* Is f, found for form i, this object's own definition? Compared with the form's hidden
   name, whose address is this object's (a global name's address is read from the GOT, where
   another object's definition would stand). */
extern __typeof__(segalloc__op_delete) segalloc__op_delete_here __attribute__((alias(SEGALLOC__CXX_DELETE_NAME), visibility("hidden")));
extern __typeof__(segalloc__op_delete_aligned) segalloc__op_delete_aligned_here __attribute__((alias(SEGALLOC__CXX_DELETE_ALIGNED_NAME), visibility("hidden")));
#define SEGALLOC__CXX_HIDDEN(kind, fn, label) \
  extern __typeof__(fn) fn##_here __attribute__((alias(label), visibility("hidden")));
SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_HIDDEN)
typedef void (*segalloc__cxx_any)(void);
#define SEGALLOC__CXX_HERE(kind, fn, label) (segalloc__cxx_any)fn##_here,
static int segalloc__cxx_is_here(int i, void *f) {
  static const segalloc__cxx_any here[SEGALLOC__CXX_FORMS] = {
      (segalloc__cxx_any)segalloc__op_new_here, (segalloc__cxx_any)segalloc__op_new_aligned_here,
      (segalloc__cxx_any)segalloc__op_delete_here, (segalloc__cxx_any)segalloc__op_delete_aligned_here,
      SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_HERE)};
  segalloc__cxx_any g;
  memcpy(&g, &f, sizeof g);
  return g == here[i];
}

/* Is a C++ runtime in the global symbol search (std::terminate, which libstdc++ and libc++
   both define)? Not in a C program, which need look no further: the lookups below cost
   some 110,000 instructions, 80 % more than all of /bin/true's start-up (144,000, callgrind);
   this one costs 9,000. */
static int segalloc__cxx_runtime_loaded(void) {
  return dlsym(SEGALLOC__RTLD_DEFAULT, "_ZSt9terminatev") != NULL;
}

/* Does the program define any of the twenty forms itself? Either way, with a C++ runtime
   loaded, find its definitions of all twenty now, while the loader is not busy (see the
   top). A form that
   dlsym finds here, at its hidden name's address, needs no dladdr1. */
static segalloc__noinline int segalloc__cxx_resolve(void) {
  segalloc__dl_info self;
  int state = SEGALLOC__CXX_OURS;
  void *da = segalloc__cxx_runtime_loaded() ? dlsym(SEGALLOC__RTLD_DEFAULT, "dladdr") : NULL;
  int (*where)(const void *, segalloc__dl_info *);
  memcpy(&where, &da, sizeof where);
  if (da && where((const void *)&segalloc__cxx_state, &self)) {
    for (int i = 0; i < SEGALLOC__CXX_FORMS && state == SEGALLOC__CXX_OURS; i++) {
      void *f = dlsym(SEGALLOC__RTLD_DEFAULT, segalloc__cxx_names[i]);
      if (f && !segalloc__cxx_is_here(i, f) && segalloc__cxx_defined_elsewhere(f, segalloc__cxx_names[i], &self))
        state = SEGALLOC__CXX_RUNTIME;
    }
  }
  /* every form the runtime defines, now: a new that fails later hands over to the
     runtime's, and a dlsym then could deadlock on the loader's lock, held by a thread in
     dlopen that waits for this one (a library's constructor that joins a thread whose new
     fails) */
  if (da)
    for (int i = 0; i < SEGALLOC__CXX_FORMS; i++) segalloc__cxx_next(i);
  segalloc__store_relaxed(&segalloc__cxx_state, state);
  return state;
}

__attribute__((constructor)) static void segalloc__cxx_init(void) {
  if (segalloc__load_relaxed(&segalloc__cxx_state) == SEGALLOC__CXX_UNSEEN) segalloc__cxx_resolve();
}
#endif /* SEGALLOC_OVERRIDE_NEW */

#endif /* SEGALLOC_OVERRIDE */
/* ---- end src/override.c ---- */
#endif /* SEGALLOC_IMPLEMENTATION_INCLUDED */
#endif /* SEGALLOC_IMPLEMENTATION */

/* ---- begin src/license.h ---- */
/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the segalloc authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication to encourage release of the software to the
public domain. We make this dedication in perpetuity and to the detriment of
all present and future heirs and successors of this software under copyright
law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
/* ---- end src/license.h ---- */

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

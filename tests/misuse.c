/* misuse.c: one heap error per run, which segalloc must stop.

     misuse CASE        commit the error CASE (see the table at the end); "list" prints them

   Before the bad call the program prints "pointer 0x..." (the address handed to the bad
   call) on stdout and flushes it. segalloc is expected to print
     segalloc: error: <what>: pointer 0x<hex>
   on stderr and abort(); tests/run_misuse.sh checks the signal, the message and the address.
   If the bad call returns, the program prints "survived" and exits 3. The control cases
   (control*) are correct programs: they must print "control: ok" and exit 0.

   Built two ways:
     cc tests/misuse.c                      the header compiled in, segalloc_* names
     cc -DUSE_STD_NAMES tests/misuse.c      malloc/free/realloc, to run with
                                            LD_PRELOAD=build/libsegalloc.so
   The USE_STD_NAMES build can only run the cases that need nothing beyond the standard
   names (the table marks them). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef USE_STD_NAMES
#define M_malloc malloc
#define M_free free
#define M_realloc realloc
#define M_flush() ((void)0)
#define HAVE_FLUSH 0
#else
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#define M_malloc segalloc_malloc
#define M_free segalloc_free
#define M_realloc segalloc_realloc
#define M_flush() segalloc_thread_flush()
#define HAVE_FLUSH 1
#endif

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Hide where a pointer came from, so the compiler neither warns about (nor optimises away)
   the deliberate error. */
static void *launder(void *p) {
  __asm__ volatile("" : "+r"(p) : : "memory");
  return p;
}

static void *must_malloc(size_t n) {
  unsigned char *p = (unsigned char *)M_malloc(n);
  if (!p) {
    fprintf(stderr, "misuse: malloc(%zu) failed\n", n);
    exit(2);
  }
  /* touch both ends: the blocks are real */
  p[0] = 1;
  p[n - 1] = 2;
  return launder(p);
}

/* The address the next call will get wrong, for the script to find in segalloc's message. */
static void announce(const void *p) {
  printf("pointer %p\n", p);
  fflush(stdout);
}

/* A correct free of a block used again later: through a volatile copy, so the compiler's
   use-after-free warning (which knows free's meaning under USE_STD_NAMES) stays quiet. */
static void free_once(void *p) {
  void *volatile v = p;
  M_free(v);
}

static void bad_free(void *p) {
  announce(p);
  M_free(launder(p));
}

/* The second free of a double free. The address is announced before the first free: the
   first printf may allocate (under LD_PRELOAD stdio uses segalloc), and an allocation
   between the frees could reuse the freed memory, turning the double free into the free
   of someone else's live block, which no allocator can tell from a correct free. */
static void free_again(void *p) {
  M_free(launder(p));
}

static void bad_realloc(void *p, size_t n) {
  announce(p);
  void *q = M_realloc(launder(p), n);
  launder(q);
}

/* ---- the cases ---- */

static void c_control(void) {
  /* every kind of block, used and freed correctly: must exit 0 */
  size_t sizes[] = {0, 1, 16, 48, 64, 1000, 32 * KiB, 100 * KiB, 2 * MiB, 64 * MiB};
  void *p[sizeof sizes / sizeof *sizes];
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) p[i] = must_malloc(sizes[i] ? sizes[i] : 1);
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    void *q = M_realloc(p[i], sizes[i] / 2 + 1);
    if (!q) exit(2);
    p[i] = q;
  }
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) M_free(p[i]);
  M_free(NULL);
}

/* Correct programs the checks must not stop. */

static void *free_null_thread(void *arg) {
  M_free(arg); /* NULL, as this thread's first call */
  return NULL;
}

static void c_control_free_null_first(void) {
  /* free(NULL) as the first call of the process and of a new thread: a no-op */
  M_free(launder(NULL));
  pthread_t t;
  if (pthread_create(&t, NULL, free_null_thread, NULL) != 0) exit(2);
  pthread_join(t, NULL);
  void *p = must_malloc(10);
  M_free(p);
  M_free(launder(NULL));
}

/* A large block the program wrote only a little of, shrunk with realloc and freed. Its
   pages once held small blocks that were freed (which leaves segalloc's free-block mark
   in them); realloc copies the block's first bytes, mark included, into the new small
   block, whose free must still be accepted. */
static void c_control_realloc_stale(void) {
  enum { N = 2000 };
  static void *small[N];
  for (int i = 0; i < N; i++) small[i] = must_malloc(4096); /* two per 8 KiB page */
  for (int i = 0; i < N; i++) M_free(small[i]);
  M_flush(); /* wholly free spans go back to the page heap, their pages resident */
  for (int k = 0; k < 20; k++) {
    char *big = (char *)M_malloc(100 * KiB);
    if (!big) exit(2);
    big[0] = 1; /* the only byte the program uses */
    char *q = (char *)M_realloc(launder(big), 100);
    if (!q || q[0] != 1) exit(2);
    M_free(q);
  }
}

static void c_double_free_small(void) {
  void *p = must_malloc(64);
  announce(p);
  free_once(p);
  free_again(p);
}

static void c_double_free_small_16(void) {
  void *p = must_malloc(16); /* the smallest class: the free-block mark is in its last word */
  announce(p);
  free_once(p);
  free_again(p);
}

/* Double free with other traffic in between: frees of other blocks (some of the same
   class, which go on the same thread-cache list above p) and mallocs of other sizes. */
static void c_double_free_small_busy(void) {
  void *same[20], *other[40];
  for (int i = 0; i < 20; i++) same[i] = must_malloc(48);
  void *p = must_malloc(48);
  for (int i = 0; i < 40; i++) other[i] = must_malloc((size_t)(i % 8 + 1) * 100);
  announce(p);
  free_once(p);
  for (int i = 0; i < 20; i += 2) M_free(same[i]);
  for (int i = 0; i < 40; i += 3) M_free(other[i]);
  void *more[30];
  for (int i = 0; i < 30; i++) more[i] = must_malloc((size_t)(i % 5 + 1) * 1000 + 7);
  void *big = must_malloc(200 * KiB);
  M_free(big);
  for (int i = 0; i < 30; i += 2) M_free(more[i]);
  free_again(p);
}

/* Double free after the block left the thread cache for the central list (the span stays
   in use, so the block is still a free object of a live span). */
static void c_double_free_small_flushed(void) {
  void *keep = must_malloc(64);
  void *p = must_malloc(64);
  announce(p);
  free_once(p);
  M_flush();
  free_again(p);
  M_free(keep);
}

static void c_double_free_large(void) {
  void *p = must_malloc(100 * KiB);
  announce(p);
  free_once(p);
  free_again(p);
}

/* The freed block merged with a free neighbour in the page heap before the second free. */
static void c_double_free_large_merged(void) {
  void *a = must_malloc(100 * KiB);
  void *p = must_malloc(100 * KiB);
  void *c = must_malloc(100 * KiB); /* keeps p off the arena's untouched tail */
  M_free(a);
  announce(p);
  free_once(p);
  free_again(p);
  M_free(c);
}

static void c_double_free_huge(void) {
  void *p = must_malloc(64 * MiB);
  announce(p);
  free_once(p);
  free_again(p);
}

static void c_free_stack(void) {
  char buf[64];
  memset(buf, 1, sizeof buf);
  bad_free(buf);
}

static void c_free_mmap(void) {
  unsigned char *m = (unsigned char *)mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) exit(2);
  m[0] = 1;
  bad_free(m);
}

static void c_free_mmap_inner(void) {
  unsigned char *m = (unsigned char *)mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) exit(2);
  m[0] = 1;
  bad_free(m + 4096 + 16);
}

/* an address in an arena of segalloc's (aligned to its size) but far above any page it
   has used, where its page map was never set (pagemap.c); freed, and reallocated */
#ifndef SEGALLOC_ARENA_SIZE
#define SEGALLOC_ARENA_SIZE (64u << 20) /* the preloaded library's default */
#endif
static void *arena_unused_address(void) {
  char *p = (char *)must_malloc(64);
  uintptr_t base = (uintptr_t)p & ~((uintptr_t)SEGALLOC_ARENA_SIZE - 1);
  M_free(launder(must_malloc(64))); /* this thread's free hint is now p's arena */
  return (void *)(base + (uintptr_t)SEGALLOC_ARENA_SIZE / 8 * 5 + 16);
}

static void c_free_arena_unused(void) { bad_free(arena_unused_address()); }

/* the same at a page boundary: such an address in a free span is taken for a large block
   freed before, but these pages were never used (found by review: "double free") */
static void c_free_page_arena_unused(void) { bad_free((char *)arena_unused_address() - 16); }

/* the start of a huge block freed earlier, now inside a live huge block mapped over it: an
   address inside a block, which was reported as a double free (the freed block's start was
   still remembered; found by review) */
static void c_free_inside_huge_over_freed(void) {
  char *old[8];
  for (int i = 0; i < 8; i++) old[i] = (char *)must_malloc(40 * MiB);
  for (int i = 0; i < 8; i++) M_free(launder(old[i]));
  for (size_t mb = 41; mb < 400; mb += 7) {
    char *b = (char *)must_malloc(mb * MiB);
    for (int i = 0; i < 8; i++)
      if ((uintptr_t)old[i] > (uintptr_t)b && (uintptr_t)old[i] < (uintptr_t)b + mb * MiB) bad_free(old[i]);
    M_free(launder(b));
  }
  exit(2); /* no such layout: the case could not be made */
}

static void c_realloc_arena_unused(void) { bad_realloc(arena_unused_address(), 100); }

static void c_free_inside_small_16(void) {
  char *p = (char *)must_malloc(64);
  bad_free(p + 16);
}

static void c_free_inside_small_8(void) {
  char *p = (char *)must_malloc(64);
  bad_free(p + 8);
}

/* Interior pointers into objects past their span's first page, where the page size is
   not a multiple of the object size: free's fast path tests them against the page's
   small-map entry (the bias that gives the offset from the boundary below the page). 1400 bytes fall in
   the 1408-byte class, whose spans at 4 and 8 KiB pages (12 and 16 KiB) have later pages
   that start inside an object; of 40 objects, the last lie in later pages. The first free
   gives the list room, so the bad one takes the fast path. */
static char *later_page_object(void) {
  char *p[40];
  for (int i = 0; i < 40; i++) p[i] = (char *)must_malloc(1400);
  char *last = p[0];
  for (int i = 1; i < 40; i++)
    if (p[i] > last) last = p[i];
  M_free(launder(p[0] == last ? p[1] : p[0]));
  return last;
}

static void c_free_inside_small_page2(void) { bad_free(later_page_object() + 16); }

static void c_free_inside_small_page2_end(void) { bad_free(later_page_object() + 1392); }

/* The start of a page that lies inside an object: 8192 does not divide by 1408, so at the
   default 8 KiB pages the span's second page begins 256 bytes into an object (the span's
   16 KiB hold 11 objects after 896 bytes of waste), and only the page's bias in its
   small-map entry tells free so (were it only minus the page's offset, free would accept
   the address as a boundary).
   At other page sizes it is an interior address all the same. */
static void c_free_inside_small_page_start(void) {
  char *p[40];
  for (int i = 0; i < 40; i++) p[i] = (char *)must_malloc(1400);
  M_free(launder(p[0]));
  for (int i = 1; i < 40; i++) {
    uintptr_t a = ((uintptr_t)p[i] + 8191) & ~(uintptr_t)8191;
    if (a > (uintptr_t)p[i] && a < (uintptr_t)p[i] + 1400) {
      bad_free((void *)a);
      return;
    }
  }
  fprintf(stderr, "misuse: no 8 KiB boundary inside an object\n");
  exit(2);
}

/* The address just past the last object of a span. 8192 bytes do not divide by 48, and
   the 32 left over once were after the last object, where that address is a multiple of
   48 from the span's start: free's fast path took it as a block (a review found it), and a
   later malloc handed out a block running 16 bytes into the next span. The waste now comes
   first (sizeclass.c), so the address is the next span's start, or a page of no span.
   1500 blocks fill one span (170 at 8 KiB pages, 1365 at 64 KiB) and start the next;
   the first gap in their sorted addresses ends the first span's run. */
static int cmp_addr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
  return x < y ? -1 : x > y;
}
static void c_free_past_span_end(void) {
  enum { N = 1500 };
  static void *p[N];
  /* a request that lands in the 48-byte class: a SEGALLOC_DEBUG build adds a 16-byte
     canary, so there 32 does (two fresh blocks in a row are one object apart) */
  size_t req = 0;
  for (size_t r = 48; r >= 32 && !req; r -= 16) {
    char *a = (char *)must_malloc(r), *b = (char *)must_malloc(r);
    if (b - a == 48) req = r;
    M_free(launder(b));
    M_free(launder(a));
  }
  if (!req) {
    fprintf(stderr, "misuse: no request size gives blocks 48 bytes apart\n");
    exit(2);
  }
  for (int i = 0; i < N; i++) p[i] = must_malloc(req);
  qsort(p, N, sizeof *p, cmp_addr);
  M_free(launder(p[N - 1])); /* room on the list: the bad free takes the fast path */
  for (int i = 0; i + 2 < N; i++)
    if ((char *)p[i + 1] != (char *)p[i] + 48) {
      bad_free((char *)p[i] + 48);
      return;
    }
  fprintf(stderr, "misuse: 1500 blocks of 48 bytes in one run\n");
  exit(2);
}

/* An object boundary in the part of a span not handed out yet. The fast path takes it when
   the list has room (README: the one case only the slow path stops), so this case runs in
   the SEGALLOC_DEBUG build, whose free checks every block the slow way; the table lists it
   only there. Two blocks of a fresh class, both freed: the list has room for one more. */
#if defined(SEGALLOC_DEBUG) && SEGALLOC_DEBUG
static void c_free_uncarved_small(void) {
  char *a = (char *)must_malloc(200), *b = (char *)must_malloc(200);
  size_t step = (size_t)(b - a); /* the object size: fresh objects come in address order */
  M_free(launder(b));
  M_free(launder(a));
  bad_free(a + step * 8);
}
#endif

static void c_free_inside_large(void) {
  char *p = (char *)must_malloc(100 * KiB);
  bad_free(p + 4096); /* in the block's first page */
}

static void c_free_inside_large_deep(void) {
  char *p = (char *)must_malloc(100 * KiB);
  bad_free(p + 60 * KiB + 16); /* a page in the middle */
}

static void c_free_inside_huge(void) {
  char *p = (char *)must_malloc(64 * MiB);
  bad_free(p + 4096);
}

static void c_realloc_stack(void) {
  char buf[64];
  memset(buf, 1, sizeof buf);
  bad_realloc(buf, 200);
}

/* realloc of an interior pointer, growing (the block would move) */
static void c_realloc_inside_small(void) {
  char *p = (char *)must_malloc(64);
  bad_realloc(p + 16, 1000);
}

/* realloc of an interior pointer to a size that would fit in place */
static void c_realloc_inside_small_fits(void) {
  char *p = (char *)must_malloc(64);
  bad_realloc(p + 16, 40);
}

static void c_realloc_inside_large(void) {
  char *p = (char *)must_malloc(100 * KiB);
  bad_realloc(p + 8 * KiB, 300 * KiB);
}

static void c_realloc_freed_small(void) {
  void *p = must_malloc(64);
  announce(p);
  free_once(p);
  launder(M_realloc(launder(p), 64));
}

static const struct {
  const char *name;
  void (*fn)(void);
  int std_ok; /* can run in the USE_STD_NAMES build */
} cases[] = {
  {"control", c_control, 1},
  {"control-free-null-first", c_control_free_null_first, 1},
  {"control-realloc-stale", c_control_realloc_stale, HAVE_FLUSH},
  {"double-free-small", c_double_free_small, 1},
  {"double-free-small-16", c_double_free_small_16, 1},
  {"double-free-small-busy", c_double_free_small_busy, 1},
  {"double-free-small-flushed", c_double_free_small_flushed, HAVE_FLUSH},
  {"double-free-large", c_double_free_large, 1},
  {"double-free-large-merged", c_double_free_large_merged, 1},
  {"double-free-huge", c_double_free_huge, 1},
  {"free-stack", c_free_stack, 1},
  {"free-mmap", c_free_mmap, 1},
  {"free-mmap-inner", c_free_mmap_inner, 1},
  {"free-arena-unused", c_free_arena_unused, 1},
  {"realloc-arena-unused", c_realloc_arena_unused, 1},
  {"free-page-arena-unused", c_free_page_arena_unused, 1},
  {"free-inside-small-16", c_free_inside_small_16, 1},
  {"free-inside-small-8", c_free_inside_small_8, 1},
  {"free-inside-small-page2", c_free_inside_small_page2, 1},
  {"free-inside-small-page2-end", c_free_inside_small_page2_end, 1},
  {"free-inside-small-page-start", c_free_inside_small_page_start, 1},
  {"free-past-span-end", c_free_past_span_end, 1},
#if defined(SEGALLOC_DEBUG) && SEGALLOC_DEBUG
  {"free-uncarved-small", c_free_uncarved_small, 1},
#endif
  {"free-inside-large", c_free_inside_large, 1},
  {"free-inside-large-deep", c_free_inside_large_deep, 1},
  {"free-inside-huge", c_free_inside_huge, 1},
  {"free-inside-huge-over-freed", c_free_inside_huge_over_freed, 1},
  {"realloc-stack", c_realloc_stack, 1},
  {"realloc-inside-small", c_realloc_inside_small, 1},
  {"realloc-inside-small-fits", c_realloc_inside_small_fits, 1},
  {"realloc-inside-large", c_realloc_inside_large, 1},
  {"realloc-freed-small", c_realloc_freed_small, 1},
};

int main(int argc, char **argv) {
  unsigned n = sizeof cases / sizeof *cases;
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE|list\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], "list") == 0) {
    for (unsigned i = 0; i < n; i++)
      if (cases[i].std_ok) printf("%s\n", cases[i].name);
    return 0;
  }
  /* stdout's buffer is allocated now, not between the steps of a case */
  printf("misuse: %s\n", argv[1]);
  fflush(stdout);
  for (unsigned i = 0; i < n; i++) {
    if (strcmp(argv[1], cases[i].name) != 0) continue;
    if (!cases[i].std_ok) {
      fprintf(stderr, "misuse: case %s needs the segalloc_* build\n", argv[1]);
      return 2;
    }
    cases[i].fn();
    if (strncmp(argv[1], "control", 7) == 0) {
      printf("control: ok\n");
      return 0;
    }
    printf("survived\n");
    return 3;
  }
  fprintf(stderr, "misuse: no case %s\n", argv[1]);
  return 2;
}

/* test_override.c: the standard names (malloc and its relatives, glibc's __libc_* entry
   points) behave as POSIX and glibc document, and the memory they hand out is segalloc's.

   Built two ways (tests/run_preload.sh does both):
     compiled in:  cc -DOVERRIDE_COMPILED_IN tests/test_override.c   (the header, with
                   SEGALLOC_OVERRIDE and SEGALLOC_IMPLEMENTATION, is part of the program)
     preloaded:    cc tests/test_override.c -ldl, run with LD_PRELOAD=build/libsegalloc.so
                   (segalloc_stats and friends are found with dlsym(RTLD_DEFAULT, ...))

   Modes (argv[1]):
     (none)        every check below
     sbrk-control  run only the workload of the "no glibc heap" check and exit 0 if it DID
                   move the program break: run without segalloc, it proves the check can
                   see glibc's malloc at work. */
#define _GNU_SOURCE
#ifdef OVERRIDE_COMPILED_IN
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#endif
#include "../segalloc.h"
#include "test.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OVERRIDE_COMPILED_IN
/* glibc exports these but declares none of them */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
#endif

/* Hide a pointer or a size from the optimiser, so that a malloc/free pair is not removed
   and a constant huge size is not folded or warned about. */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x) : : "memory")

static size_t (*usable)(const void *);
static void (*stats)(segalloc_stats_t *);
static void (*p_free_sized)(void *, size_t);
static void (*p_free_aligned_sized)(void *, size_t, size_t);

static int resolve(void) {
#ifdef OVERRIDE_COMPILED_IN
  usable = segalloc_usable_size;
  stats = segalloc_stats;
  p_free_sized = free_sized;
  p_free_aligned_sized = free_aligned_sized;
#else
  *(void **)&usable = dlsym(RTLD_DEFAULT, "segalloc_usable_size");
  *(void **)&stats = dlsym(RTLD_DEFAULT, "segalloc_stats");
  *(void **)&p_free_sized = dlsym(RTLD_DEFAULT, "free_sized");
  *(void **)&p_free_aligned_sized = dlsym(RTLD_DEFAULT, "free_aligned_sized");
#endif
  return usable && stats && p_free_sized && p_free_aligned_sized;
}

static uint64_t mallocs_now(void) {
  segalloc_stats_t st;
  stats(&st);
  return st.mallocs;
}
static uint64_t frees_now(void) {
  segalloc_stats_t st;
  stats(&st);
  return st.frees;
}

static size_t os_page(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static int aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static int all_zero(const void *p, size_t n) {
  const unsigned char *c = (const unsigned char *)p;
  for (size_t i = 0; i < n; i++)
    if (c[i]) return 0;
  return 1;
}

/* A block from one of the standard names: segalloc counted it (exactly one more malloc),
   owns it (its usable size covers the request) and it can be written end to end. */
static int owned(void *p, size_t n, uint64_t mallocs_before) {
  if (!p) return 0;
  if (mallocs_now() != mallocs_before + 1) return 0;
  size_t u = usable(p);
  if (u < n) return 0;
  if (n) {
    memset(p, 0x5a, n);
    if (((unsigned char *)p)[n - 1] != 0x5a) return 0;
  }
  return 1;
}

static const size_t sizes[] = {0, 1, 8, 15, 16, 17, 100, 1000, 4096, 32768, 32769, 100000, 1 << 20, 40 << 20};
#define NSIZES (sizeof sizes / sizeof *sizes)

static void test_basic_names(void) {
  for (unsigned i = 0; i < NSIZES; i++) {
    size_t n = sizes[i];
    uint64_t m = mallocs_now();
    void *p = malloc(n);
    OPAQUE(p);
    CHECK(owned(p, n, m));
    CHECK(malloc_usable_size(p) >= n && malloc_usable_size(p) == usable(p));
    if (n >= 16) CHECK(aligned(p, 16));
    uint64_t f = frees_now();
    free(p);
    CHECK(frees_now() == f + 1);

    m = mallocs_now();
    unsigned char *c = (unsigned char *)calloc(1, n);
    OPAQUE(c);
    CHECK(c && all_zero(c, n));
    CHECK(owned(c, n, m));
    free(c);

    m = mallocs_now();
    p = realloc(NULL, n);
    OPAQUE(p);
    CHECK(owned(p, n, m));
    free(p);

    m = mallocs_now();
    p = reallocarray(NULL, 1, n);
    OPAQUE(p);
    CHECK(owned(p, n, m));
    free(p);

    /* free_sized and free_aligned_sized free what malloc and aligned_alloc returned */
    p = malloc(n);
    OPAQUE(p);
    f = frees_now();
    p_free_sized(p, n);
    CHECK(frees_now() == f + 1);
    p = aligned_alloc(64, n);
    OPAQUE(p);
    CHECK(p && aligned(p, 64));
    f = frees_now();
    p_free_aligned_sized(p, 64, n);
    CHECK(frees_now() == f + 1);
  }
  free(NULL);
  p_free_sized(NULL, 0);
  p_free_aligned_sized(NULL, 64, 0);
  CHECK(malloc_usable_size(NULL) == 0);

  /* malloc(0) is a unique block */
  void *a = malloc(0), *b = malloc(0);
  OPAQUE(a);
  OPAQUE(b);
  CHECK(a && b && a != b);
  free(a);
  free(b);

  /* calloc zeroes a block that was dirty when freed */
  for (size_t n = 16; n <= (4u << 20); n *= 4) {
    unsigned char *d = (unsigned char *)malloc(n);
    OPAQUE(d);
    memset(d, 0xff, n);
    free(d);
    unsigned char *z = (unsigned char *)calloc(n / 16, 16);
    OPAQUE(z);
    CHECK(z && all_zero(z, n));
    free(z);
  }
}

/* free(NULL) and its relatives do nothing, on any thread: also on one that has not
   allocated or freed anything yet, and on one that has allocated but not freed. Each case
   runs in a child process, so a crash is one failed check rather than the end of the run. */
static void *thread_free_null_first(void *arg) {
  (void)arg;
  free(NULL);
  p_free_sized(NULL, 10);
  p_free_aligned_sized(NULL, 64, 10);
  __libc_free(NULL);
  return NULL;
}
static void *thread_malloc_then_free_null(void *arg) {
  (void)arg;
  void *p = malloc(100);
  OPAQUE(p);
  free(NULL);
  void *q = realloc(NULL, 10);
  OPAQUE(q);
  free(q);
  free(p);
  return NULL;
}
static void *thread_huge_then_free_null(void *arg) {
  (void)arg;
  void *p = malloc(100u << 20);
  OPAQUE(p);
  free(p);
  free(NULL);
  return NULL;
}
static int in_thread_in_child(void *(*fn)(void *), const char *what) {
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, fn, NULL) != 0 || pthread_join(t, NULL) != 0) _exit(1);
    _exit(0);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return 0;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 1;
  if (WIFSIGNALED(st))
    fprintf(stderr, "FAIL: %s: the child died of signal %d (%s)\n", what, WTERMSIG(st), strsignal(WTERMSIG(st)));
  return 0;
}

static void test_free_null(void) {
  CHECK(in_thread_in_child(thread_free_null_first, "free(NULL) on a thread that has not allocated yet"));
  CHECK(in_thread_in_child(thread_malloc_then_free_null, "free(NULL) on a thread that has allocated but not freed"));
  CHECK(in_thread_in_child(thread_huge_then_free_null, "free(NULL) after a huge block"));
}

static void test_realloc(void) {
  /* grow across small, large and huge, then shrink: contents kept */
  size_t steps[] = {10, 100, 1000, 30000, 40000, 300000, 50u << 20, 100000, 20, 1};
  unsigned char *p = NULL;
  size_t have = 0;
  int ok = 1;
  for (unsigned i = 0; i < sizeof steps / sizeof *steps; i++) {
    size_t n = steps[i];
    unsigned char *q = (unsigned char *)realloc(p, n);
    OPAQUE(q);
    if (!q) { ok = 0; break; }
    size_t keep = have < n ? have : n;
    for (size_t k = 0; k < keep; k++)
      if (q[k] != (unsigned char)(k * 7)) { ok = 0; break; }
    for (size_t k = keep; k < n; k++) q[k] = (unsigned char)(k * 7);
    if (usable(q) < n) ok = 0;
    p = q;
    have = n;
  }
  CHECK(ok);
  /* realloc(p, 0): segalloc documents a fresh minimal block (POSIX allows NULL or a block
     that can be freed; glibc returns NULL). Either way p is gone and the result is freeable. */
  void *r = realloc(p, 0);
  OPAQUE(r);
  CHECK(r != NULL && usable(r) < 64);
  free(r);

  /* reallocarray keeps contents like realloc */
  int *v = (int *)reallocarray(NULL, 10, sizeof(int));
  for (int i = 0; i < 10; i++) v[i] = i;
  v = (int *)reallocarray(v, 100000, sizeof(int));
  CHECK(v && v[9] == 9 && usable(v) >= 100000 * sizeof(int));
  free(v);
}

static void test_failures(void) {
  volatile size_t vmax = SIZE_MAX;
  size_t huge = vmax, half = vmax / 2 + 1;
  void *p;

  errno = 0;
  p = malloc(huge);
  OPAQUE(p); /* (or the compiler may drop an unused allocation) */
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = malloc(half);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = malloc(huge - 4096);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = calloc(half, 2); /* count * size overflows to 0 */
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = calloc(3, half / 2);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = calloc(1, huge);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);

  /* a failed realloc leaves the block as it was */
  char *s = (char *)malloc(100);
  OPAQUE(s);
  strcpy(s, "still here");
  errno = 0;
  /* (called through pointers: the compiler cannot know these calls fail, and would warn
     about s being used after them) */
  void *(*volatile re)(void *, size_t) = realloc;
  void *(*volatile rea)(void *, size_t, size_t) = reallocarray;
  char *t = (char *)re(s, huge);
  CHECK(t == NULL && errno == ENOMEM && strcmp(s, "still here") == 0 && usable(s) >= 100);
  errno = 0;
  t = (char *)rea(s, half, 2);
  CHECK(t == NULL && errno == ENOMEM && strcmp(s, "still here") == 0);
  errno = 0;
  t = (char *)rea(s, 4, half / 2 + 1);
  CHECK(t == NULL && errno == ENOMEM && strcmp(s, "still here") == 0);
  errno = 0;
  t = (char *)reallocarray(NULL, half, 4);
  CHECK(t == NULL && errno == ENOMEM);
  free(s);

  /* aligned_alloc: a non-power-of-two alignment (0 included) is EINVAL (C17 DR 460) */
  size_t bad_align[] = {0, 3, 24, 48, 100, 4095, half + 1};
  for (unsigned i = 0; i < sizeof bad_align / sizeof *bad_align; i++) {
    size_t al = bad_align[i];
    OPAQUE(al);
    errno = 0;
    p = aligned_alloc(al, 64);
    OPAQUE(p);
    CHECK(p == NULL && errno == EINVAL);
  }
  errno = 0;
  p = aligned_alloc(64, huge);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = aligned_alloc(half, 64); /* a power of two, but no block can be that aligned */
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);

  /* posix_memalign: EINVAL unless a power-of-two multiple of sizeof(void *); returns the
     error and leaves *out alone */
  size_t bad_pm[] = {0, 1, 2, 4, 3, 12, 24, 40, 4097};
  for (unsigned i = 0; i < sizeof bad_pm / sizeof *bad_pm; i++) {
    size_t al = bad_pm[i];
    OPAQUE(al);
    void *out = (void *)&out;
    CHECK(posix_memalign(&out, al, 64) == EINVAL && out == (void *)&out);
  }
  {
    void *out = (void *)&out;
    CHECK(posix_memalign(&out, 16, huge) == ENOMEM && out == (void *)&out);
    CHECK(posix_memalign(&out, 64, huge - 100) == ENOMEM && out == (void *)&out);
  }

  /* memalign, valloc and pvalloc: ENOMEM, and pvalloc's rounding up must not wrap */
  errno = 0;
  p = memalign(64, huge);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = valloc(huge);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = pvalloc(huge);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = pvalloc(huge - os_page() + 2); /* rounds up past SIZE_MAX */
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = pvalloc(half);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
}

static void test_aligned(void) {
  /* aligned_alloc: every power of two, sizes that are not multiples of it (DR 460) */
  for (size_t al = 1; al <= ((size_t)1 << 24); al <<= 1) {
    size_t ns[] = {1, 24, al + 1, 3 * al / 2 + 5};
    for (unsigned i = 0; i < 4; i++) {
      uint64_t m = mallocs_now();
      void *p = aligned_alloc(al, ns[i]);
      OPAQUE(p);
      CHECK(owned(p, ns[i], m) && aligned(p, al));
      free(p);
    }
  }
  /* posix_memalign: every valid alignment */
  for (size_t al = sizeof(void *); al <= ((size_t)1 << 22); al <<= 1) {
    void *p = NULL;
    uint64_t m = mallocs_now();
    int r = posix_memalign(&p, al, 1000);
    OPAQUE(p);
    CHECK(r == 0 && owned(p, 1000, m) && aligned(p, al));
    free(p);
  }
  /* memalign: glibc rounds an alignment that is not a power of two up to one, and treats
     0 (and anything up to its minimum) as plain malloc */
  struct { size_t al, expect; } ms[] = {{0, 1}, {1, 1}, {3, 4}, {24, 32}, {100, 128}, {4096, 4096}, {5000, 8192}, {1 << 20, 1 << 20}};
  for (unsigned i = 0; i < sizeof ms / sizeof *ms; i++) {
    size_t al = ms[i].al;
    OPAQUE(al);
    uint64_t m = mallocs_now();
    void *p = memalign(al, 333);
    OPAQUE(p);
    CHECK(owned(p, 333, m) && aligned(p, ms[i].expect));
    free(p);
  }
  /* valloc: page aligned; pvalloc: page aligned, rounded up to whole pages */
  size_t pg = os_page();
  size_t vs[] = {0, 1, 100, pg, pg + 1, 3 * pg + 7, 200000};
  for (unsigned i = 0; i < sizeof vs / sizeof *vs; i++) {
    uint64_t m = mallocs_now();
    void *p = valloc(vs[i]);
    OPAQUE(p);
    CHECK(owned(p, vs[i], m) && aligned(p, pg));
    free(p);
    m = mallocs_now();
    p = pvalloc(vs[i]);
    OPAQUE(p);
    size_t rounded = vs[i] ? (vs[i] + pg - 1) / pg * pg : pg;
    CHECK(owned(p, rounded, m) && aligned(p, pg) && malloc_usable_size(p) >= rounded);
    free(p);
  }
}

/* glibc's __libc_* entry points: the same allocator. Preloaded, the names resolve (as any
   dynamic lookup would) to segalloc's definitions; compiled in, the program's own calls bind
   to them. */
static void test_libc_names(void) {
#ifndef OVERRIDE_COMPILED_IN
  void *dm = dlsym(RTLD_DEFAULT, "malloc");
  CHECK(dm != NULL && dm == dlsym(RTLD_DEFAULT, "__libc_malloc"));
  CHECK(dlsym(RTLD_DEFAULT, "free") == dlsym(RTLD_DEFAULT, "__libc_free"));
  CHECK(dlsym(RTLD_DEFAULT, "calloc") == dlsym(RTLD_DEFAULT, "__libc_calloc"));
  CHECK(dlsym(RTLD_DEFAULT, "realloc") == dlsym(RTLD_DEFAULT, "__libc_realloc"));
  CHECK(dm == dlsym(RTLD_DEFAULT, "segalloc_malloc"));
  /* and not glibc's: libc.so.6's own definition is a different address */
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  CHECK(libc != NULL && dlsym(libc, "__libc_malloc") != dm);
  if (libc) dlclose(libc);
#endif
  uint64_t m = mallocs_now();
  void *p = __libc_malloc(100);
  OPAQUE(p);
  CHECK(owned(p, 100, m));
  uint64_t f = frees_now();
  __libc_free(p);
  CHECK(frees_now() == f + 1);

  m = mallocs_now();
  unsigned char *c = (unsigned char *)__libc_calloc(10, 100);
  OPAQUE(c);
  CHECK(c && all_zero(c, 1000) && owned(c, 1000, m));
  m = mallocs_now();
  c = (unsigned char *)__libc_realloc(c, 100000);
  OPAQUE(c);
  CHECK(owned(c, 100000, m));
  free(c); /* mixed: __libc_realloc's block freed with free */

  m = mallocs_now();
  p = __libc_memalign(256, 100);
  OPAQUE(p);
  CHECK(owned(p, 100, m) && aligned(p, 256));
  __libc_free(p);
  m = mallocs_now();
  p = __libc_valloc(100);
  OPAQUE(p);
  CHECK(owned(p, 100, m) && aligned(p, os_page()));
  free(p);
  m = mallocs_now();
  p = __libc_pvalloc(100);
  OPAQUE(p);
  CHECK(owned(p, os_page(), m) && aligned(p, os_page()));
  free(p);

  /* blocks from malloc freed through __libc_free and the other way round */
  p = malloc(50);
  OPAQUE(p);
  f = frees_now();
  __libc_free(p);
  CHECK(frees_now() == f + 1);
  errno = 0;
  volatile size_t vmax = SIZE_MAX;
  p = __libc_malloc(vmax);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
  errno = 0;
  p = __libc_pvalloc(vmax);
  OPAQUE(p);
  CHECK(p == NULL && errno == ENOMEM);
}

static void test_trim_mallinfo(void) {
  segalloc_stats_t st;
  /* mallinfo2 reads segalloc's statistics */
  void *big = malloc(8u << 20);
  OPAQUE(big);
  memset(big, 1, 8u << 20);
  struct mallinfo2 mi = mallinfo2();
  stats(&st);
  CHECK(mi.arena > 0 && mi.uordblks > 0);
  /* glibc's meanings: mapped blocks (segalloc's huge ones) in hblks and hblkhd only, and
     arena = uordblks + fordblks */
  CHECK(mi.uordblks + mi.hblkhd == st.live && mi.hblkhd == st.huge_live);
  CHECK(mi.fordblks == st.thread_cached + st.central + st.pageheap_free);
  CHECK(mi.uordblks >= (8u << 20) && mi.arena == mi.uordblks + mi.fordblks && mi.keepcost == st.pageheap_free);
  {
    size_t huge = (size_t)64 << 20; /* a default arena: past half of one, a mapping of its own */
    void *h = malloc(huge);
    OPAQUE(h);
    struct mallinfo2 mh = mallinfo2();
    CHECK(h && mh.hblks == mi.hblks + 1 && mh.hblkhd >= mi.hblkhd + huge);
    CHECK(mh.uordblks < mi.uordblks + huge); /* not counted twice */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo old = mallinfo(); /* the int version, ours too (glibc's reports zeros) */
#pragma GCC diagnostic pop
    CHECK(old.hblks == (int)mh.hblks && old.uordblks > 0 && (size_t)old.uordblks <= mh.uordblks + (1u << 20));
    free(h);
    CHECK(mallinfo2().hblks == mi.hblks);
  }
  void *more = malloc(4u << 20);
  OPAQUE(more);
  struct mallinfo2 mi2 = mallinfo2();
  CHECK(mi2.uordblks >= mi.uordblks + (4u << 20));
  free(more);
  free(big);
  struct mallinfo2 mi3 = mallinfo2();
  CHECK(mi3.uordblks + (12u << 20) <= mi2.uordblks);

  /* malloc_trim: 1 when memory went back to the OS, 0 when there was none to give */
  void *blocks[64];
  for (int i = 0; i < 64; i++) {
    blocks[i] = malloc(100000);
    OPAQUE(blocks[i]);
    memset(blocks[i], 2, 100000);
  }
  for (int i = 0; i < 64; i++) free(blocks[i]);
  segalloc_stats_t before, after;
  stats(&before);
  int r = malloc_trim(0);
  stats(&after);
  CHECK(r == 1);
  CHECK(after.pageheap_free == 0 && after.released > before.released);
  int r2 = malloc_trim(0);
  CHECK(r2 == 0 || r2 == 1);
  /* and the allocator works after it */
  void *p = malloc(100000);
  OPAQUE(p);
  CHECK(p && usable(p) >= 100000);
  memset(p, 3, 100000);
  free(p);
  int r3 = malloc_trim(1u << 20);
  CHECK(r3 == 0 || r3 == 1);
}

/* ---- nothing allocates from glibc's heap ----
   glibc's malloc grows its main arena with brk; with segalloc in place the program break
   must not move, however much the program and libc allocate. */

static size_t heap_in_maps(void) {
  static char buf[1 << 16];
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) return (size_t)-1;
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
  close(fd);
  buf[n] = 0;
  char *h = strstr(buf, "[heap]");
  if (!h) return 0;
  while (h > buf && h[-1] != '\n') h--;
  unsigned long lo, hi;
  if (sscanf(h, "%lx-%lx", &lo, &hi) != 2) return (size_t)-1;
  return hi - lo;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* 100k operations through libc and the allocator; returns the largest distance the program
   break moved from brk0 (sampled every 64 operations). */
static size_t workload(void *brk0) {
  size_t moved = 0;
  enum { POOL = 1024 };
  static void *pool[POOL];
  unsigned x = 12345;
  char text[4096];
  size_t tl = 0;
  for (int i = 0; i < 60; i++) tl += (size_t)snprintf(text + tl, sizeof text - tl, "line %d %.*s\n", i, i, "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz");
  for (int i = 0; i < 100000; i++) {
    x = x * 1103515245u + 12345u;
    unsigned r = x >> 8;
    switch (i % 12) {
    case 0: {
      char *s = strdup("a string that strdup copies");
      OPAQUE(s);
      free(s);
      break;
    }
    case 1: {
      char *s = NULL;
      if (asprintf(&s, "%d %s %f", i, "asprintf", i * 0.5) > 0) free(s);
      break;
    }
    case 2: {
      char *buf = NULL;
      size_t len = 0;
      FILE *f = open_memstream(&buf, &len);
      if (f) {
        for (unsigned k = 0; k < r % 200; k++) fprintf(f, "%u:%s;", k, "memstream");
        fclose(f);
        free(buf);
      }
      break;
    }
    case 3:
      if (i % 120 == 3) {
        FILE *f = fopen("/proc/self/stat", "r");
        if (f) {
          char line[512];
          if (!fgets(line, sizeof line, f)) line[0] = 0;
          fclose(f);
        }
      }
      break;
    case 4:
      if (i % 240 == 4) {
        size_t n = 1000 + r % 20000;
        int *a = (int *)malloc(n * sizeof(int));
        for (size_t k = 0; k < n; k++) a[k] = (int)((k * 2654435761u) ^ r);
        qsort(a, n, sizeof(int), cmp_int);
        free(a);
      }
      break;
    case 5: {
      unsigned slot = r % POOL;
      free(pool[slot]);
      size_t n = (r & 7) == 0 ? (r % 300000) : (r % 700);
      pool[slot] = malloc(n);
      OPAQUE(pool[slot]);
      if (pool[slot] && n) memset(pool[slot], 1, n < 64 ? n : 64);
      break;
    }
    case 6: {
      unsigned slot = r % POOL;
      void *q = realloc(pool[slot], r % 5000);
      if (q || r % 5000 == 0) pool[slot] = q;
      break;
    }
    case 7: {
      unsigned slot = r % POOL;
      free(pool[slot]);
      pool[slot] = calloc(1 + r % 10, 1 + r % 100);
      break;
    }
    case 8: {
      FILE *f = fmemopen(text, tl, "r");
      if (f) {
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {}
        free(line);
        fclose(f);
      }
      break;
    }
    case 9:
      if (i % 600 == 9) {
        DIR *d = opendir("/proc/self");
        if (d) {
          while (readdir(d)) {}
          closedir(d);
        }
      }
      break;
    case 10: {
      time_t t = (time_t)r;
      struct tm tm;
      char out[64];
      if (localtime_r(&t, &tm)) strftime(out, sizeof out, "%c %Z", &tm);
      break;
    }
    case 11: {
      unsigned slot = r % POOL;
      free(pool[slot]);
      pool[slot] = NULL;
      if (posix_memalign(&pool[slot], 64, r % 2000)) pool[slot] = NULL;
      break;
    }
    }
    if (i % 64 == 0) {
      char *now = (char *)sbrk(0);
      size_t d = now > (char *)brk0 ? (size_t)(now - (char *)brk0) : (size_t)((char *)brk0 - now);
      if (d > moved) moved = d;
    }
  }
  for (int i = 0; i < POOL; i++) {
    free(pool[i]);
    pool[i] = NULL;
  }
  char *now = (char *)sbrk(0);
  size_t d = now > (char *)brk0 ? (size_t)(now - (char *)brk0) : (size_t)((char *)brk0 - now);
  return d > moved ? d : moved;
}

int main(int argc, char **argv) {
  void *brk0 = sbrk(0); /* first thing: before this program allocates anything */
  size_t heap0 = heap_in_maps();
  if (argc > 1 && strcmp(argv[1], "sbrk-control") == 0) {
    size_t moved = workload(brk0);
    printf("sbrk-control: the program break moved by up to %zu bytes, [heap] %zu -> %zu bytes\n", moved, heap0, heap_in_maps());
    return moved > 0 ? 0 : 1;
  }
  if (!resolve()) {
    printf("FAIL: segalloc's symbols not found: is build/libsegalloc.so preloaded?\n");
    printf("0 passed, 1 failed\n");
    return 1;
  }
  uint64_t m0 = mallocs_now();

  size_t moved = workload(brk0);
  size_t heap1 = heap_in_maps();
  CHECK(moved == 0);
  CHECK(heap1 == heap0);
  CHECK(mallocs_now() > m0 + 100000); /* and the workload's allocations were segalloc's */
  if (moved || heap1 != heap0)
    fprintf(stderr, "FAIL: the program break moved by up to %zu bytes; [heap] %zu -> %zu bytes\n", moved, heap0, heap1);

  test_free_null();
  test_basic_names();
  test_realloc();
  test_failures();
  test_aligned();
  test_libc_names();
  test_trim_mallinfo();

  /* the whole run, once more: the break has not moved */
  CHECK(sbrk(0) == brk0);
  return test_finish();
}

/* The API test: every public function and every edge case the C standard and POSIX name,
   plus the statistics identities. Uses only the public API (segalloc_*), as a program
   that drops the header in would. */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define MiB ((size_t)1 << 20)

static int all_bytes(const void *p, int v, size_t n) {
  const unsigned char *c = (const unsigned char *)p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != (unsigned char)v) return 0;
  return 1;
}

static int stats_add_up(void) {
  segalloc_stats_t st;
  segalloc_stats(&st);
  return test_stats_add_up(&st);
}

static void test_malloc(void) {
  void *a = segalloc_malloc(0), *b = segalloc_malloc(0);
  CHECK(a != NULL && b != NULL && a != b);
  segalloc_free(a);
  segalloc_free(b);
  segalloc_free(NULL);

  /* every size up to past the small limit, then a sampling of large and huge ones: usable
     size covers the request, alignment is 16 from 16 bytes, all of it can be written */
  int ok_usable = 1, ok_align = 1, ok_write = 1;
  for (size_t n = 1; n <= 70000; n += (n < 1100 ? 1 : 61)) {
    unsigned char *p = (unsigned char *)segalloc_malloc(n);
    if (!p) { ok_write = 0; break; }
    size_t u = segalloc_usable_size(p);
    if (u < n) ok_usable = 0;
    if (n >= 16 && (uintptr_t)p % 16) ok_align = 0;
    memset(p, 0xab, u);
    if (p[0] != 0xab || p[u - 1] != 0xab) ok_write = 0;
    segalloc_free(p);
  }
  CHECK(ok_usable);
  CHECK(ok_align);
  CHECK(ok_write);
  size_t bigs[] = {100 * 1024, MiB, 5 * MiB, 31 * MiB, 33 * MiB, 100 * MiB};
  for (unsigned i = 0; i < sizeof bigs / sizeof *bigs; i++) {
    unsigned char *p = (unsigned char *)segalloc_malloc(bigs[i]);
    CHECK(p != NULL && segalloc_usable_size(p) >= bigs[i] && (uintptr_t)p % 16 == 0);
    if (p) {
      p[0] = 1;
      p[bigs[i] - 1] = 2;
      CHECK(p[0] == 1 && p[bigs[i] - 1] == 2);
    }
    segalloc_free(p);
  }
  CHECK(segalloc_usable_size(NULL) == 0);

  /* overflowing and unbackable sizes: NULL, ENOMEM, and the heap still works */
  size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, (size_t)1 << 48};
  for (unsigned i = 0; i < sizeof huge / sizeof *huge; i++) {
    errno = 0;
    CHECK(segalloc_malloc(huge[i]) == NULL && errno == ENOMEM);
  }
  void *after = segalloc_malloc(64);
  CHECK(after != NULL);
  segalloc_free(after);
}

static void test_calloc(void) {
  errno = 0;
  CHECK(segalloc_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(segalloc_calloc((size_t)1 << 33, (size_t)1 << 33) == NULL && errno == ENOMEM);
  /* dirty blocks, free them, calloc the same sizes: all zero (reused memory is cleared) */
  size_t sizes[] = {1, 16, 100, 1000, 4000, 32768, 40000, 300000, 2 * MiB, 40 * MiB};
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    void *d = segalloc_malloc(sizes[i]);
    memset(d, 0x5a, sizes[i]);
    segalloc_free(d);
    unsigned char *z = (unsigned char *)segalloc_calloc(1, sizes[i]);
    CHECK(z != NULL && all_bytes(z, 0, sizes[i]));
    segalloc_free(z);
  }
  void *z0 = segalloc_calloc(0, 0);
  CHECK(z0 != NULL);
  segalloc_free(z0);
}

static void test_realloc(void) {
  /* growing through small, large and huge keeps the contents */
  unsigned char *p = (unsigned char *)segalloc_realloc(NULL, 10);
  CHECK(p != NULL);
  for (int i = 0; i < 10; i++) p[i] = (unsigned char)i;
  size_t n = 10;
  int ok = 1;
  while (n < 40 * MiB) {
    size_t m = n * 3;
    p = (unsigned char *)segalloc_realloc(p, m);
    if (!p) { ok = 0; break; }
    for (int i = 0; i < 10; i++) ok &= p[i] == i;
    memset(p + 10, 0x11, m - 10);
    n = m;
  }
  CHECK(ok);
  /* and shrinking too */
  p = (unsigned char *)segalloc_realloc(p, 20);
  CHECK(p != NULL && p[9] == 9 && p[10] == 0x11 && p[19] == 0x11);

  /* in place when the block already fits */
  unsigned char *q = (unsigned char *)segalloc_malloc(100);
  size_t u = segalloc_usable_size(q);
  CHECK(segalloc_realloc(q, u) == q);
  CHECK(segalloc_realloc(q, 90) == q);
  unsigned char *l = (unsigned char *)segalloc_malloc(200000);
  CHECK(segalloc_realloc(l, 150000) == l);
  segalloc_free(l);

#if !SEGALLOC__WRAPPED /* the debug build's realloc keeps exact sizes */
  /* a block that grows a little and must move gets a quarter more room, so appending a
     byte at a time moves it a logarithmic number of times; errno is left alone */
  {
    unsigned char *g = (unsigned char *)segalloc_malloc(1000);
    size_t gu = segalloc_usable_size(g);
    memset(g, 3, gu);
    errno = 1234;
    unsigned char *g2 = (unsigned char *)segalloc_realloc(g, gu + 1);
    CHECK(g2 != NULL && g2 != g && segalloc_usable_size(g2) >= gu + gu / 4 && all_bytes(g2, 3, gu) && errno == 1234);
    int moves = 0;
    unsigned char *s = NULL;
    for (size_t len = 1; len <= 100000; len++) {
      unsigned char *t = (unsigned char *)segalloc_realloc(s, len);
      if (!t) break;
      moves += t != s;
      t[len - 1] = (unsigned char)len;
      s = t;
    }
    CHECK(s != NULL && s[99999] == (unsigned char)100000 && s[999] == (unsigned char)1000);
    CHECK(moves < 40); /* 27 here; one move per size class passed through was 66 */
    segalloc_free(s);
    segalloc_free(g2);
  }
  /* buffers grown side by side leave no cache of blocks in each class of 1 KiB and up
     they moved out of: those go back to their spans once the class has one cached */
  {
    enum { NB = 16, TOP = 24 * 1024 };
    unsigned char *b[NB] = {0};
    int grew = 1;
    segalloc_thread_flush();
    for (size_t len = 64; len <= TOP && grew; len += 64)
      for (int i = 0; i < NB; i++) {
        unsigned char *t = (unsigned char *)segalloc_realloc(b[i], len);
        if (!t) { grew = 0; break; }
        t[len - 1] = (unsigned char)i;
        b[i] = t;
      }
    segalloc_stats_t st;
    segalloc_stats(&st);
    size_t passed = 0, cached = 0; /* classes from 1 KiB to below the buffers' own */
    for (unsigned c = 1; c < st.nclasses; c++)
      if (st.classes[c].size >= 1024 && st.classes[c].size < TOP) {
        passed++;
        cached += st.classes[c].objects_cached;
      }
    if (!grew || cached > 2 * passed) fprintf(stderr, "%zu classes passed through keep %zu blocks cached\n", passed, cached);
    CHECK(grew && passed > 0 && cached <= 2 * passed);
    for (int i = 0; i < NB; i++) CHECK(b[i][TOP - 1] == (unsigned char)i);
    for (int i = 0; i < NB; i++) segalloc_free(b[i]);
  }
#endif
#if !SEGALLOC__WRAPPED
  /* large blocks grown among free neighbours: some grow into the pages before them, their
     bytes moved down (the new block overlaps the old one from below); contents kept */
  {
    enum { NS = 24, ROUNDS = 3000 };
    unsigned char *slot[NS] = {0};
    size_t len[NS] = {0};
    uint64_t r = 12345;
    int kept = 1, down = 0;
    for (int it = 0; it < ROUNDS; it++) {
      r = r * 6364136223846793005ull + 1442695040888963407ull;
      int i = (int)((r >> 33) % NS), op = (int)((r >> 20) % 4);
      size_t n = SEGALLOC__SMALL_MAX + 1 + (size_t)((r >> 40) % (256 * 1024));
      if (op == 0 && slot[i]) {
        segalloc_free(slot[i]);
        slot[i] = NULL;
        len[i] = 0;
        continue;
      }
      if (slot[i] && n < len[i]) n = len[i] + (n - SEGALLOC__SMALL_MAX); /* grow */
      unsigned char *q = (unsigned char *)segalloc_realloc(slot[i], n);
      if (!q) { kept = 0; break; }
      for (size_t k = 0; k < len[i]; k += 512) kept &= q[k] == (unsigned char)(k / 512 + (size_t)i);
      if (slot[i] && q < slot[i] && q + n > slot[i]) down++;
      for (size_t k = 0; k < n; k += 512) q[k] = (unsigned char)(k / 512 + (size_t)i);
      slot[i] = q;
      len[i] = n;
    }
    if (!down) fprintf(stderr, "no block grew into the pages before it\n");
    CHECK(kept && down > 0);
    for (int i = 0; i < NS; i++) segalloc_free(slot[i]);
    CHECK(stats_add_up());
  }
#endif
  /* a block of a small block's size that has no span (huge: aligned to half an arena)
     grows like any other */
  {
    unsigned char *h = (unsigned char *)segalloc_aligned_alloc(SEGALLOC_ARENA_SIZE / 2, 100);
    CHECK(h != NULL && (uintptr_t)h % (SEGALLOC_ARENA_SIZE / 2) == 0);
    if (h) {
      memset(h, 0x6B, 100);
      unsigned char *h2 = (unsigned char *)segalloc_realloc(h, 20000);
      CHECK(h2 != NULL && all_bytes(h2, 0x6B, 100) && segalloc_usable_size(h2) >= 20000);
      segalloc_free(h2);
    }
  }

  /* overflow: NULL, ENOMEM, the block untouched and still ours */
  memset(q, 7, 90);
  errno = 0;
  CHECK(segalloc_realloc(q, SIZE_MAX) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(segalloc_reallocarray(q, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
  CHECK(all_bytes(q, 7, 90) && segalloc_usable_size(q) >= 90);
  q = (unsigned char *)segalloc_reallocarray(q, 10, 30);
  CHECK(q != NULL && segalloc_usable_size(q) >= 300 && all_bytes(q, 7, 90));

  /* realloc(p, 0) frees p and returns a fresh minimal block */
  void *r0 = segalloc_realloc(q, 0);
  CHECK(r0 != NULL);
  segalloc_free(r0);
  segalloc_free(p);
}

/* A large block the program never writes past its first bytes, on pages where a small
   object was freed: realloc's copies carried that object's free mark into a small block at
   the same address, whose one free then stopped the program as a double free (found by a
   helper's review). In the default build the blocks land where the comments say; in
   builds whose wrappers pad the sizes they may not, and the frees must pass either way. */
static void test_stale_mark(void) {
  char *a = (char *)segalloc_malloc(20480); /* its span's first object, at the span's start */
  uintptr_t at = (uintptr_t)a;
  memset(a, 'x', 8);
  segalloc_free(a);                          /* word 1 now holds the free mark of `at` */
  segalloc_thread_flush();                   /* the span, all free, back to the page heap */
  char *l = (char *)segalloc_malloc(5 * 8192); /* a large block on the same pages */
  memcpy(l, "hello", 6);
#if SEGALLOC_CHECKS
  CHECK(((void **)l)[1] != segalloc__free_mark(segalloc__cookie, l)); /* handed out without it */
#endif
  char *q = (char *)segalloc_realloc(l, 100);  /* moved to a small block, 100 bytes copied */
  char *r = (char *)segalloc_realloc(q, 20480); /* moved again: a fresh span of 20 KiB blocks */
#if !SEGALLOC__WRAPPED && SEGALLOC_PAGE_SIZE == 8192
  CHECK((uintptr_t)l == at && (uintptr_t)r == at); /* the case above (run first, on a fresh heap) */
#else
  (void)at;
#endif
  CHECK(r != NULL && !strcmp(r, "hello"));
  segalloc_free(r); /* stopped the program before */
  CHECK(segalloc_check_heap() == 0);
}

static void test_aligned(void) {
  /* every power of two up to 256 MiB, with sizes around it */
  int ok = 1;
  for (size_t al = 1; al <= 256 * MiB; al *= 2) {
    size_t sizes[] = {1, al / 2 + 1, al, 3 * al / 2 > 300 * MiB ? 1000 : 3 * al / 2};
    for (unsigned i = 0; i < 4; i++) {
      size_t n = sizes[i] ? sizes[i] : 1;
      unsigned char *p = (unsigned char *)segalloc_aligned_alloc(al, n);
      if (!p || (uintptr_t)p % al || segalloc_usable_size(p) < n) {
        ok = 0;
        fprintf(stderr, "aligned_alloc(%zu, %zu) = %p\n", al, n, (void *)p);
      }
      if (p) {
        p[0] = 1;
        p[n - 1] = 1;
      }
      segalloc_free(p);
    }
  }
  CHECK(ok);
  size_t bad[] = {0, 3, 24, 100, (size_t)1 << 63 | 1};
  for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
    errno = 0;
    CHECK(segalloc_aligned_alloc(bad[i], 64) == NULL && errno == EINVAL);
  }
  errno = 0;
  CHECK(segalloc_aligned_alloc(64, SIZE_MAX - 10) == NULL && errno == ENOMEM);

  void *out = (void *)0x1234;
  CHECK(segalloc_posix_memalign(&out, 4, 64) == EINVAL && out == (void *)0x1234);
  CHECK(segalloc_posix_memalign(&out, 24, 64) == EINVAL && out == (void *)0x1234);
  CHECK(segalloc_posix_memalign(&out, 0, 64) == EINVAL && out == (void *)0x1234);
  CHECK(segalloc_posix_memalign(&out, 64, SIZE_MAX) == ENOMEM && out == (void *)0x1234);
  CHECK(segalloc_posix_memalign(&out, sizeof(void *), 10) == 0 && out != (void *)0x1234);
  segalloc_free(out);
  CHECK(segalloc_posix_memalign(&out, 4096, 10) == 0 && (uintptr_t)out % 4096 == 0);
  segalloc_free(out);
  CHECK(segalloc_posix_memalign(&out, 64 * MiB, 10) == 0 && (uintptr_t)out % (64 * MiB) == 0);
  segalloc_free(out);

  void *m = segalloc_memalign(64, 100);
  CHECK(m != NULL && (uintptr_t)m % 64 == 0);
  segalloc_free(m);
  m = segalloc_memalign(24, 100); /* glibc rounds up to 32 */
  CHECK(m != NULL && (uintptr_t)m % 32 == 0);
  segalloc_free(m);
  /* the rest of memalign's arguments (tests/coverage.sh: never passed): alignment 0 is 1,
     the round-up works for page-sized and larger alignments; as glibc's, an alignment past
     SIZE_MAX / 2 + 1 is EINVAL, and one of 2^62, or past it (rounded up to 2^63), cannot be
     had (ENOMEM) */
  m = segalloc_memalign(0, 100);
  CHECK(m != NULL && (uintptr_t)m % 16 == 0 && segalloc_usable_size(m) >= 100);
  segalloc_free(m);
  m = segalloc_memalign(3 * 4096, 100);
  CHECK(m != NULL && (uintptr_t)m % 16384 == 0);
  segalloc_free(m);
  m = segalloc_memalign(100000, 200000);
  CHECK(m != NULL && (uintptr_t)m % 131072 == 0 && segalloc_usable_size(m) >= 200000);
  segalloc_free(m);
  errno = 0;
  CHECK(segalloc_memalign(((size_t)1 << (sizeof(size_t) * 8 - 2)) + 1, 10) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(segalloc_memalign(SIZE_MAX / 2 + 1, 10) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(segalloc_memalign(SIZE_MAX / 2 + 2, 10) == NULL && errno == EINVAL);
  errno = 0;
  CHECK(segalloc_memalign((size_t)1 << (sizeof(size_t) * 8 - 2), 10) == NULL && errno == ENOMEM);

  void *v = segalloc_valloc(10);
  CHECK(v != NULL && (uintptr_t)v % 4096 == 0);
  segalloc_free(v);
  void *pv = segalloc_pvalloc(1);
  CHECK(pv != NULL && (uintptr_t)pv % 4096 == 0 && segalloc_usable_size(pv) >= 4096);
  segalloc_free(pv);
  errno = 0;
  CHECK(segalloc_pvalloc(SIZE_MAX) == NULL && errno == ENOMEM);

  void *fs = segalloc_malloc(48);
  segalloc_free_sized(fs, 48);
  void *fa = segalloc_aligned_alloc(256, 300);
  CHECK(fa != NULL && (uintptr_t)fa % 256 == 0);
  segalloc_free_aligned_sized(fa, 256, 300);
  CHECK(1);
}

static void test_stats(void) {
  segalloc_stats_t a, b;
  CHECK(stats_add_up());
  segalloc_stats(&a);
  void *p = segalloc_malloc(1000);
  void *big = segalloc_malloc(3 * MiB);
  void *huge = segalloc_malloc(40 * MiB);
  segalloc_stats(&b);
  CHECK(stats_add_up());
  CHECK(b.live >= a.live + 1000 + 3 * MiB + 40 * MiB);
  CHECK(b.mallocs >= a.mallocs + 3);
  CHECK(b.large_live + b.huge_live >= a.large_live + a.huge_live + 43 * MiB);
  CHECK(b.huge_live >= a.huge_live + 40 * MiB);
  unsigned cls = 0;
  for (unsigned c = 1; c < b.nclasses; c++)
    if (b.classes[c].size >= 1000) { cls = c; break; }
  CHECK(cls && b.classes[cls].objects_in_use == a.classes[cls].objects_in_use + 1);
  segalloc_free(p);
  segalloc_free(big);
  segalloc_free(huge);
  segalloc_stats(&b);
  CHECK(stats_add_up());
  CHECK(b.live == a.live);
  CHECK(b.frees >= a.frees + 3);
  CHECK(b.mallocs - b.frees == a.mallocs - a.frees);

  /* trim: nothing stays in this thread's cache or resident in the page heap */
  void *many[2000];
  for (int i = 0; i < 2000; i++) many[i] = segalloc_malloc((size_t)(i % 50) * 100 + 1);
  for (int i = 0; i < 2000; i++) segalloc_free(many[i]);
  segalloc_trim();
  segalloc_stats(&b);
  CHECK(b.thread_cached == 0);
  CHECK(b.pageheap_free == test_heap_unreleasable()); /* 0 unless OS pages are larger */
  CHECK(b.released > 0);
  CHECK(stats_add_up());
}

static void *alloc_in_thread(void *arg) {
  void **slots = (void **)arg;
  for (int i = 0; i < 1000; i++) {
    slots[i] = segalloc_malloc((size_t)(i % 300) + 1);
    memset(slots[i], i & 0xff, (size_t)(i % 300) + 1);
  }
  void *keep[500];
  for (int i = 0; i < 500; i++) keep[i] = segalloc_malloc(64); /* cached at exit */
  for (int i = 0; i < 500; i++) segalloc_free(keep[i]);
  return NULL;
}

static void *free_in_thread(void *arg) {
  void **slots = (void **)arg;
  for (int i = 0; i < 1000; i++) segalloc_free(slots[i]);
  return NULL;
}

/* free(NULL) as a thread's very first call, and again later: no arena hint matches NULL */
static void *free_null_first(void *arg) {
  (void)arg;
  segalloc_free(NULL);
  segalloc_free(segalloc_malloc(10));
  segalloc_free(NULL);
  return (void *)1;
}

static void test_threads(void) {
  void *ret = NULL;
  pthread_t t0;
  pthread_create(&t0, NULL, free_null_first, NULL);
  pthread_join(t0, &ret);
  CHECK(ret == (void *)1);
  static void *slots[1000];
  segalloc_stats_t a, b;
  segalloc_trim();
  segalloc_stats(&a);
  pthread_t t;
  pthread_create(&t, NULL, alloc_in_thread, slots);
  pthread_join(t, NULL);
  int ok = 1;
  for (int i = 0; i < 1000; i++) ok &= all_bytes(slots[i], i & 0xff, (size_t)(i % 300) + 1);
  CHECK(ok); /* blocks from an exited thread stay intact */
  segalloc_stats(&b);
  CHECK(b.threads == a.threads);         /* the exited thread's cache is gone ... */
  CHECK(b.thread_cached == a.thread_cached); /* ... and gave back what it held */
  pthread_create(&t, NULL, free_in_thread, slots);
  pthread_join(t, NULL);
  segalloc_stats(&b);
  CHECK(b.live == a.live);
  CHECK(stats_add_up());
  /* and the other way: allocated here, freed there, and here again */
  for (int i = 0; i < 1000; i++) slots[i] = segalloc_malloc(5000);
  pthread_create(&t, NULL, free_in_thread, slots);
  pthread_join(t, NULL);
  for (int i = 0; i < 1000; i++) slots[i] = segalloc_malloc(5000);
  for (int i = 0; i < 1000; i++) segalloc_free(slots[i]);
  segalloc_stats(&b);
  CHECK(b.live == a.live);
}

/* Huge blocks allocated and freed in turn reuse the address space the last one left: they
   used to be placed each below the one before (the hint arenas take), which under ASan
   kept the shadow of every range they passed resident (the fuzzer ran out of memory). */
static void test_huge_reuse(void) {
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  int ok = 1;
  for (int i = 0; i < 32; i++) {
    size_t n = 40 * MiB + (size_t)(i % 4) * 4096;
    unsigned char *p = (unsigned char *)(i & 1 ? segalloc_aligned_alloc(MiB, n) : segalloc_malloc(n));
    ok &= p != NULL;
    if (!p) break;
    p[0] = p[n - 1] = 1;
    if ((uintptr_t)p < lo) lo = (uintptr_t)p;
    if ((uintptr_t)p > hi) hi = (uintptr_t)p;
    segalloc_free(p);
  }
  CHECK(ok);
  /* 32 of them one below the other span 1.3 GiB (1,256 MiB measured before the fix);
     reused holes stay within a few blocks' worth, though where the kernel puts the first
     ones varies (169 MiB once in CI with 32 KiB pages, so the bound is 8 blocks, not 4) */
  if (hi - lo > 8 * 41 * MiB) printf("FAIL huge blocks spread over %zu MiB of addresses\n", (size_t)((hi - lo) >> 20));
  CHECK(hi - lo <= 8 * 41 * MiB);
}

int main(void) {
  test_stale_mark(); /* first: it needs pages no other test has used */
  test_malloc();
  test_calloc();
  test_realloc();
  test_aligned();
  test_stats();
  test_threads();
  test_huge_reuse();
  CHECK(strcmp(segalloc_version(), "segalloc 0.1") == 0);
  CHECK(segalloc_check_heap() == 0);
  return test_finish();
}

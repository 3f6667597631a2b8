/* test_dlopen_lib.c: a shared library with segalloc compiled in (SEGALLOC_IMPLEMENTATION,
   no override, the TLS model as given on the command line or the compiler's default), for
   tests/test_dlopen.c to dlopen() late, after the program has started threads.

     cc -fPIC -shared -o libdlt.so tests/test_dlopen_lib.c -pthread
     cc -fPIC -shared -DSEGALLOC_TLS_MODEL='"initial-exec"' -o libdlt-ie.so ...

   Every function it exports is dlt_* (plus segalloc_* itself). */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define DLT_EXPORT __attribute__((visibility("default")))

static unsigned dlt_rnd(unsigned *x) {
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

/* A block of n >= 16 bytes stamped with its size at both ends. */
static void *dlt_stamped(size_t n, int how) {
  unsigned char *p;
  switch (how) {
  case 0: p = (unsigned char *)segalloc_malloc(n); break;
  case 1: p = (unsigned char *)segalloc_calloc(1, n); break;
  case 2: p = (unsigned char *)segalloc_aligned_alloc(64, n); break;
  default: p = (unsigned char *)segalloc_realloc(segalloc_malloc(16), n); break;
  }
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  p[n - 1] = (unsigned char)(n * 13);
  return p;
}

static int dlt_stamp_ok(const void *q) {
  const unsigned char *p = (const unsigned char *)q;
  size_t n;
  memcpy(&n, p, sizeof n);
  return n >= 16 && segalloc_usable_size(q) >= n && p[n - 1] == (unsigned char)(n * 13);
}

/* Allocate, check and free on the calling thread; returns the number of errors. */
DLT_EXPORT int dlt_work(unsigned seed, int iters) {
  enum { POOL = 128 };
  void *pool[POOL] = {0};
  unsigned x = seed | 1;
  int errors = 0;
  for (int i = 0; i < iters; i++) {
    unsigned r = dlt_rnd(&x);
    unsigned slot = r % POOL;
    if (pool[slot]) {
      if (!dlt_stamp_ok(pool[slot])) errors++;
      segalloc_free(pool[slot]);
    }
    size_t n = 16 + ((r >> 8) % 16 == 0 ? (r >> 12) % 300000 : (r >> 12) % 1000);
    pool[slot] = dlt_stamped(n, (int)((r >> 4) & 3));
    if (!pool[slot]) errors++;
  }
  for (int i = 0; i < POOL; i++) {
    if (!pool[i]) continue;
    if (!dlt_stamp_ok(pool[i])) errors++;
    segalloc_free(pool[i]);
  }
  return errors;
}

struct dlt_job {
  unsigned seed;
  int iters;
  int errors;
};

static void *dlt_thread(void *arg) {
  struct dlt_job *j = (struct dlt_job *)arg;
  j->errors = dlt_work(j->seed, j->iters);
  return NULL;
}

/* The same from nthreads (<= 16) threads the library starts itself; the errors added up,
   or -1 when a thread could not be started. */
DLT_EXPORT int dlt_work_threads(int nthreads, int iters) {
  pthread_t t[16];
  struct dlt_job jobs[16];
  if (nthreads > 16) nthreads = 16;
  int started = 0, errors = 0;
  for (int i = 0; i < nthreads; i++) {
    jobs[i].seed = 1000u + (unsigned)i;
    jobs[i].iters = iters;
    jobs[i].errors = 0;
    if (pthread_create(&t[i], NULL, dlt_thread, &jobs[i]) != 0) return -1;
    started++;
  }
  for (int i = 0; i < started; i++) {
    pthread_join(t[i], NULL);
    errors += jobs[i].errors;
  }
  return errors;
}

/* For frees across threads: a stamped block from this thread's cache, and its free. */
DLT_EXPORT void *dlt_alloc(size_t n) { return dlt_stamped(n < 16 ? 16 : n, 0); }
DLT_EXPORT int dlt_free(void *p) {
  int ok = p && dlt_stamp_ok(p);
  segalloc_free(p);
  return ok;
}

DLT_EXPORT void dlt_stats(segalloc_stats_t *out) { segalloc_stats(out); }

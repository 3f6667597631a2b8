/* Idle transfer caches going back to their spans (central.c, segalloc__central_decay), with
   threads at work: workers move through phases of a few size classes each, so classes go
   idle and their transfer caches decay while other threads take and give chains of them;
   an eighth of the blocks are freed by another thread; a stream of short-lived threads
   exits (draining its shard's chains) and a worker trims now and then. Every block carries
   a tag at both ends, checked before it is freed. Afterwards: the heap checks clean, the
   statistics balance, the clock has run, and once this thread alone has freed enough for
   every transfer cache to go idle, every class but the one it uses holds no chain, no span
   and no object out.
   Usage: test_decay [THREADS [ROUNDS]]. Built plain, under ASan and under TSan (tests/run.sh). */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const size_t sizes[] = {16, 24, 32, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 16384};
#define NSIZES (sizeof sizes / sizeof sizes[0])
enum { MAX_THREADS = 16, BURST = 256, PHASE = 200, XCH = 256 };

static int nthreads = 4, rounds = 1500;
static int corrupt; /* blocks whose tags were overwritten (atomics) */

static struct {
  void *p;
  uint64_t tag;
  size_t n;
} xch[XCH]; /* blocks handed to whichever thread comes next */
static pthread_mutex_t xlock = PTHREAD_MUTEX_INITIALIZER;
static int stop_spawn;

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void put(void *p, size_t n, uint64_t tag) {
  memcpy(p, &tag, 8);
  memcpy((char *)p + n - 8, &tag, 8);
}

static void check_and_free(void *p, size_t n, uint64_t tag) {
  uint64_t a, b;
  memcpy(&a, p, 8);
  memcpy(&b, (char *)p + n - 8, 8);
  if (a != tag || b != tag) __atomic_add_fetch(&corrupt, 1, __ATOMIC_RELAXED);
  segalloc_free(p);
}

static void *worker(void *arg) {
  int tid = (int)(intptr_t)arg;
  uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(tid + 1);
  void *p[BURST];
  size_t n[BURST];
  uint64_t tag[BURST];
  for (int r = 0; r < rounds; r++) {
    int phase = (r / PHASE + tid) % 8;
    for (int i = 0; i < BURST; i++) {
      uint64_t x = rnd(&s);
      /* three sizes of this phase, and now and then one of any */
      size_t k = (x % 4096 == 0) ? (x >> 8) % NSIZES : (size_t)(phase * 3 + (x >> 8) % 3) % NSIZES;
      n[i] = sizes[k] - (sizes[k] > 16 ? (x >> 20) % 8 : 0);
      p[i] = segalloc_malloc(n[i]);
      if (!p[i]) {
        __atomic_add_fetch(&corrupt, 1, __ATOMIC_RELAXED);
        continue;
      }
      tag[i] = x | 1;
      put(p[i], n[i], tag[i]);
    }
    for (int i = BURST; i-- > 0;) {
      if (!p[i]) continue;
      if (rnd(&s) % 8 == 0) { /* hand it off: another thread frees it */
        unsigned j = (unsigned)(rnd(&s) % XCH);
        pthread_mutex_lock(&xlock);
        void *q = xch[j].p;
        uint64_t qt = xch[j].tag;
        size_t qn = xch[j].n;
        xch[j].p = p[i];
        xch[j].tag = tag[i];
        xch[j].n = n[i];
        pthread_mutex_unlock(&xlock);
        if (q) check_and_free(q, qn, qt);
      } else {
        check_and_free(p[i], n[i], tag[i]);
      }
    }
    if (r % 300 == 299 && tid == 0) segalloc_trim(); /* a drain of its own, against decays */
  }
  return NULL;
}

/* short-lived threads: their exits drain their shard's chains while others decay */
static void *shortlived(void *arg) {
  uint64_t s = (uint64_t)(uintptr_t)arg * 7919 + 1;
  void *q[64];
  for (int r = 0; r < 40; r++) {
    for (int i = 0; i < 64; i++) q[i] = segalloc_malloc(sizes[rnd(&s) % NSIZES]);
    for (int i = 0; i < 64; i++) segalloc_free(q[i]);
  }
  return NULL;
}

static void *spawner(void *arg) {
  (void)arg;
  uintptr_t k = 0;
  while (!__atomic_load_n(&stop_spawn, __ATOMIC_RELAXED)) {
    pthread_t t;
    if (pthread_create(&t, NULL, shortlived, (void *)++k) == 0) pthread_join(t, NULL);
  }
  return (void *)k;
}

int main(int argc, char **argv) {
  if (argc > 1) nthreads = atoi(argv[1]);
  if (argc > 2) rounds = atoi(argv[2]);
  if (nthreads < 1 || nthreads > MAX_THREADS) nthreads = 4;
  segalloc_free(segalloc_malloc(1));
  segalloc_stats_t st0, st1;
  segalloc_stats(&st0);
  uint32_t epoch0 = segalloc__load_relaxed(&segalloc__epoch);

  pthread_t th[MAX_THREADS], sp;
  CHECK(pthread_create(&sp, NULL, spawner, NULL) == 0);
  for (int t = 0; t < nthreads; t++) CHECK(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0);
  for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
  __atomic_store_n(&stop_spawn, 1, __ATOMIC_RELAXED);
  void *spawned;
  pthread_join(sp, &spawned);
  for (int j = 0; j < XCH; j++)
    if (xch[j].p) check_and_free(xch[j].p, xch[j].n, xch[j].tag);

  uint32_t ticks = segalloc__load_relaxed(&segalloc__epoch) - epoch0;
  printf("  %d threads x %d rounds, %lu short-lived threads, %u ticks\n", nthreads, rounds,
         (unsigned long)(uintptr_t)spawned, ticks);
  CHECK(corrupt == 0);
  CHECK(ticks > 2 * SEGALLOC__TRANSFER_IDLE); /* classes went idle and decayed meanwhile */
  CHECK(segalloc_check_heap() == 0);
  segalloc_stats(&st1);
  CHECK(st1.live == st0.live);
  CHECK(st1.mallocs - st0.mallocs == st1.frees - st0.frees);

  /* now this thread alone: its cache emptied, then more than SEGALLOC__TRANSFER_IDLE ticks'
     frees of one size. Every other class's transfer cache goes idle and back to its spans,
     and with nothing else out, every one of those spans goes back to the page heap */
  segalloc_thread_flush();
  for (int i = 0; i < (SEGALLOC__TRANSFER_IDLE + 8) * (int)SEGALLOC__TICK_FREES; i++) segalloc_free(segalloc_malloc(16));
  segalloc_thread_flush();
  /* the class in use may keep a chain a tick parked; under ASan and SEGALLOC_DEBUG the
     padded size picks a larger class than 16 bytes' */
  void *probe = segalloc_malloc(16);
  unsigned keep = segalloc__span_of((uintptr_t)probe)->cls, busy = 0;
  segalloc_free(probe);
  segalloc_thread_flush();
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) {
    segalloc__central *cen = &segalloc__centrals[c];
    segalloc__lock_acquire(&cen->lock);
    unsigned chains = cen->transfer ? cen->transfer->count : 0;
    int held = chains || cen->nspans || cen->out;
    segalloc__lock_release(&cen->lock);
    if (c != keep && held) {
      busy++;
      fprintf(stderr, "  class %u (%u bytes) still holds chains, spans or objects\n", c, (unsigned)segalloc__class_size[c]);
    }
  }
  CHECK(busy == 0);
  CHECK(segalloc_check_heap() == 0);
  segalloc_stats(&st1);
  CHECK(st1.live == st0.live);
  return test_finish();
}

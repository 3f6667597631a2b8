/* Threaded stress test with a shadow record of every live block.

     test_stress [THREADS [SCALE [ITER]]]      defaults: 4 threads, scale 10, 100 iterations

   Each thread runs ITER rounds of SCALE*20 random operations (seeded by the thread number,
   so a run repeats exactly): malloc, calloc, aligned_alloc and realloc of sizes from 1 byte
   to 1 MiB (a few huge blocks too), free, and hand-offs through a shared exchange so that
   many blocks are freed by a thread other than the one that allocated them. Every block is
   filled with a pattern derived from its own seed; the pattern is checked before each free
   and realloc, so a block handed out twice, or corrupted by the allocator's own free lists,
   is caught. The shadow maps (stb_ds hash maps keyed by address) also catch an address
   handed out while the thread still holds it. At the end the statistics must show every
   block back. */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#define STB_DS_IMPLEMENTATION
#include <stb/stb_ds.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct { size_t size; uint64_t seed; } rec;
/* Keys are 16 bytes, not a bare pointer: stb_ds hashes 8-byte keys with a shift that
   UBSan rightly flags (int overflow), while longer keys go through its SipHash. */
typedef struct { void *p; uintptr_t zero; } pkey;
typedef struct { pkey key; rec value; } shadow_entry;
static pkey K(void *p) { pkey k = {p, 0}; return k; }

static int nthreads = 4, scale = 10, iters = 100;

#define EXCHANGE 64
static struct { void *p; rec r; } exchange[EXCHANGE];
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static int total_bad, total_dupes;
static pthread_mutex_t result_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t rnd(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return *s = x;
}

static unsigned char pat(uint64_t seed, size_t i) { return (unsigned char)((seed >> (i & 31)) ^ (i * 131)); }

/* Pattern at both ends and every 4 KiB in between: cheap for big blocks, still catches
   overlap and free-list writes (which land in the first words). */
static void fill(unsigned char *p, rec r) {
  size_t n = r.size;
  for (size_t i = 0; i < n && i < 64; i++) p[i] = pat(r.seed, i);
  for (size_t i = n > 64 ? n - 64 : 64; i < n; i++) p[i] = pat(r.seed, i);
  for (size_t i = 4096; i < n; i += 4096) p[i] = pat(r.seed, i);
}

static int verify(const unsigned char *p, rec r, size_t upto) {
  size_t n = r.size < upto ? r.size : upto;
  for (size_t i = 0; i < n && i < 64; i++) if (p[i] != pat(r.seed, i)) return 0;
  if (n == r.size)
    for (size_t i = n > 64 ? n - 64 : 64; i < n; i++) if (p[i] != pat(r.seed, i)) return 0;
  for (size_t i = 4096; i < n; i += 4096) if (p[i] != pat(r.seed, i)) return 0;
  return 1;
}

static size_t pick_size(uint64_t *s) {
  uint64_t x = rnd(s) % 1000;
  if (x < 700) return 1 + rnd(s) % 256;
  if (x < 900) return 1 + rnd(s) % 4096;
  if (x < 980) return 1 + rnd(s) % 32768;
  if (x < 999) return 32769 + rnd(s) % (1 << 20);
  return (size_t)(SEGALLOC_ARENA_SIZE) / 2 + rnd(s) % 100000; /* huge: its own mapping */
}

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1), seeds = (uint64_t)id << 40;
  shadow_entry *live = NULL;
  /* stb_ds seeds each new hash table from a global it updates without a lock (a race TSan
     reports): make this thread's table under a lock, with one entry put and taken out */
  rec none = {0, 0};
  pthread_mutex_lock(&result_lock);
  hmput(live, K(NULL), none);
  pthread_mutex_unlock(&result_lock);
  (void)hmdel(live, K(NULL));
  void **order = NULL; /* the keys, for picking a random live block */
  int bad = 0, dupes = 0;
  size_t cap = (size_t)scale * 50;
  for (int it = 0; it < iters; it++) {
    for (int op = 0; op < scale * 20; op++) {
      uint64_t x = rnd(&s) % 100;
      if (x < 45 && arrlenu(order) < cap) { /* allocate */
        rec r = {pick_size(&s), ++seeds};
        unsigned char *p;
        uint64_t how = rnd(&s) % 10;
        if (how == 0) p = (unsigned char *)segalloc_calloc(1, r.size);
        else if (how == 1) p = (unsigned char *)segalloc_aligned_alloc((size_t)1 << (4 + rnd(&s) % 9), r.size);
        else p = (unsigned char *)segalloc_malloc(r.size);
        if (!p) { bad++; continue; }
        if (how == 0) for (size_t i = 0; i < r.size; i += 97) bad += p[i] != 0;
        if (hmgeti(live, K(p)) >= 0) dupes++;
        fill(p, r);
        hmput(live, K(p), r);
        arrput(order, p);
      } else if (x < 80 && arrlenu(order)) { /* free or realloc one of ours */
        size_t k = rnd(&s) % arrlenu(order);
        void *p = order[k];
        rec r = hmget(live, K(p));
        if (!verify((unsigned char *)p, r, r.size)) bad++;
        hmdel(live, K(p));
        order[k] = order[arrlenu(order) - 1];
        arrpop(order);
        if (x < 72) {
          segalloc_free(p);
        } else {
          rec nr = {pick_size(&s), ++seeds};
          unsigned char *q = (unsigned char *)segalloc_realloc(p, nr.size);
          if (!q) { bad++; continue; }
          if (!verify(q, r, nr.size < r.size ? nr.size : r.size)) bad++;
          if (hmgeti(live, K(q)) >= 0) dupes++;
          fill(q, nr);
          hmput(live, K(q), nr);
          arrput(order, q);
        }
      } else if (arrlenu(order)) { /* hand one over, or take one someone handed over */
        unsigned slot = (unsigned)(rnd(&s) % EXCHANGE);
        pthread_mutex_lock(&exchange_lock);
        if (exchange[slot].p) {
          void *p = exchange[slot].p;
          rec r = exchange[slot].r;
          exchange[slot].p = NULL;
          pthread_mutex_unlock(&exchange_lock);
          if (!verify((unsigned char *)p, r, r.size)) bad++;
          segalloc_free(p);
        } else {
          size_t k = rnd(&s) % arrlenu(order);
          void *p = order[k];
          exchange[slot].p = p;
          exchange[slot].r = hmget(live, K(p));
          pthread_mutex_unlock(&exchange_lock);
          hmdel(live, K(p));
          order[k] = order[arrlenu(order) - 1];
          arrpop(order);
        }
      }
    }
  }
  for (size_t i = 0; i < arrlenu(order); i++) {
    rec r = hmget(live, K(order[i]));
    if (!verify((unsigned char *)order[i], r, r.size)) bad++;
    segalloc_free(order[i]);
  }
  arrfree(order);
  hmfree(live);
  pthread_mutex_lock(&result_lock);
  total_bad += bad;
  total_dupes += dupes;
  pthread_mutex_unlock(&result_lock);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) nthreads = atoi(argv[1]);
  if (argc > 2) scale = atoi(argv[2]);
  if (argc > 3) iters = atoi(argv[3]);
  segalloc_stats_t before, after;
  segalloc_free(segalloc_malloc(1)); /* main's own cache exists before the count */
  segalloc_stats(&before);
  pthread_t *t = (pthread_t *)calloc((size_t)nthreads, sizeof *t);
  for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
  free(t);
  int leftover_bad = 0;
  for (int i = 0; i < EXCHANGE; i++)
    if (exchange[i].p) {
      if (!verify((unsigned char *)exchange[i].p, exchange[i].r, exchange[i].r.size)) leftover_bad++;
      segalloc_free(exchange[i].p);
    }
  CHECK(segalloc_check_heap() == 0);
  CHECK(total_bad == 0);
  CHECK(total_dupes == 0);
  CHECK(leftover_bad == 0);
  segalloc_stats(&after);
  CHECK(after.live == before.live);
  CHECK(after.mallocs - after.frees == before.mallocs - before.frees);
  CHECK(after.mallocs > before.mallocs);
  CHECK(after.threads == before.threads);
  CHECK(after.mapped == after.live + after.thread_cached + after.central + after.pageheap_free + after.released + after.metadata);
  segalloc_trim();
  segalloc_stats(&after);
  CHECK(after.pageheap_free == test_heap_unreleasable() && after.thread_cached == 0);
  printf("stress: %d threads, scale %d, %d iterations, %llu mallocs\n", nthreads, scale, iters,
         (unsigned long long)(after.mallocs - before.mallocs));
  return test_finish();
}

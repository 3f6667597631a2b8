/* shared_lines.c - how many cache lines hold blocks of two threads at once.
 *
 * Usage: LD_PRELOAD=lib.so bench/shared_lines
 *
 * Two threads run threads_own's pattern (bench/workloads.c: 2048 slots each, 3 million
 * random replacements with its size mix), touching the first 16 bytes and the last byte of
 * each block. At the end each thread lists the 64-byte lines its live blocks start and end
 * on, and this prints how many of thread 0's lines thread 1 also uses, by size of block.
 * A line used by both is written by both: false sharing the allocator caused. Used by
 * bench/threads_own_probe.sh. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 2048, OPS = 3000000 };

typedef struct { uint64_t s; } rng_t;
static uint64_t rng_next(rng_t *r) { /* splitmix64, as in workloads.c */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static uint64_t rng_below(rng_t *r, uint64_t n) { return rng_next(r) % n; }
static size_t rng_range(rng_t *r, size_t lo, size_t hi) { return lo + (size_t)rng_below(r, hi - lo + 1); }
static size_t mixed_size(rng_t *r) {
  uint64_t x = rng_below(r, 100);
  if (x < 60) return rng_range(r, 16, 128);
  if (x < 92) return rng_range(r, 129, 1024);
  return rng_range(r, 1025, 32768);
}

static uintptr_t lines[2][2 * SLOTS];
static size_t line_size[2][2 * SLOTS];
static pthread_barrier_t done;

static void *run(void *arg) {
  int id = (int)(intptr_t)arg;
  static unsigned char *slot[2][SLOTS];
  static size_t size[2][SLOTS];
  rng_t r = {(1000u + (uint64_t)id) * 0x2545F4914F6CDD1Dull + 12345u};
  rng_next(&r);
  for (long i = 0; i < OPS; i++) {
    unsigned j = (unsigned)rng_below(&r, SLOTS);
    free(slot[id][j]);
    size_t n = mixed_size(&r);
    unsigned char *p = malloc(n);
    if (!p) abort();
    memset(p, (int)i, 16);
    p[n - 1] = (unsigned char)i;
    slot[id][j] = p;
    size[id][j] = n;
  }
  for (unsigned j = 0; j < SLOTS; j++) {
    lines[id][2 * j] = (uintptr_t)slot[id][j] >> 6;
    lines[id][2 * j + 1] = ((uintptr_t)slot[id][j] + size[id][j] - 1) >> 6;
    line_size[id][2 * j] = line_size[id][2 * j + 1] = size[id][j];
  }
  pthread_barrier_wait(&done); /* both hold their blocks until both have listed them */
  return NULL;
}

static int cmp(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  pthread_t t[2];
  pthread_barrier_init(&done, NULL, 2);
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, run, (void *)(intptr_t)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  qsort(lines[1], 2 * SLOTS, sizeof(uintptr_t), cmp);
  size_t shared = 0, by[3] = {0};
  for (size_t k = 0; k < 2 * SLOTS; k++)
    if (bsearch(&lines[0][k], lines[1], 2 * SLOTS, sizeof(uintptr_t), cmp)) {
      shared++;
      by[line_size[0][k] <= 128 ? 0 : line_size[0][k] <= 1024 ? 1 : 2]++;
    }
  printf("lines of thread 0's blocks also used by thread 1: %zu of %d (blocks <= 128 B: %zu, "
         "129-1024 B: %zu, larger: %zu)\n", shared, 2 * SLOTS, by[0], by[1], by[2]);
  return 0;
}

/* threads_scale.c - many threads at once: T threads each replace random slots of their
 * own array of 1024 blocks (sizes as bench/workloads.c's mixed_size: 60 % 16-128 bytes,
 * 32 % 129-1024, 8 % 1025-32768), OPS replacements in all. With a fourth argument, every
 * eighth replacement also swaps the new block with a slot of an array all threads share,
 * so blocks are freed by other threads than the one that allocated them.
 *
 *   threads_scale T OPS [x]
 *
 * Prints the wall time of the threads' work in seconds. Run under each allocator by
 * bench/threads_scale.sh, which also records peak RSS (bench/runrss). The suite's
 * threads_own and larson use two threads; this checks that more threads than cores, with
 * and without remote frees, do not fall off a cliff (lock convoys, shards shared by
 * several threads).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long ops_per_thread;
static int nthreads, remote;
static void **shared;

static uint64_t next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static size_t mixed_size(uint64_t *s) {
  uint64_t x = next(s) % 100;
  if (x < 60) return 16 + next(s) % 113;
  if (x < 92) return 129 + next(s) % 896;
  return 1025 + next(s) % 31744;
}

static void *worker(void *arg) {
  enum { SLOTS = 1024 };
  uint64_t s = 0x9e3779b97f4a7c15ull * ((uint64_t)(uintptr_t)arg + 1);
  char **slot = calloc(SLOTS, sizeof *slot);
  if (!slot) exit(3);
  for (long i = 0; i < ops_per_thread; i++) {
    unsigned j = (unsigned)(next(&s) % SLOTS);
    free(slot[j]);
    size_t size = mixed_size(&s);
    char *p = malloc(size);
    if (!p) exit(3);
    p[0] = 1;
    p[size - 1] = 2;
    slot[j] = p;
    if (remote && (i & 7) == 0) {
      unsigned k = (unsigned)(next(&s) % ((uint64_t)nthreads * 64));
      slot[j] = __atomic_exchange_n(&shared[k], slot[j], __ATOMIC_ACQ_REL);
    }
  }
  for (unsigned j = 0; j < SLOTS; j++) free(slot[j]);
  free(slot);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3 || atoi(argv[1]) < 1 || atoi(argv[1]) > 256) {
    fprintf(stderr, "usage: threads_scale T(1-256) OPS [x]\n");
    return 2;
  }
  nthreads = atoi(argv[1]);
  ops_per_thread = atol(argv[2]) / nthreads;
  remote = argc > 3;
  shared = calloc((size_t)nthreads * 64, sizeof *shared);
  if (!shared) return 3;
  pthread_t th[256];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < nthreads; i++)
    if (pthread_create(&th[i], NULL, worker, (void *)i)) return 3;
  for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  for (int k = 0; k < nthreads * 64; k++) free(shared[k]);
  free(shared);
  printf("seconds=%.4f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
  return 0;
}

/* release.c: does freed memory go back to the OS by itself? (issue 4's figure)

     release [GIB]        run with any allocator under LD_PRELOAD (default 1 GiB)

   Two threads allocate GIB of memory between them in mixed sizes (16 bytes to 256 KiB,
   most of them small), touching every page, then free all of it: each thread frees half
   of its own blocks and half of the other thread's. Then the process sleeps one second
   without calling the allocator and reads its RSS. Printed: RSS before, at the peak, one
   second after the frees, and the share of the growth still resident; then after
   malloc_trim(0). A second part checks that the release path does not thrash: it frees
   and reallocates the same sizes in a loop and prints the time per round. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t rss(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return *s = x;
}

/* mostly small: 80% up to 256 B, 15% up to 4 KiB, 5% up to 256 KiB */
static size_t pick(uint64_t *s) {
  uint64_t x = rnd(s) % 100;
  if (x < 80) return 16 + rnd(s) % 241;
  if (x < 95) return 257 + rnd(s) % 3840;
  return 4097 + rnd(s) % (256 * 1024 - 4096);
}

typedef struct { void **blocks; size_t n, cap, target; uint64_t seed; } half_t;
static half_t halves[2];
static pthread_barrier_t barrier;

static void *worker(void *arg) {
  half_t *h = (half_t *)arg, *other = &halves[h == &halves[0]];
  size_t bytes = 0;
  while (bytes < h->target) {
    size_t n = pick(&h->seed);
    char *p = (char *)malloc(n);
    if (!p) { fprintf(stderr, "release: out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    p[n - 1] = 1;
    if (h->n == h->cap) {
      h->cap = h->cap ? h->cap * 2 : 1 << 16;
      h->blocks = (void **)realloc(h->blocks, h->cap * sizeof *h->blocks);
    }
    h->blocks[h->n++] = p;
    bytes += n;
  }
  pthread_barrier_wait(&barrier);
  /* even slots of my blocks, odd slots of the other thread's */
  for (size_t i = 0; i < h->n; i += 2) free(h->blocks[i]);
  for (size_t i = 1; i < other->n; i += 2) free(other->blocks[i]);
  pthread_barrier_wait(&barrier);
  return NULL;
}

int main(int argc, char **argv) {
  double gib = argc > 1 ? atof(argv[1]) : 1.0;
  size_t total = (size_t)(gib * 1024 * 1024 * 1024);
  size_t base = rss();
  halves[0] = (half_t){NULL, 0, 0, total / 2, 0x1234567};
  halves[1] = (half_t){NULL, 0, 0, total / 2, 0x7654321};
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, &halves[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  size_t peak = 0;
  /* the peak: the workers sit at the barrier with everything allocated; VmHWM has it */
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) peak = (size_t)strtoull(line + 6, NULL, 10) * 1024;
  if (f) fclose(f);
  size_t bookkeeping = (halves[0].cap + halves[1].cap) * sizeof(void *);
  sleep(1); /* no call into the allocator */
  size_t after = rss();
  double kept = (double)(after > base + bookkeeping ? after - base - bookkeeping : 0) / (double)(peak - base);
  printf("rss_before_mib=%.1f peak_mib=%.1f after_1s_mib=%.1f kept_of_growth=%.2f%%\n", base / 1048576.0,
         peak / 1048576.0, after / 1048576.0, 100.0 * kept);
  /* under segalloc, where the kept bytes are */
  void (*print_stats)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "segalloc_print_stats");
  if (print_stats && getenv("RELEASE_STATS")) print_stats(1);
  malloc_trim(0);
  printf("after_trim_mib=%.1f\n", rss() / 1048576.0);
  free(halves[0].blocks);
  free(halves[1].blocks);

  /* no thrash: free and reallocate the same sizes, round after round */
  enum { N = 20000 };
  static void *keep[N];
  static size_t sizes[N];
  uint64_t s = 42;
  for (int i = 0; i < N; i++) sizes[i] = pick(&s);
  double best = 1e9;
  for (int round = 0; round < 10; round++) {
    double t0 = now();
    for (int i = 0; i < N; i++) {
      keep[i] = malloc(sizes[i]);
      memset(keep[i], 1, sizes[i] < 64 ? sizes[i] : 64);
    }
    for (int i = 0; i < N; i++) free(keep[i]);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("churn_round_ms=%.2f\n", best * 1000);
  return 0;
}

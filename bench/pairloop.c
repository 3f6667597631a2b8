/* pairloop.c - the inner loop measured by bench/callgrind.py.
 *
 * Usage: pairloop SIZE N MODE
 *   MODE pair : N times { p = malloc(SIZE); free(p); }
 *   MODE batch: N/100 times { 100 x malloc(SIZE), then the 100 freed in allocation
 *               order (FIFO) }; N must be a multiple of 100.
 * Either way N malloc+free pairs. callgrind.py runs this at two values of N and divides
 * the difference in instructions by the difference in N, so process start-up and the
 * allocator's one-off initialisation cancel and the loop overhead itself is included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void escape(void *p) {
#if defined(__GNUC__)
  __asm__ volatile("" : : "r"(p) : "memory");
#else
  static void *volatile sink;
  sink = p;
#endif
}

enum { BATCH = 100 };

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: pairloop SIZE N pair|batch\n");
    return 2;
  }
  size_t size = strtoul(argv[1], NULL, 10);
  long n = strtol(argv[2], NULL, 10);
  if (!strcmp(argv[3], "pair")) {
    for (long i = 0; i < n; i++) {
      void *p = malloc(size);
      escape(p);
      free(p);
    }
  } else if (!strcmp(argv[3], "batch")) {
    if (n % BATCH) {
      fprintf(stderr, "pairloop: N must be a multiple of %d in batch mode\n", BATCH);
      return 2;
    }
    void *a[BATCH];
    for (long b = 0; b < n / BATCH; b++) {
      for (int i = 0; i < BATCH; i++) {
        a[i] = malloc(size);
        escape(a[i]);
      }
      for (int i = 0; i < BATCH; i++) free(a[i]);
    }
  } else {
    fprintf(stderr, "pairloop: MODE must be pair or batch\n");
    return 2;
  }
  return 0;
}

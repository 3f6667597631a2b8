/* teardown.c - freeing a large heap: N blocks of SIZE bytes, allocated in a row, then freed
 * all at once, in allocation order or in a random order (a hash table or a tree torn
 * down). Prints the time per free. Run under each allocator by bench/teardown.sh.
 *
 *   teardown N SIZE seq|random
 *
 * Only the frees are timed. At 64 bytes, 800,000 blocks (49 MiB) fit one of segalloc's
 * 64 MiB arenas and 5,000,000 (305 MiB) span five; both are far larger than the caches, so
 * a random order misses them on nearly every block.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc != 4 || (strcmp(argv[3], "seq") && strcmp(argv[3], "random"))) {
    fprintf(stderr, "usage: teardown N SIZE seq|random\n");
    return 2;
  }
  size_t n = strtoul(argv[1], NULL, 10), size = strtoul(argv[2], NULL, 10);
  void **a = malloc(n * sizeof *a);
  if (!a) return 3;
  for (size_t i = 0; i < n; i++) {
    a[i] = malloc(size);
    if (!a[i]) return 3;
    memset(a[i], (int)i, size < 16 ? size : 16); /* the program touched its blocks */
  }
  if (!strcmp(argv[3], "random")) { /* Fisher-Yates with xorshift64 */
    uint64_t x = 88172645463325252ull;
    for (size_t i = n - 1; i > 0; i--) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      size_t j = (size_t)(x % (i + 1));
      void *t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < n; i++) free(a[i]);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
  printf("ns_per_free=%.1f\n", ns);
  free(a);
  return 0;
}

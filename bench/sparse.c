/* sparse.c - what a heap keeps after most of it is freed: N blocks of SIZE bytes are
 * allocated and written, then all but every K-th one freed, and malloc_trim(0) asked to
 * give back what it can. Prints the resident memory the blocks took at their peak and
 * what stays resident afterwards, both in KiB over the process's RSS before the first
 * block (the pointer array is written beforehand, so it is in that base).
 *
 *   sparse N SIZE K
 *
 * Run under each allocator by bench/sparse.sh. The survivors, one in K, are spread evenly
 * over the heap, as the long-lived entries of a cache or a server's sessions end up: an
 * allocator that gives memory back a span (or page, or slab) at a time keeps every span
 * that holds one of them, so the bigger its spans for a size, the more it keeps.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long rss_kib(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) {
    fprintf(stderr, "sparse: cannot read /proc/self/statm\n");
    exit(3);
  }
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: sparse N SIZE K\n");
    return 2;
  }
  long n = atol(argv[1]), sz = atol(argv[2]), k = atol(argv[3]);
  if (n <= 0 || sz <= 0 || k <= 0) {
    fprintf(stderr, "sparse: N, SIZE and K must be positive\n");
    return 2;
  }
  size_t size = (size_t)sz;
  char **a = malloc((size_t)n * sizeof *a);
  if (!a) {
    fprintf(stderr, "sparse: out of memory\n");
    return 3;
  }
  /* not zero: the compiler would make malloc + memset(0) a calloc, which an allocator may
     serve from fresh pages without touching them, and the array would land in the peak */
  memset(a, 0xff, (size_t)n * sizeof *a);
  long base = rss_kib();
  for (long i = 0; i < n; i++) {
    a[i] = malloc(size);
    if (!a[i]) {
      fprintf(stderr, "sparse: out of memory\n");
      return 3;
    }
    memset(a[i], (int)(i & 0xff), size);
  }
  long peak = rss_kib();
  for (long i = 0; i < n; i++)
    if (i % k) {
      free(a[i]);
      a[i] = NULL;
    }
  malloc_trim(0);
  long after = rss_kib();
  printf("peak_kib=%ld kept_kib=%ld\n", peak - base, after - base);
  for (long i = 0; i < n; i += k) free(a[i]);
  free(a);
  return 0;
}

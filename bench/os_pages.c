/* bench/os_pages.c - the page heap when OS pages are larger than segalloc's (16 or 64 KiB
 * on some arm64 kernels), simulated on this machine by raising segalloc__os_page after
 * start-up: N one-page spans, then eight of every nine freed, which leaves free runs that
 * hold no whole 64 KiB page and so cannot be released; then 2000 more frees. Prints the
 * time of each phase and what the page heap kept. Before a release at once that cannot
 * reach its target held off further ones (SEGALLOC__VAIN_MARGIN, pageheap.c), every free
 * walked all of them in vain once use fell to an eighth of its peak (15 us a free at
 * N = 80000).
 *
 *   cc -O2 -o /tmp/os_pages bench/os_pages.c -pthread && /tmp/os_pages 65536 80000
 *   (first argument the simulated OS page, 4096 for this machine's own; second N)
 */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  size_t osp = argc > 1 ? strtoul(argv[1], NULL, 0) : 65536;
  int n = argc > 2 ? atoi(argv[2]) : 40000;
  segalloc_free(segalloc_malloc(100)); /* start-up reads the real page size */
  segalloc__os_page = osp;             /* before the page heap holds any free span */
  segalloc__span **p = (segalloc__span **)malloc((size_t)n * sizeof *p);
  if (!p) return 1;
  for (int i = 0; i < n; i++) {
    p[i] = segalloc__heap_alloc(1, 1);
    memset((void *)segalloc__span_start(p[i]), 1, SEGALLOC_PAGE_SIZE);
  }
  double t0 = now();
  int freed = 0;
  for (int i = 0; i < n; i++)
    if (i % 9) {
      segalloc__heap_free(p[i]);
      freed++;
    }
  double t1 = now();
  segalloc_stats_t st;
  segalloc_stats(&st);
  printf("OS page %zu, %d spans: %d freed in %.3f s; pageheap_free %zu KiB, released %zu KiB, %llu madvise calls\n", osp, n,
         freed, t1 - t0, (size_t)(st.pageheap_free >> 10), (size_t)(st.released >> 10), (unsigned long long)st.releases);
  segalloc__span *q[2000];
  for (int k = 0; k < 2000; k++) q[k] = segalloc__heap_alloc(1, 1);
  double t2 = now();
  for (int k = 0; k < 2000; k++) segalloc__heap_free(q[k]);
  double t3 = now();
  printf("  then 2000 more frees: %.1f us each\n", (t3 - t2) / 2000 * 1e6);
  free(p);
  return 0;
}

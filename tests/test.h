/* test.h: the one helper every test shares. CHECK counts a check that could fail; each
   test program ends by printing "N passed, N failed" (tests/run.sh adds them up). */
#ifndef SEGALLOC_TEST_H
#define SEGALLOC_TEST_H
#include <stdio.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (cond) {                                                                     \
      test_passed++;                                                                \
    } else {                                                                        \
      test_failed++;                                                                \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
    }                                                                               \
  } while (0)

#ifdef SEGALLOC_H_INCLUDED
/* segalloc_stats' identity: every mapped byte is in exactly one of its parts */
static inline int test_stats_add_up(const segalloc_stats_t *s) {
  return s->mapped == s->live + s->thread_cached + s->central + s->pageheap_free + s->released + s->metadata;
}
#endif

#if defined(SEGALLOC_H_INCLUDED) && defined(SEGALLOC_IMPLEMENTATION)
/* What a trim leaves resident in the page heap: the free spans that can give back no OS
   page, which there are only when OS pages are larger than segalloc's (pageheap.c);
   SIZE_MAX when a resident free span could give one back (a trim gives back them all). */
static inline size_t test_heap_unreleasable(void) {
  size_t bytes = 0;
  uintptr_t lo, hi;
  segalloc__lock_acquire(&segalloc__heap.lock);
  for (unsigned b = 0; b < SEGALLOC__BINS; b++)
    for (segalloc__span *s = segalloc__heap.bins[0][b]; s && bytes != SIZE_MAX; s = s->next)
      bytes = segalloc__heap_os_range(s, &lo, &hi) ? SIZE_MAX : bytes + segalloc__span_bytes(s);
  segalloc__lock_release(&segalloc__heap.lock);
  return bytes;
}
#endif

static int test_finish(void) {
  printf("%d passed, %d failed\n", test_passed, test_failed);
  return test_failed != 0;
}
#endif

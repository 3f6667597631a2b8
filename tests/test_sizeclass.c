/* Property tests of the generated size-class table, for the SEGALLOC_PAGE_SIZE this file is
   built with (tests/run.sh builds it for every supported page size): sizes increase and are
   16-byte aligned, span tail waste is at most 1/8, size -> class -> size round-trips to the
   smallest class that fits, and the aligned lookup returns aligned classes. */
#define _GNU_SOURCE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

int main(void) {
  int ok_inc = 1, ok_align = 1, ok_waste = 1, ok_objs = 1, ok_batch = 1;
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) {
    size_t size = segalloc__class_size[c], span = segalloc__class_span_bytes(c);
    if (size <= segalloc__class_size[c - 1]) ok_inc = 0;
    if (size % 16) ok_align = 0;
    if (span % size > span / 8) ok_waste = 0;
    if (span / size < 1) ok_objs = 0;
    /* a batch: 64 KiB worth within 2..32 objects, or for tiny classes up to 4 KiB worth
       within 128 (tools/mksizeclasses.py), and never less for a smaller class */
    size_t big = 65536 / size, tiny = 4096 / size;
    big = big < 2 ? 2 : big > 32 ? 32 : big;
    tiny = tiny > 128 ? 128 : tiny;
    if (segalloc__class_batch[c] != (big > tiny ? big : tiny)) ok_batch = 0;
    if (c > 1 && segalloc__class_batch[c] > segalloc__class_batch[c - 1]) ok_batch = 0;
  }
  CHECK(ok_inc);
  CHECK(ok_align);
  CHECK(ok_waste);
  CHECK(ok_objs);
  CHECK(ok_batch);
  CHECK(segalloc__class_size[1] == 16);
  CHECK(segalloc__class_size[SEGALLOC__NCLASSES - 1] == SEGALLOC__SMALL_MAX);
  CHECK(SEGALLOC__NCLASSES <= SEGALLOC_MAX_CLASSES);

  /* every size maps to the smallest class that holds it */
  int ok_fit = 1, ok_smallest = 1, ok_trip = 1;
  for (size_t n = 0; n <= SEGALLOC__SMALL_MAX; n++) {
    unsigned c = segalloc__size_class(n);
    if (c < 1 || c >= SEGALLOC__NCLASSES || segalloc__class_size[c] < n) { ok_fit = 0; break; }
    if (c > 1 && segalloc__class_size[c - 1] >= n) ok_smallest = 0;
  }
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++)
    if (segalloc__size_class(segalloc__class_size[c]) != c) ok_trip = 0;
  CHECK(ok_fit);
  CHECK(ok_smallest);
  CHECK(ok_trip);

  /* aligned lookup: an aligned class, big enough, or 0 past the small limit */
  int ok_al = 1;
  for (size_t align = 32; align <= SEGALLOC_PAGE_SIZE; align *= 2)
    for (size_t n = 1; n <= SEGALLOC__SMALL_MAX; n += 97) {
      unsigned c = segalloc__size_class_aligned(n, align);
      if (c && (segalloc__class_size[c] % align || segalloc__class_size[c] < n)) ok_al = 0;
    }
  CHECK(ok_al);
  CHECK(segalloc__size_class_aligned(SEGALLOC__SMALL_MAX + 1, 64) == 0);
  CHECK(segalloc__size_class_aligned(100, SEGALLOC_PAGE_SIZE * 2) == 0);
  return test_finish();
}

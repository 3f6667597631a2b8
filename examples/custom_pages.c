/* custom_pages.c: the page and arena sizes are compile-time choices. Here 64 KiB pages (as
   on arm64 kernels built with 64 KiB pages) and 4 MiB arenas, so a program that wants a
   small address-space footprint reserves 4 MiB at a time. The size-class table follows the
   page size: this prints the classes this build got.

   Build and run (from the repository root):
     cc -O2 -DSEGALLOC_PAGE_SIZE=65536 -DSEGALLOC_ARENA_SIZE=4194304 -o build/custom_pages examples/custom_pages.c -pthread && ./build/custom_pages
*/
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

#include <stdio.h>

int main(void) {
  void *small = segalloc_malloc(100), *large = segalloc_malloc(200000), *huge = segalloc_malloc(3 << 20);
  segalloc_stats_t st;
  segalloc_stats(&st);
  printf("page size %d, arena size %d: %zu size classes\n", SEGALLOC_PAGE_SIZE, SEGALLOC_ARENA_SIZE, st.nclasses - 1);
  for (size_t c = 1; c < st.nclasses; c++) printf("%zu%s", st.classes[c].size, c + 1 < st.nclasses ? " " : "\n");
  printf("usable: 100 -> %zu, 200000 -> %zu, 3 MiB -> %zu (its own mapping: %s)\n", segalloc_usable_size(small),
         segalloc_usable_size(large), segalloc_usable_size(huge), st.huge_live ? "yes" : "no");
  printf("%zu arenas of %d bytes mapped\n", st.arenas, SEGALLOC_ARENA_SIZE);
  segalloc_free(small);
  segalloc_free(large);
  segalloc_free(huge);
  return 0;
}

/* Compile-only test: the header as a C file sees it, with and without the implementation
   (tests/run.sh builds it both ways, as C11 with -Wall -Wextra -Wpedantic -Werror, under gcc
   and clang). No feature macros: the header must need none. */
#ifdef WITH_IMPLEMENTATION
#define SEGALLOC_IMPLEMENTATION
#endif
#include "../segalloc.h"
#include "../segalloc.h" /* twice: the include guard and the implementation guard hold */

int compile_only_c(void);
int compile_only_c(void) {
  segalloc_stats_t st;
  void *p = segalloc_malloc(10);
  segalloc_free(p);
  segalloc_stats(&st);
  return (int)st.nclasses;
}

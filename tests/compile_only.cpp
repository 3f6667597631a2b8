// Compile-only test: the header as a C++ file sees it, with and without the implementation,
// and with SEGALLOC_OVERRIDE (operator new/delete included). Built by tests/run.sh with
// g++ and clang++ as C++17 with -Wall -Wextra -Werror.
#ifdef WITH_IMPLEMENTATION
#define SEGALLOC_IMPLEMENTATION
#endif
#include "../segalloc.h"
#include <vector>

int compile_only_cpp();
int compile_only_cpp() {
  std::vector<int> v(10, 1);
  void *p = segalloc_malloc(10);
  segalloc_free(p);
  return static_cast<int>(v.size());
}

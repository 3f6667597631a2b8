// test_cxx_plugin_lib.cpp: the C++ plug-in of tests/test_cxx_plugin.c. plugin_check(k)
// returns 1 when case k behaves as the standard says.
#include <cstddef>
#include <cstdint>
#include <new>

extern "C" int plugin_check(int k) {
  volatile std::size_t huge = SIZE_MAX / 2;
  switch (k) {
  case 0: {
    int *p = new int[1000];
    __asm__ volatile("" : : "r"(p) : "memory");
    p[999] = 1;
    delete[] p;
    long *q = new long;
    __asm__ volatile("" : : "r"(q) : "memory");
    delete q;
    return 1;
  }
  case 1:
    try {
      char *p = new char[huge];
      __asm__ volatile("" : : "r"(p) : "memory");
      delete[] p;
      return 0;
    } catch (const std::bad_alloc &) {
      return 1;
    }
  case 2: {
    char *p = new (std::nothrow) char[huge];
    __asm__ volatile("" : : "r"(p) : "memory");
    bool ok = p == nullptr;
    delete[] p;
    return ok;
  }
  case 3:
    try {
      void *p = ::operator new(huge, std::align_val_t(64));
      __asm__ volatile("" : : "r"(p) : "memory");
      ::operator delete(p, std::align_val_t(64));
      return 0;
    } catch (const std::bad_alloc &) {
      return 1;
    }
  }
  return 0;
}

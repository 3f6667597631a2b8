// test_cxx_plugin_lib.cpp: the C++ plug-in of tests/test_cxx_plugin.c. plugin_check(k)
// returns 1 when case k behaves as the standard says.
#include <cstddef>
#include <cstdint>
#include <new>

extern "C" int plugin_check(int k) {
  volatile std::size_t huge = SIZE_MAX / 2, near_max = SIZE_MAX - 8;
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
  case 4: // an aligned size that libstdc++ 12's own operator rounds up past SIZE_MAX
    try {
      void *p = ::operator new(near_max, std::align_val_t(64));
      __asm__ volatile("" : : "r"(p) : "memory");
      ::operator delete(p, std::align_val_t(64));
      return 0;
    } catch (const std::bad_alloc &) {
      return 1;
    }
  case 5: {
    void *p = ::operator new(near_max, std::align_val_t(64), std::nothrow);
    __asm__ volatile("" : : "r"(p) : "memory");
    bool ok = p == nullptr;
    ::operator delete(p, std::align_val_t(64));
    return ok;
  }
  }
  return 0;
}

#ifdef CTOR_THREAD
// For tests/test_cxx_dlopen_ctor.cpp: this library's constructor runs in dlopen, with the
// loader's lock held, and waits for a thread whose operator new fails.
#include <pthread.h>
static int ctor_ok;
static void *ctor_thread(void *) {
  volatile std::size_t huge = SIZE_MAX / 4;
  try {
    void *p = ::operator new(huge);
    __asm__ volatile("" : : "r"(p) : "memory");
    ::operator delete(p);
  } catch (const std::bad_alloc &) {
    ctor_ok = 1;
  }
  void *q = ::operator new(huge, std::nothrow);
  if (q) ctor_ok = 0;
  return nullptr;
}
__attribute__((constructor)) static void ctor(void) {
  pthread_t t;
  if (pthread_create(&t, nullptr, ctor_thread, nullptr) == 0) pthread_join(t, nullptr);
}
extern "C" int plugin_ctor_ok(void) { return ctor_ok; }
#endif

// test_cxx_dlopen_ctor.cpp: a C++ program opens a library whose constructor (run by dlopen,
// with the loader's lock held) starts a thread and waits for it; the thread's operator new
// fails. Under the preload library the failure goes to the C++ runtime's own operator, which
// throws std::bad_alloc (the nothrow form returns NULL). segalloc must have found that
// operator before: a dlsym in the thread would wait for the loader's lock for ever.
// Usage: test_cxx_dlopen_ctor LIB.so (tests/run_preload.sh builds the library from
// tests/test_cxx_plugin_lib.cpp with -DCTOR_THREAD, and runs this plain and preloaded).
#include <cstdio>
#include <dlfcn.h>
#include <new>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test_cxx_dlopen_ctor LIB.so\n");
    return 2;
  }
  int *warm = new int(1); // this program uses the C++ runtime itself
  __asm__ volatile("" : : "r"(warm) : "memory");
  delete warm;
  int ok = 0;
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) {
    std::fprintf(stderr, "%s\n", dlerror());
  } else {
    int (*f)(void);
    void *sym = dlsym(h, "plugin_ctor_ok");
    *(void **)&f = sym;
    ok = sym && f() == 1;
  }
  std::printf("%s the constructor's thread: bad_alloc caught, nothrow new NULL\n", ok ? "PASS" : "FAIL");
  std::printf("%d passed, %d failed\n", ok, !ok);
  return !ok;
}

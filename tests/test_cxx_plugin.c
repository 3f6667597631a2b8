/* test_cxx_plugin.c: a C program that opens a C++ plug-in with RTLD_LOCAL, as Python opens
   its extension modules, so the C++ runtime is loaded but not in the global symbol search.
   Under the preload library, the plug-in's operator new is segalloc's (src/override.c,
   SEGALLOC_OVERRIDE_NEW); a new that fails must still reach the C++ runtime's own operator,
   which throws std::bad_alloc for the plug-in to catch (or, for the nothrow form, returns
   NULL), rather than stop the program.
   Usage: test_cxx_plugin PLUGIN.so [segalloc] (tests/run_preload.sh builds the plug-in from
   tests/test_cxx_plugin_lib.cpp and runs this plain and preloaded). */
#include "test.h"

#include <dlfcn.h>

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: test_cxx_plugin PLUGIN.so [segalloc]\n");
    return 2;
  }
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  CHECK(h != NULL);
  if (!h) {
    fprintf(stderr, "%s\n", dlerror());
    return test_finish();
  }
  int (*f)(int);
  void *sym = dlsym(h, "plugin_check");
  CHECK(sym != NULL);
  if (!sym) return test_finish();
  *(void **)&f = sym;
  CHECK(f(0) == 1); /* new and delete of ordinary sizes */
  CHECK(f(1) == 1); /* new[] of an impossible size: std::bad_alloc caught in the plug-in */
  CHECK(f(2) == 1); /* the nothrow form: NULL */
  CHECK(f(3) == 1); /* aligned new of an impossible size: std::bad_alloc */
  /* aligned forms whose size libstdc++ 12's own operators round past SIZE_MAX (they return
     a tiny block there): checked only with segalloc in front ("segalloc" as a second
     argument) */
  if (argc > 2) {
    CHECK(f(4) == 1); /* std::bad_alloc */
    CHECK(f(5) == 1); /* the nothrow form: NULL */
  }
  dlclose(h);
  return test_finish();
}

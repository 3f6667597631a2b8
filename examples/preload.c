/* preload.c: segalloc as the process allocator. Compiled into a shared library, it replaces
   malloc, free, calloc, realloc, the aligned and sized forms and glibc's __libc_* entry
   points in any program started with LD_PRELOAD. This is the file `make preload` builds.

   Build (from the repository root), then run any program on segalloc:
     cc -O2 -fPIC -shared -fno-semantic-interposition -DSEGALLOC_TLS_MODEL='"initial-exec"' -o build/libsegalloc.so examples/preload.c -pthread
     SEGALLOC_SHOW_STATS=1 LD_PRELOAD=$PWD/build/libsegalloc.so ls -l

   It is built as C on purpose: C++ programs reach segalloc all the same, because the C++
   runtime's operator new and delete (every form: sized, aligned, nothrow) call malloc,
   aligned_alloc and free, and keep the new_handler and std::bad_alloc behaviour; while C
   programs do not have to load the C++ runtime (about 1.5 MiB of RSS) just to run on
   segalloc. To link segalloc into a C++ program with its own operator new, compile the
   implementation with SEGALLOC_OVERRIDE in a .cpp file instead (see the README).

   initial-exec TLS is right here: a preloaded library is loaded at start-up, where static
   TLS is set aside for it, and the fast path then reads its cache pointer with one
   instruction. */
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

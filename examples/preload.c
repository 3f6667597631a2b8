/* preload.c: segalloc as the process allocator. Compiled into a shared library, it replaces
   malloc, free, calloc, realloc, the aligned and sized forms and glibc's __libc_* entry
   points in any program started with LD_PRELOAD. This is the file `make preload` builds.

   Build (from the repository root), then run any program on segalloc:
     cc -O2 -fPIC -shared -fno-semantic-interposition -fexceptions -DSEGALLOC_TLS_MODEL='"initial-exec"' -o build/libsegalloc.so examples/preload.c -pthread -ldl
     SEGALLOC_SHOW_STATS=1 LD_PRELOAD=$PWD/build/libsegalloc.so ls -l

   It is built as C on purpose, so that C programs do not have to load the C++ runtime
   (about 1.5 MiB of RSS) just to run on segalloc. C++ programs get segalloc's operator new
   and delete all the same: SEGALLOC_OVERRIDE_NEW defines every form of them (sized,
   aligned, nothrow) by their ABI names, and hands a new that fails to the C++ runtime's own
   operator, which keeps the new_handler and std::bad_alloc behaviour (override.c); hence
   -fexceptions (the unwind tables such an exception needs to pass through these C frames)
   and -ldl (dlsym, part of libc itself from glibc 2.34 on). To link
   segalloc into a C++ program, compile the implementation with SEGALLOC_OVERRIDE in a .cpp
   file instead (see the README).

   initial-exec TLS is right here: a preloaded library is loaded at start-up, where static
   TLS is set aside for it, and the fast path then reads its cache pointer with one
   instruction. */
#define SEGALLOC_OVERRIDE
#define SEGALLOC_OVERRIDE_NEW
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

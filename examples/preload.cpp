// preload.cpp: segalloc as the process allocator. Compiled into a shared library, it replaces
// malloc, free, operator new/delete and the rest in any program started with LD_PRELOAD, or
// linked into a program it replaces them there. This is the file `make preload` builds.
//
// Build (from the repository root), then run any program on segalloc:
//   c++ -std=c++17 -O2 -fPIC -shared -fno-semantic-interposition -DSEGALLOC_TLS_MODEL='"initial-exec"' -o build/libsegalloc.so examples/preload.cpp -pthread
//   SEGALLOC_SHOW_STATS=1 LD_PRELOAD=$PWD/build/libsegalloc.so ls -l
//
// initial-exec TLS is right here: a preloaded library is loaded at start-up, where static TLS
// is set aside for it, and the fast path then reads its cache pointer with one instruction.
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

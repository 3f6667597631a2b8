/* segalloc_impl.c - segalloc compiled into the benchmark binaries (the "segalloc-hdr"
 * column of bench/run.py and bench/callgrind.py): the header's implementation, with the
 * standard malloc/free/realloc names defined by segalloc itself. */
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

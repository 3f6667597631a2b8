// newdelete.cpp - the C++ counterpart of pairloop.c, measured by bench/newdelete.sh.
//
// Usage: newdelete N object|array SIZE
//   object: N times { p = new S; delete p; } with S a 64-byte struct (C++14 and later call
//           the sized operator delete for it)
//   array:  N times { p = new char[SIZE]; delete[] p; }
// The pointer is passed through an empty asm so that the compiler can neither elide the pair
// nor keep the block on the stack.
#include <cstdio>
#include <cstdlib>
#include <cstring>

static inline void escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

struct S {
  char b[64];
};

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: newdelete N object|array SIZE\n");
    return 2;
  }
  long n = std::atol(argv[1]);
  size_t size = std::strtoul(argv[3], nullptr, 10);
  if (!std::strcmp(argv[2], "object")) {
    for (long i = 0; i < n; i++) {
      S *p = new S;
      escape(p);
      delete p;
    }
  } else {
    for (long i = 0; i < n; i++) {
      char *p = new char[size];
      escape(p);
      delete[] p;
    }
  }
  return 0;
}

// test_cxx_replaced.cpp: a program that replaces only the basic operator new and delete
// (or, built with -DREPLACE_ARRAYS, only the array ones), run under the preload library,
// whose C build defines every form of them by their ABI names (SEGALLOC_OVERRIDE_NEW,
// src/override.c). The standard has the other forms (nothrow, sized and array deletes)
// call the ones the program replaced; this program's put a 16-byte header before each
// block, so a form that went to segalloc instead would hand segalloc an address 16 bytes
// into one of its blocks (an abort), or the program an unmarked block. tests/run_preload.sh
// runs both builds plain (the C++ runtime's own forms) and preloaded.
#include "test.h"

// older code replaces the unsized delete alone, which is what this test is about
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wsized-deallocation"
#endif

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

static const uint64_t MAGIC = 0x5eca110cfeedf00dull;
static int news, deletes, bad_headers;

static void *take(std::size_t n) {
  char *p = static_cast<char *>(std::malloc(n + 16));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, &MAGIC, 8);
  news++;
  return p + 16;
}

static void give(void *p) {
  if (!p) return;
  char *h = static_cast<char *>(p) - 16;
  uint64_t m;
  std::memcpy(&m, h, 8);
  if (m != MAGIC) bad_headers++;
  std::memset(h, 0, 8);
  deletes++;
  std::free(h);
}

#ifdef REPLACE_ARRAYS
void *operator new[](std::size_t n) { return take(n); }
void operator delete[](void *p) noexcept { give(p); }
#else
void *operator new(std::size_t n) { return take(n); }
void operator delete(void *p) noexcept { give(p); }
#endif

#define OPAQUE(x) __asm__ volatile("" : "+r"(x) : : "memory")

struct S {
  char b[64];
  virtual ~S() {}
};

struct D {
  char b[8];
  ~D() {} // a destructor: delete[] passes the size (the sized array delete)
};

int main() {
#ifdef REPLACE_ARRAYS
  D *d = new D[10]; // the program's new[]
  OPAQUE(d);
  delete[] d; // the sized delete[], which must call the program's delete[]
  CHECK(news == 1 && deletes == 1);
  D *e = new (std::nothrow) D[10]; // nothrow new[] -> the program's new[]
  OPAQUE(e);
  CHECK(e != nullptr && news == 2);
  delete[] e;
  CHECK(deletes == 2);
  void *v = ::operator new[](200, std::nothrow);
  OPAQUE(v);
  CHECK(v != nullptr && news == 3);
  ::operator delete[](v, std::nothrow); // nothrow delete[] -> the program's delete[]
  CHECK(deletes == 3);
  S *s = new S; // plain new and delete are not replaced here: segalloc's or the runtime's
  OPAQUE(s);
  delete s;
  CHECK(news == 3 && deletes == 3);
#else
  S *s = new S; // the program's new
  OPAQUE(s);
  delete s; // the sized delete, which must call the program's delete
  CHECK(news == 1 && deletes == 1);

  char *a = new char[100]; // new[] -> the program's new
  OPAQUE(a);
  delete[] a; // delete[] -> the program's delete
  CHECK(news == 2 && deletes == 2);

  S *n = new (std::nothrow) S; // nothrow new -> the program's new
  OPAQUE(n);
  CHECK(n != nullptr && news == 3);
  ::operator delete(n, std::nothrow); // nothrow delete -> the program's delete
  CHECK(deletes == 3);

  void *v = ::operator new[](200, std::nothrow);
  OPAQUE(v);
  CHECK(v != nullptr && news == 4);
  ::operator delete[](v, 200); // sized array delete -> the program's delete
  CHECK(deletes == 4);
#endif
  CHECK(bad_headers == 0);
  return test_finish();
}

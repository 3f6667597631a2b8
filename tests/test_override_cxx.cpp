// test_override_cxx.cpp: every form of operator new and delete lands in segalloc, and a
// failing operator new does what the C++ standard says: call the new_handler until there is
// none, then throw std::bad_alloc (or, for the nothrow forms, return nullptr).
//
// Built two ways (tests/run_preload.sh does both), with g++ -std=c++17:
//   compiled in:  -DOVERRIDE_COMPILED_IN (SEGALLOC_OVERRIDE and SEGALLOC_IMPLEMENTATION here)
//   preloaded:    without the header's implementation, run with LD_PRELOAD=build/libsegalloc.so
//                 (segalloc_stats and segalloc_usable_size are found with dlsym). That
//                 library is C, and defines the operators by their ABI names
//                 (SEGALLOC_OVERRIDE_NEW); a failing new goes on to libstdc++'s own.
#ifdef OVERRIDE_COMPILED_IN
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#endif
#include "../segalloc.h"
#include "test.h"

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// Clang (without -fsized-deallocation) does not declare the sized forms; they exist all the
// same (libstdc++ exports them, and so do segalloc's override and preload library).
#ifndef __cpp_sized_deallocation
void operator delete(void *, std::size_t) noexcept;
void operator delete[](void *, std::size_t) noexcept;
void operator delete(void *, std::size_t, std::align_val_t) noexcept;
void operator delete[](void *, std::size_t, std::align_val_t) noexcept;
#endif

// Hide a value from the optimiser: a new/delete pair must not be elided, a huge size must
// not be seen as a constant.
#define OPAQUE(x) __asm__ volatile("" : "+r"(x) : : "memory")

static size_t (*usable)(const void *);
static void (*stats)(segalloc_stats_t *);

static bool resolve() {
#ifdef OVERRIDE_COMPILED_IN
  usable = segalloc_usable_size;
  stats = segalloc_stats;
#else
  usable = reinterpret_cast<size_t (*)(const void *)>(dlsym(RTLD_DEFAULT, "segalloc_usable_size"));
  stats = reinterpret_cast<void (*)(segalloc_stats_t *)>(dlsym(RTLD_DEFAULT, "segalloc_stats"));
#endif
  return usable && stats;
}

static segalloc_stats_t snap() {
  segalloc_stats_t st;
  stats(&st);
  return st;
}
static uint64_t mallocs_now() { return snap().mallocs; }
static uint64_t frees_now() { return snap().frees; }

static bool aligned(const void *p, size_t a) { return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0; }

struct Small {
  int a[5];
};
struct alignas(256) Over {
  char c[300];
};
struct alignas(4096) Page {
  char c[10];
};

static void test_forms() {
  // new / delete
  uint64_t m = mallocs_now(), f;
  Small *s = new Small();
  OPAQUE(s);
  CHECK(mallocs_now() == m + 1 && usable(s) >= sizeof(Small));
  f = frees_now();
  delete s;
  CHECK(frees_now() == f + 1);

  // new[] / delete[], small and large
  for (size_t n : {size_t(1), size_t(100), size_t(10000), size_t(1) << 20}) {
    m = mallocs_now();
    int *a = new int[n];
    OPAQUE(a);
    CHECK(mallocs_now() == m + 1 && usable(a) >= n * sizeof(int));
    a[0] = 1;
    a[n - 1] = 2;
    f = frees_now();
    delete[] a;
    CHECK(frees_now() == f + 1);
  }

  // the operator functions themselves, with the sized deletes
  m = mallocs_now();
  void *p = ::operator new(100);
  OPAQUE(p);
  CHECK(mallocs_now() == m + 1 && usable(p) >= 100);
  f = frees_now();
  ::operator delete(p, 100);
  CHECK(frees_now() == f + 1);
  m = mallocs_now();
  p = ::operator new[](5000);
  OPAQUE(p);
  CHECK(mallocs_now() == m + 1 && usable(p) >= 5000);
  f = frees_now();
  ::operator delete[](p, 5000);
  CHECK(frees_now() == f + 1);
  m = mallocs_now();
  p = ::operator new(0);
  OPAQUE(p);
  void *p2 = ::operator new(0);
  OPAQUE(p2);
  CHECK(p && p2 && p != p2 && mallocs_now() == m + 2);
  ::operator delete(p);
  ::operator delete(p2);

  // nothrow forms that succeed, and their deletes
  m = mallocs_now();
  p = ::operator new(64, std::nothrow);
  OPAQUE(p);
  CHECK(p && mallocs_now() == m + 1 && usable(p) >= 64);
  f = frees_now();
  ::operator delete(p, std::nothrow);
  CHECK(frees_now() == f + 1);
  m = mallocs_now();
  p = ::operator new[](64, std::nothrow);
  OPAQUE(p);
  CHECK(p && mallocs_now() == m + 1);
  f = frees_now();
  ::operator delete[](p, std::nothrow);
  CHECK(frees_now() == f + 1);
  m = mallocs_now();
  Small *sn = new (std::nothrow) Small;
  OPAQUE(sn);
  CHECK(sn && mallocs_now() == m + 1);
  delete sn;

  // aligned new: an over-aligned type picks the align_val_t forms
  m = mallocs_now();
  Over *o = new Over;
  OPAQUE(o);
  CHECK(mallocs_now() == m + 1 && aligned(o, 256) && usable(o) >= sizeof(Over));
  f = frees_now();
  delete o; // operator delete(void *, size_t, align_val_t)
  CHECK(frees_now() == f + 1);
  m = mallocs_now();
  Over *oa = new Over[7];
  OPAQUE(oa);
  CHECK(mallocs_now() == m + 1 && aligned(oa, 256) && usable(oa) >= 7 * sizeof(Over));
  f = frees_now();
  delete[] oa;
  CHECK(frees_now() == f + 1);
  m = mallocs_now();
  Page *pg = new Page;
  OPAQUE(pg);
  CHECK(mallocs_now() == m + 1 && aligned(pg, 4096));
  delete pg;
  m = mallocs_now();
  Over *on = new (std::nothrow) Over;
  OPAQUE(on);
  CHECK(on && mallocs_now() == m + 1 && aligned(on, 256));
  delete on;

  for (size_t al = 32; al <= (size_t(1) << 21); al <<= 1) {
    std::align_val_t a{al};
    m = mallocs_now();
    p = ::operator new(al + 3, a);
    OPAQUE(p);
    bool ok = mallocs_now() == m + 1 && aligned(p, al) && usable(p) >= al + 3;
    f = frees_now();
    ::operator delete(p, a);
    ok = ok && frees_now() == f + 1;
    p = ::operator new[](100, a);
    OPAQUE(p);
    ok = ok && aligned(p, al);
    ::operator delete[](p, 100, a);
    p = ::operator new(100, a, std::nothrow);
    OPAQUE(p);
    ok = ok && p && aligned(p, al);
    ::operator delete(p, a, std::nothrow);
    p = ::operator new[](100, a, std::nothrow);
    OPAQUE(p);
    ok = ok && p && aligned(p, al);
    ::operator delete[](p, a, std::nothrow);
    p = ::operator new(100, a);
    OPAQUE(p);
    ok = ok && aligned(p, al);
    f = frees_now();
    ::operator delete(p, 100, a);
    ok = ok && frees_now() == f + 1;
    p = ::operator new[](100, a);
    OPAQUE(p);
    ::operator delete[](p, a);
    CHECK(ok);
  }
}

// ---- failure: new_handler, bad_alloc, nothrow ----

static int handler_calls;
static void handler_gives_up_after_two() {
  if (++handler_calls >= 2) std::set_new_handler(nullptr);
}
static void handler_throws() {
  handler_calls++;
  throw std::bad_alloc();
}

static void test_failure() {
  volatile size_t vbig = SIZE_MAX / 2;
  size_t big = vbig;
  std::align_val_t a64{64};

  // the throwing forms: the handler runs twice (then uninstalls itself), then bad_alloc
  struct {
    const char *name;
    std::function<void *()> call;
  } throwing[] = {
      {"new", [&] { return ::operator new(big); }},
      {"new[]", [&] { return ::operator new[](big); }},
      {"new(align)", [&] { return ::operator new(big, a64); }},
      {"new[](align)", [&] { return ::operator new[](big, a64); }},
      {"new char[]", [&] { return static_cast<void *>(new char[big]); }},
  };
  for (auto &t : throwing) {
    handler_calls = 0;
    std::set_new_handler(handler_gives_up_after_two);
    bool threw = false;
    try {
      void *p = t.call();
      ::operator delete(p);
    } catch (const std::bad_alloc &) {
      threw = true;
    }
    CHECK(threw && handler_calls == 2 && std::get_new_handler() == nullptr);
    if (!threw || handler_calls != 2) fprintf(stderr, "  (%s: threw %d, handler calls %d)\n", t.name, threw, handler_calls);
  }
  // with no handler: bad_alloc straight away
  std::set_new_handler(nullptr);
  bool threw = false;
  try {
    void *p = ::operator new(big);
    ::operator delete(p);
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw);
  // a handler that throws: its exception comes out of new
  handler_calls = 0;
  std::set_new_handler(handler_throws);
  threw = false;
  try {
    void *p = ::operator new(big, a64);
    ::operator delete(p);
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw && handler_calls == 1);

  // the nothrow forms: nullptr, after the handler had its chances
  struct {
    const char *name;
    std::function<void *()> call;
  } nothrow[] = {
      {"new(nothrow)", [&] { return ::operator new(big, std::nothrow); }},
      {"new[](nothrow)", [&] { return ::operator new[](big, std::nothrow); }},
      {"new(align, nothrow)", [&] { return ::operator new(big, a64, std::nothrow); }},
      {"new[](align, nothrow)", [&] { return ::operator new[](big, a64, std::nothrow); }},
      {"new(nothrow) char[]", [&] { return static_cast<void *>(new (std::nothrow) char[big]); }},
  };
  for (auto &t : nothrow) {
    std::set_new_handler(nullptr);
    void *p = t.call();
    CHECK(p == nullptr);
    handler_calls = 0;
    std::set_new_handler(handler_gives_up_after_two);
    p = t.call();
    CHECK(p == nullptr && handler_calls == 2);
    handler_calls = 0;
    std::set_new_handler(handler_throws);
    p = t.call();
    CHECK(p == nullptr && handler_calls == 1);
    if (p) ::operator delete(p);
  }
  std::set_new_handler(nullptr);

  // a new-expression whose size computation overflows: std::bad_array_new_length
  threw = false;
  try {
    size_t n = vbig;
    Over *o = new Over[n];
    OPAQUE(o);
    delete[] o;
  } catch (const std::bad_array_new_length &) {
    threw = true;
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw);
}

// ---- the library: containers, strings, exceptions, threads ----

static void test_library() {
  uint64_t m = mallocs_now();
  {
    std::vector<std::string> v;
    std::map<int, std::string> mp;
    for (int i = 0; i < 20000; i++) {
      v.push_back("a string long enough to be on the heap " + std::to_string(i));
      mp[i] = v.back();
    }
    auto sp = std::make_shared<std::vector<int>>(100000, 7);
    std::function<int()> fn = [sp, big = std::string(1000, 'x')] { return (int)sp->size() + (int)big.size(); };
    CHECK(fn() == 101000 && mp.size() == 20000 && usable(v.data()) >= v.size() * sizeof(std::string));
  }
  CHECK(mallocs_now() >= m + 40000);
  // an exception object is allocated too (by libstdc++, through malloc)
  m = mallocs_now();
  bool caught = false;
  try {
    throw std::runtime_error(std::string(200, 'e'));
  } catch (const std::runtime_error &e) {
    caught = strlen(e.what()) == 200;
  }
  CHECK(caught && mallocs_now() > m);

  // threads: allocate on one, delete on another
  std::vector<int *> handoff(10000);
  std::thread producer([&] {
    for (size_t i = 0; i < handoff.size(); i++) handoff[i] = new int[1 + i % 100]();
  });
  producer.join();
  std::thread consumer([&] {
    for (int *p : handoff) delete[] p;
  });
  consumer.join();
  segalloc_stats_t st = snap();
  CHECK(test_stats_add_up(&st));
}

// Every form of operator new and delete the program calls is segalloc's own, defined in the
// same object as segalloc_stats: the program compiled with the override (a C++ file), or the
// preload library, a C build that defines them by their ABI names (SEGALLOC_OVERRIDE_NEW).
// Without that, a preloaded program would run libstdc++'s operators, which call malloc.
static void test_operators_are_segalloc() {
  void *(*n1)(std::size_t) = &::operator new;
  void *(*n2)(std::size_t) = &::operator new[];
  void *(*n3)(std::size_t, const std::nothrow_t &) noexcept = &::operator new;
  void *(*n4)(std::size_t, std::align_val_t) = &::operator new;
  void *(*n5)(std::size_t, std::align_val_t, const std::nothrow_t &) noexcept = &::operator new[];
  void (*d1)(void *) noexcept = &::operator delete;
  void (*d2)(void *, std::size_t) noexcept = &::operator delete[];
  void (*d5)(void *, std::size_t) noexcept = &::operator delete;
  void (*d3)(void *, std::size_t, std::align_val_t) noexcept = &::operator delete;
  void (*d4)(void *, std::align_val_t, const std::nothrow_t &) noexcept = &::operator delete[];
  const void *ops[] = {reinterpret_cast<const void *>(n1), reinterpret_cast<const void *>(n2),
                       reinterpret_cast<const void *>(n3), reinterpret_cast<const void *>(n4),
                       reinterpret_cast<const void *>(n5), reinterpret_cast<const void *>(d1),
                       reinterpret_cast<const void *>(d2), reinterpret_cast<const void *>(d3),
                       reinterpret_cast<const void *>(d4), reinterpret_cast<const void *>(d5)};
  Dl_info home, at;
  CHECK(dladdr(reinterpret_cast<const void *>(stats), &home) && home.dli_fname);
  for (const void *op : ops) {
    CHECK(dladdr(op, &at) && at.dli_fname && home.dli_fname && strcmp(at.dli_fname, home.dli_fname) == 0);
  }
}

int main() {
  if (!resolve()) {
    printf("FAIL: segalloc's symbols not found: is build/libsegalloc.so preloaded?\n");
    printf("0 passed, 1 failed\n");
    return 1;
  }
  test_operators_are_segalloc();
  test_forms();
  test_failure();
  test_library();
  return test_finish();
}

/* ---- override: the standard names -----------------------------------------------------
   See the design comment at the top of the implementation for an overview.

   With SEGALLOC_OVERRIDE defined where the implementation is compiled, this part defines
   malloc and its relatives, glibc's __libc_* entry points, and (when that file is C++, or
   from C with SEGALLOC_OVERRIDE_NEW, by their ABI names) every form of operator new and
   delete, all mapped onto the segalloc_* functions. Built into a shared library (`make
   preload`) it replaces the system allocator under LD_PRELOAD; linked into a program it
   replaces it for that program. It owns no state, but for the C build's operators: whether
   the program defines operators of its own, and the C++ runtime's, found once.

   malloc, free, calloc and realloc are aliases of the segalloc_* symbols rather than
   wrappers, so a call through the PLT lands straight in the allocator. The rest are thin
   wrappers. Glibc declares these functions noexcept in C++, so the definitions say so too. */
#ifdef SEGALLOC_OVERRIDE

#include <malloc.h>

#if defined(__cplusplus)
#define SEGALLOC__NOEXCEPT noexcept
extern "C" {
#else
#define SEGALLOC__NOEXCEPT
#endif

#define SEGALLOC__ALIAS(target) __attribute__((alias(#target), visibility("default"), used))
#define SEGALLOC__EXPORT __attribute__((visibility("default"), used))

#if defined(__cplusplus) && defined(SEGALLOC_STATIC)
/* clang cannot alias a static function in C++ (it mangles the name of a function with
   internal linkage, extern "C" or not): wrappers then */
SEGALLOC__EXPORT void *malloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_malloc(size); }
SEGALLOC__EXPORT void free(void *ptr) SEGALLOC__NOEXCEPT { segalloc_free(ptr); }
SEGALLOC__EXPORT void *calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT { return segalloc_calloc(count, size); }
SEGALLOC__EXPORT void *realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT { return segalloc_realloc(ptr, size); }
SEGALLOC__EXPORT void *__libc_malloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_malloc(size); }
SEGALLOC__EXPORT void __libc_free(void *ptr) SEGALLOC__NOEXCEPT { segalloc_free(ptr); }
SEGALLOC__EXPORT void *__libc_calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT { return segalloc_calloc(count, size); }
SEGALLOC__EXPORT void *__libc_realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT { return segalloc_realloc(ptr, size); }
#else
void *malloc(size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_malloc);
void free(void *ptr) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_free);
void *calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_calloc);
void *realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_realloc);
void *__libc_malloc(size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_malloc);
void __libc_free(void *ptr) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_free);
void *__libc_calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_calloc);
void *__libc_realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_realloc);
#endif

SEGALLOC__EXPORT void *reallocarray(void *ptr, size_t count, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_reallocarray(ptr, count, size);
}
SEGALLOC__EXPORT void *aligned_alloc(size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_aligned_alloc(alignment, size);
}
SEGALLOC__EXPORT int posix_memalign(void **out, size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_posix_memalign(out, alignment, size);
}
SEGALLOC__EXPORT void *memalign(size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_memalign(alignment, size);
}
SEGALLOC__EXPORT void *__libc_memalign(size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  return segalloc_memalign(alignment, size);
}
SEGALLOC__EXPORT void *valloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_valloc(size); }
SEGALLOC__EXPORT void *__libc_valloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_valloc(size); }
SEGALLOC__EXPORT void *pvalloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_pvalloc(size); }
SEGALLOC__EXPORT void *__libc_pvalloc(size_t size) SEGALLOC__NOEXCEPT { return segalloc_pvalloc(size); }
SEGALLOC__EXPORT size_t malloc_usable_size(void *ptr) SEGALLOC__NOEXCEPT { return segalloc_usable_size(ptr); }
SEGALLOC__EXPORT void free_sized(void *ptr, size_t size) SEGALLOC__NOEXCEPT { segalloc_free_sized(ptr, size); }
SEGALLOC__EXPORT void free_aligned_sized(void *ptr, size_t alignment, size_t size) SEGALLOC__NOEXCEPT {
  segalloc_free_aligned_sized(ptr, alignment, size);
}
SEGALLOC__EXPORT void cfree(void *ptr) SEGALLOC__NOEXCEPT { segalloc_free(ptr); }
SEGALLOC__EXPORT void malloc_stats(void) SEGALLOC__NOEXCEPT { segalloc_print_stats(2); }
SEGALLOC__EXPORT int malloc_trim(size_t pad) SEGALLOC__NOEXCEPT {
  (void)pad;
  return segalloc_trim() > 0;
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
/* mallinfo2 in glibc's terms, from segalloc's statistics: blocks with a mapping of their
   own are glibc's mmapped chunks (hblks, hblkhd) and counted nowhere else; uordblks is
   the rest of what the program holds, fordblks the free bytes in caches, central lists and
   the page heap, arena the two together (as glibc's arena = uordblks + fordblks), keepcost
   the free resident pages that malloc_trim would give back. Not reported: released pages
   and metadata (segalloc_stats has them). */
static size_t segalloc__huge_count(void) {
  size_t n = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  for (const segalloc__huge *h = segalloc__heap.huge; h; h = h->next) n++;
  segalloc__lock_release(&segalloc__heap.lock);
  return n;
}

SEGALLOC__EXPORT struct mallinfo2 mallinfo2(void) SEGALLOC__NOEXCEPT {
  segalloc_stats_t st;
  segalloc_stats(&st);
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.hblks = segalloc__huge_count();
  mi.hblkhd = st.huge_live;
  mi.uordblks = st.live - st.huge_live;
  mi.fordblks = st.thread_cached + st.central + st.pageheap_free;
  mi.arena = mi.uordblks + mi.fordblks;
  mi.keepcost = st.pageheap_free;
  return mi;
}

/* The old interface, with int fields: each clamped at INT_MAX (glibc's wraps). */
static int segalloc__int_field(size_t v) { return v > (size_t)INT_MAX ? INT_MAX : (int)v; }
SEGALLOC__EXPORT struct mallinfo mallinfo(void) SEGALLOC__NOEXCEPT {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = segalloc__int_field(m2.arena);
  mi.hblks = segalloc__int_field(m2.hblks);
  mi.hblkhd = segalloc__int_field(m2.hblkhd);
  mi.uordblks = segalloc__int_field(m2.uordblks);
  mi.fordblks = segalloc__int_field(m2.fordblks);
  mi.keepcost = segalloc__int_field(m2.keepcost);
  return mi;
}
#endif

#if defined(__cplusplus)
} /* extern "C" */
#endif

/* malloc's fast path inline in operator new (a debug build's wrappers are the public
   functions): bench/newdelete.cpp compiled in with the header as C++, 62.1 -> 55.1
   instructions a `new S; delete p` pair (callgrind) */
#if SEGALLOC__WRAPPED
#define SEGALLOC__NEW_MALLOC segalloc_malloc
#else
#define SEGALLOC__NEW_MALLOC segalloc__malloc_inline
#endif

#if defined(__cplusplus)
#include <new>

/* operator new's failure path: call the new_handler until it gives up, then throw (or, for
   the nothrow forms, return NULL). */
static segalloc__noinline void *segalloc__new_retry(size_t size, size_t align, bool nothrow) {
  for (;;) {
    void *p = align ? segalloc_aligned_alloc(align, size) : segalloc_malloc(size);
    if (p) return p;
    std::new_handler h = std::get_new_handler();
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    if (!h) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    if (nothrow) {
      try { h(); } catch (...) { return nullptr; }
    } else {
      h();
    }
#else
    /* built with -fno-exceptions: a failure that would throw stops the program, as
       libstdc++'s own operator new does in such a build */
    if (!h) {
      if (nothrow) return nullptr;
      segalloc__write(2, "segalloc: error: operator new failed (out of memory), and exceptions are disabled\n");
      abort();
    }
    h();
#endif
  }
}

static segalloc__inline segalloc__nosan void *segalloc__new(size_t size) {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return segalloc__likely(p != nullptr) ? p : segalloc__new_retry(size, 0, false);
}

SEGALLOC__EXPORT segalloc__nosan void *operator new(size_t size) { return segalloc__new(size); }
SEGALLOC__EXPORT segalloc__nosan void *operator new[](size_t size) { return segalloc__new(size); }
SEGALLOC__EXPORT segalloc__nosan void *operator new(size_t size, const std::nothrow_t &) noexcept {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return p ? p : segalloc__new_retry(size, 0, true);
}
SEGALLOC__EXPORT segalloc__nosan void *operator new[](size_t size, const std::nothrow_t &) noexcept {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return p ? p : segalloc__new_retry(size, 0, true);
}
SEGALLOC__EXPORT void operator delete(void *p) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete(void *p, const std::nothrow_t &) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, const std::nothrow_t &) noexcept { segalloc_free(p); }
#if defined(__cpp_sized_deallocation) || __cplusplus >= 201402L
SEGALLOC__EXPORT void operator delete(void *p, size_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, size_t) noexcept { segalloc_free(p); }
#endif
#if defined(__cpp_aligned_new)
SEGALLOC__EXPORT void *operator new(size_t size, std::align_val_t al) {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, false);
}
SEGALLOC__EXPORT void *operator new[](size_t size, std::align_val_t al) {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, false);
}
SEGALLOC__EXPORT void *operator new(size_t size, std::align_val_t al, const std::nothrow_t &) noexcept {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, true);
}
SEGALLOC__EXPORT void *operator new[](size_t size, std::align_val_t al, const std::nothrow_t &) noexcept {
  void *p = segalloc_aligned_alloc((size_t)al, size);
  return p ? p : segalloc__new_retry(size, (size_t)al, true);
}
SEGALLOC__EXPORT void operator delete(void *p, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete(void *p, size_t, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, size_t, std::align_val_t) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { segalloc_free(p); }
SEGALLOC__EXPORT void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { segalloc_free(p); }
#endif
#endif /* __cplusplus */

/* ---- operator new and delete from a C build (SEGALLOC_OVERRIDE_NEW) ----

   The preload library is C, so that C programs need not load a C++ runtime; but a C++
   program under it would then reach segalloc through its runtime's operator new, a wrapper
   that loops on malloc with the new_handler (callgrind, bench/newdelete.sh: 74.1
   instructions a `new S; delete p` pair with S of 64 bytes, 59.1 with segalloc's own
   operators; malloc/free is 54.1). So with SEGALLOC_OVERRIDE_NEW a C build defines every
   form of operator new and delete by its Itanium C++ ABI name (asm labels: no reserved
   identifiers in the source).

   A delete is free. A new is malloc (or aligned_alloc), and when that fails the request
   goes to the C++ runtime's own operator of the same name (segalloc__cxx_next), which asks
   segalloc again and does what the standard says: call the new_handler until there is
   none, then throw std::bad_alloc or, for the nothrow forms, return NULL. A C frame can
   neither catch nor let a handler's exception through without unwind tables, so the build
   must have -fexceptions (checked below; the preload build passes it).

   A program may replace any of the forms itself, and the standard has the others (new[],
   nothrow, sized and array deletes) call the ones it replaced. The program's definitions
   come first in the symbol search, so the forms it replaced never reach segalloc; the
   others must then not answer themselves. So a constructor looks, once, with dlsym and
   dladdr1, for a definition of any of the twenty names outside this object; if there is
   one, every form but the four basic ones (operator new and delete, plain and aligned,
   which the standard defines directly) hands its calls to the C++ runtime's own
   definition, found then and kept, which forwards them as the standard says. Those
   sixteen forms pay a load and a branch for the check (sized delete among them). Once,
   and at start-up: dlsym takes the loader's lock, which a thread started by a library's
   constructor, while dlopen holds that lock, could otherwise wait on forever. For the same
   reason the constructor finds the runtime's definitions of all twenty then, whenever a
   C++ runtime is loaded, for the news that fail later (about 19,000 instructions at a C++
   program's start, callgrind). A call before the constructor has run (another library's
   constructor) looks itself. Left open: a C program that dlopens its first C++ library
   has no runtime to look in at start-up, and a new failing in a thread that such a
   library's constructor waits for still looks then. */
#if !defined(__cplusplus) && defined(SEGALLOC_OVERRIDE_NEW)
#if !defined(__ELF__) || !defined(__LP64__)
#error "segalloc: SEGALLOC_OVERRIDE_NEW knows the C++ ABI names of 64-bit ELF systems only"
#endif
#if !defined(__EXCEPTIONS)
#error "segalloc: SEGALLOC_OVERRIDE_NEW needs -fexceptions, for exceptions thrown by a new_handler or by the C++ runtime's operator new to pass through segalloc's C frames"
#endif
#include <dlfcn.h>
#include <elf.h>
#ifdef RTLD_NEXT
#define SEGALLOC__RTLD_NEXT RTLD_NEXT
#define SEGALLOC__RTLD_DEFAULT RTLD_DEFAULT
#else /* hidden without _GNU_SOURCE before glibc 2.36; glibc and musl define them so */
#define SEGALLOC__RTLD_NEXT ((void *)-1l)
#define SEGALLOC__RTLD_DEFAULT ((void *)0)
#endif
/* dladdr's Dl_info, which <dlfcn.h> declares only under _GNU_SOURCE; dladdr and dladdr1
   are looked up with dlsym for the same reason (and dladdr1 is glibc's alone) */
typedef struct {
  const char *dli_fname;
  void *dli_fbase;
  const char *dli_sname;
  void *dli_saddr;
} segalloc__dl_info;
#define SEGALLOC__RTLD_DL_SYMENT 1 /* dladdr1's flag for the symbol's ELF entry */

/* The sixteen forms besides the basic four: X(kind, function, ABI name). The kind says how
   the form is defined below; the list also gives each form its index (after the basic
   four) and its name in segalloc__cxx_names. */
#define SEGALLOC__CXX_OTHERS(X)                                                                \
  X(NEW_ARRAY, segalloc__op_new_array, "_Znam")                                                \
  X(NEW_NOTHROW, segalloc__op_new_nothrow, "_ZnwmRKSt9nothrow_t")                               \
  X(NEW_NOTHROW, segalloc__op_new_array_nothrow, "_ZnamRKSt9nothrow_t")                         \
  X(NEW_ARRAY_ALIGNED, segalloc__op_new_array_aligned, "_ZnamSt11align_val_t")                  \
  X(NEW_ALIGNED_NOTHROW, segalloc__op_new_aligned_nothrow, "_ZnwmSt11align_val_tRKSt9nothrow_t") \
  X(NEW_ALIGNED_NOTHROW, segalloc__op_new_array_aligned_nothrow, "_ZnamSt11align_val_tRKSt9nothrow_t") \
  X(DELETE, segalloc__op_delete_array, "_ZdaPv")                                               \
  X(DELETE, segalloc__op_delete_sized, "_ZdlPvm")                                              \
  X(DELETE, segalloc__op_delete_array_sized, "_ZdaPvm")                                        \
  X(DELETE, segalloc__op_delete_nothrow, "_ZdlPvRKSt9nothrow_t")                               \
  X(DELETE, segalloc__op_delete_array_nothrow, "_ZdaPvRKSt9nothrow_t")                         \
  X(DELETE, segalloc__op_delete_array_aligned, "_ZdaPvSt11align_val_t")                        \
  X(DELETE, segalloc__op_delete_sized_aligned, "_ZdlPvmSt11align_val_t")                       \
  X(DELETE, segalloc__op_delete_array_sized_aligned, "_ZdaPvmSt11align_val_t")                 \
  X(DELETE, segalloc__op_delete_aligned_nothrow, "_ZdlPvSt11align_val_tRKSt9nothrow_t")        \
  X(DELETE, segalloc__op_delete_array_aligned_nothrow, "_ZdaPvSt11align_val_tRKSt9nothrow_t")
#define SEGALLOC__CXX_NEW_NAME "_Znwm"
#define SEGALLOC__CXX_NEW_ALIGNED_NAME "_ZnwmSt11align_val_t"
#define SEGALLOC__CXX_DELETE_NAME "_ZdlPv"
#define SEGALLOC__CXX_DELETE_ALIGNED_NAME "_ZdlPvSt11align_val_t"

#define SEGALLOC__CXX_INDEX(kind, fn, label) SEGALLOC__CXX_I_##fn,
#define SEGALLOC__CXX_LABEL(kind, fn, label) label,
enum {
  SEGALLOC__CXX_I_NEW, /* the basic four */
  SEGALLOC__CXX_I_NEW_ALIGNED,
  SEGALLOC__CXX_I_DELETE,
  SEGALLOC__CXX_I_DELETE_ALIGNED,
  SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_INDEX) SEGALLOC__CXX_FORMS
};
static const char *const segalloc__cxx_names[SEGALLOC__CXX_FORMS] = {
    SEGALLOC__CXX_NEW_NAME, SEGALLOC__CXX_NEW_ALIGNED_NAME, SEGALLOC__CXX_DELETE_NAME,
    SEGALLOC__CXX_DELETE_ALIGNED_NAME, SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_LABEL)};

/* who answers the sixteen forms besides the basic four */
enum { SEGALLOC__CXX_UNSEEN, SEGALLOC__CXX_OURS, SEGALLOC__CXX_RUNTIME };
static int segalloc__cxx_state;
/* the C++ runtime's definition of each form, once found */
static void *segalloc__cxx_runtime[SEGALLOC__CXX_FORMS];
/* the C++ runtimes a program may have loaded */
static const char *const segalloc__cxx_runtimes[] = {"libstdc++.so.6", "libc++.so.1"};

/* The C++ runtime's definition of form i: the next one in the global symbol search, or
   failing that (a runtime that only a plug-in opened with RTLD_LOCAL brought in, as Python
   loads its C++ extensions) the one in a runtime already loaded. Kept once found. */
static void *segalloc__cxx_next(int i) {
  void *f = segalloc__load_relaxed(&segalloc__cxx_runtime[i]);
  if (f) return f;
  f = dlsym(SEGALLOC__RTLD_NEXT, segalloc__cxx_names[i]);
  for (size_t k = 0; !f && k < sizeof segalloc__cxx_runtimes / sizeof segalloc__cxx_runtimes[0]; k++) {
    void *h = dlopen(segalloc__cxx_runtimes[k], RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
      f = dlsym(h, segalloc__cxx_names[i]);
      dlclose(h); /* still loaded: whoever loaded it holds it */
    }
  }
  if (f) segalloc__store_relaxed(&segalloc__cxx_runtime[i], f);
  return f;
}

/* Is f, found for `name`, a definition of it outside this object? In a program linked
   without -pie that takes an operator's address, dlsym returns the program's PLT entry,
   which its symbol table lists under the name as an undefined symbol: dladdr1 tells
   (without it, where only dladdr exists, that case counts as a definition, which costs
   the detour through the runtime and nothing else). */
static int segalloc__cxx_defined_elsewhere(void *f, const char *name, const segalloc__dl_info *self) {
  segalloc__dl_info at;
  const Elf64_Sym *sym = NULL;
  void *da1 = dlsym(SEGALLOC__RTLD_DEFAULT, "dladdr1"), *da = dlsym(SEGALLOC__RTLD_DEFAULT, "dladdr");
  int found;
  if (da1) {
    int (*where)(const void *, segalloc__dl_info *, void **, int);
    memcpy(&where, &da1, sizeof where);
    found = where(f, &at, (void **)&sym, SEGALLOC__RTLD_DL_SYMENT);
  } else {
    int (*where)(const void *, segalloc__dl_info *);
    memcpy(&where, &da, sizeof where);
    found = da && where(f, &at);
  }
  return found && at.dli_fbase != self->dli_fbase && at.dli_saddr == f && at.dli_sname &&
         !strcmp(at.dli_sname, name) && !(sym && sym->st_shndx == SHN_UNDEF);
}


static int segalloc__cxx_resolve(void); /* below, after the forms */

/* segalloc answers the sixteen forms besides the basic four */
static segalloc__inline int segalloc__cxx_ours(void) {
  int state = segalloc__load_relaxed(&segalloc__cxx_state);
  return segalloc__likely(state == SEGALLOC__CXX_OURS) ||
         (state == SEGALLOC__CXX_UNSEEN && segalloc__cxx_resolve() == SEGALLOC__CXX_OURS);
}

/* A new that segalloc does not answer (it failed, or the program defines a form): the
   runtime's form i, called with the same arguments (up to three words: size, alignment,
   the nothrow tag). Without one, a nothrow form returns NULL and a throwing one, which may
   not, stops the program. */
static segalloc__noinline void *segalloc__new_next(int i, size_t a, size_t b, size_t c, int nothrow) {
  /* an aligned form with a size no allocator can serve goes to the plain form of its kind:
     libstdc++ 12's aligned forms round the size up to the alignment unchecked, and one near
     SIZE_MAX came back as a tiny block */
  if (a > SEGALLOC__MAX_REQUEST && (i == SEGALLOC__CXX_I_NEW_ALIGNED || i == SEGALLOC__CXX_I_segalloc__op_new_array_aligned ||
                                    i == SEGALLOC__CXX_I_segalloc__op_new_aligned_nothrow ||
                                    i == SEGALLOC__CXX_I_segalloc__op_new_array_aligned_nothrow)) {
    i = nothrow ? SEGALLOC__CXX_I_segalloc__op_new_nothrow : SEGALLOC__CXX_I_NEW;
    b = c; /* the nothrow tag, if any */
    c = 0;
  }
  void *f = segalloc__cxx_next(i);
  if (!f) {
    if (nothrow) return NULL;
    segalloc__write(2, "segalloc: error: operator new failed, and there is no C++ runtime operator new to hand it to\n");
    abort();
  }
  void *(*fn)(size_t, size_t, size_t);
  memcpy(&fn, &f, sizeof fn); /* an object pointer to a function pointer, as POSIX allows */
  return fn(a, b, c);
}

/* The same for a delete; without a runtime to hand it to, the block is segalloc's. */
static segalloc__noinline void segalloc__delete_next(int i, void *p, size_t a, size_t b) {
  void *f = segalloc__cxx_next(i);
  if (!f) {
    segalloc_free(p);
    return;
  }
  void (*fn)(void *, size_t, size_t);
  memcpy(&fn, &f, sizeof fn);
  fn(p, a, b);
}

/* the basic forms */
void *segalloc__op_new(size_t size) __asm__(SEGALLOC__CXX_NEW_NAME);
void *segalloc__op_new_aligned(size_t size, size_t align) __asm__(SEGALLOC__CXX_NEW_ALIGNED_NAME);
void segalloc__op_delete(void *p) __asm__(SEGALLOC__CXX_DELETE_NAME);
void segalloc__op_delete_aligned(void *p) __asm__(SEGALLOC__CXX_DELETE_ALIGNED_NAME);
SEGALLOC__EXPORT segalloc__nosan void *segalloc__op_new(size_t size) {
  void *p = SEGALLOC__NEW_MALLOC(size);
  return segalloc__likely(p != NULL) ? p : segalloc__new_next(SEGALLOC__CXX_I_NEW, size, 0, 0, 0);
}
SEGALLOC__EXPORT void *segalloc__op_new_aligned(size_t size, size_t align) {
  void *p = segalloc_aligned_alloc(align, size);
  return segalloc__likely(p != NULL) ? p : segalloc__new_next(SEGALLOC__CXX_I_NEW_ALIGNED, size, align, 0, 0);
}
void segalloc__op_delete(void *p) SEGALLOC__ALIAS(segalloc_free);
void segalloc__op_delete_aligned(void *p) SEGALLOC__ALIAS(segalloc_free);
/* the same two news under hidden names, for direct calls: calls through their global names
   would go through the PLT */
extern __typeof__(segalloc__op_new) segalloc__op_new_here __attribute__((alias(SEGALLOC__CXX_NEW_NAME), visibility("hidden")));
extern __typeof__(segalloc__op_new_aligned) segalloc__op_new_aligned_here __attribute__((alias(SEGALLOC__CXX_NEW_ALIGNED_NAME), visibility("hidden")));

/* the sixteen others. The throwing news are the basic ones (as the standard defines them),
   the nothrow ones malloc or aligned_alloc with the runtime's form for a failure (only it
   can catch the handler's exception); a delete's size, alignment and tag are not needed,
   free takes any block. */
#define SEGALLOC__NEW_ARRAY(fn, i, label)                                                      \
  void *fn(size_t size) __asm__(label);                                                        \
  SEGALLOC__EXPORT void *fn(size_t size) {                                                     \
    if (segalloc__cxx_ours()) return segalloc__op_new_here(size);                              \
    return segalloc__new_next(i, size, 0, 0, 0);                                               \
  }
#define SEGALLOC__NEW_NOTHROW(fn, i, label)                                                    \
  void *fn(size_t size, const void *tag) __asm__(label);                                       \
  SEGALLOC__EXPORT segalloc__nosan void *fn(size_t size, const void *tag) {                    \
    void *p = segalloc__cxx_ours() ? SEGALLOC__NEW_MALLOC(size) : NULL;                        \
    return segalloc__likely(p != NULL) ? p : segalloc__new_next(i, size, (size_t)tag, 0, 1);   \
  }
#define SEGALLOC__NEW_ARRAY_ALIGNED(fn, i, label)                                              \
  void *fn(size_t size, size_t align) __asm__(label);                                          \
  SEGALLOC__EXPORT void *fn(size_t size, size_t align) {                                       \
    if (segalloc__cxx_ours()) return segalloc__op_new_aligned_here(size, align);               \
    return segalloc__new_next(i, size, align, 0, 0);                                           \
  }
#define SEGALLOC__NEW_ALIGNED_NOTHROW(fn, i, label)                                            \
  void *fn(size_t size, size_t align, const void *tag) __asm__(label);                         \
  SEGALLOC__EXPORT void *fn(size_t size, size_t align, const void *tag) {                      \
    void *p = segalloc__cxx_ours() ? segalloc_aligned_alloc(align, size) : NULL;               \
    return segalloc__likely(p != NULL) ? p : segalloc__new_next(i, size, align, (size_t)tag, 1); \
  }
#define SEGALLOC__DELETE(fn, i, label)                                                         \
  void fn(void *p, size_t a, size_t b) __asm__(label);                                         \
  SEGALLOC__EXPORT void fn(void *p, size_t a, size_t b) {                                      \
    if (segalloc__cxx_ours()) segalloc_free(p);                                                \
    else segalloc__delete_next(i, p, a, b);                                                    \
  }
#define SEGALLOC__CXX_DEFINE(kind, fn, label) SEGALLOC__##kind(fn, SEGALLOC__CXX_I_##fn, label)
SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_DEFINE)

/* Is f, found for form i, this object's own definition? Compared with the form's hidden
   name, whose address is this object's (a global name's address is read from the GOT, where
   another object's definition would stand). */
extern __typeof__(segalloc__op_delete) segalloc__op_delete_here __attribute__((alias(SEGALLOC__CXX_DELETE_NAME), visibility("hidden")));
extern __typeof__(segalloc__op_delete_aligned) segalloc__op_delete_aligned_here __attribute__((alias(SEGALLOC__CXX_DELETE_ALIGNED_NAME), visibility("hidden")));
#define SEGALLOC__CXX_HIDDEN(kind, fn, label) \
  extern __typeof__(fn) fn##_here __attribute__((alias(label), visibility("hidden")));
SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_HIDDEN)
typedef void (*segalloc__cxx_any)(void);
#define SEGALLOC__CXX_HERE(kind, fn, label) (segalloc__cxx_any)fn##_here,
static int segalloc__cxx_is_here(int i, void *f) {
  static const segalloc__cxx_any here[SEGALLOC__CXX_FORMS] = {
      (segalloc__cxx_any)segalloc__op_new_here, (segalloc__cxx_any)segalloc__op_new_aligned_here,
      (segalloc__cxx_any)segalloc__op_delete_here, (segalloc__cxx_any)segalloc__op_delete_aligned_here,
      SEGALLOC__CXX_OTHERS(SEGALLOC__CXX_HERE)};
  segalloc__cxx_any g;
  memcpy(&g, &f, sizeof g);
  return g == here[i];
}

/* Is a C++ runtime in the global symbol search (std::terminate, which libstdc++ and libc++
   both define)? Not in a C program, which need look no further: the lookups below cost
   some 110,000 instructions, 80 % more than all of /bin/true's start-up (144,000, callgrind);
   this one costs 9,000. */
static int segalloc__cxx_runtime_loaded(void) {
  return dlsym(SEGALLOC__RTLD_DEFAULT, "_ZSt9terminatev") != NULL;
}

/* Does the program define any of the twenty forms itself? Either way, with a C++ runtime
   loaded, find its definitions of all twenty now, while the loader is not busy (see the
   top). A form that
   dlsym finds here, at its hidden name's address, needs no dladdr1. */
static segalloc__noinline int segalloc__cxx_resolve(void) {
  segalloc__dl_info self;
  int state = SEGALLOC__CXX_OURS;
  void *da = segalloc__cxx_runtime_loaded() ? dlsym(SEGALLOC__RTLD_DEFAULT, "dladdr") : NULL;
  int (*where)(const void *, segalloc__dl_info *);
  memcpy(&where, &da, sizeof where);
  if (da && where((const void *)&segalloc__cxx_state, &self)) {
    for (int i = 0; i < SEGALLOC__CXX_FORMS && state == SEGALLOC__CXX_OURS; i++) {
      void *f = dlsym(SEGALLOC__RTLD_DEFAULT, segalloc__cxx_names[i]);
      if (f && !segalloc__cxx_is_here(i, f) && segalloc__cxx_defined_elsewhere(f, segalloc__cxx_names[i], &self))
        state = SEGALLOC__CXX_RUNTIME;
    }
  }
  /* every form the runtime defines, now: a new that fails later hands over to the
     runtime's, and a dlsym then could deadlock on the loader's lock, held by a thread in
     dlopen that waits for this one (a library's constructor that joins a thread whose new
     fails) */
  if (da)
    for (int i = 0; i < SEGALLOC__CXX_FORMS; i++) segalloc__cxx_next(i);
  segalloc__store_relaxed(&segalloc__cxx_state, state);
  return state;
}

__attribute__((constructor)) static void segalloc__cxx_init(void) {
  if (segalloc__load_relaxed(&segalloc__cxx_state) == SEGALLOC__CXX_UNSEEN) segalloc__cxx_resolve();
}
#endif /* SEGALLOC_OVERRIDE_NEW */

#endif /* SEGALLOC_OVERRIDE */

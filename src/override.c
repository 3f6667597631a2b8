/* ---- override: the standard names -----------------------------------------------------
   See the design comment at the top of the implementation for an overview.

   With SEGALLOC_OVERRIDE defined where the implementation is compiled, this part defines
   malloc and its relatives, glibc's __libc_* entry points, and (when that file is C++) every
   form of operator new and delete, all mapped onto the segalloc_* functions. Built into a
   shared library (`make preload`) it replaces the system allocator under LD_PRELOAD; linked
   into a program it replaces it for that program. It owns no state.

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

void *malloc(size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_malloc);
void free(void *ptr) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_free);
void *calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_calloc);
void *realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_realloc);
void *__libc_malloc(size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_malloc);
void __libc_free(void *ptr) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_free);
void *__libc_calloc(size_t count, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_calloc);
void *__libc_realloc(void *ptr, size_t size) SEGALLOC__NOEXCEPT SEGALLOC__ALIAS(segalloc_realloc);

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
/* mallinfo2 in segalloc's terms: arena = mapped, uordblks = live, fordblks = free in caches,
   central lists and the page heap, hblkhd = huge blocks, keepcost = released. */
SEGALLOC__EXPORT struct mallinfo2 mallinfo2(void) SEGALLOC__NOEXCEPT {
  segalloc_stats_t st;
  segalloc_stats(&st);
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = st.mapped;
  mi.hblks = 0;
  mi.hblkhd = st.huge_live;
  mi.uordblks = st.live;
  mi.fordblks = st.thread_cached + st.central + st.pageheap_free;
  mi.keepcost = st.released;
  return mi;
}
#endif

#if defined(__cplusplus)
} /* extern "C" */
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
    if (!h) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    if (nothrow) {
      try { h(); } catch (...) { return nullptr; }
    } else {
      h();
    }
  }
}

static segalloc__inline void *segalloc__new(size_t size) {
  void *p = segalloc_malloc(size);
  return segalloc__likely(p != nullptr) ? p : segalloc__new_retry(size, 0, false);
}

SEGALLOC__EXPORT void *operator new(size_t size) { return segalloc__new(size); }
SEGALLOC__EXPORT void *operator new[](size_t size) { return segalloc__new(size); }
SEGALLOC__EXPORT void *operator new(size_t size, const std::nothrow_t &) noexcept {
  void *p = segalloc_malloc(size);
  return p ? p : segalloc__new_retry(size, 0, true);
}
SEGALLOC__EXPORT void *operator new[](size_t size, const std::nothrow_t &) noexcept {
  void *p = segalloc_malloc(size);
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

#endif /* SEGALLOC_OVERRIDE */

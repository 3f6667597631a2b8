/* ---- the OS layer: system calls, locks, errors and metadata ----------------------------
   See the design comment at the top of the implementation for an overview.

   Owns the memory system calls segalloc makes: mmap to map arenas, huge blocks and
   metadata chunks; munmap; madvise to give pages back and to advise on transparent huge
   pages (whose system setting it reads from sysfs once). Above it, the page heap decides *what* to map
   and release; this part only does it and counts it. Memory moves through the states the
   Go runtime names: reserved (an arena's address space, mapped PROT_READ|PROT_WRITE but
   never touched, so it costs no RSS), ready (in use), released (madvised; the mapping stays
   and the pages come back zero when touched again).

   Also here, because every layer uses them: the lock, the fatal-error path (which writes
   with write(2) and never allocates), and the metadata allocator that holds span records,
   thread caches, radix nodes, transfer caches and huge-block records. Metadata lives in its own mappings, never next to user blocks.
   The metadata lock guards the metadata allocator; it is a leaf lock. */

/* ---- locks ---- */

/* The lock word holds the owner's token: the address of a thread-local byte, unique per
   live thread and free to compute. */
static segalloc__thread_local char segalloc__self_byte segalloc__tls_attr;

static segalloc__inline uintptr_t segalloc__self(void) { return (uintptr_t)&segalloc__self_byte; }

static segalloc__cold void segalloc__fatal(const char *what, const void *ptr);

static segalloc__noinline void segalloc__lock_spin(segalloc__lock *l, uintptr_t self) {
  /* This thread holds it already: a signal handler (or a fork's child made from one) called
     into segalloc while the interrupted code was inside it. Waiting would never end; say so
     instead, as glibc does. */
  if (segalloc__load_relaxed(&l->owner) == self)
    segalloc__fatal("called from a signal handler that interrupted segalloc (malloc is not async-signal-safe)", l);
  for (unsigned spins = 0;; spins++) {
    uintptr_t expect = 0;
    if (segalloc__load_relaxed(&l->owner) == 0 &&
        __atomic_compare_exchange_n(&l->owner, &expect, self, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return;
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield(); /* on 2 cores a spinning waiter can starve the holder: let it run */
    }
  }
}

static segalloc__inline void segalloc__lock_acquire(segalloc__lock *l) {
  uintptr_t expect = 0, self = segalloc__self();
  if (segalloc__likely(__atomic_compare_exchange_n(&l->owner, &expect, self, 0, __ATOMIC_ACQUIRE,
                                                   __ATOMIC_RELAXED)))
    return;
  segalloc__lock_spin(l, self);
}

static segalloc__inline void segalloc__lock_release(segalloc__lock *l) {
  segalloc__store(&l->owner, (uintptr_t)0);
}

static segalloc__inline int segalloc__lock_held_by_me(segalloc__lock *l) {
  return segalloc__load_relaxed(&l->owner) == segalloc__self();
}

/* ---- errors: written with write(2), never through stdio (which allocates) ---- */

static void segalloc__write(int fd, const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

/* Decimal or hex into buf (at least 24 bytes); returns buf. */
static char *segalloc__fmt_u(char *buf, uint64_t v, int hex) {
  char tmp[24];
  int n = 0;
  do {
    unsigned d = (unsigned)(hex ? v & 15 : v % 10);
    tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v = hex ? v >> 4 : v / 10;
  } while (v);
  int i = 0;
  if (hex) { buf[i++] = '0'; buf[i++] = 'x'; }
  while (n) buf[i++] = tmp[--n];
  buf[i] = 0;
  return buf;
}

/* A heap error in the program: say what and where, then abort (the stack is the program's
   best clue, so no attempt to carry on). */
static segalloc__cold void segalloc__fatal(const char *what, const void *ptr) {
  char buf[32];
  segalloc__write(2, "segalloc: error: ");
  segalloc__write(2, what);
  segalloc__write(2, ": pointer ");
  segalloc__write(2, segalloc__fmt_u(buf, (uint64_t)(uintptr_t)ptr, 1));
  segalloc__write(2, "\n");
  abort();
}

/* ---- system calls ---- */

/* The OS's page size, read once at the first allocation (segalloc__global_init). It may
   be larger than a segalloc page (SEGALLOC_PAGE_SIZE, 8 KiB by default): arm64 kernels
   are built with 16 KiB pages (Apple silicon) or 64 KiB ones (several server
   distributions). Mappings come in whole OS pages either way; what it changes is what can
   be given back: the page heap releases only the whole OS pages inside a free span
   (pageheap.c), since madvise works on OS pages, and one that straddled a live
   neighbour's pages would zero them. */
static size_t segalloc__os_page = 4096;

static struct {
  uint64_t mapped;      /* bytes mapped for arenas and huge blocks (metadata counted apart) */
  uint64_t releases;    /* madvise calls */
} segalloc__os_stats;

/* Map size bytes aligned to align (a power of two). NULL when the OS says no. The kernel
   often places a mapping right below the previous one, so for an arena (`arena` set)
   first try exactly size bytes at the aligned address below the last arena, and only then
   over-map by align and trim both ends: under a tight `ulimit -v` the over-mapped attempt
   may fail where an exact one fits. Huge blocks do not take that hint: they come and go,
   and each would be placed below the last, so a program that keeps allocating and freeing
   them would walk down the address space rather than reuse the hole the last one left.
   That costs nothing but address space, except under ASan, whose shadow of every range
   touched stays resident: the fuzzer grew by 1.4 MiB an input, to its 2.5 GiB limit. */
static void *segalloc__os_map_at(void *hint, size_t size) {
  void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void *segalloc__os_map(size_t size, size_t align, int arena) {
  static uintptr_t last; /* where the last arena started (SEGALLOC__ADDR_CODE'd): a hint,
                            racy on purpose */
  size_t os_page = segalloc__os_page; /* size and align are multiples of it (callers) */
  if (align < os_page) align = os_page;
  if (size > SIZE_MAX - align) return NULL;
  uintptr_t mask = (uintptr_t)align - 1;
  void *p = NULL;
  uintptr_t hint = __atomic_load_n(&last, __ATOMIC_RELAXED);
  if (hint) hint = SEGALLOC__ADDR_CODE(hint);
  if (arena && align > os_page && hint > size + align) {
    uintptr_t want = (hint - size) & ~mask;
    p = segalloc__os_map_at((void *)want, size);
    if (p && ((uintptr_t)p & mask)) {
      munmap(p, size);
      p = NULL;
    }
  }
  if (!p) {
    size_t span = size + (align > os_page ? align : 0);
    void *q = segalloc__os_map_at(NULL, span);
    if (!q) {
      /* no room to over-map: an exact mapping may still happen to be aligned */
      q = segalloc__os_map_at(NULL, size);
      if (!q) return NULL;
      if ((uintptr_t)q & mask) {
        /* not aligned: the aligned addresses just below and just above it may be free */
        uintptr_t u = (uintptr_t)q;
        munmap(q, size);
        uintptr_t tries[2] = {u & ~mask, (u + mask) & ~mask};
        q = NULL;
        for (int i = 0; i < 2 && !q; i++) {
          q = segalloc__os_map_at((void *)tries[i], size);
          if (q && (uintptr_t)q != tries[i]) {
            munmap(q, size);
            q = NULL;
          }
        }
        if (!q) return NULL;
      }
      span = size;
    }
    uintptr_t start = (uintptr_t)q, aligned = (start + mask) & ~mask;
    if (aligned > start) munmap(q, aligned - start);
    if (start + span > aligned + size) munmap((void *)(aligned + size), start + span - (aligned + size));
    p = (void *)aligned;
  }
  if (arena && align > os_page) __atomic_store_n(&last, SEGALLOC__ADDR_CODE(p), __ATOMIC_RELAXED);
  segalloc__add_relaxed(&segalloc__os_stats.mapped, (uint64_t)size);
  return p;
}

static void segalloc__os_unmap(void *p, size_t size) {
  /* munmap fails when it would split a mapping past the kernel's limit on their number
     (vm.max_map_count): the address space stays taken, but the memory at least goes back */
  int saved = errno;
  if (munmap(p, size) != 0) madvise(p, size, MADV_DONTNEED);
  errno = saved;
  segalloc__add_relaxed(&segalloc__os_stats.mapped, (uint64_t)0 - (uint64_t)size);
}

/* Give the pages back; the mapping stays. With MADV_DONTNEED (the default) RSS falls at
   once and the pages read as zero next time; MADV_FREE lets the kernel take them lazily.
   1 on success; 0 when the kernel refuses, as Linux does for pages locked by mlock or
   mlockall (EINVAL): the pages then keep their contents and stay resident, and the caller
   must not take them for zero or released (calloc would hand out a freed block's old
   bytes). errno is the caller's as it was. */
static int segalloc__os_release(void *p, size_t size) {
#ifdef SEGALLOC_MADV_FREE
  int advice = MADV_FREE;
#else
  int advice = MADV_DONTNEED;
#endif
  int saved = errno;
  if (madvise(p, size, advice) != 0) {
    errno = saved;
    return 0;
  }
  segalloc__add_relaxed(&segalloc__os_stats.releases, 1);
  return 1;
}

/* ---- transparent huge pages ----

   Under the kernel's THP setting "always" (the default of several distributions), the
   first touch of any huge-page-sized, aligned stretch of an anonymous mapping (2 MiB on
   x86-64) may bring in a whole huge page. Arenas are aligned to their size, so an arena's
   header (its page map, sparse) and the first spans beside it become one huge page
   together: measured with the setting on, bench/workloads pairs took 3.5 MiB of peak RSS
   instead of 1.6 and batch_fifo 5.7 instead of 2.7 (glibc's heap, small and not aligned,
   stays as it was). So by default (SEGALLOC_THP 1) segalloc leaves arenas to the system's
   setting, except that when that setting is "always" for huge pages of the PMD size (the
   top-level file, or the per-size one of kernels from 6.8 on) it marks each arena's header
   MADV_NOHUGEPAGE before anything writes to it. The stretch that holds the header's end,
   with the arena's first spans, then stays in small pages; the rest of the arena is left to
   the kernel, which may fault huge pages in as spans are touched and whose khugepaged may
   collapse a sparse stretch too (bringing back pages segalloc released: the `released`
   statistics then overstate what the OS has back). Under "madvise" or "never" it makes no
   call at all: a marked header splits the arena's mapping in two, which the kernel counts
   against vm.max_map_count (two per arena). 0 marks whole arenas and huge blocks
   MADV_NOHUGEPAGE (leanest; more TLB misses on a big heap); 2 marks arenas past their
   header, and huge blocks whole, MADV_HUGEPAGE (huge pages under "madvise" too, for a
   program with a large, dense heap). The SEGALLOC_THP environment variable, read once at
   the first allocation, overrides the macro: never, system or always (or 0, 1, 2).
   Where the system has no madvise advice for huge pages (not Linux), all this is a no-op. */

static __attribute__((unused)) struct {
  int mode;             /* 0 never, 1 system, 2 always (SEGALLOC_THP) */
  int guard_header;     /* mode 1 and the system's setting is "always" */
  int reading;          /* the setting is being read: an arena mapped meanwhile (an open()
                           interposed by the program may allocate) is guarded to be safe */
} segalloc__thp = {SEGALLOC_THP, 0, 0};

#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
/* The first line of a small sysfs file into buf (NUL-terminated); 0 when it cannot be read. */
static int segalloc__os_read_line(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  return 1;
}

/* The system's THP setting is "always" for huge pages of the PMD size: the per-size file
   says "[always]", or "[inherit]" (or is missing, before 6.8) and the top-level one says
   "[always]" ("[always] madvise never"). */
#define SEGALLOC__THP_SYSFS "/sys/kernel/mm/transparent_hugepage/"
static int segalloc__os_thp_always(void) {
  char buf[96], path[160], num[24];
  int top = segalloc__os_read_line(SEGALLOC__THP_SYSFS "enabled", buf, sizeof buf) && strstr(buf, "[always]") != NULL;
  if (!segalloc__os_read_line(SEGALLOC__THP_SYSFS "hpage_pmd_size", buf, sizeof buf)) return top;
  uint64_t bytes = 0;
  for (const char *c = buf; *c >= '0' && *c <= '9'; c++) bytes = bytes * 10 + (uint64_t)(*c - '0');
  /* SEGALLOC__THP_SYSFS "hugepages-<N>kB/enabled", without a formatting call that might
     allocate */
  size_t n = 0;
  const char *parts[3] = {SEGALLOC__THP_SYSFS "hugepages-", segalloc__fmt_u(num, bytes >> 10, 0), "kB/enabled"};
  for (int i = 0; i < 3; i++)
    for (const char *c = parts[i]; *c && n < sizeof path - 1; c++) path[n++] = *c;
  path[n] = 0;
  if (!segalloc__os_read_line(path, buf, sizeof buf)) return top;
  return strstr(buf, "[always]") != NULL || (strstr(buf, "[inherit]") != NULL && top);
}

/* Called once, from global_init: the mode from the environment, then what the system does.
   errno is the caller's as it was: a missing sysfs file is no error of the malloc that
   happened to come first. */
static void segalloc__os_thp_init(void) {
  int saved = errno;
  const char *v = getenv("SEGALLOC_THP");
  if (v && *v) {
    if (!strcmp(v, "never") || !strcmp(v, "0")) segalloc__thp.mode = 0;
    else if (!strcmp(v, "system") || !strcmp(v, "1")) segalloc__thp.mode = 1;
    else if (!strcmp(v, "always") || !strcmp(v, "2")) segalloc__thp.mode = 2;
    else segalloc__write(2, "segalloc: warning: SEGALLOC_THP is not never, system or always (or 0, 1, 2); ignored\n");
  }
  if (segalloc__thp.mode == 1) {
    segalloc__thp.reading = 1;
    segalloc__thp.guard_header = segalloc__os_thp_always();
    segalloc__thp.reading = 0;
  }
  errno = saved;
}

/* A new arena at base, size bytes, whose first header bytes hold its page map; before
   anything writes to it. */
static void segalloc__os_thp_arena(uintptr_t base, size_t size, size_t header) {
  if (segalloc__thp.mode == 0) madvise((void *)base, size, MADV_NOHUGEPAGE);
  else if (segalloc__thp.mode == 2) {
    /* from the first OS page past the header (an OS page may be larger than a segalloc one) */
    uintptr_t from = (base + header + segalloc__os_page - 1) & ~(uintptr_t)(segalloc__os_page - 1);
    madvise((void *)from, size - (from - base), MADV_HUGEPAGE);
  }
  else if (segalloc__thp.guard_header || segalloc__thp.reading) madvise((void *)base, header, MADV_NOHUGEPAGE);
}

/* A new huge block's mapping, before the program has it. */
static void segalloc__os_thp_huge(void *p, size_t size) {
  if (segalloc__thp.mode == 0) madvise(p, size, MADV_NOHUGEPAGE);
  else if (segalloc__thp.mode == 2) madvise(p, size, MADV_HUGEPAGE);
}
#else
static __attribute__((unused)) int segalloc__os_thp_always(void) { return 0; }
static void segalloc__os_thp_init(void) {}
static void segalloc__os_thp_arena(uintptr_t base, size_t size, size_t header) { (void)base; (void)size; (void)header; }
static void segalloc__os_thp_huge(void *p, size_t size) { (void)p; (void)size; }
#endif

/* ---- metadata: span records, thread caches, radix nodes, transfer caches, huge records ---- */

#define SEGALLOC__META_CHUNK ((size_t)256 * 1024)

static struct {
  segalloc__lock lock;
  char *cur, *end;             /* bump region of the current chunk */
  segalloc__span *free_spans;  /* span records to reuse */
  uint64_t bytes;              /* mapped for metadata chunks (arena headers are counted by
                                  the page heap, pageheap.c) */
} segalloc__meta;

/* Zeroed memory for the allocator's own use; NULL when the OS says no. Never freed: span
   records are recycled through their own list, and the rest lives as long as the process. */
static void *segalloc__meta_alloc_locked(size_t size) {
  size = (size + 63) & ~(size_t)63; /* cache-line multiples: no false sharing between records */
  if ((size_t)(segalloc__meta.end - segalloc__meta.cur) < size) {
    size_t chunk = size > SEGALLOC__META_CHUNK ? size : SEGALLOC__META_CHUNK;
    char *c = (char *)mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == (char *)MAP_FAILED) return NULL;
    segalloc__meta.bytes += chunk;
    segalloc__meta.cur = c;
    segalloc__meta.end = c + chunk;
  }
  void *p = segalloc__meta.cur;
  segalloc__meta.cur += size;
  return p;
}

static void *segalloc__meta_alloc(size_t size) {
  segalloc__lock_acquire(&segalloc__meta.lock);
  void *p = segalloc__meta_alloc_locked(size);
  segalloc__lock_release(&segalloc__meta.lock);
  return p;
}

static segalloc__span *segalloc__span_new(void) {
  segalloc__lock_acquire(&segalloc__meta.lock);
  segalloc__span *s = segalloc__meta.free_spans;
  if (s) segalloc__meta.free_spans = s->next;
  else s = (segalloc__span *)segalloc__meta_alloc_locked(sizeof(segalloc__span));
  segalloc__lock_release(&segalloc__meta.lock);
  if (s) memset(s, 0, sizeof *s);
  return s;
}

static void segalloc__span_delete(segalloc__span *s) {
  s->state = 0;
  segalloc__lock_acquire(&segalloc__meta.lock);
  s->next = segalloc__meta.free_spans;
  segalloc__meta.free_spans = s;
  segalloc__lock_release(&segalloc__meta.lock);
}

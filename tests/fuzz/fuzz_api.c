/* fuzz_api.c: a libFuzzer harness for the whole segalloc_* API.

   The input is read as a program: each step takes an opcode byte and the bytes it needs
   (slot numbers, size choices, alignments), and calls one API function. A shadow model of
   at most 64 live blocks (pointer, requested size, alignment, fill byte) is checked as it
   goes:
     - every allocation that can succeed does, usable_size >= the request, the alignment
       is what was asked (16 bytes from 16-byte requests, the power of two for the aligned
       calls, the OS page for valloc/pvalloc, memalign's rounded-up alignment);
     - a block keeps its contents (a position-dependent pattern) until it is freed, and
       realloc carries min(old, new) bytes over; calloc's memory reads zero; some blocks
       are left unwritten but for their first byte (a program using a little of a big
       buffer), so realloc copies whatever the allocator left in them, and a later free
       must still be accepted;
     - overflowing sizes give NULL and ENOMEM (posix_memalign: ENOMEM and *out untouched),
       and the block handed to a failing realloc/reallocarray is untouched;
     - a bad alignment gives NULL and EINVAL (posix_memalign: EINVAL, *out untouched);
     - the statistics always add up (mapped = live + thread_cached + central +
       pageheap_free + released + metadata), live covers the model's blocks, trim leaves
       nothing cached or resident-free, and at the end of each input, with every block
       freed, live and mallocs - frees are back where they were.
   The harness never misuses the heap itself: each slot is freed exactly once, with its
   own pointer, so any "segalloc: error:" abort is a finding.

   Build and run (tests/run_fuzz.sh does this):
     clang -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_api.c -o fuzz_api
     ./fuzz_api -max_total_time=60 CORPUS_DIR
   Without libFuzzer (any compiler), -DFUZZ_STANDALONE gives a main that runs the files
   named on the command line once each, to replay a corpus or a crash. */
#define SEGALLOC_IMPLEMENTATION
#include "../../segalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define NSLOTS 64
#define LIVE_BUDGET (384 * MiB)  /* the model never holds more than this */
#define DENSE_MAX (64 * KiB)     /* blocks up to this are patterned in full */
#define EDGE 4096                /* bigger ones at both ends and every stride bytes */

typedef struct {
  unsigned char *p;
  size_t size;     /* requested */
  size_t known;    /* the pattern covers [0, known): size, or 1 for a block the program
                      never wrote beyond its first byte (its other bytes are whatever the
                      allocator left there, and realloc copies them) */
  size_t align;    /* what the call promised (informational, for free_aligned_sized) */
  unsigned char fill;
} slot_t;

static slot_t slots[NSLOTS];
static size_t model_bytes; /* sum of requested sizes of live slots */
static size_t os_page;
static int devnull = -1;

/* The pattern loops are the harness's own hot code: keep libFuzzer's comparison tracing
   out of them (it would cost most of the run and guide nothing). */
#if defined(__clang__) && __clang_major__ >= 13
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

/* ---- failing ---- */

static void fail(const char *what, size_t a, size_t b) {
  fprintf(stderr, "fuzz_api: FAILED: %s (%zu, %zu)\n", what, a, b);
  segalloc_print_stats(2);
  abort();
}
#define REQUIRE(cond, a, b) \
  do {                      \
    if (!(cond)) fail(#cond, (size_t)(a), (size_t)(b)); \
  } while (0)

/* ---- reading the input ---- */

typedef struct {
  const uint8_t *d;
  size_t n, i;
} input_t;

static unsigned u8(input_t *in) { return in->i < in->n ? in->d[in->i++] : 0; }
static unsigned u16(input_t *in) { unsigned a = u8(in); return a | u8(in) << 8; }
static uint32_t u32(input_t *in) { uint32_t a = u16(in); return a | (uint32_t)u16(in) << 16; }

/* ---- patterns ---- */

static unsigned char pat(unsigned char fill, size_t i) {
  return (unsigned char)(fill ^ (i * 0x9d) ^ (i >> 9));
}

/* Sparse enough that big blocks do not cost a page fault per page (page faults are most
   of a run's time), dense enough to catch overlap with anything of a page or more. */
static size_t stride_for(size_t n) { return n > 32 * MiB ? 262139 : n > MiB ? 32749 : 4093; }

/* Call fn on every patterned position of a block of n bytes below lim. */
#define FOR_PATTERN(n, lim, i, body)                                                  \
  do {                                                                                \
    size_t n_ = (n), lim_ = (lim) < n_ ? (lim) : n_;                                  \
    if (n_ <= DENSE_MAX) {                                                            \
      for (size_t i = 0; i < lim_; i++) body;                                         \
    } else {                                                                          \
      for (size_t i = 0; i < EDGE && i < lim_; i++) body;                             \
      size_t st_ = stride_for(n_);                                                    \
      for (size_t i = EDGE; i < n_ - EDGE && i < lim_; i += st_) body;                \
      for (size_t i = n_ - EDGE; i < lim_; i++) body;                                 \
    }                                                                                 \
  } while (0)

/* Pattern the requested bytes, and scribble on the slack up to usable_size too: the
   program may use it, and if it overlapped another block, that block's check would fail. */
NO_COVERAGE static void fill_block(unsigned char *p, size_t n, unsigned char f) {
  FOR_PATTERN(n, n, i, p[i] = pat(f, i));
  size_t u = segalloc_usable_size(p);
  for (size_t i = n; i < u && i < n + 64; i++) p[i] = 0xee;
  if (u > n) p[u - 1] = 0xee;
}

NO_COVERAGE static void check_block(const unsigned char *p, size_t n, unsigned char f, size_t lim, const char *when) {
  FOR_PATTERN(n, lim, i, if (p[i] != pat(f, i)) {
    fprintf(stderr, "fuzz_api: block %p of %zu bytes corrupt at %zu (%s): %02x, expected %02x\n", (const void *)p, n, i,
            when, p[i], pat(f, i));
    fail("contents kept", n, i);
  });
}

NO_COVERAGE static void check_zero(const unsigned char *p, size_t n) {
  FOR_PATTERN(n, n, i, if (p[i] != 0) fail("calloc memory is zero", n, i));
}

/* ---- the model ---- */

static int min_align_ok(const void *p, size_t n) {
  uintptr_t a = (uintptr_t)p;
  if (n >= 16) return a % 16 == 0;
  if (n >= 8) return a % 8 == 0;
  return 1;
}

NO_COVERAGE static void check_new(void *p, size_t n, size_t align) {
  REQUIRE(p != NULL, n, align);
  REQUIRE(align == 0 || (uintptr_t)p % align == 0, (uintptr_t)p, align);
  REQUIRE(min_align_ok(p, n), (uintptr_t)p, n);
  REQUIRE(segalloc_usable_size(p) >= n, segalloc_usable_size(p), n);
  /* a new block must not be one the model holds */
  for (int i = 0; i < NSLOTS; i++) REQUIRE(slots[i].p != p, i, (uintptr_t)p);
}

/* lazy: write only the first byte, as a program that uses a little of a big buffer does */
static void put(int s, void *p, size_t n, size_t align, unsigned char f, int zeroed, int lazy) {
  check_new(p, n, align);
  if (zeroed) check_zero((unsigned char *)p, n);
  if (lazy) {
    if (n) ((unsigned char *)p)[0] = pat(f, 0);
  } else {
    fill_block((unsigned char *)p, n, f);
  }
  slots[s].p = (unsigned char *)p;
  slots[s].size = n;
  slots[s].known = lazy && n ? 1 : n;
  slots[s].align = align;
  slots[s].fill = f;
  model_bytes += n;
}

static void drop(int s) {
  model_bytes -= slots[s].size;
  slots[s].p = NULL;
  slots[s].size = 0;
}

static void verify_slot(int s, const char *when) {
  if (!slots[s].p) return;
  REQUIRE(segalloc_usable_size(slots[s].p) >= slots[s].size, segalloc_usable_size(slots[s].p), slots[s].size);
  check_block(slots[s].p, slots[s].size, slots[s].fill, slots[s].known, when);
}

/* Free slot s in one of the ways the API offers; how picks the way. */
static void free_slot(int s, unsigned how) {
  if (!slots[s].p) return;
  verify_slot(s, "before free");
  void *p = slots[s].p;
  size_t n = slots[s].size, al = slots[s].align;
  drop(s);
  switch (how % 4) {
    case 0: case 1: segalloc_free(p); break;
    case 2: segalloc_free_sized(p, n); break;
    default: segalloc_free_aligned_sized(p, al ? al : 16, n); break;
  }
}

/* ---- choosing arguments ---- */

/* A size that must succeed, or (size_t)-1 when it would push the model over its budget. */
static size_t pick_size(input_t *in) {
  unsigned k = u8(in);
  size_t n;
  if (k < 110) {
    n = u16(in) % 1025;
  } else if (k < 180) {
    n = u16(in) % (32 * KiB + 1);
  } else if (k < 205) {
    /* on or next to a size-class boundary */
    segalloc_stats_t st;
    segalloc_stats(&st);
    unsigned c = 1 + u8(in) % (unsigned)(st.nclasses - 1);
    n = st.classes[c].size + (size_t)(u8(in) % 3) - 1;
  } else if (k < 225) {
    n = 32 * KiB + 1 + u32(in) % (224 * KiB); /* large: page-heap spans */
  } else if (k < 240) {
    n = 32 * KiB + 1 + u32(in) % (4 * MiB);
  } else if (k < 255) {
    n = (size_t)(u8(in) % 64 + 1) * 8192 + (size_t)(u8(in) % 3) - 1; /* around whole pages */
  } else {
    /* huge: a mapping of its own (rare: each costs an mmap and, in realloc, a big copy) */
    n = 32 * MiB - 4096 + (size_t)(u32(in) % (64 * MiB));
  }
  if (model_bytes + n > LIVE_BUDGET) return (size_t)-1;
  return n;
}

/* A size no allocation can satisfy: past PTRDIFF_MAX, or beyond any address space. */
static size_t pick_overflow(input_t *in) {
  switch (u8(in) % 7) {
    case 0: return SIZE_MAX;
    case 1: return SIZE_MAX - u16(in);
    case 2: return (size_t)PTRDIFF_MAX + 1 + u16(in);
    case 3: return (size_t)PTRDIFF_MAX - u16(in);
    case 4: return ((size_t)1 << 60) + u32(in);
    case 5: return ((size_t)1 << 63) + ((size_t)u32(in) << 20);
    default: return SIZE_MAX / 2 + 1 + u8(in);
  }
}

/* A valid alignment: 1 .. 1 MiB, mostly small. */
static size_t pick_align(input_t *in) {
  unsigned k = u8(in);
  unsigned shift = k < 200 ? k % 13 : k % 21; /* up to 4 KiB often, up to 1 MiB sometimes */
  return (size_t)1 << shift;
}

/* An alignment aligned_alloc must reject (not a power of two). */
static size_t pick_bad_align(input_t *in) {
  static const size_t bad[] = {0, 3, 5, 6, 12, 24, 48, 100, 1000, 12288, 65537, SIZE_MAX, ((size_t)1 << 63) | 1};
  unsigned k = u8(in);
  if (k < 200) return bad[k % (sizeof bad / sizeof *bad)];
  size_t a = u32(in);
  return (a & (a - 1)) ? a : a * 3 + 3; /* 3 * 2^k + 3 is never a power of two (and never 0) */
}

static size_t next_pow2(size_t a) {
  size_t r = 1;
  while (r < a) r <<= 1;
  return r;
}

/* ---- the statistics ---- */

static void stats_check(segalloc_stats_t *st, size_t live_base) {
  segalloc_stats(st);
  REQUIRE(st->mapped == st->live + st->thread_cached + st->central + st->pageheap_free + st->released + st->metadata,
          st->mapped, st->live);
  REQUIRE(st->live >= live_base + model_bytes, st->live, model_bytes);
  REQUIRE(st->large_live + st->huge_live <= st->live, st->large_live, st->huge_live);
  REQUIRE(st->frees <= st->mallocs, st->frees, st->mallocs);
}

/* ---- the steps ---- */

enum {
  OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_REALLOCARRAY, OP_FREE, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN,
  OP_MEMALIGN, OP_VALLOC, OP_PVALLOC, OP_USABLE, OP_OVERFLOW, OP_BAD_ALIGN, OP_REALLOC_ZERO,
  OP_HOUSEKEEPING, OP_STATS
};

/* opcode byte -> step, weighted towards malloc and free */
static int decode_op(unsigned b) {
  if (b < 40) return OP_MALLOC;
  if (b < 56) return OP_CALLOC;
  if (b < 80) return OP_REALLOC;
  if (b < 88) return OP_REALLOCARRAY;
  if (b < 140) return OP_FREE;
  if (b < 152) return OP_ALIGNED_ALLOC;
  if (b < 164) return OP_POSIX_MEMALIGN;
  if (b < 176) return OP_MEMALIGN;
  if (b < 182) return OP_VALLOC;
  if (b < 188) return OP_PVALLOC;
  if (b < 206) return OP_USABLE;
  if (b < 220) return OP_OVERFLOW;
  if (b < 232) return OP_BAD_ALIGN;
  if (b < 238) return OP_REALLOC_ZERO;
  if (b < 244) return OP_HOUSEKEEPING;
  return OP_STATS;
}

static void step(input_t *in, size_t live_base) {
  int op = decode_op(u8(in));
  int s = (int)(u8(in) % NSLOTS);
  unsigned char f = (unsigned char)u8(in);
  switch (op) {
    case OP_MALLOC: {
      size_t n = pick_size(in);
      if (n == (size_t)-1) break;
      if (slots[s].p) free_slot(s, f);
      put(s, segalloc_malloc(n), n, 0, f, 0, (f & 0xe0) == 0xe0);
      break;
    }
    case OP_CALLOC: {
      size_t n = pick_size(in);
      if (n == (size_t)-1) break;
      /* as count * size: split n into a factor pair when it has one */
      size_t count = 1, size = n;
      unsigned d = 1 + u8(in) % 16;
      if (n % d == 0) { count = d; size = n / d; }
      if (u8(in) & 1) { size_t t = count; count = size; size = t; }
      if (slots[s].p) free_slot(s, f);
      put(s, segalloc_calloc(count, size), n, 0, f, 1, 0);
      break;
    }
    case OP_REALLOC:
    case OP_REALLOCARRAY: {
      size_t n = pick_size(in);
      if (n == (size_t)-1) break;
      void *old = slots[s].p;
      size_t oldn = slots[s].size, oldknown = slots[s].known;
      if (old) verify_slot(s, "before realloc");
      void *q;
      if (op == OP_REALLOC) {
        q = segalloc_realloc(old, n);
      } else {
        size_t count = 1, size = n;
        unsigned d = 1 + u8(in) % 8;
        if (n % d == 0) { count = n / d; size = d; }
        q = segalloc_reallocarray(old, count, size);
      }
      REQUIRE(q != NULL, n, oldn);
      if (old) {
        /* the old block's pattern survives up to the smaller size */
        check_block((unsigned char *)q, oldn, slots[s].fill, n < oldknown ? n : oldknown, "after realloc");
        drop(s);
      }
      put(s, q, n, 0, f, 0, (f & 0xe0) == 0xe0);
      break;
    }
    case OP_FREE:
      if (!slots[s].p) {
        segalloc_free(NULL); /* harmless, and part of the API */
        break;
      }
      free_slot(s, f);
      break;
    case OP_ALIGNED_ALLOC:
    case OP_POSIX_MEMALIGN:
    case OP_MEMALIGN: {
      size_t a = pick_align(in);
      size_t n = pick_size(in);
      if (n == (size_t)-1) break;
      if (slots[s].p) free_slot(s, f);
      void *p = NULL;
      size_t promised = a;
      if (op == OP_ALIGNED_ALLOC) {
        p = segalloc_aligned_alloc(a, n);
      } else if (op == OP_POSIX_MEMALIGN) {
        if (a < sizeof(void *)) a = promised = sizeof(void *);
        void *out = (void *)&slots; /* a sentinel: must be replaced */
        int rc = segalloc_posix_memalign(&out, a, n);
        REQUIRE(rc == 0, rc, a);
        REQUIRE(out != (void *)&slots, a, n);
        p = out;
      } else {
        /* memalign accepts any alignment and rounds it up to a power of two */
        if (u8(in) & 1) a = a + u8(in) % (a > 2 ? a - 1 : 2);
        promised = next_pow2(a ? a : 1);
        p = segalloc_memalign(a, n);
      }
      put(s, p, n, promised, f, 0, (f & 0xe0) == 0xe0);
      break;
    }
    case OP_VALLOC:
    case OP_PVALLOC: {
      size_t n = pick_size(in);
      if (n == (size_t)-1) break;
      if (slots[s].p) free_slot(s, f);
      void *p = op == OP_VALLOC ? segalloc_valloc(n) : segalloc_pvalloc(n);
      if (op == OP_PVALLOC) {
        size_t rounded = n ? (n + os_page - 1) / os_page * os_page : os_page;
        REQUIRE(p != NULL && segalloc_usable_size(p) >= rounded, n, rounded);
      }
      put(s, p, n, os_page, f, 0, (f & 0xe0) == 0xe0);
      break;
    }
    case OP_USABLE:
      if (slots[s].p) {
        verify_slot(s, "usable_size");
        fill_block(slots[s].p, slots[s].size, slots[s].fill); /* rewrite it all, and the slack */
        slots[s].known = slots[s].size;
      } else {
        REQUIRE(segalloc_usable_size(NULL) == 0, 0, 0);
      }
      break;
    case OP_OVERFLOW: {
      size_t big = pick_overflow(in);
      unsigned which = u8(in) % 11;
      void *old = slots[s].p;
      size_t oldu = old ? segalloc_usable_size(old) : 0;
      void *r = (void *)1;
      int rc = 0;
      errno = 0;
      switch (which) {
        case 0: r = segalloc_malloc(big); break;
        case 1: r = segalloc_calloc(1, big); break;
        case 2: r = segalloc_calloc(big, 1 + u8(in) % 64 + 1); break; /* count * size wraps or is huge */
        case 3: r = segalloc_calloc(((size_t)1 << 33) + u16(in), ((size_t)1 << 33) + u16(in)); break;
        case 4: r = segalloc_realloc(old, big); break;
        case 5: r = segalloc_reallocarray(old, big, 2 + u8(in) % 100); break;
        case 6: r = segalloc_aligned_alloc(pick_align(in), big); break;
        case 7: {
          void *out = (void *)&slots;
          size_t a = pick_align(in);
          rc = segalloc_posix_memalign(&out, a < sizeof(void *) ? sizeof(void *) : a, big);
          REQUIRE(rc == ENOMEM, rc, big);
          REQUIRE(out == (void *)&slots, big, 0); /* *out only written on success */
          r = NULL;
          errno = ENOMEM;
          break;
        }
        case 8: r = segalloc_memalign(pick_align(in), big); break;
        case 9: r = segalloc_valloc(big); break;
        default: r = segalloc_pvalloc(big); break;
      }
      REQUIRE(r == NULL, which, big);
      REQUIRE(errno == ENOMEM, which, errno);
      if (old) { /* untouched by the failed realloc/reallocarray */
        REQUIRE(segalloc_usable_size(old) == oldu, which, oldu);
        verify_slot(s, "after a failed call");
      }
      break;
    }
    case OP_BAD_ALIGN: {
      size_t n = u16(in) % 5000;
      unsigned which = u8(in) % 3;
      if (which == 0) {
        size_t a = pick_bad_align(in);
        errno = 0;
        void *r = segalloc_aligned_alloc(a, n);
        REQUIRE(r == NULL && errno == EINVAL, a, n);
      } else if (which == 1) {
        /* not a power of two, or smaller than a pointer */
        static const size_t bad[] = {0, 1, 2, 4, 3, 12, 24, 40, 96, 4095, 4097, SIZE_MAX};
        size_t a = u8(in) < 200 ? bad[u8(in) % (sizeof bad / sizeof *bad)] : pick_bad_align(in);
        if (a >= sizeof(void *) && (a & (a - 1)) == 0) a = 24;
        void *out = (void *)&slots;
        int rc = segalloc_posix_memalign(&out, a, n);
        REQUIRE(rc == EINVAL && out == (void *)&slots, a, rc);
      } else {
        /* memalign, as glibc's: past SIZE_MAX / 2 + 1 an alignment is EINVAL; from 2^62 up to
           that it rounds up to 2^62 or 2^63, which no block can have (ENOMEM) */
        uint32_t k = u32(in);
        int einval = k & 1;
        size_t a = einval ? SIZE_MAX / 2 + 2 + k : ((size_t)1 << 62) + k;
        errno = 0;
        void *r = segalloc_memalign(a, n);
        REQUIRE(r == NULL && errno == (einval ? EINVAL : ENOMEM), a, n);
      }
      if (slots[s].p) verify_slot(s, "after a bad alignment");
      break;
    }
    case OP_REALLOC_ZERO:
      if (slots[s].p) {
        verify_slot(s, "before realloc(p, 0)");
        void *q = segalloc_realloc(slots[s].p, 0); /* frees p, returns a fresh minimal block */
        drop(s);
        put(s, q, 0, 0, f, 0, 0);
      }
      break;
    case OP_HOUSEKEEPING: {
      unsigned k = u8(in) % 4;
      if (k == 0) {
        segalloc_trim();
        segalloc_stats_t st;
        stats_check(&st, live_base);
        REQUIRE(st.thread_cached == 0, st.thread_cached, 0);
        REQUIRE(st.pageheap_free == 0, st.pageheap_free, 0);
      } else if (k == 1) {
        segalloc_thread_flush();
        segalloc_stats_t st;
        stats_check(&st, live_base);
        REQUIRE(st.thread_cached == 0, st.thread_cached, 0);
      } else if (k == 2) {
        if (devnull >= 0) segalloc_print_stats(devnull);
      } else {
        for (int i = 0; i < NSLOTS; i++) verify_slot(i, "sweep");
      }
      break;
    }
    default: { /* OP_STATS */
      segalloc_stats_t st;
      stats_check(&st, live_base);
      break;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!os_page) {
    long pg = sysconf(_SC_PAGESIZE);
    os_page = pg > 0 ? (size_t)pg : 4096;
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    REQUIRE(strncmp(segalloc_version(), "segalloc", 8) == 0, 0, 0);
    /* one malloc and free before anything else, as any program's start-up does: the
       inputs then explore the heap, not the first-call path (tests/misuse.c and
       tests/test_faults.c firstcall cover free(NULL) and the rest as a thread's first
       calls) */
    segalloc_free(segalloc_malloc(1));
  }
  segalloc_stats_t start, end;
  segalloc_stats(&start);
  REQUIRE(model_bytes == 0, model_bytes, 0);
  input_t in = {data, size, 0};
  while (in.i < in.n) step(&in, start.live);
  for (int i = 0; i < NSLOTS; i++) free_slot(i, (unsigned)i);
  REQUIRE(model_bytes == 0, model_bytes, 0);
  stats_check(&end, start.live);
  REQUIRE(end.live == start.live, end.live, start.live);
  REQUIRE(end.mallocs - end.frees == start.mallocs - start.frees, end.mallocs - end.frees, start.mallocs - start.frees);
  REQUIRE(end.large_live == start.large_live && end.huge_live == start.huge_live, end.large_live, end.huge_live);
  return 0;
}

#ifdef FUZZ_STANDALONE
/* Replay: run each file named on the command line as one input. */
int main(int argc, char **argv) {
  int ran = 0;
  for (int a = 1; a < argc; a++) {
    FILE *fp = fopen(argv[a], "rb");
    if (!fp) { perror(argv[a]); return 2; }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, n);
    ran++;
  }
  printf("fuzz_api: %d inputs ran clean\n", ran);
  return 0;
}
#endif

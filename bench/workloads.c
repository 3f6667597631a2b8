/* workloads.c - allocator benchmark workloads for segalloc (issue 5).
 *
 * Usage:  workloads NAME [SCALE]     run one workload; SCALE multiplies the iteration
 *                                    count (default 1.0; run.py --quick passes less)
 *         workloads list             print the workload names
 *         workloads which            print the shared object that provides malloc
 *
 * Only the standard malloc/free/realloc API is used, so the same binary runs under
 * LD_PRELOAD of any allocator (or linked with segalloc compiled in: segalloc_impl.c).
 * Each workload prints one line:
 *
 *     NAME seconds=S checksum=C [extra=...]
 *
 * seconds is the wall time of the workload proper (not process start-up or exit).
 * Everything is driven by a seeded PRNG, so the checksum is the same under every
 * allocator (it never depends on addresses); run.py compares it across allocators.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------------------- */
/* helpers                                                                               */

typedef unsigned char u8;

/* Make the compiler believe p is used and memory may have been read or written: it may
 * not elide a malloc/free pair or the stores into the block. */
static inline void escape(void *p) {
#if defined(__GNUC__)
  __asm__ volatile("" : : "r"(p) : "memory");
#else
  static void *volatile sink;
  sink = p;
#endif
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: small, fast, good enough for choosing sizes and slots */
typedef struct { uint64_t s; } rng_t;
static inline uint64_t rng_next(rng_t *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline uint64_t rng_below(rng_t *r, uint64_t n) { return rng_next(r) % n; }
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi) { /* inclusive */
  return lo + (size_t)rng_below(r, (uint64_t)(hi - lo + 1));
}
static rng_t rng_seed(uint64_t seed) {
  rng_t r = {seed * 0x2545F4914F6CDD1Dull + 12345u};
  rng_next(&r);
  return r;
}

/* The "typical program" size mix: mostly small, some medium, a few up to 32 KiB. */
static inline size_t mixed_size(rng_t *r) {
  uint64_t x = rng_below(r, 100);
  if (x < 60) return rng_range(r, 16, 128);
  if (x < 92) return rng_range(r, 129, 1024);
  return rng_range(r, 1025, 32768);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "workloads: malloc(%zu) returned NULL\n", n);
    exit(3);
  }
  return p;
}

static void *xrealloc(void *q, size_t n) {
  void *p = realloc(q, n);
  if (!p) {
    fprintf(stderr, "workloads: realloc(%zu) returned NULL\n", n);
    exit(3);
  }
  return p;
}

static void fail(const char *what) {
  fprintf(stderr, "workloads: %s\n", what);
  exit(4);
}

static long iters(double base, double scale) {
  long n = (long)(base * scale);
  return n < 1 ? 1 : n;
}

/* a block carries its size and a tag in its first 16 bytes (every size used is >= 16).
   Only the ends are written, so pages in the middle of a large block stay untouched; built
   with -DWORKLOADS_TOUCH_ALL the whole block is written first, which shows what round-up
   waste costs a program that fills its blocks (tools/mksizeclasses.py quotes both). */
static inline void stamp(u8 *p, size_t size, uint64_t tag) {
#ifdef WORKLOADS_TOUCH_ALL
  memset(p, (int)(tag & 0xff), size);
#endif
  uint64_t s = size;
  memcpy(p, &s, 8);
  memcpy(p + 8, &tag, 8);
  p[size - 1] = (u8)tag;
}
static inline uint64_t check(const u8 *p) { /* returns a contribution to the checksum */
  uint64_t s, tag;
  memcpy(&s, p, 8);
  memcpy(&tag, p + 8, 8);
  if (p[s - 1] != (u8)tag) fail("block contents corrupted");
  return s * 31u + tag;
}

typedef struct {
  uint64_t checksum;
  double seconds;
  char extra[96];
} result_t;

/* ------------------------------------------------------------------------------------- */
/* pairs: malloc immediately followed by free, one size at a time                         */

static void w_pairs(double scale, result_t *res) {
  static const size_t sizes[] = {16, 32, 64, 128, 256, 512, 1024, 4096, 8192};
  long n = iters(1.2e6, scale);
  uint64_t sum = 0;
  double t0 = now();
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t sz = sizes[k];
    for (long i = 0; i < n; i++) {
      u8 *p = xmalloc(sz);
      p[0] = (u8)i;
      p[sz - 1] = (u8)k;
      escape(p);
      sum += (uint64_t)p[0] + p[sz - 1];
      free(p);
    }
  }
  res->seconds = now() - t0;
  res->checksum = sum;
}

/* ------------------------------------------------------------------------------------- */
/* batch_*: 256 allocations of mixed sizes, then all freed in LIFO/FIFO/random order      */

enum { BATCH = 256 };
enum order { LIFO, FIFO, RANDOM };

static void w_batch(double scale, result_t *res, enum order ord) {
  long nbatches = iters(9000, scale);
  rng_t r = rng_seed(100 + (uint64_t)ord);
  u8 *blk[BATCH];
  unsigned idx[BATCH];
  uint64_t sum = 0;
  double t0 = now();
  for (long b = 0; b < nbatches; b++) {
    for (unsigned i = 0; i < BATCH; i++) {
      size_t sz = mixed_size(&r);
      blk[i] = xmalloc(sz);
      stamp(blk[i], sz, (uint64_t)b * BATCH + i);
    }
    if (ord == RANDOM) {
      for (unsigned i = 0; i < BATCH; i++) idx[i] = i;
      for (unsigned i = BATCH - 1; i > 0; i--) {
        unsigned j = (unsigned)rng_below(&r, i + 1);
        unsigned t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
    }
    for (unsigned i = 0; i < BATCH; i++) {
      unsigned j = ord == LIFO ? BATCH - 1 - i : ord == FIFO ? i : idx[i];
      sum += check(blk[j]);
      free(blk[j]);
    }
  }
  res->seconds = now() - t0;
  res->checksum = sum;
}

static void w_batch_lifo(double s, result_t *r) { w_batch(s, r, LIFO); }
static void w_batch_fifo(double s, result_t *r) { w_batch(s, r, FIFO); }
static void w_batch_random(double s, result_t *r) { w_batch(s, r, RANDOM); }

/* ------------------------------------------------------------------------------------- */
/* realloc_grow: strings grown by small appends, vectors grown by doubling                */

static void w_realloc_grow(double scale, result_t *res) {
  enum { NSTR = 16, NVEC = 8 };
  long rounds = iters(300, scale);
  rng_t r = rng_seed(7);
  uint64_t sum = 0;
  double t0 = now();
  for (long rd = 0; rd < rounds; rd++) {
    /* NSTR strings appended to round-robin, so neighbours get in the way of growing in
     * place; each ends somewhere between 2 and 12 KiB. */
    char *str[NSTR];
    size_t len[NSTR], goal[NSTR];
    for (int i = 0; i < NSTR; i++) {
      str[i] = NULL;
      len[i] = 0;
      goal[i] = rng_range(&r, 2048, 12288);
    }
    for (int live = NSTR; live > 0;) {
      live = 0;
      for (int i = 0; i < NSTR; i++) {
        if (len[i] >= goal[i]) continue;
        live++;
        size_t add = rng_range(&r, 1, 24);
        str[i] = xrealloc(str[i], len[i] + add + 1);
        memset(str[i] + len[i], 'a' + (int)(add % 26), add);
        len[i] += add;
        str[i][len[i]] = 0;
      }
    }
    for (int i = 0; i < NSTR; i++) {
      sum += (uint64_t)len[i] * 7u + (u8)str[i][len[i] - 1] + (u8)str[i][len[i] / 2];
      free(str[i]);
    }
    /* NVEC vectors of 8-byte elements doubling from 2 to 2^k elements (up to 256 KiB) */
    uint64_t *vec[NVEC];
    size_t cap[NVEC], top[NVEC];
    for (int i = 0; i < NVEC; i++) {
      vec[i] = NULL;
      cap[i] = 1;
      top[i] = (size_t)1 << rng_range(&r, 8, 15);
    }
    for (int live = NVEC; live > 0;) {
      live = 0;
      for (int i = 0; i < NVEC; i++) {
        if (cap[i] >= top[i]) continue;
        live++;
        size_t old = vec[i] ? cap[i] : 0;
        cap[i] *= 2;
        vec[i] = xrealloc(vec[i], cap[i] * sizeof(uint64_t));
        /* fill the new half sparsely: one element per 64-byte line */
        for (size_t k = old; k < cap[i]; k += 8) vec[i][k] = k ^ (uint64_t)i;
      }
    }
    for (int i = 0; i < NVEC; i++) {
      for (size_t k = 0; k < cap[i]; k += 8) sum += vec[i][k];
      free(vec[i]);
    }
  }
  res->seconds = now() - t0;
  res->checksum = sum;
}

/* ------------------------------------------------------------------------------------- */
/* threads_own: two threads, each allocating and freeing only its own blocks              */

typedef struct {
  int id;
  long ops;
  uint64_t sum;
} own_arg_t;

static void *own_thread(void *vp) {
  own_arg_t *a = vp;
  enum { SLOTS = 2048 };
  u8 **slot = calloc(SLOTS, sizeof *slot);
  if (!slot) fail("calloc failed");
  rng_t r = rng_seed(1000 + (uint64_t)a->id);
  uint64_t sum = 0;
  for (long i = 0; i < a->ops; i++) {
    /* mostly single replacements, now and then a short burst of allocations */
    unsigned j = (unsigned)rng_below(&r, SLOTS);
    if (slot[j]) {
      sum += check(slot[j]);
      free(slot[j]);
    }
    size_t sz = mixed_size(&r);
    slot[j] = xmalloc(sz);
    stamp(slot[j], sz, (uint64_t)i);
  }
  for (unsigned j = 0; j < SLOTS; j++)
    if (slot[j]) {
      sum += check(slot[j]);
      free(slot[j]);
    }
  free(slot);
  a->sum = sum;
  return NULL;
}

static void w_threads_own(double scale, result_t *res) {
  enum { T = 2 };
  pthread_t th[T];
  own_arg_t arg[T];
  double t0 = now();
  for (int t = 0; t < T; t++) {
    arg[t] = (own_arg_t){t, iters(3.0e6, scale), 0};
    if (pthread_create(&th[t], NULL, own_thread, &arg[t])) fail("pthread_create failed");
  }
  uint64_t sum = 0;
  for (int t = 0; t < T; t++) {
    pthread_join(th[t], NULL);
    sum += arg[t].sum;
  }
  res->seconds = now() - t0;
  res->checksum = sum;
}

/* ------------------------------------------------------------------------------------- */
/* prodcons: the producer mallocs, the consumer frees (every free is a remote free).       */
/* Pointers travel in packets of PACKET through a mutex-protected ring of RING packets.   */

enum { PACKET = 64, RING = 32 };
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t not_full, not_empty;
  u8 *ring[RING][PACKET];
  unsigned head, tail; /* packets taken, packets put */
  long npackets;
  uint64_t consumer_sum;
} pc_t;

static void *producer(void *vp) {
  pc_t *q = vp;
  rng_t r = rng_seed(55);
  u8 *pk[PACKET];
  for (long n = 0; n < q->npackets; n++) {
    for (int i = 0; i < PACKET; i++) {
      uint64_t x = rng_below(&r, 100);
      size_t sz = x < 70 ? rng_range(&r, 16, 256) : x < 97 ? rng_range(&r, 257, 2048)
                                                           : rng_range(&r, 2049, 16384);
      pk[i] = xmalloc(sz);
      stamp(pk[i], sz, (uint64_t)n * PACKET + (uint64_t)i);
    }
    pthread_mutex_lock(&q->mu);
    while (q->tail - q->head == RING) pthread_cond_wait(&q->not_full, &q->mu);
    memcpy(q->ring[q->tail % RING], pk, sizeof pk);
    q->tail++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
  }
  return NULL;
}

static void *consumer(void *vp) {
  pc_t *q = vp;
  u8 *pk[PACKET];
  uint64_t sum = 0;
  for (long n = 0; n < q->npackets; n++) {
    pthread_mutex_lock(&q->mu);
    while (q->tail == q->head) pthread_cond_wait(&q->not_empty, &q->mu);
    memcpy(pk, q->ring[q->head % RING], sizeof pk);
    q->head++;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < PACKET; i++) {
      sum += check(pk[i]);
      free(pk[i]);
    }
  }
  q->consumer_sum = sum;
  return NULL;
}

static void w_prodcons(double scale, result_t *res) {
  pc_t *q = calloc(1, sizeof *q);
  if (!q) fail("calloc failed");
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->not_full, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  q->npackets = iters(1.5e4, scale);
  pthread_t tp, tc;
  double t0 = now();
  if (pthread_create(&tc, NULL, consumer, q) || pthread_create(&tp, NULL, producer, q))
    fail("pthread_create failed");
  pthread_join(tp, NULL);
  pthread_join(tc, NULL);
  res->seconds = now() - t0;
  res->checksum = q->consumer_sum;
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->not_empty);
  free(q);
}

/* ------------------------------------------------------------------------------------- */
/* larson: a server-like pattern. Short-lived worker threads (a fresh pair every round)    */
/* replace random slots of one shared array: malloc a new block, swap it in atomically,  */
/* free the block that was there, which another thread, often a dead one, allocated.     */

enum { LSLOTS = 8192 };
typedef struct {
  _Atomic(u8 *) *slot;
  int round, id;
  long ops;
  uint64_t sum; /* sizes of the blocks this thread freed */
  uint64_t made; /* sizes of the blocks this thread allocated */
} lar_arg_t;

static void *larson_thread(void *vp) {
  lar_arg_t *a = vp;
  rng_t r = rng_seed(77777 + (uint64_t)a->round * 16 + (uint64_t)a->id);
  uint64_t sum = 0, made = 0;
  for (long i = 0; i < a->ops; i++) {
    size_t sz = rng_below(&r, 8) ? rng_range(&r, 16, 256) : rng_range(&r, 257, 4096);
    u8 *p = xmalloc(sz);
    stamp(p, sz, (uint64_t)a->id);
    made += sz;
    u8 *old = atomic_exchange_explicit(&a->slot[rng_below(&r, LSLOTS)], p, memory_order_acq_rel);
    if (old) {
      uint64_t s;
      memcpy(&s, old, 8);
      sum += s;
      free(old);
    }
  }
  a->sum = sum;
  a->made = made;
  return NULL;
}

static void w_larson(double scale, result_t *res) {
  enum { T = 2 };
  long rounds = 40;
  long ops = iters(3.0e4, scale);
  _Atomic(u8 *) *slot = calloc(LSLOTS, sizeof *slot);
  if (!slot) fail("calloc failed");
  for (unsigned i = 0; i < LSLOTS; i++) atomic_init(&slot[i], NULL);
  uint64_t freed = 0, made = 0;
  double t0 = now();
  for (long rd = 0; rd < rounds; rd++) {
    pthread_t th[T];
    lar_arg_t arg[T];
    for (int t = 0; t < T; t++) {
      arg[t] = (lar_arg_t){slot, (int)rd, t, ops, 0, 0};
      if (pthread_create(&th[t], NULL, larson_thread, &arg[t])) fail("pthread_create failed");
    }
    for (int t = 0; t < T; t++) {
      pthread_join(th[t], NULL);
      freed += arg[t].sum;
      made += arg[t].made;
    }
  }
  for (unsigned i = 0; i < LSLOTS; i++) {
    u8 *p = atomic_load(&slot[i]);
    if (p) {
      uint64_t s;
      memcpy(&s, p, 8);
      freed += s;
      free(p);
    }
  }
  res->seconds = now() - t0;
  if (freed != made) fail("larson: freed bytes != allocated bytes");
  res->checksum = made; /* same for every allocator: depends only on the seeds */
  free(slot);
}

/* ------------------------------------------------------------------------------------- */
/* frag: phases of one size each. A phase allocates PHASE_BYTES in blocks of about its    */
/* size, then frees every other block it allocated, leaving holes the next phase's size  */
/* does not fit well; the survivors of a phase are freed three phases later. Peak RSS    */
/* against live_peak (the bytes the program itself holds) shows the fragmentation.       */

static void w_frag(double scale, result_t *res) {
  static const size_t phase_size[] = {64, 640, 24, 4000, 160, 12000, 48, 1500, 320, 30000};
  enum { NPH = sizeof phase_size / sizeof phase_size[0], KEEP = 3 };
  const size_t PHASE_BYTES = (size_t)8 << 20;
  long nphases = iters(2.0 * NPH, scale); /* two passes over the size list */
  if (nphases < 4) nphases = 4;
  rng_t r = rng_seed(4242);
  u8 **blk[KEEP + 1] = {0};
  size_t nblk[KEEP + 1] = {0};
  size_t live = 0, peak = 0;
  uint64_t sum = 0;
  double t0 = now();
  for (long ph = 0; ph < nphases; ph++) {
    int s = (int)(ph % (KEEP + 1)); /* ring of phase survivor lists */
    /* free what is left of the phase KEEP phases ago */
    for (size_t i = 0; i < nblk[s]; i++) {
      if (!blk[s][i]) continue;
      uint64_t sz;
      memcpy(&sz, blk[s][i], 8);
      sum += check(blk[s][i]);
      live -= sz;
      free(blk[s][i]);
    }
    free(blk[s]);
    size_t base = phase_size[ph % NPH];
    size_t cap = PHASE_BYTES / (base - base / 8) + 1;
    blk[s] = xmalloc(cap * sizeof *blk[s]);
    size_t n = 0, bytes = 0;
    while (bytes < PHASE_BYTES && n < cap) {
      size_t sz = rng_range(&r, base - base / 8, base + base / 8);
      u8 *p = xmalloc(sz);
      memset(p, (int)(n & 0xff), sz);
      stamp(p, sz, (uint64_t)ph);
      blk[s][n++] = p;
      bytes += sz;
      live += sz;
    }
    nblk[s] = n;
    if (live > peak) peak = live;
    for (size_t i = 0; i < n; i += 2) {
      uint64_t sz;
      memcpy(&sz, blk[s][i], 8);
      sum += check(blk[s][i]);
      live -= sz;
      free(blk[s][i]);
      blk[s][i] = NULL;
    }
  }
  for (int s = 0; s <= KEEP; s++) {
    for (size_t i = 0; i < nblk[s]; i++)
      if (blk[s][i]) {
        sum += check(blk[s][i]);
        free(blk[s][i]);
      }
    free(blk[s]);
  }
  res->seconds = now() - t0;
  res->checksum = sum;
  snprintf(res->extra, sizeof res->extra, "live_peak=%zu", peak);
}

/* ------------------------------------------------------------------------------------- */
/* large: churn of 64 KiB .. 4 MiB blocks (log-uniform), touching every 4 KiB page        */

static void w_large(double scale, result_t *res) {
  enum { SLOTS = 24 };
  long ops = iters(3500, scale);
  rng_t r = rng_seed(31337);
  u8 *slot[SLOTS] = {0};
  size_t ssz[SLOTS] = {0};
  uint64_t sum = 0;
  double t0 = now();
  for (long i = 0; i < ops; i++) {
    unsigned j = (unsigned)rng_below(&r, SLOTS);
    if (slot[j]) {
      for (size_t off = 0; off < ssz[j]; off += 4096) sum += slot[j][off];
      free(slot[j]);
    }
    /* log-uniform in [64 KiB, 4 MiB]: 2^16 .. 2^22 */
    double e = 16.0 + 6.0 * (double)(rng_next(&r) >> 11) * 0x1.0p-53;
    size_t sz = (size_t)1 << (int)e;
    sz += (size_t)((double)sz * (e - (int)e)); /* within [2^k, 2^(k+1)) */
    if (sz > ((size_t)4 << 20)) sz = (size_t)4 << 20;
    u8 *p = xmalloc(sz);
    for (size_t off = 0; off < sz; off += 4096) p[off] = (u8)(i + off / 4096);
    slot[j] = p;
    ssz[j] = sz;
  }
  for (unsigned j = 0; j < SLOTS; j++)
    if (slot[j]) {
      for (size_t off = 0; off < ssz[j]; off += 4096) sum += slot[j][off];
      free(slot[j]);
    }
  res->seconds = now() - t0;
  res->checksum = sum;
}

/* ------------------------------------------------------------------------------------- */

static const struct {
  const char *name;
  void (*fn)(double, result_t *);
} workloads[] = {
    {"pairs", w_pairs},
    {"batch_lifo", w_batch_lifo},
    {"batch_fifo", w_batch_fifo},
    {"batch_random", w_batch_random},
    {"realloc_grow", w_realloc_grow},
    {"threads_own", w_threads_own},
    {"prodcons", w_prodcons},
    {"larson", w_larson},
    {"frag", w_frag},
    {"large", w_large},
};
enum { NWORK = sizeof workloads / sizeof workloads[0] };

static void usage(void) {
  fprintf(stderr, "usage: workloads NAME [SCALE] | list | which\nworkloads:");
  for (int i = 0; i < NWORK; i++) fprintf(stderr, " %s", workloads[i].name);
  fputc('\n', stderr);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  if (!strcmp(argv[1], "list")) {
    for (int i = 0; i < NWORK; i++) puts(workloads[i].name);
    return 0;
  }
  if (!strcmp(argv[1], "which")) {
    /* which object does the program's malloc come from? (the executable itself when the
     * allocator is compiled in, the preloaded library otherwise) */
    Dl_info info;
    union {
      void *(*fn)(size_t);
      void *obj;
    } volatile m = {malloc};
    if (dladdr(m.obj, &info) && info.dli_fname)
      printf("malloc from %s\n", info.dli_fname);
    else
      printf("malloc from unknown\n");
    return 0;
  }
  double scale = argc > 2 ? strtod(argv[2], NULL) : 1.0;
  if (!(scale > 0)) {
    usage();
    return 2;
  }
  for (int i = 0; i < NWORK; i++)
    if (!strcmp(argv[1], workloads[i].name)) {
      result_t res = {0, 0, ""};
      workloads[i].fn(scale, &res);
      printf("%s seconds=%.6f checksum=%llu%s%s\n", workloads[i].name, res.seconds,
             (unsigned long long)res.checksum, res.extra[0] ? " " : "", res.extra);
      return 0;
    }
  usage();
  return 2;
}

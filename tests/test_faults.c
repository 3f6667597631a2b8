/* test_faults.c: segalloc under failure and process-level churn.

     test_faults oom          (a) under a ulimit -v the script sets: requests past what is
                                  left fail with NULL and ENOMEM in every API; the heap is
                                  exhausted class by class, then every API fails cleanly;
                                  after freeing, allocation works again
     test_faults threadfail   (b) 8 threads making aligned requests (memalign, posix_memalign,
                                  aligned_alloc, valloc, pvalloc) and mallocs while the
                                  address space is squeezed round by round down to nothing,
                                  so that requests, arena reservations, thread-cache set-up
                                  and the allocator's own metadata fail; no crash or hang,
                                  and after each round every block is back
     test_faults fork         (c) fork from several threads while others allocate; each
                                  child allocates, frees, checks the statistics and _exits;
                                  the parent waits with a timeout
     test_faults firstcall    (d) every API function as the first call of a new thread,
                                  and again in a key destructor after the thread's cache
                                  is gone (each in a child process)
     test_faults forkloss     (c) fork while one thread keeps overflowing a list (the list
                                  is on its way to the central list, the class lock held
                                  by fork's prepare handler) and short threads fill their
                                  caches and exit (their key destructor emptying them):
                                  after a trim, each child's blocks in use are what the
                                  dead threads held, give or take the objects caught in
                                  mid-call, not a list or a cache more
     test_faults locked       (e) the OS refuses to take pages back: blocks whose pages
                                  the program locked with mlock and freed still locked
                                  (allowed) stay resident after a trim and after the
                                  release a free sets off, and calloc served from them
                                  returns zeros, not the old bytes; once unlocked, a
                                  trim gives them back
     test_faults storm        (d) thread create/exit storms: 2000 short joinable threads,
                                  detached ones, threads whose key destructors allocate
                                  after segalloc's own has run, threads leaving blocks for
                                  main to free; after each storm no block, count or thread
                                  is lost

     test_faults mapcount     (e) a munmap the kernel refuses (a split past
                                  vm.max_map_count) still gives the memory back

   Each mode prints "N passed, N failed". An alarm() watchdog turns a hang into a failure
   (tests/run_faults.sh also runs every mode under timeout). The modes use only the
   segalloc_* API; the program's own stdio and threads use the C library's allocator. */
#define _GNU_SOURCE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* ---- helpers ---------------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static segalloc_stats_t snap(void) {
  segalloc_stats_t s;
  segalloc_stats(&s);
  return s;
}

/* Write a line with write(2): safe where stdio is not (children, signal handlers, a heap
   under pressure). */
static void say(const char *s) {
  size_t n = strlen(s);
  while (n) {
    ssize_t w = write(1, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static volatile sig_atomic_t watchdog_what;
static const char *watchdog_names[] = {"", "oom", "threadfail", "fork", "storm", "firstcall", "locked", "forkloss"};

static void on_alarm(int sig) {
  (void)sig;
  say("FAIL watchdog: test_faults ");
  say(watchdog_names[watchdog_what]);
  say(" did not finish in time (deadlock?)\n");
  _exit(3);
}

static void watchdog(int which, unsigned seconds) {
  watchdog_what = which;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  alarm(seconds);
}

/* The address-space limit (RLIMIT_AS), or 0 when there is none. */
static size_t as_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  return (size_t)rl.rlim_cur;
}

/* The process's mapped address space (VmSize), read without stdio. */
static size_t vm_size(void) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strstr(buf, "VmSize:");
  if (!p) return 0;
  return (size_t)strtoull(p + 7, NULL, 10) * KiB;
}

/* Address space still free under the limit (0 when unlimited or unknown). */
static size_t headroom(void) {
  size_t lim = as_limit(), vm = vm_size();
  return lim && vm && lim > vm ? lim - vm : 0;
}

/* Ballast: PROT_NONE mappings that eat address space (they count against RLIMIT_AS but
   cost no memory), so the allocator finds only what a test leaves it. */
#define BALLAST_MAX 256
static struct {
  void *p[BALLAST_MAX];
  size_t len[BALLAST_MAX];
  int n;
} ballast;

static int ballast_add(size_t len) {
  if (ballast.n == BALLAST_MAX || len == 0) return 0;
  void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return 0;
  ballast.p[ballast.n] = p;
  ballast.len[ballast.n++] = len;
  return 1;
}

/* Take all the address space but `leave` bytes (and whatever is too fragmented to map). */
static void ballast_leave(size_t leave) {
  size_t free_now = headroom();
  if (free_now > leave) ballast_add(free_now - leave);
  /* the estimate can be off by a page or so; top it up in shrinking pieces */
  for (size_t piece = 64 * MiB; piece >= 4096; piece /= 2)
    while (headroom() > leave + piece && ballast_add(piece)) {
    }
}

/* Take every byte of address space that is left. */
static void ballast_all(void) {
  for (size_t piece = (size_t)1 << 34; piece >= 4096; piece /= 2)
    while (ballast_add(piece)) {
    }
}

static void ballast_drop(void) {
  while (ballast.n > 0) {
    ballast.n--;
    munmap(ballast.p[ballast.n], ballast.len[ballast.n]);
  }
}

static void print_mib(const char *label, size_t bytes) {
  printf("  %s: %zu MiB\n", label, bytes / MiB);
  fflush(stdout);
}

/* ---- (a) oom: one thread, a hard limit ----------------------------------------------- */

/* Blocks kept as a list through their first word; the second word holds a stamp derived
   from the address, checked when the list is freed. */
typedef struct chain {
  struct chain *next;
  uintptr_t stamp;
} chain;

static size_t chain_push(chain **head, void *p) {
  chain *c = (chain *)p;
  c->next = *head;
  c->stamp = ~(uintptr_t)p;
  *head = c;
  return 1;
}

/* Free a chain; returns the number of blocks whose stamp was wrong. */
static size_t chain_free(chain **head) {
  size_t bad = 0;
  while (*head) {
    chain *c = *head;
    *head = c->next;
    if (c->stamp != ~(uintptr_t)c) bad++;
    segalloc_free(c);
  }
  return bad;
}

/* Allocate blocks of n bytes until malloc fails; 1 if the failure said ENOMEM. */
static int fill_with(chain **head, size_t n, size_t *count, size_t cap) {
  for (size_t i = 0; i < cap; i++) {
    errno = 0;
    void *p = segalloc_malloc(n);
    if (!p) return errno == ENOMEM;
    chain_push(head, p);
    ((unsigned char *)p)[n - 1] = 0x5a;
    (*count)++;
  }
  return 1; /* cap reached: not exhausted, but not wrong either */
}

/* Every API asked for `n` bytes (with n more than can be had): NULL and ENOMEM, and the
   block given to realloc/reallocarray untouched. */
static void all_apis_fail(size_t n, unsigned char *victim, size_t victim_size, const char *when) {
  int ok = 1;
  void *r;
#define EXPECT_ENOMEM(call)                                                               \
  do {                                                                                    \
    errno = 0;                                                                            \
    r = (call);                                                                           \
    if (r != NULL || errno != ENOMEM) {                                                   \
      ok = 0;                                                                             \
      fprintf(stderr, "FAIL %s: %s = %p, errno %d (n = %zu)\n", when, #call, r, errno, n); \
      if (r) segalloc_free(r);                                                            \
    }                                                                                     \
  } while (0)
  EXPECT_ENOMEM(segalloc_malloc(n));
  EXPECT_ENOMEM(segalloc_calloc(1, n));
  EXPECT_ENOMEM(segalloc_calloc(n / 16 ? n / 16 : 1, 16));
  if (n > segalloc_usable_size(victim)) { /* (smaller sizes are served in place) */
    errno = 0;
    r = segalloc_realloc(victim, n);
    int bad = r != NULL || errno != ENOMEM;
    if (!bad) {
      errno = 0;
      r = segalloc_reallocarray(victim, n / 4 + 1, 4);
      bad = r != NULL || errno != ENOMEM;
    }
    if (bad) {
      /* the victim moved: nothing below can be trusted */
      fprintf(stderr, "FAIL %s: realloc/reallocarray(victim, %zu) = %p, errno %d\n", when, n, r, errno);
      CHECK(0);
      exit(test_finish());
    }
  }
  EXPECT_ENOMEM(segalloc_aligned_alloc(64, n));
  EXPECT_ENOMEM(segalloc_aligned_alloc(4096, n));
  EXPECT_ENOMEM(segalloc_aligned_alloc(MiB, n));
  EXPECT_ENOMEM(segalloc_memalign(256, n));
  EXPECT_ENOMEM(segalloc_memalign(48, n));
  EXPECT_ENOMEM(segalloc_valloc(n));
  EXPECT_ENOMEM(segalloc_pvalloc(n));
  void *out = (void *)&ok;
  int rc = segalloc_posix_memalign(&out, 128, n);
  if (rc != ENOMEM || out != (void *)&ok) {
    ok = 0;
    fprintf(stderr, "FAIL %s: posix_memalign(128, %zu) = %d, out %p\n", when, n, rc, out);
  }
#undef EXPECT_ENOMEM
  int intact = 1;
  for (size_t i = 0; i < victim_size; i++) intact &= victim[i] == (unsigned char)(i * 7 + 1);
  CHECK(ok);
  CHECK(intact); /* a failed realloc leaves the block alone */
}

static int run_oom(void) {
  watchdog(1, 100);
  size_t lim = as_limit();
  if (!lim) {
    printf("FAIL oom: needs a ulimit -v (tests/run_faults.sh sets one)\n");
    CHECK(0);
    return test_finish();
  }
  printf("oom: address-space limit %zu MiB\n", lim / MiB);
  fflush(stdout);

  size_t room = headroom();
  unsigned char *victim = (unsigned char *)segalloc_malloc(100);
  if (!victim)
    printf("FAIL oom: malloc(100) failed with %zu MiB of address space free (an arena is %zu MiB)\n", room / MiB,
           (size_t)SEGALLOC_ARENA_SIZE / MiB);
  CHECK(victim != NULL);
  if (!victim) return test_finish();
  for (size_t i = 0; i < 100; i++) victim[i] = (unsigned char)(i * 7 + 1);
  segalloc_stats_t base = snap();

  /* 1. more than the whole limit, and more than what is left */
  all_apis_fail(lim + 64 * MiB, victim, 100, "beyond the limit");
  all_apis_fail(2 * lim, victim, 100, "twice the limit");
  size_t left = headroom();
  print_mib("headroom at start", left);
  all_apis_fail(left + 8 * MiB, victim, 100, "past the headroom");

  /* 2. exhaust: 1 MiB blocks (arenas), then huge blocks (own mappings) in what address
        space is left, then every size class from the largest down, until each fails
        with ENOMEM */
  chain *huge = NULL, *large = NULL, *small = NULL;
  size_t nhuge = 0, nlarge = 0, nsmall = 0;
  CHECK(fill_with(&large, MiB, &nlarge, 100000));
  size_t left_after_large = headroom();
  CHECK(fill_with(&huge, 33 * MiB, &nhuge, 1000));
  segalloc_stats_t st = snap();
  for (unsigned c = (unsigned)st.nclasses - 1; c >= 1; c--) {
    size_t n = st.classes[c].size;
    if (n < sizeof(chain)) continue;
    int enomem = fill_with(&small, n, &nsmall, 10000000);
    if (!enomem) fprintf(stderr, "FAIL oom: class %u (%zu bytes) failed without ENOMEM\n", c, n);
    CHECK(enomem);
  }
  printf("  exhausted with %zu huge (33 MiB), %zu large (1 MiB) and %zu small blocks; "
         "%zu MiB of address space was left when 1 MiB blocks failed\n",
         nhuge, nlarge, nsmall, left_after_large / MiB);
  fflush(stdout);
  CHECK(nlarge > 0);
  CHECK(nsmall > 0);
  /* a 1 MiB request may fail for want of a new arena, but not while there is room for one
     (an arena, its header and a metadata chunk) */
  if (left_after_large >= (size_t)SEGALLOC_ARENA_SIZE + 8 * MiB)
    printf("FAIL oom: malloc(1 MiB) failed with %zu MiB of address space free, room for another %zu MiB arena\n",
           left_after_large / MiB, (size_t)SEGALLOC_ARENA_SIZE / MiB);
  CHECK(left_after_large < (size_t)SEGALLOC_ARENA_SIZE + 8 * MiB);

  /* 3. nothing left at all (the ballast takes the address space segalloc could not use):
        every API fails, for sizes of every kind, and nothing crashes */
  ballast_all();
  size_t sizes[] = {1, 16, 100, 1000, 5000, 32 * KiB, 100 * KiB, 2 * MiB, 40 * MiB, 200 * MiB};
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) all_apis_fail(sizes[i], victim, 100, "exhausted");
  st = snap();
  int classes_fail = 1;
  for (unsigned c = 1; c < st.nclasses; c++) {
    errno = 0;
    void *p = segalloc_malloc(st.classes[c].size);
    if (p || errno != ENOMEM) {
      classes_fail = 0;
      fprintf(stderr, "FAIL oom: class %u (%zu bytes) allocated with nothing left\n", c, (size_t)st.classes[c].size);
      segalloc_free(p);
    }
  }
  CHECK(classes_fail);
  segalloc_thread_flush(); /* the slow paths under no memory */
  segalloc_trim();
  CHECK(test_stats_add_up(&st));
  st = snap();
  CHECK(test_stats_add_up(&st));

  /* 4. free everything: the statistics are back, and allocation works again */
  ballast_drop();
  size_t bad = chain_free(&huge) + chain_free(&large) + chain_free(&small);
  CHECK(bad == 0);
  segalloc_trim();
  st = snap();
  CHECK(test_stats_add_up(&st));
  CHECK(st.live == base.live);
  CHECK(st.mallocs - st.frees == base.mallocs - base.frees);
  CHECK(st.huge_live == base.huge_live && st.large_live == base.large_live);

  /* the arenas stay mapped: as many 1 MiB blocks as before fit again */
  size_t again = 0;
  fill_with(&large, MiB, &again, nlarge);
  printf("  after freeing: %zu of %zu 1 MiB blocks again\n", again, nlarge);
  fflush(stdout);
  CHECK(again >= nlarge);
  CHECK(chain_free(&large) == 0);
  /* and the huge blocks' address space came back */
  if (nhuge > 0) {
    void *h = segalloc_malloc(33 * MiB);
    CHECK(h != NULL);
    if (h) memset(h, 1, 4096);
    segalloc_free(h);
  }
  for (int i = 0; i < 1000; i++) chain_push(&small, segalloc_malloc((size_t)(i % 100) * 40 + 16));
  CHECK(chain_free(&small) == 0);
  all_apis_fail(2 * lim, victim, 100, "after recovery");
  segalloc_free(victim);
  st = snap();
  CHECK(test_stats_add_up(&st));
  CHECK(st.mallocs - st.frees == base.mallocs - base.frees - 1);
  return test_finish();
}

/* ---- (b) threadfail: many threads, aligned requests, a squeezed address space -------- */

#define TF_THREADS 8
#define TF_SLOTS 32

typedef struct {
  unsigned char *p;
  size_t size;
  uint64_t stamp;
} tf_block;

typedef struct {
  int id;
  uint64_t rng;
  tf_block live[TF_SLOTS];
  /* results of the round */
  unsigned long ops, fails, bad_errno, bad_align, corrupt, meta_hint, spawned, spawn_failed;
} tf_thread;

static pthread_barrier_t tf_start, tf_done;
static volatile int tf_quit;
static int tf_round_ops;
static int tf_spawn; /* this round, workers also start short threads */
static tf_thread tf[TF_THREADS];

/* hand-offs: a worker frees blocks another allocated */
static pthread_mutex_t tf_xlock = PTHREAD_MUTEX_INITIALIZER;
static tf_block tf_exchange[64];

/* The stamp: the first 16 bytes (or all of a smaller block) and the last 8. */
static void tf_stamp(tf_block *b) {
  uint64_t s = b->stamp;
  size_t n = b->size;
  for (size_t i = 0; i < n && i < 16; i++) b->p[i] = (unsigned char)(s >> (i % 8 * 8));
  if (n >= 24) memcpy(b->p + n - 8, &s, 8);
}

static int tf_intact(const tf_block *b) {
  uint64_t s = b->stamp, y;
  size_t n = b->size;
  for (size_t i = 0; i < n && i < 16; i++)
    if (b->p[i] != (unsigned char)(s >> (i % 8 * 8))) return 0;
  if (n >= 24) {
    memcpy(&y, b->p + n - 8, 8);
    return y == s;
  }
  return 1;
}

static size_t tf_size(uint64_t *r) {
  unsigned k = (unsigned)(rnd(r) % 100);
  if (k < 45) return rnd(r) % 1025;
  if (k < 70) return rnd(r) % (32 * KiB) + 1;
  if (k < 88) return 32 * KiB + rnd(r) % (2 * MiB);
  if (k < 97) return 2 * MiB + rnd(r) % (14 * MiB);
  return 33 * MiB + rnd(r) % (48 * MiB); /* huge */
}

static size_t tf_align(uint64_t *r) {
  static const size_t odd[] = {24, 48, 100, 3000, 12288}; /* memalign rounds these up */
  unsigned k = (unsigned)(rnd(r) % 24);
  if (k < 21) return (size_t)1 << k; /* 1 .. 1 MiB */
  return odd[rnd(r) % 5];
}

static size_t pow2_at_least(size_t a) {
  size_t r = 1;
  while (r < a) r <<= 1;
  return r;
}

static void tf_free(tf_thread *t, tf_block *b) {
  if (!b->p) return;
  if (!tf_intact(b)) t->corrupt++;
  segalloc_free(b->p);
  b->p = NULL;
}

static void *tf_short_thread(void *arg) {
  /* a thread born under pressure: its cache may not be set up; it must still work */
  uint64_t r = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull | 1;
  for (int i = 0; i < 50; i++) {
    size_t n = rnd(&r) % 3000 + 1;
    unsigned char *p = (unsigned char *)segalloc_malloc(n);
    if (p) {
      p[0] = 1;
      p[n - 1] = 2;
      segalloc_free(p);
    }
  }
  return NULL;
}

/* One allocation of some kind into b; counts failures and checks what it got. */
static void tf_alloc(tf_thread *t, tf_block *b) {
  uint64_t *r = &t->rng;
  size_t n = tf_size(r);
  size_t al = 0, promised = 0;
  unsigned kind = (unsigned)(rnd(r) % 10);
  void *p = NULL;
  int rc = 0;
  errno = 0;
  switch (kind) {
    case 0: case 1: p = segalloc_malloc(n); break;
    case 2: p = segalloc_calloc(1, n); break;
    case 3:
      al = tf_align(r);
      promised = pow2_at_least(al);
      p = segalloc_memalign(al, n);
      break;
    case 4: case 5: {
      al = tf_align(r);
      if (al < sizeof(void *) || (al & (al - 1))) al = 64;
      promised = al;
      void *out = (void *)b;
      rc = segalloc_posix_memalign(&out, al, n);
      if (rc == 0) p = out;
      else if (rc != ENOMEM || out != (void *)b) t->bad_errno++;
      if (rc) errno = ENOMEM;
      break;
    }
    case 6: case 7:
      al = tf_align(r);
      if (al & (al - 1)) al = 4096;
      promised = al;
      p = segalloc_aligned_alloc(al, n);
      break;
    case 8: promised = 4096; p = segalloc_valloc(n); break;
    default: promised = 4096; p = segalloc_pvalloc(n); break;
  }
  t->ops++;
  if (!p) {
    t->fails++;
    if (errno != ENOMEM) t->bad_errno++;
    /* a small request failing while the page heap has pages to spare: only the
       allocator's metadata (a span record) can have run out */
    if (n <= 1024 && kind < 2) {
      segalloc_stats_t st;
      segalloc_stats(&st);
      if (st.pageheap_free + st.released >= 4 * MiB) t->meta_hint++;
    }
    return;
  }
  if (promised && (uintptr_t)p % promised) t->bad_align++;
  if (n >= 16 && (uintptr_t)p % 16) t->bad_align++;
  if (segalloc_usable_size(p) < n) t->bad_align++;
  if (kind == 2) {
    const unsigned char *c = (const unsigned char *)p;
    for (size_t i = 0; i < n && i < 256; i++)
      if (c[i]) { t->corrupt++; break; }
    if (n > 0 && c[n - 1]) t->corrupt++;
  }
  b->p = (unsigned char *)p;
  b->size = n;
  b->stamp = rnd(r);
  tf_stamp(b);
}

static void tf_realloc(tf_thread *t, tf_block *b) {
  size_t n = tf_size(&t->rng) + 1; /* (realloc(p, 0) is a free in some allocators) */
  if (!tf_intact(b)) t->corrupt++;
  errno = 0;
  void *q = segalloc_realloc(b->p, n);
  t->ops++;
  if (!q) {
    t->fails++;
    if (errno != ENOMEM) t->bad_errno++;
    if (!tf_intact(b)) t->corrupt++; /* the old block must be untouched */
    return;
  }
  b->p = (unsigned char *)q;
  /* the old stamp's head survived (it is within min(old, new)); restamp for the new size */
  b->size = n;
  b->stamp = rnd(&t->rng);
  tf_stamp(b);
}

static void *tf_worker(void *arg) {
  tf_thread *t = (tf_thread *)arg;
  for (;;) {
    pthread_barrier_wait(&tf_start);
    if (tf_quit) break;
    for (int i = 0; i < tf_round_ops; i++) {
      tf_block *b = &t->live[rnd(&t->rng) % TF_SLOTS];
      unsigned k = (unsigned)(rnd(&t->rng) % 16);
      if (b->p && k < 6) {
        tf_free(t, b);
      } else if (b->p && k < 9) {
        tf_realloc(t, b);
      } else if (b->p && k < 10) {
        /* hand the block to whoever takes the exchange slot next */
        pthread_mutex_lock(&tf_xlock);
        tf_block *x = &tf_exchange[rnd(&t->rng) % 64];
        tf_block old = *x;
        *x = *b;
        pthread_mutex_unlock(&tf_xlock);
        b->p = NULL;
        tf_free(t, &old);
      } else if (!b->p) {
        tf_alloc(t, b);
      } else if (k == 15 && tf_spawn && t->spawned < 8) {
        pthread_t s;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 64 * KiB);
        if (pthread_create(&s, &at, tf_short_thread, t) == 0) {
          pthread_join(s, NULL);
          t->spawned++;
        } else {
          t->spawn_failed++;
        }
        pthread_attr_destroy(&at);
      } else if (k == 14) {
        if (rnd(&t->rng) % 8 == 0) segalloc_thread_flush();
      }
    }
    for (int i = 0; i < TF_SLOTS; i++) tf_free(t, &t->live[i]);
    pthread_barrier_wait(&tf_done);
  }
  return NULL;
}

/* the starved phase: threads born with no address space left */
static chain **starve_head;
static pthread_mutex_t starve_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long starved_fails, starved_freed, starved_bad;

static void *tf_starved_thread(void *arg) {
  (void)arg;
  unsigned long fails = 0, freed = 0, bad = 0;
  for (int i = 0; i < 200; i++) {
    size_t n = (size_t)(i % 40) * 97 + 1;
    errno = 0;
    void *p = i % 3 ? segalloc_malloc(n) : segalloc_memalign((size_t)16 << (i % 8), n);
    if (!p) {
      fails++;
      if (errno != ENOMEM) bad++;
    } else {
      memset(p, 0x77, n);
      segalloc_free(p);
    }
    if (i % 4 == 0) { /* free one of main's blocks: a small free on a thread with no cache */
      pthread_mutex_lock(&starve_lock);
      chain *c = *starve_head;
      if (c) *starve_head = c->next;
      pthread_mutex_unlock(&starve_lock);
      if (c) {
        if (c->stamp != ~(uintptr_t)c) bad++;
        segalloc_free(c);
        freed++;
      }
    }
  }
  pthread_mutex_lock(&starve_lock);
  starved_fails += fails;
  starved_freed += freed;
  starved_bad += bad;
  pthread_mutex_unlock(&starve_lock);
  return NULL;
}

static int run_threadfail(void) {
  watchdog(2, 150);
  size_t lim = as_limit();
  if (!lim) {
    printf("FAIL threadfail: needs a ulimit -v (tests/run_faults.sh sets one)\n");
    CHECK(0);
    return test_finish();
  }
  printf("threadfail: %d threads, address-space limit %zu MiB\n", TF_THREADS, lim / MiB);
  fflush(stdout);
  void *warm = segalloc_malloc(64);
  segalloc_free(warm);
  segalloc_stats_t base = snap();

  pthread_barrier_init(&tf_start, NULL, TF_THREADS + 1);
  pthread_barrier_init(&tf_done, NULL, TF_THREADS + 1);
  pthread_t th[TF_THREADS];
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 256 * KiB);
  for (int i = 0; i < TF_THREADS; i++) {
    tf[i].id = i;
    tf[i].rng = 0x243f6a8885a308d3ull * (uint64_t)(i + 1) | 1;
    int rc = pthread_create(&th[i], &at, tf_worker, &tf[i]);
    CHECK(rc == 0);
    if (rc) return test_finish();
  }
  pthread_attr_destroy(&at);

  /* rounds: the address space left to the allocator, from roomy to none at all */
  static const size_t leave[] = {SIZE_MAX, 256 * MiB, 96 * MiB, 48 * MiB, 16 * MiB, 4 * MiB, MiB, 0, 0, SIZE_MAX};
  const int nrounds = (int)(sizeof leave / sizeof *leave);
  unsigned long tight_fails = 0, meta_hints = 0;
  for (int round = 0; round < nrounds; round++) {
    if (leave[round] != SIZE_MAX) ballast_leave(leave[round]);
    size_t room = headroom();
    tf_round_ops = 6000;
    tf_spawn = leave[round] != SIZE_MAX && leave[round] <= 16 * MiB;
    for (int i = 0; i < TF_THREADS; i++) {
      tf[i].ops = tf[i].fails = tf[i].bad_errno = tf[i].bad_align = tf[i].corrupt = 0;
      tf[i].meta_hint = tf[i].spawned = tf[i].spawn_failed = 0;
    }
    pthread_barrier_wait(&tf_start);
    pthread_barrier_wait(&tf_done);
    /* the exchange's leftovers, then the ballast goes */
    for (int i = 0; i < 64; i++) {
      if (tf_exchange[i].p) {
        if (!tf_intact(&tf_exchange[i])) tf[0].corrupt++;
        segalloc_free(tf_exchange[i].p);
        tf_exchange[i].p = NULL;
      }
    }
    unsigned long ops = 0, fails = 0, bad_errno = 0, bad_align = 0, corrupt = 0, hint = 0, spawned = 0, spawn_failed = 0;
    for (int i = 0; i < TF_THREADS; i++) {
      ops += tf[i].ops; fails += tf[i].fails; bad_errno += tf[i].bad_errno; bad_align += tf[i].bad_align;
      corrupt += tf[i].corrupt; hint += tf[i].meta_hint; spawned += tf[i].spawned; spawn_failed += tf[i].spawn_failed;
    }
    segalloc_stats_t during = snap();
    ballast_drop();
    printf("  round %d: %s%zu MiB left: %lu requests, %lu failed (%lu small with pages free), "
           "%lu short threads (%lu could not start)\n",
           round, leave[round] == SIZE_MAX ? "no squeeze, " : "", room / MiB, ops, fails, hint, spawned, spawn_failed);
    fflush(stdout);
    if (leave[round] != SIZE_MAX && leave[round] <= 16 * MiB) tight_fails += fails;
    meta_hints += hint;
    CHECK(bad_errno == 0);   /* every failure said ENOMEM */
    CHECK(bad_align == 0);   /* every success was aligned and big enough */
    CHECK(corrupt == 0);     /* every block kept its stamps; calloc gave zeros */
    CHECK(test_stats_add_up(&during));
    /* every block is back, and the heap works */
    segalloc_trim();
    segalloc_stats_t st = snap();
    CHECK(test_stats_add_up(&st));
    CHECK(st.live == base.live);
    CHECK(st.mallocs - st.frees == base.mallocs - base.frees);
    void *a = segalloc_malloc(100), *b = segalloc_malloc(MiB), *c = segalloc_aligned_alloc(64 * KiB, 5000);
    CHECK(a && b && c);
    segalloc_free(a);
    segalloc_free(b);
    segalloc_free(c);
  }
  CHECK(tight_fails > 0); /* the squeeze did make requests fail */
  printf("  %lu failures in the tight rounds; %lu small-request failures with free pages "
         "(metadata exhausted)\n", tight_fails, meta_hints);
  fflush(stdout);

  /* starve the metadata: no address space left, and many one-page spans wanted (one
     8 KiB block each, a span record each) while the arenas still have free pages; then
     threads are born into that (their caches cannot be set up) and work, freeing main's
     blocks too */
  ballast_leave(0);
  chain *starve = NULL;
  size_t nstarve = 0;
  CHECK(fill_with(&starve, 8192, &nstarve, 400000));
  segalloc_stats_t at_fail = snap();
  printf("  starved: %zu blocks of 8 KiB, then ENOMEM with %zu MiB of free pages in the arenas (%s)\n", nstarve,
         (at_fail.pageheap_free + at_fail.released) / MiB,
         at_fail.pageheap_free + at_fail.released >= MiB ? "the metadata ran out first" : "the pages ran out");
  fflush(stdout);
  CHECK(test_stats_add_up(&at_fail));
  starve_head = &starve;
  pthread_t sth[4];
  int made = 0;
  for (int i = 0; i < 4; i++) {
    pthread_attr_t sat;
    pthread_attr_init(&sat);
    pthread_attr_setstacksize(&sat, 64 * KiB);
    if (pthread_create(&sth[made], &sat, tf_starved_thread, NULL) == 0) made++;
    pthread_attr_destroy(&sat);
  }
  for (int i = 0; i < made; i++) pthread_join(sth[i], NULL);
  printf("  %d threads ran starved (%d could not start), %lu of their requests failed, %lu blocks freed\n", made,
         4 - made, starved_fails, starved_freed);
  ballast_drop();
  CHECK(chain_free(&starve) == 0);
  CHECK(starved_bad == 0);
  segalloc_trim();
  segalloc_stats_t after = snap();
  CHECK(test_stats_add_up(&after));
  CHECK(after.live == base.live);
  CHECK(after.mallocs - after.frees == base.mallocs - base.frees);
  void *ok1 = segalloc_malloc(8192), *ok2 = segalloc_memalign(4096, 3 * MiB);
  CHECK(ok1 && ok2);
  segalloc_free(ok1);
  segalloc_free(ok2);

  tf_quit = 1;
  pthread_barrier_wait(&tf_start);
  for (int i = 0; i < TF_THREADS; i++) pthread_join(th[i], NULL);
  segalloc_stats_t st = snap();
  CHECK(st.live == base.live);
  CHECK(st.threads == base.threads); /* the workers' caches are gone */
  return test_finish();
}

/* ---- (c) fork from several threads while others allocate ------------------------------ */

#define FK_ALLOCATORS 4
#define FK_FORKERS 3
#define FK_FORKS 40

static volatile int fk_stop;
static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long fk_children, fk_child_failed, fk_timeouts, fk_fork_failed;
static unsigned long fk_fail_code[32], fk_fail_signal[65];

static void *fk_allocator(void *arg) {
  uint64_t r = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull | 1;
  void *live[64] = {0};
  size_t sz[64] = {0};
  while (!fk_stop) {
    unsigned i = (unsigned)(rnd(&r) % 64);
    if (live[i]) {
      unsigned char *p = (unsigned char *)live[i];
      if (p[0] != (unsigned char)i || p[sz[i] - 1] != (unsigned char)i) abort();
      segalloc_free(live[i]);
      live[i] = NULL;
    } else {
      unsigned k = (unsigned)(rnd(&r) % 100);
      size_t n = k < 80 ? rnd(&r) % 2000 + 1 : k < 98 ? rnd(&r) % (512 * KiB) + 1 : 33 * MiB;
      unsigned char *p = (unsigned char *)(k % 7 == 0 ? segalloc_aligned_alloc(4096, n) : segalloc_malloc(n));
      if (!p) abort();
      p[0] = p[n - 1] = (unsigned char)i;
      live[i] = p;
      sz[i] = n;
    }
    if (rnd(&r) % 5000 == 0) segalloc_trim();
  }
  for (int i = 0; i < 64; i++) segalloc_free(live[i]);
  return NULL;
}

static void *fk_child_thread(void *arg) {
  int *ok = (int *)arg;
  for (int i = 0; i < 200; i++) {
    unsigned char *p = (unsigned char *)segalloc_malloc((size_t)i * 37 + 1);
    if (!p) { *ok = 0; return NULL; }
    p[0] = 1;
    segalloc_free(p);
  }
  *ok = 1;
  return NULL;
}

/* In the child: allocate, check, free, and _exit with 0 or the number of the first failed
   step (a step that leaves nothing to go on exits at once; the others let the rest run). */
static void fk_child(unsigned char **mine, size_t nmine, int had_cache) {
  int code = 0;
#define FK_LATER(c) do { if (!code) code = (c); } while (0)
  alarm(30); /* the child's own watchdog (the handler exits with 3) */
  for (size_t i = 0; i < nmine; i++)
    if (mine[i][0] != (unsigned char)(i + 1) || mine[i][999] != (unsigned char)(i + 1)) _exit(10);
  static const size_t sizes[] = {1, 16, 100, 1000, 4000, 32 * KiB, 100 * KiB, MiB, 40 * MiB};
  void *ps[sizeof sizes / sizeof *sizes];
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    unsigned char *p = (unsigned char *)segalloc_malloc(sizes[i]);
    if (!p) _exit(11);
    p[0] = p[sizes[i] - 1] = (unsigned char)i;
    ps[i] = p;
  }
  void *al = segalloc_aligned_alloc(64 * KiB, 1000);
  if (!al || (uintptr_t)al % (64 * KiB)) _exit(12);
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    unsigned char *p = (unsigned char *)ps[i];
    if (p[0] != (unsigned char)i || p[sizes[i] - 1] != (unsigned char)i) _exit(13);
    segalloc_free(p);
  }
  segalloc_free(al);
  for (size_t i = 0; i < nmine; i++) segalloc_free(mine[i]); /* the parent's blocks, inherited */
  segalloc_stats_t st;
  segalloc_stats(&st);
  /* one thread, quiet: the statistics add up (and keep adding up below) */
  if (!test_stats_add_up(&st)) FK_LATER(14);
  /* the caches of the parent's other threads were taken back: only this one is left */
  if (had_cache && st.threads != 1) FK_LATER(15);
  if (!had_cache && st.threads > 1) FK_LATER(15);
  pthread_t t;
  int ok = 0;
  if (pthread_create(&t, NULL, fk_child_thread, &ok) != 0) _exit(16);
  pthread_join(t, NULL);
  if (!ok) _exit(17);
  segalloc_trim();
  segalloc_stats(&st);
  if (!test_stats_add_up(&st)) FK_LATER(18);
  _exit(code);
#undef FK_LATER
}

static void *fk_forker(void *arg) {
  int id = (int)(uintptr_t)arg;
  for (int f = 0; f < FK_FORKS; f++) {
    /* forker 0 never allocates (its thread has no cache); the others hold blocks */
    unsigned char *mine[4];
    size_t nmine = 0;
    if (id != 0) {
      for (; nmine < 4; nmine++) {
        mine[nmine] = (unsigned char *)segalloc_malloc(1000 + nmine * 5000);
        if (!mine[nmine]) abort();
        mine[nmine][0] = mine[nmine][999] = (unsigned char)(nmine + 1);
      }
    }
    pid_t pid = fork();
    if (pid == 0) fk_child(mine, nmine, id != 0);
    if (pid < 0) {
      pthread_mutex_lock(&fk_lock);
      fk_fork_failed++;
      pthread_mutex_unlock(&fk_lock);
    } else {
      int status = 0, done = 0;
      for (int waited = 0; waited < 20000; waited++) { /* 20 s */
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) { done = 1; break; }
        if (w < 0 && errno != EINTR) break;
        sleep_ms(1);
      }
      pthread_mutex_lock(&fk_lock);
      fk_children++;
      if (!done) {
        fk_timeouts++;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fk_child_failed++;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        if (!WIFEXITED(status)) {
          if (WIFSIGNALED(status) && WTERMSIG(status) < 65) fk_fail_signal[WTERMSIG(status)]++;
        } else if (code < 32) {
          fk_fail_code[code]++;
        }
        if (fk_child_failed <= 5) { /* the first few; the summary counts them all */
          if (!WIFEXITED(status))
            fprintf(stderr, "FAIL fork: child killed by signal %d\n", WTERMSIG(status));
          else
            fprintf(stderr, "FAIL fork: child exited with %d\n", code);
        }
      }
      pthread_mutex_unlock(&fk_lock);
    }
    for (size_t i = 0; i < nmine; i++) segalloc_free(mine[i]);
  }
  return NULL;
}

static int run_fork(void) {
  watchdog(3, 150);
  void *warm = segalloc_malloc(64);
  segalloc_free(warm);
  segalloc_stats_t base = snap();
  pthread_t al[FK_ALLOCATORS], fk[FK_FORKERS];
  for (int i = 0; i < FK_ALLOCATORS; i++) pthread_create(&al[i], NULL, fk_allocator, (void *)(uintptr_t)(i + 1));
  for (int i = 0; i < FK_FORKERS; i++) pthread_create(&fk[i], NULL, fk_forker, (void *)(uintptr_t)i);
  for (int i = 0; i < FK_FORKERS; i++) pthread_join(fk[i], NULL);
  fk_stop = 1;
  for (int i = 0; i < FK_ALLOCATORS; i++) pthread_join(al[i], NULL);
  printf("fork: %lu children from %d threads while %d threads allocated: %lu failed, %lu hung, %lu forks refused\n",
         fk_children, FK_FORKERS, FK_ALLOCATORS, fk_child_failed, fk_timeouts, fk_fork_failed);
  static const char *steps[32] = {
    [3] = "the child's watchdog fired (a hang)", [10] = "the parent's blocks were intact",
    [11] = "malloc of every kind", [12] = "aligned_alloc(64 KiB)", [13] = "the child's blocks kept their contents",
    [14] = "the statistics add up (one thread, quiet)", [15] = "the dead threads' caches were taken back",
    [16] = "pthread_create", [17] = "a new thread allocates", [18] = "the statistics add up after trim"};
  for (int c = 0; c < 32; c++)
    if (fk_fail_code[c]) printf("  %lu children failed step %d: %s\n", fk_fail_code[c], c, steps[c] ? steps[c] : "?");
  for (int g = 0; g < 65; g++)
    if (fk_fail_signal[g]) printf("  %lu children killed by signal %d (%s)\n", fk_fail_signal[g], g, strsignal(g));
  CHECK(fk_children == FK_FORKERS * FK_FORKS);
  CHECK(fk_child_failed == 0);
  CHECK(fk_timeouts == 0);
  CHECK(fk_fork_failed == 0);
  segalloc_stats_t st = snap();
  CHECK(test_stats_add_up(&st));
  CHECK(st.live == base.live);
  CHECK(st.mallocs - st.frees == base.mallocs - base.frees);
  CHECK(st.threads == base.threads);
  return test_finish();
}

/* ---- (c) what a fork's child gets back from the threads it lost ---- */

#define FL_FORKS 200
#define FL_SLACK 4 /* objects a worker can be caught with in mid-call, two workers */
static long fl_held; /* blocks the workers hold (atomic): what a child must find in use */
static int fl_stop;

static void *fl_overflower(void *arg) {
  (void)arg;
  static void *blk[2000];
  while (!__atomic_load_n(&fl_stop, __ATOMIC_RELAXED)) {
    for (int i = 0; i < 2000; i++) {
      blk[i] = segalloc_malloc(64);
      __atomic_add_fetch(&fl_held, 1, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < 2000; i++) {
      segalloc_free(blk[i]);
      __atomic_sub_fetch(&fl_held, 1, __ATOMIC_RELAXED);
    }
  }
  return NULL;
}

static void *fl_short(void *arg) {
  (void)arg;
  static __thread void *blk[40][64];
  for (int c = 0; c < 40; c++)
    for (int i = 0; i < 64; i++) {
      blk[c][i] = segalloc_malloc(16 + 16 * (size_t)c);
      __atomic_add_fetch(&fl_held, 1, __ATOMIC_RELAXED);
    }
  for (int c = 0; c < 40; c++)
    for (int i = 0; i < 64; i++) {
      segalloc_free(blk[c][i]);
      __atomic_sub_fetch(&fl_held, 1, __ATOMIC_RELAXED);
    }
  return NULL; /* its cache holds some 2,500 objects for its key destructor to give back */
}

static void *fl_spawner(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&fl_stop, __ATOMIC_RELAXED)) {
    pthread_t t;
    if (pthread_create(&t, NULL, fl_short, NULL) == 0) pthread_join(t, NULL);
  }
  return NULL;
}

static int run_forkloss(void) {
  watchdog(7, 120);
  pthread_t ov, sp;
  pthread_create(&ov, NULL, fl_overflower, NULL);
  pthread_create(&sp, NULL, fl_spawner, NULL);
  sleep_ms(20);
  long lossy = 0, worst = 0, failed = 0;
  for (int f = 0; f < FL_FORKS; f++) {
    int fd[2];
    if (pipe(fd) != 0) { failed++; continue; }
    pid_t pid = fork();
    if (pid == 0) {
      alarm(20);
      long held = __atomic_load_n(&fl_held, __ATOMIC_RELAXED); /* as the fork left it */
      segalloc_trim();
      segalloc_stats_t st;
      segalloc_stats(&st);
      long in_use = 0;
      for (unsigned c = 1; c < st.nclasses; c++) in_use += (long)st.classes[c].objects_in_use;
      long r[2] = {in_use - held, test_stats_add_up(&st)};
      ssize_t w = write(fd[1], r, sizeof r);
      _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    long r[2] = {0, 0};
    ssize_t got = pid > 0 ? read(fd[0], r, sizeof r) : -1;
    close(fd[0]);
    close(fd[1]);
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    if (pid < 0 || got != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !r[1]) {
      failed++;
      continue;
    }
    long lost = r[0] < 0 ? -r[0] : r[0];
    if (lost > FL_SLACK) lossy++;
    if (lost > worst) worst = lost;
  }
  __atomic_store_n(&fl_stop, 1, __ATOMIC_RELAXED);
  pthread_join(ov, NULL);
  pthread_join(sp, NULL);
  printf("  forkloss: %d children; %ld off by more than %d objects in use (most %ld); %ld failed\n", FL_FORKS, lossy, FL_SLACK, worst,
         failed);
  CHECK(lossy == 0);
  CHECK(failed == 0);
  return test_finish();
}

/* ---- (d) thread create/exit storms ------------------------------------------------------ */

#define ST_THREADS 2000
#define ST_WAVE 16

static void *st_handoff[ST_THREADS][2];
static void *st_given[ST_THREADS];

static void *st_short(void *arg) {
  int id = (int)(uintptr_t)arg;
  uint64_t r = (uint64_t)(id + 1) * 0x9e3779b97f4a7c15ull | 1;
  /* the first call of some threads is a free (of a block main allocated for them) */
  if (st_given[id]) {
    segalloc_free(st_given[id]);
    st_given[id] = NULL;
  }
  void *p[20];
  for (int i = 0; i < 20; i++) {
    unsigned k = (unsigned)(rnd(&r) % 100);
    size_t n = k < 85 ? rnd(&r) % 3000 + 1 : k < 99 ? rnd(&r) % (300 * KiB) + 1 : 40 * MiB;
    p[i] = k % 9 == 0 ? segalloc_aligned_alloc(256, n) : segalloc_malloc(n);
    if (!p[i]) abort();
    memset(p[i], id & 0xff, n < 64 ? n : 64);
  }
  /* two blocks stay for main; the rest are freed here, some in a second pass */
  st_handoff[id][0] = p[0];
  st_handoff[id][1] = p[1];
  for (int i = 2; i < 20; i += 2) segalloc_free(p[i]);
  if (id % 5 == 0) segalloc_thread_flush();
  for (int i = 3; i < 20; i += 2) segalloc_free(p[i]);
  if (id % 7 == 0) pthread_exit(NULL); /* the other way out */
  return NULL;
}

static int st_check(const char *what, const segalloc_stats_t *base) {
  segalloc_stats_t st = snap();
  int ok = test_stats_add_up(&st) && st.live == base->live && st.mallocs - st.frees == base->mallocs - base->frees &&
           st.threads == base->threads;
  printf("  %s: live %zu (baseline %zu), mallocs - frees %llu (%llu), threads %zu (%zu), mallocs %llu\n", what,
         st.live, base->live, (unsigned long long)(st.mallocs - st.frees),
         (unsigned long long)(base->mallocs - base->frees), st.threads, base->threads, (unsigned long long)st.mallocs);
  fflush(stdout);
  CHECK(test_stats_add_up(&st));
  CHECK(st.live == base->live);
  CHECK(st.mallocs - st.frees == base->mallocs - base->frees);
  CHECK(st.threads == base->threads);
  return ok;
}

/* detached threads: main waits on a counter, then for the caches to be returned */
static int st_detached_left;
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;

static void *st_detached(void *arg) {
  int id = (int)(uintptr_t)arg;
  void *p[8];
  for (int i = 0; i < 8; i++) {
    p[i] = segalloc_malloc((size_t)(id % 50 + 1) * (size_t)(i + 1) * 13);
    if (!p[i]) abort();
  }
  for (int i = 0; i < 8; i++) segalloc_free(p[i]);
  pthread_mutex_lock(&st_lock);
  st_detached_left--;
  pthread_mutex_unlock(&st_lock);
  return NULL;
}

/* key destructors that allocate: one runs before segalloc's own (its key is older), one
   after (younger), when the thread's cache is already gone */
static pthread_key_t st_key_early, st_key_late;
static void *st_late_blocks[ST_THREADS];
static int st_late_next;

static void st_destructor(void *v) {
  segalloc_free(v);
  void *p = segalloc_malloc(500);
  if (!p) abort();
  segalloc_free(p);
  void *keep = segalloc_malloc(3000); /* left for main */
  if (!keep) abort();
  pthread_mutex_lock(&st_lock);
  if (st_late_next < ST_THREADS) st_late_blocks[st_late_next++] = keep;
  else segalloc_free(keep);
  pthread_mutex_unlock(&st_lock);
}

static void *st_keyed(void *arg) {
  (void)arg;
  pthread_setspecific(st_key_early, segalloc_malloc(100));
  pthread_setspecific(st_key_late, segalloc_malloc(200));
  void *p = segalloc_malloc(777);
  segalloc_free(p);
  return NULL;
}

static int run_storm(void) {
  watchdog(4, 150);
  /* created before segalloc's first call, so before its key */
  pthread_key_create(&st_key_early, st_destructor);
  void *warm = segalloc_malloc(64);
  segalloc_free(warm);
  pthread_key_create(&st_key_late, st_destructor);
  segalloc_stats_t base = snap();
  printf("storm: baseline threads %zu\n", base.threads);

  /* 1. 2000 joinable threads, 16 at a time */
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 128 * KiB);
  int create_failed = 0;
  for (int w = 0; w < ST_THREADS; w += ST_WAVE) {
    pthread_t th[ST_WAVE];
    int made[ST_WAVE];
    for (int i = 0; i < ST_WAVE; i++) {
      int id = w + i;
      st_given[id] = id % 3 == 0 ? segalloc_malloc((size_t)id % 500 + 1) : NULL;
      made[i] = pthread_create(&th[i], &at, st_short, (void *)(uintptr_t)id) == 0;
      if (!made[i]) {
        create_failed++;
        segalloc_free(st_given[id]);
        st_given[id] = NULL;
      }
    }
    for (int i = 0; i < ST_WAVE; i++)
      if (made[i]) pthread_join(th[i], NULL);
    /* main frees what the wave left, checking it kept its contents */
    for (int i = 0; i < ST_WAVE; i++) {
      int id = w + i;
      for (int j = 0; j < 2; j++) {
        unsigned char *p = (unsigned char *)st_handoff[id][j];
        if (p && p[0] != (unsigned char)(id & 0xff)) CHECK(0);
        segalloc_free(p);
        st_handoff[id][j] = NULL;
      }
    }
  }
  CHECK(create_failed == 0);
  st_check("after 2000 joinable threads", &base);

  /* 2. 500 detached threads */
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  st_detached_left = 500;
  for (int i = 0; i < 500; i++) {
    pthread_t t;
    while (pthread_create(&t, &at, st_detached, (void *)(uintptr_t)i) != 0) sleep_ms(1);
    if (i % 32 == 31) sleep_ms(1); /* keep a few hundred from piling up at once */
  }
  for (int i = 0; i < 10000; i++) {
    pthread_mutex_lock(&st_lock);
    int left = st_detached_left;
    pthread_mutex_unlock(&st_lock);
    if (left == 0) break;
    sleep_ms(1);
  }
  /* the counter falls before the thread's cache is returned: wait for that too. A cache
     leaves the registry before it gives its objects back, and they count as live until
     it has (seen once in ten TSan runs: 7 blocks still out with the thread count back), so
     wait for the live count as well; a leak still fails below, after 5 s */
  segalloc_stats_t st = snap();
  for (int i = 0; i < 5000 && (st.threads != base.threads || st.live != base.live ||
                               st.mallocs - st.frees != base.mallocs - base.frees); i++) {
    sleep_ms(1);
    st = snap();
  }
  st_check("after 500 detached threads", &base);

  /* 3. key destructors that allocate, before and after segalloc's own */
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_JOINABLE);
  for (int w = 0; w < 400; w += ST_WAVE) {
    pthread_t th[ST_WAVE];
    for (int i = 0; i < ST_WAVE; i++) CHECK(pthread_create(&th[i], &at, st_keyed, NULL) == 0);
    for (int i = 0; i < ST_WAVE; i++) pthread_join(th[i], NULL);
  }
  printf("  %d blocks left by key destructors\n", st_late_next);
  CHECK(st_late_next == 2 * 400);
  for (int i = 0; i < st_late_next; i++) segalloc_free(st_late_blocks[i]);
  st_late_next = 0;
  st_check("after 400 threads with allocating key destructors", &base);

  /* 4. the heap works for main, and trims to nothing cached */
  void *p = segalloc_malloc(12345);
  CHECK(p != NULL);
  segalloc_free(p);
  segalloc_trim();
  st = snap();
  CHECK(st.thread_cached == 0);
  CHECK(test_stats_add_up(&st));
  pthread_attr_destroy(&at);
  return test_finish();
}

/* ---- (d') the first call of a thread, and calls after its cache is gone ---------------
   A thread starts on a shared empty cache and gets its own at its first slow path; after
   its key destructor has run it is back on the empty cache. Every API function must work
   as the first call of a thread and in a destructor that runs after segalloc's. Each
   function is tried in a child process, so one crash does not hide the others. */

static void *fc_block; /* allocated by main, for the calls that take a pointer */
static pthread_key_t fc_key_late;
static volatile int fc_ok;

/* 1 if API call `which` behaved */
static int fc_call(int which) {
  void *p = NULL, *q = NULL;
  int ok = 1;
  switch (which) {
    case 0: segalloc_free(NULL); break;
    case 1: segalloc_free_sized(NULL, 0); break;
    case 2: ok = segalloc_usable_size(NULL) == 0; break;
    case 3: ok = segalloc_usable_size(fc_block) >= 100; break;
    case 4: p = segalloc_malloc(0); ok = p != NULL; break;
    case 5: p = segalloc_malloc(100); ok = p != NULL; break;
    case 6: p = segalloc_malloc(300 * KiB); ok = p != NULL; break;
    case 7: p = segalloc_malloc(40 * MiB); ok = p != NULL; break;
    case 8: p = segalloc_calloc(10, 10); ok = p && ((char *)p)[99] == 0; break;
    case 9: p = segalloc_realloc(NULL, 100); ok = p != NULL; break;
    case 10: p = segalloc_reallocarray(NULL, 10, 10); ok = p != NULL; break;
    case 11: p = segalloc_aligned_alloc(64, 100); ok = p && (uintptr_t)p % 64 == 0; break;
    case 12: ok = segalloc_posix_memalign(&p, 4096, 100) == 0 && (uintptr_t)p % 4096 == 0; break;
    case 13: p = segalloc_memalign(256, 100); ok = p && (uintptr_t)p % 256 == 0; break;
    case 14: p = segalloc_valloc(100); ok = p && (uintptr_t)p % 4096 == 0; break;
    case 15: p = segalloc_pvalloc(100); ok = p && (uintptr_t)p % 4096 == 0; break;
    case 16: segalloc_thread_flush(); break;
    case 17: segalloc_trim(); break;
    case 18: { segalloc_stats_t st; segalloc_stats(&st); ok = test_stats_add_up(&st); break; }
    case 19: errno = 0; p = segalloc_malloc(SIZE_MAX); ok = !p && errno == ENOMEM; break;
    case 20: /* a block from main: freed here (the thread's first call is a free) */
      if (fc_block) segalloc_free(fc_block);
      fc_block = NULL;
      break;
    default: { /* realloc of main's block */
      q = segalloc_realloc(fc_block, 5000);
      ok = q != NULL && ((unsigned char *)q)[0] == 0xab;
      if (q) fc_block = q;
      break;
    }
  }
  if (p) {
    if (which != 4) ((unsigned char *)p)[0] = 1; /* malloc(0)'s block has no byte to write */
    segalloc_free(p);
  }
  return ok;
}
#define FC_CALLS 22
static const char *fc_names[FC_CALLS] = {
  "free(NULL)", "free_sized(NULL, 0)", "usable_size(NULL)", "usable_size(main's block)", "malloc(0)",
  "malloc(100)", "malloc(300 KiB)", "malloc(40 MiB)", "calloc(10, 10)", "realloc(NULL, 100)",
  "reallocarray(NULL, 10, 10)", "aligned_alloc(64, 100)", "posix_memalign(4096, 100)", "memalign(256, 100)",
  "valloc(100)", "pvalloc(100)", "thread_flush()", "trim()", "stats()", "malloc(SIZE_MAX)",
  "free(main's block)", "realloc(main's block, 5000)"};

static void fc_destructor(void *v) {
  /* runs after segalloc's own destructor: this thread's cache is gone */
  int which = (int)(uintptr_t)v - 1;
  if (!fc_call(which)) fc_ok = 0;
  if (!fc_call(5)) fc_ok = 0; /* and a plain malloc/free */
}

static void *fc_thread(void *arg) {
  int which = (int)(uintptr_t)arg;
  if (!fc_call(which)) fc_ok = 0; /* the first segalloc call of this thread */
  if (!fc_call(5)) fc_ok = 0;
  /* the same call again in a destructor, after segalloc's (main makes the key after
     segalloc's own, and keys' destructors run in creation order) */
  pthread_setspecific(fc_key_late, (void *)(uintptr_t)(which + 1));
  return NULL;
}

static int run_firstcall(void) {
  watchdog(5, 100);
  for (int which = 0; which < FC_CALLS; which++) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm(20);
      /* in the child: main allocates (creating segalloc's key), then the late key */
      fc_block = segalloc_malloc(100);
      memset(fc_block, 0xab, 100);
      pthread_key_create(&fc_key_late, fc_destructor);
      fc_ok = 1;
      pthread_t t;
      if (pthread_create(&t, NULL, fc_thread, (void *)(uintptr_t)which) != 0) _exit(2);
      pthread_join(t, NULL);
      if (fc_block && which != 20) {
        if (((unsigned char *)fc_block)[0] != 0xab) fc_ok = 0;
        segalloc_free(fc_block);
      }
      segalloc_stats_t st;
      segalloc_stats(&st);
      if (st.threads != 1 || !test_stats_add_up(&st)) _exit(4);
      _exit(fc_ok ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) status = -1;
    int ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
      if (pid > 0 && WIFSIGNALED(status))
        printf("FAIL firstcall: %s as a thread's first call (or after its cache is gone): killed by signal %d\n",
               fc_names[which], WTERMSIG(status));
      else
        printf("FAIL firstcall: %s as a thread's first call (or after its cache is gone): exit %d\n", fc_names[which],
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    CHECK(ok);
  }
  return test_finish();
}

/* ---- (e) pages the OS will not take back ---- */

/* How many bytes of b are not zero. */
static size_t lk_nonzero(const unsigned char *b, size_t n) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += b[i] != 0;
  return bad;
}

/* A block of n bytes is calloc'd, locked, filled and freed while locked; `how` then has
   segalloc try to give its pages back (a trim, or nothing: the free's own release). Linux
   refuses MADV_DONTNEED on locked pages, so they keep the fill: a calloc of the same size
   (served from the same pages, the only free ones of that length resident) must still
   return zeros. Then the pages are unlocked and a trim must give them back. */
static void lk_case(const char *what, size_t n, int trim) {
  unsigned char *p = (unsigned char *)segalloc_calloc(1, n);
  CHECK(p != NULL);
  if (!p) return;
  int locked = mlock(p, n) == 0;
  if (!locked) printf("FAIL locked %s: mlock(%zu bytes): %s (RLIMIT_MEMLOCK too low?)\n", what, n, strerror(errno));
  CHECK(locked);
  /* the premise: the kernel now refuses to drop these pages (ASan's mlock, for one, is a
     no-op, so this mode runs in the plain build only) */
  int refused = locked && madvise(p, n, MADV_DONTNEED) != 0;
  if (locked && !refused) printf("FAIL locked %s: madvise(MADV_DONTNEED) succeeded on locked pages\n", what);
  CHECK(refused);
  memset(p, 0x5a, n);
  segalloc_free(p); /* still locked: the pages stay locked with the mapping */
  if (trim) segalloc_trim();
  segalloc_stats_t st;
  segalloc_stats(&st);
  CHECK(test_stats_add_up(&st));
  CHECK(st.pageheap_free >= n); /* still resident: not counted as released */
  unsigned char *q = (unsigned char *)segalloc_calloc(1, n);
  CHECK(q != NULL);
  if (q) {
    size_t bad = lk_nonzero(q, n);
    if (bad) printf("FAIL locked %s: calloc(%zu) at %p (the freed block was %p) has %zu bytes that are not zero\n", what, n, (void *)q, (void *)p, bad);
    CHECK(bad == 0);
    segalloc_free(q);
  }
  CHECK(segalloc_check_heap() == 0);
  if (locked) munlock(p, n);
  segalloc_trim();
  segalloc_stats(&st);
  CHECK(test_stats_add_up(&st));
  CHECK(st.pageheap_free < n); /* unlocked: a trim gives the pages back */
}

static int run_locked(void) {
  watchdog(6, 60);
  struct rlimit rl; /* as much lockable memory as the hard limit allows */
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_MEMLOCK, &rl);
  }
  lk_case("40 KiB block, segalloc_trim", 40 << 10, 1);
  lk_case("6 MiB block, the release in free", 6 << 20, 0);
  printf("  locked: calloc returned zeros over pages the OS would not release\n");
  return test_finish();
}

/* mapcount: a munmap the kernel refuses still gives the memory back. Unmapping the middle
   of a mapping splits it, which takes one more of the process's mappings; at
   vm.max_map_count that fails (ENOMEM), and a huge block freed then stayed mapped and
   resident for good (found by review). segalloc__os_unmap now falls back on
   MADV_DONTNEED: the address space stays taken, the memory goes back. */
static int run_mapcount(void) {
  watchdog(6, 60);
  size_t os = (size_t)sysconf(_SC_PAGESIZE), limit = 65530;
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  if (f) {
    unsigned long v;
    if (fscanf(f, "%lu", &v) == 1) limit = v;
    fclose(f);
  }
  int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  unsigned char *r = (unsigned char *)mmap(NULL, 64 * os, PROT_READ | PROT_WRITE, fl, -1, 0);
  CHECK(r != MAP_FAILED);
  if (r == MAP_FAILED) return test_finish();
  memset(r, 0x5a, 64 * os);
  /* one mapping per page of alternating protection, until the kernel refuses another */
  size_t zpages = 2 * limit + 64, i;
  unsigned char *z = (unsigned char *)mmap(NULL, zpages * os, PROT_NONE, fl, -1, 0);
  CHECK(z != MAP_FAILED);
  if (z == MAP_FAILED) return test_finish();
  int err = 0;
  for (i = 0; i < zpages; i += 2)
    if (mprotect(z + i * os, os, PROT_READ) != 0) {
      err = errno;
      break;
    }
  CHECK(i < zpages && err == ENOMEM); /* at the limit */
  errno = 0;
  segalloc__os_unmap(r + 16 * os, 16 * os); /* the middle: a split the kernel refuses */
  int kept_errno = errno == 0;
  unsigned char vec[16];
  int mapped = mincore(r + 16 * os, 16 * os, vec) == 0; /* fails on unmapped pages */
  int resident = 0;
  for (int k = 0; mapped && k < 16; k++) resident += vec[k] & 1;
  munmap(z, zpages * os); /* below the limit again */
  printf("  mapcount: limit %zu reached after %zu mprotects; the refused unmap left the range %s, %d of 16 pages resident\n",
         limit, i / 2, mapped ? "mapped" : "unmapped", resident);
  CHECK(mapped);        /* the premise: munmap failed */
  CHECK(resident == 0); /* but the memory went back */
  CHECK(r[16 * os] == 0 && r[32 * os - 1] == 0 && r[15 * os] == 0x5a && r[32 * os] == 0x5a);
  CHECK(kept_errno);
  munmap(r, 64 * os);
  return test_finish();
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  printf("test_faults %s\n", mode); /* stdout's buffer, before any squeeze */
  fflush(stdout);
  if (strcmp(mode, "oom") == 0) return run_oom();
  if (strcmp(mode, "threadfail") == 0) return run_threadfail();
  if (strcmp(mode, "fork") == 0) return run_fork();
  if (strcmp(mode, "storm") == 0) return run_storm();
  if (strcmp(mode, "firstcall") == 0) return run_firstcall();
  if (strcmp(mode, "locked") == 0) return run_locked();
  if (strcmp(mode, "forkloss") == 0) return run_forkloss();
  if (strcmp(mode, "mapcount") == 0) return run_mapcount();
  fprintf(stderr, "usage: %s oom|threadfail|fork|forkloss|storm|firstcall|locked|mapcount\n", argv[0]);
  return 2;
}

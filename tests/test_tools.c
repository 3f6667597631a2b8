/* Seeded heap bugs for the tools users already have (tests/run_tools.sh runs each case and
   checks that the tool reported it):
     leak, uaf, overflow  under Valgrind memcheck, built with SEGALLOC_VALGRIND=1
     uaf, overflow        under ASan, built with -fsanitize=address
     canary               built with SEGALLOC_DEBUG=1: segalloc itself stops the program
     fill                 SEGALLOC_DEBUG=1: new blocks read 0xAA, freed ones 0xDD
     check                segalloc_check_heap() is quiet on a healthy heap and names a free
                          block that was written after free
     waf_small, waf_large, waf_calloc, waf_aligned, waf_span
                          SEGALLOC_DEBUG=1: a write into the middle of a freed block is found
                          when malloc (calloc, aligned_alloc) hands the block out again, or
                          when its span goes back to the page heap: segalloc stops the program
     check_junk           SEGALLOC_DEBUG=1: check_heap names a free object whose junk was
                          written, in the thread's cache and on its span
     churn, churn_waf     many sizes, realloc, calloc, aligned, trim, flushes and threads:
                          the debug build and ASan report nothing (churn_waf: then a write after
                          free at the end that must be found)
     neighbour, neighbour_uncarved
                          ASan: a write past a block into the next object of its class, never
                          handed out (carved, or not yet)
   The bugs are deliberate; each case does one. */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocate `size` (by `how`: m malloc, c calloc, a aligned_alloc to 64) until `victim`
   comes back, at most 20,000 times; the blocks in between are kept. Returns whether it
   came back (the debug build stops the program before that). */
static int until_back(void *victim, size_t size, char how) {
  static void *held[20000];
  int back = 0, n = 0;
  for (; n < 20000 && !back; n++) {
    held[n] = how == 'c' ? segalloc_calloc(1, size) : how == 'a' ? segalloc_aligned_alloc(64, size) : segalloc_malloc(size);
    back = held[n] == victim;
  }
  for (int i = 0; i < n; i++) segalloc_free(held[i]);
  return back;
}

/* Write after free: one byte in the middle of a freed block of `size`, then allocate the
   size again until the block comes back. */
static void write_after_free(size_t size, char how) {
  unsigned char *p = (unsigned char *)(how == 'a' ? segalloc_aligned_alloc(64, size) : segalloc_malloc(size));
  memset(p, 1, size);
  segalloc_free(p);
  printf("freed %p\n", (void *)p);
  fflush(stdout);
  p[size / 2] = 0x41; /* the bug */
  int back = until_back(p, size, how);
  printf("not found (block came back: %d)\n", back);
}

/* Churn: blocks of many sizes (small, large, one huge now and then), grown and shrunk by
   realloc, calloc'd and aligned, freed in random order, with flushes, trims and
   check_heap between rounds. Deterministic per seed. */
static unsigned churn_rand(unsigned *x) {
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}
static void *churn_thread(void *arg) {
  unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 1;
  enum { SLOTS = 512 };
  static __thread unsigned char *slot[SLOTS];
  static __thread size_t len[SLOTS];
  for (int round = 0; round < 12; round++) {
    for (int i = 0; i < 3000; i++) {
      unsigned r = churn_rand(&x), k = r % SLOTS;
      if (slot[k]) {
        for (size_t b = 0; b < len[k]; b += 97) /* the bytes the program wrote are still there */
          if (slot[k][b] != (unsigned char)(len[k] + b)) {
            printf("churn: block lost its contents\n");
            exit(1);
          }
        if (r & 0x100) {
          size_t n = (r >> 12) % (len[k] * 2 + 64) + 1;
          unsigned char *q = (unsigned char *)segalloc_realloc(slot[k], n);
          if (!q) exit(1);
          slot[k] = q;
          len[k] = n;
          for (size_t b = 0; b < n; b += 97) q[b] = (unsigned char)(n + b);
          continue;
        }
        segalloc_free(slot[k]);
        slot[k] = NULL;
        continue;
      }
      size_t n;
      switch ((r >> 9) & 15) {
      case 0: n = 33000 + (r >> 13) % 150000; break;         /* large */
      case 1: n = (r >> 13) % 500 == 0 ? (36u << 20) : 2000; break; /* huge now and then */
      case 2: case 3: n = (r >> 13) % 8000 + 1; break;
      default: n = (r >> 13) % 600 + 1; break;
      }
      unsigned char *q;
      if ((r & 7) == 0) q = (unsigned char *)segalloc_calloc(1, n);
      else if ((r & 7) == 1) q = (unsigned char *)segalloc_aligned_alloc((size_t)16 << ((r >> 3) % 10), n);
      else q = (unsigned char *)segalloc_malloc(n);
      if (!q) exit(1);
      if ((r & 7) == 0)
        for (size_t b = 0; b < n; b += 61)
          if (q[b]) {
            printf("churn: calloc block not zero\n");
            exit(1);
          }
      for (size_t b = 0; b < n; b += 97) q[b] = (unsigned char)(n + b);
      slot[k] = q;
      len[k] = n;
    }
    if (round % 3 == 1) segalloc_thread_flush();
    if (round % 4 == 2) segalloc_trim();
  }
  for (int k = 0; k < SLOTS; k++) {
    segalloc_free(slot[k]);
    slot[k] = NULL;
  }
  return NULL;
}
static int churn(void) {
  pthread_t t[3];
  for (uintptr_t i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn_thread, (void *)(i + 1));
  churn_thread((void *)0);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  segalloc_trim();
  int bad = segalloc_check_heap();
  /* and again over what the trim released and the threads left behind */
  churn_thread((void *)7);
  return bad | segalloc_check_heap();
}

static volatile unsigned char sink;

static void *leak_one(void) { return segalloc_malloc(777); } /* the report names this */
/* a large block (its own span) and a huge one (its own mapping): segalloc's records of
   them must not count as pointers that keep them reachable */
static void *leak_large(void) { return segalloc_malloc(300000); }
static void *leak_huge(void) { return segalloc_malloc(40u << 20); }

int main(int argc, char **argv) {
  const char *c = argc > 1 ? argv[1] : "";
  unsigned char *keep = (unsigned char *)segalloc_malloc(64); /* a neighbour, kept */
  if (!strcmp(c, "leak_big")) {
    /* a huge block kept first: under Valgrind the first mapping can land where ld.so's
       own allocator records its end, which would make that one look reachable */
    static void *volatile kept;
    kept = segalloc_malloc(40u << 20);
    void *p = leak_large();
    p = leak_huge();
    p = NULL;
    (void)p;
  } else if (!strcmp(c, "leak")) {
    void *p = leak_one();
    p = NULL; /* the only pointer is gone */
    (void)p;
  } else if (!strcmp(c, "uaf")) {
    unsigned char *p = (unsigned char *)segalloc_malloc(100);
    memset(p, 1, 100);
    segalloc_free(p);
    sink = p[40];
  } else if (!strcmp(c, "overflow")) {
    unsigned char *p = (unsigned char *)segalloc_malloc(100);
    p[100] = 1; /* one past the end */
    segalloc_free(p);
  } else if (!strcmp(c, "canary")) {
    unsigned char *p = (unsigned char *)segalloc_malloc(100);
    memset(p, 0, 104); /* four bytes too many */
    segalloc_free(p);   /* stops here */
    return 0;
  } else if (!strcmp(c, "fill")) {
    unsigned char *p = (unsigned char *)segalloc_malloc(200);
    int fresh = p[0] == 0xAA && p[199] == 0xAA;
    segalloc_free(p);
    int junk = p[100] == 0xDD; /* reads freed memory on purpose */
    unsigned char *z = (unsigned char *)segalloc_calloc(1, 200);
    int zero = z[0] == 0 && z[199] == 0;
    segalloc_free(z);
    printf("fresh=%d junk=%d zero=%d\n", fresh, junk, zero);
  } else if (!strcmp(c, "leak_churn")) {
    /* 600 blocks leaked after their class has gone through the transfer cache: a head
       left behind in the cache's metadata would keep one of them "still reachable" */
    static void *blk[200];
    for (int r = 0; r < 3; r++) {
      for (int i = 0; i < 200; i++) blk[i] = segalloc_malloc(77);
      for (int i = 0; i < 200; i++) segalloc_free(blk[i]);
    }
    for (int i = 0; i < 600; i++) blk[i % 200] = segalloc_malloc(77);
    for (int i = 0; i < 200; i++) blk[i] = NULL;
  } else if (!strcmp(c, "uninit_realloc")) {
    /* realloc grows in place: memcheck must see the new bytes as undefined (also with
       SEGALLOC_DEBUG, whose fill it would otherwise take for the program's writes) */
    unsigned char *p = (unsigned char *)segalloc_malloc(100);
    memset(p, 1, 100);
    p = (unsigned char *)segalloc_realloc(p, 110);
    if (p[105] == 0xAA) sink = 1;
    segalloc_free(p);
  } else if (!strcmp(c, "check_cycle")) {
    /* a use after free that makes a chain parked in a transfer cache loop on itself:
       check_heap must report it, not walk it for ever */
    static void *blk[200];
    for (int r = 0; r < 3; r++) {
      for (int i = 0; i < 200; i++) blk[i] = segalloc_malloc(64);
      for (int i = 0; i < 200; i++) segalloc_free(blk[i]);
    }
    printf("healthy=%d\n", segalloc_check_heap());
    void **victim = NULL; /* the head of a parked chain (of 64 bytes plus the debug build's extra) */
    for (unsigned k = 1; k < SEGALLOC__NCLASSES && !victim; k++) {
      const segalloc__transfer *tr = segalloc__centrals[k].transfer;
      if (tr && tr->count) victim = (void **)tr->chain[0];
    }
    if (!victim) {
      printf("no chain parked\n");
      return 1;
    }
    segalloc__set_link(victim, victim);
    fflush(stdout);
    printf("corrupt=%d\n", segalloc_check_heap());
  } else if (!strcmp(c, "check_central")) {
    /* a write after free into blocks that have left the thread's cache, for a transfer
       cache and for their spans: check_heap looks at their free marks too */
    static void *blk[3000]; /* every tenth kept, so that their spans stay */
    for (int i = 0; i < 3000; i++) blk[i] = segalloc_malloc(48);
    for (int i = 0; i < 3000; i++)
      if (i % 10) segalloc_free(blk[i]);
    segalloc_thread_flush();
    printf("healthy=%d\n", segalloc_check_heap());
    fflush(stdout);
    void **parked = NULL; /* an object parked in a transfer cache, if any */
    for (unsigned k = 1; k < SEGALLOC__NCLASSES && !parked; k++) {
      const segalloc__transfer *tr = segalloc__centrals[k].transfer;
      if (tr && tr->count) parked = (void **)tr->chain[0];
    }
    if (parked) {
      void *was = parked[1];
      parked[1] = (void *)0x4141414141414141;
      printf("parked=%d\n", segalloc_check_heap() != 0);
      parked[1] = was;
    } else {
      printf("parked=1\n"); /* none parked: the spans below hold them all */
    }
    fflush(stdout);
    segalloc_trim(); /* the transfer caches go back to the spans */
    int parked_left = 0;
    for (unsigned k = 1; k < SEGALLOC__NCLASSES; k++)
      parked_left += segalloc__centrals[k].transfer && segalloc__centrals[k].transfer->count;
    printf("drained=%d\n", parked_left == 0 && segalloc_check_heap() == 0);
    fflush(stdout);
    for (int i = 0; i < 3000; i++)
      if (i % 10) ((void **)blk[i])[1] = (void *)0x4141414141414141;
    printf("spans=%d\n", segalloc_check_heap() != 0);
  } else if (!strcmp(c, "waf_small")) {
    write_after_free(100, 'm');
  } else if (!strcmp(c, "waf_large")) {
    write_after_free(300000, 'm');
  } else if (!strcmp(c, "waf_calloc")) {
    write_after_free(5000, 'c');
  } else if (!strcmp(c, "waf_aligned")) {
    write_after_free(700, 'a');
  } else if (!strcmp(c, "waf_span")) {
    /* the block never comes back: its span goes back to the page heap at the trim */
    static void *blk[400];
    for (int i = 0; i < 400; i++) blk[i] = segalloc_malloc(48);
    unsigned char *victim = (unsigned char *)blk[200];
    for (int i = 0; i < 400; i++) segalloc_free(blk[i]);
    victim[40] = 0x41; /* the bug */
    printf("freed %p\n", (void *)victim);
    fflush(stdout);
    segalloc_trim();
    printf("not found\n");
  } else if (!strcmp(c, "check_junk")) {
    void *blocks[100];
    for (int i = 0; i < 100; i++) blocks[i] = segalloc_malloc(200);
    for (int i = 0; i < 100; i += 2) segalloc_free(blocks[i]);
    printf("healthy=%d\n", segalloc_check_heap());
    fflush(stdout);
    unsigned char *victim = (unsigned char *)blocks[98]; /* freed last: in this thread's cache */
    victim[100] ^= 0xff; /* a write after free in the middle, not on the free mark */
    printf("cache=%d\n", segalloc_check_heap());
    fflush(stdout);
    victim[100] ^= 0xff;
    printf("mended=%d\n", segalloc_check_heap());
    fflush(stdout);
    segalloc_thread_flush(); /* back to its span (the others keep it from the page heap) */
    victim[150] = 0;
    printf("span=%d\n", segalloc_check_heap());
    fflush(stdout);
    victim[150] = 0xDD;
  } else if (!strcmp(c, "churn") || !strcmp(c, "churn_waf")) {
    int bad = churn();
    printf("churn done, check_heap=%d\n", bad);
    fflush(stdout);
    if (!strcmp(c, "churn_waf")) write_after_free(3000, 'm');
  } else if (!strcmp(c, "neighbour") || !strcmp(c, "neighbour_uncarved")) {
    /* the next object of the class after the last one handed out: carved and waiting on
       this thread's list (the fourth block: the list's slow start makes the refill before
       it carve four), or not carved yet (the first block of the class) */
    unsigned char *p = (unsigned char *)segalloc_malloc(100);
    for (int i = 0; i < 3 && !strcmp(c, "neighbour"); i++) p = (unsigned char *)segalloc_malloc(100);
    const segalloc__span *s = segalloc__span_of((uintptr_t)p);
    uintptr_t next_end = (uintptr_t)p + 2 * s->size;
    printf("carved=%d\n", next_end <= segalloc__span_start(s) + s->bump);
    fflush(stdout);
    p[s->size + 32] = 1; /* the bug: p[160] for 100 bytes (128 with a tool's 16 more) */
    segalloc_free(p);
  } else if (!strcmp(c, "check")) {
    void *blocks[100];
    for (int i = 0; i < 100; i++) blocks[i] = segalloc_malloc((size_t)(i * 37) % 3000 + 1);
    for (int i = 0; i < 100; i += 2) segalloc_free(blocks[i]);
    printf("healthy=%d\n", segalloc_check_heap());
    fflush(stdout);
    unsigned char *victim = (unsigned char *)blocks[10]; /* freed above */
    memset(victim + 8, 0x41, 8); /* a write after free over its second word */
    printf("corrupt=%d\n", segalloc_check_heap());
  }
  segalloc_free(keep);
  return 0;
}

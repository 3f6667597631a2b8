/* Seeded heap bugs for the tools users already have (tests/run_tools.sh runs each case and
   checks that the tool reported it):
     leak, uaf, overflow  under Valgrind memcheck, built with SEGALLOC_VALGRIND=1
     uaf, overflow        under ASan, built with -fsanitize=address
     canary               built with SEGALLOC_DEBUG=1: segalloc itself stops the program
     fill                 SEGALLOC_DEBUG=1: new blocks read 0xAA, freed ones 0xDD
     check                segalloc_check_heap() is quiet on a healthy heap and names a free
                          block that was written after free
   The bugs are deliberate; each case does one. */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

#include <stdio.h>
#include <string.h>

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

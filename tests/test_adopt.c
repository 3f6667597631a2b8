/* test_adopt.c: fork's child takes back the cache of a thread that did not survive the fork
   walking its lists warily (tcache.c, segalloc__tcache_adopt): that thread may have been
   stopped in the middle of a push or a pop, so the walk stops at the first object that is
   not a free object of the list's class and gives back only what came before it.
   tests/coverage.sh found the stops never taken (the fork tests' threads are never caught
   half-way). Here a thread frees blocks into its cache and parks; the parent damages the
   thread's list in one of three ways, forks, and undoes the damage at once:
     mark       the second object lost its free mark (a pop that had just handed it out)
     class      the second object links to a live block of another class
     interior   the second object links into the middle of the first
   The child checks that exactly the objects before the damage went back to the central
   list, that the live block of the other class was not taken (its bytes intact, the heap
   checks clean) and that it can allocate; it reports by its exit status.
   Plain, ASan and TSan builds (tests/run.sh). */
#define _GNU_SOURCE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NBLK = 6 };
/* a link word as stored (encoded under SEGALLOC_DEBUG, internal.h) */
#if SEGALLOC_DEBUG
#define ENC(v) ((void *)((uintptr_t)(v) ^ segalloc__cookie))
#else
#define ENC(v) ((void *)(v))
#endif
static pthread_barrier_t parked, done;
static segalloc__tcache *victim; /* the parked thread's cache */
static unsigned vcls;            /* the class of its blocks */

static void *parker(void *arg) {
  (void)arg;
  void *b[NBLK];
  for (int i = 0; i < NBLK; i++) b[i] = segalloc_malloc(64);
  for (int i = 0; i < NBLK; i++) segalloc_free(b[i]); /* into this thread's cache */
  vcls = segalloc__span_of((uintptr_t)b[0])->cls;   /* ASan builds pad the size */
  victim = segalloc__tc;
  pthread_barrier_wait(&parked);
  pthread_barrier_wait(&done);
  return NULL;
}

/* The parked thread's list, damaged and mended by code that may touch free (under ASan,
   poisoned) blocks. */
static segalloc__nosan void *nth(int n) {
  void **o = (void **)victim->lists[vcls].head;
  for (int i = 0; o && i < n; i++) o = (void **)segalloc__link(o);
  return o;
}
static segalloc__nosan void get_words(void *o, void *w[2]) {
  w[0] = ((void **)o)[0];
  w[1] = ((void **)o)[1];
}
static segalloc__nosan void set_words(void *o, void *const w[2]) {
  ((void **)o)[0] = w[0];
  ((void **)o)[1] = w[1];
}
static segalloc__nosan void *get_word(void *o, int i) { return ((void **)o)[i]; }
static segalloc__nosan void set_word(void *o, int i, void *v) { ((void **)o)[i] = v; }

/* One fork with the list damaged by `how`; the child's exit status says what it found. */
static void one_fork(const char *how) {
  void *other = segalloc_malloc(1000); /* a live block of another class */
  memset(other, 0x5c, 1000);
  void *o1 = nth(0), *o2 = nth(1);
  uint32_t count = segalloc__tcache_count(victim, vcls);
  CHECK(o1 && o2 && count >= 3);
  if (!(o1 && o2 && count >= 3)) return;
  void *saved[2], *bad[2], *saved_o1w2 = get_word(o1, 2);
  get_words(o2, saved);
  bad[0] = saved[0];
  bad[1] = saved[1];
  /* each damage passes every test of the walk but the one it is about: the object it
     leads to carries a free mark, unless the mark is what is damaged */
  if (!strcmp(how, "mark")) {
    bad[1] = NULL;
  } else if (!strcmp(how, "class")) {
    bad[0] = ENC(other);
    set_word(other, 1, segalloc__free_mark(segalloc__cookie, other));
  } else {
    bad[0] = ENC((char *)o1 + 8);
    set_word(o1, 2, segalloc__free_mark(segalloc__cookie, (char *)o1 + 8)); /* o1 + 8's word 1 */
  }
  uint64_t out = segalloc__centrals[vcls].out;
  /* the damage leaves these for the child to give back: o1, and o2 unless its mark is gone */
  uint64_t back = !strcmp(how, "mark") ? 1 : 2;
  set_words(o2, bad);
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    if (segalloc__centrals[vcls].out != out - back) code |= 1; /* what went back */
    if (segalloc_check_heap() != 0) code |= 2;
    unsigned char *c = (unsigned char *)other;
    for (int i = 16; i < 1000; i++)
      if (c[i] != 0x5c) code |= 4; /* not handed out again (its words 0 and 1 aside) */
    void *p[200];
    for (int i = 0; i < 200; i++) {
      p[i] = segalloc_malloc(64);
      if (!p[i] || p[i] == other) code |= 8;
      else memset(p[i], 0x11, 64);
    }
    for (int i = 16; i < 1000; i++)
      if (c[i] != 0x5c) code |= 4;
    for (int i = 0; i < 200; i++) segalloc_free(p[i]);
    segalloc_stats_t st;
    segalloc_stats(&st);
    if (st.threads != 1) code |= 16; /* the parked thread's cache is gone */
    if (segalloc_check_heap() != 0) code |= 2;
    _exit(code);
  }
  set_words(o2, saved); /* mended before the parked thread can notice */
  set_word(o1, 2, saved_o1w2);
  set_word(other, 1, NULL);
  int status = -1;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status))
    fprintf(stderr, "FAIL %s: the child died of signal %d\n", how, WTERMSIG(status));
  else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    fprintf(stderr, "FAIL %s: child exit %d (bits: 1 count, 2 check_heap, 4 live block taken, 8 malloc, 16 threads)\n", how, WEXITSTATUS(status));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(segalloc_check_heap() == 0);
  segalloc_free(other);
}

int main(void) {
  pthread_barrier_init(&parked, NULL, 2);
  pthread_barrier_init(&done, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, parker, NULL);
  pthread_barrier_wait(&parked);
  one_fork("mark");
  one_fork("class");
  one_fork("interior");
  pthread_barrier_wait(&done);
  pthread_join(t, NULL);
  segalloc_stats_t st;
  segalloc_stats(&st);
  CHECK(st.threads == 1 && segalloc_check_heap() == 0);
  return test_finish();
}

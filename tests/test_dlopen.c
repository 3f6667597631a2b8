/* test_dlopen.c: segalloc inside a library that is dlopen()ed late, and the preloaded
   segalloc in a program that starts threads before its first allocation.

   Modes:
     test_dlopen LIB [--record]
         The program did not link LIB (tests/test_dlopen_lib.c built as a shared library).
         It starts threads, lets them run, then dlopen()s LIB and calls into it from the main
         thread, from the threads that were there before the dlopen, from threads the library
         starts and from threads the program starts afterwards, and frees blocks across
         threads. No "cannot allocate memory in static TLS block", no wrong block, and the
         library's statistics balance at the end. With --record a dlopen failure is printed
         as information, not counted as a failure (for the initial-exec build).
     test_dlopen threads-first
         Run with LD_PRELOAD=build/libsegalloc.so: the first thing main does is start
         threads, which race to make the first allocations; then more threads start after
         the program has allocated. All of it is segalloc's (dlsym finds segalloc_stats).
     test_dlopen dlclose LIB
         Information only: a thread uses LIB, LIB is dlclose()d, then the thread exits. Exits
         0 if the process survived. */
#define _GNU_SOURCE
#include "../segalloc.h" /* the API and segalloc_stats_t only: no implementation here */
#include "test.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OPAQUE(x) __asm__ volatile("" : "+r"(x) : : "memory")

static int (*dlt_work)(unsigned, int);
static int (*dlt_work_threads)(int, int);
static void *(*dlt_alloc)(size_t);
static int (*dlt_free)(void *);
static void (*dlt_stats)(segalloc_stats_t *);

static void *sym(void *h, const char *name) {
  void *p = dlsym(h, name);
  if (!p) printf("FAIL: dlsym(%s): %s\n", name, dlerror());
  return p;
}

/* ---- mode LIB ---- */

enum { OLD = 3, CROSS = 200 };
static pthread_barrier_t loaded, crossed, done_cross;
static void *to_main[OLD][CROSS], *from_main[OLD][CROSS];
static int old_errors[OLD], old_bad_frees[OLD];

/* A thread that was running before the library was loaded. */
static void *old_thread(void *arg) {
  int id = (int)(intptr_t)arg;
  /* the program's own allocations, whatever malloc the program has */
  for (int i = 0; i < 1000; i++) {
    char *s = (char *)malloc((size_t)(i % 300) + 1);
    OPAQUE(s);
    s[0] = 1;
    free(s);
  }
  pthread_barrier_wait(&loaded);
  old_errors[id] = dlt_work(77u + (unsigned)id, 20000);
  for (int i = 0; i < CROSS; i++) to_main[id][i] = dlt_alloc((size_t)(16 + i * 37 % 5000));
  pthread_barrier_wait(&crossed);
  for (int i = 0; i < CROSS; i++)
    if (!dlt_free(from_main[id][i])) old_bad_frees[id]++;
  pthread_barrier_wait(&done_cross);
  return NULL;
}

static void *new_thread(void *arg) {
  return (void *)(intptr_t)dlt_work((unsigned)(uintptr_t)arg, 20000);
}

static int run_lib(const char *lib, int record) {
  pthread_t old[OLD];
  pthread_barrier_init(&loaded, NULL, OLD + 1);
  pthread_barrier_init(&crossed, NULL, OLD + 1);
  pthread_barrier_init(&done_cross, NULL, OLD + 1);
  for (int i = 0; i < OLD; i++) pthread_create(&old[i], NULL, old_thread, (void *)(intptr_t)i);
  usleep(20000);

  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *err = dlerror();
    if (record) {
      printf("info: dlopen(%s) after threads started: FAILED: %s\n", lib, err);
      printf("0 passed, 0 failed\n");
      _exit(0); /* the old threads wait at a barrier forever */
    }
    printf("FAIL: dlopen(%s) after threads started: %s\n", lib, err);
    printf("0 passed, 1 failed\n");
    _exit(1);
  }
  if (record) printf("info: dlopen(%s) after threads started: loaded\n", lib);
  CHECK(h != NULL);
  *(void **)&dlt_work = sym(h, "dlt_work");
  *(void **)&dlt_work_threads = sym(h, "dlt_work_threads");
  *(void **)&dlt_alloc = sym(h, "dlt_alloc");
  *(void **)&dlt_free = sym(h, "dlt_free");
  *(void **)&dlt_stats = sym(h, "dlt_stats");
  if (!dlt_work || !dlt_work_threads || !dlt_alloc || !dlt_free || !dlt_stats) {
    printf("0 passed, 1 failed\n");
    _exit(1);
  }
  /* the library is not the process's malloc: this program's malloc is someone else's */
  CHECK(dlsym(RTLD_DEFAULT, "segalloc_malloc") == NULL || getenv("LD_PRELOAD") != NULL);

  /* main thread first, then everyone at once: old threads, library threads, new threads */
  CHECK(dlt_work(1, 20000) == 0);
  pthread_barrier_wait(&loaded);
  pthread_t fresh[3];
  for (int i = 0; i < 3; i++) pthread_create(&fresh[i], NULL, new_thread, (void *)(uintptr_t)(500 + i));
  CHECK(dlt_work_threads(4, 20000) == 0);
  int fresh_errors = 0;
  for (int i = 0; i < 3; i++) {
    void *r;
    pthread_join(fresh[i], &r);
    fresh_errors += (int)(intptr_t)r;
  }
  CHECK(fresh_errors == 0);

  /* across threads: blocks the old threads allocated, freed here, and the other way */
  for (int t = 0; t < OLD; t++)
    for (int i = 0; i < CROSS; i++) from_main[t][i] = dlt_alloc((size_t)(16 + i * 53 % 40000));
  pthread_barrier_wait(&crossed);
  int bad = 0;
  for (int t = 0; t < OLD; t++)
    for (int i = 0; i < CROSS; i++)
      if (!dlt_free(to_main[t][i])) bad++;
  CHECK(bad == 0);
  pthread_barrier_wait(&done_cross);
  for (int i = 0; i < OLD; i++) pthread_join(old[i], NULL);
  int old_bad = 0;
  for (int i = 0; i < OLD; i++) old_bad += old_errors[i] + old_bad_frees[i];
  CHECK(old_bad == 0);

  /* threads that come and go after the load */
  for (int round = 0; round < 20; round++) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, new_thread, (void *)(uintptr_t)(round * 4 + i + 9));
    int e = 0;
    for (int i = 0; i < 4; i++) {
      void *r;
      pthread_join(t[i], &r);
      e += (int)(intptr_t)r;
    }
    if (e) bad++;
  }
  CHECK(bad == 0);

  /* everything was freed: the library's counts balance, the exited threads' caches went */
  segalloc_stats_t st;
  dlt_stats(&st);
  CHECK(st.mallocs > 100000 && st.mallocs == st.frees);
  CHECK(st.live == 0);
  CHECK(st.threads <= 1);
  CHECK(test_stats_add_up(&st));
  if (st.mallocs != st.frees || st.live || st.threads > 1)
    fprintf(stderr, "  stats: mallocs %llu frees %llu live %zu threads %zu\n", (unsigned long long)st.mallocs,
            (unsigned long long)st.frees, st.live, st.threads);
  return test_finish();
}

/* ---- mode threads-first (under the preload) ---- */

static pthread_barrier_t go;
static void (*pre_stats)(segalloc_stats_t *);

static void *racer(void *arg) {
  pthread_barrier_wait(&go);
  unsigned x = (unsigned)(uintptr_t)arg * 2654435761u | 1;
  void *pool[64] = {0};
  intptr_t bad = 0;
  for (int i = 0; i < 50000; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    unsigned s = x % 64;
    if (pool[s]) {
      if (((unsigned char *)pool[s])[0] != (unsigned char)s) bad++;
      free(pool[s]);
    }
    size_t n = 1 + (x >> 8) % (x % 32 == 0 ? 200000 : 600);
    pool[s] = malloc(n);
    if (!pool[s]) bad++;
    else ((unsigned char *)pool[s])[0] = (unsigned char)s;
  }
  for (int i = 0; i < 64; i++) free(pool[i]);
  return (void *)bad;
}

static int run_threads_first(void) {
  /* before anything else: start the threads (pthread_create itself may allocate, through
     whatever malloc is in place) and let them all make their first allocations at once */
  enum { N = 4 };
  pthread_t t[N];
  /* (dlsym and segalloc_stats do not allocate) */
  *(void **)&pre_stats = dlsym(RTLD_DEFAULT, "segalloc_stats");
  uint64_t before_main = 0;
  if (pre_stats) {
    segalloc_stats_t st0;
    pre_stats(&st0);
    before_main = st0.mallocs;
  }
  pthread_barrier_init(&go, NULL, N);
  int created = 0;
  for (int i = 0; i < N; i++) created += pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)(i + 1)) == 0;
  intptr_t bad = 0;
  for (int i = 0; i < N; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (intptr_t)r;
  }
  CHECK(created == N && bad == 0);

  CHECK(pre_stats != NULL);
  if (!pre_stats) {
    printf("FAIL: segalloc_stats not found: is build/libsegalloc.so preloaded?\n");
    return test_finish();
  }
  segalloc_stats_t st;
  pre_stats(&st);
  CHECK(st.mallocs >= (uint64_t)N * 50000);
  printf("info: blocks segalloc handed out before main started its threads: %llu\n", (unsigned long long)before_main);

  /* the main thread allocates, then more threads start and finish */
  char *keep = (char *)malloc(1000);
  OPAQUE(keep);
  strcpy(keep, "main's block");
  pthread_barrier_destroy(&go);
  pthread_barrier_init(&go, NULL, N);
  for (int i = 0; i < N; i++) pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)(i + 100));
  bad = 0;
  for (int i = 0; i < N; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (intptr_t)r;
  }
  CHECK(bad == 0 && strcmp(keep, "main's block") == 0);
  free(keep);
  segalloc_stats_t st2;
  pre_stats(&st2);
  CHECK(st2.mallocs >= st.mallocs + (uint64_t)N * 50000);
  CHECK(st2.threads <= 1); /* the exited threads' caches went back */
  return test_finish();
}

/* ---- mode dlclose (information) ---- */

static pthread_barrier_t dc_used, dc_closed;
static void *dc_thread(void *arg) {
  (void)arg;
  int e = dlt_work(5, 1000);
  pthread_barrier_wait(&dc_used);
  pthread_barrier_wait(&dc_closed); /* the library is gone now; this thread exits */
  return (void *)(intptr_t)e;
}

static int run_dlclose(const char *lib) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    printf("info: dlopen: %s\n", dlerror());
    return 2;
  }
  *(void **)&dlt_work = dlsym(h, "dlt_work");
  pthread_barrier_init(&dc_used, NULL, 2);
  pthread_barrier_init(&dc_closed, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, dc_thread, NULL);
  pthread_barrier_wait(&dc_used);
  dlclose(h);
  pthread_barrier_wait(&dc_closed);
  pthread_join(t, NULL);
  pid_t pid = fork(); /* atfork handlers of an unloaded library must not run */
  if (pid == 0) _exit(0);
  int st = 0;
  waitpid(pid, &st, 0);
  printf("info: a thread that used the library exited after dlclose, and fork worked\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 2 && strcmp(argv[1], "threads-first") == 0) return run_threads_first();
  if (argc >= 3 && strcmp(argv[1], "dlclose") == 0) return run_dlclose(argv[2]);
  if (argc >= 2) return run_lib(argv[1], argc >= 3 && strcmp(argv[2], "--record") == 0);
  fprintf(stderr, "usage: %s LIB [--record] | threads-first | dlclose LIB\n", argv[0]);
  return 2;
}

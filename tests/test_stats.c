/* test_stats.c: the statistics and the calls that inspect or tidy the heap, where the
   other tests leave them unexercised (tests/coverage.sh found segalloc_print_stats and the
   SEGALLOC_SHOW_STATS report never run in the compiled-in build, and no call made before
   the first allocation):
     - segalloc_stats, segalloc_trim, segalloc_check_heap, segalloc_print_stats and
       segalloc_thread_flush as the process's first calls: nothing mapped, all zero
     - segalloc_print_stats writes exactly what segalloc_stats reports, line by line, and
       one row per class in use
     - what large and huge blocks, frees and trims do to the fields
     - per-class fields with live threads: their caches count as cached, their kept blocks
       as in use; after they exit and the blocks are freed, the class holds no span
     - a snapshot taken while another thread hands whole spans back never shows a part
       larger than all that is mapped (central once wrapped below zero: the classes'
       counts and the page heap's are read under different locks)
     - SEGALLOC_SHOW_STATS=1 prints the report at exit (this program run again, as a child);
       SEGALLOC_SHOW_STATS=0 does not
   Usage: test_stats [show-stats-child]. Built plain, under ASan and under TSan (run.sh). */
#define _GNU_SOURCE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
/* the debug wrappers (ASan builds) add this much to every request (debug.c) */
#if SEGALLOC__WRAPPED
#define EXTRA 16
#else
#define EXTRA 0
#endif

/* Everything readable from fd until its end (or cap - 1 bytes) into buf, NUL-terminated;
   closes fd. */
static size_t read_all(int fd, char *buf, size_t cap) {
  size_t n = 0;
  ssize_t r;
  while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  close(fd);
  buf[n] = 0;
  return n;
}

/* segalloc_print_stats(fd) into buf (NUL-terminated); the report is a few KiB at most,
   well within a pipe's buffer, so one thread can write it all and then read it */
static size_t print_to(char *buf, size_t cap) {
  int fd[2];
  if (pipe(fd) != 0) return 0;
  segalloc_print_stats(fd[1]);
  close(fd[1]);
  return read_all(fd[0], buf, cap);
}

/* The number on the report's line "  LABEL   N...", or -1 when there is no such line. */
static long long field(const char *text, const char *label) {
  size_t len = strlen(label);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    if (strncmp(l, "  ", 2) != 0 || strncmp(l + 2, label, len) != 0 || l[2 + len] != ' ') continue;
    const char *v = l + 2 + len;
    while (*v == ' ') v++;
    if (*v < '0' || *v > '9') return -1;
    return strtoll(v, NULL, 10);
  }
  return -1;
}

/* The report says what st says: every figure, and a row for exactly the classes with
   something in use, cached or a span. */
static int report_matches(const char *text, const segalloc_stats_t *st) {
  struct { const char *label; unsigned long long v; } f[] = {
      {"mallocs", st->mallocs},           {"frees", st->frees},
      {"live", st->live},                 {"thread caches", st->thread_cached},
      {"central lists", st->central},     {"page heap free", st->pageheap_free},
      {"released", st->released},         {"metadata", st->metadata},
      {"mapped", st->mapped},             {"madvise calls", st->releases},
      {"arenas", st->arenas},             {"threads", st->threads}};
  int ok = 1;
  for (unsigned i = 0; i < sizeof f / sizeof *f; i++) {
    long long got = field(text, f[i].label);
    if (got < 0 || (unsigned long long)got != f[i].v) {
      fprintf(stderr, "report: %s is %lld, segalloc_stats says %llu\n", f[i].label, got, f[i].v);
      ok = 0;
    }
  }
  char head[64];
  snprintf(head, sizeof head, "segalloc 0.1 stats (pid %d)\n", (int)getpid());
  if (strncmp(text, head, strlen(head)) != 0) {
    fprintf(stderr, "report: first line is not '%s'\n", head);
    ok = 0;
  }
  const char *rows = strstr(text, "  class     size   in use   cached    spans\n");
  if (!rows) return 0;
  rows = strchr(rows, '\n') + 1;
  int seen[SEGALLOC_MAX_CLASSES] = {0};
  for (const char *l = rows; *l; l = strchr(l, '\n') + 1) {
    unsigned long long c, size, in_use, cached, spans;
    if (sscanf(l, "%llu %llu %llu %llu %llu", &c, &size, &in_use, &cached, &spans) != 5 || c == 0 || c >= st->nclasses) {
      fprintf(stderr, "report: bad class row '%.60s'\n", l);
      return 0;
    }
    const segalloc_class_stats *k = &st->classes[c];
    if (size != k->size || in_use != k->objects_in_use || cached != k->objects_cached || spans != k->spans || seen[c]++) {
      fprintf(stderr, "report: class %llu row disagrees with segalloc_stats\n", c);
      ok = 0;
    }
    if (!strchr(l, '\n')) break;
  }
  for (unsigned c = 1; c < st->nclasses; c++) {
    const segalloc_class_stats *k = &st->classes[c];
    if ((k->objects_in_use || k->objects_cached || k->spans) != seen[c]) {
      fprintf(stderr, "report: class %u %s\n", c, seen[c] ? "has a row but nothing in it" : "is in use but has no row");
      ok = 0;
    }
  }
  return ok;
}

/* 1. Before anything was allocated: no arena, no cache, nothing to trim or check. */
static void test_first_calls(void) {
  segalloc_stats_t st;
  segalloc_stats(&st);
  CHECK(st.mapped == 0 && st.live == 0 && st.metadata == 0 && st.arenas == 0 && st.threads == 0);
  CHECK(st.mallocs == 0 && st.frees == 0 && st.releases == 0 && test_stats_add_up(&st));
  CHECK(st.nclasses == SEGALLOC__NCLASSES && st.nclasses <= SEGALLOC_MAX_CLASSES);
  CHECK(segalloc_trim() == 0);
  CHECK(segalloc_check_heap() == 0);
  segalloc_thread_flush();
  static char text[8192];
  CHECK(print_to(text, sizeof text) > 0);
  CHECK(field(text, "mallocs") == 0 && field(text, "mapped") == 0 && field(text, "arenas") == 0);
  CHECK(strstr(text, "  class     size   in use   cached    spans\n") != NULL);
  CHECK(report_matches(text, &st));
  segalloc_stats(&st);
  CHECK(st.mapped == 0 && st.arenas == 0 && st.threads == 0); /* none of it mapped anything */
}

/* 2. The report and segalloc_stats agree, with small, large and huge blocks about. */
static void test_report(void) {
  void *small[40];
  for (int i = 0; i < 40; i++) small[i] = segalloc_malloc((size_t)(i % 5 + 1) * 48);
  for (int i = 0; i < 40; i += 2) segalloc_free(small[i]); /* some cached */
  void *large = segalloc_malloc(200000), *huge = segalloc_malloc(40 * MiB);
  CHECK(large && huge);
  /* and a class whose only objects are parked in its transfer cache: a span, nothing in
     use or cached, which still has its row */
  unsigned parked = segalloc__size_class(5000);
  void *chain = NULL;
  int nchain = segalloc__central_take(parked, &chain, 2, 0);
  segalloc__central_give(parked, chain, NULL, nchain, SEGALLOC__TO_ANY);
  static char text[8192];
  segalloc_stats_t st;
  segalloc_stats(&st); /* nothing allocates between this and the report's own snapshot */
  CHECK(print_to(text, sizeof text) > 0);
  CHECK(report_matches(text, &st));
  CHECK(st.live > 40 * MiB && st.thread_cached > 0 && st.arenas >= 1 && st.threads == 1);
  CHECK(nchain >= 1 && st.classes[parked].spans == 1 && st.classes[parked].objects_in_use == 0 &&
        st.classes[parked].objects_cached == 0);
  segalloc_trim(); /* the parked chain back to its span, the span to the page heap */
  segalloc_stats(&st);
  CHECK(st.classes[parked].spans == 0);
  for (int i = 1; i < 40; i += 2) segalloc_free(small[i]);
  segalloc_free(large);
  segalloc_free(huge);
}

/* 3. Large and huge blocks, frees and trims, field by field. */
static void test_fields(void) {
  segalloc_stats_t a, b, c;
  segalloc_trim();
  segalloc_stats(&a);
  size_t lsize = 100000, hsize = 40 * MiB + 1;
  size_t lpages = (lsize + EXTRA + SEGALLOC_PAGE_SIZE - 1) / SEGALLOC_PAGE_SIZE * SEGALLOC_PAGE_SIZE;
  size_t hmap = (hsize + EXTRA + SEGALLOC_PAGE_SIZE - 1) / SEGALLOC_PAGE_SIZE * SEGALLOC_PAGE_SIZE; /* whole segalloc pages */
  void *l = segalloc_malloc(lsize), *h = segalloc_malloc(hsize);
  CHECK(l && h);
  segalloc_stats(&b);
  CHECK(b.large_live - a.large_live == lpages);
  CHECK(b.huge_live - a.huge_live == hmap);
  CHECK(b.live - a.live == lpages + hmap);
  CHECK(b.mallocs - a.mallocs == 2 && b.frees == a.frees);
  CHECK(b.arenas == a.arenas); /* a huge block is a mapping of its own */
  CHECK(b.mapped - a.mapped == hmap + (b.metadata - a.metadata));
  CHECK(test_stats_add_up(&b));
  segalloc_free(l);
  segalloc_free(h);
  segalloc_stats(&c);
  CHECK(c.live == a.live && c.large_live == a.large_live && c.huge_live == a.huge_live);
  CHECK(c.frees - a.frees == 2 && c.mallocs - a.mallocs == 2);
  CHECK(c.mapped == b.mapped - hmap); /* the huge mapping is gone */
  CHECK(c.pageheap_free >= lpages); /* the large block's pages stay, free and resident */
  /* a trim gives back every free resident page; a second one finds nothing */
  size_t got = segalloc_trim();
  segalloc_stats(&b);
  CHECK(got > 0 && b.pageheap_free == test_heap_unreleasable() && b.releases > c.releases && b.thread_cached == 0);
  CHECK(b.released == c.released + got); /* what it gave back is counted as released */
  CHECK(segalloc_trim() == 0);
  segalloc_stats(&c);
  CHECK(c.releases == b.releases && c.released == b.released);
  CHECK(test_stats_add_up(&c));
}

/* 4. Per class, with threads alive: a size no other part of this program uses. */
enum { NT = 3 };
static const size_t TSIZE = 2560;
static pthread_barrier_t parked, go_on;
static void *kept[NT];

static void *thread_main(void *arg) {
  int i = (int)(intptr_t)arg;
  kept[i] = segalloc_malloc(TSIZE); /* handed to the main thread */
  void *t = segalloc_malloc(TSIZE);
  segalloc_free(t); /* stays in this thread's cache */
  pthread_barrier_wait(&parked);
  pthread_barrier_wait(&go_on);
  return NULL;
}

static void test_threads(void) {
  unsigned cls = segalloc__size_class(TSIZE + EXTRA);
  segalloc_stats_t a, b;
  segalloc_stats(&a);
  CHECK(a.classes[cls].objects_in_use == 0 && a.classes[cls].objects_cached == 0 && a.classes[cls].spans == 0);
  pthread_barrier_init(&parked, NULL, NT + 1);
  pthread_barrier_init(&go_on, NULL, NT + 1);
  pthread_t t[NT];
  for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i);
  pthread_barrier_wait(&parked); /* every thread holds one block and caches one */
  segalloc_stats(&b);
  CHECK(b.threads == a.threads + NT);
  CHECK(b.classes[cls].size == segalloc__class_size[cls]);
  CHECK(b.classes[cls].objects_in_use == NT);
  /* each thread's list had room for the block it freed (its second refill grew it to 2) */
  CHECK(b.classes[cls].objects_cached == NT);
  CHECK(b.classes[cls].spans >= 1);
  CHECK(b.thread_cached >= a.thread_cached + NT * segalloc__class_size[cls]);
  CHECK(b.live - a.live == NT * segalloc__class_size[cls]);
  CHECK(test_stats_add_up(&b));
  pthread_barrier_wait(&go_on);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  segalloc_stats(&b);
  CHECK(b.threads == a.threads);
  CHECK(b.classes[cls].objects_cached == 0 && b.classes[cls].objects_in_use == NT); /* exits gave theirs back */
  for (int i = 0; i < NT; i++) segalloc_free(kept[i]);
  segalloc_thread_flush();
  segalloc_stats(&b);
  /* every object back from the program and the caches; the ones this thread handed on
     while it freed them may still be parked in the class's transfer cache, which pins
     their spans until a trim (this thread only frees the class, so its list holds at most
     8 KiB of it: tcache.c) */
  CHECK(b.classes[cls].objects_in_use == 0 && b.classes[cls].objects_cached == 0);
  segalloc_trim();
  segalloc_stats(&b);
  /* the class's spans went back to the page heap */
  CHECK(b.classes[cls].objects_in_use == 0 && b.classes[cls].objects_cached == 0 && b.classes[cls].spans == 0);
  CHECK(b.live == a.live && test_stats_add_up(&b));
  pthread_barrier_destroy(&parked);
  pthread_barrier_destroy(&go_on);
}

/* 4b. A thread that only frees a class (a consumer) keeps little of it: its list stops
   at 8 KiB of objects (tcache.c); grown to a batch as before, it held 28 of these 220
   blocks of 1 KiB at the end. The rest goes on to the central list, where the allocating
   thread takes it back. */
enum { CONSUMED = 220 };
static void *consumed[CONSUMED];

static void *consumer_main(void *arg) {
  segalloc_stats_t *mid = (segalloc_stats_t *)arg;
  for (int i = 0; i < CONSUMED; i++) segalloc_free(consumed[i]);
  segalloc_stats(mid); /* while this thread and its cache are alive */
  return NULL;
}

static void test_consumer(void) {
  const size_t size = 1024;
  unsigned cls = segalloc__size_class(size + EXTRA);
  size_t cap = SEGALLOC__FREE_ONLY_BYTES / segalloc__class_size[cls];
  segalloc_stats_t before, mid;
  for (int i = 0; i < CONSUMED; i++) consumed[i] = segalloc_malloc(size);
  segalloc_stats(&before);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, consumer_main, &mid) == 0);
  pthread_join(t, NULL);
  CHECK(mid.classes[cls].objects_in_use + CONSUMED == before.classes[cls].objects_in_use);
  /* this thread's cache did not change; the consumer's holds at most the cap */
  CHECK(mid.classes[cls].objects_cached >= before.classes[cls].objects_cached);
  CHECK(mid.classes[cls].objects_cached - before.classes[cls].objects_cached <= cap);
  /* and this thread gets those blocks back: CONSUMED more live again take no more spans
     than when the first CONSUMED were live */
  for (int i = 0; i < CONSUMED; i++) consumed[i] = segalloc_malloc(size);
  segalloc_stats(&mid);
  CHECK(mid.classes[cls].spans <= before.classes[cls].spans);
  for (int i = 0; i < CONSUMED; i++) segalloc_free(consumed[i]);
  CHECK(test_stats_add_up(&mid));
}

/* 5. SEGALLOC_SHOW_STATS: this program again, as a child that allocates and exits. */
static int show_stats_child(void) {
  void *p[100];
  for (int i = 0; i < 100; i++) p[i] = segalloc_malloc((size_t)i * 10 + 1);
  for (int i = 0; i < 100; i += 2) segalloc_free(p[i]); /* 50 left live at exit */
  close(2); /* as coreutils do before exit: the report goes to segalloc's own copy */
  return 0;
}

/* Run this program with SEGALLOC_SHOW_STATS=value; its stderr into buf. */
static pid_t run_child(const char *value, char *buf, size_t cap, int *status) {
  int fd[2];
  if (pipe(fd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 2);
    close(fd[0]);
    close(fd[1]);
    setenv("SEGALLOC_SHOW_STATS", value, 1);
    execl("/proc/self/exe", "test_stats", "show-stats-child", (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  read_all(fd[0], buf, cap);
  waitpid(pid, status, 0);
  return pid;
}

static void test_show_stats(void) {
  static char text[16384];
  int status = -1;
  pid_t pid = run_child("1", text, sizeof text, &status);
  CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char head[64];
  snprintf(head, sizeof head, "segalloc 0.1 stats (pid %d)\n", (int)pid);
  const char *rep = strstr(text, head);
  CHECK(rep != NULL);
  if (rep) {
    long long m = field(rep, "mallocs"), f = field(rep, "frees");
    CHECK(m >= 100 && f >= 50 && m - f == 50); /* the blocks the child left live */
    CHECK(field(rep, "threads") == 1 && field(rep, "arenas") >= 1);
  }
  status = -1;
  pid = run_child("0", text, sizeof text, &status);
  CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(strstr(text, "stats (pid") == NULL); /* "0" turns it off */
}

/* One thread allocates and frees spans' worth of small blocks and flushes its cache, so
   spans go back to the page heap all the time, while main takes snapshots for a while. */
#define CHURN_BLOCKS 20000
static int churn_stop;
static void *churn_main(void *arg) {
  (void)arg;
  static void *blk[CHURN_BLOCKS];
  while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
    for (int i = 0; i < CHURN_BLOCKS; i++) blk[i] = segalloc_malloc(16);
    for (int i = 0; i < CHURN_BLOCKS; i++) segalloc_free(blk[i]);
    segalloc_thread_flush();
  }
  return NULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_concurrent_snapshots(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, churn_main, NULL) == 0);
  long snaps = 0, over = 0;
  size_t worst = 0;
  double end = now_s() + 0.5;
  while (now_s() < end) {
    for (int k = 0; k < 100; k++, snaps++) {
      segalloc_stats_t st;
      segalloc_stats(&st);
      size_t parts[] = {st.live, st.thread_cached, st.central, st.pageheap_free, st.released, st.metadata};
      for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i] > st.mapped) {
          over++;
          if (parts[i] > worst) worst = parts[i];
        }
    }
  }
  __atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
  pthread_join(t, NULL);
  if (over) printf("FAIL %ld of %ld snapshots had a part above mapped (largest %zu)\n", over, snaps, worst);
  CHECK(over == 0);
  CHECK(snaps > 0);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "show-stats-child") == 0) return show_stats_child();
  test_first_calls(); /* first: before anything in this process allocates through segalloc */
  test_report();
  test_fields();
  test_threads();
  test_consumer();
  test_concurrent_snapshots();
  test_show_stats();
  CHECK(segalloc_check_heap() == 0);
  return test_finish();
}

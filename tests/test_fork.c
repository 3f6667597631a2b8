/* test_fork.c: fork with segalloc as the process allocator never hangs, and the child can
   allocate.

   Built two ways (tests/run_preload.sh does both): with -DOVERRIDE_COMPILED_IN the header
   (SEGALLOC_OVERRIDE + SEGALLOC_IMPLEMENTATION) is part of the program; without it the
   program uses whatever malloc it is given, so run it with LD_PRELOAD=build/libsegalloc.so
   (or, to see what the test can detect, with another allocator preloaded).

   One mode per run (argv[1]):
     threads        a parent whose threads are busy allocating and freeing forks 200 times;
                    each child allocates, frees, starts a thread that allocates, exits.
     stdio          threads allocate while holding stdio locks (getline on fmemopen and pipe
                    streams, fflush(NULL), open_memstream) while the main thread forks
                    repeatedly; the children allocate and use stdio. The lock-order trap:
                    fork takes the stdio list lock after the atfork handlers, fflush(NULL)
                    holds the list lock while it waits for a stream's lock, and getline
                    holds a stream's lock while it allocates.
     signal         another process sends SIGUSR1 rapidly to a process whose main thread loops
                    over malloc/free; the handler forks, the child _exit()s at once, the
                    handler waits for it.
     signal-nested  as signal, and the main thread also forks now and then (its children
                    allocate): a signal landing while that fork runs its atfork handlers
                    makes the handler's fork a nested one.
     signal-malloc  as signal, but the child calls malloc and free before _exit (not
                    async-signal-safe by POSIX; reported, so we know where segalloc stands).
     signal-thread  as signal, but the sender is a thread of the same process (so fork runs
                    in a multithreaded process and takes every lock).
   A child that does not finish in time is killed and counted as hung; a watchdog (SIGALRM)
   ends the whole run, children included, if the parent itself hangs. FORK_TEST_SECONDS sets
   the length of the time-bound modes (default 2). */
#define _GNU_SOURCE
#ifdef OVERRIDE_COMPILED_IN
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#endif
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OPAQUE(x) __asm__ volatile("" : "+r"(x) : : "memory")

static const char *mode = "?";
static double seconds = 2.0;
static volatile pid_t current_child, sender_pid;

/* ---- async-signal-safe helpers ---- */

static void say(const char *s) {
  size_t n = strlen(s);
  while (n) {
    ssize_t w = write(1, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void watchdog(int sig) {
  (void)sig;
  say("FAIL ");
  say(mode);
  say(": the parent hung (watchdog fired); killing it and its children\n");
  if (current_child > 0) kill(current_child, SIGKILL);
  if (sender_pid > 0) kill(sender_pid, SIGKILL);
  _exit(3);
}

enum { CHILD_OK, CHILD_FAILED, CHILD_HUNG };

/* Wait for pid at most timeout_ms; kill it if it is still there. Safe in a signal handler. */
static int wait_child(pid_t pid, long timeout_ms, int *status_out) {
  double deadline = now() + (double)timeout_ms / 1000.0;
  long nap = 20;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (status_out) *status_out = st;
      return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? CHILD_OK : CHILD_FAILED;
    }
    if (r < 0 && errno != EINTR) return CHILD_FAILED;
    if (now() > deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      return CHILD_HUNG;
    }
    sleep_us(nap);
    if (nap < 2000) nap *= 2;
  }
}

static unsigned rnd(unsigned *x) {
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

/* A block stamped with its size at both ends, so a block two owners share shows up. */
static void *stamp_alloc(size_t n) {
  if (n < 16) n = 16;
  unsigned char *p = (unsigned char *)malloc(n);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  p[n - 1] = (unsigned char)(n * 31);
  return p;
}
static int stamp_ok(void *q) {
  unsigned char *p = (unsigned char *)q;
  size_t n;
  memcpy(&n, p, sizeof n);
  return n >= 16 && n < (64u << 20) && p[n - 1] == (unsigned char)(n * 31);
}

/* ---- what a child does: allocate, check, free, also from a new thread ---- */

static void *child_thread(void *arg) {
  (void)arg;
  void *blocks[200];
  for (int i = 0; i < 200; i++) blocks[i] = stamp_alloc((size_t)(i * 397 % 70000));
  intptr_t bad = 0;
  for (int i = 0; i < 200; i++) {
    if (!blocks[i] || !stamp_ok(blocks[i])) bad++;
    free(blocks[i]);
  }
  return (void *)bad;
}

static int child_work(int with_thread) {
  int bad = 0;
  void *blocks[300];
  unsigned x = (unsigned)getpid() | 1;
  for (int i = 0; i < 300; i++) {
    unsigned r = rnd(&x);
    size_t n = r % 8 == 0 ? r % 600000 : r % 1024;
    blocks[i] = stamp_alloc(n);
    if (!blocks[i]) bad++;
  }
  for (int i = 0; i < 300; i++) {
    if (blocks[i] && !stamp_ok(blocks[i])) bad++;
    free(blocks[i]);
  }
  unsigned char *z = (unsigned char *)calloc(1000, 100);
  if (!z) {
    bad++;
  } else {
    for (int i = 0; i < 100000; i++)
      if (z[i]) { bad++; break; }
    unsigned char *g = (unsigned char *)realloc(z, 3000000);
    if (!g) { bad++; free(z); } else free(g);
  }
  if (with_thread) {
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0 || pthread_join(t, &ret) != 0) bad++;
    else if (ret) bad++;
  }
  return bad;
}

/* ---- mode threads ---- */

static volatile int stop, paused;
static void *volatile shared[64];
static int worker_errors;

static void *busy_worker(void *arg) {
  unsigned x = (unsigned)(uintptr_t)arg * 2654435761u | 1;
  void *pool[256] = {0};
  int errors = 0;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    if (__atomic_load_n(&paused, __ATOMIC_RELAXED)) { /* a child is running: let it have the CPU */
      sleep_us(100);
      continue;
    }
    unsigned r = rnd(&x);
    unsigned slot = r % 256;
    if (pool[slot] && !stamp_ok(pool[slot])) errors++;
    if (pool[slot]) free(pool[slot]); /* (free(NULL) has its own test in test_override.c) */
    unsigned kind = (r >> 8) % 100;
    size_t n = kind < 80 ? (r >> 12) % 1024 : kind < 97 ? (r >> 12) % 65536 : (r >> 12) % (512u << 10);
    pool[slot] = stamp_alloc(n);
    if ((r & 15) == 0) { /* hand a block to another thread */
      void *mine = stamp_alloc((r >> 4) % 4000);
      void *theirs = __atomic_exchange_n(&shared[(r >> 20) % 64], mine, __ATOMIC_ACQ_REL);
      if (theirs && !stamp_ok(theirs)) errors++;
      if (theirs) free(theirs);
    }
  }
  for (int i = 0; i < 256; i++) {
    if (pool[i] && !stamp_ok(pool[i])) errors++;
    free(pool[i]);
  }
  __atomic_add_fetch(&worker_errors, errors, __ATOMIC_RELAXED);
  return NULL;
}

static void run_threads(void) {
  enum { NT = 3, FORKS = 200 };
  pthread_t t[NT];
  for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, busy_worker, (void *)(uintptr_t)(i + 1));
  sleep_us(20000);
  int ok = 0, failed = 0, hung = 0;
  double give_up = now() + 10 * seconds + 10; /* a slow machine: fewer forks, not a timeout */
  int i;
  for (i = 0; i < FORKS && now() < give_up; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(child_work(1) ? 1 : 0);
    if (pid < 0) { failed++; continue; }
    /* the workers were busy when fork was called; now they pause while the child runs
       (on a machine with few cores the child would otherwise crawl) */
    __atomic_store_n(&paused, 1, __ATOMIC_RELAXED);
    current_child = pid;
    int st = 0;
    int r = wait_child(pid, 3000, &st);
    current_child = 0;
    __atomic_store_n(&paused, 0, __ATOMIC_RELAXED);
    sleep_us(1000 + (i % 7) * 300); /* busy again before the next fork */
    if (r == CHILD_OK) ok++;
    else if (r == CHILD_HUNG) hung++;
    else {
      failed++;
      if (failed <= 3) fprintf(stderr, "FAIL threads: child %d ended with status 0x%x\n", i, st);
    }
    if (hung) break; /* one is enough to know */
    /* the parent still allocates after each fork */
    void *p = stamp_alloc(100 + (size_t)i * 1000);
    if (!p || !stamp_ok(p)) failed++;
    free(p);
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 64; i++) {
    if (shared[i] && !stamp_ok(shared[i])) worker_errors++;
    free(shared[i]);
    shared[i] = NULL;
  }
  printf("info threads: %d forks, %d children ok, %d failed, %d hung\n", ok + failed + hung, ok, failed, hung);
  if (i < FORKS) printf("info threads: stopped after %d forks (time limit)\n", i);
  CHECK(ok == i && ok >= 50);
  CHECK(hung == 0);
  CHECK(failed == 0);
  CHECK(worker_errors == 0);
}

/* ---- mode stdio ---- */

static char *text;
static size_t text_len;
static long stdio_ops[4];

/* Long and short lines: getline starts from a NULL buffer each time and grows it by
   realloc, past the small sizes, while it holds the stream's lock. */
static void make_text(void) {
  size_t cap = 3u << 20;
  text = (char *)malloc(cap);
  unsigned x = 99;
  while (text_len < cap - 300000) {
    unsigned r = rnd(&x);
    size_t n = r % 5 == 0 ? r % 250000 : r % 200;
    memset(text + text_len, 'a' + (int)(r % 26), n);
    text_len += n;
    text[text_len++] = '\n';
  }
}

static void *getline_fmemopen(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    FILE *f = fmemopen(text, text_len, "r");
    if (!f) continue;
    for (;;) {
      char *line = NULL;
      size_t cap = 0;
      ssize_t n = getline(&line, &cap, f);
      free(line);
      if (n <= 0 || __atomic_load_n(&stop, __ATOMIC_RELAXED)) break;
      __atomic_add_fetch(&stdio_ops[0], 1, __ATOMIC_RELAXED);
    }
    fclose(f);
  }
  return NULL;
}

static int pipe_fds[2];

static void *pipe_writer(void *arg) {
  (void)arg;
  unsigned x = 7;
  char *buf = (char *)malloc(150001);
  memset(buf, 'p', 150001);
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    unsigned r = rnd(&x);
    size_t n = r % 4 == 0 ? r % 150000 : r % 300;
    buf[n] = '\n';
    size_t off = 0;
    while (off <= n) {
      ssize_t w = write(pipe_fds[1], buf + off, n + 1 - off);
      if (w <= 0) break;
      off += (size_t)w;
    }
    buf[n] = 'p';
  }
  close(pipe_fds[1]);
  free(buf);
  return NULL;
}

static void *getline_pipe(void *arg) {
  (void)arg;
  FILE *f = fdopen(pipe_fds[0], "r");
  if (!f) return NULL;
  for (;;) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    free(line);
    if (n <= 0) break;
    __atomic_add_fetch(&stdio_ops[1], 1, __ATOMIC_RELAXED);
  }
  fclose(f);
  return NULL;
}

static void *flusher(void *arg) {
  (void)arg;
  unsigned x = 3;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    fflush(NULL); /* the list lock, then every stream's lock in turn */
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    if (!ms) continue;
    unsigned n = rnd(&x) % 3000;
    for (unsigned i = 0; i < n; i++) fprintf(ms, "%u %s\n", i, "a memstream grows by realloc while its lock is held");
    fflush(ms);
    fflush(NULL);
    fclose(ms);
    free(buf);
    __atomic_add_fetch(&stdio_ops[2], 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static int child_stdio_work(void) {
  int bad = child_work(0);
  char *buf = NULL;
  size_t len = 0;
  FILE *ms = open_memstream(&buf, &len);
  if (!ms) return bad + 1;
  for (int i = 0; i < 2000; i++) fprintf(ms, "child line %d\n", i);
  if (fclose(ms) != 0 || len < 2000 * 12) bad++;
  free(buf);
  FILE *f = fmemopen(text, text_len, "r");
  if (!f) return bad + 1;
  char *line = NULL;
  size_t cap = 0;
  for (int i = 0; i < 20 && getline(&line, &cap, f) > 0; i++) {}
  free(line);
  fclose(f);
  return bad;
}

static void run_stdio(void) {
  make_text();
  if (pipe(pipe_fds) != 0) { CHECK(0); return; }
  fcntl(pipe_fds[0], F_SETPIPE_SZ, 1 << 20);
  pthread_t t[4];
  pthread_create(&t[0], NULL, getline_fmemopen, NULL);
  pthread_create(&t[1], NULL, pipe_writer, NULL);
  pthread_create(&t[2], NULL, getline_pipe, NULL);
  pthread_create(&t[3], NULL, flusher, NULL);
  sleep_us(20000);
  int ok = 0, failed = 0, hung = 0, forks = 0;
  double end = now() + seconds;
  while ((now() < end || forks < 100) && forks < 100000) {
    pid_t pid = fork();
    forks++;
    if (pid == 0) _exit(child_stdio_work() ? 1 : 0);
    if (pid < 0) { failed++; continue; }
    current_child = pid;
    int st = 0;
    int r = wait_child(pid, 3000, &st);
    current_child = 0;
    if (r == CHILD_OK) ok++;
    else if (r == CHILD_HUNG) hung++;
    else {
      failed++;
      if (failed <= 3) fprintf(stderr, "FAIL stdio: child %d ended with status 0x%x\n", forks, st);
    }
    if (hung) break; /* one is enough to know */
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  free(text);
  printf("info stdio: %d forks, %d children ok, %d failed, %d hung; meanwhile %ld getlines (fmemopen), %ld getlines (pipe), %ld memstream+fflush(NULL) rounds\n",
         forks, ok, failed, hung, stdio_ops[0], stdio_ops[1], stdio_ops[2]);
  CHECK(hung == 0);
  CHECK(failed == 0);
  CHECK(ok >= 100);
  CHECK(stdio_ops[0] > 0 && stdio_ops[1] > 0 && stdio_ops[2] > 0);
}

/* ---- modes signal, signal-malloc, signal-thread ---- */

static int child_mallocs;
static volatile int sig_forks, sig_ok, sig_failed, sig_hung, sig_fork_errors, sig_aborted;
static volatile int last_bad_status;
static int main_forks, main_fork_hung, main_fork_failed;

static double signal_end;

static void on_usr1(int sig) {
  (void)sig;
  /* once children hang (or time is up), stop forking: the main thread must get to run, or
     every new child would fork from the same interrupted point and hang the same way */
  if (sig_hung >= 3 || now() > signal_end) return;
  int saved = errno;
  pid_t pid = fork();
  if (pid == 0) {
    if (child_mallocs) {
      void *a = malloc(100);
      OPAQUE(a);
      void *b = malloc(200000);
      OPAQUE(b);
      free(a);
      free(b);
    }
    _exit(0);
  }
  if (pid < 0) {
    sig_fork_errors++;
  } else {
    current_child = pid;
    int st = 0;
    int r = wait_child(pid, 2000, &st);
    current_child = 0;
    sig_forks++;
    if (r == CHILD_OK) sig_ok++;
    else if (r == CHILD_HUNG) sig_hung++;
    /* malloc in such a child is outside what POSIX allows: stopping it with SIGABRT (as
       glibc and segalloc do, with a message) is a fine answer; hanging is not */
    else if (child_mallocs && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT) sig_aborted++;
    else { sig_failed++; last_bad_status = st; }
  }
  errno = saved;
}

static void sender_process(pid_t target) {
  unsigned x = (unsigned)getpid() | 1;
  sleep_us(20000); /* let the parent finish the fork that made this process */
  for (;;) {
    if (getppid() != target) _exit(0);
    if (kill(target, SIGUSR1) != 0) _exit(0);
    sleep_us(20 + rnd(&x) % 400);
  }
}

static pthread_t main_thread;
static void *sender_thread(void *arg) {
  (void)arg;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  unsigned x = 5;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    pthread_kill(main_thread, SIGUSR1);
    sleep_us(20 + rnd(&x) % 400);
  }
  return NULL;
}

/* signal-nested: an atfork prepare handler registered before segalloc's (first thing in
   main, before the first allocation) runs after segalloc's prepare handler, while segalloc
   holds its locks for the fork; raising SIGUSR1 there makes the handler's fork nest inside
   that window every time, not only when the timing happens to fall so. (If segalloc was set
   up before main, as under the preload, it may not run in that window; the random signals
   still can.) */
static volatile int raise_in_atfork;
static void nest_prepare(void) {
  if (raise_in_atfork) {
    raise_in_atfork = 0;
    raise(SIGUSR1);
  }
}

static void run_signal(int mallocs_in_child, int thread_sender, int nested) {
  child_mallocs = mallocs_in_child;
  signal_end = now() + seconds;
  pthread_t st;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  if (thread_sender) {
    main_thread = pthread_self();
    pthread_create(&st, NULL, sender_thread, NULL);
  } else {
    pid_t me = getpid();
    pid_t s = fork();
    if (s == 0) sender_process(me);
    sender_pid = s;
  }

  void *pool[64] = {0};
  unsigned x = 17;
  long iterations = 0;
  int errors = 0;
  double end = signal_end;
  while (now() < end && sig_hung < 3) {
    for (int k = 0; k < 64; k++) {
      unsigned r = rnd(&x);
      unsigned slot = r % 64;
      if (pool[slot] && !stamp_ok(pool[slot])) errors++;
      if (pool[slot]) free(pool[slot]);
      unsigned kind = (r >> 8) % 10;
      size_t n = kind < 4 ? (r >> 12) % 512 : kind < 9 ? 32768 + (r >> 12) % 300000 : (r >> 12) % 8000;
      pool[slot] = kind == 9 ? calloc(1, n) : stamp_alloc(n);
      if (kind == 9) {
        if (pool[slot]) free(pool[slot]);
        pool[slot] = stamp_alloc(n);
      }
      iterations++;
    }
    /* the main thread forks too (a normal fork, whose child may allocate): a signal that
       lands while this fork runs its atfork handlers makes the handler's fork a nested one.
       (Only with a sender process: in a multithreaded process glibc's fork holds its own
       atfork lock across the fork, and a nested fork would deadlock in glibc itself.) */
    if (nested && iterations % 512 == 0) {
      raise_in_atfork = 1; /* and make sure one signal lands there (see nest_prepare) */
      pid_t pid = fork();
      if (pid == 0) {
        void *p = malloc(1000);
        OPAQUE(p);
        free(p);
        _exit(0);
      }
      if (pid > 0) {
        int r = wait_child(pid, 2000, NULL);
        main_forks++;
        if (r == CHILD_HUNG) main_fork_hung++;
        else if (r != CHILD_OK) main_fork_failed++;
      }
    }
  }
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, NULL);
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  if (thread_sender) {
    pthread_join(st, NULL);
  } else {
    kill(sender_pid, SIGKILL);
    waitpid(sender_pid, NULL, 0);
    sender_pid = 0;
  }
  for (int i = 0; i < 64; i++) {
    if (pool[i] && !stamp_ok(pool[i])) errors++;
    free(pool[i]);
  }
  printf("info %s: %ld malloc/free iterations, %d forks from the handler: %d children ok, %d failed, %d hung (killed after 2 s); "
         "%d forks from the main loop: %d failed, %d hung\n",
         mode, iterations, sig_forks, sig_ok, sig_failed, sig_hung, main_forks, main_fork_failed, main_fork_hung);
  if (sig_aborted) printf("info %s: %d children stopped with SIGABRT (malloc re-entered from the handler)\n", mode, sig_aborted);
  if (sig_hung)
    printf("FAIL %s: %d of %d children hung%s\n", mode, sig_hung, sig_forks,
           mallocs_in_child ? " in malloc/free after fork() from a signal handler that interrupted malloc/free" : "");
  if (sig_failed) fprintf(stderr, "FAIL %s: a child ended with status 0x%x\n", mode, last_bad_status);
  CHECK(sig_forks >= 20 || sig_hung); /* (a hung child stops the forking early) */
  CHECK(sig_hung == 0);
  CHECK(sig_failed == 0);
  CHECK(sig_fork_errors == 0);
  CHECK(errors == 0);
  CHECK(main_fork_hung == 0 && main_fork_failed == 0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s threads|stdio|signal|signal-nested|signal-malloc|signal-thread\n", argv[0]);
    return 2;
  }
  mode = argv[1];
  if (strcmp(mode, "signal-nested") == 0) pthread_atfork(nest_prepare, NULL, NULL); /* before any allocation */
  const char *s = getenv("FORK_TEST_SECONDS");
  if (s && atof(s) > 0) seconds = atof(s);
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGALRM, watchdog);
  /* the time-bound modes end after `seconds`, plus at most three children waited for */
  alarm(strcmp(mode, "threads") == 0 ? (unsigned)(10 * seconds + 30) : (unsigned)(seconds + 10));
  if (strcmp(mode, "threads") == 0) run_threads();
  else if (strcmp(mode, "stdio") == 0) run_stdio();
  else if (strcmp(mode, "signal") == 0) run_signal(0, 0, 0);
  else if (strcmp(mode, "signal-nested") == 0) run_signal(0, 0, 1);
  else if (strcmp(mode, "signal-malloc") == 0) run_signal(1, 0, 0);
  else if (strcmp(mode, "signal-thread") == 0) run_signal(0, 1, 0);
  else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  alarm(0);
  return test_finish();
}

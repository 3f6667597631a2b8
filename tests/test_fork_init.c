/* test_fork_init.c: a fork while another thread is inside segalloc's first set-up (which
   holds the set-up lock) leaves the child an allocator it can use.

   Until the fork handlers were registered at load, they came at the end of that set-up: a
   fork in between ran none of them, and the child inherited the set-up lock held by a
   thread it does not have, so its first malloc waited forever (found by review: 4 of 2,000
   fresh processes whose first malloc raced a fork). Here the window is held open on
   purpose: the program defines open(), which segalloc's set-up calls to read the kernel's
   transparent huge page setting. That open() waits until a fork has begun (this program's
   own prepare handler says so) and then for another 50 ms, so the fork either waits for
   the set-up (the handlers are there) or copies the process with the lock held (they are
   not). The child mallocs under a 5-second alarm. */
#define _GNU_SOURCE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int in_setup, forking;

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
  va_end(ap);
  if (strstr(path, "transparent_hugepage") && !forking) {
    in_setup = 1; /* inside segalloc's first set-up, its lock held */
    while (!forking) usleep(1000);
    usleep(50000); /* the fork goes on meanwhile, unless a handler waits for the lock */
  }
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static void note_fork(void) { forking = 1; }

static void *first_malloc(void *arg) {
  (void)arg;
  void *p = segalloc_malloc(100); /* the process's first use of segalloc */
  segalloc_free(p);
  return NULL;
}

int main(void) {
  unsetenv("SEGALLOC_THP"); /* the default mode, whose set-up reads the setting */
  /* after segalloc's handlers, whose registration at load came first: prepare handlers
     run in the reverse order, so this one runs before segalloc's waits for the lock */
  pthread_atfork(note_fork, NULL, NULL);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, first_malloc, NULL) == 0);
  while (!in_setup) usleep(100);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(5); /* SIGALRM ends a child whose malloc hangs */
    void *p = segalloc_malloc(100);
    segalloc_free(p);
    _exit(p ? 0 : 1);
  }
  CHECK(pid > 0);
  pthread_join(t, NULL);
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  if (WIFSIGNALED(st)) fprintf(stderr, "child killed by signal %d: its malloc hung\n", WTERMSIG(st));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(segalloc_check_heap() == 0);
  return test_finish();
}

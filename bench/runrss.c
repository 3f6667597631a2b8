/* runrss.c - run a command and report its peak RSS, for bench/run.py.
 *
 * Usage: runrss LIB|- PROGRAM [ARGS...]
 *
 * Forks; the child sets LD_PRELOAD=LIB (unless LIB is "-") and execs PROGRAM; the parent
 * waits with wait4() and appends one line to stderr:
 *
 *     runrss: maxrss_kib=N status=exit:C        (or status=signal:S)
 *
 * then exits with the child's exit code (128+S after a signal).
 *
 * Why not os.wait4 straight from Python: Linux carries a process's peak RSS across exec,
 * and Python starts children with vfork/fork, so the child's ru_maxrss starts at the
 * Python interpreter's own RSS (some 14-17 MiB), which would swamp the small workloads.
 * This launcher is tiny, so the peak of the process it forks is the workload's own. It
 * reads its wait4() rusage just as run.py would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: runrss LIB|- PROGRAM [ARGS...]\n");
    return 2;
  }
  child = fork();
  if (child < 0) {
    perror("runrss: fork");
    return 2;
  }
  if (child == 0) {
    if (strcmp(argv[1], "-") != 0)
      setenv("LD_PRELOAD", argv[1], 1);
    else
      unsetenv("LD_PRELOAD");
    execv(argv[2], argv + 2);
    fprintf(stderr, "runrss: exec %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  signal(SIGTERM, forward);
  signal(SIGINT, forward);
  int status;
  struct rusage ru;
  pid_t r;
  while ((r = wait4(child, &status, 0, &ru)) < 0 && errno == EINTR) {
  }
  if (r < 0) {
    perror("runrss: wait4");
    return 2;
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "runrss: maxrss_kib=%ld status=signal:%d\n", ru.ru_maxrss, WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  fprintf(stderr, "runrss: maxrss_kib=%ld status=exit:%d\n", ru.ru_maxrss, WEXITSTATUS(status));
  return WEXITSTATUS(status);
}

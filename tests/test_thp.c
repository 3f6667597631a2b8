/* test_thp.c: what segalloc asks of transparent huge pages (SEGALLOC_THP, os.c).
 *
 *   test_thp EXPECT      EXPECT: never, system or always: the mode the run should be in
 *
 * tests/run.sh runs it with the SEGALLOC_THP environment variable set to each mode, with a
 * value that is none of them (a warning, then the built-in default), and built with
 * -DSEGALLOC_THP=0 and no variable. The kernel says what a mapping was advised in
 * /proc/self/smaps: "hg" in VmFlags for MADV_HUGEPAGE, "nh" for MADV_NOHUGEPAGE. A small
 * block's arena (its header and its spans) and a huge block's own mapping are looked up
 * there and must carry what the mode asks for:
 *   never   arena and huge block nh;
 *   system  nothing, except the arena's header nh when the system's setting is "always";
 *   always  the arena past its header and the huge block hg, the header neither.
 * Where no huge page may be, AnonHugePages must be 0 too: the advice has to come before
 * the first write (under the setting "always", the header's first write brought one in
 * when the advice came after it). On a kernel without THP, where madvise refuses both,
 * nothing may show. */
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The VmFlags line of the mapping that holds addr, into flags, and its AnonHugePages in
   KiB, into *huge; 0 when there is no such mapping. */
static int vm_flags(uintptr_t addr, char *flags, size_t size, long *huge) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0, found = 0;
  if (!f) return 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    long kb;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') == line + strspn(line, "0123456789abcdef")) {
      in = addr >= lo && addr < hi;
    } else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) {
      *huge = kb;
    } else if (in && !strncmp(line, "VmFlags:", 8)) {
      snprintf(flags, size, "%s", line + 8);
      found = 1;
      break;
    }
  }
  fclose(f);
  return found;
}

/* The kernel takes huge-page advice (it refuses it with EINVAL when built without THP). */
static int kernel_has_thp(void) {
  size_t size = (size_t)4 << 20;
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return 0;
  int ok = madvise(m, size, MADV_HUGEPAGE) == 0;
  munmap(m, size);
  return ok;
}

/* The PMD huge-page size (2 MiB on x86-64). */
static size_t huge_page_size(void) {
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
  unsigned long v = 0;
  if (f) {
    if (fscanf(f, "%lu", &v) != 1) v = 0;
    fclose(f);
  }
  return v ? (size_t)v : (size_t)2 << 20;
}

/* OS pages of [start, start + size) that are resident. */
static size_t resident_pages(uintptr_t start, size_t size) {
  size_t os = (size_t)sysconf(_SC_PAGESIZE), n = size / os, count = 0;
  unsigned char *vec = malloc(n);
  if (!vec || mincore((void *)start, size, vec)) {
    free(vec);
    return (size_t)-1;
  }
  for (size_t i = 0; i < n; i++) count += vec[i] & 1;
  free(vec);
  return count;
}

static int has_flag(const char *flags, const char *flag) {
  char padded[8];
  snprintf(padded, sizeof padded, " %s", flag);
  return strstr(flags, padded) != NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_thp never|system|always\n");
    return 2;
  }
  const char *expect = argv[1];
  const char *env = getenv("SEGALLOC_THP");
  int bogus = env && *env && strcmp(env, "never") && strcmp(env, "system") && strcmp(env, "always") &&
              strcmp(env, "0") && strcmp(env, "1") && strcmp(env, "2");

  /* the first allocation reads the variable: catch what it says on stderr */
  int fds[2];
  CHECK(pipe(fds) == 0);
  int saved = dup(2);
  dup2(fds[1], 2);
  void *p = segalloc_malloc(100);
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  char said[256] = {0};
  ssize_t n = read(fds[0], said, sizeof said - 1);
  close(fds[0]);
  if (bogus) CHECK(n > 0 && strstr(said, "segalloc: warning: SEGALLOC_THP is not never, system or always") != NULL);
  else CHECK(n <= 0);

  /* a huge block: its own mapping (more than half an arena), written to, so that a huge
     page would be there if its advice were missing or late */
  size_t huge_size = (size_t)SEGALLOC_ARENA_SIZE / 2 + ((size_t)1 << 20);
  void *q = segalloc_malloc(huge_size);
  CHECK(p != NULL && q != NULL);
  if (!p || !q) return test_finish();
  memset(q, 1, 4096);

  segalloc__arena *a = segalloc__arena_of((uintptr_t)p);
  CHECK(a != NULL);
  if (!a) return test_finish();
  uintptr_t header = a->base, spans = a->base + (a->header_pages << SEGALLOC__PAGE_SHIFT);
  CHECK((uintptr_t)p >= spans);
  char fh[512] = "", fs[512] = "", fq[512] = "";
  long hh = -1, hs = -1, hq = -1; /* AnonHugePages of each mapping */
  CHECK(vm_flags(header, fh, sizeof fh, &hh));
  CHECK(vm_flags((uintptr_t)p, fs, sizeof fs, &hs));
  CHECK(vm_flags((uintptr_t)q, fq, sizeof fq, &hq));

  /* in every mode the huge-page stretch that starts the arena (the header and the first
     spans) stays in small pages: only what was touched is resident, not all of it, as it
     would be had a huge page got in (before the advice, say, under the setting "always") */
  size_t hp = huge_page_size(), os = (size_t)sysconf(_SC_PAGESIZE);
  if (hp <= (size_t)SEGALLOC_ARENA_SIZE) CHECK(resident_pages(header, hp) < hp / os);
  /* a kernel built without THP takes no such advice, and shows none */
  int thp_kernel = kernel_has_thp();
  if (!thp_kernel) {
    fprintf(stderr, "test_thp: this kernel has no transparent huge pages; checking that nothing shows\n");
    CHECK(!has_flag(fh, "hg") && !has_flag(fh, "nh") && !has_flag(fs, "hg") && !has_flag(fs, "nh"));
  } else if (!strcmp(expect, "never")) {
    CHECK(segalloc__thp.mode == 0);
    CHECK(has_flag(fh, "nh") && has_flag(fs, "nh") && has_flag(fq, "nh"));
    /* advised before anything touched them: no huge page got in first */
    CHECK(hh == 0 && hs == 0 && hq == 0);
    CHECK(!has_flag(fh, "hg") && !has_flag(fs, "hg") && !has_flag(fq, "hg"));
  } else if (!strcmp(expect, "always")) {
    CHECK(segalloc__thp.mode == 2);
    CHECK(has_flag(fs, "hg") && has_flag(fq, "hg"));
    CHECK(!has_flag(fh, "hg") && !has_flag(fh, "nh"));
  } else if (!strcmp(expect, "system")) {
    CHECK(segalloc__thp.mode == 1);
    int sys_always = segalloc__os_thp_always();
    CHECK(segalloc__thp.guard_header == sys_always);
    CHECK(has_flag(fh, "nh") == sys_always);
    if (sys_always) CHECK(hh == 0); /* the header's mapping holds no huge page */
    CHECK(!has_flag(fh, "hg") && !has_flag(fs, "hg") && !has_flag(fs, "nh") && !has_flag(fq, "hg") && !has_flag(fq, "nh"));
  } else {
    fprintf(stderr, "test_thp: unknown mode %s\n", expect);
    return 2;
  }
  segalloc_free(q);
  segalloc_free(p);
  return test_finish();
}

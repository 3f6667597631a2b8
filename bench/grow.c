/* grow.c - buffers grown by realloc: what the realloc_grow workload mixes, taken apart.
 *
 *   cc -O2 -o /tmp/grow bench/grow.c
 *   LD_PRELOAD=build/libsegalloc.so /tmp/grow loop NBUF TOP ROUNDS
 *       NBUF buffers grown side by side by 16-byte appends (each a realloc) up to TOP
 *       bytes, then freed; ROUNDS times. Prints nanoseconds per realloc.
 *   LD_PRELOAD=build/libsegalloc.so /usr/bin/time -f %M /tmp/grow split PART [ROUNDS]
 *       realloc_grow's two halves on their own (PART 1: the 16 strings, 2: the 8 doubling
 *       vectors, 3: both, as bench/workloads realloc_grow has them), for peak RSS.
 *
 * Used for the realloc changes of 2026-12-03 (src/malloc.c, segalloc__realloc_slow; the
 * page heap's lean to resident pages, src/pageheap.c): run each build in turn, several
 * times, and compare medians. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng_state = 7;
static uint64_t rng(void) { /* xorshift64 */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static size_t range(size_t lo, size_t hi) { return lo + (size_t)(rng() % (hi - lo + 1)); }

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    fprintf(stderr, "grow: realloc(%zu) returned NULL\n", n);
    exit(3);
  }
  return q;
}

static int loop(int nbuf, size_t top, int rounds) {
  unsigned char **b = (unsigned char **)calloc((size_t)nbuf, sizeof *b);
  if (!b || top < 16) return 2;
  uint64_t sum = 0;
  double t0 = now();
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < nbuf; i++) b[i] = NULL;
    for (size_t len = 16; len <= top; len += 16)
      for (int i = 0; i < nbuf; i++) {
        b[i] = (unsigned char *)xrealloc(b[i], len);
        if (len > 16) sum += b[i][len - 17]; /* the last append's byte, moved or not */
        b[i][len - 1] = (unsigned char)(len >> 4);
      }
    for (int i = 0; i < nbuf; i++) free(b[i]);
  }
  double per = (now() - t0) * 1e9 / ((double)rounds * nbuf * (double)(top / 16));
  printf("%d buffers to %zu B: %.2f ns a realloc (checksum %llu)\n", nbuf, top, per, (unsigned long long)sum);
  free(b);
  return 0;
}

static int split(int part, int rounds) {
  uint64_t sum = 0;
  for (int rd = 0; rd < rounds; rd++) {
    if (part & 1) { /* 16 strings, round-robin appends of 1-24 bytes up to 2-12 KiB */
      enum { NSTR = 16 };
      char *str[NSTR];
      size_t len[NSTR], goal[NSTR];
      for (int i = 0; i < NSTR; i++) {
        str[i] = NULL;
        len[i] = 0;
        goal[i] = range(2048, 12288);
      }
      for (int live = NSTR; live > 0;) {
        live = 0;
        for (int i = 0; i < NSTR; i++) {
          if (len[i] >= goal[i]) continue;
          live++;
          size_t add = range(1, 24);
          str[i] = (char *)xrealloc(str[i], len[i] + add + 1);
          memset(str[i] + len[i], 'a', add);
          len[i] += add;
          str[i][len[i]] = 0;
        }
      }
      for (int i = 0; i < NSTR; i++) {
        sum += (uint64_t)str[i][len[i] / 2];
        free(str[i]);
      }
    }
    if (part & 2) { /* 8 vectors of 8-byte elements doubling up to 2-256 KiB */
      enum { NVEC = 8 };
      uint64_t *vec[NVEC];
      size_t cap[NVEC], top[NVEC];
      for (int i = 0; i < NVEC; i++) {
        vec[i] = NULL;
        cap[i] = 1;
        top[i] = (size_t)1 << range(8, 15);
      }
      for (int live = NVEC; live > 0;) {
        live = 0;
        for (int i = 0; i < NVEC; i++) {
          if (cap[i] >= top[i]) continue;
          live++;
          size_t old = vec[i] ? cap[i] : 0;
          cap[i] *= 2;
          vec[i] = (uint64_t *)xrealloc(vec[i], cap[i] * sizeof(uint64_t));
          for (size_t k = old; k < cap[i]; k += 8) vec[i][k] = k; /* a write per 64 B line */
        }
      }
      for (int i = 0; i < NVEC; i++) {
        for (size_t k = 0; k < cap[i]; k += 8) sum += vec[i][k];
        free(vec[i]);
      }
    }
  }
  printf("split %d: checksum %llu\n", part, (unsigned long long)sum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "loop")) return loop(atoi(argv[2]), strtoul(argv[3], NULL, 10), atoi(argv[4]));
  if (argc >= 3 && !strcmp(argv[1], "split")) return split(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 300);
  fprintf(stderr, "usage: grow loop NBUF TOP ROUNDS | grow split PART [ROUNDS]\n");
  return 2;
}

/* resident.c - which of segalloc's arena pages are resident when a workload ends, and who
 * holds them.
 *
 *   cc -O2 -pthread -o bench/resident bench/workloads.c bench/resident.c -lm
 *   bench/resident NAME [SCALE]     (the arguments of bench/workloads)
 *
 * Links segalloc into bench/workloads (segalloc.h with SEGALLOC_OVERRIDE). At exit it asks
 * the kernel (mincore) which OS pages of each arena are resident and sorts them by the
 * page-map entry of their segalloc page: arena header, small spans (by size class, with the
 * span count and the objects out of them, in thread caches or live), large blocks, free
 * pages of the page heap. It also prints the process's peak and current RSS from
 * /proc/self/status, so the arenas' share of the peak can be read off.
 *
 * Where peak_breakdown counts bytes by owner (segalloc_stats), this counts what the kernel
 * has resident: a workload that writes only the ends of its blocks leaves the middle pages
 * of large objects untouched, and those do not count here. Classes holding less than 16
 * KiB resident are summed, not listed. */
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static void print_status_line(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  if (!f) return;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key))) fprintf(stderr, "resident: %s", line);
  fclose(f);
}

__attribute__((destructor)) static void resident_report(void) {
  static size_t cls_res[SEGALLOC__NCLASSES], cls_spans[SEGALLOC__NCLASSES], cls_out[SEGALLOC__NCLASSES],
      cls_objs[SEGALLOC__NCLASSES];
  size_t header = 0, large = 0, freep = 0, other = 0, small = 0, rest = 0;
  size_t os = (size_t)sysconf(_SC_PAGESIZE), per = SEGALLOC_PAGE_SIZE / os;
  size_t npages = SEGALLOC__ARENA_PAGES;
  unsigned char *vec = mmap(NULL, npages * per, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (vec == MAP_FAILED) return;
  for (segalloc__arena *a = segalloc__heap.arenas; a; a = a->next) {
    if (mincore((void *)a->base, npages * SEGALLOC_PAGE_SIZE, vec)) continue;
    for (size_t i = 0; i < npages; i++) {
      size_t r = 0;
      for (size_t k = 0; k < per; k++) r += vec[i * per + k] & 1;
      r *= os;
      if (i < a->header_pages) {
        header += r;
        continue;
      }
      segalloc__span *s = i < a->inited ? a->pagemap[i] : NULL;
      if (s && s->state == SEGALLOC__SPAN_SMALL) {
        cls_res[s->cls] += r;
        small += r;
        if (segalloc__span_start(s) == a->base + i * SEGALLOC_PAGE_SIZE) {
          cls_spans[s->cls]++;
          cls_out[s->cls] += s->nalloc;
          cls_objs[s->cls] += s->nobjs;
        }
      } else if (s && s->state == SEGALLOC__SPAN_LARGE) {
        large += r;
      } else if (s && s->state == SEGALLOC__SPAN_FREE) {
        freep += r;
      } else {
        other += r; /* inside a free span (only its ends have entries) or above the mark */
      }
    }
  }
  munmap(vec, npages * per);
  print_status_line("VmHWM");
  print_status_line("VmRSS");
  fprintf(stderr, "resident: arenas KiB: header %zu, small spans %zu, large blocks %zu, free pages %zu\n",
          header >> 10, small >> 10, large >> 10, (freep + other) >> 10);
  fprintf(stderr, "resident: class   size   KiB  spans  objects out/held by spans\n");
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) {
    if (cls_res[c] < 16384) {
      rest += cls_res[c];
      continue;
    }
    fprintf(stderr, "resident: %5u %6u %5zu %6zu  %zu/%zu\n", c, segalloc__class_size[c], cls_res[c] >> 10,
            cls_spans[c], cls_out[c], cls_objs[c]);
  }
  fprintf(stderr, "resident: other classes %zu KiB\n", rest >> 10);
}

/* ---- statistics ---------------------------------------------------------------------
   See the design comment at the top of the implementation for an overview.

   Owns nothing but the arithmetic: every other layer keeps its own counts under its own
   lock (or per thread), and this part adds them up, Go MemStats style. Each byte of mapped
   memory is in exactly one state, so the fields add up:
     mapped = live + thread_cached + central + pageheap_free + released + metadata
   The snapshot takes the locks one at a time, so it is exact when other threads are quiet
   and close otherwise; thread caches are read without their owners' cooperation: a
   list's length is max - room, two words its owner may be rewriting in a slow path at that
   moment (a grow or refill), so a busy thread's cached count can be off by up to a batch
   per list (never negative), and its free count by one tick's SEGALLOC__TICK_FREES (16,384)
   while it is at its tick. With the other threads quiet, every figure is exact.

   segalloc_print_stats formats with the fatal-error path's number printer and write(2):
   no stdio, no allocation, so it is safe in a signal handler's neighbourhood and at exit. */

/* What a thread's cache holds, class by class (added to cached[]), and its small frees,
   read from any thread: per list max - room, and the free count, from words the owner
   writes without atomics (room and the tick count on every malloc or free). The read is
   racy by design (see above): volatile, so that each word is read once as it stands, and
   left out of ThreadSanitizer's instrumentation, which would rightly call it a race; a
   stale pair counts as nothing rather than as a negative. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
__attribute__((no_sanitize("thread")))
#endif
static uint64_t segalloc__stats_read_cache(const segalloc__tcache *tc, size_t *cached) {
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) {
    int64_t n = (int64_t)*(const volatile uint32_t *)&tc->max[c] - *(const volatile int32_t *)&tc->lists[c].room;
    cached[c] += n > 0 ? (size_t)n : 0;
  }
  return *(const volatile uint64_t *)&tc->frees + (SEGALLOC__TICK_FREES - *(const volatile uint32_t *)&tc->tick_left);
}

SEGALLOCDEF void segalloc_stats(segalloc_stats_t *out) {
  memset(out, 0, sizeof *out);
  size_t cached[SEGALLOC__NCLASSES];
  memset(cached, 0, sizeof cached);
  uint64_t small_frees = 0;
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  if (segalloc__tcaches.live.next) {
    for (segalloc__tcache *tc = segalloc__tcaches.live.next; tc != &segalloc__tcaches.live; tc = tc->next)
      small_frees += segalloc__stats_read_cache(tc, cached);
  }
  small_frees += segalloc__tcaches.dead_frees;
  out->threads = segalloc__tcaches.nthreads;
  segalloc__lock_release(&segalloc__tcaches.lock);
  small_frees += segalloc__load_relaxed(&segalloc__tcaches.direct_frees);

  size_t small_out_bytes = 0, small_in_use = 0;
  out->nclasses = SEGALLOC__NCLASSES;
  for (unsigned c = 1; c < SEGALLOC__NCLASSES; c++) {
    segalloc__central *cen = &segalloc__centrals[c];
    segalloc__lock_acquire(&cen->lock);
    size_t taken = (size_t)cen->out, spans = cen->nspans;
    segalloc__lock_release(&cen->lock);
    size_t size = segalloc__class_size[c];
    size_t in_use = taken > cached[c] ? taken - cached[c] : 0;
    out->classes[c].size = size;
    out->classes[c].objects_in_use = in_use;
    out->classes[c].objects_cached = cached[c];
    out->classes[c].spans = spans;
    small_out_bytes += taken * size;
    small_in_use += in_use;
    out->live += in_use * size;
    out->thread_cached += cached[c] * size;
  }

  segalloc__lock_acquire(&segalloc__heap.lock);
  /* the classes' counts were read before this lock: spans given back since then can leave
     small_spans below them for a moment (never report a wrapped difference) */
  out->central = segalloc__heap.small_spans > small_out_bytes ? segalloc__heap.small_spans - small_out_bytes : 0;
  out->pageheap_free = segalloc__heap.free_resident;
  out->released = segalloc__heap.free_released;
  out->large_live = segalloc__heap.large_live;
  out->huge_live = segalloc__heap.huge_live;
  out->arenas = segalloc__heap.narenas;
  size_t headers = segalloc__heap.header_bytes;
  segalloc__lock_release(&segalloc__heap.lock);
  out->live += out->large_live + out->huge_live;

  segalloc__lock_acquire(&segalloc__meta.lock);
  out->metadata = (size_t)segalloc__meta.bytes + headers;
  size_t meta_mapped = (size_t)segalloc__meta.bytes;
  segalloc__lock_release(&segalloc__meta.lock);
  out->mapped = (size_t)segalloc__load_relaxed(&segalloc__os_stats.mapped) + meta_mapped;
  out->releases = segalloc__load_relaxed(&segalloc__os_stats.releases);

  uint64_t large_m = segalloc__load_relaxed(&segalloc__global.large_mallocs);
  uint64_t large_f = segalloc__load_relaxed(&segalloc__global.large_frees);
  out->frees = small_frees + large_f;
  out->mallocs = small_frees + small_in_use + large_m;
}

/* One "  label   value[ unit]" line into buf at *n. */
static void segalloc__stat_line(char *buf, size_t *n, size_t cap, const char *label, uint64_t v, const char *unit) {
  char num[32];
  const char *parts[4] = {"  ", label, segalloc__fmt_u(num, v, 0), unit};
  for (int i = 0; i < 4; i++) {
    for (const char *s = parts[i]; *s && *n + 1 < cap; s++) buf[(*n)++] = *s;
    if (i == 1)
      for (size_t pad = strlen(label); pad < 20 && *n + 1 < cap; pad++) buf[(*n)++] = ' ';
  }
  if (*n + 1 < cap) buf[(*n)++] = '\n';
  buf[*n] = 0;
}

SEGALLOCDEF void segalloc_print_stats(int fd) {
  segalloc_stats_t st;
  segalloc_stats(&st);
  char buf[1024], num[32];
  size_t n = 0;
  buf[0] = 0;
  segalloc__stat_line(buf, &n, sizeof buf, "mallocs", st.mallocs, "");
  segalloc__stat_line(buf, &n, sizeof buf, "frees", st.frees, "");
  segalloc__stat_line(buf, &n, sizeof buf, "live", st.live, " bytes in blocks the program holds");
  segalloc__stat_line(buf, &n, sizeof buf, "thread caches", st.thread_cached, " bytes free in thread caches");
  segalloc__stat_line(buf, &n, sizeof buf, "central lists", st.central, " bytes free in spans of central lists");
  segalloc__stat_line(buf, &n, sizeof buf, "page heap free", st.pageheap_free, " bytes free, resident, kept for reuse");
  segalloc__stat_line(buf, &n, sizeof buf, "released", st.released, " bytes given back to the OS (not in RSS)");
  segalloc__stat_line(buf, &n, sizeof buf, "metadata", st.metadata, " bytes");
  segalloc__stat_line(buf, &n, sizeof buf, "mapped", st.mapped, " bytes of address space");
  segalloc__stat_line(buf, &n, sizeof buf, "madvise calls", st.releases, "");
  segalloc__stat_line(buf, &n, sizeof buf, "arenas", st.arenas, "");
  segalloc__stat_line(buf, &n, sizeof buf, "threads", st.threads, " with a cache");
  segalloc__write(fd, "segalloc 0.1 stats (pid ");
  segalloc__write(fd, segalloc__fmt_u(num, (uint64_t)getpid(), 0));
  segalloc__write(fd, ")\n");
  segalloc__write(fd, buf);
  segalloc__write(fd, "  class     size   in use   cached    spans\n");
  for (unsigned c = 1; c < st.nclasses; c++) {
    segalloc_class_stats *k = &st.classes[c];
    if (!k->objects_in_use && !k->objects_cached && !k->spans) continue;
    uint64_t cols[5] = {c, k->size, k->objects_in_use, k->objects_cached, k->spans};
    char line[96];
    size_t m = 0;
    for (int i = 0; i < 5; i++) {
      segalloc__fmt_u(num, cols[i], 0);
      for (size_t pad = strlen(num); pad < (i ? 9u : 7u); pad++) line[m++] = ' ';
      for (const char *s = num; *s; s++) line[m++] = *s;
    }
    line[m++] = '\n';
    line[m] = 0;
    segalloc__write(fd, line);
  }
}

/* SEGALLOC_SHOW_STATS=1: the report on stderr at exit, in any program carrying the
   implementation (the preloaded library included), through the copy of stderr taken at
   the first allocation. Not when that descriptor no longer refers to the same file (a
   program that closes its descriptors and opens others: the report would land in its
   data), nor on a pipe or socket whose reader has gone (the write would raise SIGPIPE
   and change the program's exit status). */
__attribute__((destructor)) static void segalloc__show_stats_at_exit(void) {
  int fd = segalloc__global.stats_fd;
  if (!segalloc__global.done || fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != segalloc__global.stats_dev || (uint64_t)st.st_ino != segalloc__global.stats_ino) return;
  struct pollfd p = {fd, POLLOUT, 0}; /* a pipe whose reader has gone reports POLLERR */
  if (poll(&p, 1, 0) != 1 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return;
  segalloc_print_stats(fd);
}

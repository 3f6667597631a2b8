/* test_metafail.c: the allocator's own metadata running out while the OS still maps arenas
   and huge blocks. tests/coverage.sh found these paths never taken (test_faults squeezes the
   whole address space, where the big mappings fail first):
     - a new arena whose span record cannot be had is unmapped again: ENOMEM, nothing leaked
     - a huge block whose record cannot be had is unmapped again: ENOMEM, nothing leaked
     - realloc growing a large block in place, when the free pages after it must be split
       and no record is left: the block stays as it was, realloc fails cleanly, and works
       once memory is back
     - an aligned large block whose lead pages cannot be split off: ENOMEM, the free span
       back whole
     - a thread whose cache cannot be set up allocates and frees straight through the
       central lists, and gets a cache once memory is back
     - a class's first parked chain, when its transfer cache cannot be had, goes back to
       its spans
   The program defines mmap: segalloc's calls land here, and the metadata chunks (mapped
   without MAP_NORESERVE, unlike arenas and huge blocks) fail while `starve` is set; glibc's
   own mappings (thread stacks, its heap) do not come through here. Before each case the
   current metadata chunk is used up and the recycled span and huge records are set aside,
   so the next record must come from a new chunk; afterwards they are given back.
   Plain and ASan builds (tests/run.sh); not TSan, whose mmap interceptor this bypasses. */
#define _GNU_SOURCE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)

static int starve;          /* fail metadata mappings */
static int meta_maps_failed;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (starve && !(flags & MAP_NORESERVE)) {
    __atomic_add_fetch(&meta_maps_failed, 1, __ATOMIC_RELAXED);
    errno = ENOMEM;
    return MAP_FAILED;
  }
  long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  return r == -1 ? MAP_FAILED : (void *)r;
}

static segalloc__span *saved_spans;
static segalloc__huge *saved_huge;

/* From now on a record must come from a new metadata chunk, which the OS refuses. */
static void starve_begin(void) {
  segalloc__lock_acquire(&segalloc__meta.lock);
  segalloc__meta.cur = segalloc__meta.end;
  saved_spans = segalloc__meta.free_spans;
  segalloc__meta.free_spans = NULL;
  segalloc__lock_release(&segalloc__meta.lock);
  segalloc__lock_acquire(&segalloc__heap.lock);
  saved_huge = segalloc__heap.huge_spare;
  segalloc__heap.huge_spare = NULL;
  segalloc__lock_release(&segalloc__heap.lock);
  __atomic_store_n(&starve, 1, __ATOMIC_RELEASE);
}

/* Memory is back; the records set aside join whatever was recycled meanwhile. */
static void starve_end(void) {
  __atomic_store_n(&starve, 0, __ATOMIC_RELEASE);
  segalloc__lock_acquire(&segalloc__meta.lock);
  segalloc__span **end = &segalloc__meta.free_spans;
  while (*end) end = &(*end)->next;
  *end = saved_spans;
  segalloc__lock_release(&segalloc__meta.lock);
  segalloc__lock_acquire(&segalloc__heap.lock);
  segalloc__huge **hend = &segalloc__heap.huge_spare;
  while (*hend) hend = &(*hend)->next;
  *hend = saved_huge;
  segalloc__lock_release(&segalloc__heap.lock);
}

static segalloc_stats_t snap(void) {
  segalloc_stats_t s;
  segalloc_stats(&s);
  return s;
}

/* a new arena: mapped, then no record for its free span */
static void test_arena(void) {
  /* fill the first arena with two blocks of 31 MiB: a third needs another */
  size_t big = 31 * MiB;
  void *a = segalloc_malloc(big), *b = segalloc_malloc(big);
  CHECK(a && b);
  segalloc_stats_t before = snap();
  int failed = meta_maps_failed;
  starve_begin();
  errno = 0;
  void *c = segalloc_malloc(big);
  int err = errno;
  starve_end();
  segalloc_stats_t after = snap();
  CHECK(c == NULL && err == ENOMEM && meta_maps_failed > failed);
  CHECK(after.arenas == before.arenas && after.mapped == before.mapped); /* unmapped again */
  CHECK(test_stats_add_up(&after) && segalloc_check_heap() == 0);
  c = segalloc_malloc(big);
  CHECK(c != NULL && snap().arenas == before.arenas + 1);
  if (c) memset(c, 1, big);
  segalloc_free(a);
  segalloc_free(b);
  segalloc_free(c);
}

/* a huge block: mapped, then no record for it */
static void test_huge(void) {
  segalloc_stats_t before = snap();
  int failed = meta_maps_failed;
  starve_begin();
  errno = 0;
  void *h = segalloc_malloc(40 * MiB);
  int err = errno;
  starve_end();
  segalloc_stats_t after = snap();
  CHECK(h == NULL && err == ENOMEM && meta_maps_failed > failed);
  CHECK(after.mapped == before.mapped && after.huge_live == before.huge_live);
  CHECK(test_stats_add_up(&after) && segalloc_check_heap() == 0);
  h = segalloc_malloc(40 * MiB);
  CHECK(h != NULL && snap().huge_live >= before.huge_live + 40 * MiB);
  segalloc_free(h);
}

/* realloc growing a large block into the free pages after it, which must be split */
static void test_grow_in_place(void) {
  size_t n = 100000, m = 150000;
  unsigned char *l = (unsigned char *)segalloc_malloc(n);
  CHECK(l != NULL);
  if (!l) return;
  for (size_t i = 0; i < n; i++) l[i] = (unsigned char)(i * 7);
  size_t usable = segalloc_usable_size(l);
  /* the pages after it are free, and more than it needs (a split) */
  uintptr_t end = (uintptr_t)l + ((usable + SEGALLOC_PAGE_SIZE - 1) & ~(size_t)(SEGALLOC_PAGE_SIZE - 1));
  segalloc__span *r = segalloc__span_of(end);
  CHECK(r && r->state == SEGALLOC__SPAN_FREE && r->npages > (m - usable) / SEGALLOC_PAGE_SIZE + 2);
  int failed = meta_maps_failed;
  starve_begin();
  errno = 0;
  void *q = segalloc_realloc(l, m);
  int err = errno;
  starve_end();
  /* no record to split the free pages after it with, nor to carve a new block: the old
     block is untouched and still ours */
  CHECK(q == NULL && err == ENOMEM && meta_maps_failed > failed);
  int same = 1;
  for (size_t i = 0; i < n; i++) same &= l[i] == (unsigned char)(i * 7);
  CHECK(same && segalloc_usable_size(l) == usable);
  CHECK(segalloc_check_heap() == 0);
  q = segalloc_realloc(l, m);
  CHECK(q != NULL && segalloc_usable_size(q) >= m);
#if !SEGALLOC__WRAPPED /* the debug wrappers copy a block that grows */
  CHECK(q == l); /* memory back: it grows where it stands */
#endif
  if (q) {
    same = 1;
    for (size_t i = 0; i < n; i++) same &= ((unsigned char *)q)[i] == (unsigned char)(i * 7);
    CHECK(same);
  }
  segalloc_free(q ? q : l);
}

/* an aligned large block, whose pages before the aligned start must be split off */
static void test_aligned(void) {
  segalloc_stats_t before = snap();
  int failed = meta_maps_failed;
  starve_begin();
  errno = 0;
  void *p = segalloc_aligned_alloc(65536, 100000);
  int err = errno;
  starve_end();
  segalloc_stats_t after = snap();
  CHECK(p == NULL && err == ENOMEM && meta_maps_failed > failed);
  CHECK(after.live == before.live && after.pageheap_free + after.released == before.pageheap_free + before.released);
  CHECK(test_stats_add_up(&after) && segalloc_check_heap() == 0); /* the free span went back whole */
  p = segalloc_aligned_alloc(65536, 100000);
  CHECK(p != NULL && (uintptr_t)p % 65536 == 0);
  segalloc_free(p);
}

/* a thread whose cache cannot be set up */
static pthread_barrier_t bar;
static int thread_ok;

static void *cacheless(void *arg) {
  (void)arg;
  pthread_barrier_wait(&bar); /* main has starved the metadata */
  int ok = 1;
  void *p[8];
  for (int i = 0; i < 8; i++) {
    p[i] = segalloc_malloc(64);
    if (!p[i]) ok = 0;
    else memset(p[i], i, 64);
  }
  ok &= segalloc__tc == &segalloc__tc_empty; /* no cache: every call went to the central list */
  for (int i = 0; i < 8; i++) {
    unsigned char *c = (unsigned char *)p[i];
    if (c && (c[0] != i || c[63] != i)) ok = 0;
    segalloc_free(p[i]);
  }
  pthread_barrier_wait(&bar); /* main checks the statistics */
  pthread_barrier_wait(&bar); /* memory is back */
  void *x = segalloc_malloc(64);
  ok &= x != NULL && segalloc__tc != &segalloc__tc_empty; /* a cache now */
  segalloc_free(x);
  thread_ok = ok;
  pthread_barrier_wait(&bar); /* main counts this thread's cache */
  pthread_barrier_wait(&bar);
  return NULL;
}

static void test_thread_cache(void) {
  /* a span of the class with free objects, so the central list can serve without a new
     span (which would need a record too) */
  void *warm[64];
  for (int i = 0; i < 64; i++) warm[i] = segalloc_malloc(64);
  for (int i = 0; i < 64; i++) segalloc_free(warm[i]);
  segalloc_thread_flush();
  CHECK(segalloc__tcaches.spare == NULL); /* no exited thread's cache to reuse */
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, cacheless, NULL);
  segalloc_stats_t before = snap();
  uint64_t direct = segalloc__tcaches.direct_frees;
  int failed = meta_maps_failed;
  starve_begin();
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar); /* the thread has allocated and freed 8 blocks */
  starve_end();
  segalloc_stats_t mid = snap();
  CHECK(meta_maps_failed > failed);
  CHECK(mid.threads == before.threads); /* it has no cache */
  CHECK(segalloc__tcaches.direct_frees >= direct + 8); /* its frees went to the central list */
  CHECK(mid.live == before.live && mid.mallocs >= before.mallocs + 8 && test_stats_add_up(&mid));
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar); /* it has a cache now */
  CHECK(snap().threads == before.threads + 1);
  pthread_barrier_wait(&bar);
  pthread_join(t, NULL);
  CHECK(thread_ok);
  CHECK(snap().threads == before.threads && segalloc_check_heap() == 0);
  pthread_barrier_destroy(&bar);
}

/* a class's first parked chain, with no transfer cache to be had */
static void test_transfer(void) {
  unsigned cls = segalloc__size_class(1536);
  segalloc__central *c = &segalloc__centrals[cls];
  CHECK(c->transfer == NULL && c->nspans == 0); /* this program has not used the class */
  uint64_t out0 = c->out;
  void *head = NULL;
  int n = segalloc__central_take(cls, &head, 4, 0);
  CHECK(n >= 1 && c->nspans == 1);
  int failed = meta_maps_failed;
  starve_begin();
  segalloc__central_give(cls, head, NULL, n, SEGALLOC__TO_ANY);
  starve_end();
  CHECK(meta_maps_failed > failed);
  /* to its span, which, all its objects back, went to the page heap */
  CHECK(c->transfer == NULL && c->out == out0 && c->nspans == 0);
  CHECK(segalloc_check_heap() == 0);
}

/* out of memory, a thread takes the chains another live shard's thread parked, rather than
   fail with free objects of the class at hand (found by review: malloc returned NULL with
   1,024 free 16-byte objects parked for the other shard) */
static pthread_barrier_t park_bar;
static unsigned park_cls; /* the class the blocks have (ASan builds pad the size) */

static void *parker(void *arg) {
  size_t size = *(size_t *)arg;
  static void *p[256];
  for (int i = 0; i < 256; i++) p[i] = segalloc_malloc(size);
  park_cls = segalloc__span_of((uintptr_t)p[0])->cls;
  for (int i = 0; i < 256; i++) segalloc_free(p[i]); /* overflows park chains for its shard */
  segalloc_thread_flush();                            /* what its list still holds: to the spans */
  pthread_barrier_wait(&park_bar);
  pthread_barrier_wait(&park_bar); /* alive, so its shard is live, while main runs dry */
  return NULL;
}

static void test_parked(void) {
  size_t size = 96; /* a size this program has not used */
  pthread_barrier_init(&park_bar, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, parker, &size);
  pthread_barrier_wait(&park_bar);
  segalloc__central *c = &segalloc__centrals[park_cls];
  unsigned shard = segalloc__tc->shard;
  int parked_for_other = 0;
  for (unsigned i = 0; c->transfer && i < c->transfer->count; i++) parked_for_other |= c->transfer->to[i] != shard;
  CHECK(parked_for_other);
  enum { MAX = 4096 };
  static void *got[MAX];
  int n = 0, failed = meta_maps_failed;
  starve_begin();
  while (n < MAX && (got[n] = segalloc_malloc(size)) != NULL) n++;
  unsigned left = c->transfer ? c->transfer->objs : 0;
  starve_end();
  CHECK(n < MAX && meta_maps_failed > failed); /* ran dry, for want of a span record */
  CHECK(left == 0);                            /* but only once nothing was parked */
  for (int i = 0; i < n; i++) segalloc_free(got[i]);
  pthread_barrier_wait(&park_bar);
  pthread_join(t, NULL);
  pthread_barrier_destroy(&park_bar);
  segalloc_thread_flush();
  CHECK(segalloc_check_heap() == 0);
}

int main(void) {
  test_arena();
  test_huge();
  test_grow_in_place();
  test_aligned();
  test_thread_cache();
  test_transfer();
  test_parked();
  segalloc_stats_t st = snap();
  CHECK(test_stats_add_up(&st) && segalloc_check_heap() == 0);
  return test_finish();
}

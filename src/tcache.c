/* ---- thread caches ----------------------------------------------------------------------
   See the design comment at the top of the implementation for an overview.

   Owns each thread's free lists, one per size class. No locking is needed: a cache is only
   ever touched by its own thread (other threads only read its counts for statistics, and
   fork's child adopts the caches of threads that no longer exist). The fast paths in
   malloc.c pop and push here inline; this part holds the slow side: the first use in a
   thread, refilling an empty list from the central list, flushing a long one back, the
   byte bound, and giving everything back when the thread exits.

   The cache is reached through one thread-local pointer (with the cache's state byte, the
   fork handler's skip count and os.c's per-thread token, about 16 bytes of static TLS in
   all), so a library that carries the header can be dlopen'ed late. It starts pointing at
   a shared, empty cache whose lists all have room for nothing: the first malloc finds no
   object, the first free finds no room, and both fall into the slow path, which sets the
   real cache up.
   That keeps "is this thread initialised?" off the fast path.

   A list that overflows goes to the central list whole, as one chain; a list that runs dry
   takes a whole chain back when one is parked for its shard (central.c's transfer cache),
   so neither walks the list. A cache joins the shard with the fewest live threads when its
   thread starts (central.c: threads of different shards take their blocks from different
   spans).

   Bound: each list has a maximum length. It starts at 1 and doubles each time the list runs
   dry or overflows, up to the class's batch (slow start: a class the thread barely uses
   costs it a few objects, not a batch). Past a batch, running dry grows it by a batch, at
   most once per tick, up to a per-class cap (16 batches, and no more than half of the
   thread's byte bound: a quarter kept the 8 KiB class at 64 objects, which a loop of 100
   live blocks overflowed every round, each 8 KiB span going back to the page heap and
   out again: 159 instructions per pair in bench/callgrind.py's batch, 110 with half).
   A list that runs dry having taken back, by refills, as many objects as it last handed
   on, within 2 * max of the thread's frees since, grows whatever the tick: the thread
   has used up what it just gave away, cycling through more of the class than the list
   holds (as a loop that allocates and frees 100 blocks at a time does). Measured with
   ticks of 4,096 frees: grown a batch a tick, the 8 KiB list of that loop took 40 rounds
   for each batch, and its blocks went
   through the central list and the page heap meanwhile (the batch rows of
   bench/callgrind.py: 124 instructions a pair at 8 KiB, 69 with this rule; 63 and 62 at
   16 B to 1 KiB). A count wandering up and down at random gets no bigger lists from it
   (mean maximum over 2 million random mallocs and frees: 201 before and after at 64 B,
   143 and 144 at 1 KiB, 78 and 81 at 8 KiB). An overflow past a batch hands objects on.
   A tick comes every SEGALLOC__TICK_FREES frees (a countdown on the free path, which also
   counts frees for the statistics): every list that has not run dry since the last one
   gives half its objects (rounded up) to the central list and halves its maximum, so lists
   shrink to what the thread cycles through rather than the most they ever held. A list of
   one object gives that one: a class the thread has left keeps no block in its cache, and
   its span can go back to the page heap (bench/workloads pairs, one size after another:
   the arena's resident pages at exit 13 -> 7, peak RSS -16 KiB; frag -128 KiB, larson
   -172 KiB; the one-object list of a class in use refills once a tick, 54.06 -> 54.07
   instructions per pair, callgrind). A tick of 16,384
   frees rather than 4,096 (with central.c's idle time cut from 32 ticks to 8, so that it
   still comes to 131,072 frees) took threads_own's CPU from 281 to 264 ms
   (usertime.py -r 21; mimalloc 284) and its time, larson's and batch_lifo's by 4-20 %
   (bench/compare.sh -r 15, both orders); callgrind of bench/workloads at scale 0.3,
   preloaded, counts batch_lifo 91.6M -> 90.3M and threads_own 262.4M -> 257.2M
   instructions. Peak RSS moved by less than 170 KiB on every workload (larson +164 KiB
   the most, 9 rounds). Probably lists halved by a tick came back through the central list
   at the next refill; that was not measured apart. Every 8th slow-path
   event the cache also adds up what it holds (sum of count * size over the lists); past
   SEGALLOC_TCACHE_BYTES it scavenges: every list gives back half of what it holds and
   halves its maximum, though not below a batch. So a thread holds at most the bound plus
   the few batches that can arrive between two checks. The cache keeps the sum of max *
   size over its lists too, and while that is within the bound the lists cannot hold more,
   so the check skips its walk over them.

   A list the thread has never refilled (it only frees the class: a consumer of another
   thread's blocks) holds at most SEGALLOC__FREE_ONLY_BYTES (8 KiB) of objects, or one
   object of a larger class: everything it holds waits to go to the thread that allocates
   them, so a list grown to a batch (9 KiB at 288 bytes, 32-64 KiB for the classes from 1
   KiB up) only adds to the footprint. bench/workloads prodcons, whose consumer frees 45
   classes it never allocates: peak RSS 4916 -> 4196 KiB, glibc 3204 (bench/compare.sh -r
   31 -q; the quartiles, 4568-5036 and 3924-4340, do not overlap), for 4-17 % more CPU in
   five runs of usertime.py -r 21 or 31 (75 -> 83 ms in the last), since the consumer hands
   on a chain, and the producer takes one, for each 8 KiB rather than each batch. */

typedef struct segalloc__tcache {
  /* first, so that malloc adds a list's offset (segalloc__slot_list) to the cache's
     address as it is (in units of 8 bytes, which an address mode scales) */
  segalloc__tlist lists[SEGALLOC__NCLASSES];
  /* the arena free() saw last (see segalloc_free) and its inited mark then, in bytes:
     free's fast path takes an address p as one of its blocks when p - hint_base <
     hint_limit. Both 0 until there is one, which no address passes. In one cache line
     with the next two, which free reads too */
  __attribute__((aligned(64))) uintptr_t hint_base;
  uintptr_t hint_limit;
  uintptr_t cookie;            /* copy of segalloc__cookie, at hand in the fast path */
  uint32_t tick_left;          /* frees until the next tick (segalloc__tcache_tick) */
  unsigned events;             /* slow-path events, for the periodic size check */
  size_t max_bytes;            /* sum of max * size over the lists: what the cache could
                                  hold at most (segalloc__tcache_check_size) */
  uint64_t frees;              /* small frees by this thread, up to its last tick */
  uint32_t max[SEGALLOC__NCLASSES]; /* the most objects each list may hold (slow paths) */
  unsigned char dry[SEGALLOC__NCLASSES]; /* the list ran dry since the last tick */
  unsigned char refilled[SEGALLOC__NCLASSES]; /* it ever ran dry: the thread allocates
                                                 this class, not only frees it */
  /* since the list last overflowed and handed objects on (segalloc__tcache_cycling): how
     many of them refills have not brought back yet (UINT32_MAX: it never has), and the
     thread's frees then (mod 2^32) */
  uint32_t owed[SEGALLOC__NCLASSES];
  uint32_t handed_at[SEGALLOC__NCLASSES];
  unsigned shard;              /* whose spans it takes from (central.c) */
  /* a chain of in_hand_n objects from list in_hand_cls on its way to the central list
     (segalloc__tcache_in_hand); NULL when none */
  void *in_hand;
  uint32_t in_hand_n;
  unsigned in_hand_cls;
  uintptr_t owner;             /* the thread running its key destructor (segalloc__self) */
  struct segalloc__tcache *next, *prev; /* the registry's list it is on: live or exiting */
} segalloc__tcache;

/* The two operations of the fast paths, here once: take the head object of a list (NULL
   when empty), and put a freed object on a list that has room, marking it free. */
/* frees between two ticks of a cache (see segalloc__tcache_tick) */
#define SEGALLOC__TICK_FREES 16384u
/* the most a list that its thread only frees into may hold, in bytes (segalloc__tcache_grow) */
#define SEGALLOC__FREE_ONLY_BYTES 8192u

static segalloc__inline segalloc__nosan void **segalloc__tlist_pop(segalloc__tlist *l) {
  void **o = (void **)l->head;
  if (segalloc__likely(o != NULL)) {
    l->head = segalloc__link(o);
    l->room++;
  }
  return o;
}

static void segalloc__tcache_tick(segalloc__tcache *tc);

/* The caller has taken the unit of room the object uses (l->room--). */
static segalloc__inline segalloc__nosan void segalloc__tlist_push(segalloc__tcache *tc, segalloc__tlist *l, void **o) {
  o[1] = segalloc__free_mark(tc->cookie, o);
  __asm__("" : "+r"(o)); /* two plain stores: gcc would pair them through a vector register */
  segalloc__set_link(o, l->head);
  l->head = o;
  if (segalloc__unlikely(--tc->tick_left == 0)) segalloc__tcache_tick(tc);
}

/* Where p's page-map entry is, when p lies below the inited mark of the arena tc freed into
   last (every entry there is set, pagemap.c); NULL otherwise, and always for the shared
   empty cache. The first step of realloc's and usable_size's fast paths, and of
   free_miss's retry; free's own fast path does the same subtract and compare but reads the
   page's small-map entry instead (malloc.c). */
static segalloc__inline segalloc__span *const *segalloc__tcache_hinted(const segalloc__tcache *tc, uintptr_t p) {
  uintptr_t off = p - tc->hint_base;
  if (segalloc__unlikely(off >= tc->hint_limit)) return NULL;
  return &((const segalloc__arena *)tc->hint_base)->pagemap[off >> SEGALLOC__PAGE_SHIFT];
}

/* The objects on list cls of cache tc. The slow paths work with this count and the
   maximum and write both back through segalloc__tcache_set; the fast paths only move
   `room`. */
static segalloc__inline uint32_t segalloc__tcache_count(const segalloc__tcache *tc, unsigned cls) {
  return tc->max[cls] - (uint32_t)tc->lists[cls].room;
}

/* Make list cls of tc a list of n objects (already linked from its head) with room for max
   (n <= max), keeping the cache's max_bytes in step. */
static segalloc__inline void segalloc__tcache_set(segalloc__tcache *tc, unsigned cls, uint32_t n, uint32_t max) {
  tc->max_bytes += ((size_t)max - tc->max[cls]) * segalloc__class_size[cls]; /* mod 2^N when it shrinks */
  tc->max[cls] = max;
  tc->lists[cls].room = (int32_t)(max - n);
}

/* Lemire's divisibility test in 32 bits: n is a multiple of size when n * magic, mod 2^32,
   is below magic = ceil(2^32 / size). Exact for sizes up to 2^15 and n < 2^17 - size
   (free's n is an offset within a page plus one within an object, below 64 + 32 KiB), and
   tests/test_pageheap.c checks every class, page and byte offset. */
static segalloc__inline uint32_t segalloc__boundary_magic(uint32_t size) {
  return (uint32_t)(UINT32_MAX / size + 1);
}
static segalloc__inline int segalloc__on_boundary(uint32_t n, uint32_t magic) {
  return n * magic < magic;
}

/* A cache with no objects and no room: every fast-path attempt on it fails. Its cookie is a
   value no freed block carries, and its arena hint matches no address. */
static segalloc__tcache segalloc__tc_empty = {{{NULL, 0, 0}}, 0, 0, 0, 0, 0, 0, 0, {0}, {0}, {0}, {0}, {0}, 0, NULL, 0, 0, 0, NULL, NULL};

static segalloc__thread_local segalloc__tcache *segalloc__tc segalloc__tls_attr = &segalloc__tc_empty;
/* 0: no cache yet; 1: initialising (recursion from pthread_setspecific goes to central);
   2: has a cache; 3: exited (its key destructor ran: serve from central directly) */
static segalloc__thread_local unsigned char segalloc__tc_state segalloc__tls_attr;

static struct {
  segalloc__lock lock;       /* the registry: a leaf lock */
  segalloc__tcache live;     /* sentinel */
  segalloc__tcache exiting;  /* sentinel: caches whose thread is emptying them at its exit */
  segalloc__tcache *spare;   /* caches of exited threads, for reuse */
  size_t nthreads;
  uint64_t dead_frees;       /* frees counted by caches that have gone */
  uint64_t direct_frees;     /* small frees that went straight to a central list (atomic) */
  pthread_key_t key;
  int key_ok;
} segalloc__tcaches;


static size_t segalloc__tlist_cap(unsigned cls) {
  size_t size = segalloc__class_size[cls], batch = segalloc__class_batch[cls];
  size_t cap = (size_t)SEGALLOC_TCACHE_BYTES / 2 / size;
  if (cap > batch * 16) cap = batch * 16;
  return cap < batch ? batch : cap;
}

/* Where list cls's surplus goes in the transfer cache: parked for this thread's shard if
   the thread allocates the class too (it will want the objects back), for anyone if it
   only frees them (a consumer's objects are for the producer). */
static unsigned segalloc__tcache_give_to(const segalloc__tcache *tc, unsigned cls) {
  return tc->refilled[cls] ? tc->shard : (unsigned)SEGALLOC__TO_ANY;
}

/* Handing a chain on from list cls: the first n objects, from its head. The chain is
   recorded in tc before it is cut off the list (the cut is a release store after the
   record) and until central_give, under the class lock, clears the record: a fork that
   catches this thread waiting for that lock (the prepare handler holds it) leaves the
   child the record, and the child takes the chain back (segalloc__tcache_adopt). Before
   the cut, the list's head is still the record's: the child then takes the objects from
   the list alone. */
static void segalloc__tcache_in_hand(segalloc__tcache *tc, unsigned cls, uint32_t n) {
  tc->in_hand_cls = cls;
  tc->in_hand_n = n;
  __atomic_store_n(&tc->in_hand, tc->lists[cls].head, __ATOMIC_RELAXED);
}

/* Cut list l to rest: a release store, after the record of the chain, then a release
   fence, which GCC and Clang treat as a barrier for all memory accesses and which orders
   the CPU's stores where it needs to (no instruction on x86). So the plain stores after
   the cut (the list's count, the chain's end) are not seen before it; otherwise a fork's
   child could see the count lowered while the list still starts with the chain, and lose
   the chain. */
static void segalloc__tcache_cut(segalloc__tlist *l, void *rest) {
  __atomic_store_n(&l->head, rest, __ATOMIC_RELEASE);
  segalloc__fence_release();
}

/* Give `n` objects from the head of list cls back to the central list. */
static segalloc__nosan void segalloc__tcache_flush_list(segalloc__tcache *tc, unsigned cls, uint32_t n, unsigned to) {
  segalloc__tlist *l = &tc->lists[cls];
  uint32_t count = segalloc__tcache_count(tc, cls);
  if (n > count) n = count;
  if (!n) return;
  void *head = l->head, **o = (void **)head;
  for (uint32_t i = 1; i < n; i++) o = (void **)segalloc__link(o);
  segalloc__tcache_in_hand(tc, cls, n);
  segalloc__tcache_cut(l, segalloc__link(o));
  segalloc__set_link(o, NULL); /* the batch is a NULL-terminated chain of its own */
  l->room += (int32_t)n;
  segalloc__central_give_for(cls, head, o, (int)n, to, &tc->in_hand);
}

/* Give list cls more room: slow start, doubling from 1 up to a batch, then a batch at a
   time up to its cap. 0 when it is at its cap. A list the thread has only freed into
   (never refilled) ends its slow start at SEGALLOC__FREE_ONLY_BYTES of objects, or one
   object, and grows no further: what it holds is of no use to its own thread (see the top
   of this part). */
static int segalloc__tcache_grow(segalloc__tcache *tc, unsigned cls) {
  uint32_t batch = segalloc__class_batch[cls];
  uint32_t count = segalloc__tcache_count(tc, cls);
  uint32_t start = batch; /* where slow start ends */
  if (!tc->refilled[cls]) {
    start = (uint32_t)(SEGALLOC__FREE_ONLY_BYTES / segalloc__class_size[cls]);
    start = start == 0 ? 1 : start < batch ? start : batch;
  }
  if (tc->max[cls] < start) {
    segalloc__tcache_set(tc, cls, count, tc->max[cls] ? (tc->max[cls] * 2 < start ? tc->max[cls] * 2 : start) : 1);
    return 1;
  }
  if (!tc->refilled[cls] || tc->max[cls] + batch > segalloc__tlist_cap(cls)) return 0;
  segalloc__tcache_set(tc, cls, count, tc->max[cls] + batch);
  return 1;
}

/* Every 8th slow-path event: if the cache holds more than its bound, every list gives back
   half of its objects and halves its maximum (not below a batch; a smaller maximum stays).
   While the lists' maxima add up to no more than the bound, the cache cannot hold more,
   and the walk over the lists is skipped (it was 2.5 % of the frag workload's
   instructions, callgrind). */
static void segalloc__tcache_check_size(segalloc__tcache *tc) {
  if (++tc->events & 7) return;
  if (tc->max_bytes <= (size_t)SEGALLOC_TCACHE_BYTES) return;
  size_t held = 0;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) held += (size_t)segalloc__tcache_count(tc, cls) * segalloc__class_size[cls];
  if (held <= (size_t)SEGALLOC_TCACHE_BYTES) return;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    uint32_t batch = segalloc__class_batch[cls];
    segalloc__tcache_flush_list(tc, cls, (segalloc__tcache_count(tc, cls) + 1) / 2, SEGALLOC__TO_SPANS);
    segalloc__tcache_set(tc, cls, segalloc__tcache_count(tc, cls), tc->max[cls] / 2 < batch ? (tc->max[cls] < batch ? tc->max[cls] : batch) : tc->max[cls] / 2);
  }
}

/* Every SEGALLOC__TICK_FREES frees: a list that has not run dry since the last tick held
   objects the thread did not need all that time, so it gives half of them to the central
   list and halves its maximum (slow start builds it up again if need be). Lists in use keep
   what they have. Without this a list would keep the most it ever held, and a thread that
   uses many classes in turn would hold the sum of those peaks.
   The half goes to the transfer cache as one chain while it has room, not to the spans:
   scattered back into spans, the objects emptied spans that went to the page heap only
   for the next refill to carve a fresh span, touching new pages; measured, this made
   threads_own's spans churn (18,150 fresh spans in one run, 8,484 after) and the batch
   workloads' peak RSS 4.1 MiB instead of 3.4. The transfer cache is bounded
   (SEGALLOC__TRANSFER_BYTES per class), segalloc_trim drains it, and the tick also moves
   on the clock by which a class's idle transfer cache goes back to its spans
   (segalloc__central_decay, central.c). */
static segalloc__noinline segalloc__nosan void segalloc__tcache_tick(segalloc__tcache *tc) {
  tc->frees += SEGALLOC__TICK_FREES;
  tc->tick_left = SEGALLOC__TICK_FREES;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    if (tc->dry[cls]) {
      tc->dry[cls] = 0;
      continue;
    }
    uint32_t count = segalloc__tcache_count(tc, cls);
    if (count) segalloc__tcache_flush_list(tc, cls, (count + 1) / 2, segalloc__tcache_give_to(tc, cls));
    if (tc->max[cls] > 1) segalloc__tcache_set(tc, cls, segalloc__tcache_count(tc, cls), tc->max[cls] / 2);
  }
  segalloc__central_decay();
}

/* Frees by tc's thread so far. */
static uint64_t segalloc__tcache_frees(segalloc__tcache *tc) {
  return segalloc__load_relaxed(&tc->frees) + (SEGALLOC__TICK_FREES - segalloc__load_relaxed(&tc->tick_left));
}

/* List cls runs dry having taken back, by refills, as many objects as it last handed on
   when it overflowed, and within 2 * max of the thread's frees since: the thread has used
   up what it just gave away, so it cycles through more of the class than the list holds
   (as a loop that allocates and frees a hundred blocks at a time does), and the refill
   grows the list by a batch even if it grew this tick. Counting what comes back matters:
   an overflow often leaves the list empty, and a count that wanders up and down at random
   then runs dry at once, but only after it has taken the chain back does it look like a
   cycle, and from there it takes about max^2 steps to run dry again. A thread that only
   frees the class never runs dry, so it keeps handing its objects on. */
static int segalloc__tcache_cycling(segalloc__tcache *tc, unsigned cls) {
  return tc->owed[cls] == 0 && (uint32_t)segalloc__tcache_frees(tc) - tc->handed_at[cls] <= 2 * tc->max[cls];
}

/* Everything back to the central lists. UINT32_MAX asks flush_list for the whole list (it
   caps n at the count). Passing the count itself here, as this once did, made GCC 12 for
   aarch64 at -O1 and up drop every call to this function (segalloc_thread_flush compiled
   to a bare ret, and thread exit and segalloc_trim flushed nothing); -fno-ipa-modref with
   -fno-ipa-pure-const, or -fno-delete-null-pointer-checks, kept them. Clang, and GCC for
   x86-64, were not affected. tests/run_cross.sh builds the tests for aarch64 and runs
   them under qemu-user. */
static void segalloc__tcache_flush_all(segalloc__tcache *tc) {
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    segalloc__tcache_flush_list(tc, cls, UINT32_MAX, SEGALLOC__TO_SPANS);
    segalloc__tcache_set(tc, cls, 0, 0);
  }
}

/* Unlink tc from the registry's list it is on (caller holds the registry lock). */
static void segalloc__tcache_unlink(segalloc__tcache *tc) {
  tc->prev->next = tc->next;
  tc->next->prev = tc->prev;
}

/* Take tc out of the live caches, so segalloc_stats no longer reads it, onto the exiting
   ones, where a fork's child still finds it (segalloc__fork_child) until it is retired. */
static void segalloc__tcache_unregister(segalloc__tcache *tc) {
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  segalloc__tcache_unlink(tc);
  tc->owner = segalloc__self();
  tc->next = segalloc__tcaches.exiting.next;
  tc->prev = &segalloc__tcaches.exiting;
  tc->next->prev = tc;
  segalloc__tcaches.exiting.next = tc;
  segalloc__tcaches.nthreads--;
  segalloc__store_relaxed(&segalloc__shard_threads[tc->shard], segalloc__shard_threads[tc->shard] - 1);
  segalloc__tcaches.dead_frees += segalloc__tcache_frees(tc);
  tc->frees = 0;
  tc->tick_left = SEGALLOC__TICK_FREES;
  segalloc__lock_release(&segalloc__tcaches.lock);
}

/* An unregistered, emptied cache goes from the exiting ones to the spare list, for the
   next new thread. */
static void segalloc__tcache_retire(segalloc__tcache *tc) {
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  segalloc__tcache_unlink(tc);
  tc->next = segalloc__tcaches.spare;
  segalloc__tcaches.spare = tc;
  segalloc__lock_release(&segalloc__tcaches.lock);
}

/* The pthread key destructor: the thread is exiting. Later frees and mallocs on this thread
   (other destructors) go straight to the central lists. */
static void segalloc__tcache_exit(void *arg) {
  segalloc__tcache *tc = (segalloc__tcache *)arg;
  /* out of the registry before emptying it: a concurrent segalloc_stats must not read the
     counts while this thread rewrites them (until the flush ends, its objects count as
     live). And only then off the thread: until unregister has recorded this thread as the
     owner, a fork from a signal handler here must find the cache as this thread's own
     (fork_child skips it either way), or its child would adopt and retire the cache that
     this destructor goes on to unregister and retire again */
  segalloc__tcache_unregister(tc);
  segalloc__tc = &segalloc__tc_empty;
  segalloc__tc_state = 3;
  segalloc__vg_quiet();
  segalloc__tcache_flush_all(tc);
  /* the last thread of its shard: what it parked would wait for a thread that may never
     come, pinning its spans (bench/release.sh: 35 MiB of 1 GiB still resident a second
     after the frees, 7.4 MiB with this) */
  if (segalloc__shard_idle(tc->shard)) segalloc__central_drain((int)tc->shard);
  segalloc__vg_loud();
  segalloc__tcache_retire(tc);
}

/* fork's child: take back the objects in the cache of a thread that did not survive the
   fork. That thread may have been stopped in the middle of a lock-free push or pop, so the
   list is walked warily: at most `count` steps, stopping at NULL, and only objects that are
   object boundaries of a span of the class and carry their free mark are given back. An
   object caught in mid-operation is lost to the child, as it would be in any allocator.
   A chain on its way between the list and the central list (handed on, or taken by a
   refill) comes back from the record of it (segalloc__tcache_in_hand), unless the list
   already or still starts with it. */
static segalloc__nosan void segalloc__tcache_adopt_chain(unsigned cls, void *first, uint32_t count) {
  void *head = NULL;
  int n = 0;
  void **o = (void **)first;
  for (uint32_t i = 0; o && i < count; i++) {
    void **next = (void **)segalloc__link(o);
    segalloc__arena *a = segalloc__arena_of((uintptr_t)o);
    segalloc__span *s = a ? segalloc__pagemap_entry(a, (uintptr_t)o) : NULL;
    if (!segalloc__check_object(s, (uintptr_t)o) || s->cls != cls || o[1] != segalloc__free_mark(segalloc__cookie, o)) break;
    segalloc__set_link(o, head);
    head = o;
    n++;
    o = next;
  }
  if (n) segalloc__central_give(cls, head, NULL, n, SEGALLOC__TO_SPANS);
}

static segalloc__nosan void segalloc__tcache_adopt(segalloc__tcache *tc) {
  void *in_hand = tc->in_hand;
  unsigned in_hand_cls = tc->in_hand_cls;
  if (in_hand && (in_hand_cls == 0 || in_hand_cls >= SEGALLOC__NCLASSES || tc->lists[in_hand_cls].head == in_hand))
    in_hand = NULL; /* not cut off yet: the list has it */
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) {
    segalloc__tlist *l = &tc->lists[cls];
    void *first = l->head;
    uint32_t count = segalloc__tcache_count(tc, cls);
    l->head = NULL;
    segalloc__tcache_set(tc, cls, 0, 0);
    segalloc__tcache_adopt_chain(cls, first, count);
  }
  if (in_hand) segalloc__tcache_adopt_chain(in_hand_cls, in_hand, tc->in_hand_n);
  tc->in_hand = NULL;
  /* class 0 holds nothing, but the thread may have died inside free between taking
     and giving back its unit of room (or inside tcache_set, between a max and the sum) */
  segalloc__tcache_set(tc, 0, 0, 0);
  tc->max_bytes = 0;
}

static void segalloc__global_init(void);

/* A library carrying segalloc that is dlclose'd takes the key destructor's code with it: a
   thread that exits afterwards must not call it. (The caches of live threads then stay as
   they are; the library's memory is not returned either way.) */
__attribute__((destructor)) static void segalloc__tcache_unload(void) {
  if (segalloc__tcaches.key_ok) {
    segalloc__tcaches.key_ok = 0;
    pthread_key_delete(segalloc__tcaches.key);
  }
}

/* Set up this thread's cache; NULL if it cannot be (no memory, or recursion during set-up),
   in which case the caller serves the request from the central list directly. */
static segalloc__noinline segalloc__tcache *segalloc__tcache_init(void) {
  if (segalloc__tc_state != 0) return NULL;
  segalloc__tc_state = 1;
  segalloc__global_init();
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  segalloc__tcache *tc = segalloc__tcaches.spare;
  if (tc) segalloc__tcaches.spare = tc->next;
  segalloc__lock_release(&segalloc__tcaches.lock);
  if (!tc) {
    tc = (segalloc__tcache *)segalloc__meta_alloc(sizeof(segalloc__tcache));
    if (!tc) { segalloc__tc_state = 0; return NULL; }
  }
  tc->cookie = segalloc__cookie;
  for (unsigned cls = 1; cls < SEGALLOC__NCLASSES; cls++) tc->lists[cls].magic = segalloc__boundary_magic(segalloc__class_size[cls]);
  tc->hint_base = tc->hint_limit = 0;
  tc->tick_left = SEGALLOC__TICK_FREES;
  memset(tc->dry, 0, sizeof tc->dry); /* a reused cache: not its last owner's */
  memset(tc->refilled, 0, sizeof tc->refilled);
  memset(tc->owed, 0xff, sizeof tc->owed); /* UINT32_MAX: never handed anything on */
  if (segalloc__tcaches.key_ok) pthread_setspecific(segalloc__tcaches.key, tc);
  segalloc__lock_acquire(&segalloc__tcaches.lock);
  tc->shard = 0; /* the shard with the fewest live threads */
  for (unsigned k = 1; k < SEGALLOC__SHARDS; k++)
    if (segalloc__shard_threads[k] < segalloc__shard_threads[tc->shard]) tc->shard = k;
  segalloc__store_relaxed(&segalloc__shard_threads[tc->shard], segalloc__shard_threads[tc->shard] + 1);
  tc->next = segalloc__tcaches.live.next;
  tc->prev = &segalloc__tcaches.live;
  tc->next->prev = tc;
  segalloc__tcaches.live.next = tc;
  segalloc__tcaches.nthreads++;
  segalloc__lock_release(&segalloc__tcaches.lock);
  segalloc__tc = tc;
  segalloc__tc_state = 2;
  return tc;
}

/* The cache to use in a slow path, or NULL to bypass caching. */
static segalloc__inline segalloc__tcache *segalloc__tcache_get(void) {
  segalloc__tcache *tc = segalloc__tc;
  if (segalloc__likely(tc != &segalloc__tc_empty)) return tc;
  return segalloc__tcache_init();
}

/* malloc's slow path for a small class: refill the list, then pop. */
static segalloc__nosan void *segalloc__tcache_refill(unsigned cls) {
  segalloc__tcache *tc = segalloc__tcache_get();
  void *head;
  if (!tc) {
    /* no cache (the thread is past its exit, or set-up failed): one object. A refill can
       come back with a whole chain from the transfer cache; all but the first go back, or
       they would stay out of the central list's count with no cache holding them (seen
       as a block of a key destructor that never came back, in test_faults' storm) */
    int got = segalloc__central_take(cls, &head, 1, 0);
    if (got > 1) {
      void *rest = segalloc__link((void **)head);
      segalloc__set_link((void **)head, NULL);
      segalloc__central_give(cls, rest, NULL, got - 1, SEGALLOC__TO_ANY);
    }
    return got ? head : NULL;
  }
  segalloc__tlist *l = &tc->lists[cls]; /* empty: caches of exited threads are reused empty */
  segalloc__tcache_check_size(tc);
  /* the list ran dry: it may hold more next time (below a batch at once; above, once per
     tick, so that ticks and dry spells balance) */
  tc->refilled[cls] = 1; /* first: a list that was free-only until now grows as any other */
  if (tc->max[cls] < segalloc__class_batch[cls] || !tc->dry[cls] || segalloc__tcache_cycling(tc, cls)) segalloc__tcache_grow(tc, cls);
  tc->dry[cls] = 1;
  uint32_t want = tc->max[cls] < segalloc__class_batch[cls] ? tc->max[cls] : segalloc__class_batch[cls];
  if (want == 0) want = 1;
  tc->in_hand_cls = cls; /* the take records the chain in hand (segalloc__tcache_in_hand) */
  int got = segalloc__central_take_for(cls, &head, (int)want, tc->shard, &tc->in_hand, &tc->in_hand_n);
  if (!got) return NULL;
  uint32_t *owed = &tc->owed[cls]; /* what came back counts against the last overflow */
  if (*owed != UINT32_MAX) *owed = (uint32_t)got < *owed ? *owed - (uint32_t)got : 0;
  void **o = (void **)head;
  uint32_t count = (uint32_t)got - 1;
  /* a whole chain from another thread's list may be longer than this one's maximum. The
     count first, then the head, then the record goes: a fork's child sees the record
     until the list has the chain, with its count (segalloc__tcache_adopt) */
  segalloc__tcache_set(tc, cls, count, count > tc->max[cls] ? count : tc->max[cls]);
  segalloc__tcache_cut(l, segalloc__link(o));
  __atomic_store_n(&tc->in_hand, NULL, __ATOMIC_RELEASE);
  return o;
}

/* A small object given back past the thread cache: parked in the transfer cache for `to`
   (SEGALLOC__TO_ANY), or back in its span (SEGALLOC__TO_SPANS). */
static segalloc__nosan void segalloc__small_free_direct(void *p, unsigned cls, unsigned to) {
  void **o = (void **)p;
  segalloc__set_link(o, NULL);
  o[1] = segalloc__free_mark(segalloc__cookie, o);
  segalloc__central_give(cls, p, p, 1, to);
  segalloc__add_relaxed(&segalloc__tcaches.direct_frees, 1);
}

/* free's slow path for a small object whose list is full (or not set up). */
static segalloc__nosan void segalloc__tcache_overflow(void *p, unsigned cls) {
  segalloc__tcache *tc = segalloc__tcache_get();
  void **o = (void **)p;
  if (tc) {
    segalloc__tlist *l = &tc->lists[cls];
    segalloc__tcache_check_size(tc);
    /* full: below a batch the list grows (slow start); at a batch or more it hands objects
       on (only running dry grows it further, see segalloc__tcache_cycling) */
    uint32_t count = segalloc__tcache_count(tc, cls);
    if (count >= tc->max[cls] && !(tc->max[cls] < segalloc__class_batch[cls] && segalloc__tcache_grow(tc, cls)) && count) {
      tc->handed_at[cls] = (uint32_t)segalloc__tcache_frees(tc);
      if (count <= segalloc__transfer_cap(cls)) {
        /* the list is full: hand all of it to the central list as one chain, in O(1)
           (cutting a batch off would walk the list, a cache miss per object). The list
           is emptied first: a fork in between must not leave the child a cache that
           still holds objects the central list has too. */
        void *head = l->head;
        segalloc__tcache_in_hand(tc, cls, count);
        segalloc__tcache_cut(l, NULL);
        segalloc__tcache_set(tc, cls, 0, tc->max[cls]);
        segalloc__central_give_for(cls, head, NULL, (int)count, segalloc__tcache_give_to(tc, cls), &tc->in_hand);
        tc->owed[cls] = count;
      } else {
        /* more than the transfer cache could take whole (large classes): a batch, which
           it can, rather than the whole list to the spans one object at a time */
        segalloc__tcache_flush_list(tc, cls, segalloc__class_batch[cls], segalloc__tcache_give_to(tc, cls));
        tc->owed[cls] = segalloc__class_batch[cls];
      }
    }
    if (l->room > 0) {
      l->room--;
      segalloc__tlist_push(tc, l, o);
      return;
    }
  }
  /* no cache (or a list with no room at all): straight to the central list */
  segalloc__small_free_direct(p, cls, SEGALLOC__TO_ANY);
}

/* ---- the page heap: spans of pages, split, merged, released --------------------------
   See the design comment at the top of the implementation for an overview.

   Owns every page of every arena that is not inside a span handed up (to a central list or
   as a large block), and the arenas themselves. Central lists ask it for a span of their
   class's page count and hand back spans whose objects are all free; malloc asks it for
   large blocks directly. One lock, segalloc__heap.lock, guards all of it; it may be taken
   while a central lock is held, never the other way round.

   Free spans are kept in two sets of lists, resident and released, each with an exact-length
   list for 1..127 pages and one list for longer spans; a bitmap says which lists are
   non-empty so a search is a few bit scans. A request takes the smallest resident span that fits, or failing
   that the smallest released one, and splits off the rest; from a released span it
   starts in the free resident span that ends where the released one begins, if there is
   one, so those pages are used before fresh ones are faulted in.
   A freed span merges with free neighbours in the same state (merging resident with
   released would either overstate RSS or cost an madvise on every free next to the
   never-touched tail of an arena).

   Giving memory back: the heap keeps a limited amount of free pages resident: a retain
   allowance (SEGALLOC_RETAIN_BYTES to start with) plus twice the pages in use, so a heap
   the program empties keeps only the allowance, while one that churns keeps room to churn
   in. The allowance adapts, as glibc's mmap threshold does: when the heap has to fault in
   pages it released earlier (a sign it released too eagerly), the allowance doubles, up to
   the base plus what is in use at that moment; each release that reaches its target
   shrinks its excess over the base by an eighth, and every second (looked at whenever a span comes back) it
   halves back towards the base.
   When a free takes the free pages past that limit, what goes depends on why they are
   there. If use has fallen to an eighth of its recent peak (the peak, too, halves back
   towards use every second), the program has let its memory go: whole free spans are
   released at once, long ones first, down to half the limit (the hysteresis keeps a
   loop that frees and reallocates the same sizes from paying an madvise each time). If use is
   still near its peak, the excess is more likely churn: a heap whose free runs are too
   short for the next large request grows beside them, and the next frees fill them up
   again. Then only spans that have stayed free for SEGALLOC_RELEASE_DELAY_MS go (looked at
   when a span comes back, and not before the first of them can be old enough), so pages
   about to be reused are not released and faulted straight back in (the `large`
   benchmark: 17,900 page faults a run with the old rule of releasing at once, 13,800
   with this one, as mimalloc's 14,100; 0.067 -> 0.056 s, median of 21 rounds). A program that frees everything
   once keeps the base; one that frees and reallocates the same memory in a loop stops
   releasing after a round or two. Released pages keep their mapping and come back as
   zero pages when touched; such spans are marked zeroed so calloc need not clear them.
   madvise works on whole OS pages, which may be larger than segalloc's (os.c): then a
   span gives back the OS pages inside it (and the one it shares with a released neighbour
   that covers the rest), and its pages that share an OS page with a block in use stay
   resident as free spans of their own, until that block is freed and merges with them.
   Such spans, and locked ones, can keep the free resident pages above the limit however
   much is released: then a release at once is not tried again until SEGALLOC__VAIN_MARGIN
   more is free, or a second has passed (otherwise every free walked the lists in vain: 15
   us a free in bench/os_pages.c at 64 KiB pages; the second, because pages may come free
   without more being freed, as when a block that shared their OS page goes).
   Only when the kernel took them, though: it refuses pages the program locked (mlock,
   mlockall), which then keep their contents and stay in the resident lists, and a
   calloc served from them clears them (tests/test_faults.c, mode locked).

   realloc grows a large block into the free span after it when that is long enough, and
   else into the free spans on both sides of it (moving its bytes down), before it moves
   it elsewhere.

   Requests above half an arena get their own mapping (huge blocks), recorded in a list
   under the same lock. */

#define SEGALLOC__BINS 128
#define SEGALLOC__RELEASE_NOW 8 /* in use down to 1/8 of its recent peak: release at once */
/* after a release at once that could not reach its target, how much more must be free
   before one is tried again, or how long it must be (ms) */
#define SEGALLOC__VAIN_MARGIN (SEGALLOC_RETAIN_BYTES / 2)
#define SEGALLOC__VAIN_MS 1000
#define SEGALLOC__HUGE_GONE 64 /* huge blocks freed lately, remembered to report a double free */

typedef struct segalloc__huge {
  uintptr_t block;   /* what the program got, which is where its mapping starts
                        (SEGALLOC__ADDR_CODE'd) */
  size_t map_size;
  size_t size;       /* usable bytes from block */
  struct segalloc__huge *next;
} segalloc__huge;

static struct {
  segalloc__lock lock;
  /* [released][length]: NULL-terminated lists, newest first (a head's prev is NULL, a
     tail's next); pointers rather than sentinel spans, which took 27 KiB */
  segalloc__span *bins[2][SEGALLOC__BINS], *tails[2][SEGALLOC__BINS];
  uint64_t nonempty[2][SEGALLOC__BINS / 64];
  segalloc__arena *arenas;
  size_t narenas;
  size_t header_bytes;      /* arena headers: metadata */
  size_t free_resident;     /* bytes in free, resident spans */
  size_t vain;              /* free_resident after a release at once that could not get
                               down to its target, 0 if the last one could (heap_free) */
  uint64_t vain_at;         /* and when it may be tried again regardless */
  size_t free_released;     /* bytes in free, released spans (and never-touched arena tails) */
  size_t large_live;        /* bytes in large spans handed to the program */
  size_t small_spans;       /* bytes in spans owned by central lists */
  size_t retain;            /* the adaptive retain allowance (see above) */
  size_t peak_use;          /* the most in use lately (large_live + small_spans), decaying */
  uint64_t decay_at;        /* when retain and peak_use next decay (segalloc__heap_now_ms) */
  uint64_t release_at;      /* no idle span can be old enough to release before this */
  segalloc__huge *huge, *huge_spare;
  uintptr_t huge_gone[SEGALLOC__HUGE_GONE];  /* addresses of the last huge blocks freed */
  unsigned huge_gone_next;
  size_t huge_live;         /* bytes mapped for huge blocks */
  int ready;
} segalloc__heap;

static uint64_t segalloc__heap_now_ms(void);

static void segalloc__heap_init_locked(void) {
  segalloc__heap.retain = SEGALLOC_RETAIN_BYTES;
  segalloc__heap.decay_at = segalloc__heap_now_ms() + 1000;
  segalloc__heap.ready = 1;
}

/* What the program uses from the page heap: large blocks, and spans of the central lists. */
static size_t segalloc__heap_in_use(void) {
  return segalloc__heap.large_live + segalloc__heap.small_spans;
}

static void segalloc__heap_note_use(void) {
  size_t u = segalloc__heap_in_use();
  if (u > segalloc__heap.peak_use) segalloc__heap.peak_use = u;
}

static segalloc__inline size_t segalloc__span_bytes(const segalloc__span *s) {
  return s->npages << SEGALLOC__PAGE_SHIFT;
}

/* The whole OS pages that releasing free resident span s would give back, [*lo, *hi); 0
   when there are none. They are the OS pages inside s, and also the one its first (last)
   page shares with the free released span before (after) it, when that span covers the
   rest of that OS page: giving those pages back again changes nothing for that span, and
   a span stranded between two released ones could not go otherwise. With OS pages no
   larger than segalloc's, the range is s itself. */
static int segalloc__heap_os_range(const segalloc__span *s, uintptr_t *lo, uintptr_t *hi) {
  uintptr_t start = segalloc__span_start(s), end = start + segalloc__span_bytes(s);
  uintptr_t mask = (uintptr_t)segalloc__os_page - 1;
  *lo = (start + mask) & ~mask;
  *hi = end & ~mask;
  if (segalloc__os_page > SEGALLOC_PAGE_SIZE) {
    size_t first;
    segalloc__arena *a = segalloc__span_arena(s, &first);
    segalloc__span *left = first > a->header_pages ? a->pagemap[first - 1] : NULL;
    segalloc__span *right = first + s->npages < SEGALLOC__ARENA_PAGES ? a->pagemap[first + s->npages] : NULL;
    if (*lo > start && left && left->state == SEGALLOC__SPAN_FREE && left->released &&
        segalloc__span_start(left) <= (start & ~mask))
      *lo = start & ~mask;
    if (*hi < end && right && right->state == SEGALLOC__SPAN_FREE && right->released &&
        segalloc__span_start(right) + segalloc__span_bytes(right) >= ((end + mask) & ~mask))
      *hi = (end + mask) & ~mask;
  }
  return *hi > *lo;
}

/* Put free span s in its list: at the head, or (at_tail) at the tail, where a walk of the
   list from its tail (heap_release_locked) that has passed it does not meet it again. */
static void segalloc__heap_insert_at(segalloc__span *s, int at_tail) {
  unsigned bin = s->npages < SEGALLOC__BINS ? (unsigned)s->npages : 0;
  s->state = SEGALLOC__SPAN_FREE;
  s->cls = 0;
  if (at_tail) {
    segalloc__span *tail = segalloc__heap.tails[s->released][bin];
    s->prev = tail;
    s->next = NULL;
    if (tail) tail->next = s;
    else segalloc__heap.bins[s->released][bin] = s;
    segalloc__heap.tails[s->released][bin] = s;
  } else {
    segalloc__span *head = segalloc__heap.bins[s->released][bin];
    s->next = head;
    s->prev = NULL;
    if (head) head->prev = s;
    else segalloc__heap.tails[s->released][bin] = s;
    segalloc__heap.bins[s->released][bin] = s;
  }
  segalloc__heap.nonempty[s->released][bin >> 6] |= (uint64_t)1 << (bin & 63);
  if (s->released) segalloc__heap.free_released += segalloc__span_bytes(s);
  else segalloc__heap.free_resident += segalloc__span_bytes(s);
  segalloc__pagemap_set(s, 0);
}

static void segalloc__heap_insert(segalloc__span *s) { segalloc__heap_insert_at(s, 0); }

static void segalloc__heap_remove(segalloc__span *s) {
  unsigned bin = s->npages < SEGALLOC__BINS ? (unsigned)s->npages : 0;
  if (s->prev) s->prev->next = s->next;
  else segalloc__heap.bins[s->released][bin] = s->next;
  if (s->next) s->next->prev = s->prev;
  else segalloc__heap.tails[s->released][bin] = s->prev;
  if (!segalloc__heap.bins[s->released][bin]) segalloc__heap.nonempty[s->released][bin >> 6] &= ~((uint64_t)1 << (bin & 63));
  if (s->released) segalloc__heap.free_released -= segalloc__span_bytes(s);
  else segalloc__heap.free_resident -= segalloc__span_bytes(s);
  segalloc__pagemap_clear(s, 0);
  s->next = s->prev = NULL;
}

/* The first non-empty exact bin >= from in set r, or 0 if none. */
static unsigned segalloc__heap_next_bin(int r, unsigned from) {
  for (unsigned w = from >> 6; w < SEGALLOC__BINS / 64; w++) {
    uint64_t bits = segalloc__heap.nonempty[r][w];
    if (w == from >> 6) bits &= ~(uint64_t)0 << (from & 63);
    bits &= w == 0 ? ~(uint64_t)1 : ~(uint64_t)0; /* bin 0 is the long list */
    if (bits) return w * 64 + (unsigned)__builtin_ctzll(bits);
  }
  return 0;
}

/* The longest non-empty exact-length list of set r shorter than `below` pages (at most
   SEGALLOC__BINS), or 0 when there is none. */
static unsigned segalloc__heap_prev_bin(int r, unsigned below) {
  if (below <= 1) return 0;
  unsigned last = below - 1; /* the longest list to look at */
  for (unsigned w = (last >> 6) + 1; w-- > 0;) {
    uint64_t bits = segalloc__heap.nonempty[r][w];
    if (w == last >> 6 && (last & 63) != 63) bits &= ((uint64_t)1 << ((last & 63) + 1)) - 1;
    if (w == 0) bits &= ~(uint64_t)1; /* bin 0 is the long list */
    if (bits) return w * 64 + 63 - (unsigned)__builtin_clzll(bits);
  }
  return 0;
}

/* Best fit among the long spans of set r: the shortest of at least n pages. */
static segalloc__span *segalloc__heap_best_long(int r, size_t n) {
  segalloc__span *best = NULL;
  for (segalloc__span *s = segalloc__heap.bins[r][0]; s; s = s->next)
    if (s->npages >= n && (!best || s->npages < best->npages || (s->npages == best->npages && segalloc__span_start(s) < segalloc__span_start(best))))
      best = s;
  return best;
}

/* The smallest free span of at least n pages, resident ones first: reusing resident pages
   costs nothing, while released ones fault in again page by page. */
static segalloc__span *segalloc__heap_find(size_t n) {
  for (int r = 0; r < 2; r++) {
    if (n < SEGALLOC__BINS) {
      unsigned b = segalloc__heap_next_bin(r, (unsigned)n);
      if (b) return segalloc__heap.bins[r][b];
    }
    segalloc__span *s = segalloc__heap_best_long(r, n);
    if (s) return s;
  }
  return NULL;
}

/* Split free span s (in no list) after its first n pages: s keeps them, and the rest, in
   the same state, is returned as a new span (NULL if no record could be had). */
static segalloc__span *segalloc__span_split(segalloc__span *s, size_t n) {
  segalloc__span *rest = segalloc__span_new();
  if (!rest) return NULL;
  segalloc__span_set_start(rest, segalloc__span_start(s) + (n << SEGALLOC__PAGE_SHIFT));
  rest->npages = s->npages - n;
  rest->released = s->released;
  rest->zeroed = s->zeroed;
  rest->fresh = s->fresh;
  rest->idle_since = s->idle_since;
  s->npages = n;
  return rest;
}

/* Cut the first n pages off free span s (already removed from its list); the rest goes
   back to the free lists. */
static int segalloc__heap_carve(segalloc__span *s, size_t n) {
  if (s->npages == n) return 1;
  segalloc__span *rest = segalloc__span_split(s, n);
  if (!rest) return 0;
  segalloc__heap_insert(rest);
  return 1;
}

/* Reserve one more arena; its pages past the header form one released free span. */
static int segalloc__heap_grow(void) {
  uintptr_t base = (uintptr_t)segalloc__os_map(SEGALLOC_ARENA_SIZE, SEGALLOC_ARENA_SIZE, 1);
  if (!base) return 0;
  size_t header_pages = (SEGALLOC__ARENA_HEADER_BYTES + SEGALLOC_PAGE_SIZE - 1) >> SEGALLOC__PAGE_SHIFT;
  /* before the first write: under THP "always" that write would fault in a huge page */
  segalloc__os_thp_arena(base, SEGALLOC_ARENA_SIZE, header_pages << SEGALLOC__PAGE_SHIFT);
  segalloc__arena *a = (segalloc__arena *)base;
  a->base = base;
  a->header_pages = header_pages;
  /* the header's own pages map to no span; the rest of the page map is set as spans in
     use reach it (pagemap.c), so a small program touches two pages of it (the first, and
     the last for the free span's end) rather than all of it (64 KiB by default) */
  for (size_t i = 0; i < a->header_pages; i++) a->pagemap[i] = &segalloc__no_span;
  a->inited = a->header_pages;
  segalloc__span *s = segalloc__span_new();
  if (!s || !segalloc__pagemap_add_arena(a)) {
    if (s) segalloc__span_delete(s);
    segalloc__os_unmap((void *)base, SEGALLOC_ARENA_SIZE);
    return 0;
  }
  a->next = segalloc__heap.arenas;
  segalloc__heap.arenas = a;
  segalloc__heap.narenas++;
  segalloc__heap.header_bytes += a->header_pages << SEGALLOC__PAGE_SHIFT;
  segalloc__span_set_start(s, base + (a->header_pages << SEGALLOC__PAGE_SHIFT));
  s->npages = SEGALLOC__ARENA_PAGES - a->header_pages;
  s->released = 1;
  s->zeroed = 1;
  s->fresh = 1;
  segalloc__heap_insert(s);
  return 1;
}

/* The free span that ends where span s begins (side < 0) or begins where s ends (side >
   0), or NULL. Every span's first and last pages have their page-map entries, so the page
   on either side of s leads to its neighbour; the test that the neighbour is free and
   adjacent also turns away the no-span entry and a page past the inited mark. */
static segalloc__span *segalloc__heap_free_beside(const segalloc__span *s, int side) {
  size_t first;
  segalloc__arena *a = segalloc__span_arena(s, &first);
  uintptr_t start = segalloc__span_start(s), end = start + segalloc__span_bytes(s);
  segalloc__span *t;
  if (side < 0) {
    if (first <= a->header_pages) return NULL;
    t = a->pagemap[first - 1];
    if (!t || t->state != SEGALLOC__SPAN_FREE || segalloc__span_start(t) + segalloc__span_bytes(t) != start) return NULL;
  } else {
    if (first + s->npages >= SEGALLOC__ARENA_PAGES) return NULL;
    t = a->pagemap[first + s->npages];
    if (!t || t->state != SEGALLOC__SPAN_FREE || segalloc__span_start(t) != end) return NULL;
  }
  return t;
}

/* Free span s takes in t, the free span on either side of it: one span of both. */
static void segalloc__heap_absorb(segalloc__span *s, segalloc__span *t) {
  segalloc__heap_remove(t);
  if (segalloc__span_start(t) < segalloc__span_start(s)) segalloc__span_set_start(s, segalloc__span_start(t));
  s->npages += t->npages;
  s->zeroed &= t->zeroed;
  s->fresh &= t->fresh;
  segalloc__span_delete(t);
}

/* Put free span s in the lists, first merging it with free neighbours in the same state
   (resident or released). s is in no list and not in the page map. */
static void segalloc__heap_merge_insert(segalloc__span *s) {
  segalloc__span *left = segalloc__heap_free_beside(s, -1);
  if (left && left->released == s->released) segalloc__heap_absorb(s, left);
  segalloc__span *right = segalloc__heap_free_beside(s, 1);
  if (right && right->released == s->released) segalloc__heap_absorb(s, right);
  segalloc__heap_insert(s);
}

/* Milliseconds on the monotonic clock where the headers declare it (a strict C11 build
   without POSIX gets C11's wall clock, where a step back makes spans look younger and
   would hold up the once-a-second decay, which heap_free guards against).
   Counted from 2^32 ms before the clock's zero, so that no age formed from it underflows. */
static uint64_t segalloc__heap_now_ms(void) {
  struct timespec ts;
#if defined(CLOCK_MONOTONIC_COARSE)
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* from the vDSO, without reading the TSC */
#elif defined(CLOCK_MONOTONIC)
  clock_gettime(CLOCK_MONOTONIC, &ts);
#else
  timespec_get(&ts, TIME_UTC);
#endif
  return ((uint64_t)1 << 32) + (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Give free resident span s (in its list) back to the OS; it joins the released set.
   With OS pages larger than segalloc's (os.c), the OS pages of segalloc__heap_os_range
   go: s's pages before and after them become resident free spans of their own (they share
   an OS page with a block in use, and merge with it when it is freed), and a span that can
   give back nothing is left where it is, so a walk of the lists passes it by. If the OS
   refuses (locked pages), or there is no metadata for the cut, s goes back whole to the
   tail of its list, unmerged (its resident neighbours are not free, or they would be
   merged with it already), where the walk of the list from its tail has passed it; 0 then
   (at its head, two such spans of one length swapped places for ever). */
static size_t segalloc__heap_release_span(segalloc__span *s) {
  uintptr_t lo, hi;
  if (!segalloc__heap_os_range(s, &lo, &hi)) return 0;
  uintptr_t start = segalloc__span_start(s), end = start + segalloc__span_bytes(s);
  segalloc__heap_remove(s);
  segalloc__span *before = NULL, *after = NULL;
  size_t bytes;
  if (lo > start) {
    before = s;
    s = segalloc__span_split(before, (lo - start) >> SEGALLOC__PAGE_SHIFT);
    if (!s) {
      s = before;
      before = NULL;
      goto refused;
    }
  }
  if (hi < end && !(after = segalloc__span_split(s, s->npages - ((end - hi) >> SEGALLOC__PAGE_SHIFT)))) goto refused;
  if (segalloc__unlikely(!segalloc__os_release((void *)lo, hi - lo))) goto refused;
  bytes = segalloc__span_bytes(s);
#ifndef SEGALLOC_MADV_FREE
  s->zeroed = 1;
#endif
  s->released = 1;
  s->fresh = 0;
  segalloc__heap_merge_insert(s);
  if (before) segalloc__heap_insert(before);
  if (after) segalloc__heap_insert(after);
  return bytes;
refused:
  if (before) {
    before->npages += s->npages;
    segalloc__span_delete(s);
    s = before;
  }
  if (after) {
    s->npages += after->npages;
    segalloc__span_delete(after);
  }
  segalloc__heap_insert_at(s, 1);
  return 0;
}

/* Release free resident spans that have been free for at least min_idle ms at time `now`
   (segalloc__heap_now_ms; unused when min_idle is 0) until at most
   `keep` bytes stay resident: the exact-length lists shortest first, then the list of long
   spans, and each list from its tail, where the spans freed longest ago gather (a list
   takes freed spans at its head; split remainders go there too, so the order is rough,
   and each span's age is tested on its own). Short spans go first because they are the
   fragments: once released they merge with released neighbours into runs that can serve a
   large request again, while the long resident spans, the ones most likely to be reused
   whole, stay. A release at once (min_idle 0: the program has let its memory go) takes
   the long list first and then the exact-length lists from the longest: the same bytes
   in fewer, larger madvise calls, which cost far more per page when short (here, in a VM,
   4096 calls of 8 KiB took 44 ms and one of 32 MiB 3 ms; bench/workloads frag made 294
   calls as its last phases freed, 107 this way; bench/release 3031 rather than 4797),
   while the fragments left resident may yet merge with neighbours freed later. Releasing a span merges it with released neighbours only, so the resident
   list being walked changes by that one span. Spans too young to go set release_at, the
   soonest one of them could, and until then a free does not walk the lists again. */
static size_t segalloc__heap_release_locked(size_t keep, uint64_t min_idle, uint64_t now) {
  size_t released = 0;
  uint64_t soonest = UINT64_MAX;
  /* idle spans: the exact-length lists from the shortest, then the long list (0); at once:
     the long list, then the exact-length lists from the longest */
  unsigned b = min_idle ? segalloc__heap_next_bin(0, 1) : 0;
  while (segalloc__heap.free_resident > keep) {
    for (segalloc__span *s = segalloc__heap.tails[0][b]; s && segalloc__heap.free_resident > keep;) {
      segalloc__span *newer = s->prev;
      if (s->idle_since + min_idle <= now || !min_idle) released += segalloc__heap_release_span(s);
      else if (s->idle_since + min_idle < soonest) soonest = s->idle_since + min_idle;
      s = newer;
    }
    if (min_idle) {
      if (b == 0) break;
      b = segalloc__heap_next_bin(0, b + 1);
    } else {
      b = segalloc__heap_prev_bin(0, b ? b : SEGALLOC__BINS);
      if (b == 0) break;
    }
  }
  /* stopped short of the target: every resident span was looked at, and none is old
     enough before `soonest` (a span freed later is younger than all of them, so it cannot
     bring that forward; heap_free only lowers a `soonest` left at UINT64_MAX) */
  segalloc__heap.release_at = segalloc__heap.free_resident > keep ? soonest : 0;
  if (!min_idle) {
    segalloc__heap.vain = segalloc__heap.free_resident > keep ? segalloc__heap.free_resident : 0;
    segalloc__heap.vain_at = now + SEGALLOC__VAIN_MS;
  }
  /* a release that reached its target shrinks the allowance (one that ran out of idle
     spans would otherwise shrink it on every free) */
  if (released && segalloc__heap.free_resident <= keep) segalloc__heap.retain -= (segalloc__heap.retain - SEGALLOC_RETAIN_BYTES) / 8;
  return released;
}

/* A span of n pages, aligned to align_pages pages (1 for none), or NULL. cls > 0 makes it
   a small span of that class (every page recorded in the page map); 0 a large block. */
/* Released span s (in no list) was found for a request of n pages because no resident span
   was long enough. If a free resident span of fewer than n pages ends where s starts, the
   request starts there instead and takes only the rest from s: otherwise those resident
   pages stay free beside the block while it faults in as many fresh ones (a vector that
   doubles to 256 KiB found 29 or 31 resident pages before the untouched end of the arena,
   and took 32 fresh pages past them). Returns the span to carve n pages from. */
static segalloc__span *segalloc__heap_lean_left(segalloc__span *s, size_t n) {
  segalloc__span *l = segalloc__heap_free_beside(s, -1);
  if (!l || l->released || l->npages >= n) return s;
  size_t from_s = n - l->npages;
  if (from_s < s->npages) {
    segalloc__span *rest = segalloc__span_split(s, from_s);
    if (!rest) return s;
    segalloc__heap_insert(rest);
  }
  segalloc__heap_remove(l);
  l->npages = n;
  l->zeroed = 0;
  l->fresh = 0;
  segalloc__span_delete(s);
  return l;
}

static segalloc__span *segalloc__heap_alloc_cls(size_t n, size_t align_pages, unsigned cls) {
  size_t want = n + align_pages - 1;
  segalloc__lock_acquire(&segalloc__heap.lock);
  if (segalloc__unlikely(!segalloc__heap.ready)) segalloc__heap_init_locked();
  segalloc__span *s = segalloc__heap_find(want);
  if (!s) {
    if (!segalloc__heap_grow()) goto fail;
    s = segalloc__heap_find(want);
    if (!s) goto fail;
  }
  segalloc__heap_remove(s);
  /* faulting in pages we released ourselves: we released too eagerly */
  if (s->released && !s->fresh) {
    size_t cap = SEGALLOC_RETAIN_BYTES + segalloc__heap.small_spans + segalloc__heap.large_live + (n << SEGALLOC__PAGE_SHIFT);
    segalloc__heap.retain = segalloc__heap.retain * 2 < cap ? segalloc__heap.retain * 2 : cap;
  }
  if (s->released && align_pages <= 1) s = segalloc__heap_lean_left(s, n);
  if (align_pages > 1) {
    uintptr_t mask = (align_pages << SEGALLOC__PAGE_SHIFT) - 1;
    size_t lead = (((segalloc__span_start(s) + mask) & ~mask) - segalloc__span_start(s)) >> SEGALLOC__PAGE_SHIFT;
    if (lead) { /* the pages before the aligned start go back free */
      segalloc__span *body = segalloc__span_split(s, lead);
      segalloc__heap_insert(s);
      if (!body) goto fail;
      s = body;
    }
  }
  if (!segalloc__heap_carve(s, n)) { segalloc__heap_merge_insert(s); goto fail; }
  s->state = cls ? SEGALLOC__SPAN_SMALL : SEGALLOC__SPAN_LARGE;
  s->cls = (uint8_t)cls;
  s->released = 0;
  if (cls) segalloc__heap.small_spans += segalloc__span_bytes(s);
  else segalloc__heap.large_live += segalloc__span_bytes(s);
  segalloc__heap_note_use();
  segalloc__pagemap_set(s, cls != 0);
  segalloc__lock_release(&segalloc__heap.lock);
  return s;
fail:
  segalloc__lock_release(&segalloc__heap.lock);
  return NULL;
}

static segalloc__span *segalloc__heap_alloc(size_t npages, size_t align_pages) {
  return segalloc__heap_alloc_cls(npages, align_pages, 0);
}

/* How many free bytes may stay resident: the retain allowance plus twice what the program
   uses from the page heap (see the top of this part). */
static size_t segalloc__heap_retain_limit(void) {
  return segalloc__heap.retain + segalloc__heap_in_use() * 2;
}

/* Take back a small or large span; merge it; release pages past the retain limit. */
static void segalloc__heap_free(segalloc__span *s) {
  segalloc__lock_acquire(&segalloc__heap.lock);
  int small = s->state == SEGALLOC__SPAN_SMALL;
  segalloc__pagemap_clear(s, small);
  if (small) segalloc__heap.small_spans -= segalloc__span_bytes(s);
  else segalloc__heap.large_live -= segalloc__span_bytes(s);
  s->zeroed = 0;
  s->released = 0;
  s->fresh = 0;
  s->freelist = NULL;
  uint64_t now = segalloc__heap_now_ms();
  s->idle_since = now; /* merging keeps s, so a run is as young as its newest part */
  /* never earlier than a waiting span's time (see heap_release_locked), but a bound when
     no span was waiting */
  if (now + SEGALLOC_RELEASE_DELAY_MS < segalloc__heap.release_at) segalloc__heap.release_at = now + SEGALLOC_RELEASE_DELAY_MS;
  segalloc__heap_merge_insert(s);
  size_t in_use = segalloc__heap_in_use();
  if (segalloc__unlikely(segalloc__heap.decay_at > now + 1000)) segalloc__heap.decay_at = now + 1000; /* clock went back */
  if (segalloc__unlikely(now >= segalloc__heap.decay_at)) {
    /* once a second: the allowance halves back towards the base, the peak towards use */
    segalloc__heap.decay_at = now + 1000;
    segalloc__heap.retain -= (segalloc__heap.retain - SEGALLOC_RETAIN_BYTES) / 2;
    segalloc__heap.peak_use -= (segalloc__heap.peak_use - in_use) / 2;
  }
  size_t keep = segalloc__heap_retain_limit();
  if (segalloc__unlikely(segalloc__heap.free_resident > keep)) {
    /* Use down to a small part of its recent peak: the program has let go of its memory,
       so release now. Otherwise the excess is more likely churn (a heap whose free runs
       are too short for the next large request grows beside them, and later frees refill
       them), so release only what has stayed idle, or the pages come straight back as
       page faults. */
    uint64_t min_idle = in_use * SEGALLOC__RELEASE_NOW <= segalloc__heap.peak_use ? 0 : SEGALLOC_RELEASE_DELAY_MS;
    if (min_idle ? now >= segalloc__heap.release_at
                 : !segalloc__heap.vain || segalloc__heap.free_resident >= segalloc__heap.vain + SEGALLOC__VAIN_MARGIN ||
                       now >= segalloc__heap.vain_at)
      segalloc__heap_release_locked(keep / 2, min_idle, now);
  }
  segalloc__lock_release(&segalloc__heap.lock);
}

/* Large block s takes `need` more pages from r, the free span after it, which holds at
   least that many. 0 (nothing changed) when r is longer and no record for its rest could
   be had. */
static int segalloc__heap_grow_right(segalloc__span *s, segalloc__span *r, size_t need) {
  segalloc__heap_remove(r);
  segalloc__span *rest = NULL;
  if (r->npages > need && !(rest = segalloc__span_split(r, need))) {
    segalloc__heap_insert(r); /* put r back as it was */
    return 0;
  }
  if (rest) segalloc__heap_insert(rest);
  size_t first;
  segalloc__arena *a = segalloc__span_arena(s, &first);
  if (s->npages > 1) a->pagemap[first + s->npages - 1] = &segalloc__no_span; /* the old last page is inner now */
  s->npages += need;
  segalloc__pagemap_set(s, 0);
  segalloc__span_delete(r);
  return 1;
}

/* Large block s takes all of r (the free span after it, or NULL) and the end of l (the
   free span before it), `need` pages in all, which they hold; returns s's new start. */
static uintptr_t segalloc__heap_grow_left(segalloc__span *s, segalloc__span *l, segalloc__span *r, size_t need) {
  size_t from_r = r ? r->npages : 0, from_l = need - from_r;
  segalloc__pagemap_clear(s, 0); /* s's old first and last pages are inner now, or set again below */
  if (r) {
    segalloc__heap_remove(r);
    segalloc__span_delete(r);
  }
  segalloc__heap_remove(l);
  if (from_l < l->npages) { /* l keeps its first pages, free as they were */
    l->npages -= from_l;
    segalloc__heap_insert(l);
  } else {
    segalloc__span_delete(l);
  }
  uintptr_t to = segalloc__span_start(s) - (from_l << SEGALLOC__PAGE_SHIFT);
  segalloc__span_set_start(s, to);
  s->npages += need;
  s->zeroed = 0;
  segalloc__pagemap_set(s, 0);
  return to;
}

/* Grow large block s to n pages without moving it anywhere new: into the free span after
   it when that holds enough pages (the start stays), else into that span and the end of
   the free span before it (the start moves down by what it takes from there). Returns s's
   start afterwards, to which the caller moves the block's bytes if it changed (the ranges
   overlap), or 0, nothing changed, when the pages are not there (or the free span after
   it is long enough but no record for its rest could be had). realloc uses it so that a
   growing buffer is not copied, and a vector that doubles next to the hole its last move
   left fills the hole rather than fresh pages (realloc_grow's vectors left free resident
   holes of 16-24 pages just before the 128 KiB block moving to 256 KiB). The debug
   wrappers copy a growing block, hence "unused" in those builds. */
static __attribute__((unused)) uintptr_t segalloc__heap_grow_large(segalloc__span *s, size_t n) {
  uintptr_t to = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  if (s->state == SEGALLOC__SPAN_LARGE && n > s->npages) {
    size_t need = n - s->npages;
    segalloc__span *r = segalloc__heap_free_beside(s, 1), *l;
    if (r && r->npages >= need) {
      if (segalloc__heap_grow_right(s, r, need)) to = segalloc__span_start(s);
    } else if ((l = segalloc__heap_free_beside(s, -1)) && l->npages + (r ? r->npages : 0) >= need) {
      to = segalloc__heap_grow_left(s, l, r, need);
    }
    if (to) {
      segalloc__heap.large_live += need << SEGALLOC__PAGE_SHIFT;
      segalloc__heap_note_use();
    }
  }
  segalloc__lock_release(&segalloc__heap.lock);
  return to;
}

/* ---- huge blocks: a mapping each ---- */

static void *segalloc__huge_alloc(size_t size, size_t align) {
  if (size > SEGALLOC__MAX_REQUEST) return NULL;
  /* whole segalloc pages and whole OS pages (os.c; either may be the larger): the record
     and the statistics then say what the kernel mapped, and os_map trims on OS pages */
  size_t unit = segalloc__os_page > SEGALLOC_PAGE_SIZE ? segalloc__os_page : SEGALLOC_PAGE_SIZE;
  size_t map = (size + unit - 1) & ~(unit - 1);
  /* mapped under the lock, so the mapping and its record appear together (a fork's child
     sees both or neither, and the statistics add up) */
  segalloc__lock_acquire(&segalloc__heap.lock);
  /* aligned to the OS page unless asked for more: with segalloc's 8 KiB over 4 KiB OS pages
     every huge block was over-mapped and trimmed (one more munmap), and lost the 2 MiB
     alignment the kernel gives a large mapping (0 of 20,000 blocks of 40-47 MiB at a
     2 MiB boundary, 10,000 now; found by review) */
  void *p = segalloc__os_map(map, align > segalloc__os_page ? align : segalloc__os_page, 0);
  if (!p) {
    segalloc__lock_release(&segalloc__heap.lock);
    return NULL;
  }
  segalloc__os_thp_huge(p, map);
  segalloc__huge *h = segalloc__heap.huge_spare;
  if (h) segalloc__heap.huge_spare = h->next;
  else h = (segalloc__huge *)segalloc__meta_alloc(sizeof(segalloc__huge));
  if (!h) {
    segalloc__os_unmap(p, map);
    segalloc__lock_release(&segalloc__heap.lock);
    return NULL;
  }
  for (unsigned i = 0; i < SEGALLOC__HUGE_GONE; i++)
    if (segalloc__heap.huge_gone[i] == (uintptr_t)p) segalloc__heap.huge_gone[i] = 0;
  h->block = SEGALLOC__ADDR_CODE(p);
  h->map_size = map;
  h->size = map;
  h->next = segalloc__heap.huge;
  segalloc__heap.huge = h;
  segalloc__heap.huge_live += map;
  segalloc__lock_release(&segalloc__heap.lock);
  return p;
}

/* The huge record for block p (exactly its start when exact, else any address inside);
   caller holds the heap lock. */
static segalloc__huge **segalloc__huge_find_locked(uintptr_t p, int exact) {
  for (segalloc__huge **link = &segalloc__heap.huge; *link; link = &(*link)->next) {
    segalloc__huge *h = *link;
    uintptr_t block = SEGALLOC__ADDR_CODE(h->block);
    if (exact ? block == p : (p >= block && p < block + h->map_size)) return link;
  }
  return NULL;
}

/* Whether p is a huge block freed lately (the last SEGALLOC__HUGE_GONE of them): how a
   second free of one is told from a pointer segalloc never owned, once its mapping is gone. */
static int segalloc__huge_was_freed(uintptr_t p) {
  int found = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  for (unsigned i = 0; i < SEGALLOC__HUGE_GONE; i++) found |= segalloc__heap.huge_gone[i] == p;
  segalloc__lock_release(&segalloc__heap.lock);
  return found;
}

/* Free huge block p: 1 if it was one, 0 if p is no huge block at all. */
static int segalloc__huge_free(uintptr_t p) {
  segalloc__lock_acquire(&segalloc__heap.lock);
  segalloc__huge **link = segalloc__huge_find_locked(p, 1);
  if (!link) {
    segalloc__lock_release(&segalloc__heap.lock);
    return 0;
  }
  segalloc__heap.huge_gone[segalloc__heap.huge_gone_next++ % SEGALLOC__HUGE_GONE] = p;
  segalloc__huge *h = *link;
  *link = h->next;
  segalloc__heap.huge_live -= h->map_size;
  uintptr_t base = SEGALLOC__ADDR_CODE(h->block);
  size_t map = h->map_size;
  h->next = segalloc__heap.huge_spare; /* records are recycled, never unmapped */
  segalloc__heap.huge_spare = h;
  segalloc__os_unmap((void *)base, map);
  segalloc__lock_release(&segalloc__heap.lock);
  return 1;
}

/* Usable size of huge block p, 0 if none; inside != 0 when p is inside one but not at its
   start. */
static size_t segalloc__huge_size(uintptr_t p, int *inside) {
  size_t size = 0;
  segalloc__lock_acquire(&segalloc__heap.lock);
  segalloc__huge **link = segalloc__huge_find_locked(p, 1);
  if (link) size = (*link)->size;
  else if (inside) *inside = segalloc__huge_find_locked(p, 0) != NULL;
  segalloc__lock_release(&segalloc__heap.lock);
  return size;
}

/* ---- the page map: from any address to its arena and span ----------------------------
   See the design comment at the top of the implementation for an overview.

   Owns the arena map, a two-level radix tree indexed by address >> log2(ARENA_SIZE) over a
   48-bit address space (Go's arenas array; TCMalloc's pagemap). Its leaves point at arena
   headers; each arena's header holds the per-page span pointers. So free(p) goes
   p -> arena (two loads) -> span (one load) without a header beside the block, and an
   address segalloc never handed out (the stack, another mapping) finds no arena: that is
   how misuse is caught rather than followed. An address already known to be segalloc's (a
   span's page, an object a central list takes back) skips the tree: arenas are aligned to
   their size and begin with their header, so masking it gives its arena
   (segalloc__arena_at; frag at scale 0.3, callgrind: 101.9M -> 100.0M instructions in
   all, larson 91.3M -> 90.6M, large 4.38M -> 4.15M).

   Beside the page map, each arena has a small map: one 8-byte entry a page, nonzero only
   on the pages of small spans, holding what free's fast path needs (the class's list
   offset, and a bias that turns an address's offset in the arena into its distance from
   the object boundary below, for the boundary test). free reads that entry instead of
   following the page-map entry to the span record: one dependent load fewer, and an array
   the program's own data evicts less than the records: in batch_fifo at scale 0.3 free
   missed the first-level cache 182,000 times, 112,600 of them on span records and 60,500
   on page-map entries, and 57,000 times reading a 4-byte small map instead (cachegrind),
   for 3 more instructions a free. The entry was a 32-bit word holding the page's distance
   from the boundary (below 2^16) until free took the bias instead: one add in place of a
   mask, a shift and an add (31 -> 29 instructions a free, callgrind; gcc spends one on
   the entry's address), for 4 more bytes a page, 4 more header pages an arena (17 of 8
   KiB at the defaults), and 18,000 more first-level misses in free on batch_fifo at scale
   0.3 (46,800 -> 64,900). pagemap_write keeps the two maps in step, and
   segalloc_check_heap compares them.

   Page-map entries of pages that belong to no span point at segalloc__no_span, a span of
   class 0, rather than NULL: realloc's inline path then reads the state without a NULL
   test. An arena's page map is set lazily, though: only the pages below its `inited` mark,
   which rises as spans in use reach higher pages, have entries; above it they read NULL or
   no span (but for the ends of the free span there). A span's first page always has its
   entry, wherever the span lies, so the page after a span leads to the next span. free's
   fast path checks an address against the mark as it checks the arena (one compare either
   way), so it never reads such an entry, and the slow paths take NULL for "no span".

   Writers (arena registration) hold the page heap lock; readers take no lock: a leaf or
   node pointer, once published with a release store, never changes. The first level is
   static (a few KiB to 128 KiB of untouched BSS, by arena size); second-level nodes come
   from metadata. */

#define SEGALLOC__ARENA_SHIFT                                                                   \
  ((SEGALLOC_ARENA_SIZE) == (1ull << 20) ? 20 : (SEGALLOC_ARENA_SIZE) == (1ull << 21) ? 21      \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 22) ? 22 : (SEGALLOC_ARENA_SIZE) == (1ull << 23) ? 23    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 24) ? 24 : (SEGALLOC_ARENA_SIZE) == (1ull << 25) ? 25    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 26) ? 26 : (SEGALLOC_ARENA_SIZE) == (1ull << 27) ? 27    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 28) ? 28 : (SEGALLOC_ARENA_SIZE) == (1ull << 29) ? 29    \
   : (SEGALLOC_ARENA_SIZE) == (1ull << 30) ? 30 : (SEGALLOC_ARENA_SIZE) == (1ull << 31) ? 31 : 32)
#define SEGALLOC__ADDR_BITS 48
#define SEGALLOC__RADIX_BITS (SEGALLOC__ADDR_BITS - SEGALLOC__ARENA_SHIFT)
#define SEGALLOC__RADIX_L2_BITS (SEGALLOC__RADIX_BITS / 2)
#define SEGALLOC__RADIX_L1_BITS (SEGALLOC__RADIX_BITS - SEGALLOC__RADIX_L2_BITS)

/* What the page map holds for a page of no span (see above). */
static segalloc__span segalloc__no_span;

typedef struct segalloc__radix_node {
  segalloc__arena *arena[(size_t)1 << SEGALLOC__RADIX_L2_BITS];
} segalloc__radix_node;

static segalloc__radix_node *segalloc__radix[(size_t)1 << SEGALLOC__RADIX_L1_BITS];

/* The arena holding p, or NULL when p is in no arena of ours. */
static segalloc__inline segalloc__arena *segalloc__arena_of(uintptr_t p) {
  uintptr_t i = p >> SEGALLOC__ARENA_SHIFT;
  if (segalloc__unlikely(i >> SEGALLOC__RADIX_BITS)) return NULL;
  segalloc__radix_node *n = __atomic_load_n(&segalloc__radix[i >> SEGALLOC__RADIX_L2_BITS], __ATOMIC_ACQUIRE);
  if (segalloc__unlikely(!n)) return NULL;
  return __atomic_load_n(&n->arena[i & (((uintptr_t)1 << SEGALLOC__RADIX_L2_BITS) - 1)], __ATOMIC_ACQUIRE);
}

/* The arena holding p when p is known to lie in one (a page of a span, or an object that a
   central list takes back, which free has already checked): arenas are aligned to their
   size and begin with their header, so that is p with the low bits cleared, without the
   radix map's two dependent loads. */
static segalloc__inline segalloc__arena *segalloc__arena_at(uintptr_t p) {
  return (segalloc__arena *)(p & ~((uintptr_t)SEGALLOC_ARENA_SIZE - 1));
}

/* The page-map entry for p in its arena a: arenas are aligned to their size, so the page
   index is a shift and a mask. */
static segalloc__inline segalloc__span *segalloc__pagemap_entry(segalloc__arena *a, uintptr_t p) {
  return a->pagemap[(p >> SEGALLOC__PAGE_SHIFT) & (SEGALLOC__ARENA_PAGES - 1)];
}

/* The span holding p in its arena a, or NULL. For a small span every page maps to it; for
   free and large spans only the first and last page do. */
static segalloc__inline segalloc__span *segalloc__span_in(segalloc__arena *a, uintptr_t p) {
  segalloc__span *s = segalloc__pagemap_entry(a, p);
  return s == &segalloc__no_span ? NULL : s;
}

/* The span holding p, or NULL (p in no arena, or on a page of no span). */
static segalloc__inline segalloc__span *segalloc__span_of(uintptr_t p) {
  segalloc__arena *a = segalloc__arena_of(p);
  if (segalloc__unlikely(!a)) return NULL;
  return segalloc__span_in(a, p);
}

/* Publish an arena (caller holds the page heap lock). 0 when a radix node could not be
   allocated. */
static int segalloc__pagemap_add_arena(segalloc__arena *a) {
  uintptr_t i = a->base >> SEGALLOC__ARENA_SHIFT;
  if (i >> SEGALLOC__RADIX_BITS) return 0;
  segalloc__radix_node **slot = &segalloc__radix[i >> SEGALLOC__RADIX_L2_BITS];
  segalloc__radix_node *n = *slot;
  if (!n) {
    n = (segalloc__radix_node *)segalloc__meta_alloc(sizeof(segalloc__radix_node));
    if (!n) return 0;
    __atomic_store_n(slot, n, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&n->arena[i & (((uintptr_t)1 << SEGALLOC__RADIX_L2_BITS) - 1)], a, __ATOMIC_RELEASE);
  return 1;
}

/* The arena that holds span s; *first is the index of s's first page in it. */
static segalloc__arena *segalloc__span_arena(const segalloc__span *s, size_t *first) {
  uintptr_t start = segalloc__span_start(s);
  segalloc__arena *a = segalloc__arena_at(start);
  *first = (start - a->base) >> SEGALLOC__PAGE_SHIFT;
  return a;
}

/* The small-map entry of the k-th page of a small span of class cls, which is page `page`
   of its arena (internal.h). Object boundaries lie at the class's origin plus multiples of
   the size (sizeclass.c); the page's start lies (k * page size + size - origin) mod size
   past the boundary at or below it, counting one a size before the first object for the
   first page. */
static segalloc__small_entry segalloc__small_entry_of(unsigned cls, size_t k, size_t page) {
  uint32_t size = segalloc__class_size[cls];
  uint32_t past = (uint32_t)((((uintptr_t)k << SEGALLOC__PAGE_SHIFT) + size - segalloc__class_origin(cls)) % size);
  segalloc__small_entry e = {past - (uint32_t)((uintptr_t)page << SEGALLOC__PAGE_SHIFT), (uint32_t)(cls * sizeof(segalloc__tlist))};
  return e;
}

/* Whether two small-map entries are the same (for the checks). */
static int segalloc__small_entry_eq(segalloc__small_entry a, segalloc__small_entry b) { return a.bias == b.bias && a.list == b.list; }

/* Point the page-map entries of s at v: every page, or only the first and last. A span
   in use (small or large) above the arena's inited mark raises it: the entries up to the
   span's end that were never set (NULL) are set to no span first, and the mark is
   published after the span's own entries (a release store: a thread that then reads the
   mark finds every entry below it set). Caller holds the page heap lock. */
static void segalloc__pagemap_write(segalloc__span *s, segalloc__span *v, int all_pages) {
  size_t first;
  segalloc__arena *a = segalloc__span_arena(s, &first);
  size_t end = first + s->npages, inited = a->inited;
  int raise = (v->state == SEGALLOC__SPAN_SMALL || v->state == SEGALLOC__SPAN_LARGE) && end > inited;
  if (raise)
    for (size_t i = inited; i < end; i++)
      if (!a->pagemap[i]) a->pagemap[i] = &segalloc__no_span;
  if (all_pages) {
    /* a small span's pages (set or cleared): their small-map entries too */
    segalloc__small_entry *small = segalloc__arena_smallmap(a), none = {0, 0};
    int set = v->state == SEGALLOC__SPAN_SMALL;
    for (size_t i = 0; i < s->npages; i++) {
      a->pagemap[first + i] = v;
      small[first + i] = set ? segalloc__small_entry_of(v->cls, i, first + i) : none;
    }
  } else {
    a->pagemap[first] = v;
    a->pagemap[first + s->npages - 1] = v;
  }
  if (raise) __atomic_store_n(&a->inited, end, __ATOMIC_RELEASE);
}

/* Record s in the page map: every page for a small span, the ends otherwise. */
static void segalloc__pagemap_set(segalloc__span *s, int all_pages) { segalloc__pagemap_write(s, s, all_pages); }

/* Forget the pages of s (its first and last are enough unless it was small). */
static void segalloc__pagemap_clear(segalloc__span *s, int all_pages) { segalloc__pagemap_write(s, &segalloc__no_span, all_pages); }

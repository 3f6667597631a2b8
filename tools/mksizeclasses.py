#!/usr/bin/env python3
"""mksizeclasses.py: generate segalloc's size-class tables (src/sizeclass_table.h).

Usage:  python3 tools/mksizeclasses.py > src/sizeclass_table.h
        python3 tools/mksizeclasses.py --check   (exit 1 if the committed table differs)

The algorithm is the one Go's runtime uses in mksizeclasses.go, restated:

  * Object sizes step up from 16 bytes. The step (the alignment of the class) is 16 up to
    128 bytes, then size/8 at each power of two up to 1024 (128 -> 16, 256 -> 32,
    512 -> 64, 1024 -> 128), and size/4 from 2048 on (2048 -> 512, 4096 -> 1024,
    8192 -> 2048, 16384 -> 4096: four classes to a doubling, jemalloc's spacing). Go
    steps by a fixed 256 bytes from 2048 up to 32 KiB; segalloc departs from it there (see
    WIDE_STEP). So below 2 KiB the step rule bounds a request's round-up waste by 1/8 of
    its class (merged classes, below, widen a few gaps to about 1/5: 1664 -> 2048), and
    above it by 1/4 of the class (a third of the request, as 3073 -> 4096); every class of
    16 bytes or more is 16-byte aligned.
    (Go starts at 8 with a 24-byte class; segalloc's smallest class is 16 because C's
    max_align_t is 16 bytes on the platforms it targets, and because every free block must
    hold two words: the free-list link and the double-free cookie.)
  * Each class gets the smallest span (a whole number of pages) whose waste, the bytes
    left over after packing as many objects as fit, is at most 1/8 of the span. The
    objects are packed against the span's end and the waste comes first (class_first):
    no object boundary then falls in it, so free's boundary test rejects any address there
    (packed from the start, the address one past the last object would pass it).
  * When a class would use the same span and hold the same number of objects as the class
    below it, the two are merged: the lower class grows to the larger size, since it costs
    nothing in memory.
  * Objects up to SMALL_MAX (32 KiB) are small; larger requests are served by the page heap
    as whole pages.

The tables are emitted for every supported page size (4, 8, 16, 32 and 64 KiB); the header
picks the one matching SEGALLOC_PAGE_SIZE. Size -> class is one table lookup with no loop:
sizes up to 1024 index the table directly, larger ones by 128-byte steps after them (every
class boundary above 1024 is a multiple of 128, so each step maps to exactly one class). Each class also
gets ceil(2^64 / size), with which free's slow path tests an offset for an object boundary
by one multiply (Lemire's divisibility test; the fast path uses a 32-bit version, tcache.c).
"""
import sys

SMALL_MAX = 32768
# sizeof(segalloc__tlist), a thread-cache list record (sizeclass.c checks it): the slot table
# holds the byte offsets of lists, class * TLIST_BYTES, in units of SLOT_UNIT bytes (one byte
# a slot), so malloc finds a list at the cache's address plus a slot times 8, one x86
# address mode
TLIST_BYTES = 16
SLOT_UNIT = 8
PAGE_SIZES = [4096, 8192, 16384, 32768, 65536]
# Objects moved between a thread cache and the central list at once (TCMalloc's rule:
# 64 KiB worth, at least 2 and at most 32 objects), and for classes below 128 bytes up to
# 4 KiB worth (at most 128): a batch of 32 tiny objects is only 512 bytes to 2 KiB, and in
# a stream of allocations each batch is a refill, a lock round trip and a carve. The frag
# benchmark (bench/workloads.c), whose 24-byte phase takes 11,000 batches at scale 0.3:
# 110.3M -> 105.6M instructions (callgrind), 4.5-5.7 % less time (bench/compare.sh -r 31,
# both orders); peak RSS unchanged on every workload.
BATCH_BYTES, BATCH_MIN, BATCH_MAX = 65536, 2, 32
TINY_BATCH_BYTES, TINY_BATCH_MAX = 4096, 128
# From this size up, classes are size/4 apart, not 256 bytes: 48 classes in all, not 65
# (8 KiB pages). Every class keeps its own reserve of free objects in thread caches and
# transfer caches, about the most the program needed of that size lately, and a program
# that asks for many different sizes above 2 KiB spreads that reserve over every class it
# touches; with fewer classes each takes more of the traffic, and a reserve grows slower
# than the traffic it serves. Peak RSS with 256-byte -> size/4 steps (bench/compare.sh -r
# 11, bench/workloads at scale 1): batch_lifo 2848 -> 2600 KiB, batch_fifo 2988 -> 2720,
# realloc_grow 4812 -> 4252, threads_own 13864 -> 12232, prodcons 5576 -> 4972, larson
# 7900 -> 7488; the others within 1.5 %. Times within noise (larson 0.066 -> 0.092 s in
# that run, 0.080 -> 0.079 in a second of 15 rounds). The workloads write only the ends of
# their blocks, which hides round-up waste in untouched pages, so the same runs with every
# block written whole (bench/workloads.c built with -DWORKLOADS_TOUCH_ALL, under runrss):
# batch_lifo 4004 -> 3380 KiB, batch_fifo 4148 -> 3400, threads_own 17116 -> 13780,
# prodcons 5528 -> 3916 (glibc 2224, 2128, 12740, 3448; mimalloc 3892, 4124, 17596, 3164).
# Wide steps from 4 KiB did about as well (better on the batch rows written whole, worse on
# prodcons and larson); from 8 KiB, less.
WIDE_STEP = 2048
# Spans stay the smallest that waste at most an eighth, also for tiny classes, though a
# span costs the page heap, the page map and the central list some 950 instructions a
# round trip and a tiny class streams through one every page (8 KiB by default). Tried on
# 2026-12-02 (commit 167055b, reverted): spans of at least 32 KiB for the classes up to
# 256 bytes took the frag benchmark from 104.1M to 100.9M instructions at scale 0.3
# (callgrind, preloaded) and its CPU time down 3-13 %, with peak RSS within 0.5 % on the
# other workloads. But a heap that keeps one block in K keeps every span holding one
# (bench/sparse.c, 2,000,000 blocks, after malloc_trim; each pair from one run): at 32
# bytes and K = 1000 it kept 62.9 MiB of 63 instead of 17.1, at K = 10000 6.8 instead of
# 2.8, and at 256 bytes and K = 1000 67.0 instead of 24.8.


def make_classes(page):
    classes = [(0, 0)]  # class 0 means "not a small object"
    align = 16
    size = 16
    while size <= SMALL_MAX:
        if size & (size - 1) == 0:
            if size >= WIDE_STEP:
                align = size // 4
            elif size >= 2048:  # Go's fixed step; unused while WIDE_STEP is 2048
                align = 256
            elif size >= 128:
                align = size // 8
        span = page
        while span % size > span // 8:
            span += page
        npages = span // page
        if len(classes) > 1:
            psize, ppages = classes[-1]
            if ppages == npages and (ppages * page) // psize == span // size:
                classes[-1] = (size, npages)
                size += align
                continue
        classes.append((size, npages))
        size += align
    return classes


# sizes up to FINE_MAX index the table directly (slot = size); larger ones in 128-byte steps
FINE_MAX = 1024
COARSE_BASE = FINE_MAX + 1 - (FINE_MAX + 1 + 127) // 128  # slot of the first coarse step


def index_of(size):
    """The lookup-table slot for a request of `size` bytes (0 <= size <= SMALL_MAX)."""
    if size <= FINE_MAX:
        return size
    return ((size + 127) >> 7) + COARSE_BASE


def make_index(classes):
    nslots = index_of(SMALL_MAX) + 1
    table = [0] * nslots
    # slot 0 is size 0: it maps to the smallest class (malloc(0) returns a unique block)
    table[0] = 1
    for slot in range(1, nslots):
        # the largest and smallest sizes that map to this slot
        top = slot if slot <= FINE_MAX else (slot - COARSE_BASE) * 128
        low = slot if slot <= FINE_MAX else (slot - COARSE_BASE - 1) * 128 + 1
        assert index_of(top) == slot and index_of(low) == slot, (slot, low, top)
        cls = next(c for c in range(1, len(classes)) if classes[c][0] >= top)
        # every size in the slot must map to the same class (exactness of the O(1) lookup)
        cls_low = next(c for c in range(1, len(classes)) if classes[c][0] >= low)
        assert cls == cls_low, (slot, low, top)
        table[slot] = cls
    return table


def check(classes, page):
    """The invariants the allocator relies on; the build fails if any breaks."""
    assert len(classes) - 1 <= 254, "class index must fit in a byte"
    assert len(classes) * TLIST_BYTES <= 0x10000, "list offsets must fit in 16 bits"
    assert TLIST_BYTES % SLOT_UNIT == 0 and (len(classes) - 1) * TLIST_BYTES // SLOT_UNIT <= 255, "slots are bytes"
    for c in range(1, len(classes)):
        assert batch_of(classes[c][0]) <= 255, "class_batch is a byte"
        assert (classes[c][1] * page) % classes[c][0] < 0x10000, "class_first is 16 bits"
    for c in range(1, len(classes)):
        size, npages = classes[c]
        span = npages * page
        assert size % 16 == 0, "classes are 16-byte aligned"
        assert size > classes[c - 1][0], "sizes increase"
        assert span % size <= span // 8, "waste at most 12.5%"
        assert span // size >= 1
        assert npages <= 255
        if c > 1 and size > 128:
            # the step rule bounds round-up waste by 1/8 below WIDE_STEP and 1/4 from it;
            # merging classes that pack the same way can widen a gap (1664 -> 2048 at 8
            # KiB pages; 12288 -> 16384, where 14336 packs as 16384 does), never to a quarter
            prev = classes[c - 1][0]
            assert (size - prev - 1) / size < 0.25, (page, size, prev)
    assert classes[-1][0] == SMALL_MAX


def batch_of(size):
    return max(BATCH_MIN, min(BATCH_MAX, BATCH_BYTES // size), min(TINY_BATCH_MAX, TINY_BATCH_BYTES // size))


def emit(out):
    w = out.write
    w("/* Code generated by tools/mksizeclasses.py; DO NOT EDIT.\n")
    w(" * Rebuild with:  python3 tools/mksizeclasses.py > src/sizeclass_table.h\n")
    w(" * One table per supported SEGALLOC_PAGE_SIZE; see the generator for the rules. */\n")
    for page in PAGE_SIZES:
        classes = make_classes(page)
        check(classes, page)
        index = make_index(classes)
        n = len(classes)
        w("\n#%s SEGALLOC_PAGE_SIZE == %d\n" % ("if" if page == PAGE_SIZES[0] else "elif", page))
        w("/* class  bytes/obj  bytes/span  objects  waste (1st)  max waste\n")
        prev = 0
        for c in range(1, n):
            size, npages = classes[c]
            span = npages * page
            objs = span // size
            tail = span - objs * size
            maxwaste = ((size - prev - 1) * objs + tail) / span
            w(" * %5d  %9d  %10d  %7d  %11d  %8.2f%%\n" % (c, size, span, objs, tail, maxwaste * 100))
            prev = size
        w(" */\n")
        w("#define SEGALLOC__NCLASSES %d\n" % n)
        w("static const uint32_t segalloc__class_size[SEGALLOC__NCLASSES] = {")
        w(",".join(("\n  " if i % 12 == 0 else " ") + str(classes[i][0]) for i in range(n)))
        w("\n};\n")
        w("static const uint8_t segalloc__class_pages[SEGALLOC__NCLASSES] = {")
        w(",".join(("\n  " if i % 16 == 0 else " ") + str(classes[i][1]) for i in range(n)))
        w("\n};\n")
        w("static const uint8_t segalloc__class_batch[SEGALLOC__NCLASSES] = {")
        w(",".join(("\n  " if i % 16 == 0 else " ") + str(0 if i == 0 else batch_of(classes[i][0])) for i in range(n)))
        w("\n};\n")
        # where a span's first object starts: the waste comes first (see the top)
        w("static const uint16_t segalloc__class_first[SEGALLOC__NCLASSES] = {")
        w(",".join(("\n  " if i % 16 == 0 else " ") + str(0 if i == 0 else (classes[i][1] * page) % classes[i][0]) for i in range(n)))
        w("\n};\n")
        # ceil(2^64 / size): x is a multiple of size iff x * magic mod 2^64 < magic, for any
        # 32-bit x (Lemire's divisibility test; free's slow path, malloc.c: the fast path
        # uses a 32-bit version kept in each thread-cache list record)
        w("static const uint64_t segalloc__class_magic[SEGALLOC__NCLASSES] = {")
        w(",".join(("\n  " if i % 4 == 0 else " ") + ("0" if i == 0 else "0x%016xull" % ((2**64 - 1) // classes[i][0] + 1)) for i in range(n)))
        w("\n};\n")
        # the list of each slot's class, as its byte offset in a thread cache's lists over
        # SLOT_UNIT
        w("#define SEGALLOC__TLIST_BYTES %d\n" % TLIST_BYTES)
        w("#define SEGALLOC__SLOT_UNIT %d\n" % SLOT_UNIT)
        # slot = size up to FINE_MAX, then ((size + 127) >> 7) + COARSE_BASE (index_of)
        w("#define SEGALLOC__SLOT_FINE_MAX %d\n" % FINE_MAX)
        w("#define SEGALLOC__SLOT_COARSE_BASE %d\n" % COARSE_BASE)
        w("static const uint8_t segalloc__slot_list[%d] = {" % len(index))
        w(",".join(("\n  " if i % 16 == 0 else " ") + str(index[i] * TLIST_BYTES // SLOT_UNIT) for i in range(len(index))))
        w("\n};\n")
    w("#endif\n")


def main():
    import io
    buf = io.StringIO()
    emit(buf)
    if "--check" in sys.argv[1:]:
        path = "src/sizeclass_table.h"
        with open(path) as f:
            if f.read() != buf.getvalue():
                sys.stderr.write("%s is not what tools/mksizeclasses.py generates\n" % path)
                sys.exit(1)
        return
    sys.stdout.write(buf.getvalue())


if __name__ == "__main__":
    main()

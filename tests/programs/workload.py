#!/usr/bin/env python3
"""Allocation-heavy Python workload for tests/programs/run.sh.

Lists, dicts, strings, bytes, class instances, reference cycles (for the gc), and
threads that hand objects to each other through queues, so blocks are allocated on one
thread and freed on another. Prints one line per phase and a final checksum; the output
depends only on the workload, never on addresses, hash seeds or thread timing, so it
must be identical with and without LD_PRELOAD.

Usage: workload.py [scale]   (default 1; run.sh uses the default)
"""
import gc
import hashlib
import queue
import sys
import threading
import zlib

SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 1
H = hashlib.sha256()


def emit(name, value):
    line = "%s %s" % (name, value)
    print(line)
    H.update(line.encode())


class Lcg:
    """Deterministic generator (no dependence on random's implementation)."""

    def __init__(self, seed):
        self.x = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self.x >> 33


def phase_lists(rng):
    total = 0
    for rnd in range(40 * SCALE):
        xs = [rng.next() % 100000 for _ in range(5000)]
        ys = sorted(xs)
        zs = [x * 3 + 1 for x in ys if x % 7]
        nested = [[i, str(i), (i, i + 1)] for i in zs[:2000]]
        del xs[::3]
        xs.extend(zs[:1000])
        xs.insert(0, len(nested))
        total = (total * 31 + sum(zs) + len(xs) + nested[-1][0]) % (1 << 61)
    return total


def phase_dicts(rng):
    d = {}
    acc = 0
    for i in range(200000 * SCALE):
        k = "k%d" % (rng.next() % 50000)
        if k in d:
            d[k].append(i)
            if len(d[k]) > 6:
                del d[k]
        else:
            d[k] = [i]
    for k in sorted(d):
        acc = (acc * 1000003 + zlib.crc32(k.encode()) + sum(d[k])) % (1 << 61)
    inv = {}
    for k, v in d.items():
        inv.setdefault(len(v), []).append(k)
    acc ^= sum(len(v) * n for n, v in inv.items())
    # dict of dicts, rebuilt repeatedly (resizes)
    for r in range(20 * SCALE):
        dd = {i: {"a": i, "b": str(i), "c": [i] * (i % 5)} for i in range(r * 500, r * 500 + 3000)}
        acc = (acc + sum(len(v["c"]) + v["a"] for v in dd.values())) % (1 << 61)
    return "%d %d" % (len(d), acc)


def phase_strings(rng):
    words = ["w%x" % rng.next() for _ in range(20000)]
    text = " ".join(words)
    for _ in range(10 * SCALE):
        text = text.upper().replace("W", "wx").lower()
        parts = text.split(" ")
        text = " ".join(p[::-1] for p in parts[: len(parts) // 2] + parts[len(parts) // 2:])
        text = text[: 400000]
    fmt = ["%s:%d:%r" % (w, i, w) for i, w in enumerate(words)]
    joined = "|".join(fmt).encode("utf-8")
    uni = "".join(chr(0x400 + (rng.next() % 600)) for _ in range(50000))
    b = bytearray()
    for i in range(100000 * SCALE):
        b += bytes([i & 0xFF]) * (i % 7)
    return "%08x %08x %08x %d" % (zlib.crc32(text.encode()), zlib.crc32(joined),
                                  zlib.crc32(uni.encode("utf-8")), len(b))


class Node:
    __slots__ = ("value", "children", "parent")

    def __init__(self, value, parent=None):
        self.value = value
        self.children = []
        self.parent = parent


class Account:
    def __init__(self, name, balance):
        self.name = name
        self.balance = balance
        self.history = []

    def apply(self, amount):
        self.balance += amount
        self.history.append(amount)
        if len(self.history) > 50:
            self.history = self.history[-10:]


def phase_classes(rng):
    # trees with parent pointers: reference cycles the gc must collect
    acc = 0
    for t in range(30 * SCALE):
        root = Node(0)
        nodes = [root]
        for i in range(1, 4000):
            p = nodes[rng.next() % len(nodes)]
            n = Node(i, p)
            p.children.append(n)
            nodes.append(n)
        stack, s = [root], 0
        while stack:
            n = stack.pop()
            s += n.value * (len(n.children) + 1)
            stack.extend(n.children)
        acc = (acc * 7 + s) % (1 << 61)
        del nodes, root, stack
    collected = gc.collect()
    accounts = [Account("acct%d" % i, 1000) for i in range(2000)]
    for _ in range(200000 * SCALE):
        a = accounts[rng.next() % len(accounts)]
        a.apply((rng.next() % 201) - 100)
    bal = sum(a.balance for a in accounts)
    hist = sum(len(a.history) for a in accounts)
    return "%d %d %d %s" % (acc, bal, hist, "gc-ok" if collected >= 0 else "gc?")


def phase_threads():
    """Producers allocate, consumers free: cross-thread frees through queues."""
    nprod, ncons, per = 4, 3, 6000 * SCALE
    q = queue.Queue(maxsize=256)
    results = [0] * ncons
    lock = threading.Lock()
    shared = {}

    def producer(pid):
        rng = Lcg(1000 + pid)
        for i in range(per):
            n = 1 + rng.next() % 64
            item = {"pid": pid, "i": i, "data": [rng.next() % 1000 for _ in range(n)],
                    "tag": "p%d-%d" % (pid, i)}
            q.put(item)
            if i % 500 == 0:
                with lock:
                    shared["p%d-%d" % (pid, i)] = bytes(n * 10)

    def consumer(cid):
        s = 0
        while True:
            item = q.get()
            if item is None:
                break
            s += sum(item["data"]) + len(item["tag"]) + item["pid"] * item["i"]
        results[cid] = s

    cons = [threading.Thread(target=consumer, args=(c,)) for c in range(ncons)]
    prods = [threading.Thread(target=producer, args=(p,)) for p in range(nprod)]
    for t in cons + prods:
        t.start()
    for t in prods:
        t.join()
    for _ in cons:
        q.put(None)
    for t in cons:
        t.join()
    # per-consumer sums depend on scheduling; their total does not
    total = sum(results)
    shared_sum = sum(len(v) for k, v in sorted(shared.items()))

    # threads that each build and return private structures
    out = [None] * 4

    def worker(w):
        rng = Lcg(77 + w)
        d = {}
        for i in range(30000 * SCALE):
            d[rng.next() % 5000] = "v%d" % i
        out[w] = zlib.crc32(repr(sorted(d.items())).encode())

    ws = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in ws:
        t.start()
    for t in ws:
        t.join()
    return "%d %d %s" % (total, shared_sum, " ".join("%08x" % x for x in out))


def main():
    rng = Lcg(42)
    emit("lists", phase_lists(rng))
    emit("dicts", phase_dicts(rng))
    emit("strings", phase_strings(rng))
    emit("classes", phase_classes(rng))
    emit("threads", phase_threads())
    print("checksum", H.hexdigest())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""covreport.py: segalloc.h's line coverage by part, from gcovr's JSON (tests/coverage.sh).

    python3 tools/covreport.py COVERAGE.json segalloc.h [--lines]

Prints, for each part of the implementation (the `---- begin src/X ----` banners): lines
executed / lines of code, branches taken / branches; then each part's functions never
entered, and (with --lines) the never-executed stretches of the functions that were, as
src/X.c line ranges with the stretch's first line and the function it lies in.
"""
import json
import re
import sys


def parts_of(header):
    """[(name, first header line, last header line)] of the implementation parts."""
    parts, cur = [], None
    with open(header) as f:
        for n, text in enumerate(f, 1):
            m = re.match(r"/\* ---- (begin|end) src/(\S+) ---- \*/", text)
            if not m:
                continue
            if m.group(1) == "begin":
                cur = (m.group(2), n)
            else:
                parts.append((cur[0], cur[1], n))
    return parts


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data = json.load(open(sys.argv[1]))
    header = sys.argv[2]
    show_lines = "--lines" in sys.argv[3:]
    src = open(header).read().split("\n")
    fdata = [f for f in data["files"] if f["file"].endswith("segalloc.h")][0]
    lines = {l["line_number"]: l for l in fdata["lines"] if not l["gcovr/noncode"] and not l["gcovr/excluded"]}
    funcs = sorted(fdata["functions"], key=lambda f: f["lineno"])
    parts = parts_of(header)

    def part_at(n):
        for name, a, b in parts:
            if a < n < b:
                return name, a
        return None, None

    tot = [0, 0, 0, 0]
    rows = []
    for name, a, b in parts:
        ls = [lines[n] for n in range(a + 1, b) if n in lines]
        if not ls:
            continue
        run = sum(1 for l in ls if l["count"] > 0)
        br = [x for l in ls for x in l["branches"]]
        brt = sum(1 for x in br if x["count"] > 0)
        rows.append((name, run, len(ls), brt, len(br)))
        for i, v in enumerate((run, len(ls), brt, len(br))):
            tot[i] += v
    print("%-20s %16s %18s" % ("part", "lines", "branches"))
    for name, run, n, brt, nbr in rows + [("TOTAL", tot[0], tot[1], tot[2], tot[3])]:
        print("%-20s %6d/%-5d %5.1f%% %6d/%-5d %5.1f%%" % (name, run, n, 100.0 * run / max(n, 1), brt, nbr, 100.0 * brt / max(nbr, 1)))

    # functions never entered, by part (a static function of the header appears once per
    # test program; gcovr merges them by name and line)
    print("\nfunctions never entered:")
    for name, a, b in parts:
        dead = sorted({f["name"] for f in funcs if a < f["lineno"] < b and f["execution_count"] == 0} -
                      {f["name"] for f in funcs if a < f["lineno"] < b and f["execution_count"] > 0})
        if dead:
            print("  %s: %s" % (name, ", ".join(dead)))

    if not show_lines:
        return
    print("\nlines never executed in functions that ran (src line: text [function]):")
    entered_names = {f["name"] for f in funcs if f["execution_count"] > 0}
    for name, a, b in parts:
        stretch = []
        out = []
        for n in range(a + 1, b + 1):
            l = lines.get(n)
            if l is not None and l["count"] == 0:
                stretch.append(n)
                continue
            if l is None and stretch:  # comments and blank lines do not end a stretch
                continue
            if stretch:
                fn = [f for f in funcs if a < f["lineno"] <= stretch[0]]
                if fn and fn[-1]["name"] in entered_names:
                    first = stretch[0] - a
                    last = stretch[-1] - a
                    where = "%d" % first if first == last else "%d-%d" % (first, last)
                    out.append("    %s:%s: %s [%s]" % (name, where, src[stretch[0] - 1].strip()[:90], fn[-1]["name"]))
                stretch = []
        if out:
            print("  %s" % name)
            print("\n".join(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Copy the benchmark tables into README.md.

Reads bench/results.md (bench/run.py) and bench/callgrind.md (bench/callgrind.py) and
rewrites the README's tables between the markers <!-- bench:time --> ... <!-- /bench:time -->
and <!-- bench:ir --> ... <!-- /bench:ir -->, and the date on the line after
<!-- bench:date -->. Run from anywhere after the two benchmark scripts:

    python3 bench/readme_tables.py
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IR_SIZES = ("16", "64", "256", "1024", "8192")


def rows(text):
    """Table rows of a Markdown text as lists of stripped cells (header and rule lines out)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|:- "):
            continue
        out.append([c.strip().replace("**", "") for c in line.strip().strip("|").split("|")])
    return out


def time_table(results):
    body = rows(results)
    head, body = body[0], body[1:]
    col = {name: i for i, name in enumerate(head)}
    want = ["glibc", "jemalloc", "tcmalloc", "mimalloc", "segalloc", "segalloc-hdr", "segalloc / best peer"]
    lines = ["| workload | metric | glibc | jemalloc | tcmalloc | mimalloc | segalloc (preload) | segalloc (header) | segalloc / best peer |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in body:
        if r[0] == "geomean":
            lines.append(f"| geomean | {r[1]} |  |  |  |  |  |  | {r[col['segalloc / best peer']]} |")
            continue
        lines.append("| " + " | ".join([r[0], r[1]] + [r[col[w]] for w in want]) + " |")
    return "\n".join(lines)


def ir_table(callgrind):
    sections = re.split(r"^## ", callgrind, flags=re.M)[1:]
    lines = ["| size | loop | glibc | jemalloc | tcmalloc | mimalloc | segalloc (preload) | segalloc (header) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for sec, label in zip(sections, ("pair", "batch of 100")):
        body = rows(sec)
        head, body = body[0], body[1:]
        col = {name: i for i, name in enumerate(head)}
        for r in body:
            if r[0] in IR_SIZES:
                cells = [r[col[a]] for a in ("glibc", "jemalloc", "tcmalloc", "mimalloc", "segalloc", "segalloc-hdr")]
                lines.append(f"| {r[0]} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace(text, tag, table):
    pat = re.compile(r"(<!-- bench:%s -->\n).*?(\n<!-- /bench:%s -->)" % (tag, tag), re.S)
    if not pat.search(text):
        sys.exit(f"readme_tables: no <!-- bench:{tag} --> markers in README.md")
    return pat.sub(lambda m: m.group(1) + table + m.group(2), text)


def main():
    results = open(os.path.join(ROOT, "bench", "results.md")).read()
    callgrind = open(os.path.join(ROOT, "bench", "callgrind.md")).read()
    readme_path = os.path.join(ROOT, "README.md")
    readme = open(readme_path).read()
    readme = replace(readme, "time", time_table(results))
    readme = replace(readme, "ir", ir_table(callgrind))
    date = re.search(r"^- date: (\d{4}-\d{2}-\d{2})", results, re.M).group(1)
    readme = re.sub(r"(<!-- bench:date -->\nTaken on )\d{4}-\d{2}-\d{2}", lambda m: m.group(1) + date, readme)
    open(readme_path, "w").write(readme)
    print("README.md tables updated from bench/results.md (%s) and bench/callgrind.md" % date)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Instructions per malloc+free pair, counted by valgrind --tool=callgrind (issue 5).

For every allocator (glibc; jemalloc, tcmalloc, mimalloc and segalloc preloaded; segalloc
compiled in), every size in 16..8192 and two loops of bench/pairloop.c:

  pair   N times { p = malloc(SIZE); free(p); }
  batch  N/100 times { 100 mallocs of SIZE, then the 100 freed in allocation order }

callgrind counts the instructions (Ir) of the whole process at two iteration counts, N1
and N2; (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one pair with start-up and one-off
initialisation cancelled. The loop's own few instructions are included, as in the
reference figures of the issue (64 bytes, pair loop: glibc 141, jemalloc 79, TCMalloc 79,
mimalloc 117).

Writes bench/callgrind.md and prints it. Python 3 standard library only; the build and
the list of allocators are shared with bench/run.py.

  python3 bench/callgrind.py [--quick] [--jobs N]
"""
import argparse
import concurrent.futures
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py)

SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
MODES = ["pair", "batch"]
REFERENCE_64 = {"glibc": 141, "jemalloc": 79, "tcmalloc": 79, "mimalloc": 117}


def callgrind_ir(binary, preload, size, n, mode):
    """Total instructions executed by `pairloop SIZE N MODE` under callgrind."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        if preload:
            env["LD_PRELOAD"] = preload
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               "--dump-line=no", "--dump-instr=no", "--compress-strings=no",
               binary, str(size), str(n), mode]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            tail = " | ".join(p.stderr.strip().splitlines()[-4:])
            raise RuntimeError(f"exit status {p.returncode}: {tail[:400]}")
        with open(out) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    return int(line.split()[1])
    raise RuntimeError("no totals line in the callgrind output")


def measure(job):
    name, binary, preload, size, mode, n1, n2 = job
    try:
        a = callgrind_ir(binary, preload, size, n1, mode)
        b = callgrind_ir(binary, preload, size, n2, mode)
        return job, (b - a) / (n2 - n1), None
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        return job, None, str(e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="sizes 16, 64, 1024, 8192 only; writes bench/callgrind-quick.md")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="callgrind runs in parallel (default: nproc)")
    ap.add_argument("--n1", type=int, default=20000)
    ap.add_argument("--n2", type=int, default=120000)
    ap.add_argument("--allocators", help="comma-separated subset of " +
                    ",".join(run.ALL_ALLOCATORS))
    ap.add_argument("--out", help="default bench/callgrind.md")
    args = ap.parse_args()
    if args.n1 % 100 or args.n2 % 100 or args.n2 <= args.n1:
        ap.error("N1 < N2, both multiples of 100")
    if not shutil.which("valgrind"):
        run.log("error: valgrind not found (apt-get install valgrind)")
        return 1

    t0 = time.monotonic()
    sizes = [16, 64, 1024, 8192] if args.quick else SIZES
    out_md = args.out or os.path.join(run.BENCH, "callgrind-quick.md" if args.quick
                                      else "callgrind.md")
    wanted = args.allocators.split(",") if args.allocators else run.ALL_ALLOCATORS
    run.ensure_peer_packages()
    built = run.build(("pairloop",))
    if not built["pairloop"] or not built["runrss"]:
        run.log("error: bench/pairloop did not build")
        return 1
    setups = run.allocator_setups("pairloop", built, wanted)
    # check where malloc comes from with the workloads binary's `which` (same link setup)
    wbuilt = run.build(("workloads",))
    wset = {n: (b, p) for n, b, p in run.verify_setups(
        run.allocator_setups("workloads", wbuilt, [s[0] for s in setups], quiet=True))}
    setups = [s for s in setups if s[0] in wset]
    names = [s[0] for s in setups]
    run.log(f"allocators: {' '.join(names)}; sizes {sizes}; N1={args.n1} N2={args.n2}")

    jobs = [(name, binary, preload, size, mode, args.n1, args.n2)
            for mode in MODES for size in sizes for name, binary, preload in setups]
    res, errs = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for job, ipp, err in ex.map(measure, jobs):
            name, _, _, size, mode, _, _ = job
            if err:
                errs[(name, size, mode)] = err
                run.log(f"FAILED {name} {mode} {size}: {err}")
            else:
                res[(name, size, mode)] = ipp
    elapsed = time.monotonic() - t0

    md = report(names, sizes, res, errs, args, elapsed)
    with open(out_md, "w") as f:
        f.write(md)
    print(md)
    run.log(f"wrote {os.path.relpath(out_md)}; total time {elapsed:.0f} s")
    return 1 if errs else 0


def report(names, sizes, res, errs, args, elapsed):
    peers = [a for a in names if a in run.PEERS]
    subject = "segalloc" if "segalloc" in names else (
        "segalloc-hdr" if "segalloc-hdr" in names else None)
    vg = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    cmd = "python3 bench/callgrind.py" + (" --quick" if args.quick else "")
    if args.allocators:
        cmd += f" --allocators {args.allocators}"
    if (args.n1, args.n2) != (20000, 120000):
        cmd += f" --n1 {args.n1} --n2 {args.n2}"
    out = [
        "# segalloc: instructions per malloc+free pair (callgrind)",
        "",
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: `uname -m` = {platform.machine()}, nproc = {os.cpu_count()}; "
        f"{vg}; {run.compiler_version()}, `{' '.join(run.CFLAGS)}`",
        f"- packages: {run.package_versions()}",
        f"- method: `valgrind --tool=callgrind bench/pairloop SIZE N MODE` at N = {args.n1} "
        f"and {args.n2}; Ir per pair = (Ir(N2) - Ir(N1)) / (N2 - N1). The loop's own "
        "instructions are included (about 5 per pair), as in the issue's reference figures "
        "(64 B pair loop: glibc 141, jemalloc 79, TCMalloc 79, mimalloc 117).",
        f"- reproduce: `make preload && {cmd}` at the repo root; total run time {elapsed:.0f} s",
        "",
    ]
    for mode, title in (("pair", "pair loop: malloc(SIZE) then free, N times"),
                        ("batch", "batch: 100 x malloc(SIZE), then the 100 frees (FIFO)")):
        out += [f"## {title}", ""]
        cols = ["size (B)"] + names + ["best peer"]
        if subject:
            cols += [f"{subject} / best peer"]
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "|".join(["---:"] * len(cols)) + "|")
        for size in sizes:
            row = [str(size)]
            vals = {a: res.get((a, size, mode)) for a in names}
            best_all = min((round(v, 1) for v in vals.values() if v is not None),
                           default=None)
            for a in names:
                v = vals[a]
                if (a, size, mode) in errs:
                    row.append("FAIL")
                elif v is None:
                    row.append("—")
                else:
                    s = f"{v:.1f}"
                    row.append(f"**{s}**" if round(v, 1) == best_all else s)
            pv = {p: vals[p] for p in peers if vals[p] is not None}
            best = min(pv, key=pv.get) if pv else None
            row.append(best or "—")
            if subject:
                sv = vals.get(subject)
                row.append(f"{sv / pv[best]:.2f}" if sv is not None and best else "—")
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    ref = [f"{a} {res[(a, 64, 'pair')]:.0f} (issue: {REFERENCE_64[a]})"
           for a in peers if (a, 64, "pair") in res]
    if ref:
        out.append("- 64 B pair loop against the issue's reference: " + ", ".join(ref) + ".")
    for (a, size, mode), e in sorted(errs.items()):
        out.append(f"- FAIL: {a}, {mode} {size} B: {e}")
    skipped = [a for a in (args.allocators.split(",") if args.allocators
                           else run.ALL_ALLOCATORS) if a not in names]
    if skipped:
        out.append("- not measured: " + "; ".join(
            f"{a} ({run.SKIPPED.get(a, 'not selected')})" for a in skipped))
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())

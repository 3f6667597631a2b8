#!/usr/bin/env python3
"""segalloc benchmark runner (issue 5).

Runs every workload of bench/workloads.c under each allocator, interleaved
(round 1: workload 1 under A B C D E F, workload 2 under A B C D E F, ...; round 2: ...),
and reports the median wall time (the workload's own `seconds=`) and the median peak RSS
(ru_maxrss of the workload process, reported by bench/runrss) with the ratios segalloc / best peer and segalloc / each peer.

Allocators:
  glibc         the system malloc
  jemalloc      LD_PRELOAD libjemalloc.so.2          (Debian libjemalloc2)
  tcmalloc      LD_PRELOAD libtcmalloc_minimal.so.4  (Debian libtcmalloc-minimal4)
  mimalloc      LD_PRELOAD libmimalloc.so.2          (Debian libmimalloc2.0)
  segalloc      LD_PRELOAD build/libsegalloc.so      (`make preload` at the repo root)
  segalloc-hdr  bench/workloads-segalloc: segalloc.h compiled in (bench/segalloc_impl.c)

Writes bench/results.md (bench/results-quick.md with --quick) and the chart
bench/ratios.png (bench/ratios-quick.png), and prints the table.

  python3 bench/run.py             full run (15 rounds, about 3.5 minutes on 2 cores)
  python3 bench/run.py --quick     CI smoke: 2 rounds at a quarter of the iterations

Python 3 standard library only. Also used by bench/callgrind.py (build and allocators).
"""
import argparse
import datetime
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
HEADER = os.path.join(ROOT, "segalloc.h")
PRELOAD_SO = os.path.join(ROOT, "build", "libsegalloc.so")
RUNRSS = os.path.join(BENCH, "runrss")

CC = os.environ.get("CC", "cc")
CFLAGS = ["-O2", "-Wall", "-Wextra", "-std=c11", "-pthread"]
LDLIBS = ["-ldl"]

PEERS = ["glibc", "jemalloc", "tcmalloc", "mimalloc"]
SEGALLOCS = ["segalloc", "segalloc-hdr"]
ALL_ALLOCATORS = PEERS + SEGALLOCS

# Debian package and library file of each preloaded peer
PEER_LIBS = {
    "jemalloc": ("libjemalloc2", "libjemalloc.so.2"),
    "tcmalloc": ("libtcmalloc-minimal4", "libtcmalloc_minimal.so.4"),
    "mimalloc": ("libmimalloc2.0", "libmimalloc.so.2"),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def multiarch_libdir():
    try:
        triple = subprocess.run([CC, "-print-multiarch"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        triple = ""
    if not triple:
        triple = platform.machine() + "-linux-gnu"
    return os.path.join("/usr/lib", triple)


LIBDIR = multiarch_libdir()


def peer_lib(name):
    return os.path.join(LIBDIR, PEER_LIBS[name][1])


# ---------------------------------------------------------------------------------------
# packages


def ensure_peer_packages():
    """apt-get install the peers' packages if their libraries are missing
    (apt-get update first only if the install fails)."""
    missing = [PEER_LIBS[p][0] for p in PEER_LIBS if not os.path.exists(peer_lib(p))]
    if not missing:
        return
    log("installing missing allocator packages: " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + missing
    try:
        if subprocess.run(cmd, env=env).returncode != 0:
            log("apt-get install failed; running apt-get update and trying again")
            subprocess.run(["apt-get", "update"], env=env)
            subprocess.run(cmd, env=env)
    except OSError as e:
        log(f"cannot run apt-get: {e}")
    for p in PEER_LIBS:
        if not os.path.exists(peer_lib(p)):
            log(f"warning: {peer_lib(p)} still missing: {p} will be skipped")


# ---------------------------------------------------------------------------------------
# building the benchmark binaries (into bench/, never through the root Makefile)


def _stale(out, inputs):
    if not os.path.exists(out):
        return True
    t = os.path.getmtime(out)
    return any(os.path.getmtime(i) > t for i in inputs if os.path.exists(i))


def compile_c(out, sources, extra_inputs=()):
    """cc -O2 -Wall -Wextra ... sources -o out, when out is older than its inputs.
    Returns True on success; prints the compiler's diagnostics."""
    out = os.path.join(BENCH, out)
    srcs = [os.path.join(BENCH, s) for s in sources]
    if not _stale(out, srcs + list(extra_inputs) + [os.path.abspath(__file__)]):
        return True
    cmd = [CC] + CFLAGS + srcs + ["-o", out] + LDLIBS
    log("+ " + " ".join(shlex.quote(os.path.relpath(c, ROOT)) if c.startswith(ROOT) else c
                        for c in cmd))
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.stderr.strip():
        log(p.stderr.rstrip())
    if p.returncode != 0:
        log(f"error: building {os.path.relpath(out, ROOT)} failed")
        if os.path.exists(out):
            os.unlink(out)
        return False
    return True


def build(programs=("workloads",)):
    """Build bench/PROG for each program and, when segalloc.h exists, bench/PROG-segalloc
    (segalloc compiled in). Returns {'PROG': ok, 'PROG-segalloc': ok or None}."""
    built = {"runrss": compile_c("runrss", ["runrss.c"])}
    for prog in programs:
        built[prog] = compile_c(prog, [prog + ".c"])
        if os.path.exists(HEADER):
            built[prog + "-segalloc"] = compile_c(prog + "-segalloc",
                                                  [prog + ".c", "segalloc_impl.c"],
                                                  extra_inputs=[HEADER])
        else:
            built[prog + "-segalloc"] = None
    return built


# ---------------------------------------------------------------------------------------
# allocators


SKIPPED = {}  # allocator -> why it is not measured (for the report)


def allocator_setups(prog, built, wanted=ALL_ALLOCATORS, quiet=False):
    """[(name, binary, preload library or None)] for the allocators that can run now;
    prints why the others are skipped (and records it in SKIPPED)."""
    def say(msg):
        name = msg.split()[1].rstrip(":")
        SKIPPED.setdefault(name, msg.split(": ", 1)[1])
        if not quiet:
            log(msg)
    binary = os.path.join(BENCH, prog)
    setups = []
    for name in wanted:
        if name == "glibc":
            setups.append((name, binary, None))
        elif name in PEER_LIBS:
            lib = peer_lib(name)
            if os.path.exists(lib):
                setups.append((name, binary, lib))
            else:
                say(f"skipping {name}: {lib} not found (apt-get install {PEER_LIBS[name][0]})")
        elif name == "segalloc":
            if os.path.exists(PRELOAD_SO):
                setups.append((name, binary, PRELOAD_SO))
            else:
                say("skipping segalloc: build/libsegalloc.so not found "
                    "(run `make preload` at the repo root)")
        elif name == "segalloc-hdr":
            if built.get(prog + "-segalloc"):
                setups.append((name, binary + "-segalloc", None))
            elif built.get(prog + "-segalloc") is None:
                say("skipping segalloc-hdr: segalloc.h not found at the repo root")
            else:
                say(f"skipping segalloc-hdr: bench/{prog}-segalloc did not build")
    return setups


def verify_setups(setups):
    """Check with `workloads which` that malloc really comes from the allocator named;
    drop (with a message) the setups where it does not."""
    good = []
    for name, binary, preload in setups:
        r = run_once([binary, "which"], preload, timeout=30)
        src = ""
        m = re.search(r"malloc from (\S+)", r["stdout"])
        if m:
            src = m.group(1)
        if name == "glibc":
            expect = "libc.so"
        elif name == "segalloc-hdr":
            expect = os.path.basename(binary)
        else:
            expect = os.path.basename(os.path.realpath(preload))
            expect = expect.split(".so")[0] + ".so"
        if r["error"]:
            why = f"`{os.path.basename(binary)} which` failed: {r['error']}"
        elif expect not in os.path.basename(os.path.realpath(src)) and \
                expect not in os.path.basename(src):
            why = f"malloc resolves to {src or '?'}, expected {expect}"
        else:
            why = None
        if why:
            SKIPPED.setdefault(name, why)
            log(f"skipping {name}: {why}")
        else:
            good.append((name, binary, preload))
    return good


# ---------------------------------------------------------------------------------------
# running


def run_once(cmd, preload, timeout):
    """Run cmd (absolute program path first) through bench/runrss, with LD_PRELOAD=preload
    set in the child only. Returns dict(stdout, stderr, maxrss_kib, error); error is None
    on success, else a description (exit status, signal name, timeout)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("MALLOC_CONF", None)
    full = [RUNRSS, preload or "-"] + cmd
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen(full, env=env, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, _ = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        fo.seek(0)
        fe.seek(0)
        out = fo.read().decode(errors="replace")
        err = fe.read().decode(errors="replace")
    m = re.search(r"^runrss: maxrss_kib=(\d+) status=(\w+):(\d+)\s*\Z", err, re.M)
    maxrss = int(m.group(1)) if m else 0
    if m:
        err = err[:m.start()]
    error = None
    if timed_out:
        error = f"timed out after {timeout:g} s"
    elif not m:
        error = f"runrss failed (status {p.returncode})"
    elif m.group(2) == "signal":
        sig = int(m.group(3))
        try:
            error = f"killed by {signal.Signals(sig).name}"
        except ValueError:
            error = f"killed by signal {sig}"
    elif m.group(3) != "0":
        error = f"exit status {m.group(3)}"
    if error and err.strip():
        error += ": " + " | ".join(err.strip().splitlines()[-3:])[:300]
    return {"stdout": out, "stderr": err, "maxrss_kib": maxrss, "error": error}


LINE_RE = re.compile(r"^(\S+) seconds=([0-9.]+) checksum=(\d+)(.*)$", re.M)


def list_workloads(binary):
    out = subprocess.run([binary, "list"], capture_output=True, text=True, check=True).stdout
    return out.split()


def fmt_num(x, digits=3):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}"


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return statistics.geometric_mean(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke: 2 rounds, 1/4 of the iterations, writes *-quick files")
    ap.add_argument("--rounds", type=int, help="rounds (default 15, --quick 2)")
    ap.add_argument("--scale", type=float, help="iteration multiplier (default 1, --quick 0.25)")
    ap.add_argument("--workloads", help="comma-separated subset of workloads")
    ap.add_argument("--allocators", help="comma-separated subset of " + ",".join(ALL_ALLOCATORS))
    ap.add_argument("--out", help="Markdown output (default bench/results.md)")
    ap.add_argument("--chart", help="PNG chart (default bench/ratios.png)")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--timeout", type=float, default=120, help="per-run time limit, s")
    args = ap.parse_args()

    rounds = args.rounds or (2 if args.quick else 15)
    scale = args.scale or (0.25 if args.quick else 1.0)
    suffix = "-quick" if args.quick else ""
    out_md = args.out or os.path.join(BENCH, f"results{suffix}.md")
    out_png = args.chart or os.path.join(BENCH, f"ratios{suffix}.png")
    wanted = args.allocators.split(",") if args.allocators else ALL_ALLOCATORS
    for a in wanted:
        if a not in ALL_ALLOCATORS:
            ap.error(f"unknown allocator {a}")

    t_start = time.monotonic()
    load_start = os.getloadavg()[0]
    if load_start > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load_start:.1f} on {os.cpu_count()} CPUs before the run: "
            "the timings will be noisy")
    ensure_peer_packages()
    built = build(("workloads",))
    if not built["workloads"] or not built["runrss"]:
        log("error: bench/workloads or bench/runrss did not build")
        return 1
    setups = verify_setups(allocator_setups("workloads", built, wanted))
    names = [s[0] for s in setups]
    if not setups:
        log("error: no allocator to run")
        return 1
    workloads = list_workloads(os.path.join(BENCH, "workloads"))
    if args.workloads:
        sel = args.workloads.split(",")
        bad = [w for w in sel if w not in workloads]
        if bad:
            ap.error("unknown workload(s): " + ",".join(bad))
        workloads = sel
    log(f"allocators: {' '.join(names)}")
    log(f"workloads: {' '.join(workloads)}; {rounds} rounds, scale {scale}")

    secs = {}   # (workload, allocator) -> [seconds]
    rss = {}    # (workload, allocator) -> [KiB]
    failed = {}  # (workload, allocator) -> message
    checks = {}  # workload -> {checksum: [allocators]}
    extras = {}  # (workload, allocator) -> extra fields of the last run
    for rd in range(rounds):
        t_round = time.monotonic()
        for w in workloads:
            for name, binary, preload in setups:
                key = (w, name)
                if key in failed:
                    continue  # do not keep crashing: one failure is reported
                r = run_once([binary, w, repr(scale)], preload, args.timeout)
                m = LINE_RE.search(r["stdout"])
                if r["error"] or not m or m.group(1) != w:
                    msg = r["error"] or f"unexpected output {r['stdout'].strip()[:200]!r}"
                    failed[key] = f"round {rd + 1}: {msg}"
                    log(f"FAILED {name} {w}: {failed[key]}")
                    continue
                secs.setdefault(key, []).append(float(m.group(2)))
                rss.setdefault(key, []).append(r["maxrss_kib"])
                checks.setdefault(w, {}).setdefault(m.group(3), set()).add(name)
                extras[key] = m.group(4).strip()
        log(f"round {rd + 1}/{rounds} done in {time.monotonic() - t_round:.1f} s")

    # checksums must agree across allocators (they depend only on the seeds)
    bad_sum = {}
    for w, by in checks.items():
        if len(by) > 1:
            ref = next((c for c, who in by.items() if "glibc" in who),
                       max(by, key=lambda c: len(by[c])))
            for c, who in by.items():
                if c != ref:
                    for a in who:
                        bad_sum[(w, a)] = f"checksum {c} != {ref} ({'/'.join(sorted(by[ref]))})"
                        log(f"WRONG CHECKSUM {a} {w}: {bad_sum[(w, a)]}")

    raw_csv = os.path.splitext(out_md)[0] + "-raw.csv"
    with open(raw_csv, "w") as f:
        f.write("round,workload,allocator,seconds,maxrss_kib\n")
        for (w, a), ts in secs.items():
            for i, (t, kib) in enumerate(zip(ts, rss[(w, a)])):
                f.write(f"{i + 1},{w},{a},{t:.6f},{kib}\n")

    med_t = {k: statistics.median(v) for k, v in secs.items()}
    med_r = {k: statistics.median(v) / 1024.0 for k, v in rss.items()}  # MiB
    elapsed = time.monotonic() - t_start
    args.load = (load_start, os.getloadavg()[0])

    md, chart_rows = make_report(workloads, names, med_t, med_r, failed, bad_sum, extras,
                                 rounds, scale, args, elapsed, spread_note(secs))
    with open(out_md, "w") as f:
        f.write(md)
    print(md)
    if not args.no_chart:
        make_chart(chart_rows, out_png)
    log(f"wrote {os.path.relpath(out_md)}" + ("" if args.no_chart else
                                               f" and {os.path.relpath(out_png)}"))
    log(f"total time {elapsed:.0f} s")
    return 1 if failed or bad_sum else 0


# ---------------------------------------------------------------------------------------
# report


def package_versions():
    pk = ["libc6"] + [PEER_LIBS[p][0] for p in PEER_LIBS]
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"] + pk,
                             capture_output=True, text=True).stdout
        return ", ".join(out.split("\n")[:-1]) or "?"
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def spread_note(secs):
    """How noisy the timings were: (max - min) / median per workload and allocator."""
    spread = {k: (max(v) - min(v)) / statistics.median(v) for k, v in secs.items()
              if len(v) > 1 and statistics.median(v) > 0}
    if not spread:
        return None
    worst = max(spread, key=spread.get)
    return (f"run-to-run spread of the times, (max - min) / median: typically "
            f"{100 * statistics.median(spread.values()):.0f} %, at most "
            f"{100 * spread[worst]:.0f} % ({worst[1]} on {worst[0]}); per-run samples "
            f"in the -raw.csv file beside this one.")


def make_report(workloads, names, med_t, med_r, failed, bad_sum, extras, rounds, scale,
                args, elapsed, spread=None):
    peers = [a for a in names if a in PEERS]
    subject = "segalloc" if "segalloc" in names else (
        "segalloc-hdr" if "segalloc-hdr" in names else None)
    also_hdr = subject == "segalloc" and "segalloc-hdr" in names

    cols = ["workload", "metric"] + names + ["best peer"]
    if subject:
        cols += [f"{subject} / best peer"] + [f"{subject} / {p}" for p in peers]
        if also_hdr:
            cols += ["segalloc-hdr / best peer"]
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join([":---", ":---"] + ["---:"] * (len(cols) - 2)) + "|"]
    ratio_acc = {}  # (metric, column) -> [ratios], for the geometric-mean rows
    chart_rows = []  # (workload, metric, [(label, ratio)])

    for w in workloads:
        for metric, med, unit in (("time", med_t, "s"), ("peak RSS", med_r, "MiB")):
            vals = {}
            for a in names:
                if (w, a) in med and (w, a) not in bad_sum:
                    vals[a] = med[(w, a)]
            row = [w, f"{metric} ({unit})"]
            digits = 3 if metric == "time" else 1
            shown = {a: fmt_num(v, digits) for a, v in vals.items()}
            best_all = min(vals.values()) if vals else None
            for a in names:
                if (w, a) in failed:
                    row.append("FAIL")
                elif (w, a) in bad_sum:
                    row.append("BAD SUM")
                elif a in vals:
                    s = shown[a]
                    row.append(f"**{s}**" if s == fmt_num(best_all, digits) else s)
                else:
                    row.append("—")
            pv = {p: vals[p] for p in peers if p in vals}
            best_peer = min(pv, key=pv.get) if pv else None
            row.append(best_peer or "—")
            bars = []
            if subject:
                s = vals.get(subject)
                r_best = s / pv[best_peer] if s is not None and best_peer else None
                row.append(fmt_ratio(r_best))
                ratio_acc.setdefault((metric, "best"), []).append(r_best)
                bars.append((f"{subject} / best peer", r_best))
                for p in peers:
                    r = s / pv[p] if s is not None and p in pv else None
                    row.append(fmt_ratio(r))
                    ratio_acc.setdefault((metric, p), []).append(r)
                    bars.append((f"{subject} / {p}", r))
                if also_hdr:
                    h = vals.get("segalloc-hdr")
                    r = h / pv[best_peer] if h is not None and best_peer else None
                    row.append(fmt_ratio(r))
                    ratio_acc.setdefault((metric, "hdr"), []).append(r)
                    bars.append(("segalloc-hdr / best peer", r))
            else:
                # no segalloc yet: chart each peer against the best peer
                for p in peers:
                    bars.append((f"{p} / best peer",
                                 pv[p] / pv[best_peer] if p in pv and best_peer else None))
            lines.append("| " + " | ".join(row) + " |")
            chart_rows.append((w, metric, bars))
    if subject:
        for metric in ("time", "peak RSS"):
            row = ["**geomean**", metric] + [""] * len(names) + [""]
            keys = ["best"] + peers + (["hdr"] if also_hdr else [])
            row += [f"**{fmt_ratio(geomean(ratio_acc.get((metric, k), [])))}**" for k in keys]
            lines.append("| " + " | ".join(row) + " |")

    notes = [spread] if spread else []
    frag = [(a, extras.get(("frag", a), "")) for a in names if ("frag", a) in extras]
    lp = next((re.search(r"live_peak=(\d+)", e) for _, e in frag if "live_peak" in e), None)
    if lp:
        live = int(lp.group(1)) / 2**20
        per = ", ".join(f"{a} {med_r[('frag', a)] / live:.2f}" for a in names
                        if ("frag", a) in med_r)
        notes.append(f"frag holds at most {live:.1f} MiB live (live_peak); peak RSS / "
                     f"live_peak: {per}.")
    for (w, a), msg in sorted(failed.items()):
        notes.append(f"FAIL: {a} on {w}: {msg}")
    for (w, a), msg in sorted(bad_sum.items()):
        notes.append(f"BAD SUM: {a} on {w}: {msg}")
    skipped = [a for a in (args.allocators.split(",") if args.allocators else ALL_ALLOCATORS)
               if a not in names]
    if skipped:
        notes.append("not measured: " + "; ".join(
            f"{a} ({SKIPPED.get(a, 'not selected')})" for a in skipped))

    cmd = "python3 bench/run.py" + (" --quick" if args.quick else "")
    if args.rounds:
        cmd += f" --rounds {args.rounds}"
    if args.scale:
        cmd += f" --scale {args.scale}"
    if args.workloads:
        cmd += f" --workloads {args.workloads}"
    if args.allocators:
        cmd += f" --allocators {args.allocators}"
    head = [
        "# segalloc benchmark results" + (" (quick smoke run: not for comparison)"
                                          if args.quick else ""),
        "",
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: `uname -m` = {platform.machine()}, nproc = {os.cpu_count()}, "
        f"CPU: {cpu_model()}, kernel {platform.release()}",
        f"- compiler: {compiler_version()}; flags `{' '.join(CFLAGS)}`",
        f"- packages: {package_versions()}",
        f"- {rounds} rounds, interleaved (each workload runs under every allocator in turn, "
        f"then the next workload; then the next round), scale {scale}; "
        f"total run time {elapsed:.0f} s; load average (1 min) {args.load[0]:.1f} before, "
        f"{args.load[1]:.1f} after (other work on the machine inflates the times)",
        f"- reproduce: `make preload && {cmd}` at the repo root (or `make bench`)",
        "",
        "Medians over the rounds. time = the workload's own wall time (excludes process "
        "start and exit); peak RSS = ru_maxrss of the workload process (wait4, via bench/runrss). Bold = best of "
        "all columns. Ratios < 1 mean segalloc is faster / smaller than that peer; "
        "geomean rows are over the workloads.",
        "",
    ]
    return "\n".join(head + lines + [""] + [f"- {n}" for n in notes] +
                     ([""] if notes else [])), chart_rows


def compiler_version():
    try:
        return subprocess.run([CC, "--version"], capture_output=True,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return CC


def make_chart(chart_rows, out_png):
    """Two panels (time, peak RSS) of clustered bars, one cluster per workload, log y."""
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no chart (apt-get install gnuplot-nox)")
        return
    if not chart_rows or not chart_rows[0][2]:
        log("nothing to chart")
        return
    labels = [lab for lab, _ in chart_rows[0][2]]
    k = len(labels)
    workloads = []
    data = {}
    for w, metric, bars in chart_rows:
        if w not in workloads:
            workloads.append(w)
        data[(w, metric)] = [r for _, r in bars]
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        dat = f.name
        hdr = ["workload"] + [f'"{lab}"' for lab in labels] + [f'"{lab}"' for lab in labels]
        f.write(" ".join(hdr) + "\n")
        for w in workloads:
            vals = data.get((w, "time"), [None] * k) + data.get((w, "peak RSS"), [None] * k)
            f.write(w + " " + " ".join("NaN" if v is None else f"{v:.4f}" for v in vals) + "\n")
    finite = [v for vals in data.values() for v in vals if v is not None and v > 0]
    lo = 2.0 ** min(-1, math.floor(math.log2(min(finite)))) if finite else 0.5
    hi = 2.0 ** max(1, math.ceil(math.log2(max(finite)))) if finite else 2.0
    title = "segalloc vs peers (ratio; < 1 = segalloc better)" if "segalloc" in labels[0] \
        else "each allocator / best peer (segalloc not measured)"
    cmd = ["gnuplot", "-e",
           f"datafile='{dat}'; outfile='{out_png}'; k={k}; maintitle='{title}'; "
           f"ymin={lo!r}; ymax={hi!r}",
           os.path.join(BENCH, "chart.gp")]
    p = subprocess.run(cmd, capture_output=True, text=True)
    os.unlink(dat)
    if p.returncode != 0:
        log("gnuplot failed: " + p.stderr.strip()[-500:])


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench/usertime.py - where a workload's time goes: user or kernel, and how many page faults.

    python3 bench/usertime.py [-r ROUNDS] [-s SCALE] WORKLOAD [NAME=LIB ...]
    python3 bench/usertime.py [-r ROUNDS] -c "PROGRAM ARGS" [NAME=LIB ...]

Runs bench/workloads WORKLOAD under each allocator in turn, interleaved, ROUNDS times, and
prints the median user time, system time and minor page faults of each (from wait4's
rusage, to the microsecond). The allocators are segalloc (build/libsegalloc.so), glibc and
mimalloc unless NAME=LIB pairs are given (LIB a preloadable library; "-" for none, i.e.
glibc). Wall time mixes the two; this tells whether a gap is in the allocator's own code
(user) or in page faults and system calls (sys), which run the same kernel code for every
allocator. With -c, any program (bench/threads_scale 32 4000000, say) runs instead of a
workload. Run `make preload` first.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LIBDIR = "/usr/lib/x86_64-linux-gnu"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-r", "--rounds", type=int, default=21)
    ap.add_argument("-s", "--scale", default="1.0")
    ap.add_argument("-c", "--command", help="run this program (with its arguments) instead of a workload")
    ap.add_argument("workload", nargs="?")
    ap.add_argument("libs", nargs="*", help="NAME=LIB")
    a = ap.parse_args()
    if a.command and a.workload:  # with -c, every positional is a NAME=LIB
        a.libs.insert(0, a.workload)
        a.workload = None
    libs = {"segalloc": os.path.join(ROOT, "build/libsegalloc.so"), "glibc": "-",
            "mimalloc": os.path.join(LIBDIR, "libmimalloc.so.2")}
    if a.libs:
        libs = dict(x.split("=", 1) for x in a.libs)
    for name, lib in libs.items():
        if lib != "-" and not os.path.exists(lib):
            sys.exit("usertime: %s: %s not found" % (name, lib))
    if a.command:
        argv = shlex.split(a.command)
        label = a.command
    elif a.workload:
        exe = os.path.join(ROOT, "bench/workloads")
        subprocess.run(["cc", "-O2", "-Wall", "-std=c11", "-o", exe, os.path.join(ROOT, "bench/workloads.c"),
                        "-pthread"], check=True)
        argv = [exe, a.workload, a.scale]
        label = "%s at scale %s" % (a.workload, a.scale)
    else:
        sys.exit("usertime: give a WORKLOAD or -c PROGRAM")
    samples = {name: [] for name in libs}
    for _ in range(a.rounds):
        for name, lib in libs.items():
            env = dict(os.environ)
            env.pop("LD_PRELOAD", None)
            if lib != "-":
                env["LD_PRELOAD"] = lib
            pid = os.fork()
            if pid == 0:
                fd = os.open(os.devnull, os.O_WRONLY)
                os.dup2(fd, 1)
                os.execvpe(argv[0], argv, env)
            _, status, ru = os.wait4(pid, 0)
            if status != 0:
                sys.exit("usertime: %s under %s failed (status %d)" % (label, name, status))
            samples[name].append((ru.ru_utime * 1000, ru.ru_stime * 1000, ru.ru_minflt))
    print("%s, %d interleaved rounds, medians:" % (label, a.rounds))
    print("%-12s %10s %10s %12s" % ("allocator", "user ms", "sys ms", "page faults"))
    for name, v in samples.items():
        print("%-12s %10.1f %10.1f %12d" % (name, statistics.median(x[0] for x in v),
                                            statistics.median(x[1] for x in v),
                                            statistics.median(x[2] for x in v)))


if __name__ == "__main__":
    main()

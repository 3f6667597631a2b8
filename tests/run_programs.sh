#!/usr/bin/env bash
# tests/run_programs.sh: real programs (Python and its own regression tests, sqlite3, sort,
# a C++ program with threads, gcc) run plain and under LD_PRELOAD=build/libsegalloc.so,
# outputs compared, and segalloc's exit report proving it served them. See
# tests/programs/run.sh. make test builds the library first.
set -u
cd "$(dirname "$0")/.."
[ -f build/libsegalloc.so ] || make -s preload
exec bash tests/programs/run.sh build/libsegalloc.so

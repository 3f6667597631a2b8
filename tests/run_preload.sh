#!/usr/bin/env bash
# tests/run_preload.sh: segalloc as the process allocator (issue 3, items 1-4).
#   - the standard names and C++ operator new/delete, preloaded (build/libsegalloc.so) and
#     compiled into the program (SEGALLOC_OVERRIDE): tests/test_override.c, test_override_cxx.cpp;
#     a program with operators of its own (basic or array), preloaded: test_cxx_replaced.cpp;
#     a C program with a C++ plug-in opened RTLD_LOCAL: test_cxx_plugin.c, test_cxx_plugin_lib.cpp
#   - fork: busy threads, the stdio lock-order trap, fork from a signal handler: tests/test_fork.c
#   - a library with segalloc inside dlopen()ed late; threads before the first allocation:
#     tests/test_dlopen.c, tests/test_dlopen_lib.c
# Builds everything into build/tests/preload, prints PASS/FAIL per check and ends with
# "N passed, N failed" (tests/run.sh adds that line to its total); exits non-zero on failure.
# Lines starting "info" are measurements and results recorded without being asserted.
# PEERS=1 also runs the fork tests over jemalloc, TCMalloc and mimalloc (information only:
# jemalloc and TCMalloc are expected to hang on stdio and signal, which shows the tests bite).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B=build/tests/preload
mkdir -p "$B"
CC=${CC:-gcc}
CXX=${CXX:-g++}
WARN="-Wall -Wextra -Werror"
PRELOAD=$ROOT/build/libsegalloc.so
PASSED=0
FAILED=0
LOG=$B/build.log
: >"$LOG"
START=$(date +%s)

pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# build NAME COMMAND...: one check
build() {
  local name=$1
  shift
  if "$@" >>"$LOG" 2>&1; then
    pass "build $name"
  else
    fail "build $name (command: $*)"
    tail -n 15 "$LOG" | sed 's/^/    /'
  fi
}

# run NAME TIMEOUT COMMAND...: add up the program's closing "N passed, N failed" line
run() {
  local name=$1 limit=$2
  shift 2
  local out="$B/$name.out"
  (timeout -s KILL "$limit" "$@"; exit $?) >"$out" 2>&1 # (a subshell: bash's crash report lands in $out)
  local rc=$?
  grep -E '^info' "$out" | sed "s/^/info [$name] /; s/^info \[$name\] info:\? */info [$name] /"
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    if [ "$rc" -eq 137 ]; then fail "$name: killed after ${limit}s (hang)"; else fail "$name: no result line (exit $rc)"; fi
    grep -vE '^info' "$out" | tail -n 15 | sed 's/^/    /'
    return
  fi
  local p=${line%% passed*} f=${line#*, }
  f=${f%% failed*}
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name: $line"
    grep -vE '^(info|[0-9]+ passed)' "$out" | head -n 15 | sed 's/^/    /'
  elif [ "$rc" -ne 0 ]; then
    fail "$name: exit $rc after $line"
  else
    echo "PASS $name: $line"
  fi
}

echo "== build"
build "libsegalloc.so (make preload)" make -s preload
CF="-std=gnu11 -O2 -g $WARN"
XF="-std=c++17 -O2 -g $WARN"
build override-in $CC $CF -DOVERRIDE_COMPILED_IN -o $B/override-in tests/test_override.c -pthread
build override-pre $CC $CF -o $B/override-pre tests/test_override.c -pthread -ldl
build override-cxx-in $CXX $XF -DOVERRIDE_COMPILED_IN -o $B/override-cxx-in tests/test_override_cxx.cpp -pthread
build override-cxx-pre $CXX $XF -o $B/override-cxx-pre tests/test_override_cxx.cpp -pthread -ldl
build cxx-replaced $CXX $XF -o $B/cxx-replaced tests/test_cxx_replaced.cpp
build cxx-replaced-arrays $CXX $XF -DREPLACE_ARRAYS -o $B/cxx-replaced-arrays tests/test_cxx_replaced.cpp
build cxx-plugin $CC $CF -o $B/cxx-plugin tests/test_cxx_plugin.c -ldl
build cxx-plugin-lib $CXX $XF -fPIC -shared -o $B/libcxxplugin.so tests/test_cxx_plugin_lib.cpp
build cxx-ctor-lib $CXX $XF -DCTOR_THREAD -fPIC -shared -o $B/libcxxctor.so tests/test_cxx_plugin_lib.cpp -pthread
build cxx-dlopen-ctor $CXX $XF -o $B/cxx-dlopen-ctor tests/test_cxx_dlopen_ctor.cpp -ldl
build fork-in $CC $CF -DOVERRIDE_COMPILED_IN -o $B/fork-in tests/test_fork.c -pthread
build fork-pre $CC $CF -o $B/fork-pre tests/test_fork.c -pthread
build libdlt.so $CC $CF -fPIC -shared -o $B/libdlt.so tests/test_dlopen_lib.c -pthread
build libdlt-ie.so $CC $CF -fPIC -shared "-DSEGALLOC_TLS_MODEL=\"initial-exec\"" -o $B/libdlt-ie.so tests/test_dlopen_lib.c -pthread
build dlopen $CC $CF -o $B/dlopen tests/test_dlopen.c -pthread -ldl

echo "== 1. the standard names"
run override-in 60 $B/override-in
run override-pre 60 env LD_PRELOAD="$PRELOAD" $B/override-pre
# the program-break check can see glibc's malloc: without segalloc the same workload moves it
if timeout 60 $B/override-pre sbrk-control >$B/sbrk-control.out 2>&1; then
  pass "sbrk check detects glibc's heap when segalloc is absent ($(grep -o 'moved by up to [0-9]* bytes' $B/sbrk-control.out))"
else
  fail "sbrk control: the workload did not move the program break under glibc's malloc"
  tail -n 5 $B/sbrk-control.out | sed 's/^/    /'
fi
# the preloaded library's report at exit
SEGALLOC_SHOW_STATS=1 LD_PRELOAD="$PRELOAD" timeout 60 $B/override-pre >$B/show-stats.out 2>$B/show-stats.err
if grep -qE '^segalloc [0-9.]+ stats \(pid [0-9]+\)$' $B/show-stats.err && grep -qE '^  mallocs +[1-9][0-9]*$' $B/show-stats.err; then
  pass "SEGALLOC_SHOW_STATS=1 report at exit under the preload"
else
  fail "SEGALLOC_SHOW_STATS=1: no report on stderr at exit"
  head -n 5 $B/show-stats.err | sed 's/^/    /'
fi
# ... but not into a file that took its descriptor's number after the program closed it,
# and not into a pipe whose reader has gone (SIGPIPE would change the exit status)
rm -f "$B/show-stats-reused.txt"
SEGALLOC_SHOW_STATS=1 LD_PRELOAD="$PRELOAD" timeout 60 python3 -c 'import os, sys; os.closerange(3, 256); fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC); os.write(fd, b"data\n")' "$B/show-stats-reused.txt" 2>/dev/null
if [ "$(cat "$B/show-stats-reused.txt" 2>/dev/null)" = data ]; then
  pass "SEGALLOC_SHOW_STATS=1: no report into a file that reused the descriptor"
else
  fail "SEGALLOC_SHOW_STATS=1: the file that reused the descriptor holds $(wc -l <"$B/show-stats-reused.txt" 2>/dev/null) lines, not 1"
fi
SEGALLOC_SHOW_STATS=1 LD_PRELOAD="$PRELOAD" timeout 60 python3 -c 'import time; time.sleep(0.3); raise SystemExit(3)' 2>&1 | true
st=${PIPESTATUS[0]}
if [ "$st" -eq 3 ]; then pass "SEGALLOC_SHOW_STATS=1: a closed pipe on stderr leaves the exit status alone"; else fail "SEGALLOC_SHOW_STATS=1 with a closed pipe: exit status $st, not 3"; fi
run override-cxx-in 60 $B/override-cxx-in
run override-cxx-pre 60 env LD_PRELOAD="$PRELOAD" $B/override-cxx-pre
# a program with its own basic (or array) operator new and delete; a C++ plug-in opened RTLD_LOCAL
run cxx-replaced 60 $B/cxx-replaced
run cxx-replaced-pre 60 env LD_PRELOAD="$PRELOAD" $B/cxx-replaced
run cxx-replaced-arrays 60 $B/cxx-replaced-arrays
run cxx-replaced-arrays-pre 60 env LD_PRELOAD="$PRELOAD" $B/cxx-replaced-arrays
run cxx-plugin 60 $B/cxx-plugin "$ROOT/$B/libcxxplugin.so"
run cxx-plugin-pre 60 env LD_PRELOAD="$PRELOAD" $B/cxx-plugin "$ROOT/$B/libcxxplugin.so" segalloc
# a library constructor, inside dlopen, waits for a thread whose new fails
run cxx-dlopen-ctor 60 $B/cxx-dlopen-ctor "$ROOT/$B/libcxxctor.so"
run cxx-dlopen-ctor-pre 60 env LD_PRELOAD="$PRELOAD" $B/cxx-dlopen-ctor "$ROOT/$B/libcxxctor.so"

echo "== 2. fork"
for mode in threads stdio signal signal-nested signal-malloc signal-thread; do
  run "fork-$mode-in" 90 $B/fork-in $mode
  run "fork-$mode-pre" 90 env LD_PRELOAD="$PRELOAD" $B/fork-pre $mode
done

echo "== 3. dlopen and TLS"
run dlopen-default-tls 60 $B/dlopen "$ROOT/$B/libdlt.so"
run dlopen-initial-exec 60 $B/dlopen "$ROOT/$B/libdlt-ie.so" --record
run threads-first-pre 60 env LD_PRELOAD="$PRELOAD" $B/dlopen threads-first
# a thread that used the library exits after the library was dlclose()d: segalloc deletes
# its thread-exit key when it is unloaded, so the exit must not call into unmapped code
(timeout -s KILL 30 $B/dlopen dlclose "$ROOT/$B/libdlt.so"; exit $?) >$B/dlclose.out 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
  pass "dlclose: a thread that used the library exits after dlclose()"
else
  sig=""
  [ "$rc" -gt 128 ] && sig=" (signal $((rc - 128)))"
  fail "dlclose: a thread that used the library exited after dlclose(): the process died, exit $rc$sig"
fi

if [ "${PEERS:-0}" = 1 ]; then
  echo "== information: the fork tests over other allocators (not counted)"
  for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
             /usr/lib/x86_64-linux-gnu/libmimalloc.so.2; do
    [ -f "$lib" ] || continue
    for mode in threads stdio signal signal-nested signal-malloc signal-thread; do
      (timeout -s KILL 60 env LD_PRELOAD="$lib" $B/fork-pre $mode; exit $?) >$B/peer.out 2>&1
      rc=$?
      echo "info [peer $(basename "$lib") $mode] exit $rc: $(grep -E '^(info|FAIL)' $B/peer.out | head -n 2 | tr '\n' ' ')"
    done
  done
fi

echo "info run_preload.sh took $(($(date +%s) - START)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

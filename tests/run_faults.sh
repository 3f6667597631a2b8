#!/usr/bin/env bash
# tests/run_faults.sh: segalloc under failure (address-space limits) and process-level churn
# (fork from threads, thread storms). Builds tests/test_faults.c and runs each mode in its own
# process, under timeout, with the ulimit -v it needs set in a subshell:
#   oom         ulimit -v 512 MiB, and again at 110 MiB (room for one arena and little else)
#   threadfail  ulimit -v 1 GiB; the program squeezes the rest itself, round by round
#   fork, storm, firstcall   no limit; storm also under ThreadSanitizer, firstcall also
#                            with SEGALLOC_DEBUG
# Every mode ends with "N passed, N failed"; this script adds them up and ends with its own.
set -u
cd "$(dirname "$0")/.." || exit 1
B=build/faults
mkdir -p "$B"
CC=${CC:-cc}
PASSED=0
FAILED=0
ulimit -c 0 2>/dev/null

pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

EXE=$B/test_faults
if $CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -o "$EXE" tests/test_faults.c -pthread >"$B/build.txt" 2>&1; then
  pass "build test_faults ($CC -Wall -Wextra -Werror)"
else
  fail "build test_faults"; head -n 20 "$B/build.txt" | sed 's/^/    /'
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

# run_mode TAG LIMIT_KIB|none SECONDS EXE MODE: one mode in a subshell with its limit
run_mode() {
  local tag=$1 limit=$2 secs=$3 exe=$4 mode=$5
  local out="$B/$tag.out"
  local t0=$SECONDS
  if [ "$limit" = none ]; then
    timeout "$secs" "$exe" "$mode" >"$out" 2>&1
  else
    # shellcheck disable=SC2016 # (expanded by the inner shell)
    timeout "$secs" bash -c 'ulimit -v "$1" && exec "$2" "$3"' _ "$limit" "$exe" "$mode" >"$out" 2>&1
  fi
  local rc=$?
  local took=$((SECONDS - t0))
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    local why="exit $rc"
    [ "$rc" -eq 124 ] && why="timed out after ${secs} s (deadlock?)"
    [ "$rc" -gt 128 ] && [ "$rc" -ne 124 ] && why="killed by signal $((rc - 128))"
    fail "$tag: no result line: $why"
    tail -n 15 "$out" | sed 's/^/    /'
    return
  fi
  local p=${line%% passed*} f=${line#*, }
  f=${f%% failed*}
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  # the program's own summary lines (indented) and failures, for the log
  grep -E '^(  |[a-z]+:)' "$out" | grep -v '^test_faults ' | sed 's/^/    /'
  if [ "$f" -ne 0 ]; then
    echo "FAIL $tag: $line (${took} s)"
    grep -E '^FAIL' "$out" | sort | uniq -c | sort -rn | head -n 12 | sed 's/^/    /'
  elif [ "$rc" -ne 0 ]; then
    fail "$tag: exit $rc after $line"
  else
    echo "ok   $tag: $line (${took} s)"
  fi
}

run_mode "oom (ulimit -v 512 MiB)" 524288 60 "$EXE" oom
run_mode "oom (ulimit -v 110 MiB)" 112640 60 "$EXE" oom
run_mode "threadfail (ulimit -v 1 GiB, squeezed)" 1048576 120 "$EXE" threadfail
run_mode "fork" none 120 "$EXE" fork
run_mode "forkloss" none 120 "$EXE" forkloss
run_mode "storm" none 120 "$EXE" storm
run_mode "firstcall" none 60 "$EXE" firstcall
run_mode "locked" none 60 "$EXE" locked
run_mode "mapcount" none 60 "$EXE" mapcount

# first calls again with SEGALLOC_DEBUG (fills, canaries past every block, encoded links)
if $CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -DSEGALLOC_DEBUG=1 -o "$EXE-debug" tests/test_faults.c -pthread \
     >"$B/build-debug.txt" 2>&1; then
  pass "build test_faults-debug"
  run_mode "firstcall (SEGALLOC_DEBUG)" none 60 "$EXE-debug" firstcall
else
  fail "build test_faults-debug"; head -n 20 "$B/build-debug.txt" | sed 's/^/    /'
fi

# the thread storms again under ThreadSanitizer (no address-space limit: TSan reserves a lot)
if $CC -std=gnu11 -O1 -g -Wall -Wextra -Werror -fsanitize=thread -o "$EXE-tsan" tests/test_faults.c -pthread \
     >"$B/build-tsan.txt" 2>&1; then
  pass "build test_faults-tsan"
  run_mode "storm (TSan)" none 180 "$EXE-tsan" storm
else
  fail "build test_faults-tsan"; head -n 20 "$B/build-tsan.txt" | sed 's/^/    /'
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

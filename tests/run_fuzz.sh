#!/usr/bin/env bash
# tests/run_fuzz.sh: fuzz the whole segalloc_* API for a bounded time (tests/fuzz/fuzz_api.c,
# libFuzzer with ASan and UBSan), after checking the harness builds clean and the seed corpus
# replays clean without sanitizers.
#
#   bash tests/run_fuzz.sh                 60 seconds of fuzzing
#   FUZZ_SECONDS=600 bash tests/run_fuzz.sh
#
# The corpus grows in build/fuzz/corpus (kept between runs, never committed); the seeds in
# tests/fuzz/corpus are read only. A crash leaves build/fuzz/crash-* (replay it with
# build/fuzz/fuzz_api FILE or build/fuzz/fuzz_api_replay FILE). Pass = the fuzzer exits 0
# with no crash. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
B=build/fuzz
SECS=${FUZZ_SECONDS:-60}
CC=${CC:-cc}
CLANG=${CLANG:-clang}
PASSED=0
FAILED=0
mkdir -p "$B/corpus"
: >"$B/replay-seeds.txt"
ulimit -c 0 2>/dev/null

pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# 1. the harness as a plain program (any compiler, warnings are errors), replaying the seeds
if $CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -DFUZZ_STANDALONE -o "$B/fuzz_api_replay" tests/fuzz/fuzz_api.c -pthread \
     >"$B/build-replay.txt" 2>&1; then
  pass "build fuzz_api_replay ($CC)"
  # one process per seed, so a crash names its seed (a subshell keeps bash's "Aborted" quiet)
  bad=""
  for f in tests/fuzz/corpus/*; do
    (timeout 120 "$B/fuzz_api_replay" "$f" >>"$B/replay-seeds.txt" 2>&1; exit $?) 2>/dev/null || bad="$bad $(basename "$f")"
  done
  if [ -z "$bad" ]; then
    pass "seed corpus replays clean ($(find tests/fuzz/corpus -type f | wc -l) seeds)"
  else
    fail "seed corpus replay: failed on$bad"
    grep -E 'FAILED|segalloc: error' "$B/replay-seeds.txt" | head -n 5 | sed 's/^/    /'
  fi
else
  fail "build fuzz_api_replay ($CC)"; head -n 20 "$B/build-replay.txt" | sed 's/^/    /'
fi

# 2. the libFuzzer build
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2086
if $CLANG -g -O1 -Wall -Wextra -Werror $SAN -o "$B/fuzz_api" tests/fuzz/fuzz_api.c >"$B/build-fuzz.txt" 2>&1; then
  pass "build fuzz_api ($CLANG $SAN)"
else
  fail "build fuzz_api ($CLANG $SAN)"; head -n 20 "$B/build-fuzz.txt" | sed 's/^/    /'
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

# 3. fuzz. New units go to the first corpus directory only.
rm -f "$B"/crash-* "$B"/leak-* "$B"/timeout-* "$B"/oom-* "$B"/slow-unit-*
LOG="$B/fuzz.log"
timeout $((SECS + 300)) "$B/fuzz_api" -max_total_time="$SECS" -print_final_stats=1 -max_len=4096 -timeout=60 \
  -rss_limit_mb=2560 -artifact_prefix="$B/" "$B/corpus" tests/fuzz/corpus >"$LOG" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOG" | tail -n 1)
final=$(grep -E '^#[0-9]+.*cov: ' "$LOG" | tail -n 1)
cov=$(echo "$final" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$final" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$final" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
echo "fuzz_api: ${SECS} s, ${execs:-?} execs (${rate:-?}/s), cov: ${cov:-?}, ft: ${ft:-?}, corpus: ${corp:-?} (units/bytes)"
artifacts=$(ls "$B"/crash-* "$B"/leak-* "$B"/timeout-* "$B"/oom-* 2>/dev/null)
if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
  pass "fuzz_api: ${SECS} s, ${execs:-?} execs, cov: ${cov:-?}, ft: ${ft:-?}, no crash"
else
  fail "fuzz_api: exit $rc after ${execs:-?} execs"
  grep -E 'segalloc: error|fuzz_api: FAILED|corrupt at|ERROR|SUMMARY|runtime error|deadly signal' "$LOG" | head -n 10 | sed 's/^/    /'
  for a in $artifacts; do echo "    artifact: $a (replay: $B/fuzz_api $a)"; done
fi

# 4. what the run found, replayed without sanitizers (a different compiler and -O2)
if [ -x "$B/fuzz_api_replay" ]; then
  n=$(find "$B/corpus" -type f | wc -l)
  if (find "$B/corpus" -type f -print0 | timeout 300 xargs -0 -r -n 500 "$B/fuzz_api_replay" >"$B/replay-corpus.txt" 2>&1) 2>/dev/null; then
    pass "corpus of $n units replays clean in the $CC -O2 build"
  else
    fail "corpus replay in the $CC -O2 build"; tail -n 20 "$B/replay-corpus.txt" | sed 's/^/    /'
  fi
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

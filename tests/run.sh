#!/usr/bin/env bash
# tests/run.sh: build and run every test; `make test` calls it. Each test program prints
# "N passed, N failed"; this script adds them up, counts each build and each script check as
# one more, and ends with the total on one line. Quick mode (QUICK=1) skips the page-size
# matrix and the sanitizer builds.
set -u
cd "$(dirname "$0")/.."
B=build/tests
mkdir -p "$B"
CC=${CC:-gcc}
CXX=${CXX:-g++}
WARN="-Wall -Wextra -Werror"
STB=-I/usr/include/stb
PASSED=0
FAILED=0
LOG="$B/log.txt"
: >"$LOG"

# one check that passes when the command exits 0
check() {
  local name=$1
  shift
  if "$@" >>"$LOG" 2>&1; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    echo "FAIL $name (command: $*)"
    tail -n 20 "$LOG" | sed 's/^/    /'
  fi
}

# run a test program; add up its closing "N passed, N failed" line (a crash is a failure)
run() {
  local name=$1
  shift
  local out="$B/$name.out"
  timeout 600 "$@" >"$out" 2>&1
  local rc=$?
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    FAILED=$((FAILED + 1))
    echo "FAIL $name: no result line (exit $rc)"
    tail -n 20 "$out" | sed 's/^/    /'
    return
  fi
  local p=${line%% passed*}
  local f=${line#*, }
  f=${f%% failed*}
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    FAILED=$((FAILED + 1))
    echo "FAIL $name: exit $rc after $line"
  fi
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name: $line"
    grep -E '^FAIL' "$out" | head -n 20 | sed 's/^/    /'
  else
    echo "ok   $name: $line"
  fi
}

# build a test from tests/NAME.c with extra flags into $B/NAME-TAG, then run it with args
build_run() {
  local name=$1 tag=$2 flags=$3
  shift 3
  local exe="$B/$name-$tag"
  # shellcheck disable=SC2086
  if $CC -std=gnu11 -O2 -g $WARN $flags $STB -o "$exe" "tests/$name.c" -pthread >>"$LOG" 2>&1; then
    PASSED=$((PASSED + 1))
    run "$name-$tag" "$exe" "$@"
  else
    FAILED=$((FAILED + 1))
    echo "FAIL build $name-$tag"
    tail -n 20 "$LOG" | sed 's/^/    /'
  fi
}

echo "== the shipped header and the generated table are current"
check amalgamate python3 amalgamate.py --check
check sizeclasses python3 tools/mksizeclasses.py --check

echo "== compile-only: C11 (gcc, clang), C++17 (g++, clang++), with and without the implementation"
for cc in gcc clang; do
  for impl in "" -DWITH_IMPLEMENTATION; do
    check "compile $cc $impl" $cc -std=c11 -Wall -Wextra -Wpedantic -Werror $impl -c tests/compile_only.c -o "$B/c.o"
  done
done
# and every option that changes what is compiled
for opt in -DSEGALLOC_DEBUG=1 -DSEGALLOC_VALGRIND=1 -DSEGALLOC_CHECKS=0 -DSEGALLOC_MADV_FREE -DSEGALLOC_STATIC \
           -DSEGALLOC_OVERRIDE "-DSEGALLOC_OVERRIDE -DSEGALLOC_OVERRIDE_NEW -fexceptions" "-DSEGALLOC_OVERRIDE -DSEGALLOC_OVERRIDE_NEW -fexceptions -DSEGALLOC_DEBUG=1" \
           "-DSEGALLOC_PAGE_SIZE=65536 -DSEGALLOC_ARENA_SIZE=1048576" -DSEGALLOC_RELEASE_DELAY_MS=0 -DSEGALLOC_THP=2; do
  for cc in gcc clang; do
    check "compile $cc $opt" $cc -std=c11 -Wall -Wextra -Wpedantic -Werror -DWITH_IMPLEMENTATION $opt -c tests/compile_only.c -o "$B/c.o"
  done
  check "compile g++ $opt" g++ -std=c++17 -Wall -Wextra -Werror -DWITH_IMPLEMENTATION $opt -c tests/compile_only.cpp -o "$B/cpp.o"
done
for cxx in g++ clang++; do
  for impl in "" -DWITH_IMPLEMENTATION "-DWITH_IMPLEMENTATION -DSEGALLOC_OVERRIDE" "-DWITH_IMPLEMENTATION -DSEGALLOC_OVERRIDE -DSEGALLOC_STATIC" \
              "-DWITH_IMPLEMENTATION -DSEGALLOC_OVERRIDE -fno-exceptions"; do
    check "compile $cxx $impl" $cxx -std=c++17 -Wall -Wextra -Werror $impl -c tests/compile_only.cpp -o "$B/cpp.o"
  done
done

echo "== unit, API and stress tests at the default configuration"
build_run test_sizeclass default ""
build_run test_pageheap default ""
build_run test_api default ""
build_run test_stress default "" 4 10 60
build_run test_api nochecks "-DSEGALLOC_CHECKS=0"
build_run test_api release0 "-DSEGALLOC_RELEASE_DELAY_MS=0"
build_run test_api debug "-DSEGALLOC_DEBUG=1"
build_run test_stress debug "-DSEGALLOC_DEBUG=1" 4 5 30
build_run test_decay default ""
build_run test_stats default ""
build_run test_metafail default ""
build_run test_adopt default ""
build_run test_fork_init default ""

echo "== transparent huge pages: SEGALLOC_THP from the environment, and as a macro"
unset SEGALLOC_THP # the runs without the variable must not inherit one
build_run test_thp default "" system
for mode in never system always; do
  run "test_thp-env-$mode" env SEGALLOC_THP=$mode "$B/test_thp-default" $mode
done
run test_thp-env-2 env SEGALLOC_THP=2 "$B/test_thp-default" always
run test_thp-env-bogus env SEGALLOC_THP=sometimes "$B/test_thp-default" system
build_run test_thp macro0 "-DSEGALLOC_THP=0" never
run test_thp-macro0-env env SEGALLOC_THP=always "$B/test_thp-macro0" always

if [ "${QUICK:-0}" != 1 ]; then
  echo "== every supported page size, and the smallest arena"
  for ps in 4096 16384 32768 65536; do
    build_run test_sizeclass "page$ps" "-DSEGALLOC_PAGE_SIZE=$ps"
    build_run test_pageheap "page$ps" "-DSEGALLOC_PAGE_SIZE=$ps"
    build_run test_api "page$ps" "-DSEGALLOC_PAGE_SIZE=$ps"
    build_run test_stress "page$ps" "-DSEGALLOC_PAGE_SIZE=$ps" 3 5 30
  done
  build_run test_pageheap arena1m "-DSEGALLOC_ARENA_SIZE=(1u<<20) -DSEGALLOC_RETAIN_BYTES=(1u<<17)"
  # the largest arena: page offsets reach 2^32, where the small map's biases wrap
  build_run test_pageheap arena4g "-DSEGALLOC_PAGE_SIZE=4096 -DSEGALLOC_ARENA_SIZE=4294967296ull"
  build_run test_api arena1m "-DSEGALLOC_ARENA_SIZE=(1u<<20)"
  build_run test_stress arena1m "-DSEGALLOC_ARENA_SIZE=(1u<<20) -DSEGALLOC_PAGE_SIZE=65536" 3 5 30
  # a page size outside the supported set must stop the build, naming the macro
  if $CC -std=c11 -DSEGALLOC_PAGE_SIZE=12288 -c tests/compile_only.c -DWITH_IMPLEMENTATION -o "$B/bad.o" >"$B/bad.txt" 2>&1; then
    FAILED=$((FAILED + 1)); echo "FAIL: SEGALLOC_PAGE_SIZE=12288 compiled"
  else
    check "page size #error" grep -q "SEGALLOC_PAGE_SIZE must be a power of two" "$B/bad.txt"
  fi
  if $CC -std=c11 "-DSEGALLOC_ARENA_SIZE=(3u<<20)" -c tests/compile_only.c -DWITH_IMPLEMENTATION -o "$B/bad.o" >"$B/bad.txt" 2>&1; then
    FAILED=$((FAILED + 1)); echo "FAIL: SEGALLOC_ARENA_SIZE=3 MiB compiled"
  else
    check "arena size #error" grep -q "SEGALLOC_ARENA_SIZE must be a power of two" "$B/bad.txt"
  fi

  echo "== sanitizers: ASan+UBSan on every test, TSan on the threaded ones"
  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  build_run test_sizeclass asan "$SAN"
  build_run test_pageheap asan "$SAN"
  build_run test_api asan "$SAN"
  # stb_ds's byte hash shifts into an int's sign bit (UB that UBSan reports): the stress
  # test, which uses it for its shadow maps, is built without that one check
  build_run test_stress asan "$SAN -fno-sanitize=shift-base" 4 5 40
  build_run test_stress tsan "-fsanitize=thread" 4 5 40
  build_run test_api tsan "-fsanitize=thread"
  build_run test_decay asan "$SAN"
  build_run test_decay tsan "-fsanitize=thread"
  build_run test_stats asan "$SAN"
  build_run test_stats tsan "-fsanitize=thread"
  build_run test_metafail asan "$SAN" # (not TSan: the test's own mmap bypasses its interceptor)
  build_run test_adopt asan "$SAN"
  build_run test_adopt tsan "-fsanitize=thread"
fi

for extra in tests/run_*.sh; do
  [ -e "$extra" ] || continue
  echo "== $extra"
  # each extra script prints its own PASS/FAIL lines and a closing count line
  out="$B/$(basename "$extra" .sh).out"
  bash "$extra" >"$out" 2>&1
  rc=$?
  grep -E '^(FAIL|PASS|ok)' "$out" | sed 's/^/  /'
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    FAILED=$((FAILED + 1)); echo "FAIL $extra: no result line (exit $rc)"; tail -n 20 "$out"
  else
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then FAILED=$((FAILED + 1)); echo "FAIL $extra: exit $rc"; fi
  fi
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

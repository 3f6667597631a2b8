#!/usr/bin/env bash
# tests/coverage.sh: which lines of segalloc.h's implementation the tests execute.
# Builds the tests at the default configuration with gcc --coverage -O0, runs each with the
# arguments tests/run.sh (or run_faults.sh, run_preload.sh, run_misuse.sh) gives it, and
# reports per part of the header (tools/covreport.py), twice:
#   core  the unit, API, stress, decay, stats, fault and fork tests (tests/test_*.c that
#         exercise the allocator's logic)
#   all   core plus the tests of other concerns that reach more of it: test_thp (the
#         SEGALLOC_THP settings), misuse.c (each misuse case stops the program), and
#         test_override (the standard names, compiled in)
#   bash tests/coverage.sh          report in build/coverage/report.txt (--lines detail in
#                                   build/coverage/lines-core.txt and lines-all.txt)
# Needs gcovr (Debian: apt-get install gcovr). Not part of `make test`: it is slow (-O0, the
# fault modes under their ulimits). Runs no benchmark and changes no system setting.
set -u
cd "$(dirname "$0")/.."
B=build/coverage
rm -rf "$B"
mkdir -p "$B/core" "$B/more"
CC=${CC:-gcc}
CF="-std=gnu11 -O0 -g --coverage -I/usr/include/stb -Wall -Wextra"
FAILS=0

# fork's children leave with _exit, and misuse cases with abort(), both of which skip
# gcov's write-out at exit: wrap them so that what such a process ran is counted too (not
# in test_fork's signal modes, whose children _exit from a signal handler that may have
# interrupted segalloc, where the write-out's own malloc would stop them). And fork is
# not taken for the builtin: gcov would swap in its own fork, which zeroes the child's
# counters after the atfork child handlers have run.
cat >"$B/gcov_exit.c" <<'C'
extern void __gcov_dump(void);
extern void __real__exit(int);
extern void __real_abort(void);
void __wrap__exit(int code) { __gcov_dump(); __real__exit(code); }
void __wrap_abort(void) { __gcov_dump(); __real_abort(); }
C
WRAP="$B/gcov_exit.c -Wl,--wrap=_exit -Wl,--wrap=abort -fno-builtin-fork"

# build DIR SOURCE EXE [flags...]: tests/SOURCE into $B/DIR/EXE
build() {
  local dir=$1 src=$2 exe=$3
  shift 3
  # shellcheck disable=SC2086
  $CC $CF "$@" -o "$B/$dir/$exe" "tests/$src" -pthread -ldl >>"$B/build.log" 2>&1 ||
    { echo "build $exe failed (see $B/build.log)"; FAILS=$((FAILS + 1)); return 1; }
}

# go TAG LIMIT_KIB|none COMMAND...: run one, report its closing line
go() {
  local tag=$1 limit=$2
  shift 2
  if [ "$limit" = none ]; then
    timeout 600 "$@" >"$B/$tag.out" 2>&1
  else
    # shellcheck disable=SC2016
    timeout 600 bash -c 'ulimit -v "$1"; shift; exec "$@"' _ "$limit" "$@" >"$B/$tag.out" 2>&1
  fi
  local rc=$?
  echo "$tag: exit $rc, $(grep -E '^[0-9]+ passed, [0-9]+ failed' "$B/$tag.out" | tail -n 1)"
}

echo "== core"
for t in test_sizeclass test_pageheap test_api test_stats test_metafail test_adopt; do
  [ -f tests/$t.c ] || continue # (so that the script also measures older trees)
  flags=""
  [ $t = test_adopt ] && flags=$WRAP # its fork children _exit
  # shellcheck disable=SC2086
  build core $t.c $t $flags && go $t none "$B/core/$t"
done
build core test_stress.c test_stress && go test_stress none "$B/core/test_stress" 4 10 60
build core test_decay.c test_decay && go test_decay none "$B/core/test_decay"
if build core test_faults.c test_faults $WRAP; then
  go "faults-oom-512M" 524288 "$B/core/test_faults" oom
  go "faults-oom-110M" 112640 "$B/core/test_faults" oom
  go "faults-threadfail" 1048576 "$B/core/test_faults" threadfail
  for m in fork storm firstcall; do go "faults-$m" none "$B/core/test_faults" $m; done
fi
if build core test_fork.c test_fork -DOVERRIDE_COMPILED_IN -fno-builtin-fork &&
   build core test_fork.c test_fork-wrap -DOVERRIDE_COMPILED_IN $WRAP; then
  for m in threads stdio; do go "fork-$m" none env FORK_TEST_SECONDS=1 "$B/core/test_fork-wrap" $m; done
  for m in signal signal-nested signal-malloc signal-thread; do
    go "fork-$m" none env FORK_TEST_SECONDS=1 "$B/core/test_fork" $m
  done
fi

echo "== more"
if build more test_thp.c test_thp; then
  unset SEGALLOC_THP # the runs without the variable must not inherit one
  go thp-system none "$B/more/test_thp" system
  for mode in never system always; do go "thp-env-$mode" none env SEGALLOC_THP=$mode "$B/more/test_thp" $mode; done
  go thp-env-bogus none env SEGALLOC_THP=sometimes "$B/more/test_thp" system
fi
build more test_override.c test_override -DOVERRIDE_COMPILED_IN && go override none "$B/more/test_override"
if build more misuse.c misuse $WRAP; then
  n=0
  { # (bash would report each expected abort)
    for c in $("$B/more/misuse" list); do
      (timeout 30 "$B/more/misuse" "$c" >"$B/misuse-$c.out" 2>&1; exit $?)
      n=$((n + 1))
    done
  } 2>/dev/null
  echo "misuse: $n cases run (run_misuse.sh judges them; here only their coverage counts)"
fi

report() { # NAME DIRS...
  local name=$1
  shift
  # (a fork's child writes the counters it inherited too, so a call can seem to return
  # more often than it was made; gcov then prints a line gcovr cannot parse)
  gcovr --root . --filter 'segalloc\.h' --gcov-ignore-parse-errors --json "$B/$name.json" "$@" >"$B/gcovr-$name.log" 2>&1 ||
    { echo "gcovr failed"; cat "$B/gcovr-$name.log"; exit 1; }
  echo "== coverage: $name"
  python3 tools/covreport.py "$B/$name.json" segalloc.h
  python3 tools/covreport.py "$B/$name.json" segalloc.h --lines >"$B/lines-$name.txt"
}
{ report core "$B/core"; report all "$B/core" "$B/more"; } | tee "$B/report.txt"
[ "$FAILS" -eq 0 ]

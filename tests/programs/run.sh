#!/usr/bin/env bash
# tests/programs/run.sh - run real programs on segalloc (issue 3).
#
#   bash tests/programs/run.sh [path/to/libsegalloc.so]     (default: build/libsegalloc.so)
#
# Each program runs twice, plain and with LD_PRELOAD=<lib> SEGALLOC_SHOW_STATS=1 (the two
# runs of a pair run at the same time, one per core). Two checks per program:
#   NAME              both runs succeed and their results (output, object file, ...) agree
#   NAME-on-segalloc  the preloaded run printed segalloc's exit report on stderr (a line
#                     starting "segalloc" and containing "stats") with "mallocs N" above a
#                     threshold for that program; for programs that start children (the
#                     gcc driver) at least one process's report must pass.
# stderr (where the reports go) is kept apart from the output that is compared.
#
# Output: "PASS name" or "FAIL name: reason" per check, then "N passed, N failed".
# Exit status 0 iff nothing failed. Missing programs are installed with apt-get (Debian).
# Logs: kept in a directory named in the FAIL reasons when something fails; set
# PROGRAMS_KEEP=1 to keep them always, PROGRAMS_VERBOSE=1 to print "# " lines with the
# mallocs counts and the time each pair took.
set -u
ulimit -c 0 2>/dev/null

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/programs
LIB=${1:-build/libsegalloc.so}
case $LIB in
  /*) ;;
  *) if [ -e "$LIB" ]; then LIB=$(pwd)/$LIB; else LIB=$ROOT/$LIB; fi ;;
esac

W=$(mktemp -d "${TMPDIR:-/tmp}/segalloc-programs.XXXXXX")
export LC_ALL=C
unset LD_PRELOAD SEGALLOC_SHOW_STATS PYTHONMALLOC PYTHONHASHSEED

npass=0
nfail=0
pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2 (logs: $W)"; nfail=$((nfail + 1)); }
info() { if [ "${PROGRAMS_VERBOSE:-0}" = 1 ]; then echo "# $*"; fi; }

finish() {
  echo "$npass passed, $nfail failed"
  rm -f "$W"/big.txt "$W"/*/sorted.out
  if [ "$nfail" -eq 0 ] && [ "${PROGRAMS_KEEP:-0}" != 1 ]; then rm -rf "$W"; fi
  [ "$nfail" -eq 0 ]
  exit
}

if [ ! -f "$LIB" ]; then
  fail library "preload library not found: $LIB (run make preload)"
  finish
fi
# every run uses this copy, even if the library is rebuilt while the script runs
cp "$LIB" "$W/lib-under-test.so" || { fail library "cannot copy $LIB"; finish; }
LIB=$W/lib-under-test.so

# --- tools -------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {  # apt_install pkg...
  command -v apt-get >/dev/null || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$W/apt.log" 2>&1 && return 0
  if [ $APT_UPDATED = 0 ]; then
    APT_UPDATED=1
    apt-get update -q >>"$W/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$W/apt.log" 2>&1 && return 0
  fi
  return 1
}
need() {  # need command package: install package if command is missing
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
  command -v "$1" >/dev/null 2>&1
}

# Debian's python (the python3 on PATH may be a pyenv build)
PY=/usr/bin/python3
[ -x $PY ] || apt_install python3
need timeout coreutils; need md5sum coreutils; need awk mawk

# --- running -----------------------------------------------------------------------------
# run_variant NAME plain|pre TIMEOUT cmd...   (stdin from $STDIN, default /dev/null)
# Runs in $W/NAME.VARIANT/ as cwd; writes out, err, rc there.
run_variant() {
  local name=$1 v=$2 t=$3; shift 3
  local d=$W/$name.$v
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    if [ "$v" = pre ]; then
      exec timeout -k 5 "$t" env LD_PRELOAD="$LIB" SEGALLOC_SHOW_STATS=1 "$@" \
        <"${STDIN:-/dev/null}" >out 2>err
    else
      exec timeout -k 5 "$t" "$@" <"${STDIN:-/dev/null}" >out 2>err
    fi
  )
  echo $? >"$d/rc"
}
# run_pair NAME TIMEOUT cmd...: the plain and the preloaded run, concurrently
run_pair() {
  local name=$1 t=$2 start=$SECONDS; shift 2
  rm -rf "$W/$name.plain" "$W/$name.pre"
  run_variant "$name" plain "$t" "$@" 2>/dev/null &
  local p1=$!
  run_variant "$name" pre "$t" "$@" 2>/dev/null &
  local p2=$!
  wait $p1 $p2
  info "$name: ran in $((SECONDS - start)) s"
}

# describe NAME VARIANT: "" if the run exited 0, else how it ended
describe() {
  local d=$W/$1.$2 rc last v=plain
  [ "$2" = pre ] && v=preloaded
  rc=$(cat "$d/rc" 2>/dev/null || echo 255)
  [ "$rc" = 0 ] && return 0
  # the most telling stderr line: segalloc's own message, a fatal error, else the last line
  last=$(grep -v -E '^segalloc.*stats|^[[:space:]]' "$d/err" 2>/dev/null |
    awk '/segalloc/ { s = $0 } /Fatal Python error|internal compiler error/ { f = $0 }
         /[Ee]rror|[Ff]ault|[Aa]bort|[Aa]ssert|[Kk]illed/ { e = $0 } { l = $0 }
         END { print (s != "" ? s : f != "" ? f : e != "" ? e : l) }' | cut -c1-200)
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    printf '%s run timed out (rc %s)' "$v" "$rc"
  elif [ "$rc" -gt 128 ]; then
    printf '%s run killed by SIG%s (rc %s)' "$v" "$(kill -l $((rc - 128)) 2>/dev/null)" "$rc"
  else
    printf '%s run exited %s' "$v" "$rc"
  fi
  [ -n "$last" ] && printf '; stderr: %s' "$last"
}

# both_ok NAME: prints the reason (and fails) unless both runs exited 0
both_ok() {
  local a b
  a=$(describe "$1" plain); b=$(describe "$1" pre)
  if [ -n "$a$b" ]; then
    echo "${a}${a:+${b:+; }}${b}"
    return 1
  fi
}

# check_same NAME [FILE]: both runs ok and FILE (default out) identical in the two
check_same() {
  local name=$1 f=${2:-out} why
  if ! why=$(both_ok "$name"); then fail "$name" "$why"; return; fi
  if [ ! -s "$W/$name.plain/$f" ]; then fail "$name" "plain run produced no $f"; return; fi
  if ! [ -f "$W/$name.pre/$f" ]; then fail "$name" "preloaded run produced no $f"; return; fi
  if cmp -s "$W/$name.plain/$f" "$W/$name.pre/$f"; then
    pass "$name"
  else
    local a b
    a=$(md5sum <"$W/$name.plain/$f" | cut -c1-32); b=$(md5sum <"$W/$name.pre/$f" | cut -c1-32)
    fail "$name" "$f differs: plain md5 $a, preloaded md5 $b"
  fi
}

# check_segalloc NAME THRESHOLD [HINT]: the preloaded run's stderr holds segalloc's
# report(s); HINT is added to the reason when the report is missing from a clean run
check_segalloc() {
  local name=$1 min=$2 hint=${3:-} err=$W/$1.pre/err nrep max d
  nrep=$(grep -c -E '^segalloc.*stats' "$err" 2>/dev/null)
  max=$(sed -n -E 's/^[[:space:]]*mallocs[[:space:]]+([0-9]+).*/\1/p' "$err" 2>/dev/null |
    sort -n | tail -n 1)
  info "$name: $nrep report(s), max mallocs ${max:-none}"
  if [ "${nrep:-0}" -eq 0 ]; then
    d=$(describe "$name" pre)
    [ -z "$d" ] && d=$hint
    fail "$name-on-segalloc" "no segalloc stats report on stderr of the preloaded run${d:+ ($d)}"
  elif [ -z "$max" ]; then
    fail "$name-on-segalloc" "$nrep report(s) but no 'mallocs N' line"
  elif [ "$max" -le "$min" ]; then
    fail "$name-on-segalloc" "mallocs $max <= $min ($nrep report(s)): segalloc served too little"
  else
    pass "$name-on-segalloc"
  fi
}

# --- 1. python ---------------------------------------------------------------------------
if [ -x $PY ]; then
  # default allocator: pymalloc takes small objects from its own arenas
  run_pair python-workload 90 $PY "$HERE/workload.py"
  check_same python-workload
  check_segalloc python-workload 1000
  # PYTHONMALLOC=malloc: every object is a malloc/free
  run_pair python-workload-malloc 90 env PYTHONMALLOC=malloc $PY "$HERE/workload.py"
  check_same python-workload-malloc
  check_segalloc python-workload-malloc 1000000

  # CPython's own regression tests (Debian: libpython3.X-testsuite)
  pyver=$($PY -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  $PY -c 'import test.libregrtest' 2>/dev/null || apt_install "libpython$pyver-testsuite"
  MODULES="test_list test_dict test_set test_string test_unicode test_bytes test_re
           test_collections test_deque test_sort test_functools test_json test_thread
           test_threading_local test_ordered_dict test_struct test_fstring test_gc
           test_memoryview"
  if $PY -c 'import test.libregrtest' 2>/dev/null; then
    # shellcheck disable=SC2086
    run_pair python-regrtest 150 env PYTHONMALLOC=malloc $PY "$HERE/pyregrtest.py" \
      -W --timeout 100 $MODULES
    if why=$(both_ok python-regrtest); then
      if grep -q 'Tests result: SUCCESS' "$W/python-regrtest.plain/out" &&
         grep -q 'Tests result: SUCCESS' "$W/python-regrtest.pre/out"; then
        pass python-regrtest
      else
        fail python-regrtest "no 'Tests result: SUCCESS'"
      fi
    else
      res=$(grep -h -E '^[0-9]+ tests? failed|^Tests result' "$W/python-regrtest.pre/out" | tr '\n' ' ')
      fail python-regrtest "$why${res:+; preloaded: $res}"
    fi
    check_segalloc python-regrtest 1000000
  else
    fail python-regrtest "CPython's test package is missing (apt-get install libpython$pyver-testsuite failed)"
  fi
else
  fail python-workload "/usr/bin/python3 missing and could not be installed"
fi

# --- 2. sqlite3 --------------------------------------------------------------------------
if need sqlite3 sqlite3 && [ -x $PY ]; then
  $PY "$HERE/gen_sql.py" >"$W/workload.sql"
  STDIN=$W/workload.sql run_pair sqlite3 90 sqlite3 -bail test.db
  check_same sqlite3
  check_segalloc sqlite3 100000
else
  fail sqlite3 "sqlite3 (or python3 for the generator) missing and could not be installed"
fi

# --- 3. sort -----------------------------------------------------------------------------
# ~64 MB of lines from a fixed-seed generator; both runs of a pair sort the same file.
awk 'BEGIN { srand(12345);
  for (i = 0; i < 1700000; i++)
    printf "%08x,%d,%s %d\n", int(rand() * 4294967295), int(rand() * 1000000),
      substr("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda",
             1 + int(rand() * 40), 8 + int(rand() * 12)), i }' >"$W/big.txt"
# small buffer: many temporary files and merge passes
run_pair sort 90 sort -S 256K -T . -o sorted.out "$W/big.txt"
check_same sort sorted.out
SORT_HINT="note: sort closes fd 2 itself before exit (gnulib close_stdout), so the report must go to a dup of stderr made at startup"
check_segalloc sort 1000 "$SORT_HINT"
# a buffer big enough for sort's threads to be used; numeric key
run_pair sort-parallel 90 sort -S 16M --parallel=2 -t, -k2,2n -k1,1 -T . -o sorted.out "$W/big.txt"
check_same sort-parallel sorted.out
check_segalloc sort-parallel 50 "$SORT_HINT"
rm -f "$W/big.txt" "$W"/sort*/sorted.out

# --- 4 and 5. C++ threads; g++ and gcc on segalloc -------------------------------------
if need g++ g++ && need gcc gcc; then
  # g++ building the C++ workload: the two binaries must be identical
  run_pair g++-build 120 g++ -O2 -pthread -o cxx_threads "$HERE/cxx_threads.cpp"
  check_same g++-build cxx_threads
  check_segalloc g++-build 100000
  if [ -x "$W/g++-build.plain/cxx_threads" ]; then
    run_pair cxx-threads 90 "$W/g++-build.plain/cxx_threads" 3
    check_same cxx-threads
    check_segalloc cxx-threads 100000
  else
    fail cxx-threads "could not build tests/programs/cxx_threads.cpp (see $W/g++-build.plain/err)"
  fi

  # gcc -O2 compiling and linking a generated C file (driver, cc1, as, collect2, ld):
  # the executables must be identical, and so must their output
  if [ -x $PY ]; then
    $PY "$HERE/gen_c.py" 300 >"$W/gen.c"
    run_pair gcc-O2 120 gcc -O2 -o gen "$W/gen.c"
    check_same gcc-O2 gen
    check_segalloc gcc-O2 100000
    if [ -x "$W/gcc-O2.pre/gen" ] && [ -x "$W/gcc-O2.plain/gen" ]; then
      a=$(timeout 30 "$W/gcc-O2.plain/gen" | md5sum); b=$(timeout 30 "$W/gcc-O2.pre/gen" | md5sum)
      if [ "$a" = "$b" ] && timeout 30 "$W/gcc-O2.plain/gen" | grep -q '^checksum '; then
        pass gcc-O2-output
      else
        fail gcc-O2-output "the program built on segalloc prints something else"
      fi
    else
      fail gcc-O2-output "no executable from the plain or the preloaded gcc"
    fi
  else
    fail gcc-O2 "python3 (for the generator) missing"
  fi
else
  fail cxx-threads "g++/gcc missing and could not be installed"
fi

finish

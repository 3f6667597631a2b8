#!/usr/bin/env bash
# tests/run_misuse.sh: heap misuse must be stopped. Each case of tests/misuse.c commits one
# error in a child process; segalloc must print
#     segalloc: error: <what>: pointer 0x<hex>
# on stderr and abort(): the child must die of SIGABRT (exit 134), and stderr must name
# segalloc, describe the error and give the address the program printed before the bad call.
# The control cases do nothing wrong and must exit 0 (among them: free(NULL) as a thread's
# first call, and realloc of a large block whose unwritten bytes hold stale free marks).
#
# Four builds: the header compiled in (default configuration), the header with 64 KiB pages
# and 1 MiB arenas, the header with SEGALLOC_DEBUG (a few cases, one of which only its
# slow-path free stops), and the standard names under LD_PRELOAD=build/libsegalloc.so.
# Run from anywhere: bash tests/run_misuse.sh. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
B=build/misuse
mkdir -p "$B"
CC=${CC:-cc}
PASSED=0
FAILED=0
ulimit -c 0 2>/dev/null # the aborts are expected: no core files

pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# what segalloc's message must say for each case
expect_for() {
  case $1 in
    control*) echo "" ;;
    double-free-*) echo "double free" ;;
    free-stack | free-mmap* | *-arena-unused | realloc-stack) echo "does not own" ;;
    free-inside-* | realloc-inside-*) echo "inside a block" ;;
    free-past-* | free-uncarved-*) echo "does not own" ;;
    realloc-freed-*) echo "double free|freed block|use after free" ;;
    *) echo "?" ;;
  esac
}

# run_case TAG EXE CASE [env...]: run one case and judge it
run_case() {
  local tag=$1 exe=$2 name=$3
  shift 3
  local out="$B/$tag-$name.out" err="$B/$tag-$name.err"
  # in a subshell whose stderr is discarded: bash reports "Aborted" for each expected abort
  (env "$@" timeout 30 "$exe" "$name" >"$out" 2>"$err"; exit $?) 2>/dev/null
  local rc=$?
  local want
  want=$(expect_for "$name")
  case $name in control*)
    if [ "$rc" -eq 0 ] && grep -q "control: ok" "$out"; then
      pass "$tag $name: exit 0"
    else
      local how="exit $rc"
      [ "$rc" -gt 128 ] && how="$how (signal $((rc - 128)))"
      fail "$tag $name: $how, expected exit 0"
      sed 's/^/    /' "$err" | head -n 5
    fi
    return ;;
  esac
  local ptr
  ptr=$(sed -n 's/^pointer \(0x[0-9a-f]*\)$/\1/p' "$out" | tail -n 1)
  local msg
  msg=$(grep -E '^segalloc: error: ' "$err" | head -n 1)
  local why=""
  if [ "$rc" -ne 134 ]; then
    why="exit $rc, expected 134 (SIGABRT)"
    [ "$rc" -gt 128 ] && why="exit $rc (signal $((rc - 128))), expected 134 (SIGABRT)"
  fi
  if [ -z "$ptr" ]; then
    why="${why:+$why; }the program printed no pointer"
  elif [ -z "$msg" ]; then
    why="${why:+$why; }no 'segalloc: error:' line on stderr"
  else
    echo "$msg" | grep -qE "$want" || why="${why:+$why; }message does not say '$want'"
    # the address in full, at the end of the line (so 0x1234 does not match 0x12345)
    echo "$msg" | grep -qE ": pointer $ptr\$" || why="${why:+$why; }message does not give pointer $ptr"
  fi
  if [ -z "$why" ]; then
    pass "$tag $name: $msg"
  else
    fail "$tag $name: $why"
    if grep -q '^survived' "$out"; then echo "    (the bad call returned: the program went on)"; fi
    [ -n "$msg" ] && echo "    stderr: $msg"
    [ -n "$ptr" ] && echo "    stdout: pointer $ptr"
  fi
}

# build TAG FLAGS...: compile tests/misuse.c (a build is one check)
build() {
  local tag=$1
  shift
  if $CC -std=gnu11 -O2 -g -Wall -Wextra -Werror "$@" -o "$B/misuse-$tag" tests/misuse.c -pthread >"$B/build-$tag.txt" 2>&1; then
    pass "build misuse-$tag"
    return 0
  fi
  fail "build misuse-$tag ($CC $*)"
  sed 's/^/    /' "$B/build-$tag.txt" | head -n 20
  return 1
}

echo "== the header compiled in, default configuration"
if build default; then
  for c in $("$B/misuse-default" list); do run_case default "$B/misuse-default" "$c"; done
fi

echo "== the header compiled in, 64 KiB pages and 1 MiB arenas (huge from 512 KiB)"
if build small-arena -DSEGALLOC_PAGE_SIZE=65536 "-DSEGALLOC_ARENA_SIZE=(1u<<20)"; then
  for c in $("$B/misuse-small-arena" list); do run_case small-arena "$B/misuse-small-arena" "$c"; done
fi

echo "== the header compiled in, SEGALLOC_DEBUG (its free checks every block the slow way)"
if build debug -DSEGALLOC_DEBUG=1; then
  for c in free-uncarved-small free-past-span-end double-free-small free-inside-small-16; do
    run_case debug "$B/misuse-debug" "$c"
  done
fi

echo "== the standard names under LD_PRELOAD=build/libsegalloc.so"
if [ ! -f build/libsegalloc.so ] || [ segalloc.h -nt build/libsegalloc.so ]; then
  make -s preload >"$B/make-preload.txt" 2>&1 || { fail "make preload"; sed 's/^/    /' "$B/make-preload.txt" | head -n 20; }
fi
if [ -f build/libsegalloc.so ] && build std -DUSE_STD_NAMES; then
  LIB=$PWD/build/libsegalloc.so
  for c in control control-free-null-first double-free-small double-free-small-busy double-free-large double-free-huge free-stack \
           free-mmap free-inside-small-16 free-inside-large realloc-stack realloc-inside-small; do
    run_case preload "$B/misuse-std" "$c" LD_PRELOAD="$LIB"
  done
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

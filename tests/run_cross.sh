#!/usr/bin/env bash
# tests/run_cross.sh: the tests built for aarch64 (GCC's and Clang's cross compilers) and run
# under qemu-user, so a compiler's or a weakly ordered target's view of the code is tried as
# well as x86-64's. GCC 12 for aarch64 once dropped every call to segalloc__tcache_flush_all
# (tcache.c says how): thread exit, segalloc_thread_flush and segalloc_trim then flushed
# nothing, which test_pageheap and test_decay report here and no x86-64 build showed.
#
# Run: test_sizeclass, test_pageheap, test_decay, test_metafail, test_adopt and test_stress,
# with every check they make; four of them again told of 16 and 64 KiB OS pages (qemu's
# -p), as some arm64 kernels have, where segalloc used to stop at its first allocation. Not run here: test_api, whose huge-block check needs the
# kernel's reuse of freed address ranges (qemu-user places each new mapping past the last),
# and test_stats, which re-executes /proc/self/exe (qemu's own binary under qemu-user);
# both run natively in tests/run.sh. qemu emulates the instructions, not the memory model
# of an aarch64 machine, so races that only weak ordering exposes are not tried.
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (tests/setup.sh).
# Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
B=build/cross
mkdir -p "$B"
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
FLAGS="-std=gnu11 -O2 -g -Wall -Wextra -Werror -I/usr/include/stb"

# build tests/NAME.c for aarch64 with compiler COMP (gcc or clang) and extra flags, as TAG
build() { # comp tag name flags
  local comp=$1 tag=$2 name=$3 flags=$4 exe="$B/$3-$2"
  # shellcheck disable=SC2086
  if [ "$comp" = clang ]; then
    clang --target=aarch64-linux-gnu $FLAGS $flags -c -o "$exe.o" "tests/$name.c" >"$exe.build.txt" 2>&1 &&
      aarch64-linux-gnu-gcc -o "$exe" "$exe.o" -pthread >>"$exe.build.txt" 2>&1
  else
    aarch64-linux-gnu-gcc $FLAGS $flags -o "$exe" "tests/$name.c" -pthread >"$exe.build.txt" 2>&1
  fi
}

# run it under qemu and take its closing line: every check must pass, and it must exit 0.
# OS_PAGE set: the program is told of OS pages of that many bytes (qemu's -p).
OS_PAGE=
run() { # tag name args...
  local tag=$1 name=$2 exe="$B/$2-$1" out="$B/$2-$1${OS_PAGE:+.p$OS_PAGE}.out" how="aarch64 under qemu"
  shift 2
  [ -n "$OS_PAGE" ] && how="$how, $OS_PAGE-byte OS pages"
  timeout 600 qemu-aarch64 ${OS_PAGE:+-p "$OS_PAGE"} "$exe" "$@" >"$out" 2>&1
  local rc=$? line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -n "$line" ] && [ "${line#*, }" = "0 failed" ] && [ $rc -eq 0 ]; then
    pass "$name ($tag, $how): $line"
  else
    fail "$name ($tag, $how): ${line:-no result line} (exit $rc)"
    grep -E '^FAIL|segalloc: error' "$out" | head -n 10 | sed 's/^/    /'
  fi
}

for comp in gcc clang; do
  for spec in "test_sizeclass" "test_pageheap" "test_decay" "test_metafail" "test_adopt" "test_stress 4 5 30"; do
    name=${spec%% *}
    args=()
    [ "$spec" != "$name" ] && read -r -a args <<<"${spec#* }"
    if build "$comp" "$comp" "$name" ""; then run "$comp" "$name" "${args[@]}"; else fail "build $name ($comp)"; tail -n 20 "$B/$name-$comp.build.txt"; fi
  done
done
# OS pages larger than segalloc's 8 KiB, as arm64 kernels built with 16 KiB (Apple silicon)
# or 64 KiB pages have them: qemu-user's -p sets the page size the program is told of
for OS_PAGE in 16384 65536; do
  for spec in "test_pageheap" "test_decay" "test_adopt" "test_stress 4 5 30"; do
    name=${spec%% *}
    args=()
    [ "$spec" != "$name" ] && read -r -a args <<<"${spec#* }"
    run gcc "$name" "${args[@]}"
  done
done
OS_PAGE=
# the debug build and the one without checks take other paths through the same code
for opt in "debug -DSEGALLOC_DEBUG=1" "nochecks -DSEGALLOC_CHECKS=0"; do
  tag=gcc-${opt%% *}
  for name in test_pageheap test_decay; do
    if build gcc "$tag" "$name" "${opt#* }"; then run "$tag" "$name"; else fail "build $name ($tag)"; tail -n 20 "$B/$name-$tag.build.txt"; fi
  done
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

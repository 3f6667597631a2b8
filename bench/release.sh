#!/usr/bin/env bash
# bench/release.sh: issue 4's figure. Runs bench/release.c (see its opening comment) under
# every allocator, interleaved, ROUNDS times (default 3), and writes the medians to
# bench/release.md. Run from the repository root after `make preload`.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
GIB=${GIB:-1}
cc -O2 -o bench/release bench/release.c -pthread -ldl
. bench/peers.sh
LIB[segalloc]=$PWD/build/libsegalloc.so
NAMES="segalloc glibc jemalloc tcmalloc mimalloc"
tmp=$(mktemp -d)
for r in $(seq "$ROUNDS"); do
  for n in $NAMES; do
    LD_PRELOAD=${LIB[$n]} ./bench/release "$GIB" >>"$tmp/$n"
  done
done
field() { grep -o "$2=[0-9.]*" "$tmp/$1" | cut -d= -f2 | med; }
{
  echo "# Memory back to the OS (bench/release.sh)"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores; $GIB GiB, median of $ROUNDS interleaved runs."
  echo "Reproduce: \`make preload && bash bench/release.sh\`."
  echo
  echo "| allocator | peak RSS MiB | RSS 1 s after free MiB | kept of growth | after malloc_trim MiB | churn round ms |"
  echo "|---|---:|---:|---:|---:|---:|"
  for n in $NAMES; do
    echo "| $n | $(field $n peak_mib) | $(field $n after_1s_mib) | $(field $n kept_of_growth)% | $(field $n after_trim_mib) | $(field $n churn_round_ms) |"
  done
  echo
  echo "kept of growth = (RSS one second after the last free - RSS before) / (peak - RSS before),"
  echo "with the benchmark's own bookkeeping arrays taken out. churn round = the best of 10 rounds"
  echo "that allocate and free the same 20000 mixed-size blocks (the release path must not thrash)."
} >bench/release.md
rm -rf "$tmp"
cat bench/release.md

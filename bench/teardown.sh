#!/usr/bin/env bash
# bench/teardown.sh: the cost of freeing a large heap (bench/teardown.c: N blocks of 64
# bytes allocated in a row, then all freed, in allocation order or at random), under every
# allocator, interleaved, ROUNDS times (default 5). Writes the median ns per free to
# bench/teardown.md. Run from the repository root after `make preload`.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
cc -O2 -o bench/teardown bench/teardown.c
. bench/peers.sh
LIB[segalloc]=$PWD/build/libsegalloc.so
NAMES="segalloc glibc jemalloc tcmalloc mimalloc"
CASES="800000:seq 800000:random 5000000:seq 5000000:random"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$ROUNDS"); do
  for c in $CASES; do
    for n in $NAMES; do
      LD_PRELOAD=${LIB[$n]} ./bench/teardown "${c%%:*}" 64 "${c##*:}" | cut -d= -f2 >>"$tmp/$n-$c"
    done
  done
done
{
  echo "# Freeing a large heap (bench/teardown.sh)"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores; 64-byte blocks, ns per free, median of $ROUNDS interleaved runs."
  echo "Reproduce: \`make preload && bash bench/teardown.sh\`."
  echo
  echo "| blocks | order | $(echo $NAMES | sed 's/ / | /g') |"
  echo "|---:|---|$(for n in $NAMES; do printf -- '---:|'; done)"
  for c in $CASES; do
    printf '| %s | %s |' "${c%%:*}" "${c##*:}"
    for n in $NAMES; do printf ' %s |' "$(med <"$tmp/$n-$c")"; done
    echo
  done
} >bench/teardown.md
cat bench/teardown.md

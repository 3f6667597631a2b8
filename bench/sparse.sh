#!/usr/bin/env bash
# bench/sparse.sh: how much of a heap each allocator keeps resident once all but one block
# in K are freed (bench/sparse.c: 2,000,000 blocks of SIZE bytes, then malloc_trim(0)),
# under every allocator, interleaved, ROUNDS times (default 3). Writes the medians to
# bench/sparse.md. Run from the repository root after `make preload`.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=2000000
cc -O2 -Wall -o bench/sparse bench/sparse.c
. bench/peers.sh
LIB[segalloc]=$PWD/build/libsegalloc.so
NAMES="segalloc glibc jemalloc tcmalloc mimalloc"
CASES="32:100 32:1000 32:10000 256:100 256:1000"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$ROUNDS"); do
  for c in $CASES; do
    for n in $NAMES; do
      out=$(LD_PRELOAD=${LIB[$n]} ./bench/sparse $N "${c%%:*}" "${c##*:}")
      echo "$out" | sed -n 's/.*peak_kib=\([0-9]*\).*/\1/p' >>"$tmp/$n-$c-peak"
      echo "$out" | sed -n 's/.*kept_kib=\([0-9]*\).*/\1/p' >>"$tmp/$n-$c-kept"
    done
  done
done
{
  echo "# What a heap keeps after most of it is freed (bench/sparse.sh)"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores; $N blocks of SIZE bytes written, then all but every K-th freed and"
  echo "malloc_trim(0) called. MiB resident over the process's base, median of $ROUNDS interleaved runs: at the peak, and kept after."
  echo "The survivors themselves take N / K * SIZE bytes (about 0.6 MiB at 32 bytes and K = 100)."
  echo "Reproduce: \`make preload && bash bench/sparse.sh\`."
  echo
  echo "| SIZE | K |$(for n in $NAMES; do printf ' %s peak | %s kept |' $n $n; done)"
  echo "|---:|---:|$(for n in $NAMES; do printf -- '---:|---:|'; done)"
  for c in $CASES; do
    printf '| %s | %s |' "${c%%:*}" "${c##*:}"
    for n in $NAMES; do
      for m in peak kept; do
        # every run must have printed its figure: a missing one would read as 0.0
        [ "$(wc -l <"$tmp/$n-$c-$m")" -eq "$ROUNDS" ] || { echo "sparse.sh: $n $c gave no $m figure" >&2; exit 1; }
        printf ' %s |' "$(med <"$tmp/$n-$c-$m" | awk '{printf "%.1f", $1 / 1024}')"
      done
    done
    echo
  done
} >bench/sparse.md
cat bench/sparse.md

#!/usr/bin/env bash
# bench/threads_scale.sh: bench/threads_scale.c at 2, 8 and 32 threads, with and without
# remote frees, 4,000,000 replacements in all, under every allocator, interleaved, ROUNDS
# times (default 5). Writes the median time and peak RSS to bench/threads_scale.md. Run
# from the repository root after `make preload`.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
OPS=4000000
cc -O2 -Wall -pthread -o bench/threads_scale bench/threads_scale.c
cc -O2 -o bench/runrss bench/runrss.c
. bench/peers.sh
LIB[glibc]=-
LIB[segalloc]=$PWD/build/libsegalloc.so
NAMES="segalloc glibc jemalloc tcmalloc mimalloc"
CASES="2: 8: 32: 8:x 32:x"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$ROUNDS"); do
  for c in $CASES; do
    for n in $NAMES; do
      out=$(./bench/runrss "${LIB[$n]}" ./bench/threads_scale "${c%%:*}" $OPS ${c##*:} 2>&1)
      echo "$out" | sed -n 's/^seconds=//p' >>"$tmp/$n-$c-time"
      echo "$out" | sed -n 's/.*maxrss_kib=\([0-9]*\).*/\1/p' >>"$tmp/$n-$c-rss"
    done
  done
done
{
  echo "# Many threads (bench/threads_scale.sh)"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores; T threads, $OPS slot replacements in all; remote: every eighth"
  echo "block swapped through an array all threads share. Seconds and peak RSS (MiB), median of $ROUNDS interleaved runs."
  echo "Reproduce: \`make preload && bash bench/threads_scale.sh\`."
  echo
  echo "| threads | remote frees |$(for n in $NAMES; do printf ' %s s | %s MiB |' $n $n; done)"
  echo "|---:|---|$(for n in $NAMES; do printf -- '---:|---:|'; done)"
  for c in $CASES; do
    printf '| %s | %s |' "${c%%:*}" "$([ -n "${c##*:}" ] && echo yes || echo no)"
    for n in $NAMES; do
      for m in time rss; do
        [ "$(wc -l <"$tmp/$n-$c-$m")" -eq "$ROUNDS" ] || { echo "threads_scale.sh: $n $c gave no $m figure" >&2; exit 1; }
      done
      printf ' %s | %s |' "$(med <"$tmp/$n-$c-time")" "$(med <"$tmp/$n-$c-rss" | awk '{printf "%.1f", $1 / 1024}')"
    done
    echo
  done
} >bench/threads_scale.md
cat bench/threads_scale.md

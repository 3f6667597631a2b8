#!/usr/bin/env bash
# bench/threads_own_probe.sh: the experiments behind segalloc's shards (src/central.c).
# Builds variants of the preloaded library from the working tree's segalloc.h and runs
# threads_own (two threads, each allocating and freeing its own blocks) under each and
# under mimalloc, interleaved (ROUNDS, default 21), printing median and mean times and how
# many cache lines hold blocks of both threads (bench/shared_lines.c):
#
#   segalloc   as it is: threads of different shards take blocks from different spans
#   one-list   SEGALLOC__SHARDS 1: both threads take blocks from the same spans
#   padded     one-list, and every request up to 1 KiB rounded up to 64 bytes, so no cache
#              line ever holds blocks of both threads
#   no-trim    one-list with a 16 MiB thread cache that is never trimmed (its tick,
#              SEGALLOC__TICK_FREES, patched out), so the threads hardly touch the
#              central lists
#
# This machine is noisy: on 2026-12-01, 21 and 41 rounds gave medians of 0.155 / 0.141 s
# (segalloc), 0.171 / 0.169 (one-list), 0.154 / 0.159 (padded), 0.199 / 0.146 (no-trim)
# and 0.132 / 0.129 (mimalloc): separate spans were the one change that helped in every
# run. Run from the repository root.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-21}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build() { # name, extra cc flags, sed script for segalloc.h
  sed "$3" segalloc.h >"$tmp/$1.h"
  sed "s|\"../segalloc.h\"|\"$tmp/$1.h\"|" examples/preload.c >"$tmp/$1.c"
  cc -O2 -fPIC -shared -fno-semantic-interposition -fexceptions -DSEGALLOC_TLS_MODEL='"initial-exec"' $2 \
    -o "$tmp/$1.so" "$tmp/$1.c" -pthread -ldl
}
ONE='s/^#define SEGALLOC__SHARDS 4$/#define SEGALLOC__SHARDS 1/'
PAD='s/^\(SEGALLOC__CORE segalloc__nosan void \*SEGALLOC__FN(malloc)(size_t size) {\)$/\1 if (size \&\& size <= 1024) size = (size + 63) \& ~(size_t)63;/'
NOTRIM='s/^#define SEGALLOC__TICK_FREES [0-9]*u$/#define SEGALLOC__TICK_FREES 4000000000u/'
build segalloc "" ""
build one-list "" "$ONE"
build padded "" "$ONE;$PAD"
build no-trim "-DSEGALLOC_TCACHE_BYTES=(16u<<20)" "$ONE;$NOTRIM"
grep -q 'SEGALLOC__SHARDS 1$' "$tmp/one-list.h" || { echo "one-list: the patch did not apply"; exit 1; }
grep -q 'size = (size + 63)' "$tmp/padded.h" || { echo "padded: the patch did not apply"; exit 1; }
grep -q 'TICK_FREES 4000000000u' "$tmp/no-trim.h" || { echo "no-trim: the patch did not apply"; exit 1; }
cc -O2 -Wall -std=c11 -o "$tmp/workloads" bench/workloads.c -pthread
cc -O2 -Wall -std=c11 -o "$tmp/shared_lines" bench/shared_lines.c -pthread
MI=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2
NAMES="segalloc one-list padded no-trim mimalloc"
lib() { if [ "$1" = mimalloc ]; then echo $MI; else echo "$tmp/$1.so"; fi; }
for n in $NAMES; do printf '%-9s ' "$n"; LD_PRELOAD=$(lib "$n") "$tmp/shared_lines"; done
declare -A T
for _ in $(seq "$ROUNDS"); do
  for n in $NAMES; do
    T[$n]+="$(LD_PRELOAD=$(lib "$n") "$tmp/workloads" threads_own | grep -o 'seconds=[0-9.]*' | cut -d= -f2) "
  done
done
for n in $NAMES; do
  echo "${T[$n]}" | tr ' ' '\n' | grep . | sort -n |
    awk -v n="$n" '{a[NR] = $1; s += $1} END {printf "%-9s threads_own median %.3f s, mean %.3f s\n", n, a[int((NR + 1) / 2)], s / NR}'
done
echo "($ROUNDS interleaved rounds, $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg))"

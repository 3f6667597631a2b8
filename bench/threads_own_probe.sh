#!/usr/bin/env bash
# bench/threads_own_probe.sh: why segalloc trails mimalloc on threads_own (README,
# "Where segalloc stands"). Builds three variants of the preloaded library from the
# working tree's segalloc.h and runs threads_own under each and under mimalloc,
# interleaved (ROUNDS, default 21), printing median and mean times:
#
#   segalloc   as it is
#   padded     every request up to 1 KiB rounded up to 64 bytes, so no cache line ever
#              holds blocks of both threads (bench/shared_lines.c checks that it is 0)
#   no-trim    a 16 MiB thread cache that is never trimmed, so the threads hardly touch
#              the central lists
#
# If false sharing or central-list traffic were the cause, padded or no-trim would catch
# up with mimalloc. Run from the repository root after `make preload`.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-21}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build() { # name, extra cc flags, sed script for segalloc.h
  sed "$3" segalloc.h >"$tmp/$1.h"
  sed "s|\"../segalloc.h\"|\"$tmp/$1.h\"|" examples/preload.c >"$tmp/$1.c"
  cc -O2 -fPIC -shared -fno-semantic-interposition -DSEGALLOC_TLS_MODEL='"initial-exec"' $2 \
    -o "$tmp/$1.so" "$tmp/$1.c" -pthread
}
build segalloc "" ""
build padded "" 's/^\(SEGALLOC__CORE segalloc__nosan void \*SEGALLOC__FN(malloc)(size_t size) {\)$/\1 if (size \&\& size <= 1024) size = (size + 63) \& ~(size_t)63;/'
build no-trim "-DSEGALLOC_TCACHE_BYTES=(16u<<20)" 's/^#define SEGALLOC__TICK_FREES 4096u$/#define SEGALLOC__TICK_FREES 4000000000u/'
grep -q 'size = (size + 63)' "$tmp/padded.h" || { echo "padded: the patch did not apply"; exit 1; }
grep -q 'TICK_FREES 4000000000u' "$tmp/no-trim.h" || { echo "no-trim: the patch did not apply"; exit 1; }
cc -O2 -Wall -std=c11 -o "$tmp/workloads" bench/workloads.c -pthread
cc -O2 -Wall -std=c11 -o "$tmp/shared_lines" bench/shared_lines.c -pthread
MI=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2
NAMES="segalloc padded no-trim mimalloc"
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

#!/usr/bin/env bash
# bench/checks_cost.sh: what segalloc's misuse checks cost on the fast path, in instructions
# per malloc+free pair (callgrind, the difference method of bench/callgrind.py), for the
# header compiled in with SEGALLOC_CHECKS=1 (the default) and SEGALLOC_CHECKS=0.
# Run from the repository root.
set -eu
cd "$(dirname "$0")/.."
mkdir -p build
ir() { # binary size n -> total instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" "$3" pair 2>&1 |
    awk '/refs:/ {gsub(",", "", $4); print $4}'
}
printf '| size | SEGALLOC_CHECKS=1 | SEGALLOC_CHECKS=0 | cost of the checks |\n|---:|---:|---:|---:|\n'
for checks in 1 0; do
  cc -O2 -DSEGALLOC_CHECKS=$checks -o build/pairloop-checks$checks bench/pairloop.c bench/segalloc_impl.c -pthread
done
for size in 16 64 256 1024 4096; do
  per=()
  for checks in 1 0; do
    a=$(ir build/pairloop-checks$checks $size 20000)
    b=$(ir build/pairloop-checks$checks $size 120000)
    per+=("$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", (b - a) / 100000}')")
  done
  printf '| %s | %s | %s | %s |\n' "$size" "${per[0]}" "${per[1]}" "$(awk -v x="${per[0]}" -v y="${per[1]}" 'BEGIN {printf "%.1f", x - y}')"
done

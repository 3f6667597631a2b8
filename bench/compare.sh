#!/usr/bin/env bash
# bench/compare.sh: segalloc against itself. Builds the preloaded library of each revision
# given (a git revision, or "." for the working tree) and runs the workloads of
# bench/workloads.c under each in turn, interleaved, printing the median time and peak RSS.
# This is how a change's effect is measured before it lands (bench/run.py compares segalloc
# with the other allocators).
#
#   bash bench/compare.sh [-r ROUNDS] [-w "frag large"] [-p "mimalloc"] [-q] REV [REV ...]
#
# -r rounds (default 9), -w workloads (default all), -p peers to run alongside (glibc,
# jemalloc, tcmalloc, mimalloc), -q the quartiles too (for a bimodal workload such as
# prodcons, where medians alone hide how far two builds' runs overlap). Run from anywhere
# inside the repository.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=9
WORKLOADS=""
PEERS=""
QUART=0
while getopts "r:w:p:q" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;;
    w) WORKLOADS=$OPTARG ;;
    p) PEERS=$OPTARG ;;
    q) QUART=1 ;;
    *) sed -n 2,13p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n 2,13p "$0"; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/runrss" bench/runrss.c
cc -O2 -Wall -std=c11 -o "$tmp/workloads" bench/workloads.c -pthread
[ -n "$WORKLOADS" ] || WORKLOADS=$("$tmp/workloads" list | tr '\n' ' ')

. bench/peers.sh
LIB[glibc]=-
NAMES=()
for p in $PEERS; do NAMES+=("$p"); done
for rev in "$@"; do
  d="$tmp/rev$(( ${#NAMES[@]} ))"
  mkdir -p "$d/examples"
  if [ "$rev" = . ]; then
    cp segalloc.h "$d/" && cp examples/preload.c "$d/examples/"
  else
    git show "$rev:segalloc.h" >"$d/segalloc.h" && git show "$rev:examples/preload.c" >"$d/examples/preload.c"
  fi
  cc -O2 -fPIC -shared -fno-semantic-interposition -fexceptions -DSEGALLOC_TLS_MODEL='"initial-exec"' \
    -o "$d/lib.so" "$d/examples/preload.c" -pthread -ldl
  name="segalloc@$rev"
  LIB[$name]=$d/lib.so
  NAMES+=("$name")
done

# the first and third quartiles of numbers separated by spaces, as "q1-q3"
quart() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+3)/4)] "-" a[int((3*NR+3)/4)]}'; }

if [ "$QUART" = 1 ]; then
  printf '%-14s %-22s %10s %17s %14s %15s\n' workload allocator "time (s)" "time q1-q3" "peak RSS KiB" "RSS q1-q3"
else
  printf '%-14s %-22s %10s %14s\n' workload allocator "time (s)" "peak RSS KiB"
fi
for w in $WORKLOADS; do
  declare -A T=() M=()
  for _ in $(seq "$ROUNDS"); do
    for n in "${NAMES[@]}"; do
      out=$("$tmp/runrss" "${LIB[$n]}" "$tmp/workloads" "$w" 2>&1)
      T[$n]+="$(echo "$out" | grep -o 'seconds=[0-9.]*' | cut -d= -f2) "
      M[$n]+="$(echo "$out" | grep -o 'maxrss_kib=[0-9]*' | cut -d= -f2) "
    done
  done
  for n in "${NAMES[@]}"; do
    if [ "$QUART" = 1 ]; then
      printf '%-14s %-22s %10s %17s %14s %15s\n' "$w" "$n" "$(echo "${T[$n]}" | med)" "$(echo "${T[$n]}" | quart)" \
        "$(echo "${M[$n]}" | med)" "$(echo "${M[$n]}" | quart)"
    else
      printf '%-14s %-22s %10s %14s\n' "$w" "$n" "$(echo "${T[$n]}" | med)" "$(echo "${M[$n]}" | med)"
    fi
  done
done
echo "($ROUNDS interleaved rounds, medians; $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg))"

#!/usr/bin/env bash
# bench/thp.sh: peak RSS of bench/workloads under every allocator and under segalloc's three
# SEGALLOC_THP modes, with the kernel's transparent-huge-page setting as it is. The effect
# shows only where the setting is "always"; to measure it on a machine set to "madvise", as
# root and on a machine of your own:
#
#   echo always > /sys/kernel/mm/transparent_hugepage/enabled
#   bash bench/thp.sh
#   echo madvise > /sys/kernel/mm/transparent_hugepage/enabled
#
# Peak RSS barely varies from run to run, so each cell is one run. Writes bench/thp.md.
# Run from the repository root after `make preload`.
set -eu
cd "$(dirname "$0")/.."
cc -O2 -o bench/runrss bench/runrss.c
cc -O2 -std=c11 -pthread -o bench/workloads bench/workloads.c -lm
. bench/peers.sh
LIB[glibc]=-
for n in segalloc segalloc-never segalloc-always; do LIB[$n]=$PWD/build/libsegalloc.so; done
declare -A MODE=([segalloc]=system [segalloc-never]=never [segalloc-always]=always)
NAMES="glibc jemalloc tcmalloc mimalloc segalloc segalloc-never segalloc-always"
WORKLOADS="pairs batch_fifo realloc_grow threads_own prodcons larson frag"
setting=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo "no THP")
{
  echo "# Peak RSS and transparent huge pages (bench/thp.sh)"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), kernel $(uname -r); THP setting: \`$setting\`."
  echo "Peak RSS in MiB, one run each. segalloc = the default (SEGALLOC_THP=system);"
  echo "segalloc-never / -always: the SEGALLOC_THP environment variable set so."
  echo
  echo "| workload | $(echo $NAMES | sed 's/ / | /g') |"
  echo "|---|$(for n in $NAMES; do printf -- '---:|'; done)"
  for w in $WORKLOADS; do
    printf '| %s |' "$w"
    for n in $NAMES; do
      kib=$(SEGALLOC_THP=${MODE[$n]:-system} ./bench/runrss "${LIB[$n]}" ./bench/workloads "$w" 2>&1 >/dev/null |
            sed -n 's/.*maxrss_kib=\([0-9]*\).*/\1/p')
      printf ' %s |' "$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')"
    done
    echo
  done
} >bench/thp.md
cat bench/thp.md

#!/usr/bin/env bash
# bench/newdelete.sh: instructions per C++ new/delete pair (valgrind --tool=callgrind) under
# every allocator, preloaded, with bench/newdelete.cpp: a 64-byte object (new S / sized
# delete) and arrays of 16, 256 and 4096 bytes (new[] / delete[]). As bench/callgrind.py does
# for malloc/free: the whole process counted at two iteration counts, the difference divided
# by the difference in pairs, so start-up cancels and the loop's own instructions are
# included. segalloc-hdr: the header compiled into the program as C++ (bench/segalloc_impl.c
# built as a .cpp file, so that it defines the C++ operators), nothing preloaded. Writes
# bench/newdelete.md. Run from the repository root after `make preload`.
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "bench/newdelete.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
c++ -std=c++17 -O2 -Wall -o bench/newdelete bench/newdelete.cpp
c++ -std=c++17 -O2 -Wall -o bench/newdelete-segalloc bench/newdelete.cpp -x c++ bench/segalloc_impl.c -pthread
. bench/peers.sh
LIB[segalloc]=$PWD/build/libsegalloc.so
NAMES="glibc jemalloc tcmalloc mimalloc segalloc segalloc-hdr"
N1=20000
N2=120000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LIB[segalloc-hdr]=""
for n in $NAMES; do
  [ -z "${LIB[$n]}" ] || [ -f "${LIB[$n]}" ] || { echo "bench/newdelete.sh: ${LIB[$n]} is missing ($n)" >&2; exit 1; }
done
# instructions of `newdelete N MODE SIZE` under allocator $1 (nothing when the run failed)
ir() {
  rm -f "$tmp/cg.out"
  local prog=./bench/newdelete
  [ "$1" != segalloc-hdr ] || prog=./bench/newdelete-segalloc
  if [ -n "${LIB[$1]}" ]; then
    LD_PRELOAD="${LIB[$1]}" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
      "$prog" "$2" "$3" "$4" >/dev/null 2>"$tmp/err" || return 0
  else
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
      "$prog" "$2" "$3" "$4" >/dev/null 2>"$tmp/err" || return 0
  fi
  ! grep -q "cannot be preloaded" "$tmp/err" || return 0
  sed -n 's/^\(totals\|summary\): \([0-9]*\).*/\2/p' "$tmp/cg.out" | head -1
}
CASES="object:64 array:16 array:256 array:4096"
{
  echo "# Instructions per C++ new/delete pair (bench/newdelete.sh)"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m); $(valgrind --version); $(c++ --version | head -1), -std=c++17 -O2."
  echo "Each allocator preloaded (glibc: none; segalloc-hdr: the header compiled in as C++). object: \`new S; delete p\` with a 64-byte S (sized"
  echo "delete); array: \`new char[SIZE]; delete[] p\`. (Ir at $N2 pairs - Ir at $N1) / $((N2 - N1)), the loop included."
  echo "Reproduce: \`make preload && bash bench/newdelete.sh\`."
  echo
  echo "| case | $(echo $NAMES | sed 's/ / | /g') |"
  echo "|---|$(for n in $NAMES; do printf -- '---:|'; done)"
  for c in $CASES; do
    printf '| %s %s |' "${c%%:*}" "${c##*:}"
    for n in $NAMES; do
      a=$(ir "$n" $N1 "${c%%:*}" "${c##*:}")
      b=$(ir "$n" $N2 "${c%%:*}" "${c##*:}")
      [ -n "$a" ] && [ -n "$b" ] || { echo "bench/newdelete.sh: no count for $n $c" >&2; exit 1; }
      printf ' %s |' "$(awk -v a="$a" -v b="$b" -v d=$((N2 - N1)) 'BEGIN { printf "%.1f", (b - a) / d }')"
    done
    echo
  done
} >"$tmp/out.md"
mv "$tmp/out.md" bench/newdelete.md
cat bench/newdelete.md

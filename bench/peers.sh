# bench/peers.sh: sourced by bench/compare.sh, release.sh, teardown.sh, thp.sh, sparse.sh
# and threads_scale.sh (after they cd to the repository root). The peer allocators where
# Debian installs them, as a name -> library map for LD_PRELOAD (glibc's entry is empty:
# nothing preloaded; scripts that launch through bench/runrss set it to "-", which runrss
# takes for none), and the median the scripts report.
PEER_DIR=/usr/lib/x86_64-linux-gnu
declare -A LIB=([glibc]="" [jemalloc]=$PEER_DIR/libjemalloc.so.2 [tcmalloc]=$PEER_DIR/libtcmalloc_minimal.so.4
                [mimalloc]=$PEER_DIR/libmimalloc.so.2)
# the median of numbers given one a line or separated by spaces
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

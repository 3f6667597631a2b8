#!/usr/bin/env bash
# tests/setup.sh: install what the tests need on a fresh Debian machine (as root, or with
# sudo). Installs only what is missing, so it is quick the second time.
set -eu
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in gcc g++ clang make python3 libstb-dev libclang-rt-14-dev valgrind sqlite3 \
           libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 gnuplot-nox libpython3.11-testsuite python3 \
           gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
  have "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "setup: all test dependencies present"

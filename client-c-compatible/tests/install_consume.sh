#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds programs against it the three ways a
# user would: pkg-config (shared and static) and CMake's find_package. Checks the soname.
#   install_consume.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
src="$2"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
lib="$(dirname "$(find "$prefix" -name 'libturnstile.so' | head -n1)")"
pc="$(dirname "$(find "$prefix" -name 'turnstile.pc' | head -n1)")"
soname="$(readelf -d "$lib/libturnstile.so" | sed -n 's/.*SONAME.*\[\(.*\)\].*/\1/p')"
[[ $soname == libturnstile.so.2 ]] || { echo "FAIL soname is '$soname'"; exit 1; }
echo "ok   soname $soname"
[[ -f $prefix/include/turnstile.h ]] || { echo "FAIL header not installed"; exit 1; }
export PKG_CONFIG_PATH="$pc"
cc -o "$prefix/c-pc" "$src/tests/consumer/consumer.c" $(pkg-config --cflags --libs turnstile)
LD_LIBRARY_PATH="$lib" "$prefix/c-pc"
echo "ok   pkg-config, shared"
cc -static-libgcc -o "$prefix/c-pc-static" "$src/tests/consumer/consumer.c" $(pkg-config --cflags turnstile) \
  "$lib/libturnstile.a" $(pkg-config --static --libs-only-other turnstile)
"$prefix/c-pc-static"
echo "ok   pkg-config, static"
cmake -S "$src/tests/consumer" -B "$prefix/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/cmake-build" >/dev/null
LD_LIBRARY_PATH="$lib" "$prefix/cmake-build/consumer_shared"
"$prefix/cmake-build/consumer_static"
echo "ok   CMake find_package(turnstile), shared and static"
echo "install: 4 passed, 0 failed"

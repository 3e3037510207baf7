#!/usr/bin/env bash
# Checks the CMake package `make install` writes (lib/cmake/calls): a tiny
# project (tests/cmake_consumer) configures with find_package(calls 0.1
# CONFIG REQUIRED) against a temporary install, links calls::calls shared
# and (calls_USE_STATIC_LIBS=ON) static, and runs; the install still works
# moved elsewhere (relocatable); versions of another ABI are refused.
# Usage: tests/check_cmake.sh   (env: MAKE, CC)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
: "${MAKE:=make}" "${CC:=cc}"
command -v cmake >/dev/null || { echo "check_cmake: cmake is not installed (.ci/run installs it)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_cmake: $*" >&2; exit 1; }
"$MAKE" --no-print-directory -s -f mk/ffi.mk install DESTDIR="$tmp/dest" PREFIX=/opt/calls >/dev/null
# Moved away from where it was installed to: every path is relative.
mv "$tmp/dest/opt/calls" "$tmp/prefix"
prefix="$tmp/prefix"
[ -f "$prefix/lib/cmake/calls/callsConfig.cmake" ] || fail "no lib/cmake/calls/callsConfig.cmake"
[ -f "$prefix/lib/cmake/calls/callsConfigVersion.cmake" ] || fail "no callsConfigVersion.cmake"
version="$(sed -n 's/^#define CALLS_VERSION "\(.*\)"/\1/p' include/calls.h)"
soname="$(readelf -d "$prefix/lib/libcalls.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"

build() { # build DIR [cmake args...]: configure and build the consumer
  local dir=$1
  shift
  cmake -S tests/cmake_consumer -B "$dir" -DCMAKE_C_COMPILER="$CC" -DCMAKE_PREFIX_PATH="$prefix" "$@" >"$dir.log" 2>&1 \
    && cmake --build "$dir" >>"$dir.log" 2>&1
}

build "$tmp/shared" || { cat "$tmp/shared.log"; fail "the shared consumer does not build"; }
readelf -d "$tmp/shared/app" | grep -q "(NEEDED).*\[$soname\]" || fail "the shared app does not need $soname"
out="$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/shared/app")" || fail "the shared app failed"
[ "$out" = "calls $version" ] || fail "the shared app printed '$out'"

build "$tmp/static" -Dcalls_USE_STATIC_LIBS=ON || { cat "$tmp/static.log"; fail "the static consumer does not build"; }
if readelf -d "$tmp/static/app" | grep -q 'libcalls\.so'; then fail "the static app needs libcalls.so"; fi
out="$(env -u LD_LIBRARY_PATH "$tmp/static/app")" || fail "the static app failed"
[ "$out" = "calls $version" ] || fail "the static app printed '$out'"

# Another ABI: refused at configure time.
major="${version%%.*}"
rest="${version#*.}"
minor="${rest%%.*}"
for want in "$major.$((minor + 1))" "$((major + 1)).0"; do
  if build "$tmp/v$want" -DCALLS_WANT_VERSION="$want"; then fail "find_package(calls $want) accepted $version"; fi
  grep -q "$version" "$tmp/v$want.log" || { cat "$tmp/v$want.log"; fail "no version in the refusal of $want"; }
done
echo "check_cmake: ok (calls $version: shared $soname, static, relocated, $major.$((minor + 1)) refused)"

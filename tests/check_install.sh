#!/usr/bin/env bash
# Checks `make install` and the documented link line:
#  1. installs into a DESTDIR and checks the files;
#  2. pkg-config --static --libs calls gives -lcalls plus exactly the native
#     libraries rustc reports for the staticlib (--print native-static-libs);
#  3. a C program links statically against the installed libcalls.a with those
#     flags (and dynamically against libcalls.so) and runs.
# Usage: tests/check_install.sh   (env: MAKE, CC, CARGO, CALLS_NATIVE_LIBS)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
: "${MAKE:=make}" "${CC:=cc}" "${CARGO:=cargo}"
: "${CALLS_NATIVE_LIBS:?set CALLS_NATIVE_LIBS (mk/ffi.mk does)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix=/usr/local
dest="$tmp/dest"
fail() { echo "check_install: $*" >&2; exit 1; }
libset() { tr ' ' '\n' | grep -E '^-l' | sort -u | tr '\n' ' '; }

"$MAKE" --no-print-directory -s -f mk/ffi.mk install DESTDIR="$dest" PREFIX="$prefix" >/dev/null
for f in lib/libcalls.a lib/libcalls.so include/calls.h lib/pkgconfig/calls.pc; do
  # (lib/libcalls.so is a symlink to the versioned file: -f follows it.)
  [ -f "$dest$prefix/$f" ] || fail "missing $prefix/$f"
done
cmp -s include/calls.h "$dest$prefix/include/calls.h" || fail "installed calls.h differs"

export PKG_CONFIG_PATH="$dest$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
pkg-config --exists calls || fail "pkg-config does not find calls"
version="$(pkg-config --modversion calls)"
want_version="$(sed -n 's/^#define CALLS_VERSION "\(.*\)"/\1/p' include/calls.h)"
[ "$version" = "$want_version" ] || fail "calls.pc version $version, header $want_version"
cflags="$(pkg-config --cflags calls)"
static_libs="$(pkg-config --static --libs calls)"
dyn_libs="$(pkg-config --libs calls)"
case " $static_libs " in *" -lcalls "*) ;; *) fail "no -lcalls in: $static_libs" ;; esac

# The documented native libraries must be exactly what rustc says.
rustc_libs="$("$CARGO" rustc -q -p calls-ffi --release --crate-type staticlib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)"
[ -n "$rustc_libs" ] || fail "rustc printed no native-static-libs"
documented="$(echo "$CALLS_NATIVE_LIBS" | libset)"
[ "$(echo "$rustc_libs" | libset)" = "$documented" ] \
  || fail "native libs: rustc says '$rustc_libs', mk/ffi.mk documents '$CALLS_NATIVE_LIBS'"
[ "$(echo "$static_libs" | sed 's/-lcalls//' | libset)" = "$documented" ] \
  || fail "calls.pc Libs.private '$static_libs' differs from '$CALLS_NATIVE_LIBS'"

# Static: the same flags, with -lcalls pinned to the archive.
# shellcheck disable=SC2086
"$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror tests/link_check.c $cflags \
  $(echo "$static_libs" | sed 's/-lcalls\b/-l:libcalls.a/') -o "$tmp/static"
if readelf -d "$tmp/static" | grep -q 'libcalls\.so'; then fail "the static program needs libcalls.so"; fi
"$tmp/static" >/dev/null || fail "the statically linked program failed"
# Dynamic.
# shellcheck disable=SC2086
"$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror tests/link_check.c $cflags $dyn_libs -o "$tmp/dynamic"
LD_LIBRARY_PATH="$dest$prefix/lib" "$tmp/dynamic" >/dev/null || fail "the dynamically linked program failed"
# The shared library is versioned: libcalls.so -> SONAME -> libcalls.so.X.Y.Z,
# and a program records the SONAME, not the unversioned name.
soname="$(readelf -d "$dest$prefix/lib/libcalls.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
case "$version" in 0.*) want_soname="libcalls.so.0.$(echo "$version" | cut -d. -f2)" ;; *) want_soname="libcalls.so.${version%%.*}" ;; esac
[ "$soname" = "$want_soname" ] || fail "SONAME '$soname', want '$want_soname'"
[ "$(readlink "$dest$prefix/lib/libcalls.so")" = "$soname" ] || fail "libcalls.so does not point to $soname"
[ "$(readlink "$dest$prefix/lib/$soname")" = "libcalls.so.$version" ] || fail "$soname does not point to libcalls.so.$version"
readelf -d "$tmp/dynamic" | grep -q "(NEEDED).*\[$soname\]" || fail "the program does not record $soname"
echo "check_install: ok ($static_libs)"

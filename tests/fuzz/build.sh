#!/bin/sh
# Builds the fuzz harnesses (libFuzzer, with ASan and UBSan) into OUT
# (default build-fuzz/), one binary per parser:
#   tests/fuzz/build.sh [OUT]
# Needs clang; the libraries are those of the normal build, and the
# build-config.h that configure wrote into SIDR_BUILD (default build/).
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$SRC/build-fuzz}
BUILD=${SIDR_BUILD:-$SRC/build}
if [ ! -f "$BUILD/build-config.h" ]; then
  echo "tests/fuzz/build.sh: $BUILD/build-config.h not found: configure first (./quickstart check, or set SIDR_BUILD to a configured build folder)" >&2
  exit 1
fi
CC=${CC:-clang}
mkdir -p "$OUT/obj"
pc() { pkg-config "$@" 2>/dev/null || true; }
BLAS=$(pc --libs openblas); [ -n "$BLAS" ] || BLAS=-lopenblas
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Wno-macro-redefined -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -I$BUILD -I$SRC/model -I$SRC/src -I$SRC/ui $(pc --cflags openblas) $(pc --cflags libcjson) $(pc --cflags libutf8proc)
  -DSIDR_DATADIR=\"/nonexistent\" -DSIDR_BINDIR=\"/nonexistent/bin\" -DSIDR_BUILDDIR=\"/nonexistent\"
  -DSIDR_SRCSHARE=\"$SRC/share\""
LIBS="$BLAS -lcjson -lpcre2-8 -lutf8proc -lm -lpthread"
# the library code each harness links: the engine, the app code without
# the commands, and the explorer's config reader
# an object is rebuilt when its source, any header or the configuration
# is newer than it
newest=$(ls -t "$SRC"/model/*.h "$SRC"/src/*.h "$SRC"/ui/*.h "$BUILD/build-config.h" | head -1)
objs=""
for f in "$SRC"/model/*.c "$SRC"/src/*.c "$SRC"/ui/config.c "$SRC"/ui/keys.c "$SRC"/ui/text.c "$SRC"/ui/screen.c; do
  case "$f" in */src/main.c|*/src/cmd_*.c|*/src/bench_*.c) continue ;; esac
  o="$OUT/obj/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
  if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ "$newest" -nt "$o" ]; then
    # shellcheck disable=SC2086
    $CC $CFLAGS -c "$f" -o "$o"
  fi
  objs="$objs $o"
done
for h in "$SRC"/tests/fuzz/fuzz_*.c; do
  name=$(basename "$h" .c)
  # shellcheck disable=SC2086
  $CC $CFLAGS -fsanitize=fuzzer "$h" $objs $LIBS -o "$OUT/$name"
  echo "built $OUT/$name"
done

#!/bin/sh
# A release that installs: 'make install DESTDIR=...' puts sidr, its man pages
# and the embedded demo in place; the installed binary, run from /, finds the
# demo and recommends; a prefix moved at install time works too; 'make
# uninstall' removes every file.  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
BUILD=$(cd "$(dirname "$SIDR")" && pwd)
DEMO=$TESTDIR/../share/demo
MAKE=${MAKE:-make}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
t() { name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
# a make of its own, not a job of the make running this test
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" -s -C "$BUILD" "$@" >"$TMP/make.log" 2>&1; }
has_demo=0
[ -f "$DEMO/model/config.json" ] && [ -d "$DEMO/data" ] && has_demo=1
version=$("$SIDR" --version | head -1)

# the SID list of a --json recommendation, as expected.txt writes it
top10() {
  grep -o '{"sid":"<[^"]*","score"' | sed 's/{"sid":"//; s/","score"//' | tr '\n' ' ' | sed 's/ $//'
}

# check_tree ROOT LABEL: the installed binary under ROOT works from /
check_tree() {
  root=$1 label=$2
  bin=$(find "$root" -path '*/bin/sidr' -type f | head -1)
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then nok "$label: bin/sidr is installed"; return; fi
  ok "$label: bin/sidr is installed"
  t "$label: man/man1/sidr.1 is installed" test -n "$(find "$root" -path '*/man/man1/sidr.1' -type f)"
  t "$label: man/man5/sidr-config.5 is installed" test -n "$(find "$root" -path '*/man/man5/sidr-config.5' -type f)"
  out=$(cd / && "$bin" --version 2>&1)
  t "$label: sidr --version prints '$version'" test "$(echo "$out" | head -1)" = "$version"
  t "$label: sidr --version names the kernels" eval 'echo "$out" | grep -q "^kernels: "'
  if [ $has_demo = 0 ]; then skip "$label: no embedded demo in this tree (share/demo)"; return; fi
  share=$(find "$root" -path '*/share/sidr/demo' -type d | head -1)
  t "$label: the demo model, data and eval.md are under share/sidr/demo" \
    test -f "$share/model/config.json" -a -f "$share/model/model.safetensors" -a -d "$share/data/test" -a -f "$share/eval.md"
  t "$label: sidr --version shows the installed demo" eval 'echo "$out" | grep -q "^demo: $root"'
  (cd / && env -u SIDR_SHARE "$bin" recommend --row test:0 --no-think) >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if [ $rc = 0 ] && grep -q "^top 10" "$TMP/out"; then ok "$label: recommend --row test:0 --no-think from /"
  else nok "$label: recommend --row test:0 --no-think from / (exit $rc)"; sed 's/^/# /' "$TMP/err" | head -5; fi
  want=$(sed -n 's/^no-think test:0 //p' "$DEMO/expected.txt" 2>/dev/null)
  if [ -n "$want" ]; then
    got=$(cd / && env -u SIDR_SHARE SIDR_KERNELS=avx2 "$bin" recommend --row test:0 --no-think --json 2>/dev/null | top10)
    t "$label: the installed demo gives the committed top-10" test "$got" = "$want"
  fi
  # without its demo the installed binary says where it looked (so it was
  # reading the installed demo, not the source tree's)
  mv "$share" "$share.away"
  if (cd / && env -u SIDR_SHARE "$bin" --version) | grep -q "^demo: not installed"; then
    (cd / && env -u SIDR_SHARE "$bin" recommend --row test:0 --no-think) >"$TMP/out" 2>"$TMP/err"
    rc=$?
    t "$label: without the demo, recommend is a usage error saying where the demo belongs" \
      eval 'test $rc = 2 && grep -q "the embedded demo is not installed (no demo/model in .*); pass --model DIR" "$TMP/err"'
  else
    skip "$label: another sidr demo is installed on this system"
  fi
  mv "$share.away" "$share"
}

# 1. DESTDIR staging of the configured prefix
if mk install DESTDIR="$TMP/stage"; then ok "make install DESTDIR=..."
else nok "make install DESTDIR=..."; sed 's/^/# /' "$TMP/make.log" | tail -5; fi
check_tree "$TMP/stage" "DESTDIR"
if mk uninstall DESTDIR="$TMP/stage"; then ok "make uninstall DESTDIR=..."
else nok "make uninstall DESTDIR=..."; sed 's/^/# /' "$TMP/make.log" | tail -5; fi
left=$(find "$TMP/stage" -type f | head -3)
t "make uninstall leaves no file behind" test -z "$left"

# 2. a prefix chosen at install time: the binary finds share/sidr beside its bin/
if mk install prefix="$TMP/moved"; then ok "make install prefix=..."
else nok "make install prefix=..."; sed 's/^/# /' "$TMP/make.log" | tail -5; fi
check_tree "$TMP/moved" "prefix"

echo "1..$n"
[ $failed = 0 ]

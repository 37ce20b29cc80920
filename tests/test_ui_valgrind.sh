#!/bin/sh
# A scripted explorer session under valgrind (memcheck): runs, a cancel mid
# reasoning and a following run, token selection and alternatives, the
# codebook and its neighbourhoods, search, help, resizes, the command line
# with completion, export, a run without thinking, the Alignment pane (its
# sample cancelled and measured again, search, sort, Enter).  Runs only when VALGRIND
# names the valgrind binary (VALGRIND=valgrind make check); it takes a minute.
# Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
case "${VALGRIND:-}" in
  "" | no) echo "1..0 # SKIP set VALGRIND=valgrind to run the explorer under valgrind"; exit 0 ;;
esac
if ! command -v "$VALGRIND" >/dev/null 2>&1; then
  echo "1..0 # SKIP VALGRIND=$VALGRIND is not an executable"; exit 0
fi
. "$TESTDIR/ui_lib.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# a one-layer 64-wide model: under valgrind the prefill of the tiny preset takes a minute
if ! ui_build_model "$TMP" --hidden 64 --ffn 128 --layers 1 --heads 2 --kv-heads 1 --head-dim 32; then
  echo "not ok 1 - build the micro model"; echo "1..1"; exit 1
fi
cat >"$TMP/session.script" <<EOT
Enter
tick 8
Esc
r
wait-run
3
h h a
l l Enter
4 h h j
Enter
5 G k k Enter
Backspace
/ "glue" Enter
n N
?
G
q
resize 120x40
z
z
resize 50x10
resize 80x24
: "be" Tab
Esc
: "s" Tab Tab
Esc
: "temp 1" Enter
: "seed 3" Enter
: "maxtok 120" Enter
r
tick 70
[
Enter
Esc
: "export $TMP/session" Enter
: "temp 0" Enter
: "think off" Enter
r
wait-run
w
tick 12
: "maxtok 20" Enter
: "tour" Enter
tick 200
j
: "maxtok 120" Enter
f F F
6
tick 3
Esc
m
wait-align
/ "glue" Enter
o o
G
Enter
Enter
dump end
q
EOT
OMP_NUM_THREADS=1 SIDR_THREADS=1 "$VALGRIND" --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --show-leak-kinds=definite,indirect -q "$SIDR" explore --model "$TMP/model" --data "$TESTDIR/fixtures/data/minionerec" \
  --max-reasoning 40 --beams 4 --script "$TMP/session.script" --dump "$TMP/out" >"$TMP/log" 2>&1
rc=$?
if [ $rc = 0 ]; then echo "ok 1 - a scripted explorer session is valgrind-clean (no errors, no definite leaks)"
else echo "not ok 1 - a scripted explorer session is valgrind-clean (exit $rc)"; sed 's/^/# /' "$TMP/log" | head -60; fi
[ -s "$TMP/out/end.txt" ] && [ -s "$TMP/session.json" ] && echo "ok 2 - the session ran to its end" || echo "not ok 2 - the session ran to its end"
echo "1..2"

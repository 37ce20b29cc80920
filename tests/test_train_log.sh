#!/bin/sh
# sidr train-log: charts of a hand-made log against a golden screen (ASCII),
# braille in a UTF-8 locale, resumed steps replaced, and bad logs.  Emits TAP.
SIDR=${SIDR:-./sidr}
SIDR=$(cd "$(dirname "$SIDR")" && pwd)/$(basename "$SIDR")
TESTDIR=${SIDR_TESTDIR:-tests}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; sed 's/^/# /' "$TMP/err" 2>/dev/null | head -8; fi; }

cp "$TESTDIR/fixtures/logs/align_train_log.jsonl" "$TMP/"
(cd "$TMP" && "$SIDR" train-log --ascii --width 16 --height 4 align_train_log.jsonl) >"$TMP/out" 2>"$TMP/err"
diff "$TESTDIR/ref/train_log_ascii.txt" "$TMP/out" >"$TMP/diff" 2>&1
check "ASCII charts equal the golden screen" '[ $? = 0 ] || { cat "$TMP/diff" >"$TMP/err"; false; }'
check "a resumed run's repeated steps are replaced, not added (4 training points from 6 lines)" \
  'grep -q "^training loss (4 points; last 1)" "$TMP/out"'
check "the best validation loss and its step are named" 'grep -q "best validation loss 1.0000 at step 4" "$TMP/out"'
mkdir -p "$TMP/run" && cp "$TMP/align_train_log.jsonl" "$TMP/run/train_log.jsonl"
(cd "$TMP" && LC_ALL=C.UTF-8 "$SIDR" train-log --width 16 --height 4 run) >"$TMP/u8" 2>"$TMP/err"
sed 's|^run/train_log.jsonl|align_train_log.jsonl|' "$TMP/u8" | diff "$TESTDIR/ref/train_log_utf8.txt" - >"$TMP/diff" 2>&1
check "a training folder is read, and a UTF-8 locale gets braille and box drawing (golden)" '[ $? = 0 ] || { cat "$TMP/diff" >"$TMP/err"; false; }'
# a long run is binned: 200 steps into 2 points per cell
awk 'BEGIN{print "{\"type\":\"start\",\"step\":0,\"stage\":\"reason\"}"; for(i=1;i<=200;i++) printf "{\"type\":\"train\",\"step\":%d,\"loss\":%g}\n", i, 10/i}' >"$TMP/long.jsonl"
"$SIDR" train-log --ascii --width 20 "$TMP/long.jsonl" >"$TMP/out" 2>"$TMP/err"
check "a long run's training loss is shown as means of consecutive steps" 'grep -q "^training loss (mean of 5 steps per point; last 0.05)" "$TMP/out" && grep -q "reason, 201 log lines" "$TMP/out"'
printf '{"type":"start","step":0}\nnot json\n' >"$TMP/bad.jsonl"
"$SIDR" train-log "$TMP/bad.jsonl" >/dev/null 2>"$TMP/err"
check "a broken line is named by file and line" '[ $? = 1 ] && grep -q "bad.jsonl:2: expected a JSON object" "$TMP/err"'
: >"$TMP/empty.jsonl"
"$SIDR" train-log "$TMP/empty.jsonl" >/dev/null 2>"$TMP/err"
check "an empty log says so" '[ $? = 1 ] && grep -q "no log lines" "$TMP/err"'
"$SIDR" train-log "$TMP/missing" >/dev/null 2>"$TMP/err"
check "a missing log names the path" '[ $? = 1 ] && grep -q "missing" "$TMP/err"'
"$SIDR" train-log --width 3 "$TMP/long.jsonl" >/dev/null 2>"$TMP/err"
check "--width below 8 is refused" '[ $? = 2 ]'

echo "1..$n"
[ $failed = 0 ]

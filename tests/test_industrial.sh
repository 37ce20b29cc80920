#!/bin/sh
# The committed Industrial & Scientific model (share/industrial): it loads,
# its SID tokens are the paper's, and with the data present its evaluation
# of the first test rows gives back the committed eval.json's ranks and SID
# lists.  The data is not in the repo: without it the data checks skip.
# Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
SHARED=${SIDR_SHARED:-$TESTDIR/../../shared}
IND=$TESTDIR/../share/industrial
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
M=$IND/model
if "$SIDR" info --model "$M" --json >"$TMP/info.json" 2>"$TMP/err" &&
   grep -q '"per_level":\[48,256,256\]' "$TMP/info.json"; then
  ok "the Industrial model loads with the paper's SID tokens (48 + 256 + 256 codes used)"
else nok "the Industrial model loads with the paper's SID tokens (48 + 256 + 256 codes used)"; sed 's/^/# /' "$TMP/err"; fi
tr -d ' \t\n' <"$IND/eval.json" >"$TMP/flat.json"
if grep -q '"split":"test"' "$TMP/flat.json" && grep -q '"rows_in_split":4533' "$TMP/flat.json" &&
   grep -q '"complete":true' "$TMP/flat.json" && grep -q '"numerics":"exact"' "$TMP/flat.json"; then
  ok "eval.json covers the 4,533 official test rows"
else nok "eval.json covers the 4,533 official test rows"; fi
D=$SHARED/data/amazon18-industrial
if [ ! -d "$D/test" ]; then
  skip "Industrial data absent ($D): the re-evaluation is not run"
else
  "$SIDR" eval --model "$M" --data "$D" --think --limit 6 --json "$TMP/six.json" >/dev/null 2>"$TMP/err"
  # per row: rank and SID list, in row order, from a one-line JSON
  rows() { tr -d ' \t\n' <"$1" | grep -o '"row":[0-9]*,"user":"[^"]*","target":"[^"]*","rank":-*[0-9]*,[^]]*\]' |
           sed 's/"reasoning_tokens":[0-9]*,"seconds":[0-9.e-]*,//'; }
  want=$(rows "$IND/eval.json" | head -6)
  got=$(rows "$TMP/six.json")
  if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "the first 6 test rows re-evaluate to the committed ranks and SID lists"
  else
    nok "the first 6 test rows re-evaluate to the committed ranks and SID lists"
    echo "$want" | head -2 | sed 's/^/# want: /'; echo "$got" | head -2 | sed 's/^/# got:  /'; sed 's/^/# /' "$TMP/err" | head -5
  fi
fi
echo "1..$n"
[ $failed = 0 ]

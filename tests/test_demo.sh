#!/bin/sh
# The committed demo: it loads, its catalogue matches its tokenizer, and a
# fixed row's recommendation equals the committed expected top-K.  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
DEMO=$TESTDIR/../share/demo
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
if [ ! -f "$DEMO/model/config.json" ] || [ ! -f "$DEMO/expected.txt" ]; then
  echo "1..0 # SKIP the embedded demo is not built (share/demo/recipe.sh)"
  exit 0
fi
M=$DEMO/model D=$DEMO/data
"$SIDR" info --model "$M" >/dev/null 2>&1 && ok "the demo model loads" || nok "the demo model loads"
# The expected lists were made with the exact f32 kernels, so any x86-64 CPU
# reproduces them; each line: mode row SID SID ...
while read -r mode row want; do
  got=$(SIDR_KERNELS=avx2 "$SIDR" recommend --model "$M" --data "$D" --row "$row" --"$mode" --json 2>/dev/null |
        grep -o '{"sid":"<[^"]*","score"' | sed 's/{"sid":"//; s/","score"//' | tr '\n' ' ' | sed 's/ $//')
  if [ "$got" = "$want" ]; then ok "$mode $row: the committed top-10"
  else nok "$mode $row: the committed top-10"; echo "# want: $want"; echo "# got:  $got"; fi
done <"$DEMO/expected.txt"
# Grounded reasoning: over the first rows, free traces name SIDs outside the
# history and grounded ones only history SIDs; the JSON says how many tokens
# the constraint changed.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
flat() { tr -d ' \t\n' <"$1"; }
E="$SIDR eval --model $M --data $D --think --max-reasoning 256 --limit 12"
$E --json "$TMP/free.json" >/dev/null 2>&1
$E --grounded --json "$TMP/g.json" >"$TMP/gout" 2>&1
share() { flat "$1" | grep -o '"history_share":[0-9.e+-]*' | head -1 | sed 's/.*://'; }
free_share=$(share "$TMP/free.json") g_share=$(share "$TMP/g.json")
forced=$(flat "$TMP/g.json" | grep -o '"forced_tokens":[0-9]*' | sed 's/.*://' | awk '{s+=$1} END{print s+0}')
if awk -v f="$free_share" -v g="$g_share" 'BEGIN{exit !(f < 1 && g == 1)}' && [ "$forced" -gt 0 ] &&
   flat "$TMP/g.json" | grep -q '"grounded":true'; then
  ok "grounded traces cite history SIDs only (history share $free_share free, $g_share grounded; $forced tokens changed)"
else nok "grounded traces cite history SIDs only (history share $free_share free, $g_share grounded; $forced tokens changed)"; fi
# Several sampled traces, marginalised: deterministic for a seed, and one
# trace at temperature 0 is the greedy evaluation.
$E --traces 3 --temperature 1 --seed 5 --json "$TMP/t3a.json" >/dev/null 2>&1
$E --traces 3 --temperature 1 --seed 5 --json "$TMP/t3b.json" >/dev/null 2>&1
$E --traces 1 --json "$TMP/t1.json" >/dev/null 2>&1
ranks() { flat "$1" | grep -o '"rank":-*[0-9]*' | tr '\n' ' '; }
if [ -n "$(ranks "$TMP/t3a.json")" ] && [ "$(ranks "$TMP/t3a.json")" = "$(ranks "$TMP/t3b.json")" ] &&
   [ "$(ranks "$TMP/t1.json")" = "$(ranks "$TMP/free.json")" ] && flat "$TMP/t3a.json" | grep -q '"traces":3'; then
  ok "eval --traces 3: the same ranks for the same seed; --traces 1 is the greedy run"
else nok "eval --traces 3: the same ranks for the same seed; --traces 1 is the greedy run"; fi
# the merged list holds each SID once, best first
beams_ok=0
for list in $(flat "$TMP/t3a.json" | grep -o '"beams":\[[^]]*\]' | sed 's/"beams":\[//; s/\]$//'); do
  k=$(echo "$list" | tr ',' '\n' | wc -l) u=$(echo "$list" | tr ',' '\n' | sort -u | wc -l)
  [ "$k" = "$u" ] || beams_ok=$((beams_ok + 1))
done
[ "$beams_ok" = 0 ] && ok "a marginalised list names each SID once" || nok "a marginalised list names each SID once ($beams_ok repeats)"
$E --traces 3 >/dev/null 2>"$TMP/err"
[ $? = 2 ] && grep -q "temperature" "$TMP/err" && ok "--traces 3 at temperature 0 is a usage error" || nok "--traces 3 at temperature 0 is a usage error"
# A given trace: the rows' own greedy traces written into a copy of the data
# as its reasoning_path and teacher-forced by --given-reasoning give back the
# free run's traces, ranks and SID lists, on this CPU's own kernels: under the
# exact numerics a trace fed at once (a prefill) gives bit for bit the logits
# of one fed token by token.  The rule's reasoning stands in when there are no
# texts.
mkdir -p "$TMP/dg"
cp -R "$D/." "$TMP/dg/"
csv="$TMP/dg/index/$(basename "$D"/index/*.index.json .index.json).integrated_narrative.csv"
echo "split,row,reasoning_path" >"$csv"
for row in 0 1 2 3; do
  "$SIDR" recommend --model "$M" --data "$D" --row "test:$row" --think --max-reasoning 256 2>/dev/null |
    awk '/^<think>$/ { on = 1; next } on && /^$/ { exit } on' >"$TMP/trace"
  printf 'test,%s,"%s"\n' "$row" "$(sed 's/"/""/g' "$TMP/trace")" >>"$csv"
done
G="$SIDR eval --model $M --data $TMP/dg --limit 4"
$G --think --max-reasoning 256 --json "$TMP/free4.json" >/dev/null 2>&1
$G --given-reasoning --json "$TMP/given4.json" >/dev/null 2>&1
lists() { flat "$1" | grep -o '"rank":-*[0-9]*\|"beams":\[[^]]*\]\|"reasoning":"[^"]*"'; }
if [ -n "$(lists "$TMP/free4.json")" ] && [ "$(lists "$TMP/free4.json")" = "$(lists "$TMP/given4.json")" ] &&
   flat "$TMP/given4.json" | grep -q '"mode":"given-reasoning"' &&
   [ "$(flat "$TMP/given4.json" | grep -o '"reasoning_tokens":0' | wc -l)" = 4 ]; then
  ok "eval --given-reasoning with the rows' own greedy traces gives back their traces, ranks and top-10 lists"
else nok "eval --given-reasoning with the rows' own greedy traces gives back their traces, ranks and top-10 lists"; fi
$SIDR eval --model "$M" --data "$D" --limit 2 --given-reasoning --json "$TMP/rule.json" >/dev/null 2>"$TMP/rule.err"
[ $? = 0 ] && flat "$TMP/rule.json" | grep -q '"reasoning":"<think>\\n[A-Z]' &&
  grep -q "0 of 2 rows from (no integrated_narrative.csv), the others written by rule" "$TMP/rule.err" &&
  ok "without reasoning texts --given-reasoning forces the rule's, and says so" ||
  nok "without reasoning texts --given-reasoning forces the rule's, and says so"
$SIDR eval --model "$M" --data "$D" --no-think --given-reasoning >/dev/null 2>"$TMP/err"
[ $? = 2 ] && grep -q "given-reasoning" "$TMP/err" && ok "--given-reasoning without thinking is a usage error" ||
  nok "--given-reasoning without thinking is a usage error"
out=$("$SIDR" </dev/null 2>&1)
echo "$out" | grep -q "usage: sidr" && ok "sidr without a terminal prints the usage" || nok "sidr without a terminal prints the usage"
echo "1..$n"
[ $failed = 0 ]

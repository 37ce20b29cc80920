#!/bin/sh
# A miniature of the demo recipe (tiny world, tiny model, a few steps of each
# stage): every stage must produce a loadable model and move its own
# objective.  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
RECIPE=$TESTDIR/../share/demo/recipe.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
# first and last value of a key in a JSONL log's lines of one type
first() { grep "\"type\":\"$2\"" "$1" | head -1 | sed "s/.*\"$3\":\([-0-9.e]*\).*/\1/"; }
last() { grep "\"type\":\"$2\"" "$1" | tail -1 | sed "s/.*\"$3\":\([-0-9.e]*\).*/\1/"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

SIDR="$SIDR" DEST="$TMP/install" SEED=7 USERS=80 ITEMS=200 VOCAB=420 CODES=16 \
  MODEL_ARGS="--hidden 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128" \
  ALIGN_STEPS=60 ALIGN_LR=3e-3 REASON_STEPS=40 REASON_LR=3e-3 RL_STEPS=3 RL_PROMPTS=4 RL_GROUP=4 \
  MAX_NEW=64 EVAL_ROWS=10 QUIET=1 sh "$RECIPE" "$TMP/work" >"$TMP/log" 2>&1
status=$?
check "the miniature recipe runs to the end" '[ $status = 0 ]'
[ $status = 0 ] || sed 's/^/# /' "$TMP/log" | tail -20
for st in stage0 stage1 stage2 stage3; do
  check "$st is a loadable model" '"$SIDR" info --model "$TMP/work/$st" >/dev/null 2>&1'
done
L1=$TMP/work/stage1/train_log.jsonl L2=$TMP/work/stage2/train_log.jsonl L3=$TMP/work/stage3/train_log.jsonl
a0=$(first "$L1" eval valid_loss) a1=$(last "$L1" eval valid_loss)
check "align lowers the validation loss ($a0 -> $a1)" 'lt "$a1" "$a0"'
r0=$(first "$L2" eval valid_loss) r1=$(last "$L2" eval valid_loss)
check "reason lowers the reasoning-format loss ($r0 -> $r1)" 'lt "$r1" "$r0"'
# (the format itself is learned in tests/test_train, which trains reason long enough)
check "rl logs rewards, valid-SID rate and reasoning length per step" \
  'grep -q "\"reward_mean\"" "$L3" && grep -q "\"valid_sid_rate\"" "$L3" && grep -q "\"mean_reasoning_tokens\"" "$L3"'
check "the evaluation table has the world's three baselines, three stages and Stage 3's three other decodings, with intervals" \
  'grep -q "^| popularity" "$TMP/install/eval.md" && grep -q "^| the world.s history-only intent rule | - | 0\.[0-9]* | 0\.[0-9]* | 0\.[0-9]* \[0\.[0-9]*, [01]\.[0-9]*\] | " "$TMP/install/eval.md" && grep -q "^| the generator.s oracle" "$TMP/install/eval.md" && [ "$(grep -c "^| Stage [123] .* \[0\.[0-9]*, [01]\.[0-9]*\] |" "$TMP/install/eval.md")" = 6 ] && grep -q "^| Stage 3 | think, grounded mentions |" "$TMP/install/eval.md" && grep -q "^| Stage 3 | think, 8 traces at T 0.5 |" "$TMP/install/eval.md" && grep -q "^| Stage 3 | the world.s trace given | .* | 0\.0 |" "$TMP/install/eval.md"'
check "the table pairs the stages and Stage 3 with the intent rule (sidr eval-diff, intervals)" \
  'for l in "Stage 2 think − Stage 1 no-think" "Stage 3 think − Stage 2 think" "Stage 3 think − the intent rule"; do grep -q "^| $l | [-+][0-9.]* \[[-+][0-9.]*, [-+][0-9.]*\] | " "$TMP/install/eval.md" || exit 1; done'
rule_row_matches() {
  h=$("$SIDR" eval-diff "$TMP/work/baselines/intent-rule.test.json" "$TMP/work/eval-stage3.json" 2>/dev/null |
      sed -n 's/^HR@10 *[0-9.]* *[0-9.]* *\([-+][0-9.]*\) .*/\1/p')
  [ -n "$h" ] && grep -q "^| Stage 3 think − the intent rule | $h " "$TMP/install/eval.md"
}
check "the rule row is what eval-diff gives on the baseline's eval file" rule_row_matches
check "the Stage-3 evaluation JSON is installed beside the table" 'grep -q "\"per_row\"" "$TMP/install/eval.json"'
check "the installed demo holds a model and the data the explorer reads" \
  '[ -f "$TMP/install/model/model.safetensors" ] && [ -f "$TMP/install/data/index/"*.index.json ] && [ -d "$TMP/install/data/test" ]'
check "the installed demo recommends" \
  '"$SIDR" recommend --model "$TMP/install/model" --data "$TMP/install/data" --row test:0 --no-think --json 2>/dev/null | grep -q "\"beams\":\[{"'
echo "1..$n"
[ $failed = 0 ]

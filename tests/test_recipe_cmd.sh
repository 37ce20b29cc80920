#!/bin/sh
# sidr recipe end to end on the fixture datasets with a one-minute budget and
# the test preset (a model of a few thousand parameters): every stage's
# folder, resuming, --from, --dry-run, an interrupted stage resumed, and the
# usage errors.  Emits TAP.  No timed assertions.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
FIX=$TESTDIR/fixtures/data
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
sum() { cksum <"$1" 2>/dev/null; }
W=$TMP/mini
R="$SIDR recipe --data $FIX/minionerec --out $W --budget 1 --preset test --quiet"

# ---- a dry run on an empty work folder trains nothing -------------------------
$R --dry-run >"$TMP/dry.out" 2>"$TMP/dry.err"
check "--dry-run exits 0" '[ $? = 0 ]'
check "--dry-run prints the plan with the shares" 'grep -q "^  align .* 45%" "$TMP/dry.out" && grep -q "^  eval .* 15%" "$TMP/dry.out"'
check "--dry-run says the steps are not measured" 'grep -q "not measured (a dry run does not calibrate)" "$TMP/dry.out"'
check "--dry-run creates no work folder" '[ ! -e "$W" ]'

# ---- the whole recipe -----------------------------------------------------------
$R --json >"$TMP/run.out" 2>"$TMP/run.err"
status=$?
check "the recipe runs to the end" '[ $status = 0 ]'
[ $status = 0 ] || sed 's/^/# /' "$TMP/run.err" | tail -20
check "--json: the plan first, with measured steps" \
  'head -1 "$TMP/run.out" | grep -q "^{\"type\":\"plan\".*\"measured\":true.*\"stage\":\"align\",\"status\":\"run\",\"share\":45,\"minutes\":[0-9.]*,\"steps\":[1-9]"'
check "--json: the result last, with stage times and HR@10" \
  'tail -1 "$TMP/run.out" | grep -q "^{\"type\":\"result\".*\"stage\":\"align\",\"seconds\":.*\"metrics\":{\"HR@1\":.*\"HR@10\":"'
check "--json: nothing but the two JSON lines on stdout" '[ "$(wc -l <"$TMP/run.out")" = 2 ]'
check "a progress line per stage on stderr" \
  'for s in tokenizer model calibrate align reason rl eval; do grep -q "^== stage $s: " "$TMP/run.err" || exit 1; done'
check "the dataset has SIDs: no sids stage" '! grep -q "== stage sids" "$TMP/run.err" && [ ! -d "$W/data" ]'
check "no train split: training derives its rows" 'grep -q "\"derive_train\":true" "$TMP/run.out"'
for st in tokenizer model calibrate align reason rl eval; do
  check "$st is complete" '[ -f "$W/$st/recipe-stage.json" ]'
done
for st in model align reason rl; do
  check "$st is a loadable model" '"$SIDR" info --model "$W/$st" >/dev/null 2>&1'
done
check "the calibration's scratch runs are gone" \
  '[ ! -d "$W/calibrate/align" ] && [ ! -d "$W/calibrate/rl" ] && [ ! -d "$W/calibrate/rl-from-reason" ]'
check "rl is timed again from the Stage-2 model before it runs" \
  'grep -q "stage rl: 3 steps from the Stage-2 model ran at [0-9.]* s/step" "$TMP/run.err"'
check "the evaluation has HR@10 over the test rows" \
  'grep -q "\"HR@10\"" "$W/eval/eval.json" && grep -q "\"mode\":[[:space:]]*\"think\"" "$W/eval/eval.json" && grep -q "\"rows\":[[:space:]]*3" "$W/eval/eval.json"'
check "the plan's align steps are the ones trained" \
  'steps=$(grep -o "\"steps\":[[:space:]]*[0-9]*" "$W/align/recipe-stage.json" | grep -o "[0-9]*$"); [ -n "$steps" ] && grep -q "\"global_step\":[[:space:]]*$steps," "$W/align/trainer_state.json"'

# ---- the same command again skips everything ------------------------------------
a0=$(sum "$W/align/model.safetensors") r0=$(sum "$W/reason/train_log.jsonl") e0=$(sum "$W/eval/recipe-stage.json")
$R >"$TMP/again.out" 2>"$TMP/again.err"
check "a second run exits 0" '[ $? = 0 ]'
check "a second run skips every stage and says so" \
  'for s in tokenizer model calibrate align reason rl eval; do grep -q "^== stage $s: complete in .*, skipped" "$TMP/again.err" || exit 1; done'
check "a second run trains nothing" \
  '[ "$(sum "$W/align/model.safetensors")" = "$a0" ] && [ "$(sum "$W/reason/train_log.jsonl")" = "$r0" ] && [ "$(sum "$W/eval/recipe-stage.json")" = "$e0" ]'
check "a second run still reports the metrics" 'grep -q "HR@10" "$TMP/again.out"'

# ---- a dry run on a calibrated folder: measured steps, nothing run ---------------
$R --dry-run >"$TMP/dry2.out" 2>"$TMP/dry2.err"
check "--dry-run with a calibration shows measured steps" \
  'grep -q "steps from measured rates" "$TMP/dry2.out" && grep -q "^  align *done " "$TMP/dry2.out"'
check "--dry-run ran no stage" '! grep -q "^== stage" "$TMP/dry2.err" && [ "$(sum "$W/eval/recipe-stage.json")" = "$e0" ]'

# ---- --from reason re-runs reason, rl and eval only -----------------------------
$R --from reason >"$TMP/from.out" 2>"$TMP/from.err"
check "--from reason exits 0" '[ $? = 0 ]'
check "--from reason skips the stages before reason" \
  'for s in tokenizer model calibrate align; do grep -q "^== stage $s: complete in .*, skipped" "$TMP/from.err" || exit 1; done'
check "--from reason runs reason, rl and eval again" \
  'for s in reason rl eval; do grep -q "^== stage $s: done in" "$TMP/from.err" || exit 1; done'
check "--from reason leaves align as it was" '[ "$(sum "$W/align/model.safetensors")" = "$a0" ]'
check "--from reason gives a new evaluation" '[ -f "$W/eval/eval.json" ] && [ "$(sum "$W/eval/recipe-stage.json")" != "$e0" ]'

# ---- an interrupted training stage resumes from its checkpoint --------------------
rm -f "$W/rl/recipe-stage.json" "$W/eval/recipe-stage.json"
$R >"$TMP/resume.out" 2>"$TMP/resume.err"
check "a stage without its marker runs again, resuming its checkpoint" \
  '[ $? = 0 ] && grep -q "^== stage rl: .*resuming the interrupted run" "$TMP/resume.err" && grep -q "^== stage reason: complete" "$TMP/resume.err"'

# ---- a dataset without SIDs: a plain RecBole .inter -------------------------------
P=$TMP/plain
"$SIDR" recipe --data "$FIX/recbole-plain" --out "$P" --budget 1 --preset test --quiet --threads 1 >"$TMP/plain.out" 2>"$TMP/plain.err"
status=$?
check "the recipe runs on a RecBole .inter without SIDs" '[ $status = 0 ]'
[ $status = 0 ] || sed 's/^/# /' "$TMP/plain.err" | tail -20
check "the sids stage built a complete dataset in WORK/data" \
  'grep -q "^== stage sids: " "$TMP/plain.err" && [ -f "$P/sids/recipe-stage.json" ] && [ -d "$P/data/train" ] && [ -d "$P/data/test" ] && ls "$P/data/index/"*.index.json >/dev/null 2>&1'
check "the new dataset loads" '"$SIDR" sids stats --data "$P/data" >/dev/null 2>&1'
check "training used the new dataset" 'grep -q "\"data\":\"$P/data\"" "$P/align/train_log.jsonl"'
check "its rl model loads and its evaluation has HR@10" '"$SIDR" info --model "$P/rl" >/dev/null 2>&1 && grep -q "\"HR@10\"" "$P/eval/eval.json"'

# ---- usage errors: exit 2 with a clear message ------------------------------------
bad() { # name expected-message args...
  name=$1 msg=$2
  shift 2
  "$SIDR" recipe "$@" >/dev/null 2>"$TMP/bad.err"
  st=$?
  if [ $st = 2 ] && grep -q "$msg" "$TMP/bad.err"; then ok "$name"; else nok "$name (status $st: $(head -1 "$TMP/bad.err"))"; fi
}
bad "an unknown preset is refused" "unknown preset 'huge'" --data "$FIX/minionerec" --out "$TMP/x" --preset huge
bad "--budget 0 is refused" "budget expects minutes > 0" --data "$FIX/minionerec" --out "$TMP/x" --budget 0
bad "--budget abc is refused" "budget expects minutes > 0" --data "$FIX/minionerec" --out "$TMP/x" --budget abc
bad "a missing --data is refused" "data DIR is required" --out "$TMP/x"
bad "a missing --out is refused" "out WORK is required" --data "$FIX/minionerec"
bad "--from nonsense is refused" "from expects a stage" --data "$FIX/minionerec" --out "$TMP/x" --from nonsense
bad "shares that do not sum to 100 are refused" "sum to 105" --data "$FIX/minionerec" --out "$TMP/x" --shares align=50
bad "an unknown option is refused" "unknown option" --data "$FIX/minionerec" --out "$TMP/x" --bogus
"$SIDR" recipe --data "$TMP/nowhere" --out "$TMP/x" >/dev/null 2>"$TMP/bad.err"
check "a missing dataset folder is a runtime error naming it" '[ $? = 1 ] && grep -q "nowhere: not a directory" "$TMP/bad.err"'
check "usage errors create no work folder" '[ ! -e "$TMP/x" ]'
"$SIDR" recipe --help >"$TMP/help" 2>&1
check "--help documents the budget and the stages" '[ $? = 0 ] && grep -q -- "--budget MINUTES" "$TMP/help" && grep -q "calibrate" "$TMP/help"'

echo "1..$n"
[ $failed = 0 ]

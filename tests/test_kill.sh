#!/bin/sh
# Saved work survives SIGKILL at any point: a training run is killed again
# and again (at delays that land before, during and after saves) and resumed
# each time.  After every kill each checkpoint, best/ and the final folder
# either load and agree with their trainer_state.json or are absent; the
# run resumed to its end equals an uninterrupted run bit for bit, and no
# temporary file is left.  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
DATA=$TESTDIR/fixtures/data/minionerec
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; sed 's/^/# /' "$TMP/err" 2>/dev/null | head -5; fi; }

mkdir -p "$TMP/tok"
cp "$TESTDIR/fixtures/tokenizer/tiny_bytelevel.json" "$TMP/tok/tokenizer.json"
"$SIDR" tokenizer train --data "$DATA" --vocab 400 --out "$TMP/tok" 2>"$TMP/err" &&
"$SIDR" model init --preset tiny --hidden 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 --tokenizer "$TMP/tok" \
  --out "$TMP/base" --seed 3 2>"$TMP/err" &&
"$SIDR" model add-sids --model "$TMP/base" --data "$DATA" --out "$TMP/m" 2>"$TMP/err"
check "a small model for the fixture" '[ -f "$TMP/m/model.safetensors" ]'

STEPS=40
train() { # train OUT [--resume]  (exec: so that a kill of a background job reaches sidr itself)
  exec "$SIDR" train align --model "$TMP/m" --data "$DATA" --derive-train --out "$1" --max-steps $STEPS --batch 2 \
    --save-every 1 --save-total-limit 3 --eval-every 4 --eval-rows 4 --load-best --threads 1 --seed 5 --lr 1e-3 \
    --dtype f32 --quiet $2
}
(train "$TMP/ref") >/dev/null 2>"$TMP/err"
check "an uninterrupted run" '[ $? = 0 ] && [ -f "$TMP/ref/model.safetensors" ]'

step_of() { sed -n 's/.*"global_step":[[:space:]]*\([0-9]*\).*/\1/p' "$1/trainer_state.json" 2>/dev/null | head -1; }
# every folder that claims to be a model loads, and its state names its step
consistent() {
  for d in "$TMP/run"/checkpoint-*; do
    case "$d" in *.tmp|*.old|*.del) continue ;; esac
    [ -d "$d" ] || continue
    "$SIDR" info --model "$d" >/dev/null 2>>"$TMP/err" || { echo "# $d does not load" >>"$TMP/err"; return 1; }
    [ "$(step_of "$d")" = "${d##*-}" ] || { echo "# $d: trainer_state step $(step_of "$d")" >>"$TMP/err"; return 1; }
  done
  # best/ is all or nothing; OUT itself is a model only once config.json is in
  if [ -e "$TMP/run/best" ]; then
    "$SIDR" info --model "$TMP/run/best" >/dev/null 2>>"$TMP/err" || { echo "# best/ exists but does not load" >>"$TMP/err"; return 1; }
  fi
  for d in "$TMP/run/best" "$TMP/run"; do
    [ -f "$d/config.json" ] || continue
    "$SIDR" info --model "$d" >/dev/null 2>>"$TMP/err" || { echo "# $d does not load" >>"$TMP/err"; return 1; }
    [ -n "$(step_of "$d")" ] || { echo "# $d: no trainer_state.json beside its config.json" >>"$TMP/err"; return 1; }
  done
  return 0
}

kills=0 bad=0 finished=0
: >"$TMP/err"
for delay in 0.05 0.3 0.12 0.45 0.2 0.6 0.08 0.35 0.5 0.15 0.25 0.4 0.7 0.1 0.55 0.3 0.65 0.2 0.45 0.35 \
             0.8 0.9 1.0 1.2 1.5; do
  resume=""
  [ -d "$TMP/run" ] && resume=--resume
  (SIDR_TEST_SAVE_PAUSE_MS=15 train "$TMP/run" "$resume") >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  fi
  wait "$pid" 2>/dev/null
  [ $? = 0 ] && finished=1
  consistent || bad=$((bad + 1))
  [ $finished = 1 ] && break
done
check "after each of $kills SIGKILLs every checkpoint, best/ and the final folder load and match their state" \
  '[ $kills -ge 3 ] && [ $bad = 0 ]'
if [ $finished = 0 ]; then (train "$TMP/run" --resume) >/dev/null 2>"$TMP/err"; fi
check "resumed to the end, the run equals the uninterrupted one bit for bit" \
  'cmp -s "$TMP/ref/model.safetensors" "$TMP/run/model.safetensors" && [ "$(step_of "$TMP/run")" = $STEPS ]'
check "no temporary file or folder is left" '[ -z "$(find "$TMP/run" -name "*.tmp*" -o -name "*.old" -o -name "*.del")" ]'

# a final folder already in place, overwritten by a longer run that is
# killed while it saves: OUT's weights are always those of the step its
# state names (the checkpoint of that step has the same f32 tensors)
more=0 mixed=0
: >"$TMP/err"
for delay in 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.1 1.2; do
  STEPS=$((STEPS + 2))
  (SIDR_TEST_SAVE_PAUSE_MS=40 exec "$SIDR" train align --model "$TMP/m" --data "$DATA" --derive-train --out "$TMP/run"     --max-steps $STEPS --batch 2 --save-every 1 --save-total-limit 3 --no-eval --threads 1 --seed 5 --lr 1e-3 --dtype f32     --quiet --resume) >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null && more=$((more + 1))
  wait "$pid" 2>/dev/null
  if [ -f "$TMP/run/config.json" ]; then
    s=$(step_of "$TMP/run")
    if [ -d "$TMP/run/checkpoint-$s" ] && ! cmp -s "$TMP/run/model.safetensors" "$TMP/run/checkpoint-$s/model.safetensors"; then
      mixed=$((mixed + 1)); echo "# OUT: state at step $s, weights of another step" >>"$TMP/err"
    fi
  fi
  consistent || mixed=$((mixed + 1))
done
check "a final folder overwritten by $more killed longer runs never mixes weights and state" '[ $more -ge 3 ] && [ $mixed = 0 ]'

# a swap cut between its two renames: checkpoint-N.old without checkpoint-N is put back
# (the newest complete checkpoint: the last kill may have left a checkpoint-N.tmp beside them)
last=$(ls -d "$TMP/run"/checkpoint-* | sed -n 's/.*checkpoint-\([0-9][0-9]*\)$/\1/p' | sort -n | tail -1)
mv "$TMP/run/checkpoint-$last" "$TMP/run/checkpoint-$last.old"
mkdir "$TMP/run/best.tmp"; : >"$TMP/run/model.safetensors.tmp4242"
"$SIDR" train align --model "$TMP/m" --data "$DATA" --derive-train --out "$TMP/run" --max-steps $STEPS --batch 2 \
  --save-every 0 --no-eval --threads 1 --seed 5 --lr 1e-3 --dtype f32 --quiet --resume >/dev/null 2>"$TMP/err"
check "a cut swap is restored and stray temporaries removed on the next start" \
  '[ -d "$TMP/run/checkpoint-$last" ] && [ ! -e "$TMP/run/checkpoint-$last.old" ] && [ ! -e "$TMP/run/best.tmp" ] && [ ! -e "$TMP/run/model.safetensors.tmp4242" ]'

# a full disk on the n-th write of a save: a clear error naming the file,
# the previous checkpoint intact, and the run resumable to the same end
F=$TMP/full
(SIDR_TEST_SAVE_PAUSE_MS=0 exec "$SIDR" train align --model "$TMP/m" --data "$DATA" --derive-train --out "$F" --max-steps 4 \
  --batch 2 --save-every 2 --save-total-limit 3 --no-eval --threads 1 --seed 5 --lr 1e-3 --dtype f32 --quiet) >/dev/null 2>&1
clear=0 intact=0 tries=0 fired=0
for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
  tries=$((tries + 1))
  SIDR_TEST_FAIL_WRITE=$k "$SIDR" train align --model "$TMP/m" --data "$DATA" --derive-train --out "$F" --max-steps 8 --batch 2 \
    --save-every 2 --save-total-limit 3 --no-eval --threads 1 --seed 5 --lr 1e-3 --dtype f32 --quiet --resume >/dev/null 2>"$TMP/err"
  rc=$?
  # every injected failure stops the run with the file and the reason, or (past the run's last write) never fires
  if [ $rc = 1 ] && grep -q "No space left on device" "$TMP/err" && grep -q "$F/" "$TMP/err"; then
    clear=$((clear + 1)) fired=$((fired + 1))
  fi
  [ $rc = 0 ] && clear=$((clear + 1))
  "$SIDR" info --model "$F/checkpoint-4" >/dev/null 2>&1 && intact=$((intact + 1))
  # start again from checkpoint 4 for the next k
  rm -rf "$F/checkpoint-6" "$F/checkpoint-8" "$F"/*.tmp
done
check "a full disk at any of $tries write points ($fired of them inside the run): a clear error naming the file, checkpoint-4 intact every time" \
  '[ $clear = $tries ] && [ $intact = $tries ] && [ $fired -ge 8 ]'
SIDR_TEST_FAIL_WRITE=2:EIO "$SIDR" train align --model "$TMP/m" --data "$DATA" --derive-train --out "$F" --max-steps 8 --batch 2 \
  --save-every 2 --no-eval --threads 1 --seed 5 --lr 1e-3 --dtype f32 --quiet --resume >/dev/null 2>"$TMP/err"
check "an I/O error is reported as such" '[ $? = 1 ] && grep -q "Input/output error" "$TMP/err"'
"$SIDR" train align --model "$TMP/m" --data "$DATA" --derive-train --out "$F" --max-steps 8 --batch 2 \
  --save-every 2 --save-total-limit 3 --no-eval --threads 1 --seed 5 --lr 1e-3 --dtype f32 --quiet --resume >/dev/null 2>"$TMP/err"
check "after the failures the run resumes and finishes, leaving no temporary files" \
  '[ $? = 0 ] && [ -f "$F/config.json" ] && [ -z "$(find "$F" -name "*.tmp*" -o -name "*.del" -o -name "*.old")" ]'

echo "1..$n"
[ $failed = 0 ]

#!/bin/sh
# The embedded demo's recipe: world -> tokenizer -> SIDs -> align -> reason
# -> rl -> eval, all with sidr itself, deterministic for a seed.
#
#   share/demo/recipe.sh [WORK]      (run from the build tree, or set SIDR)
#
# WORK (default demo-work) receives every intermediate model and log;
# at the end the Stage-3 model and the evaluation data are copied into
# share/demo/model and share/demo/data, and the evaluation table into
# share/demo/eval.json and share/demo/eval.md.  Knobs (environment):
#   SEED, USERS, ITEMS, VOCAB, CODES, SID_METHOD (rqkmeans or rqvae), MODEL_ARGS, ALIGN_EPOCHS, ALIGN_WEIGHTS, ALIGN_LR,
#   REASON_EPOCHS, REASON_LR, REASON_ANSWER_WEIGHT (train reason --answer-weight), REASON_TRACE_ANSWER (--trace-answer), ALIGN_STEPS and REASON_STEPS (a step budget instead of epochs), RL_STEPS, RL_LR, RL_PROMPTS, RL_GROUP, MAX_NEW, DEST (where to install;
#   default this folder), QUIET,
#   EVAL_ROWS (default: the whole test split), TRACES (sampled traces of the last
#   evaluation, default 8; 0 skips it), THREADS, and FROM=world|align|reason|rl|eval
#   to start at a later stage when WORK already holds the earlier ones.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SIDR=${SIDR:-$(pwd)/sidr}
case $SIDR in /*) ;; *) SIDR=$(pwd)/$SIDR ;; esac
[ -x "$SIDR" ] || { echo "recipe: no sidr binary at $SIDR (set SIDR)" >&2; exit 2; }
WORK=${1:-demo-work}
SEED=${SEED:-42}
USERS=${USERS:-1500}
ITEMS=${ITEMS:-2000}
VOCAB=${VOCAB:-3000}
# Whole epochs, not a step count: with 1,500 steps Stage 1 saw 0.37 of its
# pool and no task was learned.  The task weights give the title<->SID and
# item-narrative tasks (which tie each SID to its item) more passes than the
# title-history tasks, which the SID tasks already cover.
ALIGN_EPOCHS=${ALIGN_EPOCHS:-2}
ALIGN_WEIGHTS=${ALIGN_WEIGHTS:-1=1,2=5,3=0.5,4=0.25,5=0.5,6=3,7=1}
REASON_EPOCHS=${REASON_EPOCHS:-3}
ALIGN_LEN=${ALIGN_STEPS:+--max-steps $ALIGN_STEPS}
ALIGN_LEN=${ALIGN_LEN:---epochs $ALIGN_EPOCHS}
REASON_LEN=${REASON_STEPS:+--max-steps $REASON_STEPS}
REASON_LEN=${REASON_LEN:---epochs $REASON_EPOCHS}
# GRPO: 50 steps gave +0.039 HR@10 over Stage 2; 100 steps fit the time
RL_STEPS=${RL_STEPS:-100}
RL_LR=${RL_LR:-3e-5}
RL_PROMPTS=${RL_PROMPTS:-8}
RL_GROUP=${RL_GROUP:-8}
ALIGN_LR=${ALIGN_LR:-1e-3}
REASON_LR=${REASON_LR:-5e-4}
REASON_ANSWER_WEIGHT=${REASON_ANSWER_WEIGHT:-1}
REASON_TRACE_ANSWER=${REASON_TRACE_ANSWER:-0}
CODES=${CODES:-64}
SID_METHOD=${SID_METHOD:-rqkmeans}
MODEL_ARGS=${MODEL_ARGS:-}
MAX_NEW=${MAX_NEW:-256}
DEST=${DEST:-$HERE}
Q=${QUIET:+--quiet}
EVAL_ROWS=${EVAL_ROWS:-}
FROM=${FROM:-world}
L=${EVAL_ROWS:+--limit $EVAL_ROWS}
THREADS=${THREADS:-}
T=${THREADS:+--threads $THREADS}
mkdir -p "$WORK"
log() { printf '\n== %s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# stage NAME: true when the recipe should run stage NAME (FROM skips the earlier ones)
order="world align reason rl eval"
stage() {
  for s in $order; do
    [ "$s" = "$FROM" ] && return 0
    [ "$s" = "$1" ] && return 1
  done
  return 1
}
start=$(date +%s)

if stage world; then
log "world"
# (in WORK, so the baselines' eval files name the data as the evaluations do)
(cd "$WORK" && "$SIDR" demo build --out data --seed "$SEED" --users "$USERS" --items "$ITEMS" --codes "$CODES" \
  --sid-method "$SID_METHOD" --baselines baselines --json $Q >world.json)

log "tokenizer"
"$SIDR" tokenizer train --data "$WORK/data" --vocab "$VOCAB" --out "$WORK/tokenizer"

log "model: Qwen3 layout, random weights, the world's SID tokens added"
"$SIDR" model init --preset tiny $MODEL_ARGS --tokenizer "$WORK/tokenizer" --out "$WORK/base" --seed "$SEED" --dtype f32
"$SIDR" model add-sids --model "$WORK/base" --data "$WORK/data" --out "$WORK/stage0" --seed "$SEED"
fi

if stage align; then
log "stage 1: SID-language alignment"
"$SIDR" train align --model "$WORK/stage0" --data "$WORK/data" --out "$WORK/stage1" $T \
  $ALIGN_LEN --task-weights "$ALIGN_WEIGHTS" --batch 16 --lr "$ALIGN_LR" --warmup 0.03 --schedule cosine \
  --eval-every 1000 --eval-rows 128 --save-every 500 --seed "$SEED" --load-best --dtype f32 $Q
fi

if stage reason; then
log "stage 2: reasoning activation"
"$SIDR" train reason --model "$WORK/stage1" --data "$WORK/data" --out "$WORK/stage2" $T \
  $REASON_LEN --batch 8 --lr "$REASON_LR" --answer-weight "$REASON_ANSWER_WEIGHT" --trace-answer "$REASON_TRACE_ANSWER" --warmup 0.05 --schedule cosine \
  --eval-every 1000 --eval-rows 64 --save-every 500 --eval-gen 16 --max-new "$MAX_NEW" --seed "$SEED" --dtype f32 $Q
fi

if stage rl; then
log "stage 3: GRPO"
rm -rf "$WORK/stage3"
"$SIDR" train rl --model "$WORK/stage2" --data "$WORK/data" --out "$WORK/stage3" $T \
  --max-steps "$RL_STEPS" --prompts "$RL_PROMPTS" --group "$RL_GROUP" --lr "$RL_LR" --max-new "$MAX_NEW" \
  --seed "$SEED" --eval-every 20 --eval-gen 32 --dtype bf16 $Q
fi

log "evaluation on the test split${EVAL_ROWS:+ (first $EVAL_ROWS rows)}"
# evaluate NAME MODE: one single-threaded shard per core, merged exactly
# (a model this small decodes faster on one thread than split over two).
SHARDS=${SHARDS:-$(nproc 2>/dev/null || echo 2)}
# evaluate NAME MODE [OUT]: writes eval-OUT.json (OUT defaults to NAME)
evaluate() {
  i=0 files="" out=${3:-$1}
  while [ "$i" -lt "$SHARDS" ]; do
    # run in WORK so the JSON names the model and data relative to it (no machine's paths)
    (cd "$WORK" && SIDR_THREADS=1 "$SIDR" eval --model "$1" --data data $2 $L --shard "$i/$SHARDS" \
      --json "eval-$out.part$i.json" >/dev/null 2>&1) &
    files="$files $WORK/eval-$out.part$i.json"
    i=$((i + 1))
  done
  wait
  # shellcheck disable=SC2086
  "$SIDR" eval-merge --json "$WORK/eval-$out.json" $files
  # shellcheck disable=SC2086
  rm -f $files
}
evaluate stage1 --no-think
evaluate stage2 "--think --max-reasoning $MAX_NEW"
evaluate stage3 "--think --max-reasoning $MAX_NEW"
# The same Stage-3 model decoded two more ways (the rows above are the
# paper's protocol, one greedy trace): every SID the trace names chosen
# among the history's (--grounded), and the SID list averaged over 8 traces
# sampled at temperature 0.5 (the setting chosen on the valid split).
evaluate stage3 "--think --max-reasoning $MAX_NEW --grounded" stage3-grounded
# And with the world's own trace of each row written in (--given-reasoning):
# how well the SID follows a trace, apart from how well the model writes one.
evaluate stage3 "--given-reasoning" stage3-given
TRACES=${TRACES:-8}
[ "$TRACES" -gt 0 ] && evaluate stage3 "--think --max-reasoning $MAX_NEW --traces $TRACES --temperature 0.5" stage3-traces8

log "installing into $DEST"
rm -rf "$DEST/model.new" "$DEST/data.new"
mkdir -p "$DEST/model.new" "$DEST/data.new/index" "$DEST/data.new/info"
cp "$WORK/stage3/config.json" "$WORK/stage3/model.safetensors" "$WORK/stage3/tokenizer.json" \
   "$WORK/stage3/tokenizer_config.json" "$DEST/model.new/"
[ -f "$WORK/stage3/generation_config.json" ] && cp "$WORK/stage3/generation_config.json" "$DEST/model.new/"
# The explorer needs the catalogue, the SIDs, the codebooks and the rows it
# shows; the train split and the per-sample texts are rebuilt by this recipe.
cp -R "$WORK/data/valid" "$WORK/data/test" "$DEST/data.new/"
cp "$WORK/data/info/"* "$DEST/data.new/info/"
for f in "$WORK/data/index/"*; do
  case "$f" in *integrated_narrative*) ;; *) cp "$f" "$DEST/data.new/index/" ;; esac
done
rm -rf "$DEST/model" "$DEST/data"
mv "$DEST/model.new" "$DEST/model"
mv "$DEST/data.new" "$DEST/data"
# The evaluation table: the world's own baselines and each stage, with
# bootstrap intervals and the grounding of the traces.
SIDR="$SIDR" sh "$HERE/eval_table.sh" "$WORK" >"$DEST/eval.md"
cp "$WORK/eval-stage3.json" "$DEST/eval.json"
cat "$DEST/eval.md"
log "done in $(( $(date +%s) - start )) s"

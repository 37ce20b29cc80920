#!/bin/sh
# The demo's evaluation table from a recipe's WORK folder: the world's
# baselines (popularity, its history-only intent rule, the generator's
# oracle; from their eval files in WORK/baselines, else world.json) and each stage's eval-stageN.json, with the 95%
# bootstrap intervals sidr eval reports and the grounding of the traces.
#   share/demo/eval_table.sh WORK > eval.md
set -eu
WORK=${1:?usage: eval_table.sh WORK}
# field F of the object that follows "K": in a one-line JSON
base() { sed -n 's/.*"'"$1"'":{"hr":\([0-9.]*\),"ndcg":\([0-9.]*\)}.*/\'"$2"'/p' "$WORK/world.json"; }
# a number after "KEY": in a pretty-printed sidr JSON (first occurrence)
num() { tr -d ' \t\n' <"$1" | grep -o "\"$2\":\(null\|[-0-9.e]*\)" | head -1 | cut -d: -f2; }
ci() { tr -d ' \t\n' <"$1" | sed -n "s/.*\"ci95\":{\"HR@10\":\\[\\([-0-9.e]*\\),\\([-0-9.e]*\\)\\],\"NDCG@10\":\\[\\([-0-9.e]*\\),\\([-0-9.e]*\\)\\].*/\\1 \\2 \\3 \\4/p"; }
pct() { case "$1" in null|"") echo "-" ;; *) awk -v x="$1" 'BEGIN{printf "%.1f%%", 100*x}' ;; esac; }
echo "| model | mode | HR@1 | HR@5 | HR@10 [95% CI] | NDCG@10 [95% CI] | reasoning tokens | SIDs cited per trace | in history | top-1 cited |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for b in popularity intent_rule oracle; do
  case $b in
    popularity) name="popularity (10 most frequent training targets)" ;;
    intent_rule) name="the world's history-only intent rule" ;;
    oracle) name="the generator's oracle (knows the latent intent)" ;;
  esac
  f="$WORK/baselines/$(echo "$b" | tr _ -).test.json"
  if [ -f "$f" ]; then # the baseline's own eval file (demo build --baselines): with intervals
    set -- $(ci "$f")
    printf '| %s | - | %.4f | %.4f | %.4f [%.4f, %.4f] | %.4f [%.4f, %.4f] | - | - | - | - |\n' "$name" \
      "$(num "$f" HR@1)" "$(num "$f" HR@5)" "$(num "$f" HR@10)" "$1" "$2" "$(num "$f" NDCG@10)" "$3" "$4"
  else
    printf '| %s | - | - | - | %.4f | %.4f | - | - | - | - |\n' "$name" "$(base "$b" 1)" "$(base "$b" 2)"
  fi
done
for st in 1:no-think:1 2:think:2 3:think:3 "3:think, grounded mentions:3-grounded" "3:think, 8 traces at T 0.5:3-traces8" "3:the world's trace given:3-given"; do
  n=${st%%:*} rest=${st#*:} mode=${rest%:*} f="$WORK/eval-stage${st##*:}.json"
  [ -f "$f" ] || continue
  set -- $(ci "$f")
  mentions=$(num "$f" mean_sid_mentions)
  printf '| Stage %s | %s | %.4f | %.4f | %.4f [%.4f, %.4f] | %.4f [%.4f, %.4f] | %.1f | %s | %s | %s |\n' "$n" "$mode" \
    "$(num "$f" HR@1)" "$(num "$f" HR@5)" "$(num "$f" HR@10)" "$1" "$2" "$(num "$f" NDCG@10)" "$3" "$4" \
    "$(num "$f" mean_reasoning_tokens)" "$( [ "$mentions" = null ] || [ -z "$mentions" ] && echo - || printf '%.2f' "$mentions")" \
    "$(pct "$(num "$f" history_share)")" "$(pct "$(num "$f" top1_in_trace)")"
done
# Paired differences (sidr eval-diff; SIDR names the binary): the stages
# against each other, and Stage 3 against the intent rule row by row, which
# needs the baselines' eval files (demo build --baselines WORK/baselines).
SIDR=${SIDR:-sidr}
pair() { # LABEL A.json B.json
  [ -f "$2" ] && [ -f "$3" ] || return 0
  "$SIDR" eval-diff --json "$WORK/diff.tmp.json" "$2" "$3" >/dev/null 2>&1 || return 0
  # shellcheck disable=SC2046
  set -- "$1" $(tr -d ' \t\n' <"$WORK/diff.tmp.json" |
    sed -n 's/.*"diff":{"HR@10":{"mean":\([-0-9.e]*\),"ci95":\[\([-0-9.e]*\),\([-0-9.e]*\)\]},"NDCG@10":{"mean":\([-0-9.e]*\),"ci95":\[\([-0-9.e]*\),\([-0-9.e]*\)\]}}.*/\1 \2 \3 \4 \5 \6/p')
  [ $# = 7 ] && printf '| %s | %+.4f [%+.4f, %+.4f] | %+.4f [%+.4f, %+.4f] |\n' "$@"
  rm -f "$WORK/diff.tmp.json"
}
if command -v "$SIDR" >/dev/null 2>&1 || [ -x "$SIDR" ]; then
  echo
  echo "| paired difference (B − A), test rows | HR@10 [95% interval] | NDCG@10 [95% interval] |"
  echo "|---|---|---|"
  pair "Stage 2 think − Stage 1 no-think" "$WORK/eval-stage1.json" "$WORK/eval-stage2.json"
  pair "Stage 3 think − Stage 2 think" "$WORK/eval-stage2.json" "$WORK/eval-stage3.json"
  pair "Stage 3 think − the intent rule" "$WORK/baselines/intent-rule.test.json" "$WORK/eval-stage3.json"
fi

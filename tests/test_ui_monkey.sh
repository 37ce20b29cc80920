#!/bin/sh
# The explorer under random input: for three fixed seeds, a script of
# thousands of random keys (every default key of the key table, and others),
# commands (valid, invalid, half-typed), clicks, wheel turns, resizes (1x1 to 400x120, through
# too small) and engine ticks, run headless on the tiny random model.  The
# explorer must neither crash nor hang nor leave the script early: it ends
# at the script's last line with a final dump.  Under the sanitizer build
# (./quickstart sanitize) the same run checks memory and undefined behaviour.
# The script holds no temporary path (the run is in its folder): with the
# random name in it, runs differed between machines, and some ended early.
# SIDR_MONKEY_KEYS sets the script length (default 3000).  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
. "$TESTDIR/ui_lib.sh"
DATA=$(cd "$TESTDIR/fixtures/data/minionerec" && pwd)
case $SIDR in /*) ;; *) SIDR=$(pwd)/$SIDR ;; esac
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
if ! ui_build_model "$TMP"; then
  echo "not ok 1 - build the tiny model"; sed 's/^/# /' "$TMP/build.log"; echo "1..1"; exit 1
fi
KEYS=${SIDR_MONKEY_KEYS:-3000}

# monkey SEED: writes the random script to stdout (awk's srand is seeded, so
# a seed gives the same script on every machine with the same awk)
monkey() {
  awk -v seed="$1" -v n="$KEYS" 'BEGIN {
    srand(seed)
    nk = split("j k h l g G Up Down Left Right PgUp PgDn Home End Tab BackTab 1 2 3 4 5 6 + - > < z / n N : r Esc p s t w c Backspace C-l ? F1 Enter Space o f F a [ ] m x y Del Ins", keys, " ")
    nc = split("beams 3|beams 0|think off|think on|set pace 50|set pace x|set ascii on|set ascii off|set color off|user U2|user nobody|row test:1|row test:99|run|cancel|maxtok 5|temp 0.7|seed 9|set|bogus|export " ENVIRON["MONKEY_OUT"] "/e|help|", cmds, "|")
    for (i = 0; i < n; i++) {
      r = rand()
      if (r < 0.70) print keys[int(rand() * nk) + 1]
      else if (r < 0.78) { printf ": \"%s\" %s\n", cmds[int(rand() * nc) + 1], rand() < 0.8 ? "Enter" : "Esc" }
      else if (r < 0.82) printf "/ \"%s\" Enter\n", substr("abcdefgh<_>", int(rand() * 8) + 1, 2)
      else if (r < 0.88) printf "click %d %d\n", int(rand() * 30), int(rand() * 130)
      else if (r < 0.90) printf "wheel %s %d %d\n", rand() < 0.5 ? "up" : "down", int(rand() * 30), int(rand() * 130)
      else if (r < 0.92) printf "resize %dx%d\n", 1 + int(rand() * 400), 1 + int(rand() * 120)
      else printf "tick %d\n", 1 + int(rand() * 20)
      # no quitting key (q, and C-c, which quits on a too-small screen): the script must run to its end
    }
    print "Esc"
    print "dump final"
  }'
}

for seed in 1 2 3; do
  mkdir -p "$TMP/out$seed"
  MONKEY_OUT=out$seed monkey "$seed" | grep -v '^q$' >"$TMP/monkey$seed.script"
  lines=$(wc -l <"$TMP/monkey$seed.script")
  status=0
  # run in $TMP with relative paths in the script: the random temporary
  # name must not reach the script, where the command line's history and
  # editing keys could turn it into another command on some machines only
  (cd "$TMP" && timeout 600 $SIDR explore --model model --data "$DATA" --max-reasoning 40 --beams 4 \
    --script "monkey$seed.script" --size 100x30 --dump "out$seed" </dev/null >"log$seed" 2>&1) || status=$?
  if [ $status = 0 ] && [ -s "$TMP/out$seed/final.txt" ]; then
    ok "seed $seed: $lines random inputs, no crash, the final screen drawn"
  else
    nok "seed $seed: $lines random inputs (exit $status)"; sed 's/^/# /' "$TMP/log$seed" | tail -20
  fi
done
echo "1..$n"
[ $failed = 0 ]

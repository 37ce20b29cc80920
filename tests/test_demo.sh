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
out=$("$SIDR" </dev/null 2>&1)
echo "$out" | grep -q "usage: sidr" && ok "sidr without a terminal prints the usage" || nok "sidr without a terminal prints the usage"
echo "1..$n"
[ $failed = 0 ]

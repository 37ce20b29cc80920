#!/bin/sh
# recommend, eval and eval-merge end to end on a small random model over the
# fixture dataset (the model is made here: model init + add-sids).  Emits TAP.
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
"$SIDR" tokenizer train --data "$DATA" --vocab 400 --out "$TMP/tok" 2>"$TMP/err"
check "a tokenizer trained on the fixture dataset" '[ -f "$TMP/tok/tokenizer.json" ]'
"$SIDR" model init --preset tiny --hidden 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 --tokenizer "$TMP/tok" --out "$TMP/base" --seed 3 2>"$TMP/err"
check "model init" '[ -f "$TMP/base/model.safetensors" ]'
"$SIDR" model add-sids --model "$TMP/base" --data "$DATA" --out "$TMP/m" 2>"$TMP/err"
check "model add-sids" '[ -f "$TMP/m/model.safetensors" ]'
"$SIDR" info --model "$TMP/m" --json >"$TMP/info" 2>"$TMP/err"
check "the model holds the dataset's SID tokens" 'grep -q "\"sid_tokens\":{\"count\":[1-9]" "$TMP/info"'
"$SIDR" model add-sids --model "$TMP/m" --data "$DATA" --out "$TMP/m2" 2>"$TMP/err"
check "add-sids again adds nothing new" 'grep -q " 0 new" "$TMP/err" && cmp -s "$TMP/m/tokenizer.json" "$TMP/m2/tokenizer.json"'

"$SIDR" recommend --model "$TMP/m" --data "$DATA" --row test:0 --no-think --json >"$TMP/r.json" 2>"$TMP/err"
check "recommend --no-think --json" 'grep -q "\"beams\":\[{\"sid\":\"<a_" "$TMP/r.json" && grep -q "\"rank\":" "$TMP/r.json"'
"$SIDR" recommend --model "$TMP/m" --data "$DATA" --row test:0 --think --max-reasoning 8 --json >"$TMP/t.json" 2>"$TMP/err"
check "recommend --think reports the reasoning and its length" 'grep -q "\"reasoning_tokens\":[1-8]," "$TMP/t.json" && grep -q "\"mode\":\"think\"" "$TMP/t.json"'
"$SIDR" recommend --model "$TMP/m" --data "$DATA" --row test:0 --think --max-reasoning 8 --json >"$TMP/t2.json" 2>/dev/null
check "greedy recommendation is deterministic" 'cmp -s "$TMP/t.json" "$TMP/t2.json" || [ "$(sed "s/\"timings.*//" "$TMP/t.json")" = "$(sed "s/\"timings.*//" "$TMP/t2.json")" ]'
"$SIDR" recommend --model "$TMP/m" --data "$DATA" --row test:0 --beams 3 --no-think --json >"$TMP/b3.json" 2>/dev/null
check "--beams 3 gives 3 SIDs" '[ "$(grep -o "{\"sid\":\"<a_[^\"]*\",\"score\"" "$TMP/b3.json" | wc -l)" = 3 ]'
"$SIDR" recommend --model "$TMP/m" --data "$DATA" --row test:999 --no-think >/dev/null 2>"$TMP/err"
check "an out-of-range row is a runtime error that says the split's size" '[ $? = 1 ] && grep -q "rows" "$TMP/err"'
"$SIDR" recommend --model "$TMP/m" --data "$DATA" --row nonsense --no-think >/dev/null 2>"$TMP/err"
check "a malformed row spec is refused" 'grep -q "SPLIT:N" "$TMP/err"'
"$SIDR" recommend --model "$TMP/m" --data "$DATA" --user no-such-user --no-think >/dev/null 2>"$TMP/err"
check "an unknown user is named" 'grep -q "no-such-user" "$TMP/err"'
"$SIDR" recommend --model "$TMP/m" --data "$DATA" --no-think >/dev/null 2>"$TMP/err"
check "recommend without --user or --row is a usage error" '[ $? = 2 ]'

"$SIDR" eval --model "$TMP/m" --data "$DATA" --no-think --json "$TMP/full.json" >"$TMP/out" 2>"$TMP/err"
check "eval writes metrics and per-row results" 'grep -q "\"HR@10\"" "$TMP/full.json" && grep -q "\"per_row\"" "$TMP/full.json"'
rows=$(grep -c "\"row\":" "$TMP/full.json")
"$SIDR" eval --model "$TMP/m" --data "$DATA" --no-think --shard 0/2 --json "$TMP/s0.json" >/dev/null 2>&1
"$SIDR" eval --model "$TMP/m" --data "$DATA" --no-think --shard 1/2 --json "$TMP/s1.json" >/dev/null 2>&1
"$SIDR" eval-merge --json "$TMP/merged.json" "$TMP/s0.json" "$TMP/s1.json" >"$TMP/mout" 2>"$TMP/err"
check "two shards merge to the full evaluation's metrics ($rows rows)" \
  '[ "$(grep -A8 "\"metrics\"" "$TMP/full.json" | grep -v wall)" = "$(grep -A8 "\"metrics\"" "$TMP/merged.json" | grep -v wall)" ]'
check "the merged table equals the full run's table" '[ "$(grep -v wall "$TMP/out")" = "$(grep -v wall "$TMP/mout")" ]'
"$SIDR" eval-merge "$TMP/s0.json" "$TMP/s0.json" >/dev/null 2>"$TMP/err"
check "eval-merge refuses overlapping shards" '[ $? = 1 ] && grep -q "already evaluated" "$TMP/err"'
"$SIDR" eval --model "$TMP/m" --data "$DATA" --no-think --beams 3 --shard 0/2 --json "$TMP/b.json" >/dev/null 2>&1
"$SIDR" eval-merge "$TMP/s1.json" "$TMP/b.json" >/dev/null 2>"$TMP/err"
check "eval-merge refuses shards of different evaluations" '[ $? = 1 ] && grep -q "beams" "$TMP/err"'
echo '{"nothing": 1}' >"$TMP/bad.json"
"$SIDR" eval-merge "$TMP/bad.json" >/dev/null 2>"$TMP/err"
check "eval-merge names a file that is not a result" 'grep -q "bad.json" "$TMP/err"'
"$SIDR" eval --model "$TMP/m" --data "$DATA" --shard 2/2 >/dev/null 2>"$TMP/err"
check "--shard I/N needs I < N" '[ $? = 2 ]'
"$SIDR" eval --model "$TMP/m" --data "$DATA" --split train >/dev/null 2>"$TMP/err"
check "eval on an absent split says so" '[ $? = 1 ] && grep -q "train" "$TMP/err"'

# training says what the loader doubted, as the other commands do (the
# fixture has one SID shared by two items)
"$SIDR" train align --model "$TMP/m" --data "$DATA" --out "$TMP/tr" --max-steps 1 --quiet >/dev/null 2>"$TMP/err"
check "train prints the dataset's warnings" 'grep -q "^sidr train: warning: 1 SIDs are shared by more than one item" "$TMP/err"'

# grounding and intervals
"$SIDR" eval --model "$TMP/m" --data "$DATA" --think --max-reasoning 24 --json "$TMP/think.json" >"$TMP/tout" 2>"$TMP/err"
check "eval --think reports grounding per row and averaged" \
  'grep -q "\"grounding\":" "$TMP/think.json" && grep -q "\"history_mentions\":" "$TMP/think.json" && grep -q "\"reasoning\":" "$TMP/think.json" && grep -q "^grounding: " "$TMP/tout"'
check "eval reports 95% bootstrap intervals" 'grep -q "\"ci95\":" "$TMP/full.json" && grep -q "^95% bootstrap intervals: HR@10 \[" "$TMP/out"'
# the averaged mentions are the sum of the per-row ones
flat() { tr -d ' \t\n' <"$1"; }
sum=$(flat "$TMP/think.json" | grep -o "\"sid_mentions\":[0-9]*" | tail -n +2 | sed 's/.*://' | awk '{s+=$1} END{print s+0}')
total=$(flat "$TMP/think.json" | grep -o "\"sid_mentions\":[0-9]*" | head -1 | sed 's/.*://')
traces=$(flat "$TMP/think.json" | grep -o "\"trace_rows\":[0-9]*" | sed 's/.*://')
rows_measured=$(flat "$TMP/think.json" | grep -o "\"top1_mentioned\":" | wc -l)
check "the summary's mentions ($total) add up the rows' ($sum), over every row's trace ($traces of $rows_measured)" \
  '[ -n "$total" ] && [ "$sum" = "$total" ] && [ "$traces" = 3 ] && [ "$rows_measured" = 3 ]'
"$SIDR" eval --model "$TMP/m" --data "$DATA" --think --max-reasoning 24 --shard 0/2 --json "$TMP/ts0.json" >/dev/null 2>&1
"$SIDR" eval --model "$TMP/m" --data "$DATA" --think --max-reasoning 24 --shard 1/2 --json "$TMP/ts1.json" >/dev/null 2>&1
"$SIDR" eval-merge "$TMP/ts1.json" "$TMP/ts0.json" >"$TMP/tmout" 2>"$TMP/err"
check "merged think shards (in any order) give the full run's grounding and intervals" \
  '[ "$(grep -v wall "$TMP/tout")" = "$(grep -v wall "$TMP/tmout")" ]'

# an interrupted eval continues from its JSON: the same table as one run
"$SIDR" eval --model "$TMP/m" --data "$DATA" --think --max-reasoning 24 --stop-after 1 --json "$TMP/part.json" >/dev/null 2>"$TMP/err"
check "eval --stop-after 1 exits 1 with a partial result of one row" \
  '[ $? = 1 ] && flat "$TMP/part.json" | grep -q "\"complete\":false" && [ "$(grep -c "\"row\":" "$TMP/part.json")" = 1 ]'
"$SIDR" eval --model "$TMP/m" --data "$DATA" --think --max-reasoning 24 --json "$TMP/part.json" --resume >"$TMP/rout" 2>"$TMP/err"
check "eval --resume continues it: complete, and the table equals an uninterrupted run's" \
  '[ $? = 0 ] && grep -q "1 of 3 rows already evaluated, continuing" "$TMP/err" && flat "$TMP/part.json" | grep -q "\"complete\":true" && [ "$(grep -v wall "$TMP/tout")" = "$(grep -v wall "$TMP/rout")" ]'
check "the resumed rows are the uninterrupted run's, row by row" \
  '[ "$(flat "$TMP/think.json" | grep -o "\"rank\":-*[0-9]*" )" = "$(flat "$TMP/part.json" | grep -o "\"rank\":-*[0-9]*")" ]'
"$SIDR" eval --model "$TMP/m" --data "$DATA" --think --max-reasoning 24 --beams 3 --json "$TMP/part.json" --resume >/dev/null 2>"$TMP/err"
check "eval --resume refuses a file of another evaluation, naming the field" '[ $? = 1 ] && grep -q "field .beams. differs" "$TMP/err"'
"$SIDR" eval --model "$TMP/m" --data "$DATA" --resume >/dev/null 2>"$TMP/err"
check "eval --resume without --json is a usage error" '[ $? = 2 ]'

# eval-diff: a run against itself, and a hand-made pair with known answers
"$SIDR" eval-diff "$TMP/full.json" "$TMP/full.json" >"$TMP/dout" 2>"$TMP/err"
check "eval-diff of a run with itself: zero difference, no row hits in only one" \
  'grep -q "^HR@10 .* +0.0000  \[+0.0000, +0.0000\]" "$TMP/dout" && grep -q "^only A hits: 0 rows" "$TMP/dout" && grep -q "^only B hits: 0 rows" "$TMP/dout"'
mk() { # mk FILE SPLIT rank0 rank1 rank2 rank3
  printf '{"model":"%s","split":"%s","mode":"think","per_row":[' "$1" "$2" >"$TMP/$1"
  printf '{"row":0,"user":"u0","rank":%s},{"row":1,"user":"u1","rank":%s},{"row":2,"user":"u2","rank":%s},{"row":3,"user":"u3","rank":%s}]}' "$3" "$4" "$5" "$6" >>"$TMP/$1"
}
mk a.json test 0 -1 5 20
mk b.json test -1 2 5 3
"$SIDR" eval-diff --json "$TMP/d.json" "$TMP/a.json" "$TMP/b.json" >"$TMP/dout" 2>"$TMP/err"
check "eval-diff: HR@10 0.5 -> 0.75, +0.25" 'grep -q "^HR@10 *0.5000 *0.7500 *+0.2500" "$TMP/dout"'
check "eval-diff lists the row only A hits and the two only B hits" \
  'grep -q "^only A hits: 1 rows" "$TMP/dout" && grep -q "test:0 u0  rank 0 -> -1" "$TMP/dout" && grep -q "^only B hits: 2 rows" "$TMP/dout" && flat "$TMP/d.json" | grep -q "\"only_b\":\[{\"row\":1,"'
check "eval-diff --json has the paired interval" 'flat "$TMP/d.json" | grep -q "\"diff\":{\"HR@10\":{\"mean\":0.25,\"ci95\":\[-0.5,1\]"'
mk c.json valid 0 0 0 0
"$SIDR" eval-diff "$TMP/a.json" "$TMP/c.json" >/dev/null 2>"$TMP/err"
check "eval-diff refuses runs of different splits" '[ $? = 1 ] && grep -q "split" "$TMP/err"'
"$SIDR" eval-diff "$TMP/a.json" "$TMP/bad.json" >/dev/null 2>"$TMP/err"
check "eval-diff names a file that is not a result" '[ $? = 1 ] && grep -q "bad.json" "$TMP/err"'
"$SIDR" eval-diff "$TMP/a.json" >/dev/null 2>"$TMP/err"
check "eval-diff needs two files" '[ $? = 2 ]'

echo "1..$n"
[ $failed = 0 ]

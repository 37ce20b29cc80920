#!/bin/sh
# The command-line contract (SPEC §3): exit codes, JSON shapes, errors that
# name the problem.  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
SHARED=${SIDR_SHARED:-../shared}
FIX=$TESTDIR/fixtures/models
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# check NAME EXPECTED_STATUS PATTERN_IN_OUTPUT -- command...
check() {
  name=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  got=$?
  if [ "$got" != "$want" ]; then
    nok "$name (exit $got, expected $want)"; sed 's/^/# /' "$TMP/err" | head -5; return
  fi
  if [ -n "$pattern" ] && ! grep -q -- "$pattern" "$TMP/out" "$TMP/err"; then
    nok "$name (output lacks '$pattern')"; head -c 400 "$TMP/out" "$TMP/err" | sed 's/^/# /'; return
  fi
  ok "$name"
}

M=$FIX/qwen3-tied-bf16
check "no arguments prints usage" 0 "usage: sidr" -- "$SIDR"
check "--help prints usage" 0 "usage: sidr" -- "$SIDR" --help
check "unknown command is a usage error" 2 "unknown command" -- "$SIDR" frobnicate
check "info on a fixture" 0 "qwen3" -- "$SIDR" info --model "$M"
check "info --json" 0 '"parameters":' -- "$SIDR" info --model "$M" --json
check "info on a missing folder fails with its name" 1 "does-not-exist" -- "$SIDR" info --model "$TMP/does-not-exist"
# --numerics: every command that runs a model takes it, anywhere after the
# command; info, the JSON outputs and the explorer say which is in effect
check "info says the numerics policy (exact by default)" 0 "numerics        exact" -- "$SIDR" info --model "$M"
check "--numerics fast before the command's own options" 0 '"numerics":"fast"' -- "$SIDR" info --numerics fast --model "$M" --json
check "--numerics=exact after them" 0 '"numerics":"exact"' -- "$SIDR" logits --model "$M" --tokens 1,2,3 --json --numerics=exact
check "generate --json names the policy" 0 '"numerics":"fast"' -- "$SIDR" generate --model "$M" --tokens 1,2 --max-tokens 2 --json --numerics fast
check "a bad --numerics is a usage error naming the value" 2 "expects exact or fast, got 'bf16'" -- "$SIDR" logits --model "$M" --tokens 1 --numerics bf16
check "--numerics without a value" 2 "expects exact or fast" -- "$SIDR" info --model "$M" --numerics
# the exact policy: the logits of position k-1 of one prefill equal those of a prefill of the first k tokens, bit for bit
"$SIDR" logits --model "$M" --tokens 5,9,2,7,11,3,8,1,4,6 --all --json >"$TMP/all.json" 2>/dev/null
"$SIDR" logits --model "$M" --tokens 5,9,2,7,11,3 --json >"$TMP/six.json" 2>/dev/null
row6=$(tr -d ' \n' <"$TMP/all.json" | sed 's/.*"logits":\[\[//; s/\]\],"numerics.*//; s/\],\[/\n/g' | sed -n 6p)
last6=$(tr -d ' \n' <"$TMP/six.json" | sed 's/.*"logits":\[\[//; s/\]\],"numerics.*//')
if [ -n "$row6" ] && [ "$row6" = "$last6" ]; then ok "logits: position 6 of a 10-token prefill equals a 6-token prefill's last, digit for digit"
else nok "logits: position 6 of a 10-token prefill equals a 6-token prefill's last, digit for digit"; fi
check "info with a stray argument is a usage error" 2 "unexpected argument" -- "$SIDR" info --model "$M" extra
check "logits --json shape" 0 '^{"n_vocab":[0-9]*,"logits":\[\[' -- "$SIDR" logits --model "$M" --tokens 1,2,3 --json
check "logits without --json is a usage error" 2 "json" -- "$SIDR" logits --model "$M" --tokens 1,2,3
check "logits with a bad id list is a usage error" 2 "token ids" -- "$SIDR" logits --model "$M" --tokens 1,x --json
check "logits with an id outside the vocabulary fails" 1 "outside the vocabulary" -- "$SIDR" logits --model "$M" --tokens 1,999999 --json
"$SIDR" logits --model "$M" --tokens 5,6,7 --all --json >"$TMP/all" 2>/dev/null
rows=$(grep -o '\],\[' "$TMP/all" | wc -l)
[ "$rows" = 2 ] && ok "logits --all gives one row per position" || nok "logits --all gives one row per position (got $((rows + 1)))"
"$SIDR" logits --model "$M" --tokens 5,6,7 --json >"$TMP/last" 2>/dev/null
last_all=$(sed 's/.*\],\[//; s/\]\]}$//' "$TMP/all")
last=$(sed 's/.*"logits":\[\[//; s/\]\]}$//' "$TMP/last")
[ -n "$last" ] && [ "$last_all" = "$last" ] && ok "the last row of --all equals the plain last-position logits" \
  || nok "the last row of --all equals the plain last-position logits"
check "generate --tokens --json without a tokenizer" 0 '^{"ids":\[[0-9,]*\],"text":null,"numerics":"exact"}' -- \
  "$SIDR" generate --model "$M" --tokens 1,2,3 --max-tokens 4 --json
"$SIDR" generate --model "$M" --tokens 1,2,3 --max-tokens 8 --json >"$TMP/g1" 2>/dev/null
"$SIDR" generate --model "$M" --tokens 1,2,3 --max-tokens 8 --json >"$TMP/g2" 2>/dev/null
cmp -s "$TMP/g1" "$TMP/g2" && ok "greedy generation is deterministic" || nok "greedy generation is deterministic"
"$SIDR" generate --model "$M" --tokens 1,2,3 --max-tokens 8 --temperature 1 --seed 5 --json >"$TMP/s1" 2>/dev/null
"$SIDR" generate --model "$M" --tokens 1,2,3 --max-tokens 8 --temperature 1 --seed 5 --json >"$TMP/s2" 2>/dev/null
cmp -s "$TMP/s1" "$TMP/s2" && ok "seeded sampling is reproducible" || nok "seeded sampling is reproducible"
check "generate needs --tokens or --prompt" 2 "exactly one" -- "$SIDR" generate --model "$M"
check "generate rejects a bad temperature" 2 "temperature" -- "$SIDR" generate --model "$M" --tokens 1 --temperature hot
check "generate rejects --top-p 0" 2 "top-p" -- "$SIDR" generate --model "$M" --tokens 1 --top-p 0
check "--chat needs --prompt" 2 "prompt" -- "$SIDR" generate --model "$M" --tokens 1 --chat

# With the real Qwen3 tokenizer: a model folder that pairs it with a fixture.
QTOK=$SHARED/tokenizers/qwen3
if [ -f "$QTOK/tokenizer.json" ]; then
  mkdir -p "$TMP/qwen"
  cp "$QTOK/tokenizer.json" "$QTOK/tokenizer_config.json" "$TMP/qwen/"
  check "tokenize --json" 0 '^{"ids":\[9707,1879\]}$' -- "$SIDR" tokenize --model "$TMP/qwen" --json "Hello world"
  check "tokenize special tokens" 0 '^{"ids":\[151644,872,198\]}$' -- "$SIDR" tokenize --model "$TMP/qwen" --json "<|im_start|>user
"
  printf 'a\n' >"$TMP/in"
  "$SIDR" tokenize --model "$TMP/qwen" --json - <"$TMP/in" >"$TMP/out" 2>&1
  grep -q '^{"ids":\[64,198\]}$' "$TMP/out" && ok "tokenize - keeps stdin's trailing newline" || nok "tokenize - keeps stdin's trailing newline ($(cat "$TMP/out"))"
  check "detokenize" 0 "Hello world" -- "$SIDR" detokenize --model "$TMP/qwen" 9707,1879
  "$SIDR" detokenize --model "$TMP/qwen" 151644,872,198 >"$TMP/out"
  printf '<|im_start|>user\n' | cmp -s - "$TMP/out" && ok "detokenize is byte-exact" || nok "detokenize is byte-exact"
  check "detokenize rejects an unknown id" 1 "" -- "$SIDR" detokenize --model "$TMP/qwen" 99999999
  printf '\377\376' >"$TMP/bad"
  check "tokenize rejects invalid UTF-8" 1 "UTF-8" -- sh -c "\"$SIDR\" tokenize --model \"$TMP/qwen\" --json - <\"$TMP/bad\""
else
  skip "Qwen3 tokenizer tests: $QTOK is absent"
fi
check "tokenize without a tokenizer.json names the file" 1 "tokenizer.json" -- "$SIDR" tokenize --model "$M" --json "hi"

# Non-finite weights (issue 12): a NaN in the first MLP layer stops every run,
# naming the tensor; info --check scans and names it too.
# poke_bf16 FILE TENSOR BYTES: overwrites the first element of TENSOR.
poke_bf16() {
  hl=$(od -An -t u8 -N8 "$1" | tr -d ' ')
  b=$(head -c $((hl + 8)) "$1" | tail -c "$hl" | grep -o "\"$2\":{[^}]*}" | sed 's/.*"data_offsets":\[\([0-9]*\),.*/\1/')
  [ -n "$b" ] && printf "$3" | dd of="$1" bs=1 seek=$((8 + hl + b)) conv=notrunc 2>/dev/null
}
check "info --check on a sound model" 0 "all 24 tensors finite" -- "$SIDR" info --model "$M" --check
cp -r "$M" "$TMP/nan"
poke_bf16 "$TMP/nan/model.safetensors" model.layers.0.mlp.gate_proj.weight '\300\177'
NANMSG="tensor 'model.layers.0.mlp.gate_proj.weight' holds NaN at element \[0, 0\]"
check "info --check names the tensor holding NaN" 1 "$NANMSG" -- "$SIDR" info --model "$TMP/nan" --check
check "generate on a model holding NaN stops, naming the tensor" 1 "$NANMSG" -- \
  "$SIDR" generate --model "$TMP/nan" --tokens 1,2,3 --max-tokens 4 --json
check "logits on a model holding NaN stops, naming the tensor" 1 "$NANMSG" -- \
  "$SIDR" logits --model "$TMP/nan" --tokens 1,2,3 --json
DEMO=$TESTDIR/../share/demo
if [ -f "$DEMO/model/model.safetensors" ]; then
  cp -r "$DEMO/model" "$TMP/demo-nan"
  poke_bf16 "$TMP/demo-nan/model.safetensors" model.layers.0.mlp.gate_proj.weight '\300\177'
  check "recommend --think on the demo model with NaN in its first MLP layer fails, naming it" 1 "$NANMSG" -- \
    "$SIDR" recommend --model "$TMP/demo-nan" --data "$DEMO/data" --row test:0 --think
  cp -r "$DEMO/model" "$TMP/demo-short"
  sed 's/"max_position_embeddings":[^,]*,/"max_position_embeddings": 8,/' "$DEMO/model/config.json" >"$TMP/demo-short/config.json"
  check "recommend with max_position_embeddings 8 fails, naming the limit" 1 "max_position_embeddings 8" -- \
    "$SIDR" recommend --model "$TMP/demo-short" --data "$DEMO/data" --row test:0 --no-think
else
  skip "demo model absent: recommend on non-finite weights"
  skip "demo model absent: recommend past max_position_embeddings"
fi

# max_position_embeddings (256 in the fixtures) is enforced.
check "generate --max-tokens past max_position_embeddings fails, naming the limit" 1 \
  "plus --max-tokens 100000 exceeds the model's max_position_embeddings 256" -- \
  "$SIDR" generate --model "$M" --tokens 1,2,3 --max-tokens 100000 --json
"$SIDR" generate --model "$M" --tokens 1,2,3 --json >"$TMP/out" 2>/dev/null
ids=$(sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/' "$TMP/out" | tr ',' '\n' | grep -c .)
[ "$ids" -le 253 ] && ok "generate's default budget stops at max_position_embeddings ($ids new tokens)" \
  || nok "generate's default budget stops at max_position_embeddings ($ids new tokens)"
long=$(seq -s, 1 300)
check "logits on 300 tokens past max_position_embeddings 256 fails" 1 \
  "300 tokens exceed the model's max_position_embeddings 256" -- "$SIDR" logits --model "$M" --tokens "$long" --json

# Datasets (issue 12): the loader's warnings reach the user; NUL bytes and
# misspelled columns are errors; title disagreements and skipped rows are told.
if [ -f "$DEMO/model/model.safetensors" ]; then
  D=$TMP/demo-data
  cp -r "$DEMO/data" "$D"
  check "recommend on data without a train split runs" 0 "" -- "$SIDR" recommend --model "$DEMO/model" --data "$D" --row test:0 --no-think
  if grep -q "train split missing" "$TMP/err"; then nok "a missing train split is not a warning where no train split is read"
  else ok "a missing train split is not a warning where no train split is read"; fi
  CSV=$(ls "$D"/test/*.csv)
  cp "$CSV" "$TMP/orig.csv"
  # an empty history on the first row and a title that disagrees with item.json on the second
  sed '2s/^\(U[0-9]*\),"\[[^]]*\]",/\1,"[]",/; 2s/"\[[0-9, ]*\]",\([0-9]*\),"\[[^]]*\]",/"[]",\1,"[]",/' "$TMP/orig.csv" >"$CSV"
  check "a row with an empty history is reported, with what it does to row numbers" 0 \
    "row numbers such as --row SPLIT:N count only the rows kept" -- \
    "$SIDR" recommend --model "$DEMO/model" --data "$D" --row test:0 --no-think
  sed '2s/,"Sproutly 72 Cell Seed Starter Kit, With Humidity Dome",/,"A Different Title",/' "$TMP/orig.csv" >"$CSV"
  check "a CSV title that disagrees with item.json is reported" 0 \
    "differs from the catalogue's (the catalogue title is kept)" -- \
    "$SIDR" recommend --model "$DEMO/model" --data "$D" --row test:0 --no-think
  sed '1s/history_item_sid/history_item_sids/' "$TMP/orig.csv" >"$CSV"
  check "a misspelled SID column is an error naming the column it resembles" 1 \
    "column 'history_item_sids' is not one sidr reads; did you mean 'history_item_sid'?" -- \
    "$SIDR" recommend --model "$DEMO/model" --data "$D" --row test:0 --no-think
  { head -n 1 "$TMP/orig.csv"; sed -n '2p' "$TMP/orig.csv" | sed 's/^U0/U\x000/'; } >"$CSV"
  check "a NUL byte in a user id is an error naming the line" 1 ":2: a NUL byte at column 2" -- \
    "$SIDR" recommend --model "$DEMO/model" --data "$D" --row test:0 --no-think
  cp "$TMP/orig.csv" "$CSV"
else
  skip "demo absent: dataset warnings"
fi

# Messages that name the file, the field and what was expected (issue 12).
check "explore --size 100000x100000 says which side is out of range" 2 \
  "got '100000x100000': the width 100000 is outside 1..1000" -- "$SIDR" explore --size 100000x100000 --script /dev/null
check "explore --size 80x24x says what is not a number" 2 "the height '24x' is not a whole number" -- \
  "$SIDR" explore --size 80x24x --script /dev/null
check "explore --size 80 says the x is missing" 2 "no 'x' between the width and the height" -- \
  "$SIDR" explore --size 80 --script /dev/null
MINI=$TESTDIR/fixtures/data/minionerec
cp -r "$MINI" "$TMP/dup"
sed -n 1p "$MINI/info/Mini_5_2016.txt" | sed 's/<c_3>/<c_9>/' >>"$TMP/dup/info/Mini_5_2016.txt"
DUPMSG="Mini_5_2016.txt:10: field 'item_id': item '0' is listed again (first on line 1); expected each item id once"
check "an item id listed twice in info.txt is named as such (not blamed on its SID)" 1 "$DUPMSG" -- \
  "$SIDR" sids stats --data "$TMP/dup"
rm "$TMP/dup/index/Mini.index.json"
check "an item id listed twice in info.txt, without an index" 1 "$DUPMSG" -- "$SIDR" sids stats --data "$TMP/dup"
cp "$MINI/info/Mini_5_2016.txt" "$TMP/dup/info/Mini_5_2016.txt"
sed -n 1p "$MINI/info/Mini_5_2016.txt" >>"$TMP/dup/info/Mini_5_2016.txt"
check "a line repeated in info.txt is an error too" 1 "$DUPMSG" -- "$SIDR" sids stats --data "$TMP/dup"
cp -r "$TESTDIR/fixtures/data/recbole-split" "$TMP/notext"
rm "$TMP/notext/Sci.text"
check "a RecBole split without Sci.text: sids build names the missing files" 1 \
  "none of the 13 items has a title or text: neither Sci.text (item_id:token<TAB>text:token_seq) nor Sci.item" -- \
  "$SIDR" sids build --data "$TMP/notext" --out "$TMP/notext-out" --codes 4 --quiet
check "a RecBole split without Sci.text: the loader warns" 1 \
  "warning: .*notext: no Sci.item or Sci.text: the items have ids but no titles or text" -- \
  "$SIDR" sids build --data "$TMP/notext" --out "$TMP/notext-out" --codes 4 --quiet
printf 'item_id:token\ttext:token_seq\n' >"$TMP/notext/Sci.text"
check "a RecBole Sci.text with no rows: sids build names the file" 1 \
  "notext/Sci.text holds no text for them" -- \
  "$SIDR" sids build --data "$TMP/notext" --out "$TMP/notext-out" --codes 4 --quiet
if [ -f "$DEMO/model/model.safetensors" ]; then
  cp -r "$DEMO/data" "$TMP/hdr"
  HCSV=$(ls "$TMP/hdr"/test/*.csv)
  head -n 1 "$HCSV" >"$TMP/hdr.csv" && mv "$TMP/hdr.csv" "$HCSV"
  check "--row test:0 on a header-only CSV names the file and says it has no rows" 1 \
    "row 'test:0': .*/test/Home_and_Hobby_demo.csv: the test split has no rows (only a header); expected at least one row" -- \
    "$SIDR" recommend --model "$DEMO/model" --data "$TMP/hdr" --row test:0 --no-think
  check "a header-only CSV is a loader warning" 1 "warning: .*Home_and_Hobby_demo.csv: no rows after the header" -- \
    "$SIDR" recommend --model "$DEMO/model" --data "$TMP/hdr" --row test:0 --no-think
  check "detokenize names the tokenizer file and the vocabulary, not a function" 1 \
    "model/tokenizer.json: token id 99999999 (id 2 of 2 given) is not in the vocabulary: expected an id in 0..3191 (out of range)" -- \
    "$SIDR" detokenize --model "$DEMO/model" 5,99999999
  if grep -q "tokenizer_decode" "$TMP/err"; then nok "detokenize prints no internal function name"
  else ok "detokenize prints no internal function name"; fi
  printf 'resize 5000x10\n' >"$TMP/big.script"
  check "a script's resize out of range names the line and the side" 1 \
    "big.script:1: resize expects WxH with W and H in 1..1000 (e.g. 80x24), got '5000x10': the width 5000 is outside 1..1000" -- \
    "$SIDR" explore --model "$DEMO/model" --data "$DEMO/data" --script "$TMP/big.script" --size 80x24
else
  skip "demo absent: header-only CSV, detokenize and script resize messages"
fi

# sidr bench names the CPU its numbers come from (text and JSON)
if "$SIDR" bench --model "$M" --repeats 1 --prompt-tokens 4 --decode-tokens 2 --json >"$TMP/bench.json" 2>"$TMP/err" &&
   grep -q '"cpu":"[^"]' "$TMP/bench.json" && grep -q '"cpus":[1-9]' "$TMP/bench.json"; then
  ok "bench --json names the CPU and the CPU count"
else nok "bench --json names the CPU and the CPU count"; sed 's/^/# /' "$TMP/err" | head -5; fi
if "$SIDR" bench --model "$M" --repeats 1 --prompt-tokens 4 --decode-tokens 2 2>"$TMP/err" | grep -q '^cpu  '; then
  ok "bench's table has a cpu line"
else nok "bench's table has a cpu line"; fi
# --capture: the decode again with every decoded position captured, beside the plain one
if "$SIDR" bench --model "$M" --repeats 1 --prompt-tokens 4 --decode-tokens 3 --capture --json >"$TMP/bcap.json" 2>"$TMP/err" &&
   grep -q '"decode_capture_tok_s":[0-9]' "$TMP/bcap.json" && grep -q '"capture_vs_off":[0-9]' "$TMP/bcap.json" &&
   ! grep -q '"decode_capture_tok_s"' "$TMP/bench.json"; then
  ok "bench --capture times a captured decode beside the plain one (JSON); without it, no such field"
else nok "bench --capture times a captured decode beside the plain one (JSON)"; sed 's/^/# /' "$TMP/err" | head -5; fi
if "$SIDR" bench --model "$M" --repeats 1 --prompt-tokens 4 --decode-tokens 3 --capture 2>"$TMP/err" |
   grep -q '^decode, capture on  [0-9.]* tok/s'; then
  ok "bench --capture's table has the captured decode's line"
else nok "bench --capture's table has the captured decode's line"; fi

# demo build --baselines: each baseline as an eval file that eval-diff pairs with
if "$SIDR" demo build --out "$TMP/dw" --seed 7 --users 80 --items 200 --codes 16 --quiet --json --baselines "$TMP/dwb" \
     >"$TMP/dw.json" 2>"$TMP/err" && command -v python3 >/dev/null 2>&1 &&
   python3 - "$TMP/dw.json" "$TMP/dwb" >"$TMP/why" 2>&1 <<'EOT'
import json, math, sys
summary = json.load(open(sys.argv[1]))["baselines_test"]
for name, key in (("popularity", "popularity"), ("intent-rule", "intent_rule"), ("oracle", "oracle")):
    for split in ("valid", "test"):
        d = json.load(open("%s/%s.%s.json" % (sys.argv[2], name, split)))
        assert d["split"] == split and d["mode"] == "baseline" and d["model"] == name, (name, split)
        rows = d["per_row"]
        assert [r["row"] for r in rows] == list(range(len(rows))) and d["metrics"]["rows"] == len(rows)
        hr = ndcg = 0
        for r in rows:
            b = r["beams"]
            assert 0 < len(b) <= 10 and len(set(b)) == len(b), r
            assert r["rank"] == (b.index(r["target"]) if r["target"] in b else -1), r
            hr += r["rank"] >= 0
            ndcg += 1 / math.log2(r["rank"] + 2) if r["rank"] >= 0 else 0
        assert abs(d["metrics"]["HR@10"] - hr / len(rows)) < 1e-9
        if split == "test":
            assert len(rows) == summary["rows"]
            assert abs(hr / len(rows) - summary[key]["hr"]) < 1e-5 and abs(ndcg / len(rows) - summary[key]["ndcg"]) < 1e-5, name
print("ok")
EOT
then ok "demo build --baselines writes each baseline's rows as eval files whose ranks give the summary's HR/NDCG"
else nok "demo build --baselines writes each baseline's rows as eval files whose ranks give the summary's HR/NDCG"; sed 's/^/# /' "$TMP/err" "$TMP/why" | tail -5; fi
check "eval-diff pairs the intent rule with the oracle" 0 "intent-rule (baseline)" -- \
  "$SIDR" eval-diff "$TMP/dwb/intent-rule.test.json" "$TMP/dwb/oracle.test.json"
check "demo build --baselines into a folder that cannot be made fails naming it" 1 "baselines $TMP/dw/train/x/y" -- \
  "$SIDR" demo build --out "$TMP/dw2" --seed 7 --users 80 --items 200 --codes 16 --quiet --baselines "$TMP/dw/train/x/y"

# demo build --sid-method rqvae: the same world with RQ-VAE SIDs, which its texts cite
if "$SIDR" demo build --out "$TMP/dwv" --seed 7 --users 80 --items 200 --codes 16 --quiet --json --sid-method rqvae \
     >"$TMP/dwv.json" 2>"$TMP/err" && command -v python3 >/dev/null 2>&1 &&
   python3 - "$TMP/dw" "$TMP/dwv" >"$TMP/why" 2>&1 <<'EOT'
import csv, glob, json, re, sys
csv.field_size_limit(1 << 30)
def world(d):
    w = json.load(open(d + "/demo_world.json"))
    return w, {it["id"]: it["sid"] for it in w["items"]}
wk, sk = world(sys.argv[1])
wv, sv = world(sys.argv[2])
assert wk["settings"]["sid_method"] == "rqkmeans" and wv["settings"]["sid_method"] == "rqvae"
assert [(it["type"], it["brand"], it["price"]) for it in wk["items"]] == [(it["type"], it["brand"], it["price"]) for it in wv["items"]], "the catalogue differs"
assert sum(sk[i] != sv[i] for i in sk) > len(sk) / 2, "the SIDs hardly differ"
assert len(set(sv.values())) == len(sv), "RQ-VAE SIDs collide"
index = json.load(open(glob.glob(sys.argv[2] + "/index/*.index.json")[0]))
assert {k: "".join(v) for k, v in index.items()} == sv
cited = 0
for r in csv.DictReader(open(glob.glob(sys.argv[2] + "/index/*.integrated_narrative.csv")[0])):
    for m in re.findall(r"<a_\d+><b_\d+><c_\d+>", r["reasoning_path"] + r["integrated_narrative"]):
        assert m in set(sv.values()), m
        cited += 1
assert cited > 100, cited
print("ok")
EOT
then ok "demo build --sid-method rqvae: the same catalogue with RQ-VAE SIDs, unique, in index.json and in every text"
else nok "demo build --sid-method rqvae: the same catalogue with RQ-VAE SIDs, unique, in index.json and in every text"; sed 's/^/# /' "$TMP/err" "$TMP/why" | tail -5; fi
check "demo build --sid-method of an unknown method is refused naming the choices" 2 "rqkmeans or rqvae" -- \
  "$SIDR" demo build --out "$TMP/dwx" --sid-method pq

echo "1..$n"
[ $failed = 0 ]

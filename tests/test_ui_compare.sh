#!/bin/sh
# A/B compare and the eval-diff filter in the explorer, headless, on the tiny
# fixture model (model A) and a copy of it with its last MLP output scaled
# (model B, ui_perturb_model: the same tokenizer and SID tokens):
#  - --compare DIR and :compare DIR load model B; after r the compare view
#    shows, for model B, what `sidr recommend` on model B gives for the row
#    (its target rank and top SID), and for A what recommend on A gives; the
#    first divergent token it names is where the two traces part;
#  - refusals: a folder that does not exist, a model whose vocabulary lacks
#    the SID tokens (sidr model init without add-sids), both on the command
#    line (exit 1) and as :compare (a message; the explorer goes on);
#  - :filter eval-diff A.json B.json lists exactly the rows `sidr eval-diff
#    --json` reports as only A / only B, marked A / B; malformed files are
#    refused on the message line naming the file and the field;
#  - with VALGRIND set, a compare session under valgrind is clean.
# Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
. "$TESTDIR/ui_lib.sh"
DATA=$TESTDIR/fixtures/data/minionerec
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; [ -n "$3" ] && sed 's/^/# /' "$3" | head -30; fi; }

if ! command -v python3 >/dev/null 2>&1; then
  echo "1..0 # SKIP python3 absent: model B is not made and the views are not compared"
  exit 0
fi
if ! ui_build_model "$TMP"; then
  echo "not ok 1 - build the tiny model"; sed 's/^/# /' "$TMP/build.log"; echo "1..1"; exit 1
fi
M=$TMP/model B=$TMP/model-b
ui_perturb_model "$M" "$B" 0.3 || { echo "not ok 1 - make model B"; echo "1..1"; exit 1; }
OPTS="--max-reasoning 40 --beams 4"
EXPLORE="$SIDR explore --model $M --data $DATA $OPTS"

# ---- a compare against sidr recommend on both models -------------------------
for row in test:0 test:2; do
  cat >"$TMP/c.script" <<EOT
: "row $row" Enter
r
wait-run
C
dump compare
EOT
  if ! $EXPLORE --compare "$B" --script "$TMP/c.script" --size 240x100 --dump "$TMP/out" >"$TMP/log" 2>&1; then
    nok "explore --compare runs $row"; sed 's/^/# /' "$TMP/log" | head; continue
  fi
  ok "explore --compare runs $row"
  $SIDR recommend --model "$M" --data "$DATA" $OPTS --row $row --json >"$TMP/a.json" 2>/dev/null
  $SIDR recommend --model "$B" --data "$DATA" $OPTS --row $row --json >"$TMP/b.json" 2>/dev/null
  if python3 - "$TMP/out/compare.txt" "$TMP/a.json" "$TMP/b.json" >"$TMP/why" 2>&1 <<'EOT'
import json, re, sys
screen = open(sys.argv[1], encoding="utf-8").read()
A, B = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
def rank(r): return "rank %d of %d" % (r["rank"] + 1, len(r["beams"])) if r["rank"] >= 0 else "miss (not among %d)" % len(r["beams"])
line = " A %s, B %s " % (rank(A), rank(B))
assert line in screen, ("target line", line)
rows = [l for l in screen.splitlines() if re.match(r"^ *1[ *\u2605]<", l)]
assert rows, "no top-1 row"
assert A["beams"][0]["sid"] in rows[0].split("\u2502")[0], ("A top-1", A["beams"][0]["sid"], rows[0])
assert B["beams"][0]["sid"] in rows[0].split("\u2502")[1], ("B top-1", B["beams"][0]["sid"], rows[0])
ta, tb = A["reasoning"], B["reasoning"]
m = re.search(r'token (\d+) of (\d+) / (\d+), after \d+ the same: A (".*?"|\(the trace ends\))  B (".*?"|\(the trace ends\))', screen)
if ta == tb:
    assert "none: both traces are the same" in screen, "traces agree but the view names a divergence"
else:
    assert m, "no first divergent token line"
    un = lambda s: "" if s.startswith("(") else s[1:-1].replace("\\n", "\n").replace("\\t", "\t")
    xa, xb = un(m.group(4)), un(m.group(5))
    if "\\x" in m.group(4) + m.group(5):  # a stray byte of a split character: its text is not in the trace
        print("ok"); sys.exit(0)
    # the tokens start where the traces still agree and differ there
    q = next(i for i in range(len(ta) + 1) if ta[i:].startswith(xa) and tb[i:].startswith(xb) and ta[:i] == tb[:i] and (xa != xb))
    assert ta[:q] == tb[:q] and (ta[q:q + 1] != tb[q:q + 1] or xa != xb), (q, xa, xb)
print("ok")
EOT
  then ok "$row: the compare view shows recommend's rank and top SID for A and B, and where the traces part"
  else nok "$row: the compare view shows recommend's rank and top SID for A and B, and where the traces part"; sed 's/^/# /' "$TMP/why" | tail -5; fi
done
check "the status bar says A/B and names model B" "grep -q 'sidr A/B .* vs B model-b' '$TMP/out/compare.txt'" "$TMP/out/compare.txt"

# :compare DIR gives the same view as --compare DIR
{ echo ": \"compare $B\" Enter"; cat "$TMP/c.script"; } >"$TMP/c2.script"
$EXPLORE --script "$TMP/c2.script" --size 240x100 --dump "$TMP/out2" >"$TMP/log" 2>&1
check ":compare DIR shows what --compare DIR shows" "cmp -s '$TMP/out/compare.txt' '$TMP/out2/compare.txt'" "$TMP/log"

# ---- :export carries the pair ------------------------------------------------------
row=test:2
cat >"$TMP/x.script" <<EOT
: "row $row" Enter
r
wait-run
: "export $TMP/pair" Enter
dump exported
EOT
$EXPLORE --compare "$B" --script "$TMP/x.script" --size 200x40 --dump "$TMP/o6" >"$TMP/log" 2>&1
$SIDR recommend --model "$M" --data "$DATA" $OPTS --row $row --json >"$TMP/a.json" 2>/dev/null
$SIDR recommend --model "$B" --data "$DATA" $OPTS --row $row --json >"$TMP/b.json" 2>/dev/null
if python3 - "$TMP/pair.json" "$TMP/pair.md" "$TMP/a.json" "$TMP/b.json" "$B" >"$TMP/why" 2>&1 <<'EOT'
import json, sys
x = json.load(open(sys.argv[1]))["compare"]
md = open(sys.argv[2], encoding="utf-8").read()
A, B = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
assert x["model_b"] == sys.argv[5], x["model_b"]
for side, ref in (("a", A), ("b", B)):
    got = [r["sid"] for r in x[side]["results"]]
    assert got == [b["sid"] for b in ref["beams"]], (side, got)
    hr = x[side]["hit_rank"]
    assert hr == (ref["rank"] + 1 if ref["rank"] >= 0 else None), (side, hr, ref["rank"])
    assert x[side]["reasoning"] == ref["reasoning"], side
a_sids = [r["sid"] for r in x["a"]["results"]]
for i, r in enumerate(x["b"]["results"]):  # B's moves against A
    want = "new" if r["sid"] not in a_sids else "=" if a_sids.index(r["sid"]) == i else "%+d" % (a_sids.index(r["sid"]) - i)
    assert r["move"] == want, (i, r["move"], want)
assert "move" not in x["a"]["results"][0]
ta, tb = A["reasoning"], B["reasoning"]
assert (x["first_divergent_token"] is None) == (ta == tb), x["first_divergent_token"]
assert "## A/B: model B " + sys.argv[5] in md, "no A/B section"
line = [l for l in md.splitlines() if l.startswith("| 1 |")][-1]
assert a_sids[0] in line and x["b"]["results"][0]["sid"] in line, line
assert "### Reasoning of A" in md and "### Reasoning of B" in md
print("ok")
EOT
then ok ":export of an A/B run holds both runs as recommend gives them, B's rank moves and where the traces part"
else nok ":export of an A/B run holds both runs as recommend gives them, B's rank moves and where the traces part"; sed 's/^/# /' "$TMP/why" | tail -5; sed 's/^/# /' "$TMP/log" | head -5; fi
{ echo ': "row test:2" Enter'; echo r; echo wait-run; echo ": \"export $TMP/single\" Enter"; } >"$TMP/c1.script"
$EXPLORE --script "$TMP/c1.script" --size 200x40 --dump "$TMP/o7" >"$TMP/log" 2>&1
check "without a model B the export has no compare section" \
  "[ -s '$TMP/single.json' ] && ! grep -q '\"compare\"' '$TMP/single.json' && ! grep -q '## A/B' '$TMP/single.md'" "$TMP/log"

# ---- refusals ------------------------------------------------------------------
$EXPLORE --compare "$TMP/nowhere" --script "$TMP/c.script" --dump "$TMP/o3" >"$TMP/log" 2>&1
rc=$?
check "--compare of a missing folder exits 1 naming it" "[ $rc = 1 ] && grep -q 'nowhere' '$TMP/log'" "$TMP/log"
$EXPLORE --compare "$TMP/base" --script "$TMP/c.script" --dump "$TMP/o3" >"$TMP/log" 2>&1
rc=$?
check "--compare of a model without the SID tokens exits 1: its folder and what it lacks" \
  "[ $rc = 1 ] && grep -q '$TMP/base: its vocabulary lacks [0-9]* of the catalogue.s [0-9]* SID tokens (<a_' '$TMP/log'" "$TMP/log"
cat >"$TMP/bad.script" <<EOT
: "compare $TMP/nowhere" Enter
dump missing
: "compare $TMP/base" Enter
dump lacks
: "compare" Enter
dump usage
C
dump view
Esc
r
wait-run
dump ran
EOT
if $EXPLORE --script "$TMP/bad.script" --size 200x30 --dump "$TMP/o4" >"$TMP/log" 2>&1; then
  ok "refused :compare commands leave the explorer running"
  check ":compare of a missing folder names it" "tail -1 '$TMP/o4/missing.txt' | grep -q 'compare: .*nowhere'" "$TMP/o4/missing.txt"
  check ":compare of a model without SID tokens names the folder and the tokens it lacks" \
    "tail -1 '$TMP/o4/lacks.txt' | grep -q 'base: its vocabulary lacks .* SID tokens (<a_'" "$TMP/o4/lacks.txt"
  check ":compare without a model loaded gives the usage" "tail -1 '$TMP/o4/usage.txt' | grep -q 'usage: :compare DIR'" "$TMP/o4/usage.txt"
  check "C without a model B says how to load one" "grep -q 'No second model: :compare DIR' '$TMP/o4/view.txt'" "$TMP/o4/view.txt"
  check "the status bar stays single-model" "! grep -q 'A/B' '$TMP/o4/ran.txt'" "$TMP/o4/ran.txt"
else nok "refused :compare commands leave the explorer running"; sed 's/^/# /' "$TMP/log" | head; fi

# ---- the eval-diff filter --------------------------------------------------------
$SIDR eval --model "$M" --data "$DATA" $OPTS --no-think --json "$TMP/ea.json" >/dev/null 2>&1 &&
  $SIDR eval --model "$B" --data "$DATA" $OPTS --no-think --json "$TMP/eb.json" >/dev/null 2>&1 &&
  $SIDR eval-diff --k 10 --json "$TMP/diff.json" "$TMP/ea.json" "$TMP/eb.json" >/dev/null 2>&1
check "sidr eval on both models and eval-diff run" "[ -s '$TMP/diff.json' ]"
# a pair that certainly differs: A's ranks with the first row's flipped
python3 - "$TMP/ea.json" "$TMP/ef.json" <<'EOT'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["per_row"][0]
r["rank"] = -1 if r["rank"] >= 0 else 0
json.dump(d, open(sys.argv[2], "w"))
EOT
printf 'not json' >"$TMP/notjson.json"
echo '{"split":"test"}' >"$TMP/norows.json"
echo '{"split":"test","per_row":[{"row":0,"rank":"first"}]}' >"$TMP/rankstr.json"
echo '{"split":"test","per_row":[{"row":99999,"rank":0}]}' >"$TMP/range.json"
echo '{"split":"test","per_row":[{"row":0,"user":"nobody","rank":0}]}' >"$TMP/user.json"
cat >"$TMP/f.script" <<EOT
: "filter eval-diff $TMP/ea.json $TMP/eb.json" Enter
dump real
: "filter eval-diff $TMP/ea.json $TMP/ef.json" Enter
dump flipped
: "filter eval-diff $TMP/notjson.json $TMP/eb.json" Enter
dump notjson
: "filter eval-diff $TMP/norows.json $TMP/eb.json" Enter
dump norows
: "filter eval-diff $TMP/ea.json $TMP/rankstr.json" Enter
dump rankstr
: "filter eval-diff $TMP/range.json $TMP/eb.json" Enter
dump range
: "filter eval-diff $TMP/user.json $TMP/eb.json" Enter
dump user
: "filter eval-diff $TMP/missing.json $TMP/eb.json" Enter
dump missing
: "filter off" Enter
dump off
EOT
if $EXPLORE --script "$TMP/f.script" --size 200x30 --dump "$TMP/o5" >"$TMP/log" 2>&1; then
  ok "the filter script runs (bad files do not stop the explorer)"
  python3 - "$TMP/diff.json" "$TMP/o5/real.txt" "$TMP/o5/flipped.txt" "$TMP/ea.json" >"$TMP/why" 2>&1 <<'EOT'
import json, sys
d = json.load(open(sys.argv[1]))
ea = {r["row"]: r["user"] for r in json.load(open(sys.argv[4]))["per_row"]}
def listed(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    got = []
    for l in lines[2:]:
        cell = l.split("\u2502")[0]
        w = cell.split()
        if len(w) >= 3 and w[1] in ("A", "B"): got.append((w[0].lstrip("\u25b6*>"), w[1]))
    return got, lines
want = [(r["user"], "A") for r in d["only_a"]] + [(r["user"], "B") for r in d["only_b"]]
got, lines = listed(sys.argv[2])
if want:
    assert sorted(got) == sorted(want), (got, want)
else:
    assert "both hit @10 or both miss" in lines[-1], lines[-1]
got, lines = listed(sys.argv[3])
assert len(got) == 1 and got[0][0] == ea[0], (got, ea[0])
print("ok")
EOT
  if [ $? = 0 ]; then ok "the filtered Users pane lists eval-diff's only-A and only-B rows, marked A and B"
  else nok "the filtered Users pane lists eval-diff's only-A and only-B rows, marked A and B"; sed 's/^/# /' "$TMP/why" | tail -4; fi
  for x in "notjson:notjson.json: not JSON" "norows:norows.json: field 'per_row': expected an array" \
           "rankstr:rankstr.json: per_row\[0\]: field 'rank': expected a number" \
           "range:range.json: per_row row 99999: expected a row of the test split" \
           "user:user.json: per_row row 0: field 'user' is 'nobody', expected" "missing:missing.json: cannot open"; do
    d=${x%%:*} want=${x#*:}
    check "a bad eval file ($d) is refused naming the file and the field" "tail -1 '$TMP/o5/$d.txt' | grep -q \"$want\"" "$TMP/o5/$d.txt"
  done
  check ":filter off lists every user again" "grep -q ' 1 Users 1/[0-9]* ' '$TMP/o5/off.txt' && ! grep -q 'eval-diff' '$TMP/o5/off.txt'" "$TMP/o5/off.txt"
else nok "the filter script runs (bad files do not stop the explorer)"; sed 's/^/# /' "$TMP/log" | head; fi

# ---- valgrind --------------------------------------------------------------------
case "${VALGRIND:-}" in
  "" | no) echo "ok $((n = n + 1)) # SKIP set VALGRIND=valgrind to run a compare session under valgrind" ;;
  *)
    cat "$TMP/c2.script" "$TMP/f.script" >"$TMP/v.script"
    printf 'Esc\n: "compare off" Enter\nq\n' >>"$TMP/v.script"
    OMP_NUM_THREADS=1 SIDR_THREADS=1 "$VALGRIND" --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --show-leak-kinds=definite,indirect -q $EXPLORE --script "$TMP/v.script" --dump "$TMP/o6" >"$TMP/vlog" 2>&1
    rc=$?
    check "a compare and filter session is valgrind-clean" "[ $rc = 0 ]" "$TMP/vlog" ;;
esac
echo "1..$n"

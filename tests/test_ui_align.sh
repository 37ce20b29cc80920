#!/bin/sh
# The explorer's Alignment pane on the embedded demo model (share/demo):
#  - golden screens: every tests/fixtures/screens-demo/*.script runs headless
#    at 80x24 and at 120x40; each `dump NAME` must equal NAME.WxH.txt there
#    (and NAME.WxH.attr when that golden exists).  As in test_ui_screens.sh,
#    a difference only in floating-point digits passes with a note.
#  - the pane shows what `sidr align-report --json` reports: the live result
#    of several items (their top beam, its rank, per-level marks, the greedy
#    title, exact and word F1), and the sample's worst-aligned list row for
#    row (in sample order), for the same model and items.
# The goldens depend on the demo model; after it changes, regenerate them
# (and review the diff) with
#     SIDR_UPDATE_GOLDENS=1 make check TESTS=tests/test_ui_align.sh
# or `make update-goldens`.  Skips when the demo is not built.  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
DEMO=$TESTDIR/../share/demo
SCREENS=$TESTDIR/fixtures/screens-demo
if [ ! -f "$DEMO/model/config.json" ]; then
  echo "1..0 # SKIP the embedded demo is not built (share/demo/recipe.sh)"
  exit 0
fi
. "$TESTDIR/ui_lib.sh"
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
M=$(abs "$DEMO/model") D=$(abs "$DEMO/data") SIDR=$(abs "$SIDR") SCREENS=$(abs "$SCREENS")
# the exact f32 kernels: any x86-64 CPU gives the same beams (as test_demo.sh)
SIDR_KERNELS=${SIDR_KERNELS:-avx2}
export SIDR_KERNELS
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
EXPLORE="$SIDR explore --model $M --data $D"
# The scripts run in $TMP/cwd, which holds what the A/B scripts name: demo-b
# (the demo model with its last MLP output scaled by 0.5, ui_perturb_model),
# A.json and B.json (two eval results for :filter eval-diff) and bad.json.
mkdir -p "$TMP/cwd"
ui_eval_pair "$TMP/cwd"
have_b=0
if command -v python3 >/dev/null 2>&1 && ui_perturb_model "$M" "$TMP/cwd/demo-b" 2>"$TMP/perturb.log"; then have_b=1; fi
needs_b() { case $1 in compare*) return 0 ;; esac; return 1; }

mask() { sed -E 's/-?[0-9]+\.[0-9]+/#.#/g' "$1"; }
compare() { # NAME GOT WANT
  if cmp -s "$2" "$3"; then ok "$1 matches its golden"
  elif [ "$(mask "$2")" = "$(mask "$3")" ]; then
    ok "$1 matches its golden up to floating-point digits"; diff "$3" "$2" | sed 's/^/# /' | head -6
  else nok "$1 differs from its golden"; diff "$3" "$2" | sed 's/^/# /' | head -40; fi
}

# ---- golden screens at two sizes ---------------------------------------------
for script in "$SCREENS"/*.script; do
  name=$(basename "$script" .script)
  if needs_b "$name" && [ $have_b = 0 ]; then echo "ok $((n = n + 1)) # SKIP $name.script: no model B (python3 absent?)"; continue; fi
  for size in 80x24 120x40; do
    out=$TMP/out/$name.$size
    mkdir -p "$out"
    if ! (cd "$TMP/cwd" && $EXPLORE --script "$script" --size "$size" --dump "$out" --attrs) >"$TMP/log" 2>&1; then
      nok "$name.script runs at $size"; sed 's/^/# /' "$TMP/log" | head -40; continue
    fi
    ok "$name.script runs at $size"
    for got in "$out"/*.txt; do
      [ -f "$got" ] || continue
      dump=$(basename "$got" .txt).$size
      if [ -n "$SIDR_UPDATE_GOLDENS" ]; then
        cp "$got" "$SCREENS/$dump.txt"
        [ -f "$SCREENS/$dump.attr" ] && cp "${got%.txt}.attr" "$SCREENS/$dump.attr"
        ok "$dump golden written"; continue
      fi
      if [ ! -f "$SCREENS/$dump.txt" ]; then nok "$dump has no golden (SIDR_UPDATE_GOLDENS=1 writes it)"; continue; fi
      compare "$dump" "$got" "$SCREENS/$dump.txt"
      [ -f "$SCREENS/$dump.attr" ] && compare "$dump.attr" "${got%.txt}.attr" "$SCREENS/$dump.attr"
    done
  done
done
for want in "$SCREENS"/*.txt; do
  [ -f "$want" ] || continue
  dump=$(basename "$want" .txt)
  size=${dump##*.}
  base=${dump%.*}
  needs_b "$base" && [ $have_b = 0 ] && continue
  ls "$TMP"/out/*."$size/$base.txt" >/dev/null 2>&1 || nok "golden $dump.txt is produced by no script"
done

# ---- the pane equals sidr align-report ---------------------------------------
if ! command -v python3 >/dev/null 2>&1; then
  echo "ok $((n = n + 1)) # SKIP python3 absent: the pane is not compared with align-report --json"
  echo "1..$n"; [ $failed = 0 ]; exit
fi
if ! "$SIDR" align-report --model "$M" --data "$D" --items 64 --json "$TMP/report.json" >/dev/null 2>"$TMP/report.err"; then
  nok "sidr align-report --items 64 --json runs"; sed 's/^/# /' "$TMP/report.err" | head; echo "1..$n"; exit 1
fi
ok "sidr align-report --items 64 --json runs"
# six items of the report, each opened with :align ID on a wide screen
python3 - "$TMP/report.json" >"$TMP/ids" <<'EOT'
import json, sys
rows = json.load(open(sys.argv[1]))["per_item"]
# the first rows, and the best-aligned one (most levels right, then F1)
pick = rows[:5] + [max(rows, key=lambda r: (r["levels_right"], r["title_f1"], -r["rank"] if r["rank"] >= 0 else -99))]
for r in pick: print(r["item"])
EOT
{
  k=0
  while read -r id; do
    k=$((k + 1))
    echo ": \"align $id\" Enter"
    echo "dump item$k"
  done <"$TMP/ids"
  echo "wait-align"
  echo "z o o"
  echo "dump sample"
} >"$TMP/eq.script"
if ! $EXPLORE --script "$TMP/eq.script" --size 200x120 --dump "$TMP/eq" >"$TMP/log" 2>&1; then
  nok "the comparison script runs"; sed 's/^/# /' "$TMP/log" | head -20
else
  python3 - "$TMP/report.json" "$TMP/ids" "$TMP/eq" <<'EOT'
import json, sys
rep = json.load(open(sys.argv[1]))
rows = {r["item"]: r for r in rep["per_item"]}
ids = open(sys.argv[2]).read().split()
d = sys.argv[3]
n = 0
def tap(ok, what, why=""):
    global n
    n += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what))
    if not ok and why: print("# " + why.replace("\n", "\n# "))
def marks(levels, depth=3):
    return " ".join(("" if l == 0 else "+") + "abcdefgh"[l] + ("\u2713" if levels > l else "\u2717") for l in range(depth))
for k, iid in enumerate(ids, 1):
    r = rows[iid]
    # the Alignment pane's side of each row (Users is on the left)
    screen = [l.split("\u2502")[-1] for l in open("%s/item%d.txt" % (d, k), encoding="utf-8").read().split("\n")]
    problems = []
    head = [l for l in screen if r["sid"] in l and ("#" + iid) in l]
    if not head: problems.append("no header line with %s and #%s" % (r["sid"], iid))
    b1 = [l for l in screen if l.lstrip().startswith("1 " + r["predicted_sid"] + " ")]
    if not b1: problems.append("beam 1 is not %s" % r["predicted_sid"])
    elif marks(r["levels_right"]) not in b1[0]: problems.append("beam 1 marks: want %s in %r" % (marks(r["levels_right"]), b1[0]))
    want_rank = ("is beam %d of" % (r["rank"] + 1)) if r["rank"] >= 0 else "is not among the"
    if not any(want_rank in l for l in screen): problems.append("rank: want '%s'" % want_rank)
    t = [l for l in screen if "SID\u2192title" in l]
    want_t = ("\u2713" if r["title_exact"] else "\u2717") + ' "' + r["predicted_title"] + '"'
    if not t or want_t not in t[0] or ("F1 %.2f" % r["title_f1"]) not in t[0]:
        problems.append("SID->title line: want %r and F1 %.2f in %r" % (want_t, r["title_f1"], t[0] if t else None))
    tap(not problems, "item %s: the pane shows align-report's top SID %s (rank %d, %d levels right) and title (F1 %.2f)"
        % (iid, r["predicted_sid"], r["rank"], r["levels_right"], r["title_f1"]), "\n".join(problems))
# the sample, in sample order, row for row
screen = open("%s/sample.txt" % d, encoding="utf-8").read().split("\n")
i = next((k for k, l in enumerate(screen) if l.lstrip().startswith("lvl")), None)
got = [l.split() for l in screen[i + 1:i + 1 + len(rep["per_item"])]] if i is not None else []
bad = []
for k, r in enumerate(rep["per_item"]):
    want = ["%d/3" % r["levels_right"], "%.2f" % r["title_f1"], "#%d" % (r["rank"] + 1) if r["rank"] >= 0 else "-", r["sid"]]
    if k >= len(got) or got[k][:4] != want: bad.append("row %d: want %s, got %s" % (k, want, got[k][:4] if k < len(got) else None))
tap(i is not None and not bad, "the worst-aligned list in sample order equals align-report's %d per-item rows" % len(rep["per_item"]),
    "\n".join(bad[:8]))
s = [l for l in screen if l.lstrip().startswith("hit@1")]
t2s = rep["title_to_sid"]
want = "hit@1 %.3f, top beam a %.3f +b %.3f +c %.3f, title F1 %.3f" % (t2s["hit@1"], *t2s["levels_right"], rep["sid_to_title"]["word_f1"])
tap(bool(s) and want in s[0], "the sample's summary equals align-report's averages", "want %r, got %r" % (want, s[0] if s else None))
print("#TAPN %d" % n)
EOT
fi >"$TMP/py.out"
if [ -s "$TMP/py.out" ]; then
  while IFS= read -r line; do
    case "$line" in
      "#TAPN "*) ;;
      "ok "*) n=$((n + 1)); echo "ok $n - ${line#ok [0-9]* - }" ;;
      "not ok "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - ${line#not ok [0-9]* - }" ;;
      *) echo "$line" ;;
    esac
  done <"$TMP/py.out"
fi
echo "1..$n"
[ $failed = 0 ]

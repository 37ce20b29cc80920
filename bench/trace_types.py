#!/usr/bin/env python3
"""How closely a demo evaluation's SID lists follow the product types its
traces name (standard library only).

    python3 bench/trace_types.py EVAL.json WORK/data

EVAL.json is a `sidr eval --think --json` (or `--given-reasoning`) result on
the demo world in WORK/data (`sidr demo build`: demo_world.json and
index/<Cat>.integrated_narrative.csv).  The types a trace names are read
off the world's own reasoning of the row (its closing prediction); the
types of the listed SIDs and of the target come from demo_world.json."""
import csv
import glob
import json
import re
import sys

csv.field_size_limit(1 << 30)
LEADS = re.compile(r"(So the next purchase should be|The natural next step is|I expect the next item to be|"
                   r"My prediction is|Next, I would expect|I expect a refill)")


def main(ev_path, data):
    world = json.load(open(f"{data}/demo_world.json"))
    tname = {t["id"]: t["name"] for d in world["departments"] for c in d["categories"] for t in c["types"]}
    names = sorted(tname.values(), key=len, reverse=True)
    sid_type = {it["sid"]: tname[it["type"]] for it in world["items"]}
    narr = glob.glob(f"{data}/index/*.integrated_narrative.csv")[0]
    ev = json.load(open(ev_path))
    split = ev["split"]
    gold = {int(r["row"]): r["reasoning_path"] for r in csv.DictReader(open(narr)) if r["split"] == split}

    def named(text):
        sents = [x for x in re.split(r"(?<=[.!?])\s+", text.strip()) if x]
        pred = next((x for x in sents if LEADS.match(x)), "")
        out, i = [], 0
        while i < len(pred):
            for nm in names:
                if pred.startswith(nm, i) and (i == 0 or not pred[i - 1].isalpha()):
                    out.append(nm)
                    i += len(nm)
                    break
            else:
                i += 1
        return out

    n = listed = hits = hits_listed = slots_named = slots_target_listed = 0
    for r in ev["per_row"]:
        types = named(gold[r["row"]])
        target = sid_type[r["target"]]
        beams = [sid_type[b] for b in r["beams"]]
        hit = 0 <= r["rank"] < 10
        n += 1
        hits += hit
        slots_named += sum(b in types for b in beams)
        if target in types:
            listed += 1
            hits_listed += hit
            slots_target_listed += sum(b == target for b in beams)
    print(f"rows {n}, HR@10 {hits / n:.4f}")
    print(f"the target's type is among the types the world's trace names: {listed / n:.3f} of the rows")
    print(f"SIDs of the top 10 whose type the trace names: {slots_named / n:.2f} per row")
    if listed:
        print(f"when the target's type is named: {slots_target_listed / listed:.2f} of the 10 SIDs are of it, "
              f"HR@10 {hits_listed / listed:.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: trace_types.py EVAL.json WORK/data")
    main(sys.argv[1], sys.argv[2])

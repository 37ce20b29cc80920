#!/usr/bin/env python3
"""Does the SID after a trace follow what the trace says?  Writes a copy of a
demo world's data folder whose valid rows carry a one-sentence trace naming
a product type (standard library only):

    python3 bench/trace_probe.py WORK/data OUT right|random [SPLIT [SEED]]

right: "My prediction is a <tier> <type>." with the target's own type and
tier; random: the same with another type, drawn with SEED (default 1).  The
rows rewritten are those of SPLIT (valid, the default, or test).  Then

    sidr eval --model M --data OUT --split SPLIT --given-reasoning --json F

decodes the SID list after each probe trace.  A model whose answer reads
the trace scores far better on `right` than on `random`; one that answers
from the history alone scores the same on both (bench/trace_types.py then
shows how the listed SIDs' types follow the named one)."""
import csv
import glob
import json
import os
import random
import shutil
import sys

csv.field_size_limit(1 << 30)
TIERS = ["budget", "mid-range", "premium"]


def main(data, out, mode, split, seed):
    if mode not in ("right", "random"):
        sys.exit("trace_probe: the mode is right or random")
    if split not in ("valid", "test"):
        sys.exit("trace_probe: the split is valid or test")
    if os.path.exists(out):
        sys.exit(f"trace_probe: {out} exists")
    shutil.copytree(data, out)
    world = json.load(open(f"{data}/demo_world.json"))
    tname = {t["id"]: t["name"] for d in world["departments"] for c in d["categories"] for t in c["types"]}
    by_sid = {it["sid"]: it for it in world["items"]}
    rng = random.Random(seed)
    path = glob.glob(f"{out}/index/*.integrated_narrative.csv")[0]
    rows = list(csv.DictReader(open(path, newline="")))
    n = 0
    for r in rows:
        if r["split"] != split:
            continue
        it = by_sid[r["item_sid"]]
        ty = it["type"] if mode == "right" else rng.choice([t for t in tname if t != it["type"]])
        r["reasoning_path"] = f"My prediction is a {TIERS[it['tier']]} {tname[ty]}."
        n += 1
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"trace_probe: {n} {split} rows of {out} carry a '{mode}' one-sentence trace")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5, 6):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "valid",
         int(sys.argv[5]) if len(sys.argv) > 5 else 1)

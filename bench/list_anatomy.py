#!/usr/bin/env python3
"""Where a demo evaluation's top 10 wins or loses, beside others (standard
library only).

    python3 bench/list_anatomy.py WORK/data EVAL.json [EVAL.json ...]

Each EVAL.json is a `sidr eval --json` result on the demo world in WORK/data,
or one of the world's baselines (`sidr demo build --baselines DIR`, e.g.
DIR/intent-rule.test.json).  Per file: HR@10; the share of rows whose list
holds an item of the target's product type, and HR@10 on those rows; on them,
how often an item of the target's type also has its brand, its price tier,
and both; and HR@10 by the kind of event the target was (step of a project,
upgrade, refill, noise; from index/<Cat>.integrated_narrative.csv)."""
import csv
import glob
import json
import sys

csv.field_size_limit(1 << 30)


def main(data, paths):
    world = json.load(open(f"{data}/demo_world.json"))
    item = {}
    for it in world["items"]:
        item.setdefault(it["sid"], it)
    narr = glob.glob(f"{data}/index/*.integrated_narrative.csv")[0]
    kinds = {}
    for r in csv.DictReader(open(narr)):
        kinds[(r["split"], int(r["row"]))] = r["kind"]
    order = ["step", "upgrade", "refill", "noise"]
    head = ["file", "rows", "HR@10", "type in list", "HR | type", "brand | type", "tier | type", "both | type"]
    head += [f"HR {k}" for k in order]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for path in paths:
        ev = json.load(open(path))
        split = ev["split"]
        n = hits = typed = typed_hits = brand = tier = both = 0
        by_kind = {k: [0, 0] for k in order}
        for r in ev["per_row"]:
            t = item[r["target"]]
            hit = 0 <= r["rank"] < 10
            n += 1
            hits += hit
            k = kinds.get((split, int(r["row"])))
            if k in by_kind:
                by_kind[k][0] += 1
                by_kind[k][1] += hit
            same = [item[b] for b in r["beams"] if b in item and item[b]["type"] == t["type"]]
            if not same:
                continue
            typed += 1
            typed_hits += hit
            brand += any(s["brand"] == t["brand"] for s in same)
            tier += any(s["tier"] == t["tier"] for s in same)
            both += any(s["brand"] == t["brand"] and s["tier"] == t["tier"] for s in same)
        d = max(typed, 1)
        cells = [path, str(n), f"{hits / n:.4f}", f"{typed / n:.3f}", f"{typed_hits / d:.3f}", f"{brand / d:.3f}",
                 f"{tier / d:.3f}", f"{both / d:.3f}"]
        cells += [f"{by_kind[k][1] / by_kind[k][0]:.3f}" if by_kind[k][0] else "-" for k in order]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: list_anatomy.py WORK/data EVAL.json [EVAL.json ...]")
    main(sys.argv[1], sys.argv[2:])

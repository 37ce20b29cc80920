#!/usr/bin/python3
"""Runs `sidr bench --torch --json` on the benchmark shapes and prints the
results table of bench/README.md (Markdown), medians over the invocations.

    /usr/bin/python3 bench/table.py [--sidr ./sidr] [--shapes 0.6b,1.7b]
        [--runs 3] [--threads N] [--no-torch] [--save DIR] [--quiet]

Each invocation is itself a median of `sidr bench`'s --repeats (3) runs after a
warm-up.  On a shared machine pass --quiet (wait for idle CPUs, redo
invocations that overlapped other work) and --runs 5, and look at the spread
in parentheses; --save keeps every JSON report.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def busy(seconds):
    """Share of all CPUs busy over `seconds` (from /proc/stat)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return sum(v), v[3] + v[4]
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit=0.05, seconds=5, give_up=3600):
    """Waits until other processes leave the CPUs idle (a shared machine)."""
    start = time.time()
    while time.time() - start < give_up:
        b = busy(seconds)
        if b <= limit:
            return True
        print("table: CPUs %.0f%% busy, waiting for a quiet moment" % (100 * b), file=sys.stderr, flush=True)
    return False


def run(sidr, shape, threads, torch):
    cmd = [sidr, "bench", "--shape", shape, "--json"]
    if torch:
        cmd.append("--torch")
    if threads:
        cmd += ["--threads", str(threads)]
    print("table: " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def fmt(x, nd=1):
    return "n/a" if x is None else ("%.*f" % (nd, x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sidr", default="./sidr")
    ap.add_argument("--shapes", default="0.6b,1.7b")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--save", default="")
    ap.add_argument("--quiet", action="store_true",
                    help="wait for idle CPUs before each invocation and redo invocations that overlapped "
                         "other work (other processes' CPU share above 10%% before or after)")
    args = ap.parse_args()
    rows = []
    for shape in args.shapes.split(","):
        reports = []
        i = tries = 0
        while i < args.runs:
            if args.quiet:
                wait_quiet()
            r = run(args.sidr, shape, args.threads, not args.no_torch)
            tries += 1
            if args.quiet and tries < 4 * args.runs and max(r.get("other_cpu_busy_before") or 0,
                                                            r.get("other_cpu_busy_after") or 0) > 0.10:
                print("table: other work overlapped this invocation; redoing it", file=sys.stderr, flush=True)
                continue
            reports.append(r)
            i += 1
            if args.save:
                os.makedirs(args.save, exist_ok=True)
                with open(os.path.join(args.save, "%s-%d.json" % (shape, i)), "w") as f:
                    json.dump(r, f, indent=1)
        t = [r.get("torch") or {} for r in reports]
        rows.append({
            "shape": shape,
            "params": reports[0]["params"],
            "gb_tok": reports[0]["bytes_per_token"] / 1e9,
            "threads": reports[0]["threads"],
            "kernels": reports[0]["kernels"],
            "bw": [r["bandwidth_gb_s"] for r in reports],
            "bound": [r["decode_bound_tok_s"] for r in reports],
            "pre": [r["prefill_tok_s"] for r in reports],
            "dec": [r["decode_tok_s"] for r in reports],
            "ratio": [r["decode_vs_bound"] for r in reports],
            "tpre": [x.get("prefill_tok_s") for x in t],
            "tdec": [x.get("decode_tok_s") for x in t],
            "tver": next((x.get("torch_version") for x in t if x.get("torch_version")), None),
            "load": [r.get("other_cpu_busy_before") for r in reports],
        })
    print("| shape (bf16) | weights/token | memory GB/s | decode bound tok/s | sidr decode tok/s | decode / bound "
          "| PyTorch decode tok/s | sidr prefill tok/s | PyTorch prefill tok/s | prefill sidr/PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tp, td = med(r["tpre"]), med(r["tdec"])
        pre, dec = med(r["pre"]), med(r["dec"])
        lo, hi = spread(r["dec"])
        plo, phi = spread(r["pre"])
        print("| Qwen3-%s (%.2fB) | %.2f GB | %s | %s | %s (%s-%s) | %s | %s | %s (%s-%s) | %s | %s |" % (
            r["shape"].upper(), r["params"] / 1e9, r["gb_tok"], fmt(med(r["bw"])), fmt(med(r["bound"]), 2),
            fmt(dec, 2), fmt(lo, 2), fmt(hi, 2), fmt(med(r["ratio"]), 2), fmt(td, 2),
            fmt(pre), fmt(plo), fmt(phi), fmt(tp), fmt(pre / tp if pre and tp else None, 2)))
    print()
    print("kernels %s, %s threads, PyTorch %s; medians of %d invocations (each the median of 3 runs); "
          "other processes' CPU share before each: %s" % (rows[0]["kernels"], rows[0]["threads"], rows[0]["tver"] or "n/a",
                                             args.runs, ", ".join(fmt(x, 2) for r in rows for x in r["load"])))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""SASRec, the plain sequential baseline, on a MiniOneRec-layout dataset.

Trains a standard SASRec (Kang & McAuley 2018: learned positions, causal
self-attention blocks, item embeddings tied with the output, full-softmax
cross-entropy) on the dataset's train split, or, when there is none, on the
train-period rows sidr derives (--derive-train=period: each user's earliest
valid history, else the earliest test history of a user with no valid row;
no valid or test target is ever a training target).  Early stopping on the
valid split's NDCG@10.  Then ranks the whole catalogue for every row of the
evaluated split and writes the result in the layout 'sidr eval --json'
writes, ranked by SID (an SID scores as its best item), so that

    sidr eval-diff sasrec.json WORK/eval/eval.json

gives the paired difference with its interval.  Needs PyTorch (Debian's
python3-torch); this is a reference baseline for the README, not part of sidr.

    /usr/bin/python3 bench/sasrec.py --data DIR --out sasrec.json [--seed 0]
"""
import argparse
import ast
import csv
import glob
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def one_file(folder, sub, suffix):
    files = sorted(glob.glob(os.path.join(folder, sub, "*" + suffix)))
    return files[0] if files else None


def read_rows(path):
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            hist = [int(x) for x in ast.literal_eval(r["history_item_id"])]
            rows.append((r["user_id"], hist, int(r["item_id"])))
    return rows


def derive_period(valid, test):
    """sidr's --derive-train=period (src/dataset.c derive_train): per user the
    shortest history of their valid rows, or of their test rows when they have
    no valid row, in the order users first appear."""
    pick = {}
    for split in (valid, test):
        here = {}
        for u, h, _ in split:
            if u not in pick and (u not in here or len(h) < len(here[u])):
                here[u] = h
        pick.update(here)
    out = []
    for u, h in pick.items():
        for i in range(1, len(h)):
            out.append((u, h[max(0, i - 10):i], h[i]))
    return out


class SASRec(nn.Module):
    def __init__(self, n_items, dim, blocks, heads, maxlen, dropout):
        super().__init__()
        self.item = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.pos = nn.Embedding(maxlen, dim)
        self.drop = nn.Dropout(dropout)
        self.attn_norm = nn.ModuleList(nn.LayerNorm(dim) for _ in range(blocks))
        self.attn = nn.ModuleList(nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
                                  for _ in range(blocks))
        self.ffn_norm = nn.ModuleList(nn.LayerNorm(dim) for _ in range(blocks))
        self.ffn = nn.ModuleList(nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(dropout),
                                               nn.Linear(dim, dim), nn.Dropout(dropout)) for _ in range(blocks))
        self.out_norm = nn.LayerNorm(dim)
        self.maxlen = maxlen
        nn.init.normal_(self.item.weight, std=dim ** -0.5)

    def forward(self, seq):
        """seq: [B, L] item indices + 1, left-padded with 0; returns the last position's state."""
        L = seq.shape[1]
        x = self.item(seq) * math.sqrt(self.item.embedding_dim) + self.pos.weight[:L]
        x = self.drop(x)
        pad = seq == 0
        x = x * (~pad).unsqueeze(-1)
        # causal and no padded keys, but every position sees itself: a query
        # with every key masked would give NaN (the padded positions' outputs
        # are zeroed anyway)
        mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1).unsqueeze(0) | pad.unsqueeze(1)
        mask = mask & ~torch.eye(L, dtype=torch.bool).unsqueeze(0)
        mask = mask.repeat_interleave(self.attn[0].num_heads, dim=0)
        for an, at, fn, ff in zip(self.attn_norm, self.attn, self.ffn_norm, self.ffn):
            q = an(x)
            a, _ = at(q, x, x, attn_mask=mask, need_weights=False)
            x = q + a
            x = x + ff(fn(x))
            x = x * (~pad).unsqueeze(-1)
        return self.out_norm(x[:, -1])

    def scores(self, seq):
        return self.forward(seq) @ self.item.weight[1:].T


def batch_tensor(hists, maxlen):
    t = torch.zeros(len(hists), maxlen, dtype=torch.long)
    for i, h in enumerate(hists):
        h = h[-maxlen:]
        if h:
            t[i, maxlen - len(h):] = torch.tensor(h) + 1
    return t


def rank_rows(model, rows, maxlen, item_sid, sid_index, n_sids):
    """Per row: the 0-based rank of the target's SID among all SIDs (an SID
    scores as its best item) and the top ten SIDs."""
    model.eval()
    sid_of = torch.tensor([sid_index[item_sid[i]] for i in range(len(item_sid))])
    ranks, tops = [], []
    with torch.no_grad():
        for s in range(0, len(rows), 512):
            chunk = rows[s:s + 512]
            sc = model.scores(batch_tensor([h for _, h, _ in chunk], maxlen))
            best = torch.full((len(chunk), n_sids), -float("inf"))
            best.scatter_reduce_(1, sid_of.expand(len(chunk), -1), sc, reduce="amax")
            order = torch.argsort(best, dim=1, descending=True)
            for k, (_, _, tgt) in enumerate(chunk):
                pos = (order[k] == sid_index[item_sid[tgt]]).nonzero().item()
                ranks.append(pos)
                tops.append(order[k, :10].tolist())
    return ranks, tops


def metrics(ranks):
    out = {}
    for k in (1, 3, 5, 10):
        out["HR@%d" % k] = sum(r < k for r in ranks) / len(ranks)
        out["NDCG@%d" % k] = sum(1 / math.log2(r + 2) for r in ranks if r < k) / len(ranks)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--maxlen", type=int, default=10)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    torch.manual_seed(a.seed)

    info = one_file(a.data, "info", ".txt")
    if not info:
        sys.exit("%s: no info/*.txt (expected the MiniOneRec layout)" % a.data)
    item_sid = {}
    with open(info, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                item_sid[int(parts[2])] = parts[0]
    n_items = max(item_sid) + 1
    item_sid = [item_sid.get(i, "<none %d>" % i) for i in range(n_items)]
    sids = sorted(set(item_sid))
    sid_index = {s: i for i, s in enumerate(sids)}

    valid = read_rows(one_file(a.data, "valid", ".csv"))
    evaluated = read_rows(one_file(a.data, a.split, ".csv"))
    train_csv = one_file(a.data, "train", ".csv")
    if train_csv:
        train, source = read_rows(train_csv), "the train split"
    else:
        train = derive_period(valid, read_rows(one_file(a.data, "test", ".csv")))
        source = "derived train period (no valid or test target)"
    print("sasrec: %d items, %d training samples from %s, %d valid rows, %d %s rows" %
          (n_items, len(train), source, len(valid), len(evaluated), a.split), file=sys.stderr)

    model = SASRec(n_items, a.dim, a.blocks, a.heads, a.maxlen, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    best, best_state, bad, t0 = -1.0, None, 0, time.time()
    for ep in range(a.epochs):
        model.train()
        random.shuffle(train)
        total = 0.0
        for s in range(0, len(train), a.batch):
            b = train[s:s + a.batch]
            loss = F.cross_entropy(model.scores(batch_tensor([h for _, h, _ in b], a.maxlen)),
                                   torch.tensor([t for _, _, t in b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        ranks, _ = rank_rows(model, valid, a.maxlen, item_sid, sid_index, len(sids))
        m = metrics(ranks)
        print("epoch %d: loss %.4f, valid HR@10 %.4f NDCG@10 %.4f" % (ep + 1, total / len(train), m["HR@10"],
              m["NDCG@10"]), file=sys.stderr)
        if m["NDCG@10"] > best:
            best, best_state, bad, best_ep = m["NDCG@10"], {k: v.clone() for k, v in model.state_dict().items()}, 0, ep + 1
        else:
            bad += 1
            if bad >= a.patience:
                break
    model.load_state_dict(best_state)
    ranks, tops = rank_rows(model, evaluated, a.maxlen, item_sid, sid_index, len(sids))
    m = metrics(ranks)
    m["rows"] = len(evaluated)
    m["wall_seconds"] = time.time() - t0
    doc = {"model": "sasrec", "data": a.data, "split": a.split, "mode": "sasrec", "seed": a.seed,
           "sasrec": {"dim": a.dim, "blocks": a.blocks, "heads": a.heads, "maxlen": a.maxlen, "dropout": a.dropout,
                      "lr": a.lr, "batch": a.batch, "best_epoch": best_ep, "valid_ndcg10": best,
                      "train_samples": len(train), "train_source": source},
           "rows_in_split": len(evaluated), "complete": True, "metrics": m,
           "per_row": [{"row": i, "user": r[0], "target": item_sid[r[2]], "rank": rk if rk < 10 else -1,
                        "full_rank": rk, "beams": [sids[j] for j in top]}
                       for i, (r, rk, top) in enumerate(zip(evaluated, ranks, tops))]}
    with open(a.out, "w") as f:
        json.dump(doc, f)
    print("sasrec: best epoch %d (valid NDCG@10 %.4f); %s HR@10 %.4f NDCG@10 %.4f -> %s" %
          (best_ep, best, a.split, m["HR@10"], m["NDCG@10"], a.out), file=sys.stderr)


if __name__ == "__main__":
    main()

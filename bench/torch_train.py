#!/usr/bin/python3
"""PyTorch baseline for `sidr bench --train`: the same Qwen3/Qwen2/Llama model
(loaded from the same Hugging Face folder, f32 master weights as sidr trains),
a batch of B x T random tokens, cross-entropy over every next token, backward
and one AdamW step, timed.  Prints one JSON object: tokens/s (median) and peak
RSS.  Usage: bench/torch_train.py --model DIR --batch B --seq T --threads N --repeats R
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import load_weights  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    F = torch.nn.functional
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    W = {k: torch.nn.Parameter(v.float()) for k, v in load_weights(a.model, torch, np).items()}
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV, L = cfg.get("num_key_value_heads", H), cfg["num_hidden_layers"]
    hd = cfg.get("head_dim") or D // H
    eps, qwen3, qwen2 = cfg.get("rms_norm_eps", 1e-6), cfg.get("model_type") == "qwen3", cfg.get("model_type") == "qwen2"
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
    B, T = a.batch, a.seq
    ang = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), -1)

    def forward(tok):
        x = F.embedding(tok, W["model.embed_tokens.weight"])
        for i in range(L):
            p = "model.layers.%d." % i
            h = rms(x, W[p + "input_layernorm.weight"])
            q, k, v = (F.linear(h, W[p + "self_attn.%s_proj.weight" % n], W.get(p + "self_attn.%s_proj.bias" % n) if qwen2 else None)
                       for n in "qkv")
            q = q.view(B, T, H, hd).transpose(1, 2)
            k = k.view(B, T, KV, hd).transpose(1, 2)
            v = v.view(B, T, KV, hd).transpose(1, 2)
            if qwen3:
                q, k = rms(q, W[p + "self_attn.q_norm.weight"]), rms(k, W[p + "self_attn.k_norm.weight"])
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
            s = (q @ k.transpose(-1, -2)) / hd ** 0.5
            s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
            o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * hd)
            x = x + F.linear(o, W[p + "self_attn.o_proj.weight"])
            h = rms(x, W[p + "post_attention_layernorm.weight"])
            x = x + F.linear(F.silu(F.linear(h, W[p + "mlp.gate_proj.weight"])) * F.linear(h, W[p + "mlp.up_proj.weight"]),
                             W[p + "mlp.down_proj.weight"])
        return F.linear(rms(x, W["model.norm.weight"]), head)

    opt = torch.optim.AdamW(W.values(), lr=1e-5)
    g = torch.Generator().manual_seed(0)
    times = []
    for r in range(a.repeats + 1):
        tok = torch.randint(0, cfg["vocab_size"], (B, T), generator=g)
        t0 = time.perf_counter()
        opt.zero_grad()
        logits = forward(tok)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tok[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(W.values(), 1.0)
        opt.step()
        if r:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({"tokens_per_s": B * (T - 1) / med, "step_s": med,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "torch": torch.__version__, "threads": a.threads}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Generates sidr's tiny model fixtures and their reference logits.

Each fixture is a Hugging Face model folder (config.json, model.safetensors or
shards + model.safetensors.index.json, sometimes generation_config.json) with
random weights, plus reference.safetensors holding the logits of an
independent PyTorch re-implementation of the Hugging Face forward of
Qwen3ForCausalLM / Qwen2ForCausalLM / LlamaForCausalLM.

The reference runs in float64 on the weights *as stored* (bf16 / f16 values
widened exactly), so the only difference left between it and sidr is sidr's
own arithmetic.

Needs only torch and numpy (no transformers, no safetensors package):
    /usr/bin/python3 tests/ref/gen_reference.py [outdir]
outdir defaults to tests/fixtures/models next to this script's parent.
The output is deterministic (fixed seeds, numpy's PCG64).
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_grad_enabled(False)

# --------------------------------------------------------------------------
# safetensors writing

ST_DTYPES = {"F32": 4, "BF16": 2, "F16": 2, "I32": 4}


def to_storage(t, dtype):
    """A float tensor -> (stored bytes, the exact f64 values stored)."""
    t = t.to(torch.float32).contiguous()
    if dtype == "F32":
        raw = t.numpy().astype("<f4").tobytes()
        back = t.to(torch.float64)
    elif dtype == "BF16":
        b = t.to(torch.bfloat16)          # round to nearest even
        raw = b.view(torch.int16).numpy().astype("<i2").tobytes()
        back = b.to(torch.float64)
    elif dtype == "F16":
        h = t.numpy().astype(np.float16)
        raw = h.astype("<f2").tobytes()
        back = torch.from_numpy(h.astype(np.float64))
    else:
        raise ValueError(dtype)
    return raw, back


def write_safetensors(path, entries, metadata=None):
    """entries: list of (name, dtype, shape, raw bytes), written in that order."""
    header = {}
    off = 0
    for name, dtype, shape, raw in entries:
        n = int(np.prod(shape)) if len(shape) else 1
        assert n * ST_DTYPES[dtype] == len(raw), name
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    if metadata is not None:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for _, _, _, raw in entries:
            f.write(raw)
    return off


def i32(x):
    return np.asarray(x, dtype="<i4").tobytes()


def f32(x):
    return np.asarray(x, dtype="<f4").tobytes()


# --------------------------------------------------------------------------
# the reference forward (Hugging Face semantics, float64)

def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return x * torch.rsqrt(var + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, W, tokens, capture=None):
    """Logits [T, V] of one sequence (positions 0..T-1), float64.  With a
    dict `capture`, also its per-layer attention probabilities ("attn", [H, T, T]
    each) and the residual stream after each layer ("resid", [T, D] each)."""
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", D // H)
    eps = cfg["rms_norm_eps"]
    theta = cfg["rope_theta"]
    mt = cfg["model_type"]
    T = len(tokens)
    tok = torch.tensor(tokens, dtype=torch.long)

    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    pos = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq)               # [T, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)           # [T, hd]
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    n_rep = H // KV

    x = W["model.embed_tokens.weight"][tok]           # [T, D]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = h @ W[p + "self_attn.q_proj.weight"].T
        k = h @ W[p + "self_attn.k_proj.weight"].T
        v = h @ W[p + "self_attn.v_proj.weight"].T
        if mt == "qwen2":
            q = q + W[p + "self_attn.q_proj.bias"]
            k = k + W[p + "self_attn.k_proj.bias"]
            v = v + W[p + "self_attn.v_proj.bias"]
        q = q.view(T, H, hd)
        k = k.view(T, KV, hd)
        v = v.view(T, KV, hd)
        if mt == "qwen3":
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: query head j reads kv head j // n_rep
        k = k.repeat_interleave(n_rep, dim=1)
        v = v.repeat_interleave(n_rep, dim=1)
        s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd) + mask
        a = torch.softmax(s, dim=-1)
        if capture is not None:
            capture.setdefault("attn", []).append(a.clone())
        o = torch.einsum("hts,shd->thd", a, v).reshape(T, H * hd)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
        if capture is not None:
            capture.setdefault("resid", []).append(x.clone())
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


# --------------------------------------------------------------------------
# random checkpoints

def tensor_list(cfg):
    """(name, shape, kind) in Hugging Face order."""
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", D // H)
    I = cfg["intermediate_size"]
    V = cfg["vocab_size"]
    mt = cfg["model_type"]
    out = [("model.embed_tokens.weight", (V, D), "embed")]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        out.append((p + "input_layernorm.weight", (D,), "norm"))
        out.append((p + "self_attn.q_proj.weight", (H * hd, D), "w"))
        if mt == "qwen2":
            out.append((p + "self_attn.q_proj.bias", (H * hd,), "bias"))
        out.append((p + "self_attn.k_proj.weight", (KV * hd, D), "w"))
        if mt == "qwen2":
            out.append((p + "self_attn.k_proj.bias", (KV * hd,), "bias"))
        out.append((p + "self_attn.v_proj.weight", (KV * hd, D), "w"))
        if mt == "qwen2":
            out.append((p + "self_attn.v_proj.bias", (KV * hd,), "bias"))
        out.append((p + "self_attn.o_proj.weight", (D, H * hd), "w"))
        if mt == "qwen3":
            out.append((p + "self_attn.q_norm.weight", (hd,), "norm"))
            out.append((p + "self_attn.k_norm.weight", (hd,), "norm"))
        out.append((p + "post_attention_layernorm.weight", (D,), "norm"))
        out.append((p + "mlp.gate_proj.weight", (I, D), "w"))
        out.append((p + "mlp.up_proj.weight", (I, D), "w"))
        out.append((p + "mlp.down_proj.weight", (D, I), "w"))
    out.append(("model.norm.weight", (D,), "norm"))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, D), "embed"))
    return out


def random_weights(cfg, rng, wstd):
    vals = {}
    for name, shape, kind in tensor_list(cfg):
        if kind == "norm":
            # around 1 with real spread, never near 0
            a = 1.0 + 0.25 * rng.standard_normal(shape)
        elif kind == "bias":
            a = 0.2 * rng.standard_normal(shape)
        elif kind == "embed":
            a = 0.1 * rng.standard_normal(shape)
        else:
            fan_in = shape[1]
            a = (wstd / math.sqrt(fan_in / 64.0)) * rng.standard_normal(shape)
        vals[name] = torch.from_numpy(a.astype(np.float32))
    return vals


# --------------------------------------------------------------------------
# fixtures

CASE_LENGTHS = [1, 2, 7, 33, 64]
GREEDY_PROMPT = 6
GREEDY_N = 16
BRANCH_PREFIX = 9
BRANCH_S = 3
REORDER_PARENTS = [[0, 1, 2], [2, 2, 0], [1, 0, 2], [0, 0, 1]]  # before step s


def base_config(arch, model_type, **kw):
    c = {
        "architectures": [arch],
        "model_type": model_type,
        "hidden_act": "silu",
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": True,
        "transformers_version": "4.51.0",
    }
    c.update(kw)
    return c


FIXTURES = [
    # (a) Qwen3, tied embeddings, bf16 (the layout of the released checkpoints)
    dict(name="qwen3-tied-bf16", dtype="BF16", seed=101, wstd=0.10, shards=None,
         generation_config={"bos_token_id": 1, "do_sample": True, "eos_token_id": [2, 3],
                            "pad_token_id": 2, "temperature": 0.7, "top_k": 20,
                            "top_p": 0.8, "transformers_version": "4.51.0"},
         config=base_config("Qwen3ForCausalLM", "qwen3",
                            hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                            rms_norm_eps=1e-6, rope_theta=1000000.0, vocab_size=1031,
                            tie_word_embeddings=True, max_position_embeddings=256,
                            torch_dtype="bfloat16", bos_token_id=1, eos_token_id=2,
                            attention_bias=False, sliding_window=None,
                            use_sliding_window=False, max_window_layers=2,
                            rope_scaling=None)),
    # (b) Qwen3, untied, f32, head_dim * heads (128) != hidden_size (64)
    dict(name="qwen3-hd32-f32", dtype="F32", seed=202, wstd=0.10, shards=None,
         config=base_config("Qwen3ForCausalLM", "qwen3",
                            hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                            num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                            rms_norm_eps=1e-6, rope_theta=10000.0, vocab_size=509,
                            tie_word_embeddings=False, max_position_embeddings=256,
                            torch_dtype="float32", bos_token_id=1, eos_token_id=2,
                            attention_bias=False, rope_scaling=None)),
    # (c) Qwen2 with q/k/v biases, tied, f32, no head_dim key (48 / 4 = 12)
    dict(name="qwen2-bias-f32", dtype="F32", seed=303, wstd=0.10, shards=None,
         config=base_config("Qwen2ForCausalLM", "qwen2",
                            hidden_size=48, intermediate_size=160, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2,
                            rms_norm_eps=1e-6, rope_theta=1000000.0, vocab_size=509,
                            tie_word_embeddings=True, max_position_embeddings=256,
                            torch_dtype="float32", bos_token_id=1, eos_token_id=2,
                            sliding_window=256, use_sliding_window=False,
                            max_window_layers=2, rope_scaling=None)),
    # (d) Llama, untied, f16, 6 query heads over 2 kv heads (n_rep 3)
    dict(name="llama-f16", dtype="F16", seed=404, wstd=0.10, shards=None,
         config=base_config("LlamaForCausalLM", "llama",
                            hidden_size=96, intermediate_size=256, num_hidden_layers=2,
                            num_attention_heads=6, num_key_value_heads=2, head_dim=16,
                            rms_norm_eps=1e-5, rope_theta=500000.0, vocab_size=1031,
                            tie_word_embeddings=False, max_position_embeddings=256,
                            torch_dtype="float16", bos_token_id=1, eos_token_id=2,
                            attention_bias=False, mlp_bias=False, pretraining_tp=1,
                            rope_scaling=None)),
    # (e) Qwen3 in two shards, untied, f32, one kv head (MQA), hidden 48 vs 4*16
    dict(name="qwen3-sharded-f32", dtype="F32", seed=505, wstd=0.10, shards=2,
         config=base_config("Qwen3ForCausalLM", "qwen3",
                            hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                            rms_norm_eps=1e-6, rope_theta=10000.0, vocab_size=257,
                            tie_word_embeddings=False, max_position_embeddings=256,
                            torch_dtype="float32", bos_token_id=1, eos_token_id=2,
                            attention_bias=False, rope_scaling=None)),
]


def greedy(cfg, W, prompt, n):
    seq = list(prompt)
    margins = []
    for _ in range(n):
        lg = forward(cfg, W, seq)[-1]
        top = torch.topk(lg, 2).values
        margins.append(float(top[0] - top[1]))
        seq.append(int(torch.argmax(lg)))
    return seq[len(prompt):], min(margins), float(lg.abs().max())


def build(fx, outdir):
    cfg = fx["config"]
    V = cfg["vocab_size"]
    rng = np.random.default_rng(fx["seed"])
    d = os.path.join(outdir, fx["name"])
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))

    # weights, stored and read back
    raw_vals = random_weights(cfg, rng, fx["wstd"])
    W = {}
    entries = []
    for name, shape, _ in tensor_list(cfg):
        raw, back = to_storage(raw_vals[name], fx["dtype"])
        W[name] = back.reshape(shape)
        entries.append((name, fx["dtype"], shape, raw))

    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    if "generation_config" in fx:
        with open(os.path.join(d, "generation_config.json"), "w") as f:
            json.dump(fx["generation_config"], f, indent=2)
            f.write("\n")

    if not fx["shards"]:
        write_safetensors(os.path.join(d, "model.safetensors"), entries, {"format": "pt"})
    else:
        n = fx["shards"]
        # split after the first layer's tensors so each shard holds a mix
        cut = next(i for i, e in enumerate(entries) if e[0].startswith("model.layers.1."))
        parts = [entries[:cut], entries[cut:]]
        assert n == 2
        weight_map = {}
        total = 0
        for si, part in enumerate(parts):
            fname = "model-%05d-of-%05d.safetensors" % (si + 1, n)
            total += write_safetensors(os.path.join(d, fname), part, {"format": "pt"})
            for e in part:
                weight_map[e[0]] = fname
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
            f.write("\n")

    # reference outputs
    ref = []
    scale = 0.0
    case_tokens = []
    for ci, T in enumerate(CASE_LENGTHS):
        toks = rng.integers(0, V, size=T).tolist()
        case_tokens.append(toks)
        lg = forward(cfg, W, toks)
        scale = max(scale, float(lg.abs().max()))
        ref.append(("case%d.tokens" % ci, "I32", (T,), i32(toks)))
        ref.append(("case%d.logits" % ci, "F32", (T, V), f32(lg.numpy())))

    # greedy: of a few candidate prompts keep one whose continuation is not a
    # single repeated token and whose argmax is least ambiguous, so that a
    # correct engine cannot flip a token on rounding.
    best = None
    for _ in range(60):
        prompt = rng.integers(0, V, size=GREEDY_PROMPT).tolist()
        toks, margin, _ = greedy(cfg, W, prompt, GREEDY_N)
        key = (min(len(set(toks)), 6), margin)
        if best is None or key > best[3]:
            best = (prompt, toks, margin, key)
    prompt, gtoks, gmargin, _ = best
    ref.append(("greedy0.prompt", "I32", (GREEDY_PROMPT,), i32(prompt)))
    ref.append(("greedy0.tokens", "I32", (GREEDY_N,), i32(gtoks)))

    # branches: B=3 continuations of S tokens after a shared prefix
    B = 3
    prefix = rng.integers(0, V, size=BRANCH_PREFIX).tolist()
    btoks = rng.integers(0, V, size=(B, BRANCH_S)).tolist()
    blog = np.zeros((B, BRANCH_S, V), dtype=np.float32)
    for b in range(B):
        lg = forward(cfg, W, prefix + btoks[b])
        blog[b] = lg[BRANCH_PREFIX:].numpy()
    ref.append(("branch.prefix", "I32", (BRANCH_PREFIX,), i32(prefix)))
    ref.append(("branch.tokens", "I32", (B, BRANCH_S), i32(btoks)))
    ref.append(("branch.logits", "F32", (B, BRANCH_S, V), f32(blog)))

    # reorder: before step s every sequence b continues from parents[s][b]'s
    # continuation, then is fed tokens[s][b]; logits[s][b] are those of the
    # plain sequence prefix + (its history after the reorders).
    S = len(REORDER_PARENTS)
    rtoks = rng.integers(0, V, size=(S, B)).tolist()
    rlog = np.zeros((S, B, V), dtype=np.float32)
    hist = [[] for _ in range(B)]
    for s in range(S):
        hist = [list(hist[REORDER_PARENTS[s][b]]) for b in range(B)]
        for b in range(B):
            hist[b].append(rtoks[s][b])
            rlog[s, b] = forward(cfg, W, prefix + hist[b])[-1].numpy()
    ref.append(("reorder.parents", "I32", (S, B), i32(REORDER_PARENTS)))
    ref.append(("reorder.tokens", "I32", (S, B), i32(rtoks)))
    ref.append(("reorder.logits", "F32", (S, B, V), f32(rlog)))

    # capture: attention probabilities and residuals of case 3 (no random
    # draws, so every tensor above stays as it was)
    cap = {}
    forward(cfg, W, case_tokens[3], cap)
    L = cfg["num_hidden_layers"]
    T3 = CASE_LENGTHS[3]
    ref.append(("capture.attn", "F32", (L, cfg["num_attention_heads"], T3, T3),
                f32(torch.stack(cap["attn"]).numpy())))
    ref.append(("capture.resid", "F32", (L, T3, cfg["hidden_size"]), f32(torch.stack(cap["resid"]).numpy())))

    meta = {"fixture": fx["name"], "dtype": fx["dtype"], "logit_scale": "%.6g" % scale,
            "greedy_min_margin": "%.6g" % gmargin, "generator": "tests/ref/gen_reference.py"}
    write_safetensors(os.path.join(d, "reference.safetensors"), ref, meta)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%-20s %-5s logit scale %.3f  greedy margin %.4f  %7.1f KB"
          % (fx["name"], fx["dtype"], scale, gmargin, size / 1024))
    return size


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures", "models")
    os.makedirs(outdir, exist_ok=True)
    total = 0
    for fx in FIXTURES:
        total += build(fx, outdir)
    print("total %.1f KB" % (total / 1024))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Generates sidr's training fixtures: tiny models, a padded and masked batch,
the reference loss, per-token log-probs and every parameter's gradient, two
AdamW steps and the learning-rate schedules.

Each fixture is a Hugging Face model folder (config.json, model.safetensors in
F32) plus grad_reference.safetensors.  The reference is an independent
PyTorch implementation of the Hugging Face forward of Qwen3ForCausalLM /
Qwen2ForCausalLM (batched, causal, right padding), differentiated by autograd
in float64 on the weights as stored, so every difference left is sidr's f32
arithmetic.  The AdamW reference is torch.optim.AdamW itself (float64) with
torch.nn.utils.clip_grad_norm_'s rule, fed the *stored* (f32) gradients; the
schedules are torch's LambdaLR driven by Hugging Face's lambdas.

Needs only torch and numpy:
    /usr/bin/python3 tests/ref/gen_grad_reference.py [outdir]
outdir defaults to tests/fixtures/grad.  Deterministic (numpy PCG64 seeds).
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

# --------------------------------------------------------------------------
# safetensors writing (8-byte LE header length, JSON padded with spaces)

ST_SIZES = {"F32": 4, "I32": 4, "I64": 8}


def write_safetensors(path, entries, metadata=None):
    """entries: (name, dtype, shape, raw bytes) in file order."""
    header = {}
    off = 0
    for name, dtype, shape, raw in entries:
        n = int(np.prod(shape)) if len(shape) else 1
        assert n * ST_SIZES[dtype] == len(raw), name
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
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


def f32(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().numpy()
    return np.asarray(x, dtype="<f4").tobytes()


def i32(x):
    return np.asarray(x, dtype="<i4").tobytes()


def round_f32(t):
    """float64 tensor -> the float64 value of its f32 rounding."""
    return t.detach().to(torch.float32).to(torch.float64)


# --------------------------------------------------------------------------
# the model (Hugging Face semantics, batched, float64)

def cfg_dims(cfg):
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", D // H)
    return D, H, KV, hd


def tensor_list(cfg):
    """(name, shape, kind) in Hugging Face order."""
    D, H, KV, hd = cfg_dims(cfg)
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


def random_weights(cfg, rng):
    vals = {}
    for name, shape, kind in tensor_list(cfg):
        if kind == "norm":
            a = 1.0 + 0.25 * rng.standard_normal(shape)
        elif kind == "bias":
            a = 0.2 * rng.standard_normal(shape)
        elif kind == "embed":
            a = 0.5 * rng.standard_normal(shape)
        else:
            a = (0.3 / math.sqrt(shape[1] / 64.0)) * rng.standard_normal(shape)
        # stored as F32: the reference works on exactly these values
        vals[name] = torch.from_numpy(a.astype(np.float32).astype(np.float64))
    return vals


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_tables(cfg, T):
    """cos/sin [T, hd] as Hugging Face builds them: inv_freq and the angles in
    float32 (LlamaRotaryEmbedding), cos/sin of those f32 angles."""
    D, H, KV, hd = cfg_dims(cfg)
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    inv = inv.to(torch.float32)
    ang = torch.outer(torch.arange(T, dtype=torch.float32), inv)      # f32 products
    emb = torch.cat((ang, ang), dim=-1).to(torch.float64)
    return emb.cos(), emb.sin()


def logits_of(cfg, W, tokens):
    """tokens: LongTensor [B, T] -> logits [B, T, V]."""
    D, H, KV, hd = cfg_dims(cfg)
    eps = cfg["rms_norm_eps"]
    mt = cfg["model_type"]
    B, T = tokens.shape
    cos, sin = rope_tables(cfg, T)
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    mask = torch.full((T, T), float("-inf")).triu(1)
    n_rep = H // KV
    x = W["model.embed_tokens.weight"][tokens]
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
        q = q.view(B, T, H, hd)
        k = k.view(B, T, KV, hd)
        v = v.view(B, T, KV, hd)
        if mt == "qwen3":
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(n_rep, dim=2)
        v = v.repeat_interleave(n_rep, dim=2)
        s = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(hd) + mask
        a = torch.softmax(s, dim=-1)
        o = torch.einsum("bhts,bshd->bthd", a, v).reshape(B, T, H * hd)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


def loss_and_logp(cfg, W, tokens, weights):
    """Masked cross-entropy: target t (t >= 1) is tokens[:, t] predicted from
    position t-1, weighted by weights[:, t]; mean over the total weight."""
    lg = logits_of(cfg, W, tokens)
    lp = torch.log_softmax(lg[:, :-1], dim=-1).gather(-1, tokens[:, 1:, None])[..., 0]    # [B, T-1]
    w = weights[:, 1:]
    loss = -(w * lp).sum() / w.sum()
    logp = torch.zeros(tokens.shape)
    logp[:, 1:] = lp.detach()
    return loss, logp


def grads_at(cfg, vals, tokens, weights):
    W = {k: v.clone().requires_grad_(True) for k, v in vals.items()}
    loss, logp = loss_and_logp(cfg, W, tokens, weights)
    loss.backward()
    return float(loss), logp, {k: W[k].grad.detach().clone() for k in vals}


# --------------------------------------------------------------------------
# fixtures

def base_config(arch, model_type, **kw):
    c = {"architectures": [arch], "model_type": model_type, "hidden_act": "silu",
         "attention_dropout": 0.0, "initializer_range": 0.02, "use_cache": True,
         "transformers_version": "4.51.0", "max_position_embeddings": 128,
         "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32", "rope_scaling": None}
    c.update(kw)
    return c


FIXTURES = [
    # Qwen3, tied embeddings (the released checkpoints' layout)
    dict(name="qwen3-tied", seed=1101, adam=False,
         config=base_config("Qwen3ForCausalLM", "qwen3", hidden_size=32, intermediate_size=64,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            head_dim=8, rms_norm_eps=1e-6, rope_theta=1000000.0, vocab_size=67,
                            tie_word_embeddings=True, attention_bias=False,
                            use_sliding_window=False, sliding_window=None, max_window_layers=2)),
    # Qwen3, untied, head_dim * heads (48) != hidden_size (24)
    dict(name="qwen3-untied-hd", seed=2202, adam=False,
         config=base_config("Qwen3ForCausalLM", "qwen3", hidden_size=24, intermediate_size=40,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            head_dim=12, rms_norm_eps=1e-6, rope_theta=10000.0, vocab_size=53,
                            tie_word_embeddings=False, attention_bias=False)),
    # Qwen2 with q/k/v biases, untied, one kv head for four query heads, no head_dim key
    dict(name="qwen2-bias", seed=3303, adam=True,
         config=base_config("Qwen2ForCausalLM", "qwen2", hidden_size=32, intermediate_size=48,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                            rms_norm_eps=1e-6, rope_theta=1000000.0, vocab_size=59,
                            tie_word_embeddings=False, use_sliding_window=False,
                            sliding_window=128, max_window_layers=2)),
]

B, T = 4, 70                   # T > 64: attention runs in two query blocks
LENGTHS = [70, 45, 31, 12]    # right padding after these
PROMPTS = [20, 9, 5, 1]       # targets start at these positions
SEQ_WEIGHT = [1.0, 1.0, 0.5, 1.0]

ADAM = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)


def make_batch(rng, V):
    toks = rng.integers(3, V, size=(B, T))
    w = np.zeros((B, T))
    for b in range(B):
        toks[b, LENGTHS[b]:] = 0                     # pad id (any in-vocabulary id works)
        w[b, PROMPTS[b]:LENGTHS[b]] = SEQ_WEIGHT[b]
    return torch.from_numpy(toks.astype(np.int64)), torch.from_numpy(w)


def adam_reference(cfg, vals, tokens, weights, g1):
    """Two torch.optim.AdamW steps with clipping, decay on matrices only.
    Returns (grad2, p1, p2, clip, norm1, norm2); the gradients fed to torch
    are the stored f32 ones."""
    names = [n for n, _, _ in tensor_list(cfg)]
    kinds = {n: k for n, _, k in tensor_list(cfg)}
    P = {n: vals[n].clone().requires_grad_(True) for n in names}
    decay = [P[n] for n in names if kinds[n] not in ("norm", "bias")]
    nodecay = [P[n] for n in names if kinds[n] in ("norm", "bias")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": ADAM["weight_decay"]},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=ADAM["lr"], betas=ADAM["betas"], eps=ADAM["eps"])
    g1s = {n: round_f32(g1[n]) for n in names}
    norm1 = math.sqrt(sum(float((g * g).sum()) for g in g1s.values()))
    clip = 0.4 * norm1                   # both steps clip

    def step(gs):
        for n in names:
            P[n].grad = gs[n].clone()
        norm = float(torch.nn.utils.clip_grad_norm_([P[n] for n in names], clip))
        opt.step()
        return norm

    n1 = step(g1s)
    assert abs(n1 - norm1) < 1e-9 * norm1
    p1 = {n: P[n].detach().clone() for n in names}
    _, _, g2 = grads_at(cfg, p1, tokens, weights)
    g2s = {n: round_f32(g2[n]) for n in names}
    norm2 = step(g2s)
    p2 = {n: P[n].detach().clone() for n in names}
    return g2s, p1, p2, clip, norm1, norm2


def schedules():
    """lr of updates 0..12 (warmup 3, total 10, lr 1e-3) from torch's LambdaLR
    with Hugging Face's schedule lambdas (transformers/optimization.py)."""
    W, N = 3, 10

    def constant(s):
        return s / max(1.0, W) if s < W else 1.0

    def linear(s):
        if s < W:
            return s / max(1, W)
        return max(0.0, (N - s) / max(1, N - W))

    def cosine(s, min_rate=0.0):
        if s < W:
            return s / max(1, W)
        progress = (s - W) / max(1, N - W)
        f = 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))
        return max(0.0, f * (1 - min_rate) + min_rate)

    out = {}
    for name, fn in (("constant", constant), ("linear", linear), ("cosine", cosine),
                     ("cosine_min", lambda s: cosine(s, 0.1))):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=1e-3)
        sch = torch.optim.lr_scheduler.LambdaLR(opt, fn)
        lrs = []
        for _ in range(N + 1):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        out[name] = lrs
    return out


def build(fx, outdir):
    cfg = fx["config"]
    rng = np.random.default_rng(fx["seed"])
    d = os.path.join(outdir, fx["name"])
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    vals = random_weights(cfg, rng)
    names = [n for n, _, _ in tensor_list(cfg)]
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"),
                      [(n, "F32", tuple(vals[n].shape), f32(vals[n])) for n in names], {"format": "pt"})

    tokens, weights = make_batch(rng, cfg["vocab_size"])
    loss, logp, g = grads_at(cfg, vals, tokens, weights)
    ent = [("batch.tokens", "I32", (B, T), i32(tokens.numpy())),
           ("batch.weights", "F32", (B, T), f32(weights)),
           ("ref.loss", "F32", (1,), f32([loss])),
           ("ref.logp", "F32", (B, T), f32(logp))]
    gmax = 0.0
    for n in names:
        ent.append(("grad." + n, "F32", tuple(g[n].shape), f32(g[n])))
        gmax = max(gmax, float(g[n].abs().max()))
    meta = {"fixture": fx["name"], "loss": "%.17g" % loss, "generator": "tests/ref/gen_grad_reference.py",
            "B": B, "T": T}
    if fx["adam"]:
        g2, p1, p2, clip, n1, n2 = adam_reference(cfg, vals, tokens, weights, g)
        for n in names:
            ent.append(("adam.grad2." + n, "F32", tuple(g2[n].shape), f32(g2[n])))
        for n in names:
            ent.append(("adam.p1." + n, "F32", tuple(p1[n].shape), f32(p1[n])))
        for n in names:
            ent.append(("adam.p2." + n, "F32", tuple(p2[n].shape), f32(p2[n])))
        ent.append(("adam.hparams", "F32", (6,), f32([ADAM["lr"], ADAM["betas"][0], ADAM["betas"][1],
                                                      ADAM["eps"], ADAM["weight_decay"], clip])))
        ent.append(("adam.norms", "F32", (2,), f32([n1, n2])))
        for name, lrs in schedules().items():
            ent.append(("sched." + name, "F32", (len(lrs),), f32(lrs)))
        meta.update({"adam_clip": "%.17g" % clip, "adam_norm1": "%.17g" % n1, "adam_norm2": "%.17g" % n2})
    write_safetensors(os.path.join(d, "grad_reference.safetensors"), ent, meta)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%-16s loss %.6f  max|grad| %.4g  %6.1f KB" % (fx["name"], loss, gmax, size / 1024))
    return size


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures", "grad")
    os.makedirs(outdir, exist_ok=True)
    total = sum(build(fx, outdir) for fx in FIXTURES)
    print("total %.1f KB" % (total / 1024))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch baseline for `sidr bench --torch`.

Loads a Hugging Face model folder (config.json + model.safetensors, or shards
listed by model.safetensors.index.json) into torch tensors of the stored dtype
(bf16 for the released checkpoints) and times the same workload as
`sidr bench`: a prefill of --prompt-tokens random tokens (logits of the last
position only), then --decode-tokens greedy decode steps through a KV cache.
The forward follows Hugging Face's eager Qwen3 / Qwen2 / Llama code in the
model dtype (RMSNorm variance in f32, softmax in f32, everything else in the
model dtype), i.e. what `AutoModelForCausalLM.from_pretrained(dir,
torch_dtype=torch.bfloat16)` computes on CPU.

Needs only torch and numpy (no transformers, no safetensors package).
Prints one JSON object on stdout; progress on stderr.  When torch is
missing it prints {"error": "..."} and exits with status 3.

    /usr/bin/python3 bench/torch_bench.py --model DIR [--threads N]
        [--prompt-tokens 128] [--decode-tokens 32] [--repeats 3]
"""

import argparse
import json
import os
import struct
import sys
import time


def log(msg):
    print("torch_bench: " + msg, file=sys.stderr, flush=True)


ST_DTYPES = {"F32": ("<f4", 4), "BF16": ("<i2", 2), "F16": ("<f2", 2)}


def read_safetensors(path, torch, np):
    """{name: tensor} for one .safetensors file (float tensors only)."""
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
    base = 8 + hlen
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dt = e["dtype"]
        if dt not in ST_DTYPES:
            raise ValueError("%s: tensor %s has dtype %s (expected F32, BF16 or F16)" % (path, name, dt))
        b, en = e["data_offsets"]
        npdt, size = ST_DTYPES[dt]
        arr = np.frombuffer(mm, dtype=npdt, count=(en - b) // size, offset=base + b).copy()
        t = torch.from_numpy(arr)
        if dt == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t.reshape(e["shape"])
    del mm
    return out


def load_weights(d, torch, np):
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    W = {}
    for fn in files:
        W.update(read_safetensors(os.path.join(d, fn), torch, np))
    return W


class Model:
    """Hugging Face eager forward with a preallocated KV cache."""

    def __init__(self, cfg, W, torch, cap):
        self.t = torch
        self.F = torch.nn.functional
        self.cfg = cfg
        self.W = W
        self.D = cfg["hidden_size"]
        self.H = cfg["num_attention_heads"]
        self.KV = cfg.get("num_key_value_heads", self.H)
        self.hd = cfg.get("head_dim") or self.D // self.H
        self.L = cfg["num_hidden_layers"]
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.mt = cfg.get("model_type", "qwen3")
        self.dtype = W["model.embed_tokens.weight"].dtype
        self.head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
        theta = cfg.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd))
        self.kc = [torch.zeros(self.KV, cap, self.hd, dtype=self.dtype) for _ in range(self.L)]
        self.vc = [torch.zeros(self.KV, cap, self.hd, dtype=self.dtype) for _ in range(self.L)]
        self.len = 0

    def rms(self, x, w):
        t = self.t
        dt = x.dtype
        x = x.to(t.float32)
        var = x.pow(2).mean(-1, keepdim=True)
        x = x * t.rsqrt(var + self.eps)
        return w * x.to(dt)

    @staticmethod
    def rotate_half(x, torch):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, tokens):
        """Logits of the last position; appends to the cache."""
        t, F, W = self.t, self.F, self.W
        T = len(tokens)
        start = self.len
        ctx = start + T
        H, KV, hd = self.H, self.KV, self.hd
        group = H // KV
        pos = t.arange(start, ctx, dtype=t.float32)
        freqs = t.outer(pos, self.inv_freq)
        emb = t.cat((freqs, freqs), dim=-1)
        cos = emb.cos().to(self.dtype)[None, :, :]       # [1, T, hd]
        sin = emb.sin().to(self.dtype)[None, :, :]
        mask = None
        if T > 1:
            mask = t.full((T, ctx), float("-inf"), dtype=t.float32).triu(start + 1)
        scale = hd ** -0.5
        x = W["model.embed_tokens.weight"][t.tensor(tokens)]
        for i in range(self.L):
            p = "model.layers.%d." % i
            h = self.rms(x, W[p + "input_layernorm.weight"])
            q = F.linear(h, W[p + "self_attn.q_proj.weight"], W.get(p + "self_attn.q_proj.bias"))
            k = F.linear(h, W[p + "self_attn.k_proj.weight"], W.get(p + "self_attn.k_proj.bias"))
            v = F.linear(h, W[p + "self_attn.v_proj.weight"], W.get(p + "self_attn.v_proj.bias"))
            q = q.view(T, H, hd).transpose(0, 1)          # [H, T, hd]
            k = k.view(T, KV, hd).transpose(0, 1)
            v = v.view(T, KV, hd).transpose(0, 1)
            if self.mt == "qwen3":
                q = self.rms(q, W[p + "self_attn.q_norm.weight"])
                k = self.rms(k, W[p + "self_attn.k_norm.weight"])
            q = q * cos + self.rotate_half(q, t) * sin
            k = k * cos + self.rotate_half(k, t) * sin
            self.kc[i][:, start:ctx] = k
            self.vc[i][:, start:ctx] = v
            K = self.kc[i][:, :ctx]                       # [KV, ctx, hd]
            V = self.vc[i][:, :ctx]
            # repeat_kv: query head j reads kv head j // group
            qg = q.reshape(KV, group * T, hd)
            s = t.matmul(qg, K.transpose(1, 2)) * scale   # [KV, group*T, ctx]
            s = s.view(KV, group, T, ctx)
            if mask is not None:
                s = s + mask
            a = t.softmax(s, dim=-1, dtype=t.float32).to(self.dtype)
            o = t.matmul(a.view(KV, group * T, ctx), V)   # [KV, group*T, hd]
            o = o.view(H, T, hd).transpose(0, 1).reshape(T, H * hd)
            x = x + F.linear(o, W[p + "self_attn.o_proj.weight"])
            h = self.rms(x, W[p + "post_attention_layernorm.weight"])
            g = F.linear(h, W[p + "mlp.gate_proj.weight"])
            u = F.linear(h, W[p + "mlp.up_proj.weight"])
            x = x + F.linear(F.silu(g) * u, W[p + "mlp.down_proj.weight"])
        self.len = ctx
        last = self.rms(x[-1:], W["model.norm.weight"])
        return F.linear(last, self.head)[0].float()


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(json.dumps({"error": "torch/numpy not importable by %s (%s)" % (sys.executable, e)}))
        return 3
    torch.set_grad_enabled(False)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    t0 = time.time()
    W = load_weights(args.model, torch, np)
    dtype = str(W["model.embed_tokens.weight"].dtype).replace("torch.", "")
    if W["model.embed_tokens.weight"].dtype == torch.float16:
        # CPU matmul in float16 is not implemented in torch 1.13: compute in f32.
        W = {k: v.float() for k, v in W.items()}
        dtype = "float16 (computed in float32)"
    load_s = time.time() - t0
    log("loaded %s (%s, %d tensors) in %.1f s; torch %s, %d threads"
        % (args.model, dtype, len(W), load_s, torch.__version__, threads))

    P, N = args.prompt_tokens, args.decode_tokens
    V = cfg["vocab_size"]
    m = Model(cfg, W, torch, P + N + 1)
    g = torch.Generator().manual_seed(args.seed)
    pre, dec = [], []
    with torch.inference_mode():
        for r in range(args.repeats + 1):          # run 0 warms up
            toks = torch.randint(0, V, (P,), generator=g).tolist()
            m.len = 0
            t0 = time.perf_counter()
            lg = m.forward(toks)
            tp = time.perf_counter() - t0
            tok = int(torch.argmax(lg))
            td = 0.0
            for _ in range(N):
                t0 = time.perf_counter()
                lg = m.forward([tok])
                td += time.perf_counter() - t0
                tok = int(torch.argmax(lg))
            if r == 0:
                log("warm-up: prefill %.2f tok/s, decode %.2f tok/s" % (P / tp, N / td))
                continue
            pre.append(P / tp)
            dec.append(N / td)
            log("run %d/%d: prefill %.2f tok/s, decode %.2f tok/s" % (r, args.repeats, pre[-1], dec[-1]))
    print(json.dumps({
        "torch_version": torch.__version__.split("+")[0],
        "threads": threads,
        "dtype": dtype,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "prompt_tokens": P,
        "decode_tokens": N,
        "repeats": args.repeats,
        "load_s": round(load_s, 3),
        "prefill_tok_s": round(median(pre), 4),
        "decode_tok_s": round(median(dec), 4),
        "prefill_runs": [round(x, 4) for x in pre],
        "decode_runs": [round(x, 4) for x in dec],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

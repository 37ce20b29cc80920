#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/tiny_bytelevel.json: a small byte-level BPE
tokenizer (GPT-2 byte map, 256 byte tokens + 300 merges learned here from a
fixed paragraph) so the tokenizer tests have something real to run when
../shared is absent.  It uses what sidr's own trained tokenizers use: NFC,
a lone ByteLevel pre-tokenizer with use_regex true, merges in the older
"a b" string form, and a few added tokens (special, non-special, SID).

Deterministic: stdlib only, ties broken by the pair's text.  Run from the
repository root:  python3 tests/ref/tiny_bpe.py
"""
import collections
import json
import os
import re

CORPUS = """
The user has interacted with items in chronological order. Can you predict
the next possible item that the user may expect? Recommendations are built
from semantic IDs: each item gets a short code, and similar items share a
prefix. The model reasons over the history, then writes the item SID.
Drills, saws, hammers, filament for 3D printers, tape, gloves and glue.
Heavy-duty staples are ideal for insulation, carpet and roofing felt.
It's the user's choice; they're sure we'll see what they've bought.
Café, crème brûlée, naïve résumé, Zürich and São Paulo. 你好世界, 推荐系统.
Numbers like 2024, 1.75 mm and 500% are split into digits by the regex.
""" * 3

N_MERGES = 300


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


# Close enough to the GPT-2 split for training; the tokenizer itself uses the
# exact GPT-2 regex at encode time.
WORD = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+")


def main():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    words = collections.Counter()
    for w in WORD.findall(CORPUS):
        words[tuple(b2u[b] for b in w.encode("utf-8"))] += 1
    merges = []
    for _ in range(N_MERGES):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        vocab[best[0] + best[1]] = len(vocab)
        new_words = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] += c
        words = new_words

    n = len(vocab)
    added = [
        {"id": n, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True},
        {"id": n + 1, "content": "<think>", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": False},
        {"id": n + 2, "content": "</think>", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": False},
    ]
    for i, tok in enumerate(sorted(["<a_1>", "<a_10>", "<b_2>", "<c_3>"])):
        added.append({"id": n + 3 + i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": True, "special": False})
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }
    here = os.path.dirname(os.path.abspath(__file__))
    dest = os.path.join(here, "..", "fixtures", "tokenizer", "tiny_bytelevel.json")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(vocab)} tokens, {len(merges)} merges, {len(added)} added tokens -> {os.path.relpath(dest)}")


if __name__ == "__main__":
    main()

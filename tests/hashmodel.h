/* Test-only: Qwen3-shaped model folders whose weights follow a formula, so a
 * model with the real 151k-token vocabulary needs no committed weights.
 * tests/ref/gen_beam_reference.py computes the same values (hash_ints) to
 * produce the reference; both sides agree bit for bit:
 *
 *   h = splitmix64(seed << 56 ^ tensor_id << 40 ^ index)
 *   weights: v = (h >> 32) % 255 - 127,  value = v * 2^-shift
 *            (shift_embed for the embedding, shift_w for projections)
 *   norms:   k = (h >> 32) % 33 - 16,    value = 1 + k * 2^-6
 *
 * tensor_id is the tensor's position in Hugging Face order: embed_tokens 0,
 * then per layer input_layernorm, q_proj, k_proj, v_proj, o_proj, q_norm,
 * k_norm, post_attention_layernorm, gate_proj, up_proj, down_proj, then
 * model.norm.  Every value is exact in bf16 (8 significant bits at most).
 * Embeddings are tied (no lm_head.weight). */
#ifndef SIDR_TEST_HASHMODEL_H
#define SIDR_TEST_HASHMODEL_H

#include <stdint.h>

#include "safetensors.h"
#include "status.h"

typedef struct {
    int vocab, hidden, layers, heads, kv_heads, head_dim, ffn, max_pos;
    int bos_id, eos_id;
    double rope_theta, norm_eps;
    uint64_t seed;
    int shift_embed, shift_w;
} hashmodel_spec;

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    int is_norm, is_embed;
} hashmodel_tensor;

/* The integer behind element index of tensor tensor_id (v or k above). */
int hashmodel_int(uint64_t seed, int tensor_id, uint64_t index, int is_norm);

/* Tensors in Hugging Face order (their index is the tensor id). */
int hashmodel_n_tensors(const hashmodel_spec *s);
void hashmodel_tensor_info(const hashmodel_spec *s, int id, hashmodel_tensor *t);

/* The float value of an integer of a tensor. */
float hashmodel_value(const hashmodel_spec *s, const hashmodel_tensor *t, int v);

/* Writes dir/config.json and dir/model.safetensors (dtype BF16 or F32; the
 * values are the same).  dir must exist. */
sidr_status hashmodel_write(const char *dir, const hashmodel_spec *s, sidr_dtype dtype);

/* Writes dir/tokenizer.json: the base tokenizer.json with tokens[0..n)
 * appended to "added_tokens" the way Hugging Face add_tokens() does
 * (non-special, normalized, ids first_id, first_id + 1, ...), and copies
 * tokenizer_config.json from the base tokenizer's folder when it has one. */
sidr_status hashmodel_write_tokenizer(const char *dir, const char *base_tokenizer_json,
                                      const char *const *tokens, int n, int first_id);

/* Writes text to dir/name. */
sidr_status hashmodel_write_text(const char *dir, const char *name, const char *text);

#endif

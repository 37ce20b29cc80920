/* The decoder-only transformer of the Qwen3 / Qwen2 / Llama family, run from
 * a memory-mapped Hugging Face folder.  The caller drives the forward:
 *
 *   sidr_model m;  sidr_model_load(&m, dir);
 *   sidr_state *s = sidr_state_new(&m, max_tokens_per_call);
 *   sidr_kv kv;    sidr_kv_init(&kv, &m.cfg, capacity);
 *   sidr_forward(&m, s, &kv, prompt, n, logits, 0);     prefill (sgemm)
 *   sidr_forward(&m, s, &kv, &tok, 1, logits, 0);       one decode step
 *
 * A batch of sequences that share a prompt (beams, GRPO rollouts) keeps the
 * prompt's K/V once in a sidr_kv and each sequence's continuation in a
 * sidr_branches; one sidr_forward_branches call advances every sequence by
 * one token in a single batched pass. */
#ifndef SIDR_TRANSFORMER_H
#define SIDR_TRANSFORMER_H

#include "config.h"
#include "kernels.h"
#include "safetensors.h"
#include "status.h"

/* A weight matrix [rows][cols] as stored (out features x in features),
 * kept in its file dtype inside the mapping. */
typedef struct {
    sidr_dtype dtype;
    const void *data;
    int rows, cols;
} sidr_mat;

typedef struct {
    float *attn_norm, *ffn_norm;   /* [dim] */
    float *q_norm, *k_norm;        /* [head_dim], Qwen3 only */
    float *bq, *bk, *bv;           /* Qwen2 only */
    sidr_mat wq, wk, wv, wo;
    sidr_mat w_gate, w_up, w_down;
} sidr_layer;

typedef struct {
    sidr_config cfg;
    sidr_safetensors st;
    sidr_mat embed;                /* [vocab][dim] */
    sidr_mat lm_head;              /* == embed when tied */
    float *final_norm;             /* [dim] */
    sidr_layer *layers;
    float *rope_inv_freq;          /* [head_dim/2] */
    char *dir;
    int borrowed;                  /* weights, norms and biases belong to someone else (training params) */
    sidr_numerics numerics;        /* EXACT after load; the caller may choose FAST (see kernels.h) */
} sidr_model;

/* Loads dir/config.json and the safetensors weights of dir; checks every
 * tensor's presence, dtype and shape against the config. */
sidr_status sidr_model_load(sidr_model *m, const char *dir);
void sidr_model_free(sidr_model *m);
/* Parameters counted once (tied embeddings once) and weight bytes read per
 * decoded token. */
long long sidr_model_n_params(const sidr_model *m);
/* Bytes of the safetensors tensors (0 for a model over training parameters). */
long long sidr_model_weight_bytes(const sidr_model *m);

/* Scans every weight in forward order (embedding, layers, final norm, LM
 * head) and fails naming the first tensor, and the element, that holds NaN
 * or Inf.  sidr_model_load runs it for models below this many bytes; a run
 * whose logits turn non-finite runs it to say why. */
#define SIDR_CHECK_AT_LOAD_BYTES (64LL << 20)
sidr_status sidr_model_check_finite(const sidr_model *m);
long long sidr_model_bytes_per_token(const sidr_model *m);

/* K/V of one sequence: [n_layers][cap][kv_dim] each, f32. */
typedef struct {
    int n_layers, kv_dim, cap, len;
    float *k, *v;
} sidr_kv;

sidr_status sidr_kv_init(sidr_kv *kv, const sidr_config *c, int cap);
void sidr_kv_free(sidr_kv *kv);
static inline void sidr_kv_reset(sidr_kv *kv) { kv->len = 0; }

/* Continuations of n_seq sequences after a shared prefix.  All sequences
 * advance in lockstep (len tokens each past the prefix). */
typedef struct {
    const sidr_kv *prefix;
    int n_layers, kv_dim, n_seq, cap, len;
    float *k, *v;                  /* [n_layers][n_seq][cap][kv_dim] */
    float *tmp;                    /* reorder scratch */
} sidr_branches;

sidr_status sidr_branches_init(sidr_branches *b, const sidr_kv *prefix, int n_seq, int cap);
void sidr_branches_free(sidr_branches *b);
/* After a beam step: sequence i continues from parent[i]'s continuation. */
void sidr_branches_reorder(sidr_branches *b, const int *parent);

/* Scratch for one forward call of up to max_tokens rows. */
typedef struct sidr_state sidr_state;
sidr_state *sidr_state_new(const sidr_model *m, int max_tokens);
void sidr_state_free(sidr_state *s);

enum { SIDR_LOGITS_LAST = 0, SIDR_LOGITS_ALL = 1, SIDR_LOGITS_NONE = 2 };

/* Feeds n tokens at positions kv->len .. kv->len+n-1, appends their K/V and
 * writes logits: for the last position ([n_vocab]), for every position
 * ([n][n_vocab]) or none.  n may exceed the state's max_tokens (it is
 * chunked). */
sidr_status sidr_forward(sidr_model *m, sidr_state *s, sidr_kv *kv,
                         const int *tokens, int n, float *logits, int which);

/* Feeds tokens[i] to sequence i of b (one token each) and writes logits
 * [n_seq][n_vocab]. */
sidr_status sidr_forward_branches(sidr_model *m, sidr_state *s, sidr_branches *b,
                                  const int *tokens, float *logits);

/* What a forward records at chosen positions when the caller passes one
 * (sidr_forward_capture), for interpretability: per layer, each head's
 * attention probabilities over the keys and the residual stream after the
 * layer.  A forward without a capture does no extra work. */
typedef struct {
    int n_pos;              /* positions recorded */
    int *pos;               /* their absolute positions in the sequence */
    int n_layers, n_heads, dim;
    int max_keys;           /* attention slots per (position, layer, head) */
    float *attn;            /* [n_pos][n_layers][n_heads][max_keys]: keys 0..pos, zero after */
    float *resid;           /* [n_pos][n_layers][dim]: after each layer, before the final norm */
    int *done;              /* [n_pos]: 1 once recorded */
} sidr_capture;

/* Records positions pos[0..n_pos) (each < max_keys). */
sidr_status sidr_capture_init(sidr_capture *c, const sidr_config *cfg, const int *pos, int n_pos, int max_keys);
void sidr_capture_free(sidr_capture *c);
static inline float *sidr_capture_attn(const sidr_capture *c, int i, int layer, int head)
{
    return c->attn + (((size_t)i * c->n_layers + layer) * c->n_heads + head) * c->max_keys;
}
static inline float *sidr_capture_resid(const sidr_capture *c, int i, int layer)
{
    return c->resid + ((size_t)i * c->n_layers + layer) * c->dim;
}

/* sidr_forward that also fills cap for the positions of this call. */
sidr_status sidr_forward_capture(sidr_model *m, sidr_state *s, sidr_kv *kv, const int *tokens, int n, float *logits,
                                 int which, sidr_capture *cap);

/* The logit lens: a residual-stream vector put through the final norm and
 * the LM head (logits [vocab]). */
void sidr_lens(const sidr_model *m, const float *resid, float *logits);

/* RoPE inverse frequencies [head_dim/2] of a config (malloc'd). */
float *sidr_rope_inv_freq(const sidr_config *c);

/* The embedding row of a token as f32 (for embedding-space neighbourhoods). */
void sidr_model_embedding(const sidr_model *m, int token, float *out);

#endif

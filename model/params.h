/* Trainable parameters: every weight of a Qwen3 / Qwen2 / Llama model as one
 * contiguous f32 buffer with named views (Hugging Face names and shapes, in
 * the order Hugging Face writes them).  Gradients and optimiser moments use
 * the same layout, so element i of any of them is the same weight.
 *
 *   sidr_params p;   sidr_params_load(&p, "in/");        any dtype, widened
 *   ... train ...
 *   sidr_params_save(&p, "out/", SIDR_BF16);             config.json + model.safetensors
 *
 * An inference sidr_model can run directly on the live f32 buffer
 * (sidr_model_from_params), so rollouts and evaluation see the weights as
 * they are being trained, without writing files. */
#ifndef SIDR_PARAMS_H
#define SIDR_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "safetensors.h"
#include "status.h"
#include "transformer.h"

typedef enum {
    SIDR_PARAM_EMBED,    /* model.embed_tokens.weight, lm_head.weight */
    SIDR_PARAM_MATRIX,   /* projections */
    SIDR_PARAM_NORM,     /* RMSNorm weights (1-D) */
    SIDR_PARAM_BIAS      /* Qwen2 q/k/v biases (1-D) */
} sidr_param_kind;

typedef struct {
    char name[80];           /* Hugging Face tensor name */
    sidr_param_kind kind;
    int ndim;                /* 1 or 2 */
    int64_t shape[2];
    size_t offset, numel;    /* in floats, into sidr_params.data */
} sidr_param_view;

typedef struct {
    float *attn_norm, *ffn_norm;      /* [dim] */
    float *q_norm, *k_norm;           /* [head_dim], Qwen3 only (else NULL) */
    float *wq, *wk, *wv, *wo;         /* [out][in] */
    float *bq, *bk, *bv;              /* Qwen2 only (else NULL) */
    float *w_gate, *w_up, *w_down;
} sidr_layer_params;

typedef struct {
    sidr_config cfg;
    size_t n;                         /* floats in data (== the parameter count) */
    float *data;                      /* 64-byte aligned, packed in view order */
    int n_views;
    sidr_param_view *views;
    float *embed;                     /* [vocab][dim] */
    float *lm_head;                   /* == embed when tied */
    float *final_norm;                /* [dim] */
    sidr_layer_params *layers;
    char *src_dir;                    /* folder it was loaded from, or NULL */
} sidr_params;

/* Allocates zeroed parameters for cfg (the layout only depends on cfg). */
sidr_status sidr_params_init(sidr_params *p, const sidr_config *cfg);
/* Loads dir/config.json and its safetensors (single or sharded; F32, BF16 or
 * F16, widened exactly to f32).  Extra tensors are ignored (e.g. a
 * lm_head.weight saved next to tied embeddings). */
sidr_status sidr_params_load(sidr_params *p, const char *dir);
/* Same layout and values in a fresh buffer. */
sidr_status sidr_params_clone(sidr_params *dst, const sidr_params *src);
/* Copies values between parameters of the same layout. */
sidr_status sidr_params_copy(sidr_params *dst, const sidr_params *src);
void sidr_params_zero(sidr_params *p);
void sidr_params_free(sidr_params *p);

/* The view of a tensor by its Hugging Face name, or NULL. */
const sidr_param_view *sidr_params_find(const sidr_params *p, const char *name);
static inline float *sidr_params_at(const sidr_params *p, const sidr_param_view *v) { return p->data + v->offset; }

/* Writes dir/model.safetensors (dtype F32 or BF16 (round to nearest even) or
 * F16, tensors in Hugging Face order, metadata {"format":"pt"}) and then
 * dir/config.json, each through a temporary file and a rename; dir and its
 * parents are created.  config.json keeps every key of the source folder's
 * config.json (when loaded from one) with torch_dtype and the size keys
 * updated; otherwise it is written from cfg. */
sidr_status sidr_params_save(const sidr_params *p, const char *dir, sidr_dtype dtype);

/* Copies the tokenizer and generation files a model folder carries
 * (tokenizer.json, tokenizer_config.json, generation_config.json,
 * special_tokens_map.json, added_tokens.json, vocab.json, merges.txt,
 * chat_template.jinja) from src_dir to dst_dir, those that exist, each
 * atomically.  Does nothing when the two name the same folder. */
sidr_status sidr_params_copy_assets(const char *src_dir, const char *dst_dir);

/* Builds an inference model whose matrices (dtype F32) and norm / bias
 * vectors point into p's buffer: it sees every later change of p without a
 * copy.  p must outlive m and keep its buffer.  The model is marked
 * borrowed, so sidr_model_free (or sidr_model_from_params_free, the same)
 * releases only what this allocated. */
sidr_status sidr_model_from_params(sidr_model *m, sidr_params *p);
void sidr_model_from_params_free(sidr_model *m);

#endif

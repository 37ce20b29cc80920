/* config.json of a Hugging Face causal LM folder (Qwen3, Qwen2, Llama). */
#ifndef SIDR_CONFIG_H
#define SIDR_CONFIG_H

#include "status.h"

typedef enum { SIDR_ARCH_QWEN3, SIDR_ARCH_QWEN2, SIDR_ARCH_LLAMA } sidr_arch;

typedef struct {
    sidr_arch arch;
    char model_type[32];     /* as written in config.json */
    char architecture[64];   /* architectures[0] */
    char torch_dtype[16];
    int dim;                 /* hidden_size */
    int hidden_dim;          /* intermediate_size */
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int head_dim;
    int vocab_size;
    int max_seq;             /* max_position_embeddings */
    float norm_eps;
    float rope_theta;
    int tie_embeddings;
    int qk_norm;             /* Qwen3: RMSNorm on q and k per head */
    int qkv_bias;            /* Qwen2: biases on q, k, v */
    int bos_id, eos_id;      /* -1 when absent */
} sidr_config;

/* Parses path (a config.json); errors name the file and the key. */
sidr_status sidr_config_load(sidr_config *c, const char *path);

/* The optional companions of config.json in a model folder: a
 * generation_config.json must be a JSON object whose bos/eos/pad_token_id
 * (an id or a list) lie inside the vocabulary; a tokenizer_config.json must
 * be a JSON object whose chat_template, if any, is a string (or HF's list of
 * named templates).  Absent files are fine. */
sidr_status sidr_generation_config_check(const char *dir, int vocab);
sidr_status sidr_tokenizer_config_check(const char *dir);
const char *sidr_arch_name(sidr_arch a);

#endif

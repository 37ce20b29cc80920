/* Fresh model folders with random weights: config.json (Hugging Face keys)
 * and model.safetensors holding every tensor sidr_model_load expects, in the
 * order Hugging Face writes them.  Used by `sidr bench` for checkpoints of the
 * released shapes and by anything that needs a model to start from. */
#ifndef SIDR_MODEL_INIT_H
#define SIDR_MODEL_INIT_H

#include <stdint.h>

#include "config.h"
#include "safetensors.h"
#include "status.h"

/* Writes dir/model.safetensors and then dir/config.json (each atomically;
 * dir and its parents are created).  Matrices are drawn from an approximate
 * normal(0, std) (a scaled sum of four uniforms, deterministic in seed),
 * norm weights are 1, biases 0.  dtype is F32, BF16 or F16.  The weights are
 * generated and written in chunks of a few MB, so a multi-GB checkpoint never
 * sits in memory.  The config's architecture (cfg->arch), sizes, norm_eps,
 * rope_theta, max_seq, tie_embeddings and bos/eos ids (-1: omitted) are
 * written; qk_norm and qkv_bias follow from the architecture. */
sidr_status sidr_model_init_random(const char *dir, const sidr_config *cfg, sidr_dtype dtype,
                                   uint64_t seed, float std);

/* Fills cfg with a Qwen3 shape by name: "0.6b" and "1.7b" (the released
 * Qwen3-0.6B / Qwen3-1.7B layouts) or "tiny" (a few MB, for tests).  Returns
 * SIDR_ERR_ARG for other names. */
sidr_status sidr_config_qwen3_preset(sidr_config *cfg, const char *name);

/* Writes cfg as a Hugging Face config.json to path (atomically). */
sidr_status sidr_config_write(const sidr_config *cfg, sidr_dtype dtype, const char *path);

#endif

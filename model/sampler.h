/* Token sampling: greedy, temperature, top-k, top-p, seeded.  Like a sampler
 * chain, each stage edits one candidate array in place. */
#ifndef SIDR_SAMPLER_H
#define SIDR_SAMPLER_H

#include <stdint.h>

typedef struct {
    float temperature;   /* <= 0: greedy (argmax) */
    int top_k;           /* <= 0: off */
    float top_p;         /* >= 1: off */
    uint64_t seed;
} sidr_sampling;

typedef struct {
    int id;
    float logit;
    float p;
} sidr_candidate;

typedef struct {
    sidr_sampling cfg;
    uint64_t rng;
    int n_vocab;
    sidr_candidate *cand;
} sidr_sampler;

void sidr_sampler_init(sidr_sampler *s, const sidr_sampling *cfg, int n_vocab);
void sidr_sampler_free(sidr_sampler *s);
/* Picks the next token from logits (not modified). */
int sidr_sampler_sample(sidr_sampler *s, const float *logits);
/* Index of the largest logit (first on ties, as torch.argmax). */
int sidr_argmax(const float *x, int n);
/* Uniform float in [0, 1) from a xorshift64* state. */
float sidr_rand_f32(uint64_t *state);

#endif

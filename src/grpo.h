/* Stage 3 of SIDReasoner (SPEC §1.4): GRPO with a rule reward.
 *
 *  - rollouts: G samples per prompt at temperature 1, unconstrained, sharing
 *    the prompt's K/V (sidr_branches), each with the sampling policy's
 *    log-probabilities (the "old" log-probs of PPO);
 *  - reward on the text after the first </think>: the first L SID tokens
 *    (white space skipped before them) compared level by level with the
 *    target: 0 when level a is wrong, 0.25 when only a is right, 0.5 for a
 *    and b, 1.0 for all L (L = 3; for other L, 0.25 * 2^(k-1) capped at 0.5
 *    for k < L right levels); + 0.1 when the generated SID is in the
 *    catalogue; 0 when there is no </think> or fewer than L SID tokens follow;
 *  - advantages per group: (r - mean) / (unbiased std + 1e-6), 0 for groups
 *    of one and constant groups, broadcast to every response token;
 *  - loss: token mean over the batch of max(-A r, -A clip(r, 1-eps, 1+eps))
 *    with r = exp(logp - old) plus beta * k3, k3 = exp(ref - logp) - (ref -
 *    logp) - 1 clamped to [-10, 10] as verl does (the gradient is 0 where
 *    the clamp is active). */
#ifndef SIDR_GRPO_H
#define SIDR_GRPO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "trainer.h"
#include "transformer.h"

/* ---- reward ------------------------------------------------------------------ */

typedef struct {
    int has_close;        /* a </think> was found */
    int parsed;           /* L SID tokens follow it */
    int levels_right;     /* leading levels equal to the target's */
    int valid;            /* the generated SID is in the catalogue */
    char sid[256];        /* the parsed SID ("" when not parsed) */
} grpo_reward_info;

/* exists(ctx, sid) says whether a SID string is in the catalogue. */
typedef int (*grpo_sid_exists)(void *ctx, const char *sid);

double grpo_reward(const char *text, size_t len, const char *target_sid, int levels, grpo_sid_exists exists,
                   void *ctx, grpo_reward_info *info);

/* The prefix part of the reward for k right leading levels out of L. */
double grpo_prefix_reward(int k, int levels);

/* ---- advantages ---------------------------------------------------------------- */

/* r: n_groups groups of g rewards (group-major); adv gets the advantages. */
void grpo_advantages(const double *r, int n_groups, int g, double *adv);

/* ---- loss ------------------------------------------------------------------------ */

typedef struct {
    double clip_eps;      /* 0.2 */
    double kl_coef;       /* 0.001; 0 disables the KL term (ref may be NULL) */
} grpo_loss_opts;

typedef struct {
    double loss, pg_loss, kl;       /* sums over tokens, divided by norm */
    long tokens;                    /* tokens with mask */
    long clipped;                   /* tokens where the clipped branch was taken with zero gradient */
    double ratio_min, ratio_max;
} grpo_loss_stats;

/* For n tokens: logp (current policy), old (rollout policy), ref (reference,
 * may be NULL when kl_coef is 0), adv (per token), mask (1 = response token;
 * NULL = all).  Adds the loss of the masked tokens divided by norm (the
 * number of response tokens of the whole batch) to st and writes dlogp =
 * d(loss)/d(logp) (0 where masked out). */
void grpo_token_loss(const float *logp, const float *old, const float *ref, const float *adv, const float *mask,
                     int n, double norm, const grpo_loss_opts *o, float *dlogp, grpo_loss_stats *st);

/* ---- rollouts ---------------------------------------------------------------------- */

typedef struct {
    int *ids;             /* generated tokens (the stop token included when it came) */
    float *logp;          /* log-probability of each under the policy (temperature 1, whatever
                             the sampling temperature: what the training forward computes) */
    int n;
    int stopped;          /* ended with a stop token (else hit max_new) */
} grpo_rollout;

void grpo_rollout_free(grpo_rollout *r);

/* Samples g continuations of the prompt (ids[0..n_prompt)) at temperature
 * temp, all sharing the prompt's K/V, until a stop token (stop[0..n_stop))
 * or max_new tokens.  Sequence k draws from the stream train_rng_seed(seed,
 * k, ...), so results do not depend on the thread count.  s must hold >= g
 * rows. */
sidr_status grpo_rollouts(sidr_model *m, sidr_state *s, const int *prompt, int n_prompt, int g, int max_new,
                          const int *stop, int n_stop, float temp, uint64_t seed, grpo_rollout *out);

/* ---- the stage ----------------------------------------------------------------------- */

/* The rl stage's loop over an opened trainer (called by train_run). */
sidr_status grpo_run(trainer *t);

#endif

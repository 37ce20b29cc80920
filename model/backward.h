/* Training forward (with saved activations) and backward of the Qwen3 /
 * Qwen2 / Llama decoder over a batch of B sequences x T tokens.
 *
 *   sidr_train *tr;  sidr_train_new(&tr, &params, &(sidr_train_opts){ .max_B = 8, .max_T = 128 });
 *   sidr_train_zero_grad(tr);
 *   for each micro-batch:
 *       sidr_train_forward(tr, &batch, 0, logp, &stats);
 *       sidr_train_backward_ce(tr, total_weight);      SFT: masked cross-entropy
 *    or sidr_train_backward(tr, dlogp);                 GRPO: d(loss)/d(logp) per token
 *   sidr_adamw_step(&opt, &params, sidr_train_grad(tr), &info);
 *
 * Batch convention (Hugging Face's labels = input_ids with -100 where masked):
 * weights[b][t] is the weight of token tokens[b][t] as a *target*, predicted
 * from positions 0..t-1; column t = 0 is never a target.  logp[b][t] =
 * log p(tokens[b][t] | tokens[b][0..t-1]).  Sequences are right-padded (any
 * in-vocabulary id with weight 0): attention is causal, so padding after a
 * sequence never changes its logits and needs no attention mask.
 *
 * Memory: activations for max_B x max_T tokens.  Attention probabilities are
 * not stored (the backward recomputes them from Q, K and the saved row
 * log-normalisers); logits of the LM head are kept for the backward when they
 * fit in opts.logits_cache_bytes, else recomputed there in row chunks of
 * ~64 MB.  Matrix products run through cblas_sgemm, split across sidr's
 * thread pool (threads.h; OpenBLAS single-threaded inside its tasks), as is
 * the elementwise work. */
#ifndef SIDR_BACKWARD_H
#define SIDR_BACKWARD_H

#include <stddef.h>

#include "params.h"
#include "status.h"

typedef struct {
    int B, T;
    const int *tokens;       /* [B][T] */
    const float *weights;    /* [B][T] target weights (column 0 ignored); NULL: every t >= 1 weighs 1 */
} sidr_batch;

typedef struct {
    double loss;             /* sum w * (-logp) / sum w   (0 when sum w == 0) */
    double loss_sum;         /* sum w * (-logp) */
    double weight_sum;       /* sum w */
    int n_targets;           /* positions whose logp was computed */
} sidr_train_stats;

typedef struct {
    int max_B, max_T;            /* capacity: batches with B*T <= max_B*max_T and T <= max_T */
    size_t logits_cache_bytes;   /* keep LM-head logits between forward and backward up to this
                                    size; 0 = default 256 MB; (size_t)-1 = always; 1 = never */
    int head_chunk_rows;         /* LM-head rows per product; 0 = default (~64 MB of logits, >= 32) */
} sidr_train_opts;

typedef struct sidr_train sidr_train;

/* Binds a trainer to p (which it reads, never writes) and allocates the
 * activation buffers.  The gradient buffer is allocated zeroed on first use. */
sidr_status sidr_train_new(sidr_train **out, sidr_params *p, const sidr_train_opts *opts);
void sidr_train_free(sidr_train *tr);

/* Points the trainer at other parameters of the same layout (e.g. a frozen
 * reference model for GRPO's KL term); invalidates the saved forward. */
sidr_status sidr_train_use_params(sidr_train *tr, sidr_params *p);

/* The gradient buffer (layout of the parameters); backward adds into it. */
sidr_params *sidr_train_grad(sidr_train *tr);
void sidr_train_zero_grad(sidr_train *tr);

enum {
    SIDR_TRAIN_ALL_LOGP = 1   /* logp at every t >= 1, not only where weights != 0 */
};

/* Runs the batch, keeps what the backward needs and writes logp [B][T] (may
 * be NULL; 0 where not computed) and stats (may be NULL).  By default logp is
 * computed (and the LM head run) only for targets of nonzero weight. */
sidr_status sidr_train_forward(sidr_train *tr, const sidr_batch *b, int flags, float *logp,
                               sidr_train_stats *stats);

/* Adds d(loss)/d(params) to the gradient, given dlogp [B][T] = d(loss)/d(logp[b][t])
 * of the loss being minimised, for the batch of the last forward (the
 * activations stay valid: a second backward adds again).  Entries where the
 * forward computed no logp are ignored.  GRPO: with the PPO-clip token-mean
 * loss and the k3 KL term computed outside from logp, the old and reference
 * log-probs, pass their derivative with respect to logp. */
sidr_status sidr_train_backward(sidr_train *tr, const float *dlogp);

/* The backward of sum_t w_t * (-logp_t) / norm over the last forward's batch:
 * the masked cross-entropy mean when norm is the total weight of all the
 * micro-batches of a step (norm <= 0: this batch's own weight sum). */
sidr_status sidr_train_backward_ce(sidr_train *tr, double norm);

/* After a backward: d(loss)/d(input embedding) per position, [B*T][dim] in
 * batch order (for gradient x input attribution); NULL before any backward. */
const float *sidr_train_input_grad(const sidr_train *tr);

#endif

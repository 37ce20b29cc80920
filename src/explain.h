/* Why this recommendation: for one row, which history items drove the top
 * SID and at which layer the decision formed.
 *   attention  mass from the decision positions (the separator and each SID
 *              step of the top beam) to each history item's tokens in the
 *              prompt, averaged over heads, per layer and summed;
 *   occlusion  each history item removed in turn, reasoning and beam re-run
 *              with the same settings: the change in the original top-1
 *              SID's log-probability and its new rank;
 *   grad       gradient x input: d(log p(top SID))/d(input embedding) dotted
 *              with the embedding, summed over each item's SID tokens (the
 *              training backward on f32 weights loaded from the model folder);
 *   lens       per SID step of the top beam, the rank and log-probability of
 *              the chosen token (and the target's) when each layer's
 *              residual goes through the final norm and the LM head.
 * Log-probabilities are the beam's: full-vocabulary log-softmax, summed over
 * the SID tokens and the forced newline and end tokens. */
#ifndef SIDR_EXPLAIN_H
#define SIDR_EXPLAIN_H

#include "recommend.h"
#include "session.h"

enum { EXPLAIN_ATTENTION = 1, EXPLAIN_OCCLUSION = 2, EXPLAIN_LENS = 4, EXPLAIN_GRAD = 8 };

typedef struct {
    int token;             /* the token this step chose (or the target's) */
    int *rank;             /* [n_layers]: 0-based rank of token under the lens of each layer */
    double *logprob;       /* [n_layers] */
} explain_lens_row;

typedef struct {
    session *ss;                          /* borrowed, for the occlusion steps */
    rec_settings set;
    int methods;
    int n_hist, n_layers, depth;
    const char *hist[SIDR_MAX_HISTORY];   /* the row's history SIDs (borrowed) */
    rec_run run;                          /* the original recommendation */
    int top_tokens[16], n_top_tokens;     /* the top beam's tokens (SID, then forced) */
    double top_logprob;                   /* teacher-forced: equals run.bs.hyps[0].score */
    double step_logprob[16];              /* its terms, one per top token (the lens's last layer) */
    /* attention: [n_hist] summed over layers, and [n_hist][n_layers] */
    double *attention, *attention_layer;
    int *hist_tok_first, *hist_tok_n;     /* each item's token span in the prompt, -1 when absent */
    /* gradient x input per item, and the training forward's log-probability
     * of the top SID (a check: it equals top_logprob) */
    double *grad_x_input;
    double grad_logprob;
    /* occlusion */
    double *occl_delta;                   /* log-probability change of the top-1 SID */
    int *occl_rank;                       /* its rank after removal, -1 when gone */
    int occl_done;                        /* items done (cancellation keeps what is done) */
    /* lens over the SID steps: chosen token and, when the target shares the
     * prefix so far, the target's token (target[l].token -1 otherwise) */
    explain_lens_row chosen[8], target[8];
} explain_result;

/* Runs the recommendation and every method but occlusion, whose runs
 * explain_step then does one item at a time (a UI draws between them). */
sidr_status explain_begin(explain_result *ex, session *ss, const rec_settings *set, const char *const *hist, int n_hist,
                          const char *target_sid, int methods);
/* Occlusion runs still to do (0 when done or not asked for). */
int explain_pending(const explain_result *ex);
/* One occlusion run: the next history item removed. */
sidr_status explain_step(explain_result *ex);

/* Runs the methods for one row's history (target_sid may be NULL).
 * on_progress (may be NULL) after each occlusion run: a non-zero return
 * cancels with SIDR_ERR_CANCELLED (what is done stays in ex). */
sidr_status explain_run(explain_result *ex, session *ss, const rec_settings *set, const char *const *hist, int n_hist,
                        const char *target_sid, int methods,
                        int (*on_progress)(int done, int total, void *ctx), void *ctx);
void explain_free(explain_result *ex);

/* The beam's log-probability of continuation cont after the token sequence
 * ids (teacher-forced); per-step values into steps (may be NULL). */
sidr_status explain_score(sidr_model *m, const int *ids, int n_ids, const int *cont, int n_cont, double *total,
                          double *steps);

#endif

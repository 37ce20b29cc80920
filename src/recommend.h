/* One recommendation, driven step by step: prefill the prompt, then (in
 * thinking mode) one reasoning token per step, then one beam level per step.
 * The CLI runs it to the end; the explorer draws between steps. */
#ifndef SIDR_RECOMMEND_H
#define SIDR_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "beam.h"
#include "catalog.h"
#include "sampler.h"
#include "tokenizer.h"
#include "transformer.h"

typedef struct {
    int think;              /* reasoning first (the paper's main setting) */
    int beams;              /* B */
    int max_reasoning;      /* cap on reasoning tokens (the paper: 1024) */
    float temperature;      /* reasoning decoding; 0 = greedy, as the paper */
    float top_p;
    uint64_t seed;
    int ground;             /* a SID the reasoning starts must be one of the history's
                               (decoding constrained by a trie of the history, as the
                               answer is by the catalogue's); 0 = free, as the paper */
    const char *given_reasoning; /* thinking mode: this text is the trace (teacher-forced,
                                    not decoded) and the beam follows it; NULL = decode */
} rec_settings;

void rec_settings_default(rec_settings *s);

typedef enum { REC_PREFILL, REC_REASONING, REC_BRIDGE, REC_BEAM, REC_DONE } rec_phase;

#define REC_TOP_ALT 5
#define REC_PREFILL_CHUNK 64   /* prompt tokens per step */

typedef struct {
    int id;
    float p;                        /* probability of the chosen token */
    int alt_id[REC_TOP_ALT];        /* the most probable tokens at this step */
    float alt_p[REC_TOP_ALT];
} rec_token;

typedef struct {
    sidr_model *model;
    const sidr_tokenizer *tok;
    const sidr_catalog *cat;
    rec_settings set;
    rec_phase phase;

    char *prompt;                   /* the rendered prompt text */
    int *ids;                       /* prompt + generated tokens, as fed */
    int n_ids, cap_ids, n_prompt;
    rec_token *gen;                 /* reasoning tokens */
    int n_gen;
    char *reasoning;                /* decoded reasoning, cut at </think> (when done) */

    sidr_state *state;
    sidr_kv kv;
    float *logits;
    sidr_sampler sampler;
    sidr_beam_config bcfg;
    sidr_beam_search bs;
    int think_close_id, eos_id;
    sidr_trie ground;               /* the history's SIDs (set.ground), else empty */
    int queue[SIDR_BEAM_MAX_TOKENS]; /* a grounded mention's tokens, fed one per step */
    int n_queue, i_queue;
    int n_ground_changed;           /* reasoning tokens that differ from the free choice */

    double t_prefill, t_reasoning, t_beam;   /* seconds */
} rec_run;

/* Prepares a run for a history of SID strings (oldest first). */
sidr_status rec_begin(rec_run *r, sidr_model *m, const sidr_tokenizer *tok, const sidr_catalog *cat,
                      const rec_settings *set, const char *const *history, int n_history);
/* The same for a prompt already rendered (malloc'd; the run owns it):
 * reasoning first when set->think, else the beam right after the prompt. */
sidr_status rec_begin_prompt(rec_run *r, sidr_model *m, const sidr_tokenizer *tok, const sidr_catalog *cat,
                             const rec_settings *set, char *prompt);
/* Does one unit of work; r->phase says what comes next. */
sidr_status rec_step(rec_run *r);
/* Runs to the end, calling on_token after each reasoning token (may be NULL;
 * a non-zero return cancels). */
sidr_status rec_run_all(rec_run *r, int (*on_token)(rec_run *r, void *ctx), void *ctx);
void rec_free(rec_run *r);

/* Recommendation marginalised over n_traces sampled reasoning traces (an
 * estimate of P(SID | history) = E_trace P(SID | trace, history)): trace i
 * uses seed set->seed + i, each ends in its own SID beam, and r (trace 0's
 * run, whose reasoning it keeps) receives the merged list -- every SID any
 * beam found, scored log((1/n) sum_i exp(score_i)), with a SID outside a
 * trace's beam counting 0 there -- best first, at most set->beams long.
 * n_traces 1 is rec_begin + rec_run_all; more need set->temperature > 0. */
sidr_status rec_run_marginal(rec_run *r, sidr_model *m, const sidr_tokenizer *tok, const sidr_catalog *cat,
                             const rec_settings *set, const char *const *history, int n_history, int n_traces);

/* Rank of the target SID among the finished beams, or -1. */
int rec_rank(const rec_run *r, const char *target_sid);
/* The SID string of beam i (into out). */
void rec_beam_sid(const rec_run *r, int i, char *out, size_t cap);

#endif

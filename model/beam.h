/* Trie-constrained beam search with Hugging Face semantics (num_beams = B,
 * length_penalty = 0): at every step a full-vocabulary log_softmax per beam,
 * tokens outside the trie masked, the best 2B (beam, token) candidates over
 * all beams processed in order — end-of-sequence candidates of rank < B
 * finish a hypothesis, the others fill the next B beams.  A beam's score is
 * the sum of its token log-probabilities, forced tail tokens included.
 *
 * The caller drives it one level at a time (sidr_beam_step), so a UI can
 * show the beams growing.  The prompt's K/V is shared by all beams. */
#ifndef SIDR_BEAM_H
#define SIDR_BEAM_H

#include "sid_trie.h"
#include "status.h"
#include "transformer.h"

#define SIDR_BEAM_MAX_TOKENS 16

typedef struct {
    int beams;          /* B */
    int newline_id;     /* forced after the last SID level; -1 for none */
    int eos_id;         /* forced last; -1 to finish at the last SID level */
} sidr_beam_config;

typedef struct {
    int tokens[SIDR_BEAM_MAX_TOKENS];
    int n_tokens;
    int node;           /* trie node after the SID tokens (a leaf once complete) */
    int parent;         /* index of the beam it grew from at the previous step */
    float score;        /* sum of log-probabilities */
    int order;          /* finished hypotheses: when it finished (ties go to the later, as HF's pop()) */
} sidr_beam;

typedef struct {
    const sidr_beam_config *cfg;
    sidr_model *model;
    sidr_state *state;
    const sidr_trie *trie;
    sidr_branches br;
    float *logits;      /* [B][V] for the live beams */
    float *logp;        /* [V] scratch */
    sidr_beam *live, *next;
    int n_live;
    int step, n_steps;
    int done;
    /* what the last step saw, for display */
    int last_allowed;   /* finite candidates over all beams */
    int last_kept;      /* of them, kept as beams or finished */
    /* finished hypotheses, best first once done */
    sidr_beam *hyps;
    int n_hyps;
} sidr_beam_search;

/* Starts a search after a prompt whose K/V is in prompt (len tokens) and whose
 * last-position logits are prompt_logits.  state must hold >= B rows. */
sidr_status sidr_beam_begin(sidr_beam_search *bs, sidr_model *m, sidr_state *s, const sidr_kv *prompt,
                            const float *prompt_logits, const sidr_trie *trie, const sidr_beam_config *cfg);
/* One level: scores, prunes, and feeds the kept tokens to the model. */
sidr_status sidr_beam_step(sidr_beam_search *bs);
/* Runs every remaining step. */
sidr_status sidr_beam_run(sidr_beam_search *bs);
void sidr_beam_free(sidr_beam_search *bs);

#endif

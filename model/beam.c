#include "beam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "util.h"

typedef struct {
    float score;
    int beam, token;
} candidate;

static int by_score_desc(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    /* torch.topk order for ties is unspecified; take the lower flat index. */
    if (x->beam != y->beam) return x->beam - y->beam;
    return x->token - y->token;
}

static int by_hyp_score_desc(const void *a, const void *b)
{
    const sidr_beam *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return y->order - x->order;
}

/* The tokens beam b may take at step `step`. */
static const int *allowed(const sidr_beam_search *bs, const sidr_beam *b, int *n, int *one)
{
    int depth = bs->trie->depth;
    if (bs->step < depth) return sidr_trie_children(bs->trie, b->node, n);
    *one = bs->step == depth && bs->cfg->newline_id >= 0 ? bs->cfg->newline_id : bs->cfg->eos_id;
    *n = 1;
    return one;
}

sidr_status sidr_beam_begin(sidr_beam_search *bs, sidr_model *m, sidr_state *s, const sidr_kv *prompt,
                            const float *prompt_logits, const sidr_trie *trie, const sidr_beam_config *cfg)
{
    memset(bs, 0, sizeof *bs);
    int B = cfg->beams, V = m->cfg.vocab_size;
    if (B < 1) return sidr_fail(SIDR_ERR_ARG, "beam width must be at least 1 (got %d)", B);
    bs->n_steps = trie->depth + (cfg->newline_id >= 0) + (cfg->eos_id >= 0);
    if (bs->n_steps > SIDR_BEAM_MAX_TOKENS)
        return sidr_fail(SIDR_ERR_ARG, "SIDs of %d tokens exceed the beam limit of %d", trie->depth, SIDR_BEAM_MAX_TOKENS);
    if (cfg->newline_id >= V || cfg->eos_id >= V)
        return sidr_fail(SIDR_ERR_RANGE, "forced token ids %d, %d must lie in the vocabulary [0, %d)",
                         cfg->newline_id, cfg->eos_id, V);
    sidr_status st = sidr_branches_init(&bs->br, prompt, B, bs->n_steps);
    if (st) return st;
    bs->cfg = cfg;
    bs->model = m;
    bs->state = s;
    bs->trie = trie;
    bs->logits = xmalloc((size_t)B * V * sizeof(float));
    bs->logp = xmalloc((size_t)V * sizeof(float));
    bs->live = xcalloc(B, sizeof(sidr_beam));
    bs->next = xcalloc(B, sizeof(sidr_beam));
    bs->hyps = xcalloc(2 * B, sizeof(sidr_beam));
    /* One live beam at the start: every beam would have the same prompt. */
    memcpy(bs->logits, prompt_logits, (size_t)V * sizeof(float));
    bs->n_live = 1;
    bs->live[0].node = 0;
    return SIDR_OK;
}

void sidr_beam_free(sidr_beam_search *bs)
{
    sidr_branches_free(&bs->br);
    free(bs->logits);
    free(bs->logp);
    free(bs->live);
    free(bs->next);
    free(bs->hyps);
    memset(bs, 0, sizeof *bs);
}

static void finish(sidr_beam_search *bs)
{
    qsort(bs->hyps, bs->n_hyps, sizeof *bs->hyps, by_hyp_score_desc);
    if (bs->n_hyps > bs->cfg->beams) bs->n_hyps = bs->cfg->beams;
    bs->done = 1;
}

sidr_status sidr_beam_step(sidr_beam_search *bs)
{
    if (bs->done) return SIDR_OK;
    int B = bs->cfg->beams, V = bs->model->cfg.vocab_size;
    int cap = 0;
    for (int i = 0; i < bs->n_live; i++) {
        int n, one;
        allowed(bs, &bs->live[i], &n, &one);
        cap += n;
    }
    candidate *cand = xmalloc((size_t)(cap ? cap : 1) * sizeof *cand);
    int nc = 0;
    for (int i = 0; i < bs->n_live; i++) {
        sidr_log_softmax(bs->logp, bs->logits + (size_t)i * V, V);
        int n, one;
        const int *tok = allowed(bs, &bs->live[i], &n, &one);
        for (int j = 0; j < n; j++) {
            float s = bs->live[i].score + bs->logp[tok[j]];
            if (isfinite(s)) cand[nc++] = (candidate){ s, i, tok[j] };
        }
    }
    qsort(cand, nc, sizeof *cand, by_score_desc);
    int top = nc < 2 * B ? nc : 2 * B, n_next = 0, kept = 0;
    int last = bs->step == bs->n_steps - 1;
    for (int r = 0; r < top && n_next < B; r++) {
        const sidr_beam *p = &bs->live[cand[r].beam];
        sidr_beam nb = *p;
        nb.tokens[nb.n_tokens++] = cand[r].token;
        nb.parent = cand[r].beam;
        nb.score = cand[r].score;
        if (bs->step < bs->trie->depth) nb.node = sidr_trie_child(bs->trie, p->node, cand[r].token);
        if (last) {
            /* End of sequence: ranks >= B are dropped, as in Hugging Face. */
            if (r < B) { nb.order = bs->n_hyps; bs->hyps[bs->n_hyps++] = nb; kept++; }
            continue;
        }
        bs->next[n_next++] = nb;
        kept++;
    }
    free(cand);
    bs->last_allowed = nc;
    bs->last_kept = kept;
    bs->step++;
    sidr_beam *tmp = bs->live;
    bs->live = bs->next;
    bs->next = tmp;
    bs->n_live = n_next;
    if (last || n_next == 0) {
        finish(bs);
        return SIDR_OK;
    }
    /* Feed the kept tokens: each beam continues its parent's K/V.  Unused
     * rows repeat beam 0 so the batch keeps its shape. */
    int *par = xmalloc(B * sizeof(int)), *tk = xmalloc(B * sizeof(int));
    for (int i = 0; i < B; i++) {
        const sidr_beam *b = &bs->live[i < n_next ? i : 0];
        par[i] = b->parent < B ? b->parent : 0;
        tk[i] = b->tokens[b->n_tokens - 1];
    }
    if (bs->br.len > 0) sidr_branches_reorder(&bs->br, par);
    sidr_status st = sidr_forward_branches(bs->model, bs->state, &bs->br, tk, bs->logits);
    free(par);
    free(tk);
    return st;
}

sidr_status sidr_beam_run(sidr_beam_search *bs)
{
    while (!bs->done) {
        sidr_status st = sidr_beam_step(bs);
        if (st) return st;
    }
    return SIDR_OK;
}

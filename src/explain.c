#include "explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backward.h"
#include "kernels.h"
#include "params.h"
#include "util.h"

sidr_status explain_score(sidr_model *m, const int *ids, int n_ids, const int *cont, int n_cont, double *total,
                          double *steps)
{
    int V = m->cfg.vocab_size;
    sidr_state *st = sidr_state_new(m, 64);
    sidr_kv kv;
    sidr_status s = sidr_kv_init(&kv, &m->cfg, n_ids + n_cont + 1);
    float *logits = xmalloc((size_t)V * sizeof(float)), *logp = xmalloc((size_t)V * sizeof(float));
    *total = 0;
    if (!s) s = sidr_forward(m, st, &kv, ids, n_ids, logits, SIDR_LOGITS_LAST);
    for (int k = 0; k < n_cont && !s; k++) {
        sidr_log_softmax(logp, logits, V);
        if (steps) steps[k] = logp[cont[k]];
        *total += logp[cont[k]];
        if (k + 1 < n_cont) s = sidr_forward(m, st, &kv, &cont[k], 1, logits, SIDR_LOGITS_LAST);
    }
    free(logits);
    free(logp);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    return s;
}

/* The token ids of a SID string (its added tokens). */
static int sid_ids(const session *ss, const char *sid, int *out, int cap)
{
    int *ids, n;
    if (!sid || sidr_tokenizer_encode(ss->tok, sid, strlen(sid), &ids, &n)) return -1;
    if (n > cap) n = cap;
    memcpy(out, ids, (size_t)n * sizeof(int));
    free(ids);
    return n;
}

/* Each history item's SID tokens in the prompt, in order. */
static void find_spans(explain_result *ex, session *ss)
{
    const rec_run *r = &ex->run;
    int from = 0;
    for (int i = 0; i < ex->n_hist; i++) {
        int want[16], n = sid_ids(ss, ex->hist[i], want, 16);
        ex->hist_tok_first[i] = -1;
        ex->hist_tok_n[i] = 0;
        for (int p = from; n > 0 && p + n <= r->n_prompt; p++)
            if (!memcmp(r->ids + p, want, (size_t)n * sizeof(int))) {
                ex->hist_tok_first[i] = p;
                ex->hist_tok_n[i] = n;
                from = p + n;
                break;
            }
    }
}

static void lens_row(explain_lens_row *row, const sidr_model *m, const sidr_capture *cap, int slot, int token,
                     float *logits, float *logp)
{
    int L = m->cfg.n_layers, V = m->cfg.vocab_size;
    row->token = token;
    row->rank = xmalloc((size_t)L * sizeof(int));
    row->logprob = xmalloc((size_t)L * sizeof(double));
    for (int l = 0; l < L; l++) {
        sidr_lens(m, sidr_capture_resid(cap, slot, l), logits);
        sidr_log_softmax(logp, logits, V);
        int rank = 0;
        for (int v = 0; v < V; v++) rank += logp[v] > logp[token];
        row->rank[l] = rank;
        row->logprob[l] = logp[token];
    }
}

/* Gradient x input through the training backward: one sequence, the top
 * beam's tokens as the targets, d(sum log p)/d(input embeddings). */
static sidr_status grad_x_input(explain_result *ex, session *ss, const int *seq, int n_seq)
{
    int nt = ex->n_top_tokens, T = n_seq + 1, D = ss->model.cfg.dim;
    sidr_params p;
    sidr_status s = sidr_params_load(&p, ss->model_dir);
    if (s) return s;
    sidr_train *tr = NULL;
    sidr_train_opts o = { 1, T, 0, 0 };
    int *tokens = xmalloc((size_t)T * sizeof(int));
    float *w = xcalloc((size_t)T, sizeof(float)), *logp = xcalloc((size_t)T, sizeof(float));
    memcpy(tokens, seq, (size_t)n_seq * sizeof(int));
    tokens[n_seq] = ex->top_tokens[nt - 1];
    for (int k = 0; k < nt; k++) w[T - nt + k] = 1;   /* the top beam's tokens are the targets */
    sidr_batch b = { 1, T, tokens, w };
    if (!(s = sidr_train_new(&tr, &p, &o))) s = sidr_train_forward(tr, &b, 0, logp, NULL);
    if (!s) {
        ex->grad_logprob = 0;
        for (int t = T - nt; t < T; t++) ex->grad_logprob += logp[t];
        /* the "loss" is the log-probability itself: its gradient, not its descent */
        s = sidr_train_backward(tr, w);
    }
    const float *dx = s ? NULL : sidr_train_input_grad(tr);
    if (dx) {
        ex->grad_x_input = xcalloc((size_t)ex->n_hist, sizeof(double));
        for (int i = 0; i < ex->n_hist; i++)
            for (int j = 0; j < ex->hist_tok_n[i]; j++) {
                int t = ex->hist_tok_first[i] + j;
                const float *g = dx + (size_t)t * D, *e = p.embed + (size_t)tokens[t] * D;
                for (int d = 0; d < D; d++) ex->grad_x_input[i] += (double)g[d] * e[d];
            }
    }
    sidr_train_free(tr);
    sidr_params_free(&p);
    free(tokens);
    free(w);
    free(logp);
    return s;
}

sidr_status explain_begin(explain_result *ex, session *ss, const rec_settings *set, const char *const *hist, int n_hist,
                          const char *target_sid, int methods)
{
    memset(ex, 0, sizeof *ex);
    ex->ss = ss;
    ex->set = *set;
    sidr_model *m = &ss->model;
    if (n_hist < 1 || n_hist > SIDR_MAX_HISTORY) return sidr_fail(SIDR_ERR_ARG, "explain: the history has %d items", n_hist);
    ex->methods = methods;
    ex->n_hist = n_hist;
    ex->n_layers = m->cfg.n_layers;
    ex->depth = ss->cat.depth;
    for (int i = 0; i < n_hist; i++) ex->hist[i] = hist[i];
    for (int k = 0; k < 8; k++) ex->target[k].token = ex->chosen[k].token = -1;
    sidr_status s = rec_begin(&ex->run, m, ss->tok, &ss->cat, set, hist, n_hist);
    if (!s) s = rec_run_all(&ex->run, NULL, NULL);
    if (s) return s;
    rec_run *r = &ex->run;
    if (r->bs.n_hyps == 0) return sidr_fail(SIDR_ERR_MISSING, "explain: the beam found no catalogue SID");
    ex->n_top_tokens = r->bs.hyps[0].n_tokens < 16 ? r->bs.hyps[0].n_tokens : 16;
    memcpy(ex->top_tokens, r->bs.hyps[0].tokens, (size_t)ex->n_top_tokens * sizeof(int));
    int nt = ex->n_top_tokens, L = ex->n_layers, H = m->cfg.n_heads, V = m->cfg.vocab_size;

    /* one teacher-forced pass over prompt + reasoning + the top beam, capturing
     * the decision positions: position n_ids-1+k predicts top token k */
    int n_seq = r->n_ids + nt - 1, pos[16];
    int *seq = xmalloc((size_t)n_seq * sizeof(int));
    memcpy(seq, r->ids, (size_t)r->n_ids * sizeof(int));
    memcpy(seq + r->n_ids, ex->top_tokens, (size_t)(nt - 1) * sizeof(int));
    for (int k = 0; k < nt; k++) pos[k] = r->n_ids - 1 + k;
    sidr_capture cap;
    sidr_kv kv;
    memset(&kv, 0, sizeof kv);
    sidr_state *st = sidr_state_new(m, 64);
    float *logits = xmalloc((size_t)V * sizeof(float)), *logp = xmalloc((size_t)V * sizeof(float));
    s = sidr_capture_init(&cap, &m->cfg, pos, nt, n_seq);
    if (!s) s = sidr_kv_init(&kv, &m->cfg, n_seq);
    if (!s) s = sidr_forward_capture(m, st, &kv, seq, n_seq, NULL, SIDR_LOGITS_NONE, &cap);
    if (!s) {
        for (int k = 0; k < nt; k++) {
            sidr_lens(m, sidr_capture_resid(&cap, k, L - 1), logits);
            sidr_log_softmax(logp, logits, V);
            ex->step_logprob[k] = logp[ex->top_tokens[k]];
            ex->top_logprob += logp[ex->top_tokens[k]];
        }
        if (methods & EXPLAIN_LENS) {
            int tgt[16], n_tgt = sid_ids(ss, target_sid, tgt, 16);
            for (int k = 0; k < ex->depth && k < nt && k < 8; k++) {
                lens_row(&ex->chosen[k], m, &cap, k, ex->top_tokens[k], logits, logp);
                /* the target's token is comparable while it shares the prefix */
                int same = n_tgt > k;
                for (int j = 0; j < k && same; j++) same = tgt[j] == ex->top_tokens[j];
                if (same) lens_row(&ex->target[k], m, &cap, k, tgt[k], logits, logp);
            }
        }
        ex->hist_tok_first = xmalloc((size_t)n_hist * sizeof(int));
        ex->hist_tok_n = xmalloc((size_t)n_hist * sizeof(int));
        find_spans(ex, ss);
        if (methods & EXPLAIN_ATTENTION) {
            ex->attention = xcalloc((size_t)n_hist, sizeof(double));
            ex->attention_layer = xcalloc((size_t)n_hist * L, sizeof(double));
            /* the separator and the SID steps: positions 0..depth of the capture */
            int np = ex->depth + 1 < nt ? ex->depth + 1 : nt;
            for (int i = 0; i < n_hist; i++) {
                if (ex->hist_tok_first[i] < 0) continue;
                for (int l = 0; l < L; l++) {
                    double mass = 0;
                    for (int k = 0; k < np; k++)
                        for (int h = 0; h < H; h++) {
                            const float *a = sidr_capture_attn(&cap, k, l, h);
                            for (int j = 0; j < ex->hist_tok_n[i]; j++) mass += a[ex->hist_tok_first[i] + j];
                        }
                    ex->attention_layer[(size_t)i * L + l] = mass / (np * H);
                    ex->attention[i] += mass / (np * H);
                }
            }
        }
    }
    free(logits);
    free(logp);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    sidr_capture_free(&cap);
    if (!s && (methods & EXPLAIN_GRAD)) s = grad_x_input(ex, ss, seq, n_seq);
    free(seq);
    if (s || !(methods & EXPLAIN_OCCLUSION)) return s;
    ex->occl_delta = xcalloc((size_t)n_hist, sizeof(double));
    ex->occl_rank = xmalloc((size_t)n_hist * sizeof(int));
    for (int i = 0; i < n_hist; i++) ex->occl_rank[i] = -1, ex->occl_delta[i] = NAN;
    return s;
}

int explain_pending(const explain_result *ex)
{
    return (ex->methods & EXPLAIN_OCCLUSION) && ex->occl_delta ? ex->n_hist - ex->occl_done : 0;
}

sidr_status explain_step(explain_result *ex)
{
    if (!explain_pending(ex)) return SIDR_OK;
    session *ss = ex->ss;
    sidr_model *m = &ss->model;
    const int i = ex->occl_done, n_hist = ex->n_hist;
    const char *h2[SIDR_MAX_HISTORY];
    int n2 = 0;
    for (int j = 0; j < n_hist; j++)
        if (j != i) h2[n2++] = ex->hist[j];
    if (n2 == 0) { /* nothing left to recommend from: the SID's score after an empty history is not defined */
        ex->occl_done++;
        return SIDR_OK;
    }
    char top_sid[512];
    rec_beam_sid(&ex->run, 0, top_sid, sizeof top_sid);
    rec_run r2;
    sidr_status s = rec_begin(&r2, m, ss->tok, &ss->cat, &ex->set, h2, n2);
    if (!s) s = rec_run_all(&r2, NULL, NULL);
    double lp = 0;
    if (!s) s = explain_score(m, r2.ids, r2.n_ids, ex->top_tokens, ex->n_top_tokens, &lp, NULL);
    if (!s) {
        ex->occl_rank[i] = rec_rank(&r2, top_sid);
        ex->occl_delta[i] = lp - ex->top_logprob;
        ex->occl_done++;
    }
    rec_free(&r2);
    return s;
}

sidr_status explain_run(explain_result *ex, session *ss, const rec_settings *set, const char *const *hist, int n_hist,
                        const char *target_sid, int methods,
                        int (*on_progress)(int done, int total, void *ctx), void *ctx)
{
    sidr_status s = explain_begin(ex, ss, set, hist, n_hist, target_sid, methods);
    while (!s && explain_pending(ex)) {
        s = explain_step(ex);
        if (!s && on_progress && on_progress(ex->occl_done, n_hist, ctx))
            s = sidr_fail(SIDR_ERR_CANCELLED, "explain: occlusion cancelled after %d of %d items", ex->occl_done, n_hist);
    }
    return s;
}

void explain_free(explain_result *ex)
{
    rec_free(&ex->run);
    free(ex->attention);
    free(ex->attention_layer);
    free(ex->hist_tok_first);
    free(ex->hist_tok_n);
    free(ex->occl_delta);
    free(ex->occl_rank);
    free(ex->grad_x_input);
    for (int k = 0; k < 8; k++) {
        free(ex->chosen[k].rank);
        free(ex->chosen[k].logprob);
        free(ex->target[k].rank);
        free(ex->target[k].logprob);
    }
    memset(ex, 0, sizeof *ex);
}

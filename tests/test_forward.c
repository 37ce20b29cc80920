/* The forward pass against the PyTorch reference of tests/ref/gen_reference.py.
 *
 * For every fixture in tests/fixtures/models: the config is read as written,
 * and the logits of several sequences match the reference when the sequence
 * is fed whole (every position), one token at a time, as a prefix then
 * decode steps, in uneven chunks, through a state smaller than the sequence,
 * and as branches after a shared prefix (with reorders, as beam search does).
 * Greedy continuation reproduces the reference tokens exactly.
 *
 * Tolerance: max |diff| <= rel * (max |reference logit| of the case), with
 * rel 1e-4 for f32 weights and 1e-2 for bf16 / f16 weights. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "safetensors.h"
#include "sampler.h"
#include "transformer.h"

typedef struct {
    const char *name;
    sidr_arch arch;
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim, vocab;
    int tie, qk_norm, qkv_bias;
    float rope_theta, norm_eps;
    sidr_dtype dtype;
    int n_files;
} fixture;

static const fixture FIXTURES[] = {
    { "qwen3-tied-bf16",   SIDR_ARCH_QWEN3, 64, 160, 2, 4, 2, 16, 1031, 1, 1, 0, 1e6f, 1e-6f, SIDR_BF16, 1 },
    { "qwen3-hd32-f32",    SIDR_ARCH_QWEN3, 64, 128, 3, 4, 2, 32,  509, 0, 1, 0, 1e4f, 1e-6f, SIDR_F32,  1 },
    { "qwen2-bias-f32",    SIDR_ARCH_QWEN2, 48, 160, 2, 4, 2, 12,  509, 1, 0, 1, 1e6f, 1e-6f, SIDR_F32,  1 },
    { "llama-f16",         SIDR_ARCH_LLAMA, 96, 256, 2, 6, 2, 16, 1031, 0, 0, 0, 5e5f, 1e-5f, SIDR_F16,  1 },
    { "qwen3-sharded-f32", SIDR_ARCH_QWEN3, 48,  96, 2, 4, 1, 16,  257, 0, 1, 0, 1e4f, 1e-6f, SIDR_F32,  2 },
};
#define N_FIXTURES ((int)(sizeof FIXTURES / sizeof FIXTURES[0]))

/* ---- reference file ------------------------------------------------------ */

static sidr_safetensors REF;

static const sidr_tensor *ref_find(const char *name)
{
    const sidr_tensor *t = sidr_st_find(&REF, name);
    return t;
}

/* A copy of an I32 reference tensor (NULL if absent). */
static int *ref_i32(const char *name, int64_t *n)
{
    const sidr_tensor *t = ref_find(name);
    if (!t || t->dtype != SIDR_I32) return NULL;
    *n = sidr_tensor_numel(t);
    int *out = malloc((size_t)*n * sizeof(int) + 1);
    memcpy(out, t->data, (size_t)*n * sizeof(int));
    return out;
}

/* A copy of an F32 reference tensor (NULL if absent). */
static float *ref_f32(const char *name, int64_t *n)
{
    const sidr_tensor *t = ref_find(name);
    if (!t || t->dtype != SIDR_F32) return NULL;
    *n = sidr_tensor_numel(t);
    float *out = malloc((size_t)*n * sizeof(float) + 1);
    memcpy(out, t->data, (size_t)*n * sizeof(float));
    return out;
}

/* ---- comparisons ---------------------------------------------------------- */

static float max_abs(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) > m) m = fabsf(x[i]);
    return m;
}

/* max |a - b|; +inf if a holds a NaN or an infinity. */
static float max_diff(const float *a, const float *b, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!isfinite(a[i]) || !(d == d)) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

/* Running worst diff of one check, relative to its tolerance. */
typedef struct {
    float worst, worst_tol;  /* worst diff seen and the tolerance it had */
    int bad;                 /* a diff over its tolerance, or a failed call */
    char where[96];
} acc;

static void acc_init(acc *a) { a->worst = 0; a->worst_tol = 1; a->bad = 0; a->where[0] = 0; }

static void acc_add(acc *a, const float *got, const float *want, size_t n, float scale,
                    float rel, const char *fmt, int i, int j)
{
    float tol = rel * (scale > 0 ? scale : 1);
    float d = max_diff(got, want, n);
    if (!(d <= tol)) {
        if (!a->bad) snprintf(a->where, sizeof a->where, fmt, i, j);
        a->bad = 1;
    }
    if (!(d / tol <= a->worst / a->worst_tol)) { a->worst = d; a->worst_tol = tol; }
}

static void acc_fail(acc *a, const char *what, sidr_status s)
{
    if (!a->bad)
        snprintf(a->where, sizeof a->where, "%s: %s (%s)", what, sidr_status_name(s),
                 sidr_last_error());
    a->bad = 1;
}

static void acc_report(const acc *a, const char *fx, const char *what)
{
    tap_diag("%s %s: max|diff| %.3g (tolerance %.3g)", fx, what, a->worst, a->worst_tol);
    if (a->bad) tap_diag("  first failure at %s", a->where);
    tap_ok(!a->bad, "%s: %s", fx, what);
}

/* ---- per-fixture checks --------------------------------------------------- */

static void check_config(const fixture *f, const sidr_model *m)
{
    const sidr_config *c = &m->cfg;
    int ok = c->arch == f->arch && c->dim == f->dim && c->hidden_dim == f->hidden_dim &&
             c->n_layers == f->n_layers && c->n_heads == f->n_heads &&
             c->n_kv_heads == f->n_kv_heads && c->head_dim == f->head_dim &&
             c->vocab_size == f->vocab && !!c->tie_embeddings == f->tie &&
             !!c->qk_norm == f->qk_norm && !!c->qkv_bias == f->qkv_bias &&
             fabsf(c->rope_theta - f->rope_theta) <= 1e-6f * f->rope_theta &&
             fabsf(c->norm_eps - f->norm_eps) <= 1e-3f * f->norm_eps &&
             c->max_seq == 256 && c->bos_id == 1 && c->eos_id == 2;
    if (!ok)
        tap_diag("got arch %d dim %d hidden %d layers %d heads %d/%d head_dim %d vocab %d "
                 "tie %d qk_norm %d bias %d theta %g eps %g max_seq %d bos %d eos %d",
                 (int)c->arch, c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                 c->head_dim, c->vocab_size, c->tie_embeddings, c->qk_norm, c->qkv_bias,
                 (double)c->rope_theta, (double)c->norm_eps, c->max_seq, c->bos_id, c->eos_id);
    tap_ok(ok, "%s: config.json read as written (%s)", f->name, sidr_arch_name(c->arch));

    /* weights kept in their file dtype; lm_head aliases embed when tied */
    int wok = m->embed.dtype == f->dtype && m->embed.rows == f->vocab && m->embed.cols == f->dim &&
              m->lm_head.rows == f->vocab && m->lm_head.cols == f->dim &&
              (f->tie ? m->lm_head.data == m->embed.data : m->lm_head.data != m->embed.data) &&
              m->st.n_files == f->n_files;
    for (int l = 0; l < f->n_layers && wok; l++) {
        const sidr_layer *L = &m->layers[l];
        wok = L->wq.rows == f->n_heads * f->head_dim && L->wq.cols == f->dim &&
              L->wk.rows == f->n_kv_heads * f->head_dim && L->wv.rows == f->n_kv_heads * f->head_dim &&
              L->wo.rows == f->dim && L->wo.cols == f->n_heads * f->head_dim &&
              L->w_gate.rows == f->hidden_dim && L->w_up.rows == f->hidden_dim &&
              L->w_down.rows == f->dim && L->w_down.cols == f->hidden_dim &&
              (L->q_norm != NULL) == f->qk_norm && (L->k_norm != NULL) == f->qk_norm &&
              (L->bq != NULL) == f->qkv_bias && (L->bk != NULL) == f->qkv_bias &&
              (L->bv != NULL) == f->qkv_bias;
    }
    tap_ok(wok, "%s: weights mapped with the config's shapes (%d file%s, %s)", f->name,
           m->st.n_files, m->st.n_files == 1 ? "" : "s", sidr_dtype_name(m->embed.dtype));

    long long n = 0;
    for (int i = 0; i < m->st.n_tensors; i++) n += sidr_tensor_numel(&m->st.tensors[i]);
    tap_ok(sidr_model_n_params(m) == n, "%s: n_params %lld == tensors' elements %lld", f->name,
           sidr_model_n_params(m), n);

    /* the embedding row as stored */
    const sidr_tensor *e = sidr_st_find(&m->st, "model.embed_tokens.weight");
    float *a = malloc(sizeof(float) * (size_t)f->dim), *b = malloc(sizeof(float) * (size_t)f->dim);
    int eok = e != NULL;
    for (int tok = 0; eok && tok < f->vocab; tok += f->vocab / 7) {
        sidr_model_embedding(m, tok, a);
        sidr_tensor_to_f32(e, (size_t)tok * (size_t)f->dim, (size_t)f->dim, b);
        eok = memcmp(a, b, sizeof(float) * (size_t)f->dim) == 0;
    }
    sidr_model_embedding(m, f->vocab - 1, a);
    if (eok) {
        sidr_tensor_to_f32(e, (size_t)(f->vocab - 1) * (size_t)f->dim, (size_t)f->dim, b);
        eok = memcmp(a, b, sizeof(float) * (size_t)f->dim) == 0;
    }
    tap_ok(eok, "%s: sidr_model_embedding returns the stored rows", f->name);
    free(a);
    free(b);
}

static void check_cases(const fixture *f, sidr_model *m, float rel)
{
    const int V = f->vocab;
    sidr_state *big = sidr_state_new(m, 64), *small = sidr_state_new(m, 5);
    sidr_kv kv;
    tap_ok(big && small, "%s: sidr_state_new(64) and (5)", f->name);
    if (!big || !small) { sidr_state_free(big); sidr_state_free(small); return; }
    sidr_status st = sidr_kv_init(&kv, &m->cfg, 80);
    tap_ok(st == SIDR_OK, "%s: sidr_kv_init(80)", f->name);
    if (st != SIDR_OK) { sidr_state_free(big); sidr_state_free(small); return; }

    acc whole, decode, split, chunks, none, tiny, tinylast;
    acc_init(&whole); acc_init(&decode); acc_init(&split); acc_init(&chunks);
    acc_init(&none); acc_init(&tiny); acc_init(&tinylast);
    int n_cases = 0, lens[16];
    char name[64];
    for (int c = 0; c < 16; c++) {
        int64_t T, nl;
        snprintf(name, sizeof name, "case%d.tokens", c);
        int *tok = ref_i32(name, &T);
        if (!tok) break;
        snprintf(name, sizeof name, "case%d.logits", c);
        float *want = ref_f32(name, &nl);
        if (!want || nl != T * V) {
            tap_ok(0, "%s: reference %s has [%lld x %d] floats", f->name, name, (long long)T, V);
            free(tok); free(want);
            break;
        }
        lens[n_cases++] = (int)T;
        float scale = max_abs(want, (size_t)(T * V));
        float *out = malloc(sizeof(float) * (size_t)(T * V));

        /* (i) the whole sequence in one call, every position */
        sidr_kv_reset(&kv);
        memset(out, 0, sizeof(float) * (size_t)(T * V));
        st = sidr_forward(m, big, &kv, tok, (int)T, out, SIDR_LOGITS_ALL);
        if (st != SIDR_OK) acc_fail(&whole, "sidr_forward", st);
        else acc_add(&whole, out, want, (size_t)(T * V), scale, rel, "case %d (T=%d)", c, (int)T);
        if (kv.len != T) acc_fail(&whole, "kv.len after prefill", SIDR_ERR_RANGE);

        /* (ii) one token at a time (the decode path) */
        sidr_kv_reset(&kv);
        for (int t = 0; t < T; t++) {
            st = sidr_forward(m, big, &kv, &tok[t], 1, out, SIDR_LOGITS_LAST);
            if (st != SIDR_OK) { acc_fail(&decode, "sidr_forward(1)", st); break; }
            acc_add(&decode, out, want + (size_t)t * V, (size_t)V, scale, rel, "case %d pos %d", c, t);
        }

        /* (iii) a prefix (every position), then decode the rest */
        if (T >= 2) {
            int p = (int)(T / 2);
            sidr_kv_reset(&kv);
            st = sidr_forward(m, big, &kv, tok, p, out, SIDR_LOGITS_ALL);
            if (st != SIDR_OK) acc_fail(&split, "prefill", st);
            else acc_add(&split, out, want, (size_t)p * V, scale, rel, "case %d prefix %d", c, p);
            for (int t = p; t < T && st == SIDR_OK; t++) {
                st = sidr_forward(m, big, &kv, &tok[t], 1, out, SIDR_LOGITS_LAST);
                if (st != SIDR_OK) acc_fail(&split, "decode", st);
                else acc_add(&split, out, want + (size_t)t * V, (size_t)V, scale, rel,
                             "case %d pos %d", c, t);
            }
        }

        /* (iv) uneven multi-token chunks on a non-empty cache, last logits only */
        {
            static const int sizes[] = { 3, 1, 5, 2, 11, 4 };
            int t = 0, k = 0;
            sidr_kv_reset(&kv);
            while (t < T) {
                int n = sizes[k++ % 6];
                if (n > T - t) n = (int)T - t;
                st = sidr_forward(m, big, &kv, &tok[t], n, out, SIDR_LOGITS_LAST);
                if (st != SIDR_OK) { acc_fail(&chunks, "chunk", st); break; }
                t += n;
                acc_add(&chunks, out, want + (size_t)(t - 1) * V, (size_t)V, scale, rel,
                        "case %d after %d tokens", c, t);
            }
        }

        /* (iv') SIDR_LOGITS_NONE for all but the last token, then one step */
        if (T >= 2) {
            sidr_kv_reset(&kv);
            st = sidr_forward(m, big, &kv, tok, (int)T - 1, NULL, SIDR_LOGITS_NONE);
            if (st == SIDR_OK) st = sidr_forward(m, big, &kv, &tok[T - 1], 1, out, SIDR_LOGITS_LAST);
            if (st != SIDR_OK) acc_fail(&none, "forward", st);
            else acc_add(&none, out, want + (size_t)(T - 1) * V, (size_t)V, scale, rel,
                         "case %d pos %d", c, (int)T - 1);
        }

        /* (v) a state of 5 rows: the call is chunked inside */
        sidr_kv_reset(&kv);
        st = sidr_forward(m, small, &kv, tok, (int)T, out, SIDR_LOGITS_ALL);
        if (st != SIDR_OK) acc_fail(&tiny, "sidr_forward", st);
        else acc_add(&tiny, out, want, (size_t)(T * V), scale, rel, "case %d (T=%d)", c, (int)T);
        sidr_kv_reset(&kv);
        st = sidr_forward(m, small, &kv, tok, (int)T, out, SIDR_LOGITS_LAST);
        if (st != SIDR_OK) acc_fail(&tinylast, "sidr_forward", st);
        else acc_add(&tinylast, out, want + (size_t)(T - 1) * V, (size_t)V, scale, rel,
                     "case %d (T=%d)", c, (int)T);

        free(out);
        free(tok);
        free(want);
    }
    if (n_cases) {
        char lbuf[64] = "";
        for (int i = 0; i < n_cases; i++)
            snprintf(lbuf + strlen(lbuf), sizeof lbuf - strlen(lbuf), "%s%d", i ? "," : "", lens[i]);
        tap_diag("%s: %d cases of lengths %s, relative tolerance %g", f->name, n_cases, lbuf,
                 (double)rel);
    }
    tap_ok(n_cases >= 5, "%s: reference holds %d cases", f->name, n_cases);
    acc_report(&whole, f->name, "prefill, every position (SIDR_LOGITS_ALL)");
    acc_report(&decode, f->name, "one token at a time (decode)");
    acc_report(&split, f->name, "prefix prefill then decode");
    acc_report(&chunks, f->name, "uneven chunks on a non-empty cache (SIDR_LOGITS_LAST)");
    acc_report(&none, f->name, "SIDR_LOGITS_NONE then one step");
    acc_report(&tiny, f->name, "state of 5 rows, every position");
    acc_report(&tinylast, f->name, "state of 5 rows, last position");

    /* a call past the cache's capacity or with a token out of the vocabulary
     * fails cleanly */
    {
        sidr_kv k4;
        int toks[7] = { 1, 2, 3, 4, 5, 6, 7 };
        float *out = malloc(sizeof(float) * 7 * (size_t)V);
        if (sidr_kv_init(&k4, &m->cfg, 4) == SIDR_OK) {
            st = sidr_forward(m, big, &k4, toks, 7, out, SIDR_LOGITS_ALL);
            tap_ok(st != SIDR_OK, "%s: 7 tokens into a cache of 4 refused (%s)", f->name,
                   sidr_status_name(st));
            sidr_kv_reset(&k4);
            int badtok[2] = { 5, V };
            st = sidr_forward(m, big, &k4, badtok, 2, out, SIDR_LOGITS_LAST);
            tap_ok(st != SIDR_OK, "%s: token id %d (= vocab) refused (%s)", f->name, V,
                   sidr_status_name(st));
            sidr_kv_reset(&k4);
            badtok[1] = -1;
            st = sidr_forward(m, big, &k4, badtok, 2, out, SIDR_LOGITS_LAST);
            tap_ok(st != SIDR_OK, "%s: token id -1 refused (%s)", f->name, sidr_status_name(st));
            sidr_kv_free(&k4);
        } else {
            tap_ok(0, "%s: sidr_kv_init(4)", f->name);
        }
        free(out);
    }

    /* a refused call leaves the cache as it was, even when the bad token
     * sits in a later chunk of the 5-row state */
    {
        int toks[9] = { 1, 2, 3, 4, 5, 6, 7, V, 9 };
        float *out = malloc(sizeof(float) * 9 * (size_t)V);
        sidr_kv_reset(&kv);
        st = sidr_forward(m, small, &kv, toks, 2, out, SIDR_LOGITS_LAST);
        int len0 = kv.len;
        st = st == SIDR_OK ? sidr_forward(m, small, &kv, toks, 9, out, SIDR_LOGITS_ALL) : SIDR_ERR_ARG;
        tap_ok(st != SIDR_OK && kv.len == len0,
               "%s: bad token at row 8 of a chunked call refused, cache length kept (%d, now %d)",
               f->name, len0, kv.len);
        free(out);
    }

    sidr_kv_free(&kv);
    sidr_state_free(big);
    sidr_state_free(small);
}

static void check_greedy(const fixture *f, sidr_model *m)
{
    int64_t np, nt;
    int *prompt = ref_i32("greedy0.prompt", &np), *want = ref_i32("greedy0.tokens", &nt);
    if (!prompt || !want) {
        tap_ok(0, "%s: reference holds greedy0.prompt and greedy0.tokens", f->name);
        free(prompt); free(want);
        return;
    }
    sidr_state *s = sidr_state_new(m, 16);
    sidr_kv kv;
    float *logits = malloc(sizeof(float) * (size_t)f->vocab);
    int *got = calloc((size_t)nt, sizeof(int));
    int first_bad = -1, ok = 0;
    if (s && sidr_kv_init(&kv, &m->cfg, (int)(np + nt)) == SIDR_OK) {
        sidr_status st = sidr_forward(m, s, &kv, prompt, (int)np, logits, SIDR_LOGITS_LAST);
        for (int i = 0; i < nt && st == SIDR_OK; i++) {
            got[i] = sidr_argmax(logits, f->vocab);
            if (got[i] != want[i] && first_bad < 0) first_bad = i;
            if (i + 1 < nt) st = sidr_forward(m, s, &kv, &got[i], 1, logits, SIDR_LOGITS_LAST);
        }
        if (st != SIDR_OK) tap_diag("forward failed: %s", sidr_last_error());
        ok = st == SIDR_OK && first_bad < 0;
        sidr_kv_free(&kv);
    }
    if (!ok) {
        char g[256] = "", w[256] = "";
        for (int i = 0; i < nt; i++) {
            snprintf(g + strlen(g), sizeof g - strlen(g), " %d", got[i]);
            snprintf(w + strlen(w), sizeof w - strlen(w), " %d", want[i]);
        }
        tap_diag("got: %s", g);
        tap_diag("want:%s (first difference at %d)", w, first_bad);
    }
    tap_ok(ok, "%s: greedy continuation of %d tokens matches the reference", f->name, (int)nt);
    sidr_state_free(s);
    free(logits);
    free(got);
    free(prompt);
    free(want);
}

static void check_branches(const fixture *f, sidr_model *m, float rel)
{
    const int V = f->vocab;
    int64_t P, nbt, nbl, nrp, nrt, nrl;
    int *prefix = ref_i32("branch.prefix", &P), *btok = ref_i32("branch.tokens", &nbt);
    float *blog = ref_f32("branch.logits", &nbl);
    int *rpar = ref_i32("reorder.parents", &nrp), *rtok = ref_i32("reorder.tokens", &nrt);
    float *rlog = ref_f32("reorder.logits", &nrl);
    const int B = 3;
    int S = prefix && btok ? (int)(nbt / B) : 0, RS = rtok ? (int)(nrt / B) : 0;
    if (!prefix || !btok || !blog || !rpar || !rtok || !rlog || nbl != (int64_t)B * S * V ||
        nrl != (int64_t)B * RS * V || nrp != nrt) {
        tap_ok(0, "%s: reference holds branch.* and reorder.*", f->name);
        goto out;
    }

    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: 64-row state; pass 1: 5-row state */
        sidr_state *s = sidr_state_new(m, pass ? 5 : 64);
        const char *sname = pass ? " (state of 5 rows)" : "";
        sidr_kv kv;
        sidr_branches br;
        float *out = malloc(sizeof(float) * (size_t)B * (size_t)V);
        sidr_status st = sidr_kv_init(&kv, &m->cfg, (int)P + 8);
        if (st == SIDR_OK) st = sidr_forward(m, s, &kv, prefix, (int)P, NULL, SIDR_LOGITS_NONE);
        tap_ok(st == SIDR_OK && kv.len == P, "%s: prefix of %d tokens into a sidr_kv%s", f->name,
               (int)P, sname);
        if (st != SIDR_OK) { free(out); sidr_state_free(s); sidr_kv_free(&kv); continue; }

        /* three continuations in lockstep */
        acc a;
        acc_init(&a);
        memset(&br, 0, sizeof br);
        st = sidr_branches_init(&br, &kv, B, 8);
        int inited = st == SIDR_OK;
        if (st != SIDR_OK) acc_fail(&a, "sidr_branches_init", st);
        for (int step = 0; step < S && st == SIDR_OK; step++) {
            int toks[3];
            for (int b = 0; b < B; b++) toks[b] = btok[b * S + step];
            st = sidr_forward_branches(m, s, &br, toks, out);
            if (st != SIDR_OK) { acc_fail(&a, "sidr_forward_branches", st); break; }
            if (br.len != step + 1) acc_fail(&a, "branches.len", SIDR_ERR_RANGE);
            for (int b = 0; b < B; b++) {
                const float *w = blog + ((size_t)b * S + step) * V;
                acc_add(&a, out + (size_t)b * V, w, (size_t)V, max_abs(w, (size_t)V), rel,
                        "sequence %d step %d", b, step);
            }
        }
        if (inited) sidr_branches_free(&br);
        char what[96];
        snprintf(what, sizeof what, "sidr_forward_branches, 3 sequences x %d steps%s", S, sname);
        acc_report(&a, f->name, what);

        /* the shared prefix is untouched: a plain continuation still matches */
        acc_init(&a);
        tap_ok(kv.len == P, "%s: prefix cache length unchanged by the branches%s", f->name, sname);
        kv.len = (int)P;  /* drop nothing: the branches must not have grown it */
        {
            float *all = malloc(sizeof(float) * (size_t)S * (size_t)V);
            const float *w = blog + (size_t)S * V;  /* sequence 1 */
            st = sidr_forward(m, s, &kv, btok + S, S, all, SIDR_LOGITS_ALL);
            if (st == SIDR_OK)
                acc_add(&a, all, w, (size_t)S * V, max_abs(w, (size_t)S * V), rel,
                        "sequence %d, %d tokens", 1, S);
            free(all);
        }
        if (st != SIDR_OK) acc_fail(&a, "sidr_forward", st);
        snprintf(what, sizeof what, "prefix cache still valid after branching%s", sname);
        acc_report(&a, f->name, what);

        /* reorders between steps, as a beam search does */
        acc_init(&a);
        kv.len = (int)P;
        memset(&br, 0, sizeof br);
        st = sidr_branches_init(&br, &kv, B, 8);
        inited = st == SIDR_OK;
        if (st != SIDR_OK) acc_fail(&a, "sidr_branches_init", st);
        for (int step = 0; step < RS && st == SIDR_OK; step++) {
            if (step > 0) sidr_branches_reorder(&br, rpar + step * B);
            if (br.len != step) acc_fail(&a, "branches.len after reorder", SIDR_ERR_RANGE);
            st = sidr_forward_branches(m, s, &br, rtok + step * B, out);
            if (st != SIDR_OK) { acc_fail(&a, "sidr_forward_branches", st); break; }
            for (int b = 0; b < B; b++) {
                const float *w = rlog + ((size_t)step * B + b) * V;
                acc_add(&a, out + (size_t)b * V, w, (size_t)V, max_abs(w, (size_t)V), rel,
                        "step %d sequence %d", step, b);
            }
        }
        if (inited) sidr_branches_free(&br);
        snprintf(what, sizeof what, "sidr_branches_reorder {2,2,0} {1,0,2} {0,0,1}%s", sname);
        acc_report(&a, f->name, what);

        free(out);
        sidr_kv_free(&kv);
        sidr_state_free(s);
    }
out:
    free(prefix); free(btok); free(blog); free(rpar); free(rtok); free(rlog);
}


/* The capture: attention probabilities and per-layer residuals of case 3,
 * fed as a 21-token prefill and then one token at a time, at positions of
 * both paths; the lens of the last layer's residual gives the logits. */
static void check_capture(const fixture *f, sidr_model *m, float rel)
{
    int64_t T, na, nr, nl;
    int *tok = ref_i32("case3.tokens", &T);
    float *want_a = ref_f32("capture.attn", &na), *want_r = ref_f32("capture.resid", &nr), *want_l = ref_f32("case3.logits", &nl);
    const sidr_config *c = &m->cfg;
    int L = c->n_layers, H = c->n_heads, D = c->dim, V = c->vocab_size;
    if (!tok || !want_a || !want_r || !want_l || T != 33 || na != (int64_t)L * H * T * T || nr != (int64_t)L * T * D) {
        tap_ok(0, "%s: reference capture.attn [%d,%d,33,33] and capture.resid [%d,33,%d]", f->name, L, H, L, D);
        free(tok); free(want_a); free(want_r); free(want_l);
        return;
    }
    static const int pos[] = { 0, 6, 20, 21, 32 };
    const int np = 5;
    sidr_capture cap;
    sidr_kv kv;
    sidr_state *s = sidr_state_new(m, 32);
    float *logits = malloc(sizeof(float) * (size_t)V), *lens = malloc(sizeof(float) * (size_t)V);
    sidr_status st = sidr_capture_init(&cap, c, pos, np, 33);
    if (!st) st = sidr_kv_init(&kv, c, 40);
    if (!st) st = sidr_forward_capture(m, s, &kv, tok, 21, logits, SIDR_LOGITS_LAST, &cap);
    for (int t = 21; t < 33 && !st; t++) st = sidr_forward_capture(m, s, &kv, tok + t, 1, logits, SIDR_LOGITS_LAST, &cap);
    int done = 1;
    for (int i = 0; i < np; i++) done &= cap.done[i];
    if (!tap_ok(st == SIDR_OK && done, "%s: a capture of 5 positions over a prefill and decode steps", f->name)) {
        tap_diag("%s", sidr_last_error());
    } else {
        acc attn, resid, lensacc;
        acc_init(&attn); acc_init(&resid); acc_init(&lensacc);
        /* probabilities: absolute tolerance (1e-5 with f32 weights) */
        float atol = f->dtype == SIDR_F32 ? 1e-5f : rel;
        for (int i = 0; i < np; i++) {
            int p = pos[i];
            for (int l = 0; l < L; l++) {
                for (int h = 0; h < H; h++) {
                    const float *w = want_a + (((size_t)l * H + h) * T + p) * T;
                    acc_add(&attn, sidr_capture_attn(&cap, i, l, h), w, 33, 1, atol, "position %d, layer/head %d", p, l * 100 + h);
                }
                const float *wr = want_r + ((size_t)l * T + p) * D;
                acc_add(&resid, sidr_capture_resid(&cap, i, l), wr, (size_t)D, max_abs(wr, (size_t)D), rel, "position %d, layer %d", p, l);
            }
            sidr_lens(m, sidr_capture_resid(&cap, i, L - 1), lens);
            const float *wl = want_l + (size_t)p * V;
            acc_add(&lensacc, lens, wl, (size_t)V, max_abs(wl, (size_t)V), rel, "position %d%.0d", p, 0);
        }
        acc_report(&attn, f->name, "captured attention probabilities match the reference (keys 0..p, zeros after)");
        acc_report(&resid, f->name, "captured residuals after each layer match the reference");
        acc_report(&lensacc, f->name, "the lens of the last layer's residual gives the reference logits");
    }
    sidr_capture_free(&cap);
    sidr_kv_free(&kv);
    sidr_state_free(s);
    free(logits); free(lens); free(tok); free(want_a); free(want_r); free(want_l);
}

int main(void)
{
    char dir[4096], path[8300];
    snprintf(dir, sizeof dir, "%s/fixtures/models", tap_testdir());

    for (int i = 0; i < N_FIXTURES; i++) {
        const fixture *f = &FIXTURES[i];
        char mdir[8200];
        snprintf(mdir, sizeof mdir, "%s/%s", dir, f->name);
        snprintf(path, sizeof path, "%s/reference.safetensors", mdir);
        memset(&REF, 0, sizeof REF);
        sidr_status st = sidr_st_open_file(&REF, path);
        if (!tap_ok(st == SIDR_OK, "%s: open reference.safetensors", f->name)) {
            tap_diag("%s", sidr_last_error());
            continue;
        }
        sidr_model m;
        memset(&m, 0, sizeof m);
        st = sidr_model_load(&m, mdir);
        if (!tap_ok(st == SIDR_OK, "%s: sidr_model_load", f->name)) {
            tap_diag("%s: %s", sidr_status_name(st), sidr_last_error());
            sidr_st_close(&REF);
            continue;
        }
        float rel = f->dtype == SIDR_F32 ? 1e-4f : 1e-2f;
        check_config(f, &m);
        check_cases(f, &m, rel);
        check_greedy(f, &m);
        check_branches(f, &m, rel);
        check_capture(f, &m, rel);
        sidr_model_free(&m);
        sidr_st_close(&REF);
    }
    return tap_done();
}

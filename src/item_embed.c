/* TF-IDF + randomized SVD item embeddings, optionally mixed with PPMI
 * co-occurrence embeddings; see item_embed.h. */
#include "item_embed.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "threads.h"
#include "util.h"

/* LAPACK through the Fortran symbols OpenBLAS exports (character arguments
 * carry a hidden length, passed explicitly). */
extern void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau, float *work,
                    const int *lwork, int *info);
extern void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda, const float *tau,
                    float *work, const int *lwork, int *info);
extern void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda, float *s, float *u,
                    const int *ldu, float *vt, const int *ldvt, float *work, const int *lwork, int *iwork,
                    int *info, size_t jobz_len);

/* ---- random numbers -------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Gaussian number i of a stream: a counter-based generator (hash of seed and
 * index), so every element is the same whatever order it is made in. */
static float gauss_at(uint64_t seed, uint64_t i)
{
    uint64_t s = seed ^ (i * 0xD1B54A32D192ED03ull);
    double u1 = ((double)(splitmix64(&s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(splitmix64(&s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static int report(sidr_progress_fn fn, void *user, const char *stage, long done, long total)
{
    return fn ? fn(user, stage, done, total) : 0;
}

/* ---- sparse matrices ------------------------------------------------------- */

void sidr_csr_free(sidr_csr *m)
{
    if (!m) return;
    free(m->ptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

static void csr_transpose(const sidr_csr *a, sidr_csr *t)
{
    t->rows = a->cols;
    t->cols = a->rows;
    t->nnz = a->nnz;
    t->ptr = xcalloc((size_t)t->rows + 1, sizeof *t->ptr);
    t->col = xmalloc((size_t)(a->nnz > 0 ? a->nnz : 1) * sizeof *t->col);
    t->val = xmalloc((size_t)(a->nnz > 0 ? a->nnz : 1) * sizeof *t->val);
    for (int64_t e = 0; e < a->nnz; e++) t->ptr[a->col[e] + 1]++;
    for (int r = 0; r < t->rows; r++) t->ptr[r + 1] += t->ptr[r];
    int64_t *pos = xmalloc((size_t)(t->rows > 0 ? t->rows : 1) * sizeof *pos);
    memcpy(pos, t->ptr, (size_t)t->rows * sizeof *pos);
    for (int r = 0; r < a->rows; r++) /* rows ascending: columns of t stay sorted */
        for (int64_t e = a->ptr[r]; e < a->ptr[r + 1]; e++) {
            int64_t p = pos[a->col[e]]++;
            t->col[p] = r;
            t->val[p] = a->val[e];
        }
    free(pos);
}

/* Y (a.rows x l) = A * B (a.cols x l), row-major, each row summed in order,
 * rows spread over sidr's thread pool. */
typedef struct {
    const sidr_csr *a;
    const float *b;
    int l;
    float *y;
} spmm_ctx;

static void spmm_rows(void *vc, int begin, int end, int thread)
{
    spmm_ctx *c = vc;
    (void)thread;
    const sidr_csr *a = c->a;
    for (int r = begin; r < end; r++) {
        float *yr = c->y + (size_t)r * c->l;
        memset(yr, 0, (size_t)c->l * sizeof *yr);
        for (int64_t e = a->ptr[r]; e < a->ptr[r + 1]; e++) {
            const float *br = c->b + (size_t)a->col[e] * c->l;
            float v = a->val[e];
            for (int j = 0; j < c->l; j++) yr[j] += v * br[j];
        }
    }
}

static void csr_mul_dense(const sidr_csr *a, const float *b, int l, float *y)
{
    spmm_ctx c = { a, b, l, y };
    if (a->nnz * (int64_t)l < 262144) spmm_rows(&c, 0, a->rows, 0);
    else sidr_parallel_for(a->rows, spmm_rows, &c);
}

/* Orthonormalises the columns of the row-major m x l matrix a in place
 * (Householder QR: sgeqrf + sorgqr). */
static sidr_status orthonormalise(float *a, int m, int l)
{
    float *cm = xmalloc((size_t)m * l * sizeof *cm), *tau = xmalloc((size_t)l * sizeof *tau);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < l; j++) cm[(size_t)j * m + i] = a[(size_t)i * l + j];
    int info = 0, lwork = -1;
    float wq = 0;
    sgeqrf_(&m, &l, cm, &m, tau, &wq, &lwork, &info);
    lwork = (int)wq > l ? (int)wq : l;
    float *work = xmalloc((size_t)lwork * sizeof *work);
    sgeqrf_(&m, &l, cm, &m, tau, work, &lwork, &info);
    if (info == 0) {
        int lw2 = -1;
        sorgqr_(&m, &l, &l, cm, &m, tau, &wq, &lw2, &info);
        if ((int)wq > lwork) {
            lwork = (int)wq;
            work = xrealloc(work, (size_t)lwork * sizeof *work);
        }
        if (info == 0) sorgqr_(&m, &l, &l, cm, &m, tau, work, &lwork, &info);
    }
    free(work);
    free(tau);
    if (info != 0) {
        free(cm);
        return sidr_fail(SIDR_ERR_UNSUPPORTED, "randomized SVD: LAPACK QR failed (info %d)", info);
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < l; j++) a[(size_t)i * l + j] = cm[(size_t)j * m + i];
    free(cm);
    return SIDR_OK;
}

sidr_status sidr_rsvd(const sidr_csr *X, int k, int oversample, int power_iters, uint64_t seed, float *U, float *S,
                      sidr_progress_fn progress, void *user, const char *stage)
{
    int mn = X->rows < X->cols ? X->rows : X->cols;
    if (k < 1 || k > mn)
        return sidr_fail(SIDR_ERR_ARG, "randomized SVD: rank %d of a %d x %d matrix (expected 1..%d)", k, X->rows,
                         X->cols, mn);
    int l = k + (oversample < 0 ? (k > 20 ? k : 20) : oversample);
    if (l > mn) l = mn;
    const int m = X->rows, n = X->cols;
    /* Starting the pool sets OpenBLAS to one thread per task: LAPACK's QR
     * gives different roundings with different BLAS thread counts, and the
     * SIDs must not depend on the machine's core count. */
    sidr_threads_count();
    sidr_csr XT;
    csr_transpose(X, &XT);
    float *omega = xmalloc((size_t)n * l * sizeof *omega);
    uint64_t gs = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < l; j++) omega[(size_t)i * l + j] = gauss_at(gs, (uint64_t)i * l + j);
    float *Y = xmalloc((size_t)m * l * sizeof *Y);
    float *Z = omega; /* n x l, reused */
    sidr_status s;
    const long steps = 2 + 2L * (power_iters > 0 ? power_iters : 0);
    if (!stage) stage = "randomized SVD";
    csr_mul_dense(X, omega, l, Y);
    if ((s = orthonormalise(Y, m, l))) goto out;
    for (int it = 0; it < power_iters; it++) {
        if (report(progress, user, stage, 1 + 2L * it, steps)) goto cancelled;
        csr_mul_dense(&XT, Y, l, Z);
        if ((s = orthonormalise(Z, n, l))) goto out;
        if (report(progress, user, stage, 2 + 2L * it, steps)) goto cancelled;
        csr_mul_dense(X, Z, l, Y);
        if ((s = orthonormalise(Y, m, l))) goto out;
    }
    if (report(progress, user, stage, steps - 1, steps)) goto cancelled;
    /* B^T = X^T Q (n x l); B^T = Q2 R; R = Ur S Vr^T; then X ~ Q B = (Q Vr) S (Q2 Ur)^T */
    csr_mul_dense(&XT, Y, l, Z);
    {
        float *cm = xmalloc((size_t)n * l * sizeof *cm), *tau = xmalloc((size_t)l * sizeof *tau);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < l; j++) cm[(size_t)j * n + i] = Z[(size_t)i * l + j];
        int info = 0, lwork = -1;
        float wq = 0;
        sgeqrf_(&n, &l, cm, &n, tau, &wq, &lwork, &info);
        lwork = (int)wq > l ? (int)wq : l;
        float *work = xmalloc((size_t)lwork * sizeof *work);
        sgeqrf_(&n, &l, cm, &n, tau, work, &lwork, &info);
        free(work);
        free(tau);
        if (info != 0) {
            free(cm);
            s = sidr_fail(SIDR_ERR_UNSUPPORTED, "randomized SVD: LAPACK QR failed (info %d)", info);
            goto out;
        }
        float *R = xcalloc((size_t)l * l, sizeof *R); /* column-major upper triangle */
        for (int j = 0; j < l; j++)
            for (int i = 0; i <= j; i++) R[(size_t)j * l + i] = cm[(size_t)j * n + i];
        free(cm);
        float *sv = xmalloc((size_t)l * sizeof *sv), *ur = xmalloc((size_t)l * l * sizeof *ur),
              *vt = xmalloc((size_t)l * l * sizeof *vt);
        int *iwork = xmalloc((size_t)8 * l * sizeof *iwork);
        lwork = -1;
        sgesdd_("A", &l, &l, R, &l, sv, ur, &l, vt, &l, &wq, &lwork, iwork, &info, 1);
        lwork = (int)wq > 1 ? (int)wq : 1;
        work = xmalloc((size_t)lwork * sizeof *work);
        sgesdd_("A", &l, &l, R, &l, sv, ur, &l, vt, &l, work, &lwork, iwork, &info, 1);
        free(work);
        free(iwork);
        free(R);
        free(ur);
        if (info != 0) {
            free(sv);
            free(vt);
            s = sidr_fail(SIDR_ERR_UNSUPPORTED, "randomized SVD: LAPACK sgesdd failed (info %d)", info);
            goto out;
        }
        /* vt is column-major Vr^T, i.e. row-major Vr: U = Q (m x l) * Vr (l x l), first k columns */
        if (U) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, l, 1.0f, Y, l, vt, l, 0.0f, U, k);
        if (S) memcpy(S, sv, (size_t)k * sizeof *S);
        free(sv);
        free(vt);
    }
    s = SIDR_OK;
    report(progress, user, stage, steps, steps);
    goto out;
cancelled:
    s = sidr_fail(SIDR_ERR_CANCELLED, "%s: cancelled", stage);
out:
    free(omega);
    free(Y);
    sidr_csr_free(&XT);
    return s;
}

/* ---- tokens ------------------------------------------------------------------ */

static const char *const stop_words[] = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it",
    "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "will", "with", "you", "your",
    "our", "we", "can", "not", "all", "any", "these", "those", "into", "than", "then", "there", "which",
};

static int is_stop(const char *t, size_t len)
{
    for (size_t i = 0; i < sizeof stop_words / sizeof *stop_words; i++)
        if (strlen(stop_words[i]) == len && !memcmp(stop_words[i], t, len)) return 1;
    return 0;
}

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

int sidr_text_tokens(const char *text, void (*fn)(void *user, const char *tok, size_t len), void *user)
{
    if (!text) return 0;
    char buf[256];
    int count = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        while (*p && !word_byte(*p)) p++;
        if (!*p) break;
        const unsigned char *st = p;
        while (*p && word_byte(*p)) p++;
        size_t len = (size_t)(p - st);
        if (len < 2 && !(*st >= '0' && *st <= '9')) continue; /* single letters go, single digits stay */
        if (len > sizeof buf) len = sizeof buf; /* very long runs: the prefix stands for them */
        /* do not cut a UTF-8 sequence in half */
        while (len < (size_t)(p - st) && len > 0 && (st[len] & 0xC0) == 0x80) len--;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = st[i];
            buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        if (is_stop(buf, len)) continue;
        fn(user, buf, len);
        count++;
    }
    return count;
}

/* ---- TF-IDF -------------------------------------------------------------------- */

void sidr_embed_defaults(sidr_embed_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dim = 64;
    o->seed = 42;
    o->title_weight = 2.0f;
    o->min_df = 0;
    o->max_df = 0.5f;
    o->max_vocab = 50000;
    o->power_iters = 4;
    o->oversample = -1;
    o->cooc_weight = 0.0f;
    o->cooc_window = 5;
    o->cooc_anchor_last = 0;
}

typedef struct {
    int tid;
    float w;
} term_w;

typedef struct {
    sidr_strmap *terms;
    int *n_terms;
    term_w *buf;
    int n, cap;
    float weight;
} tok_ctx;

static void on_token(void *user, const char *tok, size_t len)
{
    tok_ctx *c = user;
    int id;
    if (!sidr_strmap_get(c->terms, tok, len, &id)) {
        id = (*c->n_terms)++;
        sidr_strmap_put(c->terms, tok, len, id);
    }
    if (c->n == c->cap) c->buf = xrealloc(c->buf, (size_t)(c->cap = c->cap ? c->cap * 2 : 256) * sizeof *c->buf);
    c->buf[c->n++] = (term_w){ id, c->weight };
}

static int cmp_term_w(const void *a, const void *b)
{
    const term_w *x = a, *y = b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static const int *g_df_sort; /* qsort has no context argument: set just around the call */

static int cmp_by_df(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (g_df_sort[x] != g_df_sort[y]) return g_df_sort[x] > g_df_sort[y] ? -1 : 1;
    return (x > y) - (x < y);
}

sidr_status sidr_tfidf(const sidr_item_text *items, int n, const sidr_embed_opts *o, sidr_csr *X, int *vocab_seen)
{
    sidr_embed_opts def;
    if (!o) { sidr_embed_defaults(&def); o = &def; }
    memset(X, 0, sizeof *X);
    if (n < 1) return sidr_fail(SIDR_ERR_ARG, "item embeddings: no items (expected at least 2)");
    sidr_strmap terms;
    sidr_strmap_init(&terms, 4096);
    int n_terms = 0;
    tok_ctx tc = { &terms, &n_terms, NULL, 0, 0, 1.0f };
    /* per item: merged (term, weighted count) pairs */
    int64_t *ptr = xcalloc((size_t)n + 1, sizeof *ptr);
    term_w *all = NULL;
    int64_t n_all = 0, cap_all = 0;
    for (int i = 0; i < n; i++) {
        tc.n = 0;
        tc.weight = o->title_weight > 0 ? o->title_weight : 1.0f;
        sidr_text_tokens(items[i].title, on_token, &tc);
        tc.weight = 1.0f;
        sidr_text_tokens(items[i].brand, on_token, &tc);
        sidr_text_tokens(items[i].categories, on_token, &tc);
        sidr_text_tokens(items[i].description, on_token, &tc);
        if (tc.n) qsort(tc.buf, (size_t)tc.n, sizeof *tc.buf, cmp_term_w);
        int m = 0;
        for (int j = 0; j < tc.n; j++) {
            if (m > 0 && tc.buf[m - 1].tid == tc.buf[j].tid) tc.buf[m - 1].w += tc.buf[j].w;
            else tc.buf[m++] = tc.buf[j];
        }
        if (n_all + m > cap_all) {
            while (n_all + m > cap_all) cap_all = cap_all ? cap_all * 2 : 65536;
            all = xrealloc(all, (size_t)cap_all * sizeof *all);
        }
        if (m) memcpy(all + n_all, tc.buf, (size_t)m * sizeof *all);
        n_all += m;
        ptr[i + 1] = n_all;
        if ((i & 1023) == 1023 && report(o->progress, o->user, "tokenising", i + 1, n)) {
            free(tc.buf); free(all); free(ptr); sidr_strmap_free(&terms);
            return sidr_fail(SIDR_ERR_CANCELLED, "item embeddings: cancelled");
        }
    }
    free(tc.buf);
    sidr_strmap_free(&terms);
    if (vocab_seen) *vocab_seen = n_terms;
    report(o->progress, o->user, "tokenising", n, n);

    int *df = xcalloc((size_t)(n_terms > 0 ? n_terms : 1), sizeof *df);
    for (int64_t e = 0; e < n_all; e++) df[all[e].tid]++;
    int min_df = o->min_df > 0 ? o->min_df : (n >= 1000 ? 2 : 1);
    double max_df = (o->max_df > 0 && o->max_df < 1 && n >= 50) ? o->max_df * n : (double)n;
    int *cand = xmalloc((size_t)(n_terms > 0 ? n_terms : 1) * sizeof *cand);
    int nc = 0;
    for (int t = 0; t < n_terms; t++)
        if (df[t] >= min_df && df[t] <= max_df) cand[nc++] = t;
    if (o->max_vocab > 0 && nc > o->max_vocab) {
        g_df_sort = df;
        if (nc) qsort(cand, (size_t)nc, sizeof *cand, cmp_by_df);
        g_df_sort = NULL;
        nc = o->max_vocab;
    }
    /* new column ids in first-seen order of the kept terms */
    int *newid = xmalloc((size_t)(n_terms > 0 ? n_terms : 1) * sizeof *newid);
    for (int t = 0; t < n_terms; t++) newid[t] = -1;
    for (int j = 0; j < nc; j++) newid[cand[j]] = 0;
    int V = 0;
    for (int t = 0; t < n_terms; t++)
        if (newid[t] == 0) newid[t] = V++;
    free(cand);
    if (V == 0) {
        free(df); free(newid); free(all); free(ptr);
        return sidr_fail(SIDR_ERR_ARG, "item embeddings: none of the %d items has a usable text token "
                         "(expected titles, descriptions, brands or categories with words)", n);
    }
    double *idf = xmalloc((size_t)n_terms * sizeof *idf);
    for (int t = 0; t < n_terms; t++) idf[t] = log((1.0 + n) / (1.0 + df[t])) + 1.0;

    X->rows = n;
    X->cols = V;
    X->ptr = xcalloc((size_t)n + 1, sizeof *X->ptr);
    int64_t nnz = 0;
    for (int64_t e = 0; e < n_all; e++) nnz += newid[all[e].tid] >= 0;
    X->col = xmalloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *X->col);
    X->val = xmalloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *X->val);
    int64_t p = 0;
    for (int i = 0; i < n; i++) {
        int64_t start = p;
        double ss = 0;
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) {
            int t = all[e].tid;
            if (newid[t] < 0) continue;
            double tf = all[e].w, w = (tf >= 1 ? 1.0 + log(tf) : tf) * idf[t];
            X->col[p] = newid[t];
            X->val[p] = (float)w;
            ss += w * w;
            p++;
        }
        /* columns ascend: tids were sorted and newid keeps their order */
        if (ss > 0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (int64_t e = start; e < p; e++) X->val[e] *= inv;
        }
        X->ptr[i + 1] = p;
    }
    X->nnz = p;
    free(df);
    free(newid);
    free(idf);
    free(all);
    free(ptr);
    return SIDR_OK;
}

/* ---- co-occurrence ------------------------------------------------------------- */

typedef struct {
    int32_t a, b;
    float w;
} pair_w;

static int cmp_pair_w(const void *x, const void *y)
{
    const pair_w *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

static void add_pair(pair_w **v, int64_t *n, int64_t *cap, int a, int b, float w)
{
    if (*n + 2 > *cap) *v = xrealloc(*v, (size_t)(*cap = *cap ? *cap * 2 : 65536) * sizeof **v);
    (*v)[(*n)++] = (pair_w){ a, b, w };
    (*v)[(*n)++] = (pair_w){ b, a, w };
}

/* PPMI matrix (n x n) of windowed co-occurrence with context smoothing 0.75. */
static sidr_status ppmi_matrix(const sidr_item_seq *seqs, int n_seqs, int n, const sidr_embed_opts *o, sidr_csr *X)
{
    int win = o->cooc_window > 0 ? o->cooc_window : 5;
    pair_w *v = NULL;
    int64_t np = 0, cap = 0;
    for (int s = 0; s < n_seqs; s++) {
        const int *it = seqs[s].items;
        int len = seqs[s].n;
        for (int i = 0; i < len; i++)
            if (it[i] < 0 || it[i] >= n) {
                free(v);
                return sidr_fail(SIDR_ERR_RANGE, "co-occurrence: sequence %d holds item %d (expected 0..%d)", s,
                                 it[i], n - 1);
            }
        if (o->cooc_anchor_last) {
            if (len < 2) continue;
            int t = it[len - 1];
            for (int d = 1; d <= win && len - 1 - d >= 0; d++)
                if (it[len - 1 - d] != t) add_pair(&v, &np, &cap, t, it[len - 1 - d], 1.0f / d);
        } else {
            for (int i = 0; i < len; i++)
                for (int d = 1; d <= win && i + d < len; d++)
                    if (it[i] != it[i + d]) add_pair(&v, &np, &cap, it[i], it[i + d], 1.0f / d);
        }
    }
    if (np) qsort(v, (size_t)np, sizeof *v, cmp_pair_w);
    int64_t m = 0;
    for (int64_t e = 0; e < np; e++) {
        if (m > 0 && v[m - 1].a == v[e].a && v[m - 1].b == v[e].b) v[m - 1].w += v[e].w;
        else v[m++] = v[e];
    }
    double *row = xcalloc((size_t)n, sizeof *row), total = 0, ctx_total = 0;
    for (int64_t e = 0; e < m; e++) row[v[e].a] += v[e].w;
    for (int i = 0; i < n; i++) { total += row[i]; ctx_total += pow(row[i], 0.75); }
    X->rows = X->cols = n;
    X->ptr = xcalloc((size_t)n + 1, sizeof *X->ptr);
    X->col = xmalloc((size_t)(m > 0 ? m : 1) * sizeof *X->col);
    X->val = xmalloc((size_t)(m > 0 ? m : 1) * sizeof *X->val);
    int64_t p = 0;
    for (int64_t e = 0; e < m; e++) {
        double pmi = log(v[e].w / total) - log(row[v[e].a] / total) - log(pow(row[v[e].b], 0.75) / ctx_total);
        if (pmi <= 0) continue;
        X->col[p] = v[e].b;
        X->val[p] = (float)pmi;
        X->ptr[v[e].a + 1]++;
        p++;
    }
    for (int i = 0; i < n; i++) X->ptr[i + 1] += X->ptr[i];
    X->nnz = p;
    free(row);
    free(v);
    return SIDR_OK;
}

/* ---- embeddings ---------------------------------------------------------------- */

void sidr_embed_free(sidr_embed_result *r)
{
    if (!r) return;
    free(r->emb);
    free(r->sigma_text);
    free(r->sigma_cooc);
    memset(r, 0, sizeof *r);
}

static void normalise_rows(float *x, int n, int d)
{
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (double)x[(size_t)i * d + j] * x[(size_t)i * d + j];
        if (ss > 0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (int j = 0; j < d; j++) x[(size_t)i * d + j] *= inv;
        }
    }
}

sidr_status sidr_item_embed(const sidr_item_text *items, int n, const sidr_item_seq *seqs, int n_seqs,
                            const sidr_embed_opts *o, sidr_embed_result *r)
{
    sidr_embed_opts def;
    if (!o) { sidr_embed_defaults(&def); o = &def; }
    memset(r, 0, sizeof *r);
    if (n < 2) return sidr_fail(SIDR_ERR_ARG, "item embeddings: %d items (expected at least 2)", n);
    if (o->dim < 1) return sidr_fail(SIDR_ERR_ARG, "item embeddings: dim %d (expected >= 1)", o->dim);
    if (!(o->cooc_weight >= 0 && o->cooc_weight <= 1))
        return sidr_fail(SIDR_ERR_ARG, "item embeddings: co-occurrence weight %g (expected 0..1)", o->cooc_weight);
    int use_cooc = o->cooc_weight > 0 && seqs && n_seqs > 0;
    if (o->cooc_weight > 0 && !use_cooc)
        return sidr_fail(SIDR_ERR_MISSING, "item embeddings: co-occurrence weight %g but no training sequences",
                         o->cooc_weight);
    int dim_cooc = use_cooc ? (o->dim >= 2 ? o->dim / 2 : 0) : 0;
    if (use_cooc && dim_cooc == 0)
        return sidr_fail(SIDR_ERR_ARG, "item embeddings: dim %d is too small to mix co-occurrence (expected >= 2)", o->dim);
    int dim_text = o->dim - dim_cooc;

    sidr_csr X;
    sidr_status s = sidr_tfidf(items, n, o, &X, &r->vocab_seen);
    if (s) return s;
    r->vocab = X.cols;
    r->nnz = X.nnz;
    for (int i = 0; i < n; i++) r->empty_items += X.ptr[i + 1] == X.ptr[i];
    int mn = n < X.cols ? n : X.cols;
    if (dim_text > mn) { dim_text = mn; r->dim_clamped = 1; }
    float *ut = xmalloc((size_t)n * dim_text * sizeof *ut);
    r->sigma_text = xmalloc((size_t)dim_text * sizeof *r->sigma_text);
    s = sidr_rsvd(&X, dim_text, o->oversample, o->power_iters, o->seed, ut, r->sigma_text, o->progress, o->user,
                  "text SVD");
    sidr_csr_free(&X);
    if (s) { free(ut); sidr_embed_free(r); return s; }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim_text; j++) ut[(size_t)i * dim_text + j] *= r->sigma_text[j];
    normalise_rows(ut, n, dim_text);

    float *uc = NULL;
    if (use_cooc) {
        sidr_csr C;
        memset(&C, 0, sizeof C);
        s = ppmi_matrix(seqs, n_seqs, n, o, &C);
        if (s) { free(ut); sidr_embed_free(r); return s; }
        r->cooc_nnz = C.nnz;
        for (int i = 0; i < n; i++) r->cooc_items += C.ptr[i + 1] > C.ptr[i];
        if (C.nnz == 0) {
            sidr_csr_free(&C);
            free(ut);
            sidr_embed_free(r);
            return sidr_fail(SIDR_ERR_MISSING, "item embeddings: the training sequences hold no co-occurring items");
        }
        if (dim_cooc > n) dim_cooc = n;
        uc = xmalloc((size_t)n * dim_cooc * sizeof *uc);
        r->sigma_cooc = xmalloc((size_t)dim_cooc * sizeof *r->sigma_cooc);
        s = sidr_rsvd(&C, dim_cooc, o->oversample, o->power_iters, o->seed + 1, uc, r->sigma_cooc, o->progress,
                      o->user, "co-occurrence SVD");
        sidr_csr_free(&C);
        if (s) { free(ut); free(uc); sidr_embed_free(r); return s; }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim_cooc; j++) uc[(size_t)i * dim_cooc + j] *= sqrtf(r->sigma_cooc[j]);
        normalise_rows(uc, n, dim_cooc);
    }
    r->n = n;
    r->dim_text = dim_text;
    r->dim_cooc = dim_cooc;
    r->dim = dim_text + dim_cooc;
    r->emb = xmalloc((size_t)n * r->dim * sizeof *r->emb);
    float wt = use_cooc ? sqrtf(1.0f - o->cooc_weight) : 1.0f, wc = use_cooc ? sqrtf(o->cooc_weight) : 0.0f;
    for (int i = 0; i < n; i++) {
        float *e = r->emb + (size_t)i * r->dim;
        for (int j = 0; j < dim_text; j++) e[j] = wt * ut[(size_t)i * dim_text + j];
        for (int j = 0; j < dim_cooc; j++) e[dim_text + j] = wc * uc[(size_t)i * dim_cooc + j];
    }
    free(ut);
    free(uc);
    return SIDR_OK;
}

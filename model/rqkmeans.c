/* Residual k-means with balanced last level and collision re-assignment; see
 * rqkmeans.h for the method. */
#include "rqkmeans.h"

#include <cblas.h>
#include <float.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "threads.h"
#include "util.h"

/* ---- small helpers --------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static double rng_u01(uint64_t *s)
{
    return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Stable merge sort of an index array with a context comparator. */
typedef int (*idx_cmp)(const void *ctx, int a, int b);

static void merge_sort_rec(int *a, int *tmp, int n, idx_cmp cmp, const void *ctx)
{
    if (n < 2) return;
    if (n <= 16) { /* insertion sort */
        for (int i = 1; i < n; i++) {
            int v = a[i], j = i - 1;
            while (j >= 0 && cmp(ctx, a[j], v) > 0) { a[j + 1] = a[j]; j--; }
            a[j + 1] = v;
        }
        return;
    }
    int h = n / 2;
    merge_sort_rec(a, tmp, h, cmp, ctx);
    merge_sort_rec(a + h, tmp, n - h, cmp, ctx);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = cmp(ctx, a[j], a[i]) < 0 ? a[j++] : a[i++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

static void sort_idx(int *a, int n, idx_cmp cmp, const void *ctx)
{
    int *tmp = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *tmp);
    merge_sort_rec(a, tmp, n, cmp, ctx);
    free(tmp);
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static double sq_dist(const float *a, const float *b, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) {
        double t = (double)a[j] - b[j];
        s += t * t;
    }
    return s;
}

static int report(sidr_progress_fn fn, void *user, const char *stage, long done, long total)
{
    return fn ? fn(user, stage, done, total) : 0;
}

/* ---- distances ------------------------------------------------------------- */

/* Rows are handed to sidr's thread pool (BLAS runs single-threaded inside
 * its tasks); each row's result depends only on that row, so the output is
 * the same for any thread count. */
static void par_rows(int n, size_t work, sidr_range_fn fn, void *ctx)
{
    if (work < 65536) fn(ctx, 0, n, 0);
    else sidr_parallel_for(n, fn, ctx);
}

#define DIST_BLOCK 256

static void row_norms(const float *x, int n, int d, float *out)
{
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)x[(size_t)i * d + j] * x[(size_t)i * d + j];
        out[i] = (float)s;
    }
}

typedef struct {
    const float *x, *c, *xx, *cc;
    int n, d, k;
    float *dist;        /* sq_distances: n x k output */
    int32_t *assign;    /* assign_nearest */
    float *mind;
    long changed[256];  /* per pool thread */
} dist_ctx;

static void dist_rows(void *vctx, int begin, int end, int thread)
{
    dist_ctx *c = vctx;
    (void)thread;
    for (int b = begin; b < end; b += DIST_BLOCK) {
        int nb = end - b < DIST_BLOCK ? end - b : DIST_BLOCK;
        float *g = c->dist + (size_t)b * c->k;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, c->k, c->d, -2.0f, c->x + (size_t)b * c->d, c->d,
                    c->c, c->d, 0.0f, g, c->k);
        for (int i = 0; i < nb; i++)
            for (int j = 0; j < c->k; j++) {
                float v = g[(size_t)i * c->k + j] + c->xx[b + i] + c->cc[j];
                g[(size_t)i * c->k + j] = v > 0 ? v : 0;
            }
    }
}

void sidr_sq_distances(const float *x, int n, const float *c, int k, int d, float *dist)
{
    dist_ctx ctx = { .x = x, .c = c, .n = n, .d = d, .k = k, .dist = dist };
    float *xx = xmalloc((size_t)n * sizeof *xx), *cc = xmalloc((size_t)k * sizeof *cc);
    row_norms(x, n, d, xx);
    row_norms(c, k, d, cc);
    ctx.xx = xx;
    ctx.cc = cc;
    par_rows(n, (size_t)n * k * d, dist_rows, &ctx);
    free(xx);
    free(cc);
}

static void nearest_rows(void *vctx, int begin, int end, int thread)
{
    dist_ctx *c = vctx;
    float *g = xmalloc((size_t)DIST_BLOCK * c->k * sizeof *g);
    long changed = 0;
    for (int b = begin; b < end; b += DIST_BLOCK) {
        int nb = end - b < DIST_BLOCK ? end - b : DIST_BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, c->k, c->d, -2.0f, c->x + (size_t)b * c->d, c->d,
                    c->c, c->d, 0.0f, g, c->k);
        for (int i = 0; i < nb; i++) {
            const float *row = g + (size_t)i * c->k;
            int best = 0;
            float bv = row[0] + c->cc[0];
            for (int j = 1; j < c->k; j++) {
                float v = row[j] + c->cc[j];
                if (v < bv) { bv = v; best = j; }
            }
            if (c->assign[b + i] != best) changed++;
            c->assign[b + i] = best;
            if (c->mind) {
                float v = bv + c->xx[b + i];
                c->mind[b + i] = v > 0 ? v : 0;
            }
        }
    }
    c->changed[thread & 255] += changed;
    free(g);
}

long sidr_nearest_code(const float *x, int n, int d, const float *c, int k, int32_t *assign, float *mind)
{
    dist_ctx *ctx = xcalloc(1, sizeof *ctx);
    *ctx = (dist_ctx){ .x = x, .c = c, .n = n, .d = d, .k = k, .assign = assign, .mind = mind };
    float *xx = xmalloc((size_t)n * sizeof *xx), *cc = xmalloc((size_t)k * sizeof *cc);
    row_norms(x, n, d, xx);
    row_norms(c, k, d, cc);
    ctx->xx = xx;
    ctx->cc = cc;
    par_rows(n, (size_t)n * k * d, nearest_rows, ctx);
    long changed = 0;
    for (int t = 0; t < 256; t++) changed += ctx->changed[t];
    free(xx);
    free(cc);
    free(ctx);
    return changed;
}

/* ---- k-means --------------------------------------------------------------- */

void sidr_kmeans_defaults(sidr_kmeans_opts *o)
{
    memset(o, 0, sizeof *o);
    o->iters = 50;
    o->seed = 42;
    o->stage = "kmeans";
}

typedef struct {
    const float *x;
    int d;
    const float *c;
    double *mind;
} pp_ctx;

/* mind = min(mind, |x - c|^2); the first call fills mind (set to +inf). */
static void pp_rows(void *vctx, int begin, int end, int thread)
{
    pp_ctx *p = vctx;
    (void)thread;
    for (int i = begin; i < end; i++) {
        double v = sq_dist(p->x + (size_t)i * p->d, p->c, p->d);
        if (v < p->mind[i]) p->mind[i] = v;
    }
}

static void kmeanspp_init(const float *x, int n, int d, int k, uint64_t *rng, float *cent)
{
    double *mind = xmalloc((size_t)n * sizeof *mind);
    for (int i = 0; i < n; i++) mind[i] = HUGE_VAL;
    int first = (int)(rng_u01(rng) * n);
    memcpy(cent, x + (size_t)first * d, (size_t)d * sizeof *cent);
    pp_ctx pc = { x, d, cent, mind };
    par_rows(n, (size_t)n * d, pp_rows, &pc);
    for (int j = 1; j < k; j++) {
        double total = 0;
        for (int i = 0; i < n; i++) total += mind[i];
        int pick;
        if (total <= 0) {
            pick = (int)(rng_u01(rng) * n); /* every row already sits on a centroid */
        } else {
            double r = rng_u01(rng) * total, acc = 0;
            pick = n - 1;
            for (int i = 0; i < n; i++) {
                acc += mind[i];
                if (acc > r && mind[i] > 0) { pick = i; break; }
            }
            while (mind[pick] <= 0 && pick > 0) pick--; /* rounding at the end of the scan */
        }
        float *cj = cent + (size_t)j * d;
        memcpy(cj, x + (size_t)pick * d, (size_t)d * sizeof *cj);
        pc.c = cj;
        par_rows(n, (size_t)n * d, pp_rows, &pc);
    }
    free(mind);
}

/* Means of the assigned rows; empty clusters are repaired by taking the row
 * farthest from its centroid in the most populated cluster. */
static void update_centroids(const float *x, int n, int d, int k, int32_t *assign, float *cent)
{
    double *sum = xcalloc((size_t)k * d, sizeof *sum);
    int *count = xcalloc((size_t)k, sizeof *count);
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        double *s = sum + (size_t)assign[i] * d;
        for (int j = 0; j < d; j++) s[j] += xi[j];
        count[assign[i]]++;
    }
    for (int c = 0; c < k; c++) {
        if (count[c] > 0) continue;
        int big = -1;
        for (int m = 0; m < k; m++)
            if (count[m] >= 2 && (big < 0 || count[m] > count[big])) big = m;
        if (big < 0) break; /* cannot happen with k <= n */
        /* farthest member of `big` from its current mean */
        float *mean = xmalloc((size_t)d * sizeof *mean);
        for (int j = 0; j < d; j++) mean[j] = (float)(sum[(size_t)big * d + j] / count[big]);
        int far = -1;
        double fv = -1;
        for (int i = 0; i < n; i++) {
            if (assign[i] != big) continue;
            double v = sq_dist(x + (size_t)i * d, mean, d);
            if (v > fv) { fv = v; far = i; }
        }
        free(mean);
        const float *xf = x + (size_t)far * d;
        for (int j = 0; j < d; j++) {
            sum[(size_t)big * d + j] -= xf[j];
            sum[(size_t)c * d + j] = xf[j];
        }
        count[big]--;
        count[c] = 1;
        assign[far] = c;
    }
    for (int c = 0; c < k; c++) {
        if (!count[c]) continue;
        for (int j = 0; j < d; j++) cent[(size_t)c * d + j] = (float)(sum[(size_t)c * d + j] / count[c]);
    }
    free(sum);
    free(count);
}

static sidr_status check_matrix(const float *x, int n, int d, const char *what)
{
    if (!x || n < 1) return sidr_fail(SIDR_ERR_ARG, "%s: no rows (expected at least 1)", what);
    if (d < 1) return sidr_fail(SIDR_ERR_ARG, "%s: dimension %d (expected at least 1)", what, d);
    if (!all_finite(x, (size_t)n * d))
        return sidr_fail(SIDR_ERR_ARG, "%s: non-finite value (expected finite floats)", what);
    return SIDR_OK;
}

sidr_status sidr_kmeans(const float *x, int n, int d, int k, const sidr_kmeans_opts *o,
                        float *centroids, int32_t *assign, double *sse)
{
    sidr_kmeans_opts def;
    if (!o) { sidr_kmeans_defaults(&def); o = &def; }
    sidr_status s = check_matrix(x, n, d, "k-means input");
    if (s) return s;
    if (k < 1 || k > n)
        return sidr_fail(SIDR_ERR_ARG, "k-means: %d clusters for %d rows (expected 1 <= k <= rows)", k, n);
    const char *stage = o->stage ? o->stage : "kmeans";
    uint64_t rng = o->seed ^ 0x5DEECE66Dull;
    splitmix64(&rng);
    kmeanspp_init(x, n, d, k, &rng, centroids);
    for (int i = 0; i < n; i++) assign[i] = -1;
    float *mind = xmalloc((size_t)n * sizeof *mind);
    int iters = o->iters > 0 ? o->iters : 1;
    for (int it = 0;; it++) {
        long changed = sidr_nearest_code(x, n, d, centroids, k, assign, mind);
        if ((changed == 0 && it > 0) || it == iters) break;
        update_centroids(x, n, d, k, assign, centroids);
        if (report(o->progress, o->user, stage, it + 1, iters)) {
            free(mind);
            return sidr_fail(SIDR_ERR_CANCELLED, "%s: cancelled", stage);
        }
    }
    if (sse) {
        double t = 0;
        for (int i = 0; i < n; i++) t += mind[i];
        *sse = t;
    }
    free(mind);
    return SIDR_OK;
}

/* ---- Sinkhorn -------------------------------------------------------------- */

typedef struct {
    int n, k;
    float *L, *LT;
    double *u, *v;
    const float *dist;
    double mid, amp, eps, log_rn, log_ck;
    int32_t *assign;
} sk_ctx;

static void sk_fill(void *vc, int begin, int end, int thread)
{
    sk_ctx *c = vc;
    (void)thread;
    for (int i = begin; i < end; i++)
        for (int j = 0; j < c->k; j++) {
            float v = (float)(-((double)c->dist[(size_t)i * c->k + j] - c->mid) / c->amp / c->eps);
            c->L[(size_t)i * c->k + j] = v;
            c->LT[(size_t)j * c->n + i] = v;
        }
}

static void sk_rows(void *vc, int begin, int end, int thread)
{
    sk_ctx *c = vc;
    (void)thread;
    for (int i = begin; i < end; i++) {
        const float *r = c->L + (size_t)i * c->k;
        double m = -HUGE_VAL, s = 0;
        for (int j = 0; j < c->k; j++) if (r[j] + c->v[j] > m) m = r[j] + c->v[j];
        for (int j = 0; j < c->k; j++) s += exp(r[j] + c->v[j] - m);
        c->u[i] = c->log_rn - (m + log(s));
    }
}

static void sk_cols(void *vc, int begin, int end, int thread)
{
    sk_ctx *c = vc;
    (void)thread;
    for (int j = begin; j < end; j++) {
        const float *col = c->LT + (size_t)j * c->n;
        double m = -HUGE_VAL, s = 0;
        for (int i = 0; i < c->n; i++) if (col[i] + c->u[i] > m) m = col[i] + c->u[i];
        for (int i = 0; i < c->n; i++) s += exp(col[i] + c->u[i] - m);
        c->v[j] = c->log_ck - (m + log(s));
    }
}

static void sk_argmax(void *vc, int begin, int end, int thread)
{
    sk_ctx *c = vc;
    (void)thread;
    for (int i = begin; i < end; i++) {
        const float *r = c->L + (size_t)i * c->k;
        int best = 0;
        double bv = r[0] + c->v[0];
        for (int j = 1; j < c->k; j++)
            if (r[j] + c->v[j] > bv) { bv = r[j] + c->v[j]; best = j; }
        c->assign[i] = best;
    }
}

sidr_status sidr_sinkhorn_assign(const float *dist, int n, int k, float eps, int iters, int32_t *assign)
{
    if (n < 1 || k < 1) return sidr_fail(SIDR_ERR_ARG, "sinkhorn: %d x %d cost matrix (expected non-empty)", n, k);
    if (!(eps > 0)) return sidr_fail(SIDR_ERR_ARG, "sinkhorn: epsilon %g (expected > 0)", eps);
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (size_t i = 0; i < (size_t)n * k; i++) {
        if (!isfinite(dist[i])) return sidr_fail(SIDR_ERR_ARG, "sinkhorn: non-finite distance");
        if (dist[i] < lo) lo = dist[i];
        if (dist[i] > hi) hi = dist[i];
    }
    double mid = ((double)hi + lo) / 2, amp = (double)hi - mid + 1e-5;
    /* L = -D'/eps as float in both layouts: rows for the row step, columns
     * for the column step, so every reduction runs in a fixed order. */
    sk_ctx c = { n, k, xmalloc((size_t)n * k * sizeof(float)), xmalloc((size_t)n * k * sizeof(float)),
                 xcalloc((size_t)n, sizeof(double)), xcalloc((size_t)k, sizeof(double)), dist, mid, amp, eps,
                 -log((double)n), -log((double)k), assign };
    size_t work = (size_t)n * k * 8;
    par_rows(n, work, sk_fill, &c);
    for (int it = 0; it < (iters > 0 ? iters : 1); it++) {
        par_rows(n, work, sk_rows, &c); /* each item's total mass 1/n */
        par_rows(k, work, sk_cols, &c); /* each code's total mass 1/k */
    }
    par_rows(n, work, sk_argmax, &c);
    free(c.L);
    free(c.LT);
    free(c.u);
    free(c.v);
    return SIDR_OK;
}

/* ---- SID comparisons --------------------------------------------------------- */

typedef struct {
    const int32_t *code;
    int stride, depth;   /* compare the first `depth` of `stride` codes */
    const float *key;    /* optional tie-break (ascending), then index */
} sid_ctx;

static int cmp_sid(const void *vctx, int a, int b)
{
    const sid_ctx *c = vctx;
    const int32_t *x = c->code + (size_t)a * c->stride, *y = c->code + (size_t)b * c->stride;
    for (int l = 0; l < c->depth; l++)
        if (x[l] != y[l]) return x[l] < y[l] ? -1 : 1;
    if (c->key && c->key[a] != c->key[b]) return c->key[a] < c->key[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int same_prefix(const int32_t *code, int stride, int a, int b, int len)
{
    return !memcmp(code + (size_t)a * stride, code + (size_t)b * stride, (size_t)len * sizeof *code);
}

int sidr_sid_collisions(const int32_t *code, int n, int depth, int stride, int *items_involved, int *max_group)
{
    int *idx = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    for (int i = 0; i < n; i++) idx[i] = i;
    sid_ctx ctx = { code, stride, depth, NULL };
    sort_idx(idx, n, cmp_sid, &ctx);
    int groups = 0, items = 0, maxg = n > 0 ? 1 : 0;
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && same_prefix(code, stride, idx[i], idx[j], depth)) j++;
        if (j - i > 1) { groups++; items += j - i; }
        if (j - i > maxg) maxg = j - i;
        i = j;
    }
    free(idx);
    if (items_involved) *items_involved = items;
    if (max_group) *max_group = maxg;
    return groups;
}

/* ---- residual quantisation ------------------------------------------------- */

void sidr_rq_defaults(sidr_rq_opts *o)
{
    memset(o, 0, sizeof *o);
    o->levels = 3;
    o->codes = 256;
    o->iters = 50;
    o->seed = 42;
    o->balance = SIDR_BALANCE_NONE;
    o->sinkhorn_eps = 0.003f;
    o->sinkhorn_iters = 100;
    o->resolve = 1;
    o->dedup_level = 0;
}

void sidr_rq_free(sidr_rq_result *r)
{
    if (!r) return;
    free(r->codebooks);
    free(r->code);
    free(r->level_mse);
    memset(r, 0, sizeof *r);
}

typedef struct {
    sidr_progress_fn fn;
    void *user;
    char stage[32];
} level_progress;

static int level_progress_fn(void *user, const char *stage, long done, long total)
{
    level_progress *lp = user;
    (void)stage;
    return report(lp->fn, lp->user, lp->stage, done, total);
}

typedef struct {
    float d;
    int item, code;
} pair_cost;

static int cmp_pair(const void *a, const void *b)
{
    const pair_cost *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    return (x->code > y->code) - (x->code < y->code);
}

/* Within every prefix of the first L-1 levels, keeps the closest item of each
 * shared last code and moves the others to the nearest free code. dist is
 * n x k (last-level distances).  Returns the number of moved items. */
static int resolve_collisions(int32_t *code, int n, int depth, int L, int k, const float *dist)
{
    int *idx = xmalloc((size_t)n * sizeof *idx);
    float *key = xmalloc((size_t)n * sizeof *key);
    for (int i = 0; i < n; i++) {
        idx[i] = i;
        key[i] = dist[(size_t)i * k + code[(size_t)i * depth + L - 1]];
    }
    sid_ctx ctx = { code, depth, L, key };
    sort_idx(idx, n, cmp_sid, &ctx);
    unsigned char *used = xmalloc((size_t)k);
    int *movers = xmalloc((size_t)n * sizeof *movers), *free_codes = xmalloc((size_t)k * sizeof *free_codes);
    int moved = 0;
    for (int g = 0; g < n;) {
        int e = g + 1;
        while (e < n && same_prefix(code, depth, idx[g], idx[e], L - 1)) e++;
        memset(used, 0, (size_t)k);
        int nm = 0;
        for (int i = g; i < e; i++) {
            int it = idx[i], c = code[(size_t)it * depth + L - 1];
            if (used[c]) movers[nm++] = it; /* sorted by distance: the first on c stays */
            else used[c] = 1;
        }
        if (nm > 0) {
            int nf = 0;
            for (int c = 0; c < k; c++) if (!used[c]) free_codes[nf++] = c;
            if (nf > 0) {
                pair_cost *pc = xmalloc((size_t)nm * nf * sizeof *pc);
                size_t np = 0;
                for (int a = 0; a < nm; a++)
                    for (int b = 0; b < nf; b++)
                        pc[np++] = (pair_cost){ dist[(size_t)movers[a] * k + free_codes[b]], movers[a], free_codes[b] };
                if (np) qsort(pc, np, sizeof *pc, cmp_pair);
                /* movers are marked by a negative last code until placed */
                for (int a = 0; a < nm; a++) code[(size_t)movers[a] * depth + L - 1] = -1 - code[(size_t)movers[a] * depth + L - 1];
                int placed = 0;
                for (size_t p = 0; p < np && placed < nm && placed < nf; p++) {
                    int32_t *cc = &code[(size_t)pc[p].item * depth + L - 1];
                    if (*cc >= 0 || used[pc[p].code]) continue;
                    *cc = pc[p].code;
                    used[pc[p].code] = 1;
                    placed++;
                }
                for (int a = 0; a < nm; a++) {
                    int32_t *cc = &code[(size_t)movers[a] * depth + L - 1];
                    if (*cc < 0) *cc = -1 - *cc; /* no free code left: the collision stays */
                }
                moved += placed;
                free(pc);
            }
        }
        g = e;
    }
    free(idx);
    free(key);
    free(used);
    free(movers);
    free(free_codes);
    return moved;
}

/* MiniOneRec's collision pass: every group of items sharing a full SID gets
 * its last code again from a Sinkhorn assignment over the group alone;
 * repeated while collisions remain, at most 20 rounds. */
static sidr_status balance_groups(int32_t *code, int n, int depth, int L, int k, const float *dist,
                                  const sidr_rq_opts *o)
{
    int *idx = xmalloc((size_t)n * sizeof *idx);
    float *sub = NULL;
    int32_t *as = NULL;
    size_t sub_cap = 0;
    sidr_status s = SIDR_OK;
    for (int round = 0; round < 20 && s == SIDR_OK; round++) {
        for (int i = 0; i < n; i++) idx[i] = i;
        sid_ctx ctx = { code, depth, L, NULL };
        sort_idx(idx, n, cmp_sid, &ctx);
        int any = 0;
        for (int g = 0; g < n && s == SIDR_OK;) {
            int e = g + 1;
            while (e < n && same_prefix(code, depth, idx[g], idx[e], L)) e++;
            int m = e - g;
            if (m > 1) {
                any = 1;
                if ((size_t)m * k > sub_cap) {
                    sub_cap = (size_t)m * k;
                    sub = xrealloc(sub, sub_cap * sizeof *sub);
                    as = xrealloc(as, (size_t)m * k * sizeof *as);
                }
                for (int i = 0; i < m; i++) memcpy(sub + (size_t)i * k, dist + (size_t)idx[g + i] * k, (size_t)k * sizeof *sub);
                s = sidr_sinkhorn_assign(sub, m, k, o->sinkhorn_eps, o->sinkhorn_iters, as);
                for (int i = 0; i < m && s == SIDR_OK; i++) code[(size_t)idx[g + i] * depth + L - 1] = as[i];
            }
            g = e;
        }
        if (!any) break;
    }
    free(idx);
    free(sub);
    free(as);
    return s;
}

void sidr_rq_result_alloc(sidr_rq_result *r, int n, int dim, int levels, int codes, int dedup_level)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->dim = dim;
    r->levels = levels;
    r->codes = codes;
    r->depth = levels + (dedup_level ? 1 : 0);
    r->codebooks = xcalloc((size_t)levels * codes * dim, sizeof *r->codebooks);
    r->code = xcalloc((size_t)n * r->depth, sizeof *r->code);
    r->level_mse = xcalloc((size_t)levels + 1, sizeof *r->level_mse);
}

sidr_status sidr_rq_finish(sidr_rq_result *r, const float *last_res, const sidr_rq_opts *o)
{
    const int n = r->n, d = r->dim, L = r->levels, K = r->codes, depth = r->depth;
    sidr_status s = SIDR_OK;
    /* collisions with plain assignment; then balance and resolve the last level */
    r->collisions_plain = sidr_sid_collisions(r->code, n, L, depth, &r->items_colliding_plain, NULL);
    r->collisions_balanced = r->collisions_plain;
    r->collisions_final = r->collisions_plain;
    r->items_colliding_final = r->items_colliding_plain;
    if (o->balance != SIDR_BALANCE_NONE || o->resolve) {
        const float *cb = r->codebooks + (size_t)(L - 1) * K * d;
        float *dist = xmalloc((size_t)n * K * sizeof *dist);
        sidr_sq_distances(last_res, n, cb, K, d, dist);
        if (o->balance == SIDR_BALANCE_SINKHORN || o->balance == SIDR_BALANCE_GROUPS) {
            char stage[32];
            snprintf(stage, sizeof stage, "balancing level %d", L - 1);
            if (report(o->progress, o->user, stage, 0, 1)) {
                free(dist);
                return sidr_fail(SIDR_ERR_CANCELLED, "residual quantisation: cancelled");
            }
            if (o->balance == SIDR_BALANCE_SINKHORN) {
                int32_t *assign = xmalloc((size_t)n * sizeof *assign);
                s = sidr_sinkhorn_assign(dist, n, K, o->sinkhorn_eps, o->sinkhorn_iters, assign);
                for (int i = 0; i < n && !s; i++) r->code[(size_t)i * depth + L - 1] = assign[i];
                free(assign);
            } else {
                s = balance_groups(r->code, n, depth, L, K, dist, o);
            }
            if (s) {
                free(dist);
                return s;
            }
            r->collisions_balanced = sidr_sid_collisions(r->code, n, L, depth, NULL, NULL);
        }
        if (o->resolve) r->moved = resolve_collisions(r->code, n, depth, L, K, dist);
        free(dist);
        r->collisions_final = sidr_sid_collisions(r->code, n, L, depth, &r->items_colliding_final, NULL);
        /* the final residual with the codes actually assigned */
        double ms = 0;
        for (int i = 0; i < n; i++) {
            const float *c = cb + (size_t)r->code[(size_t)i * depth + L - 1] * d;
            ms += sq_dist(last_res + (size_t)i * d, c, d);
        }
        r->level_mse[L] = ms / n;
    }

    if (depth > L) { /* the dedup level numbers the items of each shared SID */
        int *idx = xmalloc((size_t)n * sizeof *idx);
        for (int i = 0; i < n; i++) idx[i] = i;
        sid_ctx ctx = { r->code, depth, L, NULL };
        sort_idx(idx, n, cmp_sid, &ctx);
        int maxg = 1;
        for (int g = 0; g < n;) {
            int e = g + 1;
            while (e < n && same_prefix(r->code, depth, idx[g], idx[e], L)) e++;
            for (int i = g; i < e; i++) r->code[(size_t)idx[i] * depth + L] = i - g;
            if (e - g > maxg) maxg = e - g;
            g = e;
        }
        r->dedup_codes = maxg;
        free(idx);
    }
    return SIDR_OK;
}

double sidr_mean_baseline_mse(const float *x, int n, int d)
{
    double *mean = xcalloc((size_t)d, sizeof *mean), e = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double t = x[(size_t)i * d + j] - mean[j];
            e += t * t;
        }
    free(mean);
    return n > 0 ? e / n : 0;
}

sidr_status sidr_rq_build(const float *x, int n, int d, const sidr_rq_opts *o, sidr_rq_result *r)
{
    sidr_rq_opts def;
    if (!o) { sidr_rq_defaults(&def); o = &def; }
    memset(r, 0, sizeof *r);
    sidr_status s = check_matrix(x, n, d, "residual quantisation input");
    if (s) return s;
    if (o->levels < 1 || o->levels > SIDR_SID_MAX_LEVELS - 1)
        return sidr_fail(SIDR_ERR_ARG, "levels = %d (expected 1..%d)", o->levels, SIDR_SID_MAX_LEVELS - 1);
    if (o->codes < 2 || o->codes > 65536)
        return sidr_fail(SIDR_ERR_ARG, "codes = %d (expected 2..65536)", o->codes);
    if (o->codes > n)
        return sidr_fail(SIDR_ERR_ARG, "codes = %d exceeds the %d items (k-means needs at least K items)", o->codes, n);
    const int L = o->levels, K = o->codes;
    sidr_rq_result_alloc(r, n, d, L, K, o->dedup_level);
    const int depth = r->depth;

    float *res = xmalloc((size_t)n * d * sizeof *res);
    memcpy(res, x, (size_t)n * d * sizeof *res);
    int32_t *assign = xmalloc((size_t)n * sizeof *assign);
    float *last_res = NULL;
    level_progress lp = { o->progress, o->user, "" };
    double ms = 0;
    for (size_t i = 0; i < (size_t)n * d; i++) ms += (double)res[i] * res[i];
    r->level_mse[0] = ms / n;

    for (int l = 0; l < L; l++) {
        sidr_kmeans_opts ko;
        sidr_kmeans_defaults(&ko);
        ko.iters = o->iters;
        ko.seed = o->seed * 1000003ull + (uint64_t)l * 7919ull + 1;
        ko.progress = level_progress_fn;
        ko.user = &lp;
        snprintf(lp.stage, sizeof lp.stage, "level %d k-means", l);
        float *cb = r->codebooks + (size_t)l * K * d;
        s = sidr_kmeans(res, n, d, K, &ko, cb, assign, NULL);
        if (s) goto fail;
        for (int i = 0; i < n; i++) r->code[(size_t)i * depth + l] = assign[i];
        if (l == L - 1) {
            last_res = xmalloc((size_t)n * d * sizeof *last_res);
            memcpy(last_res, res, (size_t)n * d * sizeof *last_res);
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) res[(size_t)i * d + j] -= cb[(size_t)assign[i] * d + j];
        ms = 0;
        for (size_t i = 0; i < (size_t)n * d; i++) ms += (double)res[i] * res[i];
        r->level_mse[l + 1] = ms / n;
    }

    s = sidr_rq_finish(r, last_res, o);
    if (s) goto fail;
    report(o->progress, o->user, "quantised", 1, 1);
    free(res);
    free(assign);
    free(last_res);
    return SIDR_OK;
fail:
    free(res);
    free(assign);
    free(last_res);
    sidr_rq_free(r);
    return s;
}

/* ---- statistics ------------------------------------------------------------ */

sidr_status sidr_sid_stats_compute(const int32_t *code, int n, int depth, const int *codes_per_level,
                                   sidr_sid_stats *st)
{
    memset(st, 0, sizeof *st);
    if (depth < 1 || depth > SIDR_SID_MAX_LEVELS)
        return sidr_fail(SIDR_ERR_ARG, "SID statistics: %d levels (expected 1..%d)", depth, SIDR_SID_MAX_LEVELS);
    st->items = n;
    st->depth = depth;
    for (size_t i = 0; i < (size_t)n * depth; i++)
        if (code[i] < 0)
            return sidr_fail(SIDR_ERR_ARG, "SID statistics: item %zu has a negative code at level %zu",
                             i / depth, i % depth);
    for (int l = 0; l < depth; l++) {
        int mx = 0;
        for (int i = 0; i < n; i++) if (code[(size_t)i * depth + l] > mx) mx = code[(size_t)i * depth + l];
        int K = codes_per_level && codes_per_level[l] > 0 ? codes_per_level[l] : 0;
        if (K <= mx) {
            if (K > 0) return sidr_fail(SIDR_ERR_RANGE, "SID statistics: level %d uses code %d of only %d", l, mx, K);
            K = 1;
            while (K <= mx) K *= 2;
        }
        st->codes[l] = K;
        int *hist = xcalloc((size_t)K, sizeof *hist);
        for (int i = 0; i < n; i++) hist[code[(size_t)i * depth + l]]++;
        double h = 0;
        for (int c = 0; c < K; c++) {
            if (!hist[c]) continue;
            st->used[l]++;
            double p = (double)hist[c] / n;
            h -= p * log2(p);
        }
        st->entropy[l] = h;
        st->entropy_max[l] = log2((double)K);
        free(hist);
    }
    int *idx = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    for (int i = 0; i < n; i++) idx[i] = i;
    sid_ctx ctx = { code, depth, depth, NULL };
    sort_idx(idx, n, cmp_sid, &ctx);
    for (int p = 1; p <= depth; p++) {
        int groups = 0, mx = 0;
        for (int g = 0; g < n;) {
            int e = g + 1;
            while (e < n && same_prefix(code, depth, idx[g], idx[e], p)) e++;
            groups++;
            if (e - g > mx) mx = e - g;
            if (p == depth && e - g > 1) { st->collisions++; st->items_colliding += e - g; }
            g = e;
        }
        if (p < depth) {
            st->prefixes[p - 1] = groups;
            st->prefix_mean[p - 1] = groups ? (double)n / groups : 0;
            st->prefix_max[p - 1] = mx;
        } else {
            st->distinct = groups;
            st->max_per_sid = mx;
        }
    }
    free(idx);
    return SIDR_OK;
}

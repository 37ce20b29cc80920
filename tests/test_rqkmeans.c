/* Residual k-means, balanced assignment, collision handling, SID statistics,
 * the randomized SVD and TF-IDF item embeddings, on synthetic data. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "item_embed.h"
#include "rqkmeans.h"
#include "tap.h"
#include "util.h"

extern void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda, float *s, float *u,
                    const int *ldu, float *vt, const int *ldvt, float *work, const int *lwork, int *iwork,
                    int *info, size_t jobz_len);

static uint64_t rng_state = 12345;
static double urand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double nrand(void)
{
    double u1 = urand() + 1e-12, u2 = urand();
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Adjusted Rand index of two labelings. */
static double ari(const int *a, const int32_t *b, int n, int ka, int kb)
{
    double *t = calloc((size_t)ka * kb, sizeof *t), *ra = calloc(ka, sizeof *ra), *rb = calloc(kb, sizeof *rb);
    for (int i = 0; i < n; i++) t[a[i] * kb + b[i]]++, ra[a[i]]++, rb[b[i]]++;
    double sij = 0, sa = 0, sb = 0;
    for (int i = 0; i < ka * kb; i++) sij += t[i] * (t[i] - 1) / 2;
    for (int i = 0; i < ka; i++) sa += ra[i] * (ra[i] - 1) / 2;
    for (int i = 0; i < kb; i++) sb += rb[i] * (rb[i] - 1) / 2;
    double tot = (double)n * (n - 1) / 2, exp = sa * sb / tot, mx = (sa + sb) / 2;
    free(t);
    free(ra);
    free(rb);
    return (sij - exp) / (mx - exp);
}

static void test_kmeans_blobs(void)
{
    const int K = 6, per = 60, d = 8, n = K * per;
    float *c = malloc(sizeof(float) * K * d), *x = malloc(sizeof(float) * n * d), *cent = malloc(sizeof(float) * K * d);
    int *truth = malloc(sizeof(int) * n);
    int32_t *as = malloc(sizeof(int32_t) * n);
    for (int i = 0; i < K * d; i++) c[i] = (float)(8 * nrand());
    /* interleave the blobs so that order carries no information */
    for (int i = 0; i < n; i++) {
        truth[i] = i % K;
        for (int j = 0; j < d; j++) x[i * d + j] = c[truth[i] * d + j] + (float)nrand();
    }
    sidr_kmeans_opts o;
    sidr_kmeans_defaults(&o);
    double sse;
    sidr_status s = sidr_kmeans(x, n, d, K, &o, cent, as, &sse);
    tap_ok(s == SIDR_OK, "k-means runs on 6 Gaussian blobs");
    double a = ari(truth, as, n, K, K);
    tap_ok(a > 0.99, "k-means recovers the blobs (adjusted Rand index %.4f)", a);
    tap_ok(sse / n < 1.3 * d, "within-cluster variance %.2f close to the noise (%d)", sse / n, d);

    /* k = n distinct points: every cluster gets exactly one point, SSE 0 */
    const int m = 12;
    float *y = malloc(sizeof(float) * m * 3), *cy = malloc(sizeof(float) * m * 3);
    int32_t *ay = malloc(sizeof(int32_t) * m);
    for (int i = 0; i < m * 3; i++) y[i] = (float)nrand();
    s = sidr_kmeans(y, m, 3, m, &o, cy, ay, &sse);
    int used[12] = { 0 }, distinct = 0;
    for (int i = 0; i < m; i++) used[ay[i]]++;
    for (int i = 0; i < m; i++) distinct += used[i] == 1;
    tap_ok(s == SIDR_OK && distinct == m && sse < 1e-8, "k = n: one point per cluster, SSE %.2g", sse);

    /* duplicates: more clusters than distinct points still terminates, codes in range */
    for (int i = 0; i < m * 3; i++) y[i] = (float)(i % 2);
    s = sidr_kmeans(y, m, 3, 4, &o, cy, ay, &sse);
    int ok = s == SIDR_OK;
    for (int i = 0; i < m; i++) ok &= ay[i] >= 0 && ay[i] < 4;
    tap_ok(ok, "k-means with only 2 distinct points and k = 4 terminates with valid codes");

    /* determinism */
    int32_t *as2 = malloc(sizeof(int32_t) * n);
    float *cent2 = malloc(sizeof(float) * K * d);
    sidr_kmeans(x, n, d, K, &o, cent2, as2, NULL);
    tap_ok(!memcmp(as, as2, sizeof(int32_t) * n) && !memcmp(cent, cent2, sizeof(float) * K * d),
           "k-means is deterministic for a seed");
    free(c); free(x); free(cent); free(truth); free(as); free(y); free(cy); free(ay); free(as2); free(cent2);
}

static float *random_matrix(int n, int d)
{
    float *x = malloc(sizeof(float) * n * d);
    for (int i = 0; i < n * d; i++) x[i] = (float)nrand();
    return x;
}

static void test_rq_levels(void)
{
    const int n = 1500, d = 16;
    float *x = random_matrix(n, d);
    sidr_rq_opts o;
    sidr_rq_defaults(&o);
    o.levels = 4;
    o.codes = 16;
    o.resolve = 0;
    sidr_rq_result r;
    sidr_status s = sidr_rq_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_OK && r.depth == 4, "RQ with 4 levels x 16 codes");
    int falls = 1;
    for (int l = 0; l < 4; l++) falls &= r.level_mse[l + 1] < r.level_mse[l] * 0.98;
    tap_ok(falls, "reconstruction error falls level by level: %.3f %.3f %.3f %.3f %.3f", r.level_mse[0],
           r.level_mse[1], r.level_mse[2], r.level_mse[3], r.level_mse[4]);
    /* the stored codes and codebooks reproduce the stated final error */
    double e = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double v = x[i * d + j];
            for (int l = 0; l < 4; l++) v -= r.codebooks[((size_t)l * 16 + r.code[i * 4 + l]) * d + j];
            e += v * v;
        }
    tap_ok(fabs(e / n - r.level_mse[4]) < 1e-3 * r.level_mse[4], "codes x codebooks reconstruct with the reported error");

    sidr_rq_result r2, r3;
    sidr_rq_build(x, n, d, &o, &r2);
    tap_ok(!memcmp(r.code, r2.code, sizeof(int32_t) * n * 4) &&
           !memcmp(r.codebooks, r2.codebooks, sizeof(float) * 4 * 16 * d), "same seed => identical codes and codebooks");
    o.seed = 7;
    sidr_rq_build(x, n, d, &o, &r3);
    tap_ok(memcmp(r.code, r3.code, sizeof(int32_t) * n * 4) != 0, "different seed => different codes");
    sidr_rq_free(&r);
    sidr_rq_free(&r2);
    sidr_rq_free(&r3);
    free(x);
}

/* 400 items as 80 groups of 5 near-duplicates: plain assignment gives most
 * groups one SID. */
static float *colliding_data(int *n_out, int d, float noise)
{
    const int groups = 80, dup = 5, n = groups * dup;
    float *x = malloc(sizeof(float) * n * d);
    for (int g = 0; g < groups; g++) {
        float base[64];
        for (int j = 0; j < d; j++) base[j] = (float)nrand();
        for (int k = 0; k < dup; k++)
            for (int j = 0; j < d; j++) x[(g * dup + k) * d + j] = base[j] + noise * (float)nrand();
    }
    *n_out = n;
    return x;
}

/* Collisions left in prefixes (all levels but the last) of at most K items. */
static int collisions_in_small_prefixes(const int32_t *code, int n, int L, int K)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int size = 0, shared = 0;
        for (int j = 0; j < n; j++) {
            if (memcmp(code + (size_t)i * L, code + (size_t)j * L, sizeof(int32_t) * (L - 1))) continue;
            size++;
            shared += j != i && code[(size_t)j * L + L - 1] == code[(size_t)i * L + L - 1];
        }
        bad += size <= K && shared;
    }
    return bad;
}

static void test_collisions(void)
{
    int n;
    const int d = 12;
    float *x = colliding_data(&n, d, 1e-4f);
    sidr_rq_opts o;
    sidr_rq_defaults(&o);
    o.levels = 2;
    o.codes = 32;
    o.resolve = 0;
    sidr_rq_result plain, res;
    sidr_rq_build(x, n, d, &o, &plain);
    int items;
    int c_plain = sidr_sid_collisions(plain.code, n, 2, 2, &items, NULL);
    tap_ok(c_plain >= 60 && c_plain == plain.collisions_plain, "plain assignment collides: %d SIDs shared, %d items",
           c_plain, items);
    o.resolve = 1;
    sidr_rq_build(x, n, d, &o, &res);
    tap_ok(res.collisions_final < c_plain / 4 && res.collisions_final == sidr_sid_collisions(res.code, n, 2, 2, NULL, NULL),
           "re-assignment within prefixes: %d -> %d collisions (%d moved)", c_plain, res.collisions_final, res.moved);
    tap_ok(collisions_in_small_prefixes(res.code, n, 2, 32) == 0,
           "no collision is left in a prefix of at most K items (the rest: prefixes holding more than K)");
    /* the re-assignment only touches the last level and keeps one item per shared SID */
    int same_prefix = 1;
    for (int i = 0; i < n; i++) same_prefix &= res.code[i * 2] == plain.code[i * 2];
    tap_ok(same_prefix && res.moved <= res.items_colliding_plain - res.collisions_plain,
           "prefixes unchanged; %d moved <= %d items minus one per shared SID", res.moved,
           res.items_colliding_plain - res.collisions_plain);
    sidr_rq_free(&plain);
    sidr_rq_free(&res);
    free(x);

    /* looser groups: per-group Sinkhorn separates part of them; global Sinkhorn evens out code usage */
    x = colliding_data(&n, d, 0.05f);
    o.resolve = 0;
    sidr_rq_result p2, sk, grp;
    sidr_rq_build(x, n, d, &o, &p2);
    o.balance = SIDR_BALANCE_SINKHORN;
    sidr_rq_build(x, n, d, &o, &sk);
    sidr_sid_stats st_p, st_s;
    sidr_sid_stats_compute(p2.code, n, 2, NULL, &st_p);
    sidr_sid_stats_compute(sk.code, n, 2, NULL, &st_s);
    tap_ok(st_s.entropy[1] > st_p.entropy[1] + 0.05 && st_s.entropy[1] > 4.9,
           "global Sinkhorn evens out last-level usage: entropy %.3f -> %.3f bits (max 5); collisions %d -> %d",
           st_p.entropy[1], st_s.entropy[1], p2.collisions_plain, sk.collisions_balanced);
    o.balance = SIDR_BALANCE_GROUPS;
    sidr_rq_build(x, n, d, &o, &grp);
    tap_ok(grp.collisions_balanced < p2.collisions_plain, "per-group Sinkhorn (MiniOneRec) alone: %d -> %d collisions",
           p2.collisions_plain, grp.collisions_balanced);
    o.resolve = 1;
    sidr_rq_free(&grp);
    sidr_rq_build(x, n, d, &o, &grp);
    tap_ok(grp.collisions_final <= grp.collisions_balanced && collisions_in_small_prefixes(grp.code, n, 2, 32) == 0,
           "per-group Sinkhorn then re-assignment: %d collisions", grp.collisions_final);
    sidr_rq_free(&p2);
    sidr_rq_free(&sk);
    sidr_rq_free(&grp);

    /* a prefix with more than K items keeps some collisions; the dedup level separates them */
    o.balance = SIDR_BALANCE_NONE;
    o.resolve = 1;
    o.dedup_level = 1;
    o.levels = 1;
    o.codes = 16;
    sidr_rq_result dd;
    sidr_rq_build(x, n, d, &o, &dd);
    int c_dd = sidr_sid_collisions(dd.code, n, 2, 2, NULL, NULL), mg;
    int c_l = sidr_sid_collisions(dd.code, n, 1, 2, NULL, &mg);
    tap_ok(dd.depth == 2 && c_l > 0 && c_dd == 0 && dd.dedup_codes == mg,
           "1 level x 16 codes for 400 items: %d shared codes; the dedup level numbers them (%d codes), 0 left", c_l,
           dd.dedup_codes);
    sidr_rq_free(&dd);
    free(x);
}

static void test_sinkhorn(void)
{
    const int n = 400, k = 8;
    float *dist = malloc(sizeof(float) * n * k);
    /* every item is nearest to code 0, with a random preference among the rest */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) dist[i * k + j] = j == 0 ? 0.1f : 1.0f + (float)urand();
    int32_t *as = malloc(sizeof(int32_t) * n);
    sidr_status s = sidr_sinkhorn_assign(dist, n, k, 0.003f, 100, as);
    int cnt[8] = { 0 }, mx = 0;
    for (int i = 0; i < n; i++) cnt[as[i]]++;
    for (int j = 0; j < k; j++) mx = cnt[j] > mx ? cnt[j] : mx;
    tap_ok(s == SIDR_OK && mx <= 2 * n / k, "Sinkhorn spreads a skewed assignment: at most %d of %d on one code (argmin: %d)",
           mx, n, n);
    tap_ok(sidr_sinkhorn_assign(dist, n, k, 0, 10, as) == SIDR_ERR_ARG, "Sinkhorn refuses epsilon 0");
    free(dist);
    free(as);
}

static void test_stats(void)
{
    const int32_t code[] = { 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0 };
    sidr_sid_stats st;
    int K[3] = { 4, 0, 0 };
    sidr_status s = sidr_sid_stats_compute(code, 4, 3, K, &st);
    tap_ok(s == SIDR_OK && st.distinct == 3 && st.collisions == 1 && st.items_colliding == 2 && st.max_per_sid == 2,
           "stats: 3 distinct SIDs, 1 shared by 2 items");
    double h = -(0.75 * log2(0.75) + 0.25 * log2(0.25));
    tap_ok(st.used[0] == 2 && fabs(st.entropy[0] - h) < 1e-9 && st.codes[0] == 4 && st.entropy_max[0] == 2 &&
           st.codes[2] == 4 && st.used[2] == 2,
           "stats: level a uses 2 of 4 codes, entropy %.4f bits; level c's K inferred as %d", st.entropy[0], st.codes[2]);
    tap_ok(st.prefixes[0] == 2 && st.prefix_max[0] == 3 && fabs(st.prefix_mean[0] - 2) < 1e-12 && st.prefixes[1] == 3 &&
           st.prefix_max[1] == 2, "stats: items per prefix a (2 prefixes, max 3) and ab (3, max 2)");
    K[0] = 1;
    tap_ok(sidr_sid_stats_compute(code, 4, 3, K, &st) == SIDR_ERR_RANGE, "stats: a code beyond the given K is an error");
    const int32_t neg[] = { 0, -1 };
    tap_ok(sidr_sid_stats_compute(neg, 1, 2, NULL, &st) == SIDR_ERR_ARG, "stats: a negative code is an error");
}

static void test_bad_input(void)
{
    float *x = random_matrix(10, 4);
    sidr_rq_opts o;
    sidr_rq_defaults(&o);
    sidr_rq_result r;
    o.codes = 11;
    sidr_status s = sidr_rq_build(x, 10, 4, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "codes = 11") && strstr(sidr_last_error(), "10 items"),
           "K > N: %s", sidr_last_error());
    o.codes = 4;
    o.levels = 0;
    s = sidr_rq_build(x, 10, 4, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "levels = 0"), "levels 0: %s", sidr_last_error());
    o.levels = 2;
    x[5] = NAN;
    s = sidr_rq_build(x, 10, 4, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "non-finite"), "NaN input: %s", sidr_last_error());
    x[5] = 0;
    s = sidr_rq_build(x, 0, 4, &o, &r);
    tap_ok(s == SIDR_ERR_ARG, "no rows: %s", sidr_last_error());
    float c[4];
    int32_t a[10];
    s = sidr_kmeans(x, 10, 4, 0, NULL, c, a, NULL);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "0 clusters"), "k-means k = 0: %s", sidr_last_error());
    free(x);
}

/* ---- randomized SVD and TF-IDF ---------------------------------------------- */

static void dense_singular_values(const float *a_rowmajor, int m, int n, float *s)
{
    float *cm = malloc(sizeof(float) * m * n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) cm[j * m + i] = a_rowmajor[i * n + j];
    int info, lwork = -1, mn = m < n ? m : n;
    float wq, du;
    int *iw = malloc(sizeof(int) * 8 * mn);
    sgesdd_("N", &m, &n, cm, &m, s, &du, &m, &du, &n, &wq, &lwork, iw, &info, 1);
    lwork = (int)wq;
    float *w = malloc(sizeof(float) * lwork);
    sgesdd_("N", &m, &n, cm, &m, s, &du, &m, &du, &n, w, &lwork, iw, &info, 1);
    free(w);
    free(iw);
    free(cm);
}

static void test_rsvd(void)
{
    const int m = 150, n = 220, k = 10;
    /* sparse, with a decaying low-rank part: rank-6 signal plus sparse noise */
    float *dense = calloc((size_t)m * n, sizeof *dense);
    float *u = random_matrix(m, 6), *v = random_matrix(6, n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            if (urand() > 0.15) continue;
            float x = 0;
            for (int r = 0; r < 6; r++) x += u[i * 6 + r] * v[r * n + j] / (float)(1 + r);
            dense[i * n + j] = x + 0.3f * (float)nrand();
        }
    sidr_csr X = { m, n, 0, calloc(m + 1, sizeof(int64_t)), malloc(sizeof(int32_t) * m * n), malloc(sizeof(float) * m * n) };
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++)
            if (dense[i * n + j] != 0) { X.col[X.nnz] = j; X.val[X.nnz] = dense[i * n + j]; X.nnz++; }
        X.ptr[i + 1] = X.nnz;
    }
    float S[10], ref[150], *U = malloc(sizeof(float) * m * k);
    sidr_status s = sidr_rsvd(&X, k, -1, 4, 42, U, S, NULL, NULL, NULL); /* the defaults of item embeddings */
    dense_singular_values(dense, m, n, ref);
    double worst = 0;
    for (int i = 0; i < k; i++) {
        double e = fabs(S[i] - ref[i]) / ref[i];
        if (e > worst) worst = e;
    }
    tap_ok(s == SIDR_OK && worst < 1e-3, "randomized SVD: top %d singular values within %.2g relative of LAPACK's "
           "(%.4f vs %.4f, ..., %.4f vs %.4f)", k, worst, S[0], ref[0], S[k - 1], ref[k - 1]);
    double orth = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            double dot = 0;
            for (int i = 0; i < m; i++) dot += (double)U[i * k + a] * U[i * k + b];
            orth = fmax(orth, fabs(dot - (a == b)));
        }
    tap_ok(orth < 1e-4, "randomized SVD: left singular vectors orthonormal (max error %.2g)", orth);
    float *U2 = malloc(sizeof(float) * m * k), S2[10];
    sidr_rsvd(&X, k, -1, 4, 42, U2, S2, NULL, NULL, NULL);
    tap_ok(!memcmp(U, U2, sizeof(float) * m * k) && !memcmp(S, S2, sizeof S), "randomized SVD is deterministic for a seed");
    tap_ok(sidr_rsvd(&X, 151, 10, 2, 1, NULL, S2, NULL, NULL, NULL) == SIDR_ERR_ARG, "randomized SVD refuses rank > min(rows, cols): %s",
           sidr_last_error());
    free(U);
    free(U2);
    sidr_csr_free(&X);
    free(dense);
    free(u);
    free(v);
}

typedef struct {
    char toks[8][64];
    int n;
} tok_list;

static void collect(void *user, const char *t, size_t len)
{
    tok_list *l = user;
    if (l->n < 8 && len < 64) {
        memcpy(l->toks[l->n], t, len);
        l->toks[l->n][len] = 0;
    }
    l->n++;
}

static void test_tokens(void)
{
    tok_list l = { .n = 0 };
    int c = sidr_text_tokens("The Hello, WORLD! x 3D-printer 7 Über\xC3\xA9t\xC3\xA9 caf\xC3\xA9", collect, &l);
    tap_ok(c == 7 && !strcmp(l.toks[0], "hello") && !strcmp(l.toks[1], "world") && !strcmp(l.toks[2], "3d") &&
           !strcmp(l.toks[3], "printer") && !strcmp(l.toks[4], "7") && !strcmp(l.toks[5], "\xC3\x9c" "ber\xC3\xA9t\xC3\xA9") && !strcmp(l.toks[6], "caf\xC3\xA9"),
           "tokens: lower-cased ASCII, UTF-8 kept whole, single letters and stop words dropped, single digits kept (%d tokens)", c);
}

static const char *themes[4][6] = {
    { "cotton", "shirt", "sleeve", "collar", "fabric", "wear" },
    { "drill", "battery", "cordless", "torque", "chuck", "volt" },
    { "filament", "printer", "nozzle", "spool", "pla", "extruder" },
    { "glove", "nitrile", "disposable", "latex", "powder", "exam" },
};

static void test_embeddings(void)
{
    const int n = 80;
    sidr_item_text *it = calloc(n, sizeof *it);
    char (*titles)[128] = calloc(n, 128), (*desc)[128] = calloc(n, 128);
    for (int i = 0; i < n; i++) {
        int t = i % 4;
        snprintf(titles[i], 128, "%s %s model%d", themes[t][i % 6], themes[t][(i / 4) % 6], i);
        snprintf(desc[i], 128, "a %s with %s and %s", themes[t][(i + 1) % 6], themes[t][(i + 3) % 6], themes[(t + 1) % 4][i % 6]);
        it[i].title = titles[i];
        it[i].description = desc[i];
        it[i].brand = i % 2 ? "Acme" : "";
    }
    it[5].title = "";
    it[5].description = NULL;
    it[5].brand = NULL;
    sidr_embed_opts o;
    sidr_embed_defaults(&o);
    o.dim = 8;
    sidr_csr X;
    sidr_status s = sidr_tfidf(it, n, &o, &X, NULL);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int64_t e = X.ptr[i]; e < X.ptr[i + 1]; e++) ss += (double)X.val[e] * X.val[e];
        if (i != 5) worst = fmax(worst, fabs(ss - 1));
    }
    tap_ok(s == SIDR_OK && worst < 1e-5 && X.ptr[6] == X.ptr[5], "TF-IDF rows are L2-normalised; an item without text is a zero row");
    sidr_csr_free(&X);

    sidr_embed_result r;
    s = sidr_item_embed(it, n, NULL, 0, &o, &r);
    tap_ok(s == SIDR_OK && r.dim == 8 && r.dim_text == 8 && r.empty_items == 1, "item embeddings: %d x %d, %d item without text",
           r.n, r.dim, r.empty_items);
    /* nearest neighbour (cosine) of each item shares its theme */
    int same = 0, total = 0;
    for (int i = 0; i < n; i++) {
        if (i == 5) continue;
        int best = -1;
        double bv = -2;
        for (int j = 0; j < n; j++) {
            if (j == i || j == 5) continue;
            double dot = 0;
            for (int k = 0; k < r.dim; k++) dot += (double)r.emb[i * r.dim + k] * r.emb[j * r.dim + k];
            if (dot > bv) { bv = dot; best = j; }
        }
        same += best % 4 == i % 4;
        total++;
    }
    tap_ok(same >= total * 95 / 100, "item embeddings: %d of %d nearest neighbours share the theme", same, total);
    sidr_embed_result r2;
    sidr_item_embed(it, n, NULL, 0, &o, &r2);
    tap_ok(!memcmp(r.emb, r2.emb, sizeof(float) * n * r.dim), "item embeddings are deterministic for a seed");
    sidr_embed_free(&r2);

    /* co-occurrence: sequences pairing item i with i+40 */
    int pairs[40][2];
    sidr_item_seq seqs[40];
    for (int i = 0; i < 40; i++) {
        pairs[i][0] = i;
        pairs[i][1] = i + 40;
        seqs[i] = (sidr_item_seq){ pairs[i], 2 };
    }
    o.cooc_weight = 0.5f;
    s = sidr_item_embed(it, n, seqs, 40, &o, &r2);
    tap_ok(s == SIDR_OK && r2.dim == 8 && r2.dim_text == 4 && r2.dim_cooc == 4 && r2.cooc_items == 80,
           "co-occurrence mixed in: %d text + %d co-occurrence dims, %d items co-occur", r2.dim_text, r2.dim_cooc,
           r2.cooc_items);
    double norm = 0;
    for (int k = 0; k < r2.dim; k++) norm += (double)r2.emb[k] * r2.emb[k];
    tap_ok(fabs(norm - 1) < 1e-4, "mixed embedding rows have unit norm (%.5f)", norm);
    sidr_embed_free(&r2);
    s = sidr_item_embed(it, n, NULL, 0, &o, &r2);
    tap_ok(s == SIDR_ERR_MISSING, "co-occurrence weight without sequences: %s", sidr_last_error());
    o.cooc_weight = 0;
    sidr_embed_free(&r);

    /* empty text everywhere */
    for (int i = 0; i < n; i++) it[i] = (sidr_item_text){ "", "", " - ", NULL };
    s = sidr_item_embed(it, n, NULL, 0, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "usable text"), "no text at all: %s", sidr_last_error());
    s = sidr_item_embed(it, 1, NULL, 0, &o, &r);
    tap_ok(s == SIDR_ERR_ARG, "one item: %s", sidr_last_error());
    free(it);
    free(titles);
    free(desc);
}

int main(void)
{
    test_kmeans_blobs();
    test_rq_levels();
    test_collisions();
    test_sinkhorn();
    test_stats();
    test_bad_input();
    test_rsvd();
    test_tokens();
    test_embeddings();
    return tap_done();
}

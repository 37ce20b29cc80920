#include "backward.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "threads.h"
#include "util.h"

/* Parallelism: sidr's one thread pool (threads.h).  OpenBLAS runs single-
 * threaded inside pool tasks; every matrix product is split across the pool
 * (psgemm), elementwise work runs as row ranges. */

/* What the backward needs of one layer, for the N = B*T rows of a batch. */
typedef struct {
    float *x_in, *x_mid;       /* [N][D] residual stream before attention / before the MLP */
    float *rstd1, *rstd2;      /* [N] their RMSNorm 1/rms */
    float *q_pre, *k_pre;      /* [N][qd], [N][kvd]: before the q/k norms (Qwen3 only) */
    float *q_rstd, *k_rstd;    /* [N][H], [N][KV] (Qwen3 only) */
    float *q, *k, *v;          /* after norm and RoPE */
    float *att;                /* [N][qd] attention output before o_proj */
    float *lse;                /* [B][H][T] log-normaliser of every softmax row */
    float *gate, *up;          /* [N][F] */
} layer_acts;

/* Query rows per attention block: scratch is [QB][T] per thread and the
 * causal upper triangle is skipped block by block. */
#define QB 64

struct sidr_train {
    sidr_params *p;
    sidr_params grad;
    int have_grad;
    sidr_config c;
    int max_T, cap, nt;
    size_t cache_bytes;
    float *rope_cos, *rope_sin;   /* [max_T][head_dim/2] */
    layer_acts *L;
    float *x_final, *rstdf, *xnf; /* [N][D], [N], [N][D] */
    /* scratch */
    float *xn, *hbuf, *dx, *dxn, *datt, *dq, *dk, *dv, *dh, *dgate;
    float *S, *dP;                /* [nt][QB][max_T] */
    double *colbuf;               /* [nt][colbuf_width] */
    int colbuf_width;
    /* the batch of the last forward */
    int B, T, N, valid;
    int *tokens;
    float *weights, *logp_buf;
    /* LM head rows: the positions whose next token is a target */
    int n_act, act_cap;
    int *act_row, *act_tgt;
    float *act_w, *act_lse, *act_g;
    int chunk;
    float *Xc, *dXc;              /* [chunk][D] */
    float *logits;
    size_t logits_cap;            /* floats */
    int cached;
};

/* ---- parallel helpers ----------------------------------------------------------- */

/* Below this much work (~flops) a loop runs on the calling thread. */
#define PAR_MIN 32768

static void par(int n, double work, sidr_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (n == 1 || work < PAR_MIN) fn(ctx, 0, n, 0);
    else sidr_parallel_for(n, fn, ctx);
}

typedef struct {
    enum CBLAS_TRANSPOSE ta, tb;
    int M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int split_m, bs, dim;
} gemm_job;

static void gemm_range(void *ctx, int b0, int b1, int thread)
{
    const gemm_job *j = ctx;
    int lo = b0 * j->bs, hi = b1 * j->bs < j->dim ? b1 * j->bs : j->dim;
    if (lo >= hi) return;
    if (j->split_m) {
        const float *A = j->ta == CblasNoTrans ? j->A + (size_t)lo * j->lda : j->A + lo;
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, hi - lo, j->N, j->K, j->alpha, A, j->lda, j->B, j->ldb, j->beta,
                    j->C + (size_t)lo * j->ldc, j->ldc);
    } else {
        const float *B = j->tb == CblasNoTrans ? j->B + lo : j->B + (size_t)lo * j->ldb;
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, j->M, hi - lo, j->K, j->alpha, j->A, j->lda, B, j->ldb, j->beta,
                    j->C + lo, j->ldc);
    }
}

/* Row-major sgemm split across the pool along the larger output dimension. */
static void psgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    int nt = sidr_threads_count();
    double work = (double)M * N * K;
    if (nt == 1 || work < 262144.0) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_job j = { ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, M >= N, 0, 0 };
    j.dim = j.split_m ? M : N;
    /* one block per thread, in multiples of 16 rows / columns */
    int bs = (j.dim + nt - 1) / nt;
    bs = (bs + 15) & ~15;
    j.bs = bs;
    int blocks = (j.dim + bs - 1) / bs;
    sidr_parallel_for(blocks, gemm_range, &j);
}

/* C[N][out] = A[N][in] W[out][in]^T + beta C */
static void mm_fwd(float *C, const float *A, const float *W, int N, int out, int in, float beta)
{
    psgemm(CblasNoTrans, CblasTrans, N, out, in, 1.0f, A, in, W, in, beta, C, out);
}

/* dA[N][in] = dC[N][out] W[out][in] + beta dA */
static void mm_bwd_x(float *dA, const float *dC, const float *W, int N, int out, int in, float beta)
{
    psgemm(CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dC, out, W, in, beta, dA, in);
}

/* dW[out][in] += dC[N][out]^T A[N][in] */
static void mm_bwd_w(float *dW, const float *dC, const float *A, int N, int out, int in)
{
    psgemm(CblasTrans, CblasNoTrans, out, in, N, 1.0f, dC, out, A, in, 1.0f, dW, in);
}

/* ---- vectorised exp ------------------------------------------------------------- */

/* exp(x) for x in [-87, 88] (clamped), after Cephes' expf: rounding to the
 * nearest multiple of ln 2 by the 1.5 * 2^23 trick, Cody-Waite reduction and
 * a degree-6 polynomial; max error 1.3 ulp.  Plain float arithmetic, so the
 * fixed 16-lane loops below vectorise (compiled for AVX-512, AVX2 and the
 * baseline, chosen at load time). */
static inline float exp_poly(float x)
{
    x = x > -87.0f ? x : -87.0f;
    x = x < 88.0f ? x : 88.0f;
    float t = x * 1.44269504088896341f + 12582912.0f;
    float k = t - 12582912.0f;
    int32_t ki;
    memcpy(&ki, &t, sizeof ki);
    ki -= 0x4b400000;                       /* k as an integer, from t's low bits */
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = (ki + 127) << 23;
    float sc;
    memcpy(&sc, &e, sizeof sc);
    return p * sc;
}

#define LANES 16
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VEC_CLONES
#endif

VEC_CLONES static float row_max(const float *x, int n)
{
    float m[LANES];
    for (int l = 0; l < LANES; l++) m[l] = x[0];
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
    float r = m[0];
    for (int l = 1; l < LANES; l++) r = m[l] > r ? m[l] : r;
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

/* sum of exp(x - sub): 16 float lanes per block of 512, blocks summed in double. */
VEC_CLONES static double row_sum_exp(const float *x, int n, float sub)
{
    double s = 0;
    int i = 0;
    while (i + LANES <= n) {
        float acc[LANES] = { 0 };
        int end = i + 512 < n ? i + 512 : n;
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += exp_poly(x[i + l] - sub);
        for (int l = 0; l < LANES; l++) s += acc[l];
    }
    for (; i < n; i++) s += exp_poly(x[i] - sub);
    return s;
}

/* x = scale * exp(x - sub) */
VEC_CLONES static void row_scaled_exp(float *x, int n, float sub, float scale)
{
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) x[i + l] = scale * exp_poly(x[i + l] - sub);
    for (; i < n; i++) x[i] = scale * exp_poly(x[i] - sub);
}

static inline float silu_mul(float g, float u) { return g / (1.0f + exp_poly(-g)) * u; }

/* h = silu(g) * u, as g / (1 + exp(-g)) * u */
VEC_CLONES static void swiglu_span(float *restrict h, const float *restrict g, const float *restrict u, size_t n)
{
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) h[i + l] = silu_mul(g[i + l], u[i + l]);
    for (; i < n; i++) h[i] = silu_mul(g[i], u[i]);
}

/* dg = dh * u * s * (1 + g (1 - s)), du = dh * g * s (into dh), s = sigmoid(g) */
static inline void swiglu_bwd_one(float *dh, float *dg, float g, float u)
{
    float s = 1.0f / (1.0f + exp_poly(-g)), d = *dh;
    *dg = d * u * s * (1.0f + g * (1.0f - s));
    *dh = d * g * s;
}

VEC_CLONES static void swiglu_bwd_span(float *restrict dh, float *restrict dg, const float *restrict g,
                                       const float *restrict u, size_t n)
{
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) swiglu_bwd_one(dh + i + l, dg + i + l, g[i + l], u[i + l]);
    for (; i < n; i++) swiglu_bwd_one(dh + i, dg + i, g[i], u[i]);
}

/* ---- RMSNorm -------------------------------------------------------------------- */

typedef struct {
    float *y, *rstd, *dx;
    const float *x, *w, *dy;
    int n, add;
    float eps;
} norm_job;

static void norm_fwd_range(void *ctx, int r0, int r1, int thread)
{
    const norm_job *j = ctx;
    int n = j->n;
    for (long r = r0; r < r1; r++) {
        const float *xr = j->x + r * n;
        float *yr = j->y + r * n;
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double)xr[i] * xr[i];
        float s = (float)(1.0 / sqrt(ss / n + j->eps));   /* as sidr_rmsnorm */
        j->rstd[r] = s;
        for (int i = 0; i < n; i++) yr[i] = xr[i] * s * j->w[i];
    }
}

/* y = x * rstd * w over R rows of n. */
static void rmsnorm_fwd(float *y, float *rstd, const float *x, const float *w, int R, int n, float eps)
{
    norm_job j = { .y = y, .rstd = rstd, .x = x, .w = w, .n = n, .eps = eps };
    par(R, 3.0 * R * n, norm_fwd_range, &j);
}

static void norm_apply_range(void *ctx, int r0, int r1, int thread)
{
    const norm_job *j = ctx;
    int n = j->n;
    for (long r = r0; r < r1; r++) {
        const float *xr = j->x + r * n;
        float *yr = j->y + r * n, s = j->rstd[r];
        for (int i = 0; i < n; i++) yr[i] = xr[i] * s * j->w[i];
    }
}

/* Recomputes a saved norm's output from its input and 1/rms (bit-identical). */
static void rmsnorm_apply(float *y, float *rstd, const float *x, const float *w, int R, int n)
{
    norm_job j = { .y = y, .rstd = rstd, .x = x, .w = w, .n = n };
    par(R, 2.0 * R * n, norm_apply_range, &j);
}

static void norm_bwd_range(void *ctx, int r0, int r1, int thread)
{
    const norm_job *j = ctx;
    int n = j->n;
    const float *w = j->w;
    for (long r = r0; r < r1; r++) {
        const float *xr = j->x + r * n, *dyr = j->dy + r * n;
        float *dxr = j->dx + r * n;
        double dot = 0;
        for (int i = 0; i < n; i++) dot += (double)dyr[i] * w[i] * xr[i];
        double s = j->rstd[r];
        float coef = (float)(s * s * s * dot / n), sf = (float)s;
        if (j->add)
            for (int i = 0; i < n; i++) dxr[i] += sf * w[i] * dyr[i] - xr[i] * coef;
        else
            for (int i = 0; i < n; i++) dxr[i] = sf * w[i] * dyr[i] - xr[i] * coef;
    }
}

/* dx (+)= d(rmsnorm)/dx . dy over R rows; dx may equal dy (in place).
 * y_i = x_i r w_i, r = (mean x^2 + eps)^-1/2:
 * dx_i = r w_i dy_i - x_i r^3 / n * sum_j dy_j w_j x_j. */
static void rmsnorm_bwd_rows(float *dx, int add, const float *dy, const float *x, float *rstd, const float *w, int R,
                             int n)
{
    norm_job j = { .dx = dx, .rstd = rstd, .x = x, .w = w, .dy = dy, .n = n, .add = add };
    par(R, 5.0 * R * n, norm_bwd_range, &j);
}

typedef struct {
    sidr_train *tr;
    const float *dy, *x, *rstd;
    int n;
} colsum_job;

static void colsum_range(void *ctx, int r0, int r1, int thread)
{
    const colsum_job *j = ctx;
    int n = j->n;
    double *part = j->tr->colbuf + (size_t)thread * j->tr->colbuf_width;
    for (long r = r0; r < r1; r++) {
        const float *dyr = j->dy + r * n;
        if (j->x) {
            const float *xr = j->x + r * n;
            double s = j->rstd[r];
            for (int i = 0; i < n; i++) part[i] += (double)dyr[i] * xr[i] * s;
        } else {
            for (int i = 0; i < n; i++) part[i] += dyr[i];
        }
    }
}

/* dw[i] += sum_r dy[r][i] * (x ? x[r][i] * rstd[r] : 1): the gradient of a
 * norm weight (with x NULL, of a bias) shared by R rows of n. */
static void colsum(sidr_train *tr, float *dw, const float *dy, const float *x, const float *rstd, int R, int n)
{
    if (n > tr->colbuf_width) {
        free(tr->colbuf);
        tr->colbuf_width = n;
        tr->colbuf = xmalloc((size_t)tr->nt * n * sizeof(double));
    }
    for (size_t i = 0; i < (size_t)tr->nt * tr->colbuf_width; i++) tr->colbuf[i] = 0;
    colsum_job j = { tr, dy, x, rstd, n };
    par(R, 2.0 * R * n, colsum_range, &j);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int t = 0; t < tr->nt; t++) s += tr->colbuf[(size_t)t * tr->colbuf_width + i];
        dw[i] += (float)s;
    }
}

/* ---- small elementwise kernels ------------------------------------------------- */

typedef struct {
    sidr_train *tr;
    float *v;
    const float *a, *b;
    float *o1, *o2;
    int T, nh, inverse, n;
} ew_job;

/* RoPE in Hugging Face's rotate_half layout, in place on [N][nh*hd] rows at
 * positions n % T; inverse rotates the other way (the backward). */
static void rope_range(void *ctx, int r0, int r1, int thread)
{
    const ew_job *j = ctx;
    int hd = j->tr->c.head_dim, half = hd / 2, w = j->nh * hd;
    for (int n = r0; n < r1; n++) {
        int pos = n % j->T;
        const float *cs = j->tr->rope_cos + (size_t)pos * half, *sn = j->tr->rope_sin + (size_t)pos * half;
        float *row = j->v + (size_t)n * w;
        for (int h = 0; h < j->nh; h++) {
            float *x = row + h * hd;
            if (!j->inverse)
                for (int i = 0; i < half; i++) {
                    float x1 = x[i], x2 = x[i + half];
                    x[i] = x1 * cs[i] - x2 * sn[i];
                    x[i + half] = x2 * cs[i] + x1 * sn[i];
                }
            else
                for (int i = 0; i < half; i++) {
                    float d1 = x[i], d2 = x[i + half];
                    x[i] = d1 * cs[i] + d2 * sn[i];
                    x[i + half] = d2 * cs[i] - d1 * sn[i];
                }
        }
    }
}

static void rope_rows(sidr_train *tr, float *v, int N, int T, int nh, int inverse)
{
    ew_job j = { .tr = tr, .v = v, .T = T, .nh = nh, .inverse = inverse };
    par(N, 4.0 * N * nh * tr->c.head_dim, rope_range, &j);
}

static void bias_range(void *ctx, int r0, int r1, int thread)
{
    const ew_job *j = ctx;
    for (int r = r0; r < r1; r++)
        for (int i = 0; i < j->n; i++) j->v[(size_t)r * j->n + i] += j->a[i];
}

static void add_bias(float *x, const float *bias, int N, int n)
{
    ew_job j = { .v = x, .a = bias, .n = n };
    par(N, (double)N * n, bias_range, &j);
}

/* h = silu(gate) * up over rows [r0, r1) of n, as the inference forward. */
static void swiglu_range(void *ctx, int r0, int r1, int thread)
{
    const ew_job *j = ctx;
    size_t a = (size_t)r0 * j->n, b = (size_t)r1 * j->n;
    swiglu_span(j->v + a, j->a + a, j->b + a, b - a);
}

static void swiglu(float *h, const float *gate, const float *up, int N, int n)
{
    ew_job j = { .v = h, .a = gate, .b = up, .n = n };
    par(N, 20.0 * N * n, swiglu_range, &j);
}

/* dgate = dh * up * silu'(gate), dup = dh * silu(gate) (into dh). */
static void swiglu_bwd_range(void *ctx, int r0, int r1, int thread)
{
    const ew_job *j = ctx;
    size_t a = (size_t)r0 * j->n, b = (size_t)r1 * j->n;
    swiglu_bwd_span(j->v + a, j->o1 + a, j->a + a, j->b + a, b - a);
}

typedef struct {
    float *dst;
    const float *src;
    const int *idx;      /* row of dst for each source row (scatter) or of src (gather) */
    int n;
} rows_job;

static void copy_range(void *ctx, int r0, int r1, int thread)
{
    const rows_job *j = ctx;
    memcpy(j->dst + (size_t)r0 * j->n, j->src + (size_t)r0 * j->n, (size_t)(r1 - r0) * j->n * sizeof(float));
}

static void pcopy(float *dst, const float *src, int R, int n)
{
    rows_job j = { dst, src, NULL, n };
    par(R, (double)R * n, copy_range, &j);
}

static void zero_range(void *ctx, int r0, int r1, int thread)
{
    const rows_job *j = ctx;
    memset(j->dst + (size_t)r0 * j->n, 0, (size_t)(r1 - r0) * j->n * sizeof(float));
}

static void pzero(float *dst, int R, int n)
{
    rows_job j = { dst, NULL, NULL, n };
    par(R, (double)R * n, zero_range, &j);
}

/* ---- construction ------------------------------------------------------------- */

static float *falloc(size_t n) { return xaligned((n ? n : 1) * sizeof(float)); }

static void alloc_acts(sidr_train *tr)
{
    const sidr_config *c = &tr->c;
    size_t N = (size_t)tr->cap, D = c->dim, qd = (size_t)c->n_heads * c->head_dim,
           kvd = (size_t)c->n_kv_heads * c->head_dim, F = c->hidden_dim;
    tr->L = xcalloc((size_t)c->n_layers, sizeof *tr->L);
    for (int l = 0; l < c->n_layers; l++) {
        layer_acts *A = &tr->L[l];
        A->x_in = falloc(N * D);
        A->x_mid = falloc(N * D);
        A->rstd1 = falloc(N);
        A->rstd2 = falloc(N);
        if (c->qk_norm) {
            A->q_pre = falloc(N * qd);
            A->k_pre = falloc(N * kvd);
            A->q_rstd = falloc(N * c->n_heads);
            A->k_rstd = falloc(N * c->n_kv_heads);
        }
        A->q = falloc(N * qd);
        A->k = falloc(N * kvd);
        A->v = falloc(N * kvd);
        A->att = falloc(N * qd);
        A->lse = falloc(N * c->n_heads);
        A->gate = falloc(N * F);
        A->up = falloc(N * F);
    }
    tr->x_final = falloc(N * D);
    tr->rstdf = falloc(N);
    tr->xnf = falloc(N * D);
    tr->xn = falloc(N * D);
    tr->hbuf = falloc(N * F);
    tr->dx = falloc(N * D);
    tr->dxn = falloc(N * D);
    tr->datt = falloc(N * qd);
    tr->dq = falloc(N * qd);
    tr->dk = falloc(N * kvd);
    tr->dv = falloc(N * kvd);
    tr->dh = falloc(N * F);
    tr->dgate = falloc(N * F);
    size_t qb = tr->max_T < QB ? (size_t)tr->max_T : QB;
    tr->S = falloc((size_t)tr->nt * qb * tr->max_T);
    tr->dP = falloc((size_t)tr->nt * qb * tr->max_T);
    tr->tokens = xmalloc(N * sizeof(int));
    tr->weights = falloc(N);
    tr->logp_buf = falloc(N);
    /* Rows per LM-head chunk: about 64 MB of logits, at least 32 rows. */
    size_t rows = ((size_t)64 << 20) / (sizeof(float) * (size_t)c->vocab_size);
    if (rows < 32) rows = 32;
    if (tr->chunk > 0) rows = (size_t)tr->chunk;
    if (rows > N) rows = N;
    tr->chunk = (int)rows;
    tr->Xc = falloc(rows * D);
    tr->dXc = falloc(rows * D);
}

static void free_acts(sidr_train *tr)
{
    if (tr->L)
        for (int l = 0; l < tr->c.n_layers; l++) {
            layer_acts *A = &tr->L[l];
            free(A->x_in); free(A->x_mid); free(A->rstd1); free(A->rstd2);
            free(A->q_pre); free(A->k_pre); free(A->q_rstd); free(A->k_rstd);
            free(A->q); free(A->k); free(A->v); free(A->att); free(A->lse);
            free(A->gate); free(A->up);
        }
    free(tr->L);
    free(tr->x_final); free(tr->rstdf); free(tr->xnf);
    free(tr->xn); free(tr->hbuf); free(tr->dx); free(tr->dxn); free(tr->datt);
    free(tr->dq); free(tr->dk); free(tr->dv); free(tr->dh); free(tr->dgate);
    free(tr->S); free(tr->dP); free(tr->colbuf);
    free(tr->tokens); free(tr->weights); free(tr->logp_buf);
    free(tr->act_row); free(tr->act_tgt); free(tr->act_w); free(tr->act_lse); free(tr->act_g);
    free(tr->Xc); free(tr->dXc); free(tr->logits);
    free(tr->rope_cos); free(tr->rope_sin);
}

sidr_status sidr_train_new(sidr_train **out, sidr_params *p, const sidr_train_opts *opts)
{
    *out = NULL;
    if (!p || !p->data) return sidr_fail(SIDR_ERR_ARG, "trainer: parameters are not initialised");
    if (!opts || opts->max_B < 1 || opts->max_T < 1)
        return sidr_fail(SIDR_ERR_ARG, "trainer: max_B and max_T must be positive (got %d, %d)",
                         opts ? opts->max_B : 0, opts ? opts->max_T : 0);
    if ((long long)opts->max_B * opts->max_T > (1LL << 24))
        return sidr_fail(SIDR_ERR_RANGE, "trainer: %d x %d tokens per batch is too many", opts->max_B, opts->max_T);
    sidr_train *tr = xcalloc(1, sizeof *tr);
    tr->p = p;
    tr->c = p->cfg;
    tr->max_T = opts->max_T;
    tr->cap = opts->max_B * opts->max_T;
    tr->nt = sidr_threads_count();   /* starts the pool: OpenBLAS single-threaded inside its tasks */
    tr->cache_bytes = opts->logits_cache_bytes ? opts->logits_cache_bytes : ((size_t)256 << 20);
    tr->chunk = opts->head_chunk_rows > 0 ? opts->head_chunk_rows : 0;
    alloc_acts(tr);
    /* RoPE tables exactly as the inference forward computes them: an f32
     * inv_freq, an f32 angle, cos/sin in double rounded to f32. */
    int hd = tr->c.head_dim, half = hd / 2;
    tr->rope_cos = falloc((size_t)tr->max_T * half);
    tr->rope_sin = falloc((size_t)tr->max_T * half);
    for (int i = 0; i < half; i++) {
        float inv = (float)(1.0 / pow((double)tr->c.rope_theta, (double)(2 * i) / hd));
        for (int t = 0; t < tr->max_T; t++) {
            float angle = (float)t * inv;
            tr->rope_cos[(size_t)t * half + i] = (float)cos((double)angle);
            tr->rope_sin[(size_t)t * half + i] = (float)sin((double)angle);
        }
    }
    sidr_kernels_init();
    *out = tr;
    return SIDR_OK;
}

void sidr_train_free(sidr_train *tr)
{
    if (!tr) return;
    free_acts(tr);
    if (tr->have_grad) sidr_params_free(&tr->grad);
    free(tr);
}

sidr_status sidr_train_use_params(sidr_train *tr, sidr_params *p)
{
    const sidr_config *a = &tr->c, *b = p ? &p->cfg : NULL;
    if (!p || !p->data || p->n != tr->p->n || b->dim != a->dim || b->hidden_dim != a->hidden_dim ||
        b->n_layers != a->n_layers || b->n_heads != a->n_heads || b->n_kv_heads != a->n_kv_heads ||
        b->head_dim != a->head_dim || b->vocab_size != a->vocab_size || b->tie_embeddings != a->tie_embeddings ||
        b->qk_norm != a->qk_norm || b->qkv_bias != a->qkv_bias || b->rope_theta != a->rope_theta)
        return sidr_fail(SIDR_ERR_SHAPE, "trainer: the new parameters have a different layout or RoPE base");
    tr->p = p;
    tr->c.norm_eps = b->norm_eps;
    tr->valid = 0;
    return SIDR_OK;
}

static void ensure_grad(sidr_train *tr)
{
    if (!tr->have_grad) {
        sidr_params_init(&tr->grad, &tr->p->cfg);
        tr->have_grad = 1;
    }
}

sidr_params *sidr_train_grad(sidr_train *tr)
{
    ensure_grad(tr);
    return &tr->grad;
}

void sidr_train_zero_grad(sidr_train *tr)
{
    ensure_grad(tr);
    sidr_params_zero(&tr->grad);
}

/* ---- attention ------------------------------------------------------------------ */

/* Tasks are (sequence, kv head) pairs: the query heads of one kv group
 * accumulate into the same dK / dV rows, so a group stays in one task.
 * Query rows go in blocks of QB; a block [t0, t1) only sees keys [0, t1). */
typedef struct {
    sidr_train *tr;
    const layer_acts *A;
} attn_job;

static void attn_fwd_range(void *ctx, int i0, int i1, int thread)
{
    const attn_job *j = ctx;
    sidr_train *tr = j->tr;
    const layer_acts *A = j->A;
    const sidr_config *c = &tr->c;
    int T = tr->T, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, qd = H * hd, kvd = KV * hd;
    int group = H / KV;
    float scale = 1.0f / sqrtf((float)hd);
    size_t qb = T < QB ? (size_t)T : QB;
    float *S = tr->S + (size_t)thread * qb * tr->max_T;
    for (int task = i0; task < i1; task++) {
        int b = task / KV, g = task % KV;
        const float *K = A->k + (size_t)b * T * kvd + g * hd, *V = A->v + (size_t)b * T * kvd + g * hd;
        for (int h = g * group; h < (g + 1) * group; h++) {
            float *lse = A->lse + ((size_t)b * H + h) * T;
            for (int t0 = 0; t0 < T; t0 += QB) {
                int t1 = t0 + QB < T ? t0 + QB : T, nq = t1 - t0, nk = t1;
                const float *Q = A->q + ((size_t)b * T + t0) * qd + h * hd;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hd, scale, Q, qd, K, kvd, 0.0f, S, nk);
                for (int r = 0; r < nq; r++) {
                    int t = t0 + r;
                    float *row = S + (size_t)r * nk, mx = row[0];
                    for (int k = 1; k <= t; k++) mx = row[k] > mx ? row[k] : mx;
                    double sum = 0;
                    for (int k = 0; k <= t; k++) sum += (row[k] = expf(row[k] - mx));
                    float inv = (float)(1.0 / sum);      /* as sidr_softmax */
                    for (int k = 0; k <= t; k++) row[k] *= inv;
                    for (int k = t + 1; k < nk; k++) row[k] = 0;
                    lse[t] = mx + (float)log(sum);
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hd, nk, 1.0f, S, nk, V, kvd, 0.0f,
                            A->att + ((size_t)b * T + t0) * qd + h * hd, qd);
            }
        }
    }
}

static void attention_fwd(sidr_train *tr, const layer_acts *A)
{
    attn_job j = { tr, A };
    const sidr_config *c = &tr->c;
    par(tr->B * c->n_kv_heads, 2.0 * tr->B * c->n_heads * tr->T * tr->T * c->head_dim, attn_fwd_range, &j);
}

/* dq = d/dq, dk += d/dk, dv += d/dv given datt, the probabilities
 * recomputed from Q, K and the saved log-normalisers. */
static void attn_bwd_range(void *ctx, int i0, int i1, int thread)
{
    const attn_job *j = ctx;
    sidr_train *tr = j->tr;
    const layer_acts *A = j->A;
    const sidr_config *c = &tr->c;
    int T = tr->T, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, qd = H * hd, kvd = KV * hd;
    int group = H / KV;
    float scale = 1.0f / sqrtf((float)hd);
    size_t qb = T < QB ? (size_t)T : QB;
    float *P = tr->S + (size_t)thread * qb * tr->max_T, *dS = tr->dP + (size_t)thread * qb * tr->max_T;
    for (int task = i0; task < i1; task++) {
        int b = task / KV, g = task % KV;
        size_t ko = (size_t)b * T * kvd + g * hd;
        const float *K = A->k + ko, *V = A->v + ko;
        float *dK = tr->dk + ko, *dV = tr->dv + ko;
        for (int h = g * group; h < (g + 1) * group; h++) {
            const float *lse = A->lse + ((size_t)b * H + h) * T;
            for (int t0 = 0; t0 < T; t0 += QB) {
                int t1 = t0 + QB < T ? t0 + QB : T, nq = t1 - t0, nk = t1;
                size_t qo = ((size_t)b * T + t0) * qd + h * hd;
                const float *Q = A->q + qo, *dO = tr->datt + qo;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hd, scale, Q, qd, K, kvd, 0.0f, P, nk);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hd, 1.0f, dO, qd, V, kvd, 0.0f, dS, nk);
                for (int r = 0; r < nq; r++) {
                    int t = t0 + r;
                    float *p = P + (size_t)r * nk, *d = dS + (size_t)r * nk, l = lse[t];
                    double dot = 0;
                    for (int k = 0; k <= t; k++) {
                        p[k] = expf(p[k] - l);
                        dot += (double)p[k] * d[k];
                    }
                    float Dt = (float)dot;
                    for (int k = 0; k <= t; k++) d[k] = p[k] * (d[k] - Dt);
                    for (int k = t + 1; k < nk; k++) p[k] = d[k] = 0;
                }
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, hd, nq, 1.0f, P, nk, dO, qd, 1.0f, dV, kvd);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hd, nk, scale, dS, nk, K, kvd, 0.0f,
                            tr->dq + qo, qd);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, hd, nq, scale, dS, nk, Q, qd, 1.0f, dK, kvd);
            }
        }
    }
}

static void attention_bwd(sidr_train *tr, const layer_acts *A)
{
    attn_job j = { tr, A };
    const sidr_config *c = &tr->c;
    par(tr->B * c->n_kv_heads, 4.0 * tr->B * c->n_heads * tr->T * tr->T * c->head_dim, attn_bwd_range, &j);
}

/* ---- forward ------------------------------------------------------------------ */

static void layer_fwd(sidr_train *tr, int l)
{
    const sidr_config *c = &tr->c;
    const sidr_layer_params *P = &tr->p->layers[l];
    layer_acts *A = &tr->L[l];
    int N = tr->N, D = c->dim, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    int qd = H * hd, kvd = KV * hd, F = c->hidden_dim;
    float eps = c->norm_eps;

    rmsnorm_fwd(tr->xn, A->rstd1, A->x_in, P->attn_norm, N, D, eps);
    float *qdst = c->qk_norm ? A->q_pre : A->q, *kdst = c->qk_norm ? A->k_pre : A->k;
    mm_fwd(qdst, tr->xn, P->wq, N, qd, D, 0.0f);
    mm_fwd(kdst, tr->xn, P->wk, N, kvd, D, 0.0f);
    mm_fwd(A->v, tr->xn, P->wv, N, kvd, D, 0.0f);
    if (P->bq) {
        add_bias(qdst, P->bq, N, qd);
        add_bias(kdst, P->bk, N, kvd);
        add_bias(A->v, P->bv, N, kvd);
    }
    if (c->qk_norm) {
        rmsnorm_fwd(A->q, A->q_rstd, A->q_pre, P->q_norm, N * H, hd, eps);
        rmsnorm_fwd(A->k, A->k_rstd, A->k_pre, P->k_norm, N * KV, hd, eps);
    }
    rope_rows(tr, A->q, N, tr->T, H, 0);
    rope_rows(tr, A->k, N, tr->T, KV, 0);
    attention_fwd(tr, A);
    pcopy(A->x_mid, A->x_in, N, D);
    mm_fwd(A->x_mid, A->att, P->wo, N, D, qd, 1.0f);

    rmsnorm_fwd(tr->xn, A->rstd2, A->x_mid, P->ffn_norm, N, D, eps);
    mm_fwd(A->gate, tr->xn, P->w_gate, N, F, D, 0.0f);
    mm_fwd(A->up, tr->xn, P->w_up, N, F, D, 0.0f);
    swiglu(tr->hbuf, A->gate, A->up, N, F);
    float *x_out = l + 1 < c->n_layers ? tr->L[l + 1].x_in : tr->x_final;
    pcopy(x_out, A->x_mid, N, D);
    mm_fwd(x_out, tr->hbuf, P->w_down, N, D, F, 1.0f);
}

static void grow_act(sidr_train *tr, int n)
{
    if (n <= tr->act_cap) return;
    tr->act_cap = n;
    tr->act_row = xrealloc(tr->act_row, (size_t)n * sizeof(int));
    tr->act_tgt = xrealloc(tr->act_tgt, (size_t)n * sizeof(int));
    tr->act_w = xrealloc(tr->act_w, (size_t)n * sizeof(float));
    tr->act_lse = xrealloc(tr->act_lse, (size_t)n * sizeof(float));
    tr->act_g = xrealloc(tr->act_g, (size_t)n * sizeof(float));
}

static void ensure_logits(sidr_train *tr, size_t n)
{
    if (n <= tr->logits_cap) return;
    free(tr->logits);
    tr->logits = falloc(n);
    tr->logits_cap = n;
}

/* Active rows [a0, a0+R) of xnf into Xc. */
static void gather_rows(sidr_train *tr, int a0, int R)
{
    int D = tr->c.dim;
    for (int r = 0; r < R; r++)
        memcpy(tr->Xc + (size_t)r * D, tr->xnf + (size_t)tr->act_row[a0 + r] * D, (size_t)D * sizeof(float));
}

typedef struct {
    sidr_train *tr;
    float *lg, *logp;
    int a0;
} head_job;

static void lse_range(void *ctx, int r0, int r1, int thread)
{
    const head_job *j = ctx;
    sidr_train *tr = j->tr;
    int V = tr->c.vocab_size;
    for (int r = r0; r < r1; r++) {
        const float *row = j->lg + (size_t)r * V;
        float mx = row_max(row, V);
        float lse = mx + (float)log(row_sum_exp(row, V, mx));   /* as sidr_log_softmax */
        int a = j->a0 + r;
        tr->act_lse[a] = lse;
        j->logp[tr->act_row[a] + 1] = row[tr->act_tgt[a]] - lse;
    }
}

static void head_fwd(sidr_train *tr, float *logp)
{
    int V = tr->c.vocab_size, n = tr->n_act;
    tr->cached = (double)n * V * sizeof(float) <= (double)tr->cache_bytes;
    ensure_logits(tr, (size_t)(tr->cached ? n : tr->chunk) * V);
    for (int a0 = 0; a0 < n; a0 += tr->chunk) {
        int R = n - a0 < tr->chunk ? n - a0 : tr->chunk;
        float *lg = tr->logits + (tr->cached ? (size_t)a0 * V : 0);
        gather_rows(tr, a0, R);
        mm_fwd(lg, tr->Xc, tr->p->lm_head, R, V, tr->c.dim, 0.0f);
        head_job j = { tr, lg, logp, a0 };
        par(R, 20.0 * R * V, lse_range, &j);
    }
}

typedef struct {
    sidr_train *tr;
    int N;
    const float *E;
    float *x0;
} embed_job;

static void embed_range(void *ctx, int r0, int r1, int thread)
{
    const embed_job *j = ctx;
    int D = j->tr->c.dim;
    for (int i = r0; i < r1; i++)
        memcpy(j->x0 + (size_t)i * D, j->E + (size_t)j->tr->tokens[i] * D, (size_t)D * sizeof(float));
}

sidr_status sidr_train_forward(sidr_train *tr, const sidr_batch *b, int flags, float *logp, sidr_train_stats *stats)
{
    const sidr_config *c = &tr->c;
    tr->valid = 0;
    if (!b || !b->tokens || b->B < 1 || b->T < 1)
        return sidr_fail(SIDR_ERR_ARG, "train forward: the batch needs B >= 1, T >= 1 and tokens");
    if (b->T > tr->max_T || (long long)b->B * b->T > tr->cap)
        return sidr_fail(SIDR_ERR_RANGE, "train forward: a batch of %d x %d tokens exceeds the trainer's capacity "
                         "(%d tokens, sequences of at most %d)", b->B, b->T, tr->cap, tr->max_T);
    int N = b->B * b->T;
    for (int i = 0; i < N; i++) {
        if (b->tokens[i] < 0 || b->tokens[i] >= c->vocab_size)
            return sidr_fail(SIDR_ERR_RANGE, "train forward: token id %d (sequence %d, position %d) is outside the "
                             "vocabulary [0, %d)", b->tokens[i], i / b->T, i % b->T, c->vocab_size);
        if (b->weights && !isfinite(b->weights[i]))
            return sidr_fail(SIDR_ERR_ARG, "train forward: weight of sequence %d, position %d is not finite",
                             i / b->T, i % b->T);
    }
    tr->B = b->B;
    tr->T = b->T;
    tr->N = N;
    memcpy(tr->tokens, b->tokens, (size_t)N * sizeof(int));
    for (int i = 0; i < N; i++) tr->weights[i] = b->weights ? b->weights[i] : 1.0f;
    for (int i = 0; i < b->B; i++) tr->weights[(size_t)i * b->T] = 0.0f;   /* never a target */

    /* Target rows: position t's token is predicted from row t-1. */
    int n = 0;
    grow_act(tr, N);
    for (int i = 0; i < N; i++) {
        if (i % b->T == 0) continue;
        float w = tr->weights[i];
        if (w == 0.0f && !(flags & SIDR_TRAIN_ALL_LOGP)) continue;
        tr->act_row[n] = i - 1;
        tr->act_tgt[n] = tr->tokens[i];
        tr->act_w[n] = w;
        n++;
    }
    tr->n_act = n;

    embed_job ej = { tr, N, tr->p->embed, tr->L[0].x_in };
    par(N, (double)N * c->dim, embed_range, &ej);
    for (int l = 0; l < c->n_layers; l++) layer_fwd(tr, l);
    rmsnorm_fwd(tr->xnf, tr->rstdf, tr->x_final, tr->p->final_norm, N, c->dim, c->norm_eps);

    /* The loss needs the log-probs even when the caller wants none. */
    float *lp = logp ? logp : tr->logp_buf;
    memset(lp, 0, (size_t)N * sizeof(float));
    head_fwd(tr, lp);
    double loss_sum = 0, wsum = 0;
    for (int a = 0; a < n; a++) {
        loss_sum -= (double)tr->act_w[a] * lp[tr->act_row[a] + 1];
        wsum += tr->act_w[a];
    }
    if (stats) {
        stats->loss_sum = loss_sum;
        stats->weight_sum = wsum;
        stats->loss = wsum != 0 ? loss_sum / wsum : 0;
        stats->n_targets = n;
    }
    tr->valid = 1;
    return SIDR_OK;
}

/* ---- backward ----------------------------------------------------------------- */

/* dlogits = g * (onehot(target) - softmax), in place over the logits. */
static void dlogits_range(void *ctx, int r0, int r1, int thread)
{
    const head_job *j = ctx;
    sidr_train *tr = j->tr;
    int V = tr->c.vocab_size;
    for (int r = r0; r < r1; r++) {
        int a = j->a0 + r;
        float *row = j->lg + (size_t)r * V, g = tr->act_g[a], lse = tr->act_lse[a];
        if (g == 0.0f) {
            memset(row, 0, (size_t)V * sizeof(float));
            continue;
        }
        row_scaled_exp(row, V, lse, -g);
        row[tr->act_tgt[a]] += g;
    }
}

static void head_bwd(sidr_train *tr)
{
    int V = tr->c.vocab_size, D = tr->c.dim, n = tr->n_act;
    float *dWh = tr->grad.lm_head;
    pzero(tr->dxn, tr->N, D);
    if (!tr->cached) ensure_logits(tr, (size_t)tr->chunk * V);
    for (int a0 = 0; a0 < n; a0 += tr->chunk) {
        int R = n - a0 < tr->chunk ? n - a0 : tr->chunk;
        float *lg = tr->cached ? tr->logits + (size_t)a0 * V : tr->logits;
        gather_rows(tr, a0, R);
        if (!tr->cached) mm_fwd(lg, tr->Xc, tr->p->lm_head, R, V, D, 0.0f);
        head_job j = { tr, lg, NULL, a0 };
        par(R, 20.0 * R * V, dlogits_range, &j);
        mm_bwd_x(tr->dXc, lg, tr->p->lm_head, R, V, D, 0.0f);
        for (int r = 0; r < R; r++)
            memcpy(tr->dxn + (size_t)tr->act_row[a0 + r] * D, tr->dXc + (size_t)r * D, (size_t)D * sizeof(float));
        mm_bwd_w(dWh, lg, tr->Xc, R, V, D);
    }
    /* The cached logits now hold gradients: a repeated backward recomputes. */
    tr->cached = 0;
}

static void layer_bwd(sidr_train *tr, int l)
{
    const sidr_config *c = &tr->c;
    const sidr_layer_params *P = &tr->p->layers[l];
    sidr_layer_params *G = &tr->grad.layers[l];
    layer_acts *A = &tr->L[l];
    int N = tr->N, D = c->dim, H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    int qd = H * hd, kvd = KV * hd, F = c->hidden_dim;

    /* MLP: x_out = x_mid + down(silu(gate) * up) */
    swiglu(tr->hbuf, A->gate, A->up, N, F);
    mm_bwd_w(G->w_down, tr->dx, tr->hbuf, N, D, F);
    mm_bwd_x(tr->dh, tr->dx, P->w_down, N, D, F, 0.0f);
    ew_job sj = { .v = tr->dh, .a = A->gate, .b = A->up, .o1 = tr->dgate, .n = F };
    par(N, 20.0 * N * F, swiglu_bwd_range, &sj);
    rmsnorm_apply(tr->xn, A->rstd2, A->x_mid, P->ffn_norm, N, D);
    mm_bwd_w(G->w_gate, tr->dgate, tr->xn, N, F, D);
    mm_bwd_w(G->w_up, tr->dh, tr->xn, N, F, D);
    mm_bwd_x(tr->dxn, tr->dgate, P->w_gate, N, F, D, 0.0f);
    mm_bwd_x(tr->dxn, tr->dh, P->w_up, N, F, D, 1.0f);
    colsum(tr, G->ffn_norm, tr->dxn, A->x_mid, A->rstd2, N, D);
    rmsnorm_bwd_rows(tr->dx, 1, tr->dxn, A->x_mid, A->rstd2, P->ffn_norm, N, D);

    /* attention: x_mid = x_in + o_proj(attention(q, k, v)) */
    mm_bwd_w(G->wo, tr->dx, A->att, N, D, qd);
    mm_bwd_x(tr->datt, tr->dx, P->wo, N, D, qd, 0.0f);
    pzero(tr->dk, N, kvd);
    pzero(tr->dv, N, kvd);
    attention_bwd(tr, A);
    rope_rows(tr, tr->dq, N, tr->T, H, 1);
    rope_rows(tr, tr->dk, N, tr->T, KV, 1);
    if (c->qk_norm) {
        colsum(tr, G->q_norm, tr->dq, A->q_pre, A->q_rstd, N * H, hd);
        colsum(tr, G->k_norm, tr->dk, A->k_pre, A->k_rstd, N * KV, hd);
        rmsnorm_bwd_rows(tr->dq, 0, tr->dq, A->q_pre, A->q_rstd, P->q_norm, N * H, hd);
        rmsnorm_bwd_rows(tr->dk, 0, tr->dk, A->k_pre, A->k_rstd, P->k_norm, N * KV, hd);
    }
    if (G->bq) {
        colsum(tr, G->bq, tr->dq, NULL, NULL, N, qd);
        colsum(tr, G->bk, tr->dk, NULL, NULL, N, kvd);
        colsum(tr, G->bv, tr->dv, NULL, NULL, N, kvd);
    }
    rmsnorm_apply(tr->xn, A->rstd1, A->x_in, P->attn_norm, N, D);
    mm_bwd_w(G->wq, tr->dq, tr->xn, N, qd, D);
    mm_bwd_w(G->wk, tr->dk, tr->xn, N, kvd, D);
    mm_bwd_w(G->wv, tr->dv, tr->xn, N, kvd, D);
    mm_bwd_x(tr->dxn, tr->dq, P->wq, N, qd, D, 0.0f);
    mm_bwd_x(tr->dxn, tr->dk, P->wk, N, kvd, D, 1.0f);
    mm_bwd_x(tr->dxn, tr->dv, P->wv, N, kvd, D, 1.0f);
    colsum(tr, G->attn_norm, tr->dxn, A->x_in, A->rstd1, N, D);
    rmsnorm_bwd_rows(tr->dx, 1, tr->dxn, A->x_in, A->rstd1, P->attn_norm, N, D);
}

typedef struct {
    sidr_train *tr;
    float *dE;
} embed_bwd_job;

/* The embedding gradient is a scatter-add over token ids; each task owns a
 * block of columns, so rows that share a token never race. */
static void embed_bwd_range(void *ctx, int c0, int c1, int thread)
{
    const embed_bwd_job *j = ctx;
    sidr_train *tr = j->tr;
    int D = tr->c.dim, lo = c0 * 16, hi = c1 * 16 < D ? c1 * 16 : D;
    for (int i = 0; i < tr->N; i++) {
        float *dst = j->dE + (size_t)tr->tokens[i] * D;
        const float *src = tr->dx + (size_t)i * D;
        for (int k = lo; k < hi; k++) dst[k] += src[k];
    }
}

static sidr_status backward_from_g(sidr_train *tr)
{
    const sidr_config *c = &tr->c;
    int N = tr->N, D = c->dim;
    ensure_grad(tr);
    head_bwd(tr);
    colsum(tr, tr->grad.final_norm, tr->dxn, tr->x_final, tr->rstdf, N, D);
    rmsnorm_bwd_rows(tr->dx, 0, tr->dxn, tr->x_final, tr->rstdf, tr->p->final_norm, N, D);
    for (int l = c->n_layers - 1; l >= 0; l--) layer_bwd(tr, l);
    embed_bwd_job ej = { tr, tr->grad.embed };
    par((D + 15) / 16, (double)N * D, embed_bwd_range, &ej);
    return SIDR_OK;
}

const float *sidr_train_input_grad(const sidr_train *tr)
{
    return tr->grad.embed ? tr->dx : NULL;
}

sidr_status sidr_train_backward(sidr_train *tr, const float *dlogp)
{
    if (!tr->valid) return sidr_fail(SIDR_ERR_ARG, "train backward: no forward to differentiate");
    if (!dlogp) return sidr_fail(SIDR_ERR_ARG, "train backward: dlogp is NULL");
    for (int a = 0; a < tr->n_act; a++) {
        float g = dlogp[tr->act_row[a] + 1];
        if (!isfinite(g))
            return sidr_fail(SIDR_ERR_ARG, "train backward: dlogp of sequence %d, position %d is not finite",
                             (tr->act_row[a] + 1) / tr->T, (tr->act_row[a] + 1) % tr->T);
        tr->act_g[a] = g;
    }
    return backward_from_g(tr);
}

sidr_status sidr_train_backward_ce(sidr_train *tr, double norm)
{
    if (!tr->valid) return sidr_fail(SIDR_ERR_ARG, "train backward: no forward to differentiate");
    if (norm <= 0) {
        norm = 0;
        for (int a = 0; a < tr->n_act; a++) norm += tr->act_w[a];
    }
    if (!(norm > 0)) {     /* nothing weighs: a zero gradient */
        ensure_grad(tr);
        return SIDR_OK;
    }
    for (int a = 0; a < tr->n_act; a++) tr->act_g[a] = (float)(-(double)tr->act_w[a] / norm);
    return backward_from_g(tr);
}

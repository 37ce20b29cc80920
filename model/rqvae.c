/* RQ-VAE: MLP encoder and decoder with sgemm, residual codebooks with a
 * straight-through estimator, the hand-written backward, AdamW training and
 * the final code assignment; see rqvae.h for the method. */
#include "rqvae.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "sampler.h"
#include "threads.h"
#include "util.h"

void sidr_rqvae_defaults(sidr_rqvae_opts *o)
{
    memset(o, 0, sizeof *o);
    o->latent = 32;
    o->epochs = 200;
    o->batch = 256;
    o->init_batch = 2048;
    o->kmeans_iters = 100;
    o->warmup_epochs = 2;
    o->eval_every = 10;
    o->lr = 1e-3;
    o->weight_decay = 0;
    o->clip_norm = 1.0;
    o->beta = 0.25;
    o->quant_weight = 1.0;
    o->revive = 1;
    o->seed = 42;
    sidr_rq_defaults(&o->rq);
}

int sidr_rqvae_default_hidden(int in_dim, int latent, int hidden[SIDR_RQVAE_MAX_HIDDEN])
{
    long h = 1, want = 8L * in_dim;
    while (h < want) h *= 2;
    if (h < 4L * latent) h = 4L * latent;
    if (h > 2048) h = 2048;
    int n = 0;
    for (; h > latent && n < SIDR_RQVAE_MAX_HIDDEN; h /= 2) hidden[n++] = (int)h;
    return n;
}

/* ---- model ---------------------------------------------------------------- */

/* Decoder layer sizes: the encoder's reversed. */
static void decoder_dims(const sidr_rqvae *m, int *dd)
{
    for (int k = 0; k <= m->n_layers; k++) dd[k] = m->dims[m->n_layers - k];
}

static void add_view(sidr_params *p, const char *name, sidr_param_kind kind, int ndim, int d0, int d1)
{
    p->views = xrealloc(p->views, (size_t)(p->n_views + 1) * sizeof *p->views);
    sidr_param_view *v = &p->views[p->n_views++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->kind = kind;
    v->ndim = ndim;
    v->shape[0] = d0;
    v->shape[1] = ndim > 1 ? d1 : 0;
    v->numel = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
    v->offset = p->n;
    p->n += v->numel;
}

/* The views of every tensor, then one buffer; only the fields sidr_adamw
 * and the params helpers use are set (no transformer config). */
static void layout(sidr_params *p, const sidr_rqvae *m)
{
    memset(p, 0, sizeof *p);
    int dd[SIDR_RQVAE_MAX_HIDDEN + 2];
    decoder_dims(m, dd);
    char nm[64];
    for (int pass = 0; pass < 2; pass++) {
        const int *dims = pass ? dd : m->dims;
        for (int k = 0; k < m->n_layers; k++) {
            snprintf(nm, sizeof nm, "%s.%d.weight", pass ? "decoder" : "encoder", k);
            add_view(p, nm, SIDR_PARAM_MATRIX, 2, dims[k + 1], dims[k]);
            snprintf(nm, sizeof nm, "%s.%d.bias", pass ? "decoder" : "encoder", k);
            add_view(p, nm, SIDR_PARAM_BIAS, 1, dims[k + 1], 0);
        }
    }
    for (int l = 0; l < m->levels; l++) {
        snprintf(nm, sizeof nm, "codebook.%d", l);
        add_view(p, nm, SIDR_PARAM_EMBED, 2, m->codes, m->latent);
    }
    p->data = xaligned((p->n ? p->n : 1) * sizeof(float));
    memset(p->data, 0, p->n * sizeof(float));
}

void sidr_rqvae_params_like(sidr_params *g, const sidr_rqvae *m)
{
    layout(g, m);
}

/* Standard normal from a xorshift state (Box-Muller). */
static float normal(uint64_t *st)
{
    double u1 = sidr_rand_f32(st) + 1e-7, u2 = sidr_rand_f32(st);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static uint64_t rng_seed(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + stream * 0xBF58476D1CE4E5B9ull + 0x94D049BB133111EBull;
    z = (z ^ (z >> 31)) * 0xD6E8FEB86659FD93ull;
    return (z ^ (z >> 32)) | 1; /* xorshift needs a nonzero state */
}

static sidr_status check_sizes(int in_dim, const sidr_rqvae_opts *o)
{
    if (in_dim < 1) return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: input dimension %d (expected at least 1)", in_dim);
    if (o->latent < 1 || o->latent > 4096)
        return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: latent dimension %d (expected 1..4096)", o->latent);
    if (o->n_hidden < 0 || o->n_hidden > SIDR_RQVAE_MAX_HIDDEN)
        return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: %d hidden layers (expected 0..%d)", o->n_hidden, SIDR_RQVAE_MAX_HIDDEN);
    for (int k = 0; k < o->n_hidden; k++)
        if (o->hidden[k] < 1 || o->hidden[k] > 65536)
            return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: hidden layer %d has %d units (expected 1..65536)", k + 1,
                             o->hidden[k]);
    if (o->rq.levels < 1 || o->rq.levels > SIDR_SID_MAX_LEVELS - 1)
        return sidr_fail(SIDR_ERR_ARG, "levels = %d (expected 1..%d)", o->rq.levels, SIDR_SID_MAX_LEVELS - 1);
    if (o->rq.codes < 2 || o->rq.codes > 65536)
        return sidr_fail(SIDR_ERR_ARG, "codes = %d (expected 2..65536)", o->rq.codes);
    return SIDR_OK;
}

sidr_status sidr_rqvae_init(sidr_rqvae *m, int in_dim, const sidr_rqvae_opts *o)
{
    memset(m, 0, sizeof *m);
    sidr_status s = check_sizes(in_dim, o);
    if (s) return s;
    m->in_dim = in_dim;
    m->latent = o->latent;
    m->levels = o->rq.levels;
    m->codes = o->rq.codes;
    int hidden[SIDR_RQVAE_MAX_HIDDEN], nh = o->n_hidden;
    if (nh) memcpy(hidden, o->hidden, (size_t)nh * sizeof *hidden);
    else nh = sidr_rqvae_default_hidden(in_dim, o->latent, hidden);
    m->n_layers = nh + 1;
    m->dims[0] = in_dim;
    for (int k = 0; k < nh; k++) m->dims[k + 1] = hidden[k];
    m->dims[nh + 1] = o->latent;
    layout(&m->p, m);
    const sidr_param_view *v = m->p.views;
    for (int k = 0; k < m->n_layers; k++, v += 2) {
        m->enc_w[k] = m->p.data + v[0].offset;
        m->enc_b[k] = m->p.data + v[1].offset;
    }
    for (int k = 0; k < m->n_layers; k++, v += 2) {
        m->dec_w[k] = m->p.data + v[0].offset;
        m->dec_b[k] = m->p.data + v[1].offset;
    }
    m->codebook = m->p.data + v->offset;
    /* xavier_normal_: std sqrt(2 / (fan_in + fan_out)); biases and codebooks stay 0 */
    uint64_t st = rng_seed(o->seed, 1);
    for (int i = 0; i < m->p.n_views; i++) {
        const sidr_param_view *w = &m->p.views[i];
        if (w->kind != SIDR_PARAM_MATRIX) continue;
        float sd = (float)sqrt(2.0 / (double)(w->shape[0] + w->shape[1]));
        float *p = m->p.data + w->offset;
        for (size_t j = 0; j < w->numel; j++) p[j] = sd * normal(&st);
    }
    return SIDR_OK;
}

void sidr_rqvae_free(sidr_rqvae *m)
{
    if (!m) return;
    sidr_params_free(&m->p);
    memset(m, 0, sizeof *m);
}

/* ---- MLP forward and backward ----------------------------------------------- */

/* Layer k's output is b x dims[k+1], packed one after another in acts;
 * ReLU after every layer but the last. */
static void mlp_forward(float *const *W, float *const *B, const int *dims, int nl, const float *x, int b, float *acts)
{
    const float *in = x;
    float *out = acts;
    for (int k = 0; k < nl; k++) {
        int ni = dims[k], no = dims[k + 1];
        for (int i = 0; i < b; i++) memcpy(out + (size_t)i * no, B[k], (size_t)no * sizeof *out);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, no, ni, 1.0f, in, ni, W[k], ni, 1.0f, out, no);
        if (k < nl - 1)
            for (size_t j = 0; j < (size_t)b * no; j++) out[j] = out[j] > 0 ? out[j] : 0;
        in = out;
        out += (size_t)b * no;
    }
}

static const float *layer_out(const float *acts, const int *dims, int k, int b)
{
    size_t off = 0;
    for (int j = 0; j < k; j++) off += (size_t)b * dims[j + 1];
    return acts + off;
}

/* Backward of mlp_forward from dy (b x dims[nl], overwritten): weight and bias
 * gradients added into gW, gB; dx (b x dims[0]) gets the input gradient when
 * non-NULL.  tmp holds b x max(dims). */
static void mlp_backward(float *const *W, const int *dims, int nl, const float *x, const float *acts, int b,
                         float *dy, float *tmp, float *const *gW, float *const *gB, float *dx)
{
    for (int k = nl - 1; k >= 0; k--) {
        int ni = dims[k], no = dims[k + 1];
        const float *in = k ? layer_out(acts, dims, k - 1, b) : x;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, ni, b, 1.0f, dy, no, in, ni, 1.0f, gW[k], ni);
        for (int i = 0; i < b; i++)
            for (int j = 0; j < no; j++) gB[k][j] += dy[(size_t)i * no + j];
        if (k == 0 && !dx) break;
        float *d_in = k ? tmp : dx;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, ni, no, 1.0f, dy, no, W[k], ni, 0.0f, d_in, ni);
        if (k == 0) break;
        /* through the ReLU of layer k-1: its output is 0 where the unit was off */
        for (size_t j = 0; j < (size_t)b * ni; j++) dy[j] = in[j] > 0 ? d_in[j] : 0;
    }
}

static int sum_out(const int *dims, int nl)
{
    int s = 0;
    for (int k = 1; k <= nl; k++) s += dims[k];
    return s;
}

static int max_dim(const int *dims, int nl)
{
    int s = 0;
    for (int k = 0; k <= nl; k++) if (dims[k] > s) s = dims[k];
    return s;
}

/* Gradient tensors of a params buffer in model order (as layout() lays them). */
typedef struct {
    float *ew[SIDR_RQVAE_MAX_HIDDEN + 1], *eb[SIDR_RQVAE_MAX_HIDDEN + 1];
    float *dw[SIDR_RQVAE_MAX_HIDDEN + 1], *db[SIDR_RQVAE_MAX_HIDDEN + 1];
    float *codebook;
} grad_views;

static void grad_split(const sidr_rqvae *m, sidr_params *g, grad_views *gv)
{
    const sidr_param_view *v = g->views;
    for (int k = 0; k < m->n_layers; k++, v += 2) {
        gv->ew[k] = g->data + v[0].offset;
        gv->eb[k] = g->data + v[1].offset;
    }
    for (int k = 0; k < m->n_layers; k++, v += 2) {
        gv->dw[k] = g->data + v[0].offset;
        gv->db[k] = g->data + v[1].offset;
    }
    gv->codebook = g->data + v->offset;
}

void sidr_rqvae_work_init(sidr_rqvae_work *w, const sidr_rqvae *m, int cap)
{
    memset(w, 0, sizeof *w);
    int nl = m->n_layers, L = m->levels, e = m->latent, mx = max_dim(m->dims, nl);
    size_t c = (size_t)(cap > 0 ? cap : 1);
    w->cap = (int)c;
    w->enc = xmalloc(c * sum_out(m->dims, nl) * sizeof(float));
    w->dec = xmalloc(c * (sum_out(m->dims, nl) - e + m->in_dim) * sizeof(float));
    w->dz = xmalloc(c * e * sizeof(float));
    w->da = xmalloc(c * mx * sizeof(float));
    w->db = xmalloc(c * mx * sizeof(float));
    w->res = xmalloc(c * e * (L + 1) * sizeof(float));
    w->zq = xmalloc(c * e * sizeof(float));
    w->code = xcalloc(c * L, sizeof(int32_t));
    w->scratch = xcalloc(c, sizeof(int32_t));
    w->ref_res = xmalloc(c * e * L * sizeof(float));
    w->ref_q = xmalloc(c * e * L * sizeof(float));
    w->ref_off = xmalloc(c * e * sizeof(float));
}

void sidr_rqvae_work_free(sidr_rqvae_work *w)
{
    if (!w) return;
    free(w->enc);
    free(w->dec);
    free(w->dz);
    free(w->da);
    free(w->db);
    free(w->res);
    free(w->zq);
    free(w->code);
    free(w->scratch);
    free(w->ref_res);
    free(w->ref_q);
    free(w->ref_off);
    memset(w, 0, sizeof *w);
}

/* ---- quantiser ---------------------------------------------------------------- */

/* Plain residual quantisation of the n latents z with m's codebooks: code
 * (n rows of stride ints, level l at column l), residuals res (levels + 1
 * blocks of n x latent: r_0 = z ... r_L), level_mse (levels + 1, may be NULL). */
static void quantise(const sidr_rqvae *m, const float *z, int n, int32_t *code, int stride, float *res,
                     int32_t *scratch, double *level_mse)
{
    const int e = m->latent, K = m->codes;
    const size_t blk = (size_t)n * e;
    memcpy(res, z, blk * sizeof *res);
    for (int l = 0; l <= m->levels; l++) {
        const float *r = res + l * blk;
        if (level_mse) {
            double s = 0;
            for (size_t j = 0; j < blk; j++) s += (double)r[j] * r[j];
            level_mse[l] = n ? s / n : 0;
        }
        if (l == m->levels) break;
        const float *cb = m->codebook + (size_t)l * K * e;
        for (int i = 0; i < n; i++) scratch[i] = -1;
        sidr_nearest_code(r, n, e, cb, K, scratch, NULL);
        float *rn = res + (l + 1) * blk;
        for (int i = 0; i < n; i++) {
            code[(size_t)i * stride + l] = scratch[i];
            const float *c = cb + (size_t)scratch[i] * e;
            for (int j = 0; j < e; j++) rn[(size_t)i * e + j] = r[(size_t)i * e + j] - c[j];
        }
    }
}

/* ---- one batch ------------------------------------------------------------------ */

sidr_status sidr_rqvae_batch(const sidr_rqvae *m, sidr_rqvae_work *w, const float *x, int b, double beta,
                             double quant_weight, int freeze, sidr_params *grad, sidr_rqvae_loss *out)
{
    if (b < 1 || b > w->cap) return sidr_fail(SIDR_ERR_ARG, "RQ-VAE batch: %d rows (expected 1..%d)", b, w->cap);
    if (freeze && w->ref_rows != b)
        return sidr_fail(SIDR_ERR_ARG, "RQ-VAE batch: frozen pass over %d rows, but the reference pass had %d", b,
                         w->ref_rows);
    if (grad && grad->n != m->p.n)
        return sidr_fail(SIDR_ERR_SHAPE, "RQ-VAE batch: gradient of %zu floats for %zu parameters", grad->n, m->p.n);
    const int nl = m->n_layers, L = m->levels, K = m->codes, e = m->latent, D = m->in_dim;
    const size_t be = (size_t)b * e;
    int dd[SIDR_RQVAE_MAX_HIDDEN + 2];
    decoder_dims(m, dd);

    mlp_forward(m->enc_w, m->enc_b, m->dims, nl, x, b, w->enc);
    const float *z = layer_out(w->enc, m->dims, nl - 1, b);
    if (!freeze) {
        /* codes and the stop-gradient operands: r_l, e_l and z_q - z */
        quantise(m, z, b, w->code, L, w->res, w->scratch, NULL);
        memcpy(w->ref_res, w->res, (size_t)L * be * sizeof(float));
        for (int l = 0; l < L; l++)
            for (int i = 0; i < b; i++)
                memcpy(w->ref_q + l * be + (size_t)i * e, m->codebook + ((size_t)l * K + w->code[(size_t)i * L + l]) * e,
                       (size_t)e * sizeof(float));
        /* z_q - z = -r_L */
        for (size_t j = 0; j < be; j++) w->ref_off[j] = -w->res[L * be + j];
        w->ref_rows = b;
    }
    /* straight-through: the decoder sees z + sg(z_q - z) */
    for (size_t j = 0; j < be; j++) w->zq[j] = z[j] + w->ref_off[j];
    mlp_forward(m->dec_w, m->dec_b, dd, nl, w->zq, b, w->dec);
    const float *xh = layer_out(w->dec, dd, nl - 1, b);

    double rec = 0;
    for (size_t j = 0; j < (size_t)b * D; j++) {
        double t = (double)xh[j] - x[j];
        rec += t * t;
    }
    rec /= (double)b * D;
    double quant = 0;
    for (int l = 0; l < L; l++) {
        const float *rr = w->ref_res + l * be, *q = w->ref_q + l * be;
        const float *cb = m->codebook + (size_t)l * K * e;
        double cbl = 0, cml = 0;
        for (int i = 0; i < b; i++) {
            const float *c = cb + (size_t)w->code[(size_t)i * L + l] * e;
            const float *r = l ? rr + (size_t)i * e : z + (size_t)i * e; /* r_0 = z is live */
            for (int j = 0; j < e; j++) {
                double t = (double)c[j] - rr[(size_t)i * e + j], u = (double)q[(size_t)i * e + j] - r[j];
                cbl += t * t;
                cml += u * u;
            }
        }
        quant += (cbl + beta * cml) / (double)be;
    }
    quant /= L;
    if (out) *out = (sidr_rqvae_loss){ rec + quant_weight * quant, rec, quant };
    if (!grad) return SIDR_OK;

    grad_views gv;
    grad_split(m, grad, &gv);
    /* decoder, from d mse / d x_hat */
    float *dy = w->da;
    const float sr = (float)(2.0 / ((double)b * D));
    for (size_t j = 0; j < (size_t)b * D; j++) dy[j] = sr * (xh[j] - x[j]);
    mlp_backward(m->dec_w, dd, nl, w->zq, w->dec, b, dy, w->db, gv.dw, gv.db, w->dz);
    /* d z = d z_q (straight-through) + level 0's commitment */
    const float sq = (float)(2.0 * quant_weight / ((double)L * be));
    for (size_t j = 0; j < be; j++) w->dz[j] += sq * (float)beta * (z[j] - w->ref_q[j]);
    /* codebooks: d mse(e_l, sg r_l) / d e_l */
    for (int l = 0; l < L; l++) {
        const float *cb = m->codebook + (size_t)l * K * e, *rr = w->ref_res + l * be;
        float *g = gv.codebook + (size_t)l * K * e;
        for (int i = 0; i < b; i++) {
            size_t c = (size_t)w->code[(size_t)i * L + l];
            for (int j = 0; j < e; j++) g[c * e + j] += sq * (cb[c * e + j] - rr[(size_t)i * e + j]);
        }
    }
    memcpy(w->da, w->dz, be * sizeof(float));
    mlp_backward(m->enc_w, m->dims, nl, x, w->enc, b, w->da, w->db, gv.ew, gv.eb, NULL);
    return SIDR_OK;
}

/* ---- encode, decode, codebook initialisation ------------------------------------------- */

#define ROW_BLOCK 512

sidr_status sidr_rqvae_encode(const sidr_rqvae *m, const float *x, int n, int d, float *z)
{
    if (d != m->in_dim)
        return sidr_fail(SIDR_ERR_SHAPE, "RQ-VAE: %d-dimensional input for a model of %d inputs", d, m->in_dim);
    if (n < 0) return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: %d rows", n);
    const int nl = m->n_layers, e = m->latent;
    float *acts = xmalloc((size_t)ROW_BLOCK * sum_out(m->dims, nl) * sizeof *acts);
    for (int i = 0; i < n; i += ROW_BLOCK) {
        int b = n - i < ROW_BLOCK ? n - i : ROW_BLOCK;
        mlp_forward(m->enc_w, m->enc_b, m->dims, nl, x + (size_t)i * d, b, acts);
        memcpy(z + (size_t)i * e, layer_out(acts, m->dims, nl - 1, b), (size_t)b * e * sizeof *z);
    }
    free(acts);
    return SIDR_OK;
}

void sidr_rqvae_decode(const sidr_rqvae *m, const float *z, int n, float *x)
{
    const int nl = m->n_layers, D = m->in_dim;
    int dd[SIDR_RQVAE_MAX_HIDDEN + 2];
    decoder_dims(m, dd);
    float *acts = xmalloc((size_t)ROW_BLOCK * sum_out(dd, nl) * sizeof *acts);
    for (int i = 0; i < n; i += ROW_BLOCK) {
        int b = n - i < ROW_BLOCK ? n - i : ROW_BLOCK;
        mlp_forward(m->dec_w, m->dec_b, dd, nl, z + (size_t)i * m->latent, b, acts);
        memcpy(x + (size_t)i * D, layer_out(acts, dd, nl - 1, b), (size_t)b * D * sizeof *x);
    }
    free(acts);
}

sidr_status sidr_rqvae_init_codebooks(sidr_rqvae *m, const float *x, int b, int iters, uint64_t seed)
{
    const int e = m->latent, K = m->codes;
    if (b < K)
        return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: k-means initialisation on %d rows for %d codes (expected rows >= codes)",
                         b, K);
    float *res = xmalloc((size_t)b * e * sizeof *res);
    int32_t *as = xmalloc((size_t)b * sizeof *as);
    sidr_status s = sidr_rqvae_encode(m, x, b, m->in_dim, res);
    for (int l = 0; l < m->levels && !s; l++) {
        sidr_kmeans_opts ko;
        sidr_kmeans_defaults(&ko);
        ko.iters = iters;
        ko.seed = seed * 1000003ull + (uint64_t)l * 7919ull + 1;
        float *cb = m->codebook + (size_t)l * K * e;
        s = sidr_kmeans(res, b, e, K, &ko, cb, as, NULL);
        for (int i = 0; i < b && !s; i++)
            for (int j = 0; j < e; j++) res[(size_t)i * e + j] -= cb[(size_t)as[i] * e + j];
    }
    free(res);
    free(as);
    return s ? sidr_fail_context(s, "RQ-VAE codebook initialisation: ") : SIDR_OK;
}

/* ---- training ---------------------------------------------------------------------------- */

void sidr_rqvae_result_free(sidr_rqvae_result *r)
{
    if (!r) return;
    sidr_rq_free(&r->rq);
    sidr_rqvae_free(&r->model);
    free(r->latent);
    free(r->epoch_loss);
    free(r->epoch_recon);
    memset(r, 0, sizeof *r);
}

/* Share of items whose plain SID another item also has. */
static double collision_rate(const sidr_rqvae *m, const float *x, int n, float *z, float *res, int32_t *code,
                             int32_t *scratch)
{
    sidr_rqvae_encode(m, x, n, m->in_dim, z);
    quantise(m, z, n, code, m->levels, res, scratch, NULL);
    int groups, items;
    groups = sidr_sid_collisions(code, n, m->levels, m->levels, &items, NULL);
    return (double)(items - groups) / n;
}

static sidr_status check_train(const float *x, int n, int d, const sidr_rqvae_opts *o)
{
    if (!x || n < 1) return sidr_fail(SIDR_ERR_ARG, "RQ-VAE input: no items (expected at least 1 embedding row)");
    if (d < 1) return sidr_fail(SIDR_ERR_ARG, "RQ-VAE input: dimension %d (expected at least 1)", d);
    for (size_t i = 0; i < (size_t)n * d; i++)
        if (!isfinite(x[i]))
            return sidr_fail(SIDR_ERR_ARG, "RQ-VAE input: item %zu has a non-finite value (expected finite floats)",
                             i / d);
    sidr_status s = check_sizes(d, o);
    if (s) return s;
    if (o->rq.codes > n)
        return sidr_fail(SIDR_ERR_ARG, "codes = %d exceeds the %d items (the k-means initialisation needs at least "
                         "K items)", o->rq.codes, n);
    if (o->epochs < 1) return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: epochs = %d (expected at least 1)", o->epochs);
    if (o->batch < 1) return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: batch = %d (expected at least 1)", o->batch);
    if (!(o->lr > 0) || !(o->beta >= 0) || !(o->quant_weight >= 0) || !(o->weight_decay >= 0))
        return sidr_fail(SIDR_ERR_ARG, "RQ-VAE: lr %g, beta %g, quantisation weight %g, weight decay %g (expected "
                         "lr > 0 and the others >= 0)", o->lr, o->beta, o->quant_weight, o->weight_decay);
    return SIDR_OK;
}

/* Codes no item chose during an epoch restart at the residual of a random
 * row of the last batch (at their level), so that the codebook follows the
 * moving latent instead of keeping dead entries.  Returns the codes moved. */
static int revive_dead(sidr_rqvae *m, const sidr_rqvae_work *w, int b, const unsigned char *used, uint64_t *rng)
{
    const int e = m->latent, K = m->codes;
    int moved = 0;
    for (int l = 0; l < m->levels; l++)
        for (int k = 0; k < K; k++) {
            if (used[(size_t)l * K + k]) continue;
            int j = (int)(sidr_rand_f32(rng) * b);
            if (j >= b) j = b - 1;
            memcpy(m->codebook + ((size_t)l * K + k) * e, w->res + (size_t)l * b * e + (size_t)j * e,
                   (size_t)e * sizeof(float));
            moved++;
        }
    return moved;
}

static void gather(const float *x, int d, const int *idx, int b, float *out)
{
    for (int i = 0; i < b; i++) memcpy(out + (size_t)i * d, x + (size_t)idx[i] * d, (size_t)d * sizeof *out);
}

sidr_status sidr_rqvae_build(const float *x, int n, int d, const sidr_rqvae_opts *o, sidr_rqvae_result *r)
{
    sidr_rqvae_opts def;
    if (!o) { sidr_rqvae_defaults(&def); o = &def; }
    memset(r, 0, sizeof *r);
    sidr_status s = check_train(x, n, d, o);
    if (s) return s;
    sidr_threads_count(); /* starts the pool, which keeps BLAS single-threaded: same sums every run */
    sidr_rqvae *m = &r->model;
    if ((s = sidr_rqvae_init(m, d, o))) return s;
    const int L = m->levels, e = m->latent, bs = o->batch < n ? o->batch : n;
    const int steps_per_epoch = (n + bs - 1) / bs;
    int init_rows = o->init_batch > bs ? o->init_batch : bs;
    if (init_rows > n) init_rows = n;
    if (init_rows < m->codes) init_rows = m->codes;

    sidr_params grad, best;
    sidr_rqvae_params_like(&grad, m);
    sidr_rqvae_params_like(&best, m);
    sidr_rqvae_work w;
    sidr_rqvae_work_init(&w, m, bs);
    int *perm = xmalloc((size_t)n * sizeof *perm);
    float *xb = xmalloc((size_t)(init_rows > bs ? init_rows : bs) * d * sizeof *xb);
    float *z = xmalloc((size_t)n * e * sizeof *z), *res = xmalloc((size_t)n * e * (L + 1) * sizeof *res);
    int32_t *code = xmalloc((size_t)n * L * sizeof *code), *scratch = xmalloc((size_t)n * sizeof *scratch);
    unsigned char *used = xmalloc((size_t)L * m->codes);
    r->epoch_loss = xcalloc((size_t)o->epochs, sizeof *r->epoch_loss);
    r->epoch_recon = xcalloc((size_t)o->epochs, sizeof *r->epoch_recon);
    sidr_adamw opt;
    memset(&opt, 0, sizeof opt);

    uint64_t rng = rng_seed(o->seed, 2);
    for (int i = 0; i < n; i++) perm[i] = i;
    /* the codebooks start from k-means on a first batch, as MiniOneRec's first forward does */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(sidr_rand_f32(&rng) * (i + 1));
        if (j > i) j = i;
        int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    gather(x, d, perm, init_rows, xb);
    if ((s = sidr_rqvae_init_codebooks(m, xb, init_rows, o->kmeans_iters, o->seed))) goto out;

    sidr_adamw_opts ao;
    sidr_adamw_defaults(&ao);
    ao.lr = o->lr;
    ao.weight_decay = o->weight_decay;
    ao.decay_all = 1; /* torch.optim.AdamW(model.parameters()) */
    ao.clip_norm = o->clip_norm;
    ao.warmup_steps = (long)o->warmup_epochs * steps_per_epoch;
    ao.total_steps = (long)o->epochs * steps_per_epoch;
    if ((s = sidr_adamw_init(&opt, &m->p, &ao))) goto out;

    double best_rate = 2, rate = -1;
    r->best_epoch = o->epochs;
    for (int ep = 0; ep < o->epochs; ep++) {
        if (ep > 0)
            for (int i = n - 1; i > 0; i--) {
                int j = (int)(sidr_rand_f32(&rng) * (i + 1));
                if (j > i) j = i;
                int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
            }
        double el = 0, er = 0, eq = 0;
        int last_b = 0;
        memset(used, 0, (size_t)L * m->codes);
        for (int b0 = 0; b0 < n; b0 += bs) {
            int b = n - b0 < bs ? n - b0 : bs;
            gather(x, d, perm + b0, b, xb);
            sidr_params_zero(&grad);
            sidr_rqvae_loss ls;
            if ((s = sidr_rqvae_batch(m, &w, xb, b, o->beta, o->quant_weight, 0, &grad, &ls))) goto out;
            if (!isfinite(ls.loss)) {
                s = sidr_fail(SIDR_ERR_RANGE, "RQ-VAE: the training loss is not finite at epoch %d (lower --lr?)", ep + 1);
                goto out;
            }
            if ((s = sidr_adamw_step(&opt, &m->p, &grad, NULL))) goto out;
            for (int i = 0; i < b; i++)
                for (int l = 0; l < L; l++) used[(size_t)l * m->codes + w.code[(size_t)i * L + l]] = 1;
            last_b = b;
            el += ls.loss * b;
            er += ls.recon * b;
            eq += ls.quant * b;
            r->steps++;
        }
        if (o->revive) r->revived += revive_dead(m, &w, last_b, used, &rng);
        r->epoch_loss[ep] = el / n;
        r->epoch_recon[ep] = er / n;
        r->epochs = ep + 1;
        if (o->eval_every > 0 && ((ep + 1) % o->eval_every == 0 || ep + 1 == o->epochs)) {
            rate = collision_rate(m, x, n, z, res, code, scratch);
            if (rate < best_rate) { /* the first of equal rates, as MiniOneRec's strict '<' */
                best_rate = rate;
                r->best_epoch = ep + 1;
                memcpy(best.data, m->p.data, m->p.n * sizeof(float));
            }
        }
        if (o->progress) {
            sidr_rqvae_progress pr = { ep + 1, o->epochs, el / n, er / n, eq / n, rate };
            if (o->progress(o->user, &pr)) {
                s = sidr_fail(SIDR_ERR_CANCELLED, "RQ-VAE training: cancelled at epoch %d", ep + 1);
                goto out;
            }
        }
    }
    if (o->eval_every > 0) memcpy(m->p.data, best.data, m->p.n * sizeof(float));

    /* final codes: nearest on every level, then the shared collision handling */
    r->latent = xmalloc((size_t)n * e * sizeof *r->latent);
    sidr_rqvae_encode(m, x, n, d, r->latent);
    sidr_rq_result_alloc(&r->rq, n, e, L, m->codes, o->rq.dedup_level);
    memcpy(r->rq.codebooks, m->codebook, (size_t)L * m->codes * e * sizeof(float));
    quantise(m, r->latent, n, r->rq.code, r->rq.depth, res, scratch, r->rq.level_mse);
    if ((s = sidr_rq_finish(&r->rq, res + (size_t)(L - 1) * n * e, &o->rq))) goto out;
    r->best_collision_rate = (double)(r->rq.items_colliding_plain - r->rq.collisions_plain) / n;
    /* reconstruction with the final codes: decoder(sum of their vectors) */
    for (int i = 0; i < n; i++) {
        float *zq = z + (size_t)i * e;
        memset(zq, 0, (size_t)e * sizeof *zq);
        for (int l = 0; l < L; l++) {
            const float *c = m->codebook + ((size_t)l * m->codes + r->rq.code[(size_t)i * r->rq.depth + l]) * e;
            for (int j = 0; j < e; j++) zq[j] += c[j];
        }
    }
    {
        float *xh = xmalloc((size_t)n * d * sizeof *xh);
        sidr_rqvae_decode(m, z, n, xh);
        double t = 0;
        for (size_t j = 0; j < (size_t)n * d; j++) t += ((double)xh[j] - x[j]) * ((double)xh[j] - x[j]);
        r->recon_mse = t / n;
        free(xh);
    }
    r->baseline_mse = sidr_mean_baseline_mse(x, n, d);
out:
    sidr_adamw_free(&opt);
    sidr_params_free(&grad);
    sidr_params_free(&best);
    sidr_rqvae_work_free(&w);
    free(perm);
    free(xb);
    free(z);
    free(res);
    free(code);
    free(scratch);
    free(used);
    if (s) sidr_rqvae_result_free(r);
    return s;
}

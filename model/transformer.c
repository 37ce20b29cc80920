#include "transformer.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "threads.h"
#include "util.h"

/* ---- loading ---------------------------------------------------------------- */

/* Finds name and checks it is a 2-D float matrix [rows][cols]. */
static sidr_status bind_mat(sidr_model *m, const char *name, int rows, int cols, sidr_mat *out)
{
    const sidr_tensor *t = sidr_st_find(&m->st, name);
    if (!t) return sidr_fail(SIDR_ERR_MISSING, "%s: tensor '%s' is missing from the safetensors files", m->dir, name);
    if (t->dtype != SIDR_F32 && t->dtype != SIDR_BF16 && t->dtype != SIDR_F16)
        return sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has dtype %s (expected F32, BF16 or F16)", t->file, name,
                         sidr_dtype_name(t->dtype));
    if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has shape [%lld, %lld] (%d dims); config.json implies [%d, %d]",
                         t->file, name, (long long)t->shape[0], (long long)(t->ndim > 1 ? t->shape[1] : 0), t->ndim,
                         rows, cols);
    out->dtype = t->dtype;
    out->data = t->data;
    out->rows = rows;
    out->cols = cols;
    return SIDR_OK;
}

/* Finds a 1-D vector of n elements and copies it to f32 (norms and biases are small). */
static sidr_status bind_vec(sidr_model *m, const char *name, int n, float **out)
{
    const sidr_tensor *t = sidr_st_find(&m->st, name);
    if (!t) return sidr_fail(SIDR_ERR_MISSING, "%s: tensor '%s' is missing from the safetensors files", m->dir, name);
    if (t->dtype != SIDR_F32 && t->dtype != SIDR_BF16 && t->dtype != SIDR_F16)
        return sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has dtype %s (expected F32, BF16 or F16)", t->file, name,
                         sidr_dtype_name(t->dtype));
    if (t->ndim != 1 || t->shape[0] != n)
        return sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has %d dims and %lld elements; config.json implies [%d]",
                         t->file, name, t->ndim, (long long)sidr_tensor_numel(t), n);
    *out = xmalloc(n * sizeof(float));
    sidr_tensor_to_f32(t, 0, n, *out);
    return SIDR_OK;
}

static sidr_status bind_layer(sidr_model *m, int i)
{
    const sidr_config *c = &m->cfg;
    sidr_layer *l = &m->layers[i];
    int q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
    char name[128];
    sidr_status s;
#define NAME(suffix) (snprintf(name, sizeof name, "model.layers.%d.%s", i, suffix), name)
    if ((s = bind_vec(m, NAME("input_layernorm.weight"), c->dim, &l->attn_norm)) ||
        (s = bind_vec(m, NAME("post_attention_layernorm.weight"), c->dim, &l->ffn_norm)) ||
        (s = bind_mat(m, NAME("self_attn.q_proj.weight"), q_dim, c->dim, &l->wq)) ||
        (s = bind_mat(m, NAME("self_attn.k_proj.weight"), kv_dim, c->dim, &l->wk)) ||
        (s = bind_mat(m, NAME("self_attn.v_proj.weight"), kv_dim, c->dim, &l->wv)) ||
        (s = bind_mat(m, NAME("self_attn.o_proj.weight"), c->dim, q_dim, &l->wo)) ||
        (s = bind_mat(m, NAME("mlp.gate_proj.weight"), c->hidden_dim, c->dim, &l->w_gate)) ||
        (s = bind_mat(m, NAME("mlp.up_proj.weight"), c->hidden_dim, c->dim, &l->w_up)) ||
        (s = bind_mat(m, NAME("mlp.down_proj.weight"), c->dim, c->hidden_dim, &l->w_down)))
        return s;
    if (c->qk_norm &&
        ((s = bind_vec(m, NAME("self_attn.q_norm.weight"), c->head_dim, &l->q_norm)) ||
         (s = bind_vec(m, NAME("self_attn.k_norm.weight"), c->head_dim, &l->k_norm))))
        return s;
    if (c->qkv_bias &&
        ((s = bind_vec(m, NAME("self_attn.q_proj.bias"), q_dim, &l->bq)) ||
         (s = bind_vec(m, NAME("self_attn.k_proj.bias"), kv_dim, &l->bk)) ||
         (s = bind_vec(m, NAME("self_attn.v_proj.bias"), kv_dim, &l->bv))))
        return s;
#undef NAME
    return SIDR_OK;
}

float *sidr_rope_inv_freq(const sidr_config *c)
{
    /* As Hugging Face computes it: 1 / theta^(2i/d), rounded to f32. */
    int half = c->head_dim / 2;
    float *f = xmalloc((size_t)half * sizeof(float));
    for (int i = 0; i < half; i++) f[i] = (float)(1.0 / pow((double)c->rope_theta, (double)(2 * i) / c->head_dim));
    return f;
}

sidr_status sidr_model_load(sidr_model *m, const char *dir)
{
    memset(m, 0, sizeof *m);
    m->dir = xstrdup(dir);
    char *cfg_path = path_join(dir, "config.json");
    sidr_status s;
    if (!file_exists(dir)) {
        s = sidr_fail(SIDR_ERR_IO, "%s: model folder does not exist", dir);
        free(cfg_path);
        goto fail;
    }
    s = sidr_config_load(&m->cfg, cfg_path);
    free(cfg_path);
    if (s) goto fail;
    if ((s = sidr_generation_config_check(dir, m->cfg.vocab_size))) goto fail;
    if ((s = sidr_st_open_dir(&m->st, dir))) goto fail;
    const sidr_config *c = &m->cfg;
    if ((s = bind_mat(m, "model.embed_tokens.weight", c->vocab_size, c->dim, &m->embed))) goto fail;
    if (c->tie_embeddings) m->lm_head = m->embed;
    else if ((s = bind_mat(m, "lm_head.weight", c->vocab_size, c->dim, &m->lm_head))) goto fail;
    if ((s = bind_vec(m, "model.norm.weight", c->dim, &m->final_norm))) goto fail;
    /* A corrupt layer count must not turn into a huge allocation. */
    if (c->n_layers > m->st.n_tensors) {
        s = sidr_fail(SIDR_ERR_SHAPE, "%s: config.json says num_hidden_layers = %d but the weights hold only %d tensors",
                      dir, c->n_layers, m->st.n_tensors);
        goto fail;
    }
    m->layers = xcalloc(c->n_layers, sizeof *m->layers);
    for (int i = 0; i < c->n_layers; i++)
        if ((s = bind_layer(m, i))) goto fail;
    if ((s = sidr_st_check_layers(&m->st, c->n_layers, dir))) goto fail;
    m->rope_inv_freq = sidr_rope_inv_freq(c);
    if (sidr_model_weight_bytes(m) < SIDR_CHECK_AT_LOAD_BYTES && (s = sidr_model_check_finite(m))) goto fail;
    sidr_kernels_init();
    return SIDR_OK;
fail:
    sidr_model_free(m);
    return s;
}

void sidr_model_free(sidr_model *m)
{
    if (m->layers && !m->borrowed) {
        for (int i = 0; i < m->cfg.n_layers; i++) {
            sidr_layer *l = &m->layers[i];
            free(l->attn_norm); free(l->ffn_norm); free(l->q_norm); free(l->k_norm);
            free(l->bq); free(l->bk); free(l->bv);
        }
    }
    free(m->layers);
    if (!m->borrowed) free(m->final_norm);
    free(m->rope_inv_freq);
    sidr_st_close(&m->st);
    free(m->dir);
    memset(m, 0, sizeof *m);
}

/* ---- non-finite values ------------------------------------------------------ */

/* Index of the first NaN or Inf among n elements of dtype, or -1. */
static long long first_nonfinite(const void *data, sidr_dtype dtype, size_t n, int *is_nan)
{
    if (dtype == SIDR_F32) {
        const uint32_t *u = data;
        for (size_t i = 0; i < n; i++)
            if ((u[i] & 0x7f800000u) == 0x7f800000u) { *is_nan = (u[i] & 0x7fffffu) != 0; return (long long)i; }
    } else if (dtype == SIDR_BF16) {
        const uint16_t *h = data;
        for (size_t i = 0; i < n; i++)
            if ((h[i] & 0x7f80u) == 0x7f80u) { *is_nan = (h[i] & 0x7fu) != 0; return (long long)i; }
    } else if (dtype == SIDR_F16) {
        const uint16_t *h = data;
        for (size_t i = 0; i < n; i++)
            if ((h[i] & 0x7c00u) == 0x7c00u) { *is_nan = (h[i] & 0x3ffu) != 0; return (long long)i; }
    }
    return -1;
}

/* Fails naming the tensor when it holds a NaN or Inf. */
static sidr_status check_block(const sidr_model *m, const char *name, const void *data, sidr_dtype dtype,
                               long long rows, long long cols)
{
    if (!data) return SIDR_OK;
    int is_nan = 0;
    long long i = first_nonfinite(data, dtype, (size_t)(rows * cols), &is_nan);
    if (i < 0) return SIDR_OK;
    const sidr_tensor *t = sidr_st_find(&m->st, name);
    char at[64];
    if (cols > 1) snprintf(at, sizeof at, "[%lld, %lld]", i / cols, i % cols);
    else snprintf(at, sizeof at, "[%lld]", i);
    return sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s' holds %s at element %s (weights must be finite)",
                     t ? t->file : m->dir, name, is_nan ? "NaN" : "Inf", at);
}

static sidr_status check_layer(const sidr_model *m, int i)
{
    const sidr_config *c = &m->cfg;
    const sidr_layer *l = &m->layers[i];
    int q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
    char n[128];
    sidr_status s;
#define NM(suffix) (snprintf(n, sizeof n, "model.layers.%d.%s", i, suffix), n)
#define MAT(suffix, w) check_block(m, NM(suffix), (w).data, (w).dtype, (w).rows, (w).cols)
#define VEC(suffix, v, len) check_block(m, NM(suffix), (v), SIDR_F32, (len), 1)
    if ((s = VEC("input_layernorm.weight", l->attn_norm, c->dim)) ||
        (s = MAT("self_attn.q_proj.weight", l->wq)) || (s = VEC("self_attn.q_proj.bias", l->bq, q_dim)) ||
        (s = MAT("self_attn.k_proj.weight", l->wk)) || (s = VEC("self_attn.k_proj.bias", l->bk, kv_dim)) ||
        (s = MAT("self_attn.v_proj.weight", l->wv)) || (s = VEC("self_attn.v_proj.bias", l->bv, kv_dim)) ||
        (s = MAT("self_attn.o_proj.weight", l->wo)) ||
        (s = VEC("self_attn.q_norm.weight", l->q_norm, c->head_dim)) ||
        (s = VEC("self_attn.k_norm.weight", l->k_norm, c->head_dim)) ||
        (s = VEC("post_attention_layernorm.weight", l->ffn_norm, c->dim)) ||
        (s = MAT("mlp.gate_proj.weight", l->w_gate)) || (s = MAT("mlp.up_proj.weight", l->w_up)) ||
        (s = MAT("mlp.down_proj.weight", l->w_down)))
        return s;
#undef NM
#undef MAT
#undef VEC
    return SIDR_OK;
}

static sidr_status check_head(const sidr_model *m)
{
    sidr_status s = check_block(m, "model.norm.weight", m->final_norm, SIDR_F32, m->cfg.dim, 1);
    if (!s && !m->cfg.tie_embeddings)
        s = check_block(m, "lm_head.weight", m->lm_head.data, m->lm_head.dtype, m->lm_head.rows, m->lm_head.cols);
    return s;
}

sidr_status sidr_model_check_finite(const sidr_model *m)
{
    sidr_status s = check_block(m, "model.embed_tokens.weight", m->embed.data, m->embed.dtype, m->embed.rows,
                                m->embed.cols);
    for (int i = 0; i < m->cfg.n_layers && !s; i++) s = check_layer(m, i);
    if (!s) s = check_head(m);
    return s;
}

long long sidr_model_weight_bytes(const sidr_model *m)
{
    long long b = 0;
    for (int i = 0; i < m->st.n_tensors; i++) b += (long long)m->st.tensors[i].nbytes;
    return b;
}

static long long mat_numel(const sidr_mat *w) { return (long long)w->rows * w->cols; }
static long long mat_bytes(const sidr_mat *w) { return mat_numel(w) * (long long)sidr_dtype_size(w->dtype); }

long long sidr_model_n_params(const sidr_model *m)
{
    const sidr_config *c = &m->cfg;
    long long n = mat_numel(&m->embed) + (c->tie_embeddings ? 0 : mat_numel(&m->lm_head)) + c->dim;
    for (int i = 0; i < c->n_layers; i++) {
        const sidr_layer *l = &m->layers[i];
        n += mat_numel(&l->wq) + mat_numel(&l->wk) + mat_numel(&l->wv) + mat_numel(&l->wo) +
             mat_numel(&l->w_gate) + mat_numel(&l->w_up) + mat_numel(&l->w_down) + 2LL * c->dim;
        if (c->qk_norm) n += 2LL * c->head_dim;
        if (c->qkv_bias) n += (long long)(c->n_heads + 2 * c->n_kv_heads) * c->head_dim;
    }
    return n;
}

long long sidr_model_bytes_per_token(const sidr_model *m)
{
    /* A decode step reads every layer matrix and the LM head once; the
     * embedding contributes one row. */
    long long b = mat_bytes(&m->lm_head) + (long long)m->cfg.dim * sidr_dtype_size(m->embed.dtype);
    for (int i = 0; i < m->cfg.n_layers; i++) {
        const sidr_layer *l = &m->layers[i];
        b += mat_bytes(&l->wq) + mat_bytes(&l->wk) + mat_bytes(&l->wv) + mat_bytes(&l->wo) +
             mat_bytes(&l->w_gate) + mat_bytes(&l->w_up) + mat_bytes(&l->w_down);
    }
    return b;
}

void sidr_model_embedding(const sidr_model *m, int token, float *out)
{
    size_t esz = sidr_dtype_size(m->embed.dtype);
    sidr_to_f32(out, (const char *)m->embed.data + (size_t)token * m->cfg.dim * esz, m->embed.dtype, m->cfg.dim);
}

/* ---- caches ----------------------------------------------------------------- */

sidr_status sidr_kv_init(sidr_kv *kv, const sidr_config *c, int cap)
{
    memset(kv, 0, sizeof *kv);
    if (cap <= 0) return sidr_fail(SIDR_ERR_ARG, "KV cache capacity must be positive (got %d)", cap);
    kv->n_layers = c->n_layers;
    kv->kv_dim = c->n_kv_heads * c->head_dim;
    kv->cap = cap;
    size_t n = (size_t)c->n_layers * cap * kv->kv_dim;
    kv->k = xaligned(n * sizeof(float));
    kv->v = xaligned(n * sizeof(float));
    return SIDR_OK;
}

void sidr_kv_free(sidr_kv *kv)
{
    free(kv->k);
    free(kv->v);
    memset(kv, 0, sizeof *kv);
}

sidr_status sidr_branches_init(sidr_branches *b, const sidr_kv *prefix, int n_seq, int cap)
{
    memset(b, 0, sizeof *b);
    if (n_seq <= 0 || cap <= 0)
        return sidr_fail(SIDR_ERR_ARG, "branches need n_seq > 0 and cap > 0 (got %d, %d)", n_seq, cap);
    b->prefix = prefix;
    b->n_layers = prefix->n_layers;
    b->kv_dim = prefix->kv_dim;
    b->n_seq = n_seq;
    b->cap = cap;
    size_t n = (size_t)b->n_layers * n_seq * cap * b->kv_dim;
    b->k = xaligned(n * sizeof(float));
    b->v = xaligned(n * sizeof(float));
    b->tmp = xaligned((size_t)n_seq * cap * b->kv_dim * sizeof(float));
    return SIDR_OK;
}

void sidr_branches_free(sidr_branches *b)
{
    free(b->k);
    free(b->v);
    free(b->tmp);
    memset(b, 0, sizeof *b);
}

void sidr_branches_reorder(sidr_branches *b, const int *parent)
{
    size_t seq = (size_t)b->cap * b->kv_dim, used = (size_t)b->len * b->kv_dim;
    float *bufs[2] = { b->k, b->v };
    for (int w = 0; w < 2; w++)
        for (int l = 0; l < b->n_layers; l++) {
            float *layer = bufs[w] + (size_t)l * b->n_seq * seq;
            for (int i = 0; i < b->n_seq; i++) memcpy(b->tmp + i * seq, layer + (size_t)parent[i] * seq, used * sizeof(float));
            for (int i = 0; i < b->n_seq; i++) memcpy(layer + i * seq, b->tmp + i * seq, used * sizeof(float));
        }
}

/* ---- state ------------------------------------------------------------------ */

struct sidr_state {
    int max_T;
    float *x, *xb, *xb2, *q, *k, *v, *att, *hb, *hb2;
    float *scores;
    size_t scores_cap;
    int *pos;
    int bad_layer;          /* first layer whose output held NaN/Inf in this call, or -1 */
};

sidr_state *sidr_state_new(const sidr_model *m, int max_tokens)
{
    const sidr_config *c = &m->cfg;
    if (max_tokens < 1) max_tokens = 1;
    sidr_state *s = xcalloc(1, sizeof *s);
    size_t T = (size_t)max_tokens, q_dim = (size_t)c->n_heads * c->head_dim,
           kv_dim = (size_t)c->n_kv_heads * c->head_dim;
    s->max_T = max_tokens;
    s->bad_layer = -1;
    s->x = xaligned(T * c->dim * sizeof(float));
    s->xb = xaligned(T * c->dim * sizeof(float));
    s->xb2 = xaligned(T * c->dim * sizeof(float));
    s->q = xaligned(T * q_dim * sizeof(float));
    s->att = xaligned(T * q_dim * sizeof(float));
    s->k = xaligned(T * kv_dim * sizeof(float));
    s->v = xaligned(T * kv_dim * sizeof(float));
    s->hb = xaligned(T * c->hidden_dim * sizeof(float));
    s->hb2 = xaligned(T * c->hidden_dim * sizeof(float));
    s->pos = xmalloc(T * sizeof(int));
    return s;
}

void sidr_state_free(sidr_state *s)
{
    if (!s) return;
    free(s->x); free(s->xb); free(s->xb2); free(s->q); free(s->att);
    free(s->k); free(s->v); free(s->hb); free(s->hb2); free(s->scores); free(s->pos);
    free(s);
}

static float *scores_buf(sidr_state *s, size_t n)
{
    if (s->scores_cap < n) {
        free(s->scores);
        s->scores = xaligned(n * sizeof(float));
        s->scores_cap = n;
    }
    return s->scores;
}

/* ---- the layer math --------------------------------------------------------- */

static void rope(float *vec, int n_heads, int head_dim, int pos, const float *inv_freq)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        float angle = (float)pos * inv_freq[i];  /* f32 product, as HF computes it */
        float cs = (float)cos((double)angle), sn = (float)sin((double)angle);
        for (int h = 0; h < n_heads; h++) {
            float *x = vec + h * head_dim;
            float x1 = x[i], x2 = x[i + half];
            x[i] = x1 * cs - x2 * sn;
            x[i + half] = x2 * cs + x1 * sn;
        }
    }
}

/* Where one row's keys live: a span of the shared cache, then optionally a
 * span of its own branch. */
typedef struct {
    const float *k0, *v0; int n0;   /* [n0][kv_dim] */
    const float *k1, *v1; int n1;
} key_spans;


/* Attention of one query head over the keys in sp (already including the
 * row's own key); scores is scratch of n0+n1 floats. */
static void attend(float *out, const float *q, const key_spans *sp, int kv_dim, int g, int hd,
                   float scale, float *scores)
{
    int n = sp->n0 + sp->n1;
    for (int j = 0; j < sp->n0; j++) scores[j] = sidr_dot(q, sp->k0 + (size_t)j * kv_dim + g * hd, hd) * scale;
    for (int j = 0; j < sp->n1; j++) scores[sp->n0 + j] = sidr_dot(q, sp->k1 + (size_t)j * kv_dim + g * hd, hd) * scale;
    sidr_softmax(scores, n);
    memset(out, 0, hd * sizeof(float));
    for (int j = 0; j < n; j++) {
        const float *v = j < sp->n0 ? sp->v0 + (size_t)j * kv_dim : sp->v1 + (size_t)(j - sp->n0) * kv_dim;
        v += g * hd;
        sidr_axpy(out, scores[j], v, hd);
    }
}

/* Attention of the rows of one call (a prefill, decode steps, beams), one
 * task per (row, head), each query alone as in a decode step: each row's
 * keys are the shared cache, then optionally its own branch. */
typedef struct {
    sidr_state *s;
    const sidr_config *c;
    const float *K, *V;       /* shared cache of this layer */
    int base_len;             /* keys of the shared cache every row sees */
    int causal;               /* single sequence: row t also sees rows < t of this call */
    const float *BK, *BV;     /* branches of this layer, or NULL */
    size_t seq;               /* floats per branch */
    int branch_len;           /* keys per branch including this step */
    int ctx;                  /* score slots per thread */
    float *scores;            /* [threads][ctx] */
} row_attn;

static void rows_heads(void *arg, int i0, int i1, int thread)
{
    row_attn *a = arg;
    const sidr_config *c = a->c;
    int hd = c->head_dim, q_dim = c->n_heads * hd, kv_dim = c->n_kv_heads * hd;
    int group = c->n_heads / c->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int i = i0; i < i1; i++) {
        int t = i / c->n_heads, h = i % c->n_heads;
        key_spans sp = { a->K, a->V, a->base_len + (a->causal ? t + 1 : 0), NULL, NULL, 0 };
        if (a->BK) {
            sp.k1 = a->BK + t * a->seq;
            sp.v1 = a->BV + t * a->seq;
            sp.n1 = a->branch_len;
        }
        attend(a->s->att + (size_t)t * q_dim + h * hd, a->s->q + (size_t)t * q_dim + h * hd, &sp, kv_dim, h / group,
               hd, scale, a->scores + (size_t)thread * a->ctx);
    }
}

/* Bias, q/k norm and RoPE for rows [t0, t1). */
typedef struct {
    sidr_model *m;
    sidr_state *s;
    const sidr_layer *l;
} qk_job;

static void qk_rows(void *arg, int t0, int t1, int thread)
{
    qk_job *j = arg;
    const sidr_config *c = &j->m->cfg;
    const sidr_layer *l = j->l;
    sidr_state *s = j->s;
    int hd = c->head_dim, q_dim = c->n_heads * hd, kv_dim = c->n_kv_heads * hd;
    (void)thread;
    for (int t = t0; t < t1; t++) {
        float *q = s->q + (size_t)t * q_dim, *k = s->k + (size_t)t * kv_dim, *v = s->v + (size_t)t * kv_dim;
        if (l->bq) {
            for (int i = 0; i < q_dim; i++) q[i] += l->bq[i];
            for (int i = 0; i < kv_dim; i++) { k[i] += l->bk[i]; v[i] += l->bv[i]; }
        }
        if (l->q_norm) {
            for (int h = 0; h < c->n_heads; h++) sidr_rmsnorm(q + h * hd, q + h * hd, l->q_norm, hd, c->norm_eps);
            for (int h = 0; h < c->n_kv_heads; h++) sidr_rmsnorm(k + h * hd, k + h * hd, l->k_norm, hd, c->norm_eps);
        }
        rope(q, c->n_heads, hd, s->pos[t], j->m->rope_inv_freq);
        rope(k, c->n_kv_heads, hd, s->pos[t], j->m->rope_inv_freq);
    }
}

static void silu_mul(float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) a[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
}

/* How the rows of one call map to caches. */
typedef struct {
    sidr_kv *kv;            /* single sequence: rows are positions kv->len + t */
    sidr_branches *br;      /* branches: row i is sequence i at prefix->len + br->len */
} row_target;

/* Capture: which capture slot row t (at position p) fills, -1 when none. */
static int capture_slot(const sidr_capture *cap, int p)
{
    for (int i = 0; i < cap->n_pos; i++)
        if (cap->pos[i] == p) return i;
    return -1;
}

/* Recomputes the softmax of a captured row's heads over keys 0..p of the
 * cache (the same products as the forward's, in f32). */
static void capture_attention(const sidr_capture *cap, int slot, int li, const sidr_config *c, const float *q,
                              const float *K, int p)
{
    int hd = c->head_dim, kv_dim = c->n_kv_heads * hd, group = c->n_heads / c->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int h = 0; h < c->n_heads; h++) {
        float *row = sidr_capture_attn(cap, slot, li, h);
        int g = h / group;
        for (int j = 0; j <= p; j++) row[j] = sidr_dot(q + h * hd, K + (size_t)j * kv_dim + g * hd, hd) * scale;
        sidr_softmax(row, p + 1);
        memset(row + p + 1, 0, (size_t)(cap->max_keys - p - 1) * sizeof(float));
    }
}

/* Runs T rows (embeddings already in s->x) through every layer. */
static void layers_forward(sidr_model *m, sidr_state *s, int T, const row_target *tg, sidr_capture *cap)
{
    const sidr_config *c = &m->cfg;
    int hd = c->head_dim, q_dim = c->n_heads * hd, kv_dim = c->n_kv_heads * hd, D = c->dim;

    for (int li = 0; li < c->n_layers; li++) {
        const sidr_layer *l = &m->layers[li];
        for (int t = 0; t < T; t++) sidr_rmsnorm(s->xb + (size_t)t * D, s->x + (size_t)t * D, l->attn_norm, D, c->norm_eps);
        sidr_mm_part qkv[3] = { { s->q, l->wq.data, l->wq.dtype, q_dim }, { s->k, l->wk.data, l->wk.dtype, kv_dim },
                                { s->v, l->wv.data, l->wv.dtype, kv_dim } };
        sidr_matmul_group(qkv, 3, s->xb, T, D, m->numerics);
        qk_job qj = { m, s, l };
        if (T > 4) sidr_parallel_for(T, qk_rows, &qj);
        else qk_rows(&qj, 0, T, 0);
        if (tg->kv) {
            sidr_kv *kv = tg->kv;
            size_t base = (size_t)li * kv->cap * kv_dim;
            float *K = kv->k + base, *V = kv->v + base;
            memcpy(K + (size_t)kv->len * kv_dim, s->k, (size_t)T * kv_dim * sizeof(float));
            memcpy(V + (size_t)kv->len * kv_dim, s->v, (size_t)T * kv_dim * sizeof(float));
            /* one query at a time, as a decode step does, so that a position's
             * attention is the same in a prefill of any length */
            row_attn a = { s, c, K, V, kv->len, 1, NULL, NULL, 0, 0, kv->len + T, NULL };
            a.scores = scores_buf(s, (size_t)sidr_threads_count() * a.ctx);
            if ((size_t)T * a.ctx > 64) sidr_parallel_for(T * c->n_heads, rows_heads, &a);
            else rows_heads(&a, 0, T * c->n_heads, 0);
            if (cap)
                for (int t = 0; t < T; t++) {
                    int slot = capture_slot(cap, kv->len + t);
                    if (slot >= 0) capture_attention(cap, slot, li, c, s->q + (size_t)t * q_dim, K, kv->len + t);
                }
        } else {
            sidr_branches *br = tg->br;
            const sidr_kv *pre = br->prefix;
            size_t seq = (size_t)br->cap * kv_dim, layer = (size_t)br->n_seq * seq;
            float *BK = br->k + li * layer, *BV = br->v + li * layer;
            for (int i = 0; i < T; i++) {
                memcpy(BK + i * seq + (size_t)br->len * kv_dim, s->k + (size_t)i * kv_dim, kv_dim * sizeof(float));
                memcpy(BV + i * seq + (size_t)br->len * kv_dim, s->v + (size_t)i * kv_dim, kv_dim * sizeof(float));
            }
            size_t pbase = (size_t)li * pre->cap * kv_dim;
            row_attn a = { s, c, pre->k + pbase, pre->v + pbase, pre->len, 0, BK, BV, seq, br->len + 1,
                           pre->len + br->len + 1, NULL };
            a.scores = scores_buf(s, (size_t)sidr_threads_count() * a.ctx);
            sidr_parallel_for(T * c->n_heads, rows_heads, &a);
        }
        sidr_matmul(s->xb2, s->att, l->wo.data, l->wo.dtype, T, D, q_dim, m->numerics);
        for (size_t i = 0; i < (size_t)T * D; i++) s->x[i] += s->xb2[i];

        for (int t = 0; t < T; t++) sidr_rmsnorm(s->xb + (size_t)t * D, s->x + (size_t)t * D, l->ffn_norm, D, c->norm_eps);
        sidr_mm_part gate_up[2] = { { s->hb, l->w_gate.data, l->w_gate.dtype, c->hidden_dim },
                                    { s->hb2, l->w_up.data, l->w_up.dtype, c->hidden_dim } };
        sidr_matmul_group(gate_up, 2, s->xb, T, D, m->numerics);
        silu_mul(s->hb, s->hb2, (size_t)T * c->hidden_dim);
        sidr_matmul(s->xb2, s->hb, l->w_down.data, l->w_down.dtype, T, D, c->hidden_dim, m->numerics);
        for (size_t i = 0; i < (size_t)T * D; i++) s->x[i] += s->xb2[i];
        if (cap && tg->kv)
            for (int t = 0; t < T; t++) {
                int slot = capture_slot(cap, tg->kv->len + t);
                if (slot < 0) continue;
                memcpy(sidr_capture_resid(cap, slot, li), s->x + (size_t)t * D, (size_t)D * sizeof(float));
                if (li == c->n_layers - 1) cap->done[slot] = 1;
            }
        int is_nan;
        if (s->bad_layer < 0 && first_nonfinite(s->x, SIDR_F32, (size_t)T * D, &is_nan) >= 0) s->bad_layer = li;
    }
}

/* After a call whose hidden states or logits turned NaN/Inf: names the first
 * weight at fault, or the layer whose activations overflowed. */
static sidr_status nonfinite_error(const sidr_model *m, const sidr_state *s)
{
    const sidr_config *c = &m->cfg;
    sidr_status st = check_block(m, "model.embed_tokens.weight", m->embed.data, m->embed.dtype, m->embed.rows,
                                 m->embed.cols);
    int last = s->bad_layer >= 0 ? s->bad_layer : c->n_layers - 1;
    for (int i = 0; i <= last && !st; i++) st = check_layer(m, i);
    if (!st && s->bad_layer < 0) st = check_head(m);
    if (st && s->bad_layer >= 0)
        return sidr_fail_context(SIDR_ERR_FORMAT, "the hidden state turns non-finite (NaN or Inf) in layer %d",
                                 s->bad_layer);
    if (st) return sidr_fail_context(SIDR_ERR_FORMAT, "the logits are not finite (NaN or Inf)");
    if (s->bad_layer >= 0)
        return sidr_fail(SIDR_ERR_RANGE, "%s: the hidden state turns non-finite (NaN or Inf) in layer %d "
                         "(model.layers.%d.*), whose weights are finite: the activations overflow", m->dir,
                         s->bad_layer, s->bad_layer);
    return sidr_fail(SIDR_ERR_RANGE, "%s: the logits are not finite (NaN or Inf) although every weight and hidden "
                     "state is: the LM head overflows", m->dir);
}

static sidr_status check_logits(const sidr_model *m, const sidr_state *s, const float *logits, size_t n)
{
    int is_nan;
    if (s->bad_layer >= 0 || (logits && first_nonfinite(logits, SIDR_F32, n, &is_nan) >= 0))
        return nonfinite_error(m, s);
    return SIDR_OK;
}

static sidr_status check_tokens(const sidr_model *m, const int *tokens, int n)
{
    for (int t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= m->cfg.vocab_size)
            return sidr_fail(SIDR_ERR_RANGE, "token id %d is outside the vocabulary [0, %d)", tokens[t],
                             m->cfg.vocab_size);
    return SIDR_OK;
}

static void embed_rows(sidr_model *m, sidr_state *s, const int *tokens, int T)
{
    for (int t = 0; t < T; t++) sidr_model_embedding(m, tokens[t], s->x + (size_t)t * m->cfg.dim);
}

/* Final norm and LM head for rows [first, first+n) of s->x. */
static void head(sidr_model *m, sidr_state *s, int first, int n, float *logits)
{
    int D = m->cfg.dim;
    for (int t = 0; t < n; t++)
        sidr_rmsnorm(s->xb + (size_t)t * D, s->x + (size_t)(first + t) * D, m->final_norm, D, m->cfg.norm_eps);
    sidr_matmul(logits, s->xb, m->lm_head.data, m->lm_head.dtype, n, m->cfg.vocab_size, D, m->numerics);
}

sidr_status sidr_capture_init(sidr_capture *c, const sidr_config *cfg, const int *pos, int n_pos, int max_keys)
{
    memset(c, 0, sizeof *c);
    if (n_pos < 1 || max_keys < 1) return sidr_fail(SIDR_ERR_ARG, "a capture needs at least one position and one key");
    for (int i = 0; i < n_pos; i++)
        if (pos[i] < 0 || pos[i] >= max_keys)
            return sidr_fail(SIDR_ERR_RANGE, "capture position %d is outside [0, %d)", pos[i], max_keys);
    c->n_pos = n_pos;
    c->pos = xmalloc((size_t)n_pos * sizeof(int));
    memcpy(c->pos, pos, (size_t)n_pos * sizeof(int));
    c->n_layers = cfg->n_layers;
    c->n_heads = cfg->n_heads;
    c->dim = cfg->dim;
    c->max_keys = max_keys;
    c->attn = xcalloc((size_t)n_pos * cfg->n_layers * cfg->n_heads * max_keys, sizeof(float));
    c->resid = xcalloc((size_t)n_pos * cfg->n_layers * cfg->dim, sizeof(float));
    c->done = xcalloc((size_t)n_pos, sizeof(int));
    return SIDR_OK;
}

void sidr_capture_free(sidr_capture *c)
{
    free(c->pos);
    free(c->attn);
    free(c->resid);
    free(c->done);
    memset(c, 0, sizeof *c);
}

void sidr_lens(const sidr_model *m, const float *resid, float *logits)
{
    int D = m->cfg.dim;
    float *xb = xaligned((size_t)D * sizeof(float));
    sidr_rmsnorm(xb, resid, m->final_norm, D, m->cfg.norm_eps);
    sidr_matmul(logits, xb, m->lm_head.data, m->lm_head.dtype, 1, m->cfg.vocab_size, D, m->numerics);
    free(xb);
}

sidr_status sidr_forward(sidr_model *m, sidr_state *s, sidr_kv *kv, const int *tokens, int n, float *logits, int which)
{
    return sidr_forward_capture(m, s, kv, tokens, n, logits, which, NULL);
}

sidr_status sidr_forward_capture(sidr_model *m, sidr_state *s, sidr_kv *kv, const int *tokens, int n, float *logits,
                                 int which, sidr_capture *cap)
{
    if (n <= 0) return sidr_fail(SIDR_ERR_ARG, "forward needs at least one token");
    if (kv->len + n > kv->cap)
        return sidr_fail(SIDR_ERR_RANGE, "sequence of %d tokens exceeds the KV cache capacity %d", kv->len + n, kv->cap);
    /* Refuse bad ids before any chunk touches the cache. */
    sidr_status st = check_tokens(m, tokens, n);
    if (st) return st;
    s->bad_layer = -1;
    for (int done = 0; done < n;) {
        int T = n - done < s->max_T ? n - done : s->max_T;
        embed_rows(m, s, tokens + done, T);
        for (int t = 0; t < T; t++) s->pos[t] = kv->len + t;
        row_target tg = { kv, NULL };
        layers_forward(m, s, T, &tg, cap);
        kv->len += T;
        if (which == SIDR_LOGITS_ALL) head(m, s, 0, T, logits + (size_t)done * m->cfg.vocab_size);
        done += T;
        if (which == SIDR_LOGITS_LAST && done == n) head(m, s, T - 1, 1, logits);
    }
    size_t V = (size_t)m->cfg.vocab_size;
    return check_logits(m, s, which == SIDR_LOGITS_NONE ? NULL : logits, which == SIDR_LOGITS_ALL ? n * V : V);
}

sidr_status sidr_forward_branches(sidr_model *m, sidr_state *s, sidr_branches *b, const int *tokens, float *logits)
{
    if (b->n_seq > s->max_T)
        return sidr_fail(SIDR_ERR_ARG, "%d branches exceed the state's %d rows", b->n_seq, s->max_T);
    if (b->len >= b->cap)
        return sidr_fail(SIDR_ERR_RANGE, "branches are full (%d tokens)", b->cap);
    sidr_status st = check_tokens(m, tokens, b->n_seq);
    if (st) return st;
    embed_rows(m, s, tokens, b->n_seq);
    s->bad_layer = -1;
    for (int i = 0; i < b->n_seq; i++) s->pos[i] = b->prefix->len + b->len;
    row_target tg = { NULL, b };
    layers_forward(m, s, b->n_seq, &tg, NULL);
    b->len++;
    if (logits) head(m, s, 0, b->n_seq, logits);
    return check_logits(m, s, logits, (size_t)b->n_seq * m->cfg.vocab_size);
}

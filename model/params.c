#include "params.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels.h"
#include "model_init.h"
#include "threads.h"
#include "util.h"

/* ---- layout ------------------------------------------------------------------ */

typedef struct {
    sidr_params *p;
    int cap;
    size_t off;
} layout_builder;

static sidr_param_view *add_view(layout_builder *lb, const char *name, sidr_param_kind kind, int ndim,
                                 int64_t d0, int64_t d1)
{
    sidr_params *p = lb->p;
    if (p->n_views == lb->cap) {
        lb->cap = lb->cap ? 2 * lb->cap : 64;
        p->views = xrealloc(p->views, (size_t)lb->cap * sizeof *p->views);
    }
    sidr_param_view *v = &p->views[p->n_views++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->kind = kind;
    v->ndim = ndim;
    v->shape[0] = d0;
    v->shape[1] = ndim > 1 ? d1 : 0;
    v->numel = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
    v->offset = lb->off;
    lb->off += v->numel;
    return v;
}

/* The tensors in the order Hugging Face writes them (as tests/ref and
 * model_init do). */
static void build_layout(sidr_params *p)
{
    const sidr_config *c = &p->cfg;
    int64_t D = c->dim, I = c->hidden_dim, V = c->vocab_size;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    layout_builder lb = { p, 0, 0 };
    char name[96];
    add_view(&lb, "model.embed_tokens.weight", SIDR_PARAM_EMBED, 2, V, D);
    for (int i = 0; i < c->n_layers; i++) {
#define ADD(suffix, kind, nd, a, b) \
        (snprintf(name, sizeof name, "model.layers.%d.%s", i, suffix), add_view(&lb, name, kind, nd, a, b))
        ADD("input_layernorm.weight", SIDR_PARAM_NORM, 1, D, 0);
        ADD("self_attn.q_proj.weight", SIDR_PARAM_MATRIX, 2, qd, D);
        if (c->qkv_bias) ADD("self_attn.q_proj.bias", SIDR_PARAM_BIAS, 1, qd, 0);
        ADD("self_attn.k_proj.weight", SIDR_PARAM_MATRIX, 2, kvd, D);
        if (c->qkv_bias) ADD("self_attn.k_proj.bias", SIDR_PARAM_BIAS, 1, kvd, 0);
        ADD("self_attn.v_proj.weight", SIDR_PARAM_MATRIX, 2, kvd, D);
        if (c->qkv_bias) ADD("self_attn.v_proj.bias", SIDR_PARAM_BIAS, 1, kvd, 0);
        ADD("self_attn.o_proj.weight", SIDR_PARAM_MATRIX, 2, D, qd);
        if (c->qk_norm) {
            ADD("self_attn.q_norm.weight", SIDR_PARAM_NORM, 1, c->head_dim, 0);
            ADD("self_attn.k_norm.weight", SIDR_PARAM_NORM, 1, c->head_dim, 0);
        }
        ADD("post_attention_layernorm.weight", SIDR_PARAM_NORM, 1, D, 0);
        ADD("mlp.gate_proj.weight", SIDR_PARAM_MATRIX, 2, I, D);
        ADD("mlp.up_proj.weight", SIDR_PARAM_MATRIX, 2, I, D);
        ADD("mlp.down_proj.weight", SIDR_PARAM_MATRIX, 2, D, I);
#undef ADD
    }
    add_view(&lb, "model.norm.weight", SIDR_PARAM_NORM, 1, D, 0);
    if (!c->tie_embeddings) add_view(&lb, "lm_head.weight", SIDR_PARAM_EMBED, 2, V, D);
    p->n = lb.off;
}

/* Points the named fields at the buffer. */
static void bind_fields(sidr_params *p)
{
    const sidr_config *c = &p->cfg;
    int k = 0;
    float *d = p->data;
#define NEXT() (d + p->views[k++].offset)
    p->embed = NEXT();
    for (int i = 0; i < c->n_layers; i++) {
        sidr_layer_params *l = &p->layers[i];
        l->attn_norm = NEXT();
        l->wq = NEXT();
        if (c->qkv_bias) l->bq = NEXT();
        l->wk = NEXT();
        if (c->qkv_bias) l->bk = NEXT();
        l->wv = NEXT();
        if (c->qkv_bias) l->bv = NEXT();
        l->wo = NEXT();
        if (c->qk_norm) { l->q_norm = NEXT(); l->k_norm = NEXT(); }
        l->ffn_norm = NEXT();
        l->w_gate = NEXT();
        l->w_up = NEXT();
        l->w_down = NEXT();
    }
    p->final_norm = NEXT();
    p->lm_head = c->tie_embeddings ? p->embed : NEXT();
#undef NEXT
}

sidr_status sidr_params_init(sidr_params *p, const sidr_config *cfg)
{
    memset(p, 0, sizeof *p);
    const sidr_config *c = cfg;
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->head_dim <= 0 || c->vocab_size <= 0 || c->n_heads % c->n_kv_heads || c->head_dim % 2)
        return sidr_fail(SIDR_ERR_ARG, "parameters: inconsistent sizes (hidden %d, ffn %d, layers %d, heads %d/%d, "
                         "head_dim %d, vocab %d)", c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                         c->head_dim, c->vocab_size);
    p->cfg = *cfg;
    build_layout(p);
    p->data = xaligned((p->n ? p->n : 1) * sizeof(float));
    memset(p->data, 0, p->n * sizeof(float));
    p->layers = xcalloc((size_t)c->n_layers, sizeof *p->layers);
    bind_fields(p);
    return SIDR_OK;
}

void sidr_params_free(sidr_params *p)
{
    free(p->data);
    free(p->views);
    free(p->layers);
    free(p->src_dir);
    memset(p, 0, sizeof *p);
}

typedef struct {
    float *dst;
    const void *src;
    void *out;
    sidr_dtype dtype;
    size_t n;
    int parts;
} slice_job;

static void slice_bounds(const slice_job *j, int k, size_t *a, size_t *b)
{
    *a = j->n * (size_t)k / j->parts;
    *b = j->n * (size_t)(k + 1) / j->parts;
}

static void zero_slices(void *ctx, int k0, int k1, int thread)
{
    const slice_job *j = ctx;
    size_t a, b, c, d;
    slice_bounds(j, k0, &a, &b);
    slice_bounds(j, k1 - 1, &c, &d);
    memset(j->dst + a, 0, (d - a) * sizeof(float));
}

/* Work in 64 slices across the pool when large, on the caller when small. */
static void run_slices(slice_job *j, sidr_range_fn fn)
{
    j->parts = j->n > ((size_t)1 << 18) ? 64 : 1;
    if (j->parts == 1) fn(j, 0, 1, 0);
    else sidr_parallel_for(j->parts, fn, j);
}

void sidr_params_zero(sidr_params *p)
{
    slice_job j = { .dst = p->data, .n = p->n };
    run_slices(&j, zero_slices);
}

static int same_layout(const sidr_params *a, const sidr_params *b)
{
    if (a->n != b->n || a->n_views != b->n_views) return 0;
    for (int i = 0; i < a->n_views; i++)
        if (strcmp(a->views[i].name, b->views[i].name) || a->views[i].offset != b->views[i].offset) return 0;
    return 1;
}

sidr_status sidr_params_copy(sidr_params *dst, const sidr_params *src)
{
    if (!same_layout(dst, src))
        return sidr_fail(SIDR_ERR_SHAPE, "parameters: cannot copy between different layouts (%zu vs %zu floats)",
                         src->n, dst->n);
    memcpy(dst->data, src->data, src->n * sizeof(float));
    return SIDR_OK;
}

sidr_status sidr_params_clone(sidr_params *dst, const sidr_params *src)
{
    sidr_status s = sidr_params_init(dst, &src->cfg);
    if (s) return s;
    memcpy(dst->data, src->data, src->n * sizeof(float));
    if (src->src_dir) dst->src_dir = xstrdup(src->src_dir);
    return SIDR_OK;
}

const sidr_param_view *sidr_params_find(const sidr_params *p, const char *name)
{
    for (int i = 0; i < p->n_views; i++)
        if (!strcmp(p->views[i].name, name)) return &p->views[i];
    return NULL;
}

/* ---- loading ------------------------------------------------------------------ */

static void widen_slices(void *ctx, int k0, int k1, int thread)
{
    const slice_job *j = ctx;
    size_t a, b, c, d, esz = sidr_dtype_size(j->dtype);
    slice_bounds(j, k0, &a, &b);
    slice_bounds(j, k1 - 1, &c, &d);
    sidr_to_f32(j->dst + a, (const char *)j->src + a * esz, j->dtype, d - a);
}

sidr_status sidr_params_load(sidr_params *p, const char *dir)
{
    memset(p, 0, sizeof *p);
    if (!file_exists(dir)) return sidr_fail(SIDR_ERR_IO, "%s: model folder does not exist", dir);
    sidr_config cfg;
    char *cfg_path = path_join(dir, "config.json");
    sidr_status s = sidr_config_load(&cfg, cfg_path);
    free(cfg_path);
    if (s) return s;
    sidr_safetensors st;
    if ((s = sidr_st_open_dir(&st, dir))) return s;
    /* A corrupt config must not turn into a huge allocation. */
    if (cfg.n_layers > st.n_tensors) {
        s = sidr_fail(SIDR_ERR_SHAPE, "%s: config.json says num_hidden_layers = %d but the weights hold only %d tensors",
                      dir, cfg.n_layers, st.n_tensors);
        sidr_st_close(&st);
        return s;
    }
    for (int i = 0; i < st.n_tensors; i++) {
        const sidr_tensor *t = &st.tensors[i];
        if (!strcmp(t->name, "model.embed_tokens.weight") &&
            (t->ndim != 2 || t->shape[0] != cfg.vocab_size || t->shape[1] != cfg.dim)) {
            s = sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has shape [%lld, %lld] (%d dims); config.json implies [%d, %d]",
                          t->file, t->name, (long long)t->shape[0], (long long)(t->ndim > 1 ? t->shape[1] : 0),
                          t->ndim, cfg.vocab_size, cfg.dim);
            sidr_st_close(&st);
            return s;
        }
    }
    if ((s = sidr_st_check_layers(&st, cfg.n_layers, dir)) || (s = sidr_params_init(p, &cfg))) {
        sidr_st_close(&st);
        return s;
    }
    sidr_kernels_init();
    for (int i = 0; i < p->n_views && !s; i++) {
        const sidr_param_view *v = &p->views[i];
        const sidr_tensor *t = sidr_st_find(&st, v->name);
        if (!t) {
            s = sidr_fail(SIDR_ERR_MISSING, "%s: tensor '%s' is missing from the safetensors files", dir, v->name);
            break;
        }
        if (t->dtype != SIDR_F32 && t->dtype != SIDR_BF16 && t->dtype != SIDR_F16) {
            s = sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has dtype %s (expected F32, BF16 or F16)", t->file,
                          v->name, sidr_dtype_name(t->dtype));
            break;
        }
        int ok = t->ndim == v->ndim && t->shape[0] == v->shape[0] && (v->ndim == 1 || t->shape[1] == v->shape[1]);
        if (!ok) {
            if (v->ndim == 2)
                s = sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has shape [%lld, %lld] (%d dims); config.json implies "
                              "[%lld, %lld]", t->file, v->name, (long long)t->shape[0],
                              (long long)(t->ndim > 1 ? t->shape[1] : 0), t->ndim, (long long)v->shape[0],
                              (long long)v->shape[1]);
            else
                s = sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' has %d dims and %lld elements; config.json implies [%lld]",
                              t->file, v->name, t->ndim, (long long)sidr_tensor_numel(t), (long long)v->shape[0]);
            break;
        }
        /* Widen in parallel slices: exact for every float dtype. */
        slice_job j = { .dst = p->data + v->offset, .src = t->data, .dtype = t->dtype, .n = v->numel };
        run_slices(&j, widen_slices);
        const float *w = p->data + v->offset;
        for (size_t k = 0; k < v->numel; k++)
            if (!isfinite(w[k])) {
                char at[64];
                if (v->ndim == 2) snprintf(at, sizeof at, "[%lld, %lld]", (long long)(k / (size_t)v->shape[1]),
                                           (long long)(k % (size_t)v->shape[1]));
                else snprintf(at, sizeof at, "[%zu]", k);
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: tensor '%s' holds %s at element %s (weights must be finite)",
                              t->file, v->name, isnan(w[k]) ? "NaN" : "Inf", at);
                break;
            }
    }
    sidr_st_close(&st);
    if (s) {
        sidr_params_free(p);
        return s;
    }
    p->src_dir = xstrdup(dir);
    return SIDR_OK;
}

/* ---- saving ------------------------------------------------------------------- */


/* Writes n bytes to path through a temporary file and a rename. */
static sidr_status write_atomic(const char *path, const void *data, size_t n)
{
    char *tmp = xmalloc(strlen(path) + 24);
    sprintf(tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        sidr_status s = sidr_fail(SIDR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    int ok = sidr_fwrite(data, 1, n, f) == n;
    ok = (fflush(f) == 0) & ok;
    ok = (fsync(fileno(f)) == 0) & ok;
    ok = (fclose(f) == 0) & ok;
    sidr_status s = SIDR_OK;
    if (!ok || rename(tmp, path) != 0) {
        s = sidr_fail(SIDR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return s;
}

typedef struct {
    const sidr_params *p;
    sidr_dtype dtype;
} save_ctx;

/* f32 -> bf16 (round to nearest even) or f16. */
static void narrow_slices(void *ctx, int k0, int k1, int thread)
{
    const slice_job *j = ctx;
    size_t a, b, c, d;
    slice_bounds(j, k0, &a, &b);
    slice_bounds(j, k1 - 1, &c, &d);
    const float *src = j->src;
    uint16_t *h = j->out;
    if (j->dtype == SIDR_BF16)
        for (size_t i = a; i < d; i++) h[i] = sidr_f32_to_bf16(src[i]);
    else
        for (size_t i = a; i < d; i++) h[i] = sidr_f32_to_f16(src[i]);
}

static sidr_status fill_params(void *user, int index, size_t offset, void *buf, size_t nbytes)
{
    const save_ctx *ctx = user;
    size_t esz = sidr_dtype_size(ctx->dtype), n = nbytes / esz;
    const float *src = ctx->p->data + ctx->p->views[index].offset + offset / esz;
    if (ctx->dtype == SIDR_F32) {
        memcpy(buf, src, nbytes);
        return SIDR_OK;
    }
    slice_job j = { .src = src, .out = buf, .dtype = ctx->dtype, .n = n };
    run_slices(&j, narrow_slices);
    return SIDR_OK;
}

static const char *torch_dtype_name(sidr_dtype d)
{
    return d == SIDR_BF16 ? "bfloat16" : d == SIDR_F16 ? "float16" : "float32";
}

static void set_number(cJSON *root, const char *key, double v)
{
    cJSON *old = cJSON_GetObjectItemCaseSensitive(root, key);
    if (old) cJSON_ReplaceItemInObjectCaseSensitive(root, key, cJSON_CreateNumber(v));
    else cJSON_AddNumberToObject(root, key, v);
}

/* The source config.json with its keys kept and the sizes / dtype updated;
 * NULL when there is no readable source. */
static char *updated_config(const sidr_params *p, sidr_dtype dtype)
{
    if (!p->src_dir) return NULL;
    char *path = path_join(p->src_dir, "config.json"), *text = NULL;
    sidr_status s = read_file(path, &text, NULL);
    free(path);
    if (s) return NULL;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    const sidr_config *c = &p->cfg;
    set_number(root, "hidden_size", c->dim);
    set_number(root, "intermediate_size", c->hidden_dim);
    set_number(root, "num_hidden_layers", c->n_layers);
    set_number(root, "num_attention_heads", c->n_heads);
    set_number(root, "num_key_value_heads", c->n_kv_heads);
    if (cJSON_GetObjectItemCaseSensitive(root, "head_dim") || c->head_dim * c->n_heads != c->dim)
        set_number(root, "head_dim", c->head_dim);
    set_number(root, "vocab_size", c->vocab_size);
    cJSON *tie = cJSON_CreateBool(c->tie_embeddings != 0);
    if (cJSON_GetObjectItemCaseSensitive(root, "tie_word_embeddings"))
        cJSON_ReplaceItemInObjectCaseSensitive(root, "tie_word_embeddings", tie);
    else
        cJSON_AddItemToObject(root, "tie_word_embeddings", tie);
    cJSON *dt = cJSON_CreateString(torch_dtype_name(dtype));
    if (cJSON_GetObjectItemCaseSensitive(root, "torch_dtype"))
        cJSON_ReplaceItemInObjectCaseSensitive(root, "torch_dtype", dt);
    else
        cJSON_AddItemToObject(root, "torch_dtype", dt);
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    size_t n = strlen(out);
    out = xrealloc(out, n + 2);
    out[n] = '\n';
    out[n + 1] = 0;
    return out;
}

sidr_status sidr_params_save(const sidr_params *p, const char *dir, sidr_dtype dtype)
{
    if (dtype != SIDR_F32 && dtype != SIDR_BF16 && dtype != SIDR_F16)
        return sidr_fail(SIDR_ERR_ARG, "%s: cannot save parameters as %s (expected F32, BF16 or F16)", dir,
                         sidr_dtype_name(dtype));
    sidr_status s = make_dirs(dir);
    if (s) return s;
    sidr_st_entry *e = xcalloc((size_t)p->n_views, sizeof *e);
    for (int i = 0; i < p->n_views; i++) {
        e[i].name = p->views[i].name;
        e[i].dtype = dtype;
        e[i].ndim = p->views[i].ndim;
        e[i].shape[0] = p->views[i].shape[0];
        e[i].shape[1] = p->views[i].shape[1];
    }
    save_ctx ctx = { p, dtype };
    char *st_path = path_join(dir, "model.safetensors");
    s = sidr_st_write_stream(st_path, e, p->n_views, "{\"format\":\"pt\"}", fill_params, &ctx);
    free(st_path);
    free(e);
    if (s) return s;
    /* A stale index would shadow the single file we just wrote. */
    char *index = path_join(dir, "model.safetensors.index.json");
    if (file_exists(index)) unlink(index);
    free(index);

    char *cfg_path = path_join(dir, "config.json");
    char *text = updated_config(p, dtype);
    if (text) s = write_atomic(cfg_path, text, strlen(text));
    else s = sidr_config_write(&p->cfg, dtype, cfg_path);
    free(text);
    free(cfg_path);
    return s;
}

static int same_folder(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

sidr_status sidr_params_copy_assets(const char *src_dir, const char *dst_dir)
{
    static const char *const names[] = { "tokenizer.json", "tokenizer_config.json", "generation_config.json",
                                         "special_tokens_map.json", "added_tokens.json", "vocab.json",
                                         "merges.txt", "chat_template.jinja" };
    sidr_status s = make_dirs(dst_dir);
    if (s) return s;
    if (same_folder(src_dir, dst_dir)) return SIDR_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !s; i++) {
        char *src = path_join(src_dir, names[i]);
        if (file_exists(src)) {
            char *text;
            size_t len;
            if (!(s = read_file(src, &text, &len))) {
                char *dst = path_join(dst_dir, names[i]);
                s = write_atomic(dst, text, len);
                free(dst);
                free(text);
            }
        }
        free(src);
    }
    return s;
}

/* ---- an inference model over the live buffer ---------------------------------- */

static sidr_mat f32_mat(const float *data, int rows, int cols)
{
    sidr_mat w = { SIDR_F32, data, rows, cols };
    return w;
}

sidr_status sidr_model_from_params(sidr_model *m, sidr_params *p)
{
    memset(m, 0, sizeof *m);
    const sidr_config *c = &p->cfg;
    if (!p->data || !p->layers) return sidr_fail(SIDR_ERR_ARG, "model from parameters: parameters are not initialised");
    int D = c->dim, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, I = c->hidden_dim;
    m->cfg = *c;
    m->dir = xstrdup(p->src_dir ? p->src_dir : "(parameters in memory)");
    m->embed = f32_mat(p->embed, c->vocab_size, D);
    m->lm_head = c->tie_embeddings ? m->embed : f32_mat(p->lm_head, c->vocab_size, D);
    m->final_norm = p->final_norm;
    m->layers = xcalloc((size_t)c->n_layers, sizeof *m->layers);
    for (int i = 0; i < c->n_layers; i++) {
        const sidr_layer_params *s = &p->layers[i];
        sidr_layer *l = &m->layers[i];
        l->attn_norm = s->attn_norm;
        l->ffn_norm = s->ffn_norm;
        l->q_norm = s->q_norm;
        l->k_norm = s->k_norm;
        l->bq = s->bq;
        l->bk = s->bk;
        l->bv = s->bv;
        l->wq = f32_mat(s->wq, qd, D);
        l->wk = f32_mat(s->wk, kvd, D);
        l->wv = f32_mat(s->wv, kvd, D);
        l->wo = f32_mat(s->wo, D, qd);
        l->w_gate = f32_mat(s->w_gate, I, D);
        l->w_up = f32_mat(s->w_up, I, D);
        l->w_down = f32_mat(s->w_down, D, I);
    }
    m->rope_inv_freq = sidr_rope_inv_freq(c);
    m->borrowed = 1;
    sidr_kernels_init();
    return SIDR_OK;
}

void sidr_model_from_params_free(sidr_model *m)
{
    sidr_model_free(m); /* borrowed: frees only what sidr_model_from_params allocated */
}

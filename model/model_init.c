#include "model_init.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "threads.h"
#include "util.h"

/* ---- presets ---------------------------------------------------------------- */

sidr_status sidr_config_qwen3_preset(sidr_config *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->arch = SIDR_ARCH_QWEN3;
    strcpy(c->model_type, "qwen3");
    strcpy(c->architecture, "Qwen3ForCausalLM");
    c->n_layers = 28;
    c->n_heads = 16;
    c->n_kv_heads = 8;
    c->head_dim = 128;
    c->vocab_size = 151936;
    c->max_seq = 40960;
    c->norm_eps = 1e-6f;
    c->rope_theta = 1000000.0f;
    c->tie_embeddings = 1;
    c->qk_norm = 1;
    c->bos_id = 151643;
    c->eos_id = 151645;
    if (!strcmp(name, "0.6b")) {
        c->dim = 1024;
        c->hidden_dim = 3072;
    } else if (!strcmp(name, "1.7b")) {
        c->dim = 2048;
        c->hidden_dim = 6144;
    } else if (!strcmp(name, "tiny")) {
        c->dim = 256;
        c->hidden_dim = 768;
        c->n_layers = 4;
        c->n_heads = 4;
        c->n_kv_heads = 2;
        c->head_dim = 64;
        c->vocab_size = 8192;
        c->max_seq = 4096;
        c->bos_id = c->eos_id = -1;
    } else {
        return sidr_fail(SIDR_ERR_ARG, "unknown model shape '%s' (expected 0.6b, 1.7b or tiny)", name);
    }
    return SIDR_OK;
}

/* ---- config.json ------------------------------------------------------------- */

static const char *torch_dtype_name(sidr_dtype d)
{
    return d == SIDR_BF16 ? "bfloat16" : d == SIDR_F16 ? "float16" : "float32";
}

/* Writes text to path through a temporary file and a rename. */
static sidr_status write_atomic(const char *path, const char *text)
{
    char *tmp = xmalloc(strlen(path) + 24);
    sprintf(tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        sidr_status s = sidr_fail(SIDR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
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

sidr_status sidr_config_write(const sidr_config *c, sidr_dtype dtype, const char *path)
{
    const char *arch = c->arch == SIDR_ARCH_QWEN2 ? "Qwen2ForCausalLM"
                     : c->arch == SIDR_ARCH_LLAMA ? "LlamaForCausalLM" : "Qwen3ForCausalLM";
    cJSON *root = cJSON_CreateObject();
    cJSON *archs = cJSON_AddArrayToObject(root, "architectures");
    cJSON_AddItemToArray(archs, cJSON_CreateString(arch));
    cJSON_AddStringToObject(root, "model_type", sidr_arch_name(c->arch));
    cJSON_AddNumberToObject(root, "hidden_size", c->dim);
    cJSON_AddNumberToObject(root, "intermediate_size", c->hidden_dim);
    cJSON_AddNumberToObject(root, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(root, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(root, "num_key_value_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(root, "head_dim", c->head_dim);
    cJSON_AddStringToObject(root, "hidden_act", "silu");
    cJSON_AddNumberToObject(root, "rms_norm_eps", c->norm_eps);
    cJSON_AddNumberToObject(root, "rope_theta", c->rope_theta);
    cJSON_AddNullToObject(root, "rope_scaling");
    cJSON_AddNumberToObject(root, "vocab_size", c->vocab_size);
    cJSON_AddBoolToObject(root, "tie_word_embeddings", c->tie_embeddings != 0);
    cJSON_AddNumberToObject(root, "max_position_embeddings", c->max_seq > 0 ? c->max_seq : 32768);
    if (c->arch != SIDR_ARCH_QWEN2) cJSON_AddBoolToObject(root, "attention_bias", 0);
    cJSON_AddNumberToObject(root, "attention_dropout", 0.0);
    if (c->arch != SIDR_ARCH_LLAMA) {
        cJSON_AddNullToObject(root, "sliding_window");
        cJSON_AddBoolToObject(root, "use_sliding_window", 0);
        cJSON_AddNumberToObject(root, "max_window_layers", c->n_layers);
    }
    if (c->bos_id >= 0) cJSON_AddNumberToObject(root, "bos_token_id", c->bos_id);
    if (c->eos_id >= 0) cJSON_AddNumberToObject(root, "eos_token_id", c->eos_id);
    cJSON_AddNumberToObject(root, "initializer_range", 0.02);
    cJSON_AddBoolToObject(root, "use_cache", 1);
    cJSON_AddStringToObject(root, "torch_dtype", torch_dtype_name(dtype));
    cJSON_AddStringToObject(root, "transformers_version", "4.51.0");
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = 0;
    sidr_status s = write_atomic(path, text);
    free(text);
    return s;
}

/* ---- random tensors ---------------------------------------------------------- */

enum { KIND_MAT, KIND_ONE, KIND_ZERO };

typedef struct {
    sidr_st_entry *entries;
    char **names;
    int *kinds;
    int n, cap;
    sidr_dtype dtype;
    uint64_t seed;
    float std;
} init_plan;

static void plan_add(init_plan *p, const char *name, int kind, int ndim, int64_t d0, int64_t d1)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->entries = xrealloc(p->entries, p->cap * sizeof *p->entries);
        p->names = xrealloc(p->names, p->cap * sizeof *p->names);
        p->kinds = xrealloc(p->kinds, p->cap * sizeof *p->kinds);
    }
    sidr_st_entry *e = &p->entries[p->n];
    memset(e, 0, sizeof *e);
    p->names[p->n] = xstrdup(name);
    e->name = p->names[p->n];
    e->dtype = p->dtype;
    e->ndim = ndim;
    e->shape[0] = d0;
    e->shape[1] = d1;
    p->kinds[p->n] = kind;
    p->n++;
}

/* The tensors of a checkpoint in Hugging Face order (as tests/ref writes them). */
static void plan_build(init_plan *p, const sidr_config *c)
{
    int64_t D = c->dim, I = c->hidden_dim, V = c->vocab_size;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    int qwen2 = c->arch == SIDR_ARCH_QWEN2, qwen3 = c->arch == SIDR_ARCH_QWEN3;
    char name[128];
    plan_add(p, "model.embed_tokens.weight", KIND_MAT, 2, V, D);
    for (int i = 0; i < c->n_layers; i++) {
#define ADD(suffix, kind, nd, a, b) \
        (snprintf(name, sizeof name, "model.layers.%d.%s", i, suffix), plan_add(p, name, kind, nd, a, b))
        ADD("input_layernorm.weight", KIND_ONE, 1, D, 0);
        ADD("self_attn.q_proj.weight", KIND_MAT, 2, qd, D);
        if (qwen2) ADD("self_attn.q_proj.bias", KIND_ZERO, 1, qd, 0);
        ADD("self_attn.k_proj.weight", KIND_MAT, 2, kvd, D);
        if (qwen2) ADD("self_attn.k_proj.bias", KIND_ZERO, 1, kvd, 0);
        ADD("self_attn.v_proj.weight", KIND_MAT, 2, kvd, D);
        if (qwen2) ADD("self_attn.v_proj.bias", KIND_ZERO, 1, kvd, 0);
        ADD("self_attn.o_proj.weight", KIND_MAT, 2, D, qd);
        if (qwen3) {
            ADD("self_attn.q_norm.weight", KIND_ONE, 1, c->head_dim, 0);
            ADD("self_attn.k_norm.weight", KIND_ONE, 1, c->head_dim, 0);
        }
        ADD("post_attention_layernorm.weight", KIND_ONE, 1, D, 0);
        ADD("mlp.gate_proj.weight", KIND_MAT, 2, I, D);
        ADD("mlp.up_proj.weight", KIND_MAT, 2, I, D);
        ADD("mlp.down_proj.weight", KIND_MAT, 2, D, I);
#undef ADD
    }
    plan_add(p, "model.norm.weight", KIND_ONE, 1, D, 0);
    if (!c->tie_embeddings) plan_add(p, "lm_head.weight", KIND_MAT, 2, V, D);
}

static void plan_free(init_plan *p)
{
    for (int i = 0; i < p->n; i++) free(p->names[i]);
    free(p->names);
    free(p->entries);
    free(p->kinds);
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Elements per independently seeded block: the values do not depend on how
 * the writer chunks the file or how many threads generate them. */
#define RNG_BLOCK 65536

/* Approximate N(0, 1): the sum of four 16-bit uniforms from one xorshift64*
 * draw, centred and scaled to unit variance (Irwin-Hall, |x| < 3.47). */
static inline float approx_normal(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    uint64_t r = x * 0x2545f4914f6cdd1dULL;
    uint32_t s = (uint32_t)(r & 0xffff) + (uint32_t)((r >> 16) & 0xffff) + (uint32_t)((r >> 32) & 0xffff) +
                 (uint32_t)(r >> 48);
    /* mean 4 * 65535/2, variance 4 * (65536^2 - 1)/12 */
    return ((float)s - 131070.0f) * (1.7320508f / 65536.0f);
}

static void store(void *buf, sidr_dtype dt, size_t i, float v)
{
    if (dt == SIDR_BF16) ((uint16_t *)buf)[i] = sidr_f32_to_bf16(v);
    else if (dt == SIDR_F16) ((uint16_t *)buf)[i] = sidr_f32_to_f16(v);
    else ((float *)buf)[i] = v;
}

typedef struct {
    void *buf;
    sidr_dtype dtype;
    size_t e0, n, b0;       /* elements [e0, e0 + n); first block b0 */
    uint64_t tseed;
    float std;
} fill_job;

static void fill_blocks(void *arg, int i0, int i1, int thread)
{
    const fill_job *j = arg;
    (void)thread;
    for (int i = i0; i < i1; i++) {
        size_t b = j->b0 + (size_t)i;
        uint64_t st = splitmix64(j->tseed + (uint64_t)b);
        if (!st) st = 1;
        size_t first = b * RNG_BLOCK, last = first + RNG_BLOCK;
        if (last > j->e0 + j->n) last = j->e0 + j->n;
        for (size_t e = first; e < last; e++) {
            float v = j->std * approx_normal(&st);
            if (e >= j->e0) store(j->buf, j->dtype, e - j->e0, v);
        }
    }
}

static sidr_status fill_tensor(void *user, int index, size_t offset, void *buf, size_t nbytes)
{
    const init_plan *p = user;
    size_t esz = sidr_dtype_size(p->dtype);
    size_t e0 = offset / esz, n = nbytes / esz;
    int kind = p->kinds[index];
    if (kind != KIND_MAT) {
        float v = kind == KIND_ONE ? 1.0f : 0.0f;
        for (size_t i = 0; i < n; i++) store(buf, p->dtype, i, v);
        return SIDR_OK;
    }
    fill_job j = { buf, p->dtype, e0, n, e0 / RNG_BLOCK,
                   splitmix64(p->seed ^ splitmix64((uint64_t)index + 1)), p->std };
    size_t b1 = (e0 + n + RNG_BLOCK - 1) / RNG_BLOCK;
    sidr_parallel_for((int)(b1 - j.b0), fill_blocks, &j);
    return SIDR_OK;
}


sidr_status sidr_model_init_random(const char *dir, const sidr_config *cfg, sidr_dtype dtype, uint64_t seed,
                                   float std)
{
    if (dtype != SIDR_F32 && dtype != SIDR_BF16 && dtype != SIDR_F16)
        return sidr_fail(SIDR_ERR_ARG, "model init: dtype %s is not a float type (expected F32, BF16 or F16)",
                         sidr_dtype_name(dtype));
    if (cfg->dim <= 0 || cfg->hidden_dim <= 0 || cfg->n_layers <= 0 || cfg->n_heads <= 0 ||
        cfg->n_kv_heads <= 0 || cfg->head_dim <= 0 || cfg->vocab_size <= 0 || cfg->n_heads % cfg->n_kv_heads ||
        cfg->head_dim % 2)
        return sidr_fail(SIDR_ERR_ARG, "model init: inconsistent sizes (hidden %d, ffn %d, layers %d, heads %d/%d, "
                         "head_dim %d, vocab %d)", cfg->dim, cfg->hidden_dim, cfg->n_layers, cfg->n_heads,
                         cfg->n_kv_heads, cfg->head_dim, cfg->vocab_size);
    if (!(std >= 0)) return sidr_fail(SIDR_ERR_ARG, "model init: std must be >= 0 (got %g)", std);
    sidr_status s = make_dirs(dir);
    if (s) return s;
    init_plan p = { .dtype = dtype, .seed = seed, .std = std };
    plan_build(&p, cfg);
    char *st_path = path_join(dir, "model.safetensors");
    s = sidr_st_write_stream(st_path, p.entries, p.n, "{\"format\":\"pt\"}", fill_tensor, &p);
    free(st_path);
    plan_free(&p);
    if (s) return s;
    char *cfg_path = path_join(dir, "config.json");
    s = sidr_config_write(cfg, dtype, cfg_path);
    free(cfg_path);
    return s;
}

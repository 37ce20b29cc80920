#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *sidr_arch_name(sidr_arch a)
{
    switch (a) {
    case SIDR_ARCH_QWEN3: return "qwen3";
    case SIDR_ARCH_QWEN2: return "qwen2";
    case SIDR_ARCH_LLAMA: return "llama";
    }
    return "?";
}

/* Reads an integer key; a missing key takes def when def_ok. */
static sidr_status get_int(const cJSON *root, const char *path, const char *key, int *out,
                           int def_ok, int def, int min)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) {
        if (def_ok) { *out = def; return SIDR_OK; }
        return sidr_fail(SIDR_ERR_MISSING, "%s: key '%s' is missing (expected an integer)", path, key);
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return sidr_fail(SIDR_ERR_FORMAT, "%s: key '%s' must be an integer", path, key);
    if (v->valuedouble < min || v->valuedouble > 1e9)
        return sidr_fail(SIDR_ERR_RANGE, "%s: key '%s' = %.0f is out of range (expected %d to 1000000000)",
                         path, key, v->valuedouble, min);
    *out = (int)v->valuedouble;
    return SIDR_OK;
}

static sidr_status get_float(const cJSON *root, const char *path, const char *key, float *out, float def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) { *out = def; return SIDR_OK; }
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0))
        return sidr_fail(SIDR_ERR_FORMAT, "%s: key '%s' must be a positive number", path, key);
    *out = (float)v->valuedouble;
    return SIDR_OK;
}

static int get_bool(const cJSON *root, const char *key, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return def;
}

/* bos/eos_token_id: absent or null (-1), an id or a list of ids (the first
 * is kept); every id must lie inside the vocabulary. */
static sidr_status get_token_id(const cJSON *root, const char *path, const char *key, int vocab, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = -1;
    if (!v || cJSON_IsNull(v)) return SIDR_OK;
    const cJSON *one = v;
    int idx = 0;
    if (cJSON_IsArray(v)) {
        if (!cJSON_GetArraySize(v)) return SIDR_OK;
        one = v->child;
    }
    for (; one; one = cJSON_IsArray(v) ? one->next : NULL, idx++) {
        if (!cJSON_IsNumber(one) || one->valuedouble != floor(one->valuedouble))
            return sidr_fail(SIDR_ERR_FORMAT, "%s: key '%s' must be a token id (an integer) or a list of them",
                             path, key);
        if (one->valuedouble < 0 || one->valuedouble >= vocab) {
            char where[24] = "";
            if (cJSON_IsArray(v)) snprintf(where, sizeof where, "[%d]", idx);
            return sidr_fail(SIDR_ERR_RANGE, "%s: key '%s'%s = %.0f is outside the vocabulary (expected 0 to %d, "
                             "vocab_size %d)", path, key, where, one->valuedouble, vocab - 1, vocab);
        }
        if (*out < 0) *out = (int)one->valuedouble;
    }
    return SIDR_OK;
}

static void copy_str(char *dst, size_t cap, const cJSON *v)
{
    dst[0] = 0;
    if (cJSON_IsString(v)) {
        strncpy(dst, v->valuestring, cap - 1);
        dst[cap - 1] = 0;
    }
}

sidr_status sidr_config_load(sidr_config *c, const char *path)
{
    char *text;
    sidr_status st = read_file(path, &text, NULL);
    if (st) return st;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        long off = end ? (long)(end - text) : 0;
        cJSON_Delete(root);
        free(text);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: not a JSON object (parse error near byte %ld)", path, off);
    }
    memset(c, 0, sizeof *c);
    copy_str(c->model_type, sizeof c->model_type, cJSON_GetObjectItemCaseSensitive(root, "model_type"));
    copy_str(c->architecture, sizeof c->architecture,
             cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "architectures"), 0));
    copy_str(c->torch_dtype, sizeof c->torch_dtype, cJSON_GetObjectItemCaseSensitive(root, "torch_dtype"));

    const char *mt = c->model_type, *ar = c->architecture;
    if (!strcmp(mt, "qwen3") || !strcmp(ar, "Qwen3ForCausalLM")) c->arch = SIDR_ARCH_QWEN3;
    else if (!strcmp(mt, "qwen2") || !strcmp(ar, "Qwen2ForCausalLM")) c->arch = SIDR_ARCH_QWEN2;
    else if (!strcmp(mt, "llama") || !strcmp(ar, "LlamaForCausalLM")) c->arch = SIDR_ARCH_LLAMA;
    else {
        st = sidr_fail(SIDR_ERR_UNSUPPORTED,
                       "%s: unsupported architecture (model_type '%s', architectures[0] '%s'); "
                       "expected Qwen3ForCausalLM, Qwen2ForCausalLM or LlamaForCausalLM",
                       path, mt[0] ? mt : "(none)", ar[0] ? ar : "(none)");
        goto out;
    }
    if ((st = get_int(root, path, "hidden_size", &c->dim, 0, 0, 1)) ||
        (st = get_int(root, path, "intermediate_size", &c->hidden_dim, 0, 0, 1)) ||
        (st = get_int(root, path, "num_hidden_layers", &c->n_layers, 0, 0, 1)) ||
        (st = get_int(root, path, "num_attention_heads", &c->n_heads, 0, 0, 1)) ||
        (st = get_int(root, path, "num_key_value_heads", &c->n_kv_heads, 1, c->n_heads, 1)) ||
        (st = get_int(root, path, "vocab_size", &c->vocab_size, 0, 0, 1)) ||
        (st = get_int(root, path, "max_position_embeddings", &c->max_seq, 1, 32768, 1)))
        goto out;
    if (c->dim % c->n_heads && !cJSON_GetObjectItemCaseSensitive(root, "head_dim")) {
        st = sidr_fail(SIDR_ERR_FORMAT, "%s: hidden_size %d is not a multiple of num_attention_heads %d "
                       "and no head_dim is given", path, c->dim, c->n_heads);
        goto out;
    }
    if ((st = get_int(root, path, "head_dim", &c->head_dim, 1, c->dim / c->n_heads, 2))) goto out;
    if (c->head_dim % 2) {
        st = sidr_fail(SIDR_ERR_FORMAT, "%s: head_dim %d must be even for RoPE", path, c->head_dim);
        goto out;
    }
    if (c->n_heads % c->n_kv_heads) {
        st = sidr_fail(SIDR_ERR_FORMAT, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d",
                       path, c->n_heads, c->n_kv_heads);
        goto out;
    }
    if ((st = get_float(root, path, "rms_norm_eps", &c->norm_eps, 1e-6f)) ||
        (st = get_float(root, path, "rope_theta", &c->rope_theta, 10000.0f)))
        goto out;
    const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    const cJSON *stype = cJSON_GetObjectItemCaseSensitive(scaling, "rope_type");
    if (!stype) stype = cJSON_GetObjectItemCaseSensitive(scaling, "type");
    int plain_rope = cJSON_IsString(stype) && !strcmp(stype->valuestring, "default");
    if (get_bool(root, "mlp_bias", 0)) {
        st = sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: key 'mlp_bias' is true; sidr supports MLPs without biases", path);
        goto out;
    }
    if (get_bool(root, "use_sliding_window", 0)) {
        st = sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: key 'use_sliding_window' is true; sidr supports full attention only", path);
        goto out;
    }
    if (scaling && !cJSON_IsNull(scaling) && !plain_rope) {
        st = sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: key 'rope_scaling' is set; sidr supports plain RoPE only", path);
        goto out;
    }
    /* Qwen2/Qwen3/Llama configs all default to untied embeddings. */
    c->tie_embeddings = get_bool(root, "tie_word_embeddings", 0);
    c->qk_norm = c->arch == SIDR_ARCH_QWEN3;
    c->qkv_bias = c->arch == SIDR_ARCH_QWEN2;
    if (c->arch != SIDR_ARCH_QWEN2 && get_bool(root, "attention_bias", 0)) {
        st = sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: key 'attention_bias' is true; sidr supports it for Qwen2 only", path);
        goto out;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (!act) act = cJSON_GetObjectItemCaseSensitive(root, "hidden_activation");
    if (act && !cJSON_IsNull(act) && !(cJSON_IsString(act) && !strcmp(act->valuestring, "silu"))) {
        st = sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: key '%s' is %s%s%s; sidr computes SiLU MLPs only (expected \"silu\")",
                       path, act->string, cJSON_IsString(act) ? "\"" : "",
                       cJSON_IsString(act) ? act->valuestring : "not a string", cJSON_IsString(act) ? "\"" : "");
        goto out;
    }
    if ((st = get_token_id(root, path, "bos_token_id", c->vocab_size, &c->bos_id)) ||
        (st = get_token_id(root, path, "eos_token_id", c->vocab_size, &c->eos_id)))
        goto out;
out:
    cJSON_Delete(root);
    free(text);
    return st;
}

/* Parses path as a JSON object, failing with the byte and line of a syntax
 * error (a truncated file fails here). */
static sidr_status parse_object(const char *path, cJSON **out)
{
    char *text;
    size_t len;
    *out = NULL;
    sidr_status st = read_file(path, &text, &len);
    if (st) return st;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!cJSON_IsObject(root)) {
        size_t off = end ? (size_t)(end - text) : 0, line = 1;
        for (size_t i = 0; i < off && i < len; i++) line += text[i] == '\n';
        cJSON_Delete(root);
        free(text);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: not a JSON object (parse error near byte %zu, line %zu of %zu bytes)",
                         path, off, line, len);
    }
    free(text);
    *out = root;
    return SIDR_OK;
}

sidr_status sidr_generation_config_check(const char *dir, int vocab)
{
    char *path = path_join(dir, "generation_config.json");
    sidr_status st = SIDR_OK;
    if (file_exists(path)) {
        cJSON *root;
        static const char *const keys[] = { "bos_token_id", "eos_token_id", "pad_token_id" };
        st = parse_object(path, &root);
        for (int k = 0; k < 3 && !st; k++) {
            int id;
            st = get_token_id(root, path, keys[k], vocab, &id);
        }
        cJSON_Delete(root);
    }
    free(path);
    return st;
}

sidr_status sidr_tokenizer_config_check(const char *dir)
{
    char *path = path_join(dir, "tokenizer_config.json");
    sidr_status st = SIDR_OK;
    if (file_exists(path)) {
        cJSON *root;
        st = parse_object(path, &root);
        const cJSON *t = st ? NULL : cJSON_GetObjectItemCaseSensitive(root, "chat_template");
        if (t && !cJSON_IsNull(t) && !cJSON_IsString(t)) {
            /* Hugging Face also allows a list of named templates. */
            int ok = cJSON_IsArray(t) && cJSON_GetArraySize(t) > 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, t) {
                if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "name")) ||
                    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "template")))
                    ok = 0;
            }
            if (!ok)
                st = sidr_fail(SIDR_ERR_FORMAT, "%s: field 'chat_template': expected a string (a Jinja template) or "
                               "a list of {\"name\", \"template\"} strings", path);
        }
        cJSON_Delete(root);
    }
    free(path);
    return st;
}

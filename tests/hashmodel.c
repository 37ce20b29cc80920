/* Test-only: formula-weight model folders (see hashmodel.h). */
#include "hashmodel.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static uint64_t splitmix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int hashmodel_int(uint64_t seed, int tensor_id, uint64_t index, int is_norm)
{
    uint64_t h = splitmix64((seed << 56) ^ ((uint64_t)tensor_id << 40) ^ index);
    uint64_t hi = h >> 32;
    return is_norm ? (int)(hi % 33) - 16 : (int)(hi % 255) - 127;
}

enum { PER_LAYER = 11 };

int hashmodel_n_tensors(const hashmodel_spec *s)
{
    return 2 + PER_LAYER * s->layers;
}

static void set(hashmodel_tensor *t, const char *name, int64_t r, int64_t c, int is_norm)
{
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = c ? 2 : 1;
    t->shape[0] = r;
    t->shape[1] = c;
    t->is_norm = is_norm;
    t->is_embed = 0;
}

void hashmodel_tensor_info(const hashmodel_spec *s, int id, hashmodel_tensor *t)
{
    int D = s->hidden, hd = s->head_dim, q = s->heads * hd, kv = s->kv_heads * hd, I = s->ffn;
    if (id == 0) {
        set(t, "model.embed_tokens.weight", s->vocab, D, 0);
        t->is_embed = 1;
        return;
    }
    if (id == hashmodel_n_tensors(s) - 1) {
        set(t, "model.norm.weight", D, 0, 1);
        return;
    }
    int layer = (id - 1) / PER_LAYER, j = (id - 1) % PER_LAYER;
    static const char *const names[PER_LAYER] = {
        "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "self_attn.q_norm", "self_attn.k_norm", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
        "mlp.down_proj",
    };
    const int64_t rows[PER_LAYER] = { D, q, kv, kv, D, hd, hd, D, I, I, D };
    const int64_t cols[PER_LAYER] = { 0, D, D, D, q, 0, 0, 0, D, D, I };
    char name[96];
    snprintf(name, sizeof name, "model.layers.%d.%s.weight", layer, names[j]);
    set(t, name, rows[j], cols[j], cols[j] == 0);
}

float hashmodel_value(const hashmodel_spec *s, const hashmodel_tensor *t, int v)
{
    if (t->is_norm) return 1.0f + (float)v / 64.0f;
    return (float)v / (float)(1u << (t->is_embed ? s->shift_embed : s->shift_w));
}

static sidr_status write_config(const char *dir, const hashmodel_spec *s, sidr_dtype dtype)
{
    char *path = path_join(dir, "config.json");
    FILE *f = fopen(path, "w");
    if (!f) {
        sidr_status st = sidr_fail(SIDR_ERR_IO, "%s: %s", path, strerror(errno));
        free(path);
        return st;
    }
    fprintf(f,
            "{\n"
            "  \"architectures\": [\"Qwen3ForCausalLM\"],\n"
            "  \"model_type\": \"qwen3\",\n"
            "  \"hidden_act\": \"silu\",\n"
            "  \"attention_bias\": false,\n"
            "  \"hidden_size\": %d,\n"
            "  \"intermediate_size\": %d,\n"
            "  \"num_hidden_layers\": %d,\n"
            "  \"num_attention_heads\": %d,\n"
            "  \"num_key_value_heads\": %d,\n"
            "  \"head_dim\": %d,\n"
            "  \"rms_norm_eps\": %.17g,\n"
            "  \"rope_theta\": %.17g,\n"
            "  \"rope_scaling\": null,\n"
            "  \"vocab_size\": %d,\n"
            "  \"tie_word_embeddings\": true,\n"
            "  \"max_position_embeddings\": %d,\n"
            "  \"torch_dtype\": \"%s\",\n"
            "  \"bos_token_id\": %d,\n"
            "  \"eos_token_id\": %d\n"
            "}\n",
            s->hidden, s->ffn, s->layers, s->heads, s->kv_heads, s->head_dim, s->norm_eps, s->rope_theta,
            s->vocab, s->max_pos, dtype == SIDR_BF16 ? "bfloat16" : "float32", s->bos_id, s->eos_id);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    sidr_status st = bad ? sidr_fail(SIDR_ERR_IO, "%s: write failed", path) : SIDR_OK;
    free(path);
    return st;
}

sidr_status hashmodel_write(const char *dir, const hashmodel_spec *s, sidr_dtype dtype)
{
    if (dtype != SIDR_BF16 && dtype != SIDR_F32) return sidr_fail(SIDR_ERR_ARG, "hashmodel: BF16 or F32 only");
    int n = hashmodel_n_tensors(s);
    sidr_st_entry *e = xcalloc(n, sizeof *e);
    hashmodel_tensor *info = xcalloc(n, sizeof *info);
    void **bufs = xcalloc(n, sizeof *bufs);
    for (int id = 0; id < n; id++) {
        hashmodel_tensor *t = &info[id];
        hashmodel_tensor_info(s, id, t);
        size_t numel = (size_t)t->shape[0] * (t->ndim == 2 ? (size_t)t->shape[1] : 1);
        bufs[id] = xmalloc(numel * sidr_dtype_size(dtype));
        for (size_t i = 0; i < numel; i++) {
            float x = hashmodel_value(s, t, hashmodel_int(s->seed, id, i, t->is_norm));
            if (dtype == SIDR_BF16) ((uint16_t *)bufs[id])[i] = sidr_f32_to_bf16(x);
            else ((float *)bufs[id])[i] = x;
        }
        e[id].name = t->name;
        e[id].dtype = dtype;
        e[id].ndim = t->ndim;
        e[id].shape[0] = t->shape[0];
        e[id].shape[1] = t->shape[1];
        e[id].data = bufs[id];
    }
    char *path = path_join(dir, "model.safetensors");
    sidr_status st = sidr_st_write(path, e, n, "{\"format\":\"pt\"}");
    free(path);
    for (int id = 0; id < n; id++) free(bufs[id]);
    free(bufs);
    free(info);
    free(e);
    if (!st) st = write_config(dir, s, dtype);
    return st;
}

sidr_status hashmodel_write_text(const char *dir, const char *name, const char *text)
{
    char *path = path_join(dir, name);
    FILE *f = fopen(path, "wb");
    sidr_status st = SIDR_OK;
    if (!f) st = sidr_fail(SIDR_ERR_IO, "%s: %s", path, strerror(errno));
    else {
        size_t len = strlen(text);
        int bad = fwrite(text, 1, len, f) != len;
        bad |= fclose(f) != 0;
        if (bad) st = sidr_fail(SIDR_ERR_IO, "%s: write failed", path);
    }
    free(path);
    return st;
}

sidr_status hashmodel_write_tokenizer(const char *dir, const char *base_tokenizer_json,
                                      const char *const *tokens, int n, int first_id)
{
    char *text;
    size_t len;
    sidr_status st = read_file(base_tokenizer_json, &text, &len);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    cJSON *added = root ? cJSON_GetObjectItemCaseSensitive(root, "added_tokens") : NULL;
    if (!cJSON_IsArray(added)) {
        cJSON_Delete(root);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: no added_tokens array", base_tokenizer_json);
    }
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", first_id + i);
        cJSON_AddStringToObject(t, "content", tokens[i]);
        cJSON_AddBoolToObject(t, "single_word", 0);
        cJSON_AddBoolToObject(t, "lstrip", 0);
        cJSON_AddBoolToObject(t, "rstrip", 0);
        cJSON_AddBoolToObject(t, "normalized", 1);
        cJSON_AddBoolToObject(t, "special", 0);
        cJSON_AddItemToArray(added, t);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    st = hashmodel_write_text(dir, "tokenizer.json", out);
    cJSON_free(out);
    if (st) return st;
    /* tokenizer_config.json next to the base tokenizer, copied as is */
    const char *slash = strrchr(base_tokenizer_json, '/');
    char *base_dir = slash ? xstrndup(base_tokenizer_json, (size_t)(slash - base_tokenizer_json)) : xstrdup(".");
    char *cfg_path = path_join(base_dir, "tokenizer_config.json");
    free(base_dir);
    if (file_exists(cfg_path)) {
        st = read_file(cfg_path, &text, &len);
        if (!st) {
            st = hashmodel_write_text(dir, "tokenizer_config.json", text);
            free(text);
        }
    }
    free(cfg_path);
    return st;
}

/* sidr info: what a model folder holds, for people and (with --json) scripts. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "kernels.h"
#include "tokenizer.h"
#include "transformer.h"
#include "util.h"
#include "session.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "json", no_argument, NULL, 'j' },
    { "check", no_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* "<a_12>" -> level 0, code 12; -1 if not a SID token. */
static int sid_token(const char *s, int *code)
{
    if (s[0] != '<' || s[1] < 'a' || s[1] > 'z' || s[2] != '_') return -1;
    const char *p = s + 3;
    if (*p < '0' || *p > '9') return -1;
    long v = 0;
    while (*p >= '0' && *p <= '9' && v < 1000000) v = v * 10 + (*p++ - '0');
    if (p[0] != '>' || p[1]) return -1;
    *code = (int)v;
    return s[1] - 'a';
}

#define MAX_LEVELS 26

typedef struct {
    int count, first_id, last_id, n_levels;
    int per_level[MAX_LEVELS];
} sid_summary;

static void summarise_sids(const sidr_tokenizer *tok, sid_summary *out)
{
    memset(out, 0, sizeof *out);
    out->first_id = out->last_id = -1;
    for (int i = 0; i < sidr_tokenizer_n_added(tok); i++) {
        int id, special, code;
        const char *s = sidr_tokenizer_added(tok, i, &id, &special);
        int level = special ? -1 : sid_token(s, &code);
        if (level < 0) continue;
        out->count++;
        out->per_level[level]++;
        if (level + 1 > out->n_levels) out->n_levels = level + 1;
        if (out->first_id < 0 || id < out->first_id) out->first_id = id;
        if (id > out->last_id) out->last_id = id;
    }
}

/* The chat template's flavour, from tokenizer_config.json. */
static const char *chat_template_kind(const char *dir)
{
    char *path = path_join(dir, "tokenizer_config.json"), *text;
    const char *kind = "none";
    if (file_exists(path) && read_file(path, &text, NULL) == SIDR_OK) {
        cJSON *root = cJSON_Parse(text);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
        if (cJSON_IsString(t)) {
            if (strstr(t->valuestring, "<think>")) kind = "qwen3 chatml with think blocks";
            else if (strstr(t->valuestring, "<|im_start|>")) kind = "chatml";
            else kind = "other (sidr renders ChatML)";
        }
        cJSON_Delete(root);
        free(text);
    }
    free(path);
    return kind;
}

int cmd_info(int argc, char **argv)
{
    const char *model = NULL;
    int json = 0, check = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'j': json = 1; break;
        case 'c': check = 1; break;
        case 'h':
            printf("usage: sidr info --model DIR [--json] [--check]\n"
                   "  --check   scan every weight for NaN or Inf and name the first bad tensor\n"
                   "            (models under %lld MB are always scanned when loaded)\n",
                   (long long)(SIDR_CHECK_AT_LOAD_BYTES >> 20));
            return EXIT_OK;
        default: return usage_error("info", "unknown option");
        }
    }
    if (optind != argc) return usage_error("info", "unexpected argument '%s'", argv[optind]);
    if (!(model = resolve_model_dir("info", model))) return EXIT_USAGE;
    sidr_model m;
    sidr_status s = session_load_model(&m, model);
    if (s) return runtime_error("info", s);
    if (check && (s = sidr_model_check_finite(&m))) {
        sidr_model_free(&m);
        return runtime_error("info", s);
    }
    sidr_tokenizer *tok = NULL;
    char *tok_path = path_join(model, "tokenizer.json");
    if (file_exists(tok_path) && ((s = sidr_tokenizer_load(&tok, tok_path)) ||
                                  (s = sidr_tokenizer_check_model(tok, tok_path, m.cfg.vocab_size, model)))) {
        sidr_tokenizer_free(tok);
        free(tok_path);
        sidr_model_free(&m);
        return runtime_error("info", s);
    }
    free(tok_path);
    sid_summary sids;
    if (tok) summarise_sids(tok, &sids);
    const sidr_config *cfg = &m.cfg;
    /* Weight dtypes as stored (a folder may mix them). */
    long long by_dtype[SIDR_DTYPE_COUNT] = { 0 };
    for (int i = 0; i < m.st.n_tensors; i++) by_dtype[m.st.tensors[i].dtype] += (long long)sidr_tensor_numel(&m.st.tensors[i]);
    int main_dtype = 0;
    for (int d = 1; d < SIDR_DTYPE_COUNT; d++)
        if (by_dtype[d] > by_dtype[main_dtype]) main_dtype = d;
    const char *chat = chat_template_kind(model);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", model);
    cJSON_AddStringToObject(o, "architecture", cfg->architecture[0] ? cfg->architecture : sidr_arch_name(cfg->arch));
    cJSON_AddStringToObject(o, "model_type", sidr_arch_name(cfg->arch));
    cJSON_AddNumberToObject(o, "parameters", (double)sidr_model_n_params(&m));
    cJSON_AddStringToObject(o, "dtype", sidr_dtype_name(main_dtype));
    cJSON_AddNumberToObject(o, "layers", cfg->n_layers);
    cJSON_AddNumberToObject(o, "hidden_size", cfg->dim);
    cJSON_AddNumberToObject(o, "intermediate_size", cfg->hidden_dim);
    cJSON_AddNumberToObject(o, "attention_heads", cfg->n_heads);
    cJSON_AddNumberToObject(o, "kv_heads", cfg->n_kv_heads);
    cJSON_AddNumberToObject(o, "head_dim", cfg->head_dim);
    cJSON_AddNumberToObject(o, "vocab_size", cfg->vocab_size);
    cJSON_AddNumberToObject(o, "tokenizer_vocab", tok ? sidr_tokenizer_n_vocab(tok) : 0);
    cJSON_AddBoolToObject(o, "tied_embeddings", cfg->tie_embeddings);
    cJSON_AddBoolToObject(o, "qk_norm", cfg->qk_norm);
    cJSON_AddBoolToObject(o, "qkv_bias", cfg->qkv_bias);
    cJSON_AddNumberToObject(o, "rope_theta", cfg->rope_theta);
    cJSON_AddNumberToObject(o, "rms_norm_eps", cfg->norm_eps);
    cJSON_AddNumberToObject(o, "max_position_embeddings", cfg->max_seq);
    cJSON_AddNumberToObject(o, "weight_bytes_per_token", (double)sidr_model_bytes_per_token(&m));
    cJSON_AddNumberToObject(o, "safetensors_files", m.st.n_files);
    cJSON *js = cJSON_AddObjectToObject(o, "sid_tokens");
    cJSON_AddNumberToObject(js, "count", tok ? sids.count : 0);
    if (tok && sids.count) {
        cJSON_AddNumberToObject(js, "levels", sids.n_levels);
        cJSON *pl = cJSON_AddArrayToObject(js, "per_level");
        for (int l = 0; l < sids.n_levels; l++) cJSON_AddItemToArray(pl, cJSON_CreateNumber(sids.per_level[l]));
        cJSON_AddNumberToObject(js, "first_id", sids.first_id);
        cJSON_AddNumberToObject(js, "last_id", sids.last_id);
    }
    cJSON_AddStringToObject(o, "chat_template", chat);
    cJSON_AddStringToObject(o, "kernels", sidr_kernels_name());
    cJSON_AddStringToObject(o, "numerics", sidr_numerics_name(m.numerics));
    if (check) cJSON_AddBoolToObject(o, "weights_finite", 1);

    if (json) {
        char *out = cJSON_PrintUnformatted(o);
        puts(out);
        free(out);
    } else {
        printf("model           %s\n", model);
        printf("architecture    %s (%s), %d layers, hidden %d, FFN %d\n", cJSON_GetObjectItem(o, "architecture")->valuestring,
               sidr_arch_name(cfg->arch), cfg->n_layers, cfg->dim, cfg->hidden_dim);
        printf("attention       %d query heads, %d KV heads, head_dim %d%s%s, RoPE theta %g\n", cfg->n_heads,
               cfg->n_kv_heads, cfg->head_dim, cfg->qk_norm ? ", q/k RMSNorm" : "", cfg->qkv_bias ? ", q/k/v bias" : "",
               cfg->rope_theta);
        printf("parameters      %.3f M (%s), %s embeddings\n", sidr_model_n_params(&m) / 1e6, sidr_dtype_name(main_dtype),
               cfg->tie_embeddings ? "tied" : "untied");
        printf("weights/token   %.1f MB read per decoded token, %d safetensors file%s\n",
               sidr_model_bytes_per_token(&m) / 1e6, m.st.n_files, m.st.n_files == 1 ? "" : "s");
        printf("vocabulary      %d (model), %d (tokenizer%s)\n", cfg->vocab_size, tok ? sidr_tokenizer_n_vocab(tok) : 0,
               tok ? "" : ": no tokenizer.json");
        if (tok && sids.count) {
            printf("SID tokens      %d over %d levels (", sids.count, sids.n_levels);
            for (int l = 0; l < sids.n_levels; l++) printf("%s%c: %d", l ? ", " : "", 'a' + l, sids.per_level[l]);
            printf("), ids %d..%d\n", sids.first_id, sids.last_id);
        } else
            printf("SID tokens      none\n");
        printf("chat template   %s\n", chat);
        printf("kernels         %s\n", sidr_kernels_name());
        printf("numerics        %s (%s)\n", sidr_numerics_name(m.numerics),
               m.numerics == SIDR_NUMERICS_FAST ? "bf16 activations in batched bf16 matmuls; a row's last bits depend on its batch"
                                                : "f32 activations, weights widened exactly; results independent of the batch");
        if (check) printf("weights         all %d tensors finite\n", m.st.n_tensors);
    }
    cJSON_Delete(o);
    sidr_tokenizer_free(tok);
    sidr_model_free(&m);
    return EXIT_OK;
}

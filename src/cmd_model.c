/* sidr model init | add-sids: make model folders.
 *
 * init writes a fresh random model of a given shape with a tokenizer copied
 * from another folder; add-sids extends any model's vocabulary with a
 * dataset's SID tokens exactly as SIDReasoner does (tokenizer.add_tokens with
 * the distinct tokens in sorted() order, resize_token_embeddings to the new
 * tokenizer length, new rows = mean of the old rows + small noise). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "session.h"
#include "commands.h"
#include "dataset.h"
#include "model_init.h"
#include "safetensors.h"
#include "sampler.h"
#include "tokenizer.h"
#include "util.h"

static sidr_status read_json_file(const char *path, cJSON **out)
{
    char *text;
    sidr_status s = read_file(path, &text, NULL);
    if (s) return s;
    *out = cJSON_Parse(text);
    free(text);
    if (!*out) return sidr_fail(SIDR_ERR_FORMAT, "%s: not valid JSON", path);
    return SIDR_OK;
}

/* Copies the tokenizer files of src into dst (tokenizer.json required). */
static sidr_status copy_tokenizer(const char *src, const char *dst)
{
    static const char *names[] = { "tokenizer.json", "tokenizer_config.json", "generation_config.json" };
    for (int i = 0; i < 3; i++) {
        char *a = path_join(src, names[i]), *b = path_join(dst, names[i]);
        sidr_status s = SIDR_OK;
        if (file_exists(a)) s = copy_file(a, b);
        else if (i == 0) s = sidr_fail(SIDR_ERR_MISSING, "%s: no tokenizer.json", src);
        free(a);
        free(b);
        if (s) return s;
    }
    return SIDR_OK;
}

/* ---- init ------------------------------------------------------------------- */

static const struct option init_opts[] = {
    { "arch", required_argument, NULL, 'a' }, { "preset", required_argument, NULL, 'p' },
    { "config", required_argument, NULL, 'c' }, { "tokenizer", required_argument, NULL, 't' },
    { "out", required_argument, NULL, 'o' }, { "dtype", required_argument, NULL, 'D' },
    { "seed", required_argument, NULL, 's' }, { "std", required_argument, NULL, 'S' },
    { "hidden", required_argument, NULL, 1 }, { "ffn", required_argument, NULL, 2 },
    { "layers", required_argument, NULL, 3 }, { "heads", required_argument, NULL, 4 },
    { "kv-heads", required_argument, NULL, 5 }, { "head-dim", required_argument, NULL, 6 },
    { "vocab", required_argument, NULL, 7 }, { "rope-theta", required_argument, NULL, 8 },
    { "untied", no_argument, NULL, 9 }, { "max-positions", required_argument, NULL, 10 },
    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

static int model_init(int argc, char **argv)
{
    const char *arch = "qwen3", *preset = "tiny", *config = NULL, *tok_dir = NULL, *out = NULL, *dtype_s = "bf16";
    long seed = 0, v;
    double std = 0.02, theta;
    int sizes[11] = { 0 }, untied = 0, c;
    sidr_config cfg;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", init_opts, NULL)) != -1) {
        switch (c) {
        case 'a': arch = optarg; break;
        case 'p': preset = optarg; break;
        case 'c': config = optarg; break;
        case 't': tok_dir = optarg; break;
        case 'o': out = optarg; break;
        case 'D': dtype_s = optarg; break;
        case 's': if (parse_int(optarg, 0, __LONG_MAX__, &seed)) return usage_error("model init", "--seed expects an integer >= 0"); break;
        case 'S': if (parse_float(optarg, 1e-6, 10, &std)) return usage_error("model init", "--std expects a number in (0, 10]"); break;
        case 9: untied = 1; break;
        case 8: if (parse_float(optarg, 1, 1e9, &theta)) return usage_error("model init", "--rope-theta expects a number >= 1"); sizes[8] = (int)theta; break;
        case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 10:
            if (parse_int(optarg, 1, 1 << 24, &v)) return usage_error("model init", "%s expects a positive integer", argv[optind - 2]);
            sizes[c] = (int)v;
            break;
        case 'h':
            printf("usage: sidr model init [--arch qwen3|qwen2|llama] [--preset tiny|0.6b|1.7b | --config FILE]\n"
                   "                       [--hidden N] [--ffn N] [--layers N] [--heads N] [--kv-heads N] [--head-dim N]\n"
                   "                       [--vocab N] [--rope-theta T] [--max-positions N] [--untied]\n"
                   "                       --tokenizer DIR --out DIR [--dtype bf16|f32|f16] [--seed S] [--std X]\n"
                   "A fresh random model folder; the vocabulary defaults to the tokenizer's size.\n");
            return EXIT_OK;
        default: return usage_error("model init", "unknown option");
        }
    }
    if (optind != argc) return usage_error("model init", "unexpected argument '%s'", argv[optind]);
    if (!tok_dir || !out) return usage_error("model init", "--tokenizer DIR and --out DIR are required");
    sidr_dtype dtype;
    if (!strcmp(dtype_s, "bf16")) dtype = SIDR_BF16;
    else if (!strcmp(dtype_s, "f32")) dtype = SIDR_F32;
    else if (!strcmp(dtype_s, "f16")) dtype = SIDR_F16;
    else return usage_error("model init", "--dtype expects bf16, f32 or f16");
    sidr_status s;
    if (config) {
        if ((s = sidr_config_load(&cfg, config))) return runtime_error("model init", s);
    } else if ((s = sidr_config_qwen3_preset(&cfg, preset))) {
        return usage_error("model init", "unknown preset '%s' (expected tiny, 0.6b or 1.7b)", preset);
    }
    if (!strcmp(arch, "qwen3")) cfg.arch = SIDR_ARCH_QWEN3;
    else if (!strcmp(arch, "qwen2")) cfg.arch = SIDR_ARCH_QWEN2;
    else if (!strcmp(arch, "llama")) cfg.arch = SIDR_ARCH_LLAMA;
    else return usage_error("model init", "--arch expects qwen3, qwen2 or llama");
    if (sizes[1]) cfg.dim = sizes[1];
    if (sizes[2]) cfg.hidden_dim = sizes[2];
    if (sizes[3]) cfg.n_layers = sizes[3];
    if (sizes[4]) cfg.n_heads = sizes[4];
    if (sizes[5]) cfg.n_kv_heads = sizes[5];
    if (sizes[6]) cfg.head_dim = sizes[6];
    else if (sizes[1] || sizes[4]) cfg.head_dim = cfg.dim / cfg.n_heads;
    if (sizes[8]) cfg.rope_theta = (float)sizes[8];
    if (sizes[10]) cfg.max_seq = sizes[10];
    if (untied) cfg.tie_embeddings = 0;
    if (cfg.n_heads % cfg.n_kv_heads || cfg.head_dim % 2)
        return usage_error("model init", "heads (%d) must be a multiple of kv-heads (%d) and head-dim (%d) even",
                           cfg.n_heads, cfg.n_kv_heads, cfg.head_dim);
    char *tok_path = path_join(tok_dir, "tokenizer.json");
    sidr_tokenizer *tok;
    s = sidr_tokenizer_load(&tok, tok_path);
    free(tok_path);
    if (s) return runtime_error("model init", s);
    cfg.vocab_size = sizes[7] ? sizes[7] : sidr_tokenizer_n_vocab(tok);
    if (cfg.vocab_size < sidr_tokenizer_n_vocab(tok)) {
        sidr_tokenizer_free(tok);
        return usage_error("model init", "--vocab %d is smaller than the tokenizer (%d ids)", cfg.vocab_size, sidr_tokenizer_n_vocab(tok));
    }
    cfg.eos_id = sidr_tokenizer_find(tok, "<|im_end|>");
    if (cfg.eos_id < 0) cfg.eos_id = sidr_tokenizer_find(tok, "<|endoftext|>");
    cfg.bos_id = sidr_tokenizer_find(tok, "<|endoftext|>");
    sidr_tokenizer_free(tok);
    if ((s = sidr_model_init_random(out, &cfg, dtype, (uint64_t)seed, (float)std)) || (s = copy_tokenizer(tok_dir, out)))
        return runtime_error("model init", s);
    fprintf(stderr, "sidr model init: %s %d layers, hidden %d, vocab %d (%s) in %s\n", sidr_arch_name(cfg.arch),
            cfg.n_layers, cfg.dim, cfg.vocab_size, dtype_s, out);
    return EXIT_OK;
}

/* ---- add-sids --------------------------------------------------------------- */

typedef struct {
    sidr_safetensors st;
    int n;                       /* tensors written */
    const sidr_tensor **src;
    int old_vocab, new_vocab, dim;
    float **new_rows;            /* per resized tensor: [new - old][dim] f32, NULL otherwise */
} resize_job;

/* Bytes of the output tensor i: the source bytes, then new rows. */
static sidr_status fill_resized(void *user, int i, size_t offset, void *buf, size_t nbytes)
{
    resize_job *j = user;
    const sidr_tensor *t = j->src[i];
    size_t esz = sidr_dtype_size(t->dtype);
    size_t keep = j->new_rows[i] ? (size_t)(j->old_vocab < j->new_vocab ? j->old_vocab : j->new_vocab) * j->dim * esz
                                 : t->nbytes;
    unsigned char *out = buf;
    for (size_t k = 0; k < nbytes;) {
        size_t pos = offset + k;
        if (pos < keep) {
            size_t n = keep - pos < nbytes - k ? keep - pos : nbytes - k;
            memcpy(out + k, (const unsigned char *)t->data + pos, n);
            k += n;
        } else {
            size_t e = (pos - keep) / esz; /* element index into new rows */
            float f = j->new_rows[i][e];
            if (t->dtype == SIDR_F32) memcpy(out + k, &f, 4);
            else {
                uint16_t h = t->dtype == SIDR_BF16 ? sidr_f32_to_bf16(f) : sidr_f32_to_f16(f);
                memcpy(out + k, &h, 2);
            }
            k += esz;
        }
    }
    return SIDR_OK;
}

static const struct option add_opts[] = {
    { "model", required_argument, NULL, 'm' }, { "data", required_argument, NULL, 'd' },
    { "out", required_argument, NULL, 'o' }, { "seed", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

static int model_add_sids(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *out = NULL;
    long seed = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", add_opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'o': out = optarg; break;
        case 's': if (parse_int(optarg, 0, __LONG_MAX__, &seed)) return usage_error("model add-sids", "--seed expects an integer >= 0"); break;
        case 'h':
            printf("usage: sidr model add-sids --model DIR --data DIR --out DIR [--seed S]\n"
                   "Adds the dataset's SID tokens to the model's tokenizer (non-special, in sorted() order,\n"
                   "ids from the end of the vocabulary upward) and resizes the embeddings to the new\n"
                   "tokenizer length; new rows are the mean of the old rows plus small noise.\n");
            return EXIT_OK;
        default: return usage_error("model add-sids", "unknown option");
        }
    }
    if (optind != argc) return usage_error("model add-sids", "unexpected argument '%s'", argv[optind]);
    if (!model || !data || !out) return usage_error("model add-sids", "--model, --data and --out are required");
    if (!strcmp(model, out)) return usage_error("model add-sids", "--out must differ from --model");

    int rc = EXIT_OK;
    sidr_dataset ds;
    sidr_status s = sidr_dataset_load(&ds, data, NULL);
    if (s) return runtime_error("model add-sids", s);
    session_print_warnings(&ds, "model add-sids");
    int n_tokens;
    char **tokens = sidr_dataset_sid_tokens(&ds, &n_tokens);
    sidr_config cfg;
    sidr_tokenizer *tok = NULL;
    cJSON *tj = NULL, *tc = NULL, *cj = NULL;
    resize_job job;
    memset(&job, 0, sizeof job);
    sidr_st_entry *entries = NULL;
    char *p_cfg = path_join(model, "config.json"), *p_tok = path_join(model, "tokenizer.json");
    char *p_tc = path_join(model, "tokenizer_config.json");
    if (n_tokens == 0) {
        s = sidr_fail(SIDR_ERR_MISSING, "%s: the dataset has no SIDs (run 'sidr sids build' first)", data);
        goto fail;
    }
    if ((s = sidr_config_load(&cfg, p_cfg)) || (s = sidr_tokenizer_load(&tok, p_tok)) || (s = read_json_file(p_tok, &tj)) ||
        (s = read_json_file(p_cfg, &cj)) || (s = sidr_st_open_dir(&job.st, model)))
        goto fail;
    if (file_exists(p_tc) && (s = read_json_file(p_tc, &tc))) goto fail;

    /* The tokenizer: append the new tokens as add_tokens serialises them. */
    cJSON *added = cJSON_GetObjectItemCaseSensitive(tj, "added_tokens");
    if (!cJSON_IsArray(added)) {
        s = sidr_fail(SIDR_ERR_FORMAT, "%s: field 'added_tokens' must be a list", p_tok);
        goto fail;
    }
    cJSON *decoder = tc ? cJSON_GetObjectItemCaseSensitive(tc, "added_tokens_decoder") : NULL;
    int next_id = sidr_tokenizer_n_vocab(tok), n_new = 0;
    for (int i = 0; i < n_tokens; i++) {
        if (sidr_tokenizer_find(tok, tokens[i]) >= 0) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", next_id);
        cJSON_AddStringToObject(e, "content", tokens[i]);
        cJSON_AddBoolToObject(e, "single_word", 0);
        cJSON_AddBoolToObject(e, "lstrip", 0);
        cJSON_AddBoolToObject(e, "rstrip", 0);
        cJSON_AddBoolToObject(e, "normalized", 1);
        cJSON_AddBoolToObject(e, "special", 0);
        cJSON_AddItemToArray(added, e);
        if (cJSON_IsObject(decoder)) {
            char key[16];
            snprintf(key, sizeof key, "%d", next_id);
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "content", tokens[i]);
            cJSON_AddBoolToObject(d, "lstrip", 0);
            cJSON_AddBoolToObject(d, "normalized", 1);
            cJSON_AddBoolToObject(d, "rstrip", 0);
            cJSON_AddBoolToObject(d, "single_word", 0);
            cJSON_AddBoolToObject(d, "special", 0);
            cJSON_AddItemToObject(decoder, key, d);
        }
        next_id++;
        n_new++;
    }
    /* resize_token_embeddings(len(tokenizer)) */
    job.old_vocab = cfg.vocab_size;
    job.new_vocab = next_id;
    job.dim = cfg.dim;
    cJSON_ReplaceItemInObjectCaseSensitive(cj, "vocab_size", cJSON_CreateNumber(job.new_vocab));

    if ((s = make_dirs(out))) goto fail;
    int nt = job.st.n_tensors;
    entries = xcalloc(nt, sizeof *entries);
    job.src = xcalloc(nt, sizeof *job.src);
    job.new_rows = xcalloc(nt, sizeof *job.new_rows);
    uint64_t rng = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int i = 0; i < nt; i++) {
        const sidr_tensor *t = &job.st.tensors[i];
        job.src[i] = t;
        entries[i] = (sidr_st_entry){ t->name, t->dtype, t->ndim, { 0 }, NULL };
        memcpy(entries[i].shape, t->shape, sizeof t->shape);
        int is_vocab = (!strcmp(t->name, "model.embed_tokens.weight") || !strcmp(t->name, "lm_head.weight")) &&
                       t->ndim == 2 && t->shape[0] == job.old_vocab && t->shape[1] == job.dim;
        if (!is_vocab) continue;
        entries[i].shape[0] = job.new_vocab;
        int extra = job.new_vocab - job.old_vocab;
        job.new_rows[i] = xcalloc((size_t)(extra > 0 ? extra : 1) * job.dim, sizeof(float));
        if (extra <= 0) continue;
        /* Mean and spread of the existing rows. */
        double *mean = xcalloc(job.dim, sizeof(double)), var = 0;
        float *row = xmalloc(job.dim * sizeof(float));
        for (int r = 0; r < job.old_vocab; r++) {
            sidr_tensor_to_f32(t, (size_t)r * job.dim, job.dim, row);
            for (int d = 0; d < job.dim; d++) { mean[d] += row[d]; var += (double)row[d] * row[d]; }
        }
        double ms = 0;
        for (int d = 0; d < job.dim; d++) { mean[d] /= job.old_vocab; ms += mean[d] * mean[d]; }
        double sd = sqrt(fmax(var / ((double)job.old_vocab * job.dim) - ms / job.dim, 0));
        for (int r = 0; r < extra; r++)
            for (int d = 0; d < job.dim; d++) {
                double u1 = sidr_rand_f32(&rng) + 1e-7, u2 = sidr_rand_f32(&rng);
                double z = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
                job.new_rows[i][(size_t)r * job.dim + d] = (float)(mean[d] + 0.01 * sd * z);
            }
        free(mean);
        free(row);
    }
    char *p_out_st = path_join(out, "model.safetensors"), *p_out_cfg = path_join(out, "config.json");
    char *p_out_tok = path_join(out, "tokenizer.json"), *p_out_tc = path_join(out, "tokenizer_config.json");
    char *p_gen = path_join(model, "generation_config.json"), *p_out_gen = path_join(out, "generation_config.json");
    s = sidr_st_write_stream(p_out_st, entries, nt, NULL, fill_resized, &job);
    if (!s) s = write_json_file(p_out_tok, tj);
    if (!s && tc) s = write_json_file(p_out_tc, tc);
    if (!s && file_exists(p_gen)) s = copy_file(p_gen, p_out_gen);
    if (!s) s = write_json_file(p_out_cfg, cj); /* last: a folder with a config is complete */
    free(p_out_st); free(p_out_cfg); free(p_out_tok); free(p_out_tc); free(p_gen); free(p_out_gen);
    if (s) goto fail;
    fprintf(stderr, "sidr model add-sids: %d SID tokens in the dataset, %d new (ids %d..%d), vocabulary %d -> %d, in %s\n",
            n_tokens, n_new, next_id - n_new, next_id - 1, job.old_vocab, job.new_vocab, out);
    goto done;
fail:
    rc = runtime_error("model add-sids", s);
done:
    for (int i = 0; i < job.st.n_tensors && job.new_rows; i++) free(job.new_rows[i]);
    free(job.new_rows);
    free(job.src);
    free(entries);
    sidr_st_close(&job.st);
    cJSON_Delete(tj);
    cJSON_Delete(tc);
    cJSON_Delete(cj);
    sidr_tokenizer_free(tok);
    sidr_dataset_free_tokens(tokens, n_tokens);
    sidr_dataset_free(&ds);
    free(p_cfg);
    free(p_tok);
    free(p_tc);
    return rc;
}

int cmd_model(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: sidr model init ...      a fresh random model folder\n"
               "       sidr model add-sids ...  extend a model's vocabulary with a dataset's SID tokens\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "init")) return model_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "add-sids")) return model_add_sids(argc - 1, argv + 1);
    return usage_error("model", "unknown subcommand '%s' (expected init or add-sids)", argv[1]);
}

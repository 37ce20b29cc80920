/* sidr tokenizer train: a byte-level BPE vocabulary from a dataset's text,
 * for models trained from scratch. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bpe_train.h"
#include "chat.h"
#include "cli.h"
#include "session.h"
#include "commands.h"
#include "dataset.h"
#include "progress.h"
#include "prompts.h"
#include "tasks.h"
#include "tokenizer.h"
#include "util.h"

/* A ChatML template with Qwen3's think blocks, for tokenizer_config.json so
 * that Python's apply_chat_template renders what sidr renders. */
static const char CHAT_TEMPLATE[] =
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' and loop.last %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if '</think>' not in message.content %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{{- message.content + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}";

static sidr_status write_tokenizer_config(const char *dir, const char *tok_json)
{
    cJSON *tj = cJSON_Parse(tok_json), *cfg = cJSON_CreateObject();
    cJSON_AddBoolToObject(cfg, "add_bos_token", 0);
    cJSON_AddBoolToObject(cfg, "add_prefix_space", 0);
    cJSON *dec = cJSON_AddObjectToObject(cfg, "added_tokens_decoder");
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(tj, "added_tokens")) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "content", cJSON_GetObjectItem(e, "content")->valuestring);
        cJSON_AddBoolToObject(d, "lstrip", 0);
        cJSON_AddBoolToObject(d, "normalized", 0);
        cJSON_AddBoolToObject(d, "rstrip", 0);
        cJSON_AddBoolToObject(d, "single_word", 0);
        cJSON_AddBoolToObject(d, "special", cJSON_IsTrue(cJSON_GetObjectItem(e, "special")));
        char key[16];
        snprintf(key, sizeof key, "%d", cJSON_GetObjectItem(e, "id")->valueint);
        cJSON_AddItemToObject(dec, key, d);
    }
    cJSON_AddStringToObject(cfg, "bos_token", "<|endoftext|>");
    cJSON_AddStringToObject(cfg, "eos_token", "<|im_end|>");
    cJSON_AddStringToObject(cfg, "pad_token", "<|endoftext|>");
    cJSON_AddStringToObject(cfg, "unk_token", "<|endoftext|>");
    cJSON_AddStringToObject(cfg, "chat_template", CHAT_TEMPLATE);
    cJSON_AddNumberToObject(cfg, "model_max_length", 32768);
    cJSON_AddStringToObject(cfg, "tokenizer_class", "Qwen2Tokenizer");
    char *path = path_join(dir, "tokenizer_config.json");
    sidr_status s = write_json_file(path, cfg);
    free(path);
    cJSON_Delete(cfg);
    cJSON_Delete(tj);
    return s;
}

typedef struct {
    char **v;
    int n, cap;
} strvec;

static void push(strvec *s, char *text)
{
    if (!text || !*text) { free(text); return; }
    if (s->n == s->cap) s->v = xrealloc(s->v, (size_t)(s->cap = s->cap * 2 + 256) * sizeof(char *));
    s->v[s->n++] = text;
}

static int on_progress(void *user, int done, int total)
{
    progress *p = user;
    if (done == 1) p->total = total;
    progress_update(p, done, NULL);
    return interrupted;
}

static const struct option opts[] = {
    { "data", required_argument, NULL, 'd' }, { "vocab", required_argument, NULL, 'v' },
    { "out", required_argument, NULL, 'o' }, { "min-frequency", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

static int tokenizer_train(int argc, char **argv)
{
    const char *data = NULL, *out = NULL;
    long vocab = 0, minf = 2;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'o': out = optarg; break;
        case 'v': if (parse_int(optarg, 262, 1 << 20, &vocab)) return usage_error("tokenizer train", "--vocab expects an integer in [262, 1048576]"); break;
        case 'f': if (parse_int(optarg, 1, 1 << 20, &minf)) return usage_error("tokenizer train", "--min-frequency expects a positive integer"); break;
        case 'h':
            printf("usage: sidr tokenizer train --data DIR --vocab N --out DIR [--min-frequency F]\n"
                   "Trains a byte-level BPE of N tokens (256 bytes, merges, and <|endoftext|> <|im_start|>\n"
                   "<|im_end|> <think> </think>) on the dataset's item text, enriched narratives and the\n"
                   "SIDReasoner prompts, with Qwen's normaliser and pre-tokenizer. SID tokens are not\n"
                   "part of it: add them with 'sidr model add-sids'. Writes tokenizer.json and\n"
                   "tokenizer_config.json.\n");
            return EXIT_OK;
        default: return usage_error("tokenizer train", "unknown option");
        }
    }
    if (optind != argc) return usage_error("tokenizer train", "unexpected argument '%s'", argv[optind]);
    if (!data || !out || !vocab) return usage_error("tokenizer train", "--data, --vocab and --out are required");
    sidr_dataset_opts dopts;
    sidr_dataset_opts_default(&dopts);
    dopts.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    sidr_dataset ds;
    sidr_status s = sidr_dataset_load(&ds, data, &dopts);
    if (s) return runtime_error("tokenizer train", s);
    session_print_warnings(&ds, "tokenizer train");
    task_enrichment en;
    if ((s = task_enrichment_load(&en, &ds))) {
        sidr_dataset_free(&ds);
        return runtime_error("tokenizer train", s);
    }
    /* The corpus: item text, the enriched texts, and every task's prompt
     * once per training row (the templates dominate what a model reads). */
    strvec corpus = { 0 };
    for (int i = 0; i < ds.n_items; i++) {
        const sidr_item *it = &ds.items[i];
        push(&corpus, xstrdup(it->title));
        push(&corpus, xstrdup(it->brand));
        push(&corpus, xstrdup(it->categories));
        push(&corpus, xstrdup(it->description));
    }
    sidr_split_id sp = ds.split[SIDR_SPLIT_TRAIN].present ? SIDR_SPLIT_TRAIN : SIDR_SPLIT_VALID;
    for (int r = 0; r < ds.split[sp].n; r++) {
        for (int k = TASK_SID_TO_SID; k <= TASK_REASONING; k++) {
            if (k == TASK_GENERAL || k == TASK_TITLE_TO_SID_ITEM || k == TASK_ITEM_NARRATIVE) continue;
            task_text t;
            task_build(&t, (task_kind)k, &ds, &en, sp, r, ds.split[sp].rows[r].target, (uint64_t)r);
            if (t.chat) {
                /* the rendered chat, so role names and markers are learned too */
                sidr_chat_msg m[3] = { { "system", t.system }, { "user", t.user }, { "assistant", t.response } };
                push(&corpus, sidr_chat_render(m, 3, 0));
            } else {
                push(&corpus, t.response ? xstrdup(t.response) : NULL);
            }
            task_text_free(&t);
        }
    }
    for (int i = 0; i < ds.n_items; i++) {
        task_text t;
        task_build(&t, TASK_ITEM_NARRATIVE, &ds, &en, sp, -1, i, (uint64_t)i);
        push(&corpus, t.response ? xstrdup(t.response) : NULL);
        task_text_free(&t);
    }
    int n_skip;
    char **skip = sidr_dataset_sid_tokens(&ds, &n_skip);
    sidr_bpe_opts bo = { (int)vocab, (int)minf, (const char *const *)skip, n_skip, on_progress, NULL };
    progress pr;
    progress_start(&pr, "tokenizer", (long)vocab, "merges");
    bo.user = &pr;
    install_interrupt_handler();
    char *json = NULL;
    double t0 = now_seconds();
    s = sidr_bpe_train((const char *const *)corpus.v, corpus.n, &bo, &json);
    int rc = EXIT_OK;
    if (!s) {
        progress_end(&pr, pr.total, NULL);
        s = make_dirs(out);
    }
    if (!s) {
        char *path = path_join(out, "tokenizer.json");
        s = write_file_atomic(path, json, strlen(json));
        free(path);
    }
    if (!s) s = write_tokenizer_config(out, json);
    if (s) rc = runtime_error("tokenizer train", s);
    else {
        sidr_tokenizer *tok;
        if (!sidr_tokenizer_load_json(&tok, json, strlen(json), "trained tokenizer")) {
            fprintf(stderr, "sidr tokenizer train: %d texts, vocabulary %d, %.1f s, in %s\n", corpus.n,
                    sidr_tokenizer_n_vocab(tok), now_seconds() - t0, out);
            sidr_tokenizer_free(tok);
        }
    }
    free(json);
    for (int i = 0; i < corpus.n; i++) free(corpus.v[i]);
    free(corpus.v);
    sidr_dataset_free_tokens(skip, n_skip);
    task_enrichment_free(&en, &ds);
    sidr_dataset_free(&ds);
    return rc;
}

int cmd_tokenizer(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "train")) return tokenizer_train(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: sidr tokenizer train --data DIR --vocab N --out DIR\n");
        return EXIT_OK;
    }
    return usage_error("tokenizer", "expected 'train'");
}

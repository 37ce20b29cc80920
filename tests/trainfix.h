/* Fixtures shared by the training tests: a small chat tokenizer (the tiny
 * byte-level BPE of tests/fixtures/tokenizer plus the ChatML special tokens
 * it lacks), the MiniOneRec fixture dataset, temporary folders.  Define
 * _POSIX_C_SOURCE 200809L before including (mkdtemp). */
#ifndef SIDR_TRAINFIX_H
#define SIDR_TRAINFIX_H

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "tap.h"
#include "tokenizer.h"
#include "util.h"

/* tiny_bytelevel.json with <|im_start|> and <|im_end|> appended as special
 * added tokens (it has <|endoftext|>, <think> and </think> already);
 * malloc'd JSON text. */
static inline char *fix_chat_tokenizer_json(void)
{
    char path[1024], *text;
    snprintf(path, sizeof path, "%s/fixtures/tokenizer/tiny_bytelevel.json", tap_testdir());
    if (read_file(path, &text, NULL)) return NULL;
    cJSON *root = cJSON_Parse(text);
    free(text);
    cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    int next = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, added) {
        int id = cJSON_GetObjectItemCaseSensitive(a, "id")->valueint;
        if (id >= next) next = id + 1;
    }
    const char *toks[2] = { "<|im_start|>", "<|im_end|>" };
    for (int i = 0; i < 2; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", next++);
        cJSON_AddStringToObject(e, "content", toks[i]);
        cJSON_AddBoolToObject(e, "single_word", 0);
        cJSON_AddBoolToObject(e, "lstrip", 0);
        cJSON_AddBoolToObject(e, "rstrip", 0);
        cJSON_AddBoolToObject(e, "normalized", 0);
        cJSON_AddBoolToObject(e, "special", 1);
        cJSON_AddItemToArray(added, e);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* The chat tokenizer with the dataset's SID tokens added (NULL on failure). */
static inline sidr_tokenizer *fix_chat_tokenizer(const sidr_dataset *ds)
{
    char *json = fix_chat_tokenizer_json();
    sidr_tokenizer *t = NULL;
    if (!json || sidr_tokenizer_load_json(&t, json, strlen(json), "tiny+chatml")) {
        free(json);
        return NULL;
    }
    free(json);
    if (ds) {
        int n;
        char **toks = sidr_dataset_sid_tokens(ds, &n);
        sidr_tokenizer_add_tokens(t, (const char *const *)toks, n, NULL);
        sidr_dataset_free_tokens(toks, n);
    }
    return t;
}

/* The real Qwen3 tokenizer from ../shared with the dataset's SID tokens, or
 * NULL when ../shared is absent. */
static inline sidr_tokenizer *fix_qwen_tokenizer(const sidr_dataset *ds)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/qwen3/tokenizer.json", tap_shared());
    if (!file_exists(path)) return NULL;
    sidr_tokenizer *t = NULL;
    if (sidr_tokenizer_load(&t, path)) return NULL;
    int n;
    char **toks = sidr_dataset_sid_tokens(ds, &n);
    sidr_tokenizer_add_tokens(t, (const char *const *)toks, n, NULL);
    sidr_dataset_free_tokens(toks, n);
    return t;
}

static inline char *fix_dataset_dir(void)
{
    char *d = malloc(strlen(tap_testdir()) + 64);
    sprintf(d, "%s/fixtures/data/minionerec", tap_testdir());
    return d;
}

/* A fresh temporary directory (malloc'd path). */
static inline char *fix_tempdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *d = malloc(512);
    snprintf(d, 512, "%s/sidr-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

static inline int fix_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int fix_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc == -1 ? -1 : (rc >> 8) & 0xff;
}

static inline int fix_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

#endif

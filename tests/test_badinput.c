/* sidr_model_load on broken model folders: every corruption is refused with a
 * non-OK status and a message that names the file at fault and says what is
 * wrong.  The broken folders are made here, at test time, from copies of the
 * good fixtures in tests/fixtures/models (nothing corrupt is committed). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tap.h"
#include "transformer.h"

#define SINGLE "qwen3-tied-bf16"    /* one model.safetensors, tied, bf16 */
#define UNTIED "qwen3-hd32-f32"     /* one model.safetensors, lm_head present */
#define SHARDED "qwen3-sharded-f32" /* two shards + index */
#define SHARD2 "model-00002-of-00002.safetensors"

static char FIXDIR[4096];

/* ---- files ------------------------------------------------------------------ */

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); fclose(f); return NULL; }
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int spit(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(buf, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* A fresh temporary folder holding a copy of fixture name's files. */
static char *copy_fixture(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/sidr-badinput-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) return NULL;
    char *src = join(FIXDIR, name);
    DIR *d = opendir(src);
    if (!d) { free(src); rmdir(tmpl); return NULL; }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *a = join(src, e->d_name), *b = join(tmpl, e->d_name);
        size_t n;
        unsigned char *buf = slurp(a, &n);
        if (buf) spit(b, buf, n);
        free(buf);
        free(a);
        free(b);
    }
    closedir(d);
    free(src);
    char *out = malloc(strlen(tmpl) + 1);
    strcpy(out, tmpl);
    return out;
}

static void remove_dir(char *dir)
{
    if (!dir) return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p = join(dir, e->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* ---- safetensors editing ------------------------------------------------------ */

typedef struct {
    unsigned char *buf;
    size_t len;
    cJSON *hdr;
    const unsigned char *data;
    size_t data_len;
} stfile;

static int st_read(const char *path, stfile *f)
{
    memset(f, 0, sizeof *f);
    f->buf = slurp(path, &f->len);
    if (!f->buf || f->len < 8) return -1;
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = (h << 8) | f->buf[i];
    if (h > f->len - 8) return -1;
    f->hdr = cJSON_ParseWithLength((const char *)f->buf + 8, (size_t)h);
    f->data = f->buf + 8 + h;
    f->data_len = f->len - 8 - (size_t)h;
    return f->hdr ? 0 : -1;
}

static void st_done(stfile *f)
{
    cJSON_Delete(f->hdr);
    free(f->buf);
}

/* Writes header (padded with spaces to 8) and data. */
static int st_write(const char *path, const char *header, const void *data, size_t data_len)
{
    size_t h = strlen(header), pad = (8 - h % 8) % 8, n = 8 + h + pad + data_len;
    unsigned char *b = malloc(n);
    uint64_t hl = h + pad;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + 8, header, h);
    memset(b + 8 + h, ' ', pad);
    if (data_len) memcpy(b + 8 + h + pad, data, data_len);
    int r = spit(path, b, n);
    free(b);
    return r;
}

static int st_write_json(const char *path, const cJSON *hdr, const void *data, size_t data_len)
{
    char *s = cJSON_PrintUnformatted(hdr);
    int r = st_write(path, s, data, data_len);
    cJSON_free(s);
    return r;
}

/* Sets key of tensor `name` in the header of path to value (taken over). */
static int st_set(const char *path, const char *name, const char *key, cJSON *value)
{
    stfile f;
    int r = -1;
    if (st_read(path, &f) == 0) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(f.hdr, name);
        if (t && cJSON_GetObjectItemCaseSensitive(t, key)) {
            cJSON_ReplaceItemInObjectCaseSensitive(t, key, value);
            value = NULL;
            r = st_write_json(path, f.hdr, f.data, f.data_len);
        }
    }
    cJSON_Delete(value);
    st_done(&f);
    return r;
}

static cJSON *int_array2(long long a, long long b)
{
    cJSON *x = cJSON_CreateArray();
    cJSON_AddItemToArray(x, cJSON_CreateNumber((double)a));
    cJSON_AddItemToArray(x, cJSON_CreateNumber((double)b));
    return x;
}

static int offsets_of(const cJSON *t, long long *b, long long *e)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) != 2) return -1;
    *b = (long long)cJSON_GetArrayItem(o, 0)->valuedouble;
    *e = (long long)cJSON_GetArrayItem(o, 1)->valuedouble;
    return 0;
}

/* Removes tensor `name` and packs the data of the others (a well-formed file
 * that merely lacks the tensor). */
static int st_drop(const char *path, const char *name)
{
    stfile f;
    int r = -1, found = 0;
    if (st_read(path, &f) == 0) {
        cJSON *out = cJSON_CreateObject();
        unsigned char *data = malloc(f.data_len + 1);
        size_t off = 0;
        for (cJSON *t = f.hdr->child; t; t = t->next) {
            if (!strcmp(t->string, name)) { found = 1; continue; }
            cJSON *c = cJSON_Duplicate(t, 1);
            long long b, e;
            if (strcmp(t->string, "__metadata__") && offsets_of(t, &b, &e) == 0) {
                memcpy(data + off, f.data + b, (size_t)(e - b));
                cJSON_ReplaceItemInObjectCaseSensitive(c, "data_offsets",
                                                       int_array2((long long)off, (long long)(off + (size_t)(e - b))));
                off += (size_t)(e - b);
            }
            cJSON_AddItemToObject(out, t->string, c);
        }
        if (found) r = st_write_json(path, out, data, off);
        cJSON_Delete(out);
        free(data);
    }
    st_done(&f);
    return r;
}

/* ---- config.json editing ------------------------------------------------------ */

/* Sets (value != NULL, taken over) or deletes key in dir/config.json. */
static int cfg_set(const char *dir, const char *key, cJSON *value)
{
    char *p = join(dir, "config.json");
    size_t n;
    char *s = (char *)slurp(p, &n);
    cJSON *c = s ? cJSON_Parse(s) : NULL;
    int r = -1;
    if (c) {
        if (value) {
            if (cJSON_GetObjectItemCaseSensitive(c, key))
                cJSON_ReplaceItemInObjectCaseSensitive(c, key, value);
            else
                cJSON_AddItemToObject(c, key, value);
            value = NULL;
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(c, key);
        }
        char *o = cJSON_Print(c);
        r = spit(p, o, strlen(o));
        cJSON_free(o);
        cJSON_Delete(c);
    }
    cJSON_Delete(value);
    free(s);
    free(p);
    return r;
}

/* ---- the check ------------------------------------------------------------------ */

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return 0;
}

/* any of the '|'-separated words of alts in msg (case-insensitive) */
static int mentions(const char *msg, const char *alts)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", alts);
    for (char *w = strtok(buf, "|"); w; w = strtok(NULL, "|"))
        if (contains_ci(msg, w)) return 1;
    return 0;
}

/* Loads dir in a child process (so that a crash or an abort on bad input is
 * reported as a failure, not the end of the test): returns 1 when the child
 * ran to completion, with the load's status and message; 0 when it died. */
static int load_in_child(const char *dir, sidr_status *st, char *msg, size_t cap, int *sig)
{
    int fd[2];
    *sig = 0;
    msg[0] = 0;
    fflush(stdout);
    if (pipe(fd) != 0) return 0;
    pid_t pid = fork();
    if (pid < 0) { close(fd[0]); close(fd[1]); return 0; }
    if (pid == 0) {
        close(fd[0]);
        sidr_model m;
        memset(&m, 0, sizeof m);
        sidr_fail(SIDR_OK, "%s", "");  /* clear the last message */
        int r = (int)sidr_model_load(&m, dir);
        if (r == SIDR_OK) sidr_model_free(&m);
        const char *e = sidr_last_error();
        size_t n = strlen(e);
        if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r || write(fd[1], e, n) != (ssize_t)n) _exit(3);
        close(fd[1]);
        _exit(0);
    }
    close(fd[1]);
    int r = -1;
    size_t got = 0;
    ssize_t k = read(fd[0], &r, sizeof r);
    if (k == (ssize_t)sizeof r)
        while (got + 1 < cap && (k = read(fd[0], msg + got, cap - 1 - got)) > 0) got += (size_t)k;
    msg[got] = 0;
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(status)) { *sig = WTERMSIG(status); return 0; }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || r < 0) return 0;
    *st = (sidr_status)r;
    return 1;
}

/* Loads dir, expecting a failure whose message mentions one of `file` and
 * one of `words` ('|'-separated alternatives). */
static void expect_fail(const char *what, const char *dir, const char *file, const char *words)
{
    char msg[4096];
    sidr_status st = SIDR_OK;
    int sig;
    if (!load_in_child(dir, &st, msg, sizeof msg, &sig)) {
        if (sig) tap_diag("sidr_model_load died of signal %d%s", sig, sig == 6 ? " (abort)" : "");
        else tap_diag("sidr_model_load did not complete");
        tap_ok(0, "%s: refused without crashing", what);
        return;
    }
    if (st == SIDR_OK) {
        tap_diag("loaded without complaint");
        tap_ok(0, "%s: refused", what);
        return;
    }
    tap_diag("%s -> %s: %s", what, sidr_status_name(st), msg);
    int f = mentions(msg, file), w = mentions(msg, words);
    if (!f) tap_diag("  the message does not name the file (%s)", file);
    if (!w) tap_diag("  the message does not say what is wrong (%s)", words);
    tap_ok(f && w, "%s: refused, naming the file and the problem", what);
}

#define WORDS_TRUNC "truncat|short|end of file|past|beyond|exceed|outside|size|bound|range|small"
#define WORDS_OFFS  "offset|range|bound|past|beyond|exceed|outside|overlap|contiguous|gap|hole|order|truncat"

int main(void)
{
    snprintf(FIXDIR, sizeof FIXDIR, "%s/fixtures/models", tap_testdir());
    char *d;
    char *p;
    stfile f;

    /* sanity: the untouched copies load */
    const char *goods[] = { SINGLE, UNTIED, SHARDED };
    for (int i = 0; i < 3; i++) {
        d = copy_fixture(goods[i]);
        if (!d) return tap_skip_all("cannot copy the fixtures into a temporary folder");
        sidr_model m;
        memset(&m, 0, sizeof m);
        sidr_status st = sidr_model_load(&m, d);
        if (st != SIDR_OK) tap_diag("%s", sidr_last_error());
        else sidr_model_free(&m);
        tap_ok(st == SIDR_OK, "an unmodified copy of %s loads", goods[i]);
        remove_dir(d);
    }

    /* ---- model.safetensors ---- */

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        unsigned char *b = malloc(f.len);
        memcpy(b, f.buf, f.len);
        size_t cut = f.len - f.data_len / 2;
        st_done(&f);
        spit(p, b, cut);
        free(b);
    }
    expect_fail("truncated in the data area", d, "model.safetensors", WORDS_TRUNC);
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    {
        size_t n;
        unsigned char *b = slurp(p, &n);
        uint64_t h = (uint64_t)n + 1000;
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(h >> (8 * i));
        spit(p, b, n);
        free(b);
    }
    expect_fail("header length past the end of the file", d, "model.safetensors",
                "header|" WORDS_TRUNC);
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    {
        size_t n;
        unsigned char *b = slurp(p, &n);
        for (int i = 0; i < 8; i++) b[i] = 0xff;   /* 2^64 - 1: overflows any sum */
        spit(p, b, n);
        free(b);
    }
    expect_fail("header length 2^64-1", d, "model.safetensors", "header|" WORDS_TRUNC);
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        size_t h = f.len - 8 - f.data_len;
        unsigned char *b = malloc(f.len);
        memcpy(b, f.buf, f.len);
        memset(b + 8, ' ', h);
        memcpy(b + 8, "{\"model.norm.weight\": [this is not json", 39);
        spit(p, b, f.len);
        free(b);
        st_done(&f);
    }
    expect_fail("header not JSON", d, "model.safetensors", "json|parse|syntax|header");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {   /* valid JSON, but not an object of tensors */
        st_write(p, "[1, 2, 3]", f.data, f.data_len);
        st_done(&f);
    }
    expect_fail("header a JSON array", d, "model.safetensors", "json|object|header|format");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_set(p, "model.embed_tokens.weight", "dtype", cJSON_CreateString("F8_E4M3"));
    expect_fail("unknown dtype F8_E4M3", d, "model.safetensors", "F8_E4M3|dtype");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_set(p, "model.norm.weight", "dtype", cJSON_CreateString("Q4"));
    expect_fail("unknown dtype Q4", d, "model.safetensors", "Q4|dtype");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);   /* a real safetensors dtype of the right size, not a float */
    p = join(d, "model.safetensors");
    st_set(p, "model.norm.weight", "dtype", cJSON_CreateString("I16"));
    expect_fail("weight of dtype I16", d, "model.safetensors", "I16|dtype");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        long long b, e, best = -1;
        const char *last = NULL;
        for (cJSON *t = f.hdr->child; t; t = t->next)
            if (offsets_of(t, &b, &e) == 0 && e > best) { best = e; last = t->string; }
        char name[128];
        snprintf(name, sizeof name, "%s", last ? last : "");
        offsets_of(cJSON_GetObjectItemCaseSensitive(f.hdr, name), &b, &e);
        st_done(&f);
        st_set(p, name, "data_offsets", int_array2(b + 64, e + 64));
    }
    expect_fail("data_offsets past the end of the data", d, "model.safetensors", WORDS_OFFS);
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        long long b, e;
        offsets_of(cJSON_GetObjectItemCaseSensitive(f.hdr, "model.layers.0.self_attn.k_proj.weight"), &b, &e);
        st_done(&f);
        st_set(p, "model.layers.0.self_attn.v_proj.weight", "data_offsets", int_array2(b, e));
    }
    expect_fail("data_offsets overlapping (v_proj on k_proj)", d, "model.safetensors", WORDS_OFFS);
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        long long b, e;
        offsets_of(cJSON_GetObjectItemCaseSensitive(f.hdr, "model.norm.weight"), &b, &e);
        st_done(&f);
        st_set(p, "model.norm.weight", "data_offsets", int_array2(e, b));
    }
    expect_fail("data_offsets end before begin", d, "model.safetensors", WORDS_OFFS);
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    {
        cJSON *s = cJSON_CreateArray();
        cJSON_AddItemToArray(s, cJSON_CreateNumber(160));
        cJSON_AddItemToArray(s, cJSON_CreateNumber(65));
        st_set(p, "model.layers.1.mlp.gate_proj.weight", "shape", s);
    }
    expect_fail("shape [160,65] over the bytes of [160,64]", d, "model.safetensors",
                "size|bytes|offset|shape|match");
    remove_dir(d); free(p);

    /* dims whose product overflows 64 bits: (2^62 + 1024) * 4 wraps to the
     * 4096 elements that q_proj's 8192 bytes hold; the reader itself (no
     * config to compare with) must refuse it */
    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    {
        cJSON *s = cJSON_CreateArray();
        cJSON_AddItemToArray(s, cJSON_CreateRaw("4611686018427388928"));  /* 2^62 + 1024 */
        cJSON_AddItemToArray(s, cJSON_CreateNumber(4));
        st_set(p, "model.layers.0.self_attn.q_proj.weight", "shape", s);
        sidr_safetensors sf;
        memset(&sf, 0, sizeof sf);
        sidr_fail(SIDR_OK, "%s", "");
        sidr_status st = sidr_st_open_file(&sf, p);
        tap_diag("sidr_st_open_file -> %s: %s", sidr_status_name(st), sidr_last_error());
        tap_ok(st != SIDR_OK && mentions(sidr_last_error(), "model.safetensors") &&
               mentions(sidr_last_error(), "shape|overflow|size|large|bytes"),
               "shape [2^62+1024, 4] (element count overflows) refused by sidr_st_open_file");
        sidr_st_close(&sf);
    }
    expect_fail("shape [2^62+1024, 4] (element count overflows)", d, "model.safetensors",
                "shape|overflow|size|large|bytes|expected");
    remove_dir(d); free(p);

    /* ---- tensors against the config ---- */

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_set(p, "model.layers.1.mlp.gate_proj.weight", "shape", int_array2(64, 160));
    expect_fail("gate_proj stored [64,160] instead of [160,64]", d,
                "model.safetensors|model.layers.1.mlp.gate_proj.weight", "shape|expected");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    cfg_set(d, "hidden_size", cJSON_CreateNumber(80));
    expect_fail("hidden_size 80 in config.json, 64 in the weights", d,
                "config.json|model.safetensors|model.embed_tokens.weight|model.",
                "shape|expected|hidden_size|match");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_drop(p, "model.layers.1.self_attn.k_proj.weight");
    expect_fail("missing model.layers.1.self_attn.k_proj.weight", d,
                "model.layers.1.self_attn.k_proj.weight", "missing|not found|absent|no tensor|lacks");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_drop(p, "model.layers.0.self_attn.q_norm.weight");
    expect_fail("missing q_norm of a Qwen3", d, "model.layers.0.self_attn.q_norm.weight",
                "missing|not found|absent|no tensor|lacks");
    remove_dir(d); free(p);

    d = copy_fixture(UNTIED);
    p = join(d, "model.safetensors");
    st_drop(p, "lm_head.weight");
    expect_fail("untied model without lm_head.weight", d, "lm_head.weight",
                "missing|not found|absent|no tensor|lacks");
    remove_dir(d); free(p);

    /* ---- config.json ---- */

    d = copy_fixture(SINGLE);
    p = join(d, "config.json");
    spit(p, "{\"hidden_size\": 64, \"model_type\": \"qwen3\",, oops", 48);
    expect_fail("config.json not JSON", d, "config.json", "json|parse|syntax");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    cfg_set(d, "hidden_size", cJSON_CreateString("64"));
    expect_fail("hidden_size a string", d, "config.json", "hidden_size");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    cfg_set(d, "num_hidden_layers", NULL);
    expect_fail("num_hidden_layers missing", d, "config.json", "num_hidden_layers");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    cfg_set(d, "num_attention_heads", cJSON_CreateNumber(0));
    expect_fail("num_attention_heads 0", d, "config.json", "num_attention_heads");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    cfg_set(d, "num_key_value_heads", cJSON_CreateNumber(3));
    expect_fail("4 attention heads over 3 kv heads", d, "config.json", "num_key_value_heads");
    remove_dir(d);

    d = copy_fixture(SINGLE);   /* must fail on the missing layer 2, not on memory */
    cfg_set(d, "num_hidden_layers", cJSON_CreateNumber(1000000000));
    expect_fail("num_hidden_layers 10^9", d, "config.json|model.layers.2.|safetensors",
                "missing|num_hidden_layers|range|large");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    cfg_set(d, "vocab_size", cJSON_CreateNumber(-5));
    expect_fail("vocab_size -5", d, "config.json", "vocab_size");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateString("GPT2LMHeadModel"));
        cfg_set(d, "architectures", a);
        cfg_set(d, "model_type", cJSON_CreateString("gpt2"));
    }
    expect_fail("architecture GPT2LMHeadModel / model_type gpt2", d, "config.json",
                "gpt2|GPT2LMHeadModel|architecture|model_type|unsupported");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    p = join(d, "config.json");
    spit(p, "", 0);
    expect_fail("config.json of zero bytes", d, "config.json", "json|parse|empty|syntax");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "config.json");
    unlink(p);
    expect_fail("no config.json", d, "config.json",
                "no such|not exist|missing|not found|cannot|can't|open|absent");
    remove_dir(d); free(p);

    /* ---- the folder and its files ---- */

    d = copy_fixture(SINGLE);
    p = join(d, "does-not-exist");
    expect_fail("model folder that does not exist", p, "does-not-exist",
                "no such|not exist|missing|not found|cannot|can't|open|absent|directory");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    spit(p, "", 0);
    expect_fail("model.safetensors of zero bytes", d, "model.safetensors",
                "empty|short|truncat|size|small|header|byte");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    spit(p, "\x10\0\0\0\0", 5);
    expect_fail("model.safetensors of 5 bytes", d, "model.safetensors",
                "empty|short|truncat|size|small|header|byte");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    unlink(p);
    expect_fail("no weights in the folder", d, "model.safetensors",
                "no such|not exist|missing|not found|cannot|can't|open|absent|no weights|no model");
    remove_dir(d); free(p);

    d = copy_fixture(SHARDED);
    p = join(d, SHARD2);
    unlink(p);
    expect_fail("index naming a shard that is missing", d, SHARD2,
                "no such|not exist|missing|not found|cannot|can't|open|absent");
    remove_dir(d); free(p);

    d = copy_fixture(SHARDED);
    p = join(d, "model.safetensors.index.json");
    spit(p, "{\"weight_map\": {\"model.norm.weight\": ", 37);
    expect_fail("index not JSON", d, "model.safetensors.index.json", "json|parse|syntax");
    remove_dir(d); free(p);

    d = copy_fixture(SHARDED);
    p = join(d, SHARD2);
    if (st_read(p, &f) == 0) {
        unsigned char *b = malloc(f.len);
        memcpy(b, f.buf, f.len);
        size_t cut = f.len - 100;
        st_done(&f);
        spit(p, b, cut);
        free(b);
    }
    expect_fail("second shard truncated", d, SHARD2, WORDS_TRUNC);
    remove_dir(d); free(p);

    return tap_done();
}

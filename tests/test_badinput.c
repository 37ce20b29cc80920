/* sidr_model_load on broken model folders: every corruption is refused with a
 * non-OK status and a message that names the file at fault and says what is
 * wrong.  The broken folders are made here, at test time, from copies of the
 * good fixtures in tests/fixtures/models (nothing corrupt is committed). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "params.h"
#include "tokenizer.h"
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

/* Loads dir expecting a failure whose message holds every '|'-separated
 * part of `exact`, verbatim: the message names the field and the expectation. */
static void expect_exact(const char *what, const char *dir, const char *exact)
{
    char msg[4096], buf[1024];
    sidr_status st = SIDR_OK;
    int sig;
    if (!load_in_child(dir, &st, msg, sizeof msg, &sig)) {
        tap_ok(0, "%s: refused without crashing (signal %d)", what, sig);
        return;
    }
    if (st == SIDR_OK) {
        tap_ok(0, "%s: refused (it loaded without complaint)", what);
        return;
    }
    tap_diag("%s -> %s: %s", what, sidr_status_name(st), msg);
    snprintf(buf, sizeof buf, "%s", exact);
    int all = 1;
    for (char *w = strtok(buf, "|"); w; w = strtok(NULL, "|"))
        if (!strstr(msg, w)) { tap_diag("  the message lacks \"%s\"", w); all = 0; }
    tap_ok(all, "%s: refused with the exact message", what);
}

/* Writes raw header bytes (hlen of them, length prefix included) and data. */
static int st_write_raw(const char *path, const char *hdr, size_t hlen, const void *data, size_t data_len)
{
    size_t n = 8 + hlen + data_len;
    unsigned char *b = malloc(n + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, hdr, hlen);
    if (data_len) memcpy(b + 8 + hlen, data, data_len);
    int r = spit(path, b, n);
    free(b);
    return r;
}

/* The tensor of the highest data_offsets in the header of f. */
static const char *last_tensor(const stfile *f)
{
    const char *name = NULL;
    long long best = -1, b, e;
    for (const cJSON *t = f->hdr->child; t; t = t->next)
        if (strcmp(t->string, "__metadata__") && offsets_of(t, &b, &e) == 0 && b > best) { best = b; name = t->string; }
    return name;
}

/* Overwrites element 0 of tensor name (a bf16 file) with the 16 bits v. */
static int st_poke_bf16(const char *path, const char *name, uint16_t v)
{
    stfile f;
    int r = -1;
    long long b, e;
    if (st_read(path, &f) == 0 && offsets_of(cJSON_GetObjectItemCaseSensitive(f.hdr, name), &b, &e) == 0) {
        unsigned char *d = f.buf + (f.data - f.buf) + b;
        d[0] = (unsigned char)(v & 255);
        d[1] = (unsigned char)(v >> 8);
        r = spit(path, f.buf, f.len);
    }
    st_done(&f);
    return r;
}

/* One forward pass over training parameters (no load-time scan). */
static sidr_status forward_params(sidr_params *p, char *msg, size_t cap)
{
    sidr_model m;
    sidr_status s = sidr_model_from_params(&m, p);
    if (s) { snprintf(msg, cap, "%s", sidr_last_error()); return s; }
    sidr_state *state = sidr_state_new(&m, 8);
    sidr_kv kv;
    sidr_kv_init(&kv, &m.cfg, 16);
    float *logits = malloc((size_t)m.cfg.vocab_size * sizeof(float));
    int toks[4] = { 1, 2, 3, 4 };
    sidr_fail(SIDR_OK, "%s", "");
    s = sidr_forward(&m, state, &kv, toks, 4, logits, SIDR_LOGITS_LAST);
    snprintf(msg, cap, "%s", sidr_last_error());
    free(logits);
    sidr_kv_free(&kv);
    sidr_state_free(state);
    sidr_model_from_params_free(&m);
    return s;
}

static void defects_of_issue_12(void)
{
    char *d, *p;
    stfile f;
    char msg[4096];

    /* ---- safetensors header: what the reference reader rejects ---- */
    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    {
        cJSON *s = cJSON_CreateArray();
        cJSON_AddItemToArray(s, cJSON_CreateRaw("160.5"));
        cJSON_AddItemToArray(s, cJSON_CreateNumber(64));
        st_set(p, "model.layers.1.mlp.gate_proj.weight", "shape", s);
    }
    expect_exact("fractional shape [160.5, 64]", d,
                 "model.safetensors: tensor 'model.layers.1.mlp.gate_proj.weight': shape[0] is not an integer "
                 "(expected a list of non-negative integers)");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_set(p, "model.layers.1.mlp.gate_proj.weight", "shape", int_array2(-160, 64));
    expect_exact("negative shape [-160, 64]", d, "shape[0] = -160 is negative");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        long long b, e;
        offsets_of(cJSON_GetObjectItemCaseSensitive(f.hdr, "model.norm.weight"), &b, &e);
        cJSON *o = cJSON_CreateArray();
        char raw[64];
        snprintf(raw, sizeof raw, "%lld.5", b);
        cJSON_AddItemToArray(o, cJSON_CreateRaw(raw));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)e));
        cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(f.hdr, "model.norm.weight"),
                                               "data_offsets", o);
        st_write_json(p, f.hdr, f.data, f.data_len);
    }
    st_done(&f);
    expect_exact("fractional data_offsets", d,
                 "tensor 'model.norm.weight': data_offsets must be two non-negative integers [begin, end]");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(f.hdr, "__metadata__");
        cJSON *meta = cJSON_CreateObject();
        cJSON_AddNumberToObject(meta, "format", 1);
        cJSON_AddItemToObject(f.hdr, "__metadata__", meta);
        st_write_json(p, f.hdr, f.data, f.data_len);
    }
    st_done(&f);
    expect_exact("non-string __metadata__ value", d, "model.safetensors: __metadata__ value 'format' is not a string");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        char *js = cJSON_PrintUnformatted(f.hdr);
        size_t jl = strlen(js), hl = (jl + 8 + 7) & ~(size_t)7;
        char *h = calloc(hl, 1);   /* NUL padded */
        memcpy(h, js, jl);
        st_write_raw(p, h, hl, f.data, f.data_len);
        free(h);
        cJSON_free(js);
    }
    st_done(&f);
    expect_exact("header padded with NUL bytes", d, "model.safetensors: header pads its JSON with NUL bytes|"
                 "safetensors allows only spaces after the JSON");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) st_write_raw(p, "", 0, f.data, f.data_len);
    st_done(&f);
    expect_exact("header length 0", d, "model.safetensors: header length is 0");
    remove_dir(d); free(p);

    /* a tensor whose entry is gone but whose bytes remain, last in the file
     * and in the middle */
    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    {
        char last[256] = "";
        if (st_read(p, &f) == 0) {
            snprintf(last, sizeof last, "%s", last_tensor(&f));
            cJSON_DeleteItemFromObjectCaseSensitive(f.hdr, last);
            st_write_json(p, f.hdr, f.data, f.data_len);
        }
        st_done(&f);
        expect_exact("the last tensor's entry dropped, its bytes kept", d,
                     "belong to no tensor (is an entry missing from the header?)");
    }
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(f.hdr, "model.layers.0.mlp.up_proj.weight");
        st_write_json(p, f.hdr, f.data, f.data_len);
    }
    st_done(&f);
    expect_exact("up_proj's entry dropped, its bytes kept", d,
                 "between tensor 'model.layers.0.mlp.gate_proj.weight' and tensor "
                 "'model.layers.0.mlp.down_proj.weight' belong to no tensor");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        cJSON *dup = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(f.hdr, "model.norm.weight"), 1);
        cJSON_AddItemToObject(f.hdr, "model.norm.weight", dup);
        st_write_json(p, f.hdr, f.data, f.data_len);
    }
    st_done(&f);
    expect_exact("a tensor name listed twice", d, "tensor 'model.norm.weight' is listed twice in the header");
    remove_dir(d); free(p);

    /* ---- config.json ---- */
    d = copy_fixture(SINGLE);
    cfg_set(d, "num_hidden_layers", cJSON_CreateNumber(1));
    expect_exact("num_hidden_layers 1 on a 2-layer file", d,
                 "config.json says num_hidden_layers = 1 but the weights hold|model.layers.1.");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    cfg_set(d, "hidden_act", cJSON_CreateString("gelu"));
    expect_exact("hidden_act gelu", d, "config.json: key 'hidden_act' is \"gelu\"; sidr computes SiLU MLPs only");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    cfg_set(d, "eos_token_id", cJSON_CreateNumber(999999));
    expect_exact("eos_token_id 999999", d,
                 "config.json: key 'eos_token_id' = 999999 is outside the vocabulary (expected 0 to 1030");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateNumber(2));
        cJSON_AddItemToArray(a, cJSON_CreateNumber(5000));
        cfg_set(d, "bos_token_id", a);
    }
    expect_exact("bos_token_id [2, 5000]", d, "key 'bos_token_id'[1] = 5000 is outside the vocabulary");
    remove_dir(d);

    d = copy_fixture(SINGLE);
    cfg_set(d, "vocab_size", cJSON_CreateNumber(2147483648.0));
    expect_exact("vocab_size 2^31", d, "key 'vocab_size' = 2147483648 is out of range (expected 1 to 1000000000)");
    remove_dir(d);

    /* ---- non-finite weights ---- */
    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_poke_bf16(p, "model.layers.0.mlp.gate_proj.weight", 0x7fc0);
    expect_exact("NaN in the first MLP layer (a small model, checked at load)", d,
                 "model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' holds NaN at element [0, 0]");
    remove_dir(d); free(p);

    d = copy_fixture(SINGLE);
    p = join(d, "model.safetensors");
    st_poke_bf16(p, "model.norm.weight", 0xff80);
    expect_exact("-Inf in the final norm", d, "tensor 'model.norm.weight' holds Inf at element [0]");
    remove_dir(d); free(p);

    d = copy_fixture(UNTIED);
    {
        sidr_params pr;
        if (sidr_params_load(&pr, d) == SIDR_OK) {
            const sidr_param_view *v = sidr_params_find(&pr, "model.layers.1.mlp.up_proj.weight");
            pr.data[v->offset + 7] = NAN;
            sidr_status s = forward_params(&pr, msg, sizeof msg);
            tap_diag("NaN in training parameters -> %s", msg);
            tap_ok(s != SIDR_OK && strstr(msg, "the hidden state turns non-finite (NaN or Inf) in layer 1") &&
                   strstr(msg, "tensor 'model.layers.1.mlp.up_proj.weight' holds NaN at element [0, 7]"),
                   "a forward whose logits turn NaN stops, naming the layer and the tensor");
            pr.data[v->offset + 7] = 0;
            const sidr_param_view *dn = sidr_params_find(&pr, "model.layers.0.mlp.down_proj.weight");
            for (size_t k = 0; k < v->numel; k++) pr.data[sidr_params_find(&pr, "model.layers.0.mlp.up_proj.weight")->offset + k] = 1e30f;
            for (size_t k = 0; k < dn->numel; k++) pr.data[dn->offset + k] = 1e30f;
            s = forward_params(&pr, msg, sizeof msg);
            tap_diag("overflowing activations -> %s", msg);
            tap_ok(s != SIDR_OK && strstr(msg, "turns non-finite (NaN or Inf) in layer 0 (model.layers.0.*), whose "
                                          "weights are finite: the activations overflow"),
                   "finite weights whose activations overflow: the run stops naming the layer");
            sidr_params_free(&pr);
        } else {
            tap_ok(0, "loading %s as parameters: %s", UNTIED, sidr_last_error());
        }
    }
    remove_dir(d);

    d = copy_fixture(UNTIED);
    p = join(d, "model.safetensors");
    if (st_read(p, &f) == 0) {
        long long b, e;
        offsets_of(cJSON_GetObjectItemCaseSensitive(f.hdr, "lm_head.weight"), &b, &e);
        unsigned char *x = f.buf + (f.data - f.buf) + b + 4 * 65;
        const float inf = INFINITY;
        memcpy(x, &inf, 4);
        spit(p, f.buf, f.len);
    }
    st_done(&f);
    {
        sidr_params pr;
        sidr_status s = sidr_params_load(&pr, d);
        tap_diag("Inf in lm_head, loaded as parameters -> %s", sidr_last_error());
        tap_ok(s != SIDR_OK && strstr(sidr_last_error(), "tensor 'lm_head.weight' holds Inf at element [1, 1]"),
               "training parameters with an Inf are refused at load, naming the tensor and element");
        if (!s) sidr_params_free(&pr);
    }
    remove_dir(d); free(p);
}

/* ---- tokenizer folders (from the demo model's tokenizer) ---- */

/* A fresh folder holding the demo's tokenizer.json (edited by edit, when
 * given) and tokenizer_config.json; NULL when the demo is absent. */
static char *tokenizer_folder(void (*edit)(cJSON *tok))
{
    char src[4096];
    snprintf(src, sizeof src, "%s/../share/demo/model", tap_testdir());
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/sidr-badinput-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) return NULL;
    char *dir = malloc(strlen(tmpl) + 1);
    strcpy(dir, tmpl);
    static const char *const names[] = { "tokenizer.json", "tokenizer_config.json" };
    for (int i = 0; i < 2; i++) {
        char *a = join(src, names[i]), *b = join(dir, names[i]);
        size_t n;
        unsigned char *buf = slurp(a, &n);
        if (!buf) { free(a); free(b); remove_dir(dir); return NULL; }
        if (i == 0 && edit) {
            cJSON *j = cJSON_ParseWithLength((const char *)buf, n);
            edit(j);
            char *o = cJSON_PrintUnformatted(j);
            spit(b, o, strlen(o));
            cJSON_free(o);
            cJSON_Delete(j);
        } else {
            spit(b, buf, n);
        }
        free(buf);
        free(a);
        free(b);
    }
    return dir;
}

static void tok_expect(const char *what, const char *dir, const char *exact)
{
    char *p = join(dir, "tokenizer.json");
    sidr_tokenizer *t = NULL;
    sidr_fail(SIDR_OK, "%s", "");
    sidr_status st = sidr_tokenizer_load(&t, p);
    const char *msg = sidr_last_error();
    tap_diag("%s -> %s", what, msg);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", exact);
    int all = st != SIDR_OK && t == NULL;
    for (char *w = strtok(buf, "|"); w; w = strtok(NULL, "|"))
        if (!strstr(msg, w)) { tap_diag("  the message lacks \"%s\"", w); all = 0; }
    tap_ok(all, "%s: refused with the exact message", what);
    sidr_tokenizer_free(t);
    free(p);
}

static void edit_added_reuses_vocab_id(cJSON *j)
{
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "added_tokens"), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(a, "id", cJSON_CreateNumber(5));
}

static void edit_vocab_shares_id(cJSON *j)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "model"), "vocab");
    cJSON_AddNumberToObject(v, "zz-twin", 6);
}

static void edit_vocab_gap(cJSON *j)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
    int top = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        int id = cJSON_GetObjectItemCaseSensitive(e, "id")->valueint;
        if (id > top) top = id;
    }
    cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "model"), "vocab");
    cJSON_AddNumberToObject(v, "zz-far", top + 3);
}

static void edit_added_far(cJSON *j)
{
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "added_tokens"), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(a, "id", cJSON_CreateNumber(999999));
}

static void tokenizer_defects(void)
{
    char *d = tokenizer_folder(NULL);
    if (!d) {
        tap_skip("demo tokenizer absent: tokenizer checks of issue 12");
        return;
    }
    char *p = join(d, "tokenizer.json");
    sidr_tokenizer *t = NULL;
    sidr_status st = sidr_tokenizer_load(&t, p);
    tap_ok(st == SIDR_OK, "the demo tokenizer copy loads");
    if (t) {
        st = sidr_tokenizer_check_model(t, p, 1031, "some-model");
        tap_diag("paired with a 1031-token model -> %s", sidr_last_error());
        tap_ok(st == SIDR_ERR_RANGE && strstr(sidr_last_error(), "outside the model's vocabulary of 1031 "
                                                  "(vocab_size in some-model/config.json)"),
               "a tokenizer whose ids exceed the paired model's vocabulary is refused, naming the token and the limit");
        /* decoding an id outside the vocabulary: the id, its place and the range, no function name */
        int ids[3] = { 5, 6, 99999999 };
        char *text = NULL;
        size_t tl;
        int nv = sidr_tokenizer_n_vocab(t);
        char want[160];
        snprintf(want, sizeof want, "token id 99999999 (id 3 of 3 given) is not in the vocabulary: expected an id in 0..%d",
                 nv - 1);
        st = sidr_tokenizer_decode(t, ids, 3, 0, &text, &tl);
        tap_diag("decoding id 99999999 -> %s", sidr_last_error());
        tap_ok(st == SIDR_ERR_RANGE && !text && !strcmp(sidr_last_error(), want),
               "decoding an id outside the vocabulary says which id and the range, exactly");
        tap_ok(!strstr(sidr_last_error(), "tokenizer_decode"), "the decode message names no internal function");
        free(text);
        sidr_tokenizer_free(t);
    }
    free(p);

    char *cfg = join(d, "tokenizer_config.json");
    size_t n;
    unsigned char *buf = slurp(cfg, &n);
    if (buf) spit(cfg, buf, n / 2);
    tok_expect("truncated tokenizer_config.json", d, "tokenizer_config.json: not a JSON object (parse error near byte");
    spit(cfg, "{\"chat_template\": 42}", 21);
    tok_expect("numeric chat_template", d, "tokenizer_config.json: field 'chat_template': expected a string");
    free(buf);
    free(cfg);
    remove_dir(d);

    d = tokenizer_folder(edit_added_reuses_vocab_id);
    tok_expect("an added token reusing a vocab id", d,
               "field 'added_tokens': \"<|endoftext|>\" has id 5, which model.vocab gives to");
    remove_dir(d);
    d = tokenizer_folder(edit_vocab_shares_id);
    tok_expect("two vocab entries sharing an id", d, "field 'model.vocab': |share id 6 (each id must name one token)");
    remove_dir(d);
    d = tokenizer_folder(edit_vocab_gap);
    tok_expect("a gap in the ids", d, "are in neither model.vocab nor added_tokens (the ids must run from 0 to");
    remove_dir(d);
    d = tokenizer_folder(edit_added_far);
    tok_expect("an added id 999999", d, "id 2995 is in neither model.vocab nor added_tokens (the ids must run from 0 to 999999");
    remove_dir(d);

    /* generation_config.json beside the weights */
    d = copy_fixture(SINGLE);
    p = join(d, "generation_config.json");
    spit(p, "{\"eos_token_id\": [2, ", 20);
    expect_exact("truncated generation_config.json", d, "generation_config.json: not a JSON object (parse error");
    spit(p, "{\"eos_token_id\": 5000}", 22);
    expect_exact("generation_config.json eos_token_id outside the vocabulary", d,
                 "generation_config.json: key 'eos_token_id' = 5000 is outside the vocabulary");
    remove_dir(d); free(p);
}

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

    defects_of_issue_12();
    tokenizer_defects();
    return tap_done();
}

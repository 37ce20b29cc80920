/* sidr sids build / stats end to end: fixtures in both dataset layouts, a
 * generated dataset, bad input, and (when ../shared is present) the real
 * Industrial data.  The built dataset must load back through the dataset
 * reader with the same items, titles and rows. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dataset.h"
#include "safetensors.h"
#include "tap.h"
#include "util.h"

static const char *sidr_bin(void)
{
    const char *s = getenv("SIDR");
    return s ? s : "./sidr";
}

static char tmpdir[64];

/* Runs "sidr ARGS", returns the exit status; stdout in *out (may be NULL). */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>%s/stderr.txt", sidr_bin(), args, tmpdir);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += k;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *last_stderr(void)
{
    char p[128], *buf = NULL;
    size_t n;
    snprintf(p, sizeof p, "%s/stderr.txt", tmpdir);
    if (read_file(p, &buf, &n) != SIDR_OK) return xstrdup("");
    return buf;
}

static int json_int(const cJSON *o, const char *path)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", path);
    const cJSON *c = o;
    for (char *tok = strtok(tmp, "."); tok && c; tok = strtok(NULL, ".")) c = cJSON_GetObjectItemCaseSensitive(c, tok);
    return cJSON_IsNumber(c) ? c->valueint : -1;
}

/* Same items (ids, titles), same rows (users, histories, targets) in every
 * split, and SIDs on every item. */
static int same_dataset(const sidr_dataset *a, const sidr_dataset *b, char *why, size_t cap)
{
    if (a->n_items != b->n_items) return snprintf(why, cap, "%d vs %d items", a->n_items, b->n_items), 0;
    for (int i = 0; i < a->n_items; i++) {
        int j = sidr_dataset_item(b, a->items[i].id);
        if (j < 0) return snprintf(why, cap, "item %s missing", a->items[i].id), 0;
        if (strcmp(a->items[i].title, b->items[j].title))
            return snprintf(why, cap, "title of %s: '%s' vs '%s'", a->items[i].id, a->items[i].title, b->items[j].title), 0;
        if (!b->items[j].sid) return snprintf(why, cap, "item %s has no SID", a->items[i].id), 0;
    }
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        const sidr_split *x = &a->split[s], *y = &b->split[s];
        if (x->derived) continue;
        if (x->n != y->n) return snprintf(why, cap, "%s: %d vs %d rows", sidr_split_name(s), x->n, y->n), 0;
        for (int r = 0; r < x->n; r++) {
            const sidr_sample *p = &x->rows[r], *q = &y->rows[r];
            int ok = p->n_hist == q->n_hist && !strcmp(a->items[p->target].id, b->items[q->target].id) &&
                     !strcmp(a->users[p->user].id, b->users[q->user].id);
            for (int h = 0; ok && h < p->n_hist; h++) ok = !strcmp(a->items[p->hist[h]].id, b->items[q->hist[h]].id);
            if (!ok) return snprintf(why, cap, "%s row %d differs", sidr_split_name(s), r), 0;
        }
    }
    return 1;
}

static void test_fixture(const char *name, const char *args, int levels)
{
    char src[1024], out[1024], why[512];
    snprintf(src, sizeof src, "%s/fixtures/data/%s", tap_testdir(), name);
    snprintf(out, sizeof out, "%s/%s", tmpdir, name);
    char *js = NULL;
    int rc = run(&js, "sids build --data %s --out %s %s --json --quiet", src, out, args);
    cJSON *j = cJSON_Parse(js);
    tap_ok(rc == 0 && j, "sids build on fixture %s exits 0 with a JSON summary", name);
    if (rc) {
        char *e = last_stderr();
        tap_diag("%s", e);
        free(e);
    }
    int dedup = strstr(args, "--dedup-level") != NULL;
    tap_ok((dedup || json_int(j, "collisions.final") == 0) && json_int(j, "depth") == levels,
           "%s: %d-level SIDs, %d collisions over the quantised levels (plain: %d)%s", name, levels,
           json_int(j, "collisions.final"), json_int(j, "collisions.plain"), dedup ? ", the dedup level separates them" : "");
    cJSON_Delete(j);
    free(js);

    sidr_dataset a, b;
    sidr_status s1 = sidr_dataset_load(&a, src, NULL), s2 = sidr_dataset_load(&b, out, NULL);
    tap_ok(s1 == SIDR_OK && s2 == SIDR_OK && b.layout == SIDR_LAYOUT_MINIONEREC && b.sid_levels == levels,
           "%s: the built dataset loads back in the MiniOneRec layout (%s)", name, s2 ? sidr_last_error() : "ok");
    if (s1 == SIDR_OK && s2 == SIDR_OK) {
        tap_ok(same_dataset(&a, &b, why, sizeof why), "%s: same items, titles and rows%s%s", name, why[0] ? ": " : "", why);
        tap_ok(b.n_sid_collisions == 0 && b.n_items_with_sid == b.n_items, "%s: every item has a SID of its own", name);
        /* the codebooks file agrees with the index */
        char p[1200];
        snprintf(p, sizeof p, "%s/index/%s.codebooks.safetensors", out, b.name);
        sidr_safetensors st;
        memset(&st, 0, sizeof st);
        int ok = sidr_st_open_file(&st, p) == SIDR_OK;
        const sidr_tensor *cb0 = ok ? sidr_st_find(&st, "codebook.0") : NULL, *emb = ok ? sidr_st_find(&st, "item_embeddings") : NULL,
                          *codes = ok ? sidr_st_find(&st, "codes") : NULL;
        ok = cb0 && emb && codes && cb0->ndim == 2 && emb->shape[0] == b.n_items && emb->shape[1] == cb0->shape[1] &&
             codes->dtype == SIDR_I32 && codes->shape[0] == b.n_items && codes->shape[1] == levels;
        for (int i = 0; ok && i < b.n_items; i++) {
            int bi = sidr_dataset_item(&b, a.items[i].id); /* rows follow the source's item order */
            for (int l = 0; ok && l < levels; l++) ok = ((const int32_t *)codes->data)[i * levels + l] == b.items[bi].code[l];
        }
        tap_ok(ok, "%s: codebooks.safetensors holds codebook.0 [K,d], item_embeddings [N,d] and codes matching the index", name);
        if (cb0 || emb) sidr_st_close(&st);
    } else {
        tap_diag("%s", sidr_last_error());
    }
    sidr_dataset_free(&a);
    sidr_dataset_free(&b);

    char *so = NULL;
    rc = run(&so, "sids stats --data %s --json", out);
    j = cJSON_Parse(so);
    tap_ok(rc == 0 && j && json_int(j, "collisions.sids_shared") == 0 && json_int(j, "levels") == levels,
           "%s: sids stats on the built dataset: %d levels, 0 shared SIDs", name, levels);
    cJSON_Delete(j);
    free(so);
}

/* A 64-item MiniOneRec catalogue (item.json only) of 4 themes. */
static void make_generated(const char *dir, int empty_text)
{
    static const char *words[4][5] = {
        { "cotton", "shirt", "sleeve", "collar", "fabric" }, { "drill", "battery", "cordless", "torque", "chuck" },
        { "filament", "printer", "nozzle", "spool", "extruder" }, { "glove", "nitrile", "latex", "powder", "exam" },
    };
    char p[512];
    snprintf(p, sizeof p, "mkdir -p %s/index", dir);
    if (system(p) != 0) return;
    snprintf(p, sizeof p, "%s/index/Gen.item.json", dir);
    FILE *f = fopen(p, "w");
    fputs("{", f);
    for (int i = 0; i < 64; i++) {
        int t = i % 4;
        if (empty_text)
            fprintf(f, "%s\"%d\": {\"title\": \"\", \"description\": \"\", \"brand\": \"\", \"categories\": \"\"}", i ? ", " : "", i);
        else
            fprintf(f, "%s\"%d\": {\"title\": \"%s %s no%d\", \"description\": \"['%s and %s']\", \"brand\": \"B%d\", "
                       "\"categories\": \"\"}",
                    i ? ", " : "", i, words[t][i % 5], words[t][(i / 4) % 5], i, words[t][(i + 2) % 5], words[t][(i + 3) % 5], i % 3);
    }
    fputs("}\n", f);
    fclose(f);
}

static char *slurp(const char *path)
{
    char *buf = NULL;
    size_t n;
    if (read_file(path, &buf, &n) != SIDR_OK) return xstrdup("");
    return buf;
}

static void test_generated(void)
{
    char gen[256], o1[256], o2[256], o3[256], p[512];
    snprintf(gen, sizeof gen, "%s/gen", tmpdir);
    snprintf(o1, sizeof o1, "%s/gen1", tmpdir);
    snprintf(o2, sizeof o2, "%s/gen2", tmpdir);
    snprintf(o3, sizeof o3, "%s/gen3", tmpdir);
    make_generated(gen, 0);
    int r1 = run(NULL, "sids build --data %s --out %s --codes 4 --dim 8 --seed 5 --quiet", gen, o1);
    int r2 = run(NULL, "sids build --data %s --out %s --codes 4 --dim 8 --seed 5 --quiet", gen, o2);
    int r3 = run(NULL, "sids build --data %s --out %s --codes 4 --dim 8 --seed 6 --quiet", gen, o3);
    snprintf(p, sizeof p, "%s/index/Gen.index.json", o1);
    char *a = slurp(p);
    snprintf(p, sizeof p, "%s/index/Gen.index.json", o2);
    char *b = slurp(p);
    snprintf(p, sizeof p, "%s/index/Gen.index.json", o3);
    char *c = slurp(p);
    tap_ok(r1 == 0 && r2 == 0 && a[0] && !strcmp(a, b), "sids build: same seed => byte-identical index.json");
    tap_ok(r3 == 0 && c[0] && strcmp(a, c) != 0, "sids build: different seed => different SIDs");
    /* the same SIDs whatever the thread count (and OpenBLAS's own setting) */
    char o5[256];
    snprintf(o5, sizeof o5, "%s/gen1t", tmpdir);
    setenv("SIDR_THREADS", "3", 1);
    setenv("OPENBLAS_NUM_THREADS", "3", 1);
    int r5 = run(NULL, "sids build --data %s --out %s --codes 4 --dim 8 --seed 5 --quiet", gen, o5);
    unsetenv("SIDR_THREADS");
    unsetenv("OPENBLAS_NUM_THREADS");
    snprintf(p, sizeof p, "%s/index/Gen.index.json", o5);
    char *t3 = slurp(p);
    tap_ok(r5 == 0 && !strcmp(a, t3), "sids build: 3 threads give the same index.json as the default");
    free(t3);
    free(a);
    free(b);
    free(c);

    /* overwrite protection; --force */
    int rc = run(NULL, "sids build --data %s --out %s --codes 4 --dim 8 --seed 5 --quiet", gen, o1);
    char *e = last_stderr();
    tap_ok(rc == 2 && strstr(e, "exists") && strstr(e, "--force"), "sids build refuses to overwrite: %.*s", (int)strcspn(e, "\n"), e);
    free(e);
    rc = run(NULL, "sids build --data %s --out %s --codes 4 --dim 8 --seed 5 --quiet --force", gen, o1);
    tap_ok(rc == 0, "sids build --force overwrites");

    /* dedup level: 4 tokens, loadable */
    char o4[256];
    snprintf(o4, sizeof o4, "%s/gen4", tmpdir);
    char *js = NULL;
    rc = run(&js, "sids build --data %s --out %s --codes 4 --levels 2 --dim 8 --no-resolve --dedup-level --quiet --json", gen, o4);
    cJSON *j = cJSON_Parse(js);
    sidr_dataset d;
    sidr_status s = sidr_dataset_load(&d, o4, NULL);
    tap_ok(rc == 0 && s == SIDR_OK && d.sid_levels == 3 && d.n_sid_collisions == 0 && json_int(j, "depth") == 3 &&
           json_int(j, "dedup_codes") > 1,
           "--dedup-level: 2 levels + <c_N> numbering %d items per shared SID at most; no collision",
           json_int(j, "dedup_codes"));
    sidr_dataset_free(&d);
    cJSON_Delete(j);
    free(js);

    /* the RQ-VAE quantiser: a loadable dataset, unique SIDs, its statistics, deterministic */
    char o6[256], o7[256];
    snprintf(o6, sizeof o6, "%s/gen6", tmpdir);
    snprintf(o7, sizeof o7, "%s/gen7", tmpdir);
    js = NULL;
    rc = run(&js, "sids build --data %s --out %s --method rqvae --codes 8 --dim 8 --latent 4 --hidden 16,8 "
             "--epochs 8 --batch 16 --quiet --json", gen, o6);
    j = cJSON_Parse(js);
    s = sidr_dataset_load(&d, o6, NULL);
    const cJSON *used = cJSON_GetObjectItem(j, "codes_used"), *vae = cJSON_GetObjectItem(j, "rqvae");
    const cJSON *rec = cJSON_GetObjectItem(j, "reconstruction_mse"), *base = cJSON_GetObjectItem(j, "baseline_mse");
    const cJSON *meth = cJSON_GetObjectItem(j, "method");
    tap_ok(rc == 0 && s == SIDR_OK && d.sid_levels == 3 && d.n_sid_collisions == 0 && cJSON_GetArraySize(used) == 3 &&
           cJSON_GetArraySize(cJSON_GetObjectItem(vae, "loss")) == 8 && cJSON_IsNumber(rec) && cJSON_IsNumber(base) &&
           cJSON_IsString(meth) && !strncmp(meth->valuestring, "rq-vae", 6),
           "--method rqvae: a loadable dataset with unique SIDs; JSON has codes_used, the loss curve and the "
           "reconstruction error (%.4f, baseline %.4f)", cJSON_IsNumber(rec) ? rec->valuedouble : -1,
           cJSON_IsNumber(base) ? base->valuedouble : -1);
    sidr_dataset_free(&d);
    cJSON_Delete(j);
    free(js);
    rc = run(NULL, "sids build --data %s --out %s --method rqvae --codes 8 --dim 8 --latent 4 --hidden 16,8 "
             "--epochs 8 --batch 16 --quiet", gen, o7);
    snprintf(p, sizeof p, "%s/index/Gen.index.json", o6);
    a = slurp(p);
    snprintf(p, sizeof p, "%s/index/Gen.index.json", o7);
    b = slurp(p);
    tap_ok(rc == 0 && a[0] && !strcmp(a, b), "--method rqvae: same seed => byte-identical index.json");
    free(a);
    free(b);
    rc = run(NULL, "sids build --data %s --out %s --method rqvae --hidden 16,x", gen, o7);
    e = last_stderr();
    tap_ok(rc == 2 && strstr(e, "--hidden"), "bad --hidden: %.*s", (int)strcspn(e, "\n"), e);
    free(e);
    rc = run(NULL, "sids build --data %s --out %s --method vq", gen, o7);
    e = last_stderr();
    tap_ok(rc == 2 && strstr(e, "--method"), "unknown --method: %.*s", (int)strcspn(e, "\n"), e);
    free(e);

    /* co-occurrence without a train split */
    rc = run(NULL, "sids build --data %s --out %s/gen5 --codes 4 --dim 8 --cooc 0.5 --quiet", gen, tmpdir);
    e = last_stderr();
    tap_ok(rc == 1 && strstr(e, "train"), "--cooc without training histories: %.*s", (int)strcspn(e, "\n"), e);
    free(e);
}

static void test_bad_input(void)
{
    char mini[512], out[256];
    snprintf(mini, sizeof mini, "%s/fixtures/data/minionerec", tap_testdir());
    snprintf(out, sizeof out, "%s/bad", tmpdir);
    int rc = run(NULL, "sids build --data %s --out %s --codes 10 --quiet", mini, out);
    char *e = last_stderr();
    tap_ok(rc == 2 && strstr(e, "--codes 10") && strstr(e, "9 items"), "K > N: %.*s", (int)strcspn(e, "\n"), e);
    free(e);
    rc = run(NULL, "sids build --data %s --out %s --levels 0", mini, out);
    e = last_stderr();
    tap_ok(rc == 2 && strstr(e, "--levels"), "levels 0: %.*s", (int)strcspn(e, "\n"), e);
    free(e);
    rc = run(NULL, "sids build --data %s --codes 2 --quiet", mini);
    e = last_stderr();
    tap_ok(rc == 2 && strstr(e, "exists"), "no --out on a dataset that has SIDs: refused, the fixture is untouched");
    free(e);
    rc = run(NULL, "sids build --data %s/nonexistent --out %s", tmpdir, out);
    tap_ok(rc == 1, "missing dataset: exit 1");
    char empty[256];
    snprintf(empty, sizeof empty, "%s/empty", tmpdir);
    make_generated(empty, 1);
    rc = run(NULL, "sids build --data %s --out %s --codes 4 --quiet", empty, out);
    e = last_stderr();
    tap_ok(rc == 1 && strstr(e, "has a title or text: expected titles in index/"), "items without any text: %.*s", (int)strcspn(e, "\n"), e);
    free(e);
    rc = run(NULL, "sids stats --data %s", empty);
    e = last_stderr();
    tap_ok(rc == 1 && strstr(e, "no SIDs"), "sids stats on a dataset without SIDs: %.*s", (int)strcspn(e, "\n"), e);
    free(e);
    rc = run(NULL, "sids frobnicate");
    tap_ok(rc == 2, "unknown sids subcommand: exit 2");
}

static void test_industrial(void)
{
    char src[1024], out[256];
    snprintf(src, sizeof src, "%s/data/amazon18-industrial", tap_shared());
    struct stat sb;
    if (stat(src, &sb) != 0) {
        for (int i = 0; i < 4; i++) tap_skip("Industrial: %s is absent", src);
        return;
    }
    char *so = NULL;
    int rc = run(&so, "sids stats --data %s --json", src);
    cJSON *j = cJSON_Parse(so);
    int shared = json_int(j, "collisions.sids_shared"), items = json_int(j, "collisions.items_involved");
    tap_ok(rc == 0 && json_int(j, "items_with_sid") == 3686 && shared > 5 && items >= 20 && items <= 60,
           "Industrial (the paper's SIDs): 3686 items, %d SIDs shared by %d items", shared, items);
    cJSON_Delete(j);
    free(so);
    snprintf(out, sizeof out, "%s/industrial", tmpdir);
    rc = run(&so, "sids build --data %s --out %s --json --quiet", src, out);
    j = cJSON_Parse(so);
    tap_ok(rc == 0 && json_int(j, "items") == 3686 && json_int(j, "collisions.final") == 0,
           "Industrial: sids build gives 3686 items 0 collisions (plain assignment: %d)", json_int(j, "collisions.plain"));
    cJSON_Delete(j);
    free(so);
    /* one thread gives the same SIDs as the default thread count */
    char out1[256], p0[512], p1[512];
    snprintf(out1, sizeof out1, "%s/industrial-1t", tmpdir);
    setenv("SIDR_THREADS", "1", 1);
    rc = run(NULL, "sids build --data %s --out %s --quiet", src, out1);
    unsetenv("SIDR_THREADS");
    snprintf(p0, sizeof p0, "%s/index/Industrial_and_Scientific.index.json", out);
    snprintf(p1, sizeof p1, "%s/index/Industrial_and_Scientific.index.json", out1);
    char *i0 = slurp(p0), *i1 = slurp(p1);
    tap_ok(rc == 0 && i0[0] && !strcmp(i0, i1), "Industrial: SIDR_THREADS=1 builds the same index.json as %s threads",
           getenv("SIDR_THREADS") ? getenv("SIDR_THREADS") : "the default");
    free(i0);
    free(i1);
    sidr_dataset a, b;
    char why[512] = "";
    sidr_status s1 = sidr_dataset_load(&a, src, NULL), s2 = sidr_dataset_load(&b, out, NULL);
    tap_ok(s1 == SIDR_OK && s2 == SIDR_OK && same_dataset(&a, &b, why, sizeof why),
           "Industrial: the built dataset loads back with the same items, titles and valid/test rows%s%s", why[0] ? ": " : "", why);
    sidr_dataset_free(&a);
    sidr_dataset_free(&b);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sidr-test-sids-XXXXXX");
    if (!mkdtemp(tmpdir)) return tap_skip_all("cannot create a temporary directory");
    char probe[512];
    snprintf(probe, sizeof probe, "%s --version > /dev/null 2>&1", sidr_bin());
    if (system(probe) != 0) return tap_skip_all("the sidr binary is not built (set SIDR)");
    test_fixture("minionerec", "--codes 3 --dim 4", 3);
    test_fixture("recbole-split", "--codes 4 --dim 6 --levels 2 --dedup-level", 3);
    test_generated();
    test_bad_input();
    test_industrial();
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf %s", tmpdir);
    if (system(rm) != 0) tap_diag("could not remove %s", tmpdir);
    return tap_done();
}

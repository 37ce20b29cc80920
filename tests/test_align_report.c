/* sidr align-report on the fixture dataset: the word F1 by hand, a random
 * model's per-item rows consistent with its averages and with `sidr beam`
 * semantics, a model trained to memorise task 2 scoring what it memorised,
 * the embedding/codebook comparison on codebooks equal to the embeddings
 * (overlap 1), and bad arguments.  Emits TAP. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "align_report.h"
#include "safetensors.h"
#include "tap.h"
#include "trainfix.h"
#include "transformer.h"

static const char *SIDR;
static char *TMP, *FIX;

static cJSON *report(const char *model, const char *data, const char *extra, int *rc)
{
    char out[1024];
    snprintf(out, sizeof out, "%s/report.json", TMP);
    unlink(out);
    *rc = fix_sh("'%s' align-report --model '%s' --data '%s' %s --json '%s' >'%s/out.txt' 2>&1", SIDR, model, data, extra, out,
                 TMP);
    char *text = NULL;
    if (read_file(out, &text, NULL)) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The averages recomputed from the per-item rows, and every row's fields
 * consistent with each other. */
static int consistent(const cJSON *j, int *n_items)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "per_item"), *it;
    int n = 0, hit1 = 0, hit10 = 0, exact = 0, lev[3] = { 0 }, ok = 1;
    double f1 = 0;
    cJSON_ArrayForEach(it, rows) {
        int rank = (int)num(it, "rank"), lr = (int)num(it, "levels_right");
        const char *sid = str(it, "sid"), *pred = str(it, "predicted_sid");
        ok &= (rank == 0) == (strcmp(sid, pred) == 0);
        ok &= (lr == 3) == (strcmp(sid, pred) == 0);
        int ex = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "title_exact"));
        ok &= ex == !strcmp(str(it, "title"), str(it, "predicted_title"));
        ok &= fabs(num(it, "title_f1") - align_title_f1(str(it, "title"), str(it, "predicted_title"))) < 1e-12;
        hit1 += rank == 0;
        hit10 += rank >= 0 && rank < 10;
        for (int l = 0; l < lr && l < 3; l++) lev[l]++;
        exact += ex;
        f1 += num(it, "title_f1");
        n++;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "title_to_sid"), *s = cJSON_GetObjectItemCaseSensitive(j, "sid_to_title");
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(t, "levels_right");
    ok &= n > 0 && num(j, "items") == n;
    ok &= fabs(num(t, "hit@1") - (double)hit1 / n) < 1e-12 && fabs(num(t, "hit@10") - (double)hit10 / n) < 1e-12;
    ok &= cJSON_GetArraySize(lv) == 3;
    for (int l = 0; ok && l < 3; l++) ok &= fabs(cJSON_GetArrayItem(lv, l)->valuedouble - (double)lev[l] / n) < 1e-12;
    ok &= fabs(num(s, "exact") - (double)exact / n) < 1e-12 && fabs(num(s, "word_f1") - f1 / n) < 1e-9;
    *n_items = n;
    return ok;
}

/* A copy of the fixture dataset whose level-a codebook rows are the model's
 * own embeddings of the <a_k> tokens (zero rows for codes without one). */
static int write_codebooks(const char *model_dir, const char *data_dir, int *n_codes)
{
    sidr_model m;
    if (sidr_model_load(&m, model_dir)) return -1;
    sidr_tokenizer *tok = NULL;
    char p[1200];
    snprintf(p, sizeof p, "%s/tokenizer.json", model_dir);
    if (sidr_tokenizer_load(&tok, p)) {
        sidr_model_free(&m);
        return -1;
    }
    int K = 11, H = m.cfg.dim;
    float *cb = calloc((size_t)K * H, sizeof(float));
    *n_codes = 0;
    for (int c = 0; c < K; c++) {
        char t[16];
        snprintf(t, sizeof t, "<a_%d>", c);
        int id = sidr_tokenizer_find(tok, t);
        if (id >= 0) {
            sidr_model_embedding(&m, id, cb + (size_t)c * H);
            ++*n_codes;
        }
    }
    sidr_st_entry e = { "codebook.0", SIDR_F32, 2, { K, H }, cb };
    snprintf(p, sizeof p, "%s/index/Mini.codebooks.safetensors", data_dir);
    int rc = sidr_st_write(p, &e, 1, NULL) ? -1 : 0;
    free(cb);
    sidr_tokenizer_free(tok);
    sidr_model_free(&m);
    return rc;
}

int main(void)
{
    SIDR = getenv("SIDR");
    if (!SIDR || !*SIDR) SIDR = "./sidr";
    if (access(SIDR, X_OK) != 0) return tap_skip_all("the sidr binary is not built (set SIDR)");
    FIX = fix_dataset_dir();
    TMP = fix_tempdir("align");

    tap_ok(fabs(align_title_f1("Super Glue, 12-Pack", "super glue 12 pack") - 1) < 1e-12 &&
               fabs(align_title_f1("Hex Key Set", "Hex Key Set, Metric") - 6.0 / 7) < 1e-12 &&
               align_title_f1("Nitrile Gloves", "Hex Key Set") == 0 && align_title_f1("", "") == 1 &&
               fabs(align_title_f1("a a b", "a b b") - 4.0 / 6) < 1e-12,
           "word F1: case and punctuation ignored, multiset overlap (3 of 3+4 words -> 6/7; a a b vs a b b -> 4/6)");

    char p[1024];
    snprintf(p, sizeof p, "%s/tok", TMP);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/tok/tokenizer.json", TMP);
    char *json = fix_chat_tokenizer_json();
    fix_write(p, json);
    free(json);
    int rc = fix_sh("'%s' model init --tokenizer '%s/tok' --out '%s/m0' --hidden 64 --ffn 128 --layers 2 --heads 4 --kv-heads 2 "
                    "--head-dim 16 --dtype f32 --seed 1 2>/dev/null && '%s' model add-sids --model '%s/m0' --data '%s' --out '%s/m1' "
                    "2>/dev/null",
                    SIDR, TMP, TMP, SIDR, TMP, FIX, TMP);
    if (!tap_ok(rc == 0, "setup: a tiny random model with the SID tokens")) return tap_done();

    char model[1024];
    snprintf(model, sizeof model, "%s/m1", TMP);
    int n = 0;
    cJSON *j = report(model, FIX, "", &rc);
    int good = rc == 0 && j && consistent(j, &n);
    double f1_random = num(cJSON_GetObjectItemCaseSensitive(j, "sid_to_title"), "word_f1");
    tap_ok(good && n == 9,
           "random model: 9 items (every item with a SID and a title), rows consistent with the averages (%d)", n);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "embedding_knn");
    tap_ok(strstr(str(e, "note"), "no codebooks") != NULL, "without codebooks the embedding comparison says why (\"%s\")",
           str(e, "note"));
    cJSON_Delete(j);
    cJSON *j2 = report(model, FIX, "", &rc);
    j = report(model, FIX, "", &rc);
    cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "per_item"), *b = cJSON_GetObjectItemCaseSensitive(j2, "per_item");
    tap_ok(a && b && cJSON_Compare(a, b, 1), "the report is deterministic");
    cJSON_Delete(j);
    cJSON_Delete(j2);
    j = report(model, FIX, "--items 4 --seed 7", &rc);
    tap_ok(rc == 0 && j && consistent(j, &n) && n == 4, "--items 4 measures a sample of 4 items");
    cJSON_Delete(j);

    /* Memorise task 2 (18 samples), then the report must find it. */
    rc = fix_sh("'%s' train align --model '%s' --data '%s' --derive-train --out '%s/mem' --tasks 2 --max-steps 150 --batch 6 "
                "--lr 3e-3 --warmup 0 --no-eval --save-every 0 --dtype f32 --quiet >'%s/out.txt' 2>&1",
                SIDR, model, FIX, TMP, TMP);
    snprintf(p, sizeof p, "%s/mem", TMP);
    j = report(p, FIX, "", &rc);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "title_to_sid"), *s = cJSON_GetObjectItemCaseSensitive(j, "sid_to_title");
    tap_ok(rc == 0 && j && consistent(j, &n) && num(t, "hit@1") >= 8.0 / 9 && num(s, "word_f1") > f1_random + 0.2,
           "a model trained on task 2 alone: title->SID hit@1 %.3f (>= 8/9), SID->title word F1 %.3f (random model %.3f)",
           num(t, "hit@1"), num(s, "word_f1"), f1_random);
    cJSON_Delete(j);

    char data[1024];
    snprintf(data, sizeof data, "%s/data", TMP);
    int codes = 0;
    rc = fix_sh("cp -R '%s' '%s'", FIX, data);
    if (rc == 0) rc = write_codebooks(model, data, &codes);
    j = report(model, data, "--knn 2", &rc);
    e = cJSON_GetObjectItemCaseSensitive(j, "embedding_knn");
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(e, "overlap"), *ch = cJSON_GetObjectItemCaseSensitive(e, "chance");
    tap_ok(rc == 0 && cJSON_GetArraySize(ov) == 1 && cJSON_GetArraySize(ch) == 1 && cJSON_GetArrayItem(ov, 0)->valuedouble == 1 && codes > 2 &&
               fabs(cJSON_GetArrayItem(ch, 0)->valuedouble - 2.0 / (codes - 1)) < 1e-12 &&
               strstr(str(e, "note"), "codebook.1") != NULL,
           "codebook rows equal to the embeddings: level-a overlap 1 (chance 2/%d), level b's missing tensor named", codes - 1);
    cJSON_Delete(j);

    rc = fix_sh("'%s' align-report --model '%s' --data '%s' --items 0 >/dev/null 2>&1", SIDR, model, FIX);
    int rc2 = fix_sh("'%s' align-report --model '%s' --data '%s' --knn x >/dev/null 2>&1", SIDR, model, FIX);
    int rc3 = fix_sh("'%s' align-report --model '%s/nothing' --data '%s' >'%s/out.txt' 2>&1", SIDR, TMP, FIX, TMP);
    char *out = NULL;
    snprintf(p, sizeof p, "%s/out.txt", TMP);
    read_file(p, &out, NULL);
    tap_ok(rc == 2 && rc2 == 2 && rc3 == 1 && out && strstr(out, "nothing"),
           "bad arguments are usage errors (exit 2); a missing model folder is named (exit 1)");
    free(out);

    if (!getenv("SIDR_KEEP_TMP")) fix_sh("rm -rf '%s'", TMP);
    free(TMP);
    free(FIX);
    return tap_done();
}

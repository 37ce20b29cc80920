/* End to end: `sidr train align | reason | rl` on a tiny Qwen3 (made at test
 * time with `sidr model init` on the tiny tokenizer plus ChatML tokens and
 * `sidr model add-sids`) and the MiniOneRec fixture dataset:
 *
 *  - align (train rows derived from the valid histories): the validation
 *    loss falls; the JSONL log has a line per step with its fields; the
 *    output folder loads;
 *  - resume: N steps straight equal N/2 + --resume + N/2 bit for bit (one
 *    thread, fixed seed), for align and for rl; the log is not duplicated;
 *  - Ctrl-C: SIGINT writes a checkpoint and exits 1; --resume continues;
 *  - reason: the validation loss falls and the format (</think> then a
 *    valid SID) is followed after training, not before, on valid rows whose
 *    histories the train rows never show (reasoning from
 *    integrated_narrative.csv keyed by split and row);
 *  - rl: an easy setup where the reward must rise: the Stage-2 model was
 *    trained on rows that pair each history with two targets (X and Y), so
 *    it samples X or Y about evenly; the rl data keeps only X.  GRPO must
 *    move probability from Y to X: the logged mean reward of the last steps
 *    beats the first steps, the expected reward measured on 512 fresh
 *    rollouts before and after rises, and P(X) at the SID position of the
 *    greedy answer rises while P(Y) falls. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "grpo.h"
#include "prompts.h"
#include "sampler.h"
#include "tokenizer.h"
#include "trainfix.h"
#include "transformer.h"

static const char *SIDR;
static char *TMP, *FIX;

/* ---- the log ----------------------------------------------------------------------------------- */

typedef struct {
    cJSON **v;
    int n;
} jlog;

static void log_read(jlog *l, const char *dir)
{
    memset(l, 0, sizeof *l);
    char path[1024], *text;
    snprintf(path, sizeof path, "%s/train_log.jsonl", dir);
    if (read_file(path, &text, NULL)) return;
    for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) {
        l->v = realloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
        l->v[l->n++] = cJSON_Parse(p);
    }
    free(text);
}

static void log_free(jlog *l)
{
    for (int i = 0; i < l->n; i++) cJSON_Delete(l->v[i]);
    free(l->v);
}

static const cJSON *log_find(const jlog *l, const char *type, int step)
{
    for (int i = 0; i < l->n; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(l->v[i], "type"), *s = cJSON_GetObjectItemCaseSensitive(l->v[i], "step");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, type) && cJSON_IsNumber(s) && (step < 0 || s->valueint == step))
            return l->v[i];
    }
    return NULL;
}

static int log_count(const jlog *l, const char *type)
{
    int n = 0;
    for (int i = 0; i < l->n; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(l->v[i], "type");
        n += cJSON_IsString(t) && !strcmp(t->valuestring, type);
    }
    return n;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int same_file(const char *a, const char *b)
{
    char *x, *y;
    size_t nx, ny;
    if (read_file(a, &x, &nx)) return 0;
    if (read_file(b, &y, &ny)) {
        free(x);
        return 0;
    }
    int same = nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

static int loads(const char *dir)
{
    sidr_model m;
    if (sidr_model_load(&m, dir)) {
        tap_diag("%s: %s", dir, sidr_last_error());
        return 0;
    }
    sidr_model_free(&m);
    char p[1024];
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    return file_exists(p);
}

/* ---- datasets ------------------------------------------------------------------------------------ */

/* A Python literal of one string, inside a CSV field (quoted, "" doubled). */
static void put_pystr_csv(FILE *f, const char *s, int list)
{
    fputc('"', f);
    if (list) fputc('[', f);
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '\\' || *p == '\'') fputc('\\', f);
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('\'', f);
    if (list) fputc(']', f);
    fputc('"', f);
}

/* Histories of one item paired with targets X (rewarded in rl) and Y. */
static const int ROWS[4][3] = { { 0, 5, 6 }, { 5, 2, 0 }, { 2, 5, 6 }, { 6, 2, 0 } };
/* The reason stage's valid rows: one-item histories of items the train rows never show. */
static const int VALID_ROWS[4][3] = { { 8, 5, 5 }, { 3, 2, 2 }, { 4, 5, 5 }, { 1, 2, 2 } };

static const sidr_item *item_of(const sidr_dataset *ds, int id)
{
    char s[16];
    snprintf(s, sizeof s, "%d", id);
    return &ds->items[sidr_dataset_item(ds, s)];
}

/* A split CSV in the MiniOneRec layout: rows[k] = history item, target X,
 * target Y; both targets when both (one row each), else X only. */
static void write_split_csv(const sidr_dataset *ds, const char *path, const int (*rows)[3], int n, int both, char user)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid\n");
    for (int k = 0; k < n; k++)
        for (int j = 1; j <= (both ? 2 : 1); j++) {
            const sidr_item *h = item_of(ds, rows[k][0]), *t = item_of(ds, rows[k][j]);
            fprintf(f, "%c%d,", user, k);
            put_pystr_csv(f, h->title, 1);
            fputc(',', f);
            fputc('"', f);
            for (const char *p = t->title; *p; p++) {
                if (*p == '"') fputc('"', f);
                fputc(*p, f);
            }
            fprintf(f, "\",\"[%s]\",%s,", h->id, t->id);
            put_pystr_csv(f, h->sid, 1);
            fprintf(f, ",%s\n", t->sid);
        }
    fclose(f);
}

static int make_datasets(const sidr_dataset *ds)
{
    char p[1024];
    if (fix_sh("cp -r '%s' '%s/dr' && mkdir '%s/dr/train' && cp -r '%s' '%s/dq' && mkdir '%s/dq/train'", FIX, TMP, TMP, FIX,
               TMP, TMP))
        return -1;
    snprintf(p, sizeof p, "%s/dr/train/Mini_5_2016.csv", TMP);
    write_split_csv(ds, p, ROWS, 4, 1, 'T');
    snprintf(p, sizeof p, "%s/dr/valid/Mini_5_2016.csv", TMP);
    write_split_csv(ds, p, VALID_ROWS, 4, 0, 'V');
    snprintf(p, sizeof p, "%s/dq/train/Mini_5_2016.csv", TMP);
    write_split_csv(ds, p, ROWS, 4, 0, 'T');
    /* a short reasoning per row, keyed by split and row */
    snprintf(p, sizeof p, "%s/dr/index/Mini.integrated_narrative.csv", TMP);
    FILE *f = fopen(p, "w");
    fprintf(f, "split,row,reasoning_path,integrated_narrative\n");
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 2; j++) fprintf(f, "train,%d,The last item is %s.,\n", 2 * k + j, item_of(ds, ROWS[k][0])->sid);
    for (int k = 0; k < 4; k++) fprintf(f, "valid,%d,The last item is %s.,\n", k, item_of(ds, VALID_ROWS[k][0])->sid);
    fclose(f);
    return 0;
}

/* ---- stages ------------------------------------------------------------------------------------------ */

static int train(const char *args)
{
    return fix_sh("'%s' train %s --quiet >'%s/out.txt' 2>&1", SIDR, args, TMP);
}

static void show_output(void)
{
    char p[1024], *t;
    snprintf(p, sizeof p, "%s/out.txt", TMP);
    if (!read_file(p, &t, NULL)) {
        for (char *l = strtok(t, "\n"); l; l = strtok(NULL, "\n")) tap_diag("%s", l);
        free(t);
    }
}

static void align(void)
{
    char args[4096];
    snprintf(args, sizeof args,
             "align --model %s/m1 --data %s --derive-train --out %s/a1 --max-steps 30 --eval-every 10 --lr 3e-3 --batch 8 "
             "--save-every 10",
             TMP, FIX, TMP);
    int rc = train(args);
    if (!tap_ok(rc == 0, "train align exits 0")) show_output();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/a1", TMP);
    jlog l;
    log_read(&l, dir);
    double v0 = num(log_find(&l, "eval", 0), "valid_loss"), v30 = num(log_find(&l, "eval", 30), "valid_loss");
    tap_ok(v30 < 0.85 * v0, "align: the validation loss falls (%.4f at step 0 -> %.4f at step 30)", v0, v30);
    tap_diag("align valid loss: step 0 %.4f, 10 %.4f, 20 %.4f, 30 %.4f", v0, num(log_find(&l, "eval", 10), "valid_loss"),
             num(log_find(&l, "eval", 20), "valid_loss"), v30);
    const cJSON *al = cJSON_GetObjectItemCaseSensitive(log_find(&l, "eval", 30), "align");
    double h1 = num(al, "title_to_sid_hit1"), h10 = num(al, "title_to_sid_hit10"), f1 = num(al, "sid_to_title_f1");
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(al, "level_acc");
    int nlv = cJSON_GetArraySize(lv);
    double l0 = nlv == 3 ? cJSON_GetArrayItem(lv, 0)->valuedouble : -1, l2 = nlv == 3 ? cJSON_GetArrayItem(lv, 2)->valuedouble : -1;
    tap_ok(num(al, "items") == 9 && h1 >= 0 && h1 <= h10 && h10 <= 1 && f1 >= 0 && f1 <= 1 && nlv == 3 && l2 <= l0 && l0 <= 1 &&
               cJSON_GetObjectItemCaseSensitive(al, "knn_overlap"),
           "align: each validation logs an align-report of the 9 items (hit@1 %.2f <= hit@10 %.2f, levels a %.2f >= a+b+c %.2f, F1 %.2f)",
           h1, h10, l0, l2, f1);
    const cJSON *t1 = log_find(&l, "train", 1), *t30 = log_find(&l, "train", 30), *start = log_find(&l, "start", 0);
    int fields = 1;
    static const char *keys[] = { "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "epoch" };
    for (int i = 0; i < 6; i++) fields &= isfinite(num(t1, keys[i])) && isfinite(num(t30, keys[i]));
    tap_ok(log_count(&l, "train") == 30 && fields && cJSON_GetObjectItemCaseSensitive(t1, "task_loss"),
           "align log: one line per step with loss, lr, grad_norm, tokens, tokens_per_s, epoch and per-task losses");
    const cJSON *pool = start ? cJSON_GetObjectItemCaseSensitive(start, "train_pool") : NULL;
    int tasks = pool ? cJSON_GetArraySize(pool) : 0;
    tap_ok(tasks == 7 && num(cJSON_GetObjectItemCaseSensitive(pool, "title-sid-identification"), "sequences") == 18,
           "align: the pool has the seven tasks with counts (18 title/SID samples for 9 items)");
    tap_ok(num(t1, "loss") > num(t30, "loss"), "align: the training loss falls (%.3f -> %.3f)", num(t1, "loss"), num(t30, "loss"));
    log_free(&l);
    char p[1200];
    snprintf(p, sizeof p, "%s/a1/config.json", TMP);
    char *cfg = NULL;
    read_file(p, &cfg, NULL);
    tap_ok(loads(dir) && cfg && strstr(cfg, "bfloat16"), "align: the output folder loads as a model (bf16 by default)");
    free(cfg);
    snprintf(p, sizeof p, "%s/a1/checkpoint-30/optimizer.safetensors", TMP);
    char q[1200], r[1200];
    snprintf(q, sizeof q, "%s/a1/checkpoint-10", TMP);
    snprintf(r, sizeof r, "%s/a1/best/config.json", TMP);
    struct stat st;
    tap_ok(file_exists(p) && stat(q, &st) != 0 && file_exists(r),
           "align: checkpoints with optimizer state, the oldest rotated away (limit 2), the best model kept");
}

/* --task-weights: integer weights repeat a task's sequences in every epoch (steps_per_epoch shows it), 0 drops
 * a task, and bad pairs or a pool of only zero weights are refused with a message. */
static void task_weights(void)
{
    char args[4096], dir[1024];
    snprintf(dir, sizeof dir, "%s/aw", TMP);
    snprintf(args, sizeof args,
             "align --model %s/m1 --data %s --derive-train --out %s --max-steps 1 --batch 1 --no-eval --save-every 0 "
             "--task-weights 2=3,6=0",
             TMP, FIX, dir);
    int rc = train(args);
    if (!tap_ok(rc == 0, "train align --task-weights 2=3,6=0 exits 0")) show_output();
    jlog l;
    log_read(&l, dir);
    const cJSON *start = log_find(&l, "start", 0);
    const cJSON *pool = start ? cJSON_GetObjectItemCaseSensitive(start, "train_pool") : NULL, *it;
    double n = 0, n2 = num(cJSON_GetObjectItemCaseSensitive(pool, "title-sid-identification"), "sequences");
    double n6 = num(cJSON_GetObjectItemCaseSensitive(pool, "item-narrative"), "sequences");
    cJSON_ArrayForEach(it, pool) n += num(it, "sequences");
    const cJSON *w = start ? cJSON_GetObjectItemCaseSensitive(start, "task_weights") : NULL;
    double spe = num(start, "steps_per_epoch");
    tap_ok(n2 == 18 && n6 > 0 && spe == n + 2 * n2 - n6,
           "align --task-weights: one epoch is %.0f steps of batch 1 = %.0f sequences + 2 x %.0f title/SID - %.0f narratives",
           spe, n, n2, n6);
    tap_ok(num(w, "title-sid-identification") == 3 && num(w, "item-narrative") == 0 && num(w, "sid-history-to-sid") == 1,
           "align --task-weights: the start record logs every task's weight");
    log_free(&l);
    static const char *bad[] = { "2=-1", "9=1", "2", "2=1,", "x=1", "2=1e9" };
    int all = 1;
    for (int i = 0; i < 6; i++) {
        snprintf(args, sizeof args, "align --model %s/m1 --data %s --derive-train --out %s/awbad --task-weights '%s'", TMP, FIX,
                 TMP, bad[i]);
        all &= train(args) == 2;
    }
    snprintf(args, sizeof args, "reason --model %s/m1 --data %s --derive-train --out %s/awbad --task-weights 2=1", TMP, FIX,
             TMP);
    all &= train(args) == 2;
    tap_ok(all, "--task-weights: malformed pairs, tasks outside 1..8, weights outside [0, 1000] and stages other than "
                "align are usage errors (exit 2)");
    snprintf(args, sizeof args,
             "align --model %s/m1 --data %s --derive-train --out %s/awzero --tasks 1,2 --task-weights 1=0,2=0", TMP, FIX,
             TMP);
    rc = train(args);
    char p[1200], *out = NULL;
    snprintf(p, sizeof p, "%s/out.txt", TMP);
    read_file(p, &out, NULL);
    tap_ok(rc != 0 && out && strstr(out, "every task of the pool has weight 0"),
           "--task-weights: a pool whose tasks all weigh 0 fails with a message");
    free(out);
}

static int run_pair(const char *tag, const char *common)
{
    char a[4096];
    snprintf(a, sizeof a, "%s --out %s/%s-straight", common, TMP, tag);
    int rc = train(a);
    snprintf(a, sizeof a, "%s --out %s/%s-split --stop-after 2", common, TMP, tag);
    rc |= train(a);
    char ck[1024];
    snprintf(ck, sizeof ck, "%s/%s-split/checkpoint-2/trainer_state.json", TMP, tag);
    int have_ck = file_exists(ck);
    snprintf(ck, sizeof ck, "%s/%s-split/config.json", TMP, tag);
    int no_final = !file_exists(ck);
    snprintf(a, sizeof a, "%s --out %s/%s-split --resume", common, TMP, tag);
    rc |= train(a);
    if (rc) show_output();
    tap_ok(rc == 0 && have_ck && no_final, "%s: --stop-after 2 leaves checkpoint-2 and no final model; --resume finishes", tag);
    char x[1024], y[1024];
    snprintf(x, sizeof x, "%s/%s-straight/model.safetensors", TMP, tag);
    snprintf(y, sizeof y, "%s/%s-split/model.safetensors", TMP, tag);
    int same = same_file(x, y);
    snprintf(x, sizeof x, "%s/%s-straight/checkpoint-4/optimizer.safetensors", TMP, tag);
    snprintf(y, sizeof y, "%s/%s-split/checkpoint-4/optimizer.safetensors", TMP, tag);
    same &= same_file(x, y);
    tap_ok(same, "%s: 4 steps straight equal 2 + resume + 2, weights and optimizer state bit for bit", tag);
    snprintf(x, sizeof x, "%s/%s-straight", TMP, tag);
    snprintf(y, sizeof y, "%s/%s-split", TMP, tag);
    jlog la, lb;
    log_read(&la, x);
    log_read(&lb, y);
    int logs = log_count(&lb, "train") == 4 && log_count(&la, "train") == 4;
    for (int s = 1; s <= 4 && logs; s++) {
        const cJSON *p = log_find(&la, "train", s), *q = log_find(&lb, "train", s);
        logs &= num(p, "loss") == num(q, "loss") && num(p, "grad_norm") == num(q, "grad_norm") && num(p, "lr") == num(q, "lr");
    }
    tap_ok(logs, "%s: the resumed log has each step once, with the same loss, grad norm and lr", tag);
    log_free(&la);
    log_free(&lb);
    return same;
}

static void resume(void)
{
    char c[4096];
    snprintf(c, sizeof c,
             "align --model %s/m1 --data %s --derive-train --max-steps 4 --batch 4 --grad-accum 2 --lr 2e-3 --schedule linear "
             "--warmup 2 --eval-every 3 --save-every 0 --threads 1 --seed 7 --dtype f32",
             TMP, FIX);
    run_pair("align", c);
    snprintf(c, sizeof c,
             "rl --model %s/m1 --data %s/dq --max-steps 4 --prompts 2 --group 4 --batch 3 --max-new 8 --lr 1e-3 --kl 0.01 "
             "--eval-gen 1 --eval-every 3 --save-every 0 --threads 1 --seed 3 --dtype f32",
             TMP, TMP);
    run_pair("rl", c);
}

static void ctrl_c(void)
{
    char out[1024], log[1200];
    snprintf(out, sizeof out, "%s/cc", TMP);
    snprintf(log, sizeof log, "%s/train_log.jsonl", out);
    char m1[1024];
    snprintf(m1, sizeof m1, "%s/m1", TMP);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execl(SIDR, SIDR, "train", "align", "--model", m1, "--data", FIX, "--derive-train", "--out", out, "--max-steps",
              "1000000", "--save-every", "0", "--no-eval", "--quiet", "--lr", "1e-3", (char *)NULL);
        _exit(127);
    }
    /* wait for a few steps in the log */
    int lines = 0;
    for (int i = 0; i < 400 && lines < 4; i++) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
        char *t;
        lines = 0;
        if (!read_file(log, &t, NULL)) {
            for (char *p = t; (p = strstr(p, "\"train\"")); p++) lines++;
            free(t);
        }
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    jlog l;
    log_read(&l, out);
    int steps = log_count(&l, "train");
    log_free(&l);
    char ck[1300];
    snprintf(ck, sizeof ck, "%s/checkpoint-%d/trainer_state.json", out, steps);
    int have = steps >= 4 && file_exists(ck);
    snprintf(ck, sizeof ck, "%s/checkpoint-%d.tmp", out, steps);
    struct stat st;
    tap_ok(rc == 1 && have && stat(ck, &st) != 0, "Ctrl-C: exit status 1 and a complete checkpoint at the last step (%d)", steps);
    char a[4096];
    snprintf(a, sizeof a, "align --model %s --data %s --derive-train --out %s --max-steps %d --save-every 0 --no-eval --lr 1e-3 --resume",
             m1, FIX, out, steps + 2);
    int rc2 = train(a);
    char *state = NULL;
    snprintf(ck, sizeof ck, "%s/trainer_state.json", out);
    read_file(ck, &state, NULL);
    cJSON *js = state ? cJSON_Parse(state) : NULL;
    tap_ok(rc2 == 0 && num(js, "global_step") == steps + 2, "Ctrl-C: --resume continues to the end (step %g)", num(js, "global_step"));
    cJSON_Delete(js);
    free(state);
}

/* One step of `train reason` from the aligned model on the reasoning
 * fixture, into TMP/NAME with EXTRA options; reads its log into l. */
static int one_step(const char *name, const char *extra, jlog *l)
{
    char args[1024], dir[600];
    snprintf(args, sizeof args, "reason --model %s/a1 --data %s/dr --out %s/%s --max-steps 1 --no-eval %s --dtype f32", TMP, TMP,
             TMP, name, extra);
    int rc = train(args);
    snprintf(dir, sizeof dir, "%s/%s", TMP, name);
    log_read(l, dir);
    return rc;
}

static void reason(void)
{
    char args[4096];
    snprintf(args, sizeof args,
             "reason --model %s/a1 --data %s/dr --out %s/r1 --max-steps 150 --lr 3e-3 --max-new 32 --eval-every 150 "
             "--eval-gen 4 --dtype f32",
             TMP, TMP, TMP);
    int rc = train(args);
    if (!tap_ok(rc == 0, "train reason exits 0")) show_output();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/r1", TMP);
    jlog l;
    log_read(&l, dir);
    const cJSON *e0 = log_find(&l, "eval", 0), *e1 = log_find(&l, "eval", 150), *st = log_find(&l, "start", 0);
    const cJSON *enr = st ? cJSON_GetObjectItemCaseSensitive(st, "enrichment") : NULL;
    tap_ok(num(enr, "reasoning_paths") == 12 && num(enr, "csv_unmatched") == 0,
           "reason: the 8 train and 4 valid rows take their reasoning from integrated_narrative.csv");
    tap_ok(num(e1, "valid_loss") < 0.5 * num(e0, "valid_loss"), "reason: the validation loss falls (%.4f -> %.4f)",
           num(e0, "valid_loss"), num(e1, "valid_loss"));
    tap_ok(num(e0, "format_rate") == 0 && num(e1, "format_rate") >= 0.5 && num(e1, "valid_sid_rate") >= 0.5,
           "reason: format followed after training (</think> then a valid SID: %.2f before, %.2f after; valid SID %.2f)",
           num(e0, "format_rate"), num(e1, "format_rate"), num(e1, "valid_sid_rate"));
    const cJSON *ex = e1 ? cJSON_GetObjectItemCaseSensitive(e1, "example") : NULL;
    if (cJSON_IsString(ex)) {
        char *e = strdup(ex->valuestring);
        for (char *c = e; *c; c++)
            if (*c == '\n') *c = '|';
        tap_diag("reason example (| = newline): %s", e);
        free(e);
    }
    tap_diag("reason train loss: step 1 %.4f, step 150 %.4f", num(log_find(&l, "train", 1), "loss"),
             num(log_find(&l, "train", 150), "loss"));
    log_free(&l);
    tap_ok(loads(dir), "reason: the output folder loads as a model");

    /* --mix-tasks 2: the title<->SID samples of every item join the reasoning pool */
    snprintf(args, sizeof args,
             "reason --model %s/a1 --data %s/dr --out %s/rmix --max-steps 2 --lr 1e-3 --no-eval --mix-tasks 2 --dtype f32",
             TMP, TMP, TMP);
    rc = train(args);
    snprintf(dir, sizeof dir, "%s/rmix", TMP);
    log_read(&l, dir);
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(log_find(&l, "start", 0), "train_pool");
    tap_ok(rc == 0 && num(cJSON_GetObjectItemCaseSensitive(pool, "title-sid-identification"), "sequences") == 18 &&
               num(cJSON_GetObjectItemCaseSensitive(pool, "reasoning"), "sequences") == 8,
           "reason --mix-tasks 2: the pool holds the 8 reasoning rows and 18 title/SID samples");
    log_free(&l);
    snprintf(args, sizeof args, "reason --model %s/a1 --data %s/dr --out %s/rbad --mix-tasks 3 --max-steps 1", TMP, TMP, TMP);
    int bad = train(args);
    snprintf(args, sizeof args, "align --model %s/a1 --data %s/dr --out %s/rbad --mix-tasks 2 --max-steps 1", TMP, TMP, TMP);
    tap_ok(bad == 2 && train(args) == 2, "--mix-tasks takes only the item tasks 2 and 6, and only in reason");

    /* --answer-weight W: each answer token after </think> weighs W in the
     * step's loss normaliser, each reasoning token 1; the same first batch
     * under W = 0, 1, 3 shows both counts */
    double lt[3];
    const char *ws[3] = { "0", "1", "3" };
    int aw_ok = 1;
    for (int i = 0; i < 3; i++) {
        char name[16], extra[64];
        snprintf(name, sizeof name, "raw%d", i);
        snprintf(extra, sizeof extra, "--batch 8 --answer-weight %s", ws[i]);
        aw_ok &= one_step(name, extra, &l) == 0;
        lt[i] = num(log_find(&l, "train", 1), "loss_tokens");
        aw_ok &= num(log_find(&l, "start", 0), "answer_weight") == atof(ws[i]);
        log_free(&l);
    }
    double reasoning = lt[0], answer = lt[1] - lt[0];
    tap_ok(aw_ok && reasoning > 0 && answer > 0 && fabs(lt[2] - (reasoning + 3 * answer)) < 1e-6,
           "reason --answer-weight: the loss weighs %g reasoning tokens by 1 and %g answer tokens by W (W=3: %g)",
           reasoning, answer, lt[2]);
    snprintf(args, sizeof args, "reason --model %s/a1 --data %s/dr --out %s/rbad --answer-weight -1 --max-steps 1", TMP, TMP, TMP);
    bad = train(args);
    snprintf(args, sizeof args, "align --model %s/a1 --data %s/dr --out %s/rbad --answer-weight 2 --max-steps 1", TMP, TMP, TMP);
    tap_ok(bad == 2 && train(args) == 2, "--answer-weight takes a number in [0, 1000], and only in reason");

    /* --trace-answer 1: every row once more with the history hidden, trained
     * on its answer alone: the first batch of all 16 then counts the
     * reasoning tokens once and the answer tokens twice (W = 1), or the
     * reasoning tokens alone (W = 0); --trace-answer-words rewrites those
     * rows' reasoning (other tokens per epoch) but not what is trained */
    static const char *const ta[3] = { "--answer-weight 0 --trace-answer 1", "--answer-weight 1 --trace-answer 1",
                                       "--answer-weight 1 --trace-answer 1 --trace-answer-words" };
    double ht[3], epoch_tokens[3];
    int ta_ok = 1;
    for (int i = 0; i < 3; i++) {
        char name[16], extra[96];
        snprintf(name, sizeof name, "rta%d", i);
        snprintf(extra, sizeof extra, "--batch 16 %s", ta[i]);
        ta_ok &= one_step(name, extra, &l) == 0;
        ht[i] = num(log_find(&l, "train", 1), "loss_tokens");
        const cJSON *start = log_find(&l, "start", 0);
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(start, "train_pool"), "reasoning");
        epoch_tokens[i] = num(start, "tokens_per_epoch");
        ta_ok &= num(rp, "sequences") == 16 && num(rp, "history_hidden") == 8 && num(start, "trace_answer") == 1 &&
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(start, "trace_answer_words")) == (i == 2);
        log_free(&l);
    }
    tap_ok(ta_ok && fabs(ht[0] - reasoning) < 1e-6 && fabs(ht[1] - (reasoning + 2 * answer)) < 1e-6,
           "reason --trace-answer 1: 16 sequences, 8 with the history hidden and trained on the answer only "
           "(%g loss tokens at W=0, %g at W=1)", ht[0], ht[1]);
    tap_ok(ta_ok && ht[2] == ht[1] && epoch_tokens[2] != epoch_tokens[1],
           "reason --trace-answer-words: the hidden rows' reasoning changes (%g tokens per epoch, %g without), the "
           "trained tokens do not (%g)", epoch_tokens[2], epoch_tokens[1], ht[2]);
    snprintf(args, sizeof args, "reason --model %s/a1 --data %s/dr --out %s/rbad --trace-answer 1.5 --max-steps 1", TMP, TMP, TMP);
    bad = train(args);
    snprintf(args, sizeof args, "align --model %s/a1 --data %s/dr --out %s/rbad --trace-answer 0.5 --max-steps 1", TMP, TMP, TMP);
    tap_ok(bad == 2 && train(args) == 2, "--trace-answer takes a fraction in [0, 1], and only in reason");
}

/* Mean P(level-a token of X) and of Y where the policy names the SID: decode
 * greedily from the Stage-2 prompt (the policy's own reasoning, with its own
 * tokenisation) past </think> until the most likely token is a level-a SID
 * token, and read the two probabilities there. */
static void probe(const char *dir, const sidr_dataset *ds, double *px, double *py)
{
    *px = *py = 0;
    sidr_model m;
    sidr_tokenizer *tok;
    char p[1024];
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    if (sidr_model_load(&m, dir) || sidr_tokenizer_load(&tok, p)) return;
    sidr_state *s = sidr_state_new(&m, 512);
    float *logits = malloc((size_t)m.cfg.vocab_size * sizeof(float));
    for (int k = 0; k < 4; k++) {
        const sidr_item *h = item_of(ds, ROWS[k][0]), *x = item_of(ds, ROWS[k][1]), *y = item_of(ds, ROWS[k][2]);
        char *pr = prompt_reasoning(h->sid);
        int *ids, n;
        sidr_tokenizer_encode(tok, pr, strlen(pr), &ids, &n);
        free(pr);
        sidr_kv kv;
        sidr_kv_init(&kv, &m.cfg, n + 64);
        sidr_forward(&m, s, &kv, ids, n, logits, SIDR_LOGITS_LAST);
        char ax[32], ay[32];
        sidr_item_sid_token(x, 0, ax, sizeof ax);
        sidr_item_sid_token(y, 0, ay, sizeof ay);
        int closed = 0, close_id = sidr_tokenizer_find(tok, "</think>");
        for (int step = 0; step < 60; step++) {
            int next = sidr_argmax(logits, m.cfg.vocab_size);
            size_t len;
            const char *b = sidr_tokenizer_token_bytes(tok, next, &len);
            if (next == close_id) closed = 1;
            if (closed && b && len > 3 && !memcmp(b, "<a_", 3)) {
                double mx = logits[0], z = 0;
                for (int i = 1; i < m.cfg.vocab_size; i++) mx = logits[i] > mx ? logits[i] : mx;
                for (int i = 0; i < m.cfg.vocab_size; i++) z += exp(logits[i] - mx);
                *px += exp(logits[sidr_tokenizer_find(tok, ax)] - mx) / z / 4;
                *py += exp(logits[sidr_tokenizer_find(tok, ay)] - mx) / z / 4;
                break;
            }
            sidr_forward(&m, s, &kv, &next, 1, logits, SIDR_LOGITS_LAST);
        }
        sidr_kv_free(&kv);
        free(ids);
    }
    free(logits);
    sidr_state_free(s);
    sidr_tokenizer_free(tok);
    sidr_model_free(&m);
}

/* The expected reward of a policy on the rl prompts (its prefix part: no
 * catalogue bonus), from many fresh rollouts with fixed seeds: the
 * objective itself, with little noise. */
static double expected_reward(const char *dir, const sidr_dataset *ds, int per_prompt)
{
    sidr_model m;
    sidr_tokenizer *tok;
    char p[1024];
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    if (sidr_model_load(&m, dir) || sidr_tokenizer_load(&tok, p)) return NAN;
    sidr_state *s = sidr_state_new(&m, per_prompt > 256 ? per_prompt : 256);
    int stop[1] = { sidr_tokenizer_find(tok, "<|im_end|>") };
    grpo_rollout *ro = calloc((size_t)per_prompt, sizeof *ro);
    double sum = 0;
    int n = 0;
    for (int k = 0; k < 4; k++) {
        char *pr = prompt_reasoning(item_of(ds, ROWS[k][0])->sid);
        int *ids, ni;
        sidr_tokenizer_encode(tok, pr, strlen(pr), &ids, &ni);
        free(pr);
        if (grpo_rollouts(&m, s, ids, ni, per_prompt, 32, stop, 1, 1.0f, 1000 + (uint64_t)k, ro) == SIDR_OK)
            for (int g = 0; g < per_prompt; g++) {
                char *text;
                size_t len;
                sidr_tokenizer_decode(tok, ro[g].ids, ro[g].n, 0, &text, &len);
                sum += grpo_reward(text, len, item_of(ds, ROWS[k][1])->sid, 3, NULL, NULL, NULL);
                n++;
                free(text);
                grpo_rollout_free(&ro[g]);
            }
        free(ids);
    }
    free(ro);
    sidr_state_free(s);
    sidr_tokenizer_free(tok);
    sidr_model_free(&m);
    return n ? sum / n : NAN;
}

static void rl(const sidr_dataset *ds)
{
    char args[4096];
    snprintf(args, sizeof args,
             "rl --model %s/r1 --data %s/dq --out %s/q1 --max-steps 10 --lr 3e-4 --group 16 --prompts 4 --max-new 32 "
             "--eval-every 10 --eval-gen 4 --dtype f32",
             TMP, TMP, TMP);
    int rc = train(args);
    if (!tap_ok(rc == 0, "train rl exits 0")) show_output();
    char dir[1024], r1[1024];
    snprintf(dir, sizeof dir, "%s/q1", TMP);
    snprintf(r1, sizeof r1, "%s/r1", TMP);
    jlog l;
    log_read(&l, dir);
    double first = 0, last = 0;
    char curve[512] = "";
    for (int s = 1; s <= 10; s++) {
        double r = num(log_find(&l, "train", s), "reward_mean");
        if (s <= 3) first += r / 3;
        if (s >= 8) last += r / 3;
        size_t k = strlen(curve);
        snprintf(curve + k, sizeof curve - k, " %.3f", r);
    }
    tap_diag("rl mean reward per step:%s", curve);
    tap_ok(last > first, "rl: the logged mean reward rises (steps 1-3 %.3f -> steps 8-10 %.3f)", first, last);
    const cJSON *t1 = log_find(&l, "train", 1), *ev = log_find(&l, "eval", 10);
    const cJSON *rcnt = t1 ? cJSON_GetObjectItemCaseSensitive(t1, "reward_counts") : NULL;
    int fields = cJSON_IsObject(rcnt) && isfinite(num(t1, "valid_sid_rate")) && isfinite(num(t1, "mean_reasoning_tokens")) &&
                 isfinite(num(t1, "kl")) && isfinite(num(t1, "grad_norm")) && isfinite(num(ev, "HR@10")) &&
                 isfinite(num(ev, "NDCG@10"));
    tap_ok(fields, "rl log: reward distribution, valid-SID rate, reasoning length, KL per step; HR@10 on the valid slice");
    double r1_ratio = num(t1, "ratio_max") - 1;
    tap_ok(fabs(r1_ratio) < 1e-3 && fabs(num(t1, "ratio_min") - 1) < 1e-3,
           "rl: with one PPO epoch the ratio starts at 1 (max |r - 1| %.2g)", fabs(r1_ratio));
    log_free(&l);
    double x0, y0, x1, y1;
    probe(r1, ds, &x0, &y0);
    probe(dir, ds, &x1, &y1);
    tap_ok(x1 > x0 + 0.1 && y1 < y0 - 0.1,
           "rl: at the SID position of its greedy answer the policy moves to the rewarded SID (P(X) %.3f -> %.3f, P(Y) %.3f -> %.3f)", x0, x1, y0, y1);
    double e0 = expected_reward(r1, ds, 128), e1 = expected_reward(dir, ds, 128);
    tap_ok(e1 > e0 + 0.04, "rl: the expected prefix reward on 512 fresh rollouts rises (%.3f -> %.3f)", e0, e1);
    tap_ok(loads(dir), "rl: the output folder loads as a model");
}

int main(void)
{
    SIDR = getenv("SIDR");
    if (!SIDR || !*SIDR) SIDR = "./sidr";
    if (access(SIDR, X_OK) != 0) return tap_skip_all("the sidr binary is not built (set SIDR)");
    FIX = fix_dataset_dir();
    TMP = fix_tempdir("train");
    sidr_dataset ds;
    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);
    if (!TMP || sidr_dataset_load(&ds, FIX, &o)) {
        tap_ok(0, "setup: %s", sidr_last_error());
        return tap_done();
    }
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
    if (!tap_ok(rc == 0 && make_datasets(&ds) == 0, "setup: a tiny model with the SID tokens, and the datasets")) return tap_done();

    struct { const char *name; double t; } ph[5];
    double t0 = now_seconds();
    align();
    task_weights();
    ph[0].name = "align", ph[0].t = now_seconds() - t0, t0 = now_seconds();
    resume();
    ph[1].name = "resume", ph[1].t = now_seconds() - t0, t0 = now_seconds();
    ctrl_c();
    ph[2].name = "ctrl-c", ph[2].t = now_seconds() - t0, t0 = now_seconds();
    reason();
    ph[3].name = "reason", ph[3].t = now_seconds() - t0, t0 = now_seconds();
    rl(&ds);
    ph[4].name = "rl", ph[4].t = now_seconds() - t0;
    tap_diag("seconds: %s %.1f, %s %.1f, %s %.1f, %s %.1f, %s %.1f", ph[0].name, ph[0].t, ph[1].name, ph[1].t, ph[2].name,
             ph[2].t, ph[3].name, ph[3].t, ph[4].name, ph[4].t);

    if (!getenv("SIDR_KEEP_TMP")) fix_sh("rm -rf '%s'", TMP);
    else tap_diag("kept %s", TMP);
    sidr_dataset_free(&ds);
    free(TMP);
    free(FIX);
    return tap_done();
}

/* sidr recipe: SIDReasoner end to end on a dataset folder within a time
 * budget.  Stages (each in WORK/<stage>/, complete when it holds
 * recipe-stage.json): sids (only when the dataset has none; the dataset goes
 * to WORK/data), tokenizer, model, calibrate (a few timed steps of align,
 * reason and rl and a timed eval row, on the model stage's output, in
 * scratch folders), align, reason, rl, eval (one single-threaded shard per
 * core, merged).  The other subcommands run in this process from argv
 * arrays; eval shards run in forked children.  The budget arithmetic is in
 * recipe_plan.c. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "recipe_plan.h"
#include "threads.h"
#include "util.h"

#define MARKER "recipe-stage.json"
#define STEPS_FILE "recipe-steps.json"

/* ---- presets ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *model_args;   /* sidr model init options */
    int vocab;
    int align_batch, reason_batch, rl_prompts, rl_group, max_new;
    const char *align_lr, *reason_lr, *rl_lr;
    int align_eval_rows, reason_eval_rows, reason_eval_gen, rl_eval_gen;
    int calib_steps_sft, calib_steps_rl, calib_rows;
    double align_epochs, reason_epochs, rl_epochs;  /* caps */
} preset;

static const preset presets[] = {
    { "tiny", "--preset tiny", 3000, 16, 8, 8, 8, 256, "1e-3", "5e-4", "3e-5", 128, 64, 16, 16, 8, 1, 2, 4, 3, 1 },
    { "small", "--preset tiny --hidden 512 --ffn 1536 --layers 8 --heads 8 --kv-heads 4", 6000, 16, 8, 8, 8, 256,
      "5e-4", "3e-4", "1e-5", 128, 64, 16, 16, 8, 1, 2, 4, 3, 1 },
    /* for the test suite: a model of a few thousand parameters (not documented) */
    { "test", "--preset tiny --hidden 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128", 420, 8, 8, 2, 2, 24, "3e-3",
      "3e-3", "3e-5", 8, 4, 1, 1, 2, 1, 1, 2, 2, 1 },
};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

/* ---- argv arrays ---------------------------------------------------------------- */

typedef struct {
    char *v[128];
    int n;
} argvec;

static void av_add(argvec *a, const char *s)
{
    if (a->n < 127) a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

__attribute__((format(printf, 2, 3))) static void av_addf(argvec *a, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    av_add(a, buf);
}

/* Adds the space-separated words of s. */
static void av_words(argvec *a, const char *s)
{
    char *c = xstrdup(s), *save = NULL;
    for (char *w = strtok_r(c, " ", &save); w; w = strtok_r(NULL, " ", &save)) av_add(a, w);
    free(c);
}

static void av_free(argvec *a)
{
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    a->n = 0;
}

/* ---- the run -------------------------------------------------------------------- */

typedef struct {
    const char *data_in, *work;
    const preset *pr;
    double budget_min;
    long seed, threads;
    int from;                  /* -1: none */
    int dry_run, json, quiet;
    double share[PLAN_COUNT];
    /* the dataset */
    char *data;                /* the dataset the stages use */
    int need_sids, has_train, n_items, n_test, n_sid_items;
    const char *layout;
    /* per stage */
    char *dir[RECIPE_STAGE_COUNT];
    int done_before[RECIPE_STAGE_COUNT];  /* complete when this run started */
    double seconds[RECIPE_STAGE_COUNT];   /* wall time (this run or the marker's) */
    int ran[RECIPE_STAGE_COUNT];
    /* calibration */
    recipe_rate rate[PLAN_COUNT];
    int measured;
    int shards;
    recipe_item plan[PLAN_COUNT];
    int have_plan;
    double prep_seconds;
    int json_stdout;           /* saved stdout while stages run under --json */
} recipe;



static int has_checkpoint(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "checkpoint-", 11) && !strstr(e->d_name, ".tmp")) found = 1;
    closedir(d);
    return found;
}

static cJSON *read_json(const char *path)
{
    char *buf;
    size_t len;
    if (read_file(path, &buf, &len)) return NULL;
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    return j;
}

static double jnum(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static char *stage_file(const recipe *r, int st, const char *leaf)
{
    return path_join(r->dir[st], leaf);
}

static cJSON *read_marker(const recipe *r, int st)
{
    char *p = stage_file(r, st, MARKER);
    cJSON *j = read_json(p);
    free(p);
    return j;
}

/* Marks stage st complete; extra (consumed, may be NULL) is merged in. */
static sidr_status write_marker(recipe *r, int st, cJSON *extra)
{
    cJSON *o = extra ? extra : cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stage", recipe_stage_name((recipe_stage)st));
    cJSON_AddNumberToObject(o, "seconds", r->seconds[st]);
    sidr_status s = make_dirs(r->dir[st]);
    char *p = stage_file(r, st, MARKER);
    if (!s) s = write_json_file(p, o);
    free(p);
    cJSON_Delete(o);
    return s;
}

static void say(const recipe *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const recipe *r, const char *fmt, ...)
{
    (void)r;
    va_list ap;
    fprintf(stderr, "== ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* Under --json, the stages' stdout goes to stderr so stdout stays JSON. */
static void stages_stdout_begin(recipe *r)
{
    fflush(stdout);
    if (!r->json) return;
    r->json_stdout = dup(STDOUT_FILENO);
    dup2(STDERR_FILENO, STDOUT_FILENO);
}

static void stages_stdout_end(recipe *r)
{
    fflush(stdout);
    if (!r->json || r->json_stdout < 0) return;
    dup2(r->json_stdout, STDOUT_FILENO);
    close(r->json_stdout);
    r->json_stdout = -1;
}

/* Runs a subcommand in this process. */
static int run_cmd(recipe *r, int (*fn)(int, char **), argvec *a)
{
    stages_stdout_begin(r);
    optind = 0; /* a full reset of getopt's state; the command sets 1 itself */
    int rc = fn(a->n, a->v);
    optind = 1;
    stages_stdout_end(r);
    return rc;
}

static int available_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* ---- the dataset ---------------------------------------------------------------- */

static int probe_data(recipe *r, const char *dir, int quiet_errors)
{
    sidr_dataset ds;
    memset(&ds, 0, sizeof ds);
    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);
    sidr_status s = sidr_dataset_load(&ds, dir, &o);
    if (s) {
        if (!quiet_errors) runtime_error("recipe", s);
        return -1;
    }
    r->n_items = ds.n_items;
    r->n_sid_items = 0;
    for (int i = 0; i < ds.n_items; i++)
        if (ds.items[i].sid) r->n_sid_items++;
    r->has_train = ds.split[SIDR_SPLIT_TRAIN].present && ds.split[SIDR_SPLIT_TRAIN].n > 0;
    r->n_test = ds.split[SIDR_SPLIT_TEST].present ? ds.split[SIDR_SPLIT_TEST].n : 0;
    r->layout = ds.layout == SIDR_LAYOUT_RECBOLE ? "RecBole" : "MiniOneRec";
    sidr_dataset_free(&ds);
    return 0;
}

/* ---- plan output ---------------------------------------------------------------- */

static const char *stage_status(const recipe *r, int st)
{
    if (st == RECIPE_SIDS && !r->need_sids) return "not needed";
    if (r->done_before[st]) return "done";
    return r->dry_run ? "to run" : "run";
}

static void print_plan_text(const recipe *r)
{
    FILE *f = stdout;
    double shared = r->budget_min * 60 - r->prep_seconds;
    fprintf(f, "sidr recipe plan: budget %.1f min, preset %s, seed %ld, data %s (%s, %d items, %d test rows)\n",
            r->budget_min, r->pr->name, r->seed, r->data_in, r->layout, r->n_items, r->n_test);
    fprintf(f, "  SIDs: %s; training rows: %s\n",
            r->need_sids ? "none in the dataset: 'sids build' into WORK/data" : "the dataset's own",
            r->has_train ? "the train split" : "none: derived from the train-period histories (--derive-train=period)");
    if (r->measured)
        fprintf(f, "  preparation and calibration took %.1f min; %.1f min are shared by the stages below\n",
                r->prep_seconds / 60, (shared > 0 ? shared : 0) / 60);
    else
        fprintf(f, "  the shares below apply to the budget left after preparation and calibration (not run yet)\n");
    fprintf(f, "  %-10s %-10s %6s %8s %9s %8s\n", "stage", "status", "share", "minutes", "steps", "epochs");
    for (int st = 0; st < RECIPE_STAGE_COUNT; st++) {
        int k = st == RECIPE_ALIGN ? PLAN_ALIGN : st == RECIPE_REASON ? PLAN_REASON : st == RECIPE_RL ? PLAN_RL
              : st == RECIPE_EVAL ? PLAN_EVAL : -1;
        if (k < 0) {
            fprintf(f, "  %-10s %-10s %6s %8s %9s %8s\n", recipe_stage_name((recipe_stage)st), stage_status(r, st), "-",
                    "-", "-", "-");
            continue;
        }
        const recipe_item *it = &r->plan[k];
        char steps[32], epochs[32];
        if (it->steps >= 0) {
            snprintf(steps, sizeof steps, "%ld%s", it->steps, k == PLAN_EVAL ? "r" : "");
            snprintf(epochs, sizeof epochs, "%.2f%s", it->epochs, it->capped ? "*" : it->floored ? "!" : "");
        } else {
            snprintf(steps, sizeof steps, "?");
            snprintf(epochs, sizeof epochs, "?");
        }
        fprintf(f, "  %-10s %-10s %5.0f%% %8.1f %9s %8s\n", recipe_stage_name((recipe_stage)st), stage_status(r, st),
                it->share, it->seconds / 60, steps, epochs);
    }
    if (r->measured)
        fprintf(f, "  steps from measured rates (calibration in WORK/calibrate): align %.3f s/step, reason %.3f s/step, "
                   "rl %.3f s/step, eval %.3f s/row per shard, %d shard(s).\n  'r': test rows; '*': capped at %g/%g/%g epochs or "
                   "the whole split; '!': the share pays for less than one step\n",
                r->rate[PLAN_ALIGN].seconds_per_step, r->rate[PLAN_REASON].seconds_per_step,
                r->rate[PLAN_RL].seconds_per_step, r->rate[PLAN_EVAL].seconds_per_step * r->shards, r->shards,
                r->pr->align_epochs, r->pr->reason_epochs, r->pr->rl_epochs);
    else
        fprintf(f, "  steps: not measured%s; the calibrate stage times a few steps of each stage before training\n",
                r->dry_run ? " (a dry run does not calibrate)" : "");
    fflush(f);
}

static cJSON *plan_json(const recipe *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "plan");
    cJSON_AddStringToObject(o, "data", r->data_in);
    cJSON_AddStringToObject(o, "layout", r->layout);
    cJSON_AddStringToObject(o, "preset", r->pr->name);
    cJSON_AddNumberToObject(o, "seed", (double)r->seed);
    cJSON_AddNumberToObject(o, "budget_minutes", r->budget_min);
    cJSON_AddBoolToObject(o, "dry_run", r->dry_run);
    cJSON_AddBoolToObject(o, "sids_built", r->need_sids);
    cJSON_AddBoolToObject(o, "derive_train", !r->has_train);
    cJSON_AddNumberToObject(o, "test_rows", r->n_test);
    cJSON_AddBoolToObject(o, "measured", r->measured);
    if (r->measured) cJSON_AddNumberToObject(o, "prep_seconds", r->prep_seconds);
    cJSON_AddNumberToObject(o, "eval_shards", r->shards);
    cJSON *a = cJSON_AddArrayToObject(o, "stages");
    for (int st = 0; st < RECIPE_STAGE_COUNT; st++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "stage", recipe_stage_name((recipe_stage)st));
        cJSON_AddStringToObject(s, "status", stage_status(r, st));
        int k = st == RECIPE_ALIGN ? PLAN_ALIGN : st == RECIPE_REASON ? PLAN_REASON : st == RECIPE_RL ? PLAN_RL
              : st == RECIPE_EVAL ? PLAN_EVAL : -1;
        if (k >= 0) {
            const recipe_item *it = &r->plan[k];
            cJSON_AddNumberToObject(s, "share", it->share);
            cJSON_AddNumberToObject(s, "minutes", it->seconds / 60);
            if (it->steps >= 0) {
                cJSON_AddNumberToObject(s, k == PLAN_EVAL ? "rows" : "steps", (double)it->steps);
                cJSON_AddNumberToObject(s, "epochs", it->epochs);
                cJSON_AddBoolToObject(s, "capped", it->capped);
                cJSON_AddBoolToObject(s, "floored", it->floored);
                cJSON_AddNumberToObject(s, k == PLAN_EVAL ? "seconds_per_row" : "seconds_per_step",
                                        r->rate[k].seconds_per_step * (k == PLAN_EVAL ? r->shards : 1));
            } else {
                cJSON_AddNullToObject(s, k == PLAN_EVAL ? "rows" : "steps");
            }
        }
        cJSON_AddItemToArray(a, s);
    }
    return o;
}

static void print_json_line(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    cJSON_Delete(o);
}

static void compute_plan(recipe *r)
{
    double shared = r->budget_min * 60 - r->prep_seconds;
    if (shared < 1) shared = 1; /* preparation used the budget: one step each */
    recipe_plan_compute(shared, r->share, r->rate, r->plan);
    r->have_plan = 1;
}

/* ---- stages --------------------------------------------------------------------- */

static int stage_sids(recipe *r, cJSON *marker)
{
    (void)marker;
    argvec a = { .n = 0 };
    long codes = r->n_items / 2;
    if (codes > 256) codes = 256;
    if (codes < 2) codes = 2;
    char *out = path_join(r->work, "data");
    rm_tree(out);
    av_add(&a, "sids");
    av_add(&a, "build");
    av_add(&a, "--data");
    av_add(&a, r->data_in);
    av_add(&a, "--out");
    av_add(&a, out);
    av_addf(&a, "--codes=%ld", codes);
    av_addf(&a, "--seed=%ld", r->seed);
    if (r->quiet) av_add(&a, "--quiet");
    say(r, "stage sids: %d items without SIDs -> 3 levels x %ld codes in %s", r->n_items, codes, out);
    int rc = run_cmd(r, cmd_sids, &a);
    av_free(&a);
    free(out);
    return rc;
}

static int stage_tokenizer(recipe *r, cJSON *marker)
{
    (void)marker;
    argvec a = { .n = 0 };
    av_words(&a, "tokenizer train --data");
    av_add(&a, r->data);
    av_addf(&a, "--vocab=%d", r->pr->vocab);
    av_add(&a, "--out");
    av_add(&a, r->dir[RECIPE_TOKENIZER]);
    say(r, "stage tokenizer: byte-level BPE of %d tokens in %s", r->pr->vocab, r->dir[RECIPE_TOKENIZER]);
    int rc = run_cmd(r, cmd_tokenizer, &a);
    av_free(&a);
    return rc;
}

static int stage_model(recipe *r, cJSON *marker)
{
    (void)marker;
    argvec a = { .n = 0 };
    char *base = path_join(r->dir[RECIPE_MODEL], "base");
    say(r, "stage model: %s (%s), random weights, the dataset's SID tokens added, in %s", r->pr->name,
        r->pr->model_args, r->dir[RECIPE_MODEL]);
    av_words(&a, "model init");
    av_words(&a, r->pr->model_args);
    av_add(&a, "--tokenizer");
    av_add(&a, r->dir[RECIPE_TOKENIZER]);
    av_add(&a, "--out");
    av_add(&a, base);
    av_addf(&a, "--seed=%ld", r->seed);
    av_words(&a, "--dtype f32");
    int rc = run_cmd(r, cmd_model, &a);
    av_free(&a);
    if (rc == EXIT_OK && !interrupted) {
        av_words(&a, "model add-sids --model");
        av_add(&a, base);
        av_add(&a, "--data");
        av_add(&a, r->data);
        av_add(&a, "--out");
        av_add(&a, r->dir[RECIPE_MODEL]);
        av_addf(&a, "--seed=%ld", r->seed);
        rc = run_cmd(r, cmd_model, &a);
        av_free(&a);
    }
    free(base);
    return rc;
}

/* The train command of budgeted stage k from model `from` into out. */
static void train_args(const recipe *r, int k, const char *from, const char *out, long steps, argvec *a)
{
    const preset *p = r->pr;
    av_add(a, "train");
    av_add(a, k == PLAN_ALIGN ? "align" : k == PLAN_REASON ? "reason" : "rl");
    av_add(a, "--model");
    av_add(a, from);
    av_add(a, "--data");
    av_add(a, r->data);
    av_add(a, "--out");
    av_add(a, out);
    av_addf(a, "--max-steps=%ld", steps);
    av_addf(a, "--seed=%ld", r->seed);
    /* one validation, at the end: the calibration pays for it too */
    av_addf(a, "--eval-every=%ld", steps);
    av_addf(a, "--save-every=%ld", steps > 500 ? steps / 5 : 100);
    if (!r->has_train) av_add(a, "--derive-train=period");
    if (r->threads > 0) av_addf(a, "--threads=%ld", r->threads);
    if (k == PLAN_ALIGN) {
        av_addf(a, "--batch=%d", p->align_batch);
        av_addf(a, "--lr=%s", p->align_lr);
        av_words(a, "--warmup 0.03 --schedule cosine --task-weights 1=1,2=5,3=0.5,4=0.25,5=0.5,6=3,7=1 --dtype f32");
        av_addf(a, "--eval-rows=%d", p->align_eval_rows);
    } else if (k == PLAN_REASON) {
        av_addf(a, "--batch=%d", p->reason_batch);
        av_addf(a, "--lr=%s", p->reason_lr);
        av_words(a, "--warmup 0.05 --schedule cosine --dtype f32");
        av_addf(a, "--eval-rows=%d", p->reason_eval_rows);
        av_addf(a, "--eval-gen=%d", p->reason_eval_gen);
        av_addf(a, "--max-new=%d", p->max_new);
    } else {
        av_addf(a, "--prompts=%d", p->rl_prompts);
        av_addf(a, "--group=%d", p->rl_group);
        av_addf(a, "--lr=%s", p->rl_lr);
        av_addf(a, "--max-new=%d", p->max_new);
        av_addf(a, "--eval-gen=%d", p->rl_eval_gen);
        av_words(a, "--dtype bf16");
    }
}

/* Reads a calibration run's log: steps per epoch and the time of a mean
 * step.  The first step (warm-up) is left out when there are more.  A few
 * steps of length-bucketed batches say little about the mean step, so when
 * the log gives the epoch's tokens, the step time is the measured seconds
 * per token times the mean tokens of a step. */
static int read_train_log(const char *path, int k, const preset *p, recipe_rate *rt, double *sum_steps)
{
    char *buf;
    size_t len;
    if (read_file(path, &buf, &len)) return -1;
    double sum = 0, sum_after_first = 0, tok_after_first = 0, tokens_per_epoch = 0;
    long n = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        if (!o) continue;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, "start")) {
            if (k == PLAN_RL) {
                double prompts = jnum(o, "prompts", 0), per = jnum(o, "prompts_per_step", p->rl_prompts);
                rt->steps_per_epoch = per > 0 ? (long)ceil(prompts / per) : 0;
            } else {
                rt->steps_per_epoch = (long)jnum(o, "steps_per_epoch", 0);
                tokens_per_epoch = jnum(o, "tokens_per_epoch", 0);
            }
        } else if (cJSON_IsString(t) && !strcmp(t->valuestring, "train")) {
            double dt = jnum(o, "step_seconds", 0);
            sum += dt;
            if (n > 0) {
                sum_after_first += dt;
                tok_after_first += jnum(o, "tokens", 0);
            }
            n++;
        }
        cJSON_Delete(o);
    }
    free(buf);
    if (n == 0 || rt->steps_per_epoch <= 0) return -1;
    if (n > 1 && tok_after_first > 0 && tokens_per_epoch > 0)
        rt->seconds_per_step = sum_after_first / tok_after_first * tokens_per_epoch / (double)rt->steps_per_epoch;
    else
        rt->seconds_per_step = n > 1 ? sum_after_first / (double)(n - 1) : sum;
    if (rt->seconds_per_step <= 0) rt->seconds_per_step = 1e-6;
    *sum_steps = sum;
    return 0;
}

/* Eval in a forked child: one thread, stdout discarded, stderr to log. */
static pid_t eval_child(recipe *r, const char *model, long limit, int shard, int shards, const char *json,
                        const char *log)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0) return pid;
    setenv("SIDR_THREADS", "1", 1);
    sidr_threads_set(1);
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) dup2(fd, STDOUT_FILENO);
    int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (lf >= 0) dup2(lf, STDERR_FILENO);
    argvec a = { .n = 0 };
    av_words(&a, "eval --think --split test --model");
    av_add(&a, model);
    av_add(&a, "--data");
    av_add(&a, r->data);
    av_addf(&a, "--max-reasoning=%d", r->pr->max_new);
    if (limit > 0) av_addf(&a, "--limit=%ld", limit);
    av_addf(&a, "--shard=%d/%d", shard, shards);
    av_add(&a, "--json");
    av_add(&a, json);
    optind = 0;
    int rc = cmd_eval(a.n, a.v);
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
}

static int wait_children(pid_t *pid, int n)
{
    int rc = EXIT_OK;
    for (int i = 0; i < n; i++) {
        int status;
        if (pid[i] <= 0) {
            rc = EXIT_RUNTIME;
            continue;
        }
        while (waitpid(pid[i], &status, 0) < 0) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = EXIT_RUNTIME;
    }
    return rc;
}

static void show_log(const char *path)
{
    char *buf;
    size_t len;
    if (read_file(path, &buf, &len)) return;
    fprintf(stderr, "%s", buf);
    free(buf);
}

/* Times `steps` steps of budgeted stage k from model `from` in the scratch
 * folder out (removed after): rt gets the seconds per step, the fixed cost
 * of a run and the steps per epoch.  0, or -1 when the run or its log failed. */
static int time_steps(recipe *r, int k, const char *from, const char *out, long steps, recipe_rate *rt)
{
    argvec a = { .n = 0 };
    train_args(r, k, from, out, steps, &a);
    av_add(&a, "--quiet");
    double t0 = now_seconds();
    int rc = run_cmd(r, cmd_train, &a);
    double wall = now_seconds() - t0;
    av_free(&a);
    char *logp = path_join(out, "train_log.jsonl");
    double sum = 0;
    int bad = rc != EXIT_OK || read_train_log(logp, k, r->pr, rt, &sum);
    free(logp);
    rm_tree(out);
    if (bad) return -1;
    rt->overhead_seconds = wall - sum > 0 ? wall - sum : 0;
    return 0;
}

static int stage_calibrate(recipe *r, cJSON *marker)
{
    const char *dir = r->dir[RECIPE_CALIBRATE];
    rm_tree(dir);
    if (make_dirs(dir)) return runtime_error("recipe", SIDR_ERR_IO);
    say(r, "stage calibrate: timing %d steps of align and reason, %d of rl and %d eval row(s) on %s",
        r->pr->calib_steps_sft, r->pr->calib_steps_rl, r->pr->calib_rows, r->dir[RECIPE_MODEL]);
    cJSON *rates = cJSON_CreateObject();
    for (int k = PLAN_ALIGN; k <= PLAN_RL && !interrupted; k++) {
        const char *name = recipe_stage_name(recipe_plan_stage(k));
        char *out = path_join(dir, name);
        long steps = k == PLAN_RL ? r->pr->calib_steps_rl : r->pr->calib_steps_sft;
        int rc = time_steps(r, k, r->dir[RECIPE_MODEL], out, steps, &r->rate[k]);
        free(out);
        if (interrupted) break;
        if (rc) {
            cJSON_Delete(rates);
            fprintf(stderr, "sidr recipe: the calibration of %s failed\n", name);
            return EXIT_RUNTIME;
        }
        recipe_rate *rt = &r->rate[k];
        rt->max_epochs = k == PLAN_ALIGN ? r->pr->align_epochs : k == PLAN_REASON ? r->pr->reason_epochs : r->pr->rl_epochs;
        fprintf(stderr, "sidr recipe: %s %.3f s/step, %.1f s fixed per run, %ld steps per epoch\n", name,
                rt->seconds_per_step, rt->overhead_seconds, rt->steps_per_epoch);
    }
    if (interrupted) {
        cJSON_Delete(rates);
        return EXIT_RUNTIME;
    }
    /* eval: one single-threaded shard of a few rows */
    char *json = path_join(dir, "eval.json"), *log = path_join(dir, "eval.log");
    double t0 = now_seconds();
    pid_t pid = eval_child(r, r->dir[RECIPE_MODEL], r->pr->calib_rows, 0, 1, json, log);
    int rc = wait_children(&pid, 1);
    double wall = now_seconds() - t0;
    cJSON *ej = rc == EXIT_OK ? read_json(json) : NULL;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(ej, "metrics");
    double rows = jnum(mt, "rows", 0), ew = jnum(mt, "wall_seconds", 0);
    cJSON_Delete(ej);
    if (rows <= 0 && !interrupted) {
        show_log(log);
        fprintf(stderr, "sidr recipe: the calibration of eval failed\n");
        rc = EXIT_RUNTIME;
    }
    free(json);
    free(log);
    if (rc != EXIT_OK || interrupted) {
        cJSON_Delete(rates);
        return EXIT_RUNTIME;
    }
    recipe_rate *re = &r->rate[PLAN_EVAL];
    double per_row = ew / rows > 0 ? ew / rows : 1e-6;
    re->seconds_per_step = per_row / r->shards; /* the shards run side by side */
    re->overhead_seconds = wall - ew > 0 ? wall - ew : 0;
    re->steps_per_epoch = r->n_test > 0 ? r->n_test : 1;
    re->max_epochs = 1;
    fprintf(stderr, "sidr recipe: eval %.3f s/row on one thread, %.1f s fixed per run\n", per_row, re->overhead_seconds);
    for (int k = 0; k < PLAN_COUNT; k++) {
        cJSON *x = cJSON_AddObjectToObject(rates, recipe_stage_name(recipe_plan_stage(k)));
        cJSON_AddNumberToObject(x, "seconds_per_step", r->rate[k].seconds_per_step);
        cJSON_AddNumberToObject(x, "overhead_seconds", r->rate[k].overhead_seconds);
        cJSON_AddNumberToObject(x, "steps_per_epoch", (double)r->rate[k].steps_per_epoch);
        cJSON_AddNumberToObject(x, "max_epochs", r->rate[k].max_epochs);
    }
    cJSON_AddItemToObject(marker, "rates", rates);
    cJSON_AddNumberToObject(marker, "eval_shards", r->shards);
    r->measured = 1;
    return EXIT_OK;
}

/* The rates of an earlier calibration (its marker). */
static void load_rates(recipe *r)
{
    cJSON *m = read_marker(r, RECIPE_CALIBRATE);
    const cJSON *rates = cJSON_GetObjectItemCaseSensitive(m, "rates");
    if (!rates) {
        cJSON_Delete(m);
        return;
    }
    for (int k = 0; k < PLAN_COUNT; k++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(rates, recipe_stage_name(recipe_plan_stage(k)));
        recipe_rate *rt = &r->rate[k];
        rt->seconds_per_step = jnum(x, "seconds_per_step", 0);
        rt->overhead_seconds = jnum(x, "overhead_seconds", 0);
        rt->steps_per_epoch = (long)jnum(x, "steps_per_epoch", 0);
        rt->max_epochs = jnum(x, "max_epochs", 1);
    }
    /* eval was timed on one thread: rescale to this run's shards */
    double shards = jnum(m, "eval_shards", r->shards);
    if (shards > 0) r->rate[PLAN_EVAL].seconds_per_step *= shards / r->shards;
    r->measured = 1;
    cJSON_Delete(m);
}

static int stage_train(recipe *r, int k, cJSON *marker)
{
    recipe_stage st = recipe_plan_stage(k);
    const char *out = r->dir[st];
    const char *from = st == RECIPE_ALIGN ? r->dir[RECIPE_MODEL] : r->dir[st - 1];
    long steps = r->plan[k].steps;
    int resume = 0;
    char *sf = stage_file(r, st, STEPS_FILE);
    if (has_checkpoint(out)) {
        cJSON *j = read_json(sf);
        long prev = (long)jnum(j, "steps", -1);
        cJSON_Delete(j);
        if (prev > 0) {
            steps = prev;
            resume = 1;
        }
    }
    if (!resume) {
        rm_tree(out);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "steps", (double)steps);
        sidr_status s = make_dirs(out);
        if (!s) s = write_json_file(sf, j);
        cJSON_Delete(j);
        if (s) {
            free(sf);
            return runtime_error("recipe", s);
        }
    }
    free(sf);
    const recipe_rate *rt = &r->rate[k];
    say(r, "stage %s: %ld steps (%.2f epochs) from %s, %.1f min of the budget%s", recipe_stage_name(st), steps,
        rt->steps_per_epoch > 0 ? (double)steps / (double)rt->steps_per_epoch : 0, from, r->plan[k].seconds / 60,
        resume ? "; resuming the interrupted run" : "");
    argvec a = { .n = 0 };
    train_args(r, k, from, out, steps, &a);
    if (resume) av_add(&a, "--resume");
    if (r->quiet) av_add(&a, "--quiet");
    int rc = run_cmd(r, cmd_train, &a);
    av_free(&a);
    cJSON_AddNumberToObject(marker, "steps", (double)steps);
    return rc;
}

static int stage_eval(recipe *r, cJSON *marker)
{
    const char *dir = r->dir[RECIPE_EVAL];
    long rows = r->plan[PLAN_EVAL].steps;
    if (rows <= 0 || rows > r->n_test) rows = r->n_test;
    long limit = rows < r->n_test ? rows : -1;
    int shards = r->shards < rows ? r->shards : (int)rows;
    if (shards < 1) shards = 1;
    rm_tree(dir);
    if (make_dirs(dir)) return runtime_error("recipe", SIDR_ERR_IO);
    say(r, "stage eval: %ld of %d test rows with --think, %d single-threaded shard%s, model %s", rows, r->n_test, shards,
        shards > 1 ? "s" : "", r->dir[RECIPE_RL]);
    pid_t pid[256];
    char *part[256], *log[256];
    for (int i = 0; i < shards; i++) {
        char leaf[64];
        snprintf(leaf, sizeof leaf, "part%d.json", i);
        part[i] = path_join(dir, leaf);
        snprintf(leaf, sizeof leaf, "part%d.log", i);
        log[i] = path_join(dir, leaf);
        pid[i] = eval_child(r, r->dir[RECIPE_RL], limit, i, shards, part[i], log[i]);
    }
    int rc = wait_children(pid, shards);
    if (rc != EXIT_OK && !interrupted) {
        for (int i = 0; i < shards; i++) show_log(log[i]);
        fprintf(stderr, "sidr recipe: an eval shard failed (logs in %s)\n", dir);
    }
    char *merged = path_join(dir, "eval.json");
    if (rc == EXIT_OK && !interrupted) {
        argvec a = { .n = 0 };
        av_words(&a, "eval-merge --json");
        av_add(&a, merged);
        for (int i = 0; i < shards; i++) av_add(&a, part[i]);
        rc = run_cmd(r, cmd_eval_merge, &a);
        av_free(&a);
    }
    if (rc == EXIT_OK && !interrupted) {
        cJSON *j = read_json(merged);
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "metrics");
        if (mt) cJSON_AddItemToObject(marker, "metrics", cJSON_Duplicate(mt, 1));
        cJSON_Delete(j);
        cJSON_AddNumberToObject(marker, "rows", (double)rows);
        cJSON_AddNumberToObject(marker, "shards", shards);
        for (int i = 0; i < shards; i++) {
            unlink(part[i]);
            unlink(log[i]);
        }
    }
    for (int i = 0; i < shards; i++) {
        free(part[i]);
        free(log[i]);
    }
    free(merged);
    return rc;
}

/* Before a budgeted stage: plan it for what the budget has left after the
 * stages before it (their recorded times), not for its share of the start. */
static void replan(recipe *r, int k)
{
    double spent = r->prep_seconds;
    for (int j = 0; j < k; j++) spent += r->seconds[recipe_plan_stage(j)];
    double left = r->budget_min * 60 - spent;
    if (left < 1) left = 1;
    long was = r->plan[k].steps;
    if (recipe_plan_rest(left, r->share, r->rate, k, &r->plan[k])) return;
    if (k > 0 && was != r->plan[k].steps)
        say(r, "stage %s: re-planned for the %.1f min the budget has left: %ld %s (the first plan had %ld)",
            recipe_stage_name(recipe_plan_stage(k)), left / 60, r->plan[k].steps, k == PLAN_EVAL ? "rows" : "steps",
            was);
}

/* Before rl starts afresh: the calibration timed rl on the untrained model,
 * whose rollouts run to max_new tokens, while a Stage-2 model closes its
 * reasoning far sooner; a few steps from the Stage-2 model give the rate rl
 * will really run at.  The time it takes counts as preparation. */
static void retime_rl(recipe *r)
{
    if (has_checkpoint(r->dir[RECIPE_RL]) || r->rate[PLAN_RL].seconds_per_step <= 0) return;
    char *out = path_join(r->dir[RECIPE_CALIBRATE], "rl-from-reason");
    recipe_rate rt = r->rate[PLAN_RL];
    long steps = r->pr->calib_steps_rl + 2;
    double t0 = now_seconds();
    if (!time_steps(r, PLAN_RL, r->dir[RECIPE_REASON], out, steps, &rt) && !interrupted) {
        say(r, "stage rl: %ld steps from the Stage-2 model ran at %.3f s/step (the plan had %.3f)", steps,
            rt.seconds_per_step, r->rate[PLAN_RL].seconds_per_step);
        r->rate[PLAN_RL].seconds_per_step = rt.seconds_per_step;
    }
    r->prep_seconds += now_seconds() - t0;
    free(out);
}

/* After a training stage that ran here: its own log says what a step really
 * cost; the later stages' rates follow the same ratio. */
static void observe(recipe *r, int k)
{
    char *logp = stage_file(r, recipe_plan_stage(k), "train_log.jsonl");
    recipe_rate seen = r->rate[k];
    double sum = 0;
    if (!read_train_log(logp, k, r->pr, &seen, &sum)) {
        double planned = r->rate[k].seconds_per_step, ratio = recipe_rates_rescale(r->rate, k, seen.seconds_per_step);
        if (ratio < 0.9 || ratio > 1.1)
            say(r, "stage %s ran at %.3f s/step where the calibration said %.3f: the later stages' rates are scaled by "
                   "%.2f", recipe_stage_name(recipe_plan_stage(k)), seen.seconds_per_step, planned, ratio);
    }
    free(logp);
}

static int run_stage(recipe *r, int st)
{
    if (st == RECIPE_SIDS && !r->need_sids) return EXIT_OK;
    const char *name = recipe_stage_name((recipe_stage)st);
    if (r->done_before[st]) {
        say(r, "stage %s: complete in %s, skipped (--from %s runs it again)", name, r->dir[st], name);
        return EXIT_OK;
    }
    cJSON *m = cJSON_CreateObject();
    double t0 = now_seconds();
    int rc;
    switch (st) {
    case RECIPE_SIDS: rc = stage_sids(r, m); break;
    case RECIPE_TOKENIZER: rc = stage_tokenizer(r, m); break;
    case RECIPE_MODEL: rc = stage_model(r, m); break;
    case RECIPE_CALIBRATE: rc = stage_calibrate(r, m); break;
    case RECIPE_ALIGN: rc = stage_train(r, PLAN_ALIGN, m); break;
    case RECIPE_REASON: rc = stage_train(r, PLAN_REASON, m); break;
    case RECIPE_RL: rc = stage_train(r, PLAN_RL, m); break;
    default: rc = stage_eval(r, m); break;
    }
    r->seconds[st] = now_seconds() - t0;
    r->ran[st] = 1;
    if (interrupted) {
        cJSON_Delete(m);
        fprintf(stderr, "sidr recipe: interrupted in stage %s; run the same command again to resume\n", name);
        return EXIT_RUNTIME;
    }
    if (rc != EXIT_OK) {
        cJSON_Delete(m);
        fprintf(stderr, "sidr recipe: stage %s failed\n", name);
        return rc;
    }
    sidr_status s = write_marker(r, st, m);
    if (s) return runtime_error("recipe", s);
    say(r, "stage %s: done in %.1f s", name, r->seconds[st]);
    return EXIT_OK;
}

static void prep_seconds(recipe *r)
{
    r->prep_seconds = 0;
    for (int st = RECIPE_SIDS; st <= RECIPE_CALIBRATE; st++) r->prep_seconds += r->seconds[st];
}

static void print_result(const recipe *r, double wall)
{
    cJSON *m = read_marker(r, RECIPE_EVAL);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(m, "metrics");
    char *eval = path_join(r->dir[RECIPE_EVAL], "eval.json");
    if (r->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "result");
        cJSON_AddStringToObject(o, "model", r->dir[RECIPE_RL]);
        cJSON_AddStringToObject(o, "data", r->data);
        cJSON_AddStringToObject(o, "eval", eval);
        cJSON_AddNumberToObject(o, "wall_seconds", wall);
        cJSON *a = cJSON_AddArrayToObject(o, "stages");
        for (int st = 0; st < RECIPE_STAGE_COUNT; st++) {
            if (st == RECIPE_SIDS && !r->need_sids) continue;
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", recipe_stage_name((recipe_stage)st));
            cJSON_AddNumberToObject(s, "seconds", r->seconds[st]);
            cJSON_AddBoolToObject(s, "skipped", !r->ran[st]);
            cJSON_AddItemToArray(a, s);
        }
        cJSON_AddItemToObject(o, "metrics", mt ? cJSON_Duplicate(mt, 1) : cJSON_CreateNull());
        print_json_line(o);
    } else {
        printf("sidr recipe: done in %.1f min; model %s, evaluation %s", wall / 60, r->dir[RECIPE_RL], eval);
        if (mt) printf(": HR@10 %.4f NDCG@10 %.4f over %.0f test rows", jnum(mt, "HR@10", 0), jnum(mt, "NDCG@10", 0),
                       jnum(mt, "rows", 0));
        printf("\n");
        for (int st = 0; st < RECIPE_STAGE_COUNT; st++) {
            if (st == RECIPE_SIDS && !r->need_sids) continue;
            printf("  %-10s %8.1f s%s\n", recipe_stage_name((recipe_stage)st), r->seconds[st], r->ran[st] ? "" : "  (earlier run)");
        }
    }
    free(eval);
    cJSON_Delete(m);
}

/* ---- the command ---------------------------------------------------------------- */

static void help(void)
{
    printf("usage: sidr recipe --data DIR --out WORK [--budget MINUTES] [--seed S] [--preset tiny|small]\n"
           "                   [--from STAGE] [--threads N] [--shares LIST] [--dry-run] [--json] [--quiet]\n"
           "Trains SIDReasoner end to end on a dataset folder within a time budget: sids (only when\n"
           "the dataset has no SIDs; the new dataset goes to WORK/data), tokenizer, model (random\n"
           "weights plus the SID tokens), calibrate (a few timed steps of each stage), align, reason,\n"
           "rl, eval (--think on the test split, one single-threaded shard per core, merged). Each\n"
           "stage writes WORK/<stage>/ and, when complete, WORK/<stage>/" MARKER "; running the same\n"
           "command again skips complete stages and resumes an interrupted training stage.\n\n"
           "  --data DIR        MiniOneRec CSVs (with or without a train split: without one, training\n"
           "                    rows come from the train-period histories, --derive-train=period) or\n"
           "                    RecBole atomic files\n"
           "  --out WORK        the work folder\n"
           "  --budget MINUTES  wall-time budget (default 90). Preparation and calibration are paid\n"
           "                    first; the rest is shared: align 45%%, reason 30%%, rl 10%%, eval 15%%\n"
           "  --shares LIST     other shares, e.g. align=50,reason=25,rl=10,eval=15 (sum 100)\n"
           "  --seed S          seed of every stage (default 42)\n"
           "  --preset P        tiny (default: the 'model init --preset tiny' shape, 3000-token BPE)\n"
           "                    or small (hidden 512, 8 layers, 6000-token BPE)\n"
           "  --from STAGE      run STAGE and the later stages again (sids, tokenizer, model,\n"
           "                    calibrate, align, reason, rl, eval)\n"
           "  --threads N       worker threads and eval shards (default: all cores)\n"
           "  --dry-run         print the plan and stop; steps are known when WORK holds a calibration\n"
           "  --json            the plan, and at the end the stage times and metrics, as JSON lines\n"
           "  --quiet           no per-step progress from the stages\n"
           "Steps come from measured throughput: seconds = share x (budget - preparation), steps =\n"
           "(seconds - the run's fixed cost) / seconds per step, capped at 4 epochs (align), 3 (reason),\n"
           "1 (rl) and the whole test split (eval). Ctrl-C stops cleanly; run again to resume.\n");
}

enum { O_DATA = 256, O_OUT, O_BUDGET, O_SEED, O_PRESET, O_FROM, O_THREADS, O_DRY, O_JSON, O_QUIET, O_SHARES, O_HELP };

static const struct option opts[] = {
    { "data", required_argument, NULL, O_DATA },
    { "out", required_argument, NULL, O_OUT },
    { "budget", required_argument, NULL, O_BUDGET },
    { "seed", required_argument, NULL, O_SEED },
    { "preset", required_argument, NULL, O_PRESET },
    { "from", required_argument, NULL, O_FROM },
    { "threads", required_argument, NULL, O_THREADS },
    { "dry-run", no_argument, NULL, O_DRY },
    { "json", no_argument, NULL, O_JSON },
    { "quiet", no_argument, NULL, O_QUIET },
    { "shares", required_argument, NULL, O_SHARES },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

int cmd_recipe(int argc, char **argv)
{
    recipe r;
    memset(&r, 0, sizeof r);
    r.budget_min = 90;
    r.seed = 42;
    r.from = -1;
    r.pr = &presets[0];
    r.json_stdout = -1;
    recipe_shares_default(r.share);
    const char *data = NULL;
    char err[160];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: data = optarg; break;
        case O_OUT: r.work = optarg; break;
        case O_BUDGET:
            if (parse_float(optarg, 0, 1e7, &r.budget_min) || !(r.budget_min > 0))
                return usage_error("recipe", "--budget expects minutes > 0 (got '%s')", optarg);
            break;
        case O_SEED: if (parse_int(optarg, 0, __LONG_MAX__, &r.seed)) return usage_error("recipe", "--seed expects an integer >= 0"); break;
        case O_PRESET: {
            int found = -1;
            for (int i = 0; i < N_PRESETS; i++)
                if (!strcmp(optarg, presets[i].name)) found = i;
            if (found < 0) return usage_error("recipe", "unknown preset '%s' (expected tiny or small)", optarg);
            r.pr = &presets[found];
            break;
        }
        case O_FROM:
            if ((r.from = recipe_stage_parse(optarg)) < 0)
                return usage_error("recipe", "--from expects a stage: sids, tokenizer, model, calibrate, align, reason, "
                                   "rl or eval (got '%s')", optarg);
            break;
        case O_THREADS: if (parse_int(optarg, 1, 256, &r.threads)) return usage_error("recipe", "--threads expects an integer in [1, 256]"); break;
        case O_SHARES:
            if (recipe_shares_parse(optarg, r.share, err, (int)sizeof err)) return usage_error("recipe", "--shares: %s", err);
            break;
        case O_DRY: r.dry_run = 1; break;
        case O_JSON: r.json = 1; break;
        case O_QUIET: r.quiet = 1; break;
        case O_HELP: help(); return EXIT_OK;
        default: return usage_error("recipe", "unknown option");
        }
    }
    if (optind != argc) return usage_error("recipe", "unexpected argument '%s'", argv[optind]);
    if (!data) return usage_error("recipe", "--data DIR is required (the dataset to train on)");
    if (!r.work) return usage_error("recipe", "--out WORK is required (the work folder)");
    if (!(r.data_in = resolve_data_dir("recipe", data))) return EXIT_USAGE;
    if (r.threads > 0) sidr_threads_set((int)r.threads);
    r.shards = r.threads > 0 ? (int)r.threads : available_cores();

    static const char *const leaf[RECIPE_STAGE_COUNT] = { "sids", "tokenizer", "model", "calibrate",
                                                          "align", "reason", "rl", "eval" };
    for (int st = 0; st < RECIPE_STAGE_COUNT; st++) r.dir[st] = path_join(r.work, leaf[st]);
    char *work_data = path_join(r.work, "data");
    int rc = EXIT_OK;
    if (probe_data(&r, r.data_in, 0)) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    r.need_sids = r.n_sid_items == 0;
    r.data = xstrdup(r.need_sids ? work_data : r.data_in);
    if (r.n_test == 0) {
        rc = runtime_error("recipe", sidr_fail(SIDR_ERR_MISSING, "%s: the dataset has no test rows to evaluate on",
                                               r.data_in));
        goto out;
    }
    if (r.from >= 0 && !r.dry_run) {
        for (int st = r.from; st < RECIPE_STAGE_COUNT; st++) rm_tree(r.dir[st]);
        if (r.from <= RECIPE_SIDS) rm_tree(work_data);
    }
    for (int st = 0; st < RECIPE_STAGE_COUNT; st++) {
        if (r.from >= 0 && st >= r.from) continue;
        cJSON *m = read_marker(&r, st);
        if (m) {
            r.done_before[st] = 1;
            r.seconds[st] = jnum(m, "seconds", 0);
        }
        cJSON_Delete(m);
    }
    if (r.done_before[RECIPE_CALIBRATE]) load_rates(&r);
    prep_seconds(&r);
    compute_plan(&r);
    if (r.dry_run) {
        if (r.json) print_json_line(plan_json(&r));
        else print_plan_text(&r);
        goto out;
    }

    if (make_dirs(r.work)) {
        rc = runtime_error("recipe", SIDR_ERR_IO);
        goto out;
    }
    interrupted = 0;
    install_interrupt_handler();
    double t0 = now_seconds();
    for (int st = RECIPE_SIDS; st <= RECIPE_CALIBRATE && rc == EXIT_OK; st++) rc = run_stage(&r, st);
    if (rc != EXIT_OK) goto out;
    prep_seconds(&r);
    compute_plan(&r);
    if (r.json) print_json_line(plan_json(&r));
    else print_plan_text(&r);
    for (int st = RECIPE_ALIGN; st < RECIPE_STAGE_COUNT && rc == EXIT_OK; st++) {
        int k = st - RECIPE_ALIGN;
        if (st == RECIPE_RL && !r.done_before[st]) retime_rl(&r);
        if (interrupted) {
            fprintf(stderr, "sidr recipe: interrupted before stage %s; run the same command again to resume\n",
                    recipe_stage_name((recipe_stage)st));
            rc = EXIT_RUNTIME;
            break;
        }
        if (!r.done_before[st]) replan(&r, k);
        rc = run_stage(&r, st);
        if (rc == EXIT_OK && st != RECIPE_EVAL && !r.done_before[st]) observe(&r, k);
    }
    if (rc == EXIT_OK) print_result(&r, now_seconds() - t0);

out:
    for (int st = 0; st < RECIPE_STAGE_COUNT; st++) free(r.dir[st]);
    free(work_data);
    free(r.data);
    return rc;
}

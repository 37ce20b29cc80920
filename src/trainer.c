#define _POSIX_C_SOURCE 200809L
#include "trainer.h"
#include "session.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "align_report.h"
#include "csv.h"
#include "grpo.h"
#include "prompts.h"
#include "sampler.h"
#include "threads.h"
#include "util.h"

const char *train_stage_name(train_stage s)
{
    return s == STAGE_ALIGN ? "align" : s == STAGE_REASON ? "reason" : "rl";
}

void train_opts_default(train_opts *o, train_stage stage)
{
    memset(o, 0, sizeof *o);
    o->stage = stage;
    o->task_mask = 0xFE;  /* tasks 1..7; 8 only with a general file */
    for (int k = 0; k < TASK_COUNT; k++) o->task_weight[k] = 1.0;
    o->answer_weight = 1.0;
    o->epochs = 1;
    o->batch = stage == STAGE_RL ? 16 : 8;
    o->grad_accum = 1;
    o->lr = stage == STAGE_ALIGN ? 1e-4 : stage == STAGE_REASON ? 5e-5 : 1e-6;
    o->weight_decay = 0;
    o->clip = 1.0;
    o->warmup = -1;
    o->warmup_ratio = stage == STAGE_RL ? 0 : 0.03;
    o->schedule = stage == STAGE_RL ? SIDR_LR_CONSTANT : SIDR_LR_COSINE;
    o->seed = 42;
    o->max_len = 1024;
    o->eval_every = 0;
    o->save_every = 200;
    o->save_total_limit = 2;
    o->eval_rows = 256;
    o->eval_gen = 32;
    o->dtype = SIDR_BF16;
    o->max_new = 1024;
    o->prompts = 16;
    o->group = 16;
    o->kl_coef = 0.001;
    o->clip_eps = 0.2;
    o->ppo_epochs = 1;
    o->temperature = 1.0;
}

/* ---- random streams (splitmix64) ------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t train_rng_seed(uint64_t seed, uint64_t a, uint64_t b)
{
    return mix64(mix64(mix64(seed + 0x9E3779B97F4A7C15ULL) ^ (a + 0x632BE59BD9B4E019ULL)) ^ (b + 0x85157AF5ULL));
}

uint64_t train_rng_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ULL;
    return mix64(*s);
}

void train_shuffle(int *v, int n, uint64_t *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(train_rng_next(rng) % (uint64_t)(i + 1));
        int x = v[i];
        v[i] = v[j];
        v[j] = x;
    }
}

char *train_utf8_copy(const char *s, size_t n)
{
    char *out = xmalloc(3 * n + 1);
    size_t k = 0;
    while (n) {
        size_t bad = sidr_utf8_invalid_at(s, n);
        size_t good = bad == (size_t)-1 ? n : bad;
        memcpy(out + k, s, good);
        k += good;
        if (bad == (size_t)-1) break;
        memcpy(out + k, "\xEF\xBF\xBD", 3);
        k += 3;
        s += good + 1;
        n -= good + 1;
    }
    out[k] = 0;
    return out;
}

int train_eval_rows(int split_n, int n, int *rows)
{
    if (n > split_n) n = split_n;
    for (int i = 0; i < n; i++) rows[i] = (int)((long long)i * split_n / n);
    return n;
}

/* ---- files ------------------------------------------------------------------------ */



static sidr_status write_text_atomic(const char *path, const char *text)
{
    return write_file_atomic(path, text, strlen(text));
}

/* Steps of the complete checkpoints in out (sorted ascending); returns the count. */
static int list_checkpoints(const char *out, long **steps)
{
    *steps = NULL;
    DIR *d = opendir(out);
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *p = e->d_name;
        if (strncmp(p, "checkpoint-", 11)) continue;
        char *end;
        long k = strtol(p + 11, &end, 10);
        if (end == p + 11 || *end || k < 0) continue;
        char *dir = path_join(out, p), *st = path_join(dir, "trainer_state.json");
        int ok = file_exists(st);
        free(dir);
        free(st);
        if (!ok) continue;
        if (n == cap) *steps = xrealloc(*steps, (size_t)(cap = cap ? 2 * cap : 16) * sizeof(long));
        (*steps)[n++] = k;
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && (*steps)[j - 1] > (*steps)[j]; j--) {
            long x = (*steps)[j];
            (*steps)[j] = (*steps)[j - 1];
            (*steps)[j - 1] = x;
        }
    return n;
}

static char *checkpoint_dir(const trainer *t, long step)
{
    char name[64];
    snprintf(name, sizeof name, "checkpoint-%ld", step);
    return path_join(t->o.out_dir, name);
}

/* ---- opening a run ------------------------------------------------------------------ */

static int exists_cb(void *ctx, const char *sid)
{
    return sidr_dataset_sid((const sidr_dataset *)ctx, sid) != NULL;
}

sidr_status trainer_open(trainer *t, const train_opts *o)
{
    memset(t, 0, sizeof *t);
    t->o = *o;
    t->st.best_step = -1;
    t->st.best_metric = NAN;
    if (o->threads > 0) sidr_threads_set(o->threads);
    sidr_dataset_opts dopt;
    sidr_dataset_opts_default(&dopt);
    dopt.derive_train = o->derive;
    dopt.category = o->category;
    sidr_status s = sidr_dataset_load(&t->ds, o->data_dir, &dopt);
    if (s) return s;
    /* what the loader skipped or doubted (bad rows, shared SIDs), as the
     * other commands say it: training on silently dropped rows misleads */
    session_print_warnings(&t->ds, "train");
    if (t->ds.sid_levels <= 0 || t->ds.n_items_with_sid == 0) {
        s = sidr_fail(SIDR_ERR_MISSING, "%s: the dataset's items have no SIDs (run 'sidr sids build' first)", o->data_dir);
        goto fail;
    }
    char *tp = path_join(o->model_dir, "tokenizer.json");
    s = sidr_tokenizer_load(&t->tok, tp);
    free(tp);
    if (s) goto fail;
    if ((s = sidr_params_load(&t->params, o->model_dir))) goto fail;
    if (sidr_tokenizer_n_vocab(t->tok) > t->params.cfg.vocab_size) {
        s = sidr_fail(SIDR_ERR_SHAPE, "%s: the tokenizer has %d tokens but the model's vocabulary is %d (resize it with "
                      "'sidr model add-sids')", o->model_dir, sidr_tokenizer_n_vocab(t->tok), t->params.cfg.vocab_size);
        goto fail;
    }
    if ((s = catalog_from_dataset(&t->cat, &t->ds, t->tok))) goto fail;
    t->have_cat = 1;
    if ((s = task_enrichment_load(&t->enr, &t->ds))) goto fail;
    t->start_model = xstrdup(o->model_dir);
    t->end_id = sidr_tokenizer_find(t->tok, "<|im_end|>");
    t->eos_id = sidr_tokenizer_find(t->tok, "<|endoftext|>");
    t->think_close_id = sidr_tokenizer_find(t->tok, "</think>");
    t->newline_id = sidr_tokenizer_find(t->tok, "\n");
    if (t->end_id < 0 && t->eos_id < 0) {
        s = sidr_fail(SIDR_ERR_MISSING, "%s: the tokenizer has neither <|im_end|> nor <|endoftext|>", o->model_dir);
        goto fail;
    }
    return SIDR_OK;
fail:;
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", sidr_last_error());
    trainer_close(t);
    return sidr_fail(s, "%s", msg);
}

void trainer_close(trainer *t)
{
    if (t->log) fclose(t->log);
    free(t->log_path);
    sidr_train_free(t->tr);
    if (t->have_opt) sidr_adamw_free(&t->opt);
    sidr_params_free(&t->params);
    task_enrichment_free(&t->enr, &t->ds);
    if (t->have_cat) catalog_free(&t->cat);
    sidr_tokenizer_free(t->tok);
    sidr_dataset_free(&t->ds);
    free(t->start_model);
    memset(t, 0, sizeof *t);
}

int trainer_should_stop(const trainer *t)
{
    return t->o.stop && *t->o.stop;
}

sidr_status trainer_setup(trainer *t, int max_B, int max_T)
{
    sidr_train_opts to = { .max_B = max_B, .max_T = max_T };
    sidr_status s = sidr_train_new(&t->tr, &t->params, &to);
    if (s) return s;
    sidr_adamw_opts ao;
    sidr_adamw_defaults(&ao);
    ao.lr = t->o.lr;
    ao.weight_decay = t->o.weight_decay;
    ao.clip_norm = t->o.clip;
    ao.schedule = t->o.schedule;
    ao.total_steps = t->total_steps * (t->o.stage == STAGE_RL ? t->o.ppo_epochs : 1);
    ao.warmup_steps = t->o.warmup >= 0 ? t->o.warmup : (long)ceil(t->o.warmup_ratio * (double)ao.total_steps);
    if ((s = sidr_adamw_init(&t->opt, &t->params, &ao))) return s;
    t->have_opt = 1;
    return SIDR_OK;
}

/* ---- tokenising samples --------------------------------------------------------------- */

typedef struct {
    trainer *t;
    const sample_spec *specs;
    const task_general *general;
    task_tokens *out;
    signed char *status;      /* 0 ok, 1 could not be built, 2 tokenizer error */
} tok_job;

static sidr_status tokenize_one(trainer *t, const sample_spec *sp, const task_general *general, task_tokens *out, int *built)
{
    task_text tt;
    *built = 1;
    if (sp->kind == TASK_GENERAL) {
        task_general_get(general, sp->item, &tt);
    } else if (task_build(&tt, (task_kind)sp->kind, &t->ds, &t->enr, (sidr_split_id)sp->split, sp->row, sp->item,
                          sp->variant)) {
        *built = 0;
        memset(out, 0, sizeof *out);
        return SIDR_OK;
    }
    sidr_status s = task_tokenize(&tt, t->tok, out);
    task_text_free(&tt);
    return s;
}

static void tok_range(void *ctx, int b, int e, int thread)
{
    (void)thread;
    tok_job *j = ctx;
    for (int i = b; i < e; i++) {
        int built;
        sidr_status s = tokenize_one(j->t, &j->specs[i], j->general, &j->out[i], &built);
        j->status[i] = s ? 2 : built ? 0 : 1;
    }
}

void seq_set_free(seq_set *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i].ids);
    free(s->v);
    memset(s, 0, sizeof *s);
}

sidr_status train_tokenize(trainer *t, const sample_spec *specs, int n, const task_general *general, seq_set *out)
{
    memset(out, 0, sizeof *out);
    tok_job j = { t, specs, general, xcalloc((size_t)(n ? n : 1), sizeof(task_tokens)), xcalloc((size_t)(n ? n : 1), 1) };
    sidr_parallel_for(n, tok_range, &j);
    for (int i = 0; i < n; i++)
        if (j.status[i] == 2) {
            /* again on this thread, for the message */
            task_tokens tk;
            int built;
            sidr_status s = tokenize_one(t, &specs[i], general, &tk, &built);
            if (!s) s = sidr_fail(SIDR_ERR_FORMAT, "sample %d (%s)", i, task_name(specs[i].kind));
            else s = sidr_fail_context(s, "task %s, %s row %d", task_name(specs[i].kind), sidr_split_name(specs[i].split),
                                       specs[i].row);
            for (int k = 0; k < n; k++) task_tokens_free(&j.out[k]);
            free(j.out);
            free(j.status);
            return s;
        }
    out->v = xmalloc((size_t)(n ? n : 1) * sizeof *out->v);
    for (int i = 0; i < n; i++) {
        task_tokens *tk = &j.out[i];
        int kind = specs[i].kind;
        if (j.status[i] || tk->hi <= tk->lo) {
            out->skipped[kind]++;
        } else if (tk->n > t->o.max_len) {
            out->dropped_long[kind]++;
        } else {
            train_seq *q = &out->v[out->n++];
            q->ids = tk->ids;
            tk->ids = NULL;
            q->n = tk->n;
            q->lo = tk->lo;
            q->hi = tk->hi;
            q->ans = q->n;
            if (kind == TASK_REASONING && t->think_close_id >= 0)
                for (int p = q->hi - 1; p >= q->lo; p--)
                    if (q->ids[p] == t->think_close_id) {
                        q->ans = p + 1;
                        break;
                    }
            if (kind == TASK_REASONING && (specs[i].variant & TASK_VARIANT_HIDDEN_HISTORY)) {
                /* nothing before the answer can be predicted without the history */
                if (q->ans >= q->hi) {
                    free(q->ids);
                    out->n--;
                    out->skipped[kind]++;
                    task_tokens_free(tk);
                    continue;
                }
                q->lo = q->ans;
                out->hidden_history++;
            }
            q->kind = kind;
            q->row = specs[i].kind == TASK_TITLE_TO_SID_ITEM || specs[i].kind == TASK_ITEM_NARRATIVE ||
                             specs[i].kind == TASK_GENERAL ? -1 : specs[i].row;
            out->per_kind[kind]++;
            out->tokens += q->n;
        }
        task_tokens_free(tk);
    }
    free(j.out);
    free(j.status);
    return SIDR_OK;
}

/* ---- trainer state ------------------------------------------------------------------------- */

static cJSON *state_json(const trainer *t, double epoch_progress)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stage", train_stage_name(t->o.stage));
    cJSON_AddNumberToObject(o, "global_step", (double)t->st.step);
    cJSON_AddNumberToObject(o, "max_steps", (double)t->total_steps);
    cJSON_AddNumberToObject(o, "epoch", epoch_progress);
    if (isfinite(t->st.best_metric)) cJSON_AddNumberToObject(o, "best_metric", t->st.best_metric);
    else cJSON_AddNullToObject(o, "best_metric");
    if (t->st.best_step >= 0) {
        char *b = path_join(t->o.out_dir, "best");
        cJSON_AddStringToObject(o, "best_model_checkpoint", b);
        free(b);
    } else {
        cJSON_AddNullToObject(o, "best_model_checkpoint");
    }
    cJSON *x = cJSON_AddObjectToObject(o, "sidr");
    cJSON_AddNumberToObject(x, "epoch_index", t->st.epoch);
    cJSON_AddNumberToObject(x, "epoch_position", (double)t->st.pos);
    cJSON_AddNumberToObject(x, "best_step", (double)t->st.best_step);
    cJSON_AddNumberToObject(x, "bad_evals", t->st.bad_evals);
    cJSON_AddNumberToObject(x, "tokens_seen", (double)t->st.tokens_seen);
    cJSON_AddNumberToObject(x, "train_seconds", t->st.train_seconds);
    cJSON_AddBoolToObject(x, "stopped_early", t->st.stopped_early);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->o.seed);
    cJSON_AddStringToObject(x, "seed", seed);   /* a string: 64-bit seeds do not fit a double */
    cJSON_AddStringToObject(x, "start_model", t->start_model);
    cJSON_AddStringToObject(x, "data", t->o.data_dir);
    cJSON_AddNumberToObject(x, "batch", t->o.batch);
    cJSON_AddNumberToObject(x, "grad_accum", t->o.grad_accum);
    cJSON_AddNumberToObject(x, "max_len", t->o.max_len);
    cJSON_AddNumberToObject(x, "task_mask", t->o.task_mask);
    if (t->o.stage == STAGE_ALIGN) {
        cJSON *w = cJSON_AddObjectToObject(x, "task_weights");
        for (int k = 1; k < TASK_COUNT; k++)
            if (t->o.task_mask & (1u << k)) cJSON_AddNumberToObject(w, task_name(k), t->o.task_weight[k]);
    }
    cJSON_AddNumberToObject(x, "derive_train", t->o.derive);
    if (t->o.stage == STAGE_RL) {
        cJSON_AddNumberToObject(x, "prompts", t->o.prompts);
        cJSON_AddNumberToObject(x, "group", t->o.group);
        cJSON_AddNumberToObject(x, "max_new", t->o.max_new);
    }
    return o;
}

static sidr_status write_state(const trainer *t, const char *dir)
{
    double ep = (double)t->st.epoch;
    if (t->steps_per_epoch > 0) ep = (double)t->st.step / (double)t->steps_per_epoch;
    cJSON *o = state_json(t, ep);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = 0;
    char *p = path_join(dir, "trainer_state.json");
    sidr_status s = write_text_atomic(p, text);
    free(p);
    free(text);
    return s;
}

static double jnum(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

/* Tests widen the windows a kill can hit: SIDR_TEST_SAVE_PAUSE_MS pauses
 * between the files and renames of every save. */
static void save_pause(void)
{
    const char *e = getenv("SIDR_TEST_SAVE_PAUSE_MS");
    int ms = e ? atoi(e) : 0;
    if (ms > 0 && ms < 10000) {
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* Makes a rename durable: the directory entry itself is flushed. */
static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static char *parent_dir(const char *path)
{
    char *p = xstrdup(path), *slash = strrchr(p, '/');
    if (!slash) {
        free(p);
        return xstrdup(".");
    }
    if (slash == p) slash[1] = 0;
    else *slash = 0;
    return p;
}

/* Puts the complete folder tmp in the place of final: final -> final.old,
 * tmp -> final, then final.old goes.  A kill at any point leaves either the
 * old folder, or the new one, or (between the two renames) final.old beside
 * final.tmp, which trainer_clean_leftovers puts back. */
static sidr_status swap_in_dir(const char *tmp, const char *final)
{
    char *old = xmalloc(strlen(final) + 8), *parent = parent_dir(final);
    sprintf(old, "%s.old", final);
    sidr_status s = SIDR_OK;
    fsync_dir(tmp);
    if (dir_exists(final)) {
        rm_tree(old);
        if (rename(final, old) != 0) s = sidr_fail(SIDR_ERR_IO, "%s: cannot rename: %s", final, strerror(errno));
        save_pause();
    }
    if (!s && rename(tmp, final) != 0) s = sidr_fail(SIDR_ERR_IO, "%s: cannot rename to %s: %s", tmp, final, strerror(errno));
    if (!s) {
        fsync_dir(parent);
        rm_tree(old);
    }
    free(old);
    free(parent);
    return s;
}

/* Removes what a killed run can leave in OUT: half-written folders
 * (*.tmp), stray temporary files (NAME.tmpPID), folders being removed
 * (*.del), and restores a folder whose
 * swap was cut between its two renames (NAME.old without NAME). */
static int is_tmp_name(const char *n)
{
    size_t len = strlen(n);
    if (len > 4 && !strcmp(n + len - 4, ".del")) return 1;
    const char *t = strstr(n, ".tmp");
    if (!t) return 0;
    for (t += 4; *t; t++)
        if (*t < '0' || *t > '9') return 0;
    return 1;
}

static void clean_dir_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_tmp_name(e->d_name)) continue;
        char *p = path_join(dir, e->d_name);
        if (dir_exists(p)) rm_tree(p);
        else unlink(p);
        free(p);
    }
    closedir(d);
}

void trainer_clean_leftovers(const char *out)
{
    DIR *d = opendir(out);
    if (!d) return;
    struct dirent *e;
    char **olds = NULL;
    int n_old = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".old")) {
            olds = xrealloc(olds, (size_t)(n_old + 1) * sizeof *olds);
            olds[n_old++] = xstrdup(e->d_name);
        }
    }
    closedir(d);
    for (int i = 0; i < n_old; i++) {
        char *old = path_join(out, olds[i]);
        olds[i][strlen(olds[i]) - 4] = 0;
        char *final = path_join(out, olds[i]);
        if (dir_exists(final)) rm_tree(old);
        else rename(old, final);   /* cut between the renames: the old folder is the complete one */
        free(old);
        free(final);
        free(olds[i]);
    }
    free(olds);
    clean_dir_files(out);   /* NAME.tmp folders and NAME.tmpPID files */
    char *best = path_join(out, "best");
    clean_dir_files(best);
    free(best);
}

sidr_status trainer_checkpoint(trainer *t)
{
    char *final = checkpoint_dir(t, t->st.step);
    char *tmp = xmalloc(strlen(final) + 8);
    sprintf(tmp, "%s.tmp", final);
    rm_tree(tmp);
    sidr_status s = make_dirs(tmp);
    if (!s) s = sidr_params_copy_assets(t->start_model, tmp);
    save_pause();
    if (!s) s = sidr_params_save(&t->params, tmp, SIDR_F32);
    save_pause();
    char *opt = path_join(tmp, "optimizer.safetensors");
    if (!s) s = sidr_adamw_save(&t->opt, opt);
    free(opt);
    if (!s) s = write_state(t, tmp);
    if (!s) s = swap_in_dir(tmp, final);
    if (s) rm_tree(tmp);
    free(tmp);
    free(final);
    if (s) return s;
    /* rotation: keep the newest save_total_limit */
    long *steps;
    int n = list_checkpoints(t->o.out_dir, &steps);
    int limit = t->o.save_total_limit > 0 ? t->o.save_total_limit : 1;
    for (int i = 0; i + limit < n; i++) {
        /* out of sight in one rename, then removed: a kill mid-removal
         * leaves NAME.del, never a checkpoint missing some files */
        char *d = checkpoint_dir(t, steps[i]), *del = xmalloc(strlen(d) + 8);
        sprintf(del, "%s.del", d);
        rm_tree(del);
        if (rename(d, del) == 0) rm_tree(del);
        free(del);
        free(d);
    }
    free(steps);
    return SIDR_OK;
}

/* Moves every file of the complete folder tmp into dir, config.json last,
 * after removing dir's config.json first: a kill on the way leaves a folder
 * that does not load (no config.json), never new weights beside an old
 * state or the reverse. */
static sidr_status move_files_in(const char *tmp, const char *dir)
{
    char *cfg = path_join(dir, "config.json");
    sidr_status s = SIDR_OK;
    if (unlink(cfg) != 0 && errno != ENOENT) s = sidr_fail(SIDR_ERR_IO, "%s: cannot remove: %s", cfg, strerror(errno));
    fsync_dir(dir);
    DIR *d = s ? NULL : opendir(tmp);
    if (!s && !d) s = sidr_fail(SIDR_ERR_IO, "%s: cannot read: %s", tmp, strerror(errno));
    struct dirent *e;
    while (d && !s && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "config.json")) continue;
        char *from = path_join(tmp, e->d_name), *to = path_join(dir, e->d_name);
        if (rename(from, to) != 0) s = sidr_fail(SIDR_ERR_IO, "%s: cannot rename to %s: %s", from, to, strerror(errno));
        save_pause();
        free(from);
        free(to);
    }
    if (d) closedir(d);
    fsync_dir(dir);
    char *tcfg = path_join(tmp, "config.json");
    if (!s && rename(tcfg, cfg) != 0) s = sidr_fail(SIDR_ERR_IO, "%s: cannot rename to %s: %s", tcfg, cfg, strerror(errno));
    if (!s) fsync_dir(dir);
    free(tcfg);
    free(cfg);
    return s;
}

sidr_status trainer_save_model(trainer *t, const char *sub, sidr_dtype dtype)
{
    /* written whole into a sibling folder first */
    char *dir = *sub ? path_join(t->o.out_dir, sub) : xstrdup(t->o.out_dir);
    char *tmp = path_join(t->o.out_dir, *sub ? "best.tmp" : "final.tmp");
    rm_tree(tmp);
    sidr_status s = make_dirs(tmp);
    if (!s) s = sidr_params_copy_assets(t->start_model, tmp);
    save_pause();
    if (!s) s = write_state(t, tmp);
    save_pause();
    if (!s) s = sidr_params_save(&t->params, tmp, dtype);
    save_pause();
    if (!s) s = *sub ? swap_in_dir(tmp, dir) : move_files_in(tmp, dir);
    rm_tree(tmp);
    free(tmp);
    free(dir);
    return s;
}

sidr_status trainer_resume(trainer *t, int *resumed)
{
    *resumed = 0;
    long *steps;
    int n = list_checkpoints(t->o.out_dir, &steps);
    if (n == 0) {
        free(steps);
        if (!t->o.quiet) fprintf(stderr, "sidr train: no checkpoint in %s: starting from %s\n", t->o.out_dir, t->start_model);
        return SIDR_OK;   /* nothing to resume: a fresh start */
    }
    long step = steps[n - 1];
    free(steps);
    char *dir = checkpoint_dir(t, step), *sp = path_join(dir, "trainer_state.json");
    char *text = NULL;
    cJSON *root = NULL;
    sidr_params loaded;
    memset(&loaded, 0, sizeof loaded);
    sidr_status s = read_file(sp, &text, NULL);
    if (!s && !(root = cJSON_Parse(text))) s = sidr_fail(SIDR_ERR_FORMAT, "%s: not valid JSON", sp);
    const cJSON *x = root ? cJSON_GetObjectItemCaseSensitive(root, "sidr") : NULL;
    const cJSON *stage = root ? cJSON_GetObjectItemCaseSensitive(root, "stage") : NULL;
    if (!s && (!cJSON_IsObject(x) || !cJSON_IsString(stage)))
        s = sidr_fail(SIDR_ERR_FORMAT, "%s: fields 'stage' and 'sidr' are required", sp);
    if (!s && strcmp(stage->valuestring, train_stage_name(t->o.stage)))
        s = sidr_fail(SIDR_ERR_ARG, "%s: the checkpoint is from stage '%s', not '%s'", sp, stage->valuestring,
                      train_stage_name(t->o.stage));
    if (!s && (s = sidr_params_load(&loaded, dir))) {}
    if (!s) s = sidr_params_copy(&t->params, &loaded);
    if (!s) {
        char *op = path_join(dir, "optimizer.safetensors");
        s = sidr_adamw_load(&t->opt, op);
        free(op);
    }
    if (!s) {
        t->st.step = (long)jnum(root, "global_step", 0);
        t->st.epoch = (int)jnum(x, "epoch_index", 0);
        t->st.pos = (long)jnum(x, "epoch_position", 0);
        t->st.best_step = (long)jnum(x, "best_step", -1);
        t->st.bad_evals = (int)jnum(x, "bad_evals", 0);
        t->st.tokens_seen = (long)jnum(x, "tokens_seen", 0);
        t->st.train_seconds = jnum(x, "train_seconds", 0);
        t->st.stopped_early = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "stopped_early"));
        t->st.best_metric = jnum(root, "best_metric", NAN);
        /* what would make the continuation differ from an uninterrupted run */
        const cJSON *seed = cJSON_GetObjectItemCaseSensitive(x, "seed");
        char cur[32];
        snprintf(cur, sizeof cur, "%llu", (unsigned long long)t->o.seed);
        if (cJSON_IsString(seed) && strcmp(seed->valuestring, cur))
            fprintf(stderr, "sidr train: warning: resuming with --seed %s; the checkpoint used %s\n", cur, seed->valuestring);
        static const char *const keys[] = { "batch", "grad_accum", "max_len", "prompts", "group" };
        const int cur_v[] = { t->o.batch, t->o.grad_accum, t->o.max_len, t->o.prompts, t->o.group };
        for (int i = 0; i < 5; i++) {
            double v = jnum(x, keys[i], NAN);
            if (isfinite(v) && (int)v != cur_v[i] && (t->o.stage == STAGE_RL || i < 3) && !(t->o.stage == STAGE_RL && i == 1))
                fprintf(stderr, "sidr train: warning: resuming with %s %d; the checkpoint used %d (the data order changes)\n",
                        keys[i], cur_v[i], (int)v);
        }
        const cJSON *sm = cJSON_GetObjectItemCaseSensitive(x, "start_model");
        if (cJSON_IsString(sm) && strcmp(sm->valuestring, t->start_model))
            fprintf(stderr, "sidr train: warning: the run started from %s; --model is %s\n", sm->valuestring, t->start_model);
        *resumed = 1;
        fprintf(stderr, "sidr train: resuming from %s (step %ld)\n", dir, t->st.step);
    }
    sidr_params_free(&loaded);
    cJSON_Delete(root);
    free(text);
    free(sp);
    free(dir);
    return s;
}

int trainer_note_eval(trainer *t, double metric, int lower_better, int *improved)
{
    *improved = 0;
    if (!isfinite(metric)) return 0;
    if (!isfinite(t->st.best_metric) || (lower_better ? metric < t->st.best_metric : metric > t->st.best_metric)) {
        t->st.best_metric = metric;
        t->st.best_step = t->st.step;
        t->st.bad_evals = 0;
        *improved = 1;
        sidr_status s = trainer_save_model(t, "best", t->o.dtype);
        if (s) fprintf(stderr, "sidr train: warning: cannot save the best model: %s\n", sidr_last_error());
        return 0;
    }
    if (t->st.step > 0) t->st.bad_evals++;
    return t->o.patience > 0 && t->st.bad_evals >= t->o.patience;
}

/* ---- log ------------------------------------------------------------------------------------- */

sidr_status trainer_open_log(trainer *t, int resumed)
{
    trainer_clean_leftovers(t->o.out_dir);
    t->log_path = t->o.log_path ? xstrdup(t->o.log_path) : path_join(t->o.out_dir, "train_log.jsonl");
    if (resumed && file_exists(t->log_path)) {
        /* drop what was logged after the checkpoint: the resumed run logs it again */
        char *text;
        size_t len;
        if (!read_file(t->log_path, &text, &len)) {
            size_t cap = len + 1, k = 0;
            char *keep = xmalloc(cap);
            for (char *p = text; p < text + len;) {
                char *e = memchr(p, '\n', (size_t)(text + len - p));
                size_t n = e ? (size_t)(e - p) : (size_t)(text + len - p);
                cJSON *o = cJSON_ParseWithLength(p, n);
                const cJSON *st = o ? cJSON_GetObjectItemCaseSensitive(o, "step") : NULL;
                if (!cJSON_IsNumber(st) || st->valuedouble <= (double)t->st.step) {
                    memcpy(keep + k, p, n);
                    k += n;
                    keep[k++] = '\n';
                }
                cJSON_Delete(o);
                p += n + (e ? 1 : 0);
            }
            keep[k] = 0;
            /* the log cut back to the checkpoint's step; a failure here must stop
             * the run, or the log would repeat the steps after it */
            sidr_status ws = write_text_atomic(t->log_path, keep);
            free(keep);
            free(text);
            if (ws) return ws;
        }
    }
    t->log = fopen(t->log_path, resumed ? "a" : "w");
    if (!t->log) return sidr_fail(SIDR_ERR_IO, "%s: cannot write the log: %s", t->log_path, strerror(errno));
    return SIDR_OK;
}

void trainer_log(trainer *t, void *obj)
{
    cJSON *o = obj;
    if (t->log) {
        char *s = cJSON_PrintUnformatted(o);
        fprintf(t->log, "%s\n", s);
        fflush(t->log);
        free(s);
    }
    cJSON_Delete(o);
}

sidr_status trainer_finish(trainer *t)
{
    sidr_status s = SIDR_OK;
    int from_best = 0;
    char *best = path_join(t->o.out_dir, "best");
    if (t->o.load_best && t->st.best_step >= 0 && dir_exists(best)) {
        sidr_params bp;
        if (!(s = sidr_params_load(&bp, best))) {
            sidr_params saved = t->params;
            /* write the best weights under the final state (config.json
             * from the starting model's) */
            t->params = bp;
            t->params.src_dir = saved.src_dir;
            s = trainer_save_model(t, "", t->o.dtype);
            t->params = saved;
            sidr_params_free(&bp);
            from_best = 1;
        }
    } else {
        s = trainer_save_model(t, "", t->o.dtype);
    }
    free(best);
    if (s) return s;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "end");
    cJSON_AddNumberToObject(o, "step", (double)t->st.step);
    cJSON_AddStringToObject(o, "stage", train_stage_name(t->o.stage));
    cJSON_AddBoolToObject(o, "stopped_early", t->st.stopped_early);
    if (isfinite(t->st.best_metric)) cJSON_AddNumberToObject(o, "best_metric", t->st.best_metric);
    cJSON_AddNumberToObject(o, "best_step", (double)t->st.best_step);
    cJSON_AddNumberToObject(o, "tokens_seen", (double)t->st.tokens_seen);
    cJSON_AddNumberToObject(o, "train_seconds", t->st.train_seconds);
    cJSON_AddStringToObject(o, "model", t->o.out_dir);
    cJSON_AddBoolToObject(o, "from_best", from_best);
    trainer_log(t, o);
    if (!t->o.quiet)
        fprintf(stderr, "sidr train %s: %ld steps, %.1f s; model in %s%s\n", train_stage_name(t->o.stage), t->st.step,
                t->st.train_seconds, t->o.out_dir, from_best ? " (the best validation model)" : "");
    return SIDR_OK;
}

/* ---- SFT: align and reason --------------------------------------------------------------------- */

typedef struct {
    int *order;        /* sequence indices, micro-batch after micro-batch */
    int *mb_start;     /* n_mb + 1 offsets into order */
    int n_mb;
    int epoch;
} epoch_plan;

static const seq_set *sort_set;
static int cmp_len_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    int lx = sort_set->v[x].n, ly = sort_set->v[y].n;
    if (lx != ly) return ly - lx;
    return x - y;
}

/* Copies of sequence i in epoch e under per-task weights: floor(w) always,
 * one more with probability frac(w), drawn from (seed, e, i) so that every
 * epoch sees another subset and a resumed run sees the same one. */
/* A 64-bit random value as a uniform number in [0, 1). */
static double unit_interval(uint64_t x)
{
    return (double)(x >> 11) * 0x1p-53;
}

static int epoch_copies(const seq_set *s, const double *weight, uint64_t seed, int epoch, int i)
{
    double w = weight ? weight[s->v[i].kind] : 1.0;
    int c = (int)floor(w);
    double f = w - c;
    if (f > 0) {
        uint64_t r = train_rng_seed(seed, 4, ((uint64_t)epoch << 32) ^ (uint64_t)i);
        if (unit_interval(train_rng_next(&r)) < f) c++;
    }
    return c;
}

/* Expected sequences per epoch under the weights (for steps per epoch). */
/* Sequences (tokens) of one epoch after the task weights. */
static double weighted_size(const seq_set *s, const double *weight, int count_tokens)
{
    double n = 0;
    for (int i = 0; i < s->n; i++) n += (weight ? weight[s->v[i].kind] : 1.0) * (count_tokens ? s->v[i].n : 1);
    return n;
}

/* Expand by the task weights, shuffle, sort by length inside chunks of 32
 * micro-batches, cut into micro-batches, shuffle the micro-batches. */
static void plan_epoch(epoch_plan *p, const seq_set *s, const double *weight, int batch, uint64_t seed, int epoch)
{
    free(p->order);
    free(p->mb_start);
    int n = 0;
    for (int i = 0; i < s->n; i++) n += epoch_copies(s, weight, seed, epoch, i);
    int *perm = xmalloc((size_t)(n ? n : 1) * sizeof(int));
    for (int i = 0, k = 0; i < s->n; i++)
        for (int c = epoch_copies(s, weight, seed, epoch, i); c > 0; c--) perm[k++] = i;
    uint64_t rng = train_rng_seed(seed, 1, (uint64_t)epoch);
    train_shuffle(perm, n, &rng);
    int chunk = batch * 32;
    sort_set = s;
    for (int c = 0; c < n; c += chunk) qsort(perm + c, (size_t)(n - c < chunk ? n - c : chunk), sizeof(int), cmp_len_desc);
    int n_mb = (n + batch - 1) / batch;
    int *mbs = xmalloc((size_t)(n_mb ? n_mb : 1) * sizeof(int));
    for (int i = 0; i < n_mb; i++) mbs[i] = i;
    rng = train_rng_seed(seed, 2, (uint64_t)epoch);
    train_shuffle(mbs, n_mb, &rng);
    p->order = xmalloc((size_t)(n ? n : 1) * sizeof(int));
    p->mb_start = xmalloc((size_t)(n_mb + 1) * sizeof(int));
    int k = 0;
    for (int i = 0; i < n_mb; i++) {
        p->mb_start[i] = k;
        int a = mbs[i] * batch, b = a + batch < n ? a + batch : n;
        for (int j = a; j < b; j++) p->order[k++] = perm[j];
    }
    p->mb_start[n_mb] = k;
    p->n_mb = n_mb;
    p->epoch = epoch;
    free(perm);
    free(mbs);
}

typedef struct {
    int *tokens;
    float *weights;
    float *logp;
    int cap;
} mb_buf;

/* The loss weight of position j of q (see train_seq.ans). */
static float seq_weight(const trainer *t, const train_seq *q, int j)
{
    return j < q->lo || j >= q->hi ? 0.0f : j >= q->ans ? (float)t->o.answer_weight : 1.0f;
}

/* Right-padded [B][T] batch of the sequences idx[0..B). */
static void assemble(const trainer *t, const seq_set *s, const int *idx, int B, mb_buf *m, sidr_batch *b)
{
    int T = 1;
    for (int i = 0; i < B; i++)
        if (s->v[idx[i]].n > T) T = s->v[idx[i]].n;
    if (B * T > m->cap) {
        m->cap = B * T;
        m->tokens = xrealloc(m->tokens, (size_t)m->cap * sizeof(int));
        m->weights = xrealloc(m->weights, (size_t)m->cap * sizeof(float));
        m->logp = xrealloc(m->logp, (size_t)m->cap * sizeof(float));
    }
    int pad = t->end_id >= 0 ? t->end_id : t->eos_id;
    for (int i = 0; i < B; i++) {
        const train_seq *q = &s->v[idx[i]];
        for (int j = 0; j < T; j++) {
            m->tokens[i * T + j] = j < q->n ? q->ids[j] : pad;
            m->weights[i * T + j] = seq_weight(t, q, j);
        }
    }
    b->B = B;
    b->T = T;
    b->tokens = m->tokens;
    b->weights = m->weights;
}

static void mb_free(mb_buf *m)
{
    free(m->tokens);
    free(m->weights);
    free(m->logp);
}

/* Loss sums per task kind over a batch's weighted positions. */
static void kind_sums(const seq_set *s, const int *idx, int B, int T, const float *logp, double *sum, double *cnt)
{
    for (int i = 0; i < B; i++) {
        const train_seq *q = &s->v[idx[i]];
        for (int j = q->lo; j < q->hi; j++) {
            sum[q->kind] -= logp[i * T + j];
            cnt[q->kind] += 1;
        }
    }
}

static void add_kind_losses(cJSON *o, const char *key, const double *sum, const double *cnt)
{
    cJSON *k = cJSON_AddObjectToObject(o, key);
    for (int i = 1; i < TASK_COUNT; i++)
        if (cnt[i] > 0) cJSON_AddNumberToObject(k, task_name(i), sum[i] / cnt[i]);
}

/* Validation loss over a sequence set (forward only). */
static sidr_status eval_loss(trainer *t, const seq_set *vs, mb_buf *m, double *loss, double *sum, double *cnt)
{
    double ls = 0, w = 0;
    int *idx = xmalloc((size_t)(t->o.batch) * sizeof(int));
    sidr_status s = SIDR_OK;
    /* in length order so that padding stays small */
    int *ord = xmalloc((size_t)(vs->n ? vs->n : 1) * sizeof(int));
    for (int i = 0; i < vs->n; i++) ord[i] = i;
    sort_set = vs;
    qsort(ord, (size_t)vs->n, sizeof(int), cmp_len_desc);
    for (int a = 0; a < vs->n && !s; a += t->o.batch) {
        if (trainer_should_stop(t)) {
            s = SIDR_ERR_CANCELLED;
            break;
        }
        int B = vs->n - a < t->o.batch ? vs->n - a : t->o.batch;
        memcpy(idx, ord + a, (size_t)B * sizeof(int));
        sidr_batch b;
        assemble(t, vs, idx, B, m, &b);
        sidr_train_stats st;
        if ((s = sidr_train_forward(t->tr, &b, 0, m->logp, &st))) break;
        ls += st.loss_sum;
        w += st.weight_sum;
        kind_sums(vs, idx, B, b.T, m->logp, sum, cnt);
    }
    free(idx);
    free(ord);
    *loss = w > 0 ? ls / w : NAN;
    return s;
}

/* ---- generation checks (reason) ------------------------------------------------------------- */

typedef struct {
    int rows, parsed, valid, hit, closed;
    double reasoning_tokens;
} gen_stats;

/* Greedy decoding from the Stage-2 prompt on eval_gen valid rows: does the
 * output close </think> and name a SID after it? */
static sidr_status eval_format(trainer *t, gen_stats *g, char **example)
{
    memset(g, 0, sizeof *g);
    *example = NULL;
    const sidr_split *vs = &t->ds.split[SIDR_SPLIT_VALID];
    if (!vs->present || vs->n == 0 || t->o.eval_gen <= 0) return SIDR_OK;
    int *rows = xmalloc((size_t)t->o.eval_gen * sizeof(int));
    int n = train_eval_rows(vs->n, t->o.eval_gen, rows);
    sidr_model m;
    sidr_status s = sidr_model_from_params(&m, &t->params);
    if (s) { free(rows); return s; }
    sidr_state *state = sidr_state_new(&m, 256);
    float *logits = xmalloc((size_t)m.cfg.vocab_size * sizeof(float));
    int *gen = xmalloc((size_t)(t->o.max_new + 1) * sizeof(int));
    for (int k = 0; k < n && !s; k++) {
        if (trainer_should_stop(t)) {
            s = SIDR_ERR_CANCELLED;
            break;
        }
        const sidr_sample *r = &vs->rows[rows[k]];
        const char *hist[SIDR_MAX_HISTORY];
        int ok = 1;
        for (int i = 0; i < r->n_hist; i++)
            if (!(hist[i] = t->ds.items[r->hist[i]].sid)) ok = 0;
        const char *target = t->ds.items[r->target].sid;
        if (!ok || !target) continue;
        char *h = prompt_join_sids(hist, r->n_hist), *prompt = prompt_reasoning(h);
        int *ids, np;
        s = sidr_tokenizer_encode(t->tok, prompt, strlen(prompt), &ids, &np);
        free(h);
        free(prompt);
        if (s) break;
        sidr_kv kv;
        if ((s = sidr_kv_init(&kv, &m.cfg, np + t->o.max_new + 1))) { free(ids); break; }
        s = sidr_forward(&m, state, &kv, ids, np, logits, SIDR_LOGITS_LAST);
        int ng = 0, think_at = -1;
        while (!s && ng < t->o.max_new) {
            int next = sidr_argmax(logits, m.cfg.vocab_size);
            gen[ng++] = next;
            if (next == t->think_close_id && think_at < 0) think_at = ng - 1;
            if (next == t->end_id || next == t->eos_id) break;
            s = sidr_forward(&m, state, &kv, &next, 1, logits, SIDR_LOGITS_LAST);
        }
        sidr_kv_free(&kv);
        free(ids);
        if (s) break;
        char *text;
        size_t len;
        if ((s = sidr_tokenizer_decode(t->tok, gen, ng, 0, &text, &len))) break;
        grpo_reward_info info;
        grpo_reward(text, len, target, t->ds.sid_levels, exists_cb, &t->ds, &info);
        g->rows++;
        g->closed += info.has_close;
        g->parsed += info.parsed;
        g->valid += info.valid;
        g->hit += info.parsed && info.levels_right == t->ds.sid_levels;
        g->reasoning_tokens += think_at >= 0 ? think_at : ng;
        if (!*example) *example = text;
        else free(text);
    }
    free(gen);
    free(logits);
    sidr_state_free(state);
    sidr_model_from_params_free(&m);
    free(rows);
    return s;
}

/* ---- the SFT stages ------------------------------------------------------------------------------- */

static int spec_push(sample_spec **v, int *n, int *cap, sample_spec x)
{
    if (*n == *cap) *v = xrealloc(*v, (size_t)(*cap = *cap ? 2 * *cap : 1024) * sizeof **v);
    (*v)[(*n)++] = x;
    return 0;
}

/* The samples of a stage: align = the task pool (train) or the row tasks
 * (valid); reason = the Stage-2 format per row. */
static sidr_status build_specs(trainer *t, int valid, const task_general *g, sample_spec **out, int *n_out)
{
    sample_spec *v = NULL;
    int n = 0, cap = 0;
    sidr_split_id sp = valid ? SIDR_SPLIT_VALID : SIDR_SPLIT_TRAIN;
    const sidr_split *split = &t->ds.split[sp];
    int n_rows = split->n, *rows = xmalloc((size_t)(n_rows ? n_rows : 1) * sizeof(int));
    if (valid) n_rows = train_eval_rows(split->n, t->o.eval_rows, rows);
    else
        for (int i = 0; i < n_rows; i++) rows[i] = i;
    if (t->o.stage == STAGE_REASON) {
        for (int i = 0; i < n_rows; i++)
            spec_push(&v, &n, &cap, (sample_spec){ TASK_REASONING, sp, rows[i], -1, 0 });
        /* the same rows with the history hidden: the answer can only come from the trace, which the
         * model otherwise learns to bypass (the history predicts the SID as well as the trace does) */
        for (int i = 0; !valid && t->o.trace_answer > 0 && i < n_rows; i++)
            if (unit_interval(train_rng_seed(t->o.seed, 5, (uint64_t)rows[i])) < t->o.trace_answer)
                spec_push(&v, &n, &cap, (sample_spec){ TASK_REASONING, sp, rows[i], -1,
                                                          TASK_VARIANT_HIDDEN_HISTORY |
                                                              (t->o.trace_answer_words ? TASK_VARIANT_WORDS_ONLY : 0) });
        for (int it = 0; !valid && it < t->ds.n_items; it++) {
            if (!t->ds.items[it].sid) continue;
            if (t->o.mix_mask & (1u << TASK_TITLE_TO_SID_ITEM)) {
                spec_push(&v, &n, &cap, (sample_spec){ TASK_TITLE_TO_SID_ITEM, sp, -1, it, 0 });
                spec_push(&v, &n, &cap, (sample_spec){ TASK_TITLE_TO_SID_ITEM, sp, -1, it, 1 });
            }
            if (t->o.mix_mask & (1u << TASK_ITEM_NARRATIVE))
                spec_push(&v, &n, &cap, (sample_spec){ TASK_ITEM_NARRATIVE, sp, -1, it, 0 });
        }
    } else {
        static const int row_tasks[] = { TASK_SID_TO_SID, TASK_SID_TO_TITLE, TASK_TITLES_TO_TITLE, TASK_TITLES_TO_SID,
                                         TASK_USER_NARRATIVE };
        for (int i = 0; i < n_rows; i++)
            for (int k = 0; k < 5; k++)
                if (t->o.task_mask & (1u << row_tasks[k]))
                    spec_push(&v, &n, &cap,
                              (sample_spec){ row_tasks[k], sp, rows[i], -1, train_rng_seed(t->o.seed, 3, (uint64_t)rows[i]) });
        if (!valid) {
            for (int it = 0; it < t->ds.n_items; it++) {
                if (!t->ds.items[it].sid) continue;
                if (t->o.task_mask & (1u << TASK_TITLE_TO_SID_ITEM)) {
                    spec_push(&v, &n, &cap, (sample_spec){ TASK_TITLE_TO_SID_ITEM, sp, -1, it, 0 });
                    spec_push(&v, &n, &cap, (sample_spec){ TASK_TITLE_TO_SID_ITEM, sp, -1, it, 1 });
                }
                if (t->o.task_mask & (1u << TASK_ITEM_NARRATIVE))
                    spec_push(&v, &n, &cap, (sample_spec){ TASK_ITEM_NARRATIVE, sp, -1, it, 0 });
            }
            if (g && (t->o.task_mask & (1u << TASK_GENERAL)))
                for (int i = 0; i < g->n; i++) spec_push(&v, &n, &cap, (sample_spec){ TASK_GENERAL, sp, -1, i, 0 });
        }
    }
    free(rows);
    *out = v;
    *n_out = n;
    return SIDR_OK;
}

static void report_set(const trainer *t, const char *what, const seq_set *s, cJSON *log)
{
    cJSON *o = cJSON_AddObjectToObject(log, what);
    if (!t->o.quiet) fprintf(stderr, "sidr train %s: %s: %d sequences, %ld tokens\n", train_stage_name(t->o.stage), what, s->n, s->tokens);
    for (int k = 1; k < TASK_COUNT; k++) {
        if (!s->per_kind[k] && !s->dropped_long[k] && !s->skipped[k]) continue;
        cJSON *x = cJSON_AddObjectToObject(o, task_name(k));
        cJSON_AddNumberToObject(x, "sequences", s->per_kind[k]);
        cJSON_AddNumberToObject(x, "dropped_too_long", s->dropped_long[k]);
        cJSON_AddNumberToObject(x, "skipped", s->skipped[k]);
        if (!t->o.quiet)
            fprintf(stderr, "  %d %-26s %6d%s", k, task_name(k), s->per_kind[k], s->dropped_long[k] || s->skipped[k] ? "" : "\n");
        if (!t->o.quiet && (s->dropped_long[k] || s->skipped[k]))
            fprintf(stderr, "  (%d longer than --max-len %d dropped, %d could not be built)\n", s->dropped_long[k],
                    t->o.max_len, s->skipped[k]);
    }
    if (s->hidden_history) {
        cJSON_AddNumberToObject(cJSON_GetObjectItem(o, task_name(TASK_REASONING)), "history_hidden", s->hidden_history);
        if (!t->o.quiet)
            fprintf(stderr, "    of them %d with the history hidden (answer from the reasoning alone)\n", s->hidden_history);
    }
}

static int align_cancel(const align_report *r, int done, int total, void *ctx)
{
    (void)r, (void)done, (void)total;
    return trainer_should_stop(ctx);
}

/* Stage 1: a small align-report of the weights as they are (eval_gen items,
 * the same seeded sample every time), so the log shows when alignment forms. */
static sidr_status eval_alignment(trainer *t, cJSON *o, char *note, size_t cap)
{
    session ss;
    memset(&ss, 0, sizeof ss);
    sidr_status s = sidr_model_from_params(&ss.model, &t->params);
    if (s) return s;
    ss.tok = t->tok;
    ss.ds = t->ds;      /* borrowed: session_close is never called on ss */
    ss.cat = t->cat;
    ss.model_dir = t->start_model;
    ss.data_dir = t->o.data_dir;
    align_opts ao;
    align_opts_default(&ao);
    ao.items = t->o.eval_gen;
    ao.seed = t->o.seed;
    align_report r;
    s = align_report_run(&r, &ss, &ao, align_cancel, t);
    if (!s) {
        cJSON *a = cJSON_AddObjectToObject(o, "align");
        cJSON_AddNumberToObject(a, "items", r.n);
        cJSON_AddNumberToObject(a, "title_to_sid_hit1", r.hit1);
        cJSON_AddNumberToObject(a, "title_to_sid_hit10", r.hit10);
        cJSON *lv = cJSON_AddArrayToObject(a, "level_acc");
        for (int l = 0; l < r.depth && l < 8; l++) cJSON_AddItemToArray(lv, cJSON_CreateNumber(r.level_acc[l]));
        cJSON_AddNumberToObject(a, "sid_to_title_exact", r.exact);
        cJSON_AddNumberToObject(a, "sid_to_title_f1", r.f1);
        cJSON *kn = cJSON_AddArrayToObject(a, "knn_overlap");
        for (int l = 0; l < r.knn_levels && l < 8; l++) cJSON_AddItemToArray(kn, cJSON_CreateNumber(r.knn_overlap[l]));
        snprintf(note, cap, ", title->SID hit@1 %.2f, SID->title F1 %.2f", r.hit1, r.f1);
    }
    align_report_free(&r);
    sidr_model_from_params_free(&ss.model);
    return s;
}

static sidr_status sft_eval(trainer *t, const seq_set *valid, mb_buf *m, int *stop_early)
{
    *stop_early = 0;
    if (!valid || valid->n == 0) return SIDR_OK;
    double loss, sum[TASK_COUNT] = { 0 }, cnt[TASK_COUNT] = { 0 };
    double t0 = now_seconds();
    sidr_status s = eval_loss(t, valid, m, &loss, sum, cnt);
    if (s) return s;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "eval");
    cJSON_AddNumberToObject(o, "step", (double)t->st.step);
    cJSON_AddNumberToObject(o, "valid_loss", loss);
    add_kind_losses(o, "valid_task_loss", sum, cnt);
    cJSON_AddNumberToObject(o, "valid_sequences", valid->n);
    char note[160];
    snprintf(note, sizeof note, "valid loss %.4f", loss);
    if (t->o.stage == STAGE_REASON && t->o.eval_gen > 0) {
        gen_stats g;
        char *example = NULL;
        if ((s = eval_format(t, &g, &example))) {
            cJSON_Delete(o);
            return s;
        }
        double n = g.rows ? g.rows : 1;
        cJSON_AddNumberToObject(o, "gen_rows", g.rows);
        cJSON_AddNumberToObject(o, "format_rate", g.parsed / n);
        cJSON_AddNumberToObject(o, "think_closed_rate", g.closed / n);
        cJSON_AddNumberToObject(o, "valid_sid_rate", g.valid / n);
        cJSON_AddNumberToObject(o, "exact_hit_rate", g.hit / n);
        cJSON_AddNumberToObject(o, "mean_reasoning_tokens", g.reasoning_tokens / n);
        if (example) {
            char *clean = train_utf8_copy(example, strlen(example));
            cJSON_AddStringToObject(o, "example", clean);
            free(clean);
        }
        free(example);
        size_t k = strlen(note);
        snprintf(note + k, sizeof note - k, ", format %.2f, valid SID %.2f", g.parsed / n, g.valid / n);
    }
    if (t->o.stage == STAGE_ALIGN && t->o.eval_gen > 0) {
        char anote[96] = "";
        if ((s = eval_alignment(t, o, anote, sizeof anote))) {
            cJSON_Delete(o);
            return s;
        }
        size_t k = strlen(note);
        snprintf(note + k, sizeof note - k, "%s", anote);
    }
    int improved;
    *stop_early = trainer_note_eval(t, loss, 1, &improved);
    cJSON_AddBoolToObject(o, "best", improved);
    cJSON_AddNumberToObject(o, "eval_seconds", now_seconds() - t0);
    trainer_log(t, o);
    if (!t->o.quiet) fprintf(stderr, "%sstep %ld: %s%s\n", isatty(2) ? "\r\033[K" : "", t->st.step, note, improved ? " (best)" : "");
    return SIDR_OK;
}

static sidr_status sft_run(trainer *t, const task_general *general)
{
    sidr_status s;
    sample_spec *specs;
    int n_specs;
    seq_set train, valid;
    memset(&valid, 0, sizeof valid);
    if (!t->ds.split[SIDR_SPLIT_TRAIN].present || t->ds.split[SIDR_SPLIT_TRAIN].n == 0) {
        if (t->o.stage == STAGE_REASON)
            return sidr_fail(SIDR_ERR_MISSING, "%s: no train rows (use --derive-train to build them from the train-period "
                             "histories)", t->o.data_dir);
        fprintf(stderr, "sidr train align: warning: no train rows; the pool has the item tasks only (--derive-train builds "
                        "rows from the train-period histories)\n");
    }
    build_specs(t, 0, general, &specs, &n_specs);
    s = train_tokenize(t, specs, n_specs, general, &train);
    free(specs);
    if (s) return s;
    if (train.n == 0) {
        seq_set_free(&train);
        return sidr_fail(SIDR_ERR_MISSING, "%s: no training sequences could be built (all longer than --max-len %d?)",
                         t->o.data_dir, t->o.max_len);
    }
    int have_valid = t->ds.split[SIDR_SPLIT_VALID].present && t->ds.split[SIDR_SPLIT_VALID].n > 0 && t->o.eval_rows > 0;
    if (have_valid) {
        build_specs(t, 1, NULL, &specs, &n_specs);
        s = train_tokenize(t, specs, n_specs, NULL, &valid);
        free(specs);
        if (s) {
            seq_set_free(&train);
            return s;
        }
    }
    int max_T = 1;
    for (int i = 0; i < train.n; i++) max_T = train.v[i].n > max_T ? train.v[i].n : max_T;
    for (int i = 0; i < valid.n; i++) max_T = valid.v[i].n > max_T ? valid.v[i].n : max_T;
    const double *weight = t->o.stage == STAGE_ALIGN ? t->o.task_weight : NULL;
    int n_mb = (int)ceil(weighted_size(&train, weight, 0) / t->o.batch);
    if (n_mb == 0) {
        seq_set_free(&train);
        seq_set_free(&valid);
        return sidr_fail(SIDR_ERR_ARG, "--task-weights: every task of the pool has weight 0");
    }
    t->steps_per_epoch = (n_mb + t->o.grad_accum - 1) / t->o.grad_accum;
    t->total_steps = t->o.max_steps > 0 ? t->o.max_steps : (long)t->o.epochs * t->steps_per_epoch;
    int resumed = 0;
    if ((s = trainer_setup(t, t->o.batch, max_T))) goto out;
    if (t->o.resume && (s = trainer_resume(t, &resumed))) goto out;
    if ((s = trainer_open_log(t, resumed))) goto out;
    {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", resumed ? "resume" : "start");
        cJSON_AddNumberToObject(o, "step", (double)t->st.step);
        cJSON_AddStringToObject(o, "stage", train_stage_name(t->o.stage));
        cJSON_AddStringToObject(o, "model", t->o.model_dir);
        cJSON_AddStringToObject(o, "data", t->o.data_dir);
        cJSON_AddNumberToObject(o, "parameters", (double)t->params.n);
        cJSON_AddNumberToObject(o, "total_steps", (double)t->total_steps);
        cJSON_AddNumberToObject(o, "steps_per_epoch", (double)t->steps_per_epoch);
        /* what a step costs on average: 'sidr recipe' times a few steps and scales by this */
        cJSON_AddNumberToObject(o, "tokens_per_epoch", weighted_size(&train, weight, 1));
        cJSON_AddNumberToObject(o, "lr", t->o.lr);
        cJSON_AddNumberToObject(o, "warmup_steps", (double)t->opt.o.warmup_steps);
        cJSON_AddNumberToObject(o, "batch", t->o.batch);
        cJSON_AddNumberToObject(o, "grad_accum", t->o.grad_accum);
        if (t->o.stage == STAGE_REASON) {
            cJSON_AddNumberToObject(o, "answer_weight", t->o.answer_weight);
            cJSON_AddNumberToObject(o, "trace_answer", t->o.trace_answer);
            cJSON_AddBoolToObject(o, "trace_answer_words", t->o.trace_answer_words);
        }
        if (weight) {
            cJSON *w = cJSON_AddObjectToObject(o, "task_weights");
            for (int k = 1; k < TASK_COUNT; k++)
                if (train.per_kind[k]) cJSON_AddNumberToObject(w, task_name(k), weight[k]);
        }
        if (t->enr.narrative_path || t->enr.item_path) {
            cJSON *e = cJSON_AddObjectToObject(o, "enrichment");
            cJSON_AddNumberToObject(e, "item_narratives", t->enr.n_item_narratives);
            cJSON_AddNumberToObject(e, "reasoning_paths", t->enr.n_reasoning);
            cJSON_AddNumberToObject(e, "user_narratives", t->enr.n_user_narratives);
            cJSON_AddNumberToObject(e, "csv_unmatched", t->enr.csv_unmatched);
            cJSON_AddNumberToObject(e, "reasoning_naming_target", t->enr.reasoning_names_target);
        }
        if (!t->o.quiet && !resumed) {
            fprintf(stderr, "sidr train %s: %s, %zu parameters; %d sequences, %ld steps (%ld per epoch)\n",
                    train_stage_name(t->o.stage), t->o.model_dir, t->params.n, train.n, t->total_steps, t->steps_per_epoch);
            if (t->enr.narrative_path || t->enr.item_path)
                fprintf(stderr, "  enrichment: %d item narratives, %d reasoning paths, %d user narratives (%d CSV rows "
                                "unmatched, matched by %s)\n",
                        t->enr.n_item_narratives, t->enr.n_reasoning, t->enr.n_user_narratives, t->enr.csv_unmatched,
                        t->enr.key ? t->enr.key : "-");
            if (t->enr.reasoning_names_target)
                fprintf(stderr, "  warning: %d reasoning paths contain their target's SID\n", t->enr.reasoning_names_target);
        }
        report_set(t, "train_pool", &train, o);
        if (have_valid) report_set(t, "valid_pool", &valid, o);
        trainer_log(t, o);
    }
    mb_buf m = { 0 };
    epoch_plan plan = { 0 };
    plan.epoch = -1;
    int stop_early = t->st.stopped_early;   /* a finished early stop stays finished on --resume */
    long last_eval = -1;
    int cancelled = 0;
    if (have_valid && !resumed && (s = sft_eval(t, &valid, &m, &stop_early))) {
        if (s != SIDR_ERR_CANCELLED) goto out2;
        s = SIDR_OK;
        cancelled = 1;
    }
    if (!resumed) last_eval = 0;
    t->run_step0 = t->st.step;
    t->run_t0 = now_seconds();
    if (!t->o.quiet) progress_start(&t->pr, train_stage_name(t->o.stage), t->total_steps - t->st.step, "steps");
    int *idx = xmalloc((size_t)t->o.batch * sizeof(int));
    while (!cancelled && t->st.step < t->total_steps && !stop_early) {
        if (plan.epoch != t->st.epoch) plan_epoch(&plan, &train, weight, t->o.batch, t->o.seed, t->st.epoch);
        double ts = now_seconds();
        int k = plan.n_mb - (int)t->st.pos < t->o.grad_accum ? plan.n_mb - (int)t->st.pos : t->o.grad_accum;
        double norm = 0;
        long tokens = 0;
        for (int j = 0; j < k; j++)
            for (int q = plan.mb_start[t->st.pos + j]; q < plan.mb_start[t->st.pos + j + 1]; q++) {
                const train_seq *sq = &train.v[plan.order[q]];
                for (int p = sq->lo; p < sq->hi; p++) norm += seq_weight(t, sq, p);
                tokens += sq->n;
            }
        sidr_train_zero_grad(t->tr);
        double ls = 0, sum[TASK_COUNT] = { 0 }, cnt[TASK_COUNT] = { 0 };
        for (int j = 0; j < k && !s; j++) {
            if (trainer_should_stop(t)) { cancelled = 1; break; }
            int a = plan.mb_start[t->st.pos + j], B = plan.mb_start[t->st.pos + j + 1] - a;
            memcpy(idx, plan.order + a, (size_t)B * sizeof(int));
            sidr_batch b;
            assemble(t, &train, idx, B, &m, &b);
            sidr_train_stats st;
            if ((s = sidr_train_forward(t->tr, &b, 0, m.logp, &st))) break;
            if ((s = sidr_train_backward_ce(t->tr, norm))) break;
            ls += st.loss_sum;
            kind_sums(&train, idx, B, b.T, m.logp, sum, cnt);
        }
        if (s) break;
        if (cancelled) break;
        sidr_adamw_info info;
        if ((s = sidr_adamw_step(&t->opt, &t->params, sidr_train_grad(t->tr), &info))) {
            s = sidr_fail(s, "step %ld: %s", t->st.step + 1, sidr_last_error());
            break;
        }
        double dt = now_seconds() - ts;
        t->st.step++;
        t->st.pos += k;
        t->st.tokens_seen += tokens;
        t->st.train_seconds += dt;
        int epoch_end = t->st.pos >= plan.n_mb;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "train");
        cJSON_AddNumberToObject(o, "step", (double)t->st.step);
        cJSON_AddNumberToObject(o, "epoch", (double)t->st.step / (double)t->steps_per_epoch);
        cJSON_AddNumberToObject(o, "loss", ls / norm);
        cJSON_AddNumberToObject(o, "lr", info.lr);
        cJSON_AddNumberToObject(o, "grad_norm", info.grad_norm);
        cJSON_AddNumberToObject(o, "tokens", (double)tokens);
        cJSON_AddNumberToObject(o, "loss_tokens", norm);
        cJSON_AddNumberToObject(o, "tokens_per_s", tokens / (dt > 0 ? dt : 1e-9));
        cJSON_AddNumberToObject(o, "step_seconds", dt);
        add_kind_losses(o, "task_loss", sum, cnt);
        trainer_log(t, o);
        if (!t->o.quiet) {
            char note[96];
            snprintf(note, sizeof note, "loss %.4f  %.0f tok/s", ls / norm, tokens / (dt > 0 ? dt : 1e-9));
            progress_update(&t->pr, t->st.step - t->run_step0, note);
        }
        if (epoch_end) {
            t->st.epoch++;
            t->st.pos = 0;
        }
        int eval_now = have_valid && ((t->o.eval_every > 0 && t->st.step % t->o.eval_every == 0) ||
                                      (t->o.eval_every == 0 && epoch_end) || t->st.step == t->total_steps);
        if (eval_now) {
            if ((s = sft_eval(t, &valid, &m, &stop_early))) {
                if (s == SIDR_ERR_CANCELLED) s = SIDR_OK, cancelled = 1;   /* the step is done: checkpoint it */
                break;
            }
            last_eval = t->st.step;
            if (stop_early) t->st.stopped_early = 1;
        }
        int stop_here = t->o.stop_after > 0 && t->st.step - t->run_step0 >= t->o.stop_after && t->st.step < t->total_steps;
        if ((t->o.save_every > 0 && t->st.step % t->o.save_every == 0) || stop_here) {
            if ((s = trainer_checkpoint(t))) break;
        }
        if (stop_here) {
            if (!t->o.quiet) {
                progress_end(&t->pr, t->st.step - t->run_step0, "stopped");
                fprintf(stderr, "sidr train %s: stopped after %ld steps (--stop-after); continue with --resume\n",
                        train_stage_name(t->o.stage), t->o.stop_after);
            }
            free(idx);
            goto out2;
        }
    }
    free(idx);
    (void)last_eval;
    if (!s && !t->o.quiet) progress_end(&t->pr, t->st.step - t->run_step0, cancelled ? "interrupted" : NULL);
    if (!s && cancelled) {
        if (!(s = trainer_checkpoint(t))) {
            fprintf(stderr, "sidr train %s: interrupted; checkpoint at step %ld in %s (continue with --resume)\n",
                    train_stage_name(t->o.stage), t->st.step, t->o.out_dir);
            s = SIDR_ERR_CANCELLED;
            sidr_fail(s, "interrupted at step %ld", t->st.step);
        }
        goto out2;
    }
    if (!s && t->st.stopped_early && !t->o.quiet)
        fprintf(stderr, "sidr train %s: early stopping at step %ld (no improvement in %d evaluations)\n",
                train_stage_name(t->o.stage), t->st.step, t->o.patience);
    if (!s) s = trainer_checkpoint(t);
    if (!s) s = trainer_finish(t);
out2:
    mb_free(&m);
    free(plan.order);
    free(plan.mb_start);
out:
    seq_set_free(&train);
    seq_set_free(&valid);
    return s;
}

sidr_status train_run(const train_opts *o)
{
    if (o->batch < 1 || o->grad_accum < 1 || o->max_len < 8 || o->max_new < 1 || o->group < 1 || o->prompts < 1)
        return sidr_fail(SIDR_ERR_ARG, "train: batch, grad_accum, prompts and group must be >= 1, max_len >= 8");
    trainer t;
    sidr_status s = trainer_open(&t, o);
    if (s) return s;
    if ((s = make_dirs(o->out_dir))) {
        trainer_close(&t);
        return s;
    }
    task_general g;
    memset(&g, 0, sizeof g);
    if (o->stage == STAGE_ALIGN && o->general_path) {
        if ((s = task_general_load(&g, o->general_path))) {
            trainer_close(&t);
            return s;
        }
        t.o.task_mask |= 1u << TASK_GENERAL;
        if (g.skipped && !o->quiet)
            fprintf(stderr, "sidr train align: %s: %d conversations not ending in an assistant turn skipped\n",
                    o->general_path, g.skipped);
    }
    if (o->stage == STAGE_RL) s = grpo_run(&t);
    else s = sft_run(&t, g.n ? &g : NULL);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", sidr_last_error());
    task_general_free(&g);
    trainer_close(&t);
    if (s) sidr_fail(s, "%s", msg);
    return s;
}

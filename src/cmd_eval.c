/* sidr eval: HR@K and NDCG@K over a split (SPEC §1.6), shardable, with the
 * per-row results in the JSON so runs can be diffed and shards merged
 * exactly by sidr eval-merge. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "eval_summary.h"
#include "commands.h"
#include "grounding.h"
#include "metrics.h"
#include "progress.h"
#include "recommend.h"
#include "session.h"
#include "tasks.h"
#include "util.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "data", required_argument, NULL, 'd' },
    { "split", required_argument, NULL, 's' },
    { "think", no_argument, NULL, 't' },
    { "no-think", no_argument, NULL, 'n' },
    { "beams", required_argument, NULL, 'b' },
    { "limit", required_argument, NULL, 'l' },
    { "shard", required_argument, NULL, 'S' },
    { "max-reasoning", required_argument, NULL, 'M' },
    { "grounded", no_argument, NULL, 'g' },
    { "traces", required_argument, NULL, 'T' },
    { "temperature", required_argument, NULL, 'p' },
    { "seed", required_argument, NULL, 'e' },
    { "json", required_argument, NULL, 'j' },
    { "resume", no_argument, NULL, 'R' },
    { "stop-after", required_argument, NULL, 'A' },
    { "given-reasoning", no_argument, NULL, 'G' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("usage: sidr eval [--model DIR] [--data DIR] [--split test] [--think | --no-think] [--beams B]\n"
           "                 [--limit N] [--shard I/N] [--max-reasoning N] [--grounded] [--json FILE [--resume]]\n"
           "                 [--stop-after N] [--traces N --temperature T [--seed S]] [--given-reasoning]\n"
           "Recommends for every row of the split and reports HR@{1,3,5,10}, NDCG@{1,3,5,10}, the\n"
           "invalid-SID rate, mean reasoning tokens and wall time. --limit takes the first N rows;\n"
           "--shard I/N then evaluates the I-th of N contiguous parts (0-based), for 'sidr eval-merge'.\n"
           "--json FILE writes the summary and every row's result, and the rows so far every 30 s;\n"
           "Ctrl-C stops and writes the rows done; --resume (with --json) continues such a file.\n"
           "--stop-after N stops after N rows of this run, as Ctrl-C would (exit status 1).\n"
           "--grounded decodes every SID the reasoning names within the history's SIDs (a trie of\n"
           "them, as the answer is decoded within the catalogue's); the default is free decoding.\n"
           "--traces N samples N reasoning traces per row (at --temperature T > 0, seeds S, S+1, ...)\n"
           "and ranks SIDs by their probability averaged over the traces' beams; the default is one\n"
           "greedy trace, as the paper.\n"
           "--given-reasoning writes each row's reference reasoning (the dataset's reasoning_path, else\n"
           "the rule's, as Stage 2 trains on) as the trace instead of decoding one, so the SID beam\n"
           "follows a known trace: it separates how well the model decodes a SID from a trace from\n"
           "how well it writes the trace (mode given-reasoning in the JSON).\n");
}

typedef struct {
    int row, rank, reasoning_tokens, n_beams, has_trace;
    char *user, *target, *reasoning;
    char **beams;
    double seconds;
    metrics_grounding g;
} row_result;

static void print_share(FILE *f, const char *what, double v)
{
    if (v < 0) fprintf(f, "%s -", what);
    else fprintf(f, "%s %.1f%%", what, 100 * v);
}

static void print_table(FILE *f, const metrics *m, long total_rows, double wall, const eval_intervals *iv)
{
    double n = m->rows ? (double)m->rows : 1;
    fprintf(f, "rows %ld of %ld\n", m->rows, total_rows);
    fprintf(f, "        @1      @3      @5      @10\n");
    fprintf(f, "HR    ");
    for (int i = 0; i < METRICS_N_K; i++) fprintf(f, " %.4f ", m->hr[i] / n);
    fprintf(f, "\nNDCG  ");
    for (int i = 0; i < METRICS_N_K; i++) fprintf(f, " %.4f ", m->ndcg[i] / n);
    fprintf(f, "\n95%% bootstrap intervals: HR@10 [%.4f, %.4f], NDCG@10 [%.4f, %.4f]\n", iv->hr10.lo, iv->hr10.hi,
            iv->ndcg10.lo, iv->ndcg10.hi);
    fprintf(f, "invalid-SID rate %.4f, mean reasoning tokens %.1f, wall %.1f s\n", m->invalid / n,
            m->reasoning_tokens / n, wall);
    if (m->trace_rows) {
        fprintf(f, "grounding: %.2f SID mentions per trace; ", (double)m->mentions / (double)m->trace_rows);
        print_share(f, "catalogue SIDs", metrics_catalogue_share(m));
        print_share(f, ", history SIDs", metrics_history_share(m));
        print_share(f, ", top-1 cited in the trace", metrics_top1_in_trace(m));
        if (m->forced) fprintf(f, "; grounded decoding changed %.2f tokens per trace", (double)m->forced / (double)m->trace_rows);
        fputc('\n', f);
    }
}

/* What identifies an evaluation: a result file continues only its own. */
typedef struct {
    const char *model, *data, *split;
    int think, beams, max_reasoning, grounded, traces, given;
    double temperature;
    long seed;
    long rows_in_split, limit, shard_i, shard_n, first, last;
} eval_meta;

static eval_intervals intervals_of_rows(const row_result *res, long n)
{
    int *ranks = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *ranks);
    for (long i = 0; i < n; i++) ranks[i] = res[i].rank;
    eval_intervals iv = eval_intervals_of(ranks, n);
    free(ranks);
    return iv;
}

/* The settings that make two evaluations the same one: --resume, eval-merge's
 * check of its shards and the merged file's header use this one list. */
static const char *const SETTING_KEYS[] = { "model", "data", "split", "mode", "numerics", "beams", "max_reasoning",
                                            "grounded", "traces", "temperature", "seed", "limit" };
#define N_SETTING_KEYS (sizeof SETTING_KEYS / sizeof *SETTING_KEYS)

static cJSON *meta_json(const eval_meta *e)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", e->model);
    cJSON_AddStringToObject(root, "data", e->data);
    cJSON_AddStringToObject(root, "split", e->split);
    cJSON_AddStringToObject(root, "mode", e->given ? "given-reasoning" : e->think ? "think" : "no-think");
    cJSON_AddStringToObject(root, "numerics", sidr_numerics_name(session_numerics));
    cJSON_AddNumberToObject(root, "beams", e->beams);
    cJSON_AddNumberToObject(root, "max_reasoning", e->max_reasoning);
    cJSON_AddBoolToObject(root, "grounded", e->grounded);
    cJSON_AddNumberToObject(root, "traces", e->traces);
    cJSON_AddNumberToObject(root, "temperature", e->temperature);
    cJSON_AddNumberToObject(root, "seed", (double)e->seed);
    cJSON_AddNumberToObject(root, "rows_in_split", (double)e->rows_in_split);
    cJSON_AddNumberToObject(root, "limit", (double)e->limit);
    cJSON *sh = cJSON_AddArrayToObject(root, "shard");
    cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shard_i));
    cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shard_n));
    cJSON *range = cJSON_AddArrayToObject(root, "row_range");
    cJSON_AddItemToArray(range, cJSON_CreateNumber((double)e->first));
    cJSON_AddItemToArray(range, cJSON_CreateNumber((double)e->last));
    return root;
}

static sidr_status write_result(const char *path, const eval_meta *e, const row_result *res, long done, const metrics *m,
                                double wall)
{
    cJSON *root = meta_json(e);
    eval_intervals iv = intervals_of_rows(res, done);
    cJSON_AddBoolToObject(root, "complete", done == e->last - e->first);
    cJSON_AddItemToObject(root, "metrics", eval_metrics_json(m, wall, &iv));
    cJSON *rows = cJSON_AddArrayToObject(root, "per_row");
    for (long i = 0; i < done; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "row", res[i].row);
        cJSON_AddStringToObject(o, "user", res[i].user);
        cJSON_AddStringToObject(o, "target", res[i].target);
        cJSON_AddNumberToObject(o, "rank", res[i].rank);
        cJSON_AddNumberToObject(o, "reasoning_tokens", res[i].reasoning_tokens);
        cJSON_AddNumberToObject(o, "seconds", res[i].seconds);
        cJSON *b = cJSON_AddArrayToObject(o, "beams");
        for (int k = 0; k < res[i].n_beams; k++) cJSON_AddItemToArray(b, cJSON_CreateString(res[i].beams[k]));
        if (res[i].has_trace) {
            cJSON_AddNumberToObject(o, "sid_mentions", res[i].g.mentions);
            cJSON_AddNumberToObject(o, "catalogue_mentions", res[i].g.catalogue);
            cJSON_AddNumberToObject(o, "history_mentions", res[i].g.history);
            cJSON_AddBoolToObject(o, "top1_mentioned", res[i].g.top1);
            cJSON_AddNumberToObject(o, "forced_tokens", res[i].g.forced);
            cJSON_AddStringToObject(o, "reasoning", res[i].reasoning);
        }
        cJSON_AddItemToArray(rows, o);
    }
    sidr_status s = write_json_file(path, root);
    cJSON_Delete(root);
    return s;
}

static const char *jstr_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum_of(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* --resume: the rows an earlier run of the same evaluation wrote to path
 * (absent: none), into res and m. */
static sidr_status resume_rows(const char *path, const eval_meta *e, row_result *res, long *done, metrics *m, double *wall)
{
    char *text;
    if (access(path, F_OK) != 0) return SIDR_OK;
    sidr_status s = read_file(path, &text, NULL);
    if (s) return s;
    cJSON *d = cJSON_Parse(text);
    free(text);
    cJSON *want = meta_json(e);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(d, "per_row");
    if (!d || !cJSON_IsArray(rows)) s = sidr_fail(SIDR_ERR_FORMAT, "%s: not a 'sidr eval --json' result (no per_row)", path);
    for (size_t k = 0; !s && k <= N_SETTING_KEYS; k++) {
        const char *key = k < N_SETTING_KEYS ? SETTING_KEYS[k] : "shard"; /* a partial file is one shard's */
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, key), *b = cJSON_GetObjectItemCaseSensitive(want, key);
        if (!a || !cJSON_Compare(a, b, 1))
            s = sidr_fail(SIDR_ERR_ARG, "%s: field '%s' differs from this evaluation's; --resume continues only the same "
                          "evaluation (or remove the file)", path, key);
    }
    const cJSON *r;
    long n = 0;
    cJSON_ArrayForEach(r, rows) {
        if (s) break;
        const cJSON *beams = cJSON_GetObjectItemCaseSensitive(r, "beams");
        if (jnum_of(r, "row", -1) != (double)(e->first + n) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "rank")) ||
            !cJSON_IsArray(beams) || !jstr_of(r, "user") || !jstr_of(r, "target")) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: per_row entry %ld: expected row %ld with rank, beams, user and target", path, n,
                          e->first + n);
            break;
        }
        row_result *o = &res[n];
        o->row = (int)(e->first + n);
        o->rank = (int)jnum_of(r, "rank", -1);
        o->reasoning_tokens = (int)jnum_of(r, "reasoning_tokens", 0);
        o->seconds = jnum_of(r, "seconds", 0);
        o->user = xstrdup(jstr_of(r, "user"));
        o->target = xstrdup(jstr_of(r, "target"));
        o->n_beams = cJSON_GetArraySize(beams);
        o->beams = xcalloc((size_t)(o->n_beams ? o->n_beams : 1), sizeof(char *));
        for (int b = 0; b < o->n_beams; b++) {
            const cJSON *x = cJSON_GetArrayItem(beams, b);
            o->beams[b] = xstrdup(cJSON_IsString(x) ? x->valuestring : "");
        }
        if (e->think && jstr_of(r, "reasoning")) {
            o->has_trace = 1;
            o->reasoning = xstrdup(jstr_of(r, "reasoning"));
            o->g.mentions = (int)jnum_of(r, "sid_mentions", 0);
            o->g.catalogue = (int)jnum_of(r, "catalogue_mentions", 0);
            o->g.history = (int)jnum_of(r, "history_mentions", 0);
            o->g.top1 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "top1_mentioned"));
            o->g.forced = (int)jnum_of(r, "forced_tokens", 0);
        }
        metrics_add(m, o->rank, o->n_beams == 0, o->reasoning_tokens, o->seconds, o->has_trace ? &o->g : NULL);
        n++;
        if (e->first + n >= e->last) break;
    }
    if (!s) {
        *done = n;
        *wall = jnum_of(cJSON_GetObjectItemCaseSensitive(d, "metrics"), "wall_seconds", 0);
    } else {
        for (long i = 0; i < n; i++) {
            for (int k = 0; k < res[i].n_beams; k++) free(res[i].beams[k]);
            free(res[i].beams);
            free(res[i].user);
            free(res[i].target);
            free(res[i].reasoning);
            memset(&res[i], 0, sizeof res[i]);
        }
        memset(m, 0, sizeof *m);
    }
    cJSON_Delete(want);
    cJSON_Delete(d);
    return s;
}

int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *json_path = NULL, *split_name = "test";
    long limit = -1, shard_i = 0, shard_n = 1, v;
    int resume = 0;
    long stop_after = 0;
    int traces = 1, given = 0;
    double dv;
    rec_settings set;
    rec_settings_default(&set);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 's': split_name = optarg; break;
        case 't': set.think = 1; break;
        case 'n': set.think = 0; break;
        case 'j': json_path = optarg; break;
        case 'g': set.ground = 1; break;
        case 'G': given = 1; break;
        case 'T': if (parse_int(optarg, 1, 64, &v)) return usage_error("eval", "--traces expects an integer in [1, 64]"); traces = (int)v; break;
        case 'p': if (parse_float(optarg, 0, 10, &dv)) return usage_error("eval", "--temperature expects a number in [0, 10]"); set.temperature = (float)dv; break;
        case 'e': if (parse_int(optarg, 0, 0x7FFFFFFFL, &v)) return usage_error("eval", "--seed expects a non-negative integer"); set.seed = (uint64_t)v; break;
        case 'R': resume = 1; break;
        case 'A': if (parse_int(optarg, 1, 1L << 30, &stop_after)) return usage_error("eval", "--stop-after expects a positive integer"); break;
        case 'b': if (parse_int(optarg, 1, 256, &v)) return usage_error("eval", "--beams expects an integer in [1, 256]"); set.beams = (int)v; break;
        case 'M': if (parse_int(optarg, 1, 32768, &v)) return usage_error("eval", "--max-reasoning expects an integer in [1, 32768]"); set.max_reasoning = (int)v; break;
        case 'l': if (parse_int(optarg, 1, 1L << 30, &limit)) return usage_error("eval", "--limit expects a positive integer"); break;
        case 'S': {
            char *slash = strchr(optarg, '/');
            if (!slash) return usage_error("eval", "--shard expects I/N with 0 <= I < N");
            *slash = 0;
            if (parse_int(optarg, 0, 1 << 20, &shard_i) || parse_int(slash + 1, 1, 1 << 20, &shard_n) || shard_i >= shard_n)
                return usage_error("eval", "--shard expects I/N with 0 <= I < N");
            break;
        }
        case 'h': help(); return EXIT_OK;
        default: return usage_error("eval", "unknown option");
        }
    }
    if (traces > 1 && !(set.temperature > 0))
        return usage_error("eval", "--traces %d needs --temperature T > 0 (greedy traces would all be the same)", traces);
    if (traces > 1 && !set.think) return usage_error("eval", "--traces goes with thinking mode (--think)");
    if (given && (!set.think || traces > 1 || set.ground))
        return usage_error("eval", "--given-reasoning replaces the decoded trace: it goes with --think and "
                           "without --traces or --grounded");
    if (optind != argc) return usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (resume && !json_path) return usage_error("eval", "--resume continues a --json FILE: give it");
    int split = sidr_split_parse(split_name);
    if (split < 0) return usage_error("eval", "--split expects train, valid or test (got '%s')", split_name);
    if (!(model = resolve_model_dir("eval", model)) || !(data = resolve_data_dir("eval", data))) return EXIT_USAGE;

    session ss;
    sidr_status s = session_open(&ss, model, data, NULL);
    if (s) return runtime_error("eval", s);
    const sidr_split *sp = &ss.ds.split[split];
    if (!sp->present || sp->n == 0) {
        sidr_fail(SIDR_ERR_MISSING, "%s: the dataset has no %s rows", data, split_name);
        session_close(&ss);
        return runtime_error("eval", SIDR_ERR_MISSING);
    }
    task_enrichment enr;
    memset(&enr, 0, sizeof enr);
    if (given && (s = task_enrichment_load(&enr, &ss.ds))) {
        session_close(&ss);
        return runtime_error("eval", s);
    }
    long total = limit > 0 && limit < sp->n ? limit : sp->n;
    long first = total * shard_i / shard_n, last = total * (shard_i + 1) / shard_n;
    if (given) { /* say where the traces come from: a dataset's texts can cover only some rows */
        long have = 0;
        for (long i = first; i < last; i++) have += enr.reasoning[split] && enr.reasoning[split][i];
        fprintf(stderr, "sidr eval: --given-reasoning: %ld of %ld rows from %s%s\n", have, last - first,
                enr.narrative_path ? enr.narrative_path : "(no integrated_narrative.csv)",
                have < last - first ? ", the others written by rule" : "");
    }
    row_result *res = xcalloc((size_t)(last - first + 1), sizeof *res);
    metrics m = { 0 };
    int rc = EXIT_OK;
    long done = 0, resumed = 0;
    double wall0 = 0;
    eval_meta meta = { model, data, split_name, set.think, set.beams, set.max_reasoning, set.ground, traces, given, set.temperature,
                       (long)set.seed, sp->n, total, shard_i, shard_n,
                       first, last };
    if (resume && (s = resume_rows(json_path, &meta, res, &done, &m, &wall0))) {
        free(res);
        task_enrichment_free(&enr, &ss.ds);
        session_close(&ss);
        return runtime_error("eval", s);
    }
    resumed = done;
    if (resume)
        fprintf(stderr, "sidr eval: %s: %ld of %ld rows already evaluated%s\n", json_path, done, last - first,
                done ? ", continuing" : "");
    progress pr;
    char label[64], note[64];
    snprintf(label, sizeof label, "eval %s", split_name);
    progress_start(&pr, label, last - first - done, "rows");
    install_interrupt_handler();
    double t0 = now_seconds(), last_save = t0;
    int stopped = 0;
    for (long i = first + done; i < last && !interrupted; i++, done++) {
        if (stop_after && done - resumed >= stop_after) {
            stopped = 1;
            break;
        }
        const sidr_sample *row = &sp->rows[i];
        const char *hist[SIDR_MAX_HISTORY];
        int nh = session_history(&ss, row, hist);
        rec_run r;
        double tr = now_seconds();
        char *why = NULL;
        if (given) {
            const char *g = enr.reasoning[split] ? enr.reasoning[split][i] : NULL;
            set.given_reasoning = why = g ? xstrdup(g) : task_rule_reasoning(&ss.ds, row);
        }
        s = SIDR_OK;
        if (nh < 0 || (s = rec_run_marginal(&r, &ss.model, ss.tok, &ss.cat, &set, hist, nh, traces))) {
            if (nh >= 0) rec_free(&r);
            free(why);
            if (s == SIDR_ERR_CANCELLED) break;
            rc = runtime_error("eval", nh < 0 ? SIDR_ERR_MISSING : s);
            break;
        }
        const sidr_item *target = &ss.ds.items[row->target];
        row_result *o = &res[done];
        o->row = (int)i;
        o->rank = target->sid ? rec_rank(&r, target->sid) : -1;
        o->reasoning_tokens = r.n_gen;
        o->seconds = now_seconds() - tr;
        o->user = xstrdup(ss.ds.users[row->user].id);
        o->target = xstrdup(target->sid ? target->sid : "");
        o->n_beams = r.bs.n_hyps;
        o->beams = xcalloc(r.bs.n_hyps ? r.bs.n_hyps : 1, sizeof(char *));
        for (int b = 0; b < r.bs.n_hyps; b++) {
            char sid[512];
            rec_beam_sid(&r, b, sid, sizeof sid);
            o->beams[b] = xstrdup(sid);
        }
        if (set.think) {
            o->has_trace = 1;
            o->reasoning = xstrdup(r.reasoning ? r.reasoning : "");
            grounding_measure(o->reasoning, &ss.ds, hist, nh, o->n_beams ? o->beams[0] : NULL, &o->g);
            o->g.forced = r.n_ground_changed;
        }
        metrics_add(&m, o->rank, r.bs.n_hyps == 0, r.n_gen, o->seconds, o->has_trace ? &o->g : NULL);
        rec_free(&r);
        free(why);
        snprintf(note, sizeof note, "HR@10 %.4f", m.hr[3] / m.rows);
        progress_update(&pr, done + 1 - resumed, note);
        /* the rows so far, every half minute, so a kill loses little (--resume) */
        if (json_path && now_seconds() - last_save > 30 && i + 1 < last) {
            if ((s = write_result(json_path, &meta, res, done + 1, &m, wall0 + now_seconds() - t0))) {
                rc = runtime_error("eval", s);
                done++;
                break;
            }
            last_save = now_seconds();
        }
    }
    double wall = wall0 + now_seconds() - t0;
    progress_end(&pr, done - resumed, interrupted ? "interrupted" : NULL);
    if (rc == EXIT_OK) {
        eval_intervals iv = intervals_of_rows(res, done);
        print_table(stdout, &m, last - first, wall, &iv);
        if (json_path && (s = write_result(json_path, &meta, res, done, &m, wall))) rc = runtime_error("eval", s);
    }
    for (long i = 0; i < done; i++) {
        for (int k = 0; k < res[i].n_beams; k++) free(res[i].beams[k]);
        free(res[i].beams);
        free(res[i].user);
        free(res[i].target);
        free(res[i].reasoning);
    }
    free(res);
    task_enrichment_free(&enr, &ss.ds);
    session_close(&ss);
    return rc ? rc : (interrupted || stopped ? EXIT_RUNTIME : EXIT_OK);
}

/* ---- eval-merge ------------------------------------------------------------- */

static int num(const cJSON *o, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v)) return -1;
    *out = v->valuedouble;
    return 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int same_setting(const cJSON *a, const cJSON *b, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, k), *y = cJSON_GetObjectItemCaseSensitive(b, k);
    return (!x && !y) || (x && y && cJSON_Compare(x, y, 1)); /* absent in both: older files without 'numerics' */
}

typedef struct {
    long row;
    int rank;
} row_rank;

static int cmp_ranked(const void *a, const void *b)
{
    long x = ((const row_rank *)a)->row, y = ((const row_rank *)b)->row;
    return x < y ? -1 : x > y;
}

int cmd_eval_merge(int argc, char **argv)
{
    const char *out_path = NULL;
    int c;
    static const struct option mopts[] = {
        { "json", required_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", mopts, NULL)) != -1) {
        switch (c) {
        case 'j': out_path = optarg; break;
        case 'h':
            printf("usage: sidr eval-merge [--json FILE] SHARD.json...\n"
                   "Combines the per-row results of 'sidr eval --shard I/N --json' runs and recomputes the\n"
                   "metrics exactly. The shards must share model, data, split, mode and beams, and may not\n"
                   "overlap.\n");
            return EXIT_OK;
        default: return usage_error("eval-merge", "unknown option");
        }
    }
    if (optind >= argc) return usage_error("eval-merge", "expected one or more result files");
    cJSON *first = NULL, *all_rows = cJSON_CreateArray();
    metrics m = { 0 };
    row_rank *ranked = NULL;
    long n_ranked = 0, cap_ranked = 0;
    double wall = 0, rows_in_split = 0, limit = 0;
    int rc = EXIT_OK, complete = 1;
    cJSON **docs = xcalloc(argc, sizeof *docs);
    for (int f = optind; f < argc && rc == EXIT_OK; f++) {
        char *text;
        sidr_status s = read_file(argv[f], &text, NULL);
        if (s) { rc = runtime_error("eval-merge", s); break; }
        cJSON *d = docs[f] = cJSON_Parse(text);
        free(text);
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(d, "per_row");
        if (!cJSON_IsArray(rows) || !str(d, "split")) {
            sidr_fail(SIDR_ERR_FORMAT, "%s: not a 'sidr eval --json' result (expected fields split and per_row)", argv[f]);
            rc = runtime_error("eval-merge", SIDR_ERR_FORMAT);
            break;
        }
        if (!first) {
            first = d;
            num(d, "rows_in_split", &rows_in_split);
            num(d, "limit", &limit);
        } else {
            for (size_t k = 0; k < N_SETTING_KEYS; k++)
                if (!same_setting(first, d, SETTING_KEYS[k])) {
                    sidr_fail(SIDR_ERR_FORMAT, "%s: field '%s' differs from %s's; shards must come from one evaluation",
                              argv[f], SETTING_KEYS[k], argv[optind]);
                    rc = runtime_error("eval-merge", SIDR_ERR_FORMAT);
                    break;
                }
        }
        if (rc) break;
        const cJSON *cpl = cJSON_GetObjectItemCaseSensitive(d, "complete");
        if (!cJSON_IsTrue(cpl)) complete = 0;
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(d, "metrics");
        double w = 0;
        if (!num(mt, "wall_seconds", &w) && w > wall) wall = w; /* shards run side by side */
        const cJSON *r;
        cJSON_ArrayForEach(r, rows) {
            double row, rank, rt, sec;
            if (num(r, "row", &row) || num(r, "rank", &rank) || num(r, "reasoning_tokens", &rt) || num(r, "seconds", &sec)) {
                sidr_fail(SIDR_ERR_FORMAT, "%s: a per_row entry lacks row, rank, reasoning_tokens or seconds", argv[f]);
                rc = runtime_error("eval-merge", SIDR_ERR_FORMAT);
                break;
            }
            const cJSON *prev;
            cJSON_ArrayForEach(prev, all_rows) {
                double pr;
                if (!num(prev, "row", &pr) && pr == row) {
                    sidr_fail(SIDR_ERR_FORMAT, "%s: row %.0f was already evaluated by another shard", argv[f], row);
                    rc = runtime_error("eval-merge", SIDR_ERR_FORMAT);
                    break;
                }
            }
            if (rc) break;
            const cJSON *beams = cJSON_GetObjectItemCaseSensitive(r, "beams");
            metrics_grounding g = { 0, 0, 0, 0, 0 };
            double gm, gc, gh;
            int has_trace = !num(r, "sid_mentions", &gm) && !num(r, "catalogue_mentions", &gc) &&
                            !num(r, "history_mentions", &gh);
            if (has_trace) {
                g.mentions = (int)gm;
                g.catalogue = (int)gc;
                g.history = (int)gh;
                g.top1 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "top1_mentioned"));
                double gf;
                if (!num(r, "forced_tokens", &gf)) g.forced = (int)gf;
            }
            metrics_add(&m, (int)rank, cJSON_GetArraySize(beams) == 0, (int)rt, sec, has_trace ? &g : NULL);
            if (n_ranked == cap_ranked)
                ranked = xrealloc(ranked, (size_t)(cap_ranked = cap_ranked * 2 + 256) * sizeof *ranked);
            ranked[n_ranked].row = (long)row;
            ranked[n_ranked++].rank = (int)rank;
            cJSON_AddItemToArray(all_rows, cJSON_Duplicate(r, 1));
        }
    }
    if (rc == EXIT_OK) {
        if (m.rows < (long)limit) complete = 0;
        /* row order, as a single run would have them */
        qsort(ranked, (size_t)n_ranked, sizeof *ranked, cmp_ranked);
        int *ranks = xmalloc((size_t)(n_ranked ? n_ranked : 1) * sizeof *ranks);
        for (long i = 0; i < n_ranked; i++) ranks[i] = ranked[i].rank;
        eval_intervals iv = eval_intervals_of(ranks, n_ranked);
        free(ranks);
        print_table(stdout, &m, (long)limit, wall, &iv);
        if (!complete) fprintf(stderr, "sidr eval-merge: warning: the shards cover %ld of %.0f rows\n", m.rows, limit);
        if (out_path) {
            cJSON *root = cJSON_CreateObject();
            for (size_t k = 0; k <= N_SETTING_KEYS; k++) {
                const char *key = k < N_SETTING_KEYS ? SETTING_KEYS[k] : "rows_in_split";
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(first, key);
                if (v) cJSON_AddItemToObject(root, key, cJSON_Duplicate(v, 1));
            }
            cJSON_AddNumberToObject(root, "shards", argc - optind);
            cJSON_AddBoolToObject(root, "complete", complete);
            cJSON_AddItemToObject(root, "metrics", eval_metrics_json(&m, wall, &iv));
            cJSON_AddItemToObject(root, "per_row", all_rows);
            all_rows = NULL;
            sidr_status s = write_json_file(out_path, root);
            if (s) rc = runtime_error("eval-merge", s);
            cJSON_Delete(root);
        }
    }
    cJSON_Delete(all_rows);
    free(ranked);
    for (int f = 0; f < argc; f++) cJSON_Delete(docs[f]);
    free(docs);
    (void)rows_in_split;
    return rc;
}

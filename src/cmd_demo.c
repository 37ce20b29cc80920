#define _POSIX_C_SOURCE 200809L
/* sidr demo build: generates the demo world (demo_world.h) and writes it in
 * the paper's layout; prints a summary (counts, split sizes, SID collisions,
 * baselines on the test split) on stdout, progress on stderr. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "demo_world.h"
#include "eval_summary.h"
#include "metrics.h"
#include "progress.h"
#include "util.h"

/* Progress on stderr: a bar per stage on a terminal (progress.h), else one
 * line per stage when it ends. */
typedef struct {
    int quiet, tty;
    char stage[64], label[96];
    long done, total;
    double t0;
    progress bar;
} demo_progress;

static void stage_end(demo_progress *p)
{
    if (p->stage[0] && !p->quiet) {
        if (p->tty) progress_end(&p->bar, p->done, NULL);
        else fprintf(stderr, "%s: %ld/%ld in %.2fs\n", p->label, p->done, p->total, now_seconds() - p->t0);
    }
    p->stage[0] = 0;
}

static int on_progress(void *user, const char *stage, long done, long total)
{
    demo_progress *p = user;
    if (strcmp(stage, p->stage) != 0) {
        stage_end(p);
        snprintf(p->stage, sizeof p->stage, "%s", stage);
        snprintf(p->label, sizeof p->label, "sidr demo: %s", p->stage);
        p->t0 = now_seconds();
        if (!p->quiet && p->tty) progress_start(&p->bar, p->label, total, "");
    }
    p->done = done;
    p->total = total;
    if (!p->quiet && p->tty) {
        p->bar.total = total > 0 ? total : 1;
        progress_update(&p->bar, done, NULL);
    }
    return interrupted;
}

static const struct option build_opts[] = {
    { "out", required_argument, NULL, 'o' },
    { "seed", required_argument, NULL, 's' },
    { "items", required_argument, NULL, 'I' },
    { "users", required_argument, NULL, 'U' },
    { "min-len", required_argument, NULL, 'm' },
    { "max-len", required_argument, NULL, 'M' },
    { "levels", required_argument, NULL, 'L' },
    { "codes", required_argument, NULL, 'K' },
    { "dim", required_argument, NULL, 'D' },
    { "category", required_argument, NULL, 'C' },
    { "quiet", no_argument, NULL, 'q' },
    { "json", no_argument, NULL, 'j' },
    { "baselines", required_argument, NULL, 'B' },
    { "sid-method", required_argument, NULL, 'S' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void build_help(void)
{
    printf("usage: sidr demo build [--out DIR] [--seed S] [--items N] [--users N] [options] [--json]\n"
           "Generates the demo world: a store of invented brands and products, users whose purchases\n"
           "follow latent projects (intents) with brand loyalty, price tiers, refills, upgrades and\n"
           "noise, SIDs built with sidr's own embeddings and residual k-means, and the enriched texts\n"
           "(item narratives, analyst reasoning, user narratives).  Writes the paper's layout under DIR:\n"
           "train|valid|test/<Cat>_demo.csv, info/, index/ (index.json, item.json, codebooks,\n"
           "item_enhanced_v2.json, integrated_narrative.csv) and demo_world.json.  Deterministic: the\n"
           "same options give the same bytes.\n\n"
           "  --out DIR        output folder (default demo-world; files of the same names are replaced)\n"
           "  --seed S         seed (default 42)\n"
           "  --items N        catalogue size, 200..20000 (default 2000)\n"
           "  --users N        users, 50..200000 (default 4000)\n"
           "  --min-len N      fewest events per user (default 5)\n"
           "  --max-len N      most events per user (default 25)\n"
           "  --levels L       SID levels (default 3)\n"
           "  --codes K        codes per SID level (default 64)\n"
           "  --dim D          item-embedding dimensions (default 64)\n"
           "  --sid-method M   rqkmeans (default: residual k-means) or rqvae (an RQ-VAE with 'sids\n"
           "                   build --method rqvae' defaults); the texts cite the SIDs it gives\n"
           "  --category CAT   dataset name (default Home_and_Hobby)\n"
           "  --quiet          no progress on stderr\n"
           "  --json           summary as JSON on stdout\n"
           "  --baselines DIR  also write each baseline (popularity, intent-rule, oracle) on the valid\n"
           "                   and test splits as 'sidr eval --json' files, DIR/NAME.SPLIT.json, so\n"
           "                   'sidr eval-diff' pairs a model with them row by row\n");
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* One baseline on one split, in the form 'sidr eval --json' writes (the
 * fields eval-diff, eval-merge's readers and the explorer's :load-eval read). */
static sidr_status write_baseline(const sidr_demo_world *w, sidr_demo_baseline which, int split, const char *dir,
                                  const char *data)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.%s.json", dir, sidr_demo_baseline_name(which), sidr_split_name((sidr_split_id)split));
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", sidr_demo_baseline_name(which));
    cJSON_AddStringToObject(root, "data", data);
    cJSON_AddStringToObject(root, "split", sidr_split_name((sidr_split_id)split));
    cJSON_AddStringToObject(root, "mode", "baseline");
    cJSON_AddNumberToObject(root, "beams", SIDR_DEMO_ORACLE_K);
    cJSON_AddNumberToObject(root, "rows_in_split", w->split_n[split]);
    cJSON_AddBoolToObject(root, "complete", 1);
    metrics m;
    memset(&m, 0, sizeof m);
    int *ranks = xmalloc((size_t)(w->split_n[split] > 0 ? w->split_n[split] : 1) * sizeof *ranks);
    cJSON *rows = cJSON_CreateArray();
    for (int r = 0; r < w->split_n[split]; r++) {
        const sidr_demo_sample *s = &w->samples[w->split_first[split] + r];
        const char *sids[SIDR_DEMO_ORACLE_K];
        int n, rank = sidr_demo_baseline_rank(w, which, s, sids, &n);
        metrics_add(&m, rank, 0, 0, 0, NULL);
        ranks[r] = rank;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "row", r);
        cJSON_AddStringToObject(o, "user", w->users[s->user].id);
        cJSON_AddStringToObject(o, "target", w->items[w->users[s->user].ev[s->pos].item].sid);
        cJSON_AddNumberToObject(o, "rank", rank);
        cJSON *b = cJSON_AddArrayToObject(o, "beams");
        for (int k = 0; k < n; k++) cJSON_AddItemToArray(b, cJSON_CreateString(sids[k]));
        cJSON_AddItemToArray(rows, o);
    }
    eval_intervals iv = eval_intervals_of(ranks, w->split_n[split]);
    free(ranks);
    cJSON_AddItemToObject(root, "metrics", eval_metrics_json(&m, 0, &iv));
    cJSON_AddItemToObject(root, "per_row", rows);
    sidr_status st = write_json_file(path, root);
    cJSON_Delete(root);
    return st;
}

static sidr_status write_baselines(const sidr_demo_world *w, const char *dir, const char *data)
{
    if (mkdir(dir, 0777) && errno != EEXIST) return sidr_fail(SIDR_ERR_IO, "--baselines %s: %s", dir, strerror(errno));
    for (int split = 1; split <= 2; split++)
        for (int which = 0; which < 3; which++) {
            sidr_status s = write_baseline(w, (sidr_demo_baseline)which, split, dir, data);
            if (s) return s;
        }
    return SIDR_OK;
}

static int cmd_demo_build(int argc, char **argv)
{
    sidr_demo_opts o;
    sidr_demo_defaults(&o);
    const char *out = "demo-world", *baselines_dir = NULL;
    int quiet = 0, json = 0, c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", build_opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (parse_int(optarg, 0, 0x7fffffffL, &v)) return usage_error("demo build", "--seed expects a non-negative integer");
            o.seed = (uint64_t)v;
            break;
        case 'I':
            if (parse_int(optarg, 200, 20000, &v)) return usage_error("demo build", "--items expects an integer in [200, 20000]");
            o.n_items = (int)v;
            break;
        case 'U':
            if (parse_int(optarg, 50, 200000, &v)) return usage_error("demo build", "--users expects an integer in [50, 200000]");
            o.n_users = (int)v;
            break;
        case 'm':
            if (parse_int(optarg, 2, 200, &v)) return usage_error("demo build", "--min-len expects an integer in [2, 200]");
            o.min_len = (int)v;
            break;
        case 'M':
            if (parse_int(optarg, 2, 200, &v)) return usage_error("demo build", "--max-len expects an integer in [2, 200]");
            o.max_len = (int)v;
            break;
        case 'L':
            if (parse_int(optarg, 1, 7, &v)) return usage_error("demo build", "--levels expects an integer in [1, 7]");
            o.sid_levels = (int)v;
            break;
        case 'K':
            if (parse_int(optarg, 2, 20000, &v)) return usage_error("demo build", "--codes expects an integer in [2, 20000]");
            o.sid_codes = (int)v;
            break;
        case 'D':
            if (parse_int(optarg, 2, 1024, &v)) return usage_error("demo build", "--dim expects an integer in [2, 1024]");
            o.sid_dim = (int)v;
            break;
        case 'C': o.category = optarg; break;
        case 'q': quiet = 1; break;
        case 'j': json = 1; break;
        case 'B': baselines_dir = optarg; break;
        case 'S':
            if (!strcmp(optarg, "rqkmeans")) o.sid_rqvae = 0;
            else if (!strcmp(optarg, "rqvae")) o.sid_rqvae = 1;
            else return usage_error("demo build", "--sid-method expects rqkmeans or rqvae, got '%s'", optarg);
            break;
        case 'h': build_help(); return EXIT_OK;
        default: return usage_error("demo build", "unknown option");
        }
    }
    if (optind != argc) return usage_error("demo build", "unexpected argument '%s'", argv[optind]);
    if (o.min_len > o.max_len)
        return usage_error("demo build", "--min-len %d exceeds --max-len %d", o.min_len, o.max_len);
    if (o.sid_codes > o.n_items)
        return usage_error("demo build", "--codes %d exceeds the %d items (k-means needs at least K items)", o.sid_codes,
                           o.n_items);
    install_interrupt_handler();
    demo_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.quiet = quiet;
    pr.tty = isatty(2);
    o.progress = on_progress;
    o.user = &pr;

    double t0 = now_seconds();
    sidr_demo_world w;
    sidr_status s = sidr_demo_generate(&o, &w);
    stage_end(&pr);
    if (s) return runtime_error("demo build", s);
    double t1 = now_seconds();
    char **paths = NULL;
    int n_paths = 0;
    if (!quiet) fprintf(stderr, "sidr demo: writing %s\n", out);
    s = sidr_demo_write(&w, out, &paths, &n_paths);
    if (s) {
        sidr_demo_free(&w);
        return runtime_error("demo build", s);
    }
    double t2 = now_seconds();
    if (baselines_dir && (s = write_baselines(&w, baselines_dir, out))) {
        for (int i = 0; i < n_paths; i++) free(paths[i]);
        free(paths);
        sidr_demo_free(&w);
        return runtime_error("demo build", s);
    }
    sidr_demo_baselines b;
    sidr_demo_baselines_compute(&w, 2, &b);
    double t3 = now_seconds();
    long total = 0;
    for (int i = 0; i < n_paths; i++) total += file_size(paths[i]);

    if (json) {
        printf("{\"out\":");
        json_string(stdout, out, strlen(out));
        printf(",\"seed\":%llu,\"category\":", (unsigned long long)w.opts.seed);
        json_string(stdout, w.category, strlen(w.category));
        printf(",\"items\":%d,\"users\":%d,\"events\":%d,\"samples\":%d,\"splits\":{\"train\":%d,\"valid\":%d,"
               "\"test\":%d},\"targets_by_kind\":{\"step\":%d,\"upgrade\":%d,\"refill\":%d,\"noise\":%d},"
               "\"departments\":%d,\"categories\":%d,\"product_types\":%d,\"brands\":%d,\"intent_templates\":%d,"
               "\"sid\":{\"method\":\"%s\",\"levels\":%d,\"codes\":%d,\"collisions\":%d},",
               w.n_items, w.n_users, w.n_events, w.n_samples, w.split_n[0], w.split_n[1], w.split_n[2],
               w.kind_count[0], w.kind_count[1], w.kind_count[2], w.kind_count[3], w.n_depts, w.n_cats, w.n_types,
               w.n_brands, w.n_intents, sidr_demo_sid_method_name(&w.opts), w.sid_levels, w.sid_codes,
               w.sid_collisions);
        printf("\"baselines_test\":{\"rows\":%d,\"k\":%d,\"popularity\":{\"hr\":%.6f,\"ndcg\":%.6f},"
               "\"intent_rule\":{\"hr\":%.6f,\"ndcg\":%.6f},\"oracle\":{\"hr\":%.6f,\"ndcg\":%.6f}},",
               b.rows, SIDR_DEMO_ORACLE_K, b.popularity_hr, b.popularity_ndcg, b.intent_hr, b.intent_ndcg,
               b.oracle_hr, b.oracle_ndcg);
        printf("\"files\":[");
        for (int i = 0; i < n_paths; i++) {
            printf("%s{\"path\":", i ? "," : "");
            json_string(stdout, paths[i], strlen(paths[i]));
            printf(",\"bytes\":%ld}", file_size(paths[i]));
        }
        printf("],\"bytes\":%ld,\"seconds\":{\"catalogue\":%.3f,\"sids\":%.3f,\"users\":%.3f,\"texts\":%.3f,"
               "\"generate\":%.3f,\"write\":%.3f,\"baselines\":%.3f}}\n",
               total, w.seconds_catalog, w.seconds_sids, w.seconds_users, w.seconds_text, t1 - t0, t2 - t1, t3 - t2);
    } else {
        printf("demo world   %s (seed %llu, category %s)\n", out, (unsigned long long)w.opts.seed, w.category);
        printf("catalogue    %d items: %d departments, %d categories, %d product types, %d brands\n", w.n_items,
               w.n_depts, w.n_cats, w.n_types, w.n_brands);
        printf("users        %d with %d events from %d intent templates (targets: %d steps, %d upgrades, %d refills, "
               "%d noise)\n",
               w.n_users, w.n_events, w.n_intents, w.kind_count[0], w.kind_count[1], w.kind_count[2], w.kind_count[3]);
        printf("samples      %d: train %d, valid %d, test %d (chronological 8:1:1, history <= %d)\n", w.n_samples,
               w.split_n[0], w.split_n[1], w.split_n[2], SIDR_DEMO_HISTORY);
        printf("SIDs         %d levels x %d codes, %d collisions (%s)\n", w.sid_levels, w.sid_codes, w.sid_collisions,
               w.opts.sid_rqvae ? "RQ-VAE" : "residual k-means");
        printf("baselines    test split, %d rows, HR@%d / NDCG@%d:\n", b.rows, SIDR_DEMO_ORACLE_K, SIDR_DEMO_ORACLE_K);
        printf("               popularity   %.4f / %.4f\n", b.popularity_hr, b.popularity_ndcg);
        printf("               intent rule  %.4f / %.4f   (history only)\n", b.intent_hr, b.intent_ndcg);
        printf("               oracle       %.4f / %.4f   (knows the latent intents)\n", b.oracle_hr, b.oracle_ndcg);
        printf("files        %.1f MB in %d files\n", total / 1e6, n_paths);
        for (int i = 0; i < n_paths; i++) printf("               %9ld  %s\n", file_size(paths[i]), paths[i]);
        printf("time         %.2fs generate (catalogue %.2fs, SIDs %.2fs, users %.2fs, texts %.2fs), %.2fs write, "
               "%.2fs baselines\n",
               t1 - t0, w.seconds_catalog, w.seconds_sids, w.seconds_users, w.seconds_text, t2 - t1, t3 - t2);
    }
    for (int i = 0; i < n_paths; i++) free(paths[i]);
    free(paths);
    sidr_demo_free(&w);
    return EXIT_OK;
}

int cmd_demo(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: sidr demo build [--out DIR] [--seed S] [--items N] [--users N] [--json]\n"
                   "'sidr demo build --help' lists the options.\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "build")) return cmd_demo_build(argc - 1, argv + 1);
    return usage_error("demo", "unknown subcommand '%s' (expected build)", argv[1]);
}

/* sidr eval-diff A.json B.json: the paired difference of two evaluations of
 * the same rows (B - A) with its 95% bootstrap interval, and the rows where
 * one hits and the other misses. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "eval_pair.h"
#include "metrics.h"
#include "util.h"

static const char *jstr(const cJSON *o, const char *k)
{
    return eval_doc_str(o, k);
}

static cJSON *side_json(const eval_doc *e, double hr, double ndcg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", e->path);
    static const char *keys[] = { "model", "mode", "split", "beams" };
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->doc, keys[k]);
        if (v) cJSON_AddItemToObject(o, keys[k], cJSON_Duplicate(v, 1));
    }
    cJSON_AddNumberToObject(o, "HR@10", hr);
    cJSON_AddNumberToObject(o, "NDCG@10", ndcg);
    return o;
}

static cJSON *diff_json(const metrics_interval *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mean", d->mean);
    cJSON *ci = cJSON_AddArrayToObject(o, "ci95");
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(d->lo));
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(d->hi));
    return o;
}

static cJSON *row_json(const eval_doc *a, const eval_doc *b, long row)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "row", (double)row);
    const char *u = jstr(a->entry_of[row], "user"), *t = jstr(a->entry_of[row], "target");
    if (u) cJSON_AddStringToObject(o, "user", u);
    if (t) cJSON_AddStringToObject(o, "target", t);
    cJSON_AddNumberToObject(o, "rank_a", a->rank_of[row]);
    cJSON_AddNumberToObject(o, "rank_b", b->rank_of[row]);
    return o;
}

static void print_rows(const char *what, const cJSON *list, const eval_doc *a, int show)
{
    int n = cJSON_GetArraySize(list);
    printf("%s: %d rows%s\n", what, n, n > show && show > 0 ? " (the first shown)" : "");
    int k = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, list) {
        if (k++ >= show) break;
        long row = (long)cJSON_GetObjectItemCaseSensitive(r, "row")->valuedouble;
        const char *u = jstr(a->entry_of[row], "user");
        printf("  %s:%ld%s%s  rank %d -> %d\n", jstr(a->doc, "split"), row, u ? " " : "", u ? u : "",
               (int)cJSON_GetObjectItemCaseSensitive(r, "rank_a")->valuedouble,
               (int)cJSON_GetObjectItemCaseSensitive(r, "rank_b")->valuedouble);
    }
}

int cmd_eval_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", required_argument, NULL, 'j' }, { "k", required_argument, NULL, 'k' },
        { "show", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *json_path = NULL;
    long k = 10, show = 10;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json_path = optarg; break;
        case 'k': if (parse_int(optarg, 1, 1000, &k)) return usage_error("eval-diff", "--k expects an integer in [1, 1000]"); break;
        case 's': if (parse_int(optarg, 0, 1L << 30, &show)) return usage_error("eval-diff", "--show expects a non-negative integer"); break;
        case 'h':
            printf("usage: sidr eval-diff [--k K] [--show N] [--json FILE] A.json B.json\n"
                   "Pairs the rows of two 'sidr eval --json' results of the same split and reports B - A for\n"
                   "HR@K and NDCG@K (K = 10 by default) with 95%% paired-bootstrap intervals (%d resamples,\n"
                   "fixed seed), and the rows where only A or only B hits @K (--show N of each; all in --json).\n",
                   METRICS_RESAMPLES);
            return EXIT_OK;
        default: return usage_error("eval-diff", "unknown option");
        }
    }
    if (argc - optind != 2) return usage_error("eval-diff", "expected two result files, A.json and B.json");
    eval_doc a, b;
    char warn[1200];
    sidr_status s = eval_pair_load(&a, &b, argv[optind], argv[optind + 1], warn, sizeof warn);
    if (s) return runtime_error("eval-diff", s);
    if (warn[0]) fprintf(stderr, "sidr eval-diff: warning: %s\n", warn);
    long n = 0, only_a_n = 0, only_b_n = 0, both = 0, neither = 0, max = a.max_row < b.max_row ? a.max_row : b.max_row;
    for (long r = 0; r <= max; r++) n += a.rank_of[r] != -2 && b.rank_of[r] != -2;
    int rc = EXIT_OK;
    if (n == 0) {
        sidr_fail(SIDR_ERR_FORMAT, "%s and %s share no row", a.path, b.path);
        rc = runtime_error("eval-diff", SIDR_ERR_FORMAT);
    } else {
        if (n < a.n || n < b.n)
            fprintf(stderr, "sidr eval-diff: warning: pairing %ld rows (%s has %ld, %s has %ld)\n", n, a.path, a.n, b.path, b.n);
        double *dh = xmalloc((size_t)n * sizeof *dh), *dn = xmalloc((size_t)n * sizeof *dn);
        double ha = 0, hb = 0, na = 0, nb = 0;
        cJSON *only_a = cJSON_CreateArray(), *only_b = cJSON_CreateArray();
        long i = 0;
        for (long r = 0; r <= max; r++) {
            if (a.rank_of[r] == -2 || b.rank_of[r] == -2) continue;
            int ra = a.rank_of[r], rb = b.rank_of[r];
            double xa = metric_hr(ra, (int)k), xb = metric_hr(rb, (int)k);
            ha += xa, hb += xb;
            na += metric_ndcg(ra, (int)k), nb += metric_ndcg(rb, (int)k);
            dh[i] = xb - xa;
            dn[i++] = metric_ndcg(rb, (int)k) - metric_ndcg(ra, (int)k);
            if (xa && !xb) cJSON_AddItemToArray(only_a, row_json(&a, &b, r)), only_a_n++;
            else if (xb && !xa) cJSON_AddItemToArray(only_b, row_json(&a, &b, r)), only_b_n++;
            else if (xa) both++;
            else neither++;
        }
        metrics_interval d_hr = metrics_bootstrap(dh, n, METRICS_RESAMPLES, METRICS_SEED);
        metrics_interval d_nd = metrics_bootstrap(dn, n, METRICS_RESAMPLES, METRICS_SEED);
        printf("A  %s (%s)\nB  %s (%s)\n", jstr(a.doc, "model") ? jstr(a.doc, "model") : a.path,
               jstr(a.doc, "mode") ? jstr(a.doc, "mode") : "?", jstr(b.doc, "model") ? jstr(b.doc, "model") : b.path,
               jstr(b.doc, "mode") ? jstr(b.doc, "mode") : "?");
        printf("%ld paired rows of %s\n", n, jstr(a.doc, "split"));
        printf("            A        B        B - A    95%% paired-bootstrap interval\n");
        printf("HR@%-3ld   %.4f   %.4f   %+.4f  [%+.4f, %+.4f]\n", k, ha / n, hb / n, d_hr.mean, d_hr.lo, d_hr.hi);
        printf("NDCG@%-3ld %.4f   %.4f   %+.4f  [%+.4f, %+.4f]\n", k, na / n, nb / n, d_nd.mean, d_nd.lo, d_nd.hi);
        printf("hits @%ld in both %ld, in neither %ld\n", k, both, neither);
        print_rows("only A hits", only_a, &a, (int)show);
        print_rows("only B hits", only_b, &a, (int)show);
        if (json_path) {
            cJSON *root = cJSON_CreateObject();
            cJSON_AddItemToObject(root, "a", side_json(&a, ha / n, na / n));
            cJSON_AddItemToObject(root, "b", side_json(&b, hb / n, nb / n));
            cJSON_AddNumberToObject(root, "k", (double)k);
            cJSON_AddNumberToObject(root, "rows", (double)n);
            cJSON_AddNumberToObject(root, "resamples", METRICS_RESAMPLES);
            cJSON *d = cJSON_AddObjectToObject(root, "diff");
            char key[24];
            snprintf(key, sizeof key, "HR@%ld", k);
            cJSON_AddItemToObject(d, key, diff_json(&d_hr));
            snprintf(key, sizeof key, "NDCG@%ld", k);
            cJSON_AddItemToObject(d, key, diff_json(&d_nd));
            cJSON_AddNumberToObject(root, "both", (double)both);
            cJSON_AddNumberToObject(root, "neither", (double)neither);
            cJSON_AddItemToObject(root, "only_a", only_a);
            cJSON_AddItemToObject(root, "only_b", only_b);
            only_a = only_b = NULL;
            if ((s = write_json_file(json_path, root))) rc = runtime_error("eval-diff", s);
            cJSON_Delete(root);
        }
        cJSON_Delete(only_a);
        cJSON_Delete(only_b);
        free(dh);
        free(dn);
    }
    eval_doc_free(&a);
    eval_doc_free(&b);
    return rc;
}

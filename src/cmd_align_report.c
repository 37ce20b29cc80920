/* sidr align-report: has the model tied each SID to its item?  Title ->
 * SID and SID -> title on the task-2 prompts, embeddings against the
 * codebook, and the level-a confusions; a table, or JSON with every item. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_report.h"
#include "cli.h"
#include "commands.h"
#include "progress.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "data", required_argument, NULL, 'd' },
    { "items", required_argument, NULL, 'n' },
    { "seed", required_argument, NULL, 's' },
    { "beams", required_argument, NULL, 'b' },
    { "knn", required_argument, NULL, 'k' },
    { "json", required_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("usage: sidr align-report [--model DIR] [--data DIR] [--items N] [--seed S] [--beams B] [--knn K]\n"
           "                         [--json FILE]\n"
           "Measures SID-item alignment on a seeded sample of N catalogue items (default: all) with the\n"
           "Stage-1 title/SID prompts: title -> SID by the trie-constrained beam (hit@1, hit@10, and the\n"
           "top beam's accuracy per level: a, a+b, a+b+c), SID -> title by greedy decoding of as many tokens as the\n"
           "real title has (exact match, word F1), how many of each code's K (10) nearest codes by the model's SID-token embedding are\n"
           "among its K nearest by codebook vector (when the data has codebooks), and the level-a codes\n"
           "the model confuses most. --json FILE adds every item's result.\n");
}

static int on_item(const align_report *r, int done, int total, void *ctx)
{
    (void)total;
    char note[64];
    int hit = 0;
    for (int i = 0; i < r->n; i++) hit += r->v[i].rank == 0;
    snprintf(note, sizeof note, "title->SID hit@1 %.3f", (double)hit / (r->n ? r->n : 1));
    progress_update(ctx, done, note);
    return interrupted;
}

typedef struct { int truth, pred, n; } confusion;

static int by_count(const void *a, const void *b)
{
    const confusion *x = a, *y = b;
    return x->n != y->n ? y->n - x->n : x->truth != y->truth ? x->truth - y->truth : x->pred - y->pred;
}

/* The off-diagonal cells of the level-a confusion, most frequent first. */
static int top_confusions(const align_report *r, confusion *out, int max)
{
    int K = r->codes_a, n = 0;
    confusion *all = malloc(((size_t)K * K + 1) * sizeof *all);
    if (!all) return 0;
    for (int t = 0; t < K; t++)
        for (int p = 0; p < K; p++)
            if (t != p && r->confusion[t * K + p]) all[n++] = (confusion){ t, p, r->confusion[t * K + p] };
    qsort(all, (size_t)n, sizeof *all, by_count);
    n = n < max ? n : max;
    memcpy(out, all, (size_t)n * sizeof *all);
    free(all);
    return n;
}

static void print_report(const align_report *r, const session *ss)
{
    printf("items %d\n", r->n);
    printf("title -> SID   hit@1 %.4f  hit@10 %.4f  top beam right:", r->hit1, r->hit10);
    for (int l = 0; l < r->depth; l++) printf(" %s%c %.4f", l ? "+" : "", 'a' + l, r->level_acc[l]);
    printf("\nSID -> title   exact %.4f  word F1 %.4f\n", r->exact, r->f1);
    if (r->knn_levels) {
        printf("embedding vs codebook, shared of %d nearest codes:", r->knn);
        for (int l = 0; l < r->knn_levels; l++) printf(" %c %.3f (chance %.3f)", 'a' + l, r->knn_overlap[l], r->knn_chance[l]);
        printf("\n");
    }
    if (r->knn_note[0]) printf("embedding vs codebook: %s\n", r->knn_note);
    confusion c[10];
    int nc = top_confusions(r, c, 10);
    if (nc) {
        printf("level-a confusions (true -> predicted, items):");
        for (int i = 0; i < nc; i++) printf(" <a_%d>-><a_%d> %d", c[i].truth, c[i].pred, c[i].n);
        printf("\n");
    }
    int shown = 0;
    for (int i = 0; i < r->n && shown < 5; i++) {
        const align_item *a = &r->v[i];
        if (a->rank == 0 && a->exact) continue;
        const sidr_item *it = &ss->ds.items[a->item];
        printf("  %s %s \"%s\": title->SID %s (rank %d), SID->title \"%s\"\n", it->id, it->sid, it->title, a->top_sid,
               a->rank, a->title);
        shown++;
    }
}

static cJSON *report_json(const align_report *r, const session *ss)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "items", r->n);
    cJSON *t = cJSON_AddObjectToObject(o, "title_to_sid");
    cJSON_AddNumberToObject(t, "hit@1", r->hit1);
    cJSON_AddNumberToObject(t, "hit@10", r->hit10);
    cJSON *lv = cJSON_AddArrayToObject(t, "levels_right");
    for (int l = 0; l < r->depth; l++) cJSON_AddItemToArray(lv, cJSON_CreateNumber(r->level_acc[l]));
    cJSON *s = cJSON_AddObjectToObject(o, "sid_to_title");
    cJSON_AddNumberToObject(s, "exact", r->exact);
    cJSON_AddNumberToObject(s, "word_f1", r->f1);
    cJSON *e = cJSON_AddObjectToObject(o, "embedding_knn");
    cJSON_AddNumberToObject(e, "k", r->knn);
    cJSON *ov = cJSON_AddArrayToObject(e, "overlap"), *ch = cJSON_AddArrayToObject(e, "chance");
    for (int l = 0; l < r->knn_levels; l++) {
        cJSON_AddItemToArray(ov, cJSON_CreateNumber(r->knn_overlap[l]));
        cJSON_AddItemToArray(ch, cJSON_CreateNumber(r->knn_chance[l]));
    }
    if (r->knn_note[0]) cJSON_AddStringToObject(e, "note", r->knn_note);
    confusion c[20];
    int nc = top_confusions(r, c, 20);
    cJSON *cf = cJSON_AddArrayToObject(o, "level_a_confusions");
    for (int i = 0; i < nc; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "true", c[i].truth);
        cJSON_AddNumberToObject(x, "predicted", c[i].pred);
        cJSON_AddNumberToObject(x, "items", c[i].n);
        cJSON_AddItemToArray(cf, x);
    }
    cJSON *rows = cJSON_AddArrayToObject(o, "per_item");
    for (int i = 0; i < r->n; i++) {
        const align_item *a = &r->v[i];
        const sidr_item *it = &ss->ds.items[a->item];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "item", it->id);
        cJSON_AddStringToObject(x, "sid", it->sid);
        cJSON_AddStringToObject(x, "title", it->title);
        cJSON_AddStringToObject(x, "predicted_sid", a->top_sid);
        cJSON_AddNumberToObject(x, "rank", a->rank);
        cJSON_AddNumberToObject(x, "levels_right", a->levels_right);
        cJSON_AddStringToObject(x, "predicted_title", a->title);
        cJSON_AddBoolToObject(x, "title_exact", a->exact);
        cJSON_AddNumberToObject(x, "title_f1", a->f1);
        cJSON_AddItemToArray(rows, x);
    }
    return o;
}

int cmd_align_report(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *json_path = NULL;
    align_opts o;
    align_opts_default(&o);
    long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'j': json_path = optarg; break;
        case 'n': if (parse_int(optarg, 1, 1L << 30, &v)) return usage_error("align-report", "--items expects a positive integer"); o.items = (int)v; break;
        case 's': if (parse_int(optarg, 0, 1L << 62, &v)) return usage_error("align-report", "--seed expects an integer >= 0"); o.seed = (uint64_t)v; break;
        case 'b': if (parse_int(optarg, 1, 256, &v)) return usage_error("align-report", "--beams expects an integer in [1, 256]"); o.beams = (int)v; break;
        case 'k': if (parse_int(optarg, 1, 1000, &v)) return usage_error("align-report", "--knn expects an integer in [1, 1000]"); o.knn = (int)v; break;
        case 'h': help(); return EXIT_OK;
        default: return usage_error("align-report", "unknown option");
        }
    }
    if (optind != argc) return usage_error("align-report", "unexpected argument '%s'", argv[optind]);
    if (!(model = resolve_model_dir("align-report", model)) || !(data = resolve_data_dir("align-report", data))) return EXIT_USAGE;
    session ss;
    sidr_status s = session_open(&ss, model, data, NULL);
    if (s) return runtime_error("align-report", s);
    progress pr;
    progress_start(&pr, "align-report", o.items > 0 && o.items < ss.ds.n_items_with_sid ? o.items : ss.ds.n_items_with_sid,
                   "items");
    install_interrupt_handler();
    align_report r;
    s = align_report_run(&r, &ss, &o, on_item, &pr);
    progress_end(&pr, r.n, s == SIDR_ERR_CANCELLED ? "interrupted" : NULL);
    int rc = EXIT_OK;
    if (s && s != SIDR_ERR_CANCELLED) rc = runtime_error("align-report", s);
    else {
        print_report(&r, &ss);
        if (json_path) {
            cJSON *root = report_json(&r, &ss);
            cJSON_AddStringToObject(root, "model", model);
            cJSON_AddStringToObject(root, "data", data);
            cJSON_AddBoolToObject(root, "complete", s == SIDR_OK);
            if ((s = write_json_file(json_path, root))) rc = runtime_error("align-report", s);
            cJSON_Delete(root);
        }
        if (rc == EXIT_OK && r.n && interrupted) rc = EXIT_RUNTIME;
    }
    align_report_free(&r);
    session_close(&ss);
    return rc;
}

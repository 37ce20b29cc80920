/* sidr explain: why this recommendation — attention from the decision to the
 * history items, occlusion of each item, and a logit lens over the SID
 * steps (src/explain.h), as a table or as JSON for scripts. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "explain.h"
#include "explain_svg.h"
#include "session.h"
#include "util.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "data", required_argument, NULL, 'd' },
    { "user", required_argument, NULL, 'u' },
    { "row", required_argument, NULL, 'r' },
    { "methods", required_argument, NULL, 'M' },
    { "think", no_argument, NULL, 't' },
    { "no-think", no_argument, NULL, 'n' },
    { "beams", required_argument, NULL, 'b' },
    { "max-reasoning", required_argument, NULL, 'R' },
    { "json", no_argument, NULL, 'j' },
    { "svg", required_argument, NULL, 'S' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("usage: sidr explain [--model DIR] [--data DIR] (--row SPLIT:N | --user ID) [options]\n"
           "Why the top SID: per history item, the attention mass from the decision (the separator\n"
           "and the SID steps of the top beam; mean over heads, summed over layers) to the item's\n"
           "SID tokens, and the occlusion effect (item removed, reasoning and beam re-run: the change\n"
           "in the top-1 SID's log-probability and its new rank); per SID step, the logit lens (the\n"
           "chosen and the target token's rank and log-probability under each layer's residual).\n"
           "  --methods LIST        attention,occlusion,grad,lens (default all); grad: gradient x input of\n"
           "                        the top SID's log-probability on each item's SID tokens\n"
           "  --think / --no-think  as sidr recommend (default think)\n"
           "  --beams B             beam width (default 10)\n"
           "  --max-reasoning N     reasoning cap (default 1024)\n"
           "  --json                everything as one JSON object\n"
           "  --svg FILE            also a self-contained SVG: attribution bars and the lens heat strip\n");
}

static int parse_methods(const char *spec)
{
    int m = 0;
    char *copy = xstrdup(spec), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "attention")) m |= EXPLAIN_ATTENTION;
        else if (!strcmp(t, "occlusion")) m |= EXPLAIN_OCCLUSION;
        else if (!strcmp(t, "lens")) m |= EXPLAIN_LENS;
        else if (!strcmp(t, "grad")) m |= EXPLAIN_GRAD;
        else { m = -1; break; }
    }
    free(copy);
    return m;
}

static int progress(int done, int total, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "sidr explain: occlusion %d/%d\n", done, total);
    return interrupted;
}

static void token_text(const session *ss, int id, char *buf, size_t cap)
{
    size_t len = 0;
    const char *b = sidr_tokenizer_token_bytes(ss->tok, id, &len);
    if (!b) len = 0;
    if (len >= cap) len = cap - 1;
    memcpy(buf, b ? b : "", len);
    buf[len] = 0;
}

static cJSON *lens_json(const explain_result *ex, const explain_lens_row *row, const session *ss)
{
    cJSON *o = cJSON_CreateObject();
    char t[128];
    token_text(ss, row->token, t, sizeof t);
    cJSON_AddStringToObject(o, "token", t);
    cJSON_AddNumberToObject(o, "token_id", row->token);
    cJSON *ls = cJSON_AddArrayToObject(o, "layers");
    for (int l = 0; l < ex->n_layers; l++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "layer", l);
        cJSON_AddNumberToObject(e, "rank", row->rank[l]);
        cJSON_AddNumberToObject(e, "logprob", row->logprob[l]);
        cJSON_AddItemToArray(ls, e);
    }
    return o;
}

static cJSON *result_json(const explain_result *ex, const session *ss, const char *rowname, const sidr_sample *row,
                          const char *target_sid, int rank)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "row", rowname);
    cJSON_AddStringToObject(o, "user", ss->ds.users[row->user].id);
    cJSON_AddStringToObject(o, "mode", ex->run.set.think ? "think" : "no-think");
    cJSON_AddStringToObject(o, "numerics", sidr_numerics_name(ss->model.numerics));
    cJSON *mm = cJSON_AddArrayToObject(o, "methods");
    if (ex->methods & EXPLAIN_ATTENTION) cJSON_AddItemToArray(mm, cJSON_CreateString("attention"));
    if (ex->methods & EXPLAIN_OCCLUSION) cJSON_AddItemToArray(mm, cJSON_CreateString("occlusion"));
    if (ex->methods & EXPLAIN_LENS) cJSON_AddItemToArray(mm, cJSON_CreateString("lens"));
    if (ex->methods & EXPLAIN_GRAD) cJSON_AddItemToArray(mm, cJSON_CreateString("grad"));
    if (ex->grad_x_input) cJSON_AddNumberToObject(o, "grad_forward_logprob", ex->grad_logprob);
    if (target_sid) cJSON_AddStringToObject(o, "target", target_sid);
    else cJSON_AddNullToObject(o, "target");
    cJSON_AddNumberToObject(o, "rank", rank);
    if (ex->run.reasoning) cJSON_AddStringToObject(o, "reasoning", ex->run.reasoning);
    cJSON *top = cJSON_AddArrayToObject(o, "top");
    for (int i = 0; i < ex->run.bs.n_hyps; i++) {
        char sid[512];
        rec_beam_sid(&ex->run, i, sid, sizeof sid);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "sid", sid);
        cJSON_AddNumberToObject(e, "score", ex->run.bs.hyps[i].score);
        cJSON_AddItemToArray(top, e);
    }
    cJSON_AddNumberToObject(o, "top_logprob", ex->top_logprob);
    cJSON *sl = cJSON_AddArrayToObject(o, "top_step_logprobs");
    for (int k = 0; k < ex->n_top_tokens; k++) cJSON_AddItemToArray(sl, cJSON_CreateNumber(ex->step_logprob[k]));
    cJSON *h = cJSON_AddArrayToObject(o, "history");
    for (int i = 0; i < ex->n_hist; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "sid", ex->hist[i]);
        cJSON_AddStringToObject(e, "title", ss->ds.items[row->hist[i]].title);
        if (ex->attention) {
            cJSON_AddNumberToObject(e, "attention", ex->attention[i]);
            cJSON *al = cJSON_AddArrayToObject(e, "attention_by_layer");
            for (int l = 0; l < ex->n_layers; l++)
                cJSON_AddItemToArray(al, cJSON_CreateNumber(ex->attention_layer[(size_t)i * ex->n_layers + l]));
        }
        if (ex->occl_delta && i < ex->occl_done) {
            cJSON *oc = cJSON_AddObjectToObject(e, "occlusion");
            if (isfinite(ex->occl_delta[i])) cJSON_AddNumberToObject(oc, "delta_logprob", ex->occl_delta[i]);
            else cJSON_AddNullToObject(oc, "delta_logprob");
            cJSON_AddNumberToObject(oc, "new_rank", ex->occl_rank[i]);
        }
        if (ex->grad_x_input) cJSON_AddNumberToObject(e, "grad_x_input", ex->grad_x_input[i]);
        else cJSON_AddNullToObject(e, "grad_x_input");
        cJSON_AddItemToArray(h, e);
    }
    if (ex->methods & EXPLAIN_LENS) {
        cJSON *ll = cJSON_AddArrayToObject(o, "logit_lens");
        for (int k = 0; k < ex->depth && k < 8; k++) {
            if (!ex->chosen[k].rank) continue;
            cJSON *e = lens_json(ex, &ex->chosen[k], ss);
            char step[2] = { (char)('a' + k), 0 };
            cJSON_AddStringToObject(e, "step", step);
            if (ex->target[k].rank) cJSON_AddItemToObject(e, "target", lens_json(ex, &ex->target[k], ss));
            cJSON_AddItemToArray(ll, e);
        }
    }
    return o;
}

static void bar(double v, double max, int width)
{
    int n = max > 0 ? (int)lround(v / max * width) : 0;
    for (int i = 0; i < width; i++) putchar(i < n ? '#' : ' ');
}

static void print_table(const explain_result *ex, const session *ss, const sidr_sample *row, const char *target_sid,
                        int rank)
{
    char top[512];
    rec_beam_sid(&ex->run, 0, top, sizeof top);
    printf("top-1 %s (log-probability %.4f); target %s, %s\n\n", top, ex->top_logprob, target_sid ? target_sid : "-",
           rank >= 0 ? "hit" : "miss");
    double amax = 0, omax = 0;
    for (int i = 0; i < ex->n_hist; i++) {
        if (ex->attention && ex->attention[i] > amax) amax = ex->attention[i];
        if (ex->occl_delta && i < ex->occl_done && isfinite(ex->occl_delta[i]) && fabs(ex->occl_delta[i]) > omax)
            omax = fabs(ex->occl_delta[i]);
    }
    printf(" #  %-22s %-18s %-22s %s title\n", "SID", ex->attention ? "attention" : "",
           ex->occl_delta ? "occlusion dlogp (rank)" : "", ex->grad_x_input ? " grad x in " : "");
    for (int i = 0; i < ex->n_hist; i++) {
        printf("%2d  %-22s ", i + 1, ex->hist[i]);
        if (ex->attention) {
            printf("%.3f ", ex->attention[i]);
            bar(ex->attention[i], amax, 12);
        } else printf("%18s", "");
        putchar(' ');
        if (ex->occl_delta && i < ex->occl_done) {
            if (isfinite(ex->occl_delta[i])) printf("%+8.3f %-4d ", ex->occl_delta[i], ex->occl_rank[i] >= 0 ? ex->occl_rank[i] + 1 : 0);
            else printf("%8s %-4s ", "-", "-");
            bar(fabs(isfinite(ex->occl_delta[i]) ? ex->occl_delta[i] : 0), omax, 8);
        } else printf("%22s", "");
        if (ex->grad_x_input) printf(" %+8.4f", ex->grad_x_input[i]);
        printf("  %s\n", ss->ds.items[row->hist[i]].title);
    }
    if (ex->occl_delta) printf("(occlusion: new rank of the top-1 SID after the item is removed, 0 = no longer in the beam)\n");
    if (ex->methods & EXPLAIN_LENS) {
        printf("\nlogit lens: rank of the chosen token (and the target's) by layer, 1 = the most probable\n step token   ");
        for (int l = 0; l < ex->n_layers; l++) printf(" L%-4d", l);
        putchar('\n');
        for (int k = 0; k < ex->depth && k < 8; k++) {
            if (!ex->chosen[k].rank) continue;
            char t[64];
            token_text(ss, ex->chosen[k].token, t, sizeof t);
            printf("   %c  %-9s", 'a' + k, t);
            for (int l = 0; l < ex->n_layers; l++) printf(" %-5d", ex->chosen[k].rank[l] + 1);
            putchar('\n');
            if (ex->target[k].rank) {
                token_text(ss, ex->target[k].token, t, sizeof t);
                printf("      %-9s", t);
                for (int l = 0; l < ex->n_layers; l++) printf(" %-5d", ex->target[k].rank[l] + 1);
                printf("  (target)\n");
            }
        }
    }
}

int cmd_explain(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *user = NULL, *rowspec = NULL;
    const char *svg = NULL;
    int json = 0, methods = EXPLAIN_ATTENTION | EXPLAIN_OCCLUSION | EXPLAIN_LENS | EXPLAIN_GRAD, c;
    rec_settings set;
    rec_settings_default(&set);
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'u': user = optarg; break;
        case 'r': rowspec = optarg; break;
        case 't': set.think = 1; break;
        case 'n': set.think = 0; break;
        case 'j': json = 1; break;
        case 'S': svg = optarg; break;
        case 'M':
            if ((methods = parse_methods(optarg)) <= 0)
                return usage_error("explain", "--methods expects a comma-separated list of attention, occlusion, grad and lens");
            break;
        case 'b': if (parse_int(optarg, 1, 256, &v)) return usage_error("explain", "--beams expects an integer in [1, 256]"); set.beams = (int)v; break;
        case 'R': if (parse_int(optarg, 1, 32768, &v)) return usage_error("explain", "--max-reasoning expects an integer in [1, 32768]"); set.max_reasoning = (int)v; break;
        case 'h': help(); return EXIT_OK;
        default: return usage_error("explain", "unknown option");
        }
    }
    if (optind != argc) return usage_error("explain", "unexpected argument '%s'", argv[optind]);
    if (!user == !rowspec) return usage_error("explain", "give exactly one of --user ID and --row SPLIT:N");
    if (!(model = resolve_model_dir("explain", model)) || !(data = resolve_data_dir("explain", data))) return EXIT_USAGE;
    session ss;
    sidr_status s = session_open(&ss, model, data, NULL);
    if (s) return runtime_error("explain", s);
    sidr_split_id split;
    int rown, rc = EXIT_OK;
    s = user ? session_user_row(&ss, user, &split, &rown) : session_parse_row(&ss, rowspec, &split, &rown);
    if (s) {
        session_close(&ss);
        return runtime_error("explain", s);
    }
    const sidr_sample *row = sidr_dataset_row(&ss.ds, split, rown);
    const char *hist[SIDR_MAX_HISTORY];
    int nh = session_history(&ss, row, hist);
    const char *target = ss.ds.items[row->target].sid;
    explain_result ex;
    memset(&ex, 0, sizeof ex);
    install_interrupt_handler();
    if (nh < 0) s = SIDR_ERR_MISSING;
    else s = explain_run(&ex, &ss, &set, hist, nh, target, methods, progress, NULL);
    if (s && s != SIDR_ERR_CANCELLED) {
        rc = runtime_error("explain", s);
    } else {
        if (s) fprintf(stderr, "sidr explain: %s\n", sidr_last_error());
        int rank = target ? rec_rank(&ex.run, target) : -1;
        char rowname[64];
        snprintf(rowname, sizeof rowname, "%s:%d", sidr_split_name(split), rown);
        if (json) {
            cJSON *o = result_json(&ex, &ss, rowname, row, target, rank);
            char *text = cJSON_PrintUnformatted(o);
            printf("%s\n", text);
            free(text);
            cJSON_Delete(o);
        } else {
            printf("user %s, %s\n", ss.ds.users[row->user].id, rowname);
            print_table(&ex, &ss, row, target, rank);
        }
        if (svg) {
            sidr_status w = explain_svg_write_row(svg, &ex, &ss, split, rown);
            if (w) rc = runtime_error("explain", w);
        }
        if (s && rc == EXIT_OK) rc = EXIT_RUNTIME;
    }
    explain_free(&ex);
    session_close(&ss);
    return rc;
}

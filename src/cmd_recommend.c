/* sidr recommend: one user's recommendation, reasoning streamed as it is
 * written, then the top-K SIDs with their items. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "recommend.h"
#include "session.h"
#include "util.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "data", required_argument, NULL, 'd' },
    { "user", required_argument, NULL, 'u' },
    { "row", required_argument, NULL, 'r' },
    { "think", no_argument, NULL, 't' },
    { "no-think", no_argument, NULL, 'n' },
    { "beams", required_argument, NULL, 'b' },
    { "max-reasoning", required_argument, NULL, 'M' },
    { "grounded", no_argument, NULL, 'g' },
    { "json", no_argument, NULL, 'j' },
    { "drop", required_argument, NULL, 'D' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("usage: sidr recommend [--model DIR] [--data DIR] (--user ID | --row SPLIT:N) [options]\n"
           "  --think / --no-think   reason before the SID (default) or answer directly\n"
           "  --beams B              beam width and list length (default 10)\n"
           "  --max-reasoning N      cap on reasoning tokens (default 1024)\n"
           "  --grounded             every SID the reasoning names is decoded within the history's\n"
           "                         SIDs (a trie of them); the default is free decoding\n"
           "  --json                 reasoning, beams, scores, items and timings as JSON\n"
           "  --drop N[,N...]        leave history items N out (1-based, as listed): a counterfactual\n"
           "                         history, as sidr explain's occlusion removes them\n"
           "Reasoning is greedy; the SID comes from trie-constrained beam search.\n");
}

static int stream_token(rec_run *r, void *ctx)
{
    utf8_stream *out = ctx;
    size_t len;
    const char *b = sidr_tokenizer_token_bytes(r->tok, r->gen[r->n_gen - 1].id, &len);
    if (b && r->gen[r->n_gen - 1].id != r->think_close_id && r->gen[r->n_gen - 1].id != r->eos_id)
        utf8_stream_put(out, b, len);
    return interrupted;
}

static void json_item(const sidr_item *it)
{
    fputs("{\"item_id\":", stdout);
    json_string(stdout, it->id, strlen(it->id));
    fputs(",\"title\":", stdout);
    json_string(stdout, it->title, strlen(it->title));
    putchar('}');
}

/* Removes the 1-based positions listed in spec from hist/items; the new
 * count, or -1 when a position is bad or nothing would be left. */
static int drop_items(const char *spec, const char **hist, int *items, int n)
{
    int gone[SIDR_MAX_HISTORY] = { 0 };
    char *copy = xstrdup(spec), *save = NULL;
    int bad = 0;
    for (char *t = strtok_r(copy, ",", &save); t && !bad; t = strtok_r(NULL, ",", &save)) {
        long k;
        if (parse_int(t, 1, n, &k)) bad = 1;
        else gone[k - 1] = 1;
    }
    free(copy);
    int m = 0;
    for (int i = 0; i < n && !bad; i++)
        if (!gone[i]) hist[m] = hist[i], items[m++] = items[i];
    return bad || m == 0 ? -1 : m;
}

int cmd_recommend(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *user = NULL, *rowspec = NULL;
    int json = 0, c;
    const char *drop = NULL;
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
        case 'g': set.ground = 1; break;
        case 'D': drop = optarg; break;
        case 'b': if (parse_int(optarg, 1, 256, &v)) return usage_error("recommend", "--beams expects an integer in [1, 256]"); set.beams = (int)v; break;
        case 'M': if (parse_int(optarg, 1, 32768, &v)) return usage_error("recommend", "--max-reasoning expects an integer in [1, 32768]"); set.max_reasoning = (int)v; break;
        case 'h': help(); return EXIT_OK;
        default: return usage_error("recommend", "unknown option");
        }
    }
    if (optind != argc) return usage_error("recommend", "unexpected argument '%s'", argv[optind]);
    if (!user == !rowspec) return usage_error("recommend", "give exactly one of --user ID and --row SPLIT:N");
    if (!(model = resolve_model_dir("recommend", model)) || !(data = resolve_data_dir("recommend", data))) return EXIT_USAGE;

    session ss;
    sidr_status s = session_open(&ss, model, data, NULL);
    if (s) return runtime_error("recommend", s);
    sidr_split_id split;
    int rown, rc = EXIT_OK;
    s = user ? session_user_row(&ss, user, &split, &rown) : session_parse_row(&ss, rowspec, &split, &rown);
    if (s) {
        session_close(&ss);
        return runtime_error("recommend", s);
    }
    const sidr_sample *row = sidr_dataset_row(&ss.ds, split, rown);
    const char *hist[SIDR_MAX_HISTORY];
    int nh = session_history(&ss, row, hist), hist_item[SIDR_MAX_HISTORY];
    for (int i = 0; i < nh; i++) hist_item[i] = row->hist[i];
    int kept = nh > 0 && drop ? drop_items(drop, hist, hist_item, nh) : nh;
    if (nh > 0 && kept < 0) {
        session_close(&ss);
        return usage_error("recommend", "--drop expects history positions 1..%d, comma-separated, leaving at least one item",
                           nh);
    }
    nh = kept;
    const sidr_item *target = &ss.ds.items[row->target];
    rec_run r;
    memset(&r, 0, sizeof r);
    if (nh < 0 || (s = rec_begin(&r, &ss.model, ss.tok, &ss.cat, &set, hist, nh))) {
        rc = runtime_error("recommend", nh < 0 ? SIDR_ERR_MISSING : s);
        goto out;
    }
    if (!json) {
        printf("user %s, %s row %d: %d items in history\n", ss.ds.users[row->user].id, sidr_split_name(split), rown, nh);
        for (int i = 0; i < nh; i++) printf("  %2d  %-26s %s\n", i + 1, hist[i], ss.ds.items[hist_item[i]].title);
        if (set.think) printf("\nreasoning:\n");
        fflush(stdout);
    }
    install_interrupt_handler();
    utf8_stream out = { stdout, { 0 }, 0 };
    if ((s = rec_run_all(&r, json ? NULL : stream_token, &out))) {
        utf8_stream_flush(&out);
        rc = runtime_error("recommend", s);
        goto out;
    }
    int rank = target->sid ? rec_rank(&r, target->sid) : -1;
    if (json) {
        fputs("{\"user\":", stdout);
        json_string(stdout, ss.ds.users[row->user].id, strlen(ss.ds.users[row->user].id));
        printf(",\"split\":\"%s\",\"row\":%d,\"mode\":\"%s\",\"numerics\":\"%s\",\"beams_requested\":%d,\"history\":[",
               sidr_split_name(split), rown, set.think ? "think" : "no-think", sidr_numerics_name(ss.model.numerics),
               set.beams);
        for (int i = 0; i < nh; i++) {
            const sidr_item *it = &ss.ds.items[hist_item[i]];
            printf("%s{\"sid\":", i ? "," : "");
            json_string(stdout, it->sid, strlen(it->sid));
            fputs(",\"item\":", stdout);
            json_item(it);
            putchar('}');
        }
        fputs("],\"target\":{\"sid\":", stdout);
        if (target->sid) json_string(stdout, target->sid, strlen(target->sid));
        else fputs("null", stdout);
        fputs(",\"item\":", stdout);
        json_item(target);
        fputs("},\"reasoning\":", stdout);
        if (r.reasoning) json_string(stdout, r.reasoning, strlen(r.reasoning));
        else fputs("null", stdout);
        printf(",\"reasoning_tokens\":%d,\"grounded\":%s,\"forced_tokens\":%d,\"beams\":[", r.n_gen,
               set.ground ? "true" : "false", r.n_ground_changed);
        for (int i = 0; i < r.bs.n_hyps; i++) {
            char sid[512];
            rec_beam_sid(&r, i, sid, sizeof sid);
            printf("%s{\"sid\":", i ? "," : "");
            json_string(stdout, sid, strlen(sid));
            fputs(",\"score\":", stdout);
            json_float(stdout, r.bs.hyps[i].score);
            fputs(",\"items\":[", stdout);
            int n_items;
            const int *items = sidr_trie_items(&ss.cat.trie, r.bs.hyps[i].node, &n_items);
            for (int k = 0; k < n_items; k++) {
                if (k) putchar(',');
                json_item(&ss.ds.items[ss.cat.item_of[items[k]]]);
            }
            fputs("]}", stdout);
        }
        printf("],\"rank\":%d,\"hit\":%s,\"timings\":{\"prefill_s\":%.4f,\"reasoning_s\":%.4f,\"beam_s\":%.4f,"
               "\"reasoning_tokens_per_s\":%.2f}}\n",
               rank, rank >= 0 ? "true" : "false", r.t_prefill, r.t_reasoning, r.t_beam,
               r.t_reasoning > 0 ? r.n_gen / r.t_reasoning : 0.0);
    } else {
        utf8_stream_flush(&out);
        printf("%s\ntop %d:\n", set.think ? "\n" : "", r.bs.n_hyps);
        for (int i = 0; i < r.bs.n_hyps; i++) {
            char sid[512];
            rec_beam_sid(&r, i, sid, sizeof sid);
            int n_items;
            const int *items = sidr_trie_items(&ss.cat.trie, r.bs.hyps[i].node, &n_items);
            printf(" %c%2d  %-26s %9.3f  %s%s\n", i == rank ? '*' : ' ', i + 1, sid, r.bs.hyps[i].score,
                   ss.ds.items[ss.cat.item_of[items[0]]].title, n_items > 1 ? "  (+ items sharing this SID)" : "");
        }
        printf("target %s %s: %s\n", target->sid ? target->sid : "(no SID)", target->title,
               rank >= 0 ? "hit" : "miss");
        if (rank >= 0) printf("hit at rank %d\n", rank + 1);
        fprintf(stderr, "sidr recommend: prefill %.2f s, reasoning %d tokens in %.2f s, beam %.2f s\n", r.t_prefill, r.n_gen,
                r.t_reasoning, r.t_beam);
    }
out:
    rec_free(&r);
    session_close(&ss);
    return rc;
}

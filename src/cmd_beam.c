/* sidr beam: trie-constrained SID beam search after a raw token prompt that
 * already ends with the separator. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "beam.h"
#include "catalog.h"
#include "cli.h"
#include "commands.h"
#include "tokenizer.h"
#include "transformer.h"
#include "util.h"
#include "session.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "catalog", required_argument, NULL, 'c' },
    { "tokens", required_argument, NULL, 't' },
    { "beams", required_argument, NULL, 'b' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

int cmd_beam(int argc, char **argv)
{
    const char *model = NULL, *catalog = NULL, *tokens = NULL;
    long beams = 10;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'c': catalog = optarg; break;
        case 't': tokens = optarg; break;
        case 'j': json = 1; break;
        case 'b': if (parse_int(optarg, 1, 1000, &beams)) return usage_error("beam", "--beams expects an integer in [1, 1000]"); break;
        case 'h':
            printf("usage: sidr beam --model DIR --catalog FILE --tokens ID,... [--beams B] [--json]\n"
                   "Constrained beam search for a SID after a prompt that ends with the separator.\n"
                   "FILE is in info.txt format (SID<TAB>title<TAB>item_id). Every step scores the\n"
                   "full vocabulary, masks tokens outside the SID trie, and keeps the best B of the\n"
                   "top-2B candidates; after the SID, \"\\n\" and <|im_end|> are forced and scored.\n"
                   "Prints {\"beams\":[{\"sid\":...,\"ids\":[...],\"score\":...}, ...]} best first.\n");
            return EXIT_OK;
        default: return usage_error("beam", "unknown option");
        }
    }
    if (optind != argc) return usage_error("beam", "unexpected argument '%s'", argv[optind]);
    if (!catalog) return usage_error("beam", "--catalog FILE is required");
    if (!tokens) return usage_error("beam", "--tokens ID,... is required");
    int *ids, n;
    if (parse_id_list(tokens, &ids, &n)) return usage_error("beam", "'%s' is not a comma-separated list of token ids", tokens);
    if (!(model = resolve_model_dir("beam", model))) { free(ids); return EXIT_USAGE; }

    sidr_model m;
    sidr_tokenizer *tok = NULL;
    sidr_catalog cat;
    memset(&cat, 0, sizeof cat);
    sidr_status s = session_load_model(&m, model);
    if (s) { free(ids); return runtime_error("beam", s); }
    int rc = EXIT_OK;
    sidr_state *st = NULL;
    sidr_kv kv;
    memset(&kv, 0, sizeof kv);
    sidr_beam_search bs;
    memset(&bs, 0, sizeof bs);
    float *logits = NULL;
    if ((s = load_tokenizer_dir(model, &tok)) ||
        (s = sidr_tokenizer_check_model(tok, "tokenizer.json", m.cfg.vocab_size, model)) ||
        (s = catalog_load_info(&cat, catalog, tok))) {
        rc = runtime_error("beam", s);
        goto out;
    }
    sidr_beam_config cfg = { (int)beams, sidr_tokenizer_find(tok, "\n"), sidr_tokenizer_find(tok, "<|im_end|>") };
    int rows = n < 256 ? n : 256;
    st = sidr_state_new(&m, rows > beams ? rows : (int)beams); /* prompt chunks and one row per beam */
    logits = xmalloc((size_t)m.cfg.vocab_size * sizeof(float));
    double t0 = now_seconds();
    if ((s = sidr_kv_init(&kv, &m.cfg, n)) || (s = sidr_forward(&m, st, &kv, ids, n, logits, SIDR_LOGITS_LAST)) ||
        (s = sidr_beam_begin(&bs, &m, st, &kv, logits, &cat.trie, &cfg)) || (s = sidr_beam_run(&bs))) {
        rc = runtime_error("beam", s);
        goto out;
    }
    double dt = now_seconds() - t0;
    if (json) fputs("{\"beams\":[", stdout);
    for (int i = 0; i < bs.n_hyps; i++) {
        const sidr_beam *b = &bs.hyps[i];
        char sid[512];
        catalog_sid_string(tok, b->tokens, cat.depth, sid, sizeof sid);
        if (json) {
            printf("%s{\"sid\":", i ? "," : "");
            json_string(stdout, sid, strlen(sid));
            fputs(",\"ids\":[", stdout);
            for (int k = 0; k < b->n_tokens; k++) printf(k ? ",%d" : "%d", b->tokens[k]);
            fputs("],\"score\":", stdout);
            json_float(stdout, b->score);
            putchar('}');
        } else {
            int n_items;
            const int *items = sidr_trie_items(&cat.trie, b->node, &n_items);
            printf("%2d  %-28s %10.4f  %s%s\n", i + 1, sid, b->score, cat.title[items[0]],
                   n_items > 1 ? " (+ more items with this SID)" : "");
        }
    }
    if (json) printf("],\"numerics\":\"%s\"}\n", sidr_numerics_name(m.numerics));
    fprintf(stderr, "sidr beam: %d beams over %d SIDs in %.3f s (prompt %d tokens)\n", bs.n_hyps, cat.trie.n_sids, dt, n);
out:
    sidr_beam_free(&bs);
    free(logits);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    catalog_free(&cat);
    sidr_tokenizer_free(tok);
    sidr_model_free(&m);
    free(ids);
    return rc;
}

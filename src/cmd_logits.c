/* sidr logits: next-token logits after a token sequence, for conformance
 * checks against other implementations. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "transformer.h"
#include "util.h"
#include "session.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "tokens", required_argument, NULL, 't' },
    { "all", no_argument, NULL, 'a' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

int cmd_logits(int argc, char **argv)
{
    const char *model = NULL, *tokens = NULL;
    int all = 0, json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 't': tokens = optarg; break;
        case 'a': all = 1; break;
        case 'j': json = 1; break;
        case 'h':
            printf("usage: sidr logits --model DIR --tokens ID,... [--all] --json\n"
                   "Prints {\"n_vocab\":V,\"logits\":[[...]]}: the logits after the last token, or after\n"
                   "every token with --all.\n");
            return EXIT_OK;
        default: return usage_error("logits", "unknown option");
        }
    }
    if (optind != argc) return usage_error("logits", "unexpected argument '%s'", argv[optind]);
    if (!tokens) return usage_error("logits", "--tokens ID,... is required");
    if (!json) return usage_error("logits", "--json is required (the output is machine-readable only)");
    int *ids, n;
    if (parse_id_list(tokens, &ids, &n)) return usage_error("logits", "'%s' is not a comma-separated list of token ids", tokens);
    if (!(model = resolve_model_dir("logits", model))) { free(ids); return EXIT_USAGE; }

    sidr_model m;
    sidr_status s = session_load_model(&m, model);
    if (s) { free(ids); return runtime_error("logits", s); }
    if (n > m.cfg.max_seq) {
        s = sidr_fail(SIDR_ERR_RANGE, "%d tokens exceed the model's max_position_embeddings %d (%s/config.json)", n,
                      m.cfg.max_seq, model);
        free(ids);
        sidr_model_free(&m);
        return runtime_error("logits", s);
    }
    int V = m.cfg.vocab_size, rows = all ? n : 1;
    sidr_state *st = sidr_state_new(&m, n < 256 ? n : 256);
    sidr_kv kv;
    float *logits = xmalloc((size_t)rows * V * sizeof(float));
    if (!(s = sidr_kv_init(&kv, &m.cfg, n)))
        s = sidr_forward(&m, st, &kv, ids, n, logits, all ? SIDR_LOGITS_ALL : SIDR_LOGITS_LAST);
    int rc = EXIT_OK;
    if (s) rc = runtime_error("logits", s);
    else {
        printf("{\"n_vocab\":%d,\"logits\":[", V);
        for (int r = 0; r < rows; r++) {
            fputs(r ? ",[" : "[", stdout);
            for (int i = 0; i < V; i++) {
                if (i) putchar(',');
                json_float(stdout, logits[(size_t)r * V + i]);
            }
            putchar(']');
        }
        printf("],\"numerics\":\"%s\"}\n", sidr_numerics_name(m.numerics));
    }
    free(logits);
    free(ids);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    sidr_model_free(&m);
    return rc;
}

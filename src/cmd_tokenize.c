/* sidr tokenize / sidr detokenize: the model folder's tokenizer.json, exactly. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "tokenizer.h"
#include "util.h"

static const struct option tok_opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Reads all of stdin, byte for byte. */
static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) buf = xrealloc(buf, cap *= 2);
    }
    *len = n;
    return buf;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", tok_opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'j': json = 1; break;
        case 'h':
            printf("usage: sidr tokenize --model DIR [--json] [TEXT | -]\n"
                   "Encodes TEXT (or stdin with '-', byte for byte) with DIR/tokenizer.json.\n"
                   "--json prints {\"ids\":[...]}; otherwise the ids, comma-separated.\n");
            return EXIT_OK;
        default: return usage_error("tokenize", "unknown option");
        }
    }
    if (optind + 1 != argc) return usage_error("tokenize", "expected exactly one TEXT argument (or '-' for stdin)");
    if (!(model = resolve_model_dir("tokenize", model))) return EXIT_USAGE;
    sidr_tokenizer *tok;
    sidr_status s = load_tokenizer_dir(model, &tok);
    if (s) return runtime_error("tokenize", s);
    const char *arg = argv[optind];
    char *text = NULL;
    size_t len;
    if (!strcmp(arg, "-")) text = read_stdin(&len);
    else len = strlen(arg);
    int *ids = NULL, n = 0;
    s = sidr_tokenizer_encode(tok, text ? text : arg, len, &ids, &n);
    free(text);
    sidr_tokenizer_free(tok);
    if (s) return runtime_error("tokenize", s);
    if (json) fputs("{\"ids\":[", stdout);
    for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
    puts(json ? "]}" : "");
    free(ids);
    return EXIT_OK;
}

static const struct option detok_opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "skip-special", no_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

int cmd_detokenize(int argc, char **argv)
{
    const char *model = NULL;
    int skip = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", detok_opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 's': skip = 1; break;
        case 'h':
            printf("usage: sidr detokenize --model DIR [--skip-special] ID,ID,...\n"
                   "Decodes token ids to text on stdout, exactly (no newline is added).\n");
            return EXIT_OK;
        default: return usage_error("detokenize", "unknown option");
        }
    }
    if (optind + 1 != argc) return usage_error("detokenize", "expected one ID,ID,... argument");
    int *ids, n;
    if (parse_id_list(argv[optind], &ids, &n))
        return usage_error("detokenize", "'%s' is not a comma-separated list of token ids", argv[optind]);
    if (!(model = resolve_model_dir("detokenize", model))) { free(ids); return EXIT_USAGE; }
    sidr_tokenizer *tok;
    sidr_status s = load_tokenizer_dir(model, &tok);
    if (s) { free(ids); return runtime_error("detokenize", s); }
    char *text;
    size_t len;
    s = sidr_tokenizer_decode(tok, ids, n, skip, &text, &len);
    free(ids);
    sidr_tokenizer_free(tok);
    if (s) {
        /* name the tokenizer file the ids were looked up in */
        size_t ml = strlen(model);
        int file = ml >= 5 && !strcmp(model + ml - 5, ".json");
        return runtime_error("detokenize", sidr_fail_context(s, "%s%s", model, file ? "" : "/tokenizer.json"));
    }
    fwrite(text, 1, len, stdout);
    free(text);
    return EXIT_OK;
}

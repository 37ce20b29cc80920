/* sidr: reasoning over Semantic IDs for generative recommendation.  main()
 * dispatches to a subcommand from one table, which also prints the usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "kernels.h"
#include "session.h"
#include "build-config.h" /* PACKAGE_VERSION */

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
    const char *summary;
} command;

static const command commands[] = {
    { "explore", cmd_explore, "[--model DIR] [--data DIR] [--script FILE --size WxH --dump DIR]", "the interactive explorer (the default on a terminal)" },
    { "info", cmd_info, "--model DIR [--json]", "architecture, parameters, dtype, vocabulary, SID tokens, chat template" },
    { "tokenize", cmd_tokenize, "--model DIR [--json] [TEXT | -]", "text to token ids ('-' reads stdin byte for byte)" },
    { "detokenize", cmd_detokenize, "--model DIR ID,ID,...", "token ids to text" },
    { "logits", cmd_logits, "--model DIR --tokens ID,... [--all] --json", "next-token logits (last position, or every one with --all)" },
    { "generate", cmd_generate, "--model DIR (--tokens ID,... | --prompt TEXT [--chat]) [options]", "stream a continuation" },
    { "beam", cmd_beam, "--model DIR --catalog FILE --tokens ID,... [--beams B] [--json]", "trie-constrained SID beam search after a token prompt" },
    { "recommend", cmd_recommend, "[--model DIR] [--data DIR] (--user ID | --row SPLIT:N) [--think | --no-think] [--beams B] [--json]", "reason over a user's history and recommend the next item's SID" },
    { "explain", cmd_explain, "[--model DIR] [--data DIR] (--row SPLIT:N | --user ID) [--methods attention,occlusion,lens] [--json]", "why this recommendation: attention to the history, occlusion of each item, logit lens of the SID steps" },
    { "eval", cmd_eval, "[--model DIR] [--data DIR] [--split test] [--think | --no-think] [--beams B] [--limit N] [--shard I/N] [--json FILE]", "HR@K and NDCG@K over a split" },
    { "align-report", cmd_align_report, "[--model DIR] [--data DIR] [--items N] [--json FILE]", "how well the model ties each SID to its item (title<->SID, embeddings, confusions)" },
    { "eval-merge", cmd_eval_merge, "[--json FILE] FILE...", "combine the results of sharded evaluations" },
    { "eval-diff", cmd_eval_diff, "[--k K] [--show N] [--json FILE] A.json B.json", "paired difference of two evaluations (B - A) with bootstrap intervals" },
    { "train-log", cmd_train_log, "[--width W] [--height H] [--ascii] FILE|DIR", "a training log as terminal line charts (loss, validation, alignment, format, reward)" },
    { "tokenizer", cmd_tokenizer, "train --data DIR --vocab N --out DIR", "train a byte-level BPE tokenizer on a dataset's text" },
    { "model", cmd_model, "init|add-sids [options]", "make a random model folder, or add a dataset's SID tokens to a model" },
    { "bench", cmd_bench, "[--model DIR] [options]", "prefill and decode speed against the memory-bandwidth bound" },
    { "train", cmd_train, "align|reason|rl --model DIR --data DIR --out DIR [options]", "train a model: SID-language alignment, reasoning activation, GRPO" },
    { "sids", cmd_sids, "build|stats --data DIR [options]", "build Semantic IDs (embeddings + residual k-means), or their statistics" },
    { "recipe", cmd_recipe, "--data DIR --out WORK [--budget MINUTES] [--preset tiny|small] [--from STAGE] [--dry-run] [--json]", "train SIDReasoner end to end on a dataset within a time budget (resumable)" },
    { "demo", cmd_demo, "build [--out DIR] [--seed S] [--items N] [--users N] [--json]", "generate the demo world: a store, users with latent intents, SIDs, enriched texts" },
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: sidr COMMAND [options]\n\n"
               "sidr runs SIDReasoner generative recommenders: LLMs that reason in language\n"
               "over Semantic IDs, on an in-process C engine.\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  sidr %s %s\n", commands[i].name, commands[i].synopsis);
    fprintf(f, "\n'sidr COMMAND --help' shows a command's options; 'man sidr' has the details.\n"
               "On a terminal, 'sidr' alone opens the explorer on the embedded demo.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        /* sidr alone: the explorer on the embedded demo, when there is a
         * terminal to draw on and the demo is installed */
        if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && explore_demo_available()) {
            char *args[] = { "explore", NULL };
            session_warn_cmd = "explore";
            return cmd_explore(1, args);
        }
        usage(stdout);
        return EXIT_OK;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(name, "--version")) {
        /* the first line is the one scripts read; then what this binary
         * would run with */
        printf("sidr %s\n", PACKAGE_VERSION);
        printf("kernels: %s\n", sidr_kernels_init());
        char *demo = demo_path("demo");
        if (demo) printf("demo: %s\n", demo);
        else printf("demo: not installed (expected in %s/demo)\n", SIDR_DATADIR);
        free(demo);
        return EXIT_OK;
    }
    /* --numerics exact|fast, anywhere after the command: the policy of every
     * model the command runs (taken out before the command parses) */
    int n = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (i > 1 && !strcmp(a, "--numerics")) {
            if (i + 1 >= argc) return usage_error(name, "--numerics expects exact or fast");
            val = argv[++i];
        } else if (i > 1 && !strncmp(a, "--numerics=", 11)) {
            val = a + 11;
        } else {
            argv[n++] = argv[i];
            continue;
        }
        int nm = sidr_numerics_parse(val);
        if (nm < 0) return usage_error(name, "--numerics expects exact or fast, got '%s'", val);
        session_numerics = (sidr_numerics)nm;
        session_numerics_given = 1;
    }
    argc = n;
    argv[argc] = NULL;
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i].name)) {
            session_warn_cmd = commands[i].name;
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "sidr: unknown command '%s'\n\n", name);
    usage(stderr);
    return EXIT_USAGE;
}

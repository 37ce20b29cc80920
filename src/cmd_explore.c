/* sidr explore: the interactive explorer (ui/), or its headless script mode. */
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "ui.h"
#include "util.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "data", required_argument, NULL, 'd' },
    { "config", required_argument, NULL, 'c' },
    { "no-config", no_argument, NULL, 'C' },
    { "mono", no_argument, NULL, 'M' },
    { "ascii", no_argument, NULL, 'A' },
    { "user", required_argument, NULL, 'u' },
    { "run", no_argument, NULL, 'r' },
    { "think", no_argument, NULL, 't' },
    { "no-think", no_argument, NULL, 'T' },
    { "beams", required_argument, NULL, 'b' },
    { "max-reasoning", required_argument, NULL, 'x' },
    { "grounded", no_argument, NULL, 'g' },
    { "tour", no_argument, NULL, 'o' },
    { "pace", required_argument, NULL, 'P' },
    { "temperature", required_argument, NULL, 'p' },
    { "seed", required_argument, NULL, 's' },
    { "script", required_argument, NULL, 'S' },
    { "size", required_argument, NULL, 'z' },
    { "dump", required_argument, NULL, 'D' },
    { "attrs", no_argument, NULL, 'a' },
    { "bench", required_argument, NULL, 'B' },
    { "compare", required_argument, NULL, 'K' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("usage: sidr explore [--model DIR] [--data DIR] [options]\n"
           "The interactive explorer: users, their history, the reasoning streaming token by token,\n"
           "the trie-constrained beam, and the codebook of every SID token.  '?' inside lists the keys.\n\n"
           "  --model DIR, --data DIR  model folder and dataset (default: the config file, else the demo)\n"
           "  --config FILE            config file (default: $SIDR_CONFIG, $XDG_CONFIG_HOME/sidr/config.json)\n"
           "  --no-config              ignore config files\n"
           "  --mono                   no colours (also NO_COLOR=1 in the environment)\n"
           "  --ascii                  ASCII lines and markers instead of Unicode\n"
           "  --user ID [--run]        open a user (and run the recommendation) at start\n"
           "  --compare DIR            a second model (A/B): each run also runs on it, C compares the two\n"
           "  --think / --no-think, --beams B, --max-reasoning N, --temperature T, --seed S,\n"
           "  --grounded (SIDs in the reasoning decoded within the history's)\n"
           "  --tour [--pace N]        play a tour of test rows for an audience; any key takes over\n"
           "  --pace N                 reasoning tokens and beam levels per second (default: as fast as it goes)\n"
           "                           decoding settings for runs (also :set inside)\n"
           "  --bench FILE             write key-to-redraw and engine-step latencies (JSON) on exit\n\n"
           "headless (screen tests):\n"
           "  --script FILE            feed keys and commands from FILE ('-': stdin) to a virtual screen\n"
           "  --size WxH               the virtual screen's size, W and H in 1..1000 (default 80x24)\n"
           "  --dump DIR               where 'dump NAME' writes NAME.txt\n"
           "  --attrs                  also write NAME.attr (styles per cell run)\n\n"
           "script language (one command per line, '#' comments):\n"
           "  j j Enter           key names as in the config file (j, G, C-l, Enter, Space, Tab, Esc, Up, PgDn, F1)\n"
           "  : \"beams 4\" Enter   a double-quoted string types its characters\n"
           "  type TEXT           types the rest of the line\n"
           "  wait-run [N]        engine steps until the run ends, pauses or is cancelled (and model B's, with --compare)\n"
           "  tick [N]            N rounds of idle work (one engine step each while running, else one\n"
           "                      item of the Alignment pane)\n"
           "  wait-align [N]      idle work until the Alignment sample is measured (at most N items)\n"
           "  wait-msg \"TEXT\"     idle work until the message line contains TEXT (a tour caption)\n"
           "  resize WxH          a terminal resize;  click ROW COL;  wheel up|down ROW COL\n"
           "  dump NAME           the screen to DIR/NAME.txt (+ NAME.attr);  expect TEXT / expect-not TEXT\n"
           "Engine steps happen only in wait-run, wait-align and tick, and timings are hidden: the same script gives\n"
           "the same screens.  The config file is described in sidr-config(5).\n");
}

/* Whether the embedded demo is installed, without printing anything (the
 * same places resolve_model_dir looks in). */
int explore_demo_available(void)
{
    return demo_available();
}

static int utf8_locale(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

int cmd_explore(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *config = NULL, *user = NULL, *script = NULL, *dump_dir = NULL,
               *bench = NULL, *compare = NULL;
    int no_config = 0, mono = 0, ascii = 0, run = 0, attrs = 0, c;
    int W = 80, H = 24;
    ui_config cfg;
    ui_config_defaults(&cfg);
    rec_settings over;
    int tour = 0, o_pace = 0;
    int o_think = -1, o_ground = 0, o_beams = 0, o_max = 0, o_seed = -1;
    double o_temp = -1;
    long v;
    double d;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'c': config = optarg; break;
        case 'C': no_config = 1; break;
        case 'M': mono = 1; break;
        case 'A': ascii = 1; break;
        case 'u': user = optarg; break;
        case 'K': compare = optarg; break;
        case 'r': run = 1; break;
        case 't': o_think = 1; break;
        case 'g': o_ground = 1; break;
        case 'o': tour = 1; break;
        case 'P': if (parse_int(optarg, 1, 1000, &v)) return usage_error("explore", "--pace expects tokens per second in [1, 1000]"); o_pace = (int)v; break;
        case 'T': o_think = 0; break;
        case 'b': if (parse_int(optarg, 1, 256, &v)) return usage_error("explore", "--beams expects an integer in [1, 256]"); o_beams = (int)v; break;
        case 'x': if (parse_int(optarg, 1, 32768, &v)) return usage_error("explore", "--max-reasoning expects an integer in [1, 32768]"); o_max = (int)v; break;
        case 'p': if (parse_float(optarg, 0, 10, &d)) return usage_error("explore", "--temperature expects a number in [0, 10]"); o_temp = d; break;
        case 's': if (parse_int(optarg, 0, 0x7FFFFFFFL, &v)) return usage_error("explore", "--seed expects a non-negative integer"); o_seed = (int)v; break;
        case 'S': script = optarg; break;
        case 'z': {
            char why[160];
            if (ui_parse_size(optarg, &W, &H, why, sizeof why))
                return usage_error("explore", "--size expects WxH with W and H in 1..%d (e.g. 100x30), got '%s': %s",
                                   UI_MAX_SIZE, optarg, why);
            break;
        }
        case 'D': dump_dir = optarg; break;
        case 'a': attrs = 1; break;
        case 'B': bench = optarg; break;
        case 'h': help(); return EXIT_OK;
        default: return usage_error("explore", "unknown option");
        }
    }
    if (optind != argc) return usage_error("explore", "unexpected argument '%s'", argv[optind]);
    if (run && !user) return usage_error("explore", "--run needs --user ID");
    if (!script && (dump_dir || attrs)) return usage_error("explore", "--dump and --attrs go with --script");
    if (!script && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
        return usage_error("explore", "needs a terminal on stdin and stdout (for headless runs use --script FILE)");

    /* Scripts ignore the user's config (screens must not depend on it) unless --config is given. */
    if (!no_config) {
        sidr_status s = ui_config_load(&cfg, config, !script);
        if (s) {
            fprintf(stderr, "sidr explore: config: %s\n", sidr_last_error());
            ui_config_free(&cfg);
            return EXIT_USAGE;
        }
    }
    if (cfg.numerics >= 0 && !session_numerics_given) session_numerics = (sidr_numerics)cfg.numerics;
    if (o_think >= 0) cfg.set.think = o_think;
    if (o_ground) cfg.set.ground = 1;
    if (o_beams) cfg.set.beams = o_beams;
    if (o_max) cfg.set.max_reasoning = o_max;
    if (o_temp >= 0) cfg.set.temperature = (float)o_temp;
    if (o_seed >= 0) cfg.set.seed = (uint64_t)o_seed;
    (void)over;
    if (!model) model = cfg.model;
    if (!data) data = cfg.data;
    /* resolve_*_dir may return the same static buffer: copy each at once */
    if (!(model = resolve_model_dir("explore", model))) {
        ui_config_free(&cfg);
        return EXIT_USAGE;
    }
    char *model_s = xstrdup(model);
    if (!(data = resolve_data_dir("explore", data))) {
        free(model_s);
        ui_config_free(&cfg);
        return EXIT_USAGE;
    }
    char *data_s = xstrdup(data);

    /* Wide characters need a UTF-8 locale: the user's, else C.UTF-8 (with
     * ASCII lines, since the terminal may not be UTF-8).  Scripts always use
     * C.UTF-8 so screens do not depend on the environment. */
    if (script) {
        if (!setlocale(LC_ALL, "C.UTF-8")) setlocale(LC_ALL, "en_US.UTF-8");
    } else {
        setlocale(LC_ALL, "");
        if (!utf8_locale()) {
            if (setlocale(LC_CTYPE, "C.UTF-8") && cfg.ascii < 0) cfg.ascii = 1;
        }
    }
    if (ascii) cfg.ascii = 1;
    const char *nc = getenv("NO_COLOR");
    int color = cfg.color < 0 ? !(nc && *nc) : cfg.color;
    if (mono) color = 0;

    if (!script) fprintf(stderr, "sidr explore: loading %s and %s...\n", model_s, data_s);
    app *a = xcalloc(1, sizeof *a);
    sidr_status s = app_open(a, &cfg, model_s, data_s, script != NULL, W, H);
    if (s) {
        fprintf(stderr, "sidr explore: %s\n", sidr_last_error());
        free(a);
        free(model_s);
        free(data_s);
        ui_config_free(&cfg);
        return EXIT_RUNTIME;
    }
    a->color = color;
    a->pace = o_pace;
    int rc = EXIT_OK;
    if (compare) {
        if (cmp_load(a, compare)) {
            fprintf(stderr, "sidr explore: %s\n", a->msg);
            rc = EXIT_RUNTIME;
            goto out;
        }
        if (!script) fprintf(stderr, "sidr explore: %s\n", a->msg);
    }
    if (tour) tour_start(a);
    if (user) {
        if ((s = app_set_user(a, user))) {
            fprintf(stderr, "sidr explore: %s\n", sidr_last_error());
            rc = EXIT_RUNTIME;
            goto out;
        }
        if (run) app_start_run(a);
    }
    if (script) rc = ui_run_script(a, script, dump_dir, attrs, bench) ? EXIT_RUNTIME : EXIT_OK;
    else rc = ui_run_terminal(a, bench);
out:
    app_close(a);
    free(a);
    free(model_s);
    free(data_s);
    ui_config_free(&cfg);
    return rc;
}

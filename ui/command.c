/* The ':' commands: one table gives completion, the help screen and dispatch. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

typedef void (*cmd_fn)(app *a, const char *arg);

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_dbl(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_onoff(const char *s, int *out)
{
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "1") || !strcmp(s, "true")) { *out = 1; return 0; }
    if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "0") || !strcmp(s, "false")) { *out = 0; return 0; }
    return -1;
}

static const char *next_note(app *a)
{
    return a->rstate == RUN_ACTIVE ? " (from the next run; r restarts now)" : "";
}

static void c_user(app *a, const char *arg)
{
    if (!*arg) { app_err(a, "usage: :user ID"); return; }
    sidr_status s = app_set_user(a, arg);
    if (s) app_err(a, "%s", sidr_last_error());
    else app_msg(a, "user %s: %s row %d (r or :run runs it)", arg, sidr_split_name((sidr_split_id)a->cur_split), a->cur_row);
}

static void c_row(app *a, const char *arg)
{
    sidr_split_id split;
    int row;
    sidr_status s = session_parse_row(&a->ss, arg, &split, &row);
    if (s) { app_err(a, "%s", sidr_last_error()); return; }
    app_open_row(a, split, row);
    app_msg(a, "user %s: %s row %d", a->ss.ds.users[a->cur_user].id, sidr_split_name(split), row);
}

static void c_run(app *a, const char *arg)
{
    if (*arg) { sidr_status s = app_set_user(a, arg); if (s) { app_err(a, "%s", sidr_last_error()); return; } }
    app_start_run(a);
}

static void c_cancel(app *a, const char *arg)
{
    if (a->rstate == RUN_ACTIVE) app_cancel_run(a, "cancelled");
    else app_msg(a, "no run in progress");
}

static void set_key(app *a, const char *key, const char *val)
{
    long n;
    double d;
    int b;
    if (!strcmp(key, "beams")) {
        if (parse_long(val, 1, 256, &n)) { app_err(a, ":beams expects an integer in [1, 256], got '%s'", val); return; }
        a->set.beams = (int)n;
        app_msg(a, "beams %d%s", a->set.beams, next_note(a));
    } else if (!strcmp(key, "think")) {
        if (parse_onoff(val, &b)) { app_err(a, ":think expects on or off, got '%s'", val); return; }
        a->set.think = b;
        app_msg(a, "thinking %s%s", b ? "on" : "off", next_note(a));
    } else if (!strcmp(key, "temp") || !strcmp(key, "temperature")) {
        if (parse_dbl(val, 0, 10, &d)) { app_err(a, ":temp expects a number in [0, 10] (0 = greedy), got '%s'", val); return; }
        a->set.temperature = (float)d;
        app_msg(a, "temperature %g%s%s", d, d == 0 ? " (greedy, as the paper)" : "", next_note(a));
    } else if (!strcmp(key, "seed")) {
        if (parse_long(val, 0, 0x7FFFFFFFL, &n)) { app_err(a, ":seed expects a non-negative integer, got '%s'", val); return; }
        a->set.seed = (uint64_t)n;
        app_msg(a, "seed %ld%s", n, next_note(a));
    } else if (!strcmp(key, "maxtok") || !strcmp(key, "max_reasoning")) {
        if (parse_long(val, 1, 32768, &n)) { app_err(a, ":maxtok expects an integer in [1, 32768], got '%s'", val); return; }
        a->set.max_reasoning = (int)n;
        app_msg(a, "at most %d reasoning tokens%s", a->set.max_reasoning, next_note(a));
    } else if (!strcmp(key, "pace")) {
        if (!strcmp(val, "off")) n = 0;
        else if (parse_long(val, 0, 1000, &n)) { app_err(a, ":set pace expects tokens per second in [0, 1000] or off, got '%s'", val); return; }
        a->pace = (int)n;
        app_msg(a, n ? "pace %ld tokens per second: reasoning and beam levels replay at a watchable speed" : "pace off: as fast as the engine goes", n);
    } else if (!strcmp(key, "top_p") || !strcmp(key, "topp")) {
        if (parse_dbl(val, 0.01, 1, &d)) { app_err(a, ":set top_p expects a number in [0.01, 1], got '%s'", val); return; }
        a->set.top_p = (float)d;
        app_msg(a, "top_p %g (reasoning sampling only; beam search never samples)%s", d, next_note(a));
    } else if (!strcmp(key, "color") || !strcmp(key, "colour")) {
        if (parse_onoff(val, &b)) { app_err(a, ":set color expects on or off, got '%s'", val); return; }
        a->color = b;
        a->dirty = 2;
        app_msg(a, "colours %s", b ? "on (where the terminal has them)" : "off (monochrome)");
    } else if (!strcmp(key, "numerics")) {
        int nm = sidr_numerics_parse(val);
        if (nm < 0) { app_err(a, ":set numerics expects exact or fast, got '%s'", val); return; }
        session_numerics = (sidr_numerics)nm;
        a->ss.model.numerics = session_numerics;
        if (a->cmp.on) a->cmp.model.numerics = session_numerics;
        a->dirty = 2;
        app_msg(a, nm == SIDR_NUMERICS_FAST ? "numerics fast: bf16 activations in batched matmuls (a row's last bits depend on its batch)%s"
                                            : "numerics exact: f32 activations, results independent of the batch%s", next_note(a));
    } else if (!strcmp(key, "ascii")) {
        if (parse_onoff(val, &b)) { app_err(a, ":set ascii expects on or off, got '%s'", val); return; }
        a->scr.ascii = b;
        a->dirty = 2;
        app_msg(a, "ASCII drawing %s", b ? "on" : "off");
    } else
        app_err(a, "unknown setting '%s' (beams, think, temp, seed, maxtok, top_p, pace, numerics, color, ascii)", key);
}

static void c_set(app *a, const char *arg)
{
    if (!*arg) {
        char pace[16];
        snprintf(pace, sizeof pace, a->pace ? "%d/s" : "off", a->pace);
        app_msg(a, "think %s  beams %d  temp %g  top_p %g  seed %llu  maxtok %d  pace %s  numerics %s  color %s  ascii %s",
                a->set.think ? "on" : "off", a->set.beams, a->set.temperature, a->set.top_p,
                (unsigned long long)a->set.seed, a->set.max_reasoning, pace, sidr_numerics_name(a->ss.model.numerics),
                a->color ? "on" : "off",
                a->scr.ascii ? "on" : "off");
        return;
    }
    char key[64], val[256];
    const char *eq = strchr(arg, '=');
    const char *sp = strchr(arg, ' ');
    const char *sep = eq && (!sp || eq < sp) ? eq : sp;
    if (!sep) { app_err(a, "usage: :set KEY VALUE or :set KEY=VALUE"); return; }
    snprintf(key, sizeof key, "%.*s", (int)(sep - arg), arg);
    const char *v = sep + 1;
    while (*v == ' ' || *v == '=') v++;
    snprintf(val, sizeof val, "%s", v);
    size_t n = strlen(val);
    while (n && val[n - 1] == ' ') val[--n] = 0;
    n = strlen(key);
    while (n && key[n - 1] == ' ') key[--n] = 0;
    set_key(a, key, val);
}

static void c_beams(app *a, const char *arg) { set_key(a, "beams", arg); }
static void c_think(app *a, const char *arg) { set_key(a, "think", arg); }
static void c_temp(app *a, const char *arg) { set_key(a, "temp", arg); }
static void c_seed(app *a, const char *arg) { set_key(a, "seed", arg); }
static void c_maxtok(app *a, const char *arg) { set_key(a, "maxtok", arg); }

static void c_export(app *a, const char *arg)
{
    if (!*arg) { app_err(a, "usage: :export FILE (writes FILE.json and FILE.md, and FILE.svg once w has explained the run)"); return; }
    char written[1024];
    sidr_status s = app_export(a, arg, written, sizeof written);
    if (s) app_err(a, "export failed: %s", sidr_last_error());
    else app_msg(a, "exported %s", written);
}

static void c_load_eval(app *a, const char *arg)
{
    if (!*arg) { app_err(a, "usage: :load-eval FILE (from 'sidr eval --json FILE')"); return; }
    sidr_status s = app_load_eval(a, arg);
    if (s) app_err(a, "%s", sidr_last_error());
}

static void c_split(app *a, const char *arg)
{
    int s = !strcmp(arg, "all") || !*arg ? -1 : sidr_split_parse(arg);
    if (s < -1 || (s == -1 && strcmp(arg, "all") && *arg)) { app_err(a, ":split expects all, test, valid or train"); return; }
    if (s >= 0 && !a->ss.ds.split[s].n) { app_err(a, "the dataset has no %s rows", arg); return; }
    a->f_split = s;
    app_refilter(a);
    app_msg(a, "split filter: %s (%d user%s)", s < 0 ? "all" : arg, a->n_entries, a->n_entries == 1 ? "" : "s");
}

/* ":filter eval-diff A.json B.json": two paths separated by spaces. */
static void filter_eval_diff(app *a, const char *arg)
{
    char pa[1024], pb[1024], extra[8];
    int n = sscanf(arg, "%1023s %1023s %7s", pa, pb, extra);
    if (n != 2) {
        app_err(a, "usage: :filter eval-diff A.json B.json (two 'sidr eval --json' results of the same split)");
        return;
    }
    evf_load(a, pa, pb);
}

static void c_filter(app *a, const char *arg)
{
    static const char *const names[] = { "all", "hit", "miss", "notrun" };
    if (!strncmp(arg, "eval-diff", 9) && (!arg[9] || arg[9] == ' ')) { filter_eval_diff(a, arg + 9); return; }
    if (!strcmp(arg, "off")) arg = "all";
    for (int i = 0; i < 4; i++)
        if (!strcmp(arg, names[i]) || (i == 1 && !strcmp(arg, "hits")) || (i == 2 && !strcmp(arg, "misses"))) {
            evf_off(a);
            a->f_outcome = i;
            app_refilter(a);
            app_msg(a, "outcome filter: %s (%d user%s)", names[i], a->n_entries, a->n_entries == 1 ? "" : "s");
            return;
        }
    app_err(a, ":filter expects all, hit, miss, notrun, off or eval-diff A.json B.json");
}

static void c_compare(app *a, const char *arg)
{
    if (!*arg) {
        if (!a->cmp.on) { app_err(a, "usage: :compare DIR (a second model folder) or :compare off"); return; }
        compare_toggle(a);
        return;
    }
    if (!strcmp(arg, "off")) {
        if (!a->cmp.on) { app_msg(a, "compare is off already"); return; }
        char lab[128];
        snprintf(lab, sizeof lab, "%s", a->cmp.label);
        cmp_unload(a);
        app_msg(a, "compare off: model B %s unloaded", lab);
        return;
    }
    cmp_load(a, arg);
}

static void c_sid(app *a, const char *arg)
{
    int codes[UI_MAX_LEVELS];
    int n = sidr_sid_parse(arg, strlen(arg), codes, UI_MAX_LEVELS);
    if (n < 1) { app_err(a, ":sid expects a SID or prefix like <a_1><b_2>, got '%s'", arg); return; }
    app_select_sid(a, codes, n, 0, n - 1, 1);
    a->focus = PANE_CODEBOOK;
}

static void c_help(app *a, const char *arg)
{
    a->help = 1;
    a->help_top = 0;
}

static void c_align(app *a, const char *arg)
{
    if (!*arg) { app_focus(a, PANE_ALIGN); return; }
    int item = sidr_dataset_item(&a->ss.ds, arg);
    if (item < 0) { app_err(a, "unknown item '%s' (:align takes an item id; / in Alignment searches titles and SIDs)", arg); return; }
    app_focus(a, PANE_ALIGN);
    al_set_item(a, item);
    app_msg(a, "item %s in Alignment", arg);
}

static void c_tour(app *a, const char *arg)
{
    (void)arg;
    tour_start(a);
}

static void c_quit(app *a, const char *arg)
{
    a->quit = 1;
}

const ui_command_info ui_commands[] = {
    { "user", "ID", "open a user (their last test row, else valid, else train)" },
    { "row", "SPLIT:N", "open a dataset row, e.g. test:12" },
    { "run", "[ID]", "run the recommendation (for the current user, or ID)" },
    { "cancel", "", "cancel the run" },
    { "beams", "N", "beam width B for the next run" },
    { "think", "on|off", "thinking mode (reason before the SID) for the next run" },
    { "temp", "T", "reasoning temperature (0 = greedy, as the paper)" },
    { "seed", "S", "sampling seed" },
    { "maxtok", "N", "cap on reasoning tokens" },
    { "set", "[KEY VALUE]", "show or change settings: beams think temp seed maxtok top_p pace color ascii" },
    { "export", "FILE", "write FILE.json, FILE.md (and FILE.svg after w)" },
    { "load-eval", "FILE", "mark users hit/miss from 'sidr eval --json FILE'" },
    { "split", "all|test|valid|train", "which split's users to list" },
    { "filter", "all|hit|miss|notrun", "list users by outcome (off: all, and no eval-diff filter)" },
    { "filter", "eval-diff A B", "rows where one of two 'sidr eval --json' files A, B hits @10" },
    { "compare", "DIR|off", "model B: r runs both models, C compares them" },
    { "sid", "SID", "open a SID or prefix in the codebook, e.g. <a_1><b_2>" },
    { "align", "[ITEM]", "the Alignment pane (for an item id): title<->SID, worst-aligned sample, confusion" },
    { "tour", "", "play a tour of test rows for an audience (any key takes over)" },
    { "help", "", "keys and commands" },
    { "quit", "", "quit (also :q)" },
};
const int ui_commands_len = (int)(sizeof ui_commands / sizeof ui_commands[0]);

static const cmd_fn handlers[] = { c_user, c_row, c_run, c_cancel, c_beams, c_think, c_temp, c_seed, c_maxtok, c_set,
                                   c_export, c_load_eval, c_split, c_filter, c_filter, c_compare, c_sid, c_align, c_tour, c_help, c_quit };

void app_command(app *a, const char *line)
{
    while (*line == ' ' || *line == ':') line++;
    char name[64];
    int k = 0;
    while (line[k] && line[k] != ' ' && k < 63) { name[k] = line[k]; k++; }
    name[k] = 0;
    const char *arg = line + k;
    while (*arg == ' ') arg++;
    char argbuf[1024];
    snprintf(argbuf, sizeof argbuf, "%s", arg);
    size_t n = strlen(argbuf);
    while (n && isspace((unsigned char)argbuf[n - 1])) argbuf[--n] = 0;
    if (!name[0]) return;
    if (!strcmp(name, "q") || !strcmp(name, "q!") || !strcmp(name, "exit")) { a->quit = 1; return; }
    int found = -1, n_prefix = 0;
    for (int i = 0; i < ui_commands_len; i++) {
        if (!strcmp(ui_commands[i].name, name)) { found = i; break; }
        if (!strncmp(ui_commands[i].name, name, strlen(name))) { found = i; n_prefix++; }
    }
    if (found < 0 || (n_prefix > 1 && strcmp(ui_commands[found].name, name))) {
        app_err(a, "unknown command ':%s' (:help lists them)", name);
        return;
    }
    handlers[found](a, argbuf);
}

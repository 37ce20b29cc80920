/* The status bar (model, dataset, the decoding settings in effect, the run
 * and its speed), the message / command line, and the help screen, which is
 * generated from the key table and the command table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

static void settings_text(const rec_settings *s, int wide, char *buf, size_t cap)
{
    char temp[32];
    snprintf(temp, sizeof temp, "%g", s->temperature);
    if (wide)
        snprintf(buf, cap, "think %s  beams %d  temp %s  seed %llu  max %d", s->think ? "on" : "off", s->beams, temp,
                 (unsigned long long)s->seed, s->max_reasoning);
    else
        snprintf(buf, cap, "%s B%d T%s S%llu M%d", s->think ? "think" : "nothink", s->beams, temp, (unsigned long long)s->seed,
                 s->max_reasoning);
}

static int same_settings(const rec_settings *x, const rec_settings *y)
{
    return x->think == y->think && x->beams == y->beams && x->temperature == y->temperature && x->seed == y->seed &&
           x->max_reasoning == y->max_reasoning && x->top_p == y->top_p;
}

static void run_text(app *a, char *buf, size_t cap, int with_rate)
{
    const rec_run *r = &a->run;
    char rate[48] = "";
    if (with_rate && a->run_live && r->n_gen && r->t_reasoning > 0) {
        if (a->headless) snprintf(rate, sizeof rate, " --.- tok/s");
        else snprintf(rate, sizeof rate, " %.1f tok/s", r->n_gen / r->t_reasoning);
    }
    switch (a->rstate) {
    case RUN_NONE: snprintf(buf, cap, "idle"); return;
    case RUN_FAILED: snprintf(buf, cap, "failed"); return;
    case RUN_CANCELLED: snprintf(buf, cap, "cancelled %d tok%s", r->n_gen, rate); return;
    case RUN_DONE:
        if (a->rank >= 0) snprintf(buf, cap, "hit @%d %d tok%s", a->rank + 1, r->n_gen, rate);
        else snprintf(buf, cap, "miss %d tok%s", r->n_gen, rate);
        return;
    case RUN_ACTIVE: break;
    }
    const char *p = a->paused ? "paused " : "";
    switch (r->phase) {
    case REC_PREFILL: snprintf(buf, cap, "%sprefill %d tok", p, r->n_prompt); break;
    case REC_REASONING: snprintf(buf, cap, "%sreasoning %d/%d%s", p, r->n_gen, r->set.max_reasoning, rate); break;
    case REC_BRIDGE: snprintf(buf, cap, "%sbridge%s", p, rate); break;
    case REC_BEAM: snprintf(buf, cap, "%sbeam %d/%d%s", p, r->bs.step, r->bs.n_steps, rate); break;
    case REC_DONE: snprintf(buf, cap, "done"); break;
    }
}

void status_draw(app *a, int y)
{
    ui_screen *s = &a->scr;
    int W = s->w;
    scr_fill(s, (ui_rect){ y, 0, 1, W }, ST_STATUS);
    tline t;
    tline_init(&t);
    if (a->cmd_active && a->cmd_matches[0]) {
        tline_add(&t, ST_STATUS_ACCENT, 0, 0, "%s", " complete ");
        tline_add(&t, ST_STATUS, -1, 0, " %s", a->cmd_matches);
        scr_tline(s, y, 0, W, &t);
        tline_free(&t);
        return;
    }
    int wide = W >= 120;
    int active = a->rstate == RUN_ACTIVE && a->run_live;
    const rec_settings *eff = active ? &a->run.set : &a->set;
    char set[128], run[96];
    settings_text(eff, wide, set, sizeof set);
    if (active && !same_settings(&a->run.set, &a->set)) strncat(set, " *", sizeof set - strlen(set) - 1);
    if (a->pace) snprintf(set + strlen(set), sizeof set - strlen(set), wide ? "  pace %d/s" : " P%d", a->pace);
    /* exact is the default and goes unsaid; fast is flagged */
    if (a->ss.model.numerics == SIDR_NUMERICS_FAST) strncat(set, wide ? "  numerics fast" : " fast", sizeof set - strlen(set) - 1);
    run_text(a, run, sizeof run, 1);
    int dw = (int)strlen(a->data_label) + 2;
    if (dw > W / 5) dw = W / 5;
    /* compare mode: "sidr A/B", model A's name, then "vs B NAME" (running while
     * B's run goes); model A's name is what shrinks first */
    char bl[200] = "";
    if (a->cmp.on) snprintf(bl, sizeof bl, " vs B %s%s", a->cmp.label, a->cmp.state == CMP_ACTIVE ? " (running)" : "");
    int bw = text_width(bl, strlen(bl));
    if (bw > W / 4) bw = W / 4;
    int head = a->cmp.on ? 10 : 6;
    int fixed = head + bw + dw + (int)strlen(set) + 2 + text_width(run, strlen(run)) + 2;
    if (fixed + 8 > W) { /* narrow: the speed goes first */
        run_text(a, run, sizeof run, 0);
        fixed = head + bw + dw + (int)strlen(set) + 2 + text_width(run, strlen(run)) + 2;
    }
    int mw = (int)strlen(a->model_label) + 2;
    if (mw > W - fixed) mw = W - fixed > 4 ? W - fixed : 4;
    tline_add(&t, ST_STATUS_ACCENT, 0, 0, "%s", a->cmp.on ? " sidr A/B " : " sidr ");
    tline_add(&t, ST_STATUS, a->cmp.on ? mw - 1 : mw, SPAN_ELLIPSIS, " %s", a->model_label);
    if (a->cmp.on) tline_add(&t, ST_STATUS, bw + 1, SPAN_ELLIPSIS, "%s", bl);
    tline_add(&t, ST_STATUS, dw, SPAN_ELLIPSIS, " %s", a->data_label);
    tline_add(&t, ST_STATUS, 0, 0, " %s ", set);
    tline_add(&t, ST_STATUS, -1, 0, "%s", "");
    tline_add(&t, active ? ST_STATUS_ACCENT : ST_STATUS, 0, 0, " %s ", run);
    scr_tline(s, y, 0, W, &t);
    tline_free(&t);
}

static void hints(app *a, char *buf, size_t cap)
{
    static const struct { int scope; ui_action act; const char *what; } idle[] = {
        { SC_USERS, A_USER_RUN, "run" }, { SC_USERS, A_USER_OPEN, "open" }, { SC_GLOBAL, A_FOCUS_NEXT, "pane" },
        { SC_GLOBAL, A_SEARCH, "search" }, { SC_GLOBAL, A_COMMAND, "command" }, { SC_GLOBAL, A_HELP, "help" },
        { SC_GLOBAL, A_QUIT, "quit" },
    }, running[] = {
        { SC_GLOBAL, A_CANCEL, "cancel" }, { SC_GLOBAL, A_PAUSE, "pause" }, { SC_GLOBAL, A_STEP, "step" },
        { SC_GLOBAL, A_FOCUS_NEXT, "pane" }, { SC_GLOBAL, A_COMMAND, "command" }, { SC_GLOBAL, A_HELP, "help" },
    };
    int active = a->rstate == RUN_ACTIVE;
    size_t n = active ? sizeof running / sizeof running[0] : sizeof idle / sizeof idle[0];
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char k[32];
        int scope = active ? running[i].scope : idle[i].scope;
        ui_action act = active ? running[i].act : idle[i].act;
        keymap_hint(&a->km, scope, act, k, sizeof k);
        if (!k[0]) continue;
        o += snprintf(buf + o, cap - o, "%s%s %s", o ? "  " : "", k, active ? running[i].what : idle[i].what);
        if (o >= cap) o = cap - 1;
    }
}

void msgline_draw(app *a, int y)
{
    ui_screen *s = &a->scr;
    if (a->cmd_active) {
        int pw = scr_str(s, y, 0, s->w / 2, a->cmd_prompt, ST_BOLD, 0);
        /* keep the cursor in view: scroll the line left when it is long */
        int cur_w = text_width(a->cmd_buf, (size_t)a->cmd_cursor);
        int room = s->w - pw - 1;
        int skip_w = cur_w > room ? cur_w - room : 0;
        size_t skip = text_fit(a->cmd_buf, strlen(a->cmd_buf), skip_w);
        if (skip < strlen(a->cmd_buf) && text_width(a->cmd_buf, skip) < skip_w) skip += sidr_utf8_lead_len((unsigned char)a->cmd_buf[skip]);
        scr_str(s, y, pw, s->w - pw, a->cmd_buf + skip, ST_NORMAL, 0);
        int cx = pw + text_width(a->cmd_buf + skip, (size_t)a->cmd_cursor - skip);
        if (cx < s->w) {
            scr_flag(s, y, cx, 1, CF_CURSOR);
            s->cur_y = y;
            s->cur_x = cx;
        }
        return;
    }
    if (a->msg[0]) {
        scr_str(s, y, 0, s->w, a->msg, a->msg_err ? ST_ERROR : ST_MESSAGE, 0);
        return;
    }
    char h[256];
    hints(a, h, sizeof h);
    scr_str(s, y, 0, s->w, h, ST_DIM, 0);
}

/* ---- help ------------------------------------------------------------------ */

static tline *hl;
static int n_hl, cap_hl;

static tline *hline(void)
{
    if (n_hl == cap_hl) {
        hl = xrealloc(hl, (size_t)(cap_hl = cap_hl * 2 + 64) * sizeof *hl);
        for (int i = n_hl; i < cap_hl; i++) tline_init(&hl[i]);
    }
    tline *t = &hl[n_hl++];
    tline_reset(t);
    return t;
}

static void build_help(app *a)
{
    n_hl = 0;
    tline *t = hline();
    tline_add(t, ST_HEADER, -1, 0, " %s", "sidr explorer: keys and commands");
    t = hline();
    tline_add(t, ST_DIM, -1, 0, " %s", "Generated from the key table that drives dispatch; rebind keys in the config file (sidr-config(5)).");
    static const char *const scope_titles[SC_COUNT] = { "Everywhere", "Users pane", "History pane", "Reasoning pane",
                                                        "Beam pane", "Codebook pane",
                                                        "Alignment pane (6: in place of Reasoning, Beam and Codebook)",
                                                        "Diff view (D: the original and the edited history's runs)",
                                                        "Compare view (C: model A and model B on the same row)", "Help" };
    for (int scope = SC_GLOBAL; scope < SC_HELP; scope++) {
        hline();
        t = hline();
        tline_add(t, ST_HEADER, -1, 0, " %s", scope_titles[scope]);
        for (int r = 0; r < key_table_len; r++) {
            if (key_table[r].scope != scope) continue;
            char keys[128];
            keymap_row_keys(&a->km, r, keys, sizeof keys);
            t = hline();
            tline_add(t, ST_NORMAL, 2, 0, "%s", "");
            tline_add(t, ST_BOLD, 16, SPAN_ELLIPSIS, "%s", keys[0] ? keys : "(unbound)");
            tline_add(t, ST_NORMAL, -1, 0, "%s", key_table[r].help);
            if (a->scr.w >= 100) tline_add(t, ST_DIM, 24, 0, "  %s", key_table[r].name);
        }
    }
    hline();
    t = hline();
    tline_add(t, ST_HEADER, -1, 0, " %s", "Commands (: opens the command line; Tab completes, Up/Down recall)");
    for (int i = 0; i < ui_commands_len; i++) {
        t = hline();
        tline_add(t, ST_NORMAL, 2, 0, "%s", "");
        tline_add(t, ST_BOLD, 28, SPAN_ELLIPSIS, ":%s %s", ui_commands[i].name, ui_commands[i].args);
        tline_add(t, ST_NORMAL, 1, 0, "%s", "");
        tline_add(t, ST_NORMAL, -1, 0, "%s", ui_commands[i].help);
    }
    hline();
    t = hline();
    tline_add(t, ST_HEADER, -1, 0, " %s", "Mouse");
    t = hline();
    tline_add(t, ST_NORMAL, -1, 0, "  %s", "Click focuses a pane and selects a line (a SID token: its level; a trace mention: follows it); the wheel scrolls.");
    hline();
    t = hline();
    tline_add(t, ST_HEADER, -1, 0, " %s", "Colours");
    t = hline();
    tline_add(t, ST_NORMAL, 0, 0, "  %s", "SID levels: ");
    for (int l = 0; l < 5; l++) tline_add(t, ST_LEVEL(l), 0, 0, "<%c_N> ", 'a' + l);
    t = hline();
    tline_add(t, ST_NORMAL, 0, 0, "  %s", "reasoning tokens by probability: ");
    static const char *const pl[] = { "p>=.8", "p>=.5", "p>=.2", "p>=.05", "p<.05" };
    for (int k = 0; k < 5; k++) tline_add(t, ST_PROB0 + k, 0, 0, "%s ", pl[k]);
    t = hline();
    tline_add(t, ST_NORMAL, -1, 0, "  %s", "History '#1': the SID levels the item shares with the top beam. Monochrome: NO_COLOR, --mono or :set color off.");
    hline();
    t = hline();
    tline_add(t, ST_DIM, -1, 0, " %s", "q, Esc or ? closes this help.");
}

void help_draw(app *a, ui_rect r)
{
    build_help(a);
    scr_fill(&a->scr, (ui_rect){ r.y, r.x, 1, r.w }, ST_TITLE_FOCUS);
    scr_printf(&a->scr, r.y, r.x, r.w, ST_TITLE_FOCUS, 0, " Help  %d/%d", a->help_top + 1, n_hl);
    int h = r.h - 1;
    if (a->help_top > n_hl - h) a->help_top = n_hl - h;
    if (a->help_top < 0) a->help_top = 0;
    for (int i = 0; i < h && a->help_top + i < n_hl; i++) scr_tline(&a->scr, r.y + 1 + i, r.x, r.w, &hl[a->help_top + i]);
}

int help_key(app *a, ui_action act)
{
    int page = a->scr.h - 4 > 1 ? a->scr.h - 4 : 1;
    switch (act) {
    case A_MOVE_DOWN: a->help_top++; break;
    case A_MOVE_UP: a->help_top--; break;
    case A_PAGE_DOWN: a->help_top += page; break;
    case A_PAGE_UP: a->help_top -= page; break;
    case A_FIRST: a->help_top = 0; break;
    case A_LAST: a->help_top = 1 << 20; break;
    case A_QUIT: case A_CANCEL: case A_HELP: a->help = 0; break;
    case A_COMMAND: a->help = 0; cmdline_open(a, ':'); break;
    case A_REDRAW: a->dirty = 2; break;
    default: break;
    }
    if (a->help_top < 0) a->help_top = 0;
    a->dirty = 1;
    return 1;
}

void help_free_cache(void)
{
    for (int i = 0; i < cap_hl; i++) tline_free(&hl[i]);
    free(hl);
    hl = NULL;
    n_hl = cap_hl = 0;
}

/* The diff view: the last run of the original history against the last run
 * of the edited one (ui/edit.c keeps both), over the whole pane area.  The
 * target's rank in both, the top-K side by side with each SID's rank move
 * ("+2" up two, "-1", "=", "new", "gone"), and the reasoning, with the
 * words only one side has marked the way `git diff --word-diff` marks them:
 * [-removed-] in the original, {+added+} in the edited trace.  The brackets
 * show the change without colour (NO_COLOR, monochrome, ASCII); colours only
 * add to them.  Wide panes put the reasoning side by side, narrow ones
 * (under 100 columns) stack it.  The words come from an LCS over whitespace-
 * separated words after the common prefix and suffix are set aside. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

#define DIFF_WIDE 100
#define LCS_MAX_CELLS (4 * 1000 * 1000) /* beyond it the middle counts as changed */

/* ---- the word diff ------------------------------------------------------- */

typedef struct {
    int off, len;
    int changed;
} word;

static int split_words(const char *s, word **out)
{
    int n = 0, cap = 0;
    word *w = NULL;
    for (int i = 0; s && s[i];) {
        while (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') i++;
        if (!s[i]) break;
        int b = i;
        while (s[i] && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r') i++;
        if (n == cap) w = xrealloc(w, (size_t)(cap = cap * 2 + 64) * sizeof *w);
        w[n++] = (word){ b, i - b, 0 };
    }
    *out = w;
    return n;
}

static int same(const char *x, const word *a, const char *y, const word *b)
{
    return a->len == b->len && !memcmp(x + a->off, y + b->off, (size_t)a->len);
}

/* Marks the words of x and y outside their longest common subsequence. */
static void word_diff(const char *x, word *a, int na, const char *y, word *b, int nb)
{
    int p = 0, s = 0;
    while (p < na && p < nb && same(x, &a[p], y, &b[p])) p++;
    while (s < na - p && s < nb - p && same(x, &a[na - 1 - s], y, &b[nb - 1 - s])) s++;
    int n = na - p - s, m = nb - p - s;
    word *A = a + p, *B = b + p;
    if (!n || !m || (long)n * m > LCS_MAX_CELLS) {
        for (int i = 0; i < n; i++) A[i].changed = 1;
        for (int j = 0; j < m; j++) B[j].changed = 1;
        return;
    }
    /* L[i][j]: the LCS of A[i..] and B[j..]; min(n, m) <= 2000 fits 16 bits */
    uint16_t *L = xcalloc((size_t)(n + 1) * (m + 1), sizeof *L);
#define AT(i, j) L[(size_t)(i) * (m + 1) + (j)]
    for (int i = n - 1; i >= 0; i--)
        for (int j = m - 1; j >= 0; j--)
            AT(i, j) = same(x, &A[i], y, &B[j]) ? AT(i + 1, j + 1) + 1 : AT(i + 1, j) > AT(i, j + 1) ? AT(i + 1, j) : AT(i, j + 1);
    int i = 0, j = 0;
    while (i < n && j < m) {
        if (same(x, &A[i], y, &B[j])) i++, j++;
        else if (AT(i + 1, j) >= AT(i, j + 1)) A[i++].changed = 1;
        else B[j++].changed = 1;
    }
    while (i < n) A[i++].changed = 1;
    while (j < m) B[j++].changed = 1;
#undef AT
    free(L);
}

/* The reasoning diff of the two summaries, kept until either changes. */
static struct {
    int stamp_o, stamp_e;
    word *wo, *we;
    int no, ne, del, add;
} wd;

static void ensure_word_diff(const run_sum *o, const run_sum *e)
{
    if (wd.stamp_o == o->stamp && wd.stamp_e == e->stamp) return;
    free(wd.wo);
    free(wd.we);
    wd.no = split_words(o->reasoning, &wd.wo);
    wd.ne = split_words(e->reasoning, &wd.we);
    word_diff(o->reasoning, wd.wo, wd.no, e->reasoning, wd.we, wd.ne);
    wd.del = wd.add = 0;
    for (int i = 0; i < wd.no; i++) wd.del += wd.wo[i].changed;
    for (int i = 0; i < wd.ne; i++) wd.add += wd.we[i].changed;
    wd.stamp_o = o->stamp;
    wd.stamp_e = e->stamp;
}

/* ---- wrapping a marked trace into a column --------------------------------- */

typedef struct {
    char *text;     /* the word with its markers */
    int style;
    int line;
} piece;

typedef struct {
    piece *p;
    int n, cap, lines;
} column;

static void col_add(column *c, const char *s, size_t n, int style, int line)
{
    if (c->n == c->cap) c->p = xrealloc(c->p, (size_t)(c->cap = c->cap * 2 + 64) * sizeof *c->p);
    char *t = xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = 0;
    c->p[c->n++] = (piece){ t, style, line };
}

static void col_free(column *c)
{
    for (int i = 0; i < c->n; i++) free(c->p[i].text);
    free(c->p);
    memset(c, 0, sizeof *c);
}

/* Words wrapped greedily into width w; runs of changed words get open/close
 * markers ("[-", "-]" or "{+", "+}"). */
static void wrap(column *c, const char *text, const word *w, int n, int w_cols, const char *open, const char *close,
                 int style)
{
    int line = 0, col = 0;
    char buf[1024];
    for (int i = 0; i < n; i++) {
        int ch = w[i].changed;
        int len = snprintf(buf, sizeof buf, "%s%.*s%s", ch && (i == 0 || !w[i - 1].changed) ? open : "",
                           w[i].len > 1000 ? 1000 : w[i].len, text + w[i].off,
                           ch && (i == n - 1 || !w[i + 1].changed) ? close : "");
        if (len >= (int)sizeof buf) len = (int)sizeof buf - 1;
        const char *s = buf;
        size_t rest = (size_t)len;
        while (rest) {
            int tw = text_width(s, rest);
            if (col && col + 1 + tw > w_cols) line++, col = 0;
            size_t take = rest;
            if (tw > w_cols - col) {
                take = text_fit(s, rest, w_cols - col);
                if (!take) take = (size_t)sidr_utf8_lead_len((unsigned char)*s) ? (size_t)sidr_utf8_lead_len((unsigned char)*s) : 1;
                if (take > rest) take = rest;
            }
            col_add(c, s, take, ch ? style : ST_NORMAL, line);
            col += (col ? 1 : 0) + text_width(s, take);
            s += take;
            rest -= take;
            if (rest) line++, col = 0;
        }
    }
    c->lines = n ? line + 1 : 0;
}

/* Appends line L of a column to t, padded to w columns when pad. */
static void col_line(tline *t, const column *c, int L, int w, int pad)
{
    int used = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->p[i].line != L) continue;
        if (used) { tline_add(t, ST_NORMAL, 0, 0, "%s", " "); used++; }
        tline_addn(t, c->p[i].style, 0, 0, c->p[i].text, strlen(c->p[i].text));
        used += text_width(c->p[i].text, strlen(c->p[i].text));
    }
    if (pad && used < w) tline_add(t, ST_NORMAL, w - used, 0, "%s", "");
}

/* ---- the lines ------------------------------------------------------------- */

static tline *lines;
static int n_built, cap_lines;

static tline *add_line(int selectable)
{
    if (n_built == cap_lines) {
        lines = xrealloc(lines, (size_t)(cap_lines = cap_lines * 2 + 32) * sizeof *lines);
        for (int i = n_built; i < cap_lines; i++) tline_init(&lines[i]);
    }
    tline *t = &lines[n_built++];
    tline_reset(t);
    t->selectable = selectable;
    return t;
}

static void rule(app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rule(app *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    add_line(0);
    tline *t = add_line(0);
    const char *dash = a->scr.ascii ? "-" : "\xE2\x94\x80";
    tline_add(t, ST_BORDER, 0, 0, "%s", dash);
    tline_add(t, ST_HEADER, 0, 0, " %s ", buf);
    char fill[3 * 240 + 1];
    size_t o = 0, dl = strlen(dash);
    for (int k = 0; k < 240; k++, o += dl) memcpy(fill + o, dash, dl);
    fill[o] = 0;
    tline_add(t, ST_BORDER, -1, SPAN_CLIP, "%s", fill);
}

static void note(int style, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(int style, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tline_add(add_line(1), style, -1, 0, " %s", buf);
}

static const char *sep(app *a)
{
    return a->scr.ascii ? " | " : " \xE2\x94\x82 ";
}

static void rank_text(const run_sum *s, char *buf, size_t cap)
{
    if (s->rank >= 0) snprintf(buf, cap, "rank %d of %d", s->rank + 1, s->n_top);
    else snprintf(buf, cap, "miss (not among %d)", s->n_top);
}

/* One half of a top-K row: rank, target mark, SID, [score], title, move. */
static void top_half(app *a, tline *t, const run_sum *s, const run_sum *o, const run_sum *e, int i, int on_edited, int w,
                     const char *target_sid)
{
    int sidw = a->sid_width, score_w = w >= 50 ? 8 : 0, move_w = 5;
    if (i >= s->n_top) { tline_add(t, ST_NORMAL, w, 0, "%s", ""); return; }
    int tg = target_sid && !strcmp(s->sid[i], target_sid);
    char mv[16];
    edit_rank_move(o, e, i, on_edited, mv, sizeof mv);
    if (!on_edited && strcmp(mv, "gone")) mv[0] = 0; /* moves are read on the edited side */
    tline_add(t, ST_NUMBER, 2, SPAN_RIGHT, "%d", i + 1);
    tline_add(t, ST_TARGET, 1, 0, "%s", tg ? (a->scr.ascii ? "*" : "\xE2\x98\x85") : "");
    tline_sid(t, s->sid[i], sidw + 1, 0);
    if (score_w) tline_add(t, ST_DIM, score_w, SPAN_RIGHT, "%.3f ", s->score[i]);
    int title_w = w - 3 - (sidw + 1) - score_w - move_w;
    const char *title = s->item[i] >= 0 ? a->ss.ds.items[s->item[i]].title : "";
    tline_add(t, tg ? ST_TARGET : ST_NORMAL, title_w > 1 ? title_w : 1, SPAN_ELLIPSIS, "%s", title);
    int st = !strcmp(mv, "new") || mv[0] == '+' ? ST_HIT : !strcmp(mv, "gone") || mv[0] == '-' ? ST_MISS : ST_DIM;
    tline_add(t, st, move_w, SPAN_RIGHT, "%s", mv);
}

static void build(app *a, int width)
{
    n_built = 0;
    hist_edits *ed = &a->edit;
    const run_sum *o = &ed->orig, *e = &ed->edited;
    char k_r[16], k_d[16];
    keymap_hint(&a->km, SC_GLOBAL, A_RUN, k_r, sizeof k_r);
    keymap_hint(&a->km, SC_HISTORY, A_HIST_DELETE, k_d, sizeof k_d);
    if (!o->valid || !e->valid) {
        add_line(0);
        if (!edit_active(a) && !e->valid)
            note(ST_NORMAL, "No edits yet: in History (2) %s deletes, K/J move, i inserts, u undoes;", k_d);
        else note(ST_NORMAL, "%s", "The edited history has not run yet:");
        note(ST_NORMAL, "%s runs it (and the original first, under the same settings).", k_r);
        note(ST_DIM, "%s", "Then: the target's rank, the top-K with rank moves, the reasoning.");
        return;
    }
    const sidr_sample *row = sidr_dataset_row(&a->ss.ds, (sidr_split_id)ed->split, ed->row);
    const sidr_item *target = row ? &a->ss.ds.items[row->target] : NULL;
    const char *tsid = target ? target->sid : NULL;
    int half = (width - 3) / 2;

    /* the inputs */
    add_line(0);
    tline *t = add_line(1);
    tline_add(t, ST_HEADER, half + 1, 0, " original: %d item%s", o->n_hist, o->n_hist == 1 ? "" : "s");
    tline_add(t, ST_BORDER, 0, 0, "%s", sep(a) + 1);
    tline_add(t, ST_HEADER, -1, 0, "edited: %d item%s, %d edit%s%s", e->n_hist, e->n_hist == 1 ? "" : "s", e->n_edits,
              e->n_edits == 1 ? "" : "s", ed->n_log != e->n_edits || !edit_active(a) ? " (since changed)" : "");
    if (!edit_same_settings(&o->set, &e->set))
        note(ST_ERROR, "The runs used different settings: %s runs both again.", k_r);
    for (int k = 0; k < ed->n_log && edit_active(a); k++) {
        char d[300];
        edit_describe(a, k, d, sizeof d);
        note(ST_NORMAL, "%d. %s", k + 1, d);
    }

    /* the target */
    char r0[48], r1[48], mv[16] = "";
    rank_text(o, r0, sizeof r0);
    rank_text(e, r1, sizeof r1);
    if (o->rank >= 0 && e->rank >= 0) snprintf(mv, sizeof mv, o->rank == e->rank ? "=" : "%+d", o->rank - e->rank);
    else snprintf(mv, sizeof mv, "%s", o->rank >= 0 ? "gone" : e->rank >= 0 ? "new" : "=");
    rule(a, "Target %s", tsid ? tsid : "(no SID)");
    t = add_line(1);
    tline_add(t, ST_NORMAL, 0, 0, " original %s, edited %s ", r0, r1);
    tline_add(t, mv[0] == '+' || !strcmp(mv, "new") ? ST_HIT : mv[0] == '-' || !strcmp(mv, "gone") ? ST_MISS : ST_DIM, 0, 0,
              "(%s)", mv);
    if (target) tline_add(t, ST_TARGET, -1, 0, "  %s", target->title);

    /* the top-K */
    rule(a, "Top %d", e->n_top > o->n_top ? e->n_top : o->n_top);
    t = add_line(0);
    tline_add(t, ST_HEADER, half, 0, " %s", "original");
    tline_add(t, ST_BORDER, 0, 0, "%s", sep(a));
    tline_add(t, ST_HEADER, half, 0, "%s", "edited");
    tline_add(t, ST_HEADER, 0, 0, "%s", "");
    int nk = o->n_top > e->n_top ? o->n_top : e->n_top;
    for (int i = 0; i < nk; i++) {
        t = add_line(1);
        top_half(a, t, o, o, e, i, 0, half, tsid);
        tline_add(t, ST_BORDER, 0, 0, "%s", sep(a));
        top_half(a, t, e, o, e, i, 1, half, tsid);
    }

    /* the reasoning */
    if (!o->reasoning && !e->reasoning) {
        rule(a, "%s", "Reasoning");
        note(ST_DIM, "%s", "(no reasoning: thinking was off)");
        return;
    }
    ensure_word_diff(o, e);
    rule(a, "Reasoning: %d -> %d tokens, %d word%s removed, %d added", o->n_reasoning_tokens, e->n_reasoning_tokens, wd.del,
         wd.del == 1 ? "" : "s", wd.add);
    int wide = width >= DIFF_WIDE;
    int cw = wide ? half - 1 : width - 2;
    column co = { 0 }, ce = { 0 };
    wrap(&co, o->reasoning, wd.wo, wd.no, cw, "[-", "-]", ST_MISS);
    wrap(&ce, e->reasoning, wd.we, wd.ne, cw, "{+", "+}", ST_HIT);
    if (wide) {
        int nl = co.lines > ce.lines ? co.lines : ce.lines;
        for (int L = 0; L < nl; L++) {
            t = add_line(1);
            tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
            col_line(t, &co, L, cw, 1);
            tline_add(t, ST_BORDER, 0, 0, "%s", sep(a));
            col_line(t, &ce, L, cw, 0);
        }
    } else {
        t = add_line(0);
        tline_add(t, ST_HEADER, -1, 0, " %s", "original:");
        for (int L = 0; L < co.lines; L++) {
            t = add_line(1);
            tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
            col_line(t, &co, L, cw, 0);
        }
        t = add_line(0);
        tline_add(t, ST_HEADER, -1, 0, " %s", "edited:");
        for (int L = 0; L < ce.lines; L++) {
            t = add_line(1);
            tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
            col_line(t, &ce, L, cw, 0);
        }
    }
    col_free(&co);
    col_free(&ce);
}

/* ---- the view -------------------------------------------------------------- */

static int n_lines(app *a, view *v)
{
    build(a, v->r.w > 0 ? v->r.w : a->scr.w);
    return n_built ? n_built : 1;
}

static void line(app *a, view *v, int i, int width, tline *t)
{
    (void)a, (void)v, (void)width;
    if (i >= n_built) { t->selectable = 0; return; }
    const tline *src = &lines[i];
    t->selectable = src->selectable;
    for (int k = 0; k < src->n; k++)
        tline_addn(t, src->spans[k].style, src->spans[k].width, src->spans[k].flags, src->spans[k].text,
                   strlen(src->spans[k].text));
}

static int key(app *a, view *v, ui_action act)
{
    (void)v;
    if (act == A_DIFF || act == A_CANCEL) { diff_toggle(a); return 1; }
    if (act == A_MOVE_LEFT || act == A_MOVE_RIGHT) return 1;
    return 0;
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    (void)v;
    const hist_edits *e = &a->edit;
    char k[16];
    keymap_hint(&a->km, SC_DIFF, A_DIFF, k, sizeof k);
    if (e->user < 0) { buf[0] = 0; return; }
    snprintf(buf, cap, "%s %s:%d  original vs edited history  %s closes", a->ss.ds.users[e->user].id,
             sidr_split_name((sidr_split_id)e->split), e->row, k);
}

const view_ops view_diff_ops = {
    .name = "Diff",
    .scope = SC_DIFF,
    .n_lines = n_lines,
    .line = line,
    .key = key,
    .title = title,
};

int diff_shown(const app *a)
{
    return a->edit.diff_shown;
}

void diff_toggle(app *a)
{
    hist_edits *e = &a->edit;
    if (e->diff_shown) {
        e->diff_shown = 0;
        app_focus(a, PANE_HISTORY);
        return;
    }
    if (a->cur_user < 0) { app_err(a, "no user open: the diff compares runs of a user's original and edited history"); return; }
    e->diff_shown = 1;
    view *v = &a->views[PANE_DIFF];
    v->sel = v->top = 0;
    app_focus(a, PANE_DIFF);
    list_set_sel(a, v, 0);
}

void diff_free_cache(void)
{
    for (int i = 0; i < cap_lines; i++) tline_free(&lines[i]);
    free(lines);
    lines = NULL;
    n_built = cap_lines = 0;
    free(wd.wo);
    free(wd.we);
    memset(&wd, 0, sizeof wd);
}

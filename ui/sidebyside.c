/* Two run summaries side by side (see sidebyside.h): the word diff, the
 * wrapping of a marked trace into a column, and the target, top-K and
 * reasoning sections the diff and compare views both draw. */
#include "sidebyside.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

#define LCS_MAX_CELLS (4 * 1000 * 1000) /* beyond it the middle counts as changed */

/* ---- the word diff ------------------------------------------------------- */

static int split_words(const char *s, sbs_word **out)
{
    int n = 0, cap = 0;
    sbs_word *w = NULL;
    for (int i = 0; s && s[i];) {
        while (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') i++;
        if (!s[i]) break;
        int b = i;
        while (s[i] && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r') i++;
        if (n == cap) w = xrealloc(w, (size_t)(cap = cap * 2 + 64) * sizeof *w);
        w[n++] = (sbs_word){ b, i - b, 0 };
    }
    *out = w;
    return n;
}

static int same(const char *x, const sbs_word *a, const char *y, const sbs_word *b)
{
    return a->len == b->len && !memcmp(x + a->off, y + b->off, (size_t)a->len);
}

/* Marks the words of x and y outside their longest common subsequence. */
static void word_diff(const char *x, sbs_word *a, int na, const char *y, sbs_word *b, int nb)
{
    int p = 0, s = 0;
    while (p < na && p < nb && same(x, &a[p], y, &b[p])) p++;
    while (s < na - p && s < nb - p && same(x, &a[na - 1 - s], y, &b[nb - 1 - s])) s++;
    int n = na - p - s, m = nb - p - s;
    sbs_word *A = a + p, *B = b + p;
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

void sbs_wdiff_ensure(sbs_wdiff *d, const run_sum *a, const run_sum *b)
{
    if (d->stamp_a == a->stamp && d->stamp_b == b->stamp) return;
    free(d->wa);
    free(d->wb);
    d->na = split_words(a->reasoning, &d->wa);
    d->nb = split_words(b->reasoning, &d->wb);
    word_diff(a->reasoning, d->wa, d->na, b->reasoning, d->wb, d->nb);
    d->del = d->add = 0;
    for (int i = 0; i < d->na; i++) d->del += d->wa[i].changed;
    for (int i = 0; i < d->nb; i++) d->add += d->wb[i].changed;
    d->stamp_a = a->stamp;
    d->stamp_b = b->stamp;
}

void sbs_wdiff_free(sbs_wdiff *d)
{
    free(d->wa);
    free(d->wb);
    memset(d, 0, sizeof *d);
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
 * markers ("[-", "-]" or "{+", "+}"); the word holding byte mark (or the
 * first after it) is preceded by a ">>" piece. */
static void wrap(column *c, const char *text, const sbs_word *w, int n, int w_cols, const char *open, const char *close,
                 int style, int mark, const char *mark_text)
{
    int line = 0, col = 0, marked = mark < 0;
    char buf[1024];
    for (int i = 0; i < n; i++) {
        if (!marked && w[i].off + w[i].len > mark) {
            int mw = text_width(mark_text, strlen(mark_text));
            if (col && col + 1 + mw > w_cols) line++, col = 0;
            col_add(c, mark_text, strlen(mark_text), ST_TARGET, line);
            col += (col ? 1 : 0) + mw;
            marked = 1;
        }
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
    c->lines = c->n ? line + 1 : 0;
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

tline *sbs_add(sbs_lines *L, int selectable)
{
    if (L->n == L->cap) {
        L->lines = xrealloc(L->lines, (size_t)(L->cap = L->cap * 2 + 32) * sizeof *L->lines);
        for (int i = L->n; i < L->cap; i++) tline_init(&L->lines[i]);
    }
    tline *t = &L->lines[L->n++];
    tline_reset(t);
    t->selectable = selectable;
    return t;
}

void sbs_rule(app *a, sbs_lines *L, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sbs_add(L, 0);
    tline *t = sbs_add(L, 0);
    const char *dash = a->scr.ascii ? "-" : "\xE2\x94\x80";
    tline_add(t, ST_BORDER, 0, 0, "%s", dash);
    tline_add(t, ST_HEADER, 0, 0, " %s ", buf);
    char fill[3 * 240 + 1];
    size_t o = 0, dl = strlen(dash);
    for (int k = 0; k < 240; k++, o += dl) memcpy(fill + o, dash, dl);
    fill[o] = 0;
    tline_add(t, ST_BORDER, -1, SPAN_CLIP, "%s", fill);
}

void sbs_note(sbs_lines *L, int style, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tline_add(sbs_add(L, 1), style, -1, 0, " %s", buf);
}

void sbs_copy(const sbs_lines *L, int i, tline *t)
{
    if (i >= L->n) { t->selectable = 0; return; }
    const tline *src = &L->lines[i];
    t->selectable = src->selectable;
    for (int k = 0; k < src->n; k++)
        tline_addn(t, src->spans[k].style, src->spans[k].width, src->spans[k].flags, src->spans[k].text,
                   strlen(src->spans[k].text));
}

void sbs_free(sbs_lines *L)
{
    for (int i = 0; i < L->cap; i++) tline_free(&L->lines[i]);
    free(L->lines);
    memset(L, 0, sizeof *L);
}

const char *sbs_sep(const app *a)
{
    return a->scr.ascii ? " | " : " \xE2\x94\x82 ";
}

void sbs_rank_text(const run_sum *s, char *buf, size_t cap)
{
    if (s->rank >= 0) snprintf(buf, cap, "rank %d of %d", s->rank + 1, s->n_top);
    else snprintf(buf, cap, "miss (not among %d)", s->n_top);
}

/* ---- the sections ---------------------------------------------------------- */

void sbs_target(app *a, sbs_lines *L, const run_sum *o, const run_sum *e, const char *name_a, const char *name_b,
                const sidr_item *target)
{
    char r0[48], r1[48], mv[16] = "";
    sbs_rank_text(o, r0, sizeof r0);
    sbs_rank_text(e, r1, sizeof r1);
    if (o->rank >= 0 && e->rank >= 0) snprintf(mv, sizeof mv, o->rank == e->rank ? "=" : "%+d", o->rank - e->rank);
    else snprintf(mv, sizeof mv, "%s", o->rank >= 0 ? "gone" : e->rank >= 0 ? "new" : "=");
    sbs_rule(a, L, "Target %s", target && target->sid ? target->sid : "(no SID)");
    tline *t = sbs_add(L, 1);
    tline_add(t, ST_NORMAL, 0, 0, " %s %s, %s %s ", name_a, r0, name_b, r1);
    tline_add(t, mv[0] == '+' || !strcmp(mv, "new") ? ST_HIT : mv[0] == '-' || !strcmp(mv, "gone") ? ST_MISS : ST_DIM, 0, 0,
              "(%s)", mv);
    if (target) tline_add(t, ST_TARGET, -1, 0, "  %s", target->title);
}

/* One half of a top-K row: rank, target mark, SID, [score], title, move. */
static void top_half(app *a, tline *t, const run_sum *s, const run_sum *o, const run_sum *e, int i, int on_right, int w,
                     const char *target_sid)
{
    int sidw = a->sid_width, score_w = w >= 50 ? 8 : 0, move_w = 5;
    if (i >= s->n_top) { tline_add(t, ST_NORMAL, w, 0, "%s", ""); return; }
    int tg = target_sid && !strcmp(s->sid[i], target_sid);
    char mv[16];
    edit_rank_move(o, e, i, on_right, mv, sizeof mv);
    if (!on_right && strcmp(mv, "gone")) mv[0] = 0; /* moves are read on the right-hand side */
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

void sbs_topk(app *a, sbs_lines *L, const run_sum *o, const run_sum *e, const char *name_a, const char *name_b, int width,
              const char *tsid)
{
    int half = (width - 3) / 2;
    sbs_rule(a, L, "Top %d", e->n_top > o->n_top ? e->n_top : o->n_top);
    tline *t = sbs_add(L, 0);
    tline_add(t, ST_HEADER, half, SPAN_ELLIPSIS, " %s", name_a);
    tline_add(t, ST_BORDER, 0, 0, "%s", sbs_sep(a));
    tline_add(t, ST_HEADER, half, SPAN_ELLIPSIS, "%s", name_b);
    tline_add(t, ST_HEADER, 0, 0, "%s", "");
    int nk = o->n_top > e->n_top ? o->n_top : e->n_top;
    for (int i = 0; i < nk; i++) {
        t = sbs_add(L, 1);
        top_half(a, t, o, o, e, i, 0, half, tsid);
        tline_add(t, ST_BORDER, 0, 0, "%s", sbs_sep(a));
        top_half(a, t, e, o, e, i, 1, half, tsid);
    }
}

void sbs_reasoning(app *a, sbs_lines *L, const run_sum *o, const run_sum *e, const sbs_wdiff *d, const char *name_a,
                   const char *name_b, int width, int mark_l, int mark_r)
{
    int half = (width - 3) / 2;
    int wide = width >= SBS_WIDE;
    int cw = wide ? half - 1 : width - 2;
    const char *mk = a->scr.ascii ? ">>" : "\xC2\xBB";
    column co = { 0 }, ce = { 0 };
    wrap(&co, o->reasoning, d->wa, d->na, cw, "[-", "-]", ST_MISS, mark_l, mk);
    wrap(&ce, e->reasoning, d->wb, d->nb, cw, "{+", "+}", ST_HIT, mark_r, mk);
    tline *t;
    if (wide) {
        int nl = co.lines > ce.lines ? co.lines : ce.lines;
        for (int l = 0; l < nl; l++) {
            t = sbs_add(L, 1);
            tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
            col_line(t, &co, l, cw, 1);
            tline_add(t, ST_BORDER, 0, 0, "%s", sbs_sep(a));
            col_line(t, &ce, l, cw, 0);
        }
    } else { /* stacked: each side under its name */
        const column *side[2] = { &co, &ce };
        const char *name[2] = { name_a, name_b };
        for (int k = 0; k < 2; k++) {
            t = sbs_add(L, 0);
            tline_add(t, ST_HEADER, -1, 0, " %s:", name[k]);
            for (int l = 0; l < side[k]->lines; l++) {
                t = sbs_add(L, 1);
                tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
                col_line(t, side[k], l, cw, 0);
            }
        }
    }
    col_free(&co);
    col_free(&ce);
}

void sbs_open(app *a, int pane)
{
    view *v = &a->views[pane];
    v->sel = v->top = 0;
    app_focus(a, pane);
    list_set_sel(a, v, 0);
}

/* History: the current user's items in order (position, SID tokens coloured
 * by level, title, brand), the target at the end; after a run, how many
 * leading levels each item shares with the top beam ("#1"), and once `w`
 * has explained the run, how much the decision leaned on each item, by
 * three methods labelled in the header: "attn" (attention mass from the
 * decision positions, a bar scaled to the largest), "occl" (the change in
 * the top SID's log-probability when the item is removed) and "grad"
 * (gradient x input, summed over the item's SID tokens, divided by the
 * largest magnitude over the history).
 *
 * Counterfactual edits (ui/edit.c) change what the pane lists: the edited
 * history, inserted items marked '+' and moved ones '~' after the position,
 * the title saying how many edits are in effect; an insert shows its
 * candidate (picked by '/' over the catalogue) at the insertion point. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

static int n_items(app *a)
{
    int n;
    edit_items(a, &n);
    return n;
}

static int n_lines(app *a, view *v)
{
    return app_cur_sample(a) ? n_items(a) + 2 + a->edit.picking : 1;
}

static int n_fixed(app *a, view *v)
{
    return app_cur_sample(a) ? 1 : 0;
}

/* What line i shows: a history position (>= 0) or one of these. */
enum { L_NONE = -4, L_TARGET = -3, L_PICK = -2, L_HEAD = -1 };

static int slot(app *a, int i)
{
    if (!app_cur_sample(a)) return L_NONE;
    if (i == 0) return L_HEAD;
    int k = i - 1, n = n_items(a);
    if (a->edit.picking) {
        if (k == a->edit.pick_pos) return L_PICK;
        if (k > a->edit.pick_pos) k--;
    }
    return k < n ? k : k == n ? L_TARGET : L_NONE;
}

static int line_of(app *a, int pos)
{
    return 1 + pos + (a->edit.picking && pos >= a->edit.pick_pos);
}

/* The item shown on line i, -1. */
static int item_of_line(app *a, int i)
{
    int n, k = slot(a, i);
    const int *items = edit_items(a, &n);
    if (k >= 0) return items[k];
    if (k == L_PICK) return a->edit.pick_item;
    if (k == L_TARGET) return app_cur_sample(a)->target;
    return -1;
}

static int has_run(app *a)
{
    return a->rstate != RUN_NONE && a->run_user == a->cur_user && a->run_split == a->cur_split && a->run_row == a->cur_row;
}

/* A horizontal bar of frac (0..1) in w cells: eighth blocks, or '#' in ASCII. */
static void bar(char *buf, size_t cap, double frac, int w, int ascii)
{
    static const char *const eighths[] = { "", "\xE2\x96\x8F", "\xE2\x96\x8E", "\xE2\x96\x8D", "\xE2\x96\x8C",
                                           "\xE2\x96\x8B", "\xE2\x96\x8A", "\xE2\x96\x89" };
    size_t n = 0;
    buf[0] = 0;
    if (!(frac > 0)) return;
    if (frac > 1) frac = 1;
    int units = (int)lround(frac * w * (ascii ? 1 : 8));
    if (units == 0) units = 1; /* a non-zero share is never drawn as nothing */
    int full = ascii ? units : units / 8, part = ascii ? 0 : units % 8;
    for (int i = 0; i < full && n + 4 < cap; i++) n += (size_t)snprintf(buf + n, cap - n, "%s", ascii ? "#" : "\xE2\x96\x88");
    if (part && n + 4 < cap) snprintf(buf + n, cap - n, "%s", eighths[part]);
}

/* The largest attention share over the history (bars are scaled to it). */
static double attention_max(app *a)
{
    double mx = 0;
    for (int i = 0; i < a->why.n_hist; i++)
        if (a->why.attention && a->why.attention[i] > mx) mx = a->why.attention[i];
    return mx;
}

static int shared_with_top(app *a, const sidr_item *it)
{
    if (a->rstate != RUN_DONE || !a->run.bs.n_hyps) return -1;
    const sidr_beam *b = &a->run.bs.hyps[0];
    int k = 0;
    while (k < it->n_levels && k < b->n_tokens) {
        int id = b->tokens[k];
        if (id < 0 || id >= a->n_vocab || a->tok_level[id] != k || a->tok_code[id] != it->code[k]) break;
        k++;
    }
    return k;
}

static void line(app *a, view *v, int i, int width, tline *t)
{
    const sidr_sample *row = app_cur_sample(a);
    if (!row) {
        t->selectable = 0;
        tline_add(t, ST_DIM, -1, 0, "%s", " No user open: Space or Enter in Users, or :user ID");
        return;
    }
    int sidw = a->sid_width;
    int brand_w = width >= 90 ? 18 : width >= 70 ? 12 : 0;
    int why = why_for_row(a) && a->why_state != WHY_FAILED && !edit_active(a);
    int attn_w = why ? 6 : 0, occl_w = why ? 6 : 0, grad_w = why && width >= 90 ? 6 : 0;
    int top_w = has_run(a) && a->rstate == RUN_DONE ? 4 : 0;
    if (i == 0) {
        t->selectable = 0;
        tline_add(t, ST_HEADER, 3, SPAN_RIGHT, "%s", "#");
        tline_add(t, ST_HEADER, 1, 0, "%s", "");
        tline_add(t, ST_HEADER, sidw + 1, 0, "%s", "SID");
        tline_add(t, ST_HEADER, -1, 0, "%s", "title");
        if (brand_w) tline_add(t, ST_HEADER, brand_w, 0, " %s", "brand");
        if (attn_w) tline_add(t, ST_HEADER, attn_w, 0, " %s", "attn");
        if (occl_w) tline_add(t, ST_HEADER, occl_w, SPAN_RIGHT, "%s", "occl");
        if (grad_w) tline_add(t, ST_HEADER, grad_w, SPAN_RIGHT, "%s", "grad");
        if (top_w) tline_add(t, ST_HEADER, top_w, SPAN_RIGHT, "%s", "#1");
        return;
    }
    int sl = slot(a, i), item = item_of_line(a, i);
    if (sl == L_PICK) {
        tline_add(t, ST_SPECIAL, 3, SPAN_RIGHT, "%s", "ins");
        tline_add(t, ST_HIT, 1, 0, "%s", "+");
        if (item < 0) {
            tline_add(t, ST_DIM, -1, 0, "%s", "/ picks an item by title or SID; Esc cancels");
            return;
        }
    }
    if (item < 0) return;
    const sidr_item *it = &a->ss.ds.items[item];
    int target = sl == L_TARGET;
    t->tag = item;
    if (target) tline_add(t, ST_TARGET, 3, SPAN_RIGHT, "%s", a->scr.ascii ? "=>" : "\xE2\x86\x92");
    else if (sl >= 0) {
        tline_add(t, ST_NUMBER, 3, SPAN_RIGHT, "%d", sl + 1);
        int m = edit_mark(a, sl);
        tline_add(t, m == '+' ? ST_HIT : m == '~' ? ST_SPECIAL : ST_NORMAL, 1, 0, "%s", m == '+' ? "+" : m == '~' ? "~" : "");
    }
    if (target) tline_add(t, ST_NORMAL, 1, 0, "%s", "");
    int focused = a->focus == v->id && i == v->sel;
    if (it->sid && it->n_levels > 0) {
        int used = 0;
        for (int l = 0; l < it->n_levels; l++) {
            char tok[32];
            sid_token_str(l, it->code[l], tok, sizeof tok);
            int fl = focused && l == v->col ? CF_CURSOR << SPAN_CELL_SHIFT : 0;
            tline_add(t, ST_LEVEL(l), 0, fl, "%s", tok);
            used += (int)strlen(tok);
        }
        tline_add(t, ST_NORMAL, sidw + 1 - used > 0 ? sidw + 1 - used : 1, 0, "%s", "");
    } else tline_add(t, ST_DIM, sidw + 1, 0, "%s", "(no SID)");
    tline_add(t, target ? ST_TARGET : ST_NORMAL, -1, 0, "%s", it->title[0] ? it->title : it->id);
    if (brand_w) tline_add(t, ST_DIM, brand_w, SPAN_ELLIPSIS, " %s", it->brand ? it->brand : "");
    int h = sl; /* the history index; the target line has no attribution */
    const explain_result *ex = &a->why;
    if (attn_w) {
        char b[64];
        double mx = attention_max(a);
        bar(b, sizeof b, !target && ex->attention && mx > 0 ? ex->attention[h] / mx : 0, attn_w - 1, a->scr.ascii);
        tline_add(t, ST_BAR, attn_w, 0, " %s", b);
    }
    if (occl_w) {
        if (target || !ex->occl_delta || h >= ex->occl_done) tline_add(t, ST_DIM, occl_w, SPAN_RIGHT, "%s", target ? "" : "..");
        else if (!isfinite(ex->occl_delta[h])) tline_add(t, ST_DIM, occl_w, SPAN_RIGHT, "%s", "-");
        else tline_add(t, ex->occl_delta[h] < -0.5 ? ST_BAR : ST_NORMAL, occl_w, SPAN_RIGHT, "%+.2f", ex->occl_delta[h]);
    }
    if (grad_w) {
        if (target || !ex->grad_x_input) tline_add(t, ST_DIM, grad_w, SPAN_RIGHT, "%s", "");
        else {
            /* relative to the largest magnitude over the history: its scale
             * depends on the model, its ordering and sign do not */
            double mx = 0;
            for (int j = 0; j < ex->n_hist; j++) mx = fabs(ex->grad_x_input[j]) > mx ? fabs(ex->grad_x_input[j]) : mx;
            tline_add(t, ST_NORMAL, grad_w, SPAN_RIGHT, "%+.2f", mx > 0 ? ex->grad_x_input[h] / mx : 0);
        }
    }
    if (top_w) {
        int k = it->sid ? shared_with_top(a, it) : 0;
        char s[8] = "";
        int m = k < 0 ? 0 : k < 6 ? k : 6;
        for (int l = 0; l < m; l++) s[l] = (char)('a' + l);
        s[m] = 0;
        tline_add(t, k == it->n_levels ? ST_HIT : k ? ST_NORMAL : ST_DIM, top_w, SPAN_RIGHT, "%s", k ? s : "-");
    }
}

static void selected(app *a, view *v)
{
    int item = item_of_line(a, v->sel);
    if (item < 0) return;
    const sidr_item *it = &a->ss.ds.items[item];
    if (v->col >= it->n_levels) v->col = it->n_levels > 0 ? it->n_levels - 1 : 0;
    app_select_item(a, item, v->col);
}

/* Keys while an insert picks its item: Enter inserts, Esc gives up, the
 * search keys look further; anything else gives up and does its usual job. */
static int pick_key(app *a, view *v, ui_action act)
{
    hist_edits *e = &a->edit;
    switch (act) {
    case A_CODEBOOK:
        if (e->pick_item < 0) { app_msg(a, "nothing picked yet: / searches the catalogue's titles and SIDs"); return 1; }
        e->picking = 0;
        edit_insert(a, e->pick_pos, e->pick_item);
        list_set_sel(a, v, line_of(a, e->pick_pos));
        selected(a, v);
        return 1;
    case A_CANCEL:
        e->picking = 0;
        list_set_sel(a, v, line_of(a, e->pick_pos));
        app_msg(a, "insert cancelled");
        return 1;
    case A_SEARCH: case A_SEARCH_NEXT: case A_SEARCH_PREV: case A_REDRAW: case A_HELP: return 0;
    default:
        e->picking = 0;
        list_set_sel(a, v, line_of(a, e->pick_pos));
        app_msg(a, "insert cancelled");
        return -1;
    }
}

static int edit_key(app *a, view *v, ui_action act)
{
    int k = slot(a, v->sel), n = n_items(a), gen = a->edit.gen;
    switch (act) {
    case A_HIST_DELETE:
        edit_delete(a, k);
        if (a->edit.gen != gen) list_set_sel(a, v, line_of(a, k < n_items(a) ? k : n_items(a) - 1));
        break;
    case A_HIST_MOVE_UP: case A_HIST_MOVE_DOWN: {
        int d = act == A_HIST_MOVE_UP ? -1 : 1;
        edit_move(a, k, d);
        if (a->edit.gen != gen) list_set_sel(a, v, line_of(a, k + d));
        break;
    }
    case A_HIST_INSERT:
        if (n >= SIDR_MAX_HISTORY) { edit_insert(a, n, -1); return 1; } /* says why not */
        edit_follow_row(a);
        a->edit.picking = 1;
        a->edit.pick_pos = k >= 0 ? k : n;
        a->edit.pick_item = -1;
        v->sel = 1 + a->edit.pick_pos;
        cmdline_open(a, '/');
        break;
    case A_UNDO: case A_REVERT:
        if (act == A_UNDO) edit_undo(a);
        else edit_revert(a);
        list_set_sel(a, v, v->sel);
        break;
    default: return 0;
    }
    selected(a, v);
    a->dirty = 1;
    return 1;
}

/* '/' while inserting searches the catalogue (as the Alignment pane's), else the lines. */
static int search(app *a, view *v, const char *pattern, int dir, int skip_current)
{
    hist_edits *e = &a->edit;
    if (!e->picking) return list_search(a, v, pattern, dir, skip_current);
    int item = app_find_item(a, pattern, e->pick_item, dir, skip_current);
    if (item < 0) return 0;
    e->pick_item = item;
    v->sel = 1 + e->pick_pos;
    const sidr_item *it = &a->ss.ds.items[item];
    app_msg(a, "insert at #%d: %s %s? Enter inserts, n/N other matches, Esc cancels", e->pick_pos + 1, it->sid, it->title);
    return 1;
}

static int key(app *a, view *v, ui_action act)
{
    if (a->edit.picking) {
        int r = pick_key(a, v, act);
        if (r >= 0) return r;
    }
    if (edit_key(a, v, act)) return 1;
    if (act == A_MOVE_LEFT || act == A_MOVE_RIGHT) {
        int L = a->ss.ds.sid_levels > 0 ? a->ss.ds.sid_levels : 1;
        v->col += act == A_MOVE_RIGHT ? 1 : -1;
        if (v->col < 0) v->col = 0;
        if (v->col >= L) v->col = L - 1;
        selected(a, v);
        a->dirty = 1;
        return 1;
    }
    if (act == A_CODEBOOK) selected(a, v);
    return 0;
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    const sidr_sample *row = app_cur_sample(a);
    if (!row) { buf[0] = 0; return; }
    int n = snprintf(buf, cap, "%s %s:%d %d item%s", a->ss.ds.users[a->cur_user].id, sidr_split_name((sidr_split_id)a->cur_split),
                     a->cur_row, n_items(a), n_items(a) == 1 ? "" : "s");
    if (n <= 0 || (size_t)n >= cap) return;
    if (edit_active(a)) {
        char u[16], d[16];
        keymap_hint(&a->km, SC_HISTORY, A_UNDO, u, sizeof u);
        keymap_hint(&a->km, SC_GLOBAL, A_DIFF, d, sizeof d);
        snprintf(buf + n, cap - n, "  %d EDIT%s: %s undo, %s diff", a->edit.n_log, a->edit.n_log == 1 ? "" : "S", u, d);
    } else if (why_for_row(a) && a->why_state == WHY_RUNNING)
        snprintf(buf + n, cap - n, "  explaining: occlusion %d/%d", a->why.occl_done, a->why.n_hist);
    else if (why_for_row(a) && a->why_state == WHY_DONE)
        snprintf(buf + n, cap - n, "  attn: attention; occl: d log p(#1) without it; grad: grad x input / max");
    else if (has_run(a) && a->rstate == RUN_DONE)
        snprintf(buf + n, cap - n, "  w: why (attention, occlusion, gradient)");
}

static void click(app *a, view *v, int row, int col)
{
    int fixed = n_fixed(a, v);
    int i = row < fixed ? row : v->top + row - fixed;
    if (i < fixed || i >= n_lines(a, v)) return;
    v->sel = i;
    /* a click on a SID token picks its level */
    if (col >= 4 && col < 4 + a->sid_width) {
        int item = item_of_line(a, i);
        if (item >= 0) {
            const sidr_item *it = &a->ss.ds.items[item];
            int x = 4;
            for (int l = 0; l < it->n_levels; l++) {
                char tok[32];
                sid_token_str(l, it->code[l], tok, sizeof tok);
                int w = (int)strlen(tok);
                if (col >= x && col < x + w) v->col = l;
                x += w;
            }
        }
    }
    selected(a, v);
    a->dirty = 1;
}

static int item(app *a, view *v)
{
    return item_of_line(a, v->sel);
}

const view_ops view_history_ops = {
    .name = "History",
    .scope = SC_HISTORY,
    .n_lines = n_lines,
    .n_fixed = n_fixed,
    .line = line,
    .key = key,
    .selected = selected,
    .title = title,
    .click = click,
    .search = search,
    .item = item,
};

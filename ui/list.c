/* The list drawer shared by the line-based panes: fixed header lines, a
 * scrolled body, the cursor line, search matches. */
#include <string.h>

#include "app.h"
#include "view.h"

static int n_fixed(app *a, view *v, int n)
{
    int f = v->ops->n_fixed ? v->ops->n_fixed(a, v) : 0;
    return f > n ? n : f;
}

static int selectable(app *a, view *v, int i, tline *scratch)
{
    tline_reset(scratch);
    v->ops->line(a, v, i, 80, scratch);
    return scratch->selectable;
}

void list_set_sel(app *a, view *v, int line)
{
    if (!v->ops->n_lines) return;
    int n = v->ops->n_lines(a, v);
    if (n <= 0) { v->sel = 0; return; }
    if (line < 0) line = 0;
    if (line >= n) line = n - 1;
    tline t;
    tline_init(&t);
    int found = -1;
    for (int i = line; i < n && found < 0; i++)
        if (selectable(a, v, i, &t)) found = i;
    for (int i = line - 1; i >= 0 && found < 0; i--)
        if (selectable(a, v, i, &t)) found = i;
    tline_free(&t);
    v->sel = found >= 0 ? found : line;
}

static int step_sel(app *a, view *v, int from, int dir, int n)
{
    tline t;
    tline_init(&t);
    int got = -1;
    for (int i = from; i >= 0 && i < n; i += dir)
        if (selectable(a, v, i, &t)) { got = i; break; }
    tline_free(&t);
    return got;
}

int list_move(app *a, view *v, ui_action act)
{
    if (!v->ops->n_lines) return 0;
    int n = v->ops->n_lines(a, v);
    int fixed = n_fixed(a, v, n);
    int page = v->r.h - 2 - fixed;
    if (page < 1) page = 1;
    int to;
    switch (act) {
    case A_MOVE_UP: to = step_sel(a, v, v->sel - 1, -1, n); break;
    case A_MOVE_DOWN: to = step_sel(a, v, v->sel + 1, 1, n); break;
    case A_PAGE_UP:
        to = step_sel(a, v, v->sel - page, -1, n);
        if (to < 0) to = step_sel(a, v, 0, 1, n);
        v->top -= page;
        break;
    case A_PAGE_DOWN:
        to = step_sel(a, v, v->sel + page < n ? v->sel + page : n - 1, 1, n);
        if (to < 0) to = step_sel(a, v, n - 1, -1, n);
        v->top += page;
        break;
    case A_FIRST: to = step_sel(a, v, 0, 1, n); v->top = 0; break;
    case A_LAST: to = step_sel(a, v, n - 1, -1, n); break;
    default: return 0;
    }
    if (to >= 0) v->sel = to;
    a->dirty = 1;
    return 1;
}

void list_draw(app *a, view *v, ui_rect r)
{
    int n = v->ops->n_lines(a, v);
    int fixed = n_fixed(a, v, n);
    int body = r.h - fixed;
    if (body < 1) body = 1;
    if (v->sel >= fixed) {
        if (v->sel < v->top) v->top = v->sel;
        if (v->sel >= v->top + body) v->top = v->sel - body + 1;
    }
    int max_top = n - body > fixed ? n - body : fixed;
    if (v->top > max_top) v->top = max_top;
    if (v->top < fixed) v->top = fixed;
    int focused = a->focus == v->id;
    tline t;
    tline_init(&t);
    for (int row = 0; row < r.h; row++) {
        int i = row < fixed ? row : v->top + row - fixed;
        if (i >= n) break;
        tline_reset(&t);
        v->ops->line(a, v, i, r.w, &t);
        int y = r.y + row;
        scr_tline(&a->scr, y, r.x, r.w, &t);
        if (i == v->sel && t.selectable) scr_flag(&a->scr, y, r.x, r.w, focused ? CF_SEL : CF_SEL_DIM);
        if (focused && a->search[0]) scr_mark_matches(&a->scr, y, r.x, r.w, a->search);
    }
    tline_free(&t);
}

int list_search(app *a, view *v, const char *pattern, int dir, int skip_current)
{
    if (!v->ops->n_lines) return 0;
    int n = v->ops->n_lines(a, v);
    if (n <= 0) return 0;
    tline t;
    tline_init(&t);
    char buf[4096];
    int start = v->sel < 0 ? 0 : v->sel;
    int found = -1;
    for (int k = skip_current ? 1 : 0; k <= n; k++) {
        int i = ((start + dir * k) % n + n) % n;
        tline_reset(&t);
        v->ops->line(a, v, i, 200, &t);
        if (!t.selectable) continue;
        tline_text(&t, buf, sizeof buf);
        if (text_find(buf, pattern)) { found = i; break; }
    }
    tline_free(&t);
    if (found < 0) return 0;
    v->sel = found;
    return 1;
}

/* Reasoning: the trace as it streams, token by token, each token shaded by
 * the probability the model gave it; a selectable token (h/l, j/k) whose top
 * alternatives open on demand (a); SID mentions are links (Enter) to their
 * items and codebook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

typedef struct {
    int start, end;     /* bytes [start, end) of the trace; a newline at end is not drawn */
} vline;

/* The longest prefix of s that does not end inside a UTF-8 sequence. */
static size_t complete_prefix(const char *s, size_t n)
{
    size_t i = n;
    int back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) { i--; back++; }
    if (i > 0 && (unsigned char)s[i - 1] >= 0xC0) {
        int need = sidr_utf8_lead_len((unsigned char)s[i - 1]);
        if (need > back + 1) return i - 1;
    }
    return n;
}

static size_t visible_len(app *a)
{
    return a->rstate == RUN_ACTIVE ? complete_prefix(a->trace, a->trace_len) : a->trace_len;
}

static int layout(app *a, int width, vline **out)
{
    size_t n = visible_len(a);
    int cap = 64, nl = 0;
    vline *L = xmalloc((size_t)cap * sizeof *L);
    if (width < 1) width = 1;
    size_t i = 0, ls = 0;
    long last_space = -1;
    int col = 0;
    while (i < n) {
        uint32_t cp;
        int k = utf8_decode(a->trace + i, n - i, &cp);
        if (cp == '\n' || col + cp_width(cp) > width) {
            size_t end = i, next = i;
            if (cp == '\n') next = i + k;
            else if (last_space > (long)ls) end = next = (size_t)last_space;
            else if (col == 0) { /* a single character wider than the pane */
                end = next = i + k;
            }
            if (nl == cap) L = xrealloc(L, (size_t)(cap *= 2) * sizeof *L);
            L[nl++] = (vline){ (int)ls, (int)end };
            ls = next;
            last_space = -1;
            col = text_width(a->trace + ls, next > i ? 0 : i - ls);
            if (next > i) i = next;
            continue;
        }
        col += cp_width(cp);
        i += k;
        if (cp == ' ') last_space = (long)i;
    }
    if (nl == cap) L = xrealloc(L, (size_t)(cap + 1) * sizeof *L);
    L[nl++] = (vline){ (int)ls, (int)n };
    *out = L;
    return nl;
}

/* The token holding byte b. */
static int token_at(app *a, int b)
{
    int lo = 0, hi = a->n_tok - 1;
    if (hi < 0) return -1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (a->tok_off[mid] <= b) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static int cur_tok(app *a, view *v)
{
    if (!a->n_tok) return -1;
    if (v->follow || v->sel < 0 || v->sel >= a->n_tok) return a->n_tok - 1;
    return v->sel;
}

static int line_of(vline *L, int nl, int b)
{
    for (int i = 0; i < nl; i++)
        if (b < L[i].end || (i + 1 < nl && b < L[i + 1].start) || i == nl - 1) return i;
    return nl - 1;
}

static int tok_style(app *a, int t, int *flags)
{
    const rec_token *g = &a->run.gen[t];
    int id = g->id;
    *flags = 0;
    if (id >= 0 && id < a->n_vocab && a->tok_level[id] >= 0) {
        *flags = CF_LINK;
        return ST_LEVEL(a->tok_level[id]);
    }
    if (sidr_tokenizer_is_special(a->ss.tok, id)) return ST_SPECIAL;
    float p = g->p;
    return p >= 0.8f ? ST_PROB0 : p >= 0.5f ? ST_PROB1 : p >= 0.2f ? ST_PROB2 : p >= 0.05f ? ST_PROB3 : ST_PROB4;
}

static void empty_state(app *a, ui_rect r, const char *l1, const char *l2)
{
    scr_str(&a->scr, r.y, r.x + 1, r.w - 1, l1, ST_DIM, 0);
    if (l2 && r.h > 1) scr_str(&a->scr, r.y + 1, r.x + 1, r.w - 1, l2, ST_DIM, 0);
}

static void draw_alts(app *a, view *v, ui_rect r, int t)
{
    const rec_token *g = &a->run.gen[t];
    char tok[128], line[256];
    app_token_display(a, g->id, tok, sizeof tok);
    scr_hline(&a->scr, r.y, r.x, r.w, scr_glyph(&a->scr, 0x2500, '-'), ST_BORDER);
    snprintf(line, sizeof line, " token %d/%d %s p=%.3f ", t + 1, a->n_tok, tok, g->p);
    scr_str(&a->scr, r.y, r.x + 1, r.w - 2, line, ST_HEADER, 0);
    for (int k = 0; k < REC_TOP_ALT && k + 1 < r.h; k++) {
        if (g->alt_id[k] < 0) break;
        app_token_display(a, g->alt_id[k], tok, sizeof tok);
        int chosen = g->alt_id[k] == g->id;
        int y = r.y + 1 + k, x = r.x + 1;
        x += scr_printf(&a->scr, y, x, r.w - 1, ST_NUMBER, 0, "%d ", k + 1);
        int bar = (int)(g->alt_p[k] * 10 + 0.5f);
        for (int b = 0; b < 10; b++)
            scr_text(&a->scr, y, x + b, 1, b < bar ? (a->scr.ascii ? "#" : "\xE2\x96\x88") : (a->scr.ascii ? "." : "\xC2\xB7"),
                     b < bar ? (a->scr.ascii ? 1 : 3) : (a->scr.ascii ? 1 : 2), b < bar ? ST_BAR : ST_DIM, 0);
        x += 11;
        x += scr_printf(&a->scr, y, x, r.x + r.w - x, ST_NUMBER, 0, "%.3f ", g->alt_p[k]);
        int lv = g->alt_id[k] < a->n_vocab && g->alt_id[k] >= 0 ? a->tok_level[g->alt_id[k]] : -1;
        x += scr_str(&a->scr, y, x, r.x + r.w - x, tok, lv >= 0 ? ST_LEVEL(lv) : ST_NORMAL, 0);
        if (chosen) scr_str(&a->scr, y, x, r.x + r.w - x, a->scr.ascii ? "  <- chosen" : "  \xE2\x97\x80 chosen", ST_BOLD, 0);
    }
}

static void draw(app *a, view *v, ui_rect r)
{
    if (a->rstate == RUN_NONE) {
        empty_state(a, r, "No run yet.", "Enter on a user (or r, or :run) streams the reasoning here.");
        return;
    }
    if (a->rstate == RUN_FAILED && !a->n_tok) {
        scr_str(&a->scr, r.y, r.x + 1, r.w - 1, a->run_error, ST_ERROR, 0);
        return;
    }
    if (!a->run.set.think) {
        empty_state(a, r, "Thinking is off for this run: the SID follows an empty think block.",
                    "t or :think on turns it on for the next run.");
        return;
    }
    if (!a->n_tok) {
        char l[128];
        if (a->rstate == RUN_ACTIVE) snprintf(l, sizeof l, "prefilling the prompt (%d tokens)...", a->run.n_prompt);
        else if (a->rstate == RUN_CANCELLED) snprintf(l, sizeof l, "cancelled before the first reasoning token");
        else snprintf(l, sizeof l, "no reasoning tokens");
        empty_state(a, r, l, NULL);
        return;
    }
    int t_sel = cur_tok(a, v);
    ui_rect tr = r;
    if (v->alts && t_sel >= 0 && r.h >= 3) {
        int bh = REC_TOP_ALT + 1 < r.h - 1 ? REC_TOP_ALT + 1 : r.h - 1;
        tr.h = r.h - bh;
        draw_alts(a, v, (ui_rect){ r.y + tr.h, r.x, bh, r.w }, t_sel);
    }
    vline *L;
    int nl = layout(a, tr.w, &L);
    int sl = line_of(L, nl, a->tok_off[t_sel]);
    if (v->follow) v->top = nl - tr.h;
    else {
        if (sl < v->top) v->top = sl;
        if (sl >= v->top + tr.h) v->top = sl - tr.h + 1;
    }
    if (v->top > nl - tr.h) v->top = nl - tr.h;
    if (v->top < 0) v->top = 0;
    int focused = a->focus == v->id;
    int sel_m = a->tok_mention[t_sel];
    for (int row = 0; row < tr.h && v->top + row < nl; row++) {
        vline *ln = &L[v->top + row];
        int y = tr.y + row, x = tr.x;
        int b = ln->start, t = token_at(a, b);
        while (b < ln->end && x < tr.x + tr.w) {
            uint32_t cp;
            int k = utf8_decode(a->trace + b, (size_t)(ln->end - b), &cp);
            while (t + 1 < a->n_tok && a->tok_off[t + 1] <= b) t++;
            int fl, st = tok_style(a, t, &fl);
            if (t == t_sel && (focused || !v->follow)) fl |= CF_CURSOR;
            else if (sel_m >= 0 && a->tok_mention[t] == sel_m && focused) fl |= CF_SEL_DIM;
            int w = scr_text(&a->scr, y, x, tr.x + tr.w - x, a->trace + b, (size_t)k, st, fl);
            if (w == 0 && cp_width(cp) > 0) break;
            x += w;
            b += k;
        }
        /* a selected newline token shows as a visible mark */
        if (ln->end < (int)a->trace_len && a->trace[ln->end] == '\n' && token_at(a, ln->end) == t_sel && x < tr.x + tr.w &&
            (focused || !v->follow))
            scr_text(&a->scr, y, x, 1, a->scr.ascii ? "$" : "\xE2\x86\xB5", a->scr.ascii ? 1 : 3, ST_SPECIAL, CF_CURSOR);
        if (focused && a->search[0]) scr_mark_matches(&a->scr, y, tr.x, tr.w, a->search);
    }
    if (a->rstate == RUN_CANCELLED && v->top + tr.h >= nl && nl - v->top < tr.h)
        scr_str(&a->scr, tr.y + nl - v->top, tr.x + 1, tr.w - 1, "[cancelled]", ST_ERROR, 0);
    free(L);
}

/* Selects the SID of a mention in the codebook and, when it names a history
 * item, that item in History. */
static void follow_mention(app *a, view *v, int t)
{
    int m = a->tok_mention[t];
    if (m < 0) return;
    const mention *x = &a->mentions[m];
    int id = a->run.gen[t].id;
    int level = a->tok_level[id];
    app_select_sid(a, x->codes, x->from_level + x->n_tok, x->from_level, level, 1);
    char sid[256];
    sid_codes_str(x->codes, x->from_level, x->from_level + x->n_tok, sid, sizeof sid);
    int L = a->ss.ds.sid_levels;
    if (x->from_level == 0 && x->n_tok == L) {
        const sidr_sid_group *g = sidr_dataset_sid(&a->ss.ds, sid);
        if (!g) { app_msg(a, "%s names no item of the catalogue", sid); return; }
        const sidr_item *it = &a->ss.ds.items[g->items[0]];
        const sidr_sample *row = sidr_dataset_row(&a->ss.ds, (sidr_split_id)a->run_split, a->run_row);
        int pos = -1;
        if (row && a->cur_user == a->run_user && a->cur_row == a->run_row && a->cur_split == a->run_split)
            for (int i = 0; i < row->n_hist; i++)
                if (a->ss.ds.items[row->hist[i]].sid && !strcmp(a->ss.ds.items[row->hist[i]].sid, sid)) pos = i;
        if (pos >= 0) {
            view *h = &a->views[PANE_HISTORY];
            h->sel = pos + 1;
            h->col = level;
            app_msg(a, "%s = history #%d: %s", sid, pos + 1, it->title);
        } else if (row && a->ss.ds.items[row->target].sid && !strcmp(a->ss.ds.items[row->target].sid, sid))
            app_msg(a, "%s = the target: %s", sid, it->title);
        else app_msg(a, "%s = %s%s (not in the history)", sid, it->title, g->n > 1 ? " (+ items sharing the SID)" : "");
    } else if (x->from_level == 0) {
        int node = app_prefix_node(a, x->codes, x->n_tok);
        int nl = node >= 0 ? sidr_trie_count_leaves(&a->ss.cat.trie, node) : 0;
        app_msg(a, "prefix %s: %d SID%s under it", sid, nl, nl == 1 ? "" : "s");
    } else app_msg(a, "%s: a mention without its leading levels; the codebook shows the code across prefixes", sid);
}

static void selected(app *a, view *v)
{
    int t = cur_tok(a, v);
    if (t < 0 || a->tok_mention[t] < 0) return;
    const mention *x = &a->mentions[a->tok_mention[t]];
    int level = a->tok_level[a->run.gen[t].id];
    app_select_sid(a, x->codes, x->from_level + x->n_tok, x->from_level, level, 0);
}

static void set_tok(app *a, view *v, int t)
{
    if (t < 0) t = 0;
    if (t >= a->n_tok) t = a->n_tok - 1;
    v->sel = t;
    v->follow = 0;
    selected(a, v);
    a->dirty = 1;
}

/* Moves dy visual lines, keeping the column. */
static void move_lines(app *a, view *v, int dy)
{
    int t = cur_tok(a, v);
    if (t < 0) return;
    int w = v->r.w;
    vline *L;
    int nl = layout(a, w, &L);
    int sl = line_of(L, nl, a->tok_off[t]);
    int colx = text_width(a->trace + L[sl].start, (size_t)(a->tok_off[t] > L[sl].start ? a->tok_off[t] - L[sl].start : 0));
    int tl = sl + dy;
    if (tl < 0) tl = 0;
    if (tl >= nl) tl = nl - 1;
    int b = L[tl].start, x = 0;
    while (b < L[tl].end) {
        uint32_t cp;
        int k = utf8_decode(a->trace + b, (size_t)(L[tl].end - b), &cp);
        if (x + cp_width(cp) > colx) break;
        x += cp_width(cp);
        b += k;
    }
    if (b >= (int)visible_len(a)) b = (int)visible_len(a) - 1;
    free(L);
    set_tok(a, v, token_at(a, b < 0 ? 0 : b));
}

static int key(app *a, view *v, ui_action act)
{
    int t = cur_tok(a, v);
    int page = v->r.h - 2 > 1 ? v->r.h - 2 : 1;
    switch (act) {
    case A_MOVE_LEFT: if (t >= 0) set_tok(a, v, t - 1); return 1;
    case A_MOVE_RIGHT: if (t >= 0) set_tok(a, v, t + 1); return 1;
    case A_MOVE_UP: move_lines(a, v, -1); return 1;
    case A_MOVE_DOWN: move_lines(a, v, 1); return 1;
    case A_PAGE_UP: move_lines(a, v, -page); return 1;
    case A_PAGE_DOWN: move_lines(a, v, page); return 1;
    case A_FIRST: if (t >= 0) { set_tok(a, v, 0); v->top = 0; } return 1;
    case A_LAST:
        v->follow = 1;
        v->sel = -1;
        selected(a, v);
        if (a->rstate == RUN_ACTIVE) app_msg(a, "following the stream");
        a->dirty = 1;
        return 1;
    case A_ALTS:
        if (t < 0) { app_msg(a, "no token selected"); return 1; }
        v->alts = !v->alts;
        if (v->alts && v->follow && a->rstate == RUN_ACTIVE) app_msg(a, "alternatives follow the newest token; h/l selects one");
        a->dirty = 1;
        return 1;
    case A_FOLLOW:
        if (t < 0) return 1;
        if (a->tok_mention[t] >= 0) follow_mention(a, v, t);
        else { v->alts = !v->alts; a->dirty = 1; }
        return 1;
    case A_PREV_LINK:
    case A_NEXT_LINK: {
        if (t < 0) return 1;
        int dir = act == A_NEXT_LINK ? 1 : -1;
        int cur_m = a->tok_mention[t];
        for (int i = t + dir; i >= 0 && i < a->n_tok; i += dir)
            if (a->tok_mention[i] >= 0 && a->tok_mention[i] != cur_m) {
                set_tok(a, v, a->mentions[a->tok_mention[i]].first_tok);
                return 1;
            }
        app_msg(a, "no %s SID mention", dir > 0 ? "later" : "earlier");
        return 1;
    }
    case A_CODEBOOK:
        if (t >= 0 && a->tok_mention[t] < 0) { app_msg(a, "the selected token is not a SID token ([ ] jump between mentions)"); return 1; }
        return 0;
    default:
        return 0;
    }
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    if (a->rstate == RUN_NONE || !a->run_live) { buf[0] = 0; return; }
    if (!a->run.set.think) { snprintf(buf, cap, "%s thinking off", a->ss.ds.users[a->run_user].id); return; }
    int t = cur_tok(a, v);
    int n = snprintf(buf, cap, "%s %d/%d tokens %d SID mention%s", a->ss.ds.users[a->run_user].id, a->n_tok,
                     a->run.set.max_reasoning, a->n_mentions, a->n_mentions == 1 ? "" : "s");
    if (t >= 0 && n > 0 && (size_t)n < cap && (!v->follow || a->focus == v->id))
        snprintf(buf + n, cap - n, "  #%d p=%.2f", t + 1, a->run.gen[t].p);
}

static int search(app *a, view *v, const char *pat, int dir, int skip)
{
    if (!a->n_tok) return 0;
    int t = cur_tok(a, v);
    int from = a->tok_off[t];
    int n = (int)a->trace_len;
    int found = -1;
    if (dir > 0) {
        const char *p = text_find(a->trace + from + (skip ? 1 : 0) > a->trace + n ? a->trace + n : a->trace + from + (skip ? 1 : 0), pat);
        if (!p) p = text_find(a->trace, pat);
        if (p) found = (int)(p - a->trace);
    } else {
        int last_before = -1, last = -1;
        for (const char *p = text_find(a->trace, pat); p; p = *p ? text_find(p + 1, pat) : NULL) {
            int off = (int)(p - a->trace);
            if (off < from || (!skip && off == from)) last_before = off;
            last = off;
        }
        found = last_before >= 0 ? last_before : last;
    }
    if (found < 0) return 0;
    set_tok(a, v, token_at(a, found));
    return 1;
}

static void click(app *a, view *v, int row, int col)
{
    if (!a->n_tok) return;
    vline *L;
    int nl = layout(a, v->r.w, &L);
    int li = v->top + row;
    if (li >= nl) { free(L); return; }
    int b = L[li].start, x = 0;
    while (b < L[li].end) {
        uint32_t cp;
        int k = utf8_decode(a->trace + b, (size_t)(L[li].end - b), &cp);
        if (x + cp_width(cp) > col) break;
        x += cp_width(cp);
        b += k;
    }
    if (b >= (int)visible_len(a)) b = (int)visible_len(a) - 1;
    free(L);
    set_tok(a, v, token_at(a, b < 0 ? 0 : b));
    int t = cur_tok(a, v);
    if (t >= 0 && a->tok_mention[t] >= 0) follow_mention(a, v, t);
}

const view_ops view_reasoning_ops = {
    .name = "Reasoning",
    .scope = SC_REASONING,
    .draw = draw,
    .key = key,
    .selected = selected,
    .title = title,
    .search = search,
    .click = click,
};

/* Codebook: the neighbourhood of the selected SID token: its level and code,
 * usage and collisions, the items under its prefix, its sibling codes, the
 * nearest codes by codebook vector, and the nearest tokens (SID and
 * language) in the model's embedding space.  Enter follows a line. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

enum { TAG_ITEM = 1, TAG_CODE = 2, TAG_TOKEN = 3 };
#define TAG(kind, v) (((kind) << 24) | (v))
#define TAG_KIND(t) ((t) >> 24)
#define TAG_VAL(t) ((t) & 0xFFFFFF)
#define MAX_ITEMS_SHOWN 200

/* The lines, rebuilt whenever the pane asks how many there are. */
static tline *lines;
static int n_lines_built, cap_lines;

static tline *add_line(void)
{
    if (n_lines_built == cap_lines) {
        lines = xrealloc(lines, (size_t)(cap_lines = cap_lines * 2 + 32) * sizeof *lines);
        for (int i = n_lines_built; i < cap_lines; i++) tline_init(&lines[i]);
    }
    tline *t = &lines[n_lines_built++];
    tline_reset(t);
    return t;
}

static void section(app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void section(app *a, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tline *t = add_line();
    t->selectable = 0;
    const char *dash = a->scr.ascii ? "-" : "\xE2\x94\x80";
    tline_add(t, ST_BORDER, 0, 0, "%s", dash);
    tline_add(t, ST_HEADER, 0, 0, " %s ", buf);
    char fill[3 * 200 + 1];
    size_t o = 0;
    for (int k = 0; k < 200; k++) { memcpy(fill + o, dash, strlen(dash)); o += strlen(dash); }
    fill[o] = 0;
    tline_add(t, ST_BORDER, -1, SPAN_CLIP, "%s", fill);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tline *t = add_line();
    t->selectable = 0;
    tline_add(t, ST_DIM, -1, 0, " %s", buf);
}

static int match_prefix(const sidr_item *it, const int *codes, int n)
{
    for (int l = 0; l < n; l++)
        if (it->code[l] != codes[l]) return 0;
    return 1;
}

static const app *sort_app;
static int by_codes(const void *x, const void *y)
{
    const sidr_item *p = &sort_app->ss.ds.items[*(const int *)x], *q = &sort_app->ss.ds.items[*(const int *)y];
    for (int l = 0; l < p->n_levels && l < q->n_levels; l++)
        if (p->code[l] != q->code[l]) return p->code[l] - q->code[l];
    return *(const int *)x - *(const int *)y;
}

static void code_line(app *a, int level, int code, const char *extra, int mark)
{
    tline *t = add_line();
    t->tag = TAG(TAG_CODE, code);
    char tok[32];
    sid_token_str(level, code, tok, sizeof tok);
    tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
    tline_add(t, ST_LEVEL(level), 9, 0, "%s", tok);
    tline_add(t, ST_DIM, -1, 0, "%s", extra);
    if (mark) tline_add(t, ST_BOLD, 0, 0, "%s", a->scr.ascii ? " <" : " \xE2\x97\x80");
}

static float l2(const float *x, const float *y, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)(x[j] - y[j]) * (x[j] - y[j]);
    return (float)sqrt(s);
}

static void build(app *a, view *v)
{
    n_lines_built = 0;
    const cb_sel *s = &a->sel;
    cbdata *cb = &a->cb;
    const sidr_dataset *ds = &a->ss.ds;
    if (!cb->levels) {
        tline *t = add_line();
        t->selectable = 0;
        tline_add(t, ST_DIM, -1, 0, "%s", " The dataset has no SIDs.");
        return;
    }
    if (!s->valid) {
        tline *t = add_line();
        t->selectable = 0;
        tline_add(t, ST_DIM, -1, 0, "%s", " No SID token selected: pick one in History, Reasoning or Beam.");
        return;
    }
    int l = s->level, code = s->codes[l];
    int known = s->from == 0;
    char tok[32], prefix[256], parent[256];
    sid_token_str(l, code, tok, sizeof tok);
    sid_codes_str(s->codes, 0, l + 1, prefix, sizeof prefix);
    sid_codes_str(s->codes, 0, l, parent, sizeof parent);
    /* header */
    tline *t = add_line();
    t->selectable = 0;
    tline_add(t, ST_LEVEL(l), 0, 0, " %s", tok);
    tline_add(t, ST_NORMAL, 0, 0, "  level %c, code %d", 'a' + l, code);
    if (!known) tline_add(t, ST_DIM, -1, 0, "%s", "  (prefix unknown)");
    else if (l > 0) {
        tline_add(t, ST_DIM, 0, 0, "%s", "  under ");
        tline_sid(t, parent, 0, 0);
        tline_add(t, ST_NORMAL, -1, 0, "%s", "");
    } else tline_add(t, ST_NORMAL, -1, 0, "%s", "");
    int K = cb->K[l];
    int usage = code >= 0 && code < K ? cb->usage[l][code] : 0, pref = code >= 0 && code < K ? cb->prefixes[l][code] : 0;
    int used_codes = 0;
    for (int c = 0; c < K; c++) used_codes += cb->usage[l][c] > 0;
    note("usage: %d item%s %s %s, in %d prefix%s; level %c uses %d of %d codes", usage, usage == 1 ? "" : "s",
         usage == 1 ? "carries" : "carry", tok, pref, pref == 1 ? "" : "es", 'a' + l, used_codes, K);
    int tokid = code >= 0 && code < K ? cb->token[l][code] : -1;
    if (tokid < 0) note("%s is not in the model's vocabulary", tok);

    /* items under the prefix (or carrying the code, when the prefix is unknown) */
    int *items = xmalloc((size_t)(ds->n_items ? ds->n_items : 1) * sizeof(int));
    int ni = 0, n_coll = 0;
    for (int i = 0; i < ds->n_items; i++) {
        const sidr_item *it = &ds->items[i];
        if (!it->sid || it->n_levels != ds->sid_levels) continue;
        if (known ? match_prefix(it, s->codes, l + 1) : it->code[l] == code) items[ni++] = i;
    }
    sort_app = a;
    qsort(items, (size_t)ni, sizeof *items, by_codes);
    int last_group = -1;
    for (int k = 0; k < ni; k++) {
        const sidr_item *it = &ds->items[items[k]];
        if (it->sid_group >= 0 && ds->sid_groups[it->sid_group].n > 1 && it->sid_group != last_group) {
            n_coll++;
            last_group = it->sid_group;
        }
    }
    if (known) note("prefix %s: %d item%s, %d collision%s (SIDs shared by several items)", prefix, ni, ni == 1 ? "" : "s",
                    n_coll, n_coll == 1 ? "" : "s");
    if (known) section(a, "items under %s (%d)", prefix, ni);
    else section(a, "items with %s at level %c (%d, any prefix)", tok, 'a' + l, ni);
    for (int k = 0; k < ni && k < MAX_ITEMS_SHOWN; k++) {
        const sidr_item *it = &ds->items[items[k]];
        t = add_line();
        t->tag = TAG(TAG_ITEM, items[k]);
        tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
        tline_sid(t, it->sid, a->sid_width + 1, 0);
        int coll = it->sid_group >= 0 && ds->sid_groups[it->sid_group].n > 1;
        tline_add(t, coll ? ST_TARGET : ST_NORMAL, -1, 0, "%s", it->title);
        if (coll) tline_add(t, ST_DIM, 0, 0, " x%d", ds->sid_groups[it->sid_group].n);
    }
    if (ni > MAX_ITEMS_SHOWN) note("... and %d more", ni - MAX_ITEMS_SHOWN);

    /* siblings */
    if (known) {
        int *cnt = xcalloc((size_t)K, sizeof(int));
        int ns = 0;
        for (int i = 0; i < ds->n_items; i++) {
            const sidr_item *it = &ds->items[i];
            if (!it->sid || it->n_levels != ds->sid_levels || !match_prefix(it, s->codes, l)) continue;
            if (it->code[l] >= 0 && it->code[l] < K && !cnt[it->code[l]]++) ns++;
        }
        if (l > 0) section(a, "sibling codes under %s (%d)", parent, ns);
        else section(a, "level a codes (%d)", ns);
        for (int c = 0; c < K; c++) {
            if (!cnt[c]) continue;
            char extra[64];
            snprintf(extra, sizeof extra, "%d item%s", cnt[c], cnt[c] == 1 ? "" : "s");
            code_line(a, l, c, extra, c == code);
        }
        free(cnt);
    }
    free(items);

    /* nearest codes by codebook vector */
    section(a, "nearest %c codes (codebook vectors, L2)", 'a' + l);
    cb_need_vectors(a);
    if (cb->vec_state == 1 && code >= 0 && code < K) {
        if (cb->vec_derived) note("%s", cb->vec_note);
        int best[8];
        float bd[8];
        for (int k = 0; k < 8; k++) { best[k] = -1; bd[k] = INFINITY; }
        const float *q = cb->vec[l] + (size_t)code * cb->dim;
        for (int c = 0; c < K; c++) {
            if (c == code || !cb->usage[l][c]) continue;
            float dd = l2(q, cb->vec[l] + (size_t)c * cb->dim, cb->dim);
            if (dd >= bd[7]) continue;
            int k = 7;
            while (k > 0 && bd[k - 1] > dd) { bd[k] = bd[k - 1]; best[k] = best[k - 1]; k--; }
            bd[k] = dd;
            best[k] = c;
        }
        for (int k = 0; k < 8 && best[k] >= 0; k++) {
            char extra[64];
            snprintf(extra, sizeof extra, "d=%.3f  %d item%s", bd[k], cb->usage[l][best[k]], cb->usage[l][best[k]] == 1 ? "" : "s");
            code_line(a, l, best[k], extra, 0);
        }
    } else note("%s", cb->vec_state >= 2 ? "no codebooks file: deriving centroids from item embeddings..." : cb->vec_note);

    /* nearest tokens in the embedding space */
    section(a, "nearest tokens (model embeddings, cosine)");
    int V = a->ss.model.cfg.vocab_size;
    if (tokid < 0) note("no token to compare");
    else if (cb->nt_query != tokid) note("select the token again to compute");
    else {
        if (cb->nt_next < V) note("scoring the vocabulary... %d%%", (int)(100.0 * cb->nt_next / V));
        for (int pass = 0; pass < 2; pass++) {
            const int *ids = pass ? cb->nt_lang_id : cb->nt_sid_id;
            const float *sc = pass ? cb->nt_lang_s : cb->nt_sid_s;
            for (int k = 0; k < 8 && ids[k] >= 0; k++) {
                char txt[128];
                t = add_line();
                t->tag = TAG(TAG_TOKEN, ids[k]);
                tline_add(t, ST_DIM, 0, 0, " %s ", pass ? "lang" : "sid ");
                app_token_display(a, ids[k], txt, sizeof txt);
                int lv = ids[k] < a->n_vocab ? a->tok_level[ids[k]] : -1;
                if (lv >= 0) tline_add(t, ST_LEVEL(lv), 14, 0, "%.*s", (int)strlen(txt) - 2, txt + 1);
                else tline_add(t, ST_NORMAL, 14, SPAN_ELLIPSIS, "%s", txt);
                tline_add(t, ST_NUMBER, 7, SPAN_RIGHT, "%.3f", sc[k]);
                tline_add(t, ST_NORMAL, -1, 0, "%s", "");
            }
        }
    }
}

static int n_lines(app *a, view *v)
{
    build(a, v);
    return n_lines_built ? n_lines_built : 1;
}

static int n_fixed(app *a, view *v)
{
    return a->sel.valid ? 1 : 0;
}

static void line(app *a, view *v, int i, int width, tline *t)
{
    if (i >= n_lines_built) { t->selectable = 0; return; }
    const tline *src = &lines[i];
    t->selectable = src->selectable;
    t->tag = src->tag;
    for (int k = 0; k < src->n; k++)
        tline_addn(t, src->spans[k].style, src->spans[k].width, src->spans[k].flags, src->spans[k].text,
                   strlen(src->spans[k].text));
}

static void follow(app *a, view *v)
{
    build(a, v);
    if (v->sel < 0 || v->sel >= n_lines_built) return;
    int tag = lines[v->sel].tag, kind = TAG_KIND(tag), val = TAG_VAL(tag);
    cb_sel s = a->sel;
    int L = a->ss.ds.sid_levels;
    if (kind == TAG_ITEM) {
        const sidr_item *it = &a->ss.ds.items[val];
        int lv = s.level + 1 < L ? s.level + 1 : L - 1;
        app_select_sid(a, it->code, it->n_levels, 0, lv, 1);
        app_msg(a, "%s: %s", it->sid, it->title);
    } else if (kind == TAG_CODE) {
        s.codes[s.level] = val;
        /* codes are shared across prefixes (residual quantisation): keep the
         * prefix when the code exists under it, else look at the code alone */
        int from = s.from == 0 && app_prefix_node(a, s.codes, s.level + 1) >= 0 ? 0 : s.level;
        app_select_sid(a, s.codes, s.level + 1, from, s.level, 1);
    } else if (kind == TAG_TOKEN) {
        if (val < a->n_vocab && a->tok_level[val] >= 0) {
            int lv = a->tok_level[val], codes[UI_MAX_LEVELS] = { 0 };
            if (lv >= UI_MAX_LEVELS) return;
            codes[lv] = a->tok_code[val];
            app_select_sid(a, codes, lv + 1, lv, lv, 1);
        } else app_msg(a, "a language token: it has no codebook");
    }
}

static int key(app *a, view *v, ui_action act)
{
    cb_sel s = a->sel;
    switch (act) {
    case A_FOLLOW:
        follow(a, v);
        return 1;
    case A_MOVE_LEFT:
        if (!s.valid) return 1;
        if (s.level > s.from) app_select_sid(a, s.codes, s.n, s.from, s.level - 1, 1);
        else app_msg(a, "already at the first known level");
        return 1;
    case A_MOVE_RIGHT: {
        if (!s.valid) return 1;
        if (s.level + 1 < s.n) { app_select_sid(a, s.codes, s.n, s.from, s.level + 1, 1); return 1; }
        const sidr_dataset *ds = &a->ss.ds;
        if (s.from != 0 || s.level + 1 >= ds->sid_levels) { app_msg(a, "no deeper level"); return 1; }
        int best = -1;
        for (int i = 0; i < ds->n_items; i++) {
            const sidr_item *it = &ds->items[i];
            if (!it->sid || it->n_levels != ds->sid_levels || !match_prefix(it, s.codes, s.level + 1)) continue;
            if (best < 0 || it->code[s.level + 1] < best) best = it->code[s.level + 1];
        }
        if (best < 0) { app_msg(a, "no items under this prefix"); return 1; }
        s.codes[s.level + 1] = best;
        app_select_sid(a, s.codes, s.level + 2, 0, s.level + 1, 1);
        return 1;
    }
    case A_CODEBOOK:
        return 1;
    default:
        return 0;
    }
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    if (!a->sel.valid) { buf[0] = 0; return; }
    char prefix[256];
    sid_codes_str(a->sel.codes, a->sel.from, a->sel.level + 1, prefix, sizeof prefix);
    snprintf(buf, cap, "%s%s", prefix, a->n_back ? "  (Backspace: back)" : "");
}

static int item(app *a, view *v)
{
    build(a, v);
    if (v->sel < 0 || v->sel >= n_lines_built) return -1;
    int tag = lines[v->sel].tag;
    return TAG_KIND(tag) == TAG_ITEM ? TAG_VAL(tag) : -1;
}

const view_ops view_codebook_ops = {
    .name = "Codebook",
    .scope = SC_CODEBOOK,
    .n_lines = n_lines,
    .n_fixed = n_fixed,
    .line = line,
    .key = key,
    .title = title,
    .item = item,
};

void codebook_free_cache(void)
{
    for (int i = 0; i < cap_lines; i++) tline_free(&lines[i]);
    free(lines);
    lines = NULL;
    n_lines_built = cap_lines = 0;
}

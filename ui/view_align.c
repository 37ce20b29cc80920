/* Alignment: has the model tied an item's SID to the item?  For the chosen
 * item (the cursor of History or Users, a Codebook item line, or / over
 * titles, SIDs and ids) the model's top SIDs for its title (the
 * trie-constrained beam from the task-2 prompt) and its greedy title for its
 * SID, each marked right or wrong per level (a, a+b, a+b+c) and the title
 * with its word F1; a heat strip of the level-a confusion of a seeded sample
 * and its worst-aligned items.  All of it is align_report_item() on the
 * explorer's session, so it equals `sidr align-report --json` item for item.
 *
 * The work runs between input polls (app_tick): one item per tick, about
 * 30 ms on the embedded demo model.  The chosen item comes first; the sample
 * (64 items, seed 42, align-report's defaults otherwise) goes on after it
 * and Esc cancels it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "catalog.h"
#include "util.h"

enum { TAG_HEAD = 1, TAG_BEAM = 2, TAG_WORST = 3, TAG_TITLE = 4 };
#define TAG(kind, v) (((kind) << 24) | (v))
#define TAG_KIND(t) ((t) >> 24)
#define TAG_VAL(t) ((t) & 0xFFFFFF)

/* ---- the work ---------------------------------------------------------------------------------------- */

void al_init(app *a)
{
    aldata *al = &a->al;
    memset(al, 0, sizeof *al);
    align_opts_default(&al->opts);
    al->opts.items = ALIGN_SAMPLE_ITEMS;
    al->item = -1;
    al->seen_pane = al->seen_item = -1;
    al->codes_a = a->ss.ds.sid_levels > 0 ? a->ss.ds.sid_codes[0] : 0;
    al->confusion = xcalloc((size_t)al->codes_a * al->codes_a + 1, sizeof(int));
}

static void free_sample(aldata *al)
{
    for (int i = 0; i < al->s_done; i++) align_item_free(&al->s_items[i]);
    free(al->s_items);
    free(al->pool);
    free(al->order);
    al->s_items = NULL;
    al->pool = al->order = NULL;
    al->s_done = al->s_total = 0;
}

void al_free(app *a)
{
    aldata *al = &a->al;
    align_ctx_free(&al->ctx);
    align_item_free(&al->res);
    free_sample(al);
    free(al->confusion);
    al->confusion = NULL;
}

static int ensure_ctx(app *a)
{
    aldata *al = &a->al;
    if (al->ctx_state == 0) {
        sidr_status s = align_ctx_init(&al->ctx, &a->ss);
        al->ctx_state = s ? -1 : 1;
        if (s) snprintf(al->err, sizeof al->err, "%s", sidr_last_error());
    }
    return al->ctx_state == 1;
}

void al_set_item(app *a, int item)
{
    aldata *al = &a->al;
    const sidr_dataset *ds = &a->ss.ds;
    if (item < 0 || item >= ds->n_items) return;
    align_item_free(&al->res);
    al->beams.n = 0;
    al->item = item;
    al->item_state = 1;
    al->err[0] = 0;
    if (!ds->items[item].sid || !ds->items[item].title[0]) {
        al->item_state = -1;
        snprintf(al->err, sizeof al->err, "item %s has %s: nothing to align", ds->items[item].id,
                 ds->items[item].sid ? "no title" : "no SID");
    }
    view *v = &a->views[PANE_ALIGN];
    if (v->sel > 0 && a->focus != PANE_ALIGN) v->sel = v->top = 0;
    a->dirty = 1;
}

static void measure_item(app *a)
{
    aldata *al = &a->al;
    if (!ensure_ctx(a)) { al->item_state = -1; return; }
    sidr_status s = align_report_item(&a->ss, &al->opts, &al->ctx, al->item, &al->res, &al->beams);
    if (s) {
        al->item_state = -1;
        snprintf(al->err, sizeof al->err, "%s", sidr_last_error());
    } else al->item_state = 2;
    a->dirty = 1;
}

static void sample_summary(app *a, char *buf, size_t cap)
{
    const aldata *al = &a->al;
    int n = al->s_done ? al->s_done : 1, L = a->ss.ds.sid_levels;
    size_t o = (size_t)snprintf(buf, cap, "hit@1 %.3f, top beam", (double)al->s_hit1 / n);
    for (int l = 0; l < L && l < 8 && o < cap; l++)
        o += (size_t)snprintf(buf + o, cap - o, " %s%c %.3f", l ? "+" : "", 'a' + l, (double)al->s_lev[l] / n);
    if (o < cap) snprintf(buf + o, cap - o, ", title F1 %.3f", al->s_f1 / n);
}

static void sample_step(app *a)
{
    aldata *al = &a->al;
    if (!ensure_ctx(a)) {
        al->s_state = AL_FAILED;
        app_err(a, "alignment sample: %s", al->err);
        return;
    }
    align_item *r = &al->s_items[al->s_done];
    sidr_status s = align_report_item(&a->ss, &al->opts, &al->ctx, al->pool[al->s_done], r, NULL);
    if (s) {
        al->s_state = AL_FAILED;
        app_err(a, "alignment sample: %s", sidr_last_error());
        return;
    }
    al->s_done++;
    al->s_hit1 += r->rank == 0;
    for (int l = 0; l < r->levels_right && l < 8; l++) al->s_lev[l]++;
    al->s_f1 += r->f1;
    const sidr_item *it = &a->ss.ds.items[r->item];
    int st[8], ln[8];
    if (r->top_sid[0] && sid_split(r->top_sid, st, ln, 8) > 0) {
        int pred = atoi(r->top_sid + st[0] + 3), truth = it->code[0], K = al->codes_a;
        if (pred >= 0 && pred < K && truth >= 0 && truth < K) al->confusion[truth * K + pred]++;
    }
    char sum[200];
    sample_summary(a, sum, sizeof sum);
    if (al->s_done == al->s_total) {
        al->s_state = AL_DONE;
        char k[32];
        keymap_hint(&a->km, SC_ALIGN, A_ALIGN_SORT, k, sizeof k);
        app_msg(a, "alignment sample of %d items: %s (%s sorts the list)", al->s_total, sum, k);
    } else app_msg(a, "alignment sample %d/%d: %s; Esc cancels", al->s_done, al->s_total, sum);
    a->dirty = 1;
}

void al_start_sample(app *a)
{
    aldata *al = &a->al;
    free_sample(al);
    al->s_hit1 = 0;
    al->s_f1 = 0;
    memset(al->s_lev, 0, sizeof al->s_lev);
    memset(al->confusion, 0, ((size_t)al->codes_a * al->codes_a + 1) * sizeof(int));
    al->s_total = align_sample(&a->ss.ds, &al->opts, &al->pool);
    if (!al->s_total) {
        al->s_state = AL_FAILED;
        app_err(a, "alignment sample: %s", sidr_last_error());
        return;
    }
    al->s_items = xcalloc((size_t)al->s_total, sizeof *al->s_items);
    al->order = xmalloc((size_t)al->s_total * sizeof(int));
    al->s_state = AL_RUNNING;
    app_msg(a, "alignment sample: measuring %d items (seed %llu); Esc cancels", al->s_total,
            (unsigned long long)al->opts.seed);
}

void al_cancel_sample(app *a, const char *why)
{
    aldata *al = &a->al;
    if (al->s_state != AL_RUNNING) return;
    al->s_state = AL_CANCELLED;
    char k[32];
    keymap_hint(&a->km, SC_ALIGN, A_ALIGN_SAMPLE, k, sizeof k);
    app_msg(a, "alignment sample %s after %d of %d items (%s in Alignment measures again)", why, al->s_done, al->s_total, k);
}

int al_busy(app *a)
{
    return a->al.item_state == 1 || a->al.s_state == AL_RUNNING;
}

int al_work(app *a)
{
    if (a->al.item_state == 1) { measure_item(a); return 1; }
    if (a->al.s_state == AL_RUNNING) { sample_step(a); return 1; }
    return 0;
}

void al_settle(app *a)
{
    while (a->al.item_state == 1) measure_item(a);
}

/* ---- the lines --------------------------------------------------------------------------------------- */

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

static void note(int style, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(int style, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tline *t = add_line();
    t->selectable = 0;
    tline_add(t, style, -1, 0, " %s", buf);
}

/* A right / wrong mark. */
static void mark(app *a, tline *t, int right)
{
    if (a->scr.ascii) tline_add(t, right ? ST_HIT : ST_MISS, 0, 0, "%s", right ? "+" : "x");
    else tline_add(t, right ? ST_HIT : ST_MISS, 0, 0, "%s", right ? "\xE2\x9C\x93" : "\xE2\x9C\x97");
}

/* "a✓ +b✗ +c✗": the levels of a prediction, right or wrong. */
static void level_marks(app *a, tline *t, int levels_right)
{
    int L = a->ss.ds.sid_levels;
    for (int l = 0; l < L; l++) {
        tline_add(t, ST_DIM, 0, 0, "%s%s%c", l ? " " : "", l ? "+" : "", 'a' + l);
        mark(a, t, levels_right > l);
    }
}

static int beams_shown(app *a)
{
    int n = a->al.beams.n, want = a->scr.h >= 30 ? 5 : 3;
    return n < want ? n : want;
}

static void item_lines(app *a)
{
    aldata *al = &a->al;
    const sidr_dataset *ds = &a->ss.ds;
    if (al->item < 0) {
        note(ST_DIM, "%s", "No item chosen: move the cursor in History or Users, Enter on a worst-aligned line below,");
        note(ST_DIM, "%s", "or / to pick one by title, SID or id.");
        return;
    }
    const sidr_item *it = &ds->items[al->item];
    tline *t = add_line();
    t->tag = TAG(TAG_HEAD, al->item);
    tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
    tline_sid(t, it->sid ? it->sid : "(no SID)", 0, 0);
    tline_add(t, ST_BOLD, -1, 0, "  %s", it->title[0] ? it->title : "(no title)");
    tline_add(t, ST_DIM, 0, 0, "  #%s", it->id);
    if (al->item_state == -1) { note(ST_ERROR, "%s", al->err); return; }
    if (al->item_state != 2) { note(ST_DIM, "%s", "measuring title -> SID and SID -> title..."); return; }
    const align_item *r = &al->res;
    t = add_line();
    t->selectable = 0;
    tline_add(t, ST_HEADER, 0, 0, " %s", a->scr.ascii ? "title->SID" : "title\xE2\x86\x92SID");
    if (r->rank >= 0) tline_add(t, r->rank == 0 ? ST_HIT : ST_NORMAL, -1, 0, "  the item's SID is beam %d of %d", r->rank + 1, al->beams.n);
    else tline_add(t, ST_MISS, -1, 0, "  the item's SID is not among the %d beams", al->beams.n);
    int nb = beams_shown(a);
    for (int k = 0; k < nb; k++) {
        t = add_line();
        t->tag = TAG(TAG_BEAM, k);
        tline_add(t, k == r->rank ? ST_HIT : ST_NUMBER, 4, SPAN_RIGHT, "%d", k + 1);
        tline_add(t, ST_NORMAL, 1, 0, "%s", "");
        tline_sid(t, al->beams.sid[k], a->sid_width + 1, 0);
        tline_add(t, ST_NUMBER, 8, SPAN_RIGHT, "%.3f", al->beams.score[k]);
        tline_add(t, ST_NORMAL, 2, 0, "%s", "");
        level_marks(a, t, al->beams.levels_right[k]);
        tline_add(t, ST_NORMAL, -1, 0, "%s", "");
    }
    if (al->beams.n > nb && a->scr.h >= 30) note(ST_DIM, "... %d more beams (align-report's %d)", al->beams.n - nb, al->opts.beams);
    t = add_line();
    t->tag = TAG(TAG_TITLE, al->item);
    tline_add(t, ST_HEADER, 0, 0, " %s", a->scr.ascii ? "SID->title" : "SID\xE2\x86\x92title");
    tline_add(t, ST_NORMAL, 0, 0, "%s", "  ");
    mark(a, t, r->exact);
    tline_add(t, r->exact ? ST_HIT : ST_NORMAL, -1, 0, " \"%s\"", r->title);
    tline_add(t, ST_DIM, 0, 0, "%s", "  F1 ");
    tline_add(t, r->f1 >= 0.999 ? ST_HIT : r->f1 > 0 ? ST_NUMBER : ST_MISS, 0, 0, "%.2f", r->f1);
}

/* One heat cell: a shade by count relative to the maximum. */
static void heat_cell(app *a, tline *t, int count, int max, int style)
{
    static const char *const shade[] = { "\xE2\x96\x91", "\xE2\x96\x92", "\xE2\x96\x93", "\xE2\x96\x88" };
    static const char ascii[] = "-+*#";
    if (count <= 0) { tline_add(t, ST_DIM, 0, 0, "%s", a->scr.ascii ? "." : "\xC2\xB7"); return; }
    int k = max <= 1 ? 3 : (count - 1) * 3 / (max - 1);
    if (k > 3) k = 3;
    if (a->scr.ascii) tline_add(t, style, 0, 0, "%c", ascii[k]);
    else tline_add(t, style, 0, 0, "%s", shade[k]);
}

typedef struct { int truth, pred, n; } pair;

static int by_pair(const void *x, const void *y)
{
    const pair *p = x, *q = y;
    return p->n != q->n ? q->n - p->n : p->truth != q->truth ? p->truth - q->truth : p->pred - q->pred;
}

static void strip_lines(app *a, int width)
{
    aldata *al = &a->al;
    int K = al->codes_a;
    if (K <= 0 || al->s_done == 0) return;
    int label = 8, cols = width - label - 1;
    if (cols < 8) cols = 8;
    int bin = (K + cols - 1) / cols, nc = (K + bin - 1) / bin;
    if (bin > 1) section(a, "level-a confusion, top beams (%d items, %d codes/cell)", al->s_done, bin);
    else section(a, "level-a confusion, top beams (%d items)", al->s_done);
    int *right = xcalloc((size_t)nc, sizeof(int)), *missed = xcalloc((size_t)nc, sizeof(int)),
        *taken = xcalloc((size_t)nc, sizeof(int));
    for (int t0 = 0; t0 < K; t0++)
        for (int p = 0; p < K; p++) {
            int c = al->confusion[t0 * K + p];
            if (!c) continue;
            if (t0 == p) right[t0 / bin] += c;
            else { missed[t0 / bin] += c; taken[p / bin] += c; }
        }
    int mx = 1;
    for (int c = 0; c < nc; c++) {
        if (right[c] + missed[c] > mx) mx = right[c] + missed[c];
        if (taken[c] > mx) mx = taken[c];
    }
    /* true code: green when the sample's items of the code keep it, red when some lose it */
    tline *t = add_line();
    t->selectable = 0;
    tline_add(t, ST_DIM, label, 0, "%s", " true");
    for (int c = 0; c < nc; c++) heat_cell(a, t, right[c] + missed[c], mx, missed[c] ? ST_MISS : ST_HIT);
    tline_add(t, ST_NORMAL, -1, 0, "%s", "");
    t = add_line();
    t->selectable = 0;
    tline_add(t, ST_DIM, label, 0, "%s", " taken");
    for (int c = 0; c < nc; c++) heat_cell(a, t, taken[c], mx, ST_MISS);
    tline_add(t, ST_NORMAL, -1, 0, "%s", "");
    /* the code axis: a tick every 10 cells */
    t = add_line();
    t->selectable = 0;
    char axis[1024];
    int o = 0;
    memset(axis, ' ', sizeof axis);
    for (int c = 0; c < nc && c < (int)sizeof axis - 8; c += 10) {
        char num[16];
        int n = snprintf(num, sizeof num, "%d", c * bin);
        if (c + n <= nc) memcpy(axis + c, num, (size_t)n);
        o = c + n;
    }
    if (o > nc) o = nc;
    axis[nc < (int)sizeof axis - 1 ? nc : (int)sizeof axis - 1] = 0;
    tline_add(t, ST_DIM, label, 0, "%s", " code");
    tline_add(t, ST_DIM, -1, SPAN_CLIP, "%s", axis);
    (void)o;
    /* the most frequent confusions */
    int np = 0;
    pair *ps = xmalloc(((size_t)K * K + 1) * sizeof *ps);
    for (int t0 = 0; t0 < K; t0++)
        for (int p = 0; p < K; p++)
            if (t0 != p && al->confusion[t0 * K + p]) ps[np++] = (pair){ t0, p, al->confusion[t0 * K + p] };
    qsort(ps, (size_t)np, sizeof *ps, by_pair);
    t = add_line();
    t->selectable = 0;
    tline_add(t, ST_DIM, label, 0, "%s", " most");
    if (!np) tline_add(t, ST_DIM, 0, 0, "%s", "no confusions");
    for (int i = 0; i < np && i < 8; i++) {
        tline_add(t, ST_LEVEL0, 0, 0, "%s<a_%d>", i ? "  " : "", ps[i].truth);
        tline_add(t, ST_DIM, 0, 0, "%s", a->scr.ascii ? "->" : "\xE2\x86\x92");
        tline_add(t, ST_LEVEL0, 0, 0, "<a_%d>", ps[i].pred);
        tline_add(t, ST_NUMBER, 0, 0, " %d", ps[i].n);
    }
    tline_add(t, ST_NORMAL, -1, SPAN_CLIP, "%s", "");
    free(ps);
    free(right);
    free(missed);
    free(taken);
}

static const aldata *sort_al;

static int cmp_levels(const align_item *x, const align_item *y)
{
    return x->levels_right - y->levels_right;
}

static int cmp_f1(const align_item *x, const align_item *y)
{
    return x->f1 < y->f1 ? -1 : x->f1 > y->f1;
}

/* Worst first: fewest levels right (then lowest F1), or lowest F1 (then
 * fewest levels), or the sample's order; ties keep the sample's order. */
static int by_worst(const void *p, const void *q)
{
    int i = *(const int *)p, j = *(const int *)q;
    const align_item *x = &sort_al->s_items[i], *y = &sort_al->s_items[j];
    int c = 0;
    if (sort_al->sort == 0) c = cmp_levels(x, y) ? cmp_levels(x, y) : cmp_f1(x, y);
    else if (sort_al->sort == 1) c = cmp_f1(x, y) ? cmp_f1(x, y) : cmp_levels(x, y);
    return c ? c : i - j;
}

static const char *const sort_names[] = { "levels right", "title F1", "sample order" };

static void worst_lines(app *a)
{
    aldata *al = &a->al;
    const sidr_dataset *ds = &a->ss.ds;
    int L = ds->sid_levels;
    if (al->s_state == AL_IDLE) return;
    if (al->s_state == AL_FAILED && !al->s_done) { note(ST_ERROR, "%s", "the alignment sample failed (see the message line)"); return; }
    section(a, "worst aligned, by %s: %d of %d items%s", sort_names[al->sort], al->s_done, al->s_total,
            al->s_state == AL_RUNNING ? "..." : al->s_state == AL_CANCELLED ? " (cancelled)" : "");
    if (!al->s_done) return;
    char sum[200];
    sample_summary(a, sum, sizeof sum);
    note(ST_DIM, "%s", sum);
    tline *t = add_line();
    t->selectable = 0;
    tline_add(t, ST_HEADER, 4, SPAN_RIGHT, "%s", "lvl");
    tline_add(t, ST_HEADER, 5, SPAN_RIGHT, "%s", "F1");
    tline_add(t, ST_HEADER, 5, SPAN_RIGHT, "%s", "rank");
    tline_add(t, ST_HEADER, 1, 0, "%s", "");
    tline_add(t, ST_HEADER, a->sid_width + 1, 0, "%s", "SID");
    tline_add(t, ST_HEADER, -1, 0, "%s", "title");
    for (int i = 0; i < al->s_done; i++) al->order[i] = i;
    sort_al = al;
    qsort(al->order, (size_t)al->s_done, sizeof *al->order, by_worst);
    for (int k = 0; k < al->s_done; k++) {
        int i = al->order[k];
        const align_item *r = &al->s_items[i];
        const sidr_item *it = &ds->items[r->item];
        t = add_line();
        t->tag = TAG(TAG_WORST, i);
        int st = r->levels_right == L ? ST_HIT : r->levels_right == 0 ? ST_MISS : ST_NORMAL;
        tline_add(t, st, 4, SPAN_RIGHT, "%d/%d", r->levels_right, L);
        tline_add(t, r->f1 >= 0.999 ? ST_HIT : ST_NUMBER, 5, SPAN_RIGHT, "%.2f", r->f1);
        if (r->rank >= 0) tline_add(t, r->rank == 0 ? ST_HIT : ST_NUMBER, 5, SPAN_RIGHT, "#%d", r->rank + 1);
        else tline_add(t, ST_DIM, 5, SPAN_RIGHT, "%s", "-");
        tline_add(t, ST_NORMAL, 1, 0, "%s", "");
        tline_sid(t, it->sid, a->sid_width + 1, 0);
        tline_add(t, r->item == al->item ? ST_BOLD : ST_NORMAL, -1, 0, "%s", it->title);
    }
}

static void build(app *a, view *v)
{
    n_lines_built = 0;
    if (a->ss.ds.sid_levels <= 0) { note(ST_DIM, "%s", "The dataset has no SIDs: nothing to align."); return; }
    int width = v->r.w > 0 ? v->r.w : a->scr.w;
    item_lines(a);
    strip_lines(a, width);
    worst_lines(a);
}

static int n_lines(app *a, view *v)
{
    build(a, v);
    return n_lines_built ? n_lines_built : 1;
}

static void line(app *a, view *v, int i, int width, tline *t)
{
    (void)a, (void)v, (void)width;
    if (i >= n_lines_built) { t->selectable = 0; return; }
    const tline *src = &lines[i];
    t->selectable = src->selectable;
    t->tag = src->tag;
    for (int k = 0; k < src->n; k++)
        tline_addn(t, src->spans[k].style, src->spans[k].width, src->spans[k].flags, src->spans[k].text,
                   strlen(src->spans[k].text));
}

/* ---- keys -------------------------------------------------------------------------------------------- */

static void codebook_of_sid(app *a, const char *sid)
{
    int st[UI_MAX_LEVELS], ln[UI_MAX_LEVELS], codes[UI_MAX_LEVELS];
    int n = sid_split(sid, st, ln, UI_MAX_LEVELS);
    if (n <= 0) { app_msg(a, "no SID on this line"); return; }
    for (int l = 0; l < n; l++) codes[l] = atoi(sid + st[l] + 3);
    app_select_sid(a, codes, n, 0, n - 1, 1);
    app_focus(a, PANE_CODEBOOK);
}

static void follow(app *a, view *v)
{
    build(a, v);
    if (v->sel < 0 || v->sel >= n_lines_built) return;
    aldata *al = &a->al;
    int tag = lines[v->sel].tag, kind = TAG_KIND(tag), val = TAG_VAL(tag);
    const sidr_dataset *ds = &a->ss.ds;
    if (kind == TAG_WORST && val < al->s_done) {
        int item = al->s_items[val].item;
        al_set_item(a, item);
        app_select_item(a, item, ds->items[item].n_levels - 1);
        v->sel = v->top = 0;
        app_msg(a, "item %s %s: Enter on its line opens its codebook entry", ds->items[item].id, ds->items[item].sid);
    } else if ((kind == TAG_HEAD || kind == TAG_TITLE) && val < ds->n_items && ds->items[val].sid) {
        codebook_of_sid(a, ds->items[val].sid);
    } else if (kind == TAG_BEAM && val < al->beams.n) {
        codebook_of_sid(a, al->beams.sid[val]);
    }
}

static int key(app *a, view *v, ui_action act)
{
    aldata *al = &a->al;
    switch (act) {
    case A_FOLLOW: follow(a, v); return 1;
    case A_ALIGN_SORT:
        al->sort = (al->sort + 1) % 3;
        app_msg(a, "worst-aligned list sorted by %s", sort_names[al->sort]);
        a->dirty = 1;
        return 1;
    case A_ALIGN_SAMPLE: al_start_sample(a); return 1;
    case A_MOVE_LEFT: case A_MOVE_RIGHT: return 1;
    default: return 0;
    }
}

/* / picks an item: the next whose title, SID or id contains the pattern. */
static int search(app *a, view *v, const char *pattern, int dir, int skip_current)
{
    int i = app_find_item(a, pattern, a->al.item, dir, skip_current);
    if (i < 0) return 0;
    al_set_item(a, i);
    v->sel = v->top = 0;
    return 1;
}

static int item(app *a, view *v)
{
    build(a, v);
    if (v->sel < 0 || v->sel >= n_lines_built) return a->al.item;
    int tag = lines[v->sel].tag;
    if (TAG_KIND(tag) == TAG_WORST && TAG_VAL(tag) < a->al.s_done) return a->al.s_items[TAG_VAL(tag)].item;
    return a->al.item;
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    (void)v;
    const aldata *al = &a->al;
    size_t o = 0;
    buf[0] = 0;
    if (al->item >= 0) o += (size_t)snprintf(buf, cap, "item %s  ", a->ss.ds.items[al->item].id);
    if (o < cap && al->s_state != AL_IDLE)
        snprintf(buf + o, cap - o, "sample %d/%d%s", al->s_done, al->s_total,
                 al->s_state == AL_RUNNING ? " (Esc cancels)" : al->s_state == AL_CANCELLED ? " cancelled" : "");
}

const view_ops view_align_ops = {
    .name = "Alignment",
    .scope = SC_ALIGN,
    .n_lines = n_lines,
    .line = line,
    .key = key,
    .title = title,
    .search = search,
    .item = item,
};

void align_free_cache(void)
{
    for (int i = 0; i < cap_lines; i++) tline_free(&lines[i]);
    free(lines);
    lines = NULL;
    n_lines_built = cap_lines = 0;
}

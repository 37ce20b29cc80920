/* Beam: the trie-constrained beam search step by step.  A strip of steps
 * (a, b, c, then the forced "\n" and EOS) selects which step's beams are
 * listed; each step says how many trie children the live beams were allowed
 * and how many of them were kept or pruned.  The last step lists the final
 * top-K with titles, the target marked and the hit rank.
 *
 * Once `w` has explained the run, the logit lens of the top beam (the lens
 * rows of src/explain.h) is a layer x step heat strip: per SID step the
 * chosen token (and the target's, where it differs while sharing the
 * prefix), one cell per layer shaded by the token's rank when that layer's
 * residual goes through the final norm and the LM head, with the rank (and
 * the probability) written in when the width allows.  It is docked under the
 * top-K when the pane is tall enough, and always a column of its own ("lens",
 * after eos in the step strip), so a small terminal reaches it with l. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

static int depth(app *a)
{
    return a->ss.cat.depth;
}

static int n_steps(app *a)
{
    if (a->run_live && a->run.bs.n_steps) return a->run.bs.n_steps;
    return depth(a) + (a->run.bcfg.newline_id >= 0) + (a->run.bcfg.eos_id >= 0);
}

static int shown_step(app *a, view *v)
{
    if (!a->n_snaps) return -1;
    if (v->follow || v->col >= a->n_snaps || v->col < 0) return a->n_snaps - 1;
    return v->col;
}

static int is_final(app *a, int k)
{
    return k >= 0 && k == a->n_snaps - 1 && a->rstate == RUN_DONE;
}

static void step_label(app *a, int k, char *buf, size_t cap)
{
    int d = depth(a);
    if (k < d) snprintf(buf, cap, "%c", 'a' + k);
    else if (k == d && a->run.bcfg.newline_id >= 0) snprintf(buf, cap, "\\n");
    else snprintf(buf, cap, "eos");
}

static int lens_n_lines(app *a);
static int is_lens(app *a, view *v);

static int n_lines(app *a, view *v)
{
    if (is_lens(a, v)) return 1 + lens_n_lines(a);
    int k = shown_step(a, v);
    if (k < 0) return 1;
    int n = 2 + a->snaps[k].n;
    if (is_final(a, k) && a->rank < 0) n++;
    return n;
}

static int n_fixed(app *a, view *v)
{
    if (is_lens(a, v)) return 1;
    return shown_step(a, v) < 0 ? 0 : 2;
}

static const char *target_sid(app *a)
{
    const sidr_sample *row = sidr_dataset_row(&a->ss.ds, (sidr_split_id)a->run_split, a->run_row);
    return row ? a->ss.ds.items[row->target].sid : NULL;
}

static void beam_sid(app *a, const sidr_beam *b, int n, char *buf, size_t cap)
{
    int k = b->n_tokens < n ? b->n_tokens : n;
    catalog_sid_string(a->ss.tok, b->tokens, k, buf, cap);
}

/* ---- the logit lens ------------------------------------------------------- */

/* The explanation holds a lens of the run the pane shows. */
static int lens_ready(app *a)
{
    return a->rstate == RUN_DONE && a->run_live && a->why_state != WHY_NONE && a->why_state != WHY_FAILED &&
           a->why_user == a->run_user && a->why_split == a->run_split && a->why_row == a->run_row &&
           a->why.chosen[0].rank && a->why.n_layers > 0;
}

/* The lens column is shown (after eos in the step strip). */
static int is_lens(app *a, view *v)
{
    return lens_ready(a) && !v->follow && v->col == a->n_snaps;
}

typedef struct {
    int step, target;
    const explain_lens_row *row;
} lens_ref;

/* The strip's rows: each SID step's chosen token, and the target's token at
 * the step where it differs from the chosen one while sharing the prefix. */
static int lens_rows(app *a, lens_ref *out)
{
    const explain_result *ex = &a->why;
    int n = 0;
    for (int k = 0; k < ex->depth && k < 8; k++) {
        if (!ex->chosen[k].rank) continue;
        out[n++] = (lens_ref){ k, 0, &ex->chosen[k] };
        if (ex->target[k].rank && ex->target[k].token != ex->chosen[k].token) out[n++] = (lens_ref){ k, 1, &ex->target[k] };
    }
    return n;
}

/* The chosen token is the target's too (the target shares the prefix through it). */
static int lens_is_target(app *a, int k)
{
    const explain_result *ex = &a->why;
    return ex->target[k].rank && ex->target[k].token == ex->chosen[k].token;
}

/* The rule, the layer axis, the rows, the legend. */
static int lens_n_lines(app *a)
{
    lens_ref r[16];
    return 3 + lens_rows(a, r);
}

static void rank_text(int rank, char *buf, size_t cap)
{
    int r = rank + 1; /* shown 1-based, as the beam ranks */
    if (r < 1000) snprintf(buf, cap, "%d", r);
    else if (r < 1000000) snprintf(buf, cap, "%dk", r / 1000);
    else snprintf(buf, cap, "%dM", r / 1000000);
}

/* Shade 3 (darkest) for rank 1, 2 for ranks 2-5, 1 for 6-50, 0 beyond. */
static int rank_shade(int rank)
{
    return rank == 0 ? 3 : rank < 5 ? 2 : rank < 50 ? 1 : 0;
}

static const char *shade_glyph(app *a, int k)
{
    static const char *const shade[] = { "\xE2\x96\x91", "\xE2\x96\x92", "\xE2\x96\x93", "\xE2\x96\x88" };
    static const char *const ascii[] = { ".", ":", "+", "#" };
    return a->scr.ascii ? ascii[k] : shade[k];
}

/* How the strip fits a width: the label (step, marker, token), then one cell
 * per shown layer: shade, rank and probability (tier 2), shade and rank
 * (tier 1), or the shade alone (tier 0, every stride-th layer counted back
 * from the last when the layers outnumber the columns). */
typedef struct {
    int tok_w, label_w, tier, cw, rank_w, stride, n_cells;
} lens_geom;

static void token_label(app *a, int step, int id, char *buf, size_t cap)
{
    if (id >= 0 && id < a->n_vocab && a->tok_level[id] == step) sid_token_str(step, a->tok_code[id], buf, cap);
    else app_token_display(a, id, buf, cap);
}

static lens_geom lens_fit(app *a, int width)
{
    lens_geom g = { 0 };
    lens_ref r[16];
    int n = lens_rows(a, r), L = a->why.n_layers;
    for (int i = 0; i < n; i++) {
        char b[64];
        token_label(a, r[i].step, r[i].row->token, b, sizeof b);
        int w = text_width(b, strlen(b));
        if (w > g.tok_w) g.tok_w = w;
        for (int l = 0; l < L; l++) {
            rank_text(r[i].row->rank[l], b, sizeof b);
            if ((int)strlen(b) > g.rank_w) g.rank_w = (int)strlen(b);
        }
    }
    char lab[16];
    int lab_w = snprintf(lab, sizeof lab, "L%d", L - 1) + 1;
    g.label_w = 4 + g.tok_w + 1; /* " a " + marker + token + " " */
    int avail = width - g.label_w;
    int c1 = 1 + g.rank_w + 1 > lab_w ? 1 + g.rank_w + 1 : lab_w, c2 = c1 + 5;
    g.stride = 1;
    g.n_cells = L;
    if (L * c2 <= avail) g.tier = 2, g.cw = c2;
    else if (L * c1 <= avail) g.tier = 1, g.cw = c1;
    else {
        g.tier = 0;
        g.cw = 1;
        if (avail < 1) avail = 1;
        g.stride = (L + avail - 1) / avail;
        g.n_cells = (L + g.stride - 1) / g.stride;
    }
    return g;
}

/* The layer of cell j: the last layer is always the last cell. */
static int cell_layer(const lens_geom *g, int L, int j)
{
    return L - 1 - (g->n_cells - 1 - j) * g->stride;
}

static void lens_line(app *a, int j, int width, tline *t)
{
    const explain_result *ex = &a->why;
    lens_ref r[16];
    int n = lens_rows(a, r), L = ex->n_layers;
    lens_geom g = lens_fit(a, width);
    t->selectable = 0;
    if (j == 0) { /* the rule, saying what the strip is */
        char what[128];
        if (g.tier == 2 && width >= 64) snprintf(what, sizeof what, "logit lens: rank and p of each SID token by layer");
        else if (g.tier == 2) snprintf(what, sizeof what, "logit lens: rank, p by layer");
        else if (g.stride > 1) snprintf(what, sizeof what, "lens: rank by layer (1 in %d)", g.stride);
        else snprintf(what, sizeof what, "logit lens: rank by layer");
        const char *dash = a->scr.ascii ? "-" : "\xE2\x94\x80";
        tline_add(t, ST_BORDER, 0, 0, "%s", dash);
        tline_add(t, ST_HEADER, 0, 0, " %s ", what);
        char fill[3 * 256 + 1];
        size_t o = 0;
        for (int k = 0; k < 256; k++) { memcpy(fill + o, dash, strlen(dash)); o += strlen(dash); }
        fill[o] = 0;
        tline_add(t, ST_BORDER, -1, SPAN_CLIP, "%s", fill);
        return;
    }
    if (j == 1) { /* the layer axis */
        tline_add(t, ST_DIM, g.label_w, 0, "%s", " layer");
        if (g.tier > 0) {
            for (int c = 0; c < g.n_cells; c++) tline_add(t, ST_DIM, g.cw, 0, "L%d", cell_layer(&g, L, c));
        } else {
            /* one column per shown layer: the layer of every fifth cell where it
             * fits, and the last layer's ending under the last cell */
            char axis[512], num[16];
            int nc = g.n_cells < (int)sizeof axis - 1 ? g.n_cells : (int)sizeof axis - 1;
            memset(axis, ' ', (size_t)nc);
            axis[nc] = 0;
            int len = snprintf(num, sizeof num, "%d", cell_layer(&g, L, nc - 1)), end = nc - len;
            if (end >= 0) memcpy(axis + end, num, (size_t)len);
            for (int c = 0, next = 0; c < nc; c += 5) {
                len = snprintf(num, sizeof num, "%d", cell_layer(&g, L, c));
                if (c < next || c + len >= end) break;
                memcpy(axis + c, num, (size_t)len);
                next = c + len + 1;
            }
            tline_add(t, ST_DIM, 0, 0, "%s", axis);
        }
        tline_add(t, ST_NORMAL, -1, 0, "%s", "");
        return;
    }
    if (j == 2 + n) { /* the legend */
        const char *tg = a->scr.ascii ? "*" : "\xE2\x98\x85";
        tline_add(t, ST_DIM, 0, 0, "%s", width >= 60 ? " shade = rank:" : " rank");
        for (int k = 3; k >= 0; k--) {
            static const char *const wide[] = { " >50", " 6-50", " 2-5", " 1" };
            static const char *const narrow[] = { ">50", "<=50", "<=5", "1" };
            static const char *const narrow_u[] = { ">50", "\xE2\x89\xA4" "50", "\xE2\x89\xA4" "5", "1" };
            tline_add(t, ST_BAR, 0, 0, " %s", shade_glyph(a, k));
            tline_add(t, ST_DIM, 0, 0, "%s", width >= 60 ? wide[k] : a->scr.ascii ? narrow[k] : narrow_u[k]);
        }
        tline_add(t, ST_TARGET, 0, 0, "%s%s", width >= 60 ? "   " : " ", tg);
        tline_add(t, ST_DIM, -1, SPAN_CLIP, "%s", width >= 60 ? " the target's token" : "target");
        return;
    }
    if (j < 2 || j > 1 + n) return;
    const lens_ref *x = &r[j - 2];
    t->selectable = 1;
    t->tag = j - 2;
    char tok[64];
    token_label(a, x->step, x->row->token, tok, sizeof tok);
    int mark = x->target || lens_is_target(a, x->step);
    if (x->target) tline_add(t, ST_NORMAL, 3, 0, "%s", "");
    else tline_add(t, ST_LEVEL(x->step), 3, 0, " %c ", 'a' + x->step);
    tline_add(t, ST_TARGET, 1, 0, "%s", mark ? (a->scr.ascii ? "*" : "\xE2\x98\x85") : "");
    tline_add(t, x->target ? ST_TARGET : ST_LEVEL(x->step), g.tok_w + 1, 0, "%s", tok);
    for (int c = 0; c < g.n_cells; c++) {
        int l = cell_layer(&g, L, c), rk = x->row->rank[l];
        tline_add(t, ST_BAR, 0, 0, "%s", shade_glyph(a, rank_shade(rk)));
        if (g.tier == 0) continue;
        char rt[16];
        rank_text(rk, rt, sizeof rt);
        tline_add(t, rk == 0 ? ST_HIT : ST_NUMBER, g.rank_w + 1, 0, "%s", rt);
        if (g.tier == 2) tline_add(t, ST_DIM, 5, 0, "%.2f", exp(x->row->logprob[l]));
        if (g.cw > (g.tier == 2 ? 1 + g.rank_w + 1 + 5 : 1 + g.rank_w + 1))
            tline_add(t, ST_NORMAL, g.cw - (g.tier == 2 ? 1 + g.rank_w + 1 + 5 : 1 + g.rank_w + 1), 0, "%s", "");
    }
    tline_add(t, ST_NORMAL, -1, 0, "%s", "");
}

/* Lines the strip takes under the top-K of the final step (0: the pane is too
 * short to hold it with a few beams; the lens column still shows it). */
static int lens_docked(app *a, view *v, int h)
{
    if (!lens_ready(a) || is_lens(a, v)) return 0;
    int k = shown_step(a, v);
    if (k < 0 || !is_final(a, k)) return 0;
    int nl = lens_n_lines(a), beams = a->snaps[k].n < 3 ? a->snaps[k].n : 3;
    return h >= 2 + beams + nl ? nl : 0;
}

/* The lens row under the cursor of the lens column: the codebook of its token. */
static void lens_selected(app *a, view *v)
{
    lens_ref r[16];
    int n = lens_rows(a, r), j = v->sel - 1 - 2;
    if (j < 0 || j >= n) return;
    const int *top = a->why.top_tokens;
    int codes[UI_MAX_LEVELS], k = r[j].step;
    for (int l = 0; l <= k && l < UI_MAX_LEVELS; l++) {
        int id = l == k ? r[j].row->token : top[l];
        if (id < 0 || id >= a->n_vocab || a->tok_level[id] != l) return;
        codes[l] = a->tok_code[id];
    }
    app_select_sid(a, codes, k + 1, 0, k, 0);
}

static void line(app *a, view *v, int i, int width, tline *t)
{
    int k = shown_step(a, v);
    if (k < 0) {
        t->selectable = 0;
        char msg[600];
        if (a->rstate == RUN_NONE) snprintf(msg, sizeof msg, " No beams yet: the search runs after the reasoning.");
        else if (a->rstate == RUN_FAILED) snprintf(msg, sizeof msg, " %s", a->run_error);
        else if (a->rstate == RUN_CANCELLED) snprintf(msg, sizeof msg, " Cancelled before the beam search.");
        else if (a->run.phase == REC_PREFILL) snprintf(msg, sizeof msg, " Waiting: prefill of %d prompt tokens.", a->run.n_prompt);
        else snprintf(msg, sizeof msg, " Waiting: reasoning (%d tokens so far).", a->run.n_gen);
        tline_add(t, a->rstate == RUN_FAILED ? ST_ERROR : ST_DIM, -1, 0, "%s", msg);
        return;
    }
    const beam_snap *s = &a->snaps[k];
    int d = depth(a), final = is_final(a, k);
    int focused = a->focus == v->id, lens = is_lens(a, v);
    if (lens && i > 0) {
        lens_line(a, i - 1, width, t);
        return;
    }
    if (i == 0) {
        t->selectable = 0;
        tline_add(t, ST_DIM, 0, 0, "%s", " step");
        int ns = n_steps(a);
        for (int j = 0; j < ns; j++) {
            char lab[16];
            step_label(a, j, lab, sizeof lab);
            tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
            int st = j < a->n_snaps ? (j < d ? ST_LEVEL(j) : ST_SPECIAL) : ST_DIM;
            tline_add(t, st, 0, j == k && !lens ? (focused ? CF_CURSOR : CF_SEL_DIM) << SPAN_CELL_SHIFT : 0, "%s", lab);
        }
        if (lens_ready(a)) {
            tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
            tline_add(t, ST_BAR, 0, lens ? (focused ? CF_CURSOR : CF_SEL_DIM) << SPAN_CELL_SHIFT : 0, "%s", "lens");
        }
        if (!lens && a->rstate == RUN_DONE) tline_add(t, ST_DIM, 0, 0, "%s", final ? "  = top" : "  (last: top)");
        tline_add(t, ST_NORMAL, -1, 0, "%s", "");
        return;
    }
    if (i == 1) {
        t->selectable = 0;
        char lab[16];
        step_label(a, k, lab, sizeof lab);
        if (final) {
            tline_add(t, ST_HEADER, 0, 0, " top %d", s->n);
            if (a->rank >= 0) tline_add(t, ST_HIT, 0, 0, "  hit at rank %d", a->rank + 1);
            else tline_add(t, ST_MISS, 0, 0, "  miss");
            tline_add(t, ST_DIM, 0, 0, "  %d beams requested", a->run.set.beams);
        } else if (s->step < d) {
            tline_add(t, ST_LEVEL(s->step), 0, 0, " %s:", lab);
            tline_add(t, ST_NUMBER, 0, 0, " %d", s->allowed);
            tline_add(t, ST_DIM, 0, 0, "%s", " allowed,");
            tline_add(t, ST_NUMBER, 0, 0, " %d", s->kept);
            tline_add(t, ST_DIM, 0, 0, "%s", " kept,");
            tline_add(t, ST_NUMBER, 0, 0, " %d", s->allowed - s->kept);
            tline_add(t, ST_DIM, 0, 0, "%s", " pruned");
        } else {
            tline_add(t, ST_SPECIAL, 0, 0, " %s", lab);
            tline_add(t, ST_DIM, 0, 0, " forced: %d beams", s->kept);
        }
        tline_add(t, ST_NORMAL, -1, 0, "%s", "");
        return;
    }
    int bi = i - 2;
    if (bi >= s->n) { /* the missed target */
        t->selectable = 0;
        const char *ts = target_sid(a);
        tline_add(t, ST_TARGET, 0, 0, " target %s", ts ? ts : "(no SID)");
        tline_add(t, ST_DIM, -1, 0, " not in the top %d", s->n);
        return;
    }
    const sidr_beam *b = &s->beams[bi];
    t->tag = bi;
    char sid[256];
    int nsid = s->step + 1 < d ? s->step + 1 : d;
    beam_sid(a, b, nsid, sid, sizeof sid);
    const char *ts = target_sid(a);
    int is_target = final && ts && !strcmp(sid, ts);
    tline_add(t, is_target ? ST_TARGET : ST_NUMBER, 2, SPAN_RIGHT, "%d", bi + 1);
    tline_add(t, ST_TARGET, 1, 0, "%s", is_target ? (a->scr.ascii ? "*" : "\xE2\x98\x85") : "");
    tline_sid(t, sid, a->sid_width + 1, 0);
    if (width >= 60) tline_add(t, ST_NUMBER, 9, SPAN_RIGHT, "%.3f", b->score);
    else tline_add(t, ST_NUMBER, 7, SPAN_RIGHT, "%.2f", b->score);
    tline_add(t, ST_NORMAL, 1, 0, "%s", "");
    if (nsid == d) {
        int n_items = 0;
        const int *items = b->node >= 0 ? sidr_trie_items(&a->ss.cat.trie, b->node, &n_items) : NULL;
        if (n_items > 0) {
            const sidr_item *it = &a->ss.ds.items[a->ss.cat.item_of[items[0]]];
            tline_add(t, is_target ? ST_TARGET : ST_NORMAL, -1, 0, "%s", it->title);
            if (n_items > 1) tline_add(t, ST_DIM, 0, 0, " +%d", n_items - 1);
        } else tline_add(t, ST_DIM, -1, 0, "%s", "");
    } else {
        int leaves = b->node >= 0 ? sidr_trie_count_leaves(&a->ss.cat.trie, b->node) : 0;
        tline_add(t, ST_DIM, -1, 0, "%d SID%s under it", leaves, leaves == 1 ? "" : "s");
    }
}

static void selected(app *a, view *v)
{
    if (is_lens(a, v)) {
        lens_selected(a, v);
        return;
    }
    int k = shown_step(a, v);
    if (k < 0) return;
    const beam_snap *s = &a->snaps[k];
    int bi = v->sel - 2;
    if (bi < 0 || bi >= s->n) return;
    const sidr_beam *b = &s->beams[bi];
    int d = depth(a), n = s->step + 1 < d ? s->step + 1 : d;
    if (n > b->n_tokens) n = b->n_tokens;
    int codes[UI_MAX_LEVELS];
    for (int l = 0; l < n && l < UI_MAX_LEVELS; l++) {
        int id = b->tokens[l];
        if (id < 0 || id >= a->n_vocab || a->tok_level[id] != l) return;
        codes[l] = a->tok_code[id];
    }
    if (n > 0) app_select_sid(a, codes, n, 0, n - 1, 0);
}

static int key(app *a, view *v, ui_action act)
{
    if (act == A_MOVE_LEFT || act == A_MOVE_RIGHT) {
        if (!a->n_snaps) return 1;
        int was_lens = is_lens(a, v);
        int k = (was_lens ? a->n_snaps : shown_step(a, v)) + (act == A_MOVE_RIGHT ? 1 : -1);
        int last = a->n_snaps - 1 + lens_ready(a); /* the lens column follows eos */
        if (k < 0) k = 0;
        if (k > last) k = last;
        v->col = k;
        v->follow = k == a->n_snaps - 1 && a->rstate == RUN_ACTIVE;
        if (k == a->n_snaps) {
            if (!was_lens) v->sel = 3; /* the first row of the strip */
            v->top = 0;
            list_set_sel(a, v, v->sel);
        } else {
            if (was_lens) v->sel = 2, v->top = 0;
            if (v->sel - 2 >= a->snaps[k].n) v->sel = 2 + a->snaps[k].n - 1;
            if (v->sel < 2) v->sel = 2;
        }
        selected(a, v);
        a->dirty = 1;
        return 1;
    }
    if (act == A_CODEBOOK) selected(a, v);
    return 0;
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    if (!a->n_snaps) {
        snprintf(buf, cap, "B=%d", a->rstate != RUN_NONE && a->run_live ? a->run.set.beams : a->set.beams);
        return;
    }
    if (is_lens(a, v)) {
        snprintf(buf, cap, "B=%d logit lens%s", a->run.set.beams, a->rank >= 0 ? "  hit" : "  miss");
        return;
    }
    int k = shown_step(a, v);
    char lab[16];
    step_label(a, k, lab, sizeof lab);
    snprintf(buf, cap, "B=%d step %d/%d (%s)%s", a->run.set.beams, k + 1, n_steps(a), lab,
             a->rstate == RUN_DONE ? (a->rank >= 0 ? "  hit" : "  miss") : "");
}

/* The list, and the lens docked at the bottom when it fits. */
static int docked_h; /* as last drawn, for clicks */

static void draw(app *a, view *v, ui_rect r)
{
    int nl = lens_docked(a, v, r.h);
    ui_rect body = r;
    body.h -= nl;
    list_draw(a, v, body);
    tline t;
    tline_init(&t);
    for (int j = 0; j < nl; j++) {
        tline_reset(&t);
        lens_line(a, j, r.w, &t);
        scr_tline(&a->scr, body.y + body.h + j, r.x, r.w, &t);
    }
    tline_free(&t);
    docked_h = nl;
}

static void click(app *a, view *v, int row, int col)
{
    (void)col;
    if (row >= v->r.h - 1 - docked_h) return; /* the docked lens */
    int fixed = n_fixed(a, v);
    int i = row < fixed ? row : v->top + row - fixed;
    if (i >= n_lines(a, v)) return;
    list_set_sel(a, v, i);
    selected(a, v);
    a->dirty = 1;
}

const view_ops view_beam_ops = {
    .name = "Beam",
    .scope = SC_BEAM,
    .n_lines = n_lines,
    .n_fixed = n_fixed,
    .line = line,
    .key = key,
    .selected = selected,
    .title = title,
    .draw = draw,
    .click = click,
};

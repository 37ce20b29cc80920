/* The compare view: model A's and model B's runs of the same row under the
 * same settings (ui/compare.c keeps both), over the whole pane area: the
 * target's rank in each, the first token where the reasoning traces part
 * (its 1-based index and both tokens; marked >> in both traces), the top-K
 * side by side with each SID's rank move from A to B, and both traces with
 * the words only one model wrote marked [-...-] (A) and {+...+} (B).  The
 * sections are the diff view's (ui/sidebyside.c). */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "sidebyside.h"

static sbs_lines L;
static sbs_wdiff wd;

/* The byte offset of token i of a trace (its tokens' bytes concatenated). */
static int token_offset(const sidr_tokenizer *tok, const int *ids, int n, int i, const char *text)
{
    if (i < 0 || i >= n || !text) return -1;
    size_t off = 0;
    for (int k = 0; k < i; k++) {
        size_t len = 0;
        sidr_tokenizer_token_bytes(tok, ids[k], &len);
        off += len;
    }
    return off < strlen(text) ? (int)off : -1;
}

static void progress(app *a)
{
    const cmpdata *c = &a->cmp;
    const rec_run *r = &c->run;
    const char *what = r->phase == REC_PREFILL ? "prefill" : r->phase == REC_REASONING ? "reasoning" : r->phase == REC_BEAM ? "beam" : "bridge";
    if (r->phase == REC_REASONING)
        sbs_note(&L, ST_NORMAL, "Model B (%s) is running: %s, %d/%d tokens (Esc cancels).", c->label, what, r->n_gen, r->set.max_reasoning);
    else if (r->phase == REC_BEAM)
        sbs_note(&L, ST_NORMAL, "Model B (%s) is running: %s step %d/%d (Esc cancels).", c->label, what, r->bs.step, r->bs.n_steps);
    else sbs_note(&L, ST_NORMAL, "Model B (%s) is running: %s (Esc cancels).", c->label, what);
}

static void build(app *a, int width)
{
    L.n = 0;
    cmpdata *c = &a->cmp;
    char k_r[16];
    keymap_hint(&a->km, SC_GLOBAL, A_RUN, k_r, sizeof k_r);
    sbs_add(&L, 0);
    if (!c->on) {
        sbs_note(&L, ST_NORMAL, "%s", "No second model: :compare DIR loads one (or sidr explore --compare DIR),");
        sbs_note(&L, ST_NORMAL, "%s", "a model of the same tokenizer family whose vocabulary has the catalogue's SID tokens.");
        sbs_note(&L, ST_DIM, "%s", "Then r runs both on the row with the same settings, and this view compares them.");
        return;
    }
    if (c->state == CMP_ACTIVE) progress(a);
    else if (c->state == CMP_FAILED) sbs_note(&L, ST_ERROR, "Model B (%s) failed: %s", c->label, c->err);
    else if (c->state == CMP_CANCELLED) sbs_note(&L, ST_NORMAL, "Model B's run was cancelled: %s runs both again.", k_r);
    if (!c->a.valid || !c->b.valid || c->state != CMP_DONE) {
        if (c->state == CMP_NONE) {
            sbs_note(&L, ST_NORMAL, "Model B: %s (%s).", c->label, c->dir);
            sbs_note(&L, ST_NORMAL, "%s runs the current row on model A, then on model B with the same settings.", k_r);
        }
        return;
    }
    const run_sum *A = &c->a, *B = &c->b;
    const sidr_sample *row = sidr_dataset_row(&a->ss.ds, (sidr_split_id)c->split, c->row);
    const sidr_item *target = row ? &a->ss.ds.items[row->target] : NULL;
    char na[160], nb[160];
    snprintf(na, sizeof na, "A %s", a->model_label);
    snprintf(nb, sizeof nb, "B %s", c->label);
    int half = (width - 3) / 2;
    tline *t = sbs_add(&L, 1);
    tline_add(t, ST_HEADER, half + 1, SPAN_ELLIPSIS, " %s", na);
    tline_add(t, ST_BORDER, 0, 0, "%s", sbs_sep(a) + 1);
    tline_add(t, ST_HEADER, -1, SPAN_ELLIPSIS, "%s", nb);
    sbs_note(&L, ST_DIM, "both: think %s, %d beams, at most %d reasoning tokens, grounded %s, temp %g, seed %llu%s",
             A->set.think ? "on" : "off", A->set.beams, A->set.max_reasoning, A->set.ground ? "on" : "off", A->set.temperature,
             (unsigned long long)A->set.seed, c->n_edits ? " (the edited history)" : "");

    sbs_target(a, &L, A, B, "A", "B", target);

    /* where the traces part */
    int mark_a = -1, mark_b = -1;
    if (!A->reasoning && !B->reasoning) {
        sbs_rule(a, &L, "%s", "First divergent token");
        sbs_note(&L, ST_DIM, "%s", "(no reasoning: thinking was off)");
    } else if (c->div < 0) {
        sbs_rule(a, &L, "%s", "First divergent token");
        sbs_note(&L, ST_HIT, "none: both traces are the same %d tokens", c->n_a);
    } else {
        char ta[96] = "(the trace ends)", tb[96] = "(the trace ends)";
        if (c->div < c->n_a) cmp_token_display(a->ss.tok, c->ids_a[c->div], ta, sizeof ta);
        if (c->div < c->n_b) cmp_token_display(c->tok, c->ids_b[c->div], tb, sizeof tb);
        sbs_rule(a, &L, "First divergent token: #%d", c->div + 1);
        t = sbs_add(&L, 1);
        tline_add(t, ST_NORMAL, 0, 0, " %s", "token ");
        tline_add(t, ST_NUMBER, 0, 0, "%d", c->div + 1);
        tline_add(t, ST_NORMAL, 0, 0, " of %d / %d, after %d the same: ", c->n_a, c->n_b, c->div);
        tline_add(t, ST_MISS, 0, 0, "A %s", ta);
        tline_add(t, ST_NORMAL, 0, 0, "%s", "  ");
        tline_add(t, ST_HIT, -1, 0, "B %s", tb);
        mark_a = token_offset(a->ss.tok, c->ids_a, c->n_a, c->div, A->reasoning);
        mark_b = token_offset(c->tok, c->ids_b, c->n_b, c->div, B->reasoning);
    }

    sbs_topk(a, &L, A, B, na, nb, width, target ? target->sid : NULL);

    if (!A->reasoning && !B->reasoning) return;
    sbs_wdiff_ensure(&wd, A, B);
    sbs_rule(a, &L, "Reasoning: A %d, B %d tokens; %d word%s only A wrote, %d only B", A->n_reasoning_tokens, B->n_reasoning_tokens,
             wd.del, wd.del == 1 ? "" : "s", wd.add);
    sbs_reasoning(a, &L, A, B, &wd, na, nb, width, mark_a, mark_b);
}

/* ---- the view -------------------------------------------------------------- */

static int n_lines(app *a, view *v)
{
    build(a, v->r.w > 0 ? v->r.w : a->scr.w);
    return L.n ? L.n : 1;
}

static void line(app *a, view *v, int i, int width, tline *t)
{
    (void)a, (void)v, (void)width;
    sbs_copy(&L, i, t);
}

static int key(app *a, view *v, ui_action act)
{
    (void)v;
    if (act == A_COMPARE || act == A_CANCEL) {
        if (act == A_CANCEL && cmp_busy(a)) cmp_cancel(a, "cancelled");
        else compare_toggle(a);
        return 1;
    }
    if (act == A_MOVE_LEFT || act == A_MOVE_RIGHT) return 1;
    return 0;
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    (void)v;
    const cmpdata *c = &a->cmp;
    char k[16];
    keymap_hint(&a->km, SC_COMPARE, A_COMPARE, k, sizeof k);
    if (!c->on) { snprintf(buf, cap, "no model B  %s closes", k); return; }
    if (c->user < 0) { snprintf(buf, cap, "A %s vs B %s  %s closes", a->model_label, c->label, k); return; }
    snprintf(buf, cap, "%s %s:%d  A %s vs B %s  %s closes", a->ss.ds.users[c->user].id, sidr_split_name((sidr_split_id)c->split),
             c->row, a->model_label, c->label, k);
}

const view_ops view_compare_ops = {
    .name = "Compare",
    .scope = SC_COMPARE,
    .n_lines = n_lines,
    .line = line,
    .key = key,
    .title = title,
};

int compare_shown(const app *a)
{
    return a->cmp.shown;
}

void compare_toggle(app *a)
{
    cmpdata *c = &a->cmp;
    if (c->shown) {
        c->shown = 0;
        app_focus(a, PANE_HISTORY);
        return;
    }
    a->edit.diff_shown = 0;
    c->shown = 1;
    sbs_open(a, PANE_COMPARE);
}

void compare_free_cache(void)
{
    sbs_free(&L);
    sbs_wdiff_free(&wd);
}

/* The diff view: the last run of the original history against the last run
 * of the edited one (ui/edit.c keeps both), over the whole pane area.  The
 * target's rank in both, the top-K side by side with each SID's rank move
 * ("+2" up two, "-1", "=", "new", "gone"), and the reasoning, with the
 * words only one side has marked the way `git diff --word-diff` marks them:
 * [-removed-] in the original, {+added+} in the edited trace.  The brackets
 * show the change without colour (NO_COLOR, monochrome, ASCII); colours only
 * add to them.  Wide panes put the reasoning side by side, narrow ones
 * (under 100 columns) stack it.  The sections are ui/sidebyside.c's, which
 * the compare view (model A vs model B) draws too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "sidebyside.h"
#include "util.h"

static sbs_lines L;
static sbs_wdiff wd;

static void build(app *a, int width)
{
    L.n = 0;
    hist_edits *ed = &a->edit;
    const run_sum *o = &ed->orig, *e = &ed->edited;
    char k_r[16], k_d[16];
    keymap_hint(&a->km, SC_GLOBAL, A_RUN, k_r, sizeof k_r);
    keymap_hint(&a->km, SC_HISTORY, A_HIST_DELETE, k_d, sizeof k_d);
    if (!o->valid || !e->valid) {
        sbs_add(&L, 0);
        if (!edit_active(a) && !e->valid)
            sbs_note(&L, ST_NORMAL, "No edits yet: in History (2) %s deletes, K/J move, i inserts, u undoes;", k_d);
        else sbs_note(&L, ST_NORMAL, "%s", "The edited history has not run yet:");
        sbs_note(&L, ST_NORMAL, "%s runs it (and the original first, under the same settings).", k_r);
        sbs_note(&L, ST_DIM, "%s", "Then: the target's rank, the top-K with rank moves, the reasoning.");
        return;
    }
    const sidr_sample *row = sidr_dataset_row(&a->ss.ds, (sidr_split_id)ed->split, ed->row);
    const sidr_item *target = row ? &a->ss.ds.items[row->target] : NULL;
    const char *tsid = target ? target->sid : NULL;
    int half = (width - 3) / 2;

    /* the inputs */
    sbs_add(&L, 0);
    tline *t = sbs_add(&L, 1);
    tline_add(t, ST_HEADER, half + 1, 0, " original: %d item%s", o->n_hist, o->n_hist == 1 ? "" : "s");
    tline_add(t, ST_BORDER, 0, 0, "%s", sbs_sep(a) + 1);
    tline_add(t, ST_HEADER, -1, 0, "edited: %d item%s, %d edit%s%s", e->n_hist, e->n_hist == 1 ? "" : "s", e->n_edits,
              e->n_edits == 1 ? "" : "s", ed->n_log != e->n_edits || !edit_active(a) ? " (since changed)" : "");
    if (!edit_same_settings(&o->set, &e->set))
        sbs_note(&L, ST_ERROR, "The runs used different settings: %s runs both again.", k_r);
    for (int k = 0; k < ed->n_log && edit_active(a); k++) {
        char d[300];
        edit_describe(a, k, d, sizeof d);
        sbs_note(&L, ST_NORMAL, "%d. %s", k + 1, d);
    }

    sbs_target(a, &L, o, e, "original", "edited", target);
    sbs_topk(a, &L, o, e, "original", "edited", width, tsid);

    /* the reasoning */
    if (!o->reasoning && !e->reasoning) {
        sbs_rule(a, &L, "%s", "Reasoning");
        sbs_note(&L, ST_DIM, "%s", "(no reasoning: thinking was off)");
        return;
    }
    sbs_wdiff_ensure(&wd, o, e);
    sbs_rule(a, &L, "Reasoning: %d -> %d tokens, %d word%s removed, %d added", o->n_reasoning_tokens, e->n_reasoning_tokens,
             wd.del, wd.del == 1 ? "" : "s", wd.add);
    sbs_reasoning(a, &L, o, e, &wd, "original", "edited", width, -1, -1);
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
    sbs_open(a, PANE_DIFF);
}

void diff_free_cache(void)
{
    sbs_free(&L);
    sbs_wdiff_free(&wd);
}

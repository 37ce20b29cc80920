/* Why this recommendation, in the explorer: `w` explains the finished run of
 * the current row with sidr explain's methods (src/explain.h).  Attention,
 * gradient x input and the logit lens come from one teacher-forced pass
 * (explain_begin, a single engine step); occlusion re-runs the recommendation
 * once per history item, one item per engine step between input polls, so
 * the History pane fills in while keys keep working and Esc cancels. */
#include <math.h>
#include <string.h>

#include "app.h"

void why_release(app *a)
{
    if (a->why_state != WHY_NONE) explain_free(&a->why);
    a->why_state = WHY_NONE;
}

int why_for_row(const app *a)
{
    return a->why_state != WHY_NONE && a->why_user == a->cur_user && a->why_split == a->cur_split &&
           a->why_row == a->cur_row;
}

void why_start(app *a)
{
    if (a->rstate != RUN_DONE || a->run_user != a->cur_user || a->run_split != a->cur_split || a->run_row != a->cur_row) {
        app_err(a, "nothing to explain: run the recommendation for this user first (r)");
        return;
    }
    if (edit_active(a)) { /* its columns sit beside the dataset's items */
        app_err(a, "w explains the dataset's history: U undoes the edits (D compares the runs)");
        return;
    }
    const sidr_sample *row = app_cur_sample(a);
    const char *hist[SIDR_MAX_HISTORY];
    int nh = row ? session_history(&a->ss, row, hist) : -1;
    if (nh < 1) { app_err(a, "nothing to explain: the row has no history"); return; }
    why_release(a);
    const sidr_item *t = &a->ss.ds.items[row->target];
    /* the run's own settings, so the explanation is of what is on screen */
    sidr_status s = explain_begin(&a->why, &a->ss, &a->run.set, hist, nh, t->sid,
                                  EXPLAIN_ATTENTION | EXPLAIN_OCCLUSION | EXPLAIN_GRAD | EXPLAIN_LENS);
    a->why_state = s ? WHY_FAILED : WHY_RUNNING;
    a->why_user = a->cur_user;
    a->why_split = a->cur_split;
    a->why_row = a->cur_row;
    a->dirty = 1;
    if (s) {
        app_err(a, "explain failed: %s", sidr_last_error());
        return;
    }
    app_msg(a, "explaining: attention and gradient x input done; occlusion of %d items (Esc cancels)", nh);
}

int why_busy(const app *a)
{
    return a->why_state == WHY_RUNNING;
}

int why_most_influential(const app *a)
{
    int best = -1;
    if (!a->why.occl_delta) return -1;
    for (int i = 0; i < a->why.occl_done && i < a->why.n_hist; i++)
        if (isfinite(a->why.occl_delta[i]) && (best < 0 || a->why.occl_delta[i] < a->why.occl_delta[best])) best = i;
    return best;
}

int why_work(app *a)
{
    if (!why_busy(a)) return 0;
    if (explain_pending(&a->why)) {
        sidr_status s = explain_step(&a->why);
        if (s) {
            a->why_state = WHY_FAILED;
            app_err(a, "occlusion failed: %s", sidr_last_error());
            return 1;
        }
    }
    a->dirty = 1;
    if (!explain_pending(&a->why)) {
        a->why_state = WHY_DONE;
        int best = why_most_influential(a);
        if (best >= 0)
            app_msg(a, "explained: without item %d the top SID's log-probability changes most (%+.2f)", best + 1,
                    a->why.occl_delta[best]);
        else app_msg(a, "explained");
    }
    return 1;
}

void why_cancel(app *a, const char *reason)
{
    if (!why_busy(a)) return;
    a->why_state = WHY_DONE; /* what is done stays shown */
    app_msg(a, "occlusion %s after %d of %d items", reason, a->why.occl_done, a->why.n_hist);
    a->dirty = 1;
}

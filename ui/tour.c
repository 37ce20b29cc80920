/* The tour (`sidr explore --tour`, `:tour`): the explorer presents itself to
 * an audience.  It scouts the test split for rows the model gets right (and
 * one instructive miss: the top SID shares its first level with the target),
 * then plays each: open the user, stream the reasoning and grow the beam at
 * a watchable pace, say whether the target was hit, open the Codebook of the
 * winning SID, explain the decision (w), and move on.  Captions on the message
 * line say what happens in plain words.  Any key hands control back.
 *
 * Holds are wall-clock seconds on a terminal and ticks in headless scripts
 * (screens must not depend on timing); scouting runs one whole
 * recommendation per engine step, the run and the explanation step as usual. */
#include <string.h>

#include "app.h"
#include "util.h"

enum { T_SCOUT = 1, T_OPEN, T_RUN, T_RESULT, T_CODEBOOK, T_WHY, T_NEXT };

#define TOUR_HITS 4
#define TOUR_SCOUT_MAX 200   /* test rows looked at, at most */
#define TOUR_PACE 40         /* tokens per second when no pace is set */

static void hold(app *a, double seconds)
{
    a->tour.until = a->headless ? 0 : now_seconds() + seconds;
    a->tour.ticks = a->headless ? 1 + (int)seconds : 0;
}

static int holding(app *a)
{
    if (a->headless) return a->tour.ticks-- > 0;
    return now_seconds() < a->tour.until;
}

void tour_start(app *a)
{
    if (!a->ss.ds.split[SIDR_SPLIT_TEST].n) { app_err(a, "the tour needs a test split"); return; }
    memset(&a->tour, 0, sizeof a->tour);
    a->tour.on = 1;
    a->tour.phase = T_SCOUT;
    a->tour.miss = -1;
    a->tour.own_pace = !a->pace;
    if (!a->pace) a->pace = TOUR_PACE;
    app_msg(a, "Tour: looking for test rows to show (any key takes over)");
}

void tour_stop(app *a, const char *why)
{
    if (!a->tour.on) return;
    a->tour.on = 0;
    if (a->tour.own_pace) a->pace = 0;
    app_msg(a, "%s", why ? why : "Tour stopped: the explorer is yours");
    a->dirty = 1;
}

int tour_active(const app *a)
{
    return a->tour.on;
}

int tour_wait_ms(const app *a)
{
    if (!a->tour.on || a->headless) return 0;
    double left = a->tour.until - now_seconds();
    return left > 0 ? (int)(left * 1e3) + 1 : 0;
}

/* One silent recommendation on test row r: 1 hit, 0 miss; -1 on error. */
static int scout_row(app *a, int r, int *shares_first)
{
    const sidr_sample *row = sidr_dataset_row(&a->ss.ds, SIDR_SPLIT_TEST, r);
    const char *hist[SIDR_MAX_HISTORY];
    int nh = row ? session_history(&a->ss, row, hist) : -1;
    if (nh < 1) return -1;
    rec_run run;
    if (rec_begin(&run, &a->ss.model, a->ss.tok, &a->ss.cat, &a->set, hist, nh)) return -1;
    int hit = -1;
    if (!rec_run_all(&run, NULL, NULL)) {
        const sidr_item *t = &a->ss.ds.items[row->target];
        hit = t->sid && rec_rank(&run, t->sid) >= 0;
        *shares_first = 0;
        if (t->sid && run.bs.n_hyps) {
            char top[512];
            rec_beam_sid(&run, 0, top, sizeof top);
            const char *end = strchr(top, '>');
            *shares_first = end && !strncmp(top, t->sid, (size_t)(end - top + 1));
        }
    }
    rec_free(&run);
    return hit;
}

static void caption(app *a, const char *fmt, const char *arg, int n)
{
    char buf[400];
    snprintf(buf, sizeof buf, fmt, arg, n);
    app_msg(a, "Tour %d/%d: %s", a->tour.i + 1, a->tour.n_rows, buf);
    a->dirty = 1; /* a hold may follow, with nothing else to redraw the line */
}

int tour_tick(app *a)
{
    if (!a->tour.on) return 0;
    tour_state *t = &a->tour;
    /* a caption holds the screen, except while a run or an explanation it
     * started is stepping (they pace themselves) */
    int stepping = t->phase == T_SCOUT || ((t->phase == T_RUN || t->phase == T_WHY) && t->started);
    if (!stepping && holding(a)) return 0;
    switch (t->phase) {
    case T_SCOUT: {
        const int n = a->ss.ds.split[SIDR_SPLIT_TEST].n;
        if (t->scouted < n && t->scouted < TOUR_SCOUT_MAX && (t->n_rows < TOUR_HITS || t->miss < 0)) {
            int first = 0, hit = scout_row(a, t->scouted, &first);
            if (hit == 1 && t->n_rows < TOUR_HITS) t->rows[t->n_rows++] = t->scouted;
            if (hit == 0 && first && t->miss < 0) t->miss = t->scouted;
            t->scouted++;
            app_msg(a, "Tour: looking for test rows to show: %d checked, %d hits so far (any key takes over)",
                    t->scouted, t->n_rows);
            return 1;
        }
        if (t->miss >= 0) t->rows[t->n_rows++] = t->miss; /* the instructive miss comes last */
        if (!t->n_rows) { tour_stop(a, "Tour: no test row to show (the model hits none of the rows looked at)"); return 1; }
        t->i = 0;
        t->phase = T_OPEN;
        return 1;
    }
    case T_OPEN: {
        app_open_row(a, SIDR_SPLIT_TEST, t->rows[t->i]);
        app_focus(a, PANE_HISTORY);
        const sidr_sample *row = app_cur_sample(a);
        caption(a, "user %s bought these %d items, oldest first; the model will reason about them, then name the next item's Semantic ID",
                a->ss.ds.users[a->cur_user].id, row ? row->n_hist : 0);
        hold(a, 4);
        t->phase = T_RUN;
        t->started = 0;
        return 1;
    }
    case T_RUN:
        if (!t->started) {
            app_start_run(a);
            app_focus(a, PANE_REASONING);
            t->started = 1;
            caption(a, "%sthe reasoning streams token by token (SID mentions are links to the items)", "", 0);
            return 1;
        }
        if (a->rstate == RUN_ACTIVE) {
            if (a->run.phase == REC_BEAM && !t->beam_said) {
                app_focus(a, PANE_BEAM);
                caption(a, "%sbeam search over the SID trie: one level per step, only SIDs of real items survive", "", 0);
                t->beam_said = 1;
            }
            return 0; /* the run steps itself */
        }
        t->beam_said = 0;
        if (a->rstate != RUN_DONE) { tour_stop(a, "Tour stopped: the run did not finish"); return 1; }
        t->phase = T_RESULT;
        return 1;
    case T_RESULT:
        if (a->rank >= 0) caption(a, "%shit: the item this user bought next is the model's #%d", "", a->rank + 1);
        else caption(a, "%sa miss worth seeing: the top SID starts like the target's, but the item is another", "", 0);
        hold(a, 5);
        t->phase = T_CODEBOOK;
        return 1;
    case T_CODEBOOK:
        if (a->run.bs.n_hyps > 0) {
            int codes[UI_MAX_LEVELS], L = 0;
            const sidr_beam *b = &a->run.bs.hyps[0];
            for (int k = 0; k < b->n_tokens && L < UI_MAX_LEVELS; k++) {
                int id = b->tokens[k];
                if (id < 0 || id >= a->n_vocab || a->tok_level[id] != L) break;
                codes[L++] = a->tok_code[id];
            }
            if (L > 0) {
                app_select_sid(a, codes, L, 0, 0, 0);
                app_focus(a, PANE_CODEBOOK);
                caption(a, "%sthe Codebook of the top SID's first token: the items that share it, and its nearest codes", "", 0);
            }
        }
        hold(a, 5);
        t->phase = T_WHY;
        t->started = 0;
        return 1;
    case T_WHY:
        if (!t->started) {
            why_start(a);
            app_focus(a, PANE_HISTORY);
            t->started = 1;
            caption(a, "%swhy: attention, and each item removed in turn to see how the decision moves", "", 0);
            return 1;
        }
        if (why_busy(a)) return 0; /* the explanation steps itself */
        if (a->why_state == WHY_DONE) {
            int best = why_most_influential(a);
            if (best >= 0) caption(a, "%swithout item %d the model is least sure of its answer: it drove the decision", "", best + 1);
        }
        hold(a, 6);
        t->phase = T_NEXT;
        return 1;
    case T_NEXT:
        if (++t->i >= t->n_rows) { tour_stop(a, "Tour over: the explorer is yours (? lists the keys)"); return 1; }
        t->phase = T_OPEN;
        return 1;
    }
    return 0;
}

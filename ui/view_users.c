/* Users: every user with a history, the row a run would use, and the
 * outcome of runs (in the explorer or loaded from 'sidr eval --json'). */
#include <stdio.h>
#include <string.h>

#include "app.h"

static int id_width(app *a)
{
    if (a->user_id_width) return a->user_id_width;
    int w = 4;
    for (int i = 0; i < a->ss.ds.n_users && i < 5000; i++) {
        int k = text_width(a->ss.ds.users[i].id, strlen(a->ss.ds.users[i].id));
        if (k > w) w = k;
    }
    return a->user_id_width = w > 18 ? 18 : w;
}

static int n_lines(app *a, view *v)
{
    return 1 + (a->n_entries ? a->n_entries : 1);
}

static int n_fixed(app *a, view *v)
{
    return 1;
}

static void entry_line(app *a, view *v, int i, int width, tline *t);

/* Line 0 is the column header; entry i is line i + 1. */
static void line(app *a, view *v, int i, int width, tline *t)
{
    if (i == 0) {
        t->selectable = 0;
        int iw = id_width(a), rest = width - 1 - iw;
        tline_add(t, ST_HEADER, 1, 0, "%s", "");
        tline_add(t, ST_HEADER, iw + 1 > width - 1 ? width - 1 : iw + 1, SPAN_ELLIPSIS, "%s", "user");
        if (rest >= 6) {
            if (a->evf.on) tline_add(t, ST_HEADER, rest >= 18 ? 6 : 2, 0, "%s", rest >= 18 ? "hits" : "");
            else if (rest >= 18) tline_add(t, ST_HEADER, 6, 0, "%s", "split");
            tline_add(t, ST_HEADER, 3, SPAN_RIGHT, "%s", "len");
            tline_add(t, ST_HEADER, -1, 0, "%s", "");
            tline_add(t, ST_HEADER, 4, SPAN_RIGHT, "%s", "run");
        } else tline_add(t, ST_HEADER, -1, 0, "%s", "");
        return;
    }
    entry_line(a, v, i - 1, width, t);
}

static void entry_line(app *a, view *v, int i, int width, tline *t)
{
    if (!a->n_entries) {
        t->selectable = 0;
        tline_add(t, ST_DIM, -1, 0, "%s", a->evf.on ? " no rows (:filter off)" : a->f_outcome ? " no users match the filter (F)" : " no users in this split (f)");
        return;
    }
    const user_entry *e = &a->entries[i];
    t->tag = i;
    int cur = e->user == a->cur_user, running = a->rstate == RUN_ACTIVE && e->user == a->run_user;
    const char *mark = running ? (a->scr.ascii ? "*" : "\xE2\x97\x8F") : cur ? (a->scr.ascii ? ">" : "\xE2\x96\xB6") : " ";
    tline_add(t, running ? ST_STATUS_ACCENT : ST_BOLD, 1, 0, "%s", mark);
    int iw = id_width(a);
    int rest = width - 1 - iw;
    tline_add(t, cur ? ST_BOLD : ST_NORMAL, iw + 1 > width - 1 ? width - 1 : iw + 1, SPAN_ELLIPSIS, "%s", a->ss.ds.users[e->user].id);
    if (rest >= 6) {
        const sidr_sample *row = sidr_dataset_row(&a->ss.ds, (sidr_split_id)e->split, e->row);
        int side = evf_side(a, e->split, e->row);
        if (a->evf.on) tline_add(t, ST_HIT, rest >= 18 ? 6 : 2, 0, "%c%s", side ? side : '?',
                                 rest >= 18 ? " only" : "");
        else if (rest >= 18) tline_add(t, ST_DIM, 6, 0, "%s", sidr_split_name((sidr_split_id)e->split));
        tline_add(t, ST_DIM, 3, SPAN_RIGHT, "%d", row ? row->n_hist : 0);
        tline_add(t, ST_NORMAL, -1, 0, "%s", "");
        int o = app_outcome(a, e->split, e->row);
        if (o >= 0) tline_add(t, ST_HIT, 4, SPAN_RIGHT, "%s%d", a->scr.ascii ? "+" : "\xE2\x9C\x93", o + 1);
        else if (o == -1) tline_add(t, ST_MISS, 4, SPAN_RIGHT, "%s", a->scr.ascii ? "x" : "\xE2\x9C\x97");
        else tline_add(t, ST_DIM, 4, SPAN_RIGHT, "%s", "");
    }
}

static void title(app *a, view *v, char *buf, size_t cap)
{
    if (a->evf.on) {
        snprintf(buf, cap, "%d/%d eval-diff %s: A %d, B %d", a->n_entries ? v->sel : 0, a->n_entries,
                 sidr_split_name((sidr_split_id)a->evf.rows[0].split), a->evf.n_only_a, a->evf.n_only_b);
        return;
    }
    static const char *const outcome[] = { "", " hits", " misses", " not run" };
    snprintf(buf, cap, "%d/%d%s%s%s", a->n_entries ? v->sel : 0, a->n_entries, a->f_split < 0 ? "" : " ",
             a->f_split < 0 ? "" : sidr_split_name((sidr_split_id)a->f_split), outcome[a->f_outcome]);
}

static int next_split(app *a, int s)
{
    for (int k = 0; k < 4; k++) {
        /* all -> test -> valid -> train -> all */
        s = s < 0 ? SIDR_SPLIT_TEST : s == SIDR_SPLIT_TEST ? SIDR_SPLIT_VALID : s == SIDR_SPLIT_VALID ? SIDR_SPLIT_TRAIN : -1;
        if (s < 0 || a->ss.ds.split[s].n > 0) return s;
    }
    return -1;
}

static int key(app *a, view *v, ui_action act)
{
    static const char *const outcome[] = { "all users", "hits only", "misses only", "users not run yet" };
    switch (act) {
    case A_USER_RUN:
        if (a->n_entries && v->sel >= 1) app_open_entry(a, v->sel - 1, 1);
        return 1;
    case A_USER_OPEN:
        if (a->n_entries && v->sel >= 1) app_open_entry(a, v->sel - 1, 0);
        return 1;
    case A_FILTER_SPLIT:
        evf_off(a);
        a->f_split = next_split(a, a->f_split);
        app_refilter(a);
        app_msg(a, "split filter: %s (%d user%s)", a->f_split < 0 ? "all splits" : sidr_split_name((sidr_split_id)a->f_split),
                a->n_entries, a->n_entries == 1 ? "" : "s");
        return 1;
    case A_FILTER_OUTCOME:
        evf_off(a);
        a->f_outcome = (a->f_outcome + 1) % 4;
        app_refilter(a);
        app_msg(a, "outcome filter: %s (%d user%s)%s", outcome[a->f_outcome], a->n_entries, a->n_entries == 1 ? "" : "s",
                a->f_outcome ? "; outcomes come from runs here and from :load-eval FILE" : "");
        return 1;
    default:
        return 0;
    }
}

/* The item a user's row asks for (its target). */
static int item(app *a, view *v)
{
    int e = v->sel - 1;
    if (e < 0 || e >= a->n_entries) return -1;
    const sidr_sample *r = sidr_dataset_row(&a->ss.ds, (sidr_split_id)a->entries[e].split, a->entries[e].row);
    return r ? r->target : -1;
}

const view_ops view_users_ops = {
    .name = "Users",
    .scope = SC_USERS,
    .n_lines = n_lines,
    .n_fixed = n_fixed,
    .line = line,
    .key = key,
    .title = title,
    .item = item,
};

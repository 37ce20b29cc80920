/* Counterfactual history edits: the edit list, its undo, the history a run
 * uses, and the summaries of the original and the edited run.  The edited
 * history is always the row's history with the log replayed on it, so an
 * undo is a shorter replay and can never drift from what the log says. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "util.h"

void run_sum_free(run_sum *s)
{
    for (int i = 0; i < s->n_top; i++) free(s->sid[i]);
    free(s->sid);
    free(s->score);
    free(s->item);
    free(s->reasoning);
    memset(s, 0, sizeof *s);
}

void edit_init(app *a)
{
    memset(&a->edit, 0, sizeof a->edit);
    a->edit.user = -1;
    a->edit.pick_item = -1;
}

void edit_free(app *a)
{
    run_sum_free(&a->edit.orig);
    run_sum_free(&a->edit.edited);
}

static const sidr_sample *edit_row(const app *a)
{
    const hist_edits *e = &a->edit;
    return e->user < 0 ? NULL : sidr_dataset_row(&a->ss.ds, (sidr_split_id)e->split, e->row);
}

static void apply(hist_edits *e, const hist_edit *x)
{
    int p = x->pos;
    switch (x->kind) {
    case EDIT_DELETE:
        memmove(e->items + p, e->items + p + 1, (size_t)(e->n - p - 1) * sizeof *e->items);
        memmove(e->mark + p, e->mark + p + 1, (size_t)(e->n - p - 1));
        e->n--;
        break;
    case EDIT_MOVE: {
        int it = e->items[p];
        signed char m = e->mark[p] ? e->mark[p] : '~';
        int d = x->to > p ? 1 : -1;
        for (int i = p; i != x->to; i += d) e->items[i] = e->items[i + d], e->mark[i] = e->mark[i + d];
        e->items[x->to] = it;
        e->mark[x->to] = m;
        break;
    }
    case EDIT_INSERT:
        memmove(e->items + p + 1, e->items + p, (size_t)(e->n - p) * sizeof *e->items);
        memmove(e->mark + p + 1, e->mark + p, (size_t)(e->n - p));
        e->items[p] = x->item;
        e->mark[p] = '+';
        e->n++;
        break;
    }
}

static void replay(app *a)
{
    hist_edits *e = &a->edit;
    const sidr_sample *row = edit_row(a);
    e->n = row ? row->n_hist : 0;
    for (int i = 0; i < e->n; i++) e->items[i] = row->hist[i], e->mark[i] = 0;
    for (int k = 0; k < e->n_log; k++) apply(e, &e->log[k]);
    e->gen++;
    a->dirty = 1;
}

void edit_follow_row(app *a)
{
    hist_edits *e = &a->edit;
    if (e->user == a->cur_user && e->split == a->cur_split && e->row == a->cur_row) return;
    int gen = e->gen;
    edit_free(a);
    edit_init(a);
    e->gen = gen;
    e->user = a->cur_user;
    e->split = a->cur_split;
    e->row = a->cur_row;
    replay(a);
}

int edit_active(const app *a)
{
    const hist_edits *e = &a->edit;
    return e->n_log > 0 && e->user >= 0 && e->user == a->cur_user && e->split == a->cur_split && e->row == a->cur_row;
}

const int *edit_items(const app *a, int *n)
{
    if (edit_active(a)) { *n = a->edit.n; return a->edit.items; }
    const sidr_sample *row = app_cur_sample(a);
    *n = row ? row->n_hist : 0;
    return row ? row->hist : NULL;
}

int edit_mark(const app *a, int i)
{
    return edit_active(a) && i >= 0 && i < a->edit.n ? a->edit.mark[i] : 0;
}

static const char *item_title(const app *a, int item)
{
    const sidr_item *it = &a->ss.ds.items[item];
    return it->title[0] ? it->title : it->id;
}

void edit_describe(const app *a, int k, char *buf, size_t cap)
{
    const hist_edit *x = &a->edit.log[k];
    const char *t = item_title(a, x->item);
    switch (x->kind) {
    case EDIT_DELETE: snprintf(buf, cap, "delete #%d %s", x->pos + 1, t); break;
    case EDIT_MOVE: snprintf(buf, cap, "move #%d to #%d %s", x->pos + 1, x->to + 1, t); break;
    case EDIT_INSERT: snprintf(buf, cap, "insert at #%d %s", x->pos + 1, t); break;
    }
}

/* Appends an edit and replays; 0 when the log is full. */
static int push(app *a, edit_kind kind, int pos, int to, int item)
{
    hist_edits *e = &a->edit;
    if (!app_cur_sample(a)) { app_err(a, "no user open: Space or Enter in Users, or :user ID"); return 0; }
    edit_follow_row(a);
    if (e->n_log == EDIT_MAX_LOG) {
        app_err(a, "at most %d edits: u undoes the last", EDIT_MAX_LOG);
        return 0;
    }
    e->log[e->n_log++] = (hist_edit){ kind, pos, to, item };
    replay(a);
    char d[300];
    edit_describe(a, e->n_log - 1, d, sizeof d);
    app_msg(a, "%s (%d edit%s; u undoes, r runs the edited history)", d, e->n_log, e->n_log == 1 ? "" : "s");
    return 1;
}

void edit_delete(app *a, int pos)
{
    int n;
    const int *items = edit_items(a, &n);
    if (pos < 0 || pos >= n) { app_err(a, "not a history item (the target is what the run predicts)"); return; }
    if (n == 1) { app_err(a, "the history needs at least one item: insert another first (i)"); return; }
    push(a, EDIT_DELETE, pos, 0, items[pos]);
}

void edit_move(app *a, int pos, int dir)
{
    int n;
    const int *items = edit_items(a, &n);
    if (pos < 0 || pos >= n) { app_err(a, "not a history item"); return; }
    if (pos + dir < 0 || pos + dir >= n) { app_msg(a, "already the %s item", dir < 0 ? "first" : "last"); return; }
    push(a, EDIT_MOVE, pos, pos + dir, items[pos]);
}

void edit_insert(app *a, int pos, int item)
{
    int n;
    edit_items(a, &n);
    if (n >= SIDR_MAX_HISTORY) {
        app_err(a, "the history holds at most %d items (the paper's window): delete one first", SIDR_MAX_HISTORY);
        return;
    }
    if (pos < 0 || pos > n || item < 0 || item >= a->ss.ds.n_items || !a->ss.ds.items[item].sid) return;
    push(a, EDIT_INSERT, pos, 0, item);
}

void edit_undo(app *a)
{
    hist_edits *e = &a->edit;
    if (!edit_active(a)) { app_msg(a, "no edits to undo"); return; }
    char d[300];
    edit_describe(a, --e->n_log, d, sizeof d);
    replay(a);
    if (e->n_log) app_msg(a, "undone: %s (%d edit%s left)", d, e->n_log, e->n_log == 1 ? "" : "s");
    else app_msg(a, "undone: %s; the history is the dataset's again", d);
}

void edit_revert(app *a)
{
    hist_edits *e = &a->edit;
    if (!edit_active(a)) { app_msg(a, "no edits to undo"); return; }
    int k = e->n_log;
    e->n_log = 0;
    replay(a);
    app_msg(a, "%d edit%s undone: the history is the dataset's again", k, k == 1 ? "" : "s");
}

/* ---- runs ------------------------------------------------------------------ */

int edit_same_settings(const rec_settings *x, const rec_settings *y)
{
    return x->think == y->think && x->beams == y->beams && x->max_reasoning == y->max_reasoning &&
           x->temperature == y->temperature && x->top_p == y->top_p && x->seed == y->seed && x->ground == y->ground;
}

int edit_run_history(app *a, const char **sids)
{
    hist_edits *e = &a->edit;
    const sidr_sample *row = app_cur_sample(a);
    edit_follow_row(a);
    int edited = edit_active(a);
    /* the diff needs the original under the same settings: it runs first */
    e->chain = edited && !(e->orig.valid && edit_same_settings(&e->orig.set, &a->set));
    if (e->chain) edited = 0;
    e->run_edits = edited ? e->n_log : 0;
    if (!edited) return session_history(&a->ss, row, sids);
    for (int i = 0; i < e->n; i++) {
        const sidr_item *it = &a->ss.ds.items[e->items[i]];
        if (!it->sid) {
            sidr_fail(SIDR_ERR_MISSING, "%s: history item %s has no SID", a->ss.data_dir, it->id);
            return -1;
        }
        sids[i] = it->sid;
    }
    return e->n;
}

void run_sum_fill(run_sum *s, const rec_run *r, const sidr_catalog *cat, int rank)
{
    run_sum_free(s);
    s->valid = 1;
    s->set = r->set;
    s->set.given_reasoning = NULL;
    s->reasoning = r->set.think && r->reasoning ? xstrdup(r->reasoning) : NULL;
    s->n_reasoning_tokens = r->n_gen;
    s->n_top = r->bs.n_hyps;
    s->sid = xcalloc((size_t)(s->n_top ? s->n_top : 1), sizeof *s->sid);
    s->score = xcalloc((size_t)(s->n_top ? s->n_top : 1), sizeof *s->score);
    s->item = xcalloc((size_t)(s->n_top ? s->n_top : 1), sizeof *s->item);
    for (int i = 0; i < s->n_top; i++) {
        char sid[256];
        rec_beam_sid(r, i, sid, sizeof sid);
        s->sid[i] = xstrdup(sid);
        s->score[i] = r->bs.hyps[i].score;
        int ni;
        const int *it = sidr_trie_items(&cat->trie, r->bs.hyps[i].node, &ni);
        s->item[i] = ni ? cat->item_of[it[0]] : -1;
    }
    s->rank = rank >= 0 ? rank : -1;
    static int stamps;
    s->stamp = ++stamps;
}

int edit_run_done(app *a)
{
    hist_edits *e = &a->edit;
    if (a->run_user != e->user || a->run_split != e->split || a->run_row != e->row) return 0;
    const sidr_sample *row = edit_row(a);
    if (!row) return 0;
    run_sum *s = e->run_edits ? &e->edited : &e->orig;
    run_sum_fill(s, &a->run, &a->ss.cat, a->rank);
    s->n_edits = e->run_edits;
    s->n_hist = e->run_edits ? e->n : row->n_hist;
    memcpy(s->hist, e->run_edits ? e->items : row->hist, (size_t)s->n_hist * sizeof(int));
    if (e->chain && !e->run_edits) {
        e->chain = 0;
        return 1;
    }
    if (e->run_edits && e->orig.valid) {
        char k[32];
        keymap_hint(&a->km, SC_GLOBAL, A_DIFF, k, sizeof k);
        char r0[32], r1[32];
        snprintf(r0, sizeof r0, e->orig.rank >= 0 ? "rank %d" : "miss", e->orig.rank + 1);
        snprintf(r1, sizeof r1, s->rank >= 0 ? "rank %d" : "miss", s->rank + 1);
        app_msg(a, "edited history (%d edit%s): target %s, was %s; %s shows the diff", s->n_edits, s->n_edits == 1 ? "" : "s",
                r1, r0, k);
    }
    return 0;
}

/* ---- export ---------------------------------------------------------------- */

static int covers(const app *a, int split, int row)
{
    const hist_edits *e = &a->edit;
    return e->user >= 0 && e->split == split && e->row == row && (e->n_log || e->edited.valid);
}

static void json_item(cJSON *o, const sidr_item *it)
{
    cJSON_AddStringToObject(o, "item_id", it->id);
    if (it->sid) cJSON_AddStringToObject(o, "sid", it->sid);
    else cJSON_AddNullToObject(o, "sid");
    cJSON_AddStringToObject(o, "title", it->title);
}

void run_sum_json(const app *a, cJSON *root, const char *key, const run_sum *s, const run_sum *other, int edited,
                  const sidr_item *target)
{
    if (!s->valid) { cJSON_AddNullToObject(root, key); return; }
    const sidr_dataset *ds = &a->ss.ds;
    cJSON *o = cJSON_AddObjectToObject(root, key);
    cJSON_AddNumberToObject(o, "n_edits", s->n_edits);
    cJSON_AddBoolToObject(o, "think", s->set.think);
    cJSON_AddNumberToObject(o, "beams", s->set.beams);
    if (s->n_hist) {
        cJSON *h = cJSON_AddArrayToObject(o, "history");
        for (int i = 0; i < s->n_hist; i++) cJSON_AddItemToArray(h, cJSON_CreateString(ds->items[s->hist[i]].sid));
    }
    if (s->reasoning) cJSON_AddStringToObject(o, "reasoning", s->reasoning);
    else cJSON_AddNullToObject(o, "reasoning");
    cJSON_AddNumberToObject(o, "reasoning_tokens", s->n_reasoning_tokens);
    cJSON *res = cJSON_AddArrayToObject(o, "results");
    for (int i = 0; i < s->n_top; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "rank", i + 1);
        cJSON_AddStringToObject(x, "sid", s->sid[i]);
        cJSON_AddNumberToObject(x, "score", s->score[i]);
        cJSON_AddBoolToObject(x, "target", target->sid && !strcmp(s->sid[i], target->sid));
        if (s->item[i] >= 0) cJSON_AddStringToObject(x, "title", ds->items[s->item[i]].title);
        if (other && other->valid) {
            char mv[16];
            edit_rank_move(edited ? other : s, edited ? s : other, i, edited, mv, sizeof mv);
            cJSON_AddStringToObject(x, "move", mv);
        }
        cJSON_AddItemToArray(res, x);
    }
    if (s->rank >= 0) cJSON_AddNumberToObject(o, "hit_rank", s->rank + 1);
    else cJSON_AddNullToObject(o, "hit_rank");
}

void edit_export_json(app *a, cJSON *root, int split, int row)
{
    if (!covers(a, split, row)) return;
    const hist_edits *e = &a->edit;
    const sidr_dataset *ds = &a->ss.ds;
    cJSON *o = cJSON_AddObjectToObject(root, "edits");
    /* which history the session's "run" used */
    cJSON_AddStringToObject(o, "run_uses", e->run_edits ? "edited" : "original");
    cJSON *list = cJSON_AddArrayToObject(o, "list");
    static const char *const ops[] = { "delete", "move", "insert" };
    for (int k = 0; k < e->n_log; k++) {
        const hist_edit *x = &e->log[k];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "op", ops[x->kind]);
        cJSON_AddNumberToObject(j, "position", x->pos + 1);
        if (x->kind == EDIT_MOVE) cJSON_AddNumberToObject(j, "to", x->to + 1);
        json_item(j, &ds->items[x->item]);
        cJSON_AddItemToArray(list, j);
    }
    cJSON *h = cJSON_AddArrayToObject(o, "history");
    for (int i = 0; i < e->n; i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "position", i + 1);
        json_item(j, &ds->items[e->items[i]]);
        cJSON_AddStringToObject(j, "mark", e->mark[i] == '+' ? "inserted" : e->mark[i] == '~' ? "moved" : "");
        cJSON_AddItemToArray(h, j);
    }
    const sidr_item *target = &ds->items[edit_row(a)->target];
    run_sum_json(a, o, "original_run", &e->orig, &e->edited, 0, target);
    run_sum_json(a, o, "edited_run", &e->edited, &e->orig, 1, target);
}

void edit_export_md(app *a, FILE *f, int split, int row)
{
    if (!covers(a, split, row)) return;
    const hist_edits *e = &a->edit;
    const sidr_dataset *ds = &a->ss.ds;
    fprintf(f, "## Counterfactual edits (%d)\n\n", e->n_log);
    for (int k = 0; k < e->n_log; k++) {
        char d[300];
        edit_describe(a, k, d, sizeof d);
        fprintf(f, "%d. %s\n", k + 1, d);
    }
    fputs(e->n_log ? "\n| # | SID | title | |\n|---|---|---|---|\n" : "(all undone)\n\n| # | SID | title | |\n|---|---|---|---|\n", f);
    for (int i = 0; i < e->n; i++) {
        const sidr_item *it = &ds->items[e->items[i]];
        fprintf(f, "| %d | `%s` | ", i + 1, it->sid ? it->sid : "");
        export_md_cell(f, it->title);
        fprintf(f, " | %s |\n", e->mark[i] == '+' ? "inserted" : e->mark[i] == '~' ? "moved" : "");
    }
    fputc('\n', f);
    const run_sum *s = &e->edited;
    if (!s->valid) { fputs("The edited history has not been run.\n\n", f); return; }
    fprintf(f, "### Edited run (%d edit%s): top %d\n\n| rank | SID | score | title | move |\n|---|---|---|---|---|\n", s->n_edits,
            s->n_edits == 1 ? "" : "s", s->n_top);
    for (int i = 0; i < s->n_top; i++) {
        char mv[16] = "";
        if (e->orig.valid) edit_rank_move(&e->orig, s, i, 1, mv, sizeof mv);
        fprintf(f, "| %d | `%s` | %.4f | ", i + 1, s->sid[i], s->score[i]);
        if (s->item[i] >= 0) export_md_cell(f, ds->items[s->item[i]].title);
        fprintf(f, " | %s |\n", mv);
    }
    char r0[32] = "not run", r1[32];
    if (e->orig.valid) snprintf(r0, sizeof r0, e->orig.rank >= 0 ? "rank %d" : "miss", e->orig.rank + 1);
    snprintf(r1, sizeof r1, s->rank >= 0 ? "rank %d" : "miss", s->rank + 1);
    fprintf(f, "\n**Target:** original %s, edited %s.\n\n", r0, r1);
}

/* ---- rank moves ------------------------------------------------------------ */

int edit_rank_of(const run_sum *s, const char *sid)
{
    for (int i = 0; i < s->n_top; i++)
        if (!strcmp(s->sid[i], sid)) return i;
    return -1;
}

void edit_rank_move(const run_sum *orig, const run_sum *edited, int i, int on_edited, char *buf, size_t cap)
{
    if (on_edited) {
        int was = edit_rank_of(orig, edited->sid[i]);
        if (was < 0) snprintf(buf, cap, "new");
        else if (was == i) snprintf(buf, cap, "=");
        else snprintf(buf, cap, "%+d", was - i);
    } else {
        int now = edit_rank_of(edited, orig->sid[i]);
        if (now < 0) snprintf(buf, cap, "gone");
        else if (now == i) snprintf(buf, cap, "=");
        else snprintf(buf, cap, "%+d", i - now);
    }
}

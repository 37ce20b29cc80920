/* The explorer's core: session, users, the streamed run, selection, layout,
 * and the dispatch of keys through the one key table. */
#include "app.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- small helpers --------------------------------------------------------- */

int app_style_level(int level)
{
    return ST_LEVEL(level);
}

void sid_token_str(int level, int code, char *buf, size_t cap)
{
    snprintf(buf, cap, "<%c_%d>", 'a' + level, code);
}

void sid_codes_str(const int *codes, int from, int n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (int l = from; l < n && o + 1 < cap; l++) {
        o += snprintf(buf + o, cap - o, "<%c_%d>", 'a' + l, codes[l]);
        if (o >= cap) o = cap - 1;
    }
}

void tline_sid(tline *l, const char *sid, int width, int cell_flags)
{
    int used = 0;
    const char *p = sid;
    while (p && *p == '<') {
        const char *e = strchr(p, '>');
        if (!e) break;
        int level = p[1] >= 'a' && p[1] <= 'z' ? p[1] - 'a' : 0;
        tline_addn(l, ST_LEVEL(level), 0, cell_flags << SPAN_CELL_SHIFT, p, (size_t)(e - p + 1));
        used += (int)(e - p + 1);
        p = e + 1;
    }
    if (p && *p) { tline_add(l, ST_NORMAL, 0, 0, "%s", p); used += text_width(p, strlen(p)); }
    if (width > used) tline_add(l, ST_NORMAL, width - used, 0, "%s", "");
}

int app_prefix_node(const app *a, const int *codes, int n)
{
    int node = 0;
    for (int l = 0; l < n; l++) {
        const int *tok = a->cb.token[l];
        if (!tok || codes[l] < 0 || codes[l] >= a->cb.K[l] || tok[codes[l]] < 0) return -1;
        node = sidr_trie_child(&a->ss.cat.trie, node, tok[codes[l]]);
        if (node < 0) return -1;
    }
    return node;
}

/* A token's text made visible: quotes, \n and \t escaped, stray bytes as \xNN. */
void app_token_display(app *a, int id, char *buf, size_t cap)
{
    cmp_token_display(a->ss.tok, id, buf, cap);
}

void app_msg(app *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_err = 0;
    a->dirty = 1;
}

void app_err(app *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_err = 1;
    a->dirty = 1;
}

/* ---- users ----------------------------------------------------------------- */

static void build_last_rows(app *a)
{
    const sidr_dataset *ds = &a->ss.ds;
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        a->last_row[s] = xmalloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof(int));
        for (int u = 0; u < ds->n_users; u++) a->last_row[s][u] = -1;
        const sidr_split *sp = &ds->split[s];
        for (int r = 0; r < sp->n; r++) a->last_row[s][sp->rows[r].user] = r;
        a->outcome[s] = xmalloc((size_t)(sp->n ? sp->n : 1) * sizeof(int));
        for (int r = 0; r < sp->n; r++) a->outcome[s][r] = -2;
    }
}

int app_outcome(const app *a, int split, int row)
{
    if (split < 0 || split >= SIDR_SPLIT_COUNT || row < 0 || row >= a->ss.ds.split[split].n) return -2;
    return a->outcome[split][row];
}

void app_refilter(app *a)
{
    int ks = a->views[PANE_USERS].sel - 1;
    int keep_user = a->n_entries && ks >= 0 && ks < a->n_entries ? a->entries[ks].user : -1;
    a->n_entries = 0;
    if (a->evf.on) { /* the eval-diff rows replace the split and outcome filters */
        for (int i = 0; i < a->evf.n; i++) {
            const sidr_sample *r = sidr_dataset_row(&a->ss.ds, (sidr_split_id)a->evf.rows[i].split, a->evf.rows[i].row);
            if (r) a->entries[a->n_entries++] = (user_entry){ r->user, a->evf.rows[i].split, a->evf.rows[i].row };
        }
        keep_user = -2;
    }
    const sidr_split_id order[3] = { SIDR_SPLIT_TEST, SIDR_SPLIT_VALID, SIDR_SPLIT_TRAIN };
    for (int u = 0; u < a->ss.ds.n_users && !a->evf.on; u++) {
        int split = -1, row = -1;
        if (a->f_split >= 0) {
            if (a->last_row[a->f_split][u] >= 0) { split = a->f_split; row = a->last_row[a->f_split][u]; }
        } else {
            for (int k = 0; k < 3 && split < 0; k++)
                if (a->last_row[order[k]][u] >= 0) { split = order[k]; row = a->last_row[order[k]][u]; }
        }
        if (split < 0) continue;
        int o = app_outcome(a, split, row);
        if (a->f_outcome == 1 && o < 0) continue;
        if (a->f_outcome == 2 && o != -1) continue;
        if (a->f_outcome == 3 && o != -2) continue;
        a->entries[a->n_entries++] = (user_entry){ u, split, row };
    }
    view *v = &a->views[PANE_USERS];
    v->sel = 1;
    for (int i = 0; i < a->n_entries; i++)
        if (a->entries[i].user == keep_user) { v->sel = i + 1; break; }
    a->dirty = 1;
}

const sidr_sample *app_cur_sample(const app *a)
{
    if (a->cur_user < 0) return NULL;
    return sidr_dataset_row(&a->ss.ds, (sidr_split_id)a->cur_split, a->cur_row);
}

static void set_current(app *a, int user, int split, int row)
{
    a->cur_user = user;
    a->cur_split = split;
    a->cur_row = row;
    edit_follow_row(a);
    view *h = &a->views[PANE_HISTORY];
    h->sel = h->top = 0;
    list_set_sel(a, h, 0);
    if (h->ops->selected) h->ops->selected(a, h);
    a->dirty = 1;
}

void app_open_entry(app *a, int entry, int run)
{
    if (entry < 0 || entry >= a->n_entries) return;
    const user_entry *e = &a->entries[entry];
    set_current(a, e->user, e->split, e->row);
    if (run) app_start_run(a);
    else app_msg(a, "user %s: %s row %d", a->ss.ds.users[e->user].id, sidr_split_name((sidr_split_id)e->split), e->row);
}

sidr_status app_set_user(app *a, const char *user_id)
{
    sidr_split_id split;
    int row;
    sidr_status s = a->f_split >= 0 ? SIDR_ERR_MISSING : session_user_row(&a->ss, user_id, &split, &row);
    if (a->f_split >= 0) {
        int u = sidr_dataset_user(&a->ss.ds, user_id);
        if (u < 0) return sidr_fail(SIDR_ERR_MISSING, "unknown user '%s'", user_id);
        if (a->last_row[a->f_split][u] < 0) {
            /* fall back to the user's default row and widen the filter */
            a->f_split = -1;
            app_refilter(a);
            s = session_user_row(&a->ss, user_id, &split, &row);
        } else {
            split = (sidr_split_id)a->f_split;
            row = a->last_row[a->f_split][u];
            s = SIDR_OK;
        }
    }
    if (s) return s;
    int u = sidr_dataset_user(&a->ss.ds, user_id);
    set_current(a, u, split, row);
    view *v = &a->views[PANE_USERS];
    for (int i = 0; i < a->n_entries; i++)
        if (a->entries[i].user == u) { v->sel = i + 1; break; }
    return SIDR_OK;
}

void app_open_row(app *a, int split, int row)
{
    const sidr_sample *r = sidr_dataset_row(&a->ss.ds, (sidr_split_id)split, row);
    if (!r) return;
    set_current(a, r->user, split, row);
    view *v = &a->views[PANE_USERS];
    for (int i = 0; i < a->n_entries; i++)
        if (a->entries[i].user == r->user) { v->sel = i + 1; break; }
}

/* ---- the run --------------------------------------------------------------- */

static void free_snaps(app *a)
{
    for (int i = 0; i < a->n_snaps; i++) free(a->snaps[i].beams);
    free(a->snaps);
    a->snaps = NULL;
    a->n_snaps = 0;
}

static void reset_trace(app *a)
{
    a->trace_len = 0;
    a->n_tok = 0;
    a->n_mentions = 0;
    if (a->tok_off) a->tok_off[0] = 0;
}

static void release_run(app *a)
{
    if (a->run_live) rec_free(&a->run);
    a->run_live = 0;
    why_release(a);
}

/* Panes on screen in the current layout: Alignment takes the place of
 * Reasoning, Beam and Codebook. */
static int pane_shown(const app *a, int p)
{
    if (p == PANE_DIFF) return diff_shown(a);
    if (p == PANE_COMPARE) return compare_shown(a);
    if (diff_shown(a) || compare_shown(a)) return 0;
    if (p == PANE_ALIGN) return a->al.shown;
    if (p == PANE_REASONING || p == PANE_BEAM || p == PANE_CODEBOOK) return !a->al.shown;
    return 1;
}

int app_pane_item(app *a, int pane)
{
    if (pane < 0 || pane >= PANE_COUNT) return -1;
    view *v = &a->views[pane];
    return v->ops->item ? v->ops->item(a, v) : -1;
}

void app_focus(app *a, int p)
{
    if (p < 0 || p >= PANE_COUNT) return;
    if (p != PANE_DIFF) a->edit.diff_shown = 0;
    if (p != PANE_COMPARE) a->cmp.shown = 0;
    if (p == PANE_ALIGN) {
        int item = a->focus != PANE_ALIGN ? app_pane_item(a, a->focus) : -1;
        a->al.shown = 1;
        if (item >= 0 && item != a->al.item) al_set_item(a, item);
        if (a->al.s_state == AL_IDLE) al_start_sample(a);
    } else if (p == PANE_REASONING || p == PANE_BEAM || p == PANE_CODEBOOK) a->al.shown = 0;
    a->focus = p;
    view *v = &a->views[p];
    if (v->ops->selected) v->ops->selected(a, v);
    a->dirty = 1;
}

void app_cancel_run(app *a, const char *why)
{
    if (a->rstate != RUN_ACTIVE) return;
    a->rstate = RUN_CANCELLED;
    a->paused = 0;
    a->edit.chain = 0; /* the edited run no longer follows */
    a->run_t1 = now_seconds();
    static const char *const phase_names[] = { "before the prefill", "during the reasoning", "at the bridge",
                                                "during the beam search", "at the end" };
    app_msg(a, "run %s %s (%d reasoning tokens, %d beam steps); r runs again", why ? why : "cancelled",
            phase_names[a->run.phase], a->run.n_gen, a->n_snaps);
}

void app_start_run(app *a)
{
    const sidr_sample *row = app_cur_sample(a);
    if (!row) { app_err(a, "no user selected: pick one in Users (Enter) or use :user ID"); return; }
    release_run(a);
    free_snaps(a);
    reset_trace(a);
    if (a->al.shown) { /* the run streams into Reasoning and Beam */
        if (a->focus == PANE_ALIGN) app_focus(a, PANE_REASONING);
        a->al.shown = 0;
    }
    a->rstate = RUN_NONE;
    a->rank = -2;
    a->run_error[0] = 0;
    const char *hist[SIDR_MAX_HISTORY];
    int nh = edit_run_history(a, hist);
    if (nh < 0) {
        a->rstate = RUN_FAILED;
        snprintf(a->run_error, sizeof a->run_error, "%s", sidr_last_error());
        app_err(a, "cannot run: %s", a->run_error);
        return;
    }
    sidr_status s = rec_begin(&a->run, &a->ss.model, a->ss.tok, &a->ss.cat, &a->set, hist, nh);
    if (s) {
        a->rstate = RUN_FAILED;
        snprintf(a->run_error, sizeof a->run_error, "%s", sidr_last_error());
        app_err(a, "cannot run: %s", a->run_error);
        return;
    }
    a->run_live = 1;
    cmp_run_begins(a, hist, nh);
    a->rstate = RUN_ACTIVE;
    a->paused = 0;
    a->steps = 0;
    a->run_user = a->cur_user;
    a->run_split = a->cur_split;
    a->run_row = a->cur_row;
    a->run_t0 = now_seconds();
    a->run_t1 = 0;
    view *rv = &a->views[PANE_REASONING];
    rv->follow = 1;
    rv->sel = -1;
    rv->top = 0;
    view *bv = &a->views[PANE_BEAM];
    bv->follow = 1;
    bv->sel = 2;
    bv->top = 0;
    bv->col = 0;
    const char *which = a->edit.chain ? "the original history first, then the edited one, "
                        : a->edit.run_edits ? "the edited history, " : "";
    app_msg(a, "running %sfor user %s (%s); Esc cancels, p pauses, s steps", which, a->ss.ds.users[a->run_user].id,
            a->set.think ? "thinking" : "no thinking");
}

static void absorb_tokens(app *a)
{
    const rec_run *r = &a->run;
    while (a->n_tok < r->n_gen) {
        int i = a->n_tok;
        if (i + 2 > a->tok_cap) {
            a->tok_cap = a->tok_cap * 2 + 64;
            a->tok_off = xrealloc(a->tok_off, (size_t)a->tok_cap * sizeof(int));
            a->tok_mention = xrealloc(a->tok_mention, (size_t)a->tok_cap * sizeof(int));
        }
        int id = r->gen[i].id;
        size_t len = 0;
        const char *b = sidr_tokenizer_token_bytes(a->ss.tok, id, &len);
        if (!b) { b = "\xEF\xBF\xBD"; len = 3; }
        if (a->trace_len + len + 1 > a->trace_cap) {
            a->trace_cap = (a->trace_len + len + 1) * 2 + 256;
            a->trace = xrealloc(a->trace, a->trace_cap);
        }
        a->tok_off[i] = (int)a->trace_len;
        memcpy(a->trace + a->trace_len, b, len);
        a->trace_len += len;
        a->trace[a->trace_len] = 0;
        a->tok_off[i + 1] = (int)a->trace_len;
        a->tok_mention[i] = -1;
        int level = id >= 0 && id < a->n_vocab ? a->tok_level[id] : -1;
        if (level >= 0 && level < UI_MAX_LEVELS) {
            mention *prev = i > 0 && a->tok_mention[i - 1] >= 0 ? &a->mentions[a->tok_mention[i - 1]] : NULL;
            if (prev && prev->first_tok + prev->n_tok == i && prev->from_level + prev->n_tok == level) {
                prev->codes[level] = a->tok_code[id];
                prev->n_tok++;
                a->tok_mention[i] = (int)(prev - a->mentions);
            } else {
                if (a->n_mentions == a->cap_mentions)
                    a->mentions = xrealloc(a->mentions, (size_t)(a->cap_mentions = a->cap_mentions * 2 + 16) * sizeof *a->mentions);
                mention *m = &a->mentions[a->n_mentions];
                memset(m, 0, sizeof *m);
                m->first_tok = i;
                m->n_tok = 1;
                m->from_level = level;
                m->codes[level] = a->tok_code[id];
                a->tok_mention[i] = a->n_mentions++;
            }
        }
        a->n_tok++;
    }
}

static void snapshot_beam(app *a)
{
    const sidr_beam_search *bs = &a->run.bs;
    a->snaps = xrealloc(a->snaps, (size_t)(a->n_snaps + 1) * sizeof *a->snaps);
    beam_snap *s = &a->snaps[a->n_snaps++];
    s->step = bs->step - 1;
    s->allowed = bs->last_allowed;
    s->kept = bs->last_kept;
    const sidr_beam *src = bs->done ? bs->hyps : bs->live;
    s->n = bs->done ? bs->n_hyps : bs->n_live;
    s->beams = xmalloc((size_t)(s->n ? s->n : 1) * sizeof *s->beams);
    memcpy(s->beams, src, (size_t)s->n * sizeof *s->beams);
}

static void finish_run(app *a)
{
    a->rstate = RUN_DONE;
    a->run_t1 = now_seconds();
    const sidr_sample *row = sidr_dataset_row(&a->ss.ds, (sidr_split_id)a->run_split, a->run_row);
    const sidr_item *t = row ? &a->ss.ds.items[row->target] : NULL;
    a->rank = t && t->sid ? rec_rank(&a->run, t->sid) : -1;
    /* the Users pane's hit/miss is the dataset history's */
    if (row && !a->edit.run_edits) a->outcome[a->run_split][a->run_row] = a->rank >= 0 ? a->rank : -1;
    if (a->rank >= 0) app_msg(a, "hit: the target is beam %d of %d", a->rank + 1, a->run.bs.n_hyps);
    else app_msg(a, "miss: the target %s is not among the %d beams", t && t->sid ? t->sid : "(no SID)", a->run.bs.n_hyps);
    view *bv = &a->views[PANE_BEAM];
    bv->sel = 2;
    bv->top = 0;
    bv->follow = 1;
    if (a->focus == PANE_BEAM && bv->ops->selected) bv->ops->selected(a, bv);
    if (edit_run_done(a)) app_start_run(a); /* the edited run after the original */
    else cmp_run_done(a);                    /* model B on the same history next */
}

static void run_step(app *a)
{
    rec_phase was = a->run.phase;
    double t0 = now_seconds();
    sidr_status s = rec_step(&a->run);
    if (a->bench_on) bench_step(a, (now_seconds() - t0) * 1e3);
    a->steps++;
    a->dirty = 1;
    if (s) {
        a->rstate = RUN_FAILED;
        a->run_t1 = now_seconds();
        snprintf(a->run_error, sizeof a->run_error, "%s", sidr_last_error());
        app_err(a, "run failed: %s", a->run_error);
        return;
    }
    if (was == REC_REASONING) absorb_tokens(a);
    if (was == REC_BEAM) snapshot_beam(a);
    if (a->run.phase == REC_DONE) finish_run(a);
}

/* Pacing is for an audience watching a terminal: it spaces the reasoning
 * tokens and beam levels (not the prefill); headless runs (scripts, screen
 * tests) step as before. */
int app_pace_wait_ms(const app *a)
{
    if (!a->pace || a->headless || a->rstate != RUN_ACTIVE || a->paused) return 0;
    if (a->run.phase != REC_REASONING && a->run.phase != REC_BEAM) return 0;
    double due = a->paced_at + 1.0 / a->pace, now = now_seconds();
    return due > now ? (int)((due - now) * 1e3) + 1 : 0;
}

int app_tick(app *a)
{
    if (tour_active(a) && tour_tick(a)) return 1;
    if (a->rstate == RUN_ACTIVE && !a->paused) {
        if (app_pace_wait_ms(a) > 0) return 0;
        if (a->pace) a->paced_at = now_seconds();
        run_step(a);
        /* codebook work interleaves with the engine, a small chunk per step */
        if (cb_busy(a) == 1) cb_work(a);
        return 1;
    }
    if (cmp_busy(a)) return cmp_work(a);
    if (cb_busy(a) == 1) return cb_work(a);
    if (why_busy(a)) return why_work(a);
    if (al_busy(a)) return al_work(a);
    return cb_work(a);
}

void app_settle(app *a)
{
    cb_settle(a);
    al_settle(a);
}

/* ---- the codebook selection ------------------------------------------------ */

void app_select_sid(app *a, const int *codes, int n, int from, int level, int push)
{
    if (n <= 0 || level < from || level >= n || n > UI_MAX_LEVELS) return;
    cb_sel s = { 1, level, from, n, { 0 } };
    memcpy(s.codes, codes, (size_t)n * sizeof(int));
    if (push && a->sel.valid && memcmp(&s, &a->sel, sizeof s)) {
        if (a->n_back == 32) { memmove(a->back, a->back + 1, 31 * sizeof *a->back); a->n_back--; }
        a->back[a->n_back++] = a->sel;
    }
    a->sel = s;
    view *cv = &a->views[PANE_CODEBOOK];
    cv->sel = cv->top = 0;
    list_set_sel(a, cv, 0);
    int lv = level, code = codes[level];
    int tok = a->cb.token[lv] && code >= 0 && code < a->cb.K[lv] ? a->cb.token[lv][code] : -1;
    cb_request_neighbours(a, tok);
    a->dirty = 1;
}

void app_select_item(app *a, int item, int level)
{
    const sidr_item *it = &a->ss.ds.items[item];
    if (!it->sid || it->n_levels <= 0) return;
    if (level >= it->n_levels) level = it->n_levels - 1;
    if (level < 0) level = 0;
    app_select_sid(a, it->code, it->n_levels, 0, level, 0);
}

void app_sel_back(app *a)
{
    if (!a->n_back) { app_msg(a, "no earlier codebook token"); return; }
    cb_sel s = a->back[--a->n_back];
    app_select_sid(a, s.codes, s.n, s.from, s.level, 0);
}

/* ---- open / close ---------------------------------------------------------- */

static const char *base_name(const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    const char *b = p + n;
    while (b > p && b[-1] != '/') b--;
    static char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)(p + n - b), b);
    return buf;
}

static void token_maps(app *a)
{
    int V = a->ss.model.cfg.vocab_size, tv = sidr_tokenizer_n_vocab(a->ss.tok);
    a->n_vocab = V > tv ? V : tv;
    a->tok_level = xmalloc((size_t)a->n_vocab);
    a->tok_code = xmalloc((size_t)a->n_vocab * sizeof(int));
    memset(a->tok_level, -1, (size_t)a->n_vocab);
    int n = sidr_tokenizer_n_added(a->ss.tok);
    for (int i = 0; i < n; i++) {
        int id, special;
        const char *t = sidr_tokenizer_added(a->ss.tok, i, &id, &special);
        if (!t || id < 0 || id >= a->n_vocab || t[0] != '<' || t[1] < 'a' || t[1] > 'z' || t[2] != '_') continue;
        char *end;
        long code = strtol(t + 3, &end, 10);
        if (end == t + 3 || strcmp(end, ">") || code < 0 || code > 1000000) continue;
        a->tok_level[id] = (signed char)(t[1] - 'a');
        a->tok_code[id] = (int)code;
    }
}

sidr_status app_open(app *a, const ui_config *cfg, const char *model_dir, const char *data_dir, int headless, int w, int h)
{
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    a->km = cfg->km;
    a->set = cfg->set;
    a->headless = headless;
    a->cur_user = -1;
    a->rank = -2;
    a->f_split = -1;
    a->search_dir = 1;
    sidr_status s = session_open(&a->ss, model_dir, data_dir, NULL);
    if (s) return s;
    if (!a->ss.ds.n_users) {
        session_close(&a->ss);
        return sidr_fail(SIDR_ERR_MISSING, "%s: the dataset has no users with a history (no rows in train, valid or test)", data_dir);
    }
    if (a->ss.ds.n_warnings)
        app_msg(a, "dataset: %s%s", a->ss.ds.warnings[0],
                a->ss.ds.n_warnings > 1 ? " (more warnings on stderr)" : "");
    snprintf(a->model_label, sizeof a->model_label, "%s", base_name(model_dir));
    snprintf(a->data_label, sizeof a->data_label, "%s", a->ss.ds.name && *a->ss.ds.name ? a->ss.ds.name : base_name(data_dir));
    token_maps(a);
    a->sid_width = 8;
    for (int i = 0; i < a->ss.ds.n_items; i++)
        if (a->ss.ds.items[i].sid) {
            int w2 = (int)strlen(a->ss.ds.items[i].sid);
            if (w2 > a->sid_width) a->sid_width = w2;
        }
    build_last_rows(a);
    a->entries = xmalloc((size_t)a->ss.ds.n_users * sizeof *a->entries);
    const view_ops *ops[PANE_COUNT] = { &view_users_ops, &view_history_ops, &view_reasoning_ops, &view_beam_ops,
                                        &view_codebook_ops, &view_align_ops, &view_diff_ops, &view_compare_ops };
    for (int i = 0; i < PANE_COUNT; i++) {
        a->views[i].ops = ops[i];
        a->views[i].id = i;
        a->views[i].sel = 0;
    }
    a->views[PANE_REASONING].sel = -1;
    a->views[PANE_REASONING].follow = 1;
    a->lay_users = 225;
    a->lay_hist = 320;
    a->lay_reas = 300;
    a->lay_beam = 560;
    scr_setup(&a->scr, w, h);
    a->scr.ascii = cfg->ascii > 0;
    cb_init(a);
    al_init(a);
    edit_init(a);
    a->cmp.user = -1;
    a->cmp.div = -1;
    app_refilter(a);
    for (int i = 0; i < PANE_COUNT; i++)
        if (a->views[i].ops->open) a->views[i].ops->open(a, &a->views[i]);
    if (a->n_entries) app_open_entry(a, 0, 0);
    a->msg[0] = 0;
    cmdline_init(a);
    a->dirty = 1;
    return SIDR_OK;
}

void app_close(app *a)
{
    cmdline_shutdown(a);
    release_run(a);
    free_snaps(a);
    free(a->trace);
    free(a->tok_off);
    free(a->tok_mention);
    free(a->mentions);
    cb_free(a);
    al_free(a);
    edit_free(a);
    a->cmp.shown = 0;
    cmp_unload(a);
    evf_off(a);
    codebook_free_cache();
    align_free_cache();
    diff_free_cache();
    compare_free_cache();
    help_free_cache();
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        free(a->last_row[s]);
        free(a->outcome[s]);
    }
    free(a->entries);
    free(a->tok_level);
    free(a->tok_code);
    free(a->bench.key_ms);
    free(a->bench.step_ms);
    free(a->bench.key_code);
    scr_free(&a->scr);
    session_close(&a->ss);
}

/* ---- layout ---------------------------------------------------------------- */

static int clampi(int v, int lo, int hi)
{
    if (hi < lo) hi = lo;
    return v < lo ? lo : v > hi ? hi : v;
}

void app_layout(app *a)
{
    int W = a->scr.w, PH = a->scr.h - 2;
    for (int i = 0; i < PANE_COUNT; i++) a->views[i].r = (ui_rect){ 0, 0, 0, 0 };
    if (a->zoom || diff_shown(a) || compare_shown(a)) {
        a->views[diff_shown(a) ? PANE_DIFF : compare_shown(a) ? PANE_COMPARE : a->focus].r = (ui_rect){ 0, 0, PH, W };
        return;
    }
    int uw = clampi(W * a->lay_users / 1000, 12, W / 2);
    if (uw > 32 && a->lay_users == 225) uw = 32;
    int rx = uw + 1, rw = W - rx;
    int hh = clampi(PH * a->lay_hist / 1000, 3, PH - 6);
    /* History takes no more rows than it has lines (the rest goes to Reasoning) */
    int hl = a->views[PANE_HISTORY].ops->n_lines(a, &a->views[PANE_HISTORY]) + 1;
    if (hh > hl && hl >= 3) hh = hl;
    int rh = clampi(PH * a->lay_reas / 1000, 3, PH - hh - 3);
    int bh = PH - hh - rh;
    int bw = clampi(rw * a->lay_beam / 1000, 12, rw - 13);
    a->views[PANE_USERS].r = (ui_rect){ 0, 0, PH, uw };
    a->views[PANE_HISTORY].r = (ui_rect){ 0, rx, hh, rw };
    a->views[PANE_REASONING].r = (ui_rect){ hh, rx, rh, rw };
    a->views[PANE_BEAM].r = (ui_rect){ hh + rh, rx, bh, bw };
    a->views[PANE_CODEBOOK].r = (ui_rect){ hh + rh, rx + bw + 1, bh, rw - bw - 1 };
    if (a->al.shown) {
        /* Alignment needs the width: it takes the rows under History */
        a->views[PANE_REASONING].r = a->views[PANE_BEAM].r = a->views[PANE_CODEBOOK].r = (ui_rect){ 0, 0, 0, 0 };
        a->views[PANE_ALIGN].r = (ui_rect){ hh, rx, PH - hh, rw };
    }
}

static void resize_pane(app *a, int delta)
{
    int PH = a->scr.h - 2 > 1 ? a->scr.h - 2 : 1, W = a->scr.w > 1 ? a->scr.w : 1;
    int row = (1000 + PH - 1) / PH, col = (2000 + W - 1) / W;
    switch (a->focus) {
    case PANE_USERS: a->lay_users = clampi(a->lay_users + delta * col, 100, 500); break;
    case PANE_HISTORY: a->lay_hist = clampi(a->lay_hist + delta * row, 100, 800); break;
    case PANE_REASONING: a->lay_reas = clampi(a->lay_reas + delta * row, 100, 800); break;
    case PANE_BEAM: a->lay_beam = clampi(a->lay_beam + delta * col, 150, 850); break;
    case PANE_CODEBOOK: a->lay_beam = clampi(a->lay_beam - delta * col, 150, 850); break;
    case PANE_ALIGN: a->lay_hist = clampi(a->lay_hist - delta * row, 100, 800); break;
    }
    if (a->lay_hist + a->lay_reas > 850) {
        if (a->focus == PANE_HISTORY) a->lay_reas = 850 - a->lay_hist;
        else a->lay_hist = 850 - a->lay_reas;
    }
    a->dirty = 1;
}

void app_resize(app *a, int w, int h)
{
    scr_resize(&a->scr, w, h);
    a->dirty = 1;
}

/* ---- drawing --------------------------------------------------------------- */

void status_draw(app *a, int y);
void msgline_draw(app *a, int y);
void help_draw(app *a, ui_rect r);
int help_key(app *a, ui_action act);

static void draw_title(app *a, view *v)
{
    ui_rect r = v->r;
    int st = a->focus == v->id ? ST_TITLE_FOCUS : ST_TITLE;
    scr_fill(&a->scr, (ui_rect){ r.y, r.x, 1, r.w }, st);
    char info[512] = "";
    if (v->ops->title) v->ops->title(a, v, info, sizeof info);
    int x = r.x;
    x += scr_printf(&a->scr, r.y, x, r.w, st, 0, " %d %s ", v->id + 1, v->ops->name);
    if (info[0] && x < r.x + r.w) scr_str(&a->scr, r.y, x, r.x + r.w - x, info, st, 0);
}

static void draw_too_small(app *a)
{
    ui_screen *s = &a->scr;
    char l1[96], l2[96];
    snprintf(l1, sizeof l1, "Terminal too small: %dx%d", s->w, s->h);
    snprintf(l2, sizeof l2, "sidr needs at least %dx%d", UI_MIN_W, UI_MIN_H);
    const char *l3 = "Enlarge the window, or press q to quit.";
    if (s->h < 3) {
        char one[160];
        snprintf(one, sizeof one, "too small %dx%d (need %dx%d); q quits", s->w, s->h, UI_MIN_W, UI_MIN_H);
        scr_str(s, 0, 0, s->w, one, ST_ERROR, 0);
        return;
    }
    const char *lines[3] = { l1, l2, l3 };
    int y0 = (s->h - 3) / 2;
    for (int i = 0; i < 3; i++) {
        int w = text_width(lines[i], strlen(lines[i]));
        int x = w < s->w ? (s->w - w) / 2 : 0;
        scr_str(s, y0 + i, x, s->w, lines[i], i == 0 ? ST_ERROR : ST_NORMAL, 0);
    }
}

void app_draw(app *a)
{
    ui_screen *s = &a->scr;
    scr_clear(s);
    if (s->w < UI_MIN_W || s->h < UI_MIN_H) {
        draw_too_small(a);
        return;
    }
    app_layout(a);
    int PH = s->h - 2;
    if (a->help) {
        help_draw(a, (ui_rect){ 0, 0, PH, s->w });
    } else {
        for (int i = 0; i < PANE_COUNT; i++) {
            view *v = &a->views[i];
            if (v->r.h <= 0 || v->r.w <= 0) continue;
            draw_title(a, v);
            ui_rect c = { v->r.y + 1, v->r.x, v->r.h - 1, v->r.w };
            if (c.h <= 0) continue;
            if (v->ops->draw) v->ops->draw(a, v, c);
            else list_draw(a, v, c);
        }
        if (!a->zoom && !diff_shown(a) && !compare_shown(a)) {
            uint32_t vl = scr_glyph(s, 0x2502, '|');
            view *u = &a->views[PANE_USERS], *b = &a->views[PANE_BEAM];
            scr_vline(s, 0, u->r.x + u->r.w, PH, vl, ST_BORDER);
            scr_vline(s, b->r.y, b->r.x + b->r.w, b->r.h, vl, ST_BORDER);
        }
    }
    status_draw(a, s->h - 2);
    msgline_draw(a, s->h - 1);
}

/* ---- input ----------------------------------------------------------------- */

static void focus_pane(app *a, int p)
{
    app_focus(a, p);
}

/* Tab and BackTab cycle the panes on screen. */
static void focus_step(app *a, int dir)
{
    int p = a->focus;
    for (int k = 0; k < PANE_COUNT; k++) {
        p = (p + dir + PANE_COUNT) % PANE_COUNT;
        if (pane_shown(a, p)) break;
    }
    focus_pane(a, p);
}

static void do_action(app *a, ui_action act)
{
    view *v = &a->views[a->focus];
    if (v->ops->key && v->ops->key(a, v, act)) return;
    if (list_move(a, v, act)) {
        if (v->ops->selected) v->ops->selected(a, v);
        return;
    }
    char hint[32];
    switch (act) {
    case A_FOCUS_NEXT: focus_step(a, 1); break;
    case A_FOCUS_PREV: focus_step(a, -1); break;
    case A_FOCUS_USERS: case A_FOCUS_HISTORY: case A_FOCUS_REASONING: case A_FOCUS_BEAM: case A_FOCUS_CODEBOOK:
    case A_FOCUS_ALIGN:
        focus_pane(a, act - A_FOCUS_USERS);
        break;
    case A_GROW: if (a->zoom) app_msg(a, "zoomed: z shows all panes"); else resize_pane(a, 1); break;
    case A_SHRINK: if (a->zoom) app_msg(a, "zoomed: z shows all panes"); else resize_pane(a, -1); break;
    case A_ZOOM: a->zoom = !a->zoom; break;
    case A_SEARCH: cmdline_open(a, '/'); break;
    case A_SEARCH_NEXT:
    case A_SEARCH_PREV:
        if (!a->search[0]) { app_msg(a, "no search yet: / searches the focused pane"); break; }
        app_search(a, a->search, act == A_SEARCH_NEXT ? a->search_dir : -a->search_dir, 1);
        break;
    case A_COMMAND: cmdline_open(a, ':'); break;
    case A_HELP: a->help = 1; a->help_top = 0; break;
    case A_QUIT: a->quit = 1; break;
    case A_REDRAW: a->dirty = 2; break;
    case A_RUN:
        if (a->cur_user < 0) app_err(a, "no user selected");
        else app_start_run(a);
        break;
    case A_CANCEL:
        if (a->rstate == RUN_ACTIVE) app_cancel_run(a, "cancelled");
        else if (cmp_busy(a)) cmp_cancel(a, "cancelled");
        else if (why_busy(a)) why_cancel(a, "cancelled");
        else if (a->al.s_state == AL_RUNNING) al_cancel_sample(a, "cancelled");
        else if (a->zoom) a->zoom = 0;
        else {
            char q[32];
            keymap_hint(&a->km, SC_GLOBAL, A_QUIT, q, sizeof q);
            app_msg(a, "no run to cancel (%s quits)", q);
        }
        break;
    case A_PAUSE:
        if (a->rstate != RUN_ACTIVE) { app_msg(a, "no run in progress (r runs)"); break; }
        a->paused = !a->paused;
        app_msg(a, a->paused ? "paused: p resumes, s steps, Esc cancels" : "resumed");
        break;
    case A_STEP:
        if (a->rstate != RUN_ACTIVE) { app_msg(a, "no run in progress (r runs)"); break; }
        a->paused = 1;
        run_step(a);
        if (a->rstate == RUN_ACTIVE) app_msg(a, "paused after one step: s steps again, p resumes");
        break;
    case A_WHY: why_start(a); break;
    case A_DIFF: diff_toggle(a); break;
    case A_COMPARE: compare_toggle(a); break;
    case A_THINK:
        a->set.think = !a->set.think;
        app_msg(a, "thinking %s for the next run", a->set.think ? "on" : "off");
        break;
    case A_CODEBOOK:
        if (!a->sel.valid) app_msg(a, "no SID token selected");
        else focus_pane(a, PANE_CODEBOOK);
        break;
    case A_BACK: app_sel_back(a); break;
    case A_NONE: break;
    default:
        keymap_hint(&a->km, SC_GLOBAL, A_HELP, hint, sizeof hint);
        app_msg(a, "not available in %s (%s shows the keys)", v->ops->name, hint);
        break;
    }
}

static void mouse(app *a, const ui_event *ev)
{
    if (a->help) {
        if (ev->button == MB_WHEEL_UP) help_key(a, A_MOVE_UP);
        else if (ev->button == MB_WHEEL_DOWN) help_key(a, A_MOVE_DOWN);
        return;
    }
    for (int i = 0; i < PANE_COUNT; i++) {
        view *v = &a->views[i];
        ui_rect r = v->r;
        if (r.h <= 0 || ev->y < r.y || ev->y >= r.y + r.h || ev->x < r.x || ev->x >= r.x + r.w) continue;
        if (a->focus != i) focus_pane(a, i);
        if (ev->button == MB_WHEEL_UP || ev->button == MB_WHEEL_DOWN) {
            for (int k = 0; k < 3; k++) do_action(a, ev->button == MB_WHEEL_UP ? A_MOVE_UP : A_MOVE_DOWN);
            return;
        }
        int row = ev->y - r.y - 1, col = ev->x - r.x;
        if (row < 0) return;
        if (v->ops->click) v->ops->click(a, v, row, col);
        else {
            int fixed = v->ops->n_fixed ? v->ops->n_fixed(a, v) : 0;
            int line = row < fixed ? row : v->top + row - fixed;
            int n = v->ops->n_lines(a, v);
            if (line < n) {
                int was = v->sel;
                list_set_sel(a, v, line);
                if (v->ops->selected) v->ops->selected(a, v);
                /* a click on the selected user opens it, as Space */
                if (i == PANE_USERS && was == v->sel && v->sel >= 1) app_open_entry(a, v->sel - 1, 0);
            }
        }
        return;
    }
}

void app_event(app *a, const ui_event *ev)
{
    a->dirty = a->dirty ? a->dirty : 1;
    if (ev->key == UK_RESIZE) return; /* the backend resized the screen already */
    if (tour_active(a)) { /* any key takes control back; the key does nothing else */
        tour_stop(a, NULL);
        return;
    }
    ui_screen *s = &a->scr;
    if (s->w < UI_MIN_W || s->h < UI_MIN_H) {
        ui_action act = keymap_lookup(&a->km, SC_GLOBAL, ev->key);
        if (act == A_QUIT || ev->key == UK_CTRL('c')) a->quit = 1;
        else if (act == A_CANCEL) {
            if (a->rstate == RUN_ACTIVE) app_cancel_run(a, "cancelled");
            else al_cancel_sample(a, "cancelled");
        }
        else if (act == A_PAUSE && a->rstate == RUN_ACTIVE) a->paused = !a->paused;
        return;
    }
    if (a->cmd_active) {
        if (ev->key != UK_MOUSE) cmdline_key(a, ev->key);
        goto out;
    }
    if (ev->key == UK_MOUSE) {
        mouse(a, ev);
        goto out;
    }
    if (!a->help) a->msg[0] = 0, a->msg_err = 0;
    int scope = a->help ? SC_HELP : a->views[a->focus].ops->scope;
    ui_action act = keymap_lookup(&a->km, scope, ev->key);
    if (a->help) {
        help_key(a, act);
        goto out;
    }
    if (act == A_NONE) {
        char nm[32], hint[32];
        ui_key_name(ev->key, nm, sizeof nm);
        keymap_hint(&a->km, SC_GLOBAL, A_HELP, hint, sizeof hint);
        app_msg(a, "%s does nothing in %s (%s lists the keys)", nm, a->views[a->focus].ops->name, hint);
        goto out;
    }
    do_action(a, act);
out:
    /* Alignment follows the cursor of History and Users while it is shown */
    if (a->al.shown && a->focus != PANE_ALIGN && !a->help) {
        int item = app_pane_item(a, a->focus);
        if (a->focus != a->al.seen_pane) a->al.seen_pane = a->focus;
        else if (item != a->al.seen_item && item >= 0 && item != a->al.item) al_set_item(a, item);
        a->al.seen_item = item;
    } else a->al.seen_pane = -1;
}

/* ---- search ---------------------------------------------------------------- */

int app_find_item(const app *a, const char *pattern, int from, int dir, int skip_current)
{
    const sidr_dataset *ds = &a->ss.ds;
    int n = ds->n_items;
    if (!n) return -1;
    int start = from >= 0 ? from : dir > 0 ? n - 1 : 0;
    for (int k = skip_current || from < 0 ? 1 : 0; k <= n; k++) {
        int i = ((start + dir * k) % n + n) % n;
        const sidr_item *it = &ds->items[i];
        if (!it->sid) continue;
        if (text_find(it->title, pattern) || text_find(it->sid, pattern) || !strcmp(it->id, pattern)) return i;
    }
    return -1;
}

void app_search(app *a, const char *pattern, int dir, int skip_current)
{
    view *v = &a->views[a->focus];
    if (pattern != a->search) snprintf(a->search, sizeof a->search, "%s", pattern);
    int found = v->ops->search ? v->ops->search(a, v, pattern, dir, skip_current) : list_search(a, v, pattern, dir, skip_current);
    if (!found) app_err(a, "no match for '%s' in %s", pattern, v->ops->name);
    else if (v->ops->selected) v->ops->selected(a, v);
    a->dirty = 1;
}

/* ---- benchmark hooks ------------------------------------------------------- */

void bench_key(app *a, int key, double ms)
{
    ui_bench *b = &a->bench;
    if (b->n_key == b->cap_key) {
        b->cap_key = b->cap_key * 2 + 64;
        b->key_ms = xrealloc(b->key_ms, (size_t)b->cap_key * sizeof(double));
        b->key_code = xrealloc(b->key_code, (size_t)b->cap_key * sizeof(int));
    }
    b->key_code[b->n_key] = key;
    b->key_ms[b->n_key++] = ms;
}

void bench_step(app *a, double ms)
{
    ui_bench *b = &a->bench;
    if (b->n_step == b->cap_step) b->step_ms = xrealloc(b->step_ms, (size_t)(b->cap_step = b->cap_step * 2 + 64) * sizeof(double));
    b->step_ms[b->n_step++] = ms;
}

static int cmp_d(const void *x, const void *y)
{
    double p = *(const double *)x, q = *(const double *)y;
    return p < q ? -1 : p > q;
}

static void pct(FILE *f, const char *name, double *v, int n)
{
    if (!n) { fprintf(f, "\"%s\":{\"n\":0}", name); return; }
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    fprintf(f, "\"%s\":{\"n\":%d,\"median_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}", name, n, v[n / 2],
            v[(int)floor(0.99 * (n - 1))], v[n - 1]);
}

void bench_report(app *a, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs("{\"slowest_keys\":[", f);
    for (int k = 0; k < 5; k++) {
        int worst = -1;
        for (int i = 0; i < a->bench.n_key; i++)
            if (a->bench.key_code[i] >= 0 && (worst < 0 || a->bench.key_ms[i] > a->bench.key_ms[worst])) worst = i;
        if (worst < 0) break;
        char nm[32];
        ui_key_name(a->bench.key_code[worst], nm, sizeof nm);
        fprintf(f, "%s{\"key\":\"%s\",\"ms\":%.3f}", k ? "," : "", nm, a->bench.key_ms[worst]);
        a->bench.key_code[worst] = -1 - a->bench.key_code[worst];
    }
    fputs("],", f);
    pct(f, "key_to_redraw", a->bench.key_ms, a->bench.n_key);
    fputc(',', f);
    pct(f, "engine_step", a->bench.step_ms, a->bench.n_step);
    fprintf(f, "}\n");
    fclose(f);
}

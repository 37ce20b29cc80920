/* A/B: a second model run on the same rows as the first, and the Users
 * pane's eval-diff filter (see compare.h). */
#include "compare.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "eval_pair.h"
#include "util.h"
#include "session.h"

static const char *base_of(const char *p, char *buf, size_t cap)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    const char *b = p + n;
    while (b > p && b[-1] != '/') b--;
    snprintf(buf, cap, "%.*s", (int)(p + n - b), b);
    return buf;
}

void cmp_token_display(const sidr_tokenizer *tok, int id, char *buf, size_t cap)
{
    size_t len = 0, o = 0;
    const char *b = sidr_tokenizer_token_bytes(tok, id, &len);
    if (!b) { snprintf(buf, cap, "#%d", id); return; }
    if (o + 1 < cap) buf[o++] = '"';
    size_t i = 0;
    while (i < len && o + 8 < cap) {
        unsigned char c = (unsigned char)b[i];
        if (c == '\n') { memcpy(buf + o, "\\n", 2); o += 2; i++; continue; }
        if (c == '\t') { memcpy(buf + o, "\\t", 2); o += 2; i++; continue; }
        if (c < 0x20 || c == 0x7F) { o += snprintf(buf + o, cap - o, "\\x%02X", c); i++; continue; }
        if (c < 0x80) { buf[o++] = (char)c; i++; continue; }
        int need = sidr_utf8_lead_len(c);
        uint32_t cp;
        int k = utf8_decode(b + i, len - i, &cp);
        if (need > 1 && k == need && cp != 0xFFFD) { memcpy(buf + o, b + i, (size_t)k); o += k; i += k; }
        else { o += snprintf(buf + o, cap - o, "\\x%02X", c); i++; }
    }
    if (o + 1 < cap) buf[o++] = '"';
    buf[o] = 0;
}

/* ---- model B --------------------------------------------------------------- */

static void release_b_run(cmpdata *c)
{
    if (c->run_live) rec_free(&c->run);
    c->run_live = 0;
}

static void clear_pair(cmpdata *c)
{
    run_sum_free(&c->a);
    run_sum_free(&c->b);
    free(c->ids_a);
    free(c->ids_b);
    c->ids_a = c->ids_b = NULL;
    c->n_a = c->n_b = 0;
    c->div = -1;
}

void cmp_unload(app *a)
{
    cmpdata *c = &a->cmp;
    release_b_run(c);
    clear_pair(c);
    if (c->on) {
        catalog_free(&c->cat);
        sidr_tokenizer_free(c->tok);
        sidr_model_free(&c->model);
    }
    free(c->dir);
    int shown = c->shown;
    memset(c, 0, sizeof *c);
    c->user = -1;
    c->div = -1;
    if (shown) app_focus(a, PANE_HISTORY);
}

/* The catalogue's SID tokens (the codes the dataset uses) that tok lacks:
 * the count, the first few named in ex. */
static int missing_sid_tokens(const app *a, const sidr_tokenizer *tok, int *total, char *ex, size_t cap)
{
    int miss = 0;
    size_t o = 0;
    ex[0] = 0;
    *total = 0;
    for (int l = 0; l < a->cb.levels; l++)
        for (int k = 0; k < a->cb.K[l]; k++) {
            if (!a->cb.usage[l] || !a->cb.usage[l][k]) continue;
            char t[32];
            sid_token_str(l, k, t, sizeof t);
            (*total)++;
            if (sidr_tokenizer_find(tok, t) >= 0) continue;
            if (miss < 3 && o + strlen(t) + 3 < cap) o += (size_t)snprintf(ex + o, cap - o, "%s%s", miss ? ", " : "", t);
            miss++;
        }
    return miss;
}

int cmp_load(app *a, const char *dir)
{
    sidr_model m;
    memset(&m, 0, sizeof m);
    sidr_tokenizer *tok = NULL;
    sidr_catalog cat;
    memset(&cat, 0, sizeof cat);
    if (a->rstate == RUN_ACTIVE) { app_err(a, "a run is in progress: Esc cancels it, then :compare %s", dir); return -1; }
    sidr_status s = session_load_model(&m, dir);
    if (s) { app_err(a, "compare: %s", sidr_last_error()); return -1; }
    char *tp = path_join(dir, "tokenizer.json");
    s = sidr_tokenizer_load(&tok, tp);
    if (!s) s = sidr_tokenizer_check_model(tok, tp, m.cfg.vocab_size, dir);
    free(tp);
    if (s) {
        app_err(a, "compare: %s: %s", dir, sidr_last_error());
        sidr_tokenizer_free(tok);
        sidr_model_free(&m);
        return -1;
    }
    int total = 0;
    char ex[128];
    int miss = missing_sid_tokens(a, tok, &total, ex, sizeof ex);
    if (miss) {
        app_err(a, "compare: %s: its vocabulary lacks %d of the catalogue's %d SID tokens (%s%s); expected a model of the "
                "same tokenizer family as %s (sidr model add-sids adds them)", dir, miss, total, ex, miss > 3 ? ", ..." : "",
                a->model_label);
        sidr_tokenizer_free(tok);
        sidr_model_free(&m);
        return -1;
    }
    s = catalog_from_dataset(&cat, &a->ss.ds, tok);
    if (s) {
        app_err(a, "compare: %s: %s", dir, sidr_last_error());
        sidr_tokenizer_free(tok);
        sidr_model_free(&m);
        return -1;
    }
    cmp_unload(a);
    cmpdata *c = &a->cmp;
    c->on = 1;
    c->dir = xstrdup(dir);
    base_of(dir, c->label, sizeof c->label);
    c->model = m;
    c->tok = tok;
    c->cat = cat;
    int va = sidr_tokenizer_n_vocab(a->ss.tok), vb = sidr_tokenizer_n_vocab(tok);
    char k_c[16], k_r[16];
    keymap_hint(&a->km, SC_GLOBAL, A_COMPARE, k_c, sizeof k_c);
    keymap_hint(&a->km, SC_GLOBAL, A_RUN, k_r, sizeof k_r);
    char voc[64] = "";
    if (va != vb) snprintf(voc, sizeof voc, " (vocabulary %d tokens, A's %d)", vb, va);
    app_msg(a, "model B %s: all %d SID tokens covered%s; %s runs A then B, %s compares", c->label, total, voc, k_r,
            k_c);
    return 0;
}

void cmp_run_begins(app *a, const char *const *hist, int n)
{
    cmpdata *c = &a->cmp;
    if (!c->on) return;
    release_b_run(c);
    c->state = CMP_NONE;
    memcpy(c->hist, hist, (size_t)n * sizeof *hist);
    c->n_hist = n;
    c->user = a->cur_user;
    c->split = a->cur_split;
    c->row = a->cur_row;
    c->n_edits = a->edit.run_edits;
}

static void copy_ids(const rec_run *r, int **ids, int *n)
{
    free(*ids);
    *n = r->set.think ? r->n_gen : 0;
    *ids = xmalloc((size_t)(*n ? *n : 1) * sizeof **ids);
    for (int i = 0; i < *n; i++) (*ids)[i] = r->gen[i].id;
}

static const sidr_item *pair_target(const app *a)
{
    const cmpdata *c = &a->cmp;
    const sidr_sample *row = c->user >= 0 ? sidr_dataset_row(&a->ss.ds, (sidr_split_id)c->split, c->row) : NULL;
    return row ? &a->ss.ds.items[row->target] : NULL;
}

void cmp_run_done(app *a)
{
    cmpdata *c = &a->cmp;
    if (!c->on) return;
    clear_pair(c);
    run_sum_fill(&c->a, &a->run, &a->ss.cat, a->rank);
    copy_ids(&a->run, &c->ids_a, &c->n_a);
    sidr_status s = rec_begin(&c->run, &c->model, c->tok, &c->cat, &a->run.set, c->hist, c->n_hist);
    if (s) {
        c->state = CMP_FAILED;
        snprintf(c->err, sizeof c->err, "%s", sidr_last_error());
        app_err(a, "model B (%s) cannot run: %s", c->label, c->err);
        return;
    }
    c->run_live = 1;
    c->state = CMP_ACTIVE;
}

int cmp_busy(const app *a)
{
    return a->cmp.on && a->cmp.state == CMP_ACTIVE;
}

/* The first token where the traces differ (by text, so tokenizers of one
 * family compare), -1 when they agree; the shorter trace's length when one
 * is a prefix of the other. */
static int first_divergence(const cmpdata *c, const sidr_tokenizer *ta)
{
    int n = c->n_a < c->n_b ? c->n_a : c->n_b;
    for (int i = 0; i < n; i++) {
        size_t la = 0, lb = 0;
        const char *x = sidr_tokenizer_token_bytes(ta, c->ids_a[i], &la), *y = sidr_tokenizer_token_bytes(c->tok, c->ids_b[i], &lb);
        if (!x || !y || la != lb || memcmp(x, y, la)) return i;
    }
    return c->n_a == c->n_b ? -1 : n;
}

int cmp_work(app *a)
{
    cmpdata *c = &a->cmp;
    if (!cmp_busy(a)) return 0;
    sidr_status s = rec_step(&c->run);
    a->dirty = 1;
    if (s) {
        c->state = CMP_FAILED;
        snprintf(c->err, sizeof c->err, "%s", sidr_last_error());
        app_err(a, "model B (%s) failed: %s", c->label, c->err);
        release_b_run(c);
        return 1;
    }
    if (c->run.phase != REC_DONE) return 1;
    const sidr_item *t = pair_target(a);
    int rank = t && t->sid ? rec_rank(&c->run, t->sid) : -1;
    run_sum_fill(&c->b, &c->run, &c->cat, rank);
    c->a.n_hist = c->b.n_hist = 0;
    c->a.n_edits = c->b.n_edits = c->n_edits;
    copy_ids(&c->run, &c->ids_b, &c->n_b);
    c->div = first_divergence(c, a->ss.tok);
    release_b_run(c);
    c->state = CMP_DONE;
    char ra[32], rb[32], dv[48], k[16];
    snprintf(ra, sizeof ra, c->a.rank >= 0 ? "rank %d" : "miss", c->a.rank + 1);
    snprintf(rb, sizeof rb, c->b.rank >= 0 ? "rank %d" : "miss", c->b.rank + 1);
    if (!c->a.set.think) snprintf(dv, sizeof dv, "no reasoning");
    else if (c->div < 0) snprintf(dv, sizeof dv, "same traces");
    else snprintf(dv, sizeof dv, "traces part at token %d", c->div + 1);
    keymap_hint(&a->km, SC_GLOBAL, A_COMPARE, k, sizeof k);
    app_msg(a, "target: A %s, B (%s) %s; %s; %s compares", ra, c->label, rb, dv, k);
    return 1;
}

void cmp_cancel(app *a, const char *why)
{
    cmpdata *c = &a->cmp;
    if (!cmp_busy(a)) return;
    release_b_run(c);
    c->state = CMP_CANCELLED;
    app_msg(a, "model B's run %s; r runs both again", why ? why : "cancelled");
}

/* ---- the eval-diff filter -------------------------------------------------- */

typedef struct {
    app *a;
    evfilter *f;
    int split;
    int cap;
} evf_ctx;

static void add_row(long row, int side, void *ctx)
{
    evf_ctx *x = ctx;
    evfilter *f = x->f;
    if (f->n == x->cap) f->rows = xrealloc(f->rows, (size_t)(x->cap = x->cap * 2 + 16) * sizeof *f->rows);
    f->rows[f->n++] = (evrow){ x->split, (int)row, (char)side };
    if (side == 'A') f->n_only_a++;
    else f->n_only_b++;
}

/* Every row of e must be a row of the split with the user the file names. */
static int check_rows(app *a, const eval_doc *e, int split)
{
    const sidr_split *sp = &a->ss.ds.split[split];
    for (long r = 0; r <= e->max_row; r++) {
        if (e->rank_of[r] == -2) continue;
        if (r >= sp->n) {
            app_err(a, "%s: per_row row %ld: expected a row of the %s split (it has %d) -- another dataset?", e->path, r,
                    sidr_split_name((sidr_split_id)split), sp->n);
            return -1;
        }
        const char *u = eval_doc_str(e->entry_of[r], "user");
        const char *uid = a->ss.ds.users[sp->rows[r].user].id;
        if (u && strcmp(u, uid)) {
            app_err(a, "%s: per_row row %ld: field 'user' is '%s', expected '%s' (the user of %s:%ld in %s) -- another dataset?",
                    e->path, r, u, uid, sidr_split_name((sidr_split_id)split), r, a->ss.data_dir);
            return -1;
        }
    }
    return 0;
}

int evf_load(app *a, const char *pa, const char *pb)
{
    eval_doc da, db;
    char warn[1200];
    if (eval_pair_load(&da, &db, pa, pb, warn, sizeof warn)) {
        app_err(a, "%s", sidr_last_error());
        return -1;
    }
    const char *sn = eval_doc_str(da.doc, "split");
    int split = sidr_split_parse(sn);
    int rc = -1;
    if (split < 0) app_err(a, "%s: field 'split': expected train, valid or test, got '%s'", pa, sn);
    else if (!a->ss.ds.split[split].n) app_err(a, "%s: field 'split' is '%s', but the dataset has no %s rows", pa, sn, sn);
    else if (!check_rows(a, &da, split) && !check_rows(a, &db, split)) rc = 0;
    if (rc == 0) {
        evfilter f;
        memset(&f, 0, sizeof f);
        f.k = 10;
        evf_ctx x = { a, &f, split, 0 };
        f.paired = eval_pair_only(&da, &db, f.k, add_row, &x);
        if (!f.paired) {
            app_err(a, "eval-diff: %s and %s share no row", pa, pb);
            rc = -1;
        } else if (!f.n) {
            app_msg(a, "eval-diff: in all %ld paired rows both hit @%d or both miss: nothing to filter by", f.paired, f.k);
            rc = -1;
        } else {
            evf_off(a);
            f.on = 1;
            base_of(pa, f.name_a, sizeof f.name_a);
            base_of(pb, f.name_b, sizeof f.name_b);
            a->evf = f;
            f.rows = NULL;
            int need = a->evf.n > a->ss.ds.n_users ? a->evf.n : a->ss.ds.n_users;
            a->entries = xrealloc(a->entries, (size_t)need * sizeof *a->entries);
            app_refilter(a);
            a->views[PANE_USERS].sel = 1;
            app_msg(a, "eval-diff filter: %d row%s of %ld where one hits @%d: %d only A (%s), %d only B (%s)%s%s; :filter off clears it",
                    a->evf.n, a->evf.n == 1 ? "" : "s", a->evf.paired, a->evf.k, a->evf.n_only_a, a->evf.name_a, a->evf.n_only_b,
                    a->evf.name_b, warn[0] ? "; warning: " : "", warn);
        }
        free(f.rows);
    }
    eval_doc_free(&da);
    eval_doc_free(&db);
    return rc;
}

void evf_off(app *a)
{
    free(a->evf.rows);
    memset(&a->evf, 0, sizeof a->evf);
}

int evf_side(const app *a, int split, int row)
{
    const evfilter *f = &a->evf;
    if (!f->on) return 0;
    for (int i = 0; i < f->n; i++)
        if (f->rows[i].split == split && f->rows[i].row == row) return f->rows[i].side;
    return 0;
}

/* ---- export ---------------------------------------------------------------- */

static int pair_of(const app *a, int split, int row)
{
    const cmpdata *c = &a->cmp;
    return c->on && c->state == CMP_DONE && c->a.valid && c->b.valid && c->user >= 0 && c->split == split &&
           c->row == row;
}

/* Where the traces part: "token N: A "x" B "y"" (or why there is no such token). */
static void divergence_text(const app *a, char *buf, size_t cap)
{
    const cmpdata *c = &a->cmp;
    if (!c->a.set.think) { snprintf(buf, cap, "no reasoning (no-think runs)"); return; }
    if (c->div < 0) { snprintf(buf, cap, "the traces are the same"); return; }
    char xa[96] = "(the trace ends)", xb[96] = "(the trace ends)";
    if (c->div < c->n_a) cmp_token_display(a->ss.tok, c->ids_a[c->div], xa, sizeof xa);
    if (c->div < c->n_b) cmp_token_display(c->tok, c->ids_b[c->div], xb, sizeof xb);
    snprintf(buf, cap, "the traces part at token %d: A %s, B %s", c->div + 1, xa, xb);
}

void cmp_export_json(app *a, cJSON *root, int split, int row)
{
    if (!pair_of(a, split, row)) return;
    const cmpdata *c = &a->cmp;
    const sidr_item *target = pair_target(a);
    cJSON *o = cJSON_AddObjectToObject(root, "compare");
    cJSON_AddStringToObject(o, "model_b", c->dir);
    cJSON_AddStringToObject(o, "label_b", c->label);
    cJSON_AddNumberToObject(o, "n_edits", c->n_edits);
    if (c->a.set.think && c->div >= 0) cJSON_AddNumberToObject(o, "first_divergent_token", c->div + 1);
    else cJSON_AddNullToObject(o, "first_divergent_token");
    char dv[256];
    divergence_text(a, dv, sizeof dv);
    cJSON_AddStringToObject(o, "divergence", dv);
    run_sum_json(a, o, "a", &c->a, NULL, 0, target);
    run_sum_json(a, o, "b", &c->b, &c->a, 1, target);
}

void cmp_export_md(app *a, FILE *f, int split, int row)
{
    if (!pair_of(a, split, row)) return;
    const cmpdata *c = &a->cmp;
    const sidr_dataset *ds = &a->ss.ds;
    char ra[32], rb[32], dv[256];
    snprintf(ra, sizeof ra, c->a.rank >= 0 ? "rank %d" : "miss", c->a.rank + 1);
    snprintf(rb, sizeof rb, c->b.rank >= 0 ? "rank %d" : "miss", c->b.rank + 1);
    divergence_text(a, dv, sizeof dv);
    fputs("## A/B: model B ", f);
    export_md_cell(f, c->dir);
    fprintf(f, "\n\n**Target:** A %s, B %s%s; %s.\n\n", ra, rb, c->n_edits ? " (on the edited history)" : "", dv);
    int n = c->a.n_top > c->b.n_top ? c->a.n_top : c->b.n_top;
    fputs("| rank | A: SID | score | title | B: SID | score | title | move |\n|---|---|---|---|---|---|---|---|\n", f);
    const run_sum *side[2] = { &c->a, &c->b };
    for (int i = 0; i < n; i++) {
        fprintf(f, "| %d |", i + 1);
        for (int k = 0; k < 2; k++) {
            const run_sum *s = side[k];
            if (i >= s->n_top) { fputs(" | | |", f); continue; }
            fprintf(f, " `%s` | %.4f | ", s->sid[i], s->score[i]);
            if (s->item[i] >= 0) export_md_cell(f, ds->items[s->item[i]].title);
            fputs(" |", f);
        }
        char mv[16] = "";
        if (i < c->b.n_top) edit_rank_move(&c->a, &c->b, i, 1, mv, sizeof mv);
        fprintf(f, " %s |\n", mv);
    }
    fputc('\n', f);
    const char *names[2] = { "A", "B" };
    for (int k = 0; k < 2 && c->a.set.think; k++) {
        const char *t = side[k]->reasoning ? side[k]->reasoning : "";
        const char *fence = strstr(t, "```") ? "~~~~" : "```";
        fprintf(f, "### Reasoning of %s (%d tokens)\n\n%stext\n%s\n%s\n\n", names[k], side[k]->n_reasoning_tokens, fence, t, fence);
    }
}

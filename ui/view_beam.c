/* Beam: the trie-constrained beam search step by step.  A strip of steps
 * (a, b, c, then the forced "\n" and EOS) selects which step's beams are
 * listed; each step says how many trie children the live beams were allowed
 * and how many of them were kept or pruned.  The last step lists the final
 * top-K with titles, the target marked and the hit rank. */
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

static int n_lines(app *a, view *v)
{
    int k = shown_step(a, v);
    if (k < 0) return 1;
    int n = 2 + a->snaps[k].n;
    if (is_final(a, k) && a->rank < 0) n++;
    return n;
}

static int n_fixed(app *a, view *v)
{
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
    int focused = a->focus == v->id;
    if (i == 0) {
        t->selectable = 0;
        tline_add(t, ST_DIM, 0, 0, "%s", " step");
        int ns = n_steps(a);
        for (int j = 0; j < ns; j++) {
            char lab[16];
            step_label(a, j, lab, sizeof lab);
            tline_add(t, ST_NORMAL, 0, 0, "%s", " ");
            int st = j < a->n_snaps ? (j < d ? ST_LEVEL(j) : ST_SPECIAL) : ST_DIM;
            tline_add(t, st, 0, j == k ? (focused ? CF_CURSOR : CF_SEL_DIM) << SPAN_CELL_SHIFT : 0, "%s", lab);
        }
        if (a->rstate == RUN_DONE) tline_add(t, ST_DIM, 0, 0, "%s", final ? "  = top" : "  (last: top)");
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
        int k = shown_step(a, v) + (act == A_MOVE_RIGHT ? 1 : -1);
        if (k < 0) k = 0;
        if (k >= a->n_snaps) k = a->n_snaps - 1;
        v->col = k;
        v->follow = k == a->n_snaps - 1 && a->rstate == RUN_ACTIVE;
        if (v->sel - 2 >= a->snaps[k].n) v->sel = 2 + a->snaps[k].n - 1;
        if (v->sel < 2) v->sel = 2;
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
    int k = shown_step(a, v);
    char lab[16];
    step_label(a, k, lab, sizeof lab);
    snprintf(buf, cap, "B=%d step %d/%d (%s)%s", a->run.set.beams, k + 1, n_steps(a), lab,
             a->rstate == RUN_DONE ? (a->rank >= 0 ? "  hit" : "  miss") : "");
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
};

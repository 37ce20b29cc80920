/* :export FILE writes the session as FILE.json (machine-readable) and
 * FILE.md (to paste into a report), and once `w` has explained the row,
 * FILE.svg: the picture `sidr explain --svg` draws (src/explain_svg.c);
 * :load-eval reads 'sidr eval --json' results to mark users hit or miss. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "explain_svg.h"
#include "util.h"

/* Valid UTF-8 (stray bytes become U+FFFD), malloc'd. */
static char *clean(const char *s, size_t n)
{
    char *o = xmalloc(n * 3 + 1);
    size_t k = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        int m = utf8_decode(s + i, n - i, &cp);
        k += sidr_utf8_encode(cp == 0 ? 0xFFFD : cp, o + k);
        i += m;
    }
    o[k] = 0;
    return o;
}

static void add_str(cJSON *o, const char *k, const char *s)
{
    if (!s) { cJSON_AddNullToObject(o, k); return; }
    char *c = clean(s, strlen(s));
    cJSON_AddStringToObject(o, k, c);
    free(c);
}

static char *tok_text(app *a, int id)
{
    size_t len = 0;
    const char *b = sidr_tokenizer_token_bytes(a->ss.tok, id, &len);
    return b ? clean(b, len) : xstrdup("");
}

static const char *state_name(run_state s)
{
    static const char *const n[] = { "none", "running", "done", "cancelled", "failed" };
    return n[s];
}

static void step_label(app *a, int k, char *buf, size_t cap)
{
    int d = a->ss.cat.depth;
    if (k < d) snprintf(buf, cap, "%c", 'a' + k);
    else if (k == d && a->run.bcfg.newline_id >= 0) snprintf(buf, cap, "newline");
    else snprintf(buf, cap, "eos");
}

void export_md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n' || *s == '\r') fputc(' ', f);
        else fputc(*s, f);
    }
}

sidr_status app_export(app *a, const char *base_in, char *written, size_t cap)
{
    char base[4096];
    snprintf(base, sizeof base, "%s", base_in);
    size_t bl = strlen(base);
    if (bl > 5 && !strcmp(base + bl - 5, ".json")) base[bl - 5] = 0;
    else if (bl > 3 && !strcmp(base + bl - 3, ".md")) base[bl - 3] = 0;
    int have_run = a->rstate != RUN_NONE && a->run_live;
    int split = have_run ? a->run_split : a->cur_split, rown = have_run ? a->run_row : a->cur_row;
    const sidr_sample *row = have_run || a->cur_user >= 0 ? sidr_dataset_row(&a->ss.ds, (sidr_split_id)split, rown) : NULL;
    if (!row) return sidr_fail(SIDR_ERR_ARG, "nothing to export: open a user first (Enter or :user ID)");
    const sidr_dataset *ds = &a->ss.ds;
    const rec_settings *set = have_run ? &a->run.set : &a->set;
    const sidr_item *target = &ds->items[row->target];

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "sidr-explore-session");
    cJSON_AddNumberToObject(root, "version", 1);
    add_str(root, "model", a->ss.model_dir);
    add_str(root, "data", a->ss.data_dir);
    add_str(root, "dataset", ds->name);
    add_str(root, "user", ds->users[row->user].id);
    cJSON_AddStringToObject(root, "split", sidr_split_name((sidr_split_id)split));
    cJSON_AddNumberToObject(root, "row", rown);
    cJSON *st = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddBoolToObject(st, "think", set->think);
    cJSON_AddNumberToObject(st, "beams", set->beams);
    cJSON_AddNumberToObject(st, "temperature", set->temperature);
    cJSON_AddNumberToObject(st, "top_p", set->top_p);
    cJSON_AddNumberToObject(st, "seed", (double)set->seed);
    cJSON_AddStringToObject(st, "numerics", sidr_numerics_name(a->ss.model.numerics));
    cJSON_AddNumberToObject(st, "max_reasoning", set->max_reasoning);
    cJSON *hist = cJSON_AddArrayToObject(root, "history");
    for (int i = 0; i < row->n_hist; i++) {
        const sidr_item *it = &ds->items[row->hist[i]];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "position", i + 1);
        add_str(o, "item_id", it->id);
        add_str(o, "sid", it->sid);
        add_str(o, "title", it->title);
        add_str(o, "brand", it->brand);
        cJSON_AddItemToArray(hist, o);
    }
    cJSON *tg = cJSON_AddObjectToObject(root, "target");
    add_str(tg, "item_id", target->id);
    add_str(tg, "sid", target->sid);
    add_str(tg, "title", target->title);
    cJSON *run = cJSON_AddObjectToObject(root, "run");
    cJSON_AddStringToObject(run, "state", state_name(a->rstate));
    if (a->rstate == RUN_FAILED) add_str(run, "error", a->run_error);
    if (have_run) {
        const rec_run *r = &a->run;
        cJSON *rs = cJSON_AddObjectToObject(run, "reasoning");
        if (r->set.think) {
            if (r->reasoning) add_str(rs, "text", r->reasoning);
            else {
                char *c = clean(a->trace ? a->trace : "", a->trace_len);
                cJSON_AddStringToObject(rs, "text", c);
                free(c);
            }
            cJSON_AddNumberToObject(rs, "n_tokens", r->n_gen);
            cJSON *toks = cJSON_AddArrayToObject(rs, "tokens");
            for (int i = 0; i < r->n_gen; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "id", r->gen[i].id);
                char *t = tok_text(a, r->gen[i].id);
                cJSON_AddStringToObject(o, "text", t);
                free(t);
                cJSON_AddNumberToObject(o, "p", r->gen[i].p);
                cJSON *alts = cJSON_AddArrayToObject(o, "alternatives");
                for (int k = 0; k < REC_TOP_ALT && r->gen[i].alt_id[k] >= 0; k++) {
                    cJSON *x = cJSON_CreateObject();
                    cJSON_AddNumberToObject(x, "id", r->gen[i].alt_id[k]);
                    t = tok_text(a, r->gen[i].alt_id[k]);
                    cJSON_AddStringToObject(x, "text", t);
                    free(t);
                    cJSON_AddNumberToObject(x, "p", r->gen[i].alt_p[k]);
                    cJSON_AddItemToArray(alts, x);
                }
                cJSON_AddItemToArray(toks, o);
            }
        } else cJSON_AddNullToObject(rs, "text");
        cJSON *steps = cJSON_AddArrayToObject(run, "beam_steps");
        for (int k = 0; k < a->n_snaps; k++) {
            const beam_snap *s = &a->snaps[k];
            cJSON *o = cJSON_CreateObject();
            char lab[16];
            step_label(a, s->step, lab, sizeof lab);
            cJSON_AddStringToObject(o, "step", lab);
            cJSON_AddNumberToObject(o, "allowed", s->allowed);
            cJSON_AddNumberToObject(o, "kept", s->kept);
            cJSON_AddNumberToObject(o, "pruned", s->allowed - s->kept);
            cJSON *bs = cJSON_AddArrayToObject(o, "beams");
            int d = a->ss.cat.depth, n = s->step + 1 < d ? s->step + 1 : d;
            for (int b = 0; b < s->n; b++) {
                char sid[256];
                catalog_sid_string(a->ss.tok, s->beams[b].tokens, n < s->beams[b].n_tokens ? n : s->beams[b].n_tokens, sid,
                                   sizeof sid);
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "sid", sid);
                cJSON_AddNumberToObject(x, "score", s->beams[b].score);
                cJSON_AddItemToArray(bs, x);
            }
            cJSON_AddItemToArray(steps, o);
        }
        cJSON *res = cJSON_AddArrayToObject(run, "results");
        if (a->rstate == RUN_DONE)
            for (int i = 0; i < r->bs.n_hyps; i++) {
                char sid[256];
                rec_beam_sid(r, i, sid, sizeof sid);
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "rank", i + 1);
                cJSON_AddStringToObject(o, "sid", sid);
                cJSON_AddNumberToObject(o, "score", r->bs.hyps[i].score);
                cJSON_AddBoolToObject(o, "target", target->sid && !strcmp(sid, target->sid));
                cJSON *items = cJSON_AddArrayToObject(o, "items");
                int ni;
                const int *it = sidr_trie_items(&a->ss.cat.trie, r->bs.hyps[i].node, &ni);
                for (int k = 0; k < ni; k++) {
                    const sidr_item *x = &ds->items[a->ss.cat.item_of[it[k]]];
                    cJSON *xo = cJSON_CreateObject();
                    add_str(xo, "item_id", x->id);
                    add_str(xo, "title", x->title);
                    cJSON_AddItemToArray(items, xo);
                }
                cJSON_AddItemToArray(res, o);
            }
        if (a->rstate == RUN_DONE) {
            if (a->rank >= 0) cJSON_AddNumberToObject(run, "hit_rank", a->rank + 1);
            else cJSON_AddNullToObject(run, "hit_rank");
        }
        cJSON *tm = cJSON_AddObjectToObject(run, "timings");
        cJSON_AddNumberToObject(tm, "prefill_s", r->t_prefill);
        cJSON_AddNumberToObject(tm, "reasoning_s", r->t_reasoning);
        cJSON_AddNumberToObject(tm, "beam_s", r->t_beam);
        cJSON_AddNumberToObject(tm, "reasoning_tokens_per_s", r->t_reasoning > 0 ? r->n_gen / r->t_reasoning : 0);
    }
    edit_export_json(a, root, split, rown);
    cmp_export_json(a, root, split, rown);
    char *json = cJSON_Print(root);
    cJSON_Delete(root);
    char path_j[4200], path_m[4200];
    snprintf(path_j, sizeof path_j, "%s.json", base);
    snprintf(path_m, sizeof path_m, "%s.md", base);
    FILE *f = fopen(path_j, "w");
    if (!f) {
        free(json);
        return sidr_fail(SIDR_ERR_IO, "%s: %s", path_j, strerror(errno));
    }
    fputs(json, f);
    fputc('\n', f);
    free(json);
    if (fclose(f)) return sidr_fail(SIDR_ERR_IO, "%s: %s", path_j, strerror(errno));

    /* Markdown */
    f = fopen(path_m, "w");
    if (!f) return sidr_fail(SIDR_ERR_IO, "%s: %s", path_m, strerror(errno));
    fprintf(f, "# sidr session: user %s (%s row %d)\n\n", ds->users[row->user].id, sidr_split_name((sidr_split_id)split), rown);
    fprintf(f, "| model | data | mode | beams | temperature | seed | max reasoning |\n|---|---|---|---|---|---|---|\n| ");
    export_md_cell(f, a->ss.model_dir);
    fputs(" | ", f);
    export_md_cell(f, a->ss.data_dir);
    fprintf(f, " | %s | %d | %g | %llu | %d |\n\n", set->think ? "think" : "no-think", set->beams, set->temperature,
            (unsigned long long)set->seed, set->max_reasoning);
    fputs("## History\n\n| # | SID | title | brand |\n|---|---|---|---|\n", f);
    for (int i = 0; i < row->n_hist; i++) {
        const sidr_item *it = &ds->items[row->hist[i]];
        fprintf(f, "| %d | `%s` | ", i + 1, it->sid ? it->sid : "");
        export_md_cell(f, it->title);
        fputs(" | ", f);
        export_md_cell(f, it->brand ? it->brand : "");
        fputs(" |\n", f);
    }
    fprintf(f, "\n**Target:** `%s` ", target->sid ? target->sid : "(no SID)");
    export_md_cell(f, target->title);
    fputs("\n\n", f);
    if (have_run) {
        const rec_run *r = &a->run;
        fprintf(f, "Run: **%s**", state_name(a->rstate));
        if (a->rstate == RUN_DONE) {
            if (a->rank >= 0) fprintf(f, " - hit at rank %d of %d", a->rank + 1, r->bs.n_hyps);
            else fprintf(f, " - miss (the target is not among the %d beams)", r->bs.n_hyps);
        }
        fputs(".\n\n", f);
        if (set->think) {
            char *c = clean(r->reasoning ? r->reasoning : a->trace ? a->trace : "", r->reasoning ? strlen(r->reasoning) : a->trace_len);
            const char *fence = strstr(c, "```") ? "~~~~" : "```";
            fprintf(f, "## Reasoning (%d tokens)\n\n%stext\n%s\n%s\n\n", r->n_gen, fence, c, fence);
            free(c);
        }
        if (a->n_snaps) {
            fputs("## Beam search\n\n| step | allowed | kept | pruned | best partial SID | score |\n|---|---|---|---|---|---|\n", f);
            for (int k = 0; k < a->n_snaps; k++) {
                const beam_snap *s = &a->snaps[k];
                char lab[16], sid[256] = "";
                step_label(a, s->step, lab, sizeof lab);
                int d = a->ss.cat.depth, n = s->step + 1 < d ? s->step + 1 : d;
                if (s->n) catalog_sid_string(a->ss.tok, s->beams[0].tokens, n < s->beams[0].n_tokens ? n : s->beams[0].n_tokens, sid, sizeof sid);
                fprintf(f, "| %s | %d | %d | %d | `%s` | %.4f |\n", lab, s->allowed, s->kept, s->allowed - s->kept, sid,
                        s->n ? s->beams[0].score : 0.0f);
            }
            fputc('\n', f);
        }
        if (a->rstate == RUN_DONE) {
            fprintf(f, "## Top %d\n\n| rank | SID | score | title | |\n|---|---|---|---|---|\n", r->bs.n_hyps);
            for (int i = 0; i < r->bs.n_hyps; i++) {
                char sid[256];
                rec_beam_sid(r, i, sid, sizeof sid);
                int ni;
                const int *it = sidr_trie_items(&a->ss.cat.trie, r->bs.hyps[i].node, &ni);
                fprintf(f, "| %d | `%s` | %.4f | ", i + 1, sid, r->bs.hyps[i].score);
                if (ni) export_md_cell(f, ds->items[a->ss.cat.item_of[it[0]]].title);
                if (ni > 1) fprintf(f, " (+%d sharing the SID)", ni - 1);
                fprintf(f, " | %s |\n", target->sid && !strcmp(sid, target->sid) ? "**target**" : "");
            }
            fputc('\n', f);
        }
    }
    edit_export_md(a, f, split, rown);
    cmp_export_md(a, f, split, rown);
    if (fclose(f)) return sidr_fail(SIDR_ERR_IO, "%s: %s", path_m, strerror(errno));
    /* the explanation of this very row, as far as it got (Esc keeps what is done) */
    if (a->why_state != WHY_NONE && a->why_state != WHY_FAILED && a->why_user == row->user && a->why_split == split &&
        a->why_row == rown) {
        char path_s[4200];
        snprintf(path_s, sizeof path_s, "%s.svg", base);
        sidr_status s = explain_svg_write_row(path_s, &a->why, &a->ss, (sidr_split_id)split, rown);
        if (s) return s;
        if (a->why.occl_delta && a->why.occl_done < a->why.n_hist)
            snprintf(written, cap, "%s, %s and %s (the explanation; occlusion of %d of %d items)", path_j, path_m, path_s,
                     a->why.occl_done, a->why.n_hist);
        else snprintf(written, cap, "%s, %s and %s (the explanation)", path_j, path_m, path_s);
        return SIDR_OK;
    }
    snprintf(written, cap, "%s and %s", path_j, path_m);
    return SIDR_OK;
}

sidr_status app_load_eval(app *a, const char *path)
{
    char *text;
    size_t len;
    sidr_status s = read_file(path, &text, &len);
    if (s) return s;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *sp = root ? cJSON_GetObjectItemCaseSensitive(root, "split") : NULL;
    const cJSON *rows = root ? cJSON_GetObjectItemCaseSensitive(root, "per_row") : NULL;
    if (!cJSON_IsString(sp) || !cJSON_IsArray(rows)) {
        cJSON_Delete(root);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: not a 'sidr eval --json' result (expected fields split and per_row)", path);
    }
    int split = sidr_split_parse(sp->valuestring);
    if (split < 0) {
        cJSON_Delete(root);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'split': expected train, valid or test, got '%s'", path, sp->valuestring);
    }
    const sidr_split *spl = &a->ss.ds.split[split];
    int n = 0, hits = 0, idx = 0;
    for (const cJSON *o = rows->child; o; o = o->next, idx++) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "row"), *u = cJSON_GetObjectItemCaseSensitive(o, "user"),
                    *k = cJSON_GetObjectItemCaseSensitive(o, "rank");
        if (!cJSON_IsNumber(r) || !cJSON_IsNumber(k) || r->valueint < 0 || r->valueint >= spl->n) {
            cJSON_Delete(root);
            return sidr_fail(SIDR_ERR_FORMAT, "%s: per_row[%d]: expected a row in [0, %d) and a rank", path, idx, spl->n);
        }
        const char *uid = a->ss.ds.users[spl->rows[r->valueint].user].id;
        if (cJSON_IsString(u) && strcmp(u->valuestring, uid)) {
            cJSON_Delete(root);
            return sidr_fail(SIDR_ERR_FORMAT, "%s: per_row[%d]: row %d is user '%s' there but '%s' in %s (another dataset?)", path,
                             idx, r->valueint, u->valuestring, uid, a->ss.data_dir);
        }
        a->outcome[split][r->valueint] = k->valueint >= 0 ? k->valueint : -1;
        n++;
        hits += k->valueint >= 0;
    }
    cJSON_Delete(root);
    app_refilter(a);
    app_msg(a, "loaded %d %s outcomes from %s: %d hits, %d misses (F filters)", n, sidr_split_name((sidr_split_id)split), path,
            hits, n - hits);
    return SIDR_OK;
}

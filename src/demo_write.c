#define _POSIX_C_SOURCE 200809L
/* Writes the demo world in the paper's layout (SPEC §2), so src/dataset.c and
 * task_enrichment_load read it unchanged:
 *   train|valid|test/<Cat>_demo.csv      user_id,history_item_title,item_title,
 *                                        history_item_id,item_id,history_item_sid,item_sid
 *   info/<Cat>_demo.txt                  SID \t title \t item_id
 *   index/<Cat>.index.json               {"0": ["<a_1>", "<b_2>", "<c_3>"], ...}
 *   index/<Cat>.item.json                title, description, brand, categories (+ price)
 *   index/<Cat>.codebooks.safetensors    as `sidr sids build` writes it
 *   index/<Cat>.item_enhanced_v2.json    per item: title, sid, llm_stage2
 *   index/<Cat>.integrated_narrative.csv split,row,user_id,item_id,item_sid,kind,intent,
 *                                        reasoning_path,integrated_narrative
 *   demo_world.json                      settings, counts, tree, brands, intents, users' latent state
 * Each file is written to a temporary name and renamed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo_internal.h"
#include "safetensors.h"
#include "layout_write.h"
#include "util.h"

/* ---- files ---------------------------------------------------------------------- */





/* ---- encodings ---------------------------------------------------------------------- */


/* A Python str literal as repr() writes it. */

/* One CSV field, quoted when it must be. */

static void csv_str(FILE *f, const char *s) { csv_field(f, s, strlen(s)); }

/* A list column built in memory, then written as one CSV field. */



/* ---- the files ---------------------------------------------------------------------- */

static sidr_status write_split(const sidr_demo_world *w, int split, const char *path)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    FILE *f = o.f;
    fputs("user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid\n", f);
    for (int r = 0; r < w->split_n[split]; r++) {
        const sidr_demo_sample *x = &w->samples[w->split_first[split] + r];
        const sidr_demo_user *u = &w->users[x->user];
        const int h0 = x->pos > SIDR_DEMO_HISTORY ? x->pos - SIDR_DEMO_HISTORY : 0;
        const sidr_demo_item *tg = &w->items[u->ev[x->pos].item];
        mem_field m;
        csv_str(f, u->id);
        fputc(',', f);
        mf_open(&m);
        fputc('[', m.f);
        for (int e = h0; e < x->pos; e++) {
            if (e > h0) fputs(", ", m.f);
            py_str(m.f, w->items[u->ev[e].item].title);
        }
        fputc(']', m.f);
        mf_emit(&m, f);
        fputc(',', f);
        csv_str(f, tg->title);
        fputc(',', f);
        mf_open(&m);
        fputc('[', m.f);
        for (int e = h0; e < x->pos; e++) fprintf(m.f, "%s%d", e > h0 ? ", " : "", u->ev[e].item);
        fputc(']', m.f);
        mf_emit(&m, f);
        fprintf(f, ",%d,", u->ev[x->pos].item);
        mf_open(&m);
        fputc('[', m.f);
        for (int e = h0; e < x->pos; e++) fprintf(m.f, "%s'%s'", e > h0 ? ", " : "", w->items[u->ev[e].item].sid);
        fputc(']', m.f);
        mf_emit(&m, f);
        fprintf(f, ",%s\n", tg->sid);
    }
    return out_close(&o);
}

static sidr_status write_info(const sidr_demo_world *w, const char *path)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    for (int i = 0; i < w->n_items; i++) fprintf(o.f, "%s\t%s\t%d\n", w->items[i].sid, w->items[i].title, i);
    return out_close(&o);
}

static sidr_status write_index(const sidr_demo_world *w, const char *path)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    fputc('{', o.f);
    for (int i = 0; i < w->n_items; i++) {
        fprintf(o.f, "%s\"%d\": [", i ? ", " : "", i);
        for (int l = 0; l < w->sid_levels; l++)
            fprintf(o.f, "%s\"<%c_%d>\"", l ? ", " : "", 'a' + l, w->items[i].code[l]);
        fputc(']', o.f);
    }
    fputs("}\n", o.f);
    return out_close(&o);
}

static sidr_status write_items(const sidr_demo_world *w, const char *path)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    fputs("{\n", o.f);
    for (int i = 0; i < w->n_items; i++) {
        const sidr_demo_item *it = &w->items[i];
        fprintf(o.f, "  \"%d\": {\n    \"title\": ", i);
        json_str(o.f, it->title);
        fputs(",\n    \"description\": ", o.f);
        json_str(o.f, it->description);
        fputs(",\n    \"brand\": ", o.f);
        json_str(o.f, it->brand);
        fputs(",\n    \"categories\": ", o.f);
        json_str(o.f, it->categories);
        fprintf(o.f, ",\n    \"price\": %.2f\n  }%s\n", it->price, i + 1 < w->n_items ? "," : "");
    }
    fputs("}\n", o.f);
    return out_close(&o);
}

static sidr_status write_enhanced(const sidr_demo_world *w, const char *path)
{
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    fputs("{\n", o.f);
    for (int i = 0; i < w->n_items; i++) {
        const sidr_demo_item *it = &w->items[i];
        fprintf(o.f, "  \"%d\": {\n    \"title\": ", i);
        json_str(o.f, it->title);
        fputs(",\n    \"sid\": ", o.f);
        json_str(o.f, it->sid);
        fputs(",\n    \"llm_stage2\": ", o.f);
        json_str(o.f, it->narrative);
        fprintf(o.f, "\n  }%s\n", i + 1 < w->n_items ? "," : "");
    }
    fputs("}\n", o.f);
    return out_close(&o);
}

static sidr_status write_narratives(const sidr_demo_world *w, const char *path)
{
    static const char *const split_names[3] = { "train", "valid", "test" };
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    fputs("split,row,user_id,item_id,item_sid,kind,intent,reasoning_path,integrated_narrative\n", o.f);
    for (int i = 0; i < w->n_samples; i++) {
        const sidr_demo_sample *x = &w->samples[i];
        const sidr_demo_user *u = &w->users[x->user];
        const sidr_demo_event *ev = &u->ev[x->pos];
        fprintf(o.f, "%s,%d,%s,%d,%s,%s,%s,", split_names[x->split], x->row, u->id, ev->item, w->items[ev->item].sid,
                sidr_demo_kind_name(ev->kind), ev->slot >= 0 ? sidr_demo_intent_key(u->intent[ev->slot]) : "");
        csv_str(o.f, x->reasoning);
        fputc(',', o.f);
        csv_str(o.f, x->narrative);
        fputc('\n', o.f);
    }
    return out_close(&o);
}

static sidr_status write_codebooks(const sidr_demo_world *w, const char *path)
{
    const demo_priv *p = demo_p(w);
    const sidr_rq_result *r = &p->rq;
    int n = r->levels + 2;
    sidr_st_entry *en = xcalloc((size_t)n, sizeof *en);
    char (*names)[32] = xcalloc((size_t)r->levels, sizeof *names);
    for (int l = 0; l < r->levels; l++) {
        snprintf(names[l], sizeof names[l], "codebook.%d", l);
        en[l] = (sidr_st_entry){ names[l], SIDR_F32, 2, { r->codes, r->dim }, r->codebooks + (size_t)l * r->codes * r->dim };
    }
    en[r->levels] = (sidr_st_entry){ "item_embeddings", SIDR_F32, 2, { r->n, r->dim }, p->emb.emb };
    en[r->levels + 1] = (sidr_st_entry){ "codes", SIDR_I32, 2, { r->n, r->depth }, r->code };
    char *meta = NULL;
    size_t ml = 0;
    FILE *m = open_memstream(&meta, &ml);
    fprintf(m, "{\"format\":\"sidr-codebooks\",\"levels\":\"%d\",\"codes\":\"%d\",\"dim\":\"%d\",\"seed\":\"%llu\","
               "\"depth\":\"%d\",\"dedup_level\":\"0\",\"dedup_codes\":\"%d\",\"method\":\"rq-kmeans+prefix-reassign\","
               "\"embedding\":\"tfidf-rsvd\",\"dataset\":",
            r->levels, r->codes, r->dim, (unsigned long long)w->opts.seed, r->depth, r->dedup_codes);
    json_str(m, w->category);
    /* the item order of item_embeddings and codes: a JSON array inside a string */
    char *ids = NULL;
    size_t il = 0;
    FILE *fi = open_memstream(&ids, &il);
    fputc('[', fi);
    for (int i = 0; i < w->n_items; i++) fprintf(fi, "%s\"%d\"", i ? "," : "", i);
    fputc(']', fi);
    fclose(fi);
    fputs(",\"item_ids\":", m);
    json_str(m, ids);
    fputc('}', m);
    fclose(m);
    free(ids);
    sidr_status s = sidr_st_write(path, en, n, meta);
    free(meta);
    free(en);
    free(names);
    return s;
}

static sidr_status write_world_json(const sidr_demo_world *w, const char *path)
{
    const demo_priv *p = demo_p(w);
    out_file o;
    sidr_status s = out_open(&o, path);
    if (s) return s;
    FILE *f = o.f;
    const sidr_demo_opts *op = &w->opts;
    fprintf(f, "{\n  \"generator\": \"sidr demo build\",\n  \"version\": 1,\n");
    fprintf(f, "  \"settings\": {\"seed\": %llu, \"items\": %d, \"users\": %d, \"min_len\": %d, \"max_len\": %d, "
               "\"sid_levels\": %d, \"sid_codes\": %d, \"sid_dim\": %d, \"sid_method\": \"%s\", \"category\": ",
            (unsigned long long)op->seed, op->n_items, op->n_users, op->min_len, op->max_len, op->sid_levels,
            op->sid_codes, op->sid_dim, sidr_demo_sid_method_name(op));
    json_str(f, w->category);
    fprintf(f, "},\n  \"counts\": {\"items\": %d, \"users\": %d, \"events\": %d, \"samples\": %d, \"train\": %d, "
               "\"valid\": %d, \"test\": %d, \"sid_collisions\": %d, \"targets_by_kind\": {\"step\": %d, "
               "\"upgrade\": %d, \"refill\": %d, \"noise\": %d}},\n",
            w->n_items, w->n_users, w->n_events, w->n_samples, w->split_n[0], w->split_n[1], w->split_n[2],
            w->sid_collisions, w->kind_count[0], w->kind_count[1], w->kind_count[2], w->kind_count[3]);
    fprintf(f, "  \"timeline\": {\"start\": %lld, \"weeks\": %d},\n", (long long)p->t0, p->n_weeks);
    fputs("  \"departments\": [\n", f);
    for (int d = 0; d < DEMO_DEPTS; d++) {
        fputs("    {\"name\": ", f);
        json_str(f, demo_depts[d].name);
        fputs(", \"categories\": [\n", f);
        for (int c = 0; c < DEMO_CATS; c++) {
            fputs("      {\"name\": ", f);
            json_str(f, demo_depts[d].cats[c].name);
            fputs(", \"types\": [\n", f);
            for (int k = 0; k < DEMO_TYPES; k++) {
                int t = (d * DEMO_CATS + c) * DEMO_TYPES + k;
                const demo_type_def *td = demo_type(t);
                fprintf(f, "        {\"id\": %d, \"name\": ", t);
                json_str(f, td->name);
                fputs(", \"path\": ", f);
                json_str(f, sidr_demo_type_path(t));
                fprintf(f, ", \"base_price\": %.2f, \"consumable\": %s, \"items\": %d}%s\n", td->price,
                        td->consumable ? "true" : "false", p->type_first[t + 1] - p->type_first[t],
                        k + 1 < DEMO_TYPES ? "," : "");
            }
            fprintf(f, "      ]}%s\n", c + 1 < DEMO_CATS ? "," : "");
        }
        fprintf(f, "    ]}%s\n", d + 1 < DEMO_DEPTS ? "," : "");
    }
    fputs("  ],\n  \"brands\": [\n", f);
    for (int b = 0; b < demo_n_brands; b++) {
        const demo_brand_def *bd = &demo_brands[b];
        fprintf(f, "    {\"id\": %d, \"name\": ", b);
        json_str(f, bd->name);
        fprintf(f, ", \"department\": %d, \"tier\": \"%s\", \"categories\": [", bd->dept, demo_tier_names[bd->tier]);
        int k = 0;
        for (int c = 0; c < DEMO_CATS; c++)
            if (p->brand_cats[b] >> c & 1) {
                fputs(k++ ? ", " : "", f);
                json_str(f, demo_depts[bd->dept].cats[c].name);
            }
        fputs("], \"personality\": ", f);
        json_str(f, bd->focus);
        fprintf(f, "}%s\n", b + 1 < demo_n_brands ? "," : "");
    }
    fputs("  ],\n  \"intents\": [\n", f);
    for (int i = 0; i < demo_n_intents; i++) {
        const demo_intent_rt *ir = &p->intents[i];
        fprintf(f, "    {\"id\": %d, \"key\": ", i);
        json_str(f, demo_intents[i].key);
        fputs(", \"name\": ", f);
        json_str(f, demo_intents[i].name);
        fputs(", \"label\": ", f);
        json_str(f, demo_intents[i].label);
        fprintf(f, ", \"weight\": %d, \"steps\": [", demo_intents[i].weight);
        for (int k = 0; k < ir->n_steps; k++) {
            fprintf(f, "%s{\"type\": ", k ? ", " : "");
            json_str(f, demo_type(ir->type[k])->name);
            fprintf(f, ", \"stage\": %d, \"skip\": %.2f}", ir->stage[k], ir->skip[k] / 100.0);
        }
        fprintf(f, "]}%s\n", i + 1 < demo_n_intents ? "," : "");
    }
    fputs("  ],\n  \"items\": [\n", f);
    for (int i = 0; i < w->n_items; i++) {
        const sidr_demo_item *it = &w->items[i];
        fprintf(f, "    {\"id\": \"%d\", \"sid\": \"%s\", \"type\": %d, \"brand\": %d, \"tier\": %d, \"price\": %.2f, "
                   "\"launch\": %lld}%s\n",
                i, it->sid, it->type, it->brand_idx, it->tier, it->price, (long long)it->launch,
                i + 1 < w->n_items ? "," : "");
    }
    fputs("  ],\n  \"users\": [\n", f);
    static const char kinds[4] = { 's', 'u', 'r', 'n' };
    for (int ui = 0; ui < w->n_users; ui++) {
        const sidr_demo_user *u = &w->users[ui];
        fprintf(f, "    {\"id\": \"%s\", \"tier\": \"%s\", \"loyalty\": %.3f, \"noise\": %.3f, \"intents\": [", u->id,
                demo_tier_names[u->tier], u->loyalty, u->noise);
        for (int k = 0; k < u->n_intents; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", demo_intents[u->intent[k]].key);
        fputs("], \"kinds\": \"", f);
        for (int e = 0; e < u->n_events; e++) fputc(kinds[u->ev[e].kind & 3], f);
        fputs("\", \"slots\": \"", f);
        for (int e = 0; e < u->n_events; e++) fputc(u->ev[e].slot >= 0 ? '0' + u->ev[e].slot : '-', f);
        fprintf(f, "\"}%s\n", ui + 1 < w->n_users ? "," : "");
    }
    fputs("  ]\n}\n", f);
    return out_close(&o);
}

sidr_status sidr_demo_write(const sidr_demo_world *w, const char *dir, char ***paths, int *n)
{
    if (paths) *paths = NULL;
    if (n) *n = 0;
    if (!w || !w->items || !w->samples || !demo_p(w) || !demo_p(w)->have_sids)
        return sidr_fail(SIDR_ERR_ARG, "demo world: nothing to write (generate the world first)");
    static const char *const subs[] = { "train", "valid", "test", "info", "index" };
    sidr_status s = SIDR_OK;
    for (int k = 0; k < 5 && !s; k++) {
        char *d = path_join(dir, subs[k]);
        s = make_dirs(d);
        free(d);
    }
    if (s) return s;
    const char *cat = w->category;
    size_t cap = strlen(cat) + 64;
    char *nm = xmalloc(cap);
    char **out = xcalloc(16, sizeof *out);
    int k = 0;
#define PATH(...) (snprintf(nm, cap, __VA_ARGS__), out[k++] = path_join(dir, nm))
    for (int sp = 0; sp < 3 && !s; sp++) s = write_split(w, sp, PATH("%s/%s_demo.csv", subs[sp], cat));
    if (!s) s = write_info(w, PATH("info/%s_demo.txt", cat));
    if (!s) s = write_index(w, PATH("index/%s.index.json", cat));
    if (!s) s = write_items(w, PATH("index/%s.item.json", cat));
    if (!s) s = write_codebooks(w, PATH("index/%s.codebooks.safetensors", cat));
    if (!s) s = write_enhanced(w, PATH("index/%s.item_enhanced_v2.json", cat));
    if (!s) s = write_narratives(w, PATH("index/%s.integrated_narrative.csv", cat));
    if (!s) s = write_world_json(w, PATH("demo_world.json"));
#undef PATH
    free(nm);
    if (s || !paths) {
        for (int i = 0; i < k; i++) free(out[i]);
        free(out);
        return s;
    }
    *paths = out;
    if (n) *n = k;
    return SIDR_OK;
}

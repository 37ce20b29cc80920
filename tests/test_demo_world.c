/* The demo-world generator (src/demo_world.h): determinism, files that load
 * through the ordinary readers (sidr_dataset_load, task_enrichment_load),
 * the rules of the enriched texts (reasoning names history SIDs only, never a
 * title or the target; narratives end with the target SID), and the
 * baselines (popularity weak, the intent rule and the oracle far above it).
 * A small world (400 items, 600 users) in a temporary folder keeps it fast. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "dataset.h"
#include "demo_internal.h"
#include "demo_world.h"
#include "safetensors.h"
#include "tap.h"
#include "tasks.h"
#include "util.h"

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = read_file(a, &x, &nx) == SIDR_OK && read_file(b, &y, &ny) == SIDR_OK && nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

static void small_opts(sidr_demo_opts *o, uint64_t seed)
{
    sidr_demo_defaults(o);
    o->seed = seed;
    o->n_items = 400;
    o->n_users = 600;
}

static void free_paths(char **p, int n)
{
    for (int i = 0; i < n; i++) free(p[i]);
    free(p);
}

/* The history SIDs of a sample, as a set of strings. */
static int in_history(const sidr_demo_world *w, const sidr_demo_sample *s, const char *sid, size_t n)
{
    const sidr_demo_user *u = &w->users[s->user];
    int h0 = s->pos > SIDR_DEMO_HISTORY ? s->pos - SIDR_DEMO_HISTORY : 0;
    for (int e = h0; e < s->pos; e++) {
        const char *h = w->items[u->ev[e].item].sid;
        if (strlen(h) == n && !memcmp(h, sid, n)) return 1;
    }
    return 0;
}

/* Every SID written in text (a run of <x_N> tokens starting with <a_) is a history SID. */
static int sids_in_history(const sidr_demo_world *w, const sidr_demo_sample *s, const char *text, char *bad, size_t cap)
{
    for (const char *p = strstr(text, "<a_"); p; p = strstr(p, "<a_")) {
        const char *q = p;
        while (*q == '<') {
            const char *e = strchr(q, '>');
            if (!e) break;
            q = e + 1;
        }
        if (!in_history(w, s, p, (size_t)(q - p))) {
            snprintf(bad, cap, "%.*s", (int)(q - p), p);
            return 0;
        }
        p = q;
    }
    return 1;
}

static int count_words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        int sp = *s == ' ' || *s == '\n';
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

int main(void)
{
    char base[] = "/tmp/sidr_demo_XXXXXX";
    if (!mkdtemp(base)) return tap_skip_all("cannot create a temporary folder");
    char dA[600], dB[600], dC[600];
    snprintf(dA, sizeof dA, "%s/a", base);
    snprintf(dB, sizeof dB, "%s/b", base);
    snprintf(dC, sizeof dC, "%s/c", base);

    /* ---- options ---- */
    sidr_demo_opts o;
    sidr_demo_world w;
    small_opts(&o, 7);
    o.n_items = 10;
    tap_ok(sidr_demo_generate(&o, &w) == SIDR_ERR_ARG && strstr(sidr_last_error(), "items"),
           "too few items is refused: %s", sidr_last_error());
    small_opts(&o, 7);
    o.sid_codes = 500;
    tap_ok(sidr_demo_generate(&o, &w) == SIDR_ERR_ARG, "more codes than items is refused");
    small_opts(&o, 7);
    o.category = "bad/name";
    tap_ok(sidr_demo_generate(&o, &w) == SIDR_ERR_ARG, "a category that is not a plain name is refused");

    /* ---- generation and determinism ---- */
    small_opts(&o, 7);
    double t0 = now_seconds();
    sidr_status s = sidr_demo_generate(&o, &w);
    tap_ok(s == SIDR_OK, "generates a 400-item, 600-user world (%s)", s ? sidr_last_error() : "ok");
    if (s) {
        rm_rf(base);
        return tap_done();
    }
    tap_diag("generated in %.2fs: %d items, %d users, %d events, %d samples (%d/%d/%d), %d SID collisions", now_seconds() - t0,
             w.n_items, w.n_users, w.n_events, w.n_samples, w.split_n[0], w.split_n[1], w.split_n[2], w.sid_collisions);
    char **pa = NULL, **pb = NULL, **pc = NULL;
    int na = 0, nb = 0, nc = 0;
    s = sidr_demo_write(&w, dA, &pa, &na);
    tap_ok(s == SIDR_OK && na == 10, "writes 10 files (%d%s%s)", na, s ? ": " : "", s ? sidr_last_error() : "");
    {
        sidr_demo_world w2;
        tap_ok(sidr_demo_generate(&o, &w2) == SIDR_OK && sidr_demo_write(&w2, dB, &pb, &nb) == SIDR_OK && nb == na,
               "the same seed again");
        int same = 1;
        for (int i = 0; i < na && i < nb; i++)
            if (!same_file(pa[i], pb[i])) {
                tap_diag("differs: %s", pa[i]);
                same = 0;
            }
        tap_ok(same, "same seed: every file is byte-identical");
        sidr_demo_free(&w2);
        small_opts(&o, 8);
        tap_ok(sidr_demo_generate(&o, &w2) == SIDR_OK && sidr_demo_write(&w2, dC, &pc, &nc) == SIDR_OK && nc == na,
               "another seed");
        int differ = 0;
        for (int i = 0; i < na && i < nc; i++) differ += !same_file(pa[i], pc[i]);
        tap_ok(differ >= na - 1, "another seed: the files differ (%d of %d)", differ, na);
        sidr_demo_free(&w2);
    }

    /* ---- the catalogue ---- */
    {
        int ok_sid = 1, ok_text = 1, dup_title = 0;
        for (int i = 0; i < w.n_items; i++) {
            const sidr_demo_item *it = &w.items[i];
            ok_sid &= it->sid && sidr_sid_parse(it->sid, strlen(it->sid), (int[8]){ 0 }, 8) == 3;
            ok_text &= it->title[0] && it->description[0] && it->brand[0] && it->categories[0] && it->price > 0;
            ok_text &= it->narrative && strstr(it->narrative, it->sid) && !strstr(it->narrative, it->title);
            for (int j = 0; j < i && !dup_title; j++) dup_title = !strcmp(w.items[j].title, it->title);
        }
        tap_ok(ok_sid, "every item has a 3-level SID");
        tap_ok(ok_text, "every item has title, description, brand, categories, price and a narrative that names it "
                        "by SID, not by title");
        tap_ok(!dup_title, "titles are unique");
        tap_diag("item 0: %s | %s | %s", w.items[0].title, w.items[0].categories, w.items[0].sid);
    }

    /* ---- the files load through the dataset reader ---- */
    sidr_dataset ds;
    sidr_status sds = sidr_dataset_load(&ds, dA, NULL);
    tap_ok(sds == SIDR_OK, "sidr_dataset_load reads the world (%s)", sds ? sidr_last_error() : "ok");
    if (!sds) {
        tap_ok(!strcmp(ds.name, "Home_and_Hobby") && ds.layout == SIDR_LAYOUT_MINIONEREC, "MiniOneRec layout, %s", ds.name);
        tap_ok(ds.n_items == w.n_items && ds.n_items_with_sid == w.n_items && ds.sid_levels == 3,
               "items: %d (generator %d), all with 3-level SIDs", ds.n_items, w.n_items);
        tap_ok(ds.n_users == w.n_users, "users: %d (generator %d)", ds.n_users, w.n_users);
        tap_ok(ds.n_sid_collisions == w.sid_collisions, "SID collisions agree (%d)", ds.n_sid_collisions);
        int sizes_ok = 1;
        for (int sp = 0; sp < 3; sp++)
            sizes_ok &= ds.split[sp].present && ds.split[sp].n == w.split_n[sp] && !ds.split[sp].skipped_empty &&
                        !ds.split[sp].skipped_bad && !ds.split[sp].truncated;
        tap_ok(sizes_ok, "split sizes match the generator: %d / %d / %d", ds.split[0].n, ds.split[1].n, ds.split[2].n);
        int n = w.n_samples;
        tap_ok(w.split_n[0] == n * 8 / 10 && w.split_n[0] + w.split_n[1] == n * 9 / 10, "8:1:1 split of %d samples", n);
        int rows_ok = 1, hist_ok = 1, sid_ok = 1, time_ok = 1;
        for (int i = 0; i < n; i++) {
            const sidr_demo_sample *x = &w.samples[i];
            if (i && w.samples[i - 1].time > x->time) time_ok = 0;
            const sidr_sample *r = sidr_dataset_row(&ds, x->split, x->row);
            if (!r) {
                rows_ok = 0;
                continue;
            }
            const sidr_demo_user *u = &w.users[x->user];
            int want = x->pos < SIDR_DEMO_HISTORY ? x->pos : SIDR_DEMO_HISTORY;
            if (strcmp(ds.users[r->user].id, u->id) || r->target != u->ev[x->pos].item) rows_ok = 0;
            if (r->n_hist != want || r->n_hist > 10) hist_ok = 0;
            for (int h = 0; h < r->n_hist && hist_ok; h++)
                if (r->hist[h] != u->ev[x->pos - r->n_hist + h].item) hist_ok = 0;
            const sidr_item *t = &ds.items[r->target];
            if (!t->sid || !sidr_dataset_sid(&ds, t->sid) || strcmp(t->sid, w.items[r->target].sid)) sid_ok = 0;
            for (int h = 0; h < r->n_hist; h++)
                if (!ds.items[r->hist[h]].sid) sid_ok = 0;
        }
        tap_ok(rows_ok, "every CSV row is the generator's sample (user, target)");
        tap_ok(hist_ok, "histories are the previous <= 10 events");
        tap_ok(sid_ok, "every row's SIDs exist in the index and match the generator");
        tap_ok(time_ok, "samples are in target-time order");
        tap_ok(ds.n_title_mismatch == 0, "info.txt and item.json titles agree");

        /* enriched files */
        task_enrichment e;
        s = task_enrichment_load(&e, &ds);
        tap_ok(s == SIDR_OK, "task_enrichment_load reads the enriched files (%s)", s ? sidr_last_error() : "ok");
        if (!s) {
            tap_ok(e.n_item_narratives == w.n_items, "an llm_stage2 per item (%d of %d)", e.n_item_narratives, w.n_items);
            tap_ok(e.n_reasoning == n && e.n_user_narratives == n && e.csv_unmatched == 0 && e.csv_refused == 0,
                   "a reasoning_path and integrated_narrative per sample (%d, %d of %d; unmatched %d)", e.n_reasoning,
                   e.n_user_narratives, n, e.csv_unmatched);
            tap_ok(e.key && !strcmp(e.key, "split+row"), "rows matched by split+row (%s)", e.key ? e.key : "-");
            tap_ok(e.reasoning_names_target == 0, "no reasoning gives the target away (%d)", e.reasoning_names_target);
            int same = 1;
            for (int i = 0; i < n && same; i++) {
                const sidr_demo_sample *x = &w.samples[i];
                same = e.reasoning[x->split] && e.reasoning[x->split][x->row] &&
                       !strcmp(e.reasoning[x->split][x->row], x->reasoning);
            }
            tap_ok(same, "the loaded reasoning texts are the generator's");
            task_enrichment_free(&e, &ds);
        }
    }

    /* ---- the texts ---- */
    {
        int no_target = 1, no_title = 1, only_hist = 1, ends = 1, recites = 1, length = 1;
        int wmin = 1 << 30, wmax = 0;
        double wsum = 0;
        char bad[128] = "";
        for (int i = 0; i < w.n_samples; i++) {
            const sidr_demo_sample *x = &w.samples[i];
            const sidr_demo_user *u = &w.users[x->user];
            const sidr_demo_item *t = &w.items[u->ev[x->pos].item];
            const char *r = x->reasoning, *nr = x->narrative;
            if (strstr(r, t->sid)) no_target = 0;
            int h0 = x->pos > SIDR_DEMO_HISTORY ? x->pos - SIDR_DEMO_HISTORY : 0;
            if (strstr(r, t->title)) no_title = 0;
            for (int e = h0; e < x->pos; e++) {
                if (strstr(r, w.items[u->ev[e].item].title)) no_title = 0;
                if (!strstr(nr, w.items[u->ev[e].item].sid)) recites = 0;
            }
            if (only_hist && !sids_in_history(&w, x, r, bad, sizeof bad)) only_hist = 0;
            size_t ln = strlen(nr), ls = strlen(t->sid);
            if (ln < ls || strcmp(nr + ln - ls, t->sid)) ends = 0;
            int wc = count_words(r);
            if (wc < 60 || wc > 200) length = 0;
            wmin = wc < wmin ? wc : wmin;
            wmax = wc > wmax ? wc : wmax;
            wsum += wc;
        }
        tap_ok(no_target, "no reasoning contains its target's SID");
        tap_ok(no_title, "no reasoning contains a title");
        tap_ok(only_hist, "every SID a reasoning mentions is in its history%s%s", bad[0] ? ": not " : "", bad);
        tap_ok(length, "reasoning is 60..200 words (%d..%d, mean %.1f)", wmin, wmax, wsum / w.n_samples);
        tap_ok(ends, "every narrative ends with its target SID");
        tap_ok(recites, "every narrative recites its history SIDs");
        /* The reasoning is written from the history window alone: swapping
         * the target's item for another (whose SID the history does not
         * hold) and scrambling every latent fact the generator knows (the
         * target's and the history's kinds and projects, the user's tier,
         * projects and habits) leaves the text as it was. */
        {
            int tried = 0, same = 1;
            char first_diff[96] = "";
            for (int i = 0; i < w.n_samples && tried < 400; i++) {
                const sidr_demo_sample *x = &w.samples[i];
                sidr_demo_user *us = &w.users[x->user];
                sidr_demo_event *ev = &us->ev[x->pos];
                const int h0 = x->pos > SIDR_DEMO_HISTORY ? x->pos - SIDR_DEMO_HISTORY : 0, orig = ev->item;
                int other = -1;
                for (int j = 1; j < w.n_items && other < 0; j++) {
                    int c = (orig + 97 * j) % w.n_items, clash = w.items[c].type == w.items[orig].type;
                    for (int e = h0; e < x->pos && !clash; e++)
                        clash = !strcmp(w.items[w.users[x->user].ev[e].item].sid, w.items[c].sid) ||
                                !strcmp(w.items[w.users[x->user].ev[e].item].sid, w.items[orig].sid);
                    if (!clash) other = c;
                }
                if (other < 0) continue;
                /* the latent state, saved, scrambled, and put back */
                sidr_demo_user keep = *us;
                unsigned char kind[SIDR_DEMO_HISTORY + 1];
                signed char slot[SIDR_DEMO_HISTORY + 1];
                short step[SIDR_DEMO_HISTORY + 1];
                for (int e = h0; e <= x->pos; e++) {
                    sidr_demo_event *v = &us->ev[e];
                    kind[e - h0] = v->kind, slot[e - h0] = v->slot, step[e - h0] = v->step_type;
                    v->kind = (unsigned char)((v->kind + 1 + e % 3) % 4);
                    v->slot = (signed char)(v->slot < 0 ? 0 : -1);
                    v->step_type = (short)(w.items[other].type);
                }
                us->tier = (us->tier + 1) % 3;
                us->loyalty = 1 - us->loyalty;
                us->noise = 1 - us->noise;
                for (int k = 0; k < us->n_intents; k++) us->intent[k] = (us->intent[k] + 7) % w.n_intents;
                ev->item = other;
                char *again = demo_sample_reasoning(&w, x);
                *us = keep;
                for (int e = h0; e <= x->pos; e++) {
                    sidr_demo_event *v = &us->ev[e];
                    v->kind = kind[e - h0], v->slot = slot[e - h0], v->step_type = step[e - h0];
                }
                ev->item = orig;
                tried++;
                if (strcmp(again, x->reasoning) && same) {
                    same = 0;
                    snprintf(first_diff, sizeof first_diff, ": sample %d changes", i);
                }
                free(again);
            }
            tap_ok(same && tried > 100, "the reasoning is the same whatever the target item and the latent state (%d rows%s)",
                   tried, first_diff);
        }
        const sidr_demo_sample *x = &w.samples[w.split_first[2]];
        tap_diag("test row 0 reasoning: %s", x->reasoning);
        tap_diag("test row 0 narrative: %s", x->narrative);
    }

    /* ---- the other files ---- */
    {
        char p[700], *txt = NULL;
        snprintf(p, sizeof p, "%s/demo_world.json", dA);
        cJSON *root = read_file(p, &txt, NULL) == SIDR_OK ? cJSON_Parse(txt) : NULL;
        free(txt);
        const cJSON *counts = cJSON_GetObjectItemCaseSensitive(root, "counts");
        const cJSON *users = cJSON_GetObjectItemCaseSensitive(root, "users");
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(counts, "samples");
        tap_ok(cJSON_IsArray(users) && cJSON_GetArraySize(users) == w.n_users && cJSON_IsNumber(ns) &&
                   ns->valueint == w.n_samples,
               "demo_world.json parses, with the counts and every user's latent intents");
        cJSON_Delete(root);
        snprintf(p, sizeof p, "%s/index/Home_and_Hobby.codebooks.safetensors", dA);
        sidr_safetensors st;
        memset(&st, 0, sizeof st);
        int ok = sidr_st_open_file(&st, p) == SIDR_OK;
        const sidr_tensor *cb = ok ? sidr_st_find(&st, "codebook.0") : NULL;
        const sidr_tensor *codes = ok ? sidr_st_find(&st, "codes") : NULL;
        tap_ok(cb && cb->ndim == 2 && cb->shape[0] == 64 && codes && codes->shape[0] == w.n_items,
               "codebooks.safetensors holds the codebooks and codes, as sids build writes them");
        if (ok) sidr_st_close(&st);
    }

    /* ---- baselines ---- */
    {
        sidr_demo_baselines b;
        sidr_demo_baselines_compute(&w, 2, &b);
        tap_diag("test split, %d rows: HR@10 / NDCG@10", b.rows);
        tap_diag("  popularity   %.4f / %.4f", b.popularity_hr, b.popularity_ndcg);
        tap_diag("  intent rule  %.4f / %.4f", b.intent_hr, b.intent_ndcg);
        tap_diag("  oracle       %.4f / %.4f", b.oracle_hr, b.oracle_ndcg);
        tap_ok(b.rows == w.split_n[2], "baselines over the test rows");
        tap_ok(b.popularity_hr < 0.1, "popularity is weak: HR@10 %.4f < 0.1", b.popularity_hr);
        tap_ok(b.intent_hr >= 2 * b.popularity_hr && b.intent_hr > 0.1,
               "the history-only intent rule is at least 2x popularity (%.4f vs %.4f)", b.intent_hr, b.popularity_hr);
        tap_ok(b.oracle_hr >= b.intent_hr && b.oracle_hr >= 2 * b.popularity_hr,
               "the oracle is above both (%.4f)", b.oracle_hr);
        /* the per-row lists behind them: distinct SIDs, the rank pointing at the target */
        double *want[3] = { &b.popularity_hr, &b.intent_hr, &b.oracle_hr };
        for (int which = 0; which < 3; which++) {
            int hits = 0, good = 1;
            for (int r = 0; r < w.split_n[2]; r++) {
                const sidr_demo_sample *sm = &w.samples[w.split_first[2] + r];
                const char *sids[SIDR_DEMO_ORACLE_K], *t = w.items[w.users[sm->user].ev[sm->pos].item].sid;
                int n, rank = sidr_demo_baseline_rank(&w, (sidr_demo_baseline)which, sm, sids, &n);
                good &= n > 0 && n <= SIDR_DEMO_ORACLE_K && rank >= -1 && rank < n;
                for (int i = 0; i < n && good; i++) {
                    for (int j = 0; j < i; j++) good &= strcmp(sids[i], sids[j]) != 0;
                    good &= (i == rank) == !strcmp(sids[i], t);
                }
                /* the same list reduced here: the rule's items, the oracle's, in order and without repeats */
                int items[SIDR_DEMO_ORACLE_K], ni = 0, m = 0;
                if (which == SIDR_DEMO_INTENT_RULE) ni = sidr_demo_intent_rank(&w, sm, items, SIDR_DEMO_ORACLE_K);
                else if (which == SIDR_DEMO_ORACLE) {
                    ni = w.users[sm->user].ev[sm->pos].n_oracle;
                    memcpy(items, w.users[sm->user].ev[sm->pos].oracle, (size_t)ni * sizeof *items);
                }
                for (int i = 0; i < ni && good; i++) {
                    const char *x = w.items[items[i]].sid;
                    int seen = 0;
                    for (int j = 0; j < i; j++) seen |= !strcmp(w.items[items[j]].sid, x);
                    if (!seen) good &= m < n && !strcmp(sids[m++], x);
                }
                if (which != SIDR_DEMO_POPULARITY) good &= m == n;
                hits += rank >= 0;
            }
            tap_ok(good && fabs((double)hits / w.split_n[2] - *want[which]) < 1e-12,
                   "%s: per-row lists, the baseline's own items reduced to distinct SIDs, whose ranks give HR@10 %.4f", sidr_demo_baseline_name((sidr_demo_baseline)which),
                   (double)hits / w.split_n[2]);
        }
        int list[SIDR_DEMO_ORACLE_K];
        int k = sidr_demo_intent_rank(&w, &w.samples[0], list, SIDR_DEMO_ORACLE_K);
        int ok = k > 0 && k <= SIDR_DEMO_ORACLE_K;
        for (int i = 0; i < k; i++) ok &= list[i] >= 0 && list[i] < w.n_items;
        tap_ok(ok, "sidr_demo_intent_rank returns up to K items (%d)", k);
        int kinds = w.kind_count[0] + w.kind_count[1] + w.kind_count[2] + w.kind_count[3];
        tap_ok(kinds == w.n_events && w.kind_count[SIDR_DEMO_STEP] > kinds / 2 && w.kind_count[SIDR_DEMO_REFILL] > 0 &&
                   w.kind_count[SIDR_DEMO_UPGRADE] > 0 && w.kind_count[SIDR_DEMO_NOISE] > 0,
               "events: %d steps, %d upgrades, %d refills, %d noise", w.kind_count[0], w.kind_count[1], w.kind_count[2],
               w.kind_count[3]);
    }

    if (!sds) sidr_dataset_free(&ds);
    free_paths(pa, na);
    free_paths(pb, nb);
    free_paths(pc, nc);
    sidr_demo_free(&w);
    rm_rf(base);
    return tap_done();
}

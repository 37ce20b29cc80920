/* Baselines on the demo world's splits (demo_world.h): popularity, the
 * generator's oracle, and a history-only intent rule.  Hits count by SID
 * string (SPEC §1.6): a ranked list is reduced to distinct SIDs first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo_internal.h"
#include "util.h"

static void score(int rank, double *hr, double *ndcg)
{
    if (rank < 0) return;
    *hr += 1;
    *ndcg += 1 / log2(rank + 2.0);
}

/* Inserts (item, sc) into a best-first list of at most k (ties: lower index). */
static void top_insert(int *best, double *bs, int *nb, int k, int it, double sc)
{
    int j = *nb;
    if (j == k) {
        if (sc < bs[j - 1] || (sc == bs[j - 1] && it > best[j - 1])) return;
        j--;
    } else {
        (*nb)++;
    }
    while (j > 0 && (bs[j - 1] < sc || (bs[j - 1] == sc && best[j - 1] > it))) {
        best[j] = best[j - 1];
        bs[j] = bs[j - 1];
        j--;
    }
    best[j] = it;
    bs[j] = sc;
}

/* ---- the history-only intent rule ------------------------------------------------- */

void demo_read_history(const sidr_demo_world *w, const sidr_demo_sample *s, demo_reading *r)
{
    const demo_priv *p = demo_p(w);
    const sidr_demo_user *u = &w->users[s->user];
    memset(r, 0, sizeof *r);
    r->h0 = s->pos > SIDR_DEMO_HISTORY ? s->pos - SIDR_DEMO_HISTORY : 0;
    r->nh = s->pos - r->h0;
    const int nh = r->nh;
    for (int e = 0; e < nh; e++) r->hist[e] = u->ev[r->h0 + e].item;

    /* templates scored by the history's product types, recent ones counting more */
    for (int t = 0; t < demo_n_intents; t++) {
        const demo_intent_rt *ir = &p->intents[t];
        double sc = 0;
        for (int e = 0; e < nh; e++) {
            int ty = w->items[r->hist[e]].type;
            for (int q = 0; q < ir->n_steps; q++)
                if (ir->type[q] == ty) {
                    sc += pow(0.8, nh - 1 - e);
                    break;
                }
        }
        r->tscore[t] = sc > 0 ? sc * sc / sqrt((double)ir->n_steps) : 0;
        r->tsum += r->tscore[t];
    }

    /* product types to expect: unbought steps of the likely templates, earliest stage first */
    if (r->tsum > 0)
        for (int t = 0; t < demo_n_intents; t++) {
            if (!(r->tscore[t] > 0)) continue;
            const demo_intent_rt *ir = &p->intents[t];
            int no = r->n_open[t] = demo_open_steps(w, t, r->hist, nh, r->open[t]);
            for (int k = 0; k < no; k++) {
                int q = r->open[t][k];
                r->tw[ir->type[q]] += r->tscore[t] / r->tsum * pow(0.45, k) * (1 - ir->skip[q] / 200.0);
            }
        }

    /* brands and tier of the history */
    for (int d = 0; d < DEMO_DEPTS; d++) r->brand_dept[d] = -1;
    double tier_sum = 0;
    for (int e = 0; e < nh; e++) {
        const sidr_demo_item *it = &w->items[r->hist[e]];
        r->brand_dept[demo_type_dept(it->type)] = it->brand_idx;
        tier_sum += it->tier;
    }
    r->tier = nh ? (int)floor(tier_sum / nh + 0.5) : 1;
}

int demo_open_steps(const sidr_demo_world *w, int tmpl, const int *hist, int nh, int *open)
{
    const demo_intent_rt *ir = &demo_p(w)->intents[tmpl];
    int no = 0;
    for (int q = 0; q < ir->n_steps; q++) {
        int have = 0;
        for (int e = 0; e < nh && !have; e++) have = w->items[hist[e]].type == ir->type[q];
        if (!have) open[no++] = q;
    }
    /* steps of the lowest open stage first, in table order */
    for (int a = 0; a < no; a++)
        for (int b = a + 1; b < no; b++)
            if (ir->stage[open[b]] < ir->stage[open[a]]) {
                int x = open[a];
                open[a] = open[b];
                open[b] = x;
            }
    return no;
}

int sidr_demo_intent_rank(const sidr_demo_world *w, const sidr_demo_sample *s, int *out, int k)
{
    const demo_priv *p = demo_p(w);
    demo_reading rd;
    demo_read_history(w, s, &rd);
    const int nh = rd.nh;
    const int *hist = rd.hist;
    const double *tw = rd.tw;
    const int *brand_dept = rd.brand_dept;
    const int tier = rd.tier;
    if (k <= 0 || nh <= 0) return 0;

    /* item scores: P(type) x P(item | type), plus refills of the history's consumables */
    double *sc = xcalloc((size_t)w->n_items, sizeof *sc);
    static const double tier_fit[3] = { 1.0, 0.25, 0.05 };
    for (int t = 0; t < DEMO_N_TYPES; t++) {
        if (!(tw[t] > 0)) continue;
        int b = brand_dept[demo_type_dept(t)];
        double tot = 0;
        for (int q = p->type_first[t]; q < p->type_first[t + 1]; q++) {
            int i = p->type_items[q];
            tot += tier_fit[abs(w->items[i].tier - tier)] * (1 + p->train_pop[i]) * (w->items[i].brand_idx == b ? 4 : 1);
        }
        for (int q = p->type_first[t]; q < p->type_first[t + 1]; q++) {
            int i = p->type_items[q];
            sc[i] += tw[t] * tier_fit[abs(w->items[i].tier - tier)] * (1 + p->train_pop[i]) *
                     (w->items[i].brand_idx == b ? 4 : 1) / tot;
        }
    }
    for (int e = 0; e < nh; e++) {
        int i = hist[e];
        if (demo_type(w->items[i].type)->consumable) sc[i] += 0.08 * pow(0.85, nh - 1 - e);
    }
    int best[64], nb = 0;
    double bs[64];
    if (k > 64) k = 64;
    for (int i = 0; i < w->n_items; i++)
        if (sc[i] > 0) top_insert(best, bs, &nb, k, i, sc[i]);
    if (nb < k) { /* fill up with training popularity */
        int pb[64], np = 0;
        double ps[64];
        for (int i = 0; i < w->n_items; i++)
            if (!(sc[i] > 0)) top_insert(pb, ps, &np, k - nb, i, p->train_pop[i]);
        for (int j = 0; j < np; j++) best[nb++] = pb[j];
    }
    free(sc);
    memcpy(out, best, (size_t)nb * sizeof *out);
    return nb;
}

/* ---- baselines ---------------------------------------------------------------------- */

/* list[0..n) reduced to its first distinct SIDs, at most SIDR_DEMO_ORACLE_K. */
static int distinct_sids(const sidr_demo_world *w, const int *list, int n, const char **out)
{
    int m = 0;
    for (int k = 0; k < n && m < SIDR_DEMO_ORACLE_K; k++) {
        const char *s = w->items[list[k]].sid;
        int dup = 0;
        for (int j = 0; j < m && !dup; j++) dup = !strcmp(out[j], s);
        if (!dup) out[m++] = s;
    }
    return m;
}

void demo_popularity_build(sidr_demo_world *w)
{
    demo_priv *p = demo_p(w);
    double ps[SIDR_DEMO_ORACLE_K];
    p->n_pop = 0;
    for (int i = 0; i < w->n_items; i++)
        if (p->train_pop[i] > 0) top_insert(p->pop_list, ps, &p->n_pop, SIDR_DEMO_ORACLE_K, i, p->train_pop[i]);
}

int sidr_demo_baseline_sids(const sidr_demo_world *w, sidr_demo_baseline which, const sidr_demo_sample *s,
                            const char **out)
{
    const sidr_demo_event *ev = &w->users[s->user].ev[s->pos];
    const demo_priv *p = demo_p(w);
    int list[SIDR_DEMO_ORACLE_K], n;
    switch (which) {
    case SIDR_DEMO_POPULARITY: return distinct_sids(w, p->pop_list, p->n_pop, out);
    case SIDR_DEMO_ORACLE: return distinct_sids(w, ev->oracle, ev->n_oracle, out);
    default:
        n = sidr_demo_intent_rank(w, s, list, SIDR_DEMO_ORACLE_K);
        return distinct_sids(w, list, n, out);
    }
}

const char *sidr_demo_baseline_name(sidr_demo_baseline which)
{
    static const char *const names[] = { "popularity", "intent-rule", "oracle" };
    return names[which];
}

int sidr_demo_baseline_rank(const sidr_demo_world *w, sidr_demo_baseline which, const sidr_demo_sample *s,
                            const char **sids, int *n)
{
    const char *tsid = w->items[w->users[s->user].ev[s->pos].item].sid;
    *n = sidr_demo_baseline_sids(w, which, s, sids);
    for (int k = 0; k < *n; k++)
        if (!strcmp(sids[k], tsid)) return k;
    return -1;
}

void sidr_demo_baselines_compute(const sidr_demo_world *w, int split, sidr_demo_baselines *b)
{
    memset(b, 0, sizeof *b);
    if (split < 0 || split > 2 || !w->samples) return;
    double *hr[3] = { &b->popularity_hr, &b->intent_hr, &b->oracle_hr };
    double *ndcg[3] = { &b->popularity_ndcg, &b->intent_ndcg, &b->oracle_ndcg };
    const int first = w->split_first[split], n = w->split_n[split];
    for (int r = 0; r < n; r++)
        for (int which = 0; which < 3; which++) {
            const char *sids[SIDR_DEMO_ORACLE_K];
            int ns;
            score(sidr_demo_baseline_rank(w, (sidr_demo_baseline)which, &w->samples[first + r], sids, &ns), hr[which],
                  ndcg[which]);
        }
    b->rows = n;
    for (int which = 0; which < 3 && n; which++) {
        *hr[which] /= n;
        *ndcg[which] /= n;
    }
}

#define _POSIX_C_SOURCE 200809L
/* The demo world's simulation (demo_world.h): the catalogue, its Semantic IDs
 * (sidr's own TF-IDF + SVD embeddings and residual k-means), the users'
 * latent intents and purchase events with the generator's oracle, and the
 * paper's samples and chronological split.  Texts are in demo_text.c, files
 * in demo_write.c, baselines in demo_baselines.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_internal.h"
#include "rqvae.h"
#include "strmap.h"
#include "util.h"

#define WEEK 604800
#define DAY 86400
#define T0 1483315200LL /* Monday 2017-01-02 00:00 UTC */
#define TIMELINE_WEEKS 104

/* ---- RNG ---------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void demo_rng_seed(demo_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed * 0xD1B54A32D192ED03ULL ^ stream * 0x8CB92BA72F3D8DD7ULL;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t demo_rng_next(demo_rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

double demo_rng_unif(demo_rng *r) { return (double)(demo_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

int demo_rng_int(demo_rng *r, int n) { return n <= 1 ? 0 : (int)(demo_rng_unif(r) * n); }

int demo_rng_pick(demo_rng *r, const double *w, int n)
{
    double tot = 0;
    for (int i = 0; i < n; i++) tot += w[i] > 0 ? w[i] : 0;
    if (!(tot > 0)) return -1;
    double x = demo_rng_unif(r) * tot;
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (!(w[i] > 0)) continue;
        last = i;
        if (x < w[i]) return i;
        x -= w[i];
    }
    return last;
}

/* ---- options -------------------------------------------------------------------- */

void sidr_demo_defaults(sidr_demo_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 42;
    o->n_items = 2000;
    o->n_users = 4000;
    o->min_len = 5;
    o->max_len = 25;
    o->sid_levels = 3;
    o->sid_codes = 64;
    o->sid_dim = 64;
    o->category = "Home_and_Hobby";
}

static sidr_status check_opts(const sidr_demo_opts *o)
{
    if (o->n_items < 200 || o->n_items > 20000)
        return sidr_fail(SIDR_ERR_ARG, "demo world: items: expected 200..20000, got %d", o->n_items);
    if (o->n_users < 50 || o->n_users > 200000)
        return sidr_fail(SIDR_ERR_ARG, "demo world: users: expected 50..200000, got %d", o->n_users);
    if (o->min_len < 2 || o->max_len < o->min_len || o->max_len > 200)
        return sidr_fail(SIDR_ERR_ARG, "demo world: events per user: expected 2 <= min <= max <= 200, got %d..%d",
                         o->min_len, o->max_len);
    if (o->sid_levels < 1 || o->sid_levels > 7)
        return sidr_fail(SIDR_ERR_ARG, "demo world: SID levels: expected 1..7, got %d", o->sid_levels);
    if (o->sid_codes < 2 || o->sid_codes > o->n_items)
        return sidr_fail(SIDR_ERR_ARG, "demo world: SID codes per level: expected 2..%d (the item count), got %d",
                         o->n_items, o->sid_codes);
    if (o->sid_dim < 2 || o->sid_dim > 1024)
        return sidr_fail(SIDR_ERR_ARG, "demo world: embedding dimension: expected 2..1024, got %d", o->sid_dim);
    const char *c = o->category;
    if (!c || !*c || strlen(c) > 64)
        return sidr_fail(SIDR_ERR_ARG, "demo world: category: expected a name of 1..64 characters");
    for (; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-'))
            return sidr_fail(SIDR_ERR_ARG, "demo world: category '%s': expected letters, digits, '_' or '-'",
                             o->category);
    return SIDR_OK;
}

static int report(const sidr_demo_world *w, const char *stage, long done, long total)
{
    return w->opts.progress ? w->opts.progress(w->opts.user, stage, done, total) : 0;
}

int demo_week(const sidr_demo_world *w, int64_t t)
{
    const demo_priv *p = demo_p(w);
    int64_t k = (t - p->t0) / WEEK;
    return k < 0 ? 0 : k >= p->n_weeks ? p->n_weeks - 1 : (int)k;
}

int demo_launched(const sidr_demo_world *w, int item, int wk) { return demo_p(w)->launch_week[item] <= wk; }

/* ---- tables at run time ---------------------------------------------------------- */

static int type_by_name(const char *name)
{
    for (int t = 0; t < DEMO_N_TYPES; t++)
        if (!strcmp(demo_type(t)->name, name)) return t;
    return -1;
}

static sidr_status tables_init(sidr_demo_world *w)
{
    demo_priv *p = demo_p(w);
    if (demo_n_brands > 64 || demo_n_intents > 64)
        return sidr_fail(SIDR_ERR_ARG, "demo world: tables: at most 64 brands and 64 intents");
    for (int b = 0; b < demo_n_brands; b++) p->brand_cats[b] = demo_brands[b].cats;
    /* every category gets a brand of every tier */
    for (int d = 0; d < DEMO_DEPTS; d++)
        for (int c = 0; c < DEMO_CATS; c++)
            for (int tier = 0; tier < 3; tier++) {
                int first = -1, ok = 0;
                for (int b = 0; b < demo_n_brands; b++) {
                    if (demo_brands[b].dept != d || demo_brands[b].tier != tier) continue;
                    if (first < 0) first = b;
                    if (p->brand_cats[b] >> c & 1) ok = 1;
                }
                if (!ok && first >= 0) p->brand_cats[first] |= (unsigned char)(1u << c);
            }
    for (int t = 0; t < DEMO_N_TYPES; t++) p->type_intent[t] = p->type_step[t] = -1;
    for (int i = 0; i < demo_n_intents; i++) {
        demo_intent_rt *r = &p->intents[i];
        r->n_steps = 0;
        for (int s = 0; s < DEMO_MAX_STEPS && demo_intents[i].steps[s].type; s++) {
            int t = type_by_name(demo_intents[i].steps[s].type);
            if (t < 0)
                return sidr_fail(SIDR_ERR_ARG, "demo world: intent '%s': unknown product type '%s'",
                                 demo_intents[i].key, demo_intents[i].steps[s].type);
            r->type[r->n_steps] = t;
            r->stage[r->n_steps] = demo_intents[i].steps[s].stage;
            r->skip[r->n_steps] = demo_intents[i].steps[s].skip;
            if (p->type_intent[t] < 0) p->type_intent[t] = i, p->type_step[t] = r->n_steps;
            r->n_steps++;
        }
    }
    w->n_depts = DEMO_DEPTS;
    w->n_cats = DEMO_DEPTS * DEMO_CATS;
    w->n_types = DEMO_N_TYPES;
    w->n_brands = demo_n_brands;
    w->n_intents = demo_n_intents;
    return SIDR_OK;
}

/* ---- the catalogue ------------------------------------------------------------------ */

static double round_price(double x)
{
    if (x < 2) x = 2;
    return floor(x) + 0.99;
}

static sidr_status build_catalog(sidr_demo_world *w)
{
    demo_priv *p = demo_p(w);
    const int n = w->opts.n_items;
    demo_rng rng;
    demo_rng_seed(&rng, w->opts.seed, DEMO_STREAM_CATALOG);

    /* items per type: a floor for every type, the rest by popularity */
    int count[DEMO_N_TYPES];
    int floor_n = n >= 4 * DEMO_N_TYPES ? 4 : n >= 2 * DEMO_N_TYPES ? 2 : 1;
    double sum = 0, frac[DEMO_N_TYPES];
    for (int t = 0; t < DEMO_N_TYPES; t++) sum += demo_type(t)->pop;
    int rest = n - floor_n * DEMO_N_TYPES, given = 0;
    for (int t = 0; t < DEMO_N_TYPES; t++) {
        double x = rest * demo_type(t)->pop / sum;
        count[t] = floor_n + (int)x;
        frac[t] = x - floor(x);
        given += count[t];
    }
    while (given < n) { /* largest remainders first */
        int best = 0;
        for (int t = 1; t < DEMO_N_TYPES; t++)
            if (frac[t] > frac[best]) best = t;
        count[best]++;
        frac[best] = -1;
        given++;
    }

    w->n_items = n;
    w->items = xcalloc((size_t)n, sizeof *w->items);
    p->it = xcalloc((size_t)n, sizeof *p->it);
    p->launch_week = xcalloc((size_t)n, sizeof *p->launch_week);
    p->type_items = xmalloc((size_t)n * sizeof *p->type_items);
    p->t0 = T0;
    p->n_weeks = TIMELINE_WEEKS + 40; /* long histories run past the two years */

    sidr_strmap titles;
    sidr_strmap_init(&titles, (size_t)n * 2);
    static const double tier_mult[3] = { 0.6, 1.0, 1.75 };
    int i = 0;
    for (int t = 0; t < DEMO_N_TYPES; t++) {
        const demo_type_def *td = demo_type(t);
        const int dept = demo_type_dept(t), cat = demo_type_cat(t) % DEMO_CATS;
        p->type_first[t] = i;
        /* the brands making this category, in a shuffled order */
        int brands[16], nb = 0;
        for (int b = 0; b < demo_n_brands && nb < 16; b++)
            if (demo_brands[b].dept == dept && (p->brand_cats[b] >> cat & 1)) brands[nb++] = b;
        for (int k = nb - 1; k > 0; k--) {
            int j = demo_rng_int(&rng, k + 1), x = brands[k];
            brands[k] = brands[j];
            brands[j] = x;
        }
        int n_sizes = demo_list_n(td->sizes), n_var = demo_list_n(td->variants), n_pack = demo_list_n(td->packs);
        for (int k = 0; k < count[t]; k++, i++) {
            sidr_demo_item *it = &w->items[i];
            demo_item_rt *rt = &p->it[i];
            p->type_items[i] = i;
            it->type = t;
            it->brand_idx = brands[k % nb];
            const demo_brand_def *bd = &demo_brands[it->brand_idx];
            double u = demo_rng_unif(&rng);
            it->tier = bd->tier;
            if (u < 0.1 && it->tier < 2) it->tier++;      /* a "Pro" line */
            else if (u < 0.2 && it->tier > 0) it->tier--; /* an "Essentials" line */
            char *title = NULL;
            for (int attempt = 0; attempt < 12 && !title; attempt++) {
                rt->size = (signed char)(n_sizes ? demo_rng_int(&rng, n_sizes) : -1);
                rt->variant = (signed char)(n_var ? demo_rng_int(&rng, n_var) : -1);
                rt->color = (signed char)(td->colors ? demo_rng_int(&rng, demo_n_colors) : -1);
                rt->pack = (signed char)(n_pack ? demo_rng_int(&rng, n_pack) : -1);
                snprintf(rt->model, sizeof rt->model, "%s-%d%s", bd->code, 100 + demo_rng_int(&rng, 900),
                         demo_rng_unif(&rng) < 0.3 ? "X" : "");
                char *cand = demo_item_title(w, i, attempt >= 8);
                int dummy;
                if (sidr_strmap_get(&titles, cand, strlen(cand), &dummy)) free(cand);
                else title = cand;
            }
            if (!title) { /* give up on variety: number it */
                char *base = demo_item_title(w, i, 1);
                size_t ln = strlen(base) + 24;
                title = xmalloc(ln);
                snprintf(title, ln, "%s (Set %d)", base, i);
                free(base);
            }
            sidr_strmap_put(&titles, title, strlen(title), i);
            it->title = title;
            it->brand = xstrdup(bd->name);
            it->categories = xstrdup(sidr_demo_type_path(t));
            double price = td->price * tier_mult[it->tier];
            if (rt->size >= 0) price *= 1 + 0.35 * rt->size;
            if (rt->pack >= 0) price *= 1 + 0.6 * rt->pack;
            it->price = round_price(price * (0.85 + 0.3 * demo_rng_unif(&rng)));
            /* launch: most items are on sale from the start, some arrive later */
            if (k == 0 || demo_rng_unif(&rng) < 0.75) {
                p->launch_week[i] = 0;
                it->launch = T0 - (int64_t)(demo_rng_unif(&rng) * 300) * DAY;
            } else {
                p->launch_week[i] = 1 + demo_rng_int(&rng, TIMELINE_WEEKS * 9 / 10);
                it->launch = T0 + (int64_t)p->launch_week[i] * WEEK;
            }
            static const double tier_pop[3] = { 1.25, 1.0, 0.7 };
            rt->pop = td->pop * tier_pop[it->tier] * (0.3 + 1.4 * demo_rng_unif(&rng));
            rt->hot_week = -1;
            if (demo_rng_unif(&rng) < 0.06) {
                rt->hot_week = p->launch_week[i] + demo_rng_int(&rng, TIMELINE_WEEKS + 8);
                rt->hot_amp = (float)(4 + 12 * demo_rng_unif(&rng));
                rt->hot_width = (float)(3 + 5 * demo_rng_unif(&rng));
            }
        }
    }
    p->type_first[DEMO_N_TYPES] = i;
    sidr_strmap_free(&titles);
    for (int k = 0; k < n; k++) w->items[k].description = demo_item_description(w, k);
    return SIDR_OK;
}

/* ---- SIDs ------------------------------------------------------------------------------ */

const char *sidr_demo_sid_method_name(const sidr_demo_opts *o)
{
    return o->sid_rqvae ? "rqvae" : "rqkmeans";
}

/* The RQ-VAE's epochs as the world's progress stage "sids (RQ-VAE)". */
static int rqvae_progress(void *user, const sidr_rqvae_progress *pr)
{
    const sidr_demo_world *w = user;
    return w->opts.progress ? w->opts.progress(w->opts.user, "sids (RQ-VAE)", pr->epoch, pr->epochs) : 0;
}

static sidr_status build_sids(sidr_demo_world *w)
{
    demo_priv *p = demo_p(w);
    const int n = w->n_items;
    sidr_item_text *txt = xmalloc((size_t)n * sizeof *txt);
    for (int i = 0; i < n; i++)
        txt[i] = (sidr_item_text){ w->items[i].title, w->items[i].description, w->items[i].brand,
                                   w->items[i].categories };
    sidr_embed_opts eo;
    sidr_embed_defaults(&eo);
    eo.dim = w->opts.sid_dim;
    eo.seed = w->opts.seed;
    eo.progress = w->opts.progress;
    eo.user = w->opts.user;
    sidr_status s = sidr_item_embed(txt, n, NULL, 0, &eo, &p->emb);
    free(txt);
    if (s) return sidr_fail_context(s, "demo world: item embeddings: ");
    sidr_rq_opts ro;
    sidr_rq_defaults(&ro);
    ro.levels = w->opts.sid_levels;
    ro.codes = w->opts.sid_codes;
    ro.seed = w->opts.seed;
    ro.progress = w->opts.progress;
    ro.user = w->opts.user;
    if (w->opts.sid_rqvae) {
        sidr_rqvae_opts vo;
        sidr_rqvae_defaults(&vo);
        vo.rq = ro;
        vo.seed = w->opts.seed;
        vo.progress = rqvae_progress;
        vo.user = w;
        sidr_rqvae_result vr;
        if ((s = sidr_rqvae_build(p->emb.emb, n, p->emb.dim, &vo, &vr)))
            return sidr_fail_context(s, "demo world: RQ-VAE: ");
        p->rq = vr.rq; /* the codes and codebooks (latent space) are all the world keeps */
        memset(&vr.rq, 0, sizeof vr.rq);
        sidr_rqvae_result_free(&vr);
    } else if ((s = sidr_rq_build(p->emb.emb, n, p->emb.dim, &ro, &p->rq)))
        return sidr_fail_context(s, "demo world: residual k-means: ");
    p->have_sids = 1;
    const sidr_rq_result *r = &p->rq;
    w->sid_levels = r->depth;
    w->sid_codes = r->codes;
    w->sid_collisions = r->collisions_final;
    for (int i = 0; i < n; i++) {
        char buf[8 * 16] = "";
        size_t k = 0;
        for (int l = 0; l < r->depth; l++) {
            w->items[i].code[l] = r->code[(size_t)i * r->depth + l];
            k += (size_t)snprintf(buf + k, sizeof buf - k, "<%c_%d>", 'a' + l, w->items[i].code[l]);
        }
        w->items[i].sid = xstrdup(buf);
    }
    return SIDR_OK;
}

/* ---- popularity over time ------------------------------------------------------------------ */

static void build_popularity(sidr_demo_world *w)
{
    demo_priv *p = demo_p(w);
    const int n = w->n_items, W = p->n_weeks;
    p->ntop_k = 2 * SIDR_DEMO_ORACLE_K;
    p->popw = xmalloc((size_t)W * n * sizeof *p->popw);
    p->ncdf = xmalloc((size_t)W * n * sizeof *p->ncdf);
    p->ntop = xmalloc((size_t)W * p->ntop_k * sizeof *p->ntop);
    for (int wk = 0; wk < W; wk++) {
        double *pw = p->popw + (size_t)wk * n, *cdf = p->ncdf + (size_t)wk * n, acc = 0;
        for (int i = 0; i < n; i++) {
            const demo_item_rt *rt = &p->it[i];
            double x = 0;
            if (p->launch_week[i] <= wk) {
                x = rt->pop;
                if (rt->hot_week >= 0) {
                    double z = (wk - rt->hot_week) / rt->hot_width;
                    x *= 1 + rt->hot_amp * exp(-z * z);
                }
                if (p->launch_week[i] > 0) x *= 1 + 2.0 * exp(-(wk - p->launch_week[i]) / 6.0); /* new release */
            }
            pw[i] = x;
            acc += x;
            cdf[i] = acc;
        }
        /* the week's most popular items, best first (ties by index) */
        int *top = p->ntop + (size_t)wk * p->ntop_k, nt = 0;
        for (int i = 0; i < n; i++) {
            if (!(pw[i] > 0)) continue;
            int j = nt < p->ntop_k ? nt++ : p->ntop_k;
            if (j == p->ntop_k && pw[i] <= pw[top[p->ntop_k - 1]]) continue;
            if (j == p->ntop_k) j = p->ntop_k - 1;
            while (j > 0 && pw[top[j - 1]] < pw[i]) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = i;
        }
        for (int k = nt; k < p->ntop_k; k++) top[k] = -1;
    }
}

/* ---- users ------------------------------------------------------------------------------------ */

typedef struct {
    int tmpl;
    unsigned done, skip; /* step bitmasks */
    int started;         /* event index */
} slot_state;

/* One way the next event can happen: its kind, the intent slot, the product
 * type, its probability, and the items it leads to. */
typedef struct {
    unsigned char kind;
    signed char slot;
    short type;
    double mass;
    int first, n; /* into the entry list */
} component;

typedef struct {
    int item;
    double p; /* within the component */
} entry;

typedef struct {
    component *c;
    int nc, cc;
    entry *e;
    int ne, ce;
    double *acc;  /* per item: total probability of the non-noise components */
    int *touched, nt;
    double *w;    /* scratch weights (n_items + 1024) */
} mixture;

/* Inserts (it, sc) into best[0..*nb), kept sorted by score (ties: lower index
 * first) and at most SIDR_DEMO_ORACLE_K long. */
static void topk_insert(int *best, double *bs, int *nb, int it, double sc)
{
    int j = *nb;
    if (j == SIDR_DEMO_ORACLE_K) {
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

static void mix_clear(mixture *m, int n_items)
{
    for (int k = 0; k < m->nt; k++) m->acc[m->touched[k]] = 0;
    m->nt = 0;
    m->nc = m->ne = 0;
    (void)n_items;
}

static component *mix_comp(mixture *m, int kind, int slot, int type, double mass)
{
    if (m->nc == m->cc) m->cc = m->cc ? 2 * m->cc : 32, m->c = xrealloc(m->c, (size_t)m->cc * sizeof *m->c);
    component *c = &m->c[m->nc++];
    *c = (component){ (unsigned char)kind, (signed char)slot, (short)type, mass, m->ne, 0 };
    return c;
}

static void mix_entry(mixture *m, component *c, int item, double p)
{
    if (!(p > 0)) return;
    if (m->ne == m->ce) m->ce = m->ce ? 2 * m->ce : 256, m->e = xrealloc(m->e, (size_t)m->ce * sizeof *m->e);
    m->e[m->ne++] = (entry){ item, p };
    c->n++;
}

typedef struct {
    const sidr_demo_world *w;
    const sidr_demo_user *u;
    int brand_pref[DEMO_DEPTS];
    int wk;
} user_ctx;

static const double tier_w[3] = { 1.0, 0.22, 0.04 };

/* P(item | type) for this user now: tier fit x popularity, with loyalty to the
 * brand last bought in the department.  Adds the entries to c scaled by 1. */
static void choose_items(mixture *m, component *c, const user_ctx *x, int type, int prefer_brand)
{
    const demo_priv *p = demo_p(x->w);
    const double *pw = p->popw + (size_t)x->wk * x->w->n_items;
    int b = prefer_brand >= 0 ? prefer_brand : x->brand_pref[demo_type_dept(type)];
    double tot = 0, totb = 0;
    for (int k = p->type_first[type]; k < p->type_first[type + 1]; k++) {
        int i = p->type_items[k];
        double s = tier_w[abs(x->w->items[i].tier - x->u->tier)] * pw[i];
        tot += s;
        if (x->w->items[i].brand_idx == b) totb += s;
    }
    if (!(tot > 0)) return;
    double loyal = totb > 0 ? x->u->loyalty : 0;
    for (int k = p->type_first[type]; k < p->type_first[type + 1]; k++) {
        int i = p->type_items[k];
        double s = tier_w[abs(x->w->items[i].tier - x->u->tier)] * pw[i];
        double q = (1 - loyal) * s / tot + (x->w->items[i].brand_idx == b && totb > 0 ? loyal * s / totb : 0);
        mix_entry(m, c, i, q);
    }
}

static int upgrade_target(const sidr_demo_world *w, int owned, int cand)
{
    const sidr_demo_item *a = &w->items[owned], *b = &w->items[cand];
    const demo_priv *p = demo_p(w);
    return a->type == b->type && (b->tier > a->tier || (b->tier == a->tier && p->it[cand].size > p->it[owned].size));
}

static int pick_template(const demo_priv *p, demo_rng *rng, const int *used, int n_used)
{
    double wts[64];
    for (int t = 0; t < demo_n_intents; t++) {
        wts[t] = demo_intents[t].weight;
        int related = 0;
        for (int k = 0; k < n_used; k++) {
            if (used[k] == t) wts[t] = 0;
            /* projects near an earlier one (same department of its first step) are likelier */
            if (demo_type_dept(p->intents[used[k]].type[0]) == demo_type_dept(p->intents[t].type[0]))
                related = 1;
        }
        if (related) wts[t] *= 3;
    }
    return demo_rng_pick(rng, wts, demo_n_intents);
}

static void simulate_user(sidr_demo_world *w, int ui, mixture *m)
{
    demo_priv *p = demo_p(w);
    sidr_demo_user *u = &w->users[ui];
    demo_rng rng;
    demo_rng_seed(&rng, w->opts.seed, ((uint64_t)DEMO_STREAM_USER << 40) | (uint64_t)ui);
    snprintf(u->id, sizeof u->id, "U%05d", ui + 1);
    double r = demo_rng_unif(&rng);
    u->tier = r < 0.3 ? 0 : r < 0.75 ? 1 : 2;
    u->loyalty = (float)(0.3 + 0.65 * pow(demo_rng_unif(&rng), 0.7));
    u->noise = (float)(0.04 + 0.14 * demo_rng_unif(&rng));
    int span = w->opts.max_len - w->opts.min_len + 1;
    u->n_events = w->opts.min_len + (int)(span * pow(demo_rng_unif(&rng), 2.2));
    if (u->n_events > w->opts.max_len) u->n_events = w->opts.max_len;
    u->ev = xcalloc((size_t)u->n_events, sizeof *u->ev);
    double est_days = u->n_events * 10.5;
    double room = TIMELINE_WEEKS * 7.0 - est_days;
    int64_t t = T0 + (int64_t)((room > 0 ? room : 0) * demo_rng_unif(&rng) * DAY) +
                (int64_t)(demo_rng_unif(&rng) * DAY);

    user_ctx x = { w, u, { 0 }, 0 };
    for (int d = 0; d < DEMO_DEPTS; d++) x.brand_pref[d] = -1;
    slot_state slots[SIDR_DEMO_MAX_INTENTS];

    for (int e = 0; e < u->n_events; e++) {
        x.wk = demo_week(w, t);
        /* which slots still have steps */
        int active = 0, newest = -1;
        for (int s = 0; s < u->n_intents; s++) {
            const demo_intent_rt *ir = &p->intents[slots[s].tmpl];
            unsigned all = (1u << ir->n_steps) - 1;
            if ((slots[s].done | slots[s].skip) != all) active++, newest = s;
        }
        /* a new project: at the start, when the others are done, and now and then alongside */
        int start = e == 0 || (active == 0 && demo_rng_unif(&rng) < 0.55) ||
                    (active == 1 && demo_rng_unif(&rng) < 0.05);
        if (start && u->n_intents < SIDR_DEMO_MAX_INTENTS) {
            int tm = pick_template(p, &rng, u->intent, u->n_intents);
            if (tm >= 0) {
                slot_state *ss = &slots[u->n_intents];
                ss->tmpl = tm;
                ss->done = ss->skip = 0;
                ss->started = e;
                const demo_intent_rt *ir = &p->intents[tm];
                int kept = ir->n_steps;
                for (int k = 0; k < ir->n_steps; k++)
                    if (kept > 2 && demo_rng_int(&rng, 100) < ir->skip[k]) ss->skip |= 1u << k, kept--;
                /* steps already owned (from another project) are done */
                for (int k = 0; k < ir->n_steps; k++)
                    for (int q = 0; q < e; q++)
                        if (w->items[u->ev[q].item].type == ir->type[k]) ss->done |= 1u << k;
                u->intent[u->n_intents++] = tm;
                newest = u->n_intents - 1;
                active++;
            }
        }

        /* the mixture over items */
        mix_clear(m, w->n_items);
        double step_mass = 0;
        for (int s = 0; s < u->n_intents; s++) {
            const demo_intent_rt *ir = &p->intents[slots[s].tmpl];
            unsigned open = ~(slots[s].done | slots[s].skip) & ((1u << ir->n_steps) - 1);
            if (!open) continue;
            int min_stage = 99;
            for (int k = 0; k < ir->n_steps; k++)
                if (open >> k & 1 && ir->stage[k] < min_stage) min_stage = ir->stage[k];
            double slot_w = s == newest ? 1.0 : 0.4, wsum = 0, ws[DEMO_MAX_STEPS];
            int rank = 0;
            for (int k = 0; k < ir->n_steps; k++) {
                ws[k] = 0;
                if (!(open >> k & 1) || ir->stage[k] != min_stage) continue;
                ws[k] = 1.0 / (1 + 0.7 * rank++);
                wsum += ws[k];
            }
            for (int k = 0; k < ir->n_steps; k++) {
                if (!(ws[k] > 0)) continue;
                component *c = mix_comp(m, SIDR_DEMO_STEP, s, ir->type[k], slot_w * ws[k] / wsum);
                choose_items(m, c, &x, ir->type[k], -1);
                step_mass += c->mass;
            }
        }
        double sm = step_mass > 0 ? 1.0 : 0.0;
        if (step_mass > 0)
            for (int k = 0; k < m->nc; k++) m->c[k].mass /= step_mass;
        /* refills: consumables bought before, the same item or another of its type */
        int cons_types[64], n_cons = 0;
        for (int q = e - 1; q >= 0 && n_cons < 64; q--) {
            int ty = w->items[u->ev[q].item].type, seen = 0;
            if (!demo_type(ty)->consumable || u->ev[q].kind == SIDR_DEMO_NOISE) continue;
            for (int k = 0; k < n_cons; k++) seen |= cons_types[k] == ty;
            if (!seen) cons_types[n_cons++] = ty;
        }
        double refill_mass = n_cons ? (sm > 0 ? 0.16 : 0.5) : 0;
        for (int k = 0; k < n_cons; k++) {
            int last = -1;
            for (int q = e - 1; q >= 0 && last < 0; q--)
                if (w->items[u->ev[q].item].type == cons_types[k]) last = u->ev[q].item;
            component *c = mix_comp(m, SIDR_DEMO_REFILL, -1, cons_types[k], refill_mass / n_cons);
            mix_entry(m, c, last, 0.65);
            int first = c->first + c->n;
            choose_items(m, c, &x, cons_types[k], w->items[last].brand_idx);
            for (int q = first; q < c->first + c->n; q++) m->e[q].p *= 0.35;
        }
        /* upgrades of durable things owned */
        int upg[64], n_upg = 0;
        for (int q = 0; q < e && n_upg < 64; q++) {
            int it = u->ev[q].item;
            if (u->ev[q].kind == SIDR_DEMO_NOISE || demo_type(w->items[it].type)->consumable) continue;
            int ok = 0, dup = 0;
            for (int k = 0; k < n_upg; k++) dup |= w->items[upg[k]].type == w->items[it].type;
            const int ty = w->items[it].type;
            for (int k = p->type_first[ty]; k < p->type_first[ty + 1] && !ok; k++)
                ok = upgrade_target(w, it, p->type_items[k]) && demo_launched(w, p->type_items[k], x.wk);
            if (ok && !dup) upg[n_upg++] = it;
        }
        double upg_mass = n_upg ? (sm > 0 ? 0.05 : 0.25) : 0;
        const double *pw = p->popw + (size_t)x.wk * w->n_items;
        for (int k = 0; k < n_upg; k++) {
            int it = upg[k], ty = w->items[it].type;
            component *c = mix_comp(m, SIDR_DEMO_UPGRADE, -1, ty, upg_mass / n_upg);
            double tot = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int q = p->type_first[ty]; q < p->type_first[ty + 1]; q++) {
                    int j = p->type_items[q];
                    if (!upgrade_target(w, it, j)) continue;
                    double s = pw[j] * (w->items[j].brand_idx == w->items[it].brand_idx ? 3 : 1) *
                               (w->items[j].tier == w->items[it].tier + 1 ? 1.5 : 1);
                    if (pass == 0) tot += s;
                    else if (tot > 0) mix_entry(m, c, j, s / tot);
                }
        }
        /* noise: the week's popularity */
        double other = sm + refill_mass + upg_mass;
        double noise_mass = other > 0 ? other * u->noise / (1 - u->noise) : 1;
        double total = other + noise_mass;
        for (int k = 0; k < m->nc; k++) m->c[k].mass /= total;
        noise_mass /= total;

        /* accumulate for the oracle */
        for (int k = 0; k < m->nc; k++)
            for (int q = m->c[k].first; q < m->c[k].first + m->c[k].n; q++) {
                int it = m->e[q].item;
                if (m->acc[it] == 0) m->touched[m->nt++] = it;
                m->acc[it] += m->c[k].mass * m->e[q].p;
            }
        const double *cdf = p->ncdf + (size_t)x.wk * w->n_items;
        const double ntot = cdf[w->n_items - 1];
        sidr_demo_event *ev = &u->ev[e];
        {
            int best[SIDR_DEMO_ORACLE_K], nb = 0;
            double bs[SIDR_DEMO_ORACLE_K];
            const int *top = p->ntop + (size_t)x.wk * p->ntop_k;
            for (int k = 0; k < m->nt; k++) {
                int it = m->touched[k];
                topk_insert(best, bs, &nb, it, m->acc[it] + noise_mass * pw[it] / ntot);
            }
            for (int k = 0; k < p->ntop_k; k++) /* items only noise can bring */
                if (top[k] >= 0 && m->acc[top[k]] == 0) topk_insert(best, bs, &nb, top[k], noise_mass * pw[top[k]] / ntot);
            ev->n_oracle = nb;
            memcpy(ev->oracle, best, (size_t)nb * sizeof *best);
        }

        /* draw the event: a component, then an item */
        const int nc = m->nc;
        for (int k = 0; k < nc; k++) m->w[k] = m->c[k].mass;
        m->w[nc] = noise_mass;
        int ck = demo_rng_pick(&rng, m->w, nc + 1);
        int item = -1;
        if (ck >= 0 && ck < nc) {
            const component *c = &m->c[ck];
            for (int q = 0; q < c->n; q++) m->w[q] = m->e[c->first + q].p;
            int q = demo_rng_pick(&rng, m->w, c->n);
            if (q >= 0) {
                item = m->e[c->first + q].item;
                ev->kind = c->kind;
                ev->slot = c->slot;
                ev->step_type = c->type;
            }
        }
        if (item < 0) { /* noise */
            double y = demo_rng_unif(&rng) * ntot;
            int lo = 0, hi = w->n_items - 1;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (cdf[mid] > y) hi = mid;
                else lo = mid + 1;
            }
            item = lo;
            ev->kind = SIDR_DEMO_NOISE;
            ev->slot = -1;
            ev->step_type = (short)w->items[item].type;
        }
        ev->item = item;
        ev->time = t;
        /* the state after it */
        const int ty = w->items[item].type;
        for (int s = 0; s < u->n_intents; s++) {
            const demo_intent_rt *ir = &p->intents[slots[s].tmpl];
            for (int k = 0; k < ir->n_steps; k++)
                if (ir->type[k] == ty) slots[s].done |= 1u << k;
        }
        if (ev->kind != SIDR_DEMO_NOISE) x.brand_pref[demo_type_dept(ty)] = w->items[item].brand_idx;
        w->kind_count[ev->kind]++;
        t += (int64_t)((0.5 + 10.0 * -log(1 - demo_rng_unif(&rng))) * DAY) + demo_rng_int(&rng, 3600);
    }
}

static sidr_status build_users(sidr_demo_world *w)
{
    demo_priv *p = demo_p(w);
    const int n = w->opts.n_users;
    w->n_users = n;
    w->users = xcalloc((size_t)n, sizeof *w->users);
    mixture m;
    memset(&m, 0, sizeof m);
    m.acc = xcalloc((size_t)w->n_items, sizeof *m.acc);
    m.touched = xmalloc((size_t)w->n_items * sizeof *m.touched);
    m.w = xmalloc(((size_t)w->n_items + 1024) * sizeof *m.w);
    sidr_status s = SIDR_OK;
    for (int u = 0; u < n; u++) {
        simulate_user(w, u, &m);
        w->n_events += w->users[u].n_events;
        if ((u % 256 == 0 || u == n - 1) && report(w, "users", u + 1, n)) {
            s = sidr_fail(SIDR_ERR_CANCELLED, "demo world: cancelled");
            break;
        }
    }
    free(m.acc);
    free(m.touched);
    free(m.w);
    free(m.c);
    free(m.e);
    free(p->popw);
    free(p->ncdf);
    free(p->ntop);
    p->popw = p->ncdf = NULL;
    p->ntop = NULL;
    return s;
}

/* ---- samples --------------------------------------------------------------------------------- */

static int cmp_sample(const void *a, const void *b)
{
    const sidr_demo_sample *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void build_samples(sidr_demo_world *w)
{
    demo_priv *p = demo_p(w);
    int n = 0;
    for (int u = 0; u < w->n_users; u++) n += w->users[u].n_events - 1;
    w->samples = xcalloc((size_t)(n ? n : 1), sizeof *w->samples);
    int k = 0;
    for (int u = 0; u < w->n_users; u++)
        for (int pos = 1; pos < w->users[u].n_events; pos++)
            w->samples[k++] = (sidr_demo_sample){ u, pos, 0, 0, w->users[u].ev[pos].time, NULL, NULL };
    qsort(w->samples, (size_t)n, sizeof *w->samples, cmp_sample);
    w->n_samples = n;
    int cut1 = (int)((int64_t)n * 8 / 10), cut2 = (int)((int64_t)n * 9 / 10);
    w->split_first[0] = 0;
    w->split_first[1] = cut1;
    w->split_first[2] = cut2;
    w->split_n[0] = cut1;
    w->split_n[1] = cut2 - cut1;
    w->split_n[2] = n - cut2;
    for (int i = 0; i < n; i++) {
        int s = i < cut1 ? 0 : i < cut2 ? 1 : 2;
        w->samples[i].split = s;
        w->samples[i].row = i - w->split_first[s];
    }
    p->train_pop = xcalloc((size_t)w->n_items, sizeof *p->train_pop);
    for (int i = 0; i < cut1; i++) {
        const sidr_demo_sample *s = &w->samples[i];
        p->train_pop[w->users[s->user].ev[s->pos].item] += 1;
    }
    demo_popularity_build(w);
}

/* ---- texts ------------------------------------------------------------------------------------ */

static sidr_status build_texts(sidr_demo_world *w)
{
    for (int i = 0; i < w->n_items; i++) w->items[i].narrative = demo_item_narrative(w, i);
    for (int i = 0; i < w->n_samples; i++) {
        sidr_demo_sample *s = &w->samples[i];
        s->reasoning = demo_sample_reasoning(w, s);
        s->narrative = demo_sample_narrative(w, s);
        if ((i % 2048 == 0 || i == w->n_samples - 1) && report(w, "texts", i + 1, w->n_samples))
            return sidr_fail(SIDR_ERR_CANCELLED, "demo world: cancelled");
    }
    return SIDR_OK;
}

/* ---- the world ---------------------------------------------------------------------------------- */

sidr_status sidr_demo_generate(const sidr_demo_opts *o, sidr_demo_world *w)
{
    memset(w, 0, sizeof *w);
    sidr_demo_opts def;
    if (!o) {
        sidr_demo_defaults(&def);
        o = &def;
    }
    sidr_status s = check_opts(o);
    if (s) return s;
    w->opts = *o;
    w->category = xstrdup(o->category);
    w->opts.category = w->category;
    w->priv = xcalloc(1, sizeof(demo_priv));
    double t = now_seconds(), t1;
    if ((s = tables_init(w))) goto fail;
    if (report(w, "catalogue", 0, 1)) goto cancel;
    if ((s = build_catalog(w))) goto fail;
    if (report(w, "catalogue", 1, 1)) goto cancel;
    t1 = now_seconds();
    w->seconds_catalog = t1 - t;
    t = t1;
    if ((s = build_sids(w))) goto fail;
    t1 = now_seconds();
    w->seconds_sids = t1 - t;
    t = t1;
    build_popularity(w);
    if ((s = build_users(w))) goto fail;
    build_samples(w);
    t1 = now_seconds();
    w->seconds_users = t1 - t;
    t = t1;
    if ((s = build_texts(w))) goto fail;
    w->seconds_text = now_seconds() - t;
    return SIDR_OK;
cancel:
    s = sidr_fail(SIDR_ERR_CANCELLED, "demo world: cancelled");
fail:
    sidr_demo_free(w);
    return s;
}

void sidr_demo_free(sidr_demo_world *w)
{
    if (!w) return;
    for (int i = 0; w->items && i < w->n_items; i++) {
        sidr_demo_item *it = &w->items[i];
        free(it->title);
        free(it->description);
        free(it->brand);
        free(it->categories);
        free(it->narrative);
        free(it->sid);
    }
    free(w->items);
    for (int u = 0; w->users && u < w->n_users; u++) free(w->users[u].ev);
    free(w->users);
    for (int i = 0; w->samples && i < w->n_samples; i++) {
        free(w->samples[i].reasoning);
        free(w->samples[i].narrative);
    }
    free(w->samples);
    demo_priv *p = w->priv;
    if (p) {
        free(p->type_items);
        free(p->it);
        free(p->launch_week);
        free(p->popw);
        free(p->ncdf);
        free(p->ntop);
        free(p->train_pop);
        sidr_embed_free(&p->emb);
        sidr_rq_free(&p->rq);
        free(p);
    }
    free(w->category);
    memset(w, 0, sizeof *w);
}

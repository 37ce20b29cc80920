#define _POSIX_C_SOURCE 200809L
/* The demo world's texts: item titles and descriptions, the item narratives
 * (llm_stage2: the item told by its SID only), and per sample the analyst's
 * reasoning (reasoning_path: history SIDs only, never a title, never the
 * target; written from the history window alone) and the user narrative
 * (integrated_narrative: ends with the target SID; written from the latent
 * state the generator knows, the way the paper's teacher saw the reference
 * item).  Several phrasings per sentence role, picked by a per-text seed, so
 * the texts read like notes. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_internal.h"
#include "util.h"

/* ---- strings ------------------------------------------------------------------ */

void demo_buf_add(demo_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2 + 64;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n + 1);
    b->n += n;
}

void demo_buf_addf(demo_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < (int)sizeof tmp) {
        demo_buf_add(b, tmp);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    demo_buf_add(b, big);
    free(big);
}

char *demo_buf_take(demo_buf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    b->s = NULL;
    b->n = b->cap = 0;
    return s;
}

const char *demo_article(const char *w)
{
    if (!w || !*w) return "a";
    if (isdigit((unsigned char)w[0])) /* "an 8 inch", "an 18 inch", "an 80", "an 88-key"; "a 20" */
        return w[0] == '8' || (w[0] == '1' && w[1] == '8' && !isdigit((unsigned char)w[2])) ||
                       (w[0] == '1' && w[1] == '1' && !isdigit((unsigned char)w[2]))
                   ? "an"
                   : "a";
    if (isupper((unsigned char)w[0]) && isupper((unsigned char)w[1])) /* an acronym: by the letter's name */
        return strchr("AEFHILMNORSX", w[0]) ? "an" : "a";
    int c = tolower((unsigned char)w[0]);
    if (c == 'u') return !strncmp(w, "us", 2) || !strncmp(w, "uni", 3) ? "a" : "an";
    return strchr("aeio", c) ? "an" : "a";
}

static int plural_type(int t)
{
    const char *n = demo_type(t)->name;
    size_t l = strlen(n);
    return l > 2 && n[l - 1] == 's' && n[l - 2] != 's';
}

/* Uncountable product types: "lump charcoal", not "a lump charcoal". */
static int mass_type(int t)
{
    static const char *const mass[] = {
        "aquarium gravel", "fish food", "dog food", "cat litter", "cat food", "3D printing resin", "PLA filament",
        "PETG filament", "TPU filament", "solder wire", "bread flour", "sandpaper", "wood glue", "potting soil",
        "plant fertilizer", "lump charcoal", "yarn", "quilting fabric", "protein powder", "laundry detergent",
        "floor cleaner", "descaling solution", "water conditioner",
    };
    const char *n = demo_type(t)->name;
    for (size_t k = 0; k < sizeof mass / sizeof mass[0]; k++)
        if (!strcmp(n, mass[k])) return 1;
    return 0;
}

/* "is" or "are" after the bare type name */
static const char *type_is(int t) { return plural_type(t) ? "are" : "is"; }

static int pair_type(int t)
{
    const char *n = demo_type(t)->name;
    return strstr(n, "shoes") || strstr(n, "headphones") || strstr(n, "shears") || strstr(n, "monitors") ||
           strstr(n, "dumbbells");
}

/* "an aquarium filter", "coffee beans" (a bare plural) */
static const char *a_type(int t, char *buf, size_t cap)
{
    const char *n = demo_type(t)->name;
    if (plural_type(t) || mass_type(t)) snprintf(buf, cap, "%s", n);
    else snprintf(buf, cap, "%s %s", demo_article(n), n);
    return buf;
}

/* "a premium aquarium filter", "a budget pack of coffee beans", "a mid-range pair of running shoes",
 * "budget lump charcoal" */
static const char *a_tier_type(int t, int tier, char *buf, size_t cap)
{
    const char *n = demo_type(t)->name, *tn = demo_tier_names[tier];
    if (mass_type(t)) snprintf(buf, cap, "%s %s", tn, n);
    else if (pair_type(t)) snprintf(buf, cap, "%s %s pair of %s", demo_article(tn), tn, n);
    else if (plural_type(t)) snprintf(buf, cap, "%s %s pack of %s", demo_article(tn), tn, n);
    else snprintf(buf, cap, "%s %s %s", demo_article(tn), tn, n);
    return buf;
}

static void cap_first(char *s)
{
    if (s[0]) s[0] = (char)toupper((unsigned char)s[0]);
}

#define PICK(rng, arr) (arr)[demo_rng_int((rng), (int)(sizeof(arr) / sizeof((arr)[0])))]

/* ---- titles and descriptions ------------------------------------------------------ */

char *demo_item_title(const sidr_demo_world *w, int i, int with_model)
{
    const demo_priv *p = demo_p(w);
    const sidr_demo_item *it = &w->items[i];
    const demo_item_rt *rt = &p->it[i];
    const demo_type_def *td = demo_type(it->type);
    const demo_brand_def *bd = &demo_brands[it->brand_idx];
    char S[64], V[64], P[32];
    demo_list_get(td->sizes, rt->size, S, sizeof S);
    demo_list_get(td->variants, rt->variant, V, sizeof V);
    demo_list_get(td->packs, rt->pack, P, sizeof P);
    const char *C = rt->color >= 0 ? demo_colors[rt->color] : "";
    const char *line = it->tier > bd->tier ? "Pro " : it->tier < bd->tier ? "Essentials " : "";
    demo_buf b = { 0 };
    int style = with_model ? 1 : bd->style;
    switch (style) {
    case 0:
        demo_buf_addf(&b, "%s %s%s%s%s", bd->name, line, V, V[0] ? " " : "", td->title);
        if (S[0]) demo_buf_addf(&b, ", %s", S);
        if (C[0]) demo_buf_addf(&b, ", %s", C);
        if (P[0]) demo_buf_addf(&b, ", Pack of %s", P);
        break;
    case 1:
        demo_buf_addf(&b, "%s %s %s%s", bd->name, rt->model, line, td->title);
        if (V[0]) demo_buf_addf(&b, " - %s", V);
        if (S[0]) demo_buf_addf(&b, ", %s", S);
        if (C[0]) demo_buf_addf(&b, ", %s", C);
        if (P[0]) demo_buf_addf(&b, " (%s-Pack)", P);
        break;
    default:
        demo_buf_addf(&b, "%s %s%s%s", bd->name, S, S[0] ? " " : "", td->title);
        if (line[0]) demo_buf_addf(&b, " %.*s", (int)strlen(line) - 1, line);
        if (V[0]) demo_buf_addf(&b, ", %s", V);
        if (C[0]) demo_buf_addf(&b, ", %s", C);
        if (P[0]) demo_buf_addf(&b, ", %s Count", P);
        break;
    }
    return demo_buf_take(&b);
}

char *demo_item_description(const sidr_demo_world *w, int i)
{
    const demo_priv *p = demo_p(w);
    const sidr_demo_item *it = &w->items[i];
    const demo_item_rt *rt = &p->it[i];
    const demo_type_def *td = demo_type(it->type);
    const demo_brand_def *bd = &demo_brands[it->brand_idx];
    demo_rng rng;
    demo_rng_seed(&rng, w->opts.seed, ((uint64_t)DEMO_STREAM_ITEMTEXT << 40) | (uint64_t)i);
    const int pl = plural_type(it->type);
    char S[64], V[64], P[32], at[160];
    demo_list_get(td->sizes, rt->size, S, sizeof S);
    demo_list_get(td->variants, rt->variant, V, sizeof V);
    demo_list_get(td->packs, rt->pack, P, sizeof P);
    demo_buf b = { 0 };
    switch (demo_rng_int(&rng, 3)) {
    case 0:
        demo_buf_addf(&b, "%s %s %s made to %s.", pl ? "These" : "This", td->name, pl ? "are" : "is", td->use);
        break;
    case 1:
        a_tier_type(it->type, it->tier, at, sizeof at);
        cap_first(at);
        demo_buf_addf(&b, "%s built to %s.", at, td->use);
        break;
    default:
        demo_buf_addf(&b, "Designed to %s, %s %s from %s.", td->use, pl ? "these" : "this", td->name, bd->name);
        break;
    }
    if (demo_rng_unif(&rng) < 0.7) demo_buf_addf(&b, " %s %s.", bd->name, bd->focus);
    if (demo_rng_unif(&rng) < 0.6) {
        if (S[0] || V[0] || P[0]) {
            demo_buf_add(&b, " Specs:");
            int k = 0;
            if (V[0]) demo_buf_addf(&b, "%s %s", k++ ? "," : "", V);
            if (S[0]) demo_buf_addf(&b, "%s %s", k++ ? "," : "", S);
            if (P[0]) demo_buf_addf(&b, "%s %s per pack", k++ ? "," : "", P);
            if (rt->color >= 0) demo_buf_addf(&b, ", %s", demo_colors[rt->color]);
            demo_buf_add(&b, ".");
        } else {
            static const char *const tier_line[3] = { " An inexpensive pick for getting started.",
                                                      " A dependable everyday choice.",
                                                      " A premium build that is made to last." };
            demo_buf_add(&b, tier_line[it->tier]);
        }
    }
    return demo_buf_take(&b);
}

/* ---- item narratives (llm_stage2) ------------------------------------------------------ */

char *demo_item_narrative(const sidr_demo_world *w, int i)
{
    const demo_priv *p = demo_p(w);
    const sidr_demo_item *it = &w->items[i];
    const demo_item_rt *rt = &p->it[i];
    const demo_type_def *td = demo_type(it->type);
    const demo_brand_def *bd = &demo_brands[it->brand_idx];
    const char *sid = it->sid;
    demo_rng rng;
    demo_rng_seed(&rng, w->opts.seed ^ 0x5bd1e995u, ((uint64_t)DEMO_STREAM_ITEMTEXT << 40) | (uint64_t)i);
    char at[160], tmp[160], S[64];
    demo_list_get(td->sizes, rt->size, S, sizeof S);
    a_tier_type(it->type, it->tier, at, sizeof at);
    demo_buf b = { 0 };
    switch (demo_rng_int(&rng, 3)) {
    case 0: demo_buf_addf(&b, "%s is %s from %s.", sid, at, bd->name); break;
    case 1:
        demo_buf_addf(&b, "The item %s is %s made by %s, in the %s price band.", sid, a_type(it->type, tmp, sizeof tmp),
                      bd->name, demo_tier_names[it->tier]);
        break;
    default: demo_buf_addf(&b, "%s refers to %s by %s.", sid, at, bd->name); break;
    }
    if (demo_rng_int(&rng, 2))
        demo_buf_addf(&b, " It belongs to %s and sells for about $%.2f.", it->categories, it->price);
    else
        demo_buf_addf(&b, " Shoppers find %s under %s, priced at $%.2f.", sid, it->categories, it->price);
    switch (demo_rng_int(&rng, 3)) {
    case 0: demo_buf_addf(&b, " It is made to %s.", td->use); break;
    case 1: demo_buf_addf(&b, " Its job is to %s.", td->use); break;
    default: demo_buf_addf(&b, " Buyers choose %s to %s.", sid, td->use); break;
    }
    if (demo_rng_unif(&rng) < 0.8) {
        if (demo_rng_int(&rng, 2)) demo_buf_addf(&b, " %s %s, and %s fits that profile.", bd->name, bd->focus, sid);
        else demo_buf_addf(&b, " As a %s brand, %s %s.", demo_tier_names[bd->tier], bd->name, bd->focus);
    }
    int tm = p->type_intent[it->type];
    if (tm >= 0) {
        const demo_intent_rt *ir = &p->intents[tm];
        int k = p->type_step[it->type];
        int prev = -1, next = -1;
        for (int q = 0; q < ir->n_steps; q++) {
            if (ir->stage[q] < ir->stage[k] && (prev < 0 || ir->stage[q] >= ir->stage[prev])) prev = q;
            if (ir->stage[q] > ir->stage[k] && next < 0) next = q;
        }
        char pa[160], na[160];
        if (prev >= 0) a_type(ir->type[prev], pa, sizeof pa);
        if (next >= 0) a_type(ir->type[next], na, sizeof na);
        if (prev < 0 && next >= 0)
            demo_buf_addf(&b, " %s is often the first purchase when %s, and %s usually follows.", sid,
                          demo_intents[tm].name, na);
        else if (prev >= 0 && next >= 0)
            demo_buf_addf(&b, " People usually buy %s while %s, after %s and before %s.", sid, demo_intents[tm].name, pa,
                          na);
        else if (prev >= 0)
            demo_buf_addf(&b, " In a typical %s, %s comes late, once %s %s in place.", demo_intents[tm].label, sid, pa,
                          type_is(ir->type[prev]));
    }
    if (td->consumable)
        demo_buf_addf(&b, " Because it gets used up, %s is often bought again every few weeks.", sid);
    if (S[0] && demo_rng_unif(&rng) < 0.6) {
        if (rt->color >= 0) demo_buf_addf(&b, " This version is the %s size in %s.", S, demo_colors[rt->color]);
        else demo_buf_addf(&b, " This version is the %s size.", S);
    } else if (rt->color >= 0 && demo_rng_unif(&rng) < 0.5) {
        demo_buf_addf(&b, " This one comes in %s.", demo_colors[rt->color]);
    }
    return demo_buf_take(&b);
}

/* ---- per-sample texts ------------------------------------------------------------------ */

typedef struct {
    const sidr_demo_world *w;
    const demo_priv *p;
    const sidr_demo_user *u;
    const sidr_demo_event *tg;
    int target, ttype;
    const char *tsid;
    int h0, pos;              /* history = u->ev[h0 .. pos-1] */
    int focus_slot, focus_tmpl;
    int foc[SIDR_DEMO_HISTORY], n_foc;   /* window events of the focus project, oldest first */
    int noise[SIDR_DEMO_HISTORY], n_noise;
    int other_slot[2];        /* other projects with events in the window, -1 */
    int oth[2][SIDR_DEMO_HISTORY], n_oth[2];
    int brand, brand_n;       /* most frequent brand among the window's non-noise items of the
                                 department that matters (the target's, or the project's) */
    int tier;                 /* their typical tier */
    double lo, hi;            /* their price range */
    demo_rng rng;
} sctx;

static int in_template(const demo_priv *p, int tmpl, int type)
{
    if (tmpl < 0) return 0;
    for (int k = 0; k < p->intents[tmpl].n_steps; k++)
        if (p->intents[tmpl].type[k] == type) return 1;
    return 0;
}

static const sidr_demo_item *ev_item(const sctx *c, int e) { return &c->w->items[c->u->ev[e].item]; }

/* A sample's texts draw their phrasings from its own stream. */
static void sample_rng(demo_rng *r, const sidr_demo_world *w, const sidr_demo_sample *s, uint64_t salt)
{
    demo_rng_seed(r, w->opts.seed ^ salt,
                  ((uint64_t)DEMO_STREAM_SAMPLETEXT << 40) | ((uint64_t)s->user << 12) | (uint64_t)s->pos);
}

static void sctx_init(sctx *c, const sidr_demo_world *w, const sidr_demo_sample *s, uint64_t salt)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->p = demo_p(w);
    c->u = &w->users[s->user];
    c->pos = s->pos;
    c->h0 = s->pos > SIDR_DEMO_HISTORY ? s->pos - SIDR_DEMO_HISTORY : 0;
    c->tg = &c->u->ev[s->pos];
    c->target = c->tg->item;
    c->ttype = w->items[c->target].type;
    c->tsid = w->items[c->target].sid;
    sample_rng(&c->rng, w, s, salt);
    const sidr_demo_user *u = c->u;
    /* the project the reasoning is about */
    c->focus_slot = -1;
    if (c->tg->kind == SIDR_DEMO_STEP) {
        c->focus_slot = c->tg->slot;
    } else if (c->tg->kind != SIDR_DEMO_NOISE) {
        for (int e = 0; e < s->pos && c->focus_slot < 0; e++)
            if (w->items[u->ev[e].item].type == c->ttype && u->ev[e].slot >= 0) c->focus_slot = u->ev[e].slot;
    }
    if (c->focus_slot < 0)
        for (int e = s->pos - 1; e >= c->h0 && c->focus_slot < 0; e--)
            if (u->ev[e].kind != SIDR_DEMO_NOISE && u->ev[e].slot >= 0) c->focus_slot = u->ev[e].slot;
    c->focus_tmpl = c->focus_slot >= 0 ? u->intent[c->focus_slot] : -1;
    c->other_slot[0] = c->other_slot[1] = -1;
    int bcount[64] = { 0 }, tiers = 0, nt = 0;
    /* the department whose brands matter: the project's, else the latest purchase's (never the target's) */
    int bdept = c->focus_tmpl >= 0 ? demo_type_dept(c->p->intents[c->focus_tmpl].type[0])
                                   : demo_type_dept(w->items[u->ev[s->pos - 1].item].type);
    c->lo = 1e30;
    c->hi = 0;
    for (int e = c->h0; e < s->pos; e++) {
        const sidr_demo_event *ev = &u->ev[e];
        const sidr_demo_item *it = &w->items[ev->item];
        if (in_template(c->p, c->focus_tmpl, it->type)) {
            c->foc[c->n_foc++] = e;
        } else if (ev->kind == SIDR_DEMO_NOISE) {
            c->noise[c->n_noise++] = e;
        } else {
            int sl = ev->slot;
            if (sl < 0) /* a refill or upgrade: the project that bought the type first */
                for (int q = 0; q < e && sl < 0; q++)
                    if (w->items[u->ev[q].item].type == it->type && u->ev[q].slot >= 0) sl = u->ev[q].slot;
            int k = sl < 0 ? 2 : c->other_slot[0] < 0 || c->other_slot[0] == sl ? 0
                               : c->other_slot[1] < 0 || c->other_slot[1] == sl ? 1 : 2;
            if (k < 2) {
                c->other_slot[k] = sl;
                c->oth[k][c->n_oth[k]++] = e;
            } else {
                c->noise[c->n_noise++] = e;
            }
        }
        if (ev->kind != SIDR_DEMO_NOISE) {
            if (demo_type_dept(it->type) == bdept) bcount[it->brand_idx]++;
            tiers += it->tier;
            nt++;
            if (it->price < c->lo) c->lo = it->price;
            if (it->price > c->hi) c->hi = it->price;
        }
    }
    c->brand = -1;
    for (int b = 0; b < demo_n_brands; b++)
        if (bcount[b] > c->brand_n) c->brand_n = bcount[b], c->brand = b;
    c->tier = nt ? (tiers * 2 + nt) / (2 * nt) : u->tier;
    if (!nt) c->lo = c->hi = 0;
}

/* "a tank, a filter and a heater" from types */
static void say_types(demo_buf *b, const int *types, int n)
{
    char at[160];
    for (int k = 0; k < n; k++) {
        if (k) demo_buf_add(b, k == n - 1 ? " and " : ", ");
        demo_buf_add(b, a_type(types[k], at, sizeof at));
    }
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

/* Sentences of a text, assembled at the end so that optional ones can go. */
typedef struct {
    char *s[24];
    int optional[24];
    int n;
} sentences;

static void sent_add(sentences *S, demo_buf *b, int optional)
{
    if (!b->n || S->n == 24) {
        free(demo_buf_take(b));
        return;
    }
    S->optional[S->n] = optional;
    S->s[S->n++] = demo_buf_take(b);
}

static char *sent_join(sentences *S, int min_words, int max_words, demo_rng *rng)
{
    static const char *const fillers[] = {
        "Recency matters most here, so I weight the latest purchases highest.",
        "I will keep the prediction at the level of product type, brand and price rather than a specific listing.",
        "The order of the purchases matters as much as the items themselves.",
        "A project like this usually unfolds over several weeks, one piece at a time.",
        "Repeat purchases and brand choices say a lot about how this person shops.",
    };
    for (;;) {
        int words = 0;
        for (int k = 0; k < S->n; k++) words += S->s[k] ? count_words(S->s[k]) : 0;
        if (words > max_words) {
            int drop = -1;
            for (int k = S->n - 1; k >= 0 && drop < 0; k--)
                if (S->s[k] && S->optional[k]) drop = k;
            if (drop < 0) break;
            free(S->s[drop]);
            S->s[drop] = NULL;
            continue;
        }
        if (words < min_words && S->n < 24) {
            /* a filler just before the last sentence (the prediction) */
            int at = S->n ? S->n - 1 : 0;
            for (int k = S->n; k > at; k--) S->s[k] = S->s[k - 1], S->optional[k] = S->optional[k - 1];
            const char *f = fillers[demo_rng_int(rng, 5)];
            int dup = 0;
            for (int k = 0; k < S->n; k++) dup |= S->s[k] && k != at && !strcmp(S->s[k], f);
            S->s[at] = xstrdup(dup ? fillers[(demo_rng_int(rng, 5) + 1) % 5] : f);
            S->optional[at] = 0;
            S->n++;
            continue;
        }
        break;
    }
    demo_buf b = { 0 };
    for (int k = 0; k < S->n; k++) {
        if (!S->s[k]) continue;
        if (b.n) demo_buf_add(&b, " ");
        demo_buf_add(&b, S->s[k]);
        free(S->s[k]);
    }
    S->n = 0;
    return demo_buf_take(&b);
}

/* ---- the reasoning: from the history window alone ------------------------------ */

/* Everything the reasoning says is read off the window's items (demo_reading,
 * the intent rule's own reading): the likeliest projects by the product types
 * bought, their open steps, the product types to expect next in the rule's
 * order, the brand last bought in that department and the window's tier.
 * No latent state (the user's intents, an event's kind or project, which
 * purchases were noise) and nothing of the target: at inference the model can
 * write the same text from the prompt, so what it learns to write is what it
 * can write, and the SID after it learns P(item | what the history shows). */
typedef struct {
    const sidr_demo_world *w;
    const sidr_demo_user *u;
    const char *tsid;               /* never said, even when the history holds it */
    demo_reading rd;
    int proj[2], n_proj;            /* templates talked about, likeliest first */
    int done;                       /* the best-scored template with no open step, -1 */
    int next[3], n_next;            /* product types to expect, likeliest first */
    demo_rng rng;
} rctx;

static const sidr_demo_item *rc_item(const rctx *c, int k) { return &c->w->items[c->rd.hist[k]]; }
static int rc_sayable(const rctx *c, int k) { return strcmp(rc_item(c, k)->sid, c->tsid) != 0; }

/* "<sid> (an aquarium filter)", or with style "<sid>, an aquarium filter" */
static void rc_say_item(demo_buf *b, const rctx *c, int k, int style)
{
    char at[160];
    const sidr_demo_item *it = rc_item(c, k);
    a_type(it->type, at, sizeof at);
    demo_buf_addf(b, style ? "%s, %s" : "%s (%s)", it->sid, at);
}

static void rc_say_list(demo_buf *b, const rctx *c, const int *ks, int n)
{
    for (int j = 0; j < n; j++) {
        if (j) demo_buf_add(b, j == n - 1 ? " and " : ", ");
        rc_say_item(b, c, ks[j], 0);
    }
}

/* Window positions whose type is a step of template t (or of none of the
 * talked-about projects when t < 0), sayable, oldest first; at most cap, the
 * first and the latest ones when there are more. */
static int rc_items_of(const rctx *c, int t, int *out, int cap)
{
    int all[SIDR_DEMO_HISTORY], n = 0;
    for (int k = 0; k < c->rd.nh; k++) {
        if (!rc_sayable(c, k)) continue;
        int ty = rc_item(c, k)->type, in = 0;
        if (t >= 0) in = in_template(demo_p(c->w), t, ty);
        else
            for (int q = 0; q < c->n_proj; q++) in |= in_template(demo_p(c->w), c->proj[q], ty) ||
                                                       in_template(demo_p(c->w), c->done, ty);
        if (t >= 0 ? in : !in) all[n++] = k;
    }
    if (n > cap) { /* the first and the cap-1 latest */
        for (int j = 1; j < cap; j++) all[j] = all[n - cap + j];
        n = cap;
    }
    memcpy(out, all, (size_t)n * sizeof *out);
    return n;
}

static void rctx_init(rctx *c, const sidr_demo_world *w, const sidr_demo_sample *s)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->u = &w->users[s->user];
    c->tsid = w->items[c->u->ev[s->pos].item].sid;
    sample_rng(&c->rng, w, s, 0);
    demo_read_history(w, s, &c->rd);
    /* the projects: the best-scored template with a step still open, and a
     * second one when it scores at least a third as well; and the best one
     * the window completes */
    c->done = -1;
    for (int t = 0; t < demo_n_intents; t++) {
        if (c->rd.tscore[t] > 0 && !c->rd.n_open[t] &&
            (c->done < 0 || c->rd.tscore[t] > c->rd.tscore[c->done]))
            c->done = t;
    }
    for (int q = 0; q < 2; q++) {
        int best = -1;
        for (int t = 0; t < demo_n_intents; t++) {
            if (!(c->rd.tscore[t] > 0) || (q && t == c->proj[0]) || !c->rd.n_open[t])
                continue;
            if (best < 0 || c->rd.tscore[t] > c->rd.tscore[best]) best = t;
        }
        if (best < 0 || (q && c->rd.tscore[best] * 3 < c->rd.tscore[c->proj[0]])) break;
        c->proj[c->n_proj++] = best;
    }
    /* the product types to expect, by the reading's weights (ties: table order) */
    for (int j = 0; j < 3; j++) {
        int best = -1;
        for (int t = 0; t < DEMO_N_TYPES; t++) {
            int used = 0;
            for (int q = 0; q < j && !used; q++) used = c->next[q] == t;
            if (!used && c->rd.tw[t] > 0 && (best < 0 || c->rd.tw[t] > c->rd.tw[best])) best = t;
        }
        if (best < 0) break;
        c->next[c->n_next++] = best;
    }
}

/* The latest consumable of the window (a refill may be due), -1. */
static int rc_consumable(const rctx *c)
{
    for (int k = c->rd.nh - 1; k >= 0; k--)
        if (demo_type(rc_item(c, k)->type)->consumable) return k;
    return -1;
}

static void rc_brand_clause(demo_buf *b, rctx *c, int type)
{
    int br = c->rd.brand_dept[demo_type_dept(type)];
    if (br >= 0) {
        static const char *const f[] = { "most likely from %s again", "and I would stay with %s", "from %s once more" };
        demo_buf_addf(b, PICK(&c->rng, f), demo_brands[br].name);
    } else {
        static const char *const f[] = { "the brand still open", "with no brand to go by yet" };
        demo_buf_add(b, PICK(&c->rng, f));
    }
}

/* The main project: its purchases, what it is, what it has and lacks. */
static void rc_main_project(sentences *S, rctx *c)
{
    demo_rng *r = &c->rng;
    demo_buf b = { 0 };
    char at[160];
    int say[4];
    int n_say = c->n_proj ? rc_items_of(c, c->proj[0], say, 4) : 0;
    if (n_say >= 2) {
        switch (demo_rng_int(r, 3)) {
        case 0:
            demo_buf_add(&b, "The relevant purchases are ");
            rc_say_list(&b, c, say, n_say);
            demo_buf_add(&b, ".");
            break;
        case 1:
            demo_buf_add(&b, "They bought ");
            for (int j = 0; j < n_say; j++) {
                if (j) demo_buf_add(&b, j == n_say - 1 ? ", and later " : ", then ");
                rc_say_item(&b, c, say[j], 1);
            }
            demo_buf_add(&b, ".");
            break;
        default:
            demo_buf_add(&b, "I see ");
            rc_say_list(&b, c, say, n_say);
            demo_buf_add(&b, " in the history.");
            break;
        }
    } else if (n_say == 1) {
        if (demo_rng_int(r, 2)) {
            demo_buf_add(&b, "The key purchase is ");
            rc_say_item(&b, c, say[0], 1);
            demo_buf_add(&b, ".");
        } else {
            demo_buf_addf(&b, "%s stands out: it is %s.", rc_item(c, say[0])->sid,
                          a_type(rc_item(c, say[0])->type, at, sizeof at));
        }
    } else { /* no project in view: the latest purchases */
        int last[3], nl = 0;
        for (int k = c->rd.nh - 1; k >= 0 && nl < 3; k--)
            if (rc_sayable(c, k)) last[nl++] = k;
        for (int j = 0; j < nl / 2; j++) { /* oldest first */
            int x = last[j];
            last[j] = last[nl - 1 - j];
            last[nl - 1 - j] = x;
        }
        if (nl) {
            demo_buf_add(&b, nl > 1 ? "The most recent purchases are " : "The most recent purchase is ");
            rc_say_list(&b, c, last, nl);
            demo_buf_add(&b, ".");
        } else {
            const sidr_demo_item *h = rc_item(c, c->rd.nh - 1);
            demo_buf_addf(&b, "The history so far is %s from %s.", a_type(h->type, at, sizeof at),
                          demo_brands[h->brand_idx].name);
        }
    }
    sent_add(S, &b, 0);
    if (!c->n_proj) return;

    const demo_intent_def *fi = &demo_intents[c->proj[0]];
    if (n_say <= 1) {
        switch (demo_rng_int(r, 3)) {
        case 0: demo_buf_addf(&b, "That looks like the first step of %s.", fi->name); break;
        case 1: demo_buf_addf(&b, "My read is that the user is %s.", fi->name); break;
        default: demo_buf_addf(&b, "It points to someone %s.", fi->name); break;
        }
    } else {
        switch (demo_rng_int(r, 5)) {
        case 0: demo_buf_addf(&b, "Together these look like someone %s.", fi->name); break;
        case 1: demo_buf_addf(&b, "This is a classic pattern of %s.", fi->name); break;
        case 2: demo_buf_addf(&b, "My read is that the user is %s.", fi->name); break;
        case 3: demo_buf_addf(&b, "That combination points clearly to %s.", fi->name); break;
        default: demo_buf_addf(&b, "Everything here fits a %s.", fi->label); break;
        }
    }
    sent_add(S, &b, 0);

    /* what it has and what it lacks: the template's steps against the window */
    const demo_intent_rt *ir = &demo_p(c->w)->intents[c->proj[0]];
    const int *open = c->rd.open[c->proj[0]], n_open = c->rd.n_open[c->proj[0]];
    int owned[3], no = 0, miss[3], nm;
    for (int q = 0; q < ir->n_steps && no < 3; q++) {
        int have = 1;
        for (int k = 0; k < n_open && have; k++) have = open[k] != q;
        if (have) owned[no++] = ir->type[q];
    }
    for (nm = 0; nm < n_open && nm < 3; nm++) miss[nm] = ir->type[open[nm]];
    switch (demo_rng_int(r, 3)) {
    case 0:
        demo_buf_add(&b, "They already have ");
        say_types(&b, owned, no);
        demo_buf_add(&b, "; still missing ");
        demo_buf_add(&b, nm > 1 || plural_type(miss[0]) ? "are " : "is ");
        say_types(&b, miss, nm);
        demo_buf_add(&b, ".");
        break;
    case 1:
        demo_buf_add(&b, "With ");
        say_types(&b, owned, no);
        demo_buf_add(&b, nm > 1 || plural_type(miss[0]) ? " covered, the obvious gaps are " : " covered, the obvious gap is ");
        say_types(&b, miss, nm);
        demo_buf_add(&b, ".");
        break;
    default:
        demo_buf_addf(&b, "The %s still lacks ", fi->label);
        say_types(&b, miss, nm);
        demo_buf_add(&b, ".");
        break;
    }
    sent_add(S, &b, 0);
}

/* The second project and the purchases that fit neither (optional). */
static void rc_threads(sentences *S, rctx *c)
{
    demo_buf b = { 0 };
    char at[160];
    if (c->n_proj > 1) {
        int its[2], n = 0, cand[SIDR_DEMO_HISTORY];
        int nc = rc_items_of(c, c->proj[1], cand, SIDR_DEMO_HISTORY);
        for (int j = nc - 1; j >= 0 && n < 2; j--) /* the latest, not already said as the main project's */
            if (!in_template(demo_p(c->w), c->proj[0], rc_item(c, cand[j])->type)) its[n++] = cand[j];
        if (n == 2) {
            int x = its[0];
            its[0] = its[1];
            its[1] = x;
        }
        const int *open = c->rd.open[c->proj[1]];
        const demo_intent_def *oi = &demo_intents[c->proj[1]];
        const char *need = a_type(demo_p(c->w)->intents[c->proj[1]].type[open[0]], at, sizeof at);
        if (n) {
            demo_buf_add(&b, demo_rng_int(&c->rng, 2) ? "There is also a second thread: " : "Separately, ");
            rc_say_list(&b, c, its, n);
            demo_buf_addf(&b, " %s to %s, which still needs %s.", n > 1 ? "point" : "points", oi->name, need);
        } else {
            demo_buf_addf(&b, "The same purchases also fit %s, which would need %s next.", oi->name, need);
        }
        sent_add(S, &b, 1);
    }
    if (c->done >= 0) { /* a finished project's purchases that no open project claims */
        int its[SIDR_DEMO_HISTORY], n = 0, cand[SIDR_DEMO_HISTORY];
        int nc = rc_items_of(c, c->done, cand, SIDR_DEMO_HISTORY);
        for (int j = 0; j < nc; j++) {
            int claimed = 0;
            for (int q = 0; q < c->n_proj; q++) claimed |= in_template(demo_p(c->w), c->proj[q], rc_item(c, cand[j])->type);
            if (!claimed && n < 2) its[n++] = cand[j];
        }
        if (n) {
            rc_say_list(&b, c, its, n);
            demo_buf_addf(&b, " %s the %s, which looks complete.", n > 1 ? "round off" : "rounds off", demo_intents[c->done].label);
            sent_add(S, &b, 1);
        }
    }
    int rest[2];
    int n = rc_items_of(c, -1, rest, 2);
    if (n) {
        rc_say_list(&b, c, rest, n);
        demo_buf_add(&b, n > 1 ? " look like one-off purchases unrelated to the rest."
                                : demo_rng_int(&c->rng, 2) ? " looks like a one-off purchase unrelated to the rest."
                                                           : " is an outlier I will not read much into.");
        sent_add(S, &b, 1);
    }
}

char *demo_sample_reasoning(const sidr_demo_world *w, const sidr_demo_sample *s)
{
    rctx c;
    rctx_init(&c, w, s);
    demo_rng *r = &c.rng;
    sentences S = { 0 };
    demo_buf b = { 0 };
    char at[160];

    static const char *const openers[] = {
        "Let me look at what this user has been buying.", "I'll walk through the history first.",
        "Looking at this sequence, a few things stand out.", "Here is how I read this history.",
        "Let me reason about this user's recent purchases.", "First, what does this history tell me?",
    };
    if (demo_rng_unif(r) < 0.75) {
        demo_buf_add(&b, PICK(r, openers));
        sent_add(&S, &b, 1);
    }
    rc_main_project(&S, &c);
    rc_threads(&S, &c);

    /* brand loyalty in the department that comes next, and the price tier */
    const int dept = c.n_next ? demo_type_dept(c.next[0]) : demo_type_dept(rc_item(&c, c.rd.nh - 1)->type);
    int bcount[64] = { 0 }, brand = -1, brand_n = 0;
    double lo = 1e30, hi = 0;
    for (int k = 0; k < c.rd.nh; k++) {
        const sidr_demo_item *it = rc_item(&c, k);
        if (demo_type_dept(it->type) == dept) bcount[it->brand_idx]++;
        if (it->price < lo) lo = it->price;
        if (it->price > hi) hi = it->price;
    }
    for (int br = 0; br < demo_n_brands; br++)
        if (bcount[br] > brand_n) brand_n = bcount[br], brand = br;
    if (brand >= 0 && brand_n >= 2) {
        const char *bn = demo_brands[brand].name;
        switch (demo_rng_int(r, 3)) {
        case 0: demo_buf_addf(&b, "%s shows up %d times, so there is real brand loyalty.", bn, brand_n); break;
        case 1: demo_buf_addf(&b, "They keep coming back to %s (%d purchases).", bn, brand_n); break;
        default: demo_buf_addf(&b, "%s is clearly a favourite brand.", bn); break;
        }
        sent_add(&S, &b, 0);
    } else if (demo_rng_unif(r) < 0.7) {
        demo_buf_add(&b, demo_rng_int(r, 2) ? "Brands vary, so the label matters less than the price."
                                             : "There is no strong brand habit yet.");
        sent_add(&S, &b, 1);
    }
    const char *tn = demo_tier_names[c.rd.tier];
    switch (demo_rng_int(r, 3)) {
    case 0:
        if (hi - lo < 1) demo_buf_addf(&b, "Prices sit in the %s band, around $%.0f.", tn, hi);
        else demo_buf_addf(&b, "Prices sit in the %s band, roughly $%.0f to $%.0f.", tn, lo, hi);
        break;
    case 1: demo_buf_addf(&b, "They lean %s in what they pay.", tn); break;
    default: demo_buf_addf(&b, "Spending is consistently %s.", tn); break;
    }
    sent_add(&S, &b, 0);

    /* the prediction: the product types to expect at the window's tier, with
     * the brand last bought in that department; a consumable due for a refill */
    int cons = rc_consumable(&c);
    if (c.n_next) {
        static const char *const lead[] = { "So the next purchase should be", "I expect the next item to be",
                                            "The natural next step is", "My prediction is",
                                            "Next, I would expect" };
        demo_buf_addf(&b, "%s %s", PICK(r, lead), a_tier_type(c.next[0], c.rd.tier, at, sizeof at));
        for (int k = 1; k < c.n_next; k++) demo_buf_addf(&b, " or %s", a_type(c.next[k], at, sizeof at));
        demo_buf_add(&b, ", ");
        rc_brand_clause(&b, &c, c.next[0]);
        demo_buf_add(&b, b.s[b.n - 1] == '.' ? "" : "."); /* "Woolery & Co." ends a sentence once */
        if (cons >= 0)
            demo_buf_addf(&b, demo_rng_int(r, 2) ? " A refill of the %s is also possible." : " The %s may need restocking too.",
                          demo_type(rc_item(&c, cons)->type)->name);
    } else if (cons >= 0) {
        const int ty = rc_item(&c, cons)->type;
        const char *name = demo_type(ty)->name;
        switch (demo_rng_int(r, 3)) {
        case 0:
            demo_buf_addf(&b, "The %s they rely on %s used up over time, and a restock may be due. ", name, type_is(ty));
            break;
        case 1:
            demo_buf_addf(&b, "Their %s %s, and those come back. ", name, plural_type(ty) ? "are consumables" : "is a consumable");
            break;
        default: demo_buf_addf(&b, "Consumables come back, and the %s %s due again at some point. ", name, type_is(ty)); break;
        }
        demo_buf_addf(&b, "I expect a refill: %s, ", a_tier_type(ty, c.rd.tier, at, sizeof at));
        rc_brand_clause(&b, &c, ty);
        demo_buf_add(&b, b.s[b.n - 1] == '.' ? "" : ".");
    } else {
        demo_buf_add(&b, "The history does not call for an obvious next step, so the next purchase may well be an "
                         "impulse pick, something popular at the moment.");
    }
    sent_add(&S, &b, 0);
    return sent_join(&S, 60, 200, r);
}

char *demo_sample_narrative(const sidr_demo_world *w, const sidr_demo_sample *s)
{
    sctx c;
    sctx_init(&c, w, s, 0x9e3779b9u);
    demo_rng *r = &c.rng;
    const sidr_demo_item *T = &w->items[c.target];
    const demo_intent_def *fi = c.focus_tmpl >= 0 ? &demo_intents[c.focus_tmpl] : NULL;
    demo_buf b = { 0 };
    char at[160];

    /* the history, by SID */
    int n = c.pos - c.h0;
    switch (demo_rng_int(r, 3)) {
    case 0: demo_buf_add(&b, n > 1 ? "The user bought " : "The user first bought "); break;
    case 1: demo_buf_add(&b, n > 1 ? "This user's purchases, oldest first, are " : "This user's only earlier purchase is "); break;
    default: demo_buf_add(&b, n > 1 ? "The history runs " : "The history holds just "); break;
    }
    for (int e = c.h0; e < c.pos; e++) {
        if (e > c.h0) demo_buf_add(&b, e == c.pos - 1 ? " and " : ", ");
        demo_buf_add(&b, ev_item(&c, e)->sid);
    }
    demo_buf_add(&b, n > 2 && demo_rng_int(r, 2) ? ", in that order. " : ". ");

    /* what they are about */
    if (fi && c.n_foc > 0) {
        demo_buf_addf(&b, "%s to %s: ",
                      n == 1 ? "That purchase belongs"
                      : c.n_foc == n ? "All of these belong"
                      : c.n_foc * 2 >= n ? "Most of these belong" : "Some of these belong",
                      fi->name);
        int k0 = c.n_foc > 2 ? c.n_foc - 2 : 0;
        for (int k = k0; k < c.n_foc; k++) {
            const sidr_demo_item *it = ev_item(&c, c.foc[k]);
            if (k > k0) demo_buf_add(&b, " and ");
            demo_buf_addf(&b, "%s is %s", it->sid, a_type(it->type, at, sizeof at));
        }
        demo_buf_add(&b, ". ");
    } else if (c.other_slot[0] >= 0) {
        demo_buf_addf(&b, "So far they have been %s. ", demo_intents[c.u->intent[c.other_slot[0]]].name);
    }
    if (c.brand >= 0 && c.brand_n >= 2)
        demo_buf_addf(&b, demo_rng_int(r, 2) ? "They favour %s and stay in the %s price range. "
                                             : "Brand-wise they lean on %s; price-wise they are %s shoppers. ",
                      demo_brands[c.brand].name, demo_tier_names[c.tier]);
    else if (c.hi > 0)
        demo_buf_addf(&b, "They shop across brands, mostly in the %s price range. ", demo_tier_names[c.tier]);
    if (c.n_noise > 0 && demo_rng_unif(r) < 0.6)
        demo_buf_addf(&b, "%s was an unrelated impulse buy. ", ev_item(&c, c.noise[c.n_noise - 1])->sid);

    /* why the next one */
    const char *tn = demo_type(c.ttype)->name;
    switch (c.tg->kind) {
    case SIDR_DEMO_STEP:
        if (c.n_foc == 0 && fi)
            demo_buf_addf(&b, "Now a new project begins: %s, which calls for %s. ", fi->name,
                          a_type(c.ttype, at, sizeof at));
        else if (fi)
        {
            char at2[160];
            demo_buf_addf(&b, "With %s in place, the %s now calls for %s. ",
                          a_type(ev_item(&c, c.foc[c.n_foc - 1])->type, at, sizeof at), fi->label,
                          a_type(c.ttype, at2, sizeof at2));
        }
        break;
    case SIDR_DEMO_REFILL: demo_buf_addf(&b, "Their %s %s running low and needs restocking. ", tn, plural_type(c.ttype) ? "are" : "is"); break;
    case SIDR_DEMO_UPGRADE: demo_buf_addf(&b, "They are ready to trade up their %s. ", tn); break;
    default: demo_buf_addf(&b, "This time a popular %s catches their eye instead. ", tn); break;
    }
    a_tier_type(c.ttype, T->tier, at, sizeof at);
    switch (demo_rng_int(r, 4)) {
    case 0: demo_buf_addf(&b, "The next item is %s", c.tsid); break;
    case 1: demo_buf_addf(&b, "So the item they buy next is %s", c.tsid); break;
    case 2: demo_buf_addf(&b, "That next purchase, %s from %s, is %s", at, demo_brands[T->brand_idx].name, c.tsid); break;
    default: demo_buf_addf(&b, "Putting it together, the next item is %s", c.tsid); break;
    }
    return demo_buf_take(&b);
}

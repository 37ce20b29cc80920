/* Internals of the demo-world generator (demo_world.h), shared by its files:
 *   demo_tables.c     the static tables (tree, brands, intent templates, words)
 *   demo_world.c      catalogue, SIDs, user simulation, oracle, samples
 *   demo_text.c       titles, descriptions and the enriched texts
 *   demo_write.c      the files
 *   demo_baselines.c  popularity / oracle / intent-rule baselines
 * Nothing outside these files includes this header. */
#ifndef SIDR_DEMO_INTERNAL_H
#define SIDR_DEMO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "demo_world.h"
#include "item_embed.h"
#include "rqkmeans.h"

/* ---- tables (demo_tables.c) ------------------------------------------------- */

#define DEMO_DEPTS 10
#define DEMO_CATS 4  /* categories per department */
#define DEMO_TYPES 4 /* product types per category */
#define DEMO_N_TYPES (DEMO_DEPTS * DEMO_CATS * DEMO_TYPES)
#define DEMO_MAX_STEPS 8

/* Option lists are '|'-separated strings ("10 Gallon|20 Gallon"); sizes are in
 * ascending order (an upgrade may move to a later one). */
typedef struct {
    const char *name;     /* "aquarium filter" (lower case but for acronyms) */
    const char *plural;   /* "Aquarium Filters" (the category leaf) */
    const char *title;    /* "Aquarium Filter" (the noun of item titles) */
    float price;          /* USD, mid tier, smallest size */
    unsigned char pop;    /* base popularity 1..9 */
    unsigned char consumable; /* bought again (refills) */
    unsigned char colors; /* comes in colours */
    const char *sizes, *variants, *packs; /* NULL when none */
    const char *use;      /* what it does, a bare-infinitive verb phrase: "keep the water clear" */
} demo_type_def;

typedef struct {
    const char *name;
    demo_type_def types[DEMO_TYPES];
} demo_cat_def;

typedef struct {
    const char *name;     /* "Pet Supplies" */
    const char *hobby;    /* "pet care" (prose) */
    demo_cat_def cats[DEMO_CATS];
} demo_dept_def;

typedef struct {
    const char *name;
    unsigned char dept, tier;
    unsigned char cats;   /* bitmask of the department's categories it makes */
    unsigned char style;  /* title style 0..2 */
    const char *code;     /* model-number prefix */
    const char *focus;    /* "builds beginner-friendly aquarium kits" */
} demo_brand_def;

typedef struct {
    const char *type;     /* a demo_type_def name */
    unsigned char stage;  /* steps of a lower stage come first */
    unsigned char skip;   /* percent chance the step is not part of a user's plan */
} demo_step_def;

typedef struct {
    const char *key;      /* "aquarium" */
    const char *name;     /* "setting up a freshwater aquarium" (gerund phrase) */
    const char *label;    /* "aquarium build" (noun phrase) */
    unsigned char weight; /* how often users take it up */
    demo_step_def steps[DEMO_MAX_STEPS]; /* terminated by a NULL type */
} demo_intent_def;

extern const demo_dept_def demo_depts[DEMO_DEPTS];
extern const demo_brand_def demo_brands[];
extern const int demo_n_brands;
extern const demo_intent_def demo_intents[];
extern const int demo_n_intents;
extern const char *const demo_colors[];
extern const int demo_n_colors;
extern const char *const demo_tier_names[3];   /* "budget", "mid-range", "premium" */

const demo_type_def *demo_type(int type);
int demo_type_dept(int type);
int demo_type_cat(int type); /* dept * DEMO_CATS + cat */
const char *demo_cat_name(int cat);

/* Option lists: count and element i copied into buf ("" when out of range). */
int demo_list_n(const char *list);
const char *demo_list_get(const char *list, int i, char *buf, size_t cap);

/* ---- runtime state (demo_world.c) -------------------------------------------- */

typedef struct {
    int n_steps;
    int type[DEMO_MAX_STEPS];
    unsigned char stage[DEMO_MAX_STEPS], skip[DEMO_MAX_STEPS];
} demo_intent_rt;

typedef struct {
    signed char size, variant, color, pack; /* option indices, -1 for none */
    char model[16];       /* model number, "" when the title has none */
    double pop;           /* base popularity */
    int hot_week;         /* week of a popularity bump, -1 for none */
    float hot_amp, hot_width;
} demo_item_rt;

typedef struct {
    unsigned char brand_cats[64];   /* brand category masks after coverage fixes */
    demo_intent_rt intents[64];
    int *type_items;                /* items grouped by type */
    int type_first[DEMO_N_TYPES + 1];
    int type_intent[DEMO_N_TYPES];  /* first template using the type, -1 */
    int type_step[DEMO_N_TYPES];    /* its step index there */
    demo_item_rt *it;
    int *launch_week;               /* per item */
    int n_weeks;
    int64_t t0;                     /* unix seconds of week 0 */
    /* during the simulation: per week and item popularity, the noise CDF and
     * the week's most popular items (freed afterwards) */
    double *popw, *ncdf;
    int *ntop, ntop_k;
    double *train_pop;              /* train-split target counts per item (baselines) */
    int pop_list[SIDR_DEMO_ORACLE_K], n_pop; /* the popularity baseline: the most frequent training targets */
    /* SID machinery results, kept for the codebooks file */
    sidr_embed_result emb;
    sidr_rq_result rq;
    int have_sids;
} demo_priv;

static inline demo_priv *demo_p(const sidr_demo_world *w) { return (demo_priv *)w->priv; }

/* Small deterministic RNG (splitmix64 seeding xoshiro256**). */
typedef struct {
    uint64_t s[4];
} demo_rng;

void demo_rng_seed(demo_rng *r, uint64_t seed, uint64_t stream);
uint64_t demo_rng_next(demo_rng *r);
double demo_rng_unif(demo_rng *r);      /* [0, 1) */
int demo_rng_int(demo_rng *r, int n);   /* [0, n) */
int demo_rng_pick(demo_rng *r, const double *w, int n); /* index by weight; -1 when all 0 */

/* Streams (second argument of demo_rng_seed), so that changing one part of the
 * world leaves the random draws of the others alone. */
enum { DEMO_STREAM_CATALOG = 1, DEMO_STREAM_USER = 2, DEMO_STREAM_ITEMTEXT = 3, DEMO_STREAM_SAMPLETEXT = 4 };

/* Week of a time (clamped to the timeline). */
int demo_week(const sidr_demo_world *w, int64_t t);
/* Item launched by week wk. */
int demo_launched(const sidr_demo_world *w, int item, int wk);

/* ---- texts (demo_text.c) ------------------------------------------------------ */

/* Title and description of item i (attributes already chosen). Fresh strings. */
char *demo_item_title(const sidr_demo_world *w, int i, int variant_of_style);
char *demo_item_description(const sidr_demo_world *w, int i);
/* llm_stage2 narrative of item i (needs its SID). */
char *demo_item_narrative(const sidr_demo_world *w, int i);
/* reasoning_path and integrated_narrative of a sample. */
char *demo_sample_reasoning(const sidr_demo_world *w, const sidr_demo_sample *s);
char *demo_sample_narrative(const sidr_demo_world *w, const sidr_demo_sample *s);

/* ---- the history-only reading (demo_baselines.c) ------------------------------ */

/* What the history window alone says (no latent state): the intent rule
 * ranks items by it and the reasoning is written from it. */
typedef struct {
    int h0, nh;                     /* window = ev[h0 .. h0+nh-1] */
    int hist[SIDR_DEMO_HISTORY];    /* its items, oldest first */
    double tscore[64], tsum;        /* per template: recency-weighted matches of its steps */
    int open[64][DEMO_MAX_STEPS];   /* per scored template (tscore > 0): its open steps */
    int n_open[64];                 /* (demo_open_steps), 0 for the others */
    double tw[DEMO_N_TYPES];        /* per product type: how likely it is next */
    int brand_dept[DEMO_DEPTS];     /* brand of the latest purchase per department, -1 */
    int tier;                       /* the window's mean tier, rounded */
} demo_reading;
/* Fills pop_list from train_pop (demo_baselines.c); once, after the split. */
void demo_popularity_build(sidr_demo_world *w);
void demo_read_history(const sidr_demo_world *w, const sidr_demo_sample *s, demo_reading *r);
/* Steps of template tmpl whose type the items hist[0..nh) do not hold, the
 * lowest stage first and in table order, into open (DEMO_MAX_STEPS); their count. */
int demo_open_steps(const sidr_demo_world *w, int tmpl, const int *hist, int nh, int *open);

/* "a" / "an" for a word. */
const char *demo_article(const char *word);

/* A growable string. */
typedef struct {
    char *s;
    size_t n, cap;
} demo_buf;
void demo_buf_add(demo_buf *b, const char *s);
void demo_buf_addf(demo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *demo_buf_take(demo_buf *b);

#endif

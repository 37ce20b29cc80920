/* The demo world (issue 6): a deterministic generator of a plausible store --
 * a category tree, invented brands with personalities, items with titles,
 * descriptions, brands, category paths and price tiers, and users whose
 * purchase histories follow latent intents (projects that unfold over several
 * purchases: complements, refills, upgrades), with brand loyalty, price-tier
 * consistency, noise purchases and popularity drift.  Nothing comes from
 * outside data: every string is made from the tables in demo_tables.c
 * (10 departments x 4 categories x 4 product types, 60 brands, 37 intent
 * templates).  The code: demo_world.c (simulation), demo_text.c (texts),
 * demo_write.c (files), demo_baselines.c (baselines), demo_internal.h.
 *
 * The world is written in the paper's layout so src/dataset.c loads it
 * unchanged (SPEC §2): train|valid|test/<Cat>_demo.csv (the SPEC §1.7
 * protocol: a sample for every position with the previous <= 10 items as
 * history -- position 0, with no history, gives no sample --, all samples
 * sorted by target time (ties by user, position), split 8:1:1 as
 * floor(0.8 n) / floor(0.9 n)), info/<Cat>_demo.txt, index/<Cat>.index.json
 * (SIDs built here with sidr's own item embeddings and residual k-means with
 * the prefix re-assignment, as `sidr sids build` does with its defaults),
 * index/<Cat>.item.json (title, description, brand, categories, and price),
 * index/<Cat>.codebooks.safetensors (as sids build writes it), and the
 * paper's enriched files: index/<Cat>.item_enhanced_v2.json (per item
 * `title`, `sid` and `llm_stage2`, a paragraph that names the item only by
 * its SID, never by its title) and index/<Cat>.integrated_narrative.csv with
 * the columns split,row,user_id,item_id,item_sid,kind,intent,reasoning_path,
 * integrated_narrative (split = train|valid|test and row = the 0-based row of
 * that split's CSV; kind and intent are the latent cause of the target).
 * reasoning_path is a first-person analyst monologue of 60..200 words that
 * names items only by the SIDs of its history (never a title, never the
 * target's SID, even when the target is a repeat of a history item), infers
 * the likeliest projects from the product types bought, lists their open
 * steps, notes brand loyalty and price tier and predicts the next product
 * types (in the intent rule's order) with brand and tier.  It is written from
 * the history window alone (the intent rule's reading of it), never from the
 * latent state or the target, so a model can write at inference exactly the
 * kind of text it was trained on.  integrated_narrative recites every
 * history SID, reasons about the preferences and ends with the target SID
 * (the last characters of the text); it is written from the latent state the
 * generator knows, the way the paper's teacher saw the reference item.
 * demo_world.json at the top records the generator's settings and counts, the
 * tree, brands, intent templates, items (type, brand, tier, price, launch) and
 * each user's latent state (tier, loyalty, noise, intents, per-event kind and
 * intent slot).
 *
 * Ids: items "0".."n-1" (their index), users "U00001".... Times: a two-year
 * timeline from 2017-01-02 (long histories run a little past it).
 *
 * The simulation, per event: the user may take up a project (always at the
 * first event; when the others are done; now and then alongside one); the
 * event is drawn from a mixture of components -- the open steps of the
 * lowest stage of each project (the newest project weighted most), refills
 * of consumables bought before (the same item or its type, same brand),
 * upgrades of durable things owned (a higher tier or a bigger size), and
 * noise from the week's popularity (which drifts: new releases and
 * short-lived hits) -- and within a component an item of the product type by
 * tier fit x popularity, with probability `loyalty` restricted to the brand
 * last bought in the department.  Steps a user plans to skip are drawn when
 * the project starts.
 *
 * Deterministic: the same options give byte-identical files on a machine
 * (the SID step is deterministic across thread counts, see item_embed.h).
 * Nothing here prints; progress goes through opts.progress. */
#ifndef SIDR_DEMO_WORLD_H
#define SIDR_DEMO_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "rqkmeans.h" /* sidr_progress_fn */
#include "status.h"

#define SIDR_DEMO_ORACLE_K 10   /* length of the oracle's ranked list per event */
#define SIDR_DEMO_MAX_INTENTS 6 /* latent intents per user, at most */
#define SIDR_DEMO_HISTORY 10    /* the paper's history window */

typedef struct {
    uint64_t seed;        /* default 42 */
    int n_items;          /* catalogue size (default 2000; 200..20000) */
    int n_users;          /* default 4000 (50..200000) */
    int min_len, max_len; /* events per user (default 5..25) */
    int sid_levels;       /* default 3 */
    int sid_codes;        /* codes per level (default 64; must not exceed n_items) */
    int sid_dim;          /* item-embedding dimension (default 64) */
    int sid_rqvae;        /* 1: the SIDs come from an RQ-VAE on the embeddings (rqvae.h, its
                             defaults), 0 (default): residual k-means (rqkmeans.h) */
    const char *category; /* dataset name <Cat> (default "Home_and_Hobby") */
    sidr_progress_fn progress; /* may be NULL */
    void *user;
} sidr_demo_opts;

void sidr_demo_defaults(sidr_demo_opts *o);

/* Why an event happened (the latent cause the reasoning is written from). */
typedef enum {
    SIDR_DEMO_STEP = 0,    /* the next step of one of the user's intents */
    SIDR_DEMO_UPGRADE = 1, /* a better tier (or bigger size) of something owned */
    SIDR_DEMO_REFILL = 2,  /* a consumable bought again */
    SIDR_DEMO_NOISE = 3,   /* an unrelated purchase (trending or popular item) */
} sidr_demo_kind;

typedef struct {
    char *title, *description, *brand, *categories;
    char *narrative;      /* llm_stage2: the item told with its SID */
    int type, brand_idx;  /* into the generator's tables (sidr_demo_type_name, ...) */
    int tier;             /* price tier 0 budget, 1 mid, 2 premium */
    double price;         /* USD */
    int64_t launch;       /* first time the item can be bought (unix seconds) */
    char *sid;            /* "<a_1><b_2><c_3>" */
    int code[8];
} sidr_demo_item;

typedef struct {
    int item;
    int64_t time;          /* unix seconds */
    unsigned char kind;    /* sidr_demo_kind */
    signed char slot;      /* index into the user's intents, -1 for noise */
    short step_type;       /* product type the latent cause asked for */
    int n_oracle;
    int oracle[SIDR_DEMO_ORACLE_K]; /* the generator's most likely items for this event given the
                                       latent state before it (including a project the user
                                       takes up at this event), best first: the top K of the exact
                                       mixture the event is drawn from */
} sidr_demo_event;

typedef struct {
    char id[16];           /* "U00001" */
    int tier;              /* preferred price tier */
    float loyalty;         /* probability of staying with a department's brand */
    float noise;           /* probability of an unrelated purchase */
    int n_intents;
    int intent[SIDR_DEMO_MAX_INTENTS]; /* template indices, in the order they started */
    int n_events;
    sidr_demo_event *ev;
} sidr_demo_user;

typedef struct {
    int user, pos;         /* target = users[user].ev[pos] (pos >= 1); history = ev[max(0, pos-10) .. pos-1] */
    int split, row;        /* sidr_split_id and row in that split's CSV */
    int64_t time;
    char *reasoning;       /* reasoning_path */
    char *narrative;       /* integrated_narrative */
} sidr_demo_sample;

typedef struct {
    sidr_demo_opts opts;
    char *category;
    int n_items;
    sidr_demo_item *items;
    int n_users;
    sidr_demo_user *users;
    int n_samples;          /* all splits, in file order (train, valid, test; rows in order) */
    sidr_demo_sample *samples;
    int split_n[3], split_first[3];
    int n_events;
    int kind_count[4];      /* targets per sidr_demo_kind over all events */
    int sid_levels, sid_codes, sid_collisions;
    int n_depts, n_cats, n_types, n_brands, n_intents;
    double seconds_catalog, seconds_sids, seconds_users, seconds_text;
    /* private */
    void *priv;
} sidr_demo_world;

/* Builds the world in memory.  On failure w is left empty (safe to free). */
sidr_status sidr_demo_generate(const sidr_demo_opts *o, sidr_demo_world *w);
void sidr_demo_free(sidr_demo_world *w);

/* Writes every file under dir (created if needed); existing files of the same
 * names are replaced (each written to a temporary name and renamed).  The
 * paths written are returned in *paths (n of them, fresh strings; free each
 * and the array) when paths is not NULL.  Other files in dir are left alone. */
sidr_status sidr_demo_write(const sidr_demo_world *w, const char *dir, char ***paths, int *n);

/* Names from the generator's tables. */
const char *sidr_demo_type_name(int type);     /* "aquarium filter" */
const char *sidr_demo_type_path(int type);     /* "Pet Supplies > Aquarium Setup > Aquarium Filters" */
const char *sidr_demo_intent_key(int intent);  /* "aquarium" */
const char *sidr_demo_intent_name(int intent); /* "setting up a freshwater aquarium" */
const char *sidr_demo_kind_name(int kind);     /* "step", "upgrade", "refill", "noise" */
const char *sidr_demo_sid_method_name(const sidr_demo_opts *o); /* "rqkmeans" or "rqvae" */

/* Baselines on one split's rows (HR@K with K = SIDR_DEMO_ORACLE_K, hits by SID
 * string as SPEC §1.6 counts them):
 *   popularity - the K most frequent training targets, the same list for every row;
 *   oracle     - the generator's own ranked list for the event (it knows the
 *                user's latent intents, their plan and progress, the brand and
 *                tier preferences: an upper reference, not a model);
 *   intent     - a rule that sees only the history: it scores the intent
 *                templates by the product types in the history, predicts the
 *                next unbought types of the best ones and picks items by the
 *                history's brands and price tier (what a model has to learn). */
typedef struct {
    int rows;
    double popularity_hr, oracle_hr, intent_hr;
    double popularity_ndcg, oracle_ndcg, intent_ndcg;
} sidr_demo_baselines;

void sidr_demo_baselines_compute(const sidr_demo_world *w, int split, sidr_demo_baselines *b);

typedef enum { SIDR_DEMO_POPULARITY, SIDR_DEMO_INTENT_RULE, SIDR_DEMO_ORACLE } sidr_demo_baseline;

/* A baseline's ranked list for one sample as distinct SIDs (at most
 * SIDR_DEMO_ORACLE_K, pointers into w's items); returns how many.  _rank also
 * gives the target's rank in it (0-based, -1 a miss). */
int sidr_demo_baseline_sids(const sidr_demo_world *w, sidr_demo_baseline which, const sidr_demo_sample *s,
                            const char **out);
int sidr_demo_baseline_rank(const sidr_demo_world *w, sidr_demo_baseline which, const sidr_demo_sample *s,
                            const char **sids, int *n);
const char *sidr_demo_baseline_name(sidr_demo_baseline which); /* "popularity", "intent-rule", "oracle" */

/* The history-only intent rule above for one sample: up to k item indices,
 * best first; returns how many. */
int sidr_demo_intent_rank(const sidr_demo_world *w, const sidr_demo_sample *s, int *out, int k);

#endif

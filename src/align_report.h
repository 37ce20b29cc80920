/* How well a model has tied each SID to its item, measured the way the
 * Stage-1 title/SID task (task 2) asks it: title -> SID by the
 * trie-constrained beam, SID -> title by greedy decoding, the model's
 * SID-token embeddings against the codebook, and which level-a codes the
 * model confuses. */
#ifndef SIDR_ALIGN_REPORT_H
#define SIDR_ALIGN_REPORT_H

#include <stdint.h>

#include "session.h"

typedef struct {
    int items;            /* sample size; 0 = every item with a SID and a title */
    uint64_t seed;        /* which items (a seeded shuffle) */
    int beams;            /* title -> SID beam width (hit@K needs K <= beams) */
    int max_title_tokens; /* SID -> title decoding cap (else as many tokens as the real title) */
    int knn;              /* neighbours compared per code */
} align_opts;

void align_opts_default(align_opts *o);

typedef struct {
    int item;             /* dataset item index */
    int rank;             /* title -> SID: rank of the item's SID among the beams, -1 = absent */
    char *top_sid;        /* title -> SID: the best beam ("" when none) */
    int levels_right;     /* leading levels of top_sid equal to the item's (0..depth) */
    char *title;          /* SID -> title: the greedy answer */
    int exact;            /* ... equal to the item's title */
    double f1;            /* ... word-level F1 against it */
} align_item;

typedef struct {
    int n;                /* items measured */
    align_item *v;
    int depth;
    double hit1, hit10;   /* title -> SID */
    double level_acc[8];  /* title -> SID, top beam: levels 0..l right */
    double exact, f1;     /* SID -> title */
    /* embeddings vs codebook: per level, the mean share of a code's knn
     * nearest codes by model embedding that are also among its knn nearest
     * by codebook vector (cosine), and what random neighbours would give */
    int knn, knn_levels;
    double knn_overlap[8], knn_chance[8];
    char knn_note[256];   /* why the comparison is missing, "" when done */
    /* level-a confusion of the top beam: [true code][predicted code] */
    int codes_a;
    int *confusion;
} align_report;

/* The title -> SID beams of one item, best first (the explorer shows the top few). */
#define ALIGN_TOP_BEAMS 10
typedef struct {
    int n;
    char sid[ALIGN_TOP_BEAMS][128];
    float score[ALIGN_TOP_BEAMS];    /* sum of log-probabilities */
    int levels_right[ALIGN_TOP_BEAMS];
} align_beams;

/* What measuring one item needs besides the session: the SID -> title
 * decoding cache and buffers, kept across items. */
typedef struct {
    sidr_kv kv;
    sidr_state *st;
    float *logits;
    int live;
} align_ctx;

sidr_status align_ctx_init(align_ctx *c, session *ss);
void align_ctx_free(align_ctx *c);

/* The seeded sample of item indices the report measures, in order (items
 * with a SID and a title, shuffled by o->seed, the first o->items of them);
 * returns the count (0: none, the message set) and a malloc'd array. */
int align_sample(const sidr_dataset *ds, const align_opts *o, int **items);

/* Measures one item exactly as align_report_run does for each of its items
 * (beams, when not NULL, receives the top beams); out's strings are malloc'd
 * (align_item_free).  The explorer's Alignment pane runs this per item. */
sidr_status align_report_item(session *ss, const align_opts *o, align_ctx *c, int item, align_item *out,
                              align_beams *beams);
void align_item_free(align_item *a);
/* Leading levels two SID strings share. */
int align_levels_right(const char *a, const char *b);

/* on_item (may be NULL) after each item: a non-zero return cancels
 * (SIDR_ERR_CANCELLED, the items so far kept in r). */
sidr_status align_report_run(align_report *r, session *ss, const align_opts *o,
                             int (*on_item)(const align_report *r, int done, int total, void *ctx), void *ctx);
void align_report_free(align_report *r);

/* Word-level F1 of two titles: lowercase alphanumeric words, multiset overlap. */
double align_title_f1(const char *a, const char *b);

#endif

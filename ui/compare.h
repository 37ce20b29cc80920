/* A/B (ui/compare.c).  A second model (`sidr explore --compare DIR`,
 * `:compare DIR`) runs on the same history with the same settings each time
 * a run of the first finishes; the compare view (C, ui/view_compare.c) shows
 * both: the target's rank in each, the top-K side by side with rank moves,
 * both traces with the words only one wrote marked, and the first token
 * where the traces part.  The second model must cover the catalogue: every
 * SID token of the dataset in its vocabulary (the same tokenizer family).
 *
 * And the eval-diff filter of the Users pane (`:filter eval-diff A.json
 * B.json`): the rows of two `sidr eval --json` results where exactly one
 * hits @10, each marked with the side that hits. */
#ifndef SIDR_UI_COMPARE_H
#define SIDR_UI_COMPARE_H

#include "catalog.h"
#include "edit.h"
#include "recommend.h"
#include "tokenizer.h"
#include "transformer.h"

typedef enum { CMP_NONE, CMP_ACTIVE, CMP_DONE, CMP_CANCELLED, CMP_FAILED } cmp_state;

typedef struct {
    int on;                               /* model B is loaded */
    char *dir;
    char label[128];
    sidr_model model;
    sidr_tokenizer *tok;
    sidr_catalog cat;
    /* the history and row of model A's current run, for B */
    const char *hist[SIDR_MAX_HISTORY];
    int n_hist;
    int user, split, row, n_edits;        /* user -1: none */
    /* the pair: A's and B's last finished runs of that row */
    run_sum a, b;
    int *ids_a, *ids_b;                   /* reasoning token ids */
    int n_a, n_b;
    int div;                              /* first divergent token index, -1 the traces agree */
    /* B's run, an engine step per tick */
    rec_run run;
    int run_live;
    cmp_state state;
    char err[512];
    int shown;                            /* the compare view takes the pane area */
} cmpdata;

typedef struct {
    int split, row;
    char side;                            /* 'A' or 'B': the one that hits */
} evrow;

typedef struct {
    int on;
    char name_a[128], name_b[128];        /* the files' base names */
    int k;
    evrow *rows;
    int n, n_only_a, n_only_b;
    long paired;
} evfilter;

struct app;
struct cJSON;

/* Loads model B from dir (replacing one loaded); refuses, naming dir and
 * what differs, when its vocabulary lacks the catalogue's SID tokens. */
int cmp_load(struct app *a, const char *dir);
void cmp_unload(struct app *a);
/* Model A's run begins on this history: B's pending work goes. */
void cmp_run_begins(struct app *a, const char *const *hist, int n);
/* Model A's run finished (a->run): B runs the same history next. */
void cmp_run_done(struct app *a);
int cmp_busy(const struct app *a);        /* 1: B's run has steps to do */
int cmp_work(struct app *a);              /* one engine step of B's run */
void cmp_cancel(struct app *a, const char *why);
/* The compare view. */
void compare_toggle(struct app *a);
int compare_shown(const struct app *a);
/* A token's text made visible with a given tokenizer ("\"the\"", \n escaped). */
void cmp_token_display(const sidr_tokenizer *tok, int id, char *buf, size_t cap);

/* :export: model B, both runs of the pair with B's rank moves against A, and
 * where the traces part, when the pair is of the row exported and done;
 * nothing otherwise. */
void cmp_export_json(struct app *a, struct cJSON *root, int split, int row);
void cmp_export_md(struct app *a, FILE *f, int split, int row);

/* The eval-diff filter: loads, checks the rows against the dataset; 0, or
 * -1 with the message (file, field, expectation) on the message line. */
int evf_load(struct app *a, const char *path_a, const char *path_b);
void evf_off(struct app *a);
/* 'A', 'B' or 0 for a dataset row. */
int evf_side(const struct app *a, int split, int row);

#endif

/* Counterfactual history edits (ui/edit.c): the History pane's items can be
 * deleted, moved and inserted (from the catalogue), the edits undone one by
 * one, and a run then uses the edited history.  The edits belong to one
 * dataset row and are discarded when another row or user is opened.  The
 * last run of the original history and of the edited one are kept as
 * summaries, which the diff view (ui/view_diff.c) and :export compare. */
#ifndef SIDR_UI_EDIT_H
#define SIDR_UI_EDIT_H

#include <stdio.h>

#include "dataset.h"
#include "recommend.h"

#define EDIT_MAX_LOG 64

typedef enum { EDIT_DELETE, EDIT_MOVE, EDIT_INSERT } edit_kind;

/* One edit, in terms of the history as it was just before it. */
typedef struct {
    edit_kind kind;
    int pos;        /* 0-based: the item deleted or moved, or where the insert goes */
    int to;         /* EDIT_MOVE: its new position */
    int item;       /* the dataset item deleted, moved or inserted */
} hist_edit;

/* What a finished run produced. */
typedef struct {
    int valid;
    rec_settings set;
    int n_hist, hist[SIDR_MAX_HISTORY];   /* the history it ran on (dataset items) */
    int n_edits;                          /* edits behind that history (0: the original) */
    char *reasoning;                      /* NULL without thinking */
    int n_reasoning_tokens;
    int n_top;
    char **sid;                           /* the top-K, best first */
    float *score;
    int *item;                            /* the first item of each SID */
    int rank;                             /* the target's, 0-based; -1 miss */
    int stamp;                            /* a new one per summary (the diff view caches by it) */
} run_sum;

/* Fills s from a finished run (the top-K's items from cat; rank 0-based, -1
 * miss); history and edit count are the caller's.  A new stamp each time. */
void run_sum_fill(run_sum *s, const rec_run *r, const sidr_catalog *cat, int rank);
void run_sum_free(run_sum *s);

typedef struct {
    int user, split, row;                 /* the row the edits and summaries are of; user -1: none */
    hist_edit log[EDIT_MAX_LOG];
    int n_log;
    /* the history after the log, replayed from the row */
    int n, items[SIDR_MAX_HISTORY];
    signed char mark[SIDR_MAX_HISTORY];   /* 0, '+' inserted, '~' moved */
    int gen;                              /* bumps on every change */
    /* insert: '/' picks a catalogue item, shown before position pick_pos */
    int picking, pick_pos, pick_item;
    /* the run in app.run: the edits it used (0: the original history) */
    int run_edits;
    int chain;                            /* the original runs first (for the diff), the edited one next */
    run_sum orig, edited;
    int diff_shown;                       /* the diff view takes the pane area */
} hist_edits;

struct app;
struct cJSON;

void edit_init(struct app *a);
void edit_free(struct app *a);
/* A row was opened: the edits of another row go. */
void edit_follow_row(struct app *a);
/* Edits are in effect for the current row. */
int edit_active(const struct app *a);
/* The history the History pane shows: the edited one or the row's; n items. */
const int *edit_items(const struct app *a, int *n);
/* '+', '~' or 0 for position i of edit_items. */
int edit_mark(const struct app *a, int i);

/* The edits; each says what it did (or why not) on the message line. */
void edit_delete(struct app *a, int pos);
void edit_move(struct app *a, int pos, int dir);
void edit_insert(struct app *a, int pos, int item);
void edit_undo(struct app *a);
void edit_revert(struct app *a);
/* A one-line description of edit k ("delete #3 Title"). */
void edit_describe(const struct app *a, int k, char *buf, size_t cap);

/* The history for the next run (SID strings), and whether it is the edited
 * one: with edits but no original run of the row under the same settings,
 * the original runs first and the edited one follows it (edit_run_done).
 * Returns the count, -1 with sidr_last_error() set. */
int edit_run_history(struct app *a, const char **sids);
/* A run ended (done): keeps its summary; 1 when the chained edited run should start. */
int edit_run_done(struct app *a);
/* The original summary was made with these settings. */
int edit_same_settings(const rec_settings *x, const rec_settings *y);

/* The rank of a SID in a summary's top-K, -1.  The move of entry i: on the
 * edited side "+2" (up two), "-1", "=" or "new"; on the original side "gone"
 * when the edited run lost it, else the same numbers. */
int edit_rank_of(const run_sum *s, const char *sid);
void edit_rank_move(const run_sum *orig, const run_sum *edited, int i, int on_edited, char *buf, size_t cap);

/* The diff view (ui/view_diff.c). */
void diff_toggle(struct app *a);
int diff_shown(const struct app *a);

/* A run summary as JSON under key (null when s is not valid): settings, the
 * history when s has one, the reasoning, the top-K with "move" against other
 * (when given and valid; s is the second of the pair when on_second) and the
 * target's rank. */
void run_sum_json(const struct app *a, struct cJSON *root, const char *key, const run_sum *s, const run_sum *other,
                  int on_second, const sidr_item *target);

/* :export: the edited history, the edits and both runs' results, for the
 * row exported; nothing when the row has neither edits nor an edited run. */
void edit_export_json(struct app *a, struct cJSON *root, int split, int row);
void edit_export_md(struct app *a, FILE *f, int split, int row);

#endif

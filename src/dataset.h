/* One in-memory model of a recommendation dataset, read from either layout
 * sidr knows (SPEC §2 "Datasets"), auto-detected:
 *
 *  - MiniOneRec / SIDReasoner: train|valid|test/<Cat>_*.csv (list columns are
 *    Python list literals inside CSV quoting), info/<Cat>_*.txt
 *    (SID \t title \t item_id), index/<Cat>.index.json (item id -> SID
 *    tokens), index/<Cat>.item.json (item id -> title, description, brand,
 *    categories).  Any subset may be present.
 *  - RecBole atomic files: <name>.train|valid|test.inter (user_id,
 *    item_id_list, item_id: pre-split histories) or a plain <name>.inter with
 *    timestamps, from which the paper's samples are built (SPEC §1.7: per user
 *    a sample for every position with the previous <= 10 items as history,
 *    all samples sorted by target time, split 8:1:1); optional <name>.item,
 *    <name>.text, <name>.item2index, <name>.user2index.
 *
 * Items, users and samples are dense arrays; indices are ints.  Lookups by
 * external id and by SID string are hash maps.  The loader never prints:
 * anything worth telling the user that is not an error (a missing train split,
 * rows skipped, titles that disagree) is in ds->warnings.
 *
 * Malformed input (all SIDR_ERR_FORMAT, message "FILE:LINE: field 'NAME':
 * expected ..., got ..."):
 *   fatal always   - a wrong or incomplete header, unbalanced CSV quotes, a
 *                    row with the wrong number of fields, text that is not
 *                    UTF-8 (MiniOneRec files; RecBole .item/.text files that
 *                    are not UTF-8 are read as Latin-1, as RecBole's ml-100k
 *                    ships, with a warning), a malformed catalogue
 *                    (index.json, item.json, info.txt, item2index).
 *   fatal unless opts.skip_bad_rows (then: row skipped, counted in
 *   split->skipped_bad, first messages kept as warnings)
 *                  - a list column that does not parse, an unknown item id,
 *                    history lists of different lengths, a SID that differs
 *                    from the catalogue's, a SID token that is not <a_N>...
 *   skipped and counted, never fatal
 *                  - a row with an empty history (split->skipped_empty): no
 *                    prompt can be built from it.  In an evaluation split this
 *                    changes the row count; the count is in the warnings.
 *   kept, counted  - a CSV title that differs from the catalogue title (the
 *                    catalogue wins; ds->n_title_mismatch), a history longer
 *                    than max_history (the last max_history items are kept;
 *                    split->truncated).
 */
#ifndef SIDR_DATASET_H
#define SIDR_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "strmap.h"

#define SIDR_MAX_HISTORY 10  /* the paper's history window */
#define SIDR_MAX_SID_LEVELS 8

typedef enum { SIDR_LAYOUT_AUTO = 0, SIDR_LAYOUT_MINIONEREC, SIDR_LAYOUT_RECBOLE } sidr_layout;

typedef enum { SIDR_SPLIT_TRAIN = 0, SIDR_SPLIT_VALID, SIDR_SPLIT_TEST, SIDR_SPLIT_COUNT } sidr_split_id;

typedef enum {
    SIDR_DERIVE_OFF = 0,
    /* Training samples from the train-period prefix of each user's rows:
     * per user, the earliest valid row's history h1..hn (all of it precedes
     * the first valid target) gives h1..h(k-1) -> hk, k = 2..n; a user with
     * no valid row bought nothing in the valid period, so the earliest test
     * row's history is train period too and is used the same way.  Uses no
     * valid or test target, so validation stays clean. */
    SIDR_DERIVE_TRAIN_PERIOD,
    /* Same, from each user's longest valid history.  More samples, but the
     * longer histories end in earlier valid targets, so some valid rows
     * reappear as training samples (validation becomes optimistic; test is
     * never touched). */
    SIDR_DERIVE_LONGEST,
} sidr_derive_mode;

typedef struct {
    sidr_layout layout;      /* AUTO detects from the files */
    const char *category;    /* MiniOneRec <Cat> / RecBole <name>; NULL = the only one present */
    sidr_derive_mode derive_train; /* build train from valid histories when train is absent */
    int max_history;         /* 1..SIDR_MAX_HISTORY; 0 = SIDR_MAX_HISTORY */
    int skip_bad_rows;       /* skip (and count) bad rows instead of failing */
} sidr_dataset_opts;

typedef struct {
    char *id;          /* external id as written in the files ("114", "B00TNNWMXI") */
    char *title;       /* UTF-8; "" when unknown, never NULL */
    char *description; /* "" when unknown */
    char *brand;
    char *categories;
    int n_levels;      /* SID length L; 0 when the item has no SID */
    int code[SIDR_MAX_SID_LEVELS]; /* code per level: <a_60><b_159><c_203> -> 60, 159, 203 */
    char *sid;         /* "<a_60><b_159><c_203>", NULL when none */
    int sid_group;     /* index into ds->sid_groups, -1 when no SID */
} sidr_item;

typedef struct {
    char *id;
} sidr_user;

typedef struct {
    int user;
    int target;
    int n_hist;                 /* 1..max_history */
    int hist[SIDR_MAX_HISTORY]; /* item indices, oldest first */
    int line;                   /* 1-based line of the row in split->path; 0 if built */
    int64_t time;               /* target timestamp when known, else -1 */
} sidr_sample;

typedef struct {
    int present;        /* rows were read from a file or built */
    int derived;        /* built by derive_train / from a plain .inter */
    char *path;         /* the file the rows came from (NULL if built) */
    sidr_sample *rows;
    int n, cap;
    int skipped_empty;  /* rows with an empty history, skipped */
    int skipped_bad;    /* malformed rows skipped under skip_bad_rows */
    int truncated;      /* rows whose history was cut to max_history */
} sidr_split;

/* Items sharing one SID string (a collision when n > 1). */
typedef struct {
    const char *sid;    /* points at the first item's sid */
    int n;
    int *items;         /* into ds->sid_group_items */
} sidr_sid_group;

typedef struct sidr_dataset {
    sidr_layout layout;
    char *dir;
    char *name;            /* <Cat> or RecBole <name> */
    int max_history;

    sidr_item *items;
    int n_items, items_cap;
    sidr_user *users;
    int n_users, users_cap;
    sidr_split split[SIDR_SPLIT_COUNT];

    int sid_levels;        /* L shared by every item with a SID; 0 if no SIDs */
    int sid_codes[SIDR_MAX_SID_LEVELS]; /* max code + 1 per level */
    int n_items_with_sid;
    sidr_sid_group *sid_groups;
    int n_sid_groups;
    int n_sid_collisions;  /* groups with more than one item */
    int *sid_group_items;

    int n_title_mismatch;  /* CSV titles that differ from the catalogue */

    char **warnings;       /* at most ~40 messages, then "... and N more warnings" */
    int n_warnings;
    int n_warnings_dropped;

    sidr_strmap item_by_id, user_by_id, group_by_sid;
} sidr_dataset;

void sidr_dataset_opts_default(sidr_dataset_opts *o);

/* Loads the dataset under dir.  opts may be NULL (defaults).  On failure ds
 * is left empty (safe to free) and sidr_last_error() says why. */
sidr_status sidr_dataset_load(sidr_dataset *ds, const char *dir, const sidr_dataset_opts *opts);
void sidr_dataset_free(sidr_dataset *ds);

/* Lookups: index, or -1 when absent. */
int sidr_dataset_item(const sidr_dataset *ds, const char *id);
int sidr_dataset_user(const sidr_dataset *ds, const char *id);
/* The items carrying a SID string ("<a_1><b_2><c_3>"); NULL when none. */
const sidr_sid_group *sidr_dataset_sid(const sidr_dataset *ds, const char *sid);

/* Row n of a split, NULL when out of range or the split is absent. */
const sidr_sample *sidr_dataset_row(const sidr_dataset *ds, sidr_split_id split, int n);
/* Indices of the user's rows in a split, in file order; returns how many
 * there are (writes at most cap of them). */
int sidr_dataset_user_rows(const sidr_dataset *ds, sidr_split_id split, int user, int *rows, int cap);

/* The distinct SID tokens of the catalogue in strcmp (byte) order, which is
 * the order of Python's sorted() that MiniOneRec uses to add them to a
 * vocabulary: <a_0>, <a_100>, ..., <a_109>, <a_10>, <a_110>, ... ('>' sorts
 * after the digits).  A fresh array of fresh strings; free with
 * sidr_dataset_free_tokens. */
char **sidr_dataset_sid_tokens(const sidr_dataset *ds, int *n);
void sidr_dataset_free_tokens(char **tokens, int n);
/* Writes token `level` of an item's SID ("<b_159>") into buf; 0 on success,
 * -1 when the item has no such level. */
int sidr_item_sid_token(const sidr_item *it, int level, char *buf, size_t cap);

const char *sidr_split_name(sidr_split_id s);         /* "train", "valid", "test" */
int sidr_split_parse(const char *name);               /* -1 when unknown */
const char *sidr_layout_name(sidr_layout l);          /* "minionerec", "recbole" */

/* Parses a SID string into codes; returns L (>= 1) or -1 when it is not a
 * concatenation of <a_N><b_N>... tokens. */
int sidr_sid_parse(const char *sid, size_t len, int *codes, int max_levels);

#endif

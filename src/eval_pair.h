/* Two 'sidr eval --json' results of the same split, paired row by row: what
 * `sidr eval-diff` reports and what the explorer's Users pane filters by
 * (`:filter eval-diff A.json B.json`). */
#ifndef SIDR_EVAL_PAIR_H
#define SIDR_EVAL_PAIR_H

#include <stddef.h>

#include "status.h"

struct cJSON;

typedef struct {
    const char *path;
    struct cJSON *doc;
    const struct cJSON *rows;    /* per_row */
    long n, max_row;
    int *rank_of;                /* [max_row + 1]: 0-based rank, -1 miss, -2 when the row is absent */
    const struct cJSON **entry_of;
} eval_doc;

/* Reads one result; on failure the message names the file, the field and
 * what was expected (and *e is safe to free). */
sidr_status eval_doc_load(eval_doc *e, const char *path);
void eval_doc_free(eval_doc *e);
/* A string field of the document or of a per_row entry, NULL. */
const char *eval_doc_str(const struct cJSON *o, const char *key);
/* Loads both and checks that they pair (the same split); a warning about
 * differing data folders goes to warn (may be NULL, else cap bytes). */
sidr_status eval_pair_load(eval_doc *a, eval_doc *b, const char *path_a, const char *path_b, char *warn, size_t cap);

/* The paired rows where exactly one side hits @k: calls fn(row, side, ctx)
 * with side 'A' or 'B' (the one that hits), in row order.  Returns the count
 * of rows both files have. */
long eval_pair_only(const eval_doc *a, const eval_doc *b, int k, void (*fn)(long row, int side, void *ctx), void *ctx);

#endif

/* Reading and pairing 'sidr eval --json' results (see eval_pair.h). */
#include "eval_pair.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

const char *eval_doc_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

sidr_status eval_doc_load(eval_doc *e, const char *path)
{
    memset(e, 0, sizeof *e);
    e->path = path;
    char *text;
    size_t len;
    sidr_status s = read_file(path, &text, &len);
    if (s) return s;
    e->doc = cJSON_ParseWithLength(text, len);
    free(text);
    if (!e->doc) return sidr_fail(SIDR_ERR_FORMAT, "%s: not JSON (expected the file 'sidr eval --json FILE' writes)", path);
    e->rows = cJSON_GetObjectItemCaseSensitive(e->doc, "per_row");
    if (!eval_doc_str(e->doc, "split"))
        return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'split': expected a string (train, valid or test); not a 'sidr eval --json' result?", path);
    if (!cJSON_IsArray(e->rows))
        return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'per_row': expected an array of rows; not a 'sidr eval --json' result?", path);
    const cJSON *r;
    e->max_row = -1;
    cJSON_ArrayForEach(r, e->rows) {
        const cJSON *row = cJSON_GetObjectItemCaseSensitive(r, "row"), *rank = cJSON_GetObjectItemCaseSensitive(r, "rank");
        if (!cJSON_IsNumber(row) || row->valuedouble < 0 || row->valuedouble > 1e9)
            return sidr_fail(SIDR_ERR_FORMAT, "%s: per_row[%ld]: field 'row': expected a number >= 0", path, e->n);
        if (!cJSON_IsNumber(rank))
            return sidr_fail(SIDR_ERR_FORMAT, "%s: per_row[%ld]: field 'rank': expected a number (-1: a miss)", path, e->n);
        if ((long)row->valuedouble > e->max_row) e->max_row = (long)row->valuedouble;
        e->n++;
    }
    if (e->n == 0) return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'per_row' is empty; expected at least one row", path);
    e->rank_of = xmalloc((size_t)(e->max_row + 1) * sizeof *e->rank_of);
    e->entry_of = xcalloc((size_t)(e->max_row + 1), sizeof *e->entry_of);
    for (long i = 0; i <= e->max_row; i++) e->rank_of[i] = -2;
    cJSON_ArrayForEach(r, e->rows) {
        long row = (long)cJSON_GetObjectItemCaseSensitive(r, "row")->valuedouble;
        if (e->rank_of[row] != -2) return sidr_fail(SIDR_ERR_FORMAT, "%s: per_row: row %ld appears twice; expected each row once", path, row);
        double rk = cJSON_GetObjectItemCaseSensitive(r, "rank")->valuedouble;
        e->rank_of[row] = rk >= 0 ? (int)rk : -1;
        e->entry_of[row] = r;
    }
    return SIDR_OK;
}

void eval_doc_free(eval_doc *e)
{
    cJSON_Delete(e->doc);
    free(e->rank_of);
    free(e->entry_of);
    memset(e, 0, sizeof *e);
}

sidr_status eval_pair_load(eval_doc *a, eval_doc *b, const char *path_a, const char *path_b, char *warn, size_t cap)
{
    if (warn && cap) warn[0] = 0;
    memset(b, 0, sizeof *b);
    sidr_status s = eval_doc_load(a, path_a);
    if (!s) s = eval_doc_load(b, path_b);
    if (!s) {
        const char *sa = eval_doc_str(a->doc, "split"), *sb = eval_doc_str(b->doc, "split");
        const char *da = eval_doc_str(a->doc, "data"), *db = eval_doc_str(b->doc, "data");
        if (strcmp(sa, sb))
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: split '%s' differs from %s's '%s'; only evaluations of the same rows pair",
                          b->path, sb, a->path, sa);
        else if (da && db && strcmp(da, db) && warn)
            snprintf(warn, cap, "the data folders differ (%s, %s); rows are paired by number", da, db);
    }
    if (s) {
        eval_doc_free(a);
        eval_doc_free(b);
    }
    return s;
}

long eval_pair_only(const eval_doc *a, const eval_doc *b, int k, void (*fn)(long row, int side, void *ctx), void *ctx)
{
    long n = 0, max = a->max_row < b->max_row ? a->max_row : b->max_row;
    for (long r = 0; r <= max; r++) {
        if (a->rank_of[r] == -2 || b->rank_of[r] == -2) continue;
        n++;
        double xa = metric_hr(a->rank_of[r], k), xb = metric_hr(b->rank_of[r], k);
        if (xa && !xb) fn(r, 'A', ctx);
        else if (xb && !xa) fn(r, 'B', ctx);
    }
    return n;
}

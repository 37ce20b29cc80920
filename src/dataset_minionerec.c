#define _POSIX_C_SOURCE 200809L
/* The MiniOneRec layout (dataset.h): the catalogue in index/ (index.json,
 * item.json) and info/, and the train|valid|test CSV splits. */
#include "dataset.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "dataset_internal.h"
#include "util.h"

/* ---- catalogue: MiniOneRec index/ and info/ --------------------------------------------- */

static sidr_status json_load(const char *path, cJSON **out)
{
    char *buf;
    size_t len;
    sidr_status st = ds_read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = (at && at >= buf && at <= buf + len) ? (size_t)(at - buf) : 0;
        int line = ds_line_of(buf, off);
        free(buf);
        return sidr_fail(SIDR_ERR_FORMAT, "%s:%d: malformed JSON", path, line);
    }
    free(buf);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: expected a JSON object mapping item ids to values", path);
    }
    *out = root;
    return SIDR_OK;
}

sidr_status ds_load_index_json(sidr_dataset *ds, const char *path)
{
    cJSON *root;
    sidr_status st = json_load(path, &root);
    if (st != SIDR_OK) return st;
    int first_L = 0;
    const char *first_id = NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        const char *id = e->string;
        int codes[SIDR_MAX_SID_LEVELS], L = 0;
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) < 1 || cJSON_GetArraySize(e) > SIDR_MAX_SID_LEVELS) {
            st = sidr_fail(SIDR_ERR_FORMAT,
                           "%s: item '%s': expected a list of 1 to %d SID tokens like [\"<a_1>\", \"<b_2>\", "
                           "\"<c_3>\"]",
                           path, id, SIDR_MAX_SID_LEVELS);
            goto out;
        }
        const cJSON *t;
        cJSON_ArrayForEach(t, e)
        {
            const char *s = cJSON_IsString(t) ? t->valuestring : NULL;
            if (!s || ds_sid_token(s, strlen(s), L, &codes[L]) != strlen(s)) {
                char ex[80];
                st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s': SID token %d: expected \"<%c_N>\", got %s%s%s",
                               path, id, L + 1, 'a' + L, s ? "\"" : "", s ? ds_excerpt(s, strlen(s), ex, sizeof ex) : "a non-string",
                               s ? "\"" : "");
                goto out;
            }
            L++;
        }
        if (first_L == 0) {
            first_L = L;
            first_id = id;
        } else if (L != first_L) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s': expected %d SID tokens (as item '%s'), got %d", path, id,
                           first_L, first_id, L);
            goto out;
        }
        int idx = ds_item_add(ds, id, strlen(id));
        if (ds->items[idx].n_levels) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s' appears twice", path, id);
            goto out;
        }
        ds_item_set_sid(&ds->items[idx], codes, L);
    }
out:
    cJSON_Delete(root);
    return st;
}

/* MiniOneRec stores description (and sometimes categories) as the text of a
 * Python list: "['first paragraph', 'second']".  Joined with sep when it
 * parses as a list of strings; the raw text otherwise. */
static char *text_or_pylist(const char *s, const char *sep)
{
    size_t n = strlen(s);
    const char *p = s;
    while (*p == ' ') p++;
    if (*p == '[') {
        sidr_pylist l;
        sidr_pylist_init(&l);
        char why[160];
        if (sidr_pylist_parse(&l, s, n, why, sizeof why) == SIDR_OK) {
            size_t total = 1;
            for (int i = 0; i < l.n; i++) total += l.lens[i] + strlen(sep);
            char *out = xmalloc(total);
            size_t k = 0;
            for (int i = 0; i < l.n; i++) {
                if (l.lens[i] == 0) continue;
                if (k) {
                    memcpy(out + k, sep, strlen(sep));
                    k += strlen(sep);
                }
                memcpy(out + k, l.items[i], l.lens[i]);
                k += l.lens[i];
            }
            out[k] = 0;
            sidr_pylist_free(&l);
            return out;
        }
        sidr_pylist_free(&l);
    }
    return xstrndup(s, n);
}

static void append_json_strings(const cJSON *v, char **buf, size_t *len, size_t *cap, const char *sep)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        size_t n = strlen(s), ls = strlen(sep);
        if (!n) return;
        while (*len + n + ls + 1 > *cap) *cap = *cap ? 2 * *cap : 64, *buf = xrealloc(*buf, *cap);
        if (*len) memcpy(*buf + *len, sep, ls), *len += ls;
        memcpy(*buf + *len, s, n);
        *len += n;
        (*buf)[*len] = 0;
    } else if (cJSON_IsArray(v)) {
        const cJSON *c;
        cJSON_ArrayForEach(c, v) append_json_strings(c, buf, len, cap, sep);
    }
}

static char *json_text(const cJSON *v, const char *sep)
{
    if (!v || cJSON_IsNull(v)) return xstrdup("");
    if (cJSON_IsString(v)) return text_or_pylist(v->valuestring, sep);
    if (cJSON_IsArray(v)) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        append_json_strings(v, &buf, &len, &cap, sep);
        return buf ? buf : xstrdup("");
    }
    if (cJSON_IsNumber(v)) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.17g", v->valuedouble);
        return xstrdup(tmp);
    }
    return xstrdup("");
}

static sidr_status load_item_json(sidr_dataset *ds, const char *path)
{
    cJSON *root;
    sidr_status st = json_load(path, &root);
    if (st != SIDR_OK) return st;
    int n_new = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        const char *id = e->string ? e->string : "";
        /* the message names the item, so it is written before root goes */
        if (!cJSON_IsObject(e)) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s': expected an object with title, description, brand, categories",
                           path, id);
            cJSON_Delete(root);
            return st;
        }
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(e, "title");
        if (title && !cJSON_IsString(title) && !cJSON_IsNull(title)) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s': field 'title': expected a string", path, id);
            cJSON_Delete(root);
            return st;
        }
        int before = ds->n_items;
        int idx = ds_item_add(ds, id, strlen(id));
        if (idx >= before) n_new++;
        sidr_item *it = &ds->items[idx];
        if (cJSON_IsString(title)) ds_set_str(&it->title, title->valuestring, strlen(title->valuestring));
        free(it->description);
        it->description = json_text(cJSON_GetObjectItemCaseSensitive(e, "description"), " ");
        free(it->brand);
        it->brand = json_text(cJSON_GetObjectItemCaseSensitive(e, "brand"), " ");
        free(it->categories);
        it->categories = json_text(cJSON_GetObjectItemCaseSensitive(e, "categories"), ", ");
    }
    cJSON_Delete(root);
    if (n_new && ds->n_items_with_sid)
        ds_warn(ds, "%s: %d items have metadata but no SID in the index", path, n_new);
    return SIDR_OK;
}

/* info/<Cat>_*.txt: SID \t title \t item_id per line, no header. */
static sidr_status load_info_txt(sidr_dataset *ds, const char *path)
{
    char *buf;
    size_t len, pos = 0, n;
    sidr_status st = ds_read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    const char *s;
    int line = 0, mismatch = 0;
    int *first_line = NULL, cap_line = 0; /* by item index: the line that listed it, 0 for none */
    while (ds_next_line(buf, len, &pos, &s, &n)) {
        line++;
        if (n == 0) continue;
        const char *t1 = memchr(s, '\t', n);
        const char *t2 = NULL;
        for (const char *p = s + n; p > s; p--)
            if (p[-1] == '\t') {
                t2 = p - 1;
                break;
            }
        if (!t1 || t1 == t2) {
            char ex[80];
            st = sidr_fail(SIDR_ERR_FORMAT,
                           "%s:%d: expected 3 tab-separated fields (SID, title, item_id), got '%s'", path, line,
                           ds_excerpt(s, n, ex, sizeof ex));
            goto out;
        }
        const char *sid = s, *title = t1 + 1, *id = t2 + 1;
        size_t nsid = (size_t)(t1 - s), ntitle = (size_t)(t2 - title), nid = (size_t)(s + n - id);
        int codes[SIDR_MAX_SID_LEVELS];
        int L = sidr_sid_parse(sid, nsid, codes, SIDR_MAX_SID_LEVELS);
        if (L < 0) {
            char ex[80];
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'SID': expected a SID like <a_1><b_2><c_3>, got '%s'",
                           path, line, ds_excerpt(sid, nsid, ex, sizeof ex));
            goto out;
        }
        if (nid == 0) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'item_id': expected an item id, got an empty field",
                           path, line);
            goto out;
        }
        int idx = ds_item_add(ds, id, nid);
        sidr_item *it = &ds->items[idx];
        if (idx >= cap_line) {
            int old_cap = cap_line;
            cap_line = ds->n_items > 2 * cap_line ? ds->n_items : 2 * cap_line + 16;
            first_line = xrealloc(first_line, (size_t)cap_line * sizeof *first_line);
            memset(first_line + old_cap, 0, (size_t)(cap_line - old_cap) * sizeof *first_line);
        }
        if (first_line[idx]) {
            st = sidr_fail(SIDR_ERR_FORMAT,
                           "%s:%d: field 'item_id': item '%s' is listed again (first on line %d); expected each "
                           "item id once", path, line, it->id, first_line[idx]);
            goto out;
        }
        first_line[idx] = line;
        if (it->n_levels == 0) {
            ds_item_set_sid(it, codes, L);
        } else if (!ds_sid_equal(it, codes, L)) {
            char ex[80];
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'SID': expected %s (item %s in the index), got '%s'",
                           path, line, it->sid, it->id, ds_excerpt(sid, nsid, ex, sizeof ex));
            goto out;
        }
        if (!it->title[0]) {
            ds_set_str(&it->title, title, ntitle);
        } else if (strlen(it->title) != ntitle || memcmp(it->title, title, ntitle) != 0) {
            if (mismatch++ == 0)
                ds_warn(ds, "%s:%d: title of item %s differs from index/*.item.json (the item.json title is kept)",
                     path, line, it->id);
        }
    }
    if (mismatch) {
        ds->n_title_mismatch += mismatch;
        if (mismatch > 1) ds_warn(ds, "%s: %d titles differ from index/*.item.json", path, mismatch);
    }
out:
    free(first_line);
    free(buf);
    return st;
}

/* ---- MiniOneRec CSV splits ---------------------------------------------------------------- */

enum { COL_USER, COL_HTITLE, COL_TITLE, COL_HID, COL_ID, COL_HSID, COL_SID, N_COLS };
static const char *const col_names[N_COLS] = {
    "user_id", "history_item_title", "item_title", "history_item_id", "item_id", "history_item_sid", "item_sid",
};

typedef struct {
    const char *path;
    int col[N_COLS];
    int mismatch0;       /* ds->n_title_mismatch before this file */
    int catalogue;    /* items come from index/info/item.json: unknown ids are errors */
    sidr_pylist ids, titles, sids;
    int *hist, hist_cap;
    int (*codes)[SIDR_MAX_SID_LEVELS];
    int *levels;
    int n_empty_first_line;
} csv_ctx;

static sidr_status row_fail(const csv_ctx *x, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sidr_status row_fail(const csv_ctx *x, int line, int col, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field '%s': %s", x->path, line, col_names[col], msg);
}

static sidr_status parse_list(csv_ctx *x, const sidr_csv *c, int col, sidr_pylist *l, sidr_py_kind want,
                              const char *example)
{
    size_t n;
    const char *f = sidr_csv_field(c, x->col[col], &n);
    char why[200], ex[80];
    if (sidr_pylist_parse(l, f, n, why, sizeof why) != SIDR_OK)
        return row_fail(x, c->record_line, col, "expected a Python list like %s: %s; got '%s'", example, why,
                        ds_excerpt(f, n, ex, sizeof ex));
    for (int i = 0; i < l->n; i++)
        if (want == SIDR_PY_STR && l->kind[i] != SIDR_PY_STR)
            return row_fail(x, c->record_line, col, "expected a Python list of strings like %s; element %d is %s",
                            example, i + 1, l->items[i]);
    return SIDR_OK;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

/* Single-character edits between a and b, or 3 when more than two. */
static int edit_distance3(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64 || (na > nb ? na - nb : nb - na) > 2) return 3;
    int d[65][65];
    for (size_t i = 0; i <= na; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            d[i][j] = v;
        }
    return d[na][nb] < 3 ? d[na][nb] : 3;
}

/* One CSV row.  Checks everything before changing the dataset, so that a
 * skipped bad row leaves no trace. */
static sidr_status csv_row(sidr_dataset *ds, csv_ctx *x, const sidr_csv *c, sidr_split *sp, int *empty)
{
    int line = c->record_line;
    char ex[80];
    *empty = 0;
    size_t nu;
    const char *uid = sidr_csv_field(c, x->col[COL_USER], &nu);
    trim(&uid, &nu);
    if (nu == 0) return row_fail(x, line, COL_USER, "expected a user id, got an empty field");

    sidr_status st = parse_list(x, c, COL_HID, &x->ids, SIDR_PY_INT, "[3112, 114]");
    if (st != SIDR_OK) return st;
    int n = x->ids.n;
    for (int i = 0; i < n; i++)
        if (x->ids.lens[i] == 0)
            return row_fail(x, line, COL_HID, "expected item ids; element %d is an empty string", i + 1);
    if (x->col[COL_HTITLE] >= 0) {
        st = parse_list(x, c, COL_HTITLE, &x->titles, SIDR_PY_STR, "['Super Glue', \"Kid's Kit\"]");
        if (st != SIDR_OK) return st;
        if (x->titles.n != n)
            return row_fail(x, line, COL_HTITLE, "expected %d titles (one per history_item_id), got %d", n,
                            x->titles.n);
    }
    if (x->col[COL_HSID] >= 0) {
        st = parse_list(x, c, COL_HSID, &x->sids, SIDR_PY_STR, "['<a_1><b_2><c_3>']");
        if (st != SIDR_OK) return st;
        if (x->sids.n != n)
            return row_fail(x, line, COL_HSID, "expected %d SIDs (one per history_item_id), got %d", n,
                            x->sids.n);
    }
    if (n == 0) {
        *empty = 1;
        return SIDR_OK;
    }
    size_t ntid;
    const char *tid = sidr_csv_field(c, x->col[COL_ID], &ntid);
    trim(&tid, &ntid);
    if (ntid == 0) return row_fail(x, line, COL_ID, "expected an item id, got an empty field");

    /* resolve ids (n history + the target at position n) */
    if (x->hist_cap < n + 1) {
        x->hist_cap = n + 1;
        x->hist = xrealloc(x->hist, (size_t)x->hist_cap * sizeof *x->hist);
        x->codes = xrealloc(x->codes, (size_t)x->hist_cap * sizeof *x->codes);
        x->levels = xrealloc(x->levels, (size_t)x->hist_cap * sizeof *x->levels);
    }
    for (int i = 0; i <= n; i++) {
        const char *id = i < n ? x->ids.items[i] : tid;
        size_t nid = i < n ? x->ids.lens[i] : ntid;
        int col = i < n ? COL_HID : COL_ID;
        int idx;
        if (!sidr_strmap_get(&ds->item_by_id, id, nid, &idx)) {
            if (x->catalogue)
                return row_fail(x, line, col, "unknown item id '%s' (not in the catalogue of index/ and info/)",
                                ds_excerpt(id, nid, ex, sizeof ex));
            idx = -1;
        }
        x->hist[i] = idx;
        x->levels[i] = 0;
        /* SID of this position, if the row has one */
        const char *sid = NULL;
        size_t nsid = 0;
        if (i < n && x->col[COL_HSID] >= 0) sid = x->sids.items[i], nsid = x->sids.lens[i];
        if (i == n && x->col[COL_SID] >= 0) {
            sid = sidr_csv_field(c, x->col[COL_SID], &nsid);
            trim(&sid, &nsid);
        }
        if (sid) {
            int scol = i < n ? COL_HSID : COL_SID;
            int L = sidr_sid_parse(sid, nsid, x->codes[i], SIDR_MAX_SID_LEVELS);
            if (L < 0)
                return row_fail(x, line, scol, "expected a SID like <a_1><b_2><c_3>%s, got '%s'",
                                i < n ? " in every element" : "", ds_excerpt(sid, nsid, ex, sizeof ex));
            if (idx >= 0 && ds->items[idx].n_levels && !ds_sid_equal(&ds->items[idx], x->codes[i], L)) {
                if (i < n)
                    return row_fail(x, line, scol,
                                    "element %d: expected %s (the SID of item %s in the catalogue), got '%s'", i + 1,
                                    ds->items[idx].sid, ds->items[idx].id, ds_excerpt(sid, nsid, ex, sizeof ex));
                return row_fail(x, line, scol, "expected %s (the SID of item %s in the catalogue), got '%s'",
                                ds->items[idx].sid, ds->items[idx].id, ds_excerpt(sid, nsid, ex, sizeof ex));
            }
            if (ds->sid_levels && L != ds->sid_levels)
                return row_fail(x, line, scol, "expected a SID of %d tokens, got '%s'", ds->sid_levels,
                                ds_excerpt(sid, nsid, ex, sizeof ex));
            x->levels[i] = L;
        }
    }

    /* commit */
    for (int i = 0; i <= n; i++) {
        const char *title = NULL;
        size_t ntitle = 0;
        if (i < n && x->col[COL_HTITLE] >= 0) title = x->titles.items[i], ntitle = x->titles.lens[i];
        if (i == n && x->col[COL_TITLE] >= 0) title = sidr_csv_field(c, x->col[COL_TITLE], &ntitle);
        if (x->hist[i] < 0) x->hist[i] = i < n ? ds_item_add(ds, x->ids.items[i], x->ids.lens[i]) : ds_item_add(ds, tid, ntid);
        sidr_item *it = &ds->items[x->hist[i]];
        if (x->levels[i]) {
            if (!it->n_levels) {
                ds_item_set_sid(it, x->codes[i], x->levels[i]);
                if (!ds->sid_levels) ds->sid_levels = x->levels[i];
            } else if (!ds_sid_equal(it, x->codes[i], x->levels[i])) {
                /* the same new id twice in one row with two SIDs */
                return row_fail(x, line, i < n ? COL_HSID : COL_SID, "item %s appears with two SIDs in this row",
                                it->id);
            }
        }
        if (title) {
            if (!it->title[0]) {
                ds_set_str(&it->title, title, ntitle);
            } else if (strlen(it->title) != ntitle || memcmp(it->title, title, ntitle) != 0) {
                if (ds->n_title_mismatch++ == x->mismatch0)
                    ds_warn(ds, "%s:%d: field '%s': title of item %s differs from the catalogue's (the catalogue "
                             "title is kept)",
                         x->path, line, col_names[i < n ? COL_HTITLE : COL_TITLE], it->id);
            }
        }
    }
    sidr_sample *s = ds_sample_push(sp);
    s->user = ds_user_add(ds, uid, nu);
    s->target = x->hist[n];
    s->line = line;
    ds_sample_set_history(ds, sp, s, x->hist, n);
    return SIDR_OK;
}

static sidr_status load_csv_split(sidr_dataset *ds, sidr_split *sp, const char *path, int catalogue,
                                  int skip_bad)
{
    char *buf;
    size_t len;
    sidr_status st = ds_read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    sp->present = 1;
    sp->path = xstrdup(path);
    sidr_csv c;
    sidr_csv_init(&c, sp->path, buf, len);
    csv_ctx x;
    memset(&x, 0, sizeof x);
    x.path = sp->path;
    x.catalogue = catalogue;
    sidr_pylist_init(&x.ids);
    sidr_pylist_init(&x.titles);
    sidr_pylist_init(&x.sids);
    st = sidr_csv_read_header(&c);
    if (st != SIDR_OK) goto out;
    for (int k = 0; k < N_COLS; k++) x.col[k] = sidr_csv_column(&c, col_names[k]);
    /* A column sidr does not read: an error when it is a near miss of one
     * it does (a misspelled SID column would drop every SID), else a warning. */
    for (int j = 0; j < c.n_names; j++) {
        const char *name = c.names[j];
        int known = 0, near = -1, best = 3;
        for (int k = 0; k < N_COLS && !known; k++) {
            known = !strcmp(name, col_names[k]);
            int dist = known ? 0 : edit_distance3(name, col_names[k]);
            if (!known && dist < best) best = dist, near = k;
        }
        if (known) continue;
        if (near >= 0) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: header: column '%s' is not one sidr reads; did you mean '%s'? "
                           "(columns: user_id, history_item_title, item_title, history_item_id, item_id, "
                           "history_item_sid, item_sid)", path, c.record_line, name, col_names[near]);
            goto out;
        }
        ds_warn(ds, "%s:%d: header: column '%s' is not one sidr reads (ignored)", path, c.record_line, name);
    }
    for (int k = 0; k < N_COLS; k++) {
        int required = k == COL_USER || k == COL_HID || k == COL_ID;
        if (required && x.col[k] < 0) {
            st = sidr_fail(SIDR_ERR_FORMAT,
                           "%s:%d: header: expected a column '%s' (columns: user_id, history_item_title, "
                           "item_title, history_item_id, item_id, history_item_sid, item_sid)",
                           path, c.record_line, col_names[k]);
            goto out;
        }
    }
    int got, first_empty = 0, first_bad = 0, mismatch0 = ds->n_title_mismatch;
    x.mismatch0 = mismatch0;
    for (;;) {
        st = sidr_csv_next(&c, &got);
        if (st != SIDR_OK) goto out;
        if (!got) break;
        if (c.n_fields != c.n_names) {
            st = sidr_fail(SIDR_ERR_FORMAT,
                           "%s:%d: expected %d comma-separated fields as in the header, got %d (unquoted "
                           "comma or unbalanced quotes?)",
                           path, c.record_line, c.n_names, c.n_fields);
            goto out;
        }
        int empty;
        st = csv_row(ds, &x, &c, sp, &empty);
        if (st != SIDR_OK) {
            if (!skip_bad) goto out;
            if (sp->skipped_bad++ < 5) ds_warn(ds, "skipped: %s", sidr_last_error());
            if (!first_bad) first_bad = c.record_line;
            st = SIDR_OK;
            continue;
        }
        if (empty) {
            if (!first_empty) first_empty = c.record_line;
            sp->skipped_empty++;
        }
    }
    if (sp->skipped_empty)
        ds_warn(ds, "%s: %d row%s with an empty history skipped (first on line %d); row numbers such as --row "
             "SPLIT:N count only the rows kept", path, sp->skipped_empty, sp->skipped_empty == 1 ? "" : "s",
             first_empty);
    if (sp->skipped_bad > 5) ds_warn(ds, "%s: %d malformed rows skipped in all", path, sp->skipped_bad);
    if (sp->n == 0 && !sp->skipped_empty && !sp->skipped_bad) ds_warn(ds, "%s: no rows after the header", path);
    if (ds->n_title_mismatch - mismatch0 > 1)
        ds_warn(ds, "%s: %d titles differ from the catalogue's in all (the catalogue titles are kept)", path,
             ds->n_title_mismatch - mismatch0);
    if (sp->truncated)
        ds_warn(ds, "%s: %d histories longer than %d items cut to their last %d", path, sp->truncated,
             ds->max_history, ds->max_history);
out:
    sidr_pylist_free(&x.ids);
    sidr_pylist_free(&x.titles);
    sidr_pylist_free(&x.sids);
    free(x.hist);
    free(x.codes);
    free(x.levels);
    sidr_csv_free(&c);
    free(buf);
    return st;
}

/* ---- MiniOneRec layout ---------------------------------------------------------------------- */

/* The one file in dir/sub ending in suffix (matching cat when given); *path
 * NULL when there is none. */
static sidr_status find_one(const char *dir, const char *sub, const char *suffix, const char *cat, char **path)
{
    *path = NULL;
    char *d = path_join(dir, sub);
    int n;
    char **names = ds_list_files(d, suffix, cat, &n);
    sidr_status st = SIDR_OK;
    if (n == 1) {
        *path = path_join(d, names[0]);
    } else if (n > 1) {
        st = sidr_fail(SIDR_ERR_ARG, "%s: %d files match *%s (%s, %s%s): expected one; choose a category", d, n,
                       suffix, names[0], names[1], n > 2 ? ", ..." : "");
    }
    ds_free_list(names, n);
    free(d);
    return st;
}

sidr_status ds_load_minionerec(sidr_dataset *ds, const sidr_dataset_opts *o)
{
    sidr_status st = SIDR_OK;
    char *cat = o->category ? xstrdup(o->category) : NULL;
    char *index = NULL, *itemjson = NULL, *info = NULL, *csv[SIDR_SPLIT_COUNT] = {0};
    if (!cat) {
        /* the category is the name of index/<Cat>.index.json (or .item.json) */
        static const char *const sfx[2] = {".index.json", ".item.json"};
        for (int k = 0; k < 2 && !cat; k++) {
            char *d = path_join(ds->dir, "index");
            int n;
            char **names = ds_list_files(d, sfx[k], NULL, &n);
            if (n == 1) {
                cat = xstrndup(names[0], strlen(names[0]) - strlen(sfx[k]));
            } else if (n > 1) {
                st = sidr_fail(SIDR_ERR_ARG, "%s: %d categories (%s, %s%s): choose one", d, n, names[0],
                               names[1], n > 2 ? ", ..." : "");
            }
            ds_free_list(names, n);
            free(d);
            if (st != SIDR_OK) goto out;
        }
    }
    if (cat) {
        char *d = path_join(ds->dir, "index");
        size_t lc = strlen(cat);
        char *nm = xmalloc(lc + 16);
        snprintf(nm, lc + 16, "%s.index.json", cat);
        index = path_join(d, nm);
        snprintf(nm, lc + 16, "%s.item.json", cat);
        itemjson = path_join(d, nm);
        free(nm);
        free(d);
        if (!file_exists(index)) free(index), index = NULL;
        if (!file_exists(itemjson)) free(itemjson), itemjson = NULL;
    }
    if ((st = find_one(ds->dir, "info", ".txt", cat, &info)) != SIDR_OK) goto out;
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++)
        if ((st = find_one(ds->dir, sidr_split_name(s), ".csv", cat, &csv[s])) != SIDR_OK) goto out;
    if (!index && !itemjson && !info && !csv[0] && !csv[1] && !csv[2]) {
        st = sidr_fail(SIDR_ERR_MISSING,
                       "%s: no dataset files: expected train|valid|test/%s*.csv, info/*.txt or index/*.index.json",
                       ds->dir, cat ? cat : "");
        goto out;
    }
    if (!cat && info) {
        /* no index/: name the dataset after the info file */
        const char *b = strrchr(info, '/');
        b = b ? b + 1 : info;
        cat = xstrndup(b, strlen(b) - 4);
    }
    ds->name = cat ? xstrdup(cat) : xstrdup("dataset");

    if (index && (st = ds_load_index_json(ds, index)) != SIDR_OK) goto out;
    for (int i = 0; i < ds->n_items; i++)
        if (ds->items[i].n_levels) ds->n_items_with_sid++, ds->sid_levels = ds->items[i].n_levels;
    if (itemjson && (st = load_item_json(ds, itemjson)) != SIDR_OK) goto out;
    if (info && (st = load_info_txt(ds, info)) != SIDR_OK) goto out;
    for (int i = 0; i < ds->n_items; i++)
        if (ds->items[i].n_levels) {
            if (ds->sid_levels && ds->items[i].n_levels != ds->sid_levels) {
                st = sidr_fail(SIDR_ERR_FORMAT, "%s: item %s has a SID of %d tokens, others have %d",
                               info ? info : ds->dir, ds->items[i].id, ds->items[i].n_levels, ds->sid_levels);
                goto out;
            }
            ds->sid_levels = ds->items[i].n_levels;
        }
    int catalogue = ds->n_items > 0;
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        if (!csv[s]) continue;
        st = load_csv_split(ds, &ds->split[s], csv[s], catalogue, o->skip_bad_rows);
        if (st != SIDR_OK) goto out;
    }
out:
    free(cat);
    free(index);
    free(itemjson);
    free(info);
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) free(csv[s]);
    return st;
}

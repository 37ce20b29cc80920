#define _POSIX_C_SOURCE 200809L
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
#include "util.h"

#define MAX_WARNINGS 40

/* ---- small helpers ------------------------------------------------------------ */

static void warn(sidr_dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(sidr_dataset *ds, const char *fmt, ...)
{
    if (ds->n_warnings >= MAX_WARNINGS && fmt[0] != '.') {
        ds->n_warnings_dropped++;
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ds->warnings = xrealloc(ds->warnings, (size_t)(ds->n_warnings + 1) * sizeof *ds->warnings);
    ds->warnings[ds->n_warnings++] = xstrdup(buf);
}

/* A printable excerpt of a value for messages: at most ~60 bytes, cut on a
 * UTF-8 boundary, control characters shown as '?'. */
static const char *excerpt(const char *s, size_t n, char *buf, size_t cap)
{
    size_t lim = cap > 8 ? cap - 8 : 0;
    if (lim > 60) lim = 60;
    size_t k = 0, i = 0;
    for (; i < n && k < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (i < n) {
        while (k > 0 && ((unsigned char)buf[k - 1] & 0xC0) == 0x80) k--;
        if (k > 0 && ((unsigned char)buf[k - 1] & 0xC0) == 0xC0) k--;
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = 0;
    return buf;
}

static void set_str(char **dst, const char *s, size_t n)
{
    free(*dst);
    *dst = xstrndup(s, n);
}

static int line_of(const char *buf, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        if (buf[i] == '\n') line++;
    return line;
}

/* Reads a text file that must be UTF-8. */
/* A NUL byte would silently cut a field short: refuse it. */
static sidr_status check_nul(const char *path, char **out, size_t len)
{
    const char *z = memchr(*out, 0, len);
    if (!z) return SIDR_OK;
    size_t at = (size_t)(z - *out), col = 1;
    for (size_t i = at; i > 0 && (*out)[i - 1] != '\n'; i--) col++;
    int line = line_of(*out, at);
    free(*out);
    *out = NULL;
    return sidr_fail(SIDR_ERR_FORMAT, "%s:%d: a NUL byte at column %zu: expected text without NUL bytes", path, line,
                     col);
}

static sidr_status read_utf8(const char *path, char **out, size_t *len)
{
    sidr_status st = read_file(path, out, len);
    if (st != SIDR_OK) return st;
    if ((st = check_nul(path, out, *len))) return st;
    size_t bad = sidr_utf8_invalid_at(*out, *len);
    if (bad != (size_t)-1) {
        int line = line_of(*out, bad);
        size_t col = 1;
        for (size_t i = bad; i > 0 && (*out)[i - 1] != '\n'; i--) col++;
        unsigned char b = (unsigned char)(*out)[bad];
        free(*out);
        *out = NULL;
        return sidr_fail(SIDR_ERR_FORMAT,
                         "%s:%d: invalid UTF-8 (byte 0x%02X at column %zu): expected UTF-8 text", path, line, b,
                         col);
    }
    return SIDR_OK;
}

/* Reads a text file, accepting Latin-1 when it is not UTF-8 (RecBole ships
 * ml-100k's .item in Latin-1).  *latin1 tells the caller. */
static sidr_status read_text_any(const char *path, char **out, size_t *len, int *latin1)
{
    sidr_status st = read_file(path, out, len);
    if (st != SIDR_OK) return st;
    if ((st = check_nul(path, out, *len))) return st;
    *latin1 = 0;
    if (sidr_utf8_invalid_at(*out, *len) != (size_t)-1) {
        size_t n2;
        char *u = sidr_latin1_to_utf8(*out, *len, &n2);
        free(*out);
        *out = u;
        *len = n2;
        *latin1 = 1;
    }
    return SIDR_OK;
}

/* Next line of a buffer (without "\n" / "\r\n"); 0 at the end. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= len) return 0;
    const char *s = buf + *pos;
    const char *e = memchr(s, '\n', len - *pos);
    size_t k = e ? (size_t)(e - s) : len - *pos;
    *pos += k + (e ? 1 : 0);
    if (k && s[k - 1] == '\r') k--;
    *line = s;
    *n = k;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir ending in suffix (and starting with prefix + '_' or '.', when
 * prefix is given), sorted. */
static char **list_files(const char *dir, const char *suffix, const char *prefix, int *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **names = NULL;
    size_t ls = strlen(suffix), lp = prefix ? strlen(prefix) : 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        size_t l = strlen(nm);
        if (nm[0] == '.' || l <= ls || strcmp(nm + l - ls, suffix) != 0) continue;
        if (prefix && (strncmp(nm, prefix, lp) != 0 || (nm[lp] != '_' && nm[lp] != '.'))) continue;
        char *full = path_join(dir, nm);
        struct stat st;
        int reg = stat(full, &st) == 0 && S_ISREG(st.st_mode);
        free(full);
        if (!reg) continue;
        names = xrealloc(names, (size_t)(*n + 1) * sizeof *names);
        names[(*n)++] = xstrdup(nm);
    }
    closedir(d);
    if (*n > 1) qsort(names, (size_t)*n, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ---- items, users, samples ---------------------------------------------------------- */

static int item_add(sidr_dataset *ds, const char *id, size_t len)
{
    int idx;
    if (sidr_strmap_get(&ds->item_by_id, id, len, &idx)) return idx;
    if (ds->n_items == ds->items_cap) {
        ds->items_cap = ds->items_cap ? 2 * ds->items_cap : 1024;
        ds->items = xrealloc(ds->items, (size_t)ds->items_cap * sizeof *ds->items);
    }
    idx = ds->n_items++;
    sidr_item *it = &ds->items[idx];
    memset(it, 0, sizeof *it);
    it->id = xstrndup(id, len);
    it->title = xstrdup("");
    it->description = xstrdup("");
    it->brand = xstrdup("");
    it->categories = xstrdup("");
    it->sid_group = -1;
    sidr_strmap_put(&ds->item_by_id, id, len, idx);
    return idx;
}

static int user_add(sidr_dataset *ds, const char *id, size_t len)
{
    int idx;
    if (sidr_strmap_get(&ds->user_by_id, id, len, &idx)) return idx;
    if (ds->n_users == ds->users_cap) {
        ds->users_cap = ds->users_cap ? 2 * ds->users_cap : 1024;
        ds->users = xrealloc(ds->users, (size_t)ds->users_cap * sizeof *ds->users);
    }
    idx = ds->n_users++;
    ds->users[idx].id = xstrndup(id, len);
    sidr_strmap_put(&ds->user_by_id, id, len, idx);
    return idx;
}

static sidr_sample *sample_push(sidr_split *sp)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? 2 * sp->cap : 1024;
        sp->rows = xrealloc(sp->rows, (size_t)sp->cap * sizeof *sp->rows);
    }
    sidr_sample *s = &sp->rows[sp->n++];
    memset(s, 0, sizeof *s);
    s->time = -1;
    return s;
}

/* Fills a sample's history with the last max_history of hist[0..n). */
static void sample_set_history(sidr_dataset *ds, sidr_split *sp, sidr_sample *s, const int *hist, int n)
{
    int h = ds->max_history;
    if (n > h) {
        hist += n - h;
        n = h;
        sp->truncated++;
    }
    memcpy(s->hist, hist, (size_t)n * sizeof *hist);
    s->n_hist = n;
}

/* ---- SIDs ------------------------------------------------------------------------- */

/* One token "<x_N>" at s; returns its length or 0.  Digits without leading
 * zeros, N < 10^6. */
static size_t sid_token(const char *s, size_t n, int level, int *code)
{
    if (n < 5 || s[0] != '<' || s[1] != (char)('a' + level) || s[2] != '_') return 0;
    size_t i = 3;
    int v = 0, nd = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (nd == 6) return 0;
        v = v * 10 + (s[i] - '0');
        nd++;
        i++;
    }
    if (nd == 0 || (nd > 1 && s[3] == '0') || i >= n || s[i] != '>') return 0;
    *code = v;
    return i + 1;
}

int sidr_sid_parse(const char *sid, size_t len, int *codes, int max_levels)
{
    size_t i = 0;
    int L = 0;
    while (i < len) {
        if (L >= max_levels) return -1;
        size_t k = sid_token(sid + i, len - i, L, &codes[L]);
        if (!k) return -1;
        i += k;
        L++;
    }
    return L > 0 ? L : -1;
}

static char *sid_format(const int *codes, int L)
{
    char buf[SIDR_MAX_SID_LEVELS * 16];
    size_t k = 0;
    for (int l = 0; l < L; l++) k += (size_t)snprintf(buf + k, sizeof buf - k, "<%c_%d>", 'a' + l, codes[l]);
    return xstrndup(buf, k);
}

int sidr_item_sid_token(const sidr_item *it, int level, char *buf, size_t cap)
{
    if (!it || level < 0 || level >= it->n_levels) return -1;
    int k = snprintf(buf, cap, "<%c_%d>", 'a' + level, it->code[level]);
    return (k < 0 || (size_t)k >= cap) ? -1 : 0;
}

static void item_set_sid(sidr_item *it, const int *codes, int L)
{
    it->n_levels = L;
    memcpy(it->code, codes, (size_t)L * sizeof *codes);
    free(it->sid);
    it->sid = sid_format(codes, L);
}

static int sid_equal(const sidr_item *it, const int *codes, int L)
{
    return it->n_levels == L && memcmp(it->code, codes, (size_t)L * sizeof *codes) == 0;
}

/* ---- catalogue: MiniOneRec index/ and info/ --------------------------------------------- */

static sidr_status json_load(const char *path, cJSON **out)
{
    char *buf;
    size_t len;
    sidr_status st = read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = (at && at >= buf && at <= buf + len) ? (size_t)(at - buf) : 0;
        int line = line_of(buf, off);
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

static sidr_status load_index_json(sidr_dataset *ds, const char *path)
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
            if (!s || sid_token(s, strlen(s), L, &codes[L]) != strlen(s)) {
                char ex[80];
                st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s': SID token %d: expected \"<%c_N>\", got %s%s%s",
                               path, id, L + 1, 'a' + L, s ? "\"" : "", s ? excerpt(s, strlen(s), ex, sizeof ex) : "a non-string",
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
        int idx = item_add(ds, id, strlen(id));
        if (ds->items[idx].n_levels) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s' appears twice", path, id);
            goto out;
        }
        item_set_sid(&ds->items[idx], codes, L);
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
        int idx = item_add(ds, id, strlen(id));
        if (idx >= before) n_new++;
        sidr_item *it = &ds->items[idx];
        if (cJSON_IsString(title)) set_str(&it->title, title->valuestring, strlen(title->valuestring));
        free(it->description);
        it->description = json_text(cJSON_GetObjectItemCaseSensitive(e, "description"), " ");
        free(it->brand);
        it->brand = json_text(cJSON_GetObjectItemCaseSensitive(e, "brand"), " ");
        free(it->categories);
        it->categories = json_text(cJSON_GetObjectItemCaseSensitive(e, "categories"), ", ");
    }
    cJSON_Delete(root);
    if (n_new && ds->n_items_with_sid)
        warn(ds, "%s: %d items have metadata but no SID in the index", path, n_new);
    return SIDR_OK;
}

/* info/<Cat>_*.txt: SID \t title \t item_id per line, no header. */
static sidr_status load_info_txt(sidr_dataset *ds, const char *path)
{
    char *buf;
    size_t len, pos = 0, n;
    sidr_status st = read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    const char *s;
    int line = 0, mismatch = 0;
    int *first_line = NULL, cap_line = 0; /* by item index: the line that listed it, 0 for none */
    while (next_line(buf, len, &pos, &s, &n)) {
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
                           excerpt(s, n, ex, sizeof ex));
            goto out;
        }
        const char *sid = s, *title = t1 + 1, *id = t2 + 1;
        size_t nsid = (size_t)(t1 - s), ntitle = (size_t)(t2 - title), nid = (size_t)(s + n - id);
        int codes[SIDR_MAX_SID_LEVELS];
        int L = sidr_sid_parse(sid, nsid, codes, SIDR_MAX_SID_LEVELS);
        if (L < 0) {
            char ex[80];
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'SID': expected a SID like <a_1><b_2><c_3>, got '%s'",
                           path, line, excerpt(sid, nsid, ex, sizeof ex));
            goto out;
        }
        if (nid == 0) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'item_id': expected an item id, got an empty field",
                           path, line);
            goto out;
        }
        int idx = item_add(ds, id, nid);
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
            item_set_sid(it, codes, L);
        } else if (!sid_equal(it, codes, L)) {
            char ex[80];
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'SID': expected %s (item %s in the index), got '%s'",
                           path, line, it->sid, it->id, excerpt(sid, nsid, ex, sizeof ex));
            goto out;
        }
        if (!it->title[0]) {
            set_str(&it->title, title, ntitle);
        } else if (strlen(it->title) != ntitle || memcmp(it->title, title, ntitle) != 0) {
            if (mismatch++ == 0)
                warn(ds, "%s:%d: title of item %s differs from index/*.item.json (the item.json title is kept)",
                     path, line, it->id);
        }
    }
    if (mismatch) {
        ds->n_title_mismatch += mismatch;
        if (mismatch > 1) warn(ds, "%s: %d titles differ from index/*.item.json", path, mismatch);
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
                        excerpt(f, n, ex, sizeof ex));
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
                                excerpt(id, nid, ex, sizeof ex));
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
                                i < n ? " in every element" : "", excerpt(sid, nsid, ex, sizeof ex));
            if (idx >= 0 && ds->items[idx].n_levels && !sid_equal(&ds->items[idx], x->codes[i], L)) {
                if (i < n)
                    return row_fail(x, line, scol,
                                    "element %d: expected %s (the SID of item %s in the catalogue), got '%s'", i + 1,
                                    ds->items[idx].sid, ds->items[idx].id, excerpt(sid, nsid, ex, sizeof ex));
                return row_fail(x, line, scol, "expected %s (the SID of item %s in the catalogue), got '%s'",
                                ds->items[idx].sid, ds->items[idx].id, excerpt(sid, nsid, ex, sizeof ex));
            }
            if (ds->sid_levels && L != ds->sid_levels)
                return row_fail(x, line, scol, "expected a SID of %d tokens, got '%s'", ds->sid_levels,
                                excerpt(sid, nsid, ex, sizeof ex));
            x->levels[i] = L;
        }
    }

    /* commit */
    for (int i = 0; i <= n; i++) {
        const char *title = NULL;
        size_t ntitle = 0;
        if (i < n && x->col[COL_HTITLE] >= 0) title = x->titles.items[i], ntitle = x->titles.lens[i];
        if (i == n && x->col[COL_TITLE] >= 0) title = sidr_csv_field(c, x->col[COL_TITLE], &ntitle);
        if (x->hist[i] < 0) x->hist[i] = i < n ? item_add(ds, x->ids.items[i], x->ids.lens[i]) : item_add(ds, tid, ntid);
        sidr_item *it = &ds->items[x->hist[i]];
        if (x->levels[i]) {
            if (!it->n_levels) {
                item_set_sid(it, x->codes[i], x->levels[i]);
                if (!ds->sid_levels) ds->sid_levels = x->levels[i];
            } else if (!sid_equal(it, x->codes[i], x->levels[i])) {
                /* the same new id twice in one row with two SIDs */
                return row_fail(x, line, i < n ? COL_HSID : COL_SID, "item %s appears with two SIDs in this row",
                                it->id);
            }
        }
        if (title) {
            if (!it->title[0]) {
                set_str(&it->title, title, ntitle);
            } else if (strlen(it->title) != ntitle || memcmp(it->title, title, ntitle) != 0) {
                if (ds->n_title_mismatch++ == x->mismatch0)
                    warn(ds, "%s:%d: field '%s': title of item %s differs from the catalogue's (the catalogue "
                             "title is kept)",
                         x->path, line, col_names[i < n ? COL_HTITLE : COL_TITLE], it->id);
            }
        }
    }
    sidr_sample *s = sample_push(sp);
    s->user = user_add(ds, uid, nu);
    s->target = x->hist[n];
    s->line = line;
    sample_set_history(ds, sp, s, x->hist, n);
    return SIDR_OK;
}

static sidr_status load_csv_split(sidr_dataset *ds, sidr_split *sp, const char *path, int catalogue,
                                  int skip_bad)
{
    char *buf;
    size_t len;
    sidr_status st = read_utf8(path, &buf, &len);
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
        warn(ds, "%s:%d: header: column '%s' is not one sidr reads (ignored)", path, c.record_line, name);
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
            if (sp->skipped_bad++ < 5) warn(ds, "skipped: %s", sidr_last_error());
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
        warn(ds, "%s: %d row%s with an empty history skipped (first on line %d); row numbers such as --row "
             "SPLIT:N count only the rows kept", path, sp->skipped_empty, sp->skipped_empty == 1 ? "" : "s",
             first_empty);
    if (sp->skipped_bad > 5) warn(ds, "%s: %d malformed rows skipped in all", path, sp->skipped_bad);
    if (sp->n == 0 && !sp->skipped_empty && !sp->skipped_bad) warn(ds, "%s: no rows after the header", path);
    if (ds->n_title_mismatch - mismatch0 > 1)
        warn(ds, "%s: %d titles differ from the catalogue's in all (the catalogue titles are kept)", path,
             ds->n_title_mismatch - mismatch0);
    if (sp->truncated)
        warn(ds, "%s: %d histories longer than %d items cut to their last %d", path, sp->truncated,
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

/* Derives train samples from each user's valid history (see dataset.h). */
static void derive_train(sidr_dataset *ds, sidr_derive_mode mode)
{
    const sidr_split *v = &ds->split[SIDR_SPLIT_VALID];
    sidr_split *t = &ds->split[SIDR_SPLIT_TRAIN];
    int *pick = xmalloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof *pick);
    for (int u = 0; u < ds->n_users; u++) pick[u] = -1;
    int *order = xmalloc((size_t)(v->n ? v->n : 1) * sizeof *order), n_order = 0;
    for (int r = 0; r < v->n; r++) {
        int u = v->rows[r].user, p = pick[u];
        if (p < 0) {
            pick[u] = r;
            order[n_order++] = u;
        } else if (mode == SIDR_DERIVE_TRAIN_PERIOD ? v->rows[r].n_hist < v->rows[p].n_hist
                                                     : v->rows[r].n_hist >= v->rows[p].n_hist) {
            pick[u] = r;
        }
    }
    t->present = 1;
    t->derived = 1;
    for (int k = 0; k < n_order; k++) {
        const sidr_sample *src = &v->rows[pick[order[k]]];
        for (int i = 1; i < src->n_hist; i++) {
            sidr_sample *s = sample_push(t);
            s->user = src->user;
            s->target = src->hist[i];
            int st = i > ds->max_history ? i - ds->max_history : 0;
            s->n_hist = i - st;
            memcpy(s->hist, src->hist + st, (size_t)s->n_hist * sizeof *s->hist);
        }
    }
    free(pick);
    free(order);
}

/* ---- MiniOneRec layout ---------------------------------------------------------------------- */

/* The one file in dir/sub ending in suffix (matching cat when given); *path
 * NULL when there is none. */
static sidr_status find_one(const char *dir, const char *sub, const char *suffix, const char *cat, char **path)
{
    *path = NULL;
    char *d = path_join(dir, sub);
    int n;
    char **names = list_files(d, suffix, cat, &n);
    sidr_status st = SIDR_OK;
    if (n == 1) {
        *path = path_join(d, names[0]);
    } else if (n > 1) {
        st = sidr_fail(SIDR_ERR_ARG, "%s: %d files match *%s (%s, %s%s): expected one; choose a category", d, n,
                       suffix, names[0], names[1], n > 2 ? ", ..." : "");
    }
    free_list(names, n);
    free(d);
    return st;
}

static sidr_status load_minionerec(sidr_dataset *ds, const sidr_dataset_opts *o)
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
            char **names = list_files(d, sfx[k], NULL, &n);
            if (n == 1) {
                cat = xstrndup(names[0], strlen(names[0]) - strlen(sfx[k]));
            } else if (n > 1) {
                st = sidr_fail(SIDR_ERR_ARG, "%s: %d categories (%s, %s%s): choose one", d, n, names[0],
                               names[1], n > 2 ? ", ..." : "");
            }
            free_list(names, n);
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

    if (index && (st = load_index_json(ds, index)) != SIDR_OK) goto out;
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

/* ---- RecBole atomic files ----------------------------------------------------------------------- */

typedef struct {
    int n;
    char **name;
    char **type;
} rb_header;

static void rb_header_free(rb_header *h)
{
    for (int i = 0; i < h->n; i++) free(h->name[i]), free(h->type[i]);
    free(h->name);
    free(h->type);
    memset(h, 0, sizeof *h);
}

static sidr_status rb_header_parse(const char *path, const char *s, size_t n, rb_header *h)
{
    memset(h, 0, sizeof *h);
    size_t i = 0;
    for (;;) {
        size_t k = i;
        while (k < n && s[k] != '\t') k++;
        const char *f = s + i;
        size_t nf = k - i;
        const char *colon = memchr(f, ':', nf);
        char ex[80];
        if (!colon || colon == f) {
            rb_header_free(h);
            return sidr_fail(SIDR_ERR_FORMAT,
                             "%s:1: header field '%s': expected NAME:TYPE (e.g. item_id:token), tab-separated",
                             path, excerpt(f, nf, ex, sizeof ex));
        }
        const char *ty = colon + 1;
        size_t nt = (size_t)(f + nf - ty);
        static const char *const types[] = {"token", "token_seq", "float", "float_seq"};
        int ok = 0;
        for (int t = 0; t < 4; t++) ok |= strlen(types[t]) == nt && memcmp(types[t], ty, nt) == 0;
        if (!ok) {
            rb_header_free(h);
            return sidr_fail(SIDR_ERR_FORMAT,
                             "%s:1: header field '%s': expected a type of token, token_seq, float or float_seq",
                             path, excerpt(f, nf, ex, sizeof ex));
        }
        h->name = xrealloc(h->name, (size_t)(h->n + 1) * sizeof *h->name);
        h->type = xrealloc(h->type, (size_t)(h->n + 1) * sizeof *h->type);
        h->name[h->n] = xstrndup(f, (size_t)(colon - f));
        h->type[h->n] = xstrndup(ty, nt);
        h->n++;
        if (k >= n) break;
        i = k + 1;
    }
    return SIDR_OK;
}

static int rb_col(const rb_header *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->name[i], name) == 0) return i;
    return -1;
}

/* Requires a column of the given name and type. */
static sidr_status rb_need(const char *path, const rb_header *h, const char *name, const char *type, int *col)
{
    *col = rb_col(h, name);
    if (*col < 0)
        return sidr_fail(SIDR_ERR_FORMAT, "%s:1: header: expected a field '%s:%s'", path, name, type);
    if (type && strcmp(h->type[*col], type) != 0)
        return sidr_fail(SIDR_ERR_FORMAT, "%s:1: header field '%s': expected type '%s', got '%s'", path, name, type,
                         h->type[*col]);
    return SIDR_OK;
}

/* Splits a line at tabs into at most cap fields; returns the count. */
static int split_tabs(const char *s, size_t n, const char **f, size_t *fl, int cap)
{
    int k = 0;
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < n && s[j] != '\t') j++;
        if (k < cap) f[k] = s + i, fl[k] = j - i;
        k++;
        if (j >= n) break;
        i = j + 1;
    }
    return k;
}

/* <name>.item2index / .user2index: "token \t index" per line, indices a
 * permutation of 0..n-1.  Creates the entries in index order. */
static sidr_status load_remap(sidr_dataset *ds, const char *path, int items, int *n_out)
{
    char *buf;
    size_t len, pos = 0, n;
    sidr_status st = read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    const char *s;
    int line = 0, count = 0;
    /* first pass: count */
    while (next_line(buf, len, &pos, &s, &n))
        if (n) count++;
    const char **tok = xcalloc((size_t)count + 1, sizeof *tok);
    size_t *tlen = xcalloc((size_t)count + 1, sizeof *tlen);
    pos = 0;
    while (next_line(buf, len, &pos, &s, &n)) {
        line++;
        if (!n) continue;
        const char *f[3];
        size_t fl[3];
        char ex[80];
        int nf = split_tabs(s, n, f, fl, 3);
        char *end = NULL;
        long v = -1;
        if (nf == 2 && fl[1] > 0) {
            errno = 0;
            v = strtol(f[1], &end, 10);
            if (errno || end != f[1] + fl[1]) v = -1;
        }
        if (nf != 2 || fl[0] == 0 || v < 0 || v >= count || tok[v]) {
            st = sidr_fail(SIDR_ERR_FORMAT,
                           "%s:%d: field 'index': expected 'ID<TAB>INDEX' with INDEX in 0..%d, each once; got '%s'",
                           path, line, count - 1, excerpt(s, n, ex, sizeof ex));
            goto out;
        }
        tok[v] = f[0];
        tlen[v] = fl[0];
    }
    for (int i = 0; i < count; i++) {
        int before = items ? ds->n_items : ds->n_users;
        int idx = items ? item_add(ds, tok[i], tlen[i]) : user_add(ds, tok[i], tlen[i]);
        if (idx != before || idx != i) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: id '%.*s' appears twice", path, (int)tlen[i], tok[i]);
            goto out;
        }
    }
    *n_out = count;
out:
    free(tok);
    free(tlen);
    free(buf);
    return st;
}

/* <name>.item: item metadata with free-form fields; known names map to the
 * item's title / categories / brand / description, others are appended to
 * the description as "name: value". */
static sidr_status load_rb_item(sidr_dataset *ds, const char *path, int text_file)
{
    char *buf;
    size_t len, pos = 0, n;
    int latin1;
    sidr_status st = read_text_any(path, &buf, &len, &latin1);
    if (st != SIDR_OK) return st;
    if (latin1) warn(ds, "%s: not UTF-8; read as Latin-1", path);
    const char *s;
    rb_header h = {0};
    const char **f = NULL;
    size_t *fl = NULL;
    if (!next_line(buf, len, &pos, &s, &n)) goto out;
    if ((st = rb_header_parse(path, s, n, &h)) != SIDR_OK) goto out;
    int cid;
    if ((st = rb_need(path, &h, "item_id", "token", &cid)) != SIDR_OK) goto out;
    f = xcalloc((size_t)h.n, sizeof *f);
    fl = xcalloc((size_t)h.n, sizeof *fl);
    int line = 1, n_new = 0;
    int had_items = ds->n_items;
    while (next_line(buf, len, &pos, &s, &n)) {
        line++;
        if (!n) continue;
        int nf = split_tabs(s, n, f, fl, h.n);
        if (nf != h.n) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: expected %d tab-separated fields as in the header, got %d", path,
                           line, h.n, nf);
            goto out;
        }
        if (fl[cid] == 0) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'item_id': expected an item id, got an empty field", path,
                           line);
            goto out;
        }
        int before = ds->n_items;
        int idx = item_add(ds, f[cid], fl[cid]);
        if (idx >= before) n_new++;
        sidr_item *it = &ds->items[idx];
        char *extra = NULL;
        size_t nextra = 0;
        for (int k = 0; k < h.n; k++) {
            if (k == cid || fl[k] == 0) continue;
            const char *nm = h.name[k];
            if (!strcmp(nm, "title") || !strcmp(nm, "movie_title") || !strcmp(nm, "item_title") ||
                !strcmp(nm, "name"))
                set_str(&it->title, f[k], fl[k]);
            else if (!strcmp(nm, "categories") || !strcmp(nm, "category") || !strcmp(nm, "class") ||
                     !strcmp(nm, "genre") || !strcmp(nm, "genres"))
                set_str(&it->categories, f[k], fl[k]);
            else if (!strcmp(nm, "brand"))
                set_str(&it->brand, f[k], fl[k]);
            else if (!strcmp(nm, "description") || !strcmp(nm, "desc") || (text_file && !strcmp(nm, "text")))
                set_str(&it->description, f[k], fl[k]);
            else {
                size_t add = strlen(nm) + fl[k] + 4;
                extra = xrealloc(extra, nextra + add + 1);
                nextra += (size_t)snprintf(extra + nextra, add + 1, "%s%s: %.*s", nextra ? "; " : "", nm,
                                           (int)fl[k], f[k]);
            }
        }
        if (extra) {
            if (it->description[0]) {
                size_t a = strlen(it->description);
                char *d = xmalloc(a + nextra + 3);
                snprintf(d, a + nextra + 3, "%s; %s", it->description, extra);
                free(it->description);
                it->description = d;
                free(extra);
            } else {
                free(it->description);
                it->description = extra;
            }
        }
        /* UniSRec's .text is "title. category path. brand. ": split from
         * the right when nothing better is known */
        if (text_file && !it->title[0] && it->description[0]) {
            const char *d = it->description;
            size_t dl = strlen(d);
            while (dl && d[dl - 1] == ' ') dl--;
            if (dl && d[dl - 1] == '.') dl--;
            const char *b = NULL, *c2 = NULL;
            for (size_t q = dl; q >= 2; q--)
                if (d[q - 2] == '.' && d[q - 1] == ' ') {
                    if (!b) b = d + q - 2;
                    else {
                        c2 = d + q - 2;
                        break;
                    }
                }
            if (b && c2) {
                set_str(&it->title, d, (size_t)(c2 - d));
                if (!it->categories[0]) set_str(&it->categories, c2 + 2, (size_t)(b - c2 - 2));
                if (!it->brand[0]) set_str(&it->brand, b + 2, (size_t)(d + dl - b - 2));
            } else {
                set_str(&it->title, d, dl);
            }
        }
    }
    if (n_new && had_items) warn(ds, "%s: %d items are not in the item index", path, n_new);
out:
    free(f);
    free(fl);
    rb_header_free(&h);
    free(buf);
    return st;
}

typedef struct {
    const char *path;
    int item_index_n; /* > 0: item tokens in .inter are indices 0..n-1 (item2index) */
    int user_index_n;
} rb_ctx;

static sidr_status rb_item_token(sidr_dataset *ds, const rb_ctx *x, int line, const char *field, const char *t,
                                 size_t n, int *idx)
{
    char ex[80];
    if (n == 0)
        return sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field '%s': expected an item id, got an empty token", x->path,
                         line, field);
    if (x->item_index_n > 0) {
        long v = -1;
        char *end = NULL;
        errno = 0;
        v = strtol(t, &end, 10);
        if (errno || end != t + n || v < 0 || v >= x->item_index_n)
            return sidr_fail(SIDR_ERR_FORMAT,
                             "%s:%d: field '%s': expected an item index in 0..%d (from the .item2index file), got "
                             "'%s'",
                             x->path, line, field, x->item_index_n - 1, excerpt(t, n, ex, sizeof ex));
        *idx = (int)v;
        return SIDR_OK;
    }
    *idx = item_add(ds, t, n);
    return SIDR_OK;
}

static sidr_status rb_user_token(sidr_dataset *ds, const rb_ctx *x, int line, const char *t, size_t n, int *idx)
{
    char ex[80];
    if (n == 0)
        return sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'user_id': expected a user id, got an empty field", x->path,
                         line);
    if (x->user_index_n > 0) {
        char *end = NULL;
        errno = 0;
        long v = strtol(t, &end, 10);
        if (errno || end != t + n || v < 0 || v >= x->user_index_n)
            return sidr_fail(SIDR_ERR_FORMAT,
                             "%s:%d: field 'user_id': expected a user index in 0..%d (from the .user2index file), "
                             "got '%s'",
                             x->path, line, x->user_index_n - 1, excerpt(t, n, ex, sizeof ex));
        *idx = (int)v;
        return SIDR_OK;
    }
    *idx = user_add(ds, t, n);
    return SIDR_OK;
}

/* <name>.{train,valid,test}.inter: user_id, item_id_list (space-separated,
 * oldest first), item_id. */
static sidr_status load_rb_split(sidr_dataset *ds, sidr_split *sp, const char *path, rb_ctx *x, int skip_bad)
{
    char *buf;
    size_t len, pos = 0, n;
    sidr_status st = read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    sp->present = 1;
    sp->path = xstrdup(path);
    x->path = sp->path;
    rb_header h = {0};
    const char *s;
    const char **f = NULL;
    size_t *fl = NULL;
    int *hist = NULL, hist_cap = 0;
    if (!next_line(buf, len, &pos, &s, &n)) {
        st = sidr_fail(SIDR_ERR_FORMAT, "%s:1: empty file: expected a header 'user_id:token<TAB>item_id_list:token_seq"
                                        "<TAB>item_id:token'",
                       path);
        goto out;
    }
    if ((st = rb_header_parse(path, s, n, &h)) != SIDR_OK) goto out;
    int cu, cl, ci;
    if ((st = rb_need(path, &h, "user_id", "token", &cu)) != SIDR_OK) goto out;
    if ((st = rb_need(path, &h, "item_id_list", "token_seq", &cl)) != SIDR_OK) goto out;
    if ((st = rb_need(path, &h, "item_id", "token", &ci)) != SIDR_OK) goto out;
    f = xcalloc((size_t)h.n, sizeof *f);
    fl = xcalloc((size_t)h.n, sizeof *fl);
    int line = 1, first_empty = 0;
    while (next_line(buf, len, &pos, &s, &n)) {
        line++;
        if (!n) continue;
        int nf = split_tabs(s, n, f, fl, h.n);
        if (nf != h.n) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: expected %d tab-separated fields as in the header, got %d", path,
                           line, h.n, nf);
            goto out;
        }
        /* history tokens */
        int nh = 0;
        sidr_status rs = SIDR_OK;
        const char *p = f[cl], *e = f[cl] + fl[cl];
        while (p < e && rs == SIDR_OK) {
            while (p < e && *p == ' ') p++;
            if (p >= e) break;
            const char *q = p;
            while (q < e && *q != ' ') q++;
            if (nh == hist_cap) hist_cap = hist_cap ? 2 * hist_cap : 64, hist = xrealloc(hist, (size_t)hist_cap * sizeof *hist);
            rs = rb_item_token(ds, x, line, "item_id_list", p, (size_t)(q - p), &hist[nh]);
            nh++;
            p = q;
        }
        int target = -1, user = -1;
        if (rs == SIDR_OK && nh > 0) rs = rb_item_token(ds, x, line, "item_id", f[ci], fl[ci], &target);
        if (rs == SIDR_OK && nh > 0) rs = rb_user_token(ds, x, line, f[cu], fl[cu], &user);
        if (rs != SIDR_OK) {
            if (!skip_bad) {
                st = rs;
                goto out;
            }
            if (sp->skipped_bad++ < 5) warn(ds, "skipped: %s", sidr_last_error());
            continue;
        }
        if (nh == 0) {
            if (!first_empty) first_empty = line;
            sp->skipped_empty++;
            continue;
        }
        sidr_sample *smp = sample_push(sp);
        smp->user = user;
        smp->target = target;
        smp->line = line;
        sample_set_history(ds, sp, smp, hist, nh);
    }
    if (sp->skipped_empty)
        warn(ds, "%s: %d row%s with an empty history skipped (first on line %d)", path, sp->skipped_empty,
             sp->skipped_empty == 1 ? "" : "s", first_empty);
    if (sp->skipped_bad > 5) warn(ds, "%s: %d malformed rows skipped in all", path, sp->skipped_bad);
    if (sp->n == 0 && !sp->skipped_empty && !sp->skipped_bad) warn(ds, "%s: no rows after the header", path);
out:
    free(hist);
    free(f);
    free(fl);
    rb_header_free(&h);
    free(buf);
    return st;
}

typedef struct {
    int user, item, line, rank;
    int64_t time;
    int64_t seq;
} rb_inter;

static int cmp_inter_user_time(const void *pa, const void *pb)
{
    const rb_inter *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

typedef struct {
    int64_t time, seq;
    sidr_sample s;
} keyed_sample;

static int cmp_keyed(const void *pa, const void *pb)
{
    const keyed_sample *a = pa, *b = pb;
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* A plain <name>.inter with timestamps: the paper's protocol (SPEC §1.7) as
 * MiniOneRec's amazon18_data_process.py implements it: users in order of
 * first appearance; each user's interactions stably sorted by int(timestamp);
 * for every position i >= 1 a sample (items[max(0, i-10):i] -> items[i]);
 * all samples stably sorted by target time; split at int(n*0.8), int(n*0.9). */
static sidr_status load_rb_plain(sidr_dataset *ds, const char *path, rb_ctx *x)
{
    char *buf;
    size_t len, pos = 0, n;
    sidr_status st = read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    x->path = path;
    rb_header h = {0};
    const char *s;
    const char **f = NULL;
    size_t *fl = NULL;
    rb_inter *in = NULL;
    keyed_sample *ks = NULL;
    int *rank = NULL;
    size_t n_in = 0, cap = 0;
    if (!next_line(buf, len, &pos, &s, &n)) {
        st = sidr_fail(SIDR_ERR_FORMAT, "%s:1: empty file: expected a header like "
                                        "'user_id:token<TAB>item_id:token<TAB>timestamp:float'",
                       path);
        goto out;
    }
    if ((st = rb_header_parse(path, s, n, &h)) != SIDR_OK) goto out;
    int cu, ci, ct;
    if ((st = rb_need(path, &h, "user_id", "token", &cu)) != SIDR_OK) goto out;
    if ((st = rb_need(path, &h, "item_id", "token", &ci)) != SIDR_OK) goto out;
    ct = rb_col(&h, "timestamp");
    if (ct < 0) {
        st = sidr_fail(SIDR_ERR_FORMAT,
                       "%s:1: header: expected a field 'timestamp:float' (needed to order each user's "
                       "interactions and split chronologically)",
                       path);
        goto out;
    }
    f = xcalloc((size_t)h.n, sizeof *f);
    fl = xcalloc((size_t)h.n, sizeof *fl);
    int line = 1;
    while (next_line(buf, len, &pos, &s, &n)) {
        line++;
        if (!n) continue;
        int nf = split_tabs(s, n, f, fl, h.n);
        if (nf != h.n) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: expected %d tab-separated fields as in the header, got %d", path,
                           line, h.n, nf);
            goto out;
        }
        char tbuf[64], ex[80];
        double tv = 0;
        char *end = NULL;
        if (fl[ct] > 0 && fl[ct] < sizeof tbuf) {
            memcpy(tbuf, f[ct], fl[ct]);
            tbuf[fl[ct]] = 0;
            tv = strtod(tbuf, &end);
        }
        if (!end || *end || fl[ct] == 0 || !(tv > -9.2e18 && tv < 9.2e18)) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'timestamp': expected a number, got '%s'", path, line,
                           excerpt(f[ct], fl[ct], ex, sizeof ex));
            goto out;
        }
        if (n_in == cap) cap = cap ? 2 * cap : 4096, in = xrealloc(in, cap * sizeof *in);
        rb_inter *r = &in[n_in];
        if ((st = rb_user_token(ds, x, line, f[cu], fl[cu], &r->user)) != SIDR_OK) goto out;
        if ((st = rb_item_token(ds, x, line, "item_id", f[ci], fl[ci], &r->item)) != SIDR_OK) goto out;
        r->time = (int64_t)tv; /* int() truncation, as the reference script */
        r->seq = (int64_t)n_in;
        r->line = line;
        n_in++;
    }
    /* users ranked by first appearance */
    rank = xmalloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof *rank);
    for (int u = 0; u < ds->n_users; u++) rank[u] = -1;
    int next_rank = 0;
    for (size_t i = 0; i < n_in; i++) {
        if (rank[in[i].user] < 0) rank[in[i].user] = next_rank++;
        in[i].rank = rank[in[i].user];
    }
    qsort(in, n_in, sizeof *in, cmp_inter_user_time);
    ks = xmalloc((n_in ? n_in : 1) * sizeof *ks);
    size_t n_ks = 0;
    int H = ds->max_history;
    int hist[SIDR_MAX_HISTORY];
    for (size_t a = 0; a < n_in;) {
        size_t b = a;
        while (b < n_in && in[b].user == in[a].user) b++;
        for (size_t i = a + 1; i < b; i++) {
            size_t st0 = i - a > (size_t)H ? i - (size_t)H : a;
            keyed_sample *k = &ks[n_ks];
            memset(k, 0, sizeof *k);
            k->time = in[i].time;
            k->seq = (int64_t)n_ks;
            k->s.user = in[i].user;
            k->s.target = in[i].item;
            k->s.line = in[i].line;
            k->s.time = in[i].time;
            int nh = 0;
            for (size_t j = st0; j < i; j++) hist[nh++] = in[j].item;
            memcpy(k->s.hist, hist, (size_t)nh * sizeof *hist);
            k->s.n_hist = nh;
            n_ks++;
        }
        a = b;
    }
    qsort(ks, n_ks, sizeof *ks, cmp_keyed);
    size_t cut1 = (size_t)((double)n_ks * 0.8), cut2 = (size_t)((double)n_ks * 0.9);
    for (size_t i = 0; i < n_ks; i++) {
        sidr_split *sp = &ds->split[i < cut1 ? SIDR_SPLIT_TRAIN : i < cut2 ? SIDR_SPLIT_VALID : SIDR_SPLIT_TEST];
        *sample_push(sp) = ks[i].s;
    }
    for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++) {
        ds->split[sp].present = 1;
        ds->split[sp].derived = 1;
        ds->split[sp].path = xstrdup(path);
    }
out:
    free(rank);
    free(ks);
    free(in);
    free(f);
    free(fl);
    rb_header_free(&h);
    free(buf);
    return st;
}

static sidr_status load_recbole(sidr_dataset *ds, const sidr_dataset_opts *o)
{
    sidr_status st = SIDR_OK;
    int n;
    char **names = list_files(ds->dir, ".inter", o->category, &n);
    char *name = NULL;
    /* dataset names: <name>.inter or <name>.<split>.inter */
    for (int i = 0; i < n && st == SIDR_OK; i++) {
        size_t l = strlen(names[i]) - strlen(".inter");
        for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
            size_t ls = strlen(sidr_split_name(s)) + 1;
            if (l > ls && names[i][l - ls] == '.' && !strncmp(names[i] + l - ls + 1, sidr_split_name(s), ls - 1)) {
                l -= ls;
                break;
            }
        }
        if (!name) {
            name = xstrndup(names[i], l);
        } else if (strlen(name) != l || strncmp(name, names[i], l) != 0) {
            st = sidr_fail(SIDR_ERR_ARG, "%s: .inter files of several datasets (%s, %.*s): choose one", ds->dir, name,
                           (int)l, names[i]);
        }
    }
    free_list(names, n);
    if (st != SIDR_OK) goto out;
    if (!name && o->category) name = xstrdup(o->category);
    if (!name) {
        st = sidr_fail(SIDR_ERR_MISSING, "%s: no <name>.inter or <name>.train|valid|test.inter file", ds->dir);
        goto out;
    }
    ds->name = xstrdup(name);
    size_t ln = strlen(name) + 32;
    char *nm = xmalloc(ln);
#define RB_PATH(var, sfx) (snprintf(nm, ln, "%s%s", name, sfx), var = path_join(ds->dir, nm))
    char *p;
    rb_ctx x = {0};
    RB_PATH(p, ".item2index");
    if (file_exists(p)) st = load_remap(ds, p, 1, &x.item_index_n);
    free(p);
    if (st != SIDR_OK) goto out_nm;
    RB_PATH(p, ".user2index");
    if (file_exists(p)) st = load_remap(ds, p, 0, &x.user_index_n);
    free(p);
    if (st != SIDR_OK) goto out_nm;
    int has_text_file = 0;
    RB_PATH(p, ".item");
    if (file_exists(p)) st = load_rb_item(ds, p, 0), has_text_file = 1;
    free(p);
    if (st != SIDR_OK) goto out_nm;
    RB_PATH(p, ".text");
    if (file_exists(p)) st = load_rb_item(ds, p, 1), has_text_file = 1;
    free(p);
    if (!has_text_file)
        warn(ds, "%s: no %s.item or %s.text: the items have ids but no titles or text", ds->dir, name, name);
    if (st != SIDR_OK) goto out_nm;
    /* SIDs may come with the dataset as <name>.index.json */
    RB_PATH(p, ".index.json");
    if (file_exists(p)) {
        int before = ds->n_items;
        st = load_index_json(ds, p);
        if (st == SIDR_OK && x.item_index_n > 0 && ds->n_items > before)
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s' is not in %s.item2index", p, ds->items[before].id, name);
        for (int i = 0; i < ds->n_items; i++)
            if (ds->items[i].n_levels) ds->sid_levels = ds->items[i].n_levels;
    }
    free(p);
    if (st != SIDR_OK) goto out_nm;

    int any_split = 0;
    for (int s = 0; s < SIDR_SPLIT_COUNT && st == SIDR_OK; s++) {
        char sfx[32];
        snprintf(sfx, sizeof sfx, ".%s.inter", sidr_split_name(s));
        RB_PATH(p, sfx);
        if (file_exists(p)) {
            any_split = 1;
            st = load_rb_split(ds, &ds->split[s], p, &x, o->skip_bad_rows);
        }
        free(p);
    }
    if (st == SIDR_OK && !any_split) {
        RB_PATH(p, ".inter");
        if (file_exists(p)) st = load_rb_plain(ds, p, &x);
        else st = sidr_fail(SIDR_ERR_MISSING, "%s: no %s.inter or %s.train|valid|test.inter", ds->dir, name, name);
        free(p);
    }
#undef RB_PATH
out_nm:
    free(nm);
out:
    free(name);
    return st;
}

/* ---- load / free ------------------------------------------------------------------------------ */

void sidr_dataset_opts_default(sidr_dataset_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_history = SIDR_MAX_HISTORY;
}

static sidr_layout detect_layout(const char *dir)
{
    static const char *const marks[] = {"index", "info", "train", "valid", "test"};
    for (int i = 0; i < 5; i++) {
        char *p = path_join(dir, marks[i]);
        int d = dir_exists(p);
        free(p);
        if (d) return SIDR_LAYOUT_MINIONEREC;
    }
    int n;
    char **names = list_files(dir, ".inter", NULL, &n);
    free_list(names, n);
    return n > 0 ? SIDR_LAYOUT_RECBOLE : SIDR_LAYOUT_AUTO;
}

static void build_sid_groups(sidr_dataset *ds)
{
    sidr_strmap_init(&ds->group_by_sid, (size_t)ds->n_items + 1);
    int *count = xcalloc((size_t)ds->n_items + 1, sizeof *count);
    int ng = 0;
    memset(ds->sid_codes, 0, sizeof ds->sid_codes);
    ds->n_items_with_sid = 0;
    for (int i = 0; i < ds->n_items; i++) {
        sidr_item *it = &ds->items[i];
        if (!it->sid) continue;
        ds->n_items_with_sid++;
        for (int l = 0; l < it->n_levels; l++)
            if (it->code[l] + 1 > ds->sid_codes[l]) ds->sid_codes[l] = it->code[l] + 1;
        int g;
        if (!sidr_strmap_get(&ds->group_by_sid, it->sid, strlen(it->sid), &g)) {
            g = ng++;
            sidr_strmap_put(&ds->group_by_sid, it->sid, strlen(it->sid), g);
        }
        it->sid_group = g;
        count[g]++;
    }
    ds->n_sid_groups = ng;
    ds->sid_groups = xcalloc((size_t)ng + 1, sizeof *ds->sid_groups);
    ds->sid_group_items = xmalloc(((size_t)ds->n_items_with_sid + 1) * sizeof *ds->sid_group_items);
    int off = 0;
    for (int g = 0; g < ng; g++) {
        ds->sid_groups[g].items = ds->sid_group_items + off;
        off += count[g];
        if (count[g] > 1) ds->n_sid_collisions++;
    }
    for (int i = 0; i < ds->n_items; i++) {
        sidr_item *it = &ds->items[i];
        if (it->sid_group < 0) continue;
        sidr_sid_group *g = &ds->sid_groups[it->sid_group];
        if (g->n == 0) g->sid = it->sid;
        g->items[g->n++] = i;
    }
    free(count);
}

sidr_status sidr_dataset_load(sidr_dataset *ds, const char *dir, const sidr_dataset_opts *opts)
{
    sidr_dataset_opts def;
    if (!opts) {
        sidr_dataset_opts_default(&def);
        opts = &def;
    }
    memset(ds, 0, sizeof *ds);
    if (!dir || !*dir) return sidr_fail(SIDR_ERR_ARG, "dataset: no directory given");
    if (opts->max_history < 0 || opts->max_history > SIDR_MAX_HISTORY)
        return sidr_fail(SIDR_ERR_ARG, "dataset: max_history %d: expected 1..%d", opts->max_history,
                         SIDR_MAX_HISTORY);
    if (!dir_exists(dir)) return sidr_fail(SIDR_ERR_IO, "%s: not a directory", dir);
    ds->dir = xstrdup(dir);
    ds->max_history = opts->max_history ? opts->max_history : SIDR_MAX_HISTORY;
    sidr_strmap_init(&ds->item_by_id, 4096);
    sidr_strmap_init(&ds->user_by_id, 4096);
    ds->layout = opts->layout ? opts->layout : detect_layout(dir);
    sidr_status st;
    switch (ds->layout) {
    case SIDR_LAYOUT_MINIONEREC: st = load_minionerec(ds, opts); break;
    case SIDR_LAYOUT_RECBOLE: st = load_recbole(ds, opts); break;
    default:
        st = sidr_fail(SIDR_ERR_MISSING,
                       "%s: no dataset found: expected train|valid|test/*.csv, info/ and index/ (MiniOneRec "
                       "layout) or *.inter files (RecBole atomic files)",
                       dir);
    }
    if (st == SIDR_OK) {
        sidr_split *tr = &ds->split[SIDR_SPLIT_TRAIN], *va = &ds->split[SIDR_SPLIT_VALID];
        if (!tr->present) {
            if (opts->derive_train && va->present) {
                derive_train(ds, opts->derive_train);
                warn(ds, "train split missing: built %d training samples from the %s valid histories", tr->n,
                     opts->derive_train == SIDR_DERIVE_LONGEST ? "longest" : "train-period part of the");
            } else if (opts->derive_train) {
                warn(ds, "train split missing and no valid split to derive it from");
            } else {
                warn(ds, "train split missing: no train/*.csv in %s (derive_train builds training samples from "
                         "the valid histories)",
                     dir);
            }
        } else if (opts->derive_train && !tr->derived) {
            warn(ds, "a train split is present; derive_train ignored");
        }
        if (ds->n_items == 0) st = sidr_fail(SIDR_ERR_MISSING, "%s: the dataset has no items", dir);
    }
    if (st != SIDR_OK) {
        char saved[2048];
        snprintf(saved, sizeof saved, "%s", sidr_last_error());
        sidr_dataset_free(ds);
        return sidr_fail(st, "%s", saved);
    }
    build_sid_groups(ds);
    if (ds->n_sid_collisions)
        warn(ds, "%d SIDs are shared by more than one item (%d items in all)", ds->n_sid_collisions,
             ds->n_items_with_sid - ds->n_sid_groups + ds->n_sid_collisions);
    if (ds->n_warnings_dropped) warn(ds, "... and %d more warnings", ds->n_warnings_dropped);
    return SIDR_OK;
}

void sidr_dataset_free(sidr_dataset *ds)
{
    if (!ds) return;
    for (int i = 0; i < ds->n_items; i++) {
        sidr_item *it = &ds->items[i];
        free(it->id);
        free(it->title);
        free(it->description);
        free(it->brand);
        free(it->categories);
        free(it->sid);
    }
    free(ds->items);
    for (int i = 0; i < ds->n_users; i++) free(ds->users[i].id);
    free(ds->users);
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        free(ds->split[s].rows);
        free(ds->split[s].path);
    }
    free(ds->sid_groups);
    free(ds->sid_group_items);
    for (int i = 0; i < ds->n_warnings; i++) free(ds->warnings[i]);
    free(ds->warnings);
    if (ds->item_by_id.slots) sidr_strmap_free(&ds->item_by_id);
    if (ds->user_by_id.slots) sidr_strmap_free(&ds->user_by_id);
    if (ds->group_by_sid.slots) sidr_strmap_free(&ds->group_by_sid);
    free(ds->dir);
    free(ds->name);
    memset(ds, 0, sizeof *ds);
}

/* ---- queries ---------------------------------------------------------------------------------- */

int sidr_dataset_item(const sidr_dataset *ds, const char *id)
{
    int v;
    if (!id || !ds->item_by_id.slots) return -1;
    return sidr_strmap_get(&ds->item_by_id, id, strlen(id), &v) ? v : -1;
}

int sidr_dataset_user(const sidr_dataset *ds, const char *id)
{
    int v;
    if (!id || !ds->user_by_id.slots) return -1;
    return sidr_strmap_get(&ds->user_by_id, id, strlen(id), &v) ? v : -1;
}

const sidr_sid_group *sidr_dataset_sid(const sidr_dataset *ds, const char *sid)
{
    int g;
    if (!sid || !ds->group_by_sid.slots) return NULL;
    return sidr_strmap_get(&ds->group_by_sid, sid, strlen(sid), &g) ? &ds->sid_groups[g] : NULL;
}

const sidr_sample *sidr_dataset_row(const sidr_dataset *ds, sidr_split_id split, int n)
{
    if ((unsigned)split >= SIDR_SPLIT_COUNT) return NULL;
    const sidr_split *sp = &ds->split[split];
    if (n < 0 || n >= sp->n) return NULL;
    return &sp->rows[n];
}

int sidr_dataset_user_rows(const sidr_dataset *ds, sidr_split_id split, int user, int *rows, int cap)
{
    if ((unsigned)split >= SIDR_SPLIT_COUNT) return 0;
    const sidr_split *sp = &ds->split[split];
    int k = 0;
    for (int r = 0; r < sp->n; r++)
        if (sp->rows[r].user == user) {
            if (k < cap) rows[k] = r;
            k++;
        }
    return k;
}

char **sidr_dataset_sid_tokens(const sidr_dataset *ds, int *n)
{
    sidr_strmap seen;
    sidr_strmap_init(&seen, 1024);
    char **out = NULL;
    int k = 0, cap = 0;
    for (int i = 0; i < ds->n_items; i++)
        for (int l = 0; l < ds->items[i].n_levels; l++) {
            char tok[32];
            sidr_item_sid_token(&ds->items[i], l, tok, sizeof tok);
            int v;
            if (sidr_strmap_get(&seen, tok, strlen(tok), &v)) continue;
            sidr_strmap_put(&seen, tok, strlen(tok), k);
            if (k == cap) cap = cap ? 2 * cap : 256, out = xrealloc(out, (size_t)cap * sizeof *out);
            out[k++] = xstrdup(tok);
        }
    sidr_strmap_free(&seen);
    if (k > 1) qsort(out, (size_t)k, sizeof *out, cmp_str);
    *n = k;
    return out;
}

void sidr_dataset_free_tokens(char **tokens, int n)
{
    free_list(tokens, n);
}

const char *sidr_split_name(sidr_split_id s)
{
    static const char *const names[SIDR_SPLIT_COUNT] = {"train", "valid", "test"};
    return (unsigned)s < SIDR_SPLIT_COUNT ? names[s] : "?";
}

int sidr_split_parse(const char *name)
{
    if (!name) return -1;
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++)
        if (!strcmp(name, sidr_split_name(s))) return s;
    if (!strcmp(name, "val") || !strcmp(name, "validation")) return SIDR_SPLIT_VALID;
    return -1;
}

const char *sidr_layout_name(sidr_layout l)
{
    switch (l) {
    case SIDR_LAYOUT_MINIONEREC: return "minionerec";
    case SIDR_LAYOUT_RECBOLE: return "recbole";
    default: return "auto";
    }
}

#define _POSIX_C_SOURCE 200809L
/* The dataset interface (dataset.h): what both layouts share (warnings, text
 * files, items, users, samples, SIDs), the train-split derivation, layout
 * detection, load and free, and the queries.  Each layout has its own
 * reader: dataset_minionerec.c (index/, info/ and the CSV splits) and
 * dataset_recbole.c (RecBole atomic files). */
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

#define MAX_WARNINGS 40

/* ---- small helpers ------------------------------------------------------------ */

void ds_warn(sidr_dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void ds_warn(sidr_dataset *ds, const char *fmt, ...)
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
const char *ds_excerpt(const char *s, size_t n, char *buf, size_t cap)
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

void ds_set_str(char **dst, const char *s, size_t n)
{
    free(*dst);
    *dst = xstrndup(s, n);
}

int ds_line_of(const char *buf, size_t off)
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
    int line = ds_line_of(*out, at);
    free(*out);
    *out = NULL;
    return sidr_fail(SIDR_ERR_FORMAT, "%s:%d: a NUL byte at column %zu: expected text without NUL bytes", path, line,
                     col);
}

sidr_status ds_read_utf8(const char *path, char **out, size_t *len)
{
    sidr_status st = read_file(path, out, len);
    if (st != SIDR_OK) return st;
    if ((st = check_nul(path, out, *len))) return st;
    size_t bad = sidr_utf8_invalid_at(*out, *len);
    if (bad != (size_t)-1) {
        int line = ds_line_of(*out, bad);
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
sidr_status ds_read_text_any(const char *path, char **out, size_t *len, int *latin1)
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
int ds_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
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
char **ds_list_files(const char *dir, const char *suffix, const char *prefix, int *n)
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

void ds_free_list(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ---- items, users, samples ---------------------------------------------------------- */

int ds_item_add(sidr_dataset *ds, const char *id, size_t len)
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

int ds_user_add(sidr_dataset *ds, const char *id, size_t len)
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

sidr_sample *ds_sample_push(sidr_split *sp)
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
void ds_sample_set_history(sidr_dataset *ds, sidr_split *sp, sidr_sample *s, const int *hist, int n)
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
size_t ds_sid_token(const char *s, size_t n, int level, int *code)
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
        size_t k = ds_sid_token(sid + i, len - i, L, &codes[L]);
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

void ds_item_set_sid(sidr_item *it, const int *codes, int L)
{
    it->n_levels = L;
    memcpy(it->code, codes, (size_t)L * sizeof *codes);
    free(it->sid);
    it->sid = sid_format(codes, L);
}

int ds_sid_equal(const sidr_item *it, const int *codes, int L)
{
    return it->n_levels == L && memcmp(it->code, codes, (size_t)L * sizeof *codes) == 0;
}

/* Picks, per user, the valid row whose history is the shortest (TRAIN_PERIOD)
 * or the longest (LONGEST); users with no valid row fall back to their test
 * rows in TRAIN_PERIOD mode only: with no valid-period purchase, the shortest
 * test history holds train-period items alone. */
static void pick_rows(const sidr_split *sp, int split, sidr_derive_mode mode, int *pick_split, int *pick,
                      int *order, int *n_order)
{
    for (int r = 0; r < sp->n; r++) {
        int u = sp->rows[r].user;
        if (pick_split[u] >= 0 && pick_split[u] != split) continue;
        int p = pick[u];
        if (p < 0) {
            pick[u] = r;
            pick_split[u] = split;
            order[(*n_order)++] = u;
        } else if (mode == SIDR_DERIVE_TRAIN_PERIOD ? sp->rows[r].n_hist < sp->rows[p].n_hist
                                                     : sp->rows[r].n_hist >= sp->rows[p].n_hist) {
            pick[u] = r;
        }
    }
}

/* Returns how many users' samples come from their test rows. */
static int derive_train(sidr_dataset *ds, sidr_derive_mode mode)
{
    size_t nu = (size_t)(ds->n_users ? ds->n_users : 1);
    int *pick = xmalloc(nu * sizeof *pick), *pick_split = xmalloc(nu * sizeof *pick_split);
    int *order = xmalloc(nu * sizeof *order), n_order = 0;
    for (int u = 0; u < ds->n_users; u++) pick[u] = pick_split[u] = -1;
    pick_rows(&ds->split[SIDR_SPLIT_VALID], SIDR_SPLIT_VALID, mode, pick_split, pick, order, &n_order);
    if (mode == SIDR_DERIVE_TRAIN_PERIOD)
        pick_rows(&ds->split[SIDR_SPLIT_TEST], SIDR_SPLIT_TEST, mode, pick_split, pick, order, &n_order);
    sidr_split *t = &ds->split[SIDR_SPLIT_TRAIN];
    t->present = 1;
    t->derived = 1;
    int from_test = 0;
    for (int k = 0; k < n_order; k++) {
        int u = order[k];
        from_test += pick_split[u] == SIDR_SPLIT_TEST;
        const sidr_sample *src = &ds->split[pick_split[u]].rows[pick[u]];
        for (int i = 1; i < src->n_hist; i++) {
            sidr_sample *s = ds_sample_push(t);
            s->user = src->user;
            s->target = src->hist[i];
            int st = i > ds->max_history ? i - ds->max_history : 0;
            s->n_hist = i - st;
            memcpy(s->hist, src->hist + st, (size_t)s->n_hist * sizeof *s->hist);
        }
    }
    free(pick);
    free(pick_split);
    free(order);
    return from_test;
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
    char **names = ds_list_files(dir, ".inter", NULL, &n);
    ds_free_list(names, n);
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
    case SIDR_LAYOUT_MINIONEREC: st = ds_load_minionerec(ds, opts); break;
    case SIDR_LAYOUT_RECBOLE: st = ds_load_recbole(ds, opts); break;
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
                int from_test = derive_train(ds, opts->derive_train);
                if (opts->derive_train == SIDR_DERIVE_LONGEST)
                    ds_warn(ds, "train split missing: built %d training samples from the longest valid histories",
                            tr->n);
                else
                    ds_warn(ds,
                            "train split missing: built %d training samples from the train-period part of the valid "
                            "histories and, for the %d users with no valid row, of the test histories",
                            tr->n, from_test);
            } else if (opts->derive_train) {
                ds_warn(ds, "train split missing and no valid split to derive it from");
            } else {
                ds_warn(ds, "train split missing: no train/*.csv in %s (derive_train builds training samples from "
                         "the valid histories)",
                     dir);
            }
        } else if (opts->derive_train && !tr->derived) {
            ds_warn(ds, "a train split is present; derive_train ignored");
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
        ds_warn(ds, "%d SIDs are shared by more than one item (%d items in all)", ds->n_sid_collisions,
             ds->n_items_with_sid - ds->n_sid_groups + ds->n_sid_collisions);
    if (ds->n_warnings_dropped) ds_warn(ds, "... and %d more warnings", ds->n_warnings_dropped);
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
    ds_free_list(tokens, n);
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

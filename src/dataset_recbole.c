#define _POSIX_C_SOURCE 200809L
/* RecBole atomic files (dataset.h): .item (+ .text), .inter, the split
 * .train/.valid/.test.inter files and the remap files. */
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
                             path, ds_excerpt(f, nf, ex, sizeof ex));
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
                             path, ds_excerpt(f, nf, ex, sizeof ex));
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
    sidr_status st = ds_read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    const char *s;
    int line = 0, count = 0;
    /* first pass: count */
    while (ds_next_line(buf, len, &pos, &s, &n))
        if (n) count++;
    const char **tok = xcalloc((size_t)count + 1, sizeof *tok);
    size_t *tlen = xcalloc((size_t)count + 1, sizeof *tlen);
    pos = 0;
    while (ds_next_line(buf, len, &pos, &s, &n)) {
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
                           path, line, count - 1, ds_excerpt(s, n, ex, sizeof ex));
            goto out;
        }
        tok[v] = f[0];
        tlen[v] = fl[0];
    }
    for (int i = 0; i < count; i++) {
        int before = items ? ds->n_items : ds->n_users;
        int idx = items ? ds_item_add(ds, tok[i], tlen[i]) : ds_user_add(ds, tok[i], tlen[i]);
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
    sidr_status st = ds_read_text_any(path, &buf, &len, &latin1);
    if (st != SIDR_OK) return st;
    if (latin1) ds_warn(ds, "%s: not UTF-8; read as Latin-1", path);
    const char *s;
    rb_header h = {0};
    const char **f = NULL;
    size_t *fl = NULL;
    if (!ds_next_line(buf, len, &pos, &s, &n)) goto out;
    if ((st = rb_header_parse(path, s, n, &h)) != SIDR_OK) goto out;
    int cid;
    if ((st = rb_need(path, &h, "item_id", "token", &cid)) != SIDR_OK) goto out;
    f = xcalloc((size_t)h.n, sizeof *f);
    fl = xcalloc((size_t)h.n, sizeof *fl);
    int line = 1, n_new = 0;
    int had_items = ds->n_items;
    while (ds_next_line(buf, len, &pos, &s, &n)) {
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
        int idx = ds_item_add(ds, f[cid], fl[cid]);
        if (idx >= before) n_new++;
        sidr_item *it = &ds->items[idx];
        char *extra = NULL;
        size_t nextra = 0;
        for (int k = 0; k < h.n; k++) {
            if (k == cid || fl[k] == 0) continue;
            const char *nm = h.name[k];
            if (!strcmp(nm, "title") || !strcmp(nm, "movie_title") || !strcmp(nm, "item_title") ||
                !strcmp(nm, "name"))
                ds_set_str(&it->title, f[k], fl[k]);
            else if (!strcmp(nm, "categories") || !strcmp(nm, "category") || !strcmp(nm, "class") ||
                     !strcmp(nm, "genre") || !strcmp(nm, "genres"))
                ds_set_str(&it->categories, f[k], fl[k]);
            else if (!strcmp(nm, "brand"))
                ds_set_str(&it->brand, f[k], fl[k]);
            else if (!strcmp(nm, "description") || !strcmp(nm, "desc") || (text_file && !strcmp(nm, "text")))
                ds_set_str(&it->description, f[k], fl[k]);
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
                ds_set_str(&it->title, d, (size_t)(c2 - d));
                if (!it->categories[0]) ds_set_str(&it->categories, c2 + 2, (size_t)(b - c2 - 2));
                if (!it->brand[0]) ds_set_str(&it->brand, b + 2, (size_t)(d + dl - b - 2));
            } else {
                ds_set_str(&it->title, d, dl);
            }
        }
    }
    if (n_new && had_items) ds_warn(ds, "%s: %d items are not in the item index", path, n_new);
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
                             x->path, line, field, x->item_index_n - 1, ds_excerpt(t, n, ex, sizeof ex));
        *idx = (int)v;
        return SIDR_OK;
    }
    *idx = ds_item_add(ds, t, n);
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
                             x->path, line, x->user_index_n - 1, ds_excerpt(t, n, ex, sizeof ex));
        *idx = (int)v;
        return SIDR_OK;
    }
    *idx = ds_user_add(ds, t, n);
    return SIDR_OK;
}

/* <name>.{train,valid,test}.inter: user_id, item_id_list (space-separated,
 * oldest first), item_id. */
static sidr_status load_rb_split(sidr_dataset *ds, sidr_split *sp, const char *path, rb_ctx *x, int skip_bad)
{
    char *buf;
    size_t len, pos = 0, n;
    sidr_status st = ds_read_utf8(path, &buf, &len);
    if (st != SIDR_OK) return st;
    sp->present = 1;
    sp->path = xstrdup(path);
    x->path = sp->path;
    rb_header h = {0};
    const char *s;
    const char **f = NULL;
    size_t *fl = NULL;
    int *hist = NULL, hist_cap = 0;
    if (!ds_next_line(buf, len, &pos, &s, &n)) {
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
    while (ds_next_line(buf, len, &pos, &s, &n)) {
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
            if (sp->skipped_bad++ < 5) ds_warn(ds, "skipped: %s", sidr_last_error());
            continue;
        }
        if (nh == 0) {
            if (!first_empty) first_empty = line;
            sp->skipped_empty++;
            continue;
        }
        sidr_sample *smp = ds_sample_push(sp);
        smp->user = user;
        smp->target = target;
        smp->line = line;
        ds_sample_set_history(ds, sp, smp, hist, nh);
    }
    if (sp->skipped_empty)
        ds_warn(ds, "%s: %d row%s with an empty history skipped (first on line %d)", path, sp->skipped_empty,
             sp->skipped_empty == 1 ? "" : "s", first_empty);
    if (sp->skipped_bad > 5) ds_warn(ds, "%s: %d malformed rows skipped in all", path, sp->skipped_bad);
    if (sp->n == 0 && !sp->skipped_empty && !sp->skipped_bad) ds_warn(ds, "%s: no rows after the header", path);
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
    sidr_status st = ds_read_utf8(path, &buf, &len);
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
    if (!ds_next_line(buf, len, &pos, &s, &n)) {
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
    while (ds_next_line(buf, len, &pos, &s, &n)) {
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
                           ds_excerpt(f[ct], fl[ct], ex, sizeof ex));
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
    if (n_in > 1) qsort(in, n_in, sizeof *in, cmp_inter_user_time); /* in is NULL when the file has no rows */
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
        *ds_sample_push(sp) = ks[i].s;
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

sidr_status ds_load_recbole(sidr_dataset *ds, const sidr_dataset_opts *o)
{
    sidr_status st = SIDR_OK;
    int n;
    char **names = ds_list_files(ds->dir, ".inter", o->category, &n);
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
    ds_free_list(names, n);
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
        ds_warn(ds, "%s: no %s.item or %s.text: the items have ids but no titles or text", ds->dir, name, name);
    if (st != SIDR_OK) goto out_nm;
    /* SIDs may come with the dataset as <name>.index.json */
    RB_PATH(p, ".index.json");
    if (file_exists(p)) {
        int before = ds->n_items;
        st = ds_load_index_json(ds, p);
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

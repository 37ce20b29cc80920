#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "util.h"

int sid_split(const char *s, int *starts, int *lens, int max)
{
    int n = 0, i = 0;
    while (s[i]) {
        if (s[i] != '<' || n == max) return -1;
        int j = i + 1;
        while (s[j] && s[j] != '>' && s[j] != '<') j++;
        if (s[j] != '>' || j == i + 1) return -1;
        starts[n] = i;
        lens[n] = j - i + 1;
        n++;
        i = j + 1;
    }
    return n > 0 ? n : -1;
}

#define MAX_DEPTH 16

sidr_status catalog_add(sidr_catalog *c, const char *sid, const char *title, const char *item_id,
                        const sidr_tokenizer *tok, const char *where)
{
    int st[MAX_DEPTH], ln[MAX_DEPTH];
    int d = sid_split(sid, st, ln, MAX_DEPTH);
    if (d < 0) return sidr_fail(SIDR_ERR_FORMAT, "%s: '%s' is not a SID (expected tokens like <a_1><b_2><c_3>)", where, sid);
    if (c->n && d != c->depth)
        return sidr_fail(SIDR_ERR_FORMAT, "%s: SID '%s' has %d tokens; earlier SIDs have %d", where, sid, d, c->depth);
    c->depth = d;
    if ((c->n & (c->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = c->n ? (size_t)c->n * 2 : 1;
        c->sid_ids = xrealloc(c->sid_ids, cap * MAX_DEPTH * sizeof(int));
        c->sid = xrealloc(c->sid, cap * sizeof(char *));
        c->title = xrealloc(c->title, cap * sizeof(char *));
        c->item_id = xrealloc(c->item_id, cap * sizeof(char *));
    }
    for (int l = 0; l < d; l++) {
        char tokstr[64];
        if (ln[l] >= (int)sizeof tokstr)
            return sidr_fail(SIDR_ERR_FORMAT, "%s: SID token in '%s' is too long", where, sid);
        memcpy(tokstr, sid + st[l], ln[l]);
        tokstr[ln[l]] = 0;
        int id = sidr_tokenizer_find(tok, tokstr);
        if (id < 0)
            return sidr_fail(SIDR_ERR_MISSING, "%s: SID token %s is not in the model's tokenizer "
                             "(add the dataset's SID tokens with 'sidr model add-sids')", where, tokstr);
        c->sid_ids[(size_t)c->n * d + l] = id;
    }
    c->sid[c->n] = xstrdup(sid);
    c->title[c->n] = xstrdup(title ? title : "");
    c->item_id[c->n] = xstrdup(item_id ? item_id : "");
    c->n++;
    return SIDR_OK;
}

sidr_status catalog_finish(sidr_catalog *c, const char *what)
{
    if (c->n == 0) return sidr_fail(SIDR_ERR_FORMAT, "%s: the catalogue has no items", what);
    /* sid_ids was allocated with MAX_DEPTH stride slack; entries are packed
     * at stride depth, which is what the trie reads. */
    return sidr_trie_build(&c->trie, c->sid_ids, NULL, c->n, c->depth);
}

sidr_status catalog_load_info(sidr_catalog *c, const char *path, const sidr_tokenizer *tok)
{
    memset(c, 0, sizeof *c);
    char *text;
    sidr_status s = read_file(path, &text, NULL);
    if (s) return s;
    int line = 0;
    char where[4200];
    for (char *p = text; *p && !s;) {
        char *end = strchr(p, '\n');
        if (end) *end = 0;
        line++;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r') p[--len] = 0;
        if (len) {
            snprintf(where, sizeof where, "%s:%d", path, line);
            char *tab1 = strchr(p, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
            if (!tab1) s = sidr_fail(SIDR_ERR_FORMAT, "%s: expected 'SID<TAB>title<TAB>item_id'", where);
            else {
                *tab1 = 0;
                if (tab2) *tab2 = 0;
                s = catalog_add(c, p, tab1 + 1, tab2 ? tab2 + 1 : "", tok, where);
            }
        }
        p = end ? end + 1 : p + len;
    }
    free(text);
    if (!s) s = catalog_finish(c, path);
    if (s) catalog_free(c);
    return s;
}

void catalog_free(sidr_catalog *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->sid[i]);
        free(c->title[i]);
        free(c->item_id[i]);
    }
    free(c->sid);
    free(c->title);
    free(c->item_id);
    free(c->sid_ids);
    free(c->item_of);
    sidr_trie_free(&c->trie);
    memset(c, 0, sizeof *c);
}

void catalog_sid_string(const sidr_tokenizer *tok, const int *ids, int n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *b = sidr_tokenizer_token_bytes(tok, ids[i], &len);
        if (!b || used + len + 1 > cap) break;
        memcpy(out + used, b, len);
        used += len;
        out[used] = 0;
    }
}

sidr_status catalog_from_dataset(sidr_catalog *c, const sidr_dataset *ds, const sidr_tokenizer *tok)
{
    memset(c, 0, sizeof *c);
    c->item_of = xmalloc((size_t)(ds->n_items ? ds->n_items : 1) * sizeof(int));
    char where[512];
    sidr_status s = SIDR_OK;
    for (int i = 0; i < ds->n_items && !s; i++) {
        const sidr_item *it = &ds->items[i];
        if (!it->sid) continue;
        snprintf(where, sizeof where, "%s: item %s", ds->dir, it->id);
        c->item_of[c->n] = i;
        s = catalog_add(c, it->sid, it->title, it->id, tok, where);
    }
    if (!s && c->n == 0)
        s = sidr_fail(SIDR_ERR_MISSING, "%s: no item has a SID (run 'sidr sids build' first)", ds->dir);
    if (!s) s = catalog_finish(c, ds->dir);
    if (s) catalog_free(c);
    return s;
}

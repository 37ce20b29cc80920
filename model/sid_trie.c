#include "sid_trie.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    const int *sid;
    int item;
} sid_ref;

static int g_depth; /* qsort has no context argument in C11 */

static int cmp_sid(const void *a, const void *b)
{
    const sid_ref *x = a, *y = b;
    for (int l = 0; l < g_depth; l++)
        if (x->sid[l] != y->sid[l]) return x->sid[l] < y->sid[l] ? -1 : 1;
    return x->item - y->item;
}

static uint64_t edge_key(int node, int token)
{
    return ((uint64_t)(uint32_t)node << 32 | (uint32_t)token) + 1; /* 0 marks an empty slot */
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static void hash_put(sidr_trie *t, int node, int token, int child)
{
    uint64_t k = edge_key(node, token);
    for (int i = (int)(mix(k) & (t->hcap - 1));; i = (i + 1) & (t->hcap - 1))
        if (!t->hkeys[i]) { t->hkeys[i] = k; t->hvals[i] = child; return; }
}

int sidr_trie_child(const sidr_trie *t, int node, int token)
{
    uint64_t k = edge_key(node, token);
    for (int i = (int)(mix(k) & (t->hcap - 1));; i = (i + 1) & (t->hcap - 1)) {
        if (t->hkeys[i] == k) return t->hvals[i];
        if (!t->hkeys[i]) return -1;
    }
}

/* Sorted SIDs make the trie in one pass: a node's children are contiguous
 * runs of the rows below it. */
static int build_node(sidr_trie *t, sid_ref *rows, int n, int depth_now)
{
    int id = t->n_nodes++;
    sidr_trie_node *nd = &t->nodes[id];
    nd->depth = depth_now;
    nd->first_item = nd->n_items = 0;
    nd->first_child = nd->n_children = 0;
    if (depth_now == t->depth) {
        nd->first_item = t->n_items;
        nd->n_items = n;
        for (int i = 0; i < n; i++) t->items[t->n_items++] = rows[i].item;
        t->n_sids++;
        return id;
    }
    int n_kids = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || rows[i].sid[depth_now] != rows[i - 1].sid[depth_now]) n_kids++;
    int first = t->n_children_total;
    t->n_children_total += n_kids;
    t->nodes[id].first_child = first;
    t->nodes[id].n_children = n_kids;
    int k = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && rows[j].sid[depth_now] == rows[i].sid[depth_now]) j++;
        int child = build_node(t, rows + i, j - i, depth_now + 1);
        t->child_tokens[first + k] = rows[i].sid[depth_now];
        t->child_nodes[first + k] = child;
        hash_put(t, id, rows[i].sid[depth_now], child);
        k++;
        i = j;
    }
    return id;
}

sidr_status sidr_trie_build(sidr_trie *t, const int *sids, const int *item, int n, int depth)
{
    memset(t, 0, sizeof *t);
    if (n <= 0 || depth <= 0) return sidr_fail(SIDR_ERR_ARG, "a SID trie needs at least one SID of at least one token");
    sid_ref *rows = xmalloc((size_t)n * sizeof *rows);
    for (int i = 0; i < n; i++) {
        rows[i].sid = sids + (size_t)i * depth;
        rows[i].item = item ? item[i] : i;
    }
    g_depth = depth;
    qsort(rows, n, sizeof *rows, cmp_sid);
    t->depth = depth;
    size_t max_nodes = (size_t)n * depth + 1;
    t->nodes = xmalloc(max_nodes * sizeof *t->nodes);
    t->child_tokens = xmalloc(max_nodes * sizeof(int));
    t->child_nodes = xmalloc(max_nodes * sizeof(int));
    t->items = xmalloc((size_t)n * sizeof(int));
    t->hcap = 16;
    while ((size_t)t->hcap < max_nodes * 2) t->hcap <<= 1;
    t->hkeys = xcalloc(t->hcap, sizeof *t->hkeys);
    t->hvals = xmalloc((size_t)t->hcap * sizeof *t->hvals);
    build_node(t, rows, n, 0);
    free(rows);
    return SIDR_OK;
}

void sidr_trie_free(sidr_trie *t)
{
    free(t->nodes);
    free(t->child_tokens);
    free(t->child_nodes);
    free(t->items);
    free(t->hkeys);
    free(t->hvals);
    memset(t, 0, sizeof *t);
}

const int *sidr_trie_children(const sidr_trie *t, int node, int *n)
{
    *n = t->nodes[node].n_children;
    return t->child_tokens + t->nodes[node].first_child;
}

int sidr_trie_walk(const sidr_trie *t, const int *tokens, int n)
{
    int node = 0;
    for (int i = 0; i < n && node >= 0; i++) node = sidr_trie_child(t, node, tokens[i]);
    return node;
}

const int *sidr_trie_items(const sidr_trie *t, int leaf, int *n)
{
    *n = t->nodes[leaf].n_items;
    return t->items + t->nodes[leaf].first_item;
}

int sidr_trie_count_leaves(const sidr_trie *t, int node)
{
    const sidr_trie_node *nd = &t->nodes[node];
    if (nd->depth == t->depth) return 1;
    int c = 0;
    for (int i = 0; i < nd->n_children; i++) c += sidr_trie_count_leaves(t, t->child_nodes[nd->first_child + i]);
    return c;
}

/* The SID trie: which token may follow a prefix of Semantic-ID tokens.
 * Built once per catalogue; a child lookup is one hash probe.  Several items
 * may share one SID (collisions): a leaf keeps all of them. */
#ifndef SIDR_SID_TRIE_H
#define SIDR_SID_TRIE_H

#include <stdint.h>

#include "status.h"

typedef struct {
    int first_child;   /* index into child_tokens / child_nodes */
    int n_children;
    int depth;
    int first_item;    /* leaves: index into items */
    int n_items;
} sidr_trie_node;

typedef struct {
    sidr_trie_node *nodes;
    int n_nodes, cap_nodes;
    int *child_tokens, *child_nodes;    /* per node, children sorted by token id */
    int n_children_total;
    int *items;                         /* item indices, grouped by leaf */
    int n_items;
    int depth;                          /* tokens per SID (all SIDs have the same) */
    int n_sids;                         /* distinct SIDs (leaves) */
    /* (node, token) -> child hash */
    uint64_t *hkeys;
    int *hvals;
    int hcap;
} sidr_trie;

/* Builds a trie over n SIDs of depth tokens each (sids[i*depth + l]);
 * item[i] is the catalogue index of SID i (the same SID may repeat). */
sidr_status sidr_trie_build(sidr_trie *t, const int *sids, const int *item, int n, int depth);
void sidr_trie_free(sidr_trie *t);

/* The child of node for token, or -1.  The root is node 0. */
int sidr_trie_child(const sidr_trie *t, int node, int token);
/* The allowed next tokens of node (sorted), *n of them. */
const int *sidr_trie_children(const sidr_trie *t, int node, int *n);
/* Walks a token sequence from the root; -1 when it leaves the trie. */
int sidr_trie_walk(const sidr_trie *t, const int *tokens, int n);
/* The items under a leaf. */
const int *sidr_trie_items(const sidr_trie *t, int leaf, int *n);
/* Number of leaves (SIDs) under a node. */
int sidr_trie_count_leaves(const sidr_trie *t, int node);

#endif

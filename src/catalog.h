/* A catalogue of items keyed by SID, with the SID trie built over the
 * tokenizer's ids of the SID tokens. */
#ifndef SIDR_CATALOG_H
#define SIDR_CATALOG_H

#include "sid_trie.h"
#include "status.h"
#include "tokenizer.h"

typedef struct {
    int n;              /* entries (items; several may share a SID) */
    int depth;          /* SID tokens per item */
    int *sid_ids;       /* [n][depth] token ids */
    char **sid;         /* "<a_1><b_2><c_3>" */
    char **title;
    char **item_id;
    int *item_of;       /* dataset item index per entry (catalog_from_dataset), else NULL */
    sidr_trie trie;
} sidr_catalog;

/* Splits a SID string into its tokens ("<a_1>", "<b_2>", ...): start offsets
 * and lengths; returns the count, or -1 when s is not a SID. */
int sid_split(const char *s, int *starts, int *lens, int max);

/* Reads an info.txt file (SID \t title \t item_id per line). */
sidr_status catalog_load_info(sidr_catalog *c, const char *path, const sidr_tokenizer *tok);
/* Adds one entry; `where` names its origin for messages. */
sidr_status catalog_add(sidr_catalog *c, const char *sid, const char *title, const char *item_id,
                        const sidr_tokenizer *tok, const char *where);
/* Builds the trie once every entry is in. */
sidr_status catalog_finish(sidr_catalog *c, const char *what);
void catalog_free(sidr_catalog *c);

/* Every item of a dataset that has a SID, in item order; entry i is item
 * item_of[i] of the dataset. */
struct sidr_dataset;
sidr_status catalog_from_dataset(sidr_catalog *c, const struct sidr_dataset *ds, const sidr_tokenizer *tok);

/* The SID string of a token-id sequence (appended to out, NUL-terminated). */
void catalog_sid_string(const sidr_tokenizer *tok, const int *ids, int n, char *out, size_t cap);

#endif

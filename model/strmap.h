/* An open-addressing hash map from byte strings to ints (vocabularies,
 * merge ranks, item ids).  Keys are copied into an arena owned by the map. */
#ifndef SIDR_STRMAP_H
#define SIDR_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;
    const char *key;
    uint32_t len;
    int value;
} sidr_strmap_slot;

typedef struct {
    sidr_strmap_slot *slots;
    size_t cap, count;
    char **arenas;
    size_t n_arenas, arena_used, arena_cap;
} sidr_strmap;

void sidr_strmap_init(sidr_strmap *m, size_t expected);
void sidr_strmap_free(sidr_strmap *m);
/* Inserts or overwrites. */
void sidr_strmap_put(sidr_strmap *m, const char *key, size_t len, int value);
/* Returns 1 and sets *value when found. */
int sidr_strmap_get(const sidr_strmap *m, const char *key, size_t len, int *value);
uint64_t sidr_hash_bytes(const void *data, size_t len);

#endif

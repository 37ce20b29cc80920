#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ARENA_BLOCK (1u << 20)

uint64_t sidr_hash_bytes(const void *data, size_t len)
{
    /* FNV-1a, then a final avalanche so low bits are usable as an index. */
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void sidr_strmap_init(sidr_strmap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    m->cap = cap;
    m->slots = xcalloc(cap, sizeof *m->slots);
}

void sidr_strmap_free(sidr_strmap *m)
{
    for (size_t i = 0; i < m->n_arenas; i++) free(m->arenas[i]);
    free(m->arenas);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static const char *arena_copy(sidr_strmap *m, const char *key, size_t len)
{
    if (m->n_arenas == 0 || m->arena_used + len + 1 > m->arena_cap) {
        size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
        m->arenas = xrealloc(m->arenas, (m->n_arenas + 1) * sizeof *m->arenas);
        m->arenas[m->n_arenas++] = xmalloc(cap);
        m->arena_cap = cap;
        m->arena_used = 0;
    }
    char *dst = m->arenas[m->n_arenas - 1] + m->arena_used;
    memcpy(dst, key, len);
    dst[len] = 0;
    m->arena_used += len + 1;
    return dst;
}

static sidr_strmap_slot *find_slot(const sidr_strmap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        sidr_strmap_slot *s = &m->slots[i];
        if (!s->key) return s;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return s;
    }
}

static void grow(sidr_strmap *m)
{
    sidr_strmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->cap *= 2;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key) *find_slot(m, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
}

void sidr_strmap_put(sidr_strmap *m, const char *key, size_t len, int value)
{
    if ((m->count + 1) * 2 > m->cap) grow(m);
    uint64_t h = sidr_hash_bytes(key, len);
    sidr_strmap_slot *s = find_slot(m, key, len, h);
    if (!s->key) {
        s->key = arena_copy(m, key, len);
        s->len = (uint32_t)len;
        s->hash = h;
        m->count++;
    }
    s->value = value;
}

int sidr_strmap_get(const sidr_strmap *m, const char *key, size_t len, int *value)
{
    if (!m->cap) return 0;
    const sidr_strmap_slot *s = find_slot(m, key, len, sidr_hash_bytes(key, len));
    if (!s->key) return 0;
    if (value) *value = s->value;
    return 1;
}

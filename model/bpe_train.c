#include "bpe_train.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "tokenizer.h"
#include "util.h"

const char *const sidr_bpe_added[5] = { "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>" };

/* Qwen2/Qwen3's pre-tokenizer split, so sidr's vocabularies cut text the
 * way the released models do. */
static const char QWEN_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

static cJSON *added_entry(int id, const char *content, int special)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "id", id);
    cJSON_AddStringToObject(e, "content", content);
    cJSON_AddBoolToObject(e, "single_word", 0);
    cJSON_AddBoolToObject(e, "lstrip", 0);
    cJSON_AddBoolToObject(e, "rstrip", 0);
    cJSON_AddBoolToObject(e, "normalized", 0);
    cJSON_AddBoolToObject(e, "special", special);
    return e;
}

/* A tokenizer.json skeleton: normaliser, pre-tokenizer, decoder, and a BPE
 * model with the given vocabulary and merges. */
static cJSON *skeleton(cJSON *vocab, cJSON *merges, cJSON *added)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON_AddItemToObject(root, "added_tokens", added);
    cJSON *norm = cJSON_AddObjectToObject(root, "normalizer");
    cJSON_AddStringToObject(norm, "type", "NFC");
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *steps = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON *pat = cJSON_AddObjectToObject(split, "pattern");
    cJSON_AddStringToObject(pat, "Regex", QWEN_REGEX);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", 0);
    cJSON_AddItemToArray(steps, split);
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", 0);
    cJSON_AddBoolToObject(bl, "trim_offsets", 0);
    cJSON_AddBoolToObject(bl, "use_regex", 0);
    cJSON_AddItemToArray(steps, bl);
    cJSON_AddNullToObject(root, "post_processor");
    cJSON_AddItemToObject(root, "decoder", cJSON_Duplicate(bl, 1));
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "");
    cJSON_AddStringToObject(model, "end_of_word_suffix", "");
    cJSON_AddBoolToObject(model, "fuse_unk", 0);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddBoolToObject(model, "ignore_merges", 0);
    cJSON_AddItemToObject(model, "vocab", vocab);
    cJSON_AddItemToObject(model, "merges", merges);
    return root;
}

/* ---- the training state ----------------------------------------------------- */

typedef struct {
    int *sym;
    int len;
    long count;
    int stamp;          /* last merge that rewrote this word */
} word;

typedef struct {
    uint64_t key;       /* (a << 32 | b) + 1; 0 = empty */
    long count;
    int *where;         /* words that contain the pair (may repeat) */
    int n_where, cap_where;
} pair_slot;

typedef struct {
    long count;
    uint64_t key;
} heap_item;

typedef struct {
    word *words;
    int n_words;
    char **tok;         /* token strings (byte-level) */
    int n_tok, cap_tok;
    pair_slot *pairs;
    size_t cap_pairs, n_pairs;
    heap_item *heap;
    size_t n_heap, cap_heap;
    sidr_strmap piece_index;
} trainer;

static uint64_t pkey(int a, int b) { return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1; }

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static pair_slot *pair_get(trainer *t, uint64_t key, int create)
{
    if (create && (t->n_pairs + 1) * 2 > t->cap_pairs) {
        pair_slot *old = t->pairs;
        size_t oc = t->cap_pairs;
        t->cap_pairs = oc ? oc * 2 : 1 << 16;
        t->pairs = xcalloc(t->cap_pairs, sizeof *t->pairs);
        for (size_t i = 0; i < oc; i++)
            if (old[i].key) {
                size_t j = mix(old[i].key) & (t->cap_pairs - 1);
                while (t->pairs[j].key) j = (j + 1) & (t->cap_pairs - 1);
                t->pairs[j] = old[i];
            }
        free(old);
    }
    if (!t->cap_pairs) return NULL;
    size_t j = mix(key) & (t->cap_pairs - 1);
    while (t->pairs[j].key && t->pairs[j].key != key) j = (j + 1) & (t->cap_pairs - 1);
    if (t->pairs[j].key) return &t->pairs[j];
    if (!create) return NULL;
    t->pairs[j].key = key;
    t->n_pairs++;
    return &t->pairs[j];
}

/* Max-heap by count, then by the smaller key (deterministic ties). */
static int heap_before(const heap_item *x, const heap_item *y)
{
    return x->count > y->count || (x->count == y->count && x->key < y->key);
}

static void heap_push(trainer *t, long count, uint64_t key)
{
    if (t->n_heap == t->cap_heap) t->heap = xrealloc(t->heap, (t->cap_heap = t->cap_heap * 2 + 1024) * sizeof *t->heap);
    size_t i = t->n_heap++;
    t->heap[i] = (heap_item){ count, key };
    while (i && heap_before(&t->heap[i], &t->heap[(i - 1) / 2])) {
        heap_item tmp = t->heap[i];
        t->heap[i] = t->heap[(i - 1) / 2];
        t->heap[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

static heap_item heap_pop(trainer *t)
{
    heap_item top = t->heap[0];
    t->heap[0] = t->heap[--t->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n_heap && heap_before(&t->heap[l], &t->heap[m])) m = l;
        if (r < t->n_heap && heap_before(&t->heap[r], &t->heap[m])) m = r;
        if (m == i) break;
        heap_item tmp = t->heap[i];
        t->heap[i] = t->heap[m];
        t->heap[m] = tmp;
        i = m;
    }
    return top;
}

/* Adds delta occurrences of every adjacent pair of word w. */
static void count_pairs(trainer *t, int w, long delta, int push)
{
    const word *wd = &t->words[w];
    for (int i = 0; i + 1 < wd->len; i++) {
        pair_slot *p = pair_get(t, pkey(wd->sym[i], wd->sym[i + 1]), 1);
        p->count += delta * wd->count;
        if (delta > 0) {
            if (p->n_where == p->cap_where) p->where = xrealloc(p->where, (p->cap_where = p->cap_where * 2 + 4) * sizeof(int));
            p->where[p->n_where++] = w;
        }
        /* Every change gets a fresh heap entry; older ones are skipped as stale. */
        if (push && p->count > 0) heap_push(t, p->count, p->key);
    }
}

static void add_token(trainer *t, const char *s, size_t n)
{
    if (t->n_tok == t->cap_tok) t->tok = xrealloc(t->tok, (t->cap_tok = t->cap_tok * 2 + 512) * sizeof(char *));
    t->tok[t->n_tok++] = xstrndup(s, n);
}

typedef struct {
    trainer *t;
} piece_ctx;

static void on_piece(void *user, const char *s, size_t n)
{
    piece_ctx *c = user;
    trainer *t = c->t;
    int w;
    if (sidr_strmap_get(&t->piece_index, s, n, &w)) {
        t->words[w].count++;
        return;
    }
    w = t->n_words++;
    if ((w & (w - 1)) == 0) t->words = xrealloc(t->words, (size_t)(w ? 2 * w : 1) * sizeof *t->words);
    sidr_strmap_put(&t->piece_index, s, n, w);
    word *wd = &t->words[w];
    wd->sym = xmalloc((n ? n : 1) * sizeof(int));
    wd->len = 0;
    wd->count = 1;
    wd->stamp = -1;
    /* Pieces arrive as raw bytes (the byte-level mapping is BPE's input
     * alphabet): base token id = byte value. */
    for (size_t i = 0; i < n; i++) wd->sym[wd->len++] = (unsigned char)s[i];
}

static void trainer_free(trainer *t)
{
    for (int i = 0; i < t->n_words; i++) free(t->words[i].sym);
    free(t->words);
    for (int i = 0; i < t->n_tok; i++) free(t->tok[i]);
    free(t->tok);
    for (size_t i = 0; i < t->cap_pairs; i++) free(t->pairs[i].where);
    free(t->pairs);
    free(t->heap);
    sidr_strmap_free(&t->piece_index);
}

sidr_status sidr_bpe_train(const char *const *texts, int n, const sidr_bpe_opts *o, char **json)
{
    *json = NULL;
    int n_added = (int)(sizeof sidr_bpe_added / sizeof *sidr_bpe_added);
    if (o->vocab_size < 256 + n_added + 1)
        return sidr_fail(SIDR_ERR_ARG, "BPE vocabulary of %d is too small (at least %d: 256 bytes, %d added tokens, 1 merge)",
                         o->vocab_size, 256 + n_added + 1, n_added);
    trainer t;
    memset(&t, 0, sizeof t);
    sidr_strmap_init(&t.piece_index, 1 << 14);
    cJSON *vocab = cJSON_CreateObject();
    for (int b = 0; b < 256; b++) {
        char ch[5] = { 0 };
        int l = sidr_byte_level_char(b, ch);
        add_token(&t, ch, (size_t)l);
        cJSON_AddNumberToObject(vocab, ch, b);
    }
    /* The bootstrap tokenizer splits the corpus exactly as the result will. */
    cJSON *added = cJSON_CreateArray();
    for (int i = 0; i < n_added; i++) cJSON_AddItemToArray(added, added_entry(256 + i, sidr_bpe_added[i], i < 3));
    for (int i = 0; i < o->n_skip; i++) cJSON_AddItemToArray(added, added_entry(256 + n_added + i, o->skip[i], 0));
    cJSON *boot = skeleton(cJSON_Duplicate(vocab, 1), cJSON_CreateArray(), added);
    char *boot_text = cJSON_PrintUnformatted(boot);
    cJSON_Delete(boot);
    sidr_tokenizer *bt;
    sidr_status s = sidr_tokenizer_load_json(&bt, boot_text, strlen(boot_text), "BPE bootstrap");
    free(boot_text);
    if (s) { cJSON_Delete(vocab); trainer_free(&t); return s; }
    piece_ctx pc = { &t };
    for (int i = 0; i < n && !s; i++) s = sidr_tokenizer_pretokenize(bt, texts[i], strlen(texts[i]), on_piece, &pc);
    sidr_tokenizer_free(bt);
    if (s) { cJSON_Delete(vocab); trainer_free(&t); return sidr_fail_context(s, "BPE training corpus"); }

    for (int w = 0; w < t.n_words; w++) count_pairs(&t, w, 1, 0);
    for (size_t i = 0; i < t.cap_pairs; i++)
        if (t.pairs[i].key) heap_push(&t, t.pairs[i].count, t.pairs[i].key);
    int min_freq = o->min_frequency > 0 ? o->min_frequency : 2;
    int target = o->vocab_size - n_added, total = target - 256;
    cJSON *merges = cJSON_CreateArray();
    while (t.n_tok < target && t.n_heap) {
        heap_item top = heap_pop(&t);
        pair_slot *p = pair_get(&t, top.key, 0);
        if (!p || p->count != top.count) continue; /* stale entry */
        if (p->count < min_freq) break;
        int a = (int)((top.key - 1) >> 32), b = (int)((top.key - 1) & 0xffffffffu), id = t.n_tok;
        size_t la = strlen(t.tok[a]), lb = strlen(t.tok[b]);
        char *m = xmalloc(la + lb + 1);
        memcpy(m, t.tok[a], la);
        memcpy(m + la, t.tok[b], lb + 1);
        add_token(&t, m, la + lb);
        free(m);
        cJSON_AddNumberToObject(vocab, t.tok[id], id);
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(t.tok[a]));
        cJSON_AddItemToArray(pair, cJSON_CreateString(t.tok[b]));
        cJSON_AddItemToArray(merges, pair);
        /* Rewrite every word holding the pair; p may move as the table grows. */
        int n_where = p->n_where, *where = p->where;
        p->where = NULL;
        p->n_where = p->cap_where = 0;
        for (int k = 0; k < n_where; k++) {
            int w = where[k];
            word *wd = &t.words[w];
            if (wd->stamp == id) continue;
            int has = 0;
            for (int i = 0; i + 1 < wd->len && !has; i++) has = wd->sym[i] == a && wd->sym[i + 1] == b;
            if (!has) continue;
            wd->stamp = id;
            count_pairs(&t, w, -1, 1);
            int j = 0;
            for (int i = 0; i < wd->len; i++) {
                if (i + 1 < wd->len && wd->sym[i] == a && wd->sym[i + 1] == b) { wd->sym[j++] = id; i++; }
                else wd->sym[j++] = wd->sym[i];
            }
            wd->len = j;
            count_pairs(&t, w, 1, 1);
        }
        free(where);
        if (o->progress && o->progress(o->user, t.n_tok - 256, total)) {
            cJSON_Delete(vocab);
            cJSON_Delete(merges);
            trainer_free(&t);
            return sidr_fail(SIDR_ERR_CANCELLED, "BPE training cancelled");
        }
    }
    cJSON *final_added = cJSON_CreateArray();
    for (int i = 0; i < n_added; i++) cJSON_AddItemToArray(final_added, added_entry(t.n_tok + i, sidr_bpe_added[i], i < 3));
    cJSON *root = skeleton(vocab, merges, final_added);
    *json = cJSON_Print(root);
    cJSON_Delete(root);
    trainer_free(&t);
    return SIDR_OK;
}

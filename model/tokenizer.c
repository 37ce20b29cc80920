/* Hugging Face tokenizer.json, byte-level BPE flavour.
 *
 * Encoding follows the Rust `tokenizers` pipeline step by step, because the
 * ids have to be identical to what the model was trained on:
 *   1. added tokens with "normalized": false are split out of the raw text
 *      (leftmost-longest, honouring single_word / lstrip / rstrip);
 *   2. each remaining piece is normalised (NFC for Qwen) on its own, and the
 *      added tokens with "normalized": true are split out of the normalised
 *      piece (SID tokens like <a_12> live here; NFC leaves them unchanged);
 *   3. the pre-tokenizer steps (Split regex, ByteLevel) cut pieces further;
 *   4. each piece's bytes go through BPE by merge rank.
 * Decoding concatenates each token's bytes (the GPT-2 byte<->unicode map
 * undone once at load time).  The post_processor is not applied: encode
 * adds no BOS/EOS (Qwen adds none); callers render the chat template. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "tokenizer.h"
#include "config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "utf8.h"

#include "strmap.h"
#include "util.h"

#define MAX_ID (1 << 26)      /* sanity bound on ids read from a file */
#define MAX_NORMALIZERS 8
#define MAX_STEPS 8

/* The GPT-2 split, used by a ByteLevel pre-tokenizer with use_regex true. */
static const char GPT2_REGEX[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

enum { SPLIT_ISOLATED, SPLIT_REMOVED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };

typedef struct {
    pcre2_code *re;   /* NULL: no split (ByteLevel with use_regex false) */
    int behavior;
    int invert;
    int prefix_space; /* ByteLevel add_prefix_space */
} pretok_step;

typedef struct {
    char *content;    /* raw content, NUL-terminated */
    size_t len;
    int id;
    unsigned single_word : 1, lstrip : 1, rstrip : 1, normalized : 1, special : 1;
} added_token;

/* A set of added-token strings matched leftmost-longest.  Tokens are few
 * (hundreds) and short, so a first-byte filter plus one hash probe per
 * distinct length beats building an Aho-Corasick automaton. */
typedef struct {
    sidr_strmap map;      /* matched string -> index into t->added */
    uint8_t first[256];   /* 1 if some string starts with this byte */
    size_t *lens;         /* distinct lengths, longest first */
    int n_lens;
} match_set;

typedef struct {
    uint64_t key;         /* 0 = empty slot */
    int rank, new_id;
} merge_slot;

struct sidr_tokenizer {
    int n_vocab;          /* one past the largest id */
    sidr_strmap vocab;    /* byte-level token string -> id */
    int unk_id, fuse_unk, ignore_merges;

    merge_slot *merges;
    size_t merge_mask;

    int byte_id[256];     /* id of the single-byte token, -1 if absent */
    char byte_utf8[256][3];
    uint8_t byte_utf8_len[256];
    int16_t cp_byte[324]; /* byte-level code point -> byte, -1 if none */

    /* Bytes of every id: data + offset/length (-1 length = no such id). */
    char *tok_data;
    uint32_t *tok_off;
    int32_t *tok_len;
    uint8_t *id_flags;    /* bit 0: added token, bit 1: special */

    added_token *added;   /* sorted by id */
    int n_added;
    sidr_strmap added_by_content; /* raw content -> index */
    match_set raw_set, norm_set;

    int norm_opts[MAX_NORMALIZERS];
    int n_norm;
    pretok_step steps[MAX_STEPS];
    int n_steps;
};

enum { ID_ADDED = 1, ID_SPECIAL = 2 };

/* ---- small Unicode helpers ------------------------------------------------ */

static sidr_status check_utf8(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int k = sidr_utf8_decode(text + i, len - i, &cp);
        if (!k)
            return sidr_fail(SIDR_ERR_FORMAT,
                             "text is not valid UTF-8: bad byte 0x%02x at byte offset %zu", s[i], i);
        i += (size_t)k;
    }
    return SIDR_OK;
}

/* Decodes the (valid) code point at s[*i] and advances *i. */
static int32_t next_cp(const char *s, size_t n, size_t *i)
{
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + *i, (utf8proc_ssize_t)(n - *i), &cp);
    *i += k > 0 ? (size_t)k : 1;
    return cp;
}

/* Code point of the last character of s[0..n). */
static int32_t last_cp(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
    if (i > 0) i--;
    return next_cp(s, n, &i);
}

/* Unicode White_Space: what \s means in Oniguruma and in Rust's regex. */
static int is_white_space(int32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Rust regex \w: Alphabetic, marks, Nd, Pc, Join_Control.  Alphabetic is
 * approximated by L*, Nl and the circled/squared Latin letters. */
static int is_word_char(int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_PC:
        return 1;
    default:
        return c == 0x200C || c == 0x200D || (c >= 0x24B6 && c <= 0x24E9) ||
               (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
               (c >= 0x1F170 && c <= 0x1F189);
    }
}

/* ---- JSON helpers ------------------------------------------------------------ */

static int json_bool(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return dflt;
}

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_int(const cJSON *v, int *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d < MAX_ID) || d != floor(d)) return 0;
    *out = (int)d;
    return 1;
}

/* ---- normalizer ------------------------------------------------------------- */

static sidr_status parse_normalizer(sidr_tokenizer *t, const cJSON *n, const char *name, const char *field)
{
    if (!n || cJSON_IsNull(n)) return SIDR_OK;
    const char *type = json_str(n, "type");
    if (!type) return sidr_fail(SIDR_ERR_FORMAT, "%s: field '%s.type': expected a string", name, field);
    int opts = 0;
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
        if (!cJSON_IsArray(list))
            return sidr_fail(SIDR_ERR_FORMAT, "%s: field '%s.normalizers': expected an array", name, field);
        int i = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s.normalizers[%d]", field, i++);
            sidr_status st = parse_normalizer(t, item, name, sub);
            if (st) return st;
        }
        return SIDR_OK;
    }
    if (!strcmp(type, "NFC")) opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    else if (!strcmp(type, "NFD")) opts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    else if (!strcmp(type, "NFKC")) opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    else if (!strcmp(type, "NFKD")) opts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    else
        return sidr_fail(SIDR_ERR_UNSUPPORTED,
                         "%s: field '%s.type': normalizer \"%s\" is not supported "
                         "(expected NFC, NFD, NFKC, NFKD, Sequence or null)", name, field, type);
    if (t->n_norm == MAX_NORMALIZERS)
        return sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: field '%s': more than %d normalizers", name, field,
                         MAX_NORMALIZERS);
    t->norm_opts[t->n_norm++] = opts;
    return SIDR_OK;
}

/* Applies the normalizers to s[0..n).  Returns s itself when nothing can
 * change (no normalizer, or pure ASCII, which every normal form leaves
 * alone); otherwise a malloc'd buffer the caller frees. */
static char *normalize(const sidr_tokenizer *t, const char *s, size_t n, size_t *out_len)
{
    *out_len = n;
    if (t->n_norm == 0) return (char *)s;
    size_t i = 0;
    while (i < n && !((unsigned char)s[i] & 0x80)) i++;
    if (i == n) return (char *)s;
    char *cur = (char *)s;
    size_t cur_len = n;
    for (int k = 0; k < t->n_norm; k++) {
        utf8proc_uint8_t *dst = NULL;
        utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)cur, (utf8proc_ssize_t)cur_len, &dst,
                                          (utf8proc_option_t)t->norm_opts[k]);
        if (r < 0) { /* cannot happen on validated UTF-8; keep the text as it is */
            free(dst);
            break;
        }
        if (cur != s) free(cur);
        cur = (char *)dst;
        cur_len = (size_t)r;
    }
    *out_len = cur_len;
    return cur;
}

/* ---- regexes -------------------------------------------------------------- */

/* PCRE2's \s (with UCP) also matches U+180E, which Oniguruma (what the Rust
 * tokenizers use) does not: both mean Unicode White_Space there.  Spell \s
 * and \S out as that property so the splits agree.  (A PCRE2 older than
 * 10.40 lacks \p{White_Space}; compile_regex then keeps the pattern as is.) */
static char *rewrite_white_space(const char *p, size_t n, size_t *out_len)
{
    char *out = xmalloc(n * 8 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            char d = p[++i];
            if (d == 's' || d == 'S') {
                memcpy(out + o, d == 's' ? "\\p{White_Space}" : "\\P{White_Space}", 15);
                o += 15;
            } else {
                out[o++] = '\\';
                out[o++] = d;
            }
            continue;
        }
        out[o++] = p[i];
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

static sidr_status compile_regex(pcre2_code **out, const char *pat, size_t len, int literal,
                                 const char *name, const char *field)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re;
    if (literal) {
        re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_LITERAL, &err, &off, NULL);
    } else {
        size_t rlen;
        char *rw = rewrite_white_space(pat, len, &rlen);
        re = pcre2_compile((PCRE2_SPTR)rw, rlen, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
        free(rw);
        if (!re) /* report errors against the pattern as written */
            re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
    }
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: field '%s': regex does not compile at offset %zu: %s",
                         name, field, (size_t)off, (const char *)msg);
    }
    /* JIT is an optimisation only: if it is unavailable the interpreter runs. */
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    *out = re;
    return SIDR_OK;
}

/* ---- pre-tokenizer ------------------------------------------------------- */

static sidr_status add_step(sidr_tokenizer *t, pretok_step s, const char *name, const char *field)
{
    if (t->n_steps == MAX_STEPS) {
        if (s.re) pcre2_code_free(s.re);
        return sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: field '%s': more than %d pre-tokenizers", name, field,
                         MAX_STEPS);
    }
    t->steps[t->n_steps++] = s;
    return SIDR_OK;
}

static sidr_status parse_pretok(sidr_tokenizer *t, const cJSON *p, const char *name, const char *field,
                                int *byte_level)
{
    if (!p || cJSON_IsNull(p)) return SIDR_OK;
    const char *type = json_str(p, "type");
    char sub[160];
    if (!type) return sidr_fail(SIDR_ERR_FORMAT, "%s: field '%s.type': expected a string", name, field);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        if (!cJSON_IsArray(list))
            return sidr_fail(SIDR_ERR_FORMAT, "%s: field '%s.pretokenizers': expected an array", name, field);
        int i = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            snprintf(sub, sizeof sub, "%s.pretokenizers[%d]", field, i++);
            sidr_status st = parse_pretok(t, item, name, sub, byte_level);
            if (st) return st;
        }
        return SIDR_OK;
    }
    pretok_step s = {0};
    if (!strcmp(type, "ByteLevel")) {
        *byte_level = 1;
        s.prefix_space = json_bool(p, "add_prefix_space", 1);
        if (json_bool(p, "use_regex", 1)) {
            snprintf(sub, sizeof sub, "%s (GPT-2 regex)", field);
            sidr_status st = compile_regex(&s.re, GPT2_REGEX, strlen(GPT2_REGEX), 0, name, sub);
            if (st) return st;
        }
        if (!s.re && !s.prefix_space) return SIDR_OK; /* a pure byte mapping: done by BPE */
        return add_step(t, s, name, field);
    }
    if (!strcmp(type, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const char *rx = json_str(pat, "Regex"), *lit = json_str(pat, "String");
        if (!rx && !lit)
            return sidr_fail(SIDR_ERR_FORMAT,
                             "%s: field '%s.pattern': expected {\"Regex\": ...} or {\"String\": ...}", name, field);
        const char *beh = json_str(p, "behavior");
        static const char *const names[] = {"Isolated", "Removed", "MergedWithPrevious", "MergedWithNext",
                                             "Contiguous"};
        s.behavior = -1;
        for (int i = 0; i < 5 && beh; i++)
            if (!strcmp(beh, names[i])) s.behavior = i;
        if (s.behavior < 0)
            return sidr_fail(SIDR_ERR_FORMAT,
                             "%s: field '%s.behavior': expected Isolated, Removed, MergedWithPrevious, "
                             "MergedWithNext or Contiguous", name, field);
        s.invert = json_bool(p, "invert", 0);
        snprintf(sub, sizeof sub, "%s.pattern.%s", field, rx ? "Regex" : "String");
        const char *src = rx ? rx : lit;
        sidr_status st = compile_regex(&s.re, src, strlen(src), !rx, name, sub);
        if (st) return st;
        return add_step(t, s, name, field);
    }
    return sidr_fail(SIDR_ERR_UNSUPPORTED,
                     "%s: field '%s.type': pre-tokenizer \"%s\" is not supported "
                     "(expected ByteLevel, Split or Sequence)", name, field, type);
}

/* ---- added-token match sets -------------------------------------------------- */

static void set_add(match_set *m, const char *s, size_t len, int index)
{
    if (len == 0) return;
    if (!m->map.slots) sidr_strmap_init(&m->map, 64);
    sidr_strmap_put(&m->map, s, len, index);
    m->first[(unsigned char)s[0]] = 1;
    for (int i = 0; i < m->n_lens; i++)
        if (m->lens[i] == len) return;
    m->lens = xrealloc(m->lens, (m->n_lens + 1) * sizeof *m->lens);
    int i = m->n_lens++;
    while (i > 0 && m->lens[i - 1] < len) { /* keep longest first */
        m->lens[i] = m->lens[i - 1];
        i--;
    }
    m->lens[i] = len;
}

static void set_free(match_set *m)
{
    if (m->map.slots) sidr_strmap_free(&m->map);
    free(m->lens);
}

/* Leftmost-longest match in s[from..n): returns the added-token index and
 * sets *start and *len, or returns -1. */
static int set_find(const match_set *m, const char *s, size_t n, size_t from, size_t *start, size_t *len)
{
    if (m->n_lens == 0) return -1;
    for (size_t i = from; i < n; i++) {
        if (!m->first[(unsigned char)s[i]]) continue;
        for (int k = 0; k < m->n_lens; k++) {
            size_t l = m->lens[k];
            int idx;
            if (l <= n - i && sidr_strmap_get(&m->map, s + i, l, &idx)) {
                *start = i;
                *len = l;
                return idx;
            }
        }
    }
    return -1;
}

/* ---- loading ---------------------------------------------------------------- */

static uint64_t merge_hash(uint64_t key)
{
    key *= 0x9E3779B97F4A7C15ULL;
    return key ^ (key >> 29);
}

static uint64_t merge_key(int a, int b)
{
    return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)b;
}

static merge_slot *merge_find(const sidr_tokenizer *t, uint64_t key)
{
    for (size_t i = merge_hash(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        merge_slot *s = &t->merges[i];
        if (s->key == key || s->key == 0) return s;
    }
}

static void build_byte_map(sidr_tokenizer *t)
{
    int n = 0;
    for (int i = 0; i < 324; i++) t->cp_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        int cp = printable ? b : 256 + n++;
        t->cp_byte[cp] = (int16_t)b;
        t->byte_utf8_len[b] = (uint8_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)t->byte_utf8[b]);
    }
}

int sidr_byte_level_char(int byte, char out[4])
{
    /* GPT-2's map: printable bytes stand for themselves, the others take
     * code points from 256 upward in byte order. */
    int n = 0;
    for (int b = 0; b < byte; b++) n += !((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE));
    int printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE);
    return (int)utf8proc_encode_char(printable ? byte : 256 + n, (utf8proc_uint8_t *)out);
}

/* Bytes of a byte-level vocabulary string; a token using characters outside
 * the byte map is kept as written (what the Rust ByteLevel decoder does). */
static size_t unmap_bytes(const sidr_tokenizer *t, const char *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        int32_t cp = next_cp(s, n, &i);
        if (cp < 0 || cp >= 324 || t->cp_byte[cp] < 0) {
            memcpy(out, s, n);
            return n;
        }
        out[o++] = (char)t->cp_byte[cp];
    }
    return o;
}

static sidr_status parse_model(sidr_tokenizer *t, const cJSON *model, const char *name, int *max_id)
{
    if (!cJSON_IsObject(model))
        return sidr_fail(SIDR_ERR_MISSING, "%s: field 'model': missing (expected the BPE model object)", name);
    const char *type = json_str(model, "type");
    if (type && strcmp(type, "BPE"))
        return sidr_fail(SIDR_ERR_UNSUPPORTED,
                         "%s: field 'model.type': model \"%s\" is not supported (expected BPE)", name, type);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!vocab) return sidr_fail(SIDR_ERR_MISSING, "%s: field 'model.vocab': missing", name);
    if (!cJSON_IsObject(vocab))
        return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'model.vocab': expected an object of token -> id", name);
    const char *cont = json_str(model, "continuing_subword_prefix");
    const char *eow = json_str(model, "end_of_word_suffix");
    if ((cont && *cont) || (eow && *eow))
        return sidr_fail(SIDR_ERR_UNSUPPORTED,
                         "%s: field 'model.%s': subword prefixes/suffixes are not supported (expected \"\" or null)",
                         name, cont && *cont ? "continuing_subword_prefix" : "end_of_word_suffix");
    if (json_bool(model, "byte_fallback", 0))
        return sidr_fail(SIDR_ERR_UNSUPPORTED,
                         "%s: field 'model.byte_fallback': byte fallback is not supported (expected false)", name);
    t->fuse_unk = json_bool(model, "fuse_unk", 0);
    t->ignore_merges = json_bool(model, "ignore_merges", 0);
    /* "dropout" only randomises segmentation while training; inference ignores it. */

    int n = cJSON_GetArraySize(vocab);
    sidr_strmap_init(&t->vocab, (size_t)n);
    const cJSON *item;
    cJSON_ArrayForEach(item, vocab) {
        int id;
        if (!json_int(item, &id))
            return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'model.vocab[\"%.64s\"]': expected an integer id in [0, %d)",
                             name, item->string, MAX_ID);
        sidr_strmap_put(&t->vocab, item->string, strlen(item->string), id);
        if (id > *max_id) *max_id = id;
    }
    t->unk_id = -1;
    const char *unk = json_str(model, "unk_token");
    if (unk && !sidr_strmap_get(&t->vocab, unk, strlen(unk), &t->unk_id))
        return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'model.unk_token': \"%.64s\" is not in model.vocab", name, unk);

    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!merges) return sidr_fail(SIDR_ERR_MISSING, "%s: field 'model.merges': missing", name);
    if (!cJSON_IsArray(merges))
        return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'model.merges': expected an array", name);
    size_t n_merges = (size_t)cJSON_GetArraySize(merges), cap = 16;
    while (cap < n_merges * 2) cap <<= 1;
    t->merges = xcalloc(cap, sizeof *t->merges);
    t->merge_mask = cap - 1;
    char *joined = NULL;
    size_t joined_cap = 0;
    int rank = 0;
    sidr_status st = SIDR_OK;
    cJSON_ArrayForEach(item, merges) {
        const char *a, *b;
        size_t la, lb;
        if (cJSON_IsArray(item) && cJSON_GetArraySize(item) == 2 && cJSON_IsString(item->child) &&
            cJSON_IsString(item->child->next)) {
            a = item->child->valuestring;
            b = item->child->next->valuestring;
            la = strlen(a);
            lb = strlen(b);
        } else if (cJSON_IsString(item) && strchr(item->valuestring, ' ') &&
                   !strchr(strchr(item->valuestring, ' ') + 1, ' ')) {
            /* the older "a b" form */
            a = item->valuestring;
            la = (size_t)(strchr(a, ' ') - a);
            b = a + la + 1;
            lb = strlen(b);
        } else {
            st = sidr_fail(SIDR_ERR_FORMAT,
                           "%s: field 'model.merges[%d]': expected a pair [\"a\", \"b\"] or a string \"a b\"", name,
                           rank);
            break;
        }
        int ia, ib, inew;
        if (!sidr_strmap_get(&t->vocab, a, la, &ia) || !sidr_strmap_get(&t->vocab, b, lb, &ib)) {
            int bad_a = !sidr_strmap_get(&t->vocab, a, la, &ia);
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: field 'model.merges[%d]': token \"%.*s\" is not in model.vocab",
                           name, rank, (int)(bad_a ? la : lb), bad_a ? a : b);
            break;
        }
        if (la + lb + 1 > joined_cap) joined = xrealloc(joined, joined_cap = (la + lb + 1) * 2);
        memcpy(joined, a, la);
        memcpy(joined + la, b, lb);
        if (!sidr_strmap_get(&t->vocab, joined, la + lb, &inew)) {
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: field 'model.merges[%d]': merged token \"%.*s\" is not in model.vocab",
                           name, rank, (int)(la + lb), joined);
            break;
        }
        merge_slot *s = merge_find(t, merge_key(ia, ib));
        s->key = merge_key(ia, ib); /* a repeated pair keeps its last rank, as in HF */
        s->rank = rank++;
        s->new_id = inew;
    }
    free(joined);
    if (st) return st;

    for (int b = 0; b < 256; b++)
        if (!sidr_strmap_get(&t->vocab, t->byte_utf8[b], t->byte_utf8_len[b], &t->byte_id[b])) t->byte_id[b] = -1;
    return SIDR_OK;
}

static sidr_status parse_added(sidr_tokenizer *t, const cJSON *list, const char *name, int *max_id)
{
    sidr_strmap_init(&t->added_by_content, 64);
    if (!list || cJSON_IsNull(list)) return SIDR_OK;
    if (!cJSON_IsArray(list)) return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'added_tokens': expected an array", name);
    int n = cJSON_GetArraySize(list), i = 0;
    t->added = xcalloc((size_t)n, sizeof *t->added);
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        const char *content = json_str(item, "content");
        int id;
        if (!content || !*content)
            return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'added_tokens[%d].content': expected a non-empty string",
                             name, i);
        if (!json_int(cJSON_GetObjectItemCaseSensitive(item, "id"), &id))
            return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'added_tokens[%d].id': expected an integer id in [0, %d)",
                             name, i, MAX_ID);
        int dup;
        if (sidr_strmap_get(&t->added_by_content, content, strlen(content), &dup))
            return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'added_tokens[%d].content': \"%.64s\" is listed twice",
                             name, i, content);
        added_token *a = &t->added[i];
        a->content = xstrdup(content);
        a->len = strlen(content);
        a->id = id;
        a->special = json_bool(item, "special", 0);
        a->single_word = json_bool(item, "single_word", 0);
        a->lstrip = json_bool(item, "lstrip", 0);
        a->rstrip = json_bool(item, "rstrip", 0);
        a->normalized = json_bool(item, "normalized", !a->special);
        sidr_strmap_put(&t->added_by_content, a->content, a->len, i);
        t->n_added = ++i;
        if (id > *max_id) *max_id = id;
    }
    return SIDR_OK;
}

static int cmp_added(const void *x, const void *y)
{
    const added_token *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

/* (Re)builds everything derived from the added tokens: id order, the two
 * match sets, per-id flags and bytes. */
static sidr_status index_added(sidr_tokenizer *t, const char *name)
{
    if (t->n_added > 1) qsort(t->added, (size_t)t->n_added, sizeof *t->added, cmp_added);
    sidr_strmap_free(&t->added_by_content);
    sidr_strmap_init(&t->added_by_content, (size_t)t->n_added + 16);
    set_free(&t->raw_set);
    set_free(&t->norm_set);
    memset(&t->raw_set, 0, sizeof t->raw_set);
    memset(&t->norm_set, 0, sizeof t->norm_set);
    for (int i = 0; i < t->n_added; i++) {
        added_token *a = &t->added[i];
        if (i > 0 && a->id == t->added[i - 1].id)
            return sidr_fail(SIDR_ERR_FORMAT, "%s: field 'added_tokens': id %d is used by \"%.64s\" and \"%.64s\"",
                             name, a->id, t->added[i - 1].content, a->content);
        sidr_strmap_put(&t->added_by_content, a->content, a->len, i);
        if (!a->normalized || t->n_norm == 0) {
            set_add(&t->raw_set, a->content, a->len, i);
        } else {
            size_t nl;
            char *norm = normalize(t, a->content, a->len, &nl);
            set_add(&t->norm_set, norm, nl, i);
            if (norm != a->content) free(norm);
        }
    }
    return SIDR_OK;
}

/* Every id names exactly one token: no two vocab entries share an id, an
 * added token reuses a vocab id only for the same token, and the ids run
 * from 0 without gaps. */
static sidr_status check_ids(sidr_tokenizer *t, const char *name, int max_id)
{
    size_t n = (size_t)max_id + 1;
    const char **owner = xcalloc(n ? n : 1, sizeof *owner);
    sidr_status st = SIDR_OK;
    for (size_t i = 0; i < t->vocab.cap && !st; i++) {
        const sidr_strmap_slot *sl = &t->vocab.slots[i];
        if (!sl->key) continue;
        const char *other = owner[sl->value];
        if (other) {
            /* name the pair in a stable order */
            const char *a = strcmp(other, sl->key) < 0 ? other : sl->key, *b = a == other ? sl->key : other;
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: field 'model.vocab': \"%.64s\" and \"%.64s\" share id %d (each id "
                           "must name one token)", name, a, b, sl->value);
        }
        owner[sl->value] = sl->key;
    }
    for (int i = 0; i < t->n_added && !st; i++) {
        const added_token *a = &t->added[i];
        const char *v = owner[a->id];
        if (!v) continue;
        size_t vl = strlen(v);
        char *bytes = xmalloc(vl + 1);
        size_t bl = unmap_bytes(t, v, vl, bytes);
        int same = !strcmp(v, a->content) || (bl == a->len && !memcmp(bytes, a->content, bl));
        free(bytes);
        if (!same)
            st = sidr_fail(SIDR_ERR_FORMAT, "%s: field 'added_tokens': \"%.64s\" has id %d, which model.vocab gives to "
                           "\"%.64s\" (an added token may reuse a vocab id only for the same token)", name,
                           a->content, a->id, v);
    }
    for (int i = 0; i < t->n_added; i++) owner[t->added[i].id] = t->added[i].content;
    for (size_t i = 0; i < n && !st; i++)
        if (!owner[i]) {
            size_t j = i;
            while (j + 1 < n && !owner[j + 1]) j++;
            if (j > i)
                st = sidr_fail(SIDR_ERR_FORMAT, "%s: ids %zu to %zu are in neither model.vocab nor added_tokens (the "
                               "ids must run from 0 to %d without gaps)", name, i, j, max_id);
            else
                st = sidr_fail(SIDR_ERR_FORMAT, "%s: id %zu is in neither model.vocab nor added_tokens (the ids must "
                               "run from 0 to %d without gaps)", name, i, max_id);
        }
    free(owner);
    return st;
}

/* Lays out the bytes of every id and the per-id flags. */
static void build_id_tables(sidr_tokenizer *t)
{
    size_t n = (size_t)t->n_vocab, total = 0;
    free(t->tok_data);
    free(t->tok_off);
    free(t->tok_len);
    free(t->id_flags);
    t->tok_off = xcalloc(n, sizeof *t->tok_off);
    t->tok_len = xmalloc(n * sizeof *t->tok_len);
    t->id_flags = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++) t->tok_len[i] = -1;
    for (size_t i = 0; i < t->vocab.cap; i++)
        if (t->vocab.slots[i].key) total += t->vocab.slots[i].len;
    for (int i = 0; i < t->n_added; i++) total += t->added[i].len;
    t->tok_data = xmalloc(total + 1);
    size_t o = 0;
    for (size_t i = 0; i < t->vocab.cap; i++) {
        const sidr_strmap_slot *s = &t->vocab.slots[i];
        if (!s->key) continue;
        size_t l = unmap_bytes(t, s->key, s->len, t->tok_data + o);
        t->tok_off[s->value] = (uint32_t)o;
        t->tok_len[s->value] = (int32_t)l;
        o += l;
    }
    /* An added token decodes to its content.  (The Rust ByteLevel decoder
     * would push an added token's Latin-1-range characters through the byte
     * map; for the ASCII special and SID tokens both agree, and keeping the
     * content makes decode(encode(s)) == s hold for any added token.) */
    for (int i = 0; i < t->n_added; i++) {
        const added_token *a = &t->added[i];
        memcpy(t->tok_data + o, a->content, a->len);
        t->tok_off[a->id] = (uint32_t)o;
        t->tok_len[a->id] = (int32_t)a->len;
        t->id_flags[a->id] = ID_ADDED | (a->special ? ID_SPECIAL : 0);
        o += a->len;
    }
}

static sidr_status parse_decoder(const cJSON *d, const char *name)
{
    if (!d || cJSON_IsNull(d)) return SIDR_OK;
    const char *type = json_str(d, "type");
    if (type && !strcmp(type, "ByteLevel")) return SIDR_OK;
    if (type && !strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(d, "decoders"), *item;
        cJSON_ArrayForEach(item, list) {
            sidr_status st = parse_decoder(item, name);
            if (st) return st;
        }
        return SIDR_OK;
    }
    return sidr_fail(SIDR_ERR_UNSUPPORTED, "%s: field 'decoder.type': decoder \"%s\" is not supported (expected ByteLevel)",
                     name, type ? type : "(none)");
}

sidr_status sidr_tokenizer_load_json(sidr_tokenizer **out, const char *json, size_t len, const char *name)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t off = end ? (size_t)(end - json) : 0, line = 1;
        for (size_t i = 0; i < off && i < len; i++) line += json[i] == '\n';
        return sidr_fail(SIDR_ERR_FORMAT, "%s: not valid JSON (error near byte %zu, line %zu)", name, off, line);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: expected a JSON object at the top level", name);
    }
    sidr_tokenizer *t = xcalloc(1, sizeof *t);
    build_byte_map(t);
    int max_id = -1, byte_level = 0;
    sidr_status st = parse_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), name, "normalizer");
    if (!st) st = parse_pretok(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), name, "pre_tokenizer",
                               &byte_level);
    if (!st && !byte_level)
        st = sidr_fail(SIDR_ERR_UNSUPPORTED,
                       "%s: field 'pre_tokenizer': expected a ByteLevel pre-tokenizer (sidr reads byte-level BPE only)",
                       name);
    if (!st) st = parse_decoder(cJSON_GetObjectItemCaseSensitive(root, "decoder"), name);
    if (!st) st = parse_model(t, cJSON_GetObjectItemCaseSensitive(root, "model"), name, &max_id);
    if (!st) st = parse_added(t, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), name, &max_id);
    cJSON_Delete(root);
    if (!st) st = index_added(t, name);
    if (!st) st = check_ids(t, name, max_id);
    if (st) {
        sidr_tokenizer_free(t);
        return st;
    }
    t->n_vocab = max_id + 1;
    build_id_tables(t);
    *out = t;
    return SIDR_OK;
}

sidr_status sidr_tokenizer_load(sidr_tokenizer **out, const char *path)
{
    char *buf;
    size_t len;
    *out = NULL;
    sidr_status st = read_file(path, &buf, &len);
    if (st) return st;
    st = sidr_tokenizer_load_json(out, buf, len, path);
    free(buf);
    if (st) return st;
    /* tokenizer_config.json beside it holds the chat template. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    st = sidr_tokenizer_config_check(dir[0] ? dir : "/");
    free(dir);
    if (st) {
        sidr_tokenizer_free(*out);
        *out = NULL;
    }
    return st;
}

sidr_status sidr_tokenizer_check_model(const sidr_tokenizer *t, const char *tok_name, int model_vocab,
                                       const char *model_dir)
{
    if (t->n_vocab <= model_vocab) return SIDR_OK;
    int over = 0;
    for (int i = 0; i < t->n_added; i++) over += t->added[i].id >= model_vocab;
    int top = t->n_vocab - 1;
    const char *what = t->n_added && t->added[t->n_added - 1].id == top ? t->added[t->n_added - 1].content : NULL;
    if (what)
        return sidr_fail(SIDR_ERR_RANGE, "%s: added token \"%.64s\" has id %d, outside the model's vocabulary of %d "
                         "(vocab_size in %s/config.json); %d added token%s lie%s beyond it", tok_name, what, top,
                         model_vocab, model_dir, over, over == 1 ? "" : "s", over == 1 ? "s" : "");
    return sidr_fail(SIDR_ERR_RANGE, "%s: the tokenizer's ids run to %d, outside the model's vocabulary of %d "
                     "(vocab_size in %s/config.json)", tok_name, top, model_vocab, model_dir);
}

void sidr_tokenizer_free(sidr_tokenizer *t)
{
    if (!t) return;
    if (t->vocab.slots) sidr_strmap_free(&t->vocab);
    if (t->added_by_content.slots) sidr_strmap_free(&t->added_by_content);
    set_free(&t->raw_set);
    set_free(&t->norm_set);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    for (int i = 0; i < t->n_steps; i++) pcre2_code_free(t->steps[i].re);
    free(t->merges);
    free(t->tok_data);
    free(t->tok_off);
    free(t->tok_len);
    free(t->id_flags);
    free(t);
}

sidr_status sidr_tokenizer_add_tokens(sidr_tokenizer *t, const char *const *tokens, int n, int *n_new)
{
    int added = 0;
    if (n_new) *n_new = 0;
    for (int i = 0; i < n; i++)
        if (!tokens[i] || check_utf8(tokens[i], strlen(tokens[i])))
            return sidr_fail(SIDR_ERR_ARG, "add_tokens: token %d is not a valid UTF-8 string", i);
    for (int i = 0; i < n; i++) {
        if (!*tokens[i] || sidr_tokenizer_find(t, tokens[i]) >= 0) continue;
        t->added = xrealloc(t->added, (size_t)(t->n_added + 1) * sizeof *t->added);
        added_token *a = &t->added[t->n_added++];
        memset(a, 0, sizeof *a);
        a->content = xstrdup(tokens[i]);
        a->len = strlen(a->content);
        a->id = t->n_vocab++;
        a->normalized = 1;
        /* Index now so a repeated token in the same call is skipped. */
        sidr_strmap_put(&t->added_by_content, a->content, a->len, t->n_added - 1);
        added++;
    }
    if (!added) return SIDR_OK;
    sidr_status st = index_added(t, "add_tokens");
    if (st) return st;
    build_id_tables(t);
    if (n_new) *n_new = added;
    return SIDR_OK;
}

/* ---- encoding ----------------------------------------------------------------- */

typedef struct {
    size_t a, b;
    int m; /* a regex match (after invert) */
} span;

typedef struct {
    int rank, pos, new_id;
} bpe_merge;

typedef struct {
    const sidr_tokenizer *t;
    int *ids;
    size_t n, cap;
    pcre2_match_data *md;
    span *spans[MAX_STEPS];
    size_t span_cap[MAX_STEPS];
    int *sym, *prv, *nxt;
    bpe_merge *heap;
    size_t bpe_cap;
    sidr_piece_fn on_piece;     /* pre-tokenize only: hand each piece here instead of BPE */
    void *piece_user;
} enc_ctx;

static void emit(enc_ctx *c, int id)
{
    if (c->n == c->cap) c->ids = xrealloc(c->ids, (c->cap = c->cap ? c->cap * 2 : 64) * sizeof *c->ids);
    c->ids[c->n++] = id;
}

static int merge_before(const bpe_merge *x, const bpe_merge *y)
{
    return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos;
}

static void heap_push(bpe_merge *h, size_t *n, bpe_merge m)
{
    size_t i = (*n)++;
    while (i > 0 && merge_before(&m, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = m;
}

static bpe_merge heap_pop(bpe_merge *h, size_t *n)
{
    bpe_merge top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const bpe_merge *best = &last;
        if (l < *n && merge_before(&h[l], best)) m = l, best = &h[l];
        if (r < *n && merge_before(&h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = last;
    return top;
}

static void push_pair(const sidr_tokenizer *t, enc_ctx *c, size_t *hn, int pos)
{
    int nx = c->nxt[pos];
    if (nx < 0) return;
    const merge_slot *s = merge_find(t, merge_key(c->sym[pos], c->sym[nx]));
    if (s->key) heap_push(c->heap, hn, (bpe_merge){s->rank, pos, s->new_id});
}

/* BPE on one pre-token, as the Rust Word::merge_all does it: repeatedly
 * apply the lowest-rank merge, leftmost first, with a heap of candidate
 * pairs so long words stay O(n log n). */
static void bpe(enc_ctx *c, const char *s, size_t n)
{
    const sidr_tokenizer *t = c->t;
    if (n == 0) return;
    if (t->ignore_merges) {
        char *mapped = xmalloc(2 * n);
        size_t o = 0;
        int id;
        for (size_t i = 0; i < n; i++) {
            memcpy(mapped + o, t->byte_utf8[(unsigned char)s[i]], t->byte_utf8_len[(unsigned char)s[i]]);
            o += t->byte_utf8_len[(unsigned char)s[i]];
        }
        int found = sidr_strmap_get(&t->vocab, mapped, o, &id);
        free(mapped);
        if (found) {
            emit(c, id);
            return;
        }
    }
    if (n > c->bpe_cap) {
        c->bpe_cap = n * 2;
        c->sym = xrealloc(c->sym, c->bpe_cap * sizeof *c->sym);
        c->prv = xrealloc(c->prv, c->bpe_cap * sizeof *c->prv);
        c->nxt = xrealloc(c->nxt, c->bpe_cap * sizeof *c->nxt);
        /* each merge pushes at most two pairs on top of the initial n-1 */
        c->heap = xrealloc(c->heap, 3 * c->bpe_cap * sizeof *c->heap);
    }
    int m = 0, last_unk = 0;
    for (size_t i = 0; i < n; i++) {
        int id = t->byte_id[(unsigned char)s[i]];
        if (id < 0) { /* a vocabulary without this byte: unk, or dropped like HF */
            if (t->unk_id < 0 || (t->fuse_unk && last_unk)) continue;
            id = t->unk_id;
            last_unk = 1;
        } else
            last_unk = 0;
        c->sym[m] = id;
        c->prv[m] = m - 1;
        c->nxt[m] = m + 1;
        m++;
    }
    if (m == 0) return;
    c->nxt[m - 1] = -1;
    size_t hn = 0;
    for (int i = 0; i + 1 < m; i++) push_pair(t, c, &hn, i);
    while (hn) {
        bpe_merge top = heap_pop(c->heap, &hn);
        int pos = top.pos, nx = c->nxt[pos];
        if (c->sym[pos] < 0 || nx < 0) continue;
        const merge_slot *ms = merge_find(t, merge_key(c->sym[pos], c->sym[nx]));
        if (!ms->key || ms->new_id != top.new_id) continue; /* stale entry */
        c->sym[pos] = top.new_id;
        c->sym[nx] = -1;
        c->nxt[pos] = c->nxt[nx];
        if (c->nxt[nx] >= 0) c->prv[c->nxt[nx]] = pos;
        if (c->prv[pos] >= 0) push_pair(t, c, &hn, c->prv[pos]);
        push_pair(t, c, &hn, pos);
    }
    for (int i = 0; i >= 0; i = c->nxt[i]) emit(c, c->sym[i]);
}

/* Cuts s[0..n) at the matches of re into spans tagged match / gap. */
static sidr_status regex_spans(enc_ctx *c, const pcre2_code *re, const char *s, size_t n, int depth, size_t *count)
{
    size_t k = 0, prev = 0, off = 0;
#define PUSH(A, B, M) do { \
        if (k == c->span_cap[depth]) \
            c->spans[depth] = xrealloc(c->spans[depth], (c->span_cap[depth] = c->span_cap[depth] * 2 + 16) * sizeof(span)); \
        c->spans[depth][k++] = (span){(A), (B), (M)}; } while (0)
    while (off < n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, off, PCRE2_NO_UTF_CHECK, c->md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its backtracking on the heap */
            rc = pcre2_match(re, (PCRE2_SPTR)s, n, off, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, c->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return sidr_fail(SIDR_ERR_FORMAT, "pre-tokenizer regex failed at byte %zu: %s", off, (const char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t ms = ov[0], me = ov[1];
        if (ms > prev) PUSH(prev, ms, 0);
        if (me > ms) PUSH(ms, me, 1);
        prev = me;
        if (me == ms) { /* an empty match cuts here; step over one character */
            size_t i = ms;
            if (i >= n) break;
            next_cp(s, n, &i);
            off = i;
        } else
            off = me;
    }
    if (prev < n) PUSH(prev, n, 0);
#undef PUSH
    *count = k;
    return SIDR_OK;
}

static sidr_status pretok(enc_ctx *c, int depth, const char *s, size_t n);

static sidr_status pretok_step_run(enc_ctx *c, int depth, const char *s, size_t n)
{
    const pretok_step *st = &c->t->steps[depth];
    size_t k;
    sidr_status r = regex_spans(c, st->re, s, n, depth, &k);
    if (r) return r;
    span *sp = c->spans[depth];
    size_t out = 0;
    for (size_t i = 0; i < k; i++) {
        span cur = sp[i];
        if (st->invert) cur.m = !cur.m;
        int prev_m = out > 0 ? sp[out - 1].m : 0; /* tag of the last span kept */
        switch (st->behavior) {
        case SPLIT_REMOVED:
            if (cur.m) continue;
            break;
        case SPLIT_MERGED_PREV: /* a match joins the piece before it */
            if (cur.m && out > 0 && !prev_m) {
                sp[out - 1].b = cur.b;
                sp[out - 1].m = 1;
                continue;
            }
            break;
        case SPLIT_CONTIGUOUS: /* runs of matches become one piece */
            if (cur.m && out > 0 && prev_m) {
                sp[out - 1].b = cur.b;
                continue;
            }
            break;
        default:
            break;
        }
        sp[out++] = cur;
    }
    if (st->behavior == SPLIT_MERGED_NEXT) { /* a match joins the piece after it */
        size_t w = 0;
        for (size_t i = 0; i < out; i++) {
            if (sp[i].m && i + 1 < out && !sp[i + 1].m) {
                sp[i + 1].a = sp[i].a;
                continue;
            }
            sp[w++] = sp[i];
        }
        out = w;
    }
    /* The span array of this depth is reused by recursion into deeper steps
     * only, so it stays valid while we walk it. */
    for (size_t i = 0; i < out; i++) {
        span p = c->spans[depth][i];
        r = pretok(c, depth + 1, s + p.a, p.b - p.a);
        if (r) return r;
    }
    return SIDR_OK;
}

static sidr_status pretok(enc_ctx *c, int depth, const char *s, size_t n)
{
    if (n == 0) return SIDR_OK; /* empty pieces are dropped, as in HF */
    if (depth == c->t->n_steps) {
        if (c->on_piece) c->on_piece(c->piece_user, s, n);
        else bpe(c, s, n);
        return SIDR_OK;
    }
    const pretok_step *st = &c->t->steps[depth];
    if (st->prefix_space && s[0] != ' ') {
        char *buf = xmalloc(n + 1);
        buf[0] = ' ';
        memcpy(buf + 1, s, n);
        sidr_status r = st->re ? pretok_step_run(c, depth, buf, n + 1) : pretok(c, depth + 1, buf, n + 1);
        free(buf);
        return r;
    }
    return st->re ? pretok_step_run(c, depth, s, n) : pretok(c, depth + 1, s, n);
}

/* Splits s at the tokens of one match set, the way the Rust AddedVocabulary
 * find_matches does; stage 1 hands each gap on to normalisation, stage 2 to
 * the pre-tokenizer. */
static sidr_status split_added(enc_ctx *c, int stage, const char *s, size_t n);

static sidr_status handle_gap(enc_ctx *c, int stage, const char *s, size_t n)
{
    if (n == 0) return SIDR_OK;
    if (stage == 2) return pretok(c, 0, s, n);
    size_t nl;
    char *norm = normalize(c->t, s, n, &nl);
    sidr_status r = split_added(c, 2, norm, nl);
    if (norm != s) free(norm);
    return r;
}

static sidr_status split_added(enc_ctx *c, int stage, const char *s, size_t n)
{
    const sidr_tokenizer *t = c->t;
    const match_set *set = stage == 1 ? &t->raw_set : &t->norm_set;
    size_t done = 0, from = 0, start, mlen;
    int idx;
    while ((idx = set_find(set, s, n, from, &start, &mlen)) >= 0) {
        const added_token *a = &t->added[idx];
        size_t stop = start + mlen;
        from = stop;
        if (a->single_word) {
            int left_ok = start == 0 || !is_word_char(last_cp(s, start));
            size_t i = stop;
            int right_ok = stop == n || !is_word_char(next_cp(s, n, &i));
            if (!left_ok || !right_ok) continue; /* stays part of the text around it */
        }
        if (a->lstrip) {
            size_t ns = start;
            while (ns > done) {
                size_t i = ns;
                while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
                i--;
                size_t j = i;
                if (!is_white_space(next_cp(s, n, &j))) break;
                ns = i;
            }
            start = ns;
        }
        if (a->rstrip) {
            while (stop < n) {
                size_t j = stop;
                if (!is_white_space(next_cp(s, n, &j))) break;
                stop = j;
            }
            from = stop;
        }
        sidr_status r = handle_gap(c, stage, s + done, start - done);
        if (r) return r;
        emit(c, a->id);
        done = stop;
    }
    return handle_gap(c, stage, s + done, n - done);
}

sidr_status sidr_tokenizer_encode(const sidr_tokenizer *t, const char *text, size_t len, int **ids, int *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    if (!t || (!text && len)) return sidr_fail(SIDR_ERR_ARG, "tokenizer_encode: NULL argument");
    sidr_status st = check_utf8(text, len);
    if (st) return st;
    if (len > INT_MAX / 2) return sidr_fail(SIDR_ERR_RANGE, "text of %zu bytes is too long to tokenize (at most %d bytes)", len, INT_MAX / 2);
    enc_ctx c = {.t = t};
    c.md = pcre2_match_data_create(1, NULL);
    st = split_added(&c, 1, text ? text : "", len);
    pcre2_match_data_free(c.md);
    for (int i = 0; i < MAX_STEPS; i++) free(c.spans[i]);
    free(c.sym);
    free(c.prv);
    free(c.nxt);
    free(c.heap);
    if (st) {
        free(c.ids);
        return st;
    }
    *ids = c.ids ? c.ids : xmalloc(sizeof(int));
    *n_ids = (int)c.n;
    return SIDR_OK;
}

sidr_status sidr_tokenizer_pretokenize(const sidr_tokenizer *t, const char *text, size_t len, sidr_piece_fn fn,
                                       void *user)
{
    if (!t || !fn || (!text && len)) return sidr_fail(SIDR_ERR_ARG, "tokenizer_pretokenize: NULL argument");
    sidr_status st = check_utf8(text, len);
    if (st) return st;
    enc_ctx c = {.t = t, .on_piece = fn, .piece_user = user};
    c.md = pcre2_match_data_create(1, NULL);
    st = split_added(&c, 1, text ? text : "", len);
    pcre2_match_data_free(c.md);
    for (int i = 0; i < MAX_STEPS; i++) free(c.spans[i]);
    free(c.ids); /* added tokens found in the text are not pieces */
    return st;
}

/* ---- decoding and queries ------------------------------------------------- */

sidr_status sidr_tokenizer_decode(const sidr_tokenizer *t, const int *ids, int n_ids, int skip_special, char **text,
                                  size_t *len)
{
    size_t total = 0;
    *text = NULL;
    if (len) *len = 0;
    for (int i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab || t->tok_len[ids[i]] < 0)
            return sidr_fail(SIDR_ERR_RANGE, "token id %d (id %d of %d given) is not in the vocabulary: expected an id "
                             "in 0..%d%s", ids[i], i + 1, n_ids, t->n_vocab - 1,
                             ids[i] >= 0 && ids[i] < t->n_vocab ? " that names a token" : "");
        total += (size_t)t->tok_len[ids[i]];
    }
    char *out = xmalloc(total + 1);
    size_t o = 0;
    for (int i = 0; i < n_ids; i++) {
        int id = ids[i];
        if (skip_special && (t->id_flags[id] & ID_SPECIAL)) continue;
        memcpy(out + o, t->tok_data + t->tok_off[id], (size_t)t->tok_len[id]);
        o += (size_t)t->tok_len[id];
    }
    out[o] = 0;
    *text = out;
    if (len) *len = o;
    return SIDR_OK;
}

int sidr_tokenizer_n_vocab(const sidr_tokenizer *t)
{
    return t->n_vocab;
}

const char *sidr_tokenizer_token_bytes(const sidr_tokenizer *t, int id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab || t->tok_len[id] < 0) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = (size_t)t->tok_len[id];
    return t->tok_data + t->tok_off[id];
}

int sidr_tokenizer_find(const sidr_tokenizer *t, const char *text)
{
    size_t n = strlen(text);
    int v;
    if (sidr_strmap_get(&t->added_by_content, text, n, &v)) return t->added[v].id;
    if (n == 0) return -1;
    char small[256], *mapped = 2 * n <= sizeof small ? small : xmalloc(2 * n);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)text[i];
        memcpy(mapped + o, t->byte_utf8[b], t->byte_utf8_len[b]);
        o += t->byte_utf8_len[b];
    }
    int found = sidr_strmap_get(&t->vocab, mapped, o, &v);
    if (mapped != small) free(mapped);
    return found ? v : -1;
}

int sidr_tokenizer_is_special(const sidr_tokenizer *t, int id)
{
    return id >= 0 && id < t->n_vocab && (t->id_flags[id] & ID_SPECIAL) != 0;
}

int sidr_tokenizer_n_added(const sidr_tokenizer *t)
{
    return t->n_added;
}

const char *sidr_tokenizer_added(const sidr_tokenizer *t, int i, int *id, int *special)
{
    if (i < 0 || i >= t->n_added) return NULL;
    if (id) *id = t->added[i].id;
    if (special) *special = t->added[i].special;
    return t->added[i].content;
}

/* Tokenizer tests.
 *  - a tiny self-made byte-level BPE (tests/fixtures/tokenizer/, made by
 *    tests/ref/tiny_bpe.py) against ids from transformers.js: runs anywhere;
 *  - added-token rules (leftmost-longest, single_word, lstrip, rstrip,
 *    normalized or not) on hand-built tokenizers, expectations taken from the
 *    Rust tokenizers' own unit tests;
 *  - malformed tokenizer.json files and bad text: clear errors;
 *  - the real Qwen3 tokenizer from ../shared plus the Industrial SID tokens:
 *    byte-exact ids for every string in qwen3_cases.json (transformers.js),
 *    decode round trips, special ids from SPEC 1.9, speed. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tokenizer.h"
#include "util.h"

static char tmpdir[] = "/tmp/sidr_tok_XXXXXX";

/* ---- helpers ----------------------------------------------------------------- */

static cJSON *load_json_file(const char *path)
{
    char *buf;
    size_t len;
    if (read_file(path, &buf, &len)) return NULL;
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    return j;
}

static int ids_equal(const int *a, int na, const cJSON *b)
{
    if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != na) return 0;
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, b) if (a[i++] != x->valueint) return 0;
    return 1;
}

static void diag_ids(const char *what, const int *ids, int n)
{
    char line[2048];
    size_t o = 0;
    for (int i = 0; i < n && o < sizeof line - 16; i++) o += (size_t)snprintf(line + o, sizeof line - o, "%d ", ids[i]);
    line[o] = 0;
    tap_diag("%s: %s", what, line);
}

static void diag_json_ids(const char *what, const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr), *ids = xmalloc(sizeof(int) * (size_t)(n + 1)), i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) ids[i++] = x->valueint;
    diag_ids(what, ids, n);
    free(ids);
}

/* Encodes and checks the ids, decode(ids) == want_decoded and the
 * skip_special decode; one TAP line. */
static void check_case(const sidr_tokenizer *t, const char *name, const char *text, const cJSON *want_ids,
                       const char *want_decoded, const char *want_skip)
{
    int *ids = NULL, n = 0;
    sidr_status st = sidr_tokenizer_encode(t, text, strlen(text), &ids, &n);
    if (st) {
        tap_ok(0, "%s: encode failed: %s", name, sidr_last_error());
        return;
    }
    int ok_ids = ids_equal(ids, n, want_ids);
    char *dec = NULL, *skip = NULL;
    size_t dl = 0, sl = 0;
    int ok_dec = sidr_tokenizer_decode(t, ids, n, 0, &dec, &dl) == SIDR_OK && dl == strlen(want_decoded) &&
                 !memcmp(dec, want_decoded, dl);
    int ok_skip = !want_skip || (sidr_tokenizer_decode(t, ids, n, 1, &skip, &sl) == SIDR_OK &&
                                 sl == strlen(want_skip) && !memcmp(skip, want_skip, sl));
    if (!tap_ok(ok_ids && ok_dec && ok_skip, "%s", name)) {
        if (!ok_ids) {
            diag_ids("got ", ids, n);
            diag_json_ids("want", want_ids);
        }
        if (!ok_dec) tap_diag("decode gave \"%s\", want \"%s\"", dec ? dec : "(error)", want_decoded);
        if (!ok_skip) tap_diag("skip_special decode gave \"%s\", want \"%s\"", skip ? skip : "(error)", want_skip);
    }
    free(ids);
    free(dec);
    free(skip);
}

static char *write_tmp(const char *name, const char *text)
{
    char *path = path_join(tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* The GPT-2 byte -> character map, as UTF-8 (for hand-built vocabularies). */
static void byte_char(int b, char out[3])
{
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    int cp = b;
    if (!printable) {
        int n = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)) n++;
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

/* ---- the tiny tokenizer (no ../shared needed) ----------------------------------- */

static void test_tiny(void)
{
    char *path = path_join(tap_testdir(), "fixtures/tokenizer/tiny_bytelevel.json");
    char *cases_path = path_join(tap_testdir(), "fixtures/tokenizer/tiny_cases.json");
    sidr_tokenizer *t = NULL;
    sidr_status st = sidr_tokenizer_load(&t, path);
    tap_ok(st == SIDR_OK, "tiny tokenizer loads (%s)", st ? sidr_last_error() : "ok");
    cJSON *cases = load_json_file(cases_path);
    tap_ok(cases != NULL, "tiny_cases.json parses");
    if (!t || !cases) goto out;

    tap_ok(sidr_tokenizer_n_vocab(t) == 563 && sidr_tokenizer_n_added(t) == 7, "tiny: 556 BPE + 7 added tokens");
    int eot = sidr_tokenizer_find(t, "<|endoftext|>"), think = sidr_tokenizer_find(t, "<think>");
    tap_ok(eot == 556 && sidr_tokenizer_is_special(t, eot) && think == 557 && !sidr_tokenizer_is_special(t, think),
           "tiny: <|endoftext|> special, <think> not");

    /* The same file with ByteLevel add_prefix_space true, built in memory. */
    cJSON *j = load_json_file(path);
    cJSON *pre = cJSON_GetObjectItem(j, "pre_tokenizer");
    cJSON_ReplaceItemInObject(pre, "add_prefix_space", cJSON_CreateTrue());
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    sidr_tokenizer *tp = NULL;
    st = sidr_tokenizer_load_json(&tp, text, strlen(text), "tiny(prefix_space)");
    free(text);
    tap_ok(st == SIDR_OK, "tiny with add_prefix_space loads");

    const char *variants[] = {"plain", "prefix_space"};
    for (int v = 0; v < 2; v++) {
        const sidr_tokenizer *tk = v ? tp : t;
        if (!tk) continue;
        const cJSON *c;
        int i = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(cases, variants[v])) {
            char name[96];
            const char *s = cJSON_GetObjectItem(c, "text")->valuestring;
            snprintf(name, sizeof name, "tiny %s #%d", variants[v], i++);
            /* decode gives the NFC form of the text; skip_special drops <|endoftext|> */
            const cJSON *ids = cJSON_GetObjectItem(c, "ids");
            int *got = NULL, n = 0;
            char *dec = NULL;
            size_t dl;
            if (sidr_tokenizer_encode(tk, s, strlen(s), &got, &n) == SIDR_OK &&
                sidr_tokenizer_decode(tk, got, n, 0, &dec, &dl) == SIDR_OK) {
                /* with add_prefix_space the decoded text gains leading spaces; check ids only */
                check_case(tk, name, s, ids, dec, cJSON_GetObjectItem(c, "decoded_skip")->valuestring);
            } else
                tap_ok(0, "%s: %s", name, sidr_last_error());
            free(got);
            free(dec);
        }
    }
    /* Round trip on the plain variant: decode(encode(s)) is s for NFC text. */
    const char *rt[] = {"Hello world", "It's 2024!", "a  b\n\n\tc", "你好, <a_1><b_2> <think>x</think>", "😀 é"};
    int all = 1;
    for (size_t k = 0; k < sizeof rt / sizeof *rt; k++) {
        int *ids, n;
        char *d;
        size_t dl;
        if (sidr_tokenizer_encode(t, rt[k], strlen(rt[k]), &ids, &n)) {
            all = 0;
            continue;
        }
        if (sidr_tokenizer_decode(t, ids, n, 0, &d, &dl) || dl != strlen(rt[k]) || memcmp(d, rt[k], dl)) all = 0;
        free(ids);
        free(d);
    }
    tap_ok(all, "tiny: decode(encode(s)) == s");
    sidr_tokenizer_free(tp);
out:
    cJSON_Delete(cases);
    sidr_tokenizer_free(t);
    free(path);
    free(cases_path);
}

/* ---- added-token rules ------------------------------------------------------------ */

/* A tokenizer of the 256 byte tokens (id = byte value) plus extra vocabulary
 * words, no merges, so text outside added tokens and extra words encodes to
 * its bytes; added tokens follow. */
static sidr_tokenizer *make_tokenizer(const char *normalizer, const char *pre_tokenizer, const char *extra_vocab,
                                      int ignore_merges, const char *added_json)
{
    char *json = xmalloc(16384 + strlen(added_json) + strlen(extra_vocab) + strlen(pre_tokenizer)), ch[3];
    size_t o = 0;
    o += (size_t)sprintf(json + o,
                         "{\"normalizer\": %s, \"pre_tokenizer\": %s, \"decoder\": {\"type\": \"ByteLevel\"},"
                         " \"added_tokens\": %s, \"model\": {\"type\": \"BPE\", \"ignore_merges\": %s,"
                         " \"merges\": [], \"vocab\": {%s",
                         normalizer, pre_tokenizer, added_json, ignore_merges ? "true" : "false", extra_vocab);
    for (int b = 0; b < 256; b++) {
        byte_char(b, ch);
        o += (size_t)sprintf(json + o, "%s\"%s%s\": %d", b || *extra_vocab ? ", " : "",
                             ch[0] == '"' || ch[0] == '\\' ? "\\" : "", ch, b);
    }
    strcpy(json + o, "}}}");
    sidr_tokenizer *t = NULL;
    if (sidr_tokenizer_load_json(&t, json, strlen(json), "test tokenizer")) tap_diag("%s", sidr_last_error());
    free(json);
    return t;
}

static sidr_tokenizer *bytes_tokenizer(const char *normalizer, const char *added_json)
{
    return make_tokenizer(normalizer, "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}",
                          "", 0, added_json);
}

/* Expected ids from a pattern: "|" separates pieces, "#N" is added id N,
 * anything else is text whose bytes are its ids. */
static int expect_ids(const char *const *pieces, int n, int *out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (pieces[i][0] == '#' && pieces[i][1]) out[k++] = atoi(pieces[i] + 1);
        else
            for (const unsigned char *p = (const unsigned char *)pieces[i]; *p; p++) out[k++] = *p;
    }
    return k;
}

static void check_pieces(const sidr_tokenizer *t, const char *name, const char *text, const char *const *pieces,
                         int n_pieces)
{
    int want[512], nw = expect_ids(pieces, n_pieces, want), *ids = NULL, n = 0;
    int ok = t && sidr_tokenizer_encode(t, text, strlen(text), &ids, &n) == SIDR_OK && n == nw &&
             !memcmp(ids, want, sizeof(int) * (size_t)n);
    if (!tap_ok(ok, "%s", name)) {
        diag_ids("got ", ids, n);
        diag_ids("want", want, nw);
    }
    free(ids);
}

#define PIECES(...) (const char *const[]){__VA_ARGS__}, (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void test_added_rules(void)
{
    /* single_word: the Rust tests' "<mask> My name <mask> A<mask> <mask>ony <mask>" */
    sidr_tokenizer *t = bytes_tokenizer(
        "null", "[{\"id\": 256, \"content\": \"<mask>\", \"single_word\": true, \"normalized\": false}]");
    check_pieces(t, "single_word keeps whole-word matches only", "<mask> My name <mask> A<mask> <mask>ony <mask>",
                 PIECES("#256", " My name ", "#256", " A<mask> <mask>ony ", "#256"));
    check_pieces(t, "single_word: punctuation is not a word, a combining mark is",
                 "<mask>, <mask>- \xe2\x97\x8c\xcc\xb0<mask>",
                 PIECES("#256", ", ", "#256", "- \xe2\x97\x8c\xcc\xb0<mask>"));
    sidr_tokenizer_free(t);

    /* lstrip + rstrip + single_word: "Hi <mask> there\t<mask>\t<mask>\u2000" */
    t = bytes_tokenizer("null", "[{\"id\": 256, \"content\": \"<mask>\", \"single_word\": true, \"lstrip\": true,"
                                " \"rstrip\": true, \"normalized\": false}]");
    check_pieces(t, "lstrip/rstrip swallow Unicode white space, never twice", "Hi <mask> there\t<mask>\t<mask>\xe2\x80\x80",
                 PIECES("Hi", "#256", "there", "#256", "#256"));
    sidr_tokenizer_free(t);

    /* leftmost-longest, normalized and raw matching, per-piece NFC */
    t = bytes_tokenizer("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}]}",
                        "[{\"id\": 256, \"content\": \"<|end|>\", \"special\": true, \"normalized\": false},"
                        " {\"id\": 257, \"content\": \"abc\", \"normalized\": true},"
                        " {\"id\": 258, \"content\": \"bcdef\", \"normalized\": true},"
                        " {\"id\": 259, \"content\": \"<a_1>\", \"normalized\": true},"
                        " {\"id\": 260, \"content\": \"<a_10>\", \"normalized\": true},"
                        " {\"id\": 261, \"content\": \"\xc3\xa9\", \"normalized\": true},"
                        " {\"id\": 262, \"content\": \"\xc3\xb6\", \"normalized\": false}]");
    check_pieces(t, "leftmost match wins over a longer one further right", "xabcdef", PIECES("x", "#257", "def"));
    check_pieces(t, "longest match at a position wins", "<a_10><a_1>0>", PIECES("#260", "#259", "0>"));
    check_pieces(t, "a normalized added token matches NFD input after NFC", "cafe\xcc\x81", PIECES("caf", "#261"));
    check_pieces(t, "a raw added token does not match NFD input", "o\xcc\x88", PIECES("\xc3\xb6"));
    check_pieces(t, "a raw added token matches NFC input", "\xc3\xb6!", PIECES("#262", "!"));
    check_pieces(t, "each piece between special tokens is normalised on its own", "e<|end|>\xcc\x81",
                 PIECES("e", "#256", "\xcc\x81"));
    check_pieces(t, "Ohm sign normalises to Omega", "\xe2\x84\xa6", PIECES("\xce\xa9"));
    check_pieces(t, "empty text gives no ids", "", PIECES(""));
    check_pieces(t, "NUL bytes are text", "a\0b", PIECES("a")); /* strlen stops at NUL: "a" */
    {
        int *ids, n;
        sidr_status st = sidr_tokenizer_encode(t, "a\0b", 3, &ids, &n);
        tap_ok(st == SIDR_OK && n == 3 && ids[0] == 'a' && ids[1] == 0 && ids[2] == 'b', "an embedded NUL encodes");
        if (!st) free(ids);
    }

    /* skip_special drops special added tokens only */
    int ids[] = {'a', 256, 259, 'b'};
    char *d = NULL;
    size_t dl;
    sidr_tokenizer_decode(t, ids, 4, 1, &d, &dl);
    tap_ok(d && !strcmp(d, "a<a_1>b"), "decode skip_special drops <|end|>, keeps <a_1> (\"%s\")", d ? d : "");
    free(d);
    sidr_tokenizer_decode(t, ids, 4, 0, &d, &dl);
    tap_ok(d && !strcmp(d, "a<|end|><a_1>b"), "decode keeps special tokens by default");
    free(d);
    int bad[] = {'a', 263};
    tap_ok(sidr_tokenizer_decode(t, bad, 2, 0, &d, &dl) == SIDR_ERR_RANGE && strstr(sidr_last_error(), "263"),
           "decode of an unknown id is a range error (%s)", sidr_last_error());

    /* token bytes for streaming: a byte token can be half a character */
    size_t l;
    const char *b = sidr_tokenizer_token_bytes(t, 0xC3, &l);
    tap_ok(b && l == 1 && (unsigned char)b[0] == 0xC3, "token_bytes gives raw bytes");
    b = sidr_tokenizer_token_bytes(t, 260, &l);
    tap_ok(b && l == 6 && !memcmp(b, "<a_10>", 6), "token_bytes of an added token is its content");
    tap_ok(sidr_tokenizer_token_bytes(t, 999, &l) == NULL && sidr_tokenizer_token_bytes(t, -1, &l) == NULL,
           "token_bytes of an unknown id is NULL");
    tap_ok(sidr_tokenizer_find(t, " ") == ' ' && sidr_tokenizer_find(t, "<a_1>") == 259 &&
               sidr_tokenizer_find(t, "zz") == -1 && sidr_tokenizer_find(t, "") == -1,
           "find: byte tokens by their bytes, added tokens by content");
    int id, special;
    const char *c = sidr_tokenizer_added(t, 0, &id, &special);
    tap_ok(c && !strcmp(c, "<|end|>") && id == 256 && special && sidr_tokenizer_added(t, 7, &id, &special) == NULL,
           "added(): id order, content, special flag");

    /* invalid UTF-8 is refused and the offset named */
    struct { const char *s; size_t len, off; } badtext[] = {
        {"ok \xff", 4, 3}, {"ab\xc3", 3, 2}, {"\xc0\xaf", 2, 0}, {"x\xed\xa0\x80", 4, 1},
        {"xy\xf4\x90\x80\x80", 6, 2}, {"\xe2\x82", 2, 0}, {"abc\x80", 4, 3}};
    for (size_t k = 0; k < sizeof badtext / sizeof *badtext; k++) {
        int *ids2 = NULL, n2 = 0;
        char want[64];
        snprintf(want, sizeof want, "offset %zu", badtext[k].off);
        sidr_status st = sidr_tokenizer_encode(t, badtext[k].s, badtext[k].len, &ids2, &n2);
        tap_ok(st == SIDR_ERR_FORMAT && strstr(sidr_last_error(), want) && !ids2,
               "invalid UTF-8 #%zu refused: %s", k, sidr_last_error());
    }

    /* add_tokens: ids from n_vocab upward, known tokens skipped */
    const char *more[] = {"<b_1>", "<a_1>", "<b_1>", "<b_10>"};
    int n_new = -1;
    tap_ok(sidr_tokenizer_add_tokens(t, more, 4, &n_new) == SIDR_OK && n_new == 2 &&
               sidr_tokenizer_find(t, "<b_1>") == 263 && sidr_tokenizer_find(t, "<b_10>") == 264 &&
               sidr_tokenizer_n_vocab(t) == 265 && !sidr_tokenizer_is_special(t, 263),
           "add_tokens appends new tokens from n_vocab upward");
    check_pieces(t, "added tokens match after add_tokens", "x<b_10><b_1>", PIECES("x", "#264", "#263"));
    sidr_tokenizer_free(t);
}

/* Split behaviours on the Rust docs' example "the-final--countdown".  With
 * ignore_merges a piece found whole in the vocabulary is one token, so the
 * ids show where the pieces are. */
static void test_split_behaviours(void)
{
    /* ("-" is byte token 45 already: a second vocab entry would leave an id unused) */
    static const char *const words[] = {"the", "final", "countdown", "the-", "final-", "-final", "-countdown", "--"};
    char vocab[512];
    size_t o = 0;
    for (int i = 0; i < 8; i++) o += (size_t)sprintf(vocab + o, "%s\"%s\": %d", i ? ", " : "", words[i], 256 + i);
    struct { const char *behavior; int invert; const char *pieces[7]; } cases[] = {
        {"Isolated", 0, {"the", "-", "final", "-", "-", "countdown"}},
        {"Removed", 0, {"the", "final", "countdown"}},
        {"MergedWithPrevious", 0, {"the-", "final-", "-", "countdown"}},
        {"MergedWithNext", 0, {"the", "-final", "-", "-countdown"}},
        {"Contiguous", 0, {"the", "-", "final", "--", "countdown"}},
        {"Removed", 1, {"-", "-", "-"}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char pre[512];
        snprintf(pre, sizeof pre,
                 "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"},"
                 " \"behavior\": \"%s\", \"invert\": %s}, {\"type\": \"ByteLevel\", \"use_regex\": false,"
                 " \"add_prefix_space\": false}]}",
                 cases[k].behavior, cases[k].invert ? "true" : "false");
        sidr_tokenizer *t = make_tokenizer("null", pre, vocab, 1, "[]");
        int want[8], nw = 0;
        for (int i = 0; i < 7 && cases[k].pieces[i]; i++) want[nw++] = t ? sidr_tokenizer_find(t, cases[k].pieces[i]) : -1;
        int *ids = NULL, n = 0;
        int ok = t && sidr_tokenizer_encode(t, "the-final--countdown", 20, &ids, &n) == SIDR_OK && n == nw &&
                 !memcmp(ids, want, sizeof(int) * (size_t)n);
        if (!tap_ok(ok, "Split %s%s pieces", cases[k].behavior, cases[k].invert ? " (inverted)" : "")) {
            diag_ids("got ", ids, n);
            diag_ids("want", want, nw);
        }
        free(ids);
        sidr_tokenizer_free(t);
    }
    /* A regex Split with Removed: words only. */
    sidr_tokenizer *t = make_tokenizer(
        "null",
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"},"
        " \"behavior\": \"Removed\", \"invert\": false}, {\"type\": \"ByteLevel\", \"use_regex\": false}]}",
        "\"final\": 256, \"countdown\": 257", 1, "[]");
    /* ByteLevel add_prefix_space defaults to true: each piece gets " " first */
    int *ids = NULL, n = 0;
    int ok = t && sidr_tokenizer_encode(t, "final \t\u3000countdown", 19, &ids, &n) == SIDR_OK && n == 16 &&
             ids[0] == ' ' && ids[1] == 'f' && ids[6] == ' ' && ids[7] == 'c';
    sidr_tokenizer_free(t);
    free(ids);
    t = make_tokenizer("null",
                       "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\":"
                       " \"\\\\s+\"}, \"behavior\": \"Removed\", \"invert\": false}, {\"type\": \"ByteLevel\","
                       " \"use_regex\": false, \"add_prefix_space\": false}]}",
                       "\"final\": 256, \"countdown\": 257", 1, "[]");
    ids = NULL;
    int ok2 = t && sidr_tokenizer_encode(t, "final \t\u3000countdown", 19, &ids, &n) == SIDR_OK && n == 2 &&
              ids[0] == 256 && ids[1] == 257;
    tap_ok(ok && ok2, "regex Split with Removed drops Unicode white space; add_prefix_space adds one per piece");
    free(ids);
    sidr_tokenizer_free(t);
}

/* ---- malformed files ------------------------------------------------------------- */

#define PRE "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"use_regex\": true}"

static void expect_load_error(const char *file, const char *json, sidr_status want, const char *field)
{
    char *path = write_tmp(file, json);
    sidr_tokenizer *t = (sidr_tokenizer *)1;
    sidr_status st = sidr_tokenizer_load(&t, path);
    const char *msg = sidr_last_error();
    tap_ok(st == want && t == NULL && strstr(msg, path) && (!field || strstr(msg, field)), "%s: %s", file, msg);
    if (st == SIDR_OK) sidr_tokenizer_free(t);
    unlink(path);
    free(path);
}

static void test_bad_files(void)
{
    expect_load_error("truncated.json", "{\"model\": {\"vocab\": {\"a\": 0", SIDR_ERR_FORMAT, "not valid JSON");
    expect_load_error("array.json", "[1, 2]", SIDR_ERR_FORMAT, "object");
    expect_load_error("no_vocab.json", "{" PRE ", \"model\": {\"type\": \"BPE\", \"merges\": []}}", SIDR_ERR_MISSING,
                      "model.vocab");
    expect_load_error("no_model.json", "{" PRE "}", SIDR_ERR_MISSING, "'model'");
    expect_load_error("vocab_list.json", "{" PRE ", \"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}",
                      SIDR_ERR_FORMAT, "model.vocab");
    expect_load_error("vocab_id.json", "{" PRE ", \"model\": {\"vocab\": {\"a\": -3}, \"merges\": []}}", SIDR_ERR_FORMAT,
                      "model.vocab[\"a\"]");
    expect_load_error("no_merges.json", "{" PRE ", \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}",
                      SIDR_ERR_MISSING, "model.merges");
    expect_load_error("unknown_merge.json",
                      "{" PRE ", \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2},"
                      " \"merges\": [[\"a\", \"b\"], [\"a\", \"c\"]]}}",
                      SIDR_ERR_FORMAT, "model.merges[1]': token \"c\" is not in model.vocab");
    expect_load_error("unknown_merge_str.json",
                      "{" PRE ", \"model\": {\"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}", SIDR_ERR_FORMAT,
                      "merged token \"ab\"");
    expect_load_error("bad_merge.json", "{" PRE ", \"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}",
                      SIDR_ERR_FORMAT, "model.merges[0]");
    expect_load_error("wordpiece.json",
                      "{" PRE ", \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0}}}",
                      SIDR_ERR_UNSUPPORTED, "'model.type': model \"WordPiece\"");
    expect_load_error("lowercase.json",
                      "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": "
                      "\"Lowercase\"}]}, " PRE ", \"model\": {\"vocab\": {}, \"merges\": []}}",
                      SIDR_ERR_UNSUPPORTED, "normalizer.normalizers[1].type");
    expect_load_error("bad_regex.json",
                      "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                      "{\"Regex\": \"(\\\\p{L}\"}, \"behavior\": \"Isolated\"}, {\"type\": \"ByteLevel\"}]}, \"model\": "
                      "{\"vocab\": {}, \"merges\": []}}",
                      SIDR_ERR_FORMAT, "pre_tokenizer.pretokenizers[0].pattern.Regex");
    expect_load_error("bad_behavior.json",
                      "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": "
                      "\"Sideways\"}, \"model\": {\"vocab\": {}, \"merges\": []}}",
                      SIDR_ERR_FORMAT, "pre_tokenizer.behavior");
    expect_load_error("whitespace.json", "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"vocab\": {}}}",
                      SIDR_ERR_UNSUPPORTED, "pre_tokenizer.type");
    expect_load_error("no_bytelevel.json", "{\"model\": {\"vocab\": {}, \"merges\": []}}", SIDR_ERR_UNSUPPORTED,
                      "ByteLevel");
    expect_load_error("decoder.json",
                      "{" PRE ", \"decoder\": {\"type\": \"WordPiece\"}, \"model\": {\"vocab\": {}, \"merges\": []}}",
                      SIDR_ERR_UNSUPPORTED, "decoder.type");
    expect_load_error("added_no_id.json",
                      "{" PRE ", \"added_tokens\": [{\"content\": \"<x>\"}], \"model\": {\"vocab\": {}, \"merges\": []}}",
                      SIDR_ERR_FORMAT, "added_tokens[0].id");
    expect_load_error("added_dup_id.json",
                      "{" PRE ", \"added_tokens\": [{\"id\": 5, \"content\": \"<x>\"}, {\"id\": 5, \"content\": \"<y>\"}],"
                      " \"model\": {\"vocab\": {}, \"merges\": []}}",
                      SIDR_ERR_FORMAT, "id 5");
    expect_load_error("byte_fallback.json",
                      "{" PRE ", \"model\": {\"vocab\": {}, \"merges\": [], \"byte_fallback\": true}}",
                      SIDR_ERR_UNSUPPORTED, "model.byte_fallback");
    char *missing = path_join(tmpdir, "does_not_exist.json");
    sidr_tokenizer *t = NULL;
    tap_ok(sidr_tokenizer_load(&t, missing) == SIDR_ERR_IO && strstr(sidr_last_error(), missing),
           "a missing file is an I/O error naming it");
    free(missing);
    /* the smallest valid file loads: no tokens at all, and encodes nothing */
    const char *min = "{" PRE ", \"model\": {\"vocab\": {}, \"merges\": []}}";
    int *ids = NULL, n = -1;
    tap_ok(sidr_tokenizer_load_json(&t, min, strlen(min), "min") == SIDR_OK && sidr_tokenizer_n_vocab(t) == 0 &&
               sidr_tokenizer_encode(t, "abc", 3, &ids, &n) == SIDR_OK && n == 0,
           "an empty vocabulary loads and encodes to nothing");
    free(ids);
    sidr_tokenizer_free(t);
}

/* ---- the real Qwen3 tokenizer ---------------------------------------------------- */

/* Encoding from several threads at once must give the fixture's ids. */
typedef struct {
    const sidr_tokenizer *t;
    const cJSON *cases;
    int mismatches;
} thread_job;

static void *encode_all(void *arg)
{
    thread_job *j = arg;
    for (int rep = 0; rep < 3; rep++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, j->cases) {
            const char *s = cJSON_GetObjectItem(c, "text")->valuestring;
            int *ids = NULL, n = 0;
            if (sidr_tokenizer_encode(j->t, s, strlen(s), &ids, &n) || !ids_equal(ids, n, cJSON_GetObjectItem(c, "ids")))
                j->mismatches++;
            free(ids);
        }
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct SID tokens of an index.json, sorted as Python's sorted() does. */
static char **sid_tokens(const char *index_path, int *n)
{
    cJSON *idx = load_json_file(index_path);
    *n = 0;
    if (!idx) return NULL;
    int cap = 1024;
    char **out = xmalloc(sizeof(char *) * (size_t)cap);
    const cJSON *item, *tok;
    cJSON_ArrayForEach(item, idx) cJSON_ArrayForEach(tok, item) {
        if (*n == cap) out = xrealloc(out, sizeof(char *) * (size_t)(cap *= 2));
        out[(*n)++] = xstrdup(tok->valuestring);
    }
    cJSON_Delete(idx);
    qsort(out, (size_t)*n, sizeof *out, cmp_str);
    int w = 0;
    for (int i = 0; i < *n; i++) {
        if (w > 0 && !strcmp(out[w - 1], out[i])) {
            free(out[i]);
            continue;
        }
        out[w++] = out[i];
    }
    *n = w;
    return out;
}

static void test_qwen(const char *shared)
{
    char *tok_path = path_join(shared, "tokenizers/qwen3/tokenizer.json");
    char *cases_path = path_join(tap_testdir(), "fixtures/tokenizer/qwen3_cases.json");
    sidr_tokenizer *base = NULL;
    double t0 = now_seconds();
    sidr_status st = sidr_tokenizer_load(&base, tok_path);
    double load_s = now_seconds() - t0;
    if (!tap_ok(st == SIDR_OK, "Qwen3 tokenizer.json loads (%.2f s)%s%s", load_s, st ? ": " : "",
                st ? sidr_last_error() : "")) {
        free(tok_path);
        free(cases_path);
        return;
    }
    tap_ok(sidr_tokenizer_n_vocab(base) == 151669 && sidr_tokenizer_n_added(base) == 26,
           "151,643 BPE tokens + 26 added tokens (n_vocab %d)", sidr_tokenizer_n_vocab(base));
    struct { const char *s; int id, special; } ids[] = {
        {"<|endoftext|>", 151643, 1}, {"<|im_start|>", 151644, 1}, {"<|im_end|>", 151645, 1},
        {"<think>", 151667, 0}, {"</think>", 151668, 0}, {"<tool_call>", 151657, 0}, {"\n", 198, 0}, {"\n\n", 271, 0}};
    for (size_t k = 0; k < sizeof ids / sizeof *ids; k++)
        tap_ok(sidr_tokenizer_find(base, ids[k].s) == ids[k].id &&
                   sidr_tokenizer_is_special(base, ids[k].id) == ids[k].special,
               "id of %s is %d (%s)", ids[k].id >= 151643 ? ids[k].s : ids[k].id == 198 ? "\\n" : "\\n\\n", ids[k].id,
               ids[k].special ? "special" : "not special");

    cJSON *cases = load_json_file(cases_path);
    if (!tap_ok(cases != NULL, "qwen3_cases.json parses")) goto out;

    /* The fixture's tokenizer: tokenizer.json + SID tokens as add_tokens() stores them. */
    char *index_path = path_join(shared, cJSON_GetObjectItem(cases, "sid_source")->valuestring);
    int n_sid = 0;
    char **sids = sid_tokens(index_path, &n_sid);
    const cJSON *want_sids = cJSON_GetObjectItem(cases, "sid_tokens");
    int same = sids && n_sid == cJSON_GetArraySize(want_sids);
    for (int i = 0; same && i < n_sid; i++) same = !strcmp(sids[i], cJSON_GetArrayItem(want_sids, i)->valuestring);
    tap_ok(same && n_sid == 560, "the index gives the fixture's %d SID tokens in sorted() order", n_sid);

    cJSON *j = load_json_file(tok_path);
    cJSON *added = cJSON_GetObjectItem(j, "added_tokens");
    int next = cJSON_GetObjectItem(cases, "sid_first_id")->valueint;
    for (int i = 0; i < n_sid; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", next + i);
        cJSON_AddStringToObject(a, "content", sids[i]);
        cJSON_AddFalseToObject(a, "single_word");
        cJSON_AddFalseToObject(a, "lstrip");
        cJSON_AddFalseToObject(a, "rstrip");
        cJSON_AddTrueToObject(a, "normalized");
        cJSON_AddFalseToObject(a, "special");
        cJSON_AddItemToArray(added, a);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    sidr_tokenizer *t = NULL;
    st = sidr_tokenizer_load_json(&t, text, strlen(text), "qwen3+sid tokenizer.json");
    free(text);
    tap_ok(st == SIDR_OK && sidr_tokenizer_n_vocab(t) == 151669 + 560 && sidr_tokenizer_n_added(t) == 26 + 560,
           "Qwen3 + 560 SID tokens: n_vocab %d", t ? sidr_tokenizer_n_vocab(t) : 0);
    /* The same through add_tokens on the base tokenizer. */
    int n_new = 0;
    st = sidr_tokenizer_add_tokens(base, (const char *const *)sids, n_sid, &n_new);
    tap_ok(st == SIDR_OK && n_new == 560 && sidr_tokenizer_find(base, sids[0]) == 151669 &&
               sidr_tokenizer_find(base, sids[559]) == 151669 + 559,
           "add_tokens gives the SIDs ids 151669..152228 (%s = 151669)", sids ? sids[0] : "?");

    if (t) {
        const cJSON *c;
        int n_cases = 0, same_add = 1;
        size_t bytes = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(cases, "cases")) {
            const char *s = cJSON_GetObjectItem(c, "text")->valuestring;
            char name[160];
            snprintf(name, sizeof name, "qwen3 %s", cJSON_GetObjectItem(c, "name")->valuestring);
            check_case(t, name, s, cJSON_GetObjectItem(c, "ids"), cJSON_GetObjectItem(c, "decoded")->valuestring,
                       cJSON_GetObjectItem(c, "decoded_skip")->valuestring);
            /* NFC-stable text must come back byte for byte */
            if (cJSON_IsTrue(cJSON_GetObjectItem(c, "nfc_stable")) &&
                strcmp(s, cJSON_GetObjectItem(c, "decoded")->valuestring))
                tap_ok(0, "%s: reference decode differs from an NFC-stable text", name);
            int *a = NULL, *b = NULL, na = 0, nb = 0;
            sidr_tokenizer_encode(t, s, strlen(s), &a, &na);
            sidr_tokenizer_encode(base, s, strlen(s), &b, &nb);
            if (na != nb || memcmp(a, b, sizeof(int) * (size_t)na)) same_add = 0;
            free(a);
            free(b);
            bytes += strlen(s);
            n_cases++;
        }
        tap_ok(n_cases >= 250, "%d conformance strings (%zu bytes)", n_cases, bytes);
        tap_ok(same_add, "tokenizer.json with SID entries and add_tokens() encode identically");

        thread_job jobs[4];
        pthread_t th[4];
        int started = 0, bad = 0;
        for (int k = 0; k < 4; k++) {
            jobs[k] = (thread_job){t, cJSON_GetObjectItem(cases, "cases"), 0};
            if (pthread_create(&th[k], NULL, encode_all, &jobs[k]) == 0) started++;
        }
        for (int k = 0; k < started; k++) {
            pthread_join(th[k], NULL);
            bad += jobs[k].mismatches;
        }
        tap_ok(started == 4 && bad == 0, "4 threads encoding at once agree with the fixture (%d mismatches)", bad);

        /* Speed: all case strings joined, encoded a few times. */
        char *all = xmalloc(bytes + 1);
        size_t o = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(cases, "cases")) {
            const char *s = cJSON_GetObjectItem(c, "text")->valuestring;
            memcpy(all + o, s, strlen(s));
            o += strlen(s);
        }
        all[o] = 0;
        int reps = 5, *ids2 = NULL, n2 = 0;
        t0 = now_seconds();
        for (int r = 0; r < reps; r++) {
            free(ids2);
            sidr_tokenizer_encode(t, all, o, &ids2, &n2);
        }
        double us_per_kb = (now_seconds() - t0) / reps * 1e6 / (o / 1024.0);
        char *d = NULL;
        size_t dl = 0;
        sidr_tokenizer_decode(t, ids2, n2, 0, &d, &dl);
        tap_diag("encode speed: %.0f us per KB (%zu bytes -> %d tokens)", us_per_kb, o, n2);
        /* generous: a slow CI machine or valgrind must still pass */
        tap_ok(us_per_kb < 20000, "encoding takes %.0f us per KB", us_per_kb);
        free(ids2);
        free(d);
        free(all);
    }
    sidr_tokenizer_free(t);
    for (int i = 0; i < n_sid; i++) free(sids[i]);
    free(sids);
    free(index_path);
out:
    cJSON_Delete(cases);
    sidr_tokenizer_free(base);
    free(tok_path);
    free(cases_path);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    test_tiny();
    test_added_rules();
    test_split_behaviours();
    test_bad_files();

    const char *shared = tap_shared();
    char *probe = path_join(shared, "tokenizers/qwen3/tokenizer.json");
    if (file_exists(probe)) test_qwen(shared);
    else
        tap_skip("Qwen3 conformance: %s not found (../shared is absent)", probe);
    free(probe);
    rmdir(tmpdir);
    return tap_done();
}

/* Encoding arbitrary bytes with a byte-level BPE: never a fault, and
 * decode(encode(x)) == x for every input the normaliser leaves as it is
 * (byte-level BPE is lossless).  Input that NFC changes (a decomposed
 * accent) comes back normalised, so there the property is that the round
 * trip is stable: a second encode and decode returns the first's text. */
#include <utf8proc.h>

#include "fuzz_util.h"
#include "tokenizer.h"
#include "util.h"

static sidr_tokenizer *tok, *tok_for_round_trip;

/* decode(encode(x)) into *out, or 0 when the tokenizer refused x. */
static int round_trip(const char *x, size_t n, char **out, size_t *len)
{
    int *ids = NULL, k = 0, ok = 0;
    if (sidr_tokenizer_encode(tok_for_round_trip, x, n, &ids, &k) == SIDR_OK)
        ok = sidr_tokenizer_decode(tok_for_round_trip, ids, k, 0, out, len) == SIDR_OK;
    free(ids);
    return ok;
}

/* 1 when x is valid UTF-8 that NFC changes. */
static int nfc_changes(const uint8_t *x, size_t n)
{
    utf8proc_uint8_t *nf = NULL;
    utf8proc_ssize_t r = utf8proc_map(x, (utf8proc_ssize_t)n, &nf, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    int changed = r >= 0 && ((size_t)r != n || memcmp(nf, x, n));
    free(nf);
    return changed;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (!tok) {
        const char *dir = getenv("SIDR_FUZZ_TOKENIZER");
        char path[1024];
        snprintf(path, sizeof path, "%s", dir ? dir : "tests/fixtures/tokenizer/tiny_bytelevel.json");
        if (sidr_tokenizer_load(&tok, path) != SIDR_OK) {
            fprintf(stderr, "fuzz_tokenizer_encode: %s\n", sidr_last_error());
            abort();
        }
    }
    tok_for_round_trip = tok;
    char *out = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    if (!round_trip((const char *)data, n, &out, &len)) return 0;
    if (!nfc_changes(data, n)) {
        /* added tokens are matched as text first, so the property is exact */
        if (len != n || memcmp(out, data, n)) abort();
    } else if (round_trip(out, len, &again, &len2)) {
        if (len2 != len || memcmp(again, out, len)) abort();
        free(again);
    }
    free(out);
    return 0;
}

/* Encoding arbitrary bytes with a byte-level BPE: never a fault, and
 * decode(encode(x)) == x for every input (byte-level BPE is lossless). */
#include "fuzz_util.h"
#include "tokenizer.h"
#include "util.h"

static sidr_tokenizer *tok;

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
    int *ids = NULL, k = 0;
    if (sidr_tokenizer_encode(tok, (const char *)data, n, &ids, &k) != SIDR_OK) return 0;
    char *out = NULL;
    size_t len = 0;
    if (sidr_tokenizer_decode(tok, ids, k, 0, &out, &len) == SIDR_OK) {
        /* added tokens are matched as text first, so the property is exact */
        if (len != n || memcmp(out, data, n)) abort();
        free(out);
    }
    free(ids);
    return 0;
}

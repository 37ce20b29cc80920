/* tokenizer.json: model, vocabulary, merges, added tokens, pre-tokenizer;
 * a tokenizer that loads must encode and decode text without fault. */
#include "fuzz_util.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    sidr_tokenizer *t = NULL;
    if (sidr_tokenizer_load_json(&t, (const char *)data, n, "tokenizer.json") == SIDR_OK) {
        static const char text[] = "Hello <a_1><b_2> wörld 123\n\t!";
        int *ids = NULL, k = 0;
        if (sidr_tokenizer_encode(t, text, sizeof text - 1, &ids, &k) == SIDR_OK) {
            char *out = NULL;
            size_t len = 0;
            if (sidr_tokenizer_decode(t, ids, k, 0, &out, &len) == SIDR_OK) free(out);
            free(ids);
        }
        sidr_tokenizer_free(t);
    }
    return 0;
}

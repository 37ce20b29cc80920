/* BPE training: exact vocabulary size, lossless round trips, determinism,
 * SID tokens kept out, and a trained tokenizer that an independent
 * implementation (transformers.js) encodes identically. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpe_train.h"
#include "tap.h"
#include "tokenizer.h"
#include "util.h"

static const char *const corpus[] = {
    "low lower lowest lowly", "the lowest price of the lower shelf", "new newer newest news",
    "wide wider widest", "Filament for the 3D printer <a_1><b_2>", "Café crème 東京 🎉",
    "low low low low low low low low", "newest newest newest", "the the the the",
};
#define N_CORPUS (int)(sizeof corpus / sizeof *corpus)

static int roundtrip(const sidr_tokenizer *t, const char *s)
{
    int *ids, n;
    char *back;
    size_t len;
    if (sidr_tokenizer_encode(t, s, strlen(s), &ids, &n)) return 0;
    int ok = !sidr_tokenizer_decode(t, ids, n, 0, &back, &len) && len == strlen(s) && !memcmp(back, s, len);
    free(ids);
    if (ok) free(back);
    return ok;
}

int main(void)
{
    const char *skip[] = { "<a_1>", "<b_2>" };
    sidr_bpe_opts o = { 300, 2, skip, 2, NULL, NULL };
    char *json = NULL, *json2 = NULL;
    tap_ok(sidr_bpe_train(corpus, N_CORPUS, &o, &json) == SIDR_OK, "trains on a small corpus");
    sidr_tokenizer *t = NULL;
    tap_ok(json && sidr_tokenizer_load_json(&t, json, strlen(json), "trained") == SIDR_OK, "the result loads as tokenizer.json");
    if (!t) return tap_done();
    cJSON *root = cJSON_Parse(json);
    int n_vocab = cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "vocab"));
    int n_merges = cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "merges"));
    tap_diag("vocab %d, merges %d, total %d", n_vocab, n_merges, sidr_tokenizer_n_vocab(t));
    tap_ok(n_vocab == 256 + n_merges && sidr_tokenizer_n_vocab(t) <= 300, "256 bytes + one token per merge, within the budget");
    tap_ok(sidr_tokenizer_find(t, "<|im_end|>") == n_vocab + 2 && sidr_tokenizer_is_special(t, n_vocab + 2) &&
           sidr_tokenizer_find(t, "<think>") == n_vocab + 3 && !sidr_tokenizer_is_special(t, n_vocab + 3),
           "added tokens follow the vocabulary in Qwen's order; <think> is not special");
    tap_ok(sidr_tokenizer_find(t, "<a_1>") < 0, "skipped SID tokens are not in the vocabulary");
    int has_sid_piece = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "vocab"))
        if (strstr(e->string, "a_1") || strstr(e->string, "b_2")) has_sid_piece = 1;
    tap_ok(!has_sid_piece, "no merge learned from inside a SID token");
    int ids_n, *ids;
    sidr_tokenizer_encode(t, " lowest", 7, &ids, &ids_n);
    tap_ok(ids_n == 1, "a frequent word (' lowest') is one token (%d)", ids_n);
    free(ids);
    const char *probes[] = { "lowest newest", "Café crème 東京 🎉 and 👍🏽", "  spaces\tand\nnewlines\r\n", "",
                             "unseen words zyxw 123456", "<think>\nreasoning\n</think>\n\n" };
    int all = 1;
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) all &= roundtrip(t, probes[i]);
    tap_ok(all, "encode then decode gives every probe back byte for byte");
    tap_ok(sidr_bpe_train(corpus, N_CORPUS, &o, &json2) == SIDR_OK && !strcmp(json, json2), "training is deterministic");
    sidr_bpe_opts small = { 100, 2, NULL, 0, NULL, NULL };
    char *j3 = NULL;
    tap_ok(sidr_bpe_train(corpus, N_CORPUS, &small, &j3) == SIDR_ERR_ARG && strstr(sidr_last_error(), "too small"),
           "a vocabulary below 256 bytes + added tokens is refused");
    sidr_tokenizer_free(t);
    cJSON_Delete(root);
    free(json);
    free(json2);

    /* The command on the fixture dataset, checked against transformers.js. */
    const char *sidr = getenv("SIDR");
    char path[4096], dir[] = "/tmp/sidr-bpe-XXXXXX", cmd[8192];
    snprintf(path, sizeof path, "%s/fixtures/tokenizer/bpe_trained_cases.json", tap_testdir());
    char *text;
    if (!sidr || !mkdtemp(dir) || read_file(path, &text, NULL)) {
        tap_skip("sidr binary or %s unavailable", path);
        return tap_done();
    }
    snprintf(cmd, sizeof cmd, "\"%s\" tokenizer train --data \"%s/fixtures/data/minionerec\" --vocab 400 --out %s 2>/dev/null",
             sidr, tap_testdir(), dir);
    int rc = system(cmd);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    tap_ok(rc == 0 && !sidr_tokenizer_load(&t, path), "sidr tokenizer train on the fixture dataset");
    cJSON *fx = cJSON_Parse(text);
    int same = 1, n_cases = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(fx, "cases")) {
        const char *s = cJSON_GetObjectItem(e, "text")->valuestring;
        cJSON *want = cJSON_GetObjectItem(e, "ids");
        int *got, n;
        n_cases++;
        if (sidr_tokenizer_encode(t, s, strlen(s), &got, &n)) { same = 0; continue; }
        int ok = n == cJSON_GetArraySize(want);
        for (int i = 0; ok && i < n; i++) ok = got[i] == cJSON_GetArrayItem(want, i)->valueint;
        if (!ok) tap_diag("differs on \"%s\"", s);
        same &= ok;
        free(got);
    }
    tap_ok(same && n_cases > 0, "%d strings encode exactly as transformers.js encodes them with the trained tokenizer", n_cases);
    cJSON_Delete(fx);
    free(text);
    sidr_tokenizer_free(t);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) tap_diag("could not remove %s", dir);
    return tap_done();
}

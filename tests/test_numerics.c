/* The exact numerics policy: a position's logits do not depend on the batch
 * it is computed in.
 *
 * For every fixture in tests/fixtures/models (bf16, f16 and f32 weights),
 * under SIDR_NUMERICS_EXACT, the logits of each position of a 40-token
 * sequence are bit-identical (memcmp) whether computed
 *   - in one prefill of all 40 tokens,
 *   - as the last position of a prefill of that prefix alone (lengths 1..40),
 *   - in chunks of 1 (decode steps), 3, 7 and 16 tokens,
 *   - through a state of 5 rows (the forward chunks internally),
 *   - as one of 1, 4 or 10 beams after a shared prefix (two steps);
 * and greedy decoding equals the argmax of a teacher-forced prefill of its
 * own output. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "sampler.h"
#include "transformer.h"

#define N 40

static const char *const FIXTURES[] = { "qwen3-tied-bf16", "qwen3-hd32-f32", "qwen2-bias-f32", "llama-f16",
                                        "qwen3-sharded-f32" };

/* logits [n][V] of tokens fed in chunks of `chunk` through a state of
 * `rows` rows; 0 on success. */
static int run_chunks(sidr_model *m, const int *tok, int n, int chunk, int rows, float *out)
{
    int V = m->cfg.vocab_size;
    sidr_state *s = sidr_state_new(m, rows);
    sidr_kv kv;
    if (sidr_kv_init(&kv, &m->cfg, n + 1)) return -1;
    int rc = 0;
    for (int at = 0; at < n && !rc; at += chunk) {
        int k = n - at < chunk ? n - at : chunk;
        rc = sidr_forward(m, s, &kv, tok + at, k, out + (size_t)at * V, SIDR_LOGITS_ALL) != SIDR_OK;
    }
    sidr_kv_free(&kv);
    sidr_state_free(s);
    return rc;
}

static int rows_equal(const float *a, const float *b, int V, int n)
{
    return memcmp(a, b, (size_t)n * V * sizeof(float)) == 0;
}

static void check_fixture(const char *name, sidr_model *m)
{
    int V = m->cfg.vocab_size;
    int tok[N];
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        tok[i] = (int)((x >> 8) % (unsigned)V);
    }
    float *all = malloc((size_t)N * V * sizeof(float)), *got = malloc((size_t)N * V * sizeof(float));
    if (!tap_ok(run_chunks(m, tok, N, N, N, all) == 0, "%s: a prefill of %d tokens", name, N)) goto out;

    /* every prefix alone */
    int bad_k = 0;
    for (int k = 1; k <= N && !bad_k; k++) {
        sidr_state *s = sidr_state_new(m, k);
        sidr_kv kv;
        sidr_kv_init(&kv, &m->cfg, k);
        if (sidr_forward(m, s, &kv, tok, k, got, SIDR_LOGITS_LAST) || !rows_equal(got, all + (size_t)(k - 1) * V, V, 1))
            bad_k = k;
        sidr_kv_free(&kv);
        sidr_state_free(s);
    }
    tap_ok(!bad_k, "%s: the last logits of each prefix 1..%d alone equal that position's in the whole prefill%s", name,
           N, bad_k ? " (first differing prefix below)" : "");
    if (bad_k) tap_diag("prefix %d differs", bad_k);

    static const int chunks[] = { 1, 3, 7, 16 };
    for (int c = 0; c < 4; c++)
        tap_ok(run_chunks(m, tok, N, chunks[c], chunks[c], got) == 0 && rows_equal(got, all, V, N),
               "%s: fed in chunks of %d, every position's logits are bit-identical", name, chunks[c]);
    tap_ok(run_chunks(m, tok, N, N, 5, got) == 0 && rows_equal(got, all, V, N),
           "%s: through a state of 5 rows, bit-identical", name);

    /* beams after a shared prefix of 20: every beam fed tok[20], then tok[21] */
    static const int widths[] = { 1, 4, 10 };
    for (int w = 0; w < 3; w++) {
        int B = widths[w], P = 20, ok = 1;
        sidr_state *s = sidr_state_new(m, P);
        sidr_kv kv;
        sidr_kv_init(&kv, &m->cfg, P);
        ok &= sidr_forward(m, s, &kv, tok, P, NULL, SIDR_LOGITS_NONE) == SIDR_OK;
        sidr_branches br;
        ok &= sidr_branches_init(&br, &kv, B, 4) == SIDR_OK;
        sidr_state *sb = sidr_state_new(m, B);
        float *bl = malloc((size_t)B * V * sizeof(float));
        int step[10];
        for (int step_i = 0; step_i < 2 && ok; step_i++) {
            for (int b = 0; b < B; b++) step[b] = tok[P + step_i];
            ok &= sidr_forward_branches(m, sb, &br, step, bl) == SIDR_OK;
            for (int b = 0; b < B && ok; b++) ok &= rows_equal(bl + (size_t)b * V, all + (size_t)(P + step_i) * V, V, 1);
        }
        tap_ok(ok, "%s: in a beam of %d, two steps after a shared prefix, every beam's logits equal the prefill's", name,
               B);
        free(bl);
        sidr_state_free(sb);
        sidr_branches_free(&br);
        sidr_kv_free(&kv);
        sidr_state_free(s);
    }

    /* greedy decode of 12 tokens after 8, then the teacher-forced prefill of it all */
    {
        int seq[20], ok = 1;
        memcpy(seq, tok, 8 * sizeof(int));
        sidr_state *s = sidr_state_new(m, 8);
        sidr_kv kv;
        sidr_kv_init(&kv, &m->cfg, 20);
        float *lg = malloc((size_t)V * sizeof(float));
        ok &= sidr_forward(m, s, &kv, seq, 8, lg, SIDR_LOGITS_LAST) == SIDR_OK;
        for (int i = 8; i < 20 && ok; i++) {
            seq[i] = sidr_argmax(lg, V);
            if (i < 19) ok &= sidr_forward(m, s, &kv, seq + i, 1, lg, SIDR_LOGITS_LAST) == SIDR_OK;
        }
        free(lg);
        sidr_kv_free(&kv);
        sidr_state_free(s);
        ok &= run_chunks(m, seq, 20, 20, 20, got) == 0;
        for (int i = 8; i < 20 && ok; i++) ok &= sidr_argmax(got + (size_t)(i - 1) * V, V) == seq[i];
        tap_ok(ok, "%s: greedy decoding equals the argmax of a teacher-forced prefill of its output", name);
    }
out:
    free(all);
    free(got);
}

int main(void)
{
    tap_ok(sidr_numerics_parse("exact") == SIDR_NUMERICS_EXACT && sidr_numerics_parse("fast") == SIDR_NUMERICS_FAST &&
               sidr_numerics_parse("Fast") == -1 && sidr_numerics_parse(NULL) == -1 &&
               !strcmp(sidr_numerics_name(SIDR_NUMERICS_FAST), "fast"),
           "numerics policies by name");
    char dir[4096], mdir[8200];
    snprintf(dir, sizeof dir, "%s/fixtures/models", tap_testdir());
    tap_diag("kernels: %s", sidr_kernels_name());
    for (size_t i = 0; i < sizeof FIXTURES / sizeof *FIXTURES; i++) {
        snprintf(mdir, sizeof mdir, "%s/%s", dir, FIXTURES[i]);
        sidr_model m;
        memset(&m, 0, sizeof m);
        if (!tap_ok(sidr_model_load(&m, mdir) == SIDR_OK, "%s: loads", FIXTURES[i])) {
            tap_diag("%s", sidr_last_error());
            continue;
        }
        if (!tap_ok(m.numerics == SIDR_NUMERICS_EXACT, "%s: exact numerics by default", FIXTURES[i])) continue;
        check_fixture(FIXTURES[i], &m);
        sidr_model_free(&m);
    }
    return tap_done();
}

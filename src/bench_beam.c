/* sidr bench --beam B: the cost of trie-constrained beam search beyond its
 * forward passes.  After one prefilled prompt, times a full beam search (B
 * beams over a synthetic 3-level catalogue of the model's own token ids:
 * 3 SID levels + "\n" + EOS = 5 scored steps, 4 batched forwards) against 5
 * plain batched decode steps of B sequences sharing the same prompt. */
#include <stdio.h>
#include <stdlib.h>

#include "beam.h"
#include "bench_beam.h"
#include "sid_trie.h"
#include "util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int bench_beam(sidr_model *m, int prompt, int beams, int repeats, double *beam_s, double *plain_s)
{
    int V = m->cfg.vocab_size, n_sids = 3000, depth = 3;
    if (V < 1000) return -1;
    /* A catalogue like a real one: 256 codes per level drawn from the vocabulary. */
    int *sids = xmalloc((size_t)n_sids * depth * sizeof(int));
    uint64_t rng = 12345;
    for (int i = 0; i < n_sids * depth; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int level = i % depth, code = (int)((rng >> 33) % 256);
        sids[i] = 100 + level * 256 + code;
    }
    sidr_trie trie;
    if (sidr_trie_build(&trie, sids, NULL, n_sids, depth)) { free(sids); return -1; }
    int *ids = xmalloc((size_t)prompt * sizeof(int));
    for (int i = 0; i < prompt; i++) ids[i] = 1000 + (i * 7919) % (V - 1000);
    float *logits = xmalloc((size_t)V * beams * sizeof(float));
    sidr_state *st = sidr_state_new(m, prompt < 256 ? (prompt > beams ? prompt : beams) : 256);
    sidr_kv kv;
    sidr_kv_init(&kv, &m->cfg, prompt + 8);
    sidr_forward(m, st, &kv, ids, prompt, logits, SIDR_LOGITS_LAST);
    float *prompt_logits = xmalloc((size_t)V * sizeof(float));
    for (int i = 0; i < V; i++) prompt_logits[i] = logits[i];
    sidr_beam_config cfg = { beams, 10, 11 };
    double *tb = xmalloc((size_t)(repeats + 1) * sizeof(double)), *tp = xmalloc((size_t)(repeats + 1) * sizeof(double));
    int *toks = xmalloc((size_t)beams * sizeof(int));
    for (int r = 0; r <= repeats; r++) { /* run 0 warms up */
        sidr_beam_search bs;
        double t0 = now_seconds();
        sidr_beam_begin(&bs, m, st, &kv, prompt_logits, &trie, &cfg);
        sidr_beam_run(&bs);
        tb[r] = now_seconds() - t0;
        sidr_beam_free(&bs);
        sidr_branches br;
        sidr_branches_init(&br, &kv, beams, 8);
        t0 = now_seconds();
        for (int step = 0; step < 5; step++) {
            for (int b = 0; b < beams; b++) toks[b] = 100 + (b * 31 + step) % 700;
            sidr_forward_branches(m, st, &br, toks, logits);
        }
        tp[r] = now_seconds() - t0;
        sidr_branches_free(&br);
    }
    qsort(tb + 1, repeats, sizeof(double), cmp_double);
    qsort(tp + 1, repeats, sizeof(double), cmp_double);
    *beam_s = tb[1 + repeats / 2];
    *plain_s = tp[1 + repeats / 2];
    free(tb); free(tp); free(toks); free(prompt_logits); free(logits); free(ids); free(sids);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    sidr_trie_free(&trie);
    return 0;
}

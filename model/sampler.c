#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

float sidr_rand_f32(uint64_t *state)
{
    /* xorshift64*: fast, seedable, good enough for sampling. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (float)((x * 0x2545F4914F6CDD1DULL) >> 40) / 16777216.0f;
}

int sidr_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void sidr_sampler_init(sidr_sampler *s, const sidr_sampling *cfg, int n_vocab)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    /* A zero state would stay zero forever. */
    s->rng = cfg->seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    if (!s->rng) s->rng = 1;
    s->n_vocab = n_vocab;
    s->cand = xmalloc((size_t)n_vocab * sizeof *s->cand);
}

void sidr_sampler_free(sidr_sampler *s)
{
    free(s->cand);
    s->cand = NULL;
}

static int by_logit_desc(const void *a, const void *b)
{
    const sidr_candidate *x = a, *y = b;
    if (x->logit != y->logit) return x->logit < y->logit ? 1 : -1;
    return x->id - y->id;
}

/* Moves the k largest candidates to the front, sorted (partial selection
 * keeps top-k over a 150k vocabulary cheap). */
static void select_top(sidr_candidate *c, int n, int k)
{
    if (k >= n) { qsort(c, n, sizeof *c, by_logit_desc); return; }
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = c[(lo + hi) / 2].logit;
        int i = lo, j = hi;
        while (i <= j) {
            while (c[i].logit > pivot) i++;
            while (c[j].logit < pivot) j--;
            if (i <= j) { sidr_candidate t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
    qsort(c, k, sizeof *c, by_logit_desc);
}

int sidr_sampler_sample(sidr_sampler *s, const float *logits)
{
    const sidr_sampling *cfg = &s->cfg;
    int n = s->n_vocab;
    if (cfg->temperature <= 0) return sidr_argmax(logits, n);

    sidr_candidate *c = s->cand;
    for (int i = 0; i < n; i++) { c[i].id = i; c[i].logit = logits[i] / cfg->temperature; }
    /* Chain: top-k, then softmax, then top-p, each narrowing the candidates. */
    int k = cfg->top_k > 0 && cfg->top_k < n ? cfg->top_k : n;
    int sorted = cfg->top_k > 0 || cfg->top_p < 1.0f;
    if (sorted) {
        /* top-p alone still needs the order; bound the sort by a generous k. */
        select_top(c, n, k);
        n = k;
    }
    float mx = c[0].logit;
    for (int i = 1; i < n; i++) mx = c[i].logit > mx ? c[i].logit : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (c[i].p = expf(c[i].logit - mx));
    for (int i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
    if (cfg->top_p > 0 && cfg->top_p < 1.0f) {
        double cum = 0;
        int keep = n;
        for (int i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= cfg->top_p) { keep = i + 1; break; }
        }
        n = keep;
        double z = 0;
        for (int i = 0; i < n; i++) z += c[i].p;
        for (int i = 0; i < n; i++) c[i].p = (float)(c[i].p / z);
    }
    float r = sidr_rand_f32(&s->rng);
    double cdf = 0;
    for (int i = 0; i < n; i++) {
        cdf += c[i].p;
        if (r < cdf) return c[i].id;
    }
    return c[n - 1].id;
}

#include "metrics.h"

#include <math.h>
#include <stdlib.h>

#include "util.h"

const int metrics_k[METRICS_N_K] = { 1, 3, 5, 10 };

double metric_hr(int rank, int k)
{
    return rank >= 0 && rank < k ? 1.0 : 0.0;
}

double metric_ndcg(int rank, int k)
{
    return rank >= 0 && rank < k ? 1.0 / log2(rank + 2.0) : 0.0;
}

void metrics_add(metrics *m, int rank, int invalid, int reasoning_tokens, double seconds,
                 const metrics_grounding *g)
{
    m->rows++;
    for (int i = 0; i < METRICS_N_K; i++) {
        m->hr[i] += metric_hr(rank, metrics_k[i]);
        m->ndcg[i] += metric_ndcg(rank, metrics_k[i]);
    }
    m->invalid += invalid != 0;
    m->reasoning_tokens += reasoning_tokens;
    m->seconds += seconds;
    if (g) {
        m->trace_rows++;
        m->mentions += g->mentions;
        m->catalogue += g->catalogue;
        m->history += g->history;
        m->top1 += g->top1 != 0;
        m->forced += g->forced;
    }
}

void metrics_merge(metrics *into, const metrics *from)
{
    into->rows += from->rows;
    for (int i = 0; i < METRICS_N_K; i++) {
        into->hr[i] += from->hr[i];
        into->ndcg[i] += from->ndcg[i];
    }
    into->invalid += from->invalid;
    into->reasoning_tokens += from->reasoning_tokens;
    into->seconds += from->seconds;
    into->trace_rows += from->trace_rows;
    into->mentions += from->mentions;
    into->catalogue += from->catalogue;
    into->history += from->history;
    into->top1 += from->top1;
    into->forced += from->forced;
}

double metrics_catalogue_share(const metrics *m)
{
    return m->mentions ? (double)m->catalogue / (double)m->mentions : -1;
}

double metrics_history_share(const metrics *m)
{
    return m->mentions ? (double)m->history / (double)m->mentions : -1;
}

double metrics_top1_in_trace(const metrics *m)
{
    return m->trace_rows ? (double)m->top1 / (double)m->trace_rows : -1;
}

/* splitmix64: small, fast and the same everywhere */
static uint64_t mix_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

metrics_interval metrics_bootstrap(const double *x, long n, int resamples, uint64_t seed)
{
    metrics_interval iv = { 0, 0, 0 };
    if (n <= 0) return iv;
    double sum = 0;
    for (long i = 0; i < n; i++) sum += x[i];
    iv.mean = iv.lo = iv.hi = sum / (double)n;
    if (resamples < 2) return iv;
    double *means = xmalloc((size_t)resamples * sizeof *means);
    uint64_t s = seed;
    for (int r = 0; r < resamples; r++) {
        double t = 0;
        for (long i = 0; i < n; i++) t += x[mix_next(&s) % (uint64_t)n];
        means[r] = t / (double)n;
    }
    qsort(means, (size_t)resamples, sizeof *means, cmp_double);
    /* the 2.5th and 97.5th percentiles, nearest rank */
    long lo = (long)floor(0.025 * resamples), hi = (long)ceil(0.975 * resamples) - 1;
    if (hi >= resamples) hi = resamples - 1;
    iv.lo = means[lo];
    iv.hi = means[hi];
    free(means);
    return iv;
}

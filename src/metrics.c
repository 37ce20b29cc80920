#include "metrics.h"

#include <math.h>

const int metrics_k[METRICS_N_K] = { 1, 3, 5, 10 };

double metric_hr(int rank, int k)
{
    return rank >= 0 && rank < k ? 1.0 : 0.0;
}

double metric_ndcg(int rank, int k)
{
    return rank >= 0 && rank < k ? 1.0 / log2(rank + 2.0) : 0.0;
}

void metrics_add(metrics *m, int rank, int invalid, int reasoning_tokens, double seconds)
{
    m->rows++;
    for (int i = 0; i < METRICS_N_K; i++) {
        m->hr[i] += metric_hr(rank, metrics_k[i]);
        m->ndcg[i] += metric_ndcg(rank, metrics_k[i]);
    }
    m->invalid += invalid != 0;
    m->reasoning_tokens += reasoning_tokens;
    m->seconds += seconds;
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
}

/* Top-K metrics of SPEC §1.6: the rank of a row is the index of the first
 * beam whose SID equals the target SID (-1 when none does).
 * HR@K = 1[rank < K]; NDCG@K = 1[rank < K] / log2(rank + 2). */
#ifndef SIDR_METRICS_H
#define SIDR_METRICS_H

#define METRICS_N_K 4
extern const int metrics_k[METRICS_N_K]; /* 1, 3, 5, 10 */

typedef struct {
    long rows;
    double hr[METRICS_N_K], ndcg[METRICS_N_K];  /* sums; divide by rows */
    long invalid;                                /* rows whose best beam is not a catalogue SID */
    double reasoning_tokens;                     /* sum */
    double seconds;                              /* sum of per-row wall time */
} metrics;

double metric_hr(int rank, int k);
double metric_ndcg(int rank, int k);
void metrics_add(metrics *m, int rank, int invalid, int reasoning_tokens, double seconds);
/* Sums two accumulations (shards). */
void metrics_merge(metrics *into, const metrics *from);

#endif

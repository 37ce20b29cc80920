/* Top-K metrics of SPEC §1.6: the rank of a row is the index of the first
 * beam whose SID equals the target SID (-1 when none does).
 * HR@K = 1[rank < K]; NDCG@K = 1[rank < K] / log2(rank + 2).
 * Besides the means: how grounded each reasoning trace is, and percentile
 * bootstrap intervals for a mean (one row's value per entry), paired or not. */
#ifndef SIDR_METRICS_H
#define SIDR_METRICS_H

#include <stdint.h>

#define METRICS_N_K 4
extern const int metrics_k[METRICS_N_K]; /* 1, 3, 5, 10 */

/* The SIDs a reasoning trace cites (grounding.h measures them). */
typedef struct {
    int mentions;      /* SID mentions in the trace */
    int catalogue;     /* ... that are a catalogue item's whole SID */
    int history;       /* ... that are the SID of an item of the user's history */
    int top1;          /* 1 when the final top-1 SID is among them */
    int forced;        /* reasoning tokens that grounded decoding changed (eval --grounded) */
} metrics_grounding;

typedef struct {
    long rows;
    double hr[METRICS_N_K], ndcg[METRICS_N_K];  /* sums; divide by rows */
    long invalid;                                /* rows whose best beam is not a catalogue SID */
    double reasoning_tokens;                     /* sum */
    double seconds;                              /* sum of per-row wall time */
    long trace_rows;                             /* rows with a reasoning trace */
    long mentions, catalogue, history, top1;     /* grounding sums over those rows */
    long forced;                                 /* tokens grounded decoding changed, summed */
} metrics;

double metric_hr(int rank, int k);
double metric_ndcg(int rank, int k);
/* g is NULL for a row without reasoning (no-think). */
void metrics_add(metrics *m, int rank, int invalid, int reasoning_tokens, double seconds,
                 const metrics_grounding *g);
/* Sums two accumulations (shards). */
void metrics_merge(metrics *into, const metrics *from);

/* Grounding shares: of all cited SIDs (micro average), and of trace rows
 * for top-1; -1 when there is nothing to divide by. */
double metrics_catalogue_share(const metrics *m);
double metrics_history_share(const metrics *m);
double metrics_top1_in_trace(const metrics *m);

#define METRICS_RESAMPLES 2000
#define METRICS_SEED 20240601u

typedef struct {
    double mean, lo, hi;   /* the sample mean and its 95% percentile-bootstrap interval */
} metrics_interval;

/* Bootstrap of the mean of x[0..n): `resamples` draws of n rows with
 * replacement from a fixed seed, so the same values give the same interval.
 * For a paired difference pass x = b - a row by row. */
metrics_interval metrics_bootstrap(const double *x, long n, int resamples, uint64_t seed);

#endif

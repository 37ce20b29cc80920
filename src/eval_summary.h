/* The summary object of a 'sidr eval --json' file ("metrics"): HR@K and
 * NDCG@K means, the bootstrap intervals of HR@10 and NDCG@10 over the rows,
 * and the grounding of the traces.  sidr eval writes it, and so does demo
 * build --baselines, so both files read the same. */
#ifndef SIDR_EVAL_SUMMARY_H
#define SIDR_EVAL_SUMMARY_H

#include "metrics.h"

struct cJSON;

/* The 95% bootstrap intervals of HR@10 and NDCG@10 over the rows' ranks,
 * taken in row order so that merged shards give the full run's interval. */
typedef struct {
    metrics_interval hr10, ndcg10;
} eval_intervals;

eval_intervals eval_intervals_of(const int *rank, long n);

/* wall: the run's wall-clock seconds. */
struct cJSON *eval_metrics_json(const metrics *m, double wall, const eval_intervals *iv);

#endif

/* Residual k-means quantisation: the Semantic-ID construction of SPEC §1.1.
 *
 * Level l clusters the residual left by levels 0..l-1 with k-means (k-means++
 * seeding, Lloyd iterations with sgemm distances, empty clusters repaired by
 * splitting the largest cluster at its farthest point); each item takes the
 * nearest code and its residual subtracts that centroid.  Collisions (two
 * items, one SID) are reduced on the last level:
 *   1. optionally a balanced assignment: Sinkhorn-Knopp on exp(-D'/eps)
 *      (D' = distances rescaled to [-1, 1], as LETTER / MiniOneRec do) toward
 *      uniform usage of the last-level codes, either over all items or within
 *      each group of items sharing a SID (MiniOneRec's generate_indices);
 *   2. then, within every prefix (all levels but the last), the items that
 *      still share a full SID keep one member (the closest to the code) and
 *      the others move to the nearest last-level code that no item of that
 *      prefix uses (greedy over mover x free-code pairs by distance: a
 *      capacity-1 constrained re-assignment).
 * Step 2 leaves no collision unless a prefix holds more than K items.  The
 * default is step 2 alone: with a fixed k-means codebook, Sinkhorn balancing
 * moves many items to far codes (on Industrial, 3,686 items, 64-dim TF-IDF/SVD
 * embeddings: mean squared residual after the last level 0.131 with step 2
 * alone, 0.217 with global Sinkhorn first, 0.207 with per-group Sinkhorn first,
 * against 0.174 before the last level; all three end with 0 collisions).  An
 * optional extra level numbers the items that still share a SID (0, 1, ...).
 *
 * Pure numerics on plain arrays: no files, no printing.  Deterministic for a
 * seed, whatever the thread count: rows are split over sidr's thread pool
 * (model/threads.h) and every row's result is computed in a fixed order. */
#ifndef SIDR_RQKMEANS_H
#define SIDR_RQKMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Progress: stage name, work done of total.  Return nonzero to cancel (the
 * call then fails with SIDR_ERR_CANCELLED). */
typedef int (*sidr_progress_fn)(void *user, const char *stage, long done, long total);

/* ---- k-means --------------------------------------------------------------- */

typedef struct {
    int iters;            /* Lloyd iterations at most (default 50) */
    uint64_t seed;
    sidr_progress_fn progress;
    void *user;
    const char *stage;    /* stage name passed to progress ("kmeans") */
} sidr_kmeans_opts;

void sidr_kmeans_defaults(sidr_kmeans_opts *o);

/* Clusters the n rows of x (n x d, row-major) into k clusters.  centroids is
 * k x d, assign n; *sse (may be NULL) receives the sum of squared distances
 * of the rows to their centroids.  Fails with SIDR_ERR_ARG on k > n, k < 1,
 * d < 1 or non-finite input. */
sidr_status sidr_kmeans(const float *x, int n, int d, int k, const sidr_kmeans_opts *o,
                        float *centroids, int32_t *assign, double *sse);

/* Squared Euclidean distances of the n rows of x to the k rows of c, into
 * dist (n x k), computed in row blocks with sgemm; clamped at 0. */
void sidr_sq_distances(const float *x, int n, const float *c, int k, int d, float *dist);

/* Nearest row of c (k x d) for each of the n rows of x (first on ties), into
 * assign; returns how many entries of assign changed.  mind (may be NULL)
 * gets the squared distances. */
long sidr_nearest_code(const float *x, int n, int d, const float *c, int k, int32_t *assign, float *mind);

/* ---- balanced assignment ---------------------------------------------------- */

/* Sinkhorn-Knopp in the log domain on exp(-D'/eps), where D' is dist (n x k)
 * rescaled to [-1, 1] as LETTER does, toward row sums 1/n and column sums 1/k;
 * each row then takes its largest transport entry.  iters rounds. */
sidr_status sidr_sinkhorn_assign(const float *dist, int n, int k, float eps, int iters, int32_t *assign);

/* ---- residual quantisation ------------------------------------------------- */

typedef enum {
    SIDR_BALANCE_NONE = 0,     /* plain nearest code on the last level */
    SIDR_BALANCE_SINKHORN = 1, /* Sinkhorn over all items toward uniform last-level usage */
    SIDR_BALANCE_GROUPS = 2    /* Sinkhorn within each group of items sharing a SID, repeated while
                                  collisions remain (at most 20 rounds), as MiniOneRec's
                                  generate_indices does */
} sidr_balance;

typedef struct {
    int levels;           /* L, default 3 (1..8) */
    int codes;            /* K per level, default 256 (2..65536) */
    int iters;            /* Lloyd iterations per level, default 50 */
    uint64_t seed;        /* default 42 */
    sidr_balance balance; /* default SIDR_BALANCE_NONE (re-assignment alone) */
    float sinkhorn_eps;   /* default 0.003 (MiniOneRec's last-level sk_epsilon) */
    int sinkhorn_iters;   /* default 100 */
    int resolve;          /* move colliding items to free last-level codes (default 1) */
    int dedup_level;      /* append a level numbering items that share a SID (default 0) */
    sidr_progress_fn progress;
    void *user;
} sidr_rq_opts;

void sidr_rq_defaults(sidr_rq_opts *o);

typedef struct {
    int n, dim, levels, codes;
    int depth;            /* levels, + 1 with the dedup level */
    int dedup_codes;      /* codes used by the dedup level (max items on one SID) */
    float *codebooks;     /* levels x codes x dim */
    int32_t *code;        /* n x depth */
    double *level_mse;    /* levels + 1: mean squared residual norm before level 0 ... after level L-1 */
    /* collisions (SIDs over the `levels` quantised levels shared by > 1 item) */
    int collisions_plain;     /* with plain nearest assignment on every level */
    int collisions_balanced;  /* after the balanced last level (= plain without balancing) */
    int collisions_final;     /* after re-assignment within prefixes */
    int items_colliding_plain, items_colliding_final;
    int moved;            /* items whose last code the re-assignment changed */
} sidr_rq_result;

/* Allocates r's codebooks (levels x codes x dim), codes (n x depth, depth =
 * levels + 1 with the dedup level) and level_mse, zeroed. */
void sidr_rq_result_alloc(sidr_rq_result *r, int n, int dim, int levels, int codes, int dedup_level);

/* The collision handling shared by every quantiser (residual k-means here,
 * the RQ-VAE in rqvae.h): r holds the codebooks and the plain nearest code
 * of every item on every level, last_res (n x dim) the residual the last
 * level quantised.  Counts collisions, balances and re-assigns the last level
 * as o asks (balance, sinkhorn_*, resolve, progress), sets level_mse[levels]
 * to the residual left by the final codes and fills the dedup level. */
sidr_status sidr_rq_finish(sidr_rq_result *r, const float *last_res, const sidr_rq_opts *o);

/* Mean squared distance of the n x d rows of x to their mean: the error of a
 * reconstruction that ignores the codes. */
double sidr_mean_baseline_mse(const float *x, int n, int d);

/* Quantises the n x d rows of x.  Fails with SIDR_ERR_ARG (message naming the
 * option) on levels < 1, codes < 2, codes > n, d < 1 or non-finite input. */
sidr_status sidr_rq_build(const float *x, int n, int d, const sidr_rq_opts *o, sidr_rq_result *r);
void sidr_rq_free(sidr_rq_result *r);

/* ---- SID statistics -------------------------------------------------------- */

#define SIDR_SID_MAX_LEVELS 8

typedef struct {
    int items, depth;
    int distinct;                           /* distinct full SIDs */
    int codes[SIDR_SID_MAX_LEVELS];         /* K per level (given or inferred) */
    int used[SIDR_SID_MAX_LEVELS];          /* distinct codes used per level */
    double entropy[SIDR_SID_MAX_LEVELS];    /* bits, of the per-level code distribution */
    double entropy_max[SIDR_SID_MAX_LEVELS];/* log2 codes[l] */
    /* items per prefix of length p+1 (p < depth - 1): a, ab, ... */
    int prefixes[SIDR_SID_MAX_LEVELS];      /* distinct prefixes */
    double prefix_mean[SIDR_SID_MAX_LEVELS];
    int prefix_max[SIDR_SID_MAX_LEVELS];
    int collisions;                         /* SIDs shared by > 1 item */
    int items_colliding;                    /* items on such SIDs */
    int max_per_sid;                        /* most items on one SID */
} sidr_sid_stats;

/* Statistics of n SIDs of `depth` codes each (code is n x depth).  codes_per_level
 * may be NULL or hold K per level; entries <= 0 are inferred as the smallest power
 * of two above the largest code used. */
sidr_status sidr_sid_stats_compute(const int32_t *code, int n, int depth, const int *codes_per_level,
                                   sidr_sid_stats *st);

/* Number of SIDs shared by > 1 item and the items involved (either pointer may be NULL). */
int sidr_sid_collisions(const int32_t *code, int n, int depth, int stride, int *items_involved, int *max_group);

#endif

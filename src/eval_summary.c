/* The summary object of a 'sidr eval --json' file (eval_summary.h). */
#include "eval_summary.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

eval_intervals eval_intervals_of(const int *rank, long n)
{
    eval_intervals iv;
    double *x = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    for (long i = 0; i < n; i++) x[i] = metric_hr(rank[i], 10);
    iv.hr10 = metrics_bootstrap(x, n, METRICS_RESAMPLES, METRICS_SEED);
    for (long i = 0; i < n; i++) x[i] = metric_ndcg(rank[i], 10);
    iv.ndcg10 = metrics_bootstrap(x, n, METRICS_RESAMPLES, METRICS_SEED);
    free(x);
    return iv;
}

static void add_share(cJSON *o, const char *key, double v)
{
    if (v < 0) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, v);
}

static cJSON *interval_json(const metrics_interval *v)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(v->lo));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(v->hi));
    return a;
}

/* The summary: means, intervals and grounding. */
cJSON *eval_metrics_json(const metrics *m, double wall, const eval_intervals *iv)
{
    double n = m->rows ? (double)m->rows : 1;
    cJSON *o = cJSON_CreateObject();
    char key[16];
    for (int i = 0; i < METRICS_N_K; i++) {
        snprintf(key, sizeof key, "HR@%d", metrics_k[i]);
        cJSON_AddNumberToObject(o, key, m->hr[i] / n);
    }
    for (int i = 0; i < METRICS_N_K; i++) {
        snprintf(key, sizeof key, "NDCG@%d", metrics_k[i]);
        cJSON_AddNumberToObject(o, key, m->ndcg[i] / n);
    }
    cJSON_AddNumberToObject(o, "rows", (double)m->rows);
    cJSON_AddNumberToObject(o, "invalid_sid_rate", m->invalid / n);
    cJSON_AddNumberToObject(o, "mean_reasoning_tokens", m->reasoning_tokens / n);
    cJSON_AddNumberToObject(o, "wall_seconds", wall);
    cJSON *ci = cJSON_AddObjectToObject(o, "ci95");
    cJSON_AddItemToObject(ci, "HR@10", interval_json(&iv->hr10));
    cJSON_AddItemToObject(ci, "NDCG@10", interval_json(&iv->ndcg10));
    cJSON_AddNumberToObject(ci, "resamples", METRICS_RESAMPLES);
    cJSON_AddNumberToObject(ci, "seed", METRICS_SEED);
    cJSON *g = cJSON_AddObjectToObject(o, "grounding");
    cJSON_AddNumberToObject(g, "trace_rows", (double)m->trace_rows);
    cJSON_AddNumberToObject(g, "sid_mentions", (double)m->mentions);
    add_share(g, "mean_sid_mentions", m->trace_rows ? (double)m->mentions / (double)m->trace_rows : -1);
    add_share(g, "catalogue_share", metrics_catalogue_share(m));
    add_share(g, "history_share", metrics_history_share(m));
    add_share(g, "top1_in_trace", metrics_top1_in_trace(m));
    add_share(g, "mean_forced_tokens", m->trace_rows ? (double)m->forced / (double)m->trace_rows : -1);
    return o;
}


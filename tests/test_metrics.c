/* Bootstrap intervals (deterministic, right width, paired) and the grounding
 * of a reasoning trace against the fixture catalogue, by hand-counted cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "grounding.h"
#include "metrics.h"
#include "tap.h"

static void collect(const char *sid, size_t len, void *ctx)
{
    char *out = ctx;
    strncat(out, sid, len);
    strcat(out, "|");
}

int main(void)
{
    /* ---- bootstrap ---- */
    double x[1000];
    for (int i = 0; i < 1000; i++) x[i] = 3.5;
    metrics_interval c = metrics_bootstrap(x, 1000, 500, 1);
    tap_ok(c.mean == 3.5 && c.lo == 3.5 && c.hi == 3.5, "a constant has a zero-width interval at its value");
    for (int i = 0; i < 1000; i++) x[i] = i % 2;
    metrics_interval h = metrics_bootstrap(x, 1000, METRICS_RESAMPLES, METRICS_SEED);
    /* binomial: sd of the mean = sqrt(.25/1000) = 0.0158, so the 95% half-width is ~0.031 */
    double half = (h.hi - h.lo) / 2;
    tap_ok(h.mean == 0.5 && h.lo < 0.5 && h.hi > 0.5, "p = 0.5 over 1000 rows: the interval holds the mean (%.4f, %.4f)", h.lo, h.hi);
    tap_ok(half > 0.027 && half < 0.035, "its half-width %.4f is the binomial 1.96 sd = 0.031 within sampling error", half);
    metrics_interval h2 = metrics_bootstrap(x, 1000, METRICS_RESAMPLES, METRICS_SEED);
    tap_ok(h2.lo == h.lo && h2.hi == h.hi, "the same seed gives the same interval");
    metrics_interval h3 = metrics_bootstrap(x, 1000, METRICS_RESAMPLES, METRICS_SEED + 1);
    tap_ok(h3.lo != h.lo || h3.hi != h.hi, "another seed resamples differently");
    /* paired: B = A + 1 on every row, whatever A is, has the difference 1 exactly */
    double d[1000];
    for (int i = 0; i < 1000; i++) d[i] = (x[i] + 1) - x[i];
    metrics_interval p = metrics_bootstrap(d, 1000, 500, 7);
    tap_ok(p.mean == 1 && p.lo == 1 && p.hi == 1, "a paired constant difference has no spread");
    metrics_interval e = metrics_bootstrap(x, 0, 500, 7);
    tap_ok(e.mean == 0 && e.lo == 0 && e.hi == 0, "no rows: a zero interval, no crash");

    /* ---- grounding: mention parsing ---- */
    char got[512] = "";
    int n = grounding_mentions("buy <a_1><b_2><c_3>, then <a_2><b_10> and <b_7><c_9>; not <a_x> nor <d_1 <a_0><c_1>",
                               collect, got);
    tap_ok(n == 5, "five mentions counted (%d)", n);
    tap_ok(!strcmp(got, "<a_1><b_2><c_3>|<a_2><b_10>|<b_7><c_9>|<a_0>|<c_1>|"), "runs of consecutive levels: %s", got);
    tap_ok(grounding_mentions("", NULL, NULL) == 0 && grounding_mentions(NULL, NULL, NULL) == 0 &&
               grounding_mentions("<a_", NULL, NULL) == 0 && grounding_mentions("<a_12345678901234>", NULL, NULL) == 0,
           "empty, NULL, cut and overlong tokens are no mentions");

    /* ---- grounding against the fixture catalogue ---- */
    char path[4200];
    snprintf(path, sizeof path, "%s/fixtures/data/minionerec", tap_testdir());
    sidr_dataset ds;
    sidr_status st = sidr_dataset_load(&ds, path, NULL);
    tap_ok(st == SIDR_OK, "the fixture dataset loads: %s", st ? sidr_last_error() : "ok");
    if (st == SIDR_OK) {
        const char *hist[] = { "<a_1><b_2><c_3>", "<a_0><b_7><c_9>" };
        metrics_grounding g;
        /* 4 mentions: a history SID twice, a catalogue SID outside the history, a made-up SID */
        grounding_measure("<a_1><b_2><c_3> and <a_1><b_2><c_3> again; <a_3><b_0><c_7> fits; <a_63><b_63><c_63>?", &ds,
                          hist, 2, "<a_3><b_0><c_7>", &g);
        tap_ok(g.mentions == 4 && g.catalogue == 3 && g.history == 2 && g.top1 == 1,
               "4 mentions, 3 catalogue SIDs, 2 from the history, top-1 cited (%d %d %d %d)", g.mentions, g.catalogue,
               g.history, g.top1);
        grounding_measure("<a_1><b_2> is a prefix", &ds, hist, 2, NULL, &g);
        tap_ok(g.mentions == 1 && g.catalogue == 0 && g.history == 0 && g.top1 == 0,
               "a SID prefix is a mention but no catalogue SID; no top-1 when the beam found none");
        metrics m = { 0 };
        metrics_grounding g1 = { 4, 3, 2, 1, 3 }, g2 = { 0, 0, 0, 0, 1 };
        metrics_add(&m, 0, 0, 10, 0, &g1);
        metrics_add(&m, 3, 0, 10, 0, &g2);
        metrics_add(&m, -1, 0, 0, 0, NULL);
        tap_ok(m.trace_rows == 2 && fabs(metrics_catalogue_share(&m) - 0.75) < 1e-12 &&
                   fabs(metrics_history_share(&m) - 0.5) < 1e-12 && fabs(metrics_top1_in_trace(&m) - 0.5) < 1e-12,
               "shares: catalogue 3/4, history 2/4 of all mentions; top-1 cited in 1 of 2 traces");
        metrics merged = { 0 };
        metrics_merge(&merged, &m);
        metrics_merge(&merged, &m);
        tap_ok(m.forced == 4 && merged.forced == 8, "tokens changed by grounded decoding add up over rows and merged shards");
        metrics none = { 0 };
        tap_ok(metrics_history_share(&none) < 0 && metrics_top1_in_trace(&none) < 0, "no traces: the shares are undefined (-1)");
        sidr_dataset_free(&ds);
    }
    return tap_done();
}

/* The time plan of 'sidr recipe' (see recipe_plan.h). */
#include "recipe_plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const stage_names[RECIPE_STAGE_COUNT] = {
    "sids", "tokenizer", "model", "calibrate", "align", "reason", "rl", "eval",
};

const char *recipe_stage_name(recipe_stage s)
{
    return s >= 0 && s < RECIPE_STAGE_COUNT ? stage_names[s] : "?";
}

int recipe_stage_parse(const char *s)
{
    for (int k = 0; k < RECIPE_STAGE_COUNT; k++)
        if (!strcmp(s, stage_names[k])) return k;
    return -1;
}

recipe_stage recipe_plan_stage(int k)
{
    static const recipe_stage map[PLAN_COUNT] = { RECIPE_ALIGN, RECIPE_REASON, RECIPE_RL, RECIPE_EVAL };
    return map[k];
}

void recipe_shares_default(double share[PLAN_COUNT])
{
    share[PLAN_ALIGN] = 45;
    share[PLAN_REASON] = 30;
    share[PLAN_RL] = 10;
    share[PLAN_EVAL] = 15;
}

int recipe_shares_check(const double share[PLAN_COUNT], char *err, int err_cap)
{
    double sum = 0;
    for (int k = 0; k < PLAN_COUNT; k++) {
        const char *name = recipe_stage_name(recipe_plan_stage(k));
        if (!isfinite(share[k]) || share[k] < 0 || share[k] > 100) {
            snprintf(err, (size_t)err_cap, "the share of %s must be a percentage in [0, 100]", name);
            return -1;
        }
        if (k != PLAN_EVAL && share[k] <= 0) {
            snprintf(err, (size_t)err_cap, "the share of %s must be positive (every training stage runs)", name);
            return -1;
        }
        sum += share[k];
    }
    if (fabs(sum - 100) > 1e-6) {
        snprintf(err, (size_t)err_cap, "the shares sum to %g%%, not 100%%", sum);
        return -1;
    }
    return 0;
}

int recipe_shares_parse(const char *s, double share[PLAN_COUNT], char *err, int err_cap)
{
    const char *p = s;
    if (!*p) {
        snprintf(err, (size_t)err_cap, "expected STAGE=PERCENT pairs, e.g. align=45,reason=30,rl=10,eval=15");
        return -1;
    }
    while (*p) {
        const char *eq = strchr(p, '=');
        int k, found = -1;
        if (!eq) {
            snprintf(err, (size_t)err_cap, "expected STAGE=PERCENT pairs, e.g. align=45,reason=30,rl=10,eval=15");
            return -1;
        }
        for (k = 0; k < PLAN_COUNT; k++) {
            const char *name = recipe_stage_name(recipe_plan_stage(k));
            if ((size_t)(eq - p) == strlen(name) && !strncmp(p, name, (size_t)(eq - p))) found = k;
        }
        if (found < 0) {
            snprintf(err, (size_t)err_cap, "unknown stage '%.*s' (expected align, reason, rl or eval)", (int)(eq - p), p);
            return -1;
        }
        char *end;
        double x = strtod(eq + 1, &end);
        if (end == eq + 1 || (*end && *end != ',')) {
            snprintf(err, (size_t)err_cap, "the share of %s is not a number", recipe_stage_name(recipe_plan_stage(found)));
            return -1;
        }
        share[found] = x;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            snprintf(err, (size_t)err_cap, "trailing ',' in the shares");
            return -1;
        }
    }
    return recipe_shares_check(share, err, err_cap);
}

static double overhead(const recipe_rate *r)
{
    return r->overhead_seconds > 0 ? r->overhead_seconds : 0;
}

/* Stage seconds -> steps: floor((seconds - overhead) / rate), at least 1, at
 * most the epoch cap; nothing when the rate is not measured. */
static void plan_steps(double seconds, const recipe_rate *r, recipe_item *it)
{
    it->seconds = seconds;
    it->steps = -1;
    it->epochs = -1;
    it->capped = it->floored = 0;
    if (!(r->seconds_per_step > 0) || r->steps_per_epoch <= 0) return;
    double n = floor((seconds - overhead(r)) / r->seconds_per_step);
    double cap = ceil((r->max_epochs > 0 ? r->max_epochs : 1) * (double)r->steps_per_epoch);
    if (cap < 1) cap = 1;
    if (n < 1) {
        n = 1;
        it->floored = 1;
    }
    if (n > cap) {
        n = cap;
        it->capped = 1;
    }
    it->steps = (long)n;
    it->epochs = n / (double)r->steps_per_epoch;
}

int recipe_plan_compute(double budget_seconds, const double share[PLAN_COUNT], const recipe_rate rate[PLAN_COUNT],
                        recipe_item out[PLAN_COUNT])
{
    char err[128];
    if (!isfinite(budget_seconds) || budget_seconds <= 0 || recipe_shares_check(share, err, (int)sizeof err)) return -1;
    for (int k = 0; k < PLAN_COUNT; k++) {
        memset(&out[k], 0, sizeof out[k]);
        out[k].share = share[k];
        plan_steps(budget_seconds * share[k] / 100, &rate[k], &out[k]);
    }
    return 0;
}

int recipe_plan_rest(double left_seconds, const double share[PLAN_COUNT], const recipe_rate rate[PLAN_COUNT], int k,
                     recipe_item *out)
{
    if (k < 0 || k >= PLAN_COUNT || !isfinite(left_seconds) || left_seconds <= 0) return -1;
    double rest = 0;
    for (int j = k; j < PLAN_COUNT; j++) rest += share[j];
    if (!(rest > 0)) return -1;
    recipe_item all[PLAN_COUNT];
    if (recipe_plan_compute(left_seconds * 100 / rest, share, rate, all)) return -1;
    /* a later stage capped at its epochs (eval of a whole split, most often)
     * will not spend its share: stage k gets what it leaves */
    double slack = 0;
    for (int j = k + 1; j < PLAN_COUNT; j++) {
        if (!all[j].capped) continue;
        double need = (double)all[j].steps * rate[j].seconds_per_step + overhead(&rate[j]);
        if (all[j].seconds > need) slack += all[j].seconds - need;
    }
    if (slack > 0) plan_steps(all[k].seconds + slack, &rate[k], &all[k]);
    *out = all[k];
    return 0;
}

double recipe_rates_rescale(recipe_rate rate[PLAN_COUNT], int k, double observed)
{
    if (k < 0 || k >= PLAN_COUNT || !(observed > 0) || !(rate[k].seconds_per_step > 0)) return 1;
    double ratio = observed / rate[k].seconds_per_step;
    if (ratio < 0.25) ratio = 0.25;
    if (ratio > 4) ratio = 4;
    for (int j = k + 1; j < PLAN_COUNT; j++)
        if (rate[j].seconds_per_step > 0) rate[j].seconds_per_step *= ratio;
    return ratio;
}

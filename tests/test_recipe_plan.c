/* The time plan of 'sidr recipe': shares, steps from measured rates, caps,
 * refused shares, stage names. */
#include <math.h>
#include <string.h>

#include "recipe_plan.h"
#include "tap.h"

static recipe_rate rate(double sps, double overhead, long per_epoch, double max_epochs)
{
    recipe_rate r = { sps, overhead, per_epoch, max_epochs };
    return r;
}

int main(void)
{
    double share[PLAN_COUNT];
    char err[160];
    recipe_item it[PLAN_COUNT];
    recipe_rate r[PLAN_COUNT];

    /* defaults: valid, sum to 100, and to the whole budget in seconds */
    recipe_shares_default(share);
    tap_ok(recipe_shares_check(share, err, sizeof err) == 0, "the default shares are valid");
    r[PLAN_ALIGN] = rate(0.5, 10, 1000000, 4);
    r[PLAN_REASON] = rate(0.25, 5, 1000000, 3);
    r[PLAN_RL] = rate(2.0, 0, 1000000, 2);
    r[PLAN_EVAL] = rate(0.1, 3, 1000000, 1);
    tap_ok(recipe_plan_compute(5400, share, r, it) == 0, "a 90-minute plan computes");
    double sum = 0;
    for (int k = 0; k < PLAN_COUNT; k++) sum += it[k].seconds;
    tap_ok(fabs(sum - 5400) < 1e-9, "the stages' seconds sum to the budget (%g)", sum);
    tap_ok(fabs(it[PLAN_ALIGN].seconds - 2430) < 1e-9 && fabs(it[PLAN_EVAL].seconds - 810) < 1e-9,
           "align gets 45%% and eval 15%% of the budget");

    /* steps = floor((seconds - overhead) / seconds per step) */
    tap_ok(it[PLAN_ALIGN].steps == 4840, "align: (2430 s - 10 s) / 0.5 s = 4840 steps (got %ld)", it[PLAN_ALIGN].steps);
    tap_ok(it[PLAN_REASON].steps == 6460, "reason: (1620 - 5) / 0.25 = 6460 steps (got %ld)", it[PLAN_REASON].steps);
    tap_ok(it[PLAN_RL].steps == 270, "rl: 540 / 2 = 270 steps (got %ld)", it[PLAN_RL].steps);
    tap_ok(it[PLAN_EVAL].steps == 8070, "eval: (810 - 3) / 0.1 = 8070 rows (got %ld)", it[PLAN_EVAL].steps);
    tap_ok(!it[PLAN_ALIGN].capped && !it[PLAN_ALIGN].floored, "nothing capped or floored with a large epoch");
    tap_ok(fabs(it[PLAN_RL].epochs - 270.0 / 1000000) < 1e-12, "epochs = steps / steps per epoch");

    /* after a long align: reason, rl and eval share what is left by 30:10:15 */
    recipe_item one;
    /* each call before the tap_ok that prints its result: argument order is unspecified */
    int rc = recipe_plan_rest(2200, share, r, PLAN_REASON, &one);
    tap_ok(rc == 0 && fabs(one.seconds - 1200) < 1e-9 && one.steps == 4780,
           "re-planned reason: 2200 s left x 30/55 = 1200 s, (1200 - 5) / 0.25 = 4780 steps (got %ld)", one.steps);
    tap_ok(recipe_plan_rest(5400, share, r, PLAN_ALIGN, &one) == 0 && one.steps == it[PLAN_ALIGN].steps,
           "re-planning the first stage with the whole budget gives the first plan");
    rc = recipe_plan_rest(600, share, r, PLAN_EVAL, &one);
    tap_ok(rc == 0 && fabs(one.seconds - 600) < 1e-9 && one.steps == 5970,
           "the last stage takes all that is left: (600 - 3) / 0.1 = 5970 rows (got %ld)", one.steps);
    tap_ok(recipe_plan_rest(0, share, r, PLAN_RL, &one) == -1 && recipe_plan_rest(100, share, r, PLAN_COUNT, &one) == -1,
           "no time left, or no such stage, is refused");
    recipe_rate rr[PLAN_COUNT];
    memcpy(rr, r, sizeof rr);
    double ratio = recipe_rates_rescale(rr, PLAN_ALIGN, 0.75);
    tap_ok(fabs(ratio - 1.5) < 1e-12 && rr[PLAN_ALIGN].seconds_per_step == 0.5 && fabs(rr[PLAN_REASON].seconds_per_step - 0.375) < 1e-12 &&
               fabs(rr[PLAN_RL].seconds_per_step - 3) < 1e-12 && fabs(rr[PLAN_EVAL].seconds_per_step - 0.15) < 1e-12,
           "align ran 1.5x slower than calibrated: the later stages' rates follow, its own stays");
    memcpy(rr, r, sizeof rr);
    tap_ok(recipe_rates_rescale(rr, PLAN_REASON, 100) == 4 && fabs(rr[PLAN_RL].seconds_per_step - 8) < 1e-12 &&
               rr[PLAN_ALIGN].seconds_per_step == 0.5,
           "the ratio is clamped at 4, and earlier stages are left alone");
    tap_ok(recipe_rates_rescale(rr, PLAN_RL, 0) == 1 && recipe_rates_rescale(rr, PLAN_RL, NAN) == 1,
           "no observed rate: nothing scaled");

    /* caps at max_epochs */
    r[PLAN_ALIGN] = rate(0.5, 10, 100, 4);
    r[PLAN_EVAL] = rate(0.1, 3, 50, 1);
    recipe_plan_compute(5400, share, r, it);
    tap_ok(it[PLAN_ALIGN].steps == 400 && it[PLAN_ALIGN].capped, "align is capped at 4 epochs of 100 steps (got %ld)",
           it[PLAN_ALIGN].steps);
    tap_ok(fabs(it[PLAN_ALIGN].epochs - 4) < 1e-12, "the capped plan is 4 epochs");
    tap_ok(it[PLAN_EVAL].steps == 50 && it[PLAN_EVAL].capped, "eval is capped at the split's 50 rows");
    r[PLAN_ALIGN] = rate(0.5, 10, 7, 2.5);
    recipe_plan_compute(5400, share, r, it);
    tap_ok(it[PLAN_ALIGN].steps == 18, "a fractional cap rounds up: ceil(2.5 * 7) = 18 (got %ld)", it[PLAN_ALIGN].steps);

    /* a capped later stage leaves time: the stage being planned gets it */
    {
        rc = recipe_plan_rest(1000, share, r, PLAN_RL, &one);
        tap_ok(rc == 0 && fabs(one.seconds - 992) < 1e-9 && one.steps == 496,
               "rl re-planned before an eval capped at 50 rows: 1000 s x 10/25 = 400 s plus the 600 - (3 + 50 x 0.1) "
               "= 592 s eval leaves, 992 / 2.0 = 496 steps (got %.1f s, %ld steps)", one.seconds, one.steps);
        r[PLAN_EVAL] = rate(0.1, 3, 1000000, 1);
        rc = recipe_plan_rest(1000, share, r, PLAN_RL, &one);
        tap_ok(rc == 0 && fabs(one.seconds - 400) < 1e-9 && one.steps == 200,
               "an eval that uses its whole share leaves nothing: 400 s, 200 steps (got %ld)", one.steps);
        r[PLAN_EVAL] = rate(0.1, 3, 50, 1);
    }

    /* a share too small for one step still runs one */
    r[PLAN_ALIGN] = rate(100, 10, 100, 4);
    recipe_plan_compute(60, share, r, it);
    tap_ok(it[PLAN_ALIGN].steps == 1 && it[PLAN_ALIGN].floored, "27 s for 100 s steps: one step, flagged");

    /* not measured */
    r[PLAN_REASON] = rate(0, 0, 100, 3);
    recipe_plan_compute(60, share, r, it);
    tap_ok(it[PLAN_REASON].steps == -1 && it[PLAN_REASON].epochs < 0, "an unmeasured stage has no steps");
    tap_ok(fabs(it[PLAN_REASON].seconds - 18) < 1e-9, "but has its seconds");

    /* bad budgets */
    tap_ok(recipe_plan_compute(0, share, r, it) == -1, "a zero budget is refused");
    tap_ok(recipe_plan_compute(-5, share, r, it) == -1, "a negative budget is refused");
    tap_ok(recipe_plan_compute(NAN, share, r, it) == -1, "a NaN budget is refused");

    /* parsing and checking shares */
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("align=50,reason=25,rl=10,eval=15", share, err, sizeof err) == 0 &&
               share[PLAN_ALIGN] == 50 && share[PLAN_REASON] == 25,
           "shares parse");
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("align=40,reason=35", share, err, sizeof err) == 0 && share[PLAN_RL] == 10,
           "stages not named keep their share");
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("align=50", share, err, sizeof err) == -1 && strstr(err, "sum to 105"),
           "shares that do not sum to 100 are refused (%s)", err);
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("align=55,eval=-10", share, err, sizeof err) == -1 && strstr(err, "eval"),
           "a negative share is refused (%s)", err);
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("align=75,rl=0", share, err, sizeof err) == -1 && strstr(err, "rl"),
           "a training stage cannot get 0 (%s)", err);
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("align=60,eval=0", share, err, sizeof err) == 0, "eval may get 0 (one row)");
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("model=10", share, err, sizeof err) == -1 && strstr(err, "unknown stage"),
           "an unbudgeted stage is refused (%s)", err);
    recipe_shares_default(share);
    tap_ok(recipe_shares_parse("align=abc", share, err, sizeof err) == -1, "a non-number is refused");
    tap_ok(recipe_shares_parse("align", share, err, sizeof err) == -1, "a missing '=' is refused");
    tap_ok(recipe_shares_parse("", share, err, sizeof err) == -1, "empty shares are refused");
    tap_ok(recipe_shares_parse("align=45,", share, err, sizeof err) == -1, "a trailing comma is refused");
    recipe_shares_default(share);
    share[PLAN_RL] = INFINITY;
    tap_ok(recipe_shares_check(share, err, sizeof err) == -1, "an infinite share is refused");
    tap_ok(recipe_plan_compute(60, share, r, it) == -1, "the plan refuses bad shares");

    /* stage names */
    tap_ok(recipe_stage_parse("reason") == RECIPE_REASON && recipe_stage_parse("sids") == RECIPE_SIDS,
           "stage names parse");
    tap_ok(recipe_stage_parse("nonsense") == -1 && recipe_stage_parse("") == -1, "unknown stage names do not");
    int ordered = 1;
    for (int k = 0; k < RECIPE_STAGE_COUNT; k++)
        if (recipe_stage_parse(recipe_stage_name((recipe_stage)k)) != k) ordered = 0;
    tap_ok(ordered, "every stage name round-trips");
    tap_ok(recipe_plan_stage(PLAN_ALIGN) == RECIPE_ALIGN && recipe_plan_stage(PLAN_EVAL) == RECIPE_EVAL,
           "budgeted stages map to recipe stages");
    return tap_done();
}

/* The time plan of 'sidr recipe': how a budget in seconds is split over the
 * budgeted stages (align, reason, rl, eval) by fixed shares, and how a
 * stage's seconds become a step count (rows, for eval) from a measured rate.
 * Pure computation: no I/O, no training; tests/test_recipe_plan.c covers it. */
#ifndef SIDR_RECIPE_PLAN_H
#define SIDR_RECIPE_PLAN_H

/* The recipe's stages in order.  sids runs only when the dataset has no SIDs;
 * calibrate times a few steps of each budgeted stage. */
typedef enum {
    RECIPE_SIDS = 0,
    RECIPE_TOKENIZER,
    RECIPE_MODEL,
    RECIPE_CALIBRATE,
    RECIPE_ALIGN,
    RECIPE_REASON,
    RECIPE_RL,
    RECIPE_EVAL,
    RECIPE_STAGE_COUNT
} recipe_stage;

/* The budgeted stages, in the order of a shares array. */
enum { PLAN_ALIGN = 0, PLAN_REASON, PLAN_RL, PLAN_EVAL, PLAN_COUNT };

const char *recipe_stage_name(recipe_stage s);
/* The stage named s, or -1. */
int recipe_stage_parse(const char *s);
/* The recipe stage of budgeted stage k (PLAN_*). */
recipe_stage recipe_plan_stage(int k);

/* The default shares in percent: align 45, reason 30, rl 10, eval 15. */
void recipe_shares_default(double share[PLAN_COUNT]);
/* Parses "align=45,reason=30,rl=10,eval=15" (stages not named keep their
 * share from share[]) and checks the result; 0 on success, -1 with a
 * message in err. */
int recipe_shares_parse(const char *s, double share[PLAN_COUNT], char *err, int err_cap);
/* 0 when every share is finite, in [0, 100], the training shares are
 * positive and they sum to 100 (within 1e-6); else -1 with a message. */
int recipe_shares_check(const double share[PLAN_COUNT], char *err, int err_cap);

/* A measured rate of one budgeted stage. */
typedef struct {
    double seconds_per_step;   /* <= 0: not measured */
    double overhead_seconds;   /* fixed cost of one run: loading, tokenising, final validation, saving */
    long steps_per_epoch;      /* optimiser steps (rl: rollout steps, eval: rows) in one pass; > 0 */
    double max_epochs;         /* cap on the passes (eval: 1 = the whole split) */
} recipe_rate;

typedef struct {
    double share;              /* percent */
    double seconds;            /* share of the budget */
    long steps;                /* -1: not measured */
    double epochs;             /* steps / steps_per_epoch (-1 when not measured) */
    int capped;                /* steps were cut to max_epochs */
    int floored;               /* the share did not pay for one step: 1 step planned */
} recipe_item;

/* Splits budget_seconds (> 0) by the shares (recipe_shares_check must pass)
 * and turns each stage's seconds into steps: floor((seconds - overhead) /
 * seconds_per_step), at least 1, at most ceil(max_epochs * steps_per_epoch).
 * Returns 0, or -1 on a bad budget or shares. */
int recipe_plan_compute(double budget_seconds, const double share[PLAN_COUNT], const recipe_rate rate[PLAN_COUNT],
                        recipe_item out[PLAN_COUNT]);

/* Plans stage k again when the stages before it are done: the stages from k
 * on share left_seconds (what the budget has left) by their shares, so a
 * stage that ran long is paid for by the later ones.  *out is stage k's
 * item.  Returns 0, or -1 when left_seconds or the shares are bad. */
int recipe_plan_rest(double left_seconds, const double share[PLAN_COUNT], const recipe_rate rate[PLAN_COUNT], int k,
                     recipe_item *out);

/* Stage k ran at observed seconds per step where its plan assumed
 * rate[k].seconds_per_step (the machine is busier, or the calibration's few
 * steps were short ones): the later stages' rates are scaled by the same
 * ratio, clamped to [1/4, 4].  Returns the ratio applied (1 when either
 * rate is not positive). */
double recipe_rates_rescale(recipe_rate rate[PLAN_COUNT], int k, double observed);

#endif

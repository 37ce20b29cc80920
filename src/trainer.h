/* The training loop machinery shared by the three SIDReasoner stages
 * (sidr train align | reason | rl): the dataset, tokenizer and parameters of
 * a run, length-bucketed micro-batches, gradient accumulation, AdamW with
 * its schedule, validation, early stopping, checkpoints that resume exactly,
 * the JSONL log and the progress bar.
 *
 * Output folder (--out DIR):
 *   DIR/checkpoint-STEP/   model.safetensors (F32: resuming must see the exact
 *                          weights), config.json, the tokenizer files,
 *                          optimizer.safetensors (AdamW m, v, step) and
 *                          trainer_state.json (step, epoch, position in the
 *                          epoch's data order, best metric, options).  Written
 *                          to DIR/checkpoint-STEP.tmp and renamed, so a kill
 *                          never leaves a broken checkpoint; the newest
 *                          --save-total-limit are kept.
 *   DIR/best/              the model at the best validation (when validation
 *                          ran), in --dtype.
 *   DIR/                   the final model in --dtype (config.json written
 *                          last) with trainer_state.json: an ordinary Hugging
 *                          Face folder.
 *   DIR/train_log.jsonl    one JSON object per line (unless --log FILE).
 *
 * Determinism: the data order of epoch e and the rollouts of step s are
 * functions of (seed, e) and (seed, s) only, so N steps in one run equal N/2
 * steps, a checkpoint and --resume for N/2 more (bit for bit with one
 * thread). */
#ifndef SIDR_TRAINER_H
#define SIDR_TRAINER_H

#include <stdint.h>
#include <stdio.h>

#include "backward.h"
#include "catalog.h"
#include "dataset.h"
#include "optim.h"
#include "params.h"
#include "progress.h"
#include "tasks.h"
#include "tokenizer.h"

typedef enum { STAGE_ALIGN = 0, STAGE_REASON, STAGE_RL } train_stage;

const char *train_stage_name(train_stage s);

typedef struct {
    train_stage stage;
    const char *model_dir, *data_dir, *out_dir;
    const char *log_path;        /* NULL: OUT/train_log.jsonl */
    const char *general_path;    /* align: task 8 JSONL */
    const char *ref_dir;         /* rl: frozen reference (NULL: the starting model) */
    const char *category;        /* dataset category when several */
    unsigned task_mask;          /* align: bit k set = task k (1..8) in the pool */
    unsigned mix_mask;           /* reason: Stage-1 item tasks (2, 6) mixed into the pool, so alignment stays */
    double answer_weight;        /* reason: loss weight of each answer token after </think> against 1 for
                                  * the reasoning's (default 1: a plain token mean) */
    double trace_answer;         /* reason: fraction of the training rows that also appear with the history
                                  * hidden from the prompt, loss on the answer only, so that the SID must be
                                  * read from the reasoning (default 0) */
    int trace_answer_words;      /* reason: in those samples the reasoning's SID mentions read "an item" */
    double task_weight[TASK_COUNT]; /* align: expected copies of each sequence of task k per
                                     * epoch (default 1; 0.5 = half of them, drawn anew each epoch) */

    int epochs;                  /* passes over the data (when max_steps is 0) */
    long max_steps;              /* > 0: total optimiser steps (rl: rollout steps) */
    long stop_after;             /* > 0: stop (with a checkpoint) after this many steps of this run */
    int batch;                   /* sequences per micro-batch */
    int grad_accum;              /* micro-batches per step (SFT) */
    double lr, weight_decay, clip;
    long warmup;                 /* steps */
    double warmup_ratio;         /* of the total steps, when warmup < 0 */
    sidr_lr_schedule schedule;
    uint64_t seed;
    int max_len;                 /* longer training sequences are dropped (counted) */
    long eval_every;             /* 0: at the end of each epoch and of training */
    long save_every;             /* 0: only at the end (and on Ctrl-C) */
    int save_total_limit;        /* checkpoints kept (>= 1) */
    int patience;                /* early stopping after this many evaluations without improvement; 0: off */
    int eval_rows;               /* valid rows for the validation loss */
    int eval_gen;                /* valid rows for generation metrics (reason: format; rl: HR@10) */
    int resume;
    int threads;                 /* 0: default */
    sidr_derive_mode derive;
    sidr_dtype dtype;            /* final and best folders */
    int load_best;               /* final folder = the best validation model */
    int max_new;                 /* generated tokens: reason format check, rl rollouts and HR@10 reasoning */

    /* rl */
    int prompts;                 /* prompts per step */
    int group;                   /* G rollouts per prompt */
    double kl_coef;              /* beta of the k3 KL term */
    double clip_eps;             /* PPO clip epsilon */
    int ppo_epochs;              /* updates per batch of rollouts */
    double temperature;          /* rollout sampling temperature (1.0: the paper) */

    int quiet;                   /* no progress output */
    volatile int *stop;          /* set asynchronously (Ctrl-C): checkpoint and return */
} train_opts;

void train_opts_default(train_opts *o, train_stage stage);

/* Runs a stage to the end.  Returns SIDR_OK when it finished (or stopped
 * early, or stopped by stop_after), SIDR_ERR_CANCELLED after *stop was set
 * (a checkpoint was written first); on other errors sidr_last_error() says
 * why. */
sidr_status train_run(const train_opts *o);

/* ---- pieces shared with grpo.c ------------------------------------------------ */

/* A tokenised training sequence: loss on positions [lo, hi). */
typedef struct {
    int *ids;
    int n, lo, hi;
    int ans;              /* reasoning: the first position after </think> (weighs answer_weight); n otherwise */
    int kind;             /* task_kind */
    int row;              /* dataset row (row tasks), else -1 */
} train_seq;

typedef struct {
    train_seq *v;
    int n;
    int per_kind[TASK_COUNT];        /* sequences kept */
    int dropped_long[TASK_COUNT];    /* longer than max_len */
    int skipped[TASK_COUNT];         /* could not be built or had no loss tokens */
    int hidden_history;              /* reasoning sequences with the history hidden (--trace-answer) */
    long tokens;
} seq_set;

void seq_set_free(seq_set *s);

typedef struct {
    long step;            /* optimiser steps done (rl: rollout steps done) */
    int epoch;            /* current epoch */
    long pos;             /* position in the epoch's order (SFT: micro-batches; rl: prompts) */
    double best_metric;   /* align/reason: lowest validation loss; rl: highest HR@10 */
    long best_step;       /* -1: none yet */
    int bad_evals;        /* evaluations since the best */
    long tokens_seen;
    double train_seconds;
    int stopped_early;
} train_state;

typedef struct {
    train_opts o;
    sidr_dataset ds;
    sidr_tokenizer *tok;
    sidr_catalog cat;
    int have_cat;
    task_enrichment enr;
    sidr_params params;
    sidr_train *tr;
    sidr_adamw opt;
    int have_opt;
    train_state st;
    long total_steps;
    long steps_per_epoch;
    FILE *log;
    char *log_path;
    char *start_model;    /* the folder the stage started from */
    progress pr;
    double run_t0;        /* this process's training start */
    long run_step0;       /* step at this process's start */
    int eos_id, end_id, think_close_id, newline_id;
} trainer;

sidr_status trainer_open(trainer *t, const train_opts *o);
void trainer_close(trainer *t);
/* Allocates the backward for B x T and AdamW for total_steps. */
sidr_status trainer_setup(trainer *t, int max_B, int max_T);
/* Restores the newest checkpoint of OUT (when o->resume); sets *resumed. */
sidr_status trainer_resume(trainer *t, int *resumed);
/* Writes OUT/checkpoint-STEP (and rotates old ones). */
sidr_status trainer_checkpoint(trainer *t);
/* Writes the model into OUT/sub ("" for OUT itself) in dtype, with trainer_state.json. */
sidr_status trainer_save_model(trainer *t, const char *sub, sidr_dtype dtype);
/* Removes what a killed run leaves in OUT (half-written folders, stray
 * temporary files) and restores a folder whose swap a kill cut short. */
void trainer_clean_leftovers(const char *out);
/* Records a validation metric (lower_better or not); saves OUT/best when it
 * improves; returns 1 when early stopping should happen. */
int trainer_note_eval(trainer *t, double metric, int lower_better, int *improved);
/* Appends one JSON object (consumed) as a line of the log. */
void trainer_log(trainer *t, void *cjson_object);
/* Opens the log (truncating lines after the current step when resuming). */
sidr_status trainer_open_log(trainer *t, int resumed);
/* The final folder, the closing log line and the summary on stderr. */
sidr_status trainer_finish(trainer *t);
/* Did the caller ask to stop? */
int trainer_should_stop(const trainer *t);

/* Deterministic random streams. */
uint64_t train_rng_seed(uint64_t seed, uint64_t a, uint64_t b);
uint64_t train_rng_next(uint64_t *s);
/* Fisher-Yates shuffle of [0, n) driven by rng. */
void train_shuffle(int *v, int n, uint64_t *rng);

/* Tokenises the samples (in parallel) into a seq_set; kinds/rows/items/
 * variants describe each sample; general (may be NULL) serves TASK_GENERAL
 * samples (item = index into it). */
typedef struct {
    int kind, split, row, item;
    uint64_t variant;
} sample_spec;
sidr_status train_tokenize(trainer *t, const sample_spec *specs, int n, const task_general *general, seq_set *out);

/* A copy of s[0..n) with every byte that is not well-formed UTF-8 replaced
 * by U+FFFD (sampled text may cut a character; the log must stay JSON). */
char *train_utf8_copy(const char *s, size_t n);

/* Rows of a split to evaluate on: up to n spread evenly (first, ..., last). */
int train_eval_rows(int split_n, int n, int *rows);

#endif

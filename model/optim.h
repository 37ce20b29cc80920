/* AdamW over sidr_params, with global gradient-norm clipping and the learning
 * rate schedules of Hugging Face's get_scheduler.  Gradients are accumulated
 * by the caller (sidr_train_backward adds); the caller steps:
 *
 *   sidr_adamw opt;  sidr_adamw_opts o;  sidr_adamw_defaults(&o);  o.lr = 1e-4; ...
 *   sidr_adamw_init(&opt, &params, &o);
 *   ... accumulate into grad ...
 *   sidr_adamw_step(&opt, &params, grad, &info);   clip, update, step++
 *   sidr_params_zero(grad);
 *
 * The update is torch.optim.AdamW's (decoupled weight decay applied first,
 * p *= 1 - lr*wd; m and v with bias correction; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)).
 *
 * Weight decay: by default norms and biases (1-D tensors) are not decayed and
 * every matrix (embeddings, lm_head, projections) is — what Hugging Face's
 * Trainer does (get_decay_parameter_names excludes biases and norm weights).
 * decay_all = 1 decays every tensor, as torch.optim.AdamW(model.parameters())
 * does. */
#ifndef SIDR_OPTIM_H
#define SIDR_OPTIM_H

#include <stddef.h>

#include "params.h"
#include "status.h"

typedef enum { SIDR_LR_CONSTANT, SIDR_LR_LINEAR, SIDR_LR_COSINE } sidr_lr_schedule;

typedef struct {
    double lr;                 /* peak learning rate */
    double beta1, beta2, eps;
    double weight_decay;
    int decay_all;             /* 0: skip norms and biases (HF Trainer); 1: decay every tensor */
    double clip_norm;          /* max global L2 norm of the gradient; <= 0: no clipping */
    sidr_lr_schedule schedule; /* after warmup: constant, linear to 0, or cosine (half cycle) to 0 */
    long warmup_steps;         /* linear warmup from 0 */
    long total_steps;          /* for linear / cosine */
    double min_lr_ratio;       /* linear / cosine end at lr * min_lr_ratio (HF: 0) */
} sidr_adamw_opts;

/* lr 1e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0, clip 1.0, constant,
 * no warmup: Hugging Face TrainingArguments' defaults. */
void sidr_adamw_defaults(sidr_adamw_opts *o);

/* Learning rate of update number step (0-based: the first update is step 0),
 * as Hugging Face's LambdaLR schedules give it:
 *   warmup (step < warmup_steps): lr * step / warmup_steps
 *   constant: lr
 *   linear:   lr * max(0, (total - step) / (total - warmup))
 *   cosine:   lr * max(0, 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup))))
 * with the decaying part mapped to [min_lr_ratio, 1].  Past total_steps
 * linear and cosine stay at the floor (Hugging Face's cosine lambda would
 * rise again there). */
double sidr_lr_at(const sidr_adamw_opts *o, long step);

typedef struct {
    sidr_adamw_opts o;
    size_t n;
    float *m, *v;              /* first and second moments, layout of the parameters */
    long step;                 /* updates done */
    int n_ranges;
    struct sidr_adamw_range { size_t off, n; int decay; } *ranges;   /* one per tensor */
} sidr_adamw;

typedef struct {
    double grad_norm;          /* global L2 norm before clipping */
    double clip_scale;         /* factor applied to the gradient (1 when not clipped) */
    double lr;                 /* learning rate used */
    long step;                 /* updates done after this one */
} sidr_adamw_info;

sidr_status sidr_adamw_init(sidr_adamw *a, const sidr_params *p, const sidr_adamw_opts *o);
void sidr_adamw_free(sidr_adamw *a);

/* Global L2 norm of a gradient (accumulated in double). */
double sidr_grad_norm(const sidr_params *g);

/* One update: scales g in place when clipping applies (as
 * torch.nn.utils.clip_grad_norm_ does: coef = clip / (norm + 1e-6), capped at
 * 1), then updates p and the moments.  g is not zeroed.  A non-finite
 * gradient norm refuses the step (SIDR_ERR_RANGE) and changes nothing. */
sidr_status sidr_adamw_step(sidr_adamw *a, sidr_params *p, sidr_params *g, sidr_adamw_info *info);

/* Optimiser state as safetensors (m, v: F32 [n]; step: I64 [1]; the options
 * in __metadata__), written atomically.  Loading restores m, v and step into
 * an optimiser initialised for the same parameter layout; its options stay
 * those it was initialised with. */
sidr_status sidr_adamw_save(const sidr_adamw *a, const char *path);
sidr_status sidr_adamw_load(sidr_adamw *a, const char *path);

#endif

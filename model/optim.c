#include "optim.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "threads.h"
#include "util.h"

void sidr_adamw_defaults(sidr_adamw_opts *o)
{
    memset(o, 0, sizeof *o);
    o->lr = 1e-5;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->weight_decay = 0.0;
    o->decay_all = 0;
    o->clip_norm = 1.0;
    o->schedule = SIDR_LR_CONSTANT;
    o->warmup_steps = 0;
    o->total_steps = 0;
    o->min_lr_ratio = 0.0;
}

double sidr_lr_at(const sidr_adamw_opts *o, long step)
{
    if (step < 0) step = 0;
    long w = o->warmup_steps > 0 ? o->warmup_steps : 0;
    if (step < w) return o->lr * (double)step / (double)(w > 1 ? w : 1);
    double f = 1.0;
    long span = o->total_steps - w;
    if (span < 1) span = 1;
    if (o->schedule == SIDR_LR_LINEAR) {
        f = (double)(o->total_steps - step) / (double)span;
        if (f < 0) f = 0;
    } else if (o->schedule == SIDR_LR_COSINE) {
        double progress = (double)(step - w) / (double)span;
        f = 0.5 * (1.0 + cos(3.14159265358979323846 * progress));   /* num_cycles 0.5 */
        if (f < 0) f = 0;
        if (progress >= 1.0) f = 0;
    } else {
        return o->lr;
    }
    return o->lr * (o->min_lr_ratio + (1.0 - o->min_lr_ratio) * f);
}

static sidr_status check_opts(const sidr_adamw_opts *o)
{
    if (!(o->lr >= 0) || !(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0) ||
        !(o->weight_decay >= 0) || !(o->min_lr_ratio >= 0 && o->min_lr_ratio <= 1) || o->warmup_steps < 0 ||
        (o->schedule != SIDR_LR_CONSTANT && o->schedule != SIDR_LR_LINEAR && o->schedule != SIDR_LR_COSINE))
        return sidr_fail(SIDR_ERR_ARG, "AdamW: invalid options (lr %g, betas %g/%g, eps %g, weight decay %g, "
                         "min lr ratio %g, warmup %ld)", o->lr, o->beta1, o->beta2, o->eps, o->weight_decay,
                         o->min_lr_ratio, o->warmup_steps);
    if (o->schedule != SIDR_LR_CONSTANT && o->total_steps <= 0)
        return sidr_fail(SIDR_ERR_ARG, "AdamW: a linear or cosine schedule needs total_steps > 0");
    return SIDR_OK;
}

sidr_status sidr_adamw_init(sidr_adamw *a, const sidr_params *p, const sidr_adamw_opts *o)
{
    memset(a, 0, sizeof *a);
    sidr_status s = check_opts(o);
    if (s) return s;
    if (!p || !p->data) return sidr_fail(SIDR_ERR_ARG, "AdamW: parameters are not initialised");
    a->o = *o;
    a->n = p->n;
    a->m = xaligned((p->n ? p->n : 1) * sizeof(float));
    a->v = xaligned((p->n ? p->n : 1) * sizeof(float));
    memset(a->m, 0, p->n * sizeof(float));
    memset(a->v, 0, p->n * sizeof(float));
    a->n_ranges = p->n_views;
    a->ranges = xcalloc((size_t)(p->n_views ? p->n_views : 1), sizeof *a->ranges);
    for (int i = 0; i < p->n_views; i++) {
        const sidr_param_view *v = &p->views[i];
        a->ranges[i].off = v->offset;
        a->ranges[i].n = v->numel;
        a->ranges[i].decay = o->decay_all || (v->kind != SIDR_PARAM_NORM && v->kind != SIDR_PARAM_BIAS);
    }
    return SIDR_OK;
}

void sidr_adamw_free(sidr_adamw *a)
{
    free(a->m);
    free(a->v);
    free(a->ranges);
    memset(a, 0, sizeof *a);
}

/* Elementwise work in 64 slices across the pool (on the caller when small). */
#define SLICES 64

typedef struct {
    const sidr_adamw *a;
    float *w, *g;
    double part[SLICES];
    size_t n;
    float b1, b2, c1, c2, step_size, inv_bc2_sqrt, eps, gscale, decay;
    int scale_g;
} adam_job;

static void slices(adam_job *j, sidr_range_fn fn)
{
    if (j->n < ((size_t)1 << 16)) fn(j, 0, SLICES, 0);
    else sidr_parallel_for(SLICES, fn, j);
}

static void sumsq_range(void *ctx, int k0, int k1, int thread)
{
    adam_job *j = ctx;
    for (int k = k0; k < k1; k++) {
        size_t a = j->n * k / SLICES, b = j->n * (k + 1) / SLICES;
        double ss = 0;
        for (size_t i = a; i < b; i++) ss += (double)j->g[i] * j->g[i];
        j->part[k] = ss;
    }
}

double sidr_grad_norm(const sidr_params *g)
{
    adam_job j;
    memset(&j, 0, sizeof j);
    j.g = g->data;
    j.n = g->n;
    slices(&j, sumsq_range);
    double ss = 0;
    for (int k = 0; k < SLICES; k++) ss += j.part[k];   /* fixed order: deterministic */
    return sqrt(ss);
}

static void adam_range(void *ctx, int k0, int k1, int thread)
{
    const adam_job *j = ctx;
    const sidr_adamw *a = j->a;
    size_t lo = j->n * k0 / SLICES, hi = j->n * k1 / SLICES;
    for (int r = 0; r < a->n_ranges; r++) {
        size_t off = a->ranges[r].off, end = off + a->ranges[r].n;
        if (end <= lo || off >= hi) continue;
        size_t i0 = off > lo ? off : lo, i1 = end < hi ? end : hi;
        float dk = a->ranges[r].decay ? j->decay : 1.0f;
        float *w = j->w, *gr = j->g, *m = a->m, *v = a->v;
        for (size_t i = i0; i < i1; i++) {
            float gi = gr[i];
            if (j->scale_g) gr[i] = gi = gi * j->gscale;
            float mi = j->b1 * m[i] + j->c1 * gi;
            float vi = j->b2 * v[i] + j->c2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] = w[i] * dk - j->step_size * mi / (sqrtf(vi) * j->inv_bc2_sqrt + j->eps);
        }
    }
}

sidr_status sidr_adamw_step(sidr_adamw *a, sidr_params *p, sidr_params *g, sidr_adamw_info *info)
{
    if (p->n != a->n || g->n != a->n)
        return sidr_fail(SIDR_ERR_SHAPE, "AdamW: parameters (%zu), gradient (%zu) and optimiser (%zu) sizes differ",
                         p->n, g->n, a->n);
    const sidr_adamw_opts *o = &a->o;
    double norm = sidr_grad_norm(g);
    if (!isfinite(norm))
        return sidr_fail(SIDR_ERR_RANGE, "AdamW: the gradient norm is not finite; step %ld skipped", a->step);
    double clip = 1.0;
    if (o->clip_norm > 0) {
        clip = o->clip_norm / (norm + 1e-6);    /* torch.nn.utils.clip_grad_norm_ */
        if (clip > 1.0) clip = 1.0;
    }
    double lr = sidr_lr_at(o, a->step);
    long t = a->step + 1;
    double bc1 = 1.0 - pow(o->beta1, (double)t), bc2 = 1.0 - pow(o->beta2, (double)t);
    adam_job j;
    memset(&j, 0, sizeof j);
    j.a = a;
    j.w = p->data;
    j.g = g->data;
    j.n = a->n;
    j.b1 = (float)o->beta1;
    j.b2 = (float)o->beta2;
    j.c1 = (float)(1.0 - o->beta1);
    j.c2 = (float)(1.0 - o->beta2);
    j.step_size = (float)(lr / bc1);
    j.inv_bc2_sqrt = (float)(1.0 / sqrt(bc2));
    j.eps = (float)o->eps;
    j.gscale = (float)clip;
    j.scale_g = clip < 1.0;
    j.decay = (float)(1.0 - lr * o->weight_decay);
    slices(&j, adam_range);
    a->step = t;
    if (info) {
        info->grad_norm = norm;
        info->clip_scale = clip;
        info->lr = lr;
        info->step = t;
    }
    return SIDR_OK;
}

/* ---- state files -------------------------------------------------------------- */

sidr_status sidr_adamw_save(const sidr_adamw *a, const char *path)
{
    int64_t step = a->step;
    const sidr_adamw_opts *o = &a->o;
    char meta[768];
    snprintf(meta, sizeof meta,
             "{\"format\":\"sidr-adamw\",\"n\":\"%zu\",\"lr\":\"%.17g\",\"beta1\":\"%.17g\",\"beta2\":\"%.17g\","
             "\"eps\":\"%.17g\",\"weight_decay\":\"%.17g\",\"decay_all\":\"%d\",\"clip_norm\":\"%.17g\","
             "\"schedule\":\"%s\",\"warmup_steps\":\"%ld\",\"total_steps\":\"%ld\",\"min_lr_ratio\":\"%.17g\"}",
             a->n, o->lr, o->beta1, o->beta2, o->eps, o->weight_decay, o->decay_all, o->clip_norm,
             o->schedule == SIDR_LR_LINEAR ? "linear" : o->schedule == SIDR_LR_COSINE ? "cosine" : "constant",
             o->warmup_steps, o->total_steps, o->min_lr_ratio);
    sidr_st_entry e[3] = {
        { "m", SIDR_F32, 1, { (int64_t)a->n }, a->m },
        { "v", SIDR_F32, 1, { (int64_t)a->n }, a->v },
        { "step", SIDR_I64, 1, { 1 }, &step },
    };
    return sidr_st_write(path, e, 3, meta);
}

sidr_status sidr_adamw_load(sidr_adamw *a, const char *path)
{
    sidr_safetensors st;
    memset(&st, 0, sizeof st);
    sidr_status s = sidr_st_open_file(&st, path);
    if (s) {
        sidr_st_close(&st);
        return s;
    }
    const sidr_tensor *m = sidr_st_find(&st, "m"), *v = sidr_st_find(&st, "v"), *step = sidr_st_find(&st, "step");
    const char *names[3] = { "m", "v", "step" };
    const sidr_tensor *ts[3] = { m, v, step };
    for (int i = 0; i < 3 && !s; i++)
        if (!ts[i]) s = sidr_fail(SIDR_ERR_MISSING, "%s: tensor '%s' is missing (not an AdamW state file?)", path, names[i]);
    for (int i = 0; i < 2 && !s; i++)
        if (ts[i]->dtype != SIDR_F32 || ts[i]->ndim != 1 || ts[i]->shape[0] != (int64_t)a->n)
            s = sidr_fail(SIDR_ERR_SHAPE, "%s: tensor '%s' is %s with %lld elements; the parameters need F32 [%zu]",
                          path, names[i], sidr_dtype_name(ts[i]->dtype), (long long)sidr_tensor_numel(ts[i]), a->n);
    if (!s && (step->dtype != SIDR_I64 || sidr_tensor_numel(step) != 1))
        s = sidr_fail(SIDR_ERR_SHAPE, "%s: tensor 'step' must be I64 [1]", path);
    if (!s) {
        int64_t k;
        memcpy(&k, step->data, sizeof k);
        if (k < 0) s = sidr_fail(SIDR_ERR_RANGE, "%s: step %lld is negative", path, (long long)k);
        else {
            memcpy(a->m, m->data, a->n * sizeof(float));
            memcpy(a->v, v->data, a->n * sizeof(float));
            a->step = (long)k;
        }
    }
    sidr_st_close(&st);
    return s;
}

/* AdamW, clipping, learning-rate schedules and optimiser state files against
 * tests/fixtures/grad/qwen2-bias/grad_reference.safetensors (written by
 * tests/ref/gen_grad_reference.py with torch.optim.AdamW, clip_grad_norm_ and
 * torch's LambdaLR over Hugging Face's schedule lambdas).
 *
 * Two AdamW steps (lr 1e-2, betas 0.9/0.95, eps 1e-8, weight decay 0.1 on
 * matrices only, clipping at half the first gradient's norm) are fed the
 * reference gradients (the second one taken at the reference's parameters
 * after step 1), so bias correction at steps 1 and 2, decoupled decay and
 * clipping are checked in isolation from the backward.  Tolerance: max |diff|
 * <= 1e-6 + 1e-6 |p| (the update itself is ~1e-2). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "backward.h"
#include "optim.h"
#include "params.h"
#include "safetensors.h"
#include "util.h"

static sidr_safetensors REF;

static const float *ref_f32(const char *name, int64_t *n)
{
    const sidr_tensor *t = sidr_st_find(&REF, name);
    if (!t || t->dtype != SIDR_F32) return NULL;
    if (n) *n = sidr_tensor_numel(t);
    return t->data;
}

/* Fills dst (a params layout) from "<prefix><name>" tensors; 0 if any is missing. */
static int fill_from_ref(sidr_params *dst, const char *prefix)
{
    for (int i = 0; i < dst->n_views; i++) {
        const sidr_param_view *v = &dst->views[i];
        char name[200];
        snprintf(name, sizeof name, "%s%s", prefix, v->name);
        int64_t n;
        const float *r = ref_f32(name, &n);
        if (!r || (size_t)n != v->numel) return 0;
        memcpy(sidr_params_at(dst, v), r, v->numel * sizeof(float));
    }
    return 1;
}

/* max over elements of |p - ref| / (1e-6 + 1e-6 |ref|) */
static double compare(const sidr_params *p, const sidr_params *ref, double *max_abs_diff)
{
    double worst = 0, md = 0;
    for (size_t i = 0; i < p->n; i++) {
        double d = fabs((double)p->data[i] - ref->data[i]);
        double r = d / (1e-6 + 1e-6 * fabs(ref->data[i]));
        if (!(r <= worst)) worst = r;
        if (d > md) md = d;
    }
    if (max_abs_diff) *max_abs_diff = md;
    return worst;
}

static void opts_from_ref(sidr_adamw_opts *o, const float *hp)
{
    sidr_adamw_defaults(o);
    o->lr = hp[0];
    o->beta1 = hp[1];
    o->beta2 = hp[2];
    o->eps = hp[3];
    o->weight_decay = hp[4];
    o->clip_norm = hp[5];
}

static void check_adamw(const char *dir, const float *hp, const float *norms)
{
    sidr_params p, g, want;
    sidr_status s = sidr_params_load(&p, dir);
    if (!tap_ok(!s, "parameters load (%s)", s ? sidr_last_error() : dir)) return;
    sidr_params_init(&g, &p.cfg);
    sidr_params_init(&want, &p.cfg);
    sidr_adamw opt;
    sidr_adamw_opts o;
    opts_from_ref(&o, hp);
    s = sidr_adamw_init(&opt, &p, &o);

    /* step 1: bias correction 1 - beta^1, clipping active */
    int have = fill_from_ref(&g, "grad.") && fill_from_ref(&want, "adam.p1.");
    sidr_adamw_info info;
    if (!s && have) s = sidr_adamw_step(&opt, &p, &g, &info);
    double md, r = compare(&p, &want, &md);
    tap_diag("step 1: grad norm %.7g (reference %.7g), clip scale %.6g, lr %g; params max|diff| %.3g (%.3g x tolerance)",
             info.grad_norm, norms[0], info.clip_scale, info.lr, md, r);
    tap_ok(have && !s && fabs(info.grad_norm - norms[0]) <= 1e-6 * norms[0] && info.clip_scale < 1 && r <= 1.0 &&
               opt.step == 1,
           "AdamW step 1 (clipped, decoupled decay on matrices, bias correction) equals torch.optim.AdamW");
    double gn = sidr_grad_norm(&g);
    tap_ok(fabs(gn - o.clip_norm) <= 1e-5 * o.clip_norm, "the clipped gradient's norm is the clip value (%.7g vs %.7g)",
           gn, o.clip_norm);

    /* step 2: the reference gradient at the reference's step-1 parameters */
    have = fill_from_ref(&g, "adam.grad2.") && fill_from_ref(&want, "adam.p2.");
    if (!s && have) s = sidr_adamw_step(&opt, &p, &g, &info);
    r = compare(&p, &want, &md);
    tap_diag("step 2: grad norm %.7g (reference %.7g), clip scale %.6g; params max|diff| %.3g (%.3g x tolerance)",
             info.grad_norm, norms[1], info.clip_scale, md, r);
    tap_ok(have && !s && fabs(info.grad_norm - norms[1]) <= 1e-6 * norms[1] && r <= 1.0 && opt.step == 2,
           "AdamW step 2 (bias correction 1 - beta^2) equals torch.optim.AdamW");

    /* a non-finite gradient refuses the step and changes nothing */
    sidr_params before;
    sidr_params_clone(&before, &p);
    g.data[g.n / 2] = NAN;
    s = sidr_adamw_step(&opt, &p, &g, &info);
    tap_ok(s == SIDR_ERR_RANGE && opt.step == 2 && !memcmp(before.data, p.data, p.n * sizeof(float)),
           "a NaN gradient is refused without touching the parameters: %s", sidr_last_error());
    sidr_params_free(&before);

    sidr_adamw_free(&opt);
    sidr_params_free(&p);
    sidr_params_free(&g);
    sidr_params_free(&want);
}

static void check_decay_mask(const char *dir)
{
    sidr_params p, p0, g;
    if (sidr_params_load(&p, dir)) {
        tap_ok(0, "decay mask: parameters load");
        return;
    }
    sidr_params_clone(&p0, &p);
    sidr_params_init(&g, &p.cfg);
    for (int all = 0; all < 2; all++) {
        sidr_params_copy(&p, &p0);
        sidr_adamw opt;
        sidr_adamw_opts o;
        sidr_adamw_defaults(&o);
        o.lr = 0.1;
        o.weight_decay = 0.5;
        o.decay_all = all;
        sidr_adamw_init(&opt, &p, &o);
        sidr_adamw_step(&opt, &p, &g, NULL);   /* zero gradient: only the decay moves weights */
        int ok = 1, n_decayed = 0;
        for (int i = 0; i < p.n_views && ok; i++) {
            const sidr_param_view *v = &p.views[i];
            int decays = all || (v->kind != SIDR_PARAM_NORM && v->kind != SIDR_PARAM_BIAS);
            float f = decays ? (float)(1.0 - 0.1 * 0.5) : 1.0f;
            n_decayed += decays;
            const float *a = sidr_params_at(&p, v), *b = sidr_params_at(&p0, v);
            for (size_t k = 0; k < v->numel && ok; k++) ok = a[k] == b[k] * f;
        }
        tap_ok(ok, "weight decay %s (%d of %d tensors decayed)",
               all ? "with decay_all reaches every tensor" : "skips norms and biases by default", n_decayed,
               p.n_views);
        sidr_adamw_free(&opt);
    }
    sidr_params_free(&p);
    sidr_params_free(&p0);
    sidr_params_free(&g);
}

static void check_schedules(void)
{
    static const struct { const char *name; sidr_lr_schedule kind; double min_ratio; } S[] = {
        { "sched.constant", SIDR_LR_CONSTANT, 0 }, { "sched.linear", SIDR_LR_LINEAR, 0 },
        { "sched.cosine", SIDR_LR_COSINE, 0 }, { "sched.cosine_min", SIDR_LR_COSINE, 0.1 },
    };
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
        int64_t n;
        const float *want = ref_f32(S[i].name, &n);
        sidr_adamw_opts o;
        sidr_adamw_defaults(&o);
        o.lr = 1e-3;
        o.schedule = S[i].kind;
        o.warmup_steps = 3;
        o.total_steps = 10;
        o.min_lr_ratio = S[i].min_ratio;
        double worst = 0;
        for (int k = 0; want && k < n; k++) {
            double d = fabs(sidr_lr_at(&o, k) - want[k]);
            if (d > worst) worst = d;
        }
        tap_ok(want && n == 11 && worst <= 1e-9, "%s (warmup 3, total 10): lr of updates 0..10 equals torch LambdaLR "
               "with Hugging Face's lambda (max|diff| %.2g)", S[i].name + 6, worst);
    }
    sidr_adamw_opts o;
    sidr_adamw_defaults(&o);
    o.lr = 2e-4;
    o.schedule = SIDR_LR_COSINE;
    o.warmup_steps = 0;
    o.total_steps = 100;
    tap_ok(sidr_lr_at(&o, 0) == 2e-4 && fabs(sidr_lr_at(&o, 50) - 1e-4) < 1e-12 && sidr_lr_at(&o, 100) == 0 &&
               sidr_lr_at(&o, 150) == 0,
           "cosine without warmup: full lr at 0, half at the middle, 0 at the end and after");
    o.schedule = SIDR_LR_LINEAR;
    o.total_steps = 0;
    sidr_adamw a;
    tap_ok(sidr_adamw_init(&a, NULL, &o) == SIDR_ERR_ARG, "a decaying schedule without total_steps is refused: %s",
           sidr_last_error());
}

/* Clipping only when the norm exceeds the threshold. */
static void check_clipping(const char *dir)
{
    sidr_params p, g, g0;
    if (sidr_params_load(&p, dir)) return;
    sidr_params_init(&g, &p.cfg);
    fill_from_ref(&g, "grad.");
    sidr_params_clone(&g0, &g);
    double norm = sidr_grad_norm(&g);
    sidr_adamw opt;
    sidr_adamw_opts o;
    sidr_adamw_defaults(&o);
    o.clip_norm = norm * 1.01;
    sidr_adamw_init(&opt, &p, &o);
    sidr_adamw_info info;
    sidr_adamw_step(&opt, &p, &g, &info);
    tap_ok(info.clip_scale == 1.0 && !memcmp(g.data, g0.data, g.n * sizeof(float)),
           "a gradient under the clip norm is left as it is");
    o.clip_norm = 0;
    sidr_adamw_free(&opt);
    sidr_adamw_init(&opt, &p, &o);
    for (size_t i = 0; i < g.n; i++) g.data[i] *= 1000;
    sidr_adamw_step(&opt, &p, &g, &info);
    tap_ok(info.clip_scale == 1.0 && fabs(info.grad_norm - 1000 * norm) < 1e-3 * norm,
           "clip_norm 0 disables clipping (norm %.4g)", info.grad_norm);
    sidr_adamw_free(&opt);
    sidr_params_free(&p);
    sidr_params_free(&g);
    sidr_params_free(&g0);
}

/* Save after step 2, resume in fresh objects from the files, step 3 must be
 * bit-identical to the uninterrupted run. */
static void check_resume(const char *dir)
{
    char tmpl[] = "/tmp/sidr-test-optim-XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tap_ok(tmp != NULL, "temporary folder")) return;
    sidr_params p, g;
    sidr_params_load(&p, dir);
    sidr_params_init(&g, &p.cfg);
    sidr_adamw opt;
    sidr_adamw_opts o;
    sidr_adamw_defaults(&o);
    o.lr = 3e-3;
    o.weight_decay = 0.01;
    o.schedule = SIDR_LR_COSINE;
    o.warmup_steps = 1;
    o.total_steps = 5;
    sidr_adamw_init(&opt, &p, &o);
    sidr_train *tr;
    sidr_train_opts to = { .max_B = 4, .max_T = 70 };
    sidr_train_new(&tr, &p, &to);
    const sidr_tensor *tt = sidr_st_find(&REF, "batch.tokens");
    sidr_batch b = { 4, 70, tt ? tt->data : NULL, ref_f32("batch.weights", NULL) };
    sidr_status s = SIDR_OK;
    /* two real training steps */
    for (int k = 0; k < 2 && !s; k++) {
        sidr_train_zero_grad(tr);
        if (!(s = sidr_train_forward(tr, &b, 0, NULL, NULL)) && !(s = sidr_train_backward_ce(tr, 0)))
            s = sidr_adamw_step(&opt, &p, sidr_train_grad(tr), NULL);
    }
    char *mdir = path_join(tmp, "ckpt"), *spath = path_join(tmp, "ckpt/optimizer.safetensors");
    if (!s) s = sidr_params_save(&p, mdir, SIDR_F32);
    if (!s) s = sidr_adamw_save(&opt, spath);
    tap_ok(!s, "parameters and optimiser state saved (%s)", s ? sidr_last_error() : "ok");
    /* step 3 uninterrupted */
    sidr_train_zero_grad(tr);
    sidr_train_forward(tr, &b, 0, NULL, NULL);
    sidr_train_backward_ce(tr, 0);
    sidr_params_copy(&g, sidr_train_grad(tr));
    sidr_adamw_info i1, i2;
    sidr_adamw_step(&opt, &p, sidr_train_grad(tr), &i1);

    /* resumed */
    sidr_params q;
    sidr_adamw opt2;
    s = sidr_params_load(&q, mdir);
    if (!s) s = sidr_adamw_init(&opt2, &q, &o);
    if (!s) s = sidr_adamw_load(&opt2, spath);
    tap_ok(!s && opt2.step == 2, "optimiser state loads (step %ld)", s ? -1L : opt2.step);
    if (!s) {
        sidr_train_use_params(tr, &q);
        sidr_train_zero_grad(tr);
        sidr_train_forward(tr, &b, 0, NULL, NULL);
        sidr_train_backward_ce(tr, 0);
        int same_grad = !memcmp(g.data, sidr_train_grad(tr)->data, g.n * sizeof(float));
        sidr_adamw_step(&opt2, &q, sidr_train_grad(tr), &i2);
        tap_ok(same_grad && i1.lr == i2.lr && !memcmp(p.data, q.data, p.n * sizeof(float)) &&
                   !memcmp(opt.m, opt2.m, p.n * sizeof(float)) && !memcmp(opt.v, opt2.v, p.n * sizeof(float)),
               "resuming from the files gives a bit-identical next step (lr %g)", i2.lr);
        sidr_adamw_free(&opt2);
        sidr_params_free(&q);
    }

    /* a state file of another layout is refused */
    sidr_params other;
    sidr_config c = p.cfg;
    c.vocab_size += 1;
    sidr_params_init(&other, &c);
    sidr_adamw opt3;
    sidr_adamw_init(&opt3, &other, &o);
    s = sidr_adamw_load(&opt3, spath);
    tap_ok(s == SIDR_ERR_SHAPE, "a state file of another parameter layout is refused: %s", sidr_last_error());
    sidr_adamw_free(&opt3);
    sidr_params_free(&other);
    s = sidr_adamw_load(&opt, "/nonexistent/optimizer.safetensors");
    tap_ok(s == SIDR_ERR_IO, "a missing state file is refused: %s", sidr_last_error());

    sidr_train_free(tr);
    sidr_adamw_free(&opt);
    sidr_params_free(&p);
    sidr_params_free(&g);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) tap_diag("could not remove %s", tmp);
    free(mdir);
    free(spath);
}

int main(void)
{
    char *dir = malloc(strlen(tap_testdir()) + 64);
    sprintf(dir, "%s/fixtures/grad/qwen2-bias", tap_testdir());
    char *rp = path_join(dir, "grad_reference.safetensors");
    sidr_status s = sidr_st_open_file(&REF, rp);
    free(rp);
    const float *hp = ref_f32("adam.hparams", NULL), *norms = ref_f32("adam.norms", NULL);
    if (!tap_ok(!s && hp && norms, "reference opens (%s)", s ? sidr_last_error() : "ok")) return tap_done();
    check_adamw(dir, hp, norms);
    check_decay_mask(dir);
    check_schedules();
    check_clipping(dir);
    check_resume(dir);
    sidr_st_close(&REF);
    free(dir);
    return tap_done();
}

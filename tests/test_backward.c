/* Parameters, the training forward and the backward against the PyTorch
 * reference of tests/ref/gen_grad_reference.py.
 *
 * For every fixture in tests/fixtures/grad: the masked cross-entropy loss and
 * per-token log-probs of a padded batch, and the gradient of every parameter
 * (max |diff| <= 1e-4 x max |reference| of each tensor), with the LM-head
 * logits kept between forward and backward and recomputed; log-probs equal
 * log_softmax of the inference engine's logits on the same live weights;
 * two half-batches accumulate to the full batch's gradient; the backward from
 * an explicit dlogp matches the cross-entropy backward; central finite
 * differences agree with chosen gradient entries at two step sizes.
 *
 * Parameters: every fixture of tests/fixtures/models loads (bf16, f16, f32,
 * sharded) to the stored values widened; saving as bf16 reproduces the
 * stored bytes, bf16 rounds to nearest even, f32 round-trips exactly;
 * config.json keeps its keys; an inference model over the parameters gives
 * the reference logits and follows later changes of the weights.
 *
 *   tests/test_backward --bench [B T]   training tokens/s on a ~5M-parameter
 *                                       Qwen3 (numbers for reports, not a test) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "backward.h"
#include "kernels.h"
#include "model_init.h"
#include "optim.h"
#include "params.h"
#include "safetensors.h"
#include "transformer.h"
#include "util.h"

static const char *GRAD_FIXTURES[] = { "qwen3-tied", "qwen3-untied-hd", "qwen2-bias" };
#define N_GRAD ((int)(sizeof GRAD_FIXTURES / sizeof GRAD_FIXTURES[0]))

/* ---- small helpers -------------------------------------------------------------- */

static char *fixture_dir(const char *group, const char *name)
{
    char *d = malloc(strlen(tap_testdir()) + strlen(group) + strlen(name) + 32);
    sprintf(d, "%s/fixtures/%s/%s", tap_testdir(), group, name);
    return d;
}

static const float *ref_f32(const sidr_safetensors *st, const char *name, int64_t *n)
{
    const sidr_tensor *t = sidr_st_find(st, name);
    if (!t || t->dtype != SIDR_F32) return NULL;
    if (n) *n = sidr_tensor_numel(t);
    return t->data;
}

static const int *ref_i32(const sidr_safetensors *st, const char *name, int64_t *n)
{
    const sidr_tensor *t = sidr_st_find(st, name);
    if (!t || t->dtype != SIDR_I32) return NULL;
    if (n) *n = sidr_tensor_numel(t);
    return t->data;
}

static float max_abs(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) > m) m = fabsf(x[i]);
    return m;
}

static float max_diff(const float *a, const float *b, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d == d) || !isfinite(a[i])) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/sidr-test-backward-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? xstrdup(d) : NULL;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
}

/* Compares every tensor of g with "<prefix><name>" of the reference:
 * max |diff| <= rel * max |ref| per tensor.  Returns the worst ratio
 * diff / tolerance (> 1 fails) and names the worst tensor. */
static double compare_params(const sidr_params *g, const sidr_safetensors *ref, const char *prefix, double rel,
                             char *worst_name, size_t wn, float *worst_diff, int *missing)
{
    double worst = 0;
    *missing = 0;
    *worst_diff = 0;
    if (worst_name) worst_name[0] = 0;
    for (int i = 0; i < g->n_views; i++) {
        const sidr_param_view *v = &g->views[i];
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, v->name);
        int64_t n;
        const float *r = ref_f32(ref, name, &n);
        if (!r || (size_t)n != v->numel) {
            (*missing)++;
            continue;
        }
        float scale = max_abs(r, v->numel);
        float tol = (float)rel * (scale > 1e-6f ? scale : 1e-6f);
        float d = max_diff(sidr_params_at(g, v), r, v->numel);
        double ratio = d / tol;
        if (!(ratio <= worst)) {
            worst = ratio;
            *worst_diff = d;
            if (worst_name) snprintf(worst_name, wn, "%s", v->name);
        }
    }
    return worst;
}

/* ---- gradient fixtures ------------------------------------------------------------ */

typedef struct {
    const char *name;
    sidr_params p;
    sidr_safetensors ref;
    int B, T;
    const int *tokens;
    const float *weights;
    const float *logp;
    float loss;
} gfix;

static int gfix_open(gfix *f, const char *name)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    char *dir = fixture_dir("grad", name);
    sidr_status s = sidr_params_load(&f->p, dir);
    if (s) {
        tap_ok(0, "%s: parameters load (%s: %s)", name, sidr_status_name(s), sidr_last_error());
        free(dir);
        return 0;
    }
    char *rp = path_join(dir, "grad_reference.safetensors");
    s = sidr_st_open_file(&f->ref, rp);
    free(rp);
    free(dir);
    if (s) {
        tap_ok(0, "%s: reference opens (%s)", name, sidr_last_error());
        return 0;
    }
    const sidr_tensor *t = sidr_st_find(&f->ref, "batch.tokens");
    const float *loss = ref_f32(&f->ref, "ref.loss", NULL);
    if (!t || t->ndim != 2 || !loss) {
        tap_ok(0, "%s: reference holds batch.tokens [B][T] and ref.loss", name);
        return 0;
    }
    f->B = (int)t->shape[0];
    f->T = (int)t->shape[1];
    f->tokens = ref_i32(&f->ref, "batch.tokens", NULL);
    f->weights = ref_f32(&f->ref, "batch.weights", NULL);
    f->logp = ref_f32(&f->ref, "ref.logp", NULL);
    f->loss = loss[0];
    return f->tokens && f->weights && f->logp;
}

static void gfix_close(gfix *f)
{
    sidr_params_free(&f->p);
    sidr_st_close(&f->ref);
}

static void check_load(gfix *f)
{
    /* every tensor of the file, nothing else, same values */
    char *dir = fixture_dir("grad", f->name);
    sidr_safetensors st;
    memset(&st, 0, sizeof st);
    int ok = sidr_st_open_dir(&st, dir) == SIDR_OK;
    free(dir);
    size_t total = 0;
    for (int i = 0; ok && i < st.n_tensors; i++) {
        const sidr_tensor *t = &st.tensors[i];
        const sidr_param_view *v = sidr_params_find(&f->p, t->name);
        ok = v && v->numel == (size_t)sidr_tensor_numel(t) &&
             memcmp(sidr_params_at(&f->p, v), t->data, v->numel * sizeof(float)) == 0;
        total += (size_t)sidr_tensor_numel(t);
    }
    int n_tensors = st.n_tensors;
    sidr_st_close(&st);
    tap_ok(ok && total == f->p.n && n_tensors == f->p.n_views,
           "%s: parameters hold every stored tensor (%d tensors, %zu floats)", f->name, f->p.n_views, f->p.n);
}

/* Runs forward + CE backward on the whole batch; returns the trainer. */
static sidr_train *run_full(gfix *f, size_t cache_bytes, float *logp, sidr_train_stats *st, int flags)
{
    sidr_train *tr;
    sidr_train_opts o = { f->B, f->T, cache_bytes, cache_bytes == 1 ? 16 : 0 };
    if (sidr_train_new(&tr, &f->p, &o)) return NULL;
    sidr_batch b = { f->B, f->T, f->tokens, f->weights };
    sidr_train_zero_grad(tr);
    if (sidr_train_forward(tr, &b, flags, logp, st) || sidr_train_backward_ce(tr, 0)) {
        sidr_train_free(tr);
        return NULL;
    }
    return tr;
}

static void check_loss_and_grads(gfix *f)
{
    int N = f->B * f->T;
    float *logp = calloc((size_t)N, sizeof(float));
    sidr_train_stats st;
    sidr_train *tr = run_full(f, 0, logp, &st, 0);
    if (!tap_ok(tr != NULL, "%s: forward and backward run (%s)", f->name, tr ? "ok" : sidr_last_error())) {
        free(logp);
        return;
    }
    double lerr = fabs(st.loss - f->loss) / fabs(f->loss);
    tap_diag("%s: loss %.7f, reference %.7f (rel diff %.2g), %d targets, weight %.1f", f->name, st.loss, f->loss,
             lerr, st.n_targets, st.weight_sum);
    tap_ok(lerr <= 1e-5, "%s: masked cross-entropy loss matches the reference", f->name);

    /* logp where weighted; 0 elsewhere */
    float worst = 0;
    int ok = 1;
    for (int i = 0; i < N; i++) {
        if (f->weights[i] != 0 && i % f->T) {
            float d = fabsf(logp[i] - f->logp[i]);
            if (!(d <= worst)) worst = d;
        } else if (logp[i] != 0) ok = 0;
    }
    tap_diag("%s: per-token logp max|diff| %.3g", f->name, worst);
    tap_ok(ok && worst <= 1e-4f * (1 + max_abs(f->logp, (size_t)N)), "%s: per-token logp of weighted targets", f->name);

    char wname[96];
    float wdiff;
    int missing;
    sidr_params *g = sidr_train_grad(tr);
    double ratio = compare_params(g, &f->ref, "grad.", 1e-4, wname, sizeof wname, &wdiff, &missing);
    tap_diag("%s: gradients: worst tensor %s, max|diff| %.3g = %.3g x tolerance (1e-4 x max|ref|)", f->name, wname,
             wdiff, ratio);
    tap_ok(!missing && ratio <= 1.0, "%s: all %d parameter gradients match the reference", f->name, g->n_views);

    /* logits recomputed in the backward instead of kept, 16 rows at a time */
    sidr_train *tr2 = run_full(f, 1, NULL, NULL, 0);
    double r2 = 0;
    if (tr2) r2 = compare_params(sidr_train_grad(tr2), &f->ref, "grad.", 1e-4, wname, sizeof wname, &wdiff, &missing);
    float dd = tr2 ? max_diff(sidr_train_grad(tr2)->data, g->data, g->n) : INFINITY;
    tap_diag("%s: recomputed-logits gradients: %.3g x tolerance, max|diff| to kept-logits run %.3g", f->name, r2, dd);
    tap_ok(tr2 && !missing && r2 <= 1.0 && dd <= 1e-6f * max_abs(g->data, g->n),
           "%s: gradients with the LM-head logits recomputed in the backward in 16-row chunks", f->name);
    sidr_train_free(tr2);

    /* a second backward on the same forward adds the same gradient again */
    sidr_params once;
    sidr_params_clone(&once, g);
    sidr_train_backward_ce(tr, 0);
    float tw = 0;
    for (size_t i = 0; i < g->n; i++) {
        float d = fabsf(g->data[i] - 2 * once.data[i]);
        if (d > tw) tw = d;
    }
    tap_ok(tw <= 1e-6f * max_abs(g->data, g->n), "%s: a repeated backward accumulates (max|diff| %.3g)", f->name, tw);
    sidr_params_free(&once);

    /* backward from an explicit dlogp: -w / sum w gives the CE gradient */
    float *dl = calloc((size_t)N, sizeof(float));
    for (int i = 0; i < N; i++) dl[i] = (i % f->T) ? -f->weights[i] / (float)st.weight_sum : 123.0f;
    sidr_batch b = { f->B, f->T, f->tokens, f->weights };
    sidr_params ce;
    sidr_params_init(&ce, &f->p.cfg);
    sidr_train_zero_grad(tr);
    sidr_train_forward(tr, &b, 0, NULL, NULL);
    sidr_train_backward_ce(tr, 0);
    sidr_params_copy(&ce, g);
    sidr_train_zero_grad(tr);
    sidr_status s = sidr_train_backward(tr, dl);
    float dx = max_diff(g->data, ce.data, g->n);
    tap_ok(!s && dx <= 1e-6f * max_abs(ce.data, ce.n),
           "%s: backward from dlogp = -w/sum(w) equals the cross-entropy backward (max|diff| %.3g)", f->name, dx);
    sidr_params_free(&ce);
    free(dl);
    sidr_train_free(tr);
    free(logp);
}

static void check_all_logp_vs_inference(gfix *f)
{
    int N = f->B * f->T, V = f->p.cfg.vocab_size;
    float *logp = calloc((size_t)N, sizeof(float));
    sidr_train *tr;
    sidr_train_opts o = { f->B, f->T, 0, 50 };
    sidr_train_new(&tr, &f->p, &o);
    sidr_batch b = { f->B, f->T, f->tokens, f->weights };
    sidr_train_stats st;
    sidr_status s = sidr_train_forward(tr, &b, SIDR_TRAIN_ALL_LOGP, logp, &st);
    float wr = 0;
    for (int i = 0; i < N; i++)
        if (i % f->T) {
            float d = fabsf(logp[i] - f->logp[i]);
            if (!(d <= wr)) wr = d;
        }
    tap_ok(!s && st.n_targets == f->B * (f->T - 1) && fabs(st.loss - f->loss) <= 1e-5 * fabs(f->loss) &&
               wr <= 1e-4f * (1 + max_abs(f->logp, (size_t)N)),
           "%s: SIDR_TRAIN_ALL_LOGP: logp at all %d targets (max|diff| %.3g), same loss", f->name, st.n_targets, wr);

    /* the inference engine on the same live weights */
    sidr_model m;
    s = sidr_model_from_params(&m, &f->p);
    sidr_state *state = sidr_state_new(&m, f->T);
    sidr_kv kv;
    sidr_kv_init(&kv, &m.cfg, f->T);
    float *logits = malloc(sizeof(float) * (size_t)f->T * V), *ls = malloc(sizeof(float) * V);
    float worst = 0;
    for (int bi = 0; bi < f->B && !s; bi++) {
        sidr_kv_reset(&kv);
        s = sidr_forward(&m, state, &kv, f->tokens + bi * f->T, f->T, logits, SIDR_LOGITS_ALL);
        for (int t = 1; t < f->T && !s; t++) {
            sidr_log_softmax(ls, logits + (size_t)(t - 1) * V, V);
            float d = fabsf(ls[f->tokens[bi * f->T + t]] - logp[bi * f->T + t]);
            if (!(d <= worst)) worst = d;
        }
    }
    tap_diag("%s: train logp vs log_softmax(sidr_forward logits): max|diff| %.3g", f->name, worst);
    tap_ok(!s && worst <= 2e-5f * (1 + max_abs(logp, (size_t)N)),
           "%s: train-forward logp equals log_softmax of the inference engine's logits", f->name);
    free(logits);
    free(ls);
    sidr_kv_free(&kv);
    sidr_state_free(state);
    sidr_model_from_params_free(&m);
    sidr_train_free(tr);
    free(logp);
}

static void check_accumulation(gfix *f)
{
    int half = f->B / 2, N = f->B * f->T;
    sidr_train_stats st;
    sidr_train *full = run_full(f, 0, NULL, &st, 0);
    sidr_train *tr;
    sidr_train_opts o = { half, f->T, 0, 24 };   /* logits kept, 24-row chunks */
    sidr_status s = sidr_train_new(&tr, &f->p, &o);
    double wsum = 0;
    for (int i = 0; i < N; i++)
        if (i % f->T) wsum += f->weights[i];
    sidr_train_zero_grad(tr);
    sidr_batch b1 = { half, f->T, f->tokens, f->weights };
    sidr_batch b2 = { f->B - half, f->T, f->tokens + half * f->T, f->weights + half * f->T };
    sidr_train_stats s1, s2;
    if (!s) s = sidr_train_forward(tr, &b1, 0, NULL, &s1);
    if (!s) s = sidr_train_backward_ce(tr, wsum);
    if (!s) s = sidr_train_forward(tr, &b2, 0, NULL, &s2);
    if (!s) s = sidr_train_backward_ce(tr, wsum);
    const sidr_params *ga = sidr_train_grad(tr), *gf = sidr_train_grad(full);
    float d = max_diff(ga->data, gf->data, gf->n), sc = max_abs(gf->data, gf->n);
    double lsum = s1.loss_sum + s2.loss_sum;
    tap_diag("%s: two half-batches vs the full batch: gradient max|diff| %.3g (max|grad| %.3g), loss sum %.7f vs %.7f",
             f->name, d, sc, lsum, st.loss_sum);
    tap_ok(!s && d <= 1e-5f * sc && fabs(lsum - st.loss_sum) <= 1e-6 * fabs(st.loss_sum),
           "%s: gradient accumulated over two half-batches equals the full batch's", f->name);
    /* a batch above capacity is refused */
    sidr_batch big = { f->B, f->T, f->tokens, f->weights };
    tap_ok(sidr_train_forward(tr, &big, 0, NULL, NULL) == SIDR_ERR_RANGE,
           "%s: a batch above the trainer's capacity is refused", f->name);
    sidr_train_free(tr);
    sidr_train_free(full);
}

/* Central differences of the loss in chosen entries (the largest reference
 * gradient of several tensors) at steps h and h/2, double-checked: the
 * Richardson extrapolation (4 D(h/2) - D(h)) / 3, which cancels the h^2 error
 * term, must match the analytic gradient tightly, and the plain difference
 * must get closer to it when the step halves (or already be within noise). */
static void check_finite_differences(gfix *f)
{
    const sidr_config *c = &f->p.cfg;
    char names[8][96];
    int n_names = 0;
    snprintf(names[n_names++], 96, "model.embed_tokens.weight");
    snprintf(names[n_names++], 96, "model.layers.0.self_attn.q_proj.weight");
    snprintf(names[n_names++], 96, "model.layers.0.self_attn.k_proj.weight");
    snprintf(names[n_names++], 96, "model.layers.%d.mlp.down_proj.weight", c->n_layers - 1);
    snprintf(names[n_names++], 96, "model.layers.0.input_layernorm.weight");
    if (c->qk_norm) snprintf(names[n_names++], 96, "model.layers.1.self_attn.k_norm.weight");
    if (c->qkv_bias) snprintf(names[n_names++], 96, "model.layers.1.self_attn.q_proj.bias");
    snprintf(names[n_names++], 96, c->tie_embeddings ? "model.norm.weight" : "lm_head.weight");

    sidr_train *tr;
    sidr_train_opts o = { .max_B = f->B, .max_T = f->T };
    sidr_train_new(&tr, &f->p, &o);
    sidr_batch b = { f->B, f->T, f->tokens, f->weights };
    int ok = 1;
    double worst = 0;
    for (int k = 0; k < n_names; k++) {
        const sidr_param_view *v = sidr_params_find(&f->p, names[k]);
        char rn[160];
        snprintf(rn, sizeof rn, "grad.%.100s", names[k]);
        const float *rg = ref_f32(&f->ref, rn, NULL);
        if (!v || !rg) { ok = 0; continue; }
        size_t best = 0;
        for (size_t i = 1; i < v->numel; i++)
            if (fabsf(rg[i]) > fabsf(rg[best])) best = i;
        float *w = sidr_params_at(&f->p, v) + best, w0 = *w;
        double g = rg[best], fd[2];
        for (int pass = 0; pass < 2; pass++) {
            double h = (pass ? 5e-3 : 1e-2) * (fabs(w0) > 1 ? fabs(w0) : 1.0);
            sidr_train_stats sp, sm;
            *w = (float)(w0 + h);
            double hp = (double)*w - w0;
            sidr_train_forward(tr, &b, 0, NULL, &sp);
            *w = (float)(w0 - h);
            double hm = w0 - (double)*w;
            sidr_train_forward(tr, &b, 0, NULL, &sm);
            *w = w0;
            fd[pass] = (sp.loss - sm.loss) / (hp + hm);
        }
        double rich = (4 * fd[1] - fd[0]) / 3;
        double tol = 1e-3 * fabs(g) + 1e-4;
        double e0 = fabs(fd[0] - g), e1 = fabs(fd[1] - g), er = fabs(rich - g);
        double r = er / tol;
        if (r > worst) worst = r;
        if (!(r <= 1.0) || !(e1 <= e0 || e1 <= tol)) {
            ok = 0;
            tap_diag("  %s[%zu]: analytic %.6g, finite differences %.6g (h) / %.6g (h/2), extrapolated %.6g", names[k],
                     best, g, fd[0], fd[1], rich);
        }
    }
    tap_diag("%s: finite differences on %d entries: worst extrapolated error %.3g x tolerance (1e-3 |g| + 1e-4)",
             f->name, n_names, worst);
    tap_ok(ok, "%s: finite differences (steps h, h/2, extrapolated) agree with the reference gradient", f->name);
    sidr_train_free(tr);
}

/* The reference gradient should also be what our own backward gives under a
 * different objective: a GRPO-like sum of r_t * logp_t is linear in dlogp. */
static void check_dlogp_linearity(gfix *f)
{
    int N = f->B * f->T;
    sidr_train *tr;
    sidr_train_opts o = { .max_B = f->B, .max_T = f->T };
    sidr_train_new(&tr, &f->p, &o);
    sidr_batch b = { f->B, f->T, f->tokens, f->weights };
    float *r1 = malloc(sizeof(float) * N), *r2 = malloc(sizeof(float) * N), *r3 = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) {
        r1[i] = (float)sin(1.0 + i);
        r2[i] = (float)cos(2.0 * i);
        r3[i] = 2 * r1[i] - 3 * r2[i];
    }
    sidr_params g1, g2;
    sidr_train_forward(tr, &b, 0, NULL, NULL);
    sidr_train_zero_grad(tr);
    sidr_train_backward(tr, r1);
    sidr_params_clone(&g1, sidr_train_grad(tr));
    sidr_train_zero_grad(tr);
    sidr_train_backward(tr, r2);
    sidr_params_clone(&g2, sidr_train_grad(tr));
    sidr_train_zero_grad(tr);
    sidr_train_backward(tr, r3);
    const sidr_params *g3 = sidr_train_grad(tr);
    float worst = 0, sc = max_abs(g3->data, g3->n);
    for (size_t i = 0; i < g3->n; i++) {
        float d = fabsf(g3->data[i] - (2 * g1.data[i] - 3 * g2.data[i]));
        if (d > worst) worst = d;
    }
    tap_ok(worst <= 1e-5f * sc, "%s: the dlogp backward is linear in dlogp (max|diff| %.3g)", f->name, worst);
    sidr_params_free(&g1);
    sidr_params_free(&g2);
    free(r1);
    free(r2);
    free(r3);
    sidr_train_free(tr);
}

/* ---- parameters on the inference fixtures ---------------------------------------- */

static const char *MODEL_FIXTURES[] = { "qwen3-tied-bf16", "qwen3-hd32-f32", "qwen2-bias-f32", "llama-f16",
                                        "qwen3-sharded-f32" };

static int file_contains(const char *path, const char *needle)
{
    char *text;
    if (read_file(path, &text, NULL)) return 0;
    int r = strstr(text, needle) != NULL;
    free(text);
    return r;
}

static void check_model_fixture(const char *name, const char *tmp)
{
    char *dir = fixture_dir("models", name);
    sidr_params p;
    sidr_status s = sidr_params_load(&p, dir);
    if (!tap_ok(!s, "%s: parameters load (%s)", name, s ? sidr_last_error() : "ok")) {
        free(dir);
        return;
    }
    /* values: the stored ones widened */
    sidr_safetensors st;
    memset(&st, 0, sizeof st);
    sidr_st_open_dir(&st, dir);
    int ok = 1;
    sidr_dtype dt = st.tensors[0].dtype;
    float *buf = NULL;
    for (int i = 0; i < st.n_tensors && ok; i++) {
        const sidr_tensor *t = &st.tensors[i];
        const sidr_param_view *v = sidr_params_find(&p, t->name);
        size_t n = (size_t)sidr_tensor_numel(t);
        buf = realloc(buf, n * sizeof(float));
        sidr_tensor_to_f32(t, 0, n, buf);
        ok = v && v->numel == n && memcmp(buf, sidr_params_at(&p, v), n * sizeof(float)) == 0;
    }
    tap_ok(ok && st.n_tensors == p.n_views, "%s: %s values widened exactly into %zu f32 parameters", name,
           sidr_dtype_name(dt), p.n);

    /* an inference model over the parameters gives the reference logits */
    sidr_safetensors ref;
    memset(&ref, 0, sizeof ref);
    char *rp = path_join(dir, "reference.safetensors");
    s = sidr_st_open_file(&ref, rp);
    free(rp);
    const int *toks = ref_i32(&ref, "case3.tokens", NULL);
    int64_t nl = 0;
    const float *want = ref_f32(&ref, "case3.logits", &nl);
    sidr_model m;
    sidr_model_from_params(&m, &p);
    int V = m.cfg.vocab_size, T = (int)(nl / V);
    sidr_state *state = sidr_state_new(&m, 64);
    sidr_kv kv;
    sidr_kv_init(&kv, &m.cfg, 64);
    float *logits = malloc(sizeof(float) * (size_t)T * V);
    if (!s && toks && want) s = sidr_forward(&m, state, &kv, toks, T, logits, SIDR_LOGITS_ALL);
    float scale = want ? max_abs(want, (size_t)nl) : 1, d = want ? max_diff(logits, want, (size_t)nl) : INFINITY;
    float rel = dt == SIDR_F32 ? 1e-4f : 1e-2f;
    tap_diag("%s: model over parameters vs reference logits: max|diff| %.3g (scale %.3g)", name, d, scale);
    tap_ok(!s && m.embed.dtype == SIDR_F32 && d <= rel * scale, "%s: inference model over the f32 parameters gives "
           "the reference logits", name);

    /* saving in the source dtype reproduces the file's bytes */
    char *out = path_join(tmp, name);
    sidr_dtype save_dt = dt;
    s = sidr_params_save(&p, out, save_dt);
    sidr_safetensors back;
    memset(&back, 0, sizeof back);
    ok = !s && sidr_st_open_dir(&back, out) == SIDR_OK;
    for (int i = 0; ok && i < st.n_tensors; i++) {
        const sidr_tensor *a = &st.tensors[i], *b = sidr_st_find(&back, a->name);
        ok = b && b->dtype == a->dtype && b->nbytes == a->nbytes && !memcmp(a->data, b->data, a->nbytes);
    }
    ok = ok && back.n_tensors == st.n_tensors && back.n_files == 1;
    if (!s) sidr_st_close(&back);
    tap_ok(ok, "%s: saved as %s, every tensor's bytes equal the source's (%s)", name, sidr_dtype_name(save_dt),
           s ? sidr_last_error() : "single model.safetensors");
    char *cfg = path_join(out, "config.json");
    const char *tdn = save_dt == SIDR_BF16 ? "\"bfloat16\"" : save_dt == SIDR_F16 ? "\"float16\"" : "\"float32\"";
    tap_ok(file_contains(cfg, tdn) && file_contains(cfg, "\"initializer_range\"") &&
               file_contains(cfg, "\"bos_token_id\""),
           "%s: saved config.json keeps the source keys with torch_dtype %s", name, tdn);
    free(cfg);

    /* the saved folder loads in the inference engine and gives the same logits */
    sidr_model m2;
    s = sidr_model_load(&m2, out);
    float d2 = INFINITY;
    if (!s && toks) {
        sidr_state *s2 = sidr_state_new(&m2, 64);
        sidr_kv kv2;
        sidr_kv_init(&kv2, &m2.cfg, 64);
        float *l2 = malloc(sizeof(float) * (size_t)T * V);
        if (!sidr_forward(&m2, s2, &kv2, toks, T, l2, SIDR_LOGITS_ALL)) d2 = max_diff(l2, want, (size_t)nl);
        free(l2);
        sidr_kv_free(&kv2);
        sidr_state_free(s2);
        sidr_model_free(&m2);
    }
    tap_ok(d2 <= rel * scale, "%s: the saved folder loads with sidr_model_load (max|diff| %.3g)", name, d2);

    /* the inference model follows changes of the live parameters */
    for (size_t i = 0; i < (size_t)m.cfg.dim; i++) p.final_norm[i] *= 2.0f;
    for (int l = 0; l < p.cfg.n_layers; l++) p.layers[l].ffn_norm[0] += 0.5f;
    float *l3 = malloc(sizeof(float) * (size_t)T * V);
    sidr_kv_reset(&kv);
    sidr_forward(&m, state, &kv, toks, T, l3, SIDR_LOGITS_ALL);
    sidr_params f32p;
    sidr_params_clone(&f32p, &p);
    char *out2 = path_join(tmp, "changed");
    sidr_params_save(&f32p, out2, SIDR_F32);
    sidr_model m3;
    float d3 = INFINITY;
    if (!sidr_model_load(&m3, out2)) {
        sidr_state *s3 = sidr_state_new(&m3, 64);
        sidr_kv kv3;
        sidr_kv_init(&kv3, &m3.cfg, 64);
        float *l4 = malloc(sizeof(float) * (size_t)T * V);
        if (!sidr_forward(&m3, s3, &kv3, toks, T, l4, SIDR_LOGITS_ALL)) d3 = max_diff(l3, l4, (size_t)T * V);
        free(l4);
        sidr_kv_free(&kv3);
        sidr_state_free(s3);
        sidr_model_free(&m3);
    }
    tap_ok(d3 <= 1e-5f * max_abs(l3, (size_t)T * V) && max_diff(l3, logits, (size_t)T * V) > 1e-3f,
           "%s: the model over the parameters sees later weight changes (vs a saved f32 copy: %.3g)", name, d3);
    free(l3);
    free(out2);
    sidr_params_free(&f32p);

    free(logits);
    sidr_kv_free(&kv);
    sidr_state_free(state);
    sidr_model_from_params_free(&m);
    if (want) sidr_st_close(&ref);
    free(buf);
    sidr_st_close(&st);
    free(out);
    sidr_params_free(&p);
    free(dir);
}

static void check_bf16_rounding_and_assets(const char *tmp)
{
    char *dir = fixture_dir("models", "qwen3-tied-bf16");
    sidr_params p;
    if (sidr_params_load(&p, dir)) {
        tap_ok(0, "bf16 rounding: fixture loads (%s)", sidr_last_error());
        free(dir);
        return;
    }
    /* halfway cases round to even; others to nearest */
    const float in[6] = { 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -(1.0f + 0x1p-8f), 1.0f + 0x1p-8f + 0x1p-20f,
                          3.0e-39f, 65504.0f };
    const uint16_t want[6] = { 0x3f80, 0x3f82, 0xbf80, 0x3f81, 0x0021, 0x4780 };
    memcpy(p.final_norm, in, sizeof in);
    char *out = path_join(tmp, "bf16-rounding");
    sidr_status s = sidr_params_save(&p, out, SIDR_BF16);
    sidr_safetensors st;
    memset(&st, 0, sizeof st);
    int ok = !s && !sidr_st_open_dir(&st, out);
    const sidr_tensor *t = ok ? sidr_st_find(&st, "model.norm.weight") : NULL;
    ok = t && t->dtype == SIDR_BF16;
    for (int i = 0; ok && i < 6; i++) {
        uint16_t h;
        memcpy(&h, (const uint16_t *)t->data + i, 2);
        if (h != want[i]) {
            tap_diag("  %.9g saved as 0x%04x, expected 0x%04x", in[i], h, want[i]);
            ok = 0;
        }
    }
    if (t) sidr_st_close(&st);
    tap_ok(ok, "bf16 save rounds to nearest even (halfway cases, signs, subnormals)");

    /* assets copy; saving twice into the same folder replaces the files */
    s = sidr_params_copy_assets(dir, out);
    char *gc = path_join(out, "generation_config.json");
    tap_ok(!s && file_contains(gc, "\"top_k\""), "tokenizer / generation files are copied next to the weights");
    free(gc);
    s = sidr_params_save(&p, out, SIDR_F32);
    sidr_params q;
    ok = !s && !sidr_params_load(&q, out);
    tap_ok(ok && !memcmp(q.data, p.data, p.n * sizeof(float)), "an f32 save reloads bit for bit");
    if (ok) sidr_params_free(&q);

    /* a shape that disagrees with config.json is refused with a message */
    char *bad = path_join(tmp, "bad-shape");
    mkdir(bad, 0777);
    char *src_st = path_join(out, "model.safetensors"), *dst_st = path_join(bad, "model.safetensors");
    int linked = symlink(src_st, dst_st) == 0;
    char *cfgp = path_join(bad, "config.json");
    FILE *fc = fopen(cfgp, "w");
    if (fc) {
        fprintf(fc, "{\"architectures\":[\"Qwen3ForCausalLM\"],\"model_type\":\"qwen3\",\"hidden_size\":64,"
                    "\"intermediate_size\":161,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                    "\"num_key_value_heads\":2,\"head_dim\":16,\"vocab_size\":1031,\"tie_word_embeddings\":true}\n");
        fclose(fc);
    }
    sidr_params r;
    s = linked && fc ? sidr_params_load(&r, bad) : SIDR_ERR_IO;
    tap_ok(s == SIDR_ERR_SHAPE && strstr(sidr_last_error(), "gate_proj") && strstr(sidr_last_error(), "161"),
           "a tensor shape against config.json is refused: %s", sidr_last_error());
    s = sidr_params_load(&r, "/nonexistent/sidr-model");
    tap_ok(s == SIDR_ERR_IO, "a missing folder is refused: %s", sidr_last_error());
    free(cfgp);
    free(src_st);
    free(dst_st);
    free(bad);
    free(out);
    sidr_params_free(&p);
    free(dir);
}

/* Parameters built from a config alone (no source folder) save a config.json
 * of their own that both loaders accept. */
static void check_fresh_params(const char *tmp)
{
    sidr_config c;
    memset(&c, 0, sizeof c);
    c.arch = SIDR_ARCH_QWEN2;
    c.dim = 16; c.hidden_dim = 24; c.n_layers = 1; c.n_heads = 2; c.n_kv_heads = 1; c.head_dim = 8;
    c.vocab_size = 11; c.max_seq = 64; c.norm_eps = 1e-6f; c.rope_theta = 10000.0f; c.qkv_bias = 1;
    c.bos_id = c.eos_id = -1;
    sidr_params p, q;
    sidr_status s = sidr_params_init(&p, &c);
    for (size_t i = 0; !s && i < p.n; i++) p.data[i] = (float)((int)(i * 7919 % 201) - 100) / 128.0f;
    char *out = path_join(tmp, "fresh");
    if (!s) s = sidr_params_save(&p, out, SIDR_F32);
    int ok = !s && !sidr_params_load(&q, out);
    ok = ok && q.n == p.n && q.cfg.qkv_bias && !q.cfg.tie_embeddings && !memcmp(q.data, p.data, p.n * sizeof(float));
    sidr_model m;
    int mok = !s && !sidr_model_load(&m, out);
    if (mok) sidr_model_free(&m);
    tap_ok(ok && mok && p.n_views == 1 + 12 + 2, "parameters from a config alone save a folder both loaders accept "
           "(%zu floats, %d tensors)", p.n, p.n_views);
    if (ok) sidr_params_free(&q);
    sidr_params_free(&p);
    c.n_heads = 3;
    c.n_kv_heads = 2;
    tap_ok(sidr_params_init(&p, &c) == SIDR_ERR_ARG, "inconsistent sizes are refused: %s", sidr_last_error());
    free(out);
}

/* ---- benchmark -------------------------------------------------------------------- */

static int bench(int B, int T)
{
    sidr_config c;
    sidr_config_qwen3_preset(&c, "tiny");
    sidr_params p;
    sidr_params_init(&p, &c);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < p.n_views; i++) {
        const sidr_param_view *v = &p.views[i];
        float *d = sidr_params_at(&p, v);
        for (size_t k = 0; k < v->numel; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            float u = (float)((x >> 11) * 0x1.0p-53) - 0.5f;
            d[k] = v->kind == SIDR_PARAM_NORM ? 1.0f : v->kind == SIDR_PARAM_BIAS ? 0.0f : 0.05f * u;
        }
    }
    int N = B * T;
    int *tok = malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        tok[i] = (int)(x % (uint64_t)c.vocab_size);
    }
    sidr_train *tr;
    sidr_train_opts o = { .max_B = B, .max_T = T };
    if (sidr_train_new(&tr, &p, &o)) { fprintf(stderr, "%s\n", sidr_last_error()); return 1; }
    sidr_adamw opt;
    sidr_adamw_opts ao;
    sidr_adamw_defaults(&ao);
    ao.lr = 1e-4;
    sidr_adamw_init(&opt, &p, &ao);
    sidr_batch b = { B, T, tok, NULL };
    double tf = 0, tb = 0, to = 0;
    int steps = 6;
    for (int it = 0; it <= steps; it++) {
        sidr_train_stats st;
        double t0 = now_seconds();
        sidr_train_zero_grad(tr);
        sidr_train_forward(tr, &b, 0, NULL, &st);
        double t1 = now_seconds();
        sidr_train_backward_ce(tr, 0);
        double t2 = now_seconds();
        sidr_adamw_info info;
        sidr_adamw_step(&opt, &p, sidr_train_grad(tr), &info);
        double t3 = now_seconds();
        if (it == 0) continue;   /* warm-up */
        tf += t1 - t0;
        tb += t2 - t1;
        to += t3 - t2;
        printf("step %d: loss %.4f  grad norm %.3f  %.3f s\n", it, st.loss, info.grad_norm, t3 - t0);
    }
    double tot = tf + tb + to;
    printf("model: Qwen3 tiny preset, %lld parameters (dim %d, %d layers, vocab %d); batch %d x %d; kernels %s\n",
           (long long)p.n, c.dim, c.n_layers, c.vocab_size, B, T, sidr_kernels_name());
    printf("per step: forward %.3f s, backward %.3f s, AdamW %.4f s; %.0f training tokens/s "
           "(forward only %.0f tokens/s)\n",
           tf / steps, tb / steps, to / steps, N * steps / tot, N * steps / tf);
    double flops = 6.0 * (double)p.n * N;
    printf("~%.1f GFLOP/s (6 x params x tokens, attention not counted)\n", flops * steps / tot / 1e9);
    sidr_adamw_free(&opt);
    sidr_train_free(tr);
    sidr_params_free(&p);
    free(tok);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--bench"))
        return bench(argc > 2 ? atoi(argv[2]) : 8, argc > 3 ? atoi(argv[3]) : 128);
    for (int i = 0; i < N_GRAD; i++) {
        gfix f;
        if (gfix_open(&f, GRAD_FIXTURES[i])) {
            check_load(&f);
            check_loss_and_grads(&f);
            check_all_logp_vs_inference(&f);
            check_accumulation(&f);
            check_dlogp_linearity(&f);
            check_finite_differences(&f);
        }
        gfix_close(&f);
    }
    char *tmp = make_tmpdir();
    if (!tmp) {
        tap_ok(0, "temporary folder");
        return tap_done();
    }
    for (size_t i = 0; i < sizeof MODEL_FIXTURES / sizeof MODEL_FIXTURES[0]; i++) check_model_fixture(MODEL_FIXTURES[i], tmp);
    check_bf16_rounding_and_assets(tmp);
    check_fresh_params(tmp);
    rm_rf(tmp);
    free(tmp);
    return tap_done();
}

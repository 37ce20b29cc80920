/* RQ-VAE Semantic IDs on synthetic clustered embeddings: training lowers the
 * loss and beats the mean-vector baseline, codes are deterministic for a seed
 * and unique after collision handling, bad arguments fail clearly, and the
 * hand-written backward matches finite differences of the straight-through
 * surrogate. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rqvae.h"
#include "tap.h"
#include "util.h"

static uint64_t rng_state = 777;
static double urand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double nrand(void)
{
    double u1 = urand() + 1e-12, u2 = urand();
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* n rows in d dims around a two-level hierarchy of centres (coarse groups,
 * finer sub-clusters), interleaved so that order carries no information. */
static float *clustered(int n, int d, int groups, int subs)
{
    float *g = malloc(sizeof(float) * groups * d), *c = malloc(sizeof(float) * groups * subs * d);
    float *x = malloc(sizeof(float) * n * d);
    for (int i = 0; i < groups * d; i++) g[i] = (float)(2.0 * nrand());
    for (int k = 0; k < groups * subs; k++)
        for (int j = 0; j < d; j++) c[k * d + j] = g[(k / subs) * d + j] + (float)(0.6 * nrand());
    for (int i = 0; i < n; i++) {
        int k = i % (groups * subs);
        for (int j = 0; j < d; j++) x[i * d + j] = c[k * d + j] + (float)(0.15 * nrand());
    }
    free(g);
    free(c);
    return x;
}

static void small_opts(sidr_rqvae_opts *o)
{
    sidr_rqvae_defaults(o);
    o->latent = 8;
    o->n_hidden = 2;
    o->hidden[0] = 64;
    o->hidden[1] = 32;
    o->epochs = 40;
    o->batch = 64;
    o->eval_every = 10;
    o->rq.levels = 3;
    o->rq.codes = 32;
}

static int progress_calls;
static int count_progress(void *user, const sidr_rqvae_progress *p)
{
    (void)p;
    progress_calls++;
    return user != NULL && progress_calls >= 3; /* non-NULL user: cancel at epoch 3 */
}

static void test_training(void)
{
    const int n = 600, d = 16;
    float *x = clustered(n, d, 6, 8);
    sidr_rqvae_opts o;
    small_opts(&o);
    o.progress = count_progress;
    sidr_rqvae_result r, r2, r3;
    sidr_status s = sidr_rqvae_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_OK && r.epochs == 40 && r.steps == 40 * 10, "RQ-VAE trains 40 epochs x 10 batches (%s)",
           s ? sidr_last_error() : "ok");
    if (s) { free(x); return; }
    tap_ok(progress_calls == 40, "progress called once per epoch (%d)", progress_calls);
    double first = r.epoch_loss[0], last = r.epoch_loss[r.epochs - 1];
    tap_ok(last < 0.5 * first, "training loss falls: epoch 1 %.4f -> epoch %d %.4f", first, r.epochs, last);
    tap_ok(r.epoch_recon[r.epochs - 1] < r.epoch_recon[0], "reconstruction loss falls: %.4f -> %.4f", r.epoch_recon[0],
           r.epoch_recon[r.epochs - 1]);
    tap_ok(r.recon_mse < 0.5 * r.baseline_mse, "reconstruction with the final codes %.4f beats the mean vector %.4f",
           r.recon_mse, r.baseline_mse);
    tap_ok(r.rq.level_mse[3] < r.rq.level_mse[1] && r.rq.level_mse[1] < r.rq.level_mse[0],
           "latent residual falls level by level: %.4f %.4f %.4f %.4f", r.rq.level_mse[0], r.rq.level_mse[1],
           r.rq.level_mse[2], r.rq.level_mse[3]);
    tap_ok(r.rq.dim == 8 && r.rq.codes == 32 && r.rq.depth == 3 && r.best_epoch >= 10 && r.best_epoch <= 40,
           "codebooks live in the 8-dim latent; kept the weights of epoch %d", r.best_epoch);
    int ok = 1;
    for (int i = 0; i < n * 3; i++) ok &= r.rq.code[i] >= 0 && r.rq.code[i] < 32;
    tap_ok(ok, "every code is in range");
    int groups = sidr_sid_collisions(r.rq.code, n, 3, 3, NULL, NULL);
    tap_ok(r.rq.collisions_final == 0 && groups == 0,
           "every item has its own SID after collision handling (%d plain collisions, %d items moved)",
           r.rq.collisions_plain, r.rq.moved);
    sidr_sid_stats st;
    sidr_sid_stats_compute(r.rq.code, n, 3, NULL, &st);
    tap_diag("codes used per level: %d %d %d of 32; plain collision rate %.3f, %d dead codes restarted", st.used[0], st.used[1], st.used[2],
             r.best_collision_rate, r.revived);

    progress_calls = 0;
    o.progress = NULL;
    s = sidr_rqvae_build(x, n, d, &o, &r2);
    tap_ok(s == SIDR_OK && !memcmp(r.rq.code, r2.rq.code, sizeof(int32_t) * n * 3) &&
           !memcmp(r.rq.codebooks, r2.rq.codebooks, sizeof(float) * 3 * 32 * 8) &&
           !memcmp(r.model.p.data, r2.model.p.data, sizeof(float) * r.model.p.n),
           "same seed => identical weights, codebooks and codes");
    o.seed = 7;
    s = sidr_rqvae_build(x, n, d, &o, &r3);
    tap_ok(s == SIDR_OK && memcmp(r.rq.code, r3.rq.code, sizeof(int32_t) * n * 3) != 0,
           "another seed => other codes");
    sidr_rqvae_result_free(&r2);
    sidr_rqvae_result_free(&r3);

    /* the collision handling is the k-means path's: --no-resolve keeps them, --dedup-level numbers them */
    o.seed = 42;
    o.rq.resolve = 0;
    o.rq.dedup_level = 1;
    o.epochs = 5;
    s = sidr_rqvae_build(x, n, d, &o, &r2);
    tap_ok(s == SIDR_OK && r2.rq.depth == 4 && r2.rq.collisions_final == r2.rq.collisions_plain &&
           sidr_sid_collisions(r2.rq.code, n, 4, 4, NULL, NULL) == 0,
           "without re-assignment collisions stay (%d), and the dedup level separates them", r2.rq.collisions_final);
    sidr_rqvae_result_free(&r2);

    /* cancelling from the progress callback */
    progress_calls = 0;
    o.progress = count_progress;
    o.user = &o;
    s = sidr_rqvae_build(x, n, d, &o, &r2);
    tap_ok(s == SIDR_ERR_CANCELLED && progress_calls == 3, "a nonzero progress return cancels: %s", sidr_last_error());
    sidr_rqvae_result_free(&r);
    free(x);
}

static void test_bad_args(void)
{
    const int n = 50, d = 6;
    float *x = clustered(n, d, 2, 3);
    sidr_rqvae_opts o;
    small_opts(&o);
    o.epochs = 1;
    sidr_rqvae_result r;
    o.rq.codes = 0;
    sidr_status s = sidr_rqvae_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "codes"), "codes 0: %s", sidr_last_error());
    o.rq.codes = 64;
    s = sidr_rqvae_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "exceeds"), "more codes than items: %s", sidr_last_error());
    o.rq.codes = 4;
    s = sidr_rqvae_build(x, 0, d, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "no items"), "no embeddings: %s", sidr_last_error());
    s = sidr_rqvae_build(x, n, 0, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "dimension"), "0-dimensional embeddings: %s",
           sidr_last_error());
    x[7] = NAN;
    s = sidr_rqvae_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "non-finite"), "NaN in the input: %s", sidr_last_error());
    x[7] = 0;
    o.hidden[1] = 0;
    s = sidr_rqvae_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "hidden layer 2"), "a 0-unit hidden layer: %s",
           sidr_last_error());
    o.hidden[1] = 8;
    o.latent = 0;
    s = sidr_rqvae_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "latent"), "latent 0: %s", sidr_last_error());
    o.latent = 4;
    o.batch = 0;
    s = sidr_rqvae_build(x, n, d, &o, &r);
    tap_ok(s == SIDR_ERR_ARG && strstr(sidr_last_error(), "batch"), "batch 0: %s", sidr_last_error());
    o.batch = 16;
    /* a model fed embeddings of another size */
    sidr_rqvae m;
    s = sidr_rqvae_init(&m, d, &o);
    float z[4 * 4];
    sidr_status s2 = sidr_rqvae_encode(&m, x, 4, d + 1, z);
    tap_ok(s == SIDR_OK && s2 == SIDR_ERR_SHAPE && strstr(sidr_last_error(), "7-dimensional"),
           "mismatched dimensions: %s", sidr_last_error());
    sidr_rqvae_free(&m);

    int h[SIDR_RQVAE_MAX_HIDDEN];
    int nh = sidr_rqvae_default_hidden(64, 32, h);
    tap_ok(nh == 4 && h[0] == 512 && h[1] == 256 && h[2] == 128 && h[3] == 64,
           "default hidden sizes for 64-dim embeddings, latent 32: 512 256 128 64");
    free(x);
}

/* Central differences of the frozen (straight-through surrogate) loss against
 * the backward, over every weight of one tensor group. */
static double fd_check(sidr_rqvae *m, sidr_rqvae_work *w, const float *x, int b, const sidr_params *g, size_t off,
                       size_t cnt, double h)
{
    double num = 0, den = 0;
    for (size_t i = off; i < off + cnt; i++) {
        float keep = m->p.data[i];
        sidr_rqvae_loss lp, lm;
        m->p.data[i] = keep + (float)h;
        sidr_rqvae_batch(m, w, x, b, 0.25, 1.0, 1, NULL, &lp);
        m->p.data[i] = keep - (float)h;
        sidr_rqvae_batch(m, w, x, b, 0.25, 1.0, 1, NULL, &lm);
        m->p.data[i] = keep;
        double fd = (lp.loss - lm.loss) / ((double)(keep + (float)h) - (double)(keep - (float)h)); /* steps as stored */
        num += (fd - g->data[i]) * (fd - g->data[i]);
        den += (double)g->data[i] * g->data[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static void test_gradient(void)
{
    const int b = 7, d = 5;
    float *x = clustered(b, d, 2, 2);
    sidr_rqvae_opts o;
    sidr_rqvae_defaults(&o);
    o.latent = 3;
    o.n_hidden = 1;
    o.hidden[0] = 6;
    o.rq.levels = 2;
    o.rq.codes = 3;
    sidr_rqvae m;
    sidr_status s = sidr_rqvae_init(&m, d, &o);
    if (!s) s = sidr_rqvae_init_codebooks(&m, x, b, 20, 1);
    /* move the codebooks off the k-means optimum so that their gradient is not ~0 */
    for (int i = 0; i < 2 * 3 * 3; i++) m.codebook[i] += (float)(0.3 * nrand());
    sidr_rqvae_work w;
    sidr_rqvae_work_init(&w, &m, b);
    sidr_params g;
    sidr_rqvae_params_like(&g, &m);
    sidr_rqvae_loss base, frozen;
    if (!s) s = sidr_rqvae_batch(&m, &w, x, b, 0.25, 1.0, 0, &g, &base);
    sidr_rqvae_batch(&m, &w, x, b, 0.25, 1.0, 1, NULL, &frozen);
    tap_ok(s == SIDR_OK && fabs(base.loss - frozen.loss) < 1e-12 && base.quant > 0 && base.recon > 0,
           "tiny instance: loss %.5f (reconstruction %.5f, quantisation %.5f), the frozen pass agrees", base.loss,
           base.recon, base.quant);
    const sidr_param_view *v = m.p.views;
    /* encoder: layers 0 and 1 (weight, bias); decoder: views 4..7; codebooks 8, 9 */
    size_t enc_n = v[3].offset + v[3].numel, dec_off = v[4].offset, dec_n = v[7].offset + v[7].numel - dec_off;
    size_t cb_off = v[8].offset, cb_n = v[9].offset + v[9].numel - cb_off;
    double e_enc = fd_check(&m, &w, x, b, &g, 0, enc_n, 1e-3);
    double e_dec = fd_check(&m, &w, x, b, &g, dec_off, dec_n, 1e-3);
    double e_cb = fd_check(&m, &w, x, b, &g, cb_off, cb_n, 1e-3);
    tap_ok(e_enc <= 1e-3, "encoder weight gradient matches finite differences (relative error %.2e)", e_enc);
    tap_ok(e_dec <= 1e-3, "decoder weight gradient matches finite differences (relative error %.2e)", e_dec);
    tap_ok(e_cb <= 1e-3, "codebook gradient matches finite differences (relative error %.2e)", e_cb);
    /* the encoder gradient is not the reconstruction's alone: level 0's commitment pulls z */
    sidr_params g0;
    sidr_rqvae_params_like(&g0, &m);
    sidr_rqvae_batch(&m, &w, x, b, 0.0, 1.0, 0, &g0, NULL);
    double diff = 0;
    for (size_t i = 0; i < enc_n; i++) diff += fabs(g0.data[i] - g.data[i]);
    tap_ok(diff > 1e-6, "beta enters the encoder gradient (|delta| %.3g)", diff);
    sidr_params_free(&g0);
    sidr_params_free(&g);
    sidr_rqvae_work_free(&w);
    sidr_rqvae_free(&m);
    free(x);
}

int main(void)
{
    test_training();
    test_bad_args();
    test_gradient();
    return tap_done();
}

/* RQ-VAE Semantic IDs: the quantiser of the paper (SPEC §1.1), trained the
 * way MiniOneRec's rq/ trains it.
 *
 *   encoder   x (in) -> Linear+ReLU -> ... -> Linear -> z (latent)
 *   quantiser r_0 = z; level l takes the nearest code e_l of codebook l to
 *             r_l and r_{l+1} = r_l - e_l; z_q = sum_l e_l
 *   decoder   the encoder's layer sizes reversed, z_q -> x_hat (in)
 *
 *   loss = mse(x_hat, x) + quant_weight * mean_l [ mse(e_l, sg r_l) + beta * mse(sg e_l, r_l) ]
 *
 * with mse the mean over elements and sg a stop-gradient.  The decoder sees
 * z + sg(z_q - z) (straight-through), so the reconstruction gradient reaches
 * the encoder unchanged and never the codebooks.  As in MiniOneRec's graph,
 * r_l for l >= 1 is r_{l-1} minus a straight-through copy of itself and so
 * carries no gradient: only level 0's commitment term pulls the encoder.
 *
 * Training: Xavier-normal weights and zero biases; codebooks initialised
 * level by level by k-means on the residuals of a first batch; AdamW (lr
 * 1e-3, constant after a linear warmup, gradient clipped at norm 1) over
 * shuffled mini-batches; every eval_every epochs the collision rate of the
 * plain codes is measured and the weights with the lowest rate are kept
 * (MiniOneRec's best_collision_model).  The final pass takes the nearest code
 * on every level and resolves collisions with sidr_rq_finish, as residual
 * k-means does.
 *
 * Weights live in one sidr_params buffer (views named encoder.K.weight,
 * encoder.K.bias, decoder.K.*, codebook.L) so that sidr_adamw updates them.  Pure numerics: no files, no printing;
 * deterministic for a seed. */
#ifndef SIDR_RQVAE_H
#define SIDR_RQVAE_H

#include <stdint.h>

#include "params.h"
#include "rqkmeans.h"
#include "status.h"

#define SIDR_RQVAE_MAX_HIDDEN 8

/* Progress of training, once per epoch.  Return nonzero to cancel. */
typedef struct {
    int epoch, epochs;          /* epochs done, of epochs */
    double loss, recon, quant;  /* means over the epoch's batches */
    double collision_rate;      /* at the last evaluation (-1 before the first) */
} sidr_rqvae_progress;

typedef int (*sidr_rqvae_progress_fn)(void *user, const sidr_rqvae_progress *p);

typedef struct {
    int latent;                 /* e_dim, default 32 (MiniOneRec) */
    int n_hidden;               /* 0: sizes from sidr_rqvae_default_hidden */
    int hidden[SIDR_RQVAE_MAX_HIDDEN];
    int epochs;                 /* default 200 */
    int batch;                  /* default 256 */
    int init_batch;             /* rows of the k-means initialisation batch, default 2048 (MiniOneRec's batch);
                                   at least batch and at most the items */
    int kmeans_iters;           /* default 100 */
    int warmup_epochs;          /* linear warmup, default 2 */
    int eval_every;             /* epochs between collision checks, default 10; 0: keep the last weights */
    double lr;                  /* default 1e-3 */
    double weight_decay;        /* default 0 */
    double clip_norm;           /* default 1 */
    double beta;                /* commitment weight, default 0.25 */
    double quant_weight;        /* default 1 */
    int revive;                 /* restart codes unused for an epoch (default 1; MiniOneRec: 0) */
    uint64_t seed;              /* default 42 */
    sidr_rq_opts rq;            /* levels, codes, collision handling (sidr_rq_defaults) */
    sidr_rqvae_progress_fn progress;
    void *user;
} sidr_rqvae_opts;

void sidr_rqvae_defaults(sidr_rqvae_opts *o);

/* MiniOneRec's halving ladder scaled to the input: 8 x in_dim rounded up to a
 * power of two (at least 4 x latent, at most 2048), halved while it stays
 * above the latent size: in 64, latent 32 -> 512, 256, 128, 64.  Returns the
 * number of sizes written to hidden. */
int sidr_rqvae_default_hidden(int in_dim, int latent, int hidden[SIDR_RQVAE_MAX_HIDDEN]);

/* ---- the model ------------------------------------------------------------- */

typedef struct {
    int in_dim, latent, levels, codes;
    int n_layers;                          /* linear layers per MLP (hidden sizes + 1) */
    int dims[SIDR_RQVAE_MAX_HIDDEN + 2];   /* in_dim, hidden..., latent */
    sidr_params p;                         /* all weights */
    float *enc_w[SIDR_RQVAE_MAX_HIDDEN + 1], *enc_b[SIDR_RQVAE_MAX_HIDDEN + 1];  /* [out][in], [out] */
    float *dec_w[SIDR_RQVAE_MAX_HIDDEN + 1], *dec_b[SIDR_RQVAE_MAX_HIDDEN + 1];
    float *codebook;                       /* levels x codes x latent */
} sidr_rqvae;

/* A model for in_dim inputs with o's sizes and Xavier-normal weights drawn
 * from o->seed (codebooks zero).  Fails with SIDR_ERR_ARG on bad sizes. */
sidr_status sidr_rqvae_init(sidr_rqvae *m, int in_dim, const sidr_rqvae_opts *o);
void sidr_rqvae_free(sidr_rqvae *m);

/* Zeroed parameters with m's layout (a gradient buffer). */
void sidr_rqvae_params_like(sidr_params *g, const sidr_rqvae *m);

/* Buffers for a batch of up to cap rows. */
typedef struct {
    int cap;
    float *enc, *dec;        /* activations per layer, cap x dims[k] each, packed */
    float *dz, *da, *db;     /* gradient scratch */
    float *res;              /* levels + 1 residuals, cap x latent each */
    float *zq;               /* cap x latent */
    int32_t *code;           /* cap x levels */
    int32_t *scratch;        /* cap */
    /* stop-gradient operands of the last unfrozen pass (see sidr_rqvae_batch) */
    float *ref_res, *ref_q, *ref_off;
    int ref_rows;
} sidr_rqvae_work;

void sidr_rqvae_work_init(sidr_rqvae_work *w, const sidr_rqvae *m, int cap);
void sidr_rqvae_work_free(sidr_rqvae_work *w);

typedef struct {
    double loss, recon, quant;   /* loss = recon + quant_weight * quant, as above */
} sidr_rqvae_loss;

/* Forward (and, when grad is non-NULL, backward: the straight-through gradient
 * added into grad) of the b rows of x (b x in_dim, b <= w->cap).  freeze = 1
 * re-uses the codes and every stop-gradient operand of the last freeze = 0
 * call (same rows): the loss is then a smooth function of the weights whose
 * exact gradient is the one computed, which finite differences can check. */
sidr_status sidr_rqvae_batch(const sidr_rqvae *m, sidr_rqvae_work *w, const float *x, int b, double beta,
                             double quant_weight, int freeze, sidr_params *grad, sidr_rqvae_loss *out);

/* Initialises the codebooks level by level by k-means (k-means++ seeding,
 * iters Lloyd rounds) on the latents' residuals of the b rows of x. */
sidr_status sidr_rqvae_init_codebooks(sidr_rqvae *m, const float *x, int b, int iters, uint64_t seed);

/* Encoder output of the n rows of x (n x d) into z (n x latent); d must be
 * the model's input size (SIDR_ERR_SHAPE otherwise). */
sidr_status sidr_rqvae_encode(const sidr_rqvae *m, const float *x, int n, int d, float *z);

/* Decoder output of the n latents z (n x latent) into x (n x in_dim). */
void sidr_rqvae_decode(const sidr_rqvae *m, const float *z, int n, float *x);

/* ---- training and codes ---------------------------------------------------- */

typedef struct {
    sidr_rq_result rq;          /* codes, latent-space codebooks, collisions; level_mse is in the latent space */
    sidr_rqvae model;           /* the kept weights */
    float *latent;              /* n x latent: the items' encoder outputs */
    double recon_mse;           /* mean |x - decoder(sum of the final codes' vectors)|^2 per item */
    double baseline_mse;        /* mean |x - mean(x)|^2: a reconstruction that ignores the codes */
    int epochs, best_epoch;     /* epochs run; the epoch whose weights were kept */
    long steps;
    int revived;                /* dead codes restarted during training */
    double best_collision_rate; /* share of items whose plain SID (before collision handling) is not their own */
    double *epoch_loss, *epoch_recon;   /* per epoch: mean total and reconstruction loss */
} sidr_rqvae_result;

/* Trains on the n x d rows of x and assigns codes.  Fails with SIDR_ERR_ARG
 * (message naming the option) on levels or codes out of range, codes > n,
 * empty or non-finite input, or bad sizes. */
sidr_status sidr_rqvae_build(const float *x, int n, int d, const sidr_rqvae_opts *o, sidr_rqvae_result *r);
void sidr_rqvae_result_free(sidr_rqvae_result *r);

#endif

/* Item embeddings for Semantic-ID construction without a pretrained text
 * encoder (SPEC §1.1):
 *
 *   text:  TF-IDF over the item text (title weighted x2, brand, categories,
 *          description), sublinear tf (1 + ln tf), smooth idf
 *          (ln((1 + N) / (1 + df)) + 1), L2-normalised rows, reduced by a
 *          randomized truncated SVD to `dim` dimensions (rows U*S, then
 *          L2-normalised), never forming a dense items x vocabulary matrix.
 *   co-occurrence (optional, weight w > 0): PPMI (context smoothing 0.75) of
 *          item co-occurrence within a window of training sequences, reduced
 *          by the same randomized SVD (rows U*sqrt(S), L2-normalised).
 *   mixed: [sqrt(1-w) * text (dim - dim/2 dims), sqrt(w) * cooc (dim/2 dims)];
 *          with w = 0 (the default, text only as in the paper) all `dim`
 *          dimensions are text.
 *
 * Tokens: ASCII letters and digits lower-cased, bytes >= 0x80 kept as word
 * characters (so UTF-8 words stay whole), anything else splits; single
 * letters and a short English stop list are dropped (single digits stay:
 * "Size 8" and "Size 9" are different items).
 *
 * Deterministic for a seed: the random test matrix comes from the seed,
 * every sparse product runs in a fixed order whatever the thread count, and
 * LAPACK runs with single-threaded BLAS (sidr's thread pool sets that), so
 * the same input gives the same embeddings on any machine with this build. */
#ifndef SIDR_ITEM_EMBED_H
#define SIDR_ITEM_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "rqkmeans.h" /* sidr_progress_fn */
#include "status.h"

/* ---- sparse matrices and the randomized SVD -------------------------------- */

typedef struct {
    int rows, cols;
    int64_t nnz;
    int64_t *ptr;   /* rows + 1 */
    int32_t *col;   /* nnz, ascending within a row */
    float *val;     /* nnz */
} sidr_csr;

void sidr_csr_free(sidr_csr *m);

/* Top-k singular triplets of the sparse X by a randomized range finder
 * (Halko, Martinsson & Tropp 2011): Y = X Omega with a seeded Gaussian Omega
 * (cols x (k + oversample)), power_iters rounds of Q = qr(X^T Q), Q = qr(X Q)
 * (LAPACK sgeqrf/sorgqr), then B^T = X^T Q is QR-factored and the small R
 * decomposed by sgesdd.  U (rows x k, row-major, may be NULL) gets the left
 * singular vectors, S (k) the singular values in descending order.
 * oversample < 0 picks max(20, k) extra columns: with flat noise spectra
 * (text) a 10-column oversampling leaves the k-th value ~1% low, 2k columns
 * and 4 power iterations reach 1e-4 (tests/test_rqkmeans.c).
 * k must be between 1 and min(rows, cols). */
sidr_status sidr_rsvd(const sidr_csr *X, int k, int oversample, int power_iters, uint64_t seed,
                      float *U, float *S, sidr_progress_fn progress /* may be NULL */, void *user,
                      const char *stage);

/* ---- item embeddings -------------------------------------------------------- */

typedef struct {
    const char *title, *description, *brand, *categories; /* any may be NULL or "" */
} sidr_item_text;

/* An item sequence in time order (item indices). */
typedef struct {
    const int *items;
    int n;
} sidr_item_seq;

typedef struct {
    int dim;             /* embedding dimension (default 64) */
    uint64_t seed;       /* default 42 */
    float title_weight;  /* tf weight of a title token (default 2) */
    int min_df;          /* drop terms in fewer items; 0 = auto (2 with >= 1000 items, else 1) */
    float max_df;        /* drop terms in more than this fraction of items (default 0.5; applied
                            only with >= 50 items); >= 1 keeps all */
    int max_vocab;       /* keep the most frequent terms (by df) at most (default 50000) */
    int power_iters;     /* randomized-SVD power iterations (default 4) */
    int oversample;      /* randomized-SVD oversampling (default -1: max(20, dim)) */
    float cooc_weight;   /* weight w of the co-occurrence part, 0..1 (default 0: text only) */
    int cooc_window;     /* pairs at most this many positions apart (default 5), weighted 1/distance */
    int cooc_anchor_last;/* 1: each sequence is a sample window (history..., target) and only
                            pairs with its last item count, so overlapping windows count every
                            pair of the underlying sequence once */
    sidr_progress_fn progress;
    void *user;
} sidr_embed_opts;

void sidr_embed_defaults(sidr_embed_opts *o);

typedef struct {
    int n, dim;            /* n x dim, row-major */
    float *emb;
    int dim_text, dim_cooc;/* dimensions of each part (dim_text + dim_cooc = dim) */
    int vocab;             /* terms kept */
    int vocab_seen;        /* distinct terms before the df filters */
    int64_t nnz;           /* non-zeros of the TF-IDF matrix */
    int empty_items;       /* items with no kept term (their text part is zero) */
    int cooc_items;        /* items with at least one co-occurrence (0 without) */
    int64_t cooc_nnz;      /* non-zeros of the PPMI matrix */
    float *sigma_text;     /* dim_text singular values */
    float *sigma_cooc;     /* dim_cooc singular values (NULL without) */
    int dim_clamped;       /* 1 when dim was lowered to min(items, terms) */
} sidr_embed_result;

/* Embeds n items.  seqs (may be NULL) are training sequences for the
 * co-occurrence part, used only when o->cooc_weight > 0; item indices must be
 * in 0..n-1.  Fails with SIDR_ERR_ARG on n < 2 or when no item has any text
 * token. */
sidr_status sidr_item_embed(const sidr_item_text *items, int n, const sidr_item_seq *seqs, int n_seqs,
                            const sidr_embed_opts *o, sidr_embed_result *r);
void sidr_embed_free(sidr_embed_result *r);

/* TF-IDF matrix alone (rows L2-normalised); exposed for tests. */
sidr_status sidr_tfidf(const sidr_item_text *items, int n, const sidr_embed_opts *o, sidr_csr *X,
                       int *vocab_seen);

/* Splits text into tokens as above, calling fn for each (token bytes are
 * lower-cased into a scratch buffer).  Returns the token count. */
int sidr_text_tokens(const char *text, void (*fn)(void *user, const char *tok, size_t len), void *user);

#endif

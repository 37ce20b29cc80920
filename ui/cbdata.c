/* Codebook facts for the Codebook pane: code usage and prefixes, the code
 * vectors (from index/<Cat>.codebooks.safetensors written by 'sidr sids
 * build', or, when a dataset came with SIDs but no codebooks, per-code
 * centroids derived from sidr's own TF-IDF item embeddings with the residual
 * semantics of RQ: level l's centroid of code c is the mean residual of the
 * items with code c at level l), and the nearest tokens of a SID token in
 * the model's embedding space, scored in chunks between input polls. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "item_embed.h"
#include "safetensors.h"
#include "util.h"

#define NT_CHUNK 8192

/* The derivation of centroids runs on its own thread (it is one long call)
 * so input is never blocked by it; the main thread touches the vectors only
 * once the state says they are ready. */
static pthread_t derive_thread;
static atomic_int derive_done;
static int derive_ok;

static int derive_centroids(app *a);

static void *derive_main(void *arg)
{
    derive_ok = derive_centroids(arg) > 0;
    atomic_store(&derive_done, 1);
    return NULL;
}

static void derive_collect(app *a)
{
    pthread_join(derive_thread, NULL);
    a->cb.vec_state = derive_ok ? 1 : -1;
    a->dirty = 1;
}

void cb_init(app *a)
{
    cbdata *cb = &a->cb;
    memset(cb, 0, sizeof *cb);
    cb->nt_query = -1;
    const sidr_dataset *ds = &a->ss.ds;
    cb->levels = ds->sid_levels < UI_MAX_LEVELS ? ds->sid_levels : UI_MAX_LEVELS;
    for (int l = 0; l < cb->levels; l++) {
        cb->K[l] = ds->sid_codes[l] > 0 ? ds->sid_codes[l] : 1;
        cb->usage[l] = xcalloc((size_t)cb->K[l], sizeof(int));
        cb->prefixes[l] = xcalloc((size_t)cb->K[l], sizeof(int));
        cb->token[l] = xmalloc((size_t)cb->K[l] * sizeof(int));
        for (int c = 0; c < cb->K[l]; c++) {
            char t[32];
            sid_token_str(l, c, t, sizeof t);
            cb->token[l][c] = sidr_tokenizer_find(a->ss.tok, t);
        }
    }
    for (int i = 0; i < ds->n_items; i++) {
        const sidr_item *it = &ds->items[i];
        if (!it->sid || it->n_levels != ds->sid_levels) continue;
        for (int l = 0; l < cb->levels; l++)
            if (it->code[l] >= 0 && it->code[l] < cb->K[l]) cb->usage[l][it->code[l]]++;
    }
    /* distinct parent prefixes per code: children of every trie node */
    const sidr_trie *t = &a->ss.cat.trie;
    for (int n = 0; n < t->n_nodes; n++) {
        int nc;
        const int *ch = sidr_trie_children(t, n, &nc);
        int l = t->nodes[n].depth;
        if (l >= cb->levels) continue;
        for (int k = 0; k < nc; k++) {
            int id = ch[k];
            if (id < 0 || id >= a->n_vocab || a->tok_level[id] != l) continue;
            int c = a->tok_code[id];
            if (c >= 0 && c < cb->K[l]) cb->prefixes[l][c]++;
        }
    }
}

void cb_free(app *a)
{
    cbdata *cb = &a->cb;
    if (cb->vec_state == 3) derive_collect(a);
    for (int l = 0; l < UI_MAX_LEVELS; l++) {
        free(cb->usage[l]);
        free(cb->prefixes[l]);
        free(cb->token[l]);
        free(cb->vec[l]);
    }
    free(cb->nt_qvec);
    memset(cb, 0, sizeof *cb);
}

static int load_codebooks(app *a)
{
    cbdata *cb = &a->cb;
    char leaf[600];
    snprintf(leaf, sizeof leaf, "index/%s.codebooks.safetensors", a->ss.ds.name ? a->ss.ds.name : "");
    char *p = path_join(a->ss.data_dir, leaf);
    if (!file_exists(p)) {
        free(p);
        return 0;
    }
    sidr_safetensors st;
    memset(&st, 0, sizeof st);
    sidr_status s = sidr_st_open_file(&st, p);
    if (s) {
        snprintf(cb->vec_note, sizeof cb->vec_note, "%s: %s", leaf, sidr_last_error());
        free(p);
        return -1;
    }
    int ok = 1, dim = 0;
    for (int l = 0; l < cb->levels && ok; l++) {
        char tn[32];
        snprintf(tn, sizeof tn, "codebook.%d", l);
        const sidr_tensor *t = sidr_st_find(&st, tn);
        if (!t || t->ndim != 2 || (dim && t->shape[1] != dim) || t->shape[0] < cb->K[l] ||
            (t->dtype != SIDR_F32 && t->dtype != SIDR_BF16 && t->dtype != SIDR_F16)) {
            snprintf(cb->vec_note, sizeof cb->vec_note, "%s: tensor %s missing or not a K x d float matrix with K >= %d", leaf,
                     tn, cb->K[l]);
            ok = 0;
            break;
        }
        dim = (int)t->shape[1];
        cb->vec[l] = xmalloc((size_t)cb->K[l] * dim * sizeof(float));
        sidr_tensor_to_f32(t, 0, (size_t)cb->K[l] * dim, cb->vec[l]);
    }
    sidr_st_close(&st);
    free(p);
    if (!ok) {
        for (int l = 0; l < cb->levels; l++) { free(cb->vec[l]); cb->vec[l] = NULL; }
        return -1;
    }
    cb->dim = dim;
    snprintf(cb->vec_note, sizeof cb->vec_note, "codebook vectors from %s", leaf);
    return 1;
}

static int derive_centroids(app *a)
{
    cbdata *cb = &a->cb;
    const sidr_dataset *ds = &a->ss.ds;
    int n = ds->n_items;
    sidr_item_text *txt = xmalloc((size_t)n * sizeof *txt);
    for (int i = 0; i < n; i++)
        txt[i] = (sidr_item_text){ ds->items[i].title, ds->items[i].description, ds->items[i].brand, ds->items[i].categories };
    sidr_embed_opts o;
    sidr_embed_defaults(&o);
    sidr_embed_result er;
    memset(&er, 0, sizeof er);
    sidr_status s = sidr_item_embed(txt, n, NULL, 0, &o, &er);
    free(txt);
    if (s) {
        snprintf(cb->vec_note, sizeof cb->vec_note, "no codebooks, and item embeddings failed: %s", sidr_last_error());
        return -1;
    }
    int d = er.dim;
    float *res = xmalloc((size_t)n * d * sizeof(float));
    memcpy(res, er.emb, (size_t)n * d * sizeof(float));
    int *cnt = NULL;
    for (int l = 0; l < cb->levels; l++) {
        int K = cb->K[l];
        cb->vec[l] = xcalloc((size_t)K * d, sizeof(float));
        cnt = xrealloc(cnt, (size_t)K * sizeof(int));
        memset(cnt, 0, (size_t)K * sizeof(int));
        for (int i = 0; i < n; i++) {
            const sidr_item *it = &ds->items[i];
            if (!it->sid || it->n_levels != ds->sid_levels) continue;
            int c = it->code[l];
            if (c < 0 || c >= K) continue;
            cnt[c]++;
            for (int j = 0; j < d; j++) cb->vec[l][(size_t)c * d + j] += res[(size_t)i * d + j];
        }
        for (int c = 0; c < K; c++)
            if (cnt[c])
                for (int j = 0; j < d; j++) cb->vec[l][(size_t)c * d + j] /= (float)cnt[c];
        for (int i = 0; i < n; i++) {
            const sidr_item *it = &ds->items[i];
            if (!it->sid || it->n_levels != ds->sid_levels) continue;
            int c = it->code[l];
            if (c < 0 || c >= K) continue;
            for (int j = 0; j < d; j++) res[(size_t)i * d + j] -= cb->vec[l][(size_t)c * d + j];
        }
    }
    free(cnt);
    free(res);
    cb->dim = d;
    cb->vec_derived = 1;
    snprintf(cb->vec_note, sizeof cb->vec_note,
             "no codebooks file: centroids derived from sidr's TF-IDF item embeddings (%d dims)", d);
    sidr_embed_free(&er);
    return 1;
}

int cb_need_vectors(app *a)
{
    cbdata *cb = &a->cb;
    if (cb->vec_state == 0) {
        if (!cb->levels) {
            cb->vec_state = -1;
            snprintf(cb->vec_note, sizeof cb->vec_note, "the dataset has no SIDs");
        } else {
            int r = load_codebooks(a);
            if (r > 0) cb->vec_state = 1;
            else if (r < 0) cb->vec_state = -1;
            else {
                cb->vec_state = 2;
                snprintf(cb->vec_note, sizeof cb->vec_note, "no codebooks file: deriving centroids from item embeddings...");
            }
        }
    }
    return cb->vec_state == 1;
}

void cb_request_neighbours(app *a, int token)
{
    cbdata *cb = &a->cb;
    if (cb->vec_state == 0) cb_need_vectors(a);
    if (token == cb->nt_query) return;
    cb->nt_query = token;
    cb->nt_next = 0;
    for (int k = 0; k < 8; k++) {
        cb->nt_lang_id[k] = cb->nt_sid_id[k] = -1;
        cb->nt_lang_s[k] = cb->nt_sid_s[k] = -2;
    }
    if (token < 0 || token >= a->ss.model.cfg.vocab_size) { cb->nt_query = -1; return; }
    int d = a->ss.model.cfg.dim;
    cb->nt_qvec = xrealloc(cb->nt_qvec, (size_t)d * sizeof(float));
    sidr_model_embedding(&a->ss.model, token, cb->nt_qvec);
    double nrm = 0;
    for (int j = 0; j < d; j++) nrm += (double)cb->nt_qvec[j] * cb->nt_qvec[j];
    float inv = nrm > 0 ? (float)(1.0 / sqrt(nrm)) : 0;
    for (int j = 0; j < d; j++) cb->nt_qvec[j] *= inv;
}

static void insert_top(int *ids, float *sc, int id, float s)
{
    if (s <= sc[7]) return;
    int k = 7;
    while (k > 0 && sc[k - 1] < s) {
        ids[k] = ids[k - 1];
        sc[k] = sc[k - 1];
        k--;
    }
    ids[k] = id;
    sc[k] = s;
}

int cb_busy(app *a)
{
    cbdata *cb = &a->cb;
    if (cb->vec_state == 2 || (cb->vec_state == 3 && atomic_load(&derive_done))) return 1;
    if (cb->nt_query >= 0 && cb->nt_next < a->ss.model.cfg.vocab_size) return 1;
    return cb->vec_state == 3 ? 2 : 0;
}

void cb_settle(app *a)
{
    if (a->cb.vec_state == 3) derive_collect(a);
    while (cb_work(a)) {}
}

int cb_work(app *a)
{
    cbdata *cb = &a->cb;
    if (cb->vec_state == 2) {
        atomic_store(&derive_done, 0);
        if (pthread_create(&derive_thread, NULL, derive_main, a) == 0) cb->vec_state = 3;
        else cb->vec_state = derive_centroids(a) > 0 ? 1 : -1;
        a->dirty = 1;
        return 1;
    }
    if (cb->vec_state == 3 && atomic_load(&derive_done)) {
        derive_collect(a);
        return 1;
    }
    int V = a->ss.model.cfg.vocab_size;
    if (cb->nt_query < 0 || cb->nt_next >= V) return 0;
    int d = a->ss.model.cfg.dim;
    float *row = xmalloc((size_t)d * sizeof(float));
    int end = cb->nt_next + NT_CHUNK < V ? cb->nt_next + NT_CHUNK : V;
    for (int id = cb->nt_next; id < end; id++) {
        if (id == cb->nt_query) continue;
        size_t len;
        if (!sidr_tokenizer_token_bytes(a->ss.tok, id, &len)) continue;
        sidr_model_embedding(&a->ss.model, id, row);
        double dot = 0, nrm = 0;
        for (int j = 0; j < d; j++) {
            dot += (double)row[j] * cb->nt_qvec[j];
            nrm += (double)row[j] * row[j];
        }
        float cs = nrm > 0 ? (float)(dot / sqrt(nrm)) : 0;
        if (id < a->n_vocab && a->tok_level[id] >= 0) insert_top(cb->nt_sid_id, cb->nt_sid_s, id, cs);
        else insert_top(cb->nt_lang_id, cb->nt_lang_s, id, cs);
    }
    free(row);
    cb->nt_next = end;
    a->dirty = 1;
    return 1;
}

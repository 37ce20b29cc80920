#include "align_report.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recommend.h"
#include "safetensors.h"
#include "sampler.h"
#include "tasks.h"
#include "trainer.h"
#include "util.h"

void align_opts_default(align_opts *o)
{
    o->items = 0;
    o->seed = 42;
    o->beams = 10;
    o->max_title_tokens = 64;
    o->knn = 10;
}

void align_report_free(align_report *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->v[i].top_sid);
        free(r->v[i].title);
    }
    free(r->v);
    free(r->confusion);
    memset(r, 0, sizeof *r);
}

/* ---- title F1 ---------------------------------------------------------------------------------------- */

static int words(const char *s, char ***out)
{
    int n = 0, cap = 0;
    char **w = NULL;
    while (*s) {
        while (*s && !isalnum((unsigned char)*s) && (unsigned char)*s < 0x80) s++;
        const char *b = s;
        while (*s && (isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80)) s++;
        if (s == b) continue;
        if (n == cap) w = xrealloc(w, (size_t)(cap = cap * 2 + 8) * sizeof *w);
        w[n] = xmalloc((size_t)(s - b) + 1);
        for (int i = 0; i < s - b; i++) w[n][i] = (char)tolower((unsigned char)b[i]);
        w[n][s - b] = 0;
        n++;
    }
    *out = w;
    return n;
}

double align_title_f1(const char *a, const char *b)
{
    char **x, **y;
    int nx = words(a, &x), ny = words(b, &y), common = 0;
    char *used = xcalloc((size_t)ny + 1, 1);
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++)
            if (!used[j] && !strcmp(x[i], y[j])) {
                used[j] = 1;
                common++;
                break;
            }
    double f1 = nx + ny == 0 ? 1 : common == 0 ? 0 : 2.0 * common / (nx + ny);
    for (int i = 0; i < nx; i++) free(x[i]);
    for (int j = 0; j < ny; j++) free(y[j]);
    free(x);
    free(y);
    free(used);
    return f1;
}

/* ---- the two directions of task 2 -------------------------------------------------------------------- */

static char *task2_prompt(const sidr_dataset *ds, int item, int reverse)
{
    task_text t;
    task_enrichment none;
    memset(&none, 0, sizeof none);
    if (task_build(&t, TASK_TITLE_TO_SID_ITEM, ds, &none, SIDR_SPLIT_TRAIN, 0, item, reverse ? 1 : 0)) return NULL;
    char *prompt = NULL;
    free(task_render(&t, &prompt));
    task_text_free(&t);
    return prompt;
}

int align_levels_right(const char *a, const char *b)
{
    int sa[8], la[8], sb[8], lb[8];
    int na = sid_split(a, sa, la, 8), nb = sid_split(b, sb, lb, 8), k = 0;
    while (k < na && k < nb && la[k] == lb[k] && !memcmp(a + sa[k], b + sb[k], (size_t)la[k])) k++;
    return k;
}

static sidr_status title_to_sid(session *ss, const align_opts *o, int item, align_item *out, align_beams *beams)
{
    char *prompt = task2_prompt(&ss->ds, item, 0);
    if (!prompt) return sidr_fail(SIDR_ERR_ARG, "item %s: no title/SID prompt", ss->ds.items[item].id);
    rec_settings set;
    rec_settings_default(&set);
    set.think = 0;
    set.beams = o->beams;
    rec_run r;
    sidr_status s = rec_begin_prompt(&r, &ss->model, ss->tok, &ss->cat, &set, prompt);
    if (!s) s = rec_run_all(&r, NULL, NULL);
    if (!s) {
        const char *sid = ss->ds.items[item].sid;
        out->rank = rec_rank(&r, sid);
        char top[512] = "";
        if (r.bs.n_hyps) rec_beam_sid(&r, 0, top, sizeof top);
        out->top_sid = xstrdup(top);
        out->levels_right = align_levels_right(top, sid);
        if (beams) {
            beams->n = r.bs.n_hyps < ALIGN_TOP_BEAMS ? r.bs.n_hyps : ALIGN_TOP_BEAMS;
            for (int k = 0; k < beams->n; k++) {
                rec_beam_sid(&r, k, beams->sid[k], sizeof beams->sid[k]);
                beams->score[k] = r.bs.hyps[k].score;
                beams->levels_right[k] = align_levels_right(beams->sid[k], sid);
            }
        }
    }
    rec_free(&r);
    return s;
}

static sidr_status sid_to_title(session *ss, const align_opts *o, sidr_state *st, sidr_kv *kv, float *logits, int item,
                                align_item *out)
{
    char *prompt = task2_prompt(&ss->ds, item, 1);
    if (!prompt) return sidr_fail(SIDR_ERR_ARG, "item %s: no title/SID prompt", ss->ds.items[item].id);
    int *ids, n;
    sidr_status s = sidr_tokenizer_encode(ss->tok, prompt, strlen(prompt), &ids, &n);
    free(prompt);
    if (s) return s;
    /* Stage 1 trains the answer without <|im_end|> (SPEC), so a model need
     * not stop by itself: decode as many tokens as the real title has. */
    const char *title = ss->ds.items[item].title;
    int *tt, nt;
    if ((s = sidr_tokenizer_encode(ss->tok, title, strlen(title), &tt, &nt))) {
        free(ids);
        return s;
    }
    free(tt);
    int cap = nt < o->max_title_tokens ? nt : o->max_title_tokens;
    int eos = sidr_tokenizer_find(ss->tok, "<|im_end|>"), V = ss->model.cfg.vocab_size;
    int *gen = xmalloc((size_t)(cap + 1) * sizeof(int)), ng = 0;
    sidr_kv_reset(kv);
    if (n + cap > kv->cap) s = sidr_fail(SIDR_ERR_RANGE, "title prompt of %d tokens exceeds the cache", n);
    if (!s) s = sidr_forward(&ss->model, st, kv, ids, n, logits, SIDR_LOGITS_LAST);
    while (!s && ng < cap) {
        int next = sidr_argmax(logits, V);
        if (next == eos) break;
        gen[ng++] = next;
        s = sidr_forward(&ss->model, st, kv, &next, 1, logits, SIDR_LOGITS_LAST);
    }
    free(ids);
    char *text = NULL;
    size_t len;
    if (!s) s = sidr_tokenizer_decode(ss->tok, gen, ng, 1, &text, &len);
    free(gen);
    if (s) return s;
    while (len > 0 && isspace((unsigned char)text[len - 1])) text[--len] = 0;
    out->title = text;
    out->exact = !strcmp(text, title);
    out->f1 = align_title_f1(text, title);
    return SIDR_OK;
}

/* ---- embeddings against the codebook ----------------------------------------------------------------- */

/* For each row of x [K][d], its k nearest other rows by cosine (into nn [K][k]). */
static void nearest(const float *x, int K, int d, int k, int *nn)
{
    float *norm = xmalloc((size_t)K * sizeof(float));
    for (int i = 0; i < K; i++) {
        double z = 0;
        for (int j = 0; j < d; j++) z += (double)x[(size_t)i * d + j] * x[(size_t)i * d + j];
        norm[i] = z > 0 ? (float)(1 / sqrt(z)) : 0;
    }
    float *best = xmalloc((size_t)k * sizeof(float));
    for (int i = 0; i < K; i++) {
        int *o = nn + (size_t)i * k, m = 0;
        for (int c = 0; c < K; c++) {
            if (c == i) continue;
            double dot = 0;
            for (int j = 0; j < d; j++) dot += (double)x[(size_t)i * d + j] * x[(size_t)c * d + j];
            float sim = (float)dot * norm[i] * norm[c];
            if (m == k && sim <= best[k - 1]) continue;
            int p = m < k ? m++ : k - 1;
            while (p > 0 && best[p - 1] < sim) {
                best[p] = best[p - 1];
                o[p] = o[p - 1];
                p--;
            }
            best[p] = sim;
            o[p] = c;
        }
        for (int q = m; q < k; q++) o[q] = -1;
    }
    free(best);
    free(norm);
}

static void knn_compare(align_report *r, session *ss, int knn)
{
    const sidr_dataset *ds = &ss->ds;
    char path[4096];
    snprintf(path, sizeof path, "%s/index/%s.codebooks.safetensors", ds->dir, ds->name ? ds->name : "");
    sidr_safetensors st = { 0 };
    if (sidr_st_open_file(&st, path)) {
        snprintf(r->knn_note, sizeof r->knn_note, "no codebooks (index/%s.codebooks.safetensors)", ds->name ? ds->name : "");
        return;
    }
    int H = ss->model.cfg.dim;
    r->knn = knn;
    for (int l = 0; l < ds->sid_levels && l < 8; l++) {
        char name[32];
        snprintf(name, sizeof name, "codebook.%d", l);
        const sidr_tensor *t = sidr_st_find(&st, name);
        int K = ds->sid_codes[l];
        if (!t || t->ndim != 2 || t->shape[0] < K) {
            snprintf(r->knn_note, sizeof r->knn_note, "codebooks: tensor %s missing or not a K x d matrix with K >= %d",
                     name, K);
            break;
        }
        /* the codes the model has a token for (a model may hold only the used ones) */
        int d = (int)t->shape[1], m = 0;
        float *cb = xmalloc((size_t)K * d * sizeof(float)), *em = xmalloc((size_t)K * H * sizeof(float));
        for (int c = 0; c < K; c++) {
            char tok[32];
            snprintf(tok, sizeof tok, "<%c_%d>", 'a' + l, c);
            int id = sidr_tokenizer_find(ss->tok, tok);
            if (id < 0 || id >= ss->model.cfg.vocab_size) continue;
            sidr_model_embedding(&ss->model, id, em + (size_t)m * H);
            sidr_tensor_to_f32(t, (size_t)c * d, (size_t)d, cb + (size_t)m * d);
            m++;
        }
        if (m <= knn) {
            snprintf(r->knn_note, sizeof r->knn_note, "level %c: %d codes with a token, too few for %d neighbours", 'a' + l,
                     m, knn);
            free(cb);
            free(em);
            break;
        }
        int *na = xmalloc((size_t)m * knn * sizeof(int)), *nb = xmalloc((size_t)m * knn * sizeof(int));
        nearest(em, m, H, knn, na);
        nearest(cb, m, d, knn, nb);
        long shared = 0;
        for (int c = 0; c < m; c++)
            for (int i = 0; i < knn; i++)
                for (int j = 0; j < knn; j++) shared += na[(size_t)c * knn + i] == nb[(size_t)c * knn + j];
        r->knn_overlap[l] = (double)shared / ((double)m * knn);
        r->knn_chance[l] = (double)knn / (m - 1);
        r->knn_levels = l + 1;
        free(na);
        free(nb);
        free(cb);
        free(em);
    }
    sidr_st_close(&st);
}

/* ---- the report -------------------------------------------------------------------------------------- */

sidr_status align_ctx_init(align_ctx *c, session *ss)
{
    memset(c, 0, sizeof *c);
    sidr_status s = sidr_kv_init(&c->kv, &ss->model.cfg, 1024);
    if (s) return s;
    c->st = sidr_state_new(&ss->model, 256);
    c->logits = xmalloc((size_t)ss->model.cfg.vocab_size * sizeof(float));
    c->live = 1;
    return SIDR_OK;
}

void align_ctx_free(align_ctx *c)
{
    if (!c->live) return;
    free(c->logits);
    sidr_state_free(c->st);
    sidr_kv_free(&c->kv);
    memset(c, 0, sizeof *c);
}

int align_sample(const sidr_dataset *ds, const align_opts *o, int **items)
{
    int *pool = xmalloc((size_t)(ds->n_items ? ds->n_items : 1) * sizeof(int)), np = 0;
    for (int i = 0; i < ds->n_items; i++)
        if (ds->items[i].sid && ds->items[i].title[0]) pool[np++] = i;
    *items = pool;
    if (np == 0) {
        sidr_fail(SIDR_ERR_MISSING, "%s: no item has both a SID and a title", ds->dir);
        return 0;
    }
    uint64_t rng = train_rng_seed(o->seed, 13, 0);
    train_shuffle(pool, np, &rng);
    return o->items > 0 && o->items < np ? o->items : np;
}

void align_item_free(align_item *a)
{
    free(a->top_sid);
    free(a->title);
    a->top_sid = a->title = NULL;
}

sidr_status align_report_item(session *ss, const align_opts *o, align_ctx *c, int item, align_item *out,
                              align_beams *beams)
{
    memset(out, 0, sizeof *out);
    if (beams) beams->n = 0;
    out->item = item;
    out->rank = -1;
    if (item < 0 || item >= ss->ds.n_items || !ss->ds.items[item].sid || !ss->ds.items[item].title[0])
        return sidr_fail(SIDR_ERR_ARG, "item %d has no SID or no title to align", item);
    sidr_status s = title_to_sid(ss, o, item, out, beams);
    if (!s) s = sid_to_title(ss, o, c->st, &c->kv, c->logits, item, out);
    if (s) align_item_free(out);
    return s;
}

sidr_status align_report_run(align_report *r, session *ss, const align_opts *o,
                             int (*on_item)(const align_report *r, int done, int total, void *ctx), void *ctx)
{
    memset(r, 0, sizeof *r);
    const sidr_dataset *ds = &ss->ds;
    if (o->beams < 1 || o->knn < 1 || o->max_title_tokens < 1)
        return sidr_fail(SIDR_ERR_ARG, "align report: beams, knn and max title tokens must be at least 1");
    int *pool;
    int n = align_sample(ds, o, &pool);
    if (n == 0) {
        free(pool);
        return SIDR_ERR_MISSING;
    }
    r->v = xcalloc((size_t)n, sizeof *r->v);
    r->depth = ds->sid_levels;
    r->codes_a = ds->sid_codes[0];
    r->confusion = xcalloc((size_t)r->codes_a * r->codes_a + 1, sizeof(int));
    knn_compare(r, ss, o->knn);

    align_ctx ac;
    sidr_status s = align_ctx_init(&ac, ss);
    if (s) {
        free(pool);
        return s;
    }
    int hit1 = 0, hit10 = 0, exact = 0, lev[8] = { 0 };
    double f1 = 0;
    for (int i = 0; i < n && !s; i++) {
        align_item *a = &r->v[i];
        a->item = pool[i];
        if ((s = title_to_sid(ss, o, a->item, a, NULL)) || (s = sid_to_title(ss, o, ac.st, &ac.kv, ac.logits, a->item, a))) break;
        r->n = i + 1;
        hit1 += a->rank == 0;
        hit10 += a->rank >= 0 && a->rank < 10;
        for (int l = 0; l < a->levels_right && l < 8; l++) lev[l]++;
        exact += a->exact;
        f1 += a->f1;
        const sidr_item *it = &ds->items[a->item];
        int sa[8], la[8];
        if (a->top_sid[0] && sid_split(a->top_sid, sa, la, 8) > 0) {
            int pred = atoi(a->top_sid + sa[0] + 3), truth = it->code[0];
            if (pred >= 0 && pred < r->codes_a && truth >= 0 && truth < r->codes_a) r->confusion[truth * r->codes_a + pred]++;
        }
        if (on_item && on_item(r, i + 1, n, ctx)) s = sidr_fail(SIDR_ERR_CANCELLED, "align report cancelled");
    }
    if (r->n) {
        r->hit1 = (double)hit1 / r->n;
        r->hit10 = (double)hit10 / r->n;
        for (int l = 0; l < r->depth && l < 8; l++) r->level_acc[l] = (double)lev[l] / r->n;
        r->exact = (double)exact / r->n;
        r->f1 = f1 / r->n;
    }
    align_ctx_free(&ac);
    free(pool);
    return s;
}

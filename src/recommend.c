#include "recommend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "prompts.h"
#include "util.h"

void rec_settings_default(rec_settings *s)
{
    s->think = 1;
    s->beams = 10;
    s->max_reasoning = 1024;
    s->temperature = 0;
    s->top_p = 1;
    s->seed = 0;
    s->ground = 0;
    s->given_reasoning = NULL;
}

static void push_id(rec_run *r, int id)
{
    if (r->n_ids == r->cap_ids) r->ids = xrealloc(r->ids, (r->cap_ids = r->cap_ids * 2 + 64) * sizeof(int));
    r->ids[r->n_ids++] = id;
}

/* The trie of the history's SIDs that grounded reasoning decodes within. */
static sidr_status ground_build(rec_run *r, const char *const *history, int n_history)
{
    const int depth = r->cat->depth;
    int *ids = xmalloc((size_t)(n_history ? n_history : 1) * (size_t)depth * sizeof(int)), n = 0;
    for (int i = 0; i < n_history; i++) {
        int *t, k;
        sidr_status s = sidr_tokenizer_encode(r->tok, history[i], strlen(history[i]), &t, &k);
        if (s) { free(ids); return s; }
        /* a history SID of the catalogue's shape: every token a SID token */
        int ok = k == depth && sidr_trie_walk(&r->cat->trie, t, 1) >= 0;
        if (ok) memcpy(ids + (size_t)n++ * (size_t)depth, t, (size_t)depth * sizeof(int));
        free(t);
    }
    sidr_status s = n ? sidr_trie_build(&r->ground, ids, NULL, n, depth) : SIDR_OK;
    free(ids);
    return s;
}

sidr_status rec_begin(rec_run *r, sidr_model *m, const sidr_tokenizer *tok, const sidr_catalog *cat,
                      const rec_settings *set, const char *const *history, int n_history)
{
    char *h = prompt_join_sids(history, n_history);
    char *prompt = set->think ? prompt_reasoning(h) : prompt_direct(h);
    free(h);
    sidr_status s = rec_begin_prompt(r, m, tok, cat, set, prompt);
    if (!s && set->think && set->ground) s = ground_build(r, history, n_history);
    if (s) rec_free(r);
    return s;
}

sidr_status rec_begin_prompt(rec_run *r, sidr_model *m, const sidr_tokenizer *tok, const sidr_catalog *cat,
                             const rec_settings *set, char *prompt)
{
    memset(r, 0, sizeof *r);
    r->prompt = prompt;
    if (set->beams < 1) { rec_free(r); return sidr_fail(SIDR_ERR_ARG, "beam width must be at least 1"); }
    r->model = m;
    r->tok = tok;
    r->cat = cat;
    r->set = *set;
    int *ids, n;
    sidr_status s = sidr_tokenizer_encode(tok, r->prompt, strlen(r->prompt), &ids, &n);
    if (s) { rec_free(r); return s; }
    for (int i = 0; i < n; i++) push_id(r, ids[i]);
    free(ids);
    r->n_prompt = n;
    r->think_close_id = sidr_tokenizer_find(tok, "</think>");
    r->eos_id = sidr_tokenizer_find(tok, "<|im_end|>");
    r->bcfg.beams = set->beams;
    r->bcfg.newline_id = sidr_tokenizer_find(tok, "\n");
    r->bcfg.eos_id = r->eos_id;
    /* Positions past max_position_embeddings were never trained. */
    int budget = set->max_reasoning;
    if (set->think && set->given_reasoning) { /* the given trace's own length, and the <think> line */
        int *g, ng;
        if ((s = sidr_tokenizer_encode(tok, set->given_reasoning, strlen(set->given_reasoning), &g, &ng))) {
            rec_free(r);
            return s;
        }
        free(g);
        budget = ng + 8;
    }
    long need = (long)n + (set->think ? budget : 0);
    if (need > m->cfg.max_seq) {
        s = set->think ? sidr_fail(SIDR_ERR_RANGE, "the prompt of %d tokens plus up to %d reasoning tokens exceeds the "
                                   "model's max_position_embeddings %d (%s/config.json); lower the reasoning budget "
                                   "or shorten the history", n, budget, m->cfg.max_seq, m->dir)
                       : sidr_fail(SIDR_ERR_RANGE, "the prompt of %d tokens exceeds the model's "
                                   "max_position_embeddings %d (%s/config.json); shorten the history", n,
                                   m->cfg.max_seq, m->dir);
        rec_free(r);
        return s;
    }
    int cap = n + (set->think ? budget + 16 : 0) + 8;
    if ((s = sidr_kv_init(&r->kv, &m->cfg, cap))) { rec_free(r); return s; }
    r->state = sidr_state_new(m, set->beams > 256 ? set->beams : 256);
    r->logits = xmalloc((size_t)m->cfg.vocab_size * sizeof(float));
    sidr_sampling sc = { set->temperature, 0, set->top_p, set->seed };
    sidr_sampler_init(&r->sampler, &sc, m->cfg.vocab_size);
    r->phase = REC_PREFILL;
    return SIDR_OK;
}

void rec_free(rec_run *r)
{
    sidr_beam_free(&r->bs);
    sidr_sampler_free(&r->sampler);
    sidr_kv_free(&r->kv);
    sidr_trie_free(&r->ground);
    sidr_state_free(r->state);
    free(r->logits);
    free(r->prompt);
    free(r->ids);
    free(r->gen);
    free(r->reasoning);
    memset(r, 0, sizeof *r);
}

/* The chosen token's probability and the top alternatives, for display. */
static void describe(rec_run *r, int id, rec_token *t)
{
    int V = r->model->cfg.vocab_size;
    float mx = r->logits[0];
    for (int i = 1; i < V; i++) mx = r->logits[i] > mx ? r->logits[i] : mx;
    double z = 0;
    for (int i = 0; i < V; i++) z += exp((double)(r->logits[i] - mx));
    t->id = id;
    t->p = (float)(exp((double)(r->logits[id] - mx)) / z);
    for (int k = 0; k < REC_TOP_ALT; k++) { t->alt_id[k] = -1; t->alt_p[k] = 0; }
    for (int i = 0; i < V; i++) {
        float l = r->logits[i];
        if (t->alt_id[REC_TOP_ALT - 1] >= 0 && l <= r->logits[t->alt_id[REC_TOP_ALT - 1]]) continue;
        int k = REC_TOP_ALT - 1;
        while (k > 0 && (t->alt_id[k - 1] < 0 || l > r->logits[t->alt_id[k - 1]])) {
            t->alt_id[k] = t->alt_id[k - 1];
            k--;
        }
        t->alt_id[k] = i;
    }
    for (int k = 0; k < REC_TOP_ALT; k++)
        if (t->alt_id[k] >= 0) t->alt_p[k] = (float)(exp((double)(r->logits[t->alt_id[k]] - mx)) / z);
}

/* Copies s with every invalid UTF-8 sequence replaced by U+FFFD. */
static char *utf8_sanitize(const char *s, size_t n, size_t *out_len)
{
    char *out = xmalloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
        if (ok && len == 2) ok = c >= 0xC2;
        if (ok && len == 3) {
            unsigned char d = (unsigned char)s[i + 1];
            ok = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0);
        }
        if (ok && len == 4) {
            unsigned char d = (unsigned char)s[i + 1];
            ok = c <= 0xF4 && !(c == 0xF0 && d < 0x90) && !(c == 0xF4 && d >= 0x90);
        }
        if (ok) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

/* The prompt, the reasoning text and </think>, tokenised. */
static sidr_status encode_bridge(const rec_run *r, const char *text, size_t len, int **ids, int *n)
{
    size_t pl = strlen(r->prompt), cl = strlen(SIDR_THINK_CLOSE);
    char *full = xmalloc(pl + len + cl + 1);
    memcpy(full, r->prompt, pl);
    memcpy(full + pl, text, len);
    memcpy(full + pl + len, SIDR_THINK_CLOSE, cl + 1);
    sidr_status s = sidr_tokenizer_encode(r->tok, full, pl + len + cl, ids, n);
    free(full);
    return s;
}

/* The trace as text (r->reasoning): the decoded tokens cut at the first
 * </think>, or the given text written as the model would have begun it. */
static sidr_status trace_text(rec_run *r)
{
    char *text;
    size_t len;
    if (r->set.given_reasoning) {
        const char *open = "<think>\n";
        size_t ol = strlen(open), gl = strlen(r->set.given_reasoning);
        text = xmalloc(ol + gl + 1);
        memcpy(text, open, ol);
        memcpy(text + ol, r->set.given_reasoning, gl + 1);
        len = ol + gl;
    } else {
        int *gen_ids = xmalloc((size_t)(r->n_gen ? r->n_gen : 1) * sizeof(int));
        int n_keep = 0;
        for (int i = 0; i < r->n_gen; i++)
            if (r->gen[i].id != r->eos_id) gen_ids[n_keep++] = r->gen[i].id; /* a trace cut by EOS ends there */
        sidr_status s = sidr_tokenizer_decode(r->tok, gen_ids, n_keep, 0, &text, &len);
        free(gen_ids);
        if (s) return s;
        len = reasoning_cut(text, len);
        text[len] = 0;
    }
    /* A sampled trace may end inside a UTF-8 character or hold stray bytes;
     * like Hugging Face's decode, replace them with U+FFFD. */
    r->reasoning = utf8_sanitize(text, len, &len);
    free(text);
    return SIDR_OK;
}

/* After the reasoning: append the separator to the trace's text,
 * re-tokenise, and feed only what differs from the cache. */
static sidr_status bridge(rec_run *r)
{
    sidr_status s = trace_text(r);
    if (s) return s;
    char *text = r->reasoning;
    size_t len = strlen(text);
    int *ids, n;
    if ((s = encode_bridge(r, text, len, &ids, &n))) return s;
    /* Re-tokenising can take more tokens than were sampled (stray bytes
     * become U+FFFD, split differently): drop the end of such a trace until
     * it fits the cache with the room the beam needs. */
    while (n > r->kv.cap - 8 && len > 0) {
        size_t cut = (size_t)(n - (r->kv.cap - 8));
        free(ids);
        len = cut < len ? len - cut : 0;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80) len--; /* a character boundary */
        text[len] = 0;
        if ((s = encode_bridge(r, text, len, &ids, &n))) return s;
    }
    int keep = 0;
    while (keep < n && keep < r->kv.len && ids[keep] == r->ids[keep]) keep++;
    if (keep == n) keep--; /* at least one token must be fed to get logits */
    if (n > r->kv.cap) {
        free(ids);
        return sidr_fail(SIDR_ERR_RANGE, "reasoning plus separator (%d tokens) exceeds the cache", n);
    }
    r->kv.len = keep;
    r->n_ids = keep;
    for (int i = keep; i < n; i++) push_id(r, ids[i]);
    s = sidr_forward(r->model, r->state, &r->kv, ids + keep, n - keep, r->logits, SIDR_LOGITS_LAST);
    free(ids);
    return s;
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Grounded reasoning: when the trace starts a SID (its free choice begins a
 * catalogue SID), the whole mention is chosen by a beam over the history's
 * SIDs -- as wide as there are of them, so the best by joint probability --
 * and its tokens are queued to be fed one by one. */
static sidr_status ground_mention(rec_run *r)
{
    sidr_beam_config cfg = { r->ground.n_sids, -1, -1 };
    sidr_beam_search bs;
    sidr_status s = sidr_beam_begin(&bs, r->model, r->state, &r->kv, r->logits, &r->ground, &cfg);
    if (!s) s = sidr_beam_run(&bs);
    if (!s && bs.n_hyps > 0) {
        r->n_queue = bs.hyps[0].n_tokens;
        memcpy(r->queue, bs.hyps[0].tokens, (size_t)r->n_queue * sizeof(int));
        r->i_queue = 0;
    }
    sidr_beam_free(&bs);
    return s;
}

/* The next reasoning token: a queued mention token, else the sampler's
 * (when it starts a SID under grounding, the mention beam's first). */
static sidr_status next_reasoning_token(rec_run *r, int *next)
{
    const int V = r->model->cfg.vocab_size;
    if (r->i_queue < r->n_queue) {
        *next = r->queue[r->i_queue++];
        /* greedy's own choice here, to count what grounding changed */
        r->n_ground_changed += *next != argmax(r->logits, V);
        return SIDR_OK;
    }
    *next = sidr_sampler_sample(&r->sampler, r->logits);
    if (r->ground.n_sids == 0 || sidr_trie_child(&r->cat->trie, 0, *next) < 0) return SIDR_OK;
    int free_choice = *next;
    sidr_status s = ground_mention(r);
    if (s || r->n_queue == 0) return s;
    *next = r->queue[r->i_queue++];
    r->n_ground_changed += *next != free_choice;
    return SIDR_OK;
}

sidr_status rec_step(rec_run *r)
{
    sidr_status s = SIDR_OK;
    double t0 = now_seconds();
    switch (r->phase) {
    case REC_PREFILL: {
        /* In chunks, so a UI stays responsive during a long prompt. */
        int n = r->n_ids - r->kv.len < REC_PREFILL_CHUNK ? r->n_ids - r->kv.len : REC_PREFILL_CHUNK;
        s = sidr_forward(r->model, r->state, &r->kv, r->ids + r->kv.len, n, r->logits, SIDR_LOGITS_LAST);
        r->t_prefill += now_seconds() - t0;
        if (s || r->kv.len < r->n_ids) return s;
        r->phase = !r->set.think ? REC_BEAM : r->set.given_reasoning ? REC_BRIDGE : REC_REASONING;
        if (!r->set.think) s = sidr_beam_begin(&r->bs, r->model, r->state, &r->kv, r->logits, &r->cat->trie, &r->bcfg);
        return s;
    }
    case REC_REASONING: {
        int next;
        if ((s = next_reasoning_token(r, &next))) return s;
        if (!(r->n_gen & (r->n_gen - 1))) r->gen = xrealloc(r->gen, (size_t)(r->n_gen ? r->n_gen * 2 : 1) * sizeof *r->gen);
        describe(r, next, &r->gen[r->n_gen++]);
        int stop = next == r->think_close_id || next == r->eos_id || r->n_gen >= r->set.max_reasoning;
        if (!stop) {
            push_id(r, next);
            s = sidr_forward(r->model, r->state, &r->kv, &next, 1, r->logits, SIDR_LOGITS_LAST);
        }
        r->t_reasoning += now_seconds() - t0;
        if (stop) r->phase = REC_BRIDGE;
        return s;
    }
    case REC_BRIDGE:
        s = bridge(r);
        if (!s) s = sidr_beam_begin(&r->bs, r->model, r->state, &r->kv, r->logits, &r->cat->trie, &r->bcfg);
        r->t_reasoning += now_seconds() - t0;
        r->phase = REC_BEAM;
        return s;
    case REC_BEAM:
        s = sidr_beam_step(&r->bs);
        r->t_beam += now_seconds() - t0;
        if (r->bs.done) r->phase = REC_DONE;
        return s;
    case REC_DONE:
        return SIDR_OK;
    }
    return SIDR_OK;
}

sidr_status rec_run_all(rec_run *r, int (*on_token)(rec_run *r, void *ctx), void *ctx)
{
    while (r->phase != REC_DONE) {
        rec_phase was = r->phase;
        sidr_status s = rec_step(r);
        if (s) return s;
        if (was == REC_REASONING && on_token && on_token(r, ctx))
            return sidr_fail(SIDR_ERR_CANCELLED, "recommendation cancelled");
    }
    return SIDR_OK;
}

void rec_beam_sid(const rec_run *r, int i, char *out, size_t cap)
{
    catalog_sid_string(r->tok, r->bs.hyps[i].tokens, r->cat->depth, out, cap);
}

int rec_rank(const rec_run *r, const char *target_sid)
{
    char sid[512];
    for (int i = 0; i < r->bs.n_hyps; i++) {
        rec_beam_sid(r, i, sid, sizeof sid);
        if (!strcmp(sid, target_sid)) return i;
    }
    return -1;
}

/* (leaf, probability) pairs of every trace's beam, merged by leaf. */
typedef struct {
    int node;
    double p;
    int tokens[SIDR_BEAM_MAX_TOKENS], n_tokens;
} marginal_entry;

static int by_node(const void *a, const void *b)
{
    const marginal_entry *x = a, *y = b;
    return (x->node > y->node) - (x->node < y->node);
}

static int by_p_desc(const void *a, const void *b)
{
    const marginal_entry *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return (x->node > y->node) - (x->node < y->node); /* a fixed order for ties */
}

static void add_hyps(marginal_entry **e, int *n, const sidr_beam_search *bs)
{
    *e = xrealloc(*e, (size_t)(*n + bs->n_hyps + 1) * sizeof **e);
    for (int i = 0; i < bs->n_hyps; i++) {
        marginal_entry *x = &(*e)[(*n)++];
        x->node = bs->hyps[i].node;
        x->p = exp((double)bs->hyps[i].score);
        x->n_tokens = bs->hyps[i].n_tokens;
        memcpy(x->tokens, bs->hyps[i].tokens, sizeof x->tokens);
    }
}

sidr_status rec_run_marginal(rec_run *r, sidr_model *m, const sidr_tokenizer *tok, const sidr_catalog *cat,
                             const rec_settings *set, const char *const *history, int n_history, int n_traces)
{
    if (n_traces < 1) return sidr_fail(SIDR_ERR_ARG, "the number of reasoning traces must be at least 1, got %d", n_traces);
    if (n_traces > 1 && !(set->temperature > 0))
        return sidr_fail(SIDR_ERR_ARG, "%d reasoning traces at temperature 0 would all be the same trace: sample them "
                         "(temperature > 0) or use one", n_traces);
    if (n_traces > 1 && !set->think) return sidr_fail(SIDR_ERR_ARG, "several reasoning traces need thinking mode");
    sidr_status s = rec_begin(r, m, tok, cat, set, history, n_history);
    if (!s) s = rec_run_all(r, NULL, NULL);
    if (s || n_traces == 1) return s;
    marginal_entry *e = NULL;
    int n = 0;
    add_hyps(&e, &n, &r->bs);
    for (int i = 1; i < n_traces && !s; i++) {
        rec_settings si = *set;
        si.seed = set->seed + (uint64_t)i;
        rec_run ri;
        s = rec_begin(&ri, m, tok, cat, &si, history, n_history);
        if (!s) s = rec_run_all(&ri, NULL, NULL);
        if (!s) add_hyps(&e, &n, &ri.bs);
        if (!s) r->t_reasoning += ri.t_prefill + ri.t_reasoning, r->t_beam += ri.t_beam;
        rec_free(&ri);
    }
    if (!s) {
        qsort(e, (size_t)n, sizeof *e, by_node);
        int u = 0;
        for (int i = 0; i < n; i++) {
            if (u > 0 && e[u - 1].node == e[i].node) e[u - 1].p += e[i].p;
            else e[u++] = e[i];
        }
        qsort(e, (size_t)u, sizeof *e, by_p_desc);
        if (u > set->beams) u = set->beams;
        r->bs.hyps = xrealloc(r->bs.hyps, (size_t)(u ? u : 1) * sizeof *r->bs.hyps);
        for (int i = 0; i < u; i++) {
            sidr_beam *h = &r->bs.hyps[i];
            memset(h, 0, sizeof *h);
            memcpy(h->tokens, e[i].tokens, sizeof h->tokens);
            h->n_tokens = e[i].n_tokens;
            h->node = e[i].node;
            h->score = (float)log(e[i].p / n_traces);
            h->order = i;
        }
        r->bs.n_hyps = u;
    }
    free(e);
    return s;
}

#define _POSIX_C_SOURCE 200809L
#include "grpo.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "prompts.h"
#include "recommend.h"
#include "threads.h"
#include "util.h"

/* ---- reward ---------------------------------------------------------------------- */

/* Length of a SID token "<x_N>" at s (x a lowercase letter, N digits), 0 if none. */
static size_t sid_token_len(const char *s, const char *end)
{
    if (end - s < 5 || s[0] != '<' || s[1] < 'a' || s[1] > 'z' || s[2] != '_') return 0;
    const char *p = s + 3;
    while (p < end && *p >= '0' && *p <= '9') p++;
    if (p == s + 3 || p >= end || *p != '>') return 0;
    return (size_t)(p + 1 - s);
}

double grpo_prefix_reward(int k, int levels)
{
    if (k <= 0) return 0;
    if (k >= levels) return 1.0;
    double r = 0.25 * (double)(1 << (k - 1));
    return r > 0.5 ? 0.5 : r;
}

double grpo_reward(const char *text, size_t len, const char *target, int levels, grpo_sid_exists exists, void *ctx,
                   grpo_reward_info *info)
{
    grpo_reward_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    const char *end = text + len, *p = NULL;
    for (const char *q = text; q + 8 <= end; q++)
        if (!memcmp(q, "</think>", 8)) { p = q + 8; break; }
    if (!p) return 0;
    info->has_close = 1;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) p++;
    /* the first L SID tokens, back to back */
    const char *tok[SIDR_BEAM_MAX_TOKENS];
    size_t tl[SIDR_BEAM_MAX_TOKENS];
    int n = 0;
    size_t used = 0;
    while (n < levels && n < SIDR_BEAM_MAX_TOKENS) {
        size_t l = sid_token_len(p, end);
        if (!l || used + l + 1 > sizeof info->sid) break;
        tok[n] = p;
        tl[n++] = l;
        memcpy(info->sid + used, p, l);
        used += l;
        p += l;
    }
    info->sid[used] = 0;
    if (n < levels) {
        info->sid[0] = 0;
        return 0;
    }
    info->parsed = 1;
    /* level-by-level comparison with the target */
    const char *t = target, *tend = target + strlen(target);
    int k = 0;
    for (int l = 0; l < levels; l++) {
        size_t m = sid_token_len(t, tend);
        if (!m || m != tl[l] || memcmp(t, tok[l], m)) break;
        k++;
        t += m;
    }
    info->levels_right = k;
    info->valid = exists ? exists(ctx, info->sid) != 0 : 0;
    return grpo_prefix_reward(k, levels) + (info->valid ? 0.1 : 0.0);
}

/* ---- advantages --------------------------------------------------------------------- */

void grpo_advantages(const double *r, int n_groups, int g, double *adv)
{
    for (int q = 0; q < n_groups; q++) {
        const double *x = r + (size_t)q * g;
        double *a = adv + (size_t)q * g;
        int constant = 1;
        for (int i = 1; i < g; i++)
            if (x[i] != x[0]) constant = 0;
        if (g < 2 || constant) {
            for (int i = 0; i < g; i++) a[i] = 0;
            continue;
        }
        double mean = 0, var = 0;
        for (int i = 0; i < g; i++) mean += x[i];
        mean /= g;
        for (int i = 0; i < g; i++) var += (x[i] - mean) * (x[i] - mean);
        double sd = sqrt(var / (g - 1));
        for (int i = 0; i < g; i++) a[i] = (x[i] - mean) / (sd + 1e-6);
    }
}

/* ---- loss ------------------------------------------------------------------------------ */

#define KL_CLAMP 10.0

void grpo_token_loss(const float *logp, const float *old, const float *ref, const float *adv, const float *mask, int n,
                     double norm, const grpo_loss_opts *o, float *dlogp, grpo_loss_stats *st)
{
    double lo = 1 - o->clip_eps, hi = 1 + o->clip_eps;
    for (int i = 0; i < n; i++) {
        if (mask && mask[i] == 0) {
            dlogp[i] = 0;
            continue;
        }
        double lp = logp[i], a = adv[i];
        double ratio = exp(lp - (double)old[i]);
        double rc = ratio < lo ? lo : ratio > hi ? hi : ratio;
        double l1 = -a * ratio, l2 = -a * rc;
        double pg = l1 > l2 ? l1 : l2;
        /* d/dlogp of max(l1, l2): -a*ratio through l1, or through l2 while
         * the clamp is inactive; 0 when the clipped branch is taken */
        double g = (l1 >= l2 || (ratio >= lo && ratio <= hi)) ? -a * ratio : 0;
        if (g == 0 && a != 0) st->clipped++;
        double kl = 0, gk = 0;
        if (o->kl_coef != 0 && ref) {
            double x = (double)ref[i] - lp, e = exp(x);
            kl = e - x - 1;
            if (kl > KL_CLAMP) kl = KL_CLAMP;       /* gradient 0 */
            else gk = 1 - e;
        }
        st->pg_loss += pg / norm;
        st->kl += kl / norm;
        st->loss += (pg + o->kl_coef * kl) / norm;
        st->tokens++;
        if (st->tokens == 1 || ratio < st->ratio_min) st->ratio_min = ratio;
        if (st->tokens == 1 || ratio > st->ratio_max) st->ratio_max = ratio;
        dlogp[i] = (float)((g + o->kl_coef * gk) / norm);
    }
}

/* ---- rollouts ---------------------------------------------------------------------------- */

void grpo_rollout_free(grpo_rollout *r)
{
    free(r->ids);
    free(r->logp);
    memset(r, 0, sizeof *r);
}

typedef struct {
    const float *logits;   /* [g][V] or one row shared (stride 0) */
    size_t stride;
    int V;
    float temp;
    uint64_t *rng;
    const int *done;
    int *tok;
    float *lp;
    float *scratch;        /* [threads][V]: exp((logit - max) / T) */
} sample_job;

static void sample_range(void *ctx, int b, int e, int thread)
{
    sample_job *j = ctx;
    float *ex = j->scratch + (size_t)thread * j->V;
    for (int k = b; k < e; k++) {
        if (j->done[k]) continue;
        const float *l = j->logits + j->stride * (size_t)k;
        float mx = l[0];
        for (int i = 1; i < j->V; i++) mx = l[i] > mx ? l[i] : mx;
        double z = 0, inv = 1.0 / j->temp;
        for (int i = 0; i < j->V; i++) {
            ex[i] = (float)exp(((double)l[i] - mx) * inv);
            z += ex[i];
        }
        double u = (double)(train_rng_next(&j->rng[k]) >> 11) * (1.0 / 9007199254740992.0) * z, c = 0;
        int id = -1;
        for (int i = 0; i < j->V; i++) {
            c += ex[i];
            if (c > u) { id = i; break; }
        }
        /* rounding left u at the very top: the last token of nonzero probability */
        if (id < 0)
            for (id = j->V - 1; id > 0 && ex[id] == 0; id--) {}
        j->tok[k] = id;
        /* the log-prob under the policy itself (temperature 1), which the
         * training forward computes: PPO's ratio starts at 1 whatever the
         * sampling temperature */
        if (inv == 1.0) {
            j->lp[k] = (float)((double)l[id] - mx - log(z));
        } else {
            double z1 = 0;
            for (int i = 0; i < j->V; i++) z1 += exp((double)l[i] - mx);
            j->lp[k] = (float)((double)l[id] - mx - log(z1));
        }
    }
}

sidr_status grpo_rollouts(sidr_model *m, sidr_state *s, const int *prompt, int n_prompt, int g, int max_new,
                          const int *stop, int n_stop, float temp, uint64_t seed, grpo_rollout *out)
{
    int V = m->cfg.vocab_size;
    memset(out, 0, (size_t)g * sizeof *out);
    if (temp <= 0) return sidr_fail(SIDR_ERR_ARG, "rollouts: temperature must be > 0");
    sidr_kv kv;
    sidr_status st = sidr_kv_init(&kv, &m->cfg, n_prompt);
    if (st) return st;
    float *logits = xmalloc((size_t)g * V * sizeof(float));
    st = sidr_forward(m, s, &kv, prompt, n_prompt, logits, SIDR_LOGITS_LAST);
    sidr_branches br;
    memset(&br, 0, sizeof br);
    if (!st && max_new > 1) st = sidr_branches_init(&br, &kv, g, max_new);
    if (st) {
        sidr_kv_free(&kv);
        free(logits);
        return st;
    }
    uint64_t *rng = xmalloc((size_t)g * sizeof *rng);
    int *done = xcalloc((size_t)g, sizeof(int)), *tok = xmalloc((size_t)g * sizeof(int));
    float *lp = xmalloc((size_t)g * sizeof(float));
    for (int k = 0; k < g; k++) {
        rng[k] = train_rng_seed(seed, (uint64_t)k, 7);
        out[k].ids = xmalloc((size_t)max_new * sizeof(int));
        out[k].logp = xmalloc((size_t)max_new * sizeof(float));
    }
    float *scratch = xmalloc((size_t)sidr_threads_count() * V * sizeof(float));
    sample_job j = { logits, 0, V, temp, rng, done, tok, lp, scratch };
    sidr_parallel_for(g, sample_range, &j);   /* the first tokens all come from the prompt's logits */
    j.stride = (size_t)V;
    for (int step = 0; !st; step++) {
        int live = 0;
        for (int k = 0; k < g; k++) {
            if (done[k]) continue;
            out[k].ids[out[k].n] = tok[k];
            out[k].logp[out[k].n++] = lp[k];
            for (int q = 0; q < n_stop; q++)
                if (tok[k] == stop[q]) done[k] = out[k].stopped = 1;
            if (out[k].n >= max_new) done[k] = 1;
            live += !done[k];
        }
        if (!live) break;
        /* finished sequences are fed their last token again (their output is ignored) */
        for (int k = 0; k < g; k++) tok[k] = out[k].ids[out[k].n - 1];
        st = sidr_forward_branches(m, s, &br, tok, logits);
        if (!st) sidr_parallel_for(g, sample_range, &j);
    }
    free(rng);
    free(done);
    free(tok);
    free(lp);
    free(logits);
    free(scratch);
    if (max_new > 1) sidr_branches_free(&br);
    sidr_kv_free(&kv);
    if (st)
        for (int k = 0; k < g; k++) grpo_rollout_free(&out[k]);
    return st;
}

/* ---- the stage ------------------------------------------------------------------------------- */

static int exists_cb(void *ctx, const char *sid)
{
    return sidr_dataset_sid((const sidr_dataset *)ctx, sid) != NULL;
}

typedef struct {
    int row;
    int *ids;
    int n;
} rl_prompt;

/* Prompts of the training rows (those whose history and target have SIDs). */
static sidr_status build_prompts(trainer *t, sidr_split_id split, rl_prompt **out, int *n_out)
{
    const sidr_split *sp = &t->ds.split[split];
    rl_prompt *v = xcalloc((size_t)(sp->n ? sp->n : 1), sizeof *v);
    int n = 0;
    sidr_status s = SIDR_OK;
    for (int r = 0; r < sp->n && !s; r++) {
        const sidr_sample *row = &sp->rows[r];
        const char *hist[SIDR_MAX_HISTORY];
        int ok = t->ds.items[row->target].sid != NULL;
        for (int i = 0; i < row->n_hist && ok; i++) ok = (hist[i] = t->ds.items[row->hist[i]].sid) != NULL;
        if (!ok) continue;
        char *h = prompt_join_sids(hist, row->n_hist), *p = prompt_reasoning(h);
        s = sidr_tokenizer_encode(t->tok, p, strlen(p), &v[n].ids, &v[n].n);
        free(h);
        free(p);
        if (!s) v[n++].row = r;
    }
    if (s) {
        for (int i = 0; i < n; i++) free(v[i].ids);
        free(v);
        return s;
    }
    *out = v;
    *n_out = n;
    return SIDR_OK;
}

/* HR@K on a slice of the valid split, thinking mode, as sidr eval computes it. */
static sidr_status eval_hr(trainer *t, sidr_model *m, metrics *mt)
{
    memset(mt, 0, sizeof *mt);
    const sidr_split *vs = &t->ds.split[SIDR_SPLIT_VALID];
    if (!vs->present || vs->n == 0 || t->o.eval_gen <= 0) return SIDR_OK;
    int *rows = xmalloc((size_t)t->o.eval_gen * sizeof(int));
    int n = train_eval_rows(vs->n, t->o.eval_gen, rows);
    rec_settings set;
    rec_settings_default(&set);
    set.think = 1;
    set.max_reasoning = t->o.max_new;
    sidr_status s = SIDR_OK;
    for (int k = 0; k < n && !s; k++) {
        if (trainer_should_stop(t)) {
            s = SIDR_ERR_CANCELLED;
            break;
        }
        const sidr_sample *row = &vs->rows[rows[k]];
        const char *hist[SIDR_MAX_HISTORY];
        int ok = t->ds.items[row->target].sid != NULL;
        for (int i = 0; i < row->n_hist && ok; i++) ok = (hist[i] = t->ds.items[row->hist[i]].sid) != NULL;
        if (!ok) continue;
        rec_run r;
        double t0 = now_seconds();
        if ((s = rec_begin(&r, m, t->tok, &t->cat, &set, hist, row->n_hist))) break;
        if (!(s = rec_run_all(&r, NULL, NULL))) {
            int rank = rec_rank(&r, t->ds.items[row->target].sid);
            metrics_add(mt, rank, r.bs.n_hyps == 0, r.n_gen, now_seconds() - t0, NULL);
        }
        rec_free(&r);
    }
    free(rows);
    return s;
}

static sidr_status rl_eval(trainer *t, sidr_model *m, int *stop_early)
{
    *stop_early = 0;
    if (t->o.eval_gen <= 0 || !t->ds.split[SIDR_SPLIT_VALID].present || t->ds.split[SIDR_SPLIT_VALID].n == 0)
        return SIDR_OK;
    metrics mt;
    double t0 = now_seconds();
    sidr_status s = eval_hr(t, m, &mt);
    if (s || !mt.rows) return s;
    double n = (double)mt.rows;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "eval");
    cJSON_AddNumberToObject(o, "step", (double)t->st.step);
    cJSON_AddNumberToObject(o, "rows", n);
    char key[16];
    for (int i = 0; i < METRICS_N_K; i++) {
        snprintf(key, sizeof key, "HR@%d", metrics_k[i]);
        cJSON_AddNumberToObject(o, key, mt.hr[i] / n);
    }
    for (int i = 0; i < METRICS_N_K; i++) {
        snprintf(key, sizeof key, "NDCG@%d", metrics_k[i]);
        cJSON_AddNumberToObject(o, key, mt.ndcg[i] / n);
    }
    cJSON_AddNumberToObject(o, "invalid_sid_rate", mt.invalid / n);
    cJSON_AddNumberToObject(o, "mean_reasoning_tokens", mt.reasoning_tokens / n);
    int improved;
    *stop_early = trainer_note_eval(t, mt.hr[3] / n, 0, &improved);
    cJSON_AddBoolToObject(o, "best", improved);
    cJSON_AddNumberToObject(o, "eval_seconds", now_seconds() - t0);
    trainer_log(t, o);
    if (!t->o.quiet)
        fprintf(stderr, "%sstep %ld: valid HR@10 %.4f NDCG@10 %.4f on %ld rows, reasoning %.1f tokens%s\n",
                isatty(2) ? "\r\033[K" : "", t->st.step, mt.hr[3] / n, mt.ndcg[3] / n, mt.rows, mt.reasoning_tokens / n,
                improved ? " (best)" : "");
    return SIDR_OK;
}

typedef struct {
    int *ids;        /* prompt + response */
    int n, lo;       /* response = [lo, n) */
    float *old;      /* [n - lo] rollout log-probs */
    float adv;
} rl_seq;

static const rl_seq *g_seqs;
static int cmp_seq_idx(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (g_seqs[x].n != g_seqs[y].n) return g_seqs[y].n - g_seqs[x].n;
    return x - y;
}

sidr_status grpo_run(trainer *t)
{
    const train_opts *o = &t->o;
    int L = t->ds.sid_levels, G = o->group;
    rl_prompt *prompts = NULL;
    int n_prompts = 0;
    sidr_status s;
    if (!t->ds.split[SIDR_SPLIT_TRAIN].present || t->ds.split[SIDR_SPLIT_TRAIN].n == 0)
        return sidr_fail(SIDR_ERR_MISSING, "%s: no train rows for rollouts (use --derive-train to build them from the valid "
                         "histories)", o->data_dir);
    if ((s = build_prompts(t, SIDR_SPLIT_TRAIN, &prompts, &n_prompts))) return s;
    if (n_prompts == 0) {
        free(prompts);
        return sidr_fail(SIDR_ERR_MISSING, "%s: no train row has SIDs for its history and target", o->data_dir);
    }
    int max_prompt = 0;
    for (int i = 0; i < n_prompts; i++) max_prompt = prompts[i].n > max_prompt ? prompts[i].n : max_prompt;
    int P = o->prompts < n_prompts ? o->prompts : n_prompts;
    t->steps_per_epoch = (n_prompts + P - 1) / P;
    t->total_steps = o->max_steps > 0 ? o->max_steps : (long)o->epochs * t->steps_per_epoch;
    int max_T = max_prompt + o->max_new;
    sidr_params ref;
    memset(&ref, 0, sizeof ref);
    int have_ref = 0, resumed = 0;
    sidr_model m;
    memset(&m, 0, sizeof m);
    sidr_state *state = NULL;
    int stop_ids[2], n_stop = 0;
    if (t->end_id >= 0) stop_ids[n_stop++] = t->end_id;
    if (t->eos_id >= 0) stop_ids[n_stop++] = t->eos_id;

    if ((s = trainer_setup(t, o->batch, max_T))) goto out;
    if (o->kl_coef != 0) {
        const char *rd = o->ref_dir ? o->ref_dir : t->start_model;
        if ((s = sidr_params_load(&ref, rd))) goto out;
        have_ref = 1;
        if (ref.n != t->params.n || ref.cfg.vocab_size != t->params.cfg.vocab_size) {
            s = sidr_fail(SIDR_ERR_SHAPE, "%s: the reference model's layout differs from the policy's", rd);
            goto out;
        }
    }
    if (o->resume && (s = trainer_resume(t, &resumed))) goto out;
    if ((s = trainer_open_log(t, resumed))) goto out;
    if ((s = sidr_model_from_params(&m, &t->params))) goto out;
    state = sidr_state_new(&m, G > 256 ? G : 256);
    {
        cJSON *lg = cJSON_CreateObject();
        cJSON_AddStringToObject(lg, "type", resumed ? "resume" : "start");
        cJSON_AddNumberToObject(lg, "step", (double)t->st.step);
        cJSON_AddStringToObject(lg, "stage", "rl");
        cJSON_AddStringToObject(lg, "model", o->model_dir);
        cJSON_AddStringToObject(lg, "reference", have_ref ? (o->ref_dir ? o->ref_dir : t->start_model) : "");
        cJSON_AddStringToObject(lg, "data", o->data_dir);
        cJSON_AddNumberToObject(lg, "parameters", (double)t->params.n);
        cJSON_AddNumberToObject(lg, "prompts", n_prompts);
        cJSON_AddNumberToObject(lg, "prompts_per_step", P);
        cJSON_AddNumberToObject(lg, "group", G);
        cJSON_AddNumberToObject(lg, "max_new", o->max_new);
        cJSON_AddNumberToObject(lg, "total_steps", (double)t->total_steps);
        cJSON_AddNumberToObject(lg, "lr", o->lr);
        cJSON_AddNumberToObject(lg, "kl_coef", o->kl_coef);
        cJSON_AddNumberToObject(lg, "clip_eps", o->clip_eps);
        cJSON_AddNumberToObject(lg, "temperature", o->temperature);
        cJSON_AddNumberToObject(lg, "ppo_epochs", o->ppo_epochs);
        trainer_log(t, lg);
    }
    if (!o->quiet && !resumed)
        fprintf(stderr, "sidr train rl: %s, %zu parameters; %d prompts, %d per step x %d rollouts, up to %d new tokens, "
                        "%ld steps\n", o->model_dir, t->params.n, n_prompts, P, G, o->max_new, t->total_steps);
    int stop_early = t->st.stopped_early, cancelled = 0;
    if (!resumed && (s = rl_eval(t, &m, &stop_early))) {
        if (s != SIDR_ERR_CANCELLED) goto out;
        s = SIDR_OK;
        cancelled = 1;
    }
    t->run_step0 = t->st.step;
    t->run_t0 = now_seconds();
    if (!o->quiet) progress_start(&t->pr, "rl", t->total_steps - t->st.step, "steps");

    int cap_seq = P * G;
    grpo_rollout *ro = xcalloc((size_t)cap_seq, sizeof *ro);
    rl_seq *seqs = xcalloc((size_t)cap_seq, sizeof *seqs);
    double *rew = xmalloc((size_t)cap_seq * sizeof(double)), *adv = xmalloc((size_t)cap_seq * sizeof(double));
    int *order = xmalloc((size_t)n_prompts * sizeof(int)), order_epoch = -1;
    int *mbi = xmalloc((size_t)cap_seq * sizeof(int));
    int *btok = xmalloc((size_t)o->batch * max_T * sizeof(int));
    float *bw = xmalloc((size_t)o->batch * max_T * sizeof(float)), *blp = xmalloc((size_t)o->batch * max_T * sizeof(float));
    float *bref = xmalloc((size_t)o->batch * max_T * sizeof(float)), *bd = xmalloc((size_t)o->batch * max_T * sizeof(float));
    float *bold = xmalloc((size_t)o->batch * max_T * sizeof(float)), *badv = xmalloc((size_t)o->batch * max_T * sizeof(float));
    grpo_loss_opts lo = { o->clip_eps, o->kl_coef };
    while (!s && !cancelled && t->st.step < t->total_steps && !stop_early) {
        if (order_epoch != t->st.epoch) {
            for (int i = 0; i < n_prompts; i++) order[i] = i;
            uint64_t rng = train_rng_seed(o->seed, 4, (uint64_t)t->st.epoch);
            train_shuffle(order, n_prompts, &rng);
            order_epoch = t->st.epoch;
        }
        int np = n_prompts - (int)t->st.pos < P ? n_prompts - (int)t->st.pos : P;
        double t0 = now_seconds();
        uint64_t step_seed = train_rng_seed(o->seed, 5, (uint64_t)t->st.step);
        /* rollouts */
        long gen_tokens = 0;
        for (int j = 0; j < np && !s; j++) {
            if (trainer_should_stop(t)) { cancelled = 1; break; }
            const rl_prompt *pr = &prompts[order[t->st.pos + j]];
            s = grpo_rollouts(&m, state, pr->ids, pr->n, G, o->max_new, stop_ids, n_stop, (float)o->temperature,
                              train_rng_seed(step_seed, (uint64_t)j, 0), ro + (size_t)j * G);
        }
        if (s || cancelled) {
            for (int k = 0; k < cap_seq; k++) grpo_rollout_free(&ro[k]);
            break;
        }
        double t_roll = now_seconds() - t0;
        /* rewards */
        int counts[SIDR_BEAM_MAX_TOKENS + 1][2];
        memset(counts, 0, sizeof counts);
        int unparsed = 0, no_close = 0, valid = 0, hits = 0, stopped = 0;
        cJSON *examples = NULL;
        double reason_tok = 0, resp_tok = 0;
        for (int j = 0; j < np && !s; j++) {
            const rl_prompt *pr = &prompts[order[t->st.pos + j]];
            const char *target = t->ds.items[t->ds.split[SIDR_SPLIT_TRAIN].rows[pr->row].target].sid;
            for (int k = 0; k < G; k++) {
                grpo_rollout *r = &ro[(size_t)j * G + k];
                char *text;
                size_t len;
                if ((s = sidr_tokenizer_decode(t->tok, r->ids, r->n, 0, &text, &len))) break;
                grpo_reward_info info;
                rew[j * G + k] = grpo_reward(text, len, target, L, exists_cb, &t->ds, &info);
                if (j == 0 && k < 4) {
                    /* a few rollouts of the step's first prompt, for the log */
                    if (!examples) examples = cJSON_CreateArray();
                    cJSON *ex = cJSON_CreateObject();
                    char *clean = train_utf8_copy(text, len);
                    cJSON_AddStringToObject(ex, "text", clean);
                    free(clean);
                    cJSON_AddNumberToObject(ex, "reward", rew[j * G + k]);
                    cJSON_AddItemToArray(examples, ex);
                }
                free(text);
                if (!info.has_close) no_close++;
                if (!info.parsed) unparsed++;
                else counts[info.levels_right][info.valid]++;
                valid += info.valid;
                hits += info.parsed && info.levels_right == L;
                stopped += r->stopped;
                int think_at = r->n;
                for (int q = 0; q < r->n; q++)
                    if (r->ids[q] == t->think_close_id) { think_at = q; break; }
                reason_tok += think_at;
                resp_tok += r->n;
                gen_tokens += r->n;
            }
        }
        if (s) {
            for (int k = 0; k < cap_seq; k++) grpo_rollout_free(&ro[k]);
            cJSON_Delete(examples);
            break;
        }
        int n_seq = np * G;
        grpo_advantages(rew, np, G, adv);
        double rmean = 0, rvar = 0;
        for (int i = 0; i < n_seq; i++) rmean += rew[i];
        rmean /= n_seq;
        for (int i = 0; i < n_seq; i++) rvar += (rew[i] - rmean) * (rew[i] - rmean);
        double norm = 0;
        for (int j = 0; j < np; j++) {
            const rl_prompt *pr = &prompts[order[t->st.pos + j]];
            for (int k = 0; k < G; k++) {
                int i = j * G + k;
                grpo_rollout *r = &ro[i];
                rl_seq *q = &seqs[i];
                q->n = pr->n + r->n;
                q->lo = pr->n;
                q->ids = xrealloc(q->ids, (size_t)q->n * sizeof(int));
                memcpy(q->ids, pr->ids, (size_t)pr->n * sizeof(int));
                memcpy(q->ids + pr->n, r->ids, (size_t)r->n * sizeof(int));
                q->old = xrealloc(q->old, (size_t)(r->n ? r->n : 1) * sizeof(float));
                memcpy(q->old, r->logp, (size_t)r->n * sizeof(float));
                q->adv = (float)adv[i];
                norm += r->n;
                grpo_rollout_free(r);
            }
        }
        /* the update(s): micro-batches in length order */
        double t1 = now_seconds();
        for (int i = 0; i < n_seq; i++) mbi[i] = i;
        g_seqs = seqs;
        qsort(mbi, (size_t)n_seq, sizeof(int), cmp_seq_idx);
        grpo_loss_stats ls;
        sidr_adamw_info info;
        long train_tokens = 0;
        for (int ep = 0; ep < o->ppo_epochs && !s; ep++) {
            memset(&ls, 0, sizeof ls);
            sidr_train_zero_grad(t->tr);
            for (int a = 0; a < n_seq && !s; a += o->batch) {
                /* stop only before the first update of the step: the checkpoint must hold a whole step */
                if (ep == 0 && trainer_should_stop(t)) { cancelled = 1; break; }
                int B = n_seq - a < o->batch ? n_seq - a : o->batch, T = 1;
                for (int b = 0; b < B; b++) T = seqs[mbi[a + b]].n > T ? seqs[mbi[a + b]].n : T;
                int pad = t->end_id >= 0 ? t->end_id : t->eos_id;
                for (int b = 0; b < B; b++) {
                    const rl_seq *q = &seqs[mbi[a + b]];
                    for (int x = 0; x < T; x++) {
                        int in = x < q->n, resp = in && x >= q->lo;
                        btok[b * T + x] = in ? q->ids[x] : pad;
                        bw[b * T + x] = resp ? 1.0f : 0.0f;
                        bold[b * T + x] = resp ? q->old[x - q->lo] : 0.0f;
                        badv[b * T + x] = q->adv;
                    }
                    train_tokens += q->n;
                }
                sidr_batch bt = { B, T, btok, bw };
                if (have_ref) {
                    if ((s = sidr_train_use_params(t->tr, &ref)) || (s = sidr_train_forward(t->tr, &bt, 0, bref, NULL)) ||
                        (s = sidr_train_use_params(t->tr, &t->params)))
                        break;
                }
                if ((s = sidr_train_forward(t->tr, &bt, 0, blp, NULL))) break;
                grpo_token_loss(blp, bold, have_ref ? bref : NULL, badv, bw, B * T, norm > 0 ? norm : 1, &lo, bd, &ls);
                if ((s = sidr_train_backward(t->tr, bd))) break;
            }
            if (s || cancelled) break;
            if ((s = sidr_adamw_step(&t->opt, &t->params, sidr_train_grad(t->tr), &info))) {
                s = sidr_fail(s, "step %ld: %s", t->st.step + 1, sidr_last_error());
                break;
            }
        }
        if (s || cancelled) {
            cJSON_Delete(examples);
            break;
        }
        double dt = now_seconds() - t0, t_train = now_seconds() - t1;
        t->st.step++;
        t->st.pos += np;
        t->st.tokens_seen += train_tokens;
        t->st.train_seconds += dt;
        int epoch_end = t->st.pos >= n_prompts;
        cJSON *lg = cJSON_CreateObject();
        cJSON_AddStringToObject(lg, "type", "train");
        cJSON_AddNumberToObject(lg, "step", (double)t->st.step);
        cJSON_AddNumberToObject(lg, "epoch", (double)t->st.step / (double)t->steps_per_epoch);
        cJSON_AddNumberToObject(lg, "loss", ls.loss);
        cJSON_AddNumberToObject(lg, "pg_loss", ls.pg_loss);
        cJSON_AddNumberToObject(lg, "kl", ls.kl);
        cJSON_AddNumberToObject(lg, "lr", info.lr);
        cJSON_AddNumberToObject(lg, "grad_norm", info.grad_norm);
        cJSON_AddNumberToObject(lg, "reward_mean", rmean);
        cJSON_AddNumberToObject(lg, "reward_std", n_seq > 1 ? sqrt(rvar / (n_seq - 1)) : 0);
        cJSON *rc = cJSON_AddObjectToObject(lg, "reward_counts");
        int zero = unparsed;
        for (int k = 0; k <= L; k++)
            for (int v = 0; v < 2; v++) {
                if (k == 0 && v == 0) { zero += counts[0][0]; continue; }
                if (!counts[k][v]) continue;
                char key[32];
                snprintf(key, sizeof key, "%g", round((grpo_prefix_reward(k, L) + 0.1 * v) * 1e6) / 1e6);
                cJSON_AddNumberToObject(rc, key, counts[k][v]);
            }
        if (zero) cJSON_AddNumberToObject(rc, "0", zero);
        cJSON_AddNumberToObject(lg, "unparsed", unparsed);
        cJSON_AddNumberToObject(lg, "no_think_close", no_close);
        cJSON_AddNumberToObject(lg, "valid_sid_rate", (double)valid / n_seq);
        cJSON_AddNumberToObject(lg, "exact_hit_rate", (double)hits / n_seq);
        cJSON_AddNumberToObject(lg, "stopped_rate", (double)stopped / n_seq);
        cJSON_AddNumberToObject(lg, "mean_reasoning_tokens", reason_tok / n_seq);
        cJSON_AddNumberToObject(lg, "mean_response_tokens", resp_tok / n_seq);
        cJSON_AddNumberToObject(lg, "clipped_tokens", (double)ls.clipped);
        cJSON_AddNumberToObject(lg, "ratio_min", ls.ratio_min);
        cJSON_AddNumberToObject(lg, "ratio_max", ls.ratio_max);
        cJSON_AddNumberToObject(lg, "prompts", np);
        cJSON_AddNumberToObject(lg, "rollouts", n_seq);
        cJSON_AddNumberToObject(lg, "rollout_seconds", t_roll);
        cJSON_AddNumberToObject(lg, "gen_tokens_per_s", gen_tokens / (t_roll > 0 ? t_roll : 1e-9));
        cJSON_AddNumberToObject(lg, "train_seconds", t_train);
        cJSON_AddNumberToObject(lg, "tokens_per_s", train_tokens / (t_train > 0 ? t_train : 1e-9));
        cJSON_AddNumberToObject(lg, "step_seconds", dt);
        if (examples) cJSON_AddItemToObject(lg, "examples", examples);
        trainer_log(t, lg);
        if (!o->quiet) {
            char note[96];
            snprintf(note, sizeof note, "reward %.3f  valid %.2f  %.0f tok/s", rmean, (double)valid / n_seq,
                     train_tokens / (t_train > 0 ? t_train : 1e-9));
            progress_update(&t->pr, t->st.step - t->run_step0, note);
        }
        if (epoch_end) {
            t->st.epoch++;
            t->st.pos = 0;
        }
        int eval_now = (o->eval_every > 0 && t->st.step % o->eval_every == 0) || (o->eval_every == 0 && epoch_end) ||
                       t->st.step == t->total_steps;
        if (eval_now && (s = rl_eval(t, &m, &stop_early))) {
            if (s == SIDR_ERR_CANCELLED) s = SIDR_OK, cancelled = 1;   /* the step is done: checkpoint it */
            break;
        }
        if (stop_early) t->st.stopped_early = 1;
        int stop_here = o->stop_after > 0 && t->st.step - t->run_step0 >= o->stop_after && t->st.step < t->total_steps;
        if ((o->save_every > 0 && t->st.step % o->save_every == 0) || stop_here)
            if ((s = trainer_checkpoint(t))) break;
        if (stop_here) {
            if (!o->quiet) {
                progress_end(&t->pr, t->st.step - t->run_step0, "stopped");
                fprintf(stderr, "sidr train rl: stopped after %ld steps (--stop-after); continue with --resume\n", o->stop_after);
            }
            goto done;
        }
    }
    if (!s && !o->quiet) progress_end(&t->pr, t->st.step - t->run_step0, cancelled ? "interrupted" : NULL);
    if (!s && cancelled) {
        if (!(s = trainer_checkpoint(t))) {
            fprintf(stderr, "sidr train rl: interrupted; checkpoint at step %ld in %s (continue with --resume)\n",
                    t->st.step, o->out_dir);
            s = sidr_fail(SIDR_ERR_CANCELLED, "interrupted at step %ld", t->st.step);
        }
        goto done;
    }
    if (!s && t->st.stopped_early && !o->quiet)
        fprintf(stderr, "sidr train rl: early stopping at step %ld\n", t->st.step);
    if (!s) s = trainer_checkpoint(t);
    if (!s) s = trainer_finish(t);
done:
    for (int i = 0; i < cap_seq; i++) {
        free(seqs[i].ids);
        free(seqs[i].old);
        grpo_rollout_free(&ro[i]);
    }
    free(ro);
    free(seqs);
    free(rew);
    free(adv);
    free(order);
    free(mbi);
    free(btok);
    free(bw);
    free(blp);
    free(bref);
    free(bd);
    free(bold);
    free(badv);
out:
    if (state) sidr_state_free(state);
    if (m.layers) sidr_model_from_params_free(&m);
    if (have_ref) sidr_params_free(&ref);
    for (int i = 0; i < n_prompts; i++) free(prompts[i].ids);
    free(prompts);
    return s;
}

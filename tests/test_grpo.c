/* GRPO pieces (src/grpo.c): every row of the reward table and the parse
 * failures; group advantages for ordinary, constant and single-sample
 * groups; the PPO-clip + k3 KL token loss and its d/dlogp against hand
 * values and finite differences, and through a tiny model against finite
 * differences of the parameters; rollouts: reproducible, sampled from the
 * softmax, greedy at low temperature, stopping at stop tokens, and their
 * log-probs equal to the training forward's on the same tokens. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backward.h"
#include "grpo.h"
#include "params.h"
#include "sampler.h"
#include "tap.h"
#include "trainer.h"
#include "util.h"

/* ---- reward --------------------------------------------------------------------------------- */

static const char *catalogue[] = { "<a_1><b_2><c_3>", "<a_1><b_2><c_9>", "<a_1><b_8><c_3>", "<a_7><b_2><c_3>", "<a_1><b_2><c_3><d_4>" };

static int in_catalogue(void *ctx, const char *sid)
{
    (void)ctx;
    for (size_t i = 0; i < sizeof catalogue / sizeof *catalogue; i++)
        if (!strcmp(catalogue[i], sid)) return 1;
    return 0;
}

static void reward_row(const char *text, double want, const char *what)
{
    grpo_reward_info info;
    double r = grpo_reward(text, strlen(text), "<a_1><b_2><c_3>", 3, in_catalogue, NULL, &info);
    tap_ok(fabs(r - want) < 1e-12, "reward %.2f: %s (got %.4g)", want, what, r);
}

static void rewards(void)
{
    const char *T = "<think>\nThe user likes <a_1><b_2><c_3>.\n</think>\n\n";
    char buf[512];
#define ROW(sid, want, what) (snprintf(buf, sizeof buf, "%s%s<|im_end|>", T, sid), reward_row(buf, want, what))
    ROW("<a_1><b_2><c_3>", 1.1, "all three levels right, in the catalogue");
    ROW("<a_1><b_2><c_9>", 0.6, "a and b right, c wrong, in the catalogue");
    ROW("<a_1><b_2><c_5>", 0.5, "a and b right, c wrong, not in the catalogue");
    ROW("<a_1><b_8><c_3>", 0.35, "only a right (c matches but b does not), in the catalogue");
    ROW("<a_1><b_9><c_9>", 0.25, "only a right, not in the catalogue");
    ROW("<a_7><b_2><c_3>", 0.1, "a wrong (b and c right) but in the catalogue");
    ROW("<a_7><b_9><c_9>", 0.0, "a wrong, not in the catalogue");
    ROW("<a_1><b_2><c_3><d_4>", 1.1, "tokens after the first L are ignored");
    grpo_reward_info info;
    double r = grpo_reward("x", 1, "<a_1><b_2><c_3>", 3, NULL, NULL, &info);
    (void)r;
    /* an all-right SID missing from the catalogue gets the prefix reward only */
    const char *nocat = "</think><a_1><b_2><c_3>";
    r = grpo_reward(nocat, strlen(nocat), "<a_1><b_2><c_3>", 3, NULL, NULL, &info);
    tap_ok(fabs(r - 1.0) < 1e-12 && info.parsed && info.levels_right == 3 && !info.valid,
           "reward 1.00: all right, no catalogue given (no validity bonus)");
    /* parse failures */
    reward_row("<a_1><b_2><c_3>", 0, "no </think> at all: 0 even for the right SID");
    reward_row("<think>\nI think <a_1><b_2><c_3>.\n", 0, "no </think> (the SID only inside the reasoning): 0");
    snprintf(buf, sizeof buf, "%s<a_1><b_2><|im_end|>", T);
    reward_row(buf, 0, "fewer than L SID tokens after </think>: 0");
    snprintf(buf, sizeof buf, "%sThe answer is <a_1><b_2><c_3>", T);
    reward_row(buf, 0, "text before the SID: 0");
    snprintf(buf, sizeof buf, "%s<a_1> <b_2><c_3>", T);
    reward_row(buf, 0, "a space between SID tokens: 0 (the tokens must follow back to back)");
    snprintf(buf, sizeof buf, "%s<a_x><b_2><c_3>", T);
    reward_row(buf, 0, "a malformed SID token: 0");
    reward_row("", 0, "empty text: 0");
    reward_row("</think>", 0, "</think> at the very end: 0");
    reward_row("</think>  \n\t<a_1><b_2><c_3>", 1.1, "white space before the SID is skipped");
    reward_row("<think>\nr\n</think>\n\n<a_7><b_2><c_3></think>\n\n<a_1><b_2><c_3>", 0.1, "only the first </think> counts");
    reward_row("</think><a_1><b_2><c_3", 0, "an unterminated last token: 0");
    r = grpo_reward(T, strlen(T) - 3, "<a_1><b_2><c_3>", 3, in_catalogue, NULL, &info);
    tap_ok(r == 0 && !info.has_close, "a </think> cut by the length is not seen");
    /* other depths */
    tap_ok(grpo_prefix_reward(0, 3) == 0 && grpo_prefix_reward(1, 3) == 0.25 && grpo_prefix_reward(2, 3) == 0.5 &&
               grpo_prefix_reward(3, 3) == 1.0,
           "prefix reward for L = 3: 0 / 0.25 / 0.5 / 1.0");
    tap_ok(grpo_prefix_reward(1, 4) == 0.25 && grpo_prefix_reward(2, 4) == 0.5 && grpo_prefix_reward(3, 4) == 0.5 &&
               grpo_prefix_reward(4, 4) == 1.0 && grpo_prefix_reward(1, 2) == 0.25 && grpo_prefix_reward(2, 2) == 1.0,
           "prefix reward for other L: 0.25 * 2^(k-1) capped at 0.5 below L, 1 at L");
    const char *four = "</think><a_1><b_2><c_3><d_4>";
    r = grpo_reward(four, strlen(four), "<a_1><b_2><c_3><d_4>", 4, in_catalogue, NULL, &info);
    tap_ok(fabs(r - 1.1) < 1e-12, "L = 4: all right and in the catalogue is 1.1");
#undef ROW
}

/* ---- advantages ------------------------------------------------------------------------------ */

static void advantages(void)
{
    double r[4] = { 1.1, 0, 0.35, 0.6 }, a[4];
    grpo_advantages(r, 1, 4, a);
    double mean = (1.1 + 0 + 0.35 + 0.6) / 4, var = 0;
    for (int i = 0; i < 4; i++) var += (r[i] - mean) * (r[i] - mean);
    double sd = sqrt(var / 3);   /* unbiased */
    int ok = 1;
    for (int i = 0; i < 4; i++) ok &= fabs(a[i] - (r[i] - mean) / (sd + 1e-6)) < 1e-12;
    tap_ok(ok, "ordinary group: (r - mean) / (unbiased std + 1e-6)");
    tap_ok(fabs(a[0] - 1.27010) < 1e-4 && fabs(a[1] + 1.10796) < 1e-4, "ordinary group by hand: 1.1 -> %.4f, 0 -> %.4f", a[0], a[1]);
    double c[3] = { 0.35, 0.35, 0.35 }, ac[3] = { 9, 9, 9 };
    grpo_advantages(c, 1, 3, ac);
    tap_ok(ac[0] == 0 && ac[1] == 0 && ac[2] == 0, "constant group: all advantages exactly 0");
    double one = 1.1, a1 = 9;
    grpo_advantages(&one, 1, 1, &a1);
    tap_ok(a1 == 0, "group of one: advantage 0");
    double two[6] = { 1, 0, 1, 1, 1, 1 }, a2[6];
    grpo_advantages(two, 3, 2, a2);
    double s2 = sqrt(0.5);
    tap_ok(fabs(a2[0] - 0.5 / (s2 + 1e-6)) < 1e-12 && fabs(a2[1] + 0.5 / (s2 + 1e-6)) < 1e-12 && a2[2] == 0 && a2[3] == 0 &&
               a2[4] == 0 && a2[5] == 0,
           "groups are independent (three groups of two)");
    double s[2] = { 0.1, 0.0 }, as[2];
    grpo_advantages(s, 1, 2, as);
    tap_ok(as[0] > 0.7 && as[1] < -0.7, "a small reward gap still gives unit-scale advantages (%.3f, %.3f)", as[0], as[1]);
}

/* ---- the token loss -------------------------------------------------------------------------- */

static double loss_of(const float *logp, const float *old, const float *ref, const float *adv, const float *mask, int n,
                      double norm, const grpo_loss_opts *o)
{
    float *d = malloc((size_t)n * sizeof(float));
    grpo_loss_stats st;
    memset(&st, 0, sizeof st);
    grpo_token_loss(logp, old, ref, adv, mask, n, norm, o, d, &st);
    free(d);
    return st.loss;
}

static void token_loss(void)
{
    grpo_loss_opts o = { 0.2, 0.001 };
    /* hand values, one token each (norm 1) */
    struct { float lp, old, ref, adv; double dpg; const char *what; } c[] = {
        { -1.0f, -1.0f, -1.0f, 1.0f, -1.0, "ratio 1, A = 1: d = -A" },
        { -1.0f, -1.5f, -1.0f, 1.0f, 0.0, "ratio e^0.5 > 1.2, A > 0: clipped, d_pg = 0" },
        { -1.0f, -1.5f, -1.0f, -1.0f, 1.6487212707, "ratio e^0.5 > 1.2, A < 0: unclipped, d_pg = -A r" },
        { -1.0f, -0.5f, -1.0f, 1.0f, -0.6065306597, "ratio e^-0.5 < 0.8, A > 0: unclipped, d_pg = -A r" },
        { -1.0f, -0.5f, -1.0f, -1.0f, 0.0, "ratio e^-0.5 < 0.8, A < 0: clipped, d_pg = 0" },
        { -1.0f, -1.1f, -1.0f, 2.0f, -2.2103418362, "ratio e^0.1 inside the range: d_pg = -A r" },
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        float d;
        grpo_loss_stats st;
        memset(&st, 0, sizeof st);
        grpo_token_loss(&c[i].lp, &c[i].old, &c[i].ref, &c[i].adv, NULL, 1, 1, &o, &d, &st);
        double x = (double)c[i].ref - c[i].lp, gk = 1 - exp(x);
        tap_ok(fabs(d - (c[i].dpg + 0.001 * gk)) < 1e-6, "%s (got %.7f)", c[i].what, d);
    }
    /* KL: k3 value and gradient, by hand */
    float lp = -2.0f, old = -2.0f, ref = -1.5f, adv = 0, d;
    grpo_loss_stats st;
    memset(&st, 0, sizeof st);
    grpo_loss_opts kl = { 0.2, 0.5 };
    grpo_token_loss(&lp, &old, &ref, &adv, NULL, 1, 1, &kl, &d, &st);
    double x = 0.5, k3 = exp(x) - x - 1;
    tap_ok(fabs(st.kl - k3) < 1e-7 && fabs(st.loss - 0.5 * k3) < 1e-7 && fabs(d - 0.5 * (1 - exp(x))) < 1e-6,
           "k3 = exp(ref - logp) - (ref - logp) - 1 = %.6f, d/dlogp = coef * (1 - exp(ref - logp))", k3);
    ref = 20.0f;
    memset(&st, 0, sizeof st);
    grpo_token_loss(&lp, &old, &ref, &adv, NULL, 1, 1, &kl, &d, &st);
    tap_ok(st.kl == 10.0 && d == 0, "k3 is clamped at 10 with zero gradient there (as verl)");
    /* masking and the token mean */
    float l4[4] = { -1, -2, -3, -4 }, o4[4] = { -1, -2, -3, -4 }, a4[4] = { 1, 1, 1, 1 }, m4[4] = { 0, 1, 1, 0 }, d4[4];
    grpo_loss_opts nokl = { 0.2, 0 };
    memset(&st, 0, sizeof st);
    grpo_token_loss(l4, o4, NULL, a4, m4, 4, 2, &nokl, d4, &st);
    tap_ok(d4[0] == 0 && d4[3] == 0 && fabs(d4[1] + 0.5) < 1e-7 && fabs(d4[2] + 0.5) < 1e-7 && fabs(st.loss + 1.0) < 1e-7 &&
               st.tokens == 2,
           "masked tokens get no gradient; the loss is the sum over response tokens / norm (token mean)");

    /* finite differences in logp over many tokens away from the kinks */
    enum { N = 64 };
    float L[N], OLD[N], REF[N], A[N], M[N], D[N];
    uint64_t rng = 12345;
    for (int i = 0; i < N; i++) {
        L[i] = -0.2f - 3 * (float)(train_rng_next(&rng) % 1000) / 1000;
        float dl = (float)((int)(train_rng_next(&rng) % 5) - 2) * 0.3f + 0.05f; /* log ratio in {-0.55,-0.25,0.05,0.35,0.65} */
        OLD[i] = L[i] - dl;
        REF[i] = L[i] + (float)((int)(train_rng_next(&rng) % 200) - 100) / 100;
        A[i] = (float)((int)(train_rng_next(&rng) % 7) - 3) * 0.5f;
        M[i] = train_rng_next(&rng) % 5 ? 1.0f : 0.0f;
    }
    grpo_loss_opts big = { 0.2, 0.3 };
    memset(&st, 0, sizeof st);
    grpo_token_loss(L, OLD, REF, A, M, N, 37, &big, D, &st);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        float keep = L[i], h = 1e-3f;
        L[i] = keep + h;
        double up = loss_of(L, OLD, REF, A, M, N, 37, &big);
        L[i] = keep - h;
        double dn = loss_of(L, OLD, REF, A, M, N, 37, &big);
        L[i] = keep;
        double fd = (up - dn) / (2.0 * ((double)(keep + h) - (double)keep));
        double e = fabs(fd - D[i]);
        if (e > worst) worst = e;
    }
    tap_ok(worst < 2e-5, "d(loss)/d(logp) equals central finite differences on 64 tokens (max |diff| %.2g)", worst);
}

/* ---- a tiny model -------------------------------------------------------------------------------- */

static void tiny_config(sidr_config *c, int vocab)
{
    memset(c, 0, sizeof *c);
    c->arch = SIDR_ARCH_QWEN3;
    strcpy(c->model_type, "qwen3");
    strcpy(c->architecture, "Qwen3ForCausalLM");
    strcpy(c->torch_dtype, "float32");
    c->dim = 32;
    c->hidden_dim = 64;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->head_dim = 8;
    c->vocab_size = vocab;
    c->max_seq = 512;
    c->norm_eps = 1e-6f;
    c->rope_theta = 10000;
    c->tie_embeddings = 1;
    c->qk_norm = 1;
    c->bos_id = c->eos_id = -1;
}

static void random_params(sidr_params *p, uint64_t seed, float scale)
{
    uint64_t rng = seed;
    for (int v = 0; v < p->n_views; v++) {
        const sidr_param_view *w = &p->views[v];
        float *x = sidr_params_at(p, w);
        for (size_t i = 0; i < w->numel; i++)
            x[i] = w->kind == SIDR_PARAM_NORM ? 1.0f + 0.1f * ((float)(train_rng_next(&rng) % 2001) / 1000 - 1)
                                              : scale * ((float)(train_rng_next(&rng) % 2001) / 1000 - 1);
    }
}

/* The GRPO loss of a batch as a function of the parameters. */
typedef struct {
    sidr_train *tr;
    sidr_batch b;
    float *old, *ref, *adv, *logp, *d;
    double norm;
    grpo_loss_opts o;
} gl_ctx;

static double gl_loss(gl_ctx *g, int backward)
{
    sidr_train_forward(g->tr, &g->b, 0, g->logp, NULL);
    grpo_loss_stats st;
    memset(&st, 0, sizeof st);
    grpo_token_loss(g->logp, g->old, g->ref, g->adv, g->b.weights, g->b.B * g->b.T, g->norm, &g->o, g->d, &st);
    if (backward) sidr_train_backward(g->tr, g->d);
    return st.loss;
}

static void model_gradient(void)
{
    sidr_config cfg;
    tiny_config(&cfg, 48);
    sidr_params p;
    sidr_params_init(&p, &cfg);
    random_params(&p, 7, 0.3f);
    enum { B = 3, T = 12 };
    int tokens[B * T];
    float w[B * T];
    uint64_t rng = 99;
    for (int i = 0; i < B * T; i++) {
        tokens[i] = (int)(train_rng_next(&rng) % 48);
        w[i] = (i % T) >= 5 && (i % T) < T - (i / T) ? 1.0f : 0.0f;   /* responses of different lengths */
    }
    sidr_train *tr;
    sidr_train_new(&tr, &p, &(sidr_train_opts){ .max_B = B, .max_T = T });
    gl_ctx g = { tr, { B, T, tokens, w }, NULL, NULL, NULL, NULL, NULL, 0, { 0.2, 0.2 } };
    g.old = calloc(B * T, sizeof(float));
    g.ref = calloc(B * T, sizeof(float));
    g.adv = calloc(B * T, sizeof(float));
    g.logp = calloc(B * T, sizeof(float));
    g.d = calloc(B * T, sizeof(float));
    sidr_train_forward(tr, &g.b, 0, g.logp, NULL);
    for (int i = 0; i < B * T; i++) {
        if (!w[i]) continue;
        g.norm += 1;
        /* log ratios away from the clip edges: some clipped, some not */
        float dl = (float)((int)(train_rng_next(&rng) % 5) - 2) * 0.3f + 0.05f;
        g.old[i] = g.logp[i] - dl;
        g.ref[i] = g.logp[i] + (float)((int)(train_rng_next(&rng) % 100) - 50) / 100;
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) g.adv[b * T + t] = b == 0 ? 1.3f : b == 1 ? -0.7f : -0.6f;
    sidr_train_zero_grad(tr);
    gl_loss(&g, 1);
    sidr_params *grad = sidr_train_grad(tr);
    /* the largest gradient entries of three tensors */
    const char *names[3] = { "model.embed_tokens.weight", "model.layers.1.mlp.down_proj.weight", "model.layers.0.self_attn.q_proj.weight" };
    int checked = 0, bad = 0;
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        const sidr_param_view *v = sidr_params_find(&p, names[k]);
        float *gx = sidr_params_at(grad, v), *x = sidr_params_at(&p, v);
        for (int rep = 0; rep < 3; rep++) {
            size_t best = 0;
            for (size_t i = 0; i < v->numel; i++)
                if (fabsf(gx[i]) > fabsf(gx[best])) best = i;
            float keep = x[best], h = 2e-3f;
            x[best] = keep + h;
            double up = gl_loss(&g, 0);
            x[best] = keep - h;
            double dn = gl_loss(&g, 0);
            x[best] = keep;
            double fd = (up - dn) / (2 * h), e = fabs(fd - gx[best]) / (fabs(gx[best]) + 1e-3);
            if (e > worst) worst = e;
            if (e > 0.03) bad++;
            checked++;
            gx[best] = 0; /* next largest */
        }
    }
    tap_ok(bad == 0, "GRPO gradient through a tiny Qwen3 equals finite differences (%d entries, worst relative %.3g)", checked, worst);
    free(g.old);
    free(g.ref);
    free(g.adv);
    free(g.logp);
    free(g.d);
    sidr_train_free(tr);
    sidr_params_free(&p);
}

/* ---- rollouts ------------------------------------------------------------------------------------- */

static void rollouts(void)
{
    sidr_config cfg;
    tiny_config(&cfg, 40);
    sidr_params p;
    sidr_params_init(&p, &cfg);
    random_params(&p, 3, 0.5f);
    sidr_model m;
    sidr_model_from_params(&m, &p);
    sidr_state *s = sidr_state_new(&m, 256);
    int prompt[7] = { 1, 5, 9, 2, 33, 7, 8 };
    enum { G = 6, MAXN = 10 };
    grpo_rollout a[G], b[G], c[G];
    int stop[1] = { 39 };
    sidr_status st = grpo_rollouts(&m, s, prompt, 7, G, MAXN, stop, 1, 1.0f, 42, a);
    st |= grpo_rollouts(&m, s, prompt, 7, G, MAXN, stop, 1, 1.0f, 42, b);
    st |= grpo_rollouts(&m, s, prompt, 7, G, MAXN, stop, 1, 1.0f, 43, c);
    int same = 1, differ = 0;
    for (int k = 0; k < G; k++) {
        same &= a[k].n == b[k].n && !memcmp(a[k].ids, b[k].ids, (size_t)a[k].n * sizeof(int)) &&
                !memcmp(a[k].logp, b[k].logp, (size_t)a[k].n * sizeof(float));
        differ |= a[k].n != c[k].n || memcmp(a[k].ids, c[k].ids, (size_t)a[k].n * sizeof(int));
    }
    tap_ok(st == SIDR_OK && same && differ, "rollouts are reproducible for a seed and differ across seeds");
    int diverse = 0;
    for (int k = 1; k < G; k++) diverse |= a[k].n != a[0].n || memcmp(a[k].ids, a[0].ids, (size_t)a[0].n * sizeof(int));
    tap_ok(diverse, "the G rollouts of one prompt differ (temperature 1)");

    /* the training forward gives the same log-probs on prompt + response */
    int worst_ok = 1;
    double worst = 0;
    sidr_train *tr;
    sidr_train_new(&tr, &p, &(sidr_train_opts){ .max_B = G, .max_T = 7 + MAXN });
    int T = 7 + MAXN, tok[G * (7 + MAXN)];
    float w[G * (7 + MAXN)], lp[G * (7 + MAXN)];
    for (int k = 0; k < G; k++)
        for (int t = 0; t < T; t++) {
            int r = t - 7;
            tok[k * T + t] = t < 7 ? prompt[t] : r < a[k].n ? a[k].ids[r] : 0;
            w[k * T + t] = t >= 7 && r < a[k].n ? 1.0f : 0.0f;
        }
    sidr_batch bt = { G, T, tok, w };
    sidr_train_forward(tr, &bt, 0, lp, NULL);
    for (int k = 0; k < G; k++)
        for (int r = 0; r < a[k].n; r++) {
            double e = fabs(lp[k * T + 7 + r] - a[k].logp[r]);
            if (e > worst) worst = e;
        }
    worst_ok = worst < 1e-4;
    tap_ok(worst_ok, "rollout log-probs equal the training forward's on the same tokens (max |diff| %.2g): PPO's ratio starts at 1",
           worst);
    sidr_train_free(tr);

    /* stop tokens end a rollout; max_new caps it */
    int stops[20];
    for (int i = 0; i < 20; i++) stops[i] = i;   /* half the vocabulary stops */
    grpo_rollout d[G];
    grpo_rollouts(&m, s, prompt, 7, G, MAXN, stops, 20, 1.0f, 5, d);
    int ok = 1, n_stopped = 0;
    for (int k = 0; k < G; k++) {
        int last = d[k].ids[d[k].n - 1];
        if (d[k].stopped) {
            n_stopped++;
            ok &= last < 20;
            for (int r = 0; r + 1 < d[k].n; r++) ok &= d[k].ids[r] >= 20;
        } else {
            ok &= d[k].n == MAXN;
        }
    }
    tap_ok(ok && n_stopped > 0, "a rollout ends at its first stop token (kept) or at max_new (%d of %d stopped)", n_stopped, G);

    /* near-zero temperature is greedy */
    grpo_rollout e[G];
    grpo_rollouts(&m, s, prompt, 7, G, MAXN, stop, 0, 1e-4f, 9, e);
    sidr_kv kv;
    sidr_kv_init(&kv, &cfg, 7 + MAXN);
    float *logits = malloc((size_t)40 * sizeof(float));
    sidr_forward(&m, s, &kv, prompt, 7, logits, SIDR_LOGITS_LAST);
    int greedy[MAXN], match = 1;
    for (int r = 0; r < MAXN; r++) {
        greedy[r] = sidr_argmax(logits, 40);
        sidr_forward(&m, s, &kv, &greedy[r], 1, logits, SIDR_LOGITS_LAST);
    }
    for (int k = 0; k < G; k++) match &= e[k].n == MAXN && !memcmp(e[k].ids, greedy, sizeof greedy);
    tap_ok(match, "at temperature 1e-4 every rollout is the greedy continuation");

    /* the first token is drawn from softmax(prompt logits) */
    enum { MANY = 20000 };
    grpo_rollout *f = malloc(MANY * sizeof *f);
    grpo_rollouts(&m, s, prompt, 7, MANY, 1, stop, 1, 1.0f, 11, f);
    sidr_kv_reset(&kv);
    sidr_forward(&m, s, &kv, prompt, 7, logits, SIDR_LOGITS_LAST);
    double mx = logits[0], z = 0, chi = 0;
    for (int i = 1; i < 40; i++) mx = logits[i] > mx ? logits[i] : mx;
    for (int i = 0; i < 40; i++) z += exp(logits[i] - mx);
    int count[40] = { 0 };
    double lp_err = 0;
    for (int k = 0; k < MANY; k++) {
        count[f[k].ids[0]]++;
        double want = logits[f[k].ids[0]] - mx - log(z);
        if (fabs(want - f[k].logp[0]) > lp_err) lp_err = fabs(want - f[k].logp[0]);
    }
    /* chi-square with the bins of expected count < 5 merged */
    int bins = 0;
    double rare_e = 0, rare_c = 0;
    for (int i = 0; i < 40; i++) {
        double pe = exp(logits[i] - mx) / z * MANY;
        if (pe < 5) {
            rare_e += pe;
            rare_c += count[i];
            continue;
        }
        chi += (count[i] - pe) * (count[i] - pe) / pe;
        bins++;
    }
    if (rare_e > 0) {
        chi += (rare_c - rare_e) * (rare_c - rare_e) / rare_e;
        bins++;
    }
    double dof = bins - 1;
    tap_ok(chi < dof + 5 * sqrt(2 * dof) && lp_err < 1e-5,
           "20000 first tokens follow the softmax (chi-square %.1f on %.0f d.f.; logp error %.1g)", chi, dof, lp_err);
    for (int k = 0; k < MANY; k++) grpo_rollout_free(&f[k]);
    free(f);
    for (int k = 0; k < G; k++) {
        grpo_rollout_free(&a[k]);
        grpo_rollout_free(&b[k]);
        grpo_rollout_free(&c[k]);
        grpo_rollout_free(&d[k]);
        grpo_rollout_free(&e[k]);
    }
    free(logits);
    sidr_kv_free(&kv);
    sidr_state_free(s);
    sidr_model_from_params_free(&m);
    sidr_params_free(&p);
}

int main(void)
{
    rewards();
    advantages();
    token_loss();
    model_gradient();
    rollouts();
    return tap_done();
}

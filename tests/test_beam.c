/* sidr's SID beam search against an independent PyTorch re-implementation of
 * Hugging Face generate(num_beams=B, length_penalty=0, do_sample=False,
 * prefix_allowed_tokens_fn=trie) -- tests/ref/gen_beam_reference.py.
 *
 * A (tests/fixtures/beam/beam_a.json, runs anywhere): a tiny random Qwen3
 *   stored as F32 (model-a) and as BF16 (model-a-bf16); SID tokens are id
 *   ranges, the trie is built from ids.  For every case: the hypotheses (same
 *   SIDs, same order, scores within tolerance), the live beams after every
 *   step, the candidate counts; sidr_beam_run equals stepping; then the same
 *   through `sidr beam` on the catalogue files, with and without the
 *   folder's generation_config.json (sampling defaults that must change
 *   nothing).
 * B (beam_b.json, needs ../shared): the real Qwen3 tokenizer with the 560 SID
 *   tokens of Amazon Industrial added, a Qwen3-shaped model with formula
 *   weights written at test time by tests/hashmodel.c, the catalogue of the
 *   first 300 lines of the dataset's info.txt, real prompts.  The same checks.
 * C: catalog_load_info's errors name file:line and the offending token.
 *
 * Tolerances: F32 arithmetic 1e-3 absolute.  BF16 weights: max(1e-3, 1e-2 x
 * |score|) -- with the AVX-512 BF16 kernels, batched products round their
 * activations to bf16 (as PyTorch does), so scores move by ~1e-2; only cases
 * whose reference decisions are >= 0.08 apart are run that way, the rest in
 * f32 arithmetic (model written as F32, or SIDR_KERNELS=avx2 for the CLI). */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beam.h"
#include "catalog.h"
#include "hashmodel.h"
#include "safetensors.h"
#include "sid_trie.h"
#include "tap.h"
#include "tokenizer.h"
#include "transformer.h"
#include "util.h"

#define MAX_B 64

/* snprintf whose truncation is harmless here (paths and messages). */
#define SNP(...) do { if (snprintf(__VA_ARGS__) < 0) abort(); } while (0)

/* ---- helpers --------------------------------------------------------------- */

static cJSON *json_load(const char *path)
{
    char *text;
    size_t len;
    if (read_file(path, &text, &len)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int *json_ints(const cJSON *arr, int *n)
{
    *n = cJSON_GetArraySize(arr);
    int *out = xmalloc((size_t)(*n ? *n : 1) * sizeof(int));
    for (int i = 0; i < *n; i++) out[i] = cJSON_GetArrayItem(arr, i)->valueint;
    return out;
}

typedef struct {
    int ids[SIDR_BEAM_MAX_TOKENS];
    int n;
    double score;
    const char *sid;
} ref_beam;

static int ref_beams(const cJSON *arr, ref_beam *out)
{
    int n = cJSON_GetArraySize(arr);
    if (n > MAX_B) n = MAX_B;
    for (int i = 0; i < n; i++) {
        const cJSON *b = cJSON_GetArrayItem(arr, i), *ids = jget(b, "ids"), *sid = jget(b, "sid");
        out[i].n = cJSON_GetArraySize(ids);
        if (out[i].n > SIDR_BEAM_MAX_TOKENS) out[i].n = SIDR_BEAM_MAX_TOKENS;
        for (int k = 0; k < out[i].n; k++) out[i].ids[k] = cJSON_GetArrayItem(ids, k)->valueint;
        out[i].score = jget(b, "score")->valuedouble;
        out[i].sid = cJSON_IsString(sid) ? sid->valuestring : NULL;
    }
    return n;
}

typedef struct {
    double abs, rel;
} tolerance;

static double tol_at(tolerance t, double score)
{
    double r = t.rel * fabs(score);
    return r > t.abs ? r : t.abs;
}

static void fmt_ids(char *out, size_t cap, const int *ids, int n)
{
    size_t u = 0;
    out[0] = 0;
    for (int i = 0; i < n && u + 12 < cap; i++) u += snprintf(out + u, cap - u, i ? ",%d" : "%d", ids[i]);
}

/* Compares sidr beams with reference beams: same count, same ids in the same
 * order, scores within tolerance.  Writes the first difference to why. */
static int same_beams(const sidr_beam *got, int n_got, const ref_beam *exp, int n_exp, tolerance t,
                      double *maxdiff, char *why, size_t cap)
{
    if (n_got != n_exp) {
        SNP(why, cap, "%d beams, expected %d", n_got, n_exp);
        return 0;
    }
    for (int i = 0; i < n_got; i++) {
        char a[256], b[256];
        fmt_ids(a, sizeof a, got[i].tokens, got[i].n_tokens);
        fmt_ids(b, sizeof b, exp[i].ids, exp[i].n);
        if (got[i].n_tokens != exp[i].n || memcmp(got[i].tokens, exp[i].ids, exp[i].n * sizeof(int))) {
            SNP(why, cap, "beam %d is [%s] (%.5f), expected [%s] (%.5f)", i, a, got[i].score, b, exp[i].score);
            return 0;
        }
        double d = fabs(got[i].score - exp[i].score);
        if (d > *maxdiff) *maxdiff = d;
        if (!(d <= tol_at(t, exp[i].score))) {
            SNP(why, cap, "beam %d [%s] scores %.6f, expected %.6f", i, a, got[i].score, exp[i].score);
            return 0;
        }
    }
    return 1;
}

static void diag_lists(const char *what, const sidr_beam *got, int n_got, const ref_beam *exp, int n_exp)
{
    char s[256];
    tap_diag("%s: sidr has %d, the reference %d", what, n_got, n_exp);
    for (int i = 0; i < n_got || i < n_exp; i++) {
        char g[128] = "-", e[128] = "-";
        if (i < n_got) {
            fmt_ids(s, sizeof s, got[i].tokens, got[i].n_tokens);
            SNP(g, sizeof g, "[%s] %.5f", s, got[i].score);
        }
        if (i < n_exp) {
            fmt_ids(s, sizeof s, exp[i].ids, exp[i].n);
            SNP(e, sizeof e, "[%s] %.5f", s, exp[i].score);
        }
        tap_diag("  %2d  sidr %-36s reference %s", i, g, e);
    }
}

/* The hypotheses of one search, kept for bit-for-bit comparisons. */
typedef struct {
    sidr_beam hyps[MAX_B];
    int n;
} result;

static int same_result(const result *a, const result *b)
{
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->hyps[i].n_tokens != b->hyps[i].n_tokens ||
            memcmp(a->hyps[i].tokens, b->hyps[i].tokens, a->hyps[i].n_tokens * sizeof(int)) ||
            a->hyps[i].score != b->hyps[i].score)
            return 0;
    return 1;
}

/* Runs sidr's search on a prompt.  With steps (the reference's per-step
 * record), it steps one level at a time and compares the live beams and the
 * candidate counts after every step; without, it calls sidr_beam_run.
 * Returns 1 when everything matched (the hypotheses are compared too). */
static int run_search(sidr_model *m, const int *prompt, int n_prompt, const sidr_trie *trie,
                      const sidr_beam_config *cfg, const cJSON *case_, int stepwise, tolerance t,
                      result *res, double *maxdiff, char *why, size_t cap)
{
    int ok = 1, V = m->cfg.vocab_size;
    sidr_state *st = sidr_state_new(m, cfg->beams > 64 ? cfg->beams : 64);
    sidr_kv kv;
    float *logits = xmalloc((size_t)V * sizeof(float));
    sidr_beam_search bs;
    memset(&bs, 0, sizeof bs);
    res->n = 0;
    why[0] = 0;
    sidr_status s = sidr_kv_init(&kv, &m->cfg, n_prompt);
    if (!s) s = sidr_forward(m, st, &kv, prompt, n_prompt, logits, SIDR_LOGITS_LAST);
    if (!s) s = sidr_beam_begin(&bs, m, st, &kv, logits, trie, cfg);
    if (s) {
        SNP(why, cap, "prefill/begin failed: %s", sidr_last_error());
        ok = 0;
        goto out;
    }
    static ref_beam exp[MAX_B];
    if (stepwise) {
        const cJSON *steps = jget(case_, "steps");
        int n_steps = cJSON_GetArraySize(steps);
        for (int k = 0; k < n_steps && ok; k++) {
            if (bs.done) {
                SNP(why, cap, "search finished after %d steps, the reference has %d", k, n_steps);
                ok = 0;
                break;
            }
            if ((s = sidr_beam_step(&bs))) {
                SNP(why, cap, "step %d failed: %s", k, sidr_last_error());
                ok = 0;
                break;
            }
            const cJSON *sk = cJSON_GetArrayItem(steps, k);
            int n_exp = ref_beams(jget(sk, "live"), exp);
            char w[400];
            if (!same_beams(bs.live, bs.n_live, exp, n_exp, t, maxdiff, w, sizeof w)) {
                SNP(why, cap, "after step %d: live %s", k, w);
                diag_lists("live beams", bs.live, bs.n_live, exp, n_exp);
                ok = 0;
            } else if (bs.last_allowed != jget(sk, "allowed")->valueint || bs.last_kept != jget(sk, "kept")->valueint) {
                SNP(why, cap, "step %d: %d finite candidates, %d kept; expected %d, %d", k, bs.last_allowed,
                         bs.last_kept, jget(sk, "allowed")->valueint, jget(sk, "kept")->valueint);
                ok = 0;
            }
        }
        if (ok && !bs.done) {
            SNP(why, cap, "search not finished after the reference's %d steps", n_steps);
            ok = 0;
        }
    } else if ((s = sidr_beam_run(&bs))) {
        SNP(why, cap, "sidr_beam_run failed: %s", sidr_last_error());
        ok = 0;
    }
    if (ok) {
        int n_exp = ref_beams(jget(case_, "expected"), exp);
        char w[400];
        if (!same_beams(bs.hyps, bs.n_hyps, exp, n_exp, t, maxdiff, w, sizeof w)) {
            SNP(why, cap, "hypotheses: %s", w);
            diag_lists("hypotheses", bs.hyps, bs.n_hyps, exp, n_exp);
            ok = 0;
        }
    }
    res->n = bs.n_hyps < MAX_B ? bs.n_hyps : MAX_B;
    if (res->n > 0) memcpy(res->hyps, bs.hyps, res->n * sizeof(sidr_beam));
out:
    sidr_beam_free(&bs);
    free(logits);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    return ok;
}

/* ---- the CLI --------------------------------------------------------------- */

static const char *sidr_bin(void)
{
    const char *b = getenv("SIDR");
    return b ? b : "./sidr";
}

static char TMP[4096];

/* Runs `sidr beam`; returns its exit status, stdout in *out (malloc'd). */
static int run_cli(const char *env, const char *model, const char *catalog, const int *ids, int n, int B, char **out)
{
    size_t cap = 4096 + (size_t)n * 12;
    char *cmd = xmalloc(cap), *list = xmalloc((size_t)n * 12 + 1);
    size_t u = 0;
    list[0] = 0;
    for (int i = 0; i < n; i++) u += sprintf(list + u, i ? ",%d" : "%d", ids[i]);
    SNP(cmd, cap, "%s '%s' beam --model '%s' --catalog '%s' --tokens %s --beams %d --json >'%s/cli.out' 2>'%s/cli.err'",
             env ? env : "", sidr_bin(), model, catalog, list, B, TMP, TMP);
    int rc = system(cmd);
    free(cmd);
    free(list);
    char path[4200];
    SNP(path, sizeof path, "%s/cli.out", TMP);
    size_t len;
    if (read_file(path, out, &len)) *out = xstrdup("");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void diag_cli_err(void)
{
    char path[4200], *text;
    size_t len;
    SNP(path, sizeof path, "%s/cli.err", TMP);
    if (read_file(path, &text, &len)) return;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) tap_diag("  stderr: %s", line);
    free(text);
}

/* Checks `sidr beam --json` output against the expected hypotheses. */
static int check_cli_json(const char *out, const cJSON *case_, tolerance t, double *maxdiff, char *why, size_t cap)
{
    cJSON *j = cJSON_Parse(out);
    const cJSON *beams = j ? jget(j, "beams") : NULL;
    if (!cJSON_IsArray(beams)) {
        SNP(why, cap, "output is not {\"beams\":[...]}: %.200s", out);
        cJSON_Delete(j);
        return 0;
    }
    static ref_beam exp[MAX_B];
    int n_exp = ref_beams(jget(case_, "expected"), exp), n = cJSON_GetArraySize(beams), ok = 1;
    if (n != n_exp) {
        SNP(why, cap, "%d beams, expected %d", n, n_exp);
        ok = 0;
    }
    for (int i = 0; ok && i < n; i++) {
        const cJSON *b = cJSON_GetArrayItem(beams, i), *sid = jget(b, "sid"), *score = jget(b, "score");
        int n_ids, *ids = json_ints(jget(b, "ids"), &n_ids);
        if (!cJSON_IsString(sid) || !cJSON_IsNumber(score)) {
            SNP(why, cap, "beam %d lacks sid or score", i);
            ok = 0;
        } else if (strcmp(sid->valuestring, exp[i].sid)) {
            SNP(why, cap, "beam %d is %s (%.5f), expected %s (%.5f)", i, sid->valuestring, score->valuedouble,
                     exp[i].sid, exp[i].score);
            ok = 0;
        } else if (n_ids != exp[i].n || memcmp(ids, exp[i].ids, n_ids * sizeof(int))) {
            char a[256], e[256];
            fmt_ids(a, sizeof a, ids, n_ids);
            fmt_ids(e, sizeof e, exp[i].ids, exp[i].n);
            SNP(why, cap, "beam %d ids [%s], expected [%s]", i, a, e);
            ok = 0;
        } else {
            double d = fabs(score->valuedouble - exp[i].score);
            if (d > *maxdiff) *maxdiff = d;
            if (!(d <= tol_at(t, exp[i].score))) {
                SNP(why, cap, "beam %d %s scores %.6f, expected %.6f", i, exp[i].sid, score->valuedouble,
                         exp[i].score);
                ok = 0;
            }
        }
        free(ids);
    }
    cJSON_Delete(j);
    return ok;
}

static int copy_file(const char *from, const char *to)
{
    char *text;
    size_t len;
    if (read_file(from, &text, &len)) return 0;
    FILE *f = fopen(to, "wb");
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f) ok &= fclose(f) == 0;
    free(text);
    return ok;
}

static void rm_dir(const char *dir, const char *const *names)
{
    char path[4200];
    for (int i = 0; names[i]; i++) {
        SNP(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* ---- A: random model, SID tokens as id ranges -------------------------------- */

static void fixture_a(const char *fixdir, int have_cli)
{
    char path[4200];
    SNP(path, sizeof path, "%s/beam_a.json", fixdir);
    cJSON *fx = json_load(path);
    if (!tap_ok(fx != NULL, "A: %s parses", path)) return;
    sidr_beam_config cfg = { 0, jget(fx, "newline_id")->valueint, jget(fx, "eos_id")->valueint };
    const cJSON *cats = jget(fx, "catalogues");

    /* tries straight from ids */
    int n_cats = cJSON_GetArraySize(cats);
    sidr_trie *tries = xcalloc(n_cats, sizeof *tries);
    const char **cat_names = xcalloc(n_cats, sizeof *cat_names);
    for (int c = 0; c < n_cats; c++) {
        const cJSON *cat = cJSON_GetArrayItem(cats, c), *sids = jget(cat, "sids");
        int n = cJSON_GetArraySize(sids), *flat = xmalloc((size_t)n * 3 * sizeof(int)), distinct = 0;
        for (int i = 0; i < n; i++) {
            const cJSON *s = cJSON_GetArrayItem(sids, i);
            for (int l = 0; l < 3; l++) flat[i * 3 + l] = cJSON_GetArrayItem(s, l)->valueint;
            int seen = 0;
            for (int k = 0; k < i && !seen; k++) seen = !memcmp(flat + k * 3, flat + i * 3, 3 * sizeof(int));
            distinct += !seen;
        }
        cat_names[c] = cat->string;
        tap_ok(sidr_trie_build(&tries[c], flat, NULL, n, 3) == SIDR_OK && tries[c].n_sids == distinct,
               "A: trie '%s' over %d entries has %d distinct SIDs", cat->string, n, distinct);
        free(flat);
    }

    const cJSON *variants = jget(fx, "variants"), *var;
    cJSON_ArrayForEach(var, variants) {
        const char *mname = jget(var, "model")->valuestring;
        tolerance t = { jget(var, "tol_abs")->valuedouble, jget(var, "tol_rel")->valuedouble };
        char mdir[4200];
        SNP(mdir, sizeof mdir, "%s/%s", fixdir, mname);
        sidr_model m;
        if (!tap_ok(sidr_model_load(&m, mdir) == SIDR_OK, "A %s: loads%s%s", mname, *sidr_last_error() ? ": " : "", sidr_last_error())) continue;
        const cJSON *prompts = jget(var, "prompts"), *cases = jget(var, "cases"), *cs;
        int n_cases = cJSON_GetArraySize(cases), run_same = 1, k = 0;
        result *stepped = xcalloc(n_cases, sizeof *stepped);
        double worst = 0;
        cJSON_ArrayForEach(cs, cases) {
            const char *name = jget(cs, "name")->valuestring, *catname = jget(cs, "catalogue")->valuestring;
            int n_prompt, *prompt = json_ints(cJSON_GetArrayItem(prompts, jget(cs, "prompt")->valueint), &n_prompt);
            int ci = 0;
            while (ci < n_cats && strcmp(cat_names[ci], catname)) ci++;
            cfg.beams = jget(cs, "beams")->valueint;
            double md = 0;
            char why[600];
            int ok = run_search(&m, prompt, n_prompt, &tries[ci], &cfg, cs, 1, t, &stepped[k], &md, why, sizeof why);
            int n_hf = cJSON_GetArraySize(jget(cs, "hf")), n_exp = cJSON_GetArraySize(jget(cs, "expected"));
            char hf_note[96] = "";
            if (n_exp < n_hf) SNP(hf_note, sizeof hf_note, " (HF pads to %d with -1e9 copies)", n_hf);
            tap_ok(ok, "A %s %s: %d hypotheses in order%s, live beams after each of %d steps, max |score diff| "
                   "%.2g%s%s", mname, name, n_exp, hf_note, cJSON_GetArraySize(jget(cs, "steps")), md,
                   ok ? "" : " -- ", ok ? "" : why);
            if (!ok) tap_diag("decision margin of the reference: %g", jget(cs, "min_gap")->valuedouble);
            if (md > worst) worst = md;
            /* the same search through sidr_beam_run: bit for bit */
            result r;
            double md2 = 0;
            run_search(&m, prompt, n_prompt, &tries[ci], &cfg, cs, 0, t, &r, &md2, why, sizeof why);
            run_same &= same_result(&r, &stepped[k]);
            free(prompt);
            k++;
        }
        tap_ok(run_same, "A %s: sidr_beam_run gives the stepped hypotheses bit for bit (%d cases)", mname, n_cases);
        tap_diag("A %s: largest score difference to the reference %.3g", mname, worst);
        sidr_model_free(&m);

        if (!have_cli) {
            free(stepped);
            continue;
        }
        /* `sidr beam` on the catalogue files, with the folder's
         * generation_config.json and from a copy without it. */
        char bare[4200];
        SNP(bare, sizeof bare, "%s/%s-bare", TMP, mname);
        mkdir(bare, 0700);
        const char *files[] = { "config.json", "model.safetensors", "tokenizer.json", NULL };
        int copied = 1;
        for (int i = 0; files[i]; i++) {
            char from[4200], to[4200];
            SNP(from, sizeof from, "%s/%s", mdir, files[i]);
            SNP(to, sizeof to, "%s/%s", bare, files[i]);
            copied &= copy_file(from, to);
        }
        int cli_ok = 0, cli_same = 0, n_cli = 0;
        double cli_worst = 0;
        cJSON_ArrayForEach(cs, cases) {
            const cJSON *cat = jget(cats, jget(cs, "catalogue")->valuestring);
            char catpath[4200];
            SNP(catpath, sizeof catpath, "%s/%s", fixdir, jget(cat, "file")->valuestring);
            int n_prompt, *prompt = json_ints(cJSON_GetArrayItem(prompts, jget(cs, "prompt")->valueint), &n_prompt);
            int B = jget(cs, "beams")->valueint;
            char *out1, *out2, why[600];
            int rc1 = run_cli(NULL, mdir, catpath, prompt, n_prompt, B, &out1);
            int ok = rc1 == 0 && check_cli_json(out1, cs, t, &cli_worst, why, sizeof why);
            if (!ok) {
                tap_diag("sidr beam on %s %s: exit %d, %s", mname, jget(cs, "name")->valuestring, rc1,
                         rc1 ? "" : why);
                diag_cli_err();
            }
            int rc2 = run_cli(NULL, bare, catpath, prompt, n_prompt, B, &out2);
            cli_same += copied && rc2 == 0 && !strcmp(out1, out2);
            cli_ok += ok;
            n_cli++;
            free(out1);
            free(out2);
            free(prompt);
        }
        tap_ok(cli_ok == n_cli, "A %s: `sidr beam --json` lists the reference's SIDs in order with their ids and "
               "scores on %d/%d cases (max |score diff| %.2g)", mname, cli_ok, n_cli, cli_worst);
        tap_ok(cli_same == n_cli, "A %s: generation_config.json (do_sample, temperature 0.7, top_k 20, top_p 0.8, "
               "num_beams 1, length_penalty 2) changes nothing: identical output without it on %d/%d cases",
               mname, cli_same, n_cli);
        rm_dir(bare, files);
        free(stepped);
    }
    for (int c = 0; c < n_cats; c++) sidr_trie_free(&tries[c]);
    free(tries);
    free(cat_names);
    cJSON_Delete(fx);
}

/* ---- B: real tokenizer, formula weights, real catalogue ------------------ */

static uint64_t fnv1a64(const char *s, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001B3ULL;
    return h;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recomputes the checksums of the written weights (and that every value is
 * the formula's exactly). */
static int check_weights(const char *dir, const hashmodel_spec *spec, const cJSON *sums, char *why, size_t cap)
{
    sidr_safetensors st;
    if (sidr_st_open_dir(&st, dir)) {
        SNP(why, cap, "%s", sidr_last_error());
        return 0;
    }
    int ok = 1, n = hashmodel_n_tensors(spec);
    float *buf = xmalloc(65536 * sizeof(float));
    for (int id = 0; id < n && ok; id++) {
        hashmodel_tensor info;
        hashmodel_tensor_info(spec, id, &info);
        const sidr_tensor *t = sidr_st_find(&st, info.name);
        const cJSON *want = jget(sums, info.name);
        if (!t || !cJSON_IsNumber(want)) {
            SNP(why, cap, "%s missing", info.name);
            ok = 0;
            break;
        }
        int64_t numel = sidr_tensor_numel(t), sum = 0;
        double scale = info.is_norm ? 64.0 : (double)(1u << (info.is_embed ? spec->shift_embed : spec->shift_w));
        for (int64_t i0 = 0; i0 < numel && ok; i0 += 65536) {
            size_t m = numel - i0 < 65536 ? (size_t)(numel - i0) : 65536;
            sidr_tensor_to_f32(t, i0, m, buf);
            for (size_t i = 0; i < m; i++) {
                double x = info.is_norm ? ((double)buf[i] - 1.0) * scale : (double)buf[i] * scale;
                int v = (int)lrint(x);
                if (x != v || v != hashmodel_int(spec->seed, id, i0 + i, info.is_norm)) {
                    SNP(why, cap, "%s[%lld] = %g, not the formula's", info.name, (long long)(i0 + i), buf[i]);
                    ok = 0;
                    break;
                }
                sum += (int64_t)v * ((int64_t)((i0 + i) % 1021) + 1);
            }
        }
        if (ok && (double)sum != want->valuedouble) {
            SNP(why, cap, "%s: checksum %lld, the generator's %.0f", info.name, (long long)sum, want->valuedouble);
            ok = 0;
        }
    }
    free(buf);
    sidr_st_close(&st);
    return ok;
}

static void fixture_b(const char *fixdir, int have_cli)
{
    const char *shared = tap_shared();
    char path[4200];
    SNP(path, sizeof path, "%s/beam_b.json", fixdir);
    cJSON *fx = json_load(path);
    if (!tap_ok(fx != NULL, "B: %s parses", path)) return;
    char tokpath[4200], infopath[4200];
    SNP(tokpath, sizeof tokpath, "%s/%s", shared, jget(fx, "tokenizer")->valuestring);
    SNP(infopath, sizeof infopath, "%s/%s", shared, jget(fx, "sid_source")->valuestring);
    if (!file_exists(tokpath) || !file_exists(infopath)) {
        tap_skip("B: %s or %s not found (set SIDR_SHARED)", tokpath, infopath);
        cJSON_Delete(fx);
        return;
    }

    /* the SID tokens of the whole file, sorted; the catalogue's lines */
    char *info;
    size_t info_len;
    read_file(infopath, &info, &info_len);
    const cJSON *catj = jget(fx, "catalogue");
    int want_lines = jget(catj, "first_lines")->valueint, n_tok = 0, cap_tok = 1024, line = 0;
    char **toks = xmalloc(cap_tok * sizeof(char *));
    size_t cat_len = 0;
    for (char *p = info; *p;) {
        char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        line++;
        if (line == want_lines) cat_len = (size_t)(p - info) + len + (end ? 1 : 0);
        char *tab = memchr(p, '\t', len);
        size_t sl = tab ? (size_t)(tab - p) : len;
        char sid[256];
        if (sl < sizeof sid) {
            memcpy(sid, p, sl);
            sid[sl] = 0;
            int st[16], ln[16], d = sid_split(sid, st, ln, 16);
            for (int l = 0; l < d; l++) {
                if (n_tok == cap_tok) toks = xrealloc(toks, (cap_tok *= 2) * sizeof(char *));
                toks[n_tok++] = xstrndup(sid + st[l], ln[l]);
            }
        }
        p = end ? end + 1 : p + len;
    }
    qsort(toks, n_tok, sizeof *toks, cmp_str);
    int n_distinct = 0;
    for (int i = 0; i < n_tok; i++) {
        if (n_distinct && !strcmp(toks[n_distinct - 1], toks[i])) free(toks[i]);
        else toks[n_distinct++] = toks[i];
    }
    const cJSON *first3 = jget(fx, "sid_tokens_first");
    tap_ok(n_distinct == jget(fx, "n_sid_tokens")->valueint &&
           !strcmp(toks[0], cJSON_GetArrayItem(first3, 0)->valuestring) &&
           !strcmp(toks[1], cJSON_GetArrayItem(first3, 1)->valuestring) &&
           !strcmp(toks[n_distinct - 1], jget(fx, "sid_tokens_last")->valuestring),
           "B: %d distinct SID tokens in %s, byte order %s, %s, ... %s", n_distinct, jget(fx, "sid_source")->valuestring,
           toks[0], toks[1], toks[n_distinct - 1]);
    char want_fnv[32];
    SNP(want_fnv, sizeof want_fnv, "%016llx", (unsigned long long)fnv1a64(info, cat_len));
    int data_same = !strcmp(want_fnv, jget(catj, "fnv1a64")->valuestring);
    tap_ok(data_same, "B: the first %d lines of info.txt are the ones the fixture was made from (FNV-1a %s)",
           want_lines, want_fnv);

    /* the folders: BF16 (released layout, with tokenizer and generation
     * config) and F32 (the same values, for f32 arithmetic) */
    const cJSON *mj = jget(fx, "model"), *cj = jget(mj, "config");
    hashmodel_spec spec = {
        jget(cj, "vocab_size")->valueint, jget(cj, "hidden_size")->valueint, jget(cj, "num_hidden_layers")->valueint,
        jget(cj, "num_attention_heads")->valueint, jget(cj, "num_key_value_heads")->valueint,
        jget(cj, "head_dim")->valueint, jget(cj, "intermediate_size")->valueint,
        jget(cj, "max_position_embeddings")->valueint, jget(cj, "bos_token_id")->valueint,
        jget(cj, "eos_token_id")->valueint, jget(cj, "rope_theta")->valuedouble, jget(cj, "rms_norm_eps")->valuedouble,
        (uint64_t)jget(mj, "seed")->valueint, jget(mj, "shift_embed")->valueint, jget(mj, "shift_w")->valueint,
    };
    char dir16[4200], dir32[4200], catpath[4200];
    SNP(dir16, sizeof dir16, "%s/industrial-bf16", TMP);
    SNP(dir32, sizeof dir32, "%s/industrial-f32", TMP);
    SNP(catpath, sizeof catpath, "%s/catalog.txt", TMP);
    mkdir(dir16, 0700);
    mkdir(dir32, 0700);
    int first_id = jget(fx, "sid_first_id")->valueint;
    char *gen = cJSON_Print(jget(fx, "generation_config"));
    sidr_status s = hashmodel_write(dir16, &spec, SIDR_BF16);
    if (!s) s = hashmodel_write(dir32, &spec, SIDR_F32);
    if (!s) s = hashmodel_write_tokenizer(dir16, tokpath, (const char *const *)toks, n_distinct, first_id);
    if (!s) s = hashmodel_write_text(dir16, "generation_config.json", gen);
    FILE *cf = fopen(catpath, "wb");
    if (cf) {
        fwrite(info, 1, cat_len, cf);
        fclose(cf);
    }
    free(gen);
    if (!tap_ok(!s && cf, "B: model folders written (vocab %d, hidden %d, %d layers, seed %llu): %s", spec.vocab,
                spec.hidden, spec.layers, (unsigned long long)spec.seed, s ? sidr_last_error() : "ok"))
        goto done;
    char why[600] = "";
    tap_ok(check_weights(dir16, &spec, jget(mj, "checksums"), why, sizeof why),
           "B: BF16 weights are the formula's, bit for bit (checksums of the generator) %s", why);
    why[0] = 0;
    tap_ok(check_weights(dir32, &spec, jget(mj, "checksums"), why, sizeof why),
           "B: F32 weights hold the same values %s", why);

    /* tokenizer: SID ids, separator and EOS, prompts */
    sidr_tokenizer *tok = NULL;
    char tjpath[4200];
    SNP(tjpath, sizeof tjpath, "%s/tokenizer.json", dir16);
    if (!tap_ok(sidr_tokenizer_load(&tok, tjpath) == SIDR_OK, "B: tokenizer.json with the SID tokens loads %s",
                sidr_last_error()))
        goto done;
    int nl = jget(fx, "newline_id")->valueint, eos = jget(fx, "eos_id")->valueint;
    tap_ok(sidr_tokenizer_n_vocab(tok) == spec.vocab && sidr_tokenizer_find(tok, toks[0]) == first_id &&
           sidr_tokenizer_find(tok, toks[n_distinct - 1]) == first_id + n_distinct - 1 &&
           sidr_tokenizer_find(tok, "\n") == nl && sidr_tokenizer_find(tok, "<|im_end|>") == eos &&
           !sidr_tokenizer_is_special(tok, first_id),
           "B: %s = %d .. %s = %d (non-special), \"\\n\" = %d, <|im_end|> = %d, vocab %d", toks[0], first_id,
           toks[n_distinct - 1], first_id + n_distinct - 1, nl, eos, sidr_tokenizer_n_vocab(tok));
    const cJSON *prompts = jget(fx, "prompts"), *pj;
    int pi = 0;
    cJSON_ArrayForEach(pj, prompts) {
        const char *text = jget(pj, "text")->valuestring;
        int n_want, *want = json_ints(jget(pj, "ids"), &n_want), *got = NULL, n_got = 0;
        sidr_status es = sidr_tokenizer_encode(tok, text, strlen(text), &got, &n_got);
        int same = !es && n_got == n_want && !memcmp(got, want, n_want * sizeof(int));
        tap_ok(same, "B: prompt %d (%s, %d history SIDs) encodes to the fixture's %d ids (own Python BPE)", pi,
               jget(pj, "mode")->valuestring, cJSON_GetArraySize(jget(pj, "history_lines")), n_want);
        free(got);
        free(want);
        pi++;
    }

    /* the catalogue through catalog_load_info */
    sidr_catalog cat;
    s = catalog_load_info(&cat, catpath, tok);
    int cat_ok = tap_ok(!s && cat.n == jget(catj, "entries")->valueint && cat.depth == 3 &&
                        cat.trie.n_sids == jget(catj, "distinct_sids")->valueint,
                        "B: catalogue of the first %d lines: %d entries, %d distinct SIDs %s", want_lines,
                        s ? 0 : cat.n, s ? 0 : cat.trie.n_sids, s ? sidr_last_error() : "");
    if (!cat_ok || !data_same) {
        if (!s) catalog_free(&cat);
        sidr_tokenizer_free(tok);
        goto done;
    }

    sidr_beam_config cfg = { 0, nl, eos };
    tolerance t32 = { jget(fx, "tol_abs")->valuedouble, 0 };
    tolerance t16 = { jget(fx, "tol_abs")->valuedouble, jget(fx, "tol_rel_bf16")->valuedouble };
    const cJSON *cases = jget(fx, "cases"), *cs;
    /* in process, f32 arithmetic: every case, stepped */
    sidr_model m;
    if (tap_ok(sidr_model_load(&m, dir32) == SIDR_OK, "B: F32 folder loads %s", sidr_last_error())) {
        cJSON_ArrayForEach(cs, cases) {
            int n_prompt, *prompt = json_ints(jget(cJSON_GetArrayItem(prompts, jget(cs, "prompt")->valueint), "ids"),
                                              &n_prompt);
            cfg.beams = jget(cs, "beams")->valueint;
            result r;
            double md = 0;
            int ok = run_search(&m, prompt, n_prompt, &cat.trie, &cfg, cs, 1, t32, &r, &md, why, sizeof why);
            tap_ok(ok, "B F32 %s: %d SIDs in order, live beams after each of %d steps, max |score diff| %.2g%s%s",
                   jget(cs, "name")->valuestring, cJSON_GetArraySize(jget(cs, "expected")),
                   cJSON_GetArraySize(jget(cs, "steps")), md, ok ? "" : " -- ", ok ? "" : why);
            free(prompt);
        }
        sidr_model_free(&m);
    }
    /* in process, BF16 weights with whatever kernels this machine has: the
     * cases whose decisions are far enough apart for bf16 arithmetic */
    if (tap_ok(sidr_model_load(&m, dir16) == SIDR_OK, "B: BF16 folder loads %s", sidr_last_error())) {
        cJSON_ArrayForEach(cs, cases) {
            if (!cJSON_IsTrue(jget(cs, "bf16_safe"))) continue;
            int n_prompt, *prompt = json_ints(jget(cJSON_GetArrayItem(prompts, jget(cs, "prompt")->valueint), "ids"),
                                              &n_prompt);
            cfg.beams = jget(cs, "beams")->valueint;
            result r;
            double md = 0;
            int ok = run_search(&m, prompt, n_prompt, &cat.trie, &cfg, cs, 1, t16, &r, &md, why, sizeof why);
            tap_ok(ok, "B BF16 %s (margin %.3f): %d SIDs in order, live beams per step, max |score diff| %.2g%s%s",
                   jget(cs, "name")->valuestring, jget(cs, "min_gap")->valuedouble,
                   cJSON_GetArraySize(jget(cs, "expected")), md, ok ? "" : " -- ", ok ? "" : why);
            free(prompt);
        }
        sidr_model_free(&m);
    }
    catalog_free(&cat);
    sidr_tokenizer_free(tok);

    if (!have_cli) goto done;
    /* `sidr beam` on the BF16 folder: every case in f32 arithmetic
     * (SIDR_KERNELS=avx2), the bf16-safe ones with the machine's kernels;
     * then again without generation_config.json: identical output. */
    enum { MAXC = 64 };
    static char *o32[2][MAXC], *o16[2][MAXC];
    int n = 0, n16 = 0;
    for (int pass = 0; pass < 2; pass++) {
        int good = 0, good16 = 0;
        double w32 = 0, w16 = 0;
        n = n16 = 0;
        cJSON_ArrayForEach(cs, cases) {
            if (n == MAXC) break;
            int n_prompt, *prompt = json_ints(jget(cJSON_GetArrayItem(prompts, jget(cs, "prompt")->valueint), "ids"),
                                              &n_prompt);
            int B = jget(cs, "beams")->valueint;
            int rc = run_cli("SIDR_KERNELS=avx2", dir16, catpath, prompt, n_prompt, B, &o32[pass][n]);
            int ok = rc == 0 && check_cli_json(o32[pass][n], cs, t32, &w32, why, sizeof why);
            if (!ok) {
                tap_diag("SIDR_KERNELS=avx2 sidr beam %s: exit %d %s", jget(cs, "name")->valuestring, rc, rc ? "" : why);
                diag_cli_err();
            }
            good += ok;
            n++;
            if (cJSON_IsTrue(jget(cs, "bf16_safe"))) {
                rc = run_cli(NULL, dir16, catpath, prompt, n_prompt, B, &o16[pass][n16]);
                ok = rc == 0 && check_cli_json(o16[pass][n16], cs, t16, &w16, why, sizeof why);
                if (!ok) {
                    tap_diag("sidr beam %s: exit %d %s", jget(cs, "name")->valuestring, rc, rc ? "" : why);
                    diag_cli_err();
                }
                good16 += ok;
                n16++;
            }
            free(prompt);
        }
        if (pass == 0) {
            tap_ok(good == n, "B: `sidr beam --json` in f32 arithmetic (SIDR_KERNELS=avx2) lists the reference's "
                   "SIDs in order with ids and scores on %d/%d cases (max |score diff| %.2g)", good, n, w32);
            tap_ok(good16 == n16, "B: `sidr beam --json` with this machine's kernels, on the %d cases with margins "
                   ">= %.2f: %d right (max |score diff| %.2g)", n16, jget(fx, "bf16_safe_gap")->valuedouble, good16,
                   w16);
            char gpath[4200];
            SNP(gpath, sizeof gpath, "%s/generation_config.json", dir16);
            unlink(gpath);
        }
    }
    int same = 1;
    for (int i = 0; i < n; i++) same &= !strcmp(o32[0][i], o32[1][i]);
    for (int i = 0; i < n16; i++) same &= !strcmp(o16[0][i], o16[1][i]);
    tap_ok(same, "B: without generation_config.json (do_sample true, temperature 0.7, top_k 20, top_p 0.8) the "
           "output is byte for byte the same (%d + %d runs)", n, n16);
    for (int p = 0; p < 2; p++) {
        for (int i = 0; i < n; i++) free(o32[p][i]);
        for (int i = 0; i < n16; i++) free(o16[p][i]);
    }

done:;
    const char *f16[] = { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                          "generation_config.json", NULL };
    const char *f32n[] = { "config.json", "model.safetensors", NULL };
    rm_dir(dir16, f16);
    rm_dir(dir32, f32n);
    unlink(catpath);
    for (int i = 0; i < n_distinct; i++) free(toks[i]);
    free(toks);
    free(info);
    cJSON_Delete(fx);
}

/* ---- C: catalogue errors ----------------------------------------------------- */

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

static void catalogue_errors(const char *fixdir, int have_cli)
{
    char tjpath[4200], cat[4200];
    SNP(tjpath, sizeof tjpath, "%s/model-a/tokenizer.json", fixdir);
    SNP(cat, sizeof cat, "%s/catalog.txt", TMP);
    sidr_tokenizer *tok = NULL;
    if (!tap_ok(sidr_tokenizer_load(&tok, tjpath) == SIDR_OK, "C: model-a's tokenizer loads %s", sidr_last_error()))
        return;
    sidr_catalog c;
    char want[4400];

    write_text(cat, "<a_3><b_4><c_3>\tDrill, cordless\tX1\r\n\n<a_3><b_4><c_3>\tSame SID, other item\tX2\n"
                    "<a_6><b_13><c_15>\tno item id\n");
    sidr_status s = catalog_load_info(&c, cat, tok);
    tap_ok(!s && c.n == 3 && c.depth == 3 && c.trie.n_sids == 2 && c.sid_ids[0] == 803 && c.sid_ids[1] == 820 &&
           c.sid_ids[2] == 835 && !strcmp(c.title[0], "Drill, cordless") && !strcmp(c.item_id[2], ""),
           "C: CRLF, a blank line, a collision and a missing item_id column are accepted (3 entries, 2 SIDs) %s",
           s ? sidr_last_error() : "");
    if (!s) catalog_free(&c);

    write_text(cat, "<a_3><b_4><c_3>\tok\t1\n<a_1><b_2><c_3>\tok\t2\n<a_3><b_99><c_1>\tbad\t3\n");
    s = catalog_load_info(&c, cat, tok);
    SNP(want, sizeof want, "%s:3", cat);
    tap_ok(s == SIDR_ERR_MISSING && strstr(sidr_last_error(), want) && strstr(sidr_last_error(), "<b_99>") &&
           strstr(sidr_last_error(), "tokenizer"),
           "C: a SID token missing from the tokenizer is refused naming file:line and the token: %s",
           sidr_last_error());
    if (have_cli) {
        char *out, path[4200], *err = NULL;
        size_t len;
        int ids[] = { 5, 6, 7 };
        char mdir[4200];
        SNP(mdir, sizeof mdir, "%s/model-a", fixdir);
        int rc = run_cli(NULL, mdir, cat, ids, 3, 3, &out);
        SNP(path, sizeof path, "%s/cli.err", TMP);
        if (read_file(path, &err, &len)) err = xstrdup("");
        tap_ok(rc == 1 && strstr(err, want) && strstr(err, "<b_99>") && !*out,
               "C: `sidr beam` with that catalogue exits 1 naming %s and <b_99>, no output", want);
        free(out);
        free(err);
    }

    write_text(cat, "<a_3><b_4><c_3>\tok\t1\nthis line has no tab\n");
    s = catalog_load_info(&c, cat, tok);
    SNP(want, sizeof want, "%s:2", cat);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), want) && strstr(sidr_last_error(), "expected"),
           "C: a line without tabs is refused naming file:line and the expected layout: %s", sidr_last_error());

    write_text(cat, "a_3 b_4 c_3\ttitle\t1\n");
    s = catalog_load_info(&c, cat, tok);
    SNP(want, sizeof want, "%s:1", cat);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), want) && strstr(sidr_last_error(), "not a SID"),
           "C: a SID field that is not <..><..> tokens is refused: %s", sidr_last_error());

    write_text(cat, "<a_3><b_4><c_3>\tok\t1\n<a_3><b_4>\tshort\t2\n");
    s = catalog_load_info(&c, cat, tok);
    SNP(want, sizeof want, "%s:2", cat);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), want) && strstr(sidr_last_error(), "2 tokens"),
           "C: SIDs of different lengths are refused: %s", sidr_last_error());

    write_text(cat, "\n\n");
    s = catalog_load_info(&c, cat, tok);
    tap_ok(s != SIDR_OK && strstr(sidr_last_error(), "no items"), "C: an empty catalogue is refused: %s",
           sidr_last_error());
    unlink(cat);
    sidr_tokenizer_free(tok);
}

int main(void)
{
    char fixdir[4096];
    SNP(fixdir, sizeof fixdir, "%s/fixtures/beam", tap_testdir());
    const char *tmpdir = getenv("TMPDIR");
    SNP(TMP, sizeof TMP, "%s/sidr-beam-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(TMP)) return tap_skip_all("cannot create a temporary folder");
    int have_cli = access(sidr_bin(), X_OK) == 0;
    if (!have_cli) tap_diag("%s not found: the `sidr beam` checks are skipped (set SIDR)", sidr_bin());

    fixture_a(fixdir, have_cli);
    fixture_b(fixdir, have_cli);
    catalogue_errors(fixdir, have_cli);

    const char *left[] = { "cli.out", "cli.err", NULL };
    rm_dir(TMP, left);
    return tap_done();
}

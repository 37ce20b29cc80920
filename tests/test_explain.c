/* sidr explain on a small random f32 model over the fixture dataset: the
 * teacher-forced score equals the beam's, the lens's last layer equals each
 * step's log-probability, occlusion equals a recommendation on the edited
 * history (`sidr recommend --drop`), attention shares are probabilities over
 * the history's tokens, and bad arguments.  Emits TAP. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "explain.h"
#include "tap.h"
#include "trainfix.h"

static const char *SIDR;
static char *TMP, *FIX;

static cJSON *run_json(const char *fmt, const char *arg, int *rc)
{
    char cmd[4096], out[1200];
    snprintf(out, sizeof out, "%s/out.json", TMP);
    snprintf(cmd, sizeof cmd, fmt, arg);
    *rc = fix_sh("'%s' %s --model '%s/m1' --data '%s' --max-reasoning 12 --json >'%s' 2>'%s/err.txt'", SIDR, cmd, TMP, FIX, out,
                 TMP);
    char *text = NULL;
    if (read_file(out, &text, NULL)) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int main(void)
{
    SIDR = getenv("SIDR");
    if (!SIDR || !*SIDR) SIDR = "./sidr";
    if (access(SIDR, X_OK) != 0) return tap_skip_all("the sidr binary is not built (set SIDR)");
    FIX = fix_dataset_dir();
    TMP = fix_tempdir("explain");
    char p[1024];
    snprintf(p, sizeof p, "%s/tok", TMP);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/tok/tokenizer.json", TMP);
    char *json = fix_chat_tokenizer_json();
    fix_write(p, json);
    free(json);
    int rc = fix_sh("'%s' model init --tokenizer '%s/tok' --out '%s/m0' --hidden 64 --ffn 128 --layers 3 --heads 4 --kv-heads 2 "
                    "--head-dim 16 --dtype f32 --seed 5 2>/dev/null && '%s' model add-sids --model '%s/m0' --data '%s' --out '%s/m1' "
                    "2>/dev/null",
                    SIDR, TMP, TMP, SIDR, TMP, FIX, TMP);
    if (!tap_ok(rc == 0, "setup: a small random f32 model with the SID tokens")) return tap_done();

    for (int think = 1; think >= 0; think--) {
        const char *mode = think ? "--think" : "--no-think";
        char args[256];
        snprintf(args, sizeof args, "explain --row test:1 %s", mode);
        cJSON *j = run_json("%s", args, &rc);
        const cJSON *top = cJSON_GetObjectItemCaseSensitive(j, "top"), *hist = cJSON_GetObjectItemCaseSensitive(j, "history");
        const cJSON *lens = cJSON_GetObjectItemCaseSensitive(j, "logit_lens"), *steps = cJSON_GetObjectItemCaseSensitive(j, "top_step_logprobs");
        int nh = cJSON_GetArraySize(hist);
        if (!tap_ok(rc == 0 && j && cJSON_GetArraySize(top) > 0 && nh > 0 && cJSON_GetArraySize(lens) == 3,
                    "%s: explain --json has top, history and a lens of the 3 SID steps", mode)) {
            cJSON_Delete(j);
            continue;
        }
        double beam = num(cJSON_GetArrayItem(top, 0), "score"), tf = num(j, "top_logprob"), sum = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, steps) sum += x->valuedouble;
        tap_ok(fabs(beam - tf) < 1e-3 && fabs(sum - tf) < 1e-9,
               "%s: the teacher-forced log-probability of the top SID equals the beam's score (%.6f vs %.6f)", mode, tf, beam);
        int lens_ok = 1;
        for (int k = 0; k < 3; k++) {
            const cJSON *ls = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(lens, k), "layers");
            int L = cJSON_GetArraySize(ls);
            const cJSON *last = cJSON_GetArrayItem(ls, L - 1);
            lens_ok &= L == 3 && fabs(num(last, "logprob") - cJSON_GetArrayItem(steps, k)->valuedouble) < 1e-3;
            const cJSON *l;
            cJSON_ArrayForEach(l, ls) lens_ok &= num(l, "rank") >= 0 && num(l, "logprob") <= 0;
        }
        tap_ok(lens_ok, "%s: the lens's last layer equals each SID step's log-probability in the beam's score", mode);
        /* attention: shares of probability mass, summed over 3 layers */
        double att = 0;
        int att_ok = 1;
        cJSON_ArrayForEach(x, hist) {
            double a = num(x, "attention");
            att_ok &= a >= 0 && a <= 3;
            att += a;
        }
        tap_ok(att_ok && att > 0 && att <= 3 + 1e-9, "%s: attention to the history items is a share of each layer's mass (sum %.3f of at most 3)",
               mode, att);
        /* gradient x input: the training forward scores the same SID; one finite value per item */
        int g_ok = fabs(num(j, "grad_forward_logprob") - tf) < 1e-3, nonzero = 0;
        cJSON_ArrayForEach(x, hist) {
            double g = num(x, "grad_x_input");
            g_ok &= isfinite(g);
            nonzero += g != 0;
        }
        tap_ok(g_ok && nonzero > 0, "%s: gradient x input per item; the training forward's log-probability %.6f equals %.6f", mode,
               num(j, "grad_forward_logprob"), tf);
        /* occlusion of item 1 equals sidr recommend --drop 1 */
        const cJSON *oc = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(hist, 0), "occlusion");
        int new_rank = (int)num(oc, "new_rank");
        double delta = num(oc, "delta_logprob");
        const char *top_sid = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(top, 0), "sid")->valuestring;
        snprintf(args, sizeof args, "recommend --row test:1 %s --drop 1", mode);
        char *sid_copy = strdup(top_sid);
        cJSON *r = nh > 1 ? run_json("%s", args, &rc) : NULL;
        const cJSON *beams = cJSON_GetObjectItemCaseSensitive(r, "beams");
        int found = -1;
        double score = NAN;
        for (int b = 0; b < cJSON_GetArraySize(beams); b++) {
            const cJSON *e = cJSON_GetArrayItem(beams, b);
            if (!strcmp(cJSON_GetObjectItemCaseSensitive(e, "sid")->valuestring, sid_copy)) {
                found = b;
                score = num(e, "score");
                break;
            }
        }
        if (nh > 1)
            tap_ok(rc == 0 && found == new_rank && (found < 0 || fabs(score - (tf + delta)) < 1e-3),
                   "%s: occlusion of item 1 (new rank %d, delta %.4f) equals recommend --drop 1 (rank %d, score %.4f = %.4f %+.4f)",
                   mode, new_rank, delta, found, score, tf, delta);
        else
            tap_ok(isnan(delta), "%s: a one-item history has no occlusion score", mode);
        free(sid_copy);
        cJSON_Delete(r);
        cJSON_Delete(j);
    }

    /* the SVG: one background, an attention and an occlusion bar per item, a cell per layer and SID step */
    char svg[1200], arg[1400];
    snprintf(svg, sizeof svg, "%s/why.svg", TMP);
    snprintf(arg, sizeof arg, "explain --row test:1 --svg '%s'", svg);
    cJSON *j = run_json("%s", arg, &rc);
    int nh = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "history")), rects = 0;
    char *text = NULL;
    read_file(svg, &text, NULL);
    for (char *q = text; q && (q = strstr(q, "<rect")); q++) rects++;
    tap_ok(rc == 0 && text && !strncmp(text, "<?xml", 5) && strstr(text, "<svg xmlns=\"http://www.w3.org/2000/svg\"") &&
               strstr(text, "</svg>\n") && rects == 1 + 2 * nh + 3 * 3 && !strstr(text, "<title><") ,
           "--svg writes one self-contained SVG: %d rects = 1 + 2 x %d items + 3 steps x 3 layers", rects, nh);
    free(text);
    cJSON_Delete(j);
    j = run_json("%s", "explain --row test:1 --methods lens --svg /nonexistent-dir/why.svg", &rc);
    tap_ok(rc == 1, "--svg into a folder that does not exist is a runtime error");
    cJSON_Delete(j);
    j = run_json("%s", "explain --row test:1 --methods lens", &rc);
    tap_ok(rc == 0 && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "history"), 0), "grad_x_input")) && !cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "history"), 0), "occlusion") &&
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "logit_lens")) == 3,
           "--methods lens runs the lens only");
    cJSON_Delete(j);
    j = run_json("%s", "explain --row test:1 --methods nonsense", &rc);
    tap_ok(rc == 2, "--methods nonsense is a usage error");
    cJSON_Delete(j);
    j = run_json("%s", "recommend --row test:1 --drop 0", &rc);
    tap_ok(rc == 2, "recommend --drop 0 is a usage error (positions are 1-based)");
    cJSON_Delete(j);
    j = run_json("%s", "recommend --row test:1 --drop 1,1,1,1,1,1,1,1,1,1,2,3,4,5,6,7,8,9,10", &rc);
    tap_ok(rc == 2, "recommend --drop of every item is a usage error");
    cJSON_Delete(j);
    j = run_json("%s", "explain --row test:99", &rc);
    tap_ok(rc == 1, "explain on a row that does not exist is a runtime error");
    cJSON_Delete(j);
    fix_sh("rm -rf '%s'", TMP);
    return tap_done();
}

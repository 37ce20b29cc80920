/* sidr bench: prefill and decode speed of the engine on a model folder, set
 * against the memory-bandwidth bound of decoding and, with --torch, against
 * PyTorch (bench/torch_bench.py) on the same folder with the same threads.
 *
 * Decode is bandwidth bound: every decoded token reads every weight once, so
 * tokens/s can be at most (measured read bandwidth) / (weight bytes per
 * token).  Prefill is compute bound.  Numbers are medians over --repeats runs
 * after one warm-up run that pages the weights in. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_beam.h"
#include "bench_train.h"
#include "cli.h"
#include "commands.h"
#include "kernels.h"
#include "model_init.h"
#include "threads.h"
#include "transformer.h"
#include "util.h"
#include "session.h"

static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "shape", required_argument, NULL, 's' },
    { "cache", required_argument, NULL, 'C' },
    { "prompt-tokens", required_argument, NULL, 'p' },
    { "decode-tokens", required_argument, NULL, 'd' },
    { "repeats", required_argument, NULL, 'r' },
    { "threads", required_argument, NULL, 't' },
    { "bw-mb", required_argument, NULL, 'b' },
    { "torch", no_argument, NULL, 'T' },
    { "torch-script", required_argument, NULL, 'S' },
    { "json", no_argument, NULL, 'j' },
    { "beam", required_argument, NULL, 'B' },
    { "train", required_argument, NULL, 'R' },
    { "capture", no_argument, NULL, 'K' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("usage: sidr bench [--model DIR | --shape 0.6b|1.7b|tiny] [options]\n"
           "Measures prefill and decode tokens/s, the machine's memory bandwidth and the\n"
           "decode bound it implies (bandwidth / weight bytes read per token).\n"
           "  --model DIR          bench an existing model folder (default: the embedded demo)\n"
           "  --shape S            bench a random-weight bf16 Qwen3 checkpoint of shape S\n"
           "                       (0.6b, 1.7b: the released layouts; tiny: a few MB),\n"
           "                       generated once into the cache folder and reused\n"
           "  --cache DIR          where --shape checkpoints live (default $XDG_CACHE_HOME/sidr/bench,\n"
           "                       else bench/out when ./bench exists, else ~/.cache/sidr/bench)\n"
           "  --prompt-tokens N    prefill length (default 128)\n"
           "  --decode-tokens N    tokens decoded after the prompt (default 32)\n"
           "  --repeats R          timed runs; medians are reported (default 3)\n"
           "  --threads N          threads for sidr and PyTorch (default: SIDR_THREADS, else\n"
           "                       OMP_NUM_THREADS, else the CPUs this process may use)\n"
           "  --bw-mb N            buffer for the bandwidth measurement in MB (default 1024)\n"
           "  --torch              also run bench/torch_bench.py (PyTorch bf16 baseline) on the\n"
           "                       same folder and thread count; skipped with a message when\n"
           "                       /usr/bin/python3 or torch is missing\n"
           "  --torch-script FILE  the PyTorch script (default: found next to the binary or the source tree)\n"
           "  --json               one JSON object on stdout\n"
           "  --beam B             instead: a B-beam trie-constrained SID search against 5 plain\n"
           "                       batched decode steps of B sequences (the beam overhead)\n"
           "  --capture            also decode with a capture of every decoded position (sidr explain's\n"
           "                       attention and residuals) and print its speed beside the plain decode\n"
           "  --train B,T          instead: training tokens/s of full steps on B x T tokens and the\n"
           "                       peak memory; with --torch, bench/torch_train.py on the same folder\n"
           "Progress goes to stderr.\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double *s = xmalloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* The default cache folder for --shape checkpoints (malloc'd). */
/* Greedy decode of n tokens from tok (the prompt already in kv), timing only
 * the forward calls; with cap, each step also records into it. */
static sidr_status timed_decode(sidr_model *m, sidr_state *st, sidr_kv *kv, float *logits, int tok, long n,
                                sidr_capture *cap, double *seconds)
{
    sidr_status s = SIDR_OK;
    *seconds = 0;
    for (long i = 0; i < n && !s; i++) {
        double t0 = now_seconds();
        s = sidr_forward_capture(m, st, kv, &tok, 1, logits, SIDR_LOGITS_LAST, cap);
        *seconds += now_seconds() - t0;
        tok = argmax(logits, m->cfg.vocab_size);
    }
    return s;
}

static char *default_cache_dir(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return path_join(xdg, "sidr/bench");
    if (file_exists("bench")) return xstrdup("bench/out");
    const char *home = getenv("HOME");
    return path_join(home && *home ? home : ".", ".cache/sidr/bench");
}

/* The PyTorch baseline script: next to the binary, in the source tree, or
 * under the current directory (NULL if none exists). */
static char *find_torch_script(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        char *p = path_join(exe, "bench/torch_bench.py");
        if (file_exists(p)) return p;
        free(p);
    }
#ifdef SIDR_SRCSHARE
    {
        char *p = path_join(SIDR_SRCSHARE, "../bench/torch_bench.py");
        if (file_exists(p)) return p;
        free(p);
    }
#endif
    if (file_exists("bench/torch_bench.py")) return xstrdup("bench/torch_bench.py");
    return NULL;
}

/* Share of all CPUs busy over a short window (-1 when unknown): other work
 * on the machine makes every number here low and noisy, so the report shows
 * it.  Measured while this process sleeps, so it counts the others only. */
static double cpu_busy(double seconds)
{
    unsigned long long a[8] = { 0 }, b[8] = { 0 };
    for (int k = 0; k < 2; k++) {
        unsigned long long *v = k ? b : a;
        FILE *f = fopen("/proc/stat", "r");
        if (!f) return -1;
        int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                       &v[6], &v[7]);
        fclose(f);
        if (n < 5) return -1;
        if (!k) {
            struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
            nanosleep(&ts, NULL);
        }
    }
    unsigned long long total = 0, idle = (b[3] - a[3]) + (b[4] - a[4]);
    for (int i = 0; i < 8; i++) total += b[i] - a[i];
    return total ? 1.0 - (double)idle / total : -1;
}

static int n_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* "AMD EPYC (family 26, model 2)" from /proc/cpuinfo: speed tables must say
 * which CPU they were measured on ("unknown CPU" elsewhere). */
static void cpu_describe(char *buf, size_t cap)
{
    char name[128] = "", line[512];
    int family = -1, model = -1;
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *v = strchr(line, ':');
        if (!v) continue;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = 0;
        if (!name[0] && !strncmp(line, "model name", 10)) snprintf(name, sizeof name, "%s", v);
        else if (family < 0 && !strncmp(line, "cpu family", 10)) family = atoi(v);
        else if (model < 0 && !strncmp(line, "model\t", 6)) model = atoi(v);
        if (name[0] && family >= 0 && model >= 0) break;
    }
    if (f) fclose(f);
    if (!name[0]) snprintf(buf, cap, "unknown CPU");
    else if (family >= 0) snprintf(buf, cap, "%s (family %d, model %d)", name, family, model);
    else snprintf(buf, cap, "%s", name);
}

typedef struct {
    int ok;
    char why[512];          /* when !ok: why PyTorch was skipped */
    double prefill, decode; /* tok/s medians */
    char version[64];
    cJSON *json;            /* the script's whole output */
} torch_result;

/* Runs the PyTorch baseline and parses its JSON (stderr passes through). */
static void run_torch(torch_result *r, const char *script, const char *python, const char *dir, int threads,
                      int prompt, int decode, int repeats)
{
    memset(r, 0, sizeof *r);
    if (!script) {
        snprintf(r->why, sizeof r->why, "bench/torch_bench.py not found (pass --torch-script FILE)");
        return;
    }
    if (access(python, X_OK) != 0) {
        snprintf(r->why, sizeof r->why, "%s is not available", python);
        return;
    }
    char cmd[8192];
    /* Paths are single-quoted for the shell; a quote inside is escaped. */
    char qdir[4096] = "", qscript[4096] = "";
    char *dst[2] = { qdir, qscript };
    const char *src[2] = { dir, script };
    for (int k = 0; k < 2; k++) {
        size_t o = 0;
        for (const char *p = src[k]; *p && o + 6 < 4096; p++) {
            if (*p == '\'') { memcpy(dst[k] + o, "'\\''", 4); o += 4; }
            else dst[k][o++] = *p;
        }
        dst[k][o] = 0;
    }
    snprintf(cmd, sizeof cmd, "%s '%s' --model '%s' --threads %d --prompt-tokens %d --decode-tokens %d --repeats %d",
             python, qscript, qdir, threads, prompt, decode, repeats);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(r->why, sizeof r->why, "cannot run %s: %s", python, strerror(errno));
        return;
    }
    size_t cap = 4096, len = 0;
    char *out = xmalloc(cap);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (len + 1 == cap) out = xrealloc(out, cap *= 2);
    }
    out[len] = 0;
    int status = pclose(p);
    cJSON *j = cJSON_Parse(out);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *pf = cJSON_GetObjectItemCaseSensitive(j, "prefill_tok_s");
    const cJSON *dc = cJSON_GetObjectItemCaseSensitive(j, "decode_tok_s");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "torch_version");
    if (cJSON_IsString(err)) {
        snprintf(r->why, sizeof r->why, "%s", err->valuestring);
    } else if (!cJSON_IsNumber(pf) || !cJSON_IsNumber(dc)) {
        snprintf(r->why, sizeof r->why, "%s exited with status %d without a result",
                 script, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        r->ok = 1;
        r->prefill = pf->valuedouble;
        r->decode = dc->valuedouble;
        if (cJSON_IsString(ver)) snprintf(r->version, sizeof r->version, "%s", ver->valuestring);
        r->json = j;
        j = NULL;
    }
    cJSON_Delete(j);
    free(out);
}

static void json_num(FILE *f, const char *key, double v, int comma)
{
    fprintf(f, "\"%s\":", key);
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
    if (comma) fputc(',', f);
}

static void json_runs(FILE *f, const char *key, const double *v, int n)
{
    fprintf(f, "\"%s\":[", key);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.6g", i ? "," : "", v[i]);
    fputs("],", f);
}

int cmd_bench(int argc, char **argv)
{
    const char *model = NULL, *shape = NULL, *cache_flag = NULL, *script_flag = NULL;
    long prompt = 128, decode = 32, repeats = 3, threads = 0, bw_mb = 1024;
    int want_torch = 0, json = 0, want_capture = 0, c;
    long beam_width = 0, train_b = 0, train_t = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 's': shape = optarg; break;
        case 'C': cache_flag = optarg; break;
        case 'S': script_flag = optarg; break;
        case 'p':
            if (parse_int(optarg, 1, 1 << 20, &prompt)) return usage_error("bench", "--prompt-tokens must be a positive integer (got '%s')", optarg);
            break;
        case 'd':
            if (parse_int(optarg, 1, 1 << 20, &decode)) return usage_error("bench", "--decode-tokens must be a positive integer (got '%s')", optarg);
            break;
        case 'r':
            if (parse_int(optarg, 1, 1000, &repeats)) return usage_error("bench", "--repeats must be an integer in 1..1000 (got '%s')", optarg);
            break;
        case 't':
            if (parse_int(optarg, 1, 4096, &threads)) return usage_error("bench", "--threads must be a positive integer (got '%s')", optarg);
            break;
        case 'b':
            if (parse_int(optarg, 16, 1 << 20, &bw_mb)) return usage_error("bench", "--bw-mb must be an integer >= 16 (got '%s')", optarg);
            break;
        case 'T': want_torch = 1; break;
        case 'K': want_capture = 1; break;
        case 'j': json = 1; break;
        case 'R':
            if (sscanf(optarg, "%ld,%ld", &train_b, &train_t) != 2 || train_b < 1 || train_t < 2 || train_b * train_t > (1L << 20))
                return usage_error("bench", "--train expects B,T (sequences, tokens each), e.g. 8,128");
            break;
        case 'B':
            if (parse_int(optarg, 1, 256, &beam_width)) return usage_error("bench", "--beam expects a beam width in [1, 256]");
            break;
        case 'h': help(); return EXIT_OK;
        default: return usage_error("bench", "unknown option");
        }
    }
    if (optind != argc) return usage_error("bench", "unexpected argument '%s'", argv[optind]);
    if (model && shape) return usage_error("bench", "--model and --shape exclude each other");

    /* The engine's thread pool (OpenBLAS runs single-threaded inside it). */
    if (threads > 0) sidr_threads_set((int)threads);
    threads = sidr_threads_count();

    char *dir = NULL;
    if (shape) {
        sidr_config cfg;
        if (sidr_config_qwen3_preset(&cfg, shape)) return usage_error("bench", "%s", sidr_last_error());
        char *cache = cache_flag ? xstrdup(cache_flag) : default_cache_dir();
        char leaf[64];
        snprintf(leaf, sizeof leaf, "qwen3-%s-bf16", shape);
        dir = path_join(cache, leaf);
        free(cache);
        char *cj = path_join(dir, "config.json"), *st = path_join(dir, "model.safetensors");
        int have = file_exists(cj) && file_exists(st);
        free(cj);
        free(st);
        if (!have) {
            long long n = (long long)cfg.vocab_size * cfg.dim +
                          (long long)cfg.n_layers * ((long long)cfg.dim * (2 * cfg.n_heads + 2 * cfg.n_kv_heads) * cfg.head_dim +
                                                     3LL * cfg.dim * cfg.hidden_dim);
            fprintf(stderr, "sidr bench: writing a random bf16 Qwen3-%s-shaped checkpoint to %s (%.2f GB)...\n",
                    shape, dir, 2.0 * n / 1e9);
            double t0 = now_seconds();
            sidr_status s = sidr_model_init_random(dir, &cfg, SIDR_BF16, 1234, 0.02f);
            if (s) { free(dir); return runtime_error("bench", s); }
            fprintf(stderr, "sidr bench: checkpoint written in %.1f s\n", now_seconds() - t0);
        } else {
            fprintf(stderr, "sidr bench: reusing %s\n", dir);
        }
    } else {
        const char *d = resolve_model_dir("bench", model);
        if (!d) return EXIT_USAGE;
        dir = xstrdup(d);
    }

    if (train_b) {
        /* Training speed against PyTorch on the same folder, batch and threads. */
        double sidr_tps = 0, sidr_mb = 0;
        sidr_status st = bench_train(dir, (int)train_b, (int)train_t, (int)repeats, &sidr_tps, &sidr_mb);
        if (st) { free(dir); return runtime_error("bench", st); }
        printf("training, batch %ldx%ld, %ld threads: sidr %.0f tokens/s, peak %.0f MB\n", train_b, train_t, threads,
               sidr_tps, sidr_mb);
        if (want_torch) {
            char *script = script_flag ? xstrdup(script_flag) : find_torch_script();
            char cmd[16384];
            if (script) {
                char *slash = strrchr(script, '/');
                if (slash) *slash = 0;
                snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/torch_train.py' --model '%s' --batch %ld --seq %ld "
                         "--threads %ld --repeats %ld", script, dir, train_b, train_t, threads, repeats);
                fflush(stdout);
                FILE *pp = popen(cmd, "r");
                char line[4096] = "";
                double tps = 0, mb = 0;
                if (pp && fgets(line, sizeof line, pp)) {
                    char *a = strstr(line, "\"tokens_per_s\": "), *b = strstr(line, "\"peak_rss_mb\": ");
                    if (a) tps = atof(a + 16);
                    if (b) mb = atof(b + 15);
                }
                if (pp) pclose(pp);
                if (tps > 0)
                    printf("training, PyTorch: %.0f tokens/s, peak %.0f MB; sidr/PyTorch %.2f\n", tps, mb, sidr_tps / tps);
                else
                    fprintf(stderr, "sidr bench: the PyTorch training baseline did not run (%s)\n", cmd);
                free(script);
            }
        }
        free(dir);
        return EXIT_OK;
    }
    const char *kernels = sidr_kernels_init();
    sidr_model m;
    sidr_status s = session_load_model(&m, dir);
    if (s) { free(dir); return runtime_error("bench", s); }
    sidr_config cfg_copy = m.cfg;  /* outlives the model, for the report */
    const sidr_config *cfg = &cfg_copy;
    if (prompt + decode > cfg->max_seq)
        fprintf(stderr, "sidr bench: note: %ld + %ld tokens exceed max_position_embeddings %d\n", prompt, decode,
                cfg->max_seq);
    long long bytes_tok = sidr_model_bytes_per_token(&m), n_params = sidr_model_n_params(&m);
    const char *dtype = sidr_dtype_name(m.lm_head.dtype); /* a static name */
    fprintf(stderr, "sidr bench: %s, %d layers, hidden %d, %.3fB parameters, %s, %.3f GB of weights per token; "
            "kernels %s, %ld threads\n", cfg->architecture, cfg->n_layers, cfg->dim, n_params / 1e9, dtype,
            bytes_tok / 1e9, kernels, threads);

    if (beam_width) {
        /* Beam search overhead: a full B-beam SID search vs 5 plain batched steps. */
        double tb, tp;
        if (bench_beam(&m, (int)prompt, (int)beam_width, (int)repeats, &tb, &tp)) {
            sidr_model_free(&m);
            free(dir);
            fprintf(stderr, "sidr bench: --beam needs a vocabulary of at least 1000 tokens\n");
            return EXIT_RUNTIME;
        }
        printf("beam search, B=%ld, after %ld prompt tokens: %.1f ms; 5 plain batched decode steps of %ld sequences: "
               "%.1f ms; ratio %.3f (medians of %ld)\n", beam_width, prompt, tb * 1e3, beam_width, tp * 1e3, tb / tp, repeats);
        sidr_model_free(&m);
        free(dir);
        return EXIT_OK;
    }
    int cap = (int)(prompt + decode + 1), V = cfg->vocab_size;
    sidr_state *st = sidr_state_new(&m, prompt < 512 ? (int)prompt : 512);
    sidr_kv kv;
    if ((s = sidr_kv_init(&kv, cfg, cap))) {
        sidr_state_free(st);
        sidr_model_free(&m);
        free(dir);
        return runtime_error("bench", s);
    }
    float *logits = xmalloc((size_t)V * sizeof(float));
    int *toks = xmalloc((size_t)prompt * sizeof(int));
    double *pre = xcalloc(repeats, sizeof(double)), *dec = xcalloc(repeats, sizeof(double));
    double *bws = xcalloc(repeats, sizeof(double)), *head_bw = xcalloc(repeats, sizeof(double));
    double *dec_cap = xcalloc(repeats, sizeof(double));
    /* --capture: the same decode again with a capture recording every decoded
     * position (attention and residuals, as sidr explain asks for), so the
     * run shows what a capture costs and that the plain forward above, which
     * passes none, pays nothing for the feature */
    sidr_capture capt;
    memset(&capt, 0, sizeof capt);
    if (want_capture) {
        int *cpos = xmalloc((size_t)decode * sizeof(int));
        for (long i = 0; i < decode; i++) cpos[i] = (int)(prompt + i);
        s = sidr_capture_init(&capt, cfg, cpos, (int)decode, cap);
        free(cpos);
    }
    double head_bytes = (double)m.lm_head.rows * m.lm_head.cols * sidr_dtype_size(m.lm_head.dtype);
    float *xrow = xmalloc((size_t)cfg->dim * sizeof(float));
    for (int i = 0; i < cfg->dim; i++) xrow[i] = (float)((i % 7) - 3) * 0.25f;
    char cpu[192];
    cpu_describe(cpu, sizeof cpu);
    double load0 = cpu_busy(1.0);
    if (load0 >= 0.1)
        fprintf(stderr, "sidr bench: warning: other processes kept %.0f%% of the %d CPUs busy just before the run; "
                "expect low and noisy numbers\n", 100 * load0, n_cpus());
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    install_interrupt_handler();

    /* Run 0 is the warm-up: it pages the weights in and sizes the buffers. */
    for (long r = 0; r <= repeats && !s && !interrupted; r++) {
        for (long i = 0; i < prompt; i++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            toks[i] = (int)(rng % (uint64_t)V);
        }
        sidr_kv_reset(&kv);
        double t0 = now_seconds();
        if ((s = sidr_forward(&m, st, &kv, toks, (int)prompt, logits, SIDR_LOGITS_LAST))) break;
        double t_pre = now_seconds() - t0, t_dec = 0, t_cap = 0;
        const int tok0 = argmax(logits, V);
        /* with --capture, the same tokens again after the same prompt (the
         * cache rewound to it), the two in turn first so neither always
         * meets the caches the other warmed */
        for (int pass = 0; pass < (want_capture ? 2 : 1) && !s; pass++) {
            int captured = want_capture && (pass + (int)r) % 2 == 0;
            kv.len = (int)prompt;
            s = timed_decode(&m, st, &kv, logits, tok0, decode, captured ? &capt : NULL, captured ? &t_cap : &t_dec);
        }
        if (s) break;
        if (r == 0) {
            fprintf(stderr, "sidr bench: warm-up: prefill %.2f tok/s, decode %.2f tok/s\n", prompt / t_pre,
                    decode / t_dec);
            continue;
        }
        if (want_capture) dec_cap[r - 1] = decode / t_cap;
        pre[r - 1] = prompt / t_pre;
        dec[r - 1] = decode / t_dec;
        /* Bandwidth right after each run, so the bound sees the same machine
         * state (other tenants, clocks) as the decode it bounds. */
        bws[r - 1] = sidr_measure_bandwidth((size_t)bw_mb << 20);
        /* The decode kernel alone on the largest matrix (the LM head): how
         * much of the bandwidth the weight stream itself gets, apart from
         * everything else a decode step does. */
        double best = 1e30;
        for (int k = 0; k < 3; k++) {
            double t1 = now_seconds();
            sidr_matmul(logits, xrow, m.lm_head.data, m.lm_head.dtype, 1, m.lm_head.rows, m.lm_head.cols, m.numerics);
            double dt = now_seconds() - t1;
            if (dt < best) best = dt;
        }
        head_bw[r - 1] = head_bytes / best;
        fprintf(stderr, "sidr bench: run %ld/%ld: prefill %.2f tok/s, decode %.2f tok/s, memory %.1f GB/s, "
                "LM head matvec %.1f GB/s\n", r, repeats, pre[r - 1], dec[r - 1], bws[r - 1] / 1e9,
                head_bw[r - 1] / 1e9);
    }
    free(logits);
    free(xrow);
    free(toks);
    sidr_capture_free(&capt);
    sidr_kv_free(&kv);
    sidr_state_free(st);
    sidr_model_free(&m);
    if (!s && interrupted) s = sidr_fail(SIDR_ERR_CANCELLED, "interrupted");
    if (s) {
        free(pre); free(dec); free(dec_cap); free(bws); free(head_bw); free(dir);
        return runtime_error("bench", s);
    }
    double cap_med = want_capture ? median(dec_cap, (int)repeats) : 0;
    double prefill = median(pre, (int)repeats), dec_med = median(dec, (int)repeats);
    double bw = median(bws, (int)repeats), hbw = median(head_bw, (int)repeats);
    double bound = bw / (double)bytes_tok;
    double load1 = cpu_busy(0.5);

    torch_result tr = { 0 };
    if (want_torch) {
        char *script = script_flag ? xstrdup(script_flag) : find_torch_script();
        const char *python = getenv("SIDR_PYTHON");
        if (!python || !*python) python = "/usr/bin/python3";
        fprintf(stderr, "sidr bench: running the PyTorch baseline (%s)...\n", script ? script : "?");
        run_torch(&tr, script, python, dir, (int)threads, (int)prompt, (int)decode, (int)repeats);
        if (!tr.ok) fprintf(stderr, "sidr bench: skipping PyTorch: %s\n", tr.why);
        free(script);
    }

    if (json) {
        printf("{\"numerics\":\"%s\",", sidr_numerics_name(session_numerics));
        printf("\"model\":");
        json_string(stdout, dir, strlen(dir));
        printf(",\"shape\":");
        if (shape) json_string(stdout, shape, strlen(shape));
        else fputs("null", stdout);
        printf(",\"architecture\":");
        json_string(stdout, cfg->architecture, strlen(cfg->architecture));
        printf(",\"dtype\":\"%s\",\"params\":%lld,\"bytes_per_token\":%lld,", dtype, n_params, bytes_tok);
        printf("\"kernels\":\"%s\",\"threads\":%ld,\"prompt_tokens\":%ld,\"decode_tokens\":%ld,\"repeats\":%ld,",
               kernels, threads, prompt, decode, repeats);
        json_num(stdout, "prefill_tok_s", prefill, 1);
        json_num(stdout, "decode_tok_s", dec_med, 1);
        json_runs(stdout, "prefill_runs", pre, (int)repeats);
        json_runs(stdout, "decode_runs", dec, (int)repeats);
        json_num(stdout, "bandwidth_gb_s", bw / 1e9, 1);
        fprintf(stdout, "\"bandwidth_runs_gb_s\":[");
        for (long i = 0; i < repeats; i++) fprintf(stdout, "%s%.4g", i ? "," : "", bws[i] / 1e9);
        fputs("],", stdout);
        json_num(stdout, "lm_head_matvec_gb_s", hbw / 1e9, 1);
        json_num(stdout, "other_cpu_busy_before", load0, 1);
        json_num(stdout, "other_cpu_busy_after", load1, 1);
        printf("\"cpus\":%d,\"cpu\":", n_cpus());
        json_string(stdout, cpu, strlen(cpu));
        printf(",");
        json_num(stdout, "decode_bound_tok_s", bound, 1);
        json_num(stdout, "decode_vs_bound", dec_med / bound, 1);
        if (want_capture) {
            json_num(stdout, "decode_capture_tok_s", cap_med, 1);
            json_runs(stdout, "decode_capture_runs", dec_cap, (int)repeats);
            json_num(stdout, "capture_vs_off", cap_med / dec_med, 1);
        }
        printf("\"torch\":");
        if (tr.ok) {
            char *t = cJSON_PrintUnformatted(tr.json);
            fputs(t, stdout);
            free(t);
            printf(",\"sidr_vs_torch\":{");
            json_num(stdout, "prefill", prefill / tr.prefill, 1);
            json_num(stdout, "decode", dec_med / tr.decode, 0);
            printf("}");
        } else if (want_torch) {
            printf("{\"skipped\":");
            json_string(stdout, tr.why, strlen(tr.why));
            printf("}");
        } else {
            printf("null");
        }
        printf("}\n");
    } else {
        printf("model          %s\n", dir);
        printf("               %s, %.3fB parameters, %s, %.3f GB of weights read per decoded token\n",
               cfg->architecture, n_params / 1e9, dtype, bytes_tok / 1e9);
        printf("cpu            %s, %d CPUs\n", cpu, n_cpus());
        printf("kernels        %s, %ld threads\n", kernels, threads);
        printf("workload       %ld-token prompt, then %ld decoded tokens; median of %ld runs\n", prompt, decode,
               repeats);
        printf("memory         %.1f GB/s streaming read (%ld MB buffer, %ld threads; median over the runs)\n",
               bw / 1e9, bw_mb, threads);
        printf("other load     %.0f%% of %d CPUs busy before the runs, %.0f%% after (1 s / 0.5 s samples)\n",
               100 * load0, n_cpus(), 100 * load1);
        printf("decode bound   %.2f tok/s (bandwidth / weight bytes per token)\n", bound);
        printf("decode kernel  %.1f GB/s on the LM head alone (%.0f MB, one token; %.2f of the bandwidth)\n\n",
               hbw / 1e9, head_bytes / 1e6, hbw / bw);
        if (tr.ok) {
            printf("                    sidr    PyTorch %-8s  sidr/PyTorch\n", tr.version);
            printf("prefill tok/s   %8.2f   %8.2f          %6.2fx\n", prefill, tr.prefill, prefill / tr.prefill);
            printf("decode tok/s    %8.2f   %8.2f          %6.2fx\n", dec_med, tr.decode, dec_med / tr.decode);
            printf("decode / bound  %8.2f   %8.2f\n", dec_med / bound, tr.decode / bound);
        } else {
            printf("                    sidr\n");
            printf("prefill tok/s   %8.2f\n", prefill);
            printf("decode tok/s    %8.2f\n", dec_med);
            printf("decode / bound  %8.2f\n", dec_med / bound);
            if (want_torch) printf("PyTorch         skipped: %s\n", tr.why);
        }
        if (want_capture)
            printf("decode, capture on  %.2f tok/s (every decoded position recorded; %.2fx the plain decode, "
                   "which passes no capture)\n", cap_med, cap_med / dec_med);
    }
    cJSON_Delete(tr.json);
    free(pre);
    free(dec);
    free(dec_cap);
    free(bws);
    free(head_bw);
    free(dir);
    return EXIT_OK;
}

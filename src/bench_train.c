/* sidr bench --train B,T: training tokens/s of one full step (forward,
 * cross-entropy backward, clipping, AdamW) on B x T random tokens, the same
 * workload bench/torch_train.py runs in PyTorch, and the peak memory. */
#include <stdlib.h>
#include <sys/resource.h>

#include "backward.h"
#include "bench_train.h"
#include "optim.h"
#include "params.h"
#include "util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

sidr_status bench_train(const char *dir, int B, int T, int repeats, double *tok_s, double *peak_mb)
{
    sidr_params p;
    sidr_status s = sidr_params_load(&p, dir);
    if (s) return s;
    sidr_train_opts to = { B, T, 0, 0 };
    sidr_train *tr;
    if ((s = sidr_train_new(&tr, &p, &to))) { sidr_params_free(&p); return s; }
    sidr_adamw_opts ao;
    sidr_adamw_defaults(&ao);
    sidr_adamw opt;
    if ((s = sidr_adamw_init(&opt, &p, &ao))) { sidr_train_free(tr); sidr_params_free(&p); return s; }
    int *tok = xmalloc((size_t)B * T * sizeof(int));
    double *times = xmalloc((size_t)(repeats + 1) * sizeof(double));
    uint64_t rng = 1;
    for (int r = 0; r <= repeats && !s; r++) { /* run 0 warms up */
        for (int i = 0; i < B * T; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            tok[i] = (int)((rng >> 33) % (uint64_t)p.cfg.vocab_size);
        }
        sidr_batch b = { B, T, tok, NULL };
        sidr_train_stats st;
        sidr_adamw_info info;
        double t0 = now_seconds();
        sidr_train_zero_grad(tr);
        if (!(s = sidr_train_forward(tr, &b, 0, NULL, &st)) && !(s = sidr_train_backward_ce(tr, 0)))
            s = sidr_adamw_step(&opt, &p, sidr_train_grad(tr), &info);
        times[r] = now_seconds() - t0;
    }
    if (!s) {
        qsort(times + 1, repeats, sizeof(double), cmp_double);
        *tok_s = (double)B * (T - 1) / times[1 + repeats / 2];
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        *peak_mb = ru.ru_maxrss / 1024.0;
    }
    free(tok);
    free(times);
    sidr_adamw_free(&opt);
    sidr_train_free(tr);
    sidr_params_free(&p);
    return s;
}

/* sidr_matmul_group against separate sidr_matmul calls: the same bytes.
 *
 * The forward pass multiplies one input by q/k/v (and by gate/up) in one
 * dispatch; that must not change a single bit of any output.  Matrices of
 * decode-like shapes, large enough for the threaded row kernels, in bf16, f16
 * and f32, for 1..9 inputs and both numerics policies, under every kernel
 * set this CPU has (each in a child process: the set is chosen once); and
 * the claimed ranges those dispatches use cover every item exactly once. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels.h"
#include "safetensors.h"
#include "tap.h"
#include "threads.h"

static float frand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / (float)(1 << 24) - 0.5f;
}

/* W [rows][cols] in dtype with values from s */
static void *weights(sidr_dtype dt, int rows, int cols, uint64_t *s)
{
    size_t n = (size_t)rows * cols;
    if (dt == SIDR_F32) {
        float *w = malloc(n * sizeof *w);
        for (size_t i = 0; i < n; i++) w[i] = frand(s);
        return w;
    }
    uint16_t *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = dt == SIDR_BF16 ? sidr_f32_to_bf16(frand(s)) : sidr_f32_to_f16(frand(s));
    return w;
}

/* sidr_parallel_claim: every item exactly once, by a thread of the pool */
typedef struct {
    int *seen, bad_thread, n_threads;
} claim_job;

static void claim_items(void *arg, int b, int e, int thread)
{
    claim_job *j = arg;
    if (thread < 0 || thread >= j->n_threads) j->bad_thread = 1;
    for (int i = b; i < e; i++) __atomic_add_fetch(&j->seen[i], 1, __ATOMIC_RELAXED);
}

static int claims_cover(int n, int grain)
{
    claim_job j = { calloc((size_t)n + 1, sizeof(int)), 0, sidr_threads_count() };
    sidr_parallel_claim(n, grain, claim_items, &j);
    int ok = !j.bad_thread;
    for (int i = 0; i < n; i++) ok &= j.seen[i] == 1;
    free(j.seen);
    return ok;
}

/* Mismatches over every case under the kernel set chosen in this process. */
static int run_cases(void)
{
    static const sidr_dtype dts[3] = { SIDR_BF16, SIDR_F16, SIDR_F32 };
    static const int Ts[5] = { 1, 2, 3, 5, 9 };
    /* q/k/v of a small Qwen3 (rows 512, 256, 256 of 320 columns, a tail past the
     * last 64-block) and a 3-row group with an odd row count */
    static const int rows[2][3] = { { 512, 256, 256 }, { 700, 33, 300 } };
    int bad = 0, cols = 320;
    uint64_t seed = 7;
    for (int d = 0; d < 3; d++)
        for (int g = 0; g < 2; g++) {
            void *W[3];
            for (int i = 0; i < 3; i++) W[i] = weights(dts[d], rows[g][i], cols, &seed);
            float *x = malloc((size_t)9 * cols * sizeof *x);
            for (int i = 0; i < 9 * cols; i++) x[i] = frand(&seed);
            for (int ti = 0; ti < 5; ti++)
                for (int nm = 0; nm < 2; nm++) {
                    int T = Ts[ti];
                    float *a[3], *b[3];
                    sidr_mm_part parts[3];
                    for (int i = 0; i < 3; i++) {
                        a[i] = calloc((size_t)T * rows[g][i], sizeof(float));
                        b[i] = calloc((size_t)T * rows[g][i], sizeof(float));
                        parts[i] = (sidr_mm_part){ b[i], W[i], dts[d], rows[g][i] };
                        sidr_matmul(a[i], x, W[i], dts[d], T, rows[g][i], cols, (sidr_numerics)nm);
                    }
                    sidr_matmul_group(parts, 3, x, T, cols, (sidr_numerics)nm);
                    for (int i = 0; i < 3; i++) {
                        if (memcmp(a[i], b[i], (size_t)T * rows[g][i] * sizeof(float))) {
                            printf("# %s: dtype %s, T %d, %s, part %d (%d rows): the group differs from its own call\n",
                                   sidr_kernels_name(), sidr_dtype_name(dts[d]), T, sidr_numerics_name((sidr_numerics)nm),
                                   i, rows[g][i]);
                            bad++;
                        }
                        free(a[i]);
                        free(b[i]);
                    }
                }
            for (int i = 0; i < 3; i++) free(W[i]);
            free(x);
        }
    return bad;
}

int main(void)
{
    if (fork() == 0) {
        sidr_threads_set(2);
        int ok = claims_cover(1000, 8) && claims_cover(7, 3) && claims_cover(1, 8) && claims_cover(100003, 1) &&
                 claims_cover(64, 64) && claims_cover(65, 64);
        _exit(ok ? 0 : 1);
    }
    int st0 = 0;
    wait(&st0);
    tap_ok(WIFEXITED(st0) && WEXITSTATUS(st0) == 0,
           "sidr_parallel_claim hands out every item exactly once (n 1..100003, grains 1..64, 2 threads)");
    static const char *const sets[4] = { NULL, "avx512", "avx2", "portable" };
    for (int k = 0; k < 4; k++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (sets[k]) setenv("SIDR_KERNELS", sets[k], 1);
            sidr_threads_set(2);
            const char *name = sidr_kernels_init();
            /* a set this CPU lacks falls back to a lower one, already covered */
            if (sets[k] && strcmp(name, sets[k])) _exit(255);
            int bad = run_cases();
            fflush(stdout);
            _exit(bad > 254 ? 254 : bad);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (code == 255) {
            tap_skip("kernel set %s: not on this CPU", sets[k]);
            continue;
        }
        tap_ok(code == 0, "kernels %s: q/k/v as one group give the bytes of three sidr_matmul calls (bf16, f16, f32; "
               "1..9 inputs; exact and fast; %d mismatching cases)", sets[k] ? sets[k] : "(this CPU's)", code);
    }
    return tap_done();
}

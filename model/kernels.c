#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define SIDR_X86 1
#endif

#include "util.h"

/* ---- the portable path: the reference every vector path must match ------- */

static inline float load_scalar(const void *W, sidr_dtype dt, size_t i)
{
    switch (dt) {
    case SIDR_BF16: return sidr_bf16_to_f32(((const uint16_t *)W)[i]);
    case SIDR_F16: return sidr_f16_to_f32(((const uint16_t *)W)[i]);
    default: return ((const float *)W)[i];
    }
}

/* out[t*ldo + r] for rows [r0, r1) and all T inputs. */
typedef void (*rows_fn)(float *out, int ldo, const float *x, const void *W, sidr_dtype dt,
                        int T, int cols, int r0, int r1);

static void rows_portable(float *out, int ldo, const float *x, const void *W, sidr_dtype dt,
                          int T, int cols, int r0, int r1)
{
    for (int r = r0; r < r1; r++) {
        size_t base = (size_t)r * cols;
        for (int t = 0; t < T; t++) {
            const float *xt = x + (size_t)t * cols;
            float acc = 0;
            for (int c = 0; c < cols; c++) acc += load_scalar(W, dt, base + c) * xt[c];
            out[(size_t)t * ldo + r] = acc;
        }
    }
}

#ifdef SIDR_X86
/* ---- AVX2 + FMA + F16C ------------------------------------------------------ */
#define AVX2_TARGET __attribute__((target("avx2,fma,f16c")))

AVX2_TARGET static inline __m256 load8(const void *W, sidr_dtype dt, size_t i)
{
    if (dt == SIDR_BF16) {
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)W + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    if (dt == SIDR_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)W + i)));
    return _mm256_loadu_ps((const float *)W + i);
}

AVX2_TARGET static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_TARGET static void rows_avx2(float *out, int ldo, const float *x, const void *W, sidr_dtype dt,
                                  int T, int cols, int r0, int r1)
{
    int cv = cols & ~7;
    for (int r = r0; r < r1; r++) {
        size_t base = (size_t)r * cols;
        /* Four inputs share each widened weight vector. */
        for (int t0 = 0; t0 < T; t0 += 4) {
            int nt = T - t0 < 4 ? T - t0 : 4;
            const float *x0 = x + (size_t)t0 * cols;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < cv; c += 8) {
                __m256 w = load8(W, dt, base + c);
                a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x0 + c), a0);
                if (nt > 1) a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x0 + cols + c), a1);
                if (nt > 2) a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x0 + 2 * cols + c), a2);
                if (nt > 3) a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x0 + 3 * cols + c), a3);
            }
            float s[4] = { hsum8(a0), hsum8(a1), hsum8(a2), hsum8(a3) };
            for (int c = cv; c < cols; c++) {
                float w = load_scalar(W, dt, base + c);
                for (int t = 0; t < nt; t++) s[t] += w * x0[(size_t)t * cols + c];
            }
            for (int t = 0; t < nt; t++) out[(size_t)(t0 + t) * ldo + r] = s[t];
        }
    }
}

/* ---- AVX-512 ---------------------------------------------------------------- */
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

AVX512_TARGET static inline __m512 load16(const void *W, sidr_dtype dt, size_t i)
{
    if (dt == SIDR_BF16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)W + i));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    if (dt == SIDR_F16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)W + i)));
    return _mm512_loadu_ps((const float *)W + i);
}

AVX512_TARGET static void rows_avx512(float *out, int ldo, const float *x, const void *W, sidr_dtype dt,
                                      int T, int cols, int r0, int r1)
{
    int cv = cols & ~15;
    for (int r = r0; r < r1; r++) {
        size_t base = (size_t)r * cols;
        for (int t0 = 0; t0 < T; t0 += 4) {
            int nt = T - t0 < 4 ? T - t0 : 4;
            const float *x0 = x + (size_t)t0 * cols;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < cv; c += 16) {
                __m512 w = load16(W, dt, base + c);
                a0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x0 + c), a0);
                if (nt > 1) a1 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x0 + cols + c), a1);
                if (nt > 2) a2 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x0 + 2 * cols + c), a2);
                if (nt > 3) a3 = _mm512_fmadd_ps(w, _mm512_loadu_ps(x0 + 3 * cols + c), a3);
            }
            float s[4] = { _mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1),
                           _mm512_reduce_add_ps(a2), _mm512_reduce_add_ps(a3) };
            for (int c = cv; c < cols; c++) {
                float w = load_scalar(W, dt, base + c);
                for (int t = 0; t < nt; t++) s[t] += w * x0[(size_t)t * cols + c];
            }
            for (int t = 0; t < nt; t++) out[(size_t)(t0 + t) * ldo + r] = s[t];
        }
    }
}

AVX512_TARGET static void widen_avx512(float *dst, const void *src, sidr_dtype dt, size_t n)
{
    size_t nv = n & ~(size_t)15;
    for (size_t i = 0; i < nv; i += 16) _mm512_storeu_ps(dst + i, load16(src, dt, i));
    for (size_t i = nv; i < n; i++) dst[i] = load_scalar(src, dt, i);
}

AVX2_TARGET static void widen_avx2(float *dst, const void *src, sidr_dtype dt, size_t n)
{
    size_t nv = n & ~(size_t)7;
    for (size_t i = 0; i < nv; i += 8) _mm256_storeu_ps(dst + i, load8(src, dt, i));
    for (size_t i = nv; i < n; i++) dst[i] = load_scalar(src, dt, i);
}
#endif

static void widen_portable(float *dst, const void *src, sidr_dtype dt, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = load_scalar(src, dt, i);
}

/* ---- dispatch --------------------------------------------------------------- */

typedef void (*widen_fn)(float *dst, const void *src, sidr_dtype dt, size_t n);

static struct {
    const char *name;
    rows_fn rows;
    widen_fn widen;
} K = { NULL, rows_portable, widen_portable };

const char *sidr_kernels_init(void)
{
    if (K.name) return K.name;
    K.name = "portable";
#ifdef SIDR_X86
    const char *force = getenv("SIDR_KERNELS");
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl");
    if (force && !strcmp(force, "portable")) avx2 = avx512 = 0;
    if (force && !strcmp(force, "avx2")) avx512 = 0;
    if (avx512) { K.name = "avx512"; K.rows = rows_avx512; K.widen = widen_avx512; }
    else if (avx2) { K.name = "avx2"; K.rows = rows_avx2; K.widen = widen_avx2; }
#endif
    return K.name;
}

const char *sidr_kernels_name(void) { return sidr_kernels_init(); }

void sidr_to_f32(float *dst, const void *src, sidr_dtype dtype, size_t n)
{
    sidr_kernels_init();
    K.widen(dst, src, dtype, n);
}

/* Rows per parallel work unit: big enough to amortise scheduling. */
#define ROW_CHUNK 16
/* From this many inputs on, widening W and running sgemm beats streaming. */
#define SGEMM_MIN_T 8

static _Thread_local float *widen_buf;
static _Thread_local size_t widen_cap;

void sidr_matmul(float *out, const float *x, const void *W, sidr_dtype dtype, int T, int rows, int cols)
{
    sidr_kernels_init();
    if (T < SGEMM_MIN_T) {
        int n_chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
        #pragma omp parallel for schedule(static) if (rows * (size_t)cols > 32768)
        for (int ch = 0; ch < n_chunks; ch++) {
            int r0 = ch * ROW_CHUNK, r1 = r0 + ROW_CHUNK < rows ? r0 + ROW_CHUNK : rows;
            K.rows(out, rows, x, W, dtype, T, cols, r0, r1);
        }
        return;
    }
    if (dtype == SIDR_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, rows, cols, 1.0f, x, cols,
                    (const float *)W, cols, 0.0f, out, rows);
        return;
    }
    /* Widen W in row blocks of about 8 MB and multiply each block. */
    int block = (int)((8u << 20) / (sizeof(float) * (size_t)cols));
    if (block < 64) block = 64;
    if (block > rows) block = rows;
    size_t need = (size_t)block * cols;
    if (widen_cap < need) {
        free(widen_buf);
        widen_buf = xaligned(need * sizeof(float));
        widen_cap = need;
    }
    float *buf = widen_buf;
    size_t esz = sidr_dtype_size(dtype);
    for (int r0 = 0; r0 < rows; r0 += block) {
        int nb = rows - r0 < block ? rows - r0 : block;
        const char *src = (const char *)W + (size_t)r0 * cols * esz;
        int parts = 64;
        #pragma omp parallel for schedule(static)
        for (int p = 0; p < parts; p++) {
            size_t total = (size_t)nb * cols, a = total * p / parts, b = total * (p + 1) / parts;
            K.widen(buf + a, src + a * esz, dtype, b - a);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, nb, cols, 1.0f, x, cols,
                    buf, cols, 0.0f, out + r0, rows);
    }
}

void sidr_rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
}

void sidr_softmax(float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (x[i] = expf(x[i] - mx));
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

float sidr_log_softmax(float *out, const float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)(x[i] - mx));
    float lse = mx + (float)log(sum);
    for (int i = 0; i < n; i++) out[i] = x[i] - lse;
    return lse;
}

double sidr_measure_bandwidth(size_t bytes)
{
    size_t n = bytes / sizeof(float);
    float *buf = xaligned(n * sizeof(float));
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 7);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_seconds(), total = 0;
        #pragma omp parallel for schedule(static) reduction(+:total)
        for (size_t i = 0; i < n; i++) total += buf[i];
        double dt = now_seconds() - t0;
        if (total < 0) dt = 1e9; /* keeps the sum live */
        if (bytes / dt > best) best = bytes / dt;
    }
    free(buf);
    return best;
}

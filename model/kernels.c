#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define SIDR_X86 1
#endif

#include "threads.h"
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

/* ---- AVX-512 (BF16): bf16 weights -----------------------------------------------
 * Decode (T <= 3, needs AVX-512F/BW only) keeps f32 activations: 32 bf16
 * weights are loaded at once and split into their even and odd elements (a
 * shift and a mask give exact f32 values), which multiply an even/odd-
 * deinterleaved copy of x (see rows_bf16_avx512_* for the stream layout).
 *
 * Batches (T >= BF16_GEMM_MIN_T) use vdpbf16ps, the bf16 dot product with f32
 * accumulation that PyTorch's bf16 matmul also uses: activations are rounded
 * to bf16 (round to nearest even, as torch's .to(bfloat16)), products are
 * exact and summed in f32.  The weights are read in place from the mapping
 * (no widening, no packing): C^T = W X^T with W as the broadcast operand, two
 * bf16 of a row (one 32-bit word) at a time, and X packed once per call into
 * panels of 16 t-lanes per vector, pair-interleaved along k. */
#define AVX512BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")))

/* x[c..c+31] -> xe = x[c], x[c+2], ..., xo = x[c+1], x[c+3], ... per 32-block. */
AVX512_TARGET static void deinterleave32(float *xd, const float *x, int cols)
{
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int c = 0; c + 32 <= cols; c += 32) {
        __m512 a = _mm512_loadu_ps(x + c), b = _mm512_loadu_ps(x + c + 16);
        _mm512_storeu_ps(xd + c, _mm512_permutex2var_ps(a, ie, b));
        _mm512_storeu_ps(xd + c + 16, _mm512_permutex2var_ps(a, io, b));
    }
}

/* out[t][r] = W[r] . x[t] for r in [r0, r1) and NT (1..3) inputs; xd holds
 * each x[t] deinterleaved by 32-blocks (stride cols).  One row at a time:
 * each thread then reads one sequential stream, which this machine's
 * prefetchers serve at full speed (two or four interleaved row streams per
 * thread measured at half the bandwidth); four accumulators per input over
 * two 32-blocks per step hide the FMA latency.  Every input goes through the
 * same operations in the same order whatever NT is, so a row of a 3-row call
 * is bit-identical to the 1-row call. */
/* Software prefetch distance of the decode kernel, in bytes ahead of the
 * loads: the hardware prefetchers alone left the LM-head matvec at about 0.65
 * of the streaming bandwidth on a Zen 5 EPYC; 2 KB ahead gained ~7% decode
 * there (and crosses each 4 KB page before the stream reaches it). */
#ifndef SIDR_PF
#define SIDR_PF 2048
#endif
#define ROWS_BF16(NT)                                                                                    \
AVX512_TARGET static void rows_bf16_avx512_##NT(float *out, int ldo, const float *x, const float *xd,     \
                                                const uint16_t *W, int cols, int r0, int r1)             \
{                                                                                                        \
    const int c64 = cols & ~63, c32 = cols & ~31;                                                        \
    const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);                                              \
    for (int r = r0; r < r1; r++) {                                                                      \
        const uint16_t *w = W + (size_t)r * cols;                                                        \
        __m512 e0[NT], e1[NT], o0[NT], o1[NT];                                                           \
        _Pragma("GCC unroll 4") for (int t = 0; t < NT; t++)                                             \
            e0[t] = e1[t] = o0[t] = o1[t] = _mm512_setzero_ps();                                         \
        int c = 0;                                                                                       \
        for (; c < c64; c += 64) {                                                                       \
            if (SIDR_PF) {                                                                               \
                _mm_prefetch((const char *)(w + c) + SIDR_PF, _MM_HINT_T0);                              \
                _mm_prefetch((const char *)(w + c) + SIDR_PF + 64, _MM_HINT_T0);                         \
            }                                                                                            \
            __m512i a0 = _mm512_loadu_si512(w + c), a1 = _mm512_loadu_si512(w + c + 32);                 \
            __m512 we0 = _mm512_castsi512_ps(_mm512_slli_epi32(a0, 16));                                 \
            __m512 wo0 = _mm512_castsi512_ps(_mm512_and_si512(a0, hi));                                  \
            __m512 we1 = _mm512_castsi512_ps(_mm512_slli_epi32(a1, 16));                                 \
            __m512 wo1 = _mm512_castsi512_ps(_mm512_and_si512(a1, hi));                                  \
            _Pragma("GCC unroll 4") for (int t = 0; t < NT; t++) {                                       \
                const float *xt = xd + (size_t)t * cols + c;                                             \
                e0[t] = _mm512_fmadd_ps(we0, _mm512_loadu_ps(xt), e0[t]);                                \
                o0[t] = _mm512_fmadd_ps(wo0, _mm512_loadu_ps(xt + 16), o0[t]);                           \
                e1[t] = _mm512_fmadd_ps(we1, _mm512_loadu_ps(xt + 32), e1[t]);                           \
                o1[t] = _mm512_fmadd_ps(wo1, _mm512_loadu_ps(xt + 48), o1[t]);                           \
            }                                                                                            \
        }                                                                                                \
        for (; c < c32; c += 32) {                                                                       \
            __m512i a0 = _mm512_loadu_si512(w + c);                                                      \
            __m512 we0 = _mm512_castsi512_ps(_mm512_slli_epi32(a0, 16));                                 \
            __m512 wo0 = _mm512_castsi512_ps(_mm512_and_si512(a0, hi));                                  \
            _Pragma("GCC unroll 4") for (int t = 0; t < NT; t++) {                                       \
                const float *xt = xd + (size_t)t * cols + c;                                             \
                e0[t] = _mm512_fmadd_ps(we0, _mm512_loadu_ps(xt), e0[t]);                                \
                o0[t] = _mm512_fmadd_ps(wo0, _mm512_loadu_ps(xt + 16), o0[t]);                           \
            }                                                                                            \
        }                                                                                                \
        _Pragma("GCC unroll 4") for (int t = 0; t < NT; t++) {                                           \
            float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(e0[t], o0[t]),                  \
                                                           _mm512_add_ps(e1[t], o1[t])));                \
            const float *xt = x + (size_t)t * cols;                                                      \
            for (int cc = c; cc < cols; cc++) sum += sidr_bf16_to_f32(w[cc]) * xt[cc];                   \
            out[(size_t)t * ldo + r] = sum;                                                              \
        }                                                                                                \
    }                                                                                                    \
}
ROWS_BF16(1)
ROWS_BF16(2)
ROWS_BF16(3)

typedef void (*rows_bf16_fn)(float *out, int ldo, const float *x, const float *xd, const uint16_t *W, int cols,
                             int r0, int r1);
static const rows_bf16_fn rows_bf16_avx512[4] = { NULL, rows_bf16_avx512_1, rows_bf16_avx512_2,
                                                  rows_bf16_avx512_3 };

/* 16 x 16 transpose of 32-bit elements in registers. */
AVX512_TARGET static inline void transpose16x16(__m512i r[16])
{
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    /* u[4g + j] holds column j (mod 4) of rows 4g..4g+3 in each 128-bit lane. */
    for (int j = 0; j < 4; j++) {
        __m512i v0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
        __m512i v1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
        __m512i v3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
        r[j] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        r[j + 8] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
        r[j + 4] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        r[j + 12] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
    }
}

/* Packs rows t0..t0+15 of x (f32 [T][cols]) into xp: xp[p * lanes + lane0 + i]
 * = bf16 pair (x[t0+i][2p], x[t0+i][2p+1]) for pairs [p0, p1); rows >= T
 * are zero. */
AVX512BF16_TARGET static void pack16(uint32_t *xp, int lanes, int lane0, const float *x, int T, int cols, int t0,
                                     int p0, int p1)
{
    int p = p0;
    for (; p + 16 <= p1; p += 16) {
        __m512i r[16];
        for (int i = 0; i < 16; i++) {
            int t = t0 + i;
            if (t < T) {
                const float *row = x + (size_t)t * cols + 2 * p;
                r[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 16), _mm512_loadu_ps(row));
            } else {
                r[i] = _mm512_setzero_si512();
            }
        }
        transpose16x16(r);
        for (int j = 0; j < 16; j++) _mm512_storeu_si512(xp + (size_t)(p + j) * lanes + lane0, r[j]);
    }
    for (; p < p1; p++)
        for (int i = 0; i < 16; i++) {
            int t = t0 + i;
            uint32_t v = 0;
            if (t < T) {
                const float *row = x + (size_t)t * cols + 2 * p;
                v = sidr_f32_to_bf16(row[0]) | (uint32_t)sidr_f32_to_bf16(row[1]) << 16;
            }
            xp[(size_t)p * lanes + lane0 + i] = v;
        }
}

/* Rows of W per micro-kernel call. */
#define GEMM_MR 6

/* tile[i][v*16 + lane] = sum_p W[row i] pair p . xp[p][v*16 + lane] for
 * GEMM_MR rows (w[i] points at each row) and NV vectors of 16 t-lanes. */
#define GEMM_UKR(NV)                                                                                     \
AVX512BF16_TARGET static void ukr_bf16_##NV(float *tile, const uint16_t *const *w, const uint32_t *xp,   \
                                             int n_pairs)                                              \
{                                                                                                       \
    __m512 acc[GEMM_MR][NV];                                                                            \
    _Pragma("GCC unroll 8") for (int i = 0; i < GEMM_MR; i++)                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();           \
    const char *wr[GEMM_MR];                                                                            \
    _Pragma("GCC unroll 8") for (int i = 0; i < GEMM_MR; i++) wr[i] = (const char *)w[i];               \
    for (int p = 0; p < n_pairs; p++) {                                                                 \
        __m512bh xv[NV];                                                                                \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                            \
            xv[v] = (__m512bh)_mm512_loadu_si512(xp + (size_t)p * (NV * 16) + v * 16);                  \
        _Pragma("GCC unroll 8") for (int i = 0; i < GEMM_MR; i++) {                                     \
            int32_t sc;                                                                                 \
            memcpy(&sc, wr[i] + 4 * (size_t)p, 4);                                                      \
            __m512bh b = (__m512bh)_mm512_set1_epi32(sc);                                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                        \
                acc[i][v] = _mm512_dpbf16_ps(acc[i][v], b, xv[v]);                                      \
        }                                                                                               \
    }                                                                                                   \
    _Pragma("GCC unroll 8") for (int i = 0; i < GEMM_MR; i++)                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                            \
            _mm512_storeu_ps(tile + i * 64 + v * 16, acc[i][v]);                                        \
}
GEMM_UKR(1)
GEMM_UKR(2)
GEMM_UKR(3)
GEMM_UKR(4)

typedef void (*ukr_fn)(float *tile, const uint16_t *const *w, const uint32_t *xp, int n_pairs);
static const ukr_fn ukr_bf16[5] = { NULL, ukr_bf16_1, ukr_bf16_2, ukr_bf16_3, ukr_bf16_4 };

static _Thread_local uint32_t *xp_buf;
static _Thread_local size_t xp_cap;

typedef struct {
    float *out;
    const float *x;
    const uint16_t *W;
    uint32_t *xp;
    int T, rows, cols, n_pairs, n_blocks, n_pc;
} gemm_job;

/* Pairs per packing task. */
#define PACK_CHUNK 256

static void gemm_pack_task(void *arg, int j0, int j1, int thread)
{
    const gemm_job *g = arg;
    (void)thread;
    for (int job = j0; job < j1; job++) {
        int sb = job / g->n_pc, pc = job % g->n_pc;
        int b = sb / 4, left = g->T - 64 * b, lanes = left >= 64 ? 64 : ((left + 15) / 16) * 16;
        int p0 = pc * PACK_CHUNK, p1 = p0 + PACK_CHUNK < g->n_pairs ? p0 + PACK_CHUNK : g->n_pairs;
        pack16(g->xp + (size_t)b * 64 * g->n_pairs, lanes, (sb % 4) * 16, g->x, g->T, g->cols, sb * 16, p0, p1);
    }
}

/* t-blocks (of 64 inputs) per pass over the weights. */
#define GEMM_BLOCKS_PER_PASS 4

/* Row groups [g0, g1): each group of GEMM_MR rows meets the t-blocks of a
 * pass while its rows are in cache, so W is read from memory once per pass
 * of up to 256 inputs, and that pass's packed inputs (256 x cols bf16) stay
 * in L2/L3 however long the prompt is. */
static void gemm_rows_task(void *arg, int g0, int g1, int thread)
{
    const gemm_job *g = arg;
    float tile[GEMM_MR * 64] __attribute__((aligned(64)));
    (void)thread;
    for (int bp = 0; bp < g->n_blocks; bp += GEMM_BLOCKS_PER_PASS) {
        int be = bp + GEMM_BLOCKS_PER_PASS < g->n_blocks ? bp + GEMM_BLOCKS_PER_PASS : g->n_blocks;
        for (int grp = g0; grp < g1; grp++) {
            int r0 = grp * GEMM_MR, mr = g->rows - r0 < GEMM_MR ? g->rows - r0 : GEMM_MR;
            const uint16_t *w[GEMM_MR];
            for (int i = 0; i < GEMM_MR; i++) w[i] = g->W + (size_t)(r0 + (i < mr ? i : mr - 1)) * g->cols;
            for (int b = bp; b < be; b++) {
                int t0 = 64 * b, nt = g->T - t0 < 64 ? g->T - t0 : 64, nv = (nt + 15) / 16;
                ukr_bf16[nv](tile, w, g->xp + (size_t)b * 64 * g->n_pairs, g->n_pairs);
                for (int t = 0; t < nt; t++) {
                    float *o = g->out + (size_t)(t0 + t) * g->rows + r0;
                    for (int i = 0; i < mr; i++) o[i] = tile[i * 64 + t];
                }
            }
        }
    }
}

/* out[t][r] = W[r] . bf16(x[t]) over bf16 W [rows][cols], cols even. */
static void gemm_bf16_avx512(float *out, const float *x, const uint16_t *W, int T, int rows, int cols)
{
    gemm_job g = { out, x, W, NULL, T, rows, cols, cols / 2, (T + 63) / 64, 0 };
    g.n_pc = (g.n_pairs + PACK_CHUNK - 1) / PACK_CHUNK;
    /* t-blocks of up to 64 lanes (4 vectors); block b starts at t = 64 b. */
    size_t need = (size_t)g.n_blocks * 64 * g.n_pairs;
    if (xp_cap < need) {
        free(xp_buf);
        xp_buf = xaligned(need * sizeof(uint32_t));
        xp_cap = need;
    }
    g.xp = xp_buf;
    int n_sub = (T + 15) / 16;  /* 16-lane sub-blocks to pack */
    sidr_parallel_for(n_sub * g.n_pc, gemm_pack_task, &g);
    sidr_parallel_for((rows + GEMM_MR - 1) / GEMM_MR, gemm_rows_task, &g);
}
#endif

static void widen_portable(float *dst, const void *src, sidr_dtype dt, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = load_scalar(src, dt, i);
}

/* ---- small vector helpers (attention) ------------------------------------- */

static float dot_portable(const float *a, const float *b, int n)
{
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy_portable(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

#ifdef SIDR_X86
AVX512_TARGET static float dot_avx512(const float *a, const float *b, int n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    if (i + 16 <= n) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        i += 16;
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

AVX512_TARGET static void axpy_avx512(float *y, float a, const float *x, int n)
{
    __m512 av = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

AVX2_TARGET static float dot_avx2(const float *a, const float *b, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

AVX2_TARGET static void axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 av = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#endif

/* ---- dispatch --------------------------------------------------------------- */

typedef void (*widen_fn)(float *dst, const void *src, sidr_dtype dt, size_t n);

static struct {
    const char *name;
    rows_fn rows;
    widen_fn widen;
    float (*dot)(const float *, const float *, int);
    void (*axpy)(float *, float, const float *, int);
    int avx512;      /* the AVX-512 decode kernel for bf16 weights */
    int bf16_dot;    /* vdpbf16ps batches for bf16 weights */
} K = { NULL, rows_portable, widen_portable, dot_portable, axpy_portable, 0, 0 };

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
    int bf16 = avx512 && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512dq");
    if (force && !strcmp(force, "portable")) avx2 = avx512 = bf16 = 0;
    if (force && !strcmp(force, "avx2")) avx512 = bf16 = 0;
    if (force && !strcmp(force, "avx512")) bf16 = 0;
    if (avx512) {
        K.name = bf16 ? "avx512-bf16" : "avx512";
        K.rows = rows_avx512;
        K.widen = widen_avx512;
        K.dot = dot_avx512;
        K.axpy = axpy_avx512;
    } else if (avx2) {
        K.name = "avx2";
        K.rows = rows_avx2;
        K.widen = widen_avx2;
        K.dot = dot_avx2;
        K.axpy = axpy_avx2;
    }
    K.avx512 = avx512;
    K.bf16_dot = bf16;
#endif
    return K.name;
}

const char *sidr_kernels_name(void) { return sidr_kernels_init(); }

float sidr_dot(const float *a, const float *b, int n)
{
    sidr_kernels_init();
    return K.dot(a, b, n);
}

void sidr_axpy(float *y, float a, const float *x, int n)
{
    sidr_kernels_init();
    K.axpy(y, a, x, n);
}

void sidr_to_f32(float *dst, const void *src, sidr_dtype dtype, size_t n)
{
    sidr_kernels_init();
    K.widen(dst, src, dtype, n);
}

/* Rows per parallel work unit. */
#define ROW_CHUNK 16
/* Below this many weights a matmul runs on the calling thread. */
#define PARALLEL_MIN 32768
/* Row chunks a thread claims at a time when the row kernels run a batch:
 * 128 rows, a long enough stream for the prefetchers. */
#define CLAIM_CHUNKS 8

/* Decode (up to 3 inputs) keeps one contiguous share per thread, a single
 * stream each, which measured faster; batches claim chunks, so that a core
 * taken by another process does not hold the other back (+10% exact
 * prefill on a shared Zen 5 host). */
static void rows_dispatch(int n_chunks, int T, sidr_range_fn fn, void *job)
{
    if (T <= 3) sidr_parallel_for(n_chunks, fn, job);
    else sidr_parallel_claim(n_chunks, CLAIM_CHUNKS, fn, job);
}
/* From this many inputs on, widening W and running sgemm beats streaming. */
#define SGEMM_MIN_T 8
/* From this many inputs on, bf16 weights use the vdpbf16ps kernel. */
#define BF16_GEMM_MIN_T 4

static _Thread_local float *widen_buf;
static _Thread_local size_t widen_cap;
static _Thread_local float *xd_buf;
static _Thread_local size_t xd_cap;

typedef struct {
    float *out;
    const float *x, *xd;
    const void *W;
    sidr_dtype dtype;
    int T, rows, cols;
    int part_rows;          /* sgemm tasks: rows per part */
} mm_job;

static void chunk_range(const mm_job *j, int c0, int c1, int *r0, int *r1)
{
    *r0 = c0 * ROW_CHUNK;
    *r1 = c1 * ROW_CHUNK < j->rows ? c1 * ROW_CHUNK : j->rows;
}

static void rows_task(void *arg, int c0, int c1, int thread)
{
    const mm_job *j = arg;
    int r0, r1;
    (void)thread;
    chunk_range(j, c0, c1, &r0, &r1);
    K.rows(j->out, j->rows, j->x, j->W, j->dtype, j->T, j->cols, r0, r1);
}

#ifdef SIDR_X86
/* Any T in groups of up to three inputs: the kernel treats each input the
 * same whatever the group, so the grouping never shows in the results. */
static void rows_bf16_task(void *arg, int c0, int c1, int thread)
{
    const mm_job *j = arg;
    int r0, r1;
    (void)thread;
    chunk_range(j, c0, c1, &r0, &r1);
    for (int t0 = 0; t0 < j->T; t0 += 3) {
        int nt = j->T - t0 < 3 ? j->T - t0 : 3;
        size_t off = (size_t)t0 * j->cols;
        rows_bf16_avx512[nt](j->out + (size_t)t0 * j->rows, j->rows, j->x + off, j->xd + off, j->W, j->cols, r0, r1);
    }
}
#endif

/* One part of the rows through single-threaded sgemm; f16 (and bf16 without
 * bf16 dot products) are widened block by block into a per-thread buffer
 * small enough to stay in L2 while sgemm consumes it. */
static void sgemm_task(void *arg, int p0, int p1, int thread)
{
    const mm_job *j = arg;
    (void)thread;
    for (int p = p0; p < p1; p++) {
        int r0 = p * j->part_rows, r1 = r0 + j->part_rows < j->rows ? r0 + j->part_rows : j->rows;
        if (r0 >= r1) continue;
        if (j->dtype == SIDR_F32) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, r1 - r0, j->cols, 1.0f, j->x, j->cols,
                        (const float *)j->W + (size_t)r0 * j->cols, j->cols, 0.0f, j->out + r0, j->rows);
            continue;
        }
        int block = (int)((512u << 10) / (sizeof(float) * (size_t)j->cols));
        if (block < 16) block = 16;
        size_t need = (size_t)block * j->cols, esz = sidr_dtype_size(j->dtype);
        if (widen_cap < need) {
            free(widen_buf);
            widen_buf = xaligned(need * sizeof(float));
            widen_cap = need;
        }
        for (int b0 = r0; b0 < r1; b0 += block) {
            int nb = r1 - b0 < block ? r1 - b0 : block;
            K.widen(widen_buf, (const char *)j->W + (size_t)b0 * j->cols * esz, j->dtype, (size_t)nb * j->cols);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, nb, j->cols, 1.0f, j->x, j->cols,
                        widen_buf, j->cols, 0.0f, j->out + b0, j->rows);
        }
    }
}

/* Which kernel a product of T inputs over dtype weights takes (sidr_matmul
 * and sidr_matmul_group share it, so a group never takes another path than
 * its calls would). */
typedef enum { MM_ROWS, MM_ROWS_BF16, MM_GEMM_BF16, MM_SGEMM } mm_path;

static mm_path mm_choose(sidr_dtype dtype, int T, int cols, sidr_numerics nm)
{
    int fast = nm == SIDR_NUMERICS_FAST;
#ifdef SIDR_X86
    if (fast && dtype == SIDR_BF16 && K.bf16_dot && T >= BF16_GEMM_MIN_T && cols % 2 == 0) return MM_GEMM_BF16;
    if (dtype == SIDR_BF16 && K.avx512 && (T <= 3 || !fast)) return MM_ROWS_BF16;
#else
    (void)cols;
#endif
    return T < SGEMM_MIN_T || !fast ? MM_ROWS : MM_SGEMM;
}

#ifdef SIDR_X86
/* x [T][cols] deinterleaved by 32-blocks for rows_bf16_avx512, in this
 * thread's buffer. */
static const float *deinterleaved(const float *x, int T, int cols)
{
    size_t need = (size_t)T * cols;
    if (xd_cap < need) {
        free(xd_buf);
        xd_buf = xaligned(need * sizeof(float));
        xd_cap = need;
    }
    for (int t = 0; t < T; t++) deinterleave32(xd_buf + (size_t)t * cols, x + (size_t)t * cols, cols);
    return xd_buf;
}
#endif

/* ---- several products of one input in one dispatch ------------------------- */

typedef struct {
    const sidr_mm_part *p;
    int n;
    const float *x, *xd;
    int T, cols, bf16_rows;     /* bf16_rows: the parts go through rows_bf16_avx512 */
    int first[SIDR_MM_GROUP_MAX + 1];  /* first chunk of each part */
} group_job;

static void group_task(void *arg, int c0, int c1, int thread)
{
    const group_job *g = arg;
    (void)thread;
    for (int i = 0; i < g->n; i++) {
        int a = c0 > g->first[i] ? c0 : g->first[i], b = c1 < g->first[i + 1] ? c1 : g->first[i + 1];
        if (a >= b) continue;
        const sidr_mm_part *p = &g->p[i];
        mm_job j = { p->out, g->x, g->xd, p->W, p->dtype, g->T, p->rows, g->cols, 0 };
#ifdef SIDR_X86
        if (g->bf16_rows) {
            rows_bf16_task(&j, a - g->first[i], b - g->first[i], thread);
            continue;
        }
#endif
        rows_task(&j, a - g->first[i], b - g->first[i], thread);
    }
}

void sidr_matmul_group(const sidr_mm_part *p, int n, const float *x, int T, int cols, sidr_numerics nm)
{
    sidr_kernels_init();
    /* The row kernels compute every output row on its own, so a group gives
     * the results of separate calls; the batched paths go call by call. */
    mm_path path = n > 0 ? mm_choose(p[0].dtype, T, cols, nm) : MM_SGEMM;
    int grouped = n <= SIDR_MM_GROUP_MAX && (path == MM_ROWS || path == MM_ROWS_BF16);
    size_t work = 0;
    for (int i = 0; i < n; i++) {
        grouped &= p[i].dtype == p[0].dtype;
        work += (size_t)p[i].rows * cols * (size_t)(T < 8 ? T : 8);
    }
    if (!grouped || work <= PARALLEL_MIN) {
        for (int i = 0; i < n; i++) sidr_matmul(p[i].out, x, p[i].W, p[i].dtype, T, p[i].rows, cols, nm);
        return;
    }
    group_job g = { p, n, x, NULL, T, cols, path == MM_ROWS_BF16, { 0 } };
    for (int i = 0; i < n; i++) g.first[i + 1] = g.first[i] + (p[i].rows + ROW_CHUNK - 1) / ROW_CHUNK;
#ifdef SIDR_X86
    if (g.bf16_rows) g.xd = deinterleaved(x, T, cols);
#endif
    rows_dispatch(g.first[n], T, group_task, &g);
}

const char *sidr_numerics_name(sidr_numerics nm)
{
    return nm == SIDR_NUMERICS_FAST ? "fast" : "exact";
}

int sidr_numerics_parse(const char *s)
{
    if (s && !strcmp(s, "exact")) return SIDR_NUMERICS_EXACT;
    if (s && !strcmp(s, "fast")) return SIDR_NUMERICS_FAST;
    return -1;
}

void sidr_matmul(float *out, const float *x, const void *W, sidr_dtype dtype, int T, int rows, int cols,
                 sidr_numerics nm)
{
    sidr_kernels_init();
    mm_job j = { out, x, NULL, W, dtype, T, rows, cols, 0 };
    int n_chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
    /* small products stay on this thread; the inputs count too, now that exact
     * runs batches of any size through the row kernels */
    int serial = (size_t)rows * cols * (size_t)(T < 8 ? T : 8) <= PARALLEL_MIN;
    mm_path path = mm_choose(dtype, T, cols, nm);
#ifdef SIDR_X86
    if (path == MM_GEMM_BF16) {
        gemm_bf16_avx512(out, x, W, T, rows, cols);
        return;
    }
    if (path == MM_ROWS_BF16) {
        j.xd = deinterleaved(x, T, cols);
        if (serial) rows_bf16_task(&j, 0, n_chunks, 0);
        else rows_dispatch(n_chunks, T, rows_bf16_task, &j);
        return;
    }
#endif
    if (path == MM_ROWS) {
        if (serial) rows_task(&j, 0, n_chunks, 0);
        else rows_dispatch(n_chunks, T, rows_task, &j);
        return;
    }
    /* One part per thread, in whole chunks of rows. */
    int nt = sidr_threads_count();
    j.part_rows = ((rows + nt - 1) / nt + ROW_CHUNK - 1) / ROW_CHUNK * ROW_CHUNK;
    sidr_parallel_for((rows + j.part_rows - 1) / j.part_rows, sgemm_task, &j);
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

/* ---- memory bandwidth ---------------------------------------------------------
 * Streaming read of a buffer far larger than the last-level cache: every
 * thread sums its own contiguous share with full-width vector loads into
 * eight independent accumulators, so neither the add latency nor a single
 * core's load queue limits the rate. */

static float read_portable(const float *p, size_t n)
{
    float a[8] = { 0 };
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

#ifdef SIDR_X86
AVX512_TARGET static float read_avx512(const float *p, size_t n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
        a4 = _mm512_add_ps(a4, _mm512_load_ps(p + i + 64));
        a5 = _mm512_add_ps(a5, _mm512_load_ps(p + i + 80));
        a6 = _mm512_add_ps(a6, _mm512_load_ps(p + i + 96));
        a7 = _mm512_add_ps(a7, _mm512_load_ps(p + i + 112));
    }
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                       _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    return _mm512_reduce_add_ps(a0);
}

/* The access pattern of the bf16 decode kernel (one stream, 128 bytes per
 * step, light arithmetic in between), which here streams about 10% faster
 * than the pure load-and-add loop above. */
AVX512_TARGET static float read_avx512_dot(const float *p, size_t n)
{
    const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e0 = _mm512_setzero_ps(), e1 = e0, o0 = e0, o1 = e0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        __m512i a0 = _mm512_load_si512(p + i), a1 = _mm512_load_si512(p + i + 16);
        e0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(a0, 16)), one, e0);
        o0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(a0, hi)), one, o0);
        e1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(a1, 16)), one, e1);
        o1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(a1, hi)), one, o1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(e0, o0), _mm512_add_ps(e1, o1)));
}

AVX2_TARGET static float read_avx2(const float *p, size_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i + 64 <= n; i += 64) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
        a4 = _mm256_add_ps(a4, _mm256_load_ps(p + i + 32));
        a5 = _mm256_add_ps(a5, _mm256_load_ps(p + i + 40));
        a6 = _mm256_add_ps(a6, _mm256_load_ps(p + i + 48));
        a7 = _mm256_add_ps(a7, _mm256_load_ps(p + i + 56));
    }
    a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                       _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    return hsum8(a0);
}
#endif

typedef float (*read_fn)(const float *, size_t);

typedef struct {
    float *buf;
    size_t n_pages, page_floats;
    read_fn read;
    float sums[256];
} bw_job;

/* First touch by the thread that later reads the page. */
static void bw_touch(void *arg, int p0, int p1, int thread)
{
    bw_job *b = arg;
    (void)thread;
    for (size_t pg = (size_t)p0; pg < (size_t)p1; pg++) {
        float *q = b->buf + pg * b->page_floats;
        for (size_t i = 0; i < b->page_floats; i++) q[i] = (float)(i & 7);
    }
}

static void bw_read(void *arg, int p0, int p1, int thread)
{
    bw_job *b = arg;
    b->sums[thread & 255] += b->read(b->buf + (size_t)p0 * b->page_floats, (size_t)(p1 - p0) * b->page_floats);
}

double sidr_measure_bandwidth(size_t bytes)
{
    const char *kn = sidr_kernels_init();
    bw_job b;
    memset(&b, 0, sizeof b);
    /* The best of up to two read loops: what a streaming kernel can get. */
    read_fn loops[2] = { read_portable, NULL };
#ifdef SIDR_X86
    if (!strncmp(kn, "avx512", 6)) { loops[0] = read_avx512; loops[1] = read_avx512_dot; }
    else if (!strcmp(kn, "avx2")) loops[0] = read_avx2;
#endif
    (void)kn;
    size_t page = 4096, n = bytes / page * page;
    if (n < (16u << 20)) n = 16u << 20;
    if (n / page > (size_t)1 << 30) n = page << 30;
    b.buf = xaligned(n);
    b.n_pages = n / page;
    b.page_floats = page / sizeof(float);
    /* Pages are handed out by thread in the same contiguous ranges every time. */
    sidr_parallel_for((int)b.n_pages, bw_touch, &b);
    double best = 0;
    for (int rep = 0; rep < 8; rep++) {
        b.read = loops[rep & 1] ? loops[rep & 1] : loops[0];
        double t0 = now_seconds();
        sidr_parallel_for((int)b.n_pages, bw_read, &b);
        double dt = now_seconds() - t0;
        if (n / dt > best) best = n / dt;
    }
    volatile float sink = 0;
    for (int i = 0; i < 256; i++) sink += b.sums[i]; /* keeps the sums live */
    (void)sink;
    free(b.buf);
    return best;
}

/* The numeric kernels the forward and backward passes are built from.
 * Weights stay in their file dtype (f32, bf16, f16); the kernels widen them
 * to f32 in registers.  The vector path (AVX-512 with BF16, AVX2+FMA+F16C,
 * portable C) is chosen once at run time from the CPU. */
#ifndef SIDR_KERNELS_H
#define SIDR_KERNELS_H

#include <stddef.h>

#include "safetensors.h"

/* Selects the kernel set for this CPU (idempotent) and returns its name. */
const char *sidr_kernels_init(void);
const char *sidr_kernels_name(void);

/* The numerics policy of a run.  EXACT keeps activations in f32 and widens
 * bf16/f16 weights exactly; every output element is one dot product summed
 * in an order fixed by cols alone, so a row's result does not depend on how
 * many rows share the call (decode, prefill of any length or chunking, a
 * beam of any width give bit-identical logits for the same position).
 * FAST rounds activations to bf16 for batches over bf16 weights
 * (vdpbf16ps, as PyTorch's and llama.cpp's bf16 matmuls do): quicker
 * prefill, results within bf16's drift, and a row's last bits depend on
 * its batch. */
typedef enum { SIDR_NUMERICS_EXACT = 0, SIDR_NUMERICS_FAST = 1 } sidr_numerics;
const char *sidr_numerics_name(sidr_numerics nm);
/* "exact" or "fast"; -1 otherwise. */
int sidr_numerics_parse(const char *s);

/* out[t][r] = sum_c x[t][c] * W[r][c]  for t < T, r < rows.
 * W is [rows][cols] in dtype.  Vector kernels stream W across all cores;
 * under FAST, large T widens W in blocks for cblas_sgemm (f32, f16) or runs
 * the vdpbf16ps GEMM (bf16). */
void sidr_matmul(float *out, const float *x, const void *W, sidr_dtype dtype,
                 int T, int rows, int cols, sidr_numerics nm);

/* One output of a group: out[t][r] = x[t] . W[r], W [rows][cols] in dtype. */
typedef struct {
    float *out;
    const void *W;
    sidr_dtype dtype;
    int rows;
} sidr_mm_part;
#define SIDR_MM_GROUP_MAX 4
/* The products of one input x [T][cols] with up to SIDR_MM_GROUP_MAX
 * matrices (q/k/v, gate/up) in one dispatch over the threads where the row
 * kernels run (decode), one stream of rows after another; bit-identical to
 * separate sidr_matmul calls. */
void sidr_matmul_group(const sidr_mm_part *p, int n, const float *x, int T, int cols, sidr_numerics nm);

/* sum_i a[i] * b[i] and y[i] += a * x[i] over f32, vectorised (attention
 * over the KV cache: scores and the weighted sum of values). */
float sidr_dot(const float *a, const float *b, int n);
void sidr_axpy(float *y, float a, const float *x, int n);

/* Widens n elements of src (dtype) to f32. */
void sidr_to_f32(float *dst, const void *src, sidr_dtype dtype, size_t n);

/* y = x * w / rms(x) over n elements. */
void sidr_rmsnorm(float *y, const float *x, const float *w, int n, float eps);
/* In-place softmax over n elements. */
void sidr_softmax(float *x, int n);
/* log-softmax into out; returns the log normaliser. */
float sidr_log_softmax(float *out, const float *x, int n);

/* Measured memory bandwidth for bench (bytes/s, streaming read). */
double sidr_measure_bandwidth(size_t bytes);

#endif

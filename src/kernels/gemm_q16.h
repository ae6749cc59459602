/* gemm_q16.h: an int16 GEMM for inference, C (f32) = A * B with both
 * operands quantised to 16-bit integers on the fly.
 *
 * Why: wasm SIMD has no fused multiply-add for floats, but it has
 * i32x4.dot_i16x8_s, which multiplies 8 pairs of int16 and adds neighbours
 * into 4 int32 lanes: 8 multiply-adds in 2 instructions (dot + add) against
 * 4 for f32x4 mul + add. The Winograd convolutions' 16 or 36 GEMMs per layer
 * are most of a forward pass, so inference runs them in int16
 * (winograd4.c); training keeps float32 everywhere.
 *
 * Scales: A (the transformed weights) gets one scale per row (output
 * channel), B (the transformed input tiles) one per column (tile), so a
 * dim tile or a small channel keeps its own resolution. C[i][j] = acc[i][j]
 * * rowscale[i] * colscale[j], exact up to the rounding of each operand to
 * its grid. The grid is as fine as int32 allows without overflow for any
 * input: K products of at most q*q each must stay under 2^31, so q =
 * sqrt(2^31 / K) (11,585 levels for K = 16, 4,096 for K = 128). */
#ifndef FM_GEMM_Q16_H
#define FM_GEMM_Q16_H

#include <stddef.h>
#include <stdint.h>

#include "simd.h"

/* Levels each side of zero for a K-long dot product (K rounded up to even). */
int fm_q16_levels(int K);

/* The largest |x[i]| of n floats (0 for none): a line's scale is this / q. */
float fm_q16_max_abs(const float *x, int n);

/* x[0..8) * inv rounded to the nearest integer (ties to even, as
 * nearbyintf) as 8 int16 in order: x * inv + 1.5 * 2^23 leaves the integer's
 * two's complement in the float's low 16 bits (|x * inv| <= q < 2^15), and
 * one shuffle gathers them from the two vectors. */
static inline v128_t fm_q16_round8(const float *x, v128_t inv) {
  v128_t magic = wasm_f32x4_splat(12582912.0f);
  v128_t a = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x), inv), magic);
  v128_t b = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + 4), inv), magic);
  return wasm_i8x16_shuffle(a, b, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
}

/* Packed sizes, in int16: A as [ceil(M/4)][K2][4][2], B as [K2][N8][2]
 * (K2 = ceil(K/2), N8 = N rounded up to 8); zero padded. */
size_t fm_q16_a_size(int M, int K);
size_t fm_q16_b_size(int K, int N);
/* Floats of A's row scales: M rounded up to the 4-row panels. */
static inline size_t fm_q16_a_scales(int M) { return (size_t)(M + 3) / 4 * 4; }

/* A(i,k) = A[i*lda + k] (M x K) quantised row by row into pa, rowscale[M]. */
void fm_q16_pack_a(int M, int K, const float *A, ptrdiff_t lda, int16_t *pa, float *rowscale);
/* B(k,j) = B[k*ldb + j] (K x N) quantised column by column into pb,
 * colscale[N8] (zero for the padding columns). With ldb >= N8 the rows'
 * slack up to N8 is read (and masked off), so it must be readable memory. */
void fm_q16_pack_b(int K, int N, const float *B, ptrdiff_t ldb, int16_t *pb, float *colscale);

/* C (M x N8, row stride ldc >= N8) = dequantised pa * pb. Every one of the
 * N8 columns is written, so C's rows need room for them. */
void fm_gemm_q16(int M, int N, int K, const int16_t *pa, const float *rowscale, const int16_t *pb,
                 const float *colscale, float *C, ptrdiff_t ldc);

/* The same, added to C: C += dequantised pa * pb (a dense layer's K slices,
 * each with its own scales, summed in float). */
void fm_gemm_q16_add(int M, int N, int K, const int16_t *pa, const float *rowscale, const int16_t *pb,
                     const float *colscale, float *C, ptrdiff_t ldc);

/* Scalar reference of the whole thing (quantise, multiply, dequantise) for
 * tests: the same numbers exactly, since integer sums do not round. */
void fm_gemm_q16_ref(int M, int N, int K, const float *A, ptrdiff_t lda, const float *B,
                     ptrdiff_t ldb, float *C, ptrdiff_t ldc);

#endif

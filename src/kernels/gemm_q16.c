/* gemm_q16.c: the int16 inference GEMM (gemm_q16.h): quantisers that pack
 * the operands into the micro-kernel's layouts, and a 4x8 micro-kernel on
 * i32x4.dot_i16x8_s.
 *
 * Layouts (int16): A as 4-row panels, each k pair of a row side by side,
 *   pa[p][k2][r][0..1] = A(4p + r, 2 k2 .. 2 k2 + 1),
 * so one 128-bit load gives the 4 rows' pairs; B as rows of k pairs,
 *   pb[k2][j][0..1] = B(2 k2 .. 2 k2 + 1, j),
 * so one 128-bit load gives 4 columns' pairs. dot(a row's pair in every
 * lane, b) is then 4 columns' partial sums of one row. The row's pair is
 * put in every lane by v128.load32_splat, which x64 (vbroadcastss) and
 * arm64 (ld1r) do on a load port, so the vector ALUs do only the dots and
 * their adds: on an Intel Xeon (Sapphire Rapids) this made whole models'
 * inference in wasm x1.055 (cnn-small) and x1.076 (cnn-bn) faster than one
 * 128-bit load of the panel spread by four pshufd, which compete with the
 * dots and adds for the same three vector ports (GEMMs alone: x1.03-1.12).
 * On an AMD EPYC an earlier micro-benchmark had the shuffles ahead (56-70%
 * of the dot_i16x8 peak against 49%, bench/kernels.c, 64x104x32); whole
 * models were not compared there. Unrolling the k loop by two gained
 * nothing (V8 checks the stack at every loop back edge either way). */
#include "gemm_q16.h"

#include <math.h>

#include "../common.h"
#include "simd.h"

int fm_q16_levels(int K) {
  int K2 = (K + 1) / 2 * 2;
  int q = (int)sqrt(2147483647.0 / (K2 > 0 ? K2 : 1));
  return q > 32767 ? 32767 : q;
}

size_t fm_q16_a_size(int M, int K) { return (size_t)((M + 3) / 4) * ((K + 1) / 2) * 8; }
size_t fm_q16_b_size(int K, int N) { return (size_t)((K + 1) / 2) * ((N + 7) / 8 * 8) * 2; }

/* The grid step for a largest magnitude m (0 for an all-zero line). */
static float step_of(float m, int q) { return m > 0 ? m / (float)q : 0.0f; }
static float inv_of(float m, int q) { return m > 0 ? (float)q / m : 0.0f; }

static int16_t quant(float v, float inv) { return (int16_t)nearbyintf(v * inv); }

float fm_q16_max_abs(const float *x, int n) {
  v128_t m = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + i)));
  float r = fmaxf(fmaxf(wasm_f32x4_extract_lane(m, 0), wasm_f32x4_extract_lane(m, 1)),
                  fmaxf(wasm_f32x4_extract_lane(m, 2), wasm_f32x4_extract_lane(m, 3)));
  for (; i < n; i++) r = fmaxf(r, fabsf(x[i]));
  return r;
}

/* A's rows are quantised 8 k at a time, 4 rows at once: each row's 8 values
 * rounded by fm_q16_round8 (as pack_b rounds), read as 4 int32 lanes of k
 * pairs, then the 4 rows' lanes transposed so that
 * each k pair's 4 rows are side by side. A dense layer's activations are
 * packed on every call, so this is a hot loop there (3,136 values an image
 * for cnn-small); the weights are packed once. */
void fm_q16_pack_a(int M, int K, const float *A, ptrdiff_t lda, int16_t *pa, float *rowscale) {
  int q = fm_q16_levels(K), K2 = (K + 1) / 2, M4 = (M + 3) / 4 * 4;
  v128_t zero = wasm_f32x4_splat(0);
  float inv[4];
  for (int i0 = 0; i0 < M4; i0 += 4) {
    for (int r = 0; r < 4; r++) {
      float m = i0 + r < M ? fm_q16_max_abs(A + (i0 + r) * lda, K) : 0;
      inv[r] = inv_of(m, q);
      rowscale[i0 + r] = step_of(m, q);
    }
    int16_t *p = pa + (size_t)(i0 / 4) * K2 * 8;
    int k = 0;
    for (; k + 8 <= K; k += 8) {
      v128_t rows[4];
      for (int r = 0; r < 4; r++) /* lane t: pair t */
        rows[r] = i0 + r < M ? fm_q16_round8(A + (i0 + r) * lda + k, wasm_f32x4_splat(inv[r])) : zero;
      fm_transpose4(rows); /* 32-bit lanes: each an int16 pair */
      int16_t *o = p + (size_t)(k / 2) * 8;
      for (int r = 0; r < 4; r++) wasm_v128_store(o + 8 * r, rows[r]);
    }
    for (int r = 0; r < 4; r++) { /* the last k pairs (K not a multiple of 8) */
      int i = i0 + r;
      for (int k2 = k / 2; k2 < K2; k2++) {
        int kk = 2 * k2;
        p[k2 * 8 + r * 2] = i < M ? quant(A[i * lda + kk], inv[r]) : 0;
        p[k2 * 8 + r * 2 + 1] = i < M && kk + 1 < K ? quant(A[i * lda + kk + 1], inv[r]) : 0;
      }
    }
  }
}

/* 4 columns' 1 / step (q / m where their largest |B| m > 0, else 0: the
 * lane's column is all zeros), their steps stored in colscale. */
static inline v128_t col_inv(v128_t m, v128_t vq, float *colscale) {
  v128_t nz = wasm_f32x4_gt(m, wasm_f32x4_splat(0));
  wasm_v128_store(colscale, wasm_v128_and(wasm_f32x4_div(m, vq), nz));
  return wasm_v128_and(wasm_f32x4_div(vq, wasm_v128_bitselect(m, vq, nz)), nz);
}

/* Columns j .. j+8 of B into pb: their largest |B| over the K rows, then
 * the rows two by two, rounded and interleaved into pairs. With masked,
 * lanes m0/m1 clear pick the columns that exist (the loads read the row's
 * slack past them, which the caller guarantees), the rest quantised as
 * zero columns. Rounding to the nearest integer (ties to even, as
 * nearbyintf) by adding 1.5 * 2^23: the float's low 16 bits are then the
 * integer's two's complement (|v| <= q < 2^15), so one row masked and the
 * next shifted up make the interleaved pairs. */
static inline __attribute__((always_inline)) void pack_b8(int K, const float *B, ptrdiff_t ldb, int j,
                                                          int N8, int16_t *pb, float *colscale, v128_t vq,
                                                          int masked, v128_t m0, v128_t m1) {
  v128_t zero = wasm_f32x4_splat(0), magic = wasm_f32x4_splat(12582912.0f), low16 = wasm_i32x4_splat(0xffff);
#define LOAD(p, m) (masked ? wasm_v128_and(wasm_v128_load(p), m) : wasm_v128_load(p))
  v128_t x0 = zero, x1 = zero;
  for (int k = 0; k < K; k++) {
    x0 = wasm_f32x4_pmax(x0, wasm_f32x4_abs(LOAD(B + k * ldb + j, m0)));
    x1 = wasm_f32x4_pmax(x1, wasm_f32x4_abs(LOAD(B + k * ldb + j + 4, m1)));
  }
  v128_t inv0 = col_inv(x0, vq, colscale + j), inv1 = col_inv(x1, vq, colscale + j + 4);
  for (int k2 = 0; k2 < (K + 1) / 2; k2++) {
    int k = 2 * k2;
    const float *r0 = B + k * ldb + j, *r1 = r0 + ldb;
    int odd = k + 1 < K;
    v128_t a0 = wasm_f32x4_add(wasm_f32x4_mul(LOAD(r0, m0), inv0), magic);
    v128_t a1 = wasm_f32x4_add(wasm_f32x4_mul(LOAD(r0 + 4, m1), inv1), magic);
    v128_t b0 = odd ? wasm_f32x4_add(wasm_f32x4_mul(LOAD(r1, m0), inv0), magic) : zero;
    v128_t b1 = odd ? wasm_f32x4_add(wasm_f32x4_mul(LOAD(r1 + 4, m1), inv1), magic) : zero;
    int16_t *o = pb + ((size_t)k2 * N8 + j) * 2;
    wasm_v128_store(o, wasm_v128_or(wasm_v128_and(a0, low16), wasm_i32x4_shl(b0, 16)));
    wasm_v128_store(o + 8, wasm_v128_or(wasm_v128_and(a1, low16), wasm_i32x4_shl(b1, 16)));
  }
#undef LOAD
}

void fm_q16_pack_b(int K, int N, const float *B, ptrdiff_t ldb, int16_t *pb, float *colscale) {
  int q = fm_q16_levels(K), K2 = (K + 1) / 2, N8 = (N + 7) / 8 * 8;
  int j = 0;
  v128_t vq = wasm_f32x4_splat((float)q), ones = wasm_i32x4_splat(-1);
  /* 8 columns at a time (with 4, the loop overhead, which V8 pays with a
   * stack check per iteration, was twice as large). */
  for (; j + 8 <= N; j += 8) pack_b8(K, B, ldb, j, N8, pb, colscale, vq, 0, ones, ones);
  /* The Winograd layers' column counts (G samples' tiles) leave 2 over at
   * 28x28: when the rows have room for 8 (ldb >= N8, as the layers' tile
   * rows do), the last columns go the same way with the missing ones
   * masked to zero columns; one at a time they took as long as all the
   * others (a libc fmaxf call per value in wasm). */
  if (j < N && ldb >= N8) {
    v128_t lane = wasm_i32x4_make(0, 1, 2, 3), n = wasm_i32x4_splat(N - j);
    pack_b8(K, B, ldb, j, N8, pb, colscale, vq, 1, wasm_i32x4_lt(lane, n),
            wasm_i32x4_lt(wasm_i32x4_add(lane, wasm_i32x4_splat(4)), n));
    j += 8;
  }
  for (; j < N8; j++) { /* otherwise the last ragged columns, then the zero padding */
    float m = 0;
    if (j < N)
      for (int k = 0; k < K; k++) m = fmaxf(m, fabsf(B[k * ldb + j]));
    float inv = inv_of(m, q);
    colscale[j] = step_of(m, q);
    for (int k2 = 0; k2 < K2; k2++) {
      int k = 2 * k2;
      int16_t *p = pb + ((size_t)k2 * N8 + j) * 2;
      p[0] = j < N ? quant(B[k * ldb + j], inv) : 0;
      p[1] = j < N && k + 1 < K ? quant(B[(k + 1) * ldb + j], inv) : 0;
    }
  }
}

#define DOT(acc, a, b) acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(a, b))

/* c[0..mr)[0..8) = dequantised (4-row panel pa) * (8 columns of pb). */
static void ukernel_4x8(int K2, const int16_t *pa, const int16_t *pb, ptrdiff_t ldb,
                        const float *rs, const float *cs, float *c, ptrdiff_t ldc, int mr) {
  v128_t c00 = wasm_i32x4_splat(0), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < K2; k++) {
    v128_t b0 = wasm_v128_load(pb), b1 = wasm_v128_load(pb + 8);
    v128_t a0 = wasm_v128_load32_splat(pa), a1 = wasm_v128_load32_splat(pa + 2);
    DOT(c00, a0, b0), DOT(c01, a0, b1), DOT(c10, a1, b0), DOT(c11, a1, b1);
    v128_t a2 = wasm_v128_load32_splat(pa + 4), a3 = wasm_v128_load32_splat(pa + 6);
    DOT(c20, a2, b0), DOT(c21, a2, b1), DOT(c30, a3, b0), DOT(c31, a3, b1);
    pa += 8;
    pb += ldb;
  }
  v128_t cs0 = wasm_v128_load(cs), cs1 = wasm_v128_load(cs + 4);
  v128_t acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (int r = 0; r < mr; r++) {
    v128_t s = wasm_f32x4_splat(rs[r]);
    wasm_v128_store(c + r * ldc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][0]), wasm_f32x4_mul(cs0, s)));
    wasm_v128_store(c + r * ldc + 4, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][1]), wasm_f32x4_mul(cs1, s)));
  }
}

void fm_gemm_q16(int M, int N, int K, const int16_t *pa, const float *rowscale, const int16_t *pb,
                 const float *colscale, float *C, ptrdiff_t ldc) {
  int K2 = (K + 1) / 2, N8 = (N + 7) / 8 * 8;
  /* The operands of one Winograd GEMM fit in L1 (B is K x N8 int16: 6.5 KB
   * for 32 channels and 104 tiles), and a dense layer's are cut into K
   * slices that do (dense.c), so no blocking beyond the register tile. */
  for (int i = 0; i < M; i += 4)
    for (int j = 0; j < N8; j += 8)
      ukernel_4x8(K2, pa + (size_t)(i / 4) * K2 * 8, pb + (size_t)j * 2, (ptrdiff_t)N8 * 2,
                  rowscale + i, colscale + j, C + (size_t)i * ldc + j, ldc, FM_MIN(4, M - i));
}

/* The accumulating GEMM goes through the same micro-kernel into a 4x8
 * block on the stack, then adds the block to C: giving the micro-kernel an
 * "add" flag instead, even a constant one, made V8's code for the plain
 * kernel 7% slower on cnn-small's convolutions. */
void fm_gemm_q16_add(int M, int N, int K, const int16_t *pa, const float *rowscale, const int16_t *pb,
                     const float *colscale, float *C, ptrdiff_t ldc) {
  int K2 = (K + 1) / 2, N8 = (N + 7) / 8 * 8;
  float block[4 * 8];
  for (int i = 0; i < M; i += 4)
    for (int j = 0; j < N8; j += 8) {
      int mr = FM_MIN(4, M - i);
      ukernel_4x8(K2, pa + (size_t)(i / 4) * K2 * 8, pb + (size_t)j * 2, (ptrdiff_t)N8 * 2, rowscale + i,
                  colscale + j, block, 8, mr);
      for (int r = 0; r < mr; r++) {
        float *c = C + (size_t)(i + r) * ldc + j;
        wasm_v128_store(c, wasm_f32x4_add(wasm_v128_load(c), wasm_v128_load(block + r * 8)));
        wasm_v128_store(c + 4, wasm_f32x4_add(wasm_v128_load(c + 4), wasm_v128_load(block + r * 8 + 4)));
      }
    }
}

void fm_gemm_q16_ref(int M, int N, int K, const float *A, ptrdiff_t lda, const float *B,
                     ptrdiff_t ldb, float *C, ptrdiff_t ldc) {
  int q = fm_q16_levels(K);
  for (int i = 0; i < M; i++) {
    float mi = 0;
    for (int k = 0; k < K; k++) mi = fmaxf(mi, fabsf(A[i * lda + k]));
    for (int j = 0; j < N; j++) {
      float mj = 0;
      for (int k = 0; k < K; k++) mj = fmaxf(mj, fabsf(B[k * ldb + j]));
      float ia = inv_of(mi, q), ib = inv_of(mj, q);
      int32_t acc = 0;
      for (int k = 0; k < K; k++) acc += (int32_t)quant(A[i * lda + k], ia) * quant(B[k * ldb + j], ib);
      C[i * ldc + j] = (float)acc * (step_of(mj, q) * step_of(mi, q));
    }
  }
}

/* test_q16.c: the int16 inference GEMM (kernels/gemm_q16.h) and the int16
 * Winograd inference built on it.
 *   - the SIMD quantisers and micro-kernel give the scalar reference's
 *     numbers bit for bit, on ragged shapes (M, N, K not multiples of the
 *     tile, odd K, all-zero rows and columns);
 *   - against double-precision sums, every output is within the bound its
 *     operands' grids imply: sum over k of |a| eb + |b| ea + ea eb, ea and eb
 *     half a grid step of the row and the column;
 *   - the largest sums the grid allows do not overflow int32;
 *   - fm_gemm_q16_add adds the same product to what C holds;
 *   - the int16 first convolution (one input channel) stays within the
 *     bound of its grids on ragged planes;
 *   - a network's int16 inference stays close to its float32 inference
 *     (which fm_net_set_exact restores bit for bit), and differs from it at
 *     all, so the int16 path is the one that ran. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fmnist.h"
#include "kernels/gemm_q16.h"
#include "net/net.h"

static unsigned g_seed = 7;
static float urand(void) { /* [-1, 1) */
  g_seed = g_seed * 1664525u + 1013904223u;
  return (float)(g_seed >> 8) / 8388608.0f - 1.0f;
}

/* C = dequantised A * B through the packed SIMD path. */
static void q16_product(int M, int N, int K, const float *A, const float *B, int ldb, float *C, int ldc) {
  int16_t *pa = malloc(sizeof(int16_t) * fm_q16_a_size(M, K)), *pb = malloc(sizeof(int16_t) * fm_q16_b_size(K, N));
  float *rs = malloc(sizeof(float) * (M + 4)), *cs = malloc(sizeof(float) * (N + 8));
  fm_q16_pack_a(M, K, A, K, pa, rs);
  fm_q16_pack_b(K, N, B, ldb, pb, cs);
  fm_gemm_q16(M, N, K, pa, rs, pb, cs, C, ldc);
  free(pa), free(pb), free(rs), free(cs);
}

static void test_q16_shapes(void) {
  static const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {5, 9, 16}, {4, 8, 2}, {32, 104, 16}, {13, 37, 33},
                                  {7, 20, 128}, {6, 16, 392}, {9, 24, 501}};
  int identical = 1, padding_zero = 1;
  double worst_ratio = 0;
  /* Each shape twice: rows N + 3 long, and rows exactly N8 long with NaN in
   * the slack past N (which pack_b then reads for its last, masked columns:
   * the padding columns must still come out zero). */
  for (size_t v = 0; v < 2 * sizeof shapes / sizeof shapes[0]; v++) {
    int s = v / 2, M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
    int ldc = (N + 7) / 8 * 8, ldb = v % 2 ? ldc : N + 3;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * ldb);
    float *C = malloc(sizeof(float) * M * ldc), *R = malloc(sizeof(float) * M * ldc);
    for (int i = 0; i < M; i++)
      for (int k = 0; k < K; k++) A[i * K + k] = i == 2 ? 0.0f : urand() * (1 + i % 3);
    /* Columns of very different magnitudes, one all zero: each keeps its own grid. */
    for (int k = 0; k < K; k++)
      for (int j = 0; j < ldb; j++)
        B[k * ldb + j] = j >= N && v % 2 ? NAN : j == 3 ? 0.0f : urand() * powf(10.0f, (float)(j % 7) - 3);
    q16_product(M, N, K, A, B, ldb, C, ldc);
    fm_gemm_q16_ref(M, N, K, A, K, B, ldb, R, ldc);
    for (int i = 0; i < M; i++)
      for (int j = N; j < ldc; j++) padding_zero &= C[i * ldc + j] == 0.0f;
    int q = fm_q16_levels(K);
    for (int i = 0; i < M; i++) {
      float ma = 0;
      for (int k = 0; k < K; k++) ma = fmaxf(ma, fabsf(A[i * K + k]));
      for (int j = 0; j < N; j++) {
        identical &= C[i * ldc + j] == R[i * ldc + j];
        float mb = 0;
        for (int k = 0; k < K; k++) mb = fmaxf(mb, fabsf(B[k * ldb + j]));
        double ea = ma / q / 2.0, eb = mb / q / 2.0, exact = 0, bound = 0, mag = 0;
        for (int k = 0; k < K; k++) {
          double a = A[i * K + k], b = B[k * ldb + j];
          exact += a * b;
          bound += fabs(a) * eb + fabs(b) * ea + ea * eb;
          mag += fabs(a * b);
        }
        bound += 1e-6 * mag + 1e-30; /* the float rounding of the dequantising */
        worst_ratio = fmax(worst_ratio, fabs(C[i * ldc + j] - exact) / bound);
      }
    }
    free(A), free(B), free(C), free(R);
  }
  char why[128];
  snprintf(why, sizeof why, "SIMD = scalar reference: %s; padding columns zero: %s; worst error %.2f of the grid's bound",
           identical ? "yes" : "NO", padding_zero ? "yes" : "NO", worst_ratio);
  report(identical && padding_zero && worst_ratio <= 1.0, "int16 GEMM = its reference, within the quantisation bound", why);
}

/* fm_gemm_q16_add: C keeps what it held and gains the product, bit for bit
 * the reference product added to it in float (a dense layer's K slices). */
static void test_q16_add(void) {
  enum { M = 6, N = 16, K = 40 };
  float A[M * K], B[K * N], C[M * N], R[M * N], start[M * N];
  for (int i = 0; i < M * K; i++) A[i] = urand();
  for (int i = 0; i < K * N; i++) B[i] = urand() * 3;
  for (int i = 0; i < M * N; i++) start[i] = C[i] = urand() * 10;
  int16_t pa[fm_q16_a_size(M, K)], pb[fm_q16_b_size(K, N)];
  float rs[fm_q16_a_scales(M)], cs[N];
  fm_q16_pack_a(M, K, A, K, pa, rs);
  fm_q16_pack_b(K, N, B, N, pb, cs);
  fm_gemm_q16_add(M, N, K, pa, rs, pb, cs, C, N);
  fm_gemm_q16_ref(M, N, K, A, K, B, N, R, N);
  int same = 1;
  for (int i = 0; i < M * N; i++) same &= C[i] == start[i] + R[i];
  report(same, "int16 GEMM, accumulating: C + product, as the reference", same ? "" : "differs from C + reference");
}

/* K = 128 rows of the largest magnitudes, all one sign: the int32 sums reach
 * +-K q^2, right at the limit the grid is chosen for. */
static void test_q16_limits(void) {
  int ok = 1;
  char why[96] = "";
  for (int K = 127; K <= 128; K++)
    for (int sign = -1; sign <= 1; sign += 2) {
      enum { M = 4, N = 8 };
      float A[M * 128], B[128 * N], C[M * N];
      for (int i = 0; i < M * K; i++) A[i] = 1.0f;
      for (int i = 0; i < K * N; i++) B[i] = 3.5f * sign;
      q16_product(M, N, K, A, B, N, C, N);
      for (int i = 0; i < M * N; i++)
        if (fabsf(C[i] - 3.5f * sign * K) > 1e-3f * K) {
          ok = 0;
          snprintf(why, sizeof why, "K %d: %g instead of %g", K, C[i], 3.5 * sign * K);
        }
    }
  report(ok, "int16 GEMM: the largest sums of a 128-long dot product do not overflow", why);
}

/* A network's int16 and float32 inference (logits turned probabilities):
 * close, the same top classes, and different at all, so int16 ran. */
static void q16_vs_f32(const char *spec, const char *name) {
  enum { B = 6, S = 14 };
  fm_net *net = fm_net_create(spec, 1, S, S, 3);
  /* Batch norms with statistics of their own, as after training. */
  for (int l = 0; l < net->nlayers; l++)
    if (net->layers[l].kind == FM_BATCHNORM)
      for (int c = 0; c < net->layers[l].in.c; c++)
        net->layers[l].running_mean[c] = urand() * 0.3f, net->layers[l].running_var[c] = 0.5f + fabsf(urand()),
        net->layers[l].w[c] = 1.0f + urand() * 0.5f, net->layers[l].b[c] = urand() * 0.5f;
  float x[B * S * S], q[B * 10], f[B * 10], f2[B * 10];
  for (int i = 0; i < B * S * S; i++) x[i] = fabsf(urand());
  fm_net_predict_f32(net, x, B, q);
  fm_net_set_exact(net, 1);
  fm_net_predict_f32(net, x, B, f);
  fm_net_set_exact(net, 0);
  fm_net_predict_f32(net, x, B, f2);
  double worst = 0;
  int same_top = 1, repeat = !memcmp(q, f2, sizeof q);
  for (int b = 0; b < B; b++) {
    int tq = 0, tf = 0;
    for (int c = 0; c < 10; c++) {
      worst = fmax(worst, fabs(q[b * 10 + c] - f[b * 10 + c]));
      if (q[b * 10 + c] > q[b * 10 + tq]) tq = c;
      if (f[b * 10 + c] > f[b * 10 + tf]) tf = c;
    }
    same_top &= tq == tf;
  }
  char why[112];
  snprintf(why, sizeof why, "probabilities differ by at most %.2e, same top class %d, int16 again after exact: %s", worst,
           same_top, repeat ? "same" : "DIFFERENT");
  report(worst > 0 && worst < 2e-3 && same_top && repeat, name, why);
  fm_net_free(net);
}

/* The first convolution in int16 (conv1_q16.c: one input channel, with the
 * batch norm and ReLU after it fused) against float32 on ragged planes (row
 * tails of 1 to 7 pixels, planes smaller than a group of 8): every output
 * within the bound its grids imply, sum over the 9 taps of |w| ex + |x| ew +
 * ex ew times the batch norm's scale (ex, ew: half the image's and the
 * channel's grid steps; ReLU only shrinks differences), and not equal to
 * float32 everywhere, so the int16 path ran. */
static void test_q16_conv1(void) {
  static const int sizes[][2] = {{1, 1}, {3, 5}, {7, 13}, {9, 17}, {28, 28}};
  enum { B = 2, C = 5 };
  double worst_ratio = 0;
  int differs = 0;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int h = sizes[s][0], w = sizes[s][1], n = h * w;
    /* conv + bn + relu run as one pass into acts[3], the flatten's input */
    fm_net *net = fm_net_create("conv3x3:5,bn,relu,flatten,dense:10", 1, h, w, 11 + (uint64_t)s);
    fm_layer *conv = &net->layers[0], *bn = &net->layers[1];
    for (int c = 0; c < C; c++)
      bn->running_mean[c] = urand() * 0.3f, bn->running_var[c] = 0.5f + fabsf(urand()), bn->w[c] = 1.0f + urand() * 0.5f,
      bn->b[c] = urand() * 0.5f;
    fm_net_reserve(net, B, FM_RESERVE_INFER);
    float *x = net->acts[0], *q = malloc(sizeof(float) * B * C * n);
    for (int i = 0; i < B * n; i++) x[i] = urand() * (i < n ? 1.0f : 3.0f); /* two images, two grids */
    fm_net_infer(net, B);
    memcpy(q, net->acts[3], sizeof(float) * B * C * n);
    fm_net_set_exact(net, 1);
    fm_net_infer(net, B);
    const float *f = net->acts[3];
    int qc = fm_q16_levels(10);
    for (int b = 0; b < B; b++) {
      float mx = 0;
      for (int i = 0; i < n; i++) mx = fmaxf(mx, fabsf(x[b * n + i]));
      for (int c = 0; c < C; c++) {
        float mw = 0;
        for (int t = 0; t < 9; t++) mw = fmaxf(mw, fabsf(conv->w[c * 9 + t]));
        double ex = mx / qc / 2.0, ew = mw / qc / 2.0;
        double s = fabs(bn->w[c] / sqrt(bn->running_var[c] + FM_BN_EPS));
        double bound = s * 9 * (mw * ex + mx * ew + ex * ew) + 1e-5;
        for (int i = 0; i < n; i++) {
          double d = fabs(q[(b * C + c) * n + i] - f[(b * C + c) * n + i]);
          differs |= d > 0;
          worst_ratio = fmax(worst_ratio, d / bound);
        }
      }
    }
    free(q);
    fm_net_free(net);
  }
  char why[96];
  snprintf(why, sizeof why, "worst error %.2f of the grids' bound, int16 ran: %s", worst_ratio, differs ? "yes" : "NO");
  report(differs && worst_ratio <= 1.0, "int16 first convolution (one input channel) within its bound, ragged planes", why);
}

static void test_q16_inference(void) {
  /* F(4x4) planes (14x14, 7x7), batch norms, and a dense:24 of 784 inputs
   * (two K slices, dense.c). */
  q16_vs_f32("conv3x3:8,bn,relu,conv3x3:16,bn,relu,maxpool2,conv3x3:24,bn,relu,conv3x3:16,flatten,dense:24,relu,"
             "dense:10", "int16 inference close to float32 inference (convolutions and dense layers)");
  /* Dense layers alone: 196 inputs (one slice), 1,000 (two). */
  q16_vs_f32("flatten,dense:1000,relu,dense:64,relu,dense:10", "int16 inference of dense layers close to float32");
}

void test_q16(void) {
  test_q16_shapes();
  test_q16_add();
  test_q16_limits();
  test_q16_conv1();
  test_q16_inference();
}

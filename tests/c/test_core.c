/* test_core.c: numerical tests of the C core, run in three builds: native,
 * native under ASan + UBSan, and wasm (Node's WASI), so the SIMD kernels are
 * checked both as wasm SIMD128 and through SIMDe.
 *
 * - GEMM micro-kernel and packed GEMM against the scalar reference, on random
 *   shapes (edge sizes included) and every stride pattern the layers use.
 * - A finite-difference gradient check of every layer's backward pass (input
 *   and parameter gradients), of the softmax cross-entropy loss, and of whole
 *   networks end to end.
 * Prints one line per test and a final "N passed, N failed". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "layers/layer.h"
#include "layers/winograd.h"
#include "net/net.h"
#include "train/train.h"

static int g_pass, g_fail;

void report(int ok, const char *name, const char *detail) {
  if (ok) {
    g_pass++;
    printf("ok - %s\n", name);
  } else {
    g_fail++;
    printf("not ok - %s: %s\n", name, detail);
  }
  fflush(stdout);
}

static fm_rng g_rng;
static float frand(void) { return 2 * fm_rng_uniform(&g_rng) - 1; }
static int irand(int lo, int hi) { return lo + (int)fm_rng_below(&g_rng, (uint32_t)(hi - lo + 1)); }

/* ---- GEMM ---------------------------------------------------------------- */

static void test_gemm_case(int M, int N, int K, int transA, int transB, int acc, char *name) {
  /* A is M x K, stored row-major (or transposed); same for B (K x N). */
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
  float *C = malloc(sizeof(float) * M * (N + 3)), *R = malloc(sizeof(float) * M * (N + 3));
  for (int i = 0; i < M * K; i++) A[i] = frand();
  for (int i = 0; i < K * N; i++) B[i] = frand();
  int ldc = N + 3; /* a row stride wider than N checks the store masks */
  for (int i = 0; i < M * ldc; i++) C[i] = R[i] = frand();
  ptrdiff_t rsa = transA ? 1 : K, csa = transA ? M : 1;
  ptrdiff_t rsb = transB ? 1 : N, csb = transB ? K : 1;
  fm_gemm(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, acc);
  fm_gemm_ref(M, N, K, A, rsa, csa, B, rsb, csb, R, ldc, acc);
  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < ldc; j++) {
      double d = fabs(C[i * ldc + j] - R[i * ldc + j]) / (1 + fabs(R[i * ldc + j]));
      if (j >= N) d = C[i * ldc + j] != R[i * ldc + j] ? 1 : 0; /* padding untouched */
      if (d > worst) worst = d;
    }
  char detail[128];
  snprintf(detail, sizeof detail, "max relative error %.3g", worst);
  sprintf(name, "gemm M=%d N=%d K=%d A%s B%s %s", M, N, K, transA ? "T" : "", transB ? "T" : "",
          acc ? "+=" : "=");
  report(worst < 1e-5 * (1 + sqrt(K)), name, detail);
  free(A), free(B), free(C), free(R);
}

static void test_gemm(void) {
  char name[128];
  /* Edge sizes around the 4x8 tile and the 256/512/128 blocking. */
  int sizes[][3] = {{1, 1, 1},   {4, 8, 1},    {3, 7, 5},     {5, 9, 17},   {16, 784, 9},
                    {32, 784, 144}, {64, 196, 288}, {64, 128, 3136}, {129, 513, 257}, {64, 10, 128}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int t = 0; t < 4; t++)
      test_gemm_case(sizes[s][0], sizes[s][1], sizes[s][2], t & 1, t >> 1, (int)(s + t) & 1, name);
  for (int r = 0; r < 20; r++)
    test_gemm_case(irand(1, 70), irand(1, 90), irand(1, 300), irand(0, 1), irand(0, 1), irand(0, 1),
                   name);
  /* The micro-kernel alone, every partial tile. */
  int bad = 0;
  for (int mr = 1; mr <= FM_GEMM_MR; mr++)
    for (int nr = 1; nr <= FM_GEMM_NR; nr++) {
      int kc = irand(1, 40);
      float pa[40 * 4], pb[40 * 8], c[4 * 8], r[4 * 8];
      for (int i = 0; i < kc * 4; i++) pa[i] = frand();
      for (int i = 0; i < kc * 8; i++) pb[i] = frand();
      for (int i = 0; i < 32; i++) c[i] = r[i] = frand();
      fm_ukernel_4x8(kc, pa, pb, 8, c, 8, mr, nr, 1);
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) {
          if (i < mr && j < nr) {
            double s = 0;
            for (int k = 0; k < kc; k++) s += (double)pa[k * 4 + i] * pb[k * 8 + j];
            r[i * 8 + j] += (float)s;
          }
          bad += fabsf(c[i * 8 + j] - r[i * 8 + j]) > 1e-4f;
        }
    }
  report(!bad, "ukernel 4x8 every partial tile", "mismatch");
}

/* ---- gradient checks -------------------------------------------------------- */

typedef struct {
  fm_layer L;
  float *params, *grads, *buffers;
} test_layer;

static test_layer make_layer(fm_layer_kind kind, fm_shape in, int arg, float p, int B) {
  test_layer t;
  memset(&t, 0, sizeof t);
  fm_layer *L = &t.L;
  L->kind = kind;
  L->in = in;
  L->out = in;
  L->p = p;
  switch (kind) {
  case FM_DENSE:
    L->out = (fm_shape){arg, 1, 1, 1};
    L->nw = arg * fm_shape_size(in), L->nb = arg;
    break;
  case FM_CONV:
    L->k = arg;
    L->out.c = 3;
    L->nw = 3 * in.c * arg * arg, L->nb = 3;
    break;
  case FM_MAXPOOL: L->out.h /= 2, L->out.w /= 2; break;
  case FM_GAP: L->out.h = L->out.w = 1; break;
  case FM_BATCHNORM: L->nw = L->nb = in.c; break;
  default: break;
  }
  t.params = calloc((size_t)(L->nw + L->nb + 1), sizeof(float));
  t.grads = calloc((size_t)(L->nw + L->nb + 1), sizeof(float));
  t.buffers = calloc((size_t)(2 * in.c), sizeof(float));
  L->w = t.params, L->b = t.params + L->nw;
  L->dw = t.grads, L->db = t.grads + L->nw;
  L->running_mean = t.buffers, L->running_var = t.buffers + in.c;
  for (int i = 0; i < L->nw + L->nb; i++) t.params[i] = frand() * 0.5f;
  fm_layer_reserve(L, B, 1);
  return t;
}

static void free_layer(test_layer *t) {
  fm_layer_release(&t->L);
  free(t->params), free(t->grads), free(t->buffers);
}

/* loss = sum(y * R): its gradient wrt y is R. */
static double probe_loss(test_layer *t, const float *x, float *y, const float *R, int B) {
  fm_rng drop;
  fm_rng_seed(&drop, 7, FM_STREAM_DROPOUT); /* the same dropout mask every call */
  fm_layer_forward(&t->L, x, y, B, 1, &drop);
  double s = 0;
  for (int i = 0; i < B * fm_shape_size(t->L.out); i++) s += (double)y[i] * R[i];
  return s;
}

/* Compares analytic and central-difference gradients of up to 64 entries. */
static double check_entries(test_layer *t, float *v, const float *ana, int n, float *x, float *y,
                            const float *R, int B, float eps) {
  double worst = 0;
  int step = n > 64 ? n / 64 : 1;
  for (int i = 0; i < n; i += step) {
    float keep = v[i];
    v[i] = keep + eps;
    double lp = probe_loss(t, x, y, R, B);
    v[i] = keep - eps;
    double lm = probe_loss(t, x, y, R, B);
    v[i] = keep;
    double num = (lp - lm) / (2 * eps);
    double err = fabs(num - ana[i]) / FM_MAX(1.0, fabs(num) + fabs(ana[i]));
    if (err > worst) worst = err;
  }
  return worst;
}

static void gradcheck_layer(const char *name, fm_layer_kind kind, fm_shape in, int arg, float p,
                            int distinct_inputs) {
  int B = 3;
  test_layer t = make_layer(kind, in, arg, p, B);
  int nin = B * fm_shape_size(t.L.in), nout = B * fm_shape_size(t.L.out);
  float *x = malloc(sizeof(float) * nin), *y = malloc(sizeof(float) * nout);
  float *R = malloc(sizeof(float) * nout), *dx = malloc(sizeof(float) * nin);
  if (distinct_inputs) {
    /* Max-pool and ReLU have kinks: spread inputs so a finite-difference step
     * never crosses one (distinct values 0.01 apart, none near zero). */
    for (int i = 0; i < nin; i++) x[i] = (i + 1) * 0.01f * (i & 1 ? 1 : -1);
    for (int i = nin - 1; i > 0; i--) {
      int j = (int)fm_rng_below(&g_rng, (uint32_t)i + 1);
      float tmp = x[i];
      x[i] = x[j], x[j] = tmp;
    }
  } else {
    for (int i = 0; i < nin; i++) x[i] = frand();
  }
  for (int i = 0; i < nout; i++) R[i] = frand();
  probe_loss(&t, x, y, R, B);
  memset(t.grads, 0, sizeof(float) * (t.L.nw + t.L.nb));
  fm_layer_backward(&t.L, x, y, R, dx, B);
  float eps = distinct_inputs ? 1e-3f : 1e-2f;
  double ex = check_entries(&t, x, dx, nin, x, y, R, B, eps);
  double ew = t.L.nw ? check_entries(&t, t.L.w, t.L.dw, t.L.nw, x, y, R, B, eps) : 0;
  double eb = t.L.nb ? check_entries(&t, t.L.b, t.L.db, t.L.nb, x, y, R, B, eps) : 0;
  char detail[160], full[128];
  snprintf(detail, sizeof detail, "relative error dx %.3g, dw %.3g, db %.3g", ex, ew, eb);
  snprintf(full, sizeof full, "gradcheck %s", name);
  report(ex < 2e-3 && ew < 2e-3 && eb < 2e-3, full, detail);
  free(x), free(y), free(R), free(dx);
  free_layer(&t);
}

/* Forward passes against direct loops: the convolution (im2col + GEMM, with
 * the contiguous-run copies of conv2d.c) and max-pooling, on sizes where
 * every tap wraps at some edge. */
static void test_forward_reference(void) {
  /* From 8 input channels up, 3x3 runs through Winograd (winograd.c): odd
   * and even sides, planes smaller than a tile, rows of 1 to 14 tiles, split
   * rows with one and two blocks of zeros past the row (13x15, 14x14). */
  static const int shapes[][4] = {{2, 6, 6, 3},  {3, 5, 7, 3},  {2, 6, 6, 5},   {1, 28, 28, 3},
                                  {4, 7, 7, 3},  {2, 3, 9, 5},  {3, 4, 4, 1},   {2, 1, 1, 3},
                                  {8, 7, 7, 3},  {9, 5, 6, 3},  {16, 28, 28, 3}, {8, 1, 1, 3},
                                  {8, 2, 3, 3},  {12, 14, 14, 3}, {8, 9, 17, 3}, {8, 13, 15, 3}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    fm_shape in = {shapes[s][0], shapes[s][1], shapes[s][2], 0};
    int k = shapes[s][3], B = 3, pad = k / 2, c = in.c, h = in.h, w = in.w;
    test_layer t = make_layer(FM_CONV, in, k, 0, B);
    int nin = B * c * h * w, nout = B * 3 * h * w;
    float *x = malloc(sizeof(float) * nin), *y = malloc(sizeof(float) * nout);
    for (int i = 0; i < nin; i++) x[i] = frand();
    fm_layer_forward(&t.L, x, y, B, 0, NULL);
    double worst = 0;
    for (int n = 0; n < B; n++)
      for (int co = 0; co < 3; co++)
        for (int yy = 0; yy < h; yy++)
          for (int xx = 0; xx < w; xx++) {
            double r = t.L.b[co];
            for (int ci = 0; ci < c; ci++)
              for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                  int sy = yy + ky - pad, sx = xx + kx - pad;
                  if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                  r += (double)t.L.w[((co * c + ci) * k + ky) * k + kx] *
                       x[((n * c + ci) * h + sy) * w + sx];
                }
            worst = fmax(worst, fabs(r - y[((n * 3 + co) * h + yy) * w + xx]));
          }
    char name[96], why[64];
    snprintf(name, sizeof name, "conv%dx%d forward = direct loops, %dx%dx%d", k, k, c, h, w);
    snprintf(why, sizeof why, "max error %.3g", worst);
    report(worst < 1e-4, name, why);
    free(x), free(y);
    free_layer(&t);
  }
  fm_shape in = {3, 6, 10, 0};
  test_layer t = make_layer(FM_MAXPOOL, in, 0, 0, 2);
  float x[360], y[90];
  for (int i = 0; i < 360; i++) x[i] = frand();
  fm_layer_forward(&t.L, x, y, 2, 0, NULL);
  int bad = 0;
  for (int p = 0; p < 6; p++)
    for (int oy = 0; oy < 3; oy++)
      for (int ox = 0; ox < 5; ox++) {
        const float *q = x + p * 60 + 2 * oy * 10 + 2 * ox;
        float m = fmaxf(fmaxf(q[0], q[1]), fmaxf(q[10], q[11]));
        bad += y[p * 15 + oy * 5 + ox] != m;
      }
  report(!bad, "maxpool2 forward = direct loops", "mismatch");
  free_layer(&t);
  /* Dense: one and two samples take the GEMV path, more the GEMM. */
  for (int B = 1; B <= 5; B += 2) {
    fm_shape flat = {37, 1, 1, 1};
    test_layer d = make_layer(FM_DENSE, flat, 11, 0, B);
    float xd[5 * 37], yd[5 * 11];
    for (int i = 0; i < B * 37; i++) xd[i] = frand();
    fm_layer_forward(&d.L, xd, yd, B, 0, NULL);
    double worst = 0;
    for (int n = 0; n < B; n++)
      for (int o = 0; o < 11; o++) {
        double r = d.L.b[o];
        for (int i = 0; i < 37; i++) r += (double)xd[n * 37 + i] * d.L.w[o * 37 + i];
        worst = fmax(worst, fabs(r - yd[n * 11 + o]));
      }
    char name[64];
    snprintf(name, sizeof name, "dense forward = direct loops, batch %d", B);
    report(worst < 1e-5, name, "mismatch");
    free_layer(&d);
  }
}

/* The convolution's input gradient (Winograd from 8 input channels up, with
 * 3 output channels as the transposed convolution's inputs) and weight
 * gradient (Winograd too on planes from 7x7 up) against direct loops, on the
 * forward test's edge shapes. */
static void test_backward_reference(void) {
  static const int shapes[][3] = {{8, 7, 7},  {9, 5, 6},  {16, 28, 28}, {8, 1, 1}, {8, 2, 3},
                                  {12, 14, 14}, {8, 9, 17}, {3, 5, 7},  {10, 3, 3}, {8, 13, 15},
                                  {8, 16, 16},  {9, 10, 32}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    fm_shape in = {shapes[s][0], shapes[s][1], shapes[s][2], 0};
    int B = 5, c = in.c, h = in.h, w = in.w; /* 5 samples: groups of up to 4, then the rest */
    test_layer t = make_layer(FM_CONV, in, 3, 0, B);
    int nin = B * c * h * w, nout = B * 3 * h * w;
    float *x = malloc(sizeof(float) * nin), *dy = malloc(sizeof(float) * nout);
    float *dx = malloc(sizeof(float) * nin), *y = malloc(sizeof(float) * nout);
    for (int i = 0; i < nin; i++) x[i] = frand();
    for (int i = 0; i < nout; i++) dy[i] = frand();
    memset(t.grads, 0, sizeof(float) * (t.L.nw + t.L.nb));
    fm_layer_backward(&t.L, x, y, dy, dx, B);
    double wx = 0, ww = 0;
    for (int n = 0; n < B; n++)
      for (int ci = 0; ci < c; ci++)
        for (int sy = 0; sy < h; sy++)
          for (int sx = 0; sx < w; sx++) {
            double r = 0;
            for (int co = 0; co < 3; co++)
              for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                  int yy = sy - ky + 1, xx = sx - kx + 1;
                  if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                  r += (double)t.L.w[((co * c + ci) * 3 + ky) * 3 + kx] * dy[((n * 3 + co) * h + yy) * w + xx];
                }
            wx = fmax(wx, fabs(r - dx[((n * c + ci) * h + sy) * w + sx]));
          }
    for (int co = 0; co < 3; co++)
      for (int ci = 0; ci < c; ci++)
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) {
            double r = 0;
            for (int n = 0; n < B; n++)
              for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++) {
                  int sy = yy + ky - 1, sx = xx + kx - 1;
                  if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                  r += (double)dy[((n * 3 + co) * h + yy) * w + xx] * x[((n * c + ci) * h + sy) * w + sx];
                }
            ww = fmax(ww, fabs(r - t.L.dw[((co * c + ci) * 3 + ky) * 3 + kx]) / fmax(1.0, fabs(r)));
          }
    char name[96], why[64];
    snprintf(name, sizeof name, "conv3x3 dx and dw = direct loops, %dx%dx%d%s", c, h, w,
             fm_wino_dw_applies(&t.L) ? " (both by Winograd)" : fm_wino_dx_applies(&t.L) ? " (dx by Winograd)" : "");
    snprintf(why, sizeof why, "max error dx %.3g, dw %.3g", wx, ww);
    /* F(4x4)'s weight gradient sums thousands of products in the transformed
     * domain (coefficients up to 8): about 1.5e-4 relative at 28x28. */
    report(wx < 1e-4 && ww < (fm_wino_dw_applies(&t.L) ? 3e-4 : 1e-4), name, why);
    free(x), free(dy), free(dx), free(y);
    free_layer(&t);
  }
}

static void test_layers(void) {
  fm_shape img = {2, 6, 6, 0}, odd = {3, 5, 7, 0}, flat = {12, 1, 1, 1};
  gradcheck_layer("dense", FM_DENSE, flat, 5, 0, 0);
  gradcheck_layer("conv 1x1", FM_CONV, img, 1, 0, 0);
  gradcheck_layer("conv 3x3", FM_CONV, img, 3, 0, 0);
  gradcheck_layer("conv 3x3 odd size", FM_CONV, odd, 3, 0, 0);
  gradcheck_layer("conv 5x5", FM_CONV, img, 5, 0, 0);
  gradcheck_layer("maxpool2", FM_MAXPOOL, img, 0, 0, 1);
  gradcheck_layer("maxpool2 odd size", FM_MAXPOOL, odd, 0, 0, 1);
  gradcheck_layer("maxpool2 wide (SIMD path)", FM_MAXPOOL, (fm_shape){2, 4, 12, 0}, 0, 0, 1);
  gradcheck_layer("relu", FM_RELU, img, 0, 0, 1);
  gradcheck_layer("batchnorm2d", FM_BATCHNORM, img, 0, 0, 0);
  gradcheck_layer("batchnorm1d", FM_BATCHNORM, flat, 0, 0, 0);
  gradcheck_layer("dropout", FM_DROPOUT, img, 0, 0.4f, 0);
  gradcheck_layer("gap", FM_GAP, img, 0, 0, 0);
  gradcheck_layer("flatten", FM_FLATTEN, img, 0, 0, 0);
  gradcheck_layer("conv 3x3 Winograd F(2x2) forward and dx", FM_CONV, (fm_shape){8, 5, 6, 0}, 3, 0, 0);
  gradcheck_layer("conv 3x3 Winograd F(4x4) forward, dx and dw", FM_CONV, (fm_shape){8, 7, 9, 0}, 3, 0, 0);
}

/* Cross-entropy of B x 10 logits z with labels y, or with label sets when y is
 * NULL: its gradient against central finite differences. */
static double xent(float *z, const uint8_t *y, const uint16_t *sets, int B, float smooth, float *p, float *d) {
  return y ? fm_softmax_xent(z, y, B, 10, smooth, p, d, NULL) : fm_softmax_xent_sets(z, sets, B, 10, smooth, p, d, NULL);
}
static void gradcheck_xent(float *z, const uint8_t *y, const uint16_t *sets, int B, float smooth, const char *name) {
  float p[64 * 10], d[64 * 10];
  xent(z, y, sets, B, smooth, p, d);
  double worst = 0;
  for (int i = 0; i < B * 10; i++) {
    float keep = z[i], eps = 1e-2f;
    z[i] = keep + eps;
    double lp = xent(z, y, sets, B, smooth, p, NULL);
    z[i] = keep - eps;
    double lm = xent(z, y, sets, B, smooth, p, NULL);
    z[i] = keep;
    double num = (lp - lm) / (2 * eps);
    worst = FM_MAX(worst, fabs(num - d[i]) / FM_MAX(1.0, fabs(num)));
  }
  char detail[64];
  snprintf(detail, sizeof detail, "max error %.3g", worst);
  report(worst < 1e-3, name, detail);
}

/* Partial labels (a set of allowed classes) and the out-of-scope target (the
 * empty set: uniform): finite differences, and values with known answers. */
static void test_loss_sets(void) {
  enum { B = 5, C = 10 };
  float z[B * C], p[B * C];
  /* one class, three classes (long sleeves), two (shoes), none (a hat), all */
  uint16_t sets[B] = {1u << 3, 1u << 0 | 1u << 2 | 1u << 6, 1u << 5 | 1u << 9, 0, 0x3FF};
  for (int i = 0; i < B * C; i++) z[i] = frand() * 3;
  for (int s = 0; s < 2; s++)
    gradcheck_xent(z, NULL, sets, B, s ? 0.1f : 0.0f,
                   s ? "gradcheck partial-label and out-of-scope loss, label smoothing"
                     : "gradcheck partial-label and out-of-scope loss");
  /* Values: a one-class set equals plain cross-entropy; the set of all ten
   * costs nothing; the empty set is -mean log p (log 10 at uniform logits). */
  uint8_t y = 3;
  float ls = fm_softmax_xent_sets(z, sets, 1, C, 0, p, NULL, NULL);
  float ll = fm_softmax_xent(z, &y, 1, C, 0, p, NULL, NULL);
  report(fabsf(ls - ll) < 1e-6f, "one-class set loss equals cross-entropy", "differs");
  float lall = fm_softmax_xent_sets(z + 4 * C, sets + 4, 1, C, 0, p, NULL, NULL);
  report(fabsf(lall) < 1e-6f, "loss of the set of all classes is 0", "not 0");
  float zero[C] = {0}, dz[C];
  uint16_t none = 0;
  float lu = fm_softmax_xent_sets(zero, &none, 1, C, 0, p, dz, NULL);
  double dmax = 0;
  for (int j = 0; j < C; j++) dmax = FM_MAX(dmax, fabsf(dz[j]));
  report(fabsf(lu - logf(10)) < 1e-5f && dmax < 1e-7, "out-of-scope target at uniform logits: log 10, zero gradient",
         "wrong value");
  /* Mass on the set: with probabilities spread over the three allowed classes
   * only, a long-sleeve photo costs nothing more than its set's mass. */
  float spread[C];
  for (int j = 0; j < C; j++) spread[j] = (sets[1] >> j & 1) ? 2.0f : -30.0f;
  float lsp = fm_softmax_xent_sets(spread, sets + 1, 1, C, 0, p, NULL, NULL);
  report(lsp < 1e-6f, "partial label: mass spread inside the set costs nothing", "costs");
}

/* Distillation: the teacher's probabilities mixed into the first nsoft
 * samples' targets. Finite differences (with smoothing and a partial label
 * in the batch); values: weight 1 gives -sum s log p, the cross-entropy to
 * the teacher, zero gradient where the student already answers as the
 * teacher does; weight 0 and samples past nsoft are the label loss alone. */
static float g_soft[64 * 10], g_alpha;
static int g_nsoft;
static double xent_distill(float *z, const uint16_t *sets, int B, float smooth, float *p, float *d) {
  return fm_softmax_xent_distill(z, sets, g_soft, g_nsoft, g_alpha, B, 10, smooth, p, d, NULL);
}
static void test_loss_distill(void) {
  enum { B = 4, C = 10 };
  float z[B * C], p[B * C], d[B * C];
  uint16_t sets[B] = {1u << 3, 1u << 7, 1u << 0 | 1u << 2 | 1u << 6, 1u << 1};
  for (int i = 0; i < B * C; i++) z[i] = frand() * 3, g_soft[i] = frand() + 1.0f;
  for (int i = 0; i < B; i++) { /* each teacher row a distribution */
    float s = 0;
    for (int j = 0; j < C; j++) s += g_soft[i * C + j];
    for (int j = 0; j < C; j++) g_soft[i * C + j] /= s;
  }
  g_alpha = 0.7f, g_nsoft = 3;
  for (int sm = 0; sm < 2; sm++) {
    float smooth = sm ? 0.1f : 0.0f;
    xent_distill(z, sets, B, smooth, p, d);
    double worst = 0;
    for (int i = 0; i < B * C; i++) {
      float keep = z[i], eps = 1e-2f;
      z[i] = keep + eps;
      double lp = xent_distill(z, sets, B, smooth, p, NULL);
      z[i] = keep - eps;
      double lm = xent_distill(z, sets, B, smooth, p, NULL);
      z[i] = keep;
      double num = (lp - lm) / (2 * eps);
      worst = FM_MAX(worst, fabs(num - d[i]) / FM_MAX(1.0, fabs(num)));
    }
    char detail[64];
    snprintf(detail, sizeof detail, "max error %.3g", worst);
    report(worst < 1e-3, sm ? "gradcheck distillation loss, label smoothing" : "gradcheck distillation loss", detail);
  }
  /* Weight 1 against the student's own answer: the loss is the entropy of p
   * and the gradient vanishes. */
  float own[C], zz[C], dz[C];
  for (int j = 0; j < C; j++) zz[j] = frand() * 3;
  fm_softmax(zz, 1, C, own);
  double entropy = 0, dmax = 0;
  for (int j = 0; j < C; j++) entropy -= own[j] * log(own[j]);
  float l1 = fm_softmax_xent_distill(zz, sets, own, 1, 1.0f, 1, C, 0, p, dz, NULL);
  for (int j = 0; j < C; j++) dmax = FM_MAX(dmax, fabsf(dz[j]));
  report(fabs(l1 - entropy) < 1e-5 && dmax < 1e-6, "distillation at weight 1: cross-entropy to the teacher, zero gradient at its answer",
         "wrong value or gradient");
  /* Weight 0, and a batch whose rows are all past nsoft: the label loss. */
  float l0 = fm_softmax_xent_distill(z, sets, g_soft, B, 0.0f, B, C, 0.1f, p, NULL, NULL);
  float lpast = fm_softmax_xent_distill(z, sets, g_soft, 0, 0.7f, B, C, 0.1f, p, NULL, NULL);
  float lref = fm_softmax_xent_sets(z, sets, B, C, 0.1f, p, NULL, NULL);
  report(l0 == lref && lpast == lref, "distillation at weight 0 or without teacher rows is the label loss", "differs");
}

static void test_loss(void) {
  int B = 4, C = 10;
  float z[40], p[40];
  uint8_t y[4] = {0, 3, 9, 3};
  for (int i = 0; i < B * C; i++) z[i] = frand() * 3;
  for (int s = 0; s < 2; s++)
    gradcheck_xent(z, y, NULL, B, s ? 0.1f : 0.0f,
                   s ? "gradcheck softmax cross-entropy, label smoothing" : "gradcheck softmax cross-entropy");
  /* Uniform logits: loss = log(10). */
  float zero[10] = {0};
  uint8_t one = 2;
  float l = fm_softmax_xent(zero, &one, 1, 10, 0, p, NULL, NULL);
  report(fabsf(l - logf(10)) < 1e-5f, "cross-entropy of uniform logits is log 10", "wrong value");
  test_loss_sets();
  test_loss_distill();
}

/* End to end: d(mean loss)/d(param) through a whole network. In float32, a
 * finite-difference step that moves any ReLU or max-pool input across a kink
 * anywhere in the batch spoils that estimate (each layer's kinks are checked
 * exactly above, with inputs kept away from them). So smooth networks must
 * match everywhere, and networks with kinks at 80% of the checked points (a wrong backward
 * pass fails almost everywhere, as the layer checks show when broken). */
static void gradcheck_net(const char *spec, int h, int smooth) {
  int B = 4;
  fm_net *net = fm_net_create(spec, 1, h, h, 11);
  if (!net) {
    report(0, spec, fm_last_error());
    return;
  }
  fm_net_reserve(net, B, 1);
  int in = fm_net_input_size(net);
  float *x = malloc(sizeof(float) * B * in);
  for (int i = 0; i < B * in; i++) x[i] = fm_rng_uniform(&g_rng);
  uint8_t labels[4] = {1, 7, 3, 3};
  /* Dropout must draw the same mask in every pass: reseed before each. */
#define LOSS(dl)                                                                        \
  (memcpy(net->acts[0], x, sizeof(float) * B * in), fm_rng_seed(&net->dropout_rng, 5, 3), \
   (double)fm_softmax_xent(fm_net_forward(net, B, 1), labels, B, 10, 0, net->probs, dl, NULL))
  memset(net->grads, 0, sizeof(float) * net->nparams);
  LOSS(net->dacts[net->nlayers]);
  fm_net_backward(net, B);
  double worst = 0;
  int step = net->nparams > 200 ? (int)(net->nparams / 200) : 1, skipped = 0, checked = 0, close = 0;
  for (long i = 0; i < net->nparams; i += step) {
    /* Central differences at two step sizes: where they disagree the step
     * crossed a ReLU / max-pool kink, and the point is skipped. */
    float keep = net->params[i];
    double num[2];
    for (int e = 0; e < 2; e++) {
      float eps = e ? 5e-3f : 1e-2f;
      net->params[i] = keep + eps;
      double lp = LOSS(NULL);
      net->params[i] = keep - eps;
      double lm = LOSS(NULL);
      net->params[i] = keep;
      num[e] = (lp - lm) / (2 * eps);
    }
    if (fabs(num[0] - num[1]) > 0.02 * FM_MAX(0.05, fabs(num[0]))) {
      skipped++;
      continue;
    }
    checked++;
    /* Richardson extrapolation of the two steps cancels the eps^2 term of
     * central differences, which batch norm over 4 samples makes large
     * enough to matter at 1% on an unlucky draw. */
    double est = (4 * num[1] - num[0]) / 3;
    double err = fabs(est - net->grads[i]) / FM_MAX(0.05, fabs(est) + fabs(net->grads[i]));
    if (getenv("DEBUG") && err > 0.01) printf("  param %ld num %g ana %g\n", i, est, net->grads[i]);
    worst = FM_MAX(worst, err);
    close += err < 1e-2;
  }
#undef LOSS
  char detail[96], name[300];
  snprintf(detail, sizeof detail, "max relative error %.3g; %d of %d within 1%% (%d skipped at kinks)",
           worst, close, checked, skipped);
  snprintf(name, sizeof name, "gradcheck network %s", spec);
  report(checked > 4 * skipped && (smooth ? worst < 1e-2 : close >= 0.8 * checked), name, detail);
  free(x);
  fm_net_free(net);
}

/* Optimisers against hand-computed PyTorch steps. */
static void test_optim(void) {
  fm_train_config *cfg = fm_config_create();
  float p[1] = {1.0f}, g[1] = {0.5f}, m[1] = {0}, v[1] = {0};
  fm_optim_step(cfg, p, g, m, v, 1, 0.1, 1); /* Adam's first step moves by lr */
  report(fabsf(p[0] - 0.9f) < 1e-6f, "adam first step moves by lr", "wrong update");
  fm_config_set(cfg, "optimizer", 0);
  fm_config_set(cfg, "momentum", 0.9);
  p[0] = 1, m[0] = 0;
  fm_optim_step(cfg, p, g, m, v, 1, 0.1, 1);
  fm_optim_step(cfg, p, g, m, v, 1, 0.1, 2); /* buf = 0.5, then 0.95 */
  report(fabsf(p[0] - (1 - 0.05f - 0.095f)) < 1e-6f, "sgd momentum matches torch.optim.SGD",
         "wrong update");
  fm_config_set(cfg, "schedule", 1);
  double l0 = fm_schedule_lr(cfg, 0, 100, 10), lmid = fm_schedule_lr(cfg, 50, 100, 10);
  report(fabs(l0 - 1e-3) < 1e-12 && fabs(lmid - 5e-4) < 1e-9, "cosine schedule", "wrong lr");
  fm_config_free(cfg);
}

/* Runs an augmentation on a copy of base twice from the same seed into out;
 * clears *in_range unless every pixel is in [0, 1], *same unless both runs agree. */
static void augment_twice(void (*f)(float *, int, int, fm_rng *), const float *base, int seed,
                          float *out, int *in_range, int *same) {
  float again[784];
  memcpy(out, base, sizeof again), memcpy(again, base, sizeof again);
  fm_rng r1, r2;
  fm_rng_seed(&r1, (uint64_t)seed, FM_STREAM_AUGMENT), fm_rng_seed(&r2, (uint64_t)seed, FM_STREAM_AUGMENT);
  f(out, 28, 28, &r1), f(again, 28, 28, &r2);
  for (int i = 0; i < 784; i++) *in_range &= out[i] >= 0 && out[i] <= 1, *same &= out[i] == again[i];
}

/* Augmentation: a garment-like blob (a filled rectangle with texture) through
 * the photo distortions stays in [0, 1], is reproducible from the seed, moves
 * pixels, and keeps most of the object's mass (it is not erased or pushed out
 * of the frame). */
static void test_augment_photo(void) {
  float base[784] = {0};
  for (int y = 6; y < 22; y++)
    for (int x = 8; x < 20; x++) base[y * 28 + x] = 0.3f + 0.5f * ((x + y) % 3) / 2.0f;
  float mass0 = 0;
  for (int i = 0; i < 784; i++) mass0 += base[i];
  int in_range = 1, changed = 0, kept = 0, same = 1;
  for (int t = 0; t < 200; t++) {
    float a[784];
    augment_twice(fm_augment_photo, base, t, a, &in_range, &same);
    float mass = 0, diff = 0;
    for (int i = 0; i < 784; i++) mass += a[i], diff += fabsf(a[i] - base[i]);
    changed += diff > 1.0f;
    kept += mass > 0.5f * mass0;
  }
  char why[128];
  snprintf(why, sizeof why, "range %d, same %d, changed %d/200, kept %d/200", in_range, same, changed, kept);
  report(in_range && same && changed >= 190 && kept >= 190, "photo augmentation", why);
}

/* Sum of the pixels and box (x0, y0, x1, y1 exclusive) of those above 0.05. */
static float mass_and_box(const float *img, int *b) {
  float mass = 0;
  b[0] = b[1] = 28, b[2] = b[3] = 0;
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++) {
      mass += img[y * 28 + x];
      if (img[y * 28 + x] > 0.05f)
        b[0] = FM_MIN(b[0], x), b[1] = FM_MIN(b[1], y), b[2] = FM_MAX(b[2], x + 1), b[3] = FM_MAX(b[3], y + 1);
    }
  return mass;
}

/* The pair augmentation: a side-view "shoe" (a sole and an upper, toe to the
 * left, fitted to 28 wide like the dataset's) becomes a pair whose box is
 * fitted to 28 on its longest edge and centred, as the photo pipeline crops;
 * both shoes are there (more mass than the single shoe, though each is
 * smaller), some pairs upright and some lying, reproducible from the seed. */
static void test_augment_pair(void) {
  float shoe[784] = {0};
  for (int y = 15; y < 25; y++)
    for (int x = 0; x < 28; x++)
      if (y >= 21 || x >= 10 + (21 - y) * 2) shoe[y * 28 + x] = y >= 21 ? 0.9f : 0.6f;
  int b[4];
  float mass1 = mass_and_box(shoe, b);
  int in_range = 1, same = 1, fitted = 0, centred = 0, two = 0, upright = 0;
  for (int t = 0; t < 200; t++) {
    float a[784];
    augment_twice(fm_augment_pair, shoe, t, a, &in_range, &same);
    float mass = mass_and_box(a, b);
    int bw = b[2] - b[0], bh = b[3] - b[1];
    fitted += FM_MAX(bw, bh) >= 27;
    centred += abs(b[0] - (28 - b[2])) <= 1 && abs(b[1] - (28 - b[3])) <= 1;
    two += mass > 1.2f * mass1 && mass < 2.2f * mass1;
    upright += bh > bw;
  }
  char why[160];
  snprintf(why, sizeof why, "range %d, same %d, fitted %d/200, centred %d/200, two shoes %d/200, upright %d/200",
           in_range, same, fitted, centred, two, upright);
  report(in_range && same && fitted == 200 && centred >= 190 && two >= 190 && upright > 60 && upright < 140,
         "pair augmentation", why);
}

/* F(4x4)'s weight transform 4 kernels at a time = one at a time, bit for
 * bit (training transforms every kernel twice a step, so its divisions are
 * done 4 to an instruction), with kernels side by side and strided. */
static void test_wino_kernel4(void) {
  float g[4 * 27], one[36 * 4], four[36 * 4];
  for (int i = 0; i < 4 * 27; i++) g[i] = frand() * 3;
  long differ = 0;
  for (size_t gstride = 9; gstride <= 27; gstride += 18) {
    for (int k = 0; k < 4; k++) fm_wino4_kernel(g + k * gstride, one + k, 4);
    fm_wino4_kernel4(g, gstride, four, 4);
    for (int i = 0; i < 36 * 4; i++) differ += memcmp(&one[i], &four[i], sizeof(float)) != 0;
  }
  char why[48];
  snprintf(why, sizeof why, "%ld of 288 values differ", differ);
  report(!differ, "F(4x4) weight transform of 4 kernels at once = one at a time, bit for bit", why);
}

/* Winograd's transformed weights and a dense layer's int16 ones (dense:16,
 * 288 inputs) are kept between inference calls: they must follow every
 * change of the weights (here through the fm_net_params view). */
static void test_wino_cache(void) {
  const char *spec = "conv3x3:8,relu,conv3x3:8,flatten,dense:16,relu,dense:10";
  fm_net *net = fm_net_create(spec, 1, 6, 6, 4), *fresh = fm_net_create(spec, 1, 6, 6, 5);
  float x[2 * 36], before[20], after[20], want[20];
  for (int i = 0; i < 72; i++) x[i] = frand();
  fm_net_predict_f32(net, x, 2, before);
  float *p = fm_net_params(net);
  for (long i = 0; i < net->nparams; i++) p[i] *= -1.5f;
  fm_net_predict_f32(net, x, 2, after);
  memcpy(fm_net_params(fresh), p, sizeof(float) * net->nparams);
  fm_net_predict_f32(fresh, x, 2, want);
  double moved = 0, worst = 0;
  for (int i = 0; i < 20; i++)
    moved = FM_MAX(moved, fabs(after[i] - before[i])), worst = FM_MAX(worst, fabs(after[i] - want[i]));
  char why[80];
  snprintf(why, sizeof why, "outputs moved %.3g, differ from a fresh network by %.3g", moved, worst);
  report(moved > 1e-3 && worst == 0, "Winograd and int16 dense weights follow weight changes", why);
  fm_net_free(net), fm_net_free(fresh);
}

/* Batch norm in training against double-precision loops: the output, and
 * the running statistics (unbiased variance, momentum 0.1), on inputs far
 * from zero (the mean's rounding must not leak into the variance; x - mean
 * in float costs about 5e-6 on outputs at 300 +- 3, against 1e-7 in double). */
static void test_batchnorm_stats(void) {
  enum { B = 5, C = 3, HW = 13 };
  fm_shape in = {C, 1, HW, 0};
  test_layer t = make_layer(FM_BATCHNORM, in, 0, 0, B);
  for (int c = 0; c < C; c++) t.L.running_var[c] = 1.0f;
  float x[B * C * HW], y[B * C * HW];
  for (int i = 0; i < B * C * HW; i++) x[i] = 300.0f + frand() * (1 + i % C);
  fm_rng rng;
  fm_rng_seed(&rng, 1, FM_STREAM_DROPOUT);
  fm_layer_forward(&t.L, x, y, B, 1, &rng);
  double worst = 0, worst_stats = 0;
  for (int c = 0; c < C; c++) {
    double m = 0, v = 0, n = B * HW;
    for (int b = 0; b < B; b++) for (int k = 0; k < HW; k++) m += x[(b * C + c) * HW + k];
    m /= n;
    for (int b = 0; b < B; b++) for (int k = 0; k < HW; k++) v += (x[(b * C + c) * HW + k] - m) * (x[(b * C + c) * HW + k] - m);
    for (int b = 0; b < B; b++)
      for (int k = 0; k < HW; k++) {
        double want = (x[(b * C + c) * HW + k] - m) / sqrt(v / n + 1e-5) * t.L.w[c] + t.L.b[c];
        worst = fmax(worst, fabs(want - y[(b * C + c) * HW + k]));
      }
    worst_stats = fmax(worst_stats, fabs(t.L.running_mean[c] - 0.1 * m) / (0.1 * m));
    worst_stats = fmax(worst_stats, fabs(t.L.running_var[c] - (0.9 + 0.1 * v / (n - 1))) / (0.9 + 0.1 * v / (n - 1)));
  }
  char why[80];
  snprintf(why, sizeof why, "output off by %.3g, running statistics by %.3g (relative)", worst, worst_stats);
  report(worst < 2e-5 && worst_stats < 1e-6, "batch norm training output and running statistics = double loops", why);
  free_layer(&t);
}

/* Inference fuses each convolution with the batch norm, ReLU and (F(4x4)
 * planes) 2x2 max-pool after it (fm_net_infer): the same outputs as the
 * layers one by one, through the im2col first layer, F(4x4) and F(2x2)
 * Winograd planes, bn without relu and relu without bn, pools of even and odd
 * planes (7x7 -> 3x3, 10x10 -> 5x5: a ragged row of pooled tiles), a pool
 * straight after the convolution and one the F(2x2) plane leaves alone. */
static void test_fused_inference(void) {
  static const struct { const char *spec; int side; } nets[] = {
    {"conv3x3:8,bn,relu,conv3x3:8,bn,relu,maxpool2,conv3x3:16,bn,conv3x3:8,relu,flatten,dense:10", 14},
    {"conv3x3:8,bn,relu,conv3x3:12,bn,relu,conv1x1:8,bn,relu,flatten,dense:10", 6},
    {"conv5x5:8,relu,conv3x3:8,bn,gap,flatten,dense:10", 9},
    {"conv3x3:8,bn,relu,skip,conv3x3:8,bn,relu,conv3x3:8,bn,add,relu,skip,conv3x3:8,bn,relu,add,gap,flatten,dense:10", 9},
    {"conv3x3:8,bn,relu,conv3x3:8,maxpool2,flatten,dense:10", 7},
    {"conv3x3:8,relu,conv3x3:12,bn,relu,maxpool2,conv3x3:8,relu,maxpool2,flatten,dense:10", 10},
    {"conv3x3:8,bn,relu,skip,conv3x3:8,bn,relu,skip,conv3x3:8,bn,relu,add,conv3x3:8,bn,add,relu,maxpool2,flatten,dense:10", 8}};
  for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
    int side = nets[k].side, B = 7, in = side * side;
    fm_net *net = fm_net_create(nets[k].spec, 1, side, side, 11 + k);
    /* Batch norms with their own statistics, as after training; every
     * third channel's gamma negative (the fused max-pool then pools the
     * smallest sum: the epilogue reverses the order). */
    for (long i = 0; i < net->nbuffers; i++) net->buffers[i] = (i / 4) % 2 ? 0.5f + frand() * 0.8f : frand() * 0.3f;
    for (int l = 0; l < net->nlayers; l++)
      if (net->layers[l].kind == FM_BATCHNORM)
        for (int c = 0; c < net->layers[l].in.c; c++)
          net->layers[l].w[c] = (c % 3 ? 1.0f : -1.0f) * (1.0f + frand()), net->layers[l].b[c] = frand() * 0.5f,
          net->layers[l].running_var[c] = 0.2f + fabsf(frand());
    fm_net_reserve(net, B, FM_RESERVE_FORWARD);
    fm_net_set_exact(net, 1); /* float32 throughout, as the layers one by one (int16: test_q16.c) */
    float x[7 * 196], want[70], got[70];
    for (int i = 0; i < B * in; i++) x[i] = frand() + 0.5f;
    memcpy(net->acts[0], x, sizeof(float) * B * in);
    memcpy(want, fm_net_forward(net, B, 0), sizeof want);
    memcpy(net->acts[0], x, sizeof(float) * B * in);
    memcpy(got, fm_net_infer(net, B), sizeof got);
    double worst = 0, scale = 0;
    for (int i = 0; i < B * 10; i++) worst = fmax(worst, fabs(got[i] - want[i])), scale = fmax(scale, fabs(want[i]));
    char name[96], why[64];
    snprintf(name, sizeof name, "fused conv+bn+relu+pool inference = layer by layer (%dx%d net %zu)", side, side, k);
    snprintf(why, sizeof why, "max difference %.3g on logits up to %.3g", worst, scale);
    report(worst <= 1e-5 * fmax(1.0, scale) && scale > 1e-3, name, why);
    /* The same weights reserved for inference alone: no buffers for the
     * activations inside fused passes, the same logits bit for bit; then
     * reserved for training, the missing buffers appear and the layer-by-
     * layer pass gives its own logits bit for bit too. */
    fm_net *lean = fm_net_create(nets[k].spec, 1, side, side, 11 + k);
    memcpy(lean->params, net->params, sizeof(float) * (size_t)net->nparams);
    memcpy(lean->buffers, net->buffers, sizeof(float) * (size_t)net->nbuffers);
    fm_net_reserve(lean, B, FM_RESERVE_INFER);
    fm_net_set_exact(lean, 1);
    int missing = 0, fused = 0, distinct = 0;
    for (int l = 0; l <= lean->nlayers; l++) {
      missing += !lean->acts[l];
      int seen = 0; /* the buffers inference shares among its activations */
      for (int k2 = 0; k2 < l; k2++) seen |= lean->acts[k2] == lean->acts[l];
      distinct += lean->acts[l] && !seen;
    }
    for (int l = 0; l + 1 < net->nlayers; l++)
      fused += net->layers[l].kind == FM_CONV && (net->layers[l + 1].kind == FM_BATCHNORM || net->layers[l + 1].kind == FM_RELU);
    memcpy(lean->acts[0], x, sizeof(float) * B * in);
    int same = !memcmp(fm_net_infer(lean, B), got, sizeof got);
    fm_net_reserve(lean, B, FM_RESERVE_TRAIN);
    int complete = 1;
    for (int l = 0; l <= lean->nlayers; l++) complete &= lean->acts[l] && lean->dacts[l];
    memcpy(lean->acts[0], x, sizeof(float) * B * in);
    same &= complete && !memcmp(fm_net_forward(lean, B, 0), want, sizeof want);
    /* Inference again, now through a buffer per activation. */
    memcpy(lean->acts[0], x, sizeof(float) * B * in);
    same &= !memcmp(fm_net_infer(lean, B), got, sizeof got);
    char lname[96], lwhy[128];
    snprintf(lname, sizeof lname, "inference-only buffers: same logits, then training buffers (net %zu)", k);
    snprintf(lwhy, sizeof lwhy, "%d of %d activation buffers left out, %d fused convolutions, %d shared buffers",
             missing, lean->nlayers + 1, fused, distinct);
    /* Fewer buffers than activations: the input keeps its own, the passes
     * take turns in the rest (a nested residual block holds two shortcuts,
     * its input and its output at once: 5 in all). */
    report(same && (missing > 0) == (fused > 0) && distinct < lean->nlayers + 1 - missing && distinct <= 5, lname,
           lwhy);
    fm_net_free(lean);
    fm_net_free(net);
  }
}

/* Test-time views ("tta" = "shift"): an image sure on its own (top class
 * >= 0.9) keeps its own probabilities, any other gets the mean of itself and
 * the image moved one pixel left and right; unknown modes are refused. */
static void test_views(void) {
  enum { N = 8, W = 7, H = 5 };
  fm_net *net = fm_net_create("conv3x3:4,relu,flatten,dense:10", 1, H, W, 8);
  float x[N * H * W], moved[3][N * H * W], single[3][N * 10], got[N * 10];
  for (int i = 0; i < N * H * W; i++) x[i] = (frand() + 0.5f) * (float)(1 + i / (H * W)); /* growing contrast */
  /* Scale the weights up until the batch holds both sure and unsure images. */
  int sure = 0;
  for (int round = 0; round < 12 && (sure == 0 || sure == N); round++) {
    if (round) {
      float *p = fm_net_params(net);
      for (long i = 0; i < net->nparams; i++) p[i] *= 1.5f;
    }
    fm_net_predict_f32(net, x, N, single[0]);
    sure = 0;
    for (int i = 0; i < N; i++) {
      float top = 0;
      for (int j = 0; j < 10; j++) top = FM_MAX(top, single[0][i * 10 + j]);
      sure += top >= 0.9f;
    }
  }
  const int dxs[3] = {0, 1, -1};
  for (int v = 0; v < 3; v++) {
    for (int r = 0; r < N * H; r++)
      for (int c = 0; c < W; c++)
        moved[v][r * W + c] = c + dxs[v] >= 0 && c + dxs[v] < W ? x[r * W + c + dxs[v]] : 0;
    fm_net_predict_f32(net, moved[v], N, single[v]);
  }
  int refused = !fm_net_set_meta(net, "tta", "flip") && !net->tta &&
                !fm_net_predict_f32(net, NULL, 1, got) && !fm_net_predict_u8(net, NULL, 1, got);
  fm_net_set_meta(net, "tta", "shift");
  fm_net_predict_f32(net, x, N, got);
  double worst = 0;
  for (int i = 0; i < N; i++) {
    float top = 0;
    for (int j = 0; j < 10; j++) top = FM_MAX(top, single[0][i * 10 + j]);
    for (int j = 0; j < 10; j++) {
      int k = i * 10 + j;
      float want = top >= 0.9f ? single[0][k] : (single[0][k] + single[1][k] + single[2][k]) / 3;
      worst = FM_MAX(worst, fabs(got[k] - want));
    }
  }
  char why[96];
  snprintf(why, sizeof why, "error %.3g, %d of %d sure alone, bad mode / no images refused %d", worst, sure, N, refused);
  report(worst < 1e-6 && sure > 0 && sure < N && refused, "test-time views: shifted means for unsure images", why);
  /* views_below moves the line between sure and unsure: put it between two
   * images' top probabilities and the views follow it; a value out of 0..1
   * is refused and leaves the threshold as it was. */
  float tops[N], lo = 1, hi = 0;
  for (int i = 0; i < N; i++) {
    tops[i] = 0;
    for (int j = 0; j < 10; j++) tops[i] = FM_MAX(tops[i], single[0][i * 10 + j]);
    lo = FM_MIN(lo, tops[i]), hi = FM_MAX(hi, tops[i]);
  }
  char thr[16];
  snprintf(thr, sizeof thr, "%.4f", (lo + hi) / 2);
  float below = 0;
  for (int i = 0; i < 5; i++) below = below * 10 + (thr[i == 0 ? 0 : i + 1] - '0'); /* "0.xxxx" */
  below /= 1e4f;
  int set = fm_net_set_meta(net, "views_below", thr) && net->views_below == below;
  int bad = !fm_net_set_meta(net, "views_below", "1.5") && !fm_net_set_meta(net, "views_below", "-0.2") &&
            net->views_below == below;
  fm_net_predict_f32(net, x, N, got);
  int viewed = 0;
  worst = 0;
  for (int i = 0; i < N; i++) {
    viewed += tops[i] < below;
    for (int j = 0; j < 10; j++) {
      int k = i * 10 + j;
      float want = tops[i] >= below ? single[0][k] : (single[0][k] + single[1][k] + single[2][k]) / 3;
      worst = FM_MAX(worst, fabs(got[k] - want));
    }
  }
  snprintf(why, sizeof why, "threshold %s: error %.3g, %d of %d viewed, set %d, bad refused %d", thr, worst,
           viewed, N, set, bad);
  report(worst < 1e-6 && viewed > 0 && viewed < N && set && bad, "test-time views: views_below threshold", why);
  /* mirror: an image under the threshold is the mean of itself and its
   * mirror; with views_below 1, every image. */
  float mirrored[N * H * W], mprobs[N * 10];
  for (int r = 0; r < N * H; r++)
    for (int c = 0; c < W; c++) mirrored[r * W + c] = x[r * W + W - 1 - c];
  fm_net_set_meta(net, "tta", "none");
  fm_net_predict_f32(net, mirrored, N, mprobs);
  fm_net_set_meta(net, "tta", "mirror");
  fm_net_predict_f32(net, x, N, got);
  worst = 0;
  for (int k = 0; k < N * 10; k++) {
    float want = tops[k / 10] >= below ? single[0][k] : (single[0][k] + mprobs[k]) / 2;
    worst = FM_MAX(worst, fabs(got[k] - want));
  }
  fm_net_set_meta(net, "views_below", "1");
  fm_net_predict_f32(net, x, N, got);
  double all = 0;
  for (int k = 0; k < N * 10; k++) all = FM_MAX(all, fabs(got[k] - (single[0][k] + mprobs[k]) / 2));
  snprintf(why, sizeof why, "under the threshold: error %.3g; views_below 1: error %.3g", worst, all);
  report(worst < 1e-6 && all < 1e-6, "test-time views: mirror under the threshold, or for every image", why);
  fm_net_free(net);
}

/* The threaded layers (native build) against the serial ones: same outputs
 * and gradients up to float rounding. */
static void test_threads(void) {
  if (!fm_set_threads(2)) {
    printf("ok - threaded layers # SKIP %s\n", fm_last_error());
    return;
  }
  fm_set_threads(1);
  const char *spec = "conv3x3:8,relu,maxpool2,conv3x3:8,bn,relu,flatten,dense:32,relu,dense:10";
  int B = 9;
  float *grads[2], *logits[2];
  long np = 0;
  for (int t = 0; t < 2; t++) {
    fm_set_threads(t + 1);
    fm_net *net = fm_net_create(spec, 1, 12, 12, 3);
    fm_net_reserve(net, B, 1);
    fm_rng r;
    fm_rng_seed(&r, 1, 1);
    for (int i = 0; i < B * 144; i++) net->acts[0][i] = fm_rng_uniform(&r);
    uint8_t labels[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    memset(net->grads, 0, sizeof(float) * net->nparams);
    float *z = fm_net_forward(net, B, 1);
    logits[t] = malloc(sizeof(float) * B * 10);
    memcpy(logits[t], z, sizeof(float) * B * 10);
    fm_softmax_xent(z, labels, B, 10, 0, net->probs, net->dacts[net->nlayers], NULL);
    fm_net_backward(net, B);
    np = net->nparams;
    grads[t] = malloc(sizeof(float) * np);
    memcpy(grads[t], net->grads, sizeof(float) * np);
    fm_net_free(net);
  }
  fm_set_threads(1);
  double worst = 0;
  for (int i = 0; i < B * 10; i++) worst = FM_MAX(worst, fabs(logits[0][i] - logits[1][i]));
  for (long i = 0; i < np; i++) worst = FM_MAX(worst, fabs(grads[0][i] - grads[1][i]));
  char detail[64];
  snprintf(detail, sizeof detail, "max difference %.3g", worst);
  report(worst < 1e-5, "2 threads match 1 thread (forward and gradients)", detail);
  for (int t = 0; t < 2; t++) free(grads[t]), free(logits[t]);

  /* Inference (int16 where it applies: the dense:32 of 288 inputs) splits
   * the batch by images, each quantised on its own: the same bits on any
   * number of threads. */
  float x[9 * 144], probs[2][9 * 10];
  fm_rng r;
  fm_rng_seed(&r, 2, 1);
  for (int i = 0; i < B * 144; i++) x[i] = fm_rng_uniform(&r);
  for (int t = 0; t < 2; t++) {
    fm_set_threads(t + 1);
    fm_net *net = fm_net_create(spec, 1, 12, 12, 3);
    fm_net_predict_f32(net, x, B, probs[t]);
    fm_net_free(net);
  }
  fm_set_threads(1);
  report(!memcmp(probs[0], probs[1], sizeof probs[0]), "2 threads match 1 thread (int16 inference, bit for bit)", "");

  /* Batch norm in training shares out its channels (an odd count, planes
   * with a tail past the last vector): each channel is computed as by one
   * thread, so output, running statistics and gradients match bit for bit. */
  enum { BC = 5, BHW = 13, BB = 3, BN_N = BB * BC * BHW };
  fm_shape bin = {BC, 1, BHW, 0};
  float bx[BN_N], bdy[BN_N], by[2][BN_N], bdx[2][BN_N], bstate[2][4 * BC];
  for (int i = 0; i < BN_N; i++) bx[i] = 2 + frand() * (1 + i % 3), bdy[i] = frand();
  test_layer bn[2];
  for (int t = 0; t < 2; t++) {
    bn[t] = make_layer(FM_BATCHNORM, bin, 0, 0, BB);
    if (t) memcpy(bn[1].params, bn[0].params, sizeof(float) * 2 * BC);
    fm_set_threads(t + 1);
    fm_rng drop;
    fm_rng_seed(&drop, 7, FM_STREAM_DROPOUT);
    fm_layer_forward(&bn[t].L, bx, by[t], BB, 1, &drop);
    fm_layer_backward(&bn[t].L, bx, by[t], bdy, bdx[t], BB);
    memcpy(bstate[t], bn[t].buffers, sizeof(float) * 2 * BC);
    memcpy(bstate[t] + 2 * BC, bn[t].grads, sizeof(float) * 2 * BC);
  }
  fm_set_threads(1);
  report(!memcmp(by[0], by[1], sizeof by[0]) && !memcmp(bdx[0], bdx[1], sizeof bdx[0]) &&
             !memcmp(bstate[0], bstate[1], sizeof bstate[0]),
         "2 threads match 1 thread (batch norm training: output, statistics, gradients, bit for bit)", "");
  free_layer(&bn[0]), free_layer(&bn[1]);
}

/* Training folds each ReLU into its neighbours (fm_net_forward /
 * fm_net_backward): the layer before writes the ReLU's output, the layer
 * after gates its input gradient. The logits and every parameter gradient
 * must be those of the layers run one by one, bit for bit, through each way
 * a gradient gets gated: F(4x4) Winograd (14x14, 7x7), F(2x2) (4x4 planes),
 * im2col (5x5 and few input channels), max-pools of even, odd and narrow
 * planes, batch norm before the ReLU, and a ReLU as the first layer (its
 * input needs no gradient). */
static void test_relu_folding(void) {
  static const struct { const char *spec; int side; } nets[] = {
    {"conv3x3:8,relu,conv3x3:8,bn,relu,maxpool2,conv3x3:8,relu,conv3x3:8,relu,flatten,dense:10", 14},
    {"conv3x3:8,relu,maxpool2,conv3x3:8,relu,conv3x3:8,relu,maxpool2,flatten,dense:10", 9},
    {"relu,conv5x5:4,relu,conv3x3:8,bn,relu,flatten,dense:10", 6}};
  for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
    int B = 5, side = nets[k].side, in = side * side;
    fm_net *net = fm_net_create(nets[k].spec, 1, side, side, 21 + k);
    fm_net_reserve(net, B, FM_RESERVE_TRAIN);
    float *x = malloc(sizeof(float) * B * in), *logits = malloc(sizeof(float) * B * 10);
    float *grads = malloc(sizeof(float) * net->nparams);
    for (int i = 0; i < B * in; i++) x[i] = frand();
    uint8_t labels[5] = {1, 7, 3, 3, 0};
    for (int pass = 0; pass < 2; pass++) {
      /* pass 0: the layers one by one; pass 1: the network's folded passes */
      memcpy(net->acts[0], x, sizeof(float) * B * in);
      memset(net->grads, 0, sizeof(float) * net->nparams);
      const float *out;
      if (pass) {
        out = fm_net_forward(net, B, 1);
      } else {
        for (int l = 0; l < net->nlayers; l++)
          fm_layer_forward(&net->layers[l], net->acts[l], net->acts[l + 1], B, 1, &net->dropout_rng);
        out = net->acts[net->nlayers];
      }
      fm_softmax_xent(out, labels, B, 10, 0, net->probs, net->dacts[net->nlayers], NULL);
      if (pass) {
        fm_net_backward(net, B);
      } else {
        for (int l = net->nlayers - 1; l >= 0; l--)
          fm_layer_backward(&net->layers[l], net->acts[l], net->acts[l + 1], net->dacts[l + 1],
                            l > 0 ? net->dacts[l] : NULL, B);
      }
      if (!pass) {
        memcpy(logits, out, sizeof(float) * B * 10);
        memcpy(grads, net->grads, sizeof(float) * net->nparams);
      }
    }
    int same_logits = !memcmp(logits, net->acts[net->nlayers], sizeof(float) * B * 10);
    long differ = 0;
    for (long i = 0; i < net->nparams; i++) differ += grads[i] != net->grads[i];
    char name[128], why[64];
    snprintf(name, sizeof name, "ReLU folded into its neighbours = layers one by one (%.60s)", nets[k].spec);
    snprintf(why, sizeof why, "logits %s, %ld of %ld gradients differ", same_logits ? "same" : "DIFFER", differ,
             net->nparams);
    report(same_logits && !differ, name, why);
    free(x), free(logits), free(grads);
    fm_net_free(net);
  }
}

int main(void) {
  fm_rng_seed(&g_rng, 12345, 99);
  test_gemm();
  test_layers();
  test_forward_reference();
  test_loss();
  gradcheck_net("flatten,dense:16,bn,dropout:0.3,dense:10", 6, 1);
  gradcheck_net("conv3x3:4,bn,conv3x3:6,bn,gap,flatten,dense:10", 8, 1);
  gradcheck_net("conv5x5:3,conv1x1:4,flatten,dropout:0.2,dense:10", 6, 1);
  gradcheck_net("flatten,dense:16,relu,dense:10", 6, 0);
  gradcheck_net("conv3x3:4,relu,maxpool2,conv3x3:6,bn,gap,flatten,dense:10", 8, 0);
  gradcheck_net("conv3x3:8,bn,conv3x3:8,flatten,dense:10", 6, 1);
  gradcheck_net("conv5x5:3,relu,maxpool2,flatten,dropout:0.3,dense:12,bn,relu,dense:10", 8, 0);
  /* Residual connections: a ResNet basic block on Winograd-sized planes,
   * nested blocks, a block on flat vectors, and a skip as the first layer. */
  gradcheck_net("conv3x3:4,bn,relu,skip,conv3x3:4,bn,relu,conv3x3:4,bn,add,gap,flatten,dense:10", 8, 0);
  gradcheck_net("conv3x3:4,bn,skip,conv3x3:4,bn,conv3x3:4,bn,add,gap,flatten,dense:10", 8, 1);
  gradcheck_net("conv3x3:4,skip,conv3x3:4,bn,skip,conv3x3:4,add,conv1x1:4,add,gap,flatten,dense:10", 6, 1);
  gradcheck_net("flatten,dense:12,skip,dense:12,bn,skip,dense:12,add,add,dense:10", 5, 1);
  gradcheck_net("skip,conv3x3:1,bn,add,flatten,dense:10", 6, 1);
  test_relu_folding();
  test_optim();
  test_augment_photo();
  test_jitter();
  test_augment_pair();
  test_wino_kernel4();
  test_wino_cache();
  test_fused_inference();
  test_batchnorm_stats();
  test_backward_reference();
  test_views();
  test_threads();
  test_saliency();
  test_float16();
  test_q16();
  fm_gemm_release();
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}

/* bench/kernels.c: per-kernel speed, against the machine's limit. Built as a
 * WASI program (build/bench_kernels.wasm, run by bench/kernels.mjs under
 * Node) and natively (build/native/bench_kernels), from the same sources as
 * the product. Each kernel is called many times in a row, so V8 has swapped
 * in its optimised code before the timed calls (toolchain.md, tiering).
 *   peak      12 independent f32x4 mul+add chains: what one core can do
 *   ukernel   the 4x8 GEMM micro-kernel on packed panels in L1
 *   gemm      fm_gemm on the shapes cnn-small's layers run (forward conv,
 *             weight gradient, input gradient, dense)
 *   winograd  a 3x3 convolution's Winograd forward on the images it takes
 *             per call
 *             (F(4x4,3x3): transforms + 36 GEMMs, on these 7x7 to 28x28
 *             planes), counted as the multiply-adds of the direct
 *             convolution: above 100% of peak is the up to 4x fewer
 *             multiplies paying off
 *   int16     the same against the int16 peak (12 i32x4.dot_i16x8 + add
 *             chains: 8 multiply-adds per dot): the int16 GEMM on a
 *             Winograd layer's shape, and the inference forward pass of the
 *             F(4x4) layers in int16 (gemm_q16.h)
 * Prints one line per kernel: GFLOP/s (GOP/s for int16: a multiply-add is 2)
 * and the fraction of peak. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/gemm.h"
#include "kernels/gemm_q16.h"
#include "kernels/simd.h"
#include "layers/winograd.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* 12 independent chains of STEP (as ../shared/anchors/peak.c: enough to
 * cover the latency), 1024 iterations, then their sum with ADD. */
#define CHAINS(STEP, ADD)                                                                 \
  for (int i = 0; i < 1024; i++) {                                                        \
    STEP(c0), STEP(c1), STEP(c2), STEP(c3), STEP(c4), STEP(c5);                           \
    STEP(c6), STEP(c7), STEP(c8), STEP(c9), STEP(c10), STEP(c11);                         \
  }                                                                                       \
  v128_t s = ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7)));           \
  s = ADD(s, ADD(ADD(c8, c9), ADD(c10, c11)))

/* f32x4 mul+add: 12 * 4 * 2 * 1024 flops. */
#define STEP(x) x = wasm_f32x4_add(wasm_f32x4_mul(x, b), a)
__attribute__((noinline)) static float peak_once(float seed) {
  v128_t a = wasm_f32x4_splat(1e-7f), b = wasm_f32x4_splat(0.999999f);
  v128_t c0 = wasm_f32x4_splat(seed), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  v128_t c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  CHAINS(STEP, wasm_f32x4_add);
  return wasm_f32x4_extract_lane(s, 0);
}

/* i32x4.dot_i16x8 + add, each dot reading its own chain (so none can be
 * shared): 12 * 8 * 2 * 1024 ops. Integer sums wrap: the values need no
 * care. */
#define QSTEP(x) x = wasm_i32x4_add(wasm_i32x4_dot_i16x8(x, b), a)
__attribute__((noinline)) static int peak_q16_once(int seed) {
  v128_t a = wasm_i32x4_splat(seed | 1), b = wasm_i16x8_splat(3);
  v128_t c0 = wasm_i32x4_splat(seed), c1 = wasm_i32x4_add(c0, a), c2 = wasm_i32x4_add(c1, a);
  v128_t c3 = wasm_i32x4_add(c2, a), c4 = wasm_i32x4_add(c3, a), c5 = wasm_i32x4_add(c4, a);
  v128_t c6 = wasm_i32x4_add(c5, a), c7 = wasm_i32x4_add(c6, a), c8 = wasm_i32x4_add(c7, a);
  v128_t c9 = wasm_i32x4_add(c8, a), c10 = wasm_i32x4_add(c9, a), c11 = wasm_i32x4_add(c10, a);
  CHAINS(QSTEP, wasm_i32x4_add);
  return wasm_i32x4_extract_lane(s, 0);
}

static float sink;
static int isink;

/* Calls fn until 0.5 s have passed (after a warm-up); returns calls/s. */
#define RATE(call)                                                   \
  ({                                                                 \
    for (int w = 0; w < 200; w++) call;                              \
    long n = 0;                                                      \
    double t0 = now(), t;                                            \
    do {                                                             \
      for (int r = 0; r < 20; r++) call;                             \
      n += 20;                                                       \
    } while ((t = now()) - t0 < 0.5);                                \
    n / (t - t0);                                                    \
  })

static float *randoms(size_t n) {
  float *p = aligned_alloc(16, (n * sizeof(float) + 15) / 16 * 16);
  for (size_t i = 0; i < n; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return p;
}

int main(void) {
  double peak = RATE(sink += peak_once(sink * 1e-9f + 1.0f)) * 12 * 4 * 2 * 1024 / 1e9;
  printf("%-44s %7.1f GFLOP/s  100%%\n", "peak (f32x4 mul+add, 12 chains)", peak);

  enum { KC = 256 };
  float *pa = randoms(KC * FM_GEMM_MR), *pb = randoms(KC * FM_GEMM_NR), c[FM_GEMM_MR * FM_GEMM_NR];
  double uk = RATE(fm_ukernel_4x8(KC, pa, pb, FM_GEMM_NR, c, FM_GEMM_NR, 4, 8, 0)) * 2.0 * KC *
              FM_GEMM_MR * FM_GEMM_NR / 1e9;
  printf("%-44s %7.1f GFLOP/s  %3.0f%%\n", "ukernel 4x8, kc 256 (packed, in L1)", uk, 100 * uk / peak);

  /* M, N, K, transposes (rsa, csa, rsb, csb as the layers call them). */
  static const struct {
    const char *name;
    int M, N, K, ta, tb;
  } shapes[] = {
      {"conv 16->32 forward   W[32x144] col[144x784]", 32, 784, 144, 0, 0},
      {"conv 32->64 forward   W[64x288] col[288x196]", 64, 196, 288, 0, 0},
      {"conv 16->32 dW        dY[32x784] col^T", 32, 144, 784, 0, 1},
      {"conv 16->32 dcol      W^T[144x32] dY[32x784]", 144, 784, 32, 1, 0},
      {"dense 3136->128, batch 64  X W^T", 64, 128, 3136, 0, 1},
  };
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
    float *A = randoms((size_t)M * K), *B = randoms((size_t)K * N), *C = randoms((size_t)M * N);
    ptrdiff_t rsa = shapes[s].ta ? 1 : K, csa = shapes[s].ta ? M : 1;
    ptrdiff_t rsb = shapes[s].tb ? 1 : N, csb = shapes[s].tb ? K : 1;
    double g = RATE(fm_gemm(M, N, K, A, rsa, csa, B, rsb, csb, C, N, 0)) * 2.0 * M * N * K / 1e9;
    printf("gemm %-39s %7.1f GFLOP/s  %3.0f%%\n", shapes[s].name, g, 100 * g / peak);
    free(A), free(B), free(C);
  }
  double qpeak = RATE(isink += peak_q16_once(isink & 7)) * 12 * 8 * 2 * 1024 / 1e9;
  /* cin, cout, side: cnn-small's two Winograd layers, cnn-bn's widest; the
   * float32 forward pass (training's), then inference's int16 one (its
   * lines printed after the int16 peak). */
  static const int convs[][3] = {{16, 32, 28}, {32, 64, 14}, {32, 32, 28}, {64, 128, 7}};
  enum { NCONV = sizeof convs / sizeof convs[0] };
  char qlines[NCONV][96];
  for (size_t s = 0; s < NCONV; s++) {
    fm_layer L = {.kind = FM_CONV, .k = 3};
    L.in = (fm_shape){convs[s][0], convs[s][2], convs[s][2], 0};
    L.out = (fm_shape){convs[s][1], convs[s][2], convs[s][2], 0};
    int hw = L.in.h * L.in.w;
    L.w = randoms((size_t)L.out.c * L.in.c * 9), L.b = randoms((size_t)L.out.c);
    float *U = randoms(fm_wino_weights_size(&L)), *scratch = randoms(fm_wino_scratch(&L));
    L.wq = malloc(sizeof(int16_t) * fm_wino_q16_size(&L)), L.wqs = malloc(sizeof(float) * fm_wino_q16_scales(&L));
    int G = fm_wino_group(&L); /* the images the layer runs per call */
    float *x = randoms((size_t)G * L.in.c * hw), *y = randoms((size_t)G * L.out.c * hw);
    fm_wino_weights(&L, U);
    fm_wino_q16_weights(&L, U, L.wq, L.wqs);
    double work = 2.0 * G * L.out.c * L.in.c * 9 * hw / 1e9;
    double g = RATE(fm_wino_forward(&L, U, x, y, G, scratch)) * work;
    fm_wino_epilogue e = {NULL, L.b, 1, 0};
    double q = RATE(fm_wino_forward_fused(&L, U, x, y, G, scratch, e, 1)) * work;
    char name[64];
    snprintf(name, sizeof name, "conv %d->%d at %dx%d, %d image%s", L.in.c, L.out.c, L.in.h, L.in.w, G, G > 1 ? "s" : "");
    printf("winograd %-35s %7.1f GFLOP/s  %3.0f%%\n", name, g, 100 * g / peak);
    snprintf(qlines[s], sizeof qlines[s], "int16 winograd %-29s %7.1f GOP/s    %3.0f%%", name, q, 100 * q / qpeak);
    free(L.w), free(L.b), free(L.wq), free(L.wqs), free(U), free(scratch), free(x), free(y);
  }

  printf("%-44s %7.1f GOP/s    100%%\n", "int16 peak (i32x4.dot_i16x8 + add, 12 chains)", qpeak);
  {
    enum { M = 64, N = 104, K = 32 }; /* one of cnn-bn's 14x14 layer's 36 GEMMs */
    float *A = randoms((size_t)M * K), *B = randoms((size_t)K * N), *C = randoms((size_t)M * N), rs[M], cs[N + 8];
    int16_t *qa = malloc(sizeof(int16_t) * fm_q16_a_size(M, K)), *qb = malloc(sizeof(int16_t) * fm_q16_b_size(K, N));
    fm_q16_pack_a(M, K, A, K, qa, rs);
    fm_q16_pack_b(K, N, B, N, qb, cs);
    double g = RATE(fm_gemm_q16(M, N, K, qa, rs, qb, cs, C, N)) * 2.0 * M * N * K / 1e9;
    printf("%-44s %7.1f GOP/s    %3.0f%%\n", "int16 gemm 64x104x32 (packed, in L1)", g, 100 * g / qpeak);
    free(A), free(B), free(C), free(qa), free(qb);
  }
  for (size_t s = 0; s < NCONV; s++) printf("%s\n", qlines[s]);
  fm_gemm_release();
  free(pa), free(pb);
  return sink == 12345.0f && isink == 12345; /* keeps the peak loops from being optimised away */
}

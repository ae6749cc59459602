/* dense.c: fully connected layer, PyTorch nn.Linear layout.
 * x [B, in], w [out, in], b [out], y [B, out].
 * The three GEMMs split across threads by rows of their output, so threads
 * never write the same memory and no reduction is needed. */
#include <stdlib.h>

#include "../common.h"
#include "../kernels/gemm.h"
#include "../kernels/gemm_q16.h"
#include "../kernels/parallel.h"
#include "../kernels/simd.h"
#include "layer.h"

typedef struct {
  fm_layer *L;
  const float *x, *dy;
  float *y, *dx;
  int B;
} dense_job;

/* y[o] = b[o] + x . w[o] for one sample: one pass over the weights, which
 * are contiguous per output. For one image (latency) the GEMM would first
 * repack all of w, costing more than the products themselves. */
static void forward_one(const fm_layer *L, const float *x, float *y) {
  int in = fm_shape_size(L->in), out = L->out.c;
  for (int o = 0; o < out; o++) {
    const float *w = L->w + (size_t)o * in;
    v128_t a0 = wasm_f32x4_splat(0), a1 = a0;
    int i = 0;
    for (; i + 8 <= in; i += 8) {
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(w + i)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(x + i + 4), wasm_v128_load(w + i + 4)));
    }
    float s = fm_f32x4_sum(wasm_f32x4_add(a0, a1));
    for (; i < in; i++) s += x[i] * w[i];
    y[o] = L->b[o] + s;
  }
}

static void forward_rows(void *ctx, int begin, int end, int tid) {
  dense_job *j = ctx;
  int in = fm_shape_size(j->L->in), out = j->L->out.c;
  float *y = j->y + (size_t)begin * out;
  if (j->B <= 2) { /* decided on the whole batch, so threads do not change the result */
    for (int i = begin; i < end; i++) forward_one(j->L, j->x + (size_t)i * in, j->y + (size_t)i * out);
    return;
  }
  /* y = b (broadcast), then y += x * w^T: the bias rides in the GEMM's
   * accumulate, no second pass over y. */
  for (int i = 0; i < end - begin; i++)
    for (int o = 0; o < out; o++) y[i * out + o] = j->L->b[o];
  fm_gemm(end - begin, out, in, j->x + (size_t)begin * in, in, 1, j->L->w, 1, in, y, out, 1);
}

void fm_dense_forward(fm_layer *L, const float *x, float *y, int B) {
  dense_job j = {L, x, NULL, y, NULL, B};
  fm_parallel_for(B, FM_MAX_THREADS, forward_rows, &j);
}

/* dw [out, in] += dy^T [out, B] * x [B, in], rows [begin, end) of dw. */
static void dw_rows(void *ctx, int begin, int end, int tid) {
  dense_job *j = ctx;
  int in = fm_shape_size(j->L->in), out = j->L->out.c;
  fm_gemm(end - begin, in, j->B, j->dy + begin, 1, out, j->x, in, 1,
          j->L->dw + (size_t)begin * in, in, 1);
}

/* dx [B, in] = dy [B, out] * w [out, in], rows [begin, end) of dx. */
static void dx_rows(void *ctx, int begin, int end, int tid) {
  dense_job *j = ctx;
  int in = fm_shape_size(j->L->in), out = j->L->out.c;
  fm_gemm(end - begin, in, out, j->dy + (size_t)begin * out, out, 1, j->L->w, in, 1,
          j->dx + (size_t)begin * in, in, 0);
}

void fm_dense_backward(fm_layer *L, const float *x, const float *dy, float *dx, int B) {
  int out = L->out.c;
  dense_job j = {L, x, dy, NULL, dx, B};
  fm_parallel_for(out, FM_MAX_THREADS, dw_rows, &j);
  for (int i = 0; i < B; i++)
    for (int o = 0; o < out; o++) L->db[o] += dy[i * out + o];
  if (dx) fm_parallel_for(B, FM_MAX_THREADS, dx_rows, &j);
}

/* ---- int16 inference (gemm_q16.h) ----
 * y = x * w^T + b with x quantised per image (a row of A, packed on every
 * call) and w per output (a column of B, packed once per weights
 * generation). K = in is cut into slices of at most 512, each with its own
 * scales, summed in float: a 3,136-long dot product on one grid would have
 * 827 levels (the int32 limit), a 448-long slice has 2,189; and a slice of
 * B (448 x 128 int16, 112 KB) stays in cache while every row panel of the
 * block passes over it. Rows go 64 at a time, so a thread's packed A is a
 * fixed 57 KB whatever the batch. */
enum { DQ_SLICE = 512, DQ_ROWS = 64 };

static int dq_slices(int in) { return (in + DQ_SLICE - 1) / DQ_SLICE; }
/* Slice length: even and at most DQ_SLICE; the last slice may be shorter. */
static int dq_kc(int in) { int s = dq_slices(in); return ((in + s - 1) / s + 1) / 2 * 2; }

int fm_dense_q16_applies(const fm_layer *L) {
  /* C rows are written 8 columns at a time (out % 8 == 0 writes y in
   * place); under 64 inputs the packing costs what the multiplies save. */
  return L->kind == FM_DENSE && L->out.c % 8 == 0 && fm_shape_size(L->in) >= 64;
}

size_t fm_dense_q16_size(const fm_layer *L) {
  int in = fm_shape_size(L->in);
  return (size_t)dq_slices(in) * fm_q16_b_size(dq_kc(in), L->out.c);
}
size_t fm_dense_q16_scales(const fm_layer *L) { return (size_t)dq_slices(fm_shape_size(L->in)) * L->out.c; }
/* Per thread, in floats: a block's packed rows and their scales. */
size_t fm_dense_q16_scratch(const fm_layer *L) {
  return (fm_q16_a_size(DQ_ROWS, dq_kc(fm_shape_size(L->in))) + 1) / 2 + fm_q16_a_scales(DQ_ROWS);
}

/* B of slice s is w^T's rows [k0, k0 + kc): transposed into a float
 * scratch first (once per weights generation, so plain loops). */
static int dense_q16_weights(fm_layer *L) {
  int in = fm_shape_size(L->in), out = L->out.c, kc = dq_kc(in);
  float *t = malloc((size_t)kc * out * sizeof(float));
  if (!t) return fm_fail("out of memory packing a dense layer's weights");
  size_t bsize = fm_q16_b_size(kc, out);
  for (int s = 0, k0 = 0; k0 < in; s++, k0 += kc) {
    int n = FM_MIN(kc, in - k0);
    for (int k = 0; k < n; k++)
      for (int o = 0; o < out; o++) t[k * out + o] = L->w[(size_t)o * in + k0 + k];
    fm_q16_pack_b(n, out, t, out, L->wq + s * bsize, L->wqs + (size_t)s * out);
  }
  free(t);
  return 1;
}

static void infer_rows_q16(void *ctx, int begin, int end, int tid) {
  dense_job *j = ctx;
  fm_layer *L = j->L;
  int in = fm_shape_size(L->in), out = L->out.c, kc = dq_kc(in);
  size_t bsize = fm_q16_b_size(kc, out);
  float *scratch = L->wbuf + (size_t)tid * fm_dense_q16_scratch(L);
  float *rs = scratch;
  int16_t *pa = (int16_t *)(scratch + fm_q16_a_scales(DQ_ROWS));
  for (int r0 = begin; r0 < end; r0 += DQ_ROWS) {
    int rows = FM_MIN(DQ_ROWS, end - r0);
    float *y = j->y + (size_t)r0 * out;
    for (int s = 0, k0 = 0; k0 < in; s++, k0 += kc) {
      int n = FM_MIN(kc, in - k0);
      fm_q16_pack_a(rows, n, j->x + (size_t)r0 * in + k0, in, pa, rs);
      (s ? fm_gemm_q16_add : fm_gemm_q16)(rows, out, n, pa, rs, L->wq + s * bsize, L->wqs + (size_t)s * out, y, out);
    }
    for (int i = 0; i < rows; i++)
      for (int o = 0; o < out; o++) y[i * out + o] += L->b[o];
  }
}

void fm_dense_infer(fm_layer *L, const float *x, float *y, int B, int q16) {
  if (!q16 || !L->wq) {
    fm_dense_forward(L, x, y, B);
    return;
  }
  uint64_t gen = fm_layer_wgen(L);
  if (!gen || L->wino_gen != gen) {
    if (!dense_q16_weights(L)) { /* out of memory: float32 instead */
      fm_dense_forward(L, x, y, B);
      return;
    }
    L->wino_gen = gen;
  }
  dense_job j = {L, x, NULL, y, NULL, B};
  fm_parallel_for(B, FM_MAX_THREADS, infer_rows_q16, &j);
}

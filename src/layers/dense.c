/* dense.c: fully connected layer, PyTorch nn.Linear layout.
 * x [B, in], w [out, in], b [out], y [B, out].
 * The three GEMMs split across threads by rows of their output, so threads
 * never write the same memory and no reduction is needed. */
#include "../kernels/gemm.h"
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

/* dense.c: fully connected layer, PyTorch nn.Linear layout.
 * x [B, in], w [out, in], b [out], y [B, out].
 * The three GEMMs split across threads by rows of their output, so threads
 * never write the same memory and no reduction is needed. */
#include "../kernels/gemm.h"
#include "../kernels/parallel.h"
#include "layer.h"

typedef struct {
  fm_layer *L;
  const float *x, *dy;
  float *y, *dx;
  int B;
} dense_job;

static void forward_rows(void *ctx, int begin, int end, int tid) {
  dense_job *j = ctx;
  int in = fm_shape_size(j->L->in), out = j->L->out.c;
  float *y = j->y + (size_t)begin * out;
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

/* dense.c: fully connected layer, PyTorch nn.Linear layout.
 * x [B, in], w [out, in], b [out], y [B, out]. */
#include "layer.h"

#include "../kernels/gemm.h"

void fm_dense_forward(fm_layer *L, const float *x, float *y, int B) {
  int in = fm_shape_size(L->in), out = L->out.c;
  /* y = b (broadcast), then y += x * w^T: the bias rides in the GEMM's
   * accumulate, no second pass over y. */
  for (int i = 0; i < B; i++)
    for (int o = 0; o < out; o++) y[i * out + o] = L->b[o];
  fm_gemm(B, out, in, x, in, 1, L->w, 1, in, y, out, 1);
}

void fm_dense_backward(fm_layer *L, const float *x, const float *dy, float *dx, int B) {
  int in = fm_shape_size(L->in), out = L->out.c;
  /* dw [out, in] += dy^T [out, B] * x [B, in] */
  fm_gemm(out, in, B, dy, 1, out, x, in, 1, L->dw, in, 1);
  for (int i = 0; i < B; i++)
    for (int o = 0; o < out; o++) L->db[o] += dy[i * out + o];
  /* dx [B, in] = dy [B, out] * w [out, in] */
  if (dx) fm_gemm(B, in, out, dy, out, 1, L->w, in, 1, dx, in, 0);
}

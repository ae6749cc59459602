/* activation.c: ReLU and dropout (inverted scaling, nn.Dropout). */
#include "../kernels/simd.h"
#include "layer.h"

void fm_relu_forward(const float *x, float *y, int n) {
  v128_t zero = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_pmax(wasm_v128_load(x + i), zero));
  for (; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void fm_relu_backward(const float *y, const float *dy, float *dx, int n) {
  v128_t zero = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t pos = wasm_f32x4_gt(wasm_v128_load(y + i), zero);
    wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), pos));
  }
  for (; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

void fm_dropout_forward(fm_layer *L, const float *x, float *y, int B, int train, fm_rng *rng) {
  int n = B * fm_shape_size(L->in);
  if (!train || L->p <= 0) {
    /* The mask (all ones) only where a backward pass may follow: a network
     * reserved for inference alone has none. */
    for (int i = 0; i < n; i++) y[i] = x[i];
    if (L->mask)
      for (int i = 0; i < n; i++) L->mask[i] = 1;
    return;
  }
  float keep = 1.0f / (1.0f - L->p);
  for (int i = 0; i < n; i++) {
    L->mask[i] = fm_rng_uniform(rng) < L->p ? 0.0f : keep;
    y[i] = x[i] * L->mask[i];
  }
}

void fm_dropout_backward(fm_layer *L, const float *dy, float *dx, int B) {
  int n = B * fm_shape_size(L->in);
  for (int i = 0; i < n; i++) dx[i] = dy[i] * L->mask[i];
}

/* pool.c: max-pool 2x2 (stride 2, floor like nn.MaxPool2d(2)) and global
 * average pooling (nn.AdaptiveAvgPool2d(1)). x [B, c, h, w]. */
#include <float.h>
#include <string.h>

#include "../kernels/simd.h"
#include "layer.h"

/* NaN-propagating max, as wasm's f32x4.max (and PyTorch) do. */
static float max_nan(float a, float b) { return a != a || a > b ? a : b; }

void fm_maxpool_forward(fm_layer *L, const float *x, float *y, int B) {
  int c = L->in.c, h = L->in.h, w = L->in.w, oh = L->out.h, ow = L->out.w;
  for (int p = 0; p < B * c; p++) {
    const float *plane = x + (size_t)p * h * w;
    float *out = y + (size_t)p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      const float *r0 = plane + 2 * oy * w, *r1 = r0 + w;
      float *o = out + oy * ow;
      int ox = 0;
      /* Four outputs from eight columns of two rows: deinterleave even and
       * odd columns, then three maxima. A row's last 1-3 outputs are its
       * last four again (the overlap recomputes the same values), rather
       * than one at a time: 3 of the 7 outputs of a 14-wide row. */
      if (ow >= 4) {
        for (;; ox += 4) {
          if (ox > ow - 4) ox = ow - 4;
          v128_t a0 = wasm_v128_load(r0 + 2 * ox), a1 = wasm_v128_load(r0 + 2 * ox + 4);
          v128_t b0 = wasm_v128_load(r1 + 2 * ox), b1 = wasm_v128_load(r1 + 2 * ox + 4);
          v128_t top = wasm_f32x4_pmax(wasm_i32x4_shuffle(a0, a1, 0, 2, 4, 6),
                                      wasm_i32x4_shuffle(a0, a1, 1, 3, 5, 7));
          v128_t bottom = wasm_f32x4_pmax(wasm_i32x4_shuffle(b0, b1, 0, 2, 4, 6),
                                         wasm_i32x4_shuffle(b0, b1, 1, 3, 5, 7));
          wasm_v128_store(o + ox, wasm_f32x4_pmax(top, bottom));
          if (ox == ow - 4) break;
        }
        ox = ow;
      }
      for (; ox < ow; ox++)
        o[ox] = max_nan(max_nan(r0[2 * ox], r0[2 * ox + 1]), max_nan(r1[2 * ox], r1[2 * ox + 1]));
    }
  }
}

/* The gradient goes to the input that was the maximum: the first of the
 * window equal to the output (PyTorch keeps the first maximum too), or the
 * last one when none is (a NaN). Recomputed from x and y rather than stored
 * during the forward pass: no index buffer, and inference pays nothing.
 * With gate (x is a ReLU's output), the gradient of that ReLU's input: the
 * maximum passes it only where it is above zero, which is where the ReLU
 * does (the input that gets it equals the maximum). */
void fm_maxpool_backward(fm_layer *L, const float *x, const float *y, const float *dy, float *dx, int B,
                         int gate) {
  int c = L->in.c, w = L->in.w, hw = L->in.h * w, oh = L->out.h, ow = L->out.w;
  /* Even sizes: the windows tile the plane and each writes all four of its
   * inputs. Odd sizes leave a row or column no window reads: zero first. */
  int tiled = L->in.h % 2 == 0 && w % 2 == 0;
  if (!tiled) memset(dx, 0, (size_t)B * c * hw * sizeof(float));
  for (int p = 0; p < B * c; p++) {
    const float *plane = x + (size_t)p * hw;
    float *g = dx + (size_t)p * hw;
    const float *yp = y + (size_t)p * oh * ow, *dyp = dy + (size_t)p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      const float *r0 = plane + 2 * oy * w, *r1 = r0 + w;
      float *g0 = g + 2 * oy * w, *g1 = g0 + w;
      const float *m = yp + oy * ow, *d = dyp + oy * ow;
      int ox = 0;
      /* Four windows at a time, as in the forward pass (the overlap at a
       * row's end writes the same values again). */
      if (tiled && ow >= 4) {
        for (;; ox += 4) {
          if (ox > ow - 4) ox = ow - 4;
          v128_t a0 = wasm_v128_load(r0 + 2 * ox), a1 = wasm_v128_load(r0 + 2 * ox + 4);
          v128_t b0 = wasm_v128_load(r1 + 2 * ox), b1 = wasm_v128_load(r1 + 2 * ox + 4);
          v128_t mv = wasm_v128_load(m + ox), dv = wasm_v128_load(d + ox);
          if (gate) dv = wasm_v128_and(dv, wasm_f32x4_gt(mv, wasm_f32x4_splat(0)));
          v128_t k0 = wasm_f32x4_eq(wasm_i32x4_shuffle(a0, a1, 0, 2, 4, 6), mv);
          v128_t k1 = wasm_v128_andnot(wasm_f32x4_eq(wasm_i32x4_shuffle(a0, a1, 1, 3, 5, 7), mv), k0);
          v128_t seen = wasm_v128_or(k0, k1);
          v128_t k2 = wasm_v128_andnot(wasm_f32x4_eq(wasm_i32x4_shuffle(b0, b1, 0, 2, 4, 6), mv), seen);
          v128_t k3 = wasm_v128_not(wasm_v128_or(seen, k2));
          v128_t g00 = wasm_v128_and(dv, k0), g01 = wasm_v128_and(dv, k1);
          v128_t g10 = wasm_v128_and(dv, k2), g11 = wasm_v128_and(dv, k3);
          wasm_v128_store(g0 + 2 * ox, wasm_i32x4_shuffle(g00, g01, 0, 4, 1, 5));
          wasm_v128_store(g0 + 2 * ox + 4, wasm_i32x4_shuffle(g00, g01, 2, 6, 3, 7));
          wasm_v128_store(g1 + 2 * ox, wasm_i32x4_shuffle(g10, g11, 0, 4, 1, 5));
          wasm_v128_store(g1 + 2 * ox + 4, wasm_i32x4_shuffle(g10, g11, 2, 6, 3, 7));
          if (ox == ow - 4) break;
        }
        ox = ow;
      }
      for (; ox < ow; ox++) {
        float *in[4] = {g0 + 2 * ox, g0 + 2 * ox + 1, g1 + 2 * ox, g1 + 2 * ox + 1};
        float v[4] = {r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
        int best = 3;
        for (int t = 2; t >= 0; t--) /* the first match wins */
          if (v[t] == m[ox]) best = t;
        for (int t = 0; t < 4; t++)
          if (tiled) *in[t] = 0;
        *in[best] = gate && !(m[ox] > 0) ? 0 : d[ox];
      }
    }
  }
}

void fm_gap_forward(fm_layer *L, const float *x, float *y, int B) {
  int c = L->in.c, hw = L->in.h * L->in.w;
  for (int p = 0; p < B * c; p++) {
    const float *plane = x + (size_t)p * hw;
    float s = 0;
    for (int i = 0; i < hw; i++) s += plane[i];
    y[p] = s / hw;
  }
}

void fm_gap_backward(fm_layer *L, const float *dy, float *dx, int B) {
  int c = L->in.c, hw = L->in.h * L->in.w;
  for (int p = 0; p < B * c; p++) {
    float g = dy[p] / hw;
    float *plane = dx + (size_t)p * hw;
    for (int i = 0; i < hw; i++) plane[i] = g;
  }
}

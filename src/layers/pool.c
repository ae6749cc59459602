/* pool.c: max-pool 2x2 (stride 2, floor like nn.MaxPool2d(2)) and global
 * average pooling (nn.AdaptiveAvgPool2d(1)). x [B, c, h, w]. */
#include <float.h>
#include <string.h>

#include "layer.h"

void fm_maxpool_forward(fm_layer *L, const float *x, float *y, int B) {
  int c = L->in.c, h = L->in.h, w = L->in.w, oh = L->out.h, ow = L->out.w;
  for (int n = 0; n < B; n++)
    for (int ch = 0; ch < c; ch++) {
      const float *plane = x + ((size_t)n * c + ch) * h * w;
      float *out = y + ((size_t)n * c + ch) * oh * ow;
      int32_t *arg = L->argmax + ((size_t)n * c + ch) * oh * ow;
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
          int i0 = (2 * oy) * w + 2 * ox;
          int idx[4] = {i0, i0 + 1, i0 + w, i0 + w + 1};
          int best = idx[0];
          /* Strict > keeps the first maximum, as PyTorch does; a NaN input
           * propagates through the NaN check (PyTorch propagates NaN too). */
          for (int t = 1; t < 4; t++)
            if (plane[idx[t]] > plane[best] || plane[idx[t]] != plane[idx[t]]) best = idx[t];
          out[oy * ow + ox] = plane[best];
          arg[oy * ow + ox] = best;
        }
    }
}

void fm_maxpool_backward(fm_layer *L, const float *dy, float *dx, int B) {
  int c = L->in.c, hw = L->in.h * L->in.w, ohw = L->out.h * L->out.w;
  memset(dx, 0, (size_t)B * c * hw * sizeof(float));
  for (int p = 0; p < B * c; p++) {
    const float *d = dy + (size_t)p * ohw;
    const int32_t *arg = L->argmax + (size_t)p * ohw;
    float *out = dx + (size_t)p * hw;
    for (int i = 0; i < ohw; i++) out[arg[i]] += d[i];
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

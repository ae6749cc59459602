/* batchnorm.c: batch normalisation over channels, PyTorch semantics:
 * BatchNorm2d after a conv (statistics over B, h, w), BatchNorm1d after a
 * dense layer (over B). eps 1e-5, momentum 0.1; running_var is updated with
 * the unbiased batch variance, normalisation uses the biased one.
 * x [B, c, hw]; gamma = L->w, beta = L->b. */
#include <math.h>

#include "layer.h"

#define BN_MOMENTUM 0.1f

void fm_batchnorm_forward(fm_layer *L, const float *x, float *y, int B, int train) {
  int c = L->in.c, hw = L->in.h * L->in.w;
  if (!train) {
    for (int ch = 0; ch < c; ch++) {
      float s = L->w[ch] / sqrtf(L->running_var[ch] + FM_BN_EPS);
      float t = L->b[ch] - L->running_mean[ch] * s;
      for (int n = 0; n < B; n++) {
        const float *xp = x + ((size_t)n * c + ch) * hw;
        float *yp = y + ((size_t)n * c + ch) * hw;
        for (int i = 0; i < hw; i++) yp[i] = xp[i] * s + t;
      }
    }
    return;
  }
  double count = (double)B * hw;
  for (int ch = 0; ch < c; ch++) {
    double sum = 0, sq = 0;
    for (int n = 0; n < B; n++) {
      const float *xp = x + ((size_t)n * c + ch) * hw;
      for (int i = 0; i < hw; i++) sum += xp[i];
    }
    double mean = sum / count;
    for (int n = 0; n < B; n++) {
      const float *xp = x + ((size_t)n * c + ch) * hw;
      for (int i = 0; i < hw; i++) {
        double d = xp[i] - mean;
        sq += d * d;
      }
    }
    double var = sq / count;
    float istd = (float)(1.0 / sqrt(var + FM_BN_EPS));
    L->mean[ch] = (float)mean;
    L->istd[ch] = istd;
    float g = L->w[ch], be = L->b[ch];
    for (int n = 0; n < B; n++) {
      const float *xp = x + ((size_t)n * c + ch) * hw;
      float *xh = L->xhat + ((size_t)n * c + ch) * hw;
      float *yp = y + ((size_t)n * c + ch) * hw;
      for (int i = 0; i < hw; i++) {
        xh[i] = (float)(xp[i] - mean) * istd;
        yp[i] = g * xh[i] + be;
      }
    }
    double unbiased = count > 1 ? sq / (count - 1) : var;
    L->running_mean[ch] = (1 - BN_MOMENTUM) * L->running_mean[ch] + BN_MOMENTUM * (float)mean;
    L->running_var[ch] = (1 - BN_MOMENTUM) * L->running_var[ch] + BN_MOMENTUM * (float)unbiased;
  }
  L->batches_tracked++;
}

/* dx = gamma * istd / N * (N * dy - sum(dy) - xhat * sum(dy * xhat)) */
void fm_batchnorm_backward(fm_layer *L, const float *dy, float *dx, int B) {
  int c = L->in.c, hw = L->in.h * L->in.w;
  double count = (double)B * hw;
  for (int ch = 0; ch < c; ch++) {
    double sdy = 0, sdyx = 0;
    for (int n = 0; n < B; n++) {
      const float *d = dy + ((size_t)n * c + ch) * hw;
      const float *xh = L->xhat + ((size_t)n * c + ch) * hw;
      for (int i = 0; i < hw; i++) {
        sdy += d[i];
        sdyx += (double)d[i] * xh[i];
      }
    }
    L->db[ch] += (float)sdy;
    L->dw[ch] += (float)sdyx;
    if (!dx) continue;
    float scale = L->w[ch] * L->istd[ch];
    float mdy = (float)(sdy / count), mdyx = (float)(sdyx / count);
    for (int n = 0; n < B; n++) {
      const float *d = dy + ((size_t)n * c + ch) * hw;
      const float *xh = L->xhat + ((size_t)n * c + ch) * hw;
      float *o = dx + ((size_t)n * c + ch) * hw;
      for (int i = 0; i < hw; i++) o[i] = scale * (d[i] - mdy - xh[i] * mdyx);
    }
  }
}

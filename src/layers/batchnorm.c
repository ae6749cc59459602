/* batchnorm.c: batch normalisation over channels, PyTorch semantics:
 * BatchNorm2d after a conv (statistics over B, h, w), BatchNorm1d after a
 * dense layer (over B). eps 1e-5, momentum 0.1; running_var is updated with
 * the unbiased batch variance, normalisation uses the biased one.
 * x [B, c, hw]; gamma = L->w, beta = L->b. */
#include <math.h>

#include "../common.h"
#include "../kernels/parallel.h"
#include "../kernels/simd.h"
#include "layer.h"

#define BN_MOMENTUM 0.1f

/* Sums over one channel's plane in f32x4 lanes (a few hundred values each),
 * added up across planes in double: as accurate as double throughout for
 * these sizes, at SIMD speed. */
static double plane_sum(const float *p, int n, float centre, int squares) {
  v128_t acc = wasm_f32x4_splat(0), m = wasm_f32x4_splat(centre);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_f32x4_sub(wasm_v128_load(p + i), m);
    acc = wasm_f32x4_add(acc, squares ? wasm_f32x4_mul(v, v) : v);
  }
  double s = fm_f32x4_sum(acc);
  for (; i < n; i++) s += squares ? (double)(p[i] - centre) * (p[i] - centre) : p[i] - centre;
  return s;
}

/* sum(d) and sum(d * xh) over one plane, the same way. */
static void plane_dots(const float *d, const float *xh, int n, double *sd, double *sdx) {
  v128_t a = wasm_f32x4_splat(0), b = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_v128_load(d + i);
    a = wasm_f32x4_add(a, v);
    b = wasm_f32x4_add(b, wasm_f32x4_mul(v, wasm_v128_load(xh + i)));
  }
  double s = fm_f32x4_sum(a), t = fm_f32x4_sum(b);
  for (; i < n; i++) s += d[i], t += (double)d[i] * xh[i];
  *sd += s, *sdx += t;
}

/* One pass over channels begin..end-1 (fm_parallel_for). */
typedef struct {
  fm_layer *L;
  const float *x;
  float *y;
  const float *dy;
  float *dx;
  int B, relu;
} bn_job;
static void forward_channels(void *ctx, int begin, int end, int tid);
static void backward_channels(void *ctx, int begin, int end, int tid);

/* max(v, 0) as f32x4.pmax(v, 0) computes it (v < 0 ? 0 : v), so that the
 * values a fused ReLU leaves are those the ReLU layer's vector loop would. */
static inline float relu1(float v) { return v < 0 ? 0.0f : v; }

void fm_batchnorm_forward(fm_layer *L, const float *x, float *y, int B, int train, int relu) {
  int c = L->in.c, hw = L->in.h * L->in.w;
  if (!train) {
    for (int ch = 0; ch < c; ch++) {
      float s = L->w[ch] / sqrtf(L->running_var[ch] + FM_BN_EPS);
      float t = L->b[ch] - L->running_mean[ch] * s;
      for (int n = 0; n < B; n++) {
        const float *xp = x + ((size_t)n * c + ch) * hw;
        float *yp = y + ((size_t)n * c + ch) * hw;
        for (int i = 0; i < hw; i++) yp[i] = relu ? relu1(xp[i] * s + t) : xp[i] * s + t;
      }
    }
    return;
  }
  bn_job j = {L, x, y, NULL, NULL, B, relu};
  /* Channels are independent: shared among the native build's threads, each
   * channel computed exactly as by one thread. */
  fm_parallel_for(c, FM_MAX_THREADS, forward_channels, &j);
  L->batches_tracked++;
}

static void forward_channels(void *ctx, int begin, int end, int tid) {
  (void)tid;
  const bn_job *j = ctx;
  fm_layer *L = j->L;
  const float *x = j->x;
  float *y = j->y;
  int B = j->B, relu = j->relu, c = L->in.c, hw = L->in.h * L->in.w;
  v128_t zero = wasm_f32x4_splat(0);
  double count = (double)B * hw;
  for (int ch = begin; ch < end; ch++) {
    double sum = 0, sq = 0;
    for (int n = 0; n < B; n++) sum += plane_sum(x + ((size_t)n * c + ch) * hw, hw, 0.0f, 0);
    double mean = sum / count;
    float fmean = (float)mean;
    /* Squared deviations from the float mean, corrected for its rounding
     * (off = sum of x - fmean). */
    for (int n = 0; n < B; n++) sq += plane_sum(x + ((size_t)n * c + ch) * hw, hw, fmean, 1);
    double off = sum - count * fmean;
    double var = FM_MAX(0.0, (sq - off * off / count) / count);
    float istd = (float)(1.0 / sqrt(var + FM_BN_EPS));
    L->mean[ch] = fmean;
    L->istd[ch] = istd;
    float g = L->w[ch], be = L->b[ch];
    v128_t vm = wasm_f32x4_splat(fmean), vi = wasm_f32x4_splat(istd);
    v128_t vg = wasm_f32x4_splat(g), vb = wasm_f32x4_splat(be);
    for (int n = 0; n < B; n++) {
      const float *xp = x + ((size_t)n * c + ch) * hw;
      float *xh = L->xhat + ((size_t)n * c + ch) * hw;
      float *yp = y + ((size_t)n * c + ch) * hw;
      int i = 0;
      for (; i + 4 <= hw; i += 4) {
        v128_t h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xp + i), vm), vi);
        wasm_v128_store(xh + i, h);
        v128_t v = wasm_f32x4_add(wasm_f32x4_mul(vg, h), vb);
        wasm_v128_store(yp + i, relu ? wasm_f32x4_pmax(v, zero) : v);
      }
      for (; i < hw; i++) {
        xh[i] = (xp[i] - fmean) * istd;
        yp[i] = relu ? relu1(g * xh[i] + be) : g * xh[i] + be;
      }
    }
    double unbiased = count > 1 ? sq / (count - 1) : var;
    L->running_mean[ch] = (1 - BN_MOMENTUM) * L->running_mean[ch] + BN_MOMENTUM * (float)mean;
    L->running_var[ch] = (1 - BN_MOMENTUM) * L->running_var[ch] + BN_MOMENTUM * (float)unbiased;
  }
}

/* dx = gamma * istd / N * (N * dy - sum(dy) - xhat * sum(dy * xhat)) */
void fm_batchnorm_backward(fm_layer *L, const float *dy, float *dx, int B) {
  bn_job j = {L, NULL, NULL, dy, dx, B, 0};
  fm_parallel_for(L->in.c, FM_MAX_THREADS, backward_channels, &j);
}

static void backward_channels(void *ctx, int begin, int end, int tid) {
  (void)tid;
  const bn_job *j = ctx;
  fm_layer *L = j->L;
  const float *dy = j->dy;
  float *dx = j->dx;
  int B = j->B, c = L->in.c, hw = L->in.h * L->in.w;
  double count = (double)B * hw;
  for (int ch = begin; ch < end; ch++) {
    double sdy = 0, sdyx = 0;
    for (int n = 0; n < B; n++)
      plane_dots(dy + ((size_t)n * c + ch) * hw, L->xhat + ((size_t)n * c + ch) * hw, hw, &sdy, &sdyx);
    L->db[ch] += (float)sdy;
    L->dw[ch] += (float)sdyx;
    if (!dx) continue;
    float scale = L->w[ch] * L->istd[ch];
    float mdy = (float)(sdy / count), mdyx = (float)(sdyx / count);
    for (int n = 0; n < B; n++) {
      const float *d = dy + ((size_t)n * c + ch) * hw;
      const float *xh = L->xhat + ((size_t)n * c + ch) * hw;
      float *o = dx + ((size_t)n * c + ch) * hw;
      v128_t vs = wasm_f32x4_splat(scale), vm = wasm_f32x4_splat(mdy), vx = wasm_f32x4_splat(mdyx);
      int i = 0;
      for (; i + 4 <= hw; i += 4) {
        v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(d + i), vm), wasm_f32x4_mul(wasm_v128_load(xh + i), vx));
        wasm_v128_store(o + i, wasm_f32x4_mul(vs, t));
      }
      for (; i < hw; i++) o[i] = scale * (d[i] - mdy - xh[i] * mdyx);
    }
  }
}

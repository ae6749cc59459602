/* conv2d.c: k x k convolution, stride 1, zero "same" padding (k odd),
 * PyTorch nn.Conv2d(cin, cout, k, padding=k//2) layout.
 * x [B, cin, h, w], w [cout, cin, k, k], b [cout], y [B, cout, h, w].
 *
 * Lowered to GEMM one sample at a time through im2col:
 *   col [cin*k*k, h*w] holds, for each filter tap, the shifted input plane;
 *   forward   y  [cout, hw]     = w [cout, K] * col [K, hw] (+ b)
 *   backward  dw [cout, K]     += dy [cout, hw] * col^T
 *             dcol [K, hw]      = w^T * dy, then col2im adds it into dx.
 * Per-sample lowering keeps the scratch at one sample's col (e.g. 450 KB for
 * 16->32 channels at 28x28), small enough to stay in cache. */
#include <string.h>

#include "../common.h"
#include "../kernels/gemm.h"
#include "../kernels/parallel.h"
#include "layer.h"

/* col[(ci*k + ky)*k + kx][y*w + x] = x[ci][y + ky - pad][x + kx - pad] or 0. */
static void im2col(const float *x, int cin, int h, int w, int k, float *col) {
  int pad = k / 2, hw = h * w;
  for (int ci = 0; ci < cin; ci++) {
    const float *plane = x + ci * hw;
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        float *dst = col + ((ci * k + ky) * k + kx) * hw;
        int dx = kx - pad;
        int x0 = dx < 0 ? -dx : 0;          /* first valid output column */
        int x1 = dx > 0 ? w - dx : w;       /* one past the last */
        for (int yy = 0; yy < h; yy++) {
          int sy = yy + ky - pad;
          float *row = dst + yy * w;
          if (sy < 0 || sy >= h) {
            memset(row, 0, (size_t)w * sizeof(float));
            continue;
          }
          const float *src = plane + sy * w + dx;
          for (int xx = 0; xx < x0; xx++) row[xx] = 0;
          memcpy(row + x0, src + x0, (size_t)(x1 - x0) * sizeof(float));
          for (int xx = x1; xx < w; xx++) row[xx] = 0;
        }
      }
  }
}

/* The adjoint of im2col: dx[ci][sy][sx] += dcol[tap][y*w + x]. */
static void col2im(const float *dcol, int cin, int h, int w, int k, float *dx) {
  int pad = k / 2, hw = h * w;
  memset(dx, 0, (size_t)cin * hw * sizeof(float));
  for (int ci = 0; ci < cin; ci++) {
    float *plane = dx + ci * hw;
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        const float *src = dcol + ((ci * k + ky) * k + kx) * hw;
        int ddx = kx - pad;
        int x0 = ddx < 0 ? -ddx : 0, x1 = ddx > 0 ? w - ddx : w;
        for (int yy = 0; yy < h; yy++) {
          int sy = yy + ky - pad;
          if (sy < 0 || sy >= h) continue;
          float *dst = plane + sy * w + ddx;
          const float *row = src + yy * w;
          for (int xx = x0; xx < x1; xx++) dst[xx] += row[xx];
        }
      }
  }
}

typedef struct {
  fm_layer *L;
  const float *x, *dy;
  float *y, *dx;
} conv_job;

static void forward_chunk(void *ctx, int begin, int end, int tid) {
  conv_job *j = ctx;
  fm_layer *L = j->L;
  int cin = L->in.c, h = L->in.h, w = L->in.w, k = L->k, cout = L->out.c;
  int hw = h * w, K = cin * k * k;
  float *col = L->col + (size_t)tid * K * hw;
  for (int n = begin; n < end; n++) {
    const float *xn = j->x + (size_t)n * cin * hw;
    float *yn = j->y + (size_t)n * cout * hw;
    for (int co = 0; co < cout; co++) {
      float bias = L->b[co];
      float *row = yn + co * hw;
      for (int i = 0; i < hw; i++) row[i] = bias;
    }
    if (k == 1) {
      fm_gemm(cout, hw, K, L->w, K, 1, xn, hw, 1, yn, hw, 1);
    } else {
      im2col(xn, cin, h, w, k, col);
      fm_gemm(cout, hw, K, L->w, K, 1, col, hw, 1, yn, hw, 1);
    }
  }
}

void fm_conv_forward(fm_layer *L, const float *x, float *y, int B) {
  conv_job j = {L, x, NULL, y, NULL};
  fm_parallel_for(B, L->threads, forward_chunk, &j);
}

static void backward_chunk(void *ctx, int begin, int end, int tid) {
  conv_job *j = ctx;
  fm_layer *L = j->L;
  int cin = L->in.c, h = L->in.h, w = L->in.w, k = L->k, cout = L->out.c;
  int hw = h * w, K = cin * k * k;
  float *colbuf = L->col + (size_t)tid * K * hw, *dcol = L->dcol + (size_t)tid * K * hw;
  /* Thread 0 accumulates straight into the gradients, others into partials
   * that the caller adds in a fixed order. */
  float *dw = L->dw, *db = L->db;
  if (tid > 0) {
    dw = L->dparts + (size_t)(tid - 1) * (L->nw + L->nb);
    db = dw + L->nw;
    memset(dw, 0, (size_t)(L->nw + L->nb) * sizeof(float));
  }
  for (int n = begin; n < end; n++) {
    const float *xn = j->x + (size_t)n * cin * hw;
    const float *dyn = j->dy + (size_t)n * cout * hw;
    const float *col = xn;
    if (k != 1) {
      im2col(xn, cin, h, w, k, colbuf);
      col = colbuf;
    }
    /* dw [cout, K] += dy [cout, hw] * col^T [hw, K] */
    fm_gemm(cout, K, hw, dyn, hw, 1, col, 1, hw, dw, K, 1);
    for (int co = 0; co < cout; co++) {
      const float *row = dyn + co * hw;
      float s = 0;
      for (int i = 0; i < hw; i++) s += row[i];
      db[co] += s;
    }
    if (!j->dx) continue;
    float *dxn = j->dx + (size_t)n * cin * hw;
    if (k == 1) {
      fm_gemm(K, hw, cout, L->w, 1, K, dyn, hw, 1, dxn, hw, 0);
    } else {
      /* dcol [K, hw] = w^T [K, cout] * dy [cout, hw] */
      fm_gemm(K, hw, cout, L->w, 1, K, dyn, hw, 1, dcol, hw, 0);
      col2im(dcol, cin, h, w, k, dxn);
    }
  }
}

void fm_conv_backward(fm_layer *L, const float *x, const float *dy, float *dx, int B) {
  conv_job j = {L, x, dy, NULL, dx};
  int tasks = FM_MIN(FM_MIN(L->threads, fm_threads()), B);
  fm_parallel_for(B, tasks, backward_chunk, &j);
  for (int t = 1; t < tasks; t++) {
    const float *part = L->dparts + (size_t)(t - 1) * (L->nw + L->nb);
    for (int i = 0; i < L->nw; i++) L->dw[i] += part[i];
    for (int i = 0; i < L->nb; i++) L->db[i] += part[L->nw + i];
  }
}

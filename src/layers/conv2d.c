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
 * 16->32 channels at 28x28), small enough to stay in cache. 3x3 layers with
 * 8 or more input channels run the forward pass and dx through Winograd
 * instead (winograd.c), and on planes from 7x7 up dw too. */
#include <math.h>
#include <string.h>

#include "../common.h"
#include "../kernels/gemm.h"
#include "../kernels/parallel.h"
#include "../kernels/simd.h"
#include "layer.h"
#include "winograd.h"

/* dst[0..n) = src[0..n), 4 floats at a time. Not memcpy: the rows here are
 * short, and in wasm a libc call costs more than the copy. */
static void copy_f32(float *dst, const float *src, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t a = wasm_v128_load(src + i), b = wasm_v128_load(src + i + 4);
    wasm_v128_store(dst + i, a);
    wasm_v128_store(dst + i + 4, b);
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

static void zero_f32(float *dst, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_splat(0));
  for (; i < n; i++) dst[i] = 0;
}

/* A filter tap (ky, kx) reads the input plane shifted by (dy, dx) = (ky -
 * pad, kx - pad). Rows are contiguous in both planes, so the rows of output
 * y in [y0, y1) that read inside the input are one contiguous run of the
 * shifted plane; only the |dx| columns at the left or right edge of each row
 * wrapped around from the neighbouring row and must be zero. */
typedef struct {
  int y0, y1, dx;
  ptrdiff_t shift; /* source index - destination index */
} tap;

static tap tap_of(int h, int w, int k, int ky, int kx) {
  int pad = k / 2, dy = ky - pad, dx = kx - pad;
  tap t = {dy < 0 ? -dy : 0, dy > 0 ? h - dy : h, dx, (ptrdiff_t)dy * w + dx};
  if (t.y1 < t.y0) t.y1 = t.y0;
  return t;
}

/* The columns of row y that wrapped: x < -dx (dx < 0) or x >= w - dx. */
static void zero_wrapped(float *row, int w, int dx) {
  /* 3x3 taps wrap one column: a plain store (as a loop, the compiler makes
   * it a memset call per row). */
  if (dx == -1 || dx == 1) row[dx < 0 ? 0 : w - 1] = 0;
  else if (dx < 0)
    for (int x = 0; x < FM_MIN(-dx, w); x++) row[x] = 0;
  else
    for (int x = FM_MAX(w - dx, 0); x < w; x++) row[x] = 0;
}

/* col[(ci*k + ky)*k + kx][y*w + x] = x[ci][y + ky - pad][x + kx - pad] or 0. */
static void im2col(const float *x, int cin, int h, int w, int k, float *col) {
  int hw = h * w;
  for (int ky = 0; ky < k; ky++)
    for (int kx = 0; kx < k; kx++) {
      tap t = tap_of(h, w, k, ky, kx);
      /* The rows [y0, y1) as one run [a, b), clipped so the source stays
       * inside the plane (at the first and last row when dx != 0 the
       * clipped element is a wrapped one anyway); zeros around it. */
      int a = FM_MAX(t.y0 * w, (int)-t.shift), b = FM_MIN(t.y1 * w, (int)(hw - t.shift));
      if (b < a) b = a;
      for (int ci = 0; ci < cin; ci++) {
        const float *plane = x + (size_t)ci * hw;
        float *dst = col + (size_t)((ci * k + ky) * k + kx) * hw;
        zero_f32(dst, a);
        copy_f32(dst + a, plane + a + t.shift, b - a);
        zero_f32(dst + b, hw - b);
        if (t.dx)
          for (int y = t.y0; y < t.y1; y++) zero_wrapped(dst + y * w, w, t.dx);
      }
    }
}

/* The adjoint of im2col: dx[ci][sy][sx] += dcol[tap][y*w + x]. The wrapped
 * entries of dcol are zeroed first (dcol is scratch), so each tap adds as
 * one contiguous run. */
static void col2im(float *dcol, int cin, int h, int w, int k, float *dx) {
  int hw = h * w, pad = k / 2;
  for (int ci = 0; ci < cin; ci++) {
    /* The centre tap covers the whole plane: it initialises dx (a copy, so
     * no zeroing pass); the other taps add to it. Channel by channel, so the
     * plane stays in cache. */
    copy_f32(dx + (size_t)ci * hw, dcol + (size_t)((ci * k + pad) * k + pad) * hw, hw);
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        if (ky == pad && kx == pad) continue;
        tap t = tap_of(h, w, k, ky, kx);
        int a = FM_MAX(t.y0 * w, (int)-t.shift), b = FM_MIN(t.y1 * w, (int)(hw - t.shift));
        float *src = dcol + (size_t)((ci * k + ky) * k + kx) * hw;
        if (t.dx)
          for (int y = t.y0; y < t.y1; y++) zero_wrapped(src + y * w, w, t.dx);
        if (b <= a) continue;
        float *dst = dx + (size_t)ci * hw + (a + t.shift); /* dst[j] pairs with src[a + j] */
        int n = b - a, j = 0;
        src += a;
        for (; j + 4 <= n; j += 4)
          wasm_v128_store(dst + j, wasm_f32x4_add(wasm_v128_load(dst + j), wasm_v128_load(src + j)));
        for (; j < n; j++) dst[j] += src[j];
      }
  }
}

typedef struct {
  fm_layer *L;
  const float *x, *dy;
  float *y, *dx;
  fm_wino_epilogue e; /* forward: what follows the sums (the bias, or a fused batch norm + ReLU) */
  int q16;            /* forward: int16 Winograd GEMMs where the layer has them (inference) */
  int gate;           /* backward: dx zero where x <= 0 (the ReLU before the layer) */
} conv_job;

static void forward_chunk(void *ctx, int begin, int end, int tid) {
  conv_job *j = ctx;
  fm_layer *L = j->L;
  int cin = L->in.c, h = L->in.h, w = L->in.w, k = L->k, cout = L->out.c;
  int hw = h * w, K = cin * k * k;
  float *col = L->col ? L->col + (size_t)tid * K * hw : NULL;
  int wino = fm_wino_applies(L) && L->wino;
  float *wbuf = wino ? L->wbuf + (size_t)tid * fm_wino_scratch(L) : NULL;
  int ohw = j->e.pool ? (h / 2) * (w / 2) : hw; /* a fused max-pool's output is smaller */
  for (int n = begin; n < end; n++) {
    const float *xn = j->x + (size_t)n * cin * hw;
    float *yn = j->y + (size_t)n * cout * ohw;
    if (wino) {
      int G = FM_MIN(fm_wino_group(L), end - n);
      fm_wino_forward_fused(L, L->wino, xn, yn, G, wbuf, j->e, j->q16);
      n += G - 1;
      continue;
    }
    if (j->q16 && L->wq && fm_conv1_q16_applies(L)) {
      fm_conv1_q16(L, j->e.scale, j->e.shift, j->e.relu, xn, yn, L->wbuf + (size_t)tid * fm_conv1_q16_scratch(L));
      continue;
    }
    /* The plain pass starts from the bias; a fused one applies its
     * epilogue to the bare sums afterwards. */
    int plain = !j->e.scale && !j->e.relu;
    if (plain)
      for (int co = 0; co < cout; co++) {
        v128_t bias = wasm_f32x4_splat(L->b[co]);
        float *row = yn + co * hw;
        int i = 0;
        for (; i + 4 <= hw; i += 4) wasm_v128_store(row + i, bias);
        for (; i < hw; i++) row[i] = L->b[co];
      }
    if (k != 1) im2col(xn, cin, h, w, k, col);
    fm_gemm(cout, hw, K, L->w, K, 1, k == 1 ? xn : col, hw, 1, yn, hw, plain);
    if (!plain) {
      v128_t zero = wasm_f32x4_splat(0);
      for (int co = 0; co < cout; co++) {
        float s = j->e.scale ? j->e.scale[co] : 1.0f, t = j->e.shift[co];
        v128_t vs = wasm_f32x4_splat(s), vt = wasm_f32x4_splat(t);
        float *row = yn + co * hw;
        int i = 0;
        for (; i + 4 <= hw; i += 4) {
          v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(row + i), vs), vt);
          wasm_v128_store(row + i, j->e.relu ? wasm_f32x4_pmax(v, zero) : v);
        }
        for (; i < hw; i++) {
          float v = row[i] * s + t;
          row[i] = j->e.relu && !(v > 0) ? 0 : v;
        }
      }
    }
  }
}

/* Winograd needs the transformed weights: kept while the network's weights
 * generation stands still (inference), made afresh in training (the weights
 * change every step) and for a standalone layer. */
static void wino_weights_for(fm_layer *L, int train) {
  uint64_t gen = fm_layer_wgen(L);
  if (!train && L->wq && fm_conv1_q16_applies(L)) { /* the int16 first convolution's, likewise */
    if (!gen || L->wino_gen != gen) fm_conv1_q16_weights(L, L->wq, L->wqs), L->wino_gen = gen;
  }
  if (fm_wino_applies(L) && L->wino) {
    if (train || !gen || L->wino_gen != gen) {
      fm_wino_weights(L, L->wino);
      /* Training never reads the int16 copy; inference makes it with U. */
      if (!train && L->wq) fm_wino_q16_weights(L, L->wino, L->wq, L->wqs);
      L->wino_gen = train ? 0 : gen;
    }
  }
}

void fm_conv_forward(fm_layer *L, const float *x, float *y, int B, int train, int relu) {
  wino_weights_for(L, train);
  conv_job j = {L, x, NULL, y, NULL, {NULL, L->b, relu, 0}, 0, 0};
  fm_parallel_for(B, L->threads, forward_chunk, &j);
}

int fm_conv_infer_pools(const fm_layer *L) { return L->wino && fm_wino_pools(L); }

void fm_conv_infer(fm_layer *L, const fm_layer *bn, int relu, int pool, const float *x, float *y,
                   int B, int q16) {
  wino_weights_for(L, 0);
  /* Batch norm at inference is y = x * s + t per channel, s = gamma /
   * sqrt(var + eps), t = beta - mean * s: on the convolution's sums z + b
   * that is z * s + (b * s + t). */
  float *scale = NULL, *shift = L->b;
  if (bn) {
    scale = L->fold, shift = L->fold + L->out.c;
    for (int c = 0; c < L->out.c; c++) {
      float s = bn->w[c] / sqrtf(bn->running_var[c] + FM_BN_EPS);
      scale[c] = s;
      shift[c] = L->b[c] * s + (bn->b[c] - bn->running_mean[c] * s);
    }
  }
  conv_job j = {L, x, NULL, y, NULL, {scale, shift, relu, pool}, q16, 0};
  fm_parallel_for(B, L->threads, forward_chunk, &j);
}

static void backward_chunk(void *ctx, int begin, int end, int tid) {
  conv_job *j = ctx;
  fm_layer *L = j->L;
  int cin = L->in.c, h = L->in.h, w = L->in.w, k = L->k, cout = L->out.c;
  int hw = h * w, K = cin * k * k;
  float *colbuf = L->col ? L->col + (size_t)tid * K * hw : NULL;
  float *dcol = L->dcol ? L->dcol + (size_t)tid * K * hw : NULL;
  int wino = fm_wino_dx_applies(L) && L->winodx, wino_dw = fm_wino_dw_applies(L) && L->wdu;
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
    if (!wino_dw) {
      const float *col = xn;
      if (k != 1) {
        im2col(xn, cin, h, w, k, colbuf);
        col = colbuf;
      }
      /* dw [cout, K] += dy [cout, hw] * col^T [hw, K] */
      fm_gemm(cout, K, hw, dyn, hw, 1, col, 1, hw, dw, K, 1);
    }
    for (int co = 0; co < cout; co++) {
      const float *row = dyn + co * hw;
      v128_t acc = wasm_f32x4_splat(0);
      int i = 0;
      for (; i + 4 <= hw; i += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(row + i));
      float s = fm_f32x4_sum(acc);
      for (; i < hw; i++) s += row[i];
      db[co] += s;
    }
    if (!j->dx || wino) continue;
    float *dxn = j->dx + (size_t)n * cin * hw;
    if (k == 1) {
      fm_gemm(K, hw, cout, L->w, 1, K, dyn, hw, 1, dxn, hw, 0);
    } else {
      /* dcol [K, hw] = w^T [K, cout] * dy [cout, hw] */
      fm_gemm(K, hw, cout, L->w, 1, K, dyn, hw, 1, dcol, hw, 0);
      col2im(dcol, cin, h, w, k, dxn);
    }
    if (j->gate) fm_relu_backward(xn, dxn, dxn, cin * hw);
  }
  /* The weight and input gradients through Winograd, several samples at a
   * time; the weight gradient summed over this thread's samples in the
   * transformed domain, then brought back once. Where both run on F(4x4),
   * one transform of dy serves both. */
  float *wbuf = L->wbuf ? L->wbuf + (size_t)tid * fm_wino_scratch(L) : NULL;
  if (wino_dw) {
    float *dU = L->wdu + (size_t)tid * fm_wino_du_size(L);
    memset(dU, 0, fm_wino_du_size(L) * sizeof(float));
    for (int n = begin; n < end;) {
      int G = FM_MIN(fm_wino_group(L), end - n);
      const float *xn = j->x + (size_t)n * cin * hw;
      fm_wino_backward(L, L->winodx, xn, j->dy + (size_t)n * cout * hw, j->gate ? xn : NULL, dU,
                       j->dx && wino ? j->dx + (size_t)n * cin * hw : NULL, G, wbuf);
      n += G;
    }
    fm_wino_grad_weights(L, dU, dw);
  }
  if (j->dx && wino && !wino_dw) {
    for (int n = begin; n < end;) {
      int G = FM_MIN(fm_wino_group(L), end - n);
      fm_wino_backward_data(L, L->winodx, j->dy + (size_t)n * cout * hw, j->gate ? j->x + (size_t)n * cin * hw : NULL,
                            j->dx + (size_t)n * cin * hw, G, wbuf);
      n += G;
    }
  }
}

void fm_conv_backward(fm_layer *L, const float *x, const float *dy, float *dx, int B, int gate) {
  if (dx && fm_wino_dx_applies(L) && L->winodx) fm_wino_weights_dx(L, L->winodx);
  conv_job j = {L, x, dy, NULL, dx, {NULL, NULL, 0, 0}, 0, gate};
  int tasks = FM_MIN(FM_MIN(L->threads, fm_threads()), B);
  fm_parallel_for(B, tasks, backward_chunk, &j);
  for (int t = 1; t < tasks; t++) {
    const float *part = L->dparts + (size_t)(t - 1) * (L->nw + L->nb);
    for (int i = 0; i < L->nw; i++) L->dw[i] += part[i];
    for (int i = 0; i < L->nb; i++) L->db[i] += part[L->nw + i];
  }
}

/* layer.c: dispatch by kind, scratch allocation and cost model. */
#include "layer.h"

#include <string.h>

#include "../common.h"
#include "../kernels/parallel.h"
#include "winograd.h"

int fm_layer_reserve(fm_layer *L, int max_batch, int backward) {
  if (L->max_batch >= max_batch && L->threads >= fm_threads() && (L->backward || !backward)) return 1;
  max_batch = FM_MAX(max_batch, L->max_batch);
  backward |= L->backward;
  fm_layer_release(L);
  size_t in = (size_t)fm_shape_size(L->in);
  switch (L->kind) {
  /* Inference uses the running statistics and no dropout mask: a network
   * that only predicts keeps none of these batch-sized buffers. */
  case FM_BATCHNORM:
    if (!backward) break;
    L->xhat = fm_malloc_aligned(in * max_batch * sizeof(float));
    L->mean = fm_malloc_aligned(L->in.c * sizeof(float));
    L->istd = fm_malloc_aligned(L->in.c * sizeof(float));
    if (!L->xhat || !L->mean || !L->istd) return 0;
    break;
  case FM_DROPOUT:
    if (!backward) break;
    L->mask = fm_malloc_aligned(in * max_batch * sizeof(float));
    if (!L->mask) return 0;
    break;
  case FM_DENSE:
    if (!fm_dense_q16_applies(L)) break;
    L->wq = fm_malloc_aligned(fm_dense_q16_size(L) * sizeof(int16_t));
    L->wqs = fm_malloc_aligned(fm_dense_q16_scales(L) * sizeof(float));
    L->wbuf = fm_malloc_aligned((size_t)fm_threads() * fm_dense_q16_scratch(L) * sizeof(float));
    if (!L->wq || !L->wqs || !L->wbuf) return 0;
    break;
  case FM_CONV: {
    size_t ncol = (size_t)L->in.c * L->k * L->k * L->in.h * L->in.w;
    size_t T = (size_t)fm_threads();
    /* im2col's buffers only where some pass still lowers to GEMM: a layer
     * whose forward pass and both gradients run through Winograd has none
     * (3.6 MB fewer for a 32->32 layer at 28x28 on two threads). */
    int wino_all = fm_wino_applies(L) && fm_wino_dw_applies(L) && fm_wino_dx_applies(L);
    int col = backward ? !wino_all : !fm_wino_applies(L);
    L->col = col ? fm_malloc_aligned(T * ncol * sizeof(float)) : NULL;
    L->fold = fm_malloc_aligned((size_t)2 * L->out.c * sizeof(float));
    if ((col && !L->col) || !L->fold) return 0;
    if (fm_wino_applies(L)) {
      L->wino = fm_malloc_aligned(fm_wino_weights_size(L) * sizeof(float));
      L->wbuf = fm_malloc_aligned(T * fm_wino_scratch(L) * sizeof(float));
      if (!L->wino || !L->wbuf) return 0;
    }
    if (fm_conv1_q16_applies(L)) {
      size_t scratch = (size_t)fm_threads() * fm_conv1_q16_scratch(L) * sizeof(float);
      L->wq = fm_malloc_aligned(fm_conv1_q16_size(L) * sizeof(int16_t));
      L->wqs = fm_malloc_aligned(fm_conv1_q16_scales(L) * sizeof(float));
      L->wbuf = fm_malloc_aligned(scratch);
      if (!L->wq || !L->wqs || !L->wbuf) return 0;
      memset(L->wbuf, 0, scratch); /* the padded planes' borders */
    }
    if (fm_wino_q16_applies(L)) {
      L->wq = fm_malloc_aligned(fm_wino_q16_size(L) * sizeof(int16_t));
      L->wqs = fm_malloc_aligned(fm_wino_q16_scales(L) * sizeof(float));
      if (!L->wq || !L->wqs) return 0;
    }
    if (!backward) break; /* the rest is for gradients */
    L->dcol = wino_all ? NULL : fm_malloc_aligned(T * ncol * sizeof(float));
    L->dparts = fm_malloc_aligned((T - 1 + 1) * (size_t)(L->nw + L->nb) * sizeof(float));
    if ((!wino_all && !L->dcol) || !L->dparts) return 0;
    if (fm_wino_dw_applies(L)) {
      L->wdu = fm_malloc_aligned(T * fm_wino_du_size(L) * sizeof(float));
      if (!L->wdu) return 0;
    }
    if (fm_wino_dx_applies(L)) {
      L->winodx = fm_malloc_aligned(fm_wino_weights_size(L) * sizeof(float));
      if (!L->winodx) return 0;
    }
    break;
  }
  default:
    break;
  }
  L->max_batch = max_batch;
  L->threads = fm_threads();
  L->backward = backward;
  return 1;
}

void fm_layer_release(fm_layer *L) {
  fm_free_aligned(L->xhat);
  fm_free_aligned(L->mean);
  fm_free_aligned(L->istd);
  fm_free_aligned(L->mask);
  fm_free_aligned(L->col);
  fm_free_aligned(L->dcol);
  fm_free_aligned(L->dparts);
  fm_free_aligned(L->wino);
  fm_free_aligned(L->wbuf);
  fm_free_aligned(L->winodx);
  fm_free_aligned(L->wq);
  fm_free_aligned(L->wqs);
  fm_free_aligned(L->fold);
  fm_free_aligned(L->wdu);
  L->xhat = L->mean = L->istd = L->mask = L->col = L->dcol = L->dparts = NULL;
  L->wino = L->wbuf = L->winodx = L->fold = L->wdu = L->wqs = NULL;
  L->wq = NULL;
  L->wino_gen = 0;
  L->max_batch = 0;
  L->threads = 0;
  L->backward = 0;
}

double fm_layer_macs(const fm_layer *L) {
  switch (L->kind) {
  case FM_DENSE:
    return (double)fm_shape_size(L->in) * L->out.c;
  case FM_CONV:
    return (double)L->out.c * L->out.h * L->out.w * L->in.c * L->k * L->k;
  default:
    return 0;
  }
}

void fm_layer_forward(fm_layer *L, const float *x, float *y, int B, int train, fm_rng *rng) {
  int n = B * fm_shape_size(L->in);
  switch (L->kind) {
  case FM_DENSE: fm_dense_forward(L, x, y, B); break;
  case FM_CONV: fm_conv_forward(L, x, y, B, train, 0); break;
  case FM_MAXPOOL: fm_maxpool_forward(L, x, y, B); break;
  case FM_RELU: fm_relu_forward(x, y, n); break;
  case FM_BATCHNORM: fm_batchnorm_forward(L, x, y, B, train, 0); break;
  case FM_DROPOUT: fm_dropout_forward(L, x, y, B, train, rng); break;
  case FM_GAP: fm_gap_forward(L, x, y, B); break;
  case FM_FLATTEN: case FM_SKIP: /* a network's flatten works in place (network.c) */
    if (y != x) memcpy(y, x, (size_t)n * sizeof(float));
    break;
  case FM_ADD: break; /* needs the skip's input: network.c */
  }
}

void fm_layer_backward(fm_layer *L, const float *x, const float *y, const float *dy, float *dx,
                       int B) {
  int n = B * fm_shape_size(L->in);
  switch (L->kind) {
  case FM_DENSE: fm_dense_backward(L, x, dy, dx, B); break;
  case FM_CONV: fm_conv_backward(L, x, dy, dx, B, 0); break;
  case FM_MAXPOOL: if (dx) fm_maxpool_backward(L, x, y, dy, dx, B, 0); break;
  case FM_RELU: if (dx) fm_relu_backward(y, dy, dx, n); break;
  case FM_BATCHNORM: fm_batchnorm_backward(L, dy, dx, B); break;
  case FM_DROPOUT: if (dx) fm_dropout_backward(L, dy, dx, B); break;
  case FM_GAP: if (dx) fm_gap_backward(L, dy, dx, B); break;
  case FM_FLATTEN: if (dx && dx != dy) memcpy(dx, dy, (size_t)n * sizeof(float)); break;
  case FM_SKIP: case FM_ADD: break; /* the shortcut's gradient: network.c */
  }
}

int fm_layer_relu_after(const fm_layer *L) { return L->kind == FM_CONV || L->kind == FM_BATCHNORM; }

void fm_layer_forward_relu(fm_layer *L, const float *x, float *y, int B, int train) {
  if (L->kind == FM_CONV) fm_conv_forward(L, x, y, B, train, 1);
  else fm_batchnorm_forward(L, x, y, B, train, 1);
}

int fm_layer_gates_relu(const fm_layer *L) { return L->kind == FM_CONV || L->kind == FM_MAXPOOL; }

void fm_layer_backward_gated(fm_layer *L, const float *x, const float *y, const float *dy, float *dx,
                             int B) {
  if (L->kind == FM_CONV) fm_conv_backward(L, x, dy, dx, B, 1);
  else if (dx) fm_maxpool_backward(L, x, y, dy, dx, B, 1);
}

/* saliency.c: what the model looked at. The gradient of one class's logit
 * with respect to the input pixels (Simonyan et al. 2014, "vanilla
 * gradient"): one forward and one backward pass of a single image through
 * the network as it runs for inference (batch norm with its running
 * statistics, dropout off), so it explains the answer predict gives for the
 * image alone. The backward pass reuses each layer's own backward code
 * (convolution, dense, pooling, ReLU, ...); only batch norm differs, since
 * in inference it is a fixed per-channel scale whose gradient is that
 * scale. The weights' gradient buffers are left untouched: the layers write
 * their parameter gradients into a scratch buffer here. Cold code (one
 * image at a time), built for size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "net.h"


int fm_net_saliency(fm_net *net, const uint8_t *pixels, int cls, float *grad) {
  if (!net || !pixels || !grad) return fm_fail("saliency: missing network, image or output"), -1;
  if (cls >= FM_NUM_CLASSES || fm_net_output_size(net) != FM_NUM_CLASSES)
    return fm_fail("saliency: class %d is not one of the %d outputs", cls, FM_NUM_CLASSES), -1;
  if (!fm_net_reserve(net, 1, FM_RESERVE_FORWARD)) return -1;
  int in = fm_net_input_size(net);
  for (int i = 0; i < in; i++) net->acts[0][i] = pixels[i] * (1.0f / 255.0f);
  const float *logits = fm_net_forward(net, 1, 0);
  for (int j = 0; j < FM_NUM_CLASSES; j++)
    if (!isfinite(logits[j]))
      return fm_fail("the model produced a non-finite output (its weights overflow float32)"), -1;
  if (cls < 0) {
    cls = 0;
    for (int j = 1; j < FM_NUM_CLASSES; j++)
      if (logits[j] > logits[cls]) cls = j;
  }
  /* Two activation-sized gradient buffers used in turn, and room for the
   * largest layer's parameter gradients. */
  long most = FM_NUM_CLASSES, params = 1, shortcuts = 0;
  for (int i = 0; i < net->nlayers; i++) {
    most = FM_MAX(most, (long)fm_shape_size(net->layers[i].in));
    most = FM_MAX(most, (long)fm_shape_size(net->layers[i].out));
    params = FM_MAX(params, (long)net->layers[i].nw + net->layers[i].nb);
    if (net->layers[i].kind == FM_ADD) shortcuts += fm_shape_size(net->layers[i].in);
  }
  /* Residual connections: each add leaves its output gradient for its skip
   * in a slot of its own (nested blocks are open at the same time). */
  float *buf = fm_malloc_aligned((size_t)(2 * most + params + shortcuts) * sizeof(float));
  if (!buf) return fm_fail_prefix("saliency"), -1;
  float *dy = buf, *dx = buf + most, *scratch = buf + 2 * most, *slots = scratch + params;
  float *slot[FM_MAX_LAYERS];
  for (int i = 0; i < net->nlayers; i++)
    if (net->layers[i].kind == FM_ADD) slot[i] = slots, slots += fm_shape_size(net->layers[i].in);
  memset(dy, 0, FM_NUM_CLASSES * sizeof(float));
  dy[cls] = 1.0f;
  for (int i = net->nlayers - 1; i >= 0; i--) {
    fm_layer *L = &net->layers[i];
    int n = fm_shape_size(L->in), hw = L->in.h * L->in.w;
    float *out = i == 0 ? grad : dx;
    if (L->kind == FM_BATCHNORM) {
      for (int c = 0; c < L->in.c; c++) {
        float s = L->w[c] / sqrtf(L->running_var[c] + FM_BN_EPS);
        for (int k = 0; k < hw; k++) out[c * hw + k] = dy[c * hw + k] * s;
      }
    } else if (L->kind == FM_DROPOUT) {
      memcpy(out, dy, (size_t)n * sizeof(float));
    } else if (L->kind == FM_ADD) {
      memcpy(slot[i], dy, (size_t)n * sizeof(float));
      memcpy(out, dy, (size_t)n * sizeof(float));
    } else if (L->kind == FM_SKIP) {
      for (int k = 0; k < n; k++) out[k] = dy[k] + slot[L->link][k];
    } else {
      float *dw = L->dw, *db = L->db;
      if (L->nw) L->dw = scratch;
      if (L->nb) L->db = scratch + L->nw;
      memset(scratch, 0, (size_t)(L->nw + L->nb) * sizeof(float));
      fm_layer_backward(L, net->acts[i], net->acts[i + 1], dy, out, 1);
      L->dw = dw, L->db = db;
    }
    if (i > 0) {
      float *t = dy;
      dy = dx, dx = t;
    }
  }
  fm_free_aligned(buf);
  return cls;
}

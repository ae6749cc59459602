/* predict.c: inference on a batch of images, with the model's test-time
 * views. Not a hot path itself (the forward pass is), so it is built for
 * size with the other cold code (Makefile). */
#include <math.h>
#include <string.h>

#include "../common.h"
#include "net.h"

/* Inference runs in chunks of 64 images: the kernels work image by image
 * (conv) or on 64-row tiles (dense), so bigger chunks gain nothing and only
 * cost activation memory. */
enum { CHUNK = 64 };

/* Finite weights can still overflow to inf/NaN in the forward pass (a
 * hostile or broken model file): refuse to answer rather than answer wrong. */
static int logits_ok(const float *z, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(z[i]))
      return fm_fail("the model produced a non-finite output (its weights overflow float32)");
  return 1;
}

/* Test-time views (model metadata "tta" = "shift"): an image whose top class
 * has probability under net->views_below (metadata "views_below", 0.9 when
 * absent) on its own is decided by the mean of the
 * image and the image moved one pixel left and right (zeros come in at the
 * edge), the jitter the models saw in training. On cnn-bn's validation split
 * (stage 2 weights) the three views gained 0.28 points over the image alone,
 * and asking for them only below 0.9 kept all of it (94.92% either way) while
 * 15% of the images needed them: 1.3 forward passes per image instead of 3
 * (README, Models). A model trained with label smoothing is rarely that
 * sure of anything, so it stores a lower threshold, chosen on validation. */
/* "mirror": an image under the same threshold is decided by the mean of
 * itself and its mirror image (views_below 1: every image short of
 * certainty). The models train with random mirroring, and which set helps
 * more is the model's own: on the validation split cnn-bn gained more from
 * the shifts, cnn-res from its mirror, at one extra pass instead of two
 * (docs/models.md). */
#define MIRROR 100 /* a view code: the mirror image, not a shift */
static const int k_shift_views[2] = {1, -1}, k_mirror_views[1] = {MIRROR};

/* acts[0][k] = view dx of image idx[k] (k < b) of x (float or u8 pixels):
 * out[.., x] = in[.., x + dx], zero where that falls outside the row; or,
 * for dx = MIRROR, out[.., x] = in[.., w - 1 - x]. */
static void fill_view(fm_net *net, const float *xf, const uint8_t *xu, const int *idx, int b,
                      int dx) {
  int w = net->input.w, rows = net->input.c * net->input.h, in = rows * w;
  int mirror = dx == MIRROR;
  if (mirror) dx = 0;
  int lo = FM_MAX(0, -dx), hi = FM_MIN(w, w - dx); /* x with x + dx inside */
  float *dst = net->acts[0];
  for (int k = 0; k < b; k++) {
    size_t image = (size_t)(idx ? idx[k] : k) * in;
    for (int r = 0; r < rows; r++, dst += w) {
      for (int x = 0; x < lo; x++) dst[x] = 0;
      for (int x = hi; x < w; x++) dst[x] = 0;
      for (int x = lo; x < hi; x++) {
        size_t at = image + (size_t)r * w + (mirror ? w - 1 - x : x + dx);
        dst[x] = xf ? xf[at] : xu[at] * (1.0f / 255.0f);
      }
    }
  }
}

/* Forward pass of the b images in acts[0], softmax into out. */
static int forward_probs(fm_net *net, int b, float *out) {
  float *logits = fm_net_infer(net, b);
  if (!logits_ok(logits, b * FM_NUM_CLASSES)) return 0;
  fm_softmax(logits, b, FM_NUM_CLASSES, out);
  return 1;
}

static int predict(fm_net *net, const float *xf, const uint8_t *xu, int n, float *probs) {
  int in = fm_net_input_size(net);
  if (n < 0) return fm_fail("negative image count");
  if (n > 0 && ((!xf && !xu) || !probs)) return fm_fail("predict: missing images or output buffer");
  if (!fm_net_reserve(net, FM_MIN(n, CHUNK) > 0 ? FM_MIN(n, CHUNK) : 1, FM_RESERVE_INFER)) return 0;
  float view_probs[CHUNK * FM_NUM_CLASSES];
  int unsure[CHUNK];
  for (int s = 0; s < n; s += CHUNK) {
    int b = FM_MIN(CHUNK, n - s);
    const float *cf = xf ? xf + (size_t)s * in : NULL;
    const uint8_t *cu = xu ? xu + (size_t)s * in : NULL;
    float *out = probs + (size_t)s * FM_NUM_CLASSES;
    fill_view(net, cf, cu, NULL, b, 0);
    if (!forward_probs(net, b, out)) return 0;
    if (!net->tta) continue;
    int mirror = net->tta == FM_TTA_MIRROR, nviews = mirror ? 1 : 2;
    const int *views = mirror ? k_mirror_views : k_shift_views;
    int nu = 0;
    for (int i = 0; i < b; i++) {
      float top = 0;
      for (int j = 0; j < FM_NUM_CLASSES; j++) top = FM_MAX(top, out[i * FM_NUM_CLASSES + j]);
      if (top < net->views_below) unsure[nu++] = i;
    }
    if (!nu) continue;
    for (int v = 0; v < nviews; v++) {
      fill_view(net, cf, cu, unsure, nu, views[v]);
      if (!forward_probs(net, nu, view_probs)) return 0;
      for (int k = 0; k < nu; k++)
        for (int j = 0; j < FM_NUM_CLASSES; j++)
          out[unsure[k] * FM_NUM_CLASSES + j] += view_probs[k * FM_NUM_CLASSES + j];
    }
    for (int k = 0; k < nu; k++)
      for (int j = 0; j < FM_NUM_CLASSES; j++) out[unsure[k] * FM_NUM_CLASSES + j] /= (float)(nviews + 1);
  }
  return 1;
}

int fm_net_predict_f32(fm_net *net, const float *x, int n, float *probs) {
  return predict(net, x, NULL, n, probs);
}

int fm_net_predict_u8(fm_net *net, const uint8_t *pixels, int n, float *probs) {
  return predict(net, NULL, pixels, n, probs);
}


/* The verdict the page and `fmnist predict` give for one image's
 * probabilities. Unsure: the top class is under the model's "unsure_below"
 * (0.5 unless its metadata says otherwise). In scope: how far the answer is
 * from the uniform spread that a photo model is trained to give for garments
 * that are none of the ten, 1 - entropy / log 10 (0 for uniform, 1 for one
 * class), is at least the model's "scope_min"; a model without one (trained
 * on Fashion-MNIST alone, never shown such garments) calls everything in
 * scope. Entropy rather than the top class, so that a photo split between
 * allowed look-alikes (a long sleeve: T-shirt, pullover or shirt) still counts
 * as one of the ten. */
int fm_net_verdict(const fm_net *net, const float *probs, int32_t *out) {
  if (!net || !probs || !out) return fm_fail("verdict needs a network, probabilities and an output");
  int top = 0;
  double h = 0;
  for (int j = 0; j < FM_NUM_CLASSES; j++) {
    if (!(probs[j] >= 0 && probs[j] <= 1)) return fm_fail("probability %d is not in [0, 1]", j);
    if (probs[j] > probs[top]) top = j;
    if (probs[j] > 0) h -= probs[j] * log(probs[j]);
  }
  float certainty = (float)(1 - h / log(FM_NUM_CLASSES));
  out[0] = top;
  out[1] = probs[top] < net->unsure_below;
  out[2] = net->scope_min < 0 || certainty >= net->scope_min;
  return 1;
}

/* predict_photo.c: a photo's answer with the model's photo views. One
 * rendering of a photo depends on where the pipeline's segmentation and crop
 * happened to fall; averaging it with renders of jittered copies of the
 * photo (src/train/jitter_photo.c: other framing, resolution, light) makes
 * the answer depend less on that. Cross-validated on the training photos,
 * five jittered renders took the photos of the ten classes from 86.9% to
 * 88.4% right (docs/photos.md). A photo whose plain answer is already sure
 * (top class at least photo_views_below, 0.6) gains nothing from them: on
 * the same folds, views for the 22% of photos under 0.6 did as well as
 * views for all, so the median photo costs one pipeline run.
 * Both entry points give the same answer for the same photo: the set's
 * renders are the ones fm_net_predict_photo makes. */
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "../data/photoset.h"
#include "net.h"

static int needs_views(const fm_net *net, const float *p) {
  float top = 0;
  for (int c = 0; c < FM_NUM_CLASSES; c++) top = p[c] > top ? p[c] : top;
  return net->photo_views > 0 && top < net->photo_views_below;
}

/* probs (the plain render's) becomes the mean of it and the n renders' rows. */
static void average(float *probs, const float *renders, int n) {
  for (int c = 0; c < FM_NUM_CLASSES; c++) {
    float s = probs[c];
    for (int k = 0; k < n; k++) s += renders[k * FM_NUM_CLASSES + c];
    probs[c] = s / (n + 1);
  }
}

int fm_net_photo_views(const fm_net *net) { return net ? net->photo_views : 0; }

/* The side of the square gray renders the model takes (28 for the shipped
 * ones, larger for a model of fm_photo_render's larger renders), or 0. */
int fm_net_photo_side(const fm_net *net) {
  int side = net->input.h;
  if (net->input.c != 1 || net->input.w != side || side < FM_PHOTO_SIDE_MIN || side > FM_PHOTO_SIDE_MAX)
    return fm_fail("photos are rendered as square gray images of %d to %d pixels, but this model takes %dx%dx%d",
                   FM_PHOTO_SIDE_MIN, FM_PHOTO_SIDE_MAX, net->input.c, net->input.h, net->input.w);
  return side;
}

int fm_net_predict_photo(fm_net *net, const uint8_t *rgba, int w, int h, const uint8_t *input, float *probs) {
  if (!net || !rgba || !input || !probs) return fm_fail("network, photo, its input and probs are required");
  int side = fm_net_photo_side(net);
  if (!side || !fm_net_predict_u8(net, input, 1, probs)) return 0;
  if (!needs_views(net, probs)) return 1;
  int n = net->photo_views;
  size_t px = (size_t)side * side;
  uint8_t *in = fm_malloc((size_t)n * px);
  float *p = fm_malloc((size_t)n * FM_NUM_CLASSES * sizeof(float));
  int ok = in && p;
  for (int k = 0; ok && k < n; k++) ok = fm_photo_render_jittered(rgba, w, h, side, k + 1, in + (size_t)k * px);
  if (ok && (ok = fm_net_predict_u8(net, in, n, p))) average(probs, p, n);
  free(in), free(p);
  return ok;
}

int fm_net_predict_photoset(fm_net *net, const fm_photoset *ps, float *probs) {
  if (!net || !ps || !probs) return fm_fail("network, photo set and probs are required");
  size_t px = (size_t)ps->side * ps->side;
  if ((size_t)fm_net_input_size(net) != px)
    return fm_fail("a photo set holds %dx%d renders, but this model takes %d inputs", ps->side, ps->side,
                   fm_net_input_size(net));
  if (!ps->count) return 1;
  if (!fm_net_predict_u8(net, ps->inputs, ps->count, probs)) return 0;
  int n = net->photo_views, need = 0;
  for (int i = 0; i < ps->count; i++) {
    if (!needs_views(net, probs + (size_t)i * FM_NUM_CLASSES)) continue;
    if (ps->nrenders[i] < n)
      return fm_fail("the model averages %d photo views, but photo %d of the set has %d jittered renders "
                     "(load the photos with at least %d)", n, i, ps->nrenders[i], n);
    need++;
  }
  if (!need) return 1;
  uint8_t *in = fm_malloc((size_t)need * n * px);
  float *p = fm_malloc((size_t)need * n * FM_NUM_CLASSES * sizeof(float));
  int *who = fm_malloc((size_t)need * sizeof(int)), m = 0, ok = in && p && who;
  for (int i = 0; ok && i < ps->count; i++)
    if (needs_views(net, probs + (size_t)i * FM_NUM_CLASSES)) {
      memcpy(in + (size_t)m * n * px, ps->renders + (size_t)ps->first_render[i] * px, (size_t)n * px);
      who[m++] = i;
    }
  if (ok && (ok = fm_net_predict_u8(net, in, need * n, p)))
    for (int j = 0; j < need; j++) average(probs + (size_t)who[j] * FM_NUM_CLASSES, p + (size_t)j * n * FM_NUM_CLASSES, n);
  free(in), free(p), free(who);
  return ok;
}

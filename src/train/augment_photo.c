/* augment_photo.c: training-time augmentation that makes a Fashion-MNIST
 * image look like what the photo pipeline (src/image/photo.c) makes of a
 * real photo, so a model trained on the dataset alone copes with uploads.
 * What differs between the two, and the draw that imitates it:
 *   - the garment is not posed like a catalogue shot, and the crop box is
 *     off by a few pixels: rotation +-12 degrees, scale 0.85..1.12, aspect
 *     0.87..1.15,
 *     translation +-2 px (bilinear, zero outside);
 *   - the pipeline stretches the object's contrast and lifts it to >= 48/255,
 *     so a faint white shirt becomes a bright silhouette: random gamma
 *     0.5..2, gain 0.8..1.8, and half the time a floor of 0.1..0.35 under
 *     every object pixel;
 *   - a 400 px photo shrunk to 28 px is softer or harsher than the dataset's
 *     own resampling: Gaussian blur (sigma 0.4..1.1) half the time;
 *   - remnants of the background (a bed's edge, a shadow) left at the border
 *     of the crop: one quarter of the time a band of 1..3 px along one edge,
 *     intensity 0.1..0.5, where the image is dark;
 *   - sensor noise and texture: half the time Gaussian noise, sigma < 0.06.
 * Applied to a fraction (augment_photo) of the training images, after the
 * shift / flip / erasing of augment.c. Every draw comes from the augment
 * stream, so runs are reproducible and resumable. */
#include <math.h>
#include <string.h>

#include "train.h"

static float uniform(fm_rng *rng, float lo, float hi) { return lo + (hi - lo) * fm_rng_uniform(rng); }

/* Approximately standard normal: the sum of four uniforms, rescaled (enough
 * for noise; cheaper than Box-Muller and never infinite). */
static float normal(fm_rng *rng) {
  float s = fm_rng_uniform(rng) + fm_rng_uniform(rng) + fm_rng_uniform(rng) + fm_rng_uniform(rng);
  return (s - 2.0f) * 1.7320508f;
}

void fm_small_turn(float a, float *c, float *s) {
  /* Taylor series, exact to float precision for |a| <= 0.25; libm's sinf and
   * cosf would add 3 KB to the wasm module. */
  float a2 = a * a;
  *c = 1 - a2 / 2 * (1 - a2 / 12 * (1 - a2 / 30));
  *s = a * (1 - a2 / 6 * (1 - a2 / 20));
}

float fm_bilinear(const float *img, int h, int w, float fx, float fy) {
  int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
  float ax = fx - x0, ay = fy - y0, acc = 0;
  for (int dy = 0; dy <= 1; dy++)
    for (int dx = 0; dx <= 1; dx++) {
      int xx = x0 + dx, yy = y0 + dy;
      if (xx < 0 || xx >= w || yy < 0 || yy >= h) continue;
      acc += (dx ? ax : 1 - ax) * (dy ? ay : 1 - ay) * img[yy * w + xx];
    }
  return acc;
}

static void affine(float *img, int h, int w, fm_rng *rng) {
  float src[64 * 64];
  memcpy(src, img, (size_t)h * w * sizeof(float));
  float a = uniform(rng, -0.21f, 0.21f); /* radians, +-12 degrees */
  float s = expf(uniform(rng, logf(0.85f), logf(1.12f)));
  float r = sqrtf(expf(uniform(rng, logf(0.87f), logf(1.15f))));
  float sx = s * r, sy = s / r, tx = uniform(rng, -2.0f, 2.0f), ty = uniform(rng, -2.0f, 2.0f);
  float ca, sa;
  fm_small_turn(a, &ca, &sa);
  float cx = 0.5f * (w - 1), cy = 0.5f * (h - 1);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      /* Output pixel -> source: undo translation, rotation, then scale. */
      float u = x - cx - tx, v = y - cy - ty;
      img[y * w + x] = fm_bilinear(src, h, w, (ca * u + sa * v) / sx + cx, (-sa * u + ca * v) / sy + cy);
    }
}

static void intensity(float *img, int n, fm_rng *rng) {
  float gamma = expf(uniform(rng, logf(0.5f), logf(2.0f))), gain = uniform(rng, 0.8f, 1.8f);
  float floor_ = fm_rng_u32(rng) & 1 ? uniform(rng, 0.1f, 0.35f) : 0.0f;
  for (int i = 0; i < n; i++) {
    float v = img[i];
    if (v <= 0.02f) continue; /* background stays black */
    v = fminf(1.0f, gain * expf(gamma * logf(v))); /* v^gamma; powf costs 2 KB */
    img[i] = floor_ + (1.0f - floor_) * v;
  }
}

static void blur(float *img, int h, int w, float sigma) {
  float k[5], sum = 0, tmp[64 * 64];
  for (int i = 0; i < 5; i++) sum += k[i] = expf(-(i - 2) * (i - 2) / (2 * sigma * sigma));
  for (int i = 0; i < 5; i++) k[i] /= sum;
  for (int y = 0; y < h; y++) /* rows, edges clamped */
    for (int x = 0; x < w; x++) {
      float acc = 0;
      for (int i = 0; i < 5; i++) acc += k[i] * img[y * w + FM_MIN(w - 1, FM_MAX(0, x + i - 2))];
      tmp[y * w + x] = acc;
    }
  for (int y = 0; y < h; y++) /* columns */
    for (int x = 0; x < w; x++) {
      float acc = 0;
      for (int i = 0; i < 5; i++) acc += k[i] * tmp[FM_MIN(h - 1, FM_MAX(0, y + i - 2)) * w + x];
      img[y * w + x] = acc;
    }
}

static void border_band(float *img, int h, int w, fm_rng *rng) {
  int side = (int)fm_rng_below(rng, 4), width = 1 + (int)fm_rng_below(rng, 3);
  float level = uniform(rng, 0.1f, 0.5f);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int d = side == 0 ? y : side == 1 ? h - 1 - y : side == 2 ? x : w - 1 - x;
      if (d < width && img[y * w + x] < level) img[y * w + x] = level;
    }
}

void fm_augment_photo(float *img, int h, int w, fm_rng *rng) {
  if (h * w > 64 * 64) return;
  int n = h * w;
  affine(img, h, w, rng);
  intensity(img, n, rng);
  if (fm_rng_u32(rng) & 1) blur(img, h, w, uniform(rng, 0.4f, 1.1f));
  if (fm_rng_below(rng, 4) == 0) border_band(img, h, w, rng);
  if (fm_rng_u32(rng) & 1) {
    float sigma = uniform(rng, 0.0f, 0.06f);
    for (int i = 0; i < n; i++) img[i] += sigma * normal(rng);
  }
  for (int i = 0; i < n; i++) img[i] = fminf(1.0f, fmaxf(0.0f, img[i]));
}

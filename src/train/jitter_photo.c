/* jitter_photo.c: extra training renders of a real photo. The photo is
 * perturbed as another person's camera would have taken it, then run through
 * the photo pipeline (src/image/photo.c) like any upload, so the model sees
 * how the pipeline's segmentation and crop vary, not only how a fixed 28x28
 * rendering moves (the 28x28 augmentations of augment_photo.c). A photo set
 * keeps these renders beside the plain one (fm_photoset_set_jitters).
 * The draw, per render:
 *   - framing: keep 80..100% of the width and of the height, anywhere in the
 *     photo, turned by up to +-8 degrees (edges repeated outside);
 *   - resolution: the longest edge becomes 80..160 px (the pipeline works at
 *     160), each output pixel the mean of 2x2 bilinear samples;
 *   - light and colour: brightness 0.7..1.3, contrast 0.7..1.3 about mid
 *     gray, each channel's gain 0.85..1.15, saturation 0.4..1.3;
 *   - sensor noise half the time, sigma up to 8 levels.
 * The draw is seeded from the photo's own pixels and the render's number,
 * so a set is the same whatever the order or thread its photos come in. */
#include <string.h>

#include "../common.h"
#include "train.h"

static float uniform(fm_rng *rng, float lo, float hi) { return lo + (hi - lo) * fm_rng_uniform(rng); }

/* FNV-1a over the size and a sparse sample of the pixels: a stable seed. */
static uint64_t photo_seed(const uint8_t *rgba, int w, int h) {
  uint64_t s = 1469598103934665603ull;
  size_t n = (size_t)4 * w * h, step = n / 4096 + 1;
  s = (s ^ (uint64_t)w) * 1099511628211ull;
  s = (s ^ (uint64_t)h) * 1099511628211ull;
  for (size_t i = 0; i < n; i += step) s = (s ^ rgba[i]) * 1099511628211ull;
  return s;
}

/* Bilinear sample at (x, y), clamped to the edges, composited over white. */
static void sample(const uint8_t *rgba, int w, int h, float x, float y, float *rgb) {
  x = x < 0 ? 0 : x > w - 1 ? (float)(w - 1) : x;
  y = y < 0 ? 0 : y > h - 1 ? (float)(h - 1) : y;
  int x0 = (int)x, y0 = (int)y, x1 = FM_MIN(x0 + 1, w - 1), y1 = FM_MIN(y0 + 1, h - 1);
  float fx = x - x0, fy = y - y0;
  const uint8_t *p[4] = {rgba + 4 * ((size_t)y0 * w + x0), rgba + 4 * ((size_t)y0 * w + x1),
                         rgba + 4 * ((size_t)y1 * w + x0), rgba + 4 * ((size_t)y1 * w + x1)};
  float wt[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
  rgb[0] = rgb[1] = rgb[2] = 0;
  if ((p[0][3] & p[1][3] & p[2][3] & p[3][3]) == 255) { /* opaque: the same sums, without the blend */
    for (int k = 0; k < 4; k++)
      for (int c = 0; c < 3; c++) rgb[c] += wt[k] * p[k][c];
    return;
  }
  for (int k = 0; k < 4; k++) {
    float a = p[k][3] * (1.0f / 255.0f);
    for (int c = 0; c < 3; c++) rgb[c] += wt[k] * (p[k][c] * a + 255 * (1 - a));
  }
}

int fm_photo_to_input_jittered(const uint8_t *rgba, int w, int h, int render, uint8_t *out28) {
  return fm_photo_render_jittered(rgba, w, h, FM_IMAGE_SIDE, render, out28);
}

int fm_photo_render_jittered(const uint8_t *rgba, int w, int h, int side, int render, uint8_t *dst) {
  if (!rgba || !dst || w < 1 || h < 1) return fm_fail("image has no pixels");
  fm_rng rng;
  fm_rng_seed(&rng, photo_seed(rgba, w, h) + (uint64_t)render * 0x9E3779B97F4A7C15ull, FM_STREAM_PHOTOS);
  float cw = w * uniform(&rng, 0.8f, 1), ch = h * uniform(&rng, 0.8f, 1);
  float cx = uniform(&rng, cw / 2, w - cw / 2), cy = uniform(&rng, ch / 2, h - ch / 2);
  float c, s;
  fm_small_turn(uniform(&rng, -0.14f, 0.14f), &c, &s);
  float longest = uniform(&rng, 80, 160), scale = FM_MAX(cw, ch) / longest;
  if (scale < 1) scale = 1; /* never enlarge a small photo */
  int ow = FM_MAX(1, (int)(cw / scale + 0.5f)), oh = FM_MAX(1, (int)(ch / scale + 0.5f));
  float bright = uniform(&rng, 0.7f, 1.3f), contrast = uniform(&rng, 0.7f, 1.3f);
  float sat = uniform(&rng, 0.4f, 1.3f), gain[3];
  for (int k = 0; k < 3; k++) gain[k] = uniform(&rng, 0.85f, 1.15f);
  float noise = fm_rng_uniform(&rng) < 0.5f ? uniform(&rng, 0, 8) : 0;
  uint8_t *out = fm_malloc((size_t)4 * ow * oh);
  if (!out) return 0;
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++) {
      float acc[3] = {0, 0, 0}, rgb[3];
      for (int sy = 0; sy < 2; sy++)
        for (int sx = 0; sx < 2; sx++) {
          /* Output pixel -> offset from the crop's centre -> turned -> photo. */
          float u = ((x + 0.25f + 0.5f * sx) / ow - 0.5f) * cw, v = ((y + 0.25f + 0.5f * sy) / oh - 0.5f) * ch;
          sample(rgba, w, h, cx + c * u - s * v - 0.5f, cy + s * u + c * v - 0.5f, rgb);
          for (int k = 0; k < 3; k++) acc[k] += 0.25f * rgb[k];
        }
      float gray = 0.299f * acc[0] + 0.587f * acc[1] + 0.114f * acc[2];
      float n = noise > 0 ? noise * (fm_rng_uniform(&rng) + fm_rng_uniform(&rng) + fm_rng_uniform(&rng) - 1.5f) * 2
                          : 0;
      uint8_t *p = out + 4 * ((size_t)y * ow + x);
      for (int k = 0; k < 3; k++) {
        float val = gray + sat * (acc[k] - gray);
        val = 128 + contrast * (bright * gain[k] * val - 128) + n;
        p[k] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val + 0.5f);
      }
      p[3] = 255;
    }
  int ok = fm_photo_render(out, ow, oh, side, dst, NULL, NULL, NULL);
  fm_free(out);
  return ok;
}

int fm_photo_to_renders(const uint8_t *rgba, int w, int h, int n, uint8_t *out) {
  return fm_photo_renders(rgba, w, h, FM_IMAGE_SIDE, n, out);
}

int fm_photo_renders(const uint8_t *rgba, int w, int h, int side, int n, uint8_t *out) {
  size_t px = (size_t)side * side;
  int ok = fm_photo_render(rgba, w, h, side, out, NULL, NULL, NULL);
  for (int r = 1; ok && r < n; r++) ok = fm_photo_render_jittered(rgba, w, h, side, r, out + r * px);
  return ok;
}

/* augment.c: training-time augmentation of one image (float, [h, w]):
 * random translation with zero fill (the padded random crop of CIFAR-style
 * training), horizontal flip (garments are left-right symmetric), and random
 * erasing (Zhong et al. 2017: a rectangle of 2%..33% of the area, aspect
 * 0.3..3.3, filled with zeros). Every draw comes from the augment stream. */
#include <math.h>
#include <string.h>

#include "train.h"

void fm_augment(const fm_train_config *cfg, float *img, int h, int w, fm_rng *rng) {
  float tmp[64 * 64];
  if (h * w > 64 * 64) return;
  if (cfg->augment_flip && fm_rng_u32(rng) & 1) {
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w / 2; x++) {
        float t = img[y * w + x];
        img[y * w + x] = img[y * w + w - 1 - x];
        img[y * w + w - 1 - x] = t;
      }
  }
  int s = cfg->augment_shift;
  if (s > 0) {
    int dy = (int)fm_rng_below(rng, 2 * s + 1) - s, dx = (int)fm_rng_below(rng, 2 * s + 1) - s;
    if (dx || dy) {
      memcpy(tmp, img, (size_t)h * w * sizeof(float));
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          int sy = y - dy, sx = x - dx;
          img[y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? tmp[sy * w + sx] : 0.0f;
        }
    }
  }
  if (cfg->augment_erase > 0 && fm_rng_uniform(rng) < cfg->augment_erase) {
    for (int attempt = 0; attempt < 10; attempt++) {
      float area = (0.02f + 0.31f * fm_rng_uniform(rng)) * h * w;
      float aspect = expf(logf(0.3f) + (logf(3.3f) - logf(0.3f)) * fm_rng_uniform(rng));
      int eh = (int)lroundf(sqrtf(area * aspect)), ew = (int)lroundf(sqrtf(area / aspect));
      if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
      int y0 = (int)fm_rng_below(rng, h - eh + 1), x0 = (int)fm_rng_below(rng, w - ew + 1);
      for (int y = y0; y < y0 + eh; y++)
        for (int x = x0; x < x0 + ew; x++) img[y * w + x] = 0.0f;
      break;
    }
  }
}

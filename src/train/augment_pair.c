/* augment_pair.c: training-time augmentation that turns one Fashion-MNIST
 * shoe into a pair, the way people photograph shoes. The dataset has single
 * shoes seen from the side, toe to the left; an uploaded photo of shoes is
 * nearly always a pair, side by side, often from above, and the photo
 * pipeline fits the pair's box to 28 px. A model that never saw two shoes
 * reads two upright soles as a pair of trouser legs and two stacked ones as
 * a bag (bench/photos.mjs, shoes folder). The pair is drawn as
 *   - the shoe and its mirror image across the line between them (a left
 *     and a right shoe),
 *   - both lying (toes sideways, one above the other) or both upright (toes
 *     up, side by side: the outline of a pair seen from above), each turned
 *     a further +-0.25 rad,
 *   - 1.0..1.35 shoe-widths apart (touching to a small gap; closer pairs
 *     read as one blob and taught the model that blobs are shoes), one
 *     shifted along its length by up to 0.2 of it,
 * on a 64x64 canvas at the shoe's own scale; the pair's box is then fitted
 * into 28x28 as the photo pipeline does (longest edge 28, centred).
 * Every draw comes from the augment stream. */
#include <math.h>
#include <string.h>

#include "train.h"

enum { CANVAS = 64 };

static float uniform(fm_rng *rng, float lo, float hi) { return lo + (hi - lo) * fm_rng_uniform(rng); }

/* Bounding box of the pixels above 0.05: x0, y0, x1, y1 (exclusive); 0 if none. */
static int bbox(const float *img, int h, int w, int *b) {
  b[0] = w, b[1] = h, b[2] = b[3] = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (img[y * w + x] > 0.05f) {
        b[0] = FM_MIN(b[0], x), b[1] = FM_MIN(b[1], y);
        b[2] = FM_MAX(b[2], x + 1), b[3] = FM_MAX(b[3], y + 1);
      }
  return b[2] > b[0] && b[3] > b[1];
}

/* Draws the shoe in img (its box centred at scx, scy) onto the canvas with
 * that centre at (px, py): mirrored across its length if mirror, upright (toe
 * up) if upright, then turned (cos ca, sin sa); keeps the brighter pixel. */
static void draw(float *canvas, const float *img, int h, int w, float scx, float scy, float px,
                 float py, int mirror, int upright, float ca, float sa) {
  for (int y = 0; y < CANVAS; y++)
    for (int x = 0; x < CANVAS; x++) {
      float u = x - px, v = y - py;
      float ru = ca * u + sa * v, rv = -sa * u + ca * v; /* undo the turn */
      float su = upright ? rv : ru, sv = upright ? -ru : rv; /* undo toe-up: (u,v) = (v',-u') */
      if (mirror) sv = -sv; /* across the line between the two shoes, either way */
      float s = fm_bilinear(img, h, w, scx + su, scy + sv);
      if (s > canvas[y * CANVAS + x]) canvas[y * CANVAS + x] = s;
    }
}

void fm_augment_pair(float *img, int h, int w, fm_rng *rng) {
  int b[4];
  if (h * w > 28 * 28 || !bbox(img, h, w, b)) return;
  float canvas[CANVAS * CANVAS];
  memset(canvas, 0, sizeof canvas);
  float scx = 0.5f * (b[0] + b[2] - 1), scy = 0.5f * (b[1] + b[3] - 1);
  float len = (float)(b[2] - b[0]), thick = (float)(b[3] - b[1]);
  int upright = fm_rng_u32(rng) & 1, swap = fm_rng_u32(rng) & 1;
  float gap = thick * uniform(rng, 1.0f, 1.35f), slide = len * uniform(rng, -0.2f, 0.2f);
  for (int k = 0; k < 2; k++) {
    float ca, sa;
    fm_small_turn(uniform(rng, -0.25f, 0.25f), &ca, &sa);
    float across = (k ^ swap ? 0.5f : -0.5f) * gap, along = (k ? 0.5f : -0.5f) * slide;
    float px = CANVAS / 2 + (upright ? across : along), py = CANVAS / 2 + (upright ? along : across);
    draw(canvas, img, h, w, scx, scy, px, py, k, upright, ca, sa);
  }
  /* Fit the pair's box into h x w: longest edge to the full size, centred,
   * each output pixel the mean of 2x2 bilinear samples (shrinking <= ~2x). */
  if (!bbox(canvas, CANVAS, CANVAS, b)) return;
  float bw = (float)(b[2] - b[0]), bh = (float)(b[3] - b[1]);
  float scale = fmaxf(bw / w, bh / h); /* canvas pixels per output pixel */
  float ox = 0.5f * (b[0] + b[2]) - 0.5f * w * scale, oy = 0.5f * (b[1] + b[3]) - 0.5f * h * scale;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float acc = 0;
      for (int j = 0; j < 4; j++)
        acc += fm_bilinear(canvas, CANVAS, CANVAS, ox + (x + 0.25f + 0.5f * (j & 1)) * scale - 0.5f,
                           oy + (y + 0.25f + 0.5f * (j >> 1)) * scale - 0.5f);
      img[y * w + x] = fminf(1.0f, 0.25f * acc);
    }
}

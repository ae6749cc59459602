/* test_jitter.c: the jittered training renders of a photo
 * (src/train/jitter_photo.c) and how a photo set keeps them. A render must
 * be reproducible (a set is the same on every run and thread), differ from
 * the plain render and from the other renders, and still be what the
 * pipeline makes of a garment: an object fitted to 28 on its longest edge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fmnist.h"

/* A dark T-shirt-like shape on a light, slightly uneven bed. */
static uint8_t *garment_photo(int w, int h) {
  uint8_t *p = malloc((size_t)4 * w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float u = (float)x / w, v = (float)y / h;
      int body = u > 0.35f && u < 0.65f && v > 0.2f && v < 0.85f;
      int sleeves = u > 0.2f && u < 0.8f && v > 0.2f && v < 0.4f;
      uint8_t *q = p + 4 * ((size_t)y * w + x);
      int bed = 215 + (x * 7 + y * 3) % 11;
      q[0] = body || sleeves ? 40 : bed, q[1] = body || sleeves ? 60 : bed - 5;
      q[2] = body || sleeves ? 110 : bed - 12, q[3] = 255;
    }
  return p;
}

/* Longest side of the box around the non-zero pixels. */
static int extent(const uint8_t *in) {
  int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++)
      if (in[y * 28 + x]) x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1, y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
  int w = x1 - x0 + 1, h = y1 - y0 + 1;
  return x1 < 0 ? 0 : w > h ? w : h;
}

void test_jitter(void) {
  const int W = 240, H = 200, R = 8;
  uint8_t *photo = garment_photo(W, H), plain[784], r[R + 1][784], again[784];
  char why[160] = "";
  int ok = fm_photo_to_input(photo, W, H, plain, NULL, NULL, NULL);
  memcpy(r[0], plain, 784);
  int same = 1, fitted = extent(plain) == 28, differ_plain = 0, differ_pairs = 0;
  for (int k = 1; k <= R; k++) {
    ok &= fm_photo_to_input_jittered(photo, W, H, k, r[k]);
    ok &= fm_photo_to_input_jittered(photo, W, H, k, again);
    same &= !memcmp(r[k], again, 784);
    fitted &= extent(r[k]) == 28;
    differ_plain += memcmp(r[k], plain, 784) != 0;
    for (int j = 1; j < k; j++) differ_pairs += memcmp(r[k], r[j], 784) != 0;
  }
  /* All at once, as a photo set makes them: the plain render, then 1..R. */
  uint8_t *all = malloc((size_t)(R + 1) * 784);
  ok &= fm_photo_to_renders(photo, W, H, R + 1, all);
  for (int k = 0; k <= R; k++) same &= !memcmp(all + (size_t)k * 784, r[k], 784);
  free(all);
  snprintf(why, sizeof why, "ok %d same %d fitted %d differ from plain %d/%d, pairs %d/%d", ok, same, fitted,
           differ_plain, R, differ_pairs, R * (R - 1) / 2);
  report(ok && same && fitted && differ_plain == R && differ_pairs == R * (R - 1) / 2,
         "jittered photo renders: reproducible, distinct, still a fitted object", why);

  /* A set keeps each photo's renders beside its plain input, through splits. */
  const char *map = "{\"folders\": {\"tops\": [0], \"hats\": []}}";
  fm_photoset *ps = fm_photoset_create(map, strlen(map));
  int bad = fm_photoset_set_jitters(ps, FM_PHOTO_MAX_JITTERS + 1) == 0 && strstr(fm_last_error(), "0..32");
  bad &= fm_photoset_add_renders(ps, "tops", r[0], 0) < 0;
  for (int i = 0; i < 6; i++) fm_photoset_add_renders(ps, i % 2 ? "hats" : "tops", r[0], 1 + i % 3);
  fm_photoset_add_input(ps, "tops", plain);
  int total = fm_photoset_renders(ps); /* 7 plain + 0+1+2+0+1+2 jittered */
  fm_photoset *held = fm_photoset_split(ps, 1, 3, 1), *rest = fm_photoset_split(ps, 1, 3, 0);
  int kept = fm_photoset_renders(held) + fm_photoset_renders(rest);
  int plain_first = !memcmp(fm_photoset_inputs(ps), plain, 784);
  snprintf(why, sizeof why, "errors %d, renders %d (want 13), after a split %d, plain input first %d", bad, total,
           kept, plain_first);
  report(bad && total == 13 && kept == 13 && plain_first, "a photo set keeps jittered renders", why);
  fm_photoset_free(held), fm_photoset_free(rest), fm_photoset_free(ps);
  free(photo);
}

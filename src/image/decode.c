/* decode.c: PNG / JPEG decoding (stb_image, header-only from libstb-dev) and a
 * plain conversion of a photo to the network's 28x28 input. The photo
 * pipeline proper (background removal, etc.) is a later issue. */
#include <stdlib.h>
#include <string.h>

#include "../common.h"

#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
/* stb refuses sides over this with a vague "unknown image type"; our own
 * pixel-count check (fm_image_info) gives the clear message. */
#define STBI_MAX_DIMENSIONS (1 << 24)
#define STBI_ASSERT(x) ((void)0)
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

int fm_image_info(const uint8_t *bytes, size_t len, int *w, int *h) {
  int comp;
  if (!bytes || len == 0) return fm_fail("image is empty");
  if (len > 0x7FFFFFFF) return fm_fail("image file is too large");
  if (!stbi_info_from_memory(bytes, (int)len, w, h, &comp))
    return fm_fail("cannot read the image header: %s (PNG and JPEG are supported)",
                   stbi_failure_reason());
  if ((long long)*w * *h > FM_MAX_IMAGE_PIXELS)
    return fm_fail("image is %dx%d pixels, over the limit of %d megapixels", *w, *h,
                   FM_MAX_IMAGE_PIXELS >> 20);
  return 1;
}

int fm_image_decode_gray(const uint8_t *bytes, size_t len, uint8_t **out, int *w, int *h) {
  int iw, ih, comp;
  /* Dimensions first: a huge image is refused before any pixel memory. */
  if (!fm_image_info(bytes, len, &iw, &ih)) return 0;
  uint8_t *px = stbi_load_from_memory(bytes, (int)len, &iw, &ih, &comp, 1);
  if (!px) return fm_fail("cannot decode image: %s", stbi_failure_reason());
  /* Hand back memory from our allocator so callers free with fm_free. */
  uint8_t *copy = fm_malloc((size_t)iw * ih);
  if (!copy) {
    stbi_image_free(px);
    return 0;
  }
  memcpy(copy, px, (size_t)iw * ih);
  stbi_image_free(px);
  *out = copy;
  *w = iw;
  *h = ih;
  return 1;
}

/* Fit the longest side into 28 pixels by area averaging, centre it on the
 * background colour, and invert when the border is bright (photos have light
 * backgrounds; Fashion-MNIST has black ones). */
int fm_image_to_input(const uint8_t *gray, int w, int h, uint8_t *out28) {
  if (!gray || w < 1 || h < 1) return fm_fail("image has no pixels");
  if ((long long)w * h > FM_MAX_IMAGE_PIXELS) return fm_fail("image is too large");
  double border = 0;
  long nb = 0;
  for (int x = 0; x < w; x++) border += gray[x] + gray[(size_t)(h - 1) * w + x], nb += 2;
  for (int y = 0; y < h; y++) border += gray[(size_t)y * w] + gray[(size_t)y * w + w - 1], nb += 2;
  int invert = border / nb > 127;
  int side = FM_IMAGE_SIDE;
  double scale = (double)FM_MAX(w, h) / side;
  int ow = (int)(w / scale + 0.5), oh = (int)(h / scale + 0.5);
  ow = FM_MAX(1, FM_MIN(side, ow));
  oh = FM_MAX(1, FM_MIN(side, oh));
  int x0 = (side - ow) / 2, y0 = (side - oh) / 2;
  memset(out28, 0, FM_IMAGE_PIXELS);
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox++) {
      int sx0 = (int)((double)ox * w / ow), sx1 = (int)((double)(ox + 1) * w / ow);
      int sy0 = (int)((double)oy * h / oh), sy1 = (int)((double)(oy + 1) * h / oh);
      if (sx1 <= sx0) sx1 = sx0 + 1;
      if (sy1 <= sy0) sy1 = sy0 + 1;
      double s = 0;
      for (int y = sy0; y < sy1 && y < h; y++)
        for (int x = sx0; x < sx1 && x < w; x++) s += gray[(size_t)y * w + x];
      double v = s / ((double)(sx1 - sx0) * (sy1 - sy0));
      if (invert) v = 255 - v;
      out28[(y0 + oy) * side + x0 + ox] = (uint8_t)(v + 0.5);
    }
  return 1;
}

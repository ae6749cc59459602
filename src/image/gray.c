/* gray.c: RGBA (what a browser canvas gives) to 8-bit grayscale, the input
 * of fm_image_to_input. Transparent pixels are composited on white, the
 * background of a product photo (a PNG cut-out then looks like one). */
#include "../common.h"

int fm_image_rgba_to_gray(const uint8_t *rgba, int w, int h, uint8_t *gray) {
  if (!rgba || !gray || w < 1 || h < 1) return fm_fail("image has no pixels");
  if ((long long)w * h > FM_MAX_IMAGE_PIXELS)
    return fm_fail("image is %dx%d pixels, over the limit of %d megapixels", w, h,
                   FM_MAX_IMAGE_PIXELS >> 20);
  size_t n = (size_t)w * h;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = rgba + 4 * i;
    /* ITU-R BT.601 luma in fixed point, then alpha over white. */
    unsigned y = (77u * p[0] + 150u * p[1] + 29u * p[2] + 128u) >> 8;
    unsigned a = p[3];
    gray[i] = (uint8_t)((y * a + 255u * (255u - a) + 127u) / 255u);
  }
  return 1;
}

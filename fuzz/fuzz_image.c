/* fuzz_image.c: PNG/JPEG decoding (stb_image behind our limits, EXIF
 * orientation) and the photo pipeline to the network's 28x28 input. */
#include <stdlib.h>

#include "fmnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *rgba, out[784];
  int32_t box[4], msize[2];
  static uint8_t mask[FM_PHOTO_MASK_MAX * FM_PHOTO_MASK_MAX];
  int w, h;
  if (fm_image_decode_rgba(data, size, &rgba, &w, &h)) {
    if (w < 1 || h < 1 || (long long)w * h > FM_MAX_IMAGE_PIXELS) abort();
    if (!fm_photo_to_input(rgba, w, h, out, box, mask, msize)) abort();
    if (msize[0] < 1 || msize[1] < 1 || msize[0] > FM_PHOTO_MASK_MAX || msize[1] > FM_PHOTO_MASK_MAX) abort();
    if (box[0] < 0 || box[1] < 0 || box[2] > w || box[3] > h || box[0] >= box[2] || box[1] >= box[3]) abort();
    fm_free(rgba);
  } else if (!fm_last_error()[0]) {
    abort();
  }
  return 0;
}

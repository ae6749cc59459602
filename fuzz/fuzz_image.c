/* fuzz_image.c: PNG/JPEG decoding (stb_image behind our limits, EXIF
 * orientation) and the photo pipeline to the network's 28x28 input. */
#include <stdlib.h>

#include "fmnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *rgba, out[784];
  int32_t box[4];
  int w, h;
  if (fm_image_decode_rgba(data, size, &rgba, &w, &h)) {
    if (w < 1 || h < 1 || (long long)w * h > FM_MAX_IMAGE_PIXELS) abort();
    if (!fm_photo_to_input(rgba, w, h, out, box)) abort();
    if (box[0] < 0 || box[1] < 0 || box[2] > w || box[3] > h || box[0] >= box[2] || box[1] >= box[3]) abort();
    fm_free(rgba);
  } else if (!fm_last_error()[0]) {
    abort();
  }
  return 0;
}

/* fuzz_image.c: PNG/JPEG decoding (stb_image behind our limits) and the
 * conversion to the network's 28x28 input. */
#include <stdlib.h>

#include "fmnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *gray = NULL, out[784];
  int w, h;
  if (fm_image_decode_gray(data, size, &gray, &w, &h)) {
    if (w < 1 || h < 1 || (long long)w * h > FM_MAX_IMAGE_PIXELS) abort();
    if (!fm_image_to_input(gray, w, h, out)) abort();
    fm_free(gray);
  } else if (!fm_last_error()[0]) {
    abort();
  }
  return 0;
}

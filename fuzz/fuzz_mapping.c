/* fuzz_mapping.c: the photo folder mapping (JSON) and the photo set built on
 * it: parse, add an input under every folder it lists and one labelled on its
 * own, split into folds. Any refusal must leave a message. */
#include <stdlib.h>
#include <string.h>

#include "fmnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_photoset *ps = fm_photoset_create((const char *)data, size);
  if (!ps) {
    if (!fm_last_error()[0]) abort();
    return 0;
  }
  uint8_t input[FM_IMAGE_PIXELS];
  memset(input, 128, sizeof input);
  int n = fm_photoset_folders(ps);
  if (n < 1 || n > FM_PHOTO_MAX_FOLDERS) abort();
  for (int f = 0; f < n; f++) {
    const char *name = fm_photoset_folder_name(ps, f);
    if (!name || fm_photoset_folder(ps, name) != f) abort();
    int allowed = fm_photoset_folder_allowed(ps, f);
    if (allowed < 0 || allowed >= 1 << FM_NUM_CLASSES) abort();
    if (fm_photoset_add_input(ps, name, input) != f || fm_photoset_allowed(ps, f) != allowed) abort();
  }
  if (fm_photoset_add_labeled(ps, input, 5) != n) abort();
  fm_photoset *held = fm_photoset_split(ps, 0, 2, 1), *rest = fm_photoset_split(ps, 0, 2, 0);
  if (!held || !rest || fm_photoset_count(held) + fm_photoset_count(rest) != n + 1) abort();
  fm_photoset_free(held);
  fm_photoset_free(rest);
  fm_photoset_free(ps);
  return 0;
}

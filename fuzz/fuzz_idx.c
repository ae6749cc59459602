/* fuzz_idx.c: the IDX reader and the gzip decoder under it. The first byte
 * chooses where the input splits into an images file and a labels file. */
#include <stdlib.h>

#include "fmnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t split = size > 1 ? 1 + (data[0] * (size - 1)) / 255 : 1;
  fm_dataset *ds = fm_dataset_parse(data + 1, split - 1, "images", data + split, size - split, "labels");
  if (ds) {
    /* A parsed dataset must be internally consistent. */
    if (ds->count < 1 || ds->rows < 1 || ds->cols < 1) abort();
    for (int i = 0; i < ds->count; i++)
      if (ds->labels[i] > 9) abort();
    fm_dataset_free(ds);
  } else if (!fm_last_error()[0]) {
    abort(); /* every failure explains itself */
  }
  return 0;
}

/* fuzz_safetensors.c: the model loader (header JSON, offsets, shapes,
 * metadata). A file that loads must save and load again to the same bytes
 * and give finite predictions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_net *net = fm_net_load(data, size);
  if (!net) {
    if (!fm_last_error()[0]) abort();
    return 0;
  }
  uint8_t *a, *b;
  size_t na, nb;
  if (!fm_net_save(net, &a, &na)) abort();
  fm_net *again = fm_net_load(a, na);
  if (!again || !fm_net_save(again, &b, &nb) || na != nb || memcmp(a, b, na)) abort();
  if (fm_net_input_size(net) == 784) {
    uint8_t px[784];
    float probs[10];
    for (int i = 0; i < 784; i++) px[i] = (uint8_t)(i * 7);
    if (fm_net_predict_u8(net, px, 1, probs))
      for (int i = 0; i < 10; i++)
        if (!(probs[i] >= 0 && probs[i] <= 1)) abort();
  }
  fm_free(a);
  fm_free(b);
  fm_net_free(again);
  fm_net_free(net);
  return 0;
}

/* fuzz_spec.c: the architecture spec parser and network construction (on a
 * small input so allocations stay modest). */
#include <stdlib.h>
#include <string.h>

#include "fmnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *spec = malloc(size + 1);
  memcpy(spec, data, size);
  spec[size] = 0;
  fm_net *net = fm_net_create(spec, 1, 8, 8, 1);
  if (net) {
    float x[64], probs[10];
    for (int i = 0; i < 64; i++) x[i] = (float)i / 64;
    if (fm_net_output_size(net) != 10) abort();
    fm_net_predict_f32(net, x, 1, probs);
    fm_net_free(net);
  } else if (!fm_last_error()[0]) {
    abort();
  }
  free(spec);
  return 0;
}

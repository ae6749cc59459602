/* native/eval.c: evaluates a model file with the native build, printing the
 * accuracy, the confusion matrix and every prediction as JSON, so tests can
 * check that the native and wasm builds predict the same classes.
 *   build/native/fmnist-eval MODEL.safetensors [DATA_DIR] */
#include <stdio.h>
#include <stdlib.h>

#include "fmnist.h"
#include "read_file.h"


int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: fmnist-eval MODEL [DATA_DIR]\n"), 2;
  const char *dir = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
  char ip[1024], lp[1024];
  snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte.gz", dir);
  snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte.gz", dir);
  size_t ml, il, ll;
  uint8_t *mb = read_file(argv[1], &ml), *ib = read_file(ip, &il), *lb = read_file(lp, &ll);
  if (!mb || !ib || !lb) return fprintf(stderr, "fmnist-eval: cannot read %s\n", !mb ? argv[1] : !ib ? ip : lp), 1;
  fm_net *net = fm_net_load(mb, ml);
  if (!net) return fprintf(stderr, "fmnist-eval: %s: %s\n", argv[1], fm_last_error()), 1;
  fm_dataset *ds = fm_dataset_parse(ib, il, ip, lb, ll, lp);
  if (!ds) return fprintf(stderr, "fmnist-eval: %s\n", fm_last_error()), 1;
  int32_t conf[100] = {0};
  uint8_t *pred = malloc((size_t)ds->count);
  if (fm_evaluate_range(net, ds, 0, ds->count, conf, pred) < 0)
    return fprintf(stderr, "fmnist-eval: %s\n", fm_last_error()), 1;
  int right = 0;
  for (int c = 0; c < 10; c++) right += conf[c * 11];
  printf("{\"correct\":%d,\"count\":%d,\"accuracy\":%.6f,\"predictions\":\"", right, ds->count,
         (double)right / ds->count);
  for (int i = 0; i < ds->count; i++) putchar('0' + pred[i]);
  printf("\"}\n");
  free(pred);
  fm_dataset_free(ds);
  fm_net_free(net);
  free(mb), free(ib), free(lb);
  return 0;
}

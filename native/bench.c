/* native/bench.c: training and inference speed of the native build (the same
 * kernels through SIMDe), the counterpart of `fmnist bench` for the wasm
 * module; `make bench` prints both side by side.
 *   build/native/fmnist-bench [ARCH...] [--threads N]   (JSON lines) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmnist.h"
#include "read_file.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}


int main(int argc, char **argv) {
  const char *dir = getenv("FASHION_MNIST_DIR") ? getenv("FASHION_MNIST_DIR")
                                                : "/usr/share/datasets/fashion-mnist";
  int threads = 1, narch = 0;
  const char *archs[16];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (narch < 16) archs[narch++] = argv[i];
  }
  if (!narch) archs[narch++] = "cnn-small";
  if (!fm_set_threads(threads)) return fprintf(stderr, "%s\n", fm_last_error()), 1;
  char ip[1024], lp[1024];
  snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", dir);
  snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", dir);
  size_t il, ll;
  uint8_t *ib = read_file(ip, &il), *lb = read_file(lp, &ll);
  fm_dataset *ds = ib && lb ? fm_dataset_parse(ib, il, ip, lb, ll, lp) : NULL;
  if (!ds) return fprintf(stderr, "fmnist-bench: %s\n", ib && lb ? fm_last_error() : "dataset not found"), 1;

  for (int a = 0; a < narch; a++) {
    fm_net *net = fm_net_create(archs[a], 1, 28, 28, 1);
    if (!net) return fprintf(stderr, "fmnist-bench: %s\n", fm_last_error()), 1;
    fm_train_config *cfg = fm_config_create();
    fm_config_set(cfg, "epochs", 1000);
    fm_trainer *tr = fm_trainer_create(net, ds, cfg);
    fm_step_info info;
    for (int i = 0; i < 3; i++) fm_trainer_step(tr, &info);
    int steps = 0;
    double t0 = now();
    do fm_trainer_step(tr, &info), steps++;
    while (now() - t0 < 3);
    double train = steps * 64 / (now() - t0);
    float *probs = malloc(256 * 10 * sizeof(float));
    fm_net_predict_u8(net, ds->images, 256, probs);
    int calls = 0;
    t0 = now();
    do fm_net_predict_u8(net, ds->images, 256, probs), calls++;
    while (now() - t0 < 2);
    double infer = calls * 256 / (now() - t0);
    double lat = 1e9;
    for (int i = 0; i < 300; i++) {
      double t = now();
      fm_net_predict_u8(net, ds->images + (i % 256) * 784, 1, probs);
      t = now() - t;
      if (t < lat) lat = t;
    }
    printf("{\"arch\":\"%s\",\"build\":\"native\",\"threads\":%d,\"train_images_per_sec\":%.1f,"
           "\"infer_images_per_sec\":%.1f,\"latency_ms\":%.4f,\"macs_per_image\":%.0f}\n",
           archs[a], threads, train, infer, lat * 1e3, fm_net_macs(net));
    free(probs);
    fm_trainer_free(tr);
    fm_config_free(cfg);
    fm_net_free(net);
  }
  fm_dataset_free(ds);
  free(ib);
  free(lb);
  return 0;
}

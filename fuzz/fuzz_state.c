/* fuzz_state.c: the trainer's checkpoint state (fm_trainer_load_state), a
 * file a user hands back to resume a run. The first input byte chooses the
 * trainer (bit 0: with a moving average of the weights) and whether the
 * target rewrites the trailing CRC-32 to match (bit 1), so most inputs reach
 * the fields behind the checksum. A refusal must leave a message; a loaded
 * state must train a step and save again. */
#include <stdlib.h>
#include <string.h>

#include "fmnist.h"

uint32_t fm_crc32(const uint8_t *p, size_t n);

/* Four 28x28 images and their labels, as IDX files. */
static fm_dataset *tiny_dataset(void) {
  static uint8_t images[16 + 4 * 784], labels[8 + 4];
  const uint8_t ih[16] = {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 28, 0, 0, 0, 28};
  const uint8_t lh[8] = {0, 0, 8, 1, 0, 0, 0, 4};
  memcpy(images, ih, 16);
  memcpy(labels, lh, 8);
  for (int i = 0; i < 4 * 784; i++) images[16 + i] = (uint8_t)(i * 7);
  for (int i = 0; i < 4; i++) labels[8 + i] = (uint8_t)(i * 3);
  return fm_dataset_parse(images, sizeof images, "images", labels, sizeof labels, "labels");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  size_t len = size - 1;
  uint8_t *state = malloc(len ? len : 1);
  memcpy(state, data + 1, len);
  if (mode & 2 && len >= 4) {
    uint32_t c = fm_crc32(state, len - 4);
    for (int i = 0; i < 4; i++) state[len - 4 + i] = (uint8_t)(c >> (8 * i));
  }
  fm_dataset *ds = tiny_dataset();
  fm_net *net = fm_net_create("conv3x3:2,bn,relu,maxpool2,flatten,dense:10", 1, 28, 28, 1);
  fm_train_config *cfg = fm_config_create();
  if (!ds || !net || !cfg || !fm_config_set(cfg, "batch", 2) || !fm_config_set(cfg, "epochs", 2) ||
      !fm_config_set(cfg, "optimizer", 0) || !fm_config_set(cfg, "ema", mode & 1 ? 0.9 : 0))
    abort();
  fm_trainer *tr = fm_trainer_create(net, ds, cfg);
  if (!tr) abort();
  if (!fm_trainer_load_state(tr, state, len)) {
    if (!fm_last_error()[0]) abort();
  } else {
    int e = fm_trainer_epoch(tr);
    if (e < 0) abort();
    fm_step_info info;
    int r = fm_trainer_step(tr, &info); /* may stop cleanly: done, or diverged on wild moments */
    if (r < 0 && !fm_last_error()[0]) abort();
    uint8_t *out;
    size_t out_len;
    if (!fm_trainer_save_state(tr, &out, &out_len)) abort();
    if (out_len != len && !(len + 20 == out_len && !memcmp(state, "FMCKPT1\n", 8))) abort();
    fm_free(out);
  }
  fm_trainer_free(tr);
  fm_config_free(cfg);
  fm_net_free(net);
  fm_dataset_free(ds);
  free(state);
  return 0;
}

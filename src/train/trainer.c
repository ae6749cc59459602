/* trainer.c: mini-batch training, one step per call so that the caller (CLI,
 * page worker) can report progress and stop between batches, and so V8
 * optimises the hot functions (they are entered once per batch). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "train.h"

struct fm_trainer {
  fm_net *net;
  const fm_dataset *ds;
  fm_train_config cfg;
  int n, batches_per_epoch;
  int epoch, batch;
  long step;
  int32_t *perm;
  uint8_t *labels;
  float *m, *v;
  float *backup_params, *backup_buffers;
  fm_rng shuffle_rng, augment_rng;
};

void fm_trainer_free(fm_trainer *tr) {
  if (!tr) return;
  free(tr->perm);
  free(tr->labels);
  free(tr->m);
  free(tr->v);
  free(tr->backup_params);
  free(tr->backup_buffers);
  free(tr);
}

fm_trainer *fm_trainer_create(fm_net *net, const fm_dataset *train, const fm_train_config *cfg) {
  if (!net || !train || !cfg) {
    fm_fail("trainer needs a network, a dataset and a config");
    return NULL;
  }
  if (train->rows * train->cols != fm_net_input_size(net)) {
    fm_fail("dataset images are %dx%d but the network expects %d inputs", train->rows, train->cols,
            fm_net_input_size(net));
    return NULL;
  }
  int n = train->count - cfg->holdout;
  if (cfg->limit > 0 && cfg->limit < n) n = cfg->limit;
  if (n < 1) {
    fm_fail("no training images left (%d in the file, %d held out)", train->count, cfg->holdout);
    return NULL;
  }
  fm_trainer *tr = fm_calloc(1, sizeof *tr);
  if (!tr) return NULL;
  tr->net = net;
  tr->ds = train;
  tr->cfg = *cfg;
  tr->n = n;
  int B = FM_MIN(cfg->batch, n);
  tr->cfg.batch = B;
  tr->batches_per_epoch = (n + B - 1) / B;
  tr->perm = fm_calloc((size_t)n, sizeof(int32_t));
  tr->labels = fm_calloc((size_t)B, 1);
  tr->m = fm_calloc((size_t)net->nparams, sizeof(float));
  tr->v = fm_calloc((size_t)net->nparams, sizeof(float));
  tr->backup_params = fm_calloc((size_t)net->nparams, sizeof(float));
  tr->backup_buffers = fm_calloc((size_t)net->nbuffers, sizeof(float));
  if (!tr->perm || !tr->labels || !tr->m || !tr->v || !tr->backup_params ||
      !tr->backup_buffers || !fm_net_reserve(net, B)) {
    fm_trainer_free(tr);
    return NULL;
  }
  for (int i = 0; i < n; i++) tr->perm[i] = i;
  uint64_t seed = (uint64_t)cfg->seed;
  fm_rng_seed(&tr->shuffle_rng, seed, FM_STREAM_SHUFFLE);
  fm_rng_seed(&tr->augment_rng, seed, FM_STREAM_AUGMENT);
  fm_rng_seed(&net->dropout_rng, seed, FM_STREAM_DROPOUT);
  return tr;
}

static int all_finite(const float *p, long n) {
  for (long i = 0; i < n; i++)
    if (!isfinite(p[i])) return 0;
  return 1;
}

int fm_trainer_step(fm_trainer *tr, fm_step_info *info) {
  fm_net *net = tr->net;
  const fm_train_config *cfg = &tr->cfg;
  memset(info, 0, sizeof *info);
  info->batches_per_epoch = tr->batches_per_epoch;
  if (tr->epoch >= cfg->epochs) {
    info->epoch = cfg->epochs - 1;
    info->done = 1;
    return 0;
  }
  if (tr->batch == 0) { /* Fisher-Yates shuffle at the start of each epoch. */
    for (int i = tr->n - 1; i > 0; i--) {
      int j = (int)fm_rng_below(&tr->shuffle_rng, (uint32_t)i + 1);
      int32_t t = tr->perm[i];
      tr->perm[i] = tr->perm[j];
      tr->perm[j] = t;
    }
  }
  int start = tr->batch * cfg->batch;
  int B = FM_MIN(cfg->batch, tr->n - start);
  int in = fm_net_input_size(net), h = net->input.h, w = net->input.w;
  int augment = cfg->augment_shift || cfg->augment_flip || cfg->augment_erase > 0;
  for (int i = 0; i < B; i++) {
    int idx = tr->perm[start + i];
    const uint8_t *src = tr->ds->images + (size_t)idx * in;
    float *x = net->acts[0] + (size_t)i * in;
    for (int j = 0; j < in; j++) x[j] = src[j] * (1.0f / 255.0f);
    if (augment && net->input.c == 1) fm_augment(cfg, x, h, w, &tr->augment_rng);
    tr->labels[i] = tr->ds->labels[idx];
  }

  memcpy(tr->backup_params, net->params, (size_t)net->nparams * sizeof(float));
  memcpy(tr->backup_buffers, net->buffers, (size_t)net->nbuffers * sizeof(float));
  long total = (long)cfg->epochs * tr->batches_per_epoch;
  double lr = fm_schedule_lr(cfg, tr->step, total, tr->batches_per_epoch);

  memset(net->grads, 0, (size_t)net->nparams * sizeof(float));
  float *logits = fm_net_forward(net, B, 1);
  int correct = 0;
  float loss = fm_softmax_xent(logits, tr->labels, B, FM_NUM_CLASSES, (float)cfg->label_smoothing,
                               net->probs, net->dacts[net->nlayers], &correct);
  info->epoch = tr->epoch;
  info->batch = tr->batch;
  info->images = B;
  info->loss = loss;
  info->accuracy = (float)correct / B;
  info->lr = (float)lr;
  if (isfinite(loss)) {
    fm_net_backward(net, B);
    fm_optim_step(cfg, net->params, net->grads, tr->m, tr->v, net->nparams, lr, tr->step + 1);
  }
  if (!isfinite(loss) || !all_finite(net->params, net->nparams)) {
    memcpy(net->params, tr->backup_params, (size_t)net->nparams * sizeof(float));
    memcpy(net->buffers, tr->backup_buffers, (size_t)net->nbuffers * sizeof(float));
    fm_fail("training diverged at epoch %d, batch %d (loss %g, learning rate %g): the weights from "
            "before this step are kept; try a smaller learning rate",
            tr->epoch + 1, tr->batch + 1, loss, lr);
    return -1;
  }
  tr->step++;
  if (++tr->batch == tr->batches_per_epoch) {
    tr->batch = 0;
    tr->epoch++;
  }
  info->done = tr->epoch >= cfg->epochs;
  return 1;
}

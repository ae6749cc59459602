/* trainer.c: mini-batch training, one step per call so that the caller (CLI,
 * page worker) can report progress and stop between batches, and so V8
 * optimises the hot functions (they are entered once per batch). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "../data/photoset.h"
#include "train.h"

struct fm_trainer {
  fm_net *net;
  const fm_dataset *ds;
  const fm_photoset *photos;
  fm_train_config cfg;
  int n, batches_per_epoch;
  int fm_per_batch, photos_per_batch; /* the two shares of a full batch */
  int32_t *photo_perm;                /* the order of photos in pass photo_pass */
  long photo_pass;
  int epoch, batch;
  long step;
  int32_t *perm;
  uint16_t *allowed; /* per sample of this shard's batch: allowed classes */
  float *m, *v;
  float *backup_params, *backup_buffers;
  fm_rng augment_rng;
  /* Data-parallel (shards > 1): the sum of every shard's gradients and
   * batch-norm statistics, filled by fm_trainer_exchange_add. */
  float *exchange;
  int pending, summed; /* a shard step awaits its exchange; shards added */
  fm_step_info pending_info;
  double pending_lr;
  /* ema > 0: the moving average of the weights, then of the batch-norm
   * statistics (nparams + nbuffers floats), over avg_steps steps so far.
   * avg_in_net: the average and the trained weights are swapped. */
  float *avg;
  long avg_steps;
  int avg_in_net;
  /* distill > 0: the teacher (not owned) and its probabilities for this
   * shard's Fashion-MNIST samples of the batch. */
  fm_net *teacher;
  float *soft;
};

/* Every epoch draws its shuffle from its own stream, seeded by (seed, epoch),
 * so the order of any epoch can be rebuilt when a run resumes. */
/* Photo number k of the run (counting every photo drawn so far). Each pass
 * over the photos has its own order, drawn from a stream seeded by (seed,
 * pass), so a resumed run rebuilds it from its step count. With
 * photo_balance b > 0 a pass is drawn with replacement: a folder with n
 * photos is picked with probability proportional to n^(1-b) (b = 1: every
 * folder equally often), then one of its photos, so the few coats are not
 * drowned by the many T-shirts; b = 0 is a plain shuffle. */
static int photo_index(fm_trainer *tr, long k) {
  const fm_photoset *ps = tr->photos;
  int np = ps->count;
  long pass = k / np;
  if (pass != tr->photo_pass) {
    fm_rng r;
    fm_rng_seed(&r, (uint64_t)tr->cfg.seed + 0x9E3779B97F4A7C15ULL * (uint64_t)pass, FM_STREAM_PHOTOS);
    for (int i = 0; i < np; i++) tr->photo_perm[i] = i;
    for (int i = np - 1; i > 0; i--) {
      int j = (int)fm_rng_below(&r, (uint32_t)i + 1);
      int32_t t = tr->photo_perm[i];
      tr->photo_perm[i] = tr->photo_perm[j];
      tr->photo_perm[j] = t;
    }
    if (tr->cfg.photo_balance > 0) {
      /* Groups: the folders, and one for photos labelled on their own. The
       * shuffled order lists each group's photos in a random order. */
      int ng = ps->nfolders + 1, count[FM_PHOTO_MAX_FOLDERS + 1] = {0}, start[FM_PHOTO_MAX_FOLDERS + 2] = {0};
      double weight[FM_PHOTO_MAX_FOLDERS + 1], total = 0;
      for (int i = 0; i < np; i++) count[ps->folder[i] + 1]++;
      for (int g = 0; g < ng; g++) {
        start[g + 1] = start[g] + count[g];
        weight[g] = count[g] ? pow(count[g], 1 - tr->cfg.photo_balance) : 0;
        total += weight[g];
      }
      int32_t *byg = tr->photo_perm + np, fill[FM_PHOTO_MAX_FOLDERS + 1];
      memcpy(fill, start, sizeof fill);
      for (int i = 0; i < np; i++) byg[fill[ps->folder[tr->photo_perm[i]] + 1]++] = tr->photo_perm[i];
      for (int i = 0; i < np; i++) {
        double u = fm_rng_uniform(&r) * total;
        int g = 0;
        while (g < ng - 1 && (u -= weight[g]) >= 0) g++;
        while (!count[g]) g--; /* rounding at the top end */
        tr->photo_perm[i] = byg[start[g] + (int)fm_rng_below(&r, (uint32_t)count[g])];
      }
    }
    tr->photo_pass = pass;
  }
  return tr->photo_perm[k % np];
}

static void shuffle_epoch(fm_trainer *tr) {
  fm_rng r;
  fm_rng_seed(&r, (uint64_t)tr->cfg.seed + 0x9E3779B97F4A7C15ULL * (uint64_t)tr->epoch,
              FM_STREAM_SHUFFLE);
  for (int i = 0; i < tr->n; i++) tr->perm[i] = i;
  for (int i = tr->n - 1; i > 0; i--) {
    int j = (int)fm_rng_below(&r, (uint32_t)i + 1);
    int32_t t = tr->perm[i];
    tr->perm[i] = tr->perm[j];
    tr->perm[j] = t;
  }
}

void fm_trainer_free(fm_trainer *tr) {
  if (!tr) return;
  free(tr->perm);
  free(tr->allowed);
  free(tr->photo_perm);
  free(tr->m);
  free(tr->v);
  free(tr->backup_params);
  free(tr->backup_buffers);
  free(tr->exchange);
  free(tr->avg);
  free(tr->soft);
  free(tr);
}

fm_trainer *fm_trainer_create(fm_net *net, const fm_dataset *train, const fm_train_config *cfg) {
  return fm_trainer_create_mixed(net, train, NULL, cfg);
}

fm_trainer *fm_trainer_create_mixed(fm_net *net, const fm_dataset *train, const fm_photoset *photos,
                                    const fm_train_config *cfg) {
  if (!net || !cfg || (!train && !photos)) {
    fm_fail("trainer needs a network, a dataset and a config");
    return NULL;
  }
  double ratio = cfg->photo_ratio;
  if (ratio > 0 && (!photos || photos->count == 0)) {
    fm_fail("photo_ratio is %g but there are no photos to train on", ratio);
    return NULL;
  }
  if (photos && ratio <= 0) {
    fm_fail("photos were given but photo_ratio is 0: set the share of each batch they fill");
    return NULL;
  }
  if (!train && ratio < 1) {
    fm_fail("photo_ratio %g below 1 needs Fashion-MNIST images as well", ratio);
    return NULL;
  }
  if (train && train->rows * train->cols != fm_net_input_size(net)) {
    fm_fail("dataset images are %dx%d but the network expects %d inputs", train->rows, train->cols,
            fm_net_input_size(net));
    return NULL;
  }
  if (photos && fm_net_input_size(net) != photos->side * photos->side) {
    fm_fail("photos are %dx%d but the network expects %d inputs", photos->side, photos->side,
            fm_net_input_size(net));
    return NULL;
  }
  int n = train ? train->count - cfg->holdout : 0;
  if (train && cfg->limit > 0 && cfg->limit < n) n = cfg->limit;
  if (train && n < 1) {
    fm_fail("no training images left (%d in the file, %d held out)", train->count, cfg->holdout);
    return NULL;
  }
  if (cfg->shard >= cfg->shards) {
    fm_fail("shard %d of %d does not exist (shards are numbered from 0)", cfg->shard, cfg->shards);
    return NULL;
  }
  fm_trainer *tr = fm_calloc(1, sizeof *tr);
  if (!tr) return NULL;
  tr->net = net;
  tr->ds = train;
  tr->photos = photos;
  tr->cfg = *cfg;
  tr->n = n;
  int np = photos ? photos->count : 0;
  int B = FM_MIN(cfg->batch, n + np);
  int Bp = photos ? FM_MAX(1, FM_MIN(B, (int)(ratio * B + 0.5))) : 0;
  if (ratio < 1 && Bp == B && B > 1) Bp = B - 1; /* keep Fashion-MNIST in every batch */
  tr->cfg.batch = B;
  tr->photos_per_batch = Bp;
  tr->fm_per_batch = B - Bp;
  tr->batches_per_epoch = tr->fm_per_batch ? (n + tr->fm_per_batch - 1) / tr->fm_per_batch
                                           : (np + Bp - 1) / Bp;
  tr->photo_pass = -1;
  tr->perm = fm_calloc((size_t)FM_MAX(n, 1), sizeof(int32_t));
  tr->allowed = fm_calloc((size_t)B, sizeof *tr->allowed);
  tr->photo_perm = fm_calloc((size_t)FM_MAX(2 * np, 1), sizeof(int32_t)); /* order, then by folder */
  tr->m = fm_calloc((size_t)net->nparams, sizeof(float));
  tr->v = fm_calloc((size_t)net->nparams, sizeof(float));
  tr->backup_params = fm_calloc((size_t)net->nparams, sizeof(float));
  tr->backup_buffers = fm_calloc((size_t)net->nbuffers, sizeof(float));
  if (!tr->perm || !tr->allowed || !tr->photo_perm || !tr->m || !tr->v || !tr->backup_params ||
      !tr->backup_buffers || !fm_net_reserve(net, B, FM_RESERVE_TRAIN) ||
      (cfg->shards > 1 &&
       !(tr->exchange = fm_calloc((size_t)(net->nparams + net->nbuffers), sizeof(float))))) {
    fm_trainer_free(tr);
    return NULL;
  }
  if (cfg->ema > 0) {
    if (!(tr->avg = fm_malloc((size_t)(net->nparams + net->nbuffers) * sizeof(float)))) {
      fm_trainer_free(tr);
      return NULL;
    }
    memcpy(tr->avg, net->params, (size_t)net->nparams * sizeof(float));
    memcpy(tr->avg + net->nparams, net->buffers, (size_t)net->nbuffers * sizeof(float));
  }
  uint64_t seed = (uint64_t)cfg->seed;
  fm_rng_seed(&tr->augment_rng, seed, FM_STREAM_AUGMENT);
  /* Each shard draws its own dropout masks (shard 0: the single-trainer stream). */
  fm_rng_seed(&net->dropout_rng, seed, FM_STREAM_DROPOUT + 16 * (uint64_t)cfg->shard);
  return tr;
}

static int all_finite(const float *p, long n) {
  for (long i = 0; i < n; i++)
    if (!isfinite(p[i])) return 0;
  return 1;
}

static int apply_step(fm_trainer *tr, fm_step_info *info, float loss, double lr);
static void update_average(fm_trainer *tr);

int fm_trainer_step(fm_trainer *tr, fm_step_info *info) {
  fm_net *net = tr->net;
  const fm_train_config *cfg = &tr->cfg;
  memset(info, 0, sizeof *info);
  info->batches_per_epoch = tr->batches_per_epoch;
  if (tr->pending) return fm_fail("a data-parallel step is waiting for its exchange (fm_trainer_finish)"), -1;
  if (cfg->distill > 0 && !tr->teacher)
    return fm_fail("option distill is %g but the trainer has no teacher (fm_trainer_set_teacher)", cfg->distill), -1;
  if (tr->epoch >= cfg->epochs) {
    info->epoch = cfg->epochs - 1;
    info->done = 1;
    return 0;
  }
  if (tr->avg_in_net) fm_trainer_swap_average(tr); /* training goes on from the trained weights */
  if (tr->batch == 0) shuffle_epoch(tr);
  /* The batch: its Fashion-MNIST share, then its photo share. */
  int Bf = tr->fm_per_batch, Bp = tr->photos_per_batch;
  int start = tr->batch * Bf;
  if (Bf) Bf = FM_MIN(Bf, tr->n - start);
  long first_photo = ((long)tr->epoch * tr->batches_per_epoch + tr->batch) * Bp;
  if (!tr->fm_per_batch) { /* photos only: an epoch is one pass over them */
    first_photo = (long)tr->epoch * tr->photos->count + (long)tr->batch * Bp;
    Bp = FM_MIN(Bp, tr->photos->count - tr->batch * Bp);
  }
  int B = Bf + Bp;
  /* Cheap when nothing changed; needed when inference in between grew the
   * activations (which drops their gradients) or the thread count changed. */
  if (!fm_net_reserve(net, cfg->batch, FM_RESERVE_TRAIN)) return -1;
  int in = fm_net_input_size(net), h = net->input.h, w = net->input.w;
  int augment = cfg->augment_shift || cfg->augment_flip || cfg->augment_erase > 0 ||
                cfg->augment_photo > 0 || cfg->augment_pair > 0;
  /* Photos are always mirrored and shifted at random: they are few. */
  fm_train_config photo_cfg = *cfg;
  photo_cfg.augment_flip = 1;
  photo_cfg.augment_shift = FM_MAX(cfg->augment_shift, 2);
  /* Data-parallel: this trainer computes samples [s0, s1) of the batch. Every
   * shard still draws the augmentation of the whole batch, in order, so each
   * sample is augmented the same whatever the number of shards. */
  int s0 = (int)((long)B * cfg->shard / cfg->shards), s1 = (int)((long)B * (cfg->shard + 1) / cfg->shards);
  float scratch[64 * 64];
  for (int i = 0; i < B; i++) {
    int photo = i >= Bf, mine = i >= s0 && i < s1;
    if (!mine && !photo && (!augment || in > 64 * 64)) continue;
    const uint8_t *src;
    uint16_t allowed;
    if (photo) {
      const fm_photoset *ps = tr->photos;
      int idx = photo_index(tr, first_photo + (i - Bf)), nr = ps->nrenders[idx];
      /* One of the photo's renders, the plain one as likely as each jittered
       * one; no draw when there are none, so such runs replay as before. */
      int r = nr ? (int)fm_rng_below(&tr->augment_rng, (uint32_t)nr + 1) : 0;
      src = r ? ps->renders + (size_t)(ps->first_render[idx] + r - 1) * in : ps->inputs + (size_t)idx * in;
      allowed = ps->allowed[idx];
    } else {
      int idx = tr->perm[start + i];
      src = tr->ds->images + (size_t)idx * in;
      allowed = (uint16_t)(1u << tr->ds->labels[idx]);
    }
    float *x = mine ? net->acts[0] + (size_t)(i - s0) * in : scratch;
    for (int j = 0; j < in; j++) x[j] = src[j] * (1.0f / 255.0f);
    if (photo) {
      fm_augment(&photo_cfg, x, h, w, &tr->augment_rng);
      if (cfg->augment_photo > 0 && fm_rng_uniform(&tr->augment_rng) < cfg->augment_photo)
        fm_augment_photo(x, h, w, &tr->augment_rng);
    } else if (augment && net->input.c == 1) {
      /* Sneakers only: pairs of sandals taught the model that any odd,
       * textured shape is a sandal, pairs of ankle boots that two upright
       * blobs (trouser legs) are boots (docs/photos.md). Drawn only when
       * enabled, so older recipes keep their exact stream. */
      int sneaker = allowed == 1u << 7;
      if (sneaker && cfg->augment_pair > 0 && fm_rng_uniform(&tr->augment_rng) < cfg->augment_pair)
        fm_augment_pair(x, h, w, &tr->augment_rng);
      fm_augment(cfg, x, h, w, &tr->augment_rng);
      /* Drawn only when enabled, so older recipes keep their exact stream. */
      if (cfg->augment_photo > 0 && fm_rng_uniform(&tr->augment_rng) < cfg->augment_photo)
        fm_augment_photo(x, h, w, &tr->augment_rng);
    }
    if (mine) tr->allowed[i - s0] = allowed;
  }
  int full = B; /* the loss is the mean over the whole batch */
  B = s1 - s0;

  memcpy(tr->backup_params, net->params, (size_t)net->nparams * sizeof(float));
  memcpy(tr->backup_buffers, net->buffers, (size_t)net->nbuffers * sizeof(float));
  long total = (long)cfg->epochs * tr->batches_per_epoch;
  double lr = fm_schedule_lr(cfg, tr->step, total, tr->batches_per_epoch);

  memset(net->grads, 0, (size_t)net->nparams * sizeof(float));
  int correct = 0;
  float loss = 0;
  /* The teacher answers this shard's Fashion-MNIST samples (a prefix of its
   * share), augmented as the student sees them; photos keep their labels
   * alone (the teacher never saw photos). */
  int nsoft = cfg->distill > 0 ? FM_MAX(0, FM_MIN(s1, Bf) - s0) : 0;
  if (nsoft && !fm_net_predict_f32(tr->teacher, net->acts[0], nsoft, tr->soft)) return -1;
  if (B > 0) {
    float *logits = fm_net_forward(net, B, 1);
    float *dlogits = net->dacts[net->nlayers];
    loss = fm_softmax_xent_distill(logits, tr->allowed, tr->soft, nsoft, (float)cfg->distill, B,
                                   FM_NUM_CLASSES, (float)cfg->label_smoothing, net->probs, dlogits,
                                   &correct);
    if (B != full) /* a shard's share of the batch mean */
      for (int i = 0; i < B * FM_NUM_CLASSES; i++) dlogits[i] *= (float)B / full;
  }
  info->epoch = tr->epoch;
  info->batch = tr->batch;
  info->images = B;
  info->loss = loss;
  info->accuracy = B ? (float)correct / B : 0;
  info->lr = (float)lr;
  if (isfinite(loss) && B > 0) fm_net_backward(net, B);
  if (cfg->shards > 1) {
    /* The optimiser step waits for every shard's gradients. A shard whose
     * loss is not finite sends NaN gradients, so every shard sees it and
     * rolls back the same way. */
    if (!isfinite(loss))
      for (long i = 0; i < net->nparams; i++) net->grads[i] = NAN;
    tr->pending = 1, tr->summed = 0, tr->pending_info = *info, tr->pending_lr = lr;
    return 2;
  }
  return apply_step(tr, info, loss, lr);
}

/* The optimiser update with net->grads, the divergence check, and the move
 * to the next batch. */
static int apply_step(fm_trainer *tr, fm_step_info *info, float loss, double lr) {
  fm_net *net = tr->net;
  const fm_train_config *cfg = &tr->cfg;
  net->wgen++;
  net->f16 = 0; /* its weights are no longer a float16 file's */
  if (isfinite(loss))
    fm_optim_step(cfg, net->params, net->grads, tr->m, tr->v, net->nparams, lr, tr->step + 1);
  if (!isfinite(loss) || !all_finite(net->params, net->nparams)) {
    memcpy(net->params, tr->backup_params, (size_t)net->nparams * sizeof(float));
    memcpy(net->buffers, tr->backup_buffers, (size_t)net->nbuffers * sizeof(float));
    fm_fail("training diverged at epoch %d, batch %d (%s at learning rate %g): the weights from "
            "before this step are kept; try a smaller learning rate",
            tr->epoch + 1, tr->batch + 1,
            isfinite(loss) ? "the weights overflowed" : "the loss became non-finite", lr);
    return -1;
  }
  tr->step++;
  if (tr->avg) update_average(tr);
  if (++tr->batch == tr->batches_per_epoch) {
    tr->batch = 0;
    tr->epoch++;
  }
  info->done = tr->epoch >= cfg->epochs;
  /* The finished run's model is the average: whoever saves or evaluates the
   * network after the last step gets it. */
  if (info->done && tr->avg && !tr->avg_in_net) fm_trainer_swap_average(tr);
  return 1;
}

/* ---- moving average of the weights -----------------------------------------
 * avg += (1 - d) (w - avg) after every step, d = min(ema, (1 + t) / (10 + t))
 * at the average's t-th step: early on the average follows the weights
 * closely, so the random initial weights do not linger in it. The batch-norm
 * running statistics are averaged alongside, so the averaged model is
 * evaluated with statistics of about the same age. */
static void update_average(fm_trainer *tr) {
  const fm_net *net = tr->net;
  long t = tr->avg_steps++;
  float d = (float)FM_MIN(tr->cfg.ema, (1.0 + t) / (10.0 + t)), w = 1.0f - d;
  float *a = tr->avg;
  for (long i = 0; i < net->nparams; i++) a[i] += w * (net->params[i] - a[i]);
  a += net->nparams;
  for (long i = 0; i < net->nbuffers; i++) a[i] += w * (net->buffers[i] - a[i]);
}

int fm_trainer_swap_average(fm_trainer *tr) {
  if (!tr->avg) return fm_fail("this trainer keeps no average of the weights (option ema is 0)");
  fm_net *net = tr->net;
  float *a = tr->avg;
  for (long i = 0; i < net->nparams; i++) {
    float t = net->params[i];
    net->params[i] = a[i], a[i] = t;
  }
  a += net->nparams;
  for (long i = 0; i < net->nbuffers; i++) {
    float t = net->buffers[i];
    net->buffers[i] = a[i], a[i] = t;
  }
  net->wgen++; /* derived weights (transforms, folded batch norm) are stale */
  tr->avg_in_net = !tr->avg_in_net;
  return 1;
}

int fm_trainer_average_in_net(const fm_trainer *tr) { return tr->avg_in_net; }

int fm_trainer_set_teacher(fm_trainer *tr, fm_net *teacher) {
  if (teacher && (teacher == tr->net || fm_net_input_size(teacher) != fm_net_input_size(tr->net)))
    return fm_fail(teacher == tr->net ? "a network cannot be its own teacher"
                                      : "the teacher expects %d inputs per image, the network %d",
                   fm_net_input_size(teacher), fm_net_input_size(tr->net));
  if (teacher && !tr->soft &&
      !(tr->soft = fm_malloc((size_t)tr->cfg.batch * FM_NUM_CLASSES * sizeof(float))))
    return 0;
  tr->teacher = teacher;
  return 1;
}

/* ---- data-parallel exchange ------------------------------------------------
 * The vector a shard sends to the others: its gradients, then its network
 * buffers (batch-norm running statistics, updated from its part of the
 * batch). Summing every shard's vector in shard order, on every shard, gives
 * each the same floats, so all apply the same update and stay identical. */

long fm_trainer_exchange_size(const fm_trainer *tr) { return tr->net->nparams + tr->net->nbuffers; }

int fm_trainer_exchange_get(const fm_trainer *tr, float *out) {
  if (!tr->pending) return fm_fail("no data-parallel step is waiting for its exchange");
  memcpy(out, tr->net->grads, (size_t)tr->net->nparams * sizeof(float));
  memcpy(out + tr->net->nparams, tr->net->buffers, (size_t)tr->net->nbuffers * sizeof(float));
  return 1;
}

int fm_trainer_exchange_add(fm_trainer *tr, const float *v) {
  if (!tr->pending) return fm_fail("no data-parallel step is waiting for its exchange");
  if (tr->summed >= tr->cfg.shards) return fm_fail("more exchange vectors than shards");
  long n = fm_trainer_exchange_size(tr);
  if (tr->summed++ == 0) memcpy(tr->exchange, v, (size_t)n * sizeof(float));
  else
    for (long i = 0; i < n; i++) tr->exchange[i] += v[i];
  return 1;
}

int fm_trainer_finish(fm_trainer *tr, fm_step_info *info) {
  if (!tr->pending) return fm_fail("no data-parallel step is waiting for its exchange"), -1;
  if (tr->summed != tr->cfg.shards)
    return fm_fail("%d of %d shards' exchange vectors added", tr->summed, tr->cfg.shards), -1;
  fm_net *net = tr->net;
  memcpy(net->grads, tr->exchange, (size_t)net->nparams * sizeof(float));
  for (int i = 0; i < net->nbuffers; i++) /* the mean of the shards' statistics */
    net->buffers[i] = tr->exchange[net->nparams + i] / tr->cfg.shards;
  *info = tr->pending_info;
  tr->pending = 0;
  /* A shard whose loss was not finite sent NaN gradients. */
  int finite = all_finite(net->grads, net->nparams);
  return apply_step(tr, info, finite ? info->loss : NAN, tr->pending_lr);
}

/* ---- checkpoints ----------------------------------------------------------
 * The trainer's state beside the model file (which holds the weights and
 * batch-norm statistics): position, random streams and optimiser moments.
 *   "FMCKPT2\n", u64 nparams, u32 epoch, u32 batch, u32 batch size,
 *   u32 epochs, u64 step, 4 x u64 (augment and dropout generators),
 *   u32 flags (1: an average of the weights follows; 2: it is swapped into
 *   the network), u64 steps of the average, u64 nbuffers,
 *   f32 m[nparams], f32 v[nparams], [f32 average[nparams + nbuffers]],
 *   u32 crc32 of all the bytes before.
 * "FMCKPT1\n" files (no flags, average or nbuffers) still load; a run with
 * ema then starts its average from the weights it resumes with. */

#define CKPT_MAGIC "FMCKPT2\n"
#define CKPT_MAGIC_V1 "FMCKPT1\n"
#define CKPT_HEADER_V1 (8 + 8 + 4 * 4 + 8 + 4 * 8)
#define CKPT_HEADER (CKPT_HEADER_V1 + 4 + 8 + 8)

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

uint32_t fm_crc32(const uint8_t *p, size_t n);

int fm_trainer_save_state(const fm_trainer *tr, uint8_t **out, size_t *out_len) {
  if (tr->pending) return fm_fail("cannot checkpoint in the middle of a data-parallel step");
  size_t np = (size_t)tr->net->nparams, nb = (size_t)tr->net->nbuffers;
  size_t navg = tr->avg ? np + nb : 0;
  size_t len = CKPT_HEADER + 8 * np + 4 * navg + 4;
  uint8_t *b = fm_malloc(len);
  if (!b) return 0;
  memcpy(b, CKPT_MAGIC, 8);
  put_u64(b + 8, np);
  put_u32(b + 16, (uint32_t)tr->epoch);
  put_u32(b + 20, (uint32_t)tr->batch);
  put_u32(b + 24, (uint32_t)tr->cfg.batch);
  put_u32(b + 28, (uint32_t)tr->cfg.epochs);
  put_u64(b + 32, (uint64_t)tr->step);
  put_u64(b + 40, tr->augment_rng.state);
  put_u64(b + 48, tr->augment_rng.inc);
  put_u64(b + 56, tr->net->dropout_rng.state);
  put_u64(b + 64, tr->net->dropout_rng.inc);
  put_u32(b + 72, (tr->avg ? 1u : 0u) | (tr->avg_in_net ? 2u : 0u));
  put_u64(b + 76, (uint64_t)tr->avg_steps);
  put_u64(b + 84, nb);
  memcpy(b + CKPT_HEADER, tr->m, 4 * np);
  memcpy(b + CKPT_HEADER + 4 * np, tr->v, 4 * np);
  if (navg) memcpy(b + CKPT_HEADER + 8 * np, tr->avg, 4 * navg);
  put_u32(b + len - 4, fm_crc32(b, len - 4));
  *out = b;
  *out_len = len;
  return 1;
}

int fm_trainer_load_state(fm_trainer *tr, const uint8_t *b, size_t len) {
  size_t np = (size_t)tr->net->nparams, nb = (size_t)tr->net->nbuffers;
  int v1 = b && len >= 8 && !memcmp(b, CKPT_MAGIC_V1, 8);
  size_t header = v1 ? CKPT_HEADER_V1 : CKPT_HEADER;
  if (!b || len < header + 4 || (!v1 && memcmp(b, CKPT_MAGIC, 8)))
    return fm_fail("not a training checkpoint (bad magic)");
  if (get_u64(b + 8) != np)
    return fm_fail("checkpoint is for a network of %llu parameters, this one has %zu",
                   (unsigned long long)get_u64(b + 8), np);
  uint32_t flags = v1 ? 0 : get_u32(b + 72);
  if (flags > 3 || (flags & 2 && !(flags & 1))) return fm_fail("checkpoint has unknown flags %u", flags);
  if (!v1 && get_u64(b + 84) != nb)
    return fm_fail("checkpoint is for a network of %llu batch-norm statistics, this one has %zu",
                   (unsigned long long)get_u64(b + 84), nb);
  size_t navg = flags & 1 ? np + nb : 0, want = header + 8 * np + 4 * navg + 4;
  if (len != want) return fm_fail("checkpoint is %zu bytes, expected %zu (truncated?)", len, want);
  if (get_u32(b + len - 4) != fm_crc32(b, len - 4)) return fm_fail("checkpoint is corrupt (CRC mismatch)");
  if (navg && !tr->avg)
    return fm_fail("checkpoint keeps an average of the weights: resume it with the same ema option");
  uint32_t epoch = get_u32(b + 16), batch = get_u32(b + 20), bs = get_u32(b + 24);
  if ((int)bs != tr->cfg.batch)
    return fm_fail("checkpoint was made with batch size %u, this run uses %d", bs, tr->cfg.batch);
  if (batch >= (uint32_t)tr->batches_per_epoch)
    return fm_fail("checkpoint position (batch %u) does not fit this dataset", batch);
  uint64_t step = get_u64(b + 32), avg_steps = get_u64(b + 76);
  if (epoch > 1u << 30 || step > (uint64_t)1 << 50 || (navg && avg_steps > step))
    return fm_fail("checkpoint position (epoch %u, step %llu) is out of range", epoch, (unsigned long long)step);
  if (!all_finite((const float *)(b + header), (long)(2 * np + navg)))
    return fm_fail("checkpoint holds non-finite optimiser state");
  memcpy(tr->m, b + header, 4 * np);
  memcpy(tr->v, b + header + 4 * np, 4 * np);
  tr->epoch = (int)epoch;
  tr->batch = (int)batch;
  tr->step = (long)step;
  tr->augment_rng.state = get_u64(b + 40);
  tr->augment_rng.inc = get_u64(b + 48);
  tr->net->dropout_rng.state = get_u64(b + 56);
  tr->net->dropout_rng.inc = get_u64(b + 64);
  if (tr->avg) {
    /* The network was loaded with the weights saved beside this state: if
     * the average was swapped in then, the trained weights are in the file's
     * average. Without an average in the file, it starts afresh here. */
    if (navg) memcpy(tr->avg, b + header + 8 * np, 4 * navg);
    else {
      memcpy(tr->avg, tr->net->params, 4 * np);
      memcpy(tr->avg + np, tr->net->buffers, 4 * nb);
    }
    tr->avg_steps = navg ? (long)avg_steps : 0;
    tr->avg_in_net = (flags & 2) != 0;
  }
  if (tr->batch > 0) shuffle_epoch(tr); /* rebuild this epoch's order */
  return 1;
}

int fm_trainer_epoch(const fm_trainer *tr) { return tr->epoch; }

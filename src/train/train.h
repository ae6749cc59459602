/* train.h: trainer internals (config, optimisers, schedule, augmentation). */
#ifndef FM_TRAIN_H
#define FM_TRAIN_H

#include "../common.h"
#include "../net/net.h"

enum { FM_OPT_SGD = 0, FM_OPT_ADAM = 1, FM_OPT_ADAMW = 2 };
enum { FM_SCHED_CONSTANT = 0, FM_SCHED_COSINE = 1 };

struct fm_train_config {
  int epochs, batch, optimizer, nesterov, schedule, limit, holdout;
  double lr, min_lr, momentum, weight_decay, beta1, beta2, eps, warmup_epochs, label_smoothing;
  double seed;
  int augment_shift, augment_flip;
  double augment_erase, augment_photo, augment_pair;
  double photo_ratio;   /* share of each batch drawn from real photos */
  double photo_balance; /* 0: photos as they come; 1: every folder equally often */
  int shard, shards; /* data-parallel: this trainer's part of every batch */
  double ema;        /* decay of the weights' moving average per step; 0: none */
  double distill;    /* weight of the teacher's answers in the target; 0: none */
};

/* Learning rate at a step (0-based) of total steps. */
double fm_schedule_lr(const fm_train_config *cfg, long step, long total, int steps_per_epoch);

/* One optimiser update of n parameters from their gradients. m and v are the
 * optimiser's state (v unused by SGD); t is the 1-based step count. */
void fm_optim_step(const fm_train_config *cfg, float *params, const float *grads, float *m,
                   float *v, long n, double lr, long t);

/* Augments one 28x28 float image in place (shift, flip, random erasing). */
void fm_augment(const fm_train_config *cfg, float *img, int h, int w, fm_rng *rng);

/* cos and sin of a small angle (|a| <= 0.25 rad), without libm. */
void fm_small_turn(float a, float *c, float *s);

/* Bilinear sample of img at (fx, fy), zero outside (augment_photo.c). */
float fm_bilinear(const float *img, int h, int w, float fx, float fy);

/* Makes one image look like the photo pipeline's output (augment_photo.c). */
void fm_augment_photo(float *img, int h, int w, fm_rng *rng);

/* Turns one shoe into a pair of shoes, as photographed (augment_pair.c);
 * the trainer applies it to sneakers. */
void fm_augment_pair(float *img, int h, int w, fm_rng *rng);

#endif

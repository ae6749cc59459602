/* config.c: training options, set by name so the JS wrapper, the CLI and the
 * page share one list (documented in include/fmnist.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "train.h"

fm_train_config *fm_config_create(void) {
  fm_train_config *c = fm_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->epochs = 1;
  c->batch = 64;
  c->optimizer = FM_OPT_ADAM;
  c->lr = 1e-3;
  c->momentum = 0.9;
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
  c->shards = 1;
  return c;
}

void fm_config_free(fm_train_config *cfg) { free(cfg); }

/* Each option: name, where it lives, its type and its valid range. */
typedef struct {
  const char *name;
  size_t offset;
  int is_int;
  double lo, hi;
} option;

#define OPT_I(f, lo, hi) {#f, offsetof(fm_train_config, f), 1, lo, hi}
#define OPT_D(f, lo, hi) {#f, offsetof(fm_train_config, f), 0, lo, hi}
static const option k_options[] = {
    OPT_I(epochs, 1, 10000),         OPT_I(batch, 1, 4096),
    OPT_I(optimizer, 0, 2),          OPT_I(nesterov, 0, 1),
    OPT_I(schedule, 0, 1),           OPT_I(limit, 0, 1 << 30),
    OPT_I(holdout, 0, 1 << 30),      OPT_D(lr, 1e-12, 1e6),
    OPT_D(min_lr, 0, 1e6),           OPT_D(momentum, 0, 0.9999),
    OPT_D(weight_decay, 0, 10),      OPT_D(beta1, 0, 0.9999),
    OPT_D(beta2, 0, 0.999999),       OPT_D(eps, 1e-20, 1),
    OPT_D(warmup_epochs, 0, 10000),  OPT_D(label_smoothing, 0, 0.99),
    OPT_D(seed, 0, 9007199254740991.0), OPT_I(augment_shift, 0, 8),
    OPT_I(augment_flip, 0, 1),       OPT_D(augment_erase, 0, 1),
    OPT_D(augment_photo, 0, 1),      OPT_D(augment_pair, 0, 1),
    OPT_I(shard, 0, 63),             OPT_I(shards, 1, 64),
    OPT_D(photo_ratio, 0, 1),        OPT_D(photo_balance, 0, 1),
    OPT_D(ema, 0, 0.99999),          OPT_D(distill, 0, 1),
};

static const option *find(const char *key) {
  for (size_t i = 0; i < sizeof k_options / sizeof k_options[0]; i++)
    if (key && !strcmp(key, k_options[i].name)) return &k_options[i];
  return NULL;
}

int fm_config_set(fm_train_config *cfg, const char *key, double value) {
  const option *o = find(key);
  if (!o) return fm_fail("unknown training option '%.40s'", key ? key : "(null)");
  if (!isfinite(value) || value < o->lo || value > o->hi || (o->is_int && value != floor(value)))
    return fm_fail("training option %s: %g is out of range (%s %g..%g)", o->name, value,
                   o->is_int ? "an integer" : "a number", o->lo, o->hi);
  char *p = (char *)cfg + o->offset;
  if (o->is_int)
    *(int *)p = (int)value;
  else
    *(double *)p = value;
  return 1;
}

double fm_config_get(const fm_train_config *cfg, const char *key) {
  const option *o = find(key);
  if (!o) return NAN;
  const char *p = (const char *)cfg + o->offset;
  return o->is_int ? *(const int *)p : *(const double *)p;
}

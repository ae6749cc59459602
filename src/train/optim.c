/* optim.c: SGD (momentum, Nesterov) and Adam / AdamW with PyTorch's exact
 * update rules, so hyper-parameters transfer; plus the lr schedule. */
#include <math.h>

#include "train.h"

double fm_schedule_lr(const fm_train_config *cfg, long step, long total, int steps_per_epoch) {
  double warm = cfg->warmup_epochs * steps_per_epoch;
  if (warm > 0 && step < warm) return cfg->lr * (step + 1) / warm;
  if (cfg->schedule == FM_SCHED_CONSTANT) return cfg->lr;
  double span = total - warm;
  double t = span > 0 ? (step - warm) / span : 1.0;
  return cfg->min_lr + 0.5 * (cfg->lr - cfg->min_lr) * (1 + cos(M_PI * t));
}

void fm_optim_step(const fm_train_config *cfg, float *params, const float *grads, float *m,
                   float *v, long n, double lr, long t) {
  float wd = (float)cfg->weight_decay;
  if (cfg->optimizer == FM_OPT_SGD) {
    /* torch.optim.SGD: g += wd*p; buf = mu*buf + g; step = nesterov ? g + mu*buf : buf. */
    float mu = (float)cfg->momentum, flr = (float)lr;
    for (long i = 0; i < n; i++) {
      float g = grads[i] + wd * params[i];
      if (mu > 0) {
        m[i] = t == 1 ? g : mu * m[i] + g;
        g = cfg->nesterov ? g + mu * m[i] : m[i];
      }
      params[i] -= flr * g;
    }
    return;
  }
  /* torch.optim.Adam (L2 in the gradient) / AdamW (decoupled decay). */
  double b1 = cfg->beta1, b2 = cfg->beta2;
  double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
  float step = (float)(lr / bc1), sbc2 = (float)sqrt(bc2), eps = (float)cfg->eps;
  float fb1 = (float)b1, fb2 = (float)b2;
  int decoupled = cfg->optimizer == FM_OPT_ADAMW;
  float decay = (float)(1 - lr * cfg->weight_decay);
  for (long i = 0; i < n; i++) {
    float g = grads[i];
    if (decoupled)
      params[i] *= decay;
    else
      g += wd * params[i];
    m[i] = fb1 * m[i] + (1 - fb1) * g;
    v[i] = fb2 * v[i] + (1 - fb2) * g * g;
    params[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
  }
}

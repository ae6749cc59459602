/* loss.c: softmax and mean cross-entropy (nn.CrossEntropyLoss with
 * label_smoothing), fused so the gradient is simply (p - target) / B.
 *
 * A label is a set of allowed classes (a bit mask): a Fashion-MNIST image
 * allows exactly its class; a real photo's folder may allow several ("long
 * sleeves" = T-shirt/top, Pullover or Shirt: a partial label). The loss of a
 * set S is minus the log of the probability mass on S,
 *   L = -log sum_{j in S} p_j,  dL/dz_k = p_k - q_k,  q = p restricted to S, renormalised,
 * which is ordinary cross-entropy when S holds one class. The empty set means
 * "none of the ten" (a hat, a skirt): its target is the uniform distribution,
 * L = -(1/C) sum_j log p_j, so the model learns to spread its answer, which
 * the verdict (predict.c) reads as out of scope. Label smoothing mixes the
 * target with the uniform distribution as PyTorch does.
 *
 * Distillation mixes in a teacher's probabilities s for some samples: the
 * loss is (1 - a) L_label + a (-sum_j s_j log p_j), whose gradient is
 * p - ((1 - a) q + a s). At temperature 1, with the teacher shown the same
 * augmented image as the student ("function matching", Beyer et al., "A good
 * teacher is patient and consistent", 2022), so no T^2 rescaling is needed. */
#include <math.h>

#include "layer.h"

static void softmax_row(const float *z, int C, float *p) {
  float m = z[0];
  for (int j = 1; j < C; j++) m = z[j] > m ? z[j] : m;
  float s = 0;
  for (int j = 0; j < C; j++) {
    p[j] = expf(z[j] - m);
    s += p[j];
  }
  for (int j = 0; j < C; j++) p[j] /= s;
}

void fm_softmax(const float *logits, int B, int C, float *probs) {
  for (int i = 0; i < B; i++) softmax_row(logits + i * C, C, probs + i * C);
}

/* One sample: writes p, adds (p - target) * scale to d (may be NULL), returns
 * its loss and sets *right. */
static double xent_row(const float *z, uint32_t allowed, int C, float smoothing, const float *soft,
                       float alpha, float *p, float *d, float scale, int *right) {
  softmax_row(z, C, p);
  float m = z[0];
  int arg = 0;
  for (int j = 1; j < C; j++)
    if (z[j] > m) m = z[j], arg = j;
  /* log p_j = z_j - logsumexp(z), computed stably from the max. */
  double lse = 0, in_set = 0, mean_logp = 0;
  for (int j = 0; j < C; j++) {
    double e = exp((double)z[j] - m);
    lse += e;
    if (allowed >> j & 1) in_set += e;
  }
  lse = log(lse) + m;
  for (int j = 0; j < C; j++) mean_logp += (z[j] - lse) / C;
  double loss;
  float q_scale = 0; /* q_j = p_j * q_scale for j in S */
  float eps = smoothing;
  if (allowed) {
    double log_ps = log(in_set) + m - lse; /* log of the mass on S */
    loss = -(1 - eps) * log_ps - eps * mean_logp;
    q_scale = (float)exp(-log_ps);
    *right = allowed >> arg & 1;
  } else {
    eps = 1; /* the uniform target */
    loss = -mean_logp;
    *right = p[arg] < 0.5f; /* right when the answer would be flagged unsure */
  }
  if (!soft) alpha = 0;
  if (alpha > 0) {
    double match = 0; /* -sum_j s_j log p_j */
    for (int j = 0; j < C; j++) match -= soft[j] * ((double)z[j] - lse);
    loss = (1 - alpha) * loss + alpha * match;
  }
  if (d)
    for (int j = 0; j < C; j++) {
      /* One allowed class: q is exactly one-hot (no rounding of p / p). */
      float q = !(allowed >> j & 1) ? 0.0f : (allowed & (allowed - 1)) ? p[j] * q_scale : 1.0f;
      float target = (1 - eps) * q + eps / C;
      if (alpha > 0) target = (1 - alpha) * target + alpha * soft[j];
      d[j] = (p[j] - target) * scale;
    }
  return loss;
}

float fm_softmax_xent_distill(const float *logits, const uint16_t *allowed, const float *soft,
                              int nsoft, float alpha, int B, int C, float smoothing, float *probs,
                              float *dlogits, int *correct) {
  double loss = 0;
  int right = 0;
  for (int i = 0; i < B; i++) {
    int r;
    loss += xent_row(logits + i * C, allowed[i], C, smoothing, i < nsoft ? soft + i * C : NULL, alpha,
                     probs + i * C, dlogits ? dlogits + i * C : NULL, 1.0f / B, &r);
    right += r;
  }
  if (correct) *correct = right;
  return (float)(loss / B);
}

float fm_softmax_xent_sets(const float *logits, const uint16_t *allowed, int B, int C,
                           float smoothing, float *probs, float *dlogits, int *correct) {
  return fm_softmax_xent_distill(logits, allowed, NULL, 0, 0, B, C, smoothing, probs, dlogits, correct);
}

float fm_softmax_xent(const float *logits, const uint8_t *labels, int B, int C, float smoothing,
                      float *probs, float *dlogits, int *correct) {
  double loss = 0;
  int right = 0;
  for (int i = 0; i < B; i++) {
    int r;
    loss += xent_row(logits + i * C, 1u << labels[i], C, smoothing, NULL, 0, probs + i * C,
                     dlogits ? dlogits + i * C : NULL, 1.0f / B, &r);
    right += r;
  }
  if (correct) *correct = right;
  return (float)(loss / B);
}

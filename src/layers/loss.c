/* loss.c: softmax and mean cross-entropy (nn.CrossEntropyLoss with
 * label_smoothing), fused so the gradient is simply (p - target) / B. */
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

float fm_softmax_xent(const float *logits, const uint8_t *labels, int B, int C, float smoothing,
                      float *probs, float *dlogits, int *correct) {
  double loss = 0;
  int right = 0;
  for (int i = 0; i < B; i++) {
    const float *z = logits + i * C;
    float *p = probs + i * C;
    softmax_row(z, C, p);
    float m = z[0];
    int arg = 0;
    for (int j = 1; j < C; j++)
      if (z[j] > m) m = z[j], arg = j;
    right += arg == labels[i];
    /* log p_j = z_j - logsumexp(z), computed stably from the max. */
    double lse = 0;
    for (int j = 0; j < C; j++) lse += exp((double)z[j] - m);
    lse = log(lse) + m;
    for (int j = 0; j < C; j++) {
      float t = (j == labels[i] ? 1.0f - smoothing : 0.0f) + smoothing / C;
      if (t != 0) loss -= t * (z[j] - lse);
      if (dlogits) dlogits[i * C + j] = (p[j] - t) / B;
    }
  }
  if (correct) *correct = right;
  return (float)(loss / B);
}

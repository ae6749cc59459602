/* test_saliency.c: fm_net_saliency (src/net/saliency.c), linked into the
 * same test binary as test_core.c (the Makefile compiles every .c file
 * in tests/c together); test_core.c's main() runs them and counts their
 * results (check.h).
 *
 * - The map equals the finite-difference gradient of the class's logit for
 *   a network with convolution, batch norm (inference: running statistics),
 *   max-pooling, dropout (off) and dense layers; the top class is the one
 *   explained unless another is asked for; the weights' gradients and the
 *   weights are left as they were.
 * - The map of a shifted image moves with it: for a convolutional network
 *   with global average pooling (shift-equivariant up to the borders), the
 *   map of an object moved by (3, 2) is the first map moved by (3, 2),
 *   wherever the borders are out of reach. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "net/net.h"

static fm_rng s_rng;
static float urand(void) { return fm_rng_uniform(&s_rng); }

/* Random running statistics, so batch norm is not the identity. */
static void randomise_bn(fm_net *net) {
  for (int i = 0; i < net->nlayers; i++) {
    fm_layer *L = &net->layers[i];
    if (L->kind != FM_BATCHNORM) continue;
    for (int c = 0; c < L->in.c; c++) {
      L->running_mean[c] = 0.4f * (urand() - 0.5f);
      L->running_var[c] = 0.3f + urand();
      L->w[c] = 0.5f + urand();
      L->b[c] = 0.2f * (urand() - 0.5f);
    }
  }
  net->wgen++;
}

/* The logit of class cls for a float image, inference mode. */
static double logit(fm_net *net, const float *x, int cls) {
  fm_net_reserve(net, 1, 0);
  memcpy(net->acts[0], x, FM_IMAGE_PIXELS * sizeof(float));
  return fm_net_forward(net, 1, 0)[cls];
}

static void test_gradient(const char *spec) {
  fm_net *net = fm_net_create(spec, 1, 28, 28, 5);
  randomise_bn(net);
  uint8_t px[FM_IMAGE_PIXELS];
  float x[FM_IMAGE_PIXELS], grad[FM_IMAGE_PIXELS], grad2[FM_IMAGE_PIXELS];
  for (int i = 0; i < FM_IMAGE_PIXELS; i++) px[i] = (uint8_t)(urand() * 255.99f), x[i] = px[i] / 255.0f;
  for (long i = 0; i < net->nparams; i++) net->grads[i] = (float)i;
  float *before = malloc((size_t)net->nparams * sizeof(float));
  memcpy(before, net->params, (size_t)net->nparams * sizeof(float));
  int top = fm_net_saliency(net, px, -1, grad);
  /* The top class, from the logits. */
  int want = 0;
  for (int j = 1; j < 10; j++)
    if (logit(net, x, j) > logit(net, x, want)) want = j;
  int other = (want + 3) % 10;
  int asked = fm_net_saliency(net, px, other, grad2);
  /* Central differences at every pixel. ReLU and max-pooling have kinks: a
   * step that crosses one changes the slope, so a few pixels may differ
   * (10 of 784 here); the rest must match to float rounding. */
  double scale = 0;
  for (int i = 0; i < FM_IMAGE_PIXELS; i++) scale = fmax(scale, fabs(grad2[i]));
  int off = 0;
  for (int i = 0; i < FM_IMAGE_PIXELS; i++) {
    const double h = 1e-3;
    float keep = x[i];
    x[i] = keep + (float)h;
    double up = logit(net, x, other);
    x[i] = keep - (float)h;
    double down = logit(net, x, other);
    x[i] = keep;
    off += fabs((up - down) / (2 * h) - grad2[i]) > 3e-3 * scale;
  }
  int untouched = 1;
  for (long i = 0; i < net->nparams; i++) untouched &= net->grads[i] == (float)i && net->params[i] == before[i];
  char why[160];
  snprintf(why, sizeof why, "top %d (logits say %d), asked %d got %d, %d of %d pixels off by over 0.3%% of the largest value, weights and gradients untouched %d",
           top, want, other, asked, off, FM_IMAGE_PIXELS, untouched);
  char name[300];
  snprintf(name, sizeof name, "saliency: the map is the gradient of the class's logit (finite differences, batch norm in inference): %s", spec);
  report(top == want && asked == other && scale > 0 && off <= FM_IMAGE_PIXELS / 20 && untouched, name, why);
  /* Bad calls fail with a message instead of writing anything. */
  int refused = fm_net_saliency(net, px, 10, grad) == -1 && fm_last_error()[0] &&
                fm_net_saliency(net, NULL, -1, grad) == -1 && fm_net_saliency(net, px, -1, NULL) == -1;
  report(refused, "saliency: a class out of range or a missing buffer is refused", "accepted");
  free(before);
  fm_net_free(net);
}

static void test_shift(void) {
  enum { S = 28, DX = 3, DY = 2, MARGIN = 6 };
  fm_net *net = fm_net_create("conv3x3:6,bn,relu,conv3x3:6,relu,gap,flatten,dense:10", 1, S, S, 9);
  randomise_bn(net);
  uint8_t a[S * S] = {0}, b[S * S] = {0};
  /* A textured object on a black background, then the same moved by (DX, DY). */
  for (int y = 9; y < 17; y++)
    for (int x = 8; x < 17; x++) a[y * S + x] = (uint8_t)(90 + urand() * 160);
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      if (y - DY >= 0 && x - DX >= 0) b[y * S + x] = a[(y - DY) * S + x - DX];
  float ga[S * S], gb[S * S];
  int ca = fm_net_saliency(net, a, -1, ga), cb = fm_net_saliency(net, b, -1, gb);
  double worst = 0, peak = 0;
  int compared = 0;
  for (int y = MARGIN; y < S - MARGIN - DY; y++)
    for (int x = MARGIN; x < S - MARGIN - DX; x++) {
      peak = fmax(peak, fabs(ga[y * S + x]));
      worst = fmax(worst, fabs(ga[y * S + x] - gb[(y + DY) * S + x + DX]));
      compared++;
    }
  char why[160];
  snprintf(why, sizeof why, "classes %d/%d, largest difference %.3g of a peak %.3g over %d pixels",
           ca, cb, worst, peak, compared);
  report(ca == cb && ca >= 0 && peak > 0 && worst <= 1e-4 * peak,
        "saliency: the map of a shifted image moves with it", why);
  fm_net_free(net);
}

void test_saliency(void) {
  fm_rng_seed(&s_rng, 2024, 7);
  test_gradient("conv3x3:4,bn,relu,maxpool2,conv3x3:6,bn,relu,flatten,dropout:0.3,dense:12,bn,relu,dense:10");
  /* Nested residual connections: each add's gradient reaches its skip. */
  test_gradient("conv3x3:4,bn,relu,skip,conv3x3:4,bn,relu,skip,conv3x3:4,bn,add,add,maxpool2,conv3x3:6,relu,flatten,dense:10");
  test_shift();
}

/* layer.h: one module of an nn.Sequential-like network.
 *
 * Every layer is a pair of plain functions (llm.c style):
 *   forward (x -> y) for a batch of B samples, and
 *   backward (dy -> dx, and parameter gradients).
 * Parameter gradients ACCUMULATE (+=) so the trainer zeroes them once per
 * step; dx is overwritten (the network is a chain). dx may be NULL for the
 * first layer, whose input gradient nobody needs.
 * Tensors are batch-major and NCHW within a sample, as in PyTorch, so a
 * flatten is a no-op on memory and dense weights keep PyTorch's layout. */
#ifndef FM_LAYER_H
#define FM_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "../net/rng.h"

typedef enum {
  FM_DENSE,
  FM_CONV,
  FM_MAXPOOL,
  FM_RELU,
  FM_BATCHNORM,
  FM_DROPOUT,
  FM_GAP,
  FM_FLATTEN,
  /* A residual connection: skip passes its input on unchanged and marks
   * where the shortcut starts; add adds that input to its own. The network
   * (network.c) runs both, since add reads another layer's activations. */
  FM_SKIP,
  FM_ADD
} fm_layer_kind;

/* A sample's shape. Flat vectors have h = w = 1 and flat = 1. */
typedef struct fm_shape {
  int c, h, w, flat;
} fm_shape;

static inline int fm_shape_size(fm_shape s) { return s.c * s.h * s.w; }

typedef struct fm_layer {
  fm_layer_kind kind;
  fm_shape in, out;
  int k;    /* conv kernel side */
  int link; /* skip: index of its add; add: index of its skip */
  float p; /* dropout probability */

  /* Trainable parameters and their gradients: views into the network's
   * flat arrays. dense: w [out, in], b [out]; conv: w [cout, cin, k, k],
   * b [cout]; batchnorm: w = gamma [c], b = beta [c]. */
  float *w, *b, *dw, *db;
  int nw, nb;
  /* Batchnorm buffers (views into the network's buffer array). */
  float *running_mean, *running_var;
  int64_t batches_tracked;

  /* Per-batch scratch, sized for max_batch samples. */
  int max_batch;
  float *xhat;        /* batchnorm: normalised input [B, size] */
  float *mean, *istd; /* batchnorm: batch statistics [c] */
  float *mask;        /* dropout: 0 or 1/(1-p) per element */
  float *col;         /* conv: im2col of one sample [cin*k*k, h*w], per thread */
  float *dcol;        /* conv: gradient of col, per thread */
  float *dparts;      /* conv: per-thread partial dw, db for threads 1.. */
  /* conv, Winograd forward (winograd.h): transformed weights, per-thread
   * scratch, and the weights generation wino was made from (0: none).
   * wgen points to the owning network's generation, bumped whenever its
   * weights may have changed; NULL for a standalone layer, which then
   * transforms its weights on every call. */
  float *wino, *wbuf;
  /* int16 inference: packed weights and their scales (conv: made with wino,
   * fm_wino_q16_weights; dense: fm_dense_infer, which also keeps its
   * per-thread packed rows in wbuf), both kept for the weights generation
   * wino_gen */
  int16_t *wq;
  float *wqs;
  float *winodx; /* conv, Winograd input gradient: its transformed weights */
  float *fold;   /* conv: scale and shift [2][cout] of a batch norm fused at inference */
  float *wdu;    /* conv, Winograd weight gradient: dU per thread */
  uint64_t wino_gen;
  const uint64_t *wgen;
  int threads;        /* threads the per-thread scratch was sized for */
  int backward;       /* whether the scratch includes what backward passes need */
} fm_layer;

/* The owning network's weights generation (0: a standalone layer, whose
 * derived weights are made on every call). Derived weights (wino, wq) made
 * from generation g record it in wino_gen, and stand while it is current. */
static inline uint64_t fm_layer_wgen(const fm_layer *L) { return L->wgen ? *L->wgen : 0; }

/* Allocates the per-batch scratch for up to max_batch samples: for the
 * forward pass in inference only, or (backward) for training and gradients
 * too. A layer never gives up scratch it has: reserving for inference after
 * training keeps the training buffers. */
int fm_layer_reserve(fm_layer *L, int max_batch, int backward);
void fm_layer_release(fm_layer *L);
/* Multiply-adds of a forward pass of one sample. */
double fm_layer_macs(const fm_layer *L);

void fm_layer_forward(fm_layer *L, const float *x, float *y, int B, int train, fm_rng *rng);
void fm_layer_backward(fm_layer *L, const float *x, const float *y, const float *dy, float *dx,
                       int B);

/* A ReLU folded into its neighbours while training (network.c): the layer
 * before it writes the ReLU's output itself (convolution, batch norm:
 * fm_layer_forward_relu), and the layer after it returns the gradient of the
 * ReLU's input, zero where its own input x, the ReLU's output, is not above
 * zero (convolution, max-pool: fm_layer_backward_gated). The same numbers
 * as the three layers one by one, bit for bit (but for an im2col
 * convolution summing more than 256 products per output, whose bias is then
 * added after its blocks of sums instead of before them); two passes over
 * the activations fewer. */
int fm_layer_relu_after(const fm_layer *L);
void fm_layer_forward_relu(fm_layer *L, const float *x, float *y, int B, int train);
int fm_layer_gates_relu(const fm_layer *L);
void fm_layer_backward_gated(fm_layer *L, const float *x, const float *y, const float *dy, float *dx,
                             int B);

/* Per-kind functions (one file each). */
void fm_dense_forward(fm_layer *L, const float *x, float *y, int B);
void fm_dense_backward(fm_layer *L, const float *x, const float *dy, float *dx, int B);
/* Inference; with q16, where fm_dense_q16_applies, the products in int16
 * (gemm_q16.h) with the weights packed once per weights generation. */
void fm_dense_infer(fm_layer *L, const float *x, float *y, int B, int q16);
int fm_dense_q16_applies(const fm_layer *L);
size_t fm_dense_q16_size(const fm_layer *L);   /* int16 of packed weights */
size_t fm_dense_q16_scales(const fm_layer *L); /* floats of their scales */
size_t fm_dense_q16_scratch(const fm_layer *L); /* floats per thread */
void fm_conv_forward(fm_layer *L, const float *x, float *y, int B, int train, int relu);
/* Inference through the convolution and, in the same pass, the batch norm
 * after it (bn, or NULL), a ReLU (relu != 0) and a 2x2 max-pool (pool != 0,
 * only where fm_conv_infer_pools(L): y is then [B, cout, h/2, w/2]): what
 * the layers would compute one after another, to float rounding; with q16
 * the F(4x4) Winograd GEMMs in int16 (winograd.h), to about 1e-3. */
int fm_conv_infer_pools(const fm_layer *L);
void fm_conv_infer(fm_layer *L, const fm_layer *bn, int relu, int pool, const float *x, float *y,
                   int B, int q16);
/* With gate, dx is zero wherever x <= 0 (fm_layer_backward_gated). */
void fm_conv_backward(fm_layer *L, const float *x, const float *dy, float *dx, int B, int gate);
/* A first convolution (one input channel, 3x3) at inference in int16
 * (conv1_q16.c): weights packed as fm_q16_pack_a packs [cout x 9] and their scales, made by
 * fm_conv1_q16_weights, per-thread scratch of fm_conv1_q16_scratch floats,
 * zeroed once (the padded plane's border is never written). */
int fm_conv1_q16_applies(const fm_layer *L);
size_t fm_conv1_q16_size(const fm_layer *L);
size_t fm_conv1_q16_scales(const fm_layer *L);
size_t fm_conv1_q16_scratch(const fm_layer *L);
void fm_conv1_q16_weights(const fm_layer *L, int16_t *wq, float *wqs);
/* y [cout, h, w] of one image x [h, w]: sums * scale[co] (NULL: 1) +
 * shift[co] (NULL: 0), then ReLU when relu, as fm_conv_infer's epilogue. */
void fm_conv1_q16(const fm_layer *L, const float *scale, const float *shift, int relu, const float *x, float *y,
                  float *scratch);
void fm_maxpool_forward(fm_layer *L, const float *x, float *y, int B);
void fm_maxpool_backward(fm_layer *L, const float *x, const float *y, const float *dy, float *dx, int B,
                         int gate);
void fm_relu_forward(const float *x, float *y, int n);
void fm_relu_backward(const float *y, const float *dy, float *dx, int n);
/* Batch norm's epsilon (PyTorch's default): batchnorm.c and, for its
 * inference-time gradient, saliency.c. */
#define FM_BN_EPS 1e-5f
void fm_batchnorm_forward(fm_layer *L, const float *x, float *y, int B, int train, int relu);
void fm_batchnorm_backward(fm_layer *L, const float *dy, float *dx, int B);
void fm_dropout_forward(fm_layer *L, const float *x, float *y, int B, int train, fm_rng *rng);
void fm_dropout_backward(fm_layer *L, const float *dy, float *dx, int B);
void fm_gap_forward(fm_layer *L, const float *x, float *y, int B);
void fm_gap_backward(fm_layer *L, const float *dy, float *dx, int B);

/* Softmax + cross-entropy over C classes with optional label smoothing.
 * Writes probs [B, C] and dlogits = d(mean loss)/d(logits) (may be NULL);
 * returns the mean loss and counts correct top-1 predictions. */
float fm_softmax_xent(const float *logits, const uint8_t *labels, int B, int C, float smoothing,
                      float *probs, float *dlogits, int *correct);
/* The same with a set of allowed classes per sample (bit j = class j; 0 =
 * none of the classes, whose target is uniform): loss -log(mass on the set). */
float fm_softmax_xent_sets(const float *logits, const uint16_t *allowed, int B, int C,
                           float smoothing, float *probs, float *dlogits, int *correct);
/* The same, the first nsoft samples' targets mixed with a teacher's
 * probabilities soft [nsoft, C] at weight alpha (distillation, loss.c). */
float fm_softmax_xent_distill(const float *logits, const uint16_t *allowed, const float *soft,
                              int nsoft, float alpha, int B, int C, float smoothing, float *probs,
                              float *dlogits, int *correct);
/* Softmax alone (inference). */
void fm_softmax(const float *logits, int B, int C, float *probs);

#endif

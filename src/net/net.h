/* net.h: the network object (internal view). */
#ifndef FM_NET_H
#define FM_NET_H

#include "../layers/layer.h"
#include "fmnist.h"

#define FM_MAX_LAYERS 256
#define FM_MAX_META 32
#define FM_MAX_SPEC_LEN 4096
/* Refuse networks whose parameters or per-sample activations would not fit a
 * browser tab comfortably (checked before anything is allocated). */
#define FM_MAX_PARAMS (64L * 1024 * 1024)
#define FM_MAX_ACTIVATIONS (16L * 1024 * 1024)

enum { FM_TTA_NONE = 0, FM_TTA_SHIFT = 1, FM_TTA_MIRROR = 2 };

struct fm_net {
  char *spec; /* expanded, canonical token list */
  fm_shape input;
  int nlayers;
  fm_layer *layers;

  /* All trainable parameters in state_dict order, their gradients, and the
   * batchnorm running statistics: one allocation each (llm.c style). */
  float *params, *grads;
  long nparams;
  float *buffers;
  long nbuffers;

  /* acts[i] is the input of layer i, acts[nlayers] the logits; dacts[i]
   * the matching gradients. Sized for max_batch samples. */
  int max_batch;
  float **acts, **dacts;
  float *probs;
  /* Inference alone (a fresh network that only predicts): the activations
   * share one allocation, buffers reused once nothing reads them
   * (network.c, plan_infer_acts); NULL when each has its own. */
  float *act_arena;

  /* Bumped whenever the weights may have changed (initialisation, a
   * training step, a caller holding the fm_net_params view), so layers can
   * keep what they derive from the weights (Winograd's transformed filters)
   * between inference calls. Starts at 1. */
  uint64_t wgen;

  fm_rng dropout_rng;
  int tta; /* metadata "tta": the views predict averages (FM_TTA_*) */
  /* Metadata "views_below": views only for an image whose top class
   * is under this probability on its own (0.9 when absent; predict.c). */
  float views_below;
  /* Loaded from a file with float16 weights and not trained or blended
   * since: fm_net_save keeps them float16. */
  int f16;
  /* The verdict on a photo (fm_net_verdict), from metadata "unsure_below"
   * and "scope_min" (fixed at -1 = not judged, when absent). */
  float unsure_below, scope_min;
  /* Photo views (fm_net_predict_photo): metadata "photo_views", jittered
   * renders averaged with the plain one (0 when absent), for a photo whose
   * plain answer's top class is under "photo_views_below" (0.6). */
  int photo_views;
  float photo_views_below;
  int exact; /* inference in float32 only (fm_net_set_exact) */
  int nmeta;
  char *meta_key[FM_MAX_META], *meta_val[FM_MAX_META];
};

/* Parses a spec into layers (shapes and kinds only; no parameters). On
 * success *layers is malloc'd and *expanded holds the canonical spec. */
int fm_spec_parse(const char *spec, fm_shape input, fm_layer **layers, int *nlayers,
                  char **expanded);

/* Builds the network structure (no initialisation: weights are zero). */
fm_net *fm_net_build(const char *spec, int c, int h, int w);
/* PyTorch default initialisation from a seed. */
void fm_net_init_weights(fm_net *net, uint64_t seed);
/* Whether a metadata key changes what predict computes ("tta", the views'
 * and the verdict's thresholds): fm_net_set_meta checks its value, and a
 * file whose value fails the check is refused. */
int fm_net_meta_checked(const char *key);
/* What fm_net_reserve makes room for: fm_net_forward and the layers'
 * backward passes (saliency), that and the activations' gradients
 * (training), or fm_net_infer alone (predict: no buffers for the
 * activations inside a fused pass, none of the layers' backward scratch). */
enum { FM_RESERVE_FORWARD = 0, FM_RESERVE_TRAIN = 1, FM_RESERVE_INFER = 2 };
/* Makes room for batches of up to B samples, for the passes mode names. */
int fm_net_reserve(fm_net *net, int B, int mode);
/* Forward pass of B samples already in acts[0]; returns the logits. */
float *fm_net_forward(fm_net *net, int B, int train);
/* Inference as fm_net_forward(net, B, 0) computes it, with each convolution
 * and the batch norm, ReLU and max-pool after it fused into one pass: the activations
 * between them are left unwritten (saliency, which needs them, uses
 * fm_net_forward). */
float *fm_net_infer(fm_net *net, int B);
/* Backward pass from dlogits (in dacts[nlayers]); accumulates into grads. */
void fm_net_backward(fm_net *net, int B);

#endif

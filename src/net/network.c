/* network.c: building, initialising and running a network. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "net.h"

fm_net *fm_net_build(const char *spec, int c, int h, int w) {
  if (c < 1 || h < 1 || w < 1 || c > 64 || h > 1024 || w > 1024) {
    fm_fail("bad input shape %dx%dx%d", c, h, w);
    return NULL;
  }
  fm_net *net = fm_calloc(1, sizeof *net);
  if (!net) return NULL;
  net->input = (fm_shape){c, h, w, 0};
  if (!fm_spec_parse(spec, net->input, &net->layers, &net->nlayers, &net->spec)) {
    free(net);
    return NULL;
  }
  for (int i = 0; i < net->nlayers; i++) {
    fm_layer *L = &net->layers[i];
    net->nparams += L->nw + L->nb;
    if (L->kind == FM_BATCHNORM) net->nbuffers += 2L * L->in.c;
  }
  net->params = fm_calloc((size_t)net->nparams, sizeof(float));
  net->grads = fm_calloc((size_t)net->nparams, sizeof(float));
  net->buffers = fm_calloc((size_t)net->nbuffers, sizeof(float));
  net->acts = fm_calloc((size_t)net->nlayers + 1, sizeof(float *));
  net->dacts = fm_calloc((size_t)net->nlayers + 1, sizeof(float *));
  if (!net->params || !net->grads || !net->buffers || !net->acts || !net->dacts) {
    fm_net_free(net);
    return NULL;
  }
  float *p = net->params, *g = net->grads, *buf = net->buffers;
  net->wgen = 1;
  net->unsure_below = 0.5f, net->scope_min = -1, net->views_below = 0.9f;
  net->photo_views_below = 0.6f;
  for (int i = 0; i < net->nlayers; i++) {
    fm_layer *L = &net->layers[i];
    L->wgen = &net->wgen;
    if (L->nw) L->w = p, L->dw = g, p += L->nw, g += L->nw;
    if (L->nb) L->b = p, L->db = g, p += L->nb, g += L->nb;
    if (L->kind == FM_BATCHNORM) {
      L->running_mean = buf;
      L->running_var = buf + L->in.c;
      buf += 2 * L->in.c;
      for (int j = 0; j < L->in.c; j++) L->running_var[j] = 1.0f, L->w[j] = 1.0f;
    }
  }
  return net;
}

/* PyTorch defaults: Linear and Conv2d weights kaiming_uniform_(a=sqrt(5)),
 * i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for biases;
 * BatchNorm gamma 1, beta 0 (set in build). */
void fm_net_init_weights(fm_net *net, uint64_t seed) {
  fm_rng rng;
  fm_rng_seed(&rng, seed, FM_STREAM_INIT);
  for (int i = 0; i < net->nlayers; i++) {
    fm_layer *L = &net->layers[i];
    if (L->kind != FM_DENSE && L->kind != FM_CONV) continue;
    int fan_in = L->nw / L->nb;
    float bound = 1.0f / sqrtf((float)fan_in);
    for (int j = 0; j < L->nw; j++) L->w[j] = (2 * fm_rng_uniform(&rng) - 1) * bound;
    for (int j = 0; j < L->nb; j++) L->b[j] = (2 * fm_rng_uniform(&rng) - 1) * bound;
  }
  fm_rng_seed(&net->dropout_rng, seed, FM_STREAM_DROPOUT);
  net->wgen++;
}

fm_net *fm_net_create(const char *spec, int c, int h, int w, uint64_t seed) {
  fm_net *net = fm_net_build(spec, c, h, w);
  if (net) fm_net_init_weights(net, seed);
  return net;
}

/* A flatten only relabels the shape: its output and output gradient are
 * its input's buffers (acts[i + 1] = acts[i], dacts[i + 1] = dacts[i]), so
 * neither pass copies anything (64 images of cnn-small's 3,136 activations
 * each way per training step). */
static int aliased(const fm_net *net, int i) { return i > 0 && net->layers[i - 1].kind == FM_FLATTEN; }

static void free_acts(fm_net *net) {
  for (int i = 0; i <= net->nlayers; i++) {
    if (!aliased(net, i)) {
      if (!net->act_arena) fm_free_aligned(net->acts[i]);
      fm_free_aligned(net->dacts[i]);
    }
    net->acts[i] = net->dacts[i] = NULL;
  }
  fm_free_aligned(net->act_arena);
  net->act_arena = NULL;
  fm_free_aligned(net->probs);
  net->probs = NULL;
  net->max_batch = 0;
}

void fm_net_free(fm_net *net) {
  if (!net) return;
  if (net->acts && net->dacts) free_acts(net);
  for (int i = 0; net->layers && i < net->nlayers; i++) fm_layer_release(&net->layers[i]);
  for (int i = 0; i < net->nmeta; i++) free(net->meta_key[i]), free(net->meta_val[i]);
  free(net->layers);
  free(net->spec);
  free(net->params);
  free(net->grads);
  free(net->buffers);
  free(net->acts);
  free(net->dacts);
  free(net);
}

/* How many layers from i fm_net_infer runs as one pass: a convolution with
 * the batch norm, ReLU and max-pool after it (bn, relu, pool say which), or
 * layer i alone (1). */
static int infer_group(const fm_net *net, int i, const fm_layer **bn, int *relu, int *pool) {
  const fm_layer *L = &net->layers[i];
  int used = 1;
  *bn = NULL, *relu = *pool = 0;
  if (L->kind != FM_CONV) return 1;
  if (i + used < net->nlayers && net->layers[i + used].kind == FM_BATCHNORM) *bn = &net->layers[i + used++];
  if (i + used < net->nlayers && net->layers[i + used].kind == FM_RELU) *relu = 1, used++;
  if (i + used < net->nlayers && net->layers[i + used].kind == FM_MAXPOOL && fm_conv_infer_pools(L))
    *pool = 1, used++;
  return used;
}

/* Whether fm_net_infer reads or writes acts[i]: the ends of its passes and
 * each residual connection's shortcut. The activations inside a fused pass
 * are never written, so inference alone does without their buffers, and the
 * layers without their backward scratch (batch norm's normalised inputs,
 * dropout's mask). With the buffers shared as well (plan_infer_acts), a
 * fresh module predicting 64 images grows its memory to 24 MB with cnn-bn
 * and 43 MB with cnn-res (35 and 70 with a buffer per activation; 111 and
 * 171 with the training buffers), which is what each of the page's
 * evaluation workers holds. */
static void infer_acts(const fm_net *net, uint8_t *used_act) {
  memset(used_act, 0, (size_t)net->nlayers + 1);
  used_act[0] = used_act[net->nlayers] = 1;
  for (int i = 0; i < net->nlayers;) {
    const fm_layer *bn;
    int relu, pool, n = infer_group(net, i, &bn, &relu, &pool);
    used_act[i] = used_act[i + n] = 1;
    if (net->layers[i].kind == FM_ADD) used_act[net->layers[i].link] = 1;
    i += n;
  }
}

/* Inference's activations in one allocation (fm_net_infer only; a network
 * that trains or explains gets a buffer per activation). Each buffer is
 * written by one pass and read by the next, or by a residual add further
 * on; once its last reader has run, a later pass's output may take its
 * place (never the output of the pass that reads it last: a pass does not
 * work in place). A flatten's or a shortcut's output is its input's buffer.
 * Best fit over the buffers free at each pass, growing the largest free
 * one when none is big enough. Predicting 64 images: cnn-res's
 * activations 42 MB in 19 buffers -> 16 MB in 4, cnn-bn's 23 MB -> 12. */
static int plan_infer_acts(fm_net *net, const uint8_t *used_act) {
  int n = net->nlayers;
  int16_t root[FM_MAX_LAYERS + 1], slot[FM_MAX_LAYERS + 1];
  int last_read[FM_MAX_LAYERS + 1]; /* by root: the last pass reading it */
  size_t need[FM_MAX_LAYERS + 1];
  for (int j = 0; j <= n; j++) {
    int same = j > 0 && (net->layers[j - 1].kind == FM_FLATTEN || net->layers[j - 1].kind == FM_SKIP);
    root[j] = (int16_t)(same ? root[j - 1] : j);
    fm_shape s = j < n ? net->layers[j].in : net->layers[n - 1].out;
    need[j] = ((size_t)net->max_batch * fm_shape_size(s) * sizeof(float) + 63) & ~(size_t)63;
    last_read[j] = -1;
    slot[j] = -1;
  }
  /* The logits are read after the last pass; the input is kept as written
   * (a few hundred KB), so the same images can be run again. */
  last_read[root[n]] = last_read[root[0]] = n + 1;
  for (int i = 0; i < n;) {
    const fm_layer *bn;
    int relu, pool, used = infer_group(net, i, &bn, &relu, &pool);
    last_read[root[i]] = FM_MAX(last_read[root[i]], i); /* (the input's stays n + 1) */
    if (net->layers[i].kind == FM_ADD) last_read[root[net->layers[i].link]] = FM_MAX(last_read[root[net->layers[i].link]], i);
    i += used;
  }
  size_t size[FM_MAX_LAYERS + 1];
  int free_after[FM_MAX_LAYERS + 1], nbuf = 0;
  /* The input first (the caller writes it before the first pass), then each
   * pass's output, in the order the passes run; acts[i] is written by the
   * pass that starts at prev. */
  for (int i = 0, prev = -1; i <= n;) {
    int r = root[i], used = 1;
    if (i < n) {
      const fm_layer *bn;
      int relu, pool;
      used = infer_group(net, i, &bn, &relu, &pool);
    }
    if (used_act[i] && slot[r] < 0) {
      int best = -1, largest = -1;
      for (int b = 0; b < nbuf; b++) {
        if (free_after[b] >= prev) continue; /* still read by the writing pass or later */
        if (size[b] >= need[r] && (best < 0 || size[b] < size[best])) best = b;
        if (largest < 0 || size[b] > size[largest]) largest = b;
      }
      if (best < 0 && largest >= 0) best = largest, size[best] = need[r];
      if (best < 0) best = nbuf, size[nbuf++] = need[r];
      slot[r] = (int16_t)best;
      free_after[best] = last_read[r];
    }
    if (i == n) break;
    prev = i;
    i += used;
  }
  size_t offset[FM_MAX_LAYERS + 1], total = 0;
  for (int b = 0; b < nbuf; b++) offset[b] = total, total += size[b];
  if (!(net->act_arena = fm_malloc_aligned(total))) return 0;
  for (int j = 0; j <= n; j++)
    if (slot[root[j]] >= 0) net->acts[j] = (float *)((char *)net->act_arena + offset[slot[root[j]]]);
  return 1;
}

int fm_net_reserve(fm_net *net, int B, int mode) {
  if (B > 4096) return fm_fail("batch of %d is too large (limit 4096)", B);
  int full = mode != FM_RESERVE_INFER, train = mode == FM_RESERVE_TRAIN;
  uint8_t used_act[FM_MAX_LAYERS + 1];
  if (full) memset(used_act, 1, sizeof used_act);
  else infer_acts(net, used_act);
  /* A flatten's output needs its input's buffer. */
  for (int i = net->nlayers; i > 0; i--)
    if (aliased(net, i) && used_act[i]) used_act[i - 1] = 1;
  /* Shared inference buffers cannot serve the other passes, which keep
   * every activation: start over with a buffer each. */
  if (full && net->act_arena) free_acts(net);
  if (B > net->max_batch) {
    free_acts(net);
    net->probs = fm_malloc_aligned((size_t)B * FM_NUM_CLASSES * sizeof(float));
    if (!net->probs) goto oom;
    net->max_batch = B;
    if (!full && !plan_infer_acts(net, used_act)) goto oom;
  }
  /* acts[i] is the input of layer i (the logits for i = nlayers). Buffers
   * only ever get added here, so inference after training keeps them. */
  for (int i = 0; i <= net->nlayers; i++) {
    if (!used_act[i] || net->acts[i]) continue;
    if (aliased(net, i)) {
      net->acts[i] = net->acts[i - 1];
      continue;
    }
    fm_shape s = i < net->nlayers ? net->layers[i].in : net->layers[net->nlayers - 1].out;
    net->acts[i] = fm_malloc_aligned((size_t)net->max_batch * fm_shape_size(s) * sizeof(float));
    if (!net->acts[i]) goto oom;
  }
  /* Gradients of activations only for training: inference needs half the
   * memory (a tab evaluating the test set never allocates them). */
  if (train && !net->dacts[0]) {
    for (int i = 0; i <= net->nlayers; i++) {
      if (aliased(net, i)) {
        net->dacts[i] = net->dacts[i - 1];
        continue;
      }
      fm_shape s = i < net->nlayers ? net->layers[i].in : net->layers[net->nlayers - 1].out;
      net->dacts[i] = fm_malloc_aligned((size_t)net->max_batch * fm_shape_size(s) * sizeof(float));
      if (!net->dacts[i]) goto oom;
    }
  }
  /* Layers also re-size when the thread count grew (per-thread scratch). */
  for (int i = 0; i < net->nlayers; i++)
    if (!fm_layer_reserve(&net->layers[i], net->max_batch, full)) goto oom;
  return 1;
oom:
  free_acts(net);
  return fm_fail_prefix("allocating activations");
}

/* y = x + z over n floats: a residual connection's add (forward), and the
 * two gradients meeting at its skip (backward). */
static void add_arrays(const float *x, const float *z, float *y, long n) {
  for (long j = 0; j < n; j++) y[j] = x[j] + z[j];
}

/* Layer i's forward pass; an add takes its shortcut from its skip's input. */
static void forward_layer(fm_net *net, int i, int B, int train) {
  fm_layer *L = &net->layers[i];
  if (L->kind == FM_ADD)
    add_arrays(net->acts[i], net->acts[L->link], net->acts[i + 1], (long)B * fm_shape_size(L->in));
  else
    fm_layer_forward(L, net->acts[i], net->acts[i + 1], B, train, &net->dropout_rng);
}

/* Whether layer i + 1 is a ReLU that layer i applies itself (the ReLU's
 * input, acts[i + 1], is then never written: the ReLU's backward pass reads
 * only its output, and nothing else reads that buffer). */
static int relu_folded_forward(const fm_net *net, int i) {
  return i + 1 < net->nlayers && net->layers[i + 1].kind == FM_RELU && fm_layer_relu_after(&net->layers[i]);
}

float *fm_net_forward(fm_net *net, int B, int train) {
  for (int i = 0; i < net->nlayers; i++) {
    if (relu_folded_forward(net, i)) {
      fm_layer_forward_relu(&net->layers[i], net->acts[i], net->acts[i + 2], B, train);
      i++;
    } else {
      forward_layer(net, i, B, train);
    }
  }
  return net->acts[net->nlayers];
}

void fm_net_set_exact(fm_net *net, int exact) { net->exact = exact != 0; }

float *fm_net_infer(fm_net *net, int B) {
  for (int i = 0; i < net->nlayers;) {
    const fm_layer *bn;
    int relu, pool, used = infer_group(net, i, &bn, &relu, &pool);
    if (net->layers[i].kind == FM_CONV)
      fm_conv_infer(&net->layers[i], bn, relu, pool, net->acts[i], net->acts[i + used], B, !net->exact);
    else if (net->layers[i].kind == FM_DENSE)
      fm_dense_infer(&net->layers[i], net->acts[i], net->acts[i + used], B, !net->exact);
    else forward_layer(net, i, B, 0);
    i += used;
  }
  return net->acts[net->nlayers];
}

void fm_net_backward(fm_net *net, int B) {
  for (int i = net->nlayers - 1; i >= 0; i--) {
    fm_layer *L = &net->layers[i];
    long n = (long)B * fm_shape_size(L->in);
    if (L->kind == FM_ADD) {
      if (i > 0) memcpy(net->dacts[i], net->dacts[i + 1], (size_t)n * sizeof(float));
    } else if (L->kind == FM_SKIP) {
      /* The block's gradient plus the shortcut's: the add's output gradient,
       * which no layer has overwritten since (each writes only its own dx). */
      if (i > 0) add_arrays(net->dacts[i + 1], net->dacts[L->link + 1], net->dacts[i], n);
    } else if (i > 0 && net->layers[i - 1].kind == FM_RELU && fm_layer_gates_relu(L)) {
      /* The ReLU before this layer folded into its input gradient, written
       * straight to the ReLU's input gradient (the ReLU's output gradient,
       * dacts[i], is then never written; only the ReLU read it). */
      fm_layer_backward_gated(L, net->acts[i], net->acts[i + 1], net->dacts[i + 1],
                              i > 1 ? net->dacts[i - 1] : NULL, B);
      i--;
    } else {
      fm_layer_backward(L, net->acts[i], net->acts[i + 1], net->dacts[i + 1],
                        i > 0 ? net->dacts[i] : NULL, B);
    }
  }
}

const char *fm_net_spec(const fm_net *net) { return net->spec; }
long fm_net_param_count(const fm_net *net) { return net->nparams; }
int fm_net_input_size(const fm_net *net) { return fm_shape_size(net->input); }
int fm_net_output_size(const fm_net *net) {
  return fm_shape_size(net->layers[net->nlayers - 1].out);
}
float *fm_net_params(fm_net *net) {
  net->wgen++; /* the caller may write through the view */
  return net->params;
}

int fm_net_blend(fm_net *net, const fm_net *other, float weight) {
  if (!net || !other) return fm_fail("blend needs two networks");
  if (strcmp(net->spec, other->spec) || fm_shape_size(net->input) != fm_shape_size(other->input))
    return fm_fail("cannot blend networks of different architectures (%.60s vs %.60s)", net->spec, other->spec);
  if (!(weight >= 0 && weight <= 1)) return fm_fail("blend weight must be in [0, 1]");
  for (long i = 0; i < net->nparams; i++) net->params[i] += weight * (other->params[i] - net->params[i]);
  for (long i = 0; i < net->nbuffers; i++) net->buffers[i] += weight * (other->buffers[i] - net->buffers[i]);
  net->wgen++;
  net->f16 = 0;
  return 1;
}

double fm_net_macs(const fm_net *net) {
  double m = 0;
  for (int i = 0; i < net->nlayers; i++) m += fm_layer_macs(&net->layers[i]);
  return m;
}

/* "0", "1", "0.35", "1.0": a number in [0, 1] written plainly (by hand:
 * strtod would pull in libc's float parser). */
static int parse_unit(const char *s, float *out) {
  if (*s != '0' && *s != '1') return 0;
  double v = *s++ - '0', scale = 1;
  if (*s == '.') {
    if (!s[1]) return 0;
    for (s++; *s >= '0' && *s <= '9'; s++) v += (*s - '0') * (scale /= 10);
  }
  if (*s || v > 1) return 0;
  *out = (float)v;
  return 1;
}

/* The metadata numbers predict and the verdict read: their keys and where
 * the parsed value goes. */
static const struct {
  const char *key;
  size_t offset;
} k_unit_meta[] = {
    {"unsure_below", offsetof(fm_net, unsure_below)},
    {"scope_min", offsetof(fm_net, scope_min)},
    {"views_below", offsetof(fm_net, views_below)},
    {"photo_views_below", offsetof(fm_net, photo_views_below)},
};

int fm_net_meta_checked(const char *key) {
  for (size_t i = 0; i < sizeof k_unit_meta / sizeof k_unit_meta[0]; i++)
    if (!strcmp(key, k_unit_meta[i].key)) return 1;
  return !strcmp(key, "tta") || !strcmp(key, "photo_views");
}

int fm_net_set_meta(fm_net *net, const char *key, const char *value) {
  if (!key || !*key || !value) return fm_fail("metadata key and value must be non-empty strings");
  if (strlen(key) > 256 || strlen(value) > 65536) return fm_fail("metadata entry too long");
  for (size_t i = 0; i < sizeof k_unit_meta / sizeof k_unit_meta[0]; i++) {
    if (strcmp(key, k_unit_meta[i].key)) continue;
    float v;
    if (!parse_unit(value, &v))
      return fm_fail("metadata %s must be a number from 0 to 1, not \"%.40s\"", key, value);
    *(float *)((char *)net + k_unit_meta[i].offset) = v;
  }
  if (!strcmp(key, "photo_views")) {
    int n = 0;
    const char *d = value;
    for (; *d >= '0' && *d <= '9' && n <= FM_PHOTO_MAX_JITTERS; d++) n = 10 * n + (*d - '0');
    if (d == value || *d || n > FM_PHOTO_MAX_JITTERS)
      return fm_fail("metadata photo_views must be a whole number from 0 to %d, not \"%.40s\"",
                     FM_PHOTO_MAX_JITTERS, value);
    net->photo_views = n;
  }
  if (!strcmp(key, "tta")) {
    if (strcmp(value, "none") && strcmp(value, "shift") && strcmp(value, "mirror"))
      return fm_fail("metadata tta must be \"none\", \"shift\" or \"mirror\", not \"%.40s\"", value);
    net->tta = !strcmp(value, "shift") ? FM_TTA_SHIFT : !strcmp(value, "mirror") ? FM_TTA_MIRROR : FM_TTA_NONE;
  }
  for (int i = 0; i < net->nmeta; i++)
    if (!strcmp(net->meta_key[i], key)) {
      char *v = fm_malloc(strlen(value) + 1);
      if (!v) return 0;
      strcpy(v, value);
      free(net->meta_val[i]);
      net->meta_val[i] = v;
      return 1;
    }
  if (net->nmeta >= FM_MAX_META) return fm_fail("too many metadata entries (limit %d)", FM_MAX_META);
  char *k = fm_malloc(strlen(key) + 1), *v = fm_malloc(strlen(value) + 1);
  if (!k || !v) {
    free(k);
    free(v);
    return 0;
  }
  strcpy(k, key);
  strcpy(v, value);
  net->meta_key[net->nmeta] = k;
  net->meta_val[net->nmeta] = v;
  net->nmeta++;
  return 1;
}

const char *fm_net_get_meta(const fm_net *net, const char *key) {
  for (int i = 0; i < net->nmeta; i++)
    if (!strcmp(net->meta_key[i], key)) return net->meta_val[i];
  return NULL;
}

/* spec.c: the architecture string, one token per nn.Sequential module:
 *   convKxK:C   nn.Conv2d(cin, C, K, padding=K//2)   (K odd, 1..11)
 *   dense:N     nn.Linear(in, N)        (input must be flat: use flatten)
 *   relu        nn.ReLU()
 *   maxpool2    nn.MaxPool2d(2)
 *   bn          nn.BatchNorm2d(c) after a spatial layer, BatchNorm1d if flat
 *   dropout:P   nn.Dropout(P), 0 <= P < 1
 *   gap         nn.AdaptiveAvgPool2d(1)  (follow with flatten)
 *   flatten     nn.Flatten()
 *   skip        start of a residual connection: passes its input on
 *   add         adds the input of the latest open skip (same shape) to
 *               its own input: skip,conv3x3:C,bn,relu,conv3x3:C,bn,add,relu
 *               is a ResNet basic block. Pairs nest like brackets.
 *               PyTorch: parameterless modules that scripts/pytorch_load.py
 *               gives a Sequential whose forward keeps the shortcut.
 * Named architectures expand to token lists. Being strict here is what
 * makes a saved file load into the equivalent PyTorch nn.Sequential. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "net.h"

static const struct {
  const char *name, *spec;
} k_named[] = {
    {"mlp", "flatten,dense:256,relu,dense:128,relu,dense:10"},
    {"cnn-small",
     "conv3x3:16,relu,conv3x3:32,relu,maxpool2,conv3x3:64,relu,maxpool2,flatten,dense:128,relu,"
     "dense:10"},
    /* The accuracy model: VGG-style conv-BN-ReLU blocks, 214K parameters
     * (under 1 MB of float32 weights), 22 M multiply-adds per image. */
    {"cnn-bn",
     "conv3x3:32,bn,relu,conv3x3:32,bn,relu,maxpool2,conv3x3:64,bn,relu,conv3x3:64,bn,relu,"
     "maxpool2,conv3x3:128,bn,relu,maxpool2,flatten,dropout:0.25,dense:64,bn,relu,dense:10"},
    /* cnn-bn's stem, then a residual block (two 3x3 convolutions around an
     * identity shortcut, ResNet's basic block) at 14x14 and at 7x7, and
     * global average pooling: 474K parameters (0.95 MB as float16), 43.6 M
     * multiply-adds per image. Width goes where it is cheap: at 7x7 a
     * parameter costs 49 multiply-adds, at 28x28 784. */
    {"cnn-res",
     "conv3x3:32,bn,relu,conv3x3:32,bn,relu,maxpool2,conv3x3:64,bn,relu,skip,conv3x3:64,bn,relu,"
     "conv3x3:64,bn,add,relu,maxpool2,conv3x3:128,bn,relu,skip,conv3x3:128,bn,relu,conv3x3:128,bn,"
     "add,relu,gap,flatten,dense:10"},
};

const char *fm_spec_named(const char *name) {
  for (size_t i = 0; i < sizeof k_named / sizeof k_named[0]; i++)
    if (!strcmp(name, k_named[i].name)) return k_named[i].spec;
  return NULL;
}

/* Parses a decimal integer in [lo, hi] spanning all of s. */
static int parse_int(const char *s, int lo, int hi, int *out) {
  if (!*s || strlen(s) > 9) return 0;
  long v = 0;
  for (const char *p = s; *p; p++) {
    if (!isdigit((unsigned char)*p)) return 0;
    v = v * 10 + (*p - '0');
  }
  if (v < lo || v > hi) return 0;
  *out = (int)v;
  return 1;
}

/* A probability written as a plain decimal, "0.25" or ".25" (at most 15
 * digits). Parsed here rather than with strtod, which would pull 15 KB of
 * libc float scanning into the wasm module; digits / 10^n is one correctly
 * rounded division, the same double strtod gives. */
static int parse_prob(const char *s, float *out) {
  double mant = 0, scale = 1;
  int digits = 0, dot = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '.' && !dot) {
      dot = 1;
    } else if (*p >= '0' && *p <= '9' && digits < 15) {
      mant = mant * 10 + (*p - '0'), digits++;
      if (dot) scale *= 10;
    } else {
      return 0;
    }
  }
  double v = mant / scale;
  if (!digits || !(v < 1)) return 0;
  *out = (float)v;
  return 1;
}

static int token_fail(int index, const char *tok, const char *why) {
  return fm_fail("architecture token %d '%.40s': %s", index + 1, tok, why);
}

int fm_spec_parse(const char *spec, fm_shape input, fm_layer **layers_out, int *nlayers_out,
                  char **expanded) {
  if (!spec || !*spec) return fm_fail("architecture spec is empty");
  if (strlen(spec) > FM_MAX_SPEC_LEN)
    return fm_fail("architecture spec is too long (%zu characters, limit %d)", strlen(spec),
                   FM_MAX_SPEC_LEN);
  const char *named = fm_spec_named(spec);
  const char *src = named ? named : spec;

  /* Count tokens first so a million-layer spec is refused before any work. */
  int ntok = 1;
  for (const char *p = src; *p; p++) ntok += *p == ',';
  if (ntok > FM_MAX_LAYERS)
    return fm_fail("architecture has %d modules, limit %d", ntok, FM_MAX_LAYERS);

  char *copy = fm_malloc(strlen(src) + 1);
  char *canon = fm_malloc(strlen(src) + 1);
  fm_layer *layers = fm_calloc((size_t)ntok, sizeof(fm_layer));
  /* Open skips, innermost last (at most one per token). */
  int *skips = fm_malloc((size_t)ntok * sizeof(int)), nopen = 0;
  if (!copy || !canon || !layers || !skips) goto fail;
  strcpy(copy, src);
  canon[0] = 0;

  fm_shape s = input;
  long params = 0, acts = fm_shape_size(s);
  int n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++) {
    /* Trim spaces around each token. */
    while (isspace((unsigned char)*tok)) tok++;
    char *end = tok + strlen(tok);
    while (end > tok && isspace((unsigned char)end[-1])) *--end = 0;
    fm_layer *L = &layers[n];
    L->in = s;
    int v, k2;
    if (!*tok) {
      token_fail(n, tok, "empty module (two commas in a row?)");
      goto fail;
    } else if (!strncmp(tok, "conv", 4)) {
      char *x = strchr(tok + 4, 'x'), *colon = strchr(tok, ':');
      if (!x || !colon || colon < x) {
        token_fail(n, tok, "expected convKxK:CHANNELS, e.g. conv3x3:32");
        goto fail;
      }
      *x = 0;
      *colon = 0;
      if (!parse_int(tok + 4, 1, 11, &L->k) || !parse_int(x + 1, 1, 11, &k2) || k2 != L->k ||
          !(L->k & 1)) {
        *x = 'x';
        *colon = ':';
        token_fail(n, tok, "kernel must be square and odd, 1..11 (same padding)");
        goto fail;
      }
      if (!parse_int(colon + 1, 1, 4096, &v)) {
        *x = 'x';
        *colon = ':';
        token_fail(n, tok, "channels must be an integer 1..4096");
        goto fail;
      }
      *x = 'x';
      *colon = ':';
      if (s.flat) {
        token_fail(n, tok, "a convolution needs a spatial input, but the input here is flat");
        goto fail;
      }
      if ((double)v * s.c * L->k * L->k > FM_MAX_PARAMS) {
        token_fail(n, tok, "network too large for a browser tab (parameter limit)");
        goto fail;
      }
      L->kind = FM_CONV;
      L->nw = v * s.c * L->k * L->k;
      L->nb = v;
      s.c = v;
    } else if (!strncmp(tok, "dense:", 6)) {
      if (!parse_int(tok + 6, 1, 65536, &v)) {
        token_fail(n, tok, "units must be an integer 1..65536");
        goto fail;
      }
      if (!s.flat) {
        token_fail(n, tok, "dense needs a flat input: add 'flatten' before it");
        goto fail;
      }
      if ((double)v * s.c > FM_MAX_PARAMS) {
        token_fail(n, tok, "network too large for a browser tab (parameter limit)");
        goto fail;
      }
      L->kind = FM_DENSE;
      L->nw = v * s.c;
      L->nb = v;
      s.c = v;
    } else if (!strcmp(tok, "relu")) {
      L->kind = FM_RELU;
    } else if (!strcmp(tok, "maxpool2")) {
      if (s.flat || s.h < 2 || s.w < 2) {
        token_fail(n, tok, "max-pooling needs a spatial input of at least 2x2");
        goto fail;
      }
      L->kind = FM_MAXPOOL;
      s.h /= 2;
      s.w /= 2;
    } else if (!strcmp(tok, "bn")) {
      L->kind = FM_BATCHNORM;
      L->nw = L->nb = s.c;
    } else if (!strncmp(tok, "dropout:", 8)) {
      if (!parse_prob(tok + 8, &L->p)) {
        token_fail(n, tok, "probability must be a number in [0, 1)");
        goto fail;
      }
      L->kind = FM_DROPOUT;
    } else if (!strcmp(tok, "gap")) {
      if (s.flat) {
        token_fail(n, tok, "global average pooling needs a spatial input");
        goto fail;
      }
      L->kind = FM_GAP;
      s.h = s.w = 1;
    } else if (!strcmp(tok, "flatten")) {
      L->kind = FM_FLATTEN;
      s.c = fm_shape_size(s);
      s.h = s.w = 1;
      s.flat = 1;
    } else if (!strcmp(tok, "skip")) {
      L->kind = FM_SKIP;
      skips[nopen++] = n;
    } else if (!strcmp(tok, "add")) {
      if (!nopen) {
        token_fail(n, tok, "add has no skip before it to take its shortcut from");
        goto fail;
      }
      fm_layer *S = &layers[skips[--nopen]];
      if (S->in.c != s.c || S->in.h != s.h || S->in.w != s.w || S->in.flat != s.flat) {
        fm_fail("architecture token %d 'add': the shortcut from token %d is %dx%dx%d but the "
                "input here is %dx%dx%d (a residual block must keep its shape)",
                n + 1, skips[nopen] + 1, S->in.c, S->in.h, S->in.w, s.c, s.h, s.w);
        goto fail;
      }
      L->kind = FM_ADD;
      L->link = skips[nopen];
      S->link = n;
    } else {
      token_fail(n, tok,
                 "unknown module (expected convKxK:C, dense:N, relu, maxpool2, bn, dropout:P, gap, "
                 "flatten, skip, add, or a name: mlp, cnn-small, cnn-bn, cnn-res)");
      goto fail;
    }
    L->out = s;
    params += (long)L->nw + L->nb;
    acts += fm_shape_size(s);
    if (params > FM_MAX_PARAMS || acts > FM_MAX_ACTIVATIONS) {
      token_fail(n, tok, "network too large for a browser tab (parameter or activation limit)");
      goto fail;
    }
    if (*canon) strcat(canon, ",");
    strcat(canon, tok);
  }
  if (n != ntok) { /* strtok skips empty tokens: catch "a,,b" and trailing commas. */
    fm_fail("architecture spec has an empty module (two commas in a row, or a trailing comma)");
    goto fail;
  }
  if (nopen) {
    fm_fail("architecture token %d 'skip' has no add after it to close the residual connection",
            skips[nopen - 1] + 1);
    goto fail;
  }
  if (!s.flat || s.c != FM_NUM_CLASSES) {
    fm_fail("architecture must end in a flat output of %d classes (e.g. 'flatten,dense:10'); it "
            "ends in %dx%dx%d",
            FM_NUM_CLASSES, s.c, s.h, s.w);
    goto fail;
  }
  free(copy);
  free(skips);
  *layers_out = layers;
  *nlayers_out = n;
  *expanded = canon;
  return 1;
fail:
  free(copy);
  free(skips);
  free(canon);
  free(layers);
  return 0;
}

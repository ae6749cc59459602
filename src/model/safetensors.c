/* safetensors.c: model files in the safetensors format
 *   [u64 little-endian header length N][N bytes of JSON header][tensor data]
 * Header: {"__metadata__": {string: string}, "NAME": {"dtype": "F32",
 * "shape": [..], "data_offsets": [begin, end]}, ...}, offsets relative to
 * the data section. Names and layouts follow PyTorch's nn.Sequential
 * state_dict for the same modules ("0.weight", "3.running_mean", ...), so
 * `model.load_state_dict(safetensors.torch.load_file(path))` just works
 * (batchnorm's num_batches_tracked is stored as an I64 scalar for that).
 * Float tensors are F32, or F16 (half the size; load_state_dict converts
 * them to the model's float32): a file may mix the two. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "../net/net.h"
#include "float16.h"
#include "json.h"

#define MAX_HEADER (4u * 1024 * 1024)
#define MAX_TOKENS 65536

/* ---- the tensors a network has, in state_dict order --------------------- */

typedef struct {
  char name[32];
  int is_i64;
  int ndim, shape[4];
  float *data;      /* F32 tensors */
  int64_t *data64;  /* the I64 scalar */
  size_t bytes;
} tensor_desc;

static int list_tensors(const fm_net *net, tensor_desc *t, int max) {
  int n = 0;
  for (int i = 0; i < net->nlayers; i++) {
    fm_layer *L = &net->layers[i];
    if (!L->nw) continue;
    if (n + 5 > max) return -1;
    tensor_desc *w = &t[n++], *b = &t[n++];
    memset(w, 0, sizeof *w);
    memset(b, 0, sizeof *b);
    snprintf(w->name, sizeof w->name, "%d.weight", i);
    snprintf(b->name, sizeof b->name, "%d.bias", i);
    w->data = L->w;
    b->data = L->b;
    b->ndim = 1;
    b->shape[0] = L->nb;
    if (L->kind == FM_CONV) {
      w->ndim = 4;
      w->shape[0] = L->out.c, w->shape[1] = L->in.c, w->shape[2] = L->k, w->shape[3] = L->k;
    } else if (L->kind == FM_DENSE) {
      w->ndim = 2;
      w->shape[0] = L->out.c, w->shape[1] = fm_shape_size(L->in);
    } else { /* batchnorm */
      w->ndim = 1;
      w->shape[0] = L->nw;
      const char *names[2] = {"running_mean", "running_var"};
      float *bufs[2] = {L->running_mean, L->running_var};
      for (int k = 0; k < 2; k++) {
        tensor_desc *r = &t[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%d.%s", i, names[k]);
        r->data = bufs[k];
        r->ndim = 1;
        r->shape[0] = L->in.c;
      }
      tensor_desc *nb = &t[n++];
      memset(nb, 0, sizeof *nb);
      snprintf(nb->name, sizeof nb->name, "%d.num_batches_tracked", i);
      nb->is_i64 = 1;
      nb->ndim = 0;
      nb->data64 = &L->batches_tracked;
    }
  }
  for (int i = 0; i < n; i++) {
    size_t numel = 1;
    for (int d = 0; d < t[i].ndim; d++) numel *= (size_t)t[i].shape[d];
    t[i].bytes = numel * (t[i].is_i64 ? 8 : 4);
  }
  return n;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_json_string(sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = (char)c;
      sb_put(b, esc, 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      sb_put(b, esc, 6);
    } else {
      sb_put(b, (const char *)&c, 1);
    }
  }
  sb_put(b, "\"", 1);
}

int fm_net_save(const fm_net *net, uint8_t **out, size_t *out_len) {
  return fm_net_save_as(net, net->f16 ? "F16" : "F32", out, out_len);
}

int fm_net_save_as(const fm_net *net, const char *dtype, uint8_t **out, size_t *out_len) {
  int f16 = dtype && !strcmp(dtype, "F16");
  if (!dtype || (!f16 && strcmp(dtype, "F32")))
    return fm_fail("model dtype must be \"F32\" or \"F16\", not \"%.20s\"", dtype ? dtype : "(null)");
  tensor_desc t[FM_MAX_LAYERS * 5];
  int n = list_tensors(net, t, FM_MAX_LAYERS * 5);
  for (int i = 0; f16 && i < n; i++) {
    if (t[i].is_i64) continue;
    t[i].bytes /= 2;
    for (size_t q = 0; q < t[i].bytes / 2; q++)
      if (!(fabsf(t[i].data[q]) < 65520.0f)) /* rounds to infinity as float16 */
        return fm_fail("tensor %s does not fit float16 (%g at element %zu): save it as F32", t[i].name,
                       t[i].data[q], q);
  }
  sbuf h = {0};
  char num[160];
  sb_str(&h, "{\"__metadata__\":{\"format\":\"pt\",\"arch\":");
  sb_json_string(&h, net->spec);
  snprintf(num, sizeof num, ",\"input\":\"%dx%dx%d\",\"normalization\":\"x/255\",\"classes\":",
           net->input.c, net->input.h, net->input.w);
  sb_str(&h, num);
  sbuf classes = {0};
  for (int c = 0; c < FM_NUM_CLASSES; c++) {
    if (c) sb_str(&classes, ",");
    sb_str(&classes, fm_class_name(c));
  }
  sb_json_string(&h, classes.p ? classes.p : "");
  free(classes.p);
  static const char *reserved[] = {"format", "arch", "input", "normalization", "classes"};
  for (int i = 0; i < net->nmeta; i++) {
    int skip = 0;
    for (size_t r = 0; r < 5; r++) skip |= !strcmp(net->meta_key[i], reserved[r]);
    if (skip) continue;
    sb_str(&h, ",");
    sb_json_string(&h, net->meta_key[i]);
    sb_str(&h, ":");
    sb_json_string(&h, net->meta_val[i]);
  }
  sb_str(&h, "}");
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    sb_str(&h, ",");
    sb_json_string(&h, t[i].name);
    sb_str(&h, t[i].is_i64 ? ":{\"dtype\":\"I64\",\"shape\":["
                           : f16 ? ":{\"dtype\":\"F16\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < t[i].ndim; d++) {
      snprintf(num, sizeof num, d ? ",%d" : "%d", t[i].shape[d]);
      sb_str(&h, num);
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + t[i].bytes);
    sb_str(&h, num);
    off += t[i].bytes;
  }
  sb_str(&h, "}");
  while (!h.oom && h.len % 8) sb_str(&h, " "); /* align the data, as safetensors does */
  if (h.oom) {
    free(h.p);
    return fm_fail("out of memory writing the model header");
  }
  size_t total = 8 + h.len + off;
  uint8_t *buf = fm_malloc(total);
  if (!buf) {
    free(h.p);
    return 0;
  }
  for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
  memcpy(buf + 8, h.p, h.len);
  free(h.p);
  uint8_t *d = buf + 8 + h.len;
  for (int i = 0; i < n; i++) {
    if (f16 && !t[i].is_i64) {
      for (size_t q = 0; q < t[i].bytes / 2; q++) {
        uint16_t v = fm_f32_to_f16(t[i].data[q]);
        d[2 * q] = (uint8_t)v, d[2 * q + 1] = (uint8_t)(v >> 8); /* little-endian */
      }
    } else {
      memcpy(d, t[i].is_i64 ? (const void *)t[i].data64 : (const void *)t[i].data, t[i].bytes);
    }
    d += t[i].bytes;
  }
  *out = buf;
  *out_len = total;
  return 1;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
  int name_tok;
  int is_i64, is_f16;
  int ndim;
  uint64_t shape[8];
  uint64_t begin, end;
  int used;
} entry;

/* "CxHxW", each 1..99999 (by hand: sscanf would add 15 KB of libc). */
static int parse_shape(const char *s, int *c, int *h, int *w) {
  int dims[3] = {0, 0, 0};
  for (int d = 0; d < 3; d++) {
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++)
      if (++digits > 5) return 0;
      else dims[d] = dims[d] * 10 + (*s - '0');
    if (!digits || *s != (d < 2 ? 'x' : '\0')) return 0;
    s++;
  }
  *c = dims[0], *h = dims[1], *w = dims[2];
  return 1;
}

static fm_net *load_fail(fm_net *net, void *a, void *b) {
  fm_net_free(net);
  free(a);
  free(b);
  return NULL;
}

fm_net *fm_net_load(const uint8_t *bytes, size_t len) {
  if (!bytes || len < 8) {
    fm_fail("model file is %zu bytes: too short for safetensors", bytes ? len : 0);
    return NULL;
  }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | bytes[i];
  if (hlen < 2 || hlen > MAX_HEADER) {
    fm_fail("not a safetensors model: header length %llu is %s", (unsigned long long)hlen,
            hlen < 2 ? "too small" : "over the 4 MB limit");
    return NULL;
  }
  if (hlen > len - 8) {
    fm_fail("model file is truncated: its header needs %llu bytes, the file has %zu",
            (unsigned long long)hlen, len - 8);
    return NULL;
  }
  const char *js = (const char *)bytes + 8;
  const uint8_t *data = bytes + 8 + hlen;
  size_t data_len = len - 8 - hlen;

  fm_json j;
  int parsed = fm_json_parse(&j, js, (size_t)hlen, MAX_TOKENS);
  if (parsed <= 0) {
    if (parsed == FM_JSON_TOO_MANY) fm_fail("model header is not valid JSON (too many tokens)");
    else if (parsed == FM_JSON_NOT_OBJECT) fm_fail("model header is not a valid JSON object");
    else if (parsed == FM_JSON_INVALID) fm_fail("model header is not valid JSON");
    return NULL;
  }
  jsmntok_t *tok = j.tok;
  int ntok = j.ntok;
  entry *ents = fm_calloc((size_t)ntok, sizeof *ents);
  if (!ents) return load_fail(NULL, tok, ents);
  for (size_t i = (size_t)tok[0].end; i < hlen; i++)
    if (js[i] != ' ' && js[i] != '\n' && js[i] != '\t' && js[i] != '\r' && js[i] != 0) {
      fm_fail("model header has data after its JSON object");
      return load_fail(NULL, tok, ents);
    }

  /* Metadata and tensor entries. */
  char arch[FM_MAX_SPEC_LEN + 1] = "", input[64] = "1x28x28", norm[64] = "x/255";
  char mkey[257], mval[8192]; /* a chain of training commands runs past 1 KB */
  int nmeta = 0, meta_keys[FM_MAX_META], meta_vals[FM_MAX_META];
  int nent = 0;
  int i = 1;
  while (i < ntok) {
    if (tok[i].type != JSMN_STRING || i + 1 >= ntok) {
      fm_fail("model header: expected a tensor name");
      return load_fail(NULL, tok, ents);
    }
    int key = i++, val = i;
    if (fm_json_eq(&j, key, "__metadata__")) {
      if (tok[val].type != JSMN_OBJECT) {
        fm_fail("model header: __metadata__ must be an object of strings");
        return load_fail(NULL, tok, ents);
      }
      for (int m = val + 1; fm_json_inside(&j, m, val); m = fm_json_skip(&j, m + 1)) {
        if (tok[m].type != JSMN_STRING || !fm_json_inside(&j, m + 1, val) || tok[m + 1].type != JSMN_STRING) {
          fm_fail("model header: __metadata__ values must be strings");
          return load_fail(NULL, tok, ents);
        }
        if (fm_json_eq(&j, m, "arch")) {
          if (!fm_json_string(&j, m + 1, arch, sizeof arch)) {
            fm_fail("model header: bad arch string");
            return load_fail(NULL, tok, ents);
          }
        } else if (fm_json_eq(&j, m, "input")) {
          if (!fm_json_string(&j, m + 1, input, sizeof input)) input[0] = 0;
        } else if (fm_json_eq(&j, m, "normalization")) {
          if (!fm_json_string(&j, m + 1, norm, sizeof norm)) norm[0] = 0;
        } else if (nmeta < FM_MAX_META) {
          meta_keys[nmeta] = m;
          meta_vals[nmeta++] = m + 1;
        }
      }
      i = fm_json_skip(&j, val);
      continue;
    }
    entry *e = &ents[nent++];
    e->name_tok = key;
    if (tok[val].type != JSMN_OBJECT) {
      fm_fail("model header: tensor %.*s is not an object", tok[key].end - tok[key].start,
              js + tok[key].start);
      return load_fail(NULL, tok, ents);
    }
    int have = 0;
    for (int f = val + 1; fm_json_inside(&j, f, val); f = fm_json_skip(&j, f + 1)) {
      int v = f + 1;
      if (!fm_json_inside(&j, v, val)) break;
      if (fm_json_eq(&j, f, "dtype")) {
        if (fm_json_eq(&j, v, "F32")) e->is_i64 = 0;
        else if (fm_json_eq(&j, v, "F16")) e->is_f16 = 1;
        else if (fm_json_eq(&j, v, "I64")) e->is_i64 = 1;
        else {
          fm_fail("tensor %.*s has dtype %.*s; only F32 and F16 are supported", tok[key].end - tok[key].start,
                  js + tok[key].start, tok[v].end - tok[v].start, js + tok[v].start);
          return load_fail(NULL, tok, ents);
        }
        have |= 1;
      } else if (fm_json_eq(&j, f, "shape") && tok[v].type == JSMN_ARRAY) {
        int ok = 1;
        e->ndim = 0;
        for (int d = v + 1; fm_json_inside(&j, d, v); d = fm_json_skip(&j, d))
          if (e->ndim >= 8 || !fm_json_u64(&j, d, &e->shape[e->ndim++])) ok = 0;
        if (ok) have |= 2;
      } else if (fm_json_eq(&j, f, "data_offsets") && tok[v].type == JSMN_ARRAY) {
        int d = v + 1;
        if (fm_json_inside(&j, d, v) && fm_json_inside(&j, d + 1, v) && !fm_json_inside(&j, d + 2, v) &&
            fm_json_u64(&j, d, &e->begin) && fm_json_u64(&j, d + 1, &e->end))
          have |= 4;
      }
    }
    i = fm_json_skip(&j, val);
    if (have != 7) {
      fm_fail("model header: tensor %.*s needs dtype, shape and data_offsets",
              tok[key].end - tok[key].start, js + tok[key].start);
      return load_fail(NULL, tok, ents);
    }
    if (e->begin > e->end || e->end > data_len) {
      fm_fail("tensor %.*s: data offsets [%llu, %llu] are outside the %zu data bytes (truncated "
              "file?)",
              tok[key].end - tok[key].start, js + tok[key].start, (unsigned long long)e->begin,
              (unsigned long long)e->end, data_len);
      return load_fail(NULL, tok, ents);
    }
  }
  if (!arch[0]) {
    fm_fail("model file has no architecture (__metadata__.arch)");
    return load_fail(NULL, tok, ents);
  }
  if (strcmp(norm, "x/255")) {
    fm_fail("model expects input normalization '%s'; only x/255 is supported", norm);
    return load_fail(NULL, tok, ents);
  }
  int c, h, w;
  if (!parse_shape(input, &c, &h, &w)) {
    fm_fail("model metadata: bad input shape '%s'", input);
    return load_fail(NULL, tok, ents);
  }
  fm_net *net = fm_net_build(arch, c, h, w);
  if (!net) {
    fm_fail_prefix("model architecture");
    return load_fail(NULL, tok, ents);
  }

  tensor_desc want[FM_MAX_LAYERS * 5];
  int nwant = list_tensors(net, want, FM_MAX_LAYERS * 5);
  uint64_t covered = 0;
  for (int t = 0; t < nwant; t++) {
    entry *e = NULL;
    for (int q = 0; q < nent && !e; q++)
      if (fm_json_eq(&j, ents[q].name_tok, want[t].name)) e = &ents[q];
    if (!e) {
      fm_fail("model file is missing tensor %s (architecture %s)", want[t].name, net->spec);
      return load_fail(net, tok, ents);
    }
    e->used = 1;
    int shape_ok = e->ndim == want[t].ndim && e->is_i64 == want[t].is_i64;
    for (int d = 0; shape_ok && d < e->ndim; d++) shape_ok = e->shape[d] == (uint64_t)want[t].shape[d];
    if (!shape_ok) {
      char got[96] = "", exp[96] = "";
      for (int d = 0; d < e->ndim && d < 8; d++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", d ? "," : "",
                 (unsigned long long)e->shape[d]);
      for (int d = 0; d < want[t].ndim; d++)
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s%d", d ? "," : "", want[t].shape[d]);
      fm_fail("tensor %s has %s shape [%s], expected %s [%s]", want[t].name,
              e->is_i64 ? "I64" : e->is_f16 ? "F16" : "F32", got, want[t].is_i64 ? "I64" : "F32", exp);
      return load_fail(net, tok, ents);
    }
    size_t bytes = e->is_f16 ? want[t].bytes / 2 : want[t].bytes;
    if (e->end - e->begin != bytes) {
      fm_fail("tensor %s: data offsets span %llu bytes, its shape needs %zu", want[t].name,
              (unsigned long long)(e->end - e->begin), bytes);
      return load_fail(net, tok, ents);
    }
    covered += bytes;
    if (want[t].is_i64) {
      memcpy(want[t].data64, data + e->begin, 8);
    } else {
      net->f16 |= e->is_f16;
      if (e->is_f16)
        for (size_t q = 0; q < bytes / 2; q++)
          want[t].data[q] = fm_f16_to_f32((uint16_t)(data[e->begin + 2 * q] | data[e->begin + 2 * q + 1] << 8));
      else
        memcpy(want[t].data, data + e->begin, want[t].bytes);
      size_t numel = want[t].bytes / 4;
      for (size_t q = 0; q < numel; q++)
        if (!isfinite(want[t].data[q])) {
          fm_fail("tensor %s holds a non-finite value (%g at element %zu)", want[t].name,
                  want[t].data[q], q);
          return load_fail(net, tok, ents);
        }
    }
  }
  for (int q = 0; q < nent; q++)
    if (!ents[q].used) {
      fm_fail("model file has an unexpected tensor %.*s for architecture %s",
              tok[ents[q].name_tok].end - tok[ents[q].name_tok].start, js + tok[ents[q].name_tok].start,
              net->spec);
      return load_fail(net, tok, ents);
    }
  if (covered != data_len) {
    fm_fail("model file has %zu data bytes but its tensors use %llu (%s)", data_len,
            (unsigned long long)covered, covered > data_len ? "truncated" : "trailing bytes");
    return load_fail(net, tok, ents);
  }
  /* Metadata is kept as it comes (an entry that does not fit is dropped),
   * except those that change what predict computes (fm_net_meta_checked: the
   * views and the verdict's thresholds): a value this build does not accept
   * refuses the file rather than run it another way. */
  for (int q = 0; q < nmeta; q++)
    if (fm_json_string(&j, meta_keys[q], mkey, sizeof mkey) &&
        fm_json_string(&j, meta_vals[q], mval, sizeof mval) && !fm_net_set_meta(net, mkey, mval) &&
        fm_net_meta_checked(mkey))
      return load_fail(net, tok, ents);
  free(tok);
  free(ents);
  return net;
}

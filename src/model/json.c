/* json.c: jsmn's implementation (compiled once, here) and the helpers of
 * json.h. */
#include <stdlib.h>
#include <string.h>

#undef JSMN_HEADER
#define JSMN_STRICT
#include <jsmn.h>

#include "../common.h"
#include "json.h"

int fm_json_parse(fm_json *j, const char *js, size_t len, int max_tokens) {
  j->js = js, j->tok = NULL, j->ntok = 0;
  jsmn_parser p;
  jsmn_init(&p);
  int ntok = jsmn_parse(&p, js, len, NULL, 0);
  if (ntok > max_tokens) return FM_JSON_TOO_MANY;
  if (ntok < 1) return FM_JSON_INVALID;
  j->tok = fm_calloc((size_t)ntok, sizeof *j->tok);
  if (!j->tok) return FM_JSON_NO_MEMORY;
  jsmn_init(&p);
  if (jsmn_parse(&p, js, len, j->tok, (unsigned)ntok) != ntok || j->tok[0].type != JSMN_OBJECT) {
    fm_json_free(j);
    return FM_JSON_NOT_OBJECT;
  }
  j->ntok = ntok;
  return 1;
}

void fm_json_free(fm_json *j) {
  free(j->tok);
  j->tok = NULL;
  j->ntok = 0;
}

int fm_json_eq(const fm_json *j, int i, const char *s) {
  const jsmntok_t *t = &j->tok[i];
  return t->type == JSMN_STRING && (int)strlen(s) == t->end - t->start &&
         !strncmp(j->js + t->start, s, (size_t)(t->end - t->start));
}

/* Index just past the value starting at token i: every token inside it
 * starts before it ends. (Counting children by `size` is not safe: jsmn
 * accepts an object or array as a key and then miscounts, which a fuzzer
 * turned into a read past the token array.) */
int fm_json_skip(const fm_json *j, int i) {
  int end = j->tok[i].end, k = i + 1;
  while (k < j->ntok && j->tok[k].start < end) k++;
  return k;
}

/* Is token k a child of container token c (given k follows c)? */
int fm_json_inside(const fm_json *j, int k, int c) { return k < j->ntok && j->tok[k].start < j->tok[c].end; }

int fm_json_u64(const fm_json *j, int i, uint64_t *out) {
  const jsmntok_t *t = &j->tok[i];
  if (t->type != JSMN_PRIMITIVE || t->end - t->start > 15) return 0;
  uint64_t v = 0;
  for (int k = t->start; k < t->end; k++) {
    char c = j->js[k];
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (uint64_t)(c - '0');
  }
  *out = v;
  return 1;
}

/* Copies a JSON string token into dst (unescaping); 0 if too long or bad. */
int fm_json_string(const fm_json *j, int i, char *dst, size_t cap) {
  const jsmntok_t *t = &j->tok[i];
  if (t->type != JSMN_STRING) return 0;
  size_t o = 0;
  for (int k = t->start; k < t->end; k++) {
    unsigned c = (unsigned char)j->js[k];
    if (c == '\\') {
      char e = j->js[++k];
      if (e == 'u') {
        unsigned v = 0;
        for (int d = 0; d < 4; d++) {
          char h = j->js[++k];
          v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
        }
        if (v == 0) return 0;
        char u[3];
        size_t un = 0;
        if (v < 0x80) u[un++] = (char)v;
        else if (v < 0x800) u[un++] = (char)(0xC0 | v >> 6), u[un++] = (char)(0x80 | (v & 63));
        else u[un++] = (char)(0xE0 | v >> 12), u[un++] = (char)(0x80 | (v >> 6 & 63)), u[un++] = (char)(0x80 | (v & 63));
        if (o + un >= cap) return 0;
        memcpy(dst + o, u, un);
        o += un;
        continue;
      }
      c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : (unsigned char)e;
    }
    if (o + 1 >= cap) return 0;
    dst[o++] = (char)c;
  }
  dst[o] = 0;
  return 1;
}


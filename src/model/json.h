/* json.h: the small JSON reader shared by the model loader (safetensors
 * headers) and the photo folder mappings: jsmn tokens plus helpers that
 * never trust jsmn's child counts. */
#ifndef FM_JSON_H
#define FM_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSMN_HEADER
#define JSMN_STRICT
#include <jsmn.h>

typedef struct {
  const char *js;
  jsmntok_t *tok;
  int ntok;
} fm_json;

enum { FM_JSON_INVALID = 0, FM_JSON_TOO_MANY = -1, FM_JSON_NOT_OBJECT = -2, FM_JSON_NO_MEMORY = -3 };
/* Tokenises js[0, len), which must be one JSON object, into j->tok (malloc'd,
 * free with fm_json_free). Returns 1, or one of the codes above (the caller
 * words the message; out of memory is already recorded). */
int fm_json_parse(fm_json *j, const char *js, size_t len, int max_tokens);
void fm_json_free(fm_json *j);
/* Is token i the string s? */
int fm_json_eq(const fm_json *j, int i, const char *s);
/* Index just past the value starting at token i. */
int fm_json_skip(const fm_json *j, int i);
/* Is token k (following container c) inside c? */
int fm_json_inside(const fm_json *j, int k, int c);
/* A non-negative integer of up to 15 digits. */
int fm_json_u64(const fm_json *j, int i, uint64_t *out);
/* Copies a string token into dst (unescaped); 0 if too long or bad. */
int fm_json_string(const fm_json *j, int i, char *dst, size_t cap);

#endif

/* gzip.c: gzip container parsing; the deflate stream itself is decoded by
 * stb_image's zlib decoder (compiled in src/image/decode.c), so the wasm
 * module needs no zlib port and the browser and Node decode identically. */
#include "gzip.h"

#include <stdlib.h>

#include "../common.h"

/* From stb_image.h (implementation in src/image/decode.c). */
int stbi_zlib_decode_noheader_buffer(char *obuffer, int olen, const char *ibuffer, int ilen);

uint32_t fm_crc32(const uint8_t *p, size_t n) {
  static uint32_t table[256];
  static int ready;
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = 1;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

int fm_gunzip(const uint8_t *in, size_t n, size_t max_out, uint8_t **out, size_t *out_len) {
  if (n < 18 || !fm_is_gzip(in, n)) return fm_fail("not a gzip file");
  if (in[2] != 8) return fm_fail("gzip: unknown compression method %d", in[2]);
  int flags = in[3];
  if (flags & 0xE0) return fm_fail("gzip: reserved header flags set");
  size_t pos = 10;
  if (flags & 4) { /* FEXTRA */
    if (pos + 2 > n) return fm_fail("gzip: truncated header");
    size_t xlen = in[pos] | (size_t)in[pos + 1] << 8;
    pos += 2 + xlen;
  }
  for (int bit = 8; bit <= 16; bit <<= 1) /* FNAME, FCOMMENT: zero-terminated */
    if (flags & bit) {
      while (pos < n && in[pos]) pos++;
      pos++;
    }
  if (flags & 2) pos += 2; /* FHCRC */
  if (pos + 8 > n) return fm_fail("gzip: truncated header");
  const uint8_t *t = in + n - 8;
  uint32_t crc = t[0] | t[1] << 8 | t[2] << 16 | (uint32_t)t[3] << 24;
  uint32_t isize = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;
  if (isize > max_out)
    return fm_fail("gzip: uncompressed size %u bytes is over the limit of %zu", isize, max_out);
  if (n - pos > 0x7FFFFFFF) return fm_fail("gzip: file too large");
  /* Deflate cannot expand more than 1032:1, so a larger stated size is a
   * lie: refuse it before allocating the output. */
  if (isize > (uint64_t)(n - pos) * 1032 + 1024)
    return fm_fail("gzip: stated size %u bytes is impossible for %zu compressed bytes (corrupt file)",
                   isize, n - pos);
  uint8_t *buf = fm_malloc(isize ? isize : 1);
  if (!buf) return 0;
  /* The trailer stays in the input: stb's bit reader looks a few bytes past
   * the end of the deflate stream and fails when they are missing. */
  int got = stbi_zlib_decode_noheader_buffer((char *)buf, (int)isize, (const char *)in + pos,
                                             (int)(n - pos));
  if (got < 0 || (uint32_t)got != isize) {
    free(buf);
    return fm_fail("gzip: corrupt or truncated compressed data");
  }
  if (fm_crc32(buf, isize) != crc) {
    free(buf);
    return fm_fail("gzip: CRC mismatch (the file is corrupt)");
  }
  *out = buf;
  *out_len = isize;
  return 1;
}

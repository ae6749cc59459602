/* gzip.h: gzip (RFC 1952) decoding on top of stb_image's inflate. */
#ifndef FM_GZIP_H
#define FM_GZIP_H

#include <stddef.h>
#include <stdint.h>

static inline int fm_is_gzip(const uint8_t *b, size_t n) { return n >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

/* Inflates a single-member gzip file, checking its header, length and CRC.
 * Refuses output over max_out bytes before allocating it. On success *out
 * is malloc'd. */
int fm_gunzip(const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out, size_t *out_len);

uint32_t fm_crc32(const uint8_t *p, size_t n);

#endif

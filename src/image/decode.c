/* decode.c: PNG / JPEG / GIF (first frame) / BMP decoding (stb_image,
 * header-only from libstb-dev) and WebP (libwebp's decoder, lossy, lossless
 * and alpha; built from Debian's source) to RGBA, with header checks before
 * any pixel memory and EXIF orientation. The page accepts exactly what this accepts
 * (it asks fm_image_info first), so both say the same for other formats.
 * What turns the RGBA into a network input is src/image/photo.c. */
#include <stdlib.h>
#include <string.h>

#include "../common.h"

#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
/* stb refuses sides over this with a vague "unknown image type"; our own
 * pixel-count check (fm_image_info) gives the clear message. */
#define STBI_MAX_DIMENSIONS (1 << 24)
#define STBI_ASSERT(x) ((void)0)
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#include "src/webp/decode.h"

#define FORMATS "PNG, JPEG, GIF, BMP and WebP"

/* stb_image 2.27 copies a zero-length IDAT chunk through a NULL buffer
 * (undefined behaviour that UBSan flags; found by fuzzing). Such chunks are
 * legal but never written by real encoders: refuse them up front. */
static int png_has_empty_idat_first(const uint8_t *b, size_t n) {
  static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (n < 8 || memcmp(b, sig, 8)) return 0;
  size_t p = 8;
  while (p + 8 <= n) {
    uint32_t len = (uint32_t)b[p] << 24 | (uint32_t)b[p + 1] << 16 | (uint32_t)b[p + 2] << 8 | b[p + 3];
    if (!memcmp(b + p + 4, "IDAT", 4)) return len == 0;
    if (len > n) return 0;
    p += 12 + (size_t)len;
  }
  return 0;
}

static int is_webp(const uint8_t *b, size_t n) {
  return n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4);
}

/* A WebP's size from its header, or a message saying what is wrong with it.
 * Animations are refused: unlike GIF, a WebP animation's first frame may be
 * a small patch over a background, and composing frames needs libwebp's
 * demuxer, which this module does not carry. */
static int webp_info(const uint8_t *b, size_t n, int *w, int *h) {
  WebPBitstreamFeatures f;
  VP8StatusCode s = WebPGetFeatures(b, n, &f);
  if (s == VP8_STATUS_NOT_ENOUGH_DATA) return fm_fail("cannot read the image header: WebP file is cut short");
  if (s != VP8_STATUS_OK) return fm_fail("cannot read the image header: not a valid WebP file");
  if (f.has_animation) return fm_fail("animated WebP images are not supported: save one frame as JPEG or PNG");
  *w = f.width;
  *h = f.height;
  return 1;
}

/* Formats browsers decode that this module does not: named, so the message
 * says what to do instead of "unknown image type". */
static const char *unsupported_format(const uint8_t *b, size_t n) {
  if (n >= 12 && !memcmp(b + 4, "ftyp", 4)) {
    if (!memcmp(b + 8, "avi", 3)) return "AVIF";
    if (!memcmp(b + 8, "hei", 3) || !memcmp(b + 8, "mif1", 4) || !memcmp(b + 8, "msf1", 4)) return "HEIC";
  }
  if (n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4))) return "TIFF";
  if (n >= 5 && (!memcmp(b, "<?xml", 5) || !memcmp(b, "<svg", 4))) return "SVG";
  return NULL;
}

int fm_image_info(const uint8_t *bytes, size_t len, int *w, int *h) {
  int comp;
  if (!bytes || len == 0) return fm_fail("image is empty");
  const char *other = unsupported_format(bytes, len);
  if (other)
    return fm_fail("%s images are not supported (" FORMATS " are): save it as JPEG or PNG", other);
  if (is_webp(bytes, len)) {
    if (!webp_info(bytes, len, w, h)) return 0;
  } else if (png_has_empty_idat_first(bytes, len)) {
    return fm_fail("cannot decode image: PNG starts its pixel data with an empty IDAT chunk");
  } else {
    if (len > 0x7FFFFFFF) return fm_fail("image file is too large");
    if (!stbi_info_from_memory(bytes, (int)len, w, h, &comp))
      return fm_fail("cannot read the image header: %s (" FORMATS " are supported)", stbi_failure_reason());
  }
  if (*w < 1 || *h < 1) /* a BMP header may say 0 (found by fuzzing) */
    return fm_fail("image is %dx%d pixels: it has no pixels", *w, *h);
  if ((long long)*w * *h > FM_MAX_IMAGE_PIXELS)
    return fm_fail("image is %dx%d pixels, over the limit of %d megapixels", *w, *h,
                   FM_MAX_IMAGE_PIXELS >> 20);
  return 1;
}

/* EXIF orientation (1..8) of a JPEG, 1 when absent or unreadable. Phones
 * store photos sideways and set this tag; browsers apply it when decoding,
 * so Node must too for the same answer. */
static int jpeg_orientation(const uint8_t *b, size_t n) {
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return 1;
  size_t p = 2;
  while (p + 4 <= n && b[p] == 0xFF) {
    int marker = b[p + 1];
    size_t len = (size_t)b[p + 2] << 8 | b[p + 3];
    if (marker == 0xDA || len < 2) break; /* image data starts: no EXIF */
    if (marker == 0xE1 && p + 4 + len <= n + 2 && len >= 16 && !memcmp(b + p + 4, "Exif\0\0", 6)) {
      const uint8_t *t = b + p + 10;
      size_t tn = len - 8;
      int le = t[0] == 'I';
      #define U16(q) (le ? (q)[0] | (q)[1] << 8 : (q)[0] << 8 | (q)[1])
      #define U32(q) (le ? (uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 | (uint32_t)(q)[2] << 16 | (uint32_t)(q)[3] << 24 \
                         : (uint32_t)(q)[0] << 24 | (uint32_t)(q)[1] << 16 | (uint32_t)(q)[2] << 8 | (uint32_t)(q)[3])
      if (tn < 8) return 1;
      uint32_t ifd = U32(t + 4);
      if (ifd + 2 > tn) return 1;
      int count = U16(t + ifd);
      for (int i = 0; i < count; i++) {
        size_t e = ifd + 2 + 12 * (size_t)i;
        if (e + 12 > tn) break;
        if (U16(t + e) == 0x0112) {
          int v = U16(t + e + 8);
          return v >= 1 && v <= 8 ? v : 1;
        }
      }
      #undef U16
      #undef U32
      return 1;
    }
    p += 2 + len;
  }
  return 1;
}

int fm_image_decode_rgba(const uint8_t *bytes, size_t len, uint8_t **out, int *w, int *h) {
  int iw, ih, comp;
  if (!fm_image_info(bytes, len, &iw, &ih)) return 0;
  if (is_webp(bytes, len)) { /* decoded straight into the result; EXIF is not applied */
    size_t size = (size_t)iw * ih * 4;
    uint8_t *px = fm_malloc(size);
    if (!px) return 0;
    if (!WebPDecodeRGBAInto(bytes, len, px, size, iw * 4)) {
      free(px);
      return fm_fail("cannot decode image: the WebP data is damaged or cut short");
    }
    *out = px;
    *w = iw;
    *h = ih;
    return 1;
  }
  uint8_t *px = stbi_load_from_memory(bytes, (int)len, &iw, &ih, &comp, 4);
  if (!px) return fm_fail("cannot decode image: %s", stbi_failure_reason());
  int o = jpeg_orientation(bytes, len);
  int swap = o >= 5; /* orientations 5..8 rotate by 90 degrees */
  int ow = swap ? ih : iw, oh = swap ? iw : ih;
  uint32_t *dst = fm_malloc((size_t)ow * oh * 4);
  if (!dst) {
    stbi_image_free(px);
    return 0;
  }
  const uint32_t *src = (const uint32_t *)px;
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++) {
      int sx, sy; /* the source pixel shown at (x, y) */
      switch (o) {
      case 2: sx = iw - 1 - x, sy = y; break;
      case 3: sx = iw - 1 - x, sy = ih - 1 - y; break;
      case 4: sx = x, sy = ih - 1 - y; break;
      case 5: sx = y, sy = x; break;
      case 6: sx = y, sy = ih - 1 - x; break;
      case 7: sx = iw - 1 - y, sy = ih - 1 - x; break;
      case 8: sx = iw - 1 - y, sy = x; break;
      default: sx = x, sy = y; break;
      }
      dst[(size_t)y * ow + x] = src[(size_t)sy * iw + sx];
    }
  stbi_image_free(px);
  *out = (uint8_t *)dst;
  *w = ow;
  *h = oh;
  return 1;
}

/* idx.c: the IDX format of (Fashion-)MNIST: a big-endian header
 *   magic = 0x00 0x00 <type 0x08 = ubyte> <ndims>, then ndims 32-bit sizes,
 * then the data. Images are idx3 (count, rows, cols), labels idx1 (count).
 * Everything is validated; nothing is trusted from the header. */
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "gzip.h"

/* Generous limits: a bigger header is an attack or a corrupt file. */
#define MAX_ITEMS 10000000
#define MAX_SIDE 1024
#define MAX_RAW_BYTES (512u * 1024 * 1024)

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parses one IDX file with ndims dimensions into dims; returns a pointer to
 * its (validated) payload inside raw. */
static const uint8_t *parse_idx(const uint8_t *raw, size_t len, int ndims, uint32_t *dims) {
  if (len < 4) {
    fm_fail("file is %zu bytes, too short for an IDX header", len);
    return NULL;
  }
  if (raw[0] || raw[1]) {
    fm_fail("not an IDX file (bad magic number %02x %02x %02x %02x)", raw[0], raw[1], raw[2],
            raw[3]);
    return NULL;
  }
  if (raw[2] != 0x08) {
    fm_fail("IDX element type 0x%02x is not unsigned bytes (0x08)", raw[2]);
    return NULL;
  }
  if (raw[3] != ndims) {
    fm_fail("IDX file has %d dimensions, expected %d (%s)", raw[3], ndims,
            ndims == 3 ? "an images file" : "a labels file");
    return NULL;
  }
  size_t header = 4 + 4 * (size_t)ndims;
  if (len < header) {
    fm_fail("file is truncated inside its IDX header (%zu bytes)", len);
    return NULL;
  }
  uint64_t payload = 1;
  for (int i = 0; i < ndims; i++) {
    dims[i] = be32(raw + 4 + 4 * i);
    uint32_t lim = i == 0 ? MAX_ITEMS : MAX_SIDE;
    if (dims[i] == 0 || dims[i] > lim) {
      fm_fail("IDX dimension %d is %u (allowed 1..%u)", i, dims[i], lim);
      return NULL;
    }
    payload *= dims[i];
  }
  if (len - header != payload) {
    fm_fail("IDX header promises %llu data bytes but the file holds %zu (%s)",
            (unsigned long long)payload, len - header,
            len - header < payload ? "truncated" : "trailing garbage");
    return NULL;
  }
  return raw + header;
}

/* Decompresses if gzipped; *owned is set when a new buffer was allocated. */
static int maybe_gunzip(const uint8_t *b, size_t n, const uint8_t **raw, size_t *raw_len,
                        uint8_t **owned) {
  *owned = NULL;
  if (!fm_is_gzip(b, n)) {
    *raw = b;
    *raw_len = n;
    return 1;
  }
  if (!fm_gunzip(b, n, MAX_RAW_BYTES, owned, raw_len)) return 0;
  *raw = *owned;
  return 1;
}

fm_dataset *fm_dataset_parse(const uint8_t *images, size_t images_len, const char *images_name,
                             const uint8_t *labels, size_t labels_len, const char *labels_name) {
  const char *iname = images_name ? images_name : "images file";
  const char *lname = labels_name ? labels_name : "labels file";
  const uint8_t *iraw = NULL, *lraw = NULL;
  size_t ilen = 0, llen = 0;
  uint8_t *iown = NULL, *lown = NULL;
  fm_dataset *ds = NULL;
  uint32_t idims[3], ldims[1];
  const uint8_t *ipix, *llab;

  if (!images || !labels) {
    fm_fail("dataset needs both an images file and a labels file");
    return NULL;
  }
  if (!maybe_gunzip(images, images_len, &iraw, &ilen, &iown) ||
      !(ipix = parse_idx(iraw, ilen, 3, idims))) {
    fm_fail_prefix(iname);
    goto done;
  }
  if (!maybe_gunzip(labels, labels_len, &lraw, &llen, &lown) ||
      !(llab = parse_idx(lraw, llen, 1, ldims))) {
    fm_fail_prefix(lname);
    goto done;
  }
  if (idims[0] != ldims[0]) {
    fm_fail("%s holds %u images but %s holds %u labels", iname, idims[0], lname, ldims[0]);
    goto done;
  }
  for (uint32_t i = 0; i < ldims[0]; i++)
    if (llab[i] >= FM_NUM_CLASSES) {
      fm_fail("%s: label %u of item %u is not a class 0..9", lname, llab[i], i);
      goto done;
    }
  ds = fm_calloc(1, sizeof *ds);
  if (!ds) goto done;
  ds->count = (int)idims[0];
  ds->rows = (int)idims[1];
  ds->cols = (int)idims[2];
  size_t npix = (size_t)ds->count * ds->rows * ds->cols;
  if (iown && (size_t)(ipix - iown) == 16) {
    /* Reuse the decompressed buffer: move pixels to its start. */
    memmove(iown, ipix, npix);
    ds->images = iown;
    iown = NULL;
  } else {
    ds->images = fm_malloc(npix);
    if (ds->images) memcpy(ds->images, ipix, npix);
  }
  ds->labels = fm_malloc((size_t)ds->count);
  if (!ds->images || !ds->labels) {
    fm_dataset_free(ds);
    ds = NULL;
    goto done;
  }
  memcpy(ds->labels, llab, (size_t)ds->count);
done:
  free(iown);
  free(lown);
  return ds;
}

void fm_dataset_free(fm_dataset *ds) {
  if (!ds) return;
  free(ds->images);
  free(ds->labels);
  free(ds);
}

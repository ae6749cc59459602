/* read_file.h: whole-file reading for the native tools (header-only). */
#ifndef FM_NATIVE_READ_FILE_H
#define FM_NATIVE_READ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The file's bytes (malloc'd) and length, or NULL when it cannot be read. */
static inline uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = n >= 0 ? malloc(n > 0 ? (size_t)n : 1) : NULL;
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

#endif

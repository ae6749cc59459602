/* common.c: error reporting and allocation with clear failures. */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char g_error[512];

const char *fm_last_error(void) { return g_error; }

int fm_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error, sizeof g_error, fmt, ap);
  va_end(ap);
  return 0;
}

int fm_fail_prefix(const char *ctx) {
  char old[sizeof g_error];
  memcpy(old, g_error, sizeof old);
  /* Truncation is fine: messages are one line for a person. */
  size_t n = strlen(ctx) < 200 ? strlen(ctx) : 200;
  memcpy(g_error, ctx, n);
  g_error[n++] = ':';
  g_error[n++] = ' ';
  size_t rest = strlen(old);
  if (rest > sizeof g_error - n - 1) rest = sizeof g_error - n - 1;
  memcpy(g_error + n, old, rest);
  g_error[n + rest] = 0;
  return 0;
}

void *fm_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) fm_fail("out of memory (asked for %zu bytes)", n);
  return p;
}

void *fm_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) {
    fm_fail("allocation size overflows (%zu x %zu)", count, size);
    return NULL;
  }
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) fm_fail("out of memory (asked for %zu bytes)", count * size);
  return p;
}

/* Over-allocate and keep the original pointer just before the aligned one:
 * aligned_alloc is not in every libc we build against. */
void *fm_malloc_aligned(size_t n) {
  if (n > SIZE_MAX - 32) {
    fm_fail("allocation too large");
    return NULL;
  }
  unsigned char *raw = malloc(n + 16 + sizeof(void *));
  if (!raw) {
    fm_fail("out of memory (asked for %zu bytes)", n);
    return NULL;
  }
  uintptr_t a = ((uintptr_t)(raw + sizeof(void *)) + 15) & ~(uintptr_t)15;
  ((void **)a)[-1] = raw;
  return (void *)a;
}

void fm_free_aligned(void *p) {
  if (p) free(((void **)p)[-1]);
}

void *fm_alloc(size_t n) { return malloc(n ? n : 1); }
void fm_free(void *p) { free(p); }

static const char *const k_class_names[FM_NUM_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

const char *fm_class_name(int index) {
  return index >= 0 && index < FM_NUM_CLASSES ? k_class_names[index] : NULL;
}

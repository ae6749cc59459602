/* common.h: internal helpers shared by every source file. */
#ifndef FM_COMMON_H
#define FM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "fmnist.h"

/* Records a printf-style error message for fm_last_error(); returns 0 so that
 * callers can write `return fm_fail("...")`. */
int fm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like fm_fail but prefixes the current message: "ctx: <old message>". */
int fm_fail_prefix(const char *ctx);

/* malloc / calloc that record an error on failure (or on size overflow). */
void *fm_malloc(size_t n);
void *fm_calloc(size_t count, size_t size);
/* Same, 16-byte aligned (SIMD loads of whole rows). */
void *fm_malloc_aligned(size_t n);
void fm_free_aligned(void *p);

#define FM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FM_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif

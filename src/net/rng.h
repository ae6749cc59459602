/* rng.h: PCG32, a small, fast generator with independent streams, so that a
 * seed fixes initialisation, shuffling, augmentation and dropout separately
 * (changing dropout does not change the shuffle order). */
#ifndef FM_RNG_H
#define FM_RNG_H

#include <stdint.h>

typedef struct fm_rng {
  uint64_t state, inc;
} fm_rng;

/* Streams: one per use, so each is reproducible on its own. */
enum { FM_STREAM_INIT = 1, FM_STREAM_SHUFFLE = 2, FM_STREAM_DROPOUT = 3, FM_STREAM_AUGMENT = 4, FM_STREAM_PHOTOS = 5 };

void fm_rng_seed(fm_rng *r, uint64_t seed, uint64_t stream);
uint32_t fm_rng_u32(fm_rng *r);
/* Uniform in [0, 1). */
float fm_rng_uniform(fm_rng *r);
/* Uniform integer in [0, n). */
uint32_t fm_rng_below(fm_rng *r, uint32_t n);

#endif

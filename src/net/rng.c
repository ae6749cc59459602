/* rng.c: PCG32 (O'Neill 2014), XSH-RR output. */
#include "rng.h"

void fm_rng_seed(fm_rng *r, uint64_t seed, uint64_t stream) {
  r->state = 0;
  r->inc = (stream << 1u) | 1u;
  fm_rng_u32(r);
  r->state += seed;
  fm_rng_u32(r);
}

uint32_t fm_rng_u32(fm_rng *r) {
  uint64_t old = r->state;
  r->state = old * 6364136223846793005ULL + r->inc;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float fm_rng_uniform(fm_rng *r) { return (fm_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

uint32_t fm_rng_below(fm_rng *r, uint32_t n) {
  /* Lemire's nearly-divisionless method would do; rejection keeps it exact. */
  uint32_t threshold = (uint32_t)(-n) % n;
  for (;;) {
    uint32_t x = fm_rng_u32(r);
    if (x >= threshold) return x % n;
  }
}

/* test_float16.c: the binary16 conversions of F16 model files against the
 * definition: every half converts to float and back to itself, and a float
 * between two neighbouring halves goes to the nearer one, a tie to the one
 * with an even mantissa (IEEE round to nearest even, as torch's .half()). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "model/float16.h"

/* The exact value of a finite half, from its fields (the reference). */
static double half_value(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
  return h & 0x8000 ? -v : v;
}

void test_float16(void) {
  int bad_exact = 0, bad_round = 0, bad_ties = 0, tried = 0;
  for (uint32_t h = 0; h < 0x10000; h++) {
    int e = (h >> 10) & 0x1f;
    float f = fm_f16_to_f32((uint16_t)h);
    if (e == 0x1f) { /* inf and NaN */
      bad_exact += (h & 0x3ff) ? !isnan(f) : !(isinf(f) && (f < 0) == !!(h & 0x8000));
      continue;
    }
    bad_exact += (double)f != half_value((uint16_t)h) || fm_f32_to_f16(f) != h;
    /* Between h and the next half up in magnitude (not past the largest). */
    if ((h & 0x7fff) >= 0x7bff) continue;
    double a = half_value((uint16_t)h), b = half_value((uint16_t)(h + 1)), mid = (a + b) / 2;
    uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
    float below = nextafterf((float)mid, (float)a), above = nextafterf((float)mid, (float)b);
    bad_ties += fm_f32_to_f16((float)mid) != even;
    bad_round += fm_f32_to_f16(below) != h || fm_f32_to_f16(above) != h + 1;
    tried++;
  }
  char why[160];
  snprintf(why, sizeof why, "%d halves off when converted exactly, %d of %d neighbour pairs rounded wrong, %d ties not to even",
           bad_exact, bad_round, tried, bad_ties);
  report(!bad_exact && !bad_round && !bad_ties && tried > 60000,
         "float16: every half converts exactly both ways; floats round to nearest, ties to even", why);
  /* Past the largest half (65504) is infinity; the tie at 65520 too (even). */
  int edges = fm_f32_to_f16(65504.0f) == 0x7bff && fm_f32_to_f16(65519.99f) == 0x7bff &&
              fm_f32_to_f16(65520.0f) == 0x7c00 && fm_f32_to_f16(-1e9f) == 0xfc00 &&
              fm_f32_to_f16(ldexpf(1, -25)) == 0 && fm_f32_to_f16(ldexpf(1.0001f, -25)) == 1 &&
              fm_f32_to_f16(-0.0f) == 0x8000 && (fm_f32_to_f16(NAN) & 0x7c00) == 0x7c00 &&
              (fm_f32_to_f16(NAN) & 0x3ff) != 0;
  report(edges, "float16: overflow to infinity, underflow to zero, signed zero and NaN", "an edge case converts wrong");
}

/* float16.c: IEEE 754 binary16 <-> binary32, by bit manipulation (wasm has
 * no half-precision instructions, and _Float16 support differs between the
 * compilers this code builds with). Model files store weights as F16 to
 * halve their size; PyTorch reads them as torch.float16. */
#include <stdint.h>
#include <string.h>

#include "float16.h"

float fm_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) { /* inf, NaN */
    bits = sign | 0x7f800000u | mant << 13;
  } else if (exp) { /* normal: rebias 15 -> 127 */
    bits = sign | (exp + 112) << 23 | mant << 13;
  } else if (mant) { /* subnormal: normalise */
    int e = 113;
    while (!(mant & 0x400)) mant <<= 1, e--;
    bits = sign | (uint32_t)e << 23 | (mant & 0x3ff) << 13;
  } else {
    bits = sign;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* Round to nearest, ties to even, as PyTorch's .half() does; values past
 * the largest half (65504) become infinity, NaN stays NaN. */
uint16_t fm_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);
  if (abs >= 0x477ff000u) return sign | 0x7c00; /* rounds past 65504 */
  if (abs < 0x38800000u) { /* below the smallest normal half, 2^-14 */
    if (abs < 0x33000000u) return sign; /* under half the smallest subnormal: 0 */
    /* Subnormal, in units of 2^-24: 1.m * 2^(e-127) = mant24 * 2^(e-126-24+24),
     * i.e. the 24-bit mantissa shifted right by 126 - e (14..24 here). */
    uint32_t mant = (abs & 0x7fffff) | 0x800000;
    int shift = 126 - (int)(abs >> 23);
    uint32_t q = mant >> shift, rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1))) q++;
    return sign | (uint16_t)q;
  }
  /* Normal: drop 13 mantissa bits with rounding; a carry into the exponent
   * is the correct result (the next binade). */
  uint32_t r = abs - 0x38000000u; /* rebias 127 -> 15 */
  uint32_t q = r >> 13, rest = r & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (q & 1))) q++;
  return sign | (uint16_t)q;
}

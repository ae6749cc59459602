/* simd.h: one spelling of 128-bit SIMD for both builds.
 * Under Emscripten (-msimd128) these are the wasm intrinsics; natively SIMDe
 * maps the same wasm_* calls to SSE/AVX, so every kernel has one source. */
#ifndef FM_SIMD_H
#define FM_SIMD_H

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#else
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/wasm/simd128.h>
#endif

/* Maxima (ReLU, max-pool, quantiser ranges) use f32x4.pmax, "b > a ? b :
 * a", not f32x4.max: max must propagate NaN and order -0 below +0, which x64
 * has no single instruction for (V8 emits a sequence of about eight), while
 * pmax is one maxps. The results differ only for NaN and signed zeros.
 * pmax(x, 0) keeps a NaN as NaN, so a diverged network still shows it. */

/* The 4x4 transpose of four vectors in place: lane j of r[i] becomes lane
 * i of r[j] (column phases from rows, rows from tiles' columns, GEMM panels
 * from rows along k). Eight shuffles, no memory. */
static inline void fm_transpose4(v128_t r[4]) {
  v128_t t0 = wasm_i32x4_shuffle(r[0], r[1], 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r[0], r[1], 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(r[2], r[3], 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r[2], r[3], 2, 6, 3, 7);
  r[0] = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  r[1] = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  r[2] = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  r[3] = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/* The sum of a vector's four lanes (the end of a SIMD reduction). */
static inline float fm_f32x4_sum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) +
         wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

#endif

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

#endif

/* conv1_q16.c: a network's first convolution (one input channel, 3x3,
 * "same" padding) at inference, in int16 (layer.h: fm_conv1_q16).
 *
 * Why: with one input channel, im2col + GEMM has K = 9, so the GEMM spends
 * as much on its setup, packing and separate epilogue pass as on the 9
 * multiply-adds per output, and Winograd's transforms cost more than the
 * multiplies they save. Here the image is quantised once (one scale per
 * image, on the weights' grid: the finest a 9-long dot product allows,
 * 14,654 levels) into a zero-padded int16 plane; for 8 output pixels of a row the
 * 9 taps become 5 vectors of tap pairs (taps 2k and 2k + 1 of each pixel
 * side by side, the 10th tap zero) per half, made by one shuffle each from
 * 9 shifted loads and shared by every output channel; a channel is then 5
 * i32x4.dot_i16x8_s per 4 pixels against its weight pairs (packed by
 * fm_q16_pack_a, one scale per channel), and the epilogue (scale, shift, ReLU) is applied as the row is
 * stored. Weights are packed once per weights generation (conv2d.c). */
#include <math.h>

#include "../common.h"
#include "../kernels/gemm_q16.h"
#include "../kernels/simd.h"
#include "layer.h"

enum { TAPS2 = 5 }; /* tap pairs: 9 taps and a zero */

int fm_conv1_q16_applies(const fm_layer *L) { return L->kind == FM_CONV && L->k == 3 && L->in.c == 1; }

/* The weights as fm_q16_pack_a packs a [cout x 9] matrix: panels of 4
 * channels, each tap pair of a channel an int32 the kernel splats. */
size_t fm_conv1_q16_size(const fm_layer *L) { return fm_q16_a_size(L->out.c, 9); }
size_t fm_conv1_q16_scales(const fm_layer *L) { return fm_q16_a_scales(L->out.c); }

/* The padded plane: rows -1..h of the input, each ws int16 long (input
 * column c at c + 1; a group of 8 outputs reads 10 columns from its start). */
static int plane_stride(int w) { return (w + 7) / 8 * 8 + 8; }

size_t fm_conv1_q16_scratch(const fm_layer *L) {
  /* int16 plane, then a float per channel for the per-image multipliers */
  return ((size_t)(L->in.h + 2) * plane_stride(L->in.w) + 1) / 2 + (size_t)L->out.c + 4;
}

void fm_conv1_q16_weights(const fm_layer *L, int16_t *wq, float *wqs) { fm_q16_pack_a(L->out.c, 9, L->w, 9, wq, wqs); }

/* Quantises x [h, w] into the padded plane (whose border stays zero: the
 * caller zeroes it once) and returns the image's grid step. */
static float quantise_plane(const float *x, int h, int w, int16_t *P, int ws) {
  float m = fm_q16_max_abs(x, h * w);
  int q = fm_q16_levels(9); /* the weights' grid: a 9-long dot product */
  float inv = m > 0 ? (float)q / m : 0.0f;
  v128_t vinv = wasm_f32x4_splat(inv);
  for (int y = 0; y < h; y++) {
    const float *r = x + y * w;
    int16_t *p = P + (size_t)(y + 1) * ws + 1;
    int c = 0;
    for (; c + 8 <= w; c += 8) wasm_v128_store(p + c, fm_q16_round8(r + c, vinv));
    for (; c < w; c++) p[c] = (int16_t)nearbyintf(r[c] * inv);
  }
  return m > 0 ? m / (float)q : 0.0f;
}

/* Pixels i..i+3 of taps u and v side by side (low half: i = 0, high: 4). */
#define PAIRS_LO(u, v) wasm_i16x8_shuffle(u, v, 0, 8, 1, 9, 2, 10, 3, 11)
#define PAIRS_HI(u, v) wasm_i16x8_shuffle(u, v, 4, 12, 5, 13, 6, 14, 7, 15)
#define DOT(acc, a, b) acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(a, b))

static inline v128_t finish(v128_t acc, v128_t mul, v128_t shift, int relu) {
  v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), mul), shift);
  return relu ? wasm_f32x4_pmax(v, wasm_f32x4_splat(0)) : v;
}

/* The row's last n < 4 pixels, lane by lane (a memcpy would be a libc call
 * per row in wasm). */
static inline void store_part(float *out, v128_t v, int n) {
  if (n > 0) out[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) out[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) out[2] = wasm_f32x4_extract_lane(v, 2);
}

void fm_conv1_q16(const fm_layer *L, const float *scale, const float *shift, int relu, const float *x, float *y,
                  float *scratch) {
  const int16_t *wq = L->wq;
  const float *wqs = L->wqs;
  int h = L->in.h, w = L->in.w, cout = L->out.c, ws = plane_stride(w), hw = h * w;
  int16_t *P = (int16_t *)scratch;
  float *mul = scratch + ((size_t)(h + 2) * ws + 1) / 2;
  float step = quantise_plane(x, h, w, P, ws);
  for (int co = 0; co < cout; co++) mul[co] = wqs[co] * step * (scale ? scale[co] : 1.0f);
  v128_t zero = wasm_i32x4_splat(0);
  for (int oy = 0; oy < h; oy++) {
    const int16_t *r0 = P + (size_t)oy * ws, *r1 = r0 + ws, *r2 = r1 + ws;
    for (int px = 0; px < w; px += 8) {
      v128_t a0 = wasm_v128_load(r0 + px), a1 = wasm_v128_load(r0 + px + 1), a2 = wasm_v128_load(r0 + px + 2);
      v128_t b0 = wasm_v128_load(r1 + px), b1 = wasm_v128_load(r1 + px + 1), b2 = wasm_v128_load(r1 + px + 2);
      v128_t c0 = wasm_v128_load(r2 + px), c1 = wasm_v128_load(r2 + px + 1), c2 = wasm_v128_load(r2 + px + 2);
      /* taps in PyTorch's order (ky, kx): (0,0) (0,1) | (0,2) (1,0) | (1,1) (1,2) | (2,0) (2,1) | (2,2) 0 */
      v128_t l0 = PAIRS_LO(a0, a1), l1 = PAIRS_LO(a2, b0), l2 = PAIRS_LO(b1, b2), l3 = PAIRS_LO(c0, c1),
             l4 = PAIRS_LO(c2, zero);
      v128_t h0 = PAIRS_HI(a0, a1), h1 = PAIRS_HI(a2, b0), h2 = PAIRS_HI(b1, b2), h3 = PAIRS_HI(c0, c1),
             h4 = PAIRS_HI(c2, zero);
      int n = FM_MIN(8, w - px);
      float *out = y + (size_t)oy * w + px;
      for (int co = 0; co < cout; co++, out += hw) {
        /* Each weight pair loaded where it is used: the 10 tap-pair vectors,
         * one weight pair and the two sums fit x64's 16 vector registers. */
        /* channel co's pair k2 in fm_q16_pack_a's panels: pa[co/4][k2][co%4] */
        const int16_t *k = wq + (size_t)(co / 4) * TAPS2 * 8 + (co % 4) * 2;
        v128_t kk = wasm_v128_load32_splat(k);
        v128_t lo = wasm_i32x4_dot_i16x8(l0, kk), hi = wasm_i32x4_dot_i16x8(h0, kk);
        kk = wasm_v128_load32_splat(k + 8), DOT(lo, l1, kk), DOT(hi, h1, kk);
        kk = wasm_v128_load32_splat(k + 16), DOT(lo, l2, kk), DOT(hi, h2, kk);
        kk = wasm_v128_load32_splat(k + 24), DOT(lo, l3, kk), DOT(hi, h3, kk);
        kk = wasm_v128_load32_splat(k + 32), DOT(lo, l4, kk), DOT(hi, h4, kk);
        v128_t vm = wasm_f32x4_splat(mul[co]), vt = wasm_f32x4_splat(shift ? shift[co] : 0.0f);
        lo = finish(lo, vm, vt, relu), hi = finish(hi, vm, vt, relu);
        if (n >= 4) {
          wasm_v128_store(out, lo);
          if (n == 8) wasm_v128_store(out + 4, hi);
          else store_part(out + 4, hi, n - 4);
        } else {
          store_part(out, lo, n);
        }
      }
    }
  }
}

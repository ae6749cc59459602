/* winograd4.c: the 3x3 convolution as Winograd F(4x4, 3x3) (Lavin & Gray
 * 2016): 36 multiplies per 4x4 output tile and channel pair instead of 144
 * for the direct sum (F(2x2, 3x3) needs 64 for the same outputs).
 *
 * With tiles t = (ty, tx) of 4x4 outputs reading 6x6 inputs (the tiles of up
 * to G samples side by side):
 *   U[xi][co][ci] = (G g G^T)[xi]      weights, once per weight change
 *   V[xi][ci][t]  = (B^T d B)[xi]      input tiles
 *   M[xi]         = U[xi] * V[xi]      36 GEMMs [cout x cin] * [cin x T]
 *   y tile        = A^T M A + bias     output tiles
 * (xi runs over the 36 positions of the 6x6 transformed tile.) The
 * transforms are SIMD across 4 neighbouring tiles of a row: each input row
 * is split into its 4 column phases first (P_r[m] = x[4m + r - 1]), so a
 * tile's 6 columns are P0[tx], P1[tx], P2[tx], P3[tx], P0[tx+1], P1[tx+1]
 * and every access is a contiguous load.
 *
 *   B^T = [4  0 -5  0 1 0]   G = [ 1/4     0     0]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]       [-1/6  -1/6  -1/6]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]       [-1/6   1/6  -1/6]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]       [1/24  1/12   1/6]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]       [1/24 -1/12   1/6]
 *         [0  4  0 -5 0 1]       [   0     0     1]
 * The larger coefficients cost some float precision against F(2x2): about
 * 1e-5 relative error per output here, tested against direct loops.
 *
 * The weight gradient follows from y = A^T (U . V) A: the gradient of the
 * products is Z = A dy A^T per tile, so dU[xi] = sum over tiles of Z[xi] V[xi]
 * (36 GEMMs [cout x T] * [T x cin], summed over the batch) and dw = G^T dU G
 * once per backward pass: 4x fewer multiplies than im2col + GEMM.
 *
 * The input gradient is the transpose of the forward pass, from the same Z:
 * dV[xi] = U[xi]^T Z[xi] (36 GEMMs [cin x cout] * [cout x T]), then each
 * tile's B dV B^T added into the 6x6 input patch it read. One transform of
 * dy serves both gradients, where running the input gradient as a
 * convolution of dy would transform dy (cout planes) a second time and
 * need an output transform too; and as the exact adjoint of the forward
 * pass's arithmetic it is about twice as close to the direct sum. */
#include "winograd.h"


#include "../common.h"
#include "../kernels/gemm.h"
#include "../kernels/gemm_q16.h"
#include "../kernels/simd.h"

#define F4(v) wasm_f32x4_splat(v)
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul

/* 4x4 output tiles; le is the length of one of a split row's 4 column phases. */
typedef fm_wino_dims wino_dims;
static wino_dims dims_of(int h, int w, int G) { return fm_wino_dims_of(h, w, G, 4); }

int fm_wino4_group(const fm_layer *L) {
  int T = dims_of(L->in.h, L->in.w, 1).T;
  return FM_MAX(1, FM_MIN(16, (64 + T - 1) / T));
}

size_t fm_wino4_scratch(const fm_layer *L) {
  wino_dims d = dims_of(L->in.h, L->in.w, fm_wino4_group(L));
  size_t plane = (size_t)(4 * d.th + 2) * 4 * d.le, rows = (size_t)6 * 4 * d.le;
  /* + one GEMM's int16 input tiles and column scales (the int16 forward pass) */
  size_t q16 = fm_q16_b_size(L->in.c, d.ldv) / 2 + 1 + (size_t)d.ldv + 8;
  return plane + rows + (size_t)36 * (L->in.c + L->out.c) * d.ldv + q16;
}

/* The 6 values G v for v = (a, b, e), 4 kernels' at a time (fm_wino4_kernel4). */
static inline void kernel_rows(v128_t a, v128_t b, v128_t e, v128_t out[6]) {
  v128_t four = F4(4), six = F4(6), twelve = F4(12), t24 = F4(24);
  out[0] = wasm_f32x4_div(a, four);
  out[1] = wasm_f32x4_div(wasm_f32x4_neg(ADD(ADD(a, b), e)), six);
  out[2] = wasm_f32x4_div(wasm_f32x4_neg(ADD(SUB(a, b), e)), six);
  out[3] = ADD(ADD(wasm_f32x4_div(a, t24), wasm_f32x4_div(b, twelve)), wasm_f32x4_div(e, six));
  out[4] = ADD(SUB(wasm_f32x4_div(a, t24), wasm_f32x4_div(b, twelve)), wasm_f32x4_div(e, six));
  out[5] = e;
}

void fm_wino4_kernel(const float *g, float *u, size_t plane) {
  float Gg[6][3];
  for (int c = 0; c < 3; c++) {
    float a = g[c], b = g[3 + c], e = g[6 + c];
    Gg[0][c] = a / 4;
    Gg[1][c] = -(a + b + e) / 6;
    Gg[2][c] = -(a - b + e) / 6;
    Gg[3][c] = a / 24 + b / 12 + e / 6;
    Gg[4][c] = a / 24 - b / 12 + e / 6;
    Gg[5][c] = e;
  }
  for (int r = 0; r < 6; r++) {
    float a = Gg[r][0], b = Gg[r][1], e = Gg[r][2];
    float *o = u + (size_t)r * 6 * plane;
    o[0 * plane] = a / 4;
    o[1 * plane] = -(a + b + e) / 6;
    o[2 * plane] = -(a - b + e) / 6;
    o[3 * plane] = a / 24 + b / 12 + e / 6;
    o[4 * plane] = a / 24 - b / 12 + e / 6;
    o[5 * plane] = e;
  }
}

/* fm_wino4_kernel for 4 kernels at once, g + k * gstride into u[xi * plane
 * + k] (k < 4): the same operations in the same order, lane by lane, so the
 * same bits, with a quarter of the divisions (a training step transforms
 * every kernel twice, and division is the slowest float operation). */
void fm_wino4_kernel4(const float *g, size_t gstride, float *u, size_t plane) {
  v128_t Gg[6][3];
  for (int c = 0; c < 3; c++) {
    v128_t a = wasm_f32x4_make(g[c], g[gstride + c], g[2 * gstride + c], g[3 * gstride + c]);
    v128_t b = wasm_f32x4_make(g[3 + c], g[gstride + 3 + c], g[2 * gstride + 3 + c], g[3 * gstride + 3 + c]);
    v128_t e = wasm_f32x4_make(g[6 + c], g[gstride + 6 + c], g[2 * gstride + 6 + c], g[3 * gstride + 6 + c]);
    v128_t o[6];
    kernel_rows(a, b, e, o);
    for (int r = 0; r < 6; r++) Gg[r][c] = o[r];
  }
  for (int r = 0; r < 6; r++) {
    v128_t o[6];
    kernel_rows(Gg[r][0], Gg[r][1], Gg[r][2], o);
    for (int k = 0; k < 6; k++) wasm_v128_store(u + (size_t)(r * 6 + k) * plane, o[k]);
  }
}

/* The row shifted right by shift (0 or 1), its values t[4k .. 4k+4) with
 * t[i] = x[i - shift] (zero outside the row), for a row of w >= 4 (F(4x4)
 * runs on planes from 7x7 up): inside the row one unaligned load of
 * x + 4k - shift, the first vector and the row's end from the row's first
 * or last 4 values by one shuffle. No state between vectors, so V8 keeps
 * the loop's values in registers (carrying the previous vector from one to
 * the next, it spilled them). */
static inline v128_t shifted(const float *x, int w, int k, int shift) {
  v128_t z = wasm_f32x4_splat(0);
  int s = 4 * k - shift; /* t[4k] = x[s] */
  if (shift && k == 0) return wasm_i32x4_shuffle(z, wasm_v128_load(x), 3, 4, 5, 6);
  if (s + 4 <= w) return wasm_v128_load(x + s);
  if (s >= w) return z;
  v128_t last = wasm_v128_load(x + w - 4);
  int n = w - s; /* 1, 2 or 3 values left */
  return n == 1 ? wasm_i32x4_shuffle(last, z, 3, 4, 4, 4)
       : n == 2 ? wasm_i32x4_shuffle(last, z, 2, 3, 4, 4)
                : wasm_i32x4_shuffle(last, z, 1, 2, 3, 4);
}

/* How many m of a split row's phases can hold a value of a w-wide row
 * (P[r * le + m] = x[4m + r - shift] is zero for every phase r once 4m -
 * shift >= w), rounded up to whole vectors: 8 of the 12 for 28-wide rows, 4
 * of the 8 for 14- and 7-wide ones. The rest of each phase, its "dead"
 * blocks, is zeros that the splits and the column passes skip. */
static inline int live_len(int w, int shift) { return ((w + shift + 3) / 4 + 3) / 4 * 4; }

/* One row x[0..w) into its 4 column phases after shift zeros of padding on
 * the left: P[r * le + m] = x[4m + r - shift], zero outside the row (shift
 * 1 for the input tiles, 0 for the output gradient's), for m < live_len
 * only (the dead blocks are not written). Each block of 16 shifted values
 * (4 vectors of shifted) is deinterleaved by shuffles into 4 values of each
 * phase (le is a multiple of 4), so every row, 7 and 14 wide included, is
 * whole 4-wide loads and stores. */
static inline void split_phases(const float *x, int w, int le, float *P, int shift) {
  int live = live_len(w, shift);
  for (int m = 0; m < live; m += 4) {
    v128_t q[4];
    for (int i = 0; i < 4; i++) q[i] = shifted(x, w, m + i, shift);
    fm_transpose4(q);
    for (int p = 0; p < 4; p++) wasm_v128_store(P + p * le + m, q[p]);
  }
}

static void split_row(const float *x, int w, int le, float *P) { split_phases(x, w, le, P, 1); }

/* B^T d for 6 vectors: the input transform along one direction. */
static inline void bt6(const v128_t d[6], v128_t o[6]) {
  v128_t four = F4(4.0f), five = F4(5.0f), two = F4(2.0f);
  o[0] = ADD(SUB(MUL(four, d[0]), MUL(five, d[2])), d[4]);
  v128_t a = SUB(d[4], MUL(four, d[2])), b = SUB(d[3], MUL(four, d[1]));
  o[1] = ADD(a, b);
  o[2] = SUB(a, b);
  v128_t c = SUB(d[4], d[2]), e = MUL(two, SUB(d[3], d[1]));
  o[3] = ADD(c, e);
  o[4] = SUB(c, e);
  o[5] = ADD(SUB(MUL(four, d[1]), MUL(five, d[3])), d[5]);
}

/* B g for 6 vectors, the transpose of bt6: the input transform's gradient
 * along one direction (g the gradient of bt6's outputs, o of its inputs). */
static inline void b6(const v128_t g[6], v128_t o[6]) {
  v128_t s12 = ADD(g[1], g[2]), t12 = SUB(g[1], g[2]);
  v128_t s34 = ADD(g[3], g[4]), t34 = SUB(g[3], g[4]);
  o[0] = MUL(F4(4.0f), g[0]);
  o[1] = SUB(MUL(F4(4.0f), SUB(g[5], t12)), MUL(F4(2.0f), t34));
  o[2] = SUB(MUL(F4(-5.0f), g[0]), ADD(MUL(F4(4.0f), s12), s34));
  o[3] = SUB(ADD(t12, MUL(F4(2.0f), t34)), MUL(F4(5.0f), g[5]));
  o[4] = ADD(ADD(g[0], s12), s34);
  o[5] = g[5];
}

/* A^T m for 6 vectors: the output transform along one direction. */
static inline void at6(const v128_t m[6], v128_t o[4]) {
  v128_t s12 = ADD(m[1], m[2]), d12 = SUB(m[1], m[2]);
  v128_t s34 = ADD(m[3], m[4]), d34 = SUB(m[3], m[4]);
  o[0] = ADD(ADD(m[0], s12), s34);
  o[1] = ADD(d12, MUL(F4(2.0f), d34));
  o[2] = ADD(s12, MUL(F4(4.0f), s34));
  o[3] = ADD(ADD(d12, MUL(F4(8.0f), d34)), m[5]);
}

/* V[xi][ci][t] for all tiles of channel ci (x: that channel's plane), with
 * le = d.le (a constant where input_tiles can make it one). */
static inline __attribute__((always_inline)) void input_tiles_le(const float *x, int h, int w, wino_dims d,
                                                                 int le, float *plane, float *rows, float *V,
                                                                 size_t vplane) {
  d.le = le;
  int rl = 4 * le, live = live_len(w, 1); /* a split row: its 4 phases */
  fm_wino_split_plane(x, h, w, 4 * d.th + 2, rl, le, plane, split_row);
  /* The dead blocks of the transformed rows are zeros (B^T of zeros); the
   * row pass's last tiles read the first of them, so they are stored once
   * here and the column pass below leaves them alone. */
  for (int r = 0; r < 4; r++)
    for (int m = live; m < le; m += 4)
      for (int k = 0; k < 6; k++) fm_wino_zero4(rows + (size_t)k * rl + r * le + m);
  for (int ty = 0; ty < d.th; ty++) {
    const float *R = plane + (size_t)4 * ty * rl;
    /* B^T down the columns: rows[0..6), each a split row's live blocks. */
    for (int r = 0; r < 4; r++)
      for (int m = 0; m < live; m += 4) {
        int i = r * le + m;
        v128_t in[6], out[6];
        for (int k = 0; k < 6; k++) in[k] = wasm_v128_load(R + (size_t)k * rl + i);
        bt6(in, out);
        for (int k = 0; k < 6; k++) wasm_v128_store(rows + (size_t)k * rl + i, out[k]);
      }
    /* B along the rows, 4 tiles at a time. */
    for (int tx = 0; tx < d.tw; tx += 4) {
      const float *P0 = rows + tx;
      float *v = V + (size_t)ty * d.tw + tx;
      for (int k = 0; k < 6; k++, P0 += rl, v += 6 * vplane) {
        const float *P1 = P0 + d.le, *P2 = P1 + d.le, *P3 = P2 + d.le;
        v128_t in[6] = {wasm_v128_load(P0), wasm_v128_load(P1), wasm_v128_load(P2),
                        wasm_v128_load(P3), wasm_v128_load(P0 + 1), wasm_v128_load(P1 + 1)};
        v128_t out[6];
        bt6(in, out);
        for (int c = 0; c < 6; c++) wasm_v128_store(v + c * vplane, out[c]);
      }
    }
  }
}

/* The split rows' length le is 8 on planes 5-12 wide and 12 on 13-28 wide
 * (every F(4x4) layer of the shipped models): as a constant the compiler
 * folds each row's offset into the loads and stores, where V8 otherwise
 * computes each of a step's 12 addresses with an instruction of its own
 * and reloads the row pointers from the stack. */
static void input_tiles(const float *x, int h, int w, wino_dims d, float *plane, float *rows,
                        float *V, size_t vplane) {
  if (d.le == 8) input_tiles_le(x, h, w, d, 8, plane, rows, V, vplane);
  else if (d.le == 12) input_tiles_le(x, h, w, d, 12, plane, rows, V, vplane);
  else input_tiles_le(x, h, w, d, d.le, plane, rows, V, vplane);
}

/* A z for 4 vectors: the output gradient's transform along one direction
 * (the transpose of at6). */
static inline void a4(const v128_t z[4], v128_t o[6]) {
  v128_t s02 = ADD(z[0], z[2]), s13 = ADD(z[1], z[3]);
  v128_t q02 = ADD(z[0], MUL(F4(4.0f), z[2])), q13 = ADD(MUL(F4(2.0f), z[1]), MUL(F4(8.0f), z[3]));
  o[0] = z[0];
  o[1] = ADD(s02, s13);
  o[2] = SUB(s02, s13);
  o[3] = ADD(q02, q13);
  o[4] = SUB(q02, q13);
  o[5] = z[3];
}

/* Z[xi][co][t] = (A dy A^T)[xi] for all 4x4 tiles of one output-gradient
 * plane (dy: that channel's plane), the transpose of output_tiles: each
 * row split into its 4 column phases P_r[m] = dy[4m + r] (whole vectors, as
 * the input rows are: one value at a time with a bounds check each, this
 * split cost as much as the transform after it). */
static void grad_tiles(const float *dy, int h, int w, wino_dims d, float *plane, float *rows,
                       float *Z, size_t zplane) {
  /* Only the live blocks: the row pass below reads phases up to tile tw
   * rounded up to 4, which is live_len(w, 0). */
  int rl = 4 * d.le, live = live_len(w, 0);
  for (int r = 0; r < 4 * d.th; r++) {
    float *P = plane + (size_t)r * rl;
    if (r >= h) {
      for (int m = 0; m < live; m += 4)
        for (int p = 0; p < 4; p++) fm_wino_zero4(P + p * d.le + m);
      continue;
    }
    split_phases(dy + (size_t)r * w, w, d.le, P, 0);
  }
  for (int ty = 0; ty < d.th; ty++) {
    const float *R = plane + (size_t)4 * ty * rl;
    for (int p = 0; p < 4; p++) /* A down the columns */
      for (int m = 0; m < live; m += 4) {
        int i = p * d.le + m;
        v128_t in[4], out[6];
        for (int k = 0; k < 4; k++) in[k] = wasm_v128_load(R + (size_t)k * rl + i);
        a4(in, out);
        for (int k = 0; k < 6; k++) wasm_v128_store(rows + (size_t)k * rl + i, out[k]);
      }
    for (int k = 0; k < 6; k++) { /* A^T along the rows, 4 tiles at a time */
      const float *P0 = rows + (size_t)k * rl;
      float *z = Z + (size_t)6 * k * zplane + (size_t)ty * d.tw;
      for (int tx = 0; tx < d.tw; tx += 4) {
        v128_t in[4] = {wasm_v128_load(P0 + tx), wasm_v128_load(P0 + d.le + tx),
                        wasm_v128_load(P0 + 2 * d.le + tx), wasm_v128_load(P0 + 3 * d.le + tx)};
        v128_t out[6];
        a4(in, out);
        for (int c = 0; c < 6; c++) wasm_v128_store(z + c * zplane + tx, out[c]);
      }
    }
  }
}

/* Stores the 4 floats of v at row[x..x+4), the part left of w only. */
static inline void store_row_part(float *row, int x, int w, v128_t v) {
  if (x + 4 <= w) {
    wasm_v128_store(row + x, v);
  } else if (x + 1 == w) {
    wasm_v128_store32_lane(row + x, v, 0);
  } else if (x + 2 == w) {
    wasm_v128_store64_lane(row + x, v, 0);
  } else if (x + 3 == w) {
    wasm_v128_store64_lane(row + x, v, 0);
    wasm_v128_store32_lane(row + x + 2, v, 2);
  }
}

/* The input gradient of one channel's plane, the transpose of input_tiles:
 * each tile's B dV B^T (dV[xi][t], xi's plane vplane apart) added into the
 * 6x6 patch of zero-padded input the tile read. Neighbouring patches
 * overlap by 2 rows and 2 columns. The sums are built as split rows in
 * plane (row r: input row r - 1, in input_tiles's 4 column phases), then
 * merged into dx's rows, zero where gate (NULL: none) is not above zero. */
static void input_grad_tiles(const float *dV, size_t vplane, const float *gate, int h, int w,
                             wino_dims d, float *plane, float *rows, float *dx) {
  int le = d.le, rl = 4 * le, live = live_len(w, 1);
  v128_t zero = wasm_f32x4_splat(0);
  for (int ty = 0; ty < d.th; ty++) {
    /* B along the rows, 4 tiles at a time: tile m's patch columns 0-3 go
     * to phases 0-3 of m, its columns 4 and 5 to phases 0 and 1 of m + 1,
     * carried into the next vector by one shuffle. Lanes past the row's
     * last tile hold the next tile row's (or slack): of their sums only
     * column 0 can land inside the row, so it is masked off. */
    for (int r = 0; r < 6; r++) {
      const float *v = dV + (size_t)6 * r * vplane + (size_t)ty * d.tw;
      float *P = rows + (size_t)r * rl;
      v128_t c4 = zero, c5 = zero;
      int tx = 0;
      for (; tx < d.tw; tx += 4) {
        v128_t in[6], o[6];
        for (int c = 0; c < 6; c++) in[c] = wasm_v128_load(v + c * vplane + tx);
        b6(in, o);
        if (tx + 4 > d.tw)
          o[0] = wasm_v128_and(o[0], wasm_i32x4_lt(wasm_i32x4_make(0, 1, 2, 3), wasm_i32x4_splat(d.tw - tx)));
        wasm_v128_store(P + tx, ADD(o[0], wasm_i32x4_shuffle(c4, o[4], 3, 4, 5, 6)));
        wasm_v128_store(P + le + tx, ADD(o[1], wasm_i32x4_shuffle(c5, o[5], 3, 4, 5, 6)));
        wasm_v128_store(P + 2 * le + tx, o[2]);
        wasm_v128_store(P + 3 * le + tx, o[3]);
        c4 = o[4], c5 = o[5];
      }
      if (tx < live) { /* a whole last vector of tiles: its carry starts the next block */
        wasm_v128_store(P + tx, wasm_i32x4_shuffle(c4, zero, 3, 4, 4, 4));
        wasm_v128_store(P + le + tx, wasm_i32x4_shuffle(c5, zero, 3, 4, 4, 4));
        wasm_v128_store(P + 2 * le + tx, zero);
        wasm_v128_store(P + 3 * le + tx, zero);
      }
    }
    /* B down the columns into plane rows 4 ty .. 4 ty + 5; the first two
     * add to what the tile row above left there. */
    float *R = plane + (size_t)4 * ty * rl;
    for (int p = 0; p < 4; p++)
      for (int m = 0; m < live; m += 4) {
        int i = p * le + m;
        v128_t in[6], o[6];
        for (int k = 0; k < 6; k++) in[k] = wasm_v128_load(rows + (size_t)k * rl + i);
        b6(in, o);
        for (int k = 0; k < 2; k++)
          wasm_v128_store(R + (size_t)k * rl + i, ty ? ADD(wasm_v128_load(R + (size_t)k * rl + i), o[k]) : o[k]);
        for (int k = 2; k < 6; k++) wasm_v128_store(R + (size_t)k * rl + i, o[k]);
      }
  }
  /* Merge: dx[4q .. 4q + 3] = P1[q], P2[q], P3[q], P0[q + 1]; 4 q at a
   * time by a 4x4 transpose. */
  for (int y = 0; y < h; y++) {
    const float *P = plane + (size_t)(y + 1) * rl;
    const float *gr = gate ? gate + (size_t)y * w : NULL;
    float *row = dx + (size_t)y * w;
    for (int m = 0; 4 * m < w; m += 4) {
      v128_t out[4] = {wasm_v128_load(P + le + m), wasm_v128_load(P + 2 * le + m),
                       wasm_v128_load(P + 3 * le + m), wasm_v128_load(P + m + 1)};
      fm_transpose4(out);
      for (int k = 0; k < 4 && 4 * (m + k) < w; k++) {
        if (gr) out[k] = wasm_v128_and(out[k], wasm_f32x4_gt(shifted(gr, w, m + k, 0), zero));
        store_row_part(row, 4 * (m + k), w, out[k]);
      }
    }
  }
}

/* The epilogue: v * scale + shift, then ReLU. */
static inline v128_t epilogue(v128_t v, v128_t scale, v128_t shift, int relu) {
  v = ADD(MUL(v, scale), shift);
  return relu ? wasm_f32x4_pmax(v, wasm_f32x4_splat(0)) : v;
}

/* The 2x2 max-pool of the epilogue's outputs for rows a and b of 4 tiles
 * (o[j]: output column j, lane i: tile tx + i), stored as pooled columns
 * 2 tx .. 2 tx + 7 of row yr (w2 wide). Tiles hold whole windows, so
 * nothing crosses a tile. The epilogue x * scale + shift (then ReLU) is
 * monotonic in x, in float rounding too: non-decreasing for scale >= 0,
 * so the largest output is the epilogue of the largest sum, and
 * non-increasing for scale < 0 (a batch norm's negative gamma), so it is
 * the epilogue of the smallest. So the window is pooled on the bare sums and
 * the epilogue applied once per pooled value instead of four times. */
static void pool_rows(const v128_t a[4], const v128_t b[4], int tx, int w2, v128_t scale, v128_t shift,
                      int relu, int descending, float *yr) {
  v128_t p[2];
  for (int h = 0; h < 2; h++) {
    const v128_t *x = a + 2 * h, *y = b + 2 * h;
    p[h] = descending ? wasm_f32x4_pmin(wasm_f32x4_pmin(x[0], x[1]), wasm_f32x4_pmin(y[0], y[1]))
                      : wasm_f32x4_pmax(wasm_f32x4_pmax(x[0], x[1]), wasm_f32x4_pmax(y[0], y[1]));
    p[h] = epilogue(p[h], scale, shift, relu);
  }
  store_row_part(yr, 2 * tx, w2, wasm_i32x4_shuffle(p[0], p[1], 0, 4, 1, 5));
  store_row_part(yr, 2 * tx + 4, w2, wasm_i32x4_shuffle(p[0], p[1], 2, 6, 3, 7));
}

/* y[co] = (A^T M A) * scale + shift (then ReLU, then with pool the 2x2
 * max-pool into y [h/2, w/2]), 4 tiles of a tile row at a time. A scale of 1
 * leaves every value exactly as it is. */
static void output_tiles(const float *M, size_t mplane, float scale, float shift, int relu,
                         int pool, int h, int w, wino_dims d, float *y) {
  v128_t b = wasm_f32x4_splat(shift), sc = wasm_f32x4_splat(scale);
  for (int ty = 0; ty < d.th; ty++) {
    int rows_in = FM_MIN(4, h - 4 * ty);
    for (int tx = 0; tx < d.tw; tx += 4) {
      const float *m = M + (size_t)ty * d.tw + tx;
      v128_t col[4][6]; /* A^T down the columns: col[k][c] */
      for (int c = 0; c < 6; c++) {
        v128_t in[6], out[4];
        for (int r = 0; r < 6; r++) in[r] = wasm_v128_load(m + (size_t)(6 * r + c) * mplane);
        at6(in, out);
        for (int k = 0; k < 4; k++) col[k][c] = out[k];
      }
      if (pool) {
        int w2 = w / 2;
        for (int p = 0; p < 2 && 2 * ty + p < h / 2; p++) {
          v128_t o[2][4];
          for (int r = 0; r < 2; r++) at6(col[2 * p + r], o[r]);
          pool_rows(o[0], o[1], tx, w2, sc, b, relu, scale < 0, y + (size_t)(2 * ty + p) * w2);
        }
        continue;
      }
      for (int k = 0; k < rows_in; k++) {
        v128_t o[4]; /* A along the row: o[j] = output column j of the 4 tiles */
        at6(col[k], o);
        for (int j = 0; j < 4; j++) o[j] = epilogue(o[j], sc, b, relu);
        fm_transpose4(o); /* now o[i] is tile tx + i's 4 outputs */
        float *yr = y + (size_t)(4 * ty + k) * w;
        for (int i = 0; i < 4; i++) store_row_part(yr, 4 * (tx + i), w, o[i]);
      }
    }
  }
}

/* The scratch as split planes, transform rows, V [36][cin][ldv] and then
 * room for [36][cout][ldv] (M or Z); V filled from x [G, cin, h, w] (x NULL:
 * the layout alone). Sample g's tiles are columns [g T, (g + 1) T); in this
 * order each sample's 4-wide overrun past its last tile is overwritten by
 * the next. */
static float *transform_inputs(const float *x, int cin, int h, int w, int G, wino_dims d,
                               float *scratch, float **plane, float **rows, float **after) {
  *plane = scratch, *rows = *plane + (size_t)(4 * d.th + 2) * 4 * d.le;
  float *V = *rows + (size_t)6 * 4 * d.le;
  *after = V + (size_t)36 * cin * d.ldv;
  for (int ci = 0; x && ci < cin; ci++)
    for (int g = 0; g < G; g++)
      input_tiles(x + ((size_t)g * cin + ci) * h * w, h, w, d, *plane, *rows,
                  V + (size_t)ci * d.ldv + (size_t)g * d.T, (size_t)cin * d.ldv);
  return V;
}

void fm_wino4_conv(int cin, int cout, int h, int w, const float *U, const fm_wino_q16 *q,
                   fm_wino_epilogue e, const float *x, float *y, int G, float *scratch) {
  int ohw = e.pool ? (h / 2) * (w / 2) : h * w; /* one output plane */
  wino_dims d = dims_of(h, w, G);
  float *plane, *rows, *M;
  float *V = transform_inputs(x, cin, h, w, G, d, scratch, &plane, &rows, &M);
  size_t vplane = (size_t)cin * d.ldv, mplane = (size_t)cout * d.ldv, uplane = (size_t)cout * cin;
  int N = G * d.T;
  if (q) {
    /* Each GEMM's input tiles quantised into an L1-sized buffer after M,
     * then multiplied in int16 (gemm_q16.h); N rounded up to 8 fits in the
     * rows of M (ldv >= N8). */
    float *cs = M + (size_t)36 * mplane;
    int16_t *vq = (int16_t *)(cs + d.ldv + 8);
    size_t ua = fm_q16_a_size(cout, cin), us = fm_q16_a_scales(cout);
    for (int xi = 0; xi < 36; xi++) {
      fm_q16_pack_b(cin, N, V + xi * vplane, d.ldv, vq, cs);
      fm_gemm_q16(cout, N, cin, q->a + xi * ua, q->scale + xi * us, vq, cs, M + xi * mplane, d.ldv);
    }
  } else {
    for (int xi = 0; xi < 36; xi++)
      fm_gemm(cout, N, cin, U + xi * uplane, cin, 1, V + xi * vplane, d.ldv, 1, M + xi * mplane,
              d.ldv, 0);
  }
  for (int g = 0; g < G; g++)
    for (int co = 0; co < cout; co++)
      output_tiles(M + (size_t)co * d.ldv + (size_t)g * d.T, mplane, e.scale ? e.scale[co] : 1.0f,
                   e.shift ? e.shift[co] : 0.0f, e.relu, e.pool, h, w, d, y + ((size_t)g * cout + co) * ohw);
}

size_t fm_wino4_q16_size(int cin, int cout) { return (size_t)36 * fm_q16_a_size(cout, cin); }
size_t fm_wino4_q16_scales(int cout) { return (size_t)36 * fm_q16_a_scales(cout); }

void fm_wino4_q16_weights(const float *U, int cin, int cout, int16_t *a, float *scale) {
  size_t uplane = (size_t)cout * cin, ua = fm_q16_a_size(cout, cin), us = fm_q16_a_scales(cout);
  for (int xi = 0; xi < 36; xi++)
    fm_q16_pack_a(cout, cin, U + xi * uplane, cin, a + xi * ua, scale + xi * us);
}

void fm_wino4_backward(int cin, int cout, int h, int w, const float *x, const float *dy, const float *Ut,
                       const float *gate, float *dU, float *dx, int G, float *scratch) {
  int hw = h * w;
  wino_dims d = dims_of(h, w, G);
  size_t vplane = (size_t)cin * d.ldv, zplane = (size_t)cout * d.ldv, uplane = (size_t)cout * cin;
  float *plane, *rows, *Z;
  float *V = transform_inputs(dU ? x : NULL, cin, h, w, G, d, scratch, &plane, &rows, &Z);
  for (int co = 0; co < cout; co++)
    for (int g = 0; g < G; g++)
      grad_tiles(dy + ((size_t)g * cout + co) * hw, h, w, d, plane, rows,
                 Z + (size_t)co * d.ldv + (size_t)g * d.T, zplane);
  int used = G * d.T; /* the slack columns after them are left out of the sums */
  if (dU) {
    /* dU[xi] [cout x cin] += Z[xi] [cout x T] * V[xi]^T [T x cin] */
    for (int xi = 0; xi < 36; xi++)
      fm_gemm(cout, cin, used, Z + xi * zplane, d.ldv, 1, V + xi * vplane, 1, d.ldv,
              dU + xi * uplane, cin, 1);
  }
  if (!dx) return;
  /* The gradient of V, U^T Z, in V's place: dV[xi] [cin x T] = Ut[xi]
   * [cin x cout] * Z[xi] [cout x T]; then each tile's B dV B^T back into
   * the input planes. */
  for (int xi = 0; xi < 36; xi++)
    fm_gemm(cin, used, cout, Ut + xi * uplane, cout, 1, Z + xi * zplane, d.ldv, 1, V + xi * vplane,
            d.ldv, 0);
  for (int g = 0; g < G; g++)
    for (int ci = 0; ci < cin; ci++) {
      size_t at = ((size_t)g * cin + ci) * hw;
      input_grad_tiles(V + (size_t)ci * d.ldv + (size_t)g * d.T, vplane, gate ? gate + at : NULL, h, w, d,
                       plane, rows, dx + at);
    }
}

void fm_wino4_grad_weights(const float *dU, int cin, int cout, float *dw) {
  /* dw[co][ci] += G^T dU[.][co][ci] G, with G^T's rows: */
  static const float gt[3][6] = {{1.0f / 4, -1.0f / 6, -1.0f / 6, 1.0f / 24, 1.0f / 24, 0},
                                 {0, -1.0f / 6, 1.0f / 6, 1.0f / 12, -1.0f / 12, 0},
                                 {0, -1.0f / 6, -1.0f / 6, 1.0f / 6, 1.0f / 6, 1}};
  size_t plane = (size_t)cout * cin;
  for (size_t p = 0; p < plane; p++) {
    float u[6][6], r[3][6];
    for (int xi = 0; xi < 36; xi++) u[xi / 6][xi % 6] = dU[xi * plane + p];
    for (int a = 0; a < 3; a++)
      for (int c = 0; c < 6; c++) {
        float s = 0;
        for (int k = 0; k < 6; k++) s += gt[a][k] * u[k][c];
        r[a][c] = s;
      }
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) {
        float s = 0;
        for (int c = 0; c < 6; c++) s += r[a][c] * gt[b][c];
        dw[p * 9 + a * 3 + b] += s;
      }
  }
}

/* winograd.c: the 3x3 convolution's forward pass, and the gradient of its
 * input, as Winograd: F(4x4, 3x3) (winograd4.c) on planes from 7x7 up, and
 * here F(2x2, 3x3)
 * (Lavin & Gray 2016), 16 multiplies per 2x2 output tile and channel pair
 * instead of 36: 2.25x fewer than im2col + GEMM, which already runs at 90%+
 * of the core's peak, so this is the only way left to make a one-image
 * forward pass cheaper (the README's 0.3 ms goal).
 *
 * With tiles t = (ty, tx) of 2x2 outputs reading 4x4 inputs (the tiles of up
 * to fm_wino_group samples side by side):
 *   U[xi][co][ci] = (G g G^T)[xi]      weights, once per weight change
 *   V[xi][ci][t]  = (B^T d B)[xi]      input tiles
 *   M[xi]         = U[xi] * V[xi]      16 GEMMs [cout x cin] * [cin x T]
 *   y tile        = A^T M A + bias     output tiles
 * (xi runs over the 16 positions of the 4x4 transformed tile.) The
 * transforms are SIMD across 4 neighbouring tiles of a row: each input row is
 * split into its odd and even columns first, so a tile's 4 columns are
 * E[tx], O[tx], E[tx+1], O[tx+1] and every access is a contiguous load.
 * The transform coefficients are 0, +-1 and 1/2, so the result differs from
 * the direct sum only by float rounding (tested against direct loops).
 *
 * The input gradient of a stride-1 "same" 3x3 convolution is itself one:
 * dx[ci] = sum over co of dy[co] convolved with w[co][ci] turned by 180
 * degrees, so it runs through the same code with the channels swapped and
 * the turned kernels transformed (fm_wino_weights_dx). */
#include "winograd.h"

#include "../common.h"
#include "../kernels/gemm.h"
#include "../kernels/simd.h"

/* 2x2 output tiles; le is the length of one odd- or even-column half row. */
typedef fm_wino_dims wino_dims;
static wino_dims dims_of(int h, int w, int G) { return fm_wino_dims_of(h, w, G, 2); }

int fm_wino_applies(const fm_layer *L) {
  /* With few input channels the transforms cost more than the multiplies
   * saved (the first layer, cin = 1, stays on im2col). Building with
   * -DFM_NO_WINO puts every layer back on im2col, for A/B timings. */
#ifdef FM_NO_WINO
  return 0;
#endif
  return L->kind == FM_CONV && L->k == 3 && L->in.c >= 8;
}

int fm_wino_dx_applies(const fm_layer *L) {
  /* -DFM_NO_WINO_DX keeps the forward pass on Winograd and the input
   * gradient on im2col, for A/B timings of the backward pass alone. */
#ifdef FM_NO_WINO_DX
  return 0;
#endif
  return fm_wino_applies(L);
}

static int group2(const fm_layer *L) {
  /* Small planes make narrow GEMMs (16 tiles at 7x7): several samples side
   * by side widen them to about 64 columns. The columns are independent, so
   * the results are the same bit for bit, only faster. */
  int T = dims_of(L->in.h, L->in.w, 1).T;
  return FM_MAX(1, FM_MIN(4, (64 + T - 1) / T));
}

static size_t scratch2(const fm_layer *L) {
  wino_dims d = dims_of(L->in.h, L->in.w, group2(L));
  size_t plane = (size_t)(2 * d.th + 2) * 2 * d.le, rows = (size_t)8 * d.le;
  return plane + rows + (size_t)16 * (L->in.c + L->out.c) * d.ldv;
}


/* u[xi * plane] = (G g G^T)[xi] for one 3x3 kernel g (row-major). */
static void transform_kernel(const float *g, float *u, size_t plane) {
  float Gg[4][3]; /* G g: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 */
  for (int c = 0; c < 3; c++) {
    Gg[0][c] = g[c];
    Gg[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
    Gg[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
    Gg[3][c] = g[6 + c];
  }
  for (int r = 0; r < 4; r++) { /* (G g) G^T, row by row */
    const float *a = Gg[r];
    u[(r * 4 + 0) * plane] = a[0];
    u[(r * 4 + 1) * plane] = 0.5f * (a[0] + a[1] + a[2]);
    u[(r * 4 + 2) * plane] = 0.5f * (a[0] - a[1] + a[2]);
    u[(r * 4 + 3) * plane] = a[2];
  }
}

/* One input row x[0..w) into its halves with one zero of padding on the
 * left: E[m] = x[2m - 1], O[m] = x[2m], zero outside the row. */
static void split_row(const float *x, int w, int le, float *E) {
  float *O = E + le;
  /* 8 values at a time, then the last few and the zeros one by one. */
  E[0] = 0;
  int m = 0;
  for (; 2 * m + 8 <= w; m += 4) {
    v128_t a = wasm_v128_load(x + 2 * m), b = wasm_v128_load(x + 2 * m + 4);
    wasm_v128_store(O + m, wasm_i32x4_shuffle(a, b, 0, 2, 4, 6));
    wasm_v128_store(E + m + 1, wasm_i32x4_shuffle(a, b, 1, 3, 5, 7));
  }
  for (; m < le; m++) {
    O[m] = 2 * m < w ? x[2 * m] : 0.0f;
    if (m + 1 < le) E[m + 1] = 2 * m + 1 < w ? x[2 * m + 1] : 0.0f;
  }
}

/* V[xi][ci][t] for all tiles of channel ci (x: that channel's plane). */
static void input_tiles(const float *x, int h, int w, wino_dims d, float *plane, float *rows,
                        float *V, size_t vplane) {
  int rl = 2 * d.le; /* a split row: E then O */
  fm_wino_split_plane(x, h, w, 2 * d.th + 2, rl, d.le, plane, split_row);
  for (int ty = 0; ty < d.th; ty++) {
    const float *R0 = plane + (size_t)2 * ty * rl, *R1 = R0 + rl, *R2 = R1 + rl, *R3 = R2 + rl;
    /* B^T down the columns: rows[xi] (E and O halves side by side). */
    for (int i = 0; i < rl; i += 4) {
      v128_t r0 = wasm_v128_load(R0 + i), r1 = wasm_v128_load(R1 + i);
      v128_t r2 = wasm_v128_load(R2 + i), r3 = wasm_v128_load(R3 + i);
      wasm_v128_store(rows + i, wasm_f32x4_sub(r0, r2));
      wasm_v128_store(rows + rl + i, wasm_f32x4_add(r1, r2));
      wasm_v128_store(rows + 2 * rl + i, wasm_f32x4_sub(r2, r1));
      wasm_v128_store(rows + 3 * rl + i, wasm_f32x4_sub(r1, r3));
    }
    /* B along the rows: columns E[tx], O[tx], E[tx+1], O[tx+1]. */
    for (int xi = 0; xi < 4; xi++) {
      const float *E = rows + xi * rl, *O = E + d.le;
      float *v = V + (size_t)4 * xi * vplane + (size_t)ty * d.tw;
      for (int tx = 0; tx < d.tw; tx += 4) {
        v128_t e0 = wasm_v128_load(E + tx), e1 = wasm_v128_load(E + tx + 1);
        v128_t o0 = wasm_v128_load(O + tx), o1 = wasm_v128_load(O + tx + 1);
        wasm_v128_store(v + tx, wasm_f32x4_sub(e0, e1));
        wasm_v128_store(v + vplane + tx, wasm_f32x4_add(o0, e1));
        wasm_v128_store(v + 2 * vplane + tx, wasm_f32x4_sub(e1, o0));
        wasm_v128_store(v + 3 * vplane + tx, wasm_f32x4_sub(o0, o1));
      }
    }
  }
}

/* y[co] = (A^T M A) * scale + shift (then ReLU), 4 tiles of a tile row at a
 * time. A scale of 1 leaves every value exactly as it is. */
static void output_tiles(const float *M, size_t mplane, float scale, float shift, int relu, int h,
                         int w, wino_dims d, float *y) {
  v128_t b = wasm_f32x4_splat(shift), sc = wasm_f32x4_splat(scale);
  for (int ty = 0; ty < d.th; ty++) {
    float *y0 = y + (size_t)2 * ty * w, *y1 = y0 + w;
    int two_rows = 2 * ty + 1 < h;
    for (int tx = 0; tx < d.tw; tx += 4) {
      const float *m = M + (size_t)ty * d.tw + tx;
      v128_t s[4], df[4];
      for (int nu = 0; nu < 4; nu++) { /* A^T down the columns */
        v128_t m0 = wasm_v128_load(m + nu * mplane), m1 = wasm_v128_load(m + (4 + nu) * mplane);
        v128_t m2 = wasm_v128_load(m + (8 + nu) * mplane), m3 = wasm_v128_load(m + (12 + nu) * mplane);
        s[nu] = wasm_f32x4_add(wasm_f32x4_add(m0, m1), m2);
        df[nu] = wasm_f32x4_sub(wasm_f32x4_sub(m1, m2), m3);
      }
      /* A along the rows, then interleave the two output columns. */
      v128_t y00 = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(s[0], s[1]), s[2]), sc), b);
      v128_t y01 = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_sub(s[1], s[2]), s[3]), sc), b);
      v128_t y10 = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(df[0], df[1]), df[2]), sc), b);
      v128_t y11 = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_sub(df[1], df[2]), df[3]), sc), b);
      if (relu) {
        v128_t zero = wasm_f32x4_splat(0);
        y00 = wasm_f32x4_pmax(y00, zero), y01 = wasm_f32x4_pmax(y01, zero);
        y10 = wasm_f32x4_pmax(y10, zero), y11 = wasm_f32x4_pmax(y11, zero);
      }
      v128_t out[4] = {wasm_i32x4_shuffle(y00, y01, 0, 4, 1, 5), wasm_i32x4_shuffle(y00, y01, 2, 6, 3, 7),
                       wasm_i32x4_shuffle(y10, y11, 0, 4, 1, 5), wasm_i32x4_shuffle(y10, y11, 2, 6, 3, 7)};
      /* Output columns x0 .. x0 + 7, four at a time; past the right edge
       * (the last chunk of a row) only the columns inside. */
      for (int half = 0; half < 2; half++) {
        int x = 2 * tx + 4 * half;
        if (x + 4 <= w) {
          wasm_v128_store(y0 + x, out[half]);
          if (two_rows) wasm_v128_store(y1 + x, out[2 + half]);
        } else if (x < w) {
          float t[2][4];
          wasm_v128_store(t[0], out[half]);
          wasm_v128_store(t[1], out[2 + half]);
          for (int j = 0; x + j < w; j++) {
            y0[x + j] = t[0][j];
            if (two_rows) y1[x + j] = t[1][j];
          }
        }
      }
    }
  }
}

/* y [G, cout, h, w] = conv3x3(x [G, cin, h, w]), then the epilogue. */
static void wino_conv(int cin, int cout, int h, int w, const float *U, fm_wino_epilogue e,
                      const float *x, float *y, int G, float *scratch) {
  int hw = h * w;
  wino_dims d = dims_of(h, w, G);
  float *plane = scratch, *rows = plane + (size_t)(2 * d.th + 2) * 2 * d.le;
  float *V = rows + (size_t)8 * d.le, *M = V + (size_t)16 * cin * d.ldv;
  size_t vplane = (size_t)cin * d.ldv, mplane = (size_t)cout * d.ldv, uplane = (size_t)cout * cin;
  /* Sample g's tiles are columns [g T, (g + 1) T). In this order each
   * sample's 4-wide overrun past its last tile is overwritten by the next. */
  for (int ci = 0; ci < cin; ci++)
    for (int g = 0; g < G; g++)
      input_tiles(x + ((size_t)g * cin + ci) * hw, h, w, d, plane, rows,
                  V + (size_t)ci * d.ldv + (size_t)g * d.T, vplane);
  for (int xi = 0; xi < 16; xi++)
    fm_gemm(cout, G * d.T, cin, U + xi * uplane, cin, 1, V + xi * vplane, d.ldv, 1,
            M + xi * mplane, d.ldv, 0);
  for (int g = 0; g < G; g++)
    for (int co = 0; co < cout; co++)
      output_tiles(M + (size_t)co * d.ldv + (size_t)g * d.T, mplane, e.scale ? e.scale[co] : 1.0f,
                   e.shift ? e.shift[co] : 0.0f, e.relu, h, w, d, y + ((size_t)g * cout + co) * hw);
}

/* F(4x4, 3x3) (winograd4.c) does 36 multiplies for 16 outputs instead of
 * 64, but its transforms cost more per output and its tiles overhang small
 * planes: from 7x7 up it is faster on every layer measured (x1.18 to x1.31
 * per layer in wasm), below it F(2x2) is (x0.64 to x0.83 on 1x1 to 6x17). */
static int tile4(const fm_layer *L) {
#ifdef FM_NO_WINO4
  return 0;
#endif
  return L->in.h >= 7 && L->in.w >= 7;
}

int fm_wino_group(const fm_layer *L) { return tile4(L) ? fm_wino4_group(L) : group2(L); }

int fm_wino_pools(const fm_layer *L) { return fm_wino_applies(L) && tile4(L); }

size_t fm_wino_scratch(const fm_layer *L) { return tile4(L) ? fm_wino4_scratch(L) : scratch2(L); }

size_t fm_wino_weights_size(const fm_layer *L) {
  return (size_t)(tile4(L) ? 36 : 16) * L->out.c * L->in.c;
}

/* Every kernel through F(2x2)'s or F(4x4)'s weight transform: as they are
 * (U [xi][cout][cin]), or for the input gradient with the channels swapped
 * (Ut [xi][cin][cout]) and, for F(2x2), turned by 180 degrees. */
static void weights(const fm_layer *L, float *U, int dx) {
  int cin = L->in.c, cout = L->out.c;
  size_t plane = (size_t)cout * cin;
  if (tile4(L)) {
    /* 4 kernels at a time along U's rows: neighbouring ci (U), or
     * neighbouring co (Ut); the rest of a row one by one. */
    int rows = dx ? cin : cout, cols = dx ? cout : cin;
    size_t step = dx ? (size_t)cin * 9 : 9; /* from one kernel of a row to the next */
    for (int r = 0; r < rows; r++) {
      const float *g = L->w + (dx ? (size_t)r : (size_t)r * cin) * 9;
      float *u = U + (size_t)r * cols;
      int c = 0;
      for (; c + 4 <= cols; c += 4) fm_wino4_kernel4(g + c * step, step, u + c, plane);
      for (; c < cols; c++) fm_wino4_kernel(g + c * step, u + c, plane);
    }
    return;
  }
  for (int co = 0; co < cout; co++)
    for (int ci = 0; ci < cin; ci++) {
      const float *g = L->w + ((size_t)co * cin + ci) * 9;
      float r[9];
      if (dx)
        for (int i = 0; i < 9; i++) r[i] = g[8 - i];
      transform_kernel(dx ? r : g, dx ? U + (size_t)ci * cout + co : U + (size_t)co * cin + ci, plane);
    }
}

void fm_wino_weights(const fm_layer *L, float *U) { weights(L, U, 0); }

void fm_wino_weights_dx(const fm_layer *L, float *Ut) { weights(L, Ut, 1); }

/* Only F(4x4) layers run in int16: F(2x2) planes are small (under 7x7),
 * and there the quantising would cost about what the GEMMs save.
 * -DFM_NO_Q16 keeps inference in float32, for A/B timings. */
int fm_wino_q16_applies(const fm_layer *L) {
#ifdef FM_NO_Q16
  return 0;
#endif
  return fm_wino_applies(L) && tile4(L);
}

size_t fm_wino_q16_size(const fm_layer *L) { return fm_wino4_q16_size(L->in.c, L->out.c); }
size_t fm_wino_q16_scales(const fm_layer *L) { return fm_wino4_q16_scales(L->out.c); }

void fm_wino_q16_weights(const fm_layer *L, const float *U, int16_t *wq, float *wqs) {
  fm_wino4_q16_weights(U, L->in.c, L->out.c, wq, wqs);
}

void fm_wino_forward_fused(const fm_layer *L, const float *U, const float *x, float *y, int G,
                           float *scratch, fm_wino_epilogue e, int q16) {
  fm_wino_q16 q = {L->wq, L->wqs}; /* wq exists only where fm_wino_q16_applies */
  if (tile4(L))
    fm_wino4_conv(L->in.c, L->out.c, L->in.h, L->in.w, U, q16 && L->wq ? &q : NULL, e, x, y, G, scratch);
  else wino_conv(L->in.c, L->out.c, L->in.h, L->in.w, U, e, x, y, G, scratch);
}

void fm_wino_forward(const fm_layer *L, const float *U, const float *x, float *y, int G,
                     float *scratch) {
  fm_wino_forward_fused(L, U, x, y, G, scratch, (fm_wino_epilogue){NULL, L->b, 0, 0}, 0);
}

void fm_wino_backward_data(const fm_layer *L, const float *Ut, const float *dy, const float *gate, float *dx,
                           int G, float *scratch) {
  if (tile4(L)) {
    fm_wino4_backward(L->in.c, L->out.c, L->in.h, L->in.w, NULL, dy, Ut, gate, NULL, dx, G, scratch);
    return;
  }
  fm_wino_epilogue none = {NULL, NULL, 0, 0};
  wino_conv(L->out.c, L->in.c, L->in.h, L->in.w, Ut, none, dy, dx, G, scratch);
  if (gate) fm_relu_backward(gate, dx, dx, G * L->in.c * L->in.h * L->in.w);
}

int fm_wino_dw_applies(const fm_layer *L) {
  /* -DFM_NO_WINO_DW keeps the weight gradient on im2col, for A/B timings. */
#ifdef FM_NO_WINO_DW
  return 0;
#endif
  return fm_wino_applies(L) && tile4(L);
}

size_t fm_wino_du_size(const fm_layer *L) { return (size_t)36 * L->out.c * L->in.c; }

void fm_wino_backward(const fm_layer *L, const float *Ut, const float *x, const float *dy,
                      const float *gate, float *dU, float *dx, int G, float *scratch) {
  fm_wino4_backward(L->in.c, L->out.c, L->in.h, L->in.w, x, dy, Ut, gate, dU, dx, G, scratch);
}

void fm_wino_grad_weights(const fm_layer *L, const float *dU, float *dw) {
  fm_wino4_grad_weights(dU, L->in.c, L->out.c, dw);
}

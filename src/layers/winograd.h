/* winograd.h: the 3x3 convolution's forward pass and input gradient as
 * Winograd F(4x4, 3x3) or F(2x2, 3x3), chosen by plane size (winograd.c),
 * and on F(4x4) layers the weight gradient too (winograd4.c). */
#ifndef FM_WINOGRAD_H
#define FM_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/simd.h"
#include "layer.h"

/* Tiles and strides of an h x w plane cut into m x m output tiles (m = 2 for
 * F(2x2, 3x3), 4 for F(4x4, 3x3)), G samples side by side. Rows of
 * tile-indexed arrays carry slack so that the 4-wide loops can run past the
 * last tile (results there are ignored). */
typedef struct {
  int th, tw, T;
  int ldv; /* row stride of V and M: G samples' T tiles plus slack, a multiple of 4 */
  int le;  /* length of one column phase of a split input row, with slack */
} fm_wino_dims;

static inline fm_wino_dims fm_wino_dims_of(int h, int w, int G, int m) {
  fm_wino_dims d;
  d.th = (h + m - 1) / m, d.tw = (w + m - 1) / m, d.T = d.th * d.tw;
  d.ldv = (G * d.T + 3) / 4 * 4 + 4;
  d.le = (d.tw + 3) / 4 * 4 + 4;
  return d;
}

/* Zeros stored 4 at a time. Its callers' loops step across rows or phases
 * innermost, never along contiguous memory: a contiguous loop of zero
 * stores is what clang turns into a call to libc's memset, which costs more
 * than these few stores in wasm. */
static inline void fm_wino_zero4(float *p) { wasm_v128_store(p, wasm_f32x4_splat(0)); }

/* The zero-padded input plane as split rows: row r of `rows` (rl floats
 * each) holds input row r - 1 as split() lays it out (its column phases, le
 * floats each), zero above and below the plane. Shared by both tile sizes,
 * which differ in the number of phases. */
static inline void fm_wino_split_plane(const float *x, int h, int w, int rows, int rl, int le,
                                       float *plane, void (*split)(const float *, int, int, float *)) {
  for (int r = 0; r < rows; r++) {
    float *P = plane + (size_t)r * rl;
    int y = r - 1;
    if (y < 0 || y >= h) {
      for (int m = 0; m < le; m += 4) /* across the phases (rl / le of them) innermost */
        for (int p = 0; p < rl; p += le) fm_wino_zero4(P + p + m);
    } else
      split(x + (size_t)y * w, w, le, P);
  }
}

/* What the output transform does for output channel co: y = acc * scale[co]
 * + shift[co] (scale NULL: 1; shift NULL: 0), then max(y, 0) when relu, then
 * (pool, F(4x4) layers only: fm_wino_pools) the 2x2 max-pool, so y is
 * [cout, h/2, w/2]. So inference runs a convolution, the batch norm, ReLU
 * and max-pool after it in one pass (fm_conv_infer). */
typedef struct {
  const float *scale, *shift;
  int relu, pool;
} fm_wino_epilogue;

/* A layer's transformed weights in int16 for inference (gemm_q16.h): per
 * transformed position xi, the packed [cout x cin] matrix and its row scales. */
typedef struct {
  const int16_t *a;
  const float *scale;
} fm_wino_q16;

/* Whether the forward pass can fold a 2x2 max-pool into its output
 * transform: F(4x4) tiles hold whole pooling windows. */
int fm_wino_pools(const fm_layer *L);

/* Whether the layer's forward pass uses Winograd (3x3 with enough input
 * channels to pay for the transforms). */
int fm_wino_applies(const fm_layer *L);
/* Whether its input gradient does (the same layers). */
int fm_wino_dx_applies(const fm_layer *L);
/* Whether its weight gradient does (the F(4x4) layers: planes from 7x7 up),
 * and the floats of one thread's transformed weight gradient dU. */
int fm_wino_dw_applies(const fm_layer *L);
size_t fm_wino_du_size(const fm_layer *L);
/* dU += the transformed weight gradient of G samples (x [G, cin, h, w], dy
 * [G, cout, h, w]; the forward pass's scratch and groups) and, with dx, dx =
 * their input gradient as fm_wino_backward_data makes it (Ut, gate), from
 * the same transformed dy. */
void fm_wino_backward(const fm_layer *L, const float *Ut, const float *x, const float *dy,
                      const float *gate, float *dU, float *dx, int G, float *scratch);
/* dw [cout, cin, 3, 3] += the weight gradient dU stands for. */
void fm_wino_grad_weights(const fm_layer *L, const float *dU, float *dw);
/* Samples the forward pass takes at once (fm_wino_forward's G at most), and
 * the floats of per-thread scratch that needs. */
int fm_wino_group(const fm_layer *L);
size_t fm_wino_scratch(const fm_layer *L);
/* Floats of transformed weights, and the transform: U [16][cout][cin]. */
size_t fm_wino_weights_size(const fm_layer *L);
void fm_wino_weights(const fm_layer *L, float *U);
/* y [G, cout, h, w] = conv(x [G, cin, h, w]) + bias for G samples
 * (1 <= G <= fm_wino_group(L)). */
void fm_wino_forward(const fm_layer *L, const float *U, const float *x, float *y, int G,
                     float *scratch);
/* The same with an epilogue instead of the bias (which e.shift then holds),
 * and in int16 (L->wq, made by fm_wino_q16_weights) when q16 is set and the
 * layer has them: inference only, about 1e-3 relative error per output. */
void fm_wino_forward_fused(const fm_layer *L, const float *U, const float *x, float *y, int G,
                           float *scratch, fm_wino_epilogue e, int q16);
/* Whether the layer's forward pass has an int16 form (its F(4x4) layers),
 * the int16 and float sizes of its weights, and their making from U. */
int fm_wino_q16_applies(const fm_layer *L);
size_t fm_wino_q16_size(const fm_layer *L);
size_t fm_wino_q16_scales(const fm_layer *L);
void fm_wino_q16_weights(const fm_layer *L, const float *U, int16_t *wq, float *wqs);
/* The input gradient's weights, Ut [16 or 36][cin][cout]
 * (fm_wino_weights_size floats), the channels swapped: F(2x2)'s input
 * gradient is a convolution of dy with the kernels turned by 180 degrees,
 * F(4x4)'s the transpose of its forward pass, with the kernels as they are. */
void fm_wino_weights_dx(const fm_layer *L, float *Ut);
/* dx [G, cin, h, w] = the gradient of the forward pass's input for dy
 * [G, cout, h, w], G samples as in fm_wino_forward, the same scratch; with
 * gate (the forward pass's input x, a ReLU's output), zero where gate <= 0:
 * the gradient of that ReLU's input. */
void fm_wino_backward_data(const fm_layer *L, const float *Ut, const float *dy, const float *gate, float *dx,
                           int G, float *scratch);

/* F(4x4, 3x3) itself (winograd4.c), for winograd.c: the same contracts,
 * with 36 transformed positions instead of 16; fm_wino4_conv is the forward
 * pass for cin -> cout channels (q NULL: in float32). */
int fm_wino4_group(const fm_layer *L);
size_t fm_wino4_scratch(const fm_layer *L);
/* u[xi * plane] = (G g G^T)[xi] for one 3x3 kernel g (row-major). */
void fm_wino4_kernel(const float *g, float *u, size_t plane);
/* The same for 4 kernels g + k * gstride into u[xi * plane + k], k < 4, bit
 * for bit. */
void fm_wino4_kernel4(const float *g, size_t gstride, float *u, size_t plane);
void fm_wino4_conv(int cin, int cout, int h, int w, const float *U, const fm_wino_q16 *q,
                   fm_wino_epilogue e, const float *x, float *y, int G, float *scratch);
size_t fm_wino4_q16_size(int cin, int cout);
size_t fm_wino4_q16_scales(int cout);
void fm_wino4_q16_weights(const float *U, int cin, int cout, int16_t *a, float *scale);
/* dU (NULL: none) += the transformed weight gradient, dx (NULL: none) = the
 * input gradient, zero where gate is not above zero (gate NULL: nowhere;
 * x may be NULL without dU). */
void fm_wino4_backward(int cin, int cout, int h, int w, const float *x, const float *dy, const float *Ut,
                       const float *gate, float *dU, float *dx, int G, float *scratch);
void fm_wino4_grad_weights(const float *dU, int cin, int cout, float *dw);

#endif

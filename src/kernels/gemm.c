/* gemm.c: packed, register-tiled GEMM (BLIS-style loop nest) in 128-bit SIMD.
 *
 * Loop nest: N in NC blocks -> K in KC blocks (pack B: KC x NC into NR-wide
 * panels) -> M in MC blocks (pack A: MC x KC into MR-tall panels) -> the
 * 4x8 micro-kernel over every (MR, NR) tile. Zero padding in the packed
 * panels makes edge tiles run the same kernel; only their store is masked. */
#include "gemm.h"

#include <string.h>

#include "../common.h"
#include "simd.h"

enum { KC = 256, NC = 512, MC = 128 };

static _Thread_local float *g_pack_a, *g_pack_b;

static float *scratch(float **buf, size_t n) {
  /* Sizes are fixed by the block constants, so one allocation per thread. */
  if (!*buf) *buf = fm_malloc_aligned(n * sizeof(float));
  return *buf;
}

void fm_gemm_release(void) {
  fm_free_aligned(g_pack_a);
  fm_free_aligned(g_pack_b);
  g_pack_a = g_pack_b = NULL;
}

void fm_ukernel_4x8(int kc, const float *pa, const float *pb, ptrdiff_t ldb, float *c,
                    ptrdiff_t ldc, int mr, int nr, int accumulate) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < kc; k++) {
    v128_t b0 = wasm_v128_load(pb), b1 = wasm_v128_load(pb + 4);
    v128_t a0 = wasm_v128_load32_splat(pa + 0);
    v128_t a1 = wasm_v128_load32_splat(pa + 1);
    v128_t a2 = wasm_v128_load32_splat(pa + 2);
    v128_t a3 = wasm_v128_load32_splat(pa + 3);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
    pa += FM_GEMM_MR;
    pb += ldb;
  }
  if (mr == FM_GEMM_MR && nr == FM_GEMM_NR) {
    float *r0 = c, *r1 = c + ldc, *r2 = c + 2 * ldc, *r3 = c + 3 * ldc;
    if (accumulate) {
      c00 = wasm_f32x4_add(c00, wasm_v128_load(r0));
      c01 = wasm_f32x4_add(c01, wasm_v128_load(r0 + 4));
      c10 = wasm_f32x4_add(c10, wasm_v128_load(r1));
      c11 = wasm_f32x4_add(c11, wasm_v128_load(r1 + 4));
      c20 = wasm_f32x4_add(c20, wasm_v128_load(r2));
      c21 = wasm_f32x4_add(c21, wasm_v128_load(r2 + 4));
      c30 = wasm_f32x4_add(c30, wasm_v128_load(r3));
      c31 = wasm_f32x4_add(c31, wasm_v128_load(r3 + 4));
    }
    wasm_v128_store(r0, c00);
    wasm_v128_store(r0 + 4, c01);
    wasm_v128_store(r1, c10);
    wasm_v128_store(r1 + 4, c11);
    wasm_v128_store(r2, c20);
    wasm_v128_store(r2 + 4, c21);
    wasm_v128_store(r3, c30);
    wasm_v128_store(r3 + 4, c31);
    return;
  }
  /* Edge tile: spill to a local tile, then copy the valid part. */
  float t[FM_GEMM_MR][FM_GEMM_NR];
  wasm_v128_store(&t[0][0], c00);
  wasm_v128_store(&t[0][4], c01);
  wasm_v128_store(&t[1][0], c10);
  wasm_v128_store(&t[1][4], c11);
  wasm_v128_store(&t[2][0], c20);
  wasm_v128_store(&t[2][4], c21);
  wasm_v128_store(&t[3][0], c30);
  wasm_v128_store(&t[3][4], c31);
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + t[i][j] : t[i][j];
}

/* Packs A[i0.., k0..] (mc x kc) into MR-tall panels, k-major inside a panel. */
static void pack_a(int mc, int kc, const float *A, ptrdiff_t rsa, ptrdiff_t csa, float *pa) {
  for (int i = 0; i < mc; i += FM_GEMM_MR) {
    int mr = FM_MIN(FM_GEMM_MR, mc - i);
    const float *a = A + i * rsa;
    if (mr == FM_GEMM_MR && csa == 1) {
      /* Rows contiguous along k (the Winograd weights, the weight
       * gradient's transformed output gradient, a dense layer's inputs): 4
       * k of the 4 rows per step, transposed in registers, instead of 16
       * single loads and stores. */
      int k = 0;
      for (; k + 4 <= kc; k += 4) {
        v128_t r[4];
        for (int i = 0; i < 4; i++) r[i] = wasm_v128_load(a + i * rsa + k);
        fm_transpose4(r);
        for (int i = 0; i < 4; i++) wasm_v128_store(pa + 4 * i, r[i]);
        pa += 4 * FM_GEMM_MR;
      }
      for (; k < kc; k++) {
        pa[0] = a[k], pa[1] = a[rsa + k], pa[2] = a[2 * rsa + k], pa[3] = a[3 * rsa + k];
        pa += FM_GEMM_MR;
      }
    } else if (mr == FM_GEMM_MR) {
      for (int k = 0; k < kc; k++) {
        const float *ak = a + k * csa;
        pa[0] = ak[0];
        pa[1] = ak[rsa];
        pa[2] = ak[2 * rsa];
        pa[3] = ak[3 * rsa];
        pa += FM_GEMM_MR;
      }
    } else {
      for (int k = 0; k < kc; k++) {
        for (int r = 0; r < FM_GEMM_MR; r++) pa[r] = r < mr ? a[r * rsa + k * csa] : 0.0f;
        pa += FM_GEMM_MR;
      }
    }
  }
}

/* Packs B[k0.., j0..] (kc x nc) into NR-wide panels, k-major inside a panel. */
static void pack_b(int kc, int nc, const float *B, ptrdiff_t rsb, ptrdiff_t csb, float *pb) {
  for (int j = 0; j < nc; j += FM_GEMM_NR) {
    int nr = FM_MIN(FM_GEMM_NR, nc - j);
    const float *b = B + j * csb;
    if (nr == FM_GEMM_NR && csb == 1) {
      for (int k = 0; k < kc; k++) {
        const float *bk = b + k * rsb;
        wasm_v128_store(pb, wasm_v128_load(bk));
        wasm_v128_store(pb + 4, wasm_v128_load(bk + 4));
        pb += FM_GEMM_NR;
      }
    } else if (nr == FM_GEMM_NR && rsb == 1) {
      /* B is a transposed matrix (the conv weight gradient's col^T): each
       * column is contiguous, so load 4 k-values from each of the 8 columns
       * and transpose 4x4 blocks in registers. */
      int k = 0;
      for (; k + 4 <= kc; k += 4) {
        for (int half = 0; half < 2; half++) {
          const float *bc = b + k + (ptrdiff_t)(4 * half) * csb;
          v128_t r[4];
          for (int i = 0; i < 4; i++) r[i] = wasm_v128_load(bc + i * csb);
          fm_transpose4(r);
          float *o = pb + 4 * half;
          for (int i = 0; i < 4; i++) wasm_v128_store(o + i * FM_GEMM_NR, r[i]);
        }
        pb += 4 * FM_GEMM_NR;
      }
      for (; k < kc; k++) {
        for (int c = 0; c < FM_GEMM_NR; c++) pb[c] = b[k + c * csb];
        pb += FM_GEMM_NR;
      }
    } else if (nr == FM_GEMM_NR) {
      for (int k = 0; k < kc; k++) {
        const float *bk = b + k * rsb;
        for (int c = 0; c < FM_GEMM_NR; c++) pb[c] = bk[c * csb];
        pb += FM_GEMM_NR;
      }
    } else {
      for (int k = 0; k < kc; k++) {
        for (int c = 0; c < FM_GEMM_NR; c++) pb[c] = c < nr ? b[k * rsb + c * csb] : 0.0f;
        pb += FM_GEMM_NR;
      }
    }
  }
}

void fm_gemm(int M, int N, int K, const float *A, ptrdiff_t rsa, ptrdiff_t csa, const float *B,
             ptrdiff_t rsb, ptrdiff_t csb, float *C, ptrdiff_t ldc, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  float *pa = scratch(&g_pack_a, (size_t)MC * KC);
  float *pb = scratch(&g_pack_b, (size_t)KC * NC);
  if (!pa || !pb) {
    /* Out of memory for 640 KB of scratch: fall back to the scalar path
     * rather than fail, since callers have no error path here. */
    fm_gemm_ref(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, accumulate);
    return;
  }
  /* When B's rows are contiguous (csb == 1: conv's im2col, dense dx, the
   * conv data gradient) full 8-column panels are read in place, row stride
   * rsb, instead of being copied into a packed panel first: one pass over B
   * less. Only a ragged last panel is packed (zero-padded). */
  int direct_b = csb == 1;
  for (int jc = 0; jc < N; jc += NC) {
    int nc = FM_MIN(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      int kc = FM_MIN(KC, K - pc);
      int acc = accumulate || pc > 0;
      const float *bblock = B + pc * rsb + jc * csb;
      if (!direct_b) pack_b(kc, nc, bblock, rsb, csb, pb);
      else if (nc % FM_GEMM_NR)
        pack_b(kc, nc % FM_GEMM_NR, bblock + (nc - nc % FM_GEMM_NR), rsb, csb, pb);
      for (int ic = 0; ic < M; ic += MC) {
        int mc = FM_MIN(MC, M - ic);
        pack_a(mc, kc, A + ic * rsa + pc * csa, rsa, csa, pa);
        for (int jr = 0; jr < nc; jr += FM_GEMM_NR) {
          int nr = FM_MIN(FM_GEMM_NR, nc - jr);
          const float *pbp;
          ptrdiff_t ldb;
          if (!direct_b) pbp = pb + (size_t)jr * kc, ldb = FM_GEMM_NR;
          else if (nr == FM_GEMM_NR) pbp = bblock + jr, ldb = rsb;
          else pbp = pb, ldb = FM_GEMM_NR;
          for (int ir = 0; ir < mc; ir += FM_GEMM_MR) {
            int mr = FM_MIN(FM_GEMM_MR, mc - ir);
            fm_ukernel_4x8(kc, pa + (size_t)ir * kc, pbp, ldb, C + (ic + ir) * ldc + jc + jr, ldc, mr,
                           nr, acc);
          }
        }
      }
    }
  }
}

void fm_gemm_ref(int M, int N, int K, const float *A, ptrdiff_t rsa, ptrdiff_t csa, const float *B,
                 ptrdiff_t rsb, ptrdiff_t csb, float *C, ptrdiff_t ldc, int accumulate) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int k = 0; k < K; k++) s += (double)A[i * rsa + k * csa] * B[k * rsb + j * csb];
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + (float)s : (float)s;
    }
}

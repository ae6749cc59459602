/* gemm.h: the matrix-multiply kernels every layer is built on.
 *
 * C (M x N, row stride ldc) = or += A (M x K) * B (K x N), where
 *   A(i,k) = A[i*rsa + k*csa],  B(k,j) = B[k*rsb + j*csb].
 * Arbitrary strides let one routine serve every transpose that the layers'
 * forward and backward passes need (dense: X*W^T, dY^T*X, dY*W; conv:
 * W*col, dY*col^T, W^T*dY): operands are packed into MR x K and K x NR
 * panels first, so the micro-kernel always streams contiguous memory. */
#ifndef FM_GEMM_H
#define FM_GEMM_H

#include <stddef.h>

/* Register tile of the micro-kernel: MR rows of C x NR columns (2 f32x4). */
#define FM_GEMM_MR 4
#define FM_GEMM_NR 8

void fm_gemm(int M, int N, int K, const float *A, ptrdiff_t rsa, ptrdiff_t csa, const float *B,
             ptrdiff_t rsb, ptrdiff_t csb, float *C, ptrdiff_t ldc, int accumulate);

/* Plain scalar reference with the same contract, for tests. */
void fm_gemm_ref(int M, int N, int K, const float *A, ptrdiff_t rsa, ptrdiff_t csa, const float *B,
                 ptrdiff_t rsb, ptrdiff_t csb, float *C, ptrdiff_t ldc, int accumulate);

/* The 4x8 micro-kernel: c[0..mr)[0..nr) (=|+=) pa * pb.
 * pa: packed kc x MR (a column of A per k); pb: kc rows of NR floats, row
 * stride ldb (NR when packed, the matrix's row stride when read in place).
 * Exposed for tests and benchmarks. */
void fm_ukernel_4x8(int kc, const float *pa, const float *pb, ptrdiff_t ldb, float *c,
                    ptrdiff_t ldc, int mr, int nr, int accumulate);

/* Frees this thread's packing buffers. */
void fm_gemm_release(void);

#endif

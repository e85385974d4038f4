// Reference GEMM for the CPU backend: C = alpha * op(A) * op(B) + beta * C, row-major.
// op(A) is [M,K], op(B) is [K,N]. Plain loops ordered so the innermost runs over contiguous
// memory. This template is the fp64 reference; float goes to the blocked SGEMM (sgemm.h).
#pragma once

#include <vector>

#include "sgemm.h"

namespace frnn::cpu {

template <typename T>
void gemm(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda,
          const T* B, int ldb, T beta, T* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    T* c = C + static_cast<long>(i) * ldc;
    if (beta == T(0)) {
      for (int j = 0; j < N; ++j) c[j] = T(0);
    } else if (beta != T(1)) {
      for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  }
  if (trans_b && M >= 4) {
    // Dot products over k carry a serial dependency the compiler may not reorder; transposing
    // B once turns the product into contiguous row updates that vectorize (3-4x here).
    thread_local std::vector<T> bt;
    bt.resize(static_cast<size_t>(K) * N);
    for (int j = 0; j < N; ++j)
      for (int k = 0; k < K; ++k) bt[static_cast<size_t>(k) * N + j] = B[static_cast<long>(j) * ldb + k];
    gemm(trans_a, false, M, N, K, alpha, A, lda, bt.data(), N, T(1), C, ldc);
    return;
  }
  if (!trans_b) {
    // B rows are contiguous: C[i,:] += a(i,k) * B[k,:]
    for (int i = 0; i < M; ++i) {
      T* c = C + static_cast<long>(i) * ldc;
      for (int k = 0; k < K; ++k) {
        const T a = alpha * (trans_a ? A[static_cast<long>(k) * lda + i]
                                     : A[static_cast<long>(i) * lda + k]);
        if (a == T(0)) continue;
        const T* b = B + static_cast<long>(k) * ldb;
        for (int j = 0; j < N; ++j) c[j] += a * b[j];
      }
    }
  } else {
    // op(B)[k,j] = B[j,k]: dot products over contiguous rows of B.
    for (int i = 0; i < M; ++i) {
      T* c = C + static_cast<long>(i) * ldc;
      for (int j = 0; j < N; ++j) {
        const T* b = B + static_cast<long>(j) * ldb;
        T acc = T(0);
        if (!trans_a) {
          const T* a = A + static_cast<long>(i) * lda;
          for (int k = 0; k < K; ++k) acc += a[k] * b[k];
        } else {
          for (int k = 0; k < K; ++k) acc += A[static_cast<long>(k) * lda + i] * b[k];
        }
        c[j] += alpha * acc;
      }
    }
  }
}

// The fp32 path: every gemm<float> call site gets the fast SGEMM.
template <>
inline void gemm<float>(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                        const float* A, int lda, const float* B, int ldb, float beta, float* C,
                        int ldc) {
  sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace frnn::cpu

// Pieces of the recurrent kernels (rnn.cc) that differ between the fp64 reference and the fp32
// path: elementwise activations, the per-step recurrent product, and per-thread scratch.
// The double versions compute exactly what the reference always did (std::exp / std::tanh, the
// loop GEMM), so the fp64 results stay bit for bit the same.
#pragma once

#include <cmath>
#include <cstring>
#include <vector>

#include "../alloc_fault.h"
#include "cpu_isa.h"
#include "gemm.h"
#include "scratch_arena.h"
#include "sgemm.h"

namespace frnn::cpu {

inline void sigmoid_n(double* x, long n) {
  for (long i = 0; i < n; ++i) x[i] = 1.0 / (1.0 + std::exp(-x[i]));
}
inline void tanh_n(double* x, long n) {
  for (long i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}
inline void sigmoid_n(float* x, long n) { isa().sigmoid(x, n); }
inline void tanh_n(float* x, long n) { isa().tanh(x, n); }

// One row of one step in one vectorized pass for fp32 (cpu_isa.h); false for the reference, which
// runs rnn.cc's loops as written.
template <typename F>
bool fast_lstm_step(int, F*, const F*, const F*, const F*, F*, F*) { return false; }
inline bool fast_lstm_step(int H, float* a, const float* r_hh, const float* b_hh, const float* peep, float* c,
                           float* h) {
  isa().lstm_step(H, a, r_hh, b_hh, peep, c, h);
  return true;
}
template <typename F>
bool fast_lstm_step_backward(int, const F*, const F*, const F*, const F*, const F*, F*, F*) { return false; }
inline bool fast_lstm_step_backward(int H, const float* gates, const float* cprev, const float* cnew,
                                    const float* peep, const float* dh, float* dc, float* d) {
  isa().lstm_step_backward(H, gates, cprev, cnew, peep, dh, dc, d);
  return true;
}
template <typename F>
bool fast_gru_step(int, F*, const F*, const F*, F*, F*) { return false; }
inline bool fast_gru_step(int H, float* a, const float* r_hh, const float* b_hh, float* hn, float* h) {
  isa().gru_step(H, a, r_hh, b_hh, hn, h);
  return true;
}
template <typename F>
bool fast_gru_step_backward(int, const F*, const F*, const F*, const F*, F*, F*) { return false; }
inline bool fast_gru_step_backward(int H, const float* gates, const float* hprev, const float* hn, const float* dh,
                                   float* d, float* dh_row) {
  isa().gru_step_backward(H, gates, hprev, hn, dh, d, dh_row);
  return true;
}

// dst[j] += column sums of src [rows, cols] (ld apart), each column's rows added in order: the
// vectorized kernel for fp32, a plain loop for the reference.
inline void add_column_sums(long rows, int cols, const double* src, long ld, double* dst) {
  for (long r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) dst[j] += src[r * ld + j];
}
inline void add_column_sums(long rows, int cols, const float* src, long ld, float* dst) {
  isa().add_column_sums(rows, cols, src, ld, dst);
}

// A buffer of the active scratch arena (scratch_arena.h); each call site uses its own slot.
template <typename F>
F* scratch(ScratchSlot slot, size_t elems, bool zeroed) {
  std::vector<F>& b = active_arena().slot<F>(slot);
  if (b.size() < elems) {
    maybe_inject_alloc_failure();
    b.resize(elems);
  }
  if (zeroed && elems) std::memset(b.data(), 0, elems * sizeof(F));
  return b.data();
}

// C [M,N] = A [M,K] · op(B), op(B) fixed for a whole sequence. The fp32 version packs op(B)
// once (into scratch `slot`) when it will be used for several steps on more than one row;
// a single row (generation) multiplies the weights in place, so nothing is packed per call.
template <typename F>
class RecurrentProduct {
 public:
  RecurrentProduct(bool trans_b, int K, int N, const F* B, int ldb, int M, int steps, ScratchSlot)
      : tb_(trans_b), K_(K), N_(N), B_(B), ldb_(ldb) {
    (void)M, (void)steps;
  }
  void multiply(int M, const F* A, int lda, F* C, int ldc) const {
    gemm<F>(false, tb_, M, N_, K_, F(1), A, lda, B_, ldb_, F(0), C, ldc);
  }

 private:
  bool tb_;
  int K_, N_;
  const F* B_;
  int ldb_;
};

template <>
class RecurrentProduct<float> {
 public:
  RecurrentProduct(bool trans_b, int K, int N, const float* B, int ldb, int M, int steps,
                   ScratchSlot slot)
      : tb_(trans_b), K_(K), N_(N), B_(B), ldb_(ldb) {
    if (M >= 2 && steps >= 2 && K > 0 && N > 0) {
      packed_ = scratch<float>(slot, sgemm_packed_b_elems(K, N), false);
      sgemm_pack_b(trans_b, K, N, B, ldb, packed_);
    }
  }
  void multiply(int M, const float* A, int lda, float* C, int ldc) const {
    if (packed_)
      sgemm_packed_b(M, N_, K_, A, lda, packed_, 0.0f, C, ldc);
    else
      sgemm(false, tb_, M, N_, K_, 1.0f, A, lda, B_, ldb_, 0.0f, C, ldc);
  }

 private:
  bool tb_;
  int K_, N_;
  const float* B_;
  int ldb_;
  float* packed_ = nullptr;
};

}  // namespace frnn::cpu

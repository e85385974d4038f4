// Host-only weight initializers. Every value is a pure function of (seed, offset, element index)
// through Philox4x32-10 on stream kStreamInit (philox.h), computed in double, so a model
// initializes identically on every machine, backend and precision.
//
// Counter conventions (`offset` is the caller's starting counter; element i of the output uses
// counter offset + i, one Philox call per element, words w0..w3 of its output):
//   uniform(lo, hi)       u = ((w0 >> 5) * 2^26 + (w1 >> 6)) / 2^53 in [0,1), 53 bits;
//                         value = lo + (hi - lo) * u.
//   normal(mean, std)     Box–Muller on w0, w1: u1 = (w0 + 1) / 2^32 in (0,1],
//                         u2 = w1 / 2^32 in [0,1); value = mean + std * sqrt(-2 ln u1) cos(2π u2).
//                         (One normal per counter; the sine half is not used.)
//   glorot_uniform        uniform(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)); same counters.
//   orthogonal(rows,cols) like torch.nn.init.orthogonal_: A[r,c] = normal(0,1) at counter
//                         offset + r*cols + c (row-major rows x cols); if rows < cols A is
//                         transposed; A = QR (reduced), Q's columns sign-corrected by sign(diag R)
//                         (i.e. the QR with positive diag R); transposed back; times gain.
//                         rows >= cols: QᵀQ = I (orthonormal columns); rows < cols: QQᵀ = I.
//                         For a PyTorch recurrent weight [G*H, H] call it once per gate block
//                         [H,H] with offset + g*H*H for block g (the caller loops): block g then
//                         uses exactly the counters the whole [G*H,H] matrix's rows of that block
//                         would.
//   constant(value)       no random numbers.
// A caller that initializes several tensors from one seed gives them disjoint counter ranges
// (e.g. a running offset advanced by each tensor's element count).
#pragma once

#include <cstddef>
#include <cstdint>

namespace frnn::init {

void uniform(double* out, size_t n, double lo, double hi, uint64_t seed, uint64_t offset);
void normal(double* out, size_t n, double mean, double std, uint64_t seed, uint64_t offset);
void glorot_uniform(double* out, size_t n, double fan_in, double fan_out, double gain,
                    uint64_t seed, uint64_t offset);
// out [rows, cols], row-major. Throws std::invalid_argument if rows or cols <= 0.
void orthogonal(double* out, int rows, int cols, double gain, uint64_t seed, uint64_t offset);
void constant(double* out, size_t n, double value);

// The single draws behind the above, for callers that need one element.
double uniform_at(uint64_t seed, uint64_t counter);  // [0,1), 53 bits
double normal_at(uint64_t seed, uint64_t counter);   // N(0,1)

// Converts a double buffer into the model's precision.
template <typename T>
void convert(const double* src, T* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(src[i]);
}

}  // namespace frnn::init

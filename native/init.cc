// Initializers: see init.h for the counter each element uses.
#include "init.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "philox.h"

namespace frnn::init {

double uniform_at(uint64_t seed, uint64_t counter) {
  const Philox4 r = philox4x32_10(seed, counter, kStreamInit);
  const uint64_t hi = r.v[0] >> 5, lo = r.v[1] >> 6;  // 27 + 26 bits
  return static_cast<double>((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

double normal_at(uint64_t seed, uint64_t counter) {
  const Philox4 r = philox4x32_10(seed, counter, kStreamInit);
  const double u1 = (static_cast<double>(r.v[0]) + 1.0) * (1.0 / 4294967296.0);  // (0,1]
  const double u2 = static_cast<double>(r.v[1]) * (1.0 / 4294967296.0);          // [0,1)
  const double two_pi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
}

void uniform(double* out, size_t n, double lo, double hi, uint64_t seed, uint64_t offset) {
  for (size_t i = 0; i < n; ++i) out[i] = lo + (hi - lo) * uniform_at(seed, offset + i);
}

void normal(double* out, size_t n, double mean, double std, uint64_t seed, uint64_t offset) {
  for (size_t i = 0; i < n; ++i) out[i] = mean + std * normal_at(seed, offset + i);
}

void glorot_uniform(double* out, size_t n, double fan_in, double fan_out, double gain,
                    uint64_t seed, uint64_t offset) {
  if (!(fan_in + fan_out > 0)) throw std::invalid_argument("glorot_uniform: fan_in + fan_out must be > 0");
  const double a = gain * std::sqrt(6.0 / (fan_in + fan_out));
  uniform(out, n, -a, a, seed, offset);
}

void orthogonal(double* out, int rows, int cols, double gain, uint64_t seed, uint64_t offset) {
  if (rows <= 0 || cols <= 0) throw std::invalid_argument("orthogonal: rows and cols must be > 0");
  const bool tr = rows < cols;
  const int m = tr ? cols : rows;  // A is m x k, m >= k
  const int k = tr ? rows : cols;
  // Column-major copy of A: col j at a[j*m].
  std::vector<double> a(static_cast<size_t>(m) * k);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double z = normal_at(seed, offset + static_cast<uint64_t>(r) * cols + c);
      // Element (r,c) of the rows x cols matrix; in A it is (r,c) or, transposed, (c,r).
      const int ar = tr ? c : r, ac = tr ? r : c;
      a[static_cast<size_t>(ac) * m + ar] = z;
    }
  // Modified Gram–Schmidt with one re-orthogonalization pass: Q with positive diag(R), which is
  // Householder QR's Q multiplied by sign(diag R), PyTorch's sign correction.
  for (int j = 0; j < k; ++j) {
    double* v = &a[static_cast<size_t>(j) * m];
    for (int pass = 0; pass < 2; ++pass)
      for (int q = 0; q < j; ++q) {
        const double* u = &a[static_cast<size_t>(q) * m];
        // Four running sums in a fixed order: the loop vectorizes (a single sum is a serial
        // chain the compiler may not reorder) and every machine still gets the same bits.
        double d4[4] = {0.0, 0.0, 0.0, 0.0};
        int i = 0;
        for (; i + 4 <= m; i += 4)
          for (int t = 0; t < 4; ++t) d4[t] += u[i + t] * v[i + t];
        double d = (d4[0] + d4[1]) + (d4[2] + d4[3]);
        for (; i < m; ++i) d += u[i] * v[i];
        for (i = 0; i < m; ++i) v[i] -= d * u[i];
      }
    double nrm = 0.0;
    for (int i = 0; i < m; ++i) nrm += v[i] * v[i];
    nrm = std::sqrt(nrm);
    if (!(nrm > 0.0)) throw std::runtime_error("orthogonal: rank-deficient draw");
    for (int i = 0; i < m; ++i) v[i] /= nrm;
  }
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int ar = tr ? c : r, ac = tr ? r : c;
      out[static_cast<size_t>(r) * cols + c] = gain * a[static_cast<size_t>(ac) * m + ar];
    }
}

void constant(double* out, size_t n, double value) {
  for (size_t i = 0; i < n; ++i) out[i] = value;
}

}  // namespace frnn::init

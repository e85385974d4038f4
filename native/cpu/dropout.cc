// Inverted dropout. Element i keeps iff philox_uniform(seed, offset + i, kStreamDropout) >= p;
// kept values are scaled by 1/(1-p). The mask is never stored: backward regenerates it. The
// uniform has 24 bits, exact in fp32, so both precisions (and CUDA) draw identical masks.
#include <cstring>

#include "../philox.h"
#include "cpu_kernels.h"

namespace frnn::cpu {

namespace {
template <typename T>
void apply_mask(size_t n, double p, uint64_t seed, uint64_t offset, const T* x, T* y) {
  if (p <= 0.0) {
    if (x != y && n) std::memmove(y, x, n * sizeof(T));
    return;
  }
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (size_t i = 0; i < n; ++i) {
    const bool keep = philox_uniform(seed, offset + i, kStreamDropout) >= p;
    y[i] = keep ? x[i] * scale : T(0);
  }
}
}  // namespace

template <typename T>
void dropout_forward(size_t n, double p, uint64_t seed, uint64_t offset, const T* x, T* y) {
  apply_mask(n, p, seed, offset, x, y);
}

template <typename T>
void dropout_backward(size_t n, double p, uint64_t seed, uint64_t offset, const T* dy, T* dx) {
  apply_mask(n, p, seed, offset, dy, dx);
}

#define FRNN_INST(T)                                                                    \
  template void dropout_forward<T>(size_t, double, uint64_t, uint64_t, const T*, T*);   \
  template void dropout_backward<T>(size_t, double, uint64_t, uint64_t, const T*, T*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

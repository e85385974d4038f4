// Global-norm gradient clipping (PyTorch clip_grad_norm_) and Adam / AdamW (torch.optim
// semantics, single-tensor path). Arithmetic per element in double, stored in T.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu_isa.h"
#include "cpu_kernels.h"
#include "thread_pool.h"

namespace frnn::cpu {

namespace {
// Both loops are over every parameter once per step: split over the pool in fixed chunks. The
// chunks do not depend on the thread count, so neither do the results.
constexpr long kChunk = 1 << 14;
inline int chunks_of(size_t n) { return static_cast<int>((static_cast<long>(n) + kChunk - 1) / kChunk); }

template <typename T>
double sum_of_squares(const T* g, size_t begin, size_t end) {
  double ss = 0.0;
  for (size_t i = begin; i < end; ++i) {
    const double x = static_cast<double>(g[i]);
    ss += x * x;
  }
  return ss;
}
}  // namespace

template <typename T>
void global_norm_clip(size_t n, const T* g, double max_norm, T* norm, T* scale) {
  double ss = 0.0;
  if constexpr (std::is_same_v<T, double>) {
    ss = sum_of_squares(g, 0, n);  // the reference keeps its one sequential sum
  } else {
    // A thread_local named inside the lambda would be each worker's own: pass its data instead.
    thread_local std::vector<double> partial;
    partial.assign(chunks_of(n), 0.0);
    double* out = partial.data();
    parallel_for_pieces(static_cast<long>(n), kChunk, [&](long begin, long end) { out[begin / kChunk] = sum_of_squares(g, begin, end); });
    for (double p : partial) ss += p;
  }
  const double nrm = std::sqrt(ss);
  double s = 1.0;
  if (!std::isfinite(nrm)) {
    s = std::numeric_limits<double>::quiet_NaN();  // tells adam to skip this step
  } else if (max_norm > 0.0) {
    s = max_norm / (nrm + 1e-6);
    if (s > 1.0) s = 1.0;
  }
  if (norm) norm[0] = static_cast<T>(nrm);
  if (scale) scale[0] = static_cast<T>(s);
}

template <typename T>
void adam(size_t n, T* params, const T* grads, T* m, T* v, const AdamConfig& cfg, int64_t step,
          const T* grad_scale) {
  const double b1 = cfg.beta1, b2 = cfg.beta2, lr = cfg.lr, wd = cfg.weight_decay;
  const double st = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(b1, st);
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, st));
  const double step_size = lr / bc1;
  const double gs = grad_scale ? static_cast<double>(grad_scale[0]) : 1.0;
  if (!std::isfinite(gs)) return;  // a non-finite gradient norm: the step is skipped
  const double decay = 1.0 - lr * wd;
  if constexpr (std::is_same_v<T, float>) {
    // The fp32 path: the same arithmetic in the instruction set's vectors (cpu_isa.h).
    const AdamScalars sc{b1, b2, step_size, bc2_sqrt, cfg.eps, gs, wd, decay, grad_scale != nullptr, cfg.decoupled};
    const IsaKernels& kr = isa();
    parallel_for_pieces(static_cast<long>(n), kChunk, [&](long begin, long end) {
      kr.adam(end - begin, params + begin, grads + begin, m + begin, v + begin, sc);
    });
    return;
  }
  parallel_for_pieces(static_cast<long>(n), kChunk, [&](long begin, long end) {
    for (long i = begin; i < end; ++i) {
      double p = static_cast<double>(params[i]);
      double g = static_cast<double>(grads[i]);
      if (grad_scale) g *= gs;
      if (wd != 0.0) {
        if (cfg.decoupled)
          p *= decay;
        else
          g += wd * p;
      }
      const double mi = b1 * static_cast<double>(m[i]) + (1.0 - b1) * g;
      const double vi = b2 * static_cast<double>(v[i]) + (1.0 - b2) * g * g;
      // Store the moments first so the update reads them back at the storage precision, as a
      // pure-T implementation would.
      m[i] = static_cast<T>(mi);
      v[i] = static_cast<T>(vi);
      const double denom = std::sqrt(static_cast<double>(v[i])) / bc2_sqrt + cfg.eps;
      p -= step_size * static_cast<double>(m[i]) / denom;
      params[i] = static_cast<T>(p);
    }
  });
}

#define FRNN_INST(T)                                                                         \
  template void global_norm_clip<T>(size_t, const T*, double, T*, T*);                       \
  template void adam<T>(size_t, T*, const T*, T*, T*, const AdamConfig&, int64_t, const T*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

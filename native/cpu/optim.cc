// Global-norm gradient clipping (PyTorch clip_grad_norm_) and Adam / AdamW (torch.optim
// semantics, single-tensor path). Arithmetic per element in double, stored in T.
#include <algorithm>
#include <atomic>
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

// One element of the non-fp32 (float64) Adam step, shared by the update and its check (the fp32
// kernels have their own copy in isa_kernels.inc: variant TUs must not share inline code).
template <typename T>
inline void adam_element(const AdamScalars& s, T p0, T g0, T m0, T v0, T& p1, T& m1, T& v1) {
  double p = static_cast<double>(p0);
  double g = static_cast<double>(g0);
  if (s.scaled) g *= s.grad_scale;
  if (s.weight_decay != 0.0) {
    if (s.decoupled)
      p *= s.decay;
    else
      g += s.weight_decay * p;
  }
  // The moments are rounded to T before the update reads them back, as a pure-T implementation would.
  m1 = static_cast<T>(s.beta1 * static_cast<double>(m0) + (1.0 - s.beta1) * g);
  v1 = static_cast<T>(s.beta2 * static_cast<double>(v0) + (1.0 - s.beta2) * g * g);
  const double denom = std::sqrt(static_cast<double>(v1)) / s.bc2_sqrt + s.eps;
  p -= s.step_size * static_cast<double>(m1) / denom;
  p1 = static_cast<T>(p);
}

template <typename T>
void adam(size_t n, T* params, const T* grads, T* m, T* v, const AdamConfig& cfg, int64_t step, T* grad_scale) {
  const double b1 = cfg.beta1, b2 = cfg.beta2, lr = cfg.lr, wd = cfg.weight_decay;
  const double st = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(b1, st);
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, st));
  const double step_size = lr / bc1;
  const double gs = grad_scale ? static_cast<double>(grad_scale[0]) : 1.0;
  if (!std::isfinite(gs)) return;  // a non-finite gradient norm: the step is skipped
  const double decay = 1.0 - lr * wd;
  const AdamScalars sc{b1, b2, step_size, bc2_sqrt, cfg.eps, gs, wd, decay, grad_scale != nullptr, cfg.decoupled};
  // First a read-only pass: a step that would write a non-finite weight or moment writes nothing
  // and says so through grad_scale (ops.h). Pieces run in any order; the flag only ever rises.
  std::atomic<bool> non_finite{false};
  parallel_for_pieces(static_cast<long>(n), kChunk, [&](long begin, long end) {
    bool finite = true;
    if constexpr (std::is_same_v<T, float>) {
      finite = isa().adam_finite(end - begin, params + begin, grads + begin, m + begin, v + begin, sc);
    } else {
      for (long i = begin; i < end && finite; ++i) {
        T p1, m1, v1;
        adam_element(sc, params[i], grads[i], m[i], v[i], p1, m1, v1);
        finite = std::isfinite(p1) && std::isfinite(m1) && std::isfinite(v1);
      }
    }
    if (!finite) non_finite.store(true, std::memory_order_relaxed);
  });
  if (non_finite.load()) {
    if (grad_scale) grad_scale[0] = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    // The fp32 path: the same arithmetic in the instruction set's vectors (cpu_isa.h).
    const IsaKernels& kr = isa();
    parallel_for_pieces(static_cast<long>(n), kChunk, [&](long begin, long end) {
      kr.adam(end - begin, params + begin, grads + begin, m + begin, v + begin, sc);
    });
    return;
  }
  parallel_for_pieces(static_cast<long>(n), kChunk, [&](long begin, long end) {
    for (long i = begin; i < end; ++i)
      adam_element(sc, params[i], grads[i], m[i], v[i], params[i], m[i], v[i]);
  });
}

#define FRNN_INST(T)                                                                         \
  template void global_norm_clip<T>(size_t, const T*, double, T*, T*);                       \
  template void adam<T>(size_t, T*, const T*, T*, T*, const AdamConfig&, int64_t, T*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

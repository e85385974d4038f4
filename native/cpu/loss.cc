// Losses: softmax cross-entropy fused with its gradient (stable log-sum-exp, sums in double), and
// mean squared error. Scalars are written to the backend's (host) memory.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "cpu_kernels.h"
#include "thread_pool.h"

namespace frnn::cpu {

template <typename T>
void softmax_xent(int N, int V, const T* logits, const int32_t* targets, const T* weights, T* loss,
                  T* dlogits, T* correct) {
  double wsum = 0.0;
  if (weights) {
    for (int n = 0; n < N; ++n) wsum += static_cast<double>(weights[n]);
  } else {
    wsum = static_cast<double>(N);
  }
  const double inv = wsum != 0.0 ? 1.0 / wsum : 0.0;
  // fp32 rows go to the pool in fixed pieces whose sums add in piece order, so the loss does
  // not depend on the thread count; the fp64 reference stays one piece, in row order.
  const long piece = std::is_same_v<T, float> ? 64 : std::max(N, 1);
  const long pieces = (N + piece - 1) / piece;
  std::vector<double> piece_loss(pieces), piece_correct(pieces);
  parallel_for_pieces(N, piece, [&](long begin, long end) {
    thread_local std::vector<double> e;  // a row's exp(z - max), each computed once
    e.resize(V);
    double lsum = 0.0, csum = 0.0;
    for (long n = begin; n < end; ++n) {
      const T* z = logits + n * V;
      const double w = weights ? static_cast<double>(weights[n]) : 1.0;
      const int t = targets[n];
      // max and argmax (lowest index on ties)
      int am = 0;
      T mx = z[0];
      for (int v = 1; v < V; ++v)
        if (z[v] > mx) {
          mx = z[v];
          am = v;
        }
      double s = 0.0;
      for (int v = 0; v < V; ++v) s += e[v] = std::exp(static_cast<double>(z[v]) - static_cast<double>(mx));
      const double lse = static_cast<double>(mx) + std::log(s);
      const double zt = static_cast<double>(z[t]);
      if (w != 0.0) lsum += w * (lse - zt);
      if (am == t) csum += w;
      if (dlogits) {
        T* d = dlogits + n * V;  // may alias z: every z[v] has been read already
        const double scale = w * inv;
        const double inv_s = 1.0 / s;
        for (int v = 0; v < V; ++v) d[v] = static_cast<T>(scale * (e[v] * inv_s - (v == t ? 1.0 : 0.0)));
      }
    }
    piece_loss[begin / piece] = lsum;
    piece_correct[begin / piece] = csum;
  });
  double lsum = 0.0, csum = 0.0;
  for (long i = 0; i < pieces; ++i) lsum += piece_loss[i], csum += piece_correct[i];
  if (loss) loss[0] = static_cast<T>(wsum != 0.0 ? lsum * inv : 0.0);
  if (correct) correct[0] = static_cast<T>(csum);
}

template <typename T>
void mse(int N, int D, const T* pred, const T* target, const T* weights, T* loss, T* dpred) {
  double wsum = 0.0;
  if (weights) {
    for (int n = 0; n < N; ++n) wsum += static_cast<double>(weights[n]);
  } else {
    wsum = static_cast<double>(N);
  }
  const double denom = static_cast<double>(D) * wsum;
  const double inv = denom != 0.0 ? 1.0 / denom : 0.0;
  double lsum = 0.0;
  for (int n = 0; n < N; ++n) {
    const double w = weights ? static_cast<double>(weights[n]) : 1.0;
    const long base = static_cast<long>(n) * D;
    double row = 0.0;
    for (int d = 0; d < D; ++d) {
      const double e = static_cast<double>(pred[base + d]) - static_cast<double>(target[base + d]);
      row += e * e;
      if (dpred) dpred[base + d] = static_cast<T>(2.0 * w * inv * e);
    }
    lsum += w * row;
  }
  if (loss) loss[0] = static_cast<T>(lsum * inv);
}

template <typename T>
void sampled_logits(int N, int D, int S, const T* x, const T* Wt, const T* bt, const int32_t* targets,
                    const int32_t* samples, const T* log_expected, const T* sample_logits, T* logits) {
  for (int n = 0; n < N; ++n) {
    const T* xn = x + static_cast<size_t>(n) * D;
    const T* wn = Wt + static_cast<size_t>(n) * D;
    double dot = 0;
    for (int d = 0; d < D; ++d) dot += static_cast<double>(xn[d]) * wn[d];
    T* row = logits + static_cast<size_t>(n) * (S + 1);
    row[0] = static_cast<T>(dot + bt[n]);
    for (int j = 0; j < S; ++j)
      row[1 + j] = samples[j] == targets[n] ? static_cast<T>(kMaskedLogit)
                                            : sample_logits[static_cast<size_t>(n) * S + j] - log_expected[j];
  }
}

#define FRNN_INST(T)                                                                          \
  template void softmax_xent<T>(int, int, const T*, const int32_t*, const T*, T*, T*, T*);    \
  template void mse<T>(int, int, const T*, const T*, const T*, T*, T*);                       \
  template void sampled_logits<T>(int, int, int, const T*, const T*, const T*, const int32_t*, \
                                  const int32_t*, const T*, const T*, T*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

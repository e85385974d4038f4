// Dot-product attention over a memory (ops.h): per batch row, scores over the valid memory
// steps, their softmax, and the weighted sum of the memory; backward through all three. Sums in
// double; plain loops (the memories of the textbook translators are short).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_kernels.h"

namespace frnn::cpu {

template <typename T>
void attention_forward(int B, int T_, int S, int H, int M, const T* q, const T* k, const T* mem,
                       const int32_t* lengths, T* alpha, T* context) {
  std::vector<double> e(S);
  for (int b = 0; b < B; ++b) {
    const int len = lengths ? std::clamp(lengths[b], 0, S) : S;
    for (int t = 0; t < T_; ++t) {
      const T* qt = q + (static_cast<size_t>(b) * T_ + t) * H;
      T* at = alpha + (static_cast<size_t>(b) * T_ + t) * S;
      T* ct = context + (static_cast<size_t>(b) * T_ + t) * M;
      double mx = -INFINITY;
      for (int s = 0; s < len; ++s) {
        const T* ks = k + (static_cast<size_t>(b) * S + s) * H;
        double dot = 0;
        for (int h = 0; h < H; ++h) dot += static_cast<double>(qt[h]) * ks[h];
        e[s] = dot;
        mx = std::max(mx, dot);
      }
      double sum = 0;
      for (int s = 0; s < len; ++s) sum += (e[s] = std::exp(e[s] - mx));
      for (int s = 0; s < S; ++s) at[s] = static_cast<T>(s < len ? e[s] / sum : 0.0);
      for (int m = 0; m < M; ++m) {
        double c = 0;
        for (int s = 0; s < len; ++s) c += static_cast<double>(at[s]) * mem[(static_cast<size_t>(b) * S + s) * M + m];
        ct[m] = static_cast<T>(c);
      }
    }
  }
}

template <typename T>
void attention_backward(int B, int T_, int S, int H, int M, const T* q, const T* k, const T* mem,
                        const int32_t* lengths, const T* alpha, const T* dcontext, T* dq, T* dk, T* dmem) {
  std::fill(dk, dk + static_cast<size_t>(B) * S * H, T(0));
  std::vector<double> ds(S);
  for (int b = 0; b < B; ++b) {
    const int len = lengths ? std::clamp(lengths[b], 0, S) : S;
    for (int t = 0; t < T_; ++t) {
      const size_t bt = static_cast<size_t>(b) * T_ + t;
      const T* at = alpha + bt * S;
      const T* dct = dcontext + bt * M;
      // d alpha[s] = dcontext · mem[s]; through the softmax: ds = alpha (dalpha - sum alpha dalpha).
      double weighted = 0;
      for (int s = 0; s < len; ++s) {
        const T* ms = mem + (static_cast<size_t>(b) * S + s) * M;
        double da = 0;
        for (int m = 0; m < M; ++m) da += static_cast<double>(dct[m]) * ms[m];
        ds[s] = da;
        weighted += at[s] * da;
      }
      for (int s = 0; s < len; ++s) ds[s] = at[s] * (ds[s] - weighted);
      T* dqt = dq + bt * H;
      const T* qt = q + bt * H;
      for (int s = 0; s < len; ++s) {
        const T* ks = k + (static_cast<size_t>(b) * S + s) * H;
        T* dks = dk + (static_cast<size_t>(b) * S + s) * H;
        T* dms = dmem + (static_cast<size_t>(b) * S + s) * M;
        for (int h = 0; h < H; ++h) {
          dqt[h] += static_cast<T>(ds[s] * ks[h]);
          dks[h] += static_cast<T>(ds[s] * qt[h]);
        }
        for (int m = 0; m < M; ++m) dms[m] += at[s] * dct[m];
      }
    }
  }
}

#define FRNN_INST(T)                                                                                            \
  template void attention_forward<T>(int, int, int, int, int, const T*, const T*, const T*, const int32_t*, T*, \
                                     T*);                                                                       \
  template void attention_backward<T>(int, int, int, int, int, const T*, const T*, const T*, const int32_t*,    \
                                      const T*, const T*, T*, T*, T*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

// Embedding lookup, its scatter-add backward, and one-hot encoding. Token ids are checked by
// the caller (ops.h); these kernels trust them.
#include <cstring>

#include "cpu_kernels.h"

namespace frnn::cpu {

template <typename T>
void embedding_forward(int N, int V, int E, const int32_t* tokens, const T* table, T* out) {
  (void)V;
  for (int n = 0; n < N; ++n)
    std::memcpy(out + static_cast<long>(n) * E, table + static_cast<long>(tokens[n]) * E,
                static_cast<size_t>(E) * sizeof(T));
}

template <typename T>
void embedding_backward(int N, int V, int E, const int32_t* tokens, const T* dout, T* dtable) {
  (void)V;
  for (int n = 0; n < N; ++n) {
    const T* g = dout + static_cast<long>(n) * E;
    T* d = dtable + static_cast<long>(tokens[n]) * E;
    for (int e = 0; e < E; ++e) d[e] += g[e];
  }
}

template <typename T>
void one_hot(int N, int V, const int32_t* tokens, T* out) {
  for (int n = 0; n < N; ++n) {
    T* row = out + static_cast<long>(n) * V;
    for (int v = 0; v < V; ++v) row[v] = T(0);
    row[tokens[n]] = T(1);
  }
}

#define FRNN_INST(T)                                                                        \
  template void embedding_forward<T>(int, int, int, const int32_t*, const T*, T*);          \
  template void embedding_backward<T>(int, int, int, const int32_t*, const T*, T*);         \
  template void one_hot<T>(int, int, const int32_t*, T*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

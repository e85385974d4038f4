// Time-distributed dense layer: y = act(x W^T + b), and its backward.
#include <cmath>

#include "cpu_kernels.h"
#include "gemm.h"

namespace frnn::cpu {

template <typename T>
void dense_forward(int N, int I, int O, Activation act, const T* x, const T* W, const T* b, T* y) {
  if (N <= 0 || O <= 0) return;
  // y [N,O] = x [N,I] * W^T ([I,O]); W is [O,I] so op(B) = W^T.
  gemm<T>(false, true, N, O, I, T(1), x, I, W, I, T(0), y, O);
  for (int n = 0; n < N; ++n) {
    T* row = y + static_cast<long>(n) * O;
    if (b)
      for (int o = 0; o < O; ++o) row[o] += b[o];
    if (act == Activation::Tanh)
      for (int o = 0; o < O; ++o) row[o] = std::tanh(row[o]);
  }
}

template <typename T>
void dense_backward(int N, int I, int O, Activation act, const T* x, const T* W, const T* y, T* dy,
                    T* dx, T* dW, T* db) {
  if (N <= 0) return;
  const long NO = static_cast<long>(N) * O;
  if (act == Activation::Tanh)
    for (long k = 0; k < NO; ++k) dy[k] *= T(1) - y[k] * y[k];
  if (O <= 0) {
    if (dx)
      for (long k = 0; k < static_cast<long>(N) * I; ++k) dx[k] = T(0);
    return;
  }
  // dx [N,I] = dy [N,O] * W [O,I]
  if (dx) gemm<T>(false, false, N, I, O, T(1), dy, O, W, I, T(0), dx, I);
  // dW [O,I] += dy^T [O,N] * x [N,I]
  if (dW && I > 0) gemm<T>(true, false, O, I, N, T(1), dy, O, x, I, T(1), dW, I);
  if (db)
    for (int n = 0; n < N; ++n) {
      const T* row = dy + static_cast<long>(n) * O;
      for (int o = 0; o < O; ++o) db[o] += row[o];
    }
}

#define FRNN_INST(T)                                                                       \
  template void dense_forward<T>(int, int, int, Activation, const T*, const T*, const T*, T*); \
  template void dense_backward<T>(int, int, int, Activation, const T*, const T*, const T*, T*, \
                                  T*, T*, T*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

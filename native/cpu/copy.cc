// copy_rows: strided row copies (concatenating / splitting feature blocks); scale_rows.
#include <cstring>

#include "cpu_kernels.h"

namespace frnn::cpu {

template <typename T>
void copy_rows(int rows, int cols, const T* src, int lds, T* dst, int ldd, bool accumulate) {
  for (int r = 0; r < rows; ++r) {
    const T* s = src + static_cast<long>(r) * lds;
    T* d = dst + static_cast<long>(r) * ldd;
    if (accumulate) {
      for (int c = 0; c < cols; ++c) d[c] += s[c];
    } else if (d != s) {
      std::memmove(d, s, static_cast<size_t>(cols) * sizeof(T));
    }
  }
}

template <typename T>
void scale_rows(int N, int D, const T* scale, int ld_scale, const T* a, T* out, bool accumulate) {
  for (int n = 0; n < N; ++n) {
    const T k = scale[static_cast<size_t>(n) * ld_scale];
    const T* an = a + static_cast<size_t>(n) * D;
    T* on = out + static_cast<size_t>(n) * D;
    for (int d = 0; d < D; ++d) on[d] = (accumulate ? on[d] : T(0)) + k * an[d];
  }
}

#define FRNN_INST(T)                                                     \
  template void copy_rows<T>(int, int, const T*, int, T*, int, bool); \
  template void scale_rows<T>(int, int, const T*, int, const T*, T*, bool);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

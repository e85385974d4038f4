#include "one_hot_input.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace frnn::cpu {
namespace {

// [I, GH] scratch of this thread: W_ih transposed (forward) or the per-column sums (backward).
float* by_column(int I, int GH) {
  thread_local std::vector<float> buffer;
  buffer.resize(static_cast<size_t>(I) * GH);
  return buffer.data();
}

}  // namespace

const int32_t* one_hot_columns(const float* x, long N, int I) {
  thread_local std::vector<int32_t> hot;
  hot.resize(static_cast<size_t>(N));
  for (long r = 0; r < N; ++r) {
    const float* row = x + r * I;
    int found = -1;
    for (int k = 0; k < I; ++k) {
      if (row[k] == 0.0f) continue;
      if (row[k] != 1.0f || found >= 0) return nullptr;
      found = k;
    }
    if (found < 0) return nullptr;
    hot[r] = found;
  }
  return hot.data();
}

void gather_input_projection(long N, int I, int GH, const int32_t* hot, const float* w_ih, const float* b_ih,
                             float* pre) {
  float* wt = by_column(I, GH);
  for (int j = 0; j < GH; ++j)
    for (int k = 0; k < I; ++k) wt[static_cast<long>(k) * GH + j] = w_ih[static_cast<long>(j) * I + k];
  parallel_for_pieces(N, 64, [&](long begin, long end) {
    for (long r = begin; r < end; ++r) {
      const float* w = wt + static_cast<long>(hot[r]) * GH;
      float* out = pre + r * GH;
      for (int j = 0; j < GH; ++j) out[j] = w[j] + b_ih[j];
    }
  });
}

void scatter_input_weight_grad(long N, int I, int GH, const int32_t* hot, const float* da, float* dw_ih) {
  float* sums = by_column(I, GH);
  std::memset(sums, 0, sizeof(float) * I * GH);
  // Split by columns: each element still adds its rows in order, whatever the thread count.
  parallel_for_pieces(GH, 256, [&](long j0, long j1) {
    for (long r = 0; r < N; ++r) {
      float* __restrict s = sums + static_cast<long>(hot[r]) * GH;
      const float* __restrict d = da + r * GH;
      for (long j = j0; j < j1; ++j) s[j] += d[j];
    }
  });
  for (int j = 0; j < GH; ++j)
    for (int k = 0; k < I; ++k) dw_ih[static_cast<long>(j) * I + k] += sums[static_cast<long>(k) * GH + j];
}

}  // namespace frnn::cpu

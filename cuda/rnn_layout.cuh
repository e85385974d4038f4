// Shared by the recurrent forward and backward kernels: the workspace layout (the CPU's, from
// native/rnn_workspace.h, so the two can be compared) and the ragged step -> row mapping.
#pragma once

#include <cstddef>

#include "../native/ops.h"
#include "../native/rnn_workspace.h"

namespace frnn::cuda {

using RnnLayout = RnnWorkspaceLayout;
inline RnnLayout rnn_layout(const RnnShape& s) { return rnn_workspace_layout(s); }

// Row (b, t) processed at `step`, or -1 when sequence b has ended (its state stays frozen).
__device__ __forceinline__ long step_row(int b, int step, int T, const int* lengths, bool reverse) {
  const int len = lengths ? lengths[b] : T;
  if (step >= len) return -1;
  const int t = reverse ? len - 1 - step : step;
  return static_cast<long>(b) * T + t;
}

__device__ __forceinline__ float sigmoidf(float a) { return 1.f / (1.f + expf(-a)); }

}  // namespace frnn::cuda

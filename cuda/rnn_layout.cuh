// Shared by the recurrent forward and backward kernels: the workspace layout and the ragged
// step -> row mapping. Same layout as the CPU's (native/cpu/rnn.cc), so the two can be compared:
//   gates [N, G*H] post-activation gates (LSTM i,f,g,o; GRU r,z,n; RNN h'); rows past a
//                  sequence's end are 0
//   hprev [N, H]   the h entering step t
//   LSTM: cprev [N, H], cnew [N, H];  GRU reset-after: hn [N, H] = W_hn h + b_hn
#pragma once

#include <cstddef>

#include "../native/ops.h"

namespace frnn::cuda {

struct RnnLayout {
  int G, GH;
  size_t N;
  size_t gates, hprev, cprev, cnew, hn, total;  // element offsets; SIZE_MAX = absent
};

inline RnnLayout rnn_layout(const RnnShape& s) {
  RnnLayout L{};
  L.G = gate_count(s.cell);
  L.GH = L.G * s.H;
  L.N = static_cast<size_t>(s.B) * s.T;
  const size_t NH = L.N * s.H;
  size_t off = 0;
  L.gates = off, off += L.N * L.GH;
  L.hprev = off, off += NH;
  L.cprev = L.cnew = L.hn = static_cast<size_t>(-1);
  if (s.cell == Cell::LSTM) L.cprev = off, off += NH, L.cnew = off, off += NH;
  if (s.cell == Cell::GRU && !s.reset_before) L.hn = off, off += NH;
  L.total = off;
  return L;
}

// Row (b, t) processed at `step`, or -1 when sequence b has ended (its state stays frozen).
__device__ __forceinline__ long step_row(int b, int step, int T, const int* lengths, bool reverse) {
  const int len = lengths ? lengths[b] : T;
  if (step >= len) return -1;
  const int t = reverse ? len - 1 - step : step;
  return static_cast<long>(b) * T + t;
}

__device__ __forceinline__ float sigmoidf(float a) { return 1.f / (1.f + expf(-a)); }

}  // namespace frnn::cuda

// The recurrent layer's workspace layout, one for every backend so their saved activations line
// up (N = B*T rows, row (b, t) at b*T + t; offsets in elements, -1 = absent for this cell):
//   gates [N, G*H] post-activation gates in gates.h's slots (RNN: h' itself); rows past a
//                  sequence's end are 0
//   hprev [N, H]   the h entering step t
//   LSTM: cprev [N, H], cnew [N, H] (c entering and after step t)
//   GRU reset-after: hn [N, H] = W_hn h + b_hn
#pragma once

#include "ops.h"

namespace frnn {

struct RnnWorkspaceLayout {
  int G, GH;
  long N;
  long gates, hprev, cprev, cnew, hn, total;
};

inline RnnWorkspaceLayout rnn_workspace_layout(const RnnShape& s) {
  RnnWorkspaceLayout L{};
  L.G = gate_count(s.cell);
  L.GH = L.G * s.H;
  L.N = static_cast<long>(s.B) * s.T;
  const long NH = L.N * s.H;
  long off = 0;
  L.gates = off, off += L.N * L.GH;
  L.hprev = off, off += NH;
  L.cprev = L.cnew = L.hn = -1;
  if (s.cell == Cell::LSTM) L.cprev = off, off += NH, L.cnew = off, off += NH;
  if (s.cell == Cell::GRU && !s.reset_before) L.hn = off, off += NH;
  L.total = off;
  return L;
}

}  // namespace frnn

// Where each gate lives: the one place that states the gate order. A cell's gates form one row
// of G*H values, gate by gate, each gate a block of H (PyTorch's layout, so checkpoints load in
// torch.nn.LSTM/GRU unchanged). The same slots index w_ih/w_hh rows, biases, pre-activations,
// activated gates and their gradients.
//   LSTM (G = 4): i, f, g (the tanh candidate), o
//   GRU  (G = 3): r, z, n (PyTorch's reset-after: n = tanh(W_in x + b_in + r*(W_hn h + b_hn)))
//   RNN  (G = 1): the new h itself
// TF1 peephole weights are a separate [3*H] row: i and f see c(t-1), o sees the new c(t).
#pragma once

#include <cstdint>

#include "host_device.h"

namespace frnn {

enum class Cell : int32_t { LSTM = 0, GRU = 1, RNN_TANH = 2, RNN_RELU = 3 };

enum class LstmGate : int { I = 0, F = 1, G = 2, O = 3 };
enum class GruGate : int { R = 0, Z = 1, N = 2 };
enum class Peephole : int { I = 0, F = 1, O = 2 };
constexpr int kPeepholeSlots = 3;
// Checkpoint names of the peephole slots, in slot order: rnn.peephole_<name>_l<k>.
constexpr const char* kPeepholeNames[kPeepholeSlots] = {"i", "f", "o"};

// The reset-before GRU multiplies the r and z rows of W_hh by h and the n rows by r*h, as two
// products over contiguous rows: n must be the last block.
static_assert(static_cast<int>(GruGate::N) == 2, "GRU n is the last gate block");

FRNN_HD constexpr int gate_count(Cell cell) {
  return cell == Cell::LSTM ? 4 : cell == Cell::GRU ? 3 : 1;
}

// Offset of a slot's block of H values within its row.
FRNN_HD constexpr int at(LstmGate g, int H) { return static_cast<int>(g) * H; }
FRNN_HD constexpr int at(GruGate g, int H) { return static_cast<int>(g) * H; }
FRNN_HD constexpr int at(Peephole p, int H) { return static_cast<int>(p) * H; }

}  // namespace frnn

// The executor's buffers for one batch shape, and the layout of its per-step values (network_impl.h).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "../ops.h"
#include "memory.h"

namespace frnn {

// Activations and their gradients for one (B, T), allocated once and reused by every step of
// that shape, so a training step allocates nothing.
template <typename Real>
struct Activations {
  struct Direction {
    Real* workspace = nullptr;
    Real* hN = nullptr;
    Real* cN = nullptr;
    Real* dhN = nullptr;  // last-step mode: the head's gradient for this direction's final state
    Real* h0 = nullptr;   // conditioned networks: tanh(W_c·condition + b_c) [B,H]
    Real* dh0 = nullptr;  // the gradient of the initial h (conditioned networks, state gradients)
    Real* dc0 = nullptr;  // and of the initial c (LSTM)
    Real* dcN = nullptr;  // an injected gradient of the final c (train_from_state_grad, LSTM)
  };
  struct Layer {
    int in_width = 0, out_width = 0;
    Real* x_dropped = nullptr;   // input after dropout (when dropout_input > 0)
    Real* y = nullptr;           // [B,T,D*H]
    Real* y_dropped = nullptr;   // output after dropout (when dropout_output > 0)
    Real* dy = nullptr;          // gradient of y
    Real* dx = nullptr;          // gradient of the layer's input
    Direction dir[2];
    // The step's dropout offsets: slots of the step block (backend memory), filled per step.
    const uint64_t* dropout_in_offset = nullptr;
    const uint64_t* dropout_out_offset = nullptr;
  };

  int B = 0, T_ = 0, rows = 0;
  std::unique_ptr<Memory<Real>> mem;
  int32_t* tokens = nullptr;
  int32_t* lengths = nullptr;
  int32_t* class_targets = nullptr;
  Real* value_targets = nullptr;
  Real* weights = nullptr;
  Real* x0 = nullptr;  // [B,T,I0]: embedded / one-hot / features
  std::vector<Layer> layers;
  Real* head_in = nullptr;          // last-step mode: [B, D*H]
  Real* head_in_dropped = nullptr;  // last-step mode with output dropout
  Real* dhead_in = nullptr;         // [rows, D*H]
  std::vector<Real*> z, dz;         // per dense layer [rows, units]
  Real* zero_state = nullptr;       // [B, max H]: the initial state when none is carried
  Real* condition = nullptr;        // [B, condition] (conditioned networks)
  // Sampled softmax (training): the step's S samples and their log expected counts (pointers
  // into the step block), the gathered output rows (Ws, bs: samples; Wt, bt: each row's target),
  // sample logits Ls [rows, S], the candidate logits [rows, 1+S] and their gradient, and backward
  // temporaries.
  struct Sampled {
    int32_t* samples = nullptr;
    int32_t* zero_targets = nullptr;  // the target is candidate 0 of every row
    Real *log_expected = nullptr, *Ws = nullptr, *bs = nullptr, *Wt = nullptr, *bt = nullptr, *Ls = nullptr;
    Real *logits = nullptr, *dlogits = nullptr, *dLs = nullptr, *dl0 = nullptr, *scaled = nullptr;
    Real *dWs = nullptr, *dbs = nullptr;
  } sampled;
  // Attention (decoders): the buffers hold memories of up to `capacity` steps (grown, never
  // shrunk, so bucketed batches of varying source lengths do not reallocate); S is the current one.
  struct Attention {
    int S = 0, capacity = 0;
    std::unique_ptr<Memory<Real>> mem;
    int32_t* lengths = nullptr;
    bool has_lengths = false;
    Real *memory = nullptr, *keys = nullptr, *alpha = nullptr, *context = nullptr, *concat = nullptr, *out = nullptr;
    Real *dconcat = nullptr, *dcontext = nullptr, *dkeys = nullptr, *dmemory = nullptr, *dmem_keys = nullptr;
    const Real* query = nullptr;  // the stack output it attended from (forward)
  } attention;
  const uint64_t* head_dropout_offset = nullptr;
};

// The values of one training step that change from step to step (ops.h, "per-step values"),
// laid out identically on the host (alloc_host) and in backend memory: the host fills them before
// the step and the step's first op copies them over, so a captured step replays with new ones.
// After the header: one dropout offset per slot (layer l's input 2l, output 2l+1; the head's
// 2·layers), then the sampled softmax's S samples and their log expected counts.
struct StepHeader {
  AdamStep adam;
  double max_norm = 0;
};

}  // namespace frnn

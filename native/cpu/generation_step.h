// One recurrent step of one-row-at-a-time inference (generation) by held packed weights
// (weight_cache.h), with each pool thread computing the input and recurrent products *and* the
// gate math of its own slice of units: one hand-off per layer and step, where the general path
// (rnn.cc) hands off the products and then runs the gate math on the calling thread. Each thread
// keeps the same slice of every weight matrix from one character to the next (task affinity),
// so its slice stays in its core's cache.
#pragma once

#include "../ops.h"

namespace frnn::cpu {

// rnn_forward's contract (ops.h) for T = 1, no workspace, no lengths. Returns false, doing
// nothing, where it does not apply: another shape or cell (RNN cells, GRU reset-before), more
// rows than it serves, or weights not held packed; rnn_forward then runs its general path.
bool generation_step(const RnnShape& s, const float* x, const float* h0, const float* c0,
                     const RnnParams<float>& p, float* y, int ldy, float* hN, float* cN);

}  // namespace frnn::cpu

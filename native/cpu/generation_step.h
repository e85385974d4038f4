// One recurrent step of one-row-at-a-time inference (generation) by held packed weights
// (weight_cache.h), with each pool thread computing the input and recurrent products *and* the
// gate math of its own slice of units: one hand-off per layer and step, where the general path
// (rnn.cc) hands off the products and then runs the gate math on the calling thread. Each thread
// keeps the same slice of every weight matrix from one character to the next (task affinity),
// so its slice stays in its core's cache. decode.cc runs the same slices in one gang per call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../ops.h"
#include "weight_cache.h"

namespace frnn::cpu {

// One layer's step split into `parts` slices of units. Part p's work comes in two halves: the
// recurrent product (needs only the old h, so it can run before the layer's input is known) and
// then the input product with the gate math. Results do not depend on the number of parts.
class LayerStep {
 public:
  // Empty (false) where it does not apply: another cell (RNN, GRU reset-before), T != 1, more
  // rows than it serves, or weights not held packed. Looks the packed weights up, so it is made
  // on the thread that holds them.
  LayerStep(const RnnShape& s, const RnnParams<float>& p);
  // `sums`: room for sum_elems() floats, the recurrent sums kept from recurrent() to finish().
  size_t sum_elems() const { return static_cast<size_t>(s_.B) * G_ * s_.H; }
  void keep_sums_in(float* sums) { r_ = sums; }
  explicit operator bool() const { return ok_; }
  bool lstm() const { return lstm_; }
  // How many parts are worth a hand-off for an input with `nonzero` nonzero entries.
  int useful_parts(long nonzero) const;

  // Part `part` of `parts`: the recurrent sums b_hh + h_old·W_hhᵀ of its units, kept for finish.
  void recurrent(int part, int parts, const float* h_old);
  // Then the input sums and the gate math: c updated in place, h_new written, for its units.
  // h_new must not alias h_old (every part reads all of h_old).
  void finish(int part, int parts, const float* x, const float* h_old, float* c, float* h_new);

 private:
  void units(int part, int parts, int* u0, int* u1) const;
  // Units [u0, u0+U) keep their sums together, row b's G gates of U side by side (the gate kernels' layout).
  float* part_sums(int u0, int U, int b) const { return r_ + static_cast<long>(s_.B) * G_ * u0 + static_cast<long>(b) * G_ * U; }
  RnnShape s_;
  RnnParams<float> p_;
  bool ok_ = false, lstm_ = false;
  int G_ = 0;
  float* r_ = nullptr;  // B*G*H: each part's recurrent sums, from recurrent() to finish()
  struct Held {
    PackedMatrix w;
    int K, N;
  } input_{}, recurrent_{};
};

// rnn_forward's contract (ops.h) for T = 1, no workspace, no lengths, by a LayerStep. Returns
// false, doing nothing, where that does not apply; rnn_forward then runs its general path.
bool generation_step(const RnnShape& s, const float* x, const float* h0, const float* c0,
                     const RnnParams<float>& p, float* y, int ldy, float* hN, float* cN);

}  // namespace frnn::cpu

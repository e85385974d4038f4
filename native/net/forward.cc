// The forward pass: inputs, the recurrent stack, the head and the loss.
#include "network_impl.h"

#include "../errors.h"

namespace frnn {

template <typename Real>
void NetworkImpl<Real>::run_input(Activations<Real>& a) {
  const int N = a.B * a.T_;
  if (cfg_.input == InputKind::Embedding)
    ops_->embedding_forward(N, cfg_.vocab, cfg_.embedding_dim, a.tokens, params_ + layout_.embedding, a.x0);
  else if (cfg_.input == InputKind::OneHot)
    ops_->one_hot(N, cfg_.vocab, a.tokens, a.x0);
}

// Forward through the whole plan. use_state: initial states from the carried state.
template <typename Real>
void NetworkImpl<Real>::forward(Activations<Real>& a, bool training, bool use_state) {
  const int B = a.B, T = a.T_;
  const size_t BT = static_cast<size_t>(B) * T;
  if (use_state) allocate_state(B);
  state_used_ = use_state;
  run_input(a);
  if (cfg_.condition > 0 && !use_state) {
    if (!has_condition_) internal_error(kConditionRequired);
    run_condition(a);
  }
  const Real* x = a.x0;
  const int32_t* lengths = has_lengths_ ? a.lengths : nullptr;
  for (size_t l = 0; l < cfg_.layers.size(); ++l) {
    auto& L = a.layers[l];
    const RecurrentSpec& spec = cfg_.layers[l];
    if (training && spec.dropout_input > 0) {
      ops_->dropout_forward(BT * L.in_width, spec.dropout_input, cfg_.seed, L.dropout_in_offset, x, L.x_dropped);
      x = L.x_dropped;
    }
    for (int d = 0; d < directions(l); ++d) {
      const auto [h0, c0] = initial_state(a, l, d, use_state);
      ops_->rnn_forward(layer_shape(l, B, T, d == 1), x, lengths, h0, c0, rnn_params(l, d),
                        L.y + d * spec.hidden, L.out_width, L.dir[d].hN, L.dir[d].cN,
                        training ? L.dir[d].workspace : nullptr);
    }
    x = L.y;
    if (training && sequence_output_dropout(l)) {
      ops_->dropout_forward(BT * L.out_width, spec.dropout_output, cfg_.seed, L.dropout_out_offset, L.y,
                            L.y_dropped);
      x = L.y_dropped;
    }
  }
  if (cfg_.attention > 0) x = run_attention(a, x);
  if (!cfg_.return_sequences) {
    // The last valid step of each direction is its final state (Keras' Bidirectional does the same).
    const size_t l = cfg_.layers.size() - 1;
    auto& L = a.layers[l];
    for (int d = 0; d < directions(l); ++d)
      ops_->copy_rows(B, cfg_.layers[l].hidden, L.dir[d].hN, cfg_.layers[l].hidden,
                      a.head_in + d * cfg_.layers[l].hidden, L.out_width, false);
    x = a.head_in;
    if (training && cfg_.layers[l].dropout_output > 0) {
      ops_->dropout_forward(static_cast<size_t>(B) * L.out_width, cfg_.layers[l].dropout_output, cfg_.seed,
                            a.head_dropout_offset, a.head_in, a.head_in_dropped);
      x = a.head_in_dropped;
    }
  }
  head_input_ = x;
  run_head(a, x, a.rows, /*skip_output=*/sampled_step_);
}

// h0 of every layer-direction from the batch's condition [B, condition].
template <typename Real>
void NetworkImpl<Real>::run_condition(Activations<Real>& a) {
  for (size_t l = 0; l < cfg_.layers.size(); ++l)
    for (int d = 0; d < directions(l); ++d) {
      const DenseOffsets& o = layout_.condition[l][d];
      ops_->dense_forward(a.B, cfg_.condition, cfg_.layers[l].hidden, Activation::Tanh, a.condition,
                          params_ + o.weight, params_ + o.bias, a.layers[l].dir[d].h0);
    }
}

// skip_output: stop before the output layer (the sampled softmax computes its own logits).
template <typename Real>
const Real* NetworkImpl<Real>::run_head(Activations<Real>& a, const Real* x, int rows, bool skip_output) {
  int width = cfg_.layers.back().hidden * directions(cfg_.layers.size() - 1);
  for (size_t k = 0; k < cfg_.dense.size() - (skip_output ? 1 : 0); ++k) {
    const DenseOffsets& o = layout_.dense[k];
    ops_->dense_forward(rows, width, cfg_.dense[k].units, cfg_.dense[k].activation, x, params_ + o.weight,
                        params_ + o.bias, a.z[k]);
    x = a.z[k];
    width = cfg_.dense[k].units;
  }
  return x;
}

template <typename Real>
void NetworkImpl<Real>::loss(Activations<Real>& a, bool with_grad) {
  Real* out = a.z.back();
  const Real* weights = has_weights_ ? a.weights : nullptr;
  if (cfg_.loss == LossKind::SoftmaxXent) {
    ops_->softmax_xent(a.rows, cfg_.output_width(), out, a.class_targets, weights, scalars_ + 0,
                       with_grad ? a.dz.back() : nullptr, scalars_ + 3);
  } else {
    ops_->mse(a.rows, cfg_.output_width(), out, a.value_targets, weights, scalars_ + 0,
              with_grad ? a.dz.back() : nullptr);
    ops_->zero(scalars_ + 3, sizeof(Real));
  }
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template void NetworkImpl<Real>::run_input(Activations<Real>& a); \
  template void NetworkImpl<Real>::forward(Activations<Real>& a, bool training, bool use_state); \
  template void NetworkImpl<Real>::run_condition(Activations<Real>& a); \
  template const Real* NetworkImpl<Real>::run_head(Activations<Real>& a, const Real* x, int rows, bool skip_output); \
  template void NetworkImpl<Real>::loss(Activations<Real>& a, bool with_grad);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

// The backward pass: the head, then the recurrent stack top layer first.
#include "network_impl.h"

namespace frnn {

template <typename Real>
void NetworkImpl<Real>::backward(Activations<Real>& a) {
  const int B = a.B, T = a.T_;
  const size_t BT = static_cast<size_t>(B) * T;
  // Head, from the loss gradient in dz.back() down to the recurrent output.
  for (size_t k = cfg_.dense.size(); k-- > 0;) {
    const DenseOffsets& o = layout_.dense[k];
    const int in_width = head_width(k);
    const Real* x = k == 0 ? head_input_ : a.z[k - 1];
    Real* dx = k == 0 ? a.dhead_in : a.dz[k - 1];
    if (sampled_step_ && k + 1 == cfg_.dense.size()) {
      sampled_backward(a, x, dx);
      continue;
    }
    ops_->dense_backward(a.rows, in_width, cfg_.dense[k].units, cfg_.dense[k].activation, x, params_ + o.weight,
                         a.z[k], a.dz[k], dx, grads_ + o.weight, grads_ + o.bias);
  }
  if (cfg_.attention > 0) attention_backward(a);
  const size_t last = cfg_.layers.size() - 1;
  // Gradient arriving at the last layer's output: per step (dy) or at its final states (dhN).
  if (cfg_.return_sequences) {
    auto& L = a.layers[last];
    if (cfg_.layers[last].dropout_output > 0)
      ops_->dropout_backward(BT * L.out_width, cfg_.layers[last].dropout_output, cfg_.seed, L.dropout_out_offset,
                             a.dhead_in, L.dy);
    else
      ops_->copy(L.dy, a.dhead_in, BT * L.out_width * sizeof(Real));
  } else {
    auto& L = a.layers[last];
    if (cfg_.layers[last].dropout_output > 0)
      ops_->dropout_backward(static_cast<size_t>(B) * L.out_width, cfg_.layers[last].dropout_output, cfg_.seed,
                             a.head_dropout_offset, a.dhead_in, a.dhead_in);
    for (int d = 0; d < directions(last); ++d)
      ops_->copy_rows(B, cfg_.layers[last].hidden, a.dhead_in + d * cfg_.layers[last].hidden, L.out_width,
                      L.dir[d].dhN, cfg_.layers[last].hidden, false);
  }
  backward_layers(a, cfg_.return_sequences, /*inject_final=*/false);
}

// Backward through the recurrent stack, top layer first. top_dy: the top layer has per-step
// gradients in its dy (else only a final-state one, in dhN). inject_final: every layer-direction
// also gets the gradient of its final state from dhN/dcN (train_from_state_grad).
template <typename Real>
void NetworkImpl<Real>::backward_layers(Activations<Real>& a, bool top_dy, bool inject_final) {
  const int B = a.B, T = a.T_;
  const size_t BT = static_cast<size_t>(B) * T;
  const int32_t* lengths = has_lengths_ ? a.lengths : nullptr;
  const size_t last = cfg_.layers.size() - 1;
  for (size_t l = cfg_.layers.size(); l-- > 0;) {
    auto& L = a.layers[l];
    const RecurrentSpec& spec = cfg_.layers[l];
    const bool sequence_grad = top_dy || l != last;
    const Real* x = l == 0 ? a.x0 : layer_output(a, l - 1);
    if (spec.dropout_input > 0) x = L.x_dropped;
    const bool need_dx = l > 0 || (cfg_.input == InputKind::Embedding && !cfg_.freeze_embedding);
    if (need_dx) ops_->zero(L.dx, BT * L.in_width * sizeof(Real));
    for (int d = 0; d < directions(l); ++d) {
      // Truncated BPTT: the gradient stops at a carried initial state; a conditioned one passes
      // it on to the conditioning layer.
      const auto [h0, c0] = initial_state(a, l, d, state_used_);
      const bool conditioned = cfg_.condition > 0 && !state_used_;
      const bool state_grad = state_grad_wanted_ && state_used_;
      auto& D = L.dir[d];
      const bool lstm = spec.cell == Cell::LSTM;
      ops_->rnn_backward(layer_shape(l, B, T, d == 1), x, lengths, h0, c0, rnn_params(l, d), D.workspace,
                         sequence_grad ? L.dy + d * spec.hidden : nullptr, L.out_width,
                         inject_final || !sequence_grad ? D.dhN : nullptr, inject_final && lstm ? D.dcN : nullptr,
                         need_dx ? L.dx : nullptr, conditioned || state_grad ? D.dh0 : nullptr,
                         state_grad && lstm ? D.dc0 : nullptr, rnn_grads(l, d));
      if (conditioned) {
        const DenseOffsets& o = layout_.condition[l][d];
        ops_->dense_backward(B, cfg_.condition, spec.hidden, Activation::Tanh, a.condition, params_ + o.weight,
                             L.dir[d].h0, L.dir[d].dh0, nullptr, grads_ + o.weight, grads_ + o.bias);
      }
    }
    if (!need_dx) continue;
    if (spec.dropout_input > 0)
      ops_->dropout_backward(BT * L.in_width, spec.dropout_input, cfg_.seed, L.dropout_in_offset, L.dx, L.dx);
    if (l > 0) {
      auto& P = a.layers[l - 1];
      if (cfg_.layers[l - 1].dropout_output > 0)
        ops_->dropout_backward(BT * P.out_width, cfg_.layers[l - 1].dropout_output, cfg_.seed, P.dropout_out_offset,
                               L.dx, P.dy);
      else
        ops_->copy(P.dy, L.dx, BT * P.out_width * sizeof(Real));
    } else {
      ops_->embedding_backward(B * T, cfg_.vocab, cfg_.embedding_dim, a.tokens, L.dx, grads_ + layout_.embedding);
    }
  }
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template void NetworkImpl<Real>::backward(Activations<Real>& a); \
  template void NetworkImpl<Real>::backward_layers(Activations<Real>& a, bool top_dy, bool inject_final);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

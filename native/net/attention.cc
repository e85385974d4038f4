// Luong attention over a batch's memory (decoders of encoder-decoders).
#include "network_impl.h"

namespace frnn {

template <typename Real>
void NetworkImpl<Real>::upload_memory(Activations<Real>& a, const Batch& batch) {
  auto& m = a.attention;
  const int S = batch.memory_steps, M = cfg_.attention, H = stack_width();
  const size_t B = static_cast<size_t>(a.B), N = B * a.T_;
  m.S = S;
  if (S > m.capacity) {
    ops_->drop_captured();  // captured steps hold the old buffers' addresses
    m.mem.reset();  // the old buffers go first, so peak memory is the new size alone
    m.mem = std::make_unique<Memory<Real>>(*ops_, live_bytes_);
    Memory<Real>& mm = *m.mem;
    m.capacity = S;
    m.lengths = mm.ints(B);
    m.memory = mm.floats(B * S * M);
    m.keys = cfg_.attention_dot ? m.memory : mm.floats(B * S * H);
    m.alpha = mm.floats(N * S);
    m.context = mm.floats(N * M);
    m.concat = mm.floats(N * (M + H));
    m.out = mm.floats(N * H);
    m.dconcat = mm.floats(N * (M + H));
    m.dcontext = mm.floats(N * M);
    m.dkeys = mm.floats(B * S * H);
    m.dmemory = mm.floats(B * S * M);
    m.dmem_keys = cfg_.attention_dot ? nullptr : mm.floats(B * S * M);
  }
  upload_floats(m.memory, batch.memory);
  m.has_lengths = !batch.memory_lengths.empty();
  if (m.has_lengths) ops_->upload(m.lengths, batch.memory_lengths.data(), B * sizeof(int32_t));
}

// h~ = tanh(W_c [context; h] + b_c) for every step of the stack's output x [B*T, H].
template <typename Real>
const Real* NetworkImpl<Real>::run_attention(Activations<Real>& a, const Real* x) {
  auto& m = a.attention;
  const int B = a.B, T = a.T_, S = m.S, M = cfg_.attention, H = stack_width(), N = B * T;
  if (!cfg_.attention_dot)
    ops_->dense_forward(B * S, M, H, Activation::Linear, m.memory, params_ + layout_.attention_wa, nullptr, m.keys);
  ops_->attention_forward(B, T, S, H, M, x, m.keys, m.memory, m.has_lengths ? m.lengths : nullptr, m.alpha, m.context);
  ops_->copy_rows(N, M, m.context, M, m.concat, M + H, false);
  ops_->copy_rows(N, H, x, H, m.concat + M, M + H, false);
  ops_->dense_forward(N, M + H, H, Activation::Tanh, m.concat, params_ + layout_.attention_out.weight,
                      params_ + layout_.attention_out.bias, m.out);
  m.query = x;
  return m.out;
}

// From the gradient of h~ in dhead_in to that of the stack's output (written back into
// dhead_in), the attention parameters' gradients and the memory's (attention.dmemory).
template <typename Real>
void NetworkImpl<Real>::attention_backward(Activations<Real>& a) {
  auto& m = a.attention;
  const int B = a.B, T = a.T_, S = m.S, M = cfg_.attention, H = stack_width(), N = B * T;
  ops_->dense_backward(N, M + H, H, Activation::Tanh, m.concat, params_ + layout_.attention_out.weight, m.out,
                       a.dhead_in, m.dconcat, grads_ + layout_.attention_out.weight,
                       grads_ + layout_.attention_out.bias);
  ops_->copy_rows(N, M, m.dconcat, M + H, m.dcontext, M, false);
  ops_->copy_rows(N, H, m.dconcat + M, M + H, a.dhead_in, H, false);
  ops_->zero(m.dmemory, static_cast<size_t>(B) * S * M * sizeof(Real));
  ops_->attention_backward(B, T, S, H, M, m.query, m.keys, m.memory, m.has_lengths ? m.lengths : nullptr, m.alpha,
                           m.dcontext, a.dhead_in, m.dkeys, m.dmemory);
  if (cfg_.attention_dot) {
    ops_->copy_rows(B * S, M, m.dkeys, M, m.dmemory, M, true);
  } else {
    ops_->dense_backward(B * S, M, H, Activation::Linear, m.memory, params_ + layout_.attention_wa, m.keys, m.dkeys,
                         m.dmem_keys, grads_ + layout_.attention_wa, nullptr);
    ops_->copy_rows(B * S, M, m.dmem_keys, M, m.dmemory, M, true);
  }
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template void NetworkImpl<Real>::upload_memory(Activations<Real>& a, const Batch& batch); \
  template const Real* NetworkImpl<Real>::run_attention(Activations<Real>& a, const Real* x); \
  template void NetworkImpl<Real>::attention_backward(Activations<Real>& a);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

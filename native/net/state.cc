// The carried recurrent state (truncated BPTT, stateful evaluation) and the state gradients
// an encoder trains from.
#include "network_impl.h"

#include "../errors.h"

namespace frnn {

template <typename Real>
void NetworkImpl<Real>::reset_state() {
  state_.clear();
  state_batch_ = 0;
}

template <typename Real>
std::vector<std::vector<double>> NetworkImpl<Real>::get_state(int* batch) {
  *batch = state_batch_;
  std::vector<std::vector<double>> blocks;
  for (const StateBlock& s : state_) blocks.push_back(download_floats(s.data, s.size));
  return blocks;
}

// Checked in full before anything changes; the new state's memory is built aside.
template <typename Real>
void NetworkImpl<Real>::set_state(int batch, const std::vector<std::vector<double>>& blocks) {
  if (batch < 1) internal_error("state batch must be >= 1");
  const std::vector<size_t> sizes = state_block_sizes(batch);
  if (blocks.size() != sizes.size())
    internal_error("state must have " + std::to_string(sizes.size()) + " blocks, got " + std::to_string(blocks.size()));
  for (size_t i = 0; i < blocks.size(); ++i)
    if (blocks[i].size() != sizes[i])
      internal_error("state block " + std::to_string(i) + " must have " + std::to_string(sizes[i]) + " elements");
  allocate_state(batch);
  for (size_t i = 0; i < blocks.size(); ++i) upload_floats(state_[i].data, blocks[i]);
}

// The carried state's block sizes for batch B, in state_'s order (per layer and direction: h,
// then c for an LSTM). Allocates nothing, so callers can check before they change anything.
template <typename Real>
std::vector<size_t> NetworkImpl<Real>::state_block_sizes(int B) const {
  std::vector<size_t> sizes;
  for (size_t l = 0; l < cfg_.layers.size(); ++l)
    for (int d = 0; d < directions(l); ++d) {
      const size_t n = static_cast<size_t>(B) * cfg_.layers[l].hidden;
      sizes.push_back(n);
      if (cfg_.layers[l].cell == Cell::LSTM) sizes.push_back(n);
    }
  return sizes;
}

template <typename Real>
void NetworkImpl<Real>::allocate_state(int B) {
  if (state_batch_ == B && !state_.empty()) return;
  if (state_mem_ && state_mem_batch_ == B) {
    // After reset_state: the same buffers, zeroed, so captured steps that read them stay valid.
    state_ = state_blocks_;
    for (const StateBlock& s : state_) ops_->zero(s.data, s.size * sizeof(Real));
    state_batch_ = B;
    return;
  }
  // Built aside and swapped in whole: a failed allocation leaves the old state as it was. The
  // old memory is kept (retired) until the next swap, so a call that fails later can put it back.
  auto mem = std::make_unique<Memory<Real>>(*ops_, live_bytes_);
  std::vector<StateBlock> blocks;
  for (const size_t n : state_block_sizes(B)) blocks.push_back({mem->floats(n), n});
  ops_->drop_captured();  // captured steps hold the old state's addresses
  retired_state_mem_ = std::move(state_mem_);
  state_mem_ = std::move(mem);
  state_ = blocks;
  state_blocks_ = std::move(blocks);
  state_batch_ = B;
  state_mem_batch_ = B;
}

// Per layer-direction (get_state's order): the final states h, c of the last forward, or the
// gradients of the initial ones from the last backward.
template <typename Real>
std::vector<std::vector<double>> NetworkImpl<Real>::download_state_blocks(Activations<Real>& a, bool gradients) {
  std::vector<std::vector<double>> blocks;
  for (size_t l = 0; l < cfg_.layers.size(); ++l)
    for (int d = 0; d < directions(l); ++d) {
      const auto& D = a.layers[l].dir[d];
      const size_t n = static_cast<size_t>(a.B) * cfg_.layers[l].hidden;
      blocks.push_back(download_floats(gradients ? D.dh0 : D.hN, n));
      if (cfg_.layers[l].cell == Cell::LSTM) blocks.push_back(download_floats(gradients ? D.dc0 : D.cN, n));
    }
  return blocks;
}

template <typename Real>
void NetworkImpl<Real>::upload_state_grad(Activations<Real>& a, const std::vector<std::vector<double>>& blocks) {
  size_t i = 0;
  for (size_t l = 0; l < cfg_.layers.size(); ++l)
    for (int d = 0; d < directions(l); ++d) {
      auto& D = a.layers[l].dir[d];
      const size_t n = static_cast<size_t>(a.B) * cfg_.layers[l].hidden;
      for (Real* dst : {D.dhN, cfg_.layers[l].cell == Cell::LSTM ? D.dcN : nullptr}) {
        if (dst == nullptr) continue;
        if (i >= blocks.size() || blocks[i].size() != n)
          range_error("stateGrad must hold the encoded state's blocks: block " + std::to_string(i) + " needs " +
                      std::to_string(n) + " values");
        upload_floats(dst, blocks[i++]);
      }
    }
  if (i != blocks.size()) range_error("stateGrad has " + std::to_string(blocks.size()) + " blocks, the state " + std::to_string(i));
}

template <typename Real>
void NetworkImpl<Real>::keep_final_state(Activations<Real>& a) {
  for (size_t l = 0; l < cfg_.layers.size(); ++l)
    for (int d = 0; d < directions(l); ++d) {
      const auto [h, c] = state_of(l, d);
      const size_t bytes = static_cast<size_t>(a.B) * cfg_.layers[l].hidden * sizeof(Real);
      ops_->copy(h, a.layers[l].dir[d].hN, bytes);
      if (c) ops_->copy(c, a.layers[l].dir[d].cN, bytes);
    }
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template void NetworkImpl<Real>::reset_state(); \
  template std::vector<std::vector<double>> NetworkImpl<Real>::get_state(int* batch); \
  template void NetworkImpl<Real>::set_state(int batch, const std::vector<std::vector<double>>& blocks); \
  template std::vector<size_t> NetworkImpl<Real>::state_block_sizes(int B) const; \
  template void NetworkImpl<Real>::allocate_state(int B); \
  template std::vector<std::vector<double>> NetworkImpl<Real>::download_state_blocks(Activations<Real>& a, bool gradients); \
  template void NetworkImpl<Real>::upload_state_grad(Activations<Real>& a, const std::vector<std::vector<double>>& blocks); \
  template void NetworkImpl<Real>::keep_final_state(Activations<Real>& a);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

// Generation: prime, then draw token by token (or all at once through Ops::decode).
#include "network_impl.h"

#include <algorithm>

#include "../errors.h"
#include "batch_checks.h"

namespace frnn {

template <typename Real>
std::vector<int32_t> NetworkImpl<Real>::generate(const std::vector<int32_t>& prime, int B, int P, int steps,
                                                 const SampleConfig& sc, uint64_t seed, GenerationState* carry,
                                                 const std::vector<double>& condition) {
  if (cfg_.input == InputKind::Features || cfg_.loss != LossKind::SoftmaxXent)
    internal_error("generate needs a model with token inputs and a softmax output");
  for (const RecurrentSpec& l : cfg_.layers)
    if (l.bidirectional) internal_error("generate cannot run a bidirectional model one step at a time");
  if (cfg_.attention > 0) internal_error("generate does not take a memory: decode an attention model with beamSearch");
  // Each drawn id is fed back in as an input token.
  if (cfg_.output_width() > cfg_.vocab)
    internal_error("generate feeds every drawn token back in: it needs an output layer of at most vocabSize units");
  if (B < 1 || P < 1 || steps < 0 || prime.size() != static_cast<size_t>(B) * P)
    internal_error("generate: batch and prime length must be >= 1, and prime must hold batch * prime length ids");
  check_tokens(cfg_, prime, "prime");
  if (sc.products != ProductPrecision::Fp32 && !ops_->reduced_products())
    internal_error(std::string("options.precision '") + kProductPrecisionNames[static_cast<int>(sc.products)] +
                   "' needs a float32 model on the CPU backend");
  const HeldWeights held(*this, sc.products);

  // Generation keeps its own state so it never disturbs the carried training state.
  std::vector<Real*> h(cfg_.layers.size()), c(cfg_.layers.size());
  Memory<Real> scratch(*ops_, live_bytes_);
  for (size_t l = 0; l < cfg_.layers.size(); ++l) {
    h[l] = scratch.floats(static_cast<size_t>(B) * cfg_.layers[l].hidden);
    c[l] = scratch.floats(static_cast<size_t>(B) * cfg_.layers[l].hidden);
  }
  const bool resume = carry != nullptr && !carry->h.empty();
  if (!resume && cfg_.condition > 0) {
    check_condition(cfg_, condition.size(), B);
    Activations<Real>& a = shape_for(B, 1);
    upload_floats(a.condition, condition);
    run_condition(a);
    for (size_t l = 0; l < cfg_.layers.size(); ++l) {
      const size_t bytes = static_cast<size_t>(B) * cfg_.layers[l].hidden * sizeof(Real);
      ops_->copy(h[l], a.layers[l].dir[0].h0, bytes);
      ops_->zero(c[l], bytes);
    }
  } else if (!condition.empty()) {
    check_condition(cfg_, condition.size(), B);  // a resumed chunk has its state already; only the size is checked
  }
  if (resume) load_generation_state(*carry, B, h, c);
  const uint64_t first_draw = carry != nullptr ? static_cast<uint64_t>(carry->drawn) : 0;
  // Every draw stays on the device and feeds the next step directly; the host reads them all
  // once at the end, so a call is one upload, one download and no per-character round trip.
  int32_t* drawn = scratch.ints(static_cast<size_t>(B) * std::max(steps, 1));
  std::vector<int32_t> out(static_cast<size_t>(B) * steps);

  for (int s = 0; s < steps; ++s) {
    // After the prime step, a backend may run all the remaining characters in one go (the same
    // results; CUDA: one persistent launch per chunk). The loop below is the definition.
    if (s == 1 && ops_->decode(decode_spec(B, h, c), steps - 1, sc, seed, first_draw + 1, drawn, drawn + B)) break;
    const int T = s == 0 ? P : 1;
    Activations<Real>& a = shape_for(B, T);
    if (s == 0) ops_->upload(a.tokens, prime.data(), prime.size() * sizeof(int32_t));
    else ops_->copy(a.tokens, drawn + static_cast<size_t>(s - 1) * B, B * sizeof(int32_t));
    run_input(a);
    const Real* x = a.x0;
    for (size_t l = 0; l < cfg_.layers.size(); ++l) {
      auto& L = a.layers[l];
      const RnnShape shape = layer_shape(l, B, T, false);
      const bool lstm = cfg_.layers[l].cell == Cell::LSTM;
      // The state is read first and written last (ops.h), so it is updated in place.
      ops_->rnn_forward(shape, x, nullptr, h[l], lstm ? c[l] : nullptr, rnn_params(l, 0), L.y, L.out_width,
                        h[l], lstm ? c[l] : nullptr, nullptr);
      x = L.y;
    }
    // The last step's output of a unidirectional stack is its final state.
    Activations<Real>& step1 = shape_for(B, 1);
    const Real* logits = run_head(step1, h.back(), B);
    // Draw s of row b uses counter s*B + b: a seed alone fixes the whole output.
    ops_->sample(B, cfg_.output_width(), logits, sc, seed, (first_draw + s) * B, drawn + static_cast<size_t>(s) * B);
  }
  if (steps > 0) {
    std::vector<int32_t> by_step(static_cast<size_t>(B) * steps);
    ops_->download(by_step.data(), drawn, by_step.size() * sizeof(int32_t));
    for (int s = 0; s < steps; ++s)
      for (int b = 0; b < B; ++b) out[static_cast<size_t>(b) * steps + s] = by_step[static_cast<size_t>(s) * B + b];
  }
  if (carry != nullptr) {
    carry->h.clear();
    carry->c.clear();
    for (size_t l = 0; l < cfg_.layers.size(); ++l) {
      const size_t n = static_cast<size_t>(B) * cfg_.layers[l].hidden;
      carry->h.push_back(download_floats(h[l], n));
      if (cfg_.layers[l].cell == Cell::LSTM) carry->c.push_back(download_floats(c[l], n));
    }
    carry->drawn = static_cast<int64_t>(first_draw) + steps;
  }
  return out;
}

// The stack and head of generate, for Ops::decode.
template <typename Real>
DecodeSpec<Real> NetworkImpl<Real>::decode_spec(int B, const std::vector<Real*>& h, const std::vector<Real*>& c) const {
  DecodeSpec<Real> d;
  d.B = B;
  d.vocab = cfg_.vocab;
  if (cfg_.input == InputKind::Embedding) d.embedding = params_ + layout_.embedding;
  for (size_t l = 0; l < cfg_.layers.size(); ++l)
    d.layers.push_back({layer_shape(l, B, 1, false), rnn_params(l, 0), h[l], cfg_.layers[l].cell == Cell::LSTM ? c[l] : nullptr});
  for (size_t k = 0; k < cfg_.dense.size(); ++k)
    d.head.push_back({cfg_.dense[k].units, cfg_.dense[k].activation, params_ + layout_.dense[k].weight,
                      params_ + layout_.dense[k].bias});
  return d;
}

template <typename Real>
void NetworkImpl<Real>::load_generation_state(const GenerationState& g, int B, const std::vector<Real*>& h,
                                              const std::vector<Real*>& c) {
  size_t lstm_layers = 0;
  for (const RecurrentSpec& l : cfg_.layers) lstm_layers += l.cell == Cell::LSTM ? 1 : 0;
  if (g.h.size() != cfg_.layers.size() || g.c.size() != lstm_layers)
    range_error("generation state must hold one h block per layer and one c block per LSTM layer");
  for (size_t l = 0, lc = 0; l < cfg_.layers.size(); ++l) {
    const size_t n = static_cast<size_t>(B) * cfg_.layers[l].hidden;
    if (g.h[l].size() != n) range_error("generation state h[" + std::to_string(l) + "] must have " + std::to_string(n) + " elements");
    upload_floats(h[l], g.h[l]);
    if (cfg_.layers[l].cell != Cell::LSTM) continue;
    if (g.c[lc].size() != n) range_error("generation state c[" + std::to_string(lc) + "] must have " + std::to_string(n) + " elements");
    upload_floats(c[l], g.c[lc++]);
  }
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template std::vector<int32_t> NetworkImpl<Real>::generate(const std::vector<int32_t>& prime, int B, int P, int steps, const SampleConfig& sc, uint64_t seed, GenerationState* carry, const std::vector<double>& condition); \
  template DecodeSpec<Real> NetworkImpl<Real>::decode_spec(int B, const std::vector<Real*>& h, const std::vector<Real*>& c) const; \
  template void NetworkImpl<Real>::load_generation_state(const GenerationState& g, int B, const std::vector<Real*>& h, const std::vector<Real*>& c);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

// A batch's upload into the activations of its shape, and the activations' allocation plan.
#include "network_impl.h"

#include <limits>

#include "../errors.h"
#include "batch_checks.h"

namespace frnn {

// Checks the batch against the config and uploads it into the activations of its shape.
template <typename Real>
Activations<Real>& NetworkImpl<Real>::prepare(const Batch& batch) {
  const int B = batch.B, T = batch.T;
  check_batch(cfg_, batch);
  const size_t BT = static_cast<size_t>(B) * T;
  const int rows = cfg_.return_sequences ? B * T : B;
  has_condition_ = !batch.condition.empty();

  Activations<Real>& a = shape_for(B, T);
  if (cfg_.attention > 0) upload_memory(a, batch);
  if (cfg_.input == InputKind::Features)
    upload_floats(a.x0, batch.features);
  else
    ops_->upload(a.tokens, batch.tokens.data(), BT * sizeof(int32_t));
  if (has_condition_) upload_floats(a.condition, batch.condition);
  has_lengths_ = !batch.lengths.empty();
  if (has_lengths_) ops_->upload(a.lengths, batch.lengths.data(), B * sizeof(int32_t));
  if (cfg_.loss == LossKind::SoftmaxXent)
    ops_->upload(a.class_targets, batch.class_targets.data(), rows * sizeof(int32_t));
  else
    upload_floats(a.value_targets, batch.value_targets);
  // Per-step outputs past a sequence's end are padding: they weigh 0 unless weights say otherwise.
  std::vector<double> weights = batch.weights;
  if (weights.empty() && has_lengths_ && cfg_.return_sequences) {
    weights.assign(rows, 0.0);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < batch.lengths[b]; ++t) weights[static_cast<size_t>(b) * T + t] = 1.0;
  }
  has_weights_ = !weights.empty();
  if (has_weights_) upload_floats(a.weights, weights);
  weight_sum_ = 0;
  for (double w : weights) weight_sum_ += w;
  if (!has_weights_) weight_sum_ = rows;
  return a;
}

template <typename Real>
Activations<Real>& NetworkImpl<Real>::shape_for(int B, int T) {
  encoded_ = nullptr;  // any other use of the activations ends a pending encode
  auto key = std::make_pair(B, T);
  auto it = acts_.find(key);
  if (it != acts_.end()) return *it->second;
  if (acts_.size() >= 4) {  // bounded: a few shapes (train, validate, generate)
    ops_->drop_captured();  // captured steps hold the activations' addresses
    acts_.clear();
  }
  auto a = std::make_unique<Activations<Real>>();
  allocate(*a, B, T);
  return *acts_.emplace(key, std::move(a)).first->second;
}

template <typename Real>
size_t NetworkImpl<Real>::activation_bytes(int B, int T) {
  if (B < 1 || T < 1) internal_error("batch size and steps must be >= 1");
  if (acts_.count(std::make_pair(B, T)) != 0) return 0;
  // Beyond any memory, and the plan's size products could overflow: report "too much".
  if (static_cast<double>(B) * T > 0x1p36) return std::numeric_limits<size_t>::max();
  size_t unused_live = 0;
  Activations<Real> plan;
  allocate(plan, B, T, Memory<Real>::Mode::Count, unused_live);
  return plan.mem->held();
}

template <typename Real>
void NetworkImpl<Real>::allocate(Activations<Real>& a, int B, int T, typename Memory<Real>::Mode mode, size_t& counter) {
  a.B = B;
  a.T_ = T;
  a.rows = cfg_.return_sequences ? B * T : B;
  a.mem = std::make_unique<Memory<Real>>(*ops_, counter, mode);
  Memory<Real>& m = *a.mem;
  const size_t BT = static_cast<size_t>(B) * T;
  a.tokens = m.ints(BT);
  a.lengths = m.ints(B);
  a.class_targets = m.ints(a.rows);
  a.value_targets = m.floats(static_cast<size_t>(a.rows) * cfg_.output_width());
  a.weights = m.floats(a.rows);
  a.x0 = m.floats(BT * cfg_.input_width());
  a.zero_state = m.floats(static_cast<size_t>(B) * std::max(max_hidden_, 1));
  if (cfg_.condition > 0) a.condition = m.floats(static_cast<size_t>(B) * cfg_.condition);
  if (const int S = cfg_.sampled_softmax; S > 0) {
    const size_t rows = static_cast<size_t>(a.rows), D = head_width(cfg_.dense.size() - 1);
    auto& q = a.sampled;
    q.samples = reinterpret_cast<int32_t*>(block_.dev + block_.samples_at);
    q.zero_targets = m.ints(rows);
    q.log_expected = reinterpret_cast<Real*>(block_.dev + block_.log_expected_at);
    q.Ws = m.floats(S * D);
    q.bs = m.floats(S);
    q.Wt = m.floats(rows * D);
    q.bt = m.floats(rows);
    q.Ls = m.floats(rows * S);
    q.logits = m.floats(rows * (S + 1));
    q.dlogits = m.floats(rows * (S + 1));
    q.dLs = m.floats(rows * S);
    q.dl0 = m.floats(rows);
    q.scaled = m.floats(rows * D);
    q.dWs = m.floats(S * D);
    q.dbs = m.floats(S);
  }
  a.layers.resize(cfg_.layers.size());
  for (size_t l = 0; l < cfg_.layers.size(); ++l) {
    auto& L = a.layers[l];
    const RecurrentSpec& spec = cfg_.layers[l];
    L.in_width = layer_shape(l, B, T, false).I;
    L.out_width = spec.hidden * directions(l);
    L.dropout_in_offset = offset_slot(2 * l);
    L.dropout_out_offset = offset_slot(2 * l + 1);
    if (spec.dropout_input > 0) L.x_dropped = m.floats(BT * L.in_width);
    L.y = m.floats(BT * L.out_width);
    if (spec.dropout_output > 0) L.y_dropped = m.floats(BT * L.out_width);
    L.dy = m.floats(BT * L.out_width);
    L.dx = m.floats(BT * L.in_width);
    for (int d = 0; d < directions(l); ++d) {
      auto& D = L.dir[d];
      D.workspace = m.floats(ops_->rnn_workspace_elems(layer_shape(l, B, T, d == 1)));
      D.hN = m.floats(static_cast<size_t>(B) * spec.hidden);
      D.cN = m.floats(static_cast<size_t>(B) * spec.hidden);
      D.dhN = m.floats(static_cast<size_t>(B) * spec.hidden);
      D.dh0 = m.floats(static_cast<size_t>(B) * spec.hidden);
      if (cfg_.condition > 0) D.h0 = m.floats(static_cast<size_t>(B) * spec.hidden);
      if (spec.cell == Cell::LSTM) {
        D.dc0 = m.floats(static_cast<size_t>(B) * spec.hidden);
        D.dcN = m.floats(static_cast<size_t>(B) * spec.hidden);
      }
    }
  }
  a.head_dropout_offset = offset_slot(2 * cfg_.layers.size());
  const int head_width = a.layers.back().out_width;
  if (!cfg_.return_sequences) {
    a.head_in = m.floats(static_cast<size_t>(B) * head_width);
    if (cfg_.layers.back().dropout_output > 0) a.head_in_dropped = m.floats(static_cast<size_t>(B) * head_width);
  }
  a.dhead_in = m.floats(static_cast<size_t>(a.rows) * head_width);
  for (const DenseSpec& d : cfg_.dense) {
    a.z.push_back(m.floats(static_cast<size_t>(a.rows) * d.units));
    a.dz.push_back(m.floats(static_cast<size_t>(a.rows) * d.units));
  }
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template Activations<Real>& NetworkImpl<Real>::prepare(const Batch& batch); \
  template Activations<Real>& NetworkImpl<Real>::shape_for(int B, int T); \
  template size_t NetworkImpl<Real>::activation_bytes(int B, int T); \
  template void NetworkImpl<Real>::allocate(Activations<Real>& a, int B, int T, typename Memory<Real>::Mode mode, size_t& counter);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

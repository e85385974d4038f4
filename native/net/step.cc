// One training step, the encoder's pair (encode, train_from_state_grad), evaluate and predict:
// host work first, then the ops, then the downloads; and the step block they share.
#include "network_impl.h"

#include <cmath>

#include "../errors.h"
#include "../hash.h"

namespace frnn {

// Host work first (checks, uploads of the batch, the step's counters and values into the step
// block), then the step itself (zero grads, forward, loss, backward, clip, Adam) as one
// run_captured call that only enqueues ops, then the downloads.
template <typename Real>
StepResult NetworkImpl<Real>::train_step(const Batch& batch, const TrainOptions& opts) {
  if (opts.memory_grad && cfg_.attention == 0) internal_error("options.memoryGrad needs a model with attention");
  Activations<Real>& a = prepare(batch);
  if (cfg_.condition > 0 && !opts.carry_state && !has_condition_) internal_error(kConditionRequired);
  return keeping_state_on_failure([&] { return train_prepared(a, batch, opts); });
}

template <typename Real>
StepResult NetworkImpl<Real>::train_prepared(Activations<Real>& a, const Batch& batch, const TrainOptions& opts) {
  if (opts.carry_state) allocate_state(a.B);
  const bool sampled = cfg_.sampled_softmax > 0;
  begin_step_block();
  // A step that throws (an allocation, a bad shape, a skip under nonFinite 'error': the update
  // was not applied) leaves the model as it was: the dropout and sampling counters it took are
  // given back.
  const uint64_t rng_before = rng_counter_;
  try {
    plan_dropout(a);
    if (sampled) plan_sampled();
    set_update_values(opts);
    ++params_version_;  // Adam writes the parameters inside the step
    block_.pending = true;  // from here on the step's upload may be enqueued
    ops_->run_captured(step_key(a, opts), [&] {
      upload_step_block();
      ops_->zero(grads_, layout_.trainable * sizeof(Real));
      sampled_step_ = sampled;
      forward(a, /*training=*/true, opts.carry_state);
      if (sampled) sampled_loss(a);
      else loss(a, /*with_grad=*/true);
      state_grad_wanted_ = opts.state_grad;
      backward(a);
      state_grad_wanted_ = false;
      sampled_step_ = false;
      enqueue_update();
    });
    std::vector<std::vector<double>> state_grad;
    if (opts.state_grad) state_grad = download_state_blocks(a, /*gradients=*/true);
    std::vector<double> memory_grad;
    if (opts.memory_grad)
      memory_grad = download_floats(a.attention.dmemory, static_cast<size_t>(a.B) * a.attention.S * cfg_.attention);
    StepResult r = finish_step(a, batch, opts, opts.carry_state, std::move(state_grad));
    r.memory_grad = std::move(memory_grad);
    return r;
  } catch (...) {
    rng_counter_ = rng_before;
    state_grad_wanted_ = false;
    sampled_step_ = false;
    throw;
  }
}

template <typename Real>
Network::Encoded NetworkImpl<Real>::encode(const Batch& batch, bool training) {
  if (cfg_.attention > 0) internal_error("encode is for encoders: this model attends over a memory itself");
  Activations<Real>& a = prepare(batch);
  if (training) {
    begin_step_block();
    plan_dropout(a);
    block_.pending = true;
    upload_step_block();
  }
  forward(a, training, /*use_state=*/false);
  if (training) encoded_ = &a;
  Encoded e;
  e.blocks = download_state_blocks(a, /*gradients=*/false);
  const auto& top = a.layers.back();
  e.outputs = download_floats(top.y, static_cast<size_t>(a.B) * a.T_ * top.out_width);
  return e;
}

template <typename Real>
StepResult NetworkImpl<Real>::train_from_state_grad(const std::vector<std::vector<double>>& grad,
                                                    const std::vector<double>& output_grad, const TrainOptions& opts) {
  if (encoded_ == nullptr) range_error("trainFromStateGrad needs a preceding encode(batch, { training: true }) with no other call in between");
  Activations<Real>& a = *encoded_;
  auto& top = a.layers.back();
  const size_t outputs = static_cast<size_t>(a.B) * a.T_ * top.out_width;
  if (!output_grad.empty() && output_grad.size() != outputs)
    range_error("outputGrad must have the encoded outputs' " + std::to_string(outputs) + " values, got " +
                std::to_string(output_grad.size()));
  encoded_ = nullptr;
  upload_state_grad(a, grad);
  // The outputs' gradient enters where the head's would (the top layer's own dropout aside: the
  // outputs handed out were taken before it).
  if (!output_grad.empty()) upload_floats(top.dy, output_grad);
  // Uncaptured: the gradients above were uploaded from pageable memory. The dropout offsets in
  // the step block are still the encode's.
  begin_step_block();
  set_update_values(opts);
  ++params_version_;
  block_.pending = true;
  upload_step_block();
  ops_->zero(grads_, layout_.trainable * sizeof(Real));
  ops_->zero(scalars_, 4 * sizeof(Real));  // no loss: the gradient comes from outside
  backward_layers(a, /*top_dy=*/!output_grad.empty(), /*inject_final=*/true);
  enqueue_update();
  return finish_step(a, Batch{}, opts, /*keep_state=*/false, {});
}

// Clip and Adam, reading the clip norm, Adam's config and step from the step block; Adam reads
// the clip scale on the device, and a NaN scale (non-finite norm) makes it skip.
template <typename Real>
void NetworkImpl<Real>::enqueue_update() {
  const auto* header = reinterpret_cast<const StepHeader*>(block_.dev);
  ops_->global_norm_clip(layout_.trainable, grads_, &header->max_norm, scalars_ + 1, scalars_ + 2);
  ops_->adam(layout_.trainable, params_, grads_, m_, v_, &header->adam, scalars_ + 2);
}

// Adam's step is the host's count + 1: the host reads every step's norm before the next step
// is filled in, so a skipped step (non-finite norm, no Adam on the device) does not advance it.
template <typename Real>
void NetworkImpl<Real>::set_update_values(const TrainOptions& opts) {
  auto* header = reinterpret_cast<StepHeader*>(block_.host);
  header->adam.cfg = opts.adam;
  header->adam.step = step_ + 1;
  header->max_norm = opts.clip_norm;
}

// Step count, carried state: the end of every training step, after its ops are enqueued.
template <typename Real>
StepResult NetworkImpl<Real>::finish_step(Activations<Real>& a, const Batch& batch, const TrainOptions& opts,
                                          bool keep_state, std::vector<std::vector<double>> state_grad) {
  StepResult r = read_result(batch);
  r.state_grad = std::move(state_grad);
  r.skipped = !std::isfinite(r.grad_norm) || r.update_non_finite;
  if (r.skipped) {
    if (opts.error_on_non_finite) {
      const std::string why = r.update_non_finite
                                  ? "its update would have made a weight or an Adam moment non-finite (learning rate " +
                                        std::to_string(opts.adam.lr) + ")"
                                  : "the gradient norm is " + std::to_string(r.grad_norm);
      throw std::runtime_error("training step " + std::to_string(step_ + 1) + " was skipped: " + why + " (loss " +
                               std::to_string(r.loss) + "); the weights are unchanged");
    }
    return r;
  }
  step_ += 1;
  if (keep_state) keep_final_state(a);
  return r;
}

template <typename Real>
StepResult NetworkImpl<Real>::evaluate(const Batch& batch, bool use_state, bool keep_state) {
  const HeldWeights held(*this);
  Activations<Real>& a = prepare(batch);
  return keeping_state_on_failure([&] {
    forward(a, /*training=*/false, use_state);
    loss(a, /*with_grad=*/false);
    if (keep_state) {
      allocate_state(a.B);
      keep_final_state(a);
    }
    return read_result(batch);
  });
}

template <typename Real>
std::vector<double> NetworkImpl<Real>::predict(const Batch& batch, bool use_state, bool keep_state) {
  const HeldWeights held(*this);
  Activations<Real>& a = prepare(batch);
  return keeping_state_on_failure([&] {
    forward(a, /*training=*/false, use_state);
    if (keep_state) {
      allocate_state(a.B);
      keep_final_state(a);
    }
    return download_floats(a.z.back(), static_cast<size_t>(a.rows) * cfg_.output_width());
  });
}

template <typename Real>
void NetworkImpl<Real>::allocate_step_block() {
  const size_t slots = 2 * cfg_.layers.size() + 1, S = static_cast<size_t>(cfg_.sampled_softmax);
  auto align8 = [](size_t n) { return (n + 7) / 8 * 8; };
  block_.offsets_at = align8(sizeof(StepHeader));
  block_.samples_at = block_.offsets_at + slots * sizeof(uint64_t);
  block_.log_expected_at = align8(block_.samples_at + S * sizeof(int32_t));
  block_.bytes = block_.log_expected_at + S * sizeof(Real);
  block_.dev = static_cast<unsigned char*>(static_cast<void*>(mem_.floats((block_.bytes + sizeof(Real) - 1) / sizeof(Real))));
  block_.host = static_cast<unsigned char*>(ops_->alloc_host(block_.bytes));
}

// The dropout counters of a training forward, taken in its order (layer by layer: input,
// output; then the head's) into the block's slots.
template <typename Real>
void NetworkImpl<Real>::plan_dropout(const Activations<Real>& a) {
  const size_t BT = static_cast<size_t>(a.B) * a.T_, last = cfg_.layers.size() - 1;
  for (size_t l = 0; l < cfg_.layers.size(); ++l) {
    const auto& L = a.layers[l];
    const RecurrentSpec& spec = cfg_.layers[l];
    if (spec.dropout_input > 0) set_offset(2 * l, take_counters(BT * L.in_width));
    if (sequence_output_dropout(l)) set_offset(2 * l + 1, take_counters(BT * L.out_width));
  }
  if (!cfg_.return_sequences && cfg_.layers[last].dropout_output > 0)
    set_offset(2 * cfg_.layers.size(), take_counters(static_cast<size_t>(a.B) * a.layers[last].out_width));
}

// What fixes the ops a training step enqueues and the buffers they use, beyond the model
// itself: the shape, which optional inputs the batch has, carried state and its gradient,
// the attention memory's length. (Buffers that move call ops_->drop_captured.)
template <typename Real>
uint64_t NetworkImpl<Real>::step_key(const Activations<Real>& a, const TrainOptions& opts) const {
  const int64_t parts[] = {a.B, a.T_, opts.carry_state, opts.state_grad, has_lengths_, has_weights_,
                           has_condition_, a.attention.S, a.attention.has_lengths};
  return fnv1a(kFnvBasis, parts, sizeof parts);
}

template <typename Real>
StepResult NetworkImpl<Real>::read_result(const Batch&) {
  Real host[4];
  ops_->download(host, scalars_, sizeof(host));
  block_.pending = false;  // the download waited for everything before it
  StepResult r;
  r.loss = static_cast<double>(host[0]);
  r.grad_norm = static_cast<double>(host[1]);
  // A finite norm with a NaN clip scale: Ops::adam found its update non-finite and skipped it.
  r.update_non_finite = std::isfinite(r.grad_norm) && !std::isfinite(static_cast<double>(host[2]));
  r.correct = static_cast<double>(host[3]);
  r.weight_sum = weight_sum_;
  return r;
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template StepResult NetworkImpl<Real>::train_step(const Batch& batch, const TrainOptions& opts); \
  template StepResult NetworkImpl<Real>::train_prepared(Activations<Real>& a, const Batch& batch, const TrainOptions& opts); \
  template Network::Encoded NetworkImpl<Real>::encode(const Batch& batch, bool training); \
  template StepResult NetworkImpl<Real>::train_from_state_grad(const std::vector<std::vector<double>>& grad, const std::vector<double>& output_grad, const TrainOptions& opts); \
  template void NetworkImpl<Real>::enqueue_update(); \
  template void NetworkImpl<Real>::set_update_values(const TrainOptions& opts); \
  template StepResult NetworkImpl<Real>::finish_step(Activations<Real>& a, const Batch& batch, const TrainOptions& opts, bool keep_state, std::vector<std::vector<double>> state_grad); \
  template StepResult NetworkImpl<Real>::evaluate(const Batch& batch, bool use_state, bool keep_state); \
  template std::vector<double> NetworkImpl<Real>::predict(const Batch& batch, bool use_state, bool keep_state); \
  template void NetworkImpl<Real>::allocate_step_block(); \
  template void NetworkImpl<Real>::plan_dropout(const Activations<Real>& a); \
  template uint64_t NetworkImpl<Real>::step_key(const Activations<Real>& a, const TrainOptions& opts) const; \
  template StepResult NetworkImpl<Real>::read_result(const Batch&);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

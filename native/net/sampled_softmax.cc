// The sampled softmax loss of training steps.
#include "network_impl.h"

#include <algorithm>
#include <cmath>

#include "../philox.h"

namespace frnn {

// The sampled softmax's S classes, drawn log-uniformly (P(k) = log((k+2)/(k+1)) / log(V+1)) on
// the host from the model's counter, after the step's dropout counters, into the block.
template <typename Real>
void NetworkImpl<Real>::plan_sampled() {
  const int S = cfg_.sampled_softmax, V = cfg_.output_width();
  const uint64_t counter = take_counters(S);
  const double log_v1 = std::log(static_cast<double>(V) + 1.0);
  auto* samples = reinterpret_cast<int32_t*>(block_.host + block_.samples_at);
  auto* log_expected = reinterpret_cast<Real*>(block_.host + block_.log_expected_at);
  for (int j = 0; j < S; ++j) {
    const double u = philox_uniform(cfg_.seed, counter + j, kStreamSampledSoftmax);
    const int k = std::min(V - 1, std::max(0, static_cast<int>(std::exp(u * log_v1)) - 1));
    samples[j] = k;
    log_expected[j] = static_cast<Real>(std::log(S * std::log((k + 2.0) / (k + 1.0)) / log_v1));
  }
}

// The sampled softmax loss of a training step: S classes drawn log-uniformly (P(k) =
// log((k+2)/(k+1)) / log(V+1)) on the host from the model's counter (as dropout's masks, on a
// Philox stream of their own), so the seed and the step fix them and a checkpoint resumes them. The target's logit is exact; each sample's is
// corrected by log(S·P), the importance weight, and a sample equal to the row's target is
// masked: the estimate of the softmax normaliser converges to the full one as S grows.
// plan_sampled draws the samples before the step, into the step block.
template <typename Real>
void NetworkImpl<Real>::sampled_loss(Activations<Real>& a) {
  const int S = cfg_.sampled_softmax, N = a.rows, V = cfg_.output_width();
  const size_t K = cfg_.dense.size();
  const int D = head_width(K - 1);
  const Real* x = K == 1 ? head_input_ : a.z[K - 2];
  auto& q = a.sampled;
  const DenseOffsets& o = layout_.dense[K - 1];
  ops_->embedding_forward(S, V, D, q.samples, params_ + o.weight, q.Ws);
  ops_->embedding_forward(S, V, 1, q.samples, params_ + o.bias, q.bs);
  ops_->dense_forward(N, D, S, Activation::Linear, x, q.Ws, q.bs, q.Ls);
  ops_->embedding_forward(N, V, D, a.class_targets, params_ + o.weight, q.Wt);
  ops_->embedding_forward(N, V, 1, a.class_targets, params_ + o.bias, q.bt);
  ops_->sampled_logits(N, D, S, x, q.Wt, q.bt, a.class_targets, q.samples, q.log_expected, q.Ls, q.logits);
  ops_->softmax_xent(N, S + 1, q.logits, q.zero_targets, has_weights_ ? a.weights : nullptr, scalars_ + 0,
                     q.dlogits, scalars_ + 3);
}

// Backward of sampled_loss into the output layer's gradient rows (targets and samples only)
// and into dx [rows, D] (written).
template <typename Real>
void NetworkImpl<Real>::sampled_backward(Activations<Real>& a, const Real* x, Real* dx) {
  const int S = cfg_.sampled_softmax, N = a.rows, V = cfg_.output_width();
  const size_t K = cfg_.dense.size();
  const int D = head_width(K - 1);
  auto& q = a.sampled;
  const DenseOffsets& o = layout_.dense[K - 1];
  ops_->copy_rows(N, S, q.dlogits + 1, S + 1, q.dLs, S, false);
  ops_->zero(q.dWs, static_cast<size_t>(S) * D * sizeof(Real));
  ops_->zero(q.dbs, static_cast<size_t>(S) * sizeof(Real));
  ops_->dense_backward(N, D, S, Activation::Linear, x, q.Ws, q.Ls, q.dLs, dx, q.dWs, q.dbs);
  ops_->scale_rows(N, D, q.dlogits, S + 1, q.Wt, dx, /*accumulate=*/true);
  ops_->scale_rows(N, D, q.dlogits, S + 1, x, q.scaled, /*accumulate=*/false);
  ops_->copy_rows(N, 1, q.dlogits, S + 1, q.dl0, 1, false);
  ops_->embedding_backward(N, V, D, a.class_targets, q.scaled, grads_ + o.weight);
  ops_->embedding_backward(N, V, 1, a.class_targets, q.dl0, grads_ + o.bias);
  ops_->embedding_backward(S, V, D, q.samples, q.dWs, grads_ + o.weight);
  ops_->embedding_backward(S, V, 1, q.samples, q.dbs, grads_ + o.bias);
}

// This file's members, for both precisions (see network_impl.h).
#define FRNN_INSTANTIATE(Real) \
  template void NetworkImpl<Real>::plan_sampled(); \
  template void NetworkImpl<Real>::sampled_loss(Activations<Real>& a); \
  template void NetworkImpl<Real>::sampled_backward(Activations<Real>& a, const Real* x, Real* dx);

FRNN_INSTANTIATE(float)
FRNN_INSTANTIATE(double)
#undef FRNN_INSTANTIATE

}  // namespace frnn

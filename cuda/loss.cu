// Losses. Softmax cross-entropy forward and backward in one pass per row (one warp per row: max
// and argmax, then the sum of exponentials, then dlogits written in place), so the
// probabilities are never stored. Sums in double, per row then over rows in a fixed order.
// scratch: [0] = sum of weights, [1..N] per-row loss, [N+1..2N] per-row correct weight.
#include <cuda_runtime.h>

#include <cfloat>

#include "cuda_check.cuh"
#include "kernels.cuh"
#include "reduce.cuh"

namespace frnn::cuda {
namespace {

constexpr unsigned kReduceThreads = 256, kRowsPerBlock = 8;

__global__ void __launch_bounds__(kReduceThreads) weight_sum_kernel(int N, const float* weights, double* out) {
  __shared__ double shared[kReduceThreads];
  double s = 0.0;
  if (weights)
    for (int n = threadIdx.x; n < N; n += blockDim.x) s += static_cast<double>(weights[n]);
  else if (threadIdx.x == 0)
    s = static_cast<double>(N);
  s = block_sum(s, shared);
  if (threadIdx.x == 0) out[0] = s;
}

__global__ void __launch_bounds__(kRowsPerBlock * 32)
    softmax_xent_rows_kernel(int N, int V, const float* logits, const int32_t* targets, const float* weights,
                             float* dlogits, double* scratch) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kRowsPerBlock + warp;
  if (n >= N) return;
  const float* z = logits + static_cast<size_t>(n) * V;
  // Max and argmax, lowest index on ties.
  float mx = -FLT_MAX;
  int am = V;
  for (int v = lane; v < V; v += 32)
    if (z[v] > mx || am == V) mx = z[v], am = v;
  for (int off = 16; off > 0; off /= 2) {
    const float om = __shfl_xor_sync(0xffffffffu, mx, off);
    const int oa = __shfl_xor_sync(0xffffffffu, am, off);
    if (om > mx || (om == mx && oa < am)) mx = om, am = oa;
  }
  double s = 0.0;
  for (int v = lane; v < V; v += 32) s += exp(static_cast<double>(z[v]) - static_cast<double>(mx));
  s = warp_sum(s);
  const int t = targets[n];
  const double w = weights ? static_cast<double>(weights[n]) : 1.0;
  const double lse = static_cast<double>(mx) + log(s);
  if (lane == 0) {
    scratch[1 + n] = w != 0.0 ? w * (lse - static_cast<double>(z[t])) : 0.0;
    scratch[1 + N + n] = am == t ? w : 0.0;
  }
  if (!dlogits) return;
  const double wsum = scratch[0];
  const double scale = wsum != 0.0 ? w / wsum : 0.0;
  const double inv_s = 1.0 / s;
  float* d = dlogits + static_cast<size_t>(n) * V;  // may alias z: each z[v] is read before d[v] is written
  __syncwarp();  // every lane has read z[t] above
  for (int v = lane; v < V; v += 32) {
    const double p = exp(static_cast<double>(z[v]) - static_cast<double>(mx)) * inv_s;
    d[v] = static_cast<float>(scale * (p - (v == t ? 1.0 : 0.0)));
  }
}

__global__ void __launch_bounds__(kRowsPerBlock * 32)
    mse_rows_kernel(int N, int D, const float* pred, const float* target, const float* weights, float* dpred,
                    double* scratch) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kRowsPerBlock + warp;
  if (n >= N) return;
  const double w = weights ? static_cast<double>(weights[n]) : 1.0;
  const double denom = static_cast<double>(D) * scratch[0];
  const double inv = denom != 0.0 ? 1.0 / denom : 0.0;
  const size_t base = static_cast<size_t>(n) * D;
  double row = 0.0;
  for (int d = lane; d < D; d += 32) {
    const double e = static_cast<double>(pred[base + d]) - static_cast<double>(target[base + d]);
    row += e * e;
    if (dpred) dpred[base + d] = static_cast<float>(2.0 * w * inv * e);
  }
  row = warp_sum(row);
  if (lane == 0) scratch[1 + n] = w * row;
}

// loss = sum(row losses) * scale where scale = 1/(wsum * per_row_divisor) (0 when wsum == 0).
__global__ void __launch_bounds__(kReduceThreads)
    finish_loss_kernel(int N, double per_row_divisor, const double* scratch, float* loss, float* correct) {
  __shared__ double shared[kReduceThreads];
  double l = 0.0, c = 0.0;
  for (int n = threadIdx.x; n < N; n += blockDim.x) {
    l += scratch[1 + n];
    if (correct) c += scratch[1 + N + n];
  }
  l = block_sum(l, shared);
  c = block_sum(c, shared);
  if (threadIdx.x != 0) return;
  const double denom = scratch[0] * per_row_divisor;
  if (loss) loss[0] = static_cast<float>(denom != 0.0 ? l / denom : 0.0);
  if (correct) correct[0] = static_cast<float>(c);
}

// One warp per row: the target's logit as a warp-reduced dot product, then the sample columns.
__global__ void __launch_bounds__(kRowsPerBlock * 32)
    sampled_logits_kernel(int N, int D, int S, const float* x, const float* Wt, const float* bt,
                          const int32_t* targets, const int32_t* samples, const float* log_expected,
                          const float* sample_logits, float* logits) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n = blockIdx.x * kRowsPerBlock + warp;
  if (n >= N) return;
  const float* xn = x + static_cast<size_t>(n) * D;
  const float* wn = Wt + static_cast<size_t>(n) * D;
  double dot = 0.0;
  for (int d = lane; d < D; d += 32) dot += static_cast<double>(xn[d]) * wn[d];
  dot = warp_sum(dot);
  float* row = logits + static_cast<size_t>(n) * (S + 1);
  if (lane == 0) row[0] = static_cast<float>(dot + bt[n]);
  const int32_t target = targets[n];
  for (int j = lane; j < S; j += 32)
    row[1 + j] = samples[j] == target ? static_cast<float>(kMaskedLogit)
                                      : sample_logits[static_cast<size_t>(n) * S + j] - log_expected[j];
}

}  // namespace

void sampled_logits(cudaStream_t stream, int N, int D, int S, const float* x, const float* Wt, const float* bt,
                    const int32_t* targets, const int32_t* samples, const float* log_expected,
                    const float* sample_logits, float* logits) {
  if (N <= 0) return;
  sampled_logits_kernel<<<(N + kRowsPerBlock - 1) / kRowsPerBlock, kRowsPerBlock * 32, 0, stream>>>(
      N, D, S, x, Wt, bt, targets, samples, log_expected, sample_logits, logits);
  check_launch("sampled_logits_kernel");
}

size_t loss_scratch_bytes(int N) { return (1 + 2 * static_cast<size_t>(N > 0 ? N : 0)) * sizeof(double); }

void softmax_xent(cudaStream_t stream, int N, int V, const float* logits, const int32_t* targets,
                  const float* weights, float* loss, float* dlogits, float* correct, void* scratch) {
  auto* s = static_cast<double*>(scratch);
  weight_sum_kernel<<<1, kReduceThreads, 0, stream>>>(N, weights, s);
  check_launch("weight_sum_kernel");
  if (N > 0 && V > 0) {
    softmax_xent_rows_kernel<<<(N + kRowsPerBlock - 1) / kRowsPerBlock, kRowsPerBlock * 32, 0, stream>>>(
        N, V, logits, targets, weights, dlogits, s);
    check_launch("softmax_xent_rows_kernel");
  }
  finish_loss_kernel<<<1, kReduceThreads, 0, stream>>>(N > 0 && V > 0 ? N : 0, 1.0, s, loss, correct);
  check_launch("finish_loss_kernel");
}

void mse(cudaStream_t stream, int N, int D, const float* pred, const float* target, const float* weights,
         float* loss, float* dpred, void* scratch) {
  auto* s = static_cast<double*>(scratch);
  weight_sum_kernel<<<1, kReduceThreads, 0, stream>>>(N, weights, s);
  check_launch("weight_sum_kernel");
  if (N > 0 && D > 0) {
    mse_rows_kernel<<<(N + kRowsPerBlock - 1) / kRowsPerBlock, kRowsPerBlock * 32, 0, stream>>>(
        N, D, pred, target, weights, dpred, s);
    check_launch("mse_rows_kernel");
  }
  finish_loss_kernel<<<1, kReduceThreads, 0, stream>>>(N > 0 && D > 0 ? N : 0, static_cast<double>(D), s, loss,
                                                        nullptr);
  check_launch("finish_loss_kernel");
}

}  // namespace frnn::cuda

// Dot-product attention over a memory (ops.h). Forward: one block per query row (b, t): the
// scores of the valid memory steps into shared memory, their softmax by block reductions, then
// the context. Backward: one block per query row for the softmax gradient (kept in scratch) and
// dq, then one block per memory step for dk and dmem, each a fixed-order sum over the query steps
// (deterministic, no atomics). Sums in double.
#include <cuda_runtime.h>

#include <cfloat>
#include <stdexcept>
#include <string>

#include "cuda_check.cuh"
#include "kernels.cuh"
#include "reduce.cuh"

namespace frnn::cuda {
namespace {

constexpr unsigned kAttentionThreads = 128;
// The scores of one query row live in shared memory (doubles, within the default 48 KB).
constexpr int kMaxMemorySteps = 6144;

void check_memory_steps(int S) {
  if (S > kMaxMemorySteps)
    throw std::runtime_error("CUDA attention: memories of at most " + std::to_string(kMaxMemorySteps) + " steps, got " +
                             std::to_string(S));
}

__device__ __forceinline__ int valid_steps(const int32_t* lengths, int b, int S) {
  return lengths ? min(max(lengths[b], 0), S) : S;
}

__global__ void __launch_bounds__(kAttentionThreads)
    attention_forward_kernel(int T, int S, int H, int M, const float* q, const float* k, const float* mem,
                             const int32_t* lengths, float* alpha, float* context) {
  extern __shared__ double e[];  // [S] scores, then exponentials
  __shared__ double red[kAttentionThreads];
  const int row = blockIdx.x, b = row / T;
  const int len = valid_steps(lengths, b, S);
  const float* qt = q + static_cast<size_t>(row) * H;
  double mx = -DBL_MAX;
  for (int s = threadIdx.x; s < len; s += blockDim.x) {
    const float* ks = k + (static_cast<size_t>(b) * S + s) * H;
    double dot = 0.0;
    for (int h = 0; h < H; ++h) dot += static_cast<double>(qt[h]) * ks[h];
    e[s] = dot;
    mx = fmax(mx, dot);
  }
  mx = block_max(mx, red);
  double sum = 0.0;
  for (int s = threadIdx.x; s < len; s += blockDim.x) sum += (e[s] = exp(e[s] - mx));
  sum = block_sum(sum, red);
  float* at = alpha + static_cast<size_t>(row) * S;
  for (int s = threadIdx.x; s < S; s += blockDim.x) at[s] = s < len ? static_cast<float>(e[s] / sum) : 0.f;
  __syncthreads();
  float* ct = context + static_cast<size_t>(row) * M;
  for (int m = threadIdx.x; m < M; m += blockDim.x) {
    double c = 0.0;
    for (int s = 0; s < len; ++s) c += static_cast<double>(at[s]) * mem[(static_cast<size_t>(b) * S + s) * M + m];
    ct[m] = static_cast<float>(c);
  }
}

// Per query row: ds = alpha (dalpha - sum alpha dalpha) into scratch, and dq += ds · k.
__global__ void __launch_bounds__(kAttentionThreads)
    attention_scores_backward_kernel(int T, int S, int H, int M, const float* k, const float* mem,
                                     const int32_t* lengths, const float* alpha, const float* dcontext,
                                     float* dq, float* ds_out) {
  extern __shared__ double ds[];
  __shared__ double red[kAttentionThreads];
  const int row = blockIdx.x, b = row / T;
  const int len = valid_steps(lengths, b, S);
  const float* at = alpha + static_cast<size_t>(row) * S;
  const float* dct = dcontext + static_cast<size_t>(row) * M;
  double weighted = 0.0;
  for (int s = threadIdx.x; s < len; s += blockDim.x) {
    const float* ms = mem + (static_cast<size_t>(b) * S + s) * M;
    double da = 0.0;
    for (int m = 0; m < M; ++m) da += static_cast<double>(dct[m]) * ms[m];
    ds[s] = da;
    weighted += at[s] * da;
  }
  weighted = block_sum(weighted, red);
  float* dso = ds_out + static_cast<size_t>(row) * S;
  for (int s = threadIdx.x; s < S; s += blockDim.x) {
    const double v = s < len ? at[s] * (ds[s] - weighted) : 0.0;
    if (s < len) ds[s] = v;
    dso[s] = static_cast<float>(v);
  }
  __syncthreads();
  float* dqt = dq + static_cast<size_t>(row) * H;
  for (int h = threadIdx.x; h < H; h += blockDim.x) {
    double g = 0.0;
    for (int s = 0; s < len; ++s) g += ds[s] * k[(static_cast<size_t>(b) * S + s) * H + h];
    dqt[h] += static_cast<float>(g);
  }
}

// Per memory step (b, s): dk = sum_t ds[t,s] q[t] (written), dmem += sum_t alpha[t,s] dcontext[t].
__global__ void __launch_bounds__(kAttentionThreads)
    attention_memory_backward_kernel(int T, int S, int H, int M, const float* q, const float* alpha,
                                     const float* dcontext, const float* ds, float* dk, float* dmem) {
  const int b = blockIdx.x / S, s = blockIdx.x % S;
  float* dks = dk + static_cast<size_t>(blockIdx.x) * H;
  float* dms = dmem + static_cast<size_t>(blockIdx.x) * M;
  for (int h = threadIdx.x; h < H; h += blockDim.x) {
    double g = 0.0;
    for (int t = 0; t < T; ++t) {
      const size_t row = static_cast<size_t>(b) * T + t;
      g += static_cast<double>(ds[row * S + s]) * q[row * H + h];
    }
    dks[h] = static_cast<float>(g);
  }
  for (int m = threadIdx.x; m < M; m += blockDim.x) {
    double g = 0.0;
    for (int t = 0; t < T; ++t) {
      const size_t row = static_cast<size_t>(b) * T + t;
      g += static_cast<double>(alpha[row * S + s]) * dcontext[row * M + m];
    }
    dms[m] += static_cast<float>(g);
  }
}

}  // namespace

void attention_forward(cudaStream_t stream, int B, int T, int S, int H, int M, const float* q, const float* k,
                       const float* mem, const int32_t* lengths, float* alpha, float* context) {
  if (B <= 0 || T <= 0 || S <= 0) return;
  check_memory_steps(S);
  attention_forward_kernel<<<B * T, kAttentionThreads, S * sizeof(double), stream>>>(T, S, H, M, q, k, mem, lengths,
                                                                                     alpha, context);
  check_launch("attention_forward_kernel");
}

void attention_backward(cudaStream_t stream, int B, int T, int S, int H, int M, const float* q, const float* k,
                        const float* mem, const int32_t* lengths, const float* alpha, const float* dcontext,
                        float* dq, float* dk, float* dmem, float* scratch) {
  if (B <= 0 || T <= 0 || S <= 0) return;
  check_memory_steps(S);
  attention_scores_backward_kernel<<<B * T, kAttentionThreads, S * sizeof(double), stream>>>(
      T, S, H, M, k, mem, lengths, alpha, dcontext, dq, scratch);
  check_launch("attention_scores_backward_kernel");
  attention_memory_backward_kernel<<<B * S, kAttentionThreads, 0, stream>>>(T, S, H, M, q, alpha, dcontext, scratch,
                                                                             dk, dmem);
  check_launch("attention_memory_backward_kernel");
}

}  // namespace frnn::cuda

// Token sampling on the device, one block per row, with the CPU's exact rule (sample_row.cuh,
// shared with the persistent decoder).
#include <cuda_runtime.h>

#include "cuda_check.cuh"
#include "kernels.cuh"
#include "sample_row.cuh"

namespace frnn::cuda {
namespace {

constexpr unsigned kThreads = 256;

__global__ void __launch_bounds__(kThreads) sample_kernel(SampleRule a, uint64_t offset, const float* logits,
                                                         int32_t* tokens, double* e_all, int32_t* order_all,
                                                         int32_t* rank_all) {
  __shared__ double best_v[kThreads];
  __shared__ int best_i[kThreads];
  const int b = blockIdx.x;
  const size_t at = static_cast<size_t>(b) * a.V;
  const SampleSpace space{best_v, best_i, e_all + at, order_all + at, rank_all + at};
  const int pick = sample_row(a, logits + at, offset + static_cast<uint64_t>(b), space);
  if (threadIdx.x == 0) tokens[b] = pick;
}

}  // namespace

size_t sample_scratch_bytes(int B, int V) {
  const size_t n = static_cast<size_t>(B > 0 ? B : 0) * (V > 0 ? V : 0);
  return n * (sizeof(double) + 2 * sizeof(int32_t));
}

void sample(cudaStream_t stream, int B, int V, const float* logits, const SampleConfig& cfg, uint64_t seed,
            uint64_t offset, int32_t* tokens, void* scratch) {
  if (B <= 0 || V <= 0) return;
  const size_t n = static_cast<size_t>(B) * V;
  auto* e = static_cast<double*>(scratch);
  auto* order = reinterpret_cast<int32_t*>(e + n);
  int32_t* rank = order + n;
  const SampleRule a{V, cfg.temperature, cfg.top_p, cfg.top_k, cfg.greedy, seed};
  sample_kernel<<<B, kThreads, 0, stream>>>(a, offset, logits, tokens, e, order, rank);
  check_launch("sample_kernel");
}

}  // namespace frnn::cuda

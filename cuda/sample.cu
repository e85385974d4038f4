// Token sampling on the device, one block per row, with the CPU's exact rule (native/cpu/sample.cc):
// the ranking (z desc, index asc) is computed in parallel, and the order-sensitive sums (top-p
// mass, the final walk) run in the CPU's order in one thread, so both backends pick the same
// token from the same logits and Philox draw. Serial parts are O(V): fine for character and word
// vocabularies in the thousands.
#include <cuda_runtime.h>

#include <cfloat>

#include "../native/philox.h"
#include "../native/sampling_rules.h"
#include "cuda_check.cuh"
#include "kernels.cuh"

namespace frnn::cuda {
namespace {

constexpr unsigned kThreads = 256;

struct SampleArgs {
  int B, V;
  double temperature, top_p;
  int top_k;
  bool greedy;
  uint64_t seed, offset;
};

__global__ void __launch_bounds__(kThreads) sample_kernel(SampleArgs a, const float* logits, int32_t* tokens,
                                                         double* e_all, int32_t* order_all, int32_t* rank_all) {
  __shared__ double best_v[kThreads];
  __shared__ int best_i[kThreads];
  const int b = blockIdx.x, V = a.V;
  const float* z = logits + static_cast<size_t>(b) * V;
  double* e = e_all + static_cast<size_t>(b) * V;
  int32_t* order = order_all + static_cast<size_t>(b) * V;
  int32_t* rank = rank_all + static_cast<size_t>(b) * V;

  // Max and argmax (lowest index on ties), in double like the CPU.
  double mx = -DBL_MAX;
  int am = V;
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    const double zv = z[v];
    if (am == V || zv > mx) mx = zv, am = v;
  }
  best_v[threadIdx.x] = mx, best_i[threadIdx.x] = am;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) {
      const double ov = best_v[threadIdx.x + s];
      const int oi = best_i[threadIdx.x + s];
      if (oi != V && (best_i[threadIdx.x] == V || ov > best_v[threadIdx.x] ||
                      (ov == best_v[threadIdx.x] && oi < best_i[threadIdx.x])))
        best_v[threadIdx.x] = ov, best_i[threadIdx.x] = oi;
    }
    __syncthreads();
  }
  if (a.greedy) {
    if (threadIdx.x == 0) tokens[b] = best_i[0];
    return;
  }
  mx = best_v[0];
  const bool use_k = a.top_k > 0 && a.top_k < V, use_p = a.top_p < 1.0;
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    e[v] = exp((static_cast<double>(z[v]) - mx) / a.temperature);
    if (use_k || use_p) {
      // Rank under (z desc, index asc): a total order, so ranks are a permutation.
      const float zv = z[v];
      int r = 0;
      for (int u = 0; u < V; ++u) r += (z[u] > zv || (z[u] == zv && u < v)) ? 1 : 0;
      rank[v] = r;
      order[r] = v;
    }
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  int kept = (use_k || use_p) ? (use_k ? a.top_k : V) : V;
  if (use_p) kept = nucleus_size(e, order, kept, a.top_p);
  const bool ranked = use_k || use_p;
  double mass = 0.0;
  int last = 0;
  for (int v = 0; v < V; ++v)
    if (!ranked || rank[v] < kept) mass += e[v], last = v;
  const double u = philox_uniform(a.seed, a.offset + static_cast<uint64_t>(b), kStreamSample);
  const double thr = u * mass;
  double cum = 0.0;
  int pick = last;
  for (int v = 0; v < V; ++v) {
    if (ranked && rank[v] >= kept) continue;
    cum += e[v];
    if (cum > thr) {
      pick = v;
      break;
    }
  }
  tokens[b] = pick;
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
  const SampleArgs a{B, V, cfg.temperature, cfg.top_p, cfg.top_k, cfg.greedy, seed, offset};
  sample_kernel<<<B, kThreads, 0, stream>>>(a, logits, tokens, e, order, rank);
  check_launch("sample_kernel");
}

}  // namespace frnn::cuda

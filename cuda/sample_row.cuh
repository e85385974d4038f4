// The sampling rule of one row, for a whole block: used by sample.cu's kernel (one block per row)
// and by the persistent decoder (decode.cu, every block for every row), so both pick the same
// token from the same logits and draw. The CPU's exact rule (native/cpu/sample.cc): the ranking
// (z desc, index asc) is computed in parallel, and the order-sensitive sums (top-p mass, the final
// walk) run in the CPU's order in one thread. Serial parts are O(V): fine for character and word
// vocabularies in the thousands.
#pragma once

#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>

#include "../native/philox.h"
#include "../native/sampling_rules.h"

namespace frnn::cuda {

struct SampleRule {
  int V;
  double temperature, top_p;
  int top_k;
  bool greedy;
  uint64_t seed;
};

// Where a row's temporaries live: best_v/best_i [blockDim.x] shared; e [V], order [V], rank [V]
// anywhere the block can read back what it wrote (shared or global).
struct SampleSpace {
  double* best_v;
  int* best_i;
  double* e;
  int32_t* order;
  int32_t* rank;
};

// The token of logits z [V] with the draw uniform(seed, counter): valid in thread 0 only. Every
// thread of the block must call it (it synchronizes); blockDim.x a power of two.
__device__ __forceinline__ int sample_row(const SampleRule& a, const float* z, uint64_t counter, const SampleSpace& s) {
  const int V = a.V;
  // Max and argmax (lowest index on ties), in double like the CPU.
  double mx = -DBL_MAX;
  int am = V;
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    const double zv = z[v];
    if (am == V || zv > mx) mx = zv, am = v;
  }
  s.best_v[threadIdx.x] = mx, s.best_i[threadIdx.x] = am;
  __syncthreads();
  for (unsigned k = blockDim.x / 2; k > 0; k /= 2) {
    if (threadIdx.x < k) {
      const double ov = s.best_v[threadIdx.x + k];
      const int oi = s.best_i[threadIdx.x + k];
      if (oi != V && (s.best_i[threadIdx.x] == V || ov > s.best_v[threadIdx.x] ||
                      (ov == s.best_v[threadIdx.x] && oi < s.best_i[threadIdx.x])))
        s.best_v[threadIdx.x] = ov, s.best_i[threadIdx.x] = oi;
    }
    __syncthreads();
  }
  const int argmax = s.best_i[0];
  mx = s.best_v[0];
  __syncthreads();  // best_* may be reused by the caller once every thread has read them
  if (a.greedy) return argmax;
  const bool use_k = a.top_k > 0 && a.top_k < V, use_p = a.top_p < 1.0;
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    s.e[v] = exp((static_cast<double>(z[v]) - mx) / a.temperature);
    if (use_k || use_p) {
      // Rank under (z desc, index asc): a total order, so ranks are a permutation.
      const float zv = z[v];
      int r = 0;
      for (int u = 0; u < V; ++u) r += (z[u] > zv || (z[u] == zv && u < v)) ? 1 : 0;
      s.rank[v] = r;
      s.order[r] = v;
    }
  }
  __syncthreads();
  int pick = 0;
  if (threadIdx.x == 0) {
    int kept = (use_k || use_p) ? (use_k ? a.top_k : V) : V;
    if (use_p) kept = nucleus_size(s.e, s.order, kept, a.top_p);
    const bool ranked = use_k || use_p;
    double mass = 0.0;
    int last = 0;
    for (int v = 0; v < V; ++v)
      if (!ranked || s.rank[v] < kept) mass += s.e[v], last = v;
    const double u = philox_uniform(a.seed, counter, kStreamSample);
    const double thr = u * mass;
    double cum = 0.0;
    pick = last;
    for (int v = 0; v < V; ++v) {
      if (ranked && s.rank[v] >= kept) continue;
      cum += s.e[v];
      if (cum > thr) {
        pick = v;
        break;
      }
    }
  }
  __syncthreads();  // e/order/rank are free again for the next row
  return pick;
}

}  // namespace frnn::cuda

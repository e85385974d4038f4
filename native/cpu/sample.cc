// Token sampling from logits [B,V]: greedy, temperature, top-k, top-p (nucleus). Everything is
// computed in double from the logits so fp32 and fp64 agree whenever the logits are not on a
// knife edge.
//
// Per row b:
//   greedy: argmax of the logits, lowest index on ties; no random draw.
//   else:   e_i = exp((z_i - max z) / temperature), z the logits (in double).
//           top_k > 0 (and < V): keep the k largest z, ties broken toward the lower index.
//           top_p < 1: among the kept, sorted by (z desc, index asc), keep the shortest prefix
//             whose mass (relative to the kept mass) reaches top_p; at least one token.
//           u = philox_uniform(seed, offset + b, kStreamSample); walk the kept tokens in
//           ascending index order accumulating e_i, pick the first whose cumulative sum exceeds
//           u * (sum of kept e_i). (Fallback for rounding: the last kept index.)
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../philox.h"
#include "../sampling_rules.h"
#include "cpu_kernels.h"

namespace frnn::cpu {

template <typename T>
void sample(int B, int V, const T* logits, const SampleConfig& cfg, uint64_t seed,
            uint64_t offset, int32_t* tokens) {
  if (V <= 0) return;
  std::vector<double> z(V), e(V);
  std::vector<int> order(V);
  std::vector<char> keep(V);
  const bool use_k = cfg.top_k > 0 && cfg.top_k < V;
  const bool use_p = cfg.top_p < 1.0;
  for (int b = 0; b < B; ++b) {
    const T* row = logits + static_cast<long>(b) * V;
    if (cfg.greedy) {
      int am = 0;
      double mx = static_cast<double>(row[0]);
      for (int v = 1; v < V; ++v)
        if (static_cast<double>(row[v]) > mx) {
          mx = static_cast<double>(row[v]);
          am = v;
        }
      tokens[b] = am;
      continue;
    }
    // z keeps the raw logits (the ranking does not depend on the temperature); dividing the
    // difference to the max, not each logit, cannot overflow for a tiny temperature.
    double mx = -INFINITY;
    for (int v = 0; v < V; ++v) {
      z[v] = static_cast<double>(row[v]);
      if (z[v] > mx) mx = z[v];
    }
    for (int v = 0; v < V; ++v) e[v] = std::exp((z[v] - mx) / cfg.temperature);
    std::fill(keep.begin(), keep.end(), 1);
    if (use_k || use_p) {
      std::iota(order.begin(), order.end(), 0);
      auto before = [&](int a, int c) { return z[a] > z[c] || (z[a] == z[c] && a < c); };
      int kept = V;
      if (use_k) {
        kept = cfg.top_k;
        std::nth_element(order.begin(), order.begin() + kept, order.end(), before);
      }
      if (use_p) {
        std::sort(order.begin(), order.begin() + kept, before);
        kept = nucleus_size(e.data(), order.data(), kept, cfg.top_p);
      }
      std::fill(keep.begin(), keep.end(), 0);
      for (int j = 0; j < kept; ++j) keep[order[j]] = 1;
    }
    double mass = 0.0;
    int last = 0;
    for (int v = 0; v < V; ++v)
      if (keep[v]) {
        mass += e[v];
        last = v;
      }
    const double u = philox_uniform(seed, offset + static_cast<uint64_t>(b), kStreamSample);
    const double thr = u * mass;
    double cum = 0.0;
    int pick = last;
    for (int v = 0; v < V; ++v) {
      if (!keep[v]) continue;
      cum += e[v];
      if (cum > thr) {
        pick = v;
        break;
      }
    }
    tokens[b] = pick;
  }
}

#define FRNN_INST(T) \
  template void sample<T>(int, int, const T*, const SampleConfig&, uint64_t, uint64_t, int32_t*);
FRNN_CPU_INSTANTIATE(FRNN_INST)
#undef FRNN_INST

}  // namespace frnn::cpu

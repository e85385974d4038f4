#include "decode.h"

#include <algorithm>
#include <vector>

#include "cpu_kernels.h"
#include "generation_step.h"
#include "thread_pool.h"

namespace frnn::cpu {

std::atomic<int>& decode_members() {
  static std::atomic<int> members{-1};
  return members;
}

bool decode(const DecodeSpec<float>& d, int steps, const SampleConfig& sc, uint64_t seed, uint64_t first_draw,
            const int32_t* tokens, int32_t* drawn) {
  const int wanted = decode_members().load(std::memory_order_relaxed);
  if (wanted == 0 || steps < 1 || d.layers.empty() || d.head.empty()) return false;
  const int B = d.B, L = static_cast<int>(d.layers.size()), V = d.head.back().units;
  std::vector<LayerStep> layers;
  layers.reserve(L);
  for (const auto& l : d.layers) {
    layers.emplace_back(l.shape, l.p);  // looks the held weights up: on this, the holding thread
    if (!layers.back()) return false;
  }

  // Per layer: h in two buffers (h_old read whole by every member while each writes its slice of
  // h_new), c updated in place, the recurrent sums. Layer 0's input and the head's outputs.
  std::vector<std::vector<float>> h_buf(2 * L), sums(L), z(d.head.size());
  for (int l = 0; l < L; ++l) {
    const size_t BH = static_cast<size_t>(B) * d.layers[l].shape.H;
    h_buf[2 * l].assign(d.layers[l].h, d.layers[l].h + BH);
    h_buf[2 * l + 1].resize(BH);
    sums[l].resize(layers[l].sum_elems());
    layers[l].keep_sums_in(sums[l].data());
  }
  for (size_t k = 0; k < d.head.size(); ++k) z[k].resize(static_cast<size_t>(B) * d.head[k].units);
  const int I0 = d.layers[0].shape.I;
  std::vector<float> x0(static_cast<size_t>(B) * I0);
  auto make_input = [&](const int32_t* ids) {
    if (d.embedding) embedding_forward(B, d.vocab, I0, ids, d.embedding, x0.data());
    else one_hot(B, d.vocab, ids, x0.data());
  };
  make_input(tokens);

  int members = 1;
  for (int l = 0; l < L; ++l) {
    const long nonzero = l == 0 && !d.embedding ? B : static_cast<long>(B) * d.layers[l].shape.I;
    members = std::max(members, layers[l].useful_parts(nonzero));
  }
  if (wanted > 0) members = std::min(wanted, pool_threads());

  GangBarrier gang_barrier(members), solo_barrier(1);
  GangBarrier* layer_done = &gang_barrier;
  std::atomic<int> inputs_ready{1};  // characters whose layer-0 input is in x0 (member 0 raises it)
  auto member = [&](int t) {
    for (int s = 0; s < steps; ++s) {
      const int old = s & 1;
      for (int l = 0; l < L; ++l) {
        const float* h_old = h_buf[2 * l + old].data();
        float* h_new = h_buf[2 * l + (old ^ 1)].data();
        layers[l].recurrent(t, members, h_old);
        if (l == 0 && !gang_wait([&] { return inputs_ready.load(std::memory_order_acquire) > s; })) return;
        const float* x = l == 0 ? x0.data() : h_buf[2 * (l - 1) + (old ^ 1)].data();
        layers[l].finish(t, members, x, h_old, d.layers[l].c, h_new);
        if (!layer_done->wait()) return;
      }
      if (t != 0) continue;
      // The head and the draw, exactly as the caller's loop runs them (ops.h's contract).
      const float* x = h_buf[2 * (L - 1) + (old ^ 1)].data();
      int width = d.layers[L - 1].shape.H;
      for (size_t k = 0; k < d.head.size(); ++k) {
        dense_forward(B, width, d.head[k].units, d.head[k].act, x, d.head[k].W, d.head[k].b, z[k].data());
        x = z[k].data();
        width = d.head[k].units;
      }
      int32_t* ids = drawn + static_cast<size_t>(s) * B;
      sample(B, V, x, sc, seed, (first_draw + s) * B, ids);
      if (s + 1 < steps) make_input(ids);
      inputs_ready.store(s + 2, std::memory_order_release);
    }
  };
  if (members == 1 || !run_gang(members, member)) {  // no gang to be had: alone, the same results
    members = 1;
    layer_done = &solo_barrier;
    member(0);
  }
  for (int l = 0; l < L; ++l) std::copy(h_buf[2 * l + (steps & 1)].begin(), h_buf[2 * l + (steps & 1)].end(), d.layers[l].h);
  return true;
}

}  // namespace frnn::cpu

// Where each parameter of a NetworkConfig lives in the flat arena, under which PyTorch name, and
// its initial values.
#pragma once

#include <array>
#include <vector>

#include "network.h"

namespace frnn {

struct RecurrentOffsets {
  size_t w_ih = 0, w_hh = 0, b_ih = 0, b_hh = 0, peephole = 0;
};
struct DenseOffsets {
  size_t weight = 0, bias = 0;
};

struct ParamLayout {
  std::vector<ParamInfo> params;
  std::vector<std::array<RecurrentOffsets, 2>> recurrent;  // [layer][direction]
  std::vector<DenseOffsets> dense;
  std::vector<std::array<DenseOffsets, 2>> condition;  // [layer][direction], conditioned networks
  size_t attention_wa = 0;  // attention networks: W_a [H, M] (general score), W_c [H, M+H], b_c [H]
  DenseOffsets attention_out;
  size_t embedding = 0;
  size_t trainable = 0;  // the arena's first `trainable` elements get gradients and Adam
  size_t total = 0;
};

// Runs fn(ctx, i) for every i in [0, tasks), in any order or at once, and returns when all are
// done (the shape of cpu::parallel_for, which the backend factory passes in).
using ParallelFor = void (*)(int tasks, void (*fn)(void* ctx, int i), void* ctx);
inline void run_serially(int tasks, void (*fn)(void* ctx, int i), void* ctx) {
  for (int i = 0; i < tasks; ++i) fn(ctx, i);
}

ParamLayout plan_parameters(const NetworkConfig& cfg);
// The values do not depend on how parallel_for spreads the work.
std::vector<double> initial_parameters(const NetworkConfig& cfg, const ParamLayout& layout,
                                       ParallelFor parallel_for);

}  // namespace frnn

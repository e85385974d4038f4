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

ParamLayout plan_parameters(const NetworkConfig& cfg);
std::vector<double> initial_parameters(const NetworkConfig& cfg, const ParamLayout& layout);

}  // namespace frnn

// The executor's checks of its inputs against the config: the bounds and sizes that keep every
// kernel inside its buffers. lib/ checks all of them first, with the messages users see, so a
// failure here is an InternalError (errors.h); the raw binding reaches them, and fails cleanly.
#pragma once

#include <cstdint>
#include <vector>

#include "network.h"

namespace frnn {

// Every size, id and length of `batch`, its condition when it has one, and its attention memory.
void check_batch(const NetworkConfig& cfg, const Batch& batch);
// Token ids (a batch's inputs, a generation's prime) in [0, vocab).
void check_tokens(const NetworkConfig& cfg, const std::vector<int32_t>& tokens, const char* what);
// A condition of B rows (conditioned networks; any other network takes none).
void check_condition(const NetworkConfig& cfg, size_t values, int B);

}  // namespace frnn

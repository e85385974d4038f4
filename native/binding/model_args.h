// The model binding's arguments read from JS into the executor's structs. lib/ checks every
// argument and sets every field (lib/options/, lib/batch.ts), so nothing here has a default: a
// missing field is a TypeError naming it. The kind, range and size checks stay, because the raw
// binding is reachable from JS (and fuzzed: test/fuzz.test.ts) and must never corrupt memory.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "../net/network.h"
#include "backend_factory.h"

namespace frnn::binding {

NetworkConfig parse_config(const Napi::Object& o);
Batch parse_batch(const Napi::Value& v, const NetworkConfig& cfg);
TrainOptions parse_train_options(const Napi::Value& v);
// The 4th constructor argument: { device, precision, initialize }.
BackendOptions parse_backend_options(const Napi::Value& v);
// An array of Float32Array/Float64Array blocks (states and their gradients).
std::vector<std::vector<double>> parse_blocks(const Napi::Value& v, const std::string& where);

// generate(prime, batchSize, steps, options) and generateChunk's first four arguments.
struct GenerateArgs {
  std::vector<int32_t> prime;
  int B = 0, P = 0, steps = 0;
  SampleConfig sample;
  uint64_t seed = 0;
  std::vector<double> condition;
};
GenerateArgs parse_generate_args(const Napi::CallbackInfo& info, const char* usage);
// generateChunk's state: {h, c, drawn}, or null / undefined to start from the prime.
Network::GenerationState parse_generation_state(const Napi::Value& v);

}  // namespace frnn::binding

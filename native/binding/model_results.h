// The executor's results as JS values: step results, parameter infos, float and int arrays.
#pragma once

#include <napi.h>

#include <vector>

#include "../net/network.h"
#include "backend_factory.h"

namespace frnn::binding {

Napi::Float64Array to_float64(Napi::Env env, const std::vector<double>& v);
Napi::Int32Array to_int32(Napi::Env env, const std::vector<int32_t>& v);
Napi::Array float64_blocks(Napi::Env env, const std::vector<std::vector<double>>& blocks);
// { loss, gradNorm, correct, weightSum, skipped, stateGrad?, memoryGrad? }
Napi::Object step_result(Napi::Env env, const StepResult& r);
// [{ name, shape, trainable }]
Napi::Array param_infos(Napi::Env env, const std::vector<ParamInfo>& ps);
// { h: Float64Array[], c: Float64Array[], drawn }
Napi::Object generation_state(Napi::Env env, const Network::GenerationState& state);
// Model.info(): backend, dtype, counters, sizes, precision, graph counters and the device.
Napi::Object model_info(Napi::Env env, Network& net);

}  // namespace frnn::binding

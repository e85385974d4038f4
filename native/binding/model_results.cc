// The executor's results as JS values (see model_results.h).
#include "model_results.h"

#include <algorithm>
#include <string>

#include "js_errors.h"

namespace frnn::binding {

Napi::Float64Array to_float64(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

Napi::Int32Array to_int32(Napi::Env env, const std::vector<int32_t>& v) {
  auto a = Napi::Int32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

Napi::Array float64_blocks(Napi::Env env, const std::vector<std::vector<double>>& blocks) {
  auto arr = Napi::Array::New(env, blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) arr.Set(static_cast<uint32_t>(i), to_float64(env, blocks[i]));
  return arr;
}

Napi::Object step_result(Napi::Env env, const StepResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("gradNorm", r.grad_norm);
  o.Set("correct", r.correct);
  o.Set("weightSum", r.weight_sum);
  o.Set("skipped", r.skipped);
  if (!r.state_grad.empty()) o.Set("stateGrad", float64_blocks(env, r.state_grad));
  if (!r.memory_grad.empty()) o.Set("memoryGrad", to_float64(env, r.memory_grad));
  return o;
}

Napi::Array param_infos(Napi::Env env, const std::vector<ParamInfo>& ps) {
  auto arr = Napi::Array::New(env, ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    auto o = Napi::Object::New(env);
    o.Set("name", ps[i].name);
    auto shape = Napi::Array::New(env, ps[i].shape.size());
    for (size_t d = 0; d < ps[i].shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), ps[i].shape[d]);
    o.Set("shape", shape);
    o.Set("trainable", ps[i].trainable);
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

Napi::Object generation_state(Napi::Env env, const Network::GenerationState& state) {
  auto o = Napi::Object::New(env);
  o.Set("h", float64_blocks(env, state.h));
  o.Set("c", float64_blocks(env, state.c));
  o.Set("drawn", static_cast<double>(state.drawn));
  return o;
}

Napi::Object model_info(Napi::Env env, Network& net) {
  auto o = Napi::Object::New(env);
  o.Set("backend", net.backend());
  o.Set("dtype", net.dtype());
  o.Set("step", static_cast<double>(net.step()));
  o.Set("rngCounter", static_cast<double>(net.rng_counter()));
  size_t n = 0;
  for (const auto& p : net.params()) n += p.size;
  o.Set("parameterCount", static_cast<double>(n));
  o.Set("nativeBytes", static_cast<double>(net.native_bytes()));
  const BackendDetails d = guard(env, [&] { return backend_details(net); });
  o.Set("precision", d.precision);
  o.Set("graphCaptures", static_cast<double>(d.graphs.captures));
  o.Set("graphReplays", static_cast<double>(d.graphs.replays));
  o.Set("graphFallbacks", static_cast<double>(d.graphs.fallbacks));
  if (d.device >= 0) {
    o.Set("device", d.device);
    o.Set("deviceName", d.device_name);
    o.Set("computeCapability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
    o.Set("totalMemory", static_cast<double>(d.total_memory));
    o.Set("driverVersion", d.driver_version);
    o.Set("runtimeVersion", d.runtime_version);
  }
  return o;
}

}  // namespace frnn::binding

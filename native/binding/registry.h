// What each binding source adds to the addon's exports (addon.cc calls them all).
#pragma once

#include <napi.h>

namespace frnn::binding {

void RegisterRnnHarness(Napi::Env env, Napi::Object ops);   // harness_rnn.cc: recurrent ops
void RegisterOpsHarness(Napi::Env env, Napi::Object ops);   // harness_ops.cc: every other op
void RegisterInit(Napi::Env env, Napi::Object exports);     // init_binding.cc: initializers
void RegisterModel(Napi::Env env, Napi::Object exports);    // model_binding.cc: Model class
void RegisterBuildInfo(Napi::Env env, Napi::Object exports);  // build_info.cc: buildInfo(), cudaProbe()
void RegisterCpuIsa(Napi::Env env, Napi::Object exports);     // cpu_isa_binding.cc: cpuIsa

}  // namespace frnn::binding

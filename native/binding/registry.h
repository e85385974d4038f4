// What each binding source adds to the addon's exports. RegisterAddon is the production addon's
// whole surface; addon.cc exports it, and the test addon (native/harness/test_addon.cc) exports it
// plus the op harness.
#pragma once

#include <napi.h>

namespace frnn::binding {

void RegisterModel(Napi::Env env, Napi::Object exports);    // model_binding.cc: Model class
void RegisterBuildInfo(Napi::Env env, Napi::Object exports);  // build_info.cc: buildInfo(), cudaProbe()
void RegisterCpuIsa(Napi::Env env, Napi::Object exports);     // cpu_isa_binding.cc: cpuIsa

inline void RegisterAddon(Napi::Env env, Napi::Object exports) {
  RegisterModel(env, exports);
  RegisterBuildInfo(env, exports);
  RegisterCpuIsa(env, exports);
}

}  // namespace frnn::binding

// Module entry. Node-API addons are context-aware, so this loads in worker_threads too; nothing
// here keeps per-process mutable state.
#include <napi.h>

#include "registry.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace frnn::binding;
  Napi::Object ops = Napi::Object::New(env);
  RegisterRnnHarness(env, ops);
  RegisterOpsHarness(env, ops);
  exports.Set("ops", ops);
  RegisterInit(env, exports);
  RegisterModel(env, exports);
  RegisterBuildInfo(env, exports);
  RegisterCpuIsa(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(fusedrnn, Init)

// Module entry of the test addon (build/test/fusedrnn_test.node, never shipped): the production
// addon's exports plus the op harness (`ops`) and the initializers (`init`), so a test reaches the
// kernels one op at a time and its Model, cpuIsa and counters in the same copy of the native code.
#include <napi.h>

#include "harness.h"
#include "../binding/registry.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace frnn::binding;
  Napi::Object ops = Napi::Object::New(env);
  RegisterRnnHarness(env, ops);
  RegisterOpsHarness(env, ops);
  exports.Set("ops", ops);
  RegisterInit(env, exports);
  RegisterAddon(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(fusedrnn_test, Init)

// Module entry of the production addon. Node-API addons are context-aware, so this loads in
// worker_threads too; nothing here keeps per-process mutable state.
#include <napi.h>

#include "registry.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  frnn::binding::RegisterAddon(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(fusedrnn, Init)

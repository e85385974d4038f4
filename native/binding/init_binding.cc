// Placeholder until its owner fills it in.
#include "registry.h"
namespace frnn::binding {
void RegisterInit(Napi::Env, Napi::Object) {}
}  // namespace frnn::binding

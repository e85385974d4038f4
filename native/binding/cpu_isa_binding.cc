// cpuIsa: which instruction-set variant the fp32 CPU kernels use, and a setter so tests and
// benchmarks can force each one (native/cpu/cpu_isa.h).
#include <string>

#include "native/cpu/cpu_isa.h"
#include "native/cpu/thread_pool.h"
#include "registry.h"

namespace frnn::binding {
namespace {

std::string name_arg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "cpuIsa: name must be a string ('generic', 'avx2', 'avx512' or 'auto')");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name != "generic" && name != "avx2" && name != "avx512" && name != "auto")
    throw Napi::RangeError::New(info.Env(), "cpuIsa: name must be 'generic', 'avx2', 'avx512' or 'auto', got '" + name + "'");
  return name;
}

}  // namespace

void RegisterCpuIsa(Napi::Env env, Napi::Object exports) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("active", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::String::New(info.Env(), cpu::isa().name);
        }));
  o.Set("supported", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::Boolean::New(info.Env(), cpu::cpu_isa_supported(name_arg(info).c_str()));
        }));
  // Not to be called while a model computes on another thread.
  o.Set("set", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::Boolean::New(info.Env(), cpu::set_cpu_isa(name_arg(info).c_str()));
        }));
  o.Set("threads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::Number::New(info.Env(), cpu::pool_threads());
        }));
  exports.Set("cpuIsa", o);
}

}  // namespace frnn::binding

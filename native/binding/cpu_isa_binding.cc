// cpuIsa: which instruction-set variant the fp32 CPU kernels use, and a setter so tests and
// benchmarks can force each one (native/cpu/cpu_isa.h); bf16Product runs the bf16 inference
// product under the active variant, for tests against a reference.
#include <string>
#include <vector>

#include "js_errors.h"
#include "native/cpu/bf16.h"
#include "native/cpu/cpu_isa.h"
#include "native/cpu/sgemm.h"
#include "native/cpu/thread_pool.h"
#include "registry.h"

namespace frnn::binding {
namespace {

// "'generic', 'avx2', ... or 'auto'": the accepted names, from the one list.
std::string accepted_names() {
  std::string out;
  for (const char* const* n = cpu::kIsaNames; *n; ++n) out += std::string("'") + *n + "', ";
  return out + "or 'auto'";
}

std::string name_arg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "cpuIsa: name must be a string (" + accepted_names() + ")");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  bool known = name == "auto";
  for (const char* const* n = cpu::kIsaNames; *n; ++n) known = known || name == *n;
  if (!known) throw Napi::RangeError::New(info.Env(), "cpuIsa: name must be " + accepted_names() + ", got '" + name + "'");
  return name;
}

// bf16Product(M, N, K, a: Float32Array [M,K], b: Float32Array, transB) -> Float32Array [M,N]:
// a · op(b), op(b) [K,N] ([N,K] stored when transB), through pack_bf16 and sgemm_bf16_b.
Napi::Value Bf16Product(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const char* usage = "cpuIsa.bf16Product(M, N, K, a: Float32Array, b: Float32Array, transB: boolean)";
  if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsTypedArray() || !info[4].IsTypedArray() || !info[5].IsBoolean())
    throw Napi::TypeError::New(env, std::string("expected ") + usage);
  int dims[3];
  for (int i = 0; i < 3; ++i) {
    const double d = info[i].As<Napi::Number>().DoubleValue();
    if (!(d >= 1 && d <= 4096 && d == static_cast<int>(d)))
      throw Napi::RangeError::New(env, std::string("M, N and K must be integers in [1, 4096]"));
    dims[i] = static_cast<int>(d);
  }
  const int M = dims[0], N = dims[1], K = dims[2];
  const auto a = info[3].As<Napi::TypedArray>(), b = info[4].As<Napi::TypedArray>();
  if (a.TypedArrayType() != napi_float32_array || a.ElementLength() != static_cast<size_t>(M) * K)
    throw Napi::RangeError::New(env, "a must be a Float32Array of M*K floats");
  if (b.TypedArrayType() != napi_float32_array || b.ElementLength() != static_cast<size_t>(K) * N)
    throw Napi::RangeError::New(env, "b must be a Float32Array of K*N floats");
  const bool trans_b = info[5].As<Napi::Boolean>().Value();
  const float* av = a.As<Napi::Float32Array>().Data();
  const float* bv = b.As<Napi::Float32Array>().Data();
  std::vector<uint32_t> packed(cpu::bf16_packed_words(K, N));
  cpu::pack_bf16(trans_b, K, N, bv, trans_b ? K : N, packed.data());
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(M) * N);
  std::fill(out.Data(), out.Data() + out.ElementLength(), 0.0f);
  cpu::sgemm_bf16_b(M, N, K, av, K, packed.data(), out.Data(), N);
  return out;
}

}  // namespace

void RegisterCpuIsa(Napi::Env env, Napi::Object exports) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array names = Napi::Array::New(env);
  for (const char* const* n = cpu::kIsaNames; *n; ++n) names.Set(names.Length(), Napi::String::New(env, *n));
  o.Set("names", names);
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
  o.Set("bf16Product", guarded_function(env, "bf16Product", Bf16Product));
  exports.Set("cpuIsa", o);
}

}  // namespace frnn::binding

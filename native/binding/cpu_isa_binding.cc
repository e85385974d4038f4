// cpuIsa: which instruction-set variant the fp32 CPU kernels use, and a setter so tests and
// benchmarks can force each one (native/cpu/cpu_isa.h); bf16Product and int8Product run the bf16
// and int8 inference products under the active variant, for tests against a reference.
#include <string>
#include <vector>

#include "js_errors.h"
#include "native/cpu/bf16.h"
#include "native/cpu/int8.h"
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

// The reduced-precision test products: name(M, N, K, a: Float32Array [M,K], b: Float32Array,
// transB) -> Float32Array [M,N] = a · op(b), op(b) [K,N] ([N,K] stored when transB), through
// `multiply` (the layout's packing and its sgemm_*_b).
template <void (*multiply)(int M, int N, int K, const float* a, const float* b, bool trans_b, float* out)>
Napi::Value ReducedProduct(const Napi::CallbackInfo& info, const char* name) {
  const Napi::Env env = info.Env();
  const std::string usage = std::string("cpuIsa.") + name + "(M, N, K, a: Float32Array, b: Float32Array, transB: boolean)";
  if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsTypedArray() || !info[4].IsTypedArray() || !info[5].IsBoolean())
    throw Napi::TypeError::New(env, "expected " + usage);
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
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(M) * N);
  std::fill(out.Data(), out.Data() + out.ElementLength(), 0.0f);
  multiply(M, N, K, a.As<Napi::Float32Array>().Data(), b.As<Napi::Float32Array>().Data(), info[5].As<Napi::Boolean>().Value(),
           out.Data());
  return out;
}

void bf16_multiply(int M, int N, int K, const float* a, const float* b, bool trans_b, float* out) {
  std::vector<uint32_t> packed(cpu::bf16_packed_words(K, N));
  cpu::pack_bf16(trans_b, K, N, b, trans_b ? K : N, packed.data());
  cpu::sgemm_bf16_b(M, N, K, a, K, packed.data(), out, N);
}

void int8_multiply(int M, int N, int K, const float* a, const float* b, bool trans_b, float* out) {
  std::vector<uint32_t> packed(cpu::int8_packed_words(K, N));
  std::vector<float> scales(cpu::int8_scale_count(N));
  cpu::pack_int8(trans_b, K, N, b, trans_b ? K : N, packed.data(), scales.data());
  cpu::sgemm_int8_b(M, N, K, a, K, packed.data(), scales.data(), out, N);
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
  o.Set("bf16Product", guarded_function(env, "bf16Product", [](const Napi::CallbackInfo& info) {
          return ReducedProduct<bf16_multiply>(info, "bf16Product");
        }));
  o.Set("int8Product", guarded_function(env, "int8Product", [](const Napi::CallbackInfo& info) {
          return ReducedProduct<int8_multiply>(info, "int8Product");
        }));
  exports.Set("cpuIsa", o);
}

}  // namespace frnn::binding

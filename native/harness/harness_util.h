// Helpers for the op harness of the test addon: `ops.<op>(dtype, args)` runs one op of ops.h on
// one backend so tests can hold every kernel against finite differences, PyTorch's golden values
// and the fp64 reference. Tensors cross as Float64Array (converted to the op's precision) and
// Int32Array.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <type_traits>

#include "../cpu/cpu_ops.h"
#include "../ops.h"
#include "../binding/js_args.h"
#include "../binding/js_errors.h"
#ifdef FRNN_HAVE_CUDA
#include "../../cuda/cuda_backend.h"
#endif

namespace frnn::harness {

enum class DType { F32, F64 };

// info[0]: 'float32' | 'float64'.
inline DType dtype_arg(const Napi::CallbackInfo& info) {
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject())
    throw Napi::TypeError::New(info.Env(), "expected (dtype: 'float32'|'float64', args: object)");
  const std::string d = info[0].As<Napi::String>();
  if (d == "float32") return DType::F32;
  if (d == "float64") return DType::F64;
  throw Napi::RangeError::New(info.Env(), "dtype must be 'float32' or 'float64', got '" + d + "'");
}

using binding::present;

#ifdef FRNN_HAVE_CUDA
// One CUDA backend per precision on device 0, made on first use and kept for the process.
inline Ops<float>& cuda_ops(const Napi::Object& args) {
  bool tf32 = false;  // the parity tests default to exact fp32 (the tighter bound)
  if (present(args, "precision")) {
    const Napi::Value v = args.Get("precision");
    const std::string p = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
    if (p != "tf32" && p != "fp32") throw Napi::RangeError::New(args.Env(), "args.precision must be 'tf32' or 'fp32'");
    tf32 = p == "tf32";
  }
  // Deliberately never destroyed: a static destructor would run after the CUDA runtime's own
  // exit-time teardown.
  static std::mutex mu;
  static Ops<float>* instances[2] = {nullptr, nullptr};
  std::lock_guard<std::mutex> lock(mu);
  Ops<float>*& slot = instances[tf32 ? 1 : 0];
  if (!slot) {
    try {
      slot = cuda::make_cuda_ops(0, tf32).release();
    } catch (const std::exception& e) {
      throw Napi::Error::New(args.Env(), std::string("args.backend 'cuda': ") + e.what());
    }
  }
  return *slot;
}
#endif

// The backend named by args.backend: 'cpu' (default) or, in a CUDA build, 'cuda' (float32 only).
template <typename T>
Ops<T>& backend_arg(const Napi::Object& args) {
  static CpuOps<T> cpu;
  if (!args.Has("backend") || args.Get("backend").IsUndefined()) return cpu;
  const Napi::Value b = args.Get("backend");
  const std::string name = b.IsString() ? b.As<Napi::String>().Utf8Value() : std::string();
  if (name == "cpu") return cpu;
#ifdef FRNN_HAVE_CUDA
  if (name == "cuda") {
    if constexpr (std::is_same_v<T, float>) {
      return cuda_ops(args);
    } else {
      throw Napi::RangeError::New(args.Env(), "args.backend 'cuda' runs float32 only");
    }
  }
  throw Napi::RangeError::New(args.Env(), "args.backend must be 'cpu' or 'cuda'");
#else
  throw Napi::RangeError::New(args.Env(), "args.backend: only 'cpu' is available in this build (no CUDA part)");
#endif
}

// args.poison: fill outputs with NaN before the op runs (see Buffers::written).
inline bool poison_arg(const Napi::Object& args) {
  return args.Has("poison") && args.Get("poison").ToBoolean().Value();
}

inline double num(const Napi::Object& args, const char* key) {
  const Napi::Value v = args.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(args.Env(), std::string("args.") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}
inline double num_or(const Napi::Object& args, const char* key, double fallback) {
  return present(args, key) ? num(args, key) : fallback;
}
inline int integer(const Napi::Object& args, const char* key) {
  const double v = num(args, key);
  if (v != static_cast<int>(v)) throw Napi::RangeError::New(args.Env(), std::string("args.") + key + " must be an integer");
  return static_cast<int>(v);
}
inline bool flag(const Napi::Object& args, const char* key) {
  return present(args, key) && args.Get(key).ToBoolean().Value();
}

// A Float64Array of exactly `n` elements.
inline std::vector<double> f64(const Napi::Object& args, const char* key, size_t n) {
  const Napi::Value v = args.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(args.Env(), std::string("args.") + key + " must be a Float64Array");
  auto a = v.As<Napi::Float64Array>();
  if (a.ElementLength() != n)
    throw Napi::RangeError::New(args.Env(), std::string("args.") + key + " must have " + std::to_string(n) +
                                                " elements, got " + std::to_string(a.ElementLength()));
  return std::vector<double>(a.Data(), a.Data() + n);
}
inline std::vector<int32_t> i32(const Napi::Object& args, const char* key, size_t n) {
  const Napi::Value v = args.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(args.Env(), std::string("args.") + key + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  if (a.ElementLength() != n)
    throw Napi::RangeError::New(args.Env(), std::string("args.") + key + " must have " + std::to_string(n) +
                                                " elements, got " + std::to_string(a.ElementLength()));
  return std::vector<int32_t>(a.Data(), a.Data() + n);
}

inline Napi::Float64Array to_js(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}
inline Napi::Int32Array to_js(Napi::Env env, const std::vector<int32_t>& v) {
  auto a = Napi::Int32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

// Backend buffers for one harness call, released when it ends.
template <typename T>
class Buffers {
 public:
  explicit Buffers(Ops<T>& ops) : ops_(ops) {}
  Buffers(const Buffers&) = delete;
  Buffers& operator=(const Buffers&) = delete;
  ~Buffers() {
    for (void* p : owned_) ops_.release(p);
  }

  T* zeros(size_t n) { return static_cast<T*>(own(n * sizeof(T))); }
  // An output the op must write in full: NaN-filled when `poison`, so a value the op forgot to
  // write shows up instead of passing as a zero.
  T* written(size_t n, bool poison) {
    T* p = zeros(n);
    if (poison && n) {
      std::vector<T> nan(n, std::numeric_limits<T>::quiet_NaN());
      ops_.upload(p, nan.data(), n * sizeof(T));
    }
    return p;
  }
  T* floats(const std::vector<double>& host) {
    std::vector<T> conv(host.begin(), host.end());
    T* p = zeros(conv.size());
    ops_.upload(p, conv.data(), conv.size() * sizeof(T));
    return p;
  }
  int32_t* ints(const std::vector<int32_t>& host) {
    auto* p = static_cast<int32_t*>(own(host.size() * sizeof(int32_t)));
    ops_.upload(p, host.data(), host.size() * sizeof(int32_t));
    return p;
  }
  // One plain value in backend memory (the per-step values of ops.h).
  template <typename V>
  const V* value(const V& host) {
    auto* p = static_cast<V*>(own(sizeof(V)));
    ops_.upload(p, &host, sizeof(V));
    return p;
  }
  std::vector<double> read(const T* p, size_t n) {
    std::vector<T> host(n);
    ops_.download(host.data(), p, n * sizeof(T));
    return std::vector<double>(host.begin(), host.end());
  }
  std::vector<int32_t> read_ints(const int32_t* p, size_t n) {
    std::vector<int32_t> host(n);
    ops_.download(host.data(), p, n * sizeof(int32_t));
    return host;
  }

 private:
  void* own(size_t bytes) {
    void* p = ops_.alloc(bytes);
    owned_.push_back(p);
    return p;
  }
  Ops<T>& ops_;
  std::vector<void*> owned_;
};

// Runs fn.template operator()<T>(info, args) for the requested precision.
template <typename Fn>
Napi::Value dispatch(const Napi::CallbackInfo& info, Fn fn) {
  const DType d = dtype_arg(info);
  const Napi::Object args = info[1].As<Napi::Object>();
  return d == DType::F32 ? fn.template operator()<float>(info.Env(), args)
                         : fn.template operator()<double>(info.Env(), args);
}

}  // namespace frnn::harness

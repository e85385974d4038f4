// buildInfo(), cudaProbe(), memoryLimits() and the test-only switches: what this addon was built
// with, whether its CUDA part can run here, and the machine facts the TypeScript layer judges by.
// Compiles in both builds; the CUDA parts only under FRNN_HAVE_CUDA (cmake-js with nvcc).
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#include "native/alloc_fault.h"
#include "native/cpu/decode.h"
#include "registry.h"

#ifdef FRNN_HAVE_CUDA
#include "cuda/cuda_backend.h"
#include "cuda/probe.h"
#endif

#ifndef FRNN_BUILD_SYSTEM
#define FRNN_BUILD_SYSTEM "unknown"
#endif

namespace frnn::binding {
namespace {

std::string compiler_text() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#elif defined(_MSC_VER)
  return "msvc " + std::to_string(_MSC_VER);
#else
  return "unknown";
#endif
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef FRNN_HAVE_CUDA
  o.Set("cuda", true);
  o.Set("cudaArchitectures", frnn::cuda::CompiledArchitectures());
  o.Set("cudaRuntimeVersion", frnn::cuda::CompiledRuntimeVersion());
#else
  o.Set("cuda", false);
  o.Set("cudaArchitectures", "");
  o.Set("cudaRuntimeVersion", 0);
#endif
  o.Set("napiVersion", NAPI_VERSION);  // what the addon was compiled for
  o.Set("runtimeNapiVersion", Napi::VersionManagement::GetNapiVersion(env));
  o.Set("buildSystem", FRNN_BUILD_SYSTEM);
  o.Set("compiler", compiler_text());
  o.Set("cplusplus", static_cast<double>(__cplusplus));
#ifdef NDEBUG
  o.Set("buildType", "Release");
#else
  o.Set("buildType", "Debug");
#endif
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  o.Set("exceptions", true);
#else
  o.Set("exceptions", false);
#endif
  return o;
}

Napi::Value CudaProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array devices = Napi::Array::New(env);
#ifdef FRNN_HAVE_CUDA
  const frnn::cuda::ProbeResult r = frnn::cuda::Probe();
  o.Set("ok", r.ok);
  o.Set("reason", r.reason);
  o.Set("errorCode", r.errorCode);
  o.Set("deviceCount", r.deviceCount);
  o.Set("driverVersion", r.driverVersion);
  o.Set("runtimeVersion", r.runtimeVersion);
  for (std::size_t i = 0; i < r.devices.size(); ++i) {
    const frnn::cuda::DeviceInfo& d = r.devices[i];
    Napi::Object od = Napi::Object::New(env);
    od.Set("name", d.name);
    od.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    od.Set("totalMemory", static_cast<double>(d.totalMemory));
    od.Set("multiProcessorCount", d.multiProcessorCount);
    od.Set("code", d.code);
    od.Set("kernelOk", d.kernelOk);
    if (!d.error.empty()) od.Set("error", d.error);
    devices.Set(static_cast<uint32_t>(i), od);
  }
#else
  o.Set("ok", false);
  o.Set("reason", "built without CUDA");
  o.Set("errorCode", 0);
  o.Set("deviceCount", 0);
  o.Set("driverVersion", 0);
  o.Set("runtimeVersion", 0);
#endif
  o.Set("devices", devices);
  return o;
}

Napi::Value CudaRecurrentStats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
#ifdef FRNN_HAVE_CUDA
  const frnn::cuda::RecurrentStats s = frnn::cuda::recurrent_stats();
#else
  struct {
    double persistent_forward = 0, persistent_backward = 0, stepwise_forward = 0, stepwise_backward = 0;
    double persistent_decode = 0, stepwise_decode = 0;
  } s;
#endif
  o.Set("persistentForward", static_cast<double>(s.persistent_forward));
  o.Set("persistentBackward", static_cast<double>(s.persistent_backward));
  o.Set("stepwiseForward", static_cast<double>(s.stepwise_forward));
  o.Set("stepwiseBackward", static_cast<double>(s.stepwise_backward));
  o.Set("persistentDecode", static_cast<double>(s.persistent_decode));
  o.Set("stepwiseDecode", static_cast<double>(s.stepwise_decode));
  return o;
}

// The machine's memory limits in bytes (facts; lib/memory-budget.ts turns them into a budget and
// its messages): physical memory, the cgroup's limit (v2 memory.max or v1), RLIMIT_AS.
// Infinity where there is none or it cannot be read.
double cgroup_limit() {
#ifdef __linux__
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream f(path);
    std::string text;
    if (f >> text) {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() && v > 0 && v < 9.0e18) return v;  // "max" and v1's huge sentinel: none
    }
  }
#endif
  return std::numeric_limits<double>::infinity();
}

Napi::Value MemoryLimits(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  const double inf = std::numeric_limits<double>::infinity();
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  o.Set("physical", pages > 0 && page > 0 ? static_cast<double>(pages) * page : inf);
  o.Set("cgroup", cgroup_limit());
  struct rlimit as {};
  o.Set("addressSpace", getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY ? static_cast<double>(as.rlim_cur) : inf);
  double device_memory = inf;  // no CUDA in this build, or no device asked about
#ifdef FRNN_HAVE_CUDA
  if (info.Length() > 0 && info[0].IsNumber()) {
    const int64_t device = info[0].As<Napi::Number>().Int64Value();
    const std::size_t total = device >= 0 && device < 1024 ? frnn::cuda::DeviceMemory(static_cast<int>(device)) : 0;
    if (total > 0) device_memory = static_cast<double>(total);
  }
#endif
  o.Set("deviceMemory", device_memory);
  return o;
}

// testing.<arm>(n) arms an injected failure (alloc_fault.h) at the n-th event from now; 0 disarms.
// testing.<left>() is what is left of it (0: it fired, or was never armed). Three of them: the
// allocations (failAllocation / allocationCountdown), the CPU pool's tasks (failPoolTask /
// poolTaskCountdown) and thread starts (failThreadStart / threadStartCountdown).
template <std::atomic<long>& (*countdown)()>
void set_injection(Napi::Object t, const char* arm, const char* left) {
  const Napi::Env env = t.Env();
  const std::string usage = std::string(arm) + "(n): n must be a number";
  t.Set(arm, Napi::Function::New(env, [usage](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), usage);
    countdown().store(info[0].As<Napi::Number>().Int64Value());
    return info.Env().Undefined();
  }));
  t.Set(left, Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(countdown().load()));
  }));
}

Napi::Object Testing(Napi::Env env) {
  Napi::Object t = Napi::Object::New(env);
  set_injection<frnn::injected_alloc_countdown>(t, "failAllocation", "allocationCountdown");
  set_injection<frnn::injected_task_countdown>(t, "failPoolTask", "poolTaskCountdown");
  set_injection<frnn::injected_thread_start_countdown>(t, "failThreadStart", "threadStartCountdown");
  t.Set("cpuDecodeMembers", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() < -1)
      throw Napi::TypeError::New(info.Env(), "cpuDecodeMembers(n): n must be -1 (by the work), 0 (off) or a member count");
    frnn::cpu::decode_members().store(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }));
  return t;
}

}  // namespace

void RegisterBuildInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("testing", Testing(env));
  exports.Set("memoryLimits", Napi::Function::New(env, MemoryLimits, "memoryLimits"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("cudaProbe", Napi::Function::New(env, CudaProbe, "cudaProbe"));
  exports.Set("cudaRecurrentStats", Napi::Function::New(env, CudaRecurrentStats, "cudaRecurrentStats"));
}

}  // namespace frnn::binding

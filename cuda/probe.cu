// CUDA device probe: which devices there are, whether this build has code for them, and whether a
// kernel really runs (writes a known value that is copied back and checked). Every CUDA error is
// turned into a one-line reason; nothing here throws or aborts. The loader (lib/native.ts) uses
// it to decide between the CUDA and the CPU addon.
#include "probe.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef FRNN_CUDA_ARCHS
#define FRNN_CUDA_ARCHS "unknown"
#endif

namespace frnn::cuda {
namespace {

constexpr unsigned kProbeSeed = 0x5EEDF00Du;
constexpr int kProbeThreads = 64;

__global__ void probe_kernel(unsigned* out, unsigned seed) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = seed ^ (i * 2654435761u);
}

std::string err_text(const char* what, cudaError_t e) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s: %s (%s, %d)", what, cudaGetErrorString(e), cudaGetErrorName(e),
                static_cast<int>(e));
  return buf;
}

std::string version_text(int v) {  // 13000 -> "13.0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d.%d", v / 1000, (v % 1000) / 10);
  return buf;
}

// "sass", "ptx" or "none" for a device of compute capability major.minor, from the arch list.
std::string code_for(int major, int minor) {
  const int cc = major * 10 + minor;
  bool sass = false, ptx = false;
  const char* p = FRNN_CUDA_ARCHS;
  while (*p) {
    while (*p == ',' || *p == ';' || *p == ' ') ++p;
    if (!*p) break;
    const char* start = p;
    while (*p && *p != ',' && *p != ';' && *p != ' ') ++p;
    std::string tok(start, p);
    const int arch = std::atoi(tok.c_str());
    if (arch <= 0) continue;  // "unknown", "native", ...
    // "90a"/"100f": arch-specific code, which runs only on that exact compute capability here.
    const std::size_t suffix = tok.find_first_not_of("0123456789");
    const bool specific = suffix != std::string::npos && (tok[suffix] == 'a' || tok[suffix] == 'f');
    const bool is_real = tok.find("-virtual") == std::string::npos;
    const bool is_virtual = tok.find("-real") == std::string::npos;
    if (is_real && (specific ? arch == cc : (arch / 10 == major && arch % 10 <= minor))) sass = true;
    if (is_virtual && !specific && arch <= cc) ptx = true;
  }
  return sass ? "sass" : ptx ? "ptx" : "none";
}

// Runs the probe kernel on the current device; "" on success, else the reason.
std::string run_probe_kernel() {
  unsigned* d = nullptr;
  cudaError_t e = cudaMalloc(&d, kProbeThreads * sizeof(unsigned));
  if (e != cudaSuccess) return err_text("cudaMalloc", e);
  std::string why;
  unsigned host[kProbeThreads];
  std::memset(host, 0, sizeof host);
  probe_kernel<<<1, kProbeThreads>>>(d, kProbeSeed);
  if ((e = cudaGetLastError()) != cudaSuccess) {
    why = err_text("probe kernel launch", e);
  } else if ((e = cudaDeviceSynchronize()) != cudaSuccess) {
    why = err_text("probe kernel", e);
  } else if ((e = cudaMemcpy(host, d, sizeof host, cudaMemcpyDeviceToHost)) != cudaSuccess) {
    why = err_text("cudaMemcpy", e);
  } else {
    for (unsigned i = 0; i < kProbeThreads; ++i) {
      if (host[i] != (kProbeSeed ^ (i * 2654435761u))) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "probe kernel wrote 0x%08x at %u, expected 0x%08x", host[i], i,
                      kProbeSeed ^ (i * 2654435761u));
        why = buf;
        break;
      }
    }
  }
  cudaFree(d);
  cudaGetLastError();  // clear a non-sticky error so later calls start clean
  return why;
}

}  // namespace

const char* CompiledArchitectures() { return FRNN_CUDA_ARCHS; }

std::size_t DeviceMemory(int device) {
  int previous = 0;
  const bool restore = cudaGetDevice(&previous) == cudaSuccess;
  std::size_t free = 0, total = 0;
  if (cudaSetDevice(device) != cudaSuccess || cudaMemGetInfo(&free, &total) != cudaSuccess) total = 0;
  if (restore) cudaSetDevice(previous);
  cudaGetLastError();
  return total;
}
int CompiledRuntimeVersion() { return CUDART_VERSION; }

ProbeResult Probe() {
  ProbeResult r;
  cudaDriverGetVersion(&r.driverVersion);    // 0 (and success) when libcuda.so.1 is absent
  cudaRuntimeGetVersion(&r.runtimeVersion);

  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    r.errorCode = static_cast<int>(e);
    cudaGetLastError();
    if (e == cudaErrorInsufficientDriver && r.driverVersion == 0) {
      r.reason = "no NVIDIA driver: libcuda.so.1 could not be loaded (" + err_text("cudaGetDeviceCount", e) + ")";
    } else if (e == cudaErrorInsufficientDriver) {
      r.reason = "NVIDIA driver too old: it supports CUDA " + version_text(r.driverVersion) +
                 ", this build needs CUDA " + version_text(r.runtimeVersion) + " (" +
                 err_text("cudaGetDeviceCount", e) + ")";
    } else if (e == cudaErrorNoDevice) {
      r.reason = "no CUDA device found (" + err_text("cudaGetDeviceCount", e) + ")";
    } else {
      r.reason = err_text("cudaGetDeviceCount", e);
    }
    return r;
  }
  r.deviceCount = count;
  if (count <= 0) {
    r.reason = "no CUDA device found (cudaGetDeviceCount returned 0)";
    return r;
  }

  int previous = 0;
  const bool restore = cudaGetDevice(&previous) == cudaSuccess;
  for (int dev = 0; dev < count; ++dev) {
    DeviceInfo info;
    cudaDeviceProp prop;
    std::memset(&prop, 0, sizeof prop);
    if ((e = cudaGetDeviceProperties(&prop, dev)) != cudaSuccess) {
      info.error = err_text("cudaGetDeviceProperties", e);
    } else {
      info.name = prop.name;
      info.major = prop.major;
      info.minor = prop.minor;
      info.totalMemory = prop.totalGlobalMem;
      info.multiProcessorCount = prop.multiProcessorCount;
      info.code = code_for(prop.major, prop.minor);
      if (info.code == "none") {
        info.error = "this build has no code for compute capability " + std::to_string(prop.major) + "." +
                     std::to_string(prop.minor) + " (built for " + FRNN_CUDA_ARCHS + ")";
      } else if (dev != 0) {
        // Only device 0 is used; running the kernel would create a context (hundreds of MB) on
        // every GPU of the machine.
        info.error = "not probed (only device 0 is used)";
      } else if ((e = cudaSetDevice(dev)) != cudaSuccess) {
        info.error = err_text("cudaSetDevice", e);
      } else {
        info.error = run_probe_kernel();
        info.kernelOk = info.error.empty();
      }
    }
    if (e != cudaSuccess && r.errorCode == 0) r.errorCode = static_cast<int>(e);
    r.devices.push_back(std::move(info));
  }
  if (restore) cudaSetDevice(previous);
  cudaGetLastError();

  const DeviceInfo& d0 = r.devices[0];
  r.ok = d0.kernelOk;
  if (r.ok) {
    r.reason = "device 0: " + d0.name + ", compute capability " + std::to_string(d0.major) + "." +
               std::to_string(d0.minor) + " (" + d0.code + "), driver CUDA " + version_text(r.driverVersion) +
               ", runtime " + version_text(r.runtimeVersion);
  } else {
    r.reason = "device 0 (" + (d0.name.empty() ? std::string("?") : d0.name) + "): " + d0.error;
  }
  return r;
}

}  // namespace frnn::cuda

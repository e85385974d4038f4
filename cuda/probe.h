// Plain C++ interface to the CUDA device probe (cuda/probe.cu). No CUDA headers here, so the
// binding (compiled by the host compiler) can include it. Only compiled when FRNN_HAVE_CUDA.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace frnn::cuda {

struct DeviceInfo {
  std::string name;
  int major = 0;               // compute capability major.minor
  int minor = 0;
  std::size_t totalMemory = 0; // bytes
  int multiProcessorCount = 0;
  // Which code of this build the device can run: "sass" (a real arch of the same major with a
  // minor <= the device's), "ptx" (JIT from a virtual arch <= the device's), or "none".
  std::string code;
  bool kernelOk = false;       // the probe kernel ran and wrote the expected value (device 0 only)
  std::string error;           // why kernelOk is false ("" when it is true)
};

struct ProbeResult {
  bool ok = false;             // device 0 exists, has code and ran the probe kernel
  std::string reason;          // one line: why ok is false, or a short summary when it is true
  int errorCode = 0;           // first cudaError_t met (0 when none)
  int deviceCount = 0;
  int driverVersion = 0;       // cudaDriverGetVersion: 0 when no driver is loadable
  int runtimeVersion = 0;      // cudaRuntimeGetVersion (static cudart linked in)
  std::vector<DeviceInfo> devices;
};

// Queries all devices and runs a tiny kernel on device 0 (the one the backend uses). Never
// throws and never aborts: every CUDA error becomes `reason`. Restores the calling thread's
// current device.
ProbeResult Probe();

// cudaMemGetInfo's total bytes of `device` (the memory budget of a model there); 0 when it cannot be
// read. Restores the calling thread's current device; never throws.
std::size_t DeviceMemory(int device);

// The architectures this build carries, as CMake wrote them, e.g. "75-real,80-real,90-real,90-virtual".
const char* CompiledArchitectures();

// CUDART_VERSION the code was compiled against, e.g. 13000.
int CompiledRuntimeVersion();

}  // namespace frnn::cuda

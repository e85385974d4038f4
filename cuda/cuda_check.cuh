// CUDA error handling for the backend: every failed runtime call or launch becomes a
// std::runtime_error carrying CUDA's own message (the binding turns it into a JS Error).
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace frnn::cuda {

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* what) {
  // Clear a non-sticky error so the next call on this model starts clean; a sticky one (an
  // illegal address) poisons the context and every later call reports it again.
  cudaGetLastError();
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e) + " (" +
                           cudaGetErrorName(e) + ")");
}

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw_cuda(e, what);
}

// After a launch: configuration errors surface here, execution errors at the next sync.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline unsigned blocks_for(size_t n, unsigned threads, unsigned cap = 65535u * 8u) {
  const size_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > cap ? cap : b));
}

}  // namespace frnn::cuda

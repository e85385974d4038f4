// What the persistent kernels (rnn_persistent.cu, decode.cu) share on the host side: the path the
// user asked for (FUSEDRNN_CUDA_RECURRENT), the barrier's bounds (grid_sync.cuh), the launch
// counters behind recurrent_stats(), and the "launch only if every block can be resident" rule.
// Included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda_check.cuh"
#include "grid_sync.cuh"
#include "kernels.cuh"

namespace frnn::cuda {

enum class Path { Auto, Persistent, Stepwise };

// Read on every call, so a test (or a user) can switch paths between calls of one process.
inline Path requested_path() {
  const char* env = std::getenv("FUSEDRNN_CUDA_RECURRENT");
  if (!env || !*env || std::strcmp(env, "auto") == 0) return Path::Auto;
  if (std::strcmp(env, "persistent") == 0) return Path::Persistent;
  if (std::strcmp(env, "stepwise") == 0) return Path::Stepwise;
  throw std::invalid_argument(std::string("FUSEDRNN_CUDA_RECURRENT must be 'auto', 'persistent' or 'stepwise', got '") +
                              env + "'");
}

// The barrier of one launch over `counter` (zeroed by the caller) raising `fault`.
inline GridSync make_grid_sync(unsigned* counter, int* fault) {
  unsigned long long timeout_ms = 10000;  // a real step takes microseconds; sanitizers, milliseconds
  if (const char* env = std::getenv("FUSEDRNN_CUDA_BARRIER_TIMEOUT_MS")) timeout_ms = std::strtoull(env, nullptr, 10);
  int skip = -1;  // fault injection for the tests: this block never arrives
  if (const char* env = std::getenv("FUSEDRNN_TEST_BARRIER_SKIP_BLOCK")) skip = std::atoi(env);
  return GridSync{counter, fault, timeout_ms * 1000000ull, skip};
}

// recurrent_stats() slots (cuda_backend.h), counted in rnn_persistent.cu.
enum class StatSlot : int { PersistentForward, PersistentBackward, StepwiseForward, StepwiseBackward, PersistentDecode, StepwiseDecode };
void count_launch(StatSlot slot);

inline int smem_optin_limit() {
  int device = 0, limit = 0;
  cudaGetDevice(&device);
  if (cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) limit = 48 * 1024;
  return limit;
}

inline bool cooperative_supported() {
  int device = 0, ok = 0;
  cudaGetDevice(&device);
  return cudaDeviceGetAttribute(&ok, cudaDevAttrCooperativeLaunch, device) == cudaSuccess && ok != 0;
}

// Blocks of `kernel` (`threads` each, `smem` dynamic bytes) that fit on one multiprocessor of the
// current device; 0 when smem exceeds what a block may have. Cached per (kernel, threads, smem,
// device): the driver queries cost microseconds, a launch less.
int resident_blocks_per_sm(const void* kernel, int threads, size_t smem);

// Zeroes the barrier's counter and abort word (grid_sync.cuh) before a launch.
inline void reset_grid_sync(unsigned* counter, cudaStream_t stream) {
  check(cudaMemsetAsync(counter, 0, kGridSyncWords * sizeof(unsigned), stream), "cudaMemsetAsync(barrier counter)");
}

// Launches kernel over `grid` × `threads` when its blocks can all be resident; false (nothing
// launched) when not.
template <class... Args>
bool launch_if_resident(void (*kernel)(Args...), dim3 grid, int threads, size_t smem, cudaStream_t stream, Args... args) {
  const int per_sm = resident_blocks_per_sm(reinterpret_cast<const void*>(kernel), threads, smem);
  if (static_cast<long>(per_sm) * multiprocessor_count() < static_cast<long>(grid.x) * grid.y) return false;
  const cudaError_t e = launch_cooperative(kernel, grid, dim3(threads), smem, stream, args...);
  if (e == cudaErrorCooperativeLaunchTooLarge) {  // another context holds part of the GPU
    cudaGetLastError();
    return false;
  }
  check(e, "cudaLaunchCooperativeKernel(persistent)");
  return true;
}

}  // namespace frnn::cuda

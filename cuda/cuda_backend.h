// Plain C++ entry to the CUDA backend (no CUDA headers, so host-compiled code can include it).
// Only compiled when FRNN_HAVE_CUDA.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "../native/ops.h"

namespace frnn::cuda {

// What a CUDA Ops instance runs on, for Model.info().
struct BackendDescription {
  int device = 0;
  std::string name;
  int major = 0, minor = 0;
  size_t total_memory = 0;
  int driver_version = 0, runtime_version = 0;
  bool tf32 = false;  // the precision in effect: TF32 tensor cores need sm_80+, else exact fp32
};

// fp32 ops on `device`, one stream, pooled stream-ordered allocations. tf32: big GEMMs on TF32
// tensor cores (fp32 accumulate) when the device has them; false = exact fp32 everywhere.
// Throws std::runtime_error with CUDA's message when the device cannot be used.
std::unique_ptr<Ops<float>> make_cuda_ops(int device, bool tf32);

// The description of ops made by make_cuda_ops (nullptr-safe: throws std::invalid_argument for
// other backends).
BackendDescription describe(const Ops<float>& ops);

// How often the recurrent layers ran their time loop in one persistent launch or step by step,
// since the process started (all devices): tests check that a path they mean to cover ran.
// Generation (Ops::decode): persistent_decode counts decoder launches (one per ≤ 256 characters),
// stepwise_decode the decode calls that left their characters to the per-character loop.
struct RecurrentStats {
  uint64_t persistent_forward = 0, persistent_backward = 0, stepwise_forward = 0, stepwise_backward = 0;
  uint64_t persistent_decode = 0, stepwise_decode = 0;
};
RecurrentStats recurrent_stats();

}  // namespace frnn::cuda

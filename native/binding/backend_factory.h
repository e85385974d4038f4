// Choosing and describing a backend: the one place besides the backends themselves (and the op
// harness) that knows them. The executor (native/net/) sees only the Ops interface.
#pragma once

#include <memory>
#include <string>

#include "../net/network.h"

namespace frnn {

// Where a network runs. device and tf32 matter to the "cuda" backend only.
struct BackendOptions {
  int device = 0;
  bool tf32 = false;  // TF32 tensor cores for the large GEMMs (as PyTorch); false = exact fp32
  // false: leave the parameters zero (a checkpoint is about to overwrite them all), skipping the
  // initializers (the orthogonal blocks cost seconds at H = 1024).
  bool initialize = false;
};

// What the backend reports in Model.info() (empty/zero fields for the CPU).
struct BackendDetails {
  int device = -1;
  std::string device_name;
  int cc_major = 0, cc_minor = 0;
  size_t total_memory = 0;
  int driver_version = 0, runtime_version = 0;
  std::string precision;  // "fp64", "fp32", "tf32"
  CaptureStats graphs;    // training steps captured / replayed as CUDA graphs (zeros on the CPU)
};

// backend "cpu" (dtype "float32" or "float64") or "cuda" ("float32"); cfg must have passed
// NetworkConfig::validate().
std::unique_ptr<Network> make_network(const NetworkConfig& cfg, const std::string& backend,
                                      const std::string& dtype, const BackendOptions& options);

// net must come from make_network.
BackendDetails backend_details(const Network& net);

}  // namespace frnn

// How a backend factory builds the executor over its Ops: the only entry to the executor besides
// network.h, so the executor never names a backend.
#pragma once

#include <memory>

#include "../ops.h"
#include "network.h"
#include "network_params.h"

namespace frnn {

struct ExecutorOptions {
  // false: leave the parameters zero (a checkpoint is about to overwrite them all), skipping the
  // initializers (the orthogonal blocks cost seconds at H = 1024).
  bool initialize = true;
  // Runs the initializer's independent blocks; the factory passes the CPU thread pool's.
  ParallelFor parallel_for = run_serially;
};

// A network over `ops` (dtype: the name Network::dtype() reports). cfg must have passed
// NetworkConfig::validate(): the executor checks no config.
template <typename Real>
std::unique_ptr<Network> make_executor(const NetworkConfig& cfg, std::unique_ptr<Ops<Real>> ops, const char* dtype,
                                       const ExecutorOptions& options);

// The ops a network from make_executor<Real> runs on (for describing its device); nullptr when it
// runs on another Real.
template <typename Real>
const Ops<Real>* executor_ops(const Network& net);

}  // namespace frnn

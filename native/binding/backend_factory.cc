#include "backend_factory.h"

#include "../cpu/cpu_ops.h"
#include "../cpu/thread_pool.h"
#include "../errors.h"
#include "../net/executor.h"
#ifdef FRNN_HAVE_CUDA
#include "../../cuda/cuda_backend.h"
#endif

namespace frnn {

namespace {

ExecutorOptions executor_options(const BackendOptions& options) {
  ExecutorOptions e;
  e.initialize = options.initialize;
  // Host work on either backend: the initializer's orthogonal blocks run across the CPU's pool.
  e.parallel_for = static_cast<ParallelFor>(&cpu::parallel_for);
  return e;
}

}  // namespace

std::unique_ptr<Network> make_network(const NetworkConfig& cfg, const std::string& backend,
                                      const std::string& dtype, const BackendOptions& options) {
  if (dtype != "float32" && dtype != "float64")
    range_error("dtype must be 'float32' or 'float64', got '" + dtype + "'");
  if (backend == "cuda") {
#ifdef FRNN_HAVE_CUDA
    if (dtype != "float32") range_error("dtype must be 'float32' on the 'cuda' backend, got '" + dtype + "'");
    if (options.device < 0) range_error("device must be a non-negative integer, got " + std::to_string(options.device));
    return make_executor<float>(cfg, cuda::make_cuda_ops(options.device, options.tf32), "float32",
                                executor_options(options));
#else
    range_error("backend 'cuda' is not available: this build of fusedrnn has no CUDA part (built without nvcc)");
#endif
  }
  if (backend != "cpu") range_error("backend must be 'cpu' or 'cuda', got '" + backend + "'");
  if (dtype == "float32")
    return make_executor<float>(cfg, std::make_unique<CpuOps<float>>(), "float32", executor_options(options));
  return make_executor<double>(cfg, std::make_unique<CpuOps<double>>(), "float64", executor_options(options));
}

BackendDetails backend_details(const Network& net) {
  BackendDetails d;
  if (const Ops<double>* ops = executor_ops<double>(net)) {
    d.precision = "fp64";
    d.graphs = ops->capture_stats();
    return d;
  }
  const Ops<float>* ops = executor_ops<float>(net);
  if (ops == nullptr) internal_error("backend_details: the network was not made by make_network");
  d.precision = "fp32";
  d.graphs = ops->capture_stats();
#ifdef FRNN_HAVE_CUDA
  if (std::string(ops->name()) == "cuda") {
    const cuda::BackendDescription c = cuda::describe(*ops);
    d.device = c.device;
    d.device_name = c.name;
    d.cc_major = c.major, d.cc_minor = c.minor;
    d.total_memory = c.total_memory;
    d.driver_version = c.driver_version, d.runtime_version = c.runtime_version;
    d.precision = c.tf32 ? "tf32" : "fp32";
  }
#endif
  return d;
}

}  // namespace frnn

// The executor's entry points (make_executor), its parameters by name and its training state
// (checkpoints).
#include "network_impl.h"

#include "../errors.h"

namespace frnn {

template <typename Real>
std::vector<double> NetworkImpl<Real>::get_param(const std::string& name) {
  const ParamInfo& p = find_param(name);
  return download_floats(params_ + p.offset, p.size);
}

template <typename Real>
Network::TrainingState NetworkImpl<Real>::export_training_state() {
  TrainingState s;
  s.params = download_floats(params_, layout_.total);
  s.m = download_floats(m_, layout_.total);
  s.v = download_floats(v_, layout_.total);
  s.step = step_;
  s.rng_counter = rng_counter_;
  return s;
}

template <typename Real>
void NetworkImpl<Real>::import_training_state(const TrainingState& s) {
  // lib/ checks the sizes and values first (lib/model-checks.ts); the sizes guard the uploads.
  for (const auto* arena : {&s.params, &s.m, &s.v})
    if (arena->size() != layout_.total)
      internal_error("training state arenas must have " + std::to_string(layout_.total) + " elements");
  ++params_version_;
  upload_floats(params_, s.params);
  upload_floats(m_, s.m);
  upload_floats(v_, s.v);
  step_ = s.step;
  rng_counter_ = s.rng_counter;
}

template <typename Real>
std::vector<double> NetworkImpl<Real>::get_grad(const std::string& name) {
  const ParamInfo& p = find_param(name);
  return download_floats(grads_ + p.offset, p.size);
}

template <typename Real>
void NetworkImpl<Real>::set_param(const std::string& name, const std::vector<double>& values) {
  const ParamInfo& p = find_param(name);
  if (values.size() != p.size)
    internal_error("values for '" + name + "' must have " + std::to_string(p.size) + " elements, got " +
                std::to_string(values.size()));
  ++params_version_;
  upload_floats(params_ + p.offset, values);
}

template <typename Real>
const ParamInfo& NetworkImpl<Real>::find_param(const std::string& name) const {
  for (const ParamInfo& p : layout_.params)
    if (p.name == name) return p;
  internal_error("no parameter named '" + name + "'");
}

template <typename Real>
std::unique_ptr<Network> make_executor(const NetworkConfig& cfg, std::unique_ptr<Ops<Real>> ops, const char* dtype,
                                       const ExecutorOptions& options) {
  return std::make_unique<NetworkImpl<Real>>(cfg, std::move(ops), dtype, options);
}

template <typename Real>
const Ops<Real>* executor_ops(const Network& net) {
  const auto* impl = dynamic_cast<const NetworkImpl<Real>*>(&net);
  return impl != nullptr ? &impl->ops() : nullptr;
}

// The class here (its vtable, and the members defined in this file); the other files instantiate
// the members they define.
template class NetworkImpl<float>;
template class NetworkImpl<double>;
template std::unique_ptr<Network> make_executor(const NetworkConfig&, std::unique_ptr<Ops<float>>, const char*,
                                                const ExecutorOptions&);
template std::unique_ptr<Network> make_executor(const NetworkConfig&, std::unique_ptr<Ops<double>>, const char*,
                                                const ExecutorOptions&);
template const Ops<float>* executor_ops(const Network&);
template const Ops<double>* executor_ops(const Network&);

}  // namespace frnn

// The network executor (network.h), written once against Ops<Real>: one class template whose
// members are defined by job in the .cc files beside this header, each instantiating its own
// for float and double:
//   network_impl.cc   construction, parameters by name, the training state (checkpoints), make_executor
//   batch.cc          a batch's upload into the activations of its shape, and their allocation plan
//   step.cc           train_step, encode / train_from_state_grad, evaluate, predict, the step block
//   forward.cc        input, recurrent stack, head, loss
//   backward.cc       the head's and the stack's backward
//   attention.cc      Luong attention over a batch's memory
//   sampled_softmax.cc  the sampled softmax loss of training steps
//   generation.cc     generate (token by token, or Ops::decode)
//   state.cc          the carried recurrent state and the state gradients
// It sees backends only through Ops<Real>; the binding's backend factory picks them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../ops.h"
#include "activations.h"
#include "executor.h"
#include "memory.h"
#include "network.h"
#include "network_params.h"

namespace frnn {

template <typename Real>
class NetworkImpl final : public Network {
 public:
  NetworkImpl(const NetworkConfig& cfg, std::unique_ptr<Ops<Real>> ops, const char* dtype, const ExecutorOptions& options)
      : cfg_(cfg), ops_(std::move(ops)), dtype_(dtype), mem_(*ops_, live_bytes_) {
    layout_ = plan_parameters(cfg_);
    const size_t n = layout_.total;
    params_ = mem_.floats(n);
    grads_ = mem_.floats(n);
    m_ = mem_.floats(n);
    v_ = mem_.floats(n);
    scalars_ = mem_.floats(4);
    allocate_step_block();
    if (options.initialize)  // else the zeros alloc gave
      upload_floats(params_, initial_parameters(cfg_, layout_, options.parallel_for));
    for (const RecurrentSpec& l : cfg_.layers) max_hidden_ = std::max(max_hidden_, l.hidden);
  }

  ~NetworkImpl() override { ops_->release_host(block_.host); }

  const Ops<Real>& ops() const { return *ops_; }
  const NetworkConfig& config() const override { return cfg_; }
  const char* backend() const override { return ops_->name(); }
  const char* dtype() const override { return dtype_; }
  const std::vector<ParamInfo>& params() const override { return layout_.params; }
  int64_t step() const override { return step_; }
  size_t native_bytes() const override { return live_bytes_ + ops_->derived_bytes(); }
  uint64_t rng_counter() const override { return rng_counter_; }

  // step.cc
  StepResult train_step(const Batch& batch, const TrainOptions& opts) override;
  Encoded encode(const Batch& batch, bool training) override;
  StepResult train_from_state_grad(const std::vector<std::vector<double>>& grad, const std::vector<double>& output_grad,
                                   const TrainOptions& opts) override;
  StepResult evaluate(const Batch& batch, bool use_state, bool keep_state) override;
  std::vector<double> predict(const Batch& batch, bool use_state, bool keep_state) override;

  // generation.cc
  std::vector<int32_t> generate(const std::vector<int32_t>& prime, int B, int P, int steps,
                                const SampleConfig& sc, uint64_t seed, GenerationState* carry,
                                const std::vector<double>& condition) override;

  // network_impl.cc
  std::vector<double> get_param(const std::string& name) override;
  void set_param(const std::string& name, const std::vector<double>& values) override;
  std::vector<double> get_grad(const std::string& name) override;
  TrainingState export_training_state() override;
  void import_training_state(const TrainingState& s) override;

  // state.cc
  void reset_state() override;
  std::vector<std::vector<double>> get_state(int* batch) override;
  void set_state(int batch, const std::vector<std::vector<double>>& blocks) override;

  // batch.cc
  size_t activation_bytes(int B, int T) override;

 private:
  static constexpr const char* kConditionRequired =
      "batch.condition is required: the model is conditioned and the batch does not start from the carried state";

  struct StateBlock {
    Real* data;
    size_t size;
  };

  // ---- shapes and views (used by every part) ----
  int directions(size_t l) const { return cfg_.layers[l].bidirectional ? 2 : 1; }

  RnnShape layer_shape(size_t l, int B, int T, bool reverse) const {
    const RecurrentSpec& spec = cfg_.layers[l];
    RnnShape s;
    s.cell = spec.cell;
    s.B = B;
    s.T = T;
    s.I = l == 0 ? cfg_.input_width() : cfg_.layers[l - 1].hidden * directions(l - 1);
    s.H = spec.hidden;
    s.reverse = reverse;
    s.peephole = spec.peephole;
    s.reset_before = spec.reset_before;
    return s;
  }

  // Layer l, direction d's tensors inside an arena laid out like the parameters (params or grads).
  template <typename Views, typename Ptr>
  Views rnn_views(size_t l, int d, Ptr arena) const {
    const RecurrentOffsets& o = layout_.recurrent[l][d];
    Views v;
    v.w_ih = arena + o.w_ih;
    v.w_hh = arena + o.w_hh;
    v.b_ih = arena + o.b_ih;
    v.b_hh = arena + o.b_hh;
    v.peephole = cfg_.layers[l].peephole ? arena + o.peephole : nullptr;
    return v;
  }
  RnnParams<Real> rnn_params(size_t l, int d) const {
    return rnn_views<RnnParams<Real>>(l, d, static_cast<const Real*>(params_));
  }
  RnnParamGrads<Real> rnn_grads(size_t l, int d) const { return rnn_views<RnnParamGrads<Real>>(l, d, grads_); }

  int stack_width() const { return cfg_.layers.back().hidden * directions(cfg_.layers.size() - 1); }
  // Input width of dense layer k.
  int head_width(size_t k) const { return k == 0 ? stack_width() : cfg_.dense[k - 1].units; }

  // What layer l handed to the next layer in the forward pass.
  // (Only asked for layers below the last, whose output always feeds a sequence.)
  const Real* layer_output(Activations<Real>& a, size_t l) const {
    return cfg_.layers[l].dropout_output > 0 ? a.layers[l].y_dropped : a.layers[l].y;
  }

  // Whether layer l's output dropout applies to its whole sequence output (it feeds the next
  // layer, or the head reads every step); the last layer's otherwise applies to the head's input.
  bool sequence_output_dropout(size_t l) const {
    return cfg_.layers[l].dropout_output > 0 && (cfg_.return_sequences || l + 1 < cfg_.layers.size());
  }

  template <typename Host>
  void upload_floats(Real* dst, const std::vector<Host>& host) {
    if constexpr (std::is_same_v<Real, Host>) {
      ops_->upload(dst, host.data(), host.size() * sizeof(Real));  // already the model's precision
    } else {
      std::vector<Real> conv(host.begin(), host.end());
      ops_->upload(dst, conv.data(), conv.size() * sizeof(Real));
    }
  }
  void upload_floats(Real* dst, const HostFloats& host) {
    if (host.f32.empty()) upload_floats(dst, host.f64);
    else upload_floats(dst, host.f32);
  }
  std::vector<double> download_floats(const Real* src, size_t n) {
    std::vector<Real> host(n);
    ops_->download(host.data(), src, n * sizeof(Real));
    return std::vector<double>(host.begin(), host.end());
  }

  // network_impl.cc
  const ParamInfo& find_param(const std::string& name) const;

  // ---- batch.cc ----
  Activations<Real>& prepare(const Batch& batch);
  Activations<Real>& shape_for(int B, int T);
  void allocate(Activations<Real>& a, int B, int T) { allocate(a, B, T, Memory<Real>::Mode::Allocate, live_bytes_); }
  void allocate(Activations<Real>& a, int B, int T, typename Memory<Real>::Mode mode, size_t& counter);

  // ---- step.cc ----
  StepResult train_prepared(Activations<Real>& a, const Batch& batch, const TrainOptions& opts);
  void enqueue_update();
  void set_update_values(const TrainOptions& opts);
  StepResult finish_step(Activations<Real>& a, const Batch& batch, const TrainOptions& opts, bool keep_state,
                         std::vector<std::vector<double>> state_grad);
  StepResult read_result(const Batch&);
  void allocate_step_block();
  void plan_dropout(const Activations<Real>& a);
  uint64_t step_key(const Activations<Real>& a, const TrainOptions& opts) const;

  uint64_t take_counters(size_t n) {
    const uint64_t at = rng_counter_;
    rng_counter_ += n;
    return at;
  }
  const uint64_t* offset_slot(size_t slot) const {
    return reinterpret_cast<const uint64_t*>(block_.dev + block_.offsets_at) + slot;
  }
  void set_offset(size_t slot, uint64_t offset) {
    reinterpret_cast<uint64_t*>(block_.host + block_.offsets_at)[slot] = offset;
  }
  // Before the host writes the block: an upload from it may still be pending (an earlier call
  // that threw before its download).
  void begin_step_block() {
    if (block_.pending) ops_->synchronize();
    block_.pending = false;
  }
  void upload_step_block() { ops_->upload(block_.dev, block_.host, block_.bytes); }

  // ---- forward.cc ----
  void run_input(Activations<Real>& a);
  void forward(Activations<Real>& a, bool training, bool use_state);
  void run_condition(Activations<Real>& a);
  const Real* run_head(Activations<Real>& a, const Real* x, int rows, bool skip_output = false);
  void loss(Activations<Real>& a, bool with_grad);

  // A carried state wins over the condition: the condition starts sequences, the carried state
  // continues them.
  std::pair<const Real*, const Real*> initial_state(Activations<Real>& a, size_t l, int d, bool use_state) {
    if (use_state) return state_of(l, d);
    const Real* h0 = cfg_.condition > 0 ? a.layers[l].dir[d].h0 : a.zero_state;
    return {h0, cfg_.layers[l].cell == Cell::LSTM ? a.zero_state : nullptr};
  }

  // ---- backward.cc ----
  void backward(Activations<Real>& a);
  void backward_layers(Activations<Real>& a, bool top_dy, bool inject_final);

  // ---- attention.cc ----
  void upload_memory(Activations<Real>& a, const Batch& batch);
  const Real* run_attention(Activations<Real>& a, const Real* x);
  void attention_backward(Activations<Real>& a);

  // ---- sampled_softmax.cc ----
  void plan_sampled();
  void sampled_loss(Activations<Real>& a);
  void sampled_backward(Activations<Real>& a, const Real* x, Real* dx);

  // ---- generation.cc ----
  DecodeSpec<Real> decode_spec(int B, const std::vector<Real*>& h, const std::vector<Real*>& c) const;
  void load_generation_state(const GenerationState& g, int B, const std::vector<Real*>& h,
                             const std::vector<Real*>& c);

  // ---- state.cc ----
  std::vector<size_t> state_block_sizes(int B) const;
  void allocate_state(int B);
  void keep_final_state(Activations<Real>& a);
  std::vector<std::vector<double>> download_state_blocks(Activations<Real>& a, bool gradients);
  void upload_state_grad(Activations<Real>& a, const std::vector<std::vector<double>>& blocks);

  // The carried state blocks of layer l, direction d: {h, c (LSTM) or nullptr}.
  std::pair<Real*, Real*> state_of(size_t l, int d) {
    size_t i = 0;
    for (size_t k = 0; k < l; ++k) i += directions(k) * (cfg_.layers[k].cell == Cell::LSTM ? 2 : 1);
    const bool lstm = cfg_.layers[l].cell == Cell::LSTM;
    i += d * (lstm ? 2 : 1);
    return {state_[i].data, lstm ? state_[i + 1].data : nullptr};
  }

  // The carried state as a call found it: a call that changes it and then fails puts it back.
  struct StateSnapshot {
    std::vector<StateBlock> state, blocks;
    int batch, mem_batch;
    const Memory<Real>* mem;
  };

  template <class Call>
  auto keeping_state_on_failure(Call&& call) {
    const StateSnapshot saved{state_, state_blocks_, state_batch_, state_mem_batch_, state_mem_.get()};
    try {
      return call();
    } catch (...) {
      if (state_mem_.get() != saved.mem) {  // a new state was built: the retired one comes back
        ops_->drop_captured();
        state_mem_ = std::move(retired_state_mem_);
      }
      state_ = saved.state;
      state_blocks_ = saved.blocks;
      state_batch_ = saved.batch;
      state_mem_batch_ = saved.mem_batch;
      throw;
    }
  }

  NetworkConfig cfg_;
  std::unique_ptr<Ops<Real>> ops_;
  const char* dtype_;
  size_t live_bytes_ = 0;  // declared before every Memory so it outlives them
  Memory<Real> mem_;
  ParamLayout layout_;
  Real* params_ = nullptr;
  // Bumped before every write to params_, so derived forms of the weights (Ops::hold_weights) are
  // never used stale.
  uint64_t params_version_ = 0;

  // Holds the weights for one inference call; released on every exit, throws included.
  class HeldWeights {
   public:
    explicit HeldWeights(NetworkImpl& n, ProductPrecision products = ProductPrecision::Fp32) : ops_(*n.ops_) {
      ops_.hold_weights(n.params_, n.layout_.total, n.params_version_, products);
    }
    ~HeldWeights() { ops_.release_weights(); }
    HeldWeights(const HeldWeights&) = delete;
    HeldWeights& operator=(const HeldWeights&) = delete;

   private:
    Ops<Real>& ops_;
  };
  Real* grads_ = nullptr;
  Real* m_ = nullptr;
  Real* v_ = nullptr;
  Real* scalars_ = nullptr;  // loss, grad norm, clip scale, correct
  int max_hidden_ = 0;
  std::map<std::pair<int, int>, std::unique_ptr<Activations<Real>>> acts_;
  std::vector<StateBlock> state_;
  std::unique_ptr<Memory<Real>> state_mem_;
  std::unique_ptr<Memory<Real>> retired_state_mem_;  // the one state_mem_ replaced (allocate_state)
  std::vector<StateBlock> state_blocks_;  // state_mem_'s blocks, kept across reset_state
  int state_mem_batch_ = 0;
  // The step block (StepHeader above): host and backend copies and where its parts start.
  struct StepBlock {
    size_t bytes = 0, offsets_at = 0, samples_at = 0, log_expected_at = 0;
    unsigned char* host = nullptr;  // alloc_host
    unsigned char* dev = nullptr;
    bool pending = false;  // an upload from `host` may not have run yet
  } block_;
  int state_batch_ = 0;
  bool has_lengths_ = false, has_weights_ = false, state_used_ = false, has_condition_ = false;
  bool state_grad_wanted_ = false;
  bool sampled_step_ = false;  // this train step uses the sampled softmax
  Activations<Real>* encoded_ = nullptr;  // the last encode(training) awaiting train_from_state_grad
  double weight_sum_ = 0;
  const Real* head_input_ = nullptr;
  int64_t step_ = 0;
  uint64_t rng_counter_ = 0;
};

}  // namespace frnn

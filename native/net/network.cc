// The network executor (see network.h), written once against Ops<Real>.
#include "network.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <utility>

#include "../cpu/cpu_ops.h"
#include "../hash.h"
#ifdef FRNN_HAVE_CUDA
#include "../../cuda/cuda_backend.h"
#endif
#include "../errors.h"
#include "network_params.h"
#include "../philox.h"

namespace frnn {

namespace {

constexpr const char* kConditionRequired =
    "batch.condition is required: the model is conditioned and the batch does not start from the carried state";

// Backend memory for one Network, released with it; `live` counts the bytes held. A counting
// Memory allocates nothing and hands out null pointers: running an allocation plan through one
// measures it (activation_bytes) with the same code that performs it.
template <typename Real>
class Memory {
 public:
  enum class Mode { Allocate, Count };
  Memory(Ops<Real>& ops, size_t& live, Mode mode = Mode::Allocate) : ops_(ops), live_(live), mode_(mode) {}
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  ~Memory() {
    for (void* p : owned_) ops_.release(p);
    live_ -= held_;
  }
  Real* floats(size_t n) { return static_cast<Real*>(bytes(n * sizeof(Real))); }
  int32_t* ints(size_t n) { return static_cast<int32_t*>(bytes(n * sizeof(int32_t))); }
  size_t held() const { return held_; }

 private:
  void* bytes(size_t n) {
    if (mode_ == Mode::Count) {
      held_ += n;
      live_ += n;
      return nullptr;
    }
    owned_.reserve(owned_.size() + 1);  // so that recording the block cannot fail after it exists
    void* p = ops_.alloc(n);
    owned_.push_back(p);
    held_ += n;
    live_ += n;
    return p;
  }
  Ops<Real>& ops_;
  size_t& live_;
  const Mode mode_;
  size_t held_ = 0;
  std::vector<void*> owned_;
};

// Activations and their gradients for one (B, T), allocated once and reused by every step of
// that shape, so a training step allocates nothing.
template <typename Real>
struct Activations {
  struct Direction {
    Real* workspace = nullptr;
    Real* hN = nullptr;
    Real* cN = nullptr;
    Real* dhN = nullptr;  // last-step mode: the head's gradient for this direction's final state
    Real* h0 = nullptr;   // conditioned networks: tanh(W_c·condition + b_c) [B,H]
    Real* dh0 = nullptr;  // the gradient of the initial h (conditioned networks, state gradients)
    Real* dc0 = nullptr;  // and of the initial c (LSTM)
    Real* dcN = nullptr;  // an injected gradient of the final c (train_from_state_grad, LSTM)
  };
  struct Layer {
    int in_width = 0, out_width = 0;
    Real* x_dropped = nullptr;   // input after dropout (when dropout_input > 0)
    Real* y = nullptr;           // [B,T,D*H]
    Real* y_dropped = nullptr;   // output after dropout (when dropout_output > 0)
    Real* dy = nullptr;          // gradient of y
    Real* dx = nullptr;          // gradient of the layer's input
    Direction dir[2];
    // The step's dropout offsets: slots of the step block (backend memory), filled per step.
    const uint64_t* dropout_in_offset = nullptr;
    const uint64_t* dropout_out_offset = nullptr;
  };

  int B = 0, T_ = 0, rows = 0;
  std::unique_ptr<Memory<Real>> mem;
  int32_t* tokens = nullptr;
  int32_t* lengths = nullptr;
  int32_t* class_targets = nullptr;
  Real* value_targets = nullptr;
  Real* weights = nullptr;
  Real* x0 = nullptr;  // [B,T,I0]: embedded / one-hot / features
  std::vector<Layer> layers;
  Real* head_in = nullptr;          // last-step mode: [B, D*H]
  Real* head_in_dropped = nullptr;  // last-step mode with output dropout
  Real* dhead_in = nullptr;         // [rows, D*H]
  std::vector<Real*> z, dz;         // per dense layer [rows, units]
  Real* zero_state = nullptr;       // [B, max H]: the initial state when none is carried
  Real* condition = nullptr;        // [B, condition] (conditioned networks)
  // Sampled softmax (training): the step's S samples and their log expected counts (pointers
  // into the step block), the gathered output rows (Ws, bs: samples; Wt, bt: each row's target),
  // sample logits Ls [rows, S], the candidate logits [rows, 1+S] and their gradient, and backward
  // temporaries.
  struct Sampled {
    int32_t* samples = nullptr;
    int32_t* zero_targets = nullptr;  // the target is candidate 0 of every row
    Real *log_expected = nullptr, *Ws = nullptr, *bs = nullptr, *Wt = nullptr, *bt = nullptr, *Ls = nullptr;
    Real *logits = nullptr, *dlogits = nullptr, *dLs = nullptr, *dl0 = nullptr, *scaled = nullptr;
    Real *dWs = nullptr, *dbs = nullptr;
  } sampled;
  // Attention (decoders): the buffers hold memories of up to `capacity` steps (grown, never
  // shrunk, so bucketed batches of varying source lengths do not reallocate); S is the current one.
  struct Attention {
    int S = 0, capacity = 0;
    std::unique_ptr<Memory<Real>> mem;
    int32_t* lengths = nullptr;
    bool has_lengths = false;
    Real *memory = nullptr, *keys = nullptr, *alpha = nullptr, *context = nullptr, *concat = nullptr, *out = nullptr;
    Real *dconcat = nullptr, *dcontext = nullptr, *dkeys = nullptr, *dmemory = nullptr, *dmem_keys = nullptr;
    const Real* query = nullptr;  // the stack output it attended from (forward)
  } attention;
  const uint64_t* head_dropout_offset = nullptr;
};

// The values of one training step that change from step to step (ops.h, "per-step values"),
// laid out identically on the host (alloc_host) and in backend memory: the host fills them before
// the step and the step's first op copies them over, so a captured step replays with new ones.
// After the header: one dropout offset per slot (layer l's input 2l, output 2l+1; the head's
// 2·layers), then the sampled softmax's S samples and their log expected counts.
struct StepHeader {
  AdamStep adam;
  double max_norm = 0;
};

}  // namespace

template <typename Real>
class NetworkImpl final : public Network {
 public:
  NetworkImpl(const NetworkConfig& cfg, std::unique_ptr<Ops<Real>> ops, const char* dtype, bool initialize)
      : cfg_(cfg), ops_(std::move(ops)), dtype_(dtype), mem_(*ops_, live_bytes_) {
    cfg_.validate();
    layout_ = plan_parameters(cfg_);
    const size_t n = layout_.total;
    params_ = mem_.floats(n);
    grads_ = mem_.floats(n);
    m_ = mem_.floats(n);
    v_ = mem_.floats(n);
    scalars_ = mem_.floats(4);
    allocate_step_block();
    if (initialize) upload_floats(params_, initial_parameters(cfg_, layout_));  // else the zeros alloc gave
    for (const RecurrentSpec& l : cfg_.layers) max_hidden_ = std::max(max_hidden_, l.hidden);
  }

  ~NetworkImpl() override { ops_->release_host(block_.host); }

  const NetworkConfig& config() const override { return cfg_; }
  const char* backend() const override { return ops_->name(); }
  const char* dtype() const override { return dtype_; }
  BackendDetails backend_details() const override {
    BackendDetails d;
    d.precision = std::is_same_v<Real, double> ? "fp64" : "fp32";
#ifdef FRNN_HAVE_CUDA
    if constexpr (std::is_same_v<Real, float>) {
      if (std::string(ops_->name()) == "cuda") {
        const cuda::BackendDescription c = cuda::describe(*ops_);
        d.device = c.device;
        d.device_name = c.name;
        d.cc_major = c.major, d.cc_minor = c.minor;
        d.total_memory = c.total_memory;
        d.driver_version = c.driver_version, d.runtime_version = c.runtime_version;
        d.precision = c.tf32 ? "tf32" : "fp32";
      }
    }
#endif
    d.graphs = ops_->capture_stats();
    return d;
  }
  const std::vector<ParamInfo>& params() const override { return layout_.params; }
  int64_t step() const override { return step_; }
  size_t native_bytes() const override { return live_bytes_ + ops_->derived_bytes(); }
  uint64_t rng_counter() const override { return rng_counter_; }

  // Options whose values only the model's dtype can judge (the binding checked the rest).
  static void check_update_options(const TrainOptions& opts) {
    const double smallest = std::numeric_limits<Real>::min();
    if (!(opts.adam.eps >= smallest)) {
      char text[160];
      std::snprintf(text, sizeof text, "options.epsilon must be at least %g (the smallest normal number of the model's dtype), got %g",
                    smallest, opts.adam.eps);
      range_error(text);
    }
  }

  // Host work first (checks, uploads of the batch, the step's counters and values into the step
  // block), then the step itself (zero grads, forward, loss, backward, clip, Adam) as one
  // run_captured call that only enqueues ops, then the downloads.
  StepResult train_step(const Batch& batch, const TrainOptions& opts) override {
    check_update_options(opts);
    if (opts.state_grad && !opts.carry_state) range_error("options.stateGrad needs options.carryState (the state it is the gradient of)");
    if (opts.memory_grad && cfg_.attention == 0) range_error("options.memoryGrad needs a model with attention");
    Activations<Real>& a = prepare(batch);
    if (cfg_.condition > 0 && !opts.carry_state && !has_condition_) range_error(kConditionRequired);
    return keeping_state_on_failure([&] { return train_prepared(a, batch, opts); });
  }

  StepResult train_prepared(Activations<Real>& a, const Batch& batch, const TrainOptions& opts) {
    if (opts.carry_state) allocate_state(a.B);
    const bool sampled = cfg_.sampled_softmax > 0;
    begin_step_block();
    // A step that throws (an allocation, a bad shape, a skip under nonFinite 'error': the update
    // was not applied) leaves the model as it was: the dropout and sampling counters it took are
    // given back.
    const uint64_t rng_before = rng_counter_;
    try {
      plan_dropout(a);
      if (sampled) plan_sampled();
      set_update_values(opts);
      ++params_version_;  // Adam writes the parameters inside the step
      block_.pending = true;  // from here on the step's upload may be enqueued
      ops_->run_captured(step_key(a, opts), [&] {
        upload_step_block();
        ops_->zero(grads_, layout_.trainable * sizeof(Real));
        sampled_step_ = sampled;
        forward(a, /*training=*/true, opts.carry_state);
        if (sampled) sampled_loss(a);
        else loss(a, /*with_grad=*/true);
        state_grad_wanted_ = opts.state_grad;
        backward(a);
        state_grad_wanted_ = false;
        sampled_step_ = false;
        enqueue_update();
      });
      std::vector<std::vector<double>> state_grad;
      if (opts.state_grad) state_grad = download_state_blocks(a, /*gradients=*/true);
      std::vector<double> memory_grad;
      if (opts.memory_grad)
        memory_grad = download_floats(a.attention.dmemory, static_cast<size_t>(a.B) * a.attention.S * cfg_.attention);
      StepResult r = finish_step(a, batch, opts, opts.carry_state, std::move(state_grad));
      r.memory_grad = std::move(memory_grad);
      return r;
    } catch (...) {
      rng_counter_ = rng_before;
      state_grad_wanted_ = false;
      sampled_step_ = false;
      throw;
    }
  }

  Encoded encode(const Batch& batch, bool training) override {
    if (cfg_.attention > 0) range_error("encode is for encoders: this model attends over a memory itself");
    Activations<Real>& a = prepare(batch);
    if (training) {
      begin_step_block();
      plan_dropout(a);
      block_.pending = true;
      upload_step_block();
    }
    forward(a, training, /*use_state=*/false);
    if (training) encoded_ = &a;
    Encoded e;
    e.blocks = download_state_blocks(a, /*gradients=*/false);
    const auto& top = a.layers.back();
    e.outputs = download_floats(top.y, static_cast<size_t>(a.B) * a.T_ * top.out_width);
    return e;
  }

  StepResult train_from_state_grad(const std::vector<std::vector<double>>& grad, const std::vector<double>& output_grad,
                                   const TrainOptions& opts) override {
    check_update_options(opts);
    if (encoded_ == nullptr) range_error("trainFromStateGrad needs a preceding encode(batch, { training: true }) with no other call in between");
    Activations<Real>& a = *encoded_;
    auto& top = a.layers.back();
    const size_t outputs = static_cast<size_t>(a.B) * a.T_ * top.out_width;
    if (!output_grad.empty() && output_grad.size() != outputs)
      range_error("outputGrad must have the encoded outputs' " + std::to_string(outputs) + " values, got " +
                  std::to_string(output_grad.size()));
    for (double v : output_grad)
      if (!std::isfinite(v)) range_error("outputGrad must be finite");
    encoded_ = nullptr;
    upload_state_grad(a, grad);
    // The outputs' gradient enters where the head's would (the top layer's own dropout aside: the
    // outputs handed out were taken before it).
    if (!output_grad.empty()) upload_floats(top.dy, output_grad);
    // Uncaptured: the gradients above were uploaded from pageable memory. The dropout offsets in
    // the step block are still the encode's.
    begin_step_block();
    set_update_values(opts);
    ++params_version_;
    block_.pending = true;
    upload_step_block();
    ops_->zero(grads_, layout_.trainable * sizeof(Real));
    ops_->zero(scalars_, 4 * sizeof(Real));  // no loss: the gradient comes from outside
    backward_layers(a, /*top_dy=*/!output_grad.empty(), /*inject_final=*/true);
    enqueue_update();
    return finish_step(a, Batch{}, opts, /*keep_state=*/false, {});
  }

  // Clip and Adam, reading the clip norm, Adam's config and step from the step block; Adam reads
  // the clip scale on the device, and a NaN scale (non-finite norm) makes it skip.
  void enqueue_update() {
    const auto* header = reinterpret_cast<const StepHeader*>(block_.dev);
    ops_->global_norm_clip(layout_.trainable, grads_, &header->max_norm, scalars_ + 1, scalars_ + 2);
    ops_->adam(layout_.trainable, params_, grads_, m_, v_, &header->adam, scalars_ + 2);
  }

  // Adam's step is the host's count + 1: the host reads every step's norm before the next step
  // is filled in, so a skipped step (non-finite norm, no Adam on the device) does not advance it.
  void set_update_values(const TrainOptions& opts) {
    auto* header = reinterpret_cast<StepHeader*>(block_.host);
    header->adam.cfg = opts.adam;
    header->adam.step = step_ + 1;
    header->max_norm = opts.clip_norm;
  }

  // Step count, carried state: the end of every training step, after its ops are enqueued.
  StepResult finish_step(Activations<Real>& a, const Batch& batch, const TrainOptions& opts, bool keep_state,
                         std::vector<std::vector<double>> state_grad) {
    StepResult r = read_result(batch);
    r.state_grad = std::move(state_grad);
    r.skipped = !std::isfinite(r.grad_norm) || r.update_non_finite;
    if (r.skipped) {
      if (opts.error_on_non_finite) {
        const std::string why = r.update_non_finite
                                    ? "its update would have made a weight or an Adam moment non-finite (learning rate " +
                                          std::to_string(opts.adam.lr) + ")"
                                    : "the gradient norm is " + std::to_string(r.grad_norm);
        throw std::runtime_error("training step " + std::to_string(step_ + 1) + " was skipped: " + why + " (loss " +
                                 std::to_string(r.loss) + "); the weights are unchanged");
      }
      return r;
    }
    step_ += 1;
    if (keep_state) keep_final_state(a);
    return r;
  }

  StepResult evaluate(const Batch& batch, bool use_state, bool keep_state) override {
    const HeldWeights held(*this);
    Activations<Real>& a = prepare(batch);
    return keeping_state_on_failure([&] {
      forward(a, /*training=*/false, use_state);
      loss(a, /*with_grad=*/false);
      if (keep_state) {
        allocate_state(a.B);
        keep_final_state(a);
      }
      return read_result(batch);
    });
  }

  std::vector<double> predict(const Batch& batch, bool use_state, bool keep_state) override {
    const HeldWeights held(*this);
    Activations<Real>& a = prepare(batch);
    return keeping_state_on_failure([&] {
      forward(a, /*training=*/false, use_state);
      if (keep_state) {
        allocate_state(a.B);
        keep_final_state(a);
      }
      return download_floats(a.z.back(), static_cast<size_t>(a.rows) * cfg_.output_width());
    });
  }

  std::vector<int32_t> generate(const std::vector<int32_t>& prime, int B, int P, int steps,
                                const SampleConfig& sc, uint64_t seed, GenerationState* carry,
                                const std::vector<double>& condition) override {
    if (cfg_.input == InputKind::Features || cfg_.loss != LossKind::SoftmaxXent)
      range_error("generate needs a model with token inputs and a softmax output");
    for (const RecurrentSpec& l : cfg_.layers)
      if (l.bidirectional) range_error("generate cannot run a bidirectional model one step at a time");
    if (cfg_.attention > 0) range_error("generate does not take a memory: decode an attention model with beamSearch");
    if (B < 1 || P < 1 || steps < 0) range_error("generate: batch and prime length must be >= 1");
    check_tokens(prime, "prime");
    if (sc.bf16 && !ops_->bf16_products()) range_error("options.precision 'bf16' needs a float32 model on the CPU backend");
    const HeldWeights held(*this, sc.bf16);

    // Generation keeps its own state so it never disturbs the carried training state.
    std::vector<Real*> h(cfg_.layers.size()), c(cfg_.layers.size());
    Memory<Real> scratch(*ops_, live_bytes_);
    for (size_t l = 0; l < cfg_.layers.size(); ++l) {
      h[l] = scratch.floats(static_cast<size_t>(B) * cfg_.layers[l].hidden);
      c[l] = scratch.floats(static_cast<size_t>(B) * cfg_.layers[l].hidden);
    }
    const bool resume = carry != nullptr && !carry->h.empty();
    if (!resume && cfg_.condition > 0) {
      check_condition(condition, B);
      Activations<Real>& a = shape_for(B, 1);
      upload_floats(a.condition, condition);
      run_condition(a);
      for (size_t l = 0; l < cfg_.layers.size(); ++l) {
        const size_t bytes = static_cast<size_t>(B) * cfg_.layers[l].hidden * sizeof(Real);
        ops_->copy(h[l], a.layers[l].dir[0].h0, bytes);
        ops_->zero(c[l], bytes);
      }
    } else if (!condition.empty()) {
      check_condition(condition, B);  // a resumed chunk has its state already; only the size is checked
    }
    if (resume) load_generation_state(*carry, B, h, c);
    const uint64_t first_draw = carry != nullptr ? static_cast<uint64_t>(carry->drawn) : 0;
    // Every draw stays on the device and feeds the next step directly; the host reads them all
    // once at the end, so a call is one upload, one download and no per-character round trip.
    int32_t* drawn = scratch.ints(static_cast<size_t>(B) * std::max(steps, 1));
    std::vector<int32_t> out(static_cast<size_t>(B) * steps);

    for (int s = 0; s < steps; ++s) {
      // After the prime step, a backend may run all the remaining characters in one go (the same
      // results; CUDA: one persistent launch per chunk). The loop below is the definition.
      if (s == 1 && ops_->decode(decode_spec(B, h, c), steps - 1, sc, seed, first_draw + 1, drawn, drawn + B)) break;
      const int T = s == 0 ? P : 1;
      Activations<Real>& a = shape_for(B, T);
      if (s == 0) ops_->upload(a.tokens, prime.data(), prime.size() * sizeof(int32_t));
      else ops_->copy(a.tokens, drawn + static_cast<size_t>(s - 1) * B, B * sizeof(int32_t));
      run_input(a, false);
      const Real* x = a.x0;
      for (size_t l = 0; l < cfg_.layers.size(); ++l) {
        auto& L = a.layers[l];
        const RnnShape shape = layer_shape(l, B, T, false);
        const bool lstm = cfg_.layers[l].cell == Cell::LSTM;
        // The state is read first and written last (ops.h), so it is updated in place.
        ops_->rnn_forward(shape, x, nullptr, h[l], lstm ? c[l] : nullptr, rnn_params(l, 0), L.y, L.out_width,
                          h[l], lstm ? c[l] : nullptr, nullptr);
        x = L.y;
      }
      // The last step's output of a unidirectional stack is its final state.
      Activations<Real>& step1 = shape_for(B, 1);
      const Real* logits = run_head(step1, h.back(), B);
      // Draw s of row b uses counter s*B + b: a seed alone fixes the whole output.
      ops_->sample(B, cfg_.output_width(), logits, sc, seed, (first_draw + s) * B, drawn + static_cast<size_t>(s) * B);
    }
    if (steps > 0) {
      std::vector<int32_t> by_step(static_cast<size_t>(B) * steps);
      ops_->download(by_step.data(), drawn, by_step.size() * sizeof(int32_t));
      for (int s = 0; s < steps; ++s)
        for (int b = 0; b < B; ++b) out[static_cast<size_t>(b) * steps + s] = by_step[static_cast<size_t>(s) * B + b];
    }
    if (carry != nullptr) {
      carry->h.clear();
      carry->c.clear();
      for (size_t l = 0; l < cfg_.layers.size(); ++l) {
        const size_t n = static_cast<size_t>(B) * cfg_.layers[l].hidden;
        carry->h.push_back(download_floats(h[l], n));
        if (cfg_.layers[l].cell == Cell::LSTM) carry->c.push_back(download_floats(c[l], n));
      }
      carry->drawn = static_cast<int64_t>(first_draw) + steps;
    }
    return out;
  }

  // The stack and head of generate, for Ops::decode.
  DecodeSpec<Real> decode_spec(int B, const std::vector<Real*>& h, const std::vector<Real*>& c) const {
    DecodeSpec<Real> d;
    d.B = B;
    d.vocab = cfg_.vocab;
    if (cfg_.input == InputKind::Embedding) d.embedding = params_ + layout_.embedding;
    for (size_t l = 0; l < cfg_.layers.size(); ++l)
      d.layers.push_back({layer_shape(l, B, 1, false), rnn_params(l, 0), h[l], cfg_.layers[l].cell == Cell::LSTM ? c[l] : nullptr});
    for (size_t k = 0; k < cfg_.dense.size(); ++k)
      d.head.push_back({cfg_.dense[k].units, cfg_.dense[k].activation, params_ + layout_.dense[k].weight,
                        params_ + layout_.dense[k].bias});
    return d;
  }

  void load_generation_state(const GenerationState& g, int B, const std::vector<Real*>& h,
                             const std::vector<Real*>& c) {
    size_t lstm_layers = 0;
    for (const RecurrentSpec& l : cfg_.layers) lstm_layers += l.cell == Cell::LSTM ? 1 : 0;
    if (g.h.size() != cfg_.layers.size() || g.c.size() != lstm_layers)
      range_error("generation state must hold one h block per layer and one c block per LSTM layer");
    if (g.drawn < 0) range_error("generation state drawn must be >= 0");
    for (size_t l = 0, lc = 0; l < cfg_.layers.size(); ++l) {
      const size_t n = static_cast<size_t>(B) * cfg_.layers[l].hidden;
      if (g.h[l].size() != n) range_error("generation state h[" + std::to_string(l) + "] must have " + std::to_string(n) + " elements");
      upload_floats(h[l], g.h[l]);
      if (cfg_.layers[l].cell != Cell::LSTM) continue;
      if (g.c[lc].size() != n) range_error("generation state c[" + std::to_string(lc) + "] must have " + std::to_string(n) + " elements");
      upload_floats(c[l], g.c[lc++]);
    }
  }

  std::vector<double> get_param(const std::string& name) override {
    const ParamInfo& p = find_param(name);
    return download_floats(params_ + p.offset, p.size);
  }

  TrainingState export_training_state() override {
    TrainingState s;
    s.params = download_floats(params_, layout_.total);
    s.m = download_floats(m_, layout_.total);
    s.v = download_floats(v_, layout_.total);
    s.step = step_;
    s.rng_counter = rng_counter_;
    return s;
  }

  void import_training_state(const TrainingState& s) override {
    for (const auto* arena : {&s.params, &s.m, &s.v})
      if (arena->size() != layout_.total)
        range_error("training state arenas must have " + std::to_string(layout_.total) + " elements");
    if (s.step < 0) range_error("training state step must be >= 0");
    for (double x : s.params)
      if (!std::isfinite(x)) range_error("training state parameters must be finite");
    for (double x : s.m)
      if (!std::isfinite(x)) range_error("training state first moments must be finite");
    for (double x : s.v)
      if (!(x >= 0) || !std::isfinite(x)) range_error("training state second moments must be finite and >= 0");
    ++params_version_;
    upload_floats(params_, s.params);
    upload_floats(m_, s.m);
    upload_floats(v_, s.v);
    step_ = s.step;
    rng_counter_ = s.rng_counter;
  }

  std::vector<double> get_grad(const std::string& name) override {
    const ParamInfo& p = find_param(name);
    return download_floats(grads_ + p.offset, p.size);
  }

  void set_param(const std::string& name, const std::vector<double>& values) override {
    const ParamInfo& p = find_param(name);
    if (values.size() != p.size)
      range_error("values for '" + name + "' must have " + std::to_string(p.size) + " elements, got " +
                  std::to_string(values.size()));
    for (double x : values)
      if (!std::isfinite(x)) range_error("values for '" + name + "' must be finite");
    ++params_version_;
    upload_floats(params_ + p.offset, values);
  }

  void reset_state() override {
    state_.clear();
    state_batch_ = 0;
  }

  std::vector<std::vector<double>> get_state(int* batch) override {
    *batch = state_batch_;
    std::vector<std::vector<double>> blocks;
    for (const StateBlock& s : state_) blocks.push_back(download_floats(s.data, s.size));
    return blocks;
  }

  // Checked in full before anything changes; the new state's memory is built aside.
  void set_state(int batch, const std::vector<std::vector<double>>& blocks) override {
    if (batch < 1) range_error("state batch must be >= 1");
    const std::vector<size_t> sizes = state_block_sizes(batch);
    if (blocks.size() != sizes.size())
      range_error("state must have " + std::to_string(sizes.size()) + " blocks, got " + std::to_string(blocks.size()));
    for (size_t i = 0; i < blocks.size(); ++i)
      if (blocks[i].size() != sizes[i])
        range_error("state block " + std::to_string(i) + " must have " + std::to_string(sizes[i]) + " elements");
    allocate_state(batch);
    for (size_t i = 0; i < blocks.size(); ++i) upload_floats(state_[i].data, blocks[i]);
  }

 private:
  struct StateBlock {
    Real* data;
    size_t size;
  };

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

  const ParamInfo& find_param(const std::string& name) const {
    for (const ParamInfo& p : layout_.params)
      if (p.name == name) return p;
    range_error("no parameter named '" + name + "'");
  }

  void upload_floats(Real* dst, const std::vector<double>& host) {
    std::vector<Real> conv(host.begin(), host.end());
    ops_->upload(dst, conv.data(), conv.size() * sizeof(Real));
  }
  std::vector<double> download_floats(const Real* src, size_t n) {
    std::vector<Real> host(n);
    ops_->download(host.data(), src, n * sizeof(Real));
    return std::vector<double>(host.begin(), host.end());
  }

  void check_tokens(const std::vector<int32_t>& tokens, const char* what) const {
    for (int32_t t : tokens)
      if (t < 0 || t >= cfg_.vocab)
        range_error(std::string(what) + " contains token id " + std::to_string(t) + ", expected 0 <= id < " +
                    std::to_string(cfg_.vocab));
  }

  // Checks the batch against the config and uploads it into the activations of its shape.
  Activations<Real>& prepare(const Batch& batch) {
    const int B = batch.B, T = batch.T;
    if (B < 1 || T < 1) range_error("batch size and steps must be >= 1");
    const size_t BT = static_cast<size_t>(B) * T;
    const int rows = cfg_.return_sequences ? B * T : B;
    if (cfg_.input == InputKind::Features) {
      if (batch.features.size() != BT * cfg_.features)
        range_error("inputs must have B*Real*features = " + std::to_string(BT * cfg_.features) + " values, got " +
                    std::to_string(batch.features.size()));
    } else {
      if (batch.tokens.size() != BT)
        range_error("inputs must have B*T = " + std::to_string(BT) + " token ids, got " +
                    std::to_string(batch.tokens.size()));
      check_tokens(batch.tokens, "inputs");
    }
    if (!batch.lengths.empty()) {
      if (batch.lengths.size() != static_cast<size_t>(B))
        range_error("lengths must have B = " + std::to_string(B) + " entries");
      for (int32_t len : batch.lengths)
        if (len < 1 || len > T) range_error("lengths must be in [1, " + std::to_string(T) + "], got " + std::to_string(len));
    }
    if (cfg_.loss == LossKind::SoftmaxXent) {
      if (batch.class_targets.size() != static_cast<size_t>(rows))
        range_error("targets must have " + std::to_string(rows) + " class ids, got " +
                    std::to_string(batch.class_targets.size()));
      for (int32_t t : batch.class_targets)
        if (t < 0 || t >= cfg_.output_width())
          range_error("targets contains class id " + std::to_string(t) + ", expected 0 <= id < " +
                      std::to_string(cfg_.output_width()));
    } else if (batch.value_targets.size() != static_cast<size_t>(rows) * cfg_.output_width()) {
      range_error("targets must have " + std::to_string(static_cast<size_t>(rows) * cfg_.output_width()) +
                  " values, got " + std::to_string(batch.value_targets.size()));
    }
    if (!batch.weights.empty() && batch.weights.size() != static_cast<size_t>(rows))
      range_error("weights must have " + std::to_string(rows) + " entries");
    for (double w : batch.weights)
      if (!(w >= 0) || !std::isfinite(w)) range_error("weights must be finite and >= 0");
    for (double x : batch.features)
      if (!std::isfinite(x)) range_error("inputs must be finite");
    for (double x : batch.value_targets)
      if (!std::isfinite(x)) range_error("targets must be finite");
    // A condition may be left out when the batch starts from the carried state (forward checks).
    has_condition_ = !batch.condition.empty();
    if (has_condition_ || cfg_.condition == 0) check_condition(batch.condition, B);
    check_memory(batch, B);

    Activations<Real>& a = shape_for(B, T);
    if (cfg_.attention > 0) upload_memory(a, batch);
    if (cfg_.input == InputKind::Features)
      upload_floats(a.x0, batch.features);
    else
      ops_->upload(a.tokens, batch.tokens.data(), BT * sizeof(int32_t));
    if (has_condition_) upload_floats(a.condition, batch.condition);
    has_lengths_ = !batch.lengths.empty();
    if (has_lengths_) ops_->upload(a.lengths, batch.lengths.data(), B * sizeof(int32_t));
    if (cfg_.loss == LossKind::SoftmaxXent)
      ops_->upload(a.class_targets, batch.class_targets.data(), rows * sizeof(int32_t));
    else
      upload_floats(a.value_targets, batch.value_targets);
    // Per-step outputs past a sequence's end are padding: they weigh 0 unless weights say otherwise.
    std::vector<double> weights = batch.weights;
    if (weights.empty() && has_lengths_ && cfg_.return_sequences) {
      weights.assign(rows, 0.0);
      for (int b = 0; b < B; ++b)
        for (int t = 0; t < batch.lengths[b]; ++t) weights[static_cast<size_t>(b) * T + t] = 1.0;
    }
    has_weights_ = !weights.empty();
    if (has_weights_) upload_floats(a.weights, weights);
    weight_sum_ = 0;
    for (double w : weights) weight_sum_ += w;
    if (!has_weights_) weight_sum_ = rows;
    return a;
  }

  Activations<Real>& shape_for(int B, int T) {
    encoded_ = nullptr;  // any other use of the activations ends a pending encode
    auto key = std::make_pair(B, T);
    auto it = acts_.find(key);
    if (it != acts_.end()) return *it->second;
    if (acts_.size() >= 4) {  // bounded: a few shapes (train, validate, generate)
      ops_->drop_captured();  // captured steps hold the activations' addresses
      acts_.clear();
    }
    auto a = std::make_unique<Activations<Real>>();
    allocate(*a, B, T);
    return *acts_.emplace(key, std::move(a)).first->second;
  }

  size_t activation_bytes(int B, int T) override {
    if (B < 1 || T < 1) range_error("batch size and steps must be >= 1");
    if (acts_.count(std::make_pair(B, T)) != 0) return 0;
    // Beyond any memory, and the plan's size products could overflow: report "too much".
    if (static_cast<double>(B) * T > 0x1p36) return std::numeric_limits<size_t>::max();
    size_t unused_live = 0;
    Activations<Real> plan;
    allocate(plan, B, T, Memory<Real>::Mode::Count, unused_live);
    return plan.mem->held();
  }

  void allocate(Activations<Real>& a, int B, int T) { allocate(a, B, T, Memory<Real>::Mode::Allocate, live_bytes_); }

  void allocate(Activations<Real>& a, int B, int T, typename Memory<Real>::Mode mode, size_t& counter) {
    a.B = B;
    a.T_ = T;
    a.rows = cfg_.return_sequences ? B * T : B;
    a.mem = std::make_unique<Memory<Real>>(*ops_, counter, mode);
    Memory<Real>& m = *a.mem;
    const size_t BT = static_cast<size_t>(B) * T;
    a.tokens = m.ints(BT);
    a.lengths = m.ints(B);
    a.class_targets = m.ints(a.rows);
    a.value_targets = m.floats(static_cast<size_t>(a.rows) * cfg_.output_width());
    a.weights = m.floats(a.rows);
    a.x0 = m.floats(BT * cfg_.input_width());
    a.zero_state = m.floats(static_cast<size_t>(B) * std::max(max_hidden_, 1));
    if (cfg_.condition > 0) a.condition = m.floats(static_cast<size_t>(B) * cfg_.condition);
    if (const int S = cfg_.sampled_softmax; S > 0) {
      const size_t rows = static_cast<size_t>(a.rows), D = head_width(cfg_.dense.size() - 1);
      auto& q = a.sampled;
      q.samples = reinterpret_cast<int32_t*>(block_.dev + block_.samples_at);
      q.zero_targets = m.ints(rows);
      q.log_expected = reinterpret_cast<Real*>(block_.dev + block_.log_expected_at);
      q.Ws = m.floats(S * D);
      q.bs = m.floats(S);
      q.Wt = m.floats(rows * D);
      q.bt = m.floats(rows);
      q.Ls = m.floats(rows * S);
      q.logits = m.floats(rows * (S + 1));
      q.dlogits = m.floats(rows * (S + 1));
      q.dLs = m.floats(rows * S);
      q.dl0 = m.floats(rows);
      q.scaled = m.floats(rows * D);
      q.dWs = m.floats(S * D);
      q.dbs = m.floats(S);
    }
    a.layers.resize(cfg_.layers.size());
    for (size_t l = 0; l < cfg_.layers.size(); ++l) {
      auto& L = a.layers[l];
      const RecurrentSpec& spec = cfg_.layers[l];
      L.in_width = layer_shape(l, B, T, false).I;
      L.out_width = spec.hidden * directions(l);
      L.dropout_in_offset = offset_slot(2 * l);
      L.dropout_out_offset = offset_slot(2 * l + 1);
      if (spec.dropout_input > 0) L.x_dropped = m.floats(BT * L.in_width);
      L.y = m.floats(BT * L.out_width);
      if (spec.dropout_output > 0) L.y_dropped = m.floats(BT * L.out_width);
      L.dy = m.floats(BT * L.out_width);
      L.dx = m.floats(BT * L.in_width);
      for (int d = 0; d < directions(l); ++d) {
        auto& D = L.dir[d];
        D.workspace = m.floats(ops_->rnn_workspace_elems(layer_shape(l, B, T, d == 1)));
        D.hN = m.floats(static_cast<size_t>(B) * spec.hidden);
        D.cN = m.floats(static_cast<size_t>(B) * spec.hidden);
        D.dhN = m.floats(static_cast<size_t>(B) * spec.hidden);
        D.dh0 = m.floats(static_cast<size_t>(B) * spec.hidden);
        if (cfg_.condition > 0) D.h0 = m.floats(static_cast<size_t>(B) * spec.hidden);
        if (spec.cell == Cell::LSTM) {
          D.dc0 = m.floats(static_cast<size_t>(B) * spec.hidden);
          D.dcN = m.floats(static_cast<size_t>(B) * spec.hidden);
        }
      }
    }
    a.head_dropout_offset = offset_slot(2 * cfg_.layers.size());
    const int head_width = a.layers.back().out_width;
    if (!cfg_.return_sequences) {
      a.head_in = m.floats(static_cast<size_t>(B) * head_width);
      if (cfg_.layers.back().dropout_output > 0) a.head_in_dropped = m.floats(static_cast<size_t>(B) * head_width);
    }
    a.dhead_in = m.floats(static_cast<size_t>(a.rows) * head_width);
    for (const DenseSpec& d : cfg_.dense) {
      a.z.push_back(m.floats(static_cast<size_t>(a.rows) * d.units));
      a.dz.push_back(m.floats(static_cast<size_t>(a.rows) * d.units));
    }
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

  // The carried state's block sizes for batch B, in state_'s order (per layer and direction: h,
  // then c for an LSTM). Allocates nothing, so callers can check before they change anything.
  std::vector<size_t> state_block_sizes(int B) const {
    std::vector<size_t> sizes;
    for (size_t l = 0; l < cfg_.layers.size(); ++l)
      for (int d = 0; d < directions(l); ++d) {
        const size_t n = static_cast<size_t>(B) * cfg_.layers[l].hidden;
        sizes.push_back(n);
        if (cfg_.layers[l].cell == Cell::LSTM) sizes.push_back(n);
      }
    return sizes;
  }

  void allocate_state(int B) {
    if (state_batch_ == B && !state_.empty()) return;
    if (state_mem_ && state_mem_batch_ == B) {
      // After reset_state: the same buffers, zeroed, so captured steps that read them stay valid.
      state_ = state_blocks_;
      for (const StateBlock& s : state_) ops_->zero(s.data, s.size * sizeof(Real));
      state_batch_ = B;
      return;
    }
    // Built aside and swapped in whole: a failed allocation leaves the old state as it was. The
    // old memory is kept (retired) until the next swap, so a call that fails later can put it back.
    auto mem = std::make_unique<Memory<Real>>(*ops_, live_bytes_);
    std::vector<StateBlock> blocks;
    for (const size_t n : state_block_sizes(B)) blocks.push_back({mem->floats(n), n});
    ops_->drop_captured();  // captured steps hold the old state's addresses
    retired_state_mem_ = std::move(state_mem_);
    state_mem_ = std::move(mem);
    state_ = blocks;
    state_blocks_ = std::move(blocks);
    state_batch_ = B;
    state_mem_batch_ = B;
  }

  // The carried state blocks of layer l, direction d: {h, c (LSTM) or nullptr}.
  std::pair<Real*, Real*> state_of(size_t l, int d) {
    size_t i = 0;
    for (size_t k = 0; k < l; ++k) i += directions(k) * (cfg_.layers[k].cell == Cell::LSTM ? 2 : 1);
    const bool lstm = cfg_.layers[l].cell == Cell::LSTM;
    i += d * (lstm ? 2 : 1);
    return {state_[i].data, lstm ? state_[i + 1].data : nullptr};
  }

  uint64_t take_counters(size_t n) {
    const uint64_t at = rng_counter_;
    rng_counter_ += n;
    return at;
  }

  void allocate_step_block() {
    const size_t slots = 2 * cfg_.layers.size() + 1, S = static_cast<size_t>(cfg_.sampled_softmax);
    auto align8 = [](size_t n) { return (n + 7) / 8 * 8; };
    block_.offsets_at = align8(sizeof(StepHeader));
    block_.samples_at = block_.offsets_at + slots * sizeof(uint64_t);
    block_.log_expected_at = align8(block_.samples_at + S * sizeof(int32_t));
    block_.bytes = block_.log_expected_at + S * sizeof(Real);
    block_.dev = static_cast<unsigned char*>(static_cast<void*>(mem_.floats((block_.bytes + sizeof(Real) - 1) / sizeof(Real))));
    block_.host = static_cast<unsigned char*>(ops_->alloc_host(block_.bytes));
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

  // Whether layer l's output dropout applies to its whole sequence output (it feeds the next
  // layer, or the head reads every step); the last layer's otherwise applies to the head's input.
  bool sequence_output_dropout(size_t l) const {
    return cfg_.layers[l].dropout_output > 0 && (cfg_.return_sequences || l + 1 < cfg_.layers.size());
  }

  // The dropout counters of a training forward, taken in its order (layer by layer: input,
  // output; then the head's) into the block's slots.
  void plan_dropout(const Activations<Real>& a) {
    const size_t BT = static_cast<size_t>(a.B) * a.T_, last = cfg_.layers.size() - 1;
    for (size_t l = 0; l < cfg_.layers.size(); ++l) {
      const auto& L = a.layers[l];
      const RecurrentSpec& spec = cfg_.layers[l];
      if (spec.dropout_input > 0) set_offset(2 * l, take_counters(BT * L.in_width));
      if (sequence_output_dropout(l)) set_offset(2 * l + 1, take_counters(BT * L.out_width));
    }
    if (!cfg_.return_sequences && cfg_.layers[last].dropout_output > 0)
      set_offset(2 * cfg_.layers.size(), take_counters(static_cast<size_t>(a.B) * a.layers[last].out_width));
  }

  // The sampled softmax's S classes, drawn log-uniformly (P(k) = log((k+2)/(k+1)) / log(V+1)) on
  // the host from the model's counter, after the step's dropout counters, into the block.
  void plan_sampled() {
    const int S = cfg_.sampled_softmax, V = cfg_.output_width();
    const uint64_t counter = take_counters(S);
    const double log_v1 = std::log(static_cast<double>(V) + 1.0);
    auto* samples = reinterpret_cast<int32_t*>(block_.host + block_.samples_at);
    auto* log_expected = reinterpret_cast<Real*>(block_.host + block_.log_expected_at);
    for (int j = 0; j < S; ++j) {
      const double u = philox_uniform(cfg_.seed, counter + j, kStreamSampledSoftmax);
      const int k = std::min(V - 1, std::max(0, static_cast<int>(std::exp(u * log_v1)) - 1));
      samples[j] = k;
      log_expected[j] = static_cast<Real>(std::log(S * std::log((k + 2.0) / (k + 1.0)) / log_v1));
    }
  }

  // What fixes the ops a training step enqueues and the buffers they use, beyond the model
  // itself: the shape, which optional inputs the batch has, carried state and its gradient,
  // the attention memory's length. (Buffers that move call ops_->drop_captured.)
  uint64_t step_key(const Activations<Real>& a, const TrainOptions& opts) const {
    const int64_t parts[] = {a.B, a.T_, opts.carry_state, opts.state_grad, has_lengths_, has_weights_,
                             has_condition_, a.attention.S, a.attention.has_lengths};
    return fnv1a(kFnvBasis, parts, sizeof parts);
  }

  void run_input(Activations<Real>& a, bool /*training*/) {
    const int N = a.B * a.T_;
    if (cfg_.input == InputKind::Embedding)
      ops_->embedding_forward(N, cfg_.vocab, cfg_.embedding_dim, a.tokens, params_ + layout_.embedding, a.x0);
    else if (cfg_.input == InputKind::OneHot)
      ops_->one_hot(N, cfg_.vocab, a.tokens, a.x0);
  }

  // Forward through the whole plan. use_state: initial states from the carried state.
  void forward(Activations<Real>& a, bool training, bool use_state) {
    const int B = a.B, T = a.T_;
    const size_t BT = static_cast<size_t>(B) * T;
    if (use_state) allocate_state(B);
    state_used_ = use_state;
    run_input(a, training);
    if (cfg_.condition > 0 && !use_state) {
      if (!has_condition_) range_error(kConditionRequired);
      run_condition(a);
    }
    const Real* x = a.x0;
    const int32_t* lengths = has_lengths_ ? a.lengths : nullptr;
    for (size_t l = 0; l < cfg_.layers.size(); ++l) {
      auto& L = a.layers[l];
      const RecurrentSpec& spec = cfg_.layers[l];
      if (training && spec.dropout_input > 0) {
        ops_->dropout_forward(BT * L.in_width, spec.dropout_input, cfg_.seed, L.dropout_in_offset, x, L.x_dropped);
        x = L.x_dropped;
      }
      for (int d = 0; d < directions(l); ++d) {
        const auto [h0, c0] = initial_state(a, l, d, use_state);
        ops_->rnn_forward(layer_shape(l, B, T, d == 1), x, lengths, h0, c0, rnn_params(l, d),
                          L.y + d * spec.hidden, L.out_width, L.dir[d].hN, L.dir[d].cN,
                          training ? L.dir[d].workspace : nullptr);
      }
      x = L.y;
      if (training && sequence_output_dropout(l)) {
        ops_->dropout_forward(BT * L.out_width, spec.dropout_output, cfg_.seed, L.dropout_out_offset, L.y,
                              L.y_dropped);
        x = L.y_dropped;
      }
    }
    if (cfg_.attention > 0) x = run_attention(a, x);
    if (!cfg_.return_sequences) {
      // The last valid step of each direction is its final state (Keras' Bidirectional does the same).
      const size_t l = cfg_.layers.size() - 1;
      auto& L = a.layers[l];
      for (int d = 0; d < directions(l); ++d)
        ops_->copy_rows(B, cfg_.layers[l].hidden, L.dir[d].hN, cfg_.layers[l].hidden,
                        a.head_in + d * cfg_.layers[l].hidden, L.out_width, false);
      x = a.head_in;
      if (training && cfg_.layers[l].dropout_output > 0) {
        ops_->dropout_forward(static_cast<size_t>(B) * L.out_width, cfg_.layers[l].dropout_output, cfg_.seed,
                              a.head_dropout_offset, a.head_in, a.head_in_dropped);
        x = a.head_in_dropped;
      }
    }
    head_input_ = x;
    run_head(a, x, a.rows, /*skip_output=*/sampled_step_);
  }

  // A carried state wins over the condition: the condition starts sequences, the carried state
  // continues them.
  std::pair<const Real*, const Real*> initial_state(Activations<Real>& a, size_t l, int d, bool use_state) {
    if (use_state) return state_of(l, d);
    const Real* h0 = cfg_.condition > 0 ? a.layers[l].dir[d].h0 : a.zero_state;
    return {h0, cfg_.layers[l].cell == Cell::LSTM ? a.zero_state : nullptr};
  }

  // h0 of every layer-direction from the batch's condition [B, condition].
  void run_condition(Activations<Real>& a) {
    for (size_t l = 0; l < cfg_.layers.size(); ++l)
      for (int d = 0; d < directions(l); ++d) {
        const DenseOffsets& o = layout_.condition[l][d];
        ops_->dense_forward(a.B, cfg_.condition, cfg_.layers[l].hidden, Activation::Tanh, a.condition,
                            params_ + o.weight, params_ + o.bias, a.layers[l].dir[d].h0);
      }
  }

  void check_condition(const std::vector<double>& condition, int B) const {
    const size_t want = static_cast<size_t>(B) * cfg_.condition;
    if (condition.size() != want)
      range_error(cfg_.condition > 0 ? "condition must have batchSize * conditionSize = " + std::to_string(want) +
                                           " values, got " + std::to_string(condition.size())
                                     : std::string("condition is only for a model with conditionSize > 0"));
    for (double x : condition)
      if (!std::isfinite(x)) range_error("condition must be finite");
  }

  // skip_output: stop before the output layer (the sampled softmax computes its own logits).
  const Real* run_head(Activations<Real>& a, const Real* x, int rows, bool skip_output = false) {
    int width = cfg_.layers.back().hidden * directions(cfg_.layers.size() - 1);
    for (size_t k = 0; k < cfg_.dense.size() - (skip_output ? 1 : 0); ++k) {
      const DenseOffsets& o = layout_.dense[k];
      ops_->dense_forward(rows, width, cfg_.dense[k].units, cfg_.dense[k].activation, x, params_ + o.weight,
                          params_ + o.bias, a.z[k]);
      x = a.z[k];
      width = cfg_.dense[k].units;
    }
    return x;
  }

  void check_memory(const Batch& batch, int B) const {
    const int M = cfg_.attention;
    if (M == 0) {
      if (!batch.memory.empty() || batch.memory_steps != 0) range_error("memory is only for a model with attention");
      return;
    }
    const int S = batch.memory_steps;
    if (S < 1) range_error("memorySteps must be an integer >= 1 (the model attends over a memory)");
    const size_t want = static_cast<size_t>(B) * S * M;
    if (batch.memory.size() != want)
      range_error("memory must have batchSize * memorySteps * memorySize = " + std::to_string(want) + " values, got " +
                  std::to_string(batch.memory.size()));
    for (double v : batch.memory)
      if (!std::isfinite(v)) range_error("memory must be finite");
    if (!batch.memory_lengths.empty()) {
      if (batch.memory_lengths.size() != static_cast<size_t>(B)) range_error("memoryLengths must have batchSize entries");
      for (int32_t len : batch.memory_lengths)
        if (len < 1 || len > S) range_error("memoryLengths must be in [1, " + std::to_string(S) + "], got " + std::to_string(len));
    }
  }

  void upload_memory(Activations<Real>& a, const Batch& batch) {
    auto& m = a.attention;
    const int S = batch.memory_steps, M = cfg_.attention, H = stack_width();
    const size_t B = static_cast<size_t>(a.B), N = B * a.T_;
    m.S = S;
    if (S > m.capacity) {
      ops_->drop_captured();  // captured steps hold the old buffers' addresses
      m.mem.reset();  // the old buffers go first, so peak memory is the new size alone
      m.mem = std::make_unique<Memory<Real>>(*ops_, live_bytes_);
      Memory<Real>& mm = *m.mem;
      m.capacity = S;
      m.lengths = mm.ints(B);
      m.memory = mm.floats(B * S * M);
      m.keys = cfg_.attention_dot ? m.memory : mm.floats(B * S * H);
      m.alpha = mm.floats(N * S);
      m.context = mm.floats(N * M);
      m.concat = mm.floats(N * (M + H));
      m.out = mm.floats(N * H);
      m.dconcat = mm.floats(N * (M + H));
      m.dcontext = mm.floats(N * M);
      m.dkeys = mm.floats(B * S * H);
      m.dmemory = mm.floats(B * S * M);
      m.dmem_keys = cfg_.attention_dot ? nullptr : mm.floats(B * S * M);
    }
    upload_floats(m.memory, batch.memory);
    m.has_lengths = !batch.memory_lengths.empty();
    if (m.has_lengths) ops_->upload(m.lengths, batch.memory_lengths.data(), B * sizeof(int32_t));
  }

  int stack_width() const { return cfg_.layers.back().hidden * directions(cfg_.layers.size() - 1); }

  // h~ = tanh(W_c [context; h] + b_c) for every step of the stack's output x [B*T, H].
  const Real* run_attention(Activations<Real>& a, const Real* x) {
    auto& m = a.attention;
    const int B = a.B, T = a.T_, S = m.S, M = cfg_.attention, H = stack_width(), N = B * T;
    if (!cfg_.attention_dot)
      ops_->dense_forward(B * S, M, H, Activation::Linear, m.memory, params_ + layout_.attention_wa, nullptr, m.keys);
    ops_->attention_forward(B, T, S, H, M, x, m.keys, m.memory, m.has_lengths ? m.lengths : nullptr, m.alpha, m.context);
    ops_->copy_rows(N, M, m.context, M, m.concat, M + H, false);
    ops_->copy_rows(N, H, x, H, m.concat + M, M + H, false);
    ops_->dense_forward(N, M + H, H, Activation::Tanh, m.concat, params_ + layout_.attention_out.weight,
                        params_ + layout_.attention_out.bias, m.out);
    m.query = x;
    return m.out;
  }

  // From the gradient of h~ in dhead_in to that of the stack's output (written back into
  // dhead_in), the attention parameters' gradients and the memory's (attention.dmemory).
  void attention_backward(Activations<Real>& a) {
    auto& m = a.attention;
    const int B = a.B, T = a.T_, S = m.S, M = cfg_.attention, H = stack_width(), N = B * T;
    ops_->dense_backward(N, M + H, H, Activation::Tanh, m.concat, params_ + layout_.attention_out.weight, m.out,
                         a.dhead_in, m.dconcat, grads_ + layout_.attention_out.weight,
                         grads_ + layout_.attention_out.bias);
    ops_->copy_rows(N, M, m.dconcat, M + H, m.dcontext, M, false);
    ops_->copy_rows(N, H, m.dconcat + M, M + H, a.dhead_in, H, false);
    ops_->zero(m.dmemory, static_cast<size_t>(B) * S * M * sizeof(Real));
    ops_->attention_backward(B, T, S, H, M, m.query, m.keys, m.memory, m.has_lengths ? m.lengths : nullptr, m.alpha,
                             m.dcontext, a.dhead_in, m.dkeys, m.dmemory);
    if (cfg_.attention_dot) {
      ops_->copy_rows(B * S, M, m.dkeys, M, m.dmemory, M, true);
    } else {
      ops_->dense_backward(B * S, M, H, Activation::Linear, m.memory, params_ + layout_.attention_wa, m.keys, m.dkeys,
                           m.dmem_keys, grads_ + layout_.attention_wa, nullptr);
      ops_->copy_rows(B * S, M, m.dmem_keys, M, m.dmemory, M, true);
    }
  }

  // Input width of dense layer k.
  int head_width(size_t k) const {
    return k == 0 ? cfg_.layers.back().hidden * directions(cfg_.layers.size() - 1) : cfg_.dense[k - 1].units;
  }

  // The sampled softmax loss of a training step: S classes drawn log-uniformly (P(k) =
  // log((k+2)/(k+1)) / log(V+1)) on the host from the model's counter (as dropout's masks, on a
  // Philox stream of their own), so the seed and the step fix them and a checkpoint resumes them. The target's logit is exact; each sample's is
  // corrected by log(S·P), the importance weight, and a sample equal to the row's target is
  // masked: the estimate of the softmax normaliser converges to the full one as S grows.
  // plan_sampled draws the samples before the step, into the step block.
  void sampled_loss(Activations<Real>& a) {
    const int S = cfg_.sampled_softmax, N = a.rows, V = cfg_.output_width();
    const size_t K = cfg_.dense.size();
    const int D = head_width(K - 1);
    const Real* x = K == 1 ? head_input_ : a.z[K - 2];
    auto& q = a.sampled;
    const DenseOffsets& o = layout_.dense[K - 1];
    ops_->embedding_forward(S, V, D, q.samples, params_ + o.weight, q.Ws);
    ops_->embedding_forward(S, V, 1, q.samples, params_ + o.bias, q.bs);
    ops_->dense_forward(N, D, S, Activation::Linear, x, q.Ws, q.bs, q.Ls);
    ops_->embedding_forward(N, V, D, a.class_targets, params_ + o.weight, q.Wt);
    ops_->embedding_forward(N, V, 1, a.class_targets, params_ + o.bias, q.bt);
    ops_->sampled_logits(N, D, S, x, q.Wt, q.bt, a.class_targets, q.samples, q.log_expected, q.Ls, q.logits);
    ops_->softmax_xent(N, S + 1, q.logits, q.zero_targets, has_weights_ ? a.weights : nullptr, scalars_ + 0,
                       q.dlogits, scalars_ + 3);
  }

  // Backward of sampled_loss into the output layer's gradient rows (targets and samples only)
  // and into dx [rows, D] (written).
  void sampled_backward(Activations<Real>& a, const Real* x, Real* dx) {
    const int S = cfg_.sampled_softmax, N = a.rows, V = cfg_.output_width();
    const size_t K = cfg_.dense.size();
    const int D = head_width(K - 1);
    auto& q = a.sampled;
    const DenseOffsets& o = layout_.dense[K - 1];
    ops_->copy_rows(N, S, q.dlogits + 1, S + 1, q.dLs, S, false);
    ops_->zero(q.dWs, static_cast<size_t>(S) * D * sizeof(Real));
    ops_->zero(q.dbs, static_cast<size_t>(S) * sizeof(Real));
    ops_->dense_backward(N, D, S, Activation::Linear, x, q.Ws, q.Ls, q.dLs, dx, q.dWs, q.dbs);
    ops_->scale_rows(N, D, q.dlogits, S + 1, q.Wt, dx, /*accumulate=*/true);
    ops_->scale_rows(N, D, q.dlogits, S + 1, x, q.scaled, /*accumulate=*/false);
    ops_->copy_rows(N, 1, q.dlogits, S + 1, q.dl0, 1, false);
    ops_->embedding_backward(N, V, D, a.class_targets, q.scaled, grads_ + o.weight);
    ops_->embedding_backward(N, V, 1, a.class_targets, q.dl0, grads_ + o.bias);
    ops_->embedding_backward(S, V, D, q.samples, q.dWs, grads_ + o.weight);
    ops_->embedding_backward(S, V, 1, q.samples, q.dbs, grads_ + o.bias);
  }

  void loss(Activations<Real>& a, bool with_grad) {
    Real* out = a.z.back();
    const Real* weights = has_weights_ ? a.weights : nullptr;
    if (cfg_.loss == LossKind::SoftmaxXent) {
      ops_->softmax_xent(a.rows, cfg_.output_width(), out, a.class_targets, weights, scalars_ + 0,
                         with_grad ? a.dz.back() : nullptr, scalars_ + 3);
    } else {
      ops_->mse(a.rows, cfg_.output_width(), out, a.value_targets, weights, scalars_ + 0,
                with_grad ? a.dz.back() : nullptr);
      ops_->zero(scalars_ + 3, sizeof(Real));
    }
  }

  void backward(Activations<Real>& a) {
    const int B = a.B, T = a.T_;
    const size_t BT = static_cast<size_t>(B) * T;
    // Head, from the loss gradient in dz.back() down to the recurrent output.
    for (size_t k = cfg_.dense.size(); k-- > 0;) {
      const DenseOffsets& o = layout_.dense[k];
      const int in_width = head_width(k);
      const Real* x = k == 0 ? head_input_ : a.z[k - 1];
      Real* dx = k == 0 ? a.dhead_in : a.dz[k - 1];
      if (sampled_step_ && k + 1 == cfg_.dense.size()) {
        sampled_backward(a, x, dx);
        continue;
      }
      ops_->dense_backward(a.rows, in_width, cfg_.dense[k].units, cfg_.dense[k].activation, x, params_ + o.weight,
                           a.z[k], a.dz[k], dx, grads_ + o.weight, grads_ + o.bias);
    }
    if (cfg_.attention > 0) attention_backward(a);
    const size_t last = cfg_.layers.size() - 1;
    // Gradient arriving at the last layer's output: per step (dy) or at its final states (dhN).
    if (cfg_.return_sequences) {
      auto& L = a.layers[last];
      if (cfg_.layers[last].dropout_output > 0)
        ops_->dropout_backward(BT * L.out_width, cfg_.layers[last].dropout_output, cfg_.seed, L.dropout_out_offset,
                               a.dhead_in, L.dy);
      else
        ops_->copy(L.dy, a.dhead_in, BT * L.out_width * sizeof(Real));
    } else {
      auto& L = a.layers[last];
      if (cfg_.layers[last].dropout_output > 0)
        ops_->dropout_backward(static_cast<size_t>(B) * L.out_width, cfg_.layers[last].dropout_output, cfg_.seed,
                               a.head_dropout_offset, a.dhead_in, a.dhead_in);
      for (int d = 0; d < directions(last); ++d)
        ops_->copy_rows(B, cfg_.layers[last].hidden, a.dhead_in + d * cfg_.layers[last].hidden, L.out_width,
                        L.dir[d].dhN, cfg_.layers[last].hidden, false);
    }
    backward_layers(a, cfg_.return_sequences, /*inject_final=*/false);
  }

  // Backward through the recurrent stack, top layer first. top_dy: the top layer has per-step
  // gradients in its dy (else only a final-state one, in dhN). inject_final: every layer-direction
  // also gets the gradient of its final state from dhN/dcN (train_from_state_grad).
  void backward_layers(Activations<Real>& a, bool top_dy, bool inject_final) {
    const int B = a.B, T = a.T_;
    const size_t BT = static_cast<size_t>(B) * T;
    const int32_t* lengths = has_lengths_ ? a.lengths : nullptr;
    const size_t last = cfg_.layers.size() - 1;
    for (size_t l = cfg_.layers.size(); l-- > 0;) {
      auto& L = a.layers[l];
      const RecurrentSpec& spec = cfg_.layers[l];
      const bool sequence_grad = top_dy || l != last;
      const Real* x = l == 0 ? a.x0 : layer_output(a, l - 1);
      if (spec.dropout_input > 0) x = L.x_dropped;
      const bool need_dx = l > 0 || (cfg_.input == InputKind::Embedding && !cfg_.freeze_embedding);
      if (need_dx) ops_->zero(L.dx, BT * L.in_width * sizeof(Real));
      for (int d = 0; d < directions(l); ++d) {
        // Truncated BPTT: the gradient stops at a carried initial state; a conditioned one passes
        // it on to the conditioning layer.
        const auto [h0, c0] = initial_state(a, l, d, state_used_);
        const bool conditioned = cfg_.condition > 0 && !state_used_;
        const bool state_grad = state_grad_wanted_ && state_used_;
        auto& D = L.dir[d];
        const bool lstm = spec.cell == Cell::LSTM;
        ops_->rnn_backward(layer_shape(l, B, T, d == 1), x, lengths, h0, c0, rnn_params(l, d), D.workspace,
                           sequence_grad ? L.dy + d * spec.hidden : nullptr, L.out_width,
                           inject_final || !sequence_grad ? D.dhN : nullptr, inject_final && lstm ? D.dcN : nullptr,
                           need_dx ? L.dx : nullptr, conditioned || state_grad ? D.dh0 : nullptr,
                           state_grad && lstm ? D.dc0 : nullptr, rnn_grads(l, d));
        if (conditioned) {
          const DenseOffsets& o = layout_.condition[l][d];
          ops_->dense_backward(B, cfg_.condition, spec.hidden, Activation::Tanh, a.condition, params_ + o.weight,
                               L.dir[d].h0, L.dir[d].dh0, nullptr, grads_ + o.weight, grads_ + o.bias);
        }
      }
      if (!need_dx) continue;
      if (spec.dropout_input > 0)
        ops_->dropout_backward(BT * L.in_width, spec.dropout_input, cfg_.seed, L.dropout_in_offset, L.dx, L.dx);
      if (l > 0) {
        auto& P = a.layers[l - 1];
        if (cfg_.layers[l - 1].dropout_output > 0)
          ops_->dropout_backward(BT * P.out_width, cfg_.layers[l - 1].dropout_output, cfg_.seed, P.dropout_out_offset,
                                 L.dx, P.dy);
        else
          ops_->copy(P.dy, L.dx, BT * P.out_width * sizeof(Real));
      } else {
        ops_->embedding_backward(B * T, cfg_.vocab, cfg_.embedding_dim, a.tokens, L.dx, grads_ + layout_.embedding);
      }
    }
  }

  // What layer l handed to the next layer in the forward pass.
  // (Only asked for layers below the last, whose output always feeds a sequence.)
  const Real* layer_output(Activations<Real>& a, size_t l) const {
    return cfg_.layers[l].dropout_output > 0 ? a.layers[l].y_dropped : a.layers[l].y;
  }

  // Per layer-direction (get_state's order): the final states h, c of the last forward, or the
  // gradients of the initial ones from the last backward.
  std::vector<std::vector<double>> download_state_blocks(Activations<Real>& a, bool gradients) {
    std::vector<std::vector<double>> blocks;
    for (size_t l = 0; l < cfg_.layers.size(); ++l)
      for (int d = 0; d < directions(l); ++d) {
        const auto& D = a.layers[l].dir[d];
        const size_t n = static_cast<size_t>(a.B) * cfg_.layers[l].hidden;
        blocks.push_back(download_floats(gradients ? D.dh0 : D.hN, n));
        if (cfg_.layers[l].cell == Cell::LSTM) blocks.push_back(download_floats(gradients ? D.dc0 : D.cN, n));
      }
    return blocks;
  }

  void upload_state_grad(Activations<Real>& a, const std::vector<std::vector<double>>& blocks) {
    size_t i = 0;
    for (size_t l = 0; l < cfg_.layers.size(); ++l)
      for (int d = 0; d < directions(l); ++d) {
        auto& D = a.layers[l].dir[d];
        const size_t n = static_cast<size_t>(a.B) * cfg_.layers[l].hidden;
        for (Real* dst : {D.dhN, cfg_.layers[l].cell == Cell::LSTM ? D.dcN : nullptr}) {
          if (dst == nullptr) continue;
          if (i >= blocks.size() || blocks[i].size() != n)
            range_error("stateGrad must hold the encoded state's blocks: block " + std::to_string(i) + " needs " +
                        std::to_string(n) + " values");
          for (double v : blocks[i])
            if (!std::isfinite(v)) range_error("stateGrad must be finite");
          upload_floats(dst, blocks[i++]);
        }
      }
    if (i != blocks.size()) range_error("stateGrad has " + std::to_string(blocks.size()) + " blocks, the state " + std::to_string(i));
  }

  void keep_final_state(Activations<Real>& a) {
    for (size_t l = 0; l < cfg_.layers.size(); ++l)
      for (int d = 0; d < directions(l); ++d) {
        const auto [h, c] = state_of(l, d);
        const size_t bytes = static_cast<size_t>(a.B) * cfg_.layers[l].hidden * sizeof(Real);
        ops_->copy(h, a.layers[l].dir[d].hN, bytes);
        if (c) ops_->copy(c, a.layers[l].dir[d].cN, bytes);
      }
  }

  StepResult read_result(const Batch&) {
    Real host[4];
    ops_->download(host, scalars_, sizeof(host));
    block_.pending = false;  // the download waited for everything before it
    StepResult r;
    r.loss = static_cast<double>(host[0]);
    r.grad_norm = static_cast<double>(host[1]);
    // A finite norm with a NaN clip scale: Ops::adam found its update non-finite and skipped it.
    r.update_non_finite = std::isfinite(r.grad_norm) && !std::isfinite(static_cast<double>(host[2]));
    r.correct = static_cast<double>(host[3]);
    r.weight_sum = weight_sum_;
    return r;
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
    explicit HeldWeights(NetworkImpl& n, bool bf16 = false) : ops_(*n.ops_) {
      ops_.hold_weights(n.params_, n.layout_.total, n.params_version_, bf16);
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

std::unique_ptr<Network> make_network(const NetworkConfig& cfg, const std::string& backend,
                                      const std::string& dtype, const BackendOptions& options) {
  if (dtype != "float32" && dtype != "float64")
    range_error("dtype must be 'float32' or 'float64', got '" + dtype + "'");
  if (backend == "cuda") {
#ifdef FRNN_HAVE_CUDA
    if (dtype != "float32") range_error("dtype must be 'float32' on the 'cuda' backend, got '" + dtype + "'");
    if (options.device < 0) range_error("device must be a non-negative integer, got " + std::to_string(options.device));
    return std::make_unique<NetworkImpl<float>>(cfg, cuda::make_cuda_ops(options.device, options.tf32), "float32",
                                                options.initialize);
#else
    range_error("backend 'cuda' is not available: this build of fusedrnn has no CUDA part (built without nvcc)");
#endif
  }
  if (backend != "cpu") range_error("backend must be 'cpu' or 'cuda', got '" + backend + "'");
  if (dtype == "float32")
    return std::make_unique<NetworkImpl<float>>(cfg, std::make_unique<CpuOps<float>>(), "float32", options.initialize);
  return std::make_unique<NetworkImpl<double>>(cfg, std::make_unique<CpuOps<double>>(), "float64", options.initialize);
}

}  // namespace frnn

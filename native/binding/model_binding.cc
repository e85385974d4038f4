// The Model class: a thin wrapper over frnn::Network. Data is copied out of JS on the main
// thread; the work runs on libuv's pool (a Promise) or, in the *Sync variants, inline.
// One call at a time per model: a second call while one is in flight is rejected (lib/ queues).
#include <napi.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include "../errors.h"
#include "js_errors.h"
#include "../net/network.h"
#include "backend_factory.h"
#include "../net/network_params.h"
#include "js_args.h"
#include "registry.h"

namespace frnn::binding {

namespace {

using Result = std::function<Napi::Value(Napi::Env)>;

// Runs `work` on the thread pool and settles a Promise with `result` (or the failure).
// `owner` (a model's JS object, or empty) stays referenced until the Promise settles, so `done`
// may use the model's wrapper.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, Napi::Object owner, std::function<void()> work, Result result, std::function<void()> done)
      : Napi::AsyncWorker(env, "fusedrnn"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)),
        done_(std::move(done)) {
    if (!owner.IsEmpty()) owner_ = Napi::Persistent(owner);
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { failure_.capture(work_); }
  void OnOK() override {
    done_();
    Napi::HandleScope scope(Env());
    if (failure_.failed()) {
      deferred_.Reject(failure_.to_js(Env()).Value());
      return;
    }
    try {
      deferred_.Resolve(result_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;
  std::function<void()> work_;
  Result result_;
  std::function<void()> done_;
  Failure failure_;
};

Cell parse_cell(const std::string& s, const std::string& where) {
  if (s == "lstm") return Cell::LSTM;
  if (s == "gru") return Cell::GRU;
  if (s == "rnn_tanh") return Cell::RNN_TANH;
  if (s == "rnn_relu") return Cell::RNN_RELU;
  range_error(where + " must be 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu', got '" + s + "'");
}

NetworkConfig parse_config(const Napi::Object& o) {
  const std::string w = "config";
  NetworkConfig c;
  const std::string input = string_or(o, "input", w, "embedding");
  if (input == "embedding") c.input = InputKind::Embedding;
  else if (input == "oneHot") c.input = InputKind::OneHot;
  else if (input == "features") c.input = InputKind::Features;
  else range_error("config.input must be 'embedding', 'oneHot' or 'features', got '" + input + "'");
  constexpr int kMax = 1 << 24;
  c.vocab = int_or(o, "vocab", w, 0, kMax, 0);
  c.embedding_dim = int_or(o, "embeddingDim", w, 0, kMax, 0);
  c.freeze_embedding = bool_or(o, "freezeEmbedding", w, false);
  c.features = int_or(o, "features", w, 0, kMax, 0);
  c.condition = int_or(o, "condition", w, 0, kMax, 0);
  c.attention = int_or(o, "attention", w, 0, kMax, 0);
  const std::string score = string_or(o, "attentionScore", w, "general");
  if (score != "general" && score != "dot") range_error("config.attentionScore must be 'general' or 'dot', got '" + score + "'");
  c.attention_dot = score == "dot";
  const Napi::Value layers = o.Get("layers");
  if (!layers.IsArray()) type_error("config.layers must be an array");
  const auto arr = layers.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string at = "config.layers[" + std::to_string(i) + "]";
    if (!arr.Get(i).IsObject()) type_error(at + " must be an object");
    const auto l = arr.Get(i).As<Napi::Object>();
    RecurrentSpec s;
    s.cell = parse_cell(string_or(l, "cell", at, "lstm"), at + ".cell");
    s.hidden = int_at(l, "hidden", at, 1, kMax);
    s.bidirectional = bool_or(l, "bidirectional", at, false);
    s.peephole = bool_or(l, "peephole", at, false);
    s.reset_before = bool_or(l, "resetBefore", at, false);
    s.dropout_input = number_or(l, "dropoutInput", at, 0);
    s.dropout_output = number_or(l, "dropoutOutput", at, 0);
    c.layers.push_back(s);
  }
  c.return_sequences = bool_or(o, "returnSequences", w, true);
  const Napi::Value dense = o.Get("dense");
  if (!dense.IsArray()) type_error("config.dense must be an array");
  const auto darr = dense.As<Napi::Array>();
  for (uint32_t i = 0; i < darr.Length(); ++i) {
    const std::string at = "config.dense[" + std::to_string(i) + "]";
    if (!darr.Get(i).IsObject()) type_error(at + " must be an object");
    const auto d = darr.Get(i).As<Napi::Object>();
    DenseSpec s;
    s.units = int_at(d, "units", at, 1, kMax);
    const std::string act = string_or(d, "activation", at, "linear");
    if (act == "linear") s.activation = Activation::Linear;
    else if (act == "tanh") s.activation = Activation::Tanh;
    else range_error(at + ".activation must be 'linear' or 'tanh', got '" + act + "'");
    c.dense.push_back(s);
  }
  const std::string loss = string_or(o, "loss", w, "softmaxCrossEntropy");
  if (loss == "softmaxCrossEntropy") c.loss = LossKind::SoftmaxXent;
  else if (loss == "mse") c.loss = LossKind::Mse;
  else range_error("config.loss must be 'softmaxCrossEntropy' or 'mse', got '" + loss + "'");
  const std::string init = string_or(o, "init", w, "keras");
  if (init == "keras") c.init = InitScheme::Keras;
  else if (init == "pytorch") c.init = InitScheme::PyTorch;
  else range_error("config.init must be 'keras' or 'pytorch', got '" + init + "'");
  c.forget_bias = number_or(o, "forgetBias", w, 1.0);
  c.sampled_softmax = int_or(o, "sampledSoftmax", w, 0, 1 << 20, 0);
  c.seed = seed_or(o, "seed", w, 0);
  c.validate();
  return c;
}

Batch parse_batch(const Napi::Value& v, const NetworkConfig& cfg) {
  if (!v.IsObject()) type_error("batch must be an object");
  const auto o = v.As<Napi::Object>();
  const std::string w = "batch";
  Batch b;
  b.B = int_at(o, "batchSize", w, 1, 1 << 24);
  b.T = int_at(o, "steps", w, 1, 1 << 24);
  if (cfg.input == InputKind::Features)
    b.features = floats(o.Get("inputs"), "batch.inputs");
  else
    b.tokens = int32s(o.Get("inputs"), "batch.inputs");
  if (present(o, "lengths")) b.lengths = int32s(o.Get("lengths"), "batch.lengths");
  if (present(o, "targets")) {
    if (cfg.loss == LossKind::SoftmaxXent)
      b.class_targets = int32s(o.Get("targets"), "batch.targets");
    else
      b.value_targets = floats(o.Get("targets"), "batch.targets");
  }
  if (present(o, "weights")) b.weights = floats(o.Get("weights"), "batch.weights");
  if (present(o, "condition")) b.condition = floats(o.Get("condition"), "batch.condition");
  if (present(o, "memory")) {
    b.memory = floats(o.Get("memory"), "batch.memory");
    b.memory_steps = int_at(o, "memorySteps", w, 1, 1 << 24);
  }
  if (present(o, "memoryLengths")) b.memory_lengths = int32s(o.Get("memoryLengths"), "batch.memoryLengths");
  return b;
}

TrainOptions parse_train_options(const Napi::Value& v) {
  TrainOptions t;
  if (v.IsUndefined()) return t;
  if (!v.IsObject()) type_error("options must be an object");
  const auto o = v.As<Napi::Object>();
  const std::string w = "options";
  t.adam.lr = number_or(o, "learningRate", w, 1e-3);
  t.adam.beta1 = number_or(o, "beta1", w, 0.9);
  t.adam.beta2 = number_or(o, "beta2", w, 0.999);
  t.adam.eps = number_or(o, "epsilon", w, 1e-8);
  t.adam.weight_decay = number_or(o, "weightDecay", w, 0);
  t.adam.decoupled = bool_or(o, "decoupledWeightDecay", w, false);
  t.clip_norm = number_or(o, "clipNorm", w, 0);
  t.carry_state = bool_or(o, "carryState", w, false);
  const std::string non_finite = string_or(o, "nonFinite", w, "error");
  if (non_finite != "error" && non_finite != "skip") range_error("options.nonFinite must be 'error' or 'skip'");
  t.error_on_non_finite = non_finite == "error";
  t.state_grad = bool_or(o, "stateGrad", w, false);
  t.memory_grad = bool_or(o, "memoryGrad", w, false);
  if (!(t.adam.lr >= 0)) range_error("options.learningRate must be >= 0");
  if (!(t.adam.beta1 >= 0 && t.adam.beta1 < 1)) range_error("options.beta1 must be in [0, 1)");
  if (!(t.adam.beta2 >= 0 && t.adam.beta2 < 1)) range_error("options.beta2 must be in [0, 1)");
  if (!(t.adam.eps > 0)) range_error("options.epsilon must be > 0");
  if (!(t.adam.weight_decay >= 0)) range_error("options.weightDecay must be >= 0");
  return t;
}

SampleConfig parse_sample_config(const Napi::Object& o) {
  const std::string w = "options";
  SampleConfig s;
  s.temperature = number_or(o, "temperature", w, 1.0);
  s.top_k = int_or(o, "topK", w, 0, 1 << 24, 0);
  s.top_p = number_or(o, "topP", w, 1.0);
  s.greedy = bool_or(o, "greedy", w, false);
  const std::string precision = string_or(o, "precision", w, "fp32");
  if (precision != "fp32" && precision != "bf16") range_error("options.precision must be 'fp32' or 'bf16', got '" + precision + "'");
  s.bf16 = precision == "bf16";
  if (!(s.temperature > 0)) range_error("options.temperature must be > 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) range_error("options.topP must be in (0, 1]");
  return s;
}

Napi::Array float64_blocks(Napi::Env env, const std::vector<std::vector<double>>& blocks) {
  auto arr = Napi::Array::New(env, blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    auto a = Napi::Float64Array::New(env, blocks[i].size());
    std::copy(blocks[i].begin(), blocks[i].end(), a.Data());
    arr.Set(static_cast<uint32_t>(i), a);
  }
  return arr;
}

std::vector<std::vector<double>> parse_blocks(const Napi::Value& v, const std::string& where) {
  if (!v.IsArray()) type_error(where + " must be an array of Float32Array/Float64Array blocks");
  const auto arr = v.As<Napi::Array>();
  std::vector<std::vector<double>> blocks;
  for (uint32_t i = 0; i < arr.Length(); ++i) blocks.push_back(floats(arr.Get(i), where + "[" + std::to_string(i) + "]"));
  return blocks;
}

Napi::Object step_result(Napi::Env env, const StepResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("gradNorm", r.grad_norm);
  o.Set("correct", r.correct);
  o.Set("weightSum", r.weight_sum);
  o.Set("skipped", r.skipped);
  if (!r.state_grad.empty()) o.Set("stateGrad", float64_blocks(env, r.state_grad));
  if (!r.memory_grad.empty()) {
    auto a = Napi::Float64Array::New(env, r.memory_grad.size());
    std::copy(r.memory_grad.begin(), r.memory_grad.end(), a.Data());
    o.Set("memoryGrad", a);
  }
  return o;
}

Napi::Float64Array to_float64(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

// Parameter infos as JS objects {name, shape, trainable}.
Napi::Array param_infos(Napi::Env env, const std::vector<ParamInfo>& ps) {
  auto arr = Napi::Array::New(env, ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    auto o = Napi::Object::New(env);
    o.Set("name", ps[i].name);
    auto shape = Napi::Array::New(env, ps[i].shape.size());
    for (size_t d = 0; d < ps[i].shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), ps[i].shape[d]);
    o.Set("shape", shape);
    o.Set("trainable", ps[i].trainable);
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {
                           StaticMethod<&Model::Build>("build"),
                           StaticMethod<&Model::PlanParams>("planParams"),
                           InstanceMethod<&Model::TrainStep>("trainStep"),
                           InstanceMethod<&Model::TrainStepSync>("trainStepSync"),
                           InstanceMethod<&Model::Evaluate>("evaluate"),
                           InstanceMethod<&Model::EvaluateSync>("evaluateSync"),
                           InstanceMethod<&Model::Predict>("predict"),
                           InstanceMethod<&Model::Encode>("encode"),
                           InstanceMethod<&Model::TrainFromStateGrad>("trainFromStateGrad"),
                           InstanceMethod<&Model::Generate>("generate"),
                           InstanceMethod<&Model::GenerateChunk>("generateChunk"),
                           InstanceMethod<&Model::Params>("params"),
                           InstanceMethod<&Model::GetParam>("getParam"),
                           InstanceMethod<&Model::SetParam>("setParam"),
                           InstanceMethod<&Model::GetGrad>("getGrad"),
                           InstanceMethod<&Model::GetState>("getState"),
                           InstanceMethod<&Model::SetState>("setState"),
                           InstanceMethod<&Model::ResetState>("resetState"),
                           InstanceMethod<&Model::Info>("info"),
                           InstanceMethod<&Model::ActivationBytes>("activationBytes"),
                           InstanceMethod<&Model::ExportTrainingState>("exportTrainingState"),
                           InstanceMethod<&Model::ImportTrainingState>("importTrainingState"),
                           InstanceMethod<&Model::Dispose>("dispose"),
                       });
  }

  // new Model(config, backend, dtype, options?: { device?: number, precision?: 'tf32'|'fp32' }),
  // or new Model(handle) with what Model.build resolved with.
  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    guard(info.Env(), [&] {
      if (info.Length() >= 1 && info[0].IsExternal()) {
        auto* built = info[0].As<Napi::External<std::shared_ptr<Network>>>().Data();
        if (!built || !*built) type_error("this model handle was already used");
        net_ = std::move(*built);
        return;
      }
      if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsString() || !info[2].IsString())
        type_error("expected new Model(config: object, backend: string, dtype: string, options?: object)");
      net_ = make_network(parse_config(info[0].As<Napi::Object>()), info[1].As<Napi::String>(),
                          info[2].As<Napi::String>(), parse_backend_options(info));
    });
    report_memory(info.Env());
  }

  // Model.build(config, backend, dtype, options?) -> Promise<handle>: the network (its
  // parameter initialization, seconds for large layers) is built on the thread pool; pass the
  // handle to new Model(handle).
  static Napi::Value Build(const Napi::CallbackInfo& info) {
    struct Args {
      NetworkConfig config;
      std::string backend, dtype;
      BackendOptions options;
    };
    auto args = std::make_shared<Args>(guard(info.Env(), [&] {
      if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsString() || !info[2].IsString())
        type_error("expected Model.build(config: object, backend: string, dtype: string, options?: object)");
      return Args{parse_config(info[0].As<Napi::Object>()), info[1].As<Napi::String>(), info[2].As<Napi::String>(),
                  parse_backend_options(info)};
    }));
    auto built = std::make_shared<std::shared_ptr<Network>>();
    auto* worker = new PromiseWorker(
        info.Env(), Napi::Object(), [args, built] { *built = make_network(args->config, args->backend, args->dtype, args->options); },
        [built](Napi::Env env) -> Napi::Value {
          return Napi::External<std::shared_ptr<Network>>::New(
              env, new std::shared_ptr<Network>(std::move(*built)),
              [](Napi::Env, std::shared_ptr<Network>* p) { delete p; });
        },
        [] {});
    worker->Queue();
    return worker->promise();
  }

  // The parameters a config would have (names, shapes), computed without allocating any: loading
  // checks a file's tensors against them before it builds the model.
  static Napi::Value PlanParams(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      if (info.Length() < 1 || !info[0].IsObject()) type_error("expected Model.planParams(config: object)");
      return param_infos(info.Env(), plan_parameters(parse_config(info[0].As<Napi::Object>())).params);
    });
  }

  ~Model() override {
    if (reported_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_bytes_);
  }

 private:
  // The network, checked to be usable now (not disposed, not in use by an async call).
  std::shared_ptr<Network> acquire(Napi::Env env) {
    if (!net_) throw Napi::Error::New(env, "this model has been disposed");
    if (busy_->load()) throw Napi::Error::New(env, "this model is busy: await its previous call first");
    report_memory(env);
    return net_;
  }

  // Tells V8 how much native memory this model holds, so a forgotten model's small JS wrapper
  // still creates the GC pressure that frees it. Only called while no worker uses the network:
  // before every call and after it (a call may grow the model's scratch and packed weights).
  void report_memory(Napi::Env env) {
    const int64_t now = net_ ? static_cast<int64_t>(net_->native_bytes()) : 0;
    if (now != reported_bytes_) {
      Napi::MemoryManagement::AdjustExternalMemory(env, now - reported_bytes_);
      reported_bytes_ = now;
    }
  }

  // Queues work on the thread pool; the model is busy until the Promise settles.
  Napi::Value run_async(Napi::Env env, std::function<void()> work, Result result) {
    acquire(env);
    busy_->store(true);
    auto busy = busy_;
    auto* worker = new PromiseWorker(env, Value(), std::move(work), std::move(result), [this, busy, env] {
      busy->store(false);
      report_memory(env);
    });
    worker->Queue();
    return worker->promise();
  }

  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto batch = std::make_shared<Batch>(guard(info.Env(), [&] { return parse_batch(info[0], net->config()); }));
    auto opts = guard(info.Env(), [&] { return parse_train_options(info[1]); });
    auto out = std::make_shared<StepResult>();
    return run_async(
        info.Env(), [net, batch, opts, out] { *out = net->train_step(*batch, opts); },
        [out](Napi::Env env) { return step_result(env, *out); });
  }

  // Reports the model's memory when a synchronous call returns or throws.
  struct ReportAfter {
    Model& model;
    Napi::Env env;
    ~ReportAfter() { model.report_memory(env); }
  };

  Napi::Value TrainStepSync(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    const ReportAfter report{*this, info.Env()};
    return guard(info.Env(), [&] {
      const Batch batch = parse_batch(info[0], net->config());
      return step_result(info.Env(), net->train_step(batch, parse_train_options(info[1])));
    });
  }

  // evaluate(batch, useState?, keepState?)
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto batch = std::make_shared<Batch>(guard(info.Env(), [&] { return parse_batch(info[0], net->config()); }));
    const bool use_state = info[1].ToBoolean().Value();
    const bool keep_state = info[2].ToBoolean().Value();
    auto out = std::make_shared<StepResult>();
    return run_async(
        info.Env(), [net, batch, use_state, keep_state, out] { *out = net->evaluate(*batch, use_state, keep_state); },
        [out](Napi::Env env) { return step_result(env, *out); });
  }

  Napi::Value EvaluateSync(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    const ReportAfter report{*this, info.Env()};
    return guard(info.Env(), [&] {
      const Batch batch = parse_batch(info[0], net->config());
      return step_result(info.Env(), net->evaluate(batch, info[1].ToBoolean().Value(), info[2].ToBoolean().Value()));
    });
  }

  // predict(batch, useState?, keepState?) -> Float64Array [rows * outputWidth]
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto batch = std::make_shared<Batch>(guard(info.Env(), [&] { return parse_batch(info[0], net->config()); }));
    const bool use_state = info[1].ToBoolean().Value();
    const bool keep_state = info[2].ToBoolean().Value();
    auto out = std::make_shared<std::vector<double>>();
    return run_async(
        info.Env(), [net, batch, use_state, keep_state, out] { *out = net->predict(*batch, use_state, keep_state); },
        [out](Napi::Env env) -> Napi::Value { return to_float64(env, *out); });
  }

  // encode(batch, training) -> Promise<Float64Array[]>: the final states, get_state's blocks.
  // encode(batch, training) -> Promise<{ blocks: Float64Array[], outputs: Float64Array }>.
  Napi::Value Encode(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto batch = std::make_shared<Batch>(guard(info.Env(), [&] { return parse_batch(info[0], net->config()); }));
    const bool training = info[1].ToBoolean().Value();
    auto out = std::make_shared<Network::Encoded>();
    return run_async(
        info.Env(), [net, batch, training, out] { *out = net->encode(*batch, training); },
        [out](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("blocks", float64_blocks(env, out->blocks));
          o.Set("outputs", to_float64(env, out->outputs));
          return o;
        });
  }

  // trainFromStateGrad(blocks, options, outputGrad?) -> Promise<step result>, after encode(batch, true).
  Napi::Value TrainFromStateGrad(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto grad = std::make_shared<std::vector<std::vector<double>>>(guard(info.Env(), [&] { return parse_blocks(info[0], "stateGrad"); }));
    auto opts = guard(info.Env(), [&] { return parse_train_options(info[1]); });
    auto output_grad = std::make_shared<std::vector<double>>(guard(info.Env(), [&] {
      return info.Length() > 2 && !info[2].IsUndefined() ? floats(info[2], "outputGrad") : std::vector<double>{};
    }));
    auto out = std::make_shared<StepResult>();
    return run_async(
        info.Env(), [net, grad, output_grad, opts, out] { *out = net->train_from_state_grad(*grad, *output_grad, opts); },
        [out](Napi::Env env) { return step_result(env, *out); });
  }

  struct GenerateArgs {
    std::vector<int32_t> prime;
    int B = 0, P = 0, steps = 0;
    SampleConfig sample;
    uint64_t seed = 0;
    std::vector<double> condition;
  };

  static GenerateArgs parse_generate_args(const Napi::CallbackInfo& info, const char* usage) {
    GenerateArgs a;
    a.prime = int32s(info[0], "prime");
    if (!info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsObject()) type_error(usage);
    const double B = info[1].As<Napi::Number>().DoubleValue(), steps = info[2].As<Napi::Number>().DoubleValue();
    if (B != static_cast<int>(B) || B < 1) range_error("batchSize must be an integer >= 1");
    if (steps != static_cast<int>(steps) || steps < 0 || steps > (1 << 24)) range_error("steps must be an integer in [0, 2^24]");
    a.B = static_cast<int>(B);
    a.steps = static_cast<int>(steps);
    if (a.prime.empty() || a.prime.size() % a.B != 0) range_error("prime must hold batchSize * primeLength (>= 1) token ids");
    a.P = static_cast<int>(a.prime.size() / a.B);
    const auto o = info[3].As<Napi::Object>();
    a.sample = parse_sample_config(o);
    a.seed = seed_or(o, "seed", "options", 0);
    if (present(o, "condition")) a.condition = floats(o.Get("condition"), "options.condition");
    return a;
  }

  static Napi::Int32Array to_int32(Napi::Env env, const std::vector<int32_t>& v) {
    auto a = Napi::Int32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  }

  // generate(prime: Int32Array [B*P], batchSize, steps, options) -> Promise<Int32Array [B*steps]>
  Napi::Value Generate(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto args = std::make_shared<GenerateArgs>(guard(info.Env(), [&] {
      return parse_generate_args(info, "expected generate(prime: Int32Array, batchSize: number, steps: number, options: object)");
    }));
    auto out = std::make_shared<std::vector<int32_t>>();
    return run_async(
        info.Env(),
        [net, args, out] { *out = net->generate(args->prime, args->B, args->P, args->steps, args->sample, args->seed, nullptr, args->condition); },
        [out](Napi::Env env) -> Napi::Value { return to_int32(env, *out); });
  }

  // generateChunk(prime, batchSize, steps, options, state: {h, c, drawn} | null)
  //   -> Promise<{tokens: Int32Array [B*steps], state: {h: Float64Array[], c: Float64Array[], drawn}}>
  // One chunk of a streamed generation: pass the returned state and the last drawn tokens (as
  // the prime) to the next call; the chunks together equal one generate() call with that seed.
  Napi::Value GenerateChunk(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    using GenState = Network::GenerationState;
    struct Job {
      GenerateArgs args;
      GenState state;
      std::vector<int32_t> tokens;
    };
    auto job = std::make_shared<Job>(guard(info.Env(), [&] {
      Job j;
      j.args = parse_generate_args(
          info, "expected generateChunk(prime: Int32Array, batchSize: number, steps: number, options: object, state: object | null)");
      if (info[4].IsObject()) {
        const auto o = info[4].As<Napi::Object>();
        if (!o.Get("h").IsArray() || !o.Get("c").IsArray() || !o.Get("drawn").IsNumber())
          type_error("state must be {h: Float64Array[], c: Float64Array[], drawn: number}");
        for (const char* key : {"h", "c"}) {
          const auto arr = o.Get(key).As<Napi::Array>();
          auto& blocks = key[0] == 'h' ? j.state.h : j.state.c;
          for (uint32_t i = 0; i < arr.Length(); ++i)
            blocks.push_back(floats(arr.Get(i), std::string("state.") + key + "[" + std::to_string(i) + "]"));
        }
        const double drawn = o.Get("drawn").As<Napi::Number>().DoubleValue();
        if (drawn != std::floor(drawn) || drawn < 0 || drawn >= 9007199254740992.0)
          range_error("state.drawn must be an integer >= 0");
        j.state.drawn = static_cast<int64_t>(drawn);
        if (j.state.h.empty()) range_error("state.h must not be empty");
      } else if (!info[4].IsNull() && !info[4].IsUndefined()) {
        type_error("state must be an object or null");
      }
      return j;
    }));
    return run_async(
        info.Env(),
        [net, job] {
          const GenerateArgs& a = job->args;
          job->tokens = net->generate(a.prime, a.B, a.P, a.steps, a.sample, a.seed, &job->state, a.condition);
        },
        [job](Napi::Env env) -> Napi::Value {
          auto result = Napi::Object::New(env);
          result.Set("tokens", to_int32(env, job->tokens));
          auto state = Napi::Object::New(env);
          for (const char* key : {"h", "c"}) {
            const auto& blocks = key[0] == 'h' ? job->state.h : job->state.c;
            auto arr = Napi::Array::New(env, blocks.size());
            for (size_t i = 0; i < blocks.size(); ++i) arr.Set(static_cast<uint32_t>(i), to_float64(env, blocks[i]));
            state.Set(key, arr);
          }
          state.Set("drawn", static_cast<double>(job->state.drawn));
          result.Set("state", state);
          return result;
        });
  }

  Napi::Value Params(const Napi::CallbackInfo& info) {
    return param_infos(info.Env(), acquire(info.Env())->params());
  }

  Napi::Value GetParam(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "name must be a string");
    return guard(info.Env(), [&] { return to_float64(info.Env(), net->get_param(info[0].As<Napi::String>())); });
  }

  Napi::Value GetGrad(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "name must be a string");
    return guard(info.Env(), [&] { return to_float64(info.Env(), net->get_grad(info[0].As<Napi::String>())); });
  }

  Napi::Value SetParam(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "name must be a string");
    guard(info.Env(), [&] { net->set_param(info[0].As<Napi::String>(), floats(info[1], "values")); });
    return info.Env().Undefined();
  }

  // -> { batchSize, blocks: Float64Array[] }
  Napi::Value GetState(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    int batch = 0;
    const auto blocks = guard(info.Env(), [&] { return net->get_state(&batch); });
    auto o = Napi::Object::New(info.Env());
    o.Set("batchSize", batch);
    auto arr = Napi::Array::New(info.Env(), blocks.size());
    for (size_t i = 0; i < blocks.size(); ++i) arr.Set(static_cast<uint32_t>(i), to_float64(info.Env(), blocks[i]));
    o.Set("blocks", arr);
    return o;
  }

  // setState(batchSize, blocks)
  Napi::Value SetState(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    guard(info.Env(), [&] {
      if (!info[0].IsNumber() || !info[1].IsArray()) type_error("expected setState(batchSize: number, blocks: array)");
      const auto arr = info[1].As<Napi::Array>();
      std::vector<std::vector<double>> blocks;
      for (uint32_t i = 0; i < arr.Length(); ++i) blocks.push_back(floats(arr.Get(i), "blocks[" + std::to_string(i) + "]"));
      const double B = info[0].As<Napi::Number>().DoubleValue();
      if (B != static_cast<int>(B)) range_error("batchSize must be an integer");
      net->set_state(static_cast<int>(B), blocks);
    });
    return info.Env().Undefined();
  }

  // activationBytes(batchSize, steps): what a call on that batch shape would allocate, measured
  // without allocating (lib/memory-budget.ts compares it with the budget).
  Napi::Value ActivationBytes(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    return guard(info.Env(), [&]() -> Napi::Value {
      if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
        type_error("expected activationBytes(batchSize: number, steps: number)");
      const double B = info[0].As<Napi::Number>().DoubleValue(), T = info[1].As<Napi::Number>().DoubleValue();
      const auto dimension = [](double v) { return v >= 1 && v <= (1 << 24) && v == static_cast<int>(v); };
      if (!dimension(B) || !dimension(T)) range_error("batchSize and steps must be integers in [1, 2^24]");
      return Napi::Number::New(info.Env(), static_cast<double>(net->activation_bytes(static_cast<int>(B), static_cast<int>(T))));
    });
  }

  Napi::Value ResetState(const Napi::CallbackInfo& info) {
    acquire(info.Env())->reset_state();
    return info.Env().Undefined();
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto o = Napi::Object::New(info.Env());
    o.Set("backend", net->backend());
    o.Set("dtype", net->dtype());
    o.Set("step", static_cast<double>(net->step()));
    o.Set("rngCounter", static_cast<double>(net->rng_counter()));
    size_t n = 0;
    for (const auto& p : net->params()) n += p.size;
    o.Set("parameterCount", static_cast<double>(n));
    o.Set("nativeBytes", static_cast<double>(net->native_bytes()));
    const BackendDetails d = guard(info.Env(), [&] { return backend_details(*net); });
    o.Set("precision", d.precision);
    o.Set("graphCaptures", static_cast<double>(d.graphs.captures));
    o.Set("graphReplays", static_cast<double>(d.graphs.replays));
    o.Set("graphFallbacks", static_cast<double>(d.graphs.fallbacks));
    if (d.device >= 0) {
      o.Set("device", d.device);
      o.Set("deviceName", d.device_name);
      o.Set("computeCapability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
      o.Set("totalMemory", static_cast<double>(d.total_memory));
      o.Set("driverVersion", d.driver_version);
      o.Set("runtimeVersion", d.runtime_version);
    }
    return o;
  }

  static BackendOptions parse_backend_options(const Napi::CallbackInfo& info) {
    BackendOptions o;
    if (info.Length() < 4 || info[3].IsUndefined()) return o;
    if (!info[3].IsObject()) type_error("options must be an object { device?, precision? }");
    const auto obj = info[3].As<Napi::Object>();
    if (obj.Has("device") && !obj.Get("device").IsUndefined()) {
      const Napi::Value v = obj.Get("device");
      if (!v.IsNumber()) type_error("options.device must be a number");
      const double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= 1024 && d == static_cast<int>(d)))
        range_error("options.device must be a non-negative integer, got " + std::to_string(d));
      o.device = static_cast<int>(d);
    }
    if (obj.Has("precision") && !obj.Get("precision").IsUndefined()) {
      const Napi::Value v = obj.Get("precision");
      if (!v.IsString()) type_error("options.precision must be 'tf32' or 'fp32'");
      const std::string p = v.As<Napi::String>();
      if (p != "tf32" && p != "fp32") range_error("options.precision must be 'tf32' or 'fp32', got '" + p + "'");
      o.tf32 = p == "tf32";
    }
    if (obj.Has("initialize") && !obj.Get("initialize").IsUndefined()) {
      if (!obj.Get("initialize").IsBoolean()) type_error("options.initialize must be a boolean");
      o.initialize = obj.Get("initialize").As<Napi::Boolean>();
    }
    return o;
  }

  // -> { params, m, v: Float64Array (arena order), step, rngCounter }
  Napi::Value ExportTrainingState(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    const auto s = guard(info.Env(), [&] { return net->export_training_state(); });
    auto o = Napi::Object::New(info.Env());
    o.Set("params", to_float64(info.Env(), s.params));
    o.Set("m", to_float64(info.Env(), s.m));
    o.Set("v", to_float64(info.Env(), s.v));
    o.Set("step", static_cast<double>(s.step));
    o.Set("rngCounter", static_cast<double>(s.rng_counter));
    return o;
  }

  Napi::Value ImportTrainingState(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    guard(info.Env(), [&] {
      if (!info[0].IsObject()) type_error("state must be an object");
      const auto o = info[0].As<Napi::Object>();
      Network::TrainingState s;
      s.params = floats(o.Get("params"), "state.params");
      s.m = floats(o.Get("m"), "state.m");
      s.v = floats(o.Get("v"), "state.v");
      s.step = static_cast<int64_t>(seed_or(o, "step", "state", 0));
      s.rng_counter = seed_or(o, "rngCounter", "state", 0);
      net->import_training_state(s);
    });
    return info.Env().Undefined();
  }

  // Frees native memory now; an async call in flight keeps its own reference until it ends.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    net_.reset();
    if (!busy_->load()) report_memory(info.Env());
    return info.Env().Undefined();
  }

  std::shared_ptr<Network> net_;
  int64_t reported_bytes_ = 0;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

void RegisterModel(Napi::Env env, Napi::Object exports) { exports.Set("Model", Model::Define(env)); }

}  // namespace frnn::binding

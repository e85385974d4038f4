// The Model class: a thin wrapper over frnn::Network. Data is copied out of JS on the main
// thread; the work runs on libuv's pool (a Promise) or, in the *Sync variants, inline.
// One call at a time per model: a second call while one is in flight is rejected (lib/ queues).
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "../errors.h"
#include "../network.h"
#include "js_args.h"
#include "registry.h"

namespace frnn::binding {

namespace {

// An exception caught off the main thread, kept with its JS error kind.
struct Failure {
  enum class Kind { None, Type, Range, Plain } kind = Kind::None;
  std::string message;

  void capture(const std::function<void()>& work) {
    try {
      work();
    } catch (const ArgumentError& e) {
      kind = e.kind() == ArgumentError::Kind::Type ? Kind::Type : Kind::Range;
      message = e.what();
    } catch (const Napi::Error&) {
      throw;  // already a JS error (argument parsing on the main thread)
    } catch (const std::bad_alloc&) {
      kind = Kind::Plain;
      message = "out of memory";
    } catch (const std::exception& e) {
      kind = Kind::Plain;
      message = e.what();
    }
  }
  Napi::Error to_js(Napi::Env env) const {
    if (kind == Kind::Type) return Napi::TypeError::New(env, message);
    if (kind == Kind::Range) return Napi::RangeError::New(env, message);
    return Napi::Error::New(env, message);
  }
};

using Result = std::function<Napi::Value(Napi::Env)>;

// Runs `work` on the thread pool and settles a Promise with `result` (or the failure).
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, Result result, std::function<void()> done)
      : Napi::AsyncWorker(env, "fusedrnn"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)),
        done_(std::move(done)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { failure_.capture(work_); }
  void OnOK() override {
    done_();
    Napi::HandleScope scope(Env());
    if (failure_.kind != Failure::Kind::None) {
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
  if (!(s.temperature > 0)) range_error("options.temperature must be > 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) range_error("options.topP must be in (0, 1]");
  return s;
}

Napi::Object step_result(Napi::Env env, const StepResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("gradNorm", r.grad_norm);
  o.Set("correct", r.correct);
  o.Set("weightSum", r.weight_sum);
  return o;
}

Napi::Float64Array to_float64(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {
                           InstanceMethod<&Model::TrainStep>("trainStep"),
                           InstanceMethod<&Model::TrainStepSync>("trainStepSync"),
                           InstanceMethod<&Model::Evaluate>("evaluate"),
                           InstanceMethod<&Model::EvaluateSync>("evaluateSync"),
                           InstanceMethod<&Model::Predict>("predict"),
                           InstanceMethod<&Model::Generate>("generate"),
                           InstanceMethod<&Model::Params>("params"),
                           InstanceMethod<&Model::GetParam>("getParam"),
                           InstanceMethod<&Model::SetParam>("setParam"),
                           InstanceMethod<&Model::GetGrad>("getGrad"),
                           InstanceMethod<&Model::GetState>("getState"),
                           InstanceMethod<&Model::SetState>("setState"),
                           InstanceMethod<&Model::ResetState>("resetState"),
                           InstanceMethod<&Model::Info>("info"),
                           InstanceMethod<&Model::ExportTrainingState>("exportTrainingState"),
                           InstanceMethod<&Model::ImportTrainingState>("importTrainingState"),
                           InstanceMethod<&Model::Dispose>("dispose"),
                       });
  }

  // new Model(config, backend, dtype)
  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    guard(info.Env(), [&] {
      if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsString() || !info[2].IsString())
        type_error("expected new Model(config: object, backend: string, dtype: string)");
      net_ = make_network(parse_config(info[0].As<Napi::Object>()), info[1].As<Napi::String>(),
                          info[2].As<Napi::String>());
    });
  }

 private:
  // Runs f on the main thread, turning native exceptions into JS ones.
  template <typename F>
  static auto guard(Napi::Env env, F&& f) -> decltype(f()) {
    Failure failure;
    if constexpr (std::is_void_v<decltype(f())>) {
      failure.capture([&] { f(); });
      if (failure.kind != Failure::Kind::None) throw failure.to_js(env);
    } else {
      decltype(f()) out{};
      failure.capture([&] { out = f(); });
      if (failure.kind != Failure::Kind::None) throw failure.to_js(env);
      return out;
    }
  }

  // The network, checked to be usable now (not disposed, not in use by an async call).
  std::shared_ptr<Network> acquire(Napi::Env env) {
    if (!net_) throw Napi::Error::New(env, "this model has been disposed");
    if (busy_->load()) throw Napi::Error::New(env, "this model is busy: await its previous call first");
    return net_;
  }

  // Queues work on the thread pool; the model is busy until the Promise settles.
  Napi::Value run_async(Napi::Env env, std::function<void()> work, Result result) {
    acquire(env);
    busy_->store(true);
    auto busy = busy_;
    auto* worker = new PromiseWorker(env, std::move(work), std::move(result), [busy] { busy->store(false); });
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

  Napi::Value TrainStepSync(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
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
    return guard(info.Env(), [&] {
      const Batch batch = parse_batch(info[0], net->config());
      return step_result(info.Env(), net->evaluate(batch, info[1].ToBoolean().Value(), info[2].ToBoolean().Value()));
    });
  }

  // predict(batch, useState?) -> Float64Array [rows * outputWidth]
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    auto batch = std::make_shared<Batch>(guard(info.Env(), [&] { return parse_batch(info[0], net->config()); }));
    const bool use_state = info[1].ToBoolean().Value();
    auto out = std::make_shared<std::vector<double>>();
    return run_async(
        info.Env(), [net, batch, use_state, out] { *out = net->predict(*batch, use_state); },
        [out](Napi::Env env) -> Napi::Value { return to_float64(env, *out); });
  }

  // generate(prime: Int32Array [B*P], batchSize, steps, options) -> Promise<Int32Array [B*steps]>
  Napi::Value Generate(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    struct Args {
      std::vector<int32_t> prime;
      int B = 0, P = 0, steps = 0;
      SampleConfig sample;
      uint64_t seed = 0;
    };
    auto args = std::make_shared<Args>(guard(info.Env(), [&] {
      Args a;
      a.prime = int32s(info[0], "prime");
      if (!info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsObject())
        type_error("expected generate(prime: Int32Array, batchSize: number, steps: number, options: object)");
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
      return a;
    }));
    auto out = std::make_shared<std::vector<int32_t>>();
    return run_async(
        info.Env(),
        [net, args, out] { *out = net->generate(args->prime, args->B, args->P, args->steps, args->sample, args->seed); },
        [out](Napi::Env env) -> Napi::Value {
          auto a = Napi::Int32Array::New(env, out->size());
          std::copy(out->begin(), out->end(), a.Data());
          return a;
        });
  }

  Napi::Value Params(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    const auto& ps = net->params();
    auto arr = Napi::Array::New(info.Env(), ps.size());
    for (size_t i = 0; i < ps.size(); ++i) {
      auto o = Napi::Object::New(info.Env());
      o.Set("name", ps[i].name);
      auto shape = Napi::Array::New(info.Env(), ps[i].shape.size());
      for (size_t d = 0; d < ps[i].shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), ps[i].shape[d]);
      o.Set("shape", shape);
      o.Set("trainable", ps[i].trainable);
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
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
    return info.Env().Undefined();
  }

  std::shared_ptr<Network> net_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

void RegisterModel(Napi::Env env, Napi::Object exports) { exports.Set("Model", Model::Define(env)); }

}  // namespace frnn::binding

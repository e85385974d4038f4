// The Model class: a thin wrapper over frnn::Network. Data is copied out of JS on the main
// thread (model_args.cc); the work runs on libuv's pool (a Promise) or, in the *Sync variants,
// inline; results go back as JS values (model_results.cc).
// One call at a time per model: a second call while one is in flight is rejected (lib/ queues).
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "../errors.h"
#include "../net/network.h"
#include "../net/network_params.h"
#include "backend_factory.h"
#include "js_args.h"
#include "js_errors.h"
#include "model_args.h"
#include "model_results.h"
#include "promise_worker.h"
#include "registry.h"

namespace frnn::binding {

namespace {

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

  // new Model(config, backend, dtype, options: { device, precision: 'tf32'|'fp32', initialize }),
  // or new Model(handle) with what Model.build resolved with.
  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    guard(info.Env(), [&] {
      if (info.Length() >= 1 && info[0].IsExternal()) {
        auto* built = info[0].As<Napi::External<std::shared_ptr<Network>>>().Data();
        if (!built || !*built) type_error("this model handle was already used");
        net_ = std::move(*built);
        return;
      }
      if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsString() || !info[2].IsString())
        type_error("expected new Model(config: object, backend: string, dtype: string, options: object)");
      net_ = make_network(parse_config(info[0].As<Napi::Object>()), info[1].As<Napi::String>(),
                          info[2].As<Napi::String>(), parse_backend_options(info[3]));
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
      if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsString() || !info[2].IsString())
        type_error("expected Model.build(config: object, backend: string, dtype: string, options: object)");
      return Args{parse_config(info[0].As<Napi::Object>()), info[1].As<Napi::String>(), info[2].As<Napi::String>(),
                  parse_backend_options(info[3])};
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
    // A CPU model's calls run on its own thread (model_thread.h); the GPU's on libuv's pool.
    if (!thread_ && std::string(net_->backend()) == "cpu") thread_ = std::make_shared<ModelThread>();
    auto* worker = new PromiseWorker(
        env, Value(), std::move(work), std::move(result),
        [this, busy, env] {
          busy->store(false);
          report_memory(env);
        },
        thread_);
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
      j.state = parse_generation_state(info[4]);
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
          result.Set("state", generation_state(env, job->state));
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
    o.Set("blocks", float64_blocks(info.Env(), blocks));
    return o;
  }

  // setState(batchSize, blocks)
  Napi::Value SetState(const Napi::CallbackInfo& info) {
    auto net = acquire(info.Env());
    guard(info.Env(), [&] {
      if (!info[0].IsNumber() || !info[1].IsArray()) type_error("expected setState(batchSize: number, blocks: array)");
      const auto blocks = parse_blocks(info[1], "blocks");
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

  Napi::Value Info(const Napi::CallbackInfo& info) { return model_info(info.Env(), *acquire(info.Env())); }

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
      s.params = floats(required(o, "params", "state"), "state.params");
      s.m = floats(required(o, "m", "state"), "state.m");
      s.v = floats(required(o, "v", "state"), "state.v");
      s.step = static_cast<int64_t>(seed_at(o, "step", "state"));
      s.rng_counter = seed_at(o, "rngCounter", "state");
      net->import_training_state(s);
    });
    return info.Env().Undefined();
  }

  // Frees native memory now; an async call in flight keeps its own reference until it ends.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    net_.reset();
    thread_.reset();  // joined now, or by the call in flight that still holds it when it ends
    if (!busy_->load()) report_memory(info.Env());
    return info.Env().Undefined();
  }

  std::shared_ptr<Network> net_;
  std::shared_ptr<ModelThread> thread_;
  int64_t reported_bytes_ = 0;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

void RegisterModel(Napi::Env env, Napi::Object exports) { exports.Set("Model", Model::Define(env)); }

}  // namespace frnn::binding

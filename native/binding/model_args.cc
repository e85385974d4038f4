// Reading the model binding's arguments (see model_args.h): every field required, no defaults.
#include "model_args.h"

#include <cmath>

#include "../errors.h"
#include "js_args.h"

namespace frnn::binding {

namespace {

constexpr int kMaxSize = 1 << 24;

std::string at_index(const std::string& where, uint32_t i) { return where + "[" + std::to_string(i) + "]"; }

// A Float32Array or Float64Array copied as it is (HostFloats): a float32 model's upload then
// takes a Float32Array's values without a round trip through doubles.
HostFloats host_floats(const Napi::Value& v, const std::string& what) {
  HostFloats out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    const auto a = v.As<Napi::Float32Array>();
    out.f32.assign(a.Data(), a.Data() + a.ElementLength());
  } else {
    out.f64 = floats(v, what);  // a Float64Array, or the TypeError naming `what`
  }
  return out;
}

// An array field whose elements are objects, each read by `read(element, "where[i]")`.
template <typename Read>
void each_object(const Napi::Object& o, const char* key, const std::string& where, Read read) {
  const Napi::Value v = required(o, key, where);
  if (!v.IsArray()) type_error(field(where, key) + " must be an array");
  const auto arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string at = at_index(field(where, key), i);
    if (!arr.Get(i).IsObject()) type_error(at + " must be an object");
    read(arr.Get(i).As<Napi::Object>(), at);
  }
}

RecurrentSpec parse_layer(const Napi::Object& l, const std::string& at) {
  RecurrentSpec s;
  static constexpr Cell kCells[] = {Cell::LSTM, Cell::GRU, Cell::RNN_TANH, Cell::RNN_RELU};
  s.cell = kCells[choice_at(l, "cell", at, {"lstm", "gru", "rnn_tanh", "rnn_relu"})];
  s.hidden = int_at(l, "hidden", at, 1, kMaxSize);
  s.bidirectional = bool_at(l, "bidirectional", at);
  s.peephole = bool_at(l, "peephole", at);
  s.reset_before = bool_at(l, "resetBefore", at);
  s.dropout_input = number_at(l, "dropoutInput", at);
  s.dropout_output = number_at(l, "dropoutOutput", at);
  return s;
}

DenseSpec parse_dense(const Napi::Object& d, const std::string& at) {
  DenseSpec s;
  s.units = int_at(d, "units", at, 1, kMaxSize);
  s.activation = choice_at(d, "activation", at, {"linear", "tanh"}) == 0 ? Activation::Linear : Activation::Tanh;
  return s;
}

SampleConfig parse_sample_config(const Napi::Object& o) {
  const std::string w = "options";
  SampleConfig s;
  s.temperature = number_at(o, "temperature", w);
  s.top_k = int_at(o, "topK", w, 0, kMaxSize);
  s.top_p = number_at(o, "topP", w);
  s.greedy = bool_at(o, "greedy", w);
  s.products = static_cast<ProductPrecision>(
      choice_at(o, "precision", w, kProductPrecisionNames));
  // The sampler divides by the temperature and walks the top-p mass: out of range, it could
  // draw no token at all.
  if (!(s.temperature > 0)) range_error("options.temperature must be > 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) range_error("options.topP must be in (0, 1]");
  return s;
}

}  // namespace

NetworkConfig parse_config(const Napi::Object& o) {
  const std::string w = "config";
  NetworkConfig c;
  static constexpr InputKind kInputs[] = {InputKind::Embedding, InputKind::OneHot, InputKind::Features};
  c.input = kInputs[choice_at(o, "input", w, {"embedding", "oneHot", "features"})];
  c.vocab = int_at(o, "vocab", w, 0, kMaxSize);
  c.embedding_dim = int_at(o, "embeddingDim", w, 0, kMaxSize);
  c.freeze_embedding = bool_at(o, "freezeEmbedding", w);
  c.features = int_at(o, "features", w, 0, kMaxSize);
  c.condition = int_at(o, "condition", w, 0, kMaxSize);
  c.attention = int_at(o, "attention", w, 0, kMaxSize);
  c.attention_dot = choice_at(o, "attentionScore", w, {"general", "dot"}) == 1;
  each_object(o, "layers", w, [&](const Napi::Object& l, const std::string& at) { c.layers.push_back(parse_layer(l, at)); });
  c.return_sequences = bool_at(o, "returnSequences", w);
  each_object(o, "dense", w, [&](const Napi::Object& d, const std::string& at) { c.dense.push_back(parse_dense(d, at)); });
  c.loss = choice_at(o, "loss", w, {"softmaxCrossEntropy", "mse"}) == 0 ? LossKind::SoftmaxXent : LossKind::Mse;
  c.init = choice_at(o, "init", w, {"keras", "pytorch"}) == 0 ? InitScheme::Keras : InitScheme::PyTorch;
  c.forget_bias = number_at(o, "forgetBias", w);
  c.sampled_softmax = int_at(o, "sampledSoftmax", w, 0, 1 << 20);
  c.seed = seed_at(o, "seed", w);
  c.validate();
  return c;
}

Batch parse_batch(const Napi::Value& v, const NetworkConfig& cfg) {
  if (!v.IsObject()) type_error("batch must be an object");
  const auto o = v.As<Napi::Object>();
  const std::string w = "batch";
  Batch b;
  b.B = int_at(o, "batchSize", w, 1, kMaxSize);
  b.T = int_at(o, "steps", w, 1, kMaxSize);
  if (cfg.input == InputKind::Features)
    b.features = host_floats(required(o, "inputs", w), "batch.inputs");
  else
    b.tokens = int32s(required(o, "inputs", w), "batch.inputs");
  if (cfg.loss == LossKind::SoftmaxXent)
    b.class_targets = int32s(required(o, "targets", w), "batch.targets");
  else
    b.value_targets = host_floats(required(o, "targets", w), "batch.targets");
  // Data, not settings: absent means no mask, no weights, no condition, no memory.
  if (present(o, "lengths")) b.lengths = int32s(o.Get("lengths"), "batch.lengths");
  if (present(o, "weights")) b.weights = floats(o.Get("weights"), "batch.weights");
  if (present(o, "condition")) b.condition = host_floats(o.Get("condition"), "batch.condition");
  if (present(o, "memory")) {
    b.memory = host_floats(o.Get("memory"), "batch.memory");
    b.memory_steps = int_at(o, "memorySteps", w, 1, kMaxSize);
  }
  if (present(o, "memoryLengths")) b.memory_lengths = int32s(o.Get("memoryLengths"), "batch.memoryLengths");
  return b;
}

TrainOptions parse_train_options(const Napi::Value& v) {
  if (!v.IsObject()) type_error("options must be an object");
  const auto o = v.As<Napi::Object>();
  const std::string w = "options";
  TrainOptions t;
  t.adam.lr = number_at(o, "learningRate", w);
  t.adam.beta1 = number_at(o, "beta1", w);
  t.adam.beta2 = number_at(o, "beta2", w);
  t.adam.eps = number_at(o, "epsilon", w);
  t.adam.weight_decay = number_at(o, "weightDecay", w);
  t.adam.decoupled = bool_at(o, "decoupledWeightDecay", w);
  t.clip_norm = number_at(o, "clipNorm", w);
  t.carry_state = bool_at(o, "carryState", w);
  t.error_on_non_finite = choice_at(o, "nonFinite", w, {"error", "skip"}) == 0;
  t.state_grad = bool_at(o, "stateGrad", w);
  t.memory_grad = bool_at(o, "memoryGrad", w);
  if (!(t.adam.lr >= 0)) range_error("options.learningRate must be >= 0");
  if (!(t.adam.beta1 >= 0 && t.adam.beta1 < 1)) range_error("options.beta1 must be in [0, 1)");
  if (!(t.adam.beta2 >= 0 && t.adam.beta2 < 1)) range_error("options.beta2 must be in [0, 1)");
  if (!(t.adam.eps > 0)) range_error("options.epsilon must be > 0");
  if (!(t.adam.weight_decay >= 0)) range_error("options.weightDecay must be >= 0");
  return t;
}

BackendOptions parse_backend_options(const Napi::Value& v) {
  if (!v.IsObject()) type_error("options must be an object { device, precision, initialize }");
  const auto o = v.As<Napi::Object>();
  const std::string w = "options";
  BackendOptions b;
  b.device = int_at(o, "device", w, 0, 1024);
  b.tf32 = choice_at(o, "precision", w, {"tf32", "fp32"}) == 0;
  b.initialize = bool_at(o, "initialize", w);
  return b;
}

std::vector<std::vector<double>> parse_blocks(const Napi::Value& v, const std::string& where) {
  if (!v.IsArray()) type_error(where + " must be an array of Float32Array/Float64Array blocks");
  const auto arr = v.As<Napi::Array>();
  std::vector<std::vector<double>> blocks;
  for (uint32_t i = 0; i < arr.Length(); ++i) blocks.push_back(floats(arr.Get(i), at_index(where, i)));
  return blocks;
}

GenerateArgs parse_generate_args(const Napi::CallbackInfo& info, const char* usage) {
  GenerateArgs a;
  a.prime = int32s(info[0], "prime");
  if (!info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsObject()) type_error(usage);
  const double B = info[1].As<Napi::Number>().DoubleValue(), steps = info[2].As<Napi::Number>().DoubleValue();
  if (B != static_cast<int>(B) || B < 1) range_error("batchSize must be an integer >= 1");
  if (steps != static_cast<int>(steps) || steps < 0 || steps > kMaxSize) range_error("steps must be an integer in [0, 2^24]");
  a.B = static_cast<int>(B);
  a.steps = static_cast<int>(steps);
  if (a.prime.empty() || a.prime.size() % a.B != 0) range_error("prime must hold batchSize * primeLength (>= 1) token ids");
  a.P = static_cast<int>(a.prime.size() / a.B);
  const auto o = info[3].As<Napi::Object>();
  a.sample = parse_sample_config(o);
  a.seed = seed_at(o, "seed", "options");
  if (present(o, "condition")) a.condition = floats(o.Get("condition"), "options.condition");
  return a;
}

Network::GenerationState parse_generation_state(const Napi::Value& v) {
  Network::GenerationState state;
  if (v.IsNull() || v.IsUndefined()) return state;
  if (!v.IsObject()) type_error("state must be an object or null");
  const auto o = v.As<Napi::Object>();
  if (!o.Get("h").IsArray() || !o.Get("c").IsArray() || !o.Get("drawn").IsNumber())
    type_error("state must be {h: Float64Array[], c: Float64Array[], drawn: number}");
  state.h = parse_blocks(o.Get("h"), "state.h");
  state.c = parse_blocks(o.Get("c"), "state.c");
  const double drawn = o.Get("drawn").As<Napi::Number>().DoubleValue();
  if (drawn != std::floor(drawn) || drawn < 0 || drawn >= 9007199254740992.0) range_error("state.drawn must be an integer >= 0");
  state.drawn = static_cast<int64_t>(drawn);
  if (state.h.empty()) range_error("state.h must not be empty");
  return state;
}

}  // namespace frnn::binding

// The network executor's interface: a layer plan built from NetworkConfig and run against Ops<T>,
// so one executor serves the fp64 reference, the fp32 CPU path and CUDA (network_impl.h; the
// binding's backend_factory.h builds one over a backend).
//
//   input (embedding | one-hot | float features) [B,T,I0]
//   -> recurrent layer 1..L (LSTM | GRU | RNN, optionally bidirectional: outputs [fwd, rev];
//      dropout on each layer's input and/or output while training)
//   -> every step [B*T, D*H]  or  the last valid step: the final states [B, D*H]
//   -> dense 1..K (linear | tanh) -> loss (softmax cross-entropy | MSE)
//
// All parameters live in one contiguous arena (trainable first, a frozen embedding last), and
// the gradients and both Adam moments in arenas of the same layout, so clipping, Adam and
// checkpoint I/O are single flat passes. One train_step = forward + backward + clip + Adam.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../ops.h"

namespace frnn {

enum class InputKind : int32_t { Embedding = 0, OneHot = 1, Features = 2 };
enum class LossKind : int32_t { SoftmaxXent = 0, Mse = 1 };
// Keras: glorot-uniform input weights, orthogonal recurrent blocks, zero biases.
// PyTorch: every recurrent weight and bias uniform in ±1/sqrt(H).
enum class InitScheme : int32_t { Keras = 0, PyTorch = 1 };

struct RecurrentSpec {
  Cell cell = Cell::LSTM;
  int hidden = 0;
  bool bidirectional = false;
  bool peephole = false;      // LSTM only
  bool reset_before = false;  // GRU only
  double dropout_input = 0;   // drop probability (textbook keep_prob 0.5 -> 0.5)
  double dropout_output = 0;
};

struct DenseSpec {
  int units = 0;
  Activation activation = Activation::Linear;
};

// The structs below hold no behaviour defaults (lib/options/ owns them and the binding sets
// every field); their members are zero-initialised only.
struct NetworkConfig {
  InputKind input = InputKind::Embedding;
  int vocab = 0;          // embedding / one-hot: token ids in [0, vocab)
  int embedding_dim = 0;  // embedding only
  bool freeze_embedding = false;
  int features = 0;       // float features per step
  // Conditioning features per sequence (0: none): every recurrent layer-direction starts from
  // h0 = tanh(W_c·condition + b_c) (c0 = 0) instead of zeros, trained end to end (captioning).
  int condition = 0;
  // Luong attention over a memory (0: none): memory vectors of this size per step, passed in each
  // batch; the stack's output h attends over them (score h·W_a·m, or h·m when attention_dot) and
  // the head sees tanh(W_c [context; h] + b_c). Needs return_sequences.
  int attention = 0;
  bool attention_dot = false;
  std::vector<RecurrentSpec> layers;
  bool return_sequences = false;  // false: the head sees the last valid step only
  std::vector<DenseSpec> dense;  // the last one produces the model output
  LossKind loss = LossKind::SoftmaxXent;
  // Sampled softmax while training (0: off): the softmax loss over the target and this many
  // classes drawn per step from a log-uniform (Zipf) distribution, so ids should be ordered by
  // frequency (WordVocabulary's are). evaluate and predict use the full softmax.
  int sampled_softmax = 0;
  InitScheme init = InitScheme::Keras;
  double forget_bias = 0;  // LSTM: stored in bias_ih's f slice, bias_hh's stays 0
  uint64_t seed = 0;

  void validate() const;  // throws ArgumentError naming the offending field
  int input_width() const;
  int output_width() const;
};

// Float values as JS passed them (a Float32Array's floats or a Float64Array's doubles, the other
// vector empty): copied once out of JS, converted once, at upload, to the model's precision.
struct HostFloats {
  std::vector<float> f32;
  std::vector<double> f64;
  size_t size() const { return f32.size() + f64.size(); }
  bool empty() const { return size() == 0; }
};

// One call's data, copied from JS before the work leaves the main thread.
struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> tokens;         // [B*T] for token inputs
  HostFloats features;                 // [B*T*features] for float inputs
  std::vector<int32_t> lengths;        // [B] or empty (all T)
  std::vector<int32_t> class_targets;  // softmax: [rows]
  HostFloats value_targets;            // mse: [rows*output_width]
  std::vector<double> weights;         // [rows] or empty; rows = B*T (sequences) or B (last step)
  HostFloats condition;                // [B*condition] for a conditioned network, else empty
  int memory_steps = 0;                // attention: S, and the memory [B*S*attention]
  HostFloats memory;
  std::vector<int32_t> memory_lengths;  // [B] in [1, S], or empty (all S)
};

struct TrainOptions {
  AdamConfig adam;
  double clip_norm = 0;     // <= 0: no clipping
  bool carry_state = false; // truncated BPTT: start from, and keep, the carried state
  // A step whose gradient norm is not finite is always skipped (weights, moments and carried
  // state untouched). false: report it in StepResult::skipped; true: throw an error naming it.
  bool error_on_non_finite = false;
  // With carry_state: also return the loss's gradient with respect to the carried state the
  // step started from (StepResult::state_grad), e.g. for the encoder that produced it.
  bool state_grad = false;
  // Attention networks: also return the loss's gradient with respect to the batch's memory.
  bool memory_grad = false;
};

struct StepResult {
  double loss = 0;
  double grad_norm = 0;   // before clipping (train_step only)
  double correct = 0;     // softmax: weighted count of argmax == target
  double weight_sum = 0;  // sum of the rows' weights (for averaging over batches)
  bool skipped = false;   // train_step only: the gradient norm was not finite, or the update would
                          // have made a weight or moment non-finite (Ops::adam's check)
  bool update_non_finite = false;  // the second reason
  // TrainOptions::state_grad: one block per carried-state block (get_state's order).
  std::vector<std::vector<double>> state_grad;
  std::vector<double> memory_grad;  // TrainOptions::memory_grad: [B*S*attention]
};

struct ParamInfo {
  std::string name;  // PyTorch names: embedding.weight, rnn.weight_ih_l0_reverse, dense.bias, ...
  std::vector<int> shape;
  size_t offset = 0;  // in the parameter arena
  size_t size = 0;
  bool trainable = true;
};

// Calls throw ArgumentError for what only the network can judge (a generation state's or a state
// gradient's block sizes, a train_from_state_grad without its encode),
// InternalError for what lib/ checks first (bounds and sizes: batch_checks.h; a call's
// preconditions: lib/model-checks.ts), and any other exception for a backend failure.
class Network {
 public:
  virtual ~Network() = default;
  virtual const NetworkConfig& config() const = 0;
  virtual const char* backend() const = 0;
  virtual const char* dtype() const = 0;

  virtual StepResult train_step(const Batch& batch, const TrainOptions& opts) = 0;
  // Forward only, no dropout. use_state: start from the carried state. keep_state: store this
  // batch's final state as the carried state (stateful evaluation of a stream, batch after batch).
  virtual StepResult evaluate(const Batch& batch, bool use_state, bool keep_state) = 0;
  // The head's outputs [rows, output_width] (logits for softmax models).
  virtual std::vector<double> predict(const Batch& batch, bool use_state, bool keep_state) = 0;
  // Encoder use: the recurrent stack over the batch from a zero (or conditioned) state; returns
  // every layer-direction's final state in get_state's block order. training: with dropout, and
  // the activations are kept for train_from_state_grad (until any other call on the network).
  // outputs: the top layer's outputs [B, T, width] (an attention decoder's memory).
  struct Encoded {
    std::vector<std::vector<double>> blocks;
    std::vector<double> outputs;
  };
  virtual Encoded encode(const Batch& batch, bool training) = 0;
  // Backward from a gradient with respect to the final states of the last encode(training)
  // (blocks as encode returned them; the head gets none) and, when given, with respect to its
  // outputs [B, T, width], then clip and Adam as train_step.
  virtual StepResult train_from_state_grad(const std::vector<std::vector<double>>& grad,
                                           const std::vector<double>& output_grad, const TrainOptions& opts) = 0;
  // What one generation carries from chunk to chunk, so streaming in chunks draws exactly the
  // tokens of one long call: per layer h and (LSTM) c [B,H], and the draws made so far (the
  // sampling counter continues from it). Empty h: start from a zero state.
  struct GenerationState {
    std::vector<std::vector<double>> h, c;
    int64_t drawn = 0;
  };
  // Feeds prime [B, P] from a zero state (the conditioned state of `condition` [B*condition] for a
  // conditioned network; or from *carry), then draws `steps` tokens per row: [B, steps]. With
  // carry, its state afterwards is written back: the next chunk passes the last drawn tokens as
  // its prime [B, 1].
  virtual std::vector<int32_t> generate(const std::vector<int32_t>& prime, int B, int P, int steps,
                                        const SampleConfig& cfg, uint64_t seed,
                                        GenerationState* carry = nullptr,
                                        const std::vector<double>& condition = {}) = 0;

  virtual const std::vector<ParamInfo>& params() const = 0;
  virtual std::vector<double> get_param(const std::string& name) = 0;
  virtual void set_param(const std::string& name, const std::vector<double>& values) = 0;
  // The gradient of the last train_step (before clipping); zeros for a frozen parameter.
  virtual std::vector<double> get_grad(const std::string& name) = 0;

  // Carried recurrent state: one [B,H] block per layer-direction (layer-major, forward then
  // reverse), h then (LSTM) c. Empty when nothing is carried yet.
  virtual void reset_state() = 0;
  virtual std::vector<std::vector<double>> get_state(int* batch) = 0;
  virtual void set_state(int batch, const std::vector<std::vector<double>>& blocks) = 0;

  virtual int64_t step() const = 0;  // Adam steps taken
  virtual size_t native_bytes() const = 0;  // backend memory held now (arenas, activations, state)
  // The backend memory a call on a [B, T] batch would add for its activations (0 when that shape's
  // are already held), computed without allocating. Attention memories and scratch are not included.
  virtual size_t activation_bytes(int B, int T) = 0;
  virtual uint64_t rng_counter() const = 0;

  // Everything training needs to resume exactly (checkpoints): the parameter arena and both Adam
  // moments in arena order (see params() offsets), the Adam step and the dropout counter.
  struct TrainingState {
    std::vector<double> params, m, v;
    int64_t step = 0;
    uint64_t rng_counter = 0;
  };
  virtual TrainingState export_training_state() = 0;
  virtual void import_training_state(const TrainingState& state) = 0;
};

}  // namespace frnn

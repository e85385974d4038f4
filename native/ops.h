// The op interface: every kernel fusedrnn runs, documented once.
//
// A backend (CPU fp64 reference, CPU fp32, CUDA fp32) implements Ops<T>; the network executor
// (net/network.h) is written once against it. All pointers are backend memory (host memory for the
// CPU backend, device memory for CUDA) unless a comment says "host".
//
// Shape vocabulary (row-major everywhere):
//   B batch, T steps, I input features, H hidden units, G gates per cell (gates.h),
//   V vocabulary / classes, E embedding width, N rows (usually B*T), O output features.
// Sequences are batch-major: row (b, t) of a [B,T,X] tensor starts at (b*T + t)*X.
//
// Gradient convention: gradients of *parameters* are accumulated (+=) so the caller zeroes the
// gradient arena once per step; gradients of *activations* are written (=) unless the op says
// otherwise. A nullable pointer (marked "nullable") means "absent": zeros for inputs, "not wanted"
// for outputs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <vector>

#include "gates.h"

namespace frnn {

// A logit that softmax turns into exactly 0 (finite, so max-subtraction stays NaN-free).
constexpr double kMaskedLogit = -1e30;

// One recurrent layer in one direction.
struct RnnShape {
  Cell cell = Cell::LSTM;
  int B = 0, T = 0, I = 0, H = 0;
  // Process each sequence from its last valid step (lengths[b]-1) back to 0: the reverse half of
  // a bidirectional layer. Output rows stay at their own t.
  bool reverse = false;
  // LSTM only: TF1 peepholes. i and f see c(t-1), o sees the new c(t).
  bool peephole = false;
  // GRU only. false (PyTorch/cuDNN): n = tanh(W_in x + b_in + r*(W_hn h + b_hn)).
  //           true  (TF1 GRUCell/tfjs): n = tanh(W_in x + b_in + W_hn (r*h) + b_hn).
  bool reset_before = false;
};

// Parameters of one layer-direction, gate order and peephole layout as in gates.h:
//   w_ih [G*H, I], w_hh [G*H, H], b_ih [G*H], b_hh [G*H],
//   peephole [3*H], only when shape.peephole (else nullptr).
template <typename T>
struct RnnParams {
  const T* w_ih = nullptr;
  const T* w_hh = nullptr;
  const T* b_ih = nullptr;
  const T* b_hh = nullptr;
  const T* peephole = nullptr;
};

// Their gradients, same shapes, accumulated (+=).
template <typename T>
struct RnnParamGrads {
  T* w_ih = nullptr;
  T* w_hh = nullptr;
  T* b_ih = nullptr;
  T* b_hh = nullptr;
  T* peephole = nullptr;
};

enum class Activation : int32_t { Linear = 0, Tanh = 1 };

// Zero-initialised only: the defaults are lib/options/train.ts's, and the binding sets every field.
struct AdamConfig {
  double lr = 0;
  double beta1 = 0;
  double beta2 = 0;
  double eps = 0;
  double weight_decay = 0;
  // false: PyTorch Adam (L2: g += wd*p). true: PyTorch AdamW (p *= 1 - lr*wd before the update).
  bool decoupled = false;
};

// One Adam step's values, kept in backend memory (see "per-step values" below).
struct AdamStep {
  AdamConfig cfg;
  int64_t step = 1;  // counts from 1 (bias correction)
};

// What run_captured did so far on one backend instance (Model.info()).
struct CaptureStats {
  uint64_t captures = 0;  // graphs captured and instantiated
  uint64_t replays = 0;   // graph launches (the one right after a capture included)
  uint64_t fallbacks = 0; // captures that failed: that key then runs uncaptured
};

// How products by held weights round their operands (Ops::hold_weights): fp32 exactly, or with
// reduced-precision operands and fp32 sums (only where Ops::reduced_products()). Names in this
// order: kProductPrecisionNames (options.precision).
enum class ProductPrecision { Fp32, Bf16, Int8 };
inline constexpr const char* kProductPrecisionNames[] = {"fp32", "bf16", "int8"};

struct SampleConfig {
  double temperature = 0;    // logits are divided by it; > 0 (callers always set it)
  int32_t top_k = 0;         // keep the k most likely (ties: lower index first); 0 = all
  double top_p = 0;          // keep the smallest most-likely set whose mass reaches top_p; 1 = all
  bool greedy = false;       // argmax (lowest index on ties); no draw
  ProductPrecision products = ProductPrecision::Fp32;  // of the held weights (Ops::hold_weights)
};

// A unidirectional stack run one character at a time by Ops::decode (generation after the prime
// step). Layer l: shape.cell/I/H/peephole/reset_before (B, T, reverse unused), its parameters, and
// its state h [B,H] (c [B,H], LSTM only), read at the start and written at the end so the next call
// continues. Layer 0's input: the token's one-hot column (embedding == nullptr, vocab = I) or the
// row embedding[token] of a [vocab, I] table. The head: dense layers y = act(x·Wᵀ + b), W [units,
// width], the last one giving the V = head.back().units logits.
template <typename T>
struct DecodeSpec {
  struct Layer {
    RnnShape shape;
    RnnParams<T> p;
    T* h = nullptr;
    T* c = nullptr;
  };
  struct Dense {
    int units = 0;
    Activation act = Activation::Linear;
    const T* W = nullptr;
    const T* b = nullptr;
  };
  int B = 0, vocab = 0;
  const T* embedding = nullptr;
  std::vector<Layer> layers;
  std::vector<Dense> head;
};

template <typename T>
class Ops {
 public:
  virtual ~Ops() = default;
  virtual const char* name() const = 0;

  // ---- memory (bytes) ----
  virtual void* alloc(size_t bytes) = 0;  // zero-filled; throws on failure
  virtual void release(void* p) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void zero(void* dst, size_t bytes) = 0;
  virtual void synchronize() = 0;

  // Host memory upload() may read when the copy *runs* rather than when it is called (CUDA:
  // pinned, copied asynchronously; a captured copy re-reads it at every replay). The caller
  // writes it only while no copy from it is pending, i.e. after a download or synchronize that
  // follows the last upload from it. Zero-filled; the CPU's is ordinary memory.
  virtual void* alloc_host(size_t bytes) {
    void* p = ::operator new(bytes ? bytes : 1, std::align_val_t{64});
    std::fill_n(static_cast<unsigned char*>(p), bytes, static_cast<unsigned char>(0));
    return p;
  }
  virtual void release_host(void* p) { ::operator delete(p, std::align_val_t{64}); }

  // ---- captured steps ----
  // run_captured(key, enqueue): enqueue() enqueues a fixed sequence of ops; a backend may record
  // it once per key (a CUDA graph) and replay the recording instead of calling enqueue again.
  // So, for one key, enqueue must enqueue the same ops on the same buffers with the same by-value
  // arguments every time: whatever changes from call to call (learning rate, Adam's step, clip
  // norm, dropout offsets) is read by the ops from backend memory (the "per-step values" below),
  // filled by an upload from alloc_host memory inside enqueue. enqueue may also run more than
  // once per call (a failed capture is re-run uncaptured) or not at all (a replay): it must do
  // no host-side bookkeeping, no download/synchronize, and allocate nothing.
  // The CPU runs enqueue. CUDA (cuda/README.md, "CUDA graphs"): the first call of a key runs
  // uncaptured (sizing every buffer), the second captures and launches, later ones launch; a few
  // keys are kept (least recently used dropped); FUSEDRNN_CUDA_GRAPHS=0 (read per call) runs
  // uncaptured; a capture that fails for any reason makes that key run uncaptured.
  virtual void run_captured(uint64_t key, const std::function<void()>& enqueue) {
    (void)key;
    enqueue();
  }
  // Forgets every recording: the caller is about to free or move buffers they reference.
  virtual void drop_captured() {}
  virtual CaptureStats capture_stats() const { return {}; }

  // Inference calls hold the parameter arena [params, params+count) for their duration, with a
  // version that changes whenever any parameter does; until then a backend may keep derived forms
  // of products by those weights across calls (the CPU keeps them packed for its GEMM). The
  // arena must not be written while held. Bytes kept that way: derived_bytes(). With `products`
  // other than Fp32 (only where reduced_products()), the products by held weights round the
  // weights and each row of their other operand and sum in fp32: Bf16 to bfloat16 (half the bytes
  // a generated character streams), Int8 to int8 with a scale per weight column and per row
  // (a quarter; the CPU's int8.h).
  virtual void hold_weights(const T* params, size_t count, uint64_t version, ProductPrecision products) {
    (void)params, (void)count, (void)version, (void)products;
  }
  virtual bool reduced_products() const { return false; }
  virtual void release_weights() {}
  virtual size_t derived_bytes() const { return 0; }

  // dst[r*ldd + c] (= or +=) src[r*lds + c] for r < rows, c < cols. Concatenation and splitting
  // of feature blocks (bidirectional halves, final states into a head).
  virtual void copy_rows(int rows, int cols, const T* src, int lds, T* dst, int ldd,
                         bool accumulate) = 0;

  // ---- recurrent layer, whole sequence ----
  // Elements of T the forward saves for backward (the backend's own layout).
  virtual size_t rnn_workspace_elems(const RnnShape& s) = 0;

  // x [B,T,I]; lengths [B] int32 in [0,T], nullable = all T; h0, c0 [B,H] nullable (c0 LSTM only).
  // y: row (b,t) of H values at y + (b*T+t)*ldy (ldy >= H, so a direction can fill its half of
  //    a [B,T,2H] output); rows with t >= lengths[b] are set to 0.
  // hN, cN [B,H]: the state after each sequence's last valid step (h0/c0 where lengths[b] == 0;
  // hN may be h0 and cN c0: both backends read the initial state first and write the final last);
  //    nullable. cN LSTM only.
  // workspace [rnn_workspace_elems]: written, read by rnn_backward; nullable for inference.
  virtual void rnn_forward(const RnnShape& s, const T* x, const int32_t* lengths, const T* h0,
                           const T* c0, const RnnParams<T>& p, T* y, int ldy, T* hN, T* cN,
                           T* workspace) = 0;

  // Backward through time of the rnn_forward call that filled `workspace` (same x, lengths, h0,
  // c0, params). dy [B,T,H] at ldy, nullable; dhN, dcN [B,H] nullable.
  // dx [B,T,I] is ACCUMULATED (+=) so both directions of a bidirectional layer sum into it;
  // nullable. dh0, dc0 [B,H] written, nullable. Parameter grads accumulated.
  virtual void rnn_backward(const RnnShape& s, const T* x, const int32_t* lengths, const T* h0,
                            const T* c0, const RnnParams<T>& p, const T* workspace, const T* dy,
                            int ldy, const T* dhN, const T* dcN, T* dx, T* dh0, T* dc0,
                            const RnnParamGrads<T>& g) = 0;

  // ---- dense (time-distributed: N = B*T rows) ----
  // y [N,O] = act(x [N,I] * W^T + b), W [O,I], b [O] nullable.
  virtual void dense_forward(int N, int I, int O, Activation act, const T* x, const T* W,
                             const T* b, T* y) = 0;
  // y: the forward output. dy [N,O] is overwritten with the pre-activation gradient.
  // dx [N,I] written, nullable; dW, db accumulated (db nullable).
  virtual void dense_backward(int N, int I, int O, Activation act, const T* x, const T* W,
                              const T* y, T* dy, T* dx, T* dW, T* db) = 0;

  // ---- inputs ----
  // out [N,E] = table[tokens[n]], table [V,E]; tokens must be in [0,V) (checked by the caller).
  virtual void embedding_forward(int N, int V, int E, const int32_t* tokens, const T* table,
                                 T* out) = 0;
  // dtable[tokens[n]] += dout[n] (accumulated; repeated tokens add up).
  virtual void embedding_backward(int N, int V, int E, const int32_t* tokens, const T* dout,
                                  T* dtable) = 0;
  // out [N,V] = one_hot(tokens).
  virtual void one_hot(int N, int V, const int32_t* tokens, T* out) = 0;

  // ---- losses (the scalar results stay in backend memory) ----
  // Softmax cross-entropy, fused with its gradient. logits [N,V], targets [N] int32 in [0,V),
  // weights [N] nullable (all 1). loss[0] = sum(w*CE)/sum(w) (0 when sum(w) == 0).
  // dlogits [N,V] = w*(softmax - onehot)/sum(w), written, may alias logits, nullable.
  // correct [1] nullable: sum of w over rows whose argmax (lowest index on ties) == target.
  virtual void softmax_xent(int N, int V, const T* logits, const int32_t* targets,
                            const T* weights, T* loss, T* dlogits, T* correct) = 0;
  // Sampled softmax (training only; the loss is softmax_xent over these logits with target 0).
  // logits [N, 1+S]: column 0 = dot(x[n], Wt[n]) + bt[n], the target's exact logit (Wt [N,D] and
  // bt [N] its gathered output row and bias); column 1+j = sample_logits[n*S + j] -
  // log_expected[j] (the importance correction of sample j), or kMaskedLogit where
  // samples[j] == targets[n] (an accidental hit: the target is already column 0).
  virtual void sampled_logits(int N, int D, int S, const T* x, const T* Wt, const T* bt,
                              const int32_t* targets, const int32_t* samples, const T* log_expected,
                              const T* sample_logits, T* logits) = 0;
  // out[n*D + d] (=, or += when accumulate) scale[n*ld_scale] * a[n*D + d].
  virtual void scale_rows(int N, int D, const T* scale, int ld_scale, const T* a, T* out,
                          bool accumulate) = 0;
  // Dot-product attention of every query step over a memory (Luong's global attention, after
  // the keys are formed), `steps` = T query steps. Per batch row b: scores[t,s] = q[b,t]·k[b,s] over s < lengths[b] (all S
  // when lengths is null; a row with length 0 gets a zero context), alpha = softmax over those s
  // (0 elsewhere), context[b,t] = sum_s alpha[t,s] mem[b,s].
  // q [B,T,H], k [B,S,H], mem [B,S,M]; alpha [B,T,S] and context [B,T,M] written.
  virtual void attention_forward(int B, int steps, int S, int H, int M, const T* q, const T* k, const T* mem,
                                 const int32_t* lengths, T* alpha, T* context) = 0;
  // Its backward from dcontext [B,T,M]: dq [B,T,H] ACCUMULATED, dk [B,S,H] written, dmem [B,S,M]
  // ACCUMULATED (so a memory that is also the keys can take both).
  virtual void attention_backward(int B, int steps, int S, int H, int M, const T* q, const T* k, const T* mem,
                                  const int32_t* lengths, const T* alpha, const T* dcontext, T* dq, T* dk,
                                  T* dmem) = 0;
  // Mean squared error. pred, target [N,D]; weights [N] nullable.
  // loss[0] = sum_n w_n sum_d (pred-target)^2 / (D*sum(w)); dpred written, may alias pred, nullable.
  virtual void mse(int N, int D, const T* pred, const T* target, const T* weights, T* loss,
                   T* dpred) = 0;

  // ---- per-step values ----
  // Dropout's offset, the clip norm and Adam's configuration and step change every training step,
  // so these ops take them by pointer into backend memory and read them when they run, not when
  // they are enqueued: a captured step (run_captured) replays with each step's values.

  // ---- dropout (inverted), mask from Philox (philox.h): element i keeps iff
  //      uniform(seed, offset + i) >= p, offset = offset_at[0] (backend memory); kept values are
  //      scaled by 1/(1-p). ----
  // y may alias x. p in [0,1).
  virtual void dropout_forward(size_t n, double p, uint64_t seed, const uint64_t* offset_at, const T* x,
                               T* y) = 0;
  // dx = dy * mask / (1-p) with the same mask; may alias.
  virtual void dropout_backward(size_t n, double p, uint64_t seed, const uint64_t* offset_at, const T* dy,
                                T* dx) = 0;

  // ---- optimizer ----
  // norm[0] = sqrt(sum(g^2)) over g [n]; scale[0] = max_norm/(norm+1e-6) clamped to <= 1
  // (PyTorch clip_grad_norm_), max_norm = max_norm_at[0] (backend memory); scale[0] = 1 when
  // max_norm <= 0. When the norm is not finite (a NaN or Inf anywhere in g), scale[0] = NaN: the
  // signal for adam to skip the step, decided on the device with no extra pass and no host round trip.
  virtual void global_norm_clip(size_t n, const T* g, const double* max_norm_at, T* norm, T* scale) = 0;
  // One Adam/AdamW step over params/grads/m/v [n] with at[0]'s config and step (backend memory).
  // grad_scale [1] nullable: grads are multiplied by it first (the clip factor, read on device);
  // a non-finite grad_scale[0] makes the call a no-op (params, m, v untouched). A read-only pass
  // first computes every new parameter and moment: if any would be non-finite (an overflowing
  // learning rate, a moment past the dtype's range), nothing is written and grad_scale[0] is set
  // to NaN, so the step reads as skipped exactly like a non-finite gradient (no host round trip).
  virtual void adam(size_t n, T* params, const T* grads, T* m, T* v, const AdamStep* at, T* grad_scale) = 0;

  // ---- generation ----
  // logits [B,V] -> tokens [B] int32. Row b draws uniform(seed, offset + b) and picks the first
  // kept index, in ascending index order, whose cumulative kept probability exceeds u * mass.
  virtual void sample(int B, int V, const T* logits, const SampleConfig& cfg, uint64_t seed,
                      uint64_t offset, int32_t* tokens) = 0;
  // `steps` characters of the stack d, each exactly what a per-character loop of rnn_forward
  // (T = 1), the head's dense_forward and sample computes: character s feeds tokens (tokens
  // [B] for s = 0, else drawn[(s-1)*B ..]) through the stack and the head, and draws drawn[s*B + b]
  // with offset (first_draw + s)*B, i.e. Philox counter (first_draw + s)*B + b. The state in d is
  // updated in place. Returns false, having done nothing, when the backend has no such path or
  // the model does not fit it: the caller then runs that loop itself. Default: false.
  virtual bool decode(const DecodeSpec<T>& d, int steps, const SampleConfig& cfg, uint64_t seed,
                      uint64_t first_draw, const int32_t* tokens, int32_t* drawn) {
    (void)d, (void)steps, (void)cfg, (void)seed, (void)first_draw, (void)tokens, (void)drawn;
    return false;
  }
};

}  // namespace frnn

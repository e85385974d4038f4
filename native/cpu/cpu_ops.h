// The CPU backend: Ops<T> over host memory, forwarding to the kernels of cpu_kernels.h.
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "../alloc_fault.h"
#include "../ops.h"
#include "cpu_kernels.h"
#include "decode.h"
#include "scratch_arena.h"
#include "weight_cache.h"

namespace frnn {

template <typename T>
class CpuOps final : public Ops<T> {
 public:
  const char* name() const override { return "cpu"; }

  void* alloc(size_t bytes) override {
    maybe_inject_alloc_failure();
    void* p = std::calloc(bytes ? bytes : 1, 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void release(void* p) override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes && dst != src) std::memmove(dst, src, bytes);
  }
  void zero(void* dst, size_t bytes) override {
    if (bytes) std::memset(dst, 0, bytes);
  }
  void synchronize() override {}
  // Only the fp32 path packs; the fp64 reference multiplies the weights where they are.
  void hold_weights(const T* params, size_t count, uint64_t version, ProductPrecision products) override {
    if constexpr (std::is_same_v<T, float>) packed_.hold(params, count, version, products);
  }
  bool reduced_products() const override { return std::is_same_v<T, float>; }
  void release_weights() override { packed_.release(); }
  size_t derived_bytes() const override { return packed_.bytes() + scratch_.bytes(); }

  void copy_rows(int rows, int cols, const T* src, int lds, T* dst, int ldd,
                 bool accumulate) override {
    cpu::copy_rows(rows, cols, src, lds, dst, ldd, accumulate);
  }
  size_t rnn_workspace_elems(const RnnShape& s) override { return cpu::rnn_workspace_elems<T>(s); }
  void rnn_forward(const RnnShape& s, const T* x, const int32_t* lengths, const T* h0, const T* c0,
                   const RnnParams<T>& p, T* y, int ldy, T* hN, T* cN, T* workspace) override {
    const cpu::ScratchScope lend(scratch_);
    cpu::rnn_forward(s, x, lengths, h0, c0, p, y, ldy, hN, cN, workspace);
  }
  void rnn_backward(const RnnShape& s, const T* x, const int32_t* lengths, const T* h0, const T* c0,
                    const RnnParams<T>& p, const T* workspace, const T* dy, int ldy, const T* dhN,
                    const T* dcN, T* dx, T* dh0, T* dc0, const RnnParamGrads<T>& g) override {
    const cpu::ScratchScope lend(scratch_);
    cpu::rnn_backward(s, x, lengths, h0, c0, p, workspace, dy, ldy, dhN, dcN, dx, dh0, dc0, g);
  }
  void dense_forward(int N, int I, int O, Activation act, const T* x, const T* W, const T* b,
                     T* y) override {
    const cpu::ScratchScope lend(scratch_);
    cpu::dense_forward(N, I, O, act, x, W, b, y);
  }
  void dense_backward(int N, int I, int O, Activation act, const T* x, const T* W, const T* y,
                      T* dy, T* dx, T* dW, T* db) override {
    const cpu::ScratchScope lend(scratch_);
    cpu::dense_backward(N, I, O, act, x, W, y, dy, dx, dW, db);
  }
  void embedding_forward(int N, int V, int E, const int32_t* tokens, const T* table,
                         T* out) override {
    cpu::embedding_forward(N, V, E, tokens, table, out);
  }
  void embedding_backward(int N, int V, int E, const int32_t* tokens, const T* dout,
                          T* dtable) override {
    cpu::embedding_backward(N, V, E, tokens, dout, dtable);
  }
  void one_hot(int N, int V, const int32_t* tokens, T* out) override {
    cpu::one_hot(N, V, tokens, out);
  }
  void softmax_xent(int N, int V, const T* logits, const int32_t* targets, const T* weights,
                    T* loss, T* dlogits, T* correct) override {
    cpu::softmax_xent(N, V, logits, targets, weights, loss, dlogits, correct);
  }
  void mse(int N, int D, const T* pred, const T* target, const T* weights, T* loss,
           T* dpred) override {
    cpu::mse(N, D, pred, target, weights, loss, dpred);
  }
  void sampled_logits(int N, int D, int S, const T* x, const T* Wt, const T* bt, const int32_t* targets,
                      const int32_t* samples, const T* log_expected, const T* sample_logits,
                      T* logits) override {
    cpu::sampled_logits(N, D, S, x, Wt, bt, targets, samples, log_expected, sample_logits, logits);
  }
  void scale_rows(int N, int D, const T* scale, int ld_scale, const T* a, T* out, bool accumulate) override {
    cpu::scale_rows(N, D, scale, ld_scale, a, out, accumulate);
  }
  void attention_forward(int B, int T_, int S, int H, int M, const T* q, const T* k, const T* mem,
                         const int32_t* lengths, T* alpha, T* context) override {
    cpu::attention_forward(B, T_, S, H, M, q, k, mem, lengths, alpha, context);
  }
  void attention_backward(int B, int T_, int S, int H, int M, const T* q, const T* k, const T* mem,
                          const int32_t* lengths, const T* alpha, const T* dcontext, T* dq, T* dk,
                          T* dmem) override {
    cpu::attention_backward(B, T_, S, H, M, q, k, mem, lengths, alpha, dcontext, dq, dk, dmem);
  }
  // Per-step values live in host memory here: read them as the op runs.
  void dropout_forward(size_t n, double p, uint64_t seed, const uint64_t* offset_at, const T* x,
                       T* y) override {
    cpu::dropout_forward(n, p, seed, *offset_at, x, y);
  }
  void dropout_backward(size_t n, double p, uint64_t seed, const uint64_t* offset_at, const T* dy,
                        T* dx) override {
    cpu::dropout_backward(n, p, seed, *offset_at, dy, dx);
  }
  void global_norm_clip(size_t n, const T* g, const double* max_norm_at, T* norm, T* scale) override {
    cpu::global_norm_clip(n, g, *max_norm_at, norm, scale);
  }
  void adam(size_t n, T* params, const T* grads, T* m, T* v, const AdamStep* at, T* grad_scale) override {
    cpu::adam(n, params, grads, m, v, at->cfg, at->step, grad_scale);
  }
  void sample(int B, int V, const T* logits, const SampleConfig& cfg, uint64_t seed,
              uint64_t offset, int32_t* tokens) override {
    cpu::sample(B, V, logits, cfg, seed, offset, tokens);
  }
  // fp32 only: the fp64 reference generates by the caller's per-character loop, the definition.
  bool decode(const DecodeSpec<T>& d, int steps, const SampleConfig& cfg, uint64_t seed, uint64_t first_draw,
              const int32_t* tokens, int32_t* drawn) override {
    if constexpr (std::is_same_v<T, float>) {
      const cpu::ScratchScope lend(scratch_);
      return cpu::decode(d, steps, cfg, seed, first_draw, tokens, drawn);
    }
    return Ops<T>::decode(d, steps, cfg, seed, first_draw, tokens, drawn);
  }

 private:
  cpu::PackedWeightCache packed_;
  cpu::ScratchArena scratch_;  // the recurrent kernels' buffers: this model's, on any thread
};

}  // namespace frnn

// The CPU kernels, one template per op of ops.h (same arguments, same contracts). Each source file
// instantiates its templates for double (the reference the gradient checks judge) and float (the
// fast path, judged against the double one).
#pragma once

#include "../ops.h"

namespace frnn::cpu {

template <typename T>
void copy_rows(int rows, int cols, const T* src, int lds, T* dst, int ldd, bool accumulate);

template <typename T>
size_t rnn_workspace_elems(const RnnShape& s);
template <typename T>
void rnn_forward(const RnnShape& s, const T* x, const int32_t* lengths, const T* h0, const T* c0,
                 const RnnParams<T>& p, T* y, int ldy, T* hN, T* cN, T* workspace);
template <typename T>
void rnn_backward(const RnnShape& s, const T* x, const int32_t* lengths, const T* h0, const T* c0,
                  const RnnParams<T>& p, const T* workspace, const T* dy, int ldy, const T* dhN,
                  const T* dcN, T* dx, T* dh0, T* dc0, const RnnParamGrads<T>& g);

template <typename T>
void dense_forward(int N, int I, int O, Activation act, const T* x, const T* W, const T* b, T* y);
template <typename T>
void dense_backward(int N, int I, int O, Activation act, const T* x, const T* W, const T* y, T* dy,
                    T* dx, T* dW, T* db);

template <typename T>
void embedding_forward(int N, int V, int E, const int32_t* tokens, const T* table, T* out);
template <typename T>
void embedding_backward(int N, int V, int E, const int32_t* tokens, const T* dout, T* dtable);
template <typename T>
void one_hot(int N, int V, const int32_t* tokens, T* out);

template <typename T>
void softmax_xent(int N, int V, const T* logits, const int32_t* targets, const T* weights, T* loss,
                  T* dlogits, T* correct);
template <typename T>
void mse(int N, int D, const T* pred, const T* target, const T* weights, T* loss, T* dpred);
template <typename T>
void sampled_logits(int N, int D, int S, const T* x, const T* Wt, const T* bt, const int32_t* targets,
                    const int32_t* samples, const T* log_expected, const T* sample_logits, T* logits);
template <typename T>
void scale_rows(int N, int D, const T* scale, int ld_scale, const T* a, T* out, bool accumulate);
template <typename T>
void attention_forward(int B, int T_, int S, int H, int M, const T* q, const T* k, const T* mem,
                       const int32_t* lengths, T* alpha, T* context);
template <typename T>
void attention_backward(int B, int T_, int S, int H, int M, const T* q, const T* k, const T* mem,
                        const int32_t* lengths, const T* alpha, const T* dcontext, T* dq, T* dk, T* dmem);

template <typename T>
void dropout_forward(size_t n, double p, uint64_t seed, uint64_t offset, const T* x, T* y);
template <typename T>
void dropout_backward(size_t n, double p, uint64_t seed, uint64_t offset, const T* dy, T* dx);

template <typename T>
void global_norm_clip(size_t n, const T* g, double max_norm, T* norm, T* scale);
template <typename T>
void adam(size_t n, T* params, const T* grads, T* m, T* v, const AdamConfig& cfg, int64_t step,
          T* grad_scale);

template <typename T>
void sample(int B, int V, const T* logits, const SampleConfig& cfg, uint64_t seed,
            uint64_t offset, int32_t* tokens);

}  // namespace frnn::cpu

// Explicit instantiation for both precisions, written once per source file.
#define FRNN_CPU_INSTANTIATE(macro) \
  macro(float)                      \
  macro(double)

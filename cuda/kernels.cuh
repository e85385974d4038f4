// Launchers of the CUDA backend's kernels (one stream, no host synchronization, no allocation:
// scratch comes from the caller). Shapes follow ops.h; every pointer is device memory.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "../native/ops.h"

namespace frnn::cuda {

// Multiprocessors of the current device (cached per ordinal): tile choices fill the GPU with it.
int multiprocessor_count();

// C[M,N] = act(alpha * op(A)[M,K] · op(B)[K,N] + beta * C + bias[n]). op(A) = A [M,K] at lda or,
// with trans_a, Aᵀ of A [K,M]; op(B) = B [K,N] at ldb or, with trans_b, Bᵀ of B [N,K].
// beta == 0 never reads C (it may hold anything, NaN included). tf32: tensor cores (mma.sync
// m16n8k8, operands rounded to TF32, fp32 accumulation); else exact fp32 FMA.
void gemm(cudaStream_t stream, bool tf32, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
          const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
          const float* bias, Activation act);

// out[c] (+)= sum_r A[r*lda + c] * (Bm ? Bm[r*ldb + c] : 1) for c < cols: per-column reduction in a
// fixed order (deterministic, no atomics). Bias and peephole gradients.
void column_sums(cudaStream_t stream, int rows, int cols, const float* A, int lda, const float* Bm, int ldb,
                 float* out, bool accumulate);

// Recurrent layer. Scratch element counts the launchers need (floats).
size_t rnn_forward_scratch(const RnnShape& s, bool have_workspace);
size_t rnn_backward_scratch(const RnnShape& s);
size_t rnn_workspace_elems(const RnnShape& s);
// fault: the backend's host-mapped fault word, raised by a persistent kernel that gave up
// (grid_sync.cuh); the backend turns it into an error at its next synchronization.
void rnn_forward(cudaStream_t stream, bool tf32, const RnnShape& s, const float* x, const int32_t* lengths,
                 const float* h0, const float* c0, const RnnParams<float>& p, float* y, int ldy, float* hN,
                 float* cN, float* workspace, float* scratch, int* fault);
void rnn_backward(cudaStream_t stream, bool tf32, const RnnShape& s, const float* x, const int32_t* lengths,
                  const RnnParams<float>& p, const float* workspace, const float* dy, int ldy, const float* dhN,
                  const float* dcN, float* dx, float* dh0, float* dc0, const RnnParamGrads<float>& g,
                  float* scratch, int* fault);

// Pointwise and data movement.
void copy_rows(cudaStream_t stream, int rows, int cols, const float* src, int lds, float* dst, int ldd,
               bool accumulate);
void tanh_backward_inplace(cudaStream_t stream, size_t n, const float* y, float* dy);
// The offset is read on the device (offset_at[0]) so a captured step replays with each step's.
void dropout(cudaStream_t stream, size_t n, double p, uint64_t seed, const uint64_t* offset_at, const float* x, float* y);
void embedding_forward(cudaStream_t stream, int N, int E, const int32_t* tokens, const float* table, float* out);
// Deterministic: each table row gathers its tokens in row order (no atomics).
void embedding_backward(cudaStream_t stream, int N, int V, int E, const int32_t* tokens, const float* dout,
                        float* dtable);
void one_hot(cudaStream_t stream, int N, int V, const int32_t* tokens, float* out);

// Losses. scratch: loss_scratch(N) floats... doubles, as bytes.
size_t loss_scratch_bytes(int N);
void softmax_xent(cudaStream_t stream, int N, int V, const float* logits, const int32_t* targets,
                  const float* weights, float* loss, float* dlogits, float* correct, void* scratch);
void mse(cudaStream_t stream, int N, int D, const float* pred, const float* target, const float* weights,
         float* loss, float* dpred, void* scratch);
// Sampled softmax logits and per-row scaling: as ops.h.
void sampled_logits(cudaStream_t stream, int N, int D, int S, const float* x, const float* Wt, const float* bt,
                    const int32_t* targets, const int32_t* samples, const float* log_expected,
                    const float* sample_logits, float* logits);
void scale_rows(cudaStream_t stream, int N, int D, const float* scale, int ld_scale, const float* a, float* out,
                bool accumulate);
// Attention over a memory: as ops.h; backward scratch: B*T*S floats (the score gradients).
void attention_forward(cudaStream_t stream, int B, int T, int S, int H, int M, const float* q, const float* k,
                       const float* mem, const int32_t* lengths, float* alpha, float* context);
void attention_backward(cudaStream_t stream, int B, int T, int S, int H, int M, const float* q, const float* k,
                        const float* mem, const int32_t* lengths, const float* alpha, const float* dcontext,
                        float* dq, float* dk, float* dmem, float* scratch);

// Optimizer.
size_t norm_scratch_bytes();
// max_norm and Adam's config/step are read on the device (ops.h "per-step values").
void global_norm_clip(cudaStream_t stream, size_t n, const float* g, const double* max_norm_at, float* norm,
                      float* scale, void* scratch);
// grad_scale nullable; verdict_scratch: one float of scratch, used when grad_scale is null (ops.h's
// read-only pass needs somewhere to say "skip").
void adam(cudaStream_t stream, size_t n, float* params, const float* grads, float* m, float* v, const AdamStep* at,
          float* grad_scale, float* verdict_scratch);

// Generation.
size_t sample_scratch_bytes(int B, int V);
void sample(cudaStream_t stream, int B, int V, const float* logits, const SampleConfig& cfg, uint64_t seed,
            uint64_t offset, int32_t* tokens, void* scratch);
// Ops::decode: the persistent decoder (decode.cu), false when it does not run (see there).
// scratch: decode_scratch_floats(s) floats; fault: as rnn_forward.
size_t decode_scratch_floats(const DecodeSpec<float>& s);
bool decode(cudaStream_t stream, bool tf32, const DecodeSpec<float>& s, int steps, const SampleConfig& cfg,
            uint64_t seed, uint64_t first_draw, const int32_t* tokens, int32_t* drawn, float* scratch, int* fault);

}  // namespace frnn::cuda

// CudaOps: Ops<float> over device memory. Every op is enqueued on the instance's one stream and
// returns without waiting; only download() synchronizes (the executor reads its scalars once per
// step). Per-call temporaries come from one scratch buffer that grows to the largest request and
// is then reused, so steady-state steps allocate nothing.
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda_backend.h"
#include "cuda_check.cuh"
#include "kernels.cuh"

namespace frnn::cuda {
namespace {

class CudaOps final : public Ops<float> {
 public:
  CudaOps(int device, bool tf32) {
    desc_.device = device;
    int count = 0;
    check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (device < 0 || device >= count)
      throw std::invalid_argument("device must be in [0, " + std::to_string(count) + "), got " +
                                  std::to_string(device));
    check(cudaSetDevice(device), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    desc_.name = prop.name;
    desc_.major = prop.major, desc_.minor = prop.minor;
    desc_.total_memory = prop.totalGlobalMem;
    cudaDriverGetVersion(&desc_.driver_version);
    cudaRuntimeGetVersion(&desc_.runtime_version);
    desc_.tf32 = tf32 && prop.major >= 8;  // mma.sync .tf32 exists from Ampere on
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    // Stream-ordered allocation where the driver supports memory pools (not every platform does,
    // e.g. older WSL): freed blocks stay in the pool, so allocating for a new shape stays cheap.
    int pools = 0;
    cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device);
    pooled_ = pools != 0;
    cudaMemPool_t pool;
    if (pooled_ && cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
      uint64_t keep = UINT64_MAX;
      cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    }
    // Pinned and mapped (unified addressing: one pointer for both sides), so a kernel can raise it
    // and the host reads it after a synchronization at no extra cost.
    check(cudaHostAlloc(reinterpret_cast<void**>(&fault_), sizeof(int), cudaHostAllocMapped), "cudaHostAlloc(fault word)");
    *fault_ = 0;
    cudaGetLastError();
  }

  ~CudaOps() override {
    cudaSetDevice(desc_.device);
    if (scratch_) free_device(scratch_);
    cudaStreamSynchronize(stream_);
    if (fault_) cudaFreeHost(fault_);
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
    cudaGetLastError();  // a destructor must not throw; a sticky error was reported earlier
  }

  const char* name() const override { return "cuda"; }
  const BackendDescription& description() const { return desc_; }

  void* alloc(size_t bytes) override {
    use_device();
    void* p = malloc_device(bytes ? bytes : 1);
    const cudaError_t e = cudaMemsetAsync(p, 0, bytes ? bytes : 1, stream_);
    if (e != cudaSuccess) {
      free_device(p);
      throw_cuda(e, "cudaMemsetAsync(alloc)");
    }
    return p;
  }
  void release(void* p) override {
    if (!p) return;
    use_device();
    free_device(p);
    cudaGetLastError();  // called from destructors: never throw
  }
  // Pageable source: returns once the bytes are staged, so the caller may reuse its buffer.
  void upload(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    use_device();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync(upload)");
  }
  void download(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    use_device();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync(download)");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize(download)");
    check_fault();
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (!bytes || dst == src) return;
    use_device();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpyAsync(copy)");
  }
  void zero(void* dst, size_t bytes) override {
    if (!bytes) return;
    use_device();
    check(cudaMemsetAsync(dst, 0, bytes, stream_), "cudaMemsetAsync(zero)");
  }
  void synchronize() override {
    use_device();
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    check_fault();
  }

  void copy_rows(int rows, int cols, const float* src, int lds, float* dst, int ldd, bool accumulate) override {
    use_device();
    cuda::copy_rows(stream_, rows, cols, src, lds, dst, ldd, accumulate);
  }

  size_t rnn_workspace_elems(const RnnShape& s) override { return cuda::rnn_workspace_elems(s); }
  void rnn_forward(const RnnShape& s, const float* x, const int32_t* lengths, const float* h0, const float* c0,
                   const RnnParams<float>& p, float* y, int ldy, float* hN, float* cN, float* ws) override {
    use_device();
    float* scratch = floats(rnn_forward_scratch(s, ws != nullptr));
    cuda::rnn_forward(stream_, desc_.tf32, s, x, lengths, h0, c0, p, y, ldy, hN, cN, ws, scratch, fault_);
  }
  void rnn_backward(const RnnShape& s, const float* x, const int32_t* lengths, const float*, const float*,
                    const RnnParams<float>& p, const float* ws, const float* dy, int ldy, const float* dhN,
                    const float* dcN, float* dx, float* dh0, float* dc0, const RnnParamGrads<float>& g) override {
    use_device();
    float* scratch = floats(rnn_backward_scratch(s));
    cuda::rnn_backward(stream_, desc_.tf32, s, x, lengths, p, ws, dy, ldy, dhN, dcN, dx, dh0, dc0, g, scratch, fault_);
  }

  void dense_forward(int N, int I, int O, Activation act, const float* x, const float* W, const float* b,
                     float* y) override {
    use_device();
    gemm(stream_, desc_.tf32, false, true, N, O, I, 1.f, x, I, W, I, 0.f, y, O, b, act);
  }
  void dense_backward(int N, int I, int O, Activation act, const float* x, const float* W, const float* y,
                      float* dy, float* dx, float* dW, float* db) override {
    use_device();
    if (act == Activation::Tanh) tanh_backward_inplace(stream_, static_cast<size_t>(N) * O, y, dy);
    if (dx) gemm(stream_, desc_.tf32, false, false, N, I, O, 1.f, dy, O, W, I, 0.f, dx, I, nullptr, Activation::Linear);
    if (dW) gemm(stream_, desc_.tf32, true, false, O, I, N, 1.f, dy, O, x, I, 1.f, dW, I, nullptr, Activation::Linear);
    if (db) column_sums(stream_, N, O, dy, O, nullptr, 0, db, true);
  }

  void embedding_forward(int N, int, int E, const int32_t* tokens, const float* table, float* out) override {
    use_device();
    cuda::embedding_forward(stream_, N, E, tokens, table, out);
  }
  void embedding_backward(int N, int V, int E, const int32_t* tokens, const float* dout, float* dtable) override {
    use_device();
    cuda::embedding_backward(stream_, N, V, E, tokens, dout, dtable);
  }
  void one_hot(int N, int V, const int32_t* tokens, float* out) override {
    use_device();
    cuda::one_hot(stream_, N, V, tokens, out);
  }

  void softmax_xent(int N, int V, const float* logits, const int32_t* targets, const float* weights, float* loss,
                    float* dlogits, float* correct) override {
    use_device();
    cuda::softmax_xent(stream_, N, V, logits, targets, weights, loss, dlogits, correct, bytes(loss_scratch_bytes(N)));
  }
  void mse(int N, int D, const float* pred, const float* target, const float* weights, float* loss,
           float* dpred) override {
    use_device();
    cuda::mse(stream_, N, D, pred, target, weights, loss, dpred, bytes(loss_scratch_bytes(N)));
  }
  void sampled_logits(int N, int D, int S, const float* x, const float* Wt, const float* bt, const int32_t* targets,
                      const int32_t* samples, const float* log_expected, const float* sample_logits,
                      float* logits) override {
    use_device();
    cuda::sampled_logits(stream_, N, D, S, x, Wt, bt, targets, samples, log_expected, sample_logits, logits);
  }
  void scale_rows(int N, int D, const float* scale, int ld_scale, const float* a, float* out,
                  bool accumulate) override {
    use_device();
    cuda::scale_rows(stream_, N, D, scale, ld_scale, a, out, accumulate);
  }
  void attention_forward(int B, int T, int S, int H, int M, const float* q, const float* k, const float* mem,
                         const int32_t* lengths, float* alpha, float* context) override {
    use_device();
    cuda::attention_forward(stream_, B, T, S, H, M, q, k, mem, lengths, alpha, context);
  }
  void attention_backward(int B, int T, int S, int H, int M, const float* q, const float* k, const float* mem,
                          const int32_t* lengths, const float* alpha, const float* dcontext, float* dq, float* dk,
                          float* dmem) override {
    use_device();
    cuda::attention_backward(stream_, B, T, S, H, M, q, k, mem, lengths, alpha, dcontext, dq, dk, dmem,
                             floats(static_cast<size_t>(B) * T * S));
  }

  void dropout_forward(size_t n, double p, uint64_t seed, uint64_t offset, const float* x, float* y) override {
    use_device();
    dropout(stream_, n, p, seed, offset, x, y);
  }
  void dropout_backward(size_t n, double p, uint64_t seed, uint64_t offset, const float* dy, float* dx) override {
    use_device();
    dropout(stream_, n, p, seed, offset, dy, dx);
  }

  void global_norm_clip(size_t n, const float* g, double max_norm, float* norm, float* scale) override {
    use_device();
    cuda::global_norm_clip(stream_, n, g, max_norm, norm, scale, bytes(norm_scratch_bytes()));
  }
  void adam(size_t n, float* params, const float* grads, float* m, float* v, const AdamConfig& cfg, int64_t step,
            const float* grad_scale) override {
    use_device();
    cuda::adam(stream_, n, params, grads, m, v, cfg, step, grad_scale);
  }

  void sample(int B, int V, const float* logits, const SampleConfig& cfg, uint64_t seed, uint64_t offset,
              int32_t* tokens) override {
    use_device();
    cuda::sample(stream_, B, V, logits, cfg, seed, offset, tokens, bytes(sample_scratch_bytes(B, V)));
  }
  bool decode(const DecodeSpec<float>& d, int steps, const SampleConfig& cfg, uint64_t seed, uint64_t first_draw,
              const int32_t* tokens, int32_t* drawn) override {
    use_device();
    return cuda::decode(stream_, desc_.tf32, d, steps, cfg, seed, first_draw, tokens, drawn,
                        floats(decode_scratch_floats(d)), fault_);
  }

 private:
  // The current device is per host thread and calls arrive on pool threads: set it every time
  // (a no-op when it is already current).
  void use_device() { check(cudaSetDevice(desc_.device), "cudaSetDevice"); }

  // A persistent kernel that gave up (grid_sync.cuh) left its results incomplete: the call fails.
  // The word is cleared first, so the model's next call starts clean.
  void check_fault() {
    volatile int* word = fault_;
    if (*word == 0) return;
    *word = 0;
    throw std::runtime_error(
        "CUDA error in a persistent recurrent kernel: its grid barrier timed out (a block never arrived); "
        "the results of this call are incomplete. FUSEDRNN_CUDA_RECURRENT=stepwise avoids the persistent kernels");
  }

  // Scratch for one op call; ops are serialized on the stream, so one buffer serves all of them.
  void* bytes(size_t n) {
    if (n > scratch_bytes_) {
      if (scratch_) free_device(scratch_);
      scratch_ = nullptr;
      scratch_bytes_ = 0;
      scratch_ = malloc_device(n);
      scratch_bytes_ = n;
    }
    return scratch_;
  }
  float* floats(size_t n) { return static_cast<float*>(bytes(n * sizeof(float))); }

  void* malloc_device(size_t n) {
    void* p = nullptr;
    if (pooled_) check(cudaMallocAsync(&p, n, stream_), "cudaMallocAsync");
    else check(cudaMalloc(&p, n), "cudaMalloc");
    return p;
  }
  // Stream-ordered when pooled; plain cudaFree waits for the device, which only happens when
  // shapes change (never inside a step).
  void free_device(void* p) {
    if (pooled_) cudaFreeAsync(p, stream_);
    else cudaFree(p);
  }

  BackendDescription desc_;
  cudaStream_t stream_ = nullptr;
  bool pooled_ = false;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  int* fault_ = nullptr;  // read through volatile: a kernel writes it
};

}  // namespace

std::unique_ptr<Ops<float>> make_cuda_ops(int device, bool tf32) { return std::make_unique<CudaOps>(device, tf32); }

BackendDescription describe(const Ops<float>& ops) {
  const auto* cuda_ops = dynamic_cast<const CudaOps*>(&ops);
  if (!cuda_ops) throw std::invalid_argument("describe: not a CUDA backend");
  return cuda_ops->description();
}

}  // namespace frnn::cuda

// CudaOps: Ops<float> over device memory. Every op is enqueued on the instance's one stream and
// returns without waiting; only download() synchronizes (the executor reads its scalars once per
// step). Per-call temporaries come from one scratch buffer that grows to the largest request and
// is then reused, so steady-state steps allocate nothing. run_captured records a training step
// as a CUDA graph per key and replays it (see "CUDA graphs" in README.md).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../native/alloc_fault.h"
#include "../native/hash.h"
#include "cuda_backend.h"
#include "cuda_check.cuh"
#include "kernels.cuh"

namespace frnn::cuda {
namespace {

// Thrown inside a capture by a call that cannot be recorded (an allocation, a download, a
// pageable upload); run_captured ends the capture and runs the step uncaptured. `retry`: the
// cause goes away by itself (the scratch buffer grows in that uncaptured run), so the next call
// of the key captures again; otherwise the key stays uncaptured.
struct CaptureAbort : std::runtime_error {
  CaptureAbort(const char* what, bool retry_later) : std::runtime_error(what), retry(retry_later) {}
  bool retry;
};

bool graphs_enabled() {
  const char* env = std::getenv("FUSEDRNN_CUDA_GRAPHS");
  return !(env && (std::strcmp(env, "0") == 0 || std::strcmp(env, "off") == 0 || std::strcmp(env, "false") == 0));
}

// The environment that kernels' host code reads at enqueue time (rnn_persistent.cu): a captured
// graph keeps what it saw, so it is part of the key.
uint64_t with_environment(uint64_t key) {
  uint64_t h = fnv1a(kFnvBasis, &key, sizeof(key));
  for (const char* name : {"FUSEDRNN_CUDA_RECURRENT", "FUSEDRNN_CUDA_BARRIER_TIMEOUT_MS", "FUSEDRNN_TEST_BARRIER_SKIP_BLOCK"}) {
    const char* v = std::getenv(name);
    h = fnv1a(h, v ? v : "\x01", v ? std::strlen(v) + 1 : 1);  // unset differs from ""
  }
  return h;
}

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
    drop_captured();
    graphs_.clear();
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
  // Pinned source (alloc_host): asynchronous, and a captured copy re-reads it at every replay.
  void upload(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    use_device();
    if (capturing_) {
      cudaPointerAttributes attr{};
      if (cudaPointerGetAttributes(&attr, src) != cudaSuccess || attr.type != cudaMemoryTypeHost) {
        cudaGetLastError();
        throw CaptureAbort("a captured upload must come from alloc_host memory", false);
      }
    }
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync(upload)");
  }
  void download(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    use_device();
    if (capturing_) throw CaptureAbort("download inside a captured step", false);
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
    if (capturing_) throw CaptureAbort("synchronize inside a captured step", false);
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    check_fault();
  }

  void* alloc_host(size_t bytes) override {
    use_device();
    void* p = nullptr;
    check(cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault), "cudaHostAlloc");
    std::memset(p, 0, bytes ? bytes : 1);
    return p;
  }
  void release_host(void* p) override {
    if (!p) return;
    cudaSetDevice(desc_.device);  // not use_device(): called from destructors, must not throw
    cudaFreeHost(p);
    cudaGetLastError();  // called from destructors: never throw
  }

  // First call of a key: uncaptured (it sizes the scratch buffer and anything else that grows);
  // second: captured, instantiated and launched; later: launched. See ops.h.
  void run_captured(uint64_t key, const std::function<void()>& enqueue) override {
    use_device();
    if (!graphs_enabled() || capturing_) {
      enqueue();
      return;
    }
    key = with_environment(key);
    Graph* g = find_graph(key);
    if (!g) {
      remember_graph(key);
      enqueue();
      return;
    }
    g->used = ++tick_;
    if (g->failed || (!g->exec && !capture(*g, enqueue))) {
      enqueue();
      return;
    }
    const cudaError_t e = cudaGraphLaunch(g->exec, stream_);
    if (e != cudaSuccess) {  // e.g. a cooperative grid that no longer fits: run it the plain way
      cudaGetLastError();
      destroy_exec(*g);
      g->failed = true;
      ++stats_.fallbacks;
      enqueue();
      return;
    }
    ++stats_.replays;
  }

  // The keys stay known, so each captures again at its next call (the buffers are sized already).
  void drop_captured() override {
    if (capturing_) return;
    for (Graph& g : graphs_) {
      destroy_exec(g);
      g.failed = false;
    }
  }
  CaptureStats capture_stats() const override { return stats_; }

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

  void dropout_forward(size_t n, double p, uint64_t seed, const uint64_t* offset_at, const float* x,
                       float* y) override {
    use_device();
    dropout(stream_, n, p, seed, offset_at, x, y);
  }
  void dropout_backward(size_t n, double p, uint64_t seed, const uint64_t* offset_at, const float* dy,
                        float* dx) override {
    use_device();
    dropout(stream_, n, p, seed, offset_at, dy, dx);
  }

  void global_norm_clip(size_t n, const float* g, const double* max_norm_at, float* norm, float* scale) override {
    use_device();
    cuda::global_norm_clip(stream_, n, g, max_norm_at, norm, scale, bytes(norm_scratch_bytes()));
  }
  void adam(size_t n, float* params, const float* grads, float* m, float* v, const AdamStep* at,
            float* grad_scale) override {
    use_device();
    cuda::adam(stream_, n, params, grads, m, v, at, grad_scale, floats(1));
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
  // Graphs hold its address: when it grows, the old one lives on while a graph uses it (a capture
  // cannot grow it: it is retried at the key's next call).
  void* bytes(size_t n) {
    if (n > scratch_bytes_) {
      if (capturing_) throw CaptureAbort("the scratch buffer must grow", true);
      if (scratch_ && used_by_graph(scratch_)) retired_.push_back(scratch_);
      else if (scratch_) free_device(scratch_);
      scratch_ = nullptr;
      scratch_bytes_ = 0;
      scratch_ = malloc_device(n);
      scratch_bytes_ = n;
    }
    return scratch_;
  }
  float* floats(size_t n) { return static_cast<float*>(bytes(n * sizeof(float))); }

  void* malloc_device(size_t n) {
    maybe_inject_alloc_failure();
    if (capturing_) throw CaptureAbort("an allocation inside a captured step", false);
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

  // ---- CUDA graphs ----
  struct Graph {
    uint64_t key = 0;
    cudaGraphExec_t exec = nullptr;  // null until captured (the key's first run is uncaptured)
    bool failed = false;             // capture or launch failed: the key runs uncaptured
    uint64_t used = 0;               // for least-recently-used eviction
    const void* scratch = nullptr;   // the scratch buffer it was captured with
  };
  static constexpr size_t kMaxGraphs = 4;  // train, train with carried state, a last short batch, ...

  Graph* find_graph(uint64_t key) {
    for (Graph& g : graphs_)
      if (g.key == key) return &g;
    return nullptr;
  }
  void remember_graph(uint64_t key) {
    if (graphs_.size() >= kMaxGraphs) {
      size_t oldest = 0;
      for (size_t i = 1; i < graphs_.size(); ++i)
        if (graphs_[i].used < graphs_[oldest].used) oldest = i;
      destroy_exec(graphs_[oldest]);
      graphs_.erase(graphs_.begin() + static_cast<long>(oldest));
    }
    Graph g;
    g.key = key;
    g.used = ++tick_;
    graphs_.push_back(g);
  }

  // Records enqueue() into g.exec; false (nothing ran, the stream is back to normal) on failure.
  // Thread-local mode: other threads (other models) are not restricted while this one captures.
  bool capture(Graph& g, const std::function<void()>& enqueue) {
    if (cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
      cudaGetLastError();
      g.failed = true;
      ++stats_.fallbacks;
      return false;
    }
    capturing_ = true;
    bool enqueued = true, retry = false;
    try {
      enqueue();
    } catch (const CaptureAbort& e) {
      enqueued = false;
      retry = e.retry;
    } catch (...) {  // the uncaptured run that follows reports a real error again
      enqueued = false;
    }
    capturing_ = false;
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
    cudaGraphExec_t exec = nullptr;
    const bool ok = enqueued && ended == cudaSuccess && graph != nullptr &&
                    cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess;
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();  // capture errors are not sticky; clear them for the uncaptured run
    if (!ok) {
      if (exec) cudaGraphExecDestroy(exec);
      if (!retry) {
        g.failed = true;
        ++stats_.fallbacks;
      }
      return false;
    }
    g.exec = exec;
    g.scratch = scratch_;
    ++stats_.captures;
    return true;
  }

  bool used_by_graph(const void* scratch) const {
    for (const Graph& g : graphs_)
      if (g.exec && g.scratch == scratch) return true;
    return false;
  }
  // An exec in flight is freed when it completes; a retired scratch buffer no graph uses any more
  // is freed in stream order (after that launch).
  void destroy_exec(Graph& g) {
    if (!g.exec) return;
    cudaGraphExecDestroy(g.exec);
    g.exec = nullptr;
    g.scratch = nullptr;
    for (size_t i = retired_.size(); i-- > 0;)
      if (!used_by_graph(retired_[i])) {
        free_device(retired_[i]);
        retired_.erase(retired_.begin() + static_cast<long>(i));
      }
  }

  std::vector<Graph> graphs_;
  std::vector<void*> retired_;  // outgrown scratch buffers that captured graphs still use
  uint64_t tick_ = 0;
  bool capturing_ = false;
  CaptureStats stats_;

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

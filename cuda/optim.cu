// Global-norm clipping in two deterministic passes (fixed grid of per-block partial sums, then
// one block sums them in order) and Adam/AdamW reading the clip factor from device memory, so a
// training step never waits on the host. The clip norm and Adam's config and step are read from
// device memory too (ops.h "per-step values"), so a captured step replays with each step's.
#include <cuda_runtime.h>

#include <cmath>

#include "cuda_check.cuh"
#include "kernels.cuh"
#include "reduce.cuh"

namespace frnn::cuda {
namespace {

constexpr unsigned kNormBlocks = 264, kNormThreads = 256;  // 264 = 2 waves of an H100's 132 SMs

__global__ void __launch_bounds__(kNormThreads) square_partials_kernel(size_t n, const float* g, double* partials) {
  __shared__ double shared[kNormThreads];
  double s = 0.0;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const double x = g[i];
    s += x * x;
  }
  s = block_sum(s, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void __launch_bounds__(kNormThreads)
    finish_norm_kernel(const double* partials, const double* max_norm_at, float* norm, float* scale) {
  __shared__ double shared[kNormThreads];
  const double max_norm = *max_norm_at;
  double s = 0.0;
  for (unsigned i = threadIdx.x; i < kNormBlocks; i += blockDim.x) s += partials[i];
  s = block_sum(s, shared);
  if (threadIdx.x != 0) return;
  const double nrm = sqrt(s);
  double c = 1.0;
  if (!isfinite(nrm)) {
    c = nan("");  // the signal for adam_kernel to skip this step (ops.h)
  } else if (max_norm > 0.0) {
    c = max_norm / (nrm + 1e-6);
    if (c > 1.0) c = 1.0;
  }
  if (norm) norm[0] = static_cast<float>(nrm);
  if (scale) scale[0] = static_cast<float>(c);
}

struct AdamArgs {
  float b1, b2, one_minus_b1, one_minus_b2, step_size, inv_bc2_sqrt, eps, wd, decay;
  bool decoupled;
};

// The step's scalars, in double as the CPU computes them, rounded to float once.
__device__ AdamArgs adam_args(const AdamStep& at) {
  const AdamConfig& cfg = at.cfg;
  const double st = static_cast<double>(at.step);
  const double bc1 = 1.0 - pow(cfg.beta1, st), bc2_sqrt = sqrt(1.0 - pow(cfg.beta2, st));
  AdamArgs a{};
  a.b1 = static_cast<float>(cfg.beta1), a.b2 = static_cast<float>(cfg.beta2);
  a.one_minus_b1 = static_cast<float>(1.0 - cfg.beta1), a.one_minus_b2 = static_cast<float>(1.0 - cfg.beta2);
  a.step_size = static_cast<float>(cfg.lr / bc1);
  a.inv_bc2_sqrt = static_cast<float>(1.0 / bc2_sqrt);
  a.eps = static_cast<float>(cfg.eps);
  a.wd = static_cast<float>(cfg.weight_decay);
  a.decay = static_cast<float>(1.0 - cfg.lr * cfg.weight_decay);
  a.decoupled = cfg.decoupled;
  return a;
}

// One element of the step, shared by the check and the update so the two cannot disagree.
__device__ __forceinline__ void adam_element(const AdamArgs& a, float gs, float p, float g0, float m0, float v0,
                                             float& p1, float& m1, float& v1) {
  float g = g0 * gs;
  if (a.wd != 0.f) {
    if (a.decoupled) p *= a.decay;
    else g = fmaf(a.wd, p, g);
  }
  m1 = a.b1 * m0 + a.one_minus_b1 * g;
  v1 = a.b2 * v0 + a.one_minus_b2 * g * g;
  p1 = p - a.step_size * m1 / (sqrtf(v1) * a.inv_bc2_sqrt + a.eps);
}

// The block's scalars, derived by one thread (two double pows) and shared.
__device__ __forceinline__ AdamArgs block_adam_args(const AdamStep* at) {
  __shared__ AdamArgs shared;
  if (threadIdx.x == 0) shared = adam_args(*at);
  __syncthreads();
  return shared;
}

// The read-only pass (ops.h): any new value that would be non-finite sets *verdict to NaN. Every
// writer stores the same NaN, so the order of the stores does not matter.
__global__ void adam_check_kernel(size_t n, const float* params, const float* grads, const float* m, const float* v,
                                  const AdamStep* at, const float* grad_scale, float* verdict) {
  const float gs = grad_scale ? *grad_scale : 1.f;
  if (!isfinite(gs)) return;  // already skipped
  const AdamArgs a = block_adam_args(at);
  bool finite = true;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float p1, m1, v1;
    adam_element(a, gs, params[i], grads[i], m[i], v[i], p1, m1, v1);
    finite = finite && isfinite(p1) && isfinite(m1) && isfinite(v1);
  }
  if (!finite) *verdict = __int_as_float(0x7fc00000);
}

__global__ void adam_kernel(size_t n, float* params, const float* grads, float* m, float* v, const AdamStep* at,
                            const float* grad_scale, const float* verdict) {
  // A non-finite gradient norm or a non-finite update: the step is skipped, nothing is touched.
  if (!isfinite(*verdict)) return;
  const float gs = grad_scale ? *grad_scale : 1.f;
  const AdamArgs a = block_adam_args(at);
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    adam_element(a, gs, params[i], grads[i], m[i], v[i], params[i], m[i], v[i]);
}

}  // namespace

size_t norm_scratch_bytes() { return kNormBlocks * sizeof(double); }

void global_norm_clip(cudaStream_t stream, size_t n, const float* g, const double* max_norm_at, float* norm,
                      float* scale, void* scratch) {
  auto* partials = static_cast<double*>(scratch);
  square_partials_kernel<<<kNormBlocks, kNormThreads, 0, stream>>>(n, g, partials);
  check_launch("square_partials_kernel");
  finish_norm_kernel<<<1, kNormThreads, 0, stream>>>(partials, max_norm_at, norm, scale);
  check_launch("finish_norm_kernel");
}

void adam(cudaStream_t stream, size_t n, float* params, const float* grads, float* m, float* v, const AdamStep* at,
          float* grad_scale, float* verdict_scratch) {
  if (!n) return;
  // The verdict is grad_scale itself (so the executor reads a skipped step), or a scratch word.
  float* verdict = grad_scale;
  if (!verdict) {
    verdict = verdict_scratch;
    check(cudaMemsetAsync(verdict, 0, sizeof(float), stream), "cudaMemsetAsync(adam verdict)");
  }
  const unsigned blocks = blocks_for(n, 256, 4096);
  adam_check_kernel<<<blocks, 256, 0, stream>>>(n, params, grads, m, v, at, grad_scale, verdict);
  check_launch("adam_check_kernel");
  adam_kernel<<<blocks, 256, 0, stream>>>(n, params, grads, m, v, at, grad_scale, verdict);
  check_launch("adam_kernel");
}

}  // namespace frnn::cuda

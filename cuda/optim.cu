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

__global__ void adam_kernel(size_t n, float* params, const float* grads, float* m, float* v, const AdamStep* at,
                            const float* grad_scale) {
  const float gs = grad_scale ? *grad_scale : 1.f;
  if (!isfinite(gs)) return;  // non-finite gradient norm: the step is skipped, nothing is touched
  // One thread per block derives the scalars (two double pows), the block shares them.
  __shared__ AdamArgs shared;
  if (threadIdx.x == 0) shared = adam_args(*at);
  __syncthreads();
  const AdamArgs a = shared;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float p = params[i];
    float g = grads[i] * gs;
    if (a.wd != 0.f) {
      if (a.decoupled) p *= a.decay;
      else g = fmaf(a.wd, p, g);
    }
    const float mi = a.b1 * m[i] + a.one_minus_b1 * g;
    const float vi = a.b2 * v[i] + a.one_minus_b2 * g * g;
    m[i] = mi;
    v[i] = vi;
    p -= a.step_size * mi / (sqrtf(vi) * a.inv_bc2_sqrt + a.eps);
    params[i] = p;
  }
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
          const float* grad_scale) {
  if (!n) return;
  adam_kernel<<<blocks_for(n, 256, 4096), 256, 0, stream>>>(n, params, grads, m, v, at, grad_scale);
  check_launch("adam_kernel");
}

}  // namespace frnn::cuda

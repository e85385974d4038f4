// Fixed-order block reductions: every sum the backend reports is deterministic (same inputs,
// same bits), so no atomics are used for any of them.
#pragma once

namespace frnn::cuda {

// Sum over the block of one double per thread; the result is valid in thread 0. blockDim.x must
// be a power of two <= 1024. `shared` holds blockDim.x doubles.
__device__ __forceinline__ double block_sum(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  const double total = shared[0];
  __syncthreads();  // the buffer may be reused right away
  return total;
}

// Sum over a warp by a xor butterfly: every lane gets the same total, in the same order.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Max over the block, as block_sum (every thread gets it; `shared` holds blockDim.x doubles).
__device__ __forceinline__ double block_max(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] = fmax(shared[threadIdx.x], shared[threadIdx.x + stride]);
    __syncthreads();
  }
  const double m = shared[0];
  __syncthreads();
  return m;
}

}  // namespace frnn::cuda

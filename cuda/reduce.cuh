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

}  // namespace frnn::cuda

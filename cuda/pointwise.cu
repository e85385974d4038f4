// Data movement and pointwise ops: copy_rows, tanh backward, dropout (Philox, the same counters
// as the CPU: native/philox.h is __host__ __device__), embedding, one-hot.
#include <cuda_runtime.h>

#include "../native/philox.h"
#include "cuda_check.cuh"
#include "kernels.cuh"

namespace frnn::cuda {
namespace {

constexpr unsigned kThreads = 256;

__global__ void copy_rows_kernel(int rows, int cols, const float* src, int lds, float* dst, int ldd,
                                 bool accumulate) {
  const size_t total = static_cast<size_t>(rows) * cols;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t r = i / cols, c = i % cols;
    const float v = src[r * lds + c];
    float* d = dst + r * ldd + c;
    *d = accumulate ? *d + v : v;
  }
}

__global__ void tanh_backward_kernel(size_t n, const float* y, float* dy) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    dy[i] *= 1.f - y[i] * y[i];
}

// Element i keeps iff uniform(seed, offset + i) >= p: the uniform has 24 bits, so comparing it
// in double on the device matches the CPU bit for bit.
__global__ void dropout_kernel(size_t n, double p, float scale, uint64_t seed, const uint64_t* offset_at,
                               const float* x, float* y) {
  const uint64_t offset = *offset_at;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const bool keep = philox_uniform(seed, offset + i, kStreamDropout) >= p;
    y[i] = keep ? x[i] * scale : 0.f;
  }
}

__global__ void embedding_forward_kernel(int N, int E, const int32_t* tokens, const float* table, float* out) {
  const size_t total = static_cast<size_t>(N) * E;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t n = i / E, e = i % E;
    out[i] = table[static_cast<size_t>(tokens[n]) * E + e];
  }
}

// One block per table row v: threads own columns; the tokens are scanned in order in shared
// chunks, so every sum has a fixed order (deterministic) and needs no atomics. Cost N per row:
// fine for character vocabularies; a large vocabulary would want a sort-by-token first.
constexpr int kTokenChunk = 1024;
__global__ void embedding_backward_kernel(int N, int E, const int32_t* tokens, const float* dout, float* dtable) {
  __shared__ int32_t chunk[kTokenChunk];
  const int v = blockIdx.x;
  for (int e0 = 0; e0 < E; e0 += blockDim.x) {
    const int e = e0 + threadIdx.x;
    float s = 0.f;
    for (int n0 = 0; n0 < N; n0 += kTokenChunk) {
      const int len = min(kTokenChunk, N - n0);
      __syncthreads();
      for (int j = threadIdx.x; j < len; j += blockDim.x) chunk[j] = tokens[n0 + j];
      __syncthreads();
      if (e < E)
        for (int j = 0; j < len; ++j)
          if (chunk[j] == v) s += dout[static_cast<size_t>(n0 + j) * E + e];
    }
    if (e < E) dtable[static_cast<size_t>(v) * E + e] += s;
  }
}

__global__ void one_hot_kernel(int N, int V, const int32_t* tokens, float* out) {
  const size_t total = static_cast<size_t>(N) * V;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t n = i / V;
    out[i] = static_cast<int>(i % V) == tokens[n] ? 1.f : 0.f;
  }
}

__global__ void scale_rows_kernel(int N, int D, const float* scale, int ld_scale, const float* a, float* out,
                                  bool accumulate) {
  const size_t total = static_cast<size_t>(N) * D;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float v = scale[(i / D) * ld_scale] * a[i];
    out[i] = accumulate ? out[i] + v : v;
  }
}

}  // namespace

void copy_rows(cudaStream_t stream, int rows, int cols, const float* src, int lds, float* dst, int ldd,
               bool accumulate) {
  const size_t n = static_cast<size_t>(rows) * cols;
  if (!n || (!accumulate && src == dst && lds == ldd)) return;
  copy_rows_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(rows, cols, src, lds, dst, ldd, accumulate);
  check_launch("copy_rows_kernel");
}

void tanh_backward_inplace(cudaStream_t stream, size_t n, const float* y, float* dy) {
  if (!n) return;
  tanh_backward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(n, y, dy);
  check_launch("tanh_backward_kernel");
}

void dropout(cudaStream_t stream, size_t n, double p, uint64_t seed, const uint64_t* offset_at, const float* x,
             float* y) {
  if (!n) return;
  if (p <= 0.0) {
    if (x != y) check(cudaMemcpyAsync(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(dropout)");
    return;
  }
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  dropout_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(n, p, scale, seed, offset_at, x, y);
  check_launch("dropout_kernel");
}

void embedding_forward(cudaStream_t stream, int N, int E, const int32_t* tokens, const float* table, float* out) {
  const size_t n = static_cast<size_t>(N) * E;
  if (!n) return;
  embedding_forward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(N, E, tokens, table, out);
  check_launch("embedding_forward_kernel");
}

void embedding_backward(cudaStream_t stream, int N, int V, int E, const int32_t* tokens, const float* dout,
                        float* dtable) {
  if (N <= 0 || V <= 0 || E <= 0) return;
  const unsigned threads = E >= 128 ? 128 : 32 * ((E + 31) / 32);
  embedding_backward_kernel<<<V, threads, 0, stream>>>(N, E, tokens, dout, dtable);
  check_launch("embedding_backward_kernel");
}

void one_hot(cudaStream_t stream, int N, int V, const int32_t* tokens, float* out) {
  const size_t n = static_cast<size_t>(N) * V;
  if (!n) return;
  one_hot_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(N, V, tokens, out);
  check_launch("one_hot_kernel");
}

void scale_rows(cudaStream_t stream, int N, int D, const float* scale, int ld_scale, const float* a, float* out,
                bool accumulate) {
  const size_t n = static_cast<size_t>(N) * D;
  if (n == 0) return;
  scale_rows_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(N, D, scale, ld_scale, a, out, accumulate);
  check_launch("scale_rows_kernel");
}

}  // namespace frnn::cuda

// Variants of the per-timestep recurrent product, out[r][c] = Σ_k X[r][k]·Y[c][k] (both operands
// contiguous in k), timed alone on the GPU so the mainline (cuda/step_product.cuh) takes the winner
// by measurement. Standalone: nvcc -O3 -std=c++17 -arch=sm_90 bench/kernels/cuda/step_variants.cu
//   direct : split-K, each lane loading its own 16-byte pieces from global memory (the first version)
//   staged : the mainline (split_k_product): split-K, each warp staging its k-slice through its own
//            shared tile (coalesced loads, broadcast shared reads), FMA
//   mma    : the mainline's 'tf32' form (split_k_product_tf32): the same staging, TF32 tensor
//            cores (mma.sync m16n8k8)
// Prints one line per (shape, variant): median µs of 200 launches by CUDA events, and the largest
// error against an fp64 reference relative to the largest |reference|.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "../../../cuda/step_product.cuh"

namespace frnn::cuda {
int split_k_rows_per_thread(int, int) { return 8; }  // unused here; the mainline defines it
}  // namespace frnn::cuda

using namespace frnn::cuda;

#define CHECK(x)                                                                             \
  do {                                                                                       \
    cudaError_t e = (x);                                                                     \
    if (e != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e)); \
      std::exit(1);                                                                          \
    }                                                                                        \
  } while (0)

constexpr int kWarps = kSplitWarps, kThreads = kSplitThreads;

// Rows of the tile -> offsets, clamped to the matrix (edge rows/cols read valid memory, unwritten).
template <int R, int C>
__device__ void tile_offsets(int rows, int cols, int K, long* xoff, long* yoff) {
  const int r0 = blockIdx.y * R, c0 = blockIdx.x * C;
  if (threadIdx.x < R) xoff[threadIdx.x] = static_cast<long>(min(r0 + static_cast<int>(threadIdx.x), rows - 1)) * K;
  if (threadIdx.x < C) yoff[threadIdx.x] = static_cast<long>(min(c0 + static_cast<int>(threadIdx.x), cols - 1)) * K;
  __syncthreads();
}

template <int R, int C>
__device__ void store_tile(const float* red, int rows, int cols, float* out) {
  const int r0 = blockIdx.y * R, c0 = blockIdx.x * C;
  for (int e = threadIdx.x; e < R * C; e += kThreads) {
    const int r = r0 + e / C, c = c0 + e % C;
    if (r < rows && c < cols) out[static_cast<size_t>(r) * cols + c] = red[e];
  }
}

template <int RPT, int CPT>
__global__ void __launch_bounds__(kThreads, 1) direct_kernel(int rows, int cols, int K, const float* X, const float* Y, float* out) {
  constexpr int R = 4 * RPT, C = 8 * CPT;
  __shared__ __align__(16) float red[kWarps * R * C];
  __shared__ long xoff[R], yoff[C];
  tile_offsets<R, C>(rows, cols, K, xoff, yoff);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, rg = lane / 8, cg = lane % 8;
  const int slice = ((K + kWarps - 1) / kWarps + 3) & ~3;
  const int kb = warp * slice, ke = min(K, kb + slice);
  float acc[RPT][CPT] = {};
#pragma unroll 2
  for (int k = kb; k < ke; k += 4) {
    float4 xv[RPT], yv[CPT];
#pragma unroll
    for (int i = 0; i < RPT; ++i) xv[i] = __ldg(reinterpret_cast<const float4*>(X + xoff[rg * RPT + i] + k));
#pragma unroll
    for (int j = 0; j < CPT; ++j) yv[j] = __ldg(reinterpret_cast<const float4*>(Y + yoff[cg + 8 * j] + k));
#pragma unroll
    for (int i = 0; i < RPT; ++i)
#pragma unroll
      for (int j = 0; j < CPT; ++j)
        acc[i][j] += xv[i].x * yv[j].x + xv[i].y * yv[j].y + xv[i].z * yv[j].z + xv[i].w * yv[j].w;
  }
  float* mine = red + warp * R * C;
#pragma unroll
  for (int i = 0; i < RPT; ++i)
#pragma unroll
    for (int j = 0; j < CPT; ++j) mine[(rg * RPT + i) * C + cg + 8 * j] = acc[i][j];
  __syncthreads();
  for (int e = threadIdx.x; e < R * C; e += kThreads) {
    float sum = red[e];
    for (int w = 1; w < kWarps; ++w) sum += red[w * R * C + e];
    red[e] = sum;
  }
  __syncthreads();
  store_tile<R, C>(red, rows, cols, out);
}

// The mainline product (kMma: its TF32 form) on a plain output.
template <int RPT, int CPT, bool kMma>
__global__ void __launch_bounds__(kThreads, 1) mainline_kernel(int rows, int cols, int K, const float* X, const float* Y, float* out) {
  constexpr int R = 4 * RPT, C = 8 * CPT;
  __shared__ __align__(16) float smem[split_k_smem_floats<R, C>()];
  __shared__ long xoff[R], yoff[C];
  tile_offsets<R, C>(rows, cols, K, xoff, yoff);
  if constexpr (kMma) split_k_product_tf32<RPT, CPT, true>(X, xoff, Y, yoff, K, smem);
  else split_k_product<RPT, CPT, true>(X, xoff, Y, yoff, K, smem);
  store_tile<R, C>(smem, rows, cols, out);
}

struct Shape {
  const char* name;
  int rows, cols, K;
};

template <class Launch>
float time_us(Launch launch) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 20; ++i) launch();
  std::vector<float> t;
  for (int i = 0; i < 200; ++i) {
    CHECK(cudaEventRecord(a));
    launch();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float ms;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1000.f);
  }
  CHECK(cudaGetLastError());
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int main() {
  const Shape shapes[] = {
      {"W2 forward (B100, 4H=2048, K=512)", 100, 2048, 512}, {"W2 backward (B100, H=512, K=2048)", 100, 512, 2048},
      {"W1 forward (B32, 1024, K=256)", 32, 1024, 256},     {"W1 backward (B32, 256, K=1024)", 32, 256, 1024},
      {"W4 forward (B1, 1024, K=256)", 1, 1024, 256},
  };
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const Shape& s : shapes) {
    std::vector<float> hx(static_cast<size_t>(s.rows) * s.K), hy(static_cast<size_t>(s.cols) * s.K);
    for (float& v : hx) v = u(gen);
    for (float& v : hy) v = u(gen);
    std::vector<double> ref(static_cast<size_t>(s.rows) * s.cols);
    double scale = 0;
    for (int r = 0; r < s.rows; ++r)
      for (int c = 0; c < s.cols; ++c) {
        double acc = 0;
        for (int k = 0; k < s.K; ++k) acc += double(hx[size_t(r) * s.K + k]) * hy[size_t(c) * s.K + k];
        ref[size_t(r) * s.cols + c] = acc;
        scale = std::max(scale, std::fabs(acc));
      }
    float *X, *Y, *out;
    CHECK(cudaMalloc(&X, hx.size() * 4));
    CHECK(cudaMalloc(&Y, hy.size() * 4));
    CHECK(cudaMalloc(&out, ref.size() * 4));
    CHECK(cudaMemcpy(X, hx.data(), hx.size() * 4, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(Y, hy.data(), hy.size() * 4, cudaMemcpyHostToDevice));
    auto report = [&](const char* variant, int R, int C, auto launch) {
      CHECK(cudaMemset(out, 0xff, ref.size() * 4));  // poison: NaN everywhere
      const float us = time_us(launch);
      std::vector<float> got(ref.size());
      CHECK(cudaMemcpy(got.data(), out, got.size() * 4, cudaMemcpyDeviceToHost));
      double err = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(got[i] - ref[i]);
        err = std::isnan(d) ? INFINITY : std::max(err, d);
      }
      const int blocks = ((s.cols + C - 1) / C) * ((s.rows + R - 1) / R);
      std::printf("%-36s %-16s tile %3dx%-3d blocks %4d  %8.2f us  rel.err %.1e\n", s.name, variant, R, C, blocks, us,
                  err / scale);
    };
    const auto grid = [&](int R, int C) { return dim3((s.cols + C - 1) / C, (s.rows + R - 1) / R); };
    report("direct 2x4", 8, 32, [&] { direct_kernel<2, 4><<<grid(8, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("direct 4x4", 16, 32, [&] { direct_kernel<4, 4><<<grid(16, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("direct 8x4", 32, 32, [&] { direct_kernel<8, 4><<<grid(32, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("staged 2x4", 8, 32, [&] { mainline_kernel<2, 4, false><<<grid(8, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("staged 4x4", 16, 32, [&] { mainline_kernel<4, 4, false><<<grid(16, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("staged 8x4", 32, 32, [&] { mainline_kernel<8, 4, false><<<grid(32, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("staged 2x2", 8, 16, [&] { mainline_kernel<2, 2, false><<<grid(8, 16), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("staged 4x2", 16, 16, [&] { mainline_kernel<4, 2, false><<<grid(16, 16), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("mma 1x4", 16, 32, [&] { mainline_kernel<4, 4, true><<<grid(16, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("mma 2x4", 32, 32, [&] { mainline_kernel<8, 4, true><<<grid(32, 32), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    report("mma 1x2", 16, 16, [&] { mainline_kernel<4, 2, true><<<grid(16, 16), kThreads>>>(s.rows, s.cols, s.K, X, Y, out); });
    CHECK(cudaFree(X));
    CHECK(cudaFree(Y));
    CHECK(cudaFree(out));
  }
  return 0;
}

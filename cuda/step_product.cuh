// The per-timestep recurrent product shared by the forward step (h(t-1)·W_hhᵀ) and the backward
// step (da(t)·W_hh, with W_hh transposed once per call): out[r][c] = Σ_k X[xoff[r] + k]·Y[yoff[c] + k]
// for a tile of R batch rows × C columns, both operands contiguous in k.
// Why split-K: a step is a small matrix product (B ≤ a few hundred rows) behind a serial
// dependency, so it is latency-bound. The first kernels gave each thread the whole k loop and
// used one 4-warp block per 16×32 tile: at W1 sizes 16 blocks for 132 SMs, 66 µs a step. Here
// 8 warps split k, every lane keeps an RPT×CPT register tile fed by 16-byte loads, and the
// partial tiles are summed through shared memory in warp order (deterministic, no atomics).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace frnn::cuda {

constexpr int kSplitWarps = 8, kSplitThreads = 32 * kSplitWarps;

// Lane (rg = lane / 8, cg = lane % 8) owns tile rows rg·RPT + i and columns cg + 8·j: R = 4·RPT,
// C = 8·CPT. kVec: K, every offset and both base pointers are multiples of 4 floats.
// On return red[r·C + c] holds the tile (red: kSplitWarps·R·C floats of shared memory).
template <int RPT, int CPT, bool kVec>
__device__ __forceinline__ void split_k_product(const float* __restrict__ X, const long* xoff,
                                                const float* __restrict__ Y, const long* yoff, int K,
                                                float* red) {
  constexpr int R = 4 * RPT, C = 8 * CPT;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, rg = lane / 8, cg = lane % 8;
  const int slice = ((K + kSplitWarps - 1) / kSplitWarps + 3) & ~3;
  const int kb = warp * slice, ke = min(K, kb + slice);
  const float* xp[RPT];
  const float* yp[CPT];
#pragma unroll
  for (int i = 0; i < RPT; ++i) xp[i] = X + xoff[rg * RPT + i];
#pragma unroll
  for (int j = 0; j < CPT; ++j) yp[j] = Y + yoff[cg + 8 * j];
  float acc[RPT][CPT] = {};
  if constexpr (kVec) {
#pragma unroll 2
    for (int k = kb; k < ke; k += 4) {
      float4 xv[RPT], yv[CPT];
#pragma unroll
      for (int i = 0; i < RPT; ++i) xv[i] = __ldg(reinterpret_cast<const float4*>(xp[i] + k));
#pragma unroll
      for (int j = 0; j < CPT; ++j) yv[j] = __ldg(reinterpret_cast<const float4*>(yp[j] + k));
#pragma unroll
      for (int i = 0; i < RPT; ++i)
#pragma unroll
        for (int j = 0; j < CPT; ++j) {
          acc[i][j] = fmaf(xv[i].x, yv[j].x, acc[i][j]);
          acc[i][j] = fmaf(xv[i].y, yv[j].y, acc[i][j]);
          acc[i][j] = fmaf(xv[i].z, yv[j].z, acc[i][j]);
          acc[i][j] = fmaf(xv[i].w, yv[j].w, acc[i][j]);
        }
    }
  } else {
#pragma unroll 4
    for (int k = kb; k < ke; ++k) {
      float xv[RPT], yv[CPT];
#pragma unroll
      for (int i = 0; i < RPT; ++i) xv[i] = __ldg(xp[i] + k);
#pragma unroll
      for (int j = 0; j < CPT; ++j) yv[j] = __ldg(yp[j] + k);
#pragma unroll
      for (int i = 0; i < RPT; ++i)
#pragma unroll
        for (int j = 0; j < CPT; ++j) acc[i][j] = fmaf(xv[i], yv[j], acc[i][j]);
    }
  }
  float* mine = red + warp * R * C;
#pragma unroll
  for (int i = 0; i < RPT; ++i)
#pragma unroll
    for (int j = 0; j < CPT; ++j) mine[(rg * RPT + i) * C + cg + 8 * j] = acc[i][j];
  __syncthreads();
  for (int e = threadIdx.x; e < R * C; e += kSplitThreads) {
    float s = red[e];
#pragma unroll
    for (int w = 1; w < kSplitWarps; ++w) s += red[w * R * C + e];
    red[e] = s;
  }
  __syncthreads();
}

__host__ __device__ inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Rows per thread for a grid of col_tiles × ceil(B / (4·RPT)) blocks: the largest tile that still
// gives every multiprocessor a block (32, 16 or 8 rows), else the smallest.
int split_k_rows_per_thread(int B, int col_tiles);

}  // namespace frnn::cuda

// The per-timestep recurrent product shared by the forward step (h(t-1)·W_hhᵀ) and the backward
// step (da(t)·W_hh, with W_hh transposed once per call): out[r][c] = Σ_k X[xoff[r] + k]·Y[yoff[c] + k]
// for a tile of R batch rows × C columns, both operands contiguous in k.
// Why this shape: a step is a small matrix product (B ≤ a few hundred rows) behind a serial
// dependency, so it is bound by latency and by load instructions, not by FLOPs. 8 warps split k;
// each warp stages its k-slice through its own shared tile in chunks of 16 (coalesced 16-byte
// loads, 4 lanes per row), every lane keeps an RPT×CPT register tile fed by broadcast shared reads,
// and the partial tiles are summed through shared memory in warp order (deterministic, no
// atomics). Measured against the alternatives by bench/kernels/cuda/step_variants.cu (H100,
// bench/results/step-variants-*.txt): lanes loading their own pieces from global memory were
// 1.5–2.7× slower; TF32 mma.sync on the same staging was 10–20% faster at W2 sizes only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace frnn::cuda {

constexpr int kSplitWarps = 8, kSplitThreads = 32 * kSplitWarps;
constexpr int kStageChunk = 16, kStageStride = kStageChunk + 4;  // +4: rows start on distinct banks

// Shared floats split_k_product needs for an R×C tile: the staging tiles, reused for the sums.
template <int R, int C>
__host__ __device__ constexpr int split_k_smem_floats() {
  return kSplitWarps * (R + C) * kStageStride > kSplitWarps * R * C ? kSplitWarps * (R + C) * kStageStride
                                                                   : kSplitWarps * R * C;
}

// Copies rows xoff[0..R) and yoff[0..C), k in [k, k + 16) ∩ [.., kend), into the warp's tiles
// (zeros past kend): 4 lanes per row, 8 rows per instruction.
template <int R, int C, bool kVec>
__device__ __forceinline__ void stage_chunk(const float* __restrict__ X, const long* xoff,
                                            const float* __restrict__ Y, const long* yoff, int k, int kend,
                                            float* xs, float* ys) {
  const int lane = threadIdx.x % 32, piece = lane % 4, sub = lane / 4, kk = k + 4 * piece;
  const auto load = [&](const float* p) {
    if constexpr (kVec) {
      return kk < kend ? __ldg(reinterpret_cast<const float4*>(p + kk)) : make_float4(0.f, 0.f, 0.f, 0.f);
    } else {
      float4 v;
      v.x = kk < kend ? __ldg(p + kk) : 0.f;
      v.y = kk + 1 < kend ? __ldg(p + kk + 1) : 0.f;
      v.z = kk + 2 < kend ? __ldg(p + kk + 2) : 0.f;
      v.w = kk + 3 < kend ? __ldg(p + kk + 3) : 0.f;
      return v;
    }
  };
#pragma unroll
  for (int r = sub; r < R; r += 8) *reinterpret_cast<float4*>(xs + r * kStageStride + 4 * piece) = load(X + xoff[r]);
#pragma unroll
  for (int c = sub; c < C; c += 8) *reinterpret_cast<float4*>(ys + c * kStageStride + 4 * piece) = load(Y + yoff[c]);
}

// out[r][c] = Σ_k X[xoff[r] + k]·Y[yoff[c] + k] for the tile R = 4·RPT rows × C = 8·CPT columns.
// Lane (rg = lane / 8, cg = lane % 8) owns rows rg + 4i and columns cg + 8j (interleaved, so its
// shared reads hit distinct banks). kVec: K, every offset and both base pointers are multiples of
// 4 floats. On return smem[r·C + c] holds the tile (smem: split_k_smem_floats<R, C>() floats).
template <int RPT, int CPT, bool kVec>
__device__ __forceinline__ void split_k_product(const float* __restrict__ X, const long* xoff,
                                                const float* __restrict__ Y, const long* yoff, int K,
                                                float* smem) {
  constexpr int R = 4 * RPT, C = 8 * CPT, kTile = (R + C) * kStageStride;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, rg = lane / 8, cg = lane % 8;
  const int slice = ((K + kSplitWarps - 1) / kSplitWarps + 3) & ~3;
  const int kb = warp * slice, ke = min(K, kb + slice);
  float* xs = smem + warp * kTile;
  float* ys = xs + R * kStageStride;
  float acc[RPT][CPT] = {};
  for (int k0 = kb; k0 < ke; k0 += kStageChunk) {
    stage_chunk<R, C, kVec>(X, xoff, Y, yoff, k0, ke, xs, ys);
    __syncwarp();
#pragma unroll
    for (int k = 0; k < kStageChunk; k += 4) {
      float4 xv[RPT], yv[CPT];
#pragma unroll
      for (int i = 0; i < RPT; ++i) xv[i] = *reinterpret_cast<const float4*>(xs + (rg + 4 * i) * kStageStride + k);
#pragma unroll
      for (int j = 0; j < CPT; ++j) yv[j] = *reinterpret_cast<const float4*>(ys + (cg + 8 * j) * kStageStride + k);
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
    __syncwarp();
  }
  __syncthreads();  // every warp is done with its staging tile: the space now holds the partial sums
  float* mine = smem + warp * R * C;
#pragma unroll
  for (int i = 0; i < RPT; ++i)
#pragma unroll
    for (int j = 0; j < CPT; ++j) mine[(rg + 4 * i) * C + cg + 8 * j] = acc[i][j];
  __syncthreads();
  for (int e = threadIdx.x; e < R * C; e += kSplitThreads) {
    float sum = smem[e];
#pragma unroll
    for (int w = 1; w < kSplitWarps; ++w) sum += smem[w * R * C + e];
    smem[e] = sum;
  }
  __syncthreads();
}

__host__ __device__ inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Rows per thread for a grid of col_tiles × ceil(B / (4·RPT)) blocks: the largest tile that still
// gives every multiprocessor a block (32, 16 or 8 rows), else the smallest.
int split_k_rows_per_thread(int B, int col_tiles);

}  // namespace frnn::cuda

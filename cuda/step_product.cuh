// The per-timestep recurrent product shared by the forward step (h(t-1)·W_hhᵀ) and the backward
// step (da(t)·W_hh, with W_hh transposed once per call): out[r][c] = Σ_k X[xoff[r] + k]·Y[yoff[c] + k]
// for a tile of R batch rows × C columns, both operands contiguous in k.
// Why this shape: a step is a small matrix product (B ≤ a few hundred rows) behind a serial
// dependency, so it is bound by latency and by load instructions, not by FLOPs. 8 warps split k;
// each warp stages its k-slice through its own shared tile in chunks of 16 (coalesced 16-byte
// loads, 4 lanes per row, the next chunk in flight during the current one's products), every lane keeps an RPT×CPT register tile fed by broadcast shared reads,
// and the partial tiles are summed through shared memory in warp order (deterministic, no
// atomics). Measured against the alternatives by bench/kernels/cuda/step_variants.cu (H100,
// bench/results/step-variants-*.txt): lanes loading their own pieces from global memory were
// 1.5–2.7× slower. In the 'tf32' mode, tiles of 16 or 32 rows multiply the staged tiles on the
// tensor cores (mma.sync m16n8k8, fp32 accumulation): 10–20% faster at W2 sizes.
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

// A warp's chunk of its k-slice in flight: rows xoff[0..R) and yoff[0..C), k in [k, k + 16) ∩
// [.., kend) (zeros past kend), 4 lanes per row, 8 rows per 16-byte load. Fetched into registers
// one chunk ahead and stored to the warp's shared tile when the previous chunk is done, so the
// loads overlap the products (ncu: without it, waits on those loads were ~57% of a step).
template <int R, int C>
struct StagedChunk {
  float4 x[R / 8], y[C / 8];
};

// Four floats of row p at [kk, kk + 4) ∩ [.., kend), zeros past kend. kCoherent: through L2 only
// (ld.global.cg), for rows other blocks of the same launch wrote (the persistent kernels); the
// read-only path (__ldg) may serve them stale.
template <bool kVec, bool kCoherent>
__device__ __forceinline__ float4 load_row4(const float* p, int kk, int kend) {
  const auto one = [&](int k) {
    if (k >= kend) return 0.f;
    if constexpr (kCoherent) return __ldcg(p + k);
    else return __ldg(p + k);
  };
  if constexpr (kVec) {
    if (kk >= kend) return make_float4(0.f, 0.f, 0.f, 0.f);
    if constexpr (kCoherent) return __ldcg(reinterpret_cast<const float4*>(p + kk));
    else return __ldg(reinterpret_cast<const float4*>(p + kk));
  } else {
    return make_float4(one(kk), one(kk + 1), one(kk + 2), one(kk + 3));
  }
}

template <int R, int C, bool kVec>
__device__ __forceinline__ void fetch_chunk(const float* __restrict__ X, const long* xoff,
                                            const float* __restrict__ Y, const long* yoff, int k, int kend,
                                            StagedChunk<R, C>& f) {
  const int lane = threadIdx.x % 32, piece = lane % 4, sub = lane / 4, kk = k + 4 * piece;
#pragma unroll
  for (int i = 0; i < R / 8; ++i) f.x[i] = load_row4<kVec, false>(X + xoff[sub + 8 * i], kk, kend);
#pragma unroll
  for (int i = 0; i < C / 8; ++i) f.y[i] = load_row4<kVec, false>(Y + yoff[sub + 8 * i], kk, kend);
}

template <int R, int C>
__device__ __forceinline__ void store_chunk(const StagedChunk<R, C>& f, float* xs, float* ys) {
  const int lane = threadIdx.x % 32, piece = lane % 4, sub = lane / 4;
#pragma unroll
  for (int i = 0; i < R / 8; ++i) *reinterpret_cast<float4*>(xs + (sub + 8 * i) * kStageStride + 4 * piece) = f.x[i];
#pragma unroll
  for (int i = 0; i < C / 8; ++i) *reinterpret_cast<float4*>(ys + (sub + 8 * i) * kStageStride + 4 * piece) = f.y[i];
}

// The partial tiles of the 8 warps (smem[w·R·C ..]) summed in warp order into smem[0 .. R·C).
template <int R, int C>
__device__ __forceinline__ void sum_partials(float* smem) {
  __syncthreads();
  for (int e = threadIdx.x; e < R * C; e += kSplitThreads) {
    float sum = smem[e];
#pragma unroll
    for (int w = 1; w < kSplitWarps; ++w) sum += smem[w * R * C + e];
    smem[e] = sum;
  }
  __syncthreads();
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define FRNN_STEP_MMA 1
__device__ __forceinline__ unsigned tf32_bits(float x) {
  unsigned r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

// A staged chunk on the tensor cores: acc[m][n] is the m16n8 tile (16m.., 8n..) in the PTX
// accumulator layout (rows g and g + 8, columns 2t and 2t + 1). ys rows are ys_stride apart (the
// staging tile's, or a resident weight tile's).
template <int MT, int NT>
__device__ __forceinline__ void mma_chunk(const float* xs, const float* ys, int ys_stride, float (&acc)[MT][NT][4]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int k = 0; k < kStageChunk; k += 8) {
    unsigned a[MT][4], b[NT][2];
#pragma unroll
    for (int m = 0; m < MT; ++m) {
      const float* p = xs + (16 * m + g) * kStageStride + k + t;
      a[m][0] = tf32_bits(p[0]), a[m][1] = tf32_bits(p[8 * kStageStride]);
      a[m][2] = tf32_bits(p[4]), a[m][3] = tf32_bits(p[8 * kStageStride + 4]);
    }
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const float* p = ys + (8 * n + g) * ys_stride + k + t;
      b[n][0] = tf32_bits(p[0]), b[n][1] = tf32_bits(p[4]);
    }
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int n = 0; n < NT; ++n)
        asm volatile(
            "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};"
            : "+f"(acc[m][n][0]), "+f"(acc[m][n][1]), "+f"(acc[m][n][2]), "+f"(acc[m][n][3])
            : "r"(a[m][0]), "r"(a[m][1]), "r"(a[m][2]), "r"(a[m][3]), "r"(b[n][0]), "r"(b[n][1]));
  }
}

// The warp's mma tiles into its partial slot smem[warp·R·C ..], then the warp-order sum.
template <int MT, int NT>
__device__ __forceinline__ void sum_mma_tiles(const float (&acc)[MT][NT][4], float* smem) {
  constexpr int R = 16 * MT, C = 8 * NT;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  float* mine = smem + warp * R * C;
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const int r = 16 * m + g, c = 8 * n + 2 * t;
      mine[r * C + c] = acc[m][n][0], mine[r * C + c + 1] = acc[m][n][1];
      mine[(r + 8) * C + c] = acc[m][n][2], mine[(r + 8) * C + c + 1] = acc[m][n][3];
    }
  sum_partials<R, C>(smem);
}
#endif

// A staged chunk on the FMA units: lane (rg = lane / 8, cg = lane % 8) owns rows rg + 4i and
// columns cg + 8j (interleaved, so its shared reads hit distinct banks).
template <int RPT, int CPT>
__device__ __forceinline__ void ffma_chunk(const float* xs, const float* ys, int ys_stride, float (&acc)[RPT][CPT]) {
  const int lane = threadIdx.x % 32, rg = lane / 8, cg = lane % 8;
#pragma unroll
  for (int k = 0; k < kStageChunk; k += 4) {
    float4 xv[RPT], yv[CPT];
#pragma unroll
    for (int i = 0; i < RPT; ++i) xv[i] = *reinterpret_cast<const float4*>(xs + (rg + 4 * i) * kStageStride + k);
#pragma unroll
    for (int j = 0; j < CPT; ++j) yv[j] = *reinterpret_cast<const float4*>(ys + (cg + 8 * j) * ys_stride + k);
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
}

template <int RPT, int CPT>
__device__ __forceinline__ void sum_ffma_tiles(const float (&acc)[RPT][CPT], float* smem) {
  constexpr int R = 4 * RPT, C = 8 * CPT;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, rg = lane / 8, cg = lane % 8;
  float* mine = smem + warp * R * C;
#pragma unroll
  for (int i = 0; i < RPT; ++i)
#pragma unroll
    for (int j = 0; j < CPT; ++j) mine[(rg + 4 * i) * C + cg + 8 * j] = acc[i][j];
  sum_partials<R, C>(smem);
}

// The k range [kb, ke) of this warp's slice of K: 8 warps, slices a multiple of 4 long. The
// per-step and the persistent products slice alike, so they sum in the same order.
__device__ __forceinline__ void warp_k_slice(int K, int& kb, int& ke) {
  const int slice = ((K + kSplitWarps - 1) / kSplitWarps + 3) & ~3;
  kb = threadIdx.x / 32 * slice, ke = min(K, kb + slice);
}

// Runs the warp's k-slice of K through its shared tiles a chunk at a time, the next chunk in
// flight, calling compute(xs, ys, ys_stride) on each staged chunk; returns once every warp is
// done with its tiles (the space is then free for the partial sums).
template <int R, int C, bool kVec, class Compute>
__device__ __forceinline__ void over_staged_chunks(const float* __restrict__ X, const long* xoff,
                                                   const float* __restrict__ Y, const long* yoff, int K,
                                                   float* smem, Compute&& compute) {
  constexpr int kTile = (R + C) * kStageStride;
  int kb, ke;
  warp_k_slice(K, kb, ke);
  float* xs = smem + threadIdx.x / 32 * kTile;
  float* ys = xs + R * kStageStride;
  StagedChunk<R, C> next;
  if (kb < ke) fetch_chunk<R, C, kVec>(X, xoff, Y, yoff, kb, ke, next);
  for (int k0 = kb; k0 < ke; k0 += kStageChunk) {
    store_chunk<R, C>(next, xs, ys);
    __syncwarp();
    if (k0 + kStageChunk < ke) fetch_chunk<R, C, kVec>(X, xoff, Y, yoff, k0 + kStageChunk, ke, next);
    compute(xs, ys, kStageStride);
    __syncwarp();
  }
  __syncthreads();
}

// out[r][c] = Σ_k X[xoff[r] + k]·Y[yoff[c] + k] for the tile R = 4·RPT rows × C = 8·CPT columns.
// kVec: K, every offset and both base pointers are multiples of 4 floats. On return smem[r·C + c]
// holds the tile (smem: split_k_smem_floats<R, C>() floats).
template <int RPT, int CPT, bool kVec>
__device__ __forceinline__ void split_k_product(const float* __restrict__ X, const long* xoff,
                                                const float* __restrict__ Y, const long* yoff, int K,
                                                float* smem) {
  constexpr int R = 4 * RPT, C = 8 * CPT;
  float acc[RPT][CPT] = {};
  over_staged_chunks<R, C, kVec>(X, xoff, Y, yoff, K, smem,
                                 [&](const float* xs, const float* ys, int st) { ffma_chunk<RPT, CPT>(xs, ys, st, acc); });
  sum_ffma_tiles<RPT, CPT>(acc, smem);
}

// The tensor-core form of split_k_product (same contract) for the 'tf32' mode, R = 4·RPT a
// multiple of 16; built for sm_80+, elsewhere it is split_k_product.
template <int RPT, int CPT, bool kVec>
__device__ __forceinline__ void split_k_product_tf32(const float* __restrict__ X, const long* xoff,
                                                     const float* __restrict__ Y, const long* yoff, int K,
                                                     float* smem) {
#ifdef FRNN_STEP_MMA
  constexpr int R = 4 * RPT, C = 8 * CPT, MT = R / 16, NT = CPT;
  static_assert(R % 16 == 0, "the mma form needs tiles of 16 or 32 rows");
  float acc[MT][NT][4] = {};
  over_staged_chunks<R, C, kVec>(X, xoff, Y, yoff, K, smem,
                                 [&](const float* xs, const float* ys, int st) { mma_chunk<MT, NT>(xs, ys, st, acc); });
  sum_mma_tiles<MT, NT>(acc, smem);
#else
  split_k_product<RPT, CPT, kVec>(X, xoff, Y, yoff, K, smem);
#endif
}

// ---- the persistent kernels' product: Y resident in shared memory for the whole launch ----

// Row stride of a resident tile of K columns: room for the last chunk's overrun past K, and ≡ 4
// (mod 32) floats so the rows a warp reads together start on distinct banks.
__host__ __device__ constexpr int resident_stride(int K) { return (K + kStageChunk + 31) / 32 * 32 + 4; }

// Shared floats of the staging/sum area next to a resident tile (X staged alone).
template <int R, int C>
__host__ __device__ constexpr int resident_work_floats() {
  return kSplitWarps * R * kStageStride > kSplitWarps * R * C ? kSplitWarps * R * kStageStride : kSplitWarps * R * C;
}

// Same contract as split_k_product, but row c of Y is Yres[c·ys_stride ..] in shared memory (a
// resident tile: ys_stride = resident_stride of its width, zero past its width) and X rows are
// read coherently (other blocks wrote them during this launch). work: resident_work_floats<R, C>()
// floats; on return work[r·C + c] holds the tile.
template <int RPT, int CPT, bool kVec, bool kMma>
__device__ __forceinline__ void resident_product(const float* X, const long* xoff, const float* Yres, int ys_stride,
                                                 int K, float* work) {
  constexpr int R = 4 * RPT;
  int kb, ke;
  warp_k_slice(K, kb, ke);
  float* xs = work + threadIdx.x / 32 * R * kStageStride;
  const int lane = threadIdx.x % 32, piece = lane % 4, sub = lane / 4;
  // Two chunks in flight (X comes from L2 every step, ~0.7 µs a round trip, and a slice has 4-16
  // chunks), where registers allow; the 8-row-per-thread FMA tile keeps one.
#ifdef FRNN_STEP_MMA
  constexpr bool kTwo = kMma || RPT <= 4;
#else
  constexpr bool kTwo = RPT <= 4;  // no tensor cores (sm_75): the mma tiles run as FMA tiles
#endif
  float4 first[R / 8], second[kTwo ? R / 8 : 1];
  const auto fetch = [&](float4* into, int k) {
#pragma unroll
    for (int i = 0; i < R / 8; ++i) into[i] = load_row4<kVec, true>(X + xoff[sub + 8 * i], k + 4 * piece, ke);
  };
  // Stages `held`, refills it with the chunk `ahead` floats further on (zeros past the slice: no
  // load), then computes the staged chunk.
  const auto step = [&](float4* held, int k0, int ahead, auto&& compute) {
#pragma unroll
    for (int i = 0; i < R / 8; ++i) *reinterpret_cast<float4*>(xs + (sub + 8 * i) * kStageStride + 4 * piece) = held[i];
    __syncwarp();
    fetch(held, k0 + ahead);
    compute(Yres + k0, ys_stride);
    __syncwarp();
  };
  const auto over_chunks = [&](auto&& compute) {
    if constexpr (kTwo) {
      fetch(first, kb);
      fetch(second, kb + kStageChunk);
      for (int k0 = kb; k0 < ke; k0 += 2 * kStageChunk) {
        step(first, k0, 2 * kStageChunk, compute);
        if (k0 + kStageChunk < ke) step(second, k0 + kStageChunk, 2 * kStageChunk, compute);
      }
    } else {
      fetch(first, kb);
      for (int k0 = kb; k0 < ke; k0 += kStageChunk) step(first, k0, kStageChunk, compute);
    }
    __syncthreads();
  };
#ifdef FRNN_STEP_MMA
  if constexpr (kMma) {
    constexpr int MT = R / 16, NT = CPT;
    float acc[MT][NT][4] = {};
    over_chunks([&](const float* ys, int st) { mma_chunk<MT, NT>(xs, ys, st, acc); });
    sum_mma_tiles<MT, NT>(acc, work);
    return;
  }
#endif
  float acc[RPT][CPT] = {};
  over_chunks([&](const float* ys, int st) { ffma_chunk<RPT, CPT>(xs, ys, st, acc); });
  sum_ffma_tiles<RPT, CPT>(acc, work);
}

__host__ __device__ inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Rows per thread for a grid of col_tiles × ceil(B / (4·RPT)) blocks: the largest tile that still
// gives every multiprocessor a block (32, 16 or 8 rows), else the smallest.
int split_k_rows_per_thread(int B, int col_tiles);

}  // namespace frnn::cuda

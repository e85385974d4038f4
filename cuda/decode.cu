// The persistent decoder (Ops::decode): one cooperative launch produces up to kMaxPerLaunch
// generated characters. Blocks own the per-step kernel's tiles (8 units × all their gates × 8
// batch rows) of every layer, each with that tile's W_hh rows (and its W_ih rows, but for a one-hot
// input, whose column is gathered from L2) resident in shared memory; the head's output columns
// are spread over all blocks in groups of 8, their W rows resident too. Per character:
//   layer 0 → barrier → layer 1 → barrier → … → dense 0 → barrier → … → logits → barrier,
// then every block draws every row's token itself from the V logits (the rule is deterministic, so
// all blocks agree; this saves a barrier and a broadcast) and feeds it to the next character.
// A layer's recurrent product h(t-1)·W_hhᵀ needs only its own previous state, so its blocks compute
// it right after their layer's barrier, while the layers above and the head run: per character the
// critical path holds each layer's input projection and epilogue, not its product.
//
// Bit parity with the per-character loop (rnn_forward T = 1, dense_forward, sample): the recurrent
// product is resident_product, the per-step kernel's own split of k and order of sums; the
// epilogue is the shared one (rnn_forward_step.cuh); the input projections and the dense layers
// reproduce gemm.cu per output element: exact fp32 is one fmaf chain over k from 0 (gemm_fp32),
// TF32 a chain of m16n8k8 mma over k in steps of 8 from 0 with the same fragment layout
// (gemm_tf32), then + bias (+ tanh). Sampling is sample_row.cuh, shared with sample.cu.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda_check.cuh"
#include "grid_sync.cuh"
#include "kernels.cuh"
#include "recurrent_path.h"
#include "rnn_forward_step.cuh"
#include "sample_row.cuh"
#include "step_product.cuh"

namespace frnn::cuda {
namespace {

constexpr int kMaxLayers = 8, kMaxDense = 4;
constexpr int kRowTile = 8;       // batch rows per block tile: the per-step kernel's smallest (RPT 2)
constexpr int kMaxRows = 32;      // B beyond this: the redundant per-row sampling would dominate
constexpr int kMaxVocab = 1024;   // V beyond this: every block's O(V²/256) ranking would dominate
constexpr int kMaxPerLaunch = 256;  // characters per launch: a cancel between chunks stays prompt

struct DecLayer {
  StepArgs a;          // T = 1, step 0, no lengths: the epilogue's row of batch row b is b
  const float* w_ih;   // [GH, I]
  const float* b_ih;
  float* h[2];         // h[0] the state, h[1] scratch: character i reads h[i & 1], writes the other
  int I, G, ld;        // input width, gate blocks, row stride of the staged W_ih / x (≥ I rounded to 8)
  int col_tiles, block0;
  bool staged;         // input rows are staged (embedding or a layer below); false: one-hot gather
};

struct DecDense {
  const float* W;  // [out, in]
  const float* b;
  float* y;        // [B, out]
  int in, out, ld, act, tiles_per_block, smem;  // smem: float offset of this block's W rows
};

struct DecodeArgs {
  int L, D, B, V, vocab, n, row_tiles;
  bool tf32;
  const float* embedding;
  DecLayer layer[kMaxLayers];
  DecDense dense[kMaxDense];
  SampleRule rule;
  uint64_t first_counter;  // character i, row b: Philox counter (first_counter + i)·B + b
  const int32_t* tokens;   // [B]: character 0's input
  int32_t* drawn;          // [n, B]
  int sm_wih, sm_work, sm_x, sm_z, sm_e, sm_idx;  // float offsets in dynamic shared memory (W_hh at 0)
};

#ifdef FRNN_STEP_MMA
__device__ __forceinline__ float tf32_round(float x) { return __uint_as_float(tf32_bits(x) & 0xffffe000u); }

// One m16n8k8 step with rows 8..15 of A zero (a tile has at most 8 batch rows).
__device__ __forceinline__ void mma_rows8(float (&acc)[4], unsigned a0, unsigned a2, unsigned b0, unsigned b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1));
}
#endif

// out[r][c] for the warp's 8 × 8 piece: X rows xs[r·ld ..] (8 of them), W rows ws[c·ld ..], k < K
// rounded up to 8 (both zero there). TF32: lane (g, t) gets rows g, columns 2t and 2t + 1 in
// acc[0], acc[1], exactly gemm_tf32's per-element chain. Only called where tf32 is on (sm_80+).
__device__ __forceinline__ void mma_piece(const float* xs, const float* ws, int ld, int K, float (&acc)[4]) {
#ifdef FRNN_STEP_MMA
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  acc[0] = acc[1] = acc[2] = acc[3] = 0.f;
  const float* x = xs + g * ld + t;
  const float* w = ws + g * ld + t;
  for (int k = 0; k < K; k += 8)
    mma_rows8(acc, tf32_bits(x[k]), tf32_bits(x[k + 4]), tf32_bits(w[k]), tf32_bits(w[k + 4]));
#else
  (void)xs, (void)ws, (void)ld, (void)K, acc[0] = acc[1] = acc[2] = acc[3] = 0.f;
#endif
}

// gemm_fp32's per-element chain: fmaf over k from 0.
__device__ __forceinline__ float fma_chain(const float* x, const float* w, int K) {
  float acc = 0.f;
#pragma unroll 8
  for (int k = 0; k < K; ++k) acc = fmaf(x[k], w[k], acc);
  return acc;
}

__device__ __forceinline__ float dense_out(float acc, const float* bias, int n, int act) {
  float v = acc + bias[n];
  return act == static_cast<int>(Activation::Tanh) ? tanhf(v) : v;
}

// Rows [0, rows) × [0, K) of src (row stride lds; coherent: other blocks wrote it this launch)
// into xs at stride ld, zero past K and for rows past `valid`.
__device__ __forceinline__ void stage_rows(float* xs, int rows, int ld, const float* src, int lds, int K, int valid) {
  for (int e = threadIdx.x; e < rows * ld; e += blockDim.x) {
    const int r = e / ld, k = e % ld;
    xs[e] = r < valid && k < K ? __ldcg(src + static_cast<size_t>(r) * lds + k) : 0.f;
  }
}

// Layer l's tile at character i: input projection into gates, then the epilogue over the recurrent
// product already in the work area (layer_product). For the reset-before GRU this is the r, z half
// (the n half follows a barrier).
template <bool kVec>
__device__ void layer_phase(const DecodeArgs& d, int l, int cur, int b0, int u0, const int* tok, const long* xoff,
                            float* smem) {
  const DecLayer& Ly = d.layer[l];
  const int H = Ly.a.H, GH = Ly.a.GH, G = Ly.G, C = kUnitsPerBlock * G;
  float* gates = Ly.a.gates;
  float* xs = smem + d.sm_x;
  const float* wih = smem + d.sm_wih;
  if (!Ly.staged) {  // one-hot: the projection is the token's W_ih column (+ b_ih), as gemm makes it
    for (int e = threadIdx.x; e < kRowTile * C; e += blockDim.x) {
      const int r = e / C, c = e % C, b = b0 + r, unit = u0 + c % kUnitsPerBlock;
      if (b >= d.B || unit >= H) continue;
      const int j = c / kUnitsPerBlock * H + unit;
      float w = __ldg(Ly.w_ih + static_cast<size_t>(j) * d.vocab + tok[b]);
#ifdef FRNN_STEP_MMA
      if (d.tf32) w = tf32_round(w);  // the one nonzero product of gemm_tf32's chain
#endif
      gates[static_cast<size_t>(b) * GH + j] = w + Ly.b_ih[j];
    }
  } else {
    if (l == 0) {  // embedding rows of this tile's tokens
      for (int e = threadIdx.x; e < kRowTile * Ly.ld; e += blockDim.x) {
        const int r = e / Ly.ld, k = e % Ly.ld, b = b0 + r;
        xs[e] = b < d.B && k < Ly.I ? __ldg(d.embedding + static_cast<size_t>(tok[b]) * Ly.I + k) : 0.f;
      }
    } else {
      const int valid = d.B - b0;
      stage_rows(xs, kRowTile, Ly.ld, d.layer[l - 1].h[cur ^ 1] + static_cast<size_t>(b0) * Ly.I, Ly.I, Ly.I, valid);
    }
    __syncthreads();
    if (d.tf32) {
      const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
      if (warp < G) {  // warp w: gate block w's 8 units
        float acc[4];
        mma_piece(xs, wih + warp * kUnitsPerBlock * Ly.ld, Ly.ld, Ly.I, acc);
        const int b = b0 + g;
        for (int q = 0; q < 2; ++q) {
          const int unit = u0 + 2 * t + q;
          if (b < d.B && unit < H) {
            const int j = warp * H + unit;
            gates[static_cast<size_t>(b) * GH + j] = acc[q] + Ly.b_ih[j];
          }
        }
      }
    } else {
      for (int e = threadIdx.x; e < kRowTile * C; e += blockDim.x) {
        const int r = e / C, c = e % C, b = b0 + r, unit = u0 + c % kUnitsPerBlock;
        if (b >= d.B || unit >= H) continue;
        const int j = c / kUnitsPerBlock * H + unit;
        gates[static_cast<size_t>(b) * GH + j] = fma_chain(xs + r * Ly.ld, wih + c * Ly.ld, Ly.I) + Ly.b_ih[j];
      }
    }
  }
  __syncthreads();  // the gates above, for the epilogue's threads
  StepArgs a = Ly.a;
  a.h_cur = Ly.h[cur], a.h_next = Ly.h[cur ^ 1], a.h_in = a.h_cur;
  const float* work = smem + d.sm_work;  // the recurrent product, computed ahead by layer_product
  switch (a.mode) {
    case StepMode::Lstm: tile_epilogue<4, kRowTile>(a, work, b0, u0); break;
    case StepMode::GruAfter: tile_epilogue<3, kRowTile>(a, work, b0, u0); break;
    case StepMode::GruRz: tile_epilogue<2, kRowTile>(a, work, b0, u0); break;
    default: tile_epilogue<1, kRowTile>(a, work, b0, u0); break;
  }
}

// Layer l's recurrent product h(t-1)·W_hhᵀ (r and z only for the reset-before GRU) into the work
// area, where it waits for layer_phase. It needs only the layer's own previous state, so it runs
// while the other layers and the head take their phases, off the per-character critical path.
template <bool kVec>
__device__ void layer_product(const DecodeArgs& d, int l, int cur, const long* xoff, float* smem) {
  const DecLayer& Ly = d.layer[l];
  const int H = Ly.a.H, stride = resident_stride(H);
  const float* h = Ly.h[cur];
  float* work = smem + d.sm_work;
  switch (Ly.a.mode) {
    case StepMode::Lstm: resident_product<2, 4, kVec, false>(h, xoff, smem, stride, H, work); break;
    case StepMode::GruAfter: resident_product<2, 3, kVec, false>(h, xoff, smem, stride, H, work); break;
    case StepMode::GruRz: resident_product<2, 2, kVec, false>(h, xoff, smem, stride, H, work); break;
    default: resident_product<2, 1, kVec, false>(h, xoff, smem, stride, H, work); break;
  }
}

// The reset-before GRU's n half: n from r·h(t-1), which every block of the layer wrote.
template <bool kVec>
__device__ void layer_phase_n(const DecodeArgs& d, int l, int cur, int b0, int u0, const long* xoff, float* smem) {
  const DecLayer& Ly = d.layer[l];
  const int H = Ly.a.H, stride = resident_stride(H);
  StepArgs n = Ly.a;
  n.h_cur = Ly.h[cur], n.h_next = Ly.h[cur ^ 1];
  n.mode = StepMode::GruN, n.b_hh = Ly.a.b_hh + 2 * H, n.h_in = Ly.a.rh;
  float* work = smem + d.sm_work;
  resident_product<2, 1, kVec, false>(Ly.a.rh, xoff, smem + 2 * kUnitsPerBlock * stride, stride, H, work);
  tile_epilogue<1, kRowTile>(n, work, b0, u0);
}

// Dense layer k: this block's groups of 8 output columns (group q·gridDim.x + blockIdx.x) for every row.
__device__ void dense_phase(const DecodeArgs& d, int k, const float* x, int ldx, float* smem) {
  const DecDense& Dk = d.dense[k];
  const int groups = (Dk.out + 7) / 8;
  int mine = 0;  // groups this block owns
  for (int q = 0; q < Dk.tiles_per_block; ++q) mine += q * static_cast<int>(gridDim.x) + static_cast<int>(blockIdx.x) < groups;
  if (mine == 0) return;
  float* xs = smem + d.sm_x;
  const float* ws = smem + Dk.smem;
  const int rows = (d.B + 7) / 8 * 8;
  stage_rows(xs, rows, Dk.ld, x, ldx, Dk.in, d.B);
  __syncthreads();
  if (d.tf32) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int item = warp; item < rows / 8 * mine; item += kSplitWarps) {
      const int rc = item / mine, q = item % mine;
      const int group = q * static_cast<int>(gridDim.x) + static_cast<int>(blockIdx.x);
      float acc[4];
      mma_piece(xs + rc * 8 * Dk.ld, ws + q * 8 * Dk.ld, Dk.ld, Dk.in, acc);
      const int b = rc * 8 + g;
      for (int h = 0; h < 2; ++h) {
        const int col = group * 8 + 2 * t + h;
        if (b < d.B && col < Dk.out) Dk.y[static_cast<size_t>(b) * Dk.out + col] = dense_out(acc[h], Dk.b, col, Dk.act);
      }
    }
  } else {
    for (int e = threadIdx.x; e < d.B * mine * 8; e += blockDim.x) {
      const int b = e / (mine * 8), qc = e % (mine * 8), q = qc / 8;
      const int col = (q * static_cast<int>(gridDim.x) + static_cast<int>(blockIdx.x)) * 8 + qc % 8;
      if (col >= Dk.out) continue;
      Dk.y[static_cast<size_t>(b) * Dk.out + col] = dense_out(fma_chain(xs + b * Dk.ld, ws + qc * Dk.ld, Dk.in), Dk.b, col, Dk.act);
    }
  }
}

template <bool kVec>
__global__ void __launch_bounds__(kSplitThreads, 2) decode_kernel(const __grid_constant__ DecodeArgs d, GridSync sync) {
  extern __shared__ __align__(16) float smem[];
  __shared__ long xoff[kRowTile];
  __shared__ int tok[kMaxRows];
  __shared__ double best_v[kSplitThreads];
  __shared__ int best_i[kSplitThreads];
  const int bid = blockIdx.x;
  int mine = -1, b0 = 0, u0 = 0;
  for (int l = 0; l < d.L; ++l) {
    const DecLayer& Ly = d.layer[l];
    const int rel = bid - Ly.block0;
    if (rel >= 0 && rel < Ly.col_tiles * d.row_tiles) mine = l, u0 = rel % Ly.col_tiles * kUnitsPerBlock, b0 = rel / Ly.col_tiles * kRowTile;
  }
  // Resident weights: row c = gate·8 + uu of the tile holds unit min(u0 + uu, H - 1) (zero past each width).
  if (mine >= 0) {
    const DecLayer& Ly = d.layer[mine];
    const int H = Ly.a.H, C = kUnitsPerBlock * Ly.G, stride = resident_stride(H);
    for (int e = threadIdx.x; e < C * stride; e += blockDim.x) {
      const int c = e / stride, k = e % stride, unit = min(u0 + c % kUnitsPerBlock, H - 1);
      smem[e] = k < H ? Ly.a.W[(static_cast<size_t>(c / kUnitsPerBlock) * H + unit) * H + k] : 0.f;
    }
    if (Ly.staged)
      for (int e = threadIdx.x; e < C * Ly.ld; e += blockDim.x) {
        const int c = e / Ly.ld, k = e % Ly.ld, unit = min(u0 + c % kUnitsPerBlock, H - 1);
        smem[d.sm_wih + e] = k < Ly.I ? Ly.w_ih[(static_cast<size_t>(c / kUnitsPerBlock) * H + unit) * Ly.I + k] : 0.f;
      }
    if (threadIdx.x < kRowTile) xoff[threadIdx.x] = static_cast<long>(min(b0 + static_cast<int>(threadIdx.x), d.B - 1)) * H;
  }
  for (int k = 0; k < d.D; ++k) {
    const DecDense& Dk = d.dense[k];
    for (int e = threadIdx.x; e < Dk.tiles_per_block * 8 * Dk.ld; e += blockDim.x) {
      const int row = e / Dk.ld, kk = e % Dk.ld;
      const int col = ((row / 8) * static_cast<int>(gridDim.x) + bid) * 8 + row % 8;
      smem[Dk.smem + e] = col < Dk.out && kk < Dk.in ? Dk.W[static_cast<size_t>(col) * Dk.in + kk] : 0.f;
    }
  }
  if (threadIdx.x < d.B) tok[threadIdx.x] = d.tokens[threadIdx.x];
  __syncthreads();

  float* zs = smem + d.sm_z;
  const SampleSpace space{best_v, best_i, reinterpret_cast<double*>(smem + d.sm_e), reinterpret_cast<int32_t*>(smem + d.sm_idx),
                          reinterpret_cast<int32_t*>(smem + d.sm_idx) + d.V};
  const DecLayer& top = d.layer[d.L - 1];
  unsigned barrier = 0;
  if (mine >= 0) layer_product<kVec>(d, mine, 0, xoff, smem);
  for (int i = 0; i < d.n; ++i) {
    const int cur = i & 1;
    for (int l = 0; l < d.L; ++l) {
      if (l == mine) layer_phase<kVec>(d, l, cur, b0, u0, tok, xoff, smem);
      if (!grid_barrier(sync, ++barrier)) return;
      if (d.layer[l].a.mode == StepMode::GruRz) {
        if (l == mine) layer_phase_n<kVec>(d, l, cur, b0, u0, xoff, smem);
        if (!grid_barrier(sync, ++barrier)) return;
      }
      // Every block of layer l has written h(t): the next character's product can start. The work
      // area keeps it untouched until then (the head and the sampling use other shared memory).
      if (l == mine && i + 1 < d.n) layer_product<kVec>(d, l, cur ^ 1, xoff, smem);
    }
    for (int k = 0; k < d.D; ++k) {
      if (k == 0) dense_phase(d, 0, top.h[cur ^ 1], top.a.H, smem);
      else dense_phase(d, k, d.dense[k - 1].y, d.dense[k - 1].out, smem);
      if (!grid_barrier(sync, ++barrier)) return;
    }
    // Every block draws every row: same logits, same rule, same token.
    const float* logits = d.dense[d.D - 1].y;
    for (int b = 0; b < d.B; ++b) {
      for (int v = threadIdx.x; v < d.V; v += blockDim.x) zs[v] = __ldcg(logits + static_cast<size_t>(b) * d.V + v);
      __syncthreads();
      const int pick = sample_row(d.rule, zs, (d.first_counter + i) * d.B + b, space);
      if (threadIdx.x == 0) {
        tok[b] = pick;
        if (bid == 0) d.drawn[static_cast<size_t>(i) * d.B + b] = pick;
      }
    }
    __syncthreads();
  }
}

// Scratch floats at each buffer's start: 16-byte aligned pieces.
size_t round4(size_t n) { return (n + 3) / 4 * 4; }

// Row stride of a staged operand of width K: K rounded up to the mma's 8, then ≡ 4 (mod 32) for
// the mma fragments' banks (TF32) or ≡ 1 for the fp32 chains (32 columns of one row, 32 banks).
int staged_ld(int K, bool tf32) { return (K + 7) / 8 * 8 + 31 - ((K + 7) / 8 * 8 + 31) % 32 + (tf32 ? 4 : 1); }

}  // namespace

size_t decode_scratch_floats(const DecodeSpec<float>& s) {
  size_t n = kGridSyncScratchFloats;  // the barrier's words
  for (const auto& l : s.layers)
    n += round4(static_cast<size_t>(s.B) * l.shape.H) * 2 + round4(static_cast<size_t>(s.B) * l.shape.H * gate_count(l.shape.cell));
  for (const auto& h : s.head) n += round4(static_cast<size_t>(s.B) * h.units);
  return n;
}

bool decode(cudaStream_t stream, bool tf32, const DecodeSpec<float>& s, int steps, const SampleConfig& cfg,
            uint64_t seed, uint64_t first_draw, const int32_t* tokens, int32_t* drawn, float* scratch, int* fault) {
  if (steps <= 0) return true;
  const Path path = requested_path();
  const auto refuse = [&](const std::string& why) {
    if (path == Path::Persistent)
      throw std::runtime_error("FUSEDRNN_CUDA_RECURRENT=persistent: the persistent generation decoder cannot run this model (" +
                               why + ")");
    count_launch(StatSlot::StepwiseDecode);
    return false;
  };
  if (path == Path::Stepwise) return refuse("stepwise requested");
  if (!cooperative_supported()) return refuse("this device has no cooperative launch");
  const int L = static_cast<int>(s.layers.size()), D = static_cast<int>(s.head.size()), B = s.B;
  if (L < 1 || L > kMaxLayers) return refuse("it supports 1 to 8 layers");
  if (D < 1 || D > kMaxDense) return refuse("it supports 1 to 4 dense layers");
  if (B < 1 || B > kMaxRows) return refuse("it supports batches of 1 to 32 rows");
  const int V = s.head.back().units;
  if (V > kMaxVocab || V > s.vocab) return refuse("its vocabulary exceeds 1024 or the input vocabulary");
  if (cfg.products != ProductPrecision::Fp32) return refuse("bf16 and int8 products are CPU modes");

  DecodeArgs d{};
  d.L = L, d.D = D, d.B = B, d.V = V, d.vocab = s.vocab, d.tf32 = tf32;
  d.row_tiles = (B + kRowTile - 1) / kRowTile;
  d.embedding = s.embedding;
  d.rule = SampleRule{V, cfg.temperature, cfg.top_p, cfg.top_k, cfg.greedy, seed};
  d.tokens = tokens, d.drawn = drawn;
  // Scratch: the counter, then per layer h[1], gates (rh shares h's slot size), per dense its output.
  unsigned* counter = reinterpret_cast<unsigned*>(scratch);
  float* next = scratch + kGridSyncScratchFloats;
  bool vec = true;
  int blocks = 0;
  size_t whh_floats = 0, wih_floats = 0;
  int x_floats = 0;
  for (int l = 0; l < L; ++l) {
    const auto& src = s.layers[l];
    const RnnShape& sh = src.shape;
    const int H = sh.H, G = gate_count(sh.cell), GH = G * H;
    if (sh.reverse || H < 1 || (sh.cell == Cell::LSTM && !src.c)) return refuse("unsupported layer");
    DecLayer& Ly = d.layer[l];
    StepArgs& a = Ly.a;
    a.mode = sh.cell == Cell::LSTM ? StepMode::Lstm
             : sh.cell == Cell::GRU ? (sh.reset_before ? StepMode::GruRz : StepMode::GruAfter)
                                    : StepMode::Rnn;
    a.tf32 = tf32, a.B = B, a.T = 1, a.H = H, a.GH = GH, a.step = 0;
    a.reverse = false, a.relu = sh.cell == Cell::RNN_RELU, a.lengths = nullptr;
    a.W = src.p.w_hh, a.b_hh = src.p.b_hh;
    a.peep = sh.cell == Cell::LSTM && sh.peephole ? src.p.peephole : nullptr;
    a.c_cur = src.c, a.c_next = src.c;  // the owner thread reads c then writes it: in place
    Ly.h[0] = src.h, Ly.h[1] = next;
    next += round4(static_cast<size_t>(B) * H);
    a.rh = next;
    next += round4(static_cast<size_t>(B) * H);
    a.gates = next;
    next += round4(static_cast<size_t>(B) * GH);
    Ly.w_ih = src.p.w_ih, Ly.b_ih = src.p.b_ih;
    Ly.I = sh.I, Ly.G = G;
    Ly.staged = l > 0 || s.embedding != nullptr;
    Ly.ld = staged_ld(sh.I, tf32);
    Ly.col_tiles = (H + kUnitsPerBlock - 1) / kUnitsPerBlock;
    Ly.block0 = blocks;
    blocks += Ly.col_tiles * d.row_tiles;
    // The per-step path multiplies 16- and 32-row tiles on the tensor cores in TF32; ours are 8 rows.
    if (tf32 && split_k_rows_per_thread(B, Ly.col_tiles) >= 4) return refuse("its batch takes the per-step path's tensor-core tiles");
    if (H % 4 != 0 || !aligned16(src.h)) vec = false;
    whh_floats = std::max(whh_floats, static_cast<size_t>(kUnitsPerBlock) * G * resident_stride(H));
    if (Ly.staged) {
      wih_floats = std::max(wih_floats, static_cast<size_t>(kUnitsPerBlock) * G * Ly.ld);
      x_floats = std::max(x_floats, kRowTile * Ly.ld);
    }
  }
  size_t at = round4(whh_floats);
  d.sm_wih = static_cast<int>(at);
  at += round4(wih_floats);
  for (int k = 0; k < D; ++k) {
    DecDense& Dk = d.dense[k];
    Dk.W = s.head[k].W, Dk.b = s.head[k].b, Dk.out = s.head[k].units;
    Dk.in = k == 0 ? s.layers.back().shape.H : s.head[k - 1].units;
    Dk.act = static_cast<int>(s.head[k].act);
    Dk.y = next;
    next += round4(static_cast<size_t>(B) * Dk.out);
    Dk.ld = staged_ld(Dk.in, tf32);
    Dk.tiles_per_block = ((Dk.out + 7) / 8 + blocks - 1) / blocks;
    Dk.smem = static_cast<int>(at);
    at += round4(static_cast<size_t>(Dk.tiles_per_block) * 8 * Dk.ld);
    x_floats = std::max(x_floats, (B + 7) / 8 * 8 * Dk.ld);
  }
  d.sm_work = static_cast<int>(at);
  at += round4(resident_work_floats<kRowTile, kUnitsPerBlock * 4>());
  d.sm_x = static_cast<int>(at);
  at += round4(x_floats);
  d.sm_z = static_cast<int>(at);
  at += round4(V);
  d.sm_e = static_cast<int>(at);  // doubles: at is a multiple of 4 floats, so 16-byte aligned
  at += round4(2 * static_cast<size_t>(V));
  d.sm_idx = static_cast<int>(at);
  at += round4(2 * static_cast<size_t>(V));
  const size_t smem = at * sizeof(float);
  if (smem > static_cast<size_t>(smem_optin_limit())) return refuse("its resident weights exceed shared memory");

  const auto kernel = vec ? decode_kernel<true> : decode_kernel<false>;
  for (int done = 0; done < steps;) {
    const int n = std::min(kMaxPerLaunch, steps - done);
    d.n = n;
    d.first_counter = first_draw + static_cast<uint64_t>(done);
    d.tokens = done == 0 ? tokens : drawn + static_cast<size_t>(done - 1) * B;
    d.drawn = drawn + static_cast<size_t>(done) * B;
    reset_grid_sync(counter, stream);
    if (!launch_if_resident(kernel, dim3(blocks), kSplitThreads, smem, stream, d, make_grid_sync(counter, fault))) {
      if (done > 0) throw std::runtime_error("the persistent generation decoder lost its multiprocessors between launches");
      return refuse("its blocks cannot all be resident");
    }
    count_launch(StatSlot::PersistentDecode);
    if (n % 2 == 1)  // the state ended in h[1]
      for (int l = 0; l < L; ++l)
        check(cudaMemcpyAsync(d.layer[l].h[0], d.layer[l].h[1], static_cast<size_t>(B) * d.layer[l].a.H * sizeof(float),
                              cudaMemcpyDeviceToDevice, stream),
              "cudaMemcpyAsync(decode state)");
    done += n;
  }
  return true;
}

}  // namespace frnn::cuda

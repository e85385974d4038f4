// Our tiled GEMM (no cuBLAS): 64x64 output tiles, K in steps of 32 staged through shared memory,
// the next step's tiles fetched into registers while the current one is multiplied (the first
// version waited on every fetch: ~1.6 µs per k-step, 1 ms for a W2 weight gradient).
// Two inner products share the tiling: TF32 tensor cores (mma.sync m16n8k8, fp32 accumulate;
// sm_80+) and exact fp32 FMA (any arch, and the 'fp32' precision mode). Used for the work that
// is hoisted out of the time loop (input projection, dx, dW over all B*T rows) and for dense.
// Plus the deterministic per-column reduction for bias/peephole gradients.
#include "cuda_check.cuh"
#include "kernels.cuh"

namespace frnn::cuda {
namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 32, kGemmThreads = 128;
// +4 keeps rows 16-byte aligned and spreads the fragment loads over banks.
constexpr int kPad = 4;

struct GemmArgs {
  bool trans_a, trans_b;
  int M, N, K;
  float alpha, beta;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float* C;
  int ldc;
  const float* bias;
  Activation act;
};

// op(A)[m0.., k0..] and op(B)[k0.., n0..] into registers (zero outside the matrix), then into
// k-major shared tiles. Both operands are a TR-row tile of a [rows, K] matrix, stored either
// row-major (element (r, k) at r*ld + k) or k-major (at k*ld + r): A is k-major when transposed,
// B when not. The thread -> element map follows the contiguous dimension, so the loads coalesce.
template <int TM, int TN, int THREADS>
struct TileFetch {
  static constexpr int kA = TM * kTileK / THREADS, kB = TN * kTileK / THREADS;
  float a[kA], b[kB];
};

template <int TR, int THREADS>
__device__ __forceinline__ void fetch_operand(const float* P, int ld, bool k_major, int rows, int K, int r0, int k0,
                                              float (&out)[TR * kTileK / THREADS]) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < TR * kTileK / THREADS; ++i) {
    const int idx = tid + i * THREADS;
    int r, k;
    if (k_major) k = idx / TR, r = idx % TR;
    else r = idx / kTileK, k = idx % kTileK;
    const int gr = r0 + r, gk = k0 + k;
    out[i] = 0.f;
    if (gr < rows && gk < K)
      out[i] = k_major ? P[static_cast<size_t>(gk) * ld + gr] : P[static_cast<size_t>(gr) * ld + gk];
  }
}

template <int TR, int THREADS>
__device__ __forceinline__ void store_operand(bool k_major, const float (&in)[TR * kTileK / THREADS],
                                              float (*tile)[TR + kPad]) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < TR * kTileK / THREADS; ++i) {
    const int idx = tid + i * THREADS;
    if (k_major) tile[idx / TR][idx % TR] = in[i];
    else tile[idx % kTileK][idx / kTileK] = in[i];
  }
}

template <int TM, int TN, int THREADS>
__device__ __forceinline__ void fetch_tiles(const GemmArgs& g, int m0, int n0, int k0, TileFetch<TM, TN, THREADS>& f) {
  fetch_operand<TM, THREADS>(g.A, g.lda, g.trans_a, g.M, g.K, m0, k0, f.a);
  fetch_operand<TN, THREADS>(g.B, g.ldb, !g.trans_b, g.N, g.K, n0, k0, f.b);
}

template <int TM, int TN, int THREADS>
__device__ __forceinline__ void store_tiles(const GemmArgs& g, const TileFetch<TM, TN, THREADS>& f,
                                            float (*As)[TM + kPad], float (*Bs)[TN + kPad]) {
  store_operand<TM, THREADS>(g.trans_a, f.a, As);
  store_operand<TN, THREADS>(!g.trans_b, f.b, Bs);
}

__device__ __forceinline__ void store(const GemmArgs& g, int m, int n, float acc) {
  if (m >= g.M || n >= g.N) return;
  float v = g.alpha * acc;
  float* c = g.C + static_cast<size_t>(m) * g.ldc + n;
  if (g.beta != 0.f) v += g.beta * *c;  // beta == 0: C is never read
  if (g.bias) v += g.bias[n];
  if (g.act == Activation::Tanh) v = tanhf(v);
  *c = v;
}

// Exact fp32: each thread owns 8 rows x 4 columns (columns strided by 16 for conflict-free reads).
__global__ void __launch_bounds__(kGemmThreads) gemm_fp32_kernel(GemmArgs g) {
  __shared__ __align__(16) float As[kTileK][kTileM + kPad];
  __shared__ __align__(16) float Bs[kTileK][kTileN + kPad];
  const int m0 = blockIdx.y * kTileM, n0 = blockIdx.x * kTileN;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[8][4] = {};
  TileFetch<kTileM, kTileN, kGemmThreads> f;
  fetch_tiles(g, m0, n0, 0, f);
  for (int k0 = 0; k0 < g.K; k0 += kTileK) {
    store_tiles(g, f, As, Bs);
    __syncthreads();
    if (k0 + kTileK < g.K) fetch_tiles(g, m0, n0, k0 + kTileK, f);  // in flight during the products
#pragma unroll
    for (int k = 0; k < kTileK; ++k) {
      float a[8], b[4];
#pragma unroll
      for (int i = 0; i < 8; ++i) a[i] = As[k][ty * 8 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[k][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) store(g, m0 + ty * 8 + i, n0 + tx + 16 * j, acc[i][j]);
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}
#endif

// TF32 tensor cores: WGM x WGN warps, each a (TM/WGM) x (TN/WGN) warp tile of m16n8 mma tiles.
// 64x64 with 4 warps for small products; 128x128 with 8 warps (64x32 each) once there are enough
// output tiles to fill the GPU (twice the mma work per shared load).
template <int TM, int TN, int WGM, int WGN>
__global__ void __launch_bounds__(32 * WGM * WGN) gemm_tf32_kernel(GemmArgs g) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kThreads = 32 * WGM * WGN, MT = TM / WGM / 16, NT = TN / WGN / 8;
  __shared__ __align__(16) float As[kTileK][TM + kPad];
  __shared__ __align__(16) float Bs[kTileK][TN + kPad];
  const int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = (warp / WGN) * (TM / WGM), wn = (warp % WGN) * (TN / WGN);
  const int grp = lane / 4, tig = lane % 4;  // PTX fragment layout: group id, thread in group
  float acc[MT][NT][4] = {};
  TileFetch<TM, TN, kThreads> f;
  fetch_tiles(g, m0, n0, 0, f);
  for (int k0 = 0; k0 < g.K; k0 += kTileK) {
    store_tiles(g, f, As, Bs);
    __syncthreads();
    if (k0 + kTileK < g.K) fetch_tiles(g, m0, n0, k0 + kTileK, f);  // in flight during the products
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += 8) {
      uint32_t a[MT][4], b[NT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int r = wm + mt * 16 + grp;
        a[mt][0] = to_tf32(As[kk + tig][r]);
        a[mt][1] = to_tf32(As[kk + tig][r + 8]);
        a[mt][2] = to_tf32(As[kk + tig + 4][r]);
        a[mt][3] = to_tf32(As[kk + tig + 4][r + 8]);
      }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int c = wn + nt * 8 + grp;
        b[nt][0] = to_tf32(Bs[kk + tig][c]);
        b[nt][1] = to_tf32(Bs[kk + tig + 4][c]);
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          float* d = acc[mt][nt];
          asm volatile(
              "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
              "{%0,%1,%2,%3};"
              : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
              : "r"(a[mt][0]), "r"(a[mt][1]), "r"(a[mt][2]), "r"(a[mt][3]), "r"(b[nt][0]), "r"(b[nt][1]));
        }
    }
    __syncthreads();
  }
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int r = m0 + wm + mt * 16 + grp, c = n0 + wn + nt * 8 + tig * 2;
      store(g, r, c, acc[mt][nt][0]);
      store(g, r, c + 1, acc[mt][nt][1]);
      store(g, r + 8, c, acc[mt][nt][2]);
      store(g, r + 8, c + 1, acc[mt][nt][3]);
    }
#else
  __trap();  // the host never selects TF32 below sm_80 (CudaOps checks the compute capability)
#endif
}

constexpr int kColThreadsX = 32, kColThreadsY = 16;

__global__ void __launch_bounds__(kColThreadsX* kColThreadsY)
    column_sums_kernel(int rows, int cols, const float* A, int lda, const float* Bm, int ldb, float* out,
                       bool accumulate) {
  __shared__ float part[kColThreadsY][kColThreadsX + 1];
  const int c = blockIdx.x * kColThreadsX + threadIdx.x;
  float s = 0.f;
  if (c < cols)
    for (int r = threadIdx.y; r < rows; r += kColThreadsY) {
      const float a = A[static_cast<size_t>(r) * lda + c];
      s += Bm ? a * Bm[static_cast<size_t>(r) * ldb + c] : a;
    }
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  for (int stride = kColThreadsY / 2; stride > 0; stride /= 2) {
    if (threadIdx.y < stride) part[threadIdx.y][threadIdx.x] += part[threadIdx.y + stride][threadIdx.x];
    __syncthreads();
  }
  if (threadIdx.y == 0 && c < cols) out[c] = (accumulate ? out[c] : 0.f) + part[0][threadIdx.x];
}

}  // namespace

void gemm(cudaStream_t stream, bool tf32, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
          const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc, const float* bias,
          Activation act) {
  if (M <= 0 || N <= 0) return;
  const GemmArgs g{trans_a, trans_b, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, bias, act};
  const dim3 grid((N + kTileN - 1) / kTileN, (M + kTileM - 1) / kTileM);
  if (!tf32) {
    gemm_fp32_kernel<<<grid, kGemmThreads, 0, stream>>>(g);
  } else if (static_cast<long>((N + 127) / 128) * ((M + 127) / 128) >= multiprocessor_count()) {
    gemm_tf32_kernel<128, 128, 2, 4><<<dim3((N + 127) / 128, (M + 127) / 128), 256, 0, stream>>>(g);
  } else {
    gemm_tf32_kernel<64, 64, 2, 2><<<grid, 128, 0, stream>>>(g);
  }
  check_launch(tf32 ? "gemm_tf32_kernel" : "gemm_fp32_kernel");
}

void column_sums(cudaStream_t stream, int rows, int cols, const float* A, int lda, const float* Bm, int ldb,
                 float* out, bool accumulate) {
  if (cols <= 0) return;
  const dim3 block(kColThreadsX, kColThreadsY);
  column_sums_kernel<<<(cols + kColThreadsX - 1) / kColThreadsX, block, 0, stream>>>(rows, cols, A, lda, Bm, ldb,
                                                                                      out, accumulate);
  check_launch("column_sums_kernel");
}

}  // namespace frnn::cuda

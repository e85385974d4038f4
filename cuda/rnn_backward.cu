// Recurrent layer backward through time on the GPU. Per step only what is truly sequential:
//   1. a pointwise kernel: dh += dy(t), the gate derivatives from the saved post-activation gates
//      (no transcendental except tanh(c)), written to the [N, G*H] pre-activation gradients;
//   2. the recurrent-transpose product dh(t-1) = dgates(t)·W_hh (+ the GRU's z*dh term), rows
//      gathered from the step's (b, t) so nothing is copied.
// After the loop dx, dW_ih, dW_hh are GEMMs over all B*T rows and the bias/peephole gradients
// deterministic column reductions: no atomics anywhere.
#include <cuda_runtime.h>

#include "cuda_check.cuh"
#include "kernels.cuh"
#include "rnn_backward_step.cuh"
#include "rnn_layout.cuh"
#include "rnn_persistent.h"
#include "step_product.cuh"

namespace frnn::cuda {
namespace {

__global__ void rnn_point_backward_kernel(PointArgs a) {
  const size_t total = static_cast<size_t>(a.B) * a.H;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    point_backward(a, i);
}

__global__ void gru_reset_backward_kernel(int B, int T, int H, int GH, int step, bool reverse, const int* lengths,
                                          const float* gates, const float* hprev, const float* drh, float* da) {
  const size_t total = static_cast<size_t>(B) * H;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    const long row = step_row(b, step, T, lengths, reverse);
    if (row >= 0) gru_reset_backward(H, GH, row, i, k, gates, hprev, drh, da);
  }
}

constexpr int kProductCols = 16;  // 2 columns a lane: the fastest tile at W1 and W2 sizes (step_variants)

// out[b, j] = Σ_m A[row(b), m] · W[m, j] for a tile of R batch rows × 32 columns (split-K over m).
template <int RPT, bool kVec, bool kMma>
__global__ void __launch_bounds__(kSplitThreads, 1) rnn_step_product_kernel(ProductArgs a) {
  constexpr int R = 4 * RPT;
  __shared__ __align__(16) float smem[split_k_smem_floats<R, kProductCols>()];
  __shared__ long rows[R], xoff[R], yoff[kProductCols];
  const int b0 = blockIdx.y * R, j0 = blockIdx.x * kProductCols;
  if (threadIdx.x < R) {
    const int b = b0 + threadIdx.x;
    const long row = b < a.B ? step_row(b, a.step, a.T, a.lengths, a.reverse) : -1;
    rows[threadIdx.x] = row;
    xoff[threadIdx.x] = row >= 0 ? row * a.lda : 0;  // ended rows read row 0; their result is dropped
  }
  if (threadIdx.x < kProductCols) yoff[threadIdx.x] = static_cast<long>(min(j0 + static_cast<int>(threadIdx.x), a.H - 1)) * a.ldwt;
  __syncthreads();
  if constexpr (kMma) split_k_product_tf32<RPT, kProductCols / 8, kVec>(a.A, xoff, a.WT, yoff, a.M, smem);
  else split_k_product<RPT, kProductCols / 8, kVec>(a.A, xoff, a.WT, yoff, a.M, smem);
  for (int e = threadIdx.x; e < R * kProductCols; e += kSplitThreads) {
    const int lr = e / kProductCols, j = j0 + e % kProductCols, b = b0 + lr;
    if (b < a.B && j < a.H) product_epilogue(a, static_cast<size_t>(b) * a.H + j, j, rows[lr], smem[e]);
  }
}

template <int RPT>
void launch_product_rows(cudaStream_t stream, const ProductArgs& a, bool vec) {
  const dim3 grid((a.H + kProductCols - 1) / kProductCols, (a.B + 4 * RPT - 1) / (4 * RPT));
  if constexpr (RPT >= 4) {
    if (a.tf32) {
      if (vec) rnn_step_product_kernel<RPT, true, true><<<grid, kSplitThreads, 0, stream>>>(a);
      else rnn_step_product_kernel<RPT, false, true><<<grid, kSplitThreads, 0, stream>>>(a);
      check_launch("rnn_step_product_kernel");
      return;
    }
  }
  if (vec) rnn_step_product_kernel<RPT, true, false><<<grid, kSplitThreads, 0, stream>>>(a);
  else rnn_step_product_kernel<RPT, false, false><<<grid, kSplitThreads, 0, stream>>>(a);
  check_launch("rnn_step_product_kernel");
}

void launch_product(cudaStream_t stream, const ProductArgs& a) {
  const bool vec = a.M % 4 == 0 && a.lda % 4 == 0 && a.ldwt % 4 == 0 && aligned16(a.A) && aligned16(a.WT);
  switch (split_k_rows_per_thread(a.B, (a.H + kProductCols - 1) / kProductCols)) {
    case 8: launch_product_rows<8>(stream, a, vec); break;
    case 4: launch_product_rows<4>(stream, a, vec); break;
    default: launch_product_rows<2>(stream, a, vec); break;
  }
}

// out [cols, rows] = in [rows, cols]ᵀ through 32×32 shared tiles (both sides coalesced).
__global__ void transpose_kernel(int rows, int cols, const float* __restrict__ in, float* __restrict__ out) {
  __shared__ float tile[32][33];
  const int c0 = blockIdx.x * 32, r0 = blockIdx.y * 32;
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    const int r = r0 + i, c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[i][threadIdx.x] = in[static_cast<size_t>(r) * cols + c];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    const int c = c0 + i, r = r0 + threadIdx.x;
    if (c < cols && r < rows) out[static_cast<size_t>(c) * rows + r] = tile[threadIdx.x][i];
  }
}

__global__ void multiply_kernel(size_t n, const float* a, int lda, const float* b, int ldb, int cols, float* out) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t r = i / cols, c = i % cols;
    out[i] = a[r * lda + c] * b[r * ldb + c];
  }
}

}  // namespace

size_t rnn_backward_scratch(const RnnShape& s) {
  const RnnLayout L = rnn_layout(s);
  const size_t BH = static_cast<size_t>(s.B) * s.H;
  const bool after = s.cell == Cell::GRU && !s.reset_before, before = s.cell == Cell::GRU && s.reset_before;
  // W_hhᵀ, da, dah (reset-after), dh ping-pong, dc, drh, r*h(t-1) over all rows (reset-before
  // dW_hn), the persistent kernel's counter.
  return static_cast<size_t>(L.GH) * s.H + L.N * L.GH * (after ? 2 : 1) + 4 * BH + (before ? L.N * s.H : 0) +
         kPersistentScratch;
}

void rnn_backward(cudaStream_t stream, bool tf32, const RnnShape& s, const float* x, const int32_t* lengths,
                  const RnnParams<float>& p, const float* ws, const float* dy, int ldy, const float* dhN,
                  const float* dcN, float* dx, float* dh0, float* dc0, const RnnParamGrads<float>& g,
                  float* scratch, int* fault) {
  const RnnLayout L = rnn_layout(s);
  const int B = s.B, T = s.T, H = s.H, GH = L.GH, N = static_cast<int>(L.N);
  if (B <= 0 || H <= 0) return;
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU;
  const bool after = gru && !s.reset_before, before = gru && s.reset_before;
  const size_t BH = static_cast<size_t>(B) * H, bytes_BH = BH * sizeof(float);
  float* w_hh_t = scratch;
  float* da = w_hh_t + static_cast<size_t>(GH) * H;
  float* dah = after ? da + L.N * GH : da;
  // dh follows da (and dah when it is separate): with dah == da it must not start at dah.
  float* dh[2] = {da + L.N * GH * (after ? 2 : 1), nullptr};
  dh[1] = dh[0] + BH;
  float* dc = dh[1] + BH;
  float* drh = dc + BH;
  float* rhm = drh + BH;
  unsigned* counter = reinterpret_cast<unsigned*>(rhm + (before ? L.N * H : 0));
  check(cudaMemsetAsync(da, 0, L.N * GH * (after ? 2 : 1) * sizeof(float), stream), "cudaMemsetAsync(da)");
  if (dhN) check(cudaMemcpyAsync(dh[0], dhN, bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(dhN)");
  else check(cudaMemsetAsync(dh[0], 0, bytes_BH, stream), "cudaMemsetAsync(dh)");
  if (lstm) {
    if (dcN) check(cudaMemcpyAsync(dc, dcN, bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(dcN)");
    else check(cudaMemsetAsync(dc, 0, bytes_BH, stream), "cudaMemsetAsync(dc)");
  }
  const float* gates = ws + L.gates;
  const float* hprev = ws + L.hprev;

  PointArgs pa{};
  pa.kind = lstm ? CellKind::Lstm : after ? CellKind::GruAfter : before ? CellKind::GruBefore : CellKind::Rnn;
  pa.B = B, pa.T = T, pa.H = H, pa.GH = GH;
  pa.reverse = s.reverse, pa.relu = s.cell == Cell::RNN_RELU;
  pa.lengths = lengths;
  pa.gates = gates, pa.hprev = hprev;
  if (lstm) pa.cprev = ws + L.cprev, pa.cnew = ws + L.cnew;
  if (after) pa.hn = ws + L.hn;
  pa.peep = lstm && s.peephole ? p.peephole : nullptr;
  pa.dy = dy, pa.ldy = ldy;
  pa.dc = dc, pa.da = da, pa.dah = after ? dah : nullptr;

  ProductArgs pr{};
  pr.tf32 = tf32;
  pr.B = B, pr.T = T, pr.H = H, pr.GH = GH;
  pr.reverse = s.reverse, pr.gru = gru, pr.reset_before = before;
  pr.lengths = lengths, pr.gates = gates, pr.drh = drh;
  pr.ldwt = GH;

  const unsigned point_blocks = blocks_for(BH, 256, 1024);
  // The last step's pointwise part, then either one persistent launch for every step or the
  // per-step loop (which runs that part again itself).
  pa.step = T - 1, pa.dh = dh[0];
  rnn_point_backward_kernel<<<point_blocks, 256, 0, stream>>>(pa);
  check_launch("rnn_point_backward_kernel");
  pr.out_kind = ProductOut::DhPrev;
  pr.M = before ? 2 * H : GH, pr.lda = GH, pr.A = dah;
  const bool persistent = persistent_rnn_backward(stream, pr, pa, p.w_hh, dh, PersistentRun{counter, fault});
  if (!persistent) {
    transpose_kernel<<<dim3((H + 31) / 32, (GH + 31) / 32), dim3(32, 8), 0, stream>>>(GH, H, p.w_hh, w_hh_t);
    check_launch("transpose_kernel");
  }
  int cur = persistent ? T % 2 : 0;
  for (int step = T - 1; step >= 0 && !persistent; --step) {
    // The reset-before GRU needs the drh product between the pointwise parts; every other cell had
    // this step's pointwise part run by the previous product's epilogue (all but the first step).
    if (before && step < T - 1) {
      pa.step = step, pa.dh = dh[cur];
      rnn_point_backward_kernel<<<point_blocks, 256, 0, stream>>>(pa);
      check_launch("rnn_point_backward_kernel");
    }
    pr.step = step;
    pr.fuse_point = !before && step > 0;
    if (pr.fuse_point) pr.next = pa, pr.next.step = step - 1, pr.next.dh = dh[cur ^ 1];
    if (before) {
      // d(r*h) = dn·W_hn, then r's gradient, then the r,z blocks' product.
      ProductArgs q = pr;
      q.out_kind = ProductOut::Plain, q.M = H, q.lda = GH;
      q.A = da + 2 * H, q.WT = w_hh_t + 2 * H, q.out = drh;
      launch_product(stream, q);
      gru_reset_backward_kernel<<<point_blocks, 256, 0, stream>>>(B, T, H, GH, step, s.reverse, lengths, gates,
                                                                   hprev, drh, da);
      check_launch("gru_reset_backward_kernel");
    }
    pr.out_kind = ProductOut::DhPrev;
    pr.M = before ? 2 * H : GH, pr.lda = GH;
    pr.A = dah, pr.WT = w_hh_t, pr.dh = dh[cur], pr.out = dh[cur ^ 1];
    launch_product(stream, pr);
    cur ^= 1;
  }
  if (dh0) check(cudaMemcpyAsync(dh0, dh[cur], bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(dh0)");
  if (lstm && dc0) check(cudaMemcpyAsync(dc0, dc, bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(dc0)");

  // Everything over all B*T rows at once; rows past a sequence's end carry zero gradients.
  if (N > 0) {
    if (dx) gemm(stream, tf32, false, false, N, s.I, GH, 1.f, da, GH, p.w_ih, s.I, 1.f, dx, s.I, nullptr,
                 Activation::Linear);
    if (g.w_ih) gemm(stream, tf32, true, false, GH, s.I, N, 1.f, da, GH, x, s.I, 1.f, g.w_ih, s.I, nullptr,
                     Activation::Linear);
    if (g.w_hh) {
      if (before) {
        gemm(stream, tf32, true, false, 2 * H, H, N, 1.f, da, GH, hprev, H, 1.f, g.w_hh, H, nullptr,
             Activation::Linear);
        multiply_kernel<<<blocks_for(L.N * H, 256, 4096), 256, 0, stream>>>(L.N * H, gates, GH, hprev, H, H, rhm);
        check_launch("multiply_kernel");
        gemm(stream, tf32, true, false, H, H, N, 1.f, da + 2 * H, GH, rhm, H, 1.f,
             g.w_hh + 2 * static_cast<size_t>(H) * H, H, nullptr, Activation::Linear);
      } else {
        gemm(stream, tf32, true, false, GH, H, N, 1.f, dah, GH, hprev, H, 1.f, g.w_hh, H, nullptr,
             Activation::Linear);
      }
    }
    if (g.b_ih) column_sums(stream, N, GH, da, GH, nullptr, 0, g.b_ih, true);
    if (g.b_hh) column_sums(stream, N, GH, dah, GH, nullptr, 0, g.b_hh, true);
    if (lstm && s.peephole && g.peephole) {
      column_sums(stream, N, H, da, GH, ws + L.cprev, H, g.peephole, true);
      column_sums(stream, N, H, da + H, GH, ws + L.cprev, H, g.peephole + H, true);
      column_sums(stream, N, H, da + 3 * H, GH, ws + L.cnew, H, g.peephole + 2 * H, true);
    }
  }
}

}  // namespace frnn::cuda

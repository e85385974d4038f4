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
#include "rnn_layout.cuh"

namespace frnn::cuda {
namespace {

enum class CellKind : int { Lstm, GruAfter, GruBefore, Rnn };

struct PointArgs {
  CellKind kind;
  int B, T, H, GH, step;
  bool reverse, relu;
  const int* lengths;
  const float* gates;
  const float* hprev;
  const float* cprev;
  const float* cnew;
  const float* hn;
  const float* peep;
  const float* dy;
  int ldy;
  float* dh;   // [B,H] in: gradient reaching h(t); out: plus dy(t)
  float* dc;   // [B,H] in/out (LSTM)
  float* da;   // [N,GH] x-side pre-activation gradients
  float* dah;  // [N,GH] h-side ones (reset-after GRU only; else nullptr)
};

__global__ void rnn_point_backward_kernel(PointArgs a) {
  const size_t total = static_cast<size_t>(a.B) * a.H;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int b = static_cast<int>(i / a.H), k = static_cast<int>(i % a.H), H = a.H;
    const long row = step_row(b, a.step, a.T, a.lengths, a.reverse);
    if (row < 0) continue;  // ended: dh and dc pass through unchanged
    float dh = a.dh[i];
    if (a.dy) dh += a.dy[static_cast<size_t>(row) * a.ldy + k];
    a.dh[i] = dh;
    const float* g = a.gates + static_cast<size_t>(row) * a.GH;
    float* d = a.da + static_cast<size_t>(row) * a.GH;
    const size_t rk = static_cast<size_t>(row) * H + k;
    switch (a.kind) {
      case CellKind::Lstm: {
        const float ig = g[k], f = g[H + k], gg = g[2 * H + k], o = g[3 * H + k];
        const float tc = tanhf(a.cnew[rk]);
        const float dao = dh * tc * o * (1.f - o);
        float dcn = a.dc[i] + dh * o * (1.f - tc * tc);
        if (a.peep) dcn += dao * a.peep[2 * H + k];
        const float dai = dcn * gg * ig * (1.f - ig);
        const float daf = dcn * a.cprev[rk] * f * (1.f - f);
        const float dag = dcn * ig * (1.f - gg * gg);
        float dcp = dcn * f;
        if (a.peep) dcp += dai * a.peep[k] + daf * a.peep[H + k];
        a.dc[i] = dcp;
        d[k] = dai, d[H + k] = daf, d[2 * H + k] = dag, d[3 * H + k] = dao;
        break;
      }
      case CellKind::GruAfter:
      case CellKind::GruBefore: {
        const float z = g[H + k], n = g[2 * H + k];
        const float dz = dh * (a.hprev[rk] - n) * z * (1.f - z);
        const float dn = dh * (1.f - z) * (1.f - n * n);
        d[H + k] = dz, d[2 * H + k] = dn;
        if (a.kind == CellKind::GruAfter) {
          const float r = g[k];
          const float dr = dn * a.hn[rk] * r * (1.f - r);
          d[k] = dr;
          float* e = a.dah + static_cast<size_t>(row) * a.GH;
          e[k] = dr, e[H + k] = dz, e[2 * H + k] = dn * r;
        }
        break;  // reset-before: r's gradient needs W_hnᵀ·dn first
      }
      default: {
        const float hv = g[k];
        d[k] = dh * (a.relu ? (hv > 0.f ? 1.f : 0.f) : 1.f - hv * hv);
        break;
      }
    }
  }
}

// Reset-before GRU: dr = (dn·W_hn)[k] * h(t-1) * r(1-r), after the drh product.
__global__ void gru_reset_backward_kernel(int B, int T, int H, int GH, int step, bool reverse, const int* lengths,
                                          const float* gates, const float* hprev, const float* drh, float* da) {
  const size_t total = static_cast<size_t>(B) * H;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    const long row = step_row(b, step, T, lengths, reverse);
    if (row < 0) continue;
    const float r = gates[static_cast<size_t>(row) * GH + k];
    da[static_cast<size_t>(row) * GH + k] = drh[i] * hprev[static_cast<size_t>(row) * H + k] * r * (1.f - r);
  }
}

enum class ProductOut : int { Plain, DhPrev };

struct ProductArgs {
  ProductOut out_kind;
  int B, T, H, step, M, lda;
  bool reverse, gru, reset_before;
  const int* lengths;
  const float* A;      // gradient rows [N, lda]; the step's row of batch b is gathered
  const float* W;      // [M, H] row-major (a block of W_hh, used untransposed)
  const float* dh;     // DhPrev: dh(t) [B,H] (carried through for ended rows, z term)
  const float* gates;  // DhPrev (GRU): z at GH stride
  int GH;
  const float* drh;    // DhPrev (reset-before): d(r*h) [B,H]
  float* out;          // [B,H]
};

constexpr int kRows = 16, kCols = 32, kK = 32, kProductThreads = 128;
constexpr int kRowsPerThread = kRows / (kProductThreads / kCols);  // 4

// out[b, j] = sum_m A[row(b), m] * W[m, j] for a tile of 16 batch rows x 32 columns.
__global__ void __launch_bounds__(kProductThreads) rnn_step_product_kernel(ProductArgs a) {
  __shared__ float as[kRows][kK + 1];
  __shared__ float ws[kK][kCols + 1];
  __shared__ long rows[kRows];
  const int b0 = blockIdx.y * kRows, j0 = blockIdx.x * kCols;
  const int c = threadIdx.x % kCols, rg = threadIdx.x / kCols;
  if (threadIdx.x < kRows) {
    const int b = b0 + threadIdx.x;
    rows[threadIdx.x] = b < a.B ? step_row(b, a.step, a.T, a.lengths, a.reverse) : -1;
  }
  __syncthreads();
  float acc[kRowsPerThread] = {};
  for (int m0 = 0; m0 < a.M; m0 += kK) {
    for (int idx = threadIdx.x; idx < kRows * kK; idx += kProductThreads) {
      const int r = idx / kK, m = idx % kK;
      const long row = rows[r];
      as[r][m] = (row >= 0 && m0 + m < a.M) ? a.A[static_cast<size_t>(row) * a.lda + m0 + m] : 0.f;
    }
    for (int idx = threadIdx.x; idx < kK * kCols; idx += kProductThreads) {
      const int m = idx / kCols, j = idx % kCols;
      ws[m][j] = (m0 + m < a.M && j0 + j < a.H) ? a.W[static_cast<size_t>(m0 + m) * a.H + j0 + j] : 0.f;
    }
    __syncthreads();
#pragma unroll 8
    for (int m = 0; m < kK; ++m) {
      const float w = ws[m][c];
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) acc[r] = fmaf(as[rg * kRowsPerThread + r][m], w, acc[r]);
    }
    __syncthreads();
  }
  const int j = j0 + c;
  if (j >= a.H) return;
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r) {
    const int lr = rg * kRowsPerThread + r, b = b0 + lr;
    if (b >= a.B) continue;
    const size_t bj = static_cast<size_t>(b) * a.H + j;
    const long row = rows[lr];
    if (a.out_kind == ProductOut::Plain) {
      a.out[bj] = acc[r];
      continue;
    }
    if (row < 0) {
      a.out[bj] = a.dh[bj];
      continue;
    }
    float v = acc[r];
    if (a.gru) {
      const float* g = a.gates + static_cast<size_t>(row) * a.GH;
      v += a.dh[bj] * g[a.H + j];                  // h' = ... + z*h
      if (a.reset_before) v += a.drh[bj] * g[j];   // ... and n saw r*h
    }
    a.out[bj] = v;
  }
}

void launch_product(cudaStream_t stream, const ProductArgs& a) {
  const dim3 grid((a.H + kCols - 1) / kCols, (a.B + kRows - 1) / kRows);
  rnn_step_product_kernel<<<grid, kProductThreads, 0, stream>>>(a);
  check_launch("rnn_step_product_kernel");
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
  // da, dah (reset-after), dh ping-pong, dc, drh, r*h(t-1) over all rows (reset-before dW_hn).
  return L.N * L.GH * (after ? 2 : 1) + 4 * BH + (before ? L.N * s.H : 0);
}

void rnn_backward(cudaStream_t stream, bool tf32, const RnnShape& s, const float* x, const int32_t* lengths,
                  const RnnParams<float>& p, const float* ws, const float* dy, int ldy, const float* dhN,
                  const float* dcN, float* dx, float* dh0, float* dc0, const RnnParamGrads<float>& g,
                  float* scratch) {
  const RnnLayout L = rnn_layout(s);
  const int B = s.B, T = s.T, H = s.H, GH = L.GH, N = static_cast<int>(L.N);
  if (B <= 0 || H <= 0) return;
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU;
  const bool after = gru && !s.reset_before, before = gru && s.reset_before;
  const size_t BH = static_cast<size_t>(B) * H, bytes_BH = BH * sizeof(float);
  float* da = scratch;
  float* dah = after ? da + L.N * GH : da;
  // dh follows da (and dah when it is separate): with dah == da it must not start at dah.
  float* dh[2] = {da + L.N * GH * (after ? 2 : 1), nullptr};
  dh[1] = dh[0] + BH;
  float* dc = dh[1] + BH;
  float* drh = dc + BH;
  float* rhm = drh + BH;
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
  pr.B = B, pr.T = T, pr.H = H, pr.GH = GH;
  pr.reverse = s.reverse, pr.gru = gru, pr.reset_before = before;
  pr.lengths = lengths, pr.gates = gates, pr.drh = drh;

  const unsigned point_blocks = blocks_for(BH, 256, 1024);
  int cur = 0;
  for (int step = T - 1; step >= 0; --step) {
    pa.step = step, pa.dh = dh[cur];
    rnn_point_backward_kernel<<<point_blocks, 256, 0, stream>>>(pa);
    check_launch("rnn_point_backward_kernel");
    pr.step = step;
    if (before) {
      // d(r*h) = dn·W_hn, then r's gradient, then the r,z blocks' product.
      ProductArgs q = pr;
      q.out_kind = ProductOut::Plain, q.M = H, q.lda = GH;
      q.A = da + 2 * H, q.W = p.w_hh + 2 * static_cast<size_t>(H) * H, q.out = drh;
      launch_product(stream, q);
      gru_reset_backward_kernel<<<point_blocks, 256, 0, stream>>>(B, T, H, GH, step, s.reverse, lengths, gates,
                                                                   hprev, drh, da);
      check_launch("gru_reset_backward_kernel");
    }
    pr.out_kind = ProductOut::DhPrev;
    pr.M = before ? 2 * H : GH, pr.lda = GH;
    pr.A = dah, pr.W = p.w_hh, pr.dh = dh[cur], pr.out = dh[cur ^ 1];
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

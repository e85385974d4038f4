// Recurrent layer forward on the GPU. The input projection of all B*T rows is one GEMM before
// the time loop (written straight into the workspace's gates region); each step is then ONE
// kernel that computes the recurrent product h(t-1)·W_hhᵀ for all G gates of a tile of units and
// applies the gate nonlinearities in registers, so pre-activations never travel through memory.
// The reset-before GRU needs r before its n product: two kernels per step (r,z then n).
// Steps run to T on every call (rows past their length are frozen by the kernel itself), so the
// host never reads the lengths and never synchronizes.
#include <cuda_runtime.h>

#include "cuda_check.cuh"
#include "kernels.cuh"
#include "rnn_forward_step.cuh"
#include "rnn_layout.cuh"
#include "rnn_persistent.h"
#include "step_product.cuh"

namespace frnn::cuda {
namespace {

// One step for a tile of R batch rows × 8 units: the split-K product of h_in with the G gate rows
// of each unit, then the cell's epilogue per (row, unit) from the summed tile.
template <int G, int RPT, bool kVec, bool kMma>
__global__ void __launch_bounds__(kSplitThreads, 1) rnn_step_kernel(StepArgs a) {
  constexpr int R = 4 * RPT, C = kUnitsPerBlock * G;
  __shared__ __align__(16) float smem[split_k_smem_floats<R, C>()];
  __shared__ long xoff[R], yoff[C];
  const int b0 = blockIdx.y * R, u0 = blockIdx.x * kUnitsPerBlock;
  // Rows and units past the edge read a valid row (the last) and are never written.
  if (threadIdx.x < R) xoff[threadIdx.x] = static_cast<long>(min(b0 + static_cast<int>(threadIdx.x), a.B - 1)) * a.H;
  if (threadIdx.x < C) {
    const int gate = threadIdx.x / kUnitsPerBlock, unit = min(u0 + static_cast<int>(threadIdx.x) % kUnitsPerBlock, a.H - 1);
    yoff[threadIdx.x] = (static_cast<long>(gate) * a.H + unit) * a.H;
  }
  __syncthreads();
  if constexpr (kMma) split_k_product_tf32<RPT, G, kVec>(a.h_in, xoff, a.W, yoff, a.H, smem);
  else split_k_product<RPT, G, kVec>(a.h_in, xoff, a.W, yoff, a.H, smem);
  tile_epilogue<G, R>(a, smem, b0, u0);
}

template <int G, int RPT>
void launch_step_rows(cudaStream_t stream, const StepArgs& a, bool vec) {
  const dim3 grid((a.H + kUnitsPerBlock - 1) / kUnitsPerBlock, (a.B + 4 * RPT - 1) / (4 * RPT));
  if constexpr (RPT >= 4) {
    if (a.tf32) {
      if (vec) rnn_step_kernel<G, RPT, true, true><<<grid, kSplitThreads, 0, stream>>>(a);
      else rnn_step_kernel<G, RPT, false, true><<<grid, kSplitThreads, 0, stream>>>(a);
      check_launch("rnn_step_kernel");
      return;
    }
  }
  if (vec) rnn_step_kernel<G, RPT, true, false><<<grid, kSplitThreads, 0, stream>>>(a);
  else rnn_step_kernel<G, RPT, false, false><<<grid, kSplitThreads, 0, stream>>>(a);
  check_launch("rnn_step_kernel");
}

template <int G>
void launch_step(cudaStream_t stream, const StepArgs& a) {
  const bool vec = a.H % 4 == 0 && aligned16(a.h_in) && aligned16(a.W);
  switch (split_k_rows_per_thread(a.B, (a.H + kUnitsPerBlock - 1) / kUnitsPerBlock)) {
    case 8: launch_step_rows<G, 8>(stream, a, vec); break;
    case 4: launch_step_rows<G, 4>(stream, a, vec); break;
    default: launch_step_rows<G, 2>(stream, a, vec); break;
  }
}

// Adds b_ih to the projection and clears what the steps never touch: y and gates of rows past
// each sequence's end (the CPU contract: those rows are 0).
__global__ void finish_rows_kernel(int B, int T, int H, int GH, const int* lengths, float* y, int ldy,
                                   float* gates) {
  const size_t total = static_cast<size_t>(B) * T;
  for (size_t row = blockIdx.x; row < total; row += gridDim.x) {
    const int b = static_cast<int>(row / T), t = static_cast<int>(row % T);
    const int len = lengths ? lengths[b] : T;
    if (t < len) continue;
    if (y)
      for (int k = threadIdx.x; k < H; k += blockDim.x) y[row * ldy + k] = 0.f;
    if (gates)
      for (int j = threadIdx.x; j < GH; j += blockDim.x) gates[row * GH + j] = 0.f;
  }
}

}  // namespace

int multiprocessor_count() {
  static int counts[64] = {};  // per device ordinal; a benign race writes the same value
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) device = 0;
  int& sms = counts[device & 63];
  if (sms <= 0 && (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || sms <= 0))
    sms = 80;
  return sms;
}

int split_k_rows_per_thread(int B, int col_tiles) {
  const int sms = multiprocessor_count();
  for (const int rpt : {8, 4})
    if (static_cast<long>(col_tiles) * ((B + 4 * rpt - 1) / (4 * rpt)) >= sms) return rpt;
  return 2;
}

size_t rnn_workspace_elems(const RnnShape& s) { return rnn_layout(s).total; }

size_t rnn_forward_scratch(const RnnShape& s, bool have_workspace) {
  const RnnLayout L = rnn_layout(s);
  const size_t BH = static_cast<size_t>(s.B) * s.H;
  // h ping-pong, c ping-pong, r*h, the persistent kernel's counter; the projection too when
  // there is no workspace to hold it.
  return 5 * BH + kPersistentScratch + (have_workspace ? 0 : L.N * L.GH);
}

void rnn_forward(cudaStream_t stream, bool tf32, const RnnShape& s, const float* x, const int32_t* lengths,
                 const float* h0, const float* c0, const RnnParams<float>& p, float* y, int ldy, float* hN,
                 float* cN, float* ws, float* scratch, int* fault) {
  const RnnLayout L = rnn_layout(s);
  const int B = s.B, T = s.T, H = s.H, GH = L.GH;
  if (B <= 0 || H <= 0) return;
  const size_t BH = static_cast<size_t>(B) * H, bytes_BH = BH * sizeof(float);
  float* h[2] = {scratch, scratch + BH};
  float* c[2] = {scratch + 2 * BH, scratch + 3 * BH};
  float* rh = scratch + 4 * BH;
  unsigned* counter = reinterpret_cast<unsigned*>(scratch + 5 * BH);
  float* gates = ws ? ws + L.gates : scratch + 5 * BH + kPersistentScratch;
  if (ws) check(cudaMemsetAsync(ws, 0, L.total * sizeof(float), stream), "cudaMemsetAsync(workspace)");
  if (h0) check(cudaMemcpyAsync(h[0], h0, bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(h0)");
  else check(cudaMemsetAsync(h[0], 0, bytes_BH, stream), "cudaMemsetAsync(h0)");
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU;
  if (lstm) {
    if (c0) check(cudaMemcpyAsync(c[0], c0, bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(c0)");
    else check(cudaMemsetAsync(c[0], 0, bytes_BH, stream), "cudaMemsetAsync(c0)");
  }
  if (T <= 0) {
    if (hN) check(cudaMemcpyAsync(hN, h[0], bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(hN)");
    if (lstm && cN) check(cudaMemcpyAsync(cN, c[0], bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(cN)");
    return;
  }

  // Input projection of every row at once, b_ih folded into the GEMM's epilogue.
  gemm(stream, tf32, false, true, static_cast<int>(L.N), GH, s.I, 1.f, x, s.I, p.w_ih, s.I, 0.f, gates, GH,
       p.b_ih, Activation::Linear);

  StepArgs a{};
  a.tf32 = tf32;
  a.B = B, a.T = T, a.H = H, a.GH = GH;
  a.reverse = s.reverse, a.relu = s.cell == Cell::RNN_RELU;
  a.lengths = lengths;
  a.peep = lstm && s.peephole ? p.peephole : nullptr;
  a.gates = gates;
  if (ws) {
    a.hprev = ws + L.hprev;
    if (lstm) a.cprev = ws + L.cprev, a.cnew = ws + L.cnew;
    if (gru && !s.reset_before) a.hn = ws + L.hn;
  }
  a.rh = rh;
  a.y = y, a.ldy = ldy;
  a.W = p.w_hh, a.b_hh = p.b_hh;
  a.mode = lstm ? StepMode::Lstm : gru ? (s.reset_before ? StepMode::GruRz : StepMode::GruAfter) : StepMode::Rnn;
  const bool persistent = persistent_rnn_forward(stream, a, h, c, PersistentRun{counter, fault});
  int cur = persistent ? T % 2 : 0;
  for (int step = 0; step < T && !persistent; ++step) {
    a.step = step;
    a.h_cur = h[cur], a.h_next = h[cur ^ 1];
    a.c_cur = c[cur], a.c_next = c[cur ^ 1];
    a.h_in = h[cur];
    a.W = p.w_hh, a.b_hh = p.b_hh;
    if (lstm) {
      a.mode = StepMode::Lstm;
      launch_step<4>(stream, a);
    } else if (gru && !s.reset_before) {
      a.mode = StepMode::GruAfter;
      launch_step<3>(stream, a);
    } else if (gru) {
      a.mode = StepMode::GruRz;
      launch_step<2>(stream, a);
      a.mode = StepMode::GruN;
      a.h_in = rh;
      a.W = p.w_hh + 2 * static_cast<size_t>(H) * H, a.b_hh = p.b_hh + 2 * H;
      launch_step<1>(stream, a);
    } else {
      a.mode = StepMode::Rnn;
      launch_step<1>(stream, a);
    }
    cur ^= 1;
  }
  finish_rows_kernel<<<blocks_for(L.N, 1, 4096), 128, 0, stream>>>(B, T, H, GH, lengths, y, ldy,
                                                                    ws ? gates : nullptr);
  check_launch("finish_rows_kernel");
  if (hN) check(cudaMemcpyAsync(hN, h[cur], bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(hN)");
  if (lstm && cN) check(cudaMemcpyAsync(cN, c[cur], bytes_BH, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(cN)");
}

}  // namespace frnn::cuda

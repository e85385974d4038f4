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
#include "rnn_layout.cuh"

namespace frnn::cuda {
namespace {

// Which epilogue the fused step applies (the product is the same for all).
enum class StepMode : int { Lstm, GruAfter, GruRz, GruN, Rnn };

struct StepArgs {
  StepMode mode;
  int B, T, H, GH, step;
  bool reverse, relu;
  const int* lengths;
  const float* W;       // gate blocks of W_hh used by this product ([G blocks][H rows][H])
  const float* b_hh;    // matching bias blocks
  const float* peep;    // LSTM peepholes (p_i, p_f, p_o) or nullptr
  const float* h_in;    // the vector multiplied: h(t-1), or r*h(t-1) for GruN
  const float* h_cur;   // state entering the step [B,H]
  float* h_next;        // state after the step [B,H]
  const float* c_cur;
  float* c_next;
  float* gates;         // [N, GH]: x-projection in, activated gates out
  float* hprev;         // workspace (nullable: inference)
  float* cprev;
  float* cnew;
  float* hn;
  float* rh;            // GruRz: r*h(t-1) out [B,H]
  float* y;
  int ldy;
};

constexpr int kRows = 16, kUnits = 32, kK = 32, kStepThreads = 128;
constexpr int kRowsPerThread = kRows / (kStepThreads / kUnits);  // 4
// 4 resident blocks per SM leaves up to 128 registers a thread: without the hint ptxas capped
// the LSTM variant at 64 on sm_80 and spilled.
constexpr int kStepMinBlocks = 4;

__device__ __forceinline__ void epilogue(const StepArgs& a, int b, int k, const float* acc) {
  const long row = step_row(b, a.step, a.T, a.lengths, a.reverse);
  const size_t bk = static_cast<size_t>(b) * a.H + k;
  const int H = a.H;
  if (row < 0) {  // sequence over: carry the state
    if (a.mode == StepMode::GruRz) return;
    a.h_next[bk] = a.h_cur[bk];
    if (a.mode == StepMode::Lstm) a.c_next[bk] = a.c_cur[bk];
    return;
  }
  float* g = a.gates + row * a.GH;
  const size_t rk = static_cast<size_t>(row) * H + k;
  const float h = a.h_cur[bk];
  float hnew;
  switch (a.mode) {
    case StepMode::Lstm: {
      const float cp = a.c_cur[bk];
      float ai = g[k] + acc[0] + a.b_hh[k];
      float af = g[H + k] + acc[1] + a.b_hh[H + k];
      const float ag = g[2 * H + k] + acc[2] + a.b_hh[2 * H + k];
      float ao = g[3 * H + k] + acc[3] + a.b_hh[3 * H + k];
      if (a.peep) ai += a.peep[k] * cp, af += a.peep[H + k] * cp;
      const float i = sigmoidf(ai), f = sigmoidf(af), gg = tanhf(ag);
      const float cn = f * cp + i * gg;
      if (a.peep) ao += a.peep[2 * H + k] * cn;
      const float o = sigmoidf(ao);
      g[k] = i, g[H + k] = f, g[2 * H + k] = gg, g[3 * H + k] = o;
      hnew = o * tanhf(cn);
      a.c_next[bk] = cn;
      if (a.cprev) a.cprev[rk] = cp, a.cnew[rk] = cn;
      break;
    }
    case StepMode::GruAfter: {
      const float r = sigmoidf(g[k] + acc[0] + a.b_hh[k]);
      const float z = sigmoidf(g[H + k] + acc[1] + a.b_hh[H + k]);
      const float hn = acc[2] + a.b_hh[2 * H + k];
      const float n = tanhf(g[2 * H + k] + r * hn);
      g[k] = r, g[H + k] = z, g[2 * H + k] = n;
      if (a.hn) a.hn[rk] = hn;
      hnew = (1.f - z) * n + z * h;
      break;
    }
    case StepMode::GruRz: {
      const float r = sigmoidf(g[k] + acc[0] + a.b_hh[k]);
      const float z = sigmoidf(g[H + k] + acc[1] + a.b_hh[H + k]);
      g[k] = r, g[H + k] = z;
      a.rh[bk] = r * h;
      if (a.hprev) a.hprev[rk] = h;
      return;  // h(t) comes from the n kernel
    }
    case StepMode::GruN: {  // W/b_hh point at the n block; z was activated by GruRz
      const float n = tanhf(g[2 * H + k] + acc[0] + a.b_hh[k]);
      const float z = g[H + k];
      g[2 * H + k] = n;
      hnew = (1.f - z) * n + z * h;
      a.h_next[bk] = hnew;
      if (a.y) a.y[static_cast<size_t>(row) * a.ldy + k] = hnew;
      return;  // hprev was saved by GruRz
    }
    default: {  // Rnn
      const float v = g[k] + acc[0] + a.b_hh[k];
      hnew = a.relu ? fmaxf(v, 0.f) : tanhf(v);
      g[k] = hnew;
      break;
    }
  }
  if (a.hprev) a.hprev[rk] = h;
  a.h_next[bk] = hnew;
  if (a.y) a.y[static_cast<size_t>(row) * a.ldy + k] = hnew;
}

// One step for a tile of 16 batch rows x 32 units, all G gate blocks of those units: each thread
// owns one unit and 4 rows, G x 4 accumulators. W_hh rows are contiguous in k, so tiles load
// coalesced; the stride-33 shared layout keeps the per-unit reads conflict-free.
template <int G>
__global__ void __launch_bounds__(kStepThreads, kStepMinBlocks) rnn_step_kernel(StepArgs a) {
  __shared__ float hs[kRows][kK + 1];
  __shared__ float ws[G][kUnits][kK + 1];
  const int b0 = blockIdx.y * kRows, u0 = blockIdx.x * kUnits;
  const int u = threadIdx.x % kUnits, rg = threadIdx.x / kUnits;
  float acc[G][kRowsPerThread] = {};
  for (int k0 = 0; k0 < a.H; k0 += kK) {
    for (int idx = threadIdx.x; idx < kRows * kK; idx += kStepThreads) {
      const int r = idx / kK, k = idx % kK, b = b0 + r, kk = k0 + k;
      hs[r][k] = (b < a.B && kk < a.H) ? a.h_in[static_cast<size_t>(b) * a.H + kk] : 0.f;
    }
    for (int idx = threadIdx.x; idx < G * kUnits * kK; idx += kStepThreads) {
      const int k = idx % kK, uu = (idx / kK) % kUnits, gate = idx / (kK * kUnits);
      const int unit = u0 + uu, kk = k0 + k;
      ws[gate][uu][k] = (unit < a.H && kk < a.H)
                            ? a.W[(static_cast<size_t>(gate) * a.H + unit) * a.H + kk]
                            : 0.f;
    }
    __syncthreads();
#pragma unroll 8
    for (int k = 0; k < kK; ++k) {
      float hv[kRowsPerThread];
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) hv[r] = hs[rg * kRowsPerThread + r][k];
#pragma unroll
      for (int gate = 0; gate < G; ++gate) {
        const float w = ws[gate][u][k];
#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r) acc[gate][r] = fmaf(hv[r], w, acc[gate][r]);
      }
    }
    __syncthreads();
  }
  const int unit = u0 + u;
  if (unit >= a.H) return;
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r) {
    const int b = b0 + rg * kRowsPerThread + r;
    if (b >= a.B) continue;
    float col[G];
#pragma unroll
    for (int gate = 0; gate < G; ++gate) col[gate] = acc[gate][r];
    epilogue(a, b, unit, col);
  }
}

template <int G>
void launch_step(cudaStream_t stream, const StepArgs& a) {
  const dim3 grid((a.H + kUnits - 1) / kUnits, (a.B + kRows - 1) / kRows);
  rnn_step_kernel<G><<<grid, kStepThreads, 0, stream>>>(a);
  check_launch("rnn_step_kernel");
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

size_t rnn_workspace_elems(const RnnShape& s) { return rnn_layout(s).total; }

size_t rnn_forward_scratch(const RnnShape& s, bool have_workspace) {
  const RnnLayout L = rnn_layout(s);
  const size_t BH = static_cast<size_t>(s.B) * s.H;
  // h ping-pong, c ping-pong, r*h; the projection too when there is no workspace to hold it.
  return 5 * BH + (have_workspace ? 0 : L.N * L.GH);
}

void rnn_forward(cudaStream_t stream, bool tf32, const RnnShape& s, const float* x, const int32_t* lengths,
                 const float* h0, const float* c0, const RnnParams<float>& p, float* y, int ldy, float* hN,
                 float* cN, float* ws, float* scratch) {
  const RnnLayout L = rnn_layout(s);
  const int B = s.B, T = s.T, H = s.H, GH = L.GH;
  if (B <= 0 || H <= 0) return;
  const size_t BH = static_cast<size_t>(B) * H, bytes_BH = BH * sizeof(float);
  float* h[2] = {scratch, scratch + BH};
  float* c[2] = {scratch + 2 * BH, scratch + 3 * BH};
  float* rh = scratch + 4 * BH;
  float* gates = ws ? ws + L.gates : scratch + 5 * BH;
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
  int cur = 0;
  for (int step = 0; step < T; ++step) {
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

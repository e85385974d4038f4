// The forward step's per-element math, shared by the per-step kernel (rnn_forward.cu) and the
// persistent one (rnn_persistent.cu): the arguments of a step and the cell's epilogue, which
// turns one (row, unit)'s summed recurrent products into its gates, state and output.
#pragma once

#include <cuda_runtime.h>

#include "rnn_layout.cuh"

namespace frnn::cuda {

// Which epilogue the fused step applies (the product is the same for all).
enum class StepMode : int { Lstm, GruAfter, GruRz, GruN, Rnn };

struct StepArgs {
  StepMode mode;
  bool tf32;            // tensor cores for the product where the tile allows (16 or 32 rows)
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

// A block covers 8 units with all G of their gate blocks (C = 8·G columns of the product, so
// the epilogue has every gate of a unit at hand) and R = 4·RPT batch rows.
constexpr int kUnitsPerBlock = 8;

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

// The epilogue of a summed R×(U·G) tile (tile[r·UG + gate·U + uu]) for batch rows b0.. and units
// u0..u0+U-1; rows and units past the edge are skipped.
template <int G, int R, int U = kUnitsPerBlock>
__device__ __forceinline__ void tile_epilogue(const StepArgs& a, const float* tile, int b0, int u0) {
  constexpr int C = U * G;
  for (int e = threadIdx.x; e < R * U; e += blockDim.x) {
    const int r = e / U, uu = e % U, b = b0 + r, unit = u0 + uu;
    if (b >= a.B || unit >= a.H) continue;
    float col[G];
#pragma unroll
    for (int gate = 0; gate < G; ++gate) col[gate] = tile[r * C + gate * U + uu];
    epilogue(a, b, unit, col);
  }
}

}  // namespace frnn::cuda

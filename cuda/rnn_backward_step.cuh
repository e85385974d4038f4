// The backward step's per-element math, shared by the per-step kernels (rnn_backward.cu) and
// the persistent one (rnn_persistent.cu): the pointwise gate backward of one (b, k) at a step,
// and the arguments of the recurrent-transpose product whose epilogue runs it.
#pragma once

#include <cuda_runtime.h>

#include "rnn_layout.cuh"

namespace frnn::cuda {

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

// The pointwise backward of element i = b·H + k at a.step: reads and updates only dh[i], dc[i]
// and the step's rows of da/dah, so the product of the step after it can run it in its epilogue.
__device__ __forceinline__ void point_backward(const PointArgs& a, size_t i) {
  {
    const int b = static_cast<int>(i / a.H), k = static_cast<int>(i % a.H), H = a.H;
    const long row = step_row(b, a.step, a.T, a.lengths, a.reverse);
    if (row < 0) return;  // ended: dh and dc pass through unchanged
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

enum class ProductOut : int { Plain, DhPrev };

struct ProductArgs {
  ProductOut out_kind;
  bool tf32;           // tensor cores for the product where the tile allows (16 or 32 rows)
  int B, T, H, step, M, lda;
  bool reverse, gru, reset_before;
  const int* lengths;
  const float* A;      // gradient rows [N, lda]; the step's row of batch b is gathered
  const float* WT;     // W_hh transposed, [H, ldwt]: column block m of W_hh starts at WT + m
  int ldwt;
  const float* dh;     // DhPrev: dh(t) [B,H] (carried through for ended rows, z term)
  const float* gates;  // DhPrev (GRU): z at GH stride
  int GH;
  float* drh;          // DhPrev (reset-before): d(r*h) [B,H] (the persistent kernel writes it too)
  float* out;          // [B,H]
  // DhPrev: the previous step's pointwise backward, run on each element of `out` as it is written
  // (next.dh == out): one kernel a step instead of two.
  bool fuse_point;
  PointArgs next;
};

// Element bj = b·H + j of the product's output, from its summed product `sum` (row: the step's
// row of batch b, or -1 when that sequence has ended).
__device__ __forceinline__ void product_epilogue(const ProductArgs& a, size_t bj, int j, long row, float sum) {
  if (a.out_kind == ProductOut::Plain) {
    a.out[bj] = row >= 0 ? sum : 0.f;
    return;
  }
  float v;
  if (row < 0) {
    v = a.dh[bj];
  } else {
    v = sum;
    if (a.gru) {
      const float* g = a.gates + static_cast<size_t>(row) * a.GH;
      v += a.dh[bj] * g[a.H + j];                  // h' = ... + z*h
      if (a.reset_before) v += a.drh[bj] * g[j];   // ... and n saw r*h
    }
  }
  a.out[bj] = v;
  if (a.fuse_point) point_backward(a.next, bj);
}

// Reset-before GRU: dr = (dn·W_hn)[k] * h(t-1) * r(1-r), after the drh product.
__device__ __forceinline__ void gru_reset_backward(int H, int GH, long row, size_t i, int k, const float* gates,
                                                   const float* hprev, const float* drh, float* da) {
  const float r = gates[static_cast<size_t>(row) * GH + k];
  da[static_cast<size_t>(row) * GH + k] = drh[i] * hprev[static_cast<size_t>(row) * H + k] * r * (1.f - r);
}

}  // namespace frnn::cuda

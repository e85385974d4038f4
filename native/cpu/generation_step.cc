#include "generation_step.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "bf16.h"
#include "cpu_isa.h"
#include "thread_pool.h"
#include "weight_cache.h"

namespace frnn::cpu {
namespace {

// Rows one call serves: each thread multiplies its slice once per row, so beyond a few rows the
// general path's register-blocked GEMM reads the weights fewer times.
constexpr int kMaxRows = 4;
// Units dealt to a thread come in multiples of this: a whole bf16 panel, and whole fp32 panels
// of every variant (8, 16 or 32 columns).
constexpr int kUnitChunk = 32;
// Below this many multiply-adds a step stays on the calling thread (the hand-off costs more).
constexpr double kParallelMacs = 6.4e4;

// A held matrix op(W) [K, N] and how to multiply one row by a range of its columns.
struct HeldProduct {
  PackedMatrix packed;
  int K, N;

  // out[0, c1-c0) += (x · op(W))[c0, c1). A range on panel boundaries is multiplied in place;
  // another (gates of a size off the panel width) through `tile`, a whole number of panels.
  // x2: x as bf16 pairs (bf16 layout only).
  void accumulate_columns(const float* x, const uint32_t* x2, int c0, int c1, float* out, std::vector<float>& tile) const {
    const IsaKernels& kr = isa();
    const int width = packed.bf16 ? kBf16PanelWidth : kr.nr;
    const int p0 = c0 / width, p1 = (c1 + width - 1) / width;
    const bool aligned = c0 % width == 0 && (c1 % width == 0 || c1 == N);
    float* y = out;
    if (!aligned) {
      tile.assign(static_cast<size_t>(p1 - p0) * width, 0.0f);
      y = tile.data();
    }
    const int n = aligned ? c1 - c0 : std::min(p1 * width, N) - p0 * width;
    if (packed.bf16) {
      const long stride = bf16_panel_stride(K);
      kr.gemv_bf16(n, (K + 1) / 2, x2, packed.bf16 + p0 * stride, stride, y);
    } else {
      const long stride = static_cast<long>(K) * kr.nr;
      kr.gemv_packed(n, K, x, packed.fp32 + p0 * stride, stride, y);
    }
    if (!aligned)
      for (int k = 0; k < c1 - c0; ++k) out[k] += tile[c0 - p0 * width + k];
  }
};

// Per-thread buffers, grown once and reused (no allocation once warm).
struct Scratch {
  std::vector<float> tile, a, r, no_bias, peep;
  std::vector<uint32_t> x2, h2;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

bool generation_step(const RnnShape& s, const float* x, const float* h0, const float* c0,
                     const RnnParams<float>& p, float* y, int ldy, float* hN, float* cN) {
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU && !s.reset_before;
  if (s.T != 1 || s.B < 1 || s.B > kMaxRows || !(lstm || gru)) return false;
  const int B = s.B, I = s.I, H = s.H, G = lstm ? 4 : 3, GH = G * H;
  const HeldProduct input{held_packed_weights(p.w_ih, true, I, GH, I), I, GH};
  const HeldProduct recurrent{held_packed_weights(p.w_hh, true, H, GH, H), H, GH};
  if (!input.packed || !recurrent.packed) return false;
  const bool bf16 = input.packed.bf16 != nullptr;
  const float* peep = lstm && s.peephole ? p.peephole : nullptr;

  // New h in a buffer of its own: every thread reads all of the old h while others write theirs.
  // c is updated in place per unit, so it starts as a copy of c0 where it is kept. (The pool
  // threads see these through the pointers: a thread_local named in the task would be theirs.)
  thread_local std::vector<float> h_buffer, zeros, c_own;
  const size_t BH = static_cast<size_t>(B) * H;
  h_buffer.resize(BH);
  if (!h0) zeros.assign(BH, 0.0f);
  float* h_new = h_buffer.data();
  const float* h_old = h0 ? h0 : zeros.data();
  float* c = nullptr;
  if (lstm) {
    c = cN ? cN : (c_own.resize(BH), c_own.data());
    if (c != c0) {
      if (c0) std::memmove(c, c0, BH * sizeof(float));
      else std::fill_n(c, BH, 0.0f);
    }
  }

  long nonzero = 0;  // x's nonzero entries: a one-hot input multiplies one column per unit
  for (size_t i = 0; i < static_cast<size_t>(B) * I; ++i) nonzero += x[i] != 0.0f;
  const int chunks = (H + kUnitChunk - 1) / kUnitChunk;
  const double macs = static_cast<double>(GH) * (nonzero + static_cast<double>(B) * H);
  const int parts = macs >= kParallelMacs ? std::min(pool_threads(), chunks) : 1;

  parallel_for(parts, [&](int part) {
    const int u0 = std::min(H, chunks * part / parts * kUnitChunk);
    const int u1 = std::min(H, chunks * (part + 1) / parts * kUnitChunk);
    const int U = u1 - u0;
    if (U <= 0) return;
    Scratch& w = scratch();
    w.a.resize(static_cast<size_t>(G) * U);
    w.r.resize(static_cast<size_t>(G) * U);
    w.no_bias.assign(static_cast<size_t>(G) * U, 0.0f);  // the biases start the sums instead
    if (peep) {
      w.peep.resize(kPeepholeSlots * static_cast<size_t>(U));
      for (int g = 0; g < kPeepholeSlots; ++g) std::copy_n(peep + g * H + u0, U, w.peep.data() + g * U);
    }
    for (int b = 0; b < B; ++b) {
      const float* xb = x + static_cast<long>(b) * I;
      const float* hb = h_old + static_cast<long>(b) * H;
      if (bf16) {
        w.x2.resize((I + 1) / 2);
        w.h2.resize((H + 1) / 2);
        to_bf16_pairs(I, xb, w.x2.data());
        to_bf16_pairs(H, hb, w.h2.data());
      }
      for (int g = 0; g < G; ++g) {
        const int c0 = g * H + u0, c1 = g * H + u1;
        std::copy_n(p.b_ih + c0, U, w.a.data() + g * U);
        input.accumulate_columns(xb, w.x2.data(), c0, c1, w.a.data() + g * U, w.tile);
        std::copy_n(p.b_hh + c0, U, w.r.data() + g * U);
        recurrent.accumulate_columns(hb, w.h2.data(), c0, c1, w.r.data() + g * U, w.tile);
      }
      float* out = h_new + static_cast<long>(b) * H + u0;
      if (lstm) {
        isa().lstm_step(U, w.a.data(), w.r.data(), w.no_bias.data(), peep ? w.peep.data() : nullptr,
                        c + static_cast<long>(b) * H + u0, out);
      } else {
        std::copy_n(hb + u0, U, out);  // gru_step updates h in place
        isa().gru_step(U, w.a.data(), w.r.data(), w.no_bias.data(), nullptr, out);
      }
    }
  });

  for (int b = 0; b < B; ++b) {
    const float* hb = h_new + static_cast<long>(b) * H;
    if (y) std::copy_n(hb, H, y + static_cast<long>(b) * ldy);
    if (hN) std::copy_n(hb, H, hN + static_cast<long>(b) * H);
  }
  return true;
}

}  // namespace frnn::cpu

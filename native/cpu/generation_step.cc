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

// Per-thread buffers, grown once and reused (no allocation once warm).
struct Scratch {
  std::vector<float> tile, a, no_bias, peep;
  std::vector<uint32_t> pairs;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

LayerStep::LayerStep(const RnnShape& s, const RnnParams<float>& p) : s_(s), p_(p) {
  lstm_ = s.cell == Cell::LSTM;
  const bool gru = s.cell == Cell::GRU && !s.reset_before;
  if (s.T != 1 || s.B < 1 || s.B > kMaxRows || !(lstm_ || gru)) return;
  G_ = lstm_ ? 4 : 3;
  const int GH = G_ * s.H;
  const PackedMatrix in = held_packed_weights(p.w_ih, true, s.I, GH, s.I);
  const PackedMatrix rec = held_packed_weights(p.w_hh, true, s.H, GH, s.H);
  if (!in || !rec) return;
  input_ = {in.fp32, in.bf16, s.I, GH};
  recurrent_ = {rec.fp32, rec.bf16, s.H, GH};
  bf16_ = in.bf16 != nullptr;
  ok_ = true;
}

int LayerStep::useful_parts(long nonzero) const {
  const int chunks = (s_.H + kUnitChunk - 1) / kUnitChunk;
  const double macs = static_cast<double>(G_) * s_.H * (nonzero + static_cast<double>(s_.B) * s_.H);
  return macs >= kParallelMacs ? std::min(pool_threads(), chunks) : 1;
}

void LayerStep::units(int part, int parts, int* u0, int* u1) const {
  const int chunks = (s_.H + kUnitChunk - 1) / kUnitChunk;
  *u0 = std::min(s_.H, chunks * part / parts * kUnitChunk);
  *u1 = std::min(s_.H, chunks * (part + 1) / parts * kUnitChunk);
}

namespace {
// out[0, c1-c0) += (x · op(W))[c0, c1) for one row x of the held matrix W. A range on panel
// boundaries is multiplied in place; another (gates of a size off the panel width) through
// `tile`, a whole number of panels. The bf16 layout takes x as bf16 pairs (`pairs`).
template <typename Held>
void accumulate_columns(const Held& w, const float* x, const uint32_t* pairs, int c0, int c1, float* out,
                        std::vector<float>& tile) {
  const IsaKernels& kr = isa();
  const int width = w.bf16 ? kBf16PanelWidth : kr.nr;
  const int p0 = c0 / width, p1 = (c1 + width - 1) / width;
  const bool aligned = c0 % width == 0 && (c1 % width == 0 || c1 == w.N);
  float* y = out;
  if (!aligned) {
    tile.assign(static_cast<size_t>(p1 - p0) * width, 0.0f);
    y = tile.data();
  }
  const int n = aligned ? c1 - c0 : std::min(p1 * width, w.N) - p0 * width;
  if (w.bf16) {
    const long stride = bf16_panel_stride(w.K);
    kr.gemv_bf16(n, (w.K + 1) / 2, pairs, w.bf16 + p0 * stride, stride, y);
  } else {
    const long stride = static_cast<long>(w.K) * kr.nr;
    kr.gemv_packed(n, w.K, x, w.fp32 + p0 * stride, stride, y);
  }
  if (!aligned)
    for (int k = 0; k < c1 - c0; ++k) out[k] += tile[c0 - p0 * width + k];
}
}  // namespace

void LayerStep::recurrent(int part, int parts, const float* h_old) {
  int u0, u1;
  units(part, parts, &u0, &u1);
  const int U = u1 - u0, H = s_.H;
  if (U <= 0) return;
  Scratch& w = scratch();
  for (int b = 0; b < s_.B; ++b) {
    const float* hb = h_old + static_cast<long>(b) * H;
    if (bf16_) {
      w.pairs.resize((H + 1) / 2);
      to_bf16_pairs(H, hb, w.pairs.data());
    }
    for (int g = 0; g < G_; ++g) {
      const int c0 = g * H + u0;
      float* r = part_sums(u0, U, b) + g * U;
      std::copy_n(p_.b_hh + c0, U, r);
      accumulate_columns(recurrent_, hb, w.pairs.data(), c0, c0 + U, r, w.tile);
    }
  }
}

void LayerStep::finish(int part, int parts, const float* x, const float* h_old, float* c, float* h_new) {
  int u0, u1;
  units(part, parts, &u0, &u1);
  const int U = u1 - u0, H = s_.H, I = s_.I;
  if (U <= 0) return;
  Scratch& w = scratch();
  const float* peep = lstm_ && s_.peephole ? p_.peephole : nullptr;
  w.a.resize(static_cast<size_t>(G_) * U);
  w.no_bias.assign(static_cast<size_t>(G_) * U, 0.0f);  // the biases start the sums instead
  if (peep) {
    w.peep.resize(kPeepholeSlots * static_cast<size_t>(U));
    for (int g = 0; g < kPeepholeSlots; ++g) std::copy_n(peep + g * H + u0, U, w.peep.data() + g * U);
  }
  for (int b = 0; b < s_.B; ++b) {
    const float* xb = x + static_cast<long>(b) * I;
    if (bf16_) {
      w.pairs.resize((I + 1) / 2);
      to_bf16_pairs(I, xb, w.pairs.data());
    }
    for (int g = 0; g < G_; ++g) {
      const int c0 = g * H + u0;
      std::copy_n(p_.b_ih + c0, U, w.a.data() + g * U);
      accumulate_columns(input_, xb, w.pairs.data(), c0, c0 + U, w.a.data() + g * U, w.tile);
    }
    const float* r = part_sums(u0, U, b);
    float* out = h_new + static_cast<long>(b) * H + u0;
    if (lstm_) {
      isa().lstm_step(U, w.a.data(), r, w.no_bias.data(), peep ? w.peep.data() : nullptr,
                      c + static_cast<long>(b) * H + u0, out);
    } else {
      std::copy_n(h_old + static_cast<long>(b) * H + u0, U, out);  // gru_step updates h in place
      isa().gru_step(U, w.a.data(), r, w.no_bias.data(), nullptr, out);
    }
  }
}

bool generation_step(const RnnShape& s, const float* x, const float* h0, const float* c0,
                     const RnnParams<float>& p, float* y, int ldy, float* hN, float* cN) {
  LayerStep layer(s, p);
  if (!layer) return false;
  const int B = s.B, H = s.H;

  // New h in a buffer of its own: every thread reads all of the old h while others write theirs.
  // c is updated in place per unit, so it starts as a copy of c0 where it is kept. (The pool
  // threads see these through the pointers: a thread_local named in the task would be theirs.)
  thread_local std::vector<float> h_buffer, zeros, c_own, sums;
  const size_t BH = static_cast<size_t>(B) * H;
  h_buffer.resize(BH);
  sums.resize(layer.sum_elems());
  layer.keep_sums_in(sums.data());
  if (!h0) zeros.assign(BH, 0.0f);
  float* h_new = h_buffer.data();
  const float* h_old = h0 ? h0 : zeros.data();
  float* c = nullptr;
  if (layer.lstm()) {
    c = cN ? cN : (c_own.resize(BH), c_own.data());
    if (c != c0) {
      if (c0) std::memmove(c, c0, BH * sizeof(float));
      else std::fill_n(c, BH, 0.0f);
    }
  }

  long nonzero = 0;  // x's nonzero entries: a one-hot input multiplies one column per unit
  for (size_t i = 0; i < static_cast<size_t>(B) * s.I; ++i) nonzero += x[i] != 0.0f;
  const int parts = layer.useful_parts(nonzero);
  parallel_for(parts, [&](int part) {
    layer.recurrent(part, parts, h_old);
    layer.finish(part, parts, x, h_old, c, h_new);
  });

  for (int b = 0; b < B; ++b) {
    const float* hb = h_new + static_cast<long>(b) * H;
    if (y) std::copy_n(hb, H, y + static_cast<long>(b) * ldy);
    if (hN) std::copy_n(hb, H, hN + static_cast<long>(b) * H);
  }
  return true;
}

}  // namespace frnn::cpu

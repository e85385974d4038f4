#include "generation_step.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "bf16.h"
#include "cpu_isa.h"
#include "int8.h"
#include "thread_pool.h"

namespace frnn::cpu {
namespace {

// Rows one call serves: each thread multiplies its slice once per row, so beyond a few rows the
// general path's register-blocked GEMM reads the weights fewer times.
constexpr int kMaxRows = 4;
// Units dealt to a thread come in multiples of this: a whole bf16 or int8 panel, and whole fp32 panels
// of every variant (8, 16 or 32 columns).
constexpr int kUnitChunk = 32;
// Below this many multiply-adds a step stays on the calling thread (the hand-off costs more).
constexpr double kParallelMacs = 6.4e4;

// A row of the products' other operand in the held layout's precision: bf16 pairs, or int8
// quads with their scale and sum (fp32 products read the floats themselves).
struct ReducedRow {
  std::vector<uint32_t> words;
  Int8Row int8{};
  void convert(const PackedMatrix& w, int K, const float* x) {
    if (w.bf16) {
      words.resize((K + 1) / 2);
      to_bf16_pairs(K, x, words.data());
    } else if (w.int8) {
      words.resize((K + 3) / 4);
      int8 = quantize_row(K, x, words.data());
    }
  }
};

// Per-thread buffers, grown once and reused (no allocation once warm).
struct Scratch {
  std::vector<float> tile, a, no_bias, peep;
  ReducedRow row;
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
  input_ = {in, s.I, GH};
  recurrent_ = {rec, s.H, GH};
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
// `tile`, a whole number of panels, holding out's values so that the kernel's additions (FMAs
// where the variant contracts them) are the same either way. The bf16 and int8 layouts take x converted (`row`).
template <typename Held>
void accumulate_columns(const Held& held, const float* x, const ReducedRow& row, int c0, int c1, float* out,
                        std::vector<float>& tile) {
  const IsaKernels& kr = isa();
  const PackedMatrix& w = held.w;
  const int width = w.bf16 ? kBf16PanelWidth : w.int8 ? kInt8PanelWidth : kr.nr;
  const int p0 = c0 / width, p1 = (c1 + width - 1) / width;
  const bool aligned = c0 % width == 0 && (c1 % width == 0 || c1 == held.N);
  float* y = out;
  const int skip = c0 - p0 * width;  // the tile's columns before c0
  if (!aligned) {  // the tile holds out where they overlap, so both paths add to it alike
    tile.assign(static_cast<size_t>(p1 - p0) * width, 0.0f);
    std::copy_n(out, c1 - c0, tile.data() + skip);
    y = tile.data();
  }
  const int K = held.K;
  const int n = aligned ? c1 - c0 : std::min(p1 * width, held.N) - p0 * width;
  if (w.bf16) {
    const long stride = bf16_panel_stride(K);
    kr.gemv_bf16(n, (K + 1) / 2, row.words.data(), w.bf16 + p0 * stride, stride, y);
  } else if (w.int8) {
    const long stride = int8_panel_stride(K);
    kr.gemv_int8(n, (K + 3) / 4, row.words.data(), row.int8.scale, row.int8.sum, w.int8 + p0 * stride, stride,
                 w.int8_scales + p0 * width, y);
  } else {
    const long stride = static_cast<long>(K) * kr.nr;
    kr.gemv_packed(n, K, x, w.fp32 + p0 * stride, stride, y);
  }
  if (!aligned) std::copy_n(tile.data() + skip, c1 - c0, out);
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
    w.row.convert(recurrent_.w, H, hb);
    for (int g = 0; g < G_; ++g) {
      const int c0 = g * H + u0;
      float* r = part_sums(u0, U, b) + g * U;
      std::copy_n(p_.b_hh + c0, U, r);
      accumulate_columns(recurrent_, hb, w.row, c0, c0 + U, r, w.tile);
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
    w.row.convert(input_.w, I, xb);
    for (int g = 0; g < G_; ++g) {
      const int c0 = g * H + u0;
      std::copy_n(p_.b_ih + c0, U, w.a.data() + g * U);
      accumulate_columns(input_, xb, w.row, c0, c0 + U, w.a.data() + g * U, w.tile);
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

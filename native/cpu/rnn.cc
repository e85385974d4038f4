// CPU recurrent layer (LSTM with optional TF1 peepholes, GRU reset-after / reset-before, RNN tanh /
// relu), one direction, whole sequence. Contracts: ops.h (rnn_workspace_elems, rnn_forward,
// rnn_backward). One template serves the fp64 reference and the fp32 path.
//
// Structure (the one the fast CPU and CUDA kernels follow):
//   forward:  Xp = x·W_ihᵀ + b_ih for all B·T rows in ONE gemm; then per step only the recurrent
//             product h·W_hhᵀ over the batch and the fused pointwise gate math.
//   backward: per step only the pointwise backward and dh_prev = dgates·W_hh; the per-row
//             pre-activation gradients are kept in a [B,T,G·H] buffer so dx, dW_ih, dW_hh, db_ih,
//             db_hh (and the peephole grads) are big GEMMs / reductions over all B·T rows after
//             the loop.
//
// Ragged batches: row b is active at step s iff s < lengths[b]; its time index is
// t = s (forward) or lengths[b]-1-s (reverse). Inactive rows keep their state (frozen).
//
// Workspace (N = B·T rows, row (b,t) at b*T + t; rows with t >= lengths[b] are zero):
//   gates [N, G·H]  post-activation gates in gates.h's slots (RNN: h' itself)
//   hprev [N, H]    the h entering step t (h0 or the previous step's h)
//   LSTM:            cprev [N, H] (c entering step t), cnew [N, H] (c after step t)
//   GRU reset-after: hn [N, H] = W_hn·h_prev + b_hn (the term the reset gate multiplies)
// Backward reads only the workspace, x and the params, never y.
//
// Scratch: state, per-step temporaries, backward's pre-activation gradients and (inference) the
// input projection live in per-thread buffers reused across calls (rnn_support.h): no allocation
// once warm. The recurrent weights are packed once per call for the fp32 path.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../rnn_workspace.h"
#include "cpu_kernels.h"
#include "gemm.h"
#include "generation_step.h"
#include "one_hot_input.h"
#include "rnn_support.h"
#include "thread_pool.h"
#include "weight_cache.h"

namespace frnn::cpu {
namespace {

template <typename F>
inline F sigmoid(F a) {
  return F(1) / (F(1) + std::exp(-a));
}

// The workspace layout shared with the CUDA backend (native/rnn_workspace.h).
using Layout = RnnWorkspaceLayout;
inline Layout layout(const RnnShape& s) { return rnn_workspace_layout(s); }

inline int len_of(const RnnShape& s, const int32_t* lengths, int b) {
  return lengths ? lengths[b] : s.T;
}
inline int time_of(const RnnShape& s, int len, int step) {
  return s.reverse ? len - 1 - step : step;
}

// Zeroes the rows (b, t >= lengths[b]) of an [N, width] region: the step loops write every
// other row, so only these need clearing (clearing whole buffers cost more than a step's math).
template <typename F>
void zero_rows_past_end(const RnnShape& s, const int32_t* lengths, F* region, int width) {
  if (!lengths) return;
  for (int b = 0; b < s.B; ++b) {
    const int len = lengths[b];
    if (len < s.T)
      std::memset(region + (static_cast<long>(b) * s.T + len) * width, 0, sizeof(F) * (s.T - len) * width);
  }
}

// The rows of one step, dealt to the pool for fp32, where each row's step math touches only that
// row (the fp64 reference shares a temporary across rows and keeps its rows on this thread). A
// part gets at least kMinPerPart gate values: below that the hand-off costs more than it saves.
constexpr long kMinPerPart = 8192;
// Rows [b0, b1).
template <typename F, typename Fn>
void for_each_row(int b0, int b1, int gate_width, Fn&& fn) {
  const int B = b1 - b0;
  const long parts_by_work = static_cast<long>(B) * gate_width / kMinPerPart;
  const int parts = std::is_same_v<F, float> ? static_cast<int>(std::min<long>(pool_threads(), parts_by_work)) : 1;
  if (parts <= 1) {
    for (int b = b0; b < b1; ++b) fn(b);
    return;
  }
  parallel_for(parts, [&](int part) {
    for (int b = b0 + B * part / parts, end = b0 + B * (part + 1) / parts; b < end; ++b) fn(b);
  });
}

// A layer whose steps are each too small to split (the product below kPackedParallelMacs, the
// gate math below for_each_row's part) runs its whole time loop as blocks of rows, one per
// thread: rows never meet within the loop, so that is one hand-off per call where the per-step
// split would cost one per step, or the other cores sit idle (W5: B = 64, H = 20). Blocks are
// whole micro-kernel tiles, so each row's products are those of the one-block loop. fp32 only
// (the fp64 reference keeps its rows on this thread). run(b0, b1) runs the loop over [b0, b1).
template <typename F, typename Run>
void in_row_blocks(int B, int H, int GH, Run&& run) {
  const int mr = isa().mr;
  const bool small_steps =
      static_cast<double>(B) * GH * H < kPackedParallelMacs && static_cast<long>(B) * GH / kMinPerPart < 2;
  const int parts = std::is_same_v<F, float> && small_steps ? std::min(pool_threads(), B / (2 * mr)) : 1;
  if (parts <= 1) {
    run(0, B);
    return;
  }
  const int tiles = (B + mr - 1) / mr;
  parallel_for(parts, [&](int part) {
    run(std::min(B, tiles * part / parts * mr), std::min(B, tiles * (part + 1) / parts * mr));
  });
}

// The input projection and dW_ih of one-hot rows without a GEMM (one_hot_input.h): fp32 only;
// false when the rows are not one-hot (or for the fp64 reference), and the caller multiplies.
template <typename F>
bool one_hot_projection(long, int, int, const F*, const RnnParams<F>&, F*) { return false; }
template <>
bool one_hot_projection<float>(long N, int I, int GH, const float* x, const RnnParams<float>& p, float* pre) {
  // The gather transposes W_ih first: worth it over many rows, not for a generated character
  // (whose one-row product the packed-weight cache serves, reading one column). Under bf16 or
  // int8 products the selection must round like them, so the product path takes it.
  constexpr long kMinRows = 64;
  if (N < kMinRows || holding_reduced()) return false;
  const int32_t* hot = one_hot_columns(x, N, I);
  if (hot) gather_input_projection(N, I, GH, hot, p.w_ih, p.b_ih, pre);
  return hot != nullptr;
}
template <typename F>
bool one_hot_weight_grad(long, int, int, const F*, const F*, F*) { return false; }
template <>
bool one_hot_weight_grad<float>(long N, int I, int GH, const float* x, const float* da, float* dw_ih) {
  const int32_t* hot = one_hot_columns(x, N, I);
  if (hot) scatter_input_weight_grad(N, I, GH, hot, da, dw_ih);
  return hot != nullptr;
}

}  // namespace

template <typename F>
size_t rnn_workspace_elems(const RnnShape& s) {
  return static_cast<size_t>(layout(s).total);
}

template <typename F>
void rnn_forward(const RnnShape& s, const F* x, const int32_t* lengths, const F* h0, const F* c0,
                 const RnnParams<F>& p, F* y, int ldy, F* hN, F* cN, F* ws) {
  const int B = s.B, T = s.T, I = s.I, H = s.H;
  const Layout L = layout(s);
  const int GH = L.GH;
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU;
  const bool peep = lstm && s.peephole && p.peephole;
  // Gate blocks within a row and peephole slots (gates.h).
  const int gI = at(LstmGate::I, H), gF = at(LstmGate::F, H), gG = at(LstmGate::G, H), gO = at(LstmGate::O, H);
  const int gR = at(GruGate::R, H), gZ = at(GruGate::Z, H), gN = at(GruGate::N, H);
  const int pI = at(Peephole::I, H), pF = at(Peephole::F, H), pO = at(Peephole::O, H);
  if constexpr (std::is_same_v<F, float>) {
    if (!ws && !lengths && generation_step(s, x, h0, c0, p, y, ldy, hN, cN)) return;
  }

  // Input projection for every row at once. With a workspace it is written straight into the
  // gates region and each row is overwritten in place by its activated gates during its step.
  F* pre;
  if (ws) {
    for (long region : {L.hprev, L.cprev, L.cnew, L.hn})
      if (region >= 0) zero_rows_past_end(s, lengths, ws + region, H);
    pre = ws + L.gates;
  } else {
    pre = scratch<F>(kGradPre, static_cast<size_t>(L.N) * GH, false);
  }
  // Rows [r0, r1) of it (rows b*T + t): each row block of the time loop projects its own.
  auto project = [&](long r0, long r1) {
    F* out = pre + r0 * GH;
    if (one_hot_projection(r1 - r0, I, GH, x + r0 * I, p, out)) return;
    gemm<F>(false, true, static_cast<int>(r1 - r0), GH, I, F(1), x + r0 * I, I, p.w_ih, I, F(0), out, GH);
    // Pieces of at least kBiasPieceElems additions: a smaller one saves less than handing it to
    // a pool worker costs (W5's 1280 x 80 bias adds are one piece, on this thread).
    constexpr long kBiasPieceElems = 1 << 17;
    parallel_for_pieces(r1 - r0, std::max<long>(64, kBiasPieceElems / GH), [&](long begin, long end) {
      for (long r = begin; r < end; ++r)
        for (int j = 0; j < GH; ++j) out[r * GH + j] += p.b_ih[j];
    });
  };

  // Running state of every row (frozen once its sequence has ended).
  const size_t BH = static_cast<size_t>(B) * H;
  F* h = scratch<F>(kState, BH, true);
  F* c = scratch<F>(kCell, lstm ? BH : 0, true);
  if (h0) std::copy(h0, h0 + BH, h);
  if (lstm && c0) std::copy(c0, c0 + BH, c);

  int max_len = 0;
  for (int b = 0; b < B; ++b) max_len = std::max(max_len, len_of(s, lengths, b));

  F* hp = scratch<F>(kStepProduct, static_cast<size_t>(B) * GH, false);  // the step's h·W_hhᵀ
  F* rh = scratch<F>(kResetH, gru && s.reset_before ? BH : 0, false);
  F* tc = scratch<F>(kTemp, H, false);
  const bool split_n = gru && s.reset_before;
  // n needs W_hn·(r*h) when the reset comes first, so its block (the last) is a product of its
  // own and the r, z blocks before it another.
  const RecurrentProduct<F> rec(true, H, split_n ? gN : GH, p.w_hh, H, B, max_len, kPackedW0);
  const RecurrentProduct<F> rec_n(true, H, split_n ? H : 0, p.w_hh + static_cast<long>(gN) * H, H, B,
                                  split_n ? max_len : 0, kPackedW1);
  in_row_blocks<F>(B, H, GH, [&](int b0, int b1) {
    const int rows = b1 - b0;
    project(static_cast<long>(b0) * T, static_cast<long>(b1) * T);
    for (int step = 0; step < max_len; ++step) {
      if (split_n) {
        rec.multiply(rows, h + static_cast<size_t>(b0) * H, H, hp + static_cast<size_t>(b0) * GH, GH);
        std::fill(rh + static_cast<size_t>(b0) * H, rh + static_cast<size_t>(b1) * H, F(0));
        for (int b = b0; b < b1; ++b) {
          const int len = len_of(s, lengths, b);
          if (step >= len) continue;
          const F* a = pre + (static_cast<long>(b) * T + time_of(s, len, step)) * GH;
          for (int k = 0; k < H; ++k)
            rh[b * H + k] = sigmoid(a[gR + k] + hp[b * GH + gR + k] + p.b_hh[gR + k]) * h[b * H + k];
        }
        rec_n.multiply(rows, rh + static_cast<size_t>(b0) * H, H, hp + static_cast<size_t>(b0) * GH + gN, GH);
      } else {
        rec.multiply(rows, h + static_cast<size_t>(b0) * H, H, hp + static_cast<size_t>(b0) * GH, GH);
      }

      for_each_row<F>(b0, b1, GH, [&](int b) {
        const int len = len_of(s, lengths, b);
        if (step >= len) return;
        const int t = time_of(s, len, step);
        const long row = static_cast<long>(b) * T + t;
        F* a = pre + row * GH;  // in: pre-activation x-part; out: activated gates
        const F* r_hh = hp + static_cast<size_t>(b) * GH;
        F* hb = h + static_cast<size_t>(b) * H;
        if (ws) std::copy(hb, hb + H, ws + L.hprev + row * H);

        if (lstm) {
          F* cb = c + static_cast<size_t>(b) * H;
          if (ws) std::copy(cb, cb + H, ws + L.cprev + row * H);
          if (!fast_lstm_step(H, a, r_hh, p.b_hh, peep ? p.peephole : nullptr, cb, hb)) {
            // The fp64 reference: gate pre-activations, then each activation over its whole block.
            for (int j = 0; j < GH; ++j) a[j] = a[j] + r_hh[j] + p.b_hh[j];
            if (peep)
              for (int k = 0; k < H; ++k) a[gI + k] += p.peephole[pI + k] * cb[k], a[gF + k] += p.peephole[pF + k] * cb[k];
            sigmoid_n(a + gI, H);
            sigmoid_n(a + gF, H);
            tanh_n(a + gG, H);
            for (int k = 0; k < H; ++k) cb[k] = a[gF + k] * cb[k] + a[gI + k] * a[gG + k];
            if (peep)
              for (int k = 0; k < H; ++k) a[gO + k] += p.peephole[pO + k] * cb[k];
            sigmoid_n(a + gO, H);
            std::copy(cb, cb + H, tc);
            tanh_n(tc, H);
            for (int k = 0; k < H; ++k) hb[k] = a[gO + k] * tc[k];
          }
          if (ws) std::copy(cb, cb + H, ws + L.cnew + row * H);
        } else if (gru) {
          F* hn_out = ws && !s.reset_before ? ws + L.hn + row * H : nullptr;
          if (s.reset_before || !fast_gru_step(H, a, r_hh, p.b_hh, hn_out, hb)) {
            for (int k = 0; k < H; ++k) {
              a[gR + k] = a[gR + k] + r_hh[gR + k] + p.b_hh[gR + k];
              a[gZ + k] = a[gZ + k] + r_hh[gZ + k] + p.b_hh[gZ + k];
            }
            sigmoid_n(a + gR, H);
            sigmoid_n(a + gZ, H);
            for (int k = 0; k < H; ++k) {
              if (s.reset_before) {
                a[gN + k] = a[gN + k] + r_hh[gN + k] + p.b_hh[gN + k];
              } else {
                const F hn = r_hh[gN + k] + p.b_hh[gN + k];
                if (ws) ws[L.hn + row * H + k] = hn;
                a[gN + k] = a[gN + k] + a[gR + k] * hn;
              }
            }
            tanh_n(a + gN, H);
            for (int k = 0; k < H; ++k) {
              const F z = a[gZ + k], n = a[gN + k];
              hb[k] = (F(1) - z) * n + z * hb[k];
            }
          }
        } else {
          for (int k = 0; k < H; ++k) a[k] = a[k] + r_hh[k] + p.b_hh[k];
          if (s.cell == Cell::RNN_RELU)
            for (int k = 0; k < H; ++k) a[k] = a[k] > F(0) ? a[k] : F(0);
          else
            tanh_n(a, H);
          std::copy(a, a + H, hb);
        }
        if (y) std::copy(hb, hb + H, y + row * ldy);
      });
    }
  });

  if (y) {
    for (int b = 0; b < B; ++b)
      for (int t = len_of(s, lengths, b); t < T; ++t)
        std::fill(y + (static_cast<long>(b) * T + t) * ldy, y + (static_cast<long>(b) * T + t) * ldy + H, F(0));
  }
  // Rows past a sequence's end never got their step: clear the projection left there.
  if (ws) zero_rows_past_end(s, lengths, pre, GH);
  if (hN) std::copy(h, h + BH, hN);
  if (lstm && cN) std::copy(c, c + BH, cN);
}

template <typename F>
void rnn_backward(const RnnShape& s, const F* x, const int32_t* lengths, const F* h0, const F* c0,
                  const RnnParams<F>& p, const F* ws, const F* dy, int ldy, const F* dhN,
                  const F* dcN, F* dx, F* dh0, F* dc0, const RnnParamGrads<F>& g) {
  (void)h0, (void)c0;  // the workspace holds every state backward needs
  const int B = s.B, T = s.T, I = s.I, H = s.H;
  const Layout L = layout(s);
  const int GH = L.GH;
  const long N = L.N;
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU;
  const bool after = gru && !s.reset_before, before = gru && s.reset_before;
  const bool peep = lstm && s.peephole && p.peephole;
  // Gate blocks within a row and peephole slots (gates.h).
  const int gI = at(LstmGate::I, H), gF = at(LstmGate::F, H), gG = at(LstmGate::G, H), gO = at(LstmGate::O, H);
  const int gR = at(GruGate::R, H), gZ = at(GruGate::Z, H), gN = at(GruGate::N, H);
  const int pI = at(Peephole::I, H), pF = at(Peephole::F, H), pO = at(Peephole::O, H);
  const F* gates = ws + L.gates;
  const F* hprev = ws + L.hprev;

  // Pre-activation gradients of every row. `da` is the gradient w.r.t. the x-side
  // pre-activation (x·W_ihᵀ + b_ih), `dah` w.r.t. the h-side one (h·W_hhᵀ + b_hh); they differ
  // only in the n block of the reset-after GRU (r multiplies the h side there).
  const size_t NGH = static_cast<size_t>(N) * GH, BH = static_cast<size_t>(B) * H;
  // Every active row is written by the step loop below; rows past the end stay 0.
  F* da_buf = scratch<F>(kGradPre, NGH, false);
  F* dah_buf = scratch<F>(kGradPreH, after ? NGH : 0, false);
  zero_rows_past_end(s, lengths, da_buf, GH);
  if (after) zero_rows_past_end(s, lengths, dah_buf, GH);
  F* dah_all = after ? dah_buf : da_buf;

  F* dh_buf = scratch<F>(kGradH, BH, true);
  F* dc_buf = scratch<F>(kGradC, lstm ? BH : 0, true);
  if (dhN) std::copy(dhN, dhN + BH, dh_buf);
  if (lstm && dcN) std::copy(dcN, dcN + BH, dc_buf);

  int max_len = 0;
  for (int b = 0; b < B; ++b) max_len = std::max(max_len, len_of(s, lengths, b));

  const size_t BGH = static_cast<size_t>(B) * GH;
  // The step's h-side grads are the recurrent product's A. Where every row of a step sits at the
  // same t (no lengths, or forward in time: rows past their end are zero), A is read from the
  // per-row buffer in place, rows T·GH apart; otherwise (and for the reset-before GRU, whose A
  // is built apart) the rows are gathered into step_dah.
  const bool in_place = !before && (!lengths || !s.reverse);
  F* step_dah = scratch<F>(kStepGrad, in_place ? 0 : BGH, false);
  F* dhp = scratch<F>(kGradHp, BH, false);          // dgates·W_hh
  F* drh = scratch<F>(kGradRH, before ? BH : 0, false);
  F* tc = scratch<F>(kTemp, H, false);
  // dgates·W_hh with W_hh packed once; reset-before: the r/z rows and the n rows apart.
  const RecurrentProduct<F> rec(false, before ? gN : GH, H, p.w_hh, H, B, max_len, kPackedW0);
  const RecurrentProduct<F> rec_n(false, before ? H : 0, H, p.w_hh + static_cast<long>(gN) * H, H, B,
                                  before ? max_len : 0, kPackedW1);

  in_row_blocks<F>(B, H, GH, [&](int b0, int b1) {
    const int rows = b1 - b0;
    for (int step = max_len - 1; step >= 0; --step) {
      // Pass 1: pointwise backward of the blocks that don't need a product first. Every active row
      // of step_dah is written whole below; inactive rows contribute nothing.
      for_each_row<F>(b0, b1, GH, [&](int b) {
        const int len = len_of(s, lengths, b);
        if (step >= len) {
          if (!in_place) std::fill(step_dah + static_cast<size_t>(b) * GH, step_dah + static_cast<size_t>(b + 1) * GH, F(0));
          return;
        }
        const long row = static_cast<long>(b) * T + time_of(s, len, step);
        F* dhb = dh_buf + static_cast<size_t>(b) * H;
        if (dy) {
          const F* dyr = dy + row * ldy;
          for (int k = 0; k < H; ++k) dhb[k] += dyr[k];
        }
        const F* gt = gates + row * GH;
        const F* hp = hprev + row * H;
        F* d = da_buf + row * GH;
        F* dsh = in_place ? nullptr : step_dah + static_cast<size_t>(b) * GH;

        if (lstm) {
          F* dcb = dc_buf + static_cast<size_t>(b) * H;
          const F* cp = ws + L.cprev + row * H;
          const F* cn = ws + L.cnew + row * H;
          if (!fast_lstm_step_backward(H, gt, cp, cn, peep ? p.peephole : nullptr, dhb, dcb, d)) {
            std::copy(cn, cn + H, tc);
            tanh_n(tc, H);
            for (int k = 0; k < H; ++k) {
              const F i = gt[gI + k], f = gt[gF + k], gg = gt[gG + k], o = gt[gO + k];
              const F dao = dhb[k] * tc[k] * o * (F(1) - o);
              F dcn = dcb[k] + dhb[k] * o * (F(1) - tc[k] * tc[k]);
              if (peep) dcn += dao * p.peephole[pO + k];
              const F dai = dcn * gg * i * (F(1) - i);
              const F daf = dcn * cp[k] * f * (F(1) - f);
              const F dag = dcn * i * (F(1) - gg * gg);
              F dcp = dcn * f;
              if (peep) dcp += dai * p.peephole[pI + k] + daf * p.peephole[pF + k];
              dcb[k] = dcp;
              d[gI + k] = dai, d[gF + k] = daf, d[gG + k] = dag, d[gO + k] = dao;
            }
          }
          if (dsh) std::copy(d, d + GH, dsh);
        } else if (gru) {
          if (after && fast_gru_step_backward(H, gt, hp, ws + L.hn + row * H, dhb, d, dah_all + row * GH)) {
            if (dsh) std::copy(dah_all + row * GH, dah_all + (row + 1) * GH, dsh);
          } else {
            for (int k = 0; k < H; ++k) {
              const F z = gt[gZ + k], n = gt[gN + k];
              d[gZ + k] = dhb[k] * (hp[k] - n) * z * (F(1) - z);
              d[gN + k] = dhb[k] * (F(1) - z) * (F(1) - n * n);
            }
            if (after) {
              const F* hn = ws + L.hn + row * H;
              F* dh_row = dah_all + row * GH;
              for (int k = 0; k < H; ++k) {
                const F r = gt[gR + k];
                d[gR + k] = d[gN + k] * hn[k] * r * (F(1) - r);
                dh_row[gR + k] = d[gR + k], dh_row[gZ + k] = d[gZ + k], dh_row[gN + k] = d[gN + k] * r;
              }
              if (dsh) std::copy(dh_row, dh_row + GH, dsh);
            } else {
              // r's gradient needs W_hnᵀ·da_n first (pass 2).
              for (int k = 0; k < gN; ++k) dsh[k] = 0;  // r, z
              for (int k = 0; k < H; ++k) dsh[gN + k] = d[gN + k];
            }
          }
        } else {
          const bool relu = s.cell == Cell::RNN_RELU;
          for (int k = 0; k < H; ++k) {
            const F hv = gt[k];
            d[k] = dhb[k] * (relu ? (hv > F(0) ? F(1) : F(0)) : F(1) - hv * hv);
          }
          if (dsh) std::copy(d, d + GH, dsh);
        }
      });

      if (before) {
        // d(r*h) = da_n·W_hn; then r's pre-activation gradient.
        rec_n.multiply(rows, step_dah + static_cast<size_t>(b0) * GH + gN, GH, drh + static_cast<size_t>(b0) * H, H);
        for (int b = b0; b < b1; ++b) {
          const int len = len_of(s, lengths, b);
          if (step >= len) continue;
          const long row = static_cast<long>(b) * T + time_of(s, len, step);
          const F* gt = gates + row * GH;
          const F* hp = hprev + row * H;
          F* d = da_buf + row * GH;
          F* dsh = step_dah + static_cast<size_t>(b) * GH;
          for (int k = 0; k < H; ++k) {
            const F r = gt[gR + k];
            d[gR + k] = drh[b * H + k] * hp[k] * r * (F(1) - r);
            dsh[gR + k] = d[gR + k], dsh[gZ + k] = d[gZ + k];
          }
        }
        // r/z blocks' product; the n block reached h through r*h above.
        rec.multiply(rows, step_dah + static_cast<size_t>(b0) * GH, GH, dhp + static_cast<size_t>(b0) * H, H);
      } else if (in_place) {
        const int t = s.reverse ? T - 1 - step : step;
        rec.multiply(rows, dah_all + (static_cast<long>(b0) * T + t) * GH, T * GH, dhp + static_cast<size_t>(b0) * H, H);
      } else {
        rec.multiply(rows, step_dah + static_cast<size_t>(b0) * GH, GH, dhp + static_cast<size_t>(b0) * H, H);
      }

      // dh_prev for active rows; inactive rows carry their gradient through unchanged.
      for (int b = b0; b < b1; ++b) {
        const int len = len_of(s, lengths, b);
        if (step >= len) continue;
        const long row = static_cast<long>(b) * T + time_of(s, len, step);
        F* dhb = dh_buf + static_cast<size_t>(b) * H;
        const F* dp = dhp + static_cast<size_t>(b) * H;
        if (gru) {
          const F* gt = gates + row * GH;
          for (int k = 0; k < H; ++k) {
            F v = dp[k] + dhb[k] * gt[gZ + k];  // h' = ... + z*h
            if (before) v += drh[b * H + k] * gt[gR + k];
            dhb[k] = v;
          }
        } else {
          std::copy(dp, dp + H, dhb);
        }
      }
    }
    // The block's rows of dx (rows past a sequence's end have zero grads).
    if (dx) {
      const long r0 = static_cast<long>(b0) * T;
      gemm<F>(false, false, rows * T, I, GH, F(1), da_buf + r0 * GH, GH, p.w_ih, I, F(1), dx + r0 * I, I);
    }
  });

  if (dh0) std::copy(dh_buf, dh_buf + BH, dh0);
  if (lstm && dc0) std::copy(dc_buf, dc_buf + BH, dc0);

  // The weight gradients sum over all B·T rows (rows past a sequence's end have zero grads).
  // Where each of their products is too small to split (sgemm_is_one_thread), the input-side and
  // the recurrent-side ones run side by side, each whole on one thread: the same sums.
  auto input_side = [&] {
    if (g.w_ih && !one_hot_weight_grad(N, I, GH, x, da_buf, g.w_ih))
      gemm<F>(true, false, GH, I, static_cast<int>(N), F(1), da_buf, GH, x, I, F(1), g.w_ih, I);
  };
  auto recurrent_side = [&] {
    if (g.w_hh) {
      if (before) {
        // n block multiplies r*h_prev, not h_prev.
        gemm<F>(true, false, gN, H, static_cast<int>(N), F(1), da_buf, GH, hprev, H, F(1), g.w_hh, H);
        F* rhm = scratch<F>(kGradPreH, static_cast<size_t>(N) * H, false);
        for (long r = 0; r < N; ++r)
          for (int k = 0; k < H; ++k) rhm[r * H + k] = gates[r * GH + gR + k] * hprev[r * H + k];
        gemm<F>(true, false, H, H, static_cast<int>(N), F(1), da_buf + gN, GH, rhm, H,
                F(1), g.w_hh + static_cast<long>(gN) * H, H);
      } else {
        gemm<F>(true, false, GH, H, static_cast<int>(N), F(1), dah_all, GH, hprev, H, F(1), g.w_hh, H);
      }
    }
    if (g.b_ih || g.b_hh) {
      // Column sums split by columns: each element still adds its rows in order, so the result
      // is the same however many threads share the work. Where both biases sum the same rows,
      // b_hh gets b_ih's increment (sums kept in registers down the rows: rnn_support.h).
      constexpr long kPiece = 128;
      parallel_for_pieces(GH, kPiece, [&](long j0, long j1) {
        const int w = static_cast<int>(j1 - j0);
        const bool shared = dah_all == da_buf && g.b_ih && g.b_hh;
        if (shared) {
          F sum[kPiece] = {};
          add_column_sums(N, w, da_buf + j0, GH, sum);
          for (int j = 0; j < w; ++j) g.b_ih[j0 + j] += sum[j], g.b_hh[j0 + j] += sum[j];
          return;
        }
        if (g.b_ih) add_column_sums(N, w, da_buf + j0, GH, g.b_ih + j0);
        if (g.b_hh) add_column_sums(N, w, dah_all + j0, GH, g.b_hh + j0);
      });
    }
    if (peep && g.peephole) {
      const F* cp = ws + L.cprev;
      const F* cn = ws + L.cnew;
      for (long r = 0; r < N; ++r) {
        const F* d = da_buf + r * GH;
        for (int k = 0; k < H; ++k) {
          g.peephole[pI + k] += d[gI + k] * cp[r * H + k];
          g.peephole[pF + k] += d[gF + k] * cp[r * H + k];
          g.peephole[pO + k] += d[gO + k] * cn[r * H + k];
        }
      }
    }
  };
  const bool side_by_side = std::is_same_v<F, float> && sgemm_is_one_thread(GH, std::max(I, H), static_cast<int>(N));
  if (side_by_side) {
    parallel_for(2, [&](int side) { side == 0 ? input_side() : recurrent_side(); });
  } else {
    input_side();
    recurrent_side();
  }
}

#define FRNN_RNN_INST(F)                                                                          \
  template size_t rnn_workspace_elems<F>(const RnnShape&);                                        \
  template void rnn_forward<F>(const RnnShape&, const F*, const int32_t*, const F*, const F*,     \
                               const RnnParams<F>&, F*, int, F*, F*, F*);                         \
  template void rnn_backward<F>(const RnnShape&, const F*, const int32_t*, const F*, const F*,    \
                                const RnnParams<F>&, const F*, const F*, int, const F*, const F*, \
                                F*, F*, F*, const RnnParamGrads<F>&);
FRNN_CPU_INSTANTIATE(FRNN_RNN_INST)
#undef FRNN_RNN_INST

}  // namespace frnn::cpu

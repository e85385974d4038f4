// Op harness for the recurrent layer: ops.rnnForward(dtype, args) and ops.rnnBackward(dtype, args)
// run one layer-direction (ops.h rnn_forward / rnn_backward) on a backend so tests can hold it
// against finite differences, PyTorch's golden values and the fp64 reference.
//
// args: {cell: 'lstm'|'gru'|'rnn_tanh'|'rnn_relu', B, T, I, H, reverse?, peephole?, resetBefore?,
//        x [B*T*I], lengths? Int32Array[B], h0? [B*H], c0? [B*H] (LSTM), w_ih [G*H*I],
//        w_hh [G*H*H], b_ih [G*H], b_hh [G*H], peepholeWeights? [3H] (required with peephole),
//        ldy? (>= H, default H), yInit? [B*T*ldy] (initial content of y, to see which columns
//        the op writes), backend?}
// rnnBackward also takes dy? [B*T*ldy], dhN? [B*H], dcN? [B*H] (LSTM), dxInit? [B*T*I] (initial
// content of dx, which the op accumulates into), dw_ihInit?, dw_hhInit?, db_ihInit?, db_hhInit?,
// dpeepholeInit? (initial content of the parameter grads, likewise accumulated).
// Every argument is checked here; a bad call throws TypeError/RangeError naming it.
#include <algorithm>
#include <string>
#include <vector>

#include "harness_util.h"
#include "harness.h"

namespace frnn::binding {
namespace {

using namespace frnn::harness;

Napi::RangeError range(const Napi::Object& a, const std::string& msg) {
  return Napi::RangeError::New(a.Env(), msg);
}

int positive(const Napi::Object& a, const char* key) {
  if (!present(a, key)) throw Napi::TypeError::New(a.Env(), std::string("args.") + key + " is required");
  const int v = integer(a, key);
  if (v < 1 || v > (1 << 24)) throw range(a, std::string("args.") + key + " must be in [1, 2^24]");
  return v;
}

// Parsed, validated arguments of one call (host side, fp64).
struct RnnArgs {
  RnnShape s;
  int ldy = 0;
  std::vector<double> x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep, y_init;
  std::vector<int32_t> lengths;
  bool has_h0 = false, has_c0 = false, has_lengths = false;
  bool poison = false;  // outputs NaN-filled before the op (args.poison)
};

RnnArgs parse(const Napi::Object& a) {
  RnnArgs r;
  if (!a.Get("cell").IsString()) throw Napi::TypeError::New(a.Env(), "args.cell must be a string");
  const std::string cell = a.Get("cell").As<Napi::String>();
  if (cell == "lstm") r.s.cell = Cell::LSTM;
  else if (cell == "gru") r.s.cell = Cell::GRU;
  else if (cell == "rnn_tanh") r.s.cell = Cell::RNN_TANH;
  else if (cell == "rnn_relu") r.s.cell = Cell::RNN_RELU;
  else throw range(a, "args.cell must be 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu', got '" + cell + "'");
  r.s.B = positive(a, "B");
  r.s.T = positive(a, "T");
  r.s.I = positive(a, "I");
  r.s.H = positive(a, "H");
  r.poison = poison_arg(a);
  r.s.reverse = flag(a, "reverse");
  r.s.peephole = flag(a, "peephole");
  r.s.reset_before = flag(a, "resetBefore");
  const bool lstm = r.s.cell == Cell::LSTM;
  if (r.s.peephole && !lstm) throw range(a, "args.peephole: peepholes exist only for cell 'lstm'");
  if (r.s.reset_before && r.s.cell != Cell::GRU)
    throw range(a, "args.resetBefore: only for cell 'gru'");

  const size_t B = r.s.B, T = r.s.T, I = r.s.I, H = r.s.H, GH = gate_count(r.s.cell) * H;
  // Every buffer's size must fit an int-indexed kernel.
  if (B * T * std::max(std::max(I, GH), H) > (size_t(1) << 31) || GH * std::max(I, H) > (size_t(1) << 31))
    throw range(a, "args: tensors too large for the harness");

  r.ldy = present(a, "ldy") ? integer(a, "ldy") : r.s.H;
  if (r.ldy < r.s.H || r.ldy > (1 << 24)) throw range(a, "args.ldy must be an integer >= H");

  r.x = f64(a, "x", B * T * I);
  if ((r.has_lengths = present(a, "lengths"))) {
    r.lengths = i32(a, "lengths", B);
    for (size_t b = 0; b < B; ++b)
      if (r.lengths[b] < 0 || r.lengths[b] > r.s.T)
        throw range(a, "args.lengths[" + std::to_string(b) + "] = " + std::to_string(r.lengths[b]) +
                           " is outside [0, T]");
  }
  if ((r.has_h0 = present(a, "h0"))) r.h0 = f64(a, "h0", B * H);
  if (present(a, "c0")) {
    if (!lstm) throw range(a, "args.c0: only for cell 'lstm'");
    r.c0 = f64(a, "c0", B * H);
    r.has_c0 = true;
  }
  r.w_ih = f64(a, "w_ih", GH * I);
  r.w_hh = f64(a, "w_hh", GH * H);
  r.b_ih = f64(a, "b_ih", GH);
  r.b_hh = f64(a, "b_hh", GH);
  if (r.s.peephole) {
    if (!present(a, "peepholeWeights"))
      throw Napi::TypeError::New(a.Env(), "args.peepholeWeights (Float64Array[3H]) is required with peephole");
    r.peep = f64(a, "peepholeWeights", 3 * H);
  } else if (present(a, "peepholeWeights")) {
    throw range(a, "args.peepholeWeights given without args.peephole");
  }
  if (present(a, "yInit")) r.y_init = f64(a, "yInit", B * T * r.ldy);
  return r;
}

// Backend copies of the forward inputs plus the forward outputs and workspace.
template <typename T>
struct Forward {
  RnnParams<T> p;
  const T* x = nullptr;
  const int32_t* lengths = nullptr;
  const T* h0 = nullptr;
  const T* c0 = nullptr;
  T *y = nullptr, *hN = nullptr, *cN = nullptr, *ws = nullptr;
};

template <typename T>
Forward<T> run_forward(Ops<T>& ops, Buffers<T>& buf, const RnnArgs& r, bool want_ws) {
  const size_t B = r.s.B, T_ = r.s.T, H = r.s.H;
  Forward<T> f;
  f.x = buf.floats(r.x);
  f.lengths = r.has_lengths ? buf.ints(r.lengths) : nullptr;
  f.h0 = r.has_h0 ? buf.floats(r.h0) : nullptr;
  f.c0 = r.has_c0 ? buf.floats(r.c0) : nullptr;
  f.p.w_ih = buf.floats(r.w_ih);
  f.p.w_hh = buf.floats(r.w_hh);
  f.p.b_ih = buf.floats(r.b_ih);
  f.p.b_hh = buf.floats(r.b_hh);
  f.p.peephole = r.s.peephole ? buf.floats(r.peep) : nullptr;
  f.y = r.y_init.empty() ? buf.written(B * T_ * r.ldy, r.poison) : buf.floats(r.y_init);
  f.hN = buf.written(B * H, r.poison);
  f.cN = r.s.cell == Cell::LSTM ? buf.written(B * H, r.poison) : nullptr;
  f.ws = want_ws ? buf.written(ops.rnn_workspace_elems(r.s), r.poison) : nullptr;
  ops.rnn_forward(r.s, f.x, f.lengths, f.h0, f.c0, f.p, f.y, r.ldy, f.hN, f.cN, f.ws);
  return f;
}

template <typename T>
void put_forward(Napi::Object out, Buffers<T>& buf, const RnnArgs& r, const Forward<T>& f) {
  const size_t B = r.s.B, T_ = r.s.T, H = r.s.H;
  Napi::Env env = out.Env();
  out.Set("y", to_js(env, buf.read(f.y, B * T_ * r.ldy)));
  out.Set("hN", to_js(env, buf.read(f.hN, B * H)));
  if (f.cN) out.Set("cN", to_js(env, buf.read(f.cN, B * H)));
}

struct ForwardFn {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    const RnnArgs r = parse(args);
    Ops<T>& ops = backend_arg<T>(args);
    Buffers<T> buf(ops);
    // Inference path (no workspace) unless asked, so both paths get exercised.
    const Forward<T> f = run_forward(ops, buf, r, flag(args, "withWorkspace"));
    Napi::Object out = Napi::Object::New(env);
    put_forward(out, buf, r, f);
    return out;
  }
};

struct BackwardFn {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    const RnnArgs r = parse(args);
    const size_t B = r.s.B, T_ = r.s.T, I = r.s.I, H = r.s.H;
    const size_t GH = gate_count(r.s.cell) * H;
    const bool lstm = r.s.cell == Cell::LSTM;
    // Parse the backward-only arguments before touching the backend.
    std::vector<double> dy, dhN, dcN, dx_init;
    if (present(args, "dy")) dy = f64(args, "dy", B * T_ * r.ldy);
    if (present(args, "dhN")) dhN = f64(args, "dhN", B * H);
    if (present(args, "dcN")) {
      if (!lstm) throw range(args, "args.dcN: only for cell 'lstm'");
      dcN = f64(args, "dcN", B * H);
    }
    if (present(args, "dxInit")) dx_init = f64(args, "dxInit", B * T_ * I);
    // Optional initial content of the parameter grads (the op accumulates into them).
    auto init = [&](const char* key, size_t n) {
      return present(args, key) ? f64(args, key, n) : std::vector<double>(n, 0.0);
    };
    const std::vector<double> gw_ih = init("dw_ihInit", GH * I), gw_hh = init("dw_hhInit", GH * H),
                              gb_ih = init("db_ihInit", GH), gb_hh = init("db_hhInit", GH);
    std::vector<double> gpeep;
    if (r.s.peephole) gpeep = init("dpeepholeInit", 3 * H);
    else if (present(args, "dpeepholeInit")) throw range(args, "args.dpeepholeInit given without args.peephole");

    Ops<T>& ops = backend_arg<T>(args);
    Buffers<T> buf(ops);
    const Forward<T> f = run_forward(ops, buf, r, true);

    const T* d_dy = dy.empty() ? nullptr : buf.floats(dy);
    const T* d_dhN = dhN.empty() ? nullptr : buf.floats(dhN);
    const T* d_dcN = dcN.empty() ? nullptr : buf.floats(dcN);
    T* dx = dx_init.empty() ? buf.zeros(B * T_ * I) : buf.floats(dx_init);
    T* dh0 = buf.written(B * H, poison_arg(args));
    T* dc0 = lstm ? buf.written(B * H, poison_arg(args)) : nullptr;
    RnnParamGrads<T> g;
    g.w_ih = buf.floats(gw_ih);
    g.w_hh = buf.floats(gw_hh);
    g.b_ih = buf.floats(gb_ih);
    g.b_hh = buf.floats(gb_hh);
    g.peephole = r.s.peephole ? buf.floats(gpeep) : nullptr;
    ops.rnn_backward(r.s, f.x, f.lengths, f.h0, f.c0, f.p, f.ws, d_dy, r.ldy, d_dhN, d_dcN, dx,
                     dh0, dc0, g);

    Napi::Object out = Napi::Object::New(env);
    put_forward(out, buf, r, f);
    out.Set("dx", to_js(env, buf.read(dx, B * T_ * I)));
    out.Set("dh0", to_js(env, buf.read(dh0, B * H)));
    if (dc0) out.Set("dc0", to_js(env, buf.read(dc0, B * H)));
    out.Set("dw_ih", to_js(env, buf.read(g.w_ih, GH * I)));
    out.Set("dw_hh", to_js(env, buf.read(g.w_hh, GH * H)));
    out.Set("db_ih", to_js(env, buf.read(g.b_ih, GH)));
    out.Set("db_hh", to_js(env, buf.read(g.b_hh, GH)));
    if (g.peephole) out.Set("dpeephole", to_js(env, buf.read(g.peephole, 3 * H)));
    return out;
  }
};

}  // namespace

void RegisterRnnHarness(Napi::Env env, Napi::Object ops) {
  ops.Set("rnnForward", guarded_function(env, "rnnForward", [](const Napi::CallbackInfo& info) {
            return dispatch(info, ForwardFn{});
          }));
  ops.Set("rnnBackward", guarded_function(env, "rnnBackward", [](const Napi::CallbackInfo& info) {
            return dispatch(info, BackwardFn{});
          }));
}

}  // namespace frnn::binding

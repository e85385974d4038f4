// `ops.<name>(dtype, args)` for every non-recurrent op of ops.h. Tensors are Float64Array
// (converted to the op's precision) and Int32Array; every size, index and range is validated
// here so a bad call throws a TypeError/RangeError naming the argument, never crashes.
//
//   copyRows        {rows, cols, src, lds, dst, ldd, accumulate?}             -> {dst}
//   denseForward    {N, I, O, act: 'linear'|'tanh', x, W, b?}                 -> {y}
//   denseBackward   {N, I, O, act, x, W, y, dy, dW?, db?, bias?=true, dx?=true}
//                   dW/db: initial values (accumulated into; zeros if absent)
//                                                     -> {dx, dW, db, dyPre} (dyPre: the clobbered dy)
//   embeddingForward  {N, V, E, tokens, table}                                -> {out}
//   embeddingBackward {N, V, E, tokens, dout, dtable?}                        -> {dtable}
//   oneHot          {N, V, tokens}                                            -> {out}
//   softmaxXent     {N, V, logits, targets, weights?, inPlace?}    -> {loss, dlogits, correct}
//   mse             {N, D, pred, target, weights?, inPlace?}                  -> {loss, dpred}
//   dropoutForward  {p, seed, offset, x}                                      -> {y}
//   dropoutBackward {p, seed, offset, dy}                                     -> {dx}
//   globalNormClip  {g, maxNorm}                                              -> {norm, scale}
//   adam            {params, grads, m, v, step, cfg?: {lr, beta1, beta2, eps, weightDecay,
//                    decoupled}, gradScale?}                                  -> {params, m, v}
//   sample          {B, V, logits, seed, offset, temperature?=1, topK?=0, topP?=1, greedy?}
//                                                                             -> {tokens}
//   sampledLogits   {N, D, S, x, Wt, bt, targets, samples, logExpected, sampleLogits}
//                   (targets/samples: ids >= 0, only compared)               -> {logits}
//   scaleRows       {N, D, scale, ldScale, a, out?, accumulate?}              -> {out}
//   attentionForward  {B, T, S, H, M, q, k, mem, lengths?}                   -> {alpha, context}
//   attentionBackward {B, T, S, H, M, q, k, mem, lengths?, dcontext, dq?, dmem?}
//                   (alpha from attentionForward, run first here; dq/dmem: initial values,
//                    accumulated into; zeros if absent)                       -> {dq, dk, dmem}
// seed/offset: non-negative integers up to 2^53. Optional `backend` (harness_util.h).
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "harness_util.h"
#include "harness.h"

namespace frnn::binding {
namespace {

using namespace frnn::harness;

Napi::RangeError range(const Napi::Env& env, const std::string& msg) {
  return Napi::RangeError::New(env, msg);
}

// A non-negative integer (or >= lo) size argument.
int dim(const Napi::Object& args, const char* key, int lo = 0) {
  if (!args.Has(key) || !args.Get(key).IsNumber())
    throw Napi::TypeError::New(args.Env(), std::string("args.") + key + " must be a number");
  const double v = args.Get(key).As<Napi::Number>().DoubleValue();
  if (!(v >= lo) || v > 2147483647.0 || v != std::floor(v))
    throw range(args.Env(), std::string("args.") + key + " must be an integer >= " + std::to_string(lo));
  return static_cast<int>(v);
}

// Element count of a product of dims, bounded so long indexing in the kernels cannot overflow.
size_t count(const Napi::Env& env, const char* what, std::initializer_list<int> dims) {
  double n = 1.0;
  for (int d : dims) n *= d;
  if (n > 4294967296.0) throw range(env, std::string(what) + " is too large");
  return static_cast<size_t>(n);
}

// Length of a Float64Array argument (then read with f64, which checks the type too).
size_t f64_len(const Napi::Object& args, const char* key) {
  const Napi::Value v = args.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(args.Env(), std::string("args.") + key + " must be a Float64Array");
  return v.As<Napi::Float64Array>().ElementLength();
}

std::vector<int32_t> tokens_arg(const Napi::Object& args, const char* key, size_t n, int V) {
  std::vector<int32_t> t = i32(args, key, n);
  for (size_t i = 0; i < n; ++i)
    if (t[i] < 0 || t[i] >= V)
      throw range(args.Env(), std::string("args.") + key + "[" + std::to_string(i) + "] = " +
                                  std::to_string(t[i]) + " is outside [0, " + std::to_string(V) + ")");
  return t;
}

Activation act_arg(const Napi::Object& args) {
  const Napi::Value v = args.Get("act");
  if (v.IsUndefined()) return Activation::Linear;
  if (!v.IsString()) throw Napi::TypeError::New(args.Env(), "args.act must be 'linear' or 'tanh'");
  const std::string s = v.As<Napi::String>();
  if (s == "linear") return Activation::Linear;
  if (s == "tanh") return Activation::Tanh;
  throw range(args.Env(), "args.act must be 'linear' or 'tanh', got '" + s + "'");
}

// ---- ops ----

struct CopyRows {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int rows = dim(args, "rows"), cols = dim(args, "cols");
    const int lds = dim(args, "lds"), ldd = dim(args, "ldd");
    if (lds < cols) throw range(env, "args.lds must be >= args.cols");
    if (ldd < cols) throw range(env, "args.ldd must be >= args.cols");
    const size_t ns = rows ? count(env, "src", {rows - 1, lds}) + cols : 0;
    const size_t nd = rows ? count(env, "dst", {rows - 1, ldd}) + cols : 0;
    Buffers<T> buf(ops);
    const T* src = buf.floats(f64(args, "src", ns));
    T* dst = buf.floats(f64(args, "dst", nd));
    ops.copy_rows(rows, cols, src, lds, dst, ldd, bool_or(args, "accumulate", "args", false));
    Napi::Object out = Napi::Object::New(env);
    out.Set("dst", to_js(env, buf.read(dst, nd)));
    return out;
  }
};

struct DenseForward {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), I = dim(args, "I"), O = dim(args, "O");
    const Activation act = act_arg(args);
    Buffers<T> buf(ops);
    const T* x = buf.floats(f64(args, "x", count(env, "x", {N, I})));
    const T* W = buf.floats(f64(args, "W", count(env, "W", {O, I})));
    const T* b = present(args, "b") ? buf.floats(f64(args, "b", O)) : nullptr;
    const size_t ny = count(env, "y", {N, O});
    T* y = buf.written(ny, poison_arg(args));
    ops.dense_forward(N, I, O, act, x, W, b, y);
    Napi::Object out = Napi::Object::New(env);
    out.Set("y", to_js(env, buf.read(y, ny)));
    return out;
  }
};

struct DenseBackward {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), I = dim(args, "I"), O = dim(args, "O");
    const Activation act = act_arg(args);
    const bool bias = bool_or(args, "bias", "args", true), want_dx = bool_or(args, "dx", "args", true);
    const size_t nx = count(env, "x", {N, I}), nw = count(env, "W", {O, I}), ny = count(env, "y", {N, O});
    Buffers<T> buf(ops);
    const T* x = buf.floats(f64(args, "x", nx));
    const T* W = buf.floats(f64(args, "W", nw));
    const T* y = buf.floats(f64(args, "y", ny));
    T* dy = buf.floats(f64(args, "dy", ny));
    T* dx = want_dx ? buf.written(nx, poison_arg(args)) : nullptr;
    T* dW = present(args, "dW") ? buf.floats(f64(args, "dW", nw)) : buf.zeros(nw);
    T* db = bias ? (present(args, "db") ? buf.floats(f64(args, "db", O)) : buf.zeros(O)) : nullptr;
    ops.dense_backward(N, I, O, act, x, W, y, dy, dx, dW, db);
    Napi::Object out = Napi::Object::New(env);
    if (dx) out.Set("dx", to_js(env, buf.read(dx, nx)));
    out.Set("dW", to_js(env, buf.read(dW, nw)));
    if (db) out.Set("db", to_js(env, buf.read(db, O)));
    out.Set("dyPre", to_js(env, buf.read(dy, ny)));
    return out;
  }
};

struct EmbeddingForward {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), V = dim(args, "V", 1), E = dim(args, "E");
    Buffers<T> buf(ops);
    const int32_t* tok = buf.ints(tokens_arg(args, "tokens", N, V));
    const T* table = buf.floats(f64(args, "table", count(env, "table", {V, E})));
    const size_t no = count(env, "out", {N, E});
    T* o = buf.written(no, poison_arg(args));
    ops.embedding_forward(N, V, E, tok, table, o);
    Napi::Object out = Napi::Object::New(env);
    out.Set("out", to_js(env, buf.read(o, no)));
    return out;
  }
};

struct EmbeddingBackward {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), V = dim(args, "V", 1), E = dim(args, "E");
    Buffers<T> buf(ops);
    const int32_t* tok = buf.ints(tokens_arg(args, "tokens", N, V));
    const T* dout = buf.floats(f64(args, "dout", count(env, "dout", {N, E})));
    const size_t nt = count(env, "table", {V, E});
    T* dtable = present(args, "dtable") ? buf.floats(f64(args, "dtable", nt)) : buf.zeros(nt);
    ops.embedding_backward(N, V, E, tok, dout, dtable);
    Napi::Object out = Napi::Object::New(env);
    out.Set("dtable", to_js(env, buf.read(dtable, nt)));
    return out;
  }
};

struct OneHot {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), V = dim(args, "V", 1);
    Buffers<T> buf(ops);
    const int32_t* tok = buf.ints(tokens_arg(args, "tokens", N, V));
    const size_t no = count(env, "out", {N, V});
    T* o = buf.written(no, poison_arg(args));
    ops.one_hot(N, V, tok, o);
    Napi::Object out = Napi::Object::New(env);
    out.Set("out", to_js(env, buf.read(o, no)));
    return out;
  }
};

struct SoftmaxXent {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), V = dim(args, "V", 1);
    const size_t nl = count(env, "logits", {N, V});
    Buffers<T> buf(ops);
    T* logits = buf.floats(f64(args, "logits", nl));
    const int32_t* tgt = buf.ints(tokens_arg(args, "targets", N, V));
    const T* w = present(args, "weights") ? buf.floats(f64(args, "weights", N)) : nullptr;
    T* scal = buf.written(2, poison_arg(args));
    T* d = bool_or(args, "inPlace", "args", false) ? logits : buf.written(nl, poison_arg(args));
    ops.softmax_xent(N, V, logits, tgt, w, scal, d, scal + 1);
    const std::vector<double> s = buf.read(scal, 2);
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", Napi::Number::New(env, s[0]));
    out.Set("correct", Napi::Number::New(env, s[1]));
    out.Set("dlogits", to_js(env, buf.read(d, nl)));
    return out;
  }
};

struct Mse {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), D = dim(args, "D");
    const size_t n = count(env, "pred", {N, D});
    Buffers<T> buf(ops);
    T* pred = buf.floats(f64(args, "pred", n));
    const T* target = buf.floats(f64(args, "target", n));
    const T* w = present(args, "weights") ? buf.floats(f64(args, "weights", N)) : nullptr;
    T* loss = buf.written(1, poison_arg(args));
    T* d = bool_or(args, "inPlace", "args", false) ? pred : buf.written(n, poison_arg(args));
    ops.mse(N, D, pred, target, w, loss, d);
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", Napi::Number::New(env, buf.read(loss, 1)[0]));
    out.Set("dpred", to_js(env, buf.read(d, n)));
    return out;
  }
};

double prob_arg(const Napi::Object& args) {
  const double p = num(args, "p");
  if (!(p >= 0.0 && p < 1.0)) throw Napi::RangeError::New(args.Env(), "args.p must be in [0, 1)");
  return p;
}

template <bool Backward>
struct Dropout {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const char* in_key = Backward ? "dy" : "x";
    const double p = prob_arg(args);
    const uint64_t seed = seed_at(args, "seed", "args"), offset = seed_at(args, "offset", "args");
    const size_t n = f64_len(args, in_key);
    Buffers<T> buf(ops);
    T* x = buf.floats(f64(args, in_key, n));
    T* y = bool_or(args, "inPlace", "args", false) ? x : buf.written(n, poison_arg(args));
    const uint64_t* offset_at = buf.value(offset);
    if (Backward)
      ops.dropout_backward(n, p, seed, offset_at, x, y);
    else
      ops.dropout_forward(n, p, seed, offset_at, x, y);
    Napi::Object out = Napi::Object::New(env);
    out.Set(Backward ? "dx" : "y", to_js(env, buf.read(y, n)));
    return out;
  }
};

struct GlobalNormClip {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const size_t n = f64_len(args, "g");
    const double max_norm = num(args, "maxNorm");
    if (std::isnan(max_norm)) throw range(env, "args.maxNorm must not be NaN");
    Buffers<T> buf(ops);
    const T* g = buf.floats(f64(args, "g", n));
    T* s = buf.written(2, poison_arg(args));
    ops.global_norm_clip(n, g, buf.value(max_norm), s, s + 1);
    const std::vector<double> r = buf.read(s, 2);
    Napi::Object out = Napi::Object::New(env);
    out.Set("norm", Napi::Number::New(env, r[0]));
    out.Set("scale", Napi::Number::New(env, r[1]));
    return out;
  }
};

struct Adam {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const size_t n = f64_len(args, "params");
    // A test that gives no cfg (or part of one) gets PyTorch's Adam for the rest.
    AdamConfig cfg;
    cfg.lr = 1e-3, cfg.beta1 = 0.9, cfg.beta2 = 0.999, cfg.eps = 1e-8, cfg.weight_decay = 0;
    if (present(args, "cfg")) {
      if (!args.Get("cfg").IsObject()) throw Napi::TypeError::New(env, "args.cfg must be an object");
      const Napi::Object c = args.Get("cfg").As<Napi::Object>();
      auto cnum = [&](const char* key, double fallback) { return number_or(c, key, "args.cfg", fallback); };
      cfg.lr = cnum("lr", cfg.lr);
      cfg.beta1 = cnum("beta1", cfg.beta1);
      cfg.beta2 = cnum("beta2", cfg.beta2);
      cfg.eps = cnum("eps", cfg.eps);
      cfg.weight_decay = cnum("weightDecay", cfg.weight_decay);
      cfg.decoupled = bool_or(c, "decoupled", "args.cfg", false);
    }
    if (!(cfg.beta1 >= 0 && cfg.beta1 < 1)) throw range(env, "args.cfg.beta1 must be in [0, 1)");
    if (!(cfg.beta2 >= 0 && cfg.beta2 < 1)) throw range(env, "args.cfg.beta2 must be in [0, 1)");
    if (!(cfg.lr >= 0)) throw range(env, "args.cfg.lr must be >= 0");
    if (!(cfg.eps >= 0)) throw range(env, "args.cfg.eps must be >= 0");
    if (!(cfg.weight_decay >= 0)) throw range(env, "args.cfg.weightDecay must be >= 0");
    const double stepd = num(args, "step");
    if (!(stepd >= 1) || stepd != std::floor(stepd) || stepd > 9007199254740992.0)
      throw range(env, "args.step must be an integer >= 1");
    Buffers<T> buf(ops);
    T* params = buf.floats(f64(args, "params", n));
    const T* grads = buf.floats(f64(args, "grads", n));
    T* m = buf.floats(f64(args, "m", n));
    T* v = buf.floats(f64(args, "v", n));
    // Non-finite is allowed: it is the skip signal global_norm_clip sends.
    T* gs = present(args, "gradScale") ? buf.floats({num(args, "gradScale")}) : nullptr;
    ops.adam(n, params, grads, m, v, buf.value(AdamStep{cfg, static_cast<int64_t>(stepd)}), gs);
    Napi::Object out = Napi::Object::New(env);
    out.Set("params", to_js(env, buf.read(params, n)));
    out.Set("m", to_js(env, buf.read(m, n)));
    out.Set("v", to_js(env, buf.read(v, n)));
    return out;
  }
};

struct Sample {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int B = dim(args, "B"), V = dim(args, "V", 1);
    SampleConfig cfg;
    cfg.temperature = num_or(args, "temperature", 1.0);
    if (!(cfg.temperature > 0) || !std::isfinite(cfg.temperature))
      throw range(env, "args.temperature must be a finite number > 0");
    if (present(args, "topK")) cfg.top_k = dim(args, "topK");
    cfg.top_p = num_or(args, "topP", 1.0);
    if (!(cfg.top_p > 0 && cfg.top_p <= 1)) throw range(env, "args.topP must be in (0, 1]");
    cfg.greedy = bool_or(args, "greedy", "args", false);
    const uint64_t seed = seed_at(args, "seed", "args"), offset = seed_at(args, "offset", "args");
    Buffers<T> buf(ops);
    const T* logits = buf.floats(f64(args, "logits", count(env, "logits", {B, V})));
    int32_t* tok = buf.ints(std::vector<int32_t>(static_cast<size_t>(B), 0));
    ops.sample(B, V, logits, cfg, seed, offset, tok);
    Napi::Object out = Napi::Object::New(env);
    out.Set("tokens", to_js(env, buf.read_ints(tok, B)));
    return out;
  }
};

struct SampledLogits {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), D = dim(args, "D"), S = dim(args, "S");
    Buffers<T> buf(ops);
    const T* x = buf.floats(f64(args, "x", count(env, "x", {N, D})));
    const T* Wt = buf.floats(f64(args, "Wt", count(env, "Wt", {N, D})));
    const T* bt = buf.floats(f64(args, "bt", N));
    const int32_t* targets = buf.ints(tokens_arg(args, "targets", N, 2147483647));
    const int32_t* samples = buf.ints(tokens_arg(args, "samples", S, 2147483647));
    const T* log_expected = buf.floats(f64(args, "logExpected", S));
    const T* sample_logits = buf.floats(f64(args, "sampleLogits", count(env, "sampleLogits", {N, S})));
    const size_t nl = count(env, "logits", {N, S + 1});
    T* logits = buf.written(nl, poison_arg(args));
    ops.sampled_logits(N, D, S, x, Wt, bt, targets, samples, log_expected, sample_logits, logits);
    Napi::Object out = Napi::Object::New(env);
    out.Set("logits", to_js(env, buf.read(logits, nl)));
    return out;
  }
};

struct ScaleRows {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    const int N = dim(args, "N"), D = dim(args, "D"), ld = dim(args, "ldScale", 1);
    const bool accumulate = bool_or(args, "accumulate", "args", false);
    Buffers<T> buf(ops);
    const T* scale = buf.floats(f64(args, "scale", N ? count(env, "scale", {N - 1, ld}) + 1 : 0));
    const size_t n = count(env, "a", {N, D});
    const T* a = buf.floats(f64(args, "a", n));
    T* o = present(args, "out") ? buf.floats(f64(args, "out", n)) : buf.written(n, poison_arg(args) && !accumulate);
    ops.scale_rows(N, D, scale, ld, a, o, accumulate);
    Napi::Object out = Napi::Object::New(env);
    out.Set("out", to_js(env, buf.read(o, n)));
    return out;
  }
};

// Shared by both attention ops: sizes, inputs and the optional lengths in [0, S].
template <typename T>
struct AttentionArgs {
  int B, T_, S, H, M;
  const T *q, *k, *mem;
  const int32_t* lengths;
  AttentionArgs(Napi::Env env, const Napi::Object& args, Buffers<T>& buf)
      : B(dim(args, "B")), T_(dim(args, "T")), S(dim(args, "S")), H(dim(args, "H")), M(dim(args, "M")) {
    q = buf.floats(f64(args, "q", count(env, "q", {B, T_, H})));
    k = buf.floats(f64(args, "k", count(env, "k", {B, S, H})));
    mem = buf.floats(f64(args, "mem", count(env, "mem", {B, S, M})));
    lengths = present(args, "lengths") ? buf.ints(tokens_arg(args, "lengths", B, S + 1)) : nullptr;
  }
};

struct AttentionForward {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    Buffers<T> buf(ops);
    const AttentionArgs<T> a(env, args, buf);
    const size_t na = count(env, "alpha", {a.B, a.T_, a.S}), nc = count(env, "context", {a.B, a.T_, a.M});
    T* alpha = buf.written(na, poison_arg(args));
    T* context = buf.written(nc, poison_arg(args));
    ops.attention_forward(a.B, a.T_, a.S, a.H, a.M, a.q, a.k, a.mem, a.lengths, alpha, context);
    Napi::Object out = Napi::Object::New(env);
    out.Set("alpha", to_js(env, buf.read(alpha, na)));
    out.Set("context", to_js(env, buf.read(context, nc)));
    return out;
  }
};

struct AttentionBackward {
  template <typename T>
  Napi::Value operator()(Napi::Env env, const Napi::Object& args) {
    Ops<T>& ops = backend_arg<T>(args);
    Buffers<T> buf(ops);
    const AttentionArgs<T> a(env, args, buf);
    const size_t na = count(env, "alpha", {a.B, a.T_, a.S}), nc = count(env, "context", {a.B, a.T_, a.M});
    const size_t nq = count(env, "q", {a.B, a.T_, a.H}), nk = count(env, "k", {a.B, a.S, a.H});
    const size_t nm = count(env, "mem", {a.B, a.S, a.M});
    const T* dcontext = buf.floats(f64(args, "dcontext", nc));
    T* alpha = buf.zeros(na);
    T* context = buf.zeros(nc);
    ops.attention_forward(a.B, a.T_, a.S, a.H, a.M, a.q, a.k, a.mem, a.lengths, alpha, context);
    T* dq = present(args, "dq") ? buf.floats(f64(args, "dq", nq)) : buf.zeros(nq);
    T* dk = buf.written(nk, poison_arg(args));
    T* dmem = present(args, "dmem") ? buf.floats(f64(args, "dmem", nm)) : buf.zeros(nm);
    ops.attention_backward(a.B, a.T_, a.S, a.H, a.M, a.q, a.k, a.mem, a.lengths, alpha, dcontext, dq, dk, dmem);
    Napi::Object out = Napi::Object::New(env);
    out.Set("dq", to_js(env, buf.read(dq, nq)));
    out.Set("dk", to_js(env, buf.read(dk, nk)));
    out.Set("dmem", to_js(env, buf.read(dmem, nm)));
    return out;
  }
};

template <typename Fn>
void add(Napi::Env env, Napi::Object ops, const char* name, Fn fn) {
  ops.Set(name, guarded_function(env, name, [fn](const Napi::CallbackInfo& info) { return dispatch(info, fn); }));
}

}  // namespace

void RegisterOpsHarness(Napi::Env env, Napi::Object ops) {
  add(env, ops, "copyRows", CopyRows{});
  add(env, ops, "denseForward", DenseForward{});
  add(env, ops, "denseBackward", DenseBackward{});
  add(env, ops, "embeddingForward", EmbeddingForward{});
  add(env, ops, "embeddingBackward", EmbeddingBackward{});
  add(env, ops, "oneHot", OneHot{});
  add(env, ops, "softmaxXent", SoftmaxXent{});
  add(env, ops, "mse", Mse{});
  add(env, ops, "dropoutForward", Dropout<false>{});
  add(env, ops, "dropoutBackward", Dropout<true>{});
  add(env, ops, "globalNormClip", GlobalNormClip{});
  add(env, ops, "adam", Adam{});
  add(env, ops, "sample", Sample{});
  add(env, ops, "sampledLogits", SampledLogits{});
  add(env, ops, "scaleRows", ScaleRows{});
  add(env, ops, "attentionForward", AttentionForward{});
  add(env, ops, "attentionBackward", AttentionBackward{});
}

}  // namespace frnn::binding

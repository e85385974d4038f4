// exports.init: the host initializers of native/init.h, each `init.<name>(args)` returning a
// Float64Array. seed/offset are non-negative integers up to 2^53 (offset defaults to 0).
//   uniform       {n, lo, hi, seed, offset?}
//   normal        {n, mean?=0, std?=1, seed, offset?}
//   glorotUniform {fanIn, fanOut, n?=fanIn*fanOut, gain?=1, seed, offset?}
//   orthogonal    {rows, cols, gain?=1, seed, offset?}   (one block; loop over gate blocks)
//   constant      {n, value}
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "../init.h"
#include "harness_util.h"
#include "registry.h"

namespace frnn::binding {
namespace {

using harness::has;

Napi::Object args_of(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray())
    throw Napi::TypeError::New(info.Env(), "expected (args: object)");
  return info[0].As<Napi::Object>();
}

double number(const Napi::Object& a, const char* key) {
  if (!a.Has(key) || !a.Get(key).IsNumber())
    throw Napi::TypeError::New(a.Env(), std::string("args.") + key + " must be a number");
  const double v = a.Get(key).As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) throw Napi::RangeError::New(a.Env(), std::string("args.") + key + " must be finite");
  return v;
}
double number_or(const Napi::Object& a, const char* key, double fallback) {
  return has(a, key) ? number(a, key) : fallback;
}
// Integer in [lo, hi].
double whole(const Napi::Object& a, const char* key, double lo, double hi) {
  const double v = number(a, key);
  if (v != std::floor(v) || v < lo || v > hi)
    throw Napi::RangeError::New(a.Env(), std::string("args.") + key + " must be an integer in [" +
                                             std::to_string(static_cast<long long>(lo)) + ", " +
                                             std::to_string(static_cast<long long>(hi)) + "]");
  return v;
}
constexpr double kMaxN = 268435456.0;  // 2^28 elements (2 GiB of doubles)
constexpr double k2p53 = 9007199254740992.0;

size_t count_arg(const Napi::Object& a, const char* key) {
  return static_cast<size_t>(whole(a, key, 0, kMaxN));
}
uint64_t seed_arg(const Napi::Object& a) { return static_cast<uint64_t>(whole(a, "seed", 0, k2p53)); }
uint64_t offset_arg(const Napi::Object& a) {
  return has(a, "offset") ? static_cast<uint64_t>(whole(a, "offset", 0, k2p53)) : 0;
}

Napi::Value out(Napi::Env env, const std::vector<double>& v) { return harness::to_js(env, v); }

Napi::Value Uniform(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const size_t n = count_arg(a, "n");
  const double lo = number(a, "lo"), hi = number(a, "hi");
  if (!(hi >= lo)) throw Napi::RangeError::New(info.Env(), "args.hi must be >= args.lo");
  std::vector<double> v(n);
  init::uniform(v.data(), n, lo, hi, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value Normal(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const size_t n = count_arg(a, "n");
  const double mean = number_or(a, "mean", 0.0), std = number_or(a, "std", 1.0);
  if (!(std >= 0)) throw Napi::RangeError::New(info.Env(), "args.std must be >= 0");
  std::vector<double> v(n);
  init::normal(v.data(), n, mean, std, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value GlorotUniform(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const double fi = whole(a, "fanIn", 0, kMaxN), fo = whole(a, "fanOut", 0, kMaxN);
  if (!(fi + fo > 0)) throw Napi::RangeError::New(info.Env(), "args.fanIn + args.fanOut must be > 0");
  const size_t n = has(a, "n") ? count_arg(a, "n") : static_cast<size_t>(fi * fo);
  if (n > kMaxN) throw Napi::RangeError::New(info.Env(), "args.fanIn * args.fanOut is too large");
  const double gain = number_or(a, "gain", 1.0);
  std::vector<double> v(n);
  init::glorot_uniform(v.data(), n, fi, fo, gain, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value Orthogonal(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const int rows = static_cast<int>(whole(a, "rows", 1, 16384));
  const int cols = static_cast<int>(whole(a, "cols", 1, 16384));
  if (static_cast<double>(rows) * cols > kMaxN) throw Napi::RangeError::New(info.Env(), "args.rows * args.cols is too large");
  const double gain = number_or(a, "gain", 1.0);
  std::vector<double> v(static_cast<size_t>(rows) * cols);
  init::orthogonal(v.data(), rows, cols, gain, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value Constant(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const size_t n = count_arg(a, "n");
  std::vector<double> v(n);
  init::constant(v.data(), n, number(a, "value"));
  return out(info.Env(), v);
}

void add(Napi::Env env, Napi::Object obj, const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
  obj.Set(name, guarded_function(env, name, fn));
}

}  // namespace

void RegisterInit(Napi::Env env, Napi::Object exports) {
  Napi::Object init = Napi::Object::New(env);
  add(env, init, "uniform", Uniform);
  add(env, init, "normal", Normal);
  add(env, init, "glorotUniform", GlorotUniform);
  add(env, init, "orthogonal", Orthogonal);
  add(env, init, "constant", Constant);
  exports.Set("init", init);
}

}  // namespace frnn::binding

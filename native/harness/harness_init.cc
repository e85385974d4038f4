// exports.init: the host initializers of native/init.h, each `init.<name>(args)` returning a
// Float64Array, for the tests (test addon only: the executor calls init.h itself, lib/ never does).
// seed/offset are non-negative integers up to 2^53 (offset defaults to 0).
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
#include "harness.h"

namespace frnn::binding {
namespace {

using harness::present;

Napi::Object args_of(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray())
    throw Napi::TypeError::New(info.Env(), "expected (args: object)");
  return info[0].As<Napi::Object>();
}

constexpr int kMaxN = 268435456;  // 2^28 elements (2 GiB of doubles)

size_t count_arg(const Napi::Object& a, const char* key) { return static_cast<size_t>(int_at(a, key, "args", 0, kMaxN)); }
uint64_t seed_arg(const Napi::Object& a) { return seed_at(a, "seed", "args"); }
uint64_t offset_arg(const Napi::Object& a) { return seed_or(a, "offset", "args", 0); }

Napi::Value out(Napi::Env env, const std::vector<double>& v) { return harness::to_js(env, v); }

Napi::Value Uniform(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const size_t n = count_arg(a, "n");
  const double lo = number_at(a, "lo", "args"), hi = number_at(a, "hi", "args");
  if (!(hi >= lo)) throw Napi::RangeError::New(info.Env(), "args.hi must be >= args.lo");
  std::vector<double> v(n);
  init::uniform(v.data(), n, lo, hi, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value Normal(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const size_t n = count_arg(a, "n");
  const double mean = number_or(a, "mean", "args", 0.0), std = number_or(a, "std", "args", 1.0);
  if (!(std >= 0)) throw Napi::RangeError::New(info.Env(), "args.std must be >= 0");
  std::vector<double> v(n);
  init::normal(v.data(), n, mean, std, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value GlorotUniform(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const double fi = int_at(a, "fanIn", "args", 0, kMaxN), fo = int_at(a, "fanOut", "args", 0, kMaxN);
  if (!(fi + fo > 0)) throw Napi::RangeError::New(info.Env(), "args.fanIn + args.fanOut must be > 0");
  const size_t n = present(a, "n") ? count_arg(a, "n") : static_cast<size_t>(fi * fo);
  if (n > kMaxN) throw Napi::RangeError::New(info.Env(), "args.fanIn * args.fanOut is too large");
  const double gain = number_or(a, "gain", "args", 1.0);
  std::vector<double> v(n);
  init::glorot_uniform(v.data(), n, fi, fo, gain, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value Orthogonal(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const int rows = int_at(a, "rows", "args", 1, 16384);
  const int cols = int_at(a, "cols", "args", 1, 16384);
  if (static_cast<double>(rows) * cols > kMaxN) throw Napi::RangeError::New(info.Env(), "args.rows * args.cols is too large");
  const double gain = number_or(a, "gain", "args", 1.0);
  std::vector<double> v(static_cast<size_t>(rows) * cols);
  init::orthogonal(v.data(), rows, cols, gain, seed_arg(a), offset_arg(a));
  return out(info.Env(), v);
}

Napi::Value Constant(const Napi::CallbackInfo& info) {
  const Napi::Object a = args_of(info);
  const size_t n = count_arg(a, "n");
  std::vector<double> v(n);
  init::constant(v.data(), n, number_at(a, "value", "args"));
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

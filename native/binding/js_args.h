// Reading plain JS objects into native structs. Every failure is a TypeError/RangeError whose
// message names the field (`where` is the path shown to the user, e.g. "config.layers[1]").
// The *_at readers take a field that must be there: a missing one is a TypeError "... is
// required". lib/ fills in every default, so the model binding reads only those; the *_or readers
// serve the op harness's test conveniences.
#pragma once

#include <napi.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

namespace frnn::binding {

inline std::string field(const std::string& where, const char* key) { return where + "." + key; }

inline bool present(const Napi::Object& o, const char* key) {
  if (!o.Has(key)) return false;
  const Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

// The field's value; undefined (absent) is a TypeError naming it.
inline Napi::Value required(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) throw Napi::TypeError::New(o.Env(), field(where, key) + " is required");
  return v;
}

inline Napi::Object object_at(const Napi::Object& o, const char* key, const std::string& where) {
  const Napi::Value v = required(o, key, where);
  if (!v.IsObject()) throw Napi::TypeError::New(o.Env(), field(where, key) + " must be an object");
  return v.As<Napi::Object>();
}

inline double number_at(const Napi::Object& o, const char* key, const std::string& where) {
  const Napi::Value v = required(o, key, where);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), field(where, key) + " must be a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x)) throw Napi::RangeError::New(o.Env(), field(where, key) + " must be finite");
  return x;
}
inline double number_or(const Napi::Object& o, const char* key, const std::string& where, double fallback) {
  return present(o, key) ? number_at(o, key, where) : fallback;
}

inline int int_at(const Napi::Object& o, const char* key, const std::string& where, int lo, int hi) {
  const double x = number_at(o, key, where);
  if (x != std::floor(x) || x < lo || x > hi)
    throw Napi::RangeError::New(o.Env(), field(where, key) + " must be an integer in [" + std::to_string(lo) + ", " +
                                             std::to_string(hi) + "], got " + std::to_string(x));
  return static_cast<int>(x);
}
inline int int_or(const Napi::Object& o, const char* key, const std::string& where, int lo, int hi, int fallback) {
  return present(o, key) ? int_at(o, key, where, lo, hi) : fallback;
}

// A seed or counter: an integer in [0, 2^53), exact in a JS number.
inline uint64_t seed_at(const Napi::Object& o, const char* key, const std::string& where) {
  const double x = number_at(o, key, where);
  if (x != std::floor(x) || x < 0 || x >= 9007199254740992.0)
    throw Napi::RangeError::New(o.Env(), field(where, key) + " must be an integer in [0, 2^53)");
  return static_cast<uint64_t>(x);
}
inline uint64_t seed_or(const Napi::Object& o, const char* key, const std::string& where, uint64_t fallback) {
  return present(o, key) ? seed_at(o, key, where) : fallback;
}

inline bool bool_at(const Napi::Object& o, const char* key, const std::string& where) {
  const Napi::Value v = required(o, key, where);
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), field(where, key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}
inline bool bool_or(const Napi::Object& o, const char* key, const std::string& where, bool fallback) {
  return present(o, key) ? bool_at(o, key, where) : fallback;
}

inline std::string string_at(const Napi::Object& o, const char* key, const std::string& where) {
  const Napi::Value v = required(o, key, where);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), field(where, key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// One of `choices` (a closed set such as a loss or a cell: a list or an array of names), as its index.
template <typename Choices>
size_t choice_at(const Napi::Object& o, const char* key, const std::string& where, const Choices& choices) {
  const std::string s = string_at(o, key, where);
  size_t i = 0;
  std::string list;
  for (const char* c : choices) {
    if (s == c) return i;
    list += (i++ == 0 ? "'" : ", '") + std::string(c) + "'";
  }
  throw Napi::RangeError::New(o.Env(), field(where, key) + " must be one of " + list + ", got '" + s + "'");
}
inline size_t choice_at(const Napi::Object& o, const char* key, const std::string& where,
                        std::initializer_list<const char*> choices) {
  return choice_at<std::initializer_list<const char*>>(o, key, where, choices);
}

// An Int32Array, copied.
inline std::vector<int32_t> int32s(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(v.Env(), what + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

// A Float32Array or Float64Array, copied as doubles.
inline std::vector<double> floats(const Napi::Value& v, const std::string& what) {
  if (v.IsTypedArray()) {
    const auto kind = v.As<Napi::TypedArray>().TypedArrayType();
    if (kind == napi_float32_array) {
      auto a = v.As<Napi::Float32Array>();
      return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
    }
    if (kind == napi_float64_array) {
      auto a = v.As<Napi::Float64Array>();
      return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
    }
  }
  throw Napi::TypeError::New(v.Env(), what + " must be a Float32Array or Float64Array");
}

}  // namespace frnn::binding

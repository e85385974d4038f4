// Native exceptions must never escape into Node-API (node-addon-api lets only Napi::Error
// through; anything else aborts the process). These helpers turn them into JS errors:
// ArgumentError -> TypeError / RangeError by kind; InternalError (its message says it is a bug
// in fusedrnn), out-of-memory and the rest -> Error.
#pragma once

#include <napi.h>

#include <functional>
#include <new>
#include <string>

#include "../errors.h"

namespace frnn::binding {

// An exception caught (possibly off the main thread), kept with its JS error kind until it can
// be thrown or rejected on the main thread.
struct Failure {
  enum class Kind { None, Type, Range, Plain } kind = Kind::None;
  std::string message;

  // Runs work; a JS error (argument parsing on the main thread) passes through unchanged.
  void capture(const std::function<void()>& work) {
    try {
      work();
    } catch (const ArgumentError& e) {
      kind = e.kind() == ArgumentError::Kind::Type ? Kind::Type : Kind::Range;
      message = e.what();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      kind = Kind::Plain;
      message = "out of memory";
    } catch (const std::exception& e) {
      kind = Kind::Plain;
      message = e.what();
    }
  }
  bool failed() const { return kind != Kind::None; }
  Napi::Error to_js(Napi::Env env) const {
    if (kind == Kind::Type) return Napi::TypeError::New(env, message);
    if (kind == Kind::Range) return Napi::RangeError::New(env, message);
    return Napi::Error::New(env, message);
  }
};

// Runs f on the main thread and returns its value, throwing any native failure as a JS error.
template <typename F>
auto guard(Napi::Env env, F&& f) -> decltype(f()) {
  Failure failure;
  if constexpr (std::is_void_v<decltype(f())>) {
    failure.capture([&] { f(); });
    if (failure.failed()) throw failure.to_js(env);
  } else {
    decltype(f()) out{};
    failure.capture([&] { out = f(); });
    if (failure.failed()) throw failure.to_js(env);
    return out;
  }
}

// A JS function whose body runs under guard().
template <typename Body>
Napi::Function guarded_function(Napi::Env env, const char* name, Body body) {
  return Napi::Function::New(
      env, [body](const Napi::CallbackInfo& info) -> Napi::Value { return guard(info.Env(), [&] { return body(info); }); },
      name);
}

}  // namespace frnn::binding

// Work on libuv's thread pool that settles a Promise: the model binding's async calls.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "js_errors.h"
#include "model_thread.h"

namespace frnn::binding {

// Builds the resolved value on the main thread once the work has succeeded.
using Result = std::function<Napi::Value(Napi::Env)>;

// Runs `work` on the thread pool (or, given `thread`, on that thread while a pool thread waits)
// and settles a Promise with `result` (or the failure). `owner` (a model's JS object, or empty)
// stays referenced until the Promise settles, so `done` may use the model's wrapper.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, Napi::Object owner, std::function<void()> work, Result result, std::function<void()> done,
                std::shared_ptr<ModelThread> thread = nullptr)
      : Napi::AsyncWorker(env, "fusedrnn"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)),
        done_(std::move(done)),
        thread_(std::move(thread)) {
    if (!owner.IsEmpty()) owner_ = Napi::Persistent(owner);
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (!thread_) return failure_.capture(work_);
    failure_.capture([this] { thread_->run([this] { failure_.capture(work_); }); });  // the outer: a failed start
  }
  void OnOK() override {
    done_();
    Napi::HandleScope scope(Env());
    if (failure_.failed()) {
      deferred_.Reject(failure_.to_js(Env()).Value());
      return;
    }
    try {
      deferred_.Resolve(result_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;
  std::function<void()> work_;
  Result result_;
  std::function<void()> done_;
  std::shared_ptr<ModelThread> thread_;
  Failure failure_;
};

}  // namespace frnn::binding

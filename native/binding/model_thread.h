// A CPU model's own thread for its async calls. libuv hands successive calls to whichever of its
// pool threads is free, and the scheduler often woke that one on the core where the CPU pool's
// worker was still spinning from the last call: the two shared a core until the scheduler moved
// one (W5 on 2 cores: 0.9 ms a step synchronous, 1.5 ms async). A thread that lives as long as
// the model stays where the scheduler settled it. The libuv thread that queued a call waits for
// it (asleep), so the Promise machinery is unchanged; the model's calls already run one at a time.
#pragma once

#include <pthread.h>

#include <functional>
#include <thread>

#include "../alloc_fault.h"

namespace frnn::binding {

class ModelThread {
 public:
  ModelThread() = default;
  ModelThread(const ModelThread&) = delete;
  ModelThread& operator=(const ModelThread&) = delete;
  // Joins the thread (started only by a first run()); never called while a run() is waiting.
  ~ModelThread() {
    if (!thread_.joinable()) return;
    pthread_mutex_lock(&mutex_);
    stop_ = true;
    pthread_cond_broadcast(&wake_);
    pthread_mutex_unlock(&mutex_);
    thread_.join();
  }

  // Runs work (which must not throw) on the model's thread and returns when it is done. Starts
  // the thread on the first call; a thread the system cannot give throws here (std::system_error,
  // or the injected std::bad_alloc), before any work and with nothing locked: the call fails
  // cleanly and the next one tries again.
  void run(const std::function<void()>& work) {
    if (!thread_.joinable()) {
      maybe_inject_thread_start_failure();
      thread_ = std::thread([this] { loop(); });
    }
    pthread_mutex_lock(&mutex_);
    work_ = &work;
    done_ = false;
    pthread_cond_broadcast(&wake_);
    while (!done_) pthread_cond_wait(&wake_, &mutex_);
    pthread_mutex_unlock(&mutex_);
  }

 private:
  void loop() {
    pthread_mutex_lock(&mutex_);
    for (;;) {
      while (!work_ && !stop_) pthread_cond_wait(&wake_, &mutex_);
      if (!work_) break;
      const std::function<void()>* work = work_;
      pthread_mutex_unlock(&mutex_);
      (*work)();
      pthread_mutex_lock(&mutex_);
      work_ = nullptr;
      done_ = true;
      pthread_cond_broadcast(&wake_);
    }
    pthread_mutex_unlock(&mutex_);
  }

  // pthread rather than std::condition_variable: the latter's wait() needs a newer C++ runtime
  // (GLIBCXX_3.4.30) than the portable prebuild may require (scripts/prebuild.sh).
  pthread_mutex_t mutex_ = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t wake_ = PTHREAD_COND_INITIALIZER;
  const std::function<void()>* work_ = nullptr;
  bool done_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace frnn::binding

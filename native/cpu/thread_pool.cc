// Workers wait on a condition variable after a short spin: a recurrent step's GEMM is tens of
// microseconds, so a wake-up through the kernel on every step would cost as much as the work.
// A worker joins a call only while the call is open (gate_): once the caller has run out of
// tasks it closes the call and waits only for the workers inside, never for one still waking
// up (an asleep worker took up to ~1.5 ms to wake, and every call after an idle spell waited).
// Task i goes first to thread i % threads (the caller is thread 0), so a product split the same
// way every step finds its slice of the weights in that core's own L2; a thread that finishes
// its own share steals what is left, so a descheduled worker only slows, never stalls, a call.
// A gang (run_gang) is the exception: its members wait for one another, so none steals, and the
// caller keeps the call open until every member has started.
#include "thread_pool.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <mutex>
#include <thread>

#include "../alloc_fault.h"

namespace frnn::cpu {
namespace {

int detect_threads() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
  if (const char* env = std::getenv("FUSEDRNN_CPU_THREADS")) {
    const int cap = std::atoi(env);
    if (cap >= 1 && cap < n) n = cap;
  }
  if (n < 1) n = 1;
  return n > 64 ? 64 : n;
}

// The workers live as long as the process, but Node unloads an addon when the last environment
// that loaded it ends (a worker thread's, under vitest's thread pool): their code would be
// unmapped under them (a SIGSEGV at exit). Before the first worker starts, this library asks
// never to be unloaded.
void keep_this_library_loaded() {
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&keep_this_library_loaded), &self) != 0 && self.dli_fname != nullptr)
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

class Pool {
 public:
  // As many workers as the system gives, up to threads - 1: where it refuses one, the pool runs
  // with those started (the threads count is fixed before the first call reaches them).
  explicit Pool(int threads) {
    if (threads > 1) keep_this_library_loaded();
    for (int w = 1; w < threads; ++w) {
      try {
        maybe_inject_thread_start_failure();
        std::thread([this, w] { work_loop(w); }).detach();
      } catch (const std::exception&) {
        break;
      }
      threads_ = w + 1;
    }
  }
  int threads() const { return threads_; }

  void run(int tasks, void (*fn)(void*, int), void* ctx) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::defer_lock);
    if (threads_ == 1 || tasks == 1 || calling() || !busy.try_lock()) {
      for (int i = 0; i < tasks; ++i) fn(ctx, i);
      return;
    }
    const CallingScope calling_now;
    open_call(tasks, fn, ctx, false);
    drain(0);
    close_call();
  }

  bool run_gang(int members, void (*fn)(void*, int), void* ctx) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::defer_lock);
    if (members < 2 || members > threads_ || calling() || !busy.try_lock()) return false;
    const CallingScope calling_now;
    open_call(members, fn, ctx, true);
    run_task(0);
    // A member still waking up must find the call open: the others may be waiting for it.
    for (int i = 1; i < members; ++i)
      while (!claimed_[i].load(std::memory_order_acquire)) std::this_thread::yield();
    close_call();
    return true;
  }

  bool failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  // Whether this thread is the caller of a running call: a call it makes from inside one (a gang
  // member's own products) runs serially, without trying the lock it holds.
  static bool& calling() {
    thread_local bool inside = false;
    return inside;
  }
  struct CallingScope {
    CallingScope() { calling() = true; }
    ~CallingScope() { calling() = false; }
  };

  void open_call(int tasks, void (*fn)(void*, int), void* ctx, bool gang) {
    pthread_mutex_lock(&wake_mutex_);
    fn_ = fn, ctx_ = ctx, tasks_ = tasks, gang_ = gang;
    failed_.store(false, std::memory_order_relaxed);
    const int tracked = tasks < kTracked ? tasks : kTracked;
    for (int i = 0; i < tracked; ++i) claimed_[i].store(false, std::memory_order_relaxed);
    next_.store(tracked, std::memory_order_relaxed);
    const unsigned gen = generation_.load(std::memory_order_relaxed) + 1;
    gate_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);  // open, nobody inside
    generation_.store(gen, std::memory_order_release);
    pthread_cond_broadcast(&wake_);
    pthread_mutex_unlock(&wake_mutex_);
  }
  // No task left: close the call, then wait for the workers inside to finish theirs (they are
  // a moment behind: spin, no syscall, up to ~20 us, then yield the core, which on an
  // oversubscribed machine a worker may be waiting for). Then rethrow the call's failure.
  void close_call() {
    gate_.fetch_or(kClosed, std::memory_order_acq_rel);
    const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    bool spinning = true;
    for (int spin = 0; (gate_.load(std::memory_order_acquire) & kInsideMask) != 0; ++spin) {
      if (spinning && (spin & 63) == 63) spinning = std::chrono::steady_clock::now() < spin_until;
      if (spinning) cpu_relax();
      else std::this_thread::yield();
    }
    if (failed_.load(std::memory_order_acquire)) {
      if (out_of_memory_) throw std::bad_alloc();
      throw std::runtime_error(failure_message_);
    }
  }

  static constexpr int kTracked = 256;  // tasks beyond these are dealt from one counter
  // gate_: the call's generation (high 32 bits), closed (bit 31), workers inside (low bits).
  static constexpr uint64_t kClosed = uint64_t{1} << 31, kInsideMask = kClosed - 1;

  // Joins call `gen` if it is still open.
  bool enter(unsigned gen) {
    uint64_t v = gate_.load(std::memory_order_acquire);
    while ((v >> 32) == gen && (v & kClosed) == 0)
      if (gate_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    return false;
  }

  bool claim(int i) {
    return !claimed_[i].load(std::memory_order_relaxed) &&
           !claimed_[i].exchange(true, std::memory_order_acq_rel);
  }
  // Runs task i. What it throws (a failed allocation) is kept, the call's first, for the caller
  // to rethrow once every thread has left the call: escaping a worker it would end the process,
  // and leaving the caller early it would free the tasks' context while workers still use it.
  void run_task(int i) {
    try {
      maybe_inject_task_failure();
      fn_(ctx_, i);
    } catch (const std::bad_alloc&) {
      record_failure(true, "");
    } catch (const std::exception& e) {
      record_failure(false, e.what());
    } catch (...) {
      record_failure(false, "a CPU kernel task failed");
    }
  }
  // Kept as a kind and a message, not a std::exception_ptr: copying one needs a newer C++ runtime
  // (CXXABI_1.3.13) than the portable prebuild may require (scripts/prebuild.sh).
  void record_failure(bool out_of_memory, const char* message) {
    if (failed_.exchange(true, std::memory_order_acq_rel)) return;
    out_of_memory_ = out_of_memory;
    std::strncpy(failure_message_, message, sizeof failure_message_ - 1);
    failure_message_[sizeof failure_message_ - 1] = '\0';
  }
  // Own tasks (self, self + threads, ...) first, then any left by the others, then the untracked.
  // A gang member runs its own task only (the others may be waiting for it to reach them).
  void drain(int self) {
    if (gang_) {
      if (self < tasks_ && claim(self)) run_task(self);
      return;
    }
    const int tracked = tasks_ < kTracked ? tasks_ : kTracked;
    for (int i = self; i < tracked; i += threads_)
      if (claim(i)) run_task(i);
    for (int i = 0; i < tracked; ++i)
      if (claim(i)) run_task(i);
    for (int i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < tasks_;) run_task(i);
  }
  void work_loop(int self) {
    unsigned seen = 0;
    for (;;) {
      unsigned gen = generation_.load(std::memory_order_acquire);
      // Spin on the CPU (pause, no syscall) for ~50 us: steps of a sequence follow each other
      // that closely; only then fall back to yielding and finally sleeping.
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      for (int spin = 0; gen == seen; ++spin) {
        if ((spin & 63) == 63 && std::chrono::steady_clock::now() > spin_until) break;
        cpu_relax();
        gen = generation_.load(std::memory_order_acquire);
      }
      for (int spin = 0; gen == seen && spin < 20000; ++spin) {
        std::this_thread::yield();
        gen = generation_.load(std::memory_order_acquire);
      }
      if (gen == seen) {
        pthread_mutex_lock(&wake_mutex_);
        while (generation_.load(std::memory_order_acquire) == seen) pthread_cond_wait(&wake_, &wake_mutex_);
        pthread_mutex_unlock(&wake_mutex_);
        gen = generation_.load(std::memory_order_acquire);
      }
      seen = gen;
      if (!enter(gen)) continue;  // that call is over: wait for the next
      drain(self);
      gate_.fetch_sub(1, std::memory_order_release);
    }
  }

 public:
  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }

 private:
  int threads_ = 1;
  std::mutex run_mutex_;
  // pthread rather than std::condition_variable: the latter's wait() needs GLIBCXX_3.4.30, newer
  // than the portable prebuild may require (scripts/prebuild.sh checks).
  pthread_mutex_t wake_mutex_ = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t wake_ = PTHREAD_COND_INITIALIZER;
  std::atomic<unsigned> generation_{0};
  std::atomic<uint64_t> gate_{0};
  std::atomic<int> next_{0};
  std::atomic<bool> claimed_[kTracked];
  // The call's first failure: written by the thread that set failed_, read by the caller after all left.
  std::atomic<bool> failed_{false};
  bool out_of_memory_ = false;
  char failure_message_[256] = {};
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  int tasks_ = 0;
  bool gang_ = false;
};

Pool& pool() {
  static Pool* p = new Pool(detect_threads());  // leaked on purpose: workers outlive statics
  return *p;
}

}  // namespace

int pool_threads() { return pool().threads(); }

void parallel_for(int tasks, void (*fn)(void*, int), void* ctx) {
  if (tasks <= 0) return;
  pool().run(tasks, fn, ctx);
}

bool run_gang(int members, void (*fn)(void*, int), void* ctx) { return pool().run_gang(members, fn, ctx); }

bool gang_wait(bool (*ready)(const void*), const void* ctx) {
  const Pool& p = pool();
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  bool spinning = true;
  for (int spin = 0;; ++spin) {
    if (ready(ctx)) return true;
    if (p.failed()) return false;
    if (spinning && (spin & 63) == 63) spinning = std::chrono::steady_clock::now() < spin_until;
    if (spinning) Pool::cpu_relax();
    else std::this_thread::yield();
  }
}

bool GangBarrier::wait() {
  if (members_ == 1) return true;
  const unsigned phase = phase_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == members_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    phase_.store(phase + 1, std::memory_order_release);
    return !pool().failed();
  }
  return gang_wait([&] { return phase_.load(std::memory_order_acquire) != phase; });
}

}  // namespace frnn::cpu

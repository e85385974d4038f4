// Test-only allocation-failure injection, as SQLite tests its out-of-memory paths: armed with N,
// the N-th allocation from then on through the project's allocation points (Ops::alloc on every
// backend, the CPU scratch arenas, the CUDA scratch buffer) throws std::bad_alloc, once. Tests
// arm N = 1, 2, 3 ... until a call succeeds and check that each failure left the model as it was.
// Unarmed (0, the default), the check is one relaxed load.
#pragma once

#include <atomic>
#include <new>

namespace frnn {

// Counts one event down on an armed countdown; throws std::bad_alloc at the one that reaches 0.
// Events may come from several threads at once: it counts only while armed, so it stops at 0.
inline void count_down_to_failure(std::atomic<long>& n) {
  long left = n.load(std::memory_order_relaxed);
  while (left > 0)
    if (n.compare_exchange_weak(left, left - 1)) {
      if (left == 1) throw std::bad_alloc();
      return;
    }
}

inline std::atomic<long>& injected_alloc_countdown() {
  static std::atomic<long> countdown{0};
  return countdown;
}

// Called by each allocation point before it allocates.
inline void maybe_inject_alloc_failure() { count_down_to_failure(injected_alloc_countdown()); }

// The same for the CPU pool (thread_pool.cc): armed with N, the N-th task run inside a parallel
// region (two or more tasks on two or more threads) throws std::bad_alloc, once, on whichever
// thread runs it: a worker's failure reaching the caller is tested without a worker allocating.
inline std::atomic<long>& injected_task_countdown() {
  static std::atomic<long> countdown{0};
  return countdown;
}

inline void maybe_inject_task_failure() { count_down_to_failure(injected_task_countdown()); }

// The same for the threads the project starts (the CPU pool's workers, a CPU model's own thread):
// the N-th start from now fails as if the system had no thread to give.
inline std::atomic<long>& injected_thread_start_countdown() {
  static std::atomic<long> countdown{0};
  return countdown;
}

inline void maybe_inject_thread_start_failure() { count_down_to_failure(injected_thread_start_countdown()); }

}  // namespace frnn

// Test-only allocation-failure injection, as SQLite tests its out-of-memory paths: armed with N,
// the N-th allocation from then on through the project's allocation points (Ops::alloc on every
// backend, the CPU scratch arenas, the CUDA scratch buffer) throws std::bad_alloc, once. Tests
// arm N = 1, 2, 3 ... until a call succeeds and check that each failure left the model as it was.
// Unarmed (0, the default), the check is one relaxed load.
#pragma once

#include <atomic>
#include <new>

namespace frnn {

inline std::atomic<long>& injected_alloc_countdown() {
  static std::atomic<long> countdown{0};
  return countdown;
}

// Called by each allocation point before it allocates.
inline void maybe_inject_alloc_failure() {
  std::atomic<long>& n = injected_alloc_countdown();
  if (n.load(std::memory_order_relaxed) <= 0) return;
  if (n.fetch_sub(1) == 1) throw std::bad_alloc();
}

// The same for the CPU pool (thread_pool.cc): armed with N, the N-th task run inside a parallel
// region (two or more tasks on two or more threads) throws std::bad_alloc, once, on whichever
// thread runs it: a worker's failure reaching the caller is tested without a worker allocating.
inline std::atomic<long>& injected_task_countdown() {
  static std::atomic<long> countdown{0};
  return countdown;
}

inline void maybe_inject_task_failure() {
  std::atomic<long>& n = injected_task_countdown();
  long left = n.load(std::memory_order_relaxed);
  // Tasks run on several threads at once: count down only while armed, so it stops at 0.
  while (left > 0)
    if (n.compare_exchange_weak(left, left - 1)) {
      if (left == 1) throw std::bad_alloc();
      return;
    }
}

}  // namespace frnn

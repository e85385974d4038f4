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

}  // namespace frnn

// The recurrent kernels' scratch buffers (rnn_support.h's scratch()), grown to the largest
// request and then reused, so a step allocates nothing once warm. A model's CPU ops own an arena
// and lend it to the kernels for each call (ScratchScope): the buffers stay with the model
// whichever libuv thread runs the call (a per-thread cache kept one copy per thread that had
// ever run it, ~250 MB extra for W2). Calls with no lent arena (the op harness, pool workers)
// use their thread's own.
#pragma once

#include <cstddef>
#include <vector>

namespace frnn::cpu {

enum ScratchSlot { kState, kCell, kStepProduct, kResetH, kGradPre, kGradPreH, kGradH, kGradC,
                   kStepGrad, kGradHp, kGradRH, kTemp, kPackedW0, kPackedW1, kGemmPackedA, kGemmPackedB,
                   kSlotCount };

struct ScratchArena {
  std::vector<float> f32[kSlotCount];
  std::vector<double> f64[kSlotCount];

  template <typename F>
  std::vector<F>& slot(ScratchSlot s) {
    if constexpr (sizeof(F) == sizeof(float)) return f32[s];
    else return f64[s];
  }
  size_t bytes() const {
    size_t n = 0;
    for (int s = 0; s < kSlotCount; ++s) n += f32[s].capacity() * sizeof(float) + f64[s].capacity() * sizeof(double);
    return n;
  }
};

// The arena lent to the calling thread (nullptr: none).
inline ScratchArena*& lent_arena() {
  thread_local ScratchArena* lent = nullptr;
  return lent;
}

// The arena the calling thread's kernels use now: the lent one, else the thread's own.
inline ScratchArena& active_arena() {
  thread_local ScratchArena own;
  ScratchArena* lent = lent_arena();
  return lent ? *lent : own;
}

// Lends `arena` to the calling thread's kernels for this scope.
class ScratchScope {
 public:
  explicit ScratchScope(ScratchArena& arena) : previous_(lent_arena()) { lent_arena() = &arena; }
  ~ScratchScope() { lent_arena() = previous_; }
  ScratchScope(const ScratchScope&) = delete;
  ScratchScope& operator=(const ScratchScope&) = delete;

 private:
  ScratchArena* previous_;
};

}  // namespace frnn::cpu

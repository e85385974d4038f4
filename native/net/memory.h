#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../ops.h"

namespace frnn {

// Backend memory for one Network, released with it; `live` counts the bytes held. A counting
// Memory allocates nothing and hands out null pointers: running an allocation plan through one
// measures it (activation_bytes) with the same code that performs it.
template <typename Real>
class Memory {
 public:
  enum class Mode { Allocate, Count };
  Memory(Ops<Real>& ops, size_t& live, Mode mode = Mode::Allocate) : ops_(ops), live_(live), mode_(mode) {}
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  ~Memory() {
    for (void* p : owned_) ops_.release(p);
    live_ -= held_;
  }
  Real* floats(size_t n) { return static_cast<Real*>(bytes(n * sizeof(Real))); }
  int32_t* ints(size_t n) { return static_cast<int32_t*>(bytes(n * sizeof(int32_t))); }
  size_t held() const { return held_; }

 private:
  void* bytes(size_t n) {
    if (mode_ == Mode::Count) {
      held_ += n;
      live_ += n;
      return nullptr;
    }
    owned_.reserve(owned_.size() + 1);  // so that recording the block cannot fail after it exists
    void* p = ops_.alloc(n);
    owned_.push_back(p);
    held_ += n;
    live_ += n;
    return p;
  }
  Ops<Real>& ops_;
  size_t& live_;
  const Mode mode_;
  size_t held_ = 0;
  std::vector<void*> owned_;
};

}  // namespace frnn

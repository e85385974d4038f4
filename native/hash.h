// FNV-1a, 64-bit: a small, stable hash for cache keys (a training step's capture key).
#pragma once

#include <cstddef>
#include <cstdint>

namespace frnn {

constexpr uint64_t kFnvBasis = 14695981039346656037ull;

inline uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* b = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

}  // namespace frnn

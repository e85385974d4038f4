// Packed copies of the weights that inference multiplies by, kept across calls while the
// parameters stay the same. Generation multiplies every weight matrix once per character at one
// row: from the packed layout each thread streams a contiguous slice, and with the pool's task
// affinity that slice stays in its core's L2 from one character to the next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace frnn::cpu {

class PackedWeightCache {
 public:
  PackedWeightCache();
  ~PackedWeightCache();
  PackedWeightCache(const PackedWeightCache&) = delete;
  PackedWeightCache& operator=(const PackedWeightCache&) = delete;

  // Makes this cache the calling thread's until release(): products by op(B) with B inside
  // [begin, begin+count) are then served packed. A new `version` drops every packed copy.
  void hold(const float* begin, size_t count, uint64_t version);
  void release();
  size_t bytes() const;

  struct Entry;

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
  uint64_t version_ = 0;
  friend const float* held_packed_weights(const float*, bool, int, int, int);
};

// op(B) [K,N] packed in sgemm_pack_b's layout when the calling thread holds a cache and B lies
// in its range (packed on first use), else nullptr.
const float* held_packed_weights(const float* B, bool trans_b, int K, int N, int ldb);

}  // namespace frnn::cpu

// Packed copies of the weights that inference multiplies by, kept across calls while the
// parameters stay the same. Generation multiplies every weight matrix once per character at one
// row: from the packed layout each thread streams a contiguous slice, and with the pool's task
// affinity that slice stays in its core's L2 from one character to the next. The copies are fp32
// (sgemm_pack_b's layout), or bfloat16 (bf16.h's) or int8 (int8.h's) when the holder asks for
// such products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "../ops.h"

namespace frnn::cpu {

class PackedWeightCache {
 public:
  PackedWeightCache();
  ~PackedWeightCache();
  PackedWeightCache(const PackedWeightCache&) = delete;
  PackedWeightCache& operator=(const PackedWeightCache&) = delete;

  // Makes this cache the calling thread's until release(): products by op(B) with B inside
  // [begin, begin+count) are then served packed, with operands of `products`' precision. A new
  // `version` drops every packed copy.
  void hold(const float* begin, size_t count, uint64_t version, ProductPrecision products);
  void release();
  size_t bytes() const;

  struct Entry;

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
  uint64_t version_ = 0;
  friend struct PackedMatrix held_packed_weights(const float*, bool, int, int, int);
};

// A held weight matrix op(B) [K,N], packed in one of the three layouts.
struct PackedMatrix {
  const float* fp32 = nullptr;     // sgemm_pack_b's layout
  const uint32_t* bf16 = nullptr;  // pack_bf16's layout
  const uint32_t* int8 = nullptr;  // pack_int8's layout, with its column scales:
  const float* int8_scales = nullptr;
  explicit operator bool() const { return fp32 != nullptr || bf16 != nullptr || int8 != nullptr; }
};

// op(B) packed (on first use) when the calling thread holds a cache and B lies in its range;
// empty otherwise.
PackedMatrix held_packed_weights(const float* B, bool trans_b, int K, int N, int ldb);

// Whether the calling thread holds a cache with reduced-precision products: its one-hot
// selections must round as its products do.
bool holding_reduced();

}  // namespace frnn::cpu

#include "weight_cache.h"

#include "bf16.h"
#include "cpu_isa.h"
#include "sgemm.h"

namespace frnn::cpu {

struct PackedWeightCache::Entry {
  const float* B;
  bool trans_b;
  int K, N, ldb;
  const IsaKernels* variant;  // the fp32 layout is the variant's (tests switch variants)
  std::vector<float> fp32;
  std::vector<uint32_t> bf16;
};

namespace {
struct Held {
  PackedWeightCache* cache = nullptr;
  const float* begin = nullptr;
  const float* end = nullptr;
  bool bf16 = false;
};
thread_local Held held;
}  // namespace

PackedWeightCache::PackedWeightCache() = default;
PackedWeightCache::~PackedWeightCache() {
  if (held.cache == this) held = Held{};
}

void PackedWeightCache::hold(const float* begin, size_t count, uint64_t version, bool bf16) {
  if (version != version_) entries_.clear();
  version_ = version;
  held = Held{this, begin, begin + count, bf16};
}

void PackedWeightCache::release() {
  if (held.cache == this) held = Held{};
}

size_t PackedWeightCache::bytes() const {
  size_t n = 0;
  for (const auto& e : entries_) n += e->fp32.capacity() * sizeof(float) + e->bf16.capacity() * sizeof(uint32_t);
  return n;
}

bool holding_bf16() { return held.cache != nullptr && held.bf16; }

PackedMatrix held_packed_weights(const float* B, bool trans_b, int K, int N, int ldb) {
  PackedWeightCache* cache = held.cache;
  if (!cache || B < held.begin || B >= held.end) return {};
  const IsaKernels* variant = held.bf16 ? nullptr : &isa();  // the bf16 layout is every variant's
  PackedWeightCache::Entry* entry = nullptr;
  for (const auto& e : cache->entries_)
    if (e->B == B && e->trans_b == trans_b && e->K == K && e->N == N && e->ldb == ldb && e->variant == variant) entry = e.get();
  if (!entry) {
    cache->entries_.push_back(std::make_unique<PackedWeightCache::Entry>(PackedWeightCache::Entry{B, trans_b, K, N, ldb, variant, {}, {}}));
    entry = cache->entries_.back().get();
    if (held.bf16) {
      entry->bf16.resize(bf16_packed_words(K, N));
      pack_bf16(trans_b, K, N, B, ldb, entry->bf16.data());
    } else {
      entry->fp32.resize(sgemm_packed_b_elems(K, N));
      sgemm_pack_b(trans_b, K, N, B, ldb, entry->fp32.data());
    }
  }
  return held.bf16 ? PackedMatrix{nullptr, entry->bf16.data()} : PackedMatrix{entry->fp32.data(), nullptr};
}

}  // namespace frnn::cpu

#include "weight_cache.h"

#include "cpu_isa.h"
#include "sgemm.h"

namespace frnn::cpu {

struct PackedWeightCache::Entry {
  const float* B;
  bool trans_b;
  int K, N, ldb;
  const IsaKernels* variant;  // the packed layout is the variant's (tests switch variants)
  std::vector<float> packed;
};

namespace {
struct Held {
  PackedWeightCache* cache = nullptr;
  const float* begin = nullptr;
  const float* end = nullptr;
};
thread_local Held held;
}  // namespace

PackedWeightCache::PackedWeightCache() = default;
PackedWeightCache::~PackedWeightCache() {
  if (held.cache == this) held = Held{};
}

void PackedWeightCache::hold(const float* begin, size_t count, uint64_t version) {
  if (version != version_) entries_.clear();
  version_ = version;
  held = Held{this, begin, begin + count};
}

void PackedWeightCache::release() {
  if (held.cache == this) held = Held{};
}

size_t PackedWeightCache::bytes() const {
  size_t n = 0;
  for (const auto& e : entries_) n += e->packed.capacity() * sizeof(float);
  return n;
}

const float* held_packed_weights(const float* B, bool trans_b, int K, int N, int ldb) {
  PackedWeightCache* cache = held.cache;
  if (!cache || B < held.begin || B >= held.end) return nullptr;
  const IsaKernels* variant = &isa();
  for (const auto& e : cache->entries_)
    if (e->B == B && e->trans_b == trans_b && e->K == K && e->N == N && e->ldb == ldb && e->variant == variant)
      return e->packed.data();
  auto e = std::make_unique<PackedWeightCache::Entry>(
      PackedWeightCache::Entry{B, trans_b, K, N, ldb, variant, std::vector<float>(sgemm_packed_b_elems(K, N))});
  sgemm_pack_b(trans_b, K, N, B, ldb, e->packed.data());
  cache->entries_.push_back(std::move(e));
  return cache->entries_.back()->packed.data();
}

}  // namespace frnn::cpu

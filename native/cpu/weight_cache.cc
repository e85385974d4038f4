#include "weight_cache.h"

#include "bf16.h"
#include "cpu_isa.h"
#include "int8.h"
#include "sgemm.h"

namespace frnn::cpu {

struct PackedWeightCache::Entry {
  const float* B;
  bool trans_b;
  int K, N, ldb;
  const IsaKernels* variant;  // the fp32 layout is the variant's (tests switch variants)
  ProductPrecision products;
  std::vector<float> fp32;
  std::vector<uint32_t> words;  // the bf16 or int8 layout
  std::vector<float> scales;    // int8: the column scales
};

namespace {
struct Held {
  PackedWeightCache* cache = nullptr;
  const float* begin = nullptr;
  const float* end = nullptr;
  ProductPrecision products = ProductPrecision::Fp32;
};
thread_local Held held;
}  // namespace

PackedWeightCache::PackedWeightCache() = default;
PackedWeightCache::~PackedWeightCache() {
  if (held.cache == this) held = Held{};
}

void PackedWeightCache::hold(const float* begin, size_t count, uint64_t version, ProductPrecision products) {
  if (version != version_) entries_.clear();
  version_ = version;
  held = Held{this, begin, begin + count, products};
}

void PackedWeightCache::release() {
  if (held.cache == this) held = Held{};
}

size_t PackedWeightCache::bytes() const {
  size_t n = 0;
  for (const auto& e : entries_)
    n += (e->fp32.capacity() + e->scales.capacity()) * sizeof(float) + e->words.capacity() * sizeof(uint32_t);
  return n;
}

bool holding_reduced() { return held.cache != nullptr && held.products != ProductPrecision::Fp32; }

PackedMatrix held_packed_weights(const float* B, bool trans_b, int K, int N, int ldb) {
  PackedWeightCache* cache = held.cache;
  if (!cache || B < held.begin || B >= held.end) return {};
  const ProductPrecision products = held.products;
  // The fp32 layout is the variant's; the others are every variant's.
  const IsaKernels* variant = products == ProductPrecision::Fp32 ? &isa() : nullptr;
  PackedWeightCache::Entry* entry = nullptr;
  for (const auto& e : cache->entries_)
    if (e->B == B && e->trans_b == trans_b && e->K == K && e->N == N && e->ldb == ldb && e->variant == variant &&
        e->products == products)
      entry = e.get();
  if (!entry) {
    auto made = std::make_unique<PackedWeightCache::Entry>(PackedWeightCache::Entry{B, trans_b, K, N, ldb, variant, products, {}, {}, {}});
    if (products == ProductPrecision::Bf16) {
      made->words.resize(bf16_packed_words(K, N));
      pack_bf16(trans_b, K, N, B, ldb, made->words.data());
    } else if (products == ProductPrecision::Int8) {
      made->words.resize(int8_packed_words(K, N));
      made->scales.resize(int8_scale_count(N));
      pack_int8(trans_b, K, N, B, ldb, made->words.data(), made->scales.data());
    } else {
      made->fp32.resize(sgemm_packed_b_elems(K, N));
      sgemm_pack_b(trans_b, K, N, B, ldb, made->fp32.data());
    }
    cache->entries_.push_back(std::move(made));
    entry = cache->entries_.back().get();
  }
  PackedMatrix m;
  if (products == ProductPrecision::Bf16) m.bf16 = entry->words.data();
  else if (products == ProductPrecision::Int8) m.int8 = entry->words.data(), m.int8_scales = entry->scales.data();
  else m.fp32 = entry->fp32.data();
  return m;
}

}  // namespace frnn::cpu

// Philox4x32-10 (Salmon et al., SC'11), the counter-based generator cuRAND and PyTorch use.
// Every random number fusedrnn draws is a pure function of (seed, counter, stream), so the CPU
// and the GPU produce the same dropout masks, samples and initial weights.
//   key     = (seed low 32 bits, seed high 32 bits)
//   counter = (counter low, counter high, stream, 0)
// `stream` separates uses (dropout, sampling, initialization) so they never share numbers.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace frnn {

enum PhiloxStream : uint32_t { kStreamDropout = 1, kStreamSample = 2, kStreamInit = 3, kStreamSampledSoftmax = 4 };

struct Philox4 {
  uint32_t v[4];
};

FRNN_HD Philox4 philox4x32_10(uint64_t seed, uint64_t counter, uint32_t stream) {
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = stream, c3 = 0;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// 24 random bits -> [0, 1), exactly representable in fp32, so fp32 and fp64 agree on every mask.
FRNN_HD double uint_to_unit(uint32_t x) { return static_cast<double>(x >> 8) * (1.0 / 16777216.0); }

FRNN_HD double philox_uniform(uint64_t seed, uint64_t counter, uint32_t stream) {
  return uint_to_unit(philox4x32_10(seed, counter, stream).v[0]);
}

}  // namespace frnn

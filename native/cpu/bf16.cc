#include "bf16.h"

#include <cstring>

namespace frnn::cpu {

namespace {
// fp32 -> bf16 bits, without branches so the pairing loop vectorizes (it runs on every generated
// character).
inline uint32_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return (u & 0x7fffffffu) > 0x7f800000u ? ((u >> 16) | 0x40u) : rounded;
}
}  // namespace

void to_bf16_pairs(int K, const float* x, uint32_t* pairs) {
  const int full = K / 2;
  for (int i = 0; i < full; ++i) pairs[i] = bf16_bits(x[2 * i]) | bf16_bits(x[2 * i + 1]) << 16;
  if (K % 2) pairs[full] = bf16_bits(x[K - 1]);
}

long bf16_panel_stride(int K) { return static_cast<long>((K + 1) / 2) * kBf16PanelWidth; }

size_t bf16_packed_words(int K, int N) {
  return static_cast<size_t>((N + kBf16PanelWidth - 1) / kBf16PanelWidth) * static_cast<size_t>(bf16_panel_stride(K));
}

void pack_bf16(bool trans_b, int K, int N, const float* B, int ldb, uint32_t* packed) {
  const long stride = bf16_panel_stride(K);
  const auto at = [&](int k, int n) -> uint32_t {
    if (k >= K || n >= N) return 0;
    return bf16_bits(trans_b ? B[static_cast<long>(n) * ldb + k] : B[static_cast<long>(k) * ldb + n]);
  };
  for (int panel = 0; panel * kBf16PanelWidth < N; ++panel)
    for (int kp = 0; kp < (K + 1) / 2; ++kp)
      for (int c = 0; c < kBf16PanelWidth; ++c) {
        const int n = panel * kBf16PanelWidth + c;
        packed[panel * stride + static_cast<long>(kp) * kBf16PanelWidth + c] = at(2 * kp, n) | at(2 * kp + 1, n) << 16;
      }
}

}  // namespace frnn::cpu

#include "int8.h"

#include <cmath>

namespace frnn::cpu {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the int8 quads are written byte by byte: k = 4q + j is byte j of word q only on little-endian CPUs"
#endif

Int8Row quantize_row(int K, const float* x, uint32_t* quads) {
  float largest = 0.0f;  // plain compares (a NaN is skipped) so the loop vectorizes
  for (int k = 0; k < K; ++k) {
    const float a = std::fabs(x[k]);
    largest = a > largest ? a : largest;
  }
  const float inverse = largest > 0.0f ? 127.0f / largest : 0.0f;
  // Adding and subtracting 1.5 * 2^23 rounds an fp32 of magnitude < 2^22 to the nearest integer,
  // ties to even, with no call (nearbyint is a libm call where SSE4.1 is not assumed).
  constexpr float kRound = 12582912.0f;
  auto* bytes = reinterpret_cast<unsigned char*>(quads);  // a char type may alias the words
  int32_t sum = 0;
  for (int k = 0; k < K; ++k) {
    const int v = static_cast<int>((x[k] * inverse + kRound) - kRound);  // |v| <= 127 by construction
    sum += v;
    bytes[k] = static_cast<unsigned char>(v & 255);
  }
  for (int k = K; k % 4 != 0; ++k) bytes[k] = 0;
  return {largest / 127.0f, sum};
}

long int8_panel_stride(int K) { return static_cast<long>((K + 3) / 4) * kInt8PanelWidth; }

size_t int8_scale_count(int N) { return static_cast<size_t>((N + kInt8PanelWidth - 1) / kInt8PanelWidth) * kInt8PanelWidth; }

size_t int8_packed_words(int K, int N) {
  return static_cast<size_t>((N + kInt8PanelWidth - 1) / kInt8PanelWidth) * static_cast<size_t>(int8_panel_stride(K));
}

void pack_int8(bool trans_b, int K, int N, const float* B, int ldb, uint32_t* packed, float* scales) {
  const long stride = int8_panel_stride(K);
  const auto at = [&](int k, int n) -> double {
    return trans_b ? B[static_cast<long>(n) * ldb + k] : B[static_cast<long>(k) * ldb + n];
  };
  const int quads = (K + 3) / 4;
  for (int n = 0; n < static_cast<int>(int8_scale_count(N)); ++n) {
    uint32_t* column = packed + (n / kInt8PanelWidth) * stride + n % kInt8PanelWidth;
    if (n >= N) {  // padding: a zero weight, a zero scale
      scales[n] = 0.0f;
      for (int q = 0; q < quads; ++q) column[static_cast<long>(q) * kInt8PanelWidth] = 0x80808080u;
      continue;
    }
    double largest = 0.0;  // plain compares, not fmax: aarch64 GCC 12's vectorizer fails on that reduction
    for (int k = 0; k < K; ++k) {
      const double a = std::fabs(at(k, n));
      if (a > largest) largest = a;
    }
    scales[n] = static_cast<float>(largest / 127.0);
    for (int q = 0; q < quads; ++q) {
      uint32_t word = 0;
      for (int j = 0; j < 4; ++j) {
        const int k = 4 * q + j;
        const int v = k < K && largest > 0.0 ? static_cast<int>(std::nearbyint(at(k, n) * 127.0 / largest)) : 0;
        word |= static_cast<uint32_t>(v + 128) << (8 * j);
      }
      column[static_cast<long>(q) * kInt8PanelWidth] = word;
    }
  }
}

}  // namespace frnn::cpu

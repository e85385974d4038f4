// bfloat16 operands for the bf16 inference products (cpu_isa.h's gemv_bf16): rounding, the
// pairing of consecutive k, and the weights' packed layout. Compiled only in generic TUs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace frnn::cpu {

constexpr int kBf16PanelWidth = 32;  // columns per packed panel, the same in every variant

// x[0..K) as ceil(K/2) pairs of bf16 (rounded to nearest, ties to even; a NaN stays a NaN), k
// even in the low half; a missing odd k is 0.
void to_bf16_pairs(int K, const float* x, uint32_t* pairs);

// op(B) [K,N] (op = transpose when trans_b) as ceil(N/32) panels of [ceil(K/2)][32] bf16 pairs,
// zero-padded; bf16_panel_stride apart.
long bf16_panel_stride(int K);
size_t bf16_packed_words(int K, int N);
void pack_bf16(bool trans_b, int K, int N, const float* B, int ldb, uint32_t* packed);

}  // namespace frnn::cpu

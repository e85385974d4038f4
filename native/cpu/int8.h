// int8 operands for the int8 inference products (cpu_isa.h's gemv_int8): each row of the input
// and each output column of the weights quantized symmetrically to [-127, 127] with one scale
// (its largest magnitude / 127), the sums exact in int32. Compiled only in generic TUs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace frnn::cpu {

constexpr int kInt8PanelWidth = 32;  // columns per packed panel, the same in every variant

// One input row quantized: ceil(K/4) words of four signed bytes (k ascending from the low byte;
// a missing k is 0), q[k] = round-to-nearest-even(x[k] * (127 / max|x|)) computed in fp32, and
// the row's scale max|x| / 127 (0 for a row of zeros) and sum of q.
struct Int8Row {
  float scale;
  int32_t sum;
};
Int8Row quantize_row(int K, const float* x, uint32_t* quads);

// op(B) [K,N] (op = transpose when trans_b), each column n quantized by its own scale
// s[n] = max_k |op(B)[k,n]| / 127 to q = round-to-nearest-even(op(B)[k,n] * 127 / max) (in
// double), stored as q + 128 (unsigned bytes), as ceil(N/32) panels of [ceil(K/4)][32] words of
// four k, int8_panel_stride(K) words apart; padding stores 128 (a 0). scales: ceil(N/32)*32
// floats, 0 past N.
long int8_panel_stride(int K);
size_t int8_packed_words(int K, int N);
size_t int8_scale_count(int N);
void pack_int8(bool trans_b, int K, int N, const float* B, int ldb, uint32_t* packed, float* scales);

}  // namespace frnn::cpu

// A recurrent layer fed one-hot rows (the oneHot input: one 1 per row, zeros elsewhere) needs no
// GEMM for its input: x·W_ihᵀ is a gather of W_ih's columns and dW_ih = daᵀ·x a sum of gradient
// rows per column. The input projection GEMM of such a layer has K = vocabulary size (83 for
// the textbook's corpus), the worst shape the blocked SGEMM meets. fp32 path only; the fp64
// reference multiplies as written.
#pragma once

#include <cstdint>

namespace frnn::cpu {

// The hot column of each of x's N rows (x [N, I]), or nullptr when some row is not one-hot.
// The array is the calling thread's, valid until its next call.
const int32_t* one_hot_columns(const float* x, long N, int I);

// pre [N, GH] = W_ih[:, hot[r]] + b_ih for every row (W_ih [GH, I]).
void gather_input_projection(long N, int I, int GH, const int32_t* hot, const float* w_ih, const float* b_ih,
                             float* pre);

// dW_ih [GH, I] += the sum of da's rows [N, GH] over each hot column.
void scatter_input_weight_grad(long N, int I, int GH, const int32_t* hot, const float* da, float* dw_ih);

}  // namespace frnn::cpu

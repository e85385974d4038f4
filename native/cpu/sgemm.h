// The fast fp32 GEMM (Goto-style: pack op(B) into column panels and op(A) into row panels, run
// the variant's register-blocked micro-kernel over them), threaded over the pool for large
// products. Same contract as gemm.h's reference: C = alpha*op(A)*op(B) + beta*C, row-major.
#pragma once

#include <cstddef>
#include <cstdint>

namespace frnn::cpu {

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);
// Whether sgemm runs an M x N x K product (M > 1, not by held weights) on the calling thread only.
bool sgemm_is_one_thread(int M, int N, int K);

// op(B) [K,N] packed once and multiplied many times (the recurrent weights of a sequence).
// The packed layout belongs to the variant active when it was packed.
size_t sgemm_packed_b_elems(int K, int N);
void sgemm_pack_b(bool trans_b, int K, int N, const float* B, int ldb, float* packed);
// C [M,N] = A [M,K] · packed op(B) + beta*C  (A not transposed). While a PackedWeightCache is
// held (weight_cache.h), sgemm routes products by the held weights here. A product of at least
// kPackedParallelMacs multiply-adds is split by columns over the pool.
inline constexpr double kPackedParallelMacs = 4.0e5;
void sgemm_packed_b(int M, int N, int K, const float* A, int lda, const float* packed, float beta,
                    float* C, int ldc);
// C [M,N] += A [M,K] · op(B) with op(B) packed by pack_bf16 and each row of A rounded to bf16
// (bf16.h): the products of a held bf16 cache.
void sgemm_bf16_b(int M, int N, int K, const float* A, int lda, const uint32_t* packed, float* C, int ldc);
// The same with op(B) packed by pack_int8 (its column scales beside) and each row of A quantized
// by quantize_row (int8.h): the products of a held int8 cache.
void sgemm_int8_b(int M, int N, int K, const float* A, int lda, const uint32_t* packed, const float* scales, float* C,
                  int ldc);

}  // namespace frnn::cpu

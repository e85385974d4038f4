// The arm64 variants: AdvSIMD (NEON, part of every arm64 CPU Linux runs on) with a taller
// register tile than the generic one (32 vector registers: 8 rows x 2 vectors of sums) and FMA
// contraction. neonbf16 is the same kernels with the bf16 products on BFDOT and the int8 ones on
// SDOT, compiled for those functions only (target attributes), so the rest still runs on CPUs
// without FEAT_BF16 / FEAT_DotProd.
// Elsewhere this file compiles to empty tables that are never selected.
#include "cpu_isa.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>  // the broadcast in isa_kernels.inc, BFDOT and SDOT below
#endif

namespace frnn::cpu {
#if defined(__aarch64__) && defined(__ARM_NEON)
namespace isa_neon {
#define FRNN_VW 4
#define FRNN_MR 8
#define FRNN_NEON 1
#include "isa_kernels.inc"

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 10)
#define FRNN_HAVE_NEON_BF16_DOT 1
namespace {
// gemv_bf16 (cpu_isa.h) with one BFDOT per 4 columns and k pair: lane c of a packed word vector
// holds column c's (even, odd) weights, the broadcast x pair multiplies both and the two
// products go into column c's fp32 sum in one instruction. Two panels a pass: 16 independent sums.
// The target is arm_neon.h's for its bf16 intrinsics (FEAT_BF16 is an Armv8.2 extension).
__attribute__((target("arch=armv8.2-a+bf16"))) void gemv_bf16_dot(int N, int k_pairs, const uint32_t* x2, const uint32_t* P,
                                                      long panel_stride, float* y) {
  constexpr int kGroup = 2, kVecs = kBf16Panel / 4;
  for (int j = 0; j < N; j += kGroup * kBf16Panel) {
    const int panels = min_int(kGroup, (N - j + kBf16Panel - 1) / kBf16Panel);
    const uint32_t* p = P + (j / kBf16Panel) * panel_stride;
    float32x4_t acc[kGroup * kVecs];
    for (float32x4_t& a : acc) a = vdupq_n_f32(0.0f);
    for (int kp = 0; kp < k_pairs; ++kp) {
      if (x2[kp] == 0) continue;
      const bfloat16x8_t x = vreinterpretq_bf16_u32(vdupq_n_u32(x2[kp]));
      const uint32_t* pk = p + static_cast<long>(kp) * kBf16Panel;
      for (int g = 0; g < panels; ++g)
#pragma GCC unroll 8
        for (int q = 0; q < kVecs; ++q)
          acc[g * kVecs + q] =
              vbfdotq_f32(acc[g * kVecs + q], vreinterpretq_bf16_u32(vld1q_u32(pk + g * panel_stride + q * 4)), x);
    }
    for (int g = 0; g < panels; ++g)
      for (int q = 0; q < kVecs; ++q) {
        const int col = j + g * kBf16Panel + q * 4;
        if (col >= N) break;
        float sums[4];
        vst1q_f32(sums, acc[g * kVecs + q]);
        for (int c = 0; c < min_int(4, N - col); ++c) y[col + c] += sums[c];
      }
  }
}

// gemv_int8 (cpu_isa.h) with one SDOT per 4 columns and k quad: lane c of a packed word vector
// holds column c's four weights as q + 128; XOR 0x80 makes them the signed q, so the sums are
// sum(q_w * q_x) directly (the generic loop's sum less 128 * sum(q_x): the same integers, and
// add_int8_sums then does the same fp32 operations, so the same bits). FEAT_DotProd is an
// Armv8.2 extension (every CPU with FEAT_BF16 has it; selection checks both).
__attribute__((target("arch=armv8.2-a+dotprod"))) void gemv_int8_dot(int N, int k_quads, const uint32_t* xq, float x_scale,
                                                         int32_t, const uint32_t* P, long panel_stride,
                                                         const float* w_scales, float* y) {
  constexpr int kVecs = kInt8Panel / 4;
  const uint8x16_t offset = vdupq_n_u8(0x80);
  for (int j = 0; j < N; j += kInt8Panel) {
    const uint32_t* p = P + (j / kInt8Panel) * panel_stride;
    int32x4_t acc[kVecs];
    for (int32x4_t& a : acc) a = vdupq_n_s32(0);
    for (int q = 0; q < k_quads; ++q) {
      if (xq[q] == 0) continue;
      const int8x16_t x = vreinterpretq_s8_u32(vdupq_n_u32(xq[q]));
      const uint32_t* pq = p + static_cast<long>(q) * kInt8Panel;
#pragma GCC unroll 8
      for (int v = 0; v < kVecs; ++v)
        acc[v] = vdotq_s32(acc[v], vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vld1q_u32(pq + 4 * v)), offset)), x);
    }
    int32_t sums[kInt8Panel];
    for (int v = 0; v < kVecs; ++v) vst1q_s32(sums + 4 * v, acc[v]);
    add_int8_sums(min_int(kInt8Panel, N - j), sums, 0, x_scale, w_scales + j, y + j);
  }
}
}  // namespace
#endif
}  // namespace isa_neon
const IsaKernels kIsaNeon = FRNN_ISA_TABLE("neon", isa_neon);
#if defined(FRNN_HAVE_NEON_BF16_DOT)
const IsaKernels kIsaNeonBf16 = FRNN_ISA_TABLE_WITH("neonbf16", isa_neon, isa_neon::gemv_bf16_dot, isa_neon::gemv_int8_dot);
#else
const IsaKernels kIsaNeonBf16 = {};
#endif
#else
const IsaKernels kIsaNeon = {};
const IsaKernels kIsaNeonBf16 = {};
#endif
}  // namespace frnn::cpu

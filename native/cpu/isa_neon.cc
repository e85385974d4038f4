// The arm64 variants: AdvSIMD (NEON, part of every arm64 CPU Linux runs on) with a taller
// register tile than the generic one (32 vector registers: 8 rows x 2 vectors of sums) and FMA
// contraction. neonbf16 is the same kernels with the bf16 products on BFDOT, compiled for that
// one function only (target attribute), so the rest still runs on CPUs without FEAT_BF16.
// Elsewhere this file compiles to empty tables that are never selected.
#include "cpu_isa.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>  // the broadcast in isa_kernels.inc and BFDOT below
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
}  // namespace
#endif
}  // namespace isa_neon
const IsaKernels kIsaNeon = FRNN_ISA_TABLE("neon", isa_neon);
#if defined(FRNN_HAVE_NEON_BF16_DOT)
const IsaKernels kIsaNeonBf16 = FRNN_ISA_TABLE_WITH("neonbf16", isa_neon, isa_neon::gemv_bf16_dot, isa_neon::gemv_int8);
#else
const IsaKernels kIsaNeonBf16 = {};
#endif
#else
const IsaKernels kIsaNeon = {};
const IsaKernels kIsaNeonBf16 = {};
#endif
}  // namespace frnn::cpu

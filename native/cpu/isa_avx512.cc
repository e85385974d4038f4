// The AVX-512 variants. Built with -mavx512f -mfma (CMakeLists.txt / binding.gyp); without them it
// compiles to empty tables that are never selected. avx512bf16 is the same kernels with the bf16
// products on vdpbf16ps and the int8 ones on vpdpbusd (AVX512_VNNI: every CPU with AVX512_BF16
// has it), compiled for those functions only (target attributes), so the rest of the variant
// still runs on AVX-512 CPUs without them.
#include "cpu_isa.h"

#if defined(__AVX512F__)
#include <immintrin.h>  // broadcasts and masked moves in isa_kernels.inc
#endif

namespace frnn::cpu {
#if defined(__AVX512F__) && defined(__FMA__)
namespace isa_avx512 {
#define FRNN_VW 16
#define FRNN_MR 8
#include "isa_kernels.inc"

#if defined(__GNUC__) && (defined(__clang__) || __GNUC__ >= 10)
#define FRNN_HAVE_BF16_DOT 1
namespace {
// gemv_bf16 (cpu_isa.h) with one vdpbf16ps per 16 columns and k pair: both products of a pair
// summed into fp32 in one instruction. Four panels a pass: 8 independent sums.
__attribute__((target("avx512f,avx512bf16"))) void gemv_bf16_dot(int N, int k_pairs, const uint32_t* x2,
                                                                  const uint32_t* P, long panel_stride, float* y) {
  constexpr int kGroup = 4;
  for (int j = 0; j < N; j += kGroup * kBf16Panel) {
    const int panels = min_int(kGroup, (N - j + kBf16Panel - 1) / kBf16Panel);
    const uint32_t* p = P + (j / kBf16Panel) * panel_stride;
    __m512 acc[2 * kGroup];
    for (__m512& a : acc) a = _mm512_setzero_ps();
    if (panels == kGroup) {
      for (int kp = 0; kp < k_pairs; ++kp) {
        if (x2[kp] == 0) continue;
        const __m512bh x = (__m512bh)_mm512_set1_epi32(static_cast<int>(x2[kp]));
        const uint32_t* pk = p + static_cast<long>(kp) * kBf16Panel;
#pragma GCC unroll 8
        for (int q = 0; q < 2 * kGroup; ++q)
          acc[q] = _mm512_dpbf16_ps(acc[q], (__m512bh)_mm512_loadu_si512(pk + (q / 2) * panel_stride + (q % 2) * 16), x);
      }
    } else {
      for (int kp = 0; kp < k_pairs; ++kp) {
        if (x2[kp] == 0) continue;
        const __m512bh x = (__m512bh)_mm512_set1_epi32(static_cast<int>(x2[kp]));
        const uint32_t* pk = p + static_cast<long>(kp) * kBf16Panel;
        for (int q = 0; q < 2 * panels; ++q)
          acc[q] = _mm512_dpbf16_ps(acc[q], (__m512bh)_mm512_loadu_si512(pk + (q / 2) * panel_stride + (q % 2) * 16), x);
      }
    }
    for (int q = 0; q < 2 * panels; ++q) {
      const int col = j + q * 16;
      if (col >= N) break;
      const int w = min_int(16, N - col);
      const __mmask16 m = static_cast<__mmask16>((1u << w) - 1u);
      _mm512_mask_storeu_ps(y + col, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + col), acc[q]));
    }
  }
}

// gemv_int8 (cpu_isa.h) with one vpdpbusd per 16 columns and k quad: the four unsigned weight
// bytes of each column times the broadcast signed input quad, summed into its int32 in one
// instruction. Four panels a pass: 8 independent sums. The end is the generic one (add_int8_sums).
__attribute__((target("avx512f,avx512vnni"))) void gemv_int8_vnni(int N, int k_quads, const uint32_t* xq, float x_scale,
                                                                  int32_t x_sum, const uint32_t* P, long panel_stride,
                                                                  const float* w_scales, float* y) {
  constexpr int kGroup = 4;
  for (int j = 0; j < N; j += kGroup * kInt8Panel) {
    const int panels = min_int(kGroup, (N - j + kInt8Panel - 1) / kInt8Panel);
    const uint32_t* p = P + (j / kInt8Panel) * panel_stride;
    __m512i acc[2 * kGroup];
    for (__m512i& a : acc) a = _mm512_setzero_si512();
    if (panels == kGroup) {
      for (int q = 0; q < k_quads; ++q) {
        if (xq[q] == 0) continue;
        const __m512i x = _mm512_set1_epi32(static_cast<int>(xq[q]));
        const uint32_t* pq = p + static_cast<long>(q) * kInt8Panel;
#pragma GCC unroll 8
        for (int v = 0; v < 2 * kGroup; ++v)
          acc[v] = _mm512_dpbusd_epi32(acc[v], _mm512_loadu_si512(pq + (v / 2) * panel_stride + (v % 2) * 16), x);
      }
    } else {
      for (int q = 0; q < k_quads; ++q) {
        if (xq[q] == 0) continue;
        const __m512i x = _mm512_set1_epi32(static_cast<int>(xq[q]));
        const uint32_t* pq = p + static_cast<long>(q) * kInt8Panel;
        for (int v = 0; v < 2 * panels; ++v)
          acc[v] = _mm512_dpbusd_epi32(acc[v], _mm512_loadu_si512(pq + (v / 2) * panel_stride + (v % 2) * 16), x);
      }
    }
    int32_t sums[2 * kGroup * 16];
    for (int v = 0; v < 2 * panels; ++v) _mm512_storeu_si512(sums + 16 * v, acc[v]);
    add_int8_sums(min_int(panels * kInt8Panel, N - j), sums, x_sum, x_scale, w_scales + j, y + j);
  }
}
}  // namespace
#endif
}  // namespace isa_avx512
const IsaKernels kIsaAvx512 = FRNN_ISA_TABLE("avx512", isa_avx512);
#if defined(FRNN_HAVE_BF16_DOT)
const IsaKernels kIsaAvx512Bf16 = FRNN_ISA_TABLE_WITH("avx512bf16", isa_avx512, isa_avx512::gemv_bf16_dot, isa_avx512::gemv_int8_vnni);
#else
const IsaKernels kIsaAvx512Bf16 = {};
#endif
#else
const IsaKernels kIsaAvx512 = {};
const IsaKernels kIsaAvx512Bf16 = {};
#endif
}  // namespace frnn::cpu

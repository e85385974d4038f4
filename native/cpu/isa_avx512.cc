// The AVX-512 variant. Built with -mavx512f -mfma (CMakeLists.txt / binding.gyp); without them it
// compiles to an empty table and is never selected.
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
}  // namespace isa_avx512
const IsaKernels kIsaAvx512 = FRNN_ISA_TABLE("avx512", isa_avx512);
#else
const IsaKernels kIsaAvx512 = {};
#endif
}  // namespace frnn::cpu

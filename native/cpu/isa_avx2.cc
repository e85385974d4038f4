// The AVX2+FMA variant. Built with -mavx2 -mfma (CMakeLists.txt / binding.gyp); without them
// (another architecture or compiler) it compiles to an empty table and is never selected.
#include "cpu_isa.h"

#if defined(__AVX2__)
#include <immintrin.h>  // broadcasts and masked moves in isa_kernels.inc
#endif

namespace frnn::cpu {
#if defined(__AVX2__) && defined(__FMA__)
namespace isa_avx2 {
#define FRNN_VW 8
#define FRNN_MR 6
#include "isa_kernels.inc"
}  // namespace isa_avx2
const IsaKernels kIsaAvx2 = FRNN_ISA_TABLE("avx2", isa_avx2);
#else
const IsaKernels kIsaAvx2 = {};
#endif
}  // namespace frnn::cpu

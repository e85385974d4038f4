// The portable variant: no -m flags, so SSE2 on x86-64 (and the target's baseline elsewhere).
#include "cpu_isa.h"

namespace frnn::cpu {
namespace isa_generic {
#define FRNN_VW 4
#define FRNN_MR 4
#include "isa_kernels.inc"
}  // namespace isa_generic
const IsaKernels kIsaGeneric = FRNN_ISA_TABLE("generic", isa_generic);
}  // namespace frnn::cpu

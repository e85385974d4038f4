// The instruction-set variants tests force one after another come from the addon's own list
// (cpuIsa.names: native/cpu/cpu_isa.cc's kIsaNames); a test skips the ones this build or CPU lacks.
import type { CpuIsaName, NativeAddon } from '../../typings/native.js';

/** The variants with their own fp32 kernels: a *bf16 one differs from its base only in the bf16 products. */
export function fp32IsaNames(isa: NativeAddon['cpuIsa']): CpuIsaName[] {
  return isa.names.filter((n) => !n.endsWith('bf16'));
}

// Picks the fp32 kernel variant once, from the CPU's features (env FUSEDRNN_CPU_ISA overrides).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cpu_isa.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>  // getauxval: the kernel's hardware capability bits
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1UL << 14)  // arch/arm64/include/uapi/asm/hwcap.h, for older headers
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)  // the same header: FEAT_DotProd (SDOT)
#endif
#endif

namespace frnn::cpu {
namespace {

// x86 features by the compiler's CPUID reader; elsewhere none of them.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FRNN_X86_HAS(feature) __builtin_cpu_supports(feature)
#else
#define FRNN_X86_HAS(feature) false
#endif
bool cpu_has_avx2() { return FRNN_X86_HAS("avx2") && FRNN_X86_HAS("fma"); }
bool cpu_has_avx512() { return FRNN_X86_HAS("avx512f") && FRNN_X86_HAS("fma"); }
bool cpu_has_avx512bf16() { return cpu_has_avx512() && FRNN_X86_HAS("avx512bf16") && FRNN_X86_HAS("avx512vnni"); }
#undef FRNN_X86_HAS
bool cpu_has_neonbf16() {
#if defined(__aarch64__) && defined(__linux__)
  // Its int8 products need SDOT too (FEAT_BF16 CPUs have it; checked, as x64 checks VNNI).
  return (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0 && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
  return false;
#endif
}
// generic runs anywhere; neon too where it is compiled (arm64: AdvSIMD is part of every arm64 CPU).
bool always() { return true; }

struct Variant {
  const IsaKernels* table;  // name nullptr: not compiled into this build
  bool (*cpu_has)();
};
// Best first: auto picks the first that is compiled in and that the CPU has.
const Variant kVariants[] = {
    {&kIsaAvx512Bf16, cpu_has_avx512bf16}, {&kIsaAvx512, cpu_has_avx512}, {&kIsaAvx2, cpu_has_avx2},
    {&kIsaNeonBf16, cpu_has_neonbf16},     {&kIsaNeon, always},            {&kIsaGeneric, always},
};

const Variant* variant_of(const char* name) {
  for (const Variant& v : kVariants)
    if (v.table->name && std::strcmp(v.table->name, name) == 0) return &v;
  return nullptr;
}

const IsaKernels* best() {
  for (const Variant& v : kVariants)
    if (v.table->name && v.cpu_has()) return v.table;
  return &kIsaGeneric;
}

const IsaKernels* initial() {
  const char* env = std::getenv("FUSEDRNN_CPU_ISA");
  if (env && *env && std::strcmp(env, "auto") != 0) {
    const Variant* v = variant_of(env);
    if (v && v->cpu_has()) return v->table;  // an unusable request falls back to the best variant
  }
  return best();
}

std::atomic<const IsaKernels*>& current() {
  static std::atomic<const IsaKernels*> k{initial()};
  return k;
}

}  // namespace

const char* const kIsaNames[] = {"generic", "avx2", "avx512", "avx512bf16", "neon", "neonbf16", nullptr};

const IsaKernels& isa() { return *current().load(std::memory_order_relaxed); }

bool cpu_isa_supported(const char* name) {
  const Variant* v = variant_of(name);
  return v && v->cpu_has();
}

bool set_cpu_isa(const char* name) {
  if (std::strcmp(name, "auto") == 0) {
    current().store(best());
    return true;
  }
  if (!cpu_isa_supported(name)) return false;
  current().store(variant_of(name)->table);
  return true;
}

}  // namespace frnn::cpu

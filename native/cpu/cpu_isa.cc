// Picks the fp32 kernel variant once, from the CPU's features (env FUSEDRNN_CPU_ISA overrides).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "cpu_isa.h"

namespace frnn::cpu {
namespace {

bool cpu_has(const char* name) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  if (std::strcmp(name, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(name, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (std::strcmp(name, "avx512bf16") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx512bf16");
#endif
  return std::strcmp(name, "generic") == 0;
}

const IsaKernels* table_of(const char* name) {
  const IsaKernels* all[] = {&kIsaGeneric, &kIsaAvx2, &kIsaAvx512, &kIsaAvx512Bf16};
  for (const IsaKernels* k : all)
    if (k->name && std::strcmp(k->name, name) == 0) return k;
  return nullptr;
}

const IsaKernels* best() {
  for (const char* name : {"avx512bf16", "avx512", "avx2"})
    if (table_of(name) && cpu_has(name)) return table_of(name);
  return &kIsaGeneric;
}

const IsaKernels* initial() {
  const char* env = std::getenv("FUSEDRNN_CPU_ISA");
  if (env && *env && std::strcmp(env, "auto") != 0) {
    const IsaKernels* k = table_of(env);
    if (k && cpu_has(env)) return k;  // an unusable request falls back to the best variant
  }
  return best();
}

std::atomic<const IsaKernels*>& current() {
  static std::atomic<const IsaKernels*> k{initial()};
  return k;
}

}  // namespace

const IsaKernels& isa() { return *current().load(std::memory_order_relaxed); }

bool cpu_isa_supported(const char* name) { return table_of(name) && cpu_has(name); }

bool set_cpu_isa(const char* name) {
  if (std::strcmp(name, "auto") == 0) {
    current().store(best());
    return true;
  }
  if (!cpu_isa_supported(name)) return false;
  current().store(table_of(name));
  return true;
}

}  // namespace frnn::cpu

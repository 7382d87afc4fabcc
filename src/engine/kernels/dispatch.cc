// Picks the kernel table once per process from CPUID (ggml's cpu-feats pattern): no stacked
// #ifs in the kernels, one table per ISA, and a switch that forces the scalar references.

#include <cstdlib>
#include <cstring>

#include "engine/kernels/avx2/kernels_avx2.h"
#include "engine/kernels/avx512/kernels_avx512.h"
#include "engine/kernels/kernels.h"

namespace eml::engine::kernels {
namespace {

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool CpuHasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

const KernelTable& BestTable() {
  if (IsForceRefValue(std::getenv("EML_FORCE_REF_KERNELS"))) {
    return RefKernels();
  }
  if (const KernelTable* t = IsaKernels(Isa::kAvx512); t != nullptr) {
    return *t;
  }
  if (const KernelTable* t = IsaKernels(Isa::kAvx2); t != nullptr) {
    return *t;
  }
  return RefKernels();
}

}  // namespace

bool IsForceRefValue(const char* value) { return value != nullptr && std::strcmp(value, "1") == 0; }

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return "ref";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

const KernelTable* IsaKernels(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return &RefKernels();
    case Isa::kAvx2:
      return CpuHasAvx2() ? &Avx2KernelTable() : nullptr;
    case Isa::kAvx512:
      return CpuHasAvx512() ? &Avx512KernelTable() : nullptr;
  }
  return nullptr;
}

const KernelTable& SelectKernels(bool force_ref) {
  static const KernelTable& best = BestTable();  // CPUID and the environment read once.
  return force_ref ? RefKernels() : best;
}

}  // namespace eml::engine::kernels

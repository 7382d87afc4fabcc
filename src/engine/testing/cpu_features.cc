#include "engine/testing/cpu_features.h"

namespace eml::engine::testing {

bool CpuRunsBf16Matmul() {
  __builtin_cpu_init();
  const bool avx512_core = __builtin_cpu_supports("avx512f") &&
                           __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx512_core || avx2_fma;
}

}  // namespace eml::engine::testing

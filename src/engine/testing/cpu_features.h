#pragma once
// Test support: what this CPU can run, read from CPUID by the compiler's builtins, independently
// of the engine's own dispatch, so tests can tell "unsupported here" from "broken".

namespace eml::engine::testing {

// CpuRunsBf16Matmul reports whether the engine should run bf16 matmuls here: oneDNN 2.6's need
// AVX-512 core (F, BW, VL, DQ), the engine's packed kernel AVX2 + FMA.
bool CpuRunsBf16Matmul();

}  // namespace eml::engine::testing

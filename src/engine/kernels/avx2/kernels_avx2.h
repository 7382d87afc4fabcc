#pragma once
// The AVX2 + FMA kernel table. Only kernels/dispatch.cc calls this, after CPUID confirmed AVX2
// and FMA; calling it elsewhere and running a kernel on an older CPU is an illegal instruction.

#include "engine/kernels/kernels.h"

namespace eml::engine::kernels {

const KernelTable& Avx2KernelTable();

}  // namespace eml::engine::kernels

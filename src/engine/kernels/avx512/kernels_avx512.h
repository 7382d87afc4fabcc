#pragma once
// The AVX-512 (F, BW, VL, DQ) kernel table. Only kernels/dispatch.cc calls this, after CPUID
// confirmed those extensions; running a kernel on a CPU without them is an illegal instruction.

#include "engine/kernels/kernels.h"

namespace eml::engine::kernels {

const KernelTable& Avx512KernelTable();

}  // namespace eml::engine::kernels

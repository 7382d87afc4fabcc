#pragma once
// Packed fp32 matrix product for y[m, out] = x[m, in] * W^T + b on AVX2 + FMA, the f32 matmul of
// CPUs without AVX-512 (where oneDNN 2.6 falls back to its generic sgemm and repacks the weights
// on every call).
//
// The weights are packed once, at load, into column panels of kSgemmPanelCols outputs, each cut
// into depth chunks of kSgemmDepthChunk inputs: chunk-major, then panel, then depth, then the 16
// outputs of the panel. A panel chunk (16 KiB) stays in L1 while every row block of x passes over
// it, so for the short inputs of single texts each weight is read from memory once per call. Each
// output is a sum over `in` in a fixed order, whatever the number of threads: results are
// deterministic and do not depend on how panels are split between threads.
//
// Only the engine's Linear calls these, after CPUID confirmed AVX2 and FMA; on an older CPU they
// are an illegal instruction.

#include <cstddef>

namespace eml::engine::kernels {

inline constexpr size_t kSgemmPanelCols = 16;
inline constexpr size_t kSgemmDepthChunk = 256;

// PackSgemmWeightsAvx2 writes PyTorch-layout weights `weight` ([out, in], row-major) into
// `packed` (in * out floats, 32-byte aligned); `out` must be a multiple of kSgemmPanelCols.
void PackSgemmWeightsAvx2(const float* weight, size_t in, size_t out, float* packed);

// Half-open range [begin, end).
struct SgemmRange {
  size_t begin = 0;
  size_t end = 0;
};

// SgemmBlockAvx2 computes the block of dst = src * W^T + bias made of `rows` and of the output
// columns of `panels` (panel p holds columns [p, p + 1) * kSgemmPanelCols); src ([m, in]) and dst
// ([m, out]) are row-major and contiguous. Disjoint blocks may run on distinct threads at once.
void SgemmBlockAvx2(const float* src, size_t in, size_t out, const float* packed, const float* bias,
                    const SgemmRange& rows, const SgemmRange& panels, float* dst);

// PanelProductAvx2 computes dst[num_rows, 16 * num_panels] = src[num_rows, depth] * B, where B
// ([depth, 16 * num_panels]) is stored as num_panels consecutive [depth, 16] row-major panels,
// 32-byte aligned. Each output sums its depth terms in order. Attention uses it for the query-key
// scores and the probability-weighted sum of values.
void PanelProductAvx2(const float* src, size_t ld_src, size_t num_rows, const float* panels,
                      size_t depth, size_t num_panels, float* dst, size_t ld_dst);

}  // namespace eml::engine::kernels

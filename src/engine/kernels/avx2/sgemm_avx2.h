#pragma once
// Packed matrix products for y[m, out] = x[m, in] * W^T + b on AVX2 + FMA, with f32 x and y and
// f32 or bf16 weights: the f32 and bf16 matmuls of CPUs without AVX-512 (where oneDNN 2.6 falls
// back to its generic sgemm and repacks the weights on every call, and has no bf16 matmul).
//
// The weights are packed once, at load, into column panels of kSgemmPanelCols outputs, each cut
// into depth chunks of kSgemmDepthChunk inputs: chunk-major, then panel, then depth, then the 16
// outputs of the panel. A panel chunk (16 KiB) stays in L1 while every row block of x passes over
// it, so for the short inputs of single texts each weight is read from memory once per call. bf16
// weights halve those bytes; they are widened to f32 in registers and every product and sum is
// f32, so the only rounding beyond the f32 kernel's is that of the weights. Each
// output is a sum over `in` in a fixed order, whatever the number of threads: results are
// deterministic and do not depend on how panels are split between threads.
//
// Only the engine's Linear calls these, after CPUID confirmed AVX2 and FMA; on an older CPU they
// are an illegal instruction.

#include <cstddef>
#include <cstdint>

namespace eml::engine::kernels {

inline constexpr size_t kSgemmPanelCols = 16;
inline constexpr size_t kSgemmDepthChunk = 256;
// Floats of the per-thread scratch in which a block product copies the rows of x it is working
// on, as contiguous micro-panels the micro-kernel reads as one stream (BLIS-style packing of the
// A operand): 96 rows of one depth chunk.
inline constexpr size_t kSgemmXPanelFloats = 96 * kSgemmDepthChunk;

// PackSgemmWeightsAvx2 writes PyTorch-layout weights `weight` ([out, in], row-major) into
// `packed` (in * out floats, 32-byte aligned); `out` must be a multiple of kSgemmPanelCols.
void PackSgemmWeightsAvx2(const float* weight, size_t in, size_t out, float* packed);

// PackBf16WeightsAvx2 is PackSgemmWeightsAvx2 with each weight rounded to bf16 (nearest, ties to
// even) and the 16 weights of a depth step in the order of outputs 0, 8, 1, 9, ..., 7, 15, which
// the kernel widens to f32 without shuffles; `packed` holds in * out uint16_t, 32-byte aligned.
void PackBf16WeightsAvx2(const float* weight, size_t in, size_t out, uint16_t* packed);

// Half-open range [begin, end).
struct SgemmRange {
  size_t begin = 0;
  size_t end = 0;
};

// SgemmBlockAvx2 computes the block of dst = src * W^T + bias made of `rows` and of the output
// columns of `panels` (panel p holds columns [p, p + 1) * kSgemmPanelCols); src ([m, in]) and dst
// ([m, out]) are row-major and contiguous. `x_panels` (kSgemmXPanelFloats floats) is scratch
// private to the calling thread. Disjoint blocks may run on distinct threads at once.
void SgemmBlockAvx2(const float* src, size_t in, size_t out, const float* packed, const float* bias,
                    const SgemmRange& rows, const SgemmRange& panels, float* x_panels, float* dst);

// Bf16GemmBlockAvx2 is SgemmBlockAvx2 over weights packed by PackBf16WeightsAvx2.
void Bf16GemmBlockAvx2(const float* src, size_t in, size_t out, const uint16_t* packed,
                       const float* bias, const SgemmRange& rows, const SgemmRange& panels,
                       float* x_panels, float* dst);

// PanelProductAvx2 computes dst[num_rows, 16 * num_panels] = src[num_rows, depth] * B, where B
// ([depth, 16 * num_panels]) is stored as num_panels consecutive [depth, 16] row-major panels,
// 32-byte aligned. Each output sums its depth terms in order. Attention uses it for the query-key
// scores and the probability-weighted sum of values.
void PanelProductAvx2(const float* src, size_t ld_src, size_t num_rows, const float* panels,
                      size_t depth, size_t num_panels, float* dst, size_t ld_dst);

}  // namespace eml::engine::kernels

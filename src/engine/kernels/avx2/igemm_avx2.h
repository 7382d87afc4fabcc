#pragma once
// Packed int8-weight matrix product for y[m, out] = x[m, in] * W^T + b on AVX2, the int8 matmul of
// CPUs without AVX-512. Weights are s8 with one scale per output channel and depth chunk (max |w|
// / 127 over the chunk's kIgemmDepthChunk inputs, so one large weight costs resolution only in its
// own chunk); activations are quantized per call to s16 with one scale per row (max |x| / 32767),
// so the activation error is 256 times smaller than with s8 activations, and the products run on
// VPMADDWD (s16 x s16 pair sums into s32), which cannot saturate, unlike the u8 x s8 VPMADDUBSW
// that oneDNN 2.6 uses on such CPUs (it then needs 7-bit weights).
//
// Layout: column panels of kIgemmPanelCols outputs cut into depth chunks of kIgemmDepthChunk
// inputs (chunk-major, then panel), each chunk stored as depth pairs: for pair p, the 16 outputs'
// (w[o][2p], w[o][2p + 1]) s8 pairs, 32 bytes. A chunk's s32 sums stay below 2^31 (at most 128
// pairs of at most 2 * 32767 * 127) and are scaled into the f32 output at the end of the chunk.
// Integer sums are exact and chunks add in a fixed order, so results do not depend on the thread
// split.
//
// Only the engine's Linear calls these, after CPUID confirmed AVX2; on an older CPU they are an
// illegal instruction.

#include <cstddef>
#include <cstdint>

#include "engine/kernels/avx2/sgemm_avx2.h"

namespace eml::engine::kernels {

inline constexpr size_t kIgemmPanelCols = 16;
inline constexpr size_t kIgemmDepthChunk = 64;

// IgemmPaddedDepth is `in` rounded up to an even count: the length of a quantized row.
size_t IgemmPaddedDepth(size_t in);

// IgemmScaleCount is the number of weight scales: one per output channel and depth chunk.
size_t IgemmScaleCount(size_t in, size_t out);

// PackIgemmWeightsAvx2 quantizes PyTorch-layout weights `weight` ([out, in], row-major) into
// `packed` (IgemmPaddedDepth(in) * out bytes, 32-byte aligned) and `scales` (IgemmScaleCount
// floats, chunk-major: the factors that turn s8 weights back into f32 values). `out` must be a
// multiple of kIgemmPanelCols.
void PackIgemmWeightsAvx2(const float* weight, size_t in, size_t out, int8_t* packed,
                          float* scales);

// IgemmXPanelPairs is the size, in s16 pairs (int32_t), of the per-thread scratch in which
// IgemmBlockAvx2 copies the quantized rows it works on as contiguous micro-panels.
size_t IgemmXPanelPairs(size_t in);

// QuantizeRowS16Avx2 writes x[0, in) quantized to s16 into out[0, IgemmPaddedDepth(in)) (the pad
// is zero) and returns the row's scale (max |x| / 32767; 0 for an all-zero row).
float QuantizeRowS16Avx2(const float* x, size_t in, int16_t* out);

// IgemmBlockAvx2 computes the block of dst = dequant(src_q * Wq^T) + bias made of `rows` and of the
// output columns of `panels`. src_q holds m quantized rows of IgemmPaddedDepth(in) s16 and
// row_scales their scales; dst ([m, out]) is row-major and contiguous. `x_pairs`
// (IgemmXPanelPairs(in) int32_t) is scratch private to the calling thread. Disjoint blocks may
// run on distinct threads at once.
void IgemmBlockAvx2(const int16_t* src_q, const float* row_scales, size_t in, size_t out,
                    const int8_t* packed, const float* weight_scales, const float* bias,
                    const SgemmRange& rows, const SgemmRange& panels, int32_t* x_pairs, float* dst);

}  // namespace eml::engine::kernels

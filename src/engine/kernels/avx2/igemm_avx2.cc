// Packed int8-weight, s16-activation matrix product on AVX2 (layout and contract in
// igemm_avx2.h). Compiled with -mavx2 -mfma whatever the build's -march; no standard-library
// templates or inline functions here for the reason given in kernels_avx2.cc.

#include "engine/kernels/avx2/igemm_avx2.h"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace eml::engine::kernels {
namespace {

constexpr size_t kRowBlock = 6;  // 12 s32 accumulators, as the f32 kernel
// Rows of x one pass packs and keeps in L2 while the panels go by: 96 rows of a 1536-input
// product are 288 KiB of s16.
constexpr size_t kRowsPerPass = 96;
constexpr float kWeightLevels = 127.0f;
constexpr float kActivationLevels = 32767.0f;
constexpr size_t kPairBytes = 2 * kIgemmPanelCols;  // one depth pair of a panel

size_t MinSize(size_t a, size_t b) { return a < b ? a : b; }

int8_t QuantizeWeight(float w, float inv_scale) {
  float q = __builtin_nearbyintf(w * inv_scale);
  q = q < -kWeightLevels ? -kWeightLevels : q;
  q = q > kWeightLevels ? kWeightLevels : q;
  return static_cast<int8_t>(q);
}

// Accumulates rows x 16 outputs over `pairs` depth pairs in s32, then adds them, scaled by the
// row's and the column's scales, to the bias (first chunk) or to what earlier chunks stored.
// x holds the rows' s16 pairs as packed by PackPairs: pair p of row r at x[p * kRows + r].
template <size_t kRows>
void MicroKernel(const int32_t* x, const float* row_scales, const int8_t* panel, size_t pairs,
                 const float* weight_scales, const float* bias, bool first_chunk, float* dst,
                 size_t ld_dst) {
  __m256i lo[kRows];
  __m256i hi[kRows];
#pragma GCC unroll 6
  for (size_t r = 0; r < kRows; ++r) {
    lo[r] = _mm256_setzero_si256();
    hi[r] = _mm256_setzero_si256();
  }
#pragma GCC unroll 4
  for (size_t p = 0; p < pairs; ++p) {
    const auto* w = reinterpret_cast<const __m128i*>(panel + p * kPairBytes);
    const __m256i w_lo = _mm256_cvtepi8_epi16(_mm_load_si128(w));
    const __m256i w_hi = _mm256_cvtepi8_epi16(_mm_load_si128(w + 1));
#pragma GCC unroll 6
    for (size_t r = 0; r < kRows; ++r) {
      const __m256i pair = _mm256_set1_epi32(x[p * kRows + r]);
      lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(pair, w_lo));
      hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(pair, w_hi));
    }
  }
  const __m256 scale_lo = _mm256_loadu_ps(weight_scales);
  const __m256 scale_hi = _mm256_loadu_ps(weight_scales + 8);
#pragma GCC unroll 6
  for (size_t r = 0; r < kRows; ++r) {
    float* out = dst + r * ld_dst;
    const __m256 base_lo = _mm256_loadu_ps(first_chunk ? bias : out);
    const __m256 base_hi = _mm256_loadu_ps(first_chunk ? bias + 8 : out + 8);
    const __m256 row_scale = _mm256_set1_ps(row_scales[r]);
    _mm256_storeu_ps(out, _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo[r]),
                                          _mm256_mul_ps(scale_lo, row_scale), base_lo));
    _mm256_storeu_ps(out + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[r]),
                                              _mm256_mul_ps(scale_hi, row_scale), base_hi));
  }
}

using MicroKernelFn = void (*)(const int32_t*, const float*, const int8_t*, size_t, const float*,
                               const float*, bool, float*, size_t);

// PackPairs copies the s16 pairs of rows [0, num_rows) of src into micro-panels: each block of
// kRowBlock rows (the last may be shorter) as [pair][block rows], so a micro-kernel reads x as
// one stream.
void PackPairs(const int16_t* src, size_t ld_src, size_t num_rows, int32_t* out) {
  const size_t pairs = ld_src / 2;
  for (size_t row = 0; row < num_rows; row += kRowBlock) {
    const size_t block_rows = MinSize(kRowBlock, num_rows - row);
    for (size_t p = 0; p < pairs; ++p) {
      for (size_t r = 0; r < block_rows; ++r) {
        __builtin_memcpy(out++, src + (row + r) * ld_src + 2 * p, sizeof(int32_t));
      }
    }
  }
}
constexpr MicroKernelFn kTailKernels[kRowBlock] = {nullptr,        MicroKernel<1>, MicroKernel<2>,
                                                   MicroKernel<3>, MicroKernel<4>, MicroKernel<5>};

}  // namespace

size_t IgemmPaddedDepth(size_t in) { return (in + 1) / 2 * 2; }

size_t IgemmXPanelPairs(size_t in) { return kRowsPerPass * IgemmPaddedDepth(in) / 2; }

size_t IgemmScaleCount(size_t in, size_t out) {
  return (IgemmPaddedDepth(in) + kIgemmDepthChunk - 1) / kIgemmDepthChunk * out;
}

void PackIgemmWeightsAvx2(const float* weight, size_t in, size_t out, int8_t* packed,
                          float* scales) {
  const size_t depth_padded = IgemmPaddedDepth(in);
  int8_t* next = packed;
  for (size_t chunk = 0; chunk < depth_padded; chunk += kIgemmDepthChunk) {
    const size_t depth = MinSize(kIgemmDepthChunk, depth_padded - chunk);
    const size_t chunk_end = MinSize(chunk + depth, in);
    float* chunk_scales = scales + chunk / kIgemmDepthChunk * out;
    for (size_t o = 0; o < out; ++o) {
      float max_abs = 0.0f;
      for (size_t k = chunk; k < chunk_end; ++k) {
        const float a = __builtin_fabsf(weight[o * in + k]);
        max_abs = a > max_abs ? a : max_abs;
      }
      chunk_scales[o] = max_abs > 0.0f ? max_abs / kWeightLevels : 1.0f;
    }
    for (size_t col = 0; col < out; col += kIgemmPanelCols) {
      for (size_t k = chunk; k < chunk + depth; k += 2) {
        for (size_t c = 0; c < kIgemmPanelCols; ++c) {
          const size_t o = col + c;
          const float inv_scale = 1.0f / chunk_scales[o];
          *next++ = QuantizeWeight(weight[o * in + k], inv_scale);
          *next++ = k + 1 < in ? QuantizeWeight(weight[o * in + k + 1], inv_scale) : 0;
        }
      }
    }
  }
}

float QuantizeRowS16Avx2(const float* x, size_t in, int16_t* out) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  __m256 vmax = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= in; i += 8) {
    vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + i)));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, vmax);
  float max_abs = 0.0f;
  for (const float lane : lanes) {
    max_abs = lane > max_abs ? lane : max_abs;
  }
  for (; i < in; ++i) {
    const float a = __builtin_fabsf(x[i]);
    max_abs = a > max_abs ? a : max_abs;
  }
  const float inv_scale = max_abs > 0.0f ? kActivationLevels / max_abs : 0.0f;
  const __m256 vinv = _mm256_set1_ps(inv_scale);
  i = 0;
  for (; i + 16 <= in; i += 16) {
    // Round to nearest even (the default MXCSR mode), then saturate to s16; packs works within
    // 128-bit lanes, the permute puts the four 64-bit groups back in order.
    const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), vinv));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));
  }
  for (; i < in; ++i) {
    float q = __builtin_nearbyintf(x[i] * inv_scale);
    q = q < -kActivationLevels ? -kActivationLevels : q;
    q = q > kActivationLevels ? kActivationLevels : q;
    out[i] = static_cast<int16_t>(q);
  }
  if (in % 2 != 0) {
    out[in] = 0;
  }
  return max_abs / kActivationLevels;
}

void IgemmBlockAvx2(const int16_t* src_q, const float* row_scales, size_t in, size_t out,
                    const int8_t* packed, const float* weight_scales, const float* bias,
                    const SgemmRange& rows, const SgemmRange& panels, int32_t* x_pairs,
                    float* dst) {
  // The depth chunks are the innermost loop: a row block's 6 x 16 outputs stay in L1 from one
  // chunk's dequantization to the next, and a panel's weights (in x 16 bytes) stay in L1 while
  // the pass's row blocks go by.
  const size_t ld_src = IgemmPaddedDepth(in);
  for (size_t rows_begin = rows.begin; rows_begin < rows.end; rows_begin += kRowsPerPass) {
    const size_t rows_end = MinSize(rows.end, rows_begin + kRowsPerPass);
    PackPairs(src_q + rows_begin * ld_src, ld_src, rows_end - rows_begin, x_pairs);
    for (size_t panel = panels.begin; panel < panels.end; ++panel) {
      const size_t col = panel * kIgemmPanelCols;
      const int32_t* x_block = x_pairs;
      for (size_t row = rows_begin; row < rows_end; row += kRowBlock) {
        const size_t block_rows = MinSize(kRowBlock, rows_end - row);
        const MicroKernelFn kernel =
            block_rows == kRowBlock ? MicroKernel<kRowBlock> : kTailKernels[block_rows];
        for (size_t chunk = 0; chunk < ld_src; chunk += kIgemmDepthChunk) {
          const size_t depth = MinSize(kIgemmDepthChunk, ld_src - chunk);
          const int8_t* weights = packed + chunk * out + panel * depth * kIgemmPanelCols;
          const float* chunk_scales = weight_scales + chunk / kIgemmDepthChunk * out;
          kernel(x_block + chunk / 2 * block_rows, row_scales + row, weights, depth / 2,
                 chunk_scales + col, bias + col, chunk == 0, dst + row * out + col, out);
        }
        x_block += block_rows * ld_src / 2;
      }
    }
  }
}

}  // namespace eml::engine::kernels

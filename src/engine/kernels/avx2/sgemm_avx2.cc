// Packed fp32 matrix product on AVX2 + FMA (layout and contract in sgemm_avx2.h). Compiled with
// -mavx2 -mfma whatever the build's -march; no standard-library templates or inline functions here
// for the reason given in kernels_avx2.cc.

#include "engine/kernels/avx2/sgemm_avx2.h"

#include <immintrin.h>

#include <cstddef>

namespace eml::engine::kernels {
namespace {

// Six rows x two 8-float vectors: 12 accumulators, 2 weight vectors and 1 broadcast of the 16
// ymm registers; each depth step is 12 FMAs against 2 weight loads and 6 broadcasts.
constexpr size_t kRowBlock = 6;
// Rows of x that one pass over a depth chunk's panels takes: 96 rows x 256 inputs is 96 KiB of x,
// which stays in L2 while the panels go by; longer inputs take several passes.
constexpr size_t kRowsPerPass = 96;

size_t MinSize(size_t a, size_t b) { return a < b ? a : b; }

// Accumulates rows x 16 outputs over `depth` inputs. On the first depth chunk the accumulators
// start from the bias, afterwards from what earlier chunks stored in dst.
// The row loops must unroll completely for the accumulators to live in registers; -O2 does not do
// that by itself, hence the pragmas.
template <size_t kRows>
void MicroKernel(const float* src, size_t ld_src, const float* panel, size_t depth,
                 const float* bias, bool first_chunk, float* dst, size_t ld_dst) {
  __m256 lo[kRows];
  __m256 hi[kRows];
  if (first_chunk) {
    const __m256 bias_lo = _mm256_loadu_ps(bias);
    const __m256 bias_hi = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
    for (size_t r = 0; r < kRows; ++r) {
      lo[r] = bias_lo;
      hi[r] = bias_hi;
    }
  } else {
#pragma GCC unroll 6
    for (size_t r = 0; r < kRows; ++r) {
      lo[r] = _mm256_loadu_ps(dst + r * ld_dst);
      hi[r] = _mm256_loadu_ps(dst + r * ld_dst + 8);
    }
  }
#pragma GCC unroll 4
  for (size_t k = 0; k < depth; ++k) {
    const __m256 w_lo = _mm256_load_ps(panel + k * kSgemmPanelCols);
    const __m256 w_hi = _mm256_load_ps(panel + k * kSgemmPanelCols + 8);
#pragma GCC unroll 6
    for (size_t r = 0; r < kRows; ++r) {
      const __m256 x = _mm256_broadcast_ss(src + r * ld_src + k);
      lo[r] = _mm256_fmadd_ps(x, w_lo, lo[r]);
      hi[r] = _mm256_fmadd_ps(x, w_hi, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (size_t r = 0; r < kRows; ++r) {
    _mm256_storeu_ps(dst + r * ld_dst, lo[r]);
    _mm256_storeu_ps(dst + r * ld_dst + 8, hi[r]);
  }
}

using MicroKernelFn = void (*)(const float*, size_t, const float*, size_t, const float*, bool,
                               float*, size_t);
constexpr MicroKernelFn kTailKernels[kRowBlock] = {nullptr,        MicroKernel<1>, MicroKernel<2>,
                                                   MicroKernel<3>, MicroKernel<4>, MicroKernel<5>};

constexpr float kZeroBias[kSgemmPanelCols] = {};

}  // namespace

void PackSgemmWeightsAvx2(const float* weight, size_t in, size_t out, float* packed) {
  float* next = packed;
  for (size_t chunk = 0; chunk < in; chunk += kSgemmDepthChunk) {
    const size_t depth = MinSize(kSgemmDepthChunk, in - chunk);
    for (size_t col = 0; col < out; col += kSgemmPanelCols) {
      for (size_t k = 0; k < depth; ++k) {
        for (size_t c = 0; c < kSgemmPanelCols; ++c) {
          *next++ = weight[(col + c) * in + chunk + k];
        }
      }
    }
  }
}

void SgemmBlockAvx2(const float* src, size_t in, size_t out, const float* packed, const float* bias,
                    const SgemmRange& rows, const SgemmRange& panels, float* dst) {
  for (size_t chunk = 0; chunk < in; chunk += kSgemmDepthChunk) {
    const size_t depth = MinSize(kSgemmDepthChunk, in - chunk);
    const bool first_chunk = chunk == 0;
    const float* chunk_panels = packed + chunk * out;
    for (size_t rows_begin = rows.begin; rows_begin < rows.end; rows_begin += kRowsPerPass) {
      const size_t rows_end = MinSize(rows.end, rows_begin + kRowsPerPass);
      const size_t full_end = rows_begin + (rows_end - rows_begin) / kRowBlock * kRowBlock;
      const MicroKernelFn tail = kTailKernels[rows_end - full_end];
      for (size_t panel = panels.begin; panel < panels.end; ++panel) {
        const float* weights = chunk_panels + panel * depth * kSgemmPanelCols;
        const size_t col = panel * kSgemmPanelCols;
        for (size_t row = rows_begin; row < full_end; row += kRowBlock) {
          MicroKernel<kRowBlock>(src + row * in + chunk, in, weights, depth, bias + col,
                                 first_chunk, dst + row * out + col, out);
        }
        if (tail != nullptr) {
          tail(src + full_end * in + chunk, in, weights, depth, bias + col, first_chunk,
               dst + full_end * out + col, out);
        }
      }
    }
  }
}

void PanelProductAvx2(const float* src, size_t ld_src, size_t num_rows, const float* panels,
                      size_t depth, size_t num_panels, float* dst, size_t ld_dst) {
  const size_t full_end = num_rows / kRowBlock * kRowBlock;
  const MicroKernelFn tail = kTailKernels[num_rows - full_end];
  for (size_t panel = 0; panel < num_panels; ++panel) {
    const float* b = panels + panel * depth * kSgemmPanelCols;
    const size_t col = panel * kSgemmPanelCols;
    for (size_t row = 0; row < full_end; row += kRowBlock) {
      MicroKernel<kRowBlock>(src + row * ld_src, ld_src, b, depth, kZeroBias, true,
                             dst + row * ld_dst + col, ld_dst);
    }
    if (tail != nullptr) {
      tail(src + full_end * ld_src, ld_src, b, depth, kZeroBias, true,
           dst + full_end * ld_dst + col, ld_dst);
    }
  }
}

}  // namespace eml::engine::kernels

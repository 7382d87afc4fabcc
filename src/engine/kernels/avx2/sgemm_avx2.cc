// Packed fp32 matrix product on AVX2 + FMA (layout and contract in sgemm_avx2.h). Compiled with
// -mavx2 -mfma whatever the build's -march; no standard-library templates or inline functions here
// for the reason given in kernels_avx2.cc.

#include "engine/kernels/avx2/sgemm_avx2.h"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernels.h"

namespace eml::engine::kernels {
namespace {

// Six rows x two 8-float vectors: 12 accumulators, 2 weight vectors and 1 broadcast of the 16
// ymm registers; each depth step is 12 FMAs against 2 weight loads and 6 broadcasts.
constexpr size_t kRowBlock = 6;
// Rows of x that one pass over a depth chunk's panels takes (kSgemmXPanelFloats = 96 rows x 256
// inputs is 96 KiB of x), which stay in L2 while the panels go by; longer inputs take several
// passes.
constexpr size_t kRowsPerPass = kSgemmXPanelFloats / kSgemmDepthChunk;

size_t MinSize(size_t a, size_t b) { return a < b ? a : b; }

// How a micro-kernel reads one depth step (16 weights) of a packed panel as two f32 vectors.
struct F32Panel {
  using Element = float;
  static void Load(const float* panel, size_t k, __m256& lo, __m256& hi) {
    lo = _mm256_load_ps(panel + k * kSgemmPanelCols);
    hi = _mm256_load_ps(panel + k * kSgemmPanelCols + 8);
  }
};

// A bf16 depth step is one 32-byte load: 32-bit lane j holds output j in its low half and output
// 8 + j in its high half, so a shift and a mask (no shuffles) give the two f32 vectors.
struct Bf16Panel {
  using Element = uint16_t;
  static void Load(const uint16_t* panel, size_t k, __m256& lo, __m256& hi) {
    const __m256i pairs =
        _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + k * kSgemmPanelCols));
    lo = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
    hi = _mm256_castsi256_ps(_mm256_and_si256(pairs, _mm256_set1_epi32(-65536)));
  }
  // The panel position of output column c (0..15).
  static size_t Position(size_t c) { return c < 8 ? 2 * c : 2 * (c - 8) + 1; }
};

// Accumulates rows x 16 outputs over `depth` inputs. On the first depth chunk the accumulators
// start from the bias, afterwards from what earlier chunks stored in dst.
// The row loops must unroll completely for the accumulators to live in registers; -O2 does not do
// that by itself, hence the pragmas.
template <size_t kRows, typename Panel, bool kPackedX = false>
void MicroKernel(const float* src, size_t ld_src, const typename Panel::Element* panel,
                 size_t depth, const float* bias, bool first_chunk, float* dst, size_t ld_dst) {
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
    __m256 w_lo;
    __m256 w_hi;
    Panel::Load(panel, k, w_lo, w_hi);
#pragma GCC unroll 6
    for (size_t r = 0; r < kRows; ++r) {
      const __m256 x = _mm256_broadcast_ss(kPackedX ? src + k * kRows + r : src + r * ld_src + k);
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

template <typename Panel>
using MicroKernelFn = void (*)(const float*, size_t, const typename Panel::Element*, size_t,
                               const float*, bool, float*, size_t);
template <typename Panel>
constexpr MicroKernelFn<Panel> kPackedTailKernels[kRowBlock] = {nullptr,
                                                                MicroKernel<1, Panel, true>,
                                                                MicroKernel<2, Panel, true>,
                                                                MicroKernel<3, Panel, true>,
                                                                MicroKernel<4, Panel, true>,
                                                                MicroKernel<5, Panel, true>};
template <typename Panel>
constexpr MicroKernelFn<Panel> kTailKernels[kRowBlock] = {nullptr,
                                                          MicroKernel<1, Panel>,
                                                          MicroKernel<2, Panel>,
                                                          MicroKernel<3, Panel>,
                                                          MicroKernel<4, Panel>,
                                                          MicroKernel<5, Panel>};

constexpr float kZeroBias[kSgemmPanelCols] = {};

// PackRows copies rows [0, num_rows) x [0, depth) of src into micro-panels: each block of
// kRowBlock rows (the last may be shorter) as [depth][block rows], so a micro-kernel reads x
// as one contiguous stream.
void PackRows(const float* src, size_t ld_src, size_t num_rows, size_t depth, float* out) {
  for (size_t row = 0; row < num_rows; row += kRowBlock) {
    const size_t block_rows = MinSize(kRowBlock, num_rows - row);
    for (size_t k = 0; k < depth; ++k) {
      for (size_t r = 0; r < block_rows; ++r) {
        *out++ = src[(row + r) * ld_src + k];
      }
    }
  }
}

template <typename Panel>
void GemmBlock(const float* src, size_t in, size_t out, const typename Panel::Element* packed,
               const float* bias, const SgemmRange& rows, const SgemmRange& panels, float* x_panels,
               float* dst) {
  for (size_t chunk = 0; chunk < in; chunk += kSgemmDepthChunk) {
    const size_t depth = MinSize(kSgemmDepthChunk, in - chunk);
    const bool first_chunk = chunk == 0;
    const typename Panel::Element* chunk_panels = packed + chunk * out;
    for (size_t rows_begin = rows.begin; rows_begin < rows.end; rows_begin += kRowsPerPass) {
      const size_t rows_end = MinSize(rows.end, rows_begin + kRowsPerPass);
      const size_t full_end = rows_begin + (rows_end - rows_begin) / kRowBlock * kRowBlock;
      const MicroKernelFn<Panel> tail = kPackedTailKernels<Panel>[rows_end - full_end];
      PackRows(src + rows_begin * in + chunk, in, rows_end - rows_begin, depth, x_panels);
      for (size_t panel = panels.begin; panel < panels.end; ++panel) {
        const typename Panel::Element* weights = chunk_panels + panel * depth * kSgemmPanelCols;
        const size_t col = panel * kSgemmPanelCols;
        const float* x = x_panels;
        for (size_t row = rows_begin; row < full_end; row += kRowBlock, x += kRowBlock * depth) {
          MicroKernel<kRowBlock, Panel, true>(x, 0, weights, depth, bias + col, first_chunk,
                                              dst + row * out + col, out);
        }
        if (tail != nullptr) {
          tail(x, 0, weights, depth, bias + col, first_chunk, dst + full_end * out + col, out);
        }
      }
    }
  }
}

// PackPanels lays out weights as GemmBlock reads them; `store(w, slot)` writes weight w of output
// column c into the panel's depth step at slot + c's position.
template <typename Store>
void PackPanels(const float* weight, size_t in, size_t out, Store store) {
  size_t step = 0;
  for (size_t chunk = 0; chunk < in; chunk += kSgemmDepthChunk) {
    const size_t depth = MinSize(kSgemmDepthChunk, in - chunk);
    for (size_t col = 0; col < out; col += kSgemmPanelCols) {
      for (size_t k = 0; k < depth; ++k, ++step) {
        for (size_t c = 0; c < kSgemmPanelCols; ++c) {
          store(weight[(col + c) * in + chunk + k], step * kSgemmPanelCols, c);
        }
      }
    }
  }
}

}  // namespace

void PackSgemmWeightsAvx2(const float* weight, size_t in, size_t out, float* packed) {
  PackPanels(weight, in, out, [packed](float w, size_t slot, size_t c) { packed[slot + c] = w; });
}

void PackBf16WeightsAvx2(const float* weight, size_t in, size_t out, uint16_t* packed) {
  PackPanels(weight, in, out, [packed](float w, size_t slot, size_t c) {
    ToBf16Ref(&w, 1, packed + slot + Bf16Panel::Position(c));
  });
}

void SgemmBlockAvx2(const float* src, size_t in, size_t out, const float* packed, const float* bias,
                    const SgemmRange& rows, const SgemmRange& panels, float* x_panels, float* dst) {
  GemmBlock<F32Panel>(src, in, out, packed, bias, rows, panels, x_panels, dst);
}

void Bf16GemmBlockAvx2(const float* src, size_t in, size_t out, const uint16_t* packed,
                       const float* bias, const SgemmRange& rows, const SgemmRange& panels,
                       float* x_panels, float* dst) {
  GemmBlock<Bf16Panel>(src, in, out, packed, bias, rows, panels, x_panels, dst);
}

void PanelProductAvx2(const float* src, size_t ld_src, size_t num_rows, const float* panels,
                      size_t depth, size_t num_panels, float* dst, size_t ld_dst) {
  const size_t full_end = num_rows / kRowBlock * kRowBlock;
  const MicroKernelFn<F32Panel> tail = kTailKernels<F32Panel>[num_rows - full_end];
  for (size_t panel = 0; panel < num_panels; ++panel) {
    const float* b = panels + panel * depth * kSgemmPanelCols;
    const size_t col = panel * kSgemmPanelCols;
    for (size_t row = 0; row < full_end; row += kRowBlock) {
      MicroKernel<kRowBlock, F32Panel>(src + row * ld_src, ld_src, b, depth, kZeroBias, true,
                                       dst + row * ld_dst + col, ld_dst);
    }
    if (tail != nullptr) {
      tail(src + full_end * ld_src, ld_src, b, depth, kZeroBias, true,
           dst + full_end * ld_dst + col, ld_dst);
    }
  }
}

}  // namespace eml::engine::kernels

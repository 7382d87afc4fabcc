#pragma once
// Linear: y[m, out] = x[m, in] * W^T + b on a oneDNN 2.6 matmul primitive created once at load,
// with the weights reordered once into the layout oneDNN picks (format_tag::any) and M given at
// run time (DNNL_RUNTIME_DIM_VAL), so one primitive serves every batch size.
//
// Matmul types:
//   kF32  f32 x f32 -> f32, bias fused. On CPUs with AVX2 + FMA and no AVX-512 the product runs
//         on our packed AVX2 kernel (kernels/avx2/sgemm_avx2.h: weights packed once, no oneDNN
//         primitive), where oneDNN 2.6 only has a generic sgemm that repacks weights per call;
//         elsewhere on oneDNN (brgemm on AVX-512).
//   kBf16 weights rounded to bf16 at load; f32 accumulation and output, bias fused. On CPUs
//         with AVX2 + FMA and no AVX-512 (and `out` a multiple of 16) it runs on our packed
//         kernel (kernels/avx2/sgemm_avx2.h), which keeps the activations f32 and widens the
//         bf16 weights in registers; elsewhere on oneDNN (AVX-512), which also rounds the
//         activations to bf16 per call (our kernel).
//   kInt8 weights s8 with one scale per output channel; activations quantized per call with one
//         scale per row (token). On CPUs with AVX2 and no AVX-512 (and `out` a multiple of 16)
//         it runs on our packed kernel (kernels/avx2/igemm_avx2.h): weights max |w| / 127 per
//         output channel and block of 64 inputs, activations s16 (max |x| / 32767), VPMADDWD
//         products that cannot saturate; no smoothing is applied there (16-bit activations do not
//         need it). Elsewhere on oneDNN: weights max |w| / 127, or / 63 on CPUs without VNNI, whose
//         int8 kernels saturate 16-bit pair sums; activations s8 quantized by our kernels; s8 x s8
//         -> s32, the weight scales applied as oneDNN output scales, the row scale and bias by our
//         scale_add kernel. Optional input smoothing (SmoothQuant, oneDNN path only): column j of W
//         is multiplied by s_j at load and x_j divided by s_j before quantization, moving the range
//         of outlier input channels into the weights; the product is unchanged in exact arithmetic.
//
// Thread safety: a Linear is immutable after Create; Forward may run concurrently on distinct
// buffers and streams. Forward allocates no buffers of its own (the caller passes them, sized by
// ConvertedSrcBytes / scratchpad_bytes); oneDNN creates small memory handles per call.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "engine/internal/aligned_buffer.h"
#include "engine/kernels/kernels.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace eml::engine::internal {

enum class MatmulType { kF32, kBf16, kInt8 };

// Which code runs a product: kAuto picks our packed AVX2 kernels on CPUs with AVX2 + FMA and no
// AVX-512 when `out` is a multiple of 16 (PackedAvx2Preferred()), oneDNN otherwise. The others
// force one (tests and benchmarks compare them).
enum class MatmulKernel { kAuto, kOneDnn, kPackedAvx2 };

// DnnlEngine returns the process-wide CPU engine (created on first use; thread-safe).
const dnnl::engine& DnnlEngine();

// PackedAvx2Preferred reports whether kAuto picks the packed AVX2 kernels on this CPU.
bool PackedAvx2Preferred();

// Bf16MatmulAvailable reports whether bf16 matmuls run on this CPU, on our packed AVX2 kernel or
// on oneDNN (probed once).
bool Bf16MatmulAvailable();

// Buffers a Forward call works in; all owned by the caller (the encoder's workspace).
struct LinearBuffers {
  void* converted_src = nullptr;  // ConvertedSrcBytes(m) bytes, 64-byte aligned.
  float* row_scales = nullptr;    // m floats (kInt8 only).
  // thread_scratch_bytes() bytes per OpenMP thread, thread t's at t * thread_scratch_bytes(),
  // 64-byte aligned.
  void* thread_scratch = nullptr;
  void* scratchpad = nullptr;  // scratchpad_bytes() bytes, 64-byte aligned.
};

class Linear {
 public:
  Linear() = default;  // An empty placeholder; only Create makes a usable Linear.

  // Create builds the primitive for `type` from PyTorch-layout weights `weight` ([out, in],
  // row-major) and `bias` ([out]). Errors: kInvalidArgument (sizes do not match in/out),
  // kEngineUnsupportedPrecision (no implementation of `type` on this CPU, e.g. bf16 on a CPU
  // with neither AVX2 + FMA nor AVX-512), kInternal (any other oneDNN failure).
  // `smoothing` (kInt8 only; empty = none) holds in positive per-input-channel factors s_j.
  // kPackedAvx2 fails with kEngineUnsupportedPrecision on a CPU without AVX2 + FMA or when `out`
  // is not a multiple of 16.
  static Result<Linear> Create(MatmulType type, size_t in, size_t out,
                               std::span<const float> weight, std::span<const float> bias,
                               std::span<const float> smoothing = {},
                               MatmulKernel kernel = MatmulKernel::kAuto);

  // Forward computes dst[m, out] = src[m, in] * W^T + b for m >= 1 rows (row-major, contiguous).
  // Runs on the calling thread's OpenMP pool (omp_get_max_threads()). Errors: kInternal (oneDNN
  // failed at execution).
  Status Forward(const float* src, size_t m, float* dst, const LinearBuffers& buffers,
                 dnnl::stream& stream, const kernels::KernelTable& kernels) const;

  // ConvertedSrcBytes is the size of LinearBuffers::converted_src for m rows (0 for kF32).
  size_t ConvertedSrcBytes(size_t m) const;
  size_t scratchpad_bytes() const { return scratchpad_bytes_; }
  // thread_scratch_bytes is the size of each thread's LinearBuffers::thread_scratch (a multiple
  // of 64, so threads never share a cache line): the packed kernels copy rows of x there, oneDNN
  // kInt8 with smoothing divides a row there; 0 for the other paths.
  size_t thread_scratch_bytes() const;
  size_t in() const { return in_; }
  size_t out() const { return out_; }
  MatmulType type() const { return type_; }
  // impl_info names the implementation chosen (oneDNN's, e.g. "brg:avx512_core", or
  // "packed:avx2" / "packed:avx2-bf16w" / "packed:avx2-s8s16"), for logs and benchmarks.
  const char* impl_info() const;

 private:
  enum class Path { kOneDnn, kPackedF32, kPackedBf16, kPackedInt8 };

  MatmulType type_ = MatmulType::kF32;
  Path path_ = Path::kOneDnn;
  size_t in_ = 0;
  size_t out_ = 0;
  size_t scratchpad_bytes_ = 0;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul primitive_;
  dnnl::memory weights_;  // Prepacked, owned by oneDNN.
  dnnl::memory bias_;     // f32 [1, out] (kF32, kBf16: fused; kInt8 and packed: read by us).
  AlignedBuffer packed_weights_;      // f32, bf16 or s8 panels (the packed paths).
  std::vector<float> weight_scales_;  // kPackedInt8: per output channel and depth chunk.
  std::vector<float> inv_smoothing_;  // 1 / s_j, or empty.
};

}  // namespace eml::engine::internal

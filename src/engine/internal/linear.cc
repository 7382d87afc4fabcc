#include "engine/internal/linear.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/check.h"
#include "engine/kernels/avx2/igemm_avx2.h"
#include "engine/kernels/avx2/sgemm_avx2.h"

namespace eml::engine::internal {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using dims = dnnl::memory::dims;

// Below this many elements a conversion loop runs on the calling thread: an OpenMP fork costs
// more than it saves.
constexpr size_t kParallelElements = 1 << 15;
// Below this many multiply-adds a packed product runs on the calling thread.
constexpr size_t kParallelMacs = 1 << 16;
// Rows per thread from which a packed product splits its rows rather than its columns.
constexpr size_t kRowSplitRows = 96;

// ThreadBlock is this OpenMP thread's share of a packed product of m rows and `panels` column
// panels. Long inputs split by rows: every thread streams the same weights, which the shared L3
// then serves once. Short ones split by output columns: each weight is read by one thread.
struct ThreadBlock {
  kernels::SgemmRange rows;
  kernels::SgemmRange panels;
};

ThreadBlock ThisThreadBlock(size_t m, size_t panels) {
  const auto threads = static_cast<size_t>(omp_get_num_threads());
  const auto thread = static_cast<size_t>(omp_get_thread_num());
  ThreadBlock block{{0, m}, {0, panels}};
  kernels::SgemmRange& split = m >= kRowSplitRows * threads ? block.rows : block.panels;
  const size_t total = split.end;
  split = {total * thread / threads, total * (thread + 1) / threads};
  return block;
}

// ThisThreadScratch returns the calling OpenMP thread's part of buffers.thread_scratch.
template <typename T>
T* ThisThreadScratch(const LinearBuffers& buffers, size_t bytes_per_thread) {
  auto* base = static_cast<unsigned char*>(buffers.thread_scratch);
  return reinterpret_cast<T*>(base + static_cast<size_t>(omp_get_thread_num()) * bytes_per_thread);
}

dt SrcType(MatmulType type) {
  switch (type) {
    case MatmulType::kF32:
      return dt::f32;
    case MatmulType::kBf16:
      return dt::bf16;
    case MatmulType::kInt8:
      return dt::s8;
  }
  return dt::f32;
}

// Without VNNI, oneDNN's int8 kernels multiply u8 x s8 pairs with VPMADDUBSW, whose 16-bit sums
// saturate (2 * 255 * 127 > 32767). Weights limited to 7 bits (|q| <= 63) cannot saturate there.
float WeightLevels() {
  __builtin_cpu_init();
  const bool vnni = __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
  return vnni ? 127.0f : 63.0f;
}

Error FromDnnl(const dnnl::error& e, const char* what) {
  const ErrorCode code = e.status == dnnl_unimplemented ? ErrorCode::kEngineUnsupportedPrecision
                                                        : ErrorCode::kInternal;
  return Error{code, std::string("oneDNN ") + what + ": " + e.what()};
}

}  // namespace

bool PackedAvx2Preferred() {
  return kernels::IsaKernels(kernels::Isa::kAvx2) != nullptr &&
         kernels::IsaKernels(kernels::Isa::kAvx512) == nullptr;
}

const dnnl::engine& DnnlEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

Result<Linear> Linear::Create(MatmulType type, size_t in, size_t out, std::span<const float> weight,
                              std::span<const float> bias, std::span<const float> smoothing,
                              MatmulKernel kernel) {
  if (in == 0 || out == 0 || weight.size() != in * out || bias.size() != out) {
    return Error{ErrorCode::kInvalidArgument, "linear weight/bias sizes do not match in/out"};
  }
  if (!smoothing.empty() && (type != MatmulType::kInt8 || smoothing.size() != in)) {
    return Error{ErrorCode::kInvalidArgument, "smoothing needs kInt8 and one factor per input"};
  }
  for (const float s : smoothing) {
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return Error{ErrorCode::kInvalidArgument, "smoothing factors must be positive and finite"};
    }
  }
  Linear linear;
  linear.type_ = type;
  linear.in_ = in;
  linear.out_ = out;
  const bool fits_panels = out % kernels::kSgemmPanelCols == 0;
  if (kernel == MatmulKernel::kPackedAvx2 &&
      (kernels::IsaKernels(kernels::Isa::kAvx2) == nullptr || !fits_panels)) {
    return Error{ErrorCode::kEngineUnsupportedPrecision,
                 "the packed kernels need AVX2 + FMA and a multiple of 16 outputs"};
  }
  if (kernel == MatmulKernel::kPackedAvx2 ||
      (kernel == MatmulKernel::kAuto && fits_panels && PackedAvx2Preferred())) {
    try {
      linear.bias_ =
          dnnl::memory({{1, static_cast<dnnl::memory::dim>(out)}, dt::f32, tag::ab}, DnnlEngine());
    } catch (const dnnl::error& e) {
      return FromDnnl(e, "bias allocation");
    }
    std::copy(bias.begin(), bias.end(), static_cast<float*>(linear.bias_.get_data_handle()));
    if (type == MatmulType::kF32) {
      linear.path_ = Path::kPackedF32;
      linear.packed_weights_.EnsureBytes(in * out * sizeof(float));
      kernels::PackSgemmWeightsAvx2(weight.data(), in, out, linear.packed_weights_.floats());
    } else if (type == MatmulType::kBf16) {
      linear.path_ = Path::kPackedBf16;
      linear.packed_weights_.EnsureBytes(in * out * sizeof(uint16_t));
      kernels::PackBf16WeightsAvx2(weight.data(), in, out,
                                   static_cast<uint16_t*>(linear.packed_weights_.data()));
    } else {
      linear.path_ = Path::kPackedInt8;
      linear.packed_weights_.EnsureBytes(kernels::IgemmPaddedDepth(in) * out);
      linear.weight_scales_.resize(kernels::IgemmScaleCount(in, out));
      kernels::PackIgemmWeightsAvx2(weight.data(), in, out,
                                    static_cast<int8_t*>(linear.packed_weights_.data()),
                                    linear.weight_scales_.data());
    }
    return linear;
  }
  const auto k = static_cast<dnnl::memory::dim>(in);
  const auto n = static_cast<dnnl::memory::dim>(out);
  try {
    const dnnl::engine& engine = DnnlEngine();
    const dnnl::memory::desc src_md({DNNL_RUNTIME_DIM_VAL, k}, SrcType(type), tag::ab);
    const dnnl::memory::desc wei_md({k, n}, SrcType(type), tag::any);
    const dnnl::memory::desc bias_md({1, n}, dt::f32, tag::ab);
    const dnnl::memory::desc dst_md({DNNL_RUNTIME_DIM_VAL, n}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    // Weights as oneDNN reads them: logical [in, out] over PyTorch's [out, in] storage ("ba").
    std::vector<int8_t> quantized;
    dnnl::memory user_weights;
    if (type == MatmulType::kInt8) {
      std::vector<float> scales(out);
      quantized.resize(in * out);
      const float levels = WeightLevels();
      std::vector<float> smoothed_row(in);
      if (!smoothing.empty()) {
        linear.inv_smoothing_.resize(in);
        for (size_t i = 0; i < in; ++i) {
          linear.inv_smoothing_[i] = 1.0f / smoothing[i];
        }
      }
      for (size_t o = 0; o < out; ++o) {
        const float* row = weight.data() + o * in;
        if (!smoothing.empty()) {
          kernels::MulRef(row, smoothing.data(), in, smoothed_row.data());
          row = smoothed_row.data();
        }
        const float max_abs = kernels::MaxAbsRef(row, in);
        scales[o] = max_abs > 0.0f ? max_abs / levels : 1.0f;
        kernels::QuantizeS8Ref(row, in, max_abs > 0.0f ? levels / max_abs : 1.0f,
                               quantized.data() + o * in);
      }
      attr.set_output_scales(1 << 1, scales);
      user_weights = dnnl::memory({{k, n}, dt::s8, tag::ba}, engine, quantized.data());
      linear.pd_ =
          dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), attr, engine);
    } else {
      // oneDNN reads but never writes user weights; its API takes a non-const handle.
      user_weights =
          dnnl::memory({{k, n}, dt::f32, tag::ba}, engine, const_cast<float*>(weight.data()));
      linear.pd_ = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, bias_md, dst_md),
                                                attr, engine);
    }
    linear.primitive_ = dnnl::matmul(linear.pd_);
    linear.scratchpad_bytes_ = linear.pd_.scratchpad_desc().get_size();
    linear.weights_ = dnnl::memory(linear.pd_.weights_desc(), engine);
    dnnl::stream stream(engine);
    dnnl::reorder(user_weights, linear.weights_).execute(stream, user_weights, linear.weights_);
    linear.bias_ = dnnl::memory(bias_md, engine);
    float* bias_copy = static_cast<float*>(linear.bias_.get_data_handle());
    for (size_t o = 0; o < out; ++o) {
      bias_copy[o] = bias[o];
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    return FromDnnl(e, "matmul creation");
  }
  return linear;
}

bool Bf16MatmulAvailable() {
  static const bool available = [] {
    const std::vector<float> w(16 * 16, 0.5f), b(16, 0.0f);
    return Linear::Create(MatmulType::kBf16, 16, 16, w, b).has_value();
  }();
  return available;
}

size_t Linear::ConvertedSrcBytes(size_t m) const {
  if (path_ == Path::kPackedInt8) {
    return m * kernels::IgemmPaddedDepth(in_) * sizeof(int16_t);
  }
  if (path_ == Path::kPackedBf16) {
    return 0;
  }
  switch (type_) {
    case MatmulType::kF32:
      return 0;
    case MatmulType::kBf16:
      return m * in_ * sizeof(uint16_t);
    case MatmulType::kInt8:
      return m * in_ * sizeof(int8_t);
  }
  return 0;
}

size_t Linear::thread_scratch_bytes() const {
  constexpr size_t kCacheLine = 64;
  size_t bytes = 0;
  switch (path_) {
    case Path::kPackedF32:
    case Path::kPackedBf16:
      bytes = kernels::kSgemmXPanelFloats * sizeof(float);
      break;
    case Path::kPackedInt8:
      bytes = kernels::IgemmXPanelPairs(in_) * sizeof(int32_t);
      break;
    case Path::kOneDnn:
      bytes = inv_smoothing_.empty() ? 0 : in_ * sizeof(float);
      break;
  }
  return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
}

const char* Linear::impl_info() const {
  switch (path_) {
    case Path::kPackedF32:
      return "packed:avx2";
    case Path::kPackedBf16:
      return "packed:avx2-bf16w";
    case Path::kPackedInt8:
      return "packed:avx2-s8s16";
    case Path::kOneDnn:
      break;
  }
  return pd_.impl_info_str();
}

Status Linear::Forward(const float* src, size_t m, float* dst, const LinearBuffers& buffers,
                       dnnl::stream& stream, const kernels::KernelTable& kernels) const {
  const size_t in = in_;
  const size_t out = out_;
  const size_t panels = out / kernels::kSgemmPanelCols;
  const auto* bias = static_cast<const float*>(bias_.get_data_handle());
  EML_CHECK(buffers.thread_scratch != nullptr || thread_scratch_bytes() == 0);
  if (path_ == Path::kPackedF32 || path_ == Path::kPackedBf16) {
#pragma omp parallel if (m * in * out >= kParallelMacs)
    {
      const ThreadBlock block = ThisThreadBlock(m, panels);
      auto* x_panels = ThisThreadScratch<float>(buffers, thread_scratch_bytes());
      if (path_ == Path::kPackedF32) {
        kernels::SgemmBlockAvx2(src, in, out, packed_weights_.floats(), bias, block.rows,
                                block.panels, x_panels, dst);
      } else {
        kernels::Bf16GemmBlockAvx2(src, in, out,
                                   static_cast<const uint16_t*>(packed_weights_.data()), bias,
                                   block.rows, block.panels, x_panels, dst);
      }
    }
    return OkStatus();
  }
  if (path_ == Path::kPackedInt8) {
    const auto* packed = static_cast<const int8_t*>(packed_weights_.data());
    auto* quantized = static_cast<int16_t*>(buffers.converted_src);
    float* row_scales = buffers.row_scales;
    const size_t ld = kernels::IgemmPaddedDepth(in);
#pragma omp parallel if (m * in * out >= kParallelMacs)
    {
#pragma omp for schedule(static)
      for (size_t r = 0; r < m; ++r) {
        row_scales[r] = kernels::QuantizeRowS16Avx2(src + r * in, in, quantized + r * ld);
      }
      const ThreadBlock block = ThisThreadBlock(m, panels);
      kernels::IgemmBlockAvx2(quantized, row_scales, in, out, packed, weight_scales_.data(), bias,
                              block.rows, block.panels,
                              ThisThreadScratch<int32_t>(buffers, thread_scratch_bytes()), dst);
    }
    return OkStatus();
  }
  const bool parallel = m * in >= kParallelElements;
  const void* src_data = src;
  if (type_ == MatmulType::kBf16) {
    auto* converted = static_cast<uint16_t*>(buffers.converted_src);
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t r = 0; r < m; ++r) {
      kernels.to_bf16(src + r * in, in, converted + r * in);
    }
    src_data = converted;
  } else if (type_ == MatmulType::kInt8) {
    auto* converted = static_cast<int8_t*>(buffers.converted_src);
    float* row_scales = buffers.row_scales;
    const float* inv_smoothing = inv_smoothing_.empty() ? nullptr : inv_smoothing_.data();
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t r = 0; r < m; ++r) {
      const float* row = src + r * in;
      if (inv_smoothing != nullptr) {
        auto* scratch = ThisThreadScratch<float>(buffers, thread_scratch_bytes());
        kernels.mul(row, inv_smoothing, in, scratch);
        row = scratch;
      }
      const float max_abs = kernels.max_abs(row, in);
      row_scales[r] = max_abs > 0.0f ? max_abs / 127.0f : 0.0f;
      kernels.quantize_s8(row, in, max_abs > 0.0f ? 127.0f / max_abs : 0.0f, converted + r * in);
    }
    src_data = converted;
  }
  try {
    const dnnl::engine& engine = DnnlEngine();
    const auto rows = static_cast<dnnl::memory::dim>(m);
    const dnnl::memory src_mem(
        {{rows, static_cast<dnnl::memory::dim>(in)}, SrcType(type_), tag::ab}, engine,
        const_cast<void*>(src_data));
    const dnnl::memory dst_mem({{rows, static_cast<dnnl::memory::dim>(out)}, dt::f32, tag::ab},
                               engine, dst);
    const dnnl::memory scratch_mem(pd_.scratchpad_desc(), engine, buffers.scratchpad);
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src_mem},
                                                  {DNNL_ARG_WEIGHTS, weights_},
                                                  {DNNL_ARG_DST, dst_mem},
                                                  {DNNL_ARG_SCRATCHPAD, scratch_mem}};
    if (type_ != MatmulType::kInt8) {
      args.emplace(DNNL_ARG_BIAS, bias_);
    }
    primitive_.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    return FromDnnl(e, "matmul execution");
  }
  if (type_ == MatmulType::kInt8) {
    const float* row_scales = buffers.row_scales;
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t r = 0; r < m; ++r) {
      kernels.scale_add(row_scales[r], bias, out, dst + r * out);
    }
  }
  return OkStatus();
}

}  // namespace eml::engine::internal

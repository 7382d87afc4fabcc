// Linear against a double-precision reference, per matmul type and kernel (oneDNN or ours).

#include "engine/internal/linear.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/internal/aligned_buffer.h"
#include "engine/kernels/avx2/igemm_avx2.h"
#include "engine/testing/cpu_features.h"
#include "testing/test_util.h"

namespace eml::engine::internal {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// Max abs error relative to the largest |y| of the product (K = 384 terms of magnitude ~1).
constexpr double kMaxRelErrorF32 = 1e-5;
constexpr double kMaxRelErrorBf16 = 2e-2;  // 8-bit mantissa on both inputs.
// Our AVX2 bf16 kernel: bf16 weights, f32 activations.
constexpr double kMaxRelErrorBf16Weights = 1e-2;
constexpr double kMaxRelErrorInt8 = 3e-2;  // 127 levels per row / per output channel.
// Our AVX2 int8 kernel: 127 levels per output channel and 64 inputs, 32767 per row.
constexpr double kMaxRelErrorInt8Packed = 1e-2;

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
  }
  return v;
}

bool CpuRunsAvx2() { return kernels::IsaKernels(kernels::Isa::kAvx2) != nullptr; }

// RunForward returns linear's product of the m rows of x.
std::vector<float> RunForward(const Linear& linear, const std::vector<float>& x, size_t m) {
  std::vector<float> y(m * linear.out(), -1.0f);
  AlignedBuffer converted, scales, scratch, thread_scratch;
  thread_scratch.EnsureBytes(
      static_cast<size_t>(omp_get_max_threads()) * linear.thread_scratch_bytes() + 1);
  converted.EnsureBytes(linear.ConvertedSrcBytes(m) + 1);
  scales.EnsureBytes(m * sizeof(float));
  scratch.EnsureBytes(linear.scratchpad_bytes() + 1);
  dnnl::stream stream(DnnlEngine());
  const LinearBuffers buffers{.converted_src = converted.data(),
                              .row_scales = scales.floats(),
                              .thread_scratch = thread_scratch.data(),
                              .scratchpad = scratch.data()};
  EXPECT_THAT(linear.Forward(x.data(), m, y.data(), buffers, stream, kernels::SelectKernels()),
              IsOk());
  return y;
}

// channel_scale (optional, in floats) multiplies input column j, e.g. to make outlier channels.
double RunAndCompare(const Linear& linear, size_t m, const std::vector<float>& w,
                     const std::vector<float>& b, const std::vector<float>& channel_scale = {}) {
  const size_t in = linear.in();
  const size_t out = linear.out();
  std::vector<float> x = Random(m * in, static_cast<uint32_t>(m));
  for (size_t k = 0; k < x.size() && !channel_scale.empty(); ++k) {
    x[k] *= channel_scale[k % in];
  }
  const std::vector<float> y = RunForward(linear, x, m);
  double max_err = 0.0;
  double max_ref = 0.0;
  for (size_t r = 0; r < m; ++r) {
    for (size_t o = 0; o < out; ++o) {
      double ref = static_cast<double>(b[o]);
      for (size_t i = 0; i < in; ++i) {
        ref += static_cast<double>(x[r * in + i]) * static_cast<double>(w[o * in + i]);
      }
      max_err = std::max(max_err, std::fabs(ref - static_cast<double>(y[r * out + o])));
      max_ref = std::max(max_ref, std::fabs(ref));
    }
  }
  return max_err / max_ref;
}

struct Case {
  MatmulType type;
  double tolerance;
  MatmulKernel kernel = MatmulKernel::kAuto;
};

class LinearTest : public ::testing::TestWithParam<Case> {};

TEST_P(LinearTest, MatchesDoubleReferenceForEveryM) {
  const size_t in = 384, out = 160;
  const std::vector<float> w = Random(in * out, 1);
  const std::vector<float> b = Random(out, 2);
  auto linear = Linear::Create(GetParam().type, in, out, w, b, {}, GetParam().kernel);
  if ((GetParam().type == MatmulType::kBf16 && !::eml::engine::testing::CpuRunsBf16Matmul()) ||
      (GetParam().kernel == MatmulKernel::kPackedAvx2 && !CpuRunsAvx2())) {
    EXPECT_THAT(linear, HasError(ErrorCode::kEngineUnsupportedPrecision));
    return;
  }
  ASSERT_THAT(linear, IsOk());
  // One primitive (M at run time) serves every M.
  for (size_t m :
       {size_t{1}, size_t{3}, size_t{5}, size_t{6}, size_t{16}, size_t{100}, size_t{257}}) {
    EXPECT_LE(RunAndCompare(*linear, m, w, b), GetParam().tolerance)
        << "m " << m << " impl " << linear->impl_info();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, LinearTest,
    ::testing::Values(Case{MatmulType::kF32, kMaxRelErrorF32},
                      Case{MatmulType::kF32, kMaxRelErrorF32, MatmulKernel::kOneDnn},
                      Case{MatmulType::kF32, kMaxRelErrorF32, MatmulKernel::kPackedAvx2},
                      Case{MatmulType::kBf16, kMaxRelErrorBf16},
                      Case{MatmulType::kBf16, kMaxRelErrorBf16Weights, MatmulKernel::kPackedAvx2},
                      Case{MatmulType::kInt8, kMaxRelErrorInt8},
                      Case{MatmulType::kInt8, kMaxRelErrorInt8, MatmulKernel::kOneDnn},
                      Case{MatmulType::kInt8, kMaxRelErrorInt8Packed, MatmulKernel::kPackedAvx2}));

// Bf16Rounded returns w with every element rounded to bf16, as the bf16 kernels store weights.
std::vector<float> Bf16Rounded(const std::vector<float>& w) {
  std::vector<uint16_t> halves(w.size());
  kernels::ToBf16Ref(w.data(), w.size(), halves.data());
  std::vector<float> rounded(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const uint32_t bits = static_cast<uint32_t>(halves[i]) << 16;
    std::memcpy(&rounded[i], &bits, sizeof(bits));
  }
  return rounded;
}

// The packed kernels cut the depth into chunks of 256: depths of one partial chunk, an exact
// multiple and a long ragged tail (BERT-base's 3072 is 12 chunks), every row-block tail. The bf16
// kernel is held to the f32 tolerance against the product of its rounded weights: activations,
// products and sums stay f32.
TEST(LinearPackedTest, MatchesDoubleReferenceAcrossDepthChunks) {
  if (!CpuRunsAvx2()) {
    GTEST_SKIP() << "this CPU has no AVX2 + FMA";
  }
  for (const size_t in : {size_t{7}, size_t{256}, size_t{600}, size_t{1536}}) {
    const size_t out = 48;
    const std::vector<float> w = Random(in * out, 6);
    const std::vector<float> b = Random(out, 7);
    auto f32 = Linear::Create(MatmulType::kF32, in, out, w, b, {}, MatmulKernel::kPackedAvx2);
    auto bf16 = Linear::Create(MatmulType::kBf16, in, out, w, b, {}, MatmulKernel::kPackedAvx2);
    ASSERT_THAT(f32, IsOk());
    ASSERT_THAT(bf16, IsOk());
    EXPECT_STREQ(f32->impl_info(), "packed:avx2");
    EXPECT_STREQ(bf16->impl_info(), "packed:avx2-bf16w");
    const std::vector<float> w_bf16 = Bf16Rounded(w);
    for (size_t m = 1; m <= 13; ++m) {
      EXPECT_LE(RunAndCompare(*f32, m, w, b), kMaxRelErrorF32) << "in " << in << " m " << m;
      EXPECT_LE(RunAndCompare(*bf16, m, w_bf16, b), kMaxRelErrorF32) << "in " << in << " m " << m;
    }
  }
}

// Both packed kernels: identical bits on one and two threads, and within 1e-4 of oneDNN's f32
// product of the same (for bf16: bf16-rounded) weights.
TEST(LinearPackedTest, SameBitsOnOneAndTwoThreadsAndCloseToOneDnn) {
  if (!CpuRunsAvx2()) {
    GTEST_SKIP() << "this CPU has no AVX2 + FMA";
  }
  const size_t in = 384, out = 1536, m = 37;  // MiniLM's FFN input projection.
  const std::vector<float> w = Random(in * out, 8);
  const std::vector<float> b = Random(out, 9);
  const std::vector<float> x = Random(m * in, 10);
  for (const MatmulType type : {MatmulType::kF32, MatmulType::kBf16}) {
    auto packed = Linear::Create(type, in, out, w, b, {}, MatmulKernel::kPackedAvx2);
    auto onednn =
        Linear::Create(MatmulType::kF32, in, out, type == MatmulType::kBf16 ? Bf16Rounded(w) : w, b,
                       {}, MatmulKernel::kOneDnn);
    ASSERT_THAT(packed, IsOk());
    ASSERT_THAT(onednn, IsOk());
    const int saved_threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const std::vector<float> one_thread = RunForward(*packed, x, m);
    omp_set_num_threads(2);
    const std::vector<float> two_threads = RunForward(*packed, x, m);
    omp_set_num_threads(saved_threads);
    EXPECT_EQ(one_thread, two_threads) << packed->impl_info();
    const std::vector<float> reference = RunForward(*onednn, x, m);
    ASSERT_EQ(reference.size(), one_thread.size());
    for (size_t i = 0; i < reference.size(); ++i) {
      ASSERT_NEAR(one_thread[i], reference[i], 1e-4) << packed->impl_info() << " element " << i;
    }
  }
}

TEST(LinearPackedTest, RefusesOutputsThatDoNotFillPanels) {
  const size_t in = 32, out = 20;
  const std::vector<float> w = Random(in * out, 11);
  const std::vector<float> b = Random(out, 12);
  EXPECT_THAT(Linear::Create(MatmulType::kF32, in, out, w, b, {}, MatmulKernel::kPackedAvx2),
              HasError(ErrorCode::kEngineUnsupportedPrecision));
  // kAuto falls back to oneDNN for such a shape and still computes the product.
  auto automatic = Linear::Create(MatmulType::kF32, in, out, w, b);
  ASSERT_THAT(automatic, IsOk());
  EXPECT_STRNE(automatic->impl_info(), "packed:avx2");
  EXPECT_LE(RunAndCompare(*automatic, 5, w, b), kMaxRelErrorF32);
}

// QuantizedReference computes, in double, exactly what the packed int8 kernel promises: rows
// quantized to s16 by max |x| / 32767, weights to s8 by max |w| / 127 per output channel and chunk
// of kIgemmDepthChunk inputs, both rounded to nearest even.
std::vector<double> QuantizedReference(const std::vector<float>& x, size_t m,
                                       const std::vector<float>& w, const std::vector<float>& b,
                                       size_t in, size_t out) {
  const size_t chunk = kernels::kIgemmDepthChunk;
  std::vector<double> y(m * out);
  for (size_t r = 0; r < m; ++r) {
    float x_max = 0.0f;
    for (size_t k = 0; k < in; ++k) {
      x_max = std::max(x_max, std::fabs(x[r * in + k]));
    }
    const float x_scale = x_max / 32767.0f;
    const float x_inv = x_max > 0.0f ? 32767.0f / x_max : 0.0f;
    for (size_t o = 0; o < out; ++o) {
      double sum = b[o];
      for (size_t c = 0; c < in; c += chunk) {
        const size_t end = std::min(in, c + chunk);
        float w_max = 0.0f;
        for (size_t k = c; k < end; ++k) {
          w_max = std::max(w_max, std::fabs(w[o * in + k]));
        }
        const float w_scale = w_max > 0.0f ? w_max / 127.0f : 1.0f;
        const float w_inv = 1.0f / w_scale;
        int64_t dot = 0;
        for (size_t k = c; k < end; ++k) {
          dot += static_cast<int64_t>(std::nearbyint(x[r * in + k] * x_inv)) *
                 static_cast<int64_t>(std::nearbyint(w[o * in + k] * w_inv));
        }
        sum +=
            static_cast<double>(dot) * static_cast<double>(x_scale) * static_cast<double>(w_scale);
      }
      y[r * out + o] = sum;
    }
  }
  return y;
}

// The packed int8 kernel against its exact quantized math: odd depths (a zero pad input), partial
// and whole chunks, every row-block tail, identical bits on one and two threads.
TEST(LinearPackedTest, Int8MatchesItsQuantizedMathOnOneAndTwoThreads) {
  if (!CpuRunsAvx2()) {
    GTEST_SKIP() << "this CPU has no AVX2 + FMA";
  }
  const int saved_threads = omp_get_max_threads();
  for (const size_t in : {size_t{7}, size_t{64}, size_t{65}, size_t{384}, size_t{1536}}) {
    const size_t out = 48;
    const std::vector<float> w = Random(in * out, 13);
    const std::vector<float> b = Random(out, 14);
    auto linear = Linear::Create(MatmulType::kInt8, in, out, w, b, {}, MatmulKernel::kPackedAvx2);
    ASSERT_THAT(linear, IsOk());
    EXPECT_STREQ(linear->impl_info(), "packed:avx2-s8s16");
    for (size_t m : {size_t{1}, size_t{5}, size_t{6}, size_t{13}, size_t{200}}) {
      const std::vector<float> x = Random(m * in, static_cast<uint32_t>(100 + m));
      const std::vector<double> want = QuantizedReference(x, m, w, b, in, out);
      omp_set_num_threads(1);
      const std::vector<float> one_thread = RunForward(*linear, x, m);
      omp_set_num_threads(2);
      const std::vector<float> two_threads = RunForward(*linear, x, m);
      EXPECT_EQ(one_thread, two_threads) << "in " << in << " m " << m;
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR(one_thread[i], want[i], 1e-5 * (1.0 + std::fabs(want[i])))
            << "in " << in << " m " << m << " element " << i;
      }
    }
  }
  omp_set_num_threads(saved_threads);
}

TEST(LinearCreateTest, Int8SmoothingHelpsOutlierChannels) {
  // Every 16th input channel is 30x larger (as LayerNorm outputs with large gains are); smoothing
  // by the square root of that range moves it into the weights, and the error drops.
  const size_t in = 384, out = 96;
  const std::vector<float> w = Random(in * out, 4);
  const std::vector<float> b = Random(out, 5);
  std::vector<float> channel_scale(in, 1.0f), smoothing(in, 1.0f);
  for (size_t j = 0; j < in; j += 16) {
    channel_scale[j] = 30.0f;
    smoothing[j] = std::sqrt(30.0f);
  }
  // Smoothing is a oneDNN-path feature (the packed kernel's s16 activations do not need it).
  auto plain = Linear::Create(MatmulType::kInt8, in, out, w, b, {}, MatmulKernel::kOneDnn);
  auto smoothed =
      Linear::Create(MatmulType::kInt8, in, out, w, b, smoothing, MatmulKernel::kOneDnn);
  ASSERT_THAT(plain, IsOk());
  ASSERT_THAT(smoothed, IsOk());
  const double plain_error = RunAndCompare(*plain, 33, w, b, channel_scale);
  const double smoothed_error = RunAndCompare(*smoothed, 33, w, b, channel_scale);
  EXPECT_LE(smoothed_error, kMaxRelErrorInt8);
  EXPECT_LT(smoothed_error, plain_error);
}

TEST(LinearCreateTest, RejectsBadSmoothing) {
  const std::vector<float> w(12, 1.0f), b(4, 0.0f);
  const std::vector<float> ok = {1.0f, 2.0f, 3.0f};
  const std::vector<float> zero = {1.0f, 0.0f, 3.0f};
  const std::vector<float> short_s = {1.0f, 2.0f};
  EXPECT_THAT(Linear::Create(MatmulType::kF32, 3, 4, w, b, ok),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Linear::Create(MatmulType::kInt8, 3, 4, w, b, zero),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Linear::Create(MatmulType::kInt8, 3, 4, w, b, short_s),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Linear::Create(MatmulType::kInt8, 3, 4, w, b, ok), IsOk());
}

TEST(LinearCreateTest, RejectsMismatchedSizes) {
  const std::vector<float> w(12), b(4), short_b(3);
  EXPECT_THAT(Linear::Create(MatmulType::kF32, 3, 4, w, short_b),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Linear::Create(MatmulType::kF32, 4, 4, w, b), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(Linear::Create(MatmulType::kF32, 0, 4, {}, b), HasError(ErrorCode::kInvalidArgument));
}

TEST(LinearCreateTest, Int8ZeroWeightsAndZeroRowsGiveBias) {
  const size_t in = 64, out = 32;
  const std::vector<float> w(in * out, 0.0f);
  const std::vector<float> b = Random(out, 3);
  auto linear = Linear::Create(MatmulType::kInt8, in, out, w, b);
  ASSERT_THAT(linear, IsOk());
  const std::vector<float> x(2 * in, 0.0f);  // A zero row has scale 0: output is the bias.
  const std::vector<float> y = RunForward(*linear, x, 2);
  for (size_t r = 0; r < 2; ++r) {
    for (size_t o = 0; o < out; ++o) {
      EXPECT_EQ(y[r * out + o], b[o]);
    }
  }
}

}  // namespace
}  // namespace eml::engine::internal

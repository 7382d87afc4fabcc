// Linear (oneDNN matmul) against a double-precision reference, per matmul type.

#include "engine/internal/linear.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/internal/aligned_buffer.h"
#include "testing/test_util.h"

namespace eml::engine::internal {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// Max abs error relative to the largest |y| of the product (K = 384 terms of magnitude ~1).
constexpr double kMaxRelErrorF32 = 1e-5;
constexpr double kMaxRelErrorBf16 = 2e-2;  // 8-bit mantissa on both inputs.
constexpr double kMaxRelErrorInt8 = 3e-2;  // 127 levels per row / per output channel.

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
  }
  return v;
}

// True when oneDNN 2.6 has bf16 matmuls on this CPU (it needs AVX-512 core: F, BW, VL, DQ).
bool CpuRunsBf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
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
  std::vector<float> y(m * out, -1.0f);
  AlignedBuffer converted, scales, scratch, row_scratch;
  row_scratch.EnsureBytes(static_cast<size_t>(omp_get_max_threads()) * in * sizeof(float));
  converted.EnsureBytes(linear.ConvertedSrcBytes(m) + 1);
  scales.EnsureBytes(m * sizeof(float));
  scratch.EnsureBytes(linear.scratchpad_bytes() + 1);
  dnnl::stream stream(DnnlEngine());
  const LinearBuffers buffers{.converted_src = converted.data(),
                              .row_scales = scales.floats(),
                              .row_scratch = row_scratch.floats(),
                              .scratchpad = scratch.data()};
  EXPECT_THAT(linear.Forward(x.data(), m, y.data(), buffers, stream, kernels::SelectKernels()),
              IsOk());
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
};

class LinearTest : public ::testing::TestWithParam<Case> {};

TEST_P(LinearTest, MatchesDoubleReferenceForEveryM) {
  const size_t in = 384, out = 160;
  const std::vector<float> w = Random(in * out, 1);
  const std::vector<float> b = Random(out, 2);
  auto linear = Linear::Create(GetParam().type, in, out, w, b);
  if (GetParam().type == MatmulType::kBf16 && !CpuRunsBf16()) {
    EXPECT_THAT(linear, HasError(ErrorCode::kEngineUnsupportedPrecision));
    return;
  }
  ASSERT_THAT(linear, IsOk());
  // One primitive (M at run time) serves every M.
  for (size_t m : {size_t{1}, size_t{3}, size_t{16}, size_t{100}, size_t{257}}) {
    EXPECT_LE(RunAndCompare(*linear, m, w, b), GetParam().tolerance)
        << "m " << m << " impl " << linear->impl_info();
  }
}

INSTANTIATE_TEST_SUITE_P(Types, LinearTest,
                         ::testing::Values(Case{MatmulType::kF32, kMaxRelErrorF32},
                                           Case{MatmulType::kBf16, kMaxRelErrorBf16},
                                           Case{MatmulType::kInt8, kMaxRelErrorInt8}));

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
  auto plain = Linear::Create(MatmulType::kInt8, in, out, w, b);
  auto smoothed = Linear::Create(MatmulType::kInt8, in, out, w, b, smoothing);
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
  std::vector<float> y(2 * out);
  AlignedBuffer converted, scales, scratch;
  converted.EnsureBytes(linear->ConvertedSrcBytes(2) + 1);
  scales.EnsureBytes(2 * sizeof(float));
  scratch.EnsureBytes(linear->scratchpad_bytes() + 1);
  dnnl::stream stream(DnnlEngine());
  ASSERT_THAT(linear->Forward(x.data(), 2, y.data(),
                              {.converted_src = converted.data(),
                               .row_scales = scales.floats(),
                               .scratchpad = scratch.data()},
                              stream, kernels::SelectKernels()),
              IsOk());
  for (size_t r = 0; r < 2; ++r) {
    for (size_t o = 0; o < out; ++o) {
      EXPECT_EQ(y[r * out + o], b[o]);
    }
  }
}

}  // namespace
}  // namespace eml::engine::internal

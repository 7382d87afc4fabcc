// Every SIMD kernel against its scalar reference, for each ISA this CPU can run (an ISA the CPU
// lacks is reported as skipped), with one named tolerance per kernel.

#include "engine/kernels/kernels.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace eml::engine::kernels {
namespace {

// Tolerances (absolute, on outputs of magnitude about 1 unless stated).
constexpr float kMaxAbsErrorLayerNorm = 2e-5f;  // Different summation order over 384+ terms.
constexpr float kMaxErrorGeluPerUnit = 1e-6f;   // |d| <= 1e-6 * max(1, |x|): A&S 7.1.26 erf.
constexpr float kMaxAbsErrorSoftmax = 1e-6f;    // Probabilities; polynomial exp vs libm.
constexpr float kMaxAbsErrorAttention = 2e-5f;  // Scale folded into q, FMA reassociation.
constexpr float kMaxAbsErrorPool = 1e-6f;       // Same order of additions; kept as a bound.
constexpr float kMaxAbsErrorL2 = 1e-6f;

std::vector<float> RandomVector(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
  }
  return v;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    m = std::max(m, std::fabs(a[i] - b[i]));
  }
  return m;
}

class KernelsTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    table_ = IsaKernels(GetParam());
    if (table_ == nullptr) {
      GTEST_SKIP() << "this CPU cannot run " << IsaName(GetParam());
    }
    ASSERT_EQ(table_->isa, GetParam());
  }
  const KernelTable* table_ = nullptr;
};

const size_t kLengths[] = {1, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 384, 1536};

TEST_P(KernelsTest, LayerNormMatchesRef) {
  for (size_t dim : kLengths) {
    const auto x = RandomVector(dim, -3.0f, 5.0f, 1);
    const auto gamma = RandomVector(dim, 0.5f, 1.5f, 2);
    const auto beta = RandomVector(dim, -0.5f, 0.5f, 3);
    std::vector<float> want(dim), got(dim);
    LayerNormRef(x.data(), gamma.data(), beta.data(), dim, 1e-12f, want.data());
    table_->layer_norm(x.data(), gamma.data(), beta.data(), dim, 1e-12f, got.data());
    EXPECT_LE(MaxAbsDiff(want, got), kMaxAbsErrorLayerNorm) << "dim " << dim;
    // In place.
    std::vector<float> inplace = x;
    table_->layer_norm(inplace.data(), gamma.data(), beta.data(), dim, 1e-12f, inplace.data());
    EXPECT_EQ(inplace, got) << "dim " << dim;
  }
}

TEST_P(KernelsTest, GeluMatchesRefOverRange) {
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.0037f) {
    x.push_back(v);
  }
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 40.0f, -40.0f, 1e6f, -1e6f}) {
    x.push_back(v);
  }
  std::vector<float> want(x.size()), got(x.size());
  GeluRef(x.data(), x.size(), want.data());
  table_->gelu(x.data(), x.size(), got.data());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::fabs(want[i] - got[i]), kMaxErrorGeluPerUnit * std::max(1.0f, std::fabs(x[i])))
        << "x = " << x[i];
  }
  // Values PyTorch's exact GELU gives (torch.nn.functional.gelu, approximate='none').
  const float probe[] = {-3.0f, -1.0f, 0.5f, 2.0f};
  const float torch_values[] = {-0.0040496941f, -0.15865525f, 0.34573123f, 1.9544997f};
  float out[4];
  table_->gelu(probe, 4, out);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(out[i], torch_values[i], 1e-6f);
  }
}

TEST_P(KernelsTest, SoftmaxMatchesRef) {
  for (size_t n : kLengths) {
    const auto x = RandomVector(n, -20.0f, 20.0f, static_cast<uint32_t>(n));
    std::vector<float> want = x, got = x;
    SoftmaxRef(want.data(), n);
    table_->softmax(got.data(), n);
    EXPECT_LE(MaxAbsDiff(want, got), kMaxAbsErrorSoftmax) << "n " << n;
    float sum = 0.0f;
    for (float p : got) {
      sum += p;
    }
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
  }
}

TEST_P(KernelsTest, SoftmaxGivesZeroToLowestScores) {
  std::vector<float> x(20, std::numeric_limits<float>::lowest());
  x[3] = 1.0f;
  x[17] = 1.0f;
  table_->softmax(x.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i], (i == 3 || i == 17) ? 0.5f : 0.0f) << i;
  }
}

TEST_P(KernelsTest, AddAddBiasAndMulAreExact) {
  for (size_t n : kLengths) {
    const auto a = RandomVector(n, -1.0f, 1.0f, 4);
    const auto b = RandomVector(n, -1.0f, 1.0f, 5);
    std::vector<float> want(n), got(n);
    AddRef(a.data(), b.data(), n, want.data());
    table_->add(a.data(), b.data(), n, got.data());
    EXPECT_EQ(want, got);
    std::vector<float> x = a;
    table_->add_bias(b.data(), n, x.data());
    EXPECT_EQ(want, x);
    MulRef(a.data(), b.data(), n, want.data());
    table_->mul(a.data(), b.data(), n, got.data());
    EXPECT_EQ(want, got);
  }
}

TEST_P(KernelsTest, ScaleAddIsExact) {
  for (size_t n : kLengths) {
    const auto x = RandomVector(n, -100.0f, 100.0f, 6);
    const auto bias = RandomVector(n, -1.0f, 1.0f, 7);
    for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
      std::vector<float> want = x, got = x;
      ScaleAddRef(0.0123f, b, n, want.data());
      table_->scale_add(0.0123f, b, n, got.data());
      EXPECT_EQ(want, got) << "n " << n;
    }
  }
}

struct AttentionCase {
  size_t seq_len;
  size_t head_dim;
  bool masked;
};

TEST_P(KernelsTest, AttentionMatchesRef) {
  const AttentionCase cases[] = {{1, 32, false},  {5, 32, false},   {16, 32, false},
                                 {33, 32, true},  {128, 32, false}, {7, 64, true},
                                 {19, 12, false}, {40, 20, true},   {256, 64, false}};
  const size_t num_heads = 3;
  for (const AttentionCase& c : cases) {
    const size_t hidden = num_heads * c.head_dim;
    const size_t ld = 3 * hidden;
    const auto qkv = RandomVector(c.seq_len * ld, -2.0f, 2.0f, static_cast<uint32_t>(c.seq_len));
    std::vector<uint8_t> mask(c.seq_len, 1);
    if (c.masked) {
      for (size_t j = 1; j < c.seq_len; j += 3) {
        mask[j] = 0;
      }
    }
    AttentionShape shape{.seq_len = c.seq_len,
                         .head_dim = c.head_dim,
                         .ld_qkv = ld,
                         .ld_out = hidden,
                         .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim))};
    std::vector<float> scratch(AttentionScratchFloats(c.seq_len, c.head_dim));
    std::vector<float> want(c.seq_len * hidden), got(c.seq_len * hidden);
    for (size_t h = 0; h < num_heads; ++h) {
      const float* q = qkv.data() + h * c.head_dim;
      const float* k = q + hidden;
      const float* v = k + hidden;
      const uint8_t* m = c.masked ? mask.data() : nullptr;
      AttentionRef(q, k, v, m, shape, scratch.data(), want.data() + h * c.head_dim);
      table_->attention(q, k, v, m, shape, scratch.data(), got.data() + h * c.head_dim);
    }
    EXPECT_LE(MaxAbsDiff(want, got), kMaxAbsErrorAttention)
        << "seq " << c.seq_len << " head_dim " << c.head_dim;
  }
}

TEST_P(KernelsTest, AttentionIgnoresMaskedKeys) {
  // Changing a masked key or value must not change the output.
  const size_t s = 9, d = 16, ld = 3 * d;
  auto qkv = RandomVector(s * ld, -1.0f, 1.0f, 9);
  std::vector<uint8_t> mask(s, 1);
  mask[4] = 0;
  AttentionShape shape{.seq_len = s, .head_dim = d, .ld_qkv = ld, .ld_out = d, .scale = 0.25f};
  std::vector<float> scratch(AttentionScratchFloats(s, d));
  std::vector<float> a(s * d), b(s * d);
  table_->attention(qkv.data(), qkv.data() + d, qkv.data() + 2 * d, mask.data(), shape,
                    scratch.data(), a.data());
  for (size_t t = d; t < 3 * d; ++t) {
    qkv[4 * ld + t] = 1000.0f;
  }
  table_->attention(qkv.data(), qkv.data() + d, qkv.data() + 2 * d, mask.data(), shape,
                    scratch.data(), b.data());
  EXPECT_EQ(a, b);
}

TEST_P(KernelsTest, MeanPoolMatchesRef) {
  for (size_t dim : {size_t{1}, size_t{20}, size_t{384}}) {
    const size_t rows = 13, ld = dim + 5;
    const auto x = RandomVector(rows * ld, -4.0f, 4.0f, 11);
    std::vector<uint8_t> mask(rows, 1);
    mask[0] = 0;
    mask[7] = 0;
    for (const uint8_t* m :
         {static_cast<const uint8_t*>(nullptr), static_cast<const uint8_t*>(mask.data())}) {
      std::vector<float> want(dim), got(dim);
      MeanPoolRef(x.data(), rows, ld, dim, m, want.data());
      table_->mean_pool(x.data(), rows, ld, dim, m, got.data());
      EXPECT_LE(MaxAbsDiff(want, got), kMaxAbsErrorPool) << "dim " << dim;
    }
  }
  // All rows masked: zeros, not NaN (the 1e-9 clamp).
  std::vector<float> x(8, 1.0f), out(8, -1.0f);
  const uint8_t none[1] = {0};
  table_->mean_pool(x.data(), 1, 8, 8, none, out.data());
  EXPECT_EQ(out, std::vector<float>(8, 0.0f));
}

TEST_P(KernelsTest, L2NormalizeMatchesRef) {
  for (size_t n : kLengths) {
    const auto x = RandomVector(n, -3.0f, 3.0f, 12);
    std::vector<float> want = x, got = x;
    L2NormalizeRef(want.data(), n);
    table_->l2_normalize(got.data(), n);
    EXPECT_LE(MaxAbsDiff(want, got), kMaxAbsErrorL2) << "n " << n;
  }
  std::vector<float> zeros(19, 0.0f);
  table_->l2_normalize(zeros.data(), zeros.size());
  EXPECT_EQ(zeros, std::vector<float>(19, 0.0f));
}

TEST_P(KernelsTest, MaxAbsIsExact) {
  for (size_t n : kLengths) {
    auto x = RandomVector(n, -3.0f, 3.0f, 13);
    x[n / 2] = -7.5f;
    EXPECT_EQ(table_->max_abs(x.data(), n), MaxAbsRef(x.data(), n));
    EXPECT_EQ(table_->max_abs(x.data(), n), 7.5f);
  }
}

TEST_P(KernelsTest, QuantizeS8IsExact) {
  std::vector<float> x;
  for (float v = -140.0f; v <= 140.0f; v += 0.25f) {  // Hits every .5 tie.
    x.push_back(v);
  }
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  x.push_back(std::numeric_limits<float>::infinity());
  x.push_back(-std::numeric_limits<float>::infinity());
  x.push_back(3e9f);
  x.push_back(-3e9f);
  for (size_t len : {x.size(), size_t{31}, size_t{33}, size_t{5}}) {
    std::vector<int8_t> want(len), got(len);
    QuantizeS8Ref(x.data(), len, 1.0f, want.data());
    table_->quantize_s8(x.data(), len, 1.0f, got.data());
    EXPECT_EQ(want, got) << "len " << len;
  }
  const float ties[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f};
  int8_t out[5];
  table_->quantize_s8(ties, 5, 1.0f, out);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 2);
  EXPECT_EQ(out[2], 2);
  EXPECT_EQ(out[3], 0);
  EXPECT_EQ(out[4], -2);
  const auto r = RandomVector(1000, -2.0f, 2.0f, 14);
  std::vector<int8_t> want(r.size()), got(r.size());
  QuantizeS8Ref(r.data(), r.size(), 63.5f, want.data());
  table_->quantize_s8(r.data(), r.size(), 63.5f, got.data());
  EXPECT_EQ(want, got);
}

TEST_P(KernelsTest, ToBf16IsExact) {
  std::vector<float> x = RandomVector(1000, -100.0f, 100.0f, 15);
  for (uint32_t bits : {0x3F808000u, 0x3F818000u, 0x3F80FFFFu, 0x7F7FFFFFu, 0x00000001u,
                        0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u}) {
    x.push_back(std::bit_cast<float>(bits));
  }
  for (size_t len : {x.size(), size_t{15}, size_t{17}}) {
    std::vector<uint16_t> want(len), got(len);
    ToBf16Ref(x.data(), len, want.data());
    table_->to_bf16(x.data(), len, got.data());
    EXPECT_EQ(want, got) << "len " << len;
  }
  const float ties[] = {std::bit_cast<float>(0x3F808000u), std::bit_cast<float>(0x3F818000u)};
  uint16_t out[2];
  ToBf16Ref(ties, 2, out);
  EXPECT_EQ(out[0], 0x3F80);  // Tie rounds to even (down).
  EXPECT_EQ(out[1], 0x3F82);  // Tie rounds to even (up).
}

INSTANTIATE_TEST_SUITE_P(AllIsas, KernelsTest, ::testing::Values(Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& param_info) {
                           return std::string(IsaName(param_info.param));
                         });

TEST(KernelDispatchTest, ForceRefGivesReferenceTable) {
  EXPECT_EQ(SelectKernels(/*force_ref=*/true).isa, Isa::kRef);
  EXPECT_EQ(RefKernels().layer_norm, &LayerNormRef);
}

TEST(KernelDispatchTest, SelectsBestSupportedIsa) {
  if (IsForceRefValue(std::getenv("EML_FORCE_REF_KERNELS"))) {
    EXPECT_EQ(SelectKernels().isa, Isa::kRef);
    return;
  }
  Isa want = Isa::kRef;
  if (IsaKernels(Isa::kAvx512) != nullptr) {
    want = Isa::kAvx512;
  } else if (IsaKernels(Isa::kAvx2) != nullptr) {
    want = Isa::kAvx2;
  }
  EXPECT_EQ(SelectKernels().isa, want);
}

TEST(KernelDispatchTest, EnvironmentValue) {
  EXPECT_TRUE(IsForceRefValue("1"));
  EXPECT_FALSE(IsForceRefValue(nullptr));
  EXPECT_FALSE(IsForceRefValue("0"));
  EXPECT_FALSE(IsForceRefValue(""));
  EXPECT_FALSE(IsForceRefValue("true"));
}

}  // namespace
}  // namespace eml::engine::kernels

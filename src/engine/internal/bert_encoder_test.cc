// BertEncoder on a small random BERT (hidden 64, 2 layers, 4 heads) written as a real
// safetensors file, against a plain scalar double-precision forward (testing/tiny_bert.h).

#include "engine/internal/bert_encoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "engine/testing/cpu_features.h"
#include "engine/testing/tiny_bert.h"
#include "model/bert.h"
#include "testing/test_util.h"

namespace eml::engine::internal {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using testing::TinyBert;
using testing::TinyBertShape;

constexpr double kMaxAbsErrorFp32 = 1e-4;  // Per hidden value (values ~N(0, 1) after LayerNorm).
constexpr double kMinCosineInt8 = 0.995;   // Per token, on this random model.
constexpr double kMinCosineBf16 = 0.995;

struct Loaded {
  model::BertConfig config;
  std::unique_ptr<BertEncoder> encoder;
};

Result<Loaded> Load(const TinyBert& bert, const MatmulPlan& plan, bool force_ref = false,
                    bool bert_prefix = false) {
  Loaded out;
  EML_ASSIGN_OR_RETURN(out.config, model::ParseBertConfig(bert.ConfigJson()));
  EML_ASSIGN_OR_RETURN(model::SafetensorsFile file,
                       model::SafetensorsFile::FromBuffer(bert.Safetensors(bert_prefix)));
  EML_ASSIGN_OR_RETURN(
      out.encoder, BertEncoder::Create(out.config, file, plan, kernels::SelectKernels(force_ref)));
  return out;
}

std::vector<std::vector<int32_t>> Sequences(const TinyBertShape& shape) {
  // Lengths 1, 2, 7, 13 and the longest the model allows.
  std::vector<std::vector<int32_t>> seqs;
  uint32_t state = 7;
  for (int len : {1, 2, 7, 13, shape.max_positions}) {
    std::vector<int32_t> ids;
    for (int i = 0; i < len; ++i) {
      state = state * 1664525u + 1013904223u;
      ids.push_back(static_cast<int32_t>(state % static_cast<uint32_t>(shape.vocab)));
    }
    seqs.push_back(ids);
  }
  return seqs;
}

struct Packed {
  std::vector<int32_t> ids;
  std::vector<size_t> offsets{0};
  PackedBatch batch() const { return {ids, {}, offsets}; }
};

Packed Pack(const std::vector<std::vector<int32_t>>& seqs) {
  Packed p;
  for (const auto& s : seqs) {
    p.ids.insert(p.ids.end(), s.begin(), s.end());
    p.offsets.push_back(p.ids.size());
  }
  return p;
}

std::vector<float> RunEncoder(const BertEncoder& encoder, const Packed& p, EncoderWorkspace* ws) {
  size_t longest = 0;
  for (size_t i = 0; i + 1 < p.offsets.size(); ++i) {
    longest = std::max(longest, p.offsets[i + 1] - p.offsets[i]);
  }
  ws->Reserve(encoder, p.ids.size(), longest, static_cast<size_t>(omp_get_max_threads()));
  dnnl::stream stream(DnnlEngine());
  const Status st = encoder.Forward(p.batch(), ws, stream);
  EXPECT_THAT(st, IsOk());
  const auto h = static_cast<size_t>(encoder.config().hidden_size);
  return std::vector<float>(ws->hidden(), ws->hidden() + p.ids.size() * h);
}

double Cosine(const float* a, const double* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * static_cast<double>(a[i]);
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

void ExpectMatchesReference(const TinyBert& bert, const BertEncoder& encoder, double max_abs,
                            double min_cosine) {
  const auto seqs = Sequences(bert.shape);
  const Packed packed = Pack(seqs);
  EncoderWorkspace ws;
  const std::vector<float> got = RunEncoder(encoder, packed, &ws);
  const auto h = static_cast<size_t>(bert.shape.hidden);
  for (size_t s = 0; s < seqs.size(); ++s) {
    const std::vector<double> want = bert.ReferenceHidden(seqs[s]);
    for (size_t t = 0; t < seqs[s].size(); ++t) {
      const float* row = got.data() + (packed.offsets[s] + t) * h;
      double err = 0;
      for (size_t i = 0; i < h; ++i) {
        err = std::max(err, std::fabs(static_cast<double>(row[i]) - want[t * h + i]));
      }
      EXPECT_LE(err, max_abs) << "sequence " << s << " token " << t;
      EXPECT_GE(Cosine(row, want.data() + t * h, h), min_cosine)
          << "sequence " << s << " token " << t;
    }
  }
}

TEST(BertEncoderTest, Fp32MatchesScalarReference) {
  const TinyBert bert = TinyBert::MakeRandom({}, 42);
  auto loaded = Load(bert, MatmulPlan{});
  ASSERT_THAT(loaded, IsOk());
  ExpectMatchesReference(bert, *loaded->encoder, kMaxAbsErrorFp32, 0.999999);
}

TEST(BertEncoderTest, Fp32ReferenceKernelsMatchScalarReference) {
  const TinyBert bert = TinyBert::MakeRandom({}, 43);
  auto loaded = Load(bert, MatmulPlan{}, /*force_ref=*/true);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->encoder->kernels().isa, kernels::Isa::kRef);
  ExpectMatchesReference(bert, *loaded->encoder, kMaxAbsErrorFp32, 0.999999);
}

TEST(BertEncoderTest, BaseLikeShapeWithBertPrefixLoadsAndMatches) {
  // Head dim 64 and hidden 768 / 12 heads as in BERT-base, one layer to stay fast.
  TinyBertShape shape;
  shape.hidden = 768;
  shape.heads = 12;
  shape.layers = 1;
  shape.intermediate = 3072;
  shape.max_positions = 24;
  const TinyBert bert = TinyBert::MakeRandom(shape, 44);
  auto loaded = Load(bert, MatmulPlan{}, false, /*bert_prefix=*/true);
  ASSERT_THAT(loaded, IsOk());
  ExpectMatchesReference(bert, *loaded->encoder, kMaxAbsErrorFp32, 0.999999);
}

TEST(BertEncoderTest, Int8IsCloseToScalarReference) {
  const TinyBert bert = TinyBert::MakeRandom({}, 45);
  const MatmulPlan plan{MatmulType::kInt8, MatmulType::kInt8, MatmulType::kInt8, MatmulType::kInt8};
  auto loaded = Load(bert, plan);
  ASSERT_THAT(loaded, IsOk());
  ExpectMatchesReference(bert, *loaded->encoder, 1.0, kMinCosineInt8);
}

TEST(BertEncoderTest, Bf16IsCloseToScalarReferenceOrUnsupported) {
  const TinyBert bert = TinyBert::MakeRandom({}, 46);
  const MatmulPlan plan{MatmulType::kBf16, MatmulType::kBf16, MatmulType::kBf16, MatmulType::kBf16};
  auto loaded = Load(bert, plan);
  if (!testing::CpuRunsBf16Matmul()) {
    EXPECT_THAT(loaded, HasError(ErrorCode::kEngineUnsupportedPrecision));
    return;
  }
  ASSERT_THAT(loaded, IsOk());
  ExpectMatchesReference(bert, *loaded->encoder, 1.0, kMinCosineBf16);
}

TEST(BertEncoderTest, SequenceResultDoesNotDependOnItsBatch) {
  const TinyBert bert = TinyBert::MakeRandom({}, 47);
  auto loaded = Load(bert, MatmulPlan{});
  ASSERT_THAT(loaded, IsOk());
  const auto seqs = Sequences(bert.shape);
  EncoderWorkspace ws;
  const std::vector<float> together = RunEncoder(*loaded->encoder, Pack(seqs), &ws);
  const auto h = static_cast<size_t>(bert.shape.hidden);
  size_t offset = 0;
  for (const auto& s : seqs) {
    const std::vector<float> alone = RunEncoder(*loaded->encoder, Pack({s}), &ws);
    for (size_t i = 0; i < alone.size(); ++i) {
      EXPECT_NEAR(alone[i], together[offset * h + i], 1e-5f);
    }
    offset += s.size();
  }
}

TEST(BertEncoderTest, RejectsBadBatches) {
  const TinyBert bert = TinyBert::MakeRandom({}, 48);
  auto loaded = Load(bert, MatmulPlan{});
  ASSERT_THAT(loaded, IsOk());
  const BertEncoder& enc = *loaded->encoder;
  EncoderWorkspace ws;
  ws.Reserve(enc, 64, 64, static_cast<size_t>(omp_get_max_threads()));
  dnnl::stream stream(DnnlEngine());
  const std::vector<int32_t> ok_ids = {2, 5, 3};
  const std::vector<int32_t> bad_id = {2, bert.shape.vocab, 3};
  const std::vector<int32_t> negative_id = {2, -1, 3};
  const std::vector<int32_t> bad_type = {0, 2, 0};
  const std::vector<int32_t> short_type = {0, 0};
  const std::vector<size_t> offsets = {0, 3};
  const std::vector<size_t> empty_seq = {0, 0, 3};
  const std::vector<size_t> wrong_end = {0, 2};
  EXPECT_THAT(enc.Forward({bad_id, {}, offsets}, &ws, stream),
              HasError(ErrorCode::kEngineBadTokens));
  EXPECT_THAT(enc.Forward({negative_id, {}, offsets}, &ws, stream),
              HasError(ErrorCode::kEngineBadTokens));
  EXPECT_THAT(enc.Forward({ok_ids, bad_type, offsets}, &ws, stream),
              HasError(ErrorCode::kEngineBadTokens));
  EXPECT_THAT(enc.Forward({ok_ids, short_type, offsets}, &ws, stream),
              HasError(ErrorCode::kEngineBadTokens));
  EXPECT_THAT(enc.Forward({ok_ids, {}, empty_seq}, &ws, stream),
              HasError(ErrorCode::kEngineBadTokens));
  EXPECT_THAT(enc.Forward({ok_ids, {}, wrong_end}, &ws, stream),
              HasError(ErrorCode::kEngineBadTokens));
  std::vector<int32_t> too_long(static_cast<size_t>(bert.shape.max_positions) + 1, 5);
  const std::vector<size_t> long_offsets = {0, too_long.size()};
  EXPECT_THAT(enc.Forward({too_long, {}, long_offsets}, &ws, stream),
              HasError(ErrorCode::kEngineBadTokens));
  EXPECT_THAT(enc.Forward({ok_ids, {}, offsets}, &ws, stream), IsOk());
}

TEST(BertEncoderTest, MissingTensorIsReported) {
  const TinyBert bert = TinyBert::MakeRandom({}, 49);
  TinyBert broken = bert;
  auto config = model::ParseBertConfig(bert.ConfigJson());
  ASSERT_THAT(config, IsOk());
  config->num_layers = 3;  // The file has 2 layers.
  auto file = model::SafetensorsFile::FromBuffer(bert.Safetensors());
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(BertEncoder::Create(*config, *file, MatmulPlan{}, kernels::SelectKernels()),
              HasError(ErrorCode::kModelTensorNotFound));
}

}  // namespace
}  // namespace eml::engine::internal

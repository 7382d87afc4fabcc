// The real all-MiniLM-L6-v2 (installed by scripts/fetch-model) against the committed
// sentence-transformers reference, tests/vectors/embeddings/minilm_reference.json.gz (210 cases:
// short, long, truncated, unicode, edge cases). Accuracy gates per precision, for every sentence:
//   fp32: cosine >= 0.99999 and max |diff| <= 1e-4;  bf16, int8: cosine >= 0.999.
// A missing model FAILS (it is not skipped): run scripts/fetch-model.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "engine/embedder.h"
#include "engine/testing/cpu_features.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace eml::engine {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr double kMinCosineFp32 = 0.99999;
constexpr double kMaxAbsDiffFp32 = 1e-4;
constexpr double kMinCosineBf16 = 0.999;
constexpr double kMinCosineInt8 = 0.999;
constexpr size_t kDeclaredCases = 210;

struct Case {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<float> embedding;
};

std::vector<Case> LoadCases() {
  const nlohmann::json doc = nlohmann::json::parse(::eml::testing::ReadGzipText(
      ::eml::testing::SourcePath("tests/vectors/embeddings/minilm_reference.json.gz")));
  std::vector<Case> cases;
  for (const auto& c : doc.at("cases")) {
    cases.push_back({c.at("text").get<std::string>(), c.at("input_ids").get<std::vector<int32_t>>(),
                     c.at("embedding").get<std::vector<float>>()});
  }
  EXPECT_EQ(doc.at("num_cases").get<size_t>(), cases.size());
  EXPECT_EQ(cases.size(), kDeclaredCases);
  return cases;
}

Result<std::unique_ptr<Embedder>> LoadModel(const EmbedderOptions& options) {
  const auto dir = model::DefaultModelDirectoryPath();
  auto embedder = Embedder::LoadFromDirectory(dir, options);
  if (!embedder.has_value()) {
    ADD_FAILURE() << "cannot load the model from " << dir << " (" << ToString(embedder.error())
                  << "): run scripts/fetch-model";
  }
  return embedder;
}

struct Stats {
  double min_cosine = 1.0;
  double max_abs_diff = 0.0;
};

Stats Compare(const std::vector<Case>& cases, const EmbedResult& r, double min_cosine,
              double max_abs_diff, const char* label) {
  Stats stats;
  EXPECT_EQ(r.dim, 384u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const float* got = r.embeddings.data() + i * r.dim;
    const std::vector<float>& want = cases[i].embedding;
    double dot = 0, gg = 0, ww = 0, diff = 0;
    for (size_t c = 0; c < r.dim; ++c) {
      const auto g = static_cast<double>(got[c]);
      const auto w = static_cast<double>(want[c]);
      dot += g * w;
      gg += g * g;
      ww += w * w;
      diff = std::max(diff, std::fabs(g - w));
    }
    const double cosine = dot / std::sqrt(gg * ww);
    EXPECT_GE(cosine, min_cosine) << label << " case " << i << ": " << cases[i].text.substr(0, 60);
    EXPECT_LE(diff, max_abs_diff) << label << " case " << i << ": " << cases[i].text.substr(0, 60);
    stats.min_cosine = std::min(stats.min_cosine, cosine);
    stats.max_abs_diff = std::max(stats.max_abs_diff, diff);
  }
  std::printf("[ accuracy ] %s over %zu cases: min cosine %.8f, max |diff| %.3g\n", label,
              cases.size(), stats.min_cosine, stats.max_abs_diff);
  return stats;
}

std::vector<std::string> Texts(const std::vector<Case>& cases) {
  std::vector<std::string> texts;
  for (const Case& c : cases) {
    texts.push_back(c.text);
  }
  return texts;
}

TEST(EmbedderModelTest, Fp32MatchesSentenceTransformers) {
  const std::vector<Case> cases = LoadCases();
  auto embedder = LoadModel({});
  ASSERT_THAT(embedder, IsOk());
  EXPECT_EQ((*embedder)->dim(), 384u);
  EXPECT_EQ((*embedder)->max_seq_length(), 256u);
  auto r = (*embedder)->Embed(Texts(cases));
  ASSERT_THAT(r, IsOk());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(r->token_counts[i], cases[i].ids.size()) << "case " << i;
  }
  Compare(cases, *r, kMinCosineFp32, kMaxAbsDiffFp32, "fp32");
}

TEST(EmbedderModelTest, Fp32ReferenceKernelsMatchSentenceTransformers) {
  const std::vector<Case> cases = LoadCases();
  auto embedder = LoadModel({.force_reference_kernels = true});
  ASSERT_THAT(embedder, IsOk());
  EXPECT_EQ((*embedder)->kernel_isa(), "ref");
  auto r = (*embedder)->Embed(Texts(cases));
  ASSERT_THAT(r, IsOk());
  Compare(cases, *r, kMinCosineFp32, kMaxAbsDiffFp32, "fp32-ref-kernels");
}

TEST(EmbedderModelTest, TokenizedEntryMatchesReferenceIds) {
  const std::vector<Case> cases = LoadCases();
  auto embedder = LoadModel({});
  ASSERT_THAT(embedder, IsOk());
  std::vector<TokenizedText> tokenized;
  for (const Case& c : cases) {
    tokenized.push_back({c.ids, {}});
  }
  auto r = (*embedder)->EmbedTokenized(tokenized);
  ASSERT_THAT(r, IsOk());
  Compare(cases, *r, kMinCosineFp32, kMaxAbsDiffFp32, "fp32-tokenized");
}

TEST(EmbedderModelTest, Int8PassesTheGate) {
  const std::vector<Case> cases = LoadCases();
  auto embedder = LoadModel({.precision = Precision::kInt8});
  ASSERT_THAT(embedder, IsOk());
  auto r = (*embedder)->Embed(Texts(cases));
  ASSERT_THAT(r, IsOk());
  Compare(cases, *r, kMinCosineInt8, 1.0, "int8");
}

TEST(EmbedderModelTest, Bf16PassesTheGateOrIsUnsupported) {
  const std::vector<Case> cases = LoadCases();
  auto embedder = Embedder::LoadFromDirectory(model::DefaultModelDirectoryPath(),
                                              {.precision = Precision::kBf16});
  if (!::eml::engine::testing::CpuRunsBf16Matmul()) {
    EXPECT_THAT(embedder, HasError(ErrorCode::kEngineUnsupportedPrecision));
    return;
  }
  ASSERT_THAT(embedder, IsOk()) << "run scripts/fetch-model";
  auto r = (*embedder)->Embed(Texts(cases));
  ASSERT_THAT(r, IsOk());
  Compare(cases, *r, kMinCosineBf16, 1.0, "bf16");
}

TEST(EmbedderModelTest, LoadFromMemoryEqualsLoadFromDirectory) {
  const std::vector<Case> cases = LoadCases();
  const auto dir = model::DefaultModelDirectoryPath();
  auto from_dir = LoadModel({});
  ASSERT_THAT(from_dir, IsOk());
  // The same files in memory with the directory's pipeline (as the enclave boots a package).
  Result<model::ModelDirectory> md = model::ModelDirectory::Open(dir);
  ASSERT_THAT(md, IsOk());
  const std::vector<uint8_t> weights = ::eml::testing::ReadFileBytes(dir / "model.safetensors");
  auto from_memory = Embedder::LoadFromMemoryView(
      ::eml::testing::ReadFileText(dir / "config.json"),
      ::eml::testing::ReadFileText(dir / "tokenizer.json"), weights, md->embedding, {});
  ASSERT_THAT(from_memory, IsOk());
  const std::vector<std::string> texts = {cases[0].text, cases[1].text, cases.back().text};
  auto a = (*from_dir)->Embed(texts);
  auto b = (*from_memory)->Embed(texts);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->embeddings, b->embeddings);
  // Without the pipeline files, the default (sentence-transformers' for a plain model): the
  // same mean pooling without the normalization, so each row is the directory's times its norm.
  auto plain =
      Embedder::LoadFromMemory(::eml::testing::ReadFileText(dir / "config.json"),
                               ::eml::testing::ReadFileText(dir / "tokenizer.json"), weights, {});
  ASSERT_THAT(plain, IsOk());
  auto c = (*plain)->Embed(std::span<const std::string>(texts).first(2));
  ASSERT_THAT(c, IsOk());
  const size_t d = c->dim;
  for (size_t row = 0; row < 2; ++row) {
    double norm = 0;
    for (size_t i = 0; i < d; ++i) {
      const auto v = static_cast<double>(c->embeddings[row * d + i]);
      norm += v * v;
    }
    norm = std::sqrt(norm);
    EXPECT_GT(std::fabs(norm - 1.0), 1e-2) << "row " << row << " is normalized";
    for (size_t i = 0; i < d; ++i) {
      EXPECT_NEAR(static_cast<double>(c->embeddings[row * d + i]) / norm,
                  static_cast<double>(a->embeddings[row * d + i]), 1e-6)
          << "row " << row << " component " << i;
    }
  }
}

}  // namespace
}  // namespace eml::engine

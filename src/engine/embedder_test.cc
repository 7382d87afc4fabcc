// Embedder end to end on a small random BERT loaded from memory (config.json, tokenizer.json and
// safetensors bytes built by testing/tiny_bert.h), against the scalar reference forward.

#include "engine/embedder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "engine/testing/tiny_bert.h"
#include "testing/test_util.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace eml::engine {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using testing::TinyBert;

// Per component of a mean-pooled embedding (components of order 1: means of LayerNorm outputs).
constexpr double kMaxAbsErrorFp32 = 1e-5;

class EmbedderTest : public ::testing::Test {
 protected:
  EmbedderTest() : bert_(TinyBert::MakeRandom({}, 7)) {}

  Result<std::unique_ptr<Embedder>> Load(const EmbedderOptions& options) const {
    return Embedder::LoadFromMemory(bert_.ConfigJson(), testing::TinyTokenizerJson(48),
                                    bert_.Safetensors(), options);
  }

  std::vector<int32_t> Ids(const std::string& text) const {
    auto tok =
        tokenizer::WordPieceTokenizer::FromJson(testing::TinyTokenizerJson(48), {.max_length = 40});
    EXPECT_THAT(tok, IsOk());
    auto enc = tok->Encode(text);
    EXPECT_THAT(enc, IsOk());
    return enc->ids;
  }

  void ExpectRowMatches(const EmbedResult& r, size_t row, const std::string& text) const {
    const std::vector<double> want = bert_.ReferenceEmbedding(Ids(text));
    ASSERT_EQ(r.dim, want.size());
    double err = 0;
    for (size_t i = 0; i < r.dim; ++i) {
      err = std::max(err, std::fabs(static_cast<double>(r.embeddings[row * r.dim + i]) - want[i]));
    }
    EXPECT_LE(err, kMaxAbsErrorFp32) << "text \"" << text.substr(0, 40) << "\"";
  }

  TinyBert bert_;
};

TEST_F(EmbedderTest, EmbedsLikeTheReference) {
  auto embedder = Load({});
  ASSERT_THAT(embedder, IsOk());
  EXPECT_EQ((*embedder)->dim(), 64u);
  EXPECT_EQ((*embedder)->max_seq_length(), 40u);  // min(256, max_position_embeddings)
  const std::vector<std::string> texts = {"abc def", "hello world", "a", "zzz q ab"};
  auto r = (*embedder)->Embed(texts);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->embeddings.size(), texts.size() * 64);
  for (size_t i = 0; i < texts.size(); ++i) {
    ExpectRowMatches(*r, i, texts[i]);
    EXPECT_EQ(r->token_counts[i], Ids(texts[i]).size());
  }
}

TEST_F(EmbedderTest, ReferenceKernelsGiveTheSameEmbeddings) {
  auto embedder = Load({.force_reference_kernels = true});
  ASSERT_THAT(embedder, IsOk());
  EXPECT_EQ((*embedder)->kernel_isa(), "ref");
  const std::vector<std::string> texts = {"abc def", "kernels"};
  auto r = (*embedder)->Embed(texts);
  ASSERT_THAT(r, IsOk());
  ExpectRowMatches(*r, 0, texts[0]);
  ExpectRowMatches(*r, 1, texts[1]);
}

TEST_F(EmbedderTest, EmptyStringEmbedsClsSep) {
  auto embedder = Load({});
  ASSERT_THAT(embedder, IsOk());
  const std::vector<std::string> texts = {""};
  auto r = (*embedder)->Embed(texts);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->token_counts[0], 2u);
  EXPECT_EQ(Ids(""), (std::vector<int32_t>{2, 3}));
  ExpectRowMatches(*r, 0, "");
}

TEST_F(EmbedderTest, MegabyteTextIsTruncatedQuickly) {
  auto embedder = Load({});
  ASSERT_THAT(embedder, IsOk());
  std::string big;
  while (big.size() < (1u << 20)) {
    big += "abc de fgh ";
  }
  const std::vector<std::string> texts = {big};
  const auto start = std::chrono::steady_clock::now();
  auto r = (*embedder)->Embed(texts);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->token_counts[0], 40u);
  ExpectRowMatches(*r, 0, big);
  // One UTF-8 scan + 40 tokens: milliseconds in practice. The bound only catches work that grows
  // with the whole text (seconds to minutes), with room for sanitizers on a loaded machine.
  EXPECT_LT(elapsed, std::chrono::seconds(30));
}

TEST_F(EmbedderTest, InvalidUtf8FailsTheWholeCall) {
  auto embedder = Load({});
  ASSERT_THAT(embedder, IsOk());
  const std::vector<std::string> texts = {"fine", std::string("bad \xC3\x28 byte")};
  EXPECT_THAT((*embedder)->Embed(texts), HasError(ErrorCode::kTokenizerInvalidUtf8));
}

TEST_F(EmbedderTest, ZeroTextsIsAnError) {
  auto embedder = Load({});
  ASSERT_THAT(embedder, IsOk());
  EXPECT_THAT((*embedder)->Embed({}), HasError(ErrorCode::kEngineNoTexts));
  EXPECT_THAT((*embedder)->EmbedTokenized({}), HasError(ErrorCode::kEngineNoTexts));
}

TEST_F(EmbedderTest, TooManyTextsIsAnError) {
  auto embedder = Load({});  // Default limit 4096 texts per call.
  ASSERT_THAT(embedder, IsOk());
  const std::vector<std::string> texts(10000, "abc");
  EXPECT_THAT((*embedder)->Embed(texts), HasError(ErrorCode::kEngineTooManyTexts));
  std::vector<int32_t> ids = {2, 3};
  const std::vector<TokenizedText> tokenized(4097, TokenizedText{ids, {}});
  EXPECT_THAT((*embedder)->EmbedTokenized(tokenized), HasError(ErrorCode::kEngineTooManyTexts));
}

TEST_F(EmbedderTest, TenThousandTextsRunInBoundedChunks) {
  // 10,000 texts with a 64-token chunk limit: many encoder passes, one small workspace.
  auto embedder = Load({.max_batch_tokens = 64, .max_texts_per_call = 10000});
  ASSERT_THAT(embedder, IsOk());
  std::vector<std::string> texts;
  for (int i = 0; i < 10000; ++i) {
    texts.push_back(std::string(1, static_cast<char>('a' + i % 26)) + " " +
                    std::string(static_cast<size_t>(i % 7), 'b'));
  }
  auto r = (*embedder)->Embed(texts);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->embeddings.size(), texts.size() * 64);
  for (size_t i : {size_t{0}, size_t{1}, size_t{77}, size_t{5000}, size_t{9999}}) {
    ExpectRowMatches(*r, i, texts[i]);
  }
}

TEST_F(EmbedderTest, BatchEqualsOneByOne) {
  auto embedder = Load({.max_batch_tokens = 40});
  ASSERT_THAT(embedder, IsOk());
  const std::vector<std::string> texts = {"abc", "de fg hi", "jklmnop", "q", "rs tu vw xy z"};
  auto all = (*embedder)->Embed(texts);
  ASSERT_THAT(all, IsOk());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto one = (*embedder)->Embed(std::span<const std::string>(&texts[i], 1));
    ASSERT_THAT(one, IsOk());
    for (size_t c = 0; c < 64; ++c) {
      EXPECT_NEAR(one->embeddings[c], all->embeddings[i * 64 + c], 1e-6f);
    }
  }
}

TEST_F(EmbedderTest, DeterministicForSameModeAndThreads) {
  for (Precision p : {Precision::kFp32, Precision::kInt8}) {
    for (int threads : {1, 2}) {
      auto a = Load({.precision = p, .num_threads = threads});
      auto b = Load({.precision = p, .num_threads = threads});
      ASSERT_THAT(a, IsOk());
      ASSERT_THAT(b, IsOk());
      std::vector<std::string> texts;
      for (int i = 0; i < 50; ++i) {
        texts.push_back(
            std::string(static_cast<size_t>(1 + i % 13), static_cast<char>('a' + i % 26)) + " xyz");
      }
      auto r1 = (*a)->Embed(texts);
      auto r2 = (*a)->Embed(texts);
      auto r3 = (*b)->Embed(texts);
      ASSERT_THAT(r1, IsOk());
      ASSERT_THAT(r2, IsOk());
      ASSERT_THAT(r3, IsOk());
      EXPECT_EQ(r1->embeddings, r2->embeddings) << PrecisionName(p) << " threads " << threads;
      EXPECT_EQ(r1->embeddings, r3->embeddings) << PrecisionName(p) << " threads " << threads;
    }
  }
}

TEST_F(EmbedderTest, EmbedTokenizedMatchesEmbed) {
  auto embedder = Load({});
  ASSERT_THAT(embedder, IsOk());
  const std::vector<std::string> texts = {"abc def", "ghi"};
  std::vector<tokenizer::Encoding> encodings(texts.size());
  std::vector<TokenizedText> tokenized;
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_THAT((*embedder)->Tokenize(texts[i], &encodings[i]), IsOk());
    tokenized.push_back({encodings[i].ids, encodings[i].type_ids});
  }
  auto a = (*embedder)->Embed(texts);
  auto b = (*embedder)->EmbedTokenized(tokenized);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->embeddings, b->embeddings);
  EXPECT_EQ(a->token_counts, b->token_counts);
}

TEST_F(EmbedderTest, EmbedTokenizedRejectsBadSequences) {
  auto embedder = Load({});
  ASSERT_THAT(embedder, IsOk());
  const std::vector<int32_t> empty;
  const std::vector<int32_t> too_long(41, 5);
  const std::vector<int32_t> out_of_vocab = {2, 48, 3};
  const std::vector<int32_t> ok = {2, 5, 3};
  const std::vector<int32_t> short_types = {0};
  for (const TokenizedText& bad :
       {TokenizedText{empty, {}}, TokenizedText{too_long, {}}, TokenizedText{out_of_vocab, {}},
        TokenizedText{ok, short_types}}) {
    const std::vector<TokenizedText> batch = {TokenizedText{ok, {}}, bad};
    EXPECT_THAT((*embedder)->EmbedTokenized(batch), HasError(ErrorCode::kEngineBadTokens));
  }
}

TEST_F(EmbedderTest, RejectsBadOptions) {
  EXPECT_THAT(Load({.num_threads = -1}), HasError(ErrorCode::kEngineBadOptions));
  EXPECT_THAT(Load({.max_batch_tokens = 39}), HasError(ErrorCode::kEngineBadOptions));
  EXPECT_THAT(Load({.max_texts_per_call = 0}), HasError(ErrorCode::kEngineBadOptions));
}

TEST_F(EmbedderTest, LoadErrorsComeFromTheModelAndTokenizer) {
  EXPECT_THAT(
      Embedder::LoadFromMemory("{}", testing::TinyTokenizerJson(48), bert_.Safetensors(), {}),
      HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(Embedder::LoadFromMemory(bert_.ConfigJson(), "not json", bert_.Safetensors(), {}),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(Embedder::LoadFromMemory(bert_.ConfigJson(), testing::TinyTokenizerJson(48),
                                       std::vector<uint8_t>(4, 0), {}),
              HasError(ErrorCode::kModelTruncated));
}

TEST_F(EmbedderTest, Int8IsCloseToTheReference) {
  auto embedder = Load({.precision = Precision::kInt8});
  ASSERT_THAT(embedder, IsOk());
  EXPECT_EQ((*embedder)->precision(), Precision::kInt8);
  const std::vector<std::string> texts = {"abc def", "hello world", "quantized"};
  auto r = (*embedder)->Embed(texts);
  ASSERT_THAT(r, IsOk());
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<double> want = bert_.ReferenceEmbedding(Ids(texts[i]));
    double dot = 0;
    double got_norm = 0;
    double want_norm = 0;
    for (size_t c = 0; c < 64; ++c) {
      const auto got = static_cast<double>(r->embeddings[i * 64 + c]);
      dot += got * want[c];
      got_norm += got * got;
      want_norm += want[c] * want[c];
    }
    EXPECT_GE(dot / std::sqrt(got_norm * want_norm), 0.995) << texts[i];  // the cosine
  }
}

TEST(EmbedderNamesTest, PrecisionNames) {
  EXPECT_EQ(PrecisionName(Precision::kFp32), "fp32");
  EXPECT_EQ(PrecisionName(Precision::kBf16), "bf16");
  EXPECT_EQ(PrecisionName(Precision::kInt8), "int8");
}

}  // namespace
}  // namespace eml::engine

// Token ids must equal those of Hugging Face `tokenizers` for every case of
// tests/vectors/tokenizer/minilm_parity.jsonl.gz (see the README there for provenance).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "testing/test_util.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace eml::tokenizer {
namespace {

using ::eml::testing::IsOk;

struct Case {
  std::string text;
  std::vector<int32_t> ids;  // truncated by HF at the file's max_length
};

struct Corpus {
  size_t max_length = 0;
  std::vector<Case> cases;
};

Corpus LoadCorpus() {
  std::istringstream lines(::eml::testing::ReadGzipText(
      ::eml::testing::SourcePath("tests/vectors/tokenizer/minilm_parity.jsonl.gz")));
  std::string line;
  Corpus corpus;
  EXPECT_TRUE(std::getline(lines, line));
  nlohmann::json header = nlohmann::json::parse(line);
  corpus.max_length = header.at("max_length");
  size_t declared = header.at("count");
  while (std::getline(lines, line)) {
    nlohmann::json row = nlohmann::json::parse(line);
    EXPECT_EQ(row.size(), 2u) << "unread field in " << line;
    corpus.cases.push_back({row.at("text"), row.at("ids").get<std::vector<int32_t>>()});
  }
  EXPECT_EQ(corpus.cases.size(), declared);
  EXPECT_GE(corpus.cases.size(), 2000u);
  return corpus;
}

// HF truncation keeps the first max_length - 2 pieces: a prefix of the longer expectation.
std::vector<int32_t> Truncate(const std::vector<int32_t>& ids, size_t max_length) {
  if (ids.size() <= max_length) {
    return ids;
  }
  std::vector<int32_t> out(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(max_length - 1));
  out.push_back(ids.back());
  return out;
}

void CheckAll(const Corpus& corpus, size_t max_length) {
  TokenizerOptions options;
  options.max_length = max_length;
  auto tokenizer = WordPieceTokenizer::FromFile(
      ::eml::testing::SharedVectorPath("minilm/tokenizer.json"), options);
  ASSERT_THAT(tokenizer, IsOk());
  size_t compared = 0;
  size_t mismatches = 0;
  Encoding encoding;
  for (const Case& c : corpus.cases) {
    std::vector<int32_t> want = Truncate(c.ids, max_length);
    Status status = tokenizer->EncodeInto(c.text, &encoding);
    ++compared;
    if (!status.has_value() || encoding.ids != want) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "max_length " << max_length << " text "
                      << ::testing::PrintToString(c.text.substr(0, 300)) << "\n got "
                      << ::testing::PrintToString(encoding.ids) << "\nwant "
                      << ::testing::PrintToString(want);
      }
      continue;
    }
    EXPECT_EQ(encoding.type_ids, std::vector<int32_t>(want.size(), 0));
    EXPECT_EQ(encoding.attention_mask, std::vector<int32_t>(want.size(), 1));
  }
  EXPECT_EQ(compared, corpus.cases.size());
  EXPECT_EQ(mismatches, 0u) << "of " << compared << " at max_length " << max_length;
}

TEST(TokenizerParityTest, MiniLmMatchesHuggingFace) {
  Corpus corpus = LoadCorpus();
  ASSERT_EQ(corpus.max_length, kMaxSupportedLength);
  CheckAll(corpus, kMaxSupportedLength);
  CheckAll(corpus, kDefaultMaxLength);
  CheckAll(corpus, 16);
}

}  // namespace
}  // namespace eml::tokenizer

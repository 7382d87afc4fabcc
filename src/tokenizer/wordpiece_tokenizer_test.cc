#include "tokenizer/wordpiece_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace eml::tokenizer {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using Json = nlohmann::json;

// A small BERT-style tokenizer.json, shaped like the real file.
Json SmallConfig() {
  Json vocab = {{"[PAD]", 0},  {"[UNK]", 1},         {"[CLS]", 2}, {"[SEP]", 3}, {"[MASK]", 4},
                {"hello", 5},  {"world", 6},         {",", 7},     {"!", 8},     {"un", 9},
                {"##aff", 10}, {"##able", 11},       {"a", 12},    {"##a", 13},  {"cafe", 14},
                {"i", 15},     {"\xE4\xBD\xA0", 16}, {"##b", 17}};
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       {{{"id", 0},
         {"content", "[PAD]"},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", true}},
        {{"id", 4},
         {"content", "[MASK]"},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", true}}}},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"clean_text", true},
        {"handle_chinese_chars", true},
        {"strip_accents", nullptr},
        {"lowercase", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
        {"pair", Json::array()},
        {"special_tokens",
         {{"[CLS]", {{"id", "[CLS]"}, {"ids", {2}}, {"tokens", {"[CLS]"}}}},
          {"[SEP]", {{"id", "[SEP]"}, {"ids", {3}}, {"tokens", {"[SEP]"}}}}}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100},
        {"vocab", vocab}}},
  };
}

WordPieceTokenizer Load(const Json& config, const TokenizerOptions& options = {}) {
  auto tokenizer = WordPieceTokenizer::FromJson(config.dump(), options);
  EXPECT_THAT(tokenizer, IsOk());
  return *std::move(tokenizer);
}

std::vector<int32_t> Ids(const WordPieceTokenizer& tokenizer, std::string_view text) {
  auto encoding = tokenizer.Encode(text);
  EXPECT_THAT(encoding, IsOk());
  return encoding.has_value() ? encoding->ids : std::vector<int32_t>{};
}

Result<WordPieceTokenizer> LoadChanged(void (*change)(Json*)) {
  Json config = SmallConfig();
  change(&config);
  return WordPieceTokenizer::FromJson(config.dump());
}

TEST(WordPieceTokenizerTest, LoadsAndReportsSpecialIds) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  EXPECT_EQ(tokenizer.vocab_size(), 18u);
  EXPECT_EQ(tokenizer.pad_id(), 0);
  EXPECT_EQ(tokenizer.unk_id(), 1);
  EXPECT_EQ(tokenizer.cls_id(), 2);
  EXPECT_EQ(tokenizer.sep_id(), 3);
  EXPECT_EQ(tokenizer.max_length(), kDefaultMaxLength);
}

TEST(WordPieceTokenizerTest, EncodesWithClsSepTypeIdsAndMask) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  auto encoding = tokenizer.Encode("Hello, WORLD!");
  ASSERT_THAT(encoding, IsOk());
  EXPECT_THAT(encoding->ids, ElementsAre(2, 5, 7, 6, 8, 3));
  EXPECT_THAT(encoding->type_ids, ElementsAre(0, 0, 0, 0, 0, 0));
  EXPECT_THAT(encoding->attention_mask, ElementsAre(1, 1, 1, 1, 1, 1));
}

TEST(WordPieceTokenizerTest, EmptyAndWhitespaceOnlyGiveClsSep) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  EXPECT_THAT(Ids(tokenizer, ""), ElementsAre(2, 3));
  EXPECT_THAT(Ids(tokenizer, " \t\n\xE3\x80\x80"), ElementsAre(2, 3));
}

TEST(WordPieceTokenizerTest, GreedyLongestMatchWithContinuation) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  EXPECT_THAT(Ids(tokenizer, "unaffable"), ElementsAre(2, 9, 10, 11, 3));
  EXPECT_THAT(Ids(tokenizer, "aaa"), ElementsAre(2, 12, 13, 13, 3));
  EXPECT_THAT(Ids(tokenizer, "ab"), ElementsAre(2, 12, 17, 3));
}

TEST(WordPieceTokenizerTest, UnmatchableWordIsOneUnk) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  EXPECT_THAT(Ids(tokenizer, "unaffablez hello"), ElementsAre(2, 1, 5, 3));
  EXPECT_THAT(Ids(tokenizer, "ba"), ElementsAre(2, 1, 3));
}

TEST(WordPieceTokenizerTest, WordLongerThanMaxInputCharsIsUnk) {
  Json config = SmallConfig();
  config["model"]["max_input_chars_per_word"] = 5;
  WordPieceTokenizer tokenizer = Load(config);
  EXPECT_THAT(Ids(tokenizer, "aaaaa"), ElementsAre(2, 12, 13, 13, 13, 13, 3));
  EXPECT_THAT(Ids(tokenizer, "aaaaaa"), ElementsAre(2, 1, 3));
  // Counted in characters after normalization: five accented a's are five chars.
  EXPECT_THAT(Ids(tokenizer, "\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1"),
              ElementsAre(2, 12, 13, 13, 13, 13, 3));
}

TEST(WordPieceTokenizerTest, NormalizesAccentsCaseAndChinese) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  EXPECT_THAT(Ids(tokenizer, "CAF\xC3\x89"), ElementsAre(2, 14, 3));
  EXPECT_THAT(Ids(tokenizer,
                  "a\xE4\xBD\xA0"
                  "a"),
              ElementsAre(2, 12, 16, 12, 3));
  EXPECT_THAT(Ids(tokenizer, "\xC4\xB0"), ElementsAre(2, 15, 3));  // U+0130 -> i
}

TEST(WordPieceTokenizerTest, StripAccentsFalseKeepsMarks) {
  Json config = SmallConfig();
  config["normalizer"]["strip_accents"] = false;
  WordPieceTokenizer tokenizer = Load(config);
  EXPECT_THAT(Ids(tokenizer, "CAF\xC3\x89"), ElementsAre(2, 1, 3));
  EXPECT_THAT(Ids(tokenizer, "CAFE"), ElementsAre(2, 14, 3));
}

TEST(WordPieceTokenizerTest, AddedTokensInTextAreMatchedBeforeNormalization) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  EXPECT_THAT(Ids(tokenizer, "hello[MASK]world"), ElementsAre(2, 5, 4, 6, 3));
  EXPECT_THAT(Ids(tokenizer, "[mask]"), ElementsAre(2, 1, 1, 1, 3));  // "[", "mask", "]"
}

TEST(WordPieceTokenizerTest, TruncatesToMaxLengthKeepingSep) {
  TokenizerOptions options;
  options.max_length = 5;
  WordPieceTokenizer tokenizer = Load(SmallConfig(), options);
  EXPECT_THAT(Ids(tokenizer, "hello world hello world hello"), ElementsAre(2, 5, 6, 5, 3));
  EXPECT_THAT(Ids(tokenizer, "unaffable unaffable"), ElementsAre(2, 9, 10, 11, 3));
  EXPECT_THAT(Ids(tokenizer, "hello"), ElementsAre(2, 5, 3));
  options.max_length = 2;
  WordPieceTokenizer tiny = Load(SmallConfig(), options);
  EXPECT_THAT(Ids(tiny, "hello world"), ElementsAre(2, 3));
  EXPECT_THAT(tiny.Encode("hello \xFF"), HasError(ErrorCode::kTokenizerInvalidUtf8));
}

TEST(WordPieceTokenizerTest, MaxLengthOutOfRangeIsInvalidArgument) {
  for (size_t max_length : {size_t{0}, size_t{1}, kMaxSupportedLength + 1}) {
    TokenizerOptions options;
    options.max_length = max_length;
    EXPECT_THAT(WordPieceTokenizer::FromJson(SmallConfig().dump(), options),
                HasError(ErrorCode::kInvalidArgument));
  }
  TokenizerOptions options;
  options.max_length = kMaxSupportedLength;
  EXPECT_THAT(WordPieceTokenizer::FromJson(SmallConfig().dump(), options), IsOk());
}

TEST(WordPieceTokenizerTest, InvalidUtf8IsRejectedWithEmptyOutput) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  Encoding encoding;
  ASSERT_THAT(tokenizer.EncodeInto("hello", &encoding), IsOk());
  EXPECT_THAT(tokenizer.EncodeInto("hello \xC3\x28 world", &encoding),
              HasError(ErrorCode::kTokenizerInvalidUtf8));
  EXPECT_TRUE(encoding.ids.empty());
  EXPECT_TRUE(encoding.type_ids.empty());
  EXPECT_TRUE(encoding.attention_mask.empty());
  EXPECT_THAT(tokenizer.Encode("\xED\xA0\x80"), HasError(ErrorCode::kTokenizerInvalidUtf8));
}

TEST(WordPieceTokenizerTest, EncodeIntoReusesCapacity) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  Encoding encoding;
  ASSERT_THAT(tokenizer.EncodeInto("hello world", &encoding), IsOk());
  encoding.ids.reserve(kDefaultMaxLength);
  encoding.type_ids.reserve(kDefaultMaxLength);
  encoding.attention_mask.reserve(kDefaultMaxLength);
  const int32_t* data = encoding.ids.data();
  ASSERT_THAT(tokenizer.EncodeInto("hello, world! unaffable", &encoding), IsOk());
  EXPECT_EQ(encoding.ids.data(), data);
  EXPECT_THAT(encoding.ids, ElementsAre(2, 5, 7, 6, 8, 9, 10, 11, 3));
}

TEST(WordPieceTokenizerTest, ConcurrentEncodeAgrees) {
  WordPieceTokenizer tokenizer = Load(SmallConfig());
  std::vector<int32_t> want = Ids(tokenizer, "Hello, world! unaffable caf\xC3\xA9");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto got = tokenizer.Encode("Hello, world! unaffable caf\xC3\xA9");
        if (!got.has_value() || got->ids != want) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

TEST(WordPieceTokenizerTest, BertProcessingIsAccepted) {
  Json config = SmallConfig();
  config["post_processor"] = {
      {"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}};
  WordPieceTokenizer tokenizer = Load(config);
  EXPECT_THAT(Ids(tokenizer, "hello"), ElementsAre(2, 5, 3));
}

TEST(WordPieceTokenizerTest, PadIdFromPaddingSection) {
  Json config = SmallConfig();
  config["padding"] = {{"pad_id", 4}, {"pad_token", "[MASK]"}};
  EXPECT_EQ(Load(config).pad_id(), 4);
}

// --- Error codes, one test each ---

TEST(WordPieceTokenizerErrorTest, JsonTooLarge) {
  TokenizerOptions options;
  options.max_json_bytes = 100;
  EXPECT_THAT(WordPieceTokenizer::FromJson(SmallConfig().dump(), options),
              HasError(ErrorCode::kTokenizerJsonTooLarge));
}

TEST(WordPieceTokenizerErrorTest, MalformedJson) {
  EXPECT_THAT(WordPieceTokenizer::FromJson("{\"model\": "),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(WordPieceTokenizer::FromJson("[]"), HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(WordPieceTokenizer::FromJson(""), HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(WordPieceTokenizer::FromJson("{\"a\": \"\xFF\"}"),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(LoadChanged([](Json* c) { c->erase("model"); }),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["vocab"] = Json::array(); }),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["max_input_chars_per_word"] = "100"; }),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["normalizer"]["lowercase"] = 1; }),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["normalizer"]["strip_accents"] = "yes"; }),
              HasError(ErrorCode::kTokenizerMalformedJson));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["added_tokens"] = "x"; }),
              HasError(ErrorCode::kTokenizerMalformedJson));
}

TEST(WordPieceTokenizerErrorTest, TooDeepJson) {
  std::string deep = "{\"x\": " + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_THAT(WordPieceTokenizer::FromJson(deep), HasError(ErrorCode::kTokenizerMalformedJson));
  std::string very_deep(200000, '[');
  EXPECT_THAT(WordPieceTokenizer::FromJson(very_deep),
              HasError(ErrorCode::kTokenizerMalformedJson));
}

TEST(WordPieceTokenizerErrorTest, UnsupportedModel) {
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["type"] = "BPE"; }),
              HasError(ErrorCode::kTokenizerUnsupportedModel));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["continuing_subword_prefix"] = ""; }),
              HasError(ErrorCode::kTokenizerUnsupportedModel));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["max_input_chars_per_word"] = 0; }),
              HasError(ErrorCode::kTokenizerUnsupportedModel));
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["model"]["max_input_chars_per_word"] = kMaxInputCharsPerWordLimit + 1;
              }),
              HasError(ErrorCode::kTokenizerUnsupportedModel));
}

TEST(WordPieceTokenizerErrorTest, BadVocab) {
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["vocab"] = Json::object(); }),
              HasError(ErrorCode::kTokenizerBadVocab));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["vocab"]["extra"] = 99; }),
              HasError(ErrorCode::kTokenizerBadVocab));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["vocab"]["extra"] = 5; }),
              HasError(ErrorCode::kTokenizerBadVocab));  // duplicate id
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["vocab"]["extra"] = -1; }),
              HasError(ErrorCode::kTokenizerBadVocab));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["vocab"]["extra"] = 18.5; }),
              HasError(ErrorCode::kTokenizerBadVocab));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["vocab"][""] = 18; }),
              HasError(ErrorCode::kTokenizerBadVocab));
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["model"]["vocab"][std::string(kMaxVocabTokenBytes + 1, 'x')] = 18;
              }),
              HasError(ErrorCode::kTokenizerBadVocab));
  TokenizerOptions options;
  options.max_vocab_size = 17;
  EXPECT_THAT(WordPieceTokenizer::FromJson(SmallConfig().dump(), options),
              HasError(ErrorCode::kTokenizerBadVocab));
}

TEST(WordPieceTokenizerErrorTest, MissingUnkToken) {
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["model"]["unk_token"] = "<unk>"; }),
              HasError(ErrorCode::kTokenizerMissingUnkToken));
}

TEST(WordPieceTokenizerErrorTest, UnsupportedNormalizer) {
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["normalizer"] = {{"type", "NFKC"}};
              }),
              HasError(ErrorCode::kTokenizerUnsupportedNormalizer));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["normalizer"] = nullptr; }),
              HasError(ErrorCode::kTokenizerUnsupportedNormalizer));
}

TEST(WordPieceTokenizerErrorTest, UnsupportedPreTokenizer) {
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["pre_tokenizer"] = {{"type", "Whitespace"}};
              }),
              HasError(ErrorCode::kTokenizerUnsupportedPreTokenizer));
  EXPECT_THAT(LoadChanged([](Json* c) { c->erase("pre_tokenizer"); }),
              HasError(ErrorCode::kTokenizerUnsupportedPreTokenizer));
}

TEST(WordPieceTokenizerErrorTest, UnsupportedPostProcessor) {
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["post_processor"] = {{"type", "RobertaProcessing"}};
              }),
              HasError(ErrorCode::kTokenizerUnsupportedPostProcessor));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["post_processor"]["single"].erase(2); }),
              HasError(ErrorCode::kTokenizerUnsupportedPostProcessor));
  EXPECT_THAT(
      LoadChanged([](Json* c) { (*c)["post_processor"]["single"][1]["Sequence"]["type_id"] = 1; }),
      HasError(ErrorCode::kTokenizerUnsupportedPostProcessor));
  EXPECT_THAT(
      LoadChanged([](Json* c) {
        (*c)["post_processor"]["single"][1] = {{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}};
      }),
      HasError(ErrorCode::kTokenizerUnsupportedPostProcessor));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["post_processor"] = nullptr; }),
              HasError(ErrorCode::kTokenizerUnsupportedPostProcessor));
}

TEST(WordPieceTokenizerErrorTest, MissingSpecialToken) {
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["post_processor"]["special_tokens"].erase("[SEP]"); }),
              HasError(ErrorCode::kTokenizerMissingSpecialToken));
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["post_processor"]["special_tokens"]["[CLS]"]["ids"] = {500};
              }),
              HasError(ErrorCode::kTokenizerMissingSpecialToken));
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["model"]["vocab"].erase("[PAD]");
                (*c)["model"]["vocab"]["<pad>"] = 0;
              }),
              HasError(ErrorCode::kTokenizerMissingSpecialToken));
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["padding"] = {{"pad_id", 1000}};
              }),
              HasError(ErrorCode::kTokenizerMissingSpecialToken));
  EXPECT_THAT(LoadChanged([](Json* c) {
                (*c)["post_processor"] = {
                    {"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 99}}};
              }),
              HasError(ErrorCode::kTokenizerMissingSpecialToken));
}

TEST(WordPieceTokenizerErrorTest, UnsupportedAddedToken) {
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["added_tokens"][1]["lstrip"] = true; }),
              HasError(ErrorCode::kTokenizerUnsupportedAddedToken));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["added_tokens"][1]["normalized"] = true; }),
              HasError(ErrorCode::kTokenizerUnsupportedAddedToken));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["added_tokens"][1]["id"] = 18; }),
              HasError(ErrorCode::kTokenizerUnsupportedAddedToken));
  EXPECT_THAT(LoadChanged([](Json* c) { (*c)["added_tokens"][1]["content"] = ""; }),
              HasError(ErrorCode::kTokenizerUnsupportedAddedToken));
  EXPECT_THAT(LoadChanged([](Json* c) {
                Json many = Json::array();
                for (size_t i = 0; i <= kMaxAddedTokens; ++i) {
                  many.push_back({{"id", 5}, {"content", "x" + std::to_string(i)}});
                }
                (*c)["added_tokens"] = many;
              }),
              HasError(ErrorCode::kTokenizerUnsupportedAddedToken));
}

TEST(WordPieceTokenizerErrorTest, FromFileErrors) {
  EXPECT_THAT(WordPieceTokenizer::FromFile("/nonexistent/tokenizer.json"),
              HasError(ErrorCode::kNotFound));
  TokenizerOptions options;
  options.max_json_bytes = 1000;
  EXPECT_THAT(WordPieceTokenizer::FromFile(
                  ::eml::testing::SharedVectorPath("minilm/tokenizer.json"), options),
              HasError(ErrorCode::kTokenizerJsonTooLarge));
}

// --- The real all-MiniLM-L6-v2 tokenizer ---

TEST(MiniLmTokenizerTest, LoadsFromFileAndMemoryAlike) {
  auto path = ::eml::testing::SharedVectorPath("minilm/tokenizer.json");
  auto from_file = WordPieceTokenizer::FromFile(path);
  ASSERT_THAT(from_file, IsOk());
  auto from_memory = WordPieceTokenizer::FromJson(::eml::testing::ReadFileText(path));
  ASSERT_THAT(from_memory, IsOk());
  EXPECT_EQ(from_file->vocab_size(), 30522u);
  EXPECT_EQ(from_file->pad_id(), 0);
  EXPECT_EQ(from_file->unk_id(), 100);
  EXPECT_EQ(from_file->cls_id(), 101);
  EXPECT_EQ(from_file->sep_id(), 102);
  std::string text = "The quick brown fox jumps over the lazy dog.";
  EXPECT_EQ(from_file->Encode(text)->ids, from_memory->Encode(text)->ids);
  // Reference ids from HF tokenizers 0.23.3.
  EXPECT_THAT(from_file->Encode(text)->ids, ElementsAreArray({101, 1996, 4248, 2829, 4419, 14523,
                                                              2058, 1996, 13971, 3899, 1012, 102}));
}

}  // namespace
}  // namespace eml::tokenizer

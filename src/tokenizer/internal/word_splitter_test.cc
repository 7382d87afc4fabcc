#include "tokenizer/internal/word_splitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/test_util.h"

namespace eml::tokenizer::internal {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// CollectSink records words as UTF-8 strings and added tokens as "<id>".
class CollectSink : public WordSink {
 public:
  explicit CollectSink(size_t max_items = SIZE_MAX) : max_items_(max_items) {}
  bool OnWord(std::span<const char32_t> chars, size_t num_chars) override {
    std::string word;
    for (char32_t cp : chars) {
      AppendUtf8(cp, &word);
    }
    if (num_chars > chars.size()) {
      word += "...";
    }
    words.push_back(word);
    return words.size() < max_items_;
  }
  bool OnAddedToken(int32_t id) override {
    words.push_back("<" + std::to_string(id) + ">");
    return words.size() < max_items_;
  }
  std::vector<std::string> words;

 private:
  size_t max_items_;
};

std::vector<std::string> Split(std::string_view text, const SplitterConfig& config) {
  CollectSink sink;
  Status status = SplitWords(text, config, &sink);
  EXPECT_THAT(status, IsOk()) << text;
  return sink.words;
}

SplitterConfig Uncased() { return MakeSplitterConfig(NormalizerFlags{}, {}); }

TEST(WordSplitterTest, WhitespaceAndPunctuation) {
  EXPECT_THAT(Split("Hello, world!", Uncased()), ElementsAre("hello", ",", "world", "!"));
  EXPECT_THAT(Split("  a\t\nb  ", Uncased()), ElementsAre("a", "b"));
  EXPECT_THAT(Split("", Uncased()), IsEmpty());
  EXPECT_THAT(Split(" \t\r\n", Uncased()), IsEmpty());
  EXPECT_THAT(Split("...", Uncased()), ElementsAre(".", ".", "."));
}

TEST(WordSplitterTest, CleanTextDropsControlsAndReplacementChar) {
  EXPECT_THAT(Split(std::string("a\0b", 3), Uncased()), ElementsAre("ab"));
  EXPECT_THAT(Split("a\xEF\xBF\xBD"
                    "b",
                    Uncased()),
              ElementsAre("ab"));  // U+FFFD
  EXPECT_THAT(Split("a\xE2\x80\x8B"
                    "b",
                    Uncased()),
              ElementsAre("ab"));  // U+200B (Cf)
  EXPECT_THAT(Split("a\xC2\xA0"
                    "b",
                    Uncased()),
              ElementsAre("a", "b"));  // NBSP -> space
}

TEST(WordSplitterTest, ChineseCharactersStandAlone) {
  EXPECT_THAT(Split("ab\xE4\xBD\xA0\xE5\xA5\xBD"
                    "cd",
                    Uncased()),
              ElementsAre("ab", "\xE4\xBD\xA0", "\xE5\xA5\xBD", "cd"));
}

TEST(WordSplitterTest, StripAccentsAndLowercase) {
  EXPECT_THAT(Split("Caf\xC3\xA9 \xC3\x85", Uncased()), ElementsAre("cafe", "a"));
  // U+0130 with accent stripping: NFD gives I + U+0307, the mark goes, then lowercase.
  EXPECT_THAT(Split("\xC4\xB0", Uncased()), ElementsAre("i"));
  // Without stripping, Rust's to_lowercase gives two code points (utf8proc gives one).
  SplitterConfig keep = MakeSplitterConfig({true, true, false, true}, {});
  EXPECT_THAT(Split("\xC4\xB0", keep), ElementsAre("i\xCC\x87"));
}

TEST(WordSplitterTest, CanonicalOrderingOfKeptMarks) {
  // U+1D16D (ccc 226) then U+1D165 (ccc 216), both Mc and kept: NFD swaps them.
  SplitterConfig config = Uncased();
  EXPECT_THAT(Split("x\xF0\x9D\x85\xAD\xF0\x9D\x85\xA5", config),
              ElementsAre("x\xF0\x9D\x85\xA5\xF0\x9D\x85\xAD"));
}

TEST(WordSplitterTest, AddedTokensMatchRawTextLongestFirst) {
  SplitterConfig config =
      MakeSplitterConfig(NormalizerFlags{}, {{"[SEP]", 102}, {"[MASK]", 103}, {"[MASK]X", 7}});
  EXPECT_THAT(Split("a[SEP]b [MASK]X[MASK] [sep]", config),
              ElementsAre("a", "<102>", "b", "<7>", "<103>", "[", "sep", "]"));
}

TEST(WordSplitterTest, LongWordReportsFullLength) {
  std::string word(kWordCapacity + 10, 'a');
  CollectSink sink;
  ASSERT_THAT(SplitWords(word, Uncased(), &sink), IsOk());
  ASSERT_EQ(sink.words.size(), 1u);
  EXPECT_EQ(sink.words[0], std::string(kWordCapacity, 'a') + "...");
}

TEST(WordSplitterTest, SinkCanStopEarlyButTailIsStillValidated) {
  CollectSink sink(2);
  EXPECT_THAT(SplitWords("a b c d", Uncased(), &sink), IsOk());
  EXPECT_THAT(sink.words, ElementsAre("a", "b"));
  CollectSink sink2(1);
  EXPECT_THAT(SplitWords("a b c \xFF", Uncased(), &sink2),
              HasError(ErrorCode::kTokenizerInvalidUtf8));
}

TEST(WordSplitterTest, RejectsInvalidUtf8) {
  const char* bad[] = {
      "\x80",                  // lone continuation byte
      "\xC3",                  // truncated 2-byte
      "\xC0\x80",              // overlong NUL
      "\xC1\xBF",              // overlong
      "\xE0\x80\x80",          // overlong 3-byte
      "\xED\xA0\x80",          // surrogate U+D800
      "\xED\xBF\xBF",          // surrogate U+DFFF
      "\xF0\x80\x80\x80",      // overlong 4-byte
      "\xF4\x90\x80\x80",      // U+110000
      "\xF8\x88\x80\x80\x80",  // 5-byte form
      "\xFE",
      "\xFF",
      "ok\xE2\x82",    // truncated at the end
      "\xE2\x28\xA1",  // bad continuation
  };
  for (const char* text : bad) {
    CollectSink sink;
    EXPECT_THAT(SplitWords(text, Uncased(), &sink), HasError(ErrorCode::kTokenizerInvalidUtf8))
        << ::testing::PrintToString(std::string(text));
  }
  // Boundary scalars are valid: U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF.
  CollectSink sink;
  EXPECT_THAT(SplitWords("\xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF",
                         Uncased(), &sink),
              IsOk());
}

// Walks minilm_codepoints.json.gz: for every Unicode scalar value and four normalizer
// configurations, the words of "x<c>x" must equal those of HF tokenizers, and so must a list of
// strings that exercise mark reordering and multi-code-point mappings.
TEST(WordSplitterTest, MatchesHuggingFaceForEveryCodePoint) {
  nlohmann::json vectors = nlohmann::json::parse(::eml::testing::ReadGzipText(
      ::eml::testing::SourcePath("tests/vectors/tokenizer/minilm_codepoints.json.gz")));
  ASSERT_EQ(vectors.at("probe"), "x{c}x");
  ASSERT_EQ(vectors.at("configs").size(), 4u);
  size_t checked = 0;
  for (const auto& cfg : vectors.at("configs")) {
    const auto& f = cfg.at("flags");
    SplitterConfig config = MakeSplitterConfig(
        {f.at("clean_text").get<bool>(), f.at("handle_chinese_chars").get<bool>(),
         f.at("strip_accents").get<bool>(), f.at("lowercase").get<bool>()},
        {});
    // Expected words per code point: default "x<c>x", then runs and explicit entries.
    std::vector<std::vector<std::string>> expected_special;
    std::vector<int32_t> index(0x110000, -1);
    for (const auto& run : cfg.at("runs")) {
      std::string kind = run.at(2);
      for (uint32_t cp = run.at(0); cp <= run.at(1).get<uint32_t>(); ++cp) {
        std::string c;
        AppendUtf8(cp, &c);
        std::vector<std::string> words;
        if (kind == "split") {
          words = {"x", c, "x"};
        } else if (kind == "drop") {
          words = {"xx"};
        } else {
          ASSERT_EQ(kind, "space");
          words = {"x", "x"};
        }
        index[cp] = static_cast<int32_t>(expected_special.size());
        expected_special.push_back(words);
      }
    }
    for (const auto& entry : cfg.at("explicit")) {
      uint32_t cp = entry.at(0);
      index[cp] = static_cast<int32_t>(expected_special.size());
      expected_special.push_back(entry.at(1).get<std::vector<std::string>>());
    }
    size_t failures = 0;
    for (uint32_t cp = 0; cp < 0x110000; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        continue;
      }
      std::string c;
      AppendUtf8(cp, &c);
      std::vector<std::string> expected = index[cp] >= 0
                                              ? expected_special[static_cast<size_t>(index[cp])]
                                              : std::vector<std::string>{"x" + c + "x"};
      CollectSink sink;
      ASSERT_THAT(SplitWords("x" + c + "x", config, &sink), IsOk());
      ++checked;
      if (sink.words != expected && ++failures <= 10) {
        ADD_FAILURE() << cfg.at("name") << " U+" << std::hex << cp << ": got "
                      << ::testing::PrintToString(sink.words) << " want "
                      << ::testing::PrintToString(expected);
      }
    }
    EXPECT_EQ(failures, 0u) << cfg.at("name");
    for (const auto& item : cfg.at("strings")) {
      std::string text = item.at(0);
      EXPECT_EQ(Split(text, config), item.at(1).get<std::vector<std::string>>())
          << cfg.at("name") << " " << ::testing::PrintToString(text);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4u * (0x110000 - 0x800) + 4u * vectors.at("configs")[0].at("strings").size());
}

}  // namespace
}  // namespace eml::tokenizer::internal

#include "tokenizer/internal/unicode.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <string_view>

namespace eml::tokenizer::internal {
namespace {

// The generated tables record where utf8proc 2.8.0 (Unicode 15.0.0) and HF tokenizers differ;
// another utf8proc version needs regenerated tables (the code point vectors would fail too).
TEST(UnicodeTest, Utf8procVersionMatchesGeneratedTables) {
  EXPECT_EQ(std::string_view(utf8proc_unicode_version()), "15.0.0");
}

TEST(UnicodeTest, Whitespace) {
  for (char32_t cp :
       {U' ', U'\t', U'\n', U'\r', U'\v', U'\f', U'\u0085', U'\u00A0', U'\u3000', U'\u2028',
        U'\u2029', U'\u202F', U'\u205F', U'\u1680', U'\u2000', U'\u200A'}) {
    EXPECT_TRUE(IsWhitespace(cp)) << static_cast<uint32_t>(cp);
  }
  for (char32_t cp : {U'a', U'\u200B', U'\u001C', U'\u180E', U'\uFEFF'}) {
    EXPECT_FALSE(IsWhitespace(cp)) << static_cast<uint32_t>(cp);
  }
}

TEST(UnicodeTest, CleanDropped) {
  EXPECT_TRUE(IsCleanDropped(0));
  EXPECT_TRUE(IsCleanDropped(0xFFFD));
  EXPECT_TRUE(IsCleanDropped(0x7F));
  EXPECT_TRUE(IsCleanDropped(0x200D));  // ZWJ (Cf)
  EXPECT_TRUE(IsCleanDropped(0xE000));  // private use
  EXPECT_FALSE(IsCleanDropped('\t'));
  EXPECT_FALSE(IsCleanDropped(0x378));   // unassigned code points stay
  EXPECT_FALSE(IsCleanDropped(0x0890));  // Cf since Unicode 14; HF's older table keeps it
}

TEST(UnicodeTest, Punctuation) {
  EXPECT_TRUE(IsPunctuation('!'));
  EXPECT_TRUE(IsPunctuation('$'));  // ASCII symbol counts
  EXPECT_TRUE(IsPunctuation('`'));
  EXPECT_TRUE(IsPunctuation(0x00BF));
  EXPECT_TRUE(IsPunctuation(0x3002));
  EXPECT_TRUE(IsPunctuation(0x166D));   // Po in HF's older table, So in Unicode 15
  EXPECT_FALSE(IsPunctuation(0x061D));  // Po since Unicode 14, unknown to HF
  EXPECT_TRUE(IsPunctuation(0x00B7));
  EXPECT_FALSE(IsPunctuation('a'));
  EXPECT_FALSE(IsPunctuation(0x20AC));  // euro sign is Sc
}

TEST(UnicodeTest, CjkRangesIncludeHfGap) {
  EXPECT_TRUE(IsCjkIdeograph(0x4E00));
  EXPECT_TRUE(IsCjkIdeograph(0x2B81F));
  EXPECT_FALSE(IsCjkIdeograph(0x2B820));  // HF's table skips 2B820..2B91F
  EXPECT_TRUE(IsCjkIdeograph(0x2B920));
  EXPECT_FALSE(IsCjkIdeograph(0x3007));
  EXPECT_FALSE(IsCjkIdeograph(0x30000));
}

TEST(UnicodeTest, DecomposeAndMarks) {
  char32_t out[kMaxDecompositionLength];
  ASSERT_EQ(Decompose(0x00E9, out), 2u);
  EXPECT_EQ(out[0], U'e');
  EXPECT_EQ(out[1], 0x0301u);
  EXPECT_TRUE(IsStrippedMark(0x0301));
  ASSERT_EQ(Decompose(0xAC00, out), 2u);  // Hangul syllable GA
  EXPECT_EQ(out[0], 0x1100u);
  EXPECT_EQ(out[1], 0x1161u);
  ASSERT_EQ(Decompose(0x11938, out), 1u);  // HF's NFD leaves it composed
  ASSERT_EQ(Decompose('a', out), 1u);
  EXPECT_EQ(CombiningClass(0x0301), 230);
  EXPECT_EQ(CombiningClass('a'), 0);
  // ccc 230 since Unicode 14; the NFD inside HF tokenizers still treats it as a starter.
  EXPECT_EQ(CombiningClass(0x08CA), 0);
}

TEST(UnicodeTest, LowercaseFollowsRust) {
  char32_t out[kMaxLowercaseLength];
  ASSERT_EQ(Lowercase(0x0130, out), 2u);
  EXPECT_EQ(out[0], U'i');
  EXPECT_EQ(out[1], 0x0307u);
  ASSERT_EQ(Lowercase('Q', out), 1u);
  EXPECT_EQ(out[0], U'q');
  ASSERT_EQ(Lowercase(0x03A3, out), 1u);  // Sigma: no final-sigma context per char
  EXPECT_EQ(out[0], 0x03C3u);
  ASSERT_EQ(Lowercase(0xA7CB, out), 1u);  // Unicode 16 mapping, absent from utf8proc 2.8
  EXPECT_EQ(out[0], 0x0264u);
}

}  // namespace
}  // namespace eml::tokenizer::internal

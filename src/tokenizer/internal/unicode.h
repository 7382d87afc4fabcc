#pragma once
// Code point classes of Hugging Face's BertNormalizer and BertPreTokenizer, answered by utf8proc
// (categories, NFD, lowercase, combining class) corrected by the generated tables in
// unicode_tables.inc where `tokenizers` (older Unicode category data, newer case data) differs.
// All functions are pure and thread-safe. Inputs are Unicode scalar values (no surrogates).

#include <cstddef>
#include <cstdint>

namespace eml::tokenizer::internal {

struct CodePointRange {
  char32_t first;
  char32_t last;  // inclusive
};

struct CodePointMapping {
  char32_t from;
  uint8_t length;  // 1..3
  char32_t to[3];
};

struct CombiningClassOverride {
  char32_t cp;
  uint8_t combining_class;
};

// The longest canonical decomposition of one code point (utf8proc / Unicode: 4).
inline constexpr size_t kMaxDecompositionLength = 4;
inline constexpr size_t kMaxLowercaseLength = 3;

// IsWhitespace: Rust's char::is_whitespace (Unicode White_Space), which includes \t \n \r.
bool IsWhitespace(char32_t cp);
// IsCleanDropped: what clean_text deletes: NUL, U+FFFD and HF's "other" (Cc/Cf/Co) except \t\n\r.
bool IsCleanDropped(char32_t cp);
// IsPunctuation: ASCII 33-47, 58-64, 91-96, 123-126 or HF's Unicode P*.
bool IsPunctuation(char32_t cp);
// IsCjkIdeograph: the ranges handle_chinese_chars pads with spaces.
bool IsCjkIdeograph(char32_t cp);
// IsStrippedMark: what strip_accents deletes after NFD (HF's Mn).
bool IsStrippedMark(char32_t cp);
// CombiningClass: the canonical combining class (0 for starters).
uint8_t CombiningClass(char32_t cp);
// Decompose writes the full canonical decomposition of `cp` (not reordered; `cp` itself when it
// has none) to `out` and returns its length (1..kMaxDecompositionLength).
size_t Decompose(char32_t cp, char32_t (&out)[kMaxDecompositionLength]);
// Lowercase writes Rust's char::to_lowercase(cp) to `out` and returns its length (1..3).
size_t Lowercase(char32_t cp, char32_t (&out)[kMaxLowercaseLength]);

}  // namespace eml::tokenizer::internal

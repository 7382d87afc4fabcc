#include "tokenizer/internal/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>
#include <span>

#include "common/check.h"

namespace eml::tokenizer::internal {
namespace {

#include "tokenizer/internal/unicode_tables.inc"

bool InRanges(std::span<const CodePointRange> ranges, char32_t cp) {
  auto it =
      std::upper_bound(ranges.begin(), ranges.end(), cp,
                       [](char32_t value, const CodePointRange& r) { return value < r.first; });
  return it != ranges.begin() && cp <= std::prev(it)->last;
}

const CodePointMapping* FindMapping(std::span<const CodePointMapping> mappings, char32_t cp) {
  auto it =
      std::lower_bound(mappings.begin(), mappings.end(), cp,
                       [](const CodePointMapping& m, char32_t value) { return m.from < value; });
  if (it == mappings.end() || it->from != cp) {
    return nullptr;
  }
  return &*it;
}

utf8proc_propval_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

bool IsAsciiPunctuation(char32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
         (cp >= 123 && cp <= 126);
}

}  // namespace

bool IsWhitespace(char32_t cp) {
  if (cp < 0x80) {
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  }
  switch (cp) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool IsCleanDropped(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') {
    return false;
  }
  utf8proc_propval_t category = Category(cp);
  bool base = cp == 0xFFFD || category == UTF8PROC_CATEGORY_CC ||
              category == UTF8PROC_CATEGORY_CF || category == UTF8PROC_CATEGORY_CS ||
              category == UTF8PROC_CATEGORY_CO;
  return base != InRanges(kCleanDropToggles, cp);
}

bool IsPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return IsAsciiPunctuation(cp);
  }
  utf8proc_propval_t category = Category(cp);
  bool base = category >= UTF8PROC_CATEGORY_PC && category <= UTF8PROC_CATEGORY_PO;
  return base != InRanges(kPunctuationToggles, cp);
}

bool IsCjkIdeograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool IsStrippedMark(char32_t cp) {
  if (cp < 0x80) {
    return false;
  }
  bool base = Category(cp) == UTF8PROC_CATEGORY_MN;
  return base != InRanges(kStripMarkToggles, cp);
}

uint8_t CombiningClass(char32_t cp) {
  if (cp < 0x300) {
    return 0;
  }
  auto it = std::lower_bound(
      std::begin(kCombiningClassOverrides), std::end(kCombiningClassOverrides), cp,
      [](const CombiningClassOverride& o, char32_t value) { return o.cp < value; });
  if (it != std::end(kCombiningClassOverrides) && it->cp == cp) {
    return it->combining_class;
  }
  return static_cast<uint8_t>(
      utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class);
}

size_t Decompose(char32_t cp, char32_t (&out)[kMaxDecompositionLength]) {
  out[0] = cp;
  if (cp < 0xC0) {
    return 1;
  }
  if (const CodePointMapping* m = FindMapping(kNfdOverrides, cp)) {
    std::copy_n(m->to, m->length, out);
    return m->length;
  }
  utf8proc_int32_t buffer[kMaxDecompositionLength];
  int last_boundclass = 0;
  utf8proc_ssize_t n =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, kMaxDecompositionLength,
                              UTF8PROC_DECOMPOSE, &last_boundclass);
  // utf8proc's tables are ours to trust: a failure or a longer decomposition is a bug here.
  EML_CHECK(n >= 1 && static_cast<size_t>(n) <= kMaxDecompositionLength);
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    out[i] = static_cast<char32_t>(buffer[i]);
  }
  return static_cast<size_t>(n);
}

size_t Lowercase(char32_t cp, char32_t (&out)[kMaxLowercaseLength]) {
  if (cp < 0x80) {
    out[0] = (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp;
    return 1;
  }
  if (const CodePointMapping* m = FindMapping(kLowercaseOverrides, cp)) {
    std::copy_n(m->to, m->length, out);
    return m->length;
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

}  // namespace eml::tokenizer::internal

#pragma once
// SplitWords: Hugging Face's added-token extraction, BertNormalizer and BertPreTokenizer as one
// streaming pass over UTF-8 text, handing each word to a sink without heap allocation. Text is
// untrusted request input; its only limit is the sink's (it may stop early), and every byte is
// still validated as UTF-8. Fuzzed through tokenizer_encode.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace eml::tokenizer::internal {

struct NormalizerFlags {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

struct AddedToken {
  std::string content;  // matched byte for byte in the raw text
  int32_t id = 0;
};

// How an ASCII code point behaves after normalization (a fast path for the common case).
enum class AsciiClass : uint8_t { kDrop, kSpace, kPunctuation, kWord };

struct SplitterConfig {
  NormalizerFlags flags;
  std::vector<AddedToken> added_tokens;
  std::array<bool, 256> starts_added_token{};  // first bytes of added tokens
  std::array<AsciiClass, 128> ascii_class{};
  std::array<char32_t, 128> ascii_normalized{};  // for kWord / kPunctuation
};

// MakeSplitterConfig fills the derived tables from `flags` and `added_tokens`.
SplitterConfig MakeSplitterConfig(const NormalizerFlags& flags,
                                  std::vector<AddedToken> added_tokens);

// A word holds at most this many code points; longer words are reported with their full count.
inline constexpr size_t kWordCapacity = kMaxInputCharsPerWordLimit + 1;

class WordSink {
 public:
  virtual ~WordSink() = default;
  // OnWord receives one pre-tokenized word: its first min(num_chars, kWordCapacity) normalized
  // code points in `chars` (a view valid only during the call) and its length in code points.
  // Returning false stops splitting; the rest of the text is then only validated.
  virtual bool OnWord(std::span<const char32_t> chars, size_t num_chars) = 0;
  // OnAddedToken receives the id of an added token found in the raw text.
  virtual bool OnAddedToken(int32_t id) = 0;
};

// SplitWords feeds `text` to `sink`. Returns kTokenizerInvalidUtf8 if `text` is not valid UTF-8;
// words before the bad byte may already have reached the sink, so callers discard its output.
Status SplitWords(std::string_view text, const SplitterConfig& config, WordSink* sink);

}  // namespace eml::tokenizer::internal

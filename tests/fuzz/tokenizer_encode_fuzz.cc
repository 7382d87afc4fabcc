// Fuzzes WordPieceTokenizer::EncodeInto with all-MiniLM-L6-v2's tokenizer.json on arbitrary
// bytes. Properties: never crashes; fails only with kTokenizerInvalidUtf8 and exactly when an
// independent UTF-8 check says the input is invalid; on success ids are inside the vocab, start
// with [CLS], end with [SEP], fit max_length, type ids are 0 and the mask 1; a shorter
// max_length gives a prefix of the longer result (truncation never changes earlier pieces).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "tokenizer/wordpiece_tokenizer.h"

namespace {

using eml::tokenizer::Encoding;
using eml::tokenizer::TokenizerOptions;
using eml::tokenizer::WordPieceTokenizer;

std::filesystem::path TokenizerPath() {
  if (const char* shared = std::getenv("EML_SHARED_DIR")) {
    return std::filesystem::path(shared) / "vectors" / "minilm" / "tokenizer.json";
  }
  return EML_MINILM_TOKENIZER_JSON;
}

WordPieceTokenizer Load(size_t max_length) {
  TokenizerOptions options;
  options.max_length = max_length;
  auto tokenizer = WordPieceTokenizer::FromFile(TokenizerPath(), options);
  if (!tokenizer.has_value()) {
    std::fprintf(stderr, "cannot load %s\n", TokenizerPath().c_str());
    std::abort();
  }
  return *std::move(tokenizer);
}

// IsValidUtf8 is written independently of the tokenizer's decoder (byte-range table form of
// Unicode Table 3-7).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  while (i < s.size()) {
    uint8_t b = byte(i);
    size_t n = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;
    if (b <= 0x7F) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      lo = b == 0xE0 ? 0xA0 : 0x80;
      hi = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      lo = b == 0xF0 ? 0x90 : 0x80;
      hi = b == 0xF4 ? 0x8F : 0xBF;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;
    }
    if (byte(i + 1) < lo || byte(i + 1) > hi) {
      return false;
    }
    for (size_t k = 2; k <= n; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
        return false;
      }
    }
    i += n + 1;
  }
  return true;
}

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

void CheckEncoding(const WordPieceTokenizer& tokenizer, const Encoding& e) {
  Check(e.ids.size() >= 2 && e.ids.size() <= tokenizer.max_length(), "length");
  Check(e.ids.front() == tokenizer.cls_id(), "first id is [CLS]");
  Check(e.ids.back() == tokenizer.sep_id(), "last id is [SEP]");
  for (int32_t id : e.ids) {
    Check(id >= 0 && static_cast<size_t>(id) < tokenizer.vocab_size(), "id inside vocab");
  }
  Check(e.type_ids.size() == e.ids.size() && e.attention_mask.size() == e.ids.size(), "sizes");
  for (size_t i = 0; i < e.ids.size(); ++i) {
    Check(e.type_ids[i] == 0 && e.attention_mask[i] == 1, "type ids 0, mask 1");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const WordPieceTokenizer long_tokenizer = Load(512);
  static const WordPieceTokenizer short_tokenizer = Load(16);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  bool valid = IsValidUtf8(text);
  Encoding long_encoding;
  Encoding short_encoding;
  auto long_status = long_tokenizer.EncodeInto(text, &long_encoding);
  auto short_status = short_tokenizer.EncodeInto(text, &short_encoding);
  Check(long_status.has_value() == valid, "fails exactly on invalid UTF-8");
  Check(short_status.has_value() == valid, "fails exactly on invalid UTF-8 (short)");
  if (!valid) {
    Check(long_status.code() == eml::ErrorCode::kTokenizerInvalidUtf8, "error code");
    Check(long_encoding.ids.empty() && long_encoding.type_ids.empty() &&
              long_encoding.attention_mask.empty(),
          "no output on error");
    return 0;
  }
  CheckEncoding(long_tokenizer, long_encoding);
  CheckEncoding(short_tokenizer, short_encoding);
  // Truncation keeps a prefix: the short pieces are the first pieces of the long result.
  for (size_t i = 0; i + 1 < short_encoding.ids.size(); ++i) {
    Check(i + 1 < long_encoding.ids.size() && short_encoding.ids[i] == long_encoding.ids[i],
          "truncation is a prefix");
  }
  return 0;
}

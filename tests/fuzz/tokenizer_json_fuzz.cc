// Fuzzes WordPieceTokenizer::FromJson on arbitrary bytes (seeds: small BERT-style
// tokenizer.json files). Properties: never crashes; errors are tokenizer or argument codes; a
// tokenizer that loads reports special ids inside its vocab and encodes text with ids inside the
// vocab, [CLS] first and [SEP] last.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tokenizer/wordpiece_tokenizer.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

bool InVocab(const eml::tokenizer::WordPieceTokenizer& t, int32_t id) {
  return id >= 0 && static_cast<size_t>(id) < t.vocab_size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  eml::tokenizer::TokenizerOptions options;
  options.max_length = 32;
  auto tokenizer = eml::tokenizer::WordPieceTokenizer::FromJson(json, options);
  if (!tokenizer.has_value()) {
    auto code = static_cast<uint16_t>(tokenizer.code());
    Check(code >= 550 && code < 600, "error code in the tokenizer range");
    return 0;
  }
  Check(InVocab(*tokenizer, tokenizer->cls_id()) && InVocab(*tokenizer, tokenizer->sep_id()) &&
            InVocab(*tokenizer, tokenizer->pad_id()) && InVocab(*tokenizer, tokenizer->unk_id()),
        "special ids inside the vocab");
  for (std::string_view text :
       {std::string_view("Hello, world! unaffable [MASK] caf\xC3\xA9"), json.substr(0, 256)}) {
    eml::tokenizer::Encoding encoding;
    if (!tokenizer->EncodeInto(text, &encoding).has_value()) {
      continue;  // the raw JSON bytes need not be UTF-8
    }
    Check(encoding.ids.size() >= 2 && encoding.ids.size() <= 32, "length");
    Check(encoding.ids.front() == tokenizer->cls_id(), "[CLS] first");
    Check(encoding.ids.back() == tokenizer->sep_id(), "[SEP] last");
    for (int32_t id : encoding.ids) {
      Check(InVocab(*tokenizer, id), "ids inside the vocab");
    }
  }
  return 0;
}

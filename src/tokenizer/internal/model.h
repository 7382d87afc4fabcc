#pragma once
// internal::Model: everything a loaded tokenizer needs, immutable after BuildModel, shared by
// copies of WordPieceTokenizer and safe to read from many threads.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/result.h"
#include "tokenizer/internal/vocab_table.h"
#include "tokenizer/internal/word_splitter.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace eml::tokenizer::internal {

struct Model {
  VocabTable word_start;    // every vocab token
  VocabTable continuation;  // tokens that start with the continuing prefix, prefix removed
  size_t vocab_size = 0;
  int32_t unk_id = 0;
  int32_t cls_id = 0;
  int32_t sep_id = 0;
  int32_t pad_id = 0;
  size_t max_input_chars_per_word = 100;
  size_t max_length = kDefaultMaxLength;
  SplitterConfig splitter;
};

// BuildModel parses tokenizer.json text and validates it (errors: see
// WordPieceTokenizer::FromJson).
Result<std::shared_ptr<const Model>> BuildModel(std::string_view json_text,
                                                const TokenizerOptions& options);

}  // namespace eml::tokenizer::internal

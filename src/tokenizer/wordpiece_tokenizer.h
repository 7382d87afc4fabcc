#pragma once
// Posture: reads a Hugging Face `tokenizer.json` (from the model bundle, decrypted inside the
// enclave) and request text (from the client); both are untrusted. Limits: TokenizerOptions
// (kDefaultMaxJsonBytes, kDefaultMaxVocabSize, kMaxVocabTokenBytes, kMaxJsonDepth,
// kMaxAddedTokens, kMaxSupportedLength). Fuzz targets: tokenizer_json, tokenizer_encode.
//
// eml::tokenizer::WordPieceTokenizer: the BERT WordPiece tokenizer of Hugging Face `tokenizers`
// (BertNormalizer + BertPreTokenizer + WordPiece + "[CLS] A [SEP]" template), producing the same
// token ids as `tokenizers` for every valid UTF-8 input (docs/tokenizer.md). Supported
// configuration: model WordPiece, normalizer BertNormalizer, pre_tokenizer BertPreTokenizer,
// post_processor TemplateProcessing "[CLS] $A [SEP]" (type ids 0) or BertProcessing, added tokens
// with single_word/lstrip/rstrip/normalized all false. The file's `truncation`, `padding` and
// `decoder` sections are ignored: truncation comes from TokenizerOptions and there is no padding
// (callers pad with pad_id()).
//
// Behaviour worth knowing:
// - Added tokens ("[CLS]", "[SEP]", "[MASK]", ...) written literally in the input text are matched
//   case-sensitively before normalization and become their ids, as in `tokenizers`.
// - Invalid UTF-8 input (bad bytes, overlong forms, surrogates, > U+10FFFF) is rejected with
//   kTokenizerInvalidUtf8 and no output, rather than replaced: replacing with U+FFFD would have
//   clean_text delete it and silently join the words around it.
// - Truncation keeps the first max_length - 2 word pieces, then appends [SEP]. Work stops once
//   that many pieces exist, so the cost of Encode is bounded by the kept prefix plus one UTF-8
//   validation pass over the whole text.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace eml::tokenizer {

// Limits (STYLE.md B3).
inline constexpr size_t kDefaultMaxLength = 256;           // all-MiniLM-L6-v2 max_seq_length.
inline constexpr size_t kMaxSupportedLength = 512;         // BERT position embeddings.
inline constexpr size_t kMinLength = 2;                    // room for [CLS] and [SEP].
inline constexpr size_t kDefaultMaxJsonBytes = 16u << 20;  // minilm's file is 466 KB.
inline constexpr size_t kDefaultMaxVocabSize = 262144;     // multilingual BERT has 119,547.
inline constexpr size_t kMaxVocabTokenBytes = 1024;        // longest vocab / added token, bytes.
inline constexpr size_t kMaxInputCharsPerWordLimit = 256;  // cap on max_input_chars_per_word.
inline constexpr size_t kMaxAddedTokens = 1024;
inline constexpr int kMaxJsonDepth = 64;

struct Encoding {
  std::vector<int32_t> ids;             // [CLS] pieces... [SEP]
  std::vector<int32_t> type_ids;        // all 0 (single sequence)
  std::vector<int32_t> attention_mask;  // all 1 (no padding)
};

struct TokenizerOptions {
  size_t max_length = kDefaultMaxLength;  // in [kMinLength, kMaxSupportedLength], counts specials
  size_t max_json_bytes = kDefaultMaxJsonBytes;
  size_t max_vocab_size = kDefaultMaxVocabSize;
};

namespace internal {
struct Model;
}  // namespace internal

// Thread safety: a WordPieceTokenizer is immutable after FromJson/FromFile; all methods are const
// and may run concurrently. Copies share the loaded model.
class WordPieceTokenizer {
 public:
  // FromJson parses and validates `json_text` (the content of tokenizer.json) and builds the
  // vocabulary hash table. `json_text` is not retained. Errors:
  // - kInvalidArgument: options.max_length outside [kMinLength, kMaxSupportedLength].
  // - kTokenizerJsonTooLarge: json_text longer than options.max_json_bytes.
  // - kTokenizerMalformedJson: not JSON, nested deeper than kMaxJsonDepth, or a required field
  //   missing or of the wrong type.
  // - kTokenizerUnsupportedModel: model.type is not WordPiece, the continuing prefix is empty,
  //   or max_input_chars_per_word is outside [1, kMaxInputCharsPerWordLimit].
  // - kTokenizerBadVocab: vocab empty or above options.max_vocab_size, ids not exactly 0..n-1,
  //   or a token empty or above kMaxVocabTokenBytes.
  // - kTokenizerMissingUnkToken: unk_token absent from the vocab.
  // - kTokenizerUnsupportedNormalizer: normalizer is not BertNormalizer.
  // - kTokenizerUnsupportedPreTokenizer: pre_tokenizer is not BertPreTokenizer.
  // - kTokenizerUnsupportedPostProcessor: post_processor is not a "[CLS] $A [SEP]" form.
  // - kTokenizerMissingSpecialToken: the CLS / SEP / PAD id is missing or outside the vocab.
  // - kTokenizerUnsupportedAddedToken: an added token uses options not implemented, is empty or
  //   too long, has an id outside the vocab, or there are more than kMaxAddedTokens.
  static Result<WordPieceTokenizer> FromJson(std::string_view json_text,
                                             const TokenizerOptions& options = {});
  // FromFile reads `path` (at most options.max_json_bytes) and calls FromJson. Extra errors:
  // kNotFound (no such file), kIoError (unreadable), kTokenizerJsonTooLarge.
  static Result<WordPieceTokenizer> FromFile(const std::filesystem::path& path,
                                             const TokenizerOptions& options = {});

  // Encode tokenizes `text` into [CLS] pieces [SEP], truncated to max_length() ids. Never fails
  // for valid UTF-8; invalid UTF-8 gives kTokenizerInvalidUtf8.
  Result<Encoding> Encode(std::string_view text) const;
  // EncodeInto is Encode writing into `out`, reusing its vectors' capacity: once they hold
  // max_length() elements it allocates nothing. On error all three vectors are left empty.
  Status EncodeInto(std::string_view text, Encoding* out) const;

  size_t vocab_size() const;
  int32_t pad_id() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t unk_id() const;
  size_t max_length() const;

 private:
  explicit WordPieceTokenizer(std::shared_ptr<const internal::Model> model)
      : model_(std::move(model)) {}

  std::shared_ptr<const internal::Model> model_;
};

}  // namespace eml::tokenizer

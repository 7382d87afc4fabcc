#include "tokenizer/wordpiece_tokenizer.h"

#include <array>
#include <fstream>
#include <span>
#include <string>
#include <system_error>

#include "common/check.h"
#include "tokenizer/internal/model.h"
#include "tokenizer/internal/word_splitter.h"

namespace eml::tokenizer {
namespace {

using internal::kWordCapacity;
using internal::Model;

// Utf8Length is the number of bytes of the UTF-8 form of a scalar value.
size_t Utf8Length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// WordPieceSink runs greedy longest-match-first WordPiece on each word and appends the ids to
// `ids` until it has appended `max_pieces`.
class WordPieceSink final : public internal::WordSink {
 public:
  WordPieceSink(const Model& model, std::vector<int32_t>* ids, size_t max_pieces)
      : model_(model), ids_(ids), max_pieces_(max_pieces) {}

  bool OnAddedToken(int32_t id) override { return Push(id); }

  bool OnWord(std::span<const char32_t> chars, size_t num_chars) override {
    if (num_chars > model_.max_input_chars_per_word) {
      return Push(model_.unk_id);
    }
    // max_input_chars_per_word <= kMaxInputCharsPerWordLimit < kWordCapacity: all chars stored.
    EML_CHECK(chars.size() == num_chars);
    size_t num_bytes = 0;
    for (size_t i = 0; i < num_chars; ++i) {
      char_offset_[i] = num_bytes;
      num_bytes += EncodeUtf8(chars[i], num_bytes);
    }
    char_offset_[num_chars] = num_bytes;
    std::string_view word(bytes_.data(), num_bytes);

    size_t num_pieces = 0;
    size_t start = 0;
    while (start < num_chars) {
      int32_t id = -1;
      size_t end = num_chars;
      for (; end > start; --end) {
        std::string_view piece =
            word.substr(char_offset_[start], char_offset_[end] - char_offset_[start]);
        id = start == 0 ? model_.word_start.Find(piece) : model_.continuation.Find(piece);
        if (id >= 0) {
          break;
        }
      }
      if (id < 0) {
        return Push(model_.unk_id);
      }
      pieces_[num_pieces++] = id;
      start = end;
    }
    for (size_t i = 0; i < num_pieces; ++i) {
      if (!Push(pieces_[i])) {
        return false;
      }
    }
    return true;
  }

 private:
  // Push appends a piece unless `max_pieces_` are already there; false means "stop".
  bool Push(int32_t id) {
    if (num_pushed_ >= max_pieces_) {
      return false;
    }
    ids_->push_back(id);
    ++num_pushed_;
    return num_pushed_ < max_pieces_;
  }

  size_t EncodeUtf8(char32_t cp, size_t at) {
    size_t n = Utf8Length(cp);
    auto out = std::span<char>(bytes_).subspan(at, n);
    if (n == 1) {
      out[0] = static_cast<char>(cp);
      return 1;
    }
    static constexpr uint8_t kLeadMark[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; --i) {
      out[i] = static_cast<char>(0x80 | (cp & 0x3F));
      cp >>= 6;
    }
    out[0] = static_cast<char>(kLeadMark[n] | cp);
    return n;
  }

  const Model& model_;
  std::vector<int32_t>* ids_;
  size_t max_pieces_;
  size_t num_pushed_ = 0;
  std::array<char, 4 * kWordCapacity> bytes_;
  std::array<size_t, kWordCapacity + 1> char_offset_;
  std::array<int32_t, kWordCapacity> pieces_;
};

}  // namespace

Result<WordPieceTokenizer> WordPieceTokenizer::FromJson(std::string_view json_text,
                                                        const TokenizerOptions& options) {
  EML_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model,
                       internal::BuildModel(json_text, options));
  return WordPieceTokenizer(std::move(model));
}

Result<WordPieceTokenizer> WordPieceTokenizer::FromFile(const std::filesystem::path& path,
                                                        const TokenizerOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Error{ErrorCode::kNotFound, "tokenizer file not found: " + path.string()};
  }
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot stat " + path.string()};
  }
  if (size > options.max_json_bytes) {
    return Error{ErrorCode::kTokenizerJsonTooLarge, "tokenizer.json larger than the limit"};
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size)) || in.peek() != EOF) {
    return Error{ErrorCode::kIoError, "cannot read " + path.string()};
  }
  return FromJson(text, options);
}

Result<Encoding> WordPieceTokenizer::Encode(std::string_view text) const {
  Encoding encoding;
  EML_RETURN_IF_ERROR(EncodeInto(text, &encoding));
  return encoding;
}

Status WordPieceTokenizer::EncodeInto(std::string_view text, Encoding* out) const {
  const Model& model = *model_;
  out->ids.clear();
  out->type_ids.clear();
  out->attention_mask.clear();
  out->ids.reserve(model.max_length);
  out->ids.push_back(model.cls_id);
  WordPieceSink sink(model, &out->ids, model.max_length - 2);
  Status status = internal::SplitWords(text, model.splitter, &sink);
  if (!status.has_value()) {
    out->ids.clear();
    return status;
  }
  out->ids.push_back(model.sep_id);
  out->type_ids.assign(out->ids.size(), 0);
  out->attention_mask.assign(out->ids.size(), 1);
  return OkStatus();
}

size_t WordPieceTokenizer::vocab_size() const { return model_->vocab_size; }
int32_t WordPieceTokenizer::pad_id() const { return model_->pad_id; }
int32_t WordPieceTokenizer::cls_id() const { return model_->cls_id; }
int32_t WordPieceTokenizer::sep_id() const { return model_->sep_id; }
int32_t WordPieceTokenizer::unk_id() const { return model_->unk_id; }
size_t WordPieceTokenizer::max_length() const { return model_->max_length; }

}  // namespace eml::tokenizer

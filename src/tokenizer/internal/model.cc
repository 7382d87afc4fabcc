#include "tokenizer/internal/model.h"

#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eml::tokenizer::internal {
namespace {

using Json = nlohmann::json;

Error Fail(ErrorCode code, std::string detail) { return Error{code, std::move(detail)}; }

// Parse parses JSON without exceptions and rejects nesting deeper than kMaxJsonDepth.
Result<Json> Parse(std::string_view text) {
  bool too_deep = false;
  Json::parser_callback_t limit_depth = [&too_deep](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  Json json = Json::parse(text.begin(), text.end(), limit_depth, /*allow_exceptions=*/false);
  if (too_deep) {
    return Fail(ErrorCode::kTokenizerMalformedJson, "tokenizer.json nested too deeply");
  }
  if (json.is_discarded() || !json.is_object()) {
    return Fail(ErrorCode::kTokenizerMalformedJson, "tokenizer.json is not a JSON object");
  }
  return json;
}

// Field returns obj[key] if obj is an object holding key, else nullptr.
const Json* Field(const Json& obj, const char* key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

Result<std::string> StringField(const Json& obj, const char* key, ErrorCode code) {
  const Json* value = Field(obj, key);
  if (value == nullptr || !value->is_string()) {
    return Fail(code, std::string("expected string field ") + key);
  }
  return value->get<std::string>();
}

Result<bool> BoolField(const Json& obj, const char* key) {
  const Json* value = Field(obj, key);
  if (value == nullptr || !value->is_boolean()) {
    return Fail(ErrorCode::kTokenizerMalformedJson, std::string("expected boolean ") + key);
  }
  return value->get<bool>();
}

// IdValue reads a non-negative integer id below `limit`.
std::optional<int32_t> IdValue(const Json& value, size_t limit) {
  if (!value.is_number_integer()) {
    return std::nullopt;
  }
  if (value.is_number_unsigned()) {
    uint64_t id = value.get<uint64_t>();
    return id < limit ? std::optional<int32_t>(static_cast<int32_t>(id)) : std::nullopt;
  }
  int64_t id = value.get<int64_t>();
  if (id < 0 || static_cast<uint64_t>(id) >= limit) {
    return std::nullopt;
  }
  return static_cast<int32_t>(id);
}

struct Vocab {
  std::vector<std::string> tokens;  // index = id
};

Result<Vocab> ParseVocab(const Json& model, const TokenizerOptions& options) {
  const Json* vocab = Field(model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return Fail(ErrorCode::kTokenizerMalformedJson, "model.vocab is not an object");
  }
  size_t n = vocab->size();
  if (n == 0 || n > options.max_vocab_size) {
    return Fail(ErrorCode::kTokenizerBadVocab, "vocab size out of range");
  }
  Vocab out;
  out.tokens.resize(n);
  std::vector<bool> seen(n, false);
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    std::optional<int32_t> id = IdValue(it.value(), n);
    if (!id.has_value()) {
      return Fail(ErrorCode::kTokenizerBadVocab, "vocab id not in 0..n-1");
    }
    size_t index = static_cast<size_t>(*id);
    if (seen[index]) {
      return Fail(ErrorCode::kTokenizerBadVocab, "duplicate vocab id");
    }
    const std::string& token = it.key();
    if (token.empty() || token.size() > kMaxVocabTokenBytes) {
      return Fail(ErrorCode::kTokenizerBadVocab, "vocab token empty or too long");
    }
    seen[index] = true;
    out.tokens[index] = token;
  }
  return out;
}

Result<NormalizerFlags> ParseNormalizer(const Json& root) {
  const Json* normalizer = Field(root, "normalizer");
  if (normalizer == nullptr || !normalizer->is_object()) {
    return Fail(ErrorCode::kTokenizerUnsupportedNormalizer, "normalizer missing");
  }
  EML_ASSIGN_OR_RETURN(std::string type,
                       StringField(*normalizer, "type", ErrorCode::kTokenizerMalformedJson));
  if (type != "BertNormalizer") {
    return Fail(ErrorCode::kTokenizerUnsupportedNormalizer, "normalizer is not BertNormalizer");
  }
  NormalizerFlags flags;
  EML_ASSIGN_OR_RETURN(flags.clean_text, BoolField(*normalizer, "clean_text"));
  EML_ASSIGN_OR_RETURN(flags.handle_chinese_chars, BoolField(*normalizer, "handle_chinese_chars"));
  EML_ASSIGN_OR_RETURN(flags.lowercase, BoolField(*normalizer, "lowercase"));
  const Json* strip = Field(*normalizer, "strip_accents");
  if (strip == nullptr || strip->is_null()) {
    flags.strip_accents = flags.lowercase;  // HF: None follows lowercase
  } else if (strip->is_boolean()) {
    flags.strip_accents = strip->get<bool>();
  } else {
    return Fail(ErrorCode::kTokenizerMalformedJson, "strip_accents is not a boolean or null");
  }
  return flags;
}

Status CheckPreTokenizer(const Json& root) {
  const Json* pre = Field(root, "pre_tokenizer");
  if (pre == nullptr || !pre->is_object()) {
    return Fail(ErrorCode::kTokenizerUnsupportedPreTokenizer, "pre_tokenizer missing");
  }
  EML_ASSIGN_OR_RETURN(std::string type,
                       StringField(*pre, "type", ErrorCode::kTokenizerMalformedJson));
  if (type != "BertPreTokenizer") {
    return Fail(ErrorCode::kTokenizerUnsupportedPreTokenizer,
                "pre_tokenizer is not BertPreTokenizer");
  }
  return OkStatus();
}

// SpecialTokenId reads the single id of a TemplateProcessing special token named `name`.
Result<int32_t> TemplateSpecialId(const Json& processor, const std::string& name,
                                  size_t vocab_size) {
  const Json* specials = Field(processor, "special_tokens");
  const Json* entry = specials == nullptr ? nullptr : Field(*specials, name.c_str());
  const Json* ids = entry == nullptr ? nullptr : Field(*entry, "ids");
  if (ids == nullptr || !ids->is_array() || ids->size() != 1) {
    return Fail(ErrorCode::kTokenizerMissingSpecialToken, "special token has no single id");
  }
  std::optional<int32_t> id = IdValue((*ids)[0], vocab_size);
  if (!id.has_value()) {
    return Fail(ErrorCode::kTokenizerMissingSpecialToken, "special token id outside the vocab");
  }
  return *id;
}

// TemplatePiece reads one element of the "single" template: a special token name or "A".
Result<std::string> TemplatePiece(const Json& piece, bool want_special) {
  const Json* body = Field(piece, want_special ? "SpecialToken" : "Sequence");
  if (body == nullptr) {
    return Fail(ErrorCode::kTokenizerUnsupportedPostProcessor, "template is not [CLS] $A [SEP]");
  }
  const Json* type_id = Field(*body, "type_id");
  if (type_id == nullptr || !type_id->is_number_integer() || type_id->get<int64_t>() != 0) {
    return Fail(ErrorCode::kTokenizerUnsupportedPostProcessor, "template type_id is not 0");
  }
  EML_ASSIGN_OR_RETURN(std::string id,
                       StringField(*body, "id", ErrorCode::kTokenizerMalformedJson));
  if (!want_special && id != "A") {
    return Fail(ErrorCode::kTokenizerUnsupportedPostProcessor, "template sequence is not A");
  }
  return id;
}

// BertProcessingId reads ["[CLS]", 101] style pairs.
Result<int32_t> BertProcessingId(const Json& processor, const char* key, size_t vocab_size) {
  const Json* pair = Field(processor, key);
  if (pair == nullptr || !pair->is_array() || pair->size() != 2 || !(*pair)[0].is_string()) {
    return Fail(ErrorCode::kTokenizerMissingSpecialToken, std::string("bad BertProcessing ") + key);
  }
  std::optional<int32_t> id = IdValue((*pair)[1], vocab_size);
  if (!id.has_value()) {
    return Fail(ErrorCode::kTokenizerMissingSpecialToken, "special token id outside the vocab");
  }
  return *id;
}

Status ParsePostProcessor(const Json& root, Model* model) {
  const Json* processor = Field(root, "post_processor");
  if (processor == nullptr || !processor->is_object()) {
    return Fail(ErrorCode::kTokenizerUnsupportedPostProcessor, "post_processor missing");
  }
  EML_ASSIGN_OR_RETURN(std::string type,
                       StringField(*processor, "type", ErrorCode::kTokenizerMalformedJson));
  if (type == "BertProcessing") {
    EML_ASSIGN_OR_RETURN(model->cls_id, BertProcessingId(*processor, "cls", model->vocab_size));
    EML_ASSIGN_OR_RETURN(model->sep_id, BertProcessingId(*processor, "sep", model->vocab_size));
    return OkStatus();
  }
  if (type != "TemplateProcessing") {
    return Fail(ErrorCode::kTokenizerUnsupportedPostProcessor, "unsupported post_processor");
  }
  const Json* single = Field(*processor, "single");
  if (single == nullptr || !single->is_array() || single->size() != 3) {
    return Fail(ErrorCode::kTokenizerUnsupportedPostProcessor, "template is not [CLS] $A [SEP]");
  }
  EML_ASSIGN_OR_RETURN(std::string cls, TemplatePiece((*single)[0], true));
  EML_ASSIGN_OR_RETURN(std::string seq, TemplatePiece((*single)[1], false));
  EML_ASSIGN_OR_RETURN(std::string sep, TemplatePiece((*single)[2], true));
  EML_ASSIGN_OR_RETURN(model->cls_id, TemplateSpecialId(*processor, cls, model->vocab_size));
  EML_ASSIGN_OR_RETURN(model->sep_id, TemplateSpecialId(*processor, sep, model->vocab_size));
  return OkStatus();
}

Status ParsePadId(const Json& root, const VocabTable& vocab, Model* model) {
  const Json* padding = Field(root, "padding");
  if (padding != nullptr && padding->is_object()) {
    const Json* pad_id = Field(*padding, "pad_id");
    std::optional<int32_t> id =
        pad_id == nullptr ? std::nullopt : IdValue(*pad_id, model->vocab_size);
    if (!id.has_value()) {
      return Fail(ErrorCode::kTokenizerMissingSpecialToken, "padding.pad_id outside the vocab");
    }
    model->pad_id = *id;
    return OkStatus();
  }
  model->pad_id = vocab.Find("[PAD]");
  if (model->pad_id < 0) {
    return Fail(ErrorCode::kTokenizerMissingSpecialToken, "no [PAD] token");
  }
  return OkStatus();
}

Result<std::vector<AddedToken>> ParseAddedTokens(const Json& root, size_t vocab_size) {
  std::vector<AddedToken> out;
  const Json* added = Field(root, "added_tokens");
  if (added == nullptr || added->is_null()) {
    return out;
  }
  if (!added->is_array()) {
    return Fail(ErrorCode::kTokenizerMalformedJson, "added_tokens is not an array");
  }
  if (added->size() > kMaxAddedTokens) {
    return Fail(ErrorCode::kTokenizerUnsupportedAddedToken, "too many added tokens");
  }
  for (const Json& entry : *added) {
    EML_ASSIGN_OR_RETURN(std::string content,
                         StringField(entry, "content", ErrorCode::kTokenizerMalformedJson));
    const Json* id_value = Field(entry, "id");
    std::optional<int32_t> id = id_value == nullptr ? std::nullopt : IdValue(*id_value, vocab_size);
    if (!id.has_value() || content.empty() || content.size() > kMaxVocabTokenBytes) {
      return Fail(ErrorCode::kTokenizerUnsupportedAddedToken, "added token id or content invalid");
    }
    for (const char* flag : {"single_word", "lstrip", "rstrip", "normalized"}) {
      const Json* value = Field(entry, flag);
      if (value != nullptr && !value->is_boolean()) {
        return Fail(ErrorCode::kTokenizerMalformedJson, "added token flag is not a boolean");
      }
      if (value != nullptr && value->get<bool>()) {
        return Fail(ErrorCode::kTokenizerUnsupportedAddedToken,
                    std::string("added token option not supported: ") + flag);
      }
    }
    out.push_back(AddedToken{std::move(content), *id});
  }
  return out;
}

Result<std::shared_ptr<const Model>> BuildModelFromJson(const Json& root,
                                                        const TokenizerOptions& options) {
  auto model = std::make_shared<Model>();
  model->max_length = options.max_length;
  const Json* wordpiece = Field(root, "model");
  if (wordpiece == nullptr || !wordpiece->is_object()) {
    return Fail(ErrorCode::kTokenizerMalformedJson, "model missing");
  }
  EML_ASSIGN_OR_RETURN(std::string type,
                       StringField(*wordpiece, "type", ErrorCode::kTokenizerMalformedJson));
  if (type != "WordPiece") {
    return Fail(ErrorCode::kTokenizerUnsupportedModel, "model is not WordPiece");
  }
  EML_ASSIGN_OR_RETURN(std::string prefix, StringField(*wordpiece, "continuing_subword_prefix",
                                                       ErrorCode::kTokenizerMalformedJson));
  if (prefix.empty()) {
    return Fail(ErrorCode::kTokenizerUnsupportedModel, "empty continuing_subword_prefix");
  }
  const Json* max_chars = Field(*wordpiece, "max_input_chars_per_word");
  std::optional<int32_t> max_chars_value =
      max_chars == nullptr ? std::nullopt : IdValue(*max_chars, kMaxInputCharsPerWordLimit + 1);
  if (max_chars == nullptr || !max_chars->is_number_integer()) {
    return Fail(ErrorCode::kTokenizerMalformedJson, "max_input_chars_per_word not an integer");
  }
  if (!max_chars_value.has_value() || *max_chars_value == 0) {
    return Fail(ErrorCode::kTokenizerUnsupportedModel, "max_input_chars_per_word out of range");
  }
  model->max_input_chars_per_word = static_cast<size_t>(*max_chars_value);

  EML_ASSIGN_OR_RETURN(Vocab vocab, ParseVocab(*wordpiece, options));
  model->vocab_size = vocab.tokens.size();
  std::vector<VocabTable::Entry> all;
  std::vector<VocabTable::Entry> continuation;
  all.reserve(vocab.tokens.size());
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    std::string_view token = vocab.tokens[id];
    all.push_back({token, static_cast<int32_t>(id)});
    if (token.size() > prefix.size() && token.starts_with(prefix)) {
      continuation.push_back({token.substr(prefix.size()), static_cast<int32_t>(id)});
    }
  }
  model->word_start.Build(all);
  model->continuation.Build(continuation);

  EML_ASSIGN_OR_RETURN(std::string unk,
                       StringField(*wordpiece, "unk_token", ErrorCode::kTokenizerMalformedJson));
  model->unk_id = model->word_start.Find(unk);
  if (model->unk_id < 0) {
    return Fail(ErrorCode::kTokenizerMissingUnkToken, "unk_token not in vocab");
  }
  EML_ASSIGN_OR_RETURN(NormalizerFlags flags, ParseNormalizer(root));
  EML_RETURN_IF_ERROR(CheckPreTokenizer(root));
  EML_RETURN_IF_ERROR(ParsePostProcessor(root, model.get()));
  EML_RETURN_IF_ERROR(ParsePadId(root, model->word_start, model.get()));
  EML_ASSIGN_OR_RETURN(std::vector<AddedToken> added, ParseAddedTokens(root, model->vocab_size));
  model->splitter = MakeSplitterConfig(flags, std::move(added));
  return std::shared_ptr<const Model>(std::move(model));
}

}  // namespace

Result<std::shared_ptr<const Model>> BuildModel(std::string_view json_text,
                                                const TokenizerOptions& options) {
  if (options.max_length < kMinLength || options.max_length > kMaxSupportedLength) {
    return Fail(ErrorCode::kInvalidArgument, "max_length out of range");
  }
  if (json_text.size() > options.max_json_bytes) {
    return Fail(ErrorCode::kTokenizerJsonTooLarge, "tokenizer.json larger than the limit");
  }
  // nlohmann::json throws only on allocation failure here (parsing and access are checked);
  // no exception may leave the library (STYLE.md E5).
  try {
    EML_ASSIGN_OR_RETURN(Json root, Parse(json_text));
    return BuildModelFromJson(root, options);
  } catch (const std::exception&) {
    return Fail(ErrorCode::kTokenizerMalformedJson, "tokenizer.json could not be loaded");
  }
}

}  // namespace eml::tokenizer::internal

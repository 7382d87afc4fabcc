#include "model/model_directory.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

namespace eml::model {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kTransformerType = "sentence_transformers.models.Transformer";
constexpr std::string_view kPoolingType = "sentence_transformers.models.Pooling";
constexpr std::string_view kNormalizeType = "sentence_transformers.models.Normalize";

Error BadConfig(std::string_view file, std::string_view what) {
  return Error{ErrorCode::kModelBadConfig, std::string(file) + ": " + std::string(what)};
}

Result<Json> ParseJson(std::string_view text, std::string_view file) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return BadConfig(file, "not valid JSON");
  }
  return json;
}

Result<bool> OptionalBool(const Json& object, const char* field, std::string_view file) {
  if (!object.contains(field)) {
    return false;
  }
  if (!object[field].is_boolean()) {
    return BadConfig(file, std::string(field) + " is not a boolean");
  }
  return object[field].get<bool>();
}

Result<int> PositiveInt(const Json& object, const char* field, std::string_view file) {
  if (!object.contains(field) || !object[field].is_number_unsigned() ||
      object[field].get<uint64_t>() < 1 || object[field].get<uint64_t>() > (1u << 20)) {
    return BadConfig(file, std::string(field) + " is missing or not an integer in [1, 2^20]");
  }
  return static_cast<int>(object[field].get<uint64_t>());
}

// ParseModules checks the module list and returns the pooling module's relative path.
Result<std::string> ParseModules(std::string_view modules_json, bool* normalize) {
  constexpr std::string_view kFile = kModulesFileName;
  EML_ASSIGN_OR_RETURN(const Json modules, ParseJson(modules_json, kFile));
  if (!modules.is_array() || modules.empty()) {
    return BadConfig(kFile, "not a non-empty array");
  }
  std::optional<std::string> pooling_path;
  *normalize = false;
  for (size_t i = 0; i < modules.size(); ++i) {
    const Json& module = modules[i];
    if (!module.is_object() || !module.contains("type") || !module["type"].is_string() ||
        !module.contains("path") || !module["path"].is_string()) {
      return BadConfig(kFile, "module " + std::to_string(i) + " lacks a string type or path");
    }
    const std::string& type = module["type"].get_ref<const std::string&>();
    const std::string& path = module["path"].get_ref<const std::string&>();
    if (i == 0) {
      if (type != kTransformerType || !path.empty()) {
        return Error{ErrorCode::kModelUnsupportedConfig,
                     "modules.json: the first module must be a Transformer at path \"\""};
      }
    } else if (type == kPoolingType && !pooling_path) {
      pooling_path = path;
    } else if (type == kNormalizeType && !*normalize) {
      *normalize = true;
    } else {
      return Error{ErrorCode::kModelUnsupportedConfig,
                   "modules.json: unsupported or repeated module " + type};
    }
  }
  if (!pooling_path) {
    return Error{ErrorCode::kModelUnsupportedConfig, "modules.json: no Pooling module"};
  }
  const std::filesystem::path relative(*pooling_path);
  for (const auto& part : relative) {
    if (part == "..") {
      return BadConfig(kFile, "pooling path escapes the model directory");
    }
  }
  if (relative.empty() || relative.is_absolute()) {
    return BadConfig(kFile, "pooling path must be a non-empty relative path");
  }
  return *pooling_path;
}

Result<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return Error{ErrorCode::kNotFound, path.string() + " does not exist"};
  }
  if (!std::filesystem::is_regular_file(status)) {
    return Error{ErrorCode::kIoError, path.string() + " is not a regular file"};
  }
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return Error{ErrorCode::kIoError, "cannot size " + path.string()};
  }
  if (size > kMaxModelJsonBytes) {
    return Error{ErrorCode::kLimitExceeded, path.string() + " is larger than the JSON limit"};
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in || static_cast<uintmax_t>(in.gcount()) != size) {
    return Error{ErrorCode::kIoError, "cannot read " + path.string()};
  }
  return text;
}

Status CheckRegularFile(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return Error{ErrorCode::kNotFound, path.string() + " does not exist"};
  }
  if (!std::filesystem::is_regular_file(status)) {
    return Error{ErrorCode::kIoError, path.string() + " is not a regular file"};
  }
  return OkStatus();
}

}  // namespace

Result<SentenceEmbeddingConfig> ParseSentenceEmbeddingConfig(std::string_view modules_json,
                                                             std::string_view pooling_json,
                                                             std::string_view sentence_bert_json) {
  SentenceEmbeddingConfig out;
  EML_RETURN_IF_ERROR(ParseModules(modules_json, &out.normalize));

  constexpr std::string_view kPoolingFile = "pooling config.json";
  EML_ASSIGN_OR_RETURN(const Json pooling, ParseJson(pooling_json, kPoolingFile));
  if (!pooling.is_object()) {
    return BadConfig(kPoolingFile, "not an object");
  }
  EML_ASSIGN_OR_RETURN(out.embedding_dimension,
                       PositiveInt(pooling, "word_embedding_dimension", kPoolingFile));
  EML_ASSIGN_OR_RETURN(const bool cls,
                       OptionalBool(pooling, "pooling_mode_cls_token", kPoolingFile));
  EML_ASSIGN_OR_RETURN(const bool mean,
                       OptionalBool(pooling, "pooling_mode_mean_tokens", kPoolingFile));
  EML_ASSIGN_OR_RETURN(const bool max,
                       OptionalBool(pooling, "pooling_mode_max_tokens", kPoolingFile));
  for (const char* other : {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                            "pooling_mode_lasttoken"}) {
    EML_ASSIGN_OR_RETURN(const bool enabled, OptionalBool(pooling, other, kPoolingFile));
    if (enabled) {
      return Error{ErrorCode::kModelUnsupportedConfig, std::string("pooling mode ") + other};
    }
  }
  if (int{cls} + int{mean} + int{max} != 1) {
    return Error{ErrorCode::kModelUnsupportedConfig,
                 "pooling config must enable exactly one of cls, mean, max"};
  }
  out.pooling = cls ? PoolingMode::kCls : (mean ? PoolingMode::kMean : PoolingMode::kMax);

  constexpr std::string_view kSbertFile = "sentence_bert_config.json";
  EML_ASSIGN_OR_RETURN(const Json sbert, ParseJson(sentence_bert_json, kSbertFile));
  if (!sbert.is_object()) {
    return BadConfig(kSbertFile, "not an object");
  }
  EML_ASSIGN_OR_RETURN(out.max_seq_length, PositiveInt(sbert, "max_seq_length", kSbertFile));
  EML_ASSIGN_OR_RETURN(out.do_lower_case, OptionalBool(sbert, "do_lower_case", kSbertFile));
  return out;
}

Result<std::string> PoolingConfigName(std::string_view modules_json) {
  bool normalize = false;
  EML_ASSIGN_OR_RETURN(const std::string pooling_path, ParseModules(modules_json, &normalize));
  return (std::filesystem::path(pooling_path) / "config.json").generic_string();
}

SentenceEmbeddingConfig DefaultSentenceEmbeddingConfig(const BertConfig& bert) {
  SentenceEmbeddingConfig out;
  out.pooling = PoolingMode::kMean;
  out.normalize = false;
  out.embedding_dimension = bert.hidden_size;
  out.max_seq_length = std::min(kDefaultMaxSeqLength, bert.max_position_embeddings);
  return out;
}

Status CheckSentenceEmbeddingConfig(const SentenceEmbeddingConfig& embedding,
                                    const BertConfig& bert) {
  if (embedding.embedding_dimension != bert.hidden_size) {
    return BadConfig("pooling config.json", "word_embedding_dimension differs from hidden_size");
  }
  if (embedding.max_seq_length > bert.max_position_embeddings) {
    return BadConfig(kSentenceBertConfigFileName, "max_seq_length exceeds max_position_embeddings");
  }
  return OkStatus();
}

Result<ModelDirectory> ModelDirectory::Open(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Error{ErrorCode::kNotFound, dir.string() + " is not a model directory"};
  }
  ModelDirectory out;
  out.root = dir;
  out.config_json = dir / "config.json";
  out.tokenizer_json = dir / "tokenizer.json";
  out.weights_safetensors = dir / "model.safetensors";
  EML_RETURN_IF_ERROR(CheckRegularFile(out.tokenizer_json));
  EML_RETURN_IF_ERROR(CheckRegularFile(out.weights_safetensors));
  EML_ASSIGN_OR_RETURN(const std::string config_text, ReadSmallFile(out.config_json));
  EML_ASSIGN_OR_RETURN(out.bert, ParseBertConfig(config_text));

  const std::filesystem::path modules_json = dir / kModulesFileName;
  Result<std::string> modules_text = ReadSmallFile(modules_json);
  if (!modules_text.has_value() && modules_text.error().code == ErrorCode::kNotFound) {
    out.embedding = DefaultSentenceEmbeddingConfig(out.bert);
    return out;
  }
  if (!modules_text.has_value()) {
    return modules_text.error();
  }
  out.modules_json = modules_json;
  out.sentence_bert_config_json = dir / kSentenceBertConfigFileName;
  EML_ASSIGN_OR_RETURN(const std::string pooling_name, PoolingConfigName(*modules_text));
  out.pooling_config_json = dir / pooling_name;
  EML_ASSIGN_OR_RETURN(const std::string pooling_text, ReadSmallFile(out.pooling_config_json));
  EML_ASSIGN_OR_RETURN(const std::string sbert_text, ReadSmallFile(out.sentence_bert_config_json));
  EML_ASSIGN_OR_RETURN(out.embedding,
                       ParseSentenceEmbeddingConfig(*modules_text, pooling_text, sbert_text));
  EML_RETURN_IF_ERROR(CheckSentenceEmbeddingConfig(out.embedding, out.bert));
  return out;
}

std::filesystem::path DefaultModelDirectoryPath() {
  const char* env = std::getenv("EML_MODEL_DIR");
  if (env != nullptr && *env != '\0') {
    return env;
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : "") / ".cache" / "ephemeralml" / "models" /
         "all-MiniLM-L6-v2";
}

}  // namespace eml::model

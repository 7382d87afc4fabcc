#pragma once
// Posture: reads untrusted bytes (the JSON files of a sentence-transformers model directory:
// modules.json, 1_Pooling/config.json, sentence_bert_config.json, config.json). Limits: each
// JSON file at most kMaxModelJsonBytes (tokenizer.json and model.safetensors are only located
// here; their own parsers bound them). Fuzz target: tests/fuzz/model_config_fuzz.cc
// (ParseSentenceEmbeddingConfig).
//
// eml::model::ModelDirectory: the files of a sentence-transformers model directory, e.g. the
// all-MiniLM-L6-v2 cache written by scripts/fetch-model, and the embedding pipeline they declare:
// Transformer (BERT) -> Pooling (mean) -> Normalize (L2) when modules.json lists it.

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "common/result.h"
#include "model/bert.h"

namespace eml::model {

inline constexpr size_t kMaxModelJsonBytes = size_t{1} << 20;

enum class PoolingMode { kMean, kCls, kMax };

// SentenceEmbeddingConfig: what sentence-transformers does after the encoder.
struct SentenceEmbeddingConfig {
  PoolingMode pooling = PoolingMode::kMean;
  bool normalize = false;       // modules.json lists sentence_transformers.models.Normalize
  int embedding_dimension = 0;  // 1_Pooling/config.json "word_embedding_dimension"
  int max_seq_length = 0;      // sentence_bert_config.json "max_seq_length" (tokens, incl. CLS/SEP)
  bool do_lower_case = false;  // sentence_bert_config.json "do_lower_case" (default false)
};

// ParseSentenceEmbeddingConfig parses the three small JSON files. modules.json must be an array
// whose first module is sentence_transformers.models.Transformer at path "" and which has exactly
// one Pooling module; a Normalize module sets `normalize`; any other module type is unsupported.
// The pooling file must enable exactly one of pooling_mode_{cls_token,mean_tokens,max_tokens}
// (other modes, e.g. mean_sqrt_len_tokens or weightedmean, are unsupported).
// Errors: kModelBadConfig (malformed JSON or field), kModelUnsupportedConfig.
Result<SentenceEmbeddingConfig> ParseSentenceEmbeddingConfig(std::string_view modules_json,
                                                             std::string_view pooling_json,
                                                             std::string_view sentence_bert_json);

// ModelDirectory locates and reads a model directory. Only the small JSON files are read by Open;
// the weights and tokenizer are opened by their own loaders from the paths below.
struct ModelDirectory {
  std::filesystem::path root;
  std::filesystem::path config_json;                // root/config.json
  std::filesystem::path tokenizer_json;             // root/tokenizer.json
  std::filesystem::path weights_safetensors;        // root/model.safetensors
  std::filesystem::path modules_json;               // root/modules.json
  std::filesystem::path pooling_config_json;        // root/<pooling module path>/config.json
  std::filesystem::path sentence_bert_config_json;  // root/sentence_bert_config.json

  BertConfig bert;
  SentenceEmbeddingConfig embedding;

  // Open checks that every file above exists as a regular file and parses the JSON ones (the
  // pooling module path comes from modules.json and must be a relative path without "..").
  // embedding.max_seq_length must not exceed bert.max_position_embeddings, and
  // embedding.embedding_dimension must equal bert.hidden_size.
  // Errors: kNotFound (directory or file absent), kIoError (unreadable, not a regular file),
  // kLimitExceeded (a JSON file above kMaxModelJsonBytes), kModelBadConfig,
  // kModelUnsupportedConfig, and ParseBertConfig's errors.
  static Result<ModelDirectory> Open(const std::filesystem::path& dir);
};

// DefaultModelDirectoryPath returns $EML_MODEL_DIR if set and non-empty, else
// $HOME/.cache/ephemeralml/models/all-MiniLM-L6-v2 (where scripts/fetch-model puts the files).
std::filesystem::path DefaultModelDirectoryPath();

}  // namespace eml::model

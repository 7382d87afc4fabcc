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
//
// One rule for a directory and for a package (enclave::BootModel): with modules.json, the
// pooling module's config.json and sentence_bert_config.json are required and define the
// pipeline; without modules.json the model gets DefaultSentenceEmbeddingConfig (what
// sentence-transformers does with a plain Hugging Face model), and any pooling or sentence-bert
// file is ignored.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"
#include "model/bert.h"

namespace eml::model {

inline constexpr size_t kMaxModelJsonBytes = size_t{1} << 20;
inline constexpr std::string_view kModulesFileName = "modules.json";
inline constexpr std::string_view kSentenceBertConfigFileName = "sentence_bert_config.json";
// The longest input the default pipeline takes (the engine's limit; BERT position embeddings).
inline constexpr int kDefaultMaxSeqLength = 512;

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

// PoolingConfigName returns the pooling module's configuration file relative to the model root,
// "<Pooling module path>/config.json" with '/' separators, after the checks
// ParseSentenceEmbeddingConfig makes of modules.json (the path is relative, non-empty and has no
// ".."). Errors: as ParseSentenceEmbeddingConfig for modules.json.
Result<std::string> PoolingConfigName(std::string_view modules_json);

// DefaultSentenceEmbeddingConfig is the pipeline of a model without modules.json, the one
// sentence-transformers builds for a plain Hugging Face model: mean pooling, no normalization,
// embedding_dimension = hidden_size, max_seq_length = min(kDefaultMaxSeqLength,
// max_position_embeddings) (sentence-transformers takes max_position_embeddings when the
// tokenizer sets no smaller model_max_length).
SentenceEmbeddingConfig DefaultSentenceEmbeddingConfig(const BertConfig& bert);

// CheckSentenceEmbeddingConfig checks a pipeline against its encoder: embedding_dimension must
// equal hidden_size and max_seq_length must not exceed max_position_embeddings.
// Errors: kModelBadConfig.
Status CheckSentenceEmbeddingConfig(const SentenceEmbeddingConfig& embedding,
                                    const BertConfig& bert);

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
  // Without modules.json, embedding is DefaultSentenceEmbeddingConfig(bert) and the three
  // pipeline paths are empty; with it, CheckSentenceEmbeddingConfig must pass.
  // Errors: kNotFound (directory or file absent), kIoError (unreadable, not a regular file),
  // kLimitExceeded (a JSON file above kMaxModelJsonBytes), kModelBadConfig,
  // kModelUnsupportedConfig, and ParseBertConfig's errors.
  static Result<ModelDirectory> Open(const std::filesystem::path& dir);
};

// DefaultModelDirectoryPath returns $EML_MODEL_DIR if set and non-empty, else
// $HOME/.cache/ephemeralml/models/all-MiniLM-L6-v2 (where scripts/fetch-model puts the files).
std::filesystem::path DefaultModelDirectoryPath();

}  // namespace eml::model

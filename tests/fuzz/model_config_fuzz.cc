// Fuzz target `model_config`: ParseBertConfig on the whole input, and
// ParseSentenceEmbeddingConfig on the input split at its first two NUL bytes into modules.json,
// the pooling config and sentence_bert_config.json, and PoolingConfigName on the first part.
// Properties: never crashes; fails only with kModelBadConfig / kModelUnsupportedConfig; a parsed
// BertConfig has every dimension in [1, its kMaxBert* limit], hidden_size divisible by num_heads,
// eps in (0, 1) and hidden_act "gelu"; a parsed SentenceEmbeddingConfig has positive dimension
// and max_seq_length; a pooling config name is "<relative path>/config.json" without a ".."
// part.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/bert.h"
#include "model/model_directory.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool IsConfigError(eml::ErrorCode code) {
  return code == eml::ErrorCode::kModelBadConfig || code == eml::ErrorCode::kModelUnsupportedConfig;
}

bool InRange(int value, int max_value) { return value >= 1 && value <= max_value; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // fuzzer input only
  eml::Result<eml::model::BertConfig> bert = eml::model::ParseBertConfig(text);
  if (bert.has_value()) {
    using namespace eml::model;  // NOLINT: the kMaxBert* limits
    Require(InRange(bert->hidden_size, kMaxBertHiddenSize));
    Require(InRange(bert->num_layers, kMaxBertLayers));
    Require(InRange(bert->num_heads, kMaxBertHeads));
    Require(InRange(bert->intermediate_size, kMaxBertIntermediateSize));
    Require(InRange(bert->max_position_embeddings, kMaxBertPositions));
    Require(InRange(bert->vocab_size, kMaxBertVocabSize));
    Require(InRange(bert->type_vocab_size, kMaxBertTypeVocabSize));
    Require(bert->hidden_size % bert->num_heads == 0);
    Require(bert->layer_norm_eps > 0.0f && bert->layer_norm_eps < 1.0f);
    Require(bert->hidden_act == "gelu");
  } else {
    Require(IsConfigError(bert.error().code));
  }

  const size_t first = text.find('\0');
  const size_t second = first == std::string_view::npos ? first : text.find('\0', first + 1);
  if (second == std::string_view::npos) {
    return 0;
  }
  eml::Result<std::string> pooling_name = eml::model::PoolingConfigName(text.substr(0, first));
  if (pooling_name.has_value()) {
    const std::string_view name = *pooling_name;
    constexpr std::string_view kSuffix = "/config.json";
    Require(name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix);
    Require(name.front() != '/');
    for (size_t begin = 0; begin < name.size();) {
      const size_t end = std::min(name.find('/', begin), name.size());
      Require(name.substr(begin, end - begin) != "..");
      begin = end + 1;
    }
  } else {
    Require(IsConfigError(pooling_name.error().code));
  }
  eml::Result<eml::model::SentenceEmbeddingConfig> embedding =
      eml::model::ParseSentenceEmbeddingConfig(text.substr(0, first),
                                               text.substr(first + 1, second - first - 1),
                                               text.substr(second + 1));
  if (embedding.has_value()) {
    Require(embedding->embedding_dimension >= 1 && embedding->max_seq_length >= 1);
  } else {
    Require(IsConfigError(embedding.error().code));
  }
  return 0;
}

#include "model/bert.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace eml::model {
namespace {

using Json = nlohmann::json;

Error ConfigError(std::string_view field, std::string_view what) {
  return Error{ErrorCode::kModelBadConfig,
               "config.json \"" + std::string(field) + "\" " + std::string(what)};
}

Status ReadInt(const Json& config, const char* field, int max_value, int* out) {
  if (!config.contains(field)) {
    return ConfigError(field, "is missing");
  }
  const Json& value = config[field];
  if (!value.is_number_integer()) {
    return ConfigError(field, "is not an integer");
  }
  // is_number_integer covers signed and unsigned; compare as the wider type of each.
  const bool in_range = value.is_number_unsigned()
                            ? value.get<uint64_t>() <= static_cast<uint64_t>(max_value)
                            : value.get<int64_t>() <= max_value;
  if (!in_range || value.get<int64_t>() < 1) {
    return ConfigError(field, "must be in [1, " + std::to_string(max_value) + "]");
  }
  *out = static_cast<int>(value.get<int64_t>());
  return OkStatus();
}

Status CheckOptionalString(const Json& config, const char* field, std::string_view expected) {
  if (!config.contains(field)) {
    return OkStatus();
  }
  const Json& value = config[field];
  if (!value.is_string()) {
    return ConfigError(field, "is not a string");
  }
  if (value.get_ref<const std::string&>() != expected) {
    return Error{ErrorCode::kModelUnsupportedConfig,
                 "config.json \"" + std::string(field) + "\" is \"" + value.get<std::string>() +
                     "\"; only \"" + std::string(expected) + "\" is supported"};
  }
  return OkStatus();
}

std::string Join(std::string_view a, std::string_view b) {
  std::string out(a);
  out += b;
  return out;
}

// Picks the first of `candidates` present in `file` and checks its dtype and shape.
Result<std::string> Resolve(const SafetensorsFile& file, std::initializer_list<std::string> names,
                            const std::vector<int64_t>& shape) {
  for (const std::string& name : names) {
    const TensorView* tensor = file.Find(name);
    if (tensor == nullptr) {
      continue;
    }
    if (tensor->shape != shape) {
      return Error{ErrorCode::kModelShapeMismatch, "tensor \"" + name + "\" has shape " +
                                                       FormatShape(tensor->shape) + ", expected " +
                                                       FormatShape(shape)};
    }
    if (!IsFloatDType(tensor->dtype)) {
      return Error{ErrorCode::kModelUnsupportedDtype,
                   "tensor \"" + name + "\" is " + std::string(DTypeName(tensor->dtype))};
    }
    return name;
  }
  return Error{ErrorCode::kModelTensorNotFound, "tensor \"" + *names.begin() + "\" is absent"};
}

Result<std::string> ResolveWeight(const SafetensorsFile& file, const std::string& base,
                                  const std::vector<int64_t>& shape) {
  return Resolve(file, {base + ".weight"}, shape);
}

Result<std::string> ResolveBias(const SafetensorsFile& file, const std::string& base,
                                const std::vector<int64_t>& shape) {
  return Resolve(file, {base + ".bias"}, shape);
}

Result<std::string> ResolveGamma(const SafetensorsFile& file, const std::string& base,
                                 const std::vector<int64_t>& shape) {
  return Resolve(file, {base + ".weight", base + ".gamma"}, shape);
}

Result<std::string> ResolveBeta(const SafetensorsFile& file, const std::string& base,
                                const std::vector<int64_t>& shape) {
  return Resolve(file, {base + ".bias", base + ".beta"}, shape);
}

Result<BertLayerNames> ResolveLayer(const SafetensorsFile& file, const std::string& prefix,
                                    const BertShapes& s) {
  BertLayerNames l;
  const std::string self = prefix + "attention.self.";
  EML_ASSIGN_OR_RETURN(l.q_w, ResolveWeight(file, self + "query", s.hh));
  EML_ASSIGN_OR_RETURN(l.q_b, ResolveBias(file, self + "query", s.hidden));
  EML_ASSIGN_OR_RETURN(l.k_w, ResolveWeight(file, self + "key", s.hh));
  EML_ASSIGN_OR_RETURN(l.k_b, ResolveBias(file, self + "key", s.hidden));
  EML_ASSIGN_OR_RETURN(l.v_w, ResolveWeight(file, self + "value", s.hh));
  EML_ASSIGN_OR_RETURN(l.v_b, ResolveBias(file, self + "value", s.hidden));
  const std::string attn_out = prefix + "attention.output.";
  EML_ASSIGN_OR_RETURN(l.attn_out_w, ResolveWeight(file, attn_out + "dense", s.hh));
  EML_ASSIGN_OR_RETURN(l.attn_out_b, ResolveBias(file, attn_out + "dense", s.hidden));
  EML_ASSIGN_OR_RETURN(l.attn_ln_g, ResolveGamma(file, attn_out + "LayerNorm", s.hidden));
  EML_ASSIGN_OR_RETURN(l.attn_ln_b, ResolveBeta(file, attn_out + "LayerNorm", s.hidden));
  EML_ASSIGN_OR_RETURN(l.ffn_in_w, ResolveWeight(file, prefix + "intermediate.dense", s.ffn_in_w));
  EML_ASSIGN_OR_RETURN(l.ffn_in_b,
                       ResolveBias(file, prefix + "intermediate.dense", s.intermediate));
  EML_ASSIGN_OR_RETURN(l.ffn_out_w, ResolveWeight(file, prefix + "output.dense", s.ffn_out_w));
  EML_ASSIGN_OR_RETURN(l.ffn_out_b, ResolveBias(file, prefix + "output.dense", s.hidden));
  EML_ASSIGN_OR_RETURN(l.out_ln_g, ResolveGamma(file, prefix + "output.LayerNorm", s.hidden));
  EML_ASSIGN_OR_RETURN(l.out_ln_b, ResolveBeta(file, prefix + "output.LayerNorm", s.hidden));
  return l;
}

}  // namespace

Result<BertConfig> ParseBertConfig(std::string_view config_json) {
  const Json config = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return Error{ErrorCode::kModelBadConfig, "config.json is not a JSON object"};
  }
  BertConfig out;
  EML_RETURN_IF_ERROR(ReadInt(config, "hidden_size", kMaxBertHiddenSize, &out.hidden_size));
  EML_RETURN_IF_ERROR(ReadInt(config, "num_hidden_layers", kMaxBertLayers, &out.num_layers));
  EML_RETURN_IF_ERROR(ReadInt(config, "num_attention_heads", kMaxBertHeads, &out.num_heads));
  EML_RETURN_IF_ERROR(
      ReadInt(config, "intermediate_size", kMaxBertIntermediateSize, &out.intermediate_size));
  EML_RETURN_IF_ERROR(
      ReadInt(config, "max_position_embeddings", kMaxBertPositions, &out.max_position_embeddings));
  EML_RETURN_IF_ERROR(ReadInt(config, "vocab_size", kMaxBertVocabSize, &out.vocab_size));
  EML_RETURN_IF_ERROR(
      ReadInt(config, "type_vocab_size", kMaxBertTypeVocabSize, &out.type_vocab_size));
  if (out.hidden_size % out.num_heads != 0) {
    return ConfigError("hidden_size", "is not divisible by num_attention_heads");
  }
  if (!config.contains("layer_norm_eps") || !config["layer_norm_eps"].is_number()) {
    return ConfigError("layer_norm_eps", "is missing or not a number");
  }
  const double eps = config["layer_norm_eps"].get<double>();
  if (!(eps > 0.0 && eps < 1.0)) {
    return ConfigError("layer_norm_eps", "must be in (0, 1)");
  }
  out.layer_norm_eps = static_cast<float>(eps);
  if (!config.contains("hidden_act") || !config["hidden_act"].is_string()) {
    return ConfigError("hidden_act", "is missing or not a string");
  }
  out.hidden_act = config["hidden_act"].get<std::string>();
  EML_RETURN_IF_ERROR(CheckOptionalString(config, "hidden_act", "gelu"));
  EML_RETURN_IF_ERROR(CheckOptionalString(config, "model_type", "bert"));
  EML_RETURN_IF_ERROR(CheckOptionalString(config, "position_embedding_type", "absolute"));
  return out;
}

BertShapes ExpectedBertShapes(const BertConfig& config) {
  const int64_t h = config.hidden_size;
  const int64_t i = config.intermediate_size;
  BertShapes s;
  s.word = {config.vocab_size, h};
  s.position = {config.max_position_embeddings, h};
  s.token_type = {config.type_vocab_size, h};
  s.hidden = {h};
  s.hh = {h, h};
  s.intermediate = {i};
  s.ffn_in_w = {i, h};
  s.ffn_out_w = {h, i};
  return s;
}

Result<BertWeightNames> ResolveBertWeightNames(const SafetensorsFile& file,
                                               const BertConfig& config) {
  const std::string word = "embeddings.word_embeddings.weight";
  const std::string prefix = file.Find("bert." + word) != nullptr ? "bert." : "";
  const BertShapes s = ExpectedBertShapes(config);
  BertWeightNames out;
  const std::string emb = prefix + "embeddings.";
  EML_ASSIGN_OR_RETURN(out.embeddings.word, ResolveWeight(file, emb + "word_embeddings", s.word));
  EML_ASSIGN_OR_RETURN(out.embeddings.position,
                       ResolveWeight(file, emb + "position_embeddings", s.position));
  EML_ASSIGN_OR_RETURN(out.embeddings.token_type,
                       ResolveWeight(file, emb + "token_type_embeddings", s.token_type));
  EML_ASSIGN_OR_RETURN(out.embeddings.ln_gamma, ResolveGamma(file, emb + "LayerNorm", s.hidden));
  EML_ASSIGN_OR_RETURN(out.embeddings.ln_beta, ResolveBeta(file, emb + "LayerNorm", s.hidden));
  out.layers.reserve(static_cast<size_t>(config.num_layers));
  for (int layer = 0; layer < config.num_layers; ++layer) {
    EML_ASSIGN_OR_RETURN(
        BertLayerNames names,
        ResolveLayer(file, Join(prefix, "encoder.layer." + std::to_string(layer) + "."), s));
    out.layers.push_back(std::move(names));
  }
  return out;
}

}  // namespace eml::model

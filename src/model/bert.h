#pragma once
// Posture: reads untrusted bytes (config.json of a model package, and tensor names/shapes of a
// SafetensorsFile already validated by safetensors.h). Limits: the kMaxBert* constants below
// bound every dimension, so all derived sizes fit easily in int64 and size_t. Fuzz targets:
// tests/fuzz/model_config_fuzz.cc (ParseBertConfig), tests/fuzz/model_safetensors_fuzz.cc (runs
// ResolveBertWeightNames on every file it parses).
//
// BERT encoder description for the inference engine: the Hugging Face config.json fields that
// define the network, and the names of its weight tensors in a safetensors file.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/safetensors.h"

namespace eml::model {

inline constexpr int kMaxBertHiddenSize = 16384;
inline constexpr int kMaxBertLayers = 256;
inline constexpr int kMaxBertHeads = 256;
inline constexpr int kMaxBertIntermediateSize = 65536;
inline constexpr int kMaxBertPositions = 65536;
inline constexpr int kMaxBertVocabSize = 1 << 22;
inline constexpr int kMaxBertTypeVocabSize = 1024;

// BertConfig: the fields of a Hugging Face BertModel config.json that the engine uses.
// all-MiniLM-L6-v2: hidden 384, 6 layers, 12 heads, intermediate 1536, 512 positions,
// vocab 30522, 2 token types, eps 1e-12, "gelu".
struct BertConfig {
  int hidden_size = 0;              // "hidden_size"
  int num_layers = 0;               // "num_hidden_layers"
  int num_heads = 0;                // "num_attention_heads"
  int intermediate_size = 0;        // "intermediate_size"
  int max_position_embeddings = 0;  // "max_position_embeddings"
  int vocab_size = 0;               // "vocab_size"
  int type_vocab_size = 0;          // "type_vocab_size"
  float layer_norm_eps = 0.0f;      // "layer_norm_eps"
  std::string hidden_act;           // "hidden_act": only "gelu" (the exact erf form) is accepted.

  int head_dim() const { return hidden_size / num_heads; }
};

// ParseBertConfig parses config.json text. Required: the integer fields above (positive, within
// the kMaxBert* limits, hidden_size divisible by num_heads), layer_norm_eps (a number in
// (0, 1)), hidden_act. Optional, checked when present: "model_type" == "bert",
// "position_embedding_type" == "absolute". Other fields are ignored.
// Errors: kModelBadConfig (not a JSON object, a field missing, of the wrong type or out of
// range), kModelUnsupportedConfig (hidden_act other than "gelu", model_type other than "bert",
// position_embedding_type other than "absolute").
Result<BertConfig> ParseBertConfig(std::string_view config_json);

// Tensor names of the embedding block. Shapes: word [vocab, hidden], position
// [max_positions, hidden], token_type [type_vocab, hidden], ln_gamma/ln_beta [hidden].
struct BertEmbeddingNames {
  std::string word;
  std::string position;
  std::string token_type;
  std::string ln_gamma;
  std::string ln_beta;
};

// Tensor names of one encoder layer. Linear weights are stored [out_features, in_features]
// (PyTorch nn.Linear), so y = x * W^T + b. Shapes (H = hidden, I = intermediate):
//   q_w, k_w, v_w, attn_out_w [H, H]; q_b, k_b, v_b, attn_out_b [H];
//   attn_ln_g, attn_ln_b [H]  (LayerNorm after attention output + residual);
//   ffn_in_w [I, H], ffn_in_b [I]; ffn_out_w [H, I], ffn_out_b [H];
//   out_ln_g, out_ln_b [H]    (LayerNorm after FFN output + residual).
struct BertLayerNames {
  std::string q_w, q_b;
  std::string k_w, k_b;
  std::string v_w, v_b;
  std::string attn_out_w, attn_out_b;
  std::string attn_ln_g, attn_ln_b;
  std::string ffn_in_w, ffn_in_b;
  std::string ffn_out_w, ffn_out_b;
  std::string out_ln_g, out_ln_b;
};

struct BertWeightNames {
  BertEmbeddingNames embeddings;
  std::vector<BertLayerNames> layers;  // config.num_layers entries, in order
};

// ExpectedBertShapes returns, for the engine's ReadAsF32 calls, the shapes listed above.
struct BertShapes {
  std::vector<int64_t> word, position, token_type, hidden;     // embeddings; hidden = [H]
  std::vector<int64_t> hh, intermediate, ffn_in_w, ffn_out_w;  // [H,H], [I], [I,H], [H,I]
};
BertShapes ExpectedBertShapes(const BertConfig& config);

// ResolveBertWeightNames finds every tensor the encoder needs in `file` and checks its shape
// against `config`. Accepted spellings: names with or without a "bert." prefix
// ("embeddings.word_embeddings.weight" or "bert.embeddings.word_embeddings.weight"), and
// LayerNorm parameters as "LayerNorm.weight"/"LayerNorm.bias" or the older
// "LayerNorm.gamma"/"LayerNorm.beta". The prefix is chosen once for the whole file (the one
// under which the word embeddings are found); each LayerNorm spelling is resolved per tensor.
// Other tensors (pooler, heads, position_ids) are ignored.
// Errors: kModelTensorNotFound (detail names the missing tensor), kModelShapeMismatch (detail
// names the tensor, its shape and the expected one), kModelUnsupportedDtype (a needed tensor is
// not F32/F16/BF16).
Result<BertWeightNames> ResolveBertWeightNames(const SafetensorsFile& file,
                                               const BertConfig& config);

}  // namespace eml::model

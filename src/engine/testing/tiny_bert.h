#pragma once
// Test support (linked only by tests and benchmarks): a small random BERT written as a real
// safetensors file + config.json + tokenizer.json, and a plain scalar reference forward pass
// (straight loops in double precision, written from the BERT definition, sharing no code with the
// engine) to check the engine against.

#include <cstdint>
#include <string>
#include <vector>

namespace eml::engine::testing {

struct TinyBertShape {
  int hidden = 64;
  int layers = 2;
  int heads = 4;
  int intermediate = 128;
  int max_positions = 40;
  int vocab = 48;
  int type_vocab = 2;
};

struct TinyBertLayer {
  std::vector<float> q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, ln1_g, ln1_b;
  std::vector<float> i_w, i_b, f_w, f_b, ln2_g, ln2_b;
};

struct TinyBert {
  TinyBertShape shape;
  std::vector<float> word, position, token_type, emb_ln_g, emb_ln_b;
  std::vector<TinyBertLayer> layers;

  // MakeRandom draws every weight from a fixed-seed generator (weights ~U(-0.25, 0.25) scaled
  // like a trained model: LayerNorm gains near 1).
  static TinyBert MakeRandom(const TinyBertShape& shape, uint32_t seed);
  // ConfigJson is a Hugging Face config.json for this shape.
  std::string ConfigJson() const;
  // Safetensors writes the weights with Hugging Face's BertModel names ("bert." prefix when
  // `bert_prefix`), F32, plus an unused "pooler.dense.weight" as real checkpoints have.
  std::vector<uint8_t> Safetensors(bool bert_prefix = false) const;
  // ReferenceHidden returns the last hidden states [len, hidden] of one sequence.
  std::vector<double> ReferenceHidden(const std::vector<int32_t>& ids) const;
  // ReferenceEmbedding: mean pooling over the tokens (the default pipeline of a model without
  // modules.json, model::DefaultSentenceEmbeddingConfig: no normalization).
  std::vector<double> ReferenceEmbedding(const std::vector<int32_t>& ids) const;
};

// TinyTokenizerJson is a WordPiece tokenizer.json whose vocabulary has `vocab` entries: the five
// specials ([PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4), the letters a-z, then "##" + letters
// until the size is reached. Words split into letters; e.g. "ab" -> [CLS] a ##b [SEP].
std::string TinyTokenizerJson(int vocab);

}  // namespace eml::engine::testing

#include "engine/testing/tiny_bert.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "model/testing/safetensors_builder.h"

namespace eml::engine::testing {
namespace {

std::vector<float> Uniform(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
  }
  return v;
}

using Matrix = std::vector<double>;

// y[s, out] = x[s, in] * W^T + b with W stored [out, in].
Matrix LinearRef(const Matrix& x, size_t rows, size_t in, size_t out, const std::vector<float>& w,
                 const std::vector<float>& b) {
  Matrix y(rows * out);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t o = 0; o < out; ++o) {
      double acc = static_cast<double>(b[o]);
      for (size_t i = 0; i < in; ++i) {
        acc += x[r * in + i] * static_cast<double>(w[o * in + i]);
      }
      y[r * out + o] = acc;
    }
  }
  return y;
}

void LayerNormRows(Matrix& x, size_t rows, size_t dim, const std::vector<float>& g,
                   const std::vector<float>& b, double eps) {
  for (size_t r = 0; r < rows; ++r) {
    double mean = 0;
    for (size_t i = 0; i < dim; ++i) {
      mean += x[r * dim + i];
    }
    mean /= static_cast<double>(dim);
    double var = 0;
    for (size_t i = 0; i < dim; ++i) {
      var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
    }
    var /= static_cast<double>(dim);
    for (size_t i = 0; i < dim; ++i) {
      x[r * dim + i] = (x[r * dim + i] - mean) / std::sqrt(var + eps) * static_cast<double>(g[i]) +
                       static_cast<double>(b[i]);
    }
  }
}

}  // namespace

TinyBert TinyBert::MakeRandom(const TinyBertShape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  TinyBert m;
  m.shape = shape;
  const auto h = static_cast<size_t>(shape.hidden);
  const auto inter = static_cast<size_t>(shape.intermediate);
  m.word = Uniform(rng, static_cast<size_t>(shape.vocab) * h, -1.0f, 1.0f);
  m.position = Uniform(rng, static_cast<size_t>(shape.max_positions) * h, -0.5f, 0.5f);
  m.token_type = Uniform(rng, static_cast<size_t>(shape.type_vocab) * h, -0.5f, 0.5f);
  m.emb_ln_g = Uniform(rng, h, 0.8f, 1.2f);
  m.emb_ln_b = Uniform(rng, h, -0.1f, 0.1f);
  const float wh = 1.0f / std::sqrt(static_cast<float>(h));
  const float wi = 1.0f / std::sqrt(static_cast<float>(inter));
  for (int l = 0; l < shape.layers; ++l) {
    TinyBertLayer L;
    L.q_w = Uniform(rng, h * h, -wh, wh);
    L.q_b = Uniform(rng, h, -0.1f, 0.1f);
    L.k_w = Uniform(rng, h * h, -wh, wh);
    L.k_b = Uniform(rng, h, -0.1f, 0.1f);
    L.v_w = Uniform(rng, h * h, -wh, wh);
    L.v_b = Uniform(rng, h, -0.1f, 0.1f);
    L.o_w = Uniform(rng, h * h, -wh, wh);
    L.o_b = Uniform(rng, h, -0.1f, 0.1f);
    L.ln1_g = Uniform(rng, h, 0.8f, 1.2f);
    L.ln1_b = Uniform(rng, h, -0.1f, 0.1f);
    L.i_w = Uniform(rng, inter * h, -wh, wh);
    L.i_b = Uniform(rng, inter, -0.1f, 0.1f);
    L.f_w = Uniform(rng, h * inter, -wi, wi);
    L.f_b = Uniform(rng, h, -0.1f, 0.1f);
    L.ln2_g = Uniform(rng, h, 0.8f, 1.2f);
    L.ln2_b = Uniform(rng, h, -0.1f, 0.1f);
    m.layers.push_back(std::move(L));
  }
  return m;
}

std::string TinyBert::ConfigJson() const {
  nlohmann::json j = {{"architectures", {"BertModel"}},
                      {"model_type", "bert"},
                      {"hidden_size", shape.hidden},
                      {"num_hidden_layers", shape.layers},
                      {"num_attention_heads", shape.heads},
                      {"intermediate_size", shape.intermediate},
                      {"max_position_embeddings", shape.max_positions},
                      {"vocab_size", shape.vocab},
                      {"type_vocab_size", shape.type_vocab},
                      {"layer_norm_eps", 1e-12},
                      {"hidden_act", "gelu"},
                      {"position_embedding_type", "absolute"}};
  return j.dump();
}

std::vector<uint8_t> TinyBert::Safetensors(bool bert_prefix) const {
  const std::string p = bert_prefix ? "bert." : "";
  const int64_t h = shape.hidden;
  const int64_t inter = shape.intermediate;
  model::testing::SafetensorsBuilder b;
  b.AddF32(p + "embeddings.word_embeddings.weight", {shape.vocab, h}, word);
  b.AddF32(p + "embeddings.position_embeddings.weight", {shape.max_positions, h}, position);
  b.AddF32(p + "embeddings.token_type_embeddings.weight", {shape.type_vocab, h}, token_type);
  b.AddF32(p + "embeddings.LayerNorm.weight", {h}, emb_ln_g);
  b.AddF32(p + "embeddings.LayerNorm.bias", {h}, emb_ln_b);
  for (size_t l = 0; l < layers.size(); ++l) {
    const TinyBertLayer& L = layers[l];
    const std::string e = p + "encoder.layer." + std::to_string(l) + ".";
    b.AddF32(e + "attention.self.query.weight", {h, h}, L.q_w);
    b.AddF32(e + "attention.self.query.bias", {h}, L.q_b);
    b.AddF32(e + "attention.self.key.weight", {h, h}, L.k_w);
    b.AddF32(e + "attention.self.key.bias", {h}, L.k_b);
    b.AddF32(e + "attention.self.value.weight", {h, h}, L.v_w);
    b.AddF32(e + "attention.self.value.bias", {h}, L.v_b);
    b.AddF32(e + "attention.output.dense.weight", {h, h}, L.o_w);
    b.AddF32(e + "attention.output.dense.bias", {h}, L.o_b);
    b.AddF32(e + "attention.output.LayerNorm.weight", {h}, L.ln1_g);
    b.AddF32(e + "attention.output.LayerNorm.bias", {h}, L.ln1_b);
    b.AddF32(e + "intermediate.dense.weight", {inter, h}, L.i_w);
    b.AddF32(e + "intermediate.dense.bias", {inter}, L.i_b);
    b.AddF32(e + "output.dense.weight", {h, inter}, L.f_w);
    b.AddF32(e + "output.dense.bias", {h}, L.f_b);
    b.AddF32(e + "output.LayerNorm.weight", {h}, L.ln2_g);
    b.AddF32(e + "output.LayerNorm.bias", {h}, L.ln2_b);
  }
  b.AddF32(p + "pooler.dense.weight", {h, h}, std::vector<float>(static_cast<size_t>(h * h), 0.0f));
  return b.Build();
}

std::vector<double> TinyBert::ReferenceHidden(const std::vector<int32_t>& ids) const {
  const size_t s = ids.size();
  const auto h = static_cast<size_t>(shape.hidden);
  const auto heads = static_cast<size_t>(shape.heads);
  const size_t d = h / heads;
  const auto inter = static_cast<size_t>(shape.intermediate);
  const double eps = 1e-12;
  Matrix x(s * h);
  for (size_t t = 0; t < s; ++t) {
    const auto id = static_cast<size_t>(ids[t]);
    for (size_t i = 0; i < h; ++i) {
      x[t * h + i] = static_cast<double>(word[id * h + i]) + static_cast<double>(token_type[i]) +
                     static_cast<double>(position[t * h + i]);
    }
  }
  LayerNormRows(x, s, h, emb_ln_g, emb_ln_b, eps);
  for (const TinyBertLayer& L : layers) {
    const Matrix q = LinearRef(x, s, h, h, L.q_w, L.q_b);
    const Matrix k = LinearRef(x, s, h, h, L.k_w, L.k_b);
    const Matrix v = LinearRef(x, s, h, h, L.v_w, L.v_b);
    Matrix ctx(s * h, 0.0);
    for (size_t hd = 0; hd < heads; ++hd) {
      for (size_t i = 0; i < s; ++i) {
        std::vector<double> scores(s);
        double max = -1e300;
        for (size_t j = 0; j < s; ++j) {
          double dot = 0;
          for (size_t t = 0; t < d; ++t) {
            dot += q[i * h + hd * d + t] * k[j * h + hd * d + t];
          }
          scores[j] = dot / std::sqrt(static_cast<double>(d));
          max = std::max(max, scores[j]);
        }
        double sum = 0;
        for (double& sc : scores) {
          sc = std::exp(sc - max);
          sum += sc;
        }
        for (size_t j = 0; j < s; ++j) {
          for (size_t t = 0; t < d; ++t) {
            ctx[i * h + hd * d + t] += scores[j] / sum * v[j * h + hd * d + t];
          }
        }
      }
    }
    Matrix a = LinearRef(ctx, s, h, h, L.o_w, L.o_b);
    for (size_t i = 0; i < s * h; ++i) {
      a[i] += x[i];
    }
    LayerNormRows(a, s, h, L.ln1_g, L.ln1_b, eps);
    Matrix f = LinearRef(a, s, h, inter, L.i_w, L.i_b);
    for (double& val : f) {
      val = 0.5 * val * (1.0 + std::erf(val / std::sqrt(2.0)));
    }
    Matrix o = LinearRef(f, s, inter, h, L.f_w, L.f_b);
    for (size_t i = 0; i < s * h; ++i) {
      o[i] += a[i];
    }
    LayerNormRows(o, s, h, L.ln2_g, L.ln2_b, eps);
    x = std::move(o);
  }
  return x;
}

std::vector<double> TinyBert::ReferenceEmbedding(const std::vector<int32_t>& ids) const {
  const std::vector<double> x = ReferenceHidden(ids);
  const auto h = static_cast<size_t>(shape.hidden);
  std::vector<double> e(h, 0.0);
  for (size_t t = 0; t < ids.size(); ++t) {
    for (size_t i = 0; i < h; ++i) {
      e[i] += x[t * h + i];
    }
  }
  for (double& v : e) {
    v /= static_cast<double>(ids.size());
  }
  return e;
}

std::string TinyTokenizerJson(int vocab) {
  nlohmann::json v = nlohmann::json::object();
  const char* specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  int id = 0;
  nlohmann::json added = nlohmann::json::array();
  for (const char* sp : specials) {
    v[sp] = id;
    added.push_back({{"id", id},
                     {"content", sp},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    ++id;
  }
  for (char c = 'a'; c <= 'z' && id < vocab; ++c, ++id) {
    v[std::string(1, c)] = id;
  }
  for (char c = 'a'; c <= 'z' && id < vocab; ++c, ++id) {
    v["##" + std::string(1, c)] = id;
  }
  nlohmann::json j = {{"version", "1.0"},
                      {"truncation", nullptr},
                      {"padding", nullptr},
                      {"added_tokens", added},
                      {"normalizer",
                       {{"type", "BertNormalizer"},
                        {"clean_text", true},
                        {"handle_chinese_chars", true},
                        {"strip_accents", nullptr},
                        {"lowercase", true}}},
                      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
                      {"post_processor",
                       {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}}},
                      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
                      {"model",
                       {{"type", "WordPiece"},
                        {"unk_token", "[UNK]"},
                        {"continuing_subword_prefix", "##"},
                        {"max_input_chars_per_word", 100},
                        {"vocab", v}}}};
  return j.dump();
}

}  // namespace eml::engine::testing

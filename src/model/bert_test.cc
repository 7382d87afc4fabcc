#include "model/bert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "model/model_directory.h"
#include "model/testing/safetensors_builder.h"
#include "testing/test_util.h"

namespace eml::model {
namespace {

using ::eml::model::testing::SafetensorsBuilder;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr char kMiniLmConfig[] = R"({
  "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 384,
  "intermediate_size": 1536, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
  "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0,
  "position_embedding_type": "absolute", "type_vocab_size": 2, "vocab_size": 30522})";

std::string Edited(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json config = nlohmann::json::parse(kMiniLmConfig);
  edit(config);
  return config.dump();
}

TEST(BertConfigTest, ParsesMiniLm) {
  Result<BertConfig> config = ParseBertConfig(kMiniLmConfig);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->hidden_size, 384);
  EXPECT_EQ(config->num_layers, 6);
  EXPECT_EQ(config->num_heads, 12);
  EXPECT_EQ(config->head_dim(), 32);
  EXPECT_EQ(config->intermediate_size, 1536);
  EXPECT_EQ(config->max_position_embeddings, 512);
  EXPECT_EQ(config->vocab_size, 30522);
  EXPECT_EQ(config->type_vocab_size, 2);
  EXPECT_FLOAT_EQ(config->layer_norm_eps, 1e-12f);
  EXPECT_EQ(config->hidden_act, "gelu");
}

TEST(BertConfigTest, OptionalFieldsMayBeAbsent) {
  EXPECT_THAT(ParseBertConfig(Edited([](nlohmann::json& c) {
                c.erase("model_type");
                c.erase("position_embedding_type");
              })),
              IsOk());
}

TEST(BertConfigTest, NotJsonObject) {
  EXPECT_THAT(ParseBertConfig("{"), HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(ParseBertConfig("[1]"), HasError(ErrorCode::kModelBadConfig));
}

TEST(BertConfigTest, BadFields) {
  const std::vector<std::function<void(nlohmann::json&)>> edits = {
      [](nlohmann::json& c) { c.erase("hidden_size"); },
      [](nlohmann::json& c) { c["num_hidden_layers"] = "6"; },
      [](nlohmann::json& c) { c["num_attention_heads"] = 0; },
      [](nlohmann::json& c) { c["intermediate_size"] = -1536; },
      [](nlohmann::json& c) { c["vocab_size"] = 1.5; },
      [](nlohmann::json& c) { c["max_position_embeddings"] = uint64_t{1} << 40; },
      [](nlohmann::json& c) { c["type_vocab_size"] = 100000; },
      [](nlohmann::json& c) { c["num_attention_heads"] = 7; },  // 384 % 7 != 0
      [](nlohmann::json& c) { c.erase("layer_norm_eps"); },
      [](nlohmann::json& c) { c["layer_norm_eps"] = 0; },
      [](nlohmann::json& c) { c["layer_norm_eps"] = "1e-12"; },
      [](nlohmann::json& c) { c.erase("hidden_act"); },
      [](nlohmann::json& c) { c["model_type"] = 3; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    EXPECT_THAT(ParseBertConfig(Edited(edits[i])), HasError(ErrorCode::kModelBadConfig))
        << "edit " << i;
  }
}

TEST(BertConfigTest, UnsupportedValues) {
  EXPECT_THAT(ParseBertConfig(Edited([](nlohmann::json& c) { c["hidden_act"] = "relu"; })),
              HasError(ErrorCode::kModelUnsupportedConfig));
  EXPECT_THAT(ParseBertConfig(Edited([](nlohmann::json& c) { c["hidden_act"] = "gelu_new"; })),
              HasError(ErrorCode::kModelUnsupportedConfig));
  EXPECT_THAT(ParseBertConfig(Edited([](nlohmann::json& c) { c["model_type"] = "roberta"; })),
              HasError(ErrorCode::kModelUnsupportedConfig));
  EXPECT_THAT(ParseBertConfig(
                  Edited([](nlohmann::json& c) { c["position_embedding_type"] = "relative_key"; })),
              HasError(ErrorCode::kModelUnsupportedConfig));
}

// A tiny BERT (hidden 4, 2 heads, intermediate 8, 2 layers, vocab 10, 6 positions).
BertConfig TinyConfig() {
  BertConfig c;
  c.hidden_size = 4;
  c.num_layers = 2;
  c.num_heads = 2;
  c.intermediate_size = 8;
  c.max_position_embeddings = 6;
  c.vocab_size = 10;
  c.type_vocab_size = 2;
  c.layer_norm_eps = 1e-12f;
  c.hidden_act = "gelu";
  return c;
}

struct Naming {
  std::string prefix;  // "" or "bert."
  std::string gamma;   // "weight" or "gamma"
  std::string beta;    // "bias" or "beta"
};

// Builds every tensor of TinyConfig under `naming`; `skip` omits one name, `bad_shape` gives
// one name a wrong shape.
std::vector<uint8_t> TinyBert(const Naming& n, const std::string& skip = "",
                              const std::string& bad_shape = "") {
  SafetensorsBuilder builder;
  const BertConfig c = TinyConfig();
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    const std::string full = n.prefix + name;
    if (full == skip) {
      return;
    }
    if (full == bad_shape) {
      shape.push_back(1);
    }
    size_t count = 1;
    for (const int64_t d : shape) {
      count *= static_cast<size_t>(d);
    }
    builder.AddF32(full, shape, std::vector<float>(count, 0.5f));
  };
  const int64_t h = c.hidden_size;
  const int64_t i = c.intermediate_size;
  add("embeddings.word_embeddings.weight", {c.vocab_size, h});
  add("embeddings.position_embeddings.weight", {c.max_position_embeddings, h});
  add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, h});
  add("embeddings.LayerNorm." + n.gamma, {h});
  add("embeddings.LayerNorm." + n.beta, {h});
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* m : {"query", "key", "value"}) {
      add(p + "attention.self." + m + ".weight", {h, h});
      add(p + "attention.self." + m + ".bias", {h});
    }
    add(p + "attention.output.dense.weight", {h, h});
    add(p + "attention.output.dense.bias", {h});
    add(p + "attention.output.LayerNorm." + n.gamma, {h});
    add(p + "attention.output.LayerNorm." + n.beta, {h});
    add(p + "intermediate.dense.weight", {i, h});
    add(p + "intermediate.dense.bias", {i});
    add(p + "output.dense.weight", {h, i});
    add(p + "output.dense.bias", {h});
    add(p + "output.LayerNorm." + n.gamma, {h});
    add(p + "output.LayerNorm." + n.beta, {h});
  }
  add("pooler.dense.weight", {h, h});
  return builder.Build();
}

std::vector<std::string> AllNames(const BertWeightNames& names) {
  std::vector<std::string> out = {names.embeddings.word, names.embeddings.position,
                                  names.embeddings.token_type, names.embeddings.ln_gamma,
                                  names.embeddings.ln_beta};
  for (const BertLayerNames& l : names.layers) {
    for (const std::string* s :
         {&l.q_w, &l.q_b, &l.k_w, &l.k_b, &l.v_w, &l.v_b, &l.attn_out_w, &l.attn_out_b,
          &l.attn_ln_g, &l.attn_ln_b, &l.ffn_in_w, &l.ffn_in_b, &l.ffn_out_w, &l.ffn_out_b,
          &l.out_ln_g, &l.out_ln_b}) {
      out.push_back(*s);
    }
  }
  return out;
}

TEST(ResolveBertWeightNamesTest, BertBaseStyleGammaBetaWithoutPrefix) {
  Result<SafetensorsFile> file = SafetensorsFile::FromBuffer(TinyBert({"", "gamma", "beta"}));
  ASSERT_THAT(file, IsOk());
  Result<BertWeightNames> names = ResolveBertWeightNames(*file, TinyConfig());
  ASSERT_THAT(names, IsOk());
  EXPECT_EQ(names->embeddings.ln_gamma, "embeddings.LayerNorm.gamma");
  EXPECT_EQ(names->embeddings.ln_beta, "embeddings.LayerNorm.beta");
  ASSERT_EQ(names->layers.size(), 2u);
  EXPECT_EQ(names->layers[1].out_ln_g, "encoder.layer.1.output.LayerNorm.gamma");
  EXPECT_EQ(names->layers[1].ffn_in_w, "encoder.layer.1.intermediate.dense.weight");
  EXPECT_EQ(names->layers[0].q_b, "encoder.layer.0.attention.self.query.bias");
}

TEST(ResolveBertWeightNamesTest, PrefixedWeightBias) {
  Result<SafetensorsFile> file = SafetensorsFile::FromBuffer(TinyBert({"bert.", "weight", "bias"}));
  ASSERT_THAT(file, IsOk());
  Result<BertWeightNames> names = ResolveBertWeightNames(*file, TinyConfig());
  ASSERT_THAT(names, IsOk());
  EXPECT_EQ(names->embeddings.word, "bert.embeddings.word_embeddings.weight");
  EXPECT_EQ(names->layers[0].attn_ln_b, "bert.encoder.layer.0.attention.output.LayerNorm.bias");
  for (const std::string& name : AllNames(*names)) {
    EXPECT_NE(file->Find(name), nullptr) << name;
  }
}

TEST(ResolveBertWeightNamesTest, MissingTensor) {
  Result<SafetensorsFile> file = SafetensorsFile::FromBuffer(
      TinyBert({"", "weight", "bias"}, "encoder.layer.1.attention.self.value.bias"));
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(ResolveBertWeightNames(*file, TinyConfig()),
              HasError(ErrorCode::kModelTensorNotFound));
  Result<SafetensorsFile> no_embeddings = SafetensorsFile::FromBuffer(
      TinyBert({"", "weight", "bias"}, "embeddings.word_embeddings.weight"));
  ASSERT_THAT(no_embeddings, IsOk());
  EXPECT_THAT(ResolveBertWeightNames(*no_embeddings, TinyConfig()),
              HasError(ErrorCode::kModelTensorNotFound));
}

TEST(ResolveBertWeightNamesTest, ConfigWithMoreLayersThanFile) {
  Result<SafetensorsFile> file = SafetensorsFile::FromBuffer(TinyBert({"", "weight", "bias"}));
  ASSERT_THAT(file, IsOk());
  BertConfig config = TinyConfig();
  config.num_layers = 3;
  EXPECT_THAT(ResolveBertWeightNames(*file, config), HasError(ErrorCode::kModelTensorNotFound));
}

TEST(ResolveBertWeightNamesTest, WrongShape) {
  Result<SafetensorsFile> file = SafetensorsFile::FromBuffer(
      TinyBert({"", "gamma", "beta"}, "", "encoder.layer.0.output.dense.weight"));
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(ResolveBertWeightNames(*file, TinyConfig()),
              HasError(ErrorCode::kModelShapeMismatch));
  Result<SafetensorsFile> good = SafetensorsFile::FromBuffer(TinyBert({"", "gamma", "beta"}));
  ASSERT_THAT(good, IsOk());
  BertConfig wider = TinyConfig();
  wider.vocab_size = 11;
  EXPECT_THAT(ResolveBertWeightNames(*good, wider), HasError(ErrorCode::kModelShapeMismatch));
}

TEST(ResolveBertWeightNamesTest, IntegerTensorWhereWeightsExpected) {
  SafetensorsBuilder builder;
  builder.AddRaw("embeddings.word_embeddings.weight", "I32", {10, 4}, std::vector<uint8_t>(160, 0));
  Result<SafetensorsFile> file = SafetensorsFile::FromBuffer(builder.Build());
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(ResolveBertWeightNames(*file, TinyConfig()),
              HasError(ErrorCode::kModelUnsupportedDtype));
}

TEST(ResolveBertWeightNamesTest, AllMiniLmTensorsResolveWithConfigShapes) {
  const std::filesystem::path dir = DefaultModelDirectoryPath();
  ASSERT_TRUE(std::filesystem::exists(dir / "model.safetensors"))
      << dir << " lacks the model: run scripts/fetch-model (or set EML_MODEL_DIR)";
  Result<BertConfig> config = ParseBertConfig(eml::testing::ReadFileText(dir / "config.json"));
  ASSERT_THAT(config, IsOk());
  Result<SafetensorsFile> file = SafetensorsFile::Open(dir / "model.safetensors");
  ASSERT_THAT(file, IsOk());
  Result<BertWeightNames> names = ResolveBertWeightNames(*file, *config);
  ASSERT_THAT(names, IsOk());
  const std::vector<std::string> all = AllNames(*names);
  EXPECT_EQ(all.size(), 5u + 6u * 16u);
  const BertShapes shapes = ExpectedBertShapes(*config);
  EXPECT_EQ(file->Find(names->embeddings.word)->shape, (std::vector<int64_t>{30522, 384}));
  EXPECT_EQ(file->Find(names->layers[5].ffn_in_w)->shape, (std::vector<int64_t>{1536, 384}));
  EXPECT_EQ(file->Find(names->layers[5].ffn_out_w)->shape, (std::vector<int64_t>{384, 1536}));
  size_t total_floats = 0;
  for (const std::string& name : all) {
    const TensorView* tensor = file->Find(name);
    ASSERT_NE(tensor, nullptr) << name;
    EXPECT_EQ(tensor->dtype, DType::kF32) << name;
    Result<std::vector<float>> values = file->ReadAsF32(name, tensor->shape);
    ASSERT_THAT(values, IsOk());
    total_floats += values->size();
  }
  // 22.7M parameters, minus the 148k of the unused pooler.
  EXPECT_EQ(total_floats, size_t{22565376});
  EXPECT_EQ(shapes.hh, (std::vector<int64_t>{384, 384}));
}

}  // namespace
}  // namespace eml::model

#include "model/model_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "testing/test_util.h"

namespace eml::model {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr char kModules[] = R"([
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
])";
constexpr char kPooling[] = R"({"word_embedding_dimension": 384, "pooling_mode_cls_token": false,
  "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
  "pooling_mode_mean_sqrt_len_tokens": false})";
constexpr char kSbert[] = R"({"max_seq_length": 256, "do_lower_case": false})";

TEST(SentenceEmbeddingConfigTest, ParsesMiniLm) {
  Result<SentenceEmbeddingConfig> config = ParseSentenceEmbeddingConfig(kModules, kPooling, kSbert);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->pooling, PoolingMode::kMean);
  EXPECT_TRUE(config->normalize);
  EXPECT_EQ(config->embedding_dimension, 384);
  EXPECT_EQ(config->max_seq_length, 256);
  EXPECT_FALSE(config->do_lower_case);
}

TEST(SentenceEmbeddingConfigTest, NormalizeOnlyWhenListed) {
  constexpr char kNoNormalize[] = R"([
    {"path": "", "type": "sentence_transformers.models.Transformer"},
    {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])";
  Result<SentenceEmbeddingConfig> config =
      ParseSentenceEmbeddingConfig(kNoNormalize, kPooling, kSbert);
  ASSERT_THAT(config, IsOk());
  EXPECT_FALSE(config->normalize);
  Result<SentenceEmbeddingConfig> cls = ParseSentenceEmbeddingConfig(
      kNoNormalize, R"({"word_embedding_dimension": 8, "pooling_mode_cls_token": true})", kSbert);
  ASSERT_THAT(cls, IsOk());
  EXPECT_EQ(cls->pooling, PoolingMode::kCls);
}

TEST(SentenceEmbeddingConfigTest, MalformedFiles) {
  EXPECT_THAT(ParseSentenceEmbeddingConfig("{", kPooling, kSbert),
              HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(ParseSentenceEmbeddingConfig("[]", kPooling, kSbert),
              HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(ParseSentenceEmbeddingConfig(R"([{"type": "x"}])", kPooling, kSbert),
              HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kModules, "[]", kSbert),
              HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(
      ParseSentenceEmbeddingConfig(
          kModules, R"({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": 1})", kSbert),
      HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(
      ParseSentenceEmbeddingConfig(kModules, R"({"pooling_mode_mean_tokens": true})", kSbert),
      HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kModules, kPooling, R"({"max_seq_length": -1})"),
              HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kModules, kPooling, "3"),
              HasError(ErrorCode::kModelBadConfig));
  constexpr char kEscaping[] = R"([
    {"path": "", "type": "sentence_transformers.models.Transformer"},
    {"path": "../x", "type": "sentence_transformers.models.Pooling"}])";
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kEscaping, kPooling, kSbert),
              HasError(ErrorCode::kModelBadConfig));
  constexpr char kAbsolute[] = R"([
    {"path": "", "type": "sentence_transformers.models.Transformer"},
    {"path": "/etc", "type": "sentence_transformers.models.Pooling"}])";
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kAbsolute, kPooling, kSbert),
              HasError(ErrorCode::kModelBadConfig));
}

TEST(SentenceEmbeddingConfigTest, UnsupportedPipelines) {
  constexpr char kDense[] = R"([
    {"path": "", "type": "sentence_transformers.models.Transformer"},
    {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}])";
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kDense, kPooling, kSbert),
              HasError(ErrorCode::kModelUnsupportedConfig));
  constexpr char kNoPooling[] = R"([
    {"path": "", "type": "sentence_transformers.models.Transformer"}])";
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kNoPooling, kPooling, kSbert),
              HasError(ErrorCode::kModelUnsupportedConfig));
  constexpr char kPoolingFirst[] = R"([
    {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])";
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kPoolingFirst, kPooling, kSbert),
              HasError(ErrorCode::kModelUnsupportedConfig));
  EXPECT_THAT(ParseSentenceEmbeddingConfig(
                  kModules,
                  R"({"word_embedding_dimension": 384, "pooling_mode_mean_sqrt_len_tokens": true})",
                  kSbert),
              HasError(ErrorCode::kModelUnsupportedConfig));
  EXPECT_THAT(ParseSentenceEmbeddingConfig(kModules,
                                           R"({"word_embedding_dimension": 384,
                                               "pooling_mode_mean_tokens": true,
                                               "pooling_mode_max_tokens": true})",
                                           kSbert),
              HasError(ErrorCode::kModelUnsupportedConfig));
}

// A scratch copy of a model directory's small files, with one file replaceable.
class ScratchDir {
 public:
  ScratchDir() {
    root_ = std::filesystem::temp_directory_path() /
            ("eml_model_dir_test_" + std::to_string(::getpid()) + "_" + std::to_string(n_++));
    std::filesystem::create_directories(root_ / "1_Pooling");
    Write("modules.json", kModules);
    Write("1_Pooling/config.json", kPooling);
    Write("sentence_bert_config.json", kSbert);
    Write("config.json", R"({"hidden_size": 384, "num_hidden_layers": 6,
      "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512,
      "vocab_size": 30522, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"})");
    Write("tokenizer.json", "{}");
    Write("model.safetensors", "");
  }
  ~ScratchDir() { std::filesystem::remove_all(root_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name, std::ios::binary) << text;
  }
  const std::filesystem::path& root() const { return root_; }

 private:
  static inline int n_ = 0;
  std::filesystem::path root_;
};

TEST(ModelDirectoryTest, OpensScratchCopy) {
  ScratchDir dir;
  Result<ModelDirectory> model = ModelDirectory::Open(dir.root());
  ASSERT_THAT(model, IsOk());
  EXPECT_EQ(model->pooling_config_json, dir.root() / "1_Pooling" / "config.json");
  EXPECT_EQ(model->bert.hidden_size, 384);
}

TEST(ModelDirectoryTest, MissingDirectoryOrFile) {
  EXPECT_THAT(ModelDirectory::Open("/nonexistent/eml/model"), HasError(ErrorCode::kNotFound));
  ScratchDir dir;
  std::filesystem::remove(dir.root() / "tokenizer.json");
  EXPECT_THAT(ModelDirectory::Open(dir.root()), HasError(ErrorCode::kNotFound));
  ScratchDir no_pooling;
  std::filesystem::remove_all(no_pooling.root() / "1_Pooling");
  EXPECT_THAT(ModelDirectory::Open(no_pooling.root()), HasError(ErrorCode::kNotFound));
}

TEST(ModelDirectoryTest, WithoutModulesJsonUsesTheDefaultPipeline) {
  ScratchDir dir;
  std::filesystem::remove(dir.root() / "modules.json");
  dir.Write("1_Pooling/config.json", "ignored without modules.json");
  Result<ModelDirectory> model = ModelDirectory::Open(dir.root());
  ASSERT_THAT(model, IsOk());
  EXPECT_EQ(model->embedding.pooling, PoolingMode::kMean);
  // sentence-transformers' pipeline for a plain Hugging Face model: mean pooling, no
  // normalization, the model's full length (512 here, as max_position_embeddings).
  EXPECT_FALSE(model->embedding.normalize);
  EXPECT_EQ(model->embedding.max_seq_length, 512);
  EXPECT_EQ(model->embedding.embedding_dimension, 384);
  EXPECT_TRUE(model->modules_json.empty());
  EXPECT_TRUE(model->pooling_config_json.empty());
  // With modules.json the other two files are required.
  ScratchDir no_sbert;
  std::filesystem::remove(no_sbert.root() / "sentence_bert_config.json");
  EXPECT_THAT(ModelDirectory::Open(no_sbert.root()), HasError(ErrorCode::kNotFound));
}

TEST(SentenceEmbeddingConfigTest, PoolingConfigName) {
  Result<std::string> name = PoolingConfigName(kModules);
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(*name, "1_Pooling/config.json");
  EXPECT_THAT(PoolingConfigName(R"([{"type": "sentence_transformers.models.Transformer",
                                     "path": ""},
                                    {"type": "sentence_transformers.models.Pooling",
                                     "path": "../secrets"}])"),
              HasError(ErrorCode::kModelBadConfig));
  EXPECT_THAT(PoolingConfigName("[]"), HasError(ErrorCode::kModelBadConfig));
}

TEST(SentenceEmbeddingConfigTest, DefaultAndChecks) {
  BertConfig bert;
  bert.hidden_size = 32;
  bert.max_position_embeddings = 128;
  const SentenceEmbeddingConfig defaults = DefaultSentenceEmbeddingConfig(bert);
  EXPECT_EQ(defaults.max_seq_length, 128);
  EXPECT_EQ(defaults.embedding_dimension, 32);
  EXPECT_THAT(CheckSentenceEmbeddingConfig(defaults, bert), IsOk());
  SentenceEmbeddingConfig longer = defaults;
  longer.max_seq_length = 129;
  EXPECT_THAT(CheckSentenceEmbeddingConfig(longer, bert), HasError(ErrorCode::kModelBadConfig));
  SentenceEmbeddingConfig wider = defaults;
  wider.embedding_dimension = 64;
  EXPECT_THAT(CheckSentenceEmbeddingConfig(wider, bert), HasError(ErrorCode::kModelBadConfig));
}

TEST(ModelDirectoryTest, NonRegularFile) {
  ScratchDir dir;
  std::filesystem::remove(dir.root() / "model.safetensors");
  std::filesystem::create_directory(dir.root() / "model.safetensors");
  EXPECT_THAT(ModelDirectory::Open(dir.root()), HasError(ErrorCode::kIoError));
  ScratchDir dir2;
  std::filesystem::remove(dir2.root() / "config.json");
  std::filesystem::create_directory(dir2.root() / "config.json");
  EXPECT_THAT(ModelDirectory::Open(dir2.root()), HasError(ErrorCode::kIoError));
}

TEST(ModelDirectoryTest, OversizedJson) {
  ScratchDir dir;
  dir.Write("config.json", std::string(kMaxModelJsonBytes + 1, ' '));
  EXPECT_THAT(ModelDirectory::Open(dir.root()), HasError(ErrorCode::kLimitExceeded));
}

TEST(ModelDirectoryTest, InconsistentFiles) {
  ScratchDir dim;
  dim.Write("1_Pooling/config.json",
            R"({"word_embedding_dimension": 768, "pooling_mode_mean_tokens": true})");
  EXPECT_THAT(ModelDirectory::Open(dim.root()), HasError(ErrorCode::kModelBadConfig));
  ScratchDir len;
  len.Write("sentence_bert_config.json", R"({"max_seq_length": 1024})");
  EXPECT_THAT(ModelDirectory::Open(len.root()), HasError(ErrorCode::kModelBadConfig));
  ScratchDir act;
  act.Write("config.json", R"({"hidden_size": 384, "num_hidden_layers": 6,
      "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512,
      "vocab_size": 30522, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "silu"})");
  EXPECT_THAT(ModelDirectory::Open(act.root()), HasError(ErrorCode::kModelUnsupportedConfig));
}

TEST(ModelDirectoryTest, OpensFetchedMiniLm) {
  const std::filesystem::path dir = DefaultModelDirectoryPath();
  ASSERT_TRUE(std::filesystem::exists(dir / "model.safetensors"))
      << dir << " lacks the model: run scripts/fetch-model (or set EML_MODEL_DIR)";
  Result<ModelDirectory> model = ModelDirectory::Open(dir);
  ASSERT_THAT(model, IsOk());
  EXPECT_EQ(model->embedding.pooling, PoolingMode::kMean);
  EXPECT_TRUE(model->embedding.normalize);  // modules.json lists Normalize (no folder needed)
  EXPECT_EQ(model->embedding.max_seq_length, 256);
  EXPECT_EQ(model->embedding.embedding_dimension, 384);
  EXPECT_EQ(model->bert.num_layers, 6);
  EXPECT_EQ(model->weights_safetensors, dir / "model.safetensors");
  EXPECT_EQ(model->tokenizer_json, dir / "tokenizer.json");
}

}  // namespace
}  // namespace eml::model

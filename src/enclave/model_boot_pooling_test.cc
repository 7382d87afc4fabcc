// Encrypted boot of the real all-MiniLM-L6-v2 (scripts/fetch-model) with its pipeline changed in
// the package: the booted engine must embed as the engine loaded from the same directory does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "enclave/model_boot.h"
#include "model/model_directory.h"
#include "model/package.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr char kModelId[] = "minilm";

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float out = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    out = std::max(out, std::abs(a[i] - b[i]));
  }
  return out;
}

class ModelBootPoolingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = model::DefaultModelDirectoryPath();
    ASSERT_TRUE(fs::exists(source_ / "model.safetensors"))
        << source_ << " lacks the model: run scripts/fetch-model (or set EML_MODEL_DIR)";
    char tmpl[] = "/tmp/eml-boot-pooling-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Result<crypto::Ed25519PrivateKey> owner = crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(owner, IsOk());
    owner_.emplace(*std::move(owner));
    Result<SecretBytes> dek = crypto::RandomSecret(32);
    ASSERT_THAT(dek, IsOk());
    dek_ = *std::move(dek);
    fs::create_directories(dir_ / "store");
    Result<std::unique_ptr<model::ModelStore>> store =
        OpenBootStore("file://" + (dir_ / "store").string());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // CopyModel makes dir_/name with the files the engine and the pipeline need (the big ones as
  // symlinks, which the packer follows) and returns it.
  fs::path CopyModel(const std::string& name) {
    const fs::path out = dir_ / name;
    fs::create_directories(out / "1_Pooling");
    for (const char* big : {"model.safetensors", "tokenizer.json"}) {
      fs::create_symlink(source_ / big, out / big);
    }
    for (const char* small :
         {"config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"}) {
      fs::copy_file(source_ / small, out / small);
    }
    return out;
  }
  // Publish packs `model` as minilm/`version` (weights encrypted) into the store.
  void Publish(const fs::path& model, const std::string& version) {
    model::PackOptions options;
    options.model_id = kModelId;
    options.version = version;
    const fs::path pkg = dir_ / ("pkg-" + version);
    ASSERT_THAT(model::PackModel(model, pkg, dek_, *owner_, options), IsOk());
    ASSERT_THAT(store_->Publish(pkg), IsOk());
  }
  std::vector<float> BootAndEmbed(const std::string& version) {
    StaticDataKeySource keys(dek_.Clone());
    const BootRequest request{.model_id = kModelId,
                              .version = version,
                              .owner_key = owner_->public_key(),
                              .store = *store_};
    BootOptions options;
    options.engine.num_threads = 2;
    Result<BootedModel> booted = BootModel(request, keys, nullptr, options);
    EXPECT_THAT(booted, IsOk());
    if (!booted.has_value()) {
      return {};
    }
    return Embed(*booted->embedder);
  }
  std::vector<float> DirectoryEmbed(const fs::path& model) {
    engine::EmbedderOptions options;
    options.num_threads = 2;
    Result<std::unique_ptr<engine::Embedder>> loaded =
        engine::Embedder::LoadFromDirectory(model, options);
    EXPECT_THAT(loaded, IsOk());
    if (!loaded.has_value()) {
      return {};
    }
    return Embed(**loaded);
  }
  std::vector<float> Embed(engine::Embedder& embedder) {
    Result<engine::EmbedResult> result = embedder.Embed(texts_);
    EXPECT_THAT(result, IsOk());
    return result.has_value() ? result->embeddings : std::vector<float>{};
  }

  fs::path source_;
  fs::path dir_;
  std::optional<crypto::Ed25519PrivateKey> owner_;
  SecretBytes dek_;
  std::unique_ptr<model::ModelStore> store_;
  const std::vector<std::string> texts_ = {"A man is playing a guitar.", "The new movie is awesome",
                                           ""};
};

TEST_F(ModelBootPoolingTest, ClsPooledPackageEmbedsAsTheClsPooledDirectory) {
  const fs::path cls = CopyModel("cls");
  const std::string pooling = ::eml::testing::ReadFileText(cls / "1_Pooling/config.json");
  Result<model::SentenceEmbeddingConfig> parsed = model::ParseSentenceEmbeddingConfig(
      ::eml::testing::ReadFileText(cls / "modules.json"), pooling,
      ::eml::testing::ReadFileText(cls / "sentence_bert_config.json"));
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->pooling, model::PoolingMode::kMean);  // the original
  WriteText(cls / "1_Pooling/config.json",
            R"({"word_embedding_dimension": 384, "pooling_mode_cls_token": true,
                "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false})");
  Publish(cls, "cls");
  const std::vector<float> booted = BootAndEmbed("cls");
  EXPECT_LT(MaxAbsDiff(booted, DirectoryEmbed(cls)), 1e-5f);
  EXPECT_GT(MaxAbsDiff(booted, DirectoryEmbed(source_)), 1e-2f);  // not the mean-pooled model
}

TEST_F(ModelBootPoolingTest, PackageWithoutNormalizeEmbedsAsTheDirectory) {
  const fs::path raw = CopyModel("raw");
  WriteText(raw / "modules.json", R"([
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
])");
  Publish(raw, "raw");
  const std::vector<float> booted = BootAndEmbed("raw");
  EXPECT_LT(MaxAbsDiff(booted, DirectoryEmbed(raw)), 1e-5f);
  EXPECT_GT(MaxAbsDiff(booted, DirectoryEmbed(source_)), 1e-2f);
  ASSERT_GE(booted.size(), 384u);
  double norm = 0;
  for (size_t i = 0; i < 384; ++i) {
    norm += static_cast<double>(booted[i]) * static_cast<double>(booted[i]);
  }
  EXPECT_GT(std::abs(std::sqrt(norm) - 1.0), 1e-2);  // not L2-normalized
}

TEST_F(ModelBootPoolingTest, PoolingFileFailingItsHashIsRefused) {
  const fs::path model = CopyModel("tampered");
  Publish(model, "1");
  const fs::path stored = dir_ / "store" / kModelId / "1" / "1_Pooling" / "config.json";
  fs::permissions(stored, fs::perms::owner_write, fs::perm_options::add);
  WriteText(stored, R"({"word_embedding_dimension": 384, "pooling_mode_cls_token": true})");
  StaticDataKeySource keys(dek_.Clone());
  const BootRequest request{
      .model_id = kModelId, .version = "1", .owner_key = owner_->public_key(), .store = *store_};
  Result<BootedModel> booted = BootModel(request, keys, nullptr);
  ASSERT_THAT(booted, HasError(ErrorCode::kBootHashMismatch));
  EXPECT_THAT(booted.error().detail, ::testing::HasSubstr("1_Pooling/config.json"));
}

}  // namespace
}  // namespace eml::enclave

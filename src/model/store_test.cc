#include "model/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/package.h"
#include "testing/test_util.h"

namespace eml::model {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const fs::path model = dir_ / "model";
    fs::create_directories(model);
    std::ofstream(model / "config.json") << R"({"model_type":"bert"})";
    std::ofstream(model / "model.safetensors") << std::string(1000, 'w');
    PackOptions options;
    options.model_id = "m1";
    options.version = "v1";
    options.segment_size = 64;
    ASSERT_THAT(PackModel(model, dir_ / "pkg", dek_, signer_, options), IsOk());
    fs::create_directories(dir_ / "store");
    Result<std::unique_ptr<ModelStore>> store =
        OpenModelStore("file://" + (dir_ / "store").string());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  SecretBytes dek_ = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 3));
  crypto::Ed25519PrivateKey signer_ =
      *crypto::Ed25519PrivateKey::FromSeed(SecretBytes::CopyFrom(std::vector<uint8_t>(32, 9)));
  std::unique_ptr<ModelStore> store_;
};

TEST_F(StoreTest, UrlSchemes) {
  EXPECT_THAT(OpenModelStore("s3://"), HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(OpenModelStore("s3://Bad_Bucket/prefix"), HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(OpenModelStore("gs://bucket"), HasError(ErrorCode::kStoreUnsupportedScheme));
  EXPECT_THAT(OpenModelStore("/plain/path"), HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(OpenModelStore("file://relative/dir"), HasError(ErrorCode::kStoreBadUrl));
  EXPECT_THAT(OpenModelStore("file:///nonexistent/eml-store"), HasError(ErrorCode::kNotFound));
}

TEST_F(StoreTest, PublishThenVerifyTheStoredCopy) {
  ASSERT_THAT(store_->Publish(dir_ / "pkg"), IsOk());
  const fs::path stored = dir_ / "store" / "m1" / "v1";
  EXPECT_TRUE(fs::is_regular_file(stored / "model.safetensors.enc"));
  VerifyOptions options;
  options.dek = &dek_;
  EXPECT_THAT(VerifyPackage(stored, signer_.public_key(), options), IsOk());
  // No staging folder left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "store" / "m1")) {
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  EXPECT_THAT(store_->Publish(dir_ / "pkg"), HasError(ErrorCode::kStoreVersionExists));
}

TEST_F(StoreTest, FetchAndRanges) {
  ASSERT_THAT(store_->Publish(dir_ / "pkg"), IsOk());
  Result<std::vector<uint8_t>> manifest = store_->Fetch("m1", "v1", "manifest.json", 1 << 20);
  ASSERT_THAT(manifest, IsOk());
  EXPECT_EQ(*manifest, ::eml::testing::ReadFileBytes(dir_ / "pkg" / "manifest.json"));
  EXPECT_THAT(store_->Fetch("m1", "v1", "manifest.json", 10), HasError(ErrorCode::kLimitExceeded));
  // Segment 2 of the encrypted weights, as an enclave would read it.
  const std::vector<uint8_t> enc =
      ::eml::testing::ReadFileBytes(dir_ / "pkg" / "model.safetensors.enc");
  Result<std::vector<uint8_t>> range =
      store_->ReadRange("m1", "v1", "model.safetensors.enc", 68 + 2 * 80, 80);
  ASSERT_THAT(range, IsOk());
  EXPECT_EQ(*range, std::vector<uint8_t>(enc.begin() + 68 + 160, enc.begin() + 68 + 240));
  Result<uint64_t> size = store_->Size("m1", "v1", "model.safetensors.enc");
  ASSERT_THAT(size, IsOk());
  EXPECT_EQ(*size, enc.size());
  EXPECT_THAT(store_->ReadRange("m1", "v1", "model.safetensors.enc", enc.size() - 10, 11),
              HasError(ErrorCode::kStoreBadRange));
  EXPECT_THAT(store_->Fetch("m1", "v2", "manifest.json", 1 << 20),
              HasError(ErrorCode::kStoreNotFound));
  EXPECT_THAT(store_->Fetch("m1", "v1", "../../pkg/manifest.json", 1 << 20),
              HasError(ErrorCode::kManifestBadFileName));
  EXPECT_THAT(store_->Fetch("..", "v1", "manifest.json", 1 << 20),
              HasError(ErrorCode::kManifestBadField));
}

TEST_F(StoreTest, PublishIncompletePackageLeavesNothing) {
  fs::remove(dir_ / "pkg" / "config.json");
  EXPECT_THAT(store_->Publish(dir_ / "pkg"), HasError(ErrorCode::kPackageFileMissing));
  EXPECT_FALSE(fs::exists(dir_ / "store" / "m1" / "v1"));
  std::ofstream(dir_ / "pkg" / "config.json") << "{}";  // wrong size
  EXPECT_THAT(store_->Publish(dir_ / "pkg"), HasError(ErrorCode::kPackageSizeMismatch));
  EXPECT_FALSE(fs::exists(dir_ / "store" / "m1" / "v1"));
}

}  // namespace
}  // namespace eml::model

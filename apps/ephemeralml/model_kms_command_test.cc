// End-to-end tests of `ephemeralml model pack --kms-key ARN` against a moto KMS server
// (keys/kms/testing/moto_kms.h): the data key comes from GenerateDataKey, the package carries it
// wrapped in kms-key.json (listed in the signed manifest), no DEK file is written, and the
// wrapped key, once KMS decrypts it, opens the package.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "ephemeralml/testing/cli_runner.h"
#include "keys/kms/key_file.h"
#include "keys/kms/kms_client.h"
#include "keys/kms/testing/moto_kms.h"
#include "model/manifest.h"
#include "model/model_directory.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class ModelKmsCommandTest : public CliTest {
 protected:
  ModelKmsCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-model-kms-cli") {}

  // One moto server and one KMS-packed package for the suite (packing takes seconds).
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/eml-model-kms-suite-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    suite_dir_ = new fs::path(tmpl);
    auto server = keys::kms::testing::MotoKmsServer::Start();
    if (!server.has_value()) {
      startup_error_ = new std::string(ToString(server.error()));
      return;
    }
    server_ = std::move(server).value().release();
    // The binary under test inherits these (moto accepts any credentials).
    ::setenv("EPHEMERALML_KMS_ENDPOINT", server_->endpoint().c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ::setenv("AWS_REGION", "us-east-1", 1);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete startup_error_;
    startup_error_ = nullptr;
    fs::remove_all(*suite_dir_);
    delete suite_dir_;
  }

  void SetUp() override {
    CliTest::SetUp();
    if (startup_error_ != nullptr) {
      FAIL() << *startup_error_;
    }
    if (!fs::is_regular_file(model::DefaultModelDirectoryPath() / "model.safetensors")) {
      GTEST_SKIP() << "model not fetched (scripts/fetch-model)";
    }
    if (!fs::exists(Pkg())) {
      auto client = Client();
      ASSERT_NE(client, nullptr);
      auto arn = client->CreateKey("eml model kms test");
      ASSERT_TRUE(arn.has_value()) << ToString(arn.error());
      *key_arn_ = *arn;
      const RunResult key = Run({"keys", "gen-signing-key", SigningKey()});
      ASSERT_EQ(key.exit_code, 0) << key.err;
      *signer_pub_ = key.out.substr(0, 64);
      const RunResult r = Run({"model", "pack", model::DefaultModelDirectoryPath().string(), "--id",
                               "minilm-l6-v2", "--version", "1.0.0", "--signing-key", SigningKey(),
                               "--out", Pkg().string(), "--kms-key", *key_arn_});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(r.out.find("key_id kms:" + *key_arn_), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("no DEK file written"), std::string::npos) << r.out;
    }
  }

  static std::unique_ptr<keys::kms::KmsClient> Client() {
    auto options = keys::kms::OptionsFromEnvironment("alias/unused");
    EXPECT_TRUE(options.has_value());
    if (!options.has_value()) {
      return nullptr;
    }
    auto client = keys::kms::KmsClient::Create(*std::move(options));
    EXPECT_TRUE(client.has_value());
    return client.has_value() ? *std::move(client) : nullptr;
  }

  static fs::path Pkg() { return *suite_dir_ / "pkg"; }
  static std::string SigningKey() { return (*suite_dir_ / "signing.key").string(); }

  static fs::path* suite_dir_;
  static std::string* startup_error_;
  static keys::kms::testing::MotoKmsServer* server_;
  static std::string* key_arn_;
  static std::string* signer_pub_;
};

fs::path* ModelKmsCommandTest::suite_dir_ = nullptr;
std::string* ModelKmsCommandTest::startup_error_ = nullptr;
keys::kms::testing::MotoKmsServer* ModelKmsCommandTest::server_ = nullptr;
std::string* ModelKmsCommandTest::key_arn_ = new std::string();
std::string* ModelKmsCommandTest::signer_pub_ = new std::string();

TEST_F(ModelKmsCommandTest, PackageCarriesTheWrappedKeyAndNoDek) {
  EXPECT_FALSE(fs::exists(Pkg().string() + ".dek"));
  auto file = keys::kms::ParseKmsKeyFile(::eml::testing::ReadFileBytes(Pkg() / "kms-key.json"));
  ASSERT_TRUE(file.has_value()) << ToString(file.error());
  EXPECT_EQ(file->key_arn, *key_arn_);
  auto manifest = model::ParseManifest(::eml::testing::ReadFileBytes(Pkg() / "manifest.json"));
  ASSERT_TRUE(manifest.has_value()) << ToString(manifest.error());
  EXPECT_EQ(manifest->key_id, "kms:" + *key_arn_);
  bool listed = false;
  for (const model::ManifestFile& f : manifest->files) {
    if (f.name == "kms-key.json") {
      listed = true;
      EXPECT_EQ(f.role, model::kRoleKeyWrap);
      EXPECT_FALSE(f.encryption.has_value());
    }
  }
  EXPECT_TRUE(listed);
  const RunResult r = Run({"model", "verify", Pkg().string(), "--signer-pub", *signer_pub_});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("VERIFIED: 14 files, 0 decrypted"), std::string::npos) << r.out;
}

// KMS Decrypt of the stored blob gives the key the package was encrypted with.
TEST_F(ModelKmsCommandTest, WrappedKeyOpensThePackage) {
  auto file = keys::kms::ParseKmsKeyFile(::eml::testing::ReadFileBytes(Pkg() / "kms-key.json"));
  ASSERT_TRUE(file.has_value());
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto key = client->Decrypt(file->ciphertext_blob, file->key_arn);
  ASSERT_TRUE(key.has_value()) << ToString(key.error());
  const auto plain = key->plaintext.Reveal(InsecureSecretAccess::Get());
  {
    std::ofstream out(dir_ / "unwrapped.dek", std::ios::binary);
    out.write(std::string(plain.begin(), plain.end()).data(),
              static_cast<std::streamsize>(plain.size()));
  }
  RunResult r = Run({"model", "verify", Pkg().string(), "--signer-pub", *signer_pub_, "--dek-file",
                     (dir_ / "unwrapped.dek").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("VERIFIED: 14 files, 3 decrypted"), std::string::npos) << r.out;
  // Another KMS data key does not open it.
  auto other = client->GenerateDataKey(*key_arn_);
  ASSERT_TRUE(other.has_value());
  const auto other_plain = other->plaintext.Reveal(InsecureSecretAccess::Get());
  {
    std::ofstream out(dir_ / "other.dek", std::ios::binary);
    out.write(std::string(other_plain.begin(), other_plain.end()).data(),
              static_cast<std::streamsize>(other_plain.size()));
  }
  r = Run({"model", "verify", Pkg().string(), "--signer-pub", *signer_pub_, "--dek-file",
           (dir_ / "other.dek").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("STREAM_WRONG_KEY"), std::string::npos) << r.err;
}

TEST_F(ModelKmsCommandTest, InspectShowsTheKmsKey) {
  RunResult r = Run({"model", "inspect", Pkg().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kms_key            " + *key_arn_), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("key-wrap"), std::string::npos) << r.out;
  r = Run({"model", "inspect", Pkg().string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["kms_key_arn"], *key_arn_);
}

TEST_F(ModelKmsCommandTest, PublishCopiesTheKeyFile) {
  fs::create_directories(dir_ / "store");
  const RunResult r = Run({"model", "publish", Pkg().string(), "--store",
                           "file://" + (dir_ / "store").string(), "--signer-pub", *signer_pub_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      ::eml::testing::ReadFileBytes(dir_ / "store" / "minilm-l6-v2" / "1.0.0" / "kms-key.json"),
      ::eml::testing::ReadFileBytes(Pkg() / "kms-key.json"));
}

TEST_F(ModelKmsCommandTest, UsageErrors) {
  std::vector<std::string> base = {"model", "pack", model::DefaultModelDirectoryPath().string()};
  base.insert(base.end(), {"--id", "m", "--version", "1", "--signing-key", SigningKey()});
  base.insert(base.end(), {"--out", (dir_ / "out").string()});
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  };
  RunResult r = with({"--kms-key", *key_arn_, "--dek-out", (dir_ / "x.dek").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;
  r = with({"--kms-key", *key_arn_, "--key-id", "k1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;
  r = with({"--kms-key", "alias/models"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;
  r = with(
      {"--kms-key", "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("KMS_NOT_FOUND"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  EXPECT_FALSE(fs::exists(dir_ / "x.dek"));
}

}  // namespace
}  // namespace eml::apps

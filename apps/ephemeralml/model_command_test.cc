// End-to-end tests of `ephemeralml model ...` and `ephemeralml keys gen-signing-key`: packs the
// real all-MiniLM-L6-v2 directory (scripts/fetch-model) once, then verifies, inspects, publishes
// and tampers with copies of the package, checking exit codes and the error code named on stderr.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "ephemeralml/testing/cli_runner.h"
#include "model/model_directory.h"
#include "model/package.h"
#include "model/safetensors.h"
#include "testing/test_util.h"

namespace eml::apps {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr size_t kHeader = 68;
constexpr size_t kSegment = (size_t{1} << 20) + 16;

class ModelCommandTest : public CliTest {
 protected:
  ModelCommandTest() : CliTest(EML_EPHEMERALML_PATH, "eml-model-cli") {}

  // The package is built once for the whole suite (packing 200 MB of weights takes seconds).
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/eml-model-cli-suite-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    suite_dir_ = new fs::path(tmpl);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*suite_dir_);
    delete suite_dir_;
  }

  void SetUp() override {
    CliTest::SetUp();
    if (!fs::is_regular_file(model::DefaultModelDirectoryPath() / "model.safetensors")) {
      GTEST_SKIP() << "model not fetched (scripts/fetch-model)";
    }
    if (!fs::exists(Pkg())) {
      const RunResult key =
          Run({"keys", "gen-signing-key", (*suite_dir_ / "signing.key").string()});
      ASSERT_EQ(key.exit_code, 0) << key.err;
      std::ofstream(*suite_dir_ / "signing.pub") << key.out.substr(0, 64);
      const RunResult r = Run({"model", "pack", model::DefaultModelDirectoryPath().string(), "--id",
                               "minilm-l6-v2", "--version", "1.0.0", "--signing-key",
                               (*suite_dir_ / "signing.key").string(), "--out", Pkg().string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_TRUE(r.err.empty()) << "no progress bar when stderr is not a terminal: " << r.err;
      EXPECT_NE(r.out.find("packed minilm-l6-v2 1.0.0"), std::string::npos) << r.out;
    }
  }

  static fs::path Pkg() { return *suite_dir_ / "pkg"; }
  static fs::path Dek() { return *suite_dir_ / "pkg.dek"; }
  static std::string SignerPub() {
    return ::eml::testing::ReadFileText(*suite_dir_ / "signing.pub");
  }

  // Copy makes a private copy of the package: hard links, except `real_copy`, which is copied so
  // it can be changed without touching the shared package.
  fs::path Copy(const std::string& real_copy) {
    const fs::path dst = dir_ / "copy";
    for (const auto& entry : fs::recursive_directory_iterator(Pkg())) {
      const fs::path rel = fs::relative(entry.path(), Pkg());
      if (entry.is_directory()) {
        fs::create_directories(dst / rel);
      } else {
        fs::create_directories((dst / rel).parent_path());
        if (rel.generic_string() == real_copy) {
          fs::copy_file(entry.path(), dst / rel);
        } else {
          fs::create_hard_link(entry.path(), dst / rel);
        }
      }
    }
    return dst;
  }

  RunResult Verify(const fs::path& pkg, bool with_dek) {
    std::vector<std::string> args = {"model", "verify", pkg.string(), "--signer-pub", SignerPub()};
    if (with_dek) {
      args.insert(args.end(), {"--dek-file", Dek().string()});
    }
    return Run(args);
  }

  static void ExpectNotVerified(const RunResult& r, const std::string& code) {
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(code), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }

  static fs::path* suite_dir_;
};

fs::path* ModelCommandTest::suite_dir_ = nullptr;

void EditFile(const fs::path& path, const std::function<void(std::vector<uint8_t>&)>& edit) {
  std::vector<uint8_t> bytes = ::eml::testing::ReadFileBytes(path);
  edit(bytes);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(std::string(bytes.begin(), bytes.end()).data(),
            static_cast<std::streamsize>(bytes.size()));
}

TEST_F(ModelCommandTest, GenSigningKey) {
  const fs::path key = dir_ / "k";
  const RunResult r = Run({"keys", "gen-signing-key", key.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 65u);
  EXPECT_TRUE(HexDecodeExact(r.out.substr(0, 64), 32).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(Run({"keys", "gen-signing-key", key.string()}).exit_code, 2);  // never overwrites
}

TEST_F(ModelCommandTest, PackedLayoutAndDek) {
  for (const char* name :
       {"manifest.json", "manifest.sig", "model.safetensors.enc", "model.onnx.enc", "config.json",
        "tokenizer.json", "vocab.txt", "1_Pooling/config.json"}) {
    EXPECT_TRUE(fs::is_regular_file(Pkg() / name)) << name;
  }
  EXPECT_FALSE(fs::exists(Pkg() / "model.safetensors"));
  struct stat st {};
  ASSERT_EQ(::stat(Dek().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  // Nothing in the package is the DEK.
  EXPECT_FALSE(fs::exists(Pkg() / "pkg.dek"));
}

TEST_F(ModelCommandTest, VerifyWithAndWithoutDek) {
  RunResult r = Verify(Pkg(), false);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("VERIFIED: 13 files, 0 decrypted"), std::string::npos) << r.out;
  r = Verify(Pkg(), true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("VERIFIED: 13 files, 3 decrypted"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(ModelCommandTest, DecryptedWeightsLoadFromMemory) {
  const std::vector<uint8_t> seed_hex = ::eml::testing::ReadFileBytes(Dek());
  const SecretBytes dek = SecretBytes::CopyFrom(seed_hex);
  Result<crypto::Ed25519PublicKey> signer =
      crypto::Ed25519PublicKey::FromBytes(*HexDecodeExact(SignerPub(), 32));
  ASSERT_TRUE(signer.has_value());
  Result<model::VerifiedManifest> manifest = model::LoadVerifiedManifest(Pkg(), *signer);
  ASSERT_TRUE(manifest.has_value()) << ToString(manifest.error());
  Result<SecretBytes> weights = model::ReadPackageFile(Pkg(), *manifest, "model.safetensors", &dek);
  ASSERT_TRUE(weights.has_value()) << ToString(weights.error());
  const std::span<const uint8_t> plain = weights->Reveal(InsecureSecretAccess::Get());
  const std::vector<uint8_t> original =
      ::eml::testing::ReadFileBytes(model::DefaultModelDirectoryPath() / "model.safetensors");
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), original.begin(), original.end()));
  Result<model::SafetensorsFile> st =
      model::SafetensorsFile::FromBuffer(std::vector<uint8_t>(plain.begin(), plain.end()));
  ASSERT_TRUE(st.has_value()) << ToString(st.error());
  EXPECT_EQ(manifest->manifest().model_hash_scheme, "sha256-single");
}

TEST_F(ModelCommandTest, Inspect) {
  RunResult r = Run({"model", "inspect", Pkg().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("UNVERIFIED"), std::string::npos);
  EXPECT_NE(r.out.find("minilm-l6-v2"), std::string::npos);
  EXPECT_NE(r.out.find("model.safetensors  [encrypted, 1048576-byte segments]"), std::string::npos)
      << r.out;
  r = Run({"model", "inspect", Pkg().string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_FALSE(j["verified"].get<bool>());
  EXPECT_EQ(j["manifest"]["architecture"], "bert");
  EXPECT_EQ(j["manifest"]["format"], "safetensors");
  EXPECT_EQ(j["manifest"]["files"].size(), 13u);
  EXPECT_EQ(Run({"model", "inspect", Pkg().string(), "--format", "xml"}).exit_code, 2);
}

TEST_F(ModelCommandTest, FlippedByteInEncryptedSegment) {
  const fs::path pkg = Copy("model.safetensors.enc");
  EditFile(pkg / "model.safetensors.enc",
           [](std::vector<uint8_t>& b) { b[kHeader + 20 * kSegment + 7] ^= 1; });
  ExpectNotVerified(Verify(pkg, true), "STREAM_SEGMENT_AUTH_FAILED");
  ExpectNotVerified(Verify(pkg, false), "PACKAGE_HASH_MISMATCH");
}

TEST_F(ModelCommandTest, TruncatedEncryptedFile) {
  const fs::path pkg = Copy("model.safetensors.enc");
  EditFile(pkg / "model.safetensors.enc",
           [](std::vector<uint8_t>& b) { b.resize(kHeader + 40 * kSegment); });
  ExpectNotVerified(Verify(pkg, true), "STREAM_TRUNCATED");
  ExpectNotVerified(Verify(pkg, false), "PACKAGE_SIZE_MISMATCH");
}

TEST_F(ModelCommandTest, SwappedSegments) {
  const fs::path pkg = Copy("model.safetensors.enc");
  EditFile(pkg / "model.safetensors.enc", [](std::vector<uint8_t>& b) {
    const auto at = [&](size_t i) { return b.begin() + static_cast<long>(kHeader + i * kSegment); };
    std::swap_ranges(at(5), at(6), at(6));
  });
  ExpectNotVerified(Verify(pkg, true), "STREAM_SEGMENT_REORDERED");
}

TEST_F(ModelCommandTest, EditedManifest) {
  const fs::path pkg = Copy("manifest.json");
  EditFile(pkg / "manifest.json", [](std::vector<uint8_t>& b) {
    const std::string text(b.begin(), b.end());
    b[text.find("\"version\":\"1.0.0\"") + 11] = '9';
  });
  ExpectNotVerified(Verify(pkg, false), "MANIFEST_SIGNATURE_INVALID");
}

TEST_F(ModelCommandTest, WrongSignerOrDek) {
  const RunResult other = Run({"keys", "gen-signing-key", (dir_ / "other.key").string()});
  ASSERT_EQ(other.exit_code, 0);
  ExpectNotVerified(
      Run({"model", "verify", Pkg().string(), "--signer-pub", other.out.substr(0, 64)}),
      "MANIFEST_SIGNATURE_INVALID");
  std::ofstream(dir_ / "wrong.dek", std::ios::binary) << std::string(32, 'x');
  ExpectNotVerified(Run({"model", "verify", Pkg().string(), "--signer-pub", SignerPub(),
                         "--dek-file", (dir_ / "wrong.dek").string()}),
                    "STREAM_WRONG_KEY");
}

TEST_F(ModelCommandTest, PublishToFileStore) {
  fs::create_directories(dir_ / "store");
  const std::string url = "file://" + (dir_ / "store").string();
  RunResult r = Run({"model", "publish", Pkg().string(), "--store", url});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path stored = dir_ / "store" / "minilm-l6-v2" / "1.0.0";
  EXPECT_EQ(Verify(stored, false).exit_code, 0);
  r = Run({"model", "publish", Pkg().string(), "--store", url});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("STORE_VERSION_EXISTS"), std::string::npos) << r.err;
  r = Run({"model", "publish", Pkg().string(), "--store", "gs://bucket/models"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("STORE_UNSUPPORTED_SCHEME"), std::string::npos) << r.err;
  r = Run({"model", "publish", Pkg().string(), "--store", "s3://Not_A_Bucket/models"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("STORE_BAD_URL"), std::string::npos) << r.err;
}

// publish verifies first: a tampered package is refused (exit 1) and nothing reaches the store.
TEST_F(ModelCommandTest, PublishRefusesTamperedWeights) {
  const fs::path pkg = Copy("model.safetensors.enc");
  EditFile(pkg / "model.safetensors.enc",
           [](std::vector<uint8_t>& b) { b[kHeader + 3 * kSegment + 11] ^= 1; });
  fs::create_directories(dir_ / "store");
  const RunResult r =
      Run({"model", "publish", pkg.string(), "--store", "file://" + (dir_ / "store").string()});
  ExpectNotVerified(r, "PACKAGE_HASH_MISMATCH");
  EXPECT_TRUE(fs::is_empty(dir_ / "store"));
}

TEST_F(ModelCommandTest, PublishRefusesEditedManifestAndOtherSigner) {
  const fs::path pkg = Copy("manifest.json");
  EditFile(pkg / "manifest.json", [](std::vector<uint8_t>& b) {
    const std::string text(b.begin(), b.end());
    b[text.find("\"version\":\"1.0.0\"") + 11] = '9';
  });
  fs::create_directories(dir_ / "store");
  const std::string url = "file://" + (dir_ / "store").string();
  ExpectNotVerified(Run({"model", "publish", pkg.string(), "--store", url}),
                    "MANIFEST_SIGNATURE_INVALID");
  // The untouched package, but pinned to another signer.
  const RunResult other = Run({"keys", "gen-signing-key", (dir_ / "other.key").string()});
  ASSERT_EQ(other.exit_code, 0);
  ExpectNotVerified(Run({"model", "publish", Pkg().string(), "--store", url, "--signer-pub",
                         other.out.substr(0, 64)}),
                    "MANIFEST_SIGNATURE_INVALID");
  EXPECT_TRUE(fs::is_empty(dir_ / "store"));
  // Pinned to the right signer it goes through.
  const RunResult r =
      Run({"model", "publish", Pkg().string(), "--store", url, "--signer-pub", SignerPub()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "store" / "minilm-l6-v2" / "1.0.0" / "manifest.json"));
}

TEST_F(ModelCommandTest, UsageErrors) {
  // Existing output, and the DEK file of a failed pack is not left behind.
  RunResult r = Run({"model", "pack", model::DefaultModelDirectoryPath().string(), "--id", "m",
                     "--version", "1", "--signing-key", (*suite_dir_ / "signing.key").string(),
                     "--out", Pkg().string(), "--dek-out", (dir_ / "x.dek").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("PACKAGE_OUTPUT_EXISTS"), std::string::npos) << r.err;
  r = Run({"model", "pack", (dir_ / "no-such-dir").string(), "--id", "m", "--version", "1",
           "--signing-key", (*suite_dir_ / "signing.key").string(), "--out",
           (dir_ / "out").string(), "--dek-out", (dir_ / "y.dek").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("PACKAGE_BAD_MODEL_DIR"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "y.dek"));
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  EXPECT_EQ(Run({"model", "verify", Pkg().string()}).exit_code, 2);  // --signer-pub missing
  EXPECT_EQ(Run({"model", "verify", Pkg().string(), "--signer-pub", "abcd"}).exit_code, 2);
  EXPECT_EQ(
      Run({"model", "verify", (dir_ / "none").string(), "--signer-pub", SignerPub()}).exit_code, 2);
}

}  // namespace
}  // namespace eml::apps

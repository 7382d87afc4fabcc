#include "model/package.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

namespace eml::model {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(i * 31 + seed);
  }
  return out;
}

void WriteFile(const fs::path& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(std::string(bytes.begin(), bytes.end()).data(),
          static_cast<std::streamsize>(bytes.size()));
}
void WriteText(const fs::path& path, const std::string& text) {
  WriteFile(path, std::vector<uint8_t>(text.begin(), text.end()));
}
std::vector<uint8_t> ReadAll(const fs::path& path) { return ::eml::testing::ReadFileBytes(path); }

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-package-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    model_ = dir_ / "model";
    WriteText(model_ / "config.json", R"({"model_type": "bert", "hidden_size": 8})");
    weights_ = Pattern(1000, 1);
    WriteFile(model_ / "model.safetensors", weights_);
    WriteFile(model_ / "model.onnx", Pattern(300, 2));
    WriteText(model_ / "tokenizer.json", R"({"model": {}})");
    WriteText(model_ / "1_Pooling/config.json", R"({"pooling_mode_mean_tokens": true})");
    WriteText(model_ / "README.md", "# test model\n");
    WriteText(model_ / ".gitattributes", "*.bin filter=lfs\n");
    dek_ = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x42));
    options_.model_id = "test-model";
    options_.version = "1.0";
    options_.segment_size = 64;
    options_.created_at_unix = 1795000000;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<Manifest> Pack(const fs::path& out) {
    return PackModel(model_, out, dek_, signer_, options_);
  }
  Result<PackageReport> Verify(const fs::path& pkg, const SecretBytes* dek) {
    VerifyOptions options;
    options.dek = dek;
    return VerifyPackage(pkg, signer_.public_key(), options);
  }
  // APacked returns a packed package directory (packing it the first time).
  fs::path Packed() {
    const fs::path pkg = dir_ / "pkg";
    if (!fs::exists(pkg)) {
      EXPECT_THAT(Pack(pkg), IsOk());
    }
    return pkg;
  }

  fs::path dir_;
  fs::path model_;
  std::vector<uint8_t> weights_;
  SecretBytes dek_;
  crypto::Ed25519PrivateKey signer_ =
      *crypto::Ed25519PrivateKey::FromSeed(SecretBytes::CopyFrom(std::vector<uint8_t>(32, 7)));
  PackOptions options_;
};

TEST_F(PackageTest, PackWritesLayoutAndManifest) {
  Result<Manifest> m = Pack(dir_ / "pkg");
  ASSERT_THAT(m, IsOk());
  const fs::path pkg = dir_ / "pkg";
  for (const char* name :
       {"manifest.json", "manifest.sig", "config.json", "model.safetensors.enc", "model.onnx.enc",
        "tokenizer.json", "1_Pooling/config.json", "README.md"}) {
    EXPECT_TRUE(fs::is_regular_file(pkg / name)) << name;
  }
  EXPECT_FALSE(fs::exists(pkg / "model.safetensors"));
  EXPECT_FALSE(fs::exists(pkg / ".gitattributes"));
  EXPECT_FALSE(fs::exists(dir_ / ("pkg.tmp-" + std::to_string(::getpid()))));
  EXPECT_EQ(m->architecture, "bert");
  EXPECT_EQ(m->format, "safetensors");
  EXPECT_EQ(m->created_at, "2026-11-18T11:06:40Z");
  EXPECT_EQ(m->model_hash_scheme, "sha256-single");
  EXPECT_EQ(m->model_hash, crypto::Sha256(weights_));
  EXPECT_EQ(m->key_id.rfind("dek-", 0), 0u);
  ASSERT_EQ(m->files.size(), 6u);
  const std::vector<std::pair<std::string, std::string>> roles = {
      {"1_Pooling/config.json", "config"}, {"README.md", "other"},
      {"config.json", "config"},           {"model.onnx", "other"},
      {"model.safetensors", "weights"},    {"tokenizer.json", "tokenizer"}};
  for (size_t i = 0; i < roles.size(); ++i) {
    EXPECT_EQ(m->files[i].name, roles[i].first);
    EXPECT_EQ(m->files[i].role, roles[i].second);
    EXPECT_EQ(m->files[i].encryption.has_value(),
              roles[i].first == "model.onnx" || roles[i].first == "model.safetensors");
  }
  // The manifest on disk is the canonical serialization and verifies.
  Result<VerifiedManifest> v = LoadVerifiedManifest(pkg, signer_.public_key());
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->bytes(), ReadAll(pkg / "manifest.json"));
}

// The Hugging Face cache keeps a model as snapshots/<rev>/<name> symlinks into blobs/<hash>:
// packing the snapshot folder packs the files under their names in the snapshot.
TEST_F(PackageTest, PacksAHuggingFaceCacheSnapshotOfSymlinks) {
  const fs::path cache = dir_ / "hf-cache";
  const fs::path snapshot = cache / "snapshots" / "0123abcd";
  int blob = 0;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(model_)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    const fs::path name = entry.path().lexically_relative(model_);
    const fs::path target = cache / "blobs" / ("blob" + std::to_string(blob++));
    fs::create_directories(target.parent_path());
    fs::copy_file(entry.path(), target);
    fs::create_directories((snapshot / name).parent_path());
    fs::create_symlink(fs::relative(target, (snapshot / name).parent_path()), snapshot / name);
  }
  Result<Manifest> from_links = PackModel(snapshot, dir_ / "pkg-links", dek_, signer_, options_);
  ASSERT_THAT(from_links, IsOk());
  Result<Manifest> from_files = Pack(dir_ / "pkg-files");
  ASSERT_THAT(from_files, IsOk());
  ASSERT_EQ(from_links->files.size(), from_files->files.size());
  for (size_t i = 0; i < from_files->files.size(); ++i) {
    EXPECT_EQ(from_links->files[i].name, from_files->files[i].name);
    EXPECT_EQ(from_links->files[i].sha256, from_files->files[i].sha256);
  }
  EXPECT_EQ(from_links->model_hash, from_files->model_hash);
  EXPECT_THAT(Verify(dir_ / "pkg-links", &dek_), IsOk());
}

TEST_F(PackageTest, VerifyWithAndWithoutDek) {
  const fs::path pkg = Packed();
  Result<PackageReport> r = Verify(pkg, nullptr);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->files_checked, 6u);
  EXPECT_EQ(r->files_decrypted, 0u);
  r = Verify(pkg, &dek_);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->files_decrypted, 2u);
}

TEST_F(PackageTest, ReadPackageFileDecryptsIntoMemory) {
  const fs::path pkg = Packed();
  Result<VerifiedManifest> v = LoadVerifiedManifest(pkg, signer_.public_key());
  ASSERT_THAT(v, IsOk());
  Result<SecretBytes> w = ReadPackageFile(pkg, *v, "model.safetensors", &dek_);
  ASSERT_THAT(w, IsOk());
  const std::span<const uint8_t> bytes = w->Reveal(InsecureSecretAccess::Get());
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), weights_);
  Result<SecretBytes> c = ReadPackageFile(pkg, *v, "config.json", nullptr);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->size(), fs::file_size(model_ / "config.json"));
  EXPECT_THAT(ReadPackageFile(pkg, *v, "model.safetensors", nullptr),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(ReadPackageFile(pkg, *v, "nope.bin", &dek_), HasError(ErrorCode::kNotFound));
  const SecretBytes wrong = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 1));
  EXPECT_THAT(ReadPackageFile(pkg, *v, "model.safetensors", &wrong),
              HasError(ErrorCode::kStreamWrongKey));
}

TEST_F(PackageTest, EncryptAllAndProgress) {
  options_.encrypt_all = true;
  uint64_t last_total = 0;
  size_t calls = 0;
  options_.progress = [&](const PackageProgress& p) {
    EXPECT_GE(p.total_done, last_total);
    last_total = p.total_done;
    ++calls;
  };
  Result<Manifest> m = Pack(dir_ / "all");
  ASSERT_THAT(m, IsOk());
  for (const ManifestFile& f : m->files) {
    EXPECT_TRUE(f.encryption.has_value()) << f.name;
    EXPECT_TRUE(fs::exists(dir_ / "all" / (f.name + ".enc")));
  }
  uint64_t total = 0;
  for (const ManifestFile& f : m->files) {
    total += f.size;
  }
  EXPECT_EQ(last_total, total);
  EXPECT_GT(calls, 6u);
  EXPECT_THAT(Verify(dir_ / "all", &dek_), IsOk());
}

TEST_F(PackageTest, ShardedWeightsUseConcatHash) {
  fs::remove(model_ / "model.safetensors");
  const std::vector<uint8_t> a = Pattern(500, 3);
  const std::vector<uint8_t> b = Pattern(700, 4);
  WriteFile(model_ / "model-00002-of-00002.safetensors", b);
  WriteFile(model_ / "model-00001-of-00002.safetensors", a);
  Result<Manifest> m = Pack(dir_ / "sharded");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->model_hash_scheme, "sha256-concat");
  std::vector<uint8_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(m->model_hash, crypto::Sha256(both));
  EXPECT_THAT(Verify(dir_ / "sharded", &dek_), IsOk());
}

TEST_F(PackageTest, PackRefusesExistingOutput) {
  fs::create_directories(dir_ / "exists");
  EXPECT_THAT(Pack(dir_ / "exists"), HasError(ErrorCode::kPackageOutputExists));
}

TEST_F(PackageTest, PackBadModelDir) {
  EXPECT_THAT(PackModel(dir_ / "absent", dir_ / "o1", dek_, signer_, options_),
              HasError(ErrorCode::kPackageBadModelDir));
  fs::remove(model_ / "model.safetensors");
  EXPECT_THAT(Pack(dir_ / "o2"), HasError(ErrorCode::kPackageBadModelDir));  // no weights
  WriteFile(model_ / "model.safetensors", weights_);
  WriteText(model_ / "bad name.txt", "x");
  EXPECT_THAT(Pack(dir_ / "o3"), HasError(ErrorCode::kPackageBadModelDir));
  fs::remove(model_ / "bad name.txt");
  WriteText(model_ / "config.json", R"({"hidden_size": 8})");  // no model_type
  EXPECT_THAT(Pack(dir_ / "o4"), HasError(ErrorCode::kPackageBadModelDir));
  options_.architecture = "bert";
  EXPECT_THAT(Pack(dir_ / "o4"), IsOk());
}

TEST_F(PackageTest, FailedPackLeavesNothing) {
  const SecretBytes short_dek = SecretBytes::CopyFrom(std::vector<uint8_t>(16, 1));
  EXPECT_THAT(PackModel(model_, dir_ / "out", short_dek, signer_, options_),
              HasError(ErrorCode::kCryptoBadKeyLength));
  options_.version = "../escape";
  EXPECT_THAT(Pack(dir_ / "out"), HasError(ErrorCode::kManifestBadField));
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  EXPECT_FALSE(fs::exists(dir_ / ("out.tmp-" + std::to_string(::getpid()))));
}

TEST_F(PackageTest, TamperedPackages) {
  const fs::path pkg = Packed();
  auto fresh = [&](const std::string& name) {
    const fs::path copy = dir_ / name;
    fs::copy(pkg, copy, fs::copy_options::recursive);
    return copy;
  };
  const SecretBytes wrong = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 1));
  {  // A flipped byte in segment 3 of the encrypted weights.
    const fs::path p = fresh("flip");
    std::vector<uint8_t> enc = ReadAll(p / "model.safetensors.enc");
    enc[68 + 3 * 80 + 5] ^= 1;
    WriteFile(p / "model.safetensors.enc", enc);
    EXPECT_THAT(Verify(p, &dek_), HasError(ErrorCode::kStreamSegmentAuthFailed));
    EXPECT_THAT(Verify(p, nullptr), HasError(ErrorCode::kPackageHashMismatch));
  }
  {  // Truncated at a segment boundary.
    const fs::path p = fresh("trunc");
    std::vector<uint8_t> enc = ReadAll(p / "model.safetensors.enc");
    enc.resize(68 + 4 * 80);
    WriteFile(p / "model.safetensors.enc", enc);
    EXPECT_THAT(Verify(p, &dek_), HasError(ErrorCode::kStreamTruncated));
    EXPECT_THAT(Verify(p, nullptr), HasError(ErrorCode::kPackageSizeMismatch));
  }
  {  // Extended.
    const fs::path p = fresh("extend");
    std::vector<uint8_t> enc = ReadAll(p / "model.safetensors.enc");
    enc.push_back(0);
    WriteFile(p / "model.safetensors.enc", enc);
    EXPECT_THAT(Verify(p, &dek_), HasError(ErrorCode::kStreamTrailingData));
  }
  {  // The encrypted files of the package swapped for another pack's (same DEK, other file id).
    const fs::path p = fresh("foreign");
    ASSERT_THAT(Pack(dir_ / "other"), IsOk());
    fs::copy_file(dir_ / "other" / "model.safetensors.enc", p / "model.safetensors.enc",
                  fs::copy_options::overwrite_existing);
    EXPECT_THAT(Verify(p, &dek_), HasError(ErrorCode::kStreamHeaderAuthFailed));
  }
  {  // Wrong DEK.
    EXPECT_THAT(Verify(pkg, &wrong), HasError(ErrorCode::kStreamWrongKey));
  }
  {  // Edited manifest.
    const fs::path p = fresh("edit");
    std::vector<uint8_t> json = ReadAll(p / "manifest.json");
    const std::string text(json.begin(), json.end());
    json[text.find("\"version\":\"1.0\"") + 11] = '2';
    WriteFile(p / "manifest.json", json);
    EXPECT_THAT(Verify(p, nullptr), HasError(ErrorCode::kManifestSignatureInvalid));
  }
  {  // A plain file changed (same size) and resized.
    const fs::path p = fresh("plain");
    WriteText(p / "README.md", "# TEST model\n");
    EXPECT_THAT(Verify(p, nullptr), HasError(ErrorCode::kPackageHashMismatch));
    WriteText(p / "README.md", "# test model!\n");
    EXPECT_THAT(Verify(p, nullptr), HasError(ErrorCode::kPackageSizeMismatch));
  }
  {  // Missing and unlisted files.
    const fs::path p = fresh("missing");
    fs::remove(p / "tokenizer.json");
    EXPECT_THAT(Verify(p, nullptr), HasError(ErrorCode::kPackageFileMissing));
    const fs::path q = fresh("unlisted");
    WriteText(q / "extra.txt", "x");
    EXPECT_THAT(Verify(q, nullptr), HasError(ErrorCode::kPackageUnlistedFile));
  }
  {  // Another signer.
    const crypto::Ed25519PrivateKey other =
        *crypto::Ed25519PrivateKey::FromSeed(SecretBytes::CopyFrom(std::vector<uint8_t>(32, 8)));
    EXPECT_THAT(VerifyPackage(pkg, other.public_key()),
                HasError(ErrorCode::kManifestSignatureInvalid));
  }
}

TEST_F(PackageTest, ExtraFilesAreListedAndVerified) {
  const std::string text = "{\"wrapped\":true}\n";
  options_.extra_files = {PackedExtraFile{"kms-key.json", std::string(kRoleKeyWrap),
                                          std::vector<uint8_t>(text.begin(), text.end())}};
  Result<Manifest> m = Pack(dir_ / "pkg");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(ReadAll(dir_ / "pkg" / "kms-key.json"), std::vector<uint8_t>(text.begin(), text.end()));
  ASSERT_EQ(m->files.size(), 7u);
  for (size_t i = 1; i < m->files.size(); ++i) {
    EXPECT_LT(m->files[i - 1].name, m->files[i].name);
  }
  const ManifestFile* wrap = nullptr;
  for (const ManifestFile& f : m->files) {
    wrap = f.name == "kms-key.json" ? &f : wrap;
  }
  ASSERT_NE(wrap, nullptr);
  EXPECT_EQ(wrap->role, kRoleKeyWrap);
  EXPECT_FALSE(wrap->encryption.has_value());
  EXPECT_THAT(Verify(dir_ / "pkg", &dek_), IsOk());
  WriteText(dir_ / "pkg" / "kms-key.json", "{\"wrapped\":false}\n");
  EXPECT_THAT(Verify(dir_ / "pkg", nullptr), HasError(ErrorCode::kPackageSizeMismatch));

  // A model directory file of the same name is refused, and nothing is left behind.
  WriteText(model_ / "kms-key.json", "{}");
  EXPECT_THAT(Pack(dir_ / "pkg2"), HasError(ErrorCode::kPackageBadModelDir));
  EXPECT_FALSE(fs::exists(dir_ / "pkg2"));
}

}  // namespace
}  // namespace eml::model

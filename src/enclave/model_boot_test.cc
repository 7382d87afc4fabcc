#include "enclave/model_boot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/stream_aead.h"
#include "enclave/boot.h"
#include "enclave/locked_buffer.h"
#include "engine/testing/tiny_bert.h"
#include "model/model_directory.h"
#include "model/package.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

namespace fs = std::filesystem;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr uint32_t kSegmentSize = 1024;

void WriteBytes(const fs::path& path, std::span<const uint8_t> bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(std::string(bytes.begin(), bytes.end()).data(),
            static_cast<std::streamsize>(bytes.size()));
}
void WriteText(const fs::path& path, const std::string& text) { WriteBytes(path, AsBytes(text)); }

// A store in front of another that fails the next `fail_next` calls with kIoError (as a broken
// connection would), refuses ranged reads of encrypted files above `refuse_above` bytes with
// kLimitExceeded (as a host proxy with a small reply cap does) and records the ranged reads it
// passes on.
class FlakyStore final : public model::ModelStore {
 public:
  explicit FlakyStore(model::ModelStore& inner) : inner_(inner) {}
  Status Publish(const fs::path& package_dir) override { return inner_.Publish(package_dir); }
  Result<uint64_t> Size(std::string_view id, std::string_view version,
                        std::string_view name) override {
    EML_RETURN_IF_ERROR(MaybeFail());
    return inner_.Size(id, version, name);
  }
  Result<std::vector<uint8_t>> Fetch(std::string_view id, std::string_view version,
                                     std::string_view name, size_t max_bytes) override {
    EML_RETURN_IF_ERROR(MaybeFail());
    return inner_.Fetch(id, version, name, max_bytes);
  }
  Result<std::vector<uint8_t>> ReadRange(std::string_view id, std::string_view version,
                                         std::string_view name, uint64_t offset,
                                         size_t length) override {
    EML_RETURN_IF_ERROR(MaybeFail());
    if (name.ends_with(".enc") && length > refuse_above) {
      return Error{ErrorCode::kLimitExceeded, "range above the reply cap (test)"};
    }
    ++ranged_reads;
    max_range_bytes = std::max(max_range_bytes, length);
    range_lengths[std::string(name)].push_back(length);
    return inner_.ReadRange(id, version, name, offset, length);
  }

  int fail_next = 0;
  size_t refuse_above = SIZE_MAX;
  int ranged_reads = 0;
  size_t max_range_bytes = 0;
  std::map<std::string, std::vector<size_t>> range_lengths;  // per stored name, in order

 private:
  Status MaybeFail() {
    if (fail_next > 0) {
      --fail_next;
      return Error{ErrorCode::kIoError, "connection reset (test)"};
    }
    return OkStatus();
  }
  model::ModelStore& inner_;
};

class RefusingKeySource final : public DataKeySource {
 public:
  explicit RefusingKeySource(ErrorCode code = ErrorCode::kUnimplemented) : code_(code) {}
  Result<SecretBytes> DataKey(const model::VerifiedManifest&) override {
    return Error{code_, "policy denies this enclave (test)"};
  }

 private:
  ErrorCode code_;
};

class ModelBootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eml-model-boot-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bert_ = engine::testing::TinyBert::MakeRandom({}, 11);
    config_ = bert_.ConfigJson();
    tokenizer_ = engine::testing::TinyTokenizerJson(48);
    weights_ = bert_.Safetensors();
    const fs::path model = dir_ / "model";
    WriteText(model / "config.json", config_);
    WriteText(model / "tokenizer.json", tokenizer_);
    WriteBytes(model / "model.safetensors", weights_);
    WriteText(model / "README.md", "# tiny\n");
    Result<crypto::Ed25519PrivateKey> owner = crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(owner, IsOk());
    owner_.emplace(*std::move(owner));
    dek_ = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x5c));
    fs::create_directories(dir_ / "store");
    Result<std::unique_ptr<model::ModelStore>> store =
        OpenBootStore("file://" + (dir_ / "store").string());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    Publish("tiny", "1", /*encrypt_all=*/false);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Publish(const std::string& id, const std::string& version, bool encrypt_all) {
    model::PackOptions options;
    options.model_id = id;
    options.version = version;
    options.segment_size = kSegmentSize;
    options.encrypt_all = encrypt_all;
    options.created_at_unix = 1795000000;
    const fs::path pkg = dir_ / ("pkg-" + id + "-" + version);
    ASSERT_THAT(model::PackModel(dir_ / "model", pkg, dek_, *owner_, options), IsOk());
    ASSERT_THAT(store_->Publish(pkg), IsOk());
  }
  fs::path Stored(const std::string& name, const std::string& version = "1") const {
    return dir_ / "store" / "tiny" / version / name;
  }
  void MakeWritable(const fs::path& path) {
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  }

  Result<BootedModel> Boot(model::ModelStore& store, const crypto::Ed25519PublicKey& owner,
                           DataKeySource& keys, const std::string& version = "1",
                           uint64_t max_model_bytes = kDefaultMaxModelBytes) {
    const BootRequest request{.model_id = "tiny",
                              .version = version,
                              .owner_key = owner,
                              .store = store,
                              .max_model_bytes = max_model_bytes};
    BootOptions options;
    options.engine.num_threads = 1;
    options.sleep = [this](std::chrono::milliseconds delay) { sleeps_.push_back(delay.count()); };
    return BootModel(request, keys, nullptr, options);
  }
  Result<BootedModel> Boot(const std::string& version = "1") {
    StaticDataKeySource keys(dek_.Clone());
    return Boot(*store_, owner_->public_key(), keys, version);
  }

  // WritePipeline adds sentence-transformers pipeline files to the model directory (an empty
  // text leaves that file out).
  void WritePipeline(const std::string& modules, const std::string& pooling_name,
                     const std::string& pooling, const std::string& sentence_bert) {
    const fs::path model = dir_ / "model";
    WriteText(model / "modules.json", modules);
    if (!pooling.empty()) {
      WriteText(model / pooling_name, pooling);
    }
    if (!sentence_bert.empty()) {
      WriteText(model / "sentence_bert_config.json", sentence_bert);
    }
  }
  // DirectoryEmbeddings embeds texts_ with the engine loaded from the model directory.
  std::vector<float> DirectoryEmbeddings() const {
    engine::EmbedderOptions options;
    options.num_threads = 1;
    Result<std::unique_ptr<engine::Embedder>> loaded =
        engine::Embedder::LoadFromDirectory(dir_ / "model", options);
    EXPECT_THAT(loaded, IsOk());
    Result<engine::EmbedResult> result = (*loaded)->Embed(texts_);
    EXPECT_THAT(result, IsOk());
    return result->embeddings;
  }
  std::vector<float> BootedEmbeddings(const std::string& version) {
    Result<BootedModel> booted = Boot(version);
    EXPECT_THAT(booted, IsOk());
    Result<engine::EmbedResult> result = booted->embedder->Embed(texts_);
    EXPECT_THAT(result, IsOk());
    return result->embeddings;
  }

  std::vector<float> ReferenceEmbeddings() const {
    engine::EmbedderOptions options;
    options.num_threads = 1;
    Result<std::unique_ptr<engine::Embedder>> plain =
        engine::Embedder::LoadFromMemory(config_, tokenizer_, weights_, options);
    EXPECT_THAT(plain, IsOk());
    Result<engine::EmbedResult> result = (*plain)->Embed(texts_);
    EXPECT_THAT(result, IsOk());
    return result->embeddings;
  }

  fs::path dir_;
  engine::testing::TinyBert bert_;
  std::string config_;
  std::string tokenizer_;
  std::vector<uint8_t> weights_;
  std::optional<crypto::Ed25519PrivateKey> owner_;
  SecretBytes dek_;
  std::unique_ptr<model::ModelStore> store_;
  std::vector<int64_t> sleeps_;
  const std::vector<std::string> texts_ = {"abc def", "hello world", ""};
};

TEST_F(ModelBootTest, BootsAnEncryptedPackageLikeThePlaintextModel) {
  FlakyStore store(*store_);
  StaticDataKeySource keys(dek_.Clone());
  std::vector<std::string> steps;
  const BootRequest request{
      .model_id = "tiny", .version = "1", .owner_key = owner_->public_key(), .store = store};
  BootOptions options;
  options.engine.num_threads = 1;
  Result<BootedModel> booted = BootModel(
      request, keys,
      [&](const BootProgress& p) {
        if (steps.empty() || steps.back() != p.step) {
          steps.emplace_back(p.step);
        }
      },
      options);
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->model_id, "tiny");
  EXPECT_EQ(booted->version, "1");
  EXPECT_EQ(booted->model_hash, crypto::Sha256(weights_));
  EXPECT_EQ(booted->model_hash_scheme, "sha256-single");
  EXPECT_EQ(booted->files_decrypted, 1u);  // only the weights are secret by default
  EXPECT_EQ(booted->model_bytes, config_.size() + tokenizer_.size() + weights_.size());
  EXPECT_THAT(steps, ::testing::ElementsAre("manifest", "key", "file", "load"));
  // Bounded memory: whole segments up to kDefaultBootReadBytes or one plaintext chunk per read.
  EXPECT_LE(store.max_range_bytes, std::max(kDefaultBootReadBytes, kPlainReadChunkBytes));

  Result<engine::EmbedResult> got = booted->embedder->Embed(texts_);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->embeddings, ReferenceEmbeddings());
}

TEST_F(ModelBootTest, BootsAPackageWithEveryFileEncrypted) {
  Publish("tiny", "all", /*encrypt_all=*/true);
  Result<BootedModel> booted = Boot("all");
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->files_decrypted, 3u);
  Result<engine::EmbedResult> got = booted->embedder->Embed(texts_);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->embeddings, ReferenceEmbeddings());
}

TEST_F(ModelBootTest, TimingsAreReportedPerStep) {
  Result<BootedModel> booted = Boot();
  ASSERT_THAT(booted, IsOk());
  const std::vector<std::pair<std::string, uint64_t>> fields = BootTimingFields(booted->timings);
  ASSERT_EQ(fields.size(), 11u);
  EXPECT_EQ(fields.front().first, "manifest_us");
  EXPECT_EQ(fields.back().first, "first_inference_us");
  EXPECT_GE(booted->timings.total_us, booted->timings.load_us);
  EXPECT_THAT(FormatBootTimings(booted->timings), ::testing::StartsWith("manifest "));
}

TEST_F(ModelBootTest, FlippedSegmentByteIsSegmentInvalid) {
  const fs::path enc = Stored("model.safetensors.enc");
  MakeWritable(enc);
  std::vector<uint8_t> bytes = ::eml::testing::ReadFileBytes(enc);
  bytes[crypto::kStreamHeaderSize + 2 * (kSegmentSize + crypto::kStreamTagSize) + 7] ^= 0x01;
  WriteBytes(enc, bytes);
  Result<BootedModel> booted = Boot();
  ASSERT_THAT(booted, HasError(ErrorCode::kBootSegmentInvalid));
  // Found at its segment, though the read that brought it held several.
  EXPECT_THAT(booted.error().detail, ::testing::HasSubstr("segment 2: "));
}

TEST_F(ModelBootTest, ReadsSeveralWholeSegmentsPerRangedRead) {
  const std::string enc = "model.safetensors.enc";
  const size_t stride = kSegmentSize + crypto::kStreamTagSize;
  const size_t segments = (weights_.size() + kSegmentSize - 1) / kSegmentSize;
  ASSERT_GT(segments, 8u);
  for (const size_t per_read : {size_t{1}, size_t{3}, segments}) {
    SCOPED_TRACE(per_read);
    FlakyStore store(*store_);
    StaticDataKeySource keys(dek_.Clone());
    const BootRequest request{
        .model_id = "tiny", .version = "1", .owner_key = owner_->public_key(), .store = store};
    BootOptions options;
    options.engine.num_threads = 1;
    options.max_read_bytes = per_read * stride + stride - 1;  // room for per_read, not one more
    Result<BootedModel> booted = BootModel(request, keys, nullptr, options);
    ASSERT_THAT(booted, IsOk());
    EXPECT_EQ(booted->model_hash, crypto::Sha256(weights_));
    // The header, then ceil(segments / per_read) reads of at most per_read segments each.
    const std::vector<size_t>& lengths = store.range_lengths[enc];
    EXPECT_EQ(lengths.size(), 1 + (segments + per_read - 1) / per_read);
    EXPECT_LE(*std::max_element(lengths.begin(), lengths.end()), per_read * stride);
    Result<engine::EmbedResult> got = booted->embedder->Embed(texts_);
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->embeddings, ReferenceEmbeddings());
  }
}

TEST_F(ModelBootTest, StoreCappingRepliesIsReadOneSegmentAtATime) {
  const size_t stride = kSegmentSize + crypto::kStreamTagSize;
  FlakyStore store(*store_);
  store.refuse_above = stride;
  StaticDataKeySource keys(dek_.Clone());
  Result<BootedModel> booted = Boot(store, owner_->public_key(), keys);
  ASSERT_THAT(booted, IsOk());
  const std::vector<size_t>& lengths = store.range_lengths["model.safetensors.enc"];
  EXPECT_EQ(lengths.size(), 1 + (weights_.size() + kSegmentSize - 1) / kSegmentSize);
  EXPECT_LE(*std::max_element(lengths.begin(), lengths.end()), stride);
  // A cap below one segment cannot be worked around.
  FlakyStore tiny_cap(*store_);
  tiny_cap.refuse_above = stride - 1;
  EXPECT_THAT(Boot(tiny_cap, owner_->public_key(), keys),
              HasError(ErrorCode::kBootStoreUnavailable));
}

TEST_F(ModelBootTest, ReEncryptedChangedWeightsAreHashMismatch) {
  // Someone holding the data key re-encrypts changed weights as the same file: every segment
  // opens, and only the SHA-256 taken while decrypting tells.
  const fs::path enc = Stored("model.safetensors.enc");
  MakeWritable(enc);
  Result<crypto::StreamHeader> header =
      crypto::ParseStreamHeader(::eml::testing::ReadFileBytes(enc));
  ASSERT_THAT(header, IsOk());
  std::vector<uint8_t> changed = weights_;
  changed[changed.size() - 5] ^= 0x01;
  crypto::SpanSource source(changed);
  crypto::VectorSink sink;
  crypto::EncryptOptions options;
  options.segment_size = kSegmentSize;
  options.file_id = header->file_id;
  ASSERT_THAT(crypto::StreamEncrypt(dek_, source, sink, options), IsOk());
  WriteBytes(enc, sink.bytes());
  Result<BootedModel> booted = Boot();
  ASSERT_THAT(booted, HasError(ErrorCode::kBootHashMismatch));
  EXPECT_THAT(booted.error().detail, ::testing::HasSubstr("model.safetensors"));
}

TEST_F(ModelBootTest, SwappedSegmentsAreSegmentInvalid) {
  const fs::path enc = Stored("model.safetensors.enc");
  MakeWritable(enc);
  std::vector<uint8_t> bytes = ::eml::testing::ReadFileBytes(enc);
  const size_t stride = kSegmentSize + crypto::kStreamTagSize;
  std::swap_ranges(bytes.begin() + crypto::kStreamHeaderSize,
                   bytes.begin() + static_cast<std::ptrdiff_t>(crypto::kStreamHeaderSize + stride),
                   bytes.begin() + static_cast<std::ptrdiff_t>(crypto::kStreamHeaderSize + stride));
  WriteBytes(enc, bytes);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootSegmentInvalid));
}

TEST_F(ModelBootTest, TruncatedEncryptedFileIsSegmentInvalid) {
  const fs::path enc = Stored("model.safetensors.enc");
  MakeWritable(enc);
  fs::resize_file(enc, fs::file_size(enc) - 100);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootSegmentInvalid));
  fs::resize_file(enc, 40);  // inside the header
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootSegmentInvalid));
}

TEST_F(ModelBootTest, SwappedManifestSignatureIsBadSignature) {
  Publish("tiny", "2", /*encrypt_all=*/false);
  const fs::path sig = Stored("manifest.sig");
  MakeWritable(sig);
  fs::copy_file(Stored("manifest.sig", "2"), sig, fs::copy_options::overwrite_existing);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootBadSignature));
  WriteText(sig, "not hex\n");
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootBadSignature));
}

TEST_F(ModelBootTest, EditedManifestIsBadSignature) {
  const fs::path json = Stored("manifest.json");
  MakeWritable(json);
  std::string text = ::eml::testing::ReadFileText(json);
  const size_t at = text.find("\"size\":");
  ASSERT_NE(at, std::string::npos);
  text.insert(at + 7, "1");
  WriteText(json, text);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootBadSignature));
}

TEST_F(ModelBootTest, AnotherOwnerKeyIsBadSignature) {
  Result<crypto::Ed25519PrivateKey> other = crypto::Ed25519PrivateKey::Generate();
  ASSERT_THAT(other, IsOk());
  StaticDataKeySource keys(dek_.Clone());
  EXPECT_THAT(Boot(*store_, other->public_key(), keys), HasError(ErrorCode::kBootBadSignature));
}

TEST_F(ModelBootTest, WrongDataKeyIsWrongKey) {
  StaticDataKeySource keys(SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x5d)));
  EXPECT_THAT(Boot(*store_, owner_->public_key(), keys), HasError(ErrorCode::kBootWrongKey));
}

TEST_F(ModelBootTest, RefusedOrMalformedKeyIsKeyUnavailable) {
  RefusingKeySource refusing;
  EXPECT_THAT(Boot(*store_, owner_->public_key(), refusing),
              HasError(ErrorCode::kBootKeyUnavailable));
  StaticDataKeySource short_key(SecretBytes::CopyFrom(std::vector<uint8_t>(16, 0x5c)));
  EXPECT_THAT(Boot(*store_, owner_->public_key(), short_key),
              HasError(ErrorCode::kBootKeyUnavailable));
}

TEST_F(ModelBootTest, BrokerDenialAndOutagePassThrough) {
  for (const ErrorCode code : {ErrorCode::kBootKeyDenied, ErrorCode::kBootBrokerUnavailable,
                               ErrorCode::kBootKeyBadRequest}) {
    RefusingKeySource refusing(code);
    EXPECT_THAT(Boot(*store_, owner_->public_key(), refusing), HasError(code));
  }
}

TEST_F(ModelBootTest, KeySourceTimingsAreCopied) {
  class TimedKeySource final : public DataKeySource {
   public:
    explicit TimedKeySource(SecretBytes key) : key_(std::move(key)) {}
    Result<SecretBytes> DataKey(const model::VerifiedManifest&) override { return key_.Clone(); }
    KeySourceTimings timings() const override {
      return {.challenge_us = 7, .attest_us = 8, .release_us = 9};
    }

   private:
    SecretBytes key_;
  };
  TimedKeySource keys(dek_.Clone());
  Result<BootedModel> booted = Boot(*store_, owner_->public_key(), keys);
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->timings.challenge_us, 7u);
  EXPECT_EQ(booted->timings.attest_us, 8u);
  EXPECT_EQ(booted->timings.release_us, 9u);
}

TEST_F(ModelBootTest, ManifestOfAnotherModelIsModelMismatch) {
  Publish("other", "1", /*encrypt_all=*/false);
  // A hostile store answers for tiny/7 with other/1's package (validly signed by the owner).
  fs::copy(dir_ / "store" / "other" / "1", dir_ / "store" / "tiny" / "7",
           fs::copy_options::recursive);
  EXPECT_THAT(Boot("7"), HasError(ErrorCode::kBootModelMismatch));
}

TEST_F(ModelBootTest, UnknownVersionIsModelNotFound) {
  EXPECT_THAT(Boot("9"), HasError(ErrorCode::kBootModelNotFound));
}

TEST_F(ModelBootTest, TooLargeModelIsRefusedBeforeFetching) {
  FlakyStore store(*store_);
  StaticDataKeySource keys(dek_.Clone());
  EXPECT_THAT(Boot(store, owner_->public_key(), keys, "1", weights_.size()),
              HasError(ErrorCode::kBootModelTooLarge));
  EXPECT_EQ(store.ranged_reads, 0);
}

TEST_F(ModelBootTest, ChangedPlaintextFileIsHashMismatch) {
  const fs::path config = Stored("config.json");
  MakeWritable(config);
  std::string text = ::eml::testing::ReadFileText(config);
  text[text.size() / 2] = text[text.size() / 2] == ' ' ? '\t' : ' ';
  WriteText(config, text);
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootHashMismatch));
  WriteText(config, text + " ");
  EXPECT_THAT(Boot(), HasError(ErrorCode::kBootHashMismatch));
}

// The tiny model's pipeline files: Transformer -> Pooling [-> Normalize].
std::string TinyModules(bool normalize, const std::string& pooling_path = "1_Pooling") {
  std::string modules = R"([{"idx": 0, "name": "0", "path": "",
    "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": ")" +
                        pooling_path + R"(",
     "type": "sentence_transformers.models.Pooling"})";
  if (normalize) {
    modules += R"(, {"idx": 2, "name": "2", "path": "2_Normalize",
      "type": "sentence_transformers.models.Normalize"})";
  }
  return modules + "]";
}
std::string TinyPooling(const std::string& mode, int dimension = 64) {
  return R"({"word_embedding_dimension": )" + std::to_string(dimension) + R"(, "pooling_mode_)" +
         mode + R"(": true})";
}
constexpr char kTinySentenceBert[] = R"({"max_seq_length": 32, "do_lower_case": false})";

bool AllNear(const std::vector<float>& a, const std::vector<float>& b, float tolerance) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::abs(a[i] - b[i]) > tolerance) {
      return false;
    }
  }
  return true;
}

TEST_F(ModelBootTest, WithoutModulesJsonThePackageAndTheDirectoryUseTheDefaultPipeline) {
  EXPECT_TRUE(AllNear(BootedEmbeddings("1"), DirectoryEmbeddings(), 1e-6f));
}

TEST_F(ModelBootTest, PackagePipelineFilesChooseClsPooling) {
  WritePipeline(TinyModules(/*normalize=*/true), "1_Pooling/config.json", TinyPooling("cls_token"),
                kTinySentenceBert);
  Publish("tiny", "2", /*encrypt_all=*/true);  // the pipeline files encrypted too
  Result<BootedModel> booted = Boot("2");
  ASSERT_THAT(booted, IsOk());
  EXPECT_EQ(booted->embedder->max_seq_length(), 32u);
  EXPECT_EQ(booted->files_decrypted, 6u);
  const std::vector<float> cls = BootedEmbeddings("2");
  EXPECT_TRUE(AllNear(cls, DirectoryEmbeddings(), 1e-6f));
  EXPECT_FALSE(AllNear(cls, ReferenceEmbeddings(), 1e-3f));  // not the default mean pooling
}

TEST_F(ModelBootTest, PackageWithoutNormalizeIsNotNormalized) {
  WritePipeline(TinyModules(/*normalize=*/false), "1_Pooling/config.json",
                TinyPooling("mean_tokens"), kTinySentenceBert);
  Publish("tiny", "2", /*encrypt_all=*/false);
  const std::vector<float> plain = BootedEmbeddings("2");
  EXPECT_TRUE(AllNear(plain, DirectoryEmbeddings(), 1e-6f));
  // Mean pooling without Normalize is also the default pipeline (no modules.json).
  EXPECT_TRUE(AllNear(plain, ReferenceEmbeddings(), 1e-6f));
  double norm = 0;
  for (size_t i = 0; i < 64; ++i) {
    norm += static_cast<double>(plain[i]) * static_cast<double>(plain[i]);
  }
  EXPECT_GT(std::abs(norm - 1.0), 1e-3);
}

TEST_F(ModelBootTest, ChangedPoolingFileIsHashMismatch) {
  WritePipeline(TinyModules(true), "1_Pooling/config.json", TinyPooling("mean_tokens"),
                kTinySentenceBert);
  Publish("tiny", "2", /*encrypt_all=*/false);
  const fs::path pooling = Stored("1_Pooling/config.json", "2");
  MakeWritable(pooling);
  WriteText(pooling, TinyPooling("cls_token"));
  EXPECT_THAT(Boot("2"), HasError(ErrorCode::kBootHashMismatch));
}

// A pipeline the directory load refuses is refused by the boot too.
TEST_F(ModelBootTest, BadPipelinesAreRefusedAsTheDirectoryRefusesThem) {
  struct Case {
    std::string modules, pooling_name, pooling, sentence_bert;
    ErrorCode boot_code;
  };
  const std::vector<Case> cases = {
      {TinyModules(true), "1_Pooling/config.json", TinyPooling("mean_tokens"), "",
       ErrorCode::kBootBadManifest},  // no sentence_bert_config.json
      {TinyModules(true, "2_Pooling"), "1_Pooling/config.json", TinyPooling("mean_tokens"),
       kTinySentenceBert, ErrorCode::kBootBadManifest},  // modules.json names a missing file
      {TinyModules(true), "1_Pooling/config.json", TinyPooling("mean_sqrt_len_tokens"),
       kTinySentenceBert, ErrorCode::kBootEngineFailed},  // unsupported pooling
      {TinyModules(true), "1_Pooling/config.json", TinyPooling("mean_tokens", 32),
       kTinySentenceBert, ErrorCode::kBootEngineFailed},  // dimension is not hidden_size
      {TinyModules(true), "1_Pooling/config.json", TinyPooling("mean_tokens"),
       R"({"max_seq_length": 41})", ErrorCode::kBootEngineFailed},  // above the positions
  };
  int version = 2;
  for (const Case& c : cases) {
    SCOPED_TRACE(version);
    fs::remove(dir_ / "model" / "sentence_bert_config.json");
    fs::remove_all(dir_ / "model" / "1_Pooling");
    WritePipeline(c.modules, c.pooling_name, c.pooling, c.sentence_bert);
    EXPECT_FALSE(model::ModelDirectory::Open(dir_ / "model").has_value());
    Publish("tiny", std::to_string(version), /*encrypt_all=*/false);
    EXPECT_THAT(Boot(std::to_string(version)), HasError(c.boot_code));
    ++version;
  }
}

TEST_F(ModelBootTest, TransientStoreErrorsAreRetriedWithBackoff) {
  FlakyStore store(*store_);
  StaticDataKeySource keys(dek_.Clone());
  store.fail_next = 2;
  EXPECT_THAT(Boot(store, owner_->public_key(), keys), IsOk());
  EXPECT_THAT(sleeps_, ::testing::ElementsAre(100, 200));
}

TEST_F(ModelBootTest, StoreFailingEveryAttemptIsStoreUnavailable) {
  FlakyStore store(*store_);
  StaticDataKeySource keys(dek_.Clone());
  store.fail_next = kDefaultStoreAttempts;
  EXPECT_THAT(Boot(store, owner_->public_key(), keys), HasError(ErrorCode::kBootStoreUnavailable));
  EXPECT_THAT(sleeps_, ::testing::ElementsAre(100, 200));
}

TEST_F(ModelBootTest, MissingStoreDirectoryIsStoreUnavailable) {
  EXPECT_THAT(OpenBootStore("file://" + (dir_ / "no-such-store").string()),
              HasError(ErrorCode::kBootStoreUnavailable));
  EXPECT_THAT(OpenBootStore("file://relative/path"), HasError(ErrorCode::kEnclaveBadConfig));
}

TEST_F(ModelBootTest, StaticKeyFileMustHoldExactly32Bytes) {
  WriteBytes(dir_ / "good.dek", dek_.Reveal(InsecureSecretAccess::Get()));
  Result<StaticDataKeySource> good = StaticDataKeySource::FromFile(dir_ / "good.dek");
  ASSERT_THAT(good, IsOk());
  EXPECT_THAT(Boot(*store_, owner_->public_key(), *good), IsOk());
  WriteBytes(dir_ / "long.dek", std::vector<uint8_t>(33, 1));
  EXPECT_THAT(StaticDataKeySource::FromFile(dir_ / "long.dek"),
              HasError(ErrorCode::kBootKeyUnavailable));
  EXPECT_THAT(StaticDataKeySource::FromFile(dir_ / "missing.dek"),
              HasError(ErrorCode::kBootKeyUnavailable));
}

TEST(MeasuredConfigOwnerKeyTest, OwnerKeyChangesPcr1) {
  MeasuredConfig config;
  config.platform = "sim";
  config.model_id = "tiny";
  config.model_hash_scheme = "sha256-single";
  config.precision = "fp32";
  config.max_sessions = 4;
  const std::string without = MeasuredConfigJson(config);
  EXPECT_EQ(without.find("owner_key"), std::string::npos);  // plaintext boots keep their PCR1
  Result<crypto::Ed25519PrivateKey> a = crypto::Ed25519PrivateKey::Generate();
  Result<crypto::Ed25519PrivateKey> b = crypto::Ed25519PrivateKey::Generate();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  config.owner_key = model::SignerKeyId(a->public_key());
  const std::string with_a = MeasuredConfigJson(config);
  config.owner_key = model::SignerKeyId(b->public_key());
  const std::string with_b = MeasuredConfigJson(config);
  EXPECT_NE(with_a.find("\"owner_key\":\"ed25519:"), std::string::npos);
  EXPECT_NE(crypto::Sha384(AsBytes(with_a)), crypto::Sha384(AsBytes(with_b)));
  EXPECT_NE(crypto::Sha384(AsBytes(with_a)), crypto::Sha384(AsBytes(without)));
}

TEST(BootExitCodeTest, EachBootFailureHasItsOwnCode) {
  const std::vector<ErrorCode> codes = {
      ErrorCode::kBootBadSignature,      ErrorCode::kBootHashMismatch,
      ErrorCode::kBootSegmentInvalid,    ErrorCode::kBootKeyUnavailable,
      ErrorCode::kBootStoreUnavailable,  ErrorCode::kBootModelTooLarge,
      ErrorCode::kBootModelMismatch,     ErrorCode::kBootWrongKey,
      ErrorCode::kBootModelNotFound,     ErrorCode::kBootBadManifest,
      ErrorCode::kBootEngineFailed,      ErrorCode::kBootKeyDenied,
      ErrorCode::kBootBrokerUnavailable, ErrorCode::kBootKeyBadRequest};
  for (size_t i = 0; i < codes.size(); ++i) {
    EXPECT_EQ(BootExitCode(codes[i]), 10 + static_cast<int>(i)) << ErrorCodeName(codes[i]);
  }
  EXPECT_EQ(BootExitCode(ErrorCode::kIoError), 0);
}

TEST(LockedBufferTest, HoldsZeroedBytesAndEmptiesWhenMovedOrWiped) {
  std::vector<std::string> warnings;
  Result<LockedBuffer> buffer =
      LockedBuffer::Create(10000, [&](const std::string& warning) { warnings.push_back(warning); });
  ASSERT_THAT(buffer, IsOk());
  EXPECT_EQ(buffer->size(), 10000u);
  // Either locked, or one warning saying why not (RLIMIT_MEMLOCK differs between machines).
  EXPECT_EQ(buffer->locked() ? 0u : 1u, warnings.size());
  std::span<uint8_t> bytes = buffer->MutableReveal(InsecureSecretAccess::Get());
  EXPECT_TRUE(std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; }));
  bytes[9999] = 7;
  LockedBuffer moved = *std::move(buffer);
  EXPECT_EQ(buffer->size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(moved.Reveal(InsecureSecretAccess::Get())[9999], 7);
  moved.Wipe();
  EXPECT_EQ(moved.size(), 0u);
  EXPECT_FALSE(moved.locked());
  Result<LockedBuffer> empty = LockedBuffer::Create(0, nullptr);
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->Reveal(InsecureSecretAccess::Get()).empty());
}

}  // namespace
}  // namespace eml::enclave

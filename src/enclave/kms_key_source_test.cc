// KmsDataKeySource against a scripted loopback KMS (moto does not implement Recipient). The fake
// KMS answers GenerateDataKey like KMS (a random data key and an opaque blob) so the package is
// packed the way `ephemeralml model pack --kms-key` packs it, and answers Decrypt only when the
// request carries a sim attestation document that verifies against the enclave's sim root and
// binds an RSA-2048 key: then it encrypts the data key to that key as CMS EnvelopedData with
// OpenSSL's CMS API (RSAES-OAEP SHA-256, AES-256-CBC), as KMS does.

#include "enclave/kms_key_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "common/check.h"
#include "common/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/random.h"
#include "crypto/rsa.h"
#include "enclave/model_boot.h"
#include "enclave/testing/sim_fixture.h"
#include "http/testing/loopback_server.h"
#include "keys/kms/key_file.h"
#include "keys/kms/kms_client.h"
#include "model/manifest.h"
#include "model/model_directory.h"
#include "model/package.h"
#include "model/store.h"
#include "testing/test_util.h"

namespace eml::enclave {
namespace {

namespace fs = std::filesystem;
using ::eml::http::testing::CannedReply;
using ::eml::http::testing::LoopbackServer;
using ::eml::http::testing::RecordedRequest;
using ::eml::http::testing::Reply;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using Json = nlohmann::json;

constexpr char kArn[] =
    "arn:aws:kms:us-east-1:111122223333:key/6f0c1a52-1b2c-4d3e-9f00-0123456789ab";
constexpr char kModelId[] = "all-MiniLM-L6-v2";
constexpr char kVersion[] = "1";
constexpr const char* kModelFiles[] = {"config.json", "tokenizer.json", "model.safetensors"};

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, Deleter<CMS_ContentInfo, CMS_ContentInfo_free>>;

// EnvelopeTo encrypts `content` to the RSA key `spki` as KMS does. OpenSSL's CMS API names a
// recipient by certificate, so the key is put into a throwaway certificate (issued by another
// key: only the public key and the issuer/serial naming it matter for encryption).
std::vector<uint8_t> EnvelopeTo(std::span<const uint8_t> spki, std::span<const uint8_t> content) {
  const unsigned char* p = spki.data();
  PkeyPtr recipient(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  EML_CHECK(recipient != nullptr);
  PkeyPtr issuer(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  EML_CHECK(issuer != nullptr && cert != nullptr);
  EML_CHECK(X509_set_version(cert.get(), 2) == 1);
  EML_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7) == 1);
  EML_CHECK(X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) != nullptr);
  EML_CHECK(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) != nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  EML_CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("enclave"), -1, -1,
                                       0) == 1);
  EML_CHECK(X509_set_issuer_name(cert.get(), name) == 1);
  EML_CHECK(X509_set_pubkey(cert.get(), recipient.get()) == 1);
  EML_CHECK(X509_sign(cert.get(), issuer.get(), EVP_sha256()) > 0);

  const unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_KEY_PARAM;
  CmsPtr cms(CMS_encrypt(nullptr, nullptr, EVP_aes_256_cbc(), flags));
  EML_CHECK(cms != nullptr);
  CMS_RecipientInfo* info = CMS_add1_recipient_cert(cms.get(), cert.get(), flags);
  EML_CHECK(info != nullptr);
  EVP_PKEY_CTX* ctx = CMS_RecipientInfo_get0_pkey_ctx(info);
  EML_CHECK(ctx != nullptr);
  EML_CHECK(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
  EML_CHECK(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0);
  EML_CHECK(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0);
  BioPtr in(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  EML_CHECK(in != nullptr);
  EML_CHECK(CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) == 1);
  unsigned char* der = nullptr;
  const int len = i2d_CMS_ContentInfo(cms.get(), &der);
  EML_CHECK(len > 0);
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// FakeKms: GenerateDataKey and Decrypt with Recipient, as above. `mode` scripts a bad answer.
class FakeKms {
 public:
  enum class Mode { kGood, kOtherKey, kNotCms, kPlaintextInstead, kDenied };

  explicit FakeKms(const SimEvidenceSource* source) : source_(source) {
    auto server = LoopbackServer::Start([this](const RecordedRequest& r) { return Handle(r); });
    EML_CHECK(server.has_value());
    server_ = *std::move(server);
  }

  keys::kms::KmsClientOptions Options() const {
    keys::kms::KmsClientOptions options;
    options.region = "us-east-1";
    options.endpoint = server_->Url();
    options.credentials.access_key_id = "AKIDEXAMPLE";
    options.credentials.secret_access_key = SecretBytes::CopyFrom(AsBytes("fake-secret"));
    options.max_attempts = 1;
    return options;
  }

  void set_mode(Mode mode) {
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = mode;
  }
  // attested_key: the RSA SubjectPublicKeyInfo of the latest verified Decrypt request.
  std::vector<uint8_t> attested_key() const {
    std::lock_guard<std::mutex> lock(mu_);
    return attested_key_;
  }
  std::vector<RecordedRequest> Requests() const { return server_->Requests(); }

 private:
  CannedReply Handle(const RecordedRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string* target = r.Header("x-amz-target");
    Json body = Json::parse(r.body.begin(), r.body.end(), nullptr, false);
    if (target == nullptr || body.is_discarded()) {
      return Reply(400, R"({"__type":"ValidationException"})");
    }
    if (*target == "TrentService.GenerateDataKey") {
      auto key = crypto::RandomSecret(32);
      EML_CHECK(key.has_value());
      const std::string blob = "fake-kms-blob-" + std::to_string(keys_.size());
      const auto plain = key->Reveal(InsecureSecretAccess::Get());
      keys_[blob] = std::vector<uint8_t>(plain.begin(), plain.end());
      return Reply(200, Json{{"KeyId", kArn},
                             {"CiphertextBlob", Base64Encode(AsBytes(blob))},
                             {"Plaintext", Base64Encode(plain)}}
                            .dump());
    }
    if (*target != "TrentService.Decrypt" || mode_ == Mode::kDenied) {
      return Reply(400, R"({"__type":"AccessDeniedException"})");
    }
    // The request shape KMS requires for an enclave, and a document that binds an RSA key.
    if (!body.contains("Recipient") || body["KeyId"] != kArn ||
        body["Recipient"]["KeyEncryptionAlgorithm"] != "RSAES_OAEP_SHA_256" ||
        !body["Recipient"]["AttestationDocument"].is_string() ||
        !body["CiphertextBlob"].is_string()) {
      return Reply(400, R"({"__type":"ValidationException"})");
    }
    auto document = Base64Decode(body["Recipient"]["AttestationDocument"].get<std::string>());
    auto blob = Base64Decode(body["CiphertextBlob"].get<std::string>());
    if (!document.has_value() || !blob.has_value()) {
      return Reply(400, R"({"__type":"ValidationException"})");
    }
    auto verification = testing::VerifySimDocument(*source_, *document);
    if (!verification.has_value() || !verification->report.verified ||
        !verification->report.public_key.has_value() || verification->report.nonce.has_value() ||
        (verification->report.user_data.has_value() && !verification->report.user_data->empty())) {
      return Reply(400, R"({"__type":"AccessDeniedException"})");
    }
    const std::vector<uint8_t>& spki = *verification->report.public_key;
    auto rsa = crypto::RsaPublicKey::FromSpkiDer(spki);
    auto known = keys_.find(std::string(blob->begin(), blob->end()));
    if (!rsa.has_value() || rsa->modulus_bits() != 2048 || known == keys_.end()) {
      return Reply(400, R"({"__type":"InvalidCiphertextException"})");
    }
    attested_key_ = spki;
    std::vector<uint8_t> envelope;
    switch (mode_) {
      case Mode::kGood:
        envelope = EnvelopeTo(spki, known->second);
        break;
      case Mode::kOtherKey: {
        auto other = crypto::RsaPrivateKey::Generate(2048);
        EML_CHECK(other.has_value());
        envelope = EnvelopeTo(other->PublicKeySpkiDer(), known->second);
        break;
      }
      case Mode::kNotCms:
        envelope = {0x30, 0x03, 0x02, 0x01, 0x00};
        break;
      case Mode::kPlaintextInstead:
        // A relay that swaps in a key of its choosing, in clear: refused.
        return Reply(
            200, Json{{"KeyId", kArn}, {"Plaintext", Base64Encode(std::vector<uint8_t>(32, 0x11))}}
                     .dump());
      case Mode::kDenied:
        break;
    }
    return Reply(200, Json{{"KeyId", kArn},
                           {"Plaintext", nullptr},
                           {"CiphertextForRecipient", Base64Encode(envelope)}}
                          .dump());
  }

  const SimEvidenceSource* source_;
  std::unique_ptr<LoopbackServer> server_;
  mutable std::mutex mu_;
  Mode mode_ = Mode::kGood;
  std::map<std::string, std::vector<uint8_t>> keys_;
  std::vector<uint8_t> attested_key_;
};

// The suite's state: a sim enclave, the fake KMS, and the cached MiniLM packed with a data key
// from the fake KMS and published to a file store.
struct Suite {
  fs::path dir;
  std::unique_ptr<SimEvidenceSource> source;
  std::unique_ptr<FakeKms> kms;
  std::optional<crypto::Ed25519PrivateKey> owner;
  std::vector<uint8_t> dek;
  std::string StoreUrl() const { return "file://" + (dir / "store").string(); }
};
Suite* g_suite = nullptr;

class KmsKeySourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path source = model::DefaultModelDirectoryPath();
    if (!fs::is_regular_file(source / "model.safetensors")) {
      return;
    }
    g_suite = new Suite();
    g_suite->dir = testing::MakeTempDir();
    g_suite->source = testing::NewSimSource(g_suite->dir / "sim");
    g_suite->kms = std::make_unique<FakeKms>(g_suite->source.get());
    const fs::path plain = g_suite->dir / "model";
    fs::create_directories(plain);
    for (const char* name : kModelFiles) {
      std::error_code ec;
      fs::create_hard_link(source / name, plain / name, ec);
      if (ec) {
        fs::copy_file(source / name, plain / name);
      }
    }
    auto owner = crypto::Ed25519PrivateKey::Generate();
    ASSERT_THAT(owner, IsOk());
    g_suite->owner.emplace(*std::move(owner));
    // What `model pack --kms-key` does: GenerateDataKey, kms-key.json, pack with the plaintext.
    auto client = keys::kms::KmsClient::Create(g_suite->kms->Options());
    ASSERT_THAT(client, IsOk());
    auto data_key = (*client)->GenerateDataKey(kArn);
    ASSERT_THAT(data_key, IsOk());
    auto key_file = keys::kms::SerializeKmsKeyFile({kArn, data_key->ciphertext_blob});
    ASSERT_THAT(key_file, IsOk());
    const auto plain_key = data_key->plaintext.Reveal(InsecureSecretAccess::Get());
    g_suite->dek.assign(plain_key.begin(), plain_key.end());
    model::PackOptions options;
    options.model_id = kModelId;
    options.version = kVersion;
    options.key_id = keys::kms::KeyIdForArn(kArn);
    options.extra_files.push_back(model::PackedExtraFile{
        std::string(keys::kms::kKmsKeyFileName), std::string(model::kRoleKeyWrap), *key_file});
    ASSERT_THAT(model::PackModel(plain, g_suite->dir / "pkg", data_key->plaintext, *g_suite->owner,
                                 options),
                IsOk());
    fs::create_directories(g_suite->dir / "store");
    auto store = model::OpenModelStore(g_suite->StoreUrl());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Publish(g_suite->dir / "pkg"), IsOk());
  }
  static void TearDownTestSuite() {
    delete g_suite;
    g_suite = nullptr;
  }

  void SetUp() override {
    if (g_suite == nullptr) {
      GTEST_SKIP() << "model not fetched (scripts/fetch-model)";
    }
    g_suite->kms->set_mode(FakeKms::Mode::kGood);
    auto store = model::OpenModelStore(g_suite->StoreUrl());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  KmsDataKeySource Source() {
    KmsKeySourceOptions options;
    options.client_options = [](std::string_view arn) -> Result<keys::kms::KmsClientOptions> {
      EXPECT_EQ(arn, kArn);
      return g_suite->kms->Options();
    };
    return KmsDataKeySource(g_suite->source.get(), store_.get(), std::move(options));
  }

  // Manifest verifies the package at `dir` (default: the published one).
  static model::VerifiedManifest Manifest(const fs::path& pkg) {
    auto manifest = model::LoadVerifiedManifest(pkg, g_suite->owner->public_key());
    EML_CHECK(manifest.has_value());
    return *std::move(manifest);
  }
  static fs::path Stored() { return g_suite->dir / "store" / kModelId / kVersion; }

  std::unique_ptr<model::ModelStore> store_;
};

TEST_F(KmsKeySourceTest, DecryptsToTheAttestedRsaKey) {
  KmsDataKeySource source = Source();
  auto key = source.DataKey(Manifest(Stored()));
  ASSERT_THAT(key, IsOk());
  const auto bytes = key->Reveal(InsecureSecretAccess::Get());
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), g_suite->dek);
  // One Decrypt per call; the attested key is a fresh RSA-2048 key each time.
  const std::vector<uint8_t> first = g_suite->kms->attested_key();
  ASSERT_THAT(source.DataKey(Manifest(Stored())), IsOk());
  EXPECT_NE(g_suite->kms->attested_key(), first);
  size_t decrypts = 0;
  for (const RecordedRequest& r : g_suite->kms->Requests()) {
    decrypts += *r.Header("x-amz-target") == "TrentService.Decrypt" ? size_t{1} : size_t{0};
  }
  EXPECT_GE(decrypts, 2u);
}

TEST_F(KmsKeySourceTest, AnswerForAnotherKeyIsRefused) {
  g_suite->kms->set_mode(FakeKms::Mode::kOtherKey);
  EXPECT_THAT(Source().DataKey(Manifest(Stored())), HasError(ErrorCode::kCmsDecryptFailed));
}

TEST_F(KmsKeySourceTest, MalformedAnswersAreRefused) {
  g_suite->kms->set_mode(FakeKms::Mode::kNotCms);
  EXPECT_THAT(Source().DataKey(Manifest(Stored())), HasError(ErrorCode::kCmsMalformed));
  g_suite->kms->set_mode(FakeKms::Mode::kPlaintextInstead);
  EXPECT_THAT(Source().DataKey(Manifest(Stored())), HasError(ErrorCode::kKmsBadResponse));
  g_suite->kms->set_mode(FakeKms::Mode::kDenied);
  EXPECT_THAT(Source().DataKey(Manifest(Stored())), HasError(ErrorCode::kKmsAccessDenied));
}

TEST_F(KmsKeySourceTest, TamperedKeyFileIsRefused) {
  const fs::path stored_file = Stored() / "kms-key.json";
  const std::vector<uint8_t> original = ::eml::testing::ReadFileBytes(stored_file);
  const model::VerifiedManifest manifest = Manifest(Stored());
  std::vector<uint8_t> edited = original;
  edited[edited.size() - 20] ^= 0x01;  // inside the ARN: same size, other SHA-256
  {
    std::ofstream out(stored_file, std::ios::binary | std::ios::trunc);
    out.write(std::string(edited.begin(), edited.end()).data(),
              static_cast<std::streamsize>(edited.size()));
  }
  EXPECT_THAT(Source().DataKey(manifest), HasError(ErrorCode::kKmsKeyFileMismatch));
  fs::remove(stored_file);
  EXPECT_THAT(Source().DataKey(manifest), HasError(ErrorCode::kStoreNotFound));
  std::ofstream(stored_file, std::ios::binary)
      .write(std::string(original.begin(), original.end()).data(),
             static_cast<std::streamsize>(original.size()));
  EXPECT_THAT(Source().DataKey(manifest), IsOk());
}

TEST_F(KmsKeySourceTest, PackageWithoutKmsKeyIsRefused) {
  // A broker-style package: key_id "dek-...", no kms-key.json.
  const fs::path pkg = g_suite->dir / "broker-pkg";
  if (!fs::exists(pkg)) {
    model::PackOptions options;
    options.model_id = "other";
    options.version = kVersion;
    const SecretBytes dek = SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x33));
    ASSERT_THAT(model::PackModel(g_suite->dir / "model", pkg, dek, *g_suite->owner, options),
                IsOk());
  }
  EXPECT_THAT(Source().DataKey(Manifest(pkg)), HasError(ErrorCode::kKmsNotKmsKey));
}

TEST_F(KmsKeySourceTest, BootsTheKmsPackedModel) {
  KmsDataKeySource keys = Source();
  const BootRequest request{.model_id = kModelId,
                            .version = kVersion,
                            .owner_key = g_suite->owner->public_key(),
                            .store = *store_};
  BootOptions options;
  options.engine.num_threads = 2;
  auto booted = BootModel(request, keys, nullptr, options);
  ASSERT_THAT(booted, IsOk());
  EXPECT_NE(booted->embedder, nullptr);
  EXPECT_EQ(booted->files_decrypted, 1u);
  // A denied Decrypt fails the boot with the key-unavailable code.
  g_suite->kms->set_mode(FakeKms::Mode::kDenied);
  EXPECT_THAT(BootModel(request, keys, nullptr, options), HasError(ErrorCode::kBootKeyUnavailable));
}

}  // namespace
}  // namespace eml::enclave

// KmsClient against (1) a scripted loopback server, to check the exact request shape, the
// retry policy and the Decrypt-with-Recipient path end to end (CiphertextForRecipient made by
// `openssl cms`), and (2) a moto server (python/requirements-dev.txt), to check real
// GenerateDataKey / Encrypt / Decrypt exchanges and error replies.
#include "keys/kms/kms_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "http/testing/loopback_server.h"
#include "keys/kms/testing/moto_kms.h"
#include "testing/test_util.h"

namespace eml::keys::kms {
namespace {

using ::eml::http::testing::CannedReply;
using ::eml::http::testing::LoopbackServer;
using ::eml::http::testing::RecordedRequest;
using ::eml::http::testing::Reply;
using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using ::eml::testing::ReadFileBytes;
using ::testing::ElementsAre;
using ::testing::StartsWith;
namespace fs = std::filesystem;
using Json = nlohmann::json;

// 2015-08-30T12:36:00Z, the date of AWS's SigV4 test suite.
constexpr int64_t kFixedTime = 1440938160;

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto view = s.Reveal(InsecureSecretAccess::Get());
  return {view.begin(), view.end()};
}

KmsClientOptions TestOptions(const std::string& endpoint, std::vector<int64_t>* sleeps) {
  KmsClientOptions options;
  options.region = "us-east-1";
  options.endpoint = endpoint;
  options.credentials.access_key_id = "AKIDEXAMPLE";
  options.credentials.secret_access_key =
      SecretBytes::CopyFrom(Bytes("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
  options.now_unix_s = [] { return kFixedTime; };
  options.sleep_ms = [sleeps](int64_t ms) {
    if (sleeps != nullptr) {
      sleeps->push_back(ms);
    }
  };
  return options;
}

std::unique_ptr<KmsClient> MakeClient(KmsClientOptions options) {
  auto client = KmsClient::Create(std::move(options));
  EXPECT_THAT(client, IsOk());
  return client.has_value() ? std::move(client).value() : nullptr;
}

std::string Key32Json() {
  std::vector<uint8_t> key(32, 0x5a);
  return R"({"CiphertextBlob":"AQIDBA==","KeyId":"arn:aws:kms:us-east-1:1:key/k","Plaintext":")" +
         Base64Encode(key) + R"("})";
}

TEST(KmsClientTest, OptionsAndRegion) {
  EXPECT_EQ(RegionFromKeyArn("arn:aws:kms:eu-central-1:111122223333:key/1234"), "eu-central-1");
  EXPECT_EQ(RegionFromKeyArn("arn:aws-cn:kms:cn-north-1:1:alias/x"), "cn-north-1");
  EXPECT_EQ(RegionFromKeyArn("alias/x"), "");
  EXPECT_EQ(RegionFromKeyArn("arn:aws:s3:::bucket"), "");
  KmsClientOptions bad = TestOptions("ftp://x", nullptr);
  EXPECT_THAT(KmsClient::Create(std::move(bad)), HasError(ErrorCode::kHttpBadUrl));
  KmsClientOptions no_region = TestOptions("", nullptr);
  no_region.region = "";
  EXPECT_THAT(KmsClient::Create(std::move(no_region)), HasError(ErrorCode::kInvalidArgument));
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  EXPECT_THAT(OptionsFromEnvironment("alias/x"), HasError(ErrorCode::kKmsNoRegion));
}

TEST(KmsClientTest, SendsSignedJson11Request) {
  auto server =
      LoopbackServer::Start([](const RecordedRequest&) { return Reply(200, Key32Json()); });
  ASSERT_THAT(server, IsOk());
  auto client = MakeClient(TestOptions((*server)->Url(), nullptr));
  ASSERT_NE(client, nullptr);
  auto key = client->GenerateDataKey("arn:aws:kms:us-east-1:1:key/k");
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->plaintext.size(), 32u);

  auto requests = (*server)->Requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/");
  ASSERT_NE(r.Header("x-amz-target"), nullptr);
  EXPECT_EQ(*r.Header("x-amz-target"), "TrentService.GenerateDataKey");
  ASSERT_NE(r.Header("content-type"), nullptr);
  EXPECT_EQ(*r.Header("content-type"), "application/x-amz-json-1.1");
  ASSERT_NE(r.Header("x-amz-date"), nullptr);
  EXPECT_EQ(*r.Header("x-amz-date"), "20150830T123600Z");
  ASSERT_NE(r.Header("authorization"), nullptr);
  EXPECT_THAT(*r.Header("authorization"),
              StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/"
                         "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                         "Signature="));
  Json body = Json::parse(r.body.begin(), r.body.end());
  EXPECT_EQ(body["KeySpec"], "AES_256");
}

TEST(KmsClientTest, RetriesServerErrorsWithBackoff) {
  int calls = 0;
  auto server = LoopbackServer::Start([&calls](const RecordedRequest&) {
    ++calls;
    if (calls <= 2) {
      return Reply(503, R"({"__type":"KMSInternalException"})");
    }
    return Reply(200, R"({"CiphertextBlob":"AQID","KeyId":"k"})");
  });
  ASSERT_THAT(server, IsOk());
  std::vector<int64_t> sleeps;
  auto client = MakeClient(TestOptions((*server)->Url(), &sleeps));
  ASSERT_NE(client, nullptr);
  auto result = client->Encrypt("k", SecretBytes::CopyFrom(Bytes("secret")));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ((*server)->Requests().size(), 3u);
  EXPECT_THAT(sleeps, ElementsAre(100, 200));
}

TEST(KmsClientTest, PersistentThrottlingIsUnavailable) {
  auto server = LoopbackServer::Start([](const RecordedRequest&) {
    return Reply(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  });
  ASSERT_THAT(server, IsOk());
  std::vector<int64_t> sleeps;
  auto client = MakeClient(TestOptions((*server)->Url(), &sleeps));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->GenerateDataKey("k"), HasError(ErrorCode::kKmsUnavailable));
  EXPECT_EQ((*server)->Requests().size(), 4u);
  EXPECT_THAT(sleeps, ElementsAre(100, 200, 400));
}

TEST(KmsClientTest, ClientErrorsAreNotRetried) {
  auto server = LoopbackServer::Start([](const RecordedRequest&) {
    return Reply(400, R"({"__type":"AccessDeniedException","message":"no"})");
  });
  ASSERT_THAT(server, IsOk());
  auto client = MakeClient(TestOptions((*server)->Url(), nullptr));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->GenerateDataKey("k"), HasError(ErrorCode::kKmsAccessDenied));
  EXPECT_EQ((*server)->Requests().size(), 1u);
}

TEST(KmsClientTest, MalformedReplyIsBadResponse) {
  auto server = LoopbackServer::Start(
      [](const RecordedRequest&) { return Reply(200, R"({"KeyId":"k","Plaintext":"AA=="})"); });
  ASSERT_THAT(server, IsOk());
  auto client = MakeClient(TestOptions((*server)->Url(), nullptr));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->GenerateDataKey("k"), HasError(ErrorCode::kKmsBadResponse));
}

TEST(KmsClientTest, RefusedConnectionIsUnavailable) {
  std::string url;
  {
    auto server = LoopbackServer::Start([](const RecordedRequest&) { return Reply(200, "{}"); });
    ASSERT_THAT(server, IsOk());
    url = (*server)->Url();
  }  // closed: nothing listens on the port now
  auto options = TestOptions(url, nullptr);
  options.max_attempts = 2;
  auto client = MakeClient(std::move(options));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Decrypt(Bytes("blob"), "", nullptr), HasError(ErrorCode::kKmsUnavailable));
}

// Decrypt with a Recipient: the server checks the request carries the attestation document
// and answers with EnvelopedData that `openssl cms` encrypted to the enclave's certificate.
TEST(KmsClientTest, DecryptToEnclaveUnwrapsCiphertextForRecipient) {
  fs::path dir = fs::temp_directory_path() / ("eml_kms_recipient_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string key_pem = (dir / "key.pem").string();
  const std::string cert = (dir / "cert.pem").string();
  const std::string plain = (dir / "plain.bin").string();
  const std::string cms = (dir / "cms.ber").string();
  const std::string p8 = (dir / "key.p8").string();
  std::vector<uint8_t> data_key(32);
  for (size_t i = 0; i < data_key.size(); ++i) {
    data_key[i] = static_cast<uint8_t>(0xa0 + i);
  }
  {
    std::ofstream out(plain, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data_key.data()),
              static_cast<std::streamsize>(data_key.size()));
  }
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key_pem + " -out " +
                         cert +
                         " -subj /CN=enclave -days 1 2>/dev/null && "
                         "openssl pkcs8 -topk8 -nocrypt -outform DER -in " +
                         key_pem + " -out " + p8 + " && openssl cms -encrypt -binary -stream -in " +
                         plain + " -outform DER -out " + cms + " -recip " + cert +
                         " -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256"
                         " -keyopt rsa_mgf1_md:sha256 -aes256")
                            .c_str()),
            0);
  auto enclave_key = crypto::RsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(ReadFileBytes(p8)));
  ASSERT_THAT(enclave_key, IsOk());
  const std::string envelope = Base64Encode(ReadFileBytes(cms));
  fs::remove_all(dir);

  const std::vector<uint8_t> attestation = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22};
  auto server = LoopbackServer::Start([&](const RecordedRequest& r) {
    Json body = Json::parse(r.body.begin(), r.body.end(), nullptr, false);
    if (body.is_discarded() || !body.contains("Recipient") ||
        body["Recipient"]["KeyEncryptionAlgorithm"] != "RSAES_OAEP_SHA_256" ||
        body["Recipient"]["AttestationDocument"] != Base64Encode(attestation) ||
        body["CiphertextBlob"] != "AQIDBA==") {
      return Reply(400, R"({"__type":"ValidationException"})");
    }
    return Reply(200, R"({"KeyId":"arn:aws:kms:us-east-1:1:key/k","Plaintext":null,)"
                      R"("CiphertextForRecipient":")" +
                          envelope + R"(","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"})");
  });
  ASSERT_THAT(server, IsOk());
  auto client = MakeClient(TestOptions((*server)->Url(), nullptr));
  ASSERT_NE(client, nullptr);
  Recipient recipient{attestation};
  std::vector<uint8_t> blob = {1, 2, 3, 4};
  auto plaintext = DecryptToEnclave(*client, blob, "", recipient, *enclave_key);
  ASSERT_THAT(plaintext, IsOk());
  EXPECT_EQ(Reveal(*plaintext), data_key);
  auto requests = (*server)->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(*requests[0].Header("x-amz-target"), "TrentService.Decrypt");
}

// A moto server (keys/kms/testing/moto_kms.h), started once for the suite.
class MotoKmsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::MotoKmsServer::Start();
    if (!server.has_value()) {
      startup_error_ = new std::string(ToString(server.error()));
      return;
    }
    server_ = std::move(server).value().release();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete startup_error_;
    startup_error_ = nullptr;
  }

  void SetUp() override {
    if (startup_error_ != nullptr) {
      FAIL() << *startup_error_;
    }
    client_ = MakeClient(TestOptions(server_->endpoint(), nullptr));
    ASSERT_NE(client_, nullptr);
    auto arn = client_->CreateKey("eml test key");
    ASSERT_THAT(arn, IsOk());
    key_arn_ = *arn;
  }

  static std::string* startup_error_;
  static testing::MotoKmsServer* server_;
  std::unique_ptr<KmsClient> client_;
  std::string key_arn_;
};

std::string* MotoKmsTest::startup_error_ = nullptr;
testing::MotoKmsServer* MotoKmsTest::server_ = nullptr;

TEST_F(MotoKmsTest, GenerateDataKeyThenDecrypt) {
  auto key = client_->GenerateDataKey(key_arn_);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->plaintext.size(), kAes256DataKeySize);
  EXPECT_FALSE(key->ciphertext_blob.empty());
  auto decrypted = client_->Decrypt(key->ciphertext_blob, key_arn_);
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_EQ(Reveal(decrypted->plaintext), Reveal(key->plaintext));
  // Without a key id, KMS finds the key from the blob.
  auto again = client_->Decrypt(key->ciphertext_blob, "");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(Reveal(again->plaintext), Reveal(key->plaintext));
}

TEST_F(MotoKmsTest, EncryptThenDecrypt) {
  std::vector<uint8_t> message = Bytes("model weights key material");
  auto encrypted = client_->Encrypt(key_arn_, SecretBytes::CopyFrom(message));
  ASSERT_THAT(encrypted, IsOk());
  EXPECT_NE(encrypted->ciphertext_blob, message);
  auto decrypted = client_->Decrypt(encrypted->ciphertext_blob, key_arn_);
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_EQ(Reveal(decrypted->plaintext), message);
}

TEST_F(MotoKmsTest, UnknownKeyIsNotFound) {
  EXPECT_THAT(client_->GenerateDataKey("arn:aws:kms:us-east-1:123456789012:key/"
                                       "00000000-0000-0000-0000-000000000000"),
              HasError(ErrorCode::kKmsNotFound));
}

TEST_F(MotoKmsTest, BadCiphertextIsInvalidCiphertext) {
  auto encrypted = client_->Encrypt(key_arn_, SecretBytes::CopyFrom(Bytes("hello")));
  ASSERT_THAT(encrypted, IsOk());
  std::vector<uint8_t> blob = encrypted->ciphertext_blob;
  blob.back() ^= 0x01;
  EXPECT_THAT(client_->Decrypt(blob, key_arn_), HasError(ErrorCode::kKmsInvalidCiphertext));
}

}  // namespace
}  // namespace eml::keys::kms

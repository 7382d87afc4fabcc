#include "keys/kms/kms_messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::keys::kms {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using Json = nlohmann::json;

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

Json AsJson(const std::vector<uint8_t>& body) { return Json::parse(body.begin(), body.end()); }

std::string Key32Base64() {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(i);
  }
  return Base64Encode(key);
}

TEST(KmsRequestTest, GenerateDataKeyWithoutRecipient) {
  auto body = GenerateDataKeyRequestBody("arn:aws:kms:eu-west-1:111122223333:key/abc", nullptr);
  ASSERT_THAT(body, IsOk());
  Json json = AsJson(*body);
  EXPECT_EQ(json["KeyId"], "arn:aws:kms:eu-west-1:111122223333:key/abc");
  EXPECT_EQ(json["KeySpec"], "AES_256");
  EXPECT_FALSE(json.contains("Recipient"));
}

TEST(KmsRequestTest, DecryptWithRecipient) {
  Recipient recipient{{0x84, 0x44, 0xa1, 0x01}};
  std::vector<uint8_t> blob = {1, 2, 3};
  auto body = DecryptRequestBody(blob, "", &recipient);
  ASSERT_THAT(body, IsOk());
  Json json = AsJson(*body);
  EXPECT_EQ(json["CiphertextBlob"], "AQID");
  EXPECT_FALSE(json.contains("KeyId"));
  EXPECT_EQ(json["Recipient"]["KeyEncryptionAlgorithm"], "RSAES_OAEP_SHA_256");
  EXPECT_EQ(json["Recipient"]["AttestationDocument"], "hEShAQ==");
}

TEST(KmsRequestTest, EncryptCarriesBase64Plaintext) {
  auto body = EncryptRequestBody("k", SecretBytes::CopyFrom(Bytes("hi")));
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(AsJson(*body)["Plaintext"], "aGk=");
}

TEST(KmsRequestTest, BadArgumentsRefused) {
  EXPECT_THAT(GenerateDataKeyRequestBody("", nullptr), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(GenerateDataKeyRequestBody("bad\nid", nullptr),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(GenerateDataKeyRequestBody(std::string(kMaxKeyIdBytes + 1, 'k'), nullptr),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(EncryptRequestBody("k", SecretBytes(kMaxPlaintextBytes + 1)),
              HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(EncryptRequestBody("k", SecretBytes()), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(DecryptRequestBody({}, "", nullptr), HasError(ErrorCode::kInvalidArgument));
  Recipient empty;
  std::vector<uint8_t> blob = {1};
  EXPECT_THAT(DecryptRequestBody(blob, "", &empty), HasError(ErrorCode::kInvalidArgument));
}

TEST(KmsResponseTest, GenerateDataKeyParses) {
  std::string body = R"({"CiphertextBlob":"AQIDBA==","KeyId":"arn:k","Plaintext":")" +
                     Key32Base64() + R"(","KeyMaterialId":"x"})";
  auto key = ParseGenerateDataKeyResponse(Bytes(body), false);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->key_id, "arn:k");
  EXPECT_EQ(key->ciphertext_blob, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(key->plaintext.size(), 32u);
  EXPECT_TRUE(key->ciphertext_for_recipient.empty());
}

TEST(KmsResponseTest, GenerateDataKeyForRecipientParses) {
  std::string body = R"({"CiphertextBlob":"AQIDBA==","KeyId":"arn:k","Plaintext":null,)"
                     R"("CiphertextForRecipient":"MIAGCSqGSIb3DQEHA6CA"})";
  auto key = ParseGenerateDataKeyResponse(Bytes(body), true);
  ASSERT_THAT(key, IsOk());
  EXPECT_TRUE(key->plaintext.empty());
  EXPECT_EQ(key->ciphertext_for_recipient.size(), 15u);
}

TEST(KmsResponseTest, MalformedRepliesRefused) {
  const std::string k = Key32Base64();
  const std::vector<std::string> bad = {
      "",
      "[]",
      "not json",
      R"({"CiphertextBlob":"AQID","KeyId":"k","Plaintext":")" + k + R"("} trailing)",
      R"({"CiphertextBlob":"AQID","KeyId":"k","KeyId":"j","Plaintext":")" + k + R"("})",
      R"({"CiphertextBlob":"AQID","Plaintext":")" + k + R"("})",             // no KeyId
      R"({"KeyId":"k","Plaintext":")" + k + R"("})",                         // no blob
      R"({"CiphertextBlob":"AQID","KeyId":"k"})",                            // no plaintext
      R"({"CiphertextBlob":"AQID","KeyId":"k","Plaintext":"AAEC"})",         // 3-byte key
      R"({"CiphertextBlob":"!!!","KeyId":"k","Plaintext":")" + k + R"("})",  // bad base64
      R"({"CiphertextBlob":1,"KeyId":"k","Plaintext":")" + k + R"("})",      // wrong type
      R"({"CiphertextBlob":"AQID","KeyId":"k","Plaintext":")" + k +
          R"(","CiphertextForRecipient":"AQID"})",                           // both
      R"({"a":[[[[[[[[[[1]]]]]]]]]],"CiphertextBlob":"AQID","KeyId":"k"})",  // too deep
  };
  for (const std::string& body : bad) {
    EXPECT_THAT(ParseGenerateDataKeyResponse(Bytes(body), false),
                HasError(ErrorCode::kKmsBadResponse))
        << body;
  }
  // A Recipient request answered with a plaintext.
  EXPECT_THAT(ParseDecryptResponse(Bytes(R"({"KeyId":"k","Plaintext":"aGk="})"), true),
              HasError(ErrorCode::kKmsBadResponse));
  std::vector<uint8_t> huge(kMaxResponseBytes + 1, ' ');
  EXPECT_THAT(ParseEncryptResponse(huge), HasError(ErrorCode::kKmsBadResponse));
  EXPECT_THAT(ParseCreateKeyResponse(Bytes(R"({"KeyMetadata":{"KeyId":"k"}})")),
              HasError(ErrorCode::kKmsBadResponse));
}

TEST(KmsResponseTest, EncryptAndCreateKeyParse) {
  auto enc = ParseEncryptResponse(Bytes(R"({"CiphertextBlob":"AQID","KeyId":"k"})"));
  ASSERT_THAT(enc, IsOk());
  EXPECT_EQ(enc->ciphertext_blob.size(), 3u);
  auto arn = ParseCreateKeyResponse(Bytes(R"({"KeyMetadata":{"Arn":"arn:aws:kms:r:1:key/k"}})"));
  ASSERT_THAT(arn, IsOk());
  EXPECT_EQ(*arn, "arn:aws:kms:r:1:key/k");
}

TEST(KmsErrorTest, ErrorTypeStripsNamespace) {
  EXPECT_EQ(ErrorType(Bytes(R"({"__type":"com.amazonaws.kms#NotFoundException"})"), nullptr),
            "NotFoundException");
  std::string header = "AccessDeniedException:http://internal.amazon.com/";
  EXPECT_EQ(ErrorType(Bytes("{}"), &header), "AccessDeniedException");
  EXPECT_EQ(ErrorType(Bytes("garbage"), nullptr), "");
}

TEST(KmsErrorTest, MapsEachException) {
  EXPECT_EQ(MapErrorType(400, "AccessDeniedException").code, ErrorCode::kKmsAccessDenied);
  EXPECT_EQ(MapErrorType(400, "NotFoundException").code, ErrorCode::kKmsNotFound);
  EXPECT_EQ(MapErrorType(400, "KMSInvalidStateException").code, ErrorCode::kKmsInvalidState);
  EXPECT_EQ(MapErrorType(400, "DisabledException").code, ErrorCode::kKmsInvalidState);
  EXPECT_EQ(MapErrorType(400, "InvalidCiphertextException").code, ErrorCode::kKmsInvalidCiphertext);
  EXPECT_EQ(MapErrorType(400, "UnrecognizedClientException").code, ErrorCode::kAwsAuthFailed);
  EXPECT_EQ(MapErrorType(400, "ThrottlingException").code, ErrorCode::kKmsUnavailable);
  EXPECT_EQ(MapErrorType(500, "KMSInternalException").code, ErrorCode::kKmsUnavailable);
  EXPECT_EQ(MapErrorType(400, "ValidationException").code, ErrorCode::kKmsRequestRejected);
  EXPECT_TRUE(IsRetryable(503, ""));
  EXPECT_TRUE(IsRetryable(400, "ThrottlingException"));
  EXPECT_FALSE(IsRetryable(400, "NotFoundException"));
}

}  // namespace
}  // namespace eml::keys::kms

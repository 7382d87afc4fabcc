#include "keys/kms/key_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keys/kms/kms_messages.h"
#include "testing/test_util.h"

namespace eml::keys::kms {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr char kArn[] =
    "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab";

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

KmsKeyFile Sample() {
  KmsKeyFile file;
  file.key_arn = kArn;
  file.ciphertext_blob = {0x01, 0x02, 0x03, 0xfe, 0xff};
  return file;
}

TEST(KmsKeyFileTest, CanonicalRoundTrip) {
  auto bytes = SerializeKmsKeyFile(Sample());
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()),
            std::string("{\"ciphertext_blob\":\"AQID/v8=\",\"key_arn\":\"") + kArn +
                "\",\"version\":1}\n");
  auto parsed = ParseKmsKeyFile(*bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->key_arn, kArn);
  EXPECT_EQ(parsed->ciphertext_blob, Sample().ciphertext_blob);
}

TEST(KmsKeyFileTest, LargestBlobRoundTrips) {
  KmsKeyFile file = Sample();
  file.ciphertext_blob.assign(kMaxCiphertextBlobBytes, 0xab);
  auto bytes = SerializeKmsKeyFile(file);
  ASSERT_THAT(bytes, IsOk());
  EXPECT_THAT(ParseKmsKeyFile(*bytes), IsOk());
  file.ciphertext_blob.push_back(0);
  EXPECT_THAT(SerializeKmsKeyFile(file), HasError(ErrorCode::kInvalidArgument));
}

TEST(KmsKeyFileTest, SerializeRefusesBadInput) {
  KmsKeyFile file = Sample();
  file.ciphertext_blob.clear();
  EXPECT_THAT(SerializeKmsKeyFile(file), HasError(ErrorCode::kInvalidArgument));
  file = Sample();
  file.key_arn = "alias/models";
  EXPECT_THAT(SerializeKmsKeyFile(file), HasError(ErrorCode::kInvalidArgument));
  file.key_arn = std::string(kArn) + "\"";
  EXPECT_THAT(SerializeKmsKeyFile(file), HasError(ErrorCode::kInvalidArgument));
}

TEST(KmsKeyFileTest, OtherSpellingsAreMalformed) {
  const std::string good = std::string("{\"ciphertext_blob\":\"AQID/v8=\",\"key_arn\":\"") + kArn +
                           "\",\"version\":1}\n";
  ASSERT_THAT(ParseKmsKeyFile(Bytes(good)), IsOk());
  const std::vector<std::string> bad = {
      "",
      good.substr(0, good.size() - 1),                                  // no newline
      good + "\n",                                                      // trailing bytes
      std::string("{ ") + good.substr(1),                               // whitespace
      std::string(good).replace(good.find("1}"), 1, "2"),               // version 2
      std::string(good).replace(good.find("AQID/v8="), 8, "AQID/v8"),   // bad base64
      std::string(good).replace(good.find("AQID/v8="), 8, "AQID_v8="),  // base64url
      std::string(good).replace(good.find("AQID/v8="), 8, ""),          // empty blob
      std::string(good).replace(good.find("eu-west-1"), 9, "EU"),       // not an ARN
      std::string(good).replace(good.find("key/"), 4, "key\\/"),        // escape
      "{\"key_arn\":\"" + std::string(kArn) +
          "\",\"ciphertext_blob\":\"AQID/v8=\",\"version\":1}\n",
  };
  for (const std::string& text : bad) {
    EXPECT_THAT(ParseKmsKeyFile(Bytes(text)), HasError(ErrorCode::kKmsKeyFileMalformed)) << text;
  }
  EXPECT_THAT(ParseKmsKeyFile(std::vector<uint8_t>(kMaxKmsKeyFileBytes + 1, 'a')),
              HasError(ErrorCode::kKmsKeyFileMalformed));
}

TEST(KmsKeyFileTest, KeyIds) {
  EXPECT_EQ(KeyIdForArn(kArn), std::string("kms:") + kArn);
  auto arn = KeyArnFromKeyId(KeyIdForArn(kArn));
  ASSERT_THAT(arn, IsOk());
  EXPECT_EQ(*arn, kArn);
  EXPECT_THAT(KeyArnFromKeyId("dek-0123"), HasError(ErrorCode::kKmsNotKmsKey));
  EXPECT_THAT(KeyArnFromKeyId("kms:alias/x"), HasError(ErrorCode::kKmsNotKmsKey));
  EXPECT_THAT(KeyArnFromKeyId(kArn), HasError(ErrorCode::kKmsNotKmsKey));
}

}  // namespace
}  // namespace eml::keys::kms

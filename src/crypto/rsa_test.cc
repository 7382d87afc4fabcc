#include "crypto/rsa.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/ecdsa.h"
#include "crypto/testing/test_pki.h"
#include "crypto/testing/wycheproof_util.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// Wycheproof RSA-OAEP (SHA-256 label hash) driver. "valid" cases decrypt to exactly msg;
// "invalid" ones fail with kCryptoDecryptFailed. No "acceptable" cases exist in these files.
void RunOaepWycheproof(const std::string& file, OaepMgf1Hash mgf1) {
  nlohmann::json doc = testing::LoadWycheproof(file);
  int cases = 0;
  for (const auto& group : doc.at("testGroups")) {
    testing::ExpectOnlyFields(group,
                              {"type", "source", "keySize", "sha", "mgf", "mgfSha", "privateKey",
                               "privateKeyPkcs8", "privateKeyPem", "privateKeyJwk", "tests"});
    EXPECT_EQ(group.at("sha").get<std::string>(), "SHA-256");
    EXPECT_EQ(group.at("mgf").get<std::string>(), "MGF1");
    EXPECT_EQ(group.at("mgfSha").get<std::string>(),
              mgf1 == OaepMgf1Hash::kSha1 ? "SHA-1" : "SHA-256");
    Result<RsaPrivateKey> key = RsaPrivateKey::FromPkcs8Der(
        SecretBytes::CopyFrom(testing::HexField(group, "privateKeyPkcs8")));
    ASSERT_THAT(key, IsOk());
    for (const auto& test : group.at("tests")) {
      ++cases;
      SCOPED_TRACE(testing::CaseName(file, test));
      testing::ExpectOnlyFields(test, {"tcId", "comment", "flags", "msg", "ct", "label", "result"});
      Result<SecretBytes> plain = key->DecryptOaepSha256(testing::HexField(test, "ct"), mgf1,
                                                         testing::HexField(test, "label"));
      switch (testing::ResultOf(test)) {
        case testing::WycheproofResult::kValid:
          ASSERT_THAT(plain, IsOk());
          EXPECT_EQ(HexEncode(plain->Reveal(InsecureSecretAccess::Get())),
                    test.at("msg").get<std::string>());
          break;
        case testing::WycheproofResult::kInvalid:
          EXPECT_THAT(plain, HasError(ErrorCode::kCryptoDecryptFailed));
          break;
        case testing::WycheproofResult::kAcceptable:
          ADD_FAILURE() << "no acceptable RSA-OAEP cases are allowlisted";
          break;
      }
    }
  }
  EXPECT_EQ(cases, doc.at("numberOfTests").get<int>());
}

TEST(RsaOaepWycheproofTest, Mgf1Sha1) {
  RunOaepWycheproof("rsa_oaep_2048_sha256_mgf1sha1_test.json", OaepMgf1Hash::kSha1);
}
TEST(RsaOaepWycheproofTest, Mgf1Sha256) {
  RunOaepWycheproof("rsa_oaep_2048_sha256_mgf1sha256_test.json", OaepMgf1Hash::kSha256);
}

class RsaKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<RsaPrivateKey> key = RsaPrivateKey::Generate(2048);
    ASSERT_THAT(key, IsOk());
    key_ = new RsaPrivateKey(std::move(key).value());
  }
  static void TearDownTestSuite() {
    delete key_;
    key_ = nullptr;
  }
  static RsaPrivateKey* key_;
};
RsaPrivateKey* RsaKeyTest::key_ = nullptr;

TEST_F(RsaKeyTest, RoundTripBothMgf1AndLabel) {
  std::vector<uint8_t> message(32, 0x5a);
  std::vector<uint8_t> label = {'k', 'm', 's'};
  for (OaepMgf1Hash mgf1 : {OaepMgf1Hash::kSha1, OaepMgf1Hash::kSha256}) {
    Result<std::vector<uint8_t>> ct = key_->EncryptOaepSha256(message, mgf1, label);
    ASSERT_THAT(ct, IsOk());
    EXPECT_EQ(ct->size(), 256u);
    Result<SecretBytes> pt = key_->DecryptOaepSha256(*ct, mgf1, label);
    ASSERT_THAT(pt, IsOk());
    EXPECT_EQ(HexEncode(pt->Reveal(InsecureSecretAccess::Get())), HexEncode(message));
    // Wrong label, wrong MGF1 hash: the same single error.
    EXPECT_THAT(key_->DecryptOaepSha256(*ct, mgf1), HasError(ErrorCode::kCryptoDecryptFailed));
    OaepMgf1Hash other = mgf1 == OaepMgf1Hash::kSha1 ? OaepMgf1Hash::kSha256 : OaepMgf1Hash::kSha1;
    EXPECT_THAT(key_->DecryptOaepSha256(*ct, other, label),
                HasError(ErrorCode::kCryptoDecryptFailed));
  }
  EXPECT_THAT(key_->DecryptOaepSha256(std::vector<uint8_t>(255, 1), OaepMgf1Hash::kSha256),
              HasError(ErrorCode::kCryptoDecryptFailed));
  EXPECT_FALSE(key_->PublicKeySpkiDer().empty());
}

TEST_F(RsaKeyTest, MessageTooLong) {
  // 256 - 2 * 32 - 2 = 190 bytes is the most a 2048-bit key can carry.
  EXPECT_THAT(key_->EncryptOaepSha256(std::vector<uint8_t>(190), OaepMgf1Hash::kSha256), IsOk());
  EXPECT_THAT(key_->EncryptOaepSha256(std::vector<uint8_t>(191), OaepMgf1Hash::kSha256),
              HasError(ErrorCode::kCryptoMessageTooLong));
}

TEST(RsaTest, GenerateRejectsBadSizes) {
  EXPECT_THAT(RsaPrivateKey::Generate(1024), HasError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(RsaPrivateKey::Generate(2049), HasError(ErrorCode::kInvalidArgument));
}

TEST(RsaTest, Pkcs8Rejected) {
  EXPECT_THAT(RsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(std::vector<uint8_t>{0x30, 0x00})),
              HasError(ErrorCode::kCryptoBadKey));
}

TEST(RsaTest, EcKeyRejected) {
  Result<EcdsaPrivateKey> ec = EcdsaPrivateKey::Generate(EcdsaCurve::kP256);
  ASSERT_THAT(ec, IsOk());
  EXPECT_THAT(RsaPrivateKey::FromPkcs8Der(ec->ToPkcs8Der()), HasError(ErrorCode::kCryptoBadKey));
}

// Keys below 2048 bits are refused by size (generated by OpenSSL directly, bypassing our
// Generate, which would refuse to make one).
TEST(RsaTest, SmallModulusRejected) {
  std::vector<uint8_t> pkcs8 = testing::GenerateRsaPkcs8ForTest(1024);
  EXPECT_THAT(RsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(pkcs8)),
              HasError(ErrorCode::kCryptoBadKeyLength));
}

}  // namespace
}  // namespace eml::crypto

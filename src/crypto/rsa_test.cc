#include "crypto/rsa.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/ecdsa.h"
#include "crypto/testing/test_pki.h"
#include "crypto/testing/wycheproof_util.h"
#include "crypto/x509.h"
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

// The public half of a 2048-bit key with e = 65537 as (n, e), cut out of its fixed-layout SPKI:
// 33 header bytes, n (256 bytes), the INTEGER header 02 03, e (3 bytes).
struct Components {
  std::vector<uint8_t> n;
  std::vector<uint8_t> e;
};
Components SplitSpki2048(const std::vector<uint8_t>& spki) {
  EXPECT_EQ(spki.size(), 294u);
  EXPECT_EQ(spki[32], 0x00);  // The sign byte before n.
  EXPECT_EQ(spki[289], 0x02);
  return {std::vector<uint8_t>(spki.begin() + 33, spki.begin() + 289),
          std::vector<uint8_t>(spki.begin() + 291, spki.end())};
}

TEST_F(RsaKeyTest, Pkcs1Sha256SignVerifyRoundTrip) {
  const std::vector<uint8_t> message = {'h', 'e', 'a', 'd', '.', 'b', 'o', 'd', 'y'};
  Result<std::vector<uint8_t>> sig = key_->SignPkcs1Sha256(message);
  ASSERT_THAT(sig, IsOk());
  ASSERT_EQ(sig->size(), 256u);
  Result<RsaPublicKey> pub = RsaPublicKey::FromSpkiDer(key_->PublicKeySpkiDer());
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->modulus_bits(), 2048);
  EXPECT_EQ(pub->SpkiDer(), key_->PublicKeySpkiDer());
  EXPECT_THAT(pub->VerifyPkcs1Sha256(message, *sig), IsOk());
  // PKCS#1 v1.5 is deterministic.
  EXPECT_EQ(*key_->SignPkcs1Sha256(message), *sig);

  std::vector<uint8_t> flipped = *sig;
  flipped[100] ^= 0x01;
  EXPECT_THAT(pub->VerifyPkcs1Sha256(message, flipped),
              HasError(ErrorCode::kCryptoSignatureInvalid));
  std::vector<uint8_t> other = message;
  other.back() = 'x';
  EXPECT_THAT(pub->VerifyPkcs1Sha256(other, *sig), HasError(ErrorCode::kCryptoSignatureInvalid));
  std::vector<uint8_t> short_sig(sig->begin(), sig->end() - 1);
  EXPECT_THAT(pub->VerifyPkcs1Sha256(message, short_sig),
              HasError(ErrorCode::kCryptoBadSignatureLength));
  // A representative >= n (all 0xff) is invalid, not a crash or a length error.
  EXPECT_THAT(pub->VerifyPkcs1Sha256(message, std::vector<uint8_t>(256, 0xff)),
              HasError(ErrorCode::kCryptoSignatureInvalid));
}

TEST_F(RsaKeyTest, FromComponentsMatchesSpki) {
  const std::vector<uint8_t> spki = key_->PublicKeySpkiDer();
  Components c = SplitSpki2048(spki);
  EXPECT_EQ(c.e, (std::vector<uint8_t>{0x01, 0x00, 0x01}));
  Result<RsaPublicKey> pub = RsaPublicKey::FromComponents(c.n, c.e);
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->SpkiDer(), spki);
  const std::vector<uint8_t> message = {1, 2, 3};
  EXPECT_THAT(pub->VerifyPkcs1Sha256(message, *key_->SignPkcs1Sha256(message)), IsOk());
}

TEST_F(RsaKeyTest, FromComponentsRejectsBadEncodings) {
  Components c = SplitSpki2048(key_->PublicKeySpkiDer());
  std::vector<uint8_t> padded_n = c.n;
  padded_n.insert(padded_n.begin(), 0x00);
  EXPECT_THAT(RsaPublicKey::FromComponents(padded_n, c.e), HasError(ErrorCode::kCryptoBadKey));
  EXPECT_THAT(RsaPublicKey::FromComponents(c.n, std::vector<uint8_t>{0x00, 0x01, 0x00, 0x01}),
              HasError(ErrorCode::kCryptoBadKey));
  EXPECT_THAT(RsaPublicKey::FromComponents(c.n, std::vector<uint8_t>{0x01, 0x00, 0x00}),
              HasError(ErrorCode::kCryptoBadKey));  // Even.
  EXPECT_THAT(RsaPublicKey::FromComponents(c.n, std::vector<uint8_t>{0x01}),
              HasError(ErrorCode::kCryptoBadKey));
  EXPECT_THAT(RsaPublicKey::FromComponents(c.n, std::vector<uint8_t>(9, 0x01)),
              HasError(ErrorCode::kCryptoBadKey));
  EXPECT_THAT(RsaPublicKey::FromComponents({}, c.e), HasError(ErrorCode::kCryptoBadKey));
  // 1024 bits and 8200 bits are outside the accepted range.
  EXPECT_THAT(RsaPublicKey::FromComponents(std::span(c.n).first(128), c.e),
              HasError(ErrorCode::kCryptoBadKeyLength));
  EXPECT_THAT(RsaPublicKey::FromComponents(std::vector<uint8_t>(1025, 0xc5), c.e),
              HasError(ErrorCode::kCryptoBadKeyLength));
  // An even modulus cannot be an RSA modulus.
  std::vector<uint8_t> even_n = c.n;
  even_n.back() &= 0xfe;
  EXPECT_THAT(RsaPublicKey::FromComponents(even_n, c.e), HasError(ErrorCode::kCryptoBadKey));
}

TEST(RsaPublicKeyTest, FromSpkiRejects) {
  EXPECT_THAT(RsaPublicKey::FromSpkiDer(std::vector<uint8_t>{0x30, 0x00}),
              HasError(ErrorCode::kCryptoBadKey));
  Result<EcdsaPrivateKey> ec = EcdsaPrivateKey::Generate(EcdsaCurve::kP256);
  ASSERT_THAT(ec, IsOk());
  EXPECT_THAT(RsaPublicKey::FromSpkiDer(ec->public_key().SpkiDer()),
              HasError(ErrorCode::kCryptoBadKey));
}

// Known answer: a real Google Confidential Space token (RS256) verifies with its leaf key.
TEST(RsaPublicKeyTest, VerifiesRealConfidentialSpaceToken) {
  const std::string token =
      ::eml::testing::ReadFileText(::eml::testing::SharedVectorPath("gcp/oak/valid.jwt"));
  const size_t first_dot = token.find('.');
  const size_t second_dot = token.find('.', first_dot + 1);
  ASSERT_NE(second_dot, std::string::npos);
  const std::vector<uint8_t> header_bytes = *Base64UrlDecode(token.substr(0, first_dot));
  nlohmann::json header = nlohmann::json::parse(header_bytes.begin(), header_bytes.end());
  Result<Certificate> leaf =
      Certificate::FromDer(*Base64Decode(header["x5c"][0].get<std::string>()));
  ASSERT_THAT(leaf, IsOk());
  Result<RsaPublicKey> key = RsaPublicKey::FromSpkiDer(leaf->SpkiDer());
  ASSERT_THAT(key, IsOk());
  Result<std::vector<uint8_t>> sig = Base64UrlDecode(token.substr(second_dot + 1));
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(key->VerifyPkcs1Sha256(AsBytes(std::string_view(token).substr(0, second_dot)), *sig),
              IsOk());
  (*sig)[0] ^= 0x80;
  EXPECT_THAT(key->VerifyPkcs1Sha256(AsBytes(std::string_view(token).substr(0, second_dot)), *sig),
              HasError(ErrorCode::kCryptoSignatureInvalid));
}

}  // namespace
}  // namespace eml::crypto

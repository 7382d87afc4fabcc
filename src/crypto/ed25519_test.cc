#include "crypto/ed25519.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/internal/ed25519_small_order.h"
#include "crypto/testing/failing_rand.h"
#include "crypto/testing/wycheproof_util.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

struct Rfc8032Case {
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1 to TEST 3.
const Rfc8032Case kRfc8032Cases[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
     "f9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0"
     "f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f76098"
     "4dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Rfc8032Case& c : kRfc8032Cases) {
    SCOPED_TRACE(c.public_key);
    Result<Ed25519PrivateKey> key = Ed25519PrivateKey::FromSeed(SecretBytes::CopyFrom(Hex(c.seed)));
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(HexEncode(key->public_key().bytes()), c.public_key);
    std::vector<uint8_t> message = Hex(c.message);
    EXPECT_EQ(HexEncode(key->Sign(message)), c.signature);
    Result<Ed25519PublicKey> pub = Ed25519PublicKey::FromBytes(Hex(c.public_key));
    ASSERT_THAT(pub, IsOk());
    EXPECT_THAT(pub->Verify(message, Hex(c.signature)), IsOk());
    std::vector<uint8_t> other = message;
    other.push_back(0);
    EXPECT_THAT(pub->Verify(other, Hex(c.signature)), HasError(ErrorCode::kCryptoSignatureInvalid));
  }
}

TEST(Ed25519Test, GenerateSignVerify) {
  Result<Ed25519PrivateKey> key = Ed25519PrivateKey::Generate();
  ASSERT_THAT(key, IsOk());
  std::vector<uint8_t> message = {1, 2, 3};
  auto sig = key->Sign(message);
  EXPECT_THAT(key->public_key().Verify(message, sig), IsOk());
  Ed25519PublicKey copy = key->public_key();  // Public keys are copyable values.
  sig[10] ^= 0x01;
  EXPECT_THAT(copy.Verify(message, sig), HasError(ErrorCode::kCryptoSignatureInvalid));
}

TEST(Ed25519Test, GenerateFailsWhenRandomFails) {
  testing::ScopedFailingRandForTest failing;
  EXPECT_THAT(Ed25519PrivateKey::Generate(), HasError(ErrorCode::kCryptoRandomFailed));
}

TEST(Ed25519Test, BadLengths) {
  EXPECT_THAT(Ed25519PublicKey::FromBytes(std::vector<uint8_t>(31)),
              HasError(ErrorCode::kCryptoBadKeyLength));
  EXPECT_THAT(Ed25519PrivateKey::FromSeed(SecretBytes(64)),
              HasError(ErrorCode::kCryptoBadKeyLength));
  Result<Ed25519PublicKey> pub = Ed25519PublicKey::FromBytes(Hex(kRfc8032Cases[0].public_key));
  ASSERT_THAT(pub, IsOk());
  std::vector<uint8_t> sig = Hex(kRfc8032Cases[0].signature);
  sig.push_back(0);
  EXPECT_THAT(pub->Verify({}, sig), HasError(ErrorCode::kCryptoBadSignatureLength));
  sig.resize(63);
  EXPECT_THAT(pub->Verify({}, sig), HasError(ErrorCode::kCryptoBadSignatureLength));
}

// Every encoding in the generated table is refused as a public key, either as non-canonical
// (y >= p, checked first) or as small order.
TEST(Ed25519StrictTest, SmallOrderPublicKeysRejected) {
  int small_order = 0;
  for (const auto& encoding : internal::kEd25519SmallOrderEncodings) {
    Result<Ed25519PublicKey> pub = Ed25519PublicKey::FromBytes(encoding);
    ASSERT_FALSE(pub.has_value()) << HexEncode(encoding);
    EXPECT_TRUE(pub.code() == ErrorCode::kCryptoSmallOrderKey ||
                pub.code() == ErrorCode::kCryptoNonCanonicalKey);
    small_order += pub.code() == ErrorCode::kCryptoSmallOrderKey ? 1 : 0;
  }
  EXPECT_EQ(small_order, 10);  // 8 canonical + 2 with the sign bit set on x = 0.
  // The identity: with it, (R = identity, S = 0) would "verify" any message under lax rules.
  EXPECT_THAT(Ed25519PublicKey::FromBytes(
                  Hex("0100000000000000000000000000000000000000000000000000000000000000")),
              HasError(ErrorCode::kCryptoSmallOrderKey));
}

TEST(Ed25519StrictTest, NonCanonicalPublicKeyRejected) {
  // y = p + 3: y = 3 is on the curve, so only canonicity rejects it.
  EXPECT_THAT(Ed25519PublicKey::FromBytes(
                  Hex("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
              HasError(ErrorCode::kCryptoNonCanonicalKey));
}

TEST(Ed25519StrictTest, NotOnCurveRejected) {
  // y = 2: (y^2 - 1) / (d*y^2 + 1) is not a square mod p.
  EXPECT_THAT(Ed25519PublicKey::FromBytes(
                  Hex("0200000000000000000000000000000000000000000000000000000000000000")),
              HasError(ErrorCode::kCryptoBadKey));
}

TEST(Ed25519StrictTest, NonCanonicalSRejected) {
  Result<Ed25519PublicKey> pub = Ed25519PublicKey::FromBytes(Hex(kRfc8032Cases[0].public_key));
  ASSERT_THAT(pub, IsOk());
  // TEST 1's signature with S replaced by S + L: the same point equation, a different
  // encoding (malleability). RFC 8032 also requires S < L.
  EXPECT_THAT(pub->Verify({}, Hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e0652249"
                                  "01554c8c7872aa064e049dbb3013fbf29380d25bf5f0595bbe2465514143"
                                  "8e7a101b")),
              HasError(ErrorCode::kCryptoNonCanonicalSignature));
  // S = 2^256 - 1.
  std::vector<uint8_t> sig = Hex(kRfc8032Cases[0].signature);
  std::fill(sig.begin() + 32, sig.end(), 0xff);
  EXPECT_THAT(pub->Verify({}, sig), HasError(ErrorCode::kCryptoNonCanonicalSignature));
}

TEST(Ed25519StrictTest, SmallOrderRRejected) {
  Result<Ed25519PublicKey> pub = Ed25519PublicKey::FromBytes(Hex(kRfc8032Cases[0].public_key));
  ASSERT_THAT(pub, IsOk());
  for (const auto& encoding : internal::kEd25519SmallOrderEncodings) {
    std::vector<uint8_t> sig(64, 0);
    std::copy(encoding.begin(), encoding.end(), sig.begin());
    EXPECT_THAT(pub->Verify({}, sig), HasError(ErrorCode::kCryptoNonCanonicalSignature))
        << HexEncode(encoding);
  }
}

TEST(Ed25519StrictTest, NonCanonicalRRejected) {
  Result<Ed25519PublicKey> pub = Ed25519PublicKey::FromBytes(Hex(kRfc8032Cases[0].public_key));
  ASSERT_THAT(pub, IsOk());
  std::vector<uint8_t> sig = Hex(kRfc8032Cases[0].signature);
  std::vector<uint8_t> r = Hex("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  std::copy(r.begin(), r.end(), sig.begin());
  EXPECT_THAT(pub->Verify({}, sig), HasError(ErrorCode::kCryptoNonCanonicalSignature));
}

// Wycheproof ed25519_test.json (RFC 8032 semantics). Every "valid" case verifies and every
// "invalid" case fails. Strict verification could differ from RFC 8032 only for small-order
// or non-canonical keys and R values; kStrictOnlyRejections lists the valid cases we reject
// for that reason (none in this file: its valid cases use ordinary keys and R values).
TEST(Ed25519WycheproofTest, AllCases) {
  const std::string file = "ed25519_test.json";
  const std::vector<int> kStrictOnlyRejections = {};
  nlohmann::json doc = testing::LoadWycheproof(file);
  int cases = 0;
  for (const auto& group : doc.at("testGroups")) {
    testing::ExpectOnlyFields(group, {"type", "source", "publicKey", "publicKeyDer", "publicKeyPem",
                                      "publicKeyJwk", "tests"});
    Result<Ed25519PublicKey> pub =
        Ed25519PublicKey::FromBytes(testing::HexField(group.at("publicKey"), "pk"));
    ASSERT_THAT(pub, IsOk());
    for (const auto& test : group.at("tests")) {
      ++cases;
      SCOPED_TRACE(testing::CaseName(file, test));
      testing::ExpectOnlyFields(test, {"tcId", "comment", "flags", "msg", "sig", "result"});
      Status status = pub->Verify(testing::HexField(test, "msg"), testing::HexField(test, "sig"));
      int tc_id = test.at("tcId").get<int>();
      bool strict_only = std::find(kStrictOnlyRejections.begin(), kStrictOnlyRejections.end(),
                                   tc_id) != kStrictOnlyRejections.end();
      switch (testing::ResultOf(test)) {
        case testing::WycheproofResult::kValid:
          if (strict_only) {
            EXPECT_FALSE(status.has_value());
          } else {
            EXPECT_THAT(status, IsOk());
          }
          break;
        case testing::WycheproofResult::kInvalid:
          EXPECT_FALSE(status.has_value());
          break;
        case testing::WycheproofResult::kAcceptable:
          ADD_FAILURE() << "no acceptable Ed25519 cases are allowlisted";
          break;
      }
    }
  }
  EXPECT_EQ(cases, doc.at("numberOfTests").get<int>());
}

}  // namespace
}  // namespace eml::crypto

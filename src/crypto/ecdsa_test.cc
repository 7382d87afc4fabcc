#include "crypto/ecdsa.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/testing/failing_rand.h"
#include "crypto/testing/wycheproof_util.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

enum class SigFormat { kDer, kRaw };

// Wycheproof ECDSA driver. Files with DER signatures (ecdsa_secp*_test.json) go through
// VerifyDer, which accepts only strict DER: the BER variants Wycheproof marks invalid must fail
// (kCryptoBadSignatureLength) or fail verification. P1363 files go through VerifyRaw. Neither
// file has "acceptable" cases. Keys are loaded from both the SEC 1 point and the SPKI DER, and
// the two must agree.
void RunEcdsaWycheproof(const std::string& file, EcdsaCurve curve, SigFormat format) {
  nlohmann::json doc = testing::LoadWycheproof(file);
  int cases = 0;
  int valid = 0;
  for (const auto& group : doc.at("testGroups")) {
    testing::ExpectOnlyFields(group, {"type", "source", "publicKey", "publicKeyDer", "publicKeyPem",
                                      "publicKeyJwk", "sha", "tests"});
    EXPECT_EQ(group.at("sha").get<std::string>(),
              curve == EcdsaCurve::kP256 ? "SHA-256" : "SHA-384");
    Result<EcdsaPublicKey> key =
        EcdsaPublicKey::FromSec1(curve, testing::HexField(group.at("publicKey"), "uncompressed"));
    ASSERT_THAT(key, IsOk());
    Result<EcdsaPublicKey> from_spki =
        EcdsaPublicKey::FromSpkiDer(testing::HexField(group, "publicKeyDer"));
    ASSERT_THAT(from_spki, IsOk());
    EXPECT_EQ(from_spki->curve(), curve);
    EXPECT_EQ(from_spki->ToSec1Uncompressed(), key->ToSec1Uncompressed());
    EXPECT_EQ(HexEncode(key->ToSec1Uncompressed()),
              group.at("publicKey").at("uncompressed").get<std::string>());
    for (const auto& test : group.at("tests")) {
      ++cases;
      SCOPED_TRACE(testing::CaseName(file, test));
      testing::ExpectOnlyFields(test, {"tcId", "comment", "flags", "msg", "sig", "result"});
      std::vector<uint8_t> msg = testing::HexField(test, "msg");
      std::vector<uint8_t> sig = testing::HexField(test, "sig");
      Status status =
          format == SigFormat::kDer ? key->VerifyDer(msg, sig) : key->VerifyRaw(msg, sig);
      switch (testing::ResultOf(test)) {
        case testing::WycheproofResult::kValid:
          ++valid;
          EXPECT_THAT(status, IsOk());
          break;
        case testing::WycheproofResult::kInvalid:
          EXPECT_TRUE(status.code() == ErrorCode::kCryptoBadSignatureLength ||
                      status.code() == ErrorCode::kCryptoSignatureInvalid)
              << ErrorCodeName(status.code());
          break;
        case testing::WycheproofResult::kAcceptable:
          ADD_FAILURE() << "no acceptable ECDSA cases are allowlisted";
          break;
      }
    }
  }
  EXPECT_EQ(cases, doc.at("numberOfTests").get<int>());
  EXPECT_GT(valid, 0);
}

TEST(EcdsaWycheproofTest, P256Der) {
  RunEcdsaWycheproof("ecdsa_secp256r1_sha256_test.json", EcdsaCurve::kP256, SigFormat::kDer);
}
TEST(EcdsaWycheproofTest, P256Raw) {
  RunEcdsaWycheproof("ecdsa_secp256r1_sha256_p1363_test.json", EcdsaCurve::kP256, SigFormat::kRaw);
}
TEST(EcdsaWycheproofTest, P384Der) {
  RunEcdsaWycheproof("ecdsa_secp384r1_sha384_test.json", EcdsaCurve::kP384, SigFormat::kDer);
}
TEST(EcdsaWycheproofTest, P384Raw) {
  RunEcdsaWycheproof("ecdsa_secp384r1_sha384_p1363_test.json", EcdsaCurve::kP384, SigFormat::kRaw);
}

class EcdsaCurveTest : public ::testing::TestWithParam<EcdsaCurve> {};

TEST_P(EcdsaCurveTest, SignVerifyRoundTrip) {
  Result<EcdsaPrivateKey> key = EcdsaPrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  std::vector<uint8_t> message = {1, 2, 3, 4};
  Result<std::vector<uint8_t>> sig = key->SignRaw(message);
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(sig->size(), 2 * EcdsaFieldSize(GetParam()));
  EXPECT_THAT(key->public_key().VerifyRaw(message, *sig), IsOk());
  if (GetParam() == EcdsaCurve::kP256) {
    EXPECT_THAT(key->public_key().VerifyDigestRaw(Sha256(message), *sig), IsOk());
  } else {
    EXPECT_THAT(key->public_key().VerifyDigestRaw(Sha384(message), *sig), IsOk());
  }
  message[0] ^= 1;
  EXPECT_THAT(key->public_key().VerifyRaw(message, *sig),
              HasError(ErrorCode::kCryptoSignatureInvalid));
  EXPECT_THAT(key->public_key().VerifyRaw(message, std::vector<uint8_t>(7)),
              HasError(ErrorCode::kCryptoBadSignatureLength));
  // PKCS#8 round trip keeps the key.
  Result<EcdsaPrivateKey> again = EcdsaPrivateKey::FromPkcs8Der(key->ToPkcs8Der());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->public_key().ToSec1Uncompressed(), key->public_key().ToSec1Uncompressed());
  // SPKI round trip.
  Result<EcdsaPublicKey> spki = EcdsaPublicKey::FromSpkiDer(key->public_key().SpkiDer());
  ASSERT_THAT(spki, IsOk());
  EXPECT_EQ(spki->ToSec1Uncompressed(), key->public_key().ToSec1Uncompressed());
}

TEST_P(EcdsaCurveTest, CompressedPointAccepted) {
  Result<EcdsaPrivateKey> key = EcdsaPrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  std::vector<uint8_t> point = key->public_key().ToSec1Uncompressed();
  size_t field = EcdsaFieldSize(GetParam());
  std::vector<uint8_t> compressed(point.begin(), point.begin() + 1 + static_cast<long>(field));
  compressed[0] = static_cast<uint8_t>(0x02 | (point.back() & 1));
  Result<EcdsaPublicKey> pub = EcdsaPublicKey::FromSec1(GetParam(), compressed);
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->ToSec1Uncompressed(), point);
}

TEST_P(EcdsaCurveTest, BadPointsRejected) {
  size_t field = EcdsaFieldSize(GetParam());
  std::vector<uint8_t> not_on_curve(1 + 2 * field, 0x01);
  not_on_curve[0] = 0x04;
  EXPECT_THAT(EcdsaPublicKey::FromSec1(GetParam(), not_on_curve),
              HasError(ErrorCode::kCryptoBadKey));
  EXPECT_THAT(EcdsaPublicKey::FromSec1(GetParam(), std::vector<uint8_t>{0x00}),
              HasError(ErrorCode::kCryptoBadKey));  // Point at infinity encoding.
  EXPECT_THAT(EcdsaPublicKey::FromSec1(GetParam(), std::vector<uint8_t>(1 + 2 * field + 1, 4)),
              HasError(ErrorCode::kCryptoBadKey));
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaCurveTest,
                         ::testing::Values(EcdsaCurve::kP256, EcdsaCurve::kP384));

// RFC 6979 appendix A.2.5: P-256, SHA-256, message "sample" (DER and raw forms).
TEST(EcdsaTest, Rfc6979P256Sample) {
  Result<EcdsaPublicKey> key = EcdsaPublicKey::FromSec1(
      EcdsaCurve::kP256,
      Hex("0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41a"
          "e9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"));
  ASSERT_THAT(key, IsOk());
  std::vector<uint8_t> message = {'s', 'a', 'm', 'p', 'l', 'e'};
  const std::string r = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
  const std::string s = "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
  EXPECT_THAT(key->VerifyRaw(message, Hex(r + s)), IsOk());
  EXPECT_THAT(key->VerifyDer(message, Hex("3046022100" + r + "022100" + s)), IsOk());
  // The same integers without the required sign octet read as negative: not strict DER.
  EXPECT_THAT(key->VerifyDer(message, Hex("30440220" + r + "0220" + s)),
              HasError(ErrorCode::kCryptoBadSignatureLength));
}

TEST(EcdsaTest, SpkiRejectsOtherCurvesAndTrailingBytes) {
  Result<EcdsaPrivateKey> key = EcdsaPrivateKey::Generate(EcdsaCurve::kP256);
  ASSERT_THAT(key, IsOk());
  std::vector<uint8_t> spki = key->public_key().SpkiDer();
  spki.push_back(0);
  EXPECT_THAT(EcdsaPublicKey::FromSpkiDer(spki), HasError(ErrorCode::kCryptoBadKey));
  EXPECT_THAT(EcdsaPublicKey::FromSpkiDer(Hex("3000")), HasError(ErrorCode::kCryptoBadKey));
  // An Ed25519 SPKI (RFC 8410 example) is a valid SPKI but not an ECDSA key.
  EXPECT_THAT(EcdsaPublicKey::FromSpkiDer(Hex("302a300506032b657003210019bf44096984cdfe8541bac1"
                                              "67dc3b96c85086aa30b6b6cb0c5c38ad703166e1")),
              HasError(ErrorCode::kCryptoBadKey));
}

TEST(EcdsaTest, Pkcs8Rejected) {
  EXPECT_THAT(EcdsaPrivateKey::FromPkcs8Der(SecretBytes::CopyFrom(Hex("300100"))),
              HasError(ErrorCode::kCryptoBadKey));
}

TEST(EcdsaTest, StrictDerRejectsBer) {
  Result<EcdsaPrivateKey> key = EcdsaPrivateKey::Generate(EcdsaCurve::kP256);
  ASSERT_THAT(key, IsOk());
  std::vector<uint8_t> message = {7};
  Result<std::vector<uint8_t>> raw = key->SignRaw(message);
  ASSERT_THAT(raw, IsOk());
  // Build DER by hand: r and s as 33-byte integers with a sign octet where needed.
  auto der_int = [](std::span<const uint8_t> v) {
    std::vector<uint8_t> out = {0x02};
    size_t skip = 0;
    while (skip + 1 < v.size() && v[skip] == 0 && (v[skip + 1] & 0x80) == 0) {
      ++skip;
    }
    bool pad = (v[skip] & 0x80) != 0;
    out.push_back(static_cast<uint8_t>(v.size() - skip + (pad ? 1 : 0)));
    if (pad) {
      out.push_back(0);
    }
    out.insert(out.end(), v.begin() + static_cast<long>(skip), v.end());
    return out;
  };
  std::span<const uint8_t> rs(*raw);
  std::vector<uint8_t> body = der_int(rs.first(32));
  std::vector<uint8_t> s_int = der_int(rs.subspan(32));
  body.insert(body.end(), s_int.begin(), s_int.end());
  std::vector<uint8_t> der = {0x30, static_cast<uint8_t>(body.size())};
  der.insert(der.end(), body.begin(), body.end());
  EXPECT_THAT(key->public_key().VerifyDer(message, der), IsOk());
  // Long-form length (BER) for the sequence.
  std::vector<uint8_t> long_form = {0x30, 0x81, static_cast<uint8_t>(body.size())};
  long_form.insert(long_form.end(), body.begin(), body.end());
  EXPECT_THAT(key->public_key().VerifyDer(message, long_form),
              HasError(ErrorCode::kCryptoBadSignatureLength));
  // Trailing byte.
  std::vector<uint8_t> trailing = der;
  trailing.push_back(0);
  EXPECT_THAT(key->public_key().VerifyDer(message, trailing),
              HasError(ErrorCode::kCryptoBadSignatureLength));
}

TEST(EcdsaTest, GenerateFailsWhenRandomFails) {
  testing::ScopedFailingRandForTest failing;
  EXPECT_THAT(EcdsaPrivateKey::Generate(EcdsaCurve::kP384),
              HasError(ErrorCode::kCryptoLibraryFailure));
}

}  // namespace
}  // namespace eml::crypto

#include "crypto/hkdf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/testing/wycheproof_util.h"
#include "testing/test_util.h"

namespace eml::crypto {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::Hex;
using ::eml::testing::IsOk;

// RFC 5869 appendix A.1.
TEST(HkdfSha256Test, Rfc5869Case1) {
  SecretBytes ikm = SecretBytes::CopyFrom(Hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
  std::vector<uint8_t> salt = Hex("000102030405060708090a0b0c");
  std::vector<uint8_t> info = Hex("f0f1f2f3f4f5f6f7f8f9");
  SecretBytes prk = HkdfSha256Extract(salt, ikm);
  EXPECT_EQ(HexEncode(prk.Reveal(InsecureSecretAccess::Get())),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  Result<SecretBytes> okm = HkdfSha256Expand(prk, info, 42);
  ASSERT_THAT(okm, IsOk());
  const std::string expected =
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865";
  EXPECT_EQ(HexEncode(okm->Reveal(InsecureSecretAccess::Get())), expected);
  Result<SecretBytes> both = HkdfSha256(salt, ikm, info, 42);
  ASSERT_THAT(both, IsOk());
  EXPECT_EQ(HexEncode(both->Reveal(InsecureSecretAccess::Get())), expected);
}

TEST(HkdfSha256Test, OutputTooLong) {
  SecretBytes ikm = SecretBytes::CopyFrom(Hex("00"));
  EXPECT_THAT(HkdfSha256({}, ikm, {}, 255 * 32 + 1), HasError(ErrorCode::kCryptoOutputTooLong));
  SecretBytes prk = HkdfSha256Extract({}, ikm);
  EXPECT_THAT(HkdfSha256Expand(prk, {}, 255 * 32 + 1), HasError(ErrorCode::kCryptoOutputTooLong));
  Result<SecretBytes> max = HkdfSha256Expand(prk, {}, 255 * 32);
  ASSERT_THAT(max, IsOk());
  EXPECT_EQ(max->size(), 255u * 32u);
}

TEST(HkdfSha256Test, ShortPrkRejected) {
  SecretBytes prk = SecretBytes::CopyFrom(Hex("0001020304"));
  EXPECT_THAT(HkdfSha256Expand(prk, {}, 32), HasError(ErrorCode::kCryptoBadKeyLength));
}

// Wycheproof hkdf_sha256_test.json: every valid case gives the exact OKM; the invalid ones
// (output longer than 255 * 32) fail with kCryptoOutputTooLong.
TEST(HkdfSha256Test, Wycheproof) {
  const std::string file = "hkdf_sha256_test.json";
  nlohmann::json doc = testing::LoadWycheproof(file);
  int cases = 0;
  for (const auto& group : doc.at("testGroups")) {
    testing::ExpectOnlyFields(group, {"type", "source", "keySize", "tests"});
    for (const auto& test : group.at("tests")) {
      ++cases;
      SCOPED_TRACE(testing::CaseName(file, test));
      testing::ExpectOnlyFields(
          test, {"tcId", "comment", "flags", "ikm", "salt", "info", "size", "okm", "result"});
      SecretBytes ikm = SecretBytes::CopyFrom(testing::HexField(test, "ikm"));
      std::vector<uint8_t> salt = testing::HexField(test, "salt");
      std::vector<uint8_t> info = testing::HexField(test, "info");
      size_t size = test.at("size").get<size_t>();
      Result<SecretBytes> okm = HkdfSha256(salt, ikm, info, size);
      switch (testing::ResultOf(test)) {
        case testing::WycheproofResult::kValid:
          ASSERT_THAT(okm, IsOk());
          EXPECT_EQ(HexEncode(okm->Reveal(InsecureSecretAccess::Get())),
                    test.at("okm").get<std::string>());
          break;
        case testing::WycheproofResult::kInvalid:
          EXPECT_THAT(okm, HasError(ErrorCode::kCryptoOutputTooLong));
          break;
        case testing::WycheproofResult::kAcceptable:
          ADD_FAILURE() << "no acceptable HKDF cases are allowlisted";
          break;
      }
    }
  }
  EXPECT_EQ(cases, doc.at("numberOfTests").get<int>());
}

}  // namespace
}  // namespace eml::crypto

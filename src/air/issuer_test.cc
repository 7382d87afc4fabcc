#include "air/issuer.h"

#include <gtest/gtest.h>

#include <string>

#include "air/json.h"
#include "air/testing/golden.h"
#include "cbor/decoder.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::air {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// Ed25519 is deterministic: issuing the golden vectors' claims with the golden key must give
// the shipped receipts byte for byte (our encoder agrees with the reference's).
TEST(IssuerTest, ReproducesBothShippedValidVectors) {
  const crypto::Ed25519PrivateKey key = testing::GoldenKey();
  for (const char* name : {"v1-nitro-no-nonce", "v1-tdx-with-nonce"}) {
    SCOPED_TRACE(name);
    const nlohmann::json vector = ::eml::testing::ReadJson(
        ::eml::testing::SharedVectorPath(std::string("air/valid/") + name + ".json"));
    Result<Claims> claims = ClaimsFromJson(vector["claims"].dump());
    ASSERT_THAT(claims, IsOk());
    Result<std::vector<uint8_t>> receipt = IssueReceipt(*claims, key);
    ASSERT_THAT(receipt, IsOk());
    EXPECT_EQ(HexEncode(*receipt), vector["receipt_hex"].get<std::string>());
    EXPECT_EQ(receipt->size(), vector["receipt_length"].get<size_t>());
  }
}

TEST(IssuerTest, EnvelopeShape) {
  Result<std::vector<uint8_t>> receipt =
      IssueReceipt(testing::GoldenNitroClaims(), testing::GoldenKey());
  ASSERT_THAT(receipt, IsOk());
  // d2 (tag 18) 84 (array of 4) 46 a2012703183d (protected) a0 (empty unprotected).
  const std::vector<uint8_t> head(receipt->begin(), receipt->begin() + 10);
  EXPECT_EQ(HexEncode(head), "d28446a2012703183da0");
  cbor::DecodeLimits strict_canonical;
  strict_canonical.require_canonical = true;
  Result<cbor::Decoded> decoded = cbor::Decode(*receipt, strict_canonical);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_TRUE(decoded->canonical);
}

TEST(IssuerTest, InvalidClaimsAreNotSigned) {
  Claims c = testing::GoldenNitroClaims();
  c.cti.fill(0);
  EXPECT_THAT(IssueReceipt(c, testing::GoldenKey()), HasError(ErrorCode::kAirInvalidClaims));
}

TEST(IssuerTest, ReceiptOverTheConfiguredLimit) {
  IssueOptions options;
  options.max_receipt_bytes = 500;  // the golden receipt is 598 bytes
  EXPECT_THAT(IssueReceipt(testing::GoldenNitroClaims(), testing::GoldenKey(), options),
              HasError(ErrorCode::kAirReceiptTooLarge));
  options.max_receipt_bytes = 598;
  EXPECT_THAT(IssueReceipt(testing::GoldenNitroClaims(), testing::GoldenKey(), options), IsOk());
}

}  // namespace
}  // namespace eml::air

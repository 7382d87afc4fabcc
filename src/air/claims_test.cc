#include "air/claims.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "air/testing/golden.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace eml::air {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

// The payload of the shipped golden vector valid/v1-nitro-no-nonce.json.
std::string GoldenPayloadHex() {
  return ::eml::testing::ReadJson(
             ::eml::testing::SharedVectorPath("air/valid/v1-nitro-no-nonce.json"))["payload_hex"]
      .get<std::string>();
}

TEST(ClaimsTest, GoldenClaimsAreValid) {
  EXPECT_THAT(ValidateClaims(testing::GoldenNitroClaims()), IsOk());
}

TEST(ClaimsTest, EncodeReproducesGoldenPayload) {
  Result<std::vector<uint8_t>> payload = EncodeClaims(testing::GoldenNitroClaims());
  ASSERT_THAT(payload, IsOk());
  EXPECT_EQ(HexEncode(*payload), GoldenPayloadHex());
}

TEST(ClaimsTest, ClaimNames) {
  EXPECT_EQ(ClaimName(kKeyIss), "iss");
  EXPECT_EQ(ClaimName(kKeyModelHashScheme), "model_hash_scheme");
  EXPECT_EQ(ClaimName(-65550), std::nullopt);
  EXPECT_EQ(ClaimName(2), std::nullopt);
}

struct InvalidCase {
  const char* name;
  std::function<void(Claims&)> mutate;
};

class ClaimsRuleTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ClaimsRuleTest, RejectedWithInvalidClaims) {
  Claims c = testing::GoldenNitroClaims();
  GetParam().mutate(c);
  EXPECT_THAT(ValidateClaims(c), HasError(ErrorCode::kAirInvalidClaims));
  EXPECT_THAT(EncodeClaims(c), HasError(ErrorCode::kAirInvalidClaims));
}

INSTANTIATE_TEST_SUITE_P(
    AllRules, ClaimsRuleTest,
    ::testing::Values(
        InvalidCase{"EmptyIss", [](Claims& c) { c.iss.clear(); }},
        InvalidCase{"LongIss", [](Claims& c) { c.iss.assign(257, 'i'); }},
        InvalidCase{"LongModelId", [](Claims& c) { c.model_id.assign(257, 'm'); }},
        InvalidCase{"LongModelVersion", [](Claims& c) { c.model_version.assign(129, 'v'); }},
        InvalidCase{"EmptyPolicyVersion", [](Claims& c) { c.policy_version.clear(); }},
        InvalidCase{"InvalidUtf8", [](Claims& c) { c.model_id = "bad\xc3"; }},
        InvalidCase{"OverlongUtf8", [](Claims& c) { c.iss = "\xc0\xaf"; }},
        InvalidCase{"SurrogateUtf8", [](Claims& c) { c.iss = "\xed\xa0\x80"; }},
        InvalidCase{"ZeroIat", [](Claims& c) { c.iat = 0; }},
        InvalidCase{"ZeroCti", [](Claims& c) { c.cti.fill(0); }},
        InvalidCase{"ShortNonce", [](Claims& c) { c.eat_nonce.emplace(7, 1); }},
        InvalidCase{"LongNonce", [](Claims& c) { c.eat_nonce.emplace(65, 1); }},
        InvalidCase{"ZeroModelHash", [](Claims& c) { c.model_hash.fill(0); }},
        InvalidCase{"GatewayOnly", [](Claims& c) { c.security_mode = "GatewayOnly"; }},
        InvalidCase{"UnknownScheme", [](Claims& c) { c.model_hash_scheme = "sha3-single"; }},
        InvalidCase{"EmptyScheme", [](Claims& c) { c.model_hash_scheme = ""; }},
        InvalidCase{"UnknownMtype",
                    [](Claims& c) { c.enclave_measurements.measurement_type = "sev-snp"; }},
        InvalidCase{"ShortPcr0", [](Claims& c) { c.enclave_measurements.pcr0.resize(32); }},
        InvalidCase{"LongPcr4", [](Claims& c) { c.enclave_measurements.pcr4.emplace(49, 4); }},
        InvalidCase{"TdxWithPcr8",
                    [](Claims& c) {
                      c.enclave_measurements.measurement_type = "tdx-mrtd-rtmr";
                      c.enclave_measurements.pcr8.emplace(48, 8);
                    }}),
    [](const ::testing::TestParamInfo<InvalidCase>& param_info) { return param_info.param.name; });

TEST(ClaimsTest, BoundsAreInclusive) {
  Claims c = testing::GoldenNitroClaims();
  c.iss.assign(kMaxIssBytes, 'i');
  c.model_version.assign(kMaxModelVersionBytes, 'v');
  c.eat_nonce.emplace(kMaxNonceBytes, 0x11);
  c.model_hash_scheme = std::string(kSchemeSha256Concat);
  c.enclave_measurements.pcr8.emplace(48, 8);
  c.model_id = "caf\xc3\xa9-\xf0\x9f\x98\x80";  // 2- and 4-byte UTF-8 sequences
  EXPECT_THAT(ValidateClaims(c), IsOk());
  c.eat_nonce.emplace(kMinNonceBytes, 0x11);
  EXPECT_THAT(ValidateClaims(c), IsOk());
}

}  // namespace
}  // namespace eml::air

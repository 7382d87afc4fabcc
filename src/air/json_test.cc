#include "air/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "air/issuer.h"
#include "air/testing/golden.h"
#include "testing/test_util.h"

namespace eml::air {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

TEST(JsonTest, ClaimsRoundTrip) {
  Claims c = testing::GoldenNitroClaims();
  c.eat_nonce.emplace(8, 0x42);
  c.model_hash_scheme = "sha256-single";
  c.enclave_measurements.pcr3.emplace(48, 3);
  Result<Claims> back = ClaimsFromJson(ClaimsToJson(c));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, c);
}

TEST(JsonTest, ClaimsRejectUnknownField) {
  nlohmann::json j = nlohmann::json::parse(ClaimsToJson(testing::GoldenNitroClaims()));
  j["surprise"] = 1;
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadJson));
  j.erase("surprise");
  j["enclave_measurements"]["pcr5_hex"] = "00";
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadJson));
}

TEST(JsonTest, ClaimsRejectBadValues) {
  const nlohmann::json good = nlohmann::json::parse(ClaimsToJson(testing::GoldenNitroClaims()));
  nlohmann::json j = good;
  j["cti_hex"] = "0102";  // not 16 bytes
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadHex));
  j = good;
  j["model_hash_hex"] = "zz";
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadHex));
  j = good;
  j["iat"] = "1740500000";
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadJson));
  j = good;
  j["iat"] = -5;
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadJson));
  j = good;
  j["eat_profile"] = "https://example.com/other";
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadJson));
  j = good;
  j.erase("iss");
  EXPECT_THAT(ClaimsFromJson(j.dump()), HasError(ErrorCode::kBadJson));
  EXPECT_THAT(ClaimsFromJson("[1, 2]"), HasError(ErrorCode::kBadJson));
  EXPECT_THAT(ClaimsFromJson("{not json"), HasError(ErrorCode::kBadJson));
}

TEST(JsonTest, PolicyFields) {
  Result<VerifyPolicy> p = PolicyFromJson(
      R"({"max_age_secs": 10, "clock_skew_secs": 2, "now_unix": 5,
          "expected_model_hash_hex":
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "expected_model_id": "m", "expected_security_mode": "evaluation",
          "expected_platform": "tdx-mrtd-rtmr", "expected_nonce_hex": "0001020304050607",
          "require_nonce": true, "allow_evaluation": true, "allow_non_canonical": true,
          "map_legacy_gateway_only": true,
          "seen_cti_hex": ["0102030405060708090a0b0c0d0e0f10"]})",
      VerifyPolicy{});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->max_age_s, 10u);
  EXPECT_EQ(p->clock_skew_s, 2u);
  EXPECT_EQ(p->now_unix, 5);
  EXPECT_TRUE(p->expected_model_hash.has_value());
  EXPECT_EQ(p->expected_model_id, "m");
  EXPECT_EQ(p->expected_security_mode, SecurityMode::kEvaluation);
  EXPECT_EQ(p->expected_platform, Platform::kTdxMrtdRtmr);
  EXPECT_EQ(p->expected_nonce->size(), 8u);
  EXPECT_TRUE(p->require_nonce && p->allow_evaluation && p->allow_non_canonical &&
              p->map_legacy_gateway_only);
  ASSERT_TRUE(p->is_cti_seen);
  EXPECT_TRUE(p->is_cti_seen(testing::GoldenNitroClaims().cti));
  EXPECT_FALSE(p->is_cti_seen(std::vector<uint8_t>(16, 0x77)));
}

TEST(JsonTest, PolicyRejectsUnknownOrBadFields) {
  EXPECT_THAT(PolicyFromJson(R"({"max_age": 5})", {}), HasError(ErrorCode::kBadJson));
  EXPECT_THAT(PolicyFromJson(R"({"expected_platform": "sgx"})", {}), HasError(ErrorCode::kBadJson));
  EXPECT_THAT(PolicyFromJson(R"({"require_nonce": 1})", {}), HasError(ErrorCode::kBadJson));
  EXPECT_THAT(PolicyFromJson(R"({"seen_cti_hex": ["01"]})", {}), HasError(ErrorCode::kBadHex));
  EXPECT_THAT(PolicyFromJson(R"({"now_unix": 18446744073709551615})", {}),
              HasError(ErrorCode::kBadJson));
  EXPECT_THAT(ParsePlatform("sgx"), HasError(ErrorCode::kInvalidArgument));
}

TEST(JsonTest, ReportShape) {
  Result<std::vector<uint8_t>> receipt =
      IssueReceipt(testing::GoldenNitroClaims(), testing::GoldenKey());
  ASSERT_THAT(receipt, IsOk());
  VerifyPolicy policy;
  policy.max_age_s = 0;
  Result<VerificationReport> report =
      VerifyReceipt(*receipt, testing::GoldenKey().public_key(), policy);
  ASSERT_THAT(report, IsOk());
  const nlohmann::json j = nlohmann::json::parse(ReportToJson(*report));
  EXPECT_TRUE(j["verified"].get<bool>());
  ASSERT_EQ(j["checks"].size(), static_cast<size_t>(kNumChecks));
  EXPECT_EQ(j["checks"][0]["check"], "SIZE");
  EXPECT_EQ(j["checks"][0]["layer"], 1);
  EXPECT_EQ(j["checks"][0]["status"], "PASS");
  EXPECT_TRUE(j["checks"][0]["code"].is_null());
  EXPECT_EQ(j["claims"]["model_id"], "minilm-l6-v2");

  policy.expected_model_id = "other";
  report = VerifyReceipt(*receipt, testing::GoldenKey().public_key(), policy);
  ASSERT_THAT(report, IsOk());
  const nlohmann::json failed = nlohmann::json::parse(ReportToJson(*report));
  EXPECT_FALSE(failed["verified"].get<bool>());
  EXPECT_TRUE(failed["claims"].is_null());
}

}  // namespace
}  // namespace eml::air

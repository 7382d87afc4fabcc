#include "keys/release_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/test_util.h"

namespace eml::keys {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

constexpr char kNitro[] = R"({"version": 1, "platforms": {"aws-nitro": {}}})";

std::string Policy(const std::string& rest) {
  return std::string(R"({"version": 1, "evidence": )") + kNitro + rest + "}";
}

TEST(ReleasePolicyTest, MinimalPolicyDefaultsToProduction) {
  Result<ReleasePolicy> p = ParseReleasePolicy(Policy(""), "/nonexistent");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->security_modes, std::vector<std::string>{"production"});
  EXPECT_TRUE(p->evidence.Allows("aws-nitro"));
  EXPECT_FALSE(p->evidence.Allows("sim"));
  EXPECT_EQ(p->canonical_json,
            R"({"evidence":{"platforms":{"aws-nitro":{}},"version":1},"version":1})");
}

TEST(ReleasePolicyTest, CanonicalFormIsAFixedPoint) {
  Result<ReleasePolicy> p = ParseReleasePolicy(
      Policy(R"(, "security_modes": ["production", "evaluation"])"), "/nonexistent");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->security_modes, (std::vector<std::string>{"evaluation", "production"}));
  Result<ReleasePolicy> again = ParseReleasePolicy(p->canonical_json, "/nonexistent");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->canonical_json, p->canonical_json);
}

TEST(ReleasePolicyTest, RelativePathsResolveAgainstTheDataFolder) {
  Result<ReleasePolicy> p = ParseReleasePolicy(
      R"({"version": 1, "evidence": {"version": 1, "platforms": {"tdx": {"collateral_dir": "col"}}}})",
      "/var/lib/broker");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->evidence.Find("tdx")->collateral_dir, std::filesystem::path("/var/lib/broker/col"));
}

TEST(ReleasePolicyTest, MalformedPoliciesRefused) {
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      R"({"evidence": {}})",                            // no version
      R"({"version": 2, "evidence": {}})",              // unknown version
      R"({"version": "1", "evidence": {}})",            // wrong type
      R"({"version": 1})",                              // no evidence
      R"({"version": 1, "evidence": []})",              // evidence not an object
      R"({"version": 1, "evidence": {"version": 1}})",  // evidence without platforms
      Policy(R"(, "extra": 1)"),                        // unknown key
      Policy(R"(, "version": 1)"),                      // duplicate key
      Policy(R"(, "security_modes": [])"),              // no mode
      Policy(R"(, "security_modes": ["debug"])"),       // unknown mode
      Policy(R"(, "security_modes": ["production", "production"])"),
      Policy(R"(, "security_modes": "production")"),
      R"({"version": 1, "evidence": {"version": 1, "platforms": {"aws-nitro": {}, "aws-nitro": {}}}})",
      R"({"version": 1, "evidence": {"version": 1, "platforms": {"sim": {}}}})",  // sim: no root
      R"({"version": 1, "evidence": {"version": 1, "platforms": {"aws-nitro": {"roots": ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]}}}})",
  };
  for (const std::string& json : bad) {
    EXPECT_THAT(ParseReleasePolicy(json, "/nonexistent"), HasError(ErrorCode::kBrokerBadPolicy))
        << json;
  }
  EXPECT_THAT(ParseReleasePolicy(std::string(kMaxReleasePolicyBytes + 1, ' '), "/"),
              HasError(ErrorCode::kBrokerBadPolicy));
}

TEST(ReleasePolicyTest, EvidenceErrorsNameTheAttestCode) {
  Result<ReleasePolicy> p = ParseReleasePolicy(
      R"({"version": 1, "evidence": {"version": 1, "platforms": {"aws-nitro": {"bogus": 1}}}})",
      "/nonexistent");
  ASSERT_THAT(p, HasError(ErrorCode::kBrokerBadPolicy));
  EXPECT_NE(p.error().detail.find("POLICY_UNKNOWN_KEY"), std::string::npos);
}

TEST(ReleasePolicyTest, SecurityModes) {
  EXPECT_STREQ(SecurityModeOf("sim"), "evaluation");
  for (const char* platform : {"aws-nitro", "tdx", "sev-snp", "gcp-cs"}) {
    EXPECT_STREQ(SecurityModeOf(platform), "production");
  }
}

}  // namespace
}  // namespace eml::keys

// One driver for every AIR v1 vector: the shipped ones (vectors/air/valid, vectors/air/invalid)
// and ours (tests/vectors/air-extra, from generate.py there). Each file either verifies (valid/,
// or `expected_verification`) or fails with exactly one failing check, equal to its
// `expected_failure` layer, check and code. The driver reads every field of every file (an
// unread field fails the case) and fails if the number of files differs from the count below.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "air/issuer.h"
#include "air/json.h"
#include "air/verifier.h"
#include "common/encoding.h"
#include "common/secret_bytes.h"
#include "crypto/ed25519.h"
#include "testing/test_util.h"

namespace eml::air {
namespace {

using ::eml::testing::Hex;
using ::eml::testing::IsOk;
using Json = nlohmann::json;

constexpr size_t kNumShippedValid = 2;
constexpr size_t kNumShippedInvalid = 8;
constexpr size_t kNumExtra = 43;

// Tracks which top-level fields a case used.
class Fields {
 public:
  explicit Fields(const Json& j) : j_(j) {}
  bool Has(const std::string& key) {
    read_.insert(key);
    return j_.contains(key);
  }
  const Json& Get(const std::string& key) {
    read_.insert(key);
    return j_.at(key);
  }
  std::vector<std::string> Unread() const {
    std::vector<std::string> out;
    for (const auto& item : j_.items()) {
      if (read_.count(item.key()) == 0) {
        out.push_back(item.key());
      }
    }
    return out;
  }

 private:
  const Json& j_;
  std::set<std::string> read_;
};

std::vector<uint8_t> PublicKeyFromSeedHex(const std::string& seed_hex) {
  const std::vector<uint8_t> seed = Hex(seed_hex);
  Result<crypto::Ed25519PrivateKey> key =
      crypto::Ed25519PrivateKey::FromSeed(SecretBytes::CopyFrom(seed));
  EML_CHECK(key.has_value());
  const auto& bytes = key->public_key().bytes();
  return {bytes.begin(), bytes.end()};
}

// Checks the readable parts of a shipped valid vector against what the verifier returned.
void CheckValidVectorDetails(Fields& f, const VerifiedReceipt& verified,
                             const std::vector<uint8_t>& receipt) {
  Result<Claims> claims = ClaimsFromJson(f.Get("claims").dump());
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(verified.claims(), *claims);
  Result<std::vector<uint8_t>> payload = EncodeClaims(*claims);
  ASSERT_THAT(payload, IsOk());
  EXPECT_EQ(HexEncode(*payload), f.Get("payload_hex").get<std::string>());
  // Re-issuing with the seed gives the same bytes (Ed25519 is deterministic).
  Result<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::FromSeed(
      SecretBytes::CopyFrom(Hex(f.Get("signing_key_seed_hex").get<std::string>())));
  ASSERT_THAT(key, IsOk());
  Result<std::vector<uint8_t>> reissued = IssueReceipt(*claims, *key);
  ASSERT_THAT(reissued, IsOk());
  EXPECT_EQ(*reissued, receipt);
  const Json& cose = f.Get("cose_sign1");
  EXPECT_EQ(cose["protected_header"]["alg"], -8);
  EXPECT_EQ(cose["protected_header"]["content_type"], 61);
  EXPECT_TRUE(cose["unprotected_header"].empty());
  EXPECT_EQ(cose["signature_algorithm"], "Ed25519 (verify_strict)");
  const Json& expected = f.Get("expected_verification");
  for (const char* layer : {"parse", "crypto", "claim_validation"}) {
    EXPECT_EQ(expected[layer], "PASS");
  }
}

// Runs one vector file; `shipped_valid` marks the files under vectors/air/valid.
void RunVector(const std::filesystem::path& path, bool shipped_valid) {
  SCOPED_TRACE(path.string());
  const Json j = ::eml::testing::ReadJson(path);
  Fields f(j);
  for (const char* metadata : {"name", "description", "version", "date"}) {
    f.Has(metadata);  // descriptive only
  }
  EXPECT_EQ(f.Get("name").get<std::string>(), path.stem().string());
  const std::vector<uint8_t> receipt = Hex(f.Get("receipt_hex").get<std::string>());
  if (f.Has("receipt_length")) {
    EXPECT_EQ(receipt.size(), f.Get("receipt_length").get<size_t>());
  }
  // v1-wrong-key.json carries only the wrong key; every other file carries public_key_hex.
  std::string key_hex;
  if (f.Has("public_key_hex")) {
    key_hex = f.Get("public_key_hex").get<std::string>();
    if (f.Has("signing_key_seed_hex")) {
      EXPECT_EQ(HexEncode(PublicKeyFromSeedHex(f.Get("signing_key_seed_hex").get<std::string>())),
                key_hex);
    }
  }
  if (f.Has("wrong_public_key_hex")) {
    key_hex = f.Get("wrong_public_key_hex").get<std::string>();
    EXPECT_EQ(
        HexEncode(PublicKeyFromSeedHex(f.Get("wrong_public_key_seed_hex").get<std::string>())),
        key_hex);
  }
  Result<crypto::Ed25519PublicKey> key = crypto::Ed25519PublicKey::FromBytes(Hex(key_hex));
  ASSERT_THAT(key, IsOk());

  // Vectors state only the policy that matters; everything else is off, freshness included.
  VerifyPolicy policy;
  policy.max_age_s = 0;
  if (shipped_valid && f.Get("claims").contains("eat_nonce_hex")) {
    policy.expected_nonce = Hex(f.Get("claims")["eat_nonce_hex"].get<std::string>());
  }
  if (f.Has("verify_policy")) {
    Result<VerifyPolicy> parsed = PolicyFromJson(f.Get("verify_policy").dump(), policy);
    ASSERT_THAT(parsed, IsOk());
    policy = *std::move(parsed);
  }
  Result<VerificationReport> report = VerifyReceipt(receipt, *key, policy);
  ASSERT_THAT(report, IsOk());

  if (f.Has("expected_failure")) {
    const Json& expected = f.Get("expected_failure");
    EXPECT_FALSE(report->verified());
    const std::vector<CheckResult> failures = report->failures();
    ASSERT_EQ(failures.size(), 1u) << ReportToJson(*report);
    EXPECT_EQ(static_cast<int>(failures[0].layer), expected["layer"].get<int>());
    EXPECT_EQ(CheckName(failures[0].check), expected["check"].get<std::string>());
    ASSERT_TRUE(failures[0].code.has_value());
    EXPECT_EQ(CheckCodeName(*failures[0].code), expected["code"].get<std::string>());
    EXPECT_TRUE(expected.contains("reason"));
  } else {
    ASSERT_TRUE(report->verified()) << ReportToJson(*report);
    if (shipped_valid) {
      CheckValidVectorDetails(f, *report->verified_receipt(), receipt);
    } else {
      const Json& expected = f.Get("expected_verification");
      EXPECT_TRUE(expected["verified"].get<bool>());
      if (expected.contains("warning")) {
        const CheckResult& r =
            report->Get(*ParseCheck(expected["warning"]["check"].get<std::string>()));
        EXPECT_EQ(r.status, CheckStatus::kPass);
        ASSERT_TRUE(r.code.has_value());
        EXPECT_EQ(CheckCodeName(*r.code), expected["warning"]["code"].get<std::string>());
      }
    }
  }
  EXPECT_TRUE(f.Unread().empty()) << "unread field: " << f.Unread().front();
}

size_t RunFolder(const std::filesystem::path& dir, bool shipped_valid) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    RunVector(file, shipped_valid);
  }
  return files.size();
}

TEST(AirVectorsTest, ShippedValid) {
  EXPECT_EQ(RunFolder(::eml::testing::SharedVectorPath("air/valid"), true), kNumShippedValid);
}

TEST(AirVectorsTest, ShippedInvalid) {
  EXPECT_EQ(RunFolder(::eml::testing::SharedVectorPath("air/invalid"), false), kNumShippedInvalid);
}

TEST(AirVectorsTest, Extra) {
  EXPECT_EQ(RunFolder(::eml::testing::SourcePath("tests/vectors/air-extra"), false), kNumExtra);
}

}  // namespace
}  // namespace eml::air

#include "air/verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "air/issuer.h"
#include "air/testing/golden.h"
#include "cbor/encoder.h"
#include "cose/sign1.h"
#include "testing/test_util.h"

namespace eml::air {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;
using Finding = std::pair<Check, std::optional<CheckCode>>;

// Verified: the verified receipt of a report known to be verified (aborts otherwise).
const VerifiedReceipt& Verified(const VerificationReport& report) {
  EML_CHECK(report.verified_receipt() != nullptr);
  return *report.verified_receipt();
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() : key_(testing::GoldenKey()) { policy_.max_age_s = 0; }

  std::vector<uint8_t> Issue(const Claims& claims) {
    Result<std::vector<uint8_t>> receipt = IssueReceipt(claims, key_);
    EML_CHECK(receipt.has_value());
    return *std::move(receipt);
  }

  // SignPayload signs arbitrary payload bytes in the AIR envelope (for claims the issuer
  // refuses to produce).
  std::vector<uint8_t> SignPayload(std::vector<uint8_t> payload) {
    cose::Sign1Input in;
    in.protected_header = cbor::Value::Map({{cbor::Value::Int(1), cbor::Value::Int(-8)},
                                            {cbor::Value::Int(3), cbor::Value::Uint(61)}});
    in.payload = std::move(payload);
    Result<std::vector<uint8_t>> receipt = cose::SignSign1Ed25519(in, key_);
    EML_CHECK(receipt.has_value());
    return *std::move(receipt);
  }

  std::vector<uint8_t> SignClaimsValue(const cbor::Value& claims) {
    Result<std::vector<uint8_t>> payload = cbor::Encode(claims);
    EML_CHECK(payload.has_value());
    return SignPayload(*std::move(payload));
  }

  VerificationReport Verify(std::span<const uint8_t> receipt) {
    Result<VerificationReport> report = VerifyReceipt(receipt, key_.public_key(), policy_);
    EML_CHECK(report.has_value());
    return *std::move(report);
  }

  static std::vector<Finding> Failures(const VerificationReport& report) {
    std::vector<Finding> out;
    for (const CheckResult& r : report.failures()) {
      out.emplace_back(r.check, r.code);
    }
    return out;
  }

  crypto::Ed25519PrivateKey key_;
  VerifyPolicy policy_;
};

TEST_F(VerifierTest, GoldenReceiptVerifies) {
  const VerificationReport report = Verify(Issue(testing::GoldenNitroClaims()));
  EXPECT_TRUE(report.verified());
  ASSERT_NE(report.verified_receipt(), nullptr);
  EXPECT_EQ(Verified(report).claims(), testing::GoldenNitroClaims());
  EXPECT_EQ(Verified(report).security_mode(), SecurityMode::kProduction);
  EXPECT_EQ(Verified(report).platform(), Platform::kNitroPcr);
  EXPECT_EQ(Verified(report).receipt_size_bytes(), 598u);
  // Every check exactly once, in declaration order, with its layer.
  ASSERT_EQ(report.checks().size(), static_cast<size_t>(kNumChecks));
  for (int i = 0; i < kNumChecks; ++i) {
    const CheckResult& r = report.checks()[static_cast<size_t>(i)];
    EXPECT_EQ(r.check, static_cast<Check>(i));
    EXPECT_EQ(r.layer, CheckLayer(r.check));
    EXPECT_NE(r.status, CheckStatus::kFail);
    EXPECT_FALSE(r.code.has_value());
    if (IsCriticalCheck(r.check)) {
      EXPECT_EQ(r.status, CheckStatus::kPass) << CheckName(r.check);
    }
  }
  EXPECT_EQ(report.Get(Check::kFresh).status, CheckStatus::kSkip);
}

TEST_F(VerifierTest, CheckAndCodeNamesRoundTrip) {
  std::set<std::string_view> names;
  for (int i = 0; i < kNumChecks; ++i) {
    const auto check = static_cast<Check>(i);
    EXPECT_EQ(ParseCheck(CheckName(check)), check);
    EXPECT_TRUE(names.insert(CheckName(check)).second);
  }
  for (int i = 0; i <= static_cast<int>(CheckCode::kReplayCti); ++i) {
    const auto code = static_cast<CheckCode>(i);
    EXPECT_EQ(ParseCheckCode(CheckCodeName(code)), code);
  }
  EXPECT_EQ(ParseCheck("NOPE"), std::nullopt);
  EXPECT_EQ(CheckLayer(Check::kCanonical), Layer::kParse);
  EXPECT_EQ(CheckLayer(Check::kSig), Layer::kCrypto);
  EXPECT_EQ(CheckLayer(Check::kSecurityMode), Layer::kClaims);
  EXPECT_EQ(CheckLayer(Check::kFresh), Layer::kPolicy);
  EXPECT_FALSE(IsCriticalCheck(Check::kReplay));
}

TEST_F(VerifierTest, WrongKeyFailsSigAndLaterLayersStillRun) {
  Result<crypto::Ed25519PrivateKey> other = crypto::Ed25519PrivateKey::Generate();
  ASSERT_THAT(other, IsOk());
  policy_.expected_model_id = "other-model";
  Result<VerificationReport> report =
      VerifyReceipt(Issue(testing::GoldenNitroClaims()), other->public_key(), policy_);
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->verified());
  EXPECT_EQ(report->verified_receipt(), nullptr);
  EXPECT_EQ(Failures(*report),
            (std::vector<Finding>{{Check::kSig, CheckCode::kSigFailed},
                                  {Check::kModel, CheckCode::kModelIdMismatch}}));
}

TEST_F(VerifierTest, FreshnessBoundaries) {
  const std::vector<uint8_t> receipt = Issue(testing::GoldenNitroClaims());
  policy_.max_age_s = 300;
  policy_.clock_skew_s = 60;
  const auto iat = static_cast<int64_t>(testing::kGoldenIat);
  const std::pair<int64_t, std::optional<CheckCode>> cases[] = {
      {iat, std::nullopt},
      {iat + 300, std::nullopt},
      {iat + 301, CheckCode::kTimestampStale},
      {iat - 60, std::nullopt},
      {iat - 61, CheckCode::kTimestampFuture},
      {-1, CheckCode::kClockError},
  };
  for (const auto& [now, expected] : cases) {
    SCOPED_TRACE(now);
    policy_.now_unix = now;
    const VerificationReport report = Verify(receipt);
    EXPECT_EQ(report.Get(Check::kFresh).code, expected);
    EXPECT_EQ(report.verified(), !expected.has_value());
  }
}

TEST_F(VerifierTest, SystemClockAcceptsAFreshReceipt) {
  Claims c = testing::GoldenNitroClaims();
  c.iat = static_cast<uint64_t>(std::time(nullptr));
  policy_.max_age_s = kDefaultMaxAgeS;
  const VerificationReport report = Verify(Issue(c));
  EXPECT_EQ(report.Get(Check::kFresh).status, CheckStatus::kPass);
  EXPECT_TRUE(report.verified());
  // The golden receipt (2025) is stale under the default policy and the real clock.
  EXPECT_EQ(Verify(Issue(testing::GoldenNitroClaims())).Get(Check::kFresh).code,
            CheckCode::kTimestampStale);
}

TEST_F(VerifierTest, ExpectedHashesAndModel) {
  const std::vector<uint8_t> receipt = Issue(testing::GoldenNitroClaims());
  Sha256Digest wrong;
  wrong.fill(0xee);
  Sha256Digest right;
  right.fill(0xaa);
  policy_.expected_model_hash = right;
  policy_.expected_model_id = "minilm-l6-v2";
  EXPECT_TRUE(Verify(receipt).verified());
  EXPECT_EQ(Verify(receipt).Get(Check::kMhash).status, CheckStatus::kPass);

  policy_.expected_model_hash = wrong;
  policy_.expected_request_hash = wrong;
  policy_.expected_response_hash = wrong;
  policy_.expected_attestation_doc_hash = wrong;
  policy_.expected_model_id = "bge-small";
  EXPECT_EQ(Failures(Verify(receipt)),
            (std::vector<Finding>{{Check::kMhash, CheckCode::kModelHashMismatch},
                                  {Check::kRhash, CheckCode::kRequestHashMismatch},
                                  {Check::kOhash, CheckCode::kResponseHashMismatch},
                                  {Check::kAdhash, CheckCode::kAttestationDocHashMismatch},
                                  {Check::kModel, CheckCode::kModelIdMismatch}}));
}

TEST_F(VerifierTest, NonceRules) {
  Claims with_nonce = testing::GoldenNitroClaims();
  with_nonce.eat_nonce = std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<uint8_t> nonce_receipt = Issue(with_nonce);
  const std::vector<uint8_t> plain_receipt = Issue(testing::GoldenNitroClaims());

  EXPECT_EQ(Verify(nonce_receipt).Get(Check::kNonce).status, CheckStatus::kSkip);
  policy_.require_nonce = true;
  EXPECT_TRUE(Verify(nonce_receipt).verified());
  EXPECT_EQ(Verify(plain_receipt).Get(Check::kNonce).code, CheckCode::kNonceMissing);
  policy_.require_nonce = false;
  policy_.expected_nonce = with_nonce.eat_nonce;
  EXPECT_TRUE(Verify(nonce_receipt).verified());
  EXPECT_EQ(Verify(plain_receipt).Get(Check::kNonce).code, CheckCode::kNonceMissing);
  policy_.expected_nonce = std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 9};
  EXPECT_EQ(Failures(Verify(nonce_receipt)),
            (std::vector<Finding>{{Check::kNonce, CheckCode::kNonceMismatch}}));
}

TEST_F(VerifierTest, SecurityModes) {
  Claims eval = testing::GoldenNitroClaims();
  eval.security_mode = std::string(kSecurityModeEvaluation);
  const std::vector<uint8_t> receipt = Issue(eval);
  EXPECT_EQ(
      Failures(Verify(receipt)),
      (std::vector<Finding>{{Check::kSecurityModePolicy, CheckCode::kEvaluationModeRejected}}));
  policy_.allow_evaluation = true;
  const VerificationReport allowed = Verify(receipt);
  ASSERT_TRUE(allowed.verified());
  EXPECT_EQ(Verified(allowed).security_mode(), SecurityMode::kEvaluation);
  policy_.expected_security_mode = SecurityMode::kProduction;
  EXPECT_EQ(Failures(Verify(receipt)),
            (std::vector<Finding>{{Check::kSecurityModePolicy, CheckCode::kSecurityModeMismatch}}));
}

TEST_F(VerifierTest, LegacyGatewayOnlyNeedsTheCompatibilityOption) {
  cbor::Value claims = ClaimsToCbor(testing::GoldenNitroClaims());
  std::vector<std::pair<cbor::Value, cbor::Value>> entries = claims.map_entries();
  for (auto& [key, value] : entries) {
    if (key == cbor::Value::Int(kKeySecurityMode)) {
      value = cbor::Value::Text("GatewayOnly");
    }
  }
  const std::vector<uint8_t> receipt = SignClaimsValue(cbor::Value::Map(entries));
  const VerificationReport rejected = Verify(receipt);
  EXPECT_EQ(Failures(rejected),
            (std::vector<Finding>{{Check::kSecurityMode, CheckCode::kUnknownSecurityMode}}));
  EXPECT_EQ(rejected.Get(Check::kSecurityModePolicy).status, CheckStatus::kSkip);
  policy_.map_legacy_gateway_only = true;
  const VerificationReport mapped = Verify(receipt);
  ASSERT_TRUE(mapped.verified());
  EXPECT_EQ(Verified(mapped).security_mode(), SecurityMode::kProduction);
  EXPECT_EQ(Verified(mapped).claims().security_mode, "GatewayOnly");
}

TEST_F(VerifierTest, PlatformPolicy) {
  const std::vector<uint8_t> receipt = Issue(testing::GoldenNitroClaims());
  EXPECT_EQ(Verify(receipt).Get(Check::kPlatform).status, CheckStatus::kSkip);
  policy_.expected_platform = Platform::kNitroPcr;
  EXPECT_EQ(Verify(receipt).Get(Check::kPlatform).status, CheckStatus::kPass);
  policy_.expected_platform = Platform::kTdxMrtdRtmr;
  EXPECT_EQ(Failures(Verify(receipt)),
            (std::vector<Finding>{{Check::kPlatform, CheckCode::kPlatformMismatch}}));
}

TEST_F(VerifierTest, ReplayCallbackSeesTheCti) {
  const Claims claims = testing::GoldenNitroClaims();
  std::vector<std::vector<uint8_t>> asked;
  bool seen = false;
  policy_.is_cti_seen = [&](std::span<const uint8_t> cti) {
    asked.emplace_back(cti.begin(), cti.end());
    return seen;
  };
  const std::vector<uint8_t> receipt = Issue(claims);
  EXPECT_TRUE(Verify(receipt).verified());
  seen = true;
  EXPECT_EQ(Failures(Verify(receipt)),
            (std::vector<Finding>{{Check::kReplay, CheckCode::kReplayCti}}));
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0], std::vector<uint8_t>(claims.cti.begin(), claims.cti.end()));
}

TEST_F(VerifierTest, MalformedPolicyCannotRun) {
  const std::vector<uint8_t> receipt = Issue(testing::GoldenNitroClaims());
  policy_.expected_nonce = std::vector<uint8_t>(7, 1);
  EXPECT_THAT(VerifyReceipt(receipt, key_.public_key(), policy_),
              HasError(ErrorCode::kAirBadPolicy));
  policy_.expected_nonce = std::vector<uint8_t>(65, 1);
  EXPECT_THAT(VerifyReceipt(receipt, key_.public_key(), policy_),
              HasError(ErrorCode::kAirBadPolicy));
  policy_.expected_nonce.reset();
  policy_.expected_model_id = "";
  EXPECT_THAT(VerifyReceipt(receipt, key_.public_key(), policy_),
              HasError(ErrorCode::kAirBadPolicy));
}

TEST_F(VerifierTest, SizeLimitIsInclusive) {
  // An unknown claim padded so the whole receipt is exactly 65,536 bytes, then one more.
  for (const size_t target : {size_t{65536}, size_t{65537}}) {
    SCOPED_TRACE(target);
    std::vector<std::pair<cbor::Value, cbor::Value>> entries =
        ClaimsToCbor(testing::GoldenNitroClaims()).map_entries();
    entries.emplace_back(cbor::Value::Int(-65550), cbor::Value::Text(""));
    size_t pad = 0;
    std::vector<uint8_t> receipt;
    for (int attempt = 0; attempt < 4 && receipt.size() != target; ++attempt) {
      entries.back().second = cbor::Value::Text(std::string(pad, 'x'));
      receipt = SignClaimsValue(cbor::Value::Map(entries));
      pad += target - receipt.size();
    }
    ASSERT_EQ(receipt.size(), target);
    const VerificationReport report = Verify(receipt);
    if (target == kMaxReceiptBytes) {
      EXPECT_EQ(Failures(report),
                (std::vector<Finding>{{Check::kClaimsDecode, CheckCode::kUnknownClaim}}));
    } else {
      EXPECT_EQ(Failures(report),
                (std::vector<Finding>{{Check::kSize, CheckCode::kReceiptTooLarge}}));
      EXPECT_EQ(report.Get(Check::kSig).status, CheckStatus::kSkip);
    }
  }
}

// Writes `claims` as a map whose entries appear in reverse deterministic order.
std::vector<uint8_t> ReversedMapBytes(const cbor::Value& claims) {
  std::vector<std::vector<uint8_t>> encoded;
  for (const auto& [key, value] : claims.map_entries()) {
    std::vector<uint8_t> entry = *cbor::Encode(key);
    const std::vector<uint8_t> v = *cbor::Encode(value);
    entry.insert(entry.end(), v.begin(), v.end());
    encoded.push_back(std::move(entry));
  }
  std::sort(encoded.begin(), encoded.end(), [](const auto& a, const auto& b) {
    return a.size() != b.size() ? a.size() > b.size() : a > b;
  });
  std::vector<uint8_t> out = {static_cast<uint8_t>(0xa0 + encoded.size())};
  for (const auto& entry : encoded) {
    out.insert(out.end(), entry.begin(), entry.end());
  }
  return out;
}

TEST_F(VerifierTest, NonCanonicalPayloadFailsUnlessAllowed) {
  const std::vector<uint8_t> receipt =
      SignPayload(ReversedMapBytes(ClaimsToCbor(testing::GoldenNitroClaims())));
  EXPECT_EQ(Failures(Verify(receipt)),
            (std::vector<Finding>{{Check::kCanonical, CheckCode::kNonCanonicalEncoding}}));
  policy_.allow_non_canonical = true;
  const VerificationReport report = Verify(receipt);
  EXPECT_TRUE(report.verified());
  EXPECT_EQ(report.Get(Check::kCanonical).status, CheckStatus::kPass);
  EXPECT_EQ(report.Get(Check::kCanonical).code, CheckCode::kNonCanonicalEncoding);
  EXPECT_EQ(Verified(report).claims(), testing::GoldenNitroClaims());
}

TEST_F(VerifierTest, EveryTruncationIsRejectedWithoutCrashing) {
  const std::vector<uint8_t> receipt = Issue(testing::GoldenNitroClaims());
  for (size_t n = 0; n < receipt.size(); ++n) {
    const VerificationReport report = Verify(std::span(receipt).first(n));
    ASSERT_FALSE(report.verified()) << n;
    ASSERT_EQ(report.checks().size(), static_cast<size_t>(kNumChecks));
    ASSERT_FALSE(report.failures().empty());
  }
  std::vector<uint8_t> trailing = receipt;
  trailing.push_back(0);
  EXPECT_EQ(Failures(Verify(trailing)),
            (std::vector<Finding>{{Check::kCoseDecode, CheckCode::kCoseDecodeFailed}}));
}

TEST_F(VerifierTest, RandomBytesAreRejected) {
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> bytes(rng() % 700);
    for (uint8_t& b : bytes) {
      b = static_cast<uint8_t>(rng());
    }
    if (!bytes.empty() && i % 2 == 0) {
      bytes[0] = 0xd2;  // start like a tagged COSE_Sign1 to get past the first byte
    }
    const VerificationReport report = Verify(bytes);
    ASSERT_FALSE(report.verified());
    ASSERT_EQ(report.checks().size(), static_cast<size_t>(kNumChecks));
  }
}

}  // namespace
}  // namespace eml::air
